// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * host.c over fixture trees: each test builds a small /proc + /sys below a
 * temporary directory and checks what kvmmt_host_probe_at() makes of it.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "host.h"

static char root[64];

static void mkdirs(const char *rel)
{
	char path[512], *p;

	snprintf(path, sizeof(path), "%s%s", root, rel);
	for (p = path + strlen(root) + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	mkdir(path, 0755);
}

static void put(const char *rel, const char *text)
{
	char path[512], dir[512];
	FILE *f;

	snprintf(dir, sizeof(dir), "%s", rel);
	*strrchr(dir, '/') = '\0';
	mkdirs(dir);
	snprintf(path, sizeof(path), "%s%s", root, rel);
	f = fopen(path, "w");
	cr_assert_not_null(f, "cannot create %s", path);
	fputs(text, f);
	fclose(f);
}

static void setup(void)
{
	snprintf(root, sizeof(root), "/tmp/kvmmt-host-XXXXXX");
	cr_assert_not_null(mkdtemp(root));
	put("/proc/sys/kernel/osrelease", "6.12.117\n");
	put("/proc/self/status", "Name:\tx\nCapInh:\t0000000000000000\n"
				 "CapEff:\t000001ffffffffff\n");
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	cr_assert_eq(system(cmd), 0);
}

static const char intel_cpuinfo[] =
	"processor\t: 0\n"
	"vendor_id\t: GenuineIntel\n"
	"cpu family\t: 6\n"
	"model\t\t: 143\n"
	"model name\t: Intel(R) Xeon(R) Platinum 8480+\n"
	"\n"
	"processor\t: 1\n"
	"vendor_id\t: SomethingElse\n"
	"cpu family\t: 99\n";

TestSuite(host, .init = setup, .fini = teardown);

Test(host, cpuinfo_first_cpu_only)
{
	struct kvmmt_host h;

	kvmmt_host_parse_cpuinfo(&h, intel_cpuinfo);
	cr_assert_str_eq(h.cpu_vendor, "GenuineIntel");
	cr_assert_eq(h.cpu_family, 6);
	cr_assert_eq(h.cpu_model, 143);	/* not "model name" */
}

Test(host, cpuinfo_amd_and_arm64)
{
	struct kvmmt_host h;

	kvmmt_host_parse_cpuinfo(&h, "vendor_id : AuthenticAMD\ncpu family : 25\nmodel : 1\n");
	cr_assert_str_eq(h.cpu_vendor, "AuthenticAMD");
	cr_assert_eq(h.cpu_family, 25);
	cr_assert_eq(h.cpu_model, 1);
	kvmmt_host_parse_cpuinfo(&h, "processor\t: 0\nBogoMIPS\t: 50.00\n"
				     "CPU implementer\t: 0x41\nCPU part\t: 0xd0c\n");
	cr_assert_str_eq(h.cpu_vendor, "0x41");
	cr_assert_eq(h.cpu_family, -1);
	cr_assert_eq(h.cpu_model, -1);
}

Test(host, cpu_flags)
{
	static const char ci[] = "vendor_id\t: AuthenticAMD\n"
				 "flags\t\t: fpu vme svm npt lbrv\nbugs\t\t: sysret_ss_attrs\n";

	cr_assert(kvmmt_host_cpu_has(ci, "svm"));
	cr_assert(kvmmt_host_cpu_has(ci, "lbrv"));	/* last word */
	cr_assert(kvmmt_host_cpu_has(ci, "fpu"));	/* first word */
	cr_assert_not(kvmmt_host_cpu_has(ci, "vmx"));
	cr_assert_not(kvmmt_host_cpu_has(ci, "sv"));	/* whole words only */
	cr_assert_not(kvmmt_host_cpu_has(ci, "sysret_ss_attrs"));	/* not a flag */
	cr_assert(kvmmt_host_cpu_has("vendor_id : X\n", "vmx"));	/* unknown: trust sysfs */
}

/* Both built in (a distro-like kernel on an AMD CPU): the CPU decides. */
Test(host, builtin_intel_and_amd)
{
	struct kvmmt_host h;

	put("/sys/module/kvm_intel/parameters/ept", "Y\n");
	put("/sys/module/kvm_amd/parameters/npt", "1\n");
	put("/proc/cpuinfo", "vendor_id : AuthenticAMD\nflags : fpu svm\n");
	cr_assert_eq(kvmmt_host_probe_at(&h, root, NULL), 0);
	cr_assert_str_eq(h.backend, "svm");
	cr_assert_eq(h.fmt, KVMMT_FMT_NPT);
	put("/proc/cpuinfo", "vendor_id : GenuineIntel\nflags : fpu vmx\n");
	cr_assert_eq(kvmmt_host_probe_at(&h, root, NULL), 0);
	cr_assert_str_eq(h.backend, "vmx");
	cr_assert_eq(h.fmt, KVMMT_FMT_EPT);
	put("/proc/cpuinfo", "vendor_id : GenuineIntel\nflags : fpu hypervisor\n");
	cr_assert_eq(kvmmt_host_probe_at(&h, root, NULL), 0);
	cr_assert_str_eq(h.backend, "none");
}

Test(host, capeff)
{
	__u64 caps;

	cr_assert_eq(kvmmt_host_parse_capeff("Name:\tx\nCapEff:\t000000c000200000\n", &caps), 0);
	cr_assert_eq(caps, (1ULL << 39) | (1ULL << 38) | (1ULL << 21));
	cr_assert_eq(kvmmt_host_parse_capeff("Name:\tx\n", &caps), -EINVAL);
	cr_assert_eq(kvmmt_host_parse_capeff("Name:\tx\nCapEff:\tzz\n", &caps), -EINVAL);
}

Test(host, intel_ept)
{
	struct kvmmt_host h;

	put("/sys/module/kvm/parameters/tdp_mmu", "Y\n");
	put("/sys/module/kvm_intel/parameters/ept", "Y\n");
	put("/sys/module/kvm_intel/parameters/enable_apicv", "N\n");
	put("/proc/cpuinfo", intel_cpuinfo);
	cr_assert_eq(kvmmt_host_probe_at(&h, root, NULL), 0);
	cr_assert_str_eq(h.release, "6.12.117");
	cr_assert_str_eq(h.backend, "vmx");
	cr_assert_eq(h.fmt, KVMMT_FMT_EPT);
	cr_assert(h.tdp);
	cr_assert_eq(h.nr_params, 3);
	/* sorted by module, then name */
	cr_assert_str_eq(h.params[0].module, "kvm");
	cr_assert_str_eq(h.params[1].name, "enable_apicv");
	cr_assert_str_eq(h.params[2].name, "ept");
	cr_assert_str_eq(h.params[2].value, "Y");
	cr_assert_str_eq(h.cpu_vendor, "GenuineIntel");
	/* a fixture tree never reads the real MSR */
	cr_assert_eq(h.host_pat, 0x0407050600070106ULL);
	cr_assert_not(h.host_pat_read);
	cr_assert(h.root);
	cr_assert(h.cap_bpf && h.cap_perfmon && h.cap_sys_admin);
}

Test(host, intel_without_ept_is_shadow)
{
	struct kvmmt_host h;

	put("/sys/module/kvm_intel/parameters/ept", "N\n");
	cr_assert_eq(kvmmt_host_probe_at(&h, root, NULL), 0);
	cr_assert_str_eq(h.backend, "vmx");
	cr_assert_eq(h.fmt, KVMMT_FMT_SHADOW);
	cr_assert_not(h.tdp);
}

Test(host, amd_npt)
{
	struct kvmmt_host h;

	put("/sys/module/kvm_amd/parameters/npt", "1\n");
	cr_assert_eq(kvmmt_host_probe_at(&h, root, NULL), 0);
	cr_assert_str_eq(h.backend, "svm");
	cr_assert_eq(h.fmt, KVMMT_FMT_NPT);
	cr_assert(h.tdp);
}

Test(host, pvm_is_shadow)
{
	struct kvmmt_host h;

	put("/sys/module/kvm_pvm/parameters/pvm_native", "Y\n");
	put("/sys/kernel/btf/vmlinux", "");
	put("/dev/kvm", "");
	put("/sys/kernel/security/lockdown", "none [integrity] confidentiality\n");
	mkdirs("/sys/kernel/tracing/events/kvmmmu");
	cr_assert_eq(kvmmt_host_probe_at(&h, root, NULL), 0);
	cr_assert_str_eq(h.backend, "pvm");
	cr_assert_eq(h.fmt, KVMMT_FMT_SHADOW);
	cr_assert_not(h.tdp);
	cr_assert(h.btf);
	cr_assert(h.kvm_dev);
	cr_assert(h.tracefs);
	cr_assert_str_eq(h.lockdown, "integrity");
	cr_assert_not(h.has_memtype_tp);
}

Test(host, no_kvm_no_privileges)
{
	struct kvmmt_host h;

	put("/proc/self/status", "Name:\tx\nCapEff:\t0000000000000000\n");
	cr_assert_eq(kvmmt_host_probe_at(&h, root, NULL), 0);
	cr_assert_str_eq(h.backend, "none");
	cr_assert_eq(h.fmt, KVMMT_FMT_UNKNOWN);
	cr_assert_not(h.root);
	cr_assert_not(h.btf);
	cr_assert_not(h.kvm_dev);
	cr_assert_str_eq(h.lockdown, "");
	cr_assert_eq(h.cpu_family, -1);
}

Test(host, bpf_and_perfmon_suffice)
{
	struct kvmmt_host h;

	put("/proc/self/status", "Name:\tx\nCapEff:\t000000c000000000\n");
	cr_assert_eq(kvmmt_host_probe_at(&h, root, NULL), 0);
	cr_assert(h.root);
	cr_assert_not(h.cap_sys_admin);
	put("/proc/self/status", "Name:\tx\nCapEff:\t0000008000000000\n");
	cr_assert_eq(kvmmt_host_probe_at(&h, root, NULL), 0);
	cr_assert_not(h.root);	/* CAP_BPF alone cannot attach tracing programs */
}

Test(host, null_arguments)
{
	struct kvmmt_err e = {};

	cr_assert_eq(kvmmt_host_probe_at(NULL, "", &e), -EINVAL);
	cr_assert_eq(e.err, -EINVAL);
}

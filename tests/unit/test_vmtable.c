// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * The VM table on hand-built iterator/counter snapshots and a fixture /proc
 * tree (tests/unit/fixtures/proc).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "vmtable.h"
#include "procinfo.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
/* EPT attrs as bpf/memattr.h packs them: IPAT << 3 | memtype. */
#define EPT_WB_IPAT	(8 | 6)
#define EPT_WB		6
#define EPT_UC		0
#define EPT_WC		1

static char proc_root[4096];
static struct kvmmt_vmreg *reg;	/* names and start times, from proc_root */

static struct kvmmt_vmreg *reg_at(const char *root)
{
	struct kvmmt_vmreg_opts o = { .fmt = KVMMT_FMT_EPT, .proc_root = root };
	struct kvmmt_vmreg *r;
	struct kvmmt_err e = {};

	cr_assert_eq(kvmmt_vmreg_new(&r, &o, &e), 0, "%s", e.msg);
	return r;
}

static void find_fixtures(void)
{
	const char *src = getenv("KVMMT_SRC");
	char file[4096];

	if (src) {
		snprintf(proc_root, sizeof(proc_root), "%s/tests/unit/fixtures/proc", src);
	} else {
		snprintf(file, sizeof(file), "%s", __FILE__);
		snprintf(proc_root, sizeof(proc_root), "%s/fixtures/proc", dirname(file));
	}
	cr_assert_eq(access(proc_root, R_OK), 0,
		     "fixture tree %s not found: run from the source tree or set KVMMT_SRC",
		     proc_root);
	reg = reg_at(proc_root);
}

static void free_reg(void)
{
	kvmmt_vmreg_free(reg);
}

/* A snapshot under construction: VMs with slots, and counter records. */
struct snap {
	struct kvmmt_vm_info vm[8];
	struct kvmmt_slot_rec slots[8][8];
	size_t nvm;
	struct kvmmt_install_count inst[64];
	struct kvmmt_vm_count vmc[8];
	struct kvmmt_vm_list list;
	struct kvmmt_counters c;
};

static struct kvmmt_vm_info *add_vm(struct snap *s, __u32 tgid, int vcpus, int nc)
{
	struct kvmmt_vm_info *v = &s->vm[s->nvm];

	memset(v, 0, sizeof(*v));
	v->vm.kind = KVMMT_REC_VM;
	v->vm.tgid = tgid;
	v->vm.kvm_id = 0xffff888000000000ULL + s->nvm;
	v->vm.online_vcpus = vcpus;
	v->vm.noncoherent_dma = nc;
	v->vm.valid = KVMMT_VF_NONCOHERENT;
	snprintf(v->vm.comm, sizeof(v->vm.comm), "vmm-%u", tgid);
	v->slots = s->slots[s->nvm];
	s->nvm++;
	s->list.v = s->vm;
	s->list.n = s->nvm;
	return v;
}

static void add_slot(struct kvmmt_vm_info *v, __u16 id, __u16 as_id, __u64 gfn,
		     __u64 npages, __u32 flags)
{
	struct kvmmt_slot_rec *r = &v->slots[v->nr_slots++];

	memset(r, 0, sizeof(*r));
	r->kind = KVMMT_REC_SLOT;
	r->id = id;
	r->as_id = as_id;
	r->base_gfn = gfn;
	r->npages = npages;
	r->flags = flags;
	r->kvm_id = v->vm.kvm_id;
	r->userspace_addr = 0x7f0000000000ULL + (gfn << 12);
	v->vm.nr_slots = v->nr_slots;
}

static void add_inst(struct snap *s, __u32 tgid, __u16 slot, __u8 attr, __u8 level,
		     __u64 count)
{
	struct kvmmt_install_count *ic = &s->inst[s->c.nr_inst++];

	ic->key.tgid = tgid;
	ic->key.slot = slot;
	ic->key.attr = attr;
	ic->key.level = level;
	ic->count = count;
	s->c.inst = s->inst;
}

static void set_ctr(struct snap *s, __u32 tgid, enum kvmmt_ctr k, __u64 v)
{
	size_t i;

	for (i = 0; i < s->c.nr_vms; i++)
		if (s->vmc[i].tgid == tgid)
			break;
	if (i == s->c.nr_vms) {
		memset(&s->vmc[i], 0, sizeof(s->vmc[i]));
		s->vmc[i].tgid = tgid;
		s->c.nr_vms++;
	}
	s->vmc[i].c.c[k] = v;
	s->c.vms = s->vmc;
}

static void update(struct kvmmt_vmtable *t, struct snap *s, double now)
{
	struct kvmmt_err e = {};
	int err;

	kvmmt_vmreg_refresh(reg, now);
	err = kvmmt_vmtable_update(t, &s->list, &s->c, now, reg, &e);

	cr_assert_eq(err, 0, "update: %s", e.msg);
}

static const struct kvmmt_vm_row *row(struct kvmmt_vmtable *t, pid_t pid)
{
	const struct kvmmt_vm_row *r = kvmmt_vmtable_find(t, pid);

	cr_assert_not_null(r, "no row for pid %d", (int)pid);
	return r;
}

TestSuite(vmtable, .init = find_fixtures, .fini = free_reg);
TestSuite(procinfo, .init = find_fixtures, .fini = free_reg);

Test(procinfo, qemu_name_arg)
{
	static const struct { const char *arg; int ret; const char *name; } t[] = {
		{ "guest=foo,debug-threads=on", 0, "foo" },
		{ "foo", 0, "foo" },
		{ "foo,debug-threads=on", 0, "foo" },
		{ "debug-threads=on,guest=vm1", 0, "vm1" },
		{ "guest=a,,b", 0, "a,b" },
		{ "a,,b,process=x", 0, "a,b" },
		{ "guest=,,lead", 0, ",lead" },
		{ "guest=x,guest=y", 0, "y" },
		{ "process=qemu", -ENOENT, "" },
		{ "debug-threads=on", -ENOENT, "" },
		{ "", -ENOENT, "" },
		{ "guest=", -ENOENT, "" },
		{ "guest=tab\there", 0, "tab?here" },
	};
	size_t i;

	for (i = 0; i < N(t); i++) {
		char out[64] = "unchanged";

		cr_assert_eq(kvmmt_qemu_name_arg(t[i].arg, out, sizeof(out)), t[i].ret,
			     "\"%s\"", t[i].arg);
		if (!t[i].ret)
			cr_assert_str_eq(out, t[i].name, "\"%s\" gave \"%s\"", t[i].arg, out);
	}
}

Test(procinfo, qemu_name_truncates)
{
	char out[8];

	cr_assert_eq(kvmmt_qemu_name_arg("guest=abcdefghijkl", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "abcdefg");
}

Test(procinfo, cmdline_name)
{
	static const char cmd[] = "qemu\0-m\0" "512\0-name\0guest=x,,y\0-S";
	static const char last[] = "qemu\0-name";
	static const char none[] = "qemu\0-m\0" "1G";
	char out[64];

	cr_assert_eq(kvmmt_qemu_cmdline_name(cmd, sizeof(cmd), out, sizeof(out)), 0);
	cr_assert_str_eq(out, "x,y");
	cr_assert_eq(kvmmt_qemu_cmdline_name(last, sizeof(last), out, sizeof(out)), -ENOENT);
	cr_assert_eq(kvmmt_qemu_cmdline_name(none, sizeof(none), out, sizeof(out)), -ENOENT);
	/* Not NUL-terminated at the end: still bounded. */
	cr_assert_eq(kvmmt_qemu_cmdline_name(cmd, sizeof(cmd) - 1, out, sizeof(out)), 0);
}

Test(procinfo, fixture_names)
{
	static const struct { pid_t pid; const char *name; enum kvmmt_name_src src; } t[] = {
		{ 1001, "win11", KVMMT_NAME_QEMU },
		{ 1100, "foo", KVMMT_NAME_QEMU },
		{ 1200, "a,b", KVMMT_NAME_QEMU },
		{ 1300, "kvmmt-testvmm", KVMMT_NAME_COMM },
		{ 1400, "qemu-system-x86", KVMMT_NAME_COMM },
		{ 1500, "baz,qux", KVMMT_NAME_QEMU },
		{ 1600, "qemu-system-x86", KVMMT_NAME_COMM },
		{ 1700, "weird) (comm", KVMMT_NAME_COMM },
	};
	size_t i;

	for (i = 0; i < N(t); i++) {
		enum kvmmt_name_src src;
		char name[64];

		cr_assert_eq(kvmmt_proc_vm_name(proc_root, t[i].pid, name, sizeof(name), &src), 0);
		cr_assert_str_eq(name, t[i].name, "pid %d: \"%s\"", (int)t[i].pid, name);
		cr_assert_eq(src, t[i].src, "pid %d: %s", (int)t[i].pid, kvmmt_name_src_name(src));
	}
	{
		enum kvmmt_name_src src;
		char name[64];

		cr_assert_eq(kvmmt_proc_vm_name(proc_root, 9999, name, sizeof(name), &src), -ENOENT);
		cr_assert_eq(src, KVMMT_NAME_NONE);
	}
}

Test(procinfo, vcpu_threads_and_start_time)
{
	__u64 start;

	cr_assert_eq(kvmmt_proc_vcpu_threads(proc_root, 1001), 2);
	cr_assert_eq(kvmmt_proc_vcpu_threads(proc_root, 1200), 4);
	cr_assert_eq(kvmmt_proc_vcpu_threads(proc_root, 1300), 0);
	cr_assert_eq(kvmmt_proc_vcpu_threads(proc_root, 9999), -ENOENT);
	cr_assert_eq(kvmmt_proc_start_time(proc_root, 1001, &start), 0);
	cr_assert_eq(start, 5001);
	/* comm with ") (" inside. */
	cr_assert_eq(kvmmt_proc_start_time(proc_root, 1700, &start), 0);
	cr_assert_eq(start, 5700);
	cr_assert_eq(kvmmt_proc_start_time(proc_root, 9999, &start), -ENOENT);
}

Test(procinfo, this_process)
{
	char comm[32];
	__u64 start = 0;

	/* The real /proc, for the parsers' sake. */
	cr_assert_eq(kvmmt_proc_comm("/proc", getpid(), comm, sizeof(comm)), 0);
	cr_assert(strlen(comm) > 0);
	cr_assert_eq(kvmmt_proc_start_time("/proc", getpid(), &start), 0);
	cr_assert_gt(start, 0);
}

/* A live process whose real /proc/PID/cmdline carries a QEMU-style -name. */
Test(procinfo, live_process)
{
	enum kvmmt_name_src src;
	char name[64];
	__u64 start = 0;
	int status, i;
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (!pid) {
		execl("/bin/sh", "sh", "-c", "sleep 10; :", "sh", "-name", "guest=live,,vm", NULL);
		_exit(127);
	}
	/* Until exec has replaced the forked image. */
	for (i = 0; i < 200; i++) {
		if (!kvmmt_proc_vm_name("/proc", pid, name, sizeof(name), &src) &&
		    src == KVMMT_NAME_QEMU)
			break;
		usleep(10000);
	}
	cr_expect_eq(src, KVMMT_NAME_QEMU);
	cr_expect_str_eq(name, "live,vm");
	cr_expect_eq(kvmmt_proc_vcpu_threads("/proc", pid), 0);
	cr_expect_eq(kvmmt_proc_start_time("/proc", pid, &start), 0);
	cr_expect_gt(start, 0);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

Test(vmtable, merge_one_vm)
{
	struct kvmmt_vmtable *t = kvmmt_vmtable_new(KVMMT_FMT_EPT, KVMMT_LINUX_PAT);
	struct snap s = {};
	struct kvmmt_vm_info *v = add_vm(&s, 1001, 0, 0);
	const struct kvmmt_vm_row *r;

	add_slot(v, 1, 0, 0x100000, 0x40000, 0);		/* 1 GiB high RAM */
	add_slot(v, 0, 0, 0, 0x80000, 0);			/* 2 GiB low RAM */
	add_slot(v, 0, 1, 0, 0x80000, 0);			/* SMM address space */
	add_slot(v, 32765, 0, 0xfee00, 1, 0);			/* APIC access page */
	add_inst(&s, 1001, 0, EPT_WB_IPAT, 1, 500);
	add_inst(&s, 1001, 0, EPT_WB_IPAT, 2, 7);
	add_inst(&s, 1001, 1, EPT_WB_IPAT, 1, 40);
	add_inst(&s, 1001, 1, EPT_UC, 1, 3);
	add_inst(&s, 1001, KVMMT_SLOT_UNKNOWN, EPT_UC, 1, 2);
	add_inst(&s, 1001, 77, EPT_WB_IPAT, 1, 1);		/* not listed */
	add_inst(&s, 1001, 0, 0x2, 1, 4);			/* EPT reserved encoding */
	set_ctr(&s, 1001, KVMMT_C_ZAPS, 9);
	set_ctr(&s, 1001, KVMMT_C_INSTALLS, 557);
	update(t, &s, 100.0);

	cr_assert_eq(kvmmt_vmtable_len(t), 1);
	r = row(t, 1001);
	cr_assert(r->alive);
	cr_assert_str_eq(r->name, "win11");
	cr_assert_eq(r->name_src, KVMMT_NAME_QEMU);
	cr_assert_eq(r->vcpus, 2, "online_vcpus 0: vCPU threads from /proc");
	cr_assert_eq(r->mem_bytes, 3ULL << 30);
	cr_assert_eq(r->nr_vms, 1);
	cr_assert_eq(r->nr_slots, 4);
	cr_assert_eq(r->slots[0].rec.id, 0);
	cr_assert_eq(r->slots[0].rec.as_id, 0);
	cr_assert_eq(r->slots[1].rec.id, 1);
	cr_assert_eq(r->slots[2].rec.id, 32765);
	cr_assert_eq(r->slots[3].rec.as_id, 1);
	cr_assert_eq(r->installs[KVMMT_MT_WB], 548);
	cr_assert_eq(r->installs[KVMMT_MT_UC], 5);
	cr_assert_eq(r->installs[KVMMT_MT_INVALID], 4);
	cr_assert_eq(r->installs_total, 557);
	cr_assert_eq(r->installs_ipat[1], 548);
	cr_assert_eq(r->installs_ipat[0], 9);
	cr_assert_eq(r->installs_guest, 5, "EPT UC without IPAT lets the guest choose WC");
	cr_assert_eq(r->installs_noslot, 3);
	cr_assert_eq(r->slots[0].installs[KVMMT_MT_WB], 507);
	cr_assert_eq(r->slots[0].installs[KVMMT_MT_INVALID], 4);
	cr_assert_eq(r->slots[0].installs_level[1], 504);
	cr_assert_eq(r->slots[0].installs_level[2], 7);
	cr_assert_eq(r->slots[1].installs[KVMMT_MT_UC], 3);
	cr_assert_eq(r->slots[3].installs[KVMMT_MT_WB], 0, "SMM slot 0 is not slot 0");
	cr_assert_eq(r->zaps, 9);
	cr_assert_eq(r->ctrs.c[KVMMT_C_INSTALLS], 557);
	cr_assert_eq(r->noncoherent_dma, 0);
	cr_assert_eq(r->guest_types, KVMMT_GT_YES, "installs without IPAT");
	cr_assert_eq(r->install_rate[KVMMT_MT_WB], 0, "no rate after one update");
	cr_assert_eq(r->start_time, 5001);
	kvmmt_vmtable_free(t);
}

Test(vmtable, guest_types_by_format)
{
	static const struct {
		enum kvmmt_fmt fmt; __u8 attr; int nc; __u32 flags; __u64 quirks;
		enum kvmmt_gt want;
	} t[] = {
		{ KVMMT_FMT_EPT, EPT_WB_IPAT, 0, 0, 0, KVMMT_GT_NO },
		{ KVMMT_FMT_EPT, EPT_WB, 0, 0, 0, KVMMT_GT_YES },
		{ KVMMT_FMT_EPT, EPT_WB_IPAT, 1, 0, 0, KVMMT_GT_YES },
		{ KVMMT_FMT_EPT, EPT_WB_IPAT, 0, KVMMT_MEM_NON_COHERENT_DMA, 0, KVMMT_GT_YES },
		{ KVMMT_FMT_EPT, EPT_WB_IPAT, 0, 0, KVMMT_QUIRK_IGNORE_GUEST_PAT, KVMMT_GT_YES },
		{ KVMMT_FMT_EPT, EPT_WB_IPAT, 0, 0, 1 << 1, KVMMT_GT_NO },
		/* This host: shadow SPTEs always WB, nothing the guest can change. */
		{ KVMMT_FMT_SHADOW, 0, 0, 0, 0, KVMMT_GT_NO },
		{ KVMMT_FMT_SHADOW, 0, 1, KVMMT_MEM_NON_COHERENT_DMA, 0, KVMMT_GT_NO },
		/* AMD NPT always combines the guest's PAT type: on RAM, harmless. */
		{ KVMMT_FMT_NPT, 0, 0, 0, 0, KVMMT_GT_ARCH },
		{ KVMMT_FMT_NPT, 3, 0, 0, 0, KVMMT_GT_ARCH },	/* host PAT3 = UC */
		{ KVMMT_FMT_NPT, 0, 1, 0, 0, KVMMT_GT_YES },
		{ KVMMT_FMT_NPT, 0, 0, KVMMT_MEM_NON_COHERENT_DMA, 0, KVMMT_GT_YES },
		/* the quirk is VMX's: SVM ignores it */
		{ KVMMT_FMT_NPT, 0, 0, 0, KVMMT_QUIRK_IGNORE_GUEST_PAT, KVMMT_GT_ARCH },
		{ KVMMT_FMT_S2_FWB, KVMMT_S2_FWB_NORMAL, 0, 0, 0, KVMMT_GT_NO },
		{ KVMMT_FMT_S2, KVMMT_S2_NORMAL, 0, 0, 0, KVMMT_GT_ARCH },
	};
	size_t i;

	for (i = 0; i < N(t); i++) {
		struct kvmmt_vmtable *tb = kvmmt_vmtable_new(t[i].fmt, KVMMT_LINUX_PAT);
		struct snap s = {};
		struct kvmmt_vm_info *v = add_vm(&s, 1100, 1, t[i].nc);

		add_slot(v, 0, 0, 0, 256, t[i].flags);
		if (t[i].quirks) {
			v->vm.valid |= KVMMT_VF_QUIRKS;
			v->vm.disabled_quirks = t[i].quirks;
		}
		add_inst(&s, 1100, 0, t[i].attr, 1, 10);
		update(tb, &s, 1.0);
		cr_assert_eq(row(tb, 1100)->guest_types, t[i].want, "case %zu (%s attr %#x)", i,
			     kvmmt_fmt_name(t[i].fmt), t[i].attr);
		cr_assert_eq(row(tb, 1100)->quirks_valid, !!t[i].quirks);
		kvmmt_vmtable_free(tb);
	}
}

Test(vmtable, rates_and_counter_reset)
{
	struct kvmmt_vmtable *t = kvmmt_vmtable_new(KVMMT_FMT_SHADOW, KVMMT_LINUX_PAT);
	struct snap s = {};
	const struct kvmmt_vm_row *r;

	add_slot(add_vm(&s, 1200, 4, 0), 0, 0, 0, 1024, 0);
	add_inst(&s, 1200, 0, 0, 1, 100);
	set_ctr(&s, 1200, KVMMT_C_ZAPS, 10);
	update(t, &s, 10.0);
	cr_assert_eq(kvmmt_vmtable_interval(t), 0);
	s.inst[0].count = 300;
	s.vmc[0].c.c[KVMMT_C_ZAPS] = 16;
	update(t, &s, 12.0);
	r = row(t, 1200);
	cr_assert_eq(kvmmt_vmtable_interval(t), 2.0);
	cr_assert_float_eq(r->install_rate[KVMMT_MT_WB], 100.0, 1e-9);
	cr_assert_float_eq(r->install_rate_total, 100.0, 1e-9);
	cr_assert_float_eq(r->zap_rate, 3.0, 1e-9);
	cr_assert_eq(r->installs[KVMMT_MT_WB], 300);
	cr_assert_eq(r->vcpus, 4, "online_vcpus from the iterator");
	/* The maps were recreated: counters restart below the last reading. */
	s.inst[0].count = 40;
	s.vmc[0].c.c[KVMMT_C_ZAPS] = 1;
	update(t, &s, 14.0);
	r = row(t, 1200);
	cr_assert_eq(r->installs[KVMMT_MT_WB], 40);
	cr_assert_float_eq(r->install_rate[KVMMT_MT_WB], 20.0, 1e-9);
	cr_assert_float_eq(r->zap_rate, 0.5, 1e-9);
	/* No time passed: no rate rather than a division by zero. */
	update(t, &s, 14.0);
	cr_assert_eq(row(t, 1200)->install_rate[KVMMT_MT_WB], 0);
	kvmmt_vmtable_free(t);
}

Test(vmtable, vm_disappears_then_dropped)
{
	struct kvmmt_vmtable *t = kvmmt_vmtable_new(KVMMT_FMT_EPT, KVMMT_LINUX_PAT);
	struct snap s = {};
	const struct kvmmt_vm_row *r;

	add_slot(add_vm(&s, 1100, 1, 0), 0, 0, 0, 256, 0);
	add_slot(add_vm(&s, 1300, 1, 0), 0, 0, 0, 512, 0);
	add_inst(&s, 1100, 0, EPT_WB_IPAT, 1, 10);
	add_inst(&s, 1300, 0, EPT_WB_IPAT, 1, 50);
	update(t, &s, 1.0);
	cr_assert_eq(kvmmt_vmtable_len(t), 2);
	cr_assert_eq(kvmmt_vmtable_row(t, 0)->pid, 1100);
	cr_assert_eq(kvmmt_vmtable_row(t, 1)->pid, 1300);
	cr_assert_null(kvmmt_vmtable_row(t, 2));

	/* 1300 exits: its counters stay in the maps, the iterator no longer lists it. */
	s.list.n = 1;
	s.inst[0].count = 20;
	update(t, &s, 2.0);
	cr_assert_eq(kvmmt_vmtable_len(t), 2);
	r = row(t, 1300);
	cr_assert(!r->alive);
	cr_assert_eq(r->missing, 1);
	cr_assert_eq(r->installs[KVMMT_MT_WB], 50, "final totals kept");
	cr_assert_eq(r->mem_bytes, 512 * 4096ULL, "last known slots kept");
	cr_assert_eq(r->install_rate[KVMMT_MT_WB], 0);
	cr_assert(row(t, 1100)->alive);

	update(t, &s, 3.0);
	cr_assert_eq(kvmmt_vmtable_len(t), 1);
	cr_assert_null(kvmmt_vmtable_find(t, 1300));
	/* Its stale counters do not bring it back. */
	update(t, &s, 4.0);
	cr_assert_null(kvmmt_vmtable_find(t, 1300));

	/* A new VMM reuses pid 1300: only what it installed is its own. */
	s.list.n = 2;
	s.inst[1].count = 70;
	update(t, &s, 5.0);
	r = row(t, 1300);
	cr_assert(r->alive);
	cr_assert_eq(r->installs[KVMMT_MT_WB], 20);
	kvmmt_vmtable_free(t);
}

Test(vmtable, keep_longer)
{
	struct kvmmt_vmtable *t = kvmmt_vmtable_new(KVMMT_FMT_EPT, KVMMT_LINUX_PAT);
	struct snap s = {};

	kvmmt_vmtable_set_keep(t, 3);
	add_vm(&s, 1100, 1, 0);
	update(t, &s, 1.0);
	s.list.n = 0;
	update(t, &s, 2.0);
	update(t, &s, 3.0);
	update(t, &s, 4.0);
	cr_assert_eq(row(t, 1100)->missing, 3);
	update(t, &s, 5.0);
	cr_assert_null(kvmmt_vmtable_find(t, 1100));
	kvmmt_vmtable_set_keep(t, 0);
	s.list.n = 1;
	update(t, &s, 6.0);
	s.list.n = 0;
	update(t, &s, 7.0);
	cr_assert_eq(kvmmt_vmtable_len(t), 0, "keep 0 drops at once");
	kvmmt_vmtable_free(t);
}

Test(vmtable, counters_only_vm_shown_once)
{
	struct kvmmt_vmtable *t = kvmmt_vmtable_new(KVMMT_FMT_EPT, KVMMT_LINUX_PAT);
	struct snap s = {};
	const struct kvmmt_vm_row *r;

	/* A VM that lived between two updates: only counters remain. */
	add_inst(&s, 1500, 3, EPT_WB_IPAT, 1, 12);
	set_ctr(&s, 1500, KVMMT_C_ZAPS, 2);
	update(t, &s, 1.0);
	r = row(t, 1500);
	cr_assert(!r->alive);
	cr_assert_str_eq(r->name, "baz,qux");
	cr_assert_eq(r->installs[KVMMT_MT_WB], 12);
	cr_assert_eq(r->installs_noslot, 12);
	cr_assert_eq(r->zaps, 2);
	update(t, &s, 2.0);
	cr_assert_null(kvmmt_vmtable_find(t, 1500));
	update(t, &s, 3.0);
	cr_assert_null(kvmmt_vmtable_find(t, 1500));
	/* Zap-only activity counts as activity too. */
	s.vmc[0].c.c[KVMMT_C_ZAPS] = 3;
	update(t, &s, 4.0);
	r = row(t, 1500);
	cr_assert_eq(r->zaps, 1);
	cr_assert_eq(r->installs[KVMMT_MT_WB], 0);
	kvmmt_vmtable_free(t);
}

Test(vmtable, several_vms_in_one_process)
{
	struct kvmmt_vmtable *t = kvmmt_vmtable_new(KVMMT_FMT_EPT, KVMMT_LINUX_PAT);
	struct snap s = {};
	struct kvmmt_vm_info *a = add_vm(&s, 1300, 1, 1), *b = add_vm(&s, 1300, 2, 2);
	const struct kvmmt_vm_row *r;

	add_slot(a, 0, 0, 0, 100, 0);
	add_slot(b, 0, 0, 0, 200, 0);
	b->vm.valid |= KVMMT_VF_QUIRKS;
	update(t, &s, 1.0);
	r = row(t, 1300);
	cr_assert_eq(kvmmt_vmtable_len(t), 1);
	cr_assert_eq(r->nr_vms, 2);
	cr_assert_eq(r->vcpus, 3);
	cr_assert_eq(r->noncoherent_dma, 3);
	cr_assert_eq(r->nr_slots, 2);
	cr_assert_eq(r->mem_bytes, 300 * 4096ULL);
	cr_assert(r->quirks_valid);
	cr_assert(r->guest_types);
	cr_assert_str_eq(r->name, "kvmmt-testvmm");
	cr_assert_eq(r->name_src, KVMMT_NAME_COMM);
	/* Fewer slots next time: the table shrinks with the VM. */
	b->nr_slots = 0;
	a->vm.valid = 0;
	b->vm.valid = 0;
	update(t, &s, 2.0);
	r = row(t, 1300);
	cr_assert_eq(r->nr_slots, 1);
	cr_assert_eq(r->noncoherent_dma, -1, "unknown when no VM reports it");
	cr_assert(!r->quirks_valid);
	kvmmt_vmtable_free(t);
}

Test(vmtable, names_without_proc)
{
	struct kvmmt_vmtable *t = kvmmt_vmtable_new(KVMMT_FMT_EPT, KVMMT_LINUX_PAT);
	struct snap s = {};
	struct kvmmt_err e = {};

	/* A pid the fixture lacks: the iterator's comm is the name. */
	add_vm(&s, 4242, 1, 0);
	add_vm(&s, 4343, 1, 0);
	memcpy(s.vm[1].vm.comm, "esc\033[2Jape012345", KVMMT_COMM_LEN);	/* no NUL */
	update(t, &s, 1.0);
	cr_assert_str_eq(row(t, 4242)->name, "vmm-4242");
	cr_assert_eq(row(t, 4242)->name_src, KVMMT_NAME_ITER);
	cr_assert_eq(row(t, 4242)->start_time, 0);
	cr_assert_str_eq(row(t, 4343)->name, "esc?[2Jape012345");
	/* No proc root, no counters, no list. */
	cr_assert_eq(kvmmt_vmtable_update(t, NULL, NULL, 2.0, NULL, &e), 0);
	cr_assert(!row(t, 4242)->alive);
	kvmmt_vmtable_free(t);
	kvmmt_vmtable_free(NULL);
}

Test(vmtable, pid_reused_between_updates)
{
	char dir[] = "/tmp/kvmmt-proc-XXXXXX", path[256];
	struct kvmmt_vmtable *t = kvmmt_vmtable_new(KVMMT_FMT_EPT, KVMMT_LINUX_PAT);
	struct kvmmt_err e = {};
	struct snap s = {};
	FILE *f;

	struct kvmmt_vmreg *r77;

	cr_assert_not_null(mkdtemp(dir));
	r77 = reg_at(dir);
	snprintf(path, sizeof(path), "%s/77", dir);
	cr_assert_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/77/stat", dir);
	f = fopen(path, "w");
	fputs("77 (old) S 1 77 77 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 1000 0 0\n", f);
	fclose(f);
	add_vm(&s, 77, 1, 0);
	add_inst(&s, 77, 0, EPT_WB_IPAT, 1, 30);
	cr_assert_eq(kvmmt_vmtable_update(t, &s.list, &s.c, 1.0, r77, &e), 0);
	cr_assert_eq(row(t, 77)->installs[KVMMT_MT_WB], 30);
	cr_assert_str_eq(row(t, 77)->name, "vmm-77");

	/* Another process with the same pid (later start time, different comm). */
	f = fopen(path, "w");
	fputs("77 (new) S 1 77 77 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 2000 0 0\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/77/comm", dir);
	f = fopen(path, "w");
	fputs("new\n", f);
	fclose(f);
	s.inst[0].count = 45;
	kvmmt_vmreg_refresh(r77, 2.0);
	cr_assert_eq(kvmmt_vmtable_update(t, &s.list, &s.c, 2.0, r77, &e), 0);
	cr_assert_eq(row(t, 77)->start_time, 2000);
	cr_assert_eq(row(t, 77)->installs[KVMMT_MT_WB], 0, "the old process's counts are not its own");
	cr_assert_str_eq(row(t, 77)->name, "new");
	s.inst[0].count = 50;
	kvmmt_vmreg_refresh(r77, 3.0);
	cr_assert_eq(kvmmt_vmtable_update(t, &s.list, &s.c, 3.0, r77, &e), 0);
	cr_assert_eq(row(t, 77)->installs[KVMMT_MT_WB], 5);
	kvmmt_vmtable_free(t);
	kvmmt_vmreg_free(r77);
	unlink(path);
	snprintf(path, sizeof(path), "%s/77/stat", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/77", dir);
	rmdir(path);
	rmdir(dir);
}

Test(vmtable, sorting)
{
	struct kvmmt_vmtable *t = kvmmt_vmtable_new(KVMMT_FMT_EPT, KVMMT_LINUX_PAT);
	const struct kvmmt_vm_row *out[3];
	enum kvmmt_vm_col col;
	struct snap s = {};

	add_vm(&s, 1300, 1, 0);
	add_vm(&s, 1001, 8, 0);
	add_vm(&s, 1100, 2, 0);
	add_inst(&s, 1300, 0, EPT_WB_IPAT, 1, 5);
	add_inst(&s, 1001, 0, EPT_WB_IPAT, 1, 5);
	add_inst(&s, 1100, 0, EPT_WB_IPAT, 1, 9);
	add_inst(&s, 1300, 0, EPT_WC, 1, 4);
	update(t, &s, 1.0);

	kvmmt_vmtable_sorted(t, KVMMT_COL_INSTALLS, KVMMT_MT_WB, true, out);
	cr_assert_eq(out[0]->pid, 1100);	/* 9 installs */
	cr_assert_eq(out[1]->pid, 1300);	/* 9 (WB 5 + WC 4), tie broken by pid */
	cr_assert_eq(out[2]->pid, 1001);
	kvmmt_vmtable_sorted(t, KVMMT_COL_MT_INSTALLS, KVMMT_MT_WB, true, out);
	cr_assert_eq(out[0]->pid, 1100);
	cr_assert_eq(out[1]->pid, 1001);	/* 5, tie broken by pid */
	cr_assert_eq(out[2]->pid, 1300);
	kvmmt_vmtable_sorted(t, KVMMT_COL_NAME, KVMMT_MT_WB, false, out);
	cr_assert_str_eq(out[0]->name, "foo");
	cr_assert_str_eq(out[1]->name, "kvmmt-testvmm");
	cr_assert_str_eq(out[2]->name, "win11");
	kvmmt_vmtable_sorted(t, KVMMT_COL_VCPUS, KVMMT_MT_WB, true, out);
	cr_assert_eq(out[0]->vcpus, 8);
	kvmmt_vmtable_sorted(t, KVMMT_COL_PID, KVMMT_MT_WB, false, out);
	cr_assert_eq(out[0]->pid, 1001);

	for (col = 0; col < KVMMT_COL__MAX; col++) {
		enum kvmmt_vm_col back;

		cr_assert_eq(kvmmt_vm_col_parse(kvmmt_vm_col_name(col), &back), 0);
		cr_assert_eq(back, col);
	}
	cr_assert_eq(kvmmt_vm_col_parse("nope", &col), -EINVAL);
	cr_assert_eq(kvmmt_vm_col_parse("ZAP-RATE", &col), 0);
	cr_assert_eq(col, KVMMT_COL_ZAP_RATE);
	kvmmt_vmtable_free(t);
}

Test(vmtable, many_vms_stay_sorted)
{
	struct kvmmt_vmtable *t = kvmmt_vmtable_new(KVMMT_FMT_EPT, KVMMT_LINUX_PAT);
	struct kvmmt_vm_info *vi = calloc(200, sizeof(*vi));
	struct kvmmt_install_count *ic = calloc(200, sizeof(*ic));
	struct kvmmt_vm_list l = { vi, 200 };
	struct kvmmt_counters c = { .inst = ic, .nr_inst = 200 };
	struct kvmmt_err e = {};
	size_t i;

	for (i = 0; i < 200; i++) {
		vi[i].vm.tgid = 100000 + (i * 7919) % 200;	/* shuffled */
		ic[i].key.tgid = vi[i].vm.tgid;
		ic[i].key.attr = EPT_WB_IPAT;
		ic[i].key.level = 1;
		ic[i].count = vi[i].vm.tgid;
	}
	cr_assert_eq(kvmmt_vmtable_update(t, &l, &c, 1.0, NULL, &e), 0);
	cr_assert_eq(kvmmt_vmtable_len(t), 200);
	for (i = 0; i < 200; i++) {
		const struct kvmmt_vm_row *r = kvmmt_vmtable_row(t, i);

		cr_assert_eq(r->pid, (pid_t)(100000 + i));
		cr_assert_eq(r->installs[KVMMT_MT_WB], 100000 + i);
	}
	free(vi);
	free(ic);
	kvmmt_vmtable_free(t);
}

// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * What this host is: KVM backend and SPTE format, CPU, host PAT, the
 * privileges and kernel features kvmmt needs. Everything is read from the
 * running system (/sys/module, /proc, the MSR device, /dev/kvm).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <linux/kvm.h>
#include "host.h"
#include "memtype.h"

#define MSR_IA32_CR_PAT	0x277
#define CAP_SYS_ADMIN_BIT	21
#define CAP_PERFMON_BIT		38
#define CAP_BPF_BIT		39

/*
 * kvmmt's kernel series (kernel/patches, on Linux 6.12) adds a capability
 * for memslots that take noncoherent DMA, a VIRTIO device type, a VM
 * statistic and tracepoints; each is detected by asking the running kernel.
 * The capability and device numbers are the series' placeholders, chosen
 * above every number upstream uses or has claimed (kernel/README.md).
 */
#ifndef KVM_CAP_MEMSLOT_NON_COHERENT_DMA
#define KVM_CAP_MEMSLOT_NON_COHERENT_DMA	250
#endif
#define KVMMT_DEV_TYPE_VIRTIO			20

static const char *const memtype_events[] = {
	"events/kvmmmu/kvm_mmu_memtype",
	"events/kvm/kvm_noncoherent_dma",
	"events/kvm/kvm_memslot_flags",
};

/* Reads a small file below @root into @buf (NUL-terminated); length or -errno. */
static ssize_t read_small(const char *root, const char *path, char *buf,
			  size_t size)
{
	char full[512];
	ssize_t n;
	int fd;

	snprintf(full, sizeof(full), "%s%s", root, path);
	fd = open(full, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		n = -errno;
	close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	return n;
}

static bool exists_at(const char *root, const char *path)
{
	char full[512];

	snprintf(full, sizeof(full), "%s%s", root, path);
	return access(full, F_OK) == 0;
}

/* "Y\n" -> true; also accepts "1". */
static bool param_true(const struct kvmmt_host *h, const char *module,
		       const char *name)
{
	for (int i = 0; i < h->nr_params; i++)
		if (!strcmp(h->params[i].module, module) &&
		    !strcmp(h->params[i].name, name))
			return h->params[i].value[0] == 'Y' ||
			       h->params[i].value[0] == '1';
	return false;
}

static int cmp_param(const void *a, const void *b)
{
	const struct kvmmt_param *x = a, *y = b;
	int c = strcmp(x->module, y->module);

	return c ? c : strcmp(x->name, y->name);
}

static void read_params(struct kvmmt_host *h, const char *root,
			const char *module)
{
	char dir[256], path[320], val[64];
	struct dirent *de;
	int first = h->nr_params;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/sys/module/%s/parameters", root, module);
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d)) && h->nr_params < KVMMT_HOST_MAX_PARAMS) {
		struct kvmmt_param *p;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/module/%s/parameters/%s",
			 module, de->d_name);
		if (read_small(root, path, val, sizeof(val)) < 0)
			continue;	/* write-only parameter */
		val[strcspn(val, "\n")] = '\0';
		p = &h->params[h->nr_params++];
		snprintf(p->module, sizeof(p->module), "%s", module);
		snprintf(p->name, sizeof(p->name), "%.39s", de->d_name);
		snprintf(p->value, sizeof(p->value), "%.23s", val);
	}
	closedir(d);
	qsort(h->params + first, h->nr_params - first, sizeof(h->params[0]),
	      cmp_param);
}

/*
 * A built-in kvm_intel or kvm_amd has a /sys/module directory even when it
 * found no VMX/SVM and stayed idle (both exist on a kernel with both built
 * in), so the CPU flag decides; PVM needs neither.
 */
static void probe_backend(struct kvmmt_host *h, const char *root,
			  const char *cpuinfo)
{
	static const struct {
		const char *module, *backend, *cpu_flag;
	} backends[] = {
		{ "kvm_pvm", "pvm", NULL },
		{ "kvm_intel", "vmx", "vmx" },
		{ "kvm_amd", "svm", "svm" },
	};
	char path[128];

	snprintf(h->backend, sizeof(h->backend), "none");
	h->fmt = KVMMT_FMT_UNKNOWN;
	h->tdp = false;
	read_params(h, root, "kvm");
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
		snprintf(path, sizeof(path), "/sys/module/%s", backends[i].module);
		if (!exists_at(root, path))
			continue;
		if (backends[i].cpu_flag && !kvmmt_host_cpu_has(cpuinfo, backends[i].cpu_flag))
			continue;
		snprintf(h->backend, sizeof(h->backend), "%s", backends[i].backend);
		read_params(h, root, backends[i].module);
		break;
	}
	if (!strcmp(h->backend, "vmx")) {
		h->tdp = param_true(h, "kvm_intel", "ept");
		h->fmt = h->tdp ? KVMMT_FMT_EPT : KVMMT_FMT_SHADOW;
	} else if (!strcmp(h->backend, "svm")) {
		h->tdp = param_true(h, "kvm_amd", "npt");
		h->fmt = h->tdp ? KVMMT_FMT_NPT : KVMMT_FMT_SHADOW;
	} else if (!strcmp(h->backend, "pvm")) {
		h->fmt = KVMMT_FMT_SHADOW;	/* PVM always uses the shadow MMU */
	} else if (!strcmp(h->machine, "aarch64") && h->kvm_dev) {
		snprintf(h->backend, sizeof(h->backend), "arm64");
		h->tdp = true;
		h->fmt = KVMMT_FMT_S2;
	}
}

bool kvmmt_host_cpu_has(const char *cpuinfo, const char *flag)
{
	size_t len = strlen(flag);
	const char *line = cpuinfo;

	while (line && *line) {
		const char *eol = strchrnul(line, '\n');
		const char *p = memchr(line, ':', eol - line);

		if (p && !strncmp(line, "flags", 5)) {
			while (++p < eol) {
				const char *w = p;

				while (p < eol && *p != ' ')
					p++;
				if ((size_t)(p - w) == len && !strncmp(w, flag, len))
					return true;
			}
			return false;
		}
		line = *eol ? eol + 1 : eol;
	}
	return true;	/* no flags line: trust /sys/module */
}

void kvmmt_host_parse_cpuinfo(struct kvmmt_host *h, const char *text)
{
	const char *line = text;

	h->cpu_vendor[0] = '\0';
	h->cpu_family = h->cpu_model = -1;
	while (line && *line) {
		const char *colon = strchr(line, ':');
		const char *eol = strchr(line, '\n');
		size_t klen;

		if (!eol)
			eol = line + strlen(line);
		if (eol == line)	/* blank line: end of the first CPU */
			break;
		if (colon && colon < eol) {
			klen = colon - line;
			while (klen && (line[klen - 1] == ' ' || line[klen - 1] == '\t'))
				klen--;
			const char *v = colon + 1;

			while (*v == ' ')
				v++;
			if (klen == 9 && !strncmp(line, "vendor_id", 9))
				snprintf(h->cpu_vendor, sizeof(h->cpu_vendor), "%.*s",
					 (int)(eol - v), v);
			else if (klen == 10 && !strncmp(line, "cpu family", 10))
				h->cpu_family = atoi(v);
			else if (klen == 5 && !strncmp(line, "model", 5))
				h->cpu_model = atoi(v);
			else if (klen == 15 && !strncmp(line, "CPU implementer", 15))
				snprintf(h->cpu_vendor, sizeof(h->cpu_vendor), "%.*s",
					 (int)(eol - v), v);
		}
		line = *eol ? eol + 1 : eol;
	}
}

int kvmmt_host_parse_capeff(const char *status, __u64 *capeff)
{
	const char *p = strstr(status, "\nCapEff:");
	char *end;

	if (!p)
		return -EINVAL;
	p += strlen("\nCapEff:");
	*capeff = strtoull(p, &end, 16);
	if (end == p)
		return -EINVAL;
	return 0;
}

static void probe_privileges(struct kvmmt_host *h, const char *root)
{
	char buf[4096];
	__u64 caps = 0;

	if (read_small(root, "/proc/self/status", buf, sizeof(buf)) > 0 &&
	    !kvmmt_host_parse_capeff(buf, &caps)) {
		h->cap_sys_admin = caps & (1ULL << CAP_SYS_ADMIN_BIT);
		h->cap_perfmon = caps & (1ULL << CAP_PERFMON_BIT);
		h->cap_bpf = caps & (1ULL << CAP_BPF_BIT);
	}
	h->root = h->cap_sys_admin || (h->cap_bpf && h->cap_perfmon);
}

bool kvmmt_host_privileged(void)
{
	struct kvmmt_host h = {};

	probe_privileges(&h, "");
	return h.root;
}

/* "none [integrity] confidentiality" -> "integrity" */
static void probe_lockdown(struct kvmmt_host *h, const char *root)
{
	char buf[128], *l, *r;

	if (read_small(root, "/sys/kernel/security/lockdown", buf, sizeof(buf)) <= 0)
		return;
	l = strchr(buf, '[');
	r = l ? strchr(l, ']') : NULL;
	if (r)
		snprintf(h->lockdown, sizeof(h->lockdown), "%.*s", (int)(r - l - 1), l + 1);
}

static void probe_pat(struct kvmmt_host *h, const char *root)
{
	__u64 pat;
	int fd;

	h->host_pat = KVMMT_LINUX_PAT;
	h->host_pat_read = false;
	if (*root || strcmp(h->machine, "x86_64"))
		return;
	fd = open("/dev/cpu/0/msr", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (pread(fd, &pat, sizeof(pat), MSR_IA32_CR_PAT) == sizeof(pat)) {
		h->host_pat = pat;
		h->host_pat_read = true;
	}
	close(fd);
}

/* Asks /dev/kvm about the kernel series' additions. */
static void probe_kvm_features(struct kvmmt_host *h)
{
	struct kvm_create_device cd = {
		.type = KVMMT_DEV_TYPE_VIRTIO,
		.flags = KVM_CREATE_DEVICE_TEST,
	};
	int kvm, vm;

	if (strcmp(h->machine, "x86_64"))
		return;
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return;
	h->has_memslot_nc_flag =
		ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_MEMSLOT_NON_COHERENT_DMA) > 0;
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm >= 0) {
		h->has_virtio_dev = ioctl(vm, KVM_CREATE_DEVICE, &cd) == 0;
		close(vm);
	}
	close(kvm);
}

static const char *tracefs_root(const char *root)
{
	static const char *const dirs[] = {
		"/sys/kernel/tracing/", "/sys/kernel/debug/tracing/",
	};
	char path[256];

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%sevents/kvmmmu", dirs[i]);
		if (exists_at(root, path))
			return dirs[i];
	}
	return NULL;
}

int kvmmt_host_probe_at(struct kvmmt_host *h, const char *root,
			struct kvmmt_err *e)
{
	struct utsname u;
	const char *tfs;
	char buf[8192];

	if (!h || !root)
		return kvmmt_errf(e, -EINVAL, "kvmmt_host_probe_at: NULL argument");
	memset(h, 0, sizeof(*h));
	if (*root) {
		read_small(root, "/proc/sys/kernel/osrelease", h->release,
			   sizeof(h->release));
		h->release[strcspn(h->release, "\n")] = '\0';
		snprintf(h->machine, sizeof(h->machine), "x86_64");
	} else if (uname(&u) == 0) {
		snprintf(h->release, sizeof(h->release), "%s", u.release);
		snprintf(h->machine, sizeof(h->machine), "%s", u.machine);
	}
	if (read_small(root, "/proc/cpuinfo", buf, sizeof(buf)) > 0)
		kvmmt_host_parse_cpuinfo(h, buf);
	else
		h->cpu_family = h->cpu_model = -1, buf[0] = '\0';
	h->btf = exists_at(root, "/sys/kernel/btf/vmlinux");
	h->kvm_dev = exists_at(root, "/dev/kvm");
	probe_backend(h, root, buf);
	probe_privileges(h, root);
	probe_pat(h, root);
	probe_lockdown(h, root);

	tfs = tracefs_root(root);
	h->tracefs = tfs != NULL;
	for (size_t i = 0; tfs && i < sizeof(memtype_events) / sizeof(memtype_events[0]); i++) {
		char path[256];

		snprintf(path, sizeof(path), "%s%s", tfs, memtype_events[i]);
		h->has_memtype_tp |= exists_at(root, path);
	}
	if (!*root && h->kvm_dev)
		probe_kvm_features(h);
	return 0;
}

int kvmmt_host_probe(struct kvmmt_host *h, struct kvmmt_err *e)
{
	return kvmmt_host_probe_at(h, "", e);
}

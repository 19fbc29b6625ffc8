/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
#ifndef KVMMT_HOST_H
#define KVMMT_HOST_H

#include <stdbool.h>
#include <linux/types.h>
#include "kvmmt.h"
#include "err.h"

#define KVMMT_HOST_MAX_PARAMS	256	/* kvm + kvm_intel on 6.12: about 70 */

/* One KVM module parameter, e.g. { "kvm_intel", "ept", "Y" }. */
struct kvmmt_param {
	char module[16];
	char name[40];
	char value[24];
};

/* What the running host is, read from /proc, /sys and cpuid; never from flags. */
struct kvmmt_host {
	char release[65];		/* uname -r */
	char machine[65];		/* uname -m */
	char backend[16];		/* "vmx", "svm", "pvm", "arm64", "none" */
	enum kvmmt_fmt fmt;		/* SPTE format KVM uses here */
	bool tdp;			/* EPT/NPT/stage-2 (false: shadow MMU) */
	char cpu_vendor[16];
	int cpu_family, cpu_model;
	__u64 host_pat;			/* IA32_PAT (Linux default if unreadable) */
	bool host_pat_read;		/* true if read from the MSR */
	bool btf;			/* /sys/kernel/btf/vmlinux */
	bool root;			/* CAP_BPF+CAP_PERFMON (or CAP_SYS_ADMIN) */
	bool kvm_dev;			/* /dev/kvm present */
	/* features of kvmmt's kernel series (kernel/), detected at run time */
	bool has_memslot_nc_flag;	/* KVM_CAP_MEMSLOT_NON_COHERENT_DMA */
	bool has_virtio_dev;		/* KVM_DEV_TYPE_VIRTIO */
	bool has_memtype_tp;		/* kvmmmu:kvm_mmu_memtype, kvm:kvm_noncoherent_dma
					 * or kvm:kvm_memslot_flags in tracefs */
	bool cap_bpf, cap_perfmon, cap_sys_admin;	/* effective capabilities */
	bool tracefs;			/* kvmmmu events visible in tracefs */
	char lockdown[16];		/* "none", "integrity", "confidentiality", "" if unknown */
	/* parameters of kvm and of the backend module (kvm_intel, kvm_amd, kvm_pvm) */
	struct kvmmt_param params[KVMMT_HOST_MAX_PARAMS];
	int nr_params;
};

int kvmmt_host_probe(struct kvmmt_host *h, struct kvmmt_err *e);

/*
 * The same, with /proc and /sys read below @root ("" for the live system;
 * a fixture directory in tests). Hardware (MSR, /dev/kvm ioctls, uname) is
 * only queried when @root is "".
 */
int kvmmt_host_probe_at(struct kvmmt_host *h, const char *root,
			struct kvmmt_err *e);

/* Whether this process may load and attach BPF tracing programs. */
bool kvmmt_host_privileged(void);

/* Parsers behind kvmmt_host_probe_at(), over file contents. */
void kvmmt_host_parse_cpuinfo(struct kvmmt_host *h, const char *text);
/* Whether the first "flags" line of @cpuinfo lists @flag (true without one). */
bool kvmmt_host_cpu_has(const char *cpuinfo, const char *flag);
/* CapEff from /proc/PID/status; -EINVAL if absent. */
int kvmmt_host_parse_capeff(const char *status, __u64 *capeff);

#endif

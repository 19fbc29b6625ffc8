/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
#ifndef KVMMT_HOST_H
#define KVMMT_HOST_H

#include <stdbool.h>
#include <linux/types.h>
#include "kvmmt.h"
#include "err.h"

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
	bool has_memslot_nc_flag;	/* KVM_CAP_MEM_NON_COHERENT_DMA */
	bool has_virtio_dev;		/* KVM_DEV_TYPE_VIRTIO */
	bool has_memtype_tp;		/* kvm:kvm_mmu_memtype tracepoint etc. */
};

int kvmmt_host_probe(struct kvmmt_host *h, struct kvmmt_err *e);

#endif

/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
#ifndef KVMMT_VMTABLE_H
#define KVMMT_VMTABLE_H

/*
 * The VM table: one row per VM, merged from the iterator (VMs, memslots,
 * noncoherent DMA), the BPF counters (installs by type, zaps) and /proc
 * (name, vCPU threads). Pure with respect to its inputs, so it is unit-tested
 * on hand-built snapshots.
 */
#include <stdbool.h>
#include <sys/types.h>
#include "datapath.h"
#include "memtype.h"
#include "err.h"

struct kvmmt_slot_row {
	struct kvmmt_slot_rec rec;
	__u64 installs[KVMMT_MT__MAX];		/* cumulative, all levels */
	__u64 installs_level[4];		/* index: level 1..3 */
};

struct kvmmt_vm_row {
	pid_t pid;
	char name[64];		/* QEMU -name guest=, libvirt domain, else comm */
	unsigned int vcpus;
	__u64 mem_bytes;	/* sum of memslot sizes */
	int noncoherent_dma;	/* -1 if unknown */
	__u64 disabled_quirks;
	bool quirks_valid;
	bool guest_types;	/* guest memory types can be honoured */
	unsigned int nr_slots;
	struct kvmmt_slot_row *slots;
	__u64 installs[KVMMT_MT__MAX];		/* cumulative since watching */
	__u64 installs_ipat[2];			/* [0] IPAT clear, [1] set */
	__u64 zaps;
	double install_rate[KVMMT_MT__MAX];	/* per second, last interval */
	double zap_rate;
	bool alive;		/* seen in the last update */
};

struct kvmmt_vmtable;

struct kvmmt_vmtable *kvmmt_vmtable_new(enum kvmmt_fmt fmt, __u64 host_pat);
void kvmmt_vmtable_free(struct kvmmt_vmtable *t);

/*
 * Fold a new snapshot in. @now_s is a monotonic time in seconds used for rates.
 * @proc_root is "/proc" (tests pass a fixture directory).
 */
int kvmmt_vmtable_update(struct kvmmt_vmtable *t, const struct kvmmt_vm_list *vms,
			 const struct kvmmt_counters *c, double now_s,
			 const char *proc_root, struct kvmmt_err *e);

size_t kvmmt_vmtable_len(const struct kvmmt_vmtable *t);
const struct kvmmt_vm_row *kvmmt_vmtable_row(const struct kvmmt_vmtable *t, size_t i);
const struct kvmmt_vm_row *kvmmt_vmtable_find(const struct kvmmt_vmtable *t, pid_t pid);

#endif

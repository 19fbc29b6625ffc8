/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
#ifndef KVMMT_VMTABLE_H
#define KVMMT_VMTABLE_H

/*
 * The VM table: one row per VMM process, merged from the iterator (VMs,
 * memslots, noncoherent DMA), the BPF counters (installs by type, zaps) and
 * /proc (name, vCPU threads). Pure with respect to its inputs, so it is
 * unit-tested on hand-built snapshots. docs/memtypes.md explains the columns.
 */
#include <stdbool.h>
#include <sys/types.h>
#include "datapath.h"
#include "memtype.h"
#include "policy.h"
#include "procinfo.h"
#include "vmreg.h"
#include "err.h"

/* Memslot flag of kvmmt's kernel series (kernel/patches), absent from older UAPIs. */
#ifndef KVMMT_MEM_NON_COHERENT_DMA
#define KVMMT_MEM_NON_COHERENT_DMA	(1u << 3)
#endif
/* x86 KVM-internal memslots (APIC access, TSS, identity map) use ids from here on. */
#define KVMMT_PRIVATE_SLOT_MIN		32764

struct kvmmt_slot_row {
	struct kvmmt_slot_rec rec;
	__u64 installs[KVMMT_MT__MAX];		/* cumulative, all levels */
	__u64 installs_level[4];		/* index: level 1..3 */
};

struct kvmmt_vm_row {
	pid_t pid;
	char name[64];		/* QEMU -name guest=, libvirt domain, else comm */
	unsigned int vcpus;
	__u64 mem_bytes;	/* sum of address-space-0 user memslot sizes */
	int noncoherent_dma;	/* -1 if unknown */
	__u64 disabled_quirks;
	bool quirks_valid;
	enum kvmmt_gt guest_types;	/* kvmmt_guest_types() of what the table knows */
	unsigned int guest_why;		/* its KVMMT_WHY_ mask */
	unsigned int nr_slots;
	struct kvmmt_slot_row *slots;	/* sorted by (as_id, id) */
	__u64 installs[KVMMT_MT__MAX];		/* cumulative since watching */
	__u64 installs_ipat[2];			/* [0] IPAT clear, [1] set */
	__u64 zaps;
	double install_rate[KVMMT_MT__MAX];	/* per second, last interval */
	double zap_rate;
	bool alive;		/* seen in the last update */

	/* Added after the first layout; all cumulative like installs[]. */
	enum kvmmt_name_src name_src;
	unsigned int nr_vms;		/* VMs (kvm-vm files) the process holds */
	bool slots_truncated;		/* the iterator stopped listing slots */
	__u64 installs_total;
	double install_rate_total;
	__u64 installs_guest;		/* installs whose type the guest can change */
	__u64 installs_noslot;		/* installs on no listed memslot */
	struct kvmmt_vm_ctrs ctrs;	/* per-VM counters (enum kvmmt_ctr) */
	__u64 start_time;		/* /proc/PID/stat starttime, 0 if unknown */
	unsigned int missing;		/* updates since last seen (0 when alive) */
};

struct kvmmt_vmtable;

struct kvmmt_vmtable *kvmmt_vmtable_new(enum kvmmt_fmt fmt, __u64 host_pat);
void kvmmt_vmtable_free(struct kvmmt_vmtable *t);

/*
 * How many updates a VM that is gone stays in the table with alive = false
 * before it is dropped (default 1: it is shown once more, then dropped).
 */
void kvmmt_vmtable_set_keep(struct kvmmt_vmtable *t, unsigned int updates);

/*
 * Fold a new snapshot in. @now_s is a monotonic time in seconds used for rates.
 * Each VMM's name and start time are its entry's in @reg (kvmmt_vmreg_get();
 * refresh @reg first so that a reused pid is seen), or with @reg NULL the
 * iterator's comm. @vms or @c may be NULL (nothing of that kind this time).
 * On -ENOMEM the table stays consistent but partly updated.
 */
int kvmmt_vmtable_update(struct kvmmt_vmtable *t, const struct kvmmt_vm_list *vms,
			 const struct kvmmt_counters *c, double now_s,
			 struct kvmmt_vmreg *reg, struct kvmmt_err *e);

size_t kvmmt_vmtable_len(const struct kvmmt_vmtable *t);
/* Rows in ascending pid order; valid until the next update or free. */
const struct kvmmt_vm_row *kvmmt_vmtable_row(const struct kvmmt_vmtable *t, size_t i);
const struct kvmmt_vm_row *kvmmt_vmtable_find(const struct kvmmt_vmtable *t, pid_t pid);
/* Seconds between the last two updates (0 after the first). */
double kvmmt_vmtable_interval(const struct kvmmt_vmtable *t);

/* Sort keys for a UI. The per-type columns take the memory type as @mt. */
enum kvmmt_vm_col {
	KVMMT_COL_PID = 0,
	KVMMT_COL_NAME,
	KVMMT_COL_VCPUS,
	KVMMT_COL_MEM,
	KVMMT_COL_NONCOHERENT,
	KVMMT_COL_GUEST_TYPES,
	KVMMT_COL_INSTALLS,		/* installs_total */
	KVMMT_COL_INSTALL_RATE,		/* install_rate_total */
	KVMMT_COL_MT_INSTALLS,		/* installs[mt] */
	KVMMT_COL_MT_RATE,		/* install_rate[mt] */
	KVMMT_COL_ZAPS,
	KVMMT_COL_ZAP_RATE,
	KVMMT_COL__MAX,
};

const char *kvmmt_vm_col_name(enum kvmmt_vm_col col);
/* Parse a column name (case-insensitive); -EINVAL if unknown. */
int kvmmt_vm_col_parse(const char *name, enum kvmmt_vm_col *col);
/* <0, 0, >0 like strcmp, ascending; ties are not broken. */
int kvmmt_vm_row_cmp(const struct kvmmt_vm_row *a, const struct kvmmt_vm_row *b,
		     enum kvmmt_vm_col col, enum kvmmt_mt mt);
/*
 * Fill @out (kvmmt_vmtable_len() entries) with the rows ordered by @col,
 * descending if @desc; equal rows stay in pid order.
 */
void kvmmt_vmtable_sorted(const struct kvmmt_vmtable *t, enum kvmmt_vm_col col,
			  enum kvmmt_mt mt, bool desc,
			  const struct kvmmt_vm_row **out);

#endif

/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
#ifndef KVMMT_POLICY_H
#define KVMMT_POLICY_H

/*
 * The page-aliasing risk model (docs/policy.md): per VM, from SPTE
 * installs with their types, memslot flags, noncoherent DMA and host-side
 * memory types, classify none / latent / aliasing. State is kept as merged
 * gfn ranges, so its size follows the number of distinct ranges, not guest size.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include <linux/types.h>
#include "kvmmt.h"
#include "hostmap.h"
#include "memtype.h"
#include "err.h"

/* Ordered: a VM's class is the highest that applies (docs/policy.md). */
enum kvmmt_risk {
	KVMMT_RISK_NONE = 0,	/* guest types cannot take effect */
	KVMMT_RISK_GUEST_TYPES,	/* the architecture combines them, on coherent RAM */
	KVMMT_RISK_LATENT,	/* they take effect where memory may be noncoherent */
	KVMMT_RISK_ALIASING,	/* a guest page's type differs from the host's */
	KVMMT_RISK__MAX,
};

const char *kvmmt_risk_name(enum kvmmt_risk r);
int kvmmt_risk_parse(const char *name, enum kvmmt_risk *r);

/*
 * Memslot flag of kvmmt's kernel series (kernel/): the slot is the target of
 * noncoherent DMA, so KVM honours the guest's memory type inside it.
 */
#define KVMMT_MEM_NON_COHERENT_DMA	(1u << 3)

/* Why a VM's guest memory types can take effect (bit mask). */
#define KVMMT_WHY_INSTALL	(1u << 0)	/* an EPT install without IPAT */
#define KVMMT_WHY_NONCOHERENT	(1u << 1)	/* noncoherent DMA count > 0 */
#define KVMMT_WHY_SLOT		(1u << 2)	/* a memslot carries the NC flag */
#define KVMMT_WHY_QUIRK		(1u << 3)	/* VMX: IGNORE_GUEST_PAT disabled */
#define KVMMT_WHY_DEVICE	(1u << 4)	/* a memslot backed by device memory */
#define KVMMT_WHY_ARCH		(1u << 5)	/* NPT / stage 2 without FWB combine */
#define KVMMT_WHY__BITS		6

/* kvm_x86_quirks: KVM_X86_QUIRK_IGNORE_GUEST_PAT (Linux 6.12) */
#define KVMMT_QUIRK_IGNORE_GUEST_PAT	(1ULL << 9)

/* The short name of one KVMMT_WHY_ bit ("noncoherent-dma"), or NULL. */
const char *kvmmt_why_name(unsigned int bit);

/*
 * What a VM is, for "can its guest memory types take effect, and why".
 * The one predicate behind the risk class, kvmmt-top's GTYPES column,
 * kvmmt-policyd and kvmmt-report.
 */
struct kvmmt_gt_facts {
	enum kvmmt_fmt fmt;		/* the host's SPTE format (backend) */
	int noncoherent;		/* kvm->arch.noncoherent_dma_count */
	bool flagged_slot;		/* a KVM_MEM_NON_COHERENT_DMA memslot */
	bool quirks_known;
	__u64 disabled_quirks;		/* KVM_CAP_DISABLE_QUIRKS2 */
	bool device_slot;		/* a memslot backed by device memory */
	bool install_honoured;		/* an install whose type the guest picks */
};

enum kvmmt_gt {
	KVMMT_GT_NO = 0,	/* forced by the host (IPAT, shadow, FWB) */
	KVMMT_GT_ARCH,		/* combined with the guest's, on coherent RAM */
	KVMMT_GT_YES,		/* honoured where memory may be noncoherent */
};

/* Returns the KVMMT_WHY_ mask and sets *@level (may be NULL). */
unsigned int kvmmt_guest_types(const struct kvmmt_gt_facts *f, enum kvmmt_gt *level);

/* "no", "arch" or "yes": kvmmt-top's GTYPES column and JSON. */
const char *kvmmt_gt_name(enum kvmmt_gt level);

/* Two types alias when a page must not be mapped with both. */
bool kvmmt_mt_conflict(enum kvmmt_mt a, enum kvmmt_mt b);

/* One install, decoded: what the model consumes. */
struct kvmmt_install {
	__u64 gfn, pfn;
	__u16 slot;
	__u8 level;			/* 1 = 4K, 2 = 2M, 3 = 1G */
	struct kvmmt_memattr ma;	/* kvmmt_attr_decode() of the SPTE bits */
};

/* A merged gfn range of a VM, as the model keeps it. */
struct kvmmt_gfn_range {
	__u64 start, end;	/* [start, end) in gfns */
	__u16 slot;
	enum kvmmt_mt mt;	/* type the SPTEs encode */
	enum kvmmt_mt host_mt;	/* host's type for the same pages */
	__u64 pfn;		/* host pfn of the first page, 0 = unknown */
	bool honoured;		/* guest type can take effect */
	bool conflict;		/* kvmmt_mt_conflict(mt, host_mt) */
};

struct kvmmt_policy_slot {
	__u16 id, as_id;
	__u32 flags;
	__u64 base_gfn, npages, userspace_addr;
};

struct kvmmt_policy_vm;

struct kvmmt_policy_vm *kvmmt_policy_vm_new(void);
void kvmmt_policy_vm_free(struct kvmmt_policy_vm *vm);

/*
 * Host sides: @pat by pfn (may be NULL), @maps by hva page (may be NULL).
 * The model only borrows them; the caller keeps them alive and may replace
 * them between calls (already-recorded ranges keep the type seen at install).
 */
void kvmmt_policy_vm_set_host(struct kvmmt_policy_vm *vm,
			      const struct kvmmt_hostmap *pat,
			      const struct kvmmt_hostmap *maps);

/*
 * The backend (SPTE format) and, from the iterator, the VM's disabled
 * quirks: facts the class depends on before any install is seen.
 */
void kvmmt_policy_vm_set_fmt(struct kvmmt_policy_vm *vm, enum kvmmt_fmt fmt);
void kvmmt_policy_quirks(struct kvmmt_policy_vm *vm, __u64 disabled_quirks);

int kvmmt_policy_install(struct kvmmt_policy_vm *vm,
			 const struct kvmmt_install *in, struct kvmmt_err *e);
/* Forget [gfn, gfn + pages(level)). */
int kvmmt_policy_zap(struct kvmmt_policy_vm *vm, __u64 gfn, int level,
		     struct kvmmt_err *e);
void kvmmt_policy_noncoherent(struct kvmmt_policy_vm *vm, int count);
/* Add or update a memslot (flags and geometry); npages 0 deletes it. */
int kvmmt_policy_slot(struct kvmmt_policy_vm *vm,
		      const struct kvmmt_policy_slot *s, struct kvmmt_err *e);
/* Replace every memslot with @s[0..n) (a fresh iterator snapshot). */
int kvmmt_policy_set_slots(struct kvmmt_policy_vm *vm,
			   const struct kvmmt_policy_slot *s, size_t n,
			   struct kvmmt_err *e);
/* The same from the iterator's records (bpf/kvmmt.h). */
int kvmmt_policy_set_slot_recs(struct kvmmt_policy_vm *vm,
			       const struct kvmmt_slot_rec *recs, size_t n,
			       struct kvmmt_err *e);
/* A memslot event: only the flags of @id changed. */
int kvmmt_policy_slot_flags(struct kvmmt_policy_vm *vm, __u16 id, __u32 flags,
			    struct kvmmt_err *e);

#define KVMMT_MAX_DEVICE_SLOTS	8

struct kvmmt_policy_summary {
	enum kvmmt_risk risk;
	enum kvmmt_gt guest_types;	/* kvmmt_guest_types() */
	unsigned int why;		/* KVMMT_WHY_* */
	size_t nr_device_slots;		/* memslots backed by device memory */
	struct {
		__u16 id;
		enum kvmmt_mt host_mt;	/* the host's type of that memory */
	} device[KVMMT_MAX_DEVICE_SLOTS];
	int noncoherent;		/* last count seen */
	size_t nr_ranges;		/* merged ranges kept */
	size_t nr_conflicts;		/* of which conflicting */
	__u64 conflict_pages;
	__u64 installs;			/* installs folded in */
	__u64 installs_by_mt[KVMMT_MT__MAX];
	__u64 zaps;
};

/*
 * Put back a range saved from an earlier run (kvmmt_policy_range()), as it
 * was: its host type is not looked up again, its conflict is recomputed.
 */
int kvmmt_policy_restore(struct kvmmt_policy_vm *vm, const struct kvmmt_gfn_range *r,
			 struct kvmmt_err *e);

void kvmmt_policy_summary(const struct kvmmt_policy_vm *vm,
			  struct kvmmt_policy_summary *s);

/* One sentence on why the VM has its class, e.g. for a log line. */
void kvmmt_policy_describe(const struct kvmmt_policy_summary *s, char *buf,
			   size_t n);
size_t kvmmt_policy_nr_ranges(const struct kvmmt_policy_vm *vm);
const struct kvmmt_gfn_range *kvmmt_policy_range(const struct kvmmt_policy_vm *vm,
						 size_t i);
/* Apply one data-path event (install attrs decoded with @fmt/@host_pat). */
int kvmmt_policy_event(struct kvmmt_policy_vm *vm, const struct kvmmt_event *ev,
		       enum kvmmt_fmt fmt, __u64 host_pat, struct kvmmt_err *e);

#endif

/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Layouts shared by the BPF programs and user space: map keys and values,
 * ring-buffer events and BPF-iterator records. Fixed-size fields only, so
 * both sides (and capture files) agree on every byte.
 */
#ifndef KVMMT_H
#define KVMMT_H

#define KVMMT_COMM_LEN		16
#define KVMMT_SLOT_UNKNOWN	0xffff

/* How a host encodes memory types in its second-stage (or shadow) PTEs. */
enum kvmmt_fmt {
	KVMMT_FMT_UNKNOWN = 0,
	KVMMT_FMT_EPT,		/* Intel EPT: memtype bits 5:3, IPAT bit 6 */
	KVMMT_FMT_NPT,		/* AMD NPT: legacy PTE, PWT/PCD/PAT index host PAT */
	KVMMT_FMT_SHADOW,	/* shadow paging (incl. PVM): legacy PTE */
	KVMMT_FMT_S2,		/* arm64 stage-2, MemAttr[3:0] without FWB */
	KVMMT_FMT_S2_FWB,	/* arm64 stage-2 with FEAT_S2FWB */
	KVMMT_FMT__MAX,
};

enum kvmmt_ev_type {
	KVMMT_EV_INSTALL = 1,	/* a leaf SPTE was installed */
	KVMMT_EV_ZAP,		/* a shadow page / TDP leaf was zapped */
	KVMMT_EV_NONCOHERENT,	/* noncoherent DMA count changed; value = new count */
	KVMMT_EV_MEMSLOT,	/* memslot changed; spte = new flags, pfn = old flags,
				 * gfn = base gfn, slot = id, value = as_id */
	KVMMT_EV_SLOT,		/* a memslot's geometry, the first time it is seen
				 * (or after it changed): slot = id, value = as_id,
				 * gfn = base gfn, pfn = pages (0: deleted),
				 * spte = host address, aux = KVM_MEM_* flags */
	KVMMT_EV_VM,		/* a VMM process, the first time it is seen:
				 * gfn, pfn = its comm (16 bytes, little-endian) */
	KVMMT_EV_INVAL,		/* guest memory invalidated: gfn = first gfn,
				 * pfn = pages, slot = id, value = enum
				 * kvmmt_zap_cause, aux = as_id */
	KVMMT_EV_HOSTMAP,	/* the host kernel maps guest memory itself:
				 * value = enum kvmmt_hostmap_op, gfn = gpa >> 12,
				 * pfn = host pfn, spte = host virtual address
				 * of the guest page (uhva), aux = KVMMT_HM_* */
	KVMMT_EV__MAX,
};

/* Host-side mappings of guest memory (fentry only). */
enum kvmmt_hostmap_op {
	KVMMT_HM_GPC_ACTIVATE = 1,	/* a gfn-to-pfn cache activated */
	KVMMT_HM_GPC_REFRESH,		/* ... refreshed (re-mapped) */
	KVMMT_HM_GPC_DEACTIVATE,	/* ... deactivated (unmapped) */
	KVMMT_HM_GPC_INVALIDATE,	/* ... invalidated by an MMU notifier */
	KVMMT_HM_VFIO_ADD,		/* KVM_DEV_VFIO_FILE_ADD on a kvm-vfio device */
	KVMMT_HM_VFIO_DEL,		/* KVM_DEV_VFIO_FILE_DEL */
	KVMMT_HM__MAX,
};

#define KVMMT_HM_OK	(1u << 0)	/* the kernel call succeeded */
#define KVMMT_HM_RAM	(1u << 1)	/* kmap of a RAM page, not memremap */
#define KVMMT_HM_VALID	(1u << 2)	/* the cache is valid after the call */

/*
 * Why KVM drops guest mappings. A zap event's value, and the cause of an
 * invalidation event; counted per VM in pages (KVMMT_C_INV_*).
 */
enum kvmmt_zap_cause {
	KVMMT_ZAP_UNKNOWN = 0,
	KVMMT_ZAP_NOTIFIER,	/* MMU notifier: munmap, madvise, reclaim, migration */
	KVMMT_ZAP_MEMSLOT,	/* memslot deleted or moved */
	KVMMT_ZAP_SLOT_FLAGS,	/* memslot flags changed (dirty logging) */
	KVMMT_ZAP_ALL,		/* fast zap of every shadow page */
	KVMMT_ZAP_ATTRIBUTES,	/* KVM_SET_MEMORY_ATTRIBUTES (private <-> shared) */
	KVMMT_ZAP_GMEM,		/* guest_memfd hole punch or release */
	KVMMT_ZAP__MAX,
};

/*
 * One ring-buffer event (capture only). 48 bytes.
 * attr is the SPTE's memory-type bits packed by kvmmt_spte_attr().
 */
struct kvmmt_event {
	__u64 ts_ns;		/* bpf_ktime_get_ns() */
	__u64 gfn;
	__u64 pfn;
	__u64 spte;		/* raw SPTE (install), old SPTE (zap), flags (memslot) */
	__u32 tgid;		/* VMM process */
	__u32 tid;		/* vCPU (or other) thread */
	__u16 type;		/* enum kvmmt_ev_type */
	__u16 slot;		/* memslot id or KVMMT_SLOT_UNKNOWN */
	__u8 level;		/* 1 = 4K, 2 = 2M, 3 = 1G */
	__u8 attr;
	__u16 cpu;
	__s32 value;		/* noncoherent count, memslot as_id, zap cause */
	__u32 aux;		/* KVMMT_EV_SLOT: flags; KVMMT_EV_INVAL: as_id */
};

/* Per-VM installs, keyed by memory-type bits and level. */
struct kvmmt_inst_key {
	__u32 tgid;
	__u16 slot;
	__u8 attr;
	__u8 level;
};

/* Per-VM counters, keyed by tgid (per-CPU hash; user space sums). */
enum kvmmt_ctr {
	KVMMT_C_INSTALLS = 0,	/* leaf SPTEs installed */
	KVMMT_C_ZAPS,		/* pages zapped */
	KVMMT_C_REQUESTED,	/* faults that requested an SPTE */
	KVMMT_C_SP_CREATED,	/* shadow pages created */
	KVMMT_C_SP_REUSED,	/* shadow pages found and reused */
	KVMMT_C_NC_REGISTER,	/* noncoherent DMA registrations seen */
	KVMMT_C_NC_UNREGISTER,	/* noncoherent DMA unregistrations seen */
	KVMMT_C_SLOT_CHANGES,	/* memslot flag changes seen */
	KVMMT_C_TDP_CHANGES,	/* TDP MMU SPTE changes */
	KVMMT_C_FAST_PF,	/* fast page faults (SPTE fixed without a full fault) */
	KVMMT_C_SYNC,		/* shadow pages resynced */
	KVMMT_C_UNSYNC,		/* shadow pages marked unsync */
	KVMMT_C_SPLITS,		/* huge pages split */
	KVMMT_C_ZAP_ALL,	/* fast zap of all shadow pages */
	KVMMT_C_MEMTYPE,	/* memory-type decisions seen (patched kernels) */
	/* guest pages invalidated, by enum kvmmt_zap_cause */
	KVMMT_C_INV_NOTIFIER,
	KVMMT_C_INV_MEMSLOT,
	KVMMT_C_INV_SLOT_FLAGS,
	KVMMT_C_INV_ATTRIBUTES,
	KVMMT_C_INV_GMEM,
	/* host-side mappings of guest memory (enum kvmmt_hostmap_op) */
	KVMMT_C_GPC_ACTIVATE,
	KVMMT_C_GPC_REFRESH,
	KVMMT_C_GPC_DEACTIVATE,
	KVMMT_C_GPC_INVALIDATE,
	KVMMT_C_VFIO_ADD,
	KVMMT_C_VFIO_DEL,
	KVMMT_C__MAX,
};

struct kvmmt_vm_ctrs {
	__u64 c[KVMMT_C__MAX];
};

/*
 * Per-CPU array of per-VM counters, indexed by tgid % KVMMT_VM_FAST:
 * an entry belongs to the first tgid that used it on that CPU (tgid 0 =
 * free); other tgids of the same index count in the vm_ctrs hash. A VM's
 * counters are the sum of its entries here and in vm_ctrs; c[INSTALLS]
 * stays 0 in both (installs are counted only in the installs map).
 */
#define KVMMT_VM_FAST		256

struct kvmmt_vm_fast {
	__u32 tgid;
	__u32 pad;
	struct kvmmt_vm_ctrs c;
};

/*
 * Per-CPU array of install counts, indexed by a hash of the key
 * (kvmmt_inst_fast_idx()): an entry belongs to the first key that used it
 * on that CPU (key.tgid 0 = free); other keys of the same index count in
 * the installs hash. A key's count is the sum of both.
 */
#define KVMMT_INST_FAST_BITS	10
#define KVMMT_INST_FAST		(1u << KVMMT_INST_FAST_BITS)

struct kvmmt_inst_fast {
	struct kvmmt_inst_key key;
	__u64 count;
};

static inline __u32 kvmmt_inst_fast_idx(const struct kvmmt_inst_key *k)
{
	__u64 v = k->tgid | (__u64)k->slot << 32 | (__u64)k->attr << 48 |
		  (__u64)k->level << 56;

	return (v * 0x9e3779b97f4a7c15ULL) >> (64 - KVMMT_INST_FAST_BITS);
}

/* The release_fast program's context: which exited process, on how many CPUs. */
struct kvmmt_release_args {
	__u32 tgid;
	__u32 ncpu;		/* possible CPUs */
};

/* Global per-CPU counters (array map). */
enum kvmmt_gstat {
	KVMMT_G_EVENTS = 0,	/* events written to the ring buffer */
	KVMMT_G_DROPS,		/* events lost because the ring buffer was full */
	KVMMT_G_NOSPACE,	/* updates lost because a counter map was full */
	KVMMT_G_SEEN,		/* kvmmmu events handled (before the pid filter) */
	KVMMT_G_INV_KTHREAD,	/* pages invalidated by kernel threads, VM unknown */
	KVMMT_G_SLOT_WALKS,	/* invalidations matched by a walk of every memslot */
	KVMMT_G__MAX,
};

/* Records written by the iter/task_file program, one VM then its slots. */
enum kvmmt_rec_kind {
	KVMMT_REC_VM = 1,
	KVMMT_REC_SLOT,
};

#define KVMMT_VF_NONCOHERENT	(1u << 0)	/* noncoherent_dma valid */
#define KVMMT_VF_QUIRKS		(1u << 1)	/* disabled_quirks valid */
#define KVMMT_VF_TRUNCATED	(1u << 2)	/* more than KVMMT_ITER_MAX_SLOTS slots */
#define KVMMT_VF_SLOTS_GEN	(1u << 3)	/* slots_gen names the slots (read whole) */
#define KVMMT_VF_SLOTS_SAME	(1u << 4)	/* no slot records follow: see vm_known */
#define KVMMT_VF_MM_SEQ		(1u << 5)	/* mm_seq valid */

/* Slot records the iterator emits per VM at most. */
#define KVMMT_ITER_MAX_SLOTS	64

struct kvmmt_vm_rec {
	__u32 kind;		/* KVMMT_REC_VM */
	__u32 tgid;
	__u64 kvm_id;		/* identity of the struct kvm (opaque) */
	__s32 noncoherent_dma;
	__s32 online_vcpus;
	__u64 disabled_quirks;
	__u32 nr_slots;		/* slot records that follow */
	__u32 valid;		/* KVMMT_VF_* */
	__s32 fd;
	/*
	 * The VMM's mm write-lock sequence (mm_lock_seq, Linux 6.4 and later
	 * with per-VMA locks): every change of its mappings moves it.
	 */
	__u32 mm_seq;
	__u64 slots_gen;	/* memslot generations, summed over address spaces */
	__u64 slot_pages;	/* pages in all memslots (0: not known) */
	char comm[KVMMT_COMM_LEN];
};

/*
 * The memslots a reader of the iterator holds for a VM (vm_known map, keyed
 * by kvm_id; only user space writes it). While the VM's process, memslot
 * generations and memslot pages are still these, the iterator sends no
 * slot records: its VM record has KVMMT_VF_SLOTS_SAME, nr_slots and
 * KVMMT_VF_TRUNCATED from here, and the reader uses what it holds. A
 * memslot change moves the generation, so the next record has the slots.
 */
struct kvmmt_vm_known {
	__u64 slots_gen;
	__u64 slot_pages;
	__u32 tgid;
	__u32 nr_slots;
	__u32 valid;		/* KVMMT_VF_TRUNCATED of the walk */
	__u32 pad;
};

struct kvmmt_slot_rec {
	__u32 kind;		/* KVMMT_REC_SLOT */
	__u16 id;
	__u16 as_id;
	__u32 flags;		/* KVM_MEM_* */
	__u32 pad;
	__u64 kvm_id;
	__u64 base_gfn;
	__u64 npages;
	__u64 userspace_addr;
};

/*
 * A memslot as the data path knows it (vm_slots map), keyed per VMM
 * process: filled from faults, memslot ioctls and the iterator.
 */
struct kvmmt_slot_key {
	__u32 tgid;
	__u16 as_id;
	__u16 id;
};

struct kvmmt_slot_val {
	__u64 base_gfn;
	__u64 npages;
	__u64 hva;
	__u32 flags;
	__u32 pad;
};

/*
 * The vm_slots keys of one VMM process (slot_index map, keyed by tgid), so
 * that an MMU-notifier invalidation looks up its own VM's slots instead of
 * walking them all. Every key added to vm_slots is added to its process's
 * entry (made if missing), and the entry goes when the process exits. An
 * entry made for a process's first key is ready (holds every key of the
 * process) at once, unless it was made before the exit hook was attached
 * or a key could not be indexed: then vm_slots may hold keys from before
 * the entry, the process's first invalidation walks vm_slots and adds what
 * it finds, and the entry is ready after that walk. Keys are never taken
 * out (a deleted slot is a lookup that misses): an entry only grows, which
 * needs no lock. A process with more keys than fit is walked in full
 * every time.
 */
#define KVMMT_SLOT_INDEX_MAX	64

struct kvmmt_slot_index {
	__u32 ready;		/* holds every key of the process in vm_slots */
	__u32 overflow;		/* or not: more than KVMMT_SLOT_INDEX_MAX keys */
	__u64 key[KVMMT_SLOT_INDEX_MAX];	/* (as_id << 16 | id) + 1; 0: free */
};

/* The per-VM counter of pages invalidated for @cause, or -1. */
static inline int kvmmt_inv_ctr(int cause)
{
	switch (cause) {
	case KVMMT_ZAP_NOTIFIER: return KVMMT_C_INV_NOTIFIER;
	case KVMMT_ZAP_MEMSLOT: return KVMMT_C_INV_MEMSLOT;
	case KVMMT_ZAP_SLOT_FLAGS: return KVMMT_C_INV_SLOT_FLAGS;
	case KVMMT_ZAP_ATTRIBUTES: return KVMMT_C_INV_ATTRIBUTES;
	case KVMMT_ZAP_GMEM: return KVMMT_C_INV_GMEM;
	default: return -1;
	}
}

#endif /* KVMMT_H */

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * kvmmt data path: every leaf SPTE KVM installs, with the memory type it
 * carries, counted per VM in the kernel; plus zaps, faults and shadow-page
 * churn, and an iterator that lists VMs and their memslots.
 *
 * One object holds every attach method; the loader (user/lib/datapath.c)
 * turns on the programs of one path: FENTRY (fexit/make_spte), TP_BTF,
 * RAW_TP or TP. The handlers below are shared by all of them.
 */
#include "kvm_types.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "kvmmt.h"
#include "memattr.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Knobs, set by the loader before load. */
const volatile int fmt = KVMMT_FMT_UNKNOWN;
const volatile bool capture = false;
const volatile bool filter = false;
/* false on the FENTRY path: make_spte counts installs, tracepoints must not */
const volatile bool tp_installs = true;
/*
 * The TDP MMU fires kvm_mmu_set_spte too when it maps a leaf, so
 * kvm_tdp_mmu_spte_changed counts installs only on kernels without it.
 */
const volatile bool tdp_installs = false;
/* bytes in the ring buffer that wake its reader: an eighth of its size */
const volatile __u64 ring_wake = 4096 * 8;

/* x86: SPTE_MMU_PRESENT_MASK (bit 11, since 5.13); arm64 stage 2: valid bit */
#define X86_SPTE_PRESENT	(1ULL << 11)
#define X86_SPTE_LARGE		(1ULL << 7)
#define SPTE_PFN_MASK		0x000ffffffffff000ULL

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct kvmmt_inst_key);
	__type(value, __u64);
} installs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KVMMT_INST_FAST);
	__type(key, __u32);
	__type(value, struct kvmmt_inst_fast);
} inst_fast SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct kvmmt_vm_ctrs);
} vm_ctrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KVMMT_VM_FAST);
	__type(key, __u32);
	__type(value, struct kvmmt_vm_fast);
} vm_fast SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KVMMT_G__MAX);
	__type(key, __u32);
	__type(value, __u64);
} gstats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} tgid_filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096 * 64);
} events SEC(".maps");

/*
 * kvm_mmu_set_spte does not name the memslot; kvm_mmu_spte_requested (the
 * fault that precedes it on the same CPU, preemption disabled under
 * mmu_lock) does. Prefetched neighbours lie in the same slot.
 */
struct fault_stash {
	__u64 base_gfn;
	__u64 npages;
	__u64 slot_ptr;		/* the last memslot recorded on this CPU */
	__u32 tgid;
	__u16 slot;
	__u16 valid;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fault_stash);
} stash SEC(".maps");

/*
 * The iterator collects a VM's slots here before writing the VM record,
 * which carries their count. Indexed by map key, not pointer arithmetic,
 * so the count needs no precise tracking in the verifier.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KVMMT_ITER_MAX_SLOTS);
	__type(key, __u32);
	__type(value, struct kvmmt_slot_rec);
} scratch SEC(".maps");

/*
 * Memslots seen per VMM process (faults, memslot ioctls, the iterator):
 * geometry for events of VMs gone before user space asks, and the hva
 * ranges MMU-notifier invalidations are matched against.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct kvmmt_slot_key);
	__type(value, struct kvmmt_slot_val);
} vm_slots SEC(".maps");

/*
 * The vm_slots keys of each VMM process (struct kvmmt_slot_index): not an
 * LRU map, so that an entry goes only when its process exits (proc_exit).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct kvmmt_slot_index);
} slot_index SEC(".maps");

/*
 * VMM processes that exited, and when (bpf_ktime_get_ns()): user space
 * releases their counters once they are old enough (kvmmt_dp_opts'
 * release_s), long after the zaps of the VM's destruction, which come
 * after the exit.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} exited SEC(".maps");

static const struct kvmmt_slot_index no_slots;
static const struct kvmmt_slot_index ready_slots = { .ready = 1 };

/*
 * Set by the loader once proc_exit is attached: from then on an entry made
 * for a process's first memslot holds all of them, and is ready at once.
 * slots_unindexed is set for good when a key could not be indexed.
 */
__u32 slots_born_ready;
__u32 slots_unindexed;

/* VMM processes already described by a KVMMT_EV_VM event (capture). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u8);
} vm_seen SEC(".maps");

/* struct kvm -> the VMM process holding it (the iterator fills it). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u32);
} kvm_owner SEC(".maps");

/*
 * Why the current task is dropping guest mappings, per thread: set where
 * the cause begins (a memslot or attributes ioctl, an MMU-notifier
 * invalidation, a fast zap-all), read by the zaps that follow.
 */
struct cause_ctx {
	__u64 ts;
	__u32 tgid;		/* the VM's process (kernel threads: its owner) */
	__u32 cause;		/* enum kvmmt_zap_cause */
};

/*
 * A zap takes its thread's cause only this soon after the cause began or
 * the thread's last zap of that cause: the zaps of one invalidation follow
 * each other closely, and the tracepoint paths see no invalidation end.
 */
#define CAUSE_NS	10000000ULL

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct cause_ctx);
} causes SEC(".maps");

/* A memslot or attributes ioctl between its entry and its exit. */
struct ioctl_req {
	__u64 cmd;
	__u64 gpa;
	__u64 size;
	__u64 hva;
	struct kvmmt_slot_val old;
	__u32 slot;		/* as_id << 16 | id */
	__u32 flags;
	__u32 cause;
	__u32 known;		/* old is valid */
};

/* LRU: a thread killed inside the ioctl leaves an entry nobody removes. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct ioctl_req);
} ioctls SEC(".maps");

static __always_inline void gstat_add(__u32 idx, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&gstats, &idx);

	if (v)
		*v += n;
}

static __always_inline void gstat_inc(__u32 idx)
{
	gstat_add(idx, 1);
}

static __always_inline __u32 current_tgid(void)
{
	return bpf_get_current_pid_tgid() >> 32;
}

/*
 * Returns the tgid to account to, or 0 if filtered out. SEEN (events
 * before the filter) is counted only when there is a filter.
 */
static __always_inline __u32 watched(__u32 tgid)
{
	if (filter) {
		gstat_inc(KVMMT_G_SEEN);
		if (!bpf_map_lookup_elem(&tgid_filter, &tgid))
			return 0;
	}
	return tgid;
}

static __always_inline __u32 watched_tgid(void)
{
	return watched(current_tgid());
}

/*
 * Per-VM counters: the tgid's own entry of the per-CPU vm_fast array (an
 * inlined array lookup, no insert), else the vm_ctrs hash.
 */
static __always_inline void ctr_add_n(__u32 tgid, __u32 idx, __u64 n)
{
	struct kvmmt_vm_ctrs *c, zero = {};
	struct kvmmt_vm_fast *f;
	__u32 k = tgid & (KVMMT_VM_FAST - 1);

	if (idx >= KVMMT_C__MAX)
		return;
	f = bpf_map_lookup_elem(&vm_fast, &k);
	if (f && (f->tgid == tgid || !f->tgid)) {
		f->tgid = tgid;
		f->c.c[idx] += n;
		return;
	}
	c = bpf_map_lookup_elem(&vm_ctrs, &tgid);
	if (!c) {
		if (bpf_map_update_elem(&vm_ctrs, &tgid, &zero, BPF_NOEXIST) &&
		    !bpf_map_lookup_elem(&vm_ctrs, &tgid)) {
			gstat_inc(KVMMT_G_NOSPACE);
			return;
		}
		c = bpf_map_lookup_elem(&vm_ctrs, &tgid);
		if (!c)
			return;
	}
	c->c[idx] += n;
}

static __always_inline void ctr_add(__u32 tgid, __u32 idx)
{
	ctr_add_n(tgid, idx, 1);
}

static __always_inline void emit_aux(__u16 type, __u32 tgid, __u64 gfn,
				     __u64 pfn, __u64 spte, __u16 slot,
				     __u8 level, __u8 attr, __s32 value,
				     __u32 aux)
{
	struct kvmmt_event *ev;

	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		gstat_inc(KVMMT_G_DROPS);
		return;
	}
	ev->ts_ns = bpf_ktime_get_ns();
	ev->gfn = gfn;
	ev->pfn = pfn;
	ev->spte = spte;
	ev->tgid = tgid;
	ev->tid = (__u32)bpf_get_current_pid_tgid();
	ev->type = type;
	ev->slot = slot;
	ev->level = level;
	ev->attr = attr;
	ev->cpu = bpf_get_smp_processor_id();
	ev->value = value;
	ev->aux = aux;
	/*
	 * A wakeup per event costs microseconds per SPTE; wake the reader
	 * only once an eighth of the ring is filled. It also drains on its
	 * poll timeout.
	 */
	bpf_ringbuf_submit(ev, bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= ring_wake ?
			       BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
	gstat_inc(KVMMT_G_EVENTS);
}

static __always_inline void emit(__u16 type, __u32 tgid, __u64 gfn, __u64 pfn,
				 __u64 spte, __u16 slot, __u8 level, __u8 attr,
				 __s32 value)
{
	emit_aux(type, tgid, gfn, pfn, spte, slot, level, attr, value, 0);
}

static __always_inline bool spte_present(__u64 spte)
{
	if (fmt == KVMMT_FMT_S2 || fmt == KVMMT_FMT_S2_FWB)
		return spte & 1;
	return spte & X86_SPTE_PRESENT;
}

static __always_inline bool spte_leaf(__u64 spte, int level)
{
	return level == 1 || (spte & X86_SPTE_LARGE);
}

static __always_inline void count_install(__u32 tgid, __u64 gfn, __u64 spte,
					  int level, __u16 slot)
{
	struct kvmmt_inst_key key = {};
	struct kvmmt_inst_fast *f;
	__u64 *cnt, one = 1;
	__u32 idx;

	if (!spte_present(spte))
		return;
	key.tgid = tgid;
	key.slot = slot;
	key.level = level;
	key.attr = kvmmt_spte_attr(fmt, spte, level);
	idx = kvmmt_inst_fast_idx(&key);
	f = bpf_map_lookup_elem(&inst_fast, &idx);
	if (f && ((f->key.tgid == tgid && f->key.slot == slot &&
		   f->key.attr == key.attr && f->key.level == key.level) ||
		  !f->key.tgid)) {
		f->key = key;
		f->count++;
		goto counted;
	}
	cnt = bpf_map_lookup_elem(&installs, &key);
	if (cnt)
		(*cnt)++;
	else if (bpf_map_update_elem(&installs, &key, &one, BPF_NOEXIST) &&
		 (cnt = bpf_map_lookup_elem(&installs, &key)))
		(*cnt)++;	/* lost a race with an interrupting handler */
	else if (!bpf_map_lookup_elem(&installs, &key))
		gstat_inc(KVMMT_G_NOSPACE);
counted:
	/* per-VM installs: the sum of the key's counts, in user space */
	if (capture)
		emit(KVMMT_EV_INSTALL, tgid, gfn, (spte & SPTE_PFN_MASK) >> 12,
		     spte, slot, level, key.attr, 0);
}

/* ---- memslots as first seen, and why mappings are dropped */

#define PF_KTHREAD	0x00200000

/* A VMM process's command name, once per process (capture only). */
static __always_inline void note_vm(__u32 tgid)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	__u64 comm[2] = {};
	__u8 one = 1;

	if (bpf_map_lookup_elem(&vm_seen, &tgid))
		return;
	bpf_map_update_elem(&vm_seen, &tgid, &one, BPF_ANY);
	BPF_CORE_READ_STR_INTO(&comm, task, group_leader, comm);
	emit(KVMMT_EV_VM, tgid, comm[0], comm[1], 0, KVMMT_SLOT_UNKNOWN, 0, 0, 0);
}

/*
 * Adds a vm_slots key to @ix, its process's index. A free cell is taken
 * by compare-and-swap, so that CPUs adding at once each get their own
 * cell and a key never gets two.
 */
static __always_inline void index_key(struct kvmmt_slot_index *ix, __u16 as_id,
				       __u16 id)
{
	__u64 c = ((__u64)as_id << 16 | id) + 1, v;

	for (int i = 0; i < KVMMT_SLOT_INDEX_MAX; i++) {
		v = ix->key[i];
		if (!v)
			v = __sync_val_compare_and_swap(&ix->key[i], 0, c);
		if (!v || v == c)
			return;
	}
	ix->overflow = 1;
}

/*
 * A new, empty index for process @tgid: ready if @born (it is made for the
 * process's first vm_slots key) and entries are trusted from birth, else
 * after the first walk.
 */
static __always_inline struct kvmmt_slot_index *index_make(__u32 *tgid, bool born)
{
	born = born && slots_born_ready && !slots_unindexed;
	bpf_map_update_elem(&slot_index, tgid, born ? &ready_slots : &no_slots,
			    BPF_NOEXIST);
	/* a new process with the pid of one that exited: keep its counters */
	bpf_map_delete_elem(&exited, tgid);
	return bpf_map_lookup_elem(&slot_index, tgid);
}

/* Adds a key just added to vm_slots to its process's index, made if need be. */
static __always_inline void index_slot(struct kvmmt_slot_key *k)
{
	struct kvmmt_slot_index *ix = bpf_map_lookup_elem(&slot_index, &k->tgid);

	if (!ix)
		ix = index_make(&k->tgid, true);

	if (ix)
		index_key(ix, k->as_id, k->id);
	else
		slots_unindexed = 1;
}

/*
 * Records a memslot of @tgid unless known with this geometry: in the
 * vm_slots map, and as a KVMMT_EV_SLOT event (npages 0: deleted).
 */
static __always_inline void note_slot(__u32 tgid, __u16 as_id, __u16 id,
				      __u64 base_gfn, __u64 npages, __u64 hva,
				      __u32 flags)
{
	struct kvmmt_slot_key k = { .tgid = tgid, .as_id = as_id, .id = id };
	struct kvmmt_slot_val v = {
		.base_gfn = base_gfn, .npages = npages, .hva = hva, .flags = flags,
	};
	struct kvmmt_slot_val *old = bpf_map_lookup_elem(&vm_slots, &k);

	if (old && old->base_gfn == base_gfn && old->npages == npages &&
	    old->hva == hva && old->flags == flags)
		return;
	if (npages) {
		bpf_map_update_elem(&vm_slots, &k, &v, BPF_ANY);
		index_slot(&k);
	} else
		bpf_map_delete_elem(&vm_slots, &k);
	if (capture) {
		note_vm(tgid);
		emit_aux(KVMMT_EV_SLOT, tgid, base_gfn, npages, hva, id, 0, 0,
			 as_id, flags);
	}
}

/* The same from a struct kvm_memory_slot (CO-RE reads). */
static __always_inline void note_kslot(__u32 tgid, struct kvm_memory_slot *s)
{
	__u16 as_id = 0;

	if (bpf_core_field_exists(s->as_id))
		as_id = BPF_CORE_READ(s, as_id);
	note_slot(tgid, as_id, BPF_CORE_READ(s, id), BPF_CORE_READ(s, base_gfn),
		  BPF_CORE_READ(s, npages), BPF_CORE_READ(s, userspace_addr),
		  BPF_CORE_READ(s, flags));
}

static __always_inline void set_cause(__u32 tgid, __u32 cause, bool keep)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct cause_ctx c = { .ts = bpf_ktime_get_ns(), .tgid = tgid, .cause = cause };
	struct cause_ctx *cur;

	/* a zap-all inside a memslot ioctl is the memslot's doing */
	if (keep && (cur = bpf_map_lookup_elem(&causes, &tid)) &&
	    c.ts - cur->ts < CAUSE_NS)
		return;
	bpf_map_update_elem(&causes, &tid, &c, BPF_ANY);
}

/*
 * The VM a zap belongs to and why: the current thread's cause, if one
 * began recently, names the VM (a kernel thread's invalidation names the
 * VM whose memory it touches); else the current process. 0 if filtered.
 */
static __always_inline __u32 zap_tgid(__u32 *cause)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = id, tgid = id >> 32;
	struct cause_ctx *c = bpf_map_lookup_elem(&causes, &tid);
	struct ioctl_req *q;

	*cause = KVMMT_ZAP_UNKNOWN;
	if (!c)
		return watched(tgid);
	/*
	 * Inside the memslot or attributes ioctl that set the cause, however
	 * long its zaps take (a loaded host, a large slot), the cause holds.
	 */
	q = bpf_map_lookup_elem(&ioctls, &tid);
	if ((q && q->cause && q->cause == c->cause) ||
	    bpf_ktime_get_ns() - c->ts < CAUSE_NS) {
		c->ts = bpf_ktime_get_ns();
		*cause = c->cause;
		if (c->tgid)
			tgid = c->tgid;
	}
	return watched(tgid);
}

/* Pages of guest memory invalidated: counted per VM and cause, and an event. */
static __always_inline void count_inval(__u32 tgid, __u32 cause, __u16 as_id,
					__u16 id, __u64 gfn, __u64 pages)
{
	int idx = kvmmt_inv_ctr(cause);

	if (!pages || idx < 0)
		return;
	ctr_add_n(tgid, idx, pages);
	if (capture)
		emit_aux(KVMMT_EV_INVAL, tgid, gfn, pages, 0, id, 0, 0, cause, as_id);
}

struct hva_walk {
	__u64 start, end;
	struct kvmmt_slot_index *ix;	/* the process's index: to read, or to fill */
	__u32 tgid;
	__u32 hit;		/* the range holds guest memory */
};

/* The part of memslot @k (of the walk's process) in [start, end). */
static __always_inline void slot_overlap(struct hva_walk *w,
					 struct kvmmt_slot_key *k,
					 struct kvmmt_slot_val *v)
{
	__u64 lo, hi, send;

	if (!v->npages)
		return;
	send = v->hva + (v->npages << 12);
	lo = w->start > v->hva ? w->start : v->hva;
	hi = w->end < send ? w->end : send;
	if (lo >= hi)
		return;
	count_inval(w->tgid, KVMMT_ZAP_NOTIFIER, k->as_id, k->id,
		    v->base_gfn + ((lo - v->hva) >> 12), (hi - lo + 4095) >> 12);
	w->hit = 1;
}

/*
 * bpf_for_each_map_elem callback: every memslot of vm_slots; those of the
 * walk's process are matched, and added to its index if the walk has it.
 */
static long hva_overlap(void *map, struct kvmmt_slot_key *k,
			struct kvmmt_slot_val *v, struct hva_walk *w)
{
	if (k->tgid != w->tgid)
		return 0;
	if (w->ix)
		index_key(w->ix, k->as_id, k->id);
	slot_overlap(w, k, v);
	return 0;
}

/* bpf_loop callback: the memslot of the process's index cell @i. */
static long index_overlap(__u32 i, struct hva_walk *w)
{
	struct kvmmt_slot_key k = { .tgid = w->tgid };
	struct kvmmt_slot_val *v;
	__u64 c, n = i;

	/* the register checked is the one that indexes */
	barrier_var(n);
	if (n >= KVMMT_SLOT_INDEX_MAX || !w->ix)
		return 1;
	c = w->ix->key[n];
	if (!c)
		return 1;
	k.as_id = (c - 1) >> 16;
	k.id = c - 1;
	v = bpf_map_lookup_elem(&vm_slots, &k);
	if (v)
		slot_overlap(w, &k, v);
	return 0;
}

/*
 * An MMU-notifier invalidation of host range [start, end) of the VM of
 * process @owner (0: the current process). Kernel threads (reclaim,
 * compaction) name no VM on the tracepoint: their pages count globally.
 * The VM's slots come from its index. An index made before proc_exit was
 * attached, or after a key could not be indexed, becomes ready at its
 * first walk of every slot; one with more slots than it holds walks each
 * time.
 */
static __always_inline void on_unmap_hva(__u64 start, __u64 end, __u32 owner)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct hva_walk w = { .start = start, .end = end };
	struct kvmmt_slot_index *ix;

	if (!owner) {
		if (BPF_CORE_READ(task, flags) & PF_KTHREAD) {
			gstat_add(KVMMT_G_INV_KTHREAD, (end - start + 4095) >> 12);
			return;
		}
		owner = current_tgid();
	}
	w.tgid = watched(owner);
	if (!w.tgid)
		return;
	ix = bpf_map_lookup_elem(&slot_index, &w.tgid);
	if (!ix) {
		if (slots_born_ready && !slots_unindexed)
			return;	/* no memslot of the process seen: none to match */
		ix = index_make(&w.tgid, false);
	}
	if (ix && ix->ready && !ix->overflow) {
		w.ix = ix;
		bpf_loop(KVMMT_SLOT_INDEX_MAX, index_overlap, &w, 0);
	} else {
		/* adds what it finds to the index, unless that is full */
		if (ix && !ix->overflow)
			w.ix = ix;
		gstat_inc(KVMMT_G_SLOT_WALKS);
		bpf_for_each_map_elem(&vm_slots, hva_overlap, &w, 0);
		if (w.ix)
			w.ix->ready = 1;
	}
	/* the zaps that follow are this invalidation's, if it hit guest memory */
	if (w.hit)
		set_cause(w.tgid, KVMMT_ZAP_NOTIFIER, false);
}

static __always_inline void count_zap(__u32 tgid, __u64 gfn, __u64 old_spte,
				      int level, __u32 cause)
{
	ctr_add(tgid, KVMMT_C_ZAPS);
	if (capture)
		emit(KVMMT_EV_ZAP, tgid, gfn, (old_spte & SPTE_PFN_MASK) >> 12,
		     old_spte, KVMMT_SLOT_UNKNOWN, level, 0, cause);
}

/* ---- shared handlers: one per kernel event, whatever the attach method */

/* Counts the fault; returns the stash to fill (invalidated), or NULL. */
static __always_inline struct fault_stash *on_requested(__u32 *tgid)
{
	struct fault_stash *st;
	__u32 zero = 0;

	*tgid = watched_tgid();
	if (!*tgid)
		return NULL;
	ctr_add(*tgid, KVMMT_C_REQUESTED);
	/* fexit/make_spte names the memslot itself */
	if (!tp_installs)
		return NULL;
	st = bpf_map_lookup_elem(&stash, &zero);
	if (st)
		st->valid = 0;
	return st;
}

static __always_inline void stash_slot(struct fault_stash *st, __u32 tgid,
				       __u64 gfn, __u16 id, __u64 base_gfn,
				       __u64 npages)
{
	st->tgid = tgid;
	st->slot = id;
	st->base_gfn = base_gfn;
	st->npages = npages;
	st->valid = gfn - base_gfn < npages;
}

static __always_inline __u16 stashed_slot(__u32 tgid, __u64 gfn)
{
	struct fault_stash *st;
	__u32 zero = 0;

	st = bpf_map_lookup_elem(&stash, &zero);
	if (st && st->valid && st->tgid == tgid &&
	    gfn - st->base_gfn < st->npages)
		return st->slot;
	return KVMMT_SLOT_UNKNOWN;
}

static __always_inline void on_set_spte(int level, __u64 gfn, __u64 spte)
{
	__u32 tgid;

	if (!tp_installs)
		return;
	tgid = watched_tgid();
	if (tgid)
		count_install(tgid, gfn, spte, level, stashed_slot(tgid, gfn));
}

static __always_inline void on_tdp_changed(__u64 gfn, int level, __u64 old,
					   __u64 new)
{
	bool was = spte_present(old) && spte_leaf(old, level);
	bool is = spte_present(new) && spte_leaf(new, level);
	__u32 tgid, cause;

	if (was && !spte_present(new)) {
		tgid = zap_tgid(&cause);
		if (!tgid)
			return;
		ctr_add(tgid, KVMMT_C_TDP_CHANGES);
		count_zap(tgid, gfn, old, level, cause);
		return;
	}
	tgid = watched_tgid();
	if (!tgid)
		return;
	ctr_add(tgid, KVMMT_C_TDP_CHANGES);
	if (is && tp_installs && tdp_installs &&
	    (!was || ((old ^ new) & SPTE_PFN_MASK) ||
	     kvmmt_spte_attr(fmt, old, level) != kvmmt_spte_attr(fmt, new, level)))
		count_install(tgid, gfn, new, level, stashed_slot(tgid, gfn));
}

static __always_inline void on_get_page(bool created)
{
	__u32 tgid = watched_tgid();

	if (tgid)
		ctr_add(tgid, created ? KVMMT_C_SP_CREATED : KVMMT_C_SP_REUSED);
}

static __always_inline void on_zap_page(__u64 gfn, __u32 role)
{
	__u32 cause, tgid = zap_tgid(&cause);

	if (tgid)
		count_zap(tgid, gfn, 0, role & 0xf, cause);
}

/* A fast zap of every shadow page; inside a memslot ioctl it is the memslot's. */
static __always_inline void on_zap_all(void)
{
	__u32 tgid = watched_tgid();

	if (!tgid)
		return;
	ctr_add(tgid, KVMMT_C_ZAP_ALL);
	set_cause(tgid, KVMMT_ZAP_ALL, true);
}

static __always_inline void on_simple(__u32 idx)
{
	__u32 tgid = watched_tgid();

	if (tgid)
		ctr_add(tgid, idx);
}

static __always_inline void on_nc_changed(int count, int delta)
{
	__u32 tgid = watched_tgid();

	if (!tgid)
		return;
	ctr_add(tgid, delta > 0 ? KVMMT_C_NC_REGISTER : KVMMT_C_NC_UNREGISTER);
	if (capture)
		emit(KVMMT_EV_NONCOHERENT, tgid, 0, 0, 0, KVMMT_SLOT_UNKNOWN, 0, 0,
		     count);
}

static __always_inline void on_memslot_flags(int as_id, int slot_id,
					     __u64 base_gfn, __u32 old_flags,
					     __u32 new_flags)
{
	__u32 tgid = watched_tgid();

	if (!tgid)
		return;
	ctr_add(tgid, KVMMT_C_SLOT_CHANGES);
	if (capture)
		emit(KVMMT_EV_MEMSLOT, tgid, base_gfn, old_flags, new_flags,
		     slot_id, 0, 0, as_id);
}

/*
 * ---- The SPTE value. Both install sources pass it by pointer (u64 *), and
 * the verifier lets a tracing program read through a pointer to an integer
 * only with a helper call. Since 6.2 the kfunc bpf_rdonly_cast() turns the
 * address into a typed, read-only pointer whose load the JIT makes
 * fault-safe in place: one load instead of a call. The programs that use it
 * are twins (NAME_c) of the ones that call bpf_probe_read_kernel(); the
 * loader takes the twins where the kernel's BTF has the kfunc and falls back
 * if the verifier refuses them.
 */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;

/* Any kernel struct whose first member is 64 bits wide: timespec64's tv_sec. */
struct timespec64___u64 {
	__s64 tv_sec;
} __attribute__((preserve_access_index));

static __always_inline __u64 read_u64_probe(const void *p)
{
	__u64 v = 0;

	bpf_probe_read_kernel(&v, sizeof(v), p);
	return v;
}

static __always_inline __u64 read_u64_cast(const void *p)
{
	struct timespec64___u64 *t;

	t = bpf_rdonly_cast(p, bpf_core_type_id_kernel(struct timespec64___u64));
	return t->tv_sec;
}

/* ---- FENTRY path (needs BPF trampolines) */

/*
 * make_spte(vcpu, sp, slot, pte_access, gfn, pfn, old_spte, ..., u64 *new_spte)
 * since 5.16; the kernels that attach fexit to its eleven arguments all
 * have it. sp and slot are typed: their fields are plain (BTF-checked)
 * loads, not probe reads. new_spte, a pointer to an integer, is read as
 * the section above says: read_u64_cast() in the _c twin.
 */
static __always_inline void on_make_spte(void *ctx, struct kvm_mmu_page *sp,
					 struct kvm_memory_slot *slot, gfn_t gfn,
					 u64 old, bool cast)
{
	__u64 nargs = bpf_get_func_arg_cnt(ctx), nsp = 0, spte;
	__u16 slot_id = KVMMT_SLOT_UNKNOWN;
	__u32 tgid, zero = 0;
	int level;

	if (nargs < 8 || bpf_get_func_arg(ctx, nargs - 1, &nsp) || !nsp)
		return;
	spte = cast ? read_u64_cast((void *)nsp) : read_u64_probe((void *)nsp);
	if (spte == old)
		return;
	tgid = watched_tgid();
	if (!tgid)
		return;
	level = sp->role.word & 0xf;
	if (slot) {
		struct fault_stash *st = bpf_map_lookup_elem(&stash, &zero);

		slot_id = slot->id;
		if (st && (st->slot_ptr != (__u64)slot || st->tgid != tgid)) {
			note_kslot(tgid, slot);
			st->slot_ptr = (__u64)slot;
			st->tgid = tgid;
			st->valid = 0;
		}
	}
	count_install(tgid, gfn, spte, level, slot_id);
}

#define MAKE_SPTE(name, cast)						\
	SEC("fexit/make_spte")						\
	int BPF_PROG(name, struct kvm_vcpu *vcpu, struct kvm_mmu_page *sp, \
		     struct kvm_memory_slot *slot, unsigned int pte_access, \
		     gfn_t gfn, kvm_pfn_t pfn, u64 old)			\
	{								\
		on_make_spte(ctx, sp, slot, gfn, old, cast);		\
		return 0;						\
	}

MAKE_SPTE(fexit_make_spte, false)
MAKE_SPTE(fexit_make_spte_c, true)

static __always_inline void on_noncoherent(struct kvm *kvm, __u32 idx)
{
	__u32 tgid = watched_tgid();

	if (!tgid)
		return;
	ctr_add(tgid, idx);
	if (capture)
		emit(KVMMT_EV_NONCOHERENT, tgid, 0, 0, 0, KVMMT_SLOT_UNKNOWN, 0,
		     0, BPF_CORE_READ(kvm, arch.noncoherent_dma_count.counter));
}

SEC("fexit/kvm_arch_register_noncoherent_dma")
int BPF_PROG(fexit_nc_register, struct kvm *kvm)
{
	on_noncoherent(kvm, KVMMT_C_NC_REGISTER);
	return 0;
}

SEC("fexit/kvm_arch_unregister_noncoherent_dma")
int BPF_PROG(fexit_nc_unregister, struct kvm *kvm)
{
	on_noncoherent(kvm, KVMMT_C_NC_UNREGISTER);
	return 0;
}

/*
 * ---- TP_BTF and RAW_TP paths: the same tracepoint arguments, typed or
 * not; each program exists once per path (btf_NAME, raw_NAME). With KVM
 * built as a module the verifier marks a tracepoint's pointer arguments
 * maybe-NULL, so every handler that dereferences one checks it first.
 */
#define UNPAREN(...) __VA_ARGS__
#define TP_PAIR(name, event, args, body)			\
	SEC("tp_btf/" event)					\
	int BPF_PROG(btf_##name, UNPAREN args) body		\
	SEC("raw_tp/" event)					\
	int BPF_PROG(raw_##name, UNPAREN args) body

/* Events that only bump a per-VM counter. */
#define TP_PAIR_COUNT(name, event, ctr)				\
	SEC("tp_btf/" event)					\
	int BPF_PROG(btf_##name) { on_simple(ctr); return 0; }	\
	SEC("raw_tp/" event)					\
	int BPF_PROG(raw_##name) { on_simple(ctr); return 0; }

TP_PAIR(set_spte, "kvm_mmu_set_spte", (int level, gfn_t gfn, u64 *sptep),
	{ on_set_spte(level, gfn, read_u64_probe(sptep)); return 0; })

SEC("tp_btf/kvm_mmu_set_spte")
int BPF_PROG(btf_set_spte_c, int level, gfn_t gfn, u64 *sptep)
{
	if (sptep)
		on_set_spte(level, gfn, read_u64_cast(sptep));
	return 0;
}

/*
 * The fault and its memslot: plain (BTF-checked) loads on tp_btf, CO-RE
 * probe reads on raw_tp.
 */
#define PLAIN_READ(p, field)	((p)->field)
#define SPTE_REQUESTED(sec, name, READ)					\
	SEC(sec)							\
	int BPF_PROG(name, struct kvm_page_fault *fault)		\
	{								\
		struct fault_stash *st;					\
		struct kvm_memory_slot *s;				\
		__u32 tgid;						\
									\
		if (!fault)	/* maybe-NULL: KVM as a module */	\
			return 0;					\
		st = on_requested(&tgid);				\
		if (!st)						\
			return 0;					\
		s = READ(fault, slot);					\
		if (!s)							\
			return 0;					\
		if (st->slot_ptr != (__u64)s || st->tgid != tgid)	\
			note_kslot(tgid, s);				\
		st->slot_ptr = (__u64)s;				\
		stash_slot(st, tgid, READ(fault, gfn), READ(s, id),	\
			   READ(s, base_gfn), READ(s, npages));		\
		return 0;						\
	}

SPTE_REQUESTED("tp_btf/kvm_mmu_spte_requested", btf_spte_requested, PLAIN_READ)
SPTE_REQUESTED("raw_tp/kvm_mmu_spte_requested", raw_spte_requested, BPF_CORE_READ)

TP_PAIR(tdp_changed, "kvm_tdp_mmu_spte_changed",
	(int as_id, gfn_t gfn, int level, u64 old, u64 new),
	{ on_tdp_changed(gfn, level, old, new); return 0; })

TP_PAIR(get_page, "kvm_mmu_get_page", (struct kvm_mmu_page *sp, bool created),
	{ on_get_page(created); return 0; })

TP_PAIR(zap_page, "kvm_mmu_prepare_zap_page", (struct kvm_mmu_page *sp),
	{ if (sp) on_zap_page(BPF_CORE_READ(sp, gfn), BPF_CORE_READ(sp, role.word)); return 0; })

TP_PAIR_COUNT(fast_pf, "fast_page_fault", KVMMT_C_FAST_PF)
TP_PAIR_COUNT(sync_page, "kvm_mmu_sync_page", KVMMT_C_SYNC)
TP_PAIR_COUNT(unsync_page, "kvm_mmu_unsync_page", KVMMT_C_UNSYNC)
TP_PAIR_COUNT(split, "kvm_mmu_split_huge_page", KVMMT_C_SPLITS)
TP_PAIR(zap_all, "kvm_mmu_zap_all_fast", (struct kvm *kvm),
	{ on_zap_all(); return 0; })

TP_PAIR(unmap_hva, "kvm_unmap_hva_range", (unsigned long start, unsigned long end),
	{ on_unmap_hva(start, end, 0); return 0; })

/* kvmmt's kernel series (kernel/patches) */
TP_PAIR_COUNT(memtype, "kvm_mmu_memtype", KVMMT_C_MEMTYPE)

TP_PAIR(nc, "kvm_noncoherent_dma", (struct kvm *kvm, int count, int delta),
	{ on_nc_changed(count, delta); return 0; })

TP_PAIR(memslot, "kvm_memslot_flags",
	(struct kvm *kvm, int as_id, int slot_id, u64 base_gfn, u64 npages,
	 u32 old_flags, u32 new_flags),
	{ on_memslot_flags(as_id, slot_id, base_gfn, old_flags, new_flags); return 0; })

/*
 * ---- TP path: perf tracepoints; the record has no memslot. The record is
 * the program's context: plain loads, CO-RE-relocated field offsets.
 */

SEC("tp/kvmmmu/kvm_mmu_set_spte")
int tp_set_spte(struct trace_event_raw_kvm_mmu_set_spte *r)
{
	on_set_spte(r->level, r->gfn,
		    r->spte);
	return 0;
}

SEC("tp/kvmmmu/kvm_mmu_spte_requested")
int tp_spte_requested(struct trace_event_raw_kvm_mmu_spte_requested *r)
{
	__u32 tgid;

	on_requested(&tgid);
	return 0;
}

SEC("tp/kvmmmu/kvm_tdp_mmu_spte_changed")
int tp_tdp_changed(struct trace_event_raw_kvm_tdp_mmu_spte_changed *r)
{
	on_tdp_changed(r->gfn, r->level,
		       r->old_spte, r->new_spte);
	return 0;
}

SEC("tp/kvmmmu/kvm_mmu_get_page")
int tp_get_page(struct trace_event_raw_kvm_mmu_get_page *r)
{
	on_get_page(r->created);
	return 0;
}

SEC("tp/kvmmmu/kvm_mmu_prepare_zap_page")
int tp_zap_page(struct trace_event_raw_kvm_mmu_page_class *r)
{
	on_zap_page(r->gfn, r->role);
	return 0;
}

/* Perf tracepoints that only bump a per-VM counter. */
#define TP_COUNT(name, sys, event, ctr)				\
	SEC("tp/" sys "/" event)				\
	int tp_##name(void *r) { on_simple(ctr); return 0; }

TP_COUNT(fast_pf, "kvmmmu", "fast_page_fault", KVMMT_C_FAST_PF)
TP_COUNT(sync_page, "kvmmmu", "kvm_mmu_sync_page", KVMMT_C_SYNC)
TP_COUNT(unsync_page, "kvmmmu", "kvm_mmu_unsync_page", KVMMT_C_UNSYNC)
TP_COUNT(split, "kvmmmu", "kvm_mmu_split_huge_page", KVMMT_C_SPLITS)
TP_COUNT(memtype, "kvmmmu", "kvm_mmu_memtype", KVMMT_C_MEMTYPE)

SEC("tp/kvmmmu/kvm_mmu_zap_all_fast")
int tp_zap_all(void *r)
{
	on_zap_all();
	return 0;
}

SEC("tp/kvm/kvm_unmap_hva_range")
int tp_unmap_hva(struct trace_event_raw_kvm_unmap_hva_range *r)
{
	on_unmap_hva(r->start, r->end, 0);
	return 0;
}

SEC("tp/kvm/kvm_noncoherent_dma")
int tp_nc(struct trace_event_raw_kvm_noncoherent_dma *r)
{
	on_nc_changed(r->count, r->delta);
	return 0;
}

SEC("tp/kvm/kvm_memslot_flags")
int tp_memslot(struct trace_event_raw_kvm_memslot_flags *r)
{
	on_memslot_flags(r->as_id, r->slot_id,
			 r->base_gfn, r->old_flags,
			 r->new_flags);
	return 0;
}

/*
 * ---- on every path: memslot and attributes ioctls (the syscall
 * tracepoints; their records are tracefs ABI, laid out here), and where
 * BPF trampolines work, the MMU notifier itself (it names the VM).
 */
struct sys_enter_ioctl_rec {
	__u64 common;
	__s32 nr;
	__u32 pad;
	__u64 fd;
	__u64 cmd;
	__u64 arg;
};

struct sys_exit_rec {
	__u64 common;
	__s32 nr;
	__u32 pad;
	__s64 ret;
};

#define KVM_SET_USER_MEMORY_REGION	0x4020ae46
#define KVM_SET_USER_MEMORY_REGION2	0x40a0ae49
#define KVM_SET_MEMORY_ATTRIBUTES	0x4020aed2

/* The common head of struct kvm_userspace_memory_region(2). */
struct uregion {
	__u32 slot;
	__u32 flags;
	__u64 gpa;
	__u64 size;
	__u64 hva;
};

struct uattrs {
	__u64 address;
	__u64 size;
	__u64 attributes;
	__u64 flags;
};

SEC("tp/syscalls/sys_enter_ioctl")
int sys_enter_ioctl(struct sys_enter_ioctl_rec *r)
{
	__u32 cmd = r->cmd, tid = (__u32)bpf_get_current_pid_tgid(), tgid;
	struct kvmmt_slot_key k = {};
	struct kvmmt_slot_val *old;
	struct ioctl_req q = {};
	struct uregion u;
	struct uattrs a;

	if (cmd != KVM_SET_USER_MEMORY_REGION && cmd != KVM_SET_USER_MEMORY_REGION2 &&
	    cmd != KVM_SET_MEMORY_ATTRIBUTES)
		return 0;
	tgid = watched_tgid();
	if (!tgid)
		return 0;
	q.cmd = cmd;
	if (cmd == KVM_SET_MEMORY_ATTRIBUTES) {
		if (bpf_probe_read_user(&a, sizeof(a), (void *)r->arg))
			return 0;
		q.gpa = a.address;
		q.size = a.size;
		q.cause = KVMMT_ZAP_ATTRIBUTES;
	} else {
		if (bpf_probe_read_user(&u, sizeof(u), (void *)r->arg))
			return 0;
		q.slot = u.slot;
		q.flags = u.flags;
		q.gpa = u.gpa;
		q.size = u.size;
		q.hva = u.hva;
		k.tgid = tgid;
		k.as_id = u.slot >> 16;
		k.id = u.slot;
		old = bpf_map_lookup_elem(&vm_slots, &k);
		if (old) {
			q.old = *old;
			q.known = 1;
		}
		if (!u.size)
			q.cause = KVMMT_ZAP_MEMSLOT;
		else if (old && old->base_gfn != u.gpa >> 12)
			q.cause = KVMMT_ZAP_MEMSLOT;
		else if (old && old->flags != u.flags)
			q.cause = KVMMT_ZAP_SLOT_FLAGS;
	}
	if (q.cause)
		set_cause(tgid, q.cause, false);
	bpf_map_update_elem(&ioctls, &tid, &q, BPF_ANY);
	return 0;
}

SEC("tp/syscalls/sys_exit_ioctl")
int sys_exit_ioctl(struct sys_exit_rec *r)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = id, tgid = id >> 32;
	struct ioctl_req *q = bpf_map_lookup_elem(&ioctls, &tid);
	__u16 as_id, slot_id;

	if (!q)
		return 0;
	if (q->cause)
		bpf_map_delete_elem(&causes, &tid);
	as_id = q->slot >> 16;
	slot_id = q->slot;
	if (r->ret)
		;	/* refused: nothing changed */
	else if (q->cmd == KVM_SET_MEMORY_ATTRIBUTES)
		count_inval(tgid, KVMMT_ZAP_ATTRIBUTES, 0, KVMMT_SLOT_UNKNOWN,
			    q->gpa >> 12, q->size >> 12);
	else {
		if (q->cause && q->known)
			count_inval(tgid, q->cause, as_id, slot_id, q->old.base_gfn,
				    q->old.npages);
		note_slot(tgid, as_id, slot_id, q->gpa >> 12, q->size >> 12, q->hva,
			  q->flags);
	}
	bpf_map_delete_elem(&ioctls, &tid);
	return 0;
}


/*
 * A process's last thread exits (signal->live is already counted down):
 * its slot index goes with it, so that the map holds live processes only
 * and a later process with its pid starts a new one; a VMM's exit is
 * recorded in exited.
 */
SEC("tp/sched/sched_process_exit")
int proc_exit(void *ctx)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	__u64 now;
	__u32 tgid;

	if (BPF_CORE_READ(task, signal, live.counter))
		return 0;
	tgid = current_tgid();
	if (bpf_map_lookup_elem(&slot_index, &tgid) || bpf_map_lookup_elem(&vm_ctrs, &tgid)) {
		now = bpf_ktime_get_ns();
		bpf_map_update_elem(&exited, &tgid, &now, BPF_ANY);
	}
	bpf_map_delete_elem(&slot_index, &tgid);
	return 0;
}

/*
 * Run by user space (BPF_PROG_TEST_RUN) for an exited VMM whose counters
 * it has released from the hash maps: frees the per-CPU fast entries the
 * process owned on every CPU, so that later processes get them. Nothing
 * else writes an entry a dead process owns.
 */
static long release_vm_fast(__u32 cpu, struct kvmmt_release_args *a)
{
	__u32 k = a->tgid & (KVMMT_VM_FAST - 1);
	struct kvmmt_vm_fast *f = bpf_map_lookup_percpu_elem(&vm_fast, &k, cpu);

	if (f && f->tgid == a->tgid) {
		__builtin_memset(&f->c, 0, sizeof(f->c));
		f->tgid = 0;
	}
	return 0;
}

static long release_inst_fast(__u32 i, struct kvmmt_release_args *a)
{
	__u32 k = i % KVMMT_INST_FAST, cpu = i / KVMMT_INST_FAST;
	struct kvmmt_inst_fast *f = bpf_map_lookup_percpu_elem(&inst_fast, &k, cpu);

	if (f && f->key.tgid == a->tgid) {
		f->count = 0;
		__builtin_memset(&f->key, 0, sizeof(f->key));
	}
	return 0;
}

SEC("syscall")
int release_fast(struct kvmmt_release_args *a)
{
	struct kvmmt_release_args r = { .tgid = a->tgid, .ncpu = a->ncpu };

	if (!r.tgid || r.ncpu > 4096)
		return -1;
	bpf_loop(r.ncpu, release_vm_fast, &r, 0);
	bpf_loop(r.ncpu * KVMMT_INST_FAST, release_inst_fast, &r, 0);
	return 0;
}

/*
 * The MMU notifier's own entry: it names the VM (container of the
 * notifier), so reclaim by kernel threads counts for the VM it hits.
 * Replaces kvm_unmap_hva_range where it attaches.
 */
/*
 * The VMM process of a struct kvm: the iterator's record of its holder,
 * else the process that created it, else the current one.
 */
static __always_inline __u32 kvm_tgid(struct kvm *kvm)
{
	__u64 kvm_id = (__u64)kvm;
	__u32 *owner = bpf_map_lookup_elem(&kvm_owner, &kvm_id);
	int pid = 0;

	if (owner)
		return *owner;
	if (bpf_core_field_exists(kvm->userspace_pid))
		pid = BPF_CORE_READ(kvm, userspace_pid);
	return pid > 0 ? pid : current_tgid();
}

SEC("fentry/kvm_mmu_notifier_invalidate_range_start")
int BPF_PROG(fentry_inval_start, struct mmu_notifier *mn,
	     const struct mmu_notifier_range *range)
{
	struct kvm *kvm = (void *)mn - bpf_core_field_offset(struct kvm, mmu_notifier);

	on_unmap_hva(BPF_CORE_READ(range, start), BPF_CORE_READ(range, end),
		     kvm_tgid(kvm));
	return 0;
}

/*
 * ---- host-side mappings of guest memory (fentry only): gfn-to-pfn caches
 * (the host kernel's own write-back mapping of a guest page: kvmclock,
 * Xen shared info, ...) and kvm-vfio files. Signatures differ between
 * kernels (6.1 passes the kvm first), so arguments are read by position.
 */
struct gpc_info {
	__u64 kvm;
	__u64 uhva;
	__u64 pfn;
	__u32 tgid;
	__u32 ram;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct gpc_info);
} gpcs SEC(".maps");

/*
 * Per thread inside a cache activation or refresh: bit 0 set on entry,
 * bit 1 when it memremap()s (a pfn without a struct page: not RAM; RAM
 * is kmap()ed, which leaves no trace on 64-bit).
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u32);
} gpc_maps SEC(".maps");

/*
 * The caches of each VM (struct kvm * -> gpcs keys), so that an MMU-notifier
 * invalidation looks at its own VM's few caches instead of every bucket of
 * gpcs. Cells are cleared on deactivation; the entry goes with the VM.
 */
#define GPC_INDEX_MAX	128
#define MAP_NO_PREALLOC	1	/* BPF_F_NO_PREALLOC: entries made as VMs come */

struct gpc_index {
	__u64 key[GPC_INDEX_MAX];	/* gpcs keys; 0: free */
	__u32 overflow;			/* more caches than cells: walk gpcs */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__uint(map_flags, MAP_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct gpc_index);
} gpc_index SEC(".maps");

static const struct gpc_index no_gpcs;

/* Set for good once a VM's index could not be made: every invalidation walks. */
__u32 gpc_unindexed;

/* Adds cache @key to the index of VM @kvm (once: a cache is never in two cells). */
static __always_inline void gpc_index_add(__u64 kvm, __u64 key)
{
	struct gpc_index *ix = bpf_map_lookup_elem(&gpc_index, &kvm);
	int i;

	if (!ix) {
		bpf_map_update_elem(&gpc_index, &kvm, &no_gpcs, BPF_NOEXIST);
		ix = bpf_map_lookup_elem(&gpc_index, &kvm);
		if (!ix) {
			gpc_unindexed = 1;
			return;
		}
	}
	for (i = 0; i < GPC_INDEX_MAX; i++)
		if (ix->key[i] == key)
			return;
	/* one cache's activations and refreshes are serialized (its refresh_lock) */
	for (i = 0; i < GPC_INDEX_MAX; i++)
		if (!ix->key[i] && !__sync_val_compare_and_swap(&ix->key[i], 0, key))
			return;
	ix->overflow = 1;
}

static __always_inline void gpc_index_del(__u64 kvm, __u64 key)
{
	struct gpc_index *ix = bpf_map_lookup_elem(&gpc_index, &kvm);

	if (!ix)
		return;
	for (int i = 0; i < GPC_INDEX_MAX; i++)
		if (ix->key[i] == key)
			__sync_val_compare_and_swap(&ix->key[i], key, 0);
}

static __always_inline void gpc_enter(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid(), in = 1;

	bpf_map_update_elem(&gpc_maps, &tid, &in, BPF_ANY);
}

static __always_inline struct kvm *gpc_kvm(struct gfn_to_pfn_cache *gpc, __u64 kvm_arg)
{
	if (bpf_core_field_exists(gpc->kvm))
		return BPF_CORE_READ(gpc, kvm);
	return (struct kvm *)kvm_arg;
}

static __always_inline void on_gpc_mapped(struct gfn_to_pfn_cache *gpc,
					  __u64 kvm_arg, long ret, __u32 op)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid(), *st, remapped = 0, tgid, aux;
	struct kvm *kvm = gpc_kvm(gpc, kvm_arg);
	__u64 key = (__u64)gpc, gpa, pfn, uhva;
	struct gpc_info info = {}, *old;

	st = bpf_map_lookup_elem(&gpc_maps, &tid);
	if (st)
		remapped = *st & 2;
	bpf_map_delete_elem(&gpc_maps, &tid);
	tgid = watched(kvm_tgid(kvm));
	if (!tgid)
		return;
	ctr_add(tgid, op == KVMMT_HM_GPC_ACTIVATE ? KVMMT_C_GPC_ACTIVATE : KVMMT_C_GPC_REFRESH);
	gpa = BPF_CORE_READ(gpc, gpa);
	pfn = BPF_CORE_READ(gpc, pfn);
	uhva = BPF_CORE_READ(gpc, uhva);
	info.ram = !remapped;
	/* the same pfn is not mapped again: it keeps what it was */
	old = bpf_map_lookup_elem(&gpcs, &key);
	if (old && !remapped && old->pfn == pfn)
		info.ram = old->ram;
	aux = (ret ? 0 : KVMMT_HM_OK) | (info.ram ? KVMMT_HM_RAM : 0) |
	      (BPF_CORE_READ(gpc, valid) ? KVMMT_HM_VALID : 0);
	if (!ret) {
		info.kvm = (__u64)kvm;
		info.uhva = uhva;
		info.pfn = pfn;
		info.tgid = tgid;
		bpf_map_update_elem(&gpcs, &key, &info, BPF_ANY);
		gpc_index_add(info.kvm, key);
	}
	if (capture)
		emit_aux(KVMMT_EV_HOSTMAP, tgid, gpa >> 12, pfn, uhva,
			 KVMMT_SLOT_UNKNOWN, 0, 0, op, aux);
}

SEC("fentry/memremap")
int BPF_PROG(fentry_memremap)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid(), *st;

	st = bpf_map_lookup_elem(&gpc_maps, &tid);
	if (st)
		*st |= 2;
	return 0;
}

/* 6.12: (gpc, gpa, len); 6.1: (kvm, gpc, vcpu, usage, gpa, len) */
SEC("fentry/kvm_gpc_activate")
int BPF_PROG(fentry_gpc_activate)
{
	gpc_enter();
	return 0;
}

SEC("fexit/kvm_gpc_activate")
int BPF_PROG(fexit_gpc_activate)
{
	__u64 n = bpf_get_func_arg_cnt(ctx), a0 = 0, a1 = 0, ret = 0;

	bpf_get_func_arg(ctx, 0, &a0);
	bpf_get_func_arg(ctx, 1, &a1);
	bpf_get_func_ret(ctx, &ret);
	if (n == 3)
		on_gpc_mapped((void *)a0, 0, (long)ret, KVMMT_HM_GPC_ACTIVATE);
	else
		on_gpc_mapped((void *)a1, a0, (long)ret, KVMMT_HM_GPC_ACTIVATE);
	return 0;
}

/* 6.12: kvm_gpc_refresh(gpc, len) */
SEC("fentry/kvm_gpc_refresh")
int BPF_PROG(fentry_gpc_refresh)
{
	gpc_enter();
	return 0;
}

SEC("fexit/kvm_gpc_refresh")
int BPF_PROG(fexit_gpc_refresh, struct gfn_to_pfn_cache *gpc, unsigned long len, int ret)
{
	on_gpc_mapped(gpc, 0, ret, KVMMT_HM_GPC_REFRESH);
	return 0;
}

/* 6.1: kvm_gfn_to_pfn_cache_refresh(kvm, gpc, gpa, len) */
SEC("fentry/kvm_gfn_to_pfn_cache_refresh")
int BPF_PROG(fentry_gpc_refresh_old)
{
	gpc_enter();
	return 0;
}

SEC("fexit/kvm_gfn_to_pfn_cache_refresh")
int BPF_PROG(fexit_gpc_refresh_old, struct kvm *kvm, struct gfn_to_pfn_cache *gpc,
	     u64 gpa, unsigned long len, int ret)
{
	on_gpc_mapped(gpc, (__u64)kvm, ret, KVMMT_HM_GPC_REFRESH);
	return 0;
}

/* 6.12: (gpc); 6.1: (kvm, gpc) */
SEC("fentry/kvm_gpc_deactivate")
int BPF_PROG(fentry_gpc_deactivate)
{
	__u64 n = bpf_get_func_arg_cnt(ctx), a0 = 0, a1 = 0, key;
	struct gfn_to_pfn_cache *gpc;
	struct kvm *kvm;
	__u32 tgid;

	bpf_get_func_arg(ctx, 0, &a0);
	bpf_get_func_arg(ctx, 1, &a1);
	gpc = (void *)(n == 1 ? a0 : a1);
	key = (__u64)gpc;
	/* KVM deactivates idle caches too (every vCPU reset): no mapping goes */
	if (!BPF_CORE_READ(gpc, active))
		return 0;
	kvm = gpc_kvm(gpc, n == 1 ? 0 : a0);
	tgid = watched(kvm_tgid(kvm));
	if (!tgid)
		return 0;
	ctr_add(tgid, KVMMT_C_GPC_DEACTIVATE);
	if (capture)
		emit_aux(KVMMT_EV_HOSTMAP, tgid, BPF_CORE_READ(gpc, gpa) >> 12,
			 BPF_CORE_READ(gpc, pfn), BPF_CORE_READ(gpc, uhva),
			 KVMMT_SLOT_UNKNOWN, 0, 0, KVMMT_HM_GPC_DEACTIVATE, KVMMT_HM_OK);
	bpf_map_delete_elem(&gpcs, &key);
	gpc_index_del((__u64)kvm, key);
	return 0;
}

struct gpc_walk {
	__u64 kvm, start, end;
	struct gpc_index *ix;
};

/* bpf_for_each_map_elem callback: a cache of this VM whose page is in range. */
static long gpc_hit(void *map, __u64 *key, struct gpc_info *g, struct gpc_walk *w)
{
	if (g->kvm != w->kvm || g->uhva < w->start || g->uhva >= w->end)
		return 0;
	if (!watched(g->tgid))
		return 0;
	ctr_add(g->tgid, KVMMT_C_GPC_INVALIDATE);
	if (capture)
		emit_aux(KVMMT_EV_HOSTMAP, g->tgid, 0, g->pfn, g->uhva,
			 KVMMT_SLOT_UNKNOWN, 0, 0, KVMMT_HM_GPC_INVALIDATE,
			 KVMMT_HM_OK | (g->ram ? KVMMT_HM_RAM : 0));
	return 0;
}

/* bpf_loop callback: the cache in cell @i of the VM's index, if any. */
static long gpc_cell(__u32 i, struct gpc_walk *w)
{
	struct gpc_info *g;
	__u64 n = i, key;

	/* the register checked is the one that indexes */
	barrier_var(n);
	if (n >= GPC_INDEX_MAX || !w->ix)
		return 1;
	key = w->ix->key[n];
	if (key && (g = bpf_map_lookup_elem(&gpcs, &key)))
		gpc_hit(&gpcs, &key, g, w);
	return 0;
}

/* (kvm, start, end[, may_block]): from the MMU notifier, for every VM range */
SEC("fentry/gfn_to_pfn_cache_invalidate_start")
int BPF_PROG(fentry_gpc_invalidate, struct kvm *kvm, unsigned long start,
	     unsigned long end)
{
	struct gpc_walk w = { .kvm = (__u64)kvm, .start = start, .end = end };

	if (!gpc_unindexed) {
		w.ix = bpf_map_lookup_elem(&gpc_index, &w.kvm);
		if (!w.ix)
			return 0;	/* no cache of this VM was mapped */
		if (!w.ix->overflow) {
			bpf_loop(GPC_INDEX_MAX, gpc_cell, &w, 0);
			return 0;
		}
	}
	bpf_for_each_map_elem(&gpcs, gpc_hit, &w, 0);
	return 0;
}

/*
 * A VM goes: its cache index, and its holder, which a VM allocated at the
 * same address must not inherit.
 */
SEC("fentry/kvm_arch_destroy_vm")
int BPF_PROG(fentry_destroy_vm, struct kvm *kvm)
{
	__u64 kvm_id = (__u64)kvm;

	bpf_map_delete_elem(&gpc_index, &kvm_id);
	bpf_map_delete_elem(&kvm_owner, &kvm_id);
	return 0;
}

#define KVM_DEV_VFIO_FILE	1

SEC("fexit/kvm_vfio_set_attr")
int BPF_PROG(fexit_vfio_set_attr, struct kvm_device *dev,
	     struct kvm_device_attr *attr, int ret)
{
	__u64 op = BPF_CORE_READ(attr, attr);
	__u32 tgid;

	if (BPF_CORE_READ(attr, group) != KVM_DEV_VFIO_FILE || (op != 1 && op != 2))
		return 0;
	tgid = watched(kvm_tgid(BPF_CORE_READ(dev, kvm)));
	if (!tgid)
		return 0;
	ctr_add(tgid, op == 1 ? KVMMT_C_VFIO_ADD : KVMMT_C_VFIO_DEL);
	if (capture)
		emit_aux(KVMMT_EV_HOSTMAP, tgid, 0, 0, 0, KVMMT_SLOT_UNKNOWN, 0, 0,
			 op == 1 ? KVMMT_HM_VFIO_ADD : KVMMT_HM_VFIO_DEL,
			 ret ? 0 : KVMMT_HM_OK);
	return 0;
}

/* ---- iterator: VMs (kvm-vm files of group leaders) and their memslots */

/*
 * KVM's file operations for VM files (kvm_vm_fops), learnt from the first
 * file found by its name; 0 until then.
 */
__u64 kvm_vm_fops;

/*
 * The iterator visits every open file on the host. Once kvm_vm_fops is
 * known, a VM's file is the one whose f_op it is: a field of the struct
 * file the iterator has just taken a reference on. Until then by its
 * dentry's name "kvm-vm" (each file's dentry is a cache miss): the dentry
 * and the name's length are plain (BTF) loads, so only files with a 6-byte
 * name cost a helper call.
 */
static __always_inline bool is_kvm_vm_file(struct file *file)
{
	__u64 op = (__u64)file->f_op;
	struct dentry *d;
	char name[8] = {};

	if (kvm_vm_fops)
		return op == kvm_vm_fops;
	d = file->f_path.dentry;
	if (!d || d->d_name.len != 6)
		return false;
	if (bpf_probe_read_kernel_str(name, sizeof(name), d->d_name.name) != 7)
		return false;
	if (name[0] != 'k' || name[1] != 'v' || name[2] != 'm' ||
	    name[3] != '-' || name[4] != 'v' || name[5] != 'm')
		return false;
	kvm_vm_fops = op;
	return true;
}

static __always_inline void fill_slot(struct kvmmt_slot_rec *r, __u64 kvm_id,
				      struct kvm_memory_slot *s, int as)
{
	r->kind = KVMMT_REC_SLOT;
	r->id = BPF_CORE_READ(s, id);
	r->as_id = bpf_core_field_exists(s->as_id) ? BPF_CORE_READ(s, as_id) : as;
	r->flags = BPF_CORE_READ(s, flags);
	r->pad = 0;
	r->kvm_id = kvm_id;
	r->base_gfn = BPF_CORE_READ(s, base_gfn);
	r->npages = BPF_CORE_READ(s, npages);
	r->userspace_addr = BPF_CORE_READ(s, userspace_addr);
}

#define MAX_AS		2
#define MAX_CHAIN	8

struct walk_ctx {
	struct kvm_memslots *ms;
	struct hlist_node *node;	/* next slot of the current bucket */
	__u64 kvm_id;
	unsigned long hash_off;
	unsigned long node_off;
	__u32 nbuckets;
	__u32 b;			/* next bucket */
	int idx;
	int as;
	int n;
	__u32 valid;
};

/*
 * The walk's state lives in a map, not on the stack: verifiers before 6.7
 * check a bpf_loop callback once, with the caller's stack as it is at the
 * call (node NULL, bucket 0), and remove the branches that state cannot
 * take as dead code; values in a map are unknown to them.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct walk_ctx);
} walk SEC(".maps");

/*
 * One step of the id_hash walk (a bpf_loop callback): records the current
 * slot, or moves to the next bucket's first slot. Straight-line code, so
 * the verifier checks it once, whatever the number of buckets and slots.
 */
static long walk_step(__u32 i, void *data)
{
	struct kvmmt_slot_rec *r;
	struct hlist_node *node;
	struct walk_ctx *w;
	__u32 zero = 0, key;

	w = bpf_map_lookup_elem(&walk, &zero);
	if (!w)
		return 1;
	node = w->node;
	key = w->n;
	if (!node) {
		if (w->b >= w->nbuckets)
			return 1;
		bpf_probe_read_kernel(&w->node, sizeof(w->node),
				      (void *)w->ms + w->hash_off + w->b * 8);
		w->b++;
		return 0;
	}
	r = bpf_map_lookup_elem(&scratch, &key);
	if (!r) {
		w->valid |= KVMMT_VF_TRUNCATED;
		return 1;
	}
	fill_slot(r, w->kvm_id, (void *)node - w->node_off -
		  w->idx * sizeof(struct hlist_node), w->as);
	w->n++;
	w->node = BPF_CORE_READ(node, next);
	return 0;
}

/*
 * Kernels before 5.17 keep a sorted array. A separate subprogram, so its
 * relocations (which fail on newer kernels) stay out of reachable code.
 */
static __noinline int walk_array(int n, struct kvm_memslots___old *ms,
				 __u64 kvm_id, int as)
{
	int used = BPF_CORE_READ(ms, used_slots);

	for (int i = 0; i < KVMMT_ITER_MAX_SLOTS; i++) {
		struct kvm_memory_slot___old *s = &ms->memslots[i];
		struct kvmmt_slot_rec *r;
		__u32 key = n;

		if (i >= used)
			break;
		r = bpf_map_lookup_elem(&scratch, &key);
		if (!r)
			break;
		r->kind = KVMMT_REC_SLOT;
		r->id = BPF_CORE_READ(s, id);
		r->as_id = as;
		r->flags = BPF_CORE_READ(s, flags);
		r->pad = 0;
		r->kvm_id = kvm_id;
		r->base_gfn = BPF_CORE_READ(s, base_gfn);
		r->npages = BPF_CORE_READ(s, npages);
		r->userspace_addr = BPF_CORE_READ(s, userspace_addr);
		n++;
	}
	return n;
}

/*
 * Writes slot record @i (a bpf_loop callback: a plain loop whose counter
 * lives on the stack fails "infinite loop" detection on 6.12 verifiers).
 */
struct write_ctx {
	struct seq_file *seq;
	__u32 tgid;
};

/* Also tells the event handlers about the slot (vm_slots), silently. */
static long write_slot(__u32 i, void *data)
{
	struct kvmmt_slot_rec *r = bpf_map_lookup_elem(&scratch, &i);
	struct write_ctx *w = data;
	struct kvmmt_slot_key k = { .tgid = w->tgid };
	struct kvmmt_slot_val v = {};

	if (!r)
		return 0;
	bpf_seq_write(w->seq, r, sizeof(*r));
	k.as_id = r->as_id;
	k.id = r->id;
	v.base_gfn = r->base_gfn;
	v.npages = r->npages;
	v.hva = r->userspace_addr;
	v.flags = r->flags;
	bpf_map_update_elem(&vm_slots, &k, &v, BPF_ANY);
	index_slot(&k);
	return 0;
}

/*
 * What user space holds of each VM's memslots (struct kvmmt_vm_known):
 * only user space writes it, after it has read a whole walk.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct kvmmt_vm_known);
} vm_known SEC(".maps");

/* KVM sets it in a generation while that generation's memslots change. */
#define SLOTS_GEN_UPDATING	(1ULL << 63)

/*
 * The sum of @kvm's memslot generations, which grows with every memslot
 * change, or SLOTS_GEN_UPDATING while one is under way (or if the kernel
 * keeps no generation).
 */
static __always_inline __u64 slots_gen(struct kvm *kvm, unsigned long ms_off,
				       int nas)
{
	__u64 sum = 0, gen;

	if (!bpf_core_field_exists(struct kvm_memslots, generation))
		return SLOTS_GEN_UPDATING;
	for (int as = 0; as < MAX_AS; as++) {
		struct kvm_memslots *ms = NULL;

		if (as >= nas)
			break;
		bpf_probe_read_kernel(&ms, sizeof(ms), (void *)kvm + ms_off + as * 8);
		if (!ms)
			continue;
		gen = BPF_CORE_READ(ms, generation);
		if (gen & SLOTS_GEN_UPDATING)
			return SLOTS_GEN_UPDATING;
		sum += gen;
	}
	return sum & ~SLOTS_GEN_UPDATING;
}

/* @task's mm write-lock sequence into @vm, where the kernel has one. */
static __always_inline void mm_seq(struct task_struct *task, struct kvmmt_vm_rec *vm)
{
	struct mm_struct *mm = task->mm;
	unsigned long off;

	if (bpf_core_field_exists(struct mm_struct___int, mm_lock_seq))
		off = bpf_core_field_offset(struct mm_struct___int, mm_lock_seq);
	else if (bpf_core_field_exists(struct mm_struct___seqcount, mm_lock_seq))
		off = bpf_core_field_offset(struct mm_struct___seqcount, mm_lock_seq);
	else
		return;
	if (mm && !bpf_probe_read_kernel(&vm->mm_seq, sizeof(vm->mm_seq), (void *)mm + off))
		vm->valid |= KVMMT_VF_MM_SEQ;
}

SEC("iter/task_file")
int kvmmt_vms(struct bpf_iter__task_file *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	unsigned long ms_off = bpf_core_field_offset(struct kvm, memslots);
	int nas = bpf_core_field_size(struct kvm, memslots) / 8;
	struct kvmmt_vm_rec vm = {};
	struct kvmmt_vm_known *known;
	__u32 *owner;
	struct write_ctx wr;
	struct kvm *kvm;
	__u32 zero = 0;
	int n = 0;

	if (!task || !file)
		return 0;
	if (task->pid != task->tgid)
		return 0;
	if (!is_kvm_vm_file(file))
		return 0;
	/*
	 * A process whose last thread is exiting (its files not yet closed)
	 * is not listed: its slots would make it a new slot index and cancel
	 * its counters' release (proc_exit).
	 */
	if (!task->signal || !task->signal->live.counter)
		return 0;
	kvm = file->private_data;
	if (!kvm)
		return 0;

	vm.kind = KVMMT_REC_VM;
	vm.tgid = task->tgid;
	vm.kvm_id = (__u64)kvm;
	vm.fd = ctx->fd;
	vm.online_vcpus = BPF_CORE_READ(kvm, online_vcpus.counter);
	__builtin_memcpy(vm.comm, task->comm, sizeof(vm.comm));
	mm_seq(task, &vm);
	if (bpf_core_field_exists(kvm->arch.noncoherent_dma_count)) {
		vm.noncoherent_dma = BPF_CORE_READ(kvm, arch.noncoherent_dma_count.counter);
		vm.valid |= KVMMT_VF_NONCOHERENT;
	}
	if (bpf_core_field_exists(kvm->arch.disabled_quirks)) {
		vm.disabled_quirks = BPF_CORE_READ(kvm, arch.disabled_quirks);
		vm.valid |= KVMMT_VF_QUIRKS;
	}
	if (bpf_core_field_exists(kvm->nr_memslot_pages))
		vm.slot_pages = BPF_CORE_READ(kvm, nr_memslot_pages);
	vm.slots_gen = slots_gen(kvm, ms_off, nas);
	owner = bpf_map_lookup_elem(&kvm_owner, &vm.kvm_id);
	if (!owner || *owner != vm.tgid)	/* an LRU update allocates: only if new */
		bpf_map_update_elem(&kvm_owner, &vm.kvm_id, &vm.tgid, BPF_ANY);

	/* memslots unchanged since user space read them: no walk */
	known = bpf_map_lookup_elem(&vm_known, &vm.kvm_id);
	if (known && vm.slots_gen != SLOTS_GEN_UPDATING &&
	    known->slots_gen == vm.slots_gen && known->tgid == vm.tgid &&
	    known->slot_pages == vm.slot_pages) {
		vm.nr_slots = known->nr_slots;
		vm.valid |= KVMMT_VF_SLOTS_SAME | KVMMT_VF_SLOTS_GEN |
			    (known->valid & KVMMT_VF_TRUNCATED);
		bpf_seq_write(seq, &vm, sizeof(vm));
		return 0;
	}

	for (int as = 0; as < MAX_AS; as++) {
		void *ms = NULL;

		if (as >= nas)
			break;
		bpf_probe_read_kernel(&ms, sizeof(ms), (void *)kvm + ms_off + as * 8);
		if (!ms)
			continue;
		if (bpf_core_field_exists(struct kvm_memslots, id_hash)) {
			struct walk_ctx *w = bpf_map_lookup_elem(&walk, &zero);

			if (!w)
				break;
			*w = (struct walk_ctx){
				.ms = ms,
				.kvm_id = vm.kvm_id,
				.hash_off = bpf_core_field_offset(struct kvm_memslots, id_hash),
				.node_off = bpf_core_field_offset(struct kvm_memory_slot, id_node),
				.nbuckets = bpf_core_field_size(struct kvm_memslots, id_hash) / 8,
				.idx = BPF_CORE_READ((struct kvm_memslots *)ms, node_idx) & 1,
				.as = as,
				.n = n,
			};

			/* every bucket once, every slot once, then one more step */
			bpf_loop(w->nbuckets + KVMMT_ITER_MAX_SLOTS + 1, walk_step, NULL, 0);
			n = w->n;
			vm.valid |= w->valid;
		} else
			n = walk_array(n, ms, vm.kvm_id, as);
	}

	/* the generation names these slots only if no change came meanwhile */
	if (vm.slots_gen != SLOTS_GEN_UPDATING &&
	    slots_gen(kvm, ms_off, nas) == vm.slots_gen)
		vm.valid |= KVMMT_VF_SLOTS_GEN;
	vm.nr_slots = n;
	bpf_seq_write(seq, &vm, sizeof(vm));
	wr.seq = seq;
	wr.tgid = vm.tgid;
	bpf_loop(n, write_slot, &wr, 0);
	return 0;
}

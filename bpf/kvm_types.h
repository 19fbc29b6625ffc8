/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The kernel types kvmmt.bpf.c reads, and nothing else. Every struct is
 * preserve_access_index: libbpf relocates each field access against the
 * running kernel's BTF at load time, so only the fields named here must
 * exist (or be tested with bpf_core_field_exists()); their offsets, and
 * the rest of the structs, may differ between kernels. See docs/datapath.md
 * for why this replaces a generated vmlinux.h.
 */
#ifndef KVMMT_KVM_TYPES_H
#define KVMMT_KVM_TYPES_H

typedef unsigned char __u8;
typedef signed char __s8;
typedef unsigned short __u16;
typedef short __s16;
typedef unsigned int __u32;
typedef int __s32;
typedef unsigned long long __u64;
typedef long long __s64;
typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s32 s32;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;
typedef _Bool bool;
#define true 1
#define false 0
#define NULL ((void *)0)

typedef u64 gfn_t;
typedef u64 kvm_pfn_t;

/* UAPI constants bpf_helpers.h expects from linux/bpf.h (stable ABI). */
enum {
	BPF_MAP_TYPE_HASH = 1,
	BPF_MAP_TYPE_ARRAY = 2,
	BPF_MAP_TYPE_PERCPU_HASH = 5,
	BPF_MAP_TYPE_PERCPU_ARRAY = 6,
	BPF_MAP_TYPE_LRU_HASH = 9,
	BPF_MAP_TYPE_RINGBUF = 27,
};
enum {
	BPF_RB_NO_WAKEUP = 1,
	BPF_RB_FORCE_WAKEUP = 2,
	BPF_RB_AVAIL_DATA = 0,
	BPF_RB_RING_SIZE = 1,
};
enum {
	BPF_ANY = 0,
	BPF_NOEXIST = 1,
	BPF_EXIST = 2,
};

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

typedef struct {
	int counter;
} atomic_t;

struct hlist_node {
	struct hlist_node *next;
	struct hlist_node **pprev;
};

struct hlist_head {
	struct hlist_node *first;
};

struct mm_struct;

/*
 * The mm's write-lock sequence, which every change of a process's mappings
 * moves (they are made under mmap_write_lock()): an int counted at each
 * mmap_write_unlock() from Linux 6.4 to 6.12, a seqcount_t counted at lock
 * and at unlock since 6.13; absent before 6.4 and without per-VMA locks.
 * Its type changed, so it has a flavour per type; the counter is the first
 * 32 bits of either.
 */
struct mm_struct___int {
	int mm_lock_seq;
};

struct seqcount___kvmmt {
	unsigned int sequence;
};

struct mm_struct___seqcount {
	struct seqcount___kvmmt mm_lock_seq;
};

struct signal_struct {
	atomic_t live;		/* threads not yet through do_exit()'s start */
};

struct task_struct {
	unsigned int flags;
	int pid;
	int tgid;
	struct mm_struct *mm;
	struct task_struct *group_leader;
	struct signal_struct *signal;
	char comm[16];
};

struct mmu_notifier {
	void *ops;
};

struct mmu_notifier_range {
	unsigned long start;
	unsigned long end;
};

struct qstr {
	u32 len;		/* in an anonymous union (hash_len) */
	const unsigned char *name;
};

struct dentry {
	struct qstr d_name;
};

struct path {
	struct dentry *dentry;
};

struct file {
	struct path f_path;
	const void *f_op;
	void *private_data;
};

struct seq_file;

struct bpf_iter_meta {
	struct seq_file *seq;
	u64 session_id;
	u64 seq_num;
};

struct bpf_iter__task_file {
	struct bpf_iter_meta *meta;
	struct task_struct *task;
	u32 fd;
	struct file *file;
};

/* Since 5.17: memslots in an id hash, two nodes per slot (active/inactive). */
struct kvm_memory_slot {
	struct hlist_node id_node[2];
	gfn_t base_gfn;
	unsigned long npages;
	unsigned long userspace_addr;
	u32 flags;
	short id;
	u16 as_id;
};

struct kvm_memslots {
	u64 generation;
	struct hlist_head id_hash[128];
	int node_idx;
};

/* Before 5.17: a sorted array of slots and a count. */
struct kvm_memory_slot___old {
	gfn_t base_gfn;
	unsigned long npages;
	unsigned long userspace_addr;
	u32 flags;
	short id;
	u16 as_id;
};

struct kvm_memslots___old {
	int used_slots;
	struct kvm_memory_slot___old memslots[];
};

struct kvm_arch {
	atomic_t noncoherent_dma_count;
	u64 disabled_quirks;
};

struct kvm {
	struct kvm_memslots *memslots[2];
	atomic_t online_vcpus;
	u64 nr_memslot_pages;
	struct kvm_arch arch;
	struct mmu_notifier mmu_notifier;
	int userspace_pid;
};

struct kvm_vcpu {
	struct kvm *kvm;
};

/* 6.1 has no kvm member (its functions take the kvm as an argument). */
struct gfn_to_pfn_cache {
	u64 gpa;
	unsigned long uhva;
	struct kvm *kvm;
	void *khva;
	kvm_pfn_t pfn;
	bool active;
	bool valid;
};

struct kvm_device {
	struct kvm *kvm;
};

struct kvm_device_attr {
	u32 group;
	u64 attr;
};

union kvm_mmu_page_role {
	u32 word;
};

struct kvm_mmu_page {
	union kvm_mmu_page_role role;
	gfn_t gfn;
};

struct kvm_page_fault {
	gfn_t gfn;
	struct kvm_memory_slot *slot;
	kvm_pfn_t pfn;
	u8 goal_level;
};

/* Classic (perf) tracepoint records, for the tp/ path. */
struct trace_entry {
	unsigned short type;
	unsigned char flags;
	unsigned char preempt_count;
	int pid;
};

struct trace_event_raw_kvm_mmu_set_spte {
	struct trace_entry ent;
	u64 gfn;
	u64 spte;
	u64 sptep;
	u8 level;
};

struct trace_event_raw_kvm_mmu_spte_requested {
	struct trace_entry ent;
	u64 gfn;
	u64 pfn;
	u8 level;
};

struct trace_event_raw_kvm_mmu_get_page {
	struct trace_entry ent;
	u64 gfn;
	u32 role;
	bool created;
};

struct trace_event_raw_kvm_mmu_page_class {
	struct trace_entry ent;
	u64 gfn;
	u32 role;
};

struct trace_event_raw_kvm_tdp_mmu_spte_changed {
	struct trace_entry ent;
	u64 gfn;
	u64 old_spte;
	u64 new_spte;
	u8 level;
	u8 as_id;
};

struct trace_event_raw_kvm_unmap_hva_range {
	struct trace_entry ent;
	unsigned long start;
	unsigned long end;
};

/* kvmmt's kernel series (kernel/patches): only loaded where they exist. */
struct trace_event_raw_kvm_noncoherent_dma {
	struct trace_entry ent;
	int count;
	int delta;
};

struct trace_event_raw_kvm_memslot_flags {
	struct trace_entry ent;
	u64 base_gfn;
	u32 old_flags;
	u32 new_flags;
	u16 as_id;
	u16 slot_id;
};

#pragma clang attribute pop

#endif /* KVMMT_KVM_TYPES_H */

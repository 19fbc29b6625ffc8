// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * kvmmt-dptestrun: logic of the data path run in the real kernel with
 * BPF_PROG_TEST_RUN, on the raw_tp programs.
 *
 *   kvmmt-dptestrun [tdp|unmap|release|counters]
 *
 * tdp (the default): kvm_tdp_mmu_spte_changed never fires on a
 * shadow-paging host, so the raw_tp program gets hand-made EPT SPTEs (Intel
 * SDM vol. 3, 29.3.2: memtype bits 5:3, IPAT bit 6, page size bit 7) and
 * the counters must say what KVM would have done: a present leaf that
 * appears or changes type is an install, a present leaf that goes away is
 * a zap, non-leaf and unchanged SPTEs are neither.
 *
 * unmap: kvm_unmap_hva_range against memslots put in vm_slots by hand:
 * the pages of the caller's slots in the range count, whether they come
 * from a walk of every slot (a process's first invalidation, or more
 * slots than its index holds) or from its index; with indexes trusted from
 * birth, a process without one needs no walk; and proc_exit, attached,
 * drops a process's index when its last thread exits, not before.
 *
 * release: see release_cases().
 *
 * counters: the maps empty, then filled by hand on every CPU, then read by the
 * library: each install key and each tgid comes back once, with the sum of
 * its hash entry and its fast entries on every CPU; a tgid's installs are
 * the sum of its keys, also for a tgid with no other counter; and more
 * hash entries than one batched read takes all come back.
 *
 * Exit 0 if every case holds, 1 if not, 77 if BPF cannot be loaded here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "kvmmt.skel.h"
#include "host.h"
#include "dpskel.h"

#define PRESENT		(1ULL << 11)
#define LARGE		(1ULL << 7)
#define IPAT		(1ULL << 6)
#define MT(t)		((__u64)(t) << 3)
#define MT_UC		0
#define MT_WB		6
#define PFN(p)		((__u64)(p) << 12)

struct tdp_case {
	const char *what;
	int level;
	__u64 old_spte, new_spte;
	int installs, zaps;	/* expected deltas */
	__u8 attr;		/* expected attr key of the install */
};

static const struct tdp_case cases[] = {
	{ "new 4K WB+IPAT leaf", 1, 0, PRESENT | MT(MT_WB) | IPAT | PFN(0x1234),
	  1, 0, 0x8 | MT_WB },
	{ "same leaf again (A/D bit change)", 1,
	  PRESENT | MT(MT_WB) | IPAT | PFN(0x1234),
	  PRESENT | MT(MT_WB) | IPAT | PFN(0x1234) | (1ULL << 8), 0, 0, 0 },
	{ "leaf changes memory type to UC", 1,
	  PRESENT | MT(MT_WB) | IPAT | PFN(0x1234),
	  PRESENT | MT(MT_UC) | PFN(0x1234), 1, 0, MT_UC },
	{ "leaf moves to another pfn", 1, PRESENT | MT(MT_WB) | PFN(0x1234),
	  PRESENT | MT(MT_WB) | PFN(0x5678), 1, 0, MT_WB },
	{ "leaf zapped", 1, PRESENT | MT(MT_WB) | PFN(0x5678), 0, 0, 1, 0 },
	{ "2M leaf", 2, 0, PRESENT | LARGE | MT(MT_WB) | PFN(0x200), 1, 0, MT_WB },
	{ "non-leaf at level 2", 2, 0, PRESENT | PFN(0x42), 0, 0, 0 },
	{ "non-present new SPTE (MMIO/removed)", 1, 0, MT(MT_WB) | PFN(0x1), 0, 0, 0 },
};

static int run_case(struct kvmmt_bpf *skel, const struct tdp_case *c)
{
	__u64 args[5] = { 0, 0x100, c->level, c->old_spte, c->new_spte };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = args, .ctx_size_in = sizeof(args));

	return bpf_prog_test_run_opts(bpf_program__fd(skel->progs.raw_tdp_changed), &opts);
}

/* Sum of one per-CPU u64 (or the u64 at @word of a per-CPU value). */
static __u64 percpu_sum(int fd, const void *key, size_t words, size_t word)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *v = calloc((size_t)ncpu * words, sizeof(__u64)), sum = 0;

	if (v && !bpf_map_lookup_elem(fd, key, v))
		for (int i = 0; i < ncpu; i++)
			sum += v[i * words + word];
	free(v);
	return sum;
}

/* Installs counted in inst_fast for @k, or for any key of k->tgid if @any. */
static __u64 inst_fast_sum(struct kvmmt_bpf *skel, const struct kvmmt_inst_key *k,
			   bool any)
{
	int ncpu = libbpf_num_possible_cpus();
	struct kvmmt_inst_fast *f = calloc(ncpu, sizeof(*f));
	__u64 sum = 0;

	for (__u32 i = 0; f && i < KVMMT_INST_FAST; i++) {
		if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.inst_fast), &i, f))
			break;
		for (int c = 0; c < ncpu; c++)
			if (f[c].key.tgid == k->tgid &&
			    (any || !memcmp(&f[c].key, k, sizeof(*k))))
				sum += f[c].count;
	}
	free(f);
	return sum;
}

static __u64 installs_of(struct kvmmt_bpf *skel, __u32 tgid, __u8 attr, __u8 level)
{
	struct kvmmt_inst_key k = {
		.tgid = tgid, .slot = KVMMT_SLOT_UNKNOWN, .attr = attr, .level = level,
	};

	return percpu_sum(bpf_map__fd(skel->maps.installs), &k, 1, 0) +
	       inst_fast_sum(skel, &k, false);
}

/* Installs of @tgid: the sum of its entries in inst_fast and installs. */
static __u64 installs_total(struct kvmmt_bpf *skel, __u32 tgid)
{
	int fd = bpf_map__fd(skel->maps.installs);
	struct kvmmt_inst_key k = { .tgid = tgid }, *prev = NULL;
	__u64 sum = inst_fast_sum(skel, &k, true);

	while (!bpf_map_get_next_key(fd, prev, &k)) {
		if (k.tgid == tgid)
			sum += percpu_sum(fd, &k, 1, 0);
		prev = &k;
	}
	return sum;
}

/* A per-VM counter: the tgid's vm_fast entries plus its vm_ctrs entry. */
static __u64 ctr_of(struct kvmmt_bpf *skel, __u32 tgid, int ctr)
{
	int ncpu = libbpf_num_possible_cpus();
	__u32 k = tgid & (KVMMT_VM_FAST - 1);
	struct kvmmt_vm_fast *f;
	__u64 sum;

	if (ctr == KVMMT_C_INSTALLS)
		return installs_total(skel, tgid);
	sum = percpu_sum(bpf_map__fd(skel->maps.vm_ctrs), &tgid, KVMMT_C__MAX, ctr);
	f = calloc(ncpu, sizeof(*f));
	if (f && !bpf_map_lookup_elem(bpf_map__fd(skel->maps.vm_fast), &k, f))
		for (int i = 0; i < ncpu; i++)
			if (f[i].tgid == tgid)
				sum += f[i].c.c[ctr];
	free(f);
	return sum;
}

/*
 * The object with the programs named in @progs (a space-separated list)
 * loaded, and release_fast, which the library runs.
 */
static struct kvmmt_bpf *load_prog(bool tp_installs, bool tdp_installs, const char *progs)
{
	struct kvmmt_bpf *skel = kvmmt_bpf__open();
	struct bpf_program *p;
	char name[64], list[256];

	if (!skel)
		return NULL;
	skel->rodata->fmt = KVMMT_FMT_EPT;
	skel->rodata->tp_installs = tp_installs;
	skel->rodata->tdp_installs = tdp_installs;
	snprintf(list, sizeof(list), " %s release_fast ", progs);
	bpf_object__for_each_program(p, skel->obj) {
		snprintf(name, sizeof(name), " %s ", bpf_program__name(p));
		bpf_program__set_autoload(p, strstr(list, name) != NULL);
	}
	if (kvmmt_bpf__load(skel)) {
		kvmmt_bpf__destroy(skel);
		return NULL;
	}
	return skel;
}

static struct kvmmt_bpf *load(bool tp_installs, bool tdp_installs)
{
	return load_prog(tp_installs, tdp_installs, "raw_tdp_changed");
}

/* ---- unmap: kvm_unmap_hva_range against the caller's memslots */

#define PAGE	4096ULL
#define HVA_A	0x10000000ULL
#define HVA_B	0x20000000ULL
#define HVA_C	0x30000000ULL
#define HVA_N	0x40000000ULL	/* many one-page slots, two pages apart */
#define HVA_D	0x50000000ULL
#define MANY	(KVMMT_SLOT_INDEX_MAX + 6)

static int put_slot(struct kvmmt_bpf *skel, __u32 tgid, __u16 as_id, __u16 id,
		    __u64 hva, __u64 pages)
{
	struct kvmmt_slot_key k = { .tgid = tgid, .as_id = as_id, .id = id };
	struct kvmmt_slot_val v = { .base_gfn = hva >> 12, .npages = pages, .hva = hva };

	return bpf_map_update_elem(bpf_map__fd(skel->maps.vm_slots), &k, &v, BPF_ANY);
}

/* Pages the MMU notifier invalidated for @tgid by one kvm_unmap_hva_range. */
static __u64 unmap(struct kvmmt_bpf *skel, __u32 tgid, __u64 start, __u64 end)
{
	__u64 args[2] = { start, end }, before = ctr_of(skel, tgid, KVMMT_C_INV_NOTIFIER);
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = args, .ctx_size_in = sizeof(args));

	if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.raw_unmap_hva), &opts)) {
		printf("FAIL: BPF_PROG_TEST_RUN: %s\n", strerror(errno));
		exit(1);
	}
	return ctr_of(skel, tgid, KVMMT_C_INV_NOTIFIER) - before;
}

/* The caller's slot_index entry, zeroed if it has none; its key count. */
static int index_of(struct kvmmt_bpf *skel, __u32 tgid, struct kvmmt_slot_index *ix)
{
	int n = 0;

	memset(ix, 0, sizeof(*ix));
	bpf_map_lookup_elem(bpf_map__fd(skel->maps.slot_index), &tgid, ix);
	while (n < KVMMT_SLOT_INDEX_MAX && ix->key[n])
		n++;
	return n;
}

static bool index_has(const struct kvmmt_slot_index *ix, __u16 as_id, __u16 id)
{
	for (int i = 0; i < KVMMT_SLOT_INDEX_MAX; i++)
		if (ix->key[i] == ((__u64)as_id << 16 | id) + 1)
			return true;
	return false;
}

static int expect(const char *what, __u64 got, __u64 want)
{
	printf("%-58s %llu\n", what, (unsigned long long)got);
	if (got == want)
		return 0;
	printf("FAIL: %s: want %llu\n", what, (unsigned long long)want);
	return 1;
}

static __u64 slot_walks(struct kvmmt_bpf *skel)
{
	__u32 k = KVMMT_G_SLOT_WALKS;

	return percpu_sum(bpf_map__fd(skel->maps.gstats), &k, 1, 0);
}

static int check(bool ok, const char *what)
{
	printf("%-58s %s\n", what, ok ? "yes" : "NO");
	if (!ok)
		printf("FAIL: %s\n", what);
	return !ok;
}

/*
 * Once the exit hook is attached (the loader sets slots_born_ready), every
 * key the data path records makes its process's index, which is therefore
 * ready from birth: a process without one has no memslot the data path
 * saw, and needs no walk. A key that could not be indexed ends that trust.
 */
static int born_ready_cases(struct kvmmt_bpf *skel, __u32 tgid)
{
	int fd = bpf_map__fd(skel->maps.slot_index), failed = 0;
	struct kvmmt_slot_index ix;
	__u64 walks;

	bpf_map_delete_elem(fd, &tgid);
	skel->bss->slots_born_ready = 1;
	walks = slot_walks(skel);
	failed |= expect("born ready, no index: nothing to match (A put by hand)",
			 unmap(skel, tgid, HVA_A, HVA_A + 40 * PAGE), 0);
	failed |= check(slot_walks(skel) == walks && bpf_map_lookup_elem(fd, &tgid, &ix),
			"born ready, no index: no walk, no index made");
	skel->bss->slots_unindexed = 1;
	failed |= expect("a key could not be indexed: a walk finds A again",
			 unmap(skel, tgid, HVA_A, HVA_A + 40 * PAGE), 40);
	failed |= check(slot_walks(skel) == walks + 1 && index_of(skel, tgid, &ix) > 0 &&
			ix.ready, "a key could not be indexed: one walk, and an index");
	skel->bss->slots_unindexed = 0;
	return failed;
}

static void *thread_exit(void *arg)
{
	return arg;
}

/*
 * proc_exit, attached, on real exits: a process's index entry stays while
 * one of its threads exits, and goes when its last thread does.
 */
static int exit_cases(struct kvmmt_bpf *skel)
{
	struct kvmmt_slot_index ix = { .ready = 1, .key = { 1 } };
	int fd = bpf_map__fd(skel->maps.slot_index), failed = 0, go[2], done[2];
	struct bpf_link *link = bpf_program__attach(skel->progs.proc_exit);
	__u32 child;
	pthread_t t;
	char c = 0;

	if (!link || pipe(go) || pipe(done)) {
		printf("FAIL: cannot attach tp/sched/sched_process_exit: %s\n", strerror(errno));
		return 1;
	}
	child = fork();
	if ((int)child < 0)
		return 1;
	if (!child) {
		/* a thread exits, then the process once told to */
		if (read(go[0], &c, 1) != 1 || pthread_create(&t, NULL, thread_exit, NULL) ||
		    pthread_join(t, NULL) || write(done[1], &c, 1) != 1 ||
		    read(go[0], &c, 1) != 1)
			_exit(1);
		_exit(0);
	}
	if (bpf_map_update_elem(fd, &child, &ix, BPF_ANY) || write(go[1], &c, 1) != 1 ||
	    read(done[0], &c, 1) != 1) {
		printf("FAIL: cannot set up the exiting process: %s\n", strerror(errno));
		kill(child, SIGKILL);
		return 1;
	}
	usleep(200000);
	failed |= check(!bpf_map_lookup_elem(fd, &child, &ix),
			"exit of one thread: the index stays");
	if (write(go[1], &c, 1) != 1 || waitpid(child, NULL, 0) != (pid_t)child)
		return 1;
	failed |= check(bpf_map_lookup_elem(fd, &child, &ix) && errno == ENOENT,
			"exit of the process: its index is gone");
	bpf_link__destroy(link);
	return failed;
}

static int unmap_cases(void)
{
	__u32 tgid = getpid(), other = tgid ^ 0x40000000;
	struct kvmmt_slot_index ix;
	struct kvmmt_slot_key k = { .tgid = tgid, .id = 2 };
	struct kvmmt_bpf *skel;
	int failed = 0, n;

	skel = load_prog(true, false, "raw_unmap_hva proc_exit");
	if (!skel) {
		printf("FAIL: cannot load raw_tp/kvm_unmap_hva_range: %s\n", strerror(errno));
		return 1;
	}
	/* A: 300 pages, B: 300 pages, C: 10 pages in address space 1; another
	 * process's slot over A */
	if (put_slot(skel, tgid, 0, 1, HVA_A, 300) || put_slot(skel, tgid, 0, 2, HVA_B, 300) ||
	    put_slot(skel, tgid, 1, 0, HVA_C, 10) || put_slot(skel, other, 0, 1, HVA_A, 300)) {
		printf("FAIL: cannot fill vm_slots: %s\n", strerror(errno));
		return 1;
	}
	failed |= expect("first invalidation (walk of every slot): 40 pages of A",
			 unmap(skel, tgid, HVA_A, HVA_A + 40 * PAGE), 40);
	n = index_of(skel, tgid, &ix);
	printf("index: %d keys, ready %u, overflow %u\n", n, ix.ready, ix.overflow);
	if (n != 3 || !ix.ready || ix.overflow || !index_has(&ix, 0, 1) ||
	    !index_has(&ix, 0, 2) || !index_has(&ix, 1, 0)) {
		printf("FAIL: the index does not hold slots A, B and C\n");
		failed = 1;
	}
	failed |= expect("from the index: the last 25 pages of A, one byte past it",
			 unmap(skel, tgid, HVA_A + 275 * PAGE, HVA_A + 300 * PAGE + 1), 25);
	failed |= expect("from the index: the end of B and the start of C",
			 unmap(skel, tgid, HVA_B + 290 * PAGE, HVA_C + 5 * PAGE), 15);
	failed |= expect("from the index: a range without guest memory",
			 unmap(skel, tgid, HVA_C + 10 * PAGE, HVA_N), 0);
	/* the data path adds every slot it records to the index; this one is not */
	put_slot(skel, tgid, 0, 3, HVA_D, 10);
	failed |= expect("from the index: not a slot put in vm_slots behind its back",
			 unmap(skel, tgid, HVA_D, HVA_D + 10 * PAGE), 0);
	k.id = 3;
	bpf_map_delete_elem(bpf_map__fd(skel->maps.vm_slots), &k);
	k.id = 2;
	bpf_map_delete_elem(bpf_map__fd(skel->maps.vm_slots), &k);
	failed |= expect("from the index: B deleted, then all of A and B",
			 unmap(skel, tgid, HVA_A, HVA_B + 300 * PAGE), 300);
	failed |= expect("the other process's slot over A is its own",
			 ctr_of(skel, other, KVMMT_C_INV_NOTIFIER), 0);

	/* more slots than an index holds: walks of every slot, every time */
	bpf_map_delete_elem(bpf_map__fd(skel->maps.slot_index), &tgid);
	for (int i = 0; i < MANY; i++)
		if (put_slot(skel, tgid, 0, 100 + i, HVA_N + 2 * i * PAGE, 1)) {
			printf("FAIL: cannot fill vm_slots: %s\n", strerror(errno));
			return 1;
		}
	failed |= expect("70 one-page slots: the first walk finds each",
			 unmap(skel, tgid, HVA_N, HVA_N + 2 * MANY * PAGE), MANY);
	n = index_of(skel, tgid, &ix);
	printf("index: %d keys, ready %u, overflow %u\n", n, ix.ready, ix.overflow);
	if (!ix.overflow) {
		printf("FAIL: the index of %d slots is not marked full\n", MANY + 2);
		failed = 1;
	}
	failed |= expect("70 one-page slots: so does the next",
			 unmap(skel, tgid, HVA_N, HVA_N + 2 * MANY * PAGE), MANY);
	failed |= expect("and A, C and the first one-page slot with them",
			 unmap(skel, tgid, HVA_A, HVA_N + PAGE), 311);
	failed |= born_ready_cases(skel, tgid);
	failed |= exit_cases(skel);
	kvmmt_bpf__destroy(skel);
	printf("%s\n", failed ? "FAIL" : "PASS: MMU-notifier invalidations counted per memslot");
	return failed;
}

/* ---- release: the counters of an exited VMM process, after a while */

/* Fast entries (vm_fast, inst_fast) @tgid owns on any CPU. */
static int fast_owned(struct kvmmt_bpf *skel, __u32 tgid)
{
	int ncpu = libbpf_num_possible_cpus(), n = 0;
	struct kvmmt_inst_fast *f = calloc(ncpu, sizeof(*f));
	struct kvmmt_vm_fast *v = calloc(ncpu, sizeof(*v));
	__u32 k = tgid & (KVMMT_VM_FAST - 1);

	for (__u32 i = 0; f && i < KVMMT_INST_FAST; i++)
		if (!bpf_map_lookup_elem(bpf_map__fd(skel->maps.inst_fast), &i, f))
			for (int c = 0; c < ncpu; c++)
				n += f[c].key.tgid == tgid;
	if (v && !bpf_map_lookup_elem(bpf_map__fd(skel->maps.vm_fast), &k, v))
		for (int c = 0; c < ncpu; c++)
			n += v[c].tgid == tgid;
	free(f);
	free(v);
	return n;
}

/* Hash entries (vm_ctrs, installs) of @tgid. */
static int hash_owned(struct kvmmt_bpf *skel, __u32 tgid)
{
	struct kvmmt_inst_key k, *prev = NULL;
	int ncpu = libbpf_num_possible_cpus(), n = 0;
	struct kvmmt_vm_ctrs *c = calloc(ncpu, sizeof(*c));

	if (c && !bpf_map_lookup_elem(bpf_map__fd(skel->maps.vm_ctrs), &tgid, c))
		n++;
	free(c);
	while (!bpf_map_get_next_key(bpf_map__fd(skel->maps.installs), prev, &k)) {
		n += k.tgid == tgid;
		prev = &k;
	}
	return n;
}

/* Puts @tgid in the hash maps as a VM that overflowed its fast entries would be. */
static int put_hash(struct kvmmt_bpf *skel, __u32 tgid)
{
	int ncpu = libbpf_num_possible_cpus();
	struct kvmmt_inst_key k = { .tgid = tgid, .slot = 1, .attr = MT_WB, .level = 1 };
	struct kvmmt_vm_ctrs *c = calloc(ncpu, sizeof(*c));
	__u64 *one = calloc(ncpu, sizeof(*one));
	int err = -ENOMEM;

	if (c && one) {
		c[0].c[KVMMT_C_ZAPS] = one[0] = 1;
		err = bpf_map_update_elem(bpf_map__fd(skel->maps.vm_ctrs), &tgid, c, BPF_ANY) ||
		      bpf_map_update_elem(bpf_map__fd(skel->maps.installs), &k, one, BPF_ANY);
	}
	free(c);
	free(one);
	return err;
}

/*
 * A VMM process counts (an install from the real program, entries in the
 * hash maps) and exits: proc_exit records the exit, its counters stay
 * until they are old enough, then every entry it owned is released, and
 * a live process's are not.
 */
static int release_cases(void)
{
	struct kvmmt_slot_index ix = { .ready = 1 };
	__u32 self = getpid(), child;
	struct kvmmt_err e = { 0 };
	struct kvmmt_bpf *skel = load_prog(true, true, "raw_tdp_changed raw_unmap_hva proc_exit");
	struct bpf_link *link = skel ? bpf_program__attach(skel->progs.proc_exit) : NULL;
	int go[2], failed = 0, before, got;
	__u64 when, mine;
	char c = 0;

	if (!link || pipe(go)) {
		printf("FAIL: cannot load and attach proc_exit and release_fast: %s\n",
		       strerror(errno));
		return 1;
	}
	if (run_case(skel, &cases[0])) {
		printf("FAIL: BPF_PROG_TEST_RUN: %s\n", strerror(errno));
		return 1;
	}
	mine = ctr_of(skel, self, KVMMT_C_TDP_CHANGES) + installs_total(skel, self);
	child = fork();
	if ((int)child < 0)
		return 1;
	if (!child)
		_exit(read(go[0], &c, 1) != 1 || run_case(skel, &cases[0]) ||
		      run_case(skel, &cases[5]));
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.slot_index), &child, &ix, BPF_ANY) ||
	    put_hash(skel, child) || write(go[1], &c, 1) != 1 ||
	    waitpid(child, NULL, 0) != (pid_t)child) {
		printf("FAIL: cannot set up the exiting process: %s\n", strerror(errno));
		return 1;
	}
	before = fast_owned(skel, child);
	printf("exited VMM: %d fast entries, %d hash entries\n", before, hash_owned(skel, child));
	failed |= check(before >= 2 && hash_owned(skel, child) == 2,
			"the exited VMM counted, fast and hashed");
	failed |= check(!bpf_map_lookup_elem(bpf_map__fd(skel->maps.exited), &child, &when),
			"proc_exit recorded its exit");
	got = kvmmt_dp_release_exited(skel, 3600ULL * 1000000000ULL, &e);
	failed |= check(got == 0 && fast_owned(skel, child) == before &&
			hash_owned(skel, child) == 2, "an hour's grace: nothing released yet");
	got = kvmmt_dp_release_exited(skel, 0, &e);
	if (got < 0)
		printf("FAIL: %s\n", e.msg);
	failed |= check(got == 1 && !fast_owned(skel, child) && !hash_owned(skel, child),
			"past it: every fast and hash entry released");
	failed |= check(bpf_map_lookup_elem(bpf_map__fd(skel->maps.exited), &child, &when),
			"and its exit forgotten");
	failed |= check(ctr_of(skel, self, KVMMT_C_TDP_CHANGES) + installs_total(skel, self) ==
			mine && mine > 0, "a live process's counters are kept");
	/*
	 * An exit recorded for a pid that a new VMM process took before the
	 * grace ran out (here: this one, whose first memslot match makes its
	 * index): the new process's counters are kept.
	 */
	when = 1;
	bpf_map_update_elem(bpf_map__fd(skel->maps.exited), &self, &when, BPF_ANY);
	bpf_map_delete_elem(bpf_map__fd(skel->maps.slot_index), &self);
	unmap(skel, self, HVA_A, HVA_A + PAGE);
	got = kvmmt_dp_release_exited(skel, 0, &e);
	failed |= check(got == 0 && ctr_of(skel, self, KVMMT_C_TDP_CHANGES) +
			installs_total(skel, self) == mine,
			"a pid reused by a new VMM: its counters are kept");
	bpf_link__destroy(link);
	kvmmt_bpf__destroy(skel);
	printf("%s\n", failed ? "FAIL" : "PASS: an exited VMM's counters released after their grace");
	return failed;
}

/* ---- counters: what the library adds up */

#define MANY_KEYS	600	/* more hash entries than one batched read */

/* Sets key @k of per-CPU map @fd to @val on CPU @cpu, 0 on the others. */
static int put_percpu(int fd, const void *k, size_t vsz, int cpu, const void *val)
{
	int ncpu = libbpf_num_possible_cpus();
	char *v = calloc(ncpu, vsz);
	int err = -ENOMEM;

	if (v) {
		if (bpf_map_lookup_elem(fd, k, v))
			memset(v, 0, ncpu * vsz);
		memcpy(v + cpu * vsz, val, vsz);
		err = bpf_map_update_elem(fd, k, v, BPF_ANY);
	}
	free(v);
	return err;
}

static int counters_cases(void)
{
	struct kvmmt_bpf *skel = load_prog(false, false, "");
	int ncpu = libbpf_num_possible_cpus(), failed = 0, seen = 0;
	const __u32 t1 = 0x10001, t2 = 0x10002, t3 = 0x10003;
	struct kvmmt_inst_key k1 = { .tgid = t1, .slot = 1, .attr = MT_WB, .level = 1 };
	struct kvmmt_inst_key k2 = { .tgid = t1, .slot = 2, .attr = MT_UC, .level = 1 };
	struct kvmmt_inst_key k3 = { .tgid = t2, .slot = 1, .attr = MT_WB, .level = 2 };
	__u64 want_k1 = 0, want_zaps = 0, many = 0;
	__u32 fi = kvmmt_inst_fast_idx(&k1), vi = t1 & (KVMMT_VM_FAST - 1);
	struct kvmmt_counters c;
	struct kvmmt_err e = {};
	int err = 0;

	if (!skel) {
		printf("FAIL: cannot load the data path's maps: %s\n", strerror(errno));
		return 1;
	}
	/* nothing counted yet: no entry, and no error */
	if (kvmmt_skel_read_counters(skel, &c, &e)) {
		printf("FAIL: empty maps: %s\n", e.msg);
		return 1;
	}
	failed |= expect("empty maps: install entries", c.nr_inst, 0);
	failed |= expect("empty maps: VM entries", c.nr_vms, 0);
	kvmmt_counters_free(&c);
	/* k1 and t1: a fast entry and a hash entry on every CPU */
	for (int cpu = 0; cpu < ncpu && !err; cpu++) {
		struct kvmmt_inst_fast f = { .key = k1, .count = 3 + cpu };
		struct kvmmt_vm_fast v = { .tgid = t1 };
		struct kvmmt_vm_ctrs h = {};
		__u64 n = 10 * (cpu + 1);

		v.c.c[KVMMT_C_ZAPS] = 1 + cpu;
		h.c[KVMMT_C_ZAPS] = 100 * (cpu + 1);
		want_k1 += f.count + n;
		want_zaps += v.c.c[KVMMT_C_ZAPS] + h.c[KVMMT_C_ZAPS];
		err = put_percpu(bpf_map__fd(skel->maps.inst_fast), &fi, sizeof(f), cpu, &f) ||
		      put_percpu(bpf_map__fd(skel->maps.installs), &k1, sizeof(n), cpu, &n) ||
		      put_percpu(bpf_map__fd(skel->maps.vm_fast), &vi, sizeof(v), cpu, &v) ||
		      put_percpu(bpf_map__fd(skel->maps.vm_ctrs), &t1, sizeof(h), cpu, &h);
	}
	/* k2 in the hash only; k3 of t2, which has no other counter */
	for (__u64 n = 7; !err && n == 7; n++)
		err = put_percpu(bpf_map__fd(skel->maps.installs), &k2, sizeof(n), 0, &n) ||
		      put_percpu(bpf_map__fd(skel->maps.installs), &k3, sizeof(n), ncpu - 1, &n);
	/* t3: many keys in the hash, one install each */
	for (__u16 i = 0; i < MANY_KEYS && !err; i++) {
		struct kvmmt_inst_key k = { .tgid = t3, .slot = i, .attr = MT_WB, .level = 1 };
		__u64 one = 1;

		err = put_percpu(bpf_map__fd(skel->maps.installs), &k, sizeof(one), i % ncpu, &one);
	}
	if (err) {
		printf("FAIL: cannot fill the maps: %s\n", strerror(errno));
		return 1;
	}
	if (kvmmt_skel_read_counters(skel, &c, &e)) {
		printf("FAIL: %s\n", e.msg);
		return 1;
	}
	for (size_t i = 0; i < c.nr_inst; i++) {
		const struct kvmmt_install_count *ic = &c.inst[i];

		if (!memcmp(&ic->key, &k1, sizeof(k1))) {
			seen++;
			failed |= expect("k1: hash and fast entries on every CPU", ic->count, want_k1);
		} else if (!memcmp(&ic->key, &k2, sizeof(k2)) || !memcmp(&ic->key, &k3, sizeof(k3))) {
			seen++;
			failed |= expect("a key in the hash only", ic->count, 7);
		} else if (ic->key.tgid == t3) {
			many += ic->count;
		}
	}
	failed |= expect("k1, k2 and k3 listed once each", seen, 3);
	failed |= expect("keys of t3 (one install each)", many, MANY_KEYS);
	failed |= expect("install entries", c.nr_inst, 3 + MANY_KEYS);
	seen = 0;
	for (size_t i = 0; i < c.nr_vms; i++) {
		const struct kvmmt_vm_count *v = &c.vms[i];

		if (v->tgid == t1) {
			seen++;
			failed |= expect("t1 zaps: vm_fast and vm_ctrs on every CPU",
					 v->c.c[KVMMT_C_ZAPS], want_zaps);
			failed |= expect("t1 installs: the sum of k1 and k2",
					 v->c.c[KVMMT_C_INSTALLS], want_k1 + 7);
		} else if (v->tgid == t2) {
			seen++;
			failed |= expect("t2 installs (no other counter)",
					 v->c.c[KVMMT_C_INSTALLS], 7);
		} else if (v->tgid == t3) {
			seen++;
			failed |= expect("t3 installs", v->c.c[KVMMT_C_INSTALLS], MANY_KEYS);
		}
	}
	failed |= expect("t1, t2 and t3 listed once each", seen, 3);
	failed |= expect("VM entries", c.nr_vms, 3);
	printf("%s: %zu install entries, %zu VMs, %d CPUs\n", failed ? "FAIL" : "PASS",
	       c.nr_inst, c.nr_vms, ncpu);
	kvmmt_counters_free(&c);
	kvmmt_bpf__destroy(skel);
	return failed;
}

int main(int argc, char **argv)
{
	__u32 tgid = getpid();
	struct kvmmt_bpf *skel;
	int failed = 0;

	if (!kvmmt_host_privileged()) {
		printf("SKIP: loading BPF programs needs root\n");
		return 77;
	}
	if (!getenv("KVMMT_DEBUG"))
		libbpf_set_print(NULL);
	if (argc > 1 && !strcmp(argv[1], "unmap"))
		return unmap_cases();
	if (argc > 1 && !strcmp(argv[1], "release"))
		return release_cases();
	if (argc > 1 && !strcmp(argv[1], "counters"))
		return counters_cases();
	skel = load(true, true);
	if (!skel) {
		printf("FAIL: cannot load raw_tp/kvm_tdp_mmu_spte_changed: %s\n",
		       strerror(errno));
		return 1;
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tdp_case *c = &cases[i];
		__u64 inst0 = ctr_of(skel, tgid, KVMMT_C_INSTALLS);
		__u64 zap0 = ctr_of(skel, tgid, KVMMT_C_ZAPS);
		__u64 key0 = installs_of(skel, tgid, c->attr, c->level);
		__u64 inst, zap, key;

		if (run_case(skel, c)) {
			printf("FAIL: %s: BPF_PROG_TEST_RUN: %s\n", c->what, strerror(errno));
			return 1;
		}
		inst = ctr_of(skel, tgid, KVMMT_C_INSTALLS) - inst0;
		zap = ctr_of(skel, tgid, KVMMT_C_ZAPS) - zap0;
		key = installs_of(skel, tgid, c->attr, c->level) - key0;
		printf("%-40s installs %llu zaps %llu (attr 0x%x level %d: %llu)\n", c->what,
		       (unsigned long long)inst, (unsigned long long)zap, c->attr, c->level,
		       (unsigned long long)key);
		if (inst != (__u64)c->installs || zap != (__u64)c->zaps ||
		    (c->installs && key != 1)) {
			printf("FAIL: %s: want installs %d zaps %d\n", c->what, c->installs,
			       c->zaps);
			failed = 1;
		}
	}
	if (ctr_of(skel, tgid, KVMMT_C_TDP_CHANGES) != sizeof(cases) / sizeof(cases[0])) {
		printf("FAIL: tdp_changes does not count every change\n");
		failed = 1;
	}
	kvmmt_bpf__destroy(skel);

	/*
	 * With fexit/make_spte (tp_installs off) or kvm_mmu_set_spte (which the
	 * TDP MMU fires too; tdp_installs off) counting installs, this
	 * tracepoint must not; it still counts zaps.
	 */
	for (int off = 0; off < 2; off++) {
		skel = load(off != 0, false);
		if (!skel || run_case(skel, &cases[0]) || run_case(skel, &cases[4])) {
			printf("FAIL: cannot load or run with installs from elsewhere\n");
			return 1;
		}
		if (ctr_of(skel, tgid, KVMMT_C_INSTALLS) ||
		    ctr_of(skel, tgid, KVMMT_C_ZAPS) != 1 ||
		    ctr_of(skel, tgid, KVMMT_C_TDP_CHANGES) != 2) {
			printf("FAIL: installs counted twice (tp_installs %d)\n", off);
			failed = 1;
		}
		kvmmt_bpf__destroy(skel);
	}
	printf("%s\n", failed ? "FAIL" : "PASS: TDP SPTE changes counted as KVM makes them");
	return failed;
}

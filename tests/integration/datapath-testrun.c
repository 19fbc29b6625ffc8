// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * kvmmt-dptestrun: the TDP MMU logic of the data path, run in the real
 * kernel with BPF_PROG_TEST_RUN. kvm_tdp_mmu_spte_changed never fires on a
 * shadow-paging host, so the raw_tp program gets hand-made EPT SPTEs (Intel
 * SDM vol. 3, 29.3.2: memtype bits 5:3, IPAT bit 6, page size bit 7) and
 * the counters must say what KVM would have done: a present leaf that
 * appears or changes type is an install, a present leaf that goes away is
 * a zap, non-leaf and unchanged SPTEs are neither.
 *
 * Exit 0 if every case holds, 1 if not, 77 if BPF cannot be loaded here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "kvmmt.skel.h"
#include "host.h"

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

static struct kvmmt_bpf *load(bool tp_installs, bool tdp_installs)
{
	struct kvmmt_bpf *skel = kvmmt_bpf__open();
	struct bpf_program *p;

	if (!skel)
		return NULL;
	skel->rodata->fmt = KVMMT_FMT_EPT;
	skel->rodata->tp_installs = tp_installs;
	skel->rodata->tdp_installs = tdp_installs;
	bpf_object__for_each_program(p, skel->obj)
		bpf_program__set_autoload(p, p == skel->progs.raw_tdp_changed);
	if (kvmmt_bpf__load(skel)) {
		kvmmt_bpf__destroy(skel);
		return NULL;
	}
	return skel;
}

int main(void)
{
	__u32 tgid = getpid();
	struct kvmmt_bpf *skel;
	int failed = 0;

	if (!kvmmt_host_privileged()) {
		printf("SKIP: loading BPF programs needs root\n");
		return 77;
	}
	libbpf_set_print(NULL);
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

/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * One test VM: its memory layout, guest code and the rounds of page
 * touching, plus the record of exactly what it did.
 */
#ifndef TESTVMM_TESTVM_H
#define TESTVMM_TESTVM_H

#include <stdint.h>
#include <sys/types.h>
#include "kvm_util.h"

/* Guest PTE memory-type bits the user may set on the data pages. */
#define PTE_PWT		(1ULL << 3)
#define PTE_PCD		(1ULL << 4)
#define PTE_PAT		(1ULL << 7)	/* PAT bit of a 4K PTE */

/* Data slots start here; slot 0 (page tables and code) lies below. */
#define DATA_GPA	(1ULL << 30)
/* Upper bound on data pages per VM: 64 GiB of guest data. */
#define MAX_PAGES	(1ULL << 24)
/* The guest signals "round done" with OUT to this port. */
#define DONE_PORT	0x10
/* PTE prefetch works on aligned groups of 8; vCPU ranges never share one. */
#define PREFETCH_PAGES	8

struct testvm_config {
	int slots;		/* data slots; slot 0 comes on top */
	uint64_t pages;		/* data pages touched per round */
	int vcpus;
	int repeat;		/* rounds */
	uint64_t pte_flags;	/* PTE_PWT | PTE_PCD | PTE_PAT on data PTEs */
	int tdp;		/* host uses EPT/NPT, not shadow paging */
	const char *backing;	/* file backing the last data slot, or NULL */
};

struct slot_record {
	uint32_t id;
	uint32_t flags;
	uint64_t gpa;
	uint64_t size;
	uint64_t host_addr;
	uint64_t pages;			/* 4K pages in the slot */
	uint64_t touched_pages;		/* pages the guest touches per round */
	uint64_t expected_installs;	/* over all rounds */
};

struct testvm_record {
	int index;
	pid_t pid;
	char name[16];
	int vcpus;
	int rounds;
	uint64_t pages_touched;		/* data pages per round */
	uint64_t setup_pages;		/* pages in slot 0 */
	uint64_t setup_pages_touched;	/* slot 0 pages the guest touches per round */
	uint64_t page_table_pages;	/* guest PML4, PDPT, PDs and PTs (in slot 0) */
	uint64_t expected_data_installs;
	uint64_t expected_setup_installs;
	uint64_t slot_deletes;		/* KVM_SET_USER_MEMORY_REGION size 0 calls */
	uint64_t exits_io;
	uint64_t exits_other;
	uint64_t setup_ns;		/* VM creation and memory setup */
	uint64_t start_ns;		/* CLOCK_MONOTONIC, first round starts */
	uint64_t end_ns;		/* last round ends */
	int nr_slots;
	struct slot_record slots[];
};

static inline size_t testvm_record_size(int nr_slots)
{
	return sizeof(struct testvm_record) +
	       (size_t)nr_slots * sizeof(struct slot_record);
}

/* Pages slot 0 needs for @cfg: page tables plus the code page. */
uint64_t testvm_setup_pages(const struct testvm_config *cfg);

/*
 * Create VM @index in @vm, touch the pages cfg->repeat times and fill @rec;
 * the VM stays alive for the caller to hold and vm_destroy(). Runs in the
 * VM's own process and stops it on any KVM failure. Returns 0, or -EINTR
 * when a pending SIGINT/SIGTERM cut the rounds short.
 */
int testvm_run(const struct testvm_config *cfg, int index, struct vm *vm,
	       struct testvm_record *rec);

uint64_t now_ns(void);

#endif

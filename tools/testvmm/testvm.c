// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Guest memory of a test VM (identity-mapped, GPA == guest virtual):
 *
 *   slot 0, GPA 0:  page 0 unused, PML4 0x1000, PDPT 0x2000, PD for GiB 0
 *                   0x3000, PDs for the data GiBs, the PT for the code
 *                   page, the data PTs, the code page, then the TSS.
 *   slot 1..M:      the data pages, back to back from DATA_GPA; slot j
 *                   holds its share of the pages, all of which are touched.
 *
 * The guest runs at CPL3 in 64-bit mode, so on this host every first
 * access to a 4K page faults through the shadow MMU and installs exactly
 * one SPTE. Guest PTEs start with Accessed/Dirty clear so KVM's PTE
 * prefetch (which only takes accessed gPTEs) installs nothing extra.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>
#include "kvm_util.h"
#include "testvm.h"

#define PTE_P		(1ULL << 0)
#define PTE_RW		(1ULL << 1)
#define PTE_US		(1ULL << 2)
#define PTE_A		(1ULL << 5)
#define PTE_D		(1ULL << 6)
#define PTE_ADDR	0x000ffffffffff000ULL
#define PTRS_PER_PT	512ULL
#define TSS_IOMAP_BASE	102	/* offset of the I/O map base in a 64-bit TSS */
#define TSS_IOMAP	0x68	/* the bitmap right after the 104-byte TSS */

/*
 * rdi = first data page, rsi = page count (>= 1). One byte store per page,
 * then OUT to DONE_PORT; resuming after the OUT starts the next round.
 */
asm(".pushsection .rodata, \"a\"\n"
    ".global testvm_guest_code, testvm_guest_code_end\n"
    "testvm_guest_code:\n"
    "1:	mov %rdi, %rbx\n"
    "	mov %rsi, %rcx\n"
    "2:	movb %al, (%rbx)\n"
    "	add $0x1000, %rbx\n"
    "	dec %rcx\n"
    "	jnz 2b\n"
    "	out %al, $0x10\n"
    "	jmp 1b\n"
    "testvm_guest_code_end:\n"
    ".popsection\n");
extern const uint8_t testvm_guest_code[], testvm_guest_code_end[];

struct layout {
	uint64_t pml4, pdpt, pd0;
	uint64_t data_pd, nr_data_pds;	/* PDs for GiB 1 .. nr_data_pds */
	uint64_t code_pt;
	uint64_t data_pt, nr_data_pts;
	uint64_t code;
	uint64_t tss;
	uint64_t setup_pages;
};

struct testvm {
	const struct testvm_config *cfg;
	struct vm *vm;
	struct layout l;
	pthread_barrier_t go, done;
	int stop;		/* set by the main thread before the last "go" */
	struct testvm_vcpu {
		struct testvm *tv;
		int idx;
		pthread_t thread;
		uint64_t exits_io, exits_other;
	} *vcpus;
};

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void layout_init(struct layout *l, const struct testvm_config *cfg)
{
	uint64_t data_end = DATA_GPA + cfg->pages * PAGE_SIZE;

	l->pml4 = 0x1000;
	l->pdpt = 0x2000;
	l->pd0 = 0x3000;
	l->data_pd = 0x4000;
	l->nr_data_pds = (data_end - 1) >> 30;
	l->code_pt = l->data_pd + l->nr_data_pds * PAGE_SIZE;
	l->data_pt = l->code_pt + PAGE_SIZE;
	l->nr_data_pts = (cfg->pages + PTRS_PER_PT - 1) / PTRS_PER_PT;
	l->code = l->data_pt + l->nr_data_pts * PAGE_SIZE;
	l->tss = l->code + PAGE_SIZE;
	l->setup_pages = (l->tss >> PAGE_SHIFT) + 1;
}

uint64_t testvm_setup_pages(const struct testvm_config *cfg)
{
	struct layout l;

	layout_init(&l, cfg);
	return l.setup_pages;
}

static uint64_t *pt_entry(struct vm *vm, uint64_t table, uint64_t va, int level)
{
	uint64_t *pt = vm_gpa_to_hva(vm, table);

	return &pt[(va >> (PAGE_SHIFT + 9 * (level - 1))) & (PTRS_PER_PT - 1)];
}

/* Identity-map the 4K page at @va through the tables already laid out. */
static void map_page(struct vm *vm, const struct layout *l, uint64_t va,
		     uint64_t pd, uint64_t pt, uint64_t flags)
{
	const uint64_t table = PTE_P | PTE_RW | PTE_US;

	*pt_entry(vm, l->pml4, va, 4) = l->pdpt | table;
	*pt_entry(vm, l->pdpt, va, 3) = pd | table;
	*pt_entry(vm, pd, va, 2) = pt | table;
	*pt_entry(vm, pt, va, 1) = va | table | flags;
}

static void build_page_tables(struct testvm *tv)
{
	const struct layout *l = &tv->l;
	uint64_t i, va;

	map_page(tv->vm, l, l->code, l->pd0, l->code_pt, 0);
	map_page(tv->vm, l, l->tss, l->pd0, l->code_pt, 0);
	for (i = 0; i < tv->cfg->pages; i++) {
		va = DATA_GPA + i * PAGE_SIZE;
		map_page(tv->vm, l, va,
			 l->data_pd + ((va >> 30) - 1) * PAGE_SIZE,
			 l->data_pt + ((va - DATA_GPA) >> 21) * PAGE_SIZE,
			 tv->cfg->pte_flags);
	}
}

/* Make the next round walk the guest tables exactly like the first. */
static void clear_accessed_dirty(struct testvm *tv)
{
	uint64_t *pte = vm_gpa_to_hva(tv->vm, tv->l.pml4);
	uint64_t i, n = (tv->l.code - tv->l.pml4) / sizeof(*pte);

	for (i = 0; i < n; i++)
		pte[i] &= ~(PTE_A | PTE_D);
}

/* Data page range of vCPU @v: split at multiples of PREFETCH_PAGES. */
static void vcpu_range(const struct testvm_config *cfg, int v,
		       uint64_t *first, uint64_t *count)
{
	uint64_t lo = cfg->pages * v / cfg->vcpus;
	uint64_t hi = cfg->pages * (v + 1) / cfg->vcpus;

	lo = v ? lo / PREFETCH_PAGES * PREFETCH_PAGES : 0;
	hi = v + 1 < cfg->vcpus ? hi / PREFETCH_PAGES * PREFETCH_PAGES :
				  cfg->pages;
	*first = DATA_GPA + lo * PAGE_SIZE;
	*count = hi - lo;
}

static void vcpu_run_round(struct testvm_vcpu *tvc)
{
	struct vcpu *vcpu = &tvc->tv->vm->vcpus[tvc->idx];
	struct kvm_run *run = vcpu->run;
	struct kvm_regs regs;

	for (;;) {
		vcpu_run(vcpu);
		if (run->exit_reason == KVM_EXIT_INTR) {
			tvc->exits_other++;
			continue;
		}
		if (run->exit_reason == KVM_EXIT_IO &&
		    run->io.direction == KVM_EXIT_IO_OUT &&
		    run->io.port == DONE_PORT) {
			tvc->exits_io++;
			return;
		}
		memset(&regs, 0, sizeof(regs));
		ioctl(vcpu->fd, KVM_GET_REGS, &regs);
		errno = 0;
		TEST_ASSERT(0, "vcpu %d: unexpected exit %s (%u) at rip 0x%llx",
			    tvc->idx, exit_reason_str(run->exit_reason),
			    run->exit_reason, (unsigned long long)regs.rip);
	}
}

static void *vcpu_thread(void *arg)
{
	struct testvm_vcpu *tvc = arg;

	for (;;) {
		pthread_barrier_wait(&tvc->tv->go);
		if (tvc->tv->stop)
			return NULL;
		vcpu_run_round(tvc);
		pthread_barrier_wait(&tvc->tv->done);
	}
}

static void vm_setup(struct testvm *tv, struct testvm_record *rec)
{
	const struct testvm_config *cfg = tv->cfg;
	uint64_t gpa = DATA_GPA, first, count;
	int j, v;

	layout_init(&tv->l, cfg);
	vm_create(tv->vm, cfg->slots + 1, cfg->vcpus);
	vm_memslot_add(tv->vm, 0, 0, tv->l.setup_pages * PAGE_SIZE, 0);
	for (j = 1; j <= cfg->slots; j++) {
		count = cfg->pages / cfg->slots +
			((uint64_t)(j - 1) < cfg->pages % cfg->slots);
		if (cfg->backing && j == cfg->slots)
			vm_memslot_add_file(tv->vm, j, gpa, count * PAGE_SIZE, 0, cfg->backing);
		else
			vm_memslot_add(tv->vm, j, gpa, count * PAGE_SIZE, 0);
		gpa += count * PAGE_SIZE;
	}
	build_page_tables(tv);
	memcpy(vm_gpa_to_hva(tv->vm, tv->l.code), testvm_guest_code,
	       testvm_guest_code_end - testvm_guest_code);
	/* KVM emulates the OUT and checks the TSS I/O bitmap: all zero, allowed. */
	*(uint16_t *)((char *)vm_gpa_to_hva(tv->vm, tv->l.tss) + TSS_IOMAP_BASE) =
		TSS_IOMAP;

	for (v = 0; v < cfg->vcpus; v++) {
		vm_vcpu_add(tv->vm, v);
		vcpu_range(cfg, v, &first, &count);
		vcpu_set_user_long_mode(&tv->vm->vcpus[v], tv->l.pml4, tv->l.tss,
					tv->l.code, first, count);
	}
	rec->setup_pages = tv->l.setup_pages;
	rec->page_table_pages = (tv->l.code - tv->l.pml4) / PAGE_SIZE;
}

/*
 * Between rounds: delete slot 0 and add it back. Every shadow page of the VM
 * shadows a guest page table in slot 0, so KVM zaps them all and with them
 * every SPTE, whether or not it zaps all slots on a deletion (the
 * SLOT_ZAP_ALL quirk). One deletion instead of M+1 keeps rounds cheap.
 */
static void zap_round(struct testvm *tv, struct testvm_record *rec)
{
	clear_accessed_dirty(tv);
	vm_memslot_delete(tv->vm, 0);
	vm_memslot_set(tv->vm, 0);
	rec->slot_deletes++;
}

static int stop_requested(void)
{
	sigset_t pending;

	sigpending(&pending);
	return sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM);
}

static void fill_record(struct testvm *tv, struct testvm_record *rec)
{
	const struct testvm_config *cfg = tv->cfg;
	int i;

	rec->vcpus = cfg->vcpus;
	rec->pages_touched = cfg->pages;
	/*
	 * Shadow paging: only the code page; KVM's walker reads the guest page
	 * tables through the host mapping. With EPT/NPT the CPU's own walks
	 * touch every page-table page through the TDP tables as well.
	 */
	rec->setup_pages_touched = 1 + (cfg->tdp ? rec->page_table_pages : 0);
	rec->expected_data_installs = cfg->pages * rec->rounds;
	rec->expected_setup_installs = rec->setup_pages_touched * rec->rounds;
	rec->nr_slots = tv->vm->nr_slots;
	for (i = 0; i < tv->vm->nr_slots; i++) {
		struct memslot *s = &tv->vm->slots[i];
		struct slot_record *sr = &rec->slots[i];

		sr->id = s->id;
		sr->flags = s->flags;
		sr->gpa = s->gpa;
		sr->size = s->size;
		sr->host_addr = (uintptr_t)s->host;
		sr->pages = s->size / PAGE_SIZE;
		sr->touched_pages = i ? sr->pages : rec->setup_pages_touched;
		sr->expected_installs = sr->touched_pages * rec->rounds;
	}
	for (i = 0; i < cfg->vcpus; i++) {
		rec->exits_io += tv->vcpus[i].exits_io;
		rec->exits_other += tv->vcpus[i].exits_other;
	}
}

int testvm_run(const struct testvm_config *cfg, int index, struct vm *vm,
	       struct testvm_record *rec)
{
	struct testvm tv = { .cfg = cfg, .vm = vm };
	struct testvm_vcpu vcpus[cfg->vcpus];
	uint64_t t0 = now_ns();
	int r, v, ret = 0;

	memset(rec, 0, testvm_record_size(cfg->slots + 1));
	rec->index = index;
	rec->pid = getpid();
	snprintf(rec->name, sizeof(rec->name), "testvm%d", index);
	prctl(PR_SET_NAME, rec->name);

	vm_setup(&tv, rec);
	tv.vcpus = vcpus;
	pthread_barrier_init(&tv.go, NULL, cfg->vcpus + 1);
	pthread_barrier_init(&tv.done, NULL, cfg->vcpus + 1);
	for (v = 0; v < cfg->vcpus; v++) {
		vcpus[v] = (struct testvm_vcpu){ .tv = &tv, .idx = v };
		errno = pthread_create(&vcpus[v].thread, NULL, vcpu_thread,
				       &vcpus[v]);
		TEST_ASSERT(!errno, "cannot start the thread of vcpu %d", v);
	}

	rec->start_ns = now_ns();
	rec->setup_ns = rec->start_ns - t0;
	for (r = 0; r < cfg->repeat; r++) {
		if (r && stop_requested()) {
			ret = -EINTR;
			break;
		}
		if (r)
			zap_round(&tv, rec);
		pthread_barrier_wait(&tv.go);
		pthread_barrier_wait(&tv.done);
		rec->rounds++;
	}
	rec->end_ns = now_ns();

	tv.stop = 1;
	pthread_barrier_wait(&tv.go);
	for (v = 0; v < cfg->vcpus; v++)
		pthread_join(vcpus[v].thread, NULL);
	pthread_barrier_destroy(&tv.go);
	pthread_barrier_destroy(&tv.done);
	fill_record(&tv, rec);
	return ret;
}

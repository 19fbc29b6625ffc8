// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include "kvm_util.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

void test_assert_fail(const char *file, int line, const char *cond,
		      const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	fprintf(stderr, "kvmmt-testvmm: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (%s:%d: %s; errno %d: %s)\n", file, line, cond, err,
		strerror(err));
	fflush(stderr);
	_exit(1);
}

int kvm_open(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int kvm_check_cap(int kvm_fd, long cap)
{
	int r = ioctl(kvm_fd, KVM_CHECK_EXTENSION, cap);

	TEST_ASSERT(r >= 0, "KVM_CHECK_EXTENSION %ld failed", cap);
	return r;
}

void vm_create(struct vm *vm, int nr_slots, int nr_vcpus)
{
	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = kvm_open();
	errno = -vm->kvm_fd;
	TEST_ASSERT(vm->kvm_fd >= 0, "cannot open /dev/kvm");
	vm->fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	TEST_ASSERT(vm->fd >= 0, "KVM_CREATE_VM failed");
	vm->slots = calloc(nr_slots, sizeof(*vm->slots));
	vm->vcpus = calloc(nr_vcpus, sizeof(*vm->vcpus));
	TEST_ASSERT(vm->slots && vm->vcpus, "out of memory");
	vm->nr_slots = nr_slots;
	vm->nr_vcpus = nr_vcpus;
}

void vm_destroy(struct vm *vm)
{
	int i;

	for (i = 0; i < vm->nr_vcpus; i++) {
		if (vm->vcpus[i].run)
			munmap(vm->vcpus[i].run, vm->vcpus[i].run_size);
		if (vm->vcpus[i].fd > 0)
			close(vm->vcpus[i].fd);
	}
	close(vm->fd);
	for (i = 0; i < vm->nr_slots; i++)
		if (vm->slots[i].host)
			munmap(vm->slots[i].host, vm->slots[i].size);
	close(vm->kvm_fd);
	free(vm->slots);
	free(vm->vcpus);
}

static void vm_set_region(struct vm *vm, struct memslot *s, uint64_t size)
{
	struct kvm_userspace_memory_region r = {
		.slot = s->id,
		.flags = s->flags,
		.guest_phys_addr = s->gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)s->host,
	};

	TEST_ASSERT(!ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &r),
		    "KVM_SET_USER_MEMORY_REGION slot %u gpa 0x%llx size 0x%llx failed",
		    s->id, (unsigned long long)s->gpa,
		    (unsigned long long)size);
}

void vm_memslot_add(struct vm *vm, uint32_t id, uint64_t gpa, uint64_t size,
		    uint32_t flags)
{
	struct memslot *s = &vm->slots[id];

	TEST_ASSERT((int)id < vm->nr_slots, "slot %u out of range", id);
	s->host = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(s->host != MAP_FAILED, "mmap of %llu bytes for slot %u failed",
		    (unsigned long long)size, id);
	/* 4K host pages, so a TDP host cannot map one huge SPTE for many pages. */
	madvise(s->host, size, MADV_NOHUGEPAGE);
	/* Populated up front so the rate measured is KVM's, not page allocation. */
	if (madvise(s->host, size, MADV_POPULATE_WRITE))
		memset(s->host, 0, size);
	s->id = id;
	s->flags = flags;
	s->gpa = gpa;
	s->size = size;
	vm_set_region(vm, s, size);
}

void vm_memslot_add_file(struct vm *vm, uint32_t id, uint64_t gpa, uint64_t size,
			 uint32_t flags, const char *path)
{
	struct memslot *s = &vm->slots[id];
	int fd;

	TEST_ASSERT((int)id < vm->nr_slots, "slot %u out of range", id);
	fd = open(path, O_RDWR | O_CLOEXEC);
	TEST_ASSERT(fd >= 0, "cannot open %s for slot %u", path, id);
	s->host = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	TEST_ASSERT(s->host != MAP_FAILED, "mmap of %llu bytes of %s for slot %u failed",
		    (unsigned long long)size, path, id);
	close(fd);
	s->id = id;
	s->flags = flags;
	s->gpa = gpa;
	s->size = size;
	vm_set_region(vm, s, size);
}

void vm_memslot_set(struct vm *vm, uint32_t id)
{
	vm_set_region(vm, &vm->slots[id], vm->slots[id].size);
}

void vm_memslot_delete(struct vm *vm, uint32_t id)
{
	vm_set_region(vm, &vm->slots[id], 0);
}

void *vm_gpa_to_hva(struct vm *vm, uint64_t gpa)
{
	int i;

	for (i = 0; i < vm->nr_slots; i++) {
		struct memslot *s = &vm->slots[i];

		if (s->host && gpa >= s->gpa && gpa - s->gpa < s->size)
			return (char *)s->host + (gpa - s->gpa);
	}
	TEST_ASSERT(0, "no memslot holds gpa 0x%llx", (unsigned long long)gpa);
}

/*
 * KVM_GET_SUPPORTED_CPUID into a buffer that grows until it fits, as the
 * KVM selftests do (kvm_get_supported_cpuid()). The caller frees it.
 */
static struct kvm_cpuid2 *kvm_supported_cpuid(int kvm_fd)
{
	struct kvm_cpuid2 *cpuid = NULL;
	int nent = 64;

	for (;;) {
		free(cpuid);
		cpuid = calloc(1, sizeof(*cpuid) +
				  nent * sizeof(struct kvm_cpuid_entry2));
		TEST_ASSERT(cpuid, "out of memory");
		cpuid->nent = nent;
		if (!ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid))
			return cpuid;
		TEST_ASSERT(errno == E2BIG && nent < 4096,
			    "KVM_GET_SUPPORTED_CPUID failed");
		nent *= 2;
	}
}

void vm_vcpu_add(struct vm *vm, int id)
{
	struct kvm_cpuid2 *cpuid;

	struct vcpu *v = &vm->vcpus[id];
	int size;

	v->id = id;
	v->fd = ioctl(vm->fd, KVM_CREATE_VCPU, id);
	TEST_ASSERT(v->fd >= 0, "KVM_CREATE_VCPU %d failed", id);
	size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	TEST_ASSERT(size > 0, "KVM_GET_VCPU_MMAP_SIZE failed");
	v->run_size = size;
	v->run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	TEST_ASSERT(v->run != MAP_FAILED, "mmap of vcpu %d kvm_run failed", id);
	/*
	 * A new vCPU has an empty CPUID, and KVM checks EFER and CR4 against
	 * it (kvm_valid_efer(): LME/LMA need CPUID LM, NXE needs NX): without
	 * this, VMX and SVM refuse the long-mode KVM_SET_SREGS with EINVAL.
	 */
	cpuid = kvm_supported_cpuid(vm->kvm_fd);
	TEST_ASSERT(!ioctl(v->fd, KVM_SET_CPUID2, cpuid),
		    "KVM_SET_CPUID2 vcpu %d failed", id);
	free(cpuid);
}

static void set_seg(struct kvm_segment *s, uint16_t sel, uint8_t type,
		    uint8_t l, uint8_t db)
{
	*s = (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
		.present = 1, .dpl = 3, .db = db, .s = 1, .l = l, .g = 1,
	};
}

void vcpu_set_user_long_mode(struct vcpu *vcpu, uint64_t cr3, uint64_t tss,
			     uint64_t rip, uint64_t rdi, uint64_t rsi)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	TEST_ASSERT(!ioctl(vcpu->fd, KVM_GET_SREGS, &sregs),
		    "KVM_GET_SREGS vcpu %d failed", vcpu->id);
	/* The CPL comes from SS.DPL: 3 is what makes the guest run natively. */
	set_seg(&sregs.cs, 0x33, 0xb, 1, 0);
	set_seg(&sregs.ss, 0x2b, 0x3, 0, 1);
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss;
	sregs.tr = (struct kvm_segment){
		.base = tss, .limit = PAGE_SIZE - 1, .selector = 0x40, .type = 11,
		.present = 1,
	};
	sregs.ldt = (struct kvm_segment){ .unusable = 1 };
	sregs.cr0 = 0x80050033;	/* PG WP NE ET MP PE */
	sregs.cr4 = 0x620;	/* OSXMMEXCPT OSFXSR PAE */
	sregs.cr3 = cr3;
	sregs.efer = 0xd01;	/* NXE LMA LME SCE */
	TEST_ASSERT(!ioctl(vcpu->fd, KVM_SET_SREGS, &sregs),
		    "KVM_SET_SREGS vcpu %d failed", vcpu->id);

	memset(&regs, 0, sizeof(regs));
	regs.rip = rip;
	regs.rsp = rip;		/* canonical; the guest code never uses a stack */
	regs.rdi = rdi;
	regs.rsi = rsi;
	regs.rflags = 0x3202;	/* IOPL 3 so the final OUT exits instead of #GP */
	TEST_ASSERT(!ioctl(vcpu->fd, KVM_SET_REGS, &regs),
		    "KVM_SET_REGS vcpu %d failed", vcpu->id);
}

void vcpu_run(struct vcpu *vcpu)
{
	int r;

	do {
		r = ioctl(vcpu->fd, KVM_RUN, 0);
	} while (r < 0 && errno == EINTR);
	TEST_ASSERT(!r, "KVM_RUN vcpu %d failed", vcpu->id);
}

static const char *const exit_reasons[] = {
	[KVM_EXIT_UNKNOWN] = "UNKNOWN",
	[KVM_EXIT_EXCEPTION] = "EXCEPTION",
	[KVM_EXIT_IO] = "IO",
	[KVM_EXIT_HYPERCALL] = "HYPERCALL",
	[KVM_EXIT_DEBUG] = "DEBUG",
	[KVM_EXIT_HLT] = "HLT",
	[KVM_EXIT_MMIO] = "MMIO",
	[KVM_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN",
	[KVM_EXIT_SHUTDOWN] = "SHUTDOWN",
	[KVM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY",
	[KVM_EXIT_INTR] = "INTR",
	[KVM_EXIT_SET_TPR] = "SET_TPR",
	[KVM_EXIT_TPR_ACCESS] = "TPR_ACCESS",
	[KVM_EXIT_NMI] = "NMI",
	[KVM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
	[KVM_EXIT_SYSTEM_EVENT] = "SYSTEM_EVENT",
	[KVM_EXIT_X86_RDMSR] = "X86_RDMSR",
	[KVM_EXIT_X86_WRMSR] = "X86_WRMSR",
};

const char *exit_reason_str(uint32_t reason)
{
	if (reason < sizeof(exit_reasons) / sizeof(exit_reasons[0]) &&
	    exit_reasons[reason])
		return exit_reasons[reason];
	return "OTHER";
}

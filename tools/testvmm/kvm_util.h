/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Small helpers around the /dev/kvm ioctls, in the manner of the KVM
 * selftests' kvm_util: each hides one piece of ioctl boilerplate and stops
 * the process with file, line and errno when the kernel says no.
 */
#ifndef TESTVMM_KVM_UTIL_H
#define TESTVMM_KVM_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>

#define PAGE_SIZE		4096ULL
#define PAGE_SHIFT		12

void test_assert_fail(const char *file, int line, const char *cond,
		      const char *fmt, ...)
	__attribute__((format(printf, 4, 5), noreturn));

#define TEST_ASSERT(cond, fmt, ...)					\
	do {								\
		if (!(cond))						\
			test_assert_fail(__FILE__, __LINE__, #cond,	\
					 fmt, ##__VA_ARGS__);		\
	} while (0)

/* One KVM_SET_USER_MEMORY_REGION slot backed by its own shared mapping. */
struct memslot {
	uint32_t id;
	uint32_t flags;
	uint64_t gpa;
	uint64_t size;
	void *host;
};

struct vcpu {
	int id;
	int fd;
	struct kvm_run *run;
	size_t run_size;
};

struct vm {
	int kvm_fd;
	int fd;
	int nr_vcpus;
	struct vcpu *vcpus;
	int nr_slots;
	struct memslot *slots;
};

/* Open /dev/kvm; returns the fd or -errno without stopping the process. */
int kvm_open(void);
int kvm_check_cap(int kvm_fd, long cap);

void vm_create(struct vm *vm, int nr_slots, int nr_vcpus);
void vm_destroy(struct vm *vm);

/* mmap a shared anonymous region, populate it, register it as slot @id. */
void vm_memslot_add(struct vm *vm, uint32_t id, uint64_t gpa, uint64_t size,
		    uint32_t flags);
/*
 * The same, with the slot's memory a shared mapping of @path (for example a
 * PCI BAR's sysfs resourceN_wc): device memory the host maps with its own
 * type, as a VMM does for a device it hands to its guest.
 */
void vm_memslot_add_file(struct vm *vm, uint32_t id, uint64_t gpa, uint64_t size,
			 uint32_t flags, const char *path);
/* Re-register an existing slot (after vm_memslot_delete) with its memory. */
void vm_memslot_set(struct vm *vm, uint32_t id);
/* Delete slot @id from KVM (size 0); its host mapping stays. */
void vm_memslot_delete(struct vm *vm, uint32_t id);
void *vm_gpa_to_hva(struct vm *vm, uint64_t gpa);

/* Create vCPU @id with the CPUID KVM supports (KVM_GET_SUPPORTED_CPUID). */
void vm_vcpu_add(struct vm *vm, int id);
/*
 * CPL3, 64-bit long mode, paging at @cr3, a one-page TSS at @tss: the mode
 * that runs natively on a PVM host. rdi and rsi are the guest's arguments.
 */
void vcpu_set_user_long_mode(struct vcpu *vcpu, uint64_t cr3, uint64_t tss,
			     uint64_t rip, uint64_t rdi, uint64_t rsi);
void vcpu_run(struct vcpu *vcpu);

const char *exit_reason_str(uint32_t reason);

#endif

// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * kvmmt-zapvmm: a VM whose guest memory is taken away in known amounts,
 * for the zap-cause tests.
 *
 *   kvmmt-zapvmm PAGES MADVISE MUNMAP [HOLD_MS [EXTRA]]
 *
 * Creates a VM with two memslots of PAGES 4K pages each (slot 1 at 1 GiB,
 * slot 2 at 2 GiB), then: MADV_DONTNEED of the first MADVISE pages of
 * slot 1, munmap of the last MUNMAP pages of slot 1 (two MMU-notifier
 * invalidations), dirty logging turned on for slot 1 (a flags change) and
 * deletion of slot 2 (a memslot deletion). Waits HOLD_MS between steps,
 * prints what it did as JSON and exits.
 *
 * With EXTRA, the VM first takes an MMU-notifier invalidation of memory
 * that is not guest memory, then EXTRA one-page memslots (slots 3 and up,
 * from 3 GiB) before slots 1 and 2: the data path learns of every slot
 * after the VM's first invalidation, and of more slots than it keeps in
 * a VM's slot index when EXTRA is large. None of them is touched.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/kvm.h>
#include "vmm-util.h"

#define PAGE	4096UL

const char *vmm_name = "kvmmt-zapvmm";

static void set_slot(int vm, unsigned int id, unsigned long gpa, void *host,
		     unsigned long size, unsigned int flags)
{
	struct kvm_userspace_memory_region r = {
		.slot = id, .flags = flags, .guest_phys_addr = gpa, .memory_size = size,
		.userspace_addr = (unsigned long)host,
	};

	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r))
		die("KVM_SET_USER_MEMORY_REGION");
}

int main(int argc, char **argv)
{
	unsigned long pages, madv, unmap, extra = 0;
	long hold = 100;
	char *s1, *s2, *sx;
	int kvm, vm;

	if (argc < 4) {
		fprintf(stderr, "usage: kvmmt-zapvmm PAGES MADVISE MUNMAP [HOLD_MS [EXTRA]]\n");
		return 2;
	}
	pages = strtoul(argv[1], NULL, 0);
	madv = strtoul(argv[2], NULL, 0);
	unmap = strtoul(argv[3], NULL, 0);
	if (argc > 4)
		hold = strtol(argv[4], NULL, 0);
	if (argc > 5)
		extra = strtoul(argv[5], NULL, 0);
	if (!pages || madv > pages || unmap > pages - madv) {
		fprintf(stderr, "kvmmt-zapvmm: MADVISE + MUNMAP must fit in PAGES\n");
		return 2;
	}
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		die("/dev/kvm");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		die("KVM_CREATE_VM");
	s1 = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	s2 = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s1 == MAP_FAILED || s2 == MAP_FAILED)
		die("mmap");
	if (extra) {
		sx = mmap(NULL, extra * PAGE, PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (sx == MAP_FAILED)
			die("mmap");
		if (madvise(sx, PAGE, MADV_DONTNEED))
			die("madvise");
		for (unsigned long i = 0; i < extra; i++)
			set_slot(vm, 3 + i, (3UL << 30) + i * PAGE, sx + i * PAGE, PAGE, 0);
	}
	set_slot(vm, 1, 1UL << 30, s1, pages * PAGE, 0);
	set_slot(vm, 2, 2UL << 30, s2, pages * PAGE, 0);
	pause_ms(hold);
	if (madv && madvise(s1, madv * PAGE, MADV_DONTNEED))
		die("madvise");
	pause_ms(hold);
	if (unmap && munmap(s1 + (pages - unmap) * PAGE, unmap * PAGE))
		die("munmap");
	pause_ms(hold);
	set_slot(vm, 1, 1UL << 30, s1, pages * PAGE, KVM_MEM_LOG_DIRTY_PAGES);
	pause_ms(hold);
	set_slot(vm, 2, 2UL << 30, s2, 0, 0);
	pause_ms(hold);
	printf("{\"pid\": %d, \"pages\": %lu, \"madvise\": %lu, \"munmap\": %lu, "
	       "\"flags_changed\": %lu, \"deleted\": %lu, \"extra_slots\": %lu}\n",
	       getpid(), pages, madv, unmap, pages, pages, extra);
	fflush(stdout);
	/* the VM goes first, so unmapping the rest is nobody's invalidation */
	close(vm);
	close(kvm);
	return 0;
}

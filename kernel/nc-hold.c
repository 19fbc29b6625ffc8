// SPDX-License-Identifier: GPL-2.0-only
/*
 * nc-hold: hold a VM with a KVM_MEM_NON_COHERENT_DMA memslot and a
 * non-coherent KVM VIRTIO device, so that tools observing KVM from outside
 * (kvmmt-top, tracefs) can be checked against a known state.  Used inside the
 * tools/kernel-test guest.
 *
 * It prints "ready <pid>" once the device is set non-coherent, releases the
 * device at the first line read from stdin and prints "released", and exits at
 * end of input.  Exit status 1 with a message on any failed ioctl.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/kvm.h>

#define SLOT_GPA	0xc0000000ull
#define SLOT_SIZE	0x200000ull

static int fail(const char *what)
{
	fprintf(stderr, "nc-hold: %s: %s\n", what, strerror(errno));
	return 1;
}

int main(void)
{
	struct kvm_create_device cd = { .type = KVM_DEV_TYPE_VIRTIO };
	struct kvm_device_attr attr = {
		.group = KVM_DEV_VIRTIO_NONCOHERENT,
		.attr = KVM_DEV_VIRTIO_NONCOHERENT_SET,
	};
	struct kvm_userspace_memory_region region = {
		.slot = 1,
		.flags = KVM_MEM_NON_COHERENT_DMA,
		.guest_phys_addr = SLOT_GPA,
		.memory_size = SLOT_SIZE,
	};
	char line[16];
	void *mem;
	int kvm, vm;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return fail("open /dev/kvm");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail("KVM_CREATE_VM");
	if (ioctl(vm, KVM_CREATE_VCPU, 0) < 0)
		return fail("KVM_CREATE_VCPU");
	mem = mmap(NULL, SLOT_SIZE, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return fail("mmap");
	region.userspace_addr = (unsigned long)mem;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region))
		return fail("KVM_SET_USER_MEMORY_REGION with KVM_MEM_NON_COHERENT_DMA");
	if (ioctl(vm, KVM_CREATE_DEVICE, &cd))
		return fail("KVM_CREATE_DEVICE KVM_DEV_TYPE_VIRTIO");
	if (ioctl(cd.fd, KVM_SET_DEVICE_ATTR, &attr))
		return fail("KVM_DEV_VIRTIO_NONCOHERENT_SET");

	printf("ready %d\n", getpid());
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 0;
	close(cd.fd);
	printf("released\n");
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin))
		;
	return 0;
}

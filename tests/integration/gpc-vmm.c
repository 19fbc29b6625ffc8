// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * kvmmt-gpcvmm: a VM whose memory the host kernel maps itself, for the
 * host-side mapping tests.
 *
 *   kvmmt-gpcvmm READY_FILE [VCPUS]
 *
 * Sets the kvmclock (MSR_KVM_SYSTEM_TIME_NEW, from user space) of each of
 * its VCPUS vCPUs (default 1) to guest page 2, which KVM backs with a
 * gfn-to-pfn cache per vCPU: one activation each. Then munmaps that page
 * (one invalidation of each cache), clears the MSRs (one deactivation
 * each), and offers a kvm-vfio device a file that is not a
 * VFIO file, once to add and once to delete (two refused calls). Writes
 * what it did as JSON to READY_FILE and waits for SIGTERM before the VM
 * goes, so the VM's teardown is not counted.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/kvm.h>
#include "vmm-util.h"

#define PAGE			4096UL
#define MSR_KVM_SYSTEM_TIME_NEW	0x4b564d01
#define PVTIME_GPA		(2 * PAGE)
#define MAX_VCPUS		512

const char *vmm_name = "kvmmt-gpcvmm";

static int set_msr(int vcpu, __u32 index, __u64 data)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e = { .index = index, .data = data } };

	return ioctl(vcpu, KVM_SET_MSRS, &m);
}

/* 0 or the errno of a KVM_DEV_VFIO_FILE attribute call with @fd. */
static int vfio_file(int dev, __u64 attr, int fd)
{
	struct kvm_device_attr a = {
		.group = KVM_DEV_VFIO_GROUP, .attr = attr, .addr = (unsigned long)&fd,
	};

	return ioctl(dev, KVM_SET_DEVICE_ATTR, &a) ? errno : 0;
}

int main(int argc, char **argv)
{
	struct kvm_create_device cd = { .type = KVM_DEV_TYPE_VFIO };
	int kvm, vm, nul, activated = 0, deactivated = 0, add = -1, del = -1, i, n = 1;
	struct kvm_userspace_memory_region r = { .slot = 0, .memory_size = 16 * PAGE };
	int vcpu[MAX_VCPUS];
	sigset_t set;
	char *mem, *end;
	FILE *f;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: kvmmt-gpcvmm READY_FILE [VCPUS]\n");
		return 2;
	}
	if (argc == 3) {
		n = strtol(argv[2], &end, 10);
		if (!*argv[2] || *end || n < 1 || n > MAX_VCPUS) {
			fprintf(stderr, "kvmmt-gpcvmm: VCPUS '%s' is not 1 to %d\n", argv[2],
				MAX_VCPUS);
			return 2;
		}
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		die("/dev/kvm");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		die("KVM_CREATE_VM");
	mem = mmap(NULL, r.memory_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap");
	memset(mem, 0, r.memory_size);
	r.userspace_addr = (unsigned long)mem;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r))
		die("KVM_SET_USER_MEMORY_REGION");
	for (i = 0; i < n; i++) {
		vcpu[i] = ioctl(vm, KVM_CREATE_VCPU, i);
		if (vcpu[i] < 0)
			die("KVM_CREATE_VCPU");
	}
	pause_ms(100);
	for (i = 0; i < n; i++)
		activated += set_msr(vcpu[i], MSR_KVM_SYSTEM_TIME_NEW, PVTIME_GPA | 1) == 1;
	pause_ms(100);
	if (munmap(mem + PVTIME_GPA, PAGE))
		die("munmap");
	pause_ms(100);
	for (i = 0; i < n; i++)
		deactivated += set_msr(vcpu[i], MSR_KVM_SYSTEM_TIME_NEW, 0) == 1;
	pause_ms(100);
	nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (!ioctl(vm, KVM_CREATE_DEVICE, &cd)) {
		add = vfio_file(cd.fd, KVM_DEV_VFIO_GROUP_ADD, nul);
		del = vfio_file(cd.fd, KVM_DEV_VFIO_GROUP_DEL, nul);
	}
	pause_ms(100);
	f = fopen(argv[1], "w");
	if (!f)
		die(argv[1]);
	fprintf(f, "{\"pid\": %d, \"gfn\": %lu, \"vcpus\": %d, \"activated\": %d, "
		"\"deactivated\": %d, \"vfio_device\": %s, \"vfio_add_errno\": %d, "
		"\"vfio_del_errno\": %d}\n",
		getpid(), PVTIME_GPA / PAGE, n, activated, deactivated,
		add >= 0 ? "true" : "false", add, del);
	fclose(f);
	sigwaitinfo(&set, NULL);
	for (i = 0; i < n; i++)
		close(vcpu[i]);
	close(vm);
	close(kvm);
	return 0;
}

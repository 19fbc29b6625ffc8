// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * kvmmt-iterslots: the VM iterator against the memslot changes it must see.
 *
 *   kvmmt-iterslots
 *
 * Loads the data path, then changes the memslots of VMs of its own and
 * reads the iterator twice after each change: the first read must walk the
 * VM and list exactly its memslots, the second must list the same without
 * walking it (the memslots are unchanged). The changes: a slot added, a
 * second one added, dirty logging turned on in the first (a flags change),
 * the first deleted; then the VM closed and a new one made with as many
 * memslot changes (the same generation) but other slots; then a VM with
 * more slots than the iterator sends. Also: the VM record carries the
 * process's mm write-lock sequence exactly where the kernel's BTF has
 * mm_struct.mm_lock_seq, and a mapping made and unmapped moves it. Prints
 * a line per check, "ok" or "not ok"; exits 1 if one failed, 77 without
 * /dev/kvm.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/kvm.h>
#include <bpf/btf.h>
#include "datapath.h"
#include "vmm-util.h"

#define PAGE		4096UL
#define MAX_SLOTS	80
#define NEW_VM		"a new VM, as many changes"

const char *vmm_name = "kvmmt-iterslots";

struct slot {
	__u16 id;
	__u32 flags;
	__u64 gpa, pages;
	void *host;
};

static struct slot model[MAX_SLOTS];
static int nr_model, failed;
static struct kvmmt_dp *dp;
static __u64 last_kvm;		/* the struct kvm last listed */

static void check(int ok, const char *fmt, const char *what)
{
	printf("%s %s%s\n", ok ? "ok" : "not ok", fmt, what);
	failed |= !ok;
}

static void set_slot(int vm, struct slot *s)
{
	struct kvm_userspace_memory_region r = {
		.slot = s->id, .flags = s->flags, .guest_phys_addr = s->gpa,
		.memory_size = s->pages * PAGE, .userspace_addr = (__u64)s->host,
	};

	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r))
		die("KVM_SET_USER_MEMORY_REGION");
}

static void add_slot(int vm, __u16 id, __u64 gpa, __u64 pages)
{
	struct slot *s = &model[nr_model++];

	*s = (struct slot){ .id = id, .gpa = gpa, .pages = pages };
	s->host = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (s->host == MAP_FAILED)
		die("mmap");
	set_slot(vm, s);
}

static void del_slot(int vm, int i)
{
	struct slot s = model[i];

	s.pages = 0;
	set_slot(vm, &s);
	munmap(model[i].host, model[i].pages * PAGE);
	model[i] = model[--nr_model];
}

/* Closes VM @vm (if any) and its slots' memory; returns a new VM. */
static int new_vm(int kvm, int vm)
{
	if (vm >= 0)
		close(vm);
	for (int i = 0; i < nr_model; i++)
		munmap(model[i].host, model[i].pages * PAGE);
	nr_model = 0;
	if (kvm < 0)
		return -1;
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		die("KVM_CREATE_VM");
	return vm;
}

static const struct slot *modelled(const struct kvmmt_slot_rec *r)
{
	for (int i = 0; i < nr_model; i++)
		if (model[i].id == r->id && !r->as_id &&
		    model[i].gpa == r->base_gfn * PAGE &&
		    model[i].pages == r->npages && model[i].flags == r->flags &&
		    (__u64)model[i].host == r->userspace_addr)
			return &model[i];
	return NULL;
}

/* The iterator's VMs now; a read that fails ends the test. */
static void read_vms(struct kvmmt_vm_list *l)
{
	struct kvmmt_err e = {};

	if (kvmmt_dp_read_vms(dp, l, &e)) {
		fprintf(stderr, "%s: %s\n", vmm_name, e.msg);
		exit(1);
	}
}

/*
 * Reads the iterator: this process's VM must be listed once with the
 * model's slots (the first KVMMT_ITER_MAX_SLOTS of them, marked truncated,
 * if there are more), walked or not as @walk says.
 */
static void read_check(const char *step, int walk)
{
	struct kvmmt_vm_list l;
	const struct kvmmt_vm_info *mine = NULL;
	int n = 0, want = nr_model, match = 0, trunc;
	char what[160];

	read_vms(&l);
	for (size_t i = 0; i < l.n; i++)
		if (l.v[i].vm.tgid == (__u32)getpid()) {
			mine = &l.v[i];
			n++;
		}
	snprintf(what, sizeof(what), "%s: the VM is listed once", step);
	check(n == 1, "", what);
	if (n != 1)
		goto out;
	if (!strcmp(step, NEW_VM))
		printf("# %s: %s\n", step, mine->vm.kvm_id == last_kvm ?
		       "the last VM's struct kvm, reused" : "another struct kvm than the last");
	last_kvm = mine->vm.kvm_id;
	trunc = want > KVMMT_ITER_MAX_SLOTS;
	if (trunc)
		want = KVMMT_ITER_MAX_SLOTS;
	for (unsigned int i = 0; i < mine->nr_slots; i++)
		match += modelled(&mine->slots[i]) != NULL;
	snprintf(what, sizeof(what), "%s: %u slots listed, %d as made, want %d%s",
		 step, mine->nr_slots, match, want, trunc ? " (truncated)" : "");
	check((int)mine->nr_slots == want && match == want &&
	      !(mine->vm.valid & KVMMT_VF_TRUNCATED) == !trunc, "", what);
	snprintf(what, sizeof(what), "%s: %s", step,
		 walk ? "the memslots were walked" : "the memslots were not walked (unchanged)");
	check(mine->walked == walk, "", what);
out:
	kvmmt_vm_list_free(&l);
}

/* This process's VM record from a fresh read of the iterator. */
static struct kvmmt_vm_rec my_record(void)
{
	struct kvmmt_vm_rec r = {};
	struct kvmmt_vm_list l;

	read_vms(&l);
	for (size_t i = 0; i < l.n; i++)
		if (l.v[i].vm.tgid == (__u32)getpid())
			r = l.v[i].vm;
	kvmmt_vm_list_free(&l);
	return r;
}

/* Whether @t (a struct or union) has a member @name, in anonymous ones too. */
static int has_member(const struct btf *btf, const struct btf_type *t, const char *name)
{
	const struct btf_member *m = btf_members(t);

	for (int i = 0; i < btf_vlen(t); i++) {
		const struct btf_type *mt = btf__type_by_id(btf, m[i].type);
		const char *n = btf__name_by_offset(btf, m[i].name_off);

		if (n && *n ? !strcmp(n, name) :
		    mt && btf_is_composite(mt) && has_member(btf, mt, name))
			return 1;
	}
	return 0;
}

/* Whether the running kernel's BTF names struct mm_struct's mm_lock_seq. */
static int kernel_has_mm_lock_seq(void)
{
	struct btf *btf = btf__load_vmlinux_btf();
	const struct btf_type *t;
	int id, found;

	if (!btf)
		return -1;
	id = btf__find_by_name_kind(btf, "mm_struct", BTF_KIND_STRUCT);
	t = id > 0 ? btf__type_by_id(btf, id) : NULL;
	found = t && has_member(btf, t, "mm_lock_seq");
	btf__free(btf);
	return found;
}

static void mm_seq_check(void)
{
	int has = kernel_has_mm_lock_seq();
	struct kvmmt_vm_rec before = my_record(), after;
	void *p;

	if (has < 0) {
		check(0, "the kernel's BTF can be read", "");
		return;
	}
	check(!(before.valid & KVMMT_VF_MM_SEQ) == !has,
	      has ? "the VM record carries the mm sequence (the kernel has mm_lock_seq)"
		  : "the VM record carries no mm sequence (the kernel has no mm_lock_seq)", "");
	p = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || munmap(p, PAGE)) {
		perror("mmap");
		exit(1);
	}
	after = my_record();
	if (has)
		check(after.mm_seq != before.mm_seq, "a mapping made and unmapped moves the mm sequence", "");
	else
		check(!(after.valid & KVMMT_VF_MM_SEQ), "still no mm sequence after a mapping", "");
	printf("# mm sequence %u, then %u\n", before.mm_seq, after.mm_seq);
}

int main(void)
{
	struct kvmmt_dp_opts opts = {};
	struct kvmmt_err e = {};
	int kvm, vm, i;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		printf("SKIP: no /dev/kvm: %s\n", strerror(errno));
		return 77;
	}
	if (kvmmt_dp_open(&dp, &opts, &e)) {
		fprintf(stderr, "%s: %s\n", vmm_name, e.msg);
		return 1;
	}

	vm = new_vm(kvm, -1);
	add_slot(vm, 1, 1UL << 30, 16);
	read_check("one slot", 1);
	read_check("one slot, again", 0);
	mm_seq_check();
	add_slot(vm, 2, 2UL << 30, 32);
	read_check("a second slot", 1);
	read_check("a second slot, again", 0);
	model[0].flags = KVM_MEM_LOG_DIRTY_PAGES;
	set_slot(vm, &model[0]);
	read_check("dirty logging on slot 1", 1);
	read_check("dirty logging on slot 1, again", 0);
	del_slot(vm, 0);
	read_check("slot 1 deleted", 1);
	read_check("slot 1 deleted, again", 0);

	/*
	 * A new VM after four memslot changes, as the last: its generation
	 * is the last one's, and it may well have the last one's address.
	 */
	vm = new_vm(kvm, vm);
	add_slot(vm, 3, 3UL << 30, 8);
	add_slot(vm, 4, 4UL << 30, 8);
	add_slot(vm, 5, 5UL << 30, 8);
	add_slot(vm, 6, 6UL << 30, 8);
	read_check(NEW_VM, 1);
	read_check("a new VM, again", 0);

	vm = new_vm(kvm, vm);
	for (i = 0; i < KVMMT_ITER_MAX_SLOTS + 6; i++)
		add_slot(vm, 10 + i, (8UL << 30) + i * (1UL << 21), 1);
	read_check("more slots than sent", 1);
	read_check("more slots than sent, again", 0);

	new_vm(-1, vm);
	kvmmt_dp_close(dp);
	close(kvm);
	return failed;
}

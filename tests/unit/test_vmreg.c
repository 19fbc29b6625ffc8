// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * The VM registry on a /proc tree written by the test: identity, host maps
 * read when a VM appears and again when due, events and iterator snapshots
 * into the risk model, a reused pid, the watch list and the hooks; smaps
 * re-read only when the mappings change (the kernel's mm write-lock
 * sequence, else /proc/PID/maps), and a real child process's exit
 * seen through its pidfd.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "vmreg.h"

/* EPT attrs as bpf/memattr.h packs them: IPAT << 3 | memtype. */
#define EPT_WB_IPAT	(8 | 6)
#define BAR_HVA		0x7f0000000000ULL
#define BAR_GFN		0x100000ULL
/* The VMM's mapping at BAR_HVA: a PCI BAR write-combining, or guest RAM. */
#define BAR_MAPS	"7f0000000000-7f0000010000 rw-s 00000000 00:05 12 " \
			"/sys/devices/pci0000:00/0000:00:03.0/resource0_wc\n"
#define BAR_SMAPS	BAR_MAPS "VmFlags: rd wr sh mr mw me ms io pf dd \n"
#define RAM_MAPS	"7f0000000000-7f0000010000 rw-s 00000000 00:05 12 /memfd:ram\n"

static char root[] = "/tmp/kvmmt-vmreg-XXXXXX";
static int added, removed;

static void put(pid_t pid, const char *file, const char *text, size_t len)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%d", root, (int)pid);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%d/%s", root, (int)pid, file);
	f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	fwrite(text, 1, len, f);
	fclose(f);
}

#define PUT(pid, file, lit)	put(pid, file, lit, sizeof(lit) - 1)

static void vmm(pid_t pid, unsigned long long start, const char *comm)
{
	char stat[256];
	int n = snprintf(stat, sizeof(stat),
			 "%d (%s) S 1 %d %d 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 %llu 0 0\n",
			 (int)pid, comm, (int)pid, (int)pid, start);

	put(pid, "stat", stat, n);
	put(pid, "comm", comm, strlen(comm));
	PUT(pid, "smaps", "");
}

static void setup(void)
{
	cr_assert_not_null(mkdtemp(root));
	added = removed = 0;
}

static void teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	cr_expect_eq(system(cmd), 0);
}

TestSuite(vmreg, .init = setup, .fini = teardown);

static int on_added(struct kvmmt_vm *vm, void *ctx)
{
	(void)ctx;
	added++;
	if (vm->pid == 666)
		return -EPERM;
	vm->priv = &added;
	return 0;
}

static void on_removed(struct kvmmt_vm *vm, void *ctx)
{
	(void)ctx;
	cr_assert_eq(vm->priv, &added, "the program's state is there to free");
	removed++;
}

static struct kvmmt_vmreg *reg_new(const pid_t *pids, size_t n)
{
	struct kvmmt_vmreg_opts o = {
		.fmt = KVMMT_FMT_EPT, .host_pat = KVMMT_LINUX_PAT, .proc_root = root,
		.reread_s = 10, .pids = pids, .nr_pids = n,
		.added = on_added, .removed = on_removed,
	};
	struct kvmmt_vmreg *r;
	struct kvmmt_err e = {};

	cr_assert_eq(kvmmt_vmreg_new(&r, &o, &e), 0, "%s", e.msg);
	return r;
}

static struct kvmmt_event install(pid_t pid, __u64 gfn, __u64 pfn)
{
	return (struct kvmmt_event){
		.type = KVMMT_EV_INSTALL, .tgid = pid, .gfn = gfn, .pfn = pfn, .slot = 2,
		.level = 1, .attr = EPT_WB_IPAT, .spte = pfn << 12 | 0x77,
	};
}

static struct kvmmt_policy_summary summary(const struct kvmmt_vm *vm)
{
	struct kvmmt_policy_summary s;

	kvmmt_policy_summary(vm->model, &s);
	return s;
}

/* A QEMU process @pid whose one mapping is guest RAM; a registry for it. */
static struct kvmmt_vmreg *ram_vmm(pid_t pid)
{
	vmm(pid, 1, "qemu-system-x86");
	PUT(pid, "maps", RAM_MAPS);
	return reg_new(NULL, 0);
}

/* A BAR memslot: its guest pages, their hva, and one iterator record. */
static struct kvmmt_vm_info bar_snapshot(pid_t pid, struct kvmmt_slot_rec *slot, int nc)
{
	*slot = (struct kvmmt_slot_rec){
		.kind = KVMMT_REC_SLOT, .id = 2, .base_gfn = BAR_GFN,
		.npages = 16, .userspace_addr = BAR_HVA,
	};
	return (struct kvmmt_vm_info){
		.vm = { .kind = KVMMT_REC_VM, .tgid = pid, .comm = "qemu-system-x86",
			.valid = KVMMT_VF_NONCOHERENT, .noncoherent_dma = nc, .nr_slots = 1 },
		.slots = slot, .nr_slots = 1,
	};
}

Test(vmreg, identity_from_the_command_line_and_stat)
{
	struct kvmmt_vmreg *r;
	struct kvmmt_vm *vm;

	vmm(100, 4242, "qemu-system-x86");
	PUT(100, "cmdline", "qemu-system-x86_64\0-name\0guest=web-1,debug-threads=on\0");
	vmm(200, 5000, "vmm");
	PUT(200, "cmdline", "./vmm\0");
	r = reg_new(NULL, 0);
	vm = kvmmt_vmreg_get(r, 100, NULL);
	cr_assert_not_null(vm);
	cr_assert_str_eq(vm->name, "web-1");
	cr_assert_eq(vm->name_src, KVMMT_NAME_QEMU);
	cr_assert_eq(vm->start_time, 4242);
	cr_assert_eq(vm->noncoherent, -1, "not known before the iterator says");
	cr_assert_str_eq(kvmmt_vmreg_get(r, 200, NULL)->name, "vmm");
	cr_assert_eq(kvmmt_vmreg_len(r), 2);
	cr_assert_eq(kvmmt_vmreg_lookup(r, "web-1"), vm);
	cr_assert_eq(kvmmt_vmreg_lookup(r, "100"), vm);
	cr_assert_null(kvmmt_vmreg_lookup(r, "web-2"));
	cr_assert_eq(kvmmt_vmreg_get(r, 100, NULL), vm, "one entry per VM");
	cr_assert_eq(added, 2);
	kvmmt_vmreg_free(r);
	cr_assert_eq(removed, 2, "free removes every entry through the hook");
}

/* A VMM that maps a BAR write-combining: its WB installs there alias. */
Test(vmreg, device_mapping_read_when_the_vm_appears)
{
	struct kvmmt_slot_rec slot;
	struct kvmmt_vm_info info = bar_snapshot(300, &slot, 0);
	struct kvmmt_vm_list l = { &info, 1 };
	struct kvmmt_err e = {};
	struct kvmmt_policy_summary s;
	struct kvmmt_vmreg *r;
	struct kvmmt_vm *vm;

	vmm(300, 1, "qemu-system-x86");
	PUT(300, "smaps", BAR_SMAPS);
	r = reg_new(NULL, 0);
	cr_assert_eq(kvmmt_vmreg_snapshot(r, &l, &e), 0, "%s", e.msg);
	vm = kvmmt_vmreg_find(r, 300);
	cr_assert_not_null(vm);
	cr_assert_eq(vm->maps.n, 1);
	cr_assert_eq(vm->noncoherent, 0);
	for (__u64 g = 0; g < 16; g++) {
		struct kvmmt_event ev = install(300, BAR_GFN + g, 0x30000 + g);

		cr_assert_eq(kvmmt_vmreg_event(r, &ev, &e), vm, "%s", e.msg);
	}
	s = summary(vm);
	cr_assert_eq(s.installs, 16);
	cr_assert_eq(s.risk, KVMMT_RISK_ALIASING);
	cr_assert_eq(s.conflict_pages, 16);
	cr_assert(s.why & KVMMT_WHY_DEVICE);
	kvmmt_vmreg_free(r);
}

/* The mapping appears after the installs: the next due re-read finds it. */
Test(vmreg, device_mapping_found_by_a_later_refresh)
{
	struct kvmmt_slot_rec slot;
	struct kvmmt_vm_info info = bar_snapshot(310, &slot, 1);
	struct kvmmt_vm_list l = { &info, 1 };
	struct kvmmt_vmreg *r;
	struct kvmmt_vm *vm;
	double t;

	vmm(310, 1, "qemu-system-x86");
	r = reg_new(NULL, 0);
	cr_assert_eq(kvmmt_vmreg_snapshot(r, &l, NULL), 0);
	vm = kvmmt_vmreg_find(r, 310);
	for (__u64 g = 0; g < 4; g++) {
		struct kvmmt_event ev = install(310, BAR_GFN + g, 0x30000 + g);

		kvmmt_vmreg_event(r, &ev, NULL);
	}
	cr_assert_eq(summary(vm).risk, KVMMT_RISK_LATENT, "noncoherent DMA, no alias known");
	cr_assert(summary(vm).why & KVMMT_WHY_NONCOHERENT);
	PUT(310, "smaps", BAR_SMAPS);
	t = vm->maps_read;
	kvmmt_vmreg_refresh(r, t + 1);
	cr_assert_eq(vm->maps.n, 0, "not due yet: reread_s is 10");
	kvmmt_vmreg_refresh(r, t + 11);
	cr_assert_eq(vm->maps.n, 1);
	cr_assert_eq(summary(vm).risk, KVMMT_RISK_ALIASING);
	cr_assert_eq(summary(vm).conflict_pages, 4);
	kvmmt_vmreg_free(r);
}

/* smaps is read again only when /proc/PID/maps says the mappings changed. */
Test(vmreg, smaps_reread_only_when_the_mappings_change)
{
	struct kvmmt_vmreg *r;
	struct kvmmt_vm *vm;
	double t;

	r = ram_vmm(320);
	vm = kvmmt_vmreg_get(r, 320, NULL);
	cr_assert_not_null(vm);
	cr_assert(vm->layout_known);
	cr_assert_eq(vm->maps.n, 0);
	/* smaps alone changes: not read, the mappings are the same */
	PUT(320, "smaps", BAR_SMAPS);
	t = vm->maps_read;
	kvmmt_vmreg_refresh(r, t + 11);
	cr_assert_eq(vm->maps.n, 0, "same maps, smaps not read");
	/* a new mapping: smaps is read and the BAR is found */
	PUT(320, "maps", BAR_MAPS);
	kvmmt_vmreg_refresh(r, t + 22);
	cr_assert_eq(vm->maps.n, 1, "changed maps, smaps read");
	cr_assert_eq(vm->maps.r[0].mt, KVMMT_MT_WC);
	kvmmt_vmreg_free(r);
}

/* A snapshot of @pid's VM carrying the mm write-lock sequence @seq. */
static int seq_snapshot(struct kvmmt_vmreg *r, pid_t pid, __u32 seq)
{
	struct kvmmt_vm_info vi = {
		.vm = { .kind = KVMMT_REC_VM, .tgid = pid, .valid = KVMMT_VF_MM_SEQ,
			.mm_seq = seq },
	};
	struct kvmmt_vm_list l = { .v = &vi, .n = 1 };

	return kvmmt_vmreg_snapshot(r, &l, NULL);
}

/*
 * Where the iterator gives the mm write-lock sequence, /proc is read again
 * exactly when it moved: at the snapshot, not when reread_s comes due.
 */
Test(vmreg, smaps_reread_when_the_mm_sequence_moves)
{
	struct kvmmt_vmreg *r;
	struct kvmmt_vm *vm;
	double t;

	r = ram_vmm(330);
	/* first seen in a snapshot: read once, after the sequence was taken */
	cr_assert_eq(seq_snapshot(r, 330, 7), 0);
	vm = kvmmt_vmreg_find(r, 330);
	cr_assert_not_null(vm);
	cr_assert(vm->maps_seq_known);
	cr_assert_eq(vm->maps_seq, 7);
	cr_assert_eq(vm->maps.n, 0);
	t = vm->maps_read;
	/* the files change, the sequence does not: nothing is read */
	PUT(330, "smaps", BAR_SMAPS);
	PUT(330, "maps", "changed\n");
	cr_assert_eq(seq_snapshot(r, 330, 7), 0);
	kvmmt_vmreg_refresh(r, t + 11);
	cr_assert_eq(vm->maps.n, 0, "same sequence: smaps not read, even when due");
	cr_assert_eq(vm->maps_read, t, "same sequence: /proc not read");
	/* the sequence moved: read at the snapshot, the BAR found */
	cr_assert_eq(seq_snapshot(r, 330, 9), 0);
	cr_assert_eq(vm->maps.n, 1, "moved sequence: smaps read");
	cr_assert_eq(vm->maps.r[0].mt, KVMMT_MT_WC);
	cr_assert_eq(vm->maps_seq, 9);
	/* and gone again, read again */
	PUT(330, "smaps", "");
	cr_assert_eq(seq_snapshot(r, 330, 10), 0);
	cr_assert_eq(vm->maps.n, 0, "moved again: the BAR is gone");
	kvmmt_vmreg_free(r);
}

/* A record without the sequence (Linux 6.1) leaves the maps fingerprint in charge. */
Test(vmreg, without_the_mm_sequence_the_maps_fingerprint_decides)
{
	struct kvmmt_slot_rec slot;
	struct kvmmt_vm_info vi = bar_snapshot(340, &slot, 0);
	struct kvmmt_vm_list l = { .v = &vi, .n = 1 };
	struct kvmmt_vmreg *r;
	struct kvmmt_vm *vm;
	double t;

	r = ram_vmm(340);
	cr_assert_eq(kvmmt_vmreg_snapshot(r, &l, NULL), 0);
	vm = kvmmt_vmreg_find(r, 340);
	cr_assert_not_null(vm);
	cr_assert_not(vm->maps_seq_known);
	t = vm->maps_read;
	PUT(340, "smaps", BAR_SMAPS);
	PUT(340, "maps", BAR_MAPS);
	cr_assert_eq(kvmmt_vmreg_snapshot(r, &l, NULL), 0);
	cr_assert_eq(vm->maps.n, 0, "a snapshot without the sequence reads nothing");
	kvmmt_vmreg_refresh(r, t + 11);
	cr_assert_eq(vm->maps.n, 1, "due, and the maps changed: smaps read");
	kvmmt_vmreg_free(r);
}

/* On the live /proc a VM's process is watched through a pidfd. */
Test(vmreg, exit_of_a_real_process_seen_through_its_pidfd)
{
	struct kvmmt_vmreg_opts o = {
		.fmt = KVMMT_FMT_EPT, .host_pat = KVMMT_LINUX_PAT, .proc_root = "/proc",
		.reread_s = 10,
	};
	struct kvmmt_vmreg *r;
	struct kvmmt_vm *vm;
	pid_t child = fork();

	cr_assert_geq(child, 0);
	if (!child) {
		pause();
		_exit(0);
	}
	cr_assert_eq(kvmmt_vmreg_new(&r, &o, NULL), 0);
	vm = kvmmt_vmreg_get(r, child, NULL);
	cr_assert_not_null(vm);
	cr_assert_geq(vm->pidfd, 0, "a live process gets a pidfd");
	cr_assert_neq(vm->start_time, 0);
	kvmmt_vmreg_refresh(r, kvmmt_now());
	cr_assert_eq(kvmmt_vmreg_len(r), 1, "still running");
	kill(child, SIGKILL);
	cr_assert_eq(waitpid(child, NULL, 0), child);
	kvmmt_vmreg_refresh(r, kvmmt_now());
	cr_assert_eq(kvmmt_vmreg_len(r), 0, "exited");
	kvmmt_vmreg_free(r);
}

Test(vmreg, events_and_noncoherent_dma)
{
	struct kvmmt_event nc = { .type = KVMMT_EV_NONCOHERENT, .tgid = 400, .value = 1 };
	struct kvmmt_event ev = install(400, 0x10, 0x20);
	struct kvmmt_vmreg *r;
	struct kvmmt_vm *vm;

	vmm(400, 9, "vmm");
	r = reg_new(NULL, 0);
	vm = kvmmt_vmreg_event(r, &ev, NULL);
	cr_assert_not_null(vm, "an event adds its VM");
	cr_assert_eq(kvmmt_vmreg_event(r, &nc, NULL), vm);
	cr_assert_eq(vm->noncoherent, 1);
	cr_assert_eq(summary(vm).noncoherent, 1);
	cr_assert_eq(summary(vm).installs_by_mt[KVMMT_MT_WB], 1);
	kvmmt_vmreg_free(r);
}

Test(vmreg, gone_and_reused_pids_are_dropped)
{
	struct kvmmt_vmreg *r;
	struct kvmmt_vm *vm;
	char path[256];

	vmm(500, 100, "old");
	vmm(501, 100, "other");
	r = reg_new(NULL, 0);
	vm = kvmmt_vmreg_get(r, 500, NULL);
	cr_assert_not_null(kvmmt_vmreg_get(r, 501, NULL));
	kvmmt_vmreg_refresh(r, vm->maps_read + 1);
	cr_assert_eq(kvmmt_vmreg_len(r), 2, "both still running");

	vmm(500, 200, "new");		/* another process, same pid */
	snprintf(path, sizeof(path), "%s/501/stat", root);
	unlink(path);			/* exited */
	kvmmt_vmreg_refresh(r, vm->maps_read + 2);
	cr_assert_eq(kvmmt_vmreg_len(r), 0);
	cr_assert_eq(removed, 2);
	vm = kvmmt_vmreg_get(r, 500, NULL);
	cr_assert_str_eq(vm->name, "new");
	cr_assert_eq(vm->start_time, 200);
	cr_assert_eq(summary(vm).installs, 0, "nothing of the old process");
	kvmmt_vmreg_free(r);
}

/*
 * Many VMs, added in no pid order: each is found by its pid, the entries
 * stay in the order they were added, and after some are gone the rest are
 * still found and the gone ones are not.
 */
Test(vmreg, many_vms_found_by_pid_in_arrival_order)
{
	enum { N = 97 };
	struct kvmmt_vmreg *r;
	char path[256];
	pid_t pid[N];
	double t = 0;

	for (int i = 0; i < N; i++) {
		pid[i] = 1000 + (i * 37) % N;	/* a permutation of 1000..1096 */
		vmm(pid[i], 1, "vmm");
	}
	r = reg_new(NULL, 0);
	for (int i = 0; i < N; i++) {
		struct kvmmt_vm *vm = kvmmt_vmreg_get(r, pid[i], NULL);

		cr_assert_not_null(vm);
		t = vm->maps_read;
	}
	cr_assert_eq(kvmmt_vmreg_len(r), N);
	for (int i = 0; i < N; i++) {
		cr_assert_eq(kvmmt_vmreg_at(r, i)->pid, pid[i], "arrival order");
		cr_assert_eq(kvmmt_vmreg_find(r, pid[i])->pid, pid[i]);
	}
	cr_assert_null(kvmmt_vmreg_find(r, 999));
	cr_assert_null(kvmmt_vmreg_find(r, 1000 + N));
	for (int i = 0; i < N; i += 3) {
		snprintf(path, sizeof(path), "%s/%d/stat", root, (int)pid[i]);
		unlink(path);		/* exited */
	}
	kvmmt_vmreg_refresh(r, t + 1);
	cr_assert_eq(kvmmt_vmreg_len(r), N - (N + 2) / 3);
	for (int i = 0, k = 0; i < N; i++) {
		struct kvmmt_vm *vm = kvmmt_vmreg_find(r, pid[i]);

		if (i % 3 == 0) {
			cr_assert_null(vm, "pid %d is gone", (int)pid[i]);
			continue;
		}
		cr_assert_not_null(vm, "pid %d is running", (int)pid[i]);
		cr_assert_eq(kvmmt_vmreg_at(r, k++), vm, "arrival order kept");
	}
	kvmmt_vmreg_free(r);
}

Test(vmreg, watch_list_and_a_refusing_hook)
{
	const pid_t only[] = { 600, 666 };
	struct kvmmt_event ev = install(601, 0x10, 0x20);
	struct kvmmt_err e = {};
	struct kvmmt_vmreg *r;

	vmm(600, 1, "a");
	vmm(601, 1, "b");
	vmm(666, 1, "c");
	r = reg_new(only, 2);
	cr_assert(kvmmt_vmreg_watched(r, 600));
	cr_assert_not(kvmmt_vmreg_watched(r, 601));
	cr_assert_null(kvmmt_vmreg_event(r, &ev, &e), "not watched");
	cr_assert_eq(e.err, 0, "not watching is no error");
	cr_assert_null(kvmmt_vmreg_get(r, 666, &e));
	cr_assert_eq(e.err, -EPERM, "the hook's refusal is the caller's error");
	cr_assert_not_null(kvmmt_vmreg_get(r, 600, NULL));
	cr_assert_eq(kvmmt_vmreg_len(r), 1);
	kvmmt_vmreg_free(r);
	cr_assert_eq(removed, 1, "a refused entry is never removed");
}

/* A capture: no /proc; format and host maps arrive from its records. */
Test(vmreg, capture_without_proc)
{
	struct kvmmt_vmreg_opts o = { 0 };
	struct kvmmt_hostmap pat = {};
	struct kvmmt_event ev = install(700, BAR_GFN, 0x30000);
	struct kvmmt_vmreg *r;
	struct kvmmt_vm *vm;

	cr_assert_eq(kvmmt_vmreg_new(&r, &o, NULL), 0);
	vm = kvmmt_vmreg_get(r, 700, NULL);
	cr_assert_str_eq(vm->name, "");
	cr_assert_eq(vm->start_time, 0);
	kvmmt_vmreg_set_format(r, KVMMT_FMT_EPT, KVMMT_LINUX_PAT);
	cr_assert_eq(kvmmt_vmreg_event(r, &ev, NULL), vm);
	cr_assert_eq(summary(vm).installs_by_mt[KVMMT_MT_WB], 1);
	cr_assert_eq(kvmmt_hostmap_add(&pat, 0x30000, 0x30010, KVMMT_MT_WC), 0);
	cr_assert_eq(kvmmt_vmreg_set_pat(r, &pat), 0);
	kvmmt_hostmap_free(&pat);
	cr_assert_eq(kvmmt_vmreg_pat(r)->n, 1, "copied");
	cr_assert_eq(summary(vm).risk, KVMMT_RISK_ALIASING, "WB over the host's WC");
	kvmmt_vmreg_refresh(r, 1e9);
	cr_assert_eq(kvmmt_vmreg_len(r), 1, "nothing is dropped without /proc");
	kvmmt_vmreg_free(r);
}

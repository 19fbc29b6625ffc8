// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/* The VM registry (vmreg.h): identity, host maps and risk model per VM. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include "array.h"
#include "vmreg.h"

struct kvmmt_vmreg {
	struct kvmmt_vmreg_opts o;
	pid_t *pids;
	struct kvmmt_vm **v;		/* one allocation each: callers keep pointers */
	size_t n, cap;
	struct kvmmt_vm **by_pid;	/* the same n entries, sorted by pid */
	size_t by_pid_cap;
	struct kvmmt_vm *last;		/* events come in runs from one VM */
	struct kvmmt_hostmap pat;	/* host PAT reservations, by pfn */
	double pat_read;
	struct pollfd *polls;		/* kvmmt_vmreg_refresh()'s, one per VM */
	size_t polls_cap;
};

static const struct kvmmt_hostmap *pat_or_null(const struct kvmmt_vmreg *r)
{
	return r->pat.n ? &r->pat : NULL;
}

/* The model borrows both maps; setting them again re-judges its ranges. */
static void give_host(const struct kvmmt_vmreg *r, struct kvmmt_vm *vm)
{
	kvmmt_policy_vm_set_host(vm->model, pat_or_null(r), vm->maps.n ? &vm->maps : NULL);
}

static void read_pat(struct kvmmt_vmreg *r, double now)
{
	/* unreadable (debugfs not mounted): what was known stays */
	if (r->o.pat_list)
		kvmmt_hostmap_read(&r->pat, r->o.pat_list, kvmmt_hostmap_parse_pat, NULL);
	r->pat_read = now;
}

/* smaps walks every page table of the VMM: only when its mappings changed */
static void read_maps(struct kvmmt_vmreg *r, struct kvmmt_vm *vm, double now)
{
	__u64 layout;
	bool known = !kvmmt_hostmap_layout(r->o.proc_root, vm->pid, &layout, NULL);

	if (!known || !vm->layout_known || layout != vm->layout)
		kvmmt_hostmap_read_smaps(&vm->maps, r->o.proc_root, vm->pid, NULL);
	vm->layout = layout;
	vm->layout_known = known;
	vm->maps_read = now;
}

/*
 * A pidfd of the process @vm->start_time names, or -1. The live /proc
 * only: a fixture tree's pids are not processes.
 */
static int open_pidfd(const struct kvmmt_vmreg *r, const struct kvmmt_vm *vm)
{
	__u64 st;
	int fd;

	if (strcmp(r->o.proc_root, "/proc") || !vm->start_time)
		return -1;
	fd = syscall(SYS_pidfd_open, vm->pid, 0);
	if (fd < 0)
		return -1;
	/* the pid may have been reused before the open */
	if (kvmmt_proc_start_time(r->o.proc_root, vm->pid, &st) || st != vm->start_time) {
		close(fd);
		return -1;
	}
	return fd;
}

int kvmmt_vmreg_new(struct kvmmt_vmreg **out, const struct kvmmt_vmreg_opts *o,
		    struct kvmmt_err *e)
{
	struct kvmmt_vmreg *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (!r)
		return kvmmt_errf(e, -ENOMEM, "out of memory for the VM registry.");
	r->o = *o;
	if (o->nr_pids) {
		r->pids = calloc(o->nr_pids, sizeof(*r->pids));
		if (!r->pids) {
			free(r);
			return kvmmt_errf(e, -ENOMEM, "out of memory for the VM registry.");
		}
		memcpy(r->pids, o->pids, o->nr_pids * sizeof(*r->pids));
		r->o.pids = r->pids;
	}
	if (r->o.pat_list && !r->o.pat_list[0])
		r->o.pat_list = NULL;
	read_pat(r, kvmmt_now());
	*out = r;
	return 0;
}

/* An entry's own resources; the program's hook has run, or never will. */
static void vm_destroy(struct kvmmt_vm *vm)
{
	kvmmt_policy_vm_free(vm->model);
	kvmmt_hostmap_free(&vm->maps);
	if (vm->pidfd >= 0)
		close(vm->pidfd);
	free(vm);
}

static void vm_free(struct kvmmt_vmreg *r, struct kvmmt_vm *vm)
{
	if (r->o.removed)
		r->o.removed(vm, r->o.ctx);
	vm_destroy(vm);
}

void kvmmt_vmreg_free(struct kvmmt_vmreg *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		vm_free(r, r->v[i]);
	free(r->v);
	free(r->by_pid);
	free(r->pids);
	free(r->polls);
	kvmmt_hostmap_free(&r->pat);
	free(r);
}

size_t kvmmt_vmreg_len(const struct kvmmt_vmreg *r)
{
	return r ? r->n : 0;
}

struct kvmmt_vm *kvmmt_vmreg_at(const struct kvmmt_vmreg *r, size_t i)
{
	return i < r->n ? r->v[i] : NULL;
}

/* Where @pid is in by_pid, or would go. */
static size_t pid_pos(const struct kvmmt_vmreg *r, pid_t pid)
{
	size_t lo = 0, hi = r->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->by_pid[mid]->pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct kvmmt_vm *kvmmt_vmreg_find(const struct kvmmt_vmreg *r, pid_t pid)
{
	size_t i;

	if (!r)
		return NULL;
	if (r->last && r->last->pid == pid)
		return r->last;
	i = pid_pos(r, pid);
	return i < r->n && r->by_pid[i]->pid == pid ? r->by_pid[i] : NULL;
}

struct kvmmt_vm *kvmmt_vmreg_lookup(const struct kvmmt_vmreg *r, const char *target)
{
	char *end;
	long pid = strtol(target, &end, 10);

	if (*target && !*end)
		return kvmmt_vmreg_find(r, pid);
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->v[i]->name, target))
			return r->v[i];
	return NULL;
}

bool kvmmt_vmreg_watched(const struct kvmmt_vmreg *r, pid_t pid)
{
	if (!r->o.nr_pids)
		return true;
	for (size_t i = 0; i < r->o.nr_pids; i++)
		if (r->o.pids[i] == pid)
			return true;
	return false;
}

struct kvmmt_vm *kvmmt_vmreg_get(struct kvmmt_vmreg *r, pid_t pid, struct kvmmt_err *e)
{
	struct kvmmt_vm *vm = kvmmt_vmreg_find(r, pid);
	size_t pos;
	double now;
	int err;

	if (vm || !kvmmt_vmreg_watched(r, pid))
		return r->last = vm;
	if (kvmmt_array_grow((void **)&r->v, &r->cap, r->n + 1, sizeof(*r->v)) ||
	    kvmmt_array_grow((void **)&r->by_pid, &r->by_pid_cap, r->n + 1,
			     sizeof(*r->by_pid)) ||
	    !(vm = calloc(1, sizeof(*vm))) || !(vm->model = kvmmt_policy_vm_new())) {
		free(vm);
		kvmmt_errf(e, -ENOMEM, "out of memory for VM %d.", (int)pid);
		return NULL;
	}
	vm->pid = pid;
	vm->pidfd = -1;
	vm->noncoherent = -1;
	kvmmt_policy_vm_set_fmt(vm->model, r->o.fmt);
	if (r->o.proc_root) {
		now = kvmmt_now();
		kvmmt_proc_start_time(r->o.proc_root, pid, &vm->start_time);
		vm->pidfd = open_pidfd(r, vm);
		kvmmt_proc_vm_name(r->o.proc_root, pid, vm->name, sizeof(vm->name),
				   &vm->name_src);
		/* the reservations a new VMM's BARs made, before its first install */
		read_pat(r, now);
		read_maps(r, vm, now);
	}
	give_host(r, vm);
	if (r->o.added && (err = r->o.added(vm, r->o.ctx))) {
		vm_destroy(vm);
		kvmmt_errf(e, err, "cannot watch VM %d: %s.", (int)pid, strerror(-err));
		return NULL;
	}
	pos = pid_pos(r, pid);
	memmove(&r->by_pid[pos + 1], &r->by_pid[pos], (r->n - pos) * sizeof(*r->by_pid));
	r->by_pid[pos] = vm;
	r->v[r->n++] = vm;
	return r->last = vm;
}

static void vm_remove(struct kvmmt_vmreg *r, struct kvmmt_vm *vm)
{
	size_t pos = pid_pos(r, vm->pid);

	for (size_t i = 0; i < r->n; i++) {
		if (r->v[i] != vm)
			continue;
		memmove(&r->v[i], &r->v[i + 1], (r->n - i - 1) * sizeof(*r->v));
		memmove(&r->by_pid[pos], &r->by_pid[pos + 1],
			(r->n - pos - 1) * sizeof(*r->by_pid));
		r->n--;
		if (r->last == vm)
			r->last = NULL;
		vm_free(r, vm);
		return;
	}
}

struct kvmmt_vm *kvmmt_vmreg_event(struct kvmmt_vmreg *r, const struct kvmmt_event *ev,
				   struct kvmmt_err *e)
{
	struct kvmmt_vm *vm = kvmmt_vmreg_get(r, ev->tgid, e);

	if (!vm)
		return NULL;
	if (ev->type == KVMMT_EV_NONCOHERENT)
		vm->noncoherent = ev->value;
	/* slot, VM and invalidation records describe; the rest change mappings */
	if (ev->type <= KVMMT_EV_MEMSLOT &&
	    kvmmt_policy_event(vm->model, ev, r->o.fmt, r->o.host_pat, e))
		return NULL;
	return vm;
}

/*
 * The mm write-lock sequence of @rec, taken before anything that follows
 * reads /proc: @vm's smaps is read again when it moved since the last read,
 * and not otherwise. @fresh: the maps were read just now, after it.
 */
static void mm_seq(struct kvmmt_vmreg *r, struct kvmmt_vm *vm,
		   const struct kvmmt_vm_rec *rec, bool fresh)
{
	if (!(rec->valid & KVMMT_VF_MM_SEQ) || !r->o.proc_root)
		return;
	if (!fresh && (!vm->maps_seq_known || vm->maps_seq != rec->mm_seq)) {
		kvmmt_hostmap_read_smaps(&vm->maps, r->o.proc_root, vm->pid, NULL);
		vm->maps_read = kvmmt_now();
		give_host(r, vm);
	}
	vm->maps_seq = rec->mm_seq;
	vm->maps_seq_known = true;
}

static struct kvmmt_vm *vm_info(struct kvmmt_vmreg *r, const struct kvmmt_vm_info *v,
				     struct kvmmt_err *e)
{
	bool fresh = !kvmmt_vmreg_find(r, v->vm.tgid);
	struct kvmmt_vm *vm = kvmmt_vmreg_get(r, v->vm.tgid, e);

	if (!vm)
		return NULL;
	mm_seq(r, vm, &v->vm, fresh);
	if (vm->name_src == KVMMT_NAME_NONE && v->vm.comm[0]) {
		snprintf(vm->name, sizeof(vm->name), "%.*s", KVMMT_COMM_LEN, v->vm.comm);
		vm->name_src = KVMMT_NAME_ITER;
	}
	if (v->vm.valid & KVMMT_VF_NONCOHERENT) {
		vm->noncoherent = v->vm.noncoherent_dma;
		kvmmt_policy_noncoherent(vm->model, v->vm.noncoherent_dma);
	}
	if (v->vm.valid & KVMMT_VF_QUIRKS)
		kvmmt_policy_quirks(vm->model, v->vm.disabled_quirks);
	if (kvmmt_policy_set_slot_recs(vm->model, v->slots, v->nr_slots, e))
		return NULL;
	return vm;
}

int kvmmt_vmreg_snapshot(struct kvmmt_vmreg *r, const struct kvmmt_vm_list *l,
			 struct kvmmt_err *e)
{
	int ret = 0;

	for (size_t i = 0; i < l->n; i++) {
		struct kvmmt_err err = { 0 };

		/* NULL without an error: a VM this registry does not watch */
		if (!vm_info(r, &l->v[i], &err) && err.err && !ret) {
			ret = err.err;
			if (e)
				*e = err;
		}
	}
	return ret;
}

/* @revents: what poll() said of the VM's pidfd, if it has one */
static bool gone(const struct kvmmt_vmreg *r, const struct kvmmt_vm *vm, short revents)
{
	__u64 st;

	/* a pidfd polls readable once its process has exited */
	if (vm->pidfd >= 0)
		return revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL);
	if (kvmmt_proc_start_time(r->o.proc_root, vm->pid, &st))
		return true;
	return vm->start_time && st != vm->start_time;
}

/*
 * One poll() for every VM's pidfd (poll skips the -1 entries). False if
 * it could not be done: every VM with a pidfd then counts as running.
 */
static bool poll_pidfds(struct kvmmt_vmreg *r)
{
	if (kvmmt_array_grow((void **)&r->polls, &r->polls_cap, r->n, sizeof(*r->polls)))
		return false;
	for (size_t i = 0; i < r->n; i++)
		r->polls[i] = (struct pollfd){ .fd = r->v[i]->pidfd, .events = POLLIN };
	return !r->n || poll(r->polls, r->n, 0) >= 0;
}

void kvmmt_vmreg_refresh(struct kvmmt_vmreg *r, double now)
{
	bool pat = false, polled;

	if (!r->o.proc_root)
		return;
	if (now - r->pat_read >= r->o.reread_s) {
		read_pat(r, now);
		pat = true;
	}
	polled = poll_pidfds(r);
	for (size_t i = 0, p = 0; i < r->n; p++) {
		struct kvmmt_vm *vm = r->v[i];

		if (gone(r, vm, polled ? r->polls[p].revents : 0)) {
			vm_remove(r, vm);
			continue;
		}
		if (!vm->maps_seq_known && now - vm->maps_read >= r->o.reread_s) {
			read_maps(r, vm, now);
			give_host(r, vm);
		} else if (pat) {
			give_host(r, vm);
		}
		i++;
	}
}

void kvmmt_vmreg_set_format(struct kvmmt_vmreg *r, enum kvmmt_fmt fmt, __u64 host_pat)
{
	r->o.fmt = fmt;
	r->o.host_pat = host_pat;
	for (size_t i = 0; i < r->n; i++)
		kvmmt_policy_vm_set_fmt(r->v[i]->model, fmt);
}

int kvmmt_vmreg_set_pat(struct kvmmt_vmreg *r, const struct kvmmt_hostmap *pat)
{
	kvmmt_hostmap_free(&r->pat);
	for (size_t i = 0; i < pat->n; i++)
		if (kvmmt_hostmap_add(&r->pat, pat->r[i].start, pat->r[i].end, pat->r[i].mt))
			return -ENOMEM;
	for (size_t i = 0; i < r->n; i++)
		give_host(r, r->v[i]);
	return 0;
}

int kvmmt_vmreg_set_maps(struct kvmmt_vmreg *r, struct kvmmt_vm *vm,
			 const struct kvmmt_hostmap *maps)
{
	kvmmt_hostmap_free(&vm->maps);
	for (size_t i = 0; i < maps->n; i++)
		if (kvmmt_hostmap_add(&vm->maps, maps->r[i].start, maps->r[i].end, maps->r[i].mt))
			return -ENOMEM;
	give_host(r, vm);
	return 0;
}

const struct kvmmt_hostmap *kvmmt_vmreg_pat(const struct kvmmt_vmreg *r)
{
	return &r->pat;
}

const char *kvmmt_vmreg_proc_root(const struct kvmmt_vmreg *r)
{
	return r->o.proc_root;
}

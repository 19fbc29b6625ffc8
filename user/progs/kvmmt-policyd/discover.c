// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * Discovery: which VMs kvmmt-policyd watches. The library's registry keeps
 * each VM (identity, host maps, risk model) from the data path's events and
 * iterator snapshots; this file adds the QEMU processes /proc shows, gives
 * each VM its enforcement state, and runs one scan: registry, then policy,
 * then enforcement.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "policyd.h"

static int vm_added(struct kvmmt_vm *reg, void *ctx)
{
	struct policyd *d = ctx;
	struct vm *vm = calloc(1, sizeof(*vm));

	if (!vm) {
		plog(LOG_ERR, "out of memory tracking VM pid %d", (int)reg->pid);
		return -ENOMEM;
	}
	reg->priv = vm;
	vm->reg = reg;
	vm_identify_qmp(d, vm);
	risk_restore(d, vm);
	plog(LOG_INFO, "watching VM %s (pid %d)%s%s%s%s", reg->name, (int)reg->pid,
	     vm->qmp_path[0] ? ", QMP socket " : ", no QMP socket for kvmmt-policyd",
	     vm->qmp_path[0] ? vm->qmp_path : vm->qmp_error[0] ? ": " : "",
	     vm->qmp_path[0] ? "" : vm->qmp_error,
	     flag_for(d, vm) ? ", flagged by hand" : "");
	return 0;
}

static void vm_removed(struct kvmmt_vm *reg, void *ctx)
{
	struct vm *vm = reg->priv;

	(void)ctx;
	if (!vm)
		return;
	if (!vm->quiet)
		plog(LOG_INFO, "VM %s (pid %d) is gone", reg->name, (int)reg->pid);
	kvmmt_qmp_close(vm->qmp);
	free(vm);
	reg->priv = NULL;
}

int vms_open(struct policyd *d, struct kvmmt_err *e)
{
	struct kvmmt_vmreg_opts o = {
		.fmt = d->fmt,
		.host_pat = d->host_pat,
		.proc_root = d->proc_root,
		.pat_list = d->cfg.pat_list,
		.reread_s = 0,		/* every scan, where no mm sequence says more */
		.pids = d->only,
		.nr_pids = d->nr_only,
		.added = vm_added,
		.removed = vm_removed,
		.ctx = d,
	};

	return kvmmt_vmreg_new(&d->reg, &o, e);
}

void vms_close(struct policyd *d)
{
	struct vm *vm;

	/* a stop is not the VMs going away */
	for_each_vm(d, i, vm)
		vm->quiet = true;
	kvmmt_vmreg_free(d->reg);
	d->reg = NULL;
}

struct vm *vm_find(struct policyd *d, const char *target)
{
	struct kvmmt_vm *reg = kvmmt_vmreg_lookup(d->reg, target);

	return reg ? reg->priv : NULL;
}

static void fold_iterator(struct policyd *d)
{
	struct kvmmt_vm_list l = { 0 };
	struct kvmmt_err e = { 0 };

	if (kvmmt_dp_read_vms(d->dp, &l, &e)) {
		plog(LOG_WARNING, "cannot read VMs from the kernel: %s", e.msg);
		return;
	}
	if (kvmmt_vmreg_snapshot(d->reg, &l, &e))
		plog(LOG_WARNING, "%s", e.msg);
	kvmmt_vm_list_free(&l);
}

/* QEMU processes, and without the data path any holder of a KVM VM. */
static void scan_proc(struct policyd *d)
{
	struct dirent *de;
	DIR *dir = opendir(d->proc_root);

	if (!dir) {
		plog(LOG_ERR, "cannot list %s", d->proc_root);
		return;
	}
	while ((de = readdir(dir))) {
		pid_t pid;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = atoi(de->d_name);
		if (pid == getpid() || !kvmmt_vmreg_watched(d->reg, pid) ||
		    kvmmt_vmreg_find(d->reg, pid))
			continue;
		if (kvmmt_proc_is_qemu(d->proc_root, pid) ||
		    (!d->dp && kvmmt_proc_holds_vm(d->proc_root, pid)))
			kvmmt_vmreg_get(d->reg, pid, NULL);
	}
	closedir(dir);
}

int vm_scan(struct policyd *d)
{
	struct vm *vm;

	/* host maps re-read (a BAR mapped write-combining since), VMs gone dropped */
	kvmmt_vmreg_refresh(d->reg, kvmmt_now());
	if (d->dp)
		fold_iterator(d);
	scan_proc(d);
	for_each_vm(d, i, vm) {
		vm_reassess(d, vm);
		vm_connect_qmp(d, vm);
		vm_poll_migration(d, vm);
	}
	risk_save(d);
	return 0;
}

void vms_drain(struct policyd *d)
{
	struct vm *vm;

	if (d->dp && kvmmt_dp_poll(d->dp, 0, dp_event, d) > 0)
		for_each_vm(d, i, vm)
			vm_reassess(d, vm);
}

int dp_event(void *ctx, const struct kvmmt_event *ev)
{
	struct policyd *d = ctx;
	struct kvmmt_err e = { 0 };

	d->events++;
	if (!kvmmt_vmreg_event(d->reg, ev, &e) && e.err)
		plog(LOG_DEBUG, "pid %d: event skipped: %s", (int)ev->tgid, e.msg);
	return 0;
}

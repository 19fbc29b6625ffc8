// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * The VMs kvmmt-policyd watches: found in /proc (QEMU processes and holders
 * of a KVM VM fd) and by the data path's iterator; their risk from the
 * model in user/lib/policy.c; enforcement through their QMP monitor.
 *
 * Every VM with a monitor gets the migration capability
 * pause-before-switchover, so each migration stops in status
 * pre-switchover and the decision is taken there, with the flags and risk
 * of that moment: a VM flagged in the middle of a migration is still
 * stopped before switchover.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "policyd.h"
#include "procinfo.h"

#define QMP_CONNECT_MS	1000
#define MAX_QMP_PATHS	8

double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int qmp_ms(const struct policyd *d)
{
	return (int)(d->cfg.qmp_timeout_s * 1000);
}

static ssize_t read_proc(const struct policyd *d, pid_t pid, const char *what,
			 char *buf, size_t n)
{
	char path[PATH_MAX];
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), "%s/%d/%s", d->proc_root, (int)pid, what);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = read(fd, buf, n - 1);
	close(fd);
	if (len < 0)
		return -errno;
	buf[len] = 0;
	return len;
}

/* With the pid, the start time identifies a VM: a reused pid is a new VM. */
static int start_time(const struct policyd *d, pid_t pid, __u64 *out)
{
	return kvmmt_proc_start_time(d->proc_root, pid, out);
}

static bool is_qemu(const char *argv0)
{
	const char *base = strrchr(argv0, '/');

	base = base ? base + 1 : argv0;
	return !strncmp(base, "qemu-system-", 12) || !strcmp(base, "qemu-kvm");
}

static bool has_kvm_vm_fd(const struct policyd *d, pid_t pid)
{
	char path[PATH_MAX], link[64];
	struct dirent *de;
	bool found = false;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/%d/fd", d->proc_root, (int)pid);
	dir = opendir(path);
	if (!dir)
		return false;
	while (!found && (de = readdir(dir))) {
		char fdpath[PATH_MAX + 300];
		ssize_t n;

		if (de->d_name[0] == '.')
			continue;
		snprintf(fdpath, sizeof(fdpath), "%s/%s", path, de->d_name);
		n = readlink(fdpath, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = 0;
		found = !strcmp(link, "anon_inode:kvm-vm");
	}
	closedir(dir);
	return found;
}

static void read_maps(struct policyd *d, struct vm *vm)
{
	struct kvmmt_err e = { 0 };
	int err;

	err = kvmmt_hostmap_read_smaps(&vm->maps, d->proc_root, vm->pid, &e);
	if (err == -EINVAL)
		plog(LOG_WARNING, "VM %s (pid %d): %s", vm->name, (int)vm->pid, e.msg);
	kvmmt_policy_vm_set_host(vm->model, d->pat.n ? &d->pat : NULL, &vm->maps);
}

/* Name and QMP socket from the command line (or the configuration). */
static void identify(struct policyd *d, struct vm *vm)
{
	char cmdline[32768], paths[MAX_QMP_PATHS][108];
	const char *conf;
	ssize_t n;
	int np;

	n = read_proc(d, vm->pid, "cmdline", cmdline, sizeof(cmdline));
	np = n > 0 ? kvmmt_qmp_cmdline(cmdline, n, paths, MAX_QMP_PATHS, vm->name,
				       sizeof(vm->name)) : 0;
	if (!vm->name[0] && read_proc(d, vm->pid, "comm", vm->name, sizeof(vm->name)) > 0)
		vm->name[strcspn(vm->name, "\n")] = 0;
	conf = kvmmt_config_qmp(&d->cfg, vm->name);
	if (conf) {
		snprintf(vm->qmp_path, sizeof(vm->qmp_path), "%s", conf);
		return;
	}
	vm->qmp_path[0] = 0;
	for (int i = 0; i < np; i++) {
		const char *base = strrchr(paths[i], '/');

		base = base ? base + 1 : paths[i];
		if (!d->cfg.qmp_match[0] || strstr(base, d->cfg.qmp_match)) {
			strcpy(vm->qmp_path, paths[i]);
			return;
		}
	}
	if (np)
		snprintf(vm->qmp_error, sizeof(vm->qmp_error),
			 "none of its %d QMP sockets has \"%s\" in its file name (qmp_match)",
			 np, d->cfg.qmp_match);
}

static bool watched(const struct policyd *d, pid_t pid)
{
	if (!d->nr_only)
		return true;
	for (size_t i = 0; i < d->nr_only; i++)
		if (d->only[i] == pid)
			return true;
	return false;
}

static struct vm *vm_lookup(struct policyd *d, pid_t pid)
{
	for (size_t i = 0; i < d->nr_vms; i++)
		if (d->vms[i]->pid == pid)
			return d->vms[i];
	return NULL;
}

struct vm *vm_get(struct policyd *d, pid_t pid)
{
	struct vm *vm = vm_lookup(d, pid), **nv;

	if (vm || !watched(d, pid))
		return vm;
	vm = calloc(1, sizeof(*vm));
	nv = realloc(d->vms, (d->nr_vms + 1) * sizeof(*nv));
	if (!vm || !nv || !(vm->model = kvmmt_policy_vm_new())) {
		if (nv)
			d->vms = nv;
		free(vm);
		plog(LOG_ERR, "out of memory tracking VM pid %d", (int)pid);
		return NULL;
	}
	d->vms = nv;
	d->vms[d->nr_vms++] = vm;
	vm->pid = pid;
	vm->noncoherent = -1;
	start_time(d, pid, &vm->starttime);
	identify(d, vm);
	kvmmt_policy_vm_set_host(vm->model, d->pat.n ? &d->pat : NULL, NULL);
	kvmmt_policy_vm_set_fmt(vm->model, d->fmt);
	if (d->dp)
		read_maps(d, vm);
	risk_restore(d, vm);
	plog(LOG_INFO, "watching VM %s (pid %d)%s%s%s%s", vm->name, (int)pid,
	     vm->qmp_path[0] ? ", QMP socket " : ", no QMP socket for kvmmt-policyd",
	     vm->qmp_path[0] ? vm->qmp_path : vm->qmp_error[0] ? ": " : "",
	     vm->qmp_path[0] ? "" : vm->qmp_error,
	     flag_for(d, vm) ? ", flagged by hand" : "");
	return vm;
}

void vm_free(struct vm *vm)
{
	if (!vm)
		return;
	kvmmt_qmp_close(vm->qmp);
	kvmmt_policy_vm_free(vm->model);
	kvmmt_hostmap_free(&vm->maps);
	free(vm);
}

struct vm *vm_find(struct policyd *d, const char *target)
{
	char *end;
	long pid = strtol(target, &end, 10);

	if (*target && !*end)
		return vm_lookup(d, pid);
	for (size_t i = 0; i < d->nr_vms; i++)
		if (!strcmp(d->vms[i]->name, target))
			return d->vms[i];
	return NULL;
}

static void risk_detail(const struct kvmmt_policy_summary *s, char *buf, size_t n)
{
	kvmmt_policy_describe(s, buf, n);
}

bool vm_blocking(const struct policyd *d, const struct vm *vm, char *why, size_t n)
{
	const struct flag *f = flag_for(d, vm);
	struct kvmmt_policy_summary s;
	char detail[300];

	if (f) {
		snprintf(why, n, "flagged by hand%s%s", f->reason[0] ? ": " : "", f->reason);
		return true;
	}
	kvmmt_policy_summary(vm->model, &s);
	risk_detail(&s, detail, sizeof(detail));
	snprintf(why, n, "risk class %s (%s)", kvmmt_risk_name(s.risk), detail);
	return d->cfg.block[s.risk];
}

void vm_reassess(struct policyd *d, struct vm *vm)
{
	struct kvmmt_policy_summary s;
	char detail[300];

	kvmmt_policy_summary(vm->model, &s);
	if (s.risk == vm->risk)
		return;
	risk_detail(&s, detail, sizeof(detail));
	plog(s.risk > vm->risk ? LOG_WARNING : LOG_NOTICE,
	     "VM %s (pid %d): risk class %s -> %s: %s; migration %s", vm->name,
	     (int)vm->pid, kvmmt_risk_name(vm->risk), kvmmt_risk_name(s.risk), detail,
	     d->cfg.block[s.risk] || flag_for(d, vm) ? "blocked" : "allowed");
	vm->risk = s.risk;
	for (size_t i = 0, shown = 0; i < kvmmt_policy_nr_ranges(vm->model) && shown < 8; i++) {
		const struct kvmmt_gfn_range *r = kvmmt_policy_range(vm->model, i);

		if (!r->conflict)
			continue;
		plog(LOG_WARNING, "VM %s (pid %d): gfn 0x%llx-0x%llx slot %u: guest %s, host %s",
		     vm->name, (int)vm->pid, (unsigned long long)r->start,
		     (unsigned long long)r->end - 1, r->slot, kvmmt_mt_name(r->mt),
		     kvmmt_mt_name(r->host_mt));
		shown++;
	}
}

/* ---- QMP ----------------------------------------------------------------- */

static void qmp_drop(struct vm *vm, const char *why)
{
	plog(LOG_WARNING, "VM %s (pid %d): lost QMP connection: %s", vm->name,
	     (int)vm->pid, why);
	kvmmt_qmp_close(vm->qmp);
	vm->qmp = NULL;
	vm->armed = false;
}

static void decide(struct policyd *d, struct vm *vm)
{
	struct kvmmt_err e = { 0 };
	char why[600];
	int err;

	/* The event and a scan's query-migrate may both report pre-switchover. */
	if (vm->decided)
		return;

	static const struct {
		const char *cmd, *args, *verb, *done;
		int prio;
	} act[2] = {
		{ "migrate-continue", "{\"state\": \"pre-switchover\"}", "continue",
		  "migration allowed to switch over", LOG_INFO },
		{ "migrate_cancel", NULL, "cancel",
		  "migration cancelled before switchover", LOG_WARNING },
	};
	bool block = vm_blocking(d, vm, why, sizeof(why));

	err = kvmmt_qmp_command(vm->qmp, act[block].cmd,
				act[block].args ? json_tokener_parse(act[block].args) : NULL,
				NULL, qmp_ms(d), &e);
	if (err) {
		plog(LOG_ERR, "VM %s (pid %d): cannot %s the migration at pre-switchover: %s",
		     vm->name, (int)vm->pid, act[block].verb, e.msg);
		return;
	}
	vm->decided = true;
	if (block) {
		vm->blocked++;
		d->blocked_total++;
	} else {
		vm->allowed++;
		d->allowed_total++;
	}
	plog(act[block].prio, "VM %s (pid %d): %s: %s", vm->name, (int)vm->pid,
	     act[block].done, why);
}

static bool migration_idle(const char *status);

static void set_status(struct vm *vm, const char *status)
{
	snprintf(vm->mig_status, sizeof(vm->mig_status), "%s", status);
	/* One decision per migration: a new one starts undecided. */
	if (!strcmp(status, "setup") || migration_idle(status))
		vm->decided = false;
}

static int set_pause(struct policyd *d, struct vm *vm, bool on, struct kvmmt_err *e)
{
	char args[160];

	/* "events" makes QEMU send MIGRATION events at all. */
	snprintf(args, sizeof(args),
		 "{\"capabilities\": [{\"capability\": \"events\", \"state\": true},"
		 " {\"capability\": \"pause-before-switchover\", \"state\": %s}]}",
		 on ? "true" : "false");
	return kvmmt_qmp_command(vm->qmp, "migrate-set-capabilities", json_tokener_parse(args),
				 NULL, qmp_ms(d), e);
}

static bool pause_is_set(struct policyd *d, struct vm *vm)
{
	struct kvmmt_err e = { 0 };
	json_object *ret = NULL, *v;
	int on = 0;

	if (kvmmt_qmp_command(vm->qmp, "query-migrate-capabilities", NULL, &ret, qmp_ms(d), &e))
		return false;
	for (size_t i = 0; i < json_object_array_length(ret); i++) {
		json_object *c = json_object_array_get_idx(ret, i);
		const char *name;

		if (!json_object_object_get_ex(c, "capability", &v))
			continue;
		name = json_object_get_string(v);
		if ((!strcmp(name, "pause-before-switchover") || !strcmp(name, "events")) &&
		    json_object_object_get_ex(c, "state", &v) && json_object_get_boolean(v))
			on++;
	}
	json_object_put(ret);
	return on == 2;
}

static const char *query_status(struct policyd *d, struct vm *vm, char *buf, size_t n)
{
	struct kvmmt_err e = { 0 };
	json_object *ret = NULL, *v;

	snprintf(buf, n, "none");
	if (kvmmt_qmp_command(vm->qmp, "query-migrate", NULL, &ret, qmp_ms(d), &e))
		return NULL;
	if (json_object_object_get_ex(ret, "status", &v))
		snprintf(buf, n, "%s", json_object_get_string(v));
	json_object_put(ret);
	return buf;
}

static bool migration_idle(const char *status)
{
	static const char *const idle[] = { "none", "completed", "failed", "cancelled" };

	for (size_t i = 0; i < sizeof(idle) / sizeof(idle[0]); i++)
		if (!strcmp(status, idle[i]))
			return true;
	return false;
}

static void arm(struct policyd *d, struct vm *vm)
{
	struct kvmmt_err e = { 0 };
	char status[32];

	if (!query_status(d, vm, status, sizeof(status))) {
		qmp_drop(vm, "query-migrate failed");
		return;
	}
	set_status(vm, status);
	if (pause_is_set(d, vm)) {
		vm->armed = true;
	} else if (migration_idle(status)) {
		if (set_pause(d, vm, true, &e)) {
			plog(LOG_ERR, "VM %s (pid %d): cannot set pause-before-switchover: %s",
			     vm->name, (int)vm->pid, e.msg);
			return;
		}
		vm->armed = true;
	} else {
		plog(LOG_WARNING, "VM %s (pid %d): a migration was already %s when kvmmt-policyd attached; it cannot be held before switchover",
		     vm->name, (int)vm->pid, status);
		return;
	}
	/* A daemon restart while a migration waited for a decision. */
	if (!strcmp(status, "pre-switchover"))
		decide(d, vm);
}

static void connect_qmp(struct policyd *d, struct vm *vm)
{
	struct kvmmt_err e = { 0 };
	int err;

	if (!d->cfg.enforce || !vm->qmp_path[0] || vm->qmp || mono_now() < vm->qmp_retry_at)
		return;
	err = kvmmt_qmp_connect(&vm->qmp, vm->qmp_path, QMP_CONNECT_MS, &e);
	if (err) {
		if (strcmp(vm->qmp_error, e.msg))
			plog(LOG_WARNING, "VM %s (pid %d): %s; migrations of it cannot be held",
			     vm->name, (int)vm->pid, e.msg);
		snprintf(vm->qmp_error, sizeof(vm->qmp_error), "%s", e.msg);
		/*
		 * A monitor held by another client costs a timeout per try:
		 * back off (up to 8 intervals). A socket not there yet is cheap.
		 */
		if (err == -ETIMEDOUT && vm->qmp_failures < 3)
			vm->qmp_failures++;
		vm->qmp_retry_at = mono_now() + d->cfg.interval_s * (1u << vm->qmp_failures);
		vm->qmp = NULL;
		return;
	}
	vm->qmp_failures = 0;
	vm->qmp_error[0] = 0;
	plog(LOG_INFO, "VM %s (pid %d): attached to QMP at %s (QEMU %s)", vm->name,
	     (int)vm->pid, vm->qmp_path, kvmmt_qmp_version(vm->qmp));
	arm(d, vm);
	if (vm->qmp)
		vm_qmp_input(d, vm);
}

static void handle_event(struct policyd *d, struct vm *vm, json_object *ev)
{
	const char *status = kvmmt_qmp_migration_status(ev);

	if (!status)
		return;
	set_status(vm, status);
	plog(LOG_DEBUG, "VM %s (pid %d): migration status %s", vm->name, (int)vm->pid, status);
	if (!strcmp(status, "pre-switchover"))
		decide(d, vm);
	else if (!strcmp(status, "setup"))
		plog(LOG_INFO, "VM %s (pid %d): migration started", vm->name, (int)vm->pid);
	else if (migration_idle(status))
		plog(LOG_INFO, "VM %s (pid %d): migration %s", vm->name, (int)vm->pid, status);
}

void vm_qmp_input(struct policyd *d, struct vm *vm)
{
	struct kvmmt_err e = { 0 };
	json_object *ev;
	int err = kvmmt_qmp_read(vm->qmp, &e);

	/* Handle what arrived before a hang-up too. */
	while (vm->qmp && (ev = kvmmt_qmp_next_event(vm->qmp))) {
		handle_event(d, vm, ev);
		json_object_put(ev);
	}
	if (err && vm->qmp)
		qmp_drop(vm, e.msg);
}

/*
 * A migration waiting at pre-switchover whose event was not seen (events
 * switched off by another client) is found here, one scan later.
 */
static void poll_migration(struct policyd *d, struct vm *vm)
{
	char status[32];

	if (!vm->qmp || !vm->armed)
		return;
	if (!query_status(d, vm, status, sizeof(status))) {
		qmp_drop(vm, "query-migrate failed");
		return;
	}
	/* Events queued during the query are handled first. */
	vm_qmp_input(d, vm);
	if (!vm->qmp || strcmp(status, "pre-switchover"))
		return;
	set_status(vm, status);
	decide(d, vm);
}

/* ---- discovery ----------------------------------------------------------- */

static void fold_iterator(struct policyd *d)
{
	struct kvmmt_vm_list l = { 0 };
	struct kvmmt_err e = { 0 };

	if (kvmmt_dp_read_vms(d->dp, &l, &e)) {
		plog(LOG_WARNING, "cannot read VMs from the kernel: %s", e.msg);
		return;
	}
	for (size_t i = 0; i < l.n; i++) {
		const struct kvmmt_vm_info *v = &l.v[i];
		struct vm *vm = vm_get(d, v->vm.tgid);

		if (!vm)
			continue;
		vm->seen = true;
		if (v->vm.valid & KVMMT_VF_NONCOHERENT) {
			vm->noncoherent = v->vm.noncoherent_dma;
			kvmmt_policy_noncoherent(vm->model, v->vm.noncoherent_dma);
		}
		if (v->vm.valid & KVMMT_VF_QUIRKS)
			kvmmt_policy_quirks(vm->model, v->vm.disabled_quirks);
		if (kvmmt_policy_set_slot_recs(vm->model, v->slots, v->nr_slots, &e))
			plog(LOG_WARNING, "VM %s (pid %d): %s", vm->name, (int)vm->pid, e.msg);
	}
	kvmmt_vm_list_free(&l);
}

static void scan_proc(struct policyd *d)
{
	struct dirent *de;
	DIR *dir = opendir(d->proc_root);

	if (!dir) {
		plog(LOG_ERR, "cannot list %s", d->proc_root);
		return;
	}
	while ((de = readdir(dir))) {
		char argv0[PATH_MAX];
		struct vm *vm;
		pid_t pid;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = atoi(de->d_name);
		if (pid == getpid() || !watched(d, pid))
			continue;
		vm = vm_lookup(d, pid);
		if (vm) {
			vm->seen = true;
			continue;
		}
		if (read_proc(d, pid, "cmdline", argv0, sizeof(argv0)) <= 0)
			continue;	/* kernel thread or gone */
		if (!is_qemu(argv0) && (d->dp || !has_kvm_vm_fd(d, pid)))
			continue;
		vm = vm_get(d, pid);
		if (vm)
			vm->seen = true;
	}
	closedir(dir);
}

static bool still_there(const struct policyd *d, const struct vm *vm)
{
	__u64 st;

	return !start_time(d, vm->pid, &st) && st == vm->starttime;
}

int vm_scan(struct policyd *d)
{
	for (size_t i = 0; i < d->nr_vms; i++)
		d->vms[i]->seen = false;
	/* reservations made since the last scan (a BAR mapped write-combining) */
	if (d->dp && d->cfg.pat_list[0])
		kvmmt_hostmap_read(&d->pat, d->cfg.pat_list, kvmmt_hostmap_parse_pat, NULL);
	if (d->dp)
		fold_iterator(d);
	scan_proc(d);
	for (size_t i = 0; i < d->nr_vms;) {
		struct vm *vm = d->vms[i];

		if (!vm->seen || !still_there(d, vm)) {
			plog(LOG_INFO, "VM %s (pid %d) is gone", vm->name, (int)vm->pid);
			vm_free(vm);
			d->vms[i] = d->vms[--d->nr_vms];
			continue;
		}
		if (d->dp)
			read_maps(d, vm);
		vm_reassess(d, vm);
		connect_qmp(d, vm);
		poll_migration(d, vm);
		i++;
	}
	risk_save(d);
	return 0;
}

int dp_event(void *ctx, const struct kvmmt_event *ev)
{
	struct policyd *d = ctx;
	struct kvmmt_err e = { 0 };
	struct vm *vm = vm_get(d, ev->tgid);

	d->events++;
	if (!vm)
		return 0;
	if (ev->type == KVMMT_EV_NONCOHERENT)
		vm->noncoherent = ev->value;
	if (kvmmt_policy_event(vm->model, ev, d->fmt, d->host_pat, &e))
		plog(LOG_DEBUG, "VM %s (pid %d): event skipped: %s", vm->name, (int)vm->pid, e.msg);
	return 0;
}

/*
 * On a clean stop, VMs whose migrations would be allowed get the capability
 * back off so they do not wait for a daemon that is gone; blocked ones keep
 * it, so their migrations still stop before switchover (fail closed).
 */
void vms_release(struct policyd *d)
{
	for (size_t i = 0; i < d->nr_vms; i++) {
		struct vm *vm = d->vms[i];
		struct kvmmt_err e = { 0 };
		char why[600], status[32];

		if (!vm->qmp || !vm->armed || vm_blocking(d, vm, why, sizeof(why)))
			continue;
		if (query_status(d, vm, status, sizeof(status)) && migration_idle(status) &&
		    !set_pause(d, vm, false, &e))
			plog(LOG_DEBUG, "VM %s (pid %d): pause-before-switchover cleared",
			     vm->name, (int)vm->pid);
	}
}

/* After a reload: names and QMP sockets of VMs not yet held, host types. */
void vms_reidentify(struct policyd *d)
{
	for (size_t i = 0; i < d->nr_vms; i++) {
		struct vm *vm = d->vms[i];

		kvmmt_policy_vm_set_host(vm->model, d->pat.n ? &d->pat : NULL, &vm->maps);
		if (vm->qmp)
			continue;
		vm->qmp_retry_at = 0;
		vm->qmp_failures = 0;
		vm->qmp_error[0] = 0;
		identify(d, vm);
	}
}

json_object *vm_json(const struct policyd *d, const struct vm *vm)
{
	json_object *o = json_object_new_object();
	const struct flag *f = flag_for(d, vm);
	struct kvmmt_policy_summary s;
	char why[600];
	bool blocking = vm_blocking(d, vm, why, sizeof(why));

	kvmmt_policy_summary(vm->model, &s);
	json_object_object_add(o, "pid", json_object_new_int(vm->pid));
	json_object_object_add(o, "name", json_object_new_string(vm->name));
	json_object_object_add(o, "risk", json_object_new_string(kvmmt_risk_name(s.risk)));
	json_object_object_add(o, "flagged", json_object_new_boolean(f != NULL));
	if (f)
		json_object_object_add(o, "flag_reason", json_object_new_string(f->reason));
	json_object_object_add(o, "migration_blocked", json_object_new_boolean(blocking));
	json_object_object_add(o, "why", json_object_new_string(why));
	json_object_object_add(o, "qmp_socket", json_object_new_string(vm->qmp_path));
	json_object_object_add(o, "qmp_connected", json_object_new_boolean(vm->qmp != NULL));
	json_object_object_add(o, "armed", json_object_new_boolean(vm->armed));
	if (vm->qmp_error[0])
		json_object_object_add(o, "qmp_error", json_object_new_string(vm->qmp_error));
	json_object_object_add(o, "migration_status",
			       json_object_new_string(vm->mig_status[0] ? vm->mig_status : "none"));
	json_object_object_add(o, "migrations_blocked", json_object_new_uint64(vm->blocked));
	json_object_object_add(o, "migrations_allowed", json_object_new_uint64(vm->allowed));
	json_object_object_add(o, "noncoherent_dma", json_object_new_int(vm->noncoherent));
	json_object_object_add(o, "ranges", json_object_new_uint64(s.nr_ranges));
	json_object_object_add(o, "aliasing_pages", json_object_new_uint64(s.conflict_pages));
	json_object_object_add(o, "installs", json_object_new_uint64(s.installs));
	return o;
}

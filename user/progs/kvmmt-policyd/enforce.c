// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * Enforcement: what kvmmt-policyd decides for a VM's migrations, and the
 * QMP state machine that carries it out.
 *
 * Every VM with a monitor gets the migration capability
 * pause-before-switchover, so each migration stops in status
 * pre-switchover and the decision is taken there, with the flags and risk
 * of that moment: a VM flagged in the middle of a migration is still
 * stopped before switchover.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "json.h"
#include "policyd.h"

#define QMP_CONNECT_MS	1000
#define MAX_QMP_PATHS	8
#define MAX_LISTED_RANGES 64	/* aliasing ranges in the status */

static int qmp_ms(const struct policyd *d)
{
	return (int)(d->cfg.qmp_timeout_s * 1000);
}

/* The QMP socket: from the configuration, else the command line. */
void vm_identify_qmp(struct policyd *d, struct vm *vm)
{
	char paths[MAX_QMP_PATHS][KVMMT_SUN_PATH_MAX];
	const char *conf = kvmmt_config_qmp(&d->cfg, vm->reg->name);
	int np;

	vm->qmp_path[0] = 0;
	if (conf) {
		snprintf(vm->qmp_path, sizeof(vm->qmp_path), "%s", conf);
		return;
	}
	np = kvmmt_proc_qmp_sockets(d->proc_root, vm->reg->pid, paths, MAX_QMP_PATHS);
	for (int i = 0; i < np; i++) {
		const char *base = strrchr(paths[i], '/');

		base = base ? base + 1 : paths[i];
		if (!d->cfg.qmp_match[0] || strstr(base, d->cfg.qmp_match)) {
			strcpy(vm->qmp_path, paths[i]);
			return;
		}
	}
	if (np > 0)
		snprintf(vm->qmp_error, sizeof(vm->qmp_error),
			 "none of its %d QMP sockets has \"%s\" in its file name (qmp_match)",
			 np, d->cfg.qmp_match);
}

bool vm_blocking(const struct policyd *d, const struct vm *vm, char *why, size_t n)
{
	const struct kvmmt_flag *f = flag_for(d, vm);
	struct kvmmt_policy_summary s;
	char detail[300];

	if (f) {
		snprintf(why, n, "flagged by hand%s%s", f->reason[0] ? ": " : "", f->reason);
		return true;
	}
	kvmmt_policy_summary(vm->reg->model, &s);
	kvmmt_policy_describe(&s, detail, sizeof(detail));
	snprintf(why, n, "risk class %s (%s)", kvmmt_risk_name(s.risk), detail);
	return d->cfg.block[s.risk];
}

void vm_reassess(struct policyd *d, struct vm *vm)
{
	struct kvmmt_policy_summary s;
	char detail[300];

	kvmmt_policy_summary(vm->reg->model, &s);
	if (s.risk == vm->risk)
		return;
	kvmmt_policy_describe(&s, detail, sizeof(detail));
	plog(s.risk > vm->risk ? LOG_WARNING : LOG_NOTICE,
	     "VM %s (pid %d): risk class %s -> %s: %s; migration %s", vm->reg->name,
	     (int)vm->reg->pid, kvmmt_risk_name(vm->risk), kvmmt_risk_name(s.risk), detail,
	     d->cfg.block[s.risk] || flag_for(d, vm) ? "blocked" : "allowed");
	vm->risk = s.risk;
	for (size_t i = 0, shown = 0; i < kvmmt_policy_nr_ranges(vm->reg->model) && shown < 8; i++) {
		const struct kvmmt_gfn_range *r = kvmmt_policy_range(vm->reg->model, i);

		if (!r->conflict)
			continue;
		plog(LOG_WARNING, "VM %s (pid %d): gfn 0x%llx-0x%llx slot %u: guest %s, host %s",
		     vm->reg->name, (int)vm->reg->pid, (unsigned long long)r->start,
		     (unsigned long long)r->end - 1, r->slot, kvmmt_mt_name(r->mt),
		     kvmmt_mt_name(r->host_mt));
		shown++;
	}
}

/* ---- QMP ----------------------------------------------------------------- */

static void qmp_drop(struct vm *vm, const char *why)
{
	plog(LOG_WARNING, "VM %s (pid %d): lost QMP connection: %s", vm->reg->name,
	     (int)vm->reg->pid, why);
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
	/* decided on every install the kernel has reported until now */
	vms_drain(d);

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
		     vm->reg->name, (int)vm->reg->pid, act[block].verb, e.msg);
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
	plog(act[block].prio, "VM %s (pid %d): %s: %s", vm->reg->name, (int)vm->reg->pid,
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
			     vm->reg->name, (int)vm->reg->pid, e.msg);
			return;
		}
		vm->armed = true;
	} else {
		plog(LOG_WARNING, "VM %s (pid %d): a migration was already %s when kvmmt-policyd attached; it cannot be held before switchover",
		     vm->reg->name, (int)vm->reg->pid, status);
		return;
	}
	/* A daemon restart while a migration waited for a decision. */
	if (!strcmp(status, "pre-switchover"))
		decide(d, vm);
}

void vm_connect_qmp(struct policyd *d, struct vm *vm)
{
	struct kvmmt_err e = { 0 };
	int err;

	if (!d->cfg.enforce || !vm->qmp_path[0] || vm->qmp || kvmmt_now() < vm->qmp_retry_at)
		return;
	err = kvmmt_qmp_connect(&vm->qmp, vm->qmp_path, QMP_CONNECT_MS, &e);
	if (err) {
		if (strcmp(vm->qmp_error, e.msg))
			plog(LOG_WARNING, "VM %s (pid %d): %s; migrations of it cannot be held",
			     vm->reg->name, (int)vm->reg->pid, e.msg);
		snprintf(vm->qmp_error, sizeof(vm->qmp_error), "%s", e.msg);
		/*
		 * A monitor held by another client costs a timeout per try:
		 * back off (up to 8 intervals). A socket not there yet is cheap.
		 */
		if (err == -ETIMEDOUT && vm->qmp_failures < 3)
			vm->qmp_failures++;
		vm->qmp_retry_at = kvmmt_now() + d->cfg.interval_s * (1u << vm->qmp_failures);
		vm->qmp = NULL;
		return;
	}
	vm->qmp_failures = 0;
	vm->qmp_error[0] = 0;
	plog(LOG_INFO, "VM %s (pid %d): attached to QMP at %s (QEMU %s)", vm->reg->name,
	     (int)vm->reg->pid, vm->qmp_path, kvmmt_qmp_version(vm->qmp));
	arm(d, vm);
	if (vm->qmp)
		vm_qmp_input(d, vm);
}

static void handle_event(struct policyd *d, struct vm *vm, json_object *ev)
{
	const char *status = kvmmt_qmp_migration_status(ev);

	if (!status)
		return;
	vm->mig_events++;
	set_status(vm, status);
	plog(LOG_DEBUG, "VM %s (pid %d): migration status %s", vm->reg->name, (int)vm->reg->pid, status);
	if (!strcmp(status, "pre-switchover"))
		decide(d, vm);
	else if (!strcmp(status, "setup"))
		plog(LOG_INFO, "VM %s (pid %d): migration started", vm->reg->name, (int)vm->reg->pid);
	else if (migration_idle(status))
		plog(LOG_INFO, "VM %s (pid %d): migration %s", vm->reg->name, (int)vm->reg->pid, status);
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
void vm_poll_migration(struct policyd *d, struct vm *vm)
{
	unsigned int seen = vm->mig_events;
	char status[32];

	if (!vm->qmp || !vm->armed)
		return;
	if (!query_status(d, vm, status, sizeof(status))) {
		qmp_drop(vm, "query-migrate failed");
		return;
	}
	/*
	 * Events queued during the query are handled first, and are newer
	 * than its answer: a pre-switchover the query saw may be decided and
	 * cancelled already.
	 */
	vm_qmp_input(d, vm);
	if (!vm->qmp || vm->mig_events != seen || strcmp(status, "pre-switchover"))
		return;
	set_status(vm, status);
	decide(d, vm);
}

/*
 * On a clean stop, VMs whose migrations would be allowed get the capability
 * back off so they do not wait for a daemon that is gone; blocked ones keep
 * it, so their migrations still stop before switchover (fail closed).
 */
void vms_release(struct policyd *d)
{
	struct vm *vm;

	for_each_vm(d, i, vm) {
		struct kvmmt_err e = { 0 };
		char why[600], status[32];

		if (!vm->qmp || !vm->armed || vm_blocking(d, vm, why, sizeof(why)))
			continue;
		if (query_status(d, vm, status, sizeof(status)) && migration_idle(status) &&
		    !set_pause(d, vm, false, &e))
			plog(LOG_DEBUG, "VM %s (pid %d): pause-before-switchover cleared",
			     vm->reg->name, (int)vm->reg->pid);
	}
}

/* After a reload: QMP sockets of VMs not yet held, host types. */
void vms_reidentify(struct policyd *d)
{
	struct vm *vm;

	for_each_vm(d, i, vm) {
		if (vm->qmp)
			continue;
		vm->qmp_retry_at = 0;
		vm->qmp_failures = 0;
		vm->qmp_error[0] = 0;
		vm_identify_qmp(d, vm);
	}
}

json_object *vm_json(const struct policyd *d, const struct vm *vm)
{
	json_object *o = json_object_new_object();
	const struct kvmmt_flag *f = flag_for(d, vm);
	struct kvmmt_policy_summary s;
	char why[600];
	bool blocking = vm_blocking(d, vm, why, sizeof(why));

	kvmmt_policy_summary(vm->reg->model, &s);
	kvmmt_json_vm_id(o, vm->reg->pid, vm->reg->name);
	kvmmt_json_risk(o, vm->reg->model, MAX_LISTED_RANGES);
	kvmmt_json_installs(o, s.installs_by_mt, NULL);
	json_object_object_add(o, "noncoherent_dma", vm->reg->noncoherent < 0 ? NULL :
			       json_object_new_int(vm->reg->noncoherent));
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
	json_object_object_add(o, "migrations_blocked", kvmmt_json_u64(vm->blocked));
	json_object_object_add(o, "migrations_allowed", kvmmt_json_u64(vm->allowed));
	return o;
}

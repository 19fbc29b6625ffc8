// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * Manual flags, persisted as STATE_DIR/flags.json (user/lib/flags.c). Every
 * change is written (temporary file, fsync, rename) before the control
 * command is answered, so a flag that was acknowledged survives SIGKILL and
 * power loss.
 *
 * The ranges that make a VM latent or aliasing are kept in
 * STATE_DIR/risk.json, so a restarted daemon does not forget a conflict the
 * guest made long ago and will not fault in again (fail closed: a range
 * zapped while the daemon was down stays until a zap covers it again).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "policyd.h"

int state_load(struct policyd *d, struct kvmmt_err *e)
{
	char path[PATH_MAX + 16];
	int err = kvmmt_flags_load(kvmmt_flags_path(d->cfg.state_dir, path, sizeof(path)),
				   &d->flags, &d->nr_flags, e);

	char msg[sizeof(e->msg)];

	if (err == -EINVAL) {
		snprintf(msg, sizeof(msg), "%s", e->msg);
		kvmmt_errf(e, err, "%s; move it away to start without its flags", msg);
	}
	return err;
}

int state_save(struct policyd *d, struct kvmmt_err *e)
{
	char path[PATH_MAX + 16];

	return kvmmt_flags_save(kvmmt_flags_path(d->cfg.state_dir, path, sizeof(path)),
				d->flags, d->nr_flags, e);
}

const struct kvmmt_flag *flag_for(const struct policyd *d, const struct vm *vm)
{
	for (size_t i = 0; i < d->nr_flags; i++) {
		const struct kvmmt_flag *f = &d->flags[i];

		if (f->name[0] && !strcmp(f->name, vm->reg->name))
			return f;
		if (!f->name[0] && f->pid == vm->reg->pid && f->starttime == vm->reg->start_time)
			return f;
	}
	return NULL;
}

static bool kept(const struct kvmmt_gfn_range *r)
{
	return r->honoured || r->conflict;
}

static __u64 mix(__u64 h, __u64 v)
{
	return (h ^ v) * 0x100000001b3ULL;
}

static __u64 risk_signature(const struct policyd *d)
{
	__u64 h = 0xcbf29ce484222325ULL;
	const struct vm *vm;

	for_each_vm(d, i, vm) {
		for (size_t j = 0; j < kvmmt_policy_nr_ranges(vm->reg->model); j++) {
			const struct kvmmt_gfn_range *r = kvmmt_policy_range(vm->reg->model, j);

			if (!kept(r))
				continue;
			h = mix(h, vm->reg->pid);
			h = mix(h, r->start);
			h = mix(h, r->end);
			h = mix(h, (__u64)r->mt << 32 | r->host_mt << 16 | r->slot << 1 | r->honoured);
		}
	}
	return h;
}

static const char *risk_path(const struct policyd *d, char *buf, size_t n)
{
	snprintf(buf, n, "%s/risk.json", d->cfg.state_dir);
	return buf;
}

void risk_load(struct policyd *d)
{
	char path[PATH_MAX + 16];

	risk_path(d, path, sizeof(path));
	if (access(path, F_OK)) {
		/* Nothing to rewrite until some VM has such ranges. */
		d->risk_sig = risk_signature(d);
		return;
	}
	d->saved_risk = json_object_from_file(path);
	if (!d->saved_risk)
		plog(LOG_WARNING, "%s is not valid JSON; risk state of the previous run ignored", path);
}

static json_object *range_json(const struct kvmmt_gfn_range *r)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "start", json_object_new_uint64(r->start));
	json_object_object_add(o, "end", json_object_new_uint64(r->end));
	json_object_object_add(o, "slot", json_object_new_int(r->slot));
	json_object_object_add(o, "mt", json_object_new_string(kvmmt_mt_name(r->mt)));
	json_object_object_add(o, "host_mt", json_object_new_string(kvmmt_mt_name(r->host_mt)));
	json_object_object_add(o, "honoured", json_object_new_boolean(r->honoured));
	return o;
}

static int range_from_json(json_object *o, struct kvmmt_gfn_range *r)
{
	json_object *v;

	memset(r, 0, sizeof(*r));
	if (!json_object_object_get_ex(o, "start", &v))
		return -EINVAL;
	r->start = json_object_get_uint64(v);
	if (!json_object_object_get_ex(o, "end", &v))
		return -EINVAL;
	r->end = json_object_get_uint64(v);
	if (json_object_object_get_ex(o, "slot", &v))
		r->slot = json_object_get_int(v);
	if (json_object_object_get_ex(o, "honoured", &v))
		r->honoured = json_object_get_boolean(v);
	if (!json_object_object_get_ex(o, "mt", &v) ||
	    kvmmt_mt_parse(json_object_get_string(v), &r->mt))
		return -EINVAL;
	if (!json_object_object_get_ex(o, "host_mt", &v) ||
	    kvmmt_mt_parse(json_object_get_string(v), &r->host_mt))
		return -EINVAL;
	return 0;
}

void risk_restore(struct policyd *d, struct vm *vm)
{
	json_object *vms, *v;
	size_t restored = 0;

	if (!d->saved_risk || !json_object_object_get_ex(d->saved_risk, "vms", &vms))
		return;
	for (size_t i = 0; i < json_object_array_length(vms); i++) {
		json_object *o = json_object_array_get_idx(vms, i), *ranges;

		if (!json_object_object_get_ex(o, "pid", &v) || json_object_get_int(v) != vm->reg->pid ||
		    !json_object_object_get_ex(o, "starttime", &v) ||
		    json_object_get_uint64(v) != vm->reg->start_time ||
		    !json_object_object_get_ex(o, "ranges", &ranges))
			continue;
		for (size_t j = 0; j < json_object_array_length(ranges); j++) {
			struct kvmmt_gfn_range r;
			struct kvmmt_err e = { 0 };

			if (range_from_json(json_object_array_get_idx(ranges, j), &r) ||
			    kvmmt_policy_restore(vm->reg->model, &r, &e)) {
				plog(LOG_WARNING, "VM %s (pid %d): saved range %zu is invalid, skipped",
				     vm->reg->name, (int)vm->reg->pid, j);
				continue;
			}
			restored++;
		}
	}
	if (restored)
		plog(LOG_NOTICE, "VM %s (pid %d): %zu ranges with guest-chosen types restored from the previous run",
		     vm->reg->name, (int)vm->reg->pid, restored);
}

void risk_save(struct policyd *d)
{
	static char last_error[512];
	json_object *root, *arr;
	struct kvmmt_err e = { 0 };
	char path[PATH_MAX + 16];
	__u64 sig = risk_signature(d);
	const struct vm *vm;
	const char *text;

	if (sig == d->risk_sig)
		return;
	root = json_object_new_object();
	arr = json_object_new_array();
	json_object_object_add(root, "version", json_object_new_int(1));
	for_each_vm(d, i, vm) {
		json_object *o = NULL, *ranges = NULL;

		for (size_t j = 0; j < kvmmt_policy_nr_ranges(vm->reg->model); j++) {
			const struct kvmmt_gfn_range *r = kvmmt_policy_range(vm->reg->model, j);

			if (!kept(r))
				continue;
			if (!o) {
				o = json_object_new_object();
				ranges = json_object_new_array();
				json_object_object_add(o, "pid", json_object_new_int(vm->reg->pid));
				json_object_object_add(o, "starttime", json_object_new_uint64(vm->reg->start_time));
				json_object_object_add(o, "name", json_object_new_string(vm->reg->name));
				json_object_object_add(o, "ranges", ranges);
				json_object_array_add(arr, o);
			}
			json_object_array_add(ranges, range_json(r));
		}
	}
	json_object_object_add(root, "vms", arr);
	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY);
	if (!kvmmt_write_atomic(risk_path(d, path, sizeof(path)), text, strlen(text), 0600, &e))
		d->risk_sig = sig;
	else if (strcmp(last_error, e.msg))
		plog(LOG_WARNING, "cannot save risk state: %s", e.msg);
	snprintf(last_error, sizeof(last_error), "%s", e.err ? e.msg : "");
	json_object_put(root);
}

// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * Manual flags, persisted as STATE_DIR/flags.json. Every change is written
 * (temporary file, fsync, rename) before the control command is answered,
 * so a flag that was acknowledged survives SIGKILL and power loss.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "policyd.h"

static const char *flags_path(const struct policyd *d, char *buf, size_t n)
{
	snprintf(buf, n, "%s/flags.json", d->cfg.state_dir);
	return buf;
}

static int flag_from_json(json_object *o, struct flag *f)
{
	json_object *v;

	memset(f, 0, sizeof(*f));
	if (json_object_object_get_ex(o, "name", &v))
		snprintf(f->name, sizeof(f->name), "%s", json_object_get_string(v));
	if (json_object_object_get_ex(o, "pid", &v))
		f->pid = json_object_get_int(v);
	if (json_object_object_get_ex(o, "starttime", &v))
		f->starttime = json_object_get_uint64(v);
	if (json_object_object_get_ex(o, "reason", &v))
		snprintf(f->reason, sizeof(f->reason), "%s", json_object_get_string(v));
	if (json_object_object_get_ex(o, "since", &v))
		f->since = json_object_get_int64(v);
	return (f->name[0] || f->pid > 0) ? 0 : -EINVAL;
}

int state_load(struct policyd *d, struct kvmmt_err *e)
{
	json_object *root, *arr;
	char path[PATH_MAX + 16];
	size_t n;

	flags_path(d, path, sizeof(path));
	root = json_object_from_file(path);
	if (!root) {
		if (errno == ENOENT || access(path, F_OK))
			return 0;
		return kvmmt_errf(e, -EINVAL, "%s is not valid JSON; move it away to start without its flags",
				  path);
	}
	if (!json_object_object_get_ex(root, "flags", &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		json_object_put(root);
		return kvmmt_errf(e, -EINVAL, "%s has no \"flags\" array", path);
	}
	n = json_object_array_length(arr);
	d->flags = calloc(n ? n : 1, sizeof(*d->flags));
	if (!d->flags) {
		json_object_put(root);
		return kvmmt_errf(e, -ENOMEM, "out of memory reading %s", path);
	}
	for (size_t i = 0; i < n; i++) {
		if (flag_from_json(json_object_array_get_idx(arr, i), &d->flags[d->nr_flags])) {
			json_object_put(root);
			return kvmmt_errf(e, -EINVAL, "%s: flag %zu names neither a VM nor a pid",
					  path, i);
		}
		d->nr_flags++;
	}
	json_object_put(root);
	return 0;
}

int state_save(struct policyd *d, struct kvmmt_err *e)
{
	json_object *root = json_object_new_object(), *arr = json_object_new_array();
	char path[PATH_MAX + 16];
	const char *text;
	int err;

	json_object_object_add(root, "version", json_object_new_int(1));
	for (size_t i = 0; i < d->nr_flags; i++) {
		const struct flag *f = &d->flags[i];
		json_object *o = json_object_new_object();

		if (f->name[0])
			json_object_object_add(o, "name", json_object_new_string(f->name));
		if (f->pid > 0) {
			json_object_object_add(o, "pid", json_object_new_int(f->pid));
			json_object_object_add(o, "starttime", json_object_new_uint64(f->starttime));
		}
		json_object_object_add(o, "reason", json_object_new_string(f->reason));
		json_object_object_add(o, "since", json_object_new_int64(f->since));
		json_object_array_add(arr, o);
	}
	json_object_object_add(root, "flags", arr);
	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY);
	err = kvmmt_write_atomic(flags_path(d, path, sizeof(path)), text, strlen(text),
				 0600, e);
	json_object_put(root);
	return err;
}

const struct flag *flag_for(const struct policyd *d, const struct vm *vm)
{
	for (size_t i = 0; i < d->nr_flags; i++) {
		const struct flag *f = &d->flags[i];

		if (f->name[0] && !strcmp(f->name, vm->name))
			return f;
		if (!f->name[0] && f->pid == vm->pid && f->starttime == vm->starttime)
			return f;
	}
	return NULL;
}

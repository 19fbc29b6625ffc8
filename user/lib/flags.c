// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/* Manual flags in STATE_DIR/flags.json (flags.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>
#include "file.h"
#include "flags.h"

const char *kvmmt_flags_path(const char *state_dir, char *buf, size_t n)
{
	snprintf(buf, n, "%s/flags.json", state_dir);
	return buf;
}

static int from_json(json_object *o, struct kvmmt_flag *f)
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

int kvmmt_flags_load(const char *path, struct kvmmt_flag **flags, size_t *n,
		     struct kvmmt_err *e)
{
	json_object *root, *arr;
	size_t len;

	*flags = NULL;
	*n = 0;
	if (access(path, F_OK) && errno == ENOENT)
		return 0;	/* nothing was ever flagged */
	root = json_object_from_file(path);
	if (!root) {
		if (access(path, R_OK))
			return kvmmt_errf(e, -errno, "cannot read %s: %s", path, strerror(errno));
		return kvmmt_errf(e, -EINVAL, "cannot read %s: it is not valid JSON", path);
	}
	if (!json_object_object_get_ex(root, "flags", &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		json_object_put(root);
		return kvmmt_errf(e, -EINVAL, "cannot read %s: it has no \"flags\" array", path);
	}
	len = json_object_array_length(arr);
	*flags = calloc(len ? len : 1, sizeof(**flags));
	if (!*flags) {
		json_object_put(root);
		return kvmmt_errf(e, -ENOMEM, "out of memory reading %s", path);
	}
	for (size_t i = 0; i < len; i++) {
		if (from_json(json_object_array_get_idx(arr, i), &(*flags)[i])) {
			json_object_put(root);
			free(*flags);
			*flags = NULL;
			return kvmmt_errf(e, -EINVAL, "cannot read %s: flag %zu names neither a VM nor a pid",
					  path, i);
		}
	}
	*n = len;
	json_object_put(root);
	return 0;
}

int kvmmt_flags_save(const char *path, const struct kvmmt_flag *flags, size_t n,
		     struct kvmmt_err *e)
{
	json_object *root = json_object_new_object(), *arr = json_object_new_array();
	const char *text;
	int err;

	json_object_object_add(root, "version", json_object_new_int(1));
	for (size_t i = 0; i < n; i++) {
		const struct kvmmt_flag *f = &flags[i];
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
	err = kvmmt_write_atomic(path, text, strlen(text), 0600, e);
	json_object_put(root);
	return err;
}

const struct kvmmt_flag *kvmmt_flags_by_name(const struct kvmmt_flag *flags, size_t n,
					     const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (flags[i].name[0] && !strcmp(flags[i].name, name))
			return &flags[i];
	return NULL;
}

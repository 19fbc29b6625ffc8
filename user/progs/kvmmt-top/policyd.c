// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * Migration state from kvmmt-policyd: one "status" request on its control
 * socket per refresh. When the daemon does not run, kvmmt-top shows "-".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "ctl.h"
#include "top.h"

#define TIMEOUT_MS	300

static bool get_bool(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

static void add_vm(struct top_model *m, json_object *o)
{
	struct top_migration *mg, *nm;
	json_object *v;

	if (!json_object_object_get_ex(o, "pid", &v))
		return;
	nm = realloc(m->mig, (m->nr_mig + 1) * sizeof(*nm));
	if (!nm)
		return;
	m->mig = nm;
	mg = &nm[m->nr_mig++];
	memset(mg, 0, sizeof(*mg));
	mg->pid = json_object_get_int(v);
	mg->blocked = get_bool(o, "migration_blocked");
	mg->flagged = get_bool(o, "flagged");
	snprintf(mg->status, sizeof(mg->status), "%s",
		 json_object_object_get_ex(o, "migration_status", &v) ?
		 json_object_get_string(v) : "none");
}

void top_policyd_poll(struct top_model *m)
{
	json_object *req = json_object_new_object(), *reply, *vms, *ok;
	size_t i, n;
	int err;

	m->nr_mig = 0;
	m->policyd = false;
	json_object_object_add(req, "cmd", json_object_new_string("status"));
	err = kvmmt_ctl_call(m->opts->control_socket, req, &reply, TIMEOUT_MS, NULL);
	json_object_put(req);
	if (err)
		return;
	if (json_object_object_get_ex(reply, "ok", &ok) && !json_object_get_boolean(ok))
		goto out;
	if (!json_object_object_get_ex(reply, "vms", &vms) ||
	    !json_object_is_type(vms, json_type_array))
		goto out;
	m->policyd = true;
	n = json_object_array_length(vms);
	for (i = 0; i < n; i++)
		add_vm(m, json_object_array_get_idx(vms, i));
out:
	json_object_put(reply);
}

const struct top_migration *top_policyd_find(const struct top_model *m, pid_t pid)
{
	size_t i;

	for (i = 0; i < m->nr_mig; i++)
		if (m->mig[i].pid == pid)
			return &m->mig[i];
	return NULL;
}

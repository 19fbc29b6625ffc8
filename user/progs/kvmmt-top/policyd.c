// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * Migration state from kvmmt-policyd: one "status" request on its control
 * socket per refresh. When the daemon does not run, kvmmt-top shows "-".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include <json-c/json.h>
#include "top.h"

#define REPLY_MAX	(4 << 20)
#define TIMEOUT_MS	300

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_usec = TIMEOUT_MS * 1000 };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -errno;
	}
	return fd;
}

/* One reply line, NUL-terminated; the caller frees it. */
static char *ask_status(const char *path)
{
	static const char req[] = "{\"cmd\": \"status\"}\n";
	size_t len = 0, cap = 0;
	char *buf = NULL, *nb;
	ssize_t r;
	int fd = connect_to(path);

	if (fd < 0)
		return NULL;
	if (send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != sizeof(req) - 1)
		goto fail;
	for (;;) {
		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 16384;
			if (cap > REPLY_MAX)
				goto fail;
			nb = realloc(buf, cap);
			if (!nb)
				goto fail;
			buf = nb;
		}
		r = read(fd, buf + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += r;
		if (memchr(buf + len - r, '\n', r))
			break;
	}
	close(fd);
	if (!len) {
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	return buf;
fail:
	close(fd);
	free(buf);
	return NULL;
}

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
	json_object *reply, *vms, *ok;
	char *line = ask_status(m->opts->control_socket);
	size_t i, n;

	m->nr_mig = 0;
	m->policyd = false;
	if (!line)
		return;
	reply = json_tokener_parse(line);
	free(line);
	if (!reply)
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

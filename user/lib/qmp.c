// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "clock.h"
#include "qmp.h"

struct kvmmt_qmp {
	int fd;
	char *buf;
	size_t len, cap;
	json_object **ev;
	size_t nev, cap_ev;
	unsigned long next_id;
	char version[32];
};

int kvmmt_qmp_parse(const char *line, size_t len, json_object **out,
		    enum kvmmt_qmp_kind *kind, struct kvmmt_err *e)
{
	struct json_tokener *tok = json_tokener_new();
	json_object *o;

	if (!tok)
		return kvmmt_errf(e, -ENOMEM, "out of memory parsing a QMP message");
	o = json_tokener_parse_ex(tok, line, len);
	if (!o || json_tokener_get_error(tok) != json_tokener_success) {
		json_tokener_free(tok);
		json_object_put(o);
		return kvmmt_errf(e, -EBADMSG, "QMP message is not one JSON object: %.*s",
				  (int)(len > 80 ? 80 : len), line);
	}
	json_tokener_free(tok);
	if (!json_object_is_type(o, json_type_object))
		goto bad;
	if (json_object_object_get_ex(o, "QMP", NULL))
		*kind = KVMMT_QMP_GREETING;
	else if (json_object_object_get_ex(o, "return", NULL))
		*kind = KVMMT_QMP_RETURN;
	else if (json_object_object_get_ex(o, "error", NULL))
		*kind = KVMMT_QMP_ERROR;
	else if (json_object_object_get_ex(o, "event", NULL))
		*kind = KVMMT_QMP_EVENT;
	else
		goto bad;
	*out = o;
	return 0;
bad:
	json_object_put(o);
	return kvmmt_errf(e, -EBADMSG, "QMP message is neither greeting, reply nor event: %.*s",
			  (int)(len > 80 ? 80 : len), line);
}

static long long now_ms(void)
{
	return (long long)(kvmmt_now() * 1000);
}

static int fill(struct kvmmt_qmp *q, struct kvmmt_err *e)
{
	ssize_t n;

	if (q->cap - q->len < 4096) {
		size_t ncap = q->cap ? q->cap * 2 : 16384;
		char *nb;

		if (ncap > (64u << 20))
			return kvmmt_errf(e, -EMSGSIZE, "QMP message larger than 64 MiB");
		nb = realloc(q->buf, ncap);
		if (!nb)
			return kvmmt_errf(e, -ENOMEM, "out of memory reading QMP");
		q->buf = nb;
		q->cap = ncap;
	}
	n = recv(q->fd, q->buf + q->len, q->cap - q->len, MSG_DONTWAIT);
	if (n == 0)
		return kvmmt_errf(e, -EPIPE, "QEMU closed the QMP connection");
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		return kvmmt_errf(e, -errno, "cannot read from QMP: %s", strerror(errno));
	}
	q->len += n;
	return n;
}

/* Take one complete line off the buffer and parse it; 0 if none yet. */
static int take(struct kvmmt_qmp *q, json_object **o, enum kvmmt_qmp_kind *kind,
		struct kvmmt_err *e)
{
	char *nl = q->len ? memchr(q->buf, '\n', q->len) : NULL;
	size_t n;
	int err;

	if (!nl)
		return 0;
	n = nl - q->buf + 1;
	err = kvmmt_qmp_parse(q->buf, n, o, kind, e);
	memmove(q->buf, q->buf + n, q->len - n);
	q->len -= n;
	return err ? err : 1;
}

static int queue_event(struct kvmmt_qmp *q, json_object *o, struct kvmmt_err *e)
{
	if (q->nev == q->cap_ev) {
		size_t ncap = q->cap_ev ? q->cap_ev * 2 : 8;
		json_object **nev = realloc(q->ev, ncap * sizeof(*nev));

		if (!nev) {
			json_object_put(o);
			return kvmmt_errf(e, -ENOMEM, "out of memory queueing a QMP event");
		}
		q->ev = nev;
		q->cap_ev = ncap;
	}
	q->ev[q->nev++] = o;
	return 0;
}

/* Wait for the next non-event message; events are queued on the way. */
static int wait_message(struct kvmmt_qmp *q, json_object **o,
			enum kvmmt_qmp_kind *kind, long long deadline,
			struct kvmmt_err *e)
{
	for (;;) {
		int r = take(q, o, kind, e);

		if (r < 0)
			return r;
		if (r > 0) {
			if (*kind != KVMMT_QMP_EVENT)
				return 0;
			r = queue_event(q, *o, e);
			if (r)
				return r;
			continue;
		}
		long long left = deadline - now_ms();
		struct pollfd p = { .fd = q->fd, .events = POLLIN };

		if (left <= 0)
			return kvmmt_errf(e, -ETIMEDOUT, "QEMU did not answer on QMP in time");
		r = poll(&p, 1, left);
		if (r < 0 && errno != EINTR)
			return kvmmt_errf(e, -errno, "poll on QMP: %s", strerror(errno));
		if (r > 0) {
			r = fill(q, e);
			if (r < 0)
				return r;
		}
	}
}

static char *join_line(const char *a, const char *b)
{
	char *s;

	return asprintf(&s, "%s%s", a, b) < 0 ? NULL : s;
}

static int send_all(struct kvmmt_qmp *q, const char *s, struct kvmmt_err *e)
{
	size_t len = strlen(s), off = 0;

	while (off < len) {
		ssize_t n = send(q->fd, s + off, len - off, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct pollfd p = { .fd = q->fd, .events = POLLOUT };

				poll(&p, 1, 1000);
				continue;
			}
			return kvmmt_errf(e, -errno, "cannot write to QMP: %s", strerror(errno));
		}
		off += n;
	}
	return 0;
}

int kvmmt_qmp_command(struct kvmmt_qmp *q, const char *cmd, json_object *args,
		      json_object **ret, int timeout_ms, struct kvmmt_err *e)
{
	long long deadline = now_ms() + timeout_ms;
	json_object *req = json_object_new_object(), *o = NULL, *id, *v;
	enum kvmmt_qmp_kind kind;
	char idbuf[32], *line;
	int err;

	if (ret)
		*ret = NULL;
	snprintf(idbuf, sizeof(idbuf), "kvmmt-%lu", ++q->next_id);
	json_object_object_add(req, "execute", json_object_new_string(cmd));
	if (args)
		json_object_object_add(req, "arguments", args);
	json_object_object_add(req, "id", json_object_new_string(idbuf));
	line = join_line(json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN), "\n");
	json_object_put(req);
	if (!line)
		return kvmmt_errf(e, -ENOMEM, "out of memory");
	/* One write per request, so a peer reading messages sees whole lines. */
	err = send_all(q, line, e);
	free(line);
	if (err)
		return err;
	for (;;) {
		err = wait_message(q, &o, &kind, deadline, e);
		if (err)
			return err;
		/* A reply without our id belongs to nobody (e.g. a parse error). */
		if (json_object_object_get_ex(o, "id", &id) &&
		    !strcmp(json_object_get_string(id), idbuf))
			break;
		if (kind == KVMMT_QMP_ERROR && !json_object_object_get_ex(o, "id", NULL))
			break;
		json_object_put(o);
	}
	if (kind == KVMMT_QMP_ERROR) {
		json_object *desc = NULL;

		json_object_object_get_ex(o, "error", &v);
		json_object_object_get_ex(v, "desc", &desc);
		err = kvmmt_errf(e, -EREMOTEIO, "QEMU refused %s: %s", cmd,
				 desc ? json_object_get_string(desc) : "no reason given");
		json_object_put(o);
		return err;
	}
	if (kind != KVMMT_QMP_RETURN) {
		json_object_put(o);
		return kvmmt_errf(e, -EBADMSG, "unexpected QMP message in reply to %s", cmd);
	}
	if (ret) {
		json_object_object_get_ex(o, "return", &v);
		*ret = json_object_get(v);
	}
	json_object_put(o);
	return 0;
}

int kvmmt_qmp_connect(struct kvmmt_qmp **out, const char *path, int timeout_ms,
		      struct kvmmt_err *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	long long deadline = now_ms() + timeout_ms;
	json_object *o = NULL, *v, *qemu, *x;
	enum kvmmt_qmp_kind kind;
	struct kvmmt_qmp *q;
	int err;

	if (strlen(path) >= sizeof(sa.sun_path))
		return kvmmt_errf(e, -ENAMETOOLONG, "QMP socket path %s is too long", path);
	strcpy(sa.sun_path, path);
	q = calloc(1, sizeof(*q));
	if (!q)
		return kvmmt_errf(e, -ENOMEM, "out of memory");
	q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (q->fd < 0) {
		err = kvmmt_errf(e, -errno, "socket: %s", strerror(errno));
		goto fail;
	}
	if (connect(q->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = kvmmt_errf(e, -errno, "cannot connect to QMP socket %s: %s", path,
				 strerror(errno));
		goto fail;
	}
	err = wait_message(q, &o, &kind, deadline, e);
	if (err == -ETIMEDOUT)
		err = kvmmt_errf(e, err, "no QMP greeting on %s (another client may hold the monitor)",
				 path);
	if (err)
		goto fail;
	if (kind != KVMMT_QMP_GREETING) {
		json_object_put(o);
		err = kvmmt_errf(e, -EPROTO, "%s did not greet with QMP", path);
		goto fail;
	}
	json_object_object_get_ex(o, "QMP", &v);
	if (json_object_object_get_ex(v, "version", &v) &&
	    json_object_object_get_ex(v, "qemu", &qemu)) {
		int mj = 0, mn = 0, mc = 0;

		if (json_object_object_get_ex(qemu, "major", &x))
			mj = json_object_get_int(x);
		if (json_object_object_get_ex(qemu, "minor", &x))
			mn = json_object_get_int(x);
		if (json_object_object_get_ex(qemu, "micro", &x))
			mc = json_object_get_int(x);
		snprintf(q->version, sizeof(q->version), "%d.%d.%d", mj, mn, mc);
	}
	json_object_put(o);
	err = kvmmt_qmp_command(q, "qmp_capabilities", NULL, NULL,
				deadline - now_ms() > 0 ? deadline - now_ms() : 1, e);
	if (err)
		goto fail;
	*out = q;
	return 0;
fail:
	kvmmt_qmp_close(q);
	return err;
}

void kvmmt_qmp_close(struct kvmmt_qmp *q)
{
	if (!q)
		return;
	if (q->fd >= 0)
		close(q->fd);
	for (size_t i = 0; i < q->nev; i++)
		json_object_put(q->ev[i]);
	free(q->ev);
	free(q->buf);
	free(q);
}

int kvmmt_qmp_fd(const struct kvmmt_qmp *q)
{
	return q->fd;
}

const char *kvmmt_qmp_version(const struct kvmmt_qmp *q)
{
	return q->version;
}

int kvmmt_qmp_read(struct kvmmt_qmp *q, struct kvmmt_err *e)
{
	enum kvmmt_qmp_kind kind;
	json_object *o;
	int r;

	do {
		r = fill(q, e);
		if (r < 0)
			return r;
	} while (r > 0 && q->cap - q->len < 4096);
	while ((r = take(q, &o, &kind, e)) > 0) {
		if (kind != KVMMT_QMP_EVENT) {
			/* A late reply to a command that timed out. */
			json_object_put(o);
			continue;
		}
		r = queue_event(q, o, e);
		if (r)
			return r;
	}
	return r;
}

json_object *kvmmt_qmp_next_event(struct kvmmt_qmp *q)
{
	json_object *o;

	if (!q->nev)
		return NULL;
	o = q->ev[0];
	memmove(q->ev, q->ev + 1, --q->nev * sizeof(*q->ev));
	return o;
}

const char *kvmmt_qmp_event_name(json_object *ev)
{
	json_object *v;

	if (!json_object_object_get_ex(ev, "event", &v))
		return NULL;
	return json_object_get_string(v);
}

const char *kvmmt_qmp_migration_status(json_object *ev)
{
	const char *name = kvmmt_qmp_event_name(ev);
	json_object *d, *s;

	if (!name || strcmp(name, "MIGRATION") ||
	    !json_object_object_get_ex(ev, "data", &d) ||
	    !json_object_object_get_ex(d, "status", &s))
		return NULL;
	return json_object_get_string(s);
}

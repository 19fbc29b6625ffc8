// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/* The client of kvmmt-policyd's control socket (ctl.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include "ctl.h"

#define REPLY_MAX	(4 << 20)	/* a status of thousands of VMs */

static int connect_to(const char *path, int timeout_ms, struct kvmmt_err *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = timeout_ms % 1000 * 1000 };
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path))
		return kvmmt_errf(e, -ENAMETOOLONG, "control socket path %s is too long", path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return kvmmt_errf(e, -errno, "cannot create a socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = errno;
		close(fd);
		return kvmmt_errf(e, -err, "cannot connect to %s: %s%s", path, strerror(err),
				  err == EACCES ? " (the control socket accepts only root)" :
				  err == ENOENT || err == ECONNREFUSED ?
				  " (is kvmmt-policyd running?)" : "");
	}
	return fd;
}

/* Read up to the first newline; the reply is one line. */
static int read_reply(int fd, const char *path, char **out, struct kvmmt_err *e)
{
	size_t len = 0, cap = 0;
	char *buf = NULL, *nb;
	ssize_t r;

	for (;;) {
		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 16384;
			if (cap > REPLY_MAX) {
				free(buf);
				return kvmmt_errf(e, -EMSGSIZE, "the reply on %s exceeds %d bytes",
						  path, REPLY_MAX);
			}
			nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				return kvmmt_errf(e, -ENOMEM, "out of memory for the reply");
			}
			buf = nb;
		}
		r = read(fd, buf + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int err = errno == EAGAIN ? ETIMEDOUT : errno;

			free(buf);
			return kvmmt_errf(e, -err, "no reply from kvmmt-policyd on %s: %s", path,
					  strerror(err));
		}
		if (!r)
			break;
		len += r;
		if (memchr(buf + len - r, '\n', r))
			break;
	}
	if (!len) {
		free(buf);
		return kvmmt_errf(e, -ECONNRESET, "kvmmt-policyd closed %s without a reply", path);
	}
	buf[len] = '\0';
	*out = buf;
	return 0;
}

int kvmmt_ctl_call(const char *path, json_object *req, json_object **reply,
		   int timeout_ms, struct kvmmt_err *e)
{
	const char *s = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	size_t n = strlen(s);
	char *line = NULL;
	int fd, err;

	*reply = NULL;
	fd = connect_to(path, timeout_ms, e);
	if (fd < 0)
		return fd;
	if (send(fd, s, n, MSG_NOSIGNAL) != (ssize_t)n || send(fd, "\n", 1, MSG_NOSIGNAL) != 1) {
		err = kvmmt_errf(e, -errno, "cannot send to %s: %s", path, strerror(errno));
		close(fd);
		return err;
	}
	err = read_reply(fd, path, &line, e);
	close(fd);
	if (err)
		return err;
	*reply = json_tokener_parse(line);
	free(line);
	if (!*reply)
		return kvmmt_errf(e, -EBADMSG, "the reply on %s is not JSON", path);
	return 0;
}

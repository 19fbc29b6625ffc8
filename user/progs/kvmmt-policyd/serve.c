// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * Metrics: written atomically to a node_exporter textfile after every scan,
 * and optionally answered over HTTP on a loopback port (GET /metrics).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "policyd.h"

static int render(struct policyd *d, char **out, size_t *len, struct kvmmt_err *e)
{
	struct kvmmt_metrics_vm *v = calloc(kvmmt_vmreg_len(d->reg) + 1, sizeof(*v));
	struct kvmmt_metrics m = {
		.vms = v, .nr_vms = kvmmt_vmreg_len(d->reg),
		.datapath = d->dp ? kvmmt_path_name(kvmmt_dp_path(d->dp)) : "none",
		.events = d->events, .drops = d->drops,
		.blocked_total = d->blocked_total, .allowed_total = d->allowed_total,
	};
	const struct vm *vm;
	int err;

	if (!v)
		return kvmmt_errf(e, -ENOMEM, "out of memory rendering metrics");
	for_each_vm(d, i, vm) {
		struct kvmmt_policy_summary s;
		char why[600];

		kvmmt_policy_summary(vm->reg->model, &s);
		v[i].pid = vm->reg->pid;
		v[i].name = vm->reg->name;
		v[i].risk = s.risk;
		v[i].flagged = flag_for(d, vm) != NULL;
		v[i].blocking = vm_blocking(d, vm, why, sizeof(why));
		v[i].qmp = vm->qmp != NULL;
		v[i].noncoherent = vm->reg->noncoherent;
		v[i].blocked = vm->blocked;
		v[i].allowed = vm->allowed;
		v[i].conflict_pages = s.conflict_pages;
		memcpy(v[i].installs_by_mt, s.installs_by_mt, sizeof(s.installs_by_mt));
	}
	err = kvmmt_metrics_render(&m, out, len, e);
	free(v);
	return err;
}

void metrics_publish(struct policyd *d)
{
	static char last_error[512];
	struct kvmmt_err e = { 0 };
	char *text = NULL;
	size_t len = 0;

	if (!d->cfg.metrics_textfile[0])
		return;
	if (!render(d, &text, &len, &e))
		kvmmt_write_atomic(d->cfg.metrics_textfile, text, len, 0644, &e);
	free(text);
	/* Say it once, not every scan. */
	if (e.err && strcmp(last_error, e.msg))
		plog(LOG_WARNING, "metrics: %s", e.msg);
	snprintf(last_error, sizeof(last_error), "%s", e.err ? e.msg : "");
}

int metrics_listen(struct policyd *d, struct kvmmt_err *e)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	unsigned short port;
	int fd, one = 1;

	if (!d->cfg.metrics_listen[0])
		return 0;
	if (kvmmt_config_parse_listen(d->cfg.metrics_listen, &port))
		return kvmmt_errf(e, -EINVAL, "metrics address %s is not 127.0.0.1:PORT",
				  d->cfg.metrics_listen);
	sa.sin_port = htons(port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return kvmmt_errf(e, -errno, "socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 8)) {
		int err = -errno;

		close(fd);
		return kvmmt_errf(e, err, "cannot serve metrics on %s: %s",
				  d->cfg.metrics_listen, strerror(-err));
	}
	d->http_fd = fd;
	return 0;
}

void metrics_accept(struct policyd *d)
{
	struct kvmmt_err e = { 0 };
	struct pollfd p;
	char req[2048], hdr[256];
	char *text = NULL;
	size_t len = 0, got = 0;
	bool known;
	int fd = accept4(d->http_fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	while (got < sizeof(req) - 1 && poll(&p, 1, 500) > 0) {
		ssize_t n = read(fd, req + got, sizeof(req) - 1 - got);

		if (n <= 0)
			break;
		got += n;
		req[got] = 0;
		if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
			break;
	}
	req[got] = 0;
	known = !strncmp(req, "GET /metrics ", 13) || !strncmp(req, "GET / ", 6);
	if (known)
		vms_drain(d);	/* the scrape counts every event delivered until now */
	if (!known) {
		static const char nf[] = "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n";

		if (write(fd, nf, sizeof(nf) - 1) < 0)
			plog(LOG_DEBUG, "metrics client went away");
	} else if (!render(d, &text, &len, &e)) {
		int n = snprintf(hdr, sizeof(hdr),
				 "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
				 "Content-Length: %zu\r\n\r\n", len);

		if (write(fd, hdr, n) < 0 || write(fd, text, len) < 0)
			plog(LOG_DEBUG, "metrics client went away");
	}
	free(text);
	close(fd);
}

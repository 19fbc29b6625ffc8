// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * The control socket: one JSON request line, one JSON reply line.
 *   {"cmd": "flag", "target": "vmA", "reason": "..."}
 *   {"cmd": "unflag", "target": "1234"}
 *   {"cmd": "status"}
 * Only root may talk to it: the socket is 0600 and the peer's credentials
 * are checked (SO_PEERCRED) on every connection.
 */
#include <argp.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include "ctl.h"
#include "policyd.h"

#define CTL_TIMEOUT_MS	2000
#define MAX_REQUEST	4096

static int make_parent(const char *path)
{
	char dir[KVMMT_SUN_PATH_MAX], *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = 0;
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

int ctl_listen(struct policyd *d, struct kvmmt_err *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = d->cfg.control_socket;
	int fd, probe;

	if (make_parent(path))
		return kvmmt_errf(e, -errno, "cannot create the directory of %s: %s", path,
				  strerror(errno));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	/* A socket left by a killed daemon is removed; a live one means "running". */
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0 && !connect(probe, (struct sockaddr *)&sa, sizeof(sa))) {
		close(probe);
		return kvmmt_errf(e, -EADDRINUSE, "another kvmmt-policyd is running on %s", path);
	}
	if (probe >= 0)
		close(probe);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return kvmmt_errf(e, -errno, "socket: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || chmod(path, 0600) ||
	    listen(fd, 16)) {
		int err = -errno;

		close(fd);
		return kvmmt_errf(e, err, "cannot listen on %s: %s", path, strerror(-err));
	}
	d->ctl_fd = fd;
	return 0;
}

void ctl_close(struct policyd *d)
{
	if (d->ctl_fd < 0)
		return;
	close(d->ctl_fd);
	d->ctl_fd = -1;
	unlink(d->cfg.control_socket);
}

static json_object *reply_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_object *reply_error(const char *fmt, ...)
{
	json_object *r = json_object_new_object();
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_object_add(r, "ok", json_object_new_boolean(false));
	json_object_object_add(r, "error", json_object_new_string(msg));
	return r;
}

static json_object *reply_ok(const char *msg)
{
	json_object *r = json_object_new_object();

	json_object_object_add(r, "ok", json_object_new_boolean(true));
	json_object_object_add(r, "message", json_object_new_string(msg));
	return r;
}

static bool is_pid(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* Persist, or roll back to @saved and explain why not. */
static json_object *commit_flags(struct policyd *d, struct kvmmt_flag *saved, size_t nr_saved,
				 const char *msg)
{
	struct kvmmt_err e = { 0 };

	if (state_save(d, &e)) {
		free(d->flags);
		d->flags = saved;
		d->nr_flags = nr_saved;
		return reply_error("flags not changed: %s", e.msg);
	}
	free(saved);
	struct vm *vm;

	for_each_vm(d, i, vm)
		vm_reassess(d, vm);
	metrics_publish(d);
	return reply_ok(msg);
}

static struct kvmmt_flag *copy_flags(const struct policyd *d)
{
	struct kvmmt_flag *c = malloc((d->nr_flags + 1) * sizeof(*c));

	if (c && d->nr_flags)
		memcpy(c, d->flags, d->nr_flags * sizeof(*c));
	return c;
}

static json_object *do_flag(struct policyd *d, const char *target, const char *reason)
{
	struct kvmmt_flag *saved, *nf, f = { 0 };
	struct vm *vm = NULL;
	size_t i, nr_saved;
	char msg[512];

	if (is_pid(target)) {
		vm = vm_find(d, target);
		if (!vm) {
			vm_scan(d);
			vm = vm_find(d, target);
		}
		if (!vm)
			return reply_error("no VM with pid %s is running", target);
		f.pid = vm->reg->pid;
		f.starttime = vm->reg->start_time;
	} else {
		if (strlen(target) >= sizeof(f.name))
			return reply_error("VM name \"%s\" is too long", target);
		strcpy(f.name, target);
		vm = vm_find(d, target);
	}
	snprintf(f.reason, sizeof(f.reason), "%s", reason ? reason : "");
	f.since = time(NULL);
	nr_saved = d->nr_flags;
	saved = copy_flags(d);
	nf = realloc(d->flags, (d->nr_flags + 1) * sizeof(*nf));
	if (!saved || !nf) {
		free(saved);
		if (nf)
			d->flags = nf;
		return reply_error("out of memory");
	}
	d->flags = nf;
	for (i = 0; i < d->nr_flags; i++)
		if (!strcmp(nf[i].name, f.name) && nf[i].pid == f.pid &&
		    nf[i].starttime == f.starttime)
			break;
	nf[i] = f;
	if (i == d->nr_flags)
		d->nr_flags++;
	snprintf(msg, sizeof(msg), "flagged %s%s: its migrations are cancelled before switchover%s",
		 f.pid ? "pid " : "", target,
		 vm ? (vm->armed ? "" : " (warning: its QMP monitor is not held, see status)")
		    : " (no such VM is running now; the flag applies when it starts)");
	plog(LOG_NOTICE, "%s%s%s", msg, f.reason[0] ? "; reason: " : "", f.reason);
	return commit_flags(d, saved, nr_saved, msg);
}

static json_object *do_unflag(struct policyd *d, const char *target)
{
	struct kvmmt_flag *saved = copy_flags(d);
	struct vm *vm = vm_find(d, target);
	size_t nr_saved = d->nr_flags, j = 0;
	char msg[300];

	if (!saved)
		return reply_error("out of memory");
	for (size_t i = 0; i < d->nr_flags; i++) {
		const struct kvmmt_flag *f = &d->flags[i];
		bool match;

		if (is_pid(target))
			match = (vm && !f->name[0] && f->pid == vm->reg->pid &&
				 f->starttime == vm->reg->start_time) ||
				(vm && f->name[0] && !strcmp(f->name, vm->reg->name)) ||
				(!vm && !f->name[0] && f->pid == atoi(target));
		else
			match = !strcmp(f->name, target) ||
				(vm && !f->name[0] && f->pid == vm->reg->pid);
		if (!match)
			d->flags[j++] = *f;
	}
	if (j == nr_saved) {
		free(saved);
		return reply_error("%s is not flagged", target);
	}
	d->nr_flags = j;
	snprintf(msg, sizeof(msg), "unflagged %s", target);
	plog(LOG_NOTICE, "%s", msg);
	/* commit_flags restores @saved (nr_saved entries) on failure. */
	return commit_flags(d, saved, nr_saved, msg);
}

static json_object *do_status(struct policyd *d)
{
	json_object *r = reply_ok("status"), *vms = json_object_new_array(),
		    *flags = json_object_new_array();
	struct vm *vm;

	for_each_vm(d, i, vm)
		json_object_array_add(vms, vm_json(d, vm));
	for (size_t i = 0; i < d->nr_flags; i++) {
		json_object *o = json_object_new_object();

		if (d->flags[i].name[0])
			json_object_object_add(o, "name", json_object_new_string(d->flags[i].name));
		else
			json_object_object_add(o, "pid", json_object_new_int(d->flags[i].pid));
		json_object_object_add(o, "reason", json_object_new_string(d->flags[i].reason));
		json_object_object_add(o, "since", json_object_new_int64(d->flags[i].since));
		json_object_array_add(flags, o);
	}
	json_object_object_add(r, "datapath", json_object_new_string(
		d->dp ? kvmmt_path_name(kvmmt_dp_path(d->dp)) : "off"));
	json_object *block = json_object_new_array();

	for (int c = 0; c < KVMMT_RISK__MAX; c++)
		if (d->cfg.block[c])
			json_object_array_add(block, json_object_new_string(kvmmt_risk_name(c)));
	json_object_object_add(r, "block", block);
	json_object_object_add(r, "enforce", json_object_new_boolean(d->cfg.enforce));
	json_object_object_add(r, "vms", vms);
	json_object_object_add(r, "flags", flags);
	return r;
}

static json_object *handle(struct policyd *d, const char *line)
{
	json_object *req = json_tokener_parse(line), *v, *r;
	const char *cmd, *target = NULL, *reason = NULL;

	if (!req || !json_object_object_get_ex(req, "cmd", &v)) {
		json_object_put(req);
		return reply_error("request is not a JSON object with \"cmd\"");
	}
	cmd = json_object_get_string(v);
	if (json_object_object_get_ex(req, "target", &v))
		target = json_object_get_string(v);
	if (json_object_object_get_ex(req, "reason", &v))
		reason = json_object_get_string(v);
	if (!strcmp(cmd, "status"))
		r = do_status(d);
	else if ((!strcmp(cmd, "flag") || !strcmp(cmd, "unflag")) && (!target || !*target))
		r = reply_error("%s needs a VM name or pid", cmd);
	else if (!strcmp(cmd, "flag"))
		r = do_flag(d, target, reason);
	else if (!strcmp(cmd, "unflag"))
		r = do_unflag(d, target);
	else
		r = reply_error("unknown command \"%s\"", cmd);
	json_object_put(req);
	return r;
}

static ssize_t read_line(int fd, char *buf, size_t n, int timeout_ms)
{
	size_t len = 0;

	while (len < n - 1) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, timeout_ms) <= 0)
			return -ETIMEDOUT;
		r = read(fd, buf + len, n - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += r;
		if (memchr(buf, '\n', len))
			break;
	}
	buf[len] = 0;
	return len;
}

static void send_reply(int fd, json_object *r)
{
	const char *s = json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN);

	if (write(fd, s, strlen(s)) < 0 || write(fd, "\n", 1) < 0)
		plog(LOG_DEBUG, "control client went away before the reply");
	json_object_put(r);
}

void ctl_accept(struct policyd *d)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	char buf[MAX_REQUEST];
	int fd = accept4(d->ctl_fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) || cred.uid != 0) {
		plog(LOG_WARNING, "refused control connection from uid %d (pid %d): root only",
		     (int)cred.uid, (int)cred.pid);
		send_reply(fd, reply_error("permission denied: the control socket accepts only root"));
		close(fd);
		return;
	}
	/* the answer counts every event the kernel delivered until now */
	if (read_line(fd, buf, sizeof(buf), CTL_TIMEOUT_MS) > 0) {
		vms_drain(d);
		send_reply(fd, handle(d, buf));
	}
	close(fd);
}

/* ---- client ---------------------------------------------------------------- */

struct ctl_args {
	const char *socket;
	bool json;
	char *argv[3];		/* command, target, reason */
	int argc;
	char reason[256];
};

static const char ctl_doc[] =
"Control a running kvmmt-policyd (root only).\n"
"\n"
"COMMANDS:\n"
"  flag VM [REASON...]   cancel every migration of VM (a name or a pid) before\n"
"                        switchover; persisted, survives restarts\n"
"  unflag VM             remove the manual flag\n"
"  status                VMs, their risk class, flags and QMP state\n"
"\n"
"EXAMPLES:\n"
"  kvmmt-policyd ctl flag vmA \"GPU passthrough with noncoherent DMA\"\n"
"  kvmmt-policyd ctl flag 12345\n"
"  kvmmt-policyd ctl unflag vmA\n"
"  kvmmt-policyd ctl status --json | jq '.vms[] | {name, risk, flagged}'";

static const struct argp_option ctl_opts[] = {
	{ "control-socket", 'S', "PATH", 0, "Control socket (default /run/kvmmt/policyd.sock)", 0 },
	{ "json", 'j', NULL, 0, "Print the daemon's JSON reply", 0 },
	{ 0 },
};

static error_t ctl_parse(int key, char *arg, struct argp_state *state)
{
	struct ctl_args *a = state->input;

	switch (key) {
	case 'S':
		a->socket = arg;
		break;
	case 'j':
		a->json = true;
		break;
	case ARGP_KEY_ARG:
		if (a->argc < 2) {
			a->argv[a->argc++] = arg;
		} else {
			size_t l = strlen(a->reason);

			snprintf(a->reason + l, sizeof(a->reason) - l, "%s%s", l ? " " : "", arg);
		}
		break;
	case ARGP_KEY_END:
		if (!a->argc)
			argp_error(state, "a command is required: flag, unflag or status");
		if (strcmp(a->argv[0], "flag") && strcmp(a->argv[0], "unflag") &&
		    strcmp(a->argv[0], "status"))
			argp_error(state, "unknown command \"%s\"", a->argv[0]);
		if (strcmp(a->argv[0], "status") && a->argc < 2)
			argp_error(state, "%s needs a VM name or pid", a->argv[0]);
		if (!strcmp(a->argv[0], "status") && a->argc > 1)
			argp_error(state, "status takes no arguments");
		if (!strcmp(a->argv[0], "unflag") && a->reason[0])
			argp_error(state, "unflag takes one VM name or pid");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const char *str(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

static bool is_true(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

/* A flag that names no running VM (by name, or by pid when it has no name). */
static bool flag_running(json_object *f, json_object *vms)
{
	json_object *pid;
	bool by_pid = json_object_object_get_ex(f, "pid", &pid);

	for (size_t i = 0; i < json_object_array_length(vms); i++) {
		json_object *v = json_object_array_get_idx(vms, i);

		if (by_pid ? !strcmp(str(v, "pid"), json_object_get_string(pid))
			   : !strcmp(str(v, "name"), str(f, "name")))
			return true;
	}
	return false;
}

static void print_status(json_object *r)
{
	json_object *vms, *flags, *v;
	int risk_w = 0;		/* the longest class name */
	size_t n;

	for (int c = 0; c < KVMMT_RISK__MAX; c++)
		if ((int)strlen(kvmmt_risk_name(c)) > risk_w)
			risk_w = strlen(kvmmt_risk_name(c));

	json_object_object_get_ex(r, "vms", &vms);
	json_object_object_get_ex(r, "flags", &flags);
	printf("data path: %s; blocking classes:", str(r, "datapath"));
	json_object_object_get_ex(r, "block", &v);
	for (size_t i = 0; i < json_object_array_length(v); i++)
		printf(" %s", json_object_get_string(json_object_array_get_idx(v, i)));
	printf("%s; %s\n", json_object_array_length(v) ? "" : " none (manual flags only)",
	       is_true(r, "enforce") ? "enforcing through QMP" : "observing only (enforce = no)");
	n = json_object_array_length(vms);
	if (!n) {
		printf("no VMs watched\n");
	} else {
		printf("%-8s %-20s %-*s %-8s %-9s %-15s %s\n", "PID", "NAME", risk_w, "RISK",
		       "FLAGGED", "MIGRATION", "STATUS", "QMP");
	}
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(vms, i);

		printf("%-8s %-20s %-*s %-8s %-9s %-15s %s\n", str(o, "pid"), str(o, "name"),
		       risk_w, str(o, "risk"), is_true(o, "flagged") ? "yes" : "no",
		       is_true(o, "migration_blocked") ? "blocked" : "allowed",
		       str(o, "migration_status"), is_true(o, "qmp_connected") ? "held" : "not held");
	}
	/* The reasons behind the table, one line per VM and column that needs one. */
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(vms, i);

		if (is_true(o, "migration_blocked"))
			printf("%s (pid %s): migration blocked: %s\n", str(o, "name"), str(o, "pid"),
			       str(o, "why"));
		if (is_true(r, "enforce") && !is_true(o, "qmp_connected") && *str(o, "qmp_error"))
			printf("%s (pid %s): QMP not held: %s\n", str(o, "name"), str(o, "pid"),
			       str(o, "qmp_error"));
	}
	for (size_t i = 0; i < json_object_array_length(flags); i++) {
		json_object *f = json_object_array_get_idx(flags, i);

		if (flag_running(f, vms))
			continue;
		printf("flagged, not running: %s%s%s%s\n", *str(f, "name") ? "" : "pid ",
		       *str(f, "name") ? str(f, "name") : str(f, "pid"),
		       *str(f, "reason") ? ": " : "", str(f, "reason"));
	}
}

int ctl_main(int argc, char **argv)
{
	static const struct argp argp = { ctl_opts, ctl_parse, "COMMAND [VM [REASON...]]", ctl_doc,
					  NULL, NULL, NULL };
	struct ctl_args a = { .socket = KVMMT_CTL_SOCKET };
	struct kvmmt_err e = { 0 };
	json_object *req, *r, *v;
	int ok;

	argv[0] = (char *)"kvmmt-policyd ctl";
	if (argp_parse(&argp, argc, argv, 0, NULL, &a))
		return 64;
	req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string(a.argv[0]));
	if (a.argc > 1)
		json_object_object_add(req, "target", json_object_new_string(a.argv[1]));
	if (a.reason[0])
		json_object_object_add(req, "reason", json_object_new_string(a.reason));
	ok = kvmmt_ctl_call(a.socket, req, &r, 30000, &e);
	json_object_put(req);
	if (ok) {
		fprintf(stderr, "kvmmt-policyd ctl: %s\n", e.msg);
		return 1;
	}
	ok = json_object_object_get_ex(r, "ok", &v) && json_object_get_boolean(v);
	if (a.json) {
		printf("%s\n", json_object_to_json_string_ext(r, JSON_C_TO_STRING_PRETTY));
	} else if (!ok) {
		json_object_object_get_ex(r, "error", &v);
		fprintf(stderr, "kvmmt-policyd ctl: %s\n", json_object_get_string(v));
	} else if (!strcmp(a.argv[0], "status")) {
		print_status(r);
	} else {
		json_object_object_get_ex(r, "message", &v);
		printf("%s\n", json_object_get_string(v));
	}
	json_object_put(r);
	return ok ? 0 : 1;
}

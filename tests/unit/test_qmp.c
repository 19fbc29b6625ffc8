// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * QMP: message classification, QMP sockets found on QEMU command lines,
 * replies matched by id with events interleaved (a scripted peer on a
 * socketpair), and one session with the real QEMU when it is installed.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include "qmp.h"
#include "procinfo.h"

/* Bounds for waits that normally end at once; generous for a loaded host. */
#define TIMEOUT_MS	10000

static struct kvmmt_err err;

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static enum kvmmt_qmp_kind kind_of(const char *s)
{
	enum kvmmt_qmp_kind k = 0;
	json_object *o = NULL;

	cr_assert_eq(kvmmt_qmp_parse(s, strlen(s), &o, &k, &err), 0, "%s", err.msg);
	json_object_put(o);
	return k;
}

Test(qmp, classify_messages)
{
	json_object *o = NULL;
	enum kvmmt_qmp_kind k;

	cr_assert_eq(kind_of("{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 19, \"minor\": 2, \"major\": 7}}, \"capabilities\": [\"oob\"]}}\r\n"),
		     KVMMT_QMP_GREETING);
	cr_assert_eq(kind_of("{\"return\": {}, \"id\": \"kvmmt-1\"}"), KVMMT_QMP_RETURN);
	cr_assert_eq(kind_of("{\"id\": 3, \"error\": {\"class\": \"GenericError\", \"desc\": \"x\"}}"),
		     KVMMT_QMP_ERROR);
	cr_assert_eq(kind_of("{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"MIGRATION\", \"data\": {\"status\": \"pre-switchover\"}}"),
		     KVMMT_QMP_EVENT);
	cr_assert_eq(kvmmt_qmp_parse("{\"foo\": 1}", 10, &o, &k, &err), -EBADMSG);
	cr_assert_eq(kvmmt_qmp_parse("[1, 2]", 6, &o, &k, &err), -EBADMSG);
	cr_assert_eq(kvmmt_qmp_parse("{\"return\": ", 11, &o, &k, &err), -EBADMSG);
}

Test(qmp, migration_status_of_events)
{
	const char *s = "{\"event\": \"MIGRATION\", \"data\": {\"status\": \"pre-switchover\"}}";
	json_object *o = json_tokener_parse(s);

	cr_assert_str_eq(kvmmt_qmp_event_name(o), "MIGRATION");
	cr_assert_str_eq(kvmmt_qmp_migration_status(o), "pre-switchover");
	json_object_put(o);
	o = json_tokener_parse("{\"event\": \"STOP\"}");
	cr_assert_null(kvmmt_qmp_migration_status(o));
	json_object_put(o);
}

#define ARGV(...) ({ static const char a[] = __VA_ARGS__; a; }), sizeof(__VA_ARGS__)

Test(qmp, cmdline_qmp_option)
{
	char paths[4][KVMMT_SUN_PATH_MAX], name[64];
	static const char cl[] = "qemu-system-x86_64\0-accel\0kvm\0-name\0vmA\0"
				 "-qmp\0unix:/run/a.sock,server,nowait\0"
				 "--qmp\0unix:/run/b.sock,server=on,wait=off\0"
				 "-qmp\0tcp:127.0.0.1:4444,server\0";

	cr_assert_eq(kvmmt_qemu_cmdline_qmp(cl, sizeof(cl), paths, 4), 2);
	cr_assert_eq(kvmmt_qemu_cmdline_name(cl, sizeof(cl), name, sizeof(name)), 0);
	cr_assert_str_eq(paths[0], "/run/a.sock");
	cr_assert_str_eq(paths[1], "/run/b.sock");
	cr_assert_str_eq(name, "vmA");
}

Test(qmp, cmdline_chardev_and_mon)
{
	char paths[4][KVMMT_SUN_PATH_MAX], name[64];
	/* libvirt's shape: the monitor chardev is declared before -mon. */
	static const char cl[] = "/usr/bin/qemu-system-x86_64\0"
				 "-name\0guest=web-1,debug-threads=on\0"
				 "-chardev\0socket,id=charmonitor,fd=22,server=on,wait=off\0"
				 "-chardev\0socket,id=kvmmt,path=/run/kvmmt/web-1.qmp,server=on,wait=off\0"
				 "-mon\0chardev=charmonitor,id=monitor,mode=control\0"
				 "-mon\0chardev=hmp,mode=readline\0"
				 "-mon\0chardev=kvmmt,mode=control\0";

	cr_assert_eq(kvmmt_qemu_cmdline_qmp(cl, sizeof(cl), paths, 4), 1);
	cr_assert_eq(kvmmt_qemu_cmdline_name(cl, sizeof(cl), name, sizeof(name)), 0);
	cr_assert_str_eq(paths[0], "/run/kvmmt/web-1.qmp");
	cr_assert_str_eq(name, "web-1");
}

Test(qmp, cmdline_without_qmp)
{
	char paths[2][KVMMT_SUN_PATH_MAX], name[64] = "junk";
	static const char cl[] = "qemu-system-x86_64\0-m\0" "64\0-qmp\0";
	/* a socket path with a literal comma (",," in QemuOpts) */
	static const char comma[] = "qemu\0-chardev\0socket,id=m,path=/run/a,,b.qmp,server=on\0"
				    "-mon\0mode=control,chardev=m\0";

	cr_assert_eq(kvmmt_qemu_cmdline_qmp(cl, sizeof(cl), paths, 2), 0);
	cr_assert_eq(kvmmt_qemu_cmdline_name(cl, sizeof(cl), name, sizeof(name)), -ENOENT);
	cr_assert_eq(kvmmt_qemu_cmdline_qmp(comma, sizeof(comma), paths, 2), 1);
	cr_assert_str_eq(paths[0], "/run/a,b.qmp");
}

/* A scripted QMP peer: answers each request, events before and between. */
static void *peer(void *arg)
{
	int fd = *(int *)arg;
	char buf[4096];
	ssize_t n;

	dprintf(fd, "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}}, \"capabilities\": []}}\r\n");
	n = read(fd, buf, sizeof(buf) - 1);		/* qmp_capabilities */
	if (n <= 0)
		return NULL;
	dprintf(fd, "{\"return\": {}, \"id\": \"kvmmt-1\"}\r\n");
	n = read(fd, buf, sizeof(buf) - 1);		/* query-migrate */
	if (n <= 0)
		return NULL;
	/* An event and a stray reply for another id arrive before ours. */
	dprintf(fd, "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 0}, \"event\": \"MIGRATION\", \"data\": {\"status\": \"setup\"}}\r\n"
		    "{\"return\": {}, \"id\": \"other\"}\r\n");
	usleep(20000);
	/* The reply split across two writes, then a second event. */
	dprintf(fd, "{\"return\": {\"status\": \"act");
	usleep(20000);
	dprintf(fd, "ive\"}, \"id\": \"kvmmt-2\"}\r\n"
		    "{\"event\": \"MIGRATION\", \"data\": {\"status\": \"pre-switchover\"}}\r\n");
	n = read(fd, buf, sizeof(buf) - 1);		/* migrate_cancel */
	if (n <= 0)
		return NULL;
	dprintf(fd, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"no migration\"}, \"id\": \"kvmmt-3\"}\r\n");
	close(fd);
	return NULL;
}

static char sock_dir[64];

static void listen_peer(int *lfd, char *path, size_t n)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	strcpy(sock_dir, "/tmp/kvmmt-qmp-XXXXXX");
	cr_assert_not_null(mkdtemp(sock_dir));
	snprintf(path, n, "%s/qmp.sock", sock_dir);
	strcpy(sa.sun_path, path);
	*lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_eq(bind(*lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(*lfd, 1), 0);
}

static void *accept_then_peer(void *arg)
{
	int lfd = *(int *)arg, fd = accept(lfd, NULL, NULL);

	if (fd >= 0)
		peer(&fd);
	return NULL;
}

Test(qmp, replies_matched_by_id_with_events_interleaved)
{
	json_object *ret = NULL, *ev, *v;
	struct kvmmt_qmp *q = NULL;
	long long deadline;
	char path[128];
	pthread_t th;
	int lfd;

	listen_peer(&lfd, path, sizeof(path));
	pthread_create(&th, NULL, accept_then_peer, &lfd);
	cr_assert_eq(kvmmt_qmp_connect(&q, path, TIMEOUT_MS, &err), 0, "%s", err.msg);
	cr_assert_str_eq(kvmmt_qmp_version(q), "7.2.0");
	cr_assert_eq(kvmmt_qmp_command(q, "query-migrate", NULL, &ret, TIMEOUT_MS, &err), 0, "%s",
		     err.msg);
	cr_assert(json_object_object_get_ex(ret, "status", &v));
	cr_assert_str_eq(json_object_get_string(v), "active");
	json_object_put(ret);
	/* The event before the reply is queued; the one after it is in the buffer. */
	ev = kvmmt_qmp_next_event(q);
	cr_assert_not_null(ev);
	cr_assert_str_eq(kvmmt_qmp_migration_status(ev), "setup");
	json_object_put(ev);
	deadline = now_ms() + TIMEOUT_MS;
	while (!(ev = kvmmt_qmp_next_event(q)) && now_ms() < deadline) {
		struct pollfd p = { .fd = kvmmt_qmp_fd(q), .events = POLLIN };

		poll(&p, 1, 100);
		cr_assert_eq(kvmmt_qmp_read(q, &err), 0, "%s", err.msg);
	}
	cr_assert_not_null(ev);
	cr_assert_str_eq(kvmmt_qmp_migration_status(ev), "pre-switchover");
	json_object_put(ev);
	cr_assert_null(kvmmt_qmp_next_event(q));
	cr_assert_eq(kvmmt_qmp_command(q, "migrate_cancel", NULL, NULL, TIMEOUT_MS, &err), -EREMOTEIO);
	cr_assert(strstr(err.msg, "no migration"), "%s", err.msg);
	pthread_join(th, NULL);
	/* The peer hung up. */
	cr_assert_eq(kvmmt_qmp_read(q, &err), -EPIPE);
	kvmmt_qmp_close(q);
	close(lfd);
	unlink(path);
	rmdir(sock_dir);
}

Test(qmp, silent_peer_times_out)
{
	struct kvmmt_qmp *q = NULL;
	char path[128];
	int lfd;

	listen_peer(&lfd, path, sizeof(path));
	/* Never accepted, never greeted: like a monitor another client holds. */
	cr_assert_eq(kvmmt_qmp_connect(&q, path, 200, &err), -ETIMEDOUT);
	cr_assert(strstr(err.msg, "no QMP greeting"), "%s", err.msg);
	close(lfd);
	unlink(path);
	rmdir(sock_dir);
	cr_assert_eq(kvmmt_qmp_connect(&q, path, 200, &err), -ENOENT);
}

Test(qmp, real_qemu_session)
{
	char dir[] = "/tmp/kvmmt-qemu-XXXXXX", path[128], arg[160];
	json_object *ret = NULL, *v;
	struct kvmmt_qmp *q = NULL;
	int status, rc = -1;
	long long deadline;
	pid_t pid;

	if (access("/usr/bin/qemu-system-x86_64", X_OK))
		cr_skip_test("qemu-system-x86_64 is not installed");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/qmp.sock", dir);
	snprintf(arg, sizeof(arg), "unix:%s,server=on,wait=off", path);
	pid = fork();
	if (!pid) {
		/* QEMU goes with the test process, even when an assertion ends it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execl("/usr/bin/qemu-system-x86_64", "qemu-system-x86_64", "-accel",
		      access("/dev/kvm", R_OK | W_OK) ? "tcg" : "kvm", "-S", "-display",
		      "none", "-m", "64", "-nodefaults", "-qmp", arg, NULL);
		_exit(127);
	}
	/* Until QEMU has created its socket and greets. */
	deadline = now_ms() + 3 * TIMEOUT_MS;
	while ((rc = kvmmt_qmp_connect(&q, path, TIMEOUT_MS, &err)) && now_ms() < deadline)
		usleep(50000);
	cr_assert_eq(rc, 0, "%s", err.msg);
	cr_assert_eq(kvmmt_qmp_command(q, "query-status", NULL, &ret, TIMEOUT_MS, &err), 0, "%s",
		     err.msg);
	json_object_object_get_ex(ret, "status", &v);
	cr_assert_str_eq(json_object_get_string(v), "prelaunch");
	json_object_put(ret);
	cr_assert_eq(kvmmt_qmp_command(q, "no-such-command", NULL, NULL, TIMEOUT_MS, &err), -EREMOTEIO);
	cr_assert(strstr(err.msg, "no-such-command"), "%s", err.msg);
	cr_assert_eq(kvmmt_qmp_command(q, "quit", NULL, NULL, TIMEOUT_MS, &err), 0, "%s", err.msg);
	kvmmt_qmp_close(q);
	waitpid(pid, &status, 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	unlink(path);
	rmdir(dir);
}

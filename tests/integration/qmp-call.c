// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * qmp-call: test driver for the policyd-* integration tests, a QMP client
 * on the library's kvmmt_qmp.
 *
 *   qmp-call SOCKET COMMAND [JSON-ARGUMENTS]
 *	run COMMAND and print its return value as JSON
 *   qmp-call SOCKET wait-migration STATUS[,STATUS...] SECONDS
 *	poll query-migrate until its status is one of STATUS; print it
 *
 * Exits 1 with QEMU's reason when the command fails or the wait times out.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>
#include "qmp.h"

#define CMD_TIMEOUT_MS	10000

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static bool status_in(const char *status, const char *list)
{
	size_t n = strlen(status);

	for (const char *p = list; p; p = strchr(p, ',')) {
		if (*p == ',')
			p++;
		if (!strncmp(p, status, n) && (p[n] == ',' || p[n] == '\0'))
			return true;
	}
	return false;
}

static int wait_migration(struct kvmmt_qmp *q, const char *want, const char *secs,
			  struct kvmmt_err *e)
{
	char *end;
	double s = strtod(secs, &end);
	long long deadline;
	char status[64] = "none";

	if (*end || end == secs || s <= 0)
		return kvmmt_errf(e, -EINVAL, "wait-migration: bad timeout %s", secs);
	deadline = now_ms() + (long long)(s * 1000);
	do {
		json_object *ret, *v;
		int err = kvmmt_qmp_command(q, "query-migrate", NULL, &ret, CMD_TIMEOUT_MS, e);

		if (err)
			return err;
		snprintf(status, sizeof(status), "%s",
			 json_object_object_get_ex(ret, "status", &v) ?
			 json_object_get_string(v) : "none");
		json_object_put(ret);
		if (status_in(status, want)) {
			printf("%s\n", status);
			return 0;
		}
		nanosleep(&(struct timespec){ .tv_nsec = 100 * 1000000 }, NULL);
	} while (now_ms() < deadline);
	return kvmmt_errf(e, -ETIMEDOUT, "migration status is %s, not %s, after %s s",
			  status, want, secs);
}

static int call(struct kvmmt_qmp *q, const char *cmd, const char *args_json,
		struct kvmmt_err *e)
{
	json_object *args = NULL, *ret = NULL;
	int err;

	if (args_json) {
		args = json_tokener_parse(args_json);
		if (!args)
			return kvmmt_errf(e, -EINVAL, "arguments are not JSON: %s", args_json);
	}
	err = kvmmt_qmp_command(q, cmd, args, &ret, CMD_TIMEOUT_MS, e);
	if (err)
		return err;
	printf("%s\n", ret ? json_object_to_json_string_ext(ret, JSON_C_TO_STRING_PLAIN) : "{}");
	json_object_put(ret);
	return 0;
}

int main(int argc, char **argv)
{
	struct kvmmt_err e = { 0 };
	struct kvmmt_qmp *q;
	int err;

	if (argc < 3 || argc > 5 || (!strcmp(argv[2], "wait-migration") && argc != 5) ||
	    (strcmp(argv[2], "wait-migration") && argc > 4)) {
		fprintf(stderr, "usage: %s SOCKET COMMAND [JSON-ARGUMENTS]\n"
			"       %s SOCKET wait-migration STATUS[,STATUS...] SECONDS\n",
			argv[0], argv[0]);
		return 2;
	}
	err = kvmmt_qmp_connect(&q, argv[1], CMD_TIMEOUT_MS, &e);
	if (!err) {
		if (!strcmp(argv[2], "wait-migration"))
			err = wait_migration(q, argv[3], argv[4], &e);
		else
			err = call(q, argv[2], argc > 3 ? argv[3] : NULL, &e);
		kvmmt_qmp_close(q);
	}
	if (err) {
		fprintf(stderr, "qmp-call: %s\n", e.msg);
		return 1;
	}
	return 0;
}

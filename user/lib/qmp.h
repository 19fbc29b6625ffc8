/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
#ifndef KVMMT_QMP_H
#define KVMMT_QMP_H

/*
 * A QEMU Machine Protocol client over a unix socket: greeting and
 * capability negotiation, commands matched to their replies by id, and
 * asynchronous events (which may arrive between a command and its reply)
 * queued for the caller.
 */
#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include "err.h"

enum kvmmt_qmp_kind {
	KVMMT_QMP_GREETING = 1,	/* {"QMP": {...}} */
	KVMMT_QMP_RETURN,	/* {"return": ..., "id": ...} */
	KVMMT_QMP_ERROR,	/* {"error": {"class", "desc"}, "id": ...} */
	KVMMT_QMP_EVENT,	/* {"event": NAME, "data": ..., "timestamp": ...} */
};

/* Parse one QMP message; on success *out holds a reference the caller puts. */
int kvmmt_qmp_parse(const char *line, size_t len, json_object **out,
		    enum kvmmt_qmp_kind *kind, struct kvmmt_err *e);

struct kvmmt_qmp;

/* Connect, read the greeting and leave capability negotiation mode. */
int kvmmt_qmp_connect(struct kvmmt_qmp **out, const char *path, int timeout_ms,
		      struct kvmmt_err *e);
void kvmmt_qmp_close(struct kvmmt_qmp *q);
int kvmmt_qmp_fd(const struct kvmmt_qmp *q);
/* QEMU's version from the greeting, "MAJOR.MINOR.MICRO". */
const char *kvmmt_qmp_version(const struct kvmmt_qmp *q);

/*
 * Run @cmd with @args (consumed, may be NULL) and wait for its reply.
 * *ret (may be NULL) gets the "return" value. A QMP error returns -EREMOTEIO
 * with QEMU's description in @e. Events seen meanwhile are queued.
 */
int kvmmt_qmp_command(struct kvmmt_qmp *q, const char *cmd, json_object *args,
		      json_object **ret, int timeout_ms, struct kvmmt_err *e);
/* Read what is available without blocking; queue events. -EPIPE on EOF. */
int kvmmt_qmp_read(struct kvmmt_qmp *q, struct kvmmt_err *e);
/* Pop the oldest queued event (caller puts it), or NULL. */
json_object *kvmmt_qmp_next_event(struct kvmmt_qmp *q);

/* Event helpers. */
const char *kvmmt_qmp_event_name(json_object *ev);
/* data.status of a MIGRATION event, or NULL. */
const char *kvmmt_qmp_migration_status(json_object *ev);

#endif

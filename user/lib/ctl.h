/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
#ifndef KVMMT_CTL_H
#define KVMMT_CTL_H

/*
 * The client of kvmmt-policyd's control socket: one JSON request line
 * ({"cmd": "status"}, {"cmd": "flag", "target": VM, "reason": TEXT}, ...),
 * one JSON reply line ({"ok": true, ...} or {"ok": false, "error": TEXT}).
 */
#include <json-c/json.h>
#include "err.h"

#define KVMMT_CTL_SOCKET	"/run/kvmmt/policyd.sock"

/*
 * Send @req (borrowed) to the daemon at @path and wait up to @timeout_ms
 * for its reply (*@reply, the caller puts it). 0, or -errno with @e saying
 * what failed and, where it helps, why (not root, daemon not running).
 */
int kvmmt_ctl_call(const char *path, json_object *req, json_object **reply,
		   int timeout_ms, struct kvmmt_err *e);

#endif

/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
#ifndef KVMMT_PIDLIST_H
#define KVMMT_PIDLIST_H

#include <stdbool.h>
#include <sys/types.h>
#include "err.h"

/*
 * Append the process ids of "PID[,PID...]" (the -p argument of the kvmmt
 * programs) to @pids, which holds @max entries and @*nr already. @arg is
 * split in place. With @must_run, a pid with no process is refused (a live
 * view of a process that is gone would silently show nothing).
 * Returns 0, or -EINVAL (not a positive pid), -E2BIG (more than @max) or
 * -ESRCH (no such process), with the reason in @e.
 */
int kvmmt_pidlist_add(char *arg, pid_t *pids, int *nr, int max, bool must_run,
		      struct kvmmt_err *e);

#endif

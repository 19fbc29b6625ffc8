// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include "pidlist.h"

static int parse_pid(const char *s, long *pid)
{
	char *end;

	errno = 0;
	*pid = strtol(s, &end, 10);
	return errno || end == s || *end || *pid < 1 || *pid > INT_MAX ? -EINVAL : 0;
}

int kvmmt_pidlist_add(char *arg, pid_t *pids, int *nr, int max, bool must_run,
		      struct kvmmt_err *e)
{
	char *save = NULL, *tok;
	long pid;

	if (!arg[strspn(arg, ",")])
		return kvmmt_errf(e, -EINVAL, "invalid pid '%s': expected a positive process id",
				  arg);
	for (tok = strtok_r(arg, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (parse_pid(tok, &pid))
			return kvmmt_errf(e, -EINVAL,
					  "invalid pid '%s': expected a positive process id", tok);
		if (*nr == max)
			return kvmmt_errf(e, -E2BIG, "too many pids: at most %d", max);
		if (must_run && kill(pid, 0) && errno == ESRCH)
			return kvmmt_errf(e, -ESRCH, "no process with pid %ld", pid);
		pids[(*nr)++] = pid;
	}
	return 0;
}

// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "pidlist.h"

static int add(const char *s, pid_t *pids, int *nr, int max, bool must_run,
	       struct kvmmt_err *e)
{
	char buf[128];

	snprintf(buf, sizeof(buf), "%s", s);
	return kvmmt_pidlist_add(buf, pids, nr, max, must_run, e);
}

Test(pidlist, comma_list_appends_in_order)
{
	pid_t pids[4];
	struct kvmmt_err e;
	int nr = 0;

	cr_assert_eq(add("12,,34", pids, &nr, 4, false, &e), 0);
	cr_assert_eq(add("56", pids, &nr, 4, false, &e), 0);
	cr_assert_eq(nr, 3);
	cr_assert_eq(pids[0], 12);
	cr_assert_eq(pids[1], 34);
	cr_assert_eq(pids[2], 56);
}

Test(pidlist, decimal_only)
{
	pid_t pids[4];
	struct kvmmt_err e;
	int nr = 0;

	cr_assert_eq(add("010", pids, &nr, 4, false, &e), 0);
	cr_assert_eq(pids[0], 10);
	cr_assert_eq(add("0x10", pids, &nr, 4, false, &e), -EINVAL);
	cr_assert_str_eq(e.msg, "invalid pid '0x10': expected a positive process id");
}

Test(pidlist, rejects_bad_tokens)
{
	const char *bad[] = { "", ",", "0", "-1", "12x", "2147483648" };
	pid_t pids[4];
	struct kvmmt_err e;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int nr = 0;

		cr_assert_eq(add(bad[i], pids, &nr, 4, false, &e), -EINVAL, "'%s'", bad[i]);
		cr_assert_eq(nr, 0);
	}
}

Test(pidlist, bounded)
{
	pid_t pids[2];
	struct kvmmt_err e;
	int nr = 0;

	cr_assert_eq(add("1,2,3", pids, &nr, 2, false, &e), -E2BIG);
	cr_assert_str_eq(e.msg, "too many pids: at most 2");
	cr_assert_eq(nr, 2);
}

Test(pidlist, must_run)
{
	pid_t pids[2];
	struct kvmmt_err e;
	char self[16];
	int nr = 0;

	snprintf(self, sizeof(self), "%d", getpid());
	cr_assert_eq(add(self, pids, &nr, 2, true, &e), 0);
	/* above pid_max (at most 2^22), so never a running process */
	cr_assert_eq(add("4194305", pids, &nr, 2, true, &e), -ESRCH);
	cr_assert_str_eq(e.msg, "no process with pid 4194305");
	cr_assert_eq(add("4194305", pids, &nr, 2, false, &e), 0);
}

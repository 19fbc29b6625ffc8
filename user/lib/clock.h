/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
#ifndef KVMMT_CLOCK_H
#define KVMMT_CLOCK_H

#include <time.h>

/* Monotonic seconds: the one clock of kvmmt's intervals, timeouts and rates. */
static inline double kvmmt_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

#endif

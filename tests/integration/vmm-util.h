/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
/* What the small test VMMs of the integration tests share. */
#ifndef KVMMT_TEST_VMM_UTIL_H
#define KVMMT_TEST_VMM_UTIL_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The program's name in its messages; each VMM defines it. */
extern const char *vmm_name;

static inline void die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", vmm_name, what, strerror(errno));
	exit(1);
}

static inline void pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, ms % 1000 * 1000000 };

	nanosleep(&ts, NULL);
}

#endif

/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
#ifndef KVMMT_ERR_H
#define KVMMT_ERR_H

/*
 * The library never prints: a failing call returns a negative errno and
 * leaves a one-sentence explanation here for the program to show.
 */
struct kvmmt_err {
	int err;		/* negative errno, 0 when unset */
	char msg[512];
};

/* Fill @e (may be NULL) and return @err, which must be negative. */
int kvmmt_errf(struct kvmmt_err *e, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif

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

/*
 * The symbolic name of errno @err (either sign), including the kernel's
 * internal ones that reach user space through BPF (ENOTSUPP = 524, ...),
 * which libc does not know; "E<number>" for anything else.
 */
const char *kvmmt_errno_name(int err);

/* Its description, for the kernel's internal errnos too. */
const char *kvmmt_strerror(int err);

/*
 * Rewrites libbpf's "ERROR: strerror_r(-524)=22" (what it prints for an
 * errno libc cannot describe) in @msg, in place, as "ENOTSUPP".
 */
void kvmmt_fix_strerror(char *msg, size_t size);

#endif

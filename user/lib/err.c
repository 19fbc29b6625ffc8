// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include "err.h"

int kvmmt_errf(struct kvmmt_err *e, int err, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return err;
	e->err = err;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return err;
}

/* include/linux/errno.h: never meant for user space, but BPF returns them */
static const struct {
	int nr;
	const char *name, *desc;
} kernel_errnos[] = {
	{ 512, "ERESTARTSYS", "restart the system call" },
	{ 513, "ERESTARTNOINTR", "restart the system call" },
	{ 514, "ERESTARTNOHAND", "restart if no handler" },
	{ 515, "ENOIOCTLCMD", "no such ioctl command" },
	{ 516, "ERESTART_RESTARTBLOCK", "restart by calling sys_restart_syscall" },
	{ 517, "EPROBE_DEFER", "driver requests probe retry" },
	{ 518, "EOPENSTALE", "open found a stale dentry" },
	{ 519, "ENOPARAM", "parameter not supported" },
	{ 521, "EBADHANDLE", "illegal NFS file handle" },
	{ 522, "ENOTSYNC", "update synchronization mismatch" },
	{ 523, "EBADCOOKIE", "cookie is stale" },
	{ 524, "ENOTSUPP", "operation not supported by this kernel" },
	{ 525, "ETOOSMALL", "buffer or request is too small" },
	{ 526, "ESERVERFAULT", "an untranslatable error occurred" },
	{ 527, "EBADTYPE", "type not supported by server" },
	{ 528, "EJUKEBOX", "request initiated, but will not complete before timeout" },
	{ 529, "EIOCBQUEUED", "iocb queued, will get completion event" },
	{ 530, "ERECALLCONFLICT", "conflict with recalled state" },
};

static __thread char unknown[32];

const char *kvmmt_errno_name(int err)
{
	const char *name;

	err = abs(err);
	for (size_t i = 0; i < sizeof(kernel_errnos) / sizeof(kernel_errnos[0]); i++)
		if (kernel_errnos[i].nr == err)
			return kernel_errnos[i].name;
	name = strerrorname_np(err);
	if (name)
		return name;
	snprintf(unknown, sizeof(unknown), "E%d", err);
	return unknown;
}

const char *kvmmt_strerror(int err)
{
	err = abs(err);
	for (size_t i = 0; i < sizeof(kernel_errnos) / sizeof(kernel_errnos[0]); i++)
		if (kernel_errnos[i].nr == err)
			return kernel_errnos[i].desc;
	return strerror(err);
}

void kvmmt_fix_strerror(char *msg, size_t size)
{
	static const char pat[] = "ERROR: strerror_r(";
	char *p, *end, rest[512];
	long nr;

	while ((p = strstr(msg, pat))) {
		nr = strtol(p + sizeof(pat) - 1, &end, 10);
		if (strncmp(end, ")=", 2))
			return;
		end += 2;
		while (*end >= '0' && *end <= '9')
			end++;
		snprintf(rest, sizeof(rest), "%s", end);
		snprintf(p, size - (p - msg), "%s (%s)%s", kvmmt_errno_name(nr),
			 kvmmt_strerror(nr), rest);
	}
}

/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
#ifndef KVMMT_FILE_H
#define KVMMT_FILE_H

#include <stddef.h>
#include <sys/types.h>
#include "err.h"

/*
 * Write @path atomically with exactly @mode (whatever the umask): a
 * temporary file in the same directory, synced, renamed, and the rename
 * made durable. A reader sees the old file or the new one, never a part.
 */
int kvmmt_write_atomic(const char *path, const char *data, size_t len,
		       mode_t mode, struct kvmmt_err *e);

#endif

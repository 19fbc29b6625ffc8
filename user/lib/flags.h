/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
#ifndef KVMMT_FLAGS_H
#define KVMMT_FLAGS_H

/*
 * Manual flags: VMs an operator marked as at risk, by name or by process
 * (pid and start time), kept in STATE_DIR/flags.json. kvmmt-policyd writes
 * them; kvmmt-policyd and the libvirt hook read them.
 */
#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>
#include "err.h"

struct kvmmt_flag {
	char name[64];			/* "" for a flag by process */
	pid_t pid;
	__u64 starttime;
	char reason[256];
	long long since;		/* unix seconds */
};

/* STATE_DIR/flags.json into @buf. */
const char *kvmmt_flags_path(const char *state_dir, char *buf, size_t n);

/*
 * Read @path into a new array (*@flags, *@n; free() it). A missing file is
 * no flags. An unreadable or invalid one is an error (-EINVAL, -errno),
 * which a caller deciding on a migration takes as "flagged".
 */
int kvmmt_flags_load(const char *path, struct kvmmt_flag **flags, size_t *n,
		     struct kvmmt_err *e);
/* Write @flags to @path atomically (0600). */
int kvmmt_flags_save(const char *path, const struct kvmmt_flag *flags, size_t n,
		     struct kvmmt_err *e);
/* The flag naming @name, or NULL. */
const struct kvmmt_flag *kvmmt_flags_by_name(const struct kvmmt_flag *flags, size_t n,
					     const char *name);

#endif

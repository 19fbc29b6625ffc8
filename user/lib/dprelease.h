/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
/*
 * Releasing the counters of exited VMM processes (datapath.c): their
 * entries in the hash maps are deleted and their per-CPU fast entries
 * freed, so that a long-running reader's maps hold what lives, not every
 * VM the host ever ran. Internal to the library and its tests.
 */
#ifndef KVMMT_DPRELEASE_H
#define KVMMT_DPRELEASE_H

#include <linux/types.h>
#include "err.h"

struct kvmmt_bpf;

/*
 * Releases the counters of every VMM process that exited at least @age_ns
 * ago (the exited map), and forgets its exit. Returns how many processes
 * were released, or a negative errno (@e set).
 */
int kvmmt_dp_release_exited(struct kvmmt_bpf *skel, __u64 age_ns, struct kvmmt_err *e);

#endif /* KVMMT_DPRELEASE_H */

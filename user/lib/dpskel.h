/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
/*
 * What datapath.c does on the data path's maps, on a bare skeleton: so
 * that its tests can fill the maps by hand and check the result. Internal
 * to the library and its tests.
 */
#ifndef KVMMT_DPSKEL_H
#define KVMMT_DPSKEL_H

#include <linux/types.h>
#include "datapath.h"
#include "err.h"

struct kvmmt_bpf;

/*
 * kvmmt_dp_read_counters() without the release: every counter map read
 * and added up, one entry per install key and per tgid.
 */
int kvmmt_skel_read_counters(struct kvmmt_bpf *skel, struct kvmmt_counters *c,
			     struct kvmmt_err *e);

/*
 * Releasing the counters of exited VMM processes: their entries in the
 * hash maps are deleted and their per-CPU fast entries freed, so that a
 * long-running reader's maps hold what lives, not every VM the host ever
 * ran.
 */

/*
 * Releases the counters of every VMM process that exited at least @age_ns
 * ago (the exited map), and forgets its exit. Returns how many processes
 * were released, or a negative errno (@e set).
 */
int kvmmt_dp_release_exited(struct kvmmt_bpf *skel, __u64 age_ns, struct kvmmt_err *e);

#endif /* KVMMT_DPSKEL_H */

/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
#ifndef KVMMT_CAPTURE_PROG_H
#define KVMMT_CAPTURE_PROG_H

#include <stddef.h>
#include "capture.h"
#include "datapath.h"
#include "host.h"

/* The host facts of a capture header, as key/value pairs. */
struct facts {
	struct kvmmt_cap_kv *kv;
	size_t n, cap;
};

int facts_add(struct facts *f, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void facts_free(struct facts *f);
int facts_collect(struct facts *f, const struct kvmmt_host *h, struct kvmmt_dp *dp);

#endif

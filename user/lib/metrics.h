/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
#ifndef KVMMT_METRICS_H
#define KVMMT_METRICS_H

/*
 * kvmmt-policyd's metrics in the Prometheus text exposition format
 * (version 0.0.4), for node_exporter's textfile collector or a scrape.
 */
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>
#include "policy.h"
#include "err.h"

struct kvmmt_metrics_vm {
	pid_t pid;
	const char *name;
	enum kvmmt_risk risk;
	bool flagged;			/* manually flagged */
	bool blocking;			/* migration would be refused now */
	bool qmp;			/* the daemon holds its QMP monitor */
	int noncoherent;		/* -1 if unknown */
	__u64 blocked, allowed;		/* migrations at pre-switchover */
	__u64 conflict_pages;
	__u64 installs_by_mt[KVMMT_MT__MAX];
};

struct kvmmt_metrics {
	const struct kvmmt_metrics_vm *vms;
	size_t nr_vms;
	const char *datapath;		/* attach path in use, or "none" */
	__u64 events, drops;		/* data-path events consumed / lost */
	__u64 blocked_total, allowed_total;	/* including VMs gone since */
};

/* Render into a malloc'ed string (*out, *len). */
int kvmmt_metrics_render(const struct kvmmt_metrics *m, char **out, size_t *len,
			 struct kvmmt_err *e);

#endif

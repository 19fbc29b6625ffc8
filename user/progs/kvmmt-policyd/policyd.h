/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
#ifndef KVMMT_POLICYD_H
#define KVMMT_POLICYD_H

#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>
#include <sys/types.h>
#include <json-c/json.h>
#include "config.h"
#include "datapath.h"
#include "file.h"
#include "flags.h"
#include "metrics.h"
#include "policy.h"
#include "qmp.h"
#include "vmreg.h"

/*
 * What the daemon adds to a VM of the registry: its enforcement state.
 * Identity, host maps and the risk model are the registry's (vm->reg).
 */
struct vm {
	struct kvmmt_vm *reg;
	char qmp_path[KVMMT_SUN_PATH_MAX];	/* "" = none found */
	struct kvmmt_qmp *qmp;
	double qmp_retry_at;		/* kvmmt_now() seconds */
	unsigned int qmp_failures;	/* consecutive, for the back-off */
	char qmp_error[512];		/* why the last connect failed */
	bool armed;			/* pause-before-switchover set */
	char mig_status[32];		/* last MIGRATION status seen */
	bool decided;			/* this migration was cancelled or continued */
	unsigned int mig_events;	/* MIGRATION events handled */
	enum kvmmt_risk risk;		/* last class logged */
	__u64 blocked, allowed;
	bool quiet;			/* the daemon stops: no "gone" line */
};

/* Each VM's enforcement state, in the registry's order. */
#define for_each_vm(d, i, vm)							\
	for (size_t i = 0; i < kvmmt_vmreg_len((d)->reg) &&			\
	     ((vm) = kvmmt_vmreg_at((d)->reg, i)->priv, 1); i++)

struct policyd {
	struct kvmmt_policyd_config cfg;
	const char *proc_root;
	pid_t *only;			/* --pid: watch only these VMMs */
	size_t nr_only;
	struct kvmmt_vmreg *reg;	/* the VMs watched */
	struct kvmmt_flag *flags;
	size_t nr_flags;
	int ctl_fd, http_fd, sig_fd;
	struct kvmmt_dp *dp;
	enum kvmmt_fmt fmt;
	__u64 host_pat;
	__u64 events, drops, blocked_total, allowed_total;
	uint64_t watchdog_usec;
	json_object *saved_risk;	/* risk.json of the previous run */
	__u64 risk_sig;			/* of what risk.json holds now */
	bool stop;
};

/* log.c */
void log_init(int level);
void plog(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* state.c: manual flags persisted under the state directory */
int state_load(struct policyd *d, struct kvmmt_err *e);
int state_save(struct policyd *d, struct kvmmt_err *e);
const struct kvmmt_flag *flag_for(const struct policyd *d, const struct vm *vm);
/* risk.json: the ranges that make VMs latent or aliasing, across restarts */
void risk_load(struct policyd *d);
void risk_restore(struct policyd *d, struct vm *vm);
void risk_save(struct policyd *d);

/* discover.c: the registry of VMs, /proc, one scan */
int vms_open(struct policyd *d, struct kvmmt_err *e);
void vms_close(struct policyd *d);
int vm_scan(struct policyd *d);
struct vm *vm_find(struct policyd *d, const char *target);
int dp_event(void *ctx, const struct kvmmt_event *ev);
/* Every event the kernel delivered into the models; each VM reassessed. */
void vms_drain(struct policyd *d);

/* enforce.c: decisions and the QMP state machine */
void vm_identify_qmp(struct policyd *d, struct vm *vm);
void vm_connect_qmp(struct policyd *d, struct vm *vm);
void vm_qmp_input(struct policyd *d, struct vm *vm);
void vm_poll_migration(struct policyd *d, struct vm *vm);
void vm_reassess(struct policyd *d, struct vm *vm);
bool vm_blocking(const struct policyd *d, const struct vm *vm, char *why, size_t n);
void vms_release(struct policyd *d);
void vms_reidentify(struct policyd *d);
json_object *vm_json(const struct policyd *d, const struct vm *vm);

/* ctl.c: control socket (server side) and the "ctl" client */
int ctl_listen(struct policyd *d, struct kvmmt_err *e);
void ctl_accept(struct policyd *d);
void ctl_close(struct policyd *d);
int ctl_main(int argc, char **argv);

/* metrics */
int metrics_listen(struct policyd *d, struct kvmmt_err *e);
void metrics_accept(struct policyd *d);
void metrics_publish(struct policyd *d);

#endif

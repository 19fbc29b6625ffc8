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
#include "metrics.h"
#include "policy.h"
#include "qmp.h"

/* A VM the daemon watches: a process holding a KVM VM or running QEMU. */
struct vm {
	pid_t pid;
	__u64 starttime;		/* with pid, the VM's identity */
	char name[64];
	char qmp_path[KVMMT_SUN_PATH_MAX];	/* "" = none found */
	struct kvmmt_qmp *qmp;
	double qmp_retry_at;		/* monotonic seconds */
	unsigned int qmp_failures;	/* consecutive, for the back-off */
	char qmp_error[512];		/* why the last connect failed */
	bool armed;			/* pause-before-switchover set */
	char mig_status[32];		/* last MIGRATION status seen */
	bool decided;			/* this migration was cancelled or continued */
	struct kvmmt_policy_vm *model;
	struct kvmmt_hostmap maps;	/* the VMM's device mappings */
	enum kvmmt_risk risk;		/* last class logged */
	int noncoherent;		/* -1 unknown */
	__u64 blocked, allowed;
	bool seen;			/* found by the current scan */
};

/* A manual flag, by VM name or by process (pid + start time). */
struct flag {
	char name[64];			/* "" for a flag by process */
	pid_t pid;
	__u64 starttime;
	char reason[256];
	long long since;		/* unix seconds */
};

struct policyd {
	struct kvmmt_policyd_config cfg;
	const char *proc_root;
	pid_t *only;			/* --pid: watch only these VMMs */
	size_t nr_only;
	struct vm **vms;
	size_t nr_vms;
	struct flag *flags;
	size_t nr_flags;
	int ctl_fd, http_fd, sig_fd;
	struct kvmmt_dp *dp;
	enum kvmmt_fmt fmt;
	__u64 host_pat;
	struct kvmmt_hostmap pat;
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
const struct flag *flag_for(const struct policyd *d, const struct vm *vm);
/* risk.json: the ranges that make VMs latent or aliasing, across restarts */
void risk_load(struct policyd *d);
void risk_restore(struct policyd *d, struct vm *vm);
void risk_save(struct policyd *d);

/* vm.c: discovery, risk and enforcement through QMP */
double mono_now(void);
int vm_scan(struct policyd *d);
struct vm *vm_get(struct policyd *d, pid_t pid);
struct vm *vm_find(struct policyd *d, const char *target);
void vm_free(struct vm *vm);
void vm_qmp_input(struct policyd *d, struct vm *vm);
void vm_reassess(struct policyd *d, struct vm *vm);
bool vm_blocking(const struct policyd *d, const struct vm *vm, char *why, size_t n);
void vms_release(struct policyd *d);
void vms_reidentify(struct policyd *d);
json_object *vm_json(const struct policyd *d, const struct vm *vm);
int dp_event(void *ctx, const struct kvmmt_event *ev);

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

// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * The model behind both renderers: open the data path, fold each snapshot
 * into the VM table, then filter and sort the rows the user asked for.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include "top.h"

/*
 * Host mappings change rarely, and without the kernel's mm sequence
 * (vmreg.h) reading them is not free.
 */
#define HOST_REREAD_S	10.0

const struct top_colinfo top_cols[COL__MAX] = {
	[COL_PID]	= { "PID",	"pid",	 7, 0, false, false },
	[COL_NAME]	= { "NAME",	"name", -16, 0, false, false },
	[COL_VCPUS]	= { "VCPU",	"vcpus", 4, 0, false, true },
	[COL_MEM]	= { "MEM",	"mem",	 6, 0, false, true },
	[COL_NCDMA]	= { "NCDMA",	"ncdma", 5, 0, false, true },
	[COL_GTYPES]	= { "GTYPES",	"gtypes", -6, 0, false, true },
	[COL_WB]	= { "WB",	"wb",	 8, KVMMT_MT_WB, true, true },
	[COL_WC]	= { "WC",	"wc",	 7, KVMMT_MT_WC, true, true },
	[COL_UC]	= { "UC",	"uc",	 7, KVMMT_MT_UC, true, true },
	[COL_WT]	= { "WT",	"wt",	 7, KVMMT_MT_WT, true, true },
	[COL_WP]	= { "WP",	"wp",	 7, KVMMT_MT_WP, true, true },
	[COL_UCM]	= { "UC-",	"uc-",	 7, KVMMT_MT_UC_MINUS, true, true },
	[COL_ZAPS]	= { "ZAP",	"zaps",	 7, 0, false, true },
	[COL_RISK]	= { "RISK",	"risk", -11, 0, false, true },	/* guest-types */
	[COL_MIGR]	= { "MIGRATION", "migr", -22, 0, false, false },
};

int top_parse_sort(const char *key, enum top_col *out)
{
	int i;

	for (i = 0; i < COL__MAX; i++) {
		if (!strcasecmp(key, top_cols[i].key) ||
		    !strcasecmp(key, top_cols[i].title)) {
			*out = i;
			return 0;
		}
	}
	return -EINVAL;
}

/* The first thing that stops kvmmt from running here, as one sentence. */
static int check_host(const struct kvmmt_host *h, struct kvmmt_err *e)
{
	if (!h->kvm_dev)
		return kvmmt_errf(e, -ENODEV,
			"/dev/kvm does not exist: KVM is not available on this host, so there are no VMs to watch.");
	if (!h->root)
		return kvmmt_errf(e, -EPERM,
			"loading kvmmt's BPF programs needs root (CAP_BPF and CAP_PERFMON); run kvmmt-top as root.");
	if (!h->btf)
		return kvmmt_errf(e, -ENOTSUP,
			"this kernel has no BTF (/sys/kernel/btf/vmlinux), which kvmmt's CO-RE BPF programs need.");
	return 0;
}

/* A probe that failed for a reason other than absence or a replacement. */
static bool refused(const struct kvmmt_probe *p)
{
	return p->err && p->err != -ENOENT && p->err != -EALREADY;
}

/*
 * Say which attach path is used and why the better ones were not, and
 * which optional programs the kernel refused. A program the kernel lacks
 * is named only for a better path that nothing refused: then the missing
 * programs are why it was not used; beside a refusal, or on the path in
 * use, a missing optional program is normal.
 */
static void describe_attach(struct top_model *m)
{
	const struct kvmmt_probe *p;
	enum kvmmt_path path = kvmmt_dp_path(m->dp);
	bool path_refused[KVMMT_PATH__MAX] = { false };
	size_t off = 0;
	int i, n;

	snprintf(m->attach, sizeof(m->attach), "%s", kvmmt_path_name(path));
	m->attach_why[0] = '\0';
	n = kvmmt_dp_probes(m->dp, &p);
	for (i = 0; i < n; i++)
		if (refused(&p[i]) && p[i].path < KVMMT_PATH__MAX)
			path_refused[p[i].path] = true;
	for (i = 0; i < n && off < sizeof(m->attach_why); i++) {
		bool better = p[i].path != KVMMT_PATH_NONE && p[i].path < path;

		if (!refused(&p[i]) &&
		    (!p[i].err || !better || p[i].err == -EALREADY || path_refused[p[i].path]))
			continue;
		off += snprintf(m->attach_why + off, sizeof(m->attach_why) - off,
				"%s%s: %s (%s)", off ? "; " : "", p[i].method,
				kvmmt_probe_reason(&p[i]),
				p[i].detail[0] ? p[i].detail : strerror(-p[i].err));
	}
	if (!m->attach_why[0])
		snprintf(m->attach_why, sizeof(m->attach_why), "%s",
			 path == KVMMT_PATH_FENTRY ? "the preferred path" : "best method available");
}

int top_model_open(struct top_model *m, struct top_opts *o, struct kvmmt_err *e)
{
	struct kvmmt_dp_opts dpo = {
		.capture = true,	/* the risk model needs every install */
		.pids = o->nr_pids ? o->pids : NULL,
		.nr_pids = o->nr_pids,
		.force = o->attach,
		.release_s = KVMMT_RELEASE_S,	/* it runs for days */
	};
	struct kvmmt_vmreg_opts ro = {
		.proc_root = "/proc",
		.pat_list = KVMMT_PAT_LIST,
		.reread_s = HOST_REREAD_S,
		.pids = o->pids,
		.nr_pids = o->nr_pids,
	};
	int err;

	m->opts = o;
	if (gethostname(m->hostname, sizeof(m->hostname) - 1))
		snprintf(m->hostname, sizeof(m->hostname), "?");

	err = kvmmt_host_probe(&m->host, e);
	if (err)
		return err;
	err = check_host(&m->host, e);
	if (err)
		return err;
	err = kvmmt_dp_open(&m->dp, &dpo, e);
	if (err)
		return err;
	describe_attach(m);
	ro.fmt = kvmmt_dp_fmt(m->dp);
	ro.host_pat = m->host.host_pat;

	m->table = kvmmt_vmtable_new(kvmmt_dp_fmt(m->dp), m->host.host_pat);
	if (!m->table)
		return kvmmt_errf(e, -ENOMEM, "out of memory for the VM table.");
	return kvmmt_vmreg_new(&m->reg, &ro, e);
}

void top_model_close(struct top_model *m)
{
	free(m->vms);
	m->vms = NULL;
	free(m->mig);
	m->mig = NULL;
	if (m->ui_has_re)
		regfree(&m->ui_re);
	m->ui_has_re = false;
	kvmmt_vmtable_free(m->table);
	m->table = NULL;
	kvmmt_vmreg_free(m->reg);
	m->reg = NULL;
	kvmmt_dp_close(m->dp);
	m->dp = NULL;
}

/* A model that refuses an event (out of memory) keeps the ones before it. */
static int model_event(void *ctx, const struct kvmmt_event *ev)
{
	struct top_model *m = ctx;

	kvmmt_vmreg_event(m->reg, ev, NULL);
	return 0;
}

int top_model_drain(struct top_model *m, int timeout_ms, struct kvmmt_err *e)
{
	int n = kvmmt_dp_poll(m->dp, timeout_ms, model_event, m);

	if (n < 0 && n != -EINTR)
		return kvmmt_errf(e, n, "cannot read data-path events: %s.", strerror(-n));
	return 0;
}

int top_model_sample(struct top_model *m, struct kvmmt_err *e)
{
	struct kvmmt_vm_list vms = {};
	struct kvmmt_counters c = {};
	double now;
	int err;

	err = top_model_drain(m, 0, e);
	if (err)
		return err;
	err = kvmmt_dp_read_vms(m->dp, &vms, e);
	if (err)
		return err;
	err = kvmmt_dp_read_counters(m->dp, &c, e);
	if (err)
		goto out;
	now = kvmmt_now();
	/* the registry first: VMs gone or reused, then what the kernel lists */
	kvmmt_vmreg_refresh(m->reg, now);
	err = kvmmt_vmreg_snapshot(m->reg, &vms, e);
	if (err)
		goto out;
	err = kvmmt_vmtable_update(m->table, &vms, &c, now, m->reg, e);
	if (err)
		goto out;
	top_policyd_poll(m);
	m->interval = kvmmt_vmtable_interval(m->table);
	m->samples++;
	m->drops = c.g[KVMMT_G_DROPS];
	err = top_model_view(m, e);
out:
	kvmmt_counters_free(&c);
	kvmmt_vm_list_free(&vms);
	return err;
}

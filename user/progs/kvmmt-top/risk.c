// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * Risk classes per VM from the policy library's model. The model needs each
 * install with its gfn and pfn, so kvmmt-top streams data-path events into
 * one model per VM, and keeps the model's view of noncoherent DMA, memslots
 * and the host's memory types (PAT reservations, the VMM's device mappings)
 * current at every refresh.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "top.h"

#define HOST_REREAD_S	10.0	/* host mappings change rarely; reading them is not free */

struct risk_vm {
	pid_t pid;
	struct kvmmt_policy_vm *vm;
	struct kvmmt_hostmap maps;	/* the VMM's device mappings, by hva page */
	double maps_read;
};

struct top_risk {
	enum kvmmt_fmt fmt;
	__u64 host_pat;
	struct kvmmt_hostmap pat;	/* host PAT reservations, by pfn */
	bool has_pat;
	double pat_read;
	struct risk_vm **v;		/* one allocation each: the models borrow &maps */
	size_t n;
	__u64 errors;			/* events the model refused */
};

static void risk_vm_free(struct risk_vm *v)
{
	kvmmt_policy_vm_free(v->vm);
	kvmmt_hostmap_free(&v->maps);
	free(v);
}

void top_risk_free(struct top_risk *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->n; i++)
		risk_vm_free(r->v[i]);
	free(r->v);
	kvmmt_hostmap_free(&r->pat);
	free(r);
}

static struct risk_vm *find(const struct top_risk *r, pid_t pid)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (r->v[i]->pid == pid)
			return r->v[i];
	return NULL;
}

static void read_maps(struct top_risk *r, struct risk_vm *v, double now)
{
	kvmmt_hostmap_read_smaps(&v->maps, "/proc", v->pid, NULL);
	v->maps_read = now;
	kvmmt_policy_vm_set_host(v->vm, r->has_pat ? &r->pat : NULL,
				 v->maps.n ? &v->maps : NULL);
}

static void refresh_host(struct top_risk *r, double now)
{
	size_t i;
	bool pat;

	if (now - r->pat_read >= HOST_REREAD_S) {
		/* debugfs may be unmounted: the model then knows no PAT ranges */
		pat = !kvmmt_hostmap_read(&r->pat, KVMMT_PAT_LIST, kvmmt_hostmap_parse_pat, NULL);
		r->has_pat = r->has_pat || pat;
		r->pat_read = now;
	}
	for (i = 0; i < r->n; i++)
		if (now - r->v[i]->maps_read >= HOST_REREAD_S)
			read_maps(r, r->v[i], now);
}

static struct risk_vm *get(struct top_risk *r, pid_t pid)
{
	struct risk_vm *v = find(r, pid), **nv;

	if (v)
		return v;
	nv = realloc(r->v, (r->n + 1) * sizeof(*nv));
	if (!nv)
		return NULL;
	r->v = nv;
	v = calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	v->pid = pid;
	v->vm = kvmmt_policy_vm_new();
	if (v->vm)
		kvmmt_policy_vm_set_fmt(v->vm, r->fmt);
	if (!v->vm) {
		free(v);
		return NULL;
	}
	/*
	 * Know the VMM's device mappings, and the PAT reservations they made,
	 * before its first install is classified.
	 */
	if (!kvmmt_hostmap_read(&r->pat, KVMMT_PAT_LIST, kvmmt_hostmap_parse_pat, NULL))
		r->has_pat = true;
	read_maps(r, v, top_monotonic());
	nv[r->n++] = v;
	return v;
}

struct top_risk *top_risk_new(enum kvmmt_fmt fmt, __u64 host_pat)
{
	struct top_risk *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->fmt = fmt;
	r->host_pat = host_pat;
	r->pat_read = -HOST_REREAD_S;
	refresh_host(r, top_monotonic());
	return r;
}

int top_risk_event(void *ctx, const struct kvmmt_event *ev)
{
	struct top_risk *r = ctx;
	struct risk_vm *v = get(r, ev->tgid);

	if (!v || kvmmt_policy_event(v->vm, ev, r->fmt, r->host_pat, NULL))
		r->errors++;
	return 0;
}

static void sync_vm(struct risk_vm *v, const struct kvmmt_vm_row *row)
{
	struct kvmmt_slot_rec *recs = calloc(row->nr_slots + 1, sizeof(*recs));

	if (!recs)
		return;
	if (row->noncoherent_dma >= 0)
		kvmmt_policy_noncoherent(v->vm, row->noncoherent_dma);
	if (row->quirks_valid)
		kvmmt_policy_quirks(v->vm, row->disabled_quirks);
	for (unsigned int i = 0; i < row->nr_slots; i++)
		recs[i] = row->slots[i].rec;
	kvmmt_policy_set_slot_recs(v->vm, recs, row->nr_slots, NULL);
	free(recs);
}

int top_risk_update(struct top_risk *r, const struct kvmmt_vmtable *t, double now,
		    struct kvmmt_err *e)
{
	const struct kvmmt_vm_row *row;
	struct risk_vm *v;
	size_t i, n = kvmmt_vmtable_len(t);

	for (i = 0; i < n; i++) {
		row = kvmmt_vmtable_row(t, i);
		if (!row->alive)
			continue;
		v = get(r, row->pid);
		if (!v)
			return kvmmt_errf(e, -ENOMEM, "out of memory for the risk model of VM %d.",
					  (int)row->pid);
		sync_vm(v, row);
	}
	/* forget VMMs that exited */
	for (i = 0; i < r->n;) {
		if (kill(r->v[i]->pid, 0) && errno == ESRCH) {
			risk_vm_free(r->v[i]);
			r->v[i] = r->v[--r->n];
			continue;
		}
		i++;
	}
	refresh_host(r, now);
	return 0;
}

const struct kvmmt_policy_vm *top_risk_vm(const struct top_risk *r, pid_t pid)
{
	const struct risk_vm *v = r ? find(r, pid) : NULL;

	return v ? v->vm : NULL;
}

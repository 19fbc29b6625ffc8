// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/* What a capture says, folded per VM and per memslot while it is decoded. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "report.h"

const char *const rep_ev_names[KVMMT_EV__MAX] = {
	[KVMMT_EV_INSTALL] = "install",
	[KVMMT_EV_ZAP] = "zap",
	[KVMMT_EV_NONCOHERENT] = "noncoherent",
	[KVMMT_EV_MEMSLOT] = "memslot",
	[KVMMT_EV_SLOT] = "slot",
	[KVMMT_EV_VM] = "vm",
	[KVMMT_EV_INVAL] = "invalidate",
	[KVMMT_EV_HOSTMAP] = "hostmap",
};

const char *const rep_hostmap_names[KVMMT_HM__MAX] = {
	[KVMMT_HM_GPC_ACTIVATE] = "gpc_activate",
	[KVMMT_HM_GPC_REFRESH] = "gpc_refresh",
	[KVMMT_HM_GPC_DEACTIVATE] = "gpc_deactivate",
	[KVMMT_HM_GPC_INVALIDATE] = "gpc_invalidate",
	[KVMMT_HM_VFIO_ADD] = "vfio_file_add",
	[KVMMT_HM_VFIO_DEL] = "vfio_file_del",
};

const char *const rep_cause_names[KVMMT_ZAP__MAX] = {
	[KVMMT_ZAP_UNKNOWN] = "unknown",
	[KVMMT_ZAP_NOTIFIER] = "mmu_notifier",
	[KVMMT_ZAP_MEMSLOT] = "memslot",
	[KVMMT_ZAP_SLOT_FLAGS] = "slot_flags",
	[KVMMT_ZAP_ALL] = "zap_all",
	[KVMMT_ZAP_ATTRIBUTES] = "attributes",
	[KVMMT_ZAP_GMEM] = "guest_memfd",
};

void rep_model_init(struct rep_model *m)
{
	memset(m, 0, sizeof(*m));
}

static void host_free(struct kvmmt_cap_host *h)
{
	unsigned int i;

	for (i = 0; i < h->nr_kv; i++)
		free(h->kv[i].val);
	free(h->kv);
	h->kv = NULL;
	h->nr_kv = 0;
}

void rep_model_free(struct rep_model *m)
{
	unsigned int i;

	for (i = 0; i < m->nr_vms; i++)
		free(m->vms[i].slots);
	free(m->vms);
	kvmmt_vmreg_free(m->reg);
	host_free(&m->host);
}

int rep_on_host(void *ctx, const struct kvmmt_cap_host *h)
{
	struct rep_model *m = ctx;
	unsigned int i;

	m->host = *h;
	m->host.kv = calloc(h->nr_kv ? h->nr_kv : 1, sizeof(*h->kv));
	if (!m->host.kv)
		return -ENOMEM;
	for (i = 0; i < h->nr_kv; i++) {
		m->host.kv[i] = h->kv[i];
		m->host.kv[i].val = strdup(h->kv[i].val);
		if (!m->host.kv[i].val) {
			m->host.nr_kv = i;
			return -ENOMEM;
		}
	}
	m->have_host = true;
	if (m->reg)
		kvmmt_vmreg_set_format(m->reg, h->fmt, h->host_pat);
	return 0;
}

/* A capture's registry: no /proc, the host maps come from its records. */
static int reg_open(struct rep_model *m)
{
	struct kvmmt_vmreg_opts o = { .fmt = m->host.fmt, .host_pat = m->host.host_pat };

	return m->reg ? 0 : kvmmt_vmreg_new(&m->reg, &o, NULL);
}

struct rep_vm *rep_vm_find(struct rep_model *m, __u32 tgid)
{
	unsigned int i;

	for (i = 0; i < m->nr_vms; i++)
		if (m->vms[i].tgid == tgid)
			return &m->vms[i];
	return NULL;
}

static struct rep_vm *vm_get(struct rep_model *m, __u32 tgid)
{
	struct rep_vm *v = rep_vm_find(m, tgid), *vms;

	if (v)
		return v;
	if (m->nr_vms == REPORT_MAX_VMS)
		return NULL;
	vms = realloc(m->vms, (m->nr_vms + 1) * sizeof(*vms));
	if (!vms)
		return NULL;
	m->vms = vms;
	v = &vms[m->nr_vms];
	memset(v, 0, sizeof(*v));
	if (reg_open(m))
		return NULL;
	v->reg = kvmmt_vmreg_get(m->reg, tgid, NULL);
	if (!v->reg)
		return NULL;
	v->tgid = tgid;
	m->nr_vms++;
	return v;
}

static struct rep_slot *slot_find(struct rep_vm *v, __u16 id, __u64 gfn)
{
	unsigned int i;

	if (id != KVMMT_SLOT_UNKNOWN) {
		for (i = 0; i < v->nr_slots; i++)
			if (v->slots[i].rec.id == id)
				return &v->slots[i];
		return NULL;
	}
	for (i = 0; i < v->nr_slots; i++) {
		const struct kvmmt_slot_rec *r = &v->slots[i].rec;

		if (v->slots[i].known && gfn >= r->base_gfn && gfn - r->base_gfn < r->npages)
			return &v->slots[i];
	}
	return NULL;
}

static struct rep_slot *slot_add(struct rep_vm *v, __u16 id)
{
	struct rep_slot *s;

	if (v->nr_slots == REPORT_MAX_SLOTS)
		return NULL;
	s = realloc(v->slots, (v->nr_slots + 1) * sizeof(*s));
	if (!s)
		return NULL;
	v->slots = s;
	s = &s[v->nr_slots++];
	memset(s, 0, sizeof(*s));
	s->rec.id = id;
	s->min_gfn = ~0ull;
	return s;
}

/*
 * Memslot geometry and names from any snapshot. Called for every snapshot
 * before the events are folded in (a first pass over the file), so events
 * land in the right slot even when the slot is only in the end snapshot.
 */
int rep_on_geometry(void *ctx, const struct kvmmt_cap_snapshot *s)
{
	struct rep_model *m = ctx;
	bool start = s->phase == KVMMT_CAP_START;
	unsigned int i, j;

	for (i = 0; i < s->nr_vms; i++) {
		const struct kvmmt_cap_vm *cv = &s->vms[i];
		struct rep_vm *v = vm_get(m, cv->vm.tgid);

		if (!v)
			return -ENOMEM;
		if (cv->vm.comm[0] || !v->comm[0])
			memcpy(v->comm, cv->vm.comm, KVMMT_COMM_LEN);
		for (j = 0; j < cv->nr_slots; j++) {
			const struct kvmmt_slot_rec *r = &cv->slots[j];
			struct kvmmt_policy_slot ps = {
				.id = r->id, .as_id = r->as_id, .flags = r->flags,
				.base_gfn = r->base_gfn, .npages = r->npages,
				.userspace_addr = r->userspace_addr,
			};
			struct rep_slot *rs = slot_find(v, r->id, 0);

			if (!rs)
				rs = slot_add(v, r->id);
			if (!rs)
				return -ENOMEM;
			if (rs->known && !rs->from_events && !start)
				continue;
			rs->from_events = false;
			if (!rs->known && !m->perr.err)
				kvmmt_policy_slot(v->reg->model, &ps, &m->perr);
			rs->rec = *r;
			rs->known = true;
		}
	}
	return 0;
}

/*
 * The data path's own record of a memslot or a VMM, in the same first
 * pass: it describes VMs that came and went between two snapshots. A
 * snapshot's geometry, where there is one, stays.
 */
int rep_on_geometry_event(void *ctx, const struct kvmmt_cap_event *ce)
{
	const struct kvmmt_event *ev = &ce->ev;
	struct rep_model *m = ctx;
	struct rep_vm *v;
	struct rep_slot *rs;

	if (ev->type != KVMMT_EV_SLOT && ev->type != KVMMT_EV_VM)
		return 0;
	v = vm_get(m, ev->tgid);
	if (!v)
		return -ENOMEM;
	if (ev->type == KVMMT_EV_VM) {
		if (!v->comm[0] || v->comm_from_events) {
			memcpy(v->comm, &ev->gfn, 8);
			memcpy(v->comm + 8, &ev->pfn, 8);
			v->comm[KVMMT_COMM_LEN] = 0;
			v->comm_from_events = true;
		}
		return 0;
	}
	rs = slot_find(v, ev->slot, 0);
	if (!rs)
		rs = slot_add(v, ev->slot);
	if (!rs)
		return -ENOMEM;
	if (!ev->pfn) {
		rs->deleted = true;
		return 0;
	}
	if (rs->known && !rs->from_events)
		return 0;
	rs->rec.kind = KVMMT_REC_SLOT;
	rs->rec.id = ev->slot;
	rs->rec.as_id = ev->value;
	rs->rec.flags = ev->aux;
	rs->rec.base_gfn = ev->gfn;
	rs->rec.npages = ev->pfn;
	rs->rec.userspace_addr = ev->spte;
	if (!rs->known && !m->perr.err) {
		struct kvmmt_policy_slot ps = {
			.id = rs->rec.id, .as_id = rs->rec.as_id, .flags = rs->rec.flags,
			.base_gfn = rs->rec.base_gfn, .npages = rs->rec.npages,
			.userspace_addr = rs->rec.userspace_addr,
		};

		kvmmt_policy_slot(v->reg->model, &ps, &m->perr);
	}
	rs->known = true;
	rs->from_events = true;
	rs->deleted = false;
	return 0;
}

int rep_on_snapshot(void *ctx, const struct kvmmt_cap_snapshot *s)
{
	struct rep_model *m = ctx;
	unsigned int i, j;
	int err;

	err = rep_on_geometry(ctx, s);
	if (err)
		return err;
	m->snapshots++;
	m->have_finish |= s->phase == KVMMT_CAP_FINISH;
	for (i = 0; i < s->nr_vms; i++) {
		const struct kvmmt_cap_vm *cv = &s->vms[i];
		struct rep_vm *v = rep_vm_find(m, cv->vm.tgid);

		if (s->phase == KVMMT_CAP_START) {
			v->at_start = true;
			v->start = cv->vm;
		} else if (s->phase == KVMMT_CAP_FINISH) {
			v->at_end = true;
			v->end = cv->vm;
		}
		if (s->phase != KVMMT_CAP_FINISH && (cv->vm.valid & KVMMT_VF_NONCOHERENT))
			kvmmt_policy_noncoherent(v->reg->model, cv->vm.noncoherent_dma);
		if (cv->vm.valid & KVMMT_VF_QUIRKS)
			kvmmt_policy_quirks(v->reg->model, cv->vm.disabled_quirks);
		for (j = 0; j < cv->nr_slots; j++) {
			struct rep_slot *rs = slot_find(v, cv->slots[j].id, 0);

			if (s->phase == KVMMT_CAP_START)
				rs->at_start = true;
			else if (s->phase == KVMMT_CAP_FINISH)
				rs->at_end = true;
		}
	}
	return 0;
}

static void slot_count(struct rep_slot *s, const struct kvmmt_cap_event *ce)
{
	const struct kvmmt_event *ev = &ce->ev;
	__u64 b;

	if (ev->gfn < s->min_gfn)
		s->min_gfn = ev->gfn;
	if (ev->gfn > s->max_gfn)
		s->max_gfn = ev->gfn;
	if (ev->type == KVMMT_EV_ZAP) {
		s->zaps++;
		return;
	}
	if (ce->mt >= KVMMT_MT__MAX)
		return;
	s->installs[ce->mt]++;
	s->installs_ipat += ce->ipat;
	if (!s->known || !s->rec.npages || ev->gfn < s->rec.base_gfn ||
	    ev->gfn - s->rec.base_gfn >= s->rec.npages)
		return;
	b = (ev->gfn - s->rec.base_gfn) * REPORT_BUCKETS / s->rec.npages;
	if ((ev->gfn - s->rec.base_gfn) > ~0ull / REPORT_BUCKETS)
		b = (ev->gfn - s->rec.base_gfn) / (s->rec.npages / REPORT_BUCKETS + 1);
	if (b < REPORT_BUCKETS)
		s->mask[b] |= 1u << ce->mt;
}

/* A host-side mapping: counted by op; a cache's page kept by gfn. */
static void hostmap_count(struct rep_vm *v, const struct kvmmt_event *ev)
{
	struct rep_gpc *g = NULL;
	unsigned int i;

	if ((__u32)ev->value >= KVMMT_HM__MAX)
		return;
	v->hostmap[ev->value]++;
	v->hostmap_ok[ev->value] += !!(ev->aux & KVMMT_HM_OK);
	if (ev->value != KVMMT_HM_GPC_ACTIVATE && ev->value != KVMMT_HM_GPC_REFRESH &&
	    ev->value != KVMMT_HM_GPC_DEACTIVATE)
		return;
	for (i = 0; i < v->nr_gpc; i++)
		if (v->gpc[i].uhva == ev->spte)
			g = &v->gpc[i];
	if (!g && ev->value == KVMMT_HM_GPC_DEACTIVATE)
		return;
	if (!g && v->nr_gpc == REPORT_MAX_GPC)
		return;
	if (!g)
		g = &v->gpc[v->nr_gpc++];
	if (ev->value == KVMMT_HM_GPC_DEACTIVATE) {
		g->active = false;
		return;
	}
	if (!(ev->aux & KVMMT_HM_OK))
		return;
	g->gfn = ev->gfn;
	g->pfn = ev->pfn;
	g->uhva = ev->spte;
	g->ram = ev->aux & KVMMT_HM_RAM;
	g->active = true;
}

int rep_on_event(struct rep_model *m, const struct kvmmt_cap_event *ce)
{
	const struct kvmmt_event *ev = &ce->ev;
	struct rep_vm *v = vm_get(m, ev->tgid);
	struct rep_slot *s;

	if (!v)
		return -ENOMEM;
	m->events++;
	m->by_type[ev->type]++;
	if (!m->first_ns || ev->ts_ns < m->first_ns)
		m->first_ns = ev->ts_ns;
	if (ev->ts_ns > m->last_ns)
		m->last_ns = ev->ts_ns;
	if (!v->events++)
		v->first_ns = ev->ts_ns;
	v->last_ns = ev->ts_ns;
	switch (ev->type) {
	case KVMMT_EV_INSTALL:
		if (ce->mt < KVMMT_MT__MAX)
			v->installs[ce->mt]++;
		v->installs_ipat += ce->ipat;
		if (ev->level < 4)
			v->installs_level[ev->level]++;
		break;
	case KVMMT_EV_ZAP:
		v->zaps++;
		if ((__u32)ev->value < KVMMT_ZAP__MAX)
			v->zaps_by_cause[ev->value]++;
		break;
	case KVMMT_EV_HOSTMAP:
		hostmap_count(v, ev);
		break;
	case KVMMT_EV_INVAL:
		v->inv_events++;
		if ((__u32)ev->value < KVMMT_ZAP__MAX)
			v->inv_pages[ev->value] += ev->pfn;
		break;
	case KVMMT_EV_NONCOHERENT:
		if (v->nr_nc < REPORT_MAX_NC)
			v->nc[v->nr_nc++] = (struct rep_nc){ ev->ts_ns, ev->value };
		v->nc_events++;
		break;
	case KVMMT_EV_MEMSLOT:
		v->memslot_events++;
		break;
	}
	/* the risk model takes what changes mappings; slot, VM and invalidation records describe */
	if (!m->perr.err)
		kvmmt_vmreg_event(m->reg, ev, &m->perr);
	if (ev->type != KVMMT_EV_INSTALL && ev->type != KVMMT_EV_ZAP)
		return 0;
	s = slot_find(v, ev->slot, ev->gfn);
	if (!s && ev->slot != KVMMT_SLOT_UNKNOWN)
		s = slot_add(v, ev->slot);
	if (s)
		slot_count(s, ce);
	return 0;
}

static int hostmap_fill(struct kvmmt_hostmap *into, const struct kvmmt_cap_hostmap *hm)
{
	size_t i;

	for (i = 0; i < hm->n; i++) {
		if (hm->r[i].mt >= KVMMT_MT__MAX || hm->r[i].end <= hm->r[i].start)
			continue;
		if (kvmmt_hostmap_add(into, hm->r[i].start, hm->r[i].end, hm->r[i].mt))
			return -ENOMEM;
	}
	return 0;
}

/* The latest recorded host maps replace earlier ones. */
int rep_on_hostmap(void *ctx, const struct kvmmt_cap_hostmap *hm)
{
	struct rep_model *m = ctx;
	struct kvmmt_hostmap map = { 0 };
	struct rep_vm *v = NULL;
	int err;

	if (reg_open(m))
		return -ENOMEM;
	if (hm->kind != KVMMT_CAP_MAP_PAT) {
		v = vm_get(m, hm->tgid);
		if (!v)
			return -ENOMEM;
	}
	err = hostmap_fill(&map, hm);
	if (!err && !v)
		err = kvmmt_vmreg_set_pat(m->reg, &map);
	if (!err && v)
		err = kvmmt_vmreg_set_maps(m->reg, v->reg, &map);
	kvmmt_hostmap_free(&map);
	if (err)
		return err;
	if (v)
		v->have_maps = true;
	else
		m->have_pat = true;
	return 0;
}

int rep_on_drops(void *ctx, __u64 drops)
{
	struct rep_model *m = ctx;

	if (drops > m->drops)
		m->drops = drops;
	return 0;
}

int rep_on_end(void *ctx, const struct kvmmt_cap_end *end)
{
	struct rep_model *m = ctx;

	m->end = *end;
	m->have_end = true;
	if (end->drops > m->drops)
		m->drops = end->drops;
	return 0;
}

bool rep_filter_match(const struct rep_filter *f, const struct kvmmt_cap_event *ce)
{
	const struct kvmmt_event *ev = &ce->ev;

	if (f->types && !(f->types & (1u << ev->type)))
		return false;
	if (f->mts && (ev->type != KVMMT_EV_INSTALL || ce->mt >= KVMMT_MT__MAX ||
		       !(f->mts & (1u << ce->mt))))
		return false;
	if (f->slot >= 0 && ev->slot != f->slot)
		return false;
	if (ev->gfn < f->gfn_lo || ev->gfn > f->gfn_hi)
		return false;
	return rep_filter_pid(f, ev->tgid);
}

bool rep_filter_pid(const struct rep_filter *f, __u32 tgid)
{
	int i;

	if (!f->nr_pids)
		return true;
	for (i = 0; i < f->nr_pids; i++)
		if ((__u32)f->pids[i] == tgid)
			return true;
	return false;
}

double rep_rel_s(const struct rep_model *m, __u64 ts_ns)
{
	return ((double)ts_ns - (double)m->host.start_ns) / 1e9;
}

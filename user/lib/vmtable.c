// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * The VM table. Rows are kept sorted by pid so that counter records find
 * their row by binary search; memory follows the number of VMs and slots.
 *
 * Counters are cumulative from the moment kvmmt's BPF maps were created and
 * are keyed by tgid, so a row's totals are the counters as read, minus a
 * baseline that is only non-zero when a pid is reused by a new VMM (the
 * previous process's final counts, kept when its row was dropped).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "vmtable.h"

#define PAGE_SIZE		4096ULL
/* Dropped VMMs remembered for pid reuse; the oldest are forgotten first. */
#define RETIRED_MAX		1024

struct snapshot {
	struct kvmmt_install_count *inst;	/* sorted by key, tgid ignored */
	size_t n;
	struct kvmmt_vm_ctrs c;
};

struct vm_ent {
	struct kvmmt_vm_row row;
	unsigned int slots_cap;
	struct snapshot base;
	__u64 prev_installs[KVMMT_MT__MAX];
	__u64 prev_total, prev_zaps;
	double prev_s;
	bool have_prev;
	bool seen;		/* in the iterator's list this update */
	bool counted;		/* has counter records this update */
	bool named;
	char iter_comm[KVMMT_COMM_LEN + 1];
	unsigned int iter_vcpus;
};

struct retired {
	pid_t pid;
	struct snapshot snap;
};

struct kvmmt_vmtable {
	enum kvmmt_fmt fmt;
	__u64 host_pat;
	struct vm_ent *v;
	size_t n, cap;
	struct retired *r;
	size_t nr;
	unsigned int keep;
	double last_s, interval;
	bool have_last;
	struct kvmmt_memattr dec[256];
	bool dec_ok[256];
};

struct kvmmt_vmtable *kvmmt_vmtable_new(enum kvmmt_fmt fmt, __u64 host_pat)
{
	struct kvmmt_vmtable *t = calloc(1, sizeof(*t));
	unsigned int a;

	if (!t)
		return NULL;
	t->fmt = fmt;
	t->host_pat = host_pat;
	t->keep = 1;
	for (a = 0; a < 256; a++)
		t->dec_ok[a] = !kvmmt_attr_decode(fmt, a, host_pat, &t->dec[a]);
	return t;
}

static void snapshot_free(struct snapshot *s)
{
	free(s->inst);
	memset(s, 0, sizeof(*s));
}

static void ent_free(struct vm_ent *v)
{
	free(v->row.slots);
	snapshot_free(&v->base);
}

void kvmmt_vmtable_free(struct kvmmt_vmtable *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->n; i++)
		ent_free(&t->v[i]);
	for (i = 0; i < t->nr; i++)
		snapshot_free(&t->r[i].snap);
	free(t->v);
	free(t->r);
	free(t);
}

void kvmmt_vmtable_set_keep(struct kvmmt_vmtable *t, unsigned int updates)
{
	t->keep = updates;
}

size_t kvmmt_vmtable_len(const struct kvmmt_vmtable *t)
{
	return t->n;
}

const struct kvmmt_vm_row *kvmmt_vmtable_row(const struct kvmmt_vmtable *t, size_t i)
{
	return i < t->n ? &t->v[i].row : NULL;
}

double kvmmt_vmtable_interval(const struct kvmmt_vmtable *t)
{
	return t->interval;
}

/* Index of @pid, or of where it would be inserted (with *found false). */
static size_t ent_pos(const struct kvmmt_vmtable *t, pid_t pid, bool *found)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->v[mid].row.pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < t->n && t->v[lo].row.pid == pid;
	return lo;
}

static struct vm_ent *ent_find(const struct kvmmt_vmtable *t, pid_t pid)
{
	bool found;
	size_t i = ent_pos(t, pid, &found);

	return found ? &t->v[i] : NULL;
}

const struct kvmmt_vm_row *kvmmt_vmtable_find(const struct kvmmt_vmtable *t, pid_t pid)
{
	struct vm_ent *v = ent_find(t, pid);

	return v ? &v->row : NULL;
}

static int key_cmp(const struct kvmmt_inst_key *a, const struct kvmmt_inst_key *b)
{
	if (a->slot != b->slot)
		return a->slot < b->slot ? -1 : 1;
	if (a->attr != b->attr)
		return a->attr < b->attr ? -1 : 1;
	if (a->level != b->level)
		return a->level < b->level ? -1 : 1;
	return 0;
}

static int inst_cmp(const void *a, const void *b)
{
	return key_cmp(&((const struct kvmmt_install_count *)a)->key,
		       &((const struct kvmmt_install_count *)b)->key);
}

/* The raw counters of @pid in @c. */
static int snapshot_take(struct snapshot *s, const struct kvmmt_counters *c, pid_t pid)
{
	size_t i, n = 0;

	memset(s, 0, sizeof(*s));
	if (!c)
		return 0;
	for (i = 0; i < c->nr_inst; i++)
		n += c->inst[i].key.tgid == (__u32)pid;
	if (n) {
		s->inst = calloc(n, sizeof(*s->inst));
		if (!s->inst)
			return -ENOMEM;
	}
	for (i = 0; i < c->nr_inst; i++)
		if (c->inst[i].key.tgid == (__u32)pid)
			s->inst[s->n++] = c->inst[i];
	if (s->n)
		qsort(s->inst, s->n, sizeof(*s->inst), inst_cmp);
	for (i = 0; i < c->nr_vms; i++)
		if (c->vms[i].tgid == (__u32)pid)
			s->c = c->vms[i].c;
	return 0;
}

/* A cumulative counter minus its baseline; a counter below it was reset. */
static __u64 since(__u64 cur, __u64 base)
{
	return cur >= base ? cur - base : cur;
}

static __u64 base_inst(const struct snapshot *s, const struct kvmmt_inst_key *k)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = key_cmp(&s->inst[mid].key, k);

		if (!r)
			return s->inst[mid].count;
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static struct retired *retired_find(struct kvmmt_vmtable *t, pid_t pid)
{
	size_t i;

	for (i = t->nr; i-- > 0;)
		if (t->r[i].pid == pid)
			return &t->r[i];
	return NULL;
}

static void retired_remove(struct kvmmt_vmtable *t, struct retired *r)
{
	size_t i = r - t->r;

	memmove(&t->r[i], &t->r[i + 1], (t->nr - i - 1) * sizeof(*r));
	t->nr--;
}

static int retire(struct kvmmt_vmtable *t, pid_t pid, const struct kvmmt_counters *c)
{
	struct retired *r = retired_find(t, pid);
	struct snapshot s;
	int err;

	err = snapshot_take(&s, c, pid);
	if (err)
		return err;
	if (r) {
		snapshot_free(&r->snap);
		retired_remove(t, r);
	}
	if (!t->r) {
		t->r = calloc(RETIRED_MAX, sizeof(*t->r));
		if (!t->r) {
			snapshot_free(&s);
			return -ENOMEM;
		}
	}
	if (t->nr == RETIRED_MAX) {
		snapshot_free(&t->r[0].snap);
		retired_remove(t, &t->r[0]);
	}
	t->r[t->nr].pid = pid;
	t->r[t->nr].snap = s;
	t->nr++;
	return 0;
}

static struct vm_ent *ent_add(struct kvmmt_vmtable *t, pid_t pid)
{
	struct retired *r;
	struct vm_ent *v;
	bool found;
	size_t i = ent_pos(t, pid, &found);

	if (found)
		return &t->v[i];
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 16;

		v = realloc(t->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		t->v = v;
		t->cap = cap;
	}
	memmove(&t->v[i + 1], &t->v[i], (t->n - i) * sizeof(*v));
	t->n++;
	v = &t->v[i];
	memset(v, 0, sizeof(*v));
	v->row.pid = pid;
	v->row.noncoherent_dma = -1;
	/* A new VMM on a reused pid: the previous one's counts are not its own. */
	r = retired_find(t, pid);
	if (r) {
		v->base = r->snap;
		retired_remove(t, r);
	}
	return v;
}

static void ent_remove(struct kvmmt_vmtable *t, size_t i)
{
	ent_free(&t->v[i]);
	memmove(&t->v[i], &t->v[i + 1], (t->n - i - 1) * sizeof(t->v[0]));
	t->n--;
}

static int slot_cmp(const void *a, const void *b)
{
	const struct kvmmt_slot_rec *x = &((const struct kvmmt_slot_row *)a)->rec;
	const struct kvmmt_slot_rec *y = &((const struct kvmmt_slot_row *)b)->rec;

	if (x->as_id != y->as_id)
		return x->as_id < y->as_id ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* First sight of a VMM in this update's list: restart what the list says. */
static void list_begin(struct vm_ent *v)
{
	struct kvmmt_vm_row *r = &v->row;

	v->seen = true;
	r->nr_vms = 0;
	r->nr_slots = 0;
	r->mem_bytes = 0;
	r->noncoherent_dma = -1;
	r->disabled_quirks = 0;
	r->quirks_valid = false;
	r->slots_truncated = false;
	v->iter_vcpus = 0;
}

static int list_merge(struct vm_ent *v, const struct kvmmt_vm_info *vi)
{
	struct kvmmt_vm_row *r = &v->row;
	unsigned int i, need = r->nr_slots + vi->nr_slots;

	if (need > v->slots_cap) {
		struct kvmmt_slot_row *s = realloc(r->slots, need * sizeof(*s));

		if (!s)
			return -ENOMEM;
		r->slots = s;
		v->slots_cap = need;
	}
	for (i = 0; i < vi->nr_slots; i++) {
		struct kvmmt_slot_row *s = &r->slots[r->nr_slots++];

		memset(s, 0, sizeof(*s));
		s->rec = vi->slots[i];
		if (s->rec.as_id == 0 && s->rec.id < KVMMT_PRIVATE_SLOT_MIN)
			r->mem_bytes += s->rec.npages * PAGE_SIZE;
	}
	r->nr_vms++;
	if (vi->vm.valid & KVMMT_VF_NONCOHERENT)
		r->noncoherent_dma = (r->noncoherent_dma < 0 ? 0 : r->noncoherent_dma) +
				     vi->vm.noncoherent_dma;
	if (vi->vm.valid & KVMMT_VF_QUIRKS) {
		r->quirks_valid = true;
		r->disabled_quirks |= vi->vm.disabled_quirks;
	}
#ifdef KVMMT_VF_TRUNCATED
	if (vi->vm.valid & KVMMT_VF_TRUNCATED)
		r->slots_truncated = true;
#endif
	if (vi->vm.online_vcpus > 0)
		v->iter_vcpus += vi->vm.online_vcpus;
	/* Any byte can be in a comm; names end up in a terminal. */
	for (i = 0; i < KVMMT_COMM_LEN && vi->vm.comm[i]; i++)
		v->iter_comm[i] = ((unsigned char)vi->vm.comm[i] < 0x20 ||
				   vi->vm.comm[i] == 0x7f) ? '?' : vi->vm.comm[i];
	v->iter_comm[i] = '\0';
	return 0;
}

static void reset_counts(struct vm_ent *v)
{
	struct kvmmt_vm_row *r = &v->row;
	unsigned int i;

	memset(r->installs, 0, sizeof(r->installs));
	memset(r->installs_ipat, 0, sizeof(r->installs_ipat));
	memset(&r->ctrs, 0, sizeof(r->ctrs));
	r->installs_guest = r->installs_noslot = r->zaps = 0;
	for (i = 0; i < r->nr_slots; i++) {
		memset(r->slots[i].installs, 0, sizeof(r->slots[i].installs));
		memset(r->slots[i].installs_level, 0, sizeof(r->slots[i].installs_level));
	}
}

/*
 * Identity from the registry (name, start time) and vCPUs; a process
 * already gone keeps its last. A new start time is a new process with the
 * same pid: its counts start again.
 */
static int identity(struct vm_ent *v, const struct kvmmt_counters *c, struct kvmmt_vmreg *reg)
{
	const struct kvmmt_vm *vm = reg ? kvmmt_vmreg_get(reg, v->row.pid, NULL) : NULL;
	struct kvmmt_vm_row *r = &v->row;
	const char *proc_root = reg ? kvmmt_vmreg_proc_root(reg) : NULL;
	int n;

	if (vm && vm->start_time) {
		if (r->start_time && vm->start_time != r->start_time) {
			int err;

			snapshot_free(&v->base);
			err = snapshot_take(&v->base, c, r->pid);
			if (err)
				return err;
			v->have_prev = false;
			v->named = false;
		}
		r->start_time = vm->start_time;
	}
	if (!v->named) {
		if (vm && (vm->name_src == KVMMT_NAME_QEMU || vm->name_src == KVMMT_NAME_COMM)) {
			snprintf(r->name, sizeof(r->name), "%s", vm->name);
			r->name_src = vm->name_src;
		} else {
			snprintf(r->name, sizeof(r->name), "%s", v->iter_comm);
			r->name_src = r->name[0] ? KVMMT_NAME_ITER : KVMMT_NAME_NONE;
		}
		v->named = r->name_src != KVMMT_NAME_NONE;
	}
	if (v->iter_vcpus) {
		r->vcpus = v->iter_vcpus;
	} else if (proc_root) {
		n = kvmmt_proc_vcpu_threads(proc_root, r->pid);
		r->vcpus = n > 0 ? n : 0;
	}
	return 0;
}

/* Do @pid's counters in @c say anything beyond @base? */
static bool counts_beyond(const struct kvmmt_counters *c, pid_t pid,
			  const struct snapshot *base)
{
	size_t i;
	int k;

	for (i = 0; i < c->nr_inst; i++)
		if (c->inst[i].key.tgid == (__u32)pid &&
		    since(c->inst[i].count, base_inst(base, &c->inst[i].key)))
			return true;
	for (i = 0; i < c->nr_vms; i++) {
		if (c->vms[i].tgid != (__u32)pid)
			continue;
		for (k = 0; k < KVMMT_C__MAX; k++)
			if (since(c->vms[i].c.c[k], base->c.c[k]))
				return true;
	}
	return false;
}

static int u32_cmp(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

/*
 * VMMs known only from counters: a VM that came and went between two
 * updates, or one the iterator could not list. Shown once, not alive.
 */
static int add_counter_only(struct kvmmt_vmtable *t, const struct kvmmt_counters *c,
			    struct kvmmt_vmreg *reg)
{
	size_t i, n = 0, cap = c->nr_inst + c->nr_vms;
	struct snapshot none = {};
	__u32 *tg;
	int err = 0;

	if (!cap)
		return 0;
	tg = malloc(cap * sizeof(*tg));
	if (!tg)
		return -ENOMEM;
	for (i = 0; i < c->nr_inst; i++)
		if (!ent_find(t, c->inst[i].key.tgid))
			tg[n++] = c->inst[i].key.tgid;
	for (i = 0; i < c->nr_vms; i++)
		if (!ent_find(t, c->vms[i].tgid))
			tg[n++] = c->vms[i].tgid;
	qsort(tg, n, sizeof(*tg), u32_cmp);
	for (i = 0; i < n; i++) {
		struct retired *r;
		struct vm_ent *v;

		if (i && tg[i] == tg[i - 1])
			continue;
		r = retired_find(t, tg[i]);
		if (!counts_beyond(c, tg[i], r ? &r->snap : &none))
			continue;
		v = ent_add(t, tg[i]);
		if (!v) {
			err = -ENOMEM;
			break;
		}
		err = identity(v, c, reg);
		if (err)
			break;
	}
	free(tg);
	return err;
}

static struct kvmmt_slot_row *slot_find(struct kvmmt_vm_row *r, __u16 id)
{
	size_t lo = 0, hi = r->nr_slots;

	/* Sorted by (as_id, id): the counters' slot ids are address space 0's. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct kvmmt_slot_rec *s = &r->slots[mid].rec;

		if (s->as_id == 0 && s->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < r->nr_slots && r->slots[lo].rec.as_id == 0 && r->slots[lo].rec.id == id)
		return &r->slots[lo];
	return NULL;
}

static void add_install(struct kvmmt_vmtable *t, struct vm_ent *v,
			const struct kvmmt_install_count *ic)
{
	struct kvmmt_vm_row *r = &v->row;
	const struct kvmmt_memattr *m = &t->dec[ic->key.attr];
	__u64 n = since(ic->count, base_inst(&v->base, &ic->key));
	enum kvmmt_mt mt = t->dec_ok[ic->key.attr] ? m->mt : KVMMT_MT_INVALID;
	struct kvmmt_slot_row *s = NULL;

	r->installs[mt] += n;
	if (t->fmt == KVMMT_FMT_EPT && t->dec_ok[ic->key.attr])
		r->installs_ipat[m->ipat] += n;
	if (t->dec_ok[ic->key.attr] && m->guest_honoured)
		r->installs_guest += n;
	if (ic->key.slot != KVMMT_SLOT_UNKNOWN)
		s = slot_find(r, ic->key.slot);
	if (!s) {
		r->installs_noslot += n;
		return;
	}
	s->installs[mt] += n;
	if (ic->key.level >= 1 && ic->key.level <= 3)
		s->installs_level[ic->key.level] += n;
}

static void add_counters(struct kvmmt_vmtable *t, const struct kvmmt_counters *c)
{
	size_t i;
	int k;

	for (i = 0; i < c->nr_inst; i++) {
		struct vm_ent *v = ent_find(t, c->inst[i].key.tgid);

		if (v && !v->counted) {
			reset_counts(v);
			v->counted = true;
		}
		if (v)
			add_install(t, v, &c->inst[i]);
	}
	for (i = 0; i < c->nr_vms; i++) {
		struct vm_ent *v = ent_find(t, c->vms[i].tgid);

		if (!v)
			continue;
		if (!v->counted) {
			reset_counts(v);
			v->counted = true;
		}
		for (k = 0; k < KVMMT_C__MAX; k++)
			v->row.ctrs.c[k] = since(c->vms[i].c.c[k], v->base.c.c[k]);
		v->row.zaps = v->row.ctrs.c[KVMMT_C_ZAPS];
	}
}

static void guest_types(const struct kvmmt_vmtable *t, struct kvmmt_vm_row *r)
{
	struct kvmmt_gt_facts f = {
		.fmt = t->fmt,
		.noncoherent = r->noncoherent_dma,
		.quirks_known = r->quirks_valid,
		.disabled_quirks = r->disabled_quirks,
		.install_honoured = r->installs_guest > 0,
	};

	for (unsigned int i = 0; i < r->nr_slots; i++)
		if (r->slots[i].rec.flags & KVMMT_MEM_NON_COHERENT_DMA)
			f.flagged_slot = true;
	r->guest_why = kvmmt_guest_types(&f, &r->guest_types);
}

static double rate(__u64 cur, __u64 prev, double dt)
{
	return since(cur, prev) / dt;
}

static void derive(struct kvmmt_vmtable *t, struct vm_ent *v, double now_s)
{
	struct kvmmt_vm_row *r = &v->row;
	double dt = v->have_prev ? now_s - v->prev_s : 0;
	int m;

	r->installs_total = 0;
	for (m = 0; m < KVMMT_MT__MAX; m++)
		r->installs_total += r->installs[m];
	guest_types(t, r);
	for (m = 0; m < KVMMT_MT__MAX; m++)
		r->install_rate[m] = dt > 0 ? rate(r->installs[m], v->prev_installs[m], dt) : 0;
	r->install_rate_total = dt > 0 ? rate(r->installs_total, v->prev_total, dt) : 0;
	r->zap_rate = dt > 0 ? rate(r->zaps, v->prev_zaps, dt) : 0;
	memcpy(v->prev_installs, r->installs, sizeof(v->prev_installs));
	v->prev_total = r->installs_total;
	v->prev_zaps = r->zaps;
	v->prev_s = now_s;
	v->have_prev = true;
}

int kvmmt_vmtable_update(struct kvmmt_vmtable *t, const struct kvmmt_vm_list *vms,
			 const struct kvmmt_counters *c, double now_s,
			 struct kvmmt_vmreg *reg, struct kvmmt_err *e)
{
	static const struct kvmmt_counters no_counters;
	size_t i;
	int err;

	if (!c)
		c = &no_counters;
	for (i = 0; i < t->n; i++)
		t->v[i].seen = t->v[i].counted = false;

	for (i = 0; vms && i < vms->n; i++) {
		const struct kvmmt_vm_info *vi = &vms->v[i];
		struct vm_ent *v = ent_add(t, vi->vm.tgid);

		if (!v)
			goto nomem;
		if (!v->seen)
			list_begin(v);
		if (list_merge(v, vi))
			goto nomem;
	}
	/* Sort slots now: counters look them up by id. */
	for (i = 0; i < t->n; i++) {
		struct vm_ent *v = &t->v[i];

		if (!v->seen)
			continue;
		if (v->row.slots)
			qsort(v->row.slots, v->row.nr_slots, sizeof(*v->row.slots), slot_cmp);
		err = identity(v, c, reg);
		if (err)
			goto nomem;
	}
	if (add_counter_only(t, c, reg))
		goto nomem;
	/* A live VMM without counter records has installed nothing yet. */
	for (i = 0; i < t->n; i++)
		if (t->v[i].seen)
			reset_counts(&t->v[i]);
	add_counters(t, c);

	for (i = 0; i < t->n;) {
		struct vm_ent *v = &t->v[i];

		v->row.alive = v->seen;
		if (v->seen)
			v->row.missing = 0;
		else if (++v->row.missing > t->keep) {
			err = retire(t, v->row.pid, c);
			if (err)
				goto nomem;
			ent_remove(t, i);
			continue;
		}
		derive(t, v, now_s);
		i++;
	}
	t->interval = t->have_last ? now_s - t->last_s : 0;
	t->last_s = now_s;
	t->have_last = true;
	return 0;
nomem:
	return kvmmt_errf(e, -ENOMEM, "out of memory updating the VM table (%zu VMs).", t->n);
}

static const char *const col_names[KVMMT_COL__MAX] = {
	[KVMMT_COL_PID]		= "pid",
	[KVMMT_COL_NAME]	= "name",
	[KVMMT_COL_VCPUS]	= "vcpus",
	[KVMMT_COL_MEM]		= "mem",
	[KVMMT_COL_NONCOHERENT]	= "noncoherent",
	[KVMMT_COL_GUEST_TYPES]	= "guest",
	[KVMMT_COL_INSTALLS]	= "installs",
	[KVMMT_COL_INSTALL_RATE] = "install-rate",
	[KVMMT_COL_MT_INSTALLS]	= "type-installs",
	[KVMMT_COL_MT_RATE]	= "type-rate",
	[KVMMT_COL_ZAPS]	= "zaps",
	[KVMMT_COL_ZAP_RATE]	= "zap-rate",
};

const char *kvmmt_vm_col_name(enum kvmmt_vm_col col)
{
	return (unsigned int)col < KVMMT_COL__MAX ? col_names[col] : "unknown";
}

int kvmmt_vm_col_parse(const char *name, enum kvmmt_vm_col *col)
{
	int i;

	for (i = 0; name && i < KVMMT_COL__MAX; i++) {
		if (!strcasecmp(name, col_names[i])) {
			*col = i;
			return 0;
		}
	}
	return -EINVAL;
}

#define CMP(a, b) ((a) < (b) ? -1 : (a) > (b))

int kvmmt_vm_row_cmp(const struct kvmmt_vm_row *a, const struct kvmmt_vm_row *b,
		     enum kvmmt_vm_col col, enum kvmmt_mt mt)
{
	if ((unsigned int)mt >= KVMMT_MT__MAX)
		mt = KVMMT_MT_INVALID;
	switch (col) {
	case KVMMT_COL_NAME:		return strcmp(a->name, b->name);
	case KVMMT_COL_VCPUS:		return CMP(a->vcpus, b->vcpus);
	case KVMMT_COL_MEM:		return CMP(a->mem_bytes, b->mem_bytes);
	case KVMMT_COL_NONCOHERENT:	return CMP(a->noncoherent_dma, b->noncoherent_dma);
	case KVMMT_COL_GUEST_TYPES:	return CMP(a->guest_types, b->guest_types);
	case KVMMT_COL_INSTALLS:	return CMP(a->installs_total, b->installs_total);
	case KVMMT_COL_INSTALL_RATE:	return CMP(a->install_rate_total, b->install_rate_total);
	case KVMMT_COL_MT_INSTALLS:	return CMP(a->installs[mt], b->installs[mt]);
	case KVMMT_COL_MT_RATE:		return CMP(a->install_rate[mt], b->install_rate[mt]);
	case KVMMT_COL_ZAPS:		return CMP(a->zaps, b->zaps);
	case KVMMT_COL_ZAP_RATE:	return CMP(a->zap_rate, b->zap_rate);
	case KVMMT_COL_PID:
	default:			return CMP(a->pid, b->pid);
	}
}

struct sort_ctx {
	enum kvmmt_vm_col col;
	enum kvmmt_mt mt;
	bool desc;
};

static int sorted_cmp(const void *a, const void *b, void *arg)
{
	const struct kvmmt_vm_row *x = *(const struct kvmmt_vm_row *const *)a;
	const struct kvmmt_vm_row *y = *(const struct kvmmt_vm_row *const *)b;
	const struct sort_ctx *s = arg;
	int r = kvmmt_vm_row_cmp(x, y, s->col, s->mt);

	if (s->desc)
		r = -r;
	return r ? r : CMP(x->pid, y->pid);
}

void kvmmt_vmtable_sorted(const struct kvmmt_vmtable *t, enum kvmmt_vm_col col,
			  enum kvmmt_mt mt, bool desc,
			  const struct kvmmt_vm_row **out)
{
	struct sort_ctx s = { col, mt, desc };
	size_t i;

	for (i = 0; i < t->n; i++)
		out[i] = &t->v[i].row;
	if (t->n)
		qsort_r(out, t->n, sizeof(*out), sorted_cmp, &s);
}

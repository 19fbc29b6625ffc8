// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * The view over the VM table: which rows are shown (filters), in which
 * order (sort column), and the per-VM facts kvmmt-top adds (risk class,
 * migration state).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "top.h"

static void vm_risk(const struct top_model *m, struct top_vm *v)
{
	const struct kvmmt_vm *vm = kvmmt_vmreg_find(m->reg, v->row->pid);

	v->policy = vm ? vm->model : NULL;
	v->risk = NULL;
	v->gt = v->row->guest_types;
	v->gt_why = v->row->guest_why;
	if (!v->policy)
		return;
	kvmmt_policy_summary(v->policy, &v->sum);
	v->risk = kvmmt_risk_name(v->sum.risk);
	/* the model also knows the VMM's device mappings */
	v->gt = v->sum.guest_types;
	v->gt_why = v->sum.why;
}

static bool name_matches(const regex_t *re, const char *name)
{
	return !regexec(re, name, 0, NULL, 0);
}

static bool vm_selected(const struct top_model *m, const struct kvmmt_vm_row *r)
{
	const struct top_opts *o = m->opts;
	bool found = !o->nr_pids;
	int i;

	for (i = 0; i < o->nr_pids && !found; i++)
		found = o->pids[i] == r->pid;
	if (!found)
		return false;
	if (o->has_name_re && !name_matches(&o->name_re, r->name))
		return false;
	if (m->ui_pid && m->ui_pid != r->pid)
		return false;
	if (m->ui_has_re && !name_matches(&m->ui_re, r->name))
		return false;
	return true;
}

static int risk_rank(const char *risk)
{
	enum kvmmt_risk r;

	if (!risk || kvmmt_risk_parse(risk, &r))
		return -1;
	return r;
}

/* The table's own order for its columns; counts or rates as shown. */
static int cmp_row(const struct top_model *m, const struct kvmmt_vm_row *a,
		   const struct kvmmt_vm_row *b, enum top_col col)
{
	static const enum kvmmt_vm_col by_col[COL__MAX] = {
		[COL_PID] = KVMMT_COL_PID,
		[COL_NAME] = KVMMT_COL_NAME,
		[COL_VCPUS] = KVMMT_COL_VCPUS,
		[COL_MEM] = KVMMT_COL_MEM,
		[COL_NCDMA] = KVMMT_COL_NONCOHERENT,
		[COL_GTYPES] = KVMMT_COL_GUEST_TYPES,
	};
	bool totals = m->opts->totals;

	if (top_cols[col].is_mt)
		return kvmmt_vm_row_cmp(a, b, totals ? KVMMT_COL_MT_INSTALLS :
					KVMMT_COL_MT_RATE, top_cols[col].mt);
	if (col == COL_ZAPS)
		return kvmmt_vm_row_cmp(a, b, totals ? KVMMT_COL_ZAPS :
					KVMMT_COL_ZAP_RATE, 0);
	return kvmmt_vm_row_cmp(a, b, by_col[col], 0);
}

static int cmp_vm(const void *pa, const void *pb, void *arg)
{
	const struct top_model *m = arg;
	const struct top_vm *a = pa, *b = pb;
	enum top_col col = m->opts->sort;
	char x[TOP_CELL_LEN], y[TOP_CELL_LEN];
	int d;

	if (col == COL_RISK) {
		d = risk_rank(a->risk) - risk_rank(b->risk);
	} else if (col == COL_MIGR) {
		top_fmt_migration(a->mig, x, sizeof(x));
		top_fmt_migration(b->mig, y, sizeof(y));
		d = strcmp(x, y);
	} else {
		d = cmp_row(m, a->row, b->row, col);
	}
	if (top_cols[col].desc)
		d = -d;
	if (m->opts->reverse)
		d = -d;
	/* ties keep a stable, predictable order */
	return d ? d : (a->row->pid > b->row->pid) - (a->row->pid < b->row->pid);
}

int top_model_view(struct top_model *m, struct kvmmt_err *e)
{
	size_t i, n = kvmmt_vmtable_len(m->table);
	struct top_vm *v;
	const struct kvmmt_vm_row *r;

	v = realloc(m->vms, (n ? n : 1) * sizeof(*v));
	if (!v)
		return kvmmt_errf(e, -ENOMEM, "out of memory for %zu VM rows.", n);
	m->vms = v;
	m->nr_vms = 0;
	m->nr_all = 0;
	m->nc_total = 0;
	for (i = 0; i < n; i++) {
		r = kvmmt_vmtable_row(m->table, i);
		if (!r->alive)
			continue;
		m->nr_all++;
		if (r->noncoherent_dma > 0)
			m->nc_total += r->noncoherent_dma;
		if (!vm_selected(m, r))
			continue;
		v = &m->vms[m->nr_vms++];
		v->row = r;
		vm_risk(m, v);
		v->mig = top_policyd_find(m, r->pid);
	}
	qsort_r(m->vms, m->nr_vms, sizeof(*m->vms), cmp_vm, m);
	return 0;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

int top_model_set_filter(struct top_model *m, const char *text,
			 struct kvmmt_err *e)
{
	regex_t re;
	char msg[128];
	int err;

	if (*text && !all_digits(text)) {
		err = regcomp(&re, text, REG_EXTENDED | REG_NOSUB);
		if (err) {
			regerror(err, &re, msg, sizeof(msg));
			return kvmmt_errf(e, -EINVAL, "invalid regex '%s': %s", text, msg);
		}
	}
	if (m->ui_has_re)
		regfree(&m->ui_re);
	m->ui_has_re = false;
	m->ui_pid = 0;
	snprintf(m->ui_filter, sizeof(m->ui_filter), "%s", text);
	if (all_digits(text))
		m->ui_pid = atoi(text);
	else if (*text) {
		m->ui_re = re;
		m->ui_has_re = true;
	}
	return top_model_view(m, e);
}

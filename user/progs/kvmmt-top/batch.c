// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * Batch mode: every refresh goes to stdout, as plain text (like top -b) or
 * as one JSON object per line. The JSON schema is in kvmmt-top(8) and
 * docs/top.md; keys are only ever added, never renamed or removed.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>
#include "top.h"

static const char *const level_names[] = { [1] = "4K", [2] = "2M", [3] = "1G" };

static void add(struct json_object *o, const char *key, struct json_object *v)
{
	json_object_object_add(o, key, v);
}

static struct json_object *json_u64(__u64 v)
{
	return json_object_new_uint64(v);
}

/* Guest pages invalidated by cause (the zap_pages_* counters). */
static struct json_object *json_zap_pages(const struct kvmmt_vm_ctrs *c)
{
	struct json_object *o = json_object_new_object();

	for (int k = KVMMT_C_INV_NOTIFIER; k <= KVMMT_C_INV_GMEM; k++)
		json_object_object_add(o, kvmmt_ctr_name(k) + strlen("zap_pages_"),
				       json_u64(c->c[k]));
	return o;
}

/* The host kernel's own mappings of the VM's memory (fentry kernels). */
static struct json_object *json_host_mappings(const struct kvmmt_vm_ctrs *c)
{
	struct json_object *o = json_object_new_object();

	for (int k = KVMMT_C_GPC_ACTIVATE; k <= KVMMT_C_VFIO_DEL; k++)
		json_object_object_add(o, kvmmt_ctr_name(k), json_u64(c->c[k]));
	return o;
}

static struct json_object *json_rate(double v)
{
	/* two decimals keep lines short; rates are never exact anyway */
	return json_object_new_double(round(v * 100) / 100);
}

/*
 * Counts (or, with @counts NULL, rates) keyed by every memory type kvmmt
 * knows, so the keys do not depend on the data.
 */
static struct json_object *json_by_type(const __u64 *counts, const double *rates)
{
	struct json_object *o = json_object_new_object();
	int t;

	for (t = 0; t < KVMMT_MT__MAX; t++)
		add(o, kvmmt_mt_name(t), counts ? json_u64(counts[t]) : json_rate(rates[t]));
	return o;
}

static struct json_object *json_slot(const struct kvmmt_slot_row *s)
{
	struct json_object *o = json_object_new_object();
	struct json_object *lv = json_object_new_object();
	int l;

	add(o, "id", json_object_new_int(s->rec.id));
	add(o, "as_id", json_object_new_int(s->rec.as_id));
	add(o, "base_gfn", json_u64(s->rec.base_gfn));
	add(o, "npages", json_u64(s->rec.npages));
	add(o, "size_bytes", json_u64(s->rec.npages * 4096));
	add(o, "flags", json_object_new_int64(s->rec.flags));
	add(o, "userspace_addr", json_u64(s->rec.userspace_addr));
	add(o, "installs", json_by_type(s->installs, NULL));
	for (l = 1; l <= 3; l++)
		add(lv, level_names[l], json_u64(s->installs_level[l]));
	add(o, "installs_by_level", lv);
	return o;
}

static struct json_object *json_risk_reasons(unsigned int why)
{
	struct json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; i < KVMMT_WHY__BITS; i++)
		if (why & (1u << i))
			json_object_array_add(a, json_object_new_string(kvmmt_why_name(1u << i)));
	return a;
}

/* Memslots backed by device memory, with the host's type of it. */
static struct json_object *json_device_slots(const struct kvmmt_policy_summary *s)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; i < s->nr_device_slots && i < KVMMT_MAX_DEVICE_SLOTS; i++) {
		struct json_object *o = json_object_new_object();

		add(o, "slot", json_object_new_int(s->device[i].id));
		add(o, "host_type", json_object_new_string(kvmmt_mt_name(s->device[i].host_mt)));
		json_object_array_add(a, o);
	}
	return a;
}

/* The conflicting ranges the policy model found, at most TOP_MAX_FINDINGS. */
static struct json_object *json_aliasing(const struct kvmmt_policy_vm *pvm)
{
	struct json_object *a = json_object_new_array();
	const struct kvmmt_gfn_range *g;
	size_t i, n = kvmmt_policy_nr_ranges(pvm), shown = 0;

	for (i = 0; i < n && shown < TOP_MAX_FINDINGS; i++) {
		struct json_object *o;

		g = kvmmt_policy_range(pvm, i);
		if (!g->conflict)
			continue;
		o = json_object_new_object();
		add(o, "gfn_start", json_u64(g->start));
		add(o, "gfn_end", json_u64(g->end));
		add(o, "slot", json_object_new_int(g->slot));
		add(o, "type", json_object_new_string(kvmmt_mt_name(g->mt)));
		add(o, "host_type", json_object_new_string(kvmmt_mt_name(g->host_mt)));
		json_object_array_add(a, o);
		shown++;
	}
	return a;
}

static struct json_object *json_migration(const struct top_migration *mg)
{
	struct json_object *o;

	if (!mg)
		return NULL;
	o = json_object_new_object();
	add(o, "status", json_object_new_string(mg->status));
	add(o, "blocked", json_object_new_boolean(mg->blocked));
	add(o, "flagged", json_object_new_boolean(mg->flagged));
	return o;
}

static struct json_object *json_vm(const struct top_vm *v)
{
	const struct kvmmt_vm_row *r = v->row;
	struct json_object *o = json_object_new_object();
	struct json_object *slots = json_object_new_array();
	struct json_object *ipat = json_object_new_object();
	unsigned int i;

	add(o, "pid", json_object_new_int(r->pid));
	add(o, "name", json_object_new_string(r->name));
	add(o, "vcpus", json_object_new_int(r->vcpus));
	add(o, "mem_bytes", json_u64(r->mem_bytes));
	add(o, "noncoherent_dma", r->noncoherent_dma < 0 ? NULL :
				  json_object_new_int(r->noncoherent_dma));
	add(o, "guest_types", json_object_new_string(kvmmt_gt_name(v->gt)));
	add(o, "guest_types_honoured", json_object_new_boolean(v->gt == KVMMT_GT_YES));
	add(o, "disabled_quirks", r->quirks_valid ? json_u64(r->disabled_quirks) : NULL);
	add(o, "installs", json_by_type(r->installs, NULL));
	add(ipat, "clear", json_u64(r->installs_ipat[0]));
	add(ipat, "set", json_u64(r->installs_ipat[1]));
	add(o, "installs_ipat", ipat);
	add(o, "install_rate", json_by_type(NULL, r->install_rate));
	add(o, "zaps", json_u64(r->zaps));
	add(o, "zap_rate", json_rate(r->zap_rate));
	add(o, "zap_pages", json_zap_pages(&r->ctrs));
	add(o, "zap_all", json_u64(r->ctrs.c[KVMMT_C_ZAP_ALL]));
	add(o, "host_mappings", json_host_mappings(&r->ctrs));
	add(o, "risk", v->risk ? json_object_new_string(v->risk) : NULL);
	add(o, "risk_reasons", v->policy ? json_risk_reasons(v->sum.why) : NULL);
	add(o, "device_memslots", v->policy ? json_device_slots(&v->sum) : NULL);
	add(o, "aliasing_pages", v->policy ? json_u64(v->sum.conflict_pages) : NULL);
	add(o, "aliasing", v->policy ? json_aliasing(v->policy) : NULL);
	add(o, "migration", json_migration(v->mig));
	for (i = 0; i < r->nr_slots; i++)
		json_object_array_add(slots, json_slot(&r->slots[i]));
	add(o, "memslots", slots);
	return o;
}

static struct json_object *json_refresh(const struct top_model *m)
{
	const struct kvmmt_host *h = &m->host;
	struct json_object *o = json_object_new_object();
	struct json_object *host = json_object_new_object();
	struct json_object *attach = json_object_new_object();
	struct json_object *vms = json_object_new_array();
	struct timespec ts;
	size_t i;

	clock_gettime(CLOCK_REALTIME, &ts);
	add(o, "timestamp", json_object_new_double(ts.tv_sec + ts.tv_nsec / 1e9));
	add(o, "sample", json_object_new_int64(m->samples));
	add(o, "interval_s", json_rate(m->interval));
	add(host, "hostname", json_object_new_string(m->hostname));
	add(host, "kernel", json_object_new_string(h->release));
	add(host, "machine", json_object_new_string(h->machine));
	add(host, "backend", json_object_new_string(h->backend));
	add(host, "spte_format", json_object_new_string(kvmmt_fmt_name(kvmmt_dp_fmt(m->dp))));
	add(host, "tdp", json_object_new_boolean(h->tdp));
	add(o, "host", host);
	add(attach, "path", json_object_new_string(m->attach));
	add(attach, "reason", json_object_new_string(m->attach_why));
	add(o, "attach", attach);
	add(o, "noncoherent_dma", json_object_new_int(m->nc_total));
	add(o, "events_dropped", json_u64(m->drops));
	add(o, "policyd", json_object_new_boolean(m->policyd));
	add(o, "vms_total", json_object_new_int64(m->nr_all));
	for (i = 0; i < m->nr_vms; i++)
		json_object_array_add(vms, json_vm(&m->vms[i]));
	add(o, "vms", vms);
	return o;
}

static int print_json(const struct top_model *m, struct kvmmt_err *e)
{
	struct json_object *o = json_refresh(m);
	int err = 0;

	if (puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN)) < 0)
		err = kvmmt_errf(e, -errno, "cannot write to stdout: %s.", strerror(errno));
	json_object_put(o);
	return err;
}

/* The last column is padded to its width; a line of text ends without blanks. */
static void put_trimmed(char *line)
{
	size_t n = strlen(line);

	while (n && line[n - 1] == ' ')
		line[--n] = '\0';
	puts(line);
}

static int print_text(const struct top_model *m, struct kvmmt_err *e)
{
	char line[2048], cell[TOP_CELL_LEN];
	size_t i;
	int n, c;

	for (n = 0; n < 3; n++) {
		top_fmt_banner(m, n, line, sizeof(line));
		puts(line);
	}
	line[0] = '\0';
	for (c = 0; c < COL__MAX; c++) {
		top_fmt_title(m, c, cell, sizeof(cell));
		top_append_cell(line, sizeof(line), c, cell);
	}
	putchar('\n');
	put_trimmed(line);
	for (i = 0; i < m->nr_vms; i++) {
		line[0] = '\0';
		for (c = 0; c < COL__MAX; c++) {
			top_fmt_cell(m, &m->vms[i], c, cell, sizeof(cell));
			top_append_cell(line, sizeof(line), c, cell);
		}
		put_trimmed(line);
	}
	if (puts("") < 0)
		return kvmmt_errf(e, -errno, "cannot write to stdout: %s.", strerror(errno));
	return 0;
}

/*
 * Wait until @deadline (monotonic seconds), feeding data-path events to the
 * risk model meanwhile so the ring buffer never fills up between refreshes.
 */
static int wait_until(struct top_model *m, double deadline, struct kvmmt_err *e)
{
	double left;
	int err;

	while (!top_stop && (left = deadline - kvmmt_now()) > 0) {
		err = top_model_drain(m, left > 0.5 ? 500 : (int)(left * 1000) + 1, e);
		if (err)
			return err;
	}
	return 0;
}

int top_batch(struct top_model *m, struct kvmmt_err *e)
{
	const struct top_opts *o = m->opts;
	double next = kvmmt_now();
	long done;
	int err;

	for (done = 0; !top_stop && (!o->count || done < o->count); done++) {
		if (done) {
			next += o->delay;
			err = wait_until(m, next, e);
			if (err)
				return err;
			if (top_stop)
				break;
		}
		err = top_model_sample(m, e);
		if (err)
			return err;
		errno = 0;
		err = o->json ? print_json(m, e) : print_text(m, e);
		if (!err && (fflush(stdout) || ferror(stdout)))
			err = kvmmt_errf(e, errno ? -errno : -EIO, "cannot write to stdout: %s.",
					 strerror(errno ? errno : EIO));
		/* the reader went away (kvmmt-top --json | head -1): a normal end */
		if (err == -EPIPE)
			return 0;
		if (err)
			return err;
	}
	return 0;
}

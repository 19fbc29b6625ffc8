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
#include "json.h"
#include "top.h"

static void add(struct json_object *o, const char *key, struct json_object *v)
{
	json_object_object_add(o, key, v);
}

/* Guest pages invalidated by cause (the zap_pages_* counters). */
static struct json_object *json_zap_pages(const struct kvmmt_vm_ctrs *c)
{
	struct json_object *o = json_object_new_object();

	for (int k = KVMMT_C_INV_NOTIFIER; k <= KVMMT_C_INV_GMEM; k++)
		json_object_object_add(o, kvmmt_ctr_name(k) + strlen("zap_pages_"),
				       kvmmt_json_u64(c->c[k]));
	return o;
}

/* The host kernel's own mappings of the VM's memory (fentry kernels). */
static struct json_object *json_host_mappings(const struct kvmmt_vm_ctrs *c)
{
	struct json_object *o = json_object_new_object();

	for (int k = KVMMT_C_GPC_ACTIVATE; k <= KVMMT_C_VFIO_DEL; k++)
		json_object_object_add(o, kvmmt_ctr_name(k), kvmmt_json_u64(c->c[k]));
	return o;
}

static struct json_object *json_rate(double v)
{
	/* two decimals keep lines short; rates are never exact anyway */
	return json_object_new_double(round(v * 100) / 100);
}

/* Rates keyed by every memory type kvmmt knows, as the counts are. */
static struct json_object *json_rates(const double *rates)
{
	struct json_object *o = json_object_new_object();
	int t;

	for (t = 0; t < KVMMT_MT__MAX; t++)
		add(o, kvmmt_mt_name(t), json_rate(rates[t]));
	return o;
}

static struct json_object *json_slot(const struct kvmmt_slot_row *s)
{
	struct json_object *o = kvmmt_json_memslot(&s->rec);

	kvmmt_json_installs(o, s->installs, s->installs_level);
	return o;
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
	unsigned int i;

	kvmmt_json_vm_id(o, r->pid, r->name);
	add(o, "vcpus", json_object_new_int(r->vcpus));
	add(o, "mem_bytes", kvmmt_json_u64(r->mem_bytes));
	add(o, "noncoherent_dma", r->noncoherent_dma < 0 ? NULL :
				  json_object_new_int(r->noncoherent_dma));
	add(o, "disabled_quirks", r->quirks_valid ? kvmmt_json_u64(r->disabled_quirks) : NULL);
	kvmmt_json_installs(o, r->installs, NULL);
	add(o, "installs_ipat", kvmmt_json_ipat(r->installs_ipat[0], r->installs_ipat[1]));
	add(o, "install_rate", json_rates(r->install_rate));
	add(o, "zaps", kvmmt_json_u64(r->zaps));
	add(o, "zap_rate", json_rate(r->zap_rate));
	add(o, "zap_pages", json_zap_pages(&r->ctrs));
	add(o, "zap_all", kvmmt_json_u64(r->ctrs.c[KVMMT_C_ZAP_ALL]));
	add(o, "host_mappings", json_host_mappings(&r->ctrs));
	kvmmt_json_risk(o, v->policy, TOP_MAX_FINDINGS);
	/* without a model yet, what the VM table knows */
	add(o, "guest_types", json_object_new_string(kvmmt_gt_name(v->gt)));
	add(o, "guest_types_honoured", json_object_new_boolean(v->gt == KVMMT_GT_YES));
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
	kvmmt_json_host(host, h, kvmmt_dp_fmt(m->dp));
	add(o, "host", host);
	add(attach, "path", json_object_new_string(m->attach));
	add(attach, "reason", json_object_new_string(m->attach_why));
	add(o, "attach", attach);
	add(o, "noncoherent_dma", json_object_new_int(m->nc_total));
	add(o, "events_dropped", kvmmt_json_u64(m->drops));
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

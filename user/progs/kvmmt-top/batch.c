// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * Batch mode: every refresh goes to stdout, as plain text (like top -b) or
 * as one JSON object per line. The JSON schema is in kvmmt-top(8) and
 * docs/top.md; keys are only ever added, never renamed or removed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>
#include "json.h"
#include "jsoncache.h"
#include "top.h"

static void add(struct json_object *o, const char *key, struct json_object *v)
{
	json_object_object_add(o, key, v);
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

static struct json_object *json_vm(const void *arg)
{
	const struct top_vm *v = arg;
	struct json_object *o = json_object_new_object();

	kvmmt_json_vm_row(o, v->row);
	kvmmt_json_risk(o, v->policy, TOP_MAX_FINDINGS);
	/* without a model yet, what the VM table knows */
	add(o, "guest_types", json_object_new_string(kvmmt_gt_name(v->gt)));
	add(o, "guest_types_honoured", json_object_new_boolean(v->gt == KVMMT_GT_YES));
	add(o, "migration", json_migration(v->mig));
	return o;
}

/*
 * Everything json_vm() prints a VM from, as bytes: its row and memslots,
 * what the risk model says (the summary and the aliasing ranges listed),
 * the guest-types verdict and kvmmt-policyd's migration facts. The same
 * bytes print the same object, so an idle VM's text is kept (jsoncache.h).
 */
struct vm_key {
	struct kvmmt_vm_row row;
	bool has_policy, has_mig;
	struct kvmmt_policy_summary sum;
	enum kvmmt_gt gt;
	struct top_migration mig;
	size_t nr_aliasing;
	/* then row.nr_slots struct kvmmt_slot_row, nr_aliasing struct kvmmt_gfn_range */
};

struct keybuf {
	unsigned char *p;
	size_t len, cap;
};

static int key_add(struct keybuf *k, const void *data, size_t len)
{
	if (k->len + len > k->cap) {
		size_t cap = k->cap ? k->cap : 4096;
		unsigned char *p;

		while (cap < k->len + len)
			cap *= 2;
		p = realloc(k->p, cap);
		if (!p)
			return -ENOMEM;
		k->p = p;
		k->cap = cap;
	}
	memcpy(k->p + k->len, data, len);
	k->len += len;
	return 0;
}

static int vm_key(struct keybuf *k, const struct top_vm *v)
{
	struct vm_key h;
	size_t i, n;
	int err;

	memset(&h, 0, sizeof(h));
	h.row = *v->row;
	h.has_policy = v->policy;
	if (v->policy)
		kvmmt_policy_summary(v->policy, &h.sum);
	h.gt = v->gt;
	h.has_mig = v->mig;
	if (v->mig) {
		h.mig.pid = v->mig->pid;
		snprintf(h.mig.status, sizeof(h.mig.status), "%s", v->mig->status);
		h.mig.blocked = v->mig->blocked;
		h.mig.flagged = v->mig->flagged;
	}
	k->len = 0;
	err = key_add(k, &h, sizeof(h));
	if (!err && v->row->nr_slots)
		err = key_add(k, v->row->slots, v->row->nr_slots * sizeof(v->row->slots[0]));
	if (!v->policy || !h.sum.nr_conflicts)
		return err;
	/* the ranges kvmmt_json_risk() lists */
	n = kvmmt_policy_nr_ranges(v->policy);
	for (i = 0; !err && i < n && h.nr_aliasing < TOP_MAX_FINDINGS; i++) {
		const struct kvmmt_gfn_range *g = kvmmt_policy_range(v->policy, i);

		if (g->conflict) {
			err = key_add(k, g, sizeof(*g));
			h.nr_aliasing++;
		}
	}
	if (!err)
		memcpy(k->p, &h, sizeof(h));
	return err;
}

static struct json_object *json_refresh(const struct top_model *m,
					struct kvmmt_json_cache *cache, struct keybuf *k)
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
	add(o, "interval_s", kvmmt_json_rate(m->interval));
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
	for (i = 0; i < m->nr_vms; i++) {
		const struct top_vm *v = &m->vms[i];

		json_object_array_add(vms, vm_key(k, v) ? json_vm(v) :
				      kvmmt_json_cached(cache, (__u32)v->row->pid, k->p, k->len,
							json_vm, v));
	}
	add(o, "vms", vms);
	return o;
}

static int print_json(const struct top_model *m, struct kvmmt_json_cache *cache,
		      struct keybuf *k, struct kvmmt_err *e)
{
	struct json_object *o = json_refresh(m, cache, k);
	int err = 0;

	if (puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN)) < 0)
		err = kvmmt_errf(e, -errno, "cannot write to stdout: %s.", strerror(errno));
	json_object_put(o);
	kvmmt_json_cache_sweep(cache);
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
	/* idle VMs print what they printed last time: kept, not built again */
	struct kvmmt_json_cache *cache = kvmmt_json_cache_new(JSON_C_TO_STRING_PLAIN);
	struct keybuf key = { 0 };
	double next = kvmmt_now();
	long done;
	int err = 0;

	if (!cache)
		return kvmmt_errf(e, -ENOMEM, "out of memory.");
	for (done = 0; !top_stop && (!o->count || done < o->count); done++) {
		if (done) {
			next += o->delay;
			err = wait_until(m, next, e);
			if (err || top_stop)
				break;
		}
		err = top_model_sample(m, e);
		if (err)
			break;
		errno = 0;
		err = o->json ? print_json(m, cache, &key, e) : print_text(m, e);
		if (!err && (fflush(stdout) || ferror(stdout)))
			err = kvmmt_errf(e, errno ? -errno : -EIO, "cannot write to stdout: %s.",
					 strerror(errno ? errno : EIO));
		/* the reader went away (kvmmt-top --json | head -1): a normal end */
		if (err == -EPIPE) {
			err = 0;
			break;
		}
		if (err)
			break;
	}
	kvmmt_json_cache_free(cache);
	free(key.p);
	return err;
}

// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * Chrome trace-event JSON (opens in ui.perfetto.dev and chrome://tracing):
 * one process track per VM, instant events on vCPU-thread tracks, and
 * counter tracks for installs by memory type, zaps and the noncoherent DMA
 * count.
 */
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "report.h"

/* Install and zap counters are sampled at most this often per VM, and at the end. */
#define COUNTER_PERIOD_NS	1000000ull

struct vm_state {
	__u32 tgid;
	__u64 last_ns;
	bool sampled;
};

struct rep_trace {
	FILE *f;
	const struct rep_filter *filt;
	bool first;
	struct vm_state *vms;
	unsigned int nr;
};

struct rep_trace *rep_trace_open(FILE *f, const struct rep_filter *filt)
{
	struct rep_trace *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->f = f;
	t->filt = filt;
	t->first = true;
	fputs("{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n", f);
	return t;
}

static void emit(struct rep_trace *t, struct json_object *o)
{
	fprintf(t->f, "%s%s", t->first ? "" : ",\n",
		json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
					       JSON_C_TO_STRING_NOSLASHESCAPE));
	t->first = false;
	json_object_put(o);
}

static struct json_object *base(const char *ph, const char *name, const char *cat,
				__u32 pid, __u32 tid, double ts_us)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "ph", json_object_new_string(ph));
	json_object_object_add(o, "name", json_object_new_string(name));
	if (cat)
		json_object_object_add(o, "cat", json_object_new_string(cat));
	json_object_object_add(o, "pid", json_object_new_int64(pid));
	json_object_object_add(o, "tid", json_object_new_int64(tid));
	json_object_object_add(o, "ts", json_object_new_double(ts_us));
	return o;
}

static void hex_arg(struct json_object *args, const char *k, __u64 v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)v);
	json_object_object_add(args, k, json_object_new_string(buf));
}

static void emit_counter(struct rep_trace *t, const struct rep_vm *v, double ts_us)
{
	struct json_object *o = base("C", "installs by type", NULL, v->tgid, 0, ts_us);
	struct json_object *args = json_object_new_object();
	unsigned int i;

	for (i = 0; i < KVMMT_MT__MAX; i++)
		if (v->installs[i])
			json_object_object_add(args, kvmmt_mt_name(i),
					       json_object_new_uint64(v->installs[i]));
	json_object_object_add(o, "args", args);
	emit(t, o);
	o = base("C", "zaps", NULL, v->tgid, 0, ts_us);
	args = json_object_new_object();
	json_object_object_add(args, "zaps", json_object_new_uint64(v->zaps));
	json_object_object_add(o, "args", args);
	emit(t, o);
}

static struct vm_state *state(struct rep_trace *t, __u32 tgid)
{
	struct vm_state *s;
	unsigned int i;

	for (i = 0; i < t->nr; i++)
		if (t->vms[i].tgid == tgid)
			return &t->vms[i];
	s = realloc(t->vms, (t->nr + 1) * sizeof(*s));
	if (!s)
		return NULL;
	t->vms = s;
	s = &s[t->nr++];
	memset(s, 0, sizeof(*s));
	s->tgid = tgid;
	return s;
}

void rep_trace_event(struct rep_trace *t, const struct rep_model *m,
		     const struct kvmmt_cap_event *ce)
{
	const struct kvmmt_event *ev = &ce->ev;
	double ts = rep_rel_s(m, ev->ts_ns) * 1e6;
	struct json_object *o, *args = json_object_new_object();
	char name[32];
	struct vm_state *s;

	switch (ev->type) {
	case KVMMT_EV_INSTALL:
		snprintf(name, sizeof(name), "install %s%s",
			 ce->mt < KVMMT_MT__MAX ? kvmmt_mt_name(ce->mt) : "invalid",
			 ce->ipat ? " IPAT" : "");
		hex_arg(args, "gfn", ev->gfn);
		hex_arg(args, "pfn", ev->pfn);
		hex_arg(args, "spte", ev->spte);
		json_object_object_add(args, "level", json_object_new_int(ev->level));
		break;
	case KVMMT_EV_ZAP:
		snprintf(name, sizeof(name), "zap");
		hex_arg(args, "gfn", ev->gfn);
		hex_arg(args, "old_spte", ev->spte);
		json_object_object_add(args, "level", json_object_new_int(ev->level));
		break;
	case KVMMT_EV_NONCOHERENT:
		snprintf(name, sizeof(name), "noncoherent DMA %d", ev->value);
		json_object_object_add(args, "count", json_object_new_int(ev->value));
		break;
	default:
		snprintf(name, sizeof(name), "memslot flags");
		hex_arg(args, "flags", ev->spte);
		break;
	}
	json_object_object_add(args, "slot", json_object_new_int(
		ev->slot == KVMMT_SLOT_UNKNOWN ? -1 : ev->slot));
	o = base("i", name, rep_ev_names[ev->type], ev->tgid, ev->tid, ts);
	json_object_object_add(o, "s", json_object_new_string("t"));
	json_object_object_add(o, "args", args);
	emit(t, o);

	if (ev->type == KVMMT_EV_NONCOHERENT) {
		o = base("C", "noncoherent DMA", NULL, ev->tgid, 0, ts);
		args = json_object_new_object();
		json_object_object_add(args, "count", json_object_new_int(ev->value));
		json_object_object_add(o, "args", args);
		emit(t, o);
	}
	if (ev->type != KVMMT_EV_INSTALL && ev->type != KVMMT_EV_ZAP)
		return;
	s = state(t, ev->tgid);
	if (s && (!s->sampled || ev->ts_ns - s->last_ns >= COUNTER_PERIOD_NS)) {
		struct rep_vm *v = rep_vm_find((struct rep_model *)m, ev->tgid);

		if (v)
			emit_counter(t, v, ts);
		s->last_ns = ev->ts_ns;
		s->sampled = true;
	}
}

int rep_trace_close(struct rep_trace *t, const struct rep_model *m)
{
	__u64 end = m->have_end ? m->end.end_ns : m->last_ns;
	unsigned int i;
	int err;

	for (i = 0; i < m->nr_vms; i++) {
		const struct rep_vm *v = &m->vms[i];
		struct json_object *o, *args;
		char name[64];

		if (!rep_filter_pid(t->filt, v->tgid))
			continue;
		o = base("M", "process_name", NULL, v->tgid, 0, 0);
		args = json_object_new_object();
		snprintf(name, sizeof(name), "VM %u (%s)", v->tgid, v->comm[0] ? v->comm : "?");
		json_object_object_add(args, "name", json_object_new_string(name));
		json_object_object_add(o, "args", args);
		emit(t, o);
		if (v->events)
			emit_counter(t, v, rep_rel_s(m, end > v->last_ns ? end : v->last_ns) * 1e6);
	}
	fputs("\n]}\n", t->f);
	err = ferror(t->f) ? -1 : 0;
	free(t->vms);
	free(t);
	return err;
}

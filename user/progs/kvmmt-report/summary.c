// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/* The report itself: text for people, one JSON document for tools. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>
#include "json.h"
#include "report.h"

static const char *hget(const struct rep_model *m, const char *key)
{
	const char *v = kvmmt_cap_host_get(&m->host, key);

	return v ? v : "?";
}

static const char *mt_name(unsigned int mt)
{
	return mt < KVMMT_MT__MAX ? kvmmt_mt_name(mt) : "invalid";
}

static void fmt_time(char *buf, size_t n, __u64 realtime_ns)
{
	time_t t = realtime_ns / 1000000000ull;
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, n, "?");
}

static double duration_s(const struct rep_model *m)
{
	__u64 end = m->have_end ? m->end.end_ns : m->last_ns;

	return end > m->host.start_ns ? (end - m->host.start_ns) / 1e9 : 0;
}

static void summarize(const struct rep_vm *v, struct kvmmt_policy_summary *ps)
{
	memset(ps, 0, sizeof(*ps));
	kvmmt_policy_summary(v->reg->model, ps);
}

static void print_why(FILE *f, unsigned int why)
{
	static const char *const names[] = {
		"installs without IPAT", "noncoherent DMA", "memslot flagged noncoherent",
	};
	const char *sep = "";
	unsigned int i;

	for (i = 0; i < 3; i++) {
		if (why & (1u << i)) {
			fprintf(f, "%s%s", sep, names[i]);
			sep = ", ";
		}
	}
}

static void print_types(FILE *f, const __u64 *by_mt)
{
	const char *sep = "";
	unsigned int i;

	for (i = 0; i < KVMMT_MT__MAX; i++) {
		if (!by_mt[i])
			continue;
		fprintf(f, "%s%s %" PRIu64, sep, mt_name(i), (uint64_t)by_mt[i]);
		sep = ", ";
	}
	if (!*sep)
		fprintf(f, "none");
}

/* "what: cause n, cause n" for the nonzero causes, if @any. */
static void print_causes(FILE *f, const char *what, const __u64 *by_cause, __u64 any)
{
	const char *sep = "";

	if (!any)
		return;
	fprintf(f, "  %s:", what);
	for (unsigned int c = 0; c < KVMMT_ZAP__MAX; c++) {
		if (!by_cause[c])
			continue;
		fprintf(f, "%s %s %" PRIu64, sep, rep_cause_names[c], (uint64_t)by_cause[c]);
		sep = ",";
	}
	fputc('\n', f);
}

/* The host kernel's own mappings of this VM's memory (fentry kernels). */
static void print_hostmaps(FILE *f, const struct rep_vm *v)
{
	const char *sep = "";
	unsigned int i;

	for (i = 1; i < KVMMT_HM__MAX; i++) {
		if (!v->hostmap[i])
			continue;
		if (!*sep)
			fprintf(f, "  host-kernel mappings of guest memory:");
		fprintf(f, "%s %s %" PRIu64, sep, rep_hostmap_names[i], (uint64_t)v->hostmap[i]);
		if (v->hostmap_ok[i] != v->hostmap[i])
			fprintf(f, " (%" PRIu64 " failed)",
				(uint64_t)(v->hostmap[i] - v->hostmap_ok[i]));
		sep = ",";
	}
	if (*sep)
		fputc('\n', f);
	for (i = 0; i < v->nr_gpc; i++)
		fprintf(f, "    gfn-to-pfn cache: gfn 0x%" PRIx64 " -> pfn 0x%" PRIx64
			", %s, mapped write-back by the host kernel, %s\n",
			(uint64_t)v->gpc[i].gfn, (uint64_t)v->gpc[i].pfn,
			v->gpc[i].ram ? "RAM" : "not RAM (memremap)",
			v->gpc[i].active ? "active at the end" : "deactivated");
}

/* Which memslots only the data path's own records describe, and which went away. */
static void print_from_events(FILE *f, const struct rep_vm *v)
{
	const char *sep = "";
	unsigned int i;

	for (i = 0; i < v->nr_slots; i++) {
		if (!v->slots[i].from_events)
			continue;
		if (!*sep)
			fprintf(f, "  memslots no snapshot saw, described by the data path:");
		fprintf(f, "%s %u%s", sep, v->slots[i].rec.id,
			v->slots[i].deleted ? " (deleted)" : "");
		sep = ",";
	}
	if (*sep)
		fputc('\n', f);
}

/* Memslots in guest-physical order (address space, then gfn), unknown ones last. */
static int slot_cmp(const void *a, const void *b)
{
	const struct rep_slot *x = *(const struct rep_slot *const *)a;
	const struct rep_slot *y = *(const struct rep_slot *const *)b;

	if (x->known != y->known)
		return x->known ? -1 : 1;
	if (!x->known || x->rec.as_id == y->rec.as_id) {
		__u64 gx = x->known ? x->rec.base_gfn : x->rec.id;
		__u64 gy = y->known ? y->rec.base_gfn : y->rec.id;

		return gx < gy ? -1 : gx > gy;
	}
	return x->rec.as_id < y->rec.as_id ? -1 : 1;
}

static void print_vm_text(FILE *f, const struct rep_model *m, const struct rep_vm *v)
{
	const struct rep_slot **order;
	struct kvmmt_policy_summary ps;
	__u64 installs = 0;
	unsigned int i;
	const struct kvmmt_vm_rec *r = v->at_end ? &v->end : &v->start;

	for (i = 0; i < KVMMT_MT__MAX; i++)
		installs += v->installs[i];
	fprintf(f, "\nVM pid %u (%s)%s%s\n", v->tgid, v->comm[0] ? v->comm : "?",
		v->at_start ? "" : ", started during the capture",
		v->at_end || !m->have_finish ? "" : ", gone before its end");
	if (v->at_start || v->at_end) {
		fprintf(f, "  vCPUs %d, memslots %u, noncoherent DMA", r->online_vcpus, r->nr_slots);
		if (v->at_start)
			fprintf(f, " %d at start", v->start.noncoherent_dma);
		if (v->at_end)
			fprintf(f, "%s %d at end", v->at_start ? "," : "", v->end.noncoherent_dma);
		fputc('\n', f);
	}
	fprintf(f, "  installs %" PRIu64 " (", (uint64_t)installs);
	print_types(f, v->installs);
	fprintf(f, "; IPAT set %" PRIu64 "; 4K %" PRIu64 ", 2M %" PRIu64 ", 1G %" PRIu64
		"), zaps %" PRIu64 "\n", (uint64_t)v->installs_ipat,
		(uint64_t)v->installs_level[1], (uint64_t)v->installs_level[2],
		(uint64_t)v->installs_level[3], (uint64_t)v->zaps);
	fprintf(f, "  %-5s %-3s %-18s %-18s %-6s %-10s %-8s %s\n", "SLOT", "AS",
		"GFN-FIRST", "GFN-LAST", "FLAGS", "INSTALLS", "ZAPS", "TYPES");
	order = calloc(v->nr_slots ? v->nr_slots : 1, sizeof(*order));
	for (i = 0; order && i < v->nr_slots; i++)
		order[i] = &v->slots[i];
	if (order)
		qsort(order, v->nr_slots, sizeof(*order), slot_cmp);
	for (i = 0; i < v->nr_slots; i++) {
		const struct rep_slot *s = order ? order[i] : &v->slots[i];
		__u64 n = 0;
		unsigned int t;

		for (t = 0; t < KVMMT_MT__MAX; t++)
			n += s->installs[t];
		if (s->known)
			fprintf(f, "  %-5u %-3u 0x%-16" PRIx64 " 0x%-16" PRIx64 " 0x%-4x ",
				s->rec.id, s->rec.as_id, (uint64_t)s->rec.base_gfn,
				(uint64_t)(s->rec.base_gfn + s->rec.npages - !!s->rec.npages),
				s->rec.flags);
		else
			fprintf(f, "  %-5u %-3s %-18s %-18s %-6s ", s->rec.id, "?",
				"(not in a", "snapshot)", "?");
		fprintf(f, "%-10" PRIu64 " %-8" PRIu64 " ", (uint64_t)n, (uint64_t)s->zaps);
		print_types(f, s->installs);
		fputc('\n', f);
	}
	free(order);
	print_from_events(f, v);
	print_causes(f, "zaps by cause", v->zaps_by_cause, v->zaps);
	print_causes(f, "guest pages invalidated by cause", v->inv_pages, v->inv_events);
	print_hostmaps(f, v);
	if (!v->nc_events) {
		fprintf(f, "  noncoherent DMA changes: none\n");
	} else {
		fprintf(f, "  noncoherent DMA changes: %" PRIu64 "\n", (uint64_t)v->nc_events);
		for (i = 0; i < v->nr_nc; i++)
			fprintf(f, "    +%.6f s  count %d\n", rep_rel_s(m, v->nc[i].ts_ns),
				v->nc[i].count);
		if (v->nc_events > v->nr_nc)
			fprintf(f, "    (%" PRIu64 " more; see --events -t noncoherent)\n",
				(uint64_t)(v->nc_events - v->nr_nc));
	}
	if (v->memslot_events)
		fprintf(f, "  memslot flag changes: %" PRIu64 "\n", (uint64_t)v->memslot_events);
	summarize(v, &ps);
	fprintf(f, "  risk: %s", kvmmt_risk_name(ps.risk));
	if (ps.why) {
		fprintf(f, " (guest types can take effect: ");
		print_why(f, ps.why);
		fprintf(f, ")");
	}
	fprintf(f, "; %zu merged ranges, %zu conflicting (%" PRIu64 " pages)\n",
		ps.nr_ranges, ps.nr_conflicts, (uint64_t)ps.conflict_pages);
}

static unsigned int vms_with_maps(const struct rep_model *m)
{
	unsigned int i, n = 0;

	for (i = 0; i < m->nr_vms; i++)
		n += m->vms[i].have_maps;
	return n;
}

void rep_print_text(FILE *f, const struct rep_model *m, const struct rep_file *rf)
{
	char when[64];
	unsigned int i;

	fprintf(f, "capture: %s, format v%u, %" PRIu64 " bytes, %s\n", rf->path,
		rf->st.version, (uint64_t)rf->size,
		rf->st.complete ? "complete" : "INCOMPLETE");
	if (!rf->st.complete)
		fprintf(f, "  the capture was cut short: decoded %" PRIu64
			" chunks, up to byte offset %" PRIu64 " of %" PRIu64 "%s\n",
			(uint64_t)rf->st.chunks, (uint64_t)rf->st.good_bytes,
			(uint64_t)rf->size,
			rf->st.truncated ? " (the last chunk is incomplete)" : "");
	fmt_time(when, sizeof(when), m->host.start_realtime_ns);
	fprintf(f, "taken: %s on %s, %.3f s, stopped by %s\n", when, hget(m, "host.name"),
		duration_s(m), m->have_end ? kvmmt_cap_stop_name(m->end.stop_reason) :
		"an interruption (no end record)");
	fprintf(f, "host: Linux %s %s; %s family %s model %s (%s)\n", hget(m, "kernel.release"),
		hget(m, "kernel.machine"), hget(m, "cpu.vendor"), hget(m, "cpu.family"),
		hget(m, "cpu.model"), hget(m, "cpu.model_name"));
	fprintf(f, "kvm: backend %s, %s MMU, SPTE format %s, host PAT 0x%016" PRIx64 " (%s)\n",
		hget(m, "kvm.backend"), !strcmp(hget(m, "kvm.tdp"), "1") ? "TDP" :
		!strcmp(hget(m, "kvm.tdp"), "0") ? "shadow" : "unknown",
		kvmmt_fmt_name(m->host.fmt), (uint64_t)m->host.host_pat,
		hget(m, "host.pat_source"));
	fprintf(f, "attach: %s; BTF %s bytes crc32 %s; build id %s; kvmmt %s\n",
		hget(m, "attach.path"), hget(m, "btf.size"), hget(m, "btf.crc32"),
		hget(m, "kernel.build_id"), hget(m, "kvmmt.version"));
	fprintf(f, "events: %" PRIu64 " (installs %" PRIu64 ", zaps %" PRIu64
		", noncoherent %" PRIu64 ", memslot %" PRIu64 ")",
		(uint64_t)m->events, (uint64_t)m->by_type[KVMMT_EV_INSTALL],
		(uint64_t)m->by_type[KVMMT_EV_ZAP], (uint64_t)m->by_type[KVMMT_EV_NONCOHERENT],
		(uint64_t)m->by_type[KVMMT_EV_MEMSLOT]);
	if (m->events)
		fprintf(f, ", %.2f bytes/event", (double)rf->size / m->events);
	fprintf(f, "\ndrops: %" PRIu64 "%s\n", (uint64_t)m->drops,
		m->drops ? " events lost in the ring buffer: counts below are lower bounds" : "");
	fprintf(f, "host memory types: ");
	if (m->have_pat)
		fprintf(f, "%zu PAT reservations", kvmmt_vmreg_pat(m->reg)->n);
	else
		fprintf(f, "PAT reservations not recorded (%s)", hget(m, "host.pat_memtype_list"));
	fprintf(f, "; VMM device mappings recorded for %u of %u VMs\n", vms_with_maps(m),
		m->nr_vms);
	if (m->perr.err)
		fprintf(f, "risk model: stopped early: %s\n", m->perr.msg);
	fprintf(f, "VMs: %u\n", m->nr_vms);
	for (i = 0; i < m->nr_vms; i++)
		print_vm_text(f, m, &m->vms[i]);
}

/* Seconds to the nanosecond, printed as such (not 2.7674201379999999). */
static struct json_object *j_seconds(double s)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%.9f", s);
	return json_object_new_double_s(s, buf);
}

/* Counts by zap cause; "unknown" only for zaps (invalidations always have one). */
static struct json_object *cause_json(const __u64 *by_cause, bool with_unknown)
{
	struct json_object *o = json_object_new_object();

	for (unsigned int c = !with_unknown; c < KVMMT_ZAP__MAX; c++)
		if (c != KVMMT_ZAP_ALL || with_unknown)
			json_object_object_add(o, rep_cause_names[c], kvmmt_json_u64(by_cause[c]));
	return o;
}

static struct json_object *hostmap_json(const struct rep_vm *v)
{
	struct json_object *o = json_object_new_object(), *a = json_object_new_array();
	unsigned int i;

	for (i = 1; i < KVMMT_HM__MAX; i++) {
		struct json_object *c = json_object_new_object();

		json_object_object_add(c, "count", kvmmt_json_u64(v->hostmap[i]));
		json_object_object_add(c, "ok", kvmmt_json_u64(v->hostmap_ok[i]));
		json_object_object_add(o, rep_hostmap_names[i], c);
	}
	for (i = 0; i < v->nr_gpc; i++) {
		struct json_object *g = json_object_new_object();

		json_object_object_add(g, "gfn", kvmmt_json_u64(v->gpc[i].gfn));
		json_object_object_add(g, "pfn", kvmmt_json_u64(v->gpc[i].pfn));
		json_object_object_add(g, "ram", json_object_new_boolean(v->gpc[i].ram));
		json_object_object_add(g, "active", json_object_new_boolean(v->gpc[i].active));
		json_object_array_add(a, g);
	}
	json_object_object_add(o, "gpc_pages", a);
	return o;
}

static __u64 sum_mt(const __u64 n[KVMMT_MT__MAX])
{
	__u64 total = 0;

	for (int t = 0; t < KVMMT_MT__MAX; t++)
		total += n[t];
	return total;
}

/* The memslot object of kvmmt-top, plus where the capture learnt of it. */
static struct json_object *slot_json(const struct rep_slot *s)
{
	struct json_object *o;

	if (s->known) {
		o = kvmmt_json_memslot(&s->rec);
	} else {
		o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_int(s->rec.id));
	}
	json_object_object_add(o, "in_snapshot",
			       json_object_new_boolean(s->known && !s->from_events));
	json_object_object_add(o, "geometry", !s->known ? NULL :
			       json_object_new_string(s->from_events ? "events" : "snapshot"));
	json_object_object_add(o, "deleted", json_object_new_boolean(s->deleted));
	kvmmt_json_installs(o, s->installs, NULL);
	json_object_object_add(o, "installs_ipat", kvmmt_json_ipat(sum_mt(s->installs) - s->installs_ipat,
								   s->installs_ipat));
	json_object_object_add(o, "zaps", kvmmt_json_u64(s->zaps));
	return o;
}

static struct json_object *vm_json(const struct rep_model *m, const struct rep_vm *v)
{
	struct json_object *o = json_object_new_object(), *a;
	unsigned int i;

	kvmmt_json_vm_id(o, v->tgid, v->comm);
	json_object_object_add(o, "at_start", json_object_new_boolean(v->at_start));
	json_object_object_add(o, "at_end", json_object_new_boolean(v->at_end));
	if (v->at_start || v->at_end) {
		const struct kvmmt_vm_rec *r = v->at_end ? &v->end : &v->start;

		json_object_object_add(o, "vcpus", json_object_new_int(r->online_vcpus));
	}
	if (v->at_start)
		json_object_object_add(o, "noncoherent_dma_start",
				       json_object_new_int(v->start.noncoherent_dma));
	if (v->at_end)
		json_object_object_add(o, "noncoherent_dma_end",
				       json_object_new_int(v->end.noncoherent_dma));
	json_object_object_add(o, "events", kvmmt_json_u64(v->events));
	kvmmt_json_installs(o, v->installs, v->installs_level);
	json_object_object_add(o, "installs_ipat", kvmmt_json_ipat(sum_mt(v->installs) - v->installs_ipat,
								   v->installs_ipat));
	json_object_object_add(o, "zaps", kvmmt_json_u64(v->zaps));
	json_object_object_add(o, "zaps_by_cause", cause_json(v->zaps_by_cause, true));
	json_object_object_add(o, "zap_pages_by_cause", cause_json(v->inv_pages, false));
	json_object_object_add(o, "memslot_changes", kvmmt_json_u64(v->memslot_events));
	json_object_object_add(o, "host_mappings", hostmap_json(v));
	json_object_object_add(o, "vmm_device_mappings", v->have_maps ? kvmmt_json_u64(v->reg->maps.n) : NULL);
	a = json_object_new_array();
	for (i = 0; i < v->nr_nc; i++) {
		struct json_object *c = json_object_new_object();

		json_object_object_add(c, "t_s", j_seconds(rep_rel_s(m, v->nc[i].ts_ns)));
		json_object_object_add(c, "count", json_object_new_int(v->nc[i].count));
		json_object_array_add(a, c);
	}
	json_object_object_add(o, "noncoherent_changes", a);
	json_object_object_add(o, "noncoherent_change_count", kvmmt_json_u64(v->nc_events));
	a = json_object_new_array();
	for (i = 0; i < v->nr_slots; i++)
		json_object_array_add(a, slot_json(&v->slots[i]));
	json_object_object_add(o, "memslots", a);
	kvmmt_json_risk(o, v->reg->model, REPORT_MAX_RANGES);
	return o;
}

int rep_print_json(FILE *f, const struct rep_model *m, const struct rep_file *rf)
{
	struct json_object *root = json_object_new_object(), *o, *a;
	unsigned int i;

	o = json_object_new_object();
	json_object_object_add(o, "path", json_object_new_string(rf->path));
	json_object_object_add(o, "version", json_object_new_int(rf->st.version));
	json_object_object_add(o, "bytes", kvmmt_json_u64(rf->size));
	json_object_object_add(o, "complete", json_object_new_boolean(rf->st.complete));
	json_object_object_add(o, "truncated", json_object_new_boolean(rf->st.truncated));
	json_object_object_add(o, "decoded_bytes", kvmmt_json_u64(rf->st.good_bytes));
	json_object_object_add(o, "chunks", kvmmt_json_u64(rf->st.chunks));
	json_object_object_add(o, "duration_s", j_seconds(duration_s(m)));
	json_object_object_add(o, "stop_reason", json_object_new_string(
		m->have_end ? kvmmt_cap_stop_name(m->end.stop_reason) : "interrupted"));
	json_object_object_add(root, "capture", o);

	o = json_object_new_object();
	json_object_object_add(o, "spte_format", json_object_new_string(kvmmt_fmt_name(m->host.fmt)));
	json_object_object_add(o, "host_pat", kvmmt_json_pat(m->host.host_pat));
	json_object_object_add(o, "start_realtime_ns", kvmmt_json_u64(m->host.start_realtime_ns));
	json_object_object_add(o, "pat_reservations", m->have_pat ? kvmmt_json_u64(kvmmt_vmreg_pat(m->reg)->n) : NULL);
	for (i = 0; i < m->host.nr_kv; i++)
		json_object_object_add(o, m->host.kv[i].key,
				       json_object_new_string(m->host.kv[i].val));
	json_object_object_add(root, "host", o);

	o = json_object_new_object();
	json_object_object_add(o, "total", kvmmt_json_u64(m->events));
	for (i = KVMMT_EV_INSTALL; i < KVMMT_EV__MAX; i++)
		json_object_object_add(o, rep_ev_names[i], kvmmt_json_u64(m->by_type[i]));
	json_object_object_add(o, "drops", kvmmt_json_u64(m->drops));
	json_object_object_add(o, "bytes_per_event", json_object_new_double(
		m->events ? (double)rf->size / m->events : 0));
	json_object_object_add(root, "events", o);
	if (m->perr.err)
		json_object_object_add(root, "risk_model_error", json_object_new_string(m->perr.msg));

	a = json_object_new_array();
	for (i = 0; i < m->nr_vms; i++)
		json_object_array_add(a, vm_json(m, &m->vms[i]));
	json_object_object_add(root, "vms", a);
	fprintf(f, "%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
							  JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	return 0;
}

static const char *cause_name(int cause)
{
	return (unsigned int)cause < KVMMT_ZAP__MAX ? rep_cause_names[cause] : "?";
}

void rep_print_event_text(FILE *f, const struct rep_model *m, const struct kvmmt_cap_event *ce)
{
	const struct kvmmt_event *ev = &ce->ev;

	fprintf(f, "%14.6f %7u %7u %3u %-11s", rep_rel_s(m, ev->ts_ns), ev->tgid, ev->tid,
		ev->cpu, rep_ev_names[ev->type]);
	switch (ev->type) {
	case KVMMT_EV_INSTALL:
		fprintf(f, " gfn 0x%" PRIx64 " pfn 0x%" PRIx64 " L%u spte 0x%016" PRIx64
			" %s%s slot %d\n", (uint64_t)ev->gfn, (uint64_t)ev->pfn, ev->level,
			(uint64_t)ev->spte, mt_name(ce->mt), ce->ipat ? " IPAT" : "",
			ev->slot == KVMMT_SLOT_UNKNOWN ? -1 : ev->slot);
		break;
	case KVMMT_EV_ZAP:
		fprintf(f, " gfn 0x%" PRIx64 " L%u old spte 0x%016" PRIx64 " slot %d cause %s\n",
			(uint64_t)ev->gfn, ev->level, (uint64_t)ev->spte,
			ev->slot == KVMMT_SLOT_UNKNOWN ? -1 : ev->slot, cause_name(ev->value));
		break;
	case KVMMT_EV_NONCOHERENT:
		fprintf(f, " count %d\n", ev->value);
		break;
	case KVMMT_EV_SLOT:
		fprintf(f, " slot %u as %d gfn 0x%" PRIx64 " pages %" PRIu64 " flags 0x%x hva 0x%"
			PRIx64 "%s\n", ev->slot, ev->value, (uint64_t)ev->gfn, (uint64_t)ev->pfn,
			ev->aux, (uint64_t)ev->spte, ev->pfn ? "" : " (deleted)");
		break;
	case KVMMT_EV_VM: {
		char comm[KVMMT_COMM_LEN + 1] = "";

		memcpy(comm, &ev->gfn, 8);
		memcpy(comm + 8, &ev->pfn, 8);
		fprintf(f, " comm %s\n", comm);
		break;
	}
	case KVMMT_EV_INVAL:
		fprintf(f, " slot %d as %u gfn 0x%" PRIx64 " pages %" PRIu64 " cause %s\n",
			ev->slot == KVMMT_SLOT_UNKNOWN ? -1 : ev->slot, ev->aux,
			(uint64_t)ev->gfn, (uint64_t)ev->pfn, cause_name(ev->value));
		break;
	case KVMMT_EV_HOSTMAP:
		fprintf(f, " %s gfn 0x%" PRIx64 " pfn 0x%" PRIx64 " hva 0x%" PRIx64 "%s%s\n",
			(__u32)ev->value < KVMMT_HM__MAX && rep_hostmap_names[ev->value] ?
			rep_hostmap_names[ev->value] : "?", (uint64_t)ev->gfn, (uint64_t)ev->pfn,
			(uint64_t)ev->spte, ev->aux & KVMMT_HM_OK ? "" : " failed",
			ev->aux & KVMMT_HM_RAM ? " RAM" : "");
		break;
	default:
		fprintf(f, " slot %u as %d flags 0x%" PRIx64 "\n", ev->slot, ev->value,
			(uint64_t)ev->spte);
		break;
	}
}

struct json_object *rep_event_json(const struct rep_model *m, const struct kvmmt_cap_event *ce)
{
	const struct kvmmt_event *ev = &ce->ev;
	struct json_object *o = json_object_new_object();
	char hex[24];

	json_object_object_add(o, "t_s", j_seconds(rep_rel_s(m, ev->ts_ns)));
	json_object_object_add(o, "ts_ns", kvmmt_json_u64(ev->ts_ns));
	json_object_object_add(o, "type", json_object_new_string(rep_ev_names[ev->type]));
	json_object_object_add(o, "pid", json_object_new_int64(ev->tgid));
	json_object_object_add(o, "tid", json_object_new_int64(ev->tid));
	json_object_object_add(o, "cpu", json_object_new_int(ev->cpu));
	json_object_object_add(o, "slot", json_object_new_int(
		ev->slot == KVMMT_SLOT_UNKNOWN ? -1 : ev->slot));
	json_object_object_add(o, "gfn", kvmmt_json_u64(ev->gfn));
	json_object_object_add(o, "pfn", kvmmt_json_u64(ev->pfn));
	json_object_object_add(o, "level", json_object_new_int(ev->level));
	json_object_object_add(o, "spte", kvmmt_json_u64(ev->spte));
	/* the same as text: readers that parse numbers as doubles (jq 1.6) round above 2^53 */
	snprintf(hex, sizeof(hex), "0x%016llx", (unsigned long long)ev->spte);
	json_object_object_add(o, "spte_hex", json_object_new_string(hex));
	json_object_object_add(o, "attr", json_object_new_int(ev->attr));
	if (ev->type == KVMMT_EV_INSTALL) {
		json_object_object_add(o, "memtype", json_object_new_string(mt_name(ce->mt)));
		json_object_object_add(o, "ipat", json_object_new_boolean(ce->ipat));
	}
	json_object_object_add(o, "value", json_object_new_int(ev->value));
	json_object_object_add(o, "aux", kvmmt_json_u64(ev->aux));
	if (ev->type == KVMMT_EV_ZAP || ev->type == KVMMT_EV_INVAL)
		json_object_object_add(o, "cause", json_object_new_string(cause_name(ev->value)));
	return o;
}

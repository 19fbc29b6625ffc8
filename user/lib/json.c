// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/* The one JSON writer of kvmmt's objects (json.h, docs/json.md). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "json.h"

static void add(json_object *o, const char *key, json_object *v)
{
	json_object_object_add(o, key, v);
}

json_object *kvmmt_json_u64(__u64 v)
{
	return json_object_new_uint64(v);
}

static json_object *mt_counts(const __u64 n[KVMMT_MT__MAX])
{
	json_object *o = json_object_new_object();

	for (int t = 0; t < KVMMT_MT__MAX; t++)
		add(o, kvmmt_mt_name(t), kvmmt_json_u64(n[t]));
	return o;
}

static json_object *level_counts(const __u64 n[4])
{
	static const char *const names[] = { [1] = "4K", [2] = "2M", [3] = "1G" };
	json_object *o = json_object_new_object();

	for (int l = 1; l <= 3; l++)
		add(o, names[l], kvmmt_json_u64(n[l]));
	return o;
}

json_object *kvmmt_json_ipat(__u64 clear, __u64 set)
{
	json_object *o = json_object_new_object();

	add(o, "clear", kvmmt_json_u64(clear));
	add(o, "set", kvmmt_json_u64(set));
	return o;
}

void kvmmt_json_installs(json_object *o, const __u64 by_mt[KVMMT_MT__MAX], const __u64 *level)
{
	__u64 total = 0;

	for (int t = 0; t < KVMMT_MT__MAX; t++)
		total += by_mt[t];
	add(o, "installs", mt_counts(by_mt));
	add(o, "installs_total", kvmmt_json_u64(total));
	if (level)
		add(o, "installs_by_level", level_counts(level));
}

void kvmmt_json_vm_id(json_object *o, pid_t pid, const char *name)
{
	add(o, "pid", json_object_new_int(pid));
	add(o, "name", json_object_new_string(name));
}

json_object *kvmmt_json_memslot(const struct kvmmt_slot_rec *r)
{
	json_object *o = json_object_new_object();

	add(o, "id", json_object_new_int(r->id));
	add(o, "as_id", json_object_new_int(r->as_id));
	add(o, "base_gfn", kvmmt_json_u64(r->base_gfn));
	add(o, "npages", kvmmt_json_u64(r->npages));
	add(o, "size_bytes", kvmmt_json_u64(r->npages * 4096));
	add(o, "flags", json_object_new_int64(r->flags));
	add(o, "userspace_addr", kvmmt_json_u64(r->userspace_addr));
	return o;
}

/* Guest pages invalidated by cause (the zap_pages_* counters). */
static json_object *zap_pages(const struct kvmmt_vm_ctrs *c)
{
	json_object *o = json_object_new_object();

	for (int k = KVMMT_C_INV_NOTIFIER; k <= KVMMT_C_INV_GMEM; k++)
		add(o, kvmmt_ctr_name(k) + strlen("zap_pages_"), kvmmt_json_u64(c->c[k]));
	return o;
}

/* The host kernel's own mappings of the VM's memory (fentry kernels). */
static json_object *host_mappings(const struct kvmmt_vm_ctrs *c)
{
	json_object *o = json_object_new_object();

	for (int k = KVMMT_C_GPC_ACTIVATE; k <= KVMMT_C_VFIO_DEL; k++)
		add(o, kvmmt_ctr_name(k), kvmmt_json_u64(c->c[k]));
	return o;
}

json_object *kvmmt_json_rate(double v)
{
	/* two decimals keep lines short; rates are never exact anyway */
	return json_object_new_double(round(v * 100) / 100);
}

/* Rates keyed by every memory type kvmmt knows, as the counts are. */
static json_object *mt_rates(const double rates[KVMMT_MT__MAX])
{
	json_object *o = json_object_new_object();

	for (int t = 0; t < KVMMT_MT__MAX; t++)
		add(o, kvmmt_mt_name(t), kvmmt_json_rate(rates[t]));
	return o;
}

void kvmmt_json_vm_row(json_object *o, const struct kvmmt_vm_row *r)
{
	json_object *slots = json_object_new_array();

	kvmmt_json_vm_id(o, r->pid, r->name);
	add(o, "vcpus", json_object_new_int(r->vcpus));
	add(o, "mem_bytes", kvmmt_json_u64(r->mem_bytes));
	add(o, "noncoherent_dma", r->noncoherent_dma < 0 ? NULL :
				  json_object_new_int(r->noncoherent_dma));
	add(o, "disabled_quirks", r->quirks_valid ? kvmmt_json_u64(r->disabled_quirks) : NULL);
	kvmmt_json_installs(o, r->installs, NULL);
	add(o, "installs_ipat", kvmmt_json_ipat(r->installs_ipat[0], r->installs_ipat[1]));
	add(o, "install_rate", mt_rates(r->install_rate));
	add(o, "zaps", kvmmt_json_u64(r->zaps));
	add(o, "zap_rate", kvmmt_json_rate(r->zap_rate));
	add(o, "zap_pages", zap_pages(&r->ctrs));
	add(o, "zap_all", kvmmt_json_u64(r->ctrs.c[KVMMT_C_ZAP_ALL]));
	add(o, "host_mappings", host_mappings(&r->ctrs));
	for (unsigned int i = 0; i < r->nr_slots; i++) {
		json_object *s = kvmmt_json_memslot(&r->slots[i].rec);

		kvmmt_json_installs(s, r->slots[i].installs, r->slots[i].installs_level);
		json_object_array_add(slots, s);
	}
	add(o, "memslots", slots);
}

static json_object *reasons(unsigned int why)
{
	json_object *a = json_object_new_array();

	for (unsigned int i = 0; i < KVMMT_WHY__BITS; i++)
		if (why & (1u << i))
			json_object_array_add(a, json_object_new_string(kvmmt_why_name(1u << i)));
	return a;
}

static json_object *aliasing(const struct kvmmt_policy_vm *pvm, size_t max)
{
	json_object *a = json_object_new_array();
	size_t n = kvmmt_policy_nr_ranges(pvm), shown = 0;

	for (size_t i = 0; i < n && shown < max; i++) {
		const struct kvmmt_gfn_range *g = kvmmt_policy_range(pvm, i);
		json_object *o;

		if (!g->conflict)
			continue;
		o = json_object_new_object();
		add(o, "gfn_start", kvmmt_json_u64(g->start));
		add(o, "gfn_end", kvmmt_json_u64(g->end));
		add(o, "slot", json_object_new_int(g->slot));
		add(o, "type", json_object_new_string(kvmmt_mt_name(g->mt)));
		add(o, "host_type", json_object_new_string(kvmmt_mt_name(g->host_mt)));
		json_object_array_add(a, o);
		shown++;
	}
	return a;
}

static json_object *device_slots(const struct kvmmt_policy_summary *s)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; i < s->nr_device_slots && i < KVMMT_MAX_DEVICE_SLOTS; i++) {
		json_object *o = json_object_new_object();

		add(o, "slot", json_object_new_int(s->device[i].id));
		add(o, "host_type", json_object_new_string(kvmmt_mt_name(s->device[i].host_mt)));
		json_object_array_add(a, o);
	}
	return a;
}

void kvmmt_json_risk(json_object *o, const struct kvmmt_policy_vm *pvm, size_t max_ranges)
{
	struct kvmmt_policy_summary s;

	if (!pvm) {
		static const char *const keys[] = {
			"risk", "risk_reasons", "guest_types", "guest_types_honoured",
			"ranges", "aliasing_pages", "aliasing", "device_memslots",
		};

		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			add(o, keys[i], NULL);
		return;
	}
	kvmmt_policy_summary(pvm, &s);
	add(o, "risk", json_object_new_string(kvmmt_risk_name(s.risk)));
	add(o, "risk_reasons", reasons(s.why));
	add(o, "guest_types", json_object_new_string(kvmmt_gt_name(s.guest_types)));
	add(o, "guest_types_honoured", json_object_new_boolean(s.guest_types == KVMMT_GT_YES));
	add(o, "ranges", kvmmt_json_u64(s.nr_ranges));
	add(o, "aliasing_pages", kvmmt_json_u64(s.conflict_pages));
	add(o, "aliasing", aliasing(pvm, max_ranges));
	add(o, "device_memslots", device_slots(&s));
}

json_object *kvmmt_json_pat(__u64 pat)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%016llx", (unsigned long long)pat);
	return json_object_new_string(buf);
}

void kvmmt_json_host(json_object *o, const struct kvmmt_host *h, enum kvmmt_fmt fmt)
{
	add(o, "kernel", json_object_new_string(h->release));
	add(o, "machine", json_object_new_string(h->machine));
	add(o, "backend", json_object_new_string(h->backend));
	add(o, "tdp", json_object_new_boolean(h->tdp));
	add(o, "spte_format", json_object_new_string(kvmmt_fmt_name(fmt)));
	add(o, "host_pat", kvmmt_json_pat(h->host_pat));
}

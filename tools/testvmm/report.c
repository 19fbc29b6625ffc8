// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <inttypes.h>
#include "report.h"

static const struct {
	uint64_t bit;
	const char *name;
} pte_flag_names[] = {
	{ PTE_PWT, "pwt" },
	{ PTE_PCD, "pcd" },
	{ PTE_PAT, "pat" },
};

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

struct totals {
	uint64_t pages, data, setup, start_ns, end_ns;
};

static void sum_totals(const struct report *r, struct totals *t)
{
	int i;

	*t = (struct totals){ .start_ns = UINT64_MAX };
	for (i = 0; i < r->nr_vms; i++) {
		const struct testvm_record *vm = r->vms[i];

		t->pages += vm->pages_touched * vm->rounds;
		t->data += vm->expected_data_installs;
		t->setup += vm->expected_setup_installs;
		if (vm->start_ns < t->start_ns)
			t->start_ns = vm->start_ns;
		if (vm->end_ns > t->end_ns)
			t->end_ns = vm->end_ns;
	}
}

static double seconds(uint64_t ns)
{
	return ns / 1e9;
}

static double rate(uint64_t installs, uint64_t ns)
{
	return ns ? installs / seconds(ns) : 0;
}

static void json_add(struct json_object *o, const char *key, struct json_object *v)
{
	json_object_object_add(o, key, v);
}

static struct json_object *json_u64(uint64_t v)
{
	return json_object_new_int64((int64_t)v);
}

static struct json_object *json_installs(uint64_t data, uint64_t setup)
{
	struct json_object *o = json_object_new_object();

	json_add(o, "data", json_u64(data));
	json_add(o, "setup", json_u64(setup));
	json_add(o, "total", json_u64(data + setup));
	return o;
}

static struct json_object *slot_json(const struct slot_record *s)
{
	struct json_object *o = json_object_new_object();

	json_add(o, "slot", json_u64(s->id));
	json_add(o, "role", json_object_new_string(s->id ? "data" : "setup"));
	json_add(o, "gpa", json_u64(s->gpa));
	json_add(o, "size", json_u64(s->size));
	json_add(o, "flags", json_u64(s->flags));
	json_add(o, "host_addr", json_u64(s->host_addr));
	json_add(o, "pages", json_u64(s->pages));
	json_add(o, "touched_pages", json_u64(s->touched_pages));
	json_add(o, "expected_installs", json_u64(s->expected_installs));
	return o;
}

static struct json_object *vm_json(const struct testvm_record *vm)
{
	struct json_object *o = json_object_new_object();
	struct json_object *slots = json_object_new_array();
	struct json_object *exits = json_object_new_object();
	uint64_t ns = vm->end_ns - vm->start_ns;
	int i;

	json_add(o, "index", json_object_new_int(vm->index));
	json_add(o, "pid", json_object_new_int(vm->pid));
	json_add(o, "name", json_object_new_string(vm->name));
	json_add(o, "vcpus", json_object_new_int(vm->vcpus));
	for (i = 0; i < vm->nr_slots; i++)
		json_object_array_add(slots, slot_json(&vm->slots[i]));
	json_add(o, "memslots", slots);
	json_add(o, "rounds", json_object_new_int(vm->rounds));
	json_add(o, "pages_touched", json_u64(vm->pages_touched));
	json_add(o, "setup_pages", json_u64(vm->setup_pages));
	json_add(o, "setup_pages_touched", json_u64(vm->setup_pages_touched));
	json_add(o, "page_table_pages", json_u64(vm->page_table_pages));
	json_add(o, "expected_installs",
		 json_installs(vm->expected_data_installs,
			       vm->expected_setup_installs));
	json_add(o, "slot_deletes", json_u64(vm->slot_deletes));
	json_add(exits, "io", json_u64(vm->exits_io));
	json_add(exits, "other", json_u64(vm->exits_other));
	json_add(exits, "total", json_u64(vm->exits_io + vm->exits_other));
	json_add(o, "exits", exits);
	json_add(o, "setup_seconds", json_object_new_double(seconds(vm->setup_ns)));
	json_add(o, "elapsed_seconds", json_object_new_double(seconds(ns)));
	json_add(o, "installs_per_second",
		 json_object_new_double(rate(vm->expected_data_installs +
					     vm->expected_setup_installs, ns)));
	return o;
}

static struct json_object *config_json(const struct report *r)
{
	struct json_object *o = json_object_new_object();
	struct json_object *flags = json_object_new_array();
	size_t i;

	json_add(o, "vms", json_object_new_int(r->nr_vms));
	json_add(o, "slots", json_object_new_int(r->cfg->slots));
	json_add(o, "pages", json_u64(r->cfg->pages));
	json_add(o, "vcpus", json_object_new_int(r->cfg->vcpus));
	json_add(o, "repeat", json_object_new_int(r->cfg->repeat));
	json_add(o, "hold_seconds", json_object_new_int64(r->hold));
	json_add(o, "host_mmu", json_object_new_string(r->cfg->tdp ? "tdp" : "shadow"));
	for (i = 0; i < ARRAY_SIZE(pte_flag_names); i++)
		if (r->cfg->pte_flags & pte_flag_names[i].bit)
			json_object_array_add(flags,
				json_object_new_string(pte_flag_names[i].name));
	json_add(o, "guest_pte_flags", flags);
	json_add(o, "guest_pte_bits", json_u64(r->cfg->pte_flags));
	return o;
}

struct json_object *report_json(const struct report *r)
{
	struct json_object *o = json_object_new_object();
	struct json_object *vms = json_object_new_array();
	struct json_object *total = json_object_new_object();
	struct totals t;
	int i;

	sum_totals(r, &t);
	json_add(o, "version", json_object_new_int(REPORT_VERSION));
	json_add(o, "config", config_json(r));
	for (i = 0; i < r->nr_vms; i++)
		json_object_array_add(vms, vm_json(r->vms[i]));
	json_add(o, "vms", vms);
	json_add(total, "pages_touched", json_u64(t.pages));
	json_add(total, "expected_installs", json_installs(t.data, t.setup));
	json_add(total, "elapsed_seconds",
		 json_object_new_double(seconds(t.end_ns - t.start_ns)));
	json_add(total, "installs_per_second",
		 json_object_new_double(rate(t.data + t.setup,
					     t.end_ns - t.start_ns)));
	json_add(o, "total", total);
	return o;
}

static void pte_flags_text(FILE *f, uint64_t flags)
{
	const char *sep = "";
	size_t i;

	if (!flags)
		fprintf(f, "none");
	for (i = 0; i < ARRAY_SIZE(pte_flag_names); i++) {
		if (flags & pte_flag_names[i].bit) {
			fprintf(f, "%s%s", sep, pte_flag_names[i].name);
			sep = ",";
		}
	}
}

static void vm_text(FILE *f, const struct testvm_record *vm)
{
	uint64_t ns = vm->end_ns - vm->start_ns;
	uint64_t total = vm->expected_data_installs + vm->expected_setup_installs;
	int i;

	fprintf(f, "\nVM %d  pid %d  name %s  vcpus %d  rounds %d\n",
		vm->index, vm->pid, vm->name, vm->vcpus, vm->rounds);
	fprintf(f, "  %-4s %-5s %-18s %-12s %-5s %-18s %8s %8s %9s\n", "slot",
		"role", "gpa", "size", "flags", "host_addr", "pages", "touched",
		"installs");
	for (i = 0; i < vm->nr_slots; i++) {
		const struct slot_record *s = &vm->slots[i];

		fprintf(f, "  %-4u %-5s 0x%016" PRIx64 " 0x%-10" PRIx64
			" 0x%-3x 0x%016" PRIx64 " %8" PRIu64 " %8" PRIu64
			" %9" PRIu64 "\n", s->id, s->id ? "data" : "setup",
			s->gpa, s->size, s->flags, s->host_addr, s->pages,
			s->touched_pages, s->expected_installs);
	}
	fprintf(f, "  touched per round: %" PRIu64 " data pages + %" PRIu64
		" setup page(s); slot 0 holds %" PRIu64 " setup pages, %" PRIu64
		" of them guest page tables\n", vm->pages_touched,
		vm->setup_pages_touched, vm->setup_pages, vm->page_table_pages);
	fprintf(f, "  expected SPTE installs: %" PRIu64 " (%" PRIu64 " data + %"
		PRIu64 " setup); slot deletions: %" PRIu64 "\n", total,
		vm->expected_data_installs, vm->expected_setup_installs,
		vm->slot_deletes);
	fprintf(f, "  exits: %" PRIu64 " (io %" PRIu64 ", other %" PRIu64
		"); setup %.3f s, touching %.3f s, %.0f installs/s\n",
		vm->exits_io + vm->exits_other, vm->exits_io, vm->exits_other,
		seconds(vm->setup_ns), seconds(ns), rate(total, ns));
}

void report_text(FILE *f, const struct report *r)
{
	struct totals t;
	int i;

	sum_totals(r, &t);
	fprintf(f, "kvmmt-testvmm: %d VM(s) x %d data slot(s) x %" PRIu64
		" page(s), %d vCPU(s), %d round(s), %s MMU, guest PTE flags ",
		r->nr_vms, r->cfg->slots, r->cfg->pages, r->cfg->vcpus,
		r->cfg->repeat, r->cfg->tdp ? "TDP" : "shadow");
	pte_flags_text(f, r->cfg->pte_flags);
	fprintf(f, "\n");
	for (i = 0; i < r->nr_vms; i++)
		vm_text(f, r->vms[i]);
	fprintf(f, "\ntotal: %" PRIu64 " expected SPTE installs (%" PRIu64
		" data + %" PRIu64 " setup) in %.3f s: %.0f installs/s\n",
		t.data + t.setup, t.data, t.setup,
		seconds(t.end_ns - t.start_ns),
		rate(t.data + t.setup, t.end_ns - t.start_ns));
}

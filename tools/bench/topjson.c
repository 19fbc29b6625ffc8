// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * kvmmt-top -j prints every VM each refresh. Side by side on the same VM
 * rows: each VM's object built with json-c and printed, as every refresh
 * did, against the text kept from the last refresh when nothing it is
 * printed from changed (jsoncache), and the cost of keeping when every VM
 * changed. No /dev/kvm is needed: the rows are made here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench.h"
#include "json.h"
#include "jsoncache.h"

#define TJ_VMS		500
#define TJ_SLOTS	2

struct tj_vm {
	struct kvmmt_vm_row row;
	struct kvmmt_slot_row slots[TJ_SLOTS];
};

static json_object *build(const void *arg)
{
	const struct tj_vm *v = arg;
	json_object *o = json_object_new_object();

	kvmmt_json_vm_row(o, &v->row);
	return o;
}

/* One refresh: every VM's object in an array, printed; its CPU time in us. */
static double refresh(const struct tj_vm *vms, struct kvmmt_json_cache *cache)
{
	double t0 = thread_cpu_s();
	json_object *a = json_object_new_array();
	size_t len;

	for (int i = 0; i < TJ_VMS; i++)
		json_object_array_add(a, cache ?
			kvmmt_json_cached(cache, vms[i].row.pid, &vms[i], sizeof(vms[i]), build,
					  &vms[i]) :
			build(&vms[i]));
	/* what kvmmt-top puts on stdout */
	json_object_to_json_string_length(a, JSON_C_TO_STRING_PLAIN, &len);
	json_object_put(a);
	if (cache)
		kvmmt_json_cache_sweep(cache);
	return (thread_cpu_s() - t0) * 1e6;
}

int topjson_costs(const struct bench_cfg *c, struct topjson *r, char *why, size_t len)
{
	struct tj_vm *vms = calloc(TJ_VMS, sizeof(*vms));
	struct kvmmt_json_cache *cache = kvmmt_json_cache_new(JSON_C_TO_STRING_PLAIN);
	int rounds = c->runs * 5;

	memset(r, 0, sizeof(*r));
	r->vms = TJ_VMS;
	r->slots = TJ_SLOTS;
	if (!vms || !cache) {
		free(vms);
		kvmmt_json_cache_free(cache);
		snprintf(why, len, "out of memory for %d VMs", TJ_VMS);
		return -ENOMEM;
	}
	for (int i = 0; i < TJ_VMS; i++) {
		struct kvmmt_vm_row *w = &vms[i].row;

		w->pid = 10000 + i;
		snprintf(w->name, sizeof(w->name), "testvm%d", i);
		w->vcpus = 2;
		w->noncoherent_dma = 0;
		w->installs[KVMMT_MT_WB] = 4096 + i;
		w->installs_total = w->installs[KVMMT_MT_WB];
		w->nr_slots = TJ_SLOTS;
		w->slots = vms[i].slots;
		for (int s = 0; s < TJ_SLOTS; s++) {
			vms[i].slots[s].rec.id = s;
			vms[i].slots[s].rec.base_gfn = (__u64)s << 18;
			vms[i].slots[s].rec.npages = 128;
			vms[i].slots[s].installs[KVMMT_MT_WB] = 2048;
			vms[i].slots[s].installs_level[1] = 2048;
			w->mem_bytes += 128 * 4096;
		}
	}
	refresh(vms, cache);	/* the first refresh builds every object */
	for (int k = 0; k < rounds; k++) {
		samples_add(&r->built_us, refresh(vms, NULL));
		samples_add(&r->kept_us, refresh(vms, cache));
		for (int i = 0; i < TJ_VMS; i++)
			vms[i].row.installs[KVMMT_MT_WB]++;
		samples_add(&r->changed_us, refresh(vms, cache));
	}
	kvmmt_json_cache_free(cache);
	free(vms);
	return 0;
}

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Benchmark 2, user-space ingest: how many data-path events one core folds
 * through decoding and the risk model, from memory and replayed from a
 * capture file, and what the model's state costs per VM and per range.
 */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>
#include "bench.h"
#include "vmreg.h"
#include "memattr.h"

#define ING_VMS		16
#define ING_SLOTS	4
/* Every RANGE_BREAK-th page is installed UC, splitting merged ranges. */
#define RANGE_BREAK	512
/* VMs in the VM-table refresh measurement. */
#define VT_VMS		1000

struct stream {
	struct kvmmt_event *ev;
	size_t n;
};

struct sink {
	struct kvmmt_vmreg *reg;	/* what kvmmt-top, kvmmt-policyd and kvmmt-report use */
	size_t bad;
	struct kvmmt_err e;
};

/*
 * What the shadow MMU produces under the test VMM: each VM faulting its
 * pages in order across its slots, VMs interleaved in bursts, one zap for
 * every eight installs, and an uncached page now and then.
 */
static int stream_gen(struct stream *s, size_t n)
{
	__u64 next[ING_VMS] = { 0 };

	s->ev = calloc(n, sizeof(*s->ev));
	if (!s->ev)
		return -ENOMEM;
	s->n = n;
	for (size_t i = 0; i < n; i++) {
		struct kvmmt_event *ev = &s->ev[i];
		unsigned int vm = (i / 64) % ING_VMS;
		__u64 page = next[vm];
		bool uc = page % RANGE_BREAK == RANGE_BREAK - 1;

		ev->ts_ns = i * 250;
		ev->tgid = 1000 + vm;
		ev->tid = 2000 + vm;
		ev->cpu = vm & 1;
		ev->level = 1;
		ev->slot = 1 + page % (ING_SLOTS * 65536) / 65536;
		ev->gfn = (1ULL << 18) + page;
		ev->pfn = 0x100000 + vm * 0x100000 + page;
		if (i % 8 == 7 && page > 8) {
			ev->type = KVMMT_EV_ZAP;
			ev->gfn -= 8;
			ev->spte = (ev->pfn - 8) << 12 | 0x67;
			continue;
		}
		ev->type = KVMMT_EV_INSTALL;
		ev->spte = ev->pfn << 12 | 0x67 | (uc ? 0x18 : 0);
		ev->attr = kvmmt_spte_attr(KVMMT_FMT_SHADOW, ev->spte, 1);
		next[vm]++;
	}
	return 0;
}

static int sink_init(struct sink *k)
{
	/* no /proc: the stream's pids are not processes of this host */
	struct kvmmt_vmreg_opts o = { .fmt = KVMMT_FMT_SHADOW, .host_pat = KVMMT_LINUX_PAT };

	memset(k, 0, sizeof(*k));
	return kvmmt_vmreg_new(&k->reg, &o, NULL);
}

static void sink_free(struct sink *k)
{
	kvmmt_vmreg_free(k->reg);
}

static inline void sink_event(struct sink *k, const struct kvmmt_event *ev)
{
	if (!kvmmt_vmreg_event(k->reg, ev, &k->e))
		k->bad++;
}

/* The measured loop; callgrind counts instructions inside it only. */
__attribute__((noinline)) void kvmmt_bench_ingest_run(struct sink *k,
						      const struct stream *s)
{
	for (size_t i = 0; i < s->n; i++)
		sink_event(k, &s->ev[i]);
}

static int replay_event(void *ctx, const struct kvmmt_cap_event *ev)
{
	sink_event(ctx, &ev->ev);
	return 0;
}

static int capture_write(const struct stream *s, const char *path, char *why,
			 size_t len)
{
	struct kvmmt_cap_host h = { .fmt = KVMMT_FMT_SHADOW, .host_pat = KVMMT_LINUX_PAT };
	struct kvmmt_cap_end end = { .events = s->n, .stop_reason = KVMMT_CAP_STOP_DURATION };
	struct kvmmt_capw *w = NULL;
	struct kvmmt_err e = { 0 };
	int err;

	err = kvmmt_capw_open(&w, path, &h, &e);
	for (size_t i = 0; !err && i < s->n; i++) {
		struct kvmmt_cap_event ce = { .ev = s->ev[i] };
		struct kvmmt_memattr ma;

		if (s->ev[i].type == KVMMT_EV_INSTALL &&
		    !kvmmt_attr_decode(KVMMT_FMT_SHADOW, s->ev[i].attr, KVMMT_LINUX_PAT, &ma)) {
			ce.mt = ma.mt;
			ce.ipat = ma.ipat;
		}
		err = kvmmt_capw_event(w, &ce, &e);
	}
	if (!err)
		err = kvmmt_capw_close(w, &end, &e);
	kvmmt_capw_free(w);
	if (err)
		snprintf(why, len, "writing the replay capture failed: %s", e.msg);
	return err;
}

/* Heap bytes in use, from the allocator itself (mmapped blocks included). */
static double heap_used(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

static void memory_costs(double *per_vm, double *per_range, double *ranges)
{
	enum { NVM = 2000, NR = 20000 };
	struct kvmmt_policy_vm **vms = calloc(NVM, sizeof(*vms));
	struct kvmmt_policy_summary sum;
	struct kvmmt_policy_vm *vm;
	struct kvmmt_err e;
	double h0;

	*per_vm = *per_range = *ranges = -1;
	if (!vms)
		return;
	h0 = heap_used();
	for (int i = 0; i < NVM; i++)
		vms[i] = kvmmt_policy_vm_new();
	*per_vm = (heap_used() - h0) / NVM;
	for (int i = 0; i < NVM; i++)
		kvmmt_policy_vm_free(vms[i]);
	free(vms);

	vm = kvmmt_policy_vm_new();
	if (!vm)
		return;
	h0 = heap_used();
	/* Every other page: no two installs merge, each is its own range. */
	for (int i = 0; i < NR; i++) {
		struct kvmmt_install in = { .gfn = 2 * i, .pfn = 2 * i, .slot = 1,
					    .level = 1 };

		kvmmt_policy_install(vm, &in, &e);
	}
	kvmmt_policy_summary(vm, &sum);
	if (sum.nr_ranges) {
		*ranges = sum.nr_ranges;
		*per_range = (heap_used() - h0) / sum.nr_ranges;
	}
	kvmmt_policy_vm_free(vm);
}

/* A snapshot as the data path reads it: @nvms VMs of ING_SLOTS slots each. */
struct snap {
	struct kvmmt_vm_list vms;
	struct kvmmt_counters c;
};

static void snap_free(struct snap *sn)
{
	for (size_t i = 0; i < sn->vms.n; i++)
		free(sn->vms.v[i].slots);
	free(sn->vms.v);
	free(sn->c.inst);
	free(sn->c.vms);
}

static int snap_gen(struct snap *sn, size_t nvms, __u64 tick)
{
	memset(sn, 0, sizeof(*sn));
	sn->vms.v = calloc(nvms, sizeof(*sn->vms.v));
	sn->c.vms = calloc(nvms, sizeof(*sn->c.vms));
	sn->c.inst = calloc(nvms * ING_SLOTS * 2, sizeof(*sn->c.inst));
	if (!sn->vms.v || !sn->c.vms || !sn->c.inst)
		return -ENOMEM;
	for (size_t i = 0; i < nvms; i++) {
		struct kvmmt_vm_info *v = &sn->vms.v[i];

		v->vm.kind = KVMMT_REC_VM;
		v->vm.tgid = 100000 + i;
		v->vm.kvm_id = 0xffff888000000000ULL + (i << 16);
		v->vm.online_vcpus = 2;
		v->vm.nr_slots = ING_SLOTS;
		v->vm.valid = KVMMT_VF_NONCOHERENT;
		snprintf(v->vm.comm, sizeof(v->vm.comm), "testvm%zu", i);
		v->slots = calloc(ING_SLOTS, sizeof(*v->slots));
		if (!v->slots)
			return -ENOMEM;
		v->nr_slots = ING_SLOTS;
		for (int k = 0; k < ING_SLOTS; k++) {
			struct kvmmt_slot_rec *sr = &v->slots[k];

			sr->kind = KVMMT_REC_SLOT;
			sr->id = k;
			sr->kvm_id = v->vm.kvm_id;
			sr->base_gfn = (__u64)k << 18;
			sr->npages = 1 << 18;
			sr->userspace_addr = 0x7f0000000000ULL + ((__u64)k << 30);
			for (int a = 0; a < 2; a++) {
				struct kvmmt_install_count *ic = &sn->c.inst[sn->c.nr_inst++];

				ic->key.tgid = v->vm.tgid;
				ic->key.slot = k;
				ic->key.attr = a ? 0x3 : 0;
				ic->key.level = 1;
				ic->count = tick * (a ? 1 : 1000);
			}
		}
		sn->vms.n++;
		sn->c.vms[i].tgid = v->vm.tgid;
		sn->c.vms[i].c.c[KVMMT_C_INSTALLS] = tick * 1001 * ING_SLOTS;
		sn->c.nr_vms++;
	}
	return 0;
}

/*
 * The VM table folds one snapshot per refresh: time per refresh with
 * @nvms VMs (no /proc reads), and heap per VM row.
 */
static int vmtable_costs(const struct bench_cfg *c, size_t nvms, struct samples *us,
			 double *per_vm, char *why, size_t len)
{
	struct snap sn[2];
	struct kvmmt_vmtable *t;
	struct kvmmt_err e = { 0 };
	double h0;
	int err = 0;

	if (snap_gen(&sn[0], nvms, 1) || snap_gen(&sn[1], nvms, 2)) {
		snprintf(why, len, "out of memory for a %zu-VM snapshot", nvms);
		err = -ENOMEM;
		goto out;
	}
	h0 = heap_used();
	t = kvmmt_vmtable_new(KVMMT_FMT_SHADOW, KVMMT_LINUX_PAT);
	for (int r = 0; t && r < c->runs * 20; r++) {
		double t0 = thread_cpu_s();

		err = kvmmt_vmtable_update(t, &sn[r & 1].vms, &sn[r & 1].c, r, NULL, &e);
		if (err) {
			snprintf(why, len, "kvmmt_vmtable_update failed: %s", e.msg);
			break;
		}
		samples_add(us, (thread_cpu_s() - t0) * 1e6);
		if (!r)
			*per_vm = (heap_used() - h0) / nvms;
	}
	kvmmt_vmtable_free(t);
out:
	snap_free(&sn[0]);
	snap_free(&sn[1]);
	return err;
}

/*
 * Instructions per event inside function @fn, counted by callgrind on this
 * program re-run with @child (a hidden mode doing @n events): deterministic
 * where wall time on a shared machine is not.
 */
static int callgrind_ir(const struct bench_cfg *c, const char *fn,
			const char *child, const char *arg, double n, double *ir,
			char *why, size_t len)
{
	char self[512], toggle[128], outf[512], opt[600], *out = NULL;
	struct proc_result r;
	const char *m = tool_missing("valgrind");
	ssize_t sl;
	double v = -1;
	char *p;
	FILE *f;

	if (m) {
		snprintf(why, len, "%s", m);
		return -ENOENT;
	}
	sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sl <= 0)
		return -errno;
	self[sl] = 0;
	snprintf(toggle, sizeof(toggle), "--toggle-collect=%s", fn);
	snprintf(outf, sizeof(outf), "%s/callgrind.out", c->tmp);
	snprintf(opt, sizeof(opt), "--callgrind-out-file=%s", outf);
	char *argv[] = { "valgrind", "--tool=callgrind", opt, toggle, self,
			 (char *)child, (char *)arg, NULL };

	if (proc_run(argv, &out, &r) || !WIFEXITED(r.status) || WEXITSTATUS(r.status)) {
		snprintf(why, len, "valgrind --tool=callgrind failed");
		free(out);
		return -EIO;
	}
	free(out);
	f = fopen(outf, "r");
	while (f && !feof(f)) {
		char line[512];

		if (!fgets(line, sizeof(line), f))
			break;
		if ((p = strstr(line, "totals:")) || (p = strstr(line, "summary:")))
			v = strtod(p + strcspn(p, " ") + 1, NULL);
	}
	if (f)
		fclose(f);
	if (v <= 0) {
		snprintf(why, len, "no instruction total in %s", outf);
		return -EIO;
	}
	*ir = v / n;
	return 0;
}

/* Replay a capture into the model; callgrind counts inside it only. */
__attribute__((noinline)) int kvmmt_bench_replay_run(struct sink *k, const char *path)
{
	struct kvmmt_cap_ops ops = { .event = replay_event };
	struct kvmmt_cap_status st;
	struct kvmmt_err e = { 0 };

	return kvmmt_cap_read(path, &ops, k, &st, &e);
}

/* The hidden --replay-child mode. */
int bench_replay_child(const char *path)
{
	struct sink k;
	int err;

	if (sink_init(&k))
		return 1;
	err = kvmmt_bench_replay_run(&k, path);
	sink_free(&k);
	return err ? 1 : 0;
}

/* The hidden --ingest-child mode: one pass, nothing printed. */
int bench_ingest_child(size_t n)
{
	struct stream s;
	struct sink k;

	if (stream_gen(&s, n) || sink_init(&k))
		return 1;
	kvmmt_bench_ingest_run(&k, &s);
	sink_free(&k);
	free(s.ev);
	return 0;
}

int bench_ingest(const struct bench_cfg *c, json_object *out)
{
	static const char *const cols[] = {
		"path", "M items/s/core median [min..max]", "ns/item",
		"instructions/event", NULL,
	};
	size_t n = c->quick ? 500000 : 4000000;
	struct samples mem = { 0 }, cap = { 0 }, vt_us = { 0 };
	double ir = -1, ir_replay = -1, per_vm, per_range, ranges, vt_per_vm = -1;
	char why[1024] = "", cgwhy[1024] = "", capwhy[1024] = "", vtwhy[1024] = "";
	char cgrwhy[1024] = "", prwhy[256] = "";
	struct procread pr;
	struct topjson tj;
	char tjwhy[256] = "";
	int prerr, tjerr;
	char path[600];
	struct stream s = { 0 };
	struct table t;
	int row;

	table_init(&t, "Benchmark 2: user-space ingest (decode + risk model), one core",
		   cols);
	if (stream_gen(&s, n)) {
		if (!why[0])
			snprintf(why, sizeof(why), "out of memory for %zu events", n);
		row = table_row(&t);
		table_set(&t, row, 0, "generated stream");
		table_missing(&t, row, 1, why);
		json_object_object_add(out, "missing", json_object_new_string(why));
		goto print;
	}
	snprintf(path, sizeof(path), "%s/ingest.kvmmtcap", c->tmp);
	if (capture_write(&s, path, capwhy, sizeof(capwhy)))
		path[0] = 0;

	for (int r = 0; r < c->runs; r++) {
		struct sink k;
		double t0;

		if (sink_init(&k))
			break;
		t0 = thread_cpu_s();
		kvmmt_bench_ingest_run(&k, &s);
		samples_add(&mem, s.n / (thread_cpu_s() - t0));
		sink_free(&k);
		if (k.bad) {
			snprintf(why, sizeof(why), "%zu events rejected: %s", k.bad, k.e.msg);
			break;
		}
		if (!path[0] || sink_init(&k))
			continue;
		struct kvmmt_cap_ops ops = { .event = replay_event };
		struct kvmmt_cap_status st;
		struct kvmmt_err e = { 0 };

		t0 = thread_cpu_s();
		if (kvmmt_cap_read(path, &ops, &k, &st, &e))
			snprintf(capwhy, sizeof(capwhy), "replay failed: %s", e.msg);
		else
			samples_add(&cap, st.events / (thread_cpu_s() - t0));
		sink_free(&k);
	}
	size_t cgn = c->quick ? 50000 : 200000;
	char cgarg[32];

	snprintf(cgarg, sizeof(cgarg), "%zu", cgn);
	callgrind_ir(c, "kvmmt_bench_ingest_run", "--ingest-child", cgarg, cgn, &ir,
		     cgwhy, sizeof(cgwhy));
	if (path[0])
		callgrind_ir(c, "kvmmt_bench_replay_run", "--replay-child", path, s.n,
			     &ir_replay, cgrwhy, sizeof(cgrwhy));
	vmtable_costs(c, VT_VMS, &vt_us, &vt_per_vm, vtwhy, sizeof(vtwhy));
	prerr = procread_costs(c, &pr, prwhy, sizeof(prwhy));
	tjerr = topjson_costs(c, &tj, tjwhy, sizeof(tjwhy));
	memory_costs(&per_vm, &per_range, &ranges);

	row = table_row(&t);
	table_set(&t, row, 0, "generated stream (%zu events, %d VMs)", n, ING_VMS);
	if (why[0]) {
		table_missing(&t, row, 1, why);
	} else {
		table_set_samples(&t, row, 1, "%.2f", &mem, 1e-6);
		table_set(&t, row, 2, "%.0f", 1e9 / samples_median(&mem));
		if (ir > 0)
			table_set(&t, row, 3, "%.0f (callgrind)", ir);
		else
			table_missing(&t, row, 3, cgwhy);
		json_object_object_add(out, "events_per_s", samples_json(&mem));
	}
	if (ir > 0)
		json_object_object_add(out, "instructions_per_event", json_object_new_double(ir));
	else if (cgwhy[0])
		json_object_object_add(out, "instructions_missing", json_object_new_string(cgwhy));
	row = table_row(&t);
	table_set(&t, row, 0, "capture replay (kvmmt_cap_read, %s)",
		  kvmmt_cap_codec_name(KVMMT_CAP_CODEC_DEFAULT));
	if (cap.n) {
		table_set_samples(&t, row, 1, "%.2f", &cap, 1e-6);
		table_set(&t, row, 2, "%.0f", 1e9 / samples_median(&cap));
		json_object_object_add(out, "replay_events_per_s", samples_json(&cap));
		if (ir_replay > 0) {
			table_set(&t, row, 3, "%.0f (callgrind)", ir_replay);
			json_object_object_add(out, "replay_instructions_per_event",
					       json_object_new_double(ir_replay));
		} else if (cgrwhy[0]) {
			table_missing(&t, row, 3, cgrwhy);
		}
	} else {
		table_missing(&t, row, 1, capwhy[0] ? capwhy : why);
	}
	row = table_row(&t);
	table_set(&t, row, 0, "VM table refresh (%d VMs x %d slots)", VT_VMS, ING_SLOTS);
	if (vt_us.n) {
		table_set(&t, row, 1, "%.2f", VT_VMS / samples_median(&vt_us));
		table_set(&t, row, 2, "%.0f (per VM)", samples_median(&vt_us) * 1e3 / VT_VMS);
		json_object_object_add(out, "vmtable_refresh_us", samples_json(&vt_us));
		json_object_object_add(out, "vmtable_bytes_per_vm",
				       json_object_new_double(vt_per_vm));
		table_note(&t, "VM table: %.0f us per refresh of %d VMs [%.0f..%.0f] (column 2:"
			   " M VM rows folded per s); %.0f bytes per VM row",
			   samples_median(&vt_us), VT_VMS, samples_min(&vt_us),
			   samples_max(&vt_us), vt_per_vm);
	} else {
		table_missing(&t, row, 1, vtwhy);
	}
	for (int k = 0; k < 3; k++) {
		static const char *const what[] = {
			"built with json-c, every refresh", "kept: idle VMs",
			"kept: every VM changed",
		};
		static const char *const key[] = {
			"top_json_built_us", "top_json_kept_us", "top_json_changed_us",
		};
		const struct samples *us = k == 0 ? &tj.built_us :
					   k == 1 ? &tj.kept_us : &tj.changed_us;

		row = table_row(&t);
		table_set(&t, row, 0, "kvmmt-top -j VM objects (%d VMs x %d slots), %s",
			  tj.vms, tj.slots, what[k]);
		if (tjerr || !us->n) {
			table_missing(&t, row, 1, tjwhy);
			continue;
		}
		table_set(&t, row, 1, "%.3f", tj.vms / samples_median(us));
		table_set(&t, row, 2, "%.0f (per VM)", samples_median(us) * 1e3 / tj.vms);
		json_object_object_add(out, key[k], samples_json(us));
	}
	if (!tjerr && tj.built_us.n)
		table_note(&t, "kvmmt-top -j at %d VMs, CPU ms per refresh: %.2f [%.2f..%.2f] built,"
			   " %.2f [%.2f..%.2f] kept (%.0fx less; a 1 s refresh: %.2f%% of a core"
			   " against %.3f%%), %.2f when every VM changed (columns 1-2: VM objects)",
			   tj.vms, samples_median(&tj.built_us) / 1e3, samples_min(&tj.built_us) / 1e3,
			   samples_max(&tj.built_us) / 1e3, samples_median(&tj.kept_us) / 1e3,
			   samples_min(&tj.kept_us) / 1e3, samples_max(&tj.kept_us) / 1e3,
			   samples_median(&tj.built_us) / samples_median(&tj.kept_us),
			   samples_median(&tj.built_us) / 1e4, samples_median(&tj.kept_us) / 1e4,
			   samples_median(&tj.changed_us) / 1e3);
	if (!prerr && pr.smaps_us.n) {
		double sm = samples_median(&pr.smaps_us), ly = samples_median(&pr.layout_us);
		double st = samples_median(&pr.stat_us), po = samples_median(&pr.poll_us);

		table_note(&t, "the VM registry's /proc reads per VMM (%d processes, %d MiB touched"
			   " each, CPU us): device mappings: smaps %.1f [%.1f..%.1f], the maps"
			   " fingerprint that gates it %.1f (%.0fx less); liveness: /proc/PID/stat"
			   " %.2f, one poll() of every pidfd %.3f", pr.procs, pr.mib, sm,
			   samples_min(&pr.smaps_us), samples_max(&pr.smaps_us), ly, sm / ly,
			   st, po);
		json_object_object_add(out, "smaps_us", samples_json(&pr.smaps_us));
		json_object_object_add(out, "maps_fingerprint_us", samples_json(&pr.layout_us));
		json_object_object_add(out, "stat_us", samples_json(&pr.stat_us));
		json_object_object_add(out, "pidfd_poll_us", samples_json(&pr.poll_us));
	} else if (prerr) {
		table_note(&t, "the VM registry's /proc reads: not measured: %s", prwhy);
	}
	if (per_vm >= 0) {
		table_note(&t, "memory: %.0f bytes per tracked VM (risk model, empty),"
			   " %.1f bytes per distinct range (%.0f ranges)",
			   per_vm, per_range, ranges);
		json_object_object_add(out, "bytes_per_vm", json_object_new_double(per_vm));
		json_object_object_add(out, "bytes_per_range", json_object_new_double(per_range));
	}
	if (mem.n) {
		double med = samples_median(&mem);

		table_note(&t, "target >= 5M events/s/core: %s (%.2fM)",
			   med >= 5e6 ? "MET" : "MISSED", med / 1e6);
		json_object_object_add(out, "target_met", json_object_new_boolean(med >= 5e6));
	}
print:
	if (!c->json)
		table_print(&t, stdout);
	table_free(&t);
	free(s.ev);
	return 0;
}

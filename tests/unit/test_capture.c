// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/* The capture file format: round trip, truncation at every byte, corruption. */
#include <criterion/criterion.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "capture.h"

#define NR_EVENTS 20000

struct got {
	struct kvmmt_cap_event *ev;
	size_t n, cap;
	unsigned int snapshots, hosts, ends;
	__u64 drops;
	struct kvmmt_cap_end end;
	char release[80];
	__u64 pat;
	unsigned int snap_slots;
	__u64 snap_base_gfn;
	char comm[KVMMT_COMM_LEN + 1];
	unsigned int maps;
	struct kvmmt_cap_range last_range;
	__u32 map_tgid;
	/* every documented field, compared whole by round_trip_every_field */
	struct kvmmt_cap_host host;
	struct kvmmt_cap_kv kv[4];
	char kv_val[4][64];
	struct kvmmt_cap_snapshot snap[2];
	struct kvmmt_cap_vm snap_vm[2];
	struct kvmmt_slot_rec snap_slot[2][2];
	struct kvmmt_cap_hostmap map[2];
	struct kvmmt_cap_range map_r[2][4];
};

static int on_hostmap(void *ctx, const struct kvmmt_cap_hostmap *m)
{
	struct got *g = ctx;

	if (g->maps < 2 && m->n <= 4) {
		g->map[g->maps] = *m;
		memcpy(g->map_r[g->maps], m->r, m->n * sizeof(*m->r));
		g->map[g->maps].r = g->map_r[g->maps];
	}
	g->maps++;
	g->map_tgid = m->tgid;
	if (m->n)
		g->last_range = m->r[m->n - 1];
	return 0;
}

static int on_host(void *ctx, const struct kvmmt_cap_host *h)
{
	struct got *g = ctx;
	const char *rel = kvmmt_cap_host_get(h, "kernel.release");

	g->hosts++;
	g->pat = h->host_pat;
	snprintf(g->release, sizeof(g->release), "%s", rel ? rel : "");
	g->host = *h;
	g->host.kv = g->kv;
	for (unsigned int i = 0; i < h->nr_kv && i < 4; i++) {
		g->kv[i] = h->kv[i];
		snprintf(g->kv_val[i], sizeof(g->kv_val[i]), "%s", h->kv[i].val);
		g->kv[i].val = g->kv_val[i];
	}
	return 0;
}

static int on_snapshot(void *ctx, const struct kvmmt_cap_snapshot *s)
{
	struct got *g = ctx;

	if (g->snapshots < 2 && s->nr_vms == 1 && s->vms[0].nr_slots <= 2) {
		unsigned int k = g->snapshots;

		g->snap[k] = *s;
		g->snap_vm[k] = s->vms[0];
		memcpy(g->snap_slot[k], s->vms[0].slots,
		       s->vms[0].nr_slots * sizeof(*s->vms[0].slots));
	}
	g->snapshots++;
	if (s->nr_vms) {
		g->snap_slots = s->vms[0].nr_slots;
		g->snap_base_gfn = s->vms[0].nr_slots ? s->vms[0].slots[1].base_gfn : 0;
		memcpy(g->comm, s->vms[0].vm.comm, KVMMT_COMM_LEN);
	}
	return 0;
}

static int on_event(void *ctx, const struct kvmmt_cap_event *ev)
{
	struct got *g = ctx;

	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 1024;
		g->ev = realloc(g->ev, g->cap * sizeof(*g->ev));
	}
	g->ev[g->n++] = *ev;
	return 0;
}

static int on_drops(void *ctx, __u64 drops)
{
	((struct got *)ctx)->drops = drops;
	return 0;
}

static int on_end(void *ctx, const struct kvmmt_cap_end *end)
{
	struct got *g = ctx;

	g->ends++;
	g->end = *end;
	return 0;
}

static const struct kvmmt_cap_ops ops = {
	.host = on_host, .snapshot = on_snapshot, .event = on_event,
	.drops = on_drops, .end = on_end, .hostmap = on_hostmap,
};

/* Only the event types of format version 1 (install .. memslot). */
static bool v1_types;
/* Events of more VMs than one version 3 events chunk tracks. */
static bool many_vms;
/* The compression the writer is set to; -1 leaves its default. */
static int codec = -1;

static void make_event(unsigned int i, struct kvmmt_cap_event *ce)
{
	struct kvmmt_event *ev = &ce->ev;

	memset(ce, 0, sizeof(*ce));
	/* every type, the ones with an aux field and the escaped ones too */
	ev->type = 1 + (i % 7 == 3 ? 1 + i % (v1_types ? 3 : KVMMT_EV__MAX - 2) : 0);
	if (ev->type >= KVMMT_EV_SLOT)
		ev->aux = i * 2654435761u;
	/* Mostly increasing time with some reordering, like a multi-CPU ring buffer. */
	ev->ts_ns = 1000000000ull + i * 1500ull - (i % 5 == 0 ? 700 : 0);
	ev->gfn = 0x100 + i + (i % 97 == 0 ? 0x40000 : 0);
	ev->pfn = 0x123456ull + (i * 7919ull) % 100000;
	ev->spte = (ev->pfn << 12) | 0x67 | (i % 11 == 0 ? 1ull << 63 : 0);
	ev->tgid = many_vms && i % 10 == 7 ? 6000 + i % 400 : 4000 + i % 2;
	ev->tid = 5000 + i % 3;
	ev->cpu = i % 2;
	ev->slot = i % 13 == 0 ? KVMMT_SLOT_UNKNOWN : i % 4;
	ev->level = 1 + (i % 50 == 0);
	ev->attr = i % 8;
	ev->value = ev->type == KVMMT_EV_NONCOHERENT ? -(int)(i % 3) : (int)i;
	ce->mt = i % 6;
	ce->ipat = i % 9 == 0;
}

static struct kvmmt_slot_rec slots[2] = {
	{ .kind = KVMMT_REC_SLOT, .id = 0, .flags = 0, .base_gfn = 0, .npages = 256,
	  .userspace_addr = 0x7f0000000000ull },
	{ .kind = KVMMT_REC_SLOT, .id = 1, .as_id = 1, .flags = 2, .base_gfn = 0x100000,
	  .npages = 1ull << 20, .userspace_addr = 0x7f1000000000ull },
};

static struct kvmmt_cap_kv host_kv[2] = {
	{ .key = "kernel.release", .val = "6.18.0-test" },
	{ .key = "kvmmt.version", .val = "unit" },
};
static const struct kvmmt_cap_host host_in = {
	.fmt = KVMMT_FMT_SHADOW, .host_pat = 0x0407050600070106ull,
	.start_ns = 999, .start_realtime_ns = 1700000000000000000ull,
	.kv = host_kv, .nr_kv = 2,
};
static const struct kvmmt_cap_vm vm_in = {
	.vm = { .kind = KVMMT_REC_VM, .tgid = 4000, .kvm_id = 0xffff888812345678ull,
		.noncoherent_dma = -3, .online_vcpus = 2, .disabled_quirks = 0x15,
		.nr_slots = 2, .valid = KVMMT_VF_NONCOHERENT, .fd = 7,
		.comm = "qemu-system-x86" },
	.slots = slots, .nr_slots = 2,
};
static const struct kvmmt_cap_range pat_r[] = {
	{ 0xa0, 0x100, 5 }, { 0xfd000, 0xfe000, 3 }, { 0x80, 0x90, 4 },
};
static const struct kvmmt_cap_range vmm_r[] = { { 0x7f0000001, 0x7f0000011, 4 } };
static const struct kvmmt_cap_hostmap pat_in = {
	.kind = KVMMT_CAP_MAP_PAT, .r = pat_r, .n = 3,
};
static const struct kvmmt_cap_hostmap vmm_in = {
	.kind = KVMMT_CAP_MAP_VMM, .tgid = 4000, .r = vmm_r, .n = 1,
};

/* Writes a capture of @n events; returns its path (static buffer). */
static const char *write_capture(unsigned int n, bool close_it)
{
	static char path[128];
	struct kvmmt_cap_vm vm = vm_in;
	struct kvmmt_cap_snapshot snap = { .phase = KVMMT_CAP_START, .ts_ns = 1000,
					   .vms = &vm, .nr_vms = 1 };
	struct kvmmt_cap_end end = { .end_ns = 5000000000ull, .events = n, .drops = 42,
				     .stop_reason = KVMMT_CAP_STOP_SIGNAL };
	struct kvmmt_err e = {};
	struct kvmmt_capw *w;
	unsigned int i;

	snprintf(path, sizeof(path), "/tmp/kvmmt-test-capture-%d.kmc", getpid());
	cr_assert_eq(kvmmt_capw_open(&w, path, &host_in, &e), 0, "%s", e.msg);
	if (codec >= 0)
		cr_assert_eq(kvmmt_capw_set_codec(w, codec, codec == KVMMT_CAP_ZLIB ? 6 : 3, &e),
			     0, "%s", e.msg);
	cr_assert_eq(kvmmt_capw_snapshot(w, &snap, &e), 0, "%s", e.msg);
	cr_assert_eq(kvmmt_capw_hostmap(w, &pat_in, &e), 0, "%s", e.msg);
	cr_assert_eq(kvmmt_capw_hostmap(w, &vmm_in, &e), 0, "%s", e.msg);
	for (i = 0; i < n; i++) {
		struct kvmmt_cap_event ce;

		make_event(i, &ce);
		cr_assert_eq(kvmmt_capw_event(w, &ce, &e), 0, "%s", e.msg);
		if (i == n / 2)
			cr_assert_eq(kvmmt_capw_flush(w, 17, &e), 0, "%s", e.msg);
	}
	if (close_it) {
		snap.phase = KVMMT_CAP_FINISH;
		snap.ts_ns = 4000000000ull;
		cr_assert_eq(kvmmt_capw_snapshot(w, &snap, &e), 0, "%s", e.msg);
		cr_assert_eq(kvmmt_capw_close(w, &end, &e), 0, "%s", e.msg);
	} else {
		cr_assert_eq(kvmmt_capw_flush(w, 23, &e), 0, "%s", e.msg);
		strcat(path, KVMMT_CAP_PARTIAL_SUFFIX);
	}
	kvmmt_capw_free(w);
	return path;
}

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *p;
	struct stat sb;

	cr_assert_not_null(f, "open %s", path);
	cr_assert_eq(fstat(fileno(f), &sb), 0);
	p = malloc(sb.st_size + 1);
	cr_assert_eq(fread(p, 1, sb.st_size, f), (size_t)sb.st_size);
	fclose(f);
	*len = sb.st_size;
	return p;
}

static void check_events(const struct got *g, unsigned int n)
{
	cr_assert_eq(g->n, n);
	for (unsigned int i = 0; i < n; i++) {
		struct kvmmt_cap_event want;

		make_event(i, &want);
		cr_assert_eq(memcmp(&g->ev[i].ev, &want.ev, sizeof(want.ev)), 0,
			     "event %u differs (gfn %llx vs %llx)", i,
			     (unsigned long long)g->ev[i].ev.gfn,
			     (unsigned long long)want.ev.gfn);
		cr_assert_eq(g->ev[i].mt, want.mt, "event %u", i);
		cr_assert_eq(g->ev[i].ipat, want.ipat, "event %u", i);
	}
}

static void check_slots(const struct kvmmt_slot_rec *got, const struct kvmmt_slot_rec *want,
			unsigned int n, __u64 kvm_id)
{
	for (unsigned int j = 0; j < n; j++) {
		cr_assert_eq(got[j].kind, KVMMT_REC_SLOT);
		cr_assert_eq(got[j].kvm_id, kvm_id);
		cr_assert_eq(got[j].id, want[j].id);
		cr_assert_eq(got[j].as_id, want[j].as_id);
		cr_assert_eq(got[j].flags, want[j].flags);
		cr_assert_eq(got[j].base_gfn, want[j].base_gfn);
		cr_assert_eq(got[j].npages, want[j].npages);
		cr_assert_eq(got[j].userspace_addr, want[j].userspace_addr);
	}
}

/* Every field docs/capture-format.md documents comes back as written. */
static void round_trip(int with_codec)
{
	const char *path;
	struct kvmmt_cap_status st;
	struct kvmmt_err e = {};
	struct got g = {};
	char partial[160];

	codec = with_codec;
	many_vms = true;
	path = write_capture(NR_EVENTS, true);
	snprintf(partial, sizeof(partial), "%s%s", path, KVMMT_CAP_PARTIAL_SUFFIX);
	cr_assert_neq(access(partial, F_OK), 0, "the partial file must be renamed away");
	cr_assert_eq(kvmmt_cap_read(path, &ops, &g, &st, &e), 0, "%s", e.msg);
	cr_assert(st.complete);
	cr_assert_not(st.truncated);
	cr_assert_eq(st.version, KVMMT_CAP_VERSION);
	cr_assert_eq(st.events, NR_EVENTS);
	/* host */
	cr_assert_eq(g.hosts, 1);
	cr_assert_eq(g.host.fmt, host_in.fmt);
	cr_assert_eq(g.host.host_pat, host_in.host_pat);
	cr_assert_eq(g.host.start_ns, host_in.start_ns);
	cr_assert_eq(g.host.start_realtime_ns, host_in.start_realtime_ns);
	cr_assert_eq(g.host.nr_kv, host_in.nr_kv);
	for (unsigned int i = 0; i < host_in.nr_kv; i++) {
		cr_assert_str_eq(g.kv[i].key, host_in.kv[i].key);
		cr_assert_str_eq(g.kv[i].val, host_in.kv[i].val);
	}
	/* snapshots: start and finish, every VM and memslot field */
	cr_assert_eq(g.snapshots, 2);
	for (unsigned int k = 0; k < 2; k++) {
		const struct kvmmt_vm_rec *v = &g.snap_vm[k].vm;

		cr_assert_eq(g.snap[k].phase, k ? KVMMT_CAP_FINISH : KVMMT_CAP_START);
		cr_assert_eq(g.snap[k].ts_ns, k ? 4000000000ull : 1000);
		cr_assert_eq(g.snap[k].nr_vms, 1);
		cr_assert_eq(v->kind, KVMMT_REC_VM);
		cr_assert_eq(v->tgid, vm_in.vm.tgid);
		cr_assert_eq(v->kvm_id, vm_in.vm.kvm_id);
		cr_assert_eq(v->noncoherent_dma, vm_in.vm.noncoherent_dma);
		cr_assert_eq(v->online_vcpus, vm_in.vm.online_vcpus);
		cr_assert_eq(v->disabled_quirks, vm_in.vm.disabled_quirks);
		cr_assert_eq(v->valid, vm_in.vm.valid);
		cr_assert_eq(v->fd, vm_in.vm.fd);
		cr_assert_eq(v->nr_slots, 2);
		cr_assert_eq(memcmp(v->comm, vm_in.vm.comm, KVMMT_COMM_LEN), 0);
		cr_assert_eq(g.snap_vm[k].nr_slots, 2);
		check_slots(g.snap_slot[k], slots, 2, vm_in.vm.kvm_id);
	}
	/* host maps */
	cr_assert_eq(g.maps, 2);
	for (unsigned int k = 0; k < 2; k++) {
		const struct kvmmt_cap_hostmap *want = k ? &vmm_in : &pat_in;

		cr_assert_eq(g.map[k].kind, want->kind);
		cr_assert_eq(g.map[k].tgid, want->tgid);
		cr_assert_eq(g.map[k].n, want->n);
		for (size_t i = 0; i < want->n; i++) {
			cr_assert_eq(g.map_r[k][i].start, want->r[i].start);
			cr_assert_eq(g.map_r[k][i].end, want->r[i].end);
			cr_assert_eq(g.map_r[k][i].mt, want->r[i].mt);
		}
	}
	/* end record and drops */
	cr_assert_eq(g.ends, 1);
	cr_assert_eq(g.end.end_ns, 5000000000ull);
	cr_assert_eq(g.end.drops, 42);
	cr_assert_eq(g.end.events, NR_EVENTS);
	cr_assert_eq(g.end.stop_reason, KVMMT_CAP_STOP_SIGNAL);
	cr_assert_eq(g.drops, 42);
	cr_assert(st.chunks > 4, "events should span several chunks, got %llu",
		  (unsigned long long)st.chunks);
	/* events: every field of struct kvmmt_event, the memory type and IPAT */
	check_events(&g, NR_EVENTS);
	free(g.ev);
	unlink(path);
	many_vms = false;
	codec = -1;
}

Test(capture, round_trip_every_field)
{
	round_trip(-1);
}

Test(capture, round_trip_zlib)
{
	round_trip(KVMMT_CAP_ZLIB);
}

Test(capture, round_trip_zstd)
{
	round_trip(KVMMT_CAP_ZSTD);
}

Test(capture, rejects_bad_codec)
{
	struct kvmmt_err e = {};
	struct kvmmt_capw *w;
	char path[128];

	snprintf(path, sizeof(path), "/tmp/kvmmt-test-codec-%d.kmc", getpid());
	cr_assert_eq(kvmmt_capw_open(&w, path, &host_in, &e), 0, "%s", e.msg);
	cr_assert_eq(kvmmt_capw_set_codec(w, KVMMT_CAP_CODEC__MAX, 3, &e), -EINVAL);
	cr_assert_eq(kvmmt_capw_set_codec(w, KVMMT_CAP_ZLIB, 10, &e), -EINVAL);
	cr_assert(strstr(e.msg, "zlib level 10"), "%s", e.msg);
	cr_assert_eq(kvmmt_capw_set_codec(w, KVMMT_CAP_ZSTD, 0, &e), -EINVAL);
	kvmmt_capw_free(w);
	strcat(path, KVMMT_CAP_PARTIAL_SUFFIX);
	unlink(path);
}

Test(capture, compact_encoding)
{
	const char *path = write_capture(NR_EVENTS, true);
	struct stat sb;

	cr_assert_eq(stat(path, &sb), 0);
	/* 48-byte ring-buffer events; the file must stay well under 12 bytes each. */
	cr_assert_lt(sb.st_size, NR_EVENTS * 12, "%lld bytes for %d events",
		     (long long)sb.st_size, NR_EVENTS);
	unlink(path);
}

Test(capture, unfinished_capture_is_readable)
{
	const char *path = write_capture(3000, false);
	struct kvmmt_cap_status st;
	struct kvmmt_err e = {};
	struct got g = {};

	cr_assert_eq(kvmmt_cap_read(path, &ops, &g, &st, &e), 0, "%s", e.msg);
	cr_assert_not(st.complete);
	cr_assert_eq(g.n, 3000);
	cr_assert_eq(g.drops, 23);
	cr_assert_eq(g.ends, 0);
	free(g.ev);
	unlink(path);
}

/* Cut the file at every byte: never an error past the header, events only grow. */
Test(capture, truncated_at_every_byte)
{
	const char *path = write_capture(2000, true);
	struct kvmmt_cap_status st;
	size_t len, cut, last = 0;
	unsigned char *buf = slurp(path, &len);

	for (cut = 0; cut <= len; cut++) {
		struct kvmmt_err e = {};
		struct got g = {};
		int ret = kvmmt_cap_decode(buf, cut, &ops, &g, &st, &e);

		free(g.ev);
		if (ret) {
			cr_assert_eq(ret, -EBADMSG);
			cr_assert(strstr(e.msg, "byte offset"), "%s", e.msg);
			cr_assert(st.good_bytes <= 16 || !g.hosts, "cut %zu: %s", cut, e.msg);
			continue;
		}
		cr_assert_geq(g.n, last, "cut %zu lost events", cut);
		last = g.n;
		cr_assert_eq(st.complete, cut == len, "cut %zu", cut);
		cr_assert_leq(st.good_bytes, cut);
	}
	cr_assert_eq(last, 2000);
	free(buf);
	unlink(path);
}

static void expect_bad(const unsigned char *buf, size_t len, size_t off)
{
	struct kvmmt_err e = {};
	struct got g = {};
	char want[64];
	int ret = kvmmt_cap_decode(buf, len, &ops, &g, NULL, &e);

	free(g.ev);
	cr_assert_eq(ret, -EBADMSG, "ret %d: %s", ret, e.msg);
	snprintf(want, sizeof(want), "byte offset %zu:", off);
	cr_assert(strstr(e.msg, want), "want \"%s\" in \"%s\"", want, e.msg);
}

static char fixture_dir[4096];

static unsigned char *read_fixture(const char *name, size_t *len)
{
	const char *src = getenv("KVMMT_SRC");
	char path[4200], file[4096];

	if (src) {
		snprintf(fixture_dir, sizeof(fixture_dir), "%s/tests/unit/fixtures", src);
	} else {
		snprintf(file, sizeof(file), "%s", __FILE__);
		snprintf(fixture_dir, sizeof(fixture_dir), "%s/fixtures", dirname(file));
	}
	snprintf(path, sizeof(path), "%s/%s", fixture_dir, name);
	cr_assert_eq(access(path, R_OK), 0,
		     "fixture %s not found: run from the source tree or set KVMMT_SRC", path);
	return slurp(path, len);
}

/*
 * Files written by earlier versions read back whole: the fixtures are
 * write_capture(2000) as format versions 1 (install .. memslot only) and 2
 * (every type) wrote it, row by row in zlib chunks, and as version 3 wrote
 * it, column by column in zstd chunks.
 */
static void reads_old_version(const char *name, unsigned int version, bool types_v1)
{
	struct kvmmt_cap_status st;
	struct kvmmt_err e = {};
	struct got g = {};
	unsigned char *buf;
	size_t len;

	v1_types = types_v1;
	buf = read_fixture(name, &len);
	cr_assert_eq(kvmmt_cap_decode(buf, len, &ops, &g, &st, &e), 0, "%s", e.msg);
	cr_assert_eq(st.version, version);
	cr_assert(st.complete);
	cr_assert_eq(g.hosts, 1);
	cr_assert_str_eq(g.release, "6.18.0-test");
	cr_assert_eq(g.snapshots, 2);
	cr_assert_eq(g.maps, 2);
	cr_assert_eq(g.end.events, 2000);
	check_events(&g, 2000);
	free(g.ev);
	free(buf);
	v1_types = false;
}

Test(capture, reads_version_1)
{
	reads_old_version("capture-v1.kmc", 1, true);
}

Test(capture, reads_version_2)
{
	reads_old_version("capture-v2.kmc", 2, false);
}

/*
 * Version 3 as written before this reader, column by column in zstd chunks:
 * a change to the encoding that an older file would be misread by fails here.
 */
Test(capture, reads_version_3_as_written)
{
	reads_old_version("capture-v3.kmc", 3, false);
}

/* A version 1 file cannot hold the newer types. */
Test(capture, version_1_refuses_newer_types)
{
	struct kvmmt_err e = {};
	struct got g = {};
	unsigned char *buf;
	size_t len;

	buf = read_fixture("capture-v2.kmc", &len);
	buf[8] = 1;
	cr_assert_eq(kvmmt_cap_decode(buf, len, &ops, &g, NULL, &e), -EBADMSG);
	cr_assert(strstr(e.msg, "unknown event type"), "%s", e.msg);
	free(g.ev);
	free(buf);
}

/* A newer version than this reader knows is refused by its number. */
Test(capture, refuses_unknown_version)
{
	const char *path = write_capture(10, true);
	struct kvmmt_err e = {};
	unsigned char *buf;
	size_t len;

	buf = slurp(path, &len);
	buf[8] = KVMMT_CAP_VERSION + 1;
	cr_assert_eq(kvmmt_cap_decode(buf, len, &ops, NULL, NULL, &e), -EBADMSG);
	cr_assert(strstr(e.msg, "format version 4 is not supported"), "%s", e.msg);
	free(buf);
	unlink(path);
}

Test(capture, corruption_names_offset)
{
	const char *path = write_capture(500, true);
	size_t len;
	unsigned char *buf = slurp(path, &len);
	__u32 host_clen = buf[16 + 8] | buf[16 + 9] << 8;
	size_t chunk2 = 16 + 20 + host_clen;

	/* Bad magic and unknown version. */
	buf[0] ^= 0xff;
	expect_bad(buf, len, 0);
	buf[0] ^= 0xff;
	buf[8] = 9;
	expect_bad(buf, len, 8);
	buf[8] = KVMMT_CAP_VERSION;

	/* A flipped payload byte in the second chunk fails its CRC. */
	buf[chunk2 + 25] ^= 0x10;
	expect_bad(buf, len, chunk2);
	buf[chunk2 + 25] ^= 0x10;

	/* A huge length with a matching header CRC is rejected, not allocated. */
	{
		unsigned char save[20];
		__u32 crc;

		memcpy(save, buf + chunk2, 20);
		buf[chunk2 + 4] = 0xff;
		buf[chunk2 + 5] = 0xff;
		buf[chunk2 + 6] = 0xff;
		buf[chunk2 + 7] = 0x7f;
		crc = crc32(0, buf + chunk2, 16);
		memcpy(buf + chunk2 + 16, &crc, 4);
		expect_bad(buf, len, chunk2 + 4);
		memcpy(buf + chunk2, save, 20);
	}
	/* Garbage after the end record. */
	buf = realloc(buf, len + 4);
	memcpy(buf + len, "junk", 4);
	expect_bad(buf, len + 4, len);
	free(buf);
	unlink(path);
}

/* A well-formed chunk whose payload lies: decoded bounds must catch it. */
Test(capture, hostile_payload)
{
	unsigned char file[256] = KVMMT_CAP_MAGIC;
	/* host: fmt 3, pat 0, start 0, realtime 0, nr_kv = 1000, then nothing */
	unsigned char payload[] = { 3, 0, 0, 0, 0xe8, 0x07 };
	uLongf clen = sizeof(file) - 36;
	unsigned char *h = file + 16;
	__u32 v;

	file[8] = KVMMT_CAP_VERSION;
	file[10] = 16;
	cr_assert_eq(compress2(file + 36, &clen, payload, sizeof(payload), 6), Z_OK);
	h[0] = 'K';
	h[1] = 'C';
	h[2] = KVMMT_CAP_CH_HOST;
	v = sizeof(payload);
	memcpy(h + 4, &v, 4);
	v = clen;
	memcpy(h + 8, &v, 4);
	v = crc32(0, file + 36, clen);
	memcpy(h + 12, &v, 4);
	v = crc32(0, h, 16);
	memcpy(h + 16, &v, 4);
	expect_bad(file, 36 + clen, 16);
}

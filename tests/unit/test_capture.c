// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/* The capture file format: round trip, truncation at every byte, corruption. */
#include <criterion/criterion.h>
#include <errno.h>
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
};

static int on_hostmap(void *ctx, const struct kvmmt_cap_hostmap *m)
{
	struct got *g = ctx;

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
	return 0;
}

static int on_snapshot(void *ctx, const struct kvmmt_cap_snapshot *s)
{
	struct got *g = ctx;

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
	ev->tgid = 4000 + i % 2;
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

/* Writes a capture of @n events; returns its path (static buffer). */
static const char *write_capture(unsigned int n, bool close_it)
{
	static char path[128];
	struct kvmmt_cap_kv kv[2] = {
		{ .key = "kernel.release", .val = "6.18.0-test" },
		{ .key = "kvmmt.version", .val = "unit" },
	};
	struct kvmmt_cap_host host = {
		.fmt = KVMMT_FMT_SHADOW, .host_pat = 0x0407050600070106ull,
		.start_ns = 999, .start_realtime_ns = 1700000000000000000ull,
		.kv = kv, .nr_kv = 2,
	};
	struct kvmmt_cap_vm vm = {
		.vm = { .kind = KVMMT_REC_VM, .tgid = 4000, .kvm_id = 0xffff888812345678ull,
			.noncoherent_dma = 0, .online_vcpus = 2, .nr_slots = 2,
			.valid = KVMMT_VF_NONCOHERENT, .fd = 7, .comm = "qemu-system-x86" },
		.slots = slots, .nr_slots = 2,
	};
	struct kvmmt_cap_snapshot snap = { .phase = KVMMT_CAP_START, .ts_ns = 1000,
					   .vms = &vm, .nr_vms = 1 };
	struct kvmmt_cap_end end = { .end_ns = 5000000000ull, .events = n, .drops = 42,
				     .stop_reason = KVMMT_CAP_STOP_SIGNAL };
	static const struct kvmmt_cap_range pat_r[] = {
		{ 0xa0, 0x100, 5 }, { 0xfd000, 0xfe000, 3 }, { 0x80, 0x90, 4 },
	};
	static const struct kvmmt_cap_range vmm_r[] = { { 0x7f0000001, 0x7f0000011, 4 } };
	struct kvmmt_cap_hostmap pat = { .kind = KVMMT_CAP_MAP_PAT, .r = pat_r, .n = 3 };
	struct kvmmt_cap_hostmap vmm = { .kind = KVMMT_CAP_MAP_VMM, .tgid = 4000,
					 .r = vmm_r, .n = 1 };
	struct kvmmt_err e = {};
	struct kvmmt_capw *w;
	unsigned int i;

	snprintf(path, sizeof(path), "/tmp/kvmmt-test-capture-%d.kmc", getpid());
	cr_assert_eq(kvmmt_capw_open(&w, path, &host, &e), 0, "%s", e.msg);
	cr_assert_eq(kvmmt_capw_snapshot(w, &snap, &e), 0, "%s", e.msg);
	cr_assert_eq(kvmmt_capw_hostmap(w, &pat, &e), 0, "%s", e.msg);
	cr_assert_eq(kvmmt_capw_hostmap(w, &vmm, &e), 0, "%s", e.msg);
	for (i = 0; i < n; i++) {
		struct kvmmt_cap_event ce;

		make_event(i, &ce);
		cr_assert_eq(kvmmt_capw_event(w, &ce, &e), 0, "%s", e.msg);
		if (i == n / 2)
			cr_assert_eq(kvmmt_capw_flush(w, 17, &e), 0, "%s", e.msg);
	}
	if (close_it) {
		snap.phase = KVMMT_CAP_FINISH;
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

Test(capture, round_trip_every_field)
{
	const char *path = write_capture(NR_EVENTS, true);
	struct kvmmt_cap_status st;
	struct kvmmt_err e = {};
	struct got g = {};
	char partial[160];
	unsigned int i;

	snprintf(partial, sizeof(partial), "%s%s", path, KVMMT_CAP_PARTIAL_SUFFIX);
	cr_assert_neq(access(partial, F_OK), 0, "the partial file must be renamed away");
	cr_assert_eq(kvmmt_cap_read(path, &ops, &g, &st, &e), 0, "%s", e.msg);
	cr_assert(st.complete);
	cr_assert_not(st.truncated);
	cr_assert_eq(st.version, KVMMT_CAP_VERSION);
	cr_assert_eq(g.hosts, 1);
	cr_assert_str_eq(g.release, "6.18.0-test");
	cr_assert_eq(g.pat, 0x0407050600070106ull);
	cr_assert_eq(g.snapshots, 2);
	cr_assert_eq(g.snap_slots, 2);
	cr_assert_eq(g.snap_base_gfn, 0x100000);
	cr_assert_str_eq(g.comm, "qemu-system-x86");
	cr_assert_eq(g.maps, 2);
	cr_assert_eq(g.map_tgid, 4000);
	cr_assert_eq(g.last_range.start, 0x7f0000001ull);
	cr_assert_eq(g.last_range.end, 0x7f0000011ull);
	cr_assert_eq(g.last_range.mt, 4);
	cr_assert_eq(g.ends, 1);
	cr_assert_eq(g.end.drops, 42);
	cr_assert_eq(g.end.events, NR_EVENTS);
	cr_assert_eq(g.end.stop_reason, KVMMT_CAP_STOP_SIGNAL);
	cr_assert_eq(g.drops, 42);
	cr_assert_eq(g.n, NR_EVENTS);
	cr_assert(st.chunks > 4, "events should span several chunks, got %llu",
		  (unsigned long long)st.chunks);
	for (i = 0; i < NR_EVENTS; i++) {
		struct kvmmt_cap_event want;

		make_event(i, &want);
		cr_assert_eq(memcmp(&g.ev[i].ev, &want.ev, sizeof(want.ev)), 0,
			     "event %u differs (gfn %llx vs %llx)", i,
			     (unsigned long long)g.ev[i].ev.gfn,
			     (unsigned long long)want.ev.gfn);
		cr_assert_eq(g.ev[i].mt, want.mt);
		cr_assert_eq(g.ev[i].ipat, want.ipat);
	}
	free(g.ev);
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

/*
 * Version 1 wrote install, zap, noncoherent and memslot events exactly as
 * version 2 does: such a file with its version byte set to 1 is a version 1
 * file, and must read back whole; a version 1 file cannot hold the newer
 * types.
 */
Test(capture, reads_version_1)
{
	const char *path;
	struct kvmmt_cap_status st;
	struct kvmmt_err e = {};
	struct got g = {};
	unsigned char *buf;
	size_t len;

	v1_types = true;
	path = write_capture(2000, true);
	buf = slurp(path, &len);
	buf[8] = 1;
	cr_assert_eq(kvmmt_cap_decode(buf, len, &ops, &g, &st, &e), 0, "%s", e.msg);
	cr_assert_eq(st.version, 1);
	cr_assert(st.complete);
	cr_assert_eq(g.n, 2000);
	for (unsigned int i = 0; i < g.n; i++) {
		struct kvmmt_cap_event want;

		make_event(i, &want);
		cr_assert_eq(memcmp(&g.ev[i].ev, &want.ev, sizeof(want.ev)), 0,
			     "event %u differs", i);
	}
	free(g.ev);
	free(buf);
	unlink(path);

	v1_types = false;
	path = write_capture(2000, true);
	buf = slurp(path, &len);
	buf[8] = 1;
	memset(&g, 0, sizeof(g));
	cr_assert_eq(kvmmt_cap_decode(buf, len, &ops, &g, &st, &e), -EBADMSG);
	cr_assert(strstr(e.msg, "unknown event type"), "%s", e.msg);
	free(g.ev);
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

// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * Capture file writer and reader. The layout is specified in
 * docs/capture-format.md; this file and that document change together.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>
#include "capture.h"

#define FILE_HDR_LEN	16
#define CHUNK_HDR_LEN	20
#define EVENTS_FLUSH	(1u << 20)	/* raw event bytes per chunk */
#define EVENT_MAX_LEN	80		/* worst-case encoded event */
#define VM_STATES	255		/* VMs one events chunk tracks (version 3) */

/*
 * Event header byte: type in bits 0-2 (version 2: 7 means a uv type
 * follows), then "field follows" flags.
 */
#define EH_TYPE		0x07
#define EH_TYPE_ESC	0x07
#define EH_TGID		0x08
#define EH_TID		0x10
#define EH_CPU		0x20
#define EH_SLOT		0x40
#define EH_ATTR		0x80

/* Version 3 header byte: the same type bits, flags against the VM's previous event. */
#define EH3_TID		0x08
#define EH3_CPU		0x10
#define EH3_SLOT	0x20
#define EH3_ATTR	0x40
#define EH3_VALUE	0x80

/*
 * Version 3 events chunks are column-oriented: each field goes to its own
 * stream, so the compressor sees alike bytes together (docs/capture-format.md).
 */
enum stream {
	S_HDR,		/* u8 header */
	S_VM,		/* u8 VM index in this chunk */
	S_TS0,		/* u8 bits 0-7 of the time delta */
	S_TS1,		/* u8 bits 8-15 */
	S_TSHI,		/* sv the delta >> 16 */
	S_GFN,		/* sv gfn delta */
	S_PFN,		/* sv pfn delta less the gfn delta */
	S_SPTE,		/* uv SPTE bits beyond the pfn, xor the previous */
	S_MISC,		/* everything rare: type, tgid, tid, cpu, slot, attr, value, aux */
	S__MAX,
};

static const char *const codec_names[KVMMT_CAP_CODEC__MAX] = {
	[KVMMT_CAP_ZLIB] = "zlib",
	[KVMMT_CAP_ZSTD] = "zstd",
};

const char *kvmmt_cap_codec_name(enum kvmmt_cap_codec c)
{
	return c < KVMMT_CAP_CODEC__MAX ? codec_names[c] : "unknown";
}

static const char *const stop_names[KVMMT_CAP_STOP__MAX] = {
	[KVMMT_CAP_STOP_DURATION] = "duration",
	[KVMMT_CAP_STOP_SIGNAL] = "signal",
	[KVMMT_CAP_STOP_SIZE] = "size",
	[KVMMT_CAP_STOP_ERROR] = "error",
};

const char *kvmmt_cap_stop_name(__u32 reason)
{
	if (reason < KVMMT_CAP_STOP__MAX && stop_names[reason])
		return stop_names[reason];
	return "unknown";
}

/* ---- byte buffers ---- */

struct buf {
	unsigned char *p;
	size_t len, cap;
	int err;		/* sticky -ENOMEM */
};

static int buf_reserve(struct buf *b, size_t n)
{
	size_t cap;
	unsigned char *p;

	if (b->err)
		return b->err;
	if (b->len + n <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 4096;
	while (cap < b->len + n)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p)
		return b->err = -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

static void put_bytes(struct buf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n))
		return;
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void put_u8(struct buf *b, __u8 v)
{
	put_bytes(b, &v, 1);
}

static void put_uv(struct buf *b, __u64 v)
{
	unsigned char tmp[10];
	size_t n = 0;

	do {
		tmp[n] = v & 0x7f;
		v >>= 7;
		if (v)
			tmp[n] |= 0x80;
		n++;
	} while (v);
	put_bytes(b, tmp, n);
}

static __u64 zz(__s64 v)
{
	return ((__u64)v << 1) ^ (__u64)(v >> 63);
}

static __s64 unzz(__u64 v)
{
	return (__s64)(v >> 1) ^ -(__s64)(v & 1);
}

static void put_sv(struct buf *b, __s64 v)
{
	put_uv(b, zz(v));
}

static void put_str(struct buf *b, const char *s, size_t max)
{
	size_t n = strnlen(s, max);

	put_uv(b, n);
	put_bytes(b, s, n);
}

static void put_le32(unsigned char *p, __u32 v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static __u32 get_le32(const unsigned char *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (__u32)p[3] << 24;
}

/* ---- writer ---- */

struct vm_state {
	__u64 ts, gfn, pfn, resid;
	__u32 tgid, tid;
	__s32 value;
	__u16 cpu, slot;
	__u8 level, attr, mtb;
};

/* ---- codecs ---- */

static size_t codec_bound(enum kvmmt_cap_codec c, size_t n)
{
	return c == KVMMT_CAP_ZSTD ? ZSTD_compressBound(n) : compressBound(n);
}

static size_t codec_max_bound(void)
{
	size_t a = compressBound(KVMMT_CAP_MAX_CHUNK);
	size_t b = ZSTD_compressBound(KVMMT_CAP_MAX_CHUNK);

	return a > b ? a : b;
}

/* Compresses @n bytes into @dst of *@dlen bytes; 0 or -EIO. */
static int codec_compress(enum kvmmt_cap_codec c, int level, void *dst, size_t *dlen,
			  const void *src, size_t n)
{
	if (c == KVMMT_CAP_ZSTD) {
		size_t r = ZSTD_compress(dst, *dlen, src, n, level);

		if (ZSTD_isError(r))
			return -EIO;
		*dlen = r;
		return 0;
	}
	uLongf clen = *dlen;

	if (compress2(dst, &clen, src, n, level) != Z_OK)
		return -EIO;
	*dlen = clen;
	return 0;
}

/* True when @src decompresses to exactly @n bytes. */
static bool codec_decompress(enum kvmmt_cap_codec c, void *dst, size_t n,
			     const void *src, size_t slen)
{
	if (c == KVMMT_CAP_ZSTD) {
		size_t r = ZSTD_decompress(dst, n, src, slen);

		return !ZSTD_isError(r) && r == n;
	}
	uLongf got = n;

	return uncompress(dst, &got, src, slen) == Z_OK && got == n;
}

struct kvmmt_capw {
	int fd;
	char *path;
	char *partial;
	struct buf col[S__MAX];	/* encoded events of the open chunk, by field */
	size_t ev_len;		/* their total length */
	struct buf out;		/* scratch: one compressed chunk */
	enum kvmmt_cap_codec codec;
	int level;
	__u64 nr_in_chunk;
	__u64 drops;
	struct kvmmt_capw_stats st;
	/* delta state of the open events chunk: the previous event of each VM */
	struct vm_state vm[VM_STATES];
	unsigned int nr_vm, last_vm;
	__u64 last_ts;
};

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t r = write(fd, c, n);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c += r;
		n -= r;
	}
	return 0;
}

static int write_chunk(struct kvmmt_capw *w, int type, const struct buf *raw,
		       struct kvmmt_err *e)
{
	size_t clen;
	unsigned char *h;
	int err;

	if (raw->err)
		return kvmmt_errf(e, raw->err, "out of memory encoding a capture chunk");
	if (raw->len > KVMMT_CAP_MAX_CHUNK)
		return kvmmt_errf(e, -E2BIG, "capture chunk of %zu bytes exceeds the %u byte limit",
				  raw->len, KVMMT_CAP_MAX_CHUNK);
	clen = codec_bound(w->codec, raw->len);
	w->out.len = 0;
	if (buf_reserve(&w->out, CHUNK_HDR_LEN + clen))
		return kvmmt_errf(e, -ENOMEM, "out of memory compressing a capture chunk");
	if (codec_compress(w->codec, w->level, w->out.p + CHUNK_HDR_LEN, &clen,
			   raw->p ? raw->p : (const unsigned char *)"", raw->len))
		return kvmmt_errf(e, -EIO, "%s failed to compress a capture chunk",
				  kvmmt_cap_codec_name(w->codec));
	h = w->out.p;
	h[0] = 'K';
	h[1] = 'C';
	h[2] = type;
	h[3] = w->codec;
	put_le32(h + 4, raw->len);
	put_le32(h + 8, clen);
	put_le32(h + 12, crc32(0, w->out.p + CHUNK_HDR_LEN, clen));
	put_le32(h + 16, crc32(0, h, 16));
	err = write_all(w->fd, h, CHUNK_HDR_LEN + clen);
	if (err)
		return kvmmt_errf(e, err, "cannot write %s: %s", w->partial, strerror(-err));
	w->st.bytes += CHUNK_HDR_LEN + clen;
	w->st.chunks++;
	return 0;
}

static void encode_host(struct buf *b, const struct kvmmt_cap_host *h)
{
	unsigned int i;

	put_uv(b, h->fmt);
	put_uv(b, h->host_pat);
	put_uv(b, h->start_ns);
	put_uv(b, h->start_realtime_ns);
	put_uv(b, h->nr_kv);
	for (i = 0; i < h->nr_kv; i++) {
		put_str(b, h->kv[i].key, KVMMT_CAP_MAX_KEY);
		put_str(b, h->kv[i].val ? h->kv[i].val : "", KVMMT_CAP_MAX_VAL);
	}
}

int kvmmt_capw_open(struct kvmmt_capw **out, const char *path,
		    const struct kvmmt_cap_host *host, struct kvmmt_err *e)
{
	unsigned char fh[FILE_HDR_LEN] = KVMMT_CAP_MAGIC;
	struct kvmmt_capw *w;
	struct buf raw = {};
	int err;

	if (host->nr_kv > KVMMT_CAP_MAX_KV)
		return kvmmt_errf(e, -E2BIG, "too many host facts (%u, at most %u)",
				  host->nr_kv, KVMMT_CAP_MAX_KV);
	w = calloc(1, sizeof(*w));
	if (!w)
		return kvmmt_errf(e, -ENOMEM, "out of memory");
	w->fd = -1;
	w->codec = KVMMT_CAP_CODEC_DEFAULT;
	w->level = KVMMT_CAP_LEVEL_DEFAULT;
	w->path = strdup(path);
	if (w->path && asprintf(&w->partial, "%s%s", path, KVMMT_CAP_PARTIAL_SUFFIX) < 0)
		w->partial = NULL;
	if (!w->path || !w->partial) {
		err = kvmmt_errf(e, -ENOMEM, "out of memory");
		goto fail;
	}
	w->fd = open(w->partial, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (w->fd < 0) {
		err = kvmmt_errf(e, -errno, "cannot create %s: %s", w->partial,
				 strerror(errno));
		goto fail;
	}
	fh[8] = KVMMT_CAP_VERSION & 0xff;
	fh[9] = KVMMT_CAP_VERSION >> 8;
	fh[10] = FILE_HDR_LEN;
	err = write_all(w->fd, fh, sizeof(fh));
	if (err) {
		kvmmt_errf(e, err, "cannot write %s: %s", w->partial, strerror(-err));
		goto fail_unlink;
	}
	w->st.bytes = sizeof(fh);
	encode_host(&raw, host);
	err = write_chunk(w, KVMMT_CAP_CH_HOST, &raw, e);
	free(raw.p);
	if (err)
		goto fail_unlink;
	*out = w;
	return 0;

fail_unlink:
	unlink(w->partial);
fail:
	kvmmt_capw_free(w);
	return err;
}

int kvmmt_capw_snapshot(struct kvmmt_capw *w, const struct kvmmt_cap_snapshot *s,
			struct kvmmt_err *e)
{
	struct buf b = {};
	unsigned int i, j;
	int err;

	if (s->nr_vms > KVMMT_CAP_MAX_VMS)
		return kvmmt_errf(e, -E2BIG, "snapshot has %u VMs, at most %u are recorded",
				  s->nr_vms, KVMMT_CAP_MAX_VMS);
	put_uv(&b, s->phase);
	put_uv(&b, s->ts_ns);
	put_uv(&b, s->nr_vms);
	for (i = 0; i < s->nr_vms; i++) {
		const struct kvmmt_cap_vm *v = &s->vms[i];
		unsigned int n = v->nr_slots;

		if (n > KVMMT_CAP_MAX_SLOTS)
			n = KVMMT_CAP_MAX_SLOTS;
		put_uv(&b, v->vm.tgid);
		put_uv(&b, v->vm.kvm_id);
		put_sv(&b, v->vm.noncoherent_dma);
		put_sv(&b, v->vm.online_vcpus);
		put_uv(&b, v->vm.disabled_quirks);
		/* the mm sequence is the live reader's, not recorded */
		put_uv(&b, v->vm.valid & ~KVMMT_VF_MM_SEQ);
		put_sv(&b, v->vm.fd);
		put_str(&b, v->vm.comm, KVMMT_COMM_LEN);
		put_uv(&b, n);
		for (j = 0; j < n; j++) {
			const struct kvmmt_slot_rec *sl = &v->slots[j];

			put_uv(&b, sl->id);
			put_uv(&b, sl->as_id);
			put_uv(&b, sl->flags);
			put_uv(&b, sl->base_gfn);
			put_uv(&b, sl->npages);
			put_uv(&b, sl->userspace_addr);
		}
	}
	err = write_chunk(w, KVMMT_CAP_CH_SNAPSHOT, &b, e);
	free(b.p);
	return err;
}

int kvmmt_capw_hostmap(struct kvmmt_capw *w, const struct kvmmt_cap_hostmap *m,
		       struct kvmmt_err *e)
{
	struct buf b = {};
	__u64 prev = 0;
	size_t i;
	int err;

	if (m->n > KVMMT_CAP_MAX_RANGES)
		return kvmmt_errf(e, -E2BIG, "host map of %zu ranges, at most %u are recorded",
				  m->n, KVMMT_CAP_MAX_RANGES);
	put_uv(&b, m->kind);
	put_uv(&b, m->tgid);
	put_uv(&b, m->n);
	for (i = 0; i < m->n; i++) {
		put_sv(&b, (__s64)(m->r[i].start - prev));
		put_uv(&b, m->r[i].end - m->r[i].start);
		put_u8(&b, m->r[i].mt);
		prev = m->r[i].end;
	}
	err = write_chunk(w, KVMMT_CAP_CH_HOSTMAP, &b, e);
	free(b.p);
	return err;
}

static void events_reset(struct kvmmt_capw *w)
{
	for (int i = 0; i < S__MAX; i++)
		w->col[i].len = 0;
	w->ev_len = 0;
	w->nr_in_chunk = 0;
	w->nr_vm = 0;
	w->last_vm = 0;
	w->last_ts = 0;
}

/* The VM's slot in the open chunk, a new one for a new VM, or -1 when full. */
static int vm_index(struct kvmmt_capw *w, __u32 tgid)
{
	unsigned int i;

	if (w->last_vm < w->nr_vm && w->vm[w->last_vm].tgid == tgid)
		return w->last_vm;
	for (i = 0; i < w->nr_vm; i++)
		if (w->vm[i].tgid == tgid)
			return w->last_vm = i;
	if (w->nr_vm == VM_STATES)
		return -1;
	/* A VM's first event in a chunk is a delta from the previous event's time. */
	w->vm[i] = (struct vm_state){ .tgid = tgid, .ts = w->last_ts };
	put_uv(&w->col[S_MISC], tgid);
	w->nr_vm++;
	return w->last_vm = i;
}

static void encode_event(struct kvmmt_capw *w, unsigned int vi,
			 const struct kvmmt_cap_event *ce)
{
	const struct kvmmt_event *ev = &ce->ev;
	struct vm_state *p = &w->vm[vi];
	struct buf *misc = &w->col[S_MISC];
	__u8 mtb = (ce->mt & 0x7f) | (ce->ipat ? 0x80 : 0);
	__u64 resid = ev->spte ^ (ev->pfn << 12);
	__u64 dt = ev->ts_ns - p->ts, dgfn = ev->gfn - p->gfn;
	__u8 h = ev->type < EH_TYPE_ESC ? ev->type : EH_TYPE_ESC;

	if (ev->tid != p->tid)
		h |= EH3_TID;
	if (ev->cpu != p->cpu)
		h |= EH3_CPU;
	if (ev->slot != p->slot)
		h |= EH3_SLOT;
	if (ev->level != p->level || ev->attr != p->attr || mtb != p->mtb)
		h |= EH3_ATTR;
	if (ev->value != p->value)
		h |= EH3_VALUE;
	put_u8(&w->col[S_HDR], h);
	put_u8(&w->col[S_VM], vi);
	/* Low 16 bits as bytes (noise, left to the entropy coder), the rest signed. */
	put_u8(&w->col[S_TS0], dt);
	put_u8(&w->col[S_TS1], dt >> 8);
	put_sv(&w->col[S_TSHI], (__s64)dt >> 16);
	put_sv(&w->col[S_GFN], (__s64)dgfn);
	/* Guest-contiguous pages are often host-contiguous: predict that. */
	put_sv(&w->col[S_PFN], (__s64)(ev->pfn - p->pfn - dgfn));
	put_uv(&w->col[S_SPTE], resid ^ p->resid);
	if ((h & EH_TYPE) == EH_TYPE_ESC)
		put_uv(misc, ev->type);
	if (h & EH3_TID)
		put_uv(misc, ev->tid);
	if (h & EH3_CPU)
		put_uv(misc, ev->cpu);
	if (h & EH3_SLOT)
		put_uv(misc, ev->slot);
	if (h & EH3_ATTR) {
		put_u8(misc, ev->level);
		put_u8(misc, ev->attr);
		put_u8(misc, mtb);
	}
	if (h & EH3_VALUE)
		put_sv(misc, ev->value);
	if (ev->type >= KVMMT_EV_SLOT)
		put_uv(misc, ev->aux);
	*p = (struct vm_state){
		.ts = ev->ts_ns, .gfn = ev->gfn, .pfn = ev->pfn, .resid = resid,
		.tgid = ev->tgid, .tid = ev->tid, .value = ev->value, .cpu = ev->cpu,
		.slot = ev->slot, .level = ev->level, .attr = ev->attr, .mtb = mtb,
	};
	w->last_ts = ev->ts_ns;
}

int kvmmt_capw_event(struct kvmmt_capw *w, const struct kvmmt_cap_event *ev,
		     struct kvmmt_err *e)
{
	int vi, err;

	if (ev->ev.type < KVMMT_EV_INSTALL || ev->ev.type >= KVMMT_EV__MAX)
		return kvmmt_errf(e, -EINVAL, "event type %u is not a kvmmt event",
				  ev->ev.type);
	vi = vm_index(w, ev->ev.tgid);
	if (vi < 0) {
		/* More VMs than a chunk tracks: start the next chunk. */
		err = kvmmt_capw_flush(w, w->drops, e);
		if (err)
			return err;
		vi = vm_index(w, ev->ev.tgid);
	}
	encode_event(w, vi, ev);
	w->ev_len = 0;
	for (int i = 0; i < S__MAX; i++) {
		if (w->col[i].err)
			return kvmmt_errf(e, w->col[i].err, "out of memory buffering events");
		w->ev_len += w->col[i].len;
	}
	w->nr_in_chunk++;
	w->st.events++;
	if (w->ev_len + EVENT_MAX_LEN >= EVENTS_FLUSH)
		return kvmmt_capw_flush(w, w->drops, e);
	return 0;
}

int kvmmt_capw_set_codec(struct kvmmt_capw *w, enum kvmmt_cap_codec codec, int level,
			 struct kvmmt_err *e)
{
	if (codec >= KVMMT_CAP_CODEC__MAX)
		return kvmmt_errf(e, -EINVAL, "unknown compression %d", codec);
	if (codec == KVMMT_CAP_ZLIB && (level < 1 || level > 9))
		return kvmmt_errf(e, -EINVAL, "zlib level %d is not 1 to 9", level);
	if (codec == KVMMT_CAP_ZSTD && (level < 1 || level > ZSTD_maxCLevel()))
		return kvmmt_errf(e, -EINVAL, "zstd level %d is not 1 to %d", level,
				  ZSTD_maxCLevel());
	w->codec = codec;
	w->level = level;
	return 0;
}

int kvmmt_capw_flush(struct kvmmt_capw *w, __u64 drops, struct kvmmt_err *e)
{
	struct buf b = {};
	int err;

	w->drops = drops;
	if (!w->nr_in_chunk)
		return 0;
	put_uv(&b, drops);
	put_uv(&b, w->nr_in_chunk);
	put_uv(&b, S__MAX);
	for (int i = 0; i < S__MAX; i++)
		put_uv(&b, w->col[i].len);
	for (int i = 0; i < S__MAX; i++)
		put_bytes(&b, w->col[i].p, w->col[i].len);
	err = write_chunk(w, KVMMT_CAP_CH_EVENTS, &b, e);
	free(b.p);
	events_reset(w);
	return err;
}

int kvmmt_capw_close(struct kvmmt_capw *w, const struct kvmmt_cap_end *end,
		     struct kvmmt_err *e)
{
	struct buf b = {};
	int err;

	err = kvmmt_capw_flush(w, end->drops, e);
	if (err)
		return err;
	put_uv(&b, end->end_ns);
	put_uv(&b, end->events);
	put_uv(&b, end->drops);
	put_uv(&b, end->stop_reason);
	err = write_chunk(w, KVMMT_CAP_CH_END, &b, e);
	free(b.p);
	if (err)
		return err;
	if (fsync(w->fd))
		return kvmmt_errf(e, -errno, "cannot sync %s: %s", w->partial,
				  strerror(errno));
	if (rename(w->partial, w->path))
		return kvmmt_errf(e, -errno, "cannot rename %s to %s: %s", w->partial,
				  w->path, strerror(errno));
	return 0;
}

void kvmmt_capw_free(struct kvmmt_capw *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	for (int i = 0; i < S__MAX; i++)
		free(w->col[i].p);
	free(w->out.p);
	free(w->path);
	free(w->partial);
	free(w);
}

void kvmmt_capw_stats(const struct kvmmt_capw *w, struct kvmmt_capw_stats *st)
{
	*st = w->st;
	st->pending = w->ev_len;
}

const char *kvmmt_capw_partial_path(const struct kvmmt_capw *w)
{
	return w->partial;
}

/* ---- reader ---- */

struct rd {
	const unsigned char *p;
	size_t len, pos;
	const char *bad;	/* first decode problem, static string */
};

static __u64 get_uv(struct rd *r)
{
	__u64 v = 0;
	unsigned int shift = 0;

	while (!r->bad) {
		unsigned char c;

		if (r->pos >= r->len) {
			r->bad = "record runs past the end of its chunk";
			break;
		}
		c = r->p[r->pos++];
		if (shift == 63 && c > 1) {
			r->bad = "varint overflows 64 bits";
			break;
		}
		v |= (__u64)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return v;
		shift += 7;
		if (shift > 63) {
			r->bad = "varint longer than 10 bytes";
			break;
		}
	}
	return 0;
}

static __u64 get_uv_max(struct rd *r, __u64 max, const char *what)
{
	__u64 v = get_uv(r);

	if (!r->bad && v > max) {
		r->bad = what;
		return 0;
	}
	return v;
}

static __u8 get_u8(struct rd *r)
{
	if (r->bad)
		return 0;
	if (r->pos >= r->len) {
		r->bad = "record runs past the end of its chunk";
		return 0;
	}
	return r->p[r->pos++];
}

/* Copies a length-prefixed string of at most @max bytes into @dst (max+1). */
static void get_str(struct rd *r, char *dst, size_t max, const char *what)
{
	size_t n = get_uv_max(r, max, what);

	dst[0] = 0;
	if (r->bad)
		return;
	if (n > r->len - r->pos) {
		r->bad = "string runs past the end of its chunk";
		return;
	}
	memcpy(dst, r->p + r->pos, n);
	dst[n] = 0;
	r->pos += n;
}

struct dec {
	unsigned int version;
	const struct kvmmt_cap_ops *ops;
	void *ctx;
	struct kvmmt_cap_status *st;
	bool have_host;
	enum kvmmt_fmt fmt;
};

static int dec_host(struct dec *d, struct rd *r)
{
	struct kvmmt_cap_host h = {};
	unsigned int i;
	int ret = 0;

	h.fmt = get_uv_max(r, KVMMT_FMT__MAX - 1, "unknown SPTE format");
	h.host_pat = get_uv(r);
	h.start_ns = get_uv(r);
	h.start_realtime_ns = get_uv(r);
	h.nr_kv = get_uv_max(r, KVMMT_CAP_MAX_KV, "too many host facts");
	if (r->bad)
		return 0;
	h.kv = calloc(h.nr_kv ? h.nr_kv : 1, sizeof(*h.kv));
	if (!h.kv)
		return -ENOMEM;
	for (i = 0; i < h.nr_kv && !r->bad; i++) {
		get_str(r, h.kv[i].key, KVMMT_CAP_MAX_KEY, "host fact key too long");
		h.kv[i].val = malloc(KVMMT_CAP_MAX_VAL + 1);
		if (!h.kv[i].val) {
			ret = -ENOMEM;
			break;
		}
		get_str(r, h.kv[i].val, KVMMT_CAP_MAX_VAL, "host fact value too long");
	}
	if (!ret && !r->bad && r->pos != r->len)
		r->bad = "trailing bytes after the host header";
	d->fmt = h.fmt;
	if (!ret && !r->bad && d->ops->host)
		ret = d->ops->host(d->ctx, &h);
	for (i = 0; i < h.nr_kv; i++)
		free(h.kv[i].val);
	free(h.kv);
	return ret;
}

static int dec_snapshot(struct dec *d, struct rd *r)
{
	struct kvmmt_cap_snapshot s = {};
	unsigned int i, j;
	int ret = 0;

	s.phase = get_uv_max(r, KVMMT_CAP_NEW, "unknown snapshot phase");
	s.ts_ns = get_uv(r);
	s.nr_vms = get_uv_max(r, KVMMT_CAP_MAX_VMS, "too many VMs in a snapshot");
	if (r->bad)
		return 0;
	/* Each VM takes at least 9 bytes: never allocate more than the chunk can hold. */
	if (s.nr_vms > (r->len - r->pos) / 9) {
		r->bad = "VM count exceeds what the chunk can hold";
		return 0;
	}
	s.vms = calloc(s.nr_vms ? s.nr_vms : 1, sizeof(*s.vms));
	if (!s.vms)
		return -ENOMEM;
	for (i = 0; i < s.nr_vms && !r->bad; i++) {
		struct kvmmt_cap_vm *v = &s.vms[i];
		char comm[KVMMT_COMM_LEN + 1];

		v->vm.kind = KVMMT_REC_VM;
		v->vm.tgid = get_uv_max(r, UINT32_MAX, "tgid out of range");
		v->vm.kvm_id = get_uv(r);
		v->vm.noncoherent_dma = unzz(get_uv(r));
		v->vm.online_vcpus = unzz(get_uv(r));
		v->vm.disabled_quirks = get_uv(r);
		v->vm.valid = get_uv_max(r, UINT32_MAX, "VM flags out of range");
		v->vm.fd = unzz(get_uv(r));
		get_str(r, comm, KVMMT_COMM_LEN, "command name too long");
		memcpy(v->vm.comm, comm, KVMMT_COMM_LEN);
		v->nr_slots = get_uv_max(r, KVMMT_CAP_MAX_SLOTS, "too many memslots");
		v->vm.nr_slots = v->nr_slots;
		if (r->bad)
			break;
		if (v->nr_slots > (r->len - r->pos) / 6) {
			r->bad = "memslot count exceeds what the chunk can hold";
			break;
		}
		v->slots = calloc(v->nr_slots ? v->nr_slots : 1, sizeof(*v->slots));
		if (!v->slots) {
			ret = -ENOMEM;
			break;
		}
		for (j = 0; j < v->nr_slots && !r->bad; j++) {
			struct kvmmt_slot_rec *sl = &v->slots[j];

			sl->kind = KVMMT_REC_SLOT;
			sl->kvm_id = v->vm.kvm_id;
			sl->id = get_uv_max(r, UINT16_MAX, "memslot id out of range");
			sl->as_id = get_uv_max(r, UINT16_MAX, "address space id out of range");
			sl->flags = get_uv_max(r, UINT32_MAX, "memslot flags out of range");
			sl->base_gfn = get_uv(r);
			sl->npages = get_uv(r);
			sl->userspace_addr = get_uv(r);
		}
	}
	if (!ret && !r->bad && r->pos != r->len)
		r->bad = "trailing bytes after the snapshot";
	if (!ret && !r->bad && d->ops->snapshot)
		ret = d->ops->snapshot(d->ctx, &s);
	for (i = 0; i < s.nr_vms; i++)
		free(s.vms[i].slots);
	free(s.vms);
	return ret;
}

/* One decoded event to the reader's callback; @mtb is the memory-type byte. */
static int deliver(struct dec *d, struct kvmmt_cap_event *ce, __u8 mtb)
{
	ce->mt = mtb & 0x7f;
	ce->ipat = mtb >> 7;
	d->st->events++;
	return d->ops->event ? d->ops->event(d->ctx, ce) : 0;
}

static int dec_events_v2(struct dec *d, struct rd *r)
{
	struct kvmmt_cap_event ce = {};
	struct kvmmt_event *ev = &ce.ev;
	__u64 drops, n, i, resid = 0, gfn_delta;
	__u8 mtb = 0;
	int ret;

	drops = get_uv(r);
	n = get_uv(r);
	if (r->bad)
		return 0;
	if (n > r->len - r->pos) {
		r->bad = "event count exceeds what the chunk can hold";
		return 0;
	}
	if (d->ops->drops) {
		ret = d->ops->drops(d->ctx, drops);
		if (ret)
			return ret;
	}
	for (i = 0; i < n; i++) {
		__u8 h = get_u8(r);

		if (r->bad)
			return 0;
		ev->type = h & EH_TYPE;
		if (ev->type == EH_TYPE_ESC && d->version >= 2)
			ev->type = get_uv_max(r, KVMMT_EV__MAX, "unknown event type");
		/* version 1 knew install, zap, noncoherent and memslot */
		if (ev->type < KVMMT_EV_INSTALL || ev->type >= KVMMT_EV__MAX ||
		    (d->version < 2 && ev->type >= KVMMT_EV_SLOT)) {
			r->bad = "unknown event type";
			return 0;
		}
		ev->ts_ns += unzz(get_uv(r));
		if (h & EH_TGID)
			ev->tgid = get_uv_max(r, UINT32_MAX, "tgid out of range");
		if (h & EH_TID)
			ev->tid = get_uv_max(r, UINT32_MAX, "tid out of range");
		if (h & EH_CPU)
			ev->cpu = get_uv_max(r, UINT16_MAX, "cpu out of range");
		if (h & EH_SLOT)
			ev->slot = get_uv_max(r, UINT16_MAX, "memslot id out of range");
		if (h & EH_ATTR) {
			ev->level = get_u8(r);
			ev->attr = get_u8(r);
			mtb = get_u8(r);
		}
		gfn_delta = unzz(get_uv(r));
		ev->gfn += gfn_delta;
		ev->pfn += gfn_delta + unzz(get_uv(r));
		resid ^= get_uv(r);
		ev->spte = resid ^ (ev->pfn << 12);
		ev->value = (__s32)unzz(get_uv_max(r, UINT32_MAX, "event value out of range"));
		ev->aux = ev->type >= KVMMT_EV_SLOT ?
			  get_uv_max(r, UINT32_MAX, "event aux out of range") : 0;
		if (r->bad)
			return 0;
		ret = deliver(d, &ce, mtb);
		if (ret)
			return ret;
	}
	if (r->pos != r->len)
		r->bad = "trailing bytes after the last event";
	return 0;
}

static bool cols_bad(struct rd *c, struct rd *r)
{
	for (int i = 0; i < S__MAX; i++)
		if (c[i].bad) {
			r->bad = c[i].bad;
			return true;
		}
	return false;
}

static int dec_events_v3(struct dec *d, struct rd *r)
{
	struct vm_state vm[VM_STATES], *p;
	struct kvmmt_cap_event ce = {};
	struct kvmmt_event *ev = &ce.ev;
	struct rd c[S__MAX], *misc = &c[S_MISC];
	unsigned int nr_vm = 0, vi;
	__u64 drops, n, i, ncol, last_ts = 0, dt, dgfn;
	size_t off;
	int ret;

	drops = get_uv(r);
	n = get_uv(r);
	ncol = get_uv(r);
	if (!r->bad && ncol != S__MAX)
		r->bad = "events chunk with an unknown number of columns";
	off = 0;
	for (i = 0; i < S__MAX && !r->bad; i++) {
		__u64 len = get_uv(r);

		c[i] = (struct rd){ .len = len };
		off += len;
		if (len > r->len || off > r->len)
			r->bad = "column runs past the end of its chunk";
	}
	if (r->bad)
		return 0;
	if (off != r->len - r->pos) {
		r->bad = "columns do not add up to the chunk";
		return 0;
	}
	/* Every event takes one header byte. */
	if (n != c[S_HDR].len) {
		r->bad = "event count does not match the header column";
		return 0;
	}
	off = r->pos;
	for (i = 0; i < S__MAX; i++) {
		c[i].p = r->p + off;
		off += c[i].len;
	}
	r->pos = r->len;
	if (d->ops->drops) {
		ret = d->ops->drops(d->ctx, drops);
		if (ret)
			return ret;
	}
	for (i = 0; i < n; i++) {
		__u8 h = get_u8(&c[S_HDR]), mtb;

		vi = get_u8(&c[S_VM]);
		if (vi > nr_vm || vi == VM_STATES) {
			r->bad = "VM index out of range";
			return 0;
		}
		if (vi == nr_vm) {
			vm[nr_vm++] = (struct vm_state){
				.tgid = get_uv_max(misc, UINT32_MAX, "tgid out of range"),
				.ts = last_ts,
			};
		}
		p = &vm[vi];
		ev->type = h & EH_TYPE;
		if (ev->type == EH_TYPE_ESC)
			ev->type = get_uv_max(misc, KVMMT_EV__MAX, "unknown event type");
		if (ev->type < KVMMT_EV_INSTALL || ev->type >= KVMMT_EV__MAX) {
			r->bad = "unknown event type";
			return 0;
		}
		dt = get_u8(&c[S_TS0]);
		dt |= (__u64)get_u8(&c[S_TS1]) << 8;
		dt |= (__u64)unzz(get_uv(&c[S_TSHI])) << 16;
		ev->ts_ns = p->ts + dt;
		ev->tgid = p->tgid;
		dgfn = unzz(get_uv(&c[S_GFN]));
		ev->gfn = p->gfn + dgfn;
		ev->pfn = p->pfn + dgfn + unzz(get_uv(&c[S_PFN]));
		p->resid ^= get_uv(&c[S_SPTE]);
		ev->spte = p->resid ^ (ev->pfn << 12);
		ev->tid = h & EH3_TID ? get_uv_max(misc, UINT32_MAX, "tid out of range") : p->tid;
		ev->cpu = h & EH3_CPU ? get_uv_max(misc, UINT16_MAX, "cpu out of range") : p->cpu;
		ev->slot = h & EH3_SLOT ?
			   get_uv_max(misc, UINT16_MAX, "memslot id out of range") : p->slot;
		if (h & EH3_ATTR) {
			p->level = get_u8(misc);
			p->attr = get_u8(misc);
			p->mtb = get_u8(misc);
		}
		ev->level = p->level;
		ev->attr = p->attr;
		mtb = p->mtb;
		ev->value = h & EH3_VALUE ?
			    (__s32)unzz(get_uv_max(misc, UINT32_MAX, "event value out of range")) :
			    p->value;
		ev->aux = ev->type >= KVMMT_EV_SLOT ?
			  get_uv_max(misc, UINT32_MAX, "event aux out of range") : 0;
		if (cols_bad(c, r))
			return 0;
		p->ts = ev->ts_ns;
		p->gfn = ev->gfn;
		p->pfn = ev->pfn;
		p->tid = ev->tid;
		p->cpu = ev->cpu;
		p->slot = ev->slot;
		p->value = ev->value;
		last_ts = ev->ts_ns;
		ret = deliver(d, &ce, mtb);
		if (ret)
			return ret;
	}
	for (i = 0; i < S__MAX; i++)
		if (c[i].pos != c[i].len) {
			r->bad = "trailing bytes after the last event";
			break;
		}
	return 0;
}

static int dec_events(struct dec *d, struct rd *r)
{
	return d->version >= 3 ? dec_events_v3(d, r) : dec_events_v2(d, r);
}

static int dec_end(struct dec *d, struct rd *r)
{
	struct kvmmt_cap_end end = {};

	end.end_ns = get_uv(r);
	end.events = get_uv(r);
	end.drops = get_uv(r);
	end.stop_reason = get_uv_max(r, UINT32_MAX, "stop reason out of range");
	if (!r->bad && r->pos != r->len)
		r->bad = "trailing bytes after the end record";
	if (r->bad || !d->ops->end)
		return 0;
	return d->ops->end(d->ctx, &end);
}

static int dec_hostmap(struct dec *d, struct rd *r)
{
	struct kvmmt_cap_hostmap m = {};
	struct kvmmt_cap_range *rg;
	__u64 prev = 0;
	size_t i;
	int ret = 0;

	m.kind = get_uv_max(r, KVMMT_CAP_MAP__MAX - 1, "unknown host map kind");
	m.tgid = get_uv_max(r, UINT32_MAX, "tgid out of range");
	m.n = get_uv_max(r, KVMMT_CAP_MAX_RANGES, "too many host map ranges");
	if (!r->bad && !m.kind)
		r->bad = "unknown host map kind";
	if (r->bad)
		return 0;
	/* Each range takes at least 3 bytes. */
	if (m.n > (r->len - r->pos) / 3) {
		r->bad = "range count exceeds what the chunk can hold";
		return 0;
	}
	rg = calloc(m.n ? m.n : 1, sizeof(*rg));
	if (!rg)
		return -ENOMEM;
	for (i = 0; i < m.n && !r->bad; i++) {
		rg[i].start = prev + unzz(get_uv(r));
		rg[i].end = rg[i].start + get_uv(r);
		rg[i].mt = get_u8(r);
		if (!r->bad && rg[i].end < rg[i].start)
			r->bad = "host map range wraps around";
		prev = rg[i].end;
	}
	if (!r->bad && r->pos != r->len)
		r->bad = "trailing bytes after the host map";
	m.r = rg;
	if (!r->bad && d->ops->hostmap)
		ret = d->ops->hostmap(d->ctx, &m);
	free(rg);
	return ret;
}

static int dec_chunk(struct dec *d, int type, struct rd *r)
{
	switch (type) {
	case KVMMT_CAP_CH_HOST:
		return dec_host(d, r);
	case KVMMT_CAP_CH_SNAPSHOT:
		return dec_snapshot(d, r);
	case KVMMT_CAP_CH_EVENTS:
		return dec_events(d, r);
	case KVMMT_CAP_CH_HOSTMAP:
		return dec_hostmap(d, r);
	default:
		return dec_end(d, r);
	}
}

#define BAD(off, fmt, ...) \
	kvmmt_errf(e, -EBADMSG, "byte offset %zu: " fmt, (size_t)(off), ##__VA_ARGS__)

int kvmmt_cap_decode(const void *data, size_t len, const struct kvmmt_cap_ops *ops,
		     void *ctx, struct kvmmt_cap_status *status, struct kvmmt_err *e)
{
	static const struct kvmmt_cap_ops no_ops;
	const unsigned char *p = data;
	struct kvmmt_cap_status st_local;
	struct kvmmt_cap_status *st = status ? status : &st_local;
	struct dec d = { .ops = ops ? ops : &no_ops, .ctx = ctx, .st = st };
	unsigned char *raw = NULL;
	size_t off;
	int ret = 0;

	memset(st, 0, sizeof(*st));
	st->bytes = len;
	if (len < FILE_HDR_LEN) {
		if (len >= 8 && memcmp(p, KVMMT_CAP_MAGIC, 8))
			return BAD(0, "not a kvmmt capture (bad magic)");
		return BAD(len, "file ends inside the %d-byte file header", FILE_HDR_LEN);
	}
	if (memcmp(p, KVMMT_CAP_MAGIC, 8))
		return BAD(0, "not a kvmmt capture (bad magic)");
	st->version = p[8] | p[9] << 8;
	if (st->version < 1 || st->version > KVMMT_CAP_VERSION)
		return BAD(8, "format version %u is not supported (this kvmmt reads versions 1 to %u)",
			   st->version, KVMMT_CAP_VERSION);
	d.version = st->version;
	if (p[10] != FILE_HDR_LEN || p[11] || get_le32(p + 12))
		return BAD(10, "unexpected file header length or flags");
	off = FILE_HDR_LEN;
	st->good_bytes = off;

	while (off < len) {
		const unsigned char *h = p + off;
		__u32 rlen, clen;
		struct rd r;
		int type;

		if (st->complete) {
			ret = BAD(off, "data after the end record");
			break;
		}
		if (len - off < CHUNK_HDR_LEN) {
			st->truncated = true;
			break;
		}
		if (h[0] != 'K' || h[1] != 'C') {
			ret = BAD(off, "bad chunk magic");
			break;
		}
		if (get_le32(h + 16) != crc32(0, h, 16)) {
			ret = BAD(off, "chunk header checksum mismatch");
			break;
		}
		type = h[2];
		rlen = get_le32(h + 4);
		clen = get_le32(h + 8);
		if (type < KVMMT_CAP_CH_HOST || type >= KVMMT_CAP_CH__MAX) {
			ret = BAD(off + 2, "unknown chunk type %d", type);
			break;
		}
		/* Version 3 names the chunk's compression; older files are zlib only. */
		if (h[3] >= (d.version >= 3 ? KVMMT_CAP_CODEC__MAX : 1)) {
			ret = BAD(off + 3, "unknown compression %d", h[3]);
			break;
		}
		if (rlen > KVMMT_CAP_MAX_CHUNK || clen > codec_max_bound()) {
			ret = BAD(off + 4, "chunk length %u exceeds the %u byte limit",
				  rlen, KVMMT_CAP_MAX_CHUNK);
			break;
		}
		if (!d.have_host && type != KVMMT_CAP_CH_HOST) {
			ret = BAD(off, "first chunk is not the host header");
			break;
		}
		if (d.have_host && type == KVMMT_CAP_CH_HOST) {
			ret = BAD(off, "second host header");
			break;
		}
		if (clen > len - off - CHUNK_HDR_LEN) {
			st->truncated = true;
			break;
		}
		if (get_le32(h + 12) != crc32(0, h + CHUNK_HDR_LEN, clen)) {
			ret = BAD(off, "chunk checksum mismatch");
			break;
		}
		free(raw);
		raw = malloc(rlen ? rlen : 1);
		if (!raw) {
			ret = kvmmt_errf(e, -ENOMEM, "out of memory decoding a %u byte chunk", rlen);
			break;
		}
		if (!codec_decompress(h[3], raw, rlen, h + CHUNK_HDR_LEN, clen)) {
			ret = BAD(off + CHUNK_HDR_LEN, "chunk does not decompress to its stated length");
			break;
		}
		r = (struct rd){ .p = raw, .len = rlen };
		ret = dec_chunk(&d, type, &r);
		if (ret) {
			if (ret == -ENOMEM)
				kvmmt_errf(e, ret, "out of memory decoding the chunk at byte offset %zu",
					   off);
			break;
		}
		if (r.bad) {
			ret = BAD(off, "%s (chunk type %d, uncompressed byte %zu)", r.bad, type,
				  r.pos);
			break;
		}
		d.have_host = true;
		if (type == KVMMT_CAP_CH_END)
			st->complete = true;
		off += CHUNK_HDR_LEN + clen;
		st->good_bytes = off;
		st->chunks++;
	}
	free(raw);
	if (!ret && !d.have_host)
		return BAD(off, "file ends before the host header");
	return ret;
}

int kvmmt_cap_read(const char *path, const struct kvmmt_cap_ops *ops, void *ctx,
		   struct kvmmt_cap_status *status, struct kvmmt_err *e)
{
	struct stat sb;
	void *map;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return kvmmt_errf(e, -errno, "cannot open it: %s", strerror(errno));
	if (fstat(fd, &sb) || !S_ISREG(sb.st_mode)) {
		ret = kvmmt_errf(e, -EINVAL, "not a regular file");
		close(fd);
		return ret;
	}
	if (!sb.st_size) {
		close(fd);
		return kvmmt_errf(e, -EBADMSG, "byte offset 0: the file is empty");
	}
	map = mmap(NULL, sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return kvmmt_errf(e, -errno, "cannot map it: %s", strerror(errno));
	ret = kvmmt_cap_decode(map, sb.st_size, ops, ctx, status, e);
	munmap(map, sb.st_size);
	return ret;
}

const char *kvmmt_cap_host_get(const struct kvmmt_cap_host *h, const char *key)
{
	unsigned int i;

	for (i = 0; i < h->nr_kv; i++)
		if (!strcmp(h->kv[i].key, key))
			return h->kv[i].val;
	return NULL;
}

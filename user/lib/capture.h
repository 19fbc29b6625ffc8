/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
#ifndef KVMMT_CAPTURE_H
#define KVMMT_CAPTURE_H

/*
 * A capture file (docs/capture-format.md): a fixed file header, then
 * independent compressed chunks (zstd or zlib), each with its length and a CRC32, so a
 * file cut short anywhere decodes up to its last complete chunk. The writer
 * writes to "<path>.partial" and renames it to <path> when closed.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "kvmmt.h"
#include "err.h"

#define KVMMT_CAP_MAGIC		"KVMMTCAP"
#define KVMMT_CAP_VERSION	3	/* written; 1 to 3 are read */
#define KVMMT_CAP_PARTIAL_SUFFIX ".partial"

/* Caps every reader enforces; a file that exceeds one is rejected. */
#define KVMMT_CAP_MAX_CHUNK	(16u << 20)	/* uncompressed chunk bytes */
#define KVMMT_CAP_MAX_KV	1024		/* host key/value pairs */
#define KVMMT_CAP_MAX_KEY	64
#define KVMMT_CAP_MAX_VAL	4096
#define KVMMT_CAP_MAX_VMS	4096		/* VMs in one snapshot */
#define KVMMT_CAP_MAX_SLOTS	65536		/* memslots of one VM */
#define KVMMT_CAP_MAX_RANGES	(1u << 20)	/* ranges in one host map */

enum kvmmt_cap_chunk {
	KVMMT_CAP_CH_HOST = 1,
	KVMMT_CAP_CH_SNAPSHOT,
	KVMMT_CAP_CH_EVENTS,
	KVMMT_CAP_CH_END,
	KVMMT_CAP_CH_HOSTMAP,
	KVMMT_CAP_CH__MAX,
};

struct kvmmt_cap_kv {
	char key[KVMMT_CAP_MAX_KEY + 1];
	char *val;
};

/* The host header: typed fields the reader needs, then free-form facts. */
struct kvmmt_cap_host {
	enum kvmmt_fmt fmt;
	__u64 host_pat;
	__u64 start_ns;		/* monotonic clock (bpf_ktime_get_ns) at start */
	__u64 start_realtime_ns;
	struct kvmmt_cap_kv *kv;
	unsigned int nr_kv;
};

enum kvmmt_cap_phase {
	KVMMT_CAP_START = 0,
	KVMMT_CAP_FINISH,
	KVMMT_CAP_NEW,		/* VMs first seen in events during the capture */
};

struct kvmmt_cap_vm {
	struct kvmmt_vm_rec vm;
	struct kvmmt_slot_rec *slots;
	unsigned int nr_slots;
};

struct kvmmt_cap_snapshot {
	enum kvmmt_cap_phase phase;
	__u64 ts_ns;
	struct kvmmt_cap_vm *vms;
	unsigned int nr_vms;
};

/* Host-side memory types, for the risk model (policy.h: struct kvmmt_hostmap). */
enum kvmmt_cap_map_kind {
	KVMMT_CAP_MAP_PAT = 1,	/* pat_memtype_list, by host pfn */
	KVMMT_CAP_MAP_VMM,	/* a VMM's device mappings (smaps), by hva page */
	KVMMT_CAP_MAP__MAX,
};

struct kvmmt_cap_range {
	__u64 start, end;	/* [start, end) */
	__u8 mt;		/* enum kvmmt_mt */
};

struct kvmmt_cap_hostmap {
	enum kvmmt_cap_map_kind kind;
	__u32 tgid;		/* KVMMT_CAP_MAP_VMM: the VMM process */
	const struct kvmmt_cap_range *r;
	size_t n;
};

/* One event as recorded: the ring-buffer event plus the type it decoded to. */
struct kvmmt_cap_event {
	struct kvmmt_event ev;
	__u8 mt;		/* enum kvmmt_mt at capture time */
	bool ipat;
};

struct kvmmt_cap_end {
	__u64 end_ns;		/* monotonic */
	__u64 events;		/* events written */
	__u64 drops;		/* ring-buffer events lost (KVMMT_G_DROPS) */
	__u32 stop_reason;	/* enum kvmmt_cap_stop */
};

enum kvmmt_cap_stop {
	KVMMT_CAP_STOP_DURATION = 1,
	KVMMT_CAP_STOP_SIGNAL,
	KVMMT_CAP_STOP_SIZE,
	KVMMT_CAP_STOP_ERROR,
	KVMMT_CAP_STOP__MAX,
};

const char *kvmmt_cap_stop_name(__u32 reason);

/* How a chunk is compressed (chunk header byte 3; versions 1 and 2: zlib only). */
enum kvmmt_cap_codec {
	KVMMT_CAP_ZLIB = 0,
	KVMMT_CAP_ZSTD = 1,
	KVMMT_CAP_CODEC__MAX,
};

/* What the writer uses unless told otherwise (docs/bench.md: the numbers). */
#define KVMMT_CAP_CODEC_DEFAULT	KVMMT_CAP_ZSTD
#define KVMMT_CAP_LEVEL_DEFAULT	9

const char *kvmmt_cap_codec_name(enum kvmmt_cap_codec c);

/* Writer. */
struct kvmmt_capw;

struct kvmmt_capw_stats {
	__u64 events;		/* events accepted */
	__u64 bytes;		/* bytes written to the file so far */
	__u64 pending;		/* encoded event bytes not yet compressed and written */
	__u64 chunks;
};

int kvmmt_capw_open(struct kvmmt_capw **out, const char *path,
		    const struct kvmmt_cap_host *host, struct kvmmt_err *e);
int kvmmt_capw_snapshot(struct kvmmt_capw *w, const struct kvmmt_cap_snapshot *s,
			struct kvmmt_err *e);
int kvmmt_capw_hostmap(struct kvmmt_capw *w, const struct kvmmt_cap_hostmap *m,
		       struct kvmmt_err *e);
/* Compression of the chunks written from now on (zlib 1-9, zstd 1-19 and up). */
int kvmmt_capw_set_codec(struct kvmmt_capw *w, enum kvmmt_cap_codec codec, int level,
			 struct kvmmt_err *e);
/* Buffers one event; writes a chunk when the buffer fills. */
int kvmmt_capw_event(struct kvmmt_capw *w, const struct kvmmt_cap_event *ev,
		     struct kvmmt_err *e);
/* Writes buffered events as one chunk, recording @drops (cumulative). */
int kvmmt_capw_flush(struct kvmmt_capw *w, __u64 drops, struct kvmmt_err *e);
/* Flushes, writes the end record, syncs and renames to the final path. */
int kvmmt_capw_close(struct kvmmt_capw *w, const struct kvmmt_cap_end *end,
		     struct kvmmt_err *e);
/* Frees the writer; the partial file stays, readable up to its last chunk. */
void kvmmt_capw_free(struct kvmmt_capw *w);
void kvmmt_capw_stats(const struct kvmmt_capw *w, struct kvmmt_capw_stats *st);
const char *kvmmt_capw_partial_path(const struct kvmmt_capw *w);

/* Reader: a streaming decoder with a callback per record. */
struct kvmmt_cap_ops {
	int (*host)(void *ctx, const struct kvmmt_cap_host *h);
	int (*snapshot)(void *ctx, const struct kvmmt_cap_snapshot *s);
	int (*event)(void *ctx, const struct kvmmt_cap_event *ev);
	/* Called once per events chunk with the cumulative drop count. */
	int (*drops)(void *ctx, __u64 drops);
	int (*end)(void *ctx, const struct kvmmt_cap_end *end);
	int (*hostmap)(void *ctx, const struct kvmmt_cap_hostmap *m);
};

struct kvmmt_cap_status {
	__u16 version;
	__u64 bytes;		/* length of the data decoded from */
	bool complete;		/* the end record was read */
	bool truncated;		/* the file ends inside a chunk */
	__u64 good_bytes;	/* bytes up to the end of the last good chunk */
	__u64 chunks;
	__u64 events;
};

/*
 * Decode @len bytes. Returns 0 when the data is sound (a file that is only
 * cut short counts as sound: status->truncated or !status->complete says
 * so), a callback's negative return, or -EBADMSG/-ENOMEM/-E2BIG with @e
 * naming the first bad byte offset.
 */
int kvmmt_cap_decode(const void *buf, size_t len, const struct kvmmt_cap_ops *ops,
		     void *ctx, struct kvmmt_cap_status *status, struct kvmmt_err *e);
/* The same for a file, mapped read-only; messages in @e leave @path to the caller. */
int kvmmt_cap_read(const char *path, const struct kvmmt_cap_ops *ops, void *ctx,
		   struct kvmmt_cap_status *status, struct kvmmt_err *e);

/* Look up a host fact by key; NULL if absent. */
const char *kvmmt_cap_host_get(const struct kvmmt_cap_host *h, const char *key);

#endif

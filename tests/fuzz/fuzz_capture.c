// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * libFuzzer target for the capture reader: any input must decode or fail
 * with -EBADMSG naming a byte offset, without crashing or leaking.
 *
 * An input starting with the capture magic is decoded as a file. Any other
 * input is wrapped as the payload of a well-formed chunk (type from its
 * first byte) after a valid host header, so the fuzzer reaches the payload
 * parsers behind the checksums.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "capture.h"

static int on_event(void *ctx, const struct kvmmt_cap_event *ev)
{
	*(uint64_t *)ctx += ev->ev.gfn;
	return 0;
}

static int on_host(void *ctx, const struct kvmmt_cap_host *h)
{
	const char *v = kvmmt_cap_host_get(h, "kernel.release");

	*(uint64_t *)ctx += v ? strlen(v) : 0;
	return 0;
}

static int on_snapshot(void *ctx, const struct kvmmt_cap_snapshot *s)
{
	for (unsigned int i = 0; i < s->nr_vms; i++)
		*(uint64_t *)ctx += s->vms[i].nr_slots ? s->vms[i].slots[0].npages : 0;
	return 0;
}

static const struct kvmmt_cap_ops ops = {
	.host = on_host, .event = on_event, .snapshot = on_snapshot,
};

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

/* Appends one chunk of @type with @raw as payload; returns bytes written. */
static size_t chunk(uint8_t *out, int type, const uint8_t *raw, size_t len)
{
	uLongf clen = compressBound(len);

	if (compress2(out + 20, &clen, raw, len, 1) != Z_OK)
		abort();
	out[0] = 'K';
	out[1] = 'C';
	out[2] = type;
	out[3] = 0;
	put32(out + 4, len);
	put32(out + 8, clen);
	put32(out + 12, crc32(0, out + 20, clen));
	put32(out + 16, crc32(0, out, 16));
	return 20 + clen;
}

static void check(const uint8_t *data, size_t size)
{
	struct kvmmt_cap_status st;
	struct kvmmt_err e = {};
	uint64_t sum = 0;
	int ret = kvmmt_cap_decode(data, size, &ops, &sum, &st, &e);

	if (ret && (ret != -EBADMSG || !strstr(e.msg, "byte offset")))
		abort();
	if (!ret && st.good_bytes > size)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* host chunk: shadow format, Linux PAT, one fact */
	static const uint8_t host[] = { 3, 0x86, 0x82, 0x9c, 0x80, 0xe0, 0x80, 0x81, 0x82,
					0x04, 0, 0, 1, 1, 'k', 1, 'v' };
	uint8_t *file;
	size_t n;

	if (size >= 8 && !memcmp(data, KVMMT_CAP_MAGIC, 8)) {
		check(data, size);
		return 0;
	}
	if (!size || size > KVMMT_CAP_MAX_CHUNK)
		return 0;
	file = malloc(16 + 2 * 20 + sizeof(host) + compressBound(size) + 64);
	if (!file)
		return 0;
	memset(file, 0, 16);
	memcpy(file, KVMMT_CAP_MAGIC, 8);
	file[8] = KVMMT_CAP_VERSION;
	file[10] = 16;
	n = 16 + chunk(file + 16, KVMMT_CAP_CH_HOST, host, sizeof(host));
	n += chunk(file + n, 1 + data[0] % (KVMMT_CAP_CH__MAX - 1), data + 1, size - 1);
	check(file, n);
	free(file);
	return 0;
}

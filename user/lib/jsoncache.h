/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
#ifndef KVMMT_JSONCACHE_H
#define KVMMT_JSONCACHE_H

/*
 * Serialized JSON objects kept from one refresh to the next. A program that
 * prints hundreds of mostly idle VMs every second builds a VM's object again
 * only when what it is built from changed: each entry holds, besides its
 * text, the exact bytes it was built from (its key), and any difference in
 * them builds it anew. A cached object is therefore always the text a fresh
 * build prints.
 *
 * Per document: kvmmt_json_cached() for each object (ids unique within the
 * document), print the document, put it, then kvmmt_json_cache_sweep().
 */
#include <stddef.h>
#include <linux/types.h>
#include <json-c/json.h>

struct kvmmt_json_cache;

/*
 * @flags: the JSON_C_TO_STRING_* the document is printed with; with
 * JSON_C_TO_STRING_PRETTY nothing is kept (indentation depends on depth).
 */
struct kvmmt_json_cache *kvmmt_json_cache_new(int flags);
void kvmmt_json_cache_free(struct kvmmt_json_cache *c);

/*
 * The object for @id built from @key: an object that prints the text kept
 * for @id when @key is what it was built from, else build(@arg), kept for
 * the next refresh. Without memory to keep it, build(@arg) itself.
 */
json_object *kvmmt_json_cached(struct kvmmt_json_cache *c, __u64 id,
			       const void *key, size_t key_len,
			       json_object *(*build)(const void *arg), const void *arg);

/* Drop the entries no kvmmt_json_cached() asked for since the last sweep. */
void kvmmt_json_cache_sweep(struct kvmmt_json_cache *c);

/* Entries kept, and how many of the objects asked for were built. */
size_t kvmmt_json_cache_size(const struct kvmmt_json_cache *c);
unsigned long kvmmt_json_cache_builds(const struct kvmmt_json_cache *c);

#endif

// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/* Serialized JSON objects kept between refreshes (jsoncache.h). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/printbuf.h>
#include "jsoncache.h"

struct entry {
	__u64 id;
	unsigned long used;	/* sweep epoch of the last ask */
	void *key;
	size_t key_len;
	char *text;
	int text_len;
	struct entry *next;
};

struct kvmmt_json_cache {
	int flags;
	struct entry **bucket;
	size_t nr_buckets;	/* a power of two */
	size_t n;
	unsigned long epoch;
	unsigned long builds;
};

struct kvmmt_json_cache *kvmmt_json_cache_new(int flags)
{
	struct kvmmt_json_cache *c = calloc(1, sizeof(*c));

	if (c)
		c->flags = flags;
	return c;
}

static void entry_free(struct entry *e)
{
	free(e->key);
	free(e->text);
	free(e);
}

void kvmmt_json_cache_free(struct kvmmt_json_cache *c)
{
	if (!c)
		return;
	for (size_t b = 0; b < c->nr_buckets; b++)
		for (struct entry *e = c->bucket[b], *next; e; e = next) {
			next = e->next;
			entry_free(e);
		}
	free(c->bucket);
	free(c);
}

static size_t slot_of(const struct kvmmt_json_cache *c, __u64 id)
{
	/* Fibonacci hashing: pids are dense, the top bits spread them */
	return (size_t)((id * 0x9e3779b97f4a7c15ull) >> 32) & (c->nr_buckets - 1);
}

/* Keep at most one entry per bucket on average. */
static int grow(struct kvmmt_json_cache *c)
{
	size_t old = c->nr_buckets, nr = old ? old * 2 : 64;
	struct entry **b = calloc(nr, sizeof(*b)), **ob = c->bucket;

	if (!b)
		return -1;
	c->bucket = b;
	c->nr_buckets = nr;
	for (size_t i = 0; i < old; i++)
		for (struct entry *e = ob[i], *next; e; e = next) {
			next = e->next;
			e->next = b[slot_of(c, e->id)];
			b[slot_of(c, e->id)] = e;
		}
	free(ob);
	return 0;
}

static int print_kept(json_object *o, struct printbuf *pb, int level, int flags)
{
	const struct entry *e = json_object_get_userdata(o);

	(void)level;
	(void)flags;
	return printbuf_memappend(pb, e->text, e->text_len);
}

/* An empty object that prints @e's text; NULL without memory. */
static json_object *placeholder(struct entry *e)
{
	json_object *o = json_object_new_object();

	if (o)
		json_object_set_serializer(o, print_kept, e, NULL);
	return o;
}

/* Keep @o's text and @key in @e; false without memory (@e unchanged). */
static bool keep(struct kvmmt_json_cache *c, struct entry *e, json_object *o,
		 const void *key, size_t key_len)
{
	size_t len;
	const char *s = json_object_to_json_string_length(o, c->flags, &len);
	char *text = s ? malloc(len + 1) : NULL;
	void *k = malloc(key_len ? key_len : 1);

	if (!text || !k || len > (size_t)__INT_MAX__) {
		free(text);
		free(k);
		return false;
	}
	memcpy(text, s, len + 1);
	memcpy(k, key, key_len);
	free(e->text);
	free(e->key);
	e->text = text;
	e->text_len = (int)len;
	e->key = k;
	e->key_len = key_len;
	return true;
}

json_object *kvmmt_json_cached(struct kvmmt_json_cache *c, __u64 id,
			       const void *key, size_t key_len,
			       json_object *(*build)(const void *arg), const void *arg)
{
	struct entry *e = NULL;
	json_object *o, *ph;

	/* an indented object's text depends on where it sits */
	if (c->flags & JSON_C_TO_STRING_PRETTY) {
		c->builds++;
		return build(arg);
	}
	if (c->nr_buckets)
		for (e = c->bucket[slot_of(c, id)]; e && e->id != id; e = e->next)
			;
	if (e && e->key_len == key_len && !memcmp(e->key, key, key_len)) {
		ph = placeholder(e);
		if (ph) {
			e->used = c->epoch;
			return ph;
		}
	}
	c->builds++;
	o = build(arg);
	if (!o)
		return NULL;
	if (!e) {
		if (c->n >= c->nr_buckets && grow(c))
			return o;
		e = calloc(1, sizeof(*e));
		if (!e)
			return o;
		e->id = id;
		e->next = c->bucket[slot_of(c, id)];
		c->bucket[slot_of(c, id)] = e;
		c->n++;
	}
	if (!keep(c, e, o, key, key_len)) {
		/* whatever the entry held no longer matches what is printed */
		e->key_len = (size_t)-1;
		return o;
	}
	e->used = c->epoch;
	ph = placeholder(e);
	if (!ph)
		return o;
	json_object_put(o);
	return ph;
}

void kvmmt_json_cache_sweep(struct kvmmt_json_cache *c)
{
	for (size_t b = 0; b < c->nr_buckets; b++)
		for (struct entry **pp = &c->bucket[b], *e; (e = *pp);) {
			if (e->used == c->epoch) {
				pp = &e->next;
				continue;
			}
			*pp = e->next;
			entry_free(e);
			c->n--;
		}
	c->epoch++;
}

size_t kvmmt_json_cache_size(const struct kvmmt_json_cache *c)
{
	return c->n;
}

unsigned long kvmmt_json_cache_builds(const struct kvmmt_json_cache *c)
{
	return c->builds;
}

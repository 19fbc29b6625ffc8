// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/* Kept JSON objects: the same key prints the same text, any change builds anew. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "jsoncache.h"

struct thing {
	int id;
	char name[16];
	unsigned long long count;
};

static json_object *build(const void *arg)
{
	const struct thing *t = arg;
	json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_int(t->id));
	json_object_object_add(o, "name", json_object_new_string(t->name));
	json_object_object_add(o, "count", json_object_new_uint64(t->count));
	return o;
}

/* A document of @n things, through @c (or built fresh when @c is NULL). */
static char *document(struct kvmmt_json_cache *c, const struct thing *t, int n, int flags)
{
	json_object *a = json_object_new_array();
	char *s;

	for (int i = 0; i < n; i++)
		json_object_array_add(a, c ? kvmmt_json_cached(c, t[i].id, &t[i], sizeof(t[i]),
							       build, &t[i]) :
					     build(&t[i]));
	s = strdup(json_object_to_json_string_ext(a, flags));
	json_object_put(a);
	if (c)
		kvmmt_json_cache_sweep(c);
	return s;
}

static void same_as_fresh(struct kvmmt_json_cache *c, const struct thing *t, int n, int flags)
{
	char *kept = document(c, t, n, flags), *fresh = document(NULL, t, n, flags);

	cr_assert_str_eq(kept, fresh);
	free(kept);
	free(fresh);
}

Test(jsoncache, an_unchanged_key_prints_the_kept_text_without_a_build)
{
	struct kvmmt_json_cache *c = kvmmt_json_cache_new(JSON_C_TO_STRING_PLAIN);
	struct thing t[2] = { { 1, "a", 10 }, { 2, "b", 20 } };

	same_as_fresh(c, t, 2, JSON_C_TO_STRING_PLAIN);
	cr_assert_eq(kvmmt_json_cache_builds(c), 2);
	same_as_fresh(c, t, 2, JSON_C_TO_STRING_PLAIN);
	same_as_fresh(c, t, 2, JSON_C_TO_STRING_PLAIN);
	cr_assert_eq(kvmmt_json_cache_builds(c), 2, "kept objects were built again");
	cr_assert_eq(kvmmt_json_cache_size(c), 2);
	kvmmt_json_cache_free(c);
}

Test(jsoncache, any_changed_byte_of_the_key_builds_anew)
{
	struct kvmmt_json_cache *c = kvmmt_json_cache_new(JSON_C_TO_STRING_PLAIN);
	struct thing t = { 7, "vm", 1 };
	unsigned long before;

	same_as_fresh(c, &t, 1, JSON_C_TO_STRING_PLAIN);
	for (size_t i = 0; i < sizeof(t); i++) {
		unsigned char *p = (unsigned char *)&t + i;

		if (i < sizeof(int))
			continue;	/* the id picks the entry */
		before = kvmmt_json_cache_builds(c);
		*p ^= 0x01;
		same_as_fresh(c, &t, 1, JSON_C_TO_STRING_PLAIN);
		cr_assert_eq(kvmmt_json_cache_builds(c), before + 1, "byte %zu changed, no build", i);
	}
	kvmmt_json_cache_free(c);
}

Test(jsoncache, a_sweep_drops_what_was_not_asked_for)
{
	struct kvmmt_json_cache *c = kvmmt_json_cache_new(JSON_C_TO_STRING_PLAIN);
	struct thing t[3] = { { 1, "a", 1 }, { 2, "b", 2 }, { 3, "c", 3 } };

	same_as_fresh(c, t, 3, JSON_C_TO_STRING_PLAIN);
	same_as_fresh(c, t, 1, JSON_C_TO_STRING_PLAIN);	/* 2 and 3 went away */
	cr_assert_eq(kvmmt_json_cache_size(c), 1);
	same_as_fresh(c, t, 3, JSON_C_TO_STRING_PLAIN);
	cr_assert_eq(kvmmt_json_cache_builds(c), 5);
	kvmmt_json_cache_free(c);
}

Test(jsoncache, thousands_of_ids_each_keep_their_own_text)
{
	struct kvmmt_json_cache *c = kvmmt_json_cache_new(JSON_C_TO_STRING_PLAIN);
	enum { N = 3000 };
	struct thing *t = calloc(N, sizeof(*t));

	for (int i = 0; i < N; i++) {
		t[i].id = 100000 + i * 7;
		snprintf(t[i].name, sizeof(t[i].name), "vm%d", i);
		t[i].count = i;
	}
	same_as_fresh(c, t, N, JSON_C_TO_STRING_PLAIN);
	t[N / 2].count++;
	same_as_fresh(c, t, N, JSON_C_TO_STRING_PLAIN);
	cr_assert_eq(kvmmt_json_cache_builds(c), N + 1);
	cr_assert_eq(kvmmt_json_cache_size(c), N);
	free(t);
	kvmmt_json_cache_free(c);
}

Test(jsoncache, indented_documents_are_built_every_time)
{
	int flags = JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED;
	struct kvmmt_json_cache *c = kvmmt_json_cache_new(flags);
	struct thing t[2] = { { 1, "a", 10 }, { 2, "b", 20 } };

	same_as_fresh(c, t, 2, flags);
	same_as_fresh(c, t, 2, flags);
	cr_assert_eq(kvmmt_json_cache_builds(c), 4);
	kvmmt_json_cache_free(c);
}

/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
#ifndef KVMMT_ARRAY_H
#define KVMMT_ARRAY_H

#include <errno.h>
#include <stdlib.h>

/*
 * Make room for @need elements of @size bytes in the growable array *@p of
 * capacity *@cap, doubling it. 0, or -ENOMEM with the array unchanged.
 */
static inline int kvmmt_array_grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t ncap;
	void *np;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	while (ncap < need)
		ncap *= 2;
	np = realloc(*p, ncap * size);
	if (!np)
		return -ENOMEM;
	*p = np;
	*cap = ncap;
	return 0;
}

#endif

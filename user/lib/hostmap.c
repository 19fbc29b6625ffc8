// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * The host's memory types: PAT reservations and device mappings, as sorted
 * non-overlapping page ranges.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "array.h"
#include "hostmap.h"

void kvmmt_hostmap_free(struct kvmmt_hostmap *m)
{
	free(m->r);
	memset(m, 0, sizeof(*m));
}

size_t kvmmt_ranges_first_above(const void *ranges, size_t n, size_t size, __u64 x)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const __u64 *r = (const void *)((const char *)ranges + mid * size);

		if (r[1] <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

_Static_assert(offsetof(struct kvmmt_host_range, end) == sizeof(__u64),
	       "ranges start with __u64 start, end");

static size_t host_first_above(const struct kvmmt_hostmap *m, __u64 x)
{
	return kvmmt_ranges_first_above(m->r, m->n, sizeof(*m->r), x);
}

int kvmmt_hostmap_add(struct kvmmt_hostmap *m, __u64 start, __u64 end,
		      enum kvmmt_mt mt)
{
	size_t i, j;

	if (start >= end)
		return -EINVAL;
	/* At most one extra range from a split plus the new one. */
	if (kvmmt_array_grow((void **)&m->r, &m->cap, m->n + 2, sizeof(*m->r)))
		return -ENOMEM;
	i = host_first_above(m, start);
	if (i < m->n && m->r[i].start < start && m->r[i].end > end) {
		/* The new range sits inside one: split it in three. */
		memmove(&m->r[i + 2], &m->r[i], (m->n - i) * sizeof(*m->r));
		m->n += 2;
		m->r[i].end = start;
		m->r[i + 2].start = end;
		m->r[i + 1] = (struct kvmmt_host_range){ start, end, mt };
		return 0;
	}
	if (i < m->n && m->r[i].start < start) {
		m->r[i].end = start;
		i++;
	}
	for (j = i; j < m->n && m->r[j].end <= end; j++)
		;
	if (j < m->n && m->r[j].start < end)
		m->r[j].start = end;
	/* Ranges [i, j) are covered: replace them by the new one. */
	if (j == i) {
		memmove(&m->r[i + 1], &m->r[i], (m->n - i) * sizeof(*m->r));
		m->n++;
	} else if (j > i + 1) {
		memmove(&m->r[i + 1], &m->r[j], (m->n - j) * sizeof(*m->r));
		m->n -= j - i - 1;
	}
	m->r[i] = (struct kvmmt_host_range){ start, end, mt };
	return 0;
}

enum kvmmt_mt kvmmt_hostmap_lookup(const struct kvmmt_hostmap *m, __u64 x,
				   enum kvmmt_mt dflt)
{
	size_t i;

	if (!m || !m->n)
		return dflt;
	i = host_first_above(m, x);
	if (i < m->n && m->r[i].start <= x)
		return m->r[i].mt;
	return dflt;
}

/* The names arch/x86/mm/pat uses in pat_memtype_list. */
static const struct {
	const char *name;
	enum kvmmt_mt mt;
} pat_names[] = {
	{ "write-back", KVMMT_MT_WB },
	{ "write-combining", KVMMT_MT_WC },
	{ "write-through", KVMMT_MT_WT },
	{ "write-protect", KVMMT_MT_WP },
	{ "uncached-minus", KVMMT_MT_UC_MINUS },
	{ "uncached", KVMMT_MT_UC },
};

int kvmmt_hostmap_parse_pat(struct kvmmt_hostmap *m, FILE *f,
			    struct kvmmt_err *e)
{
	char line[256], type[64];
	unsigned long long s, en;
	int lineno = 0;

	while (fgets(line, sizeof(line), f)) {
		size_t k;

		lineno++;
		if (strncmp(line, "PAT:", 4))
			continue;	/* the header line */
		if (sscanf(line, "PAT: [mem 0x%llx-0x%llx] %63s", &s, &en, type) != 3 ||
		    en <= s)
			return kvmmt_errf(e, -EINVAL,
					  "pat_memtype_list line %d is not \"PAT: [mem 0xSTART-0xEND] TYPE\"",
					  lineno);
		for (k = 0; k < sizeof(pat_names) / sizeof(pat_names[0]); k++)
			if (!strcmp(type, pat_names[k].name))
				break;
		if (k == sizeof(pat_names) / sizeof(pat_names[0]))
			return kvmmt_errf(e, -EINVAL,
					  "pat_memtype_list line %d: unknown memory type \"%s\"",
					  lineno, type);
		/* Ranges are byte addresses; cover every page they touch. */
		if (kvmmt_hostmap_add(m, s >> 12, (en + 4095) >> 12, pat_names[k].mt))
			return kvmmt_errf(e, -ENOMEM, "out of memory reading pat_memtype_list");
	}
	return 0;
}

static bool vmflags_device(const char *flags)
{
	char buf[512], *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", flags);
	for (tok = strtok_r(buf, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save))
		if (!strcmp(tok, "io") || !strcmp(tok, "pf"))
			return true;
	return false;
}

int kvmmt_hostmap_parse_smaps(struct kvmmt_hostmap *m, FILE *f,
			      struct kvmmt_err *e)
{
	unsigned long long s = 0, en = 0;
	enum kvmmt_mt mt = KVMMT_MT_UC_MINUS;
	bool have = false;
	char line[512];
	int lineno = 0;

	while (fgets(line, sizeof(line), f)) {
		unsigned long long a, b;
		char c, file[256];
		size_t len;

		lineno++;
		if (sscanf(line, "%llx-%llx %c", &a, &b, &c) == 3 && strchr("r-", c)) {
			s = a;
			en = b;
			have = true;
			/*
			 * A PCI BAR mapped through sysfs: resourceN_wc is
			 * write-combining, resourceN uncached (UC-).
			 */
			mt = KVMMT_MT_UC_MINUS;
			if (sscanf(line, "%*s %*s %*s %*s %*s %255s", file) == 1 &&
			    (len = strlen(file)) > 3 && !strcmp(file + len - 3, "_wc"))
				mt = KVMMT_MT_WC;
			continue;
		}
		if (strncmp(line, "VmFlags:", 8))
			continue;
		if (!have)
			return kvmmt_errf(e, -EINVAL,
					  "smaps line %d: VmFlags before any mapping", lineno);
		if (vmflags_device(line + 8) &&
		    kvmmt_hostmap_add(m, s >> 12, en >> 12, mt))
			return kvmmt_errf(e, -ENOMEM, "out of memory reading smaps");
	}
	return 0;
}

int kvmmt_hostmap_read(struct kvmmt_hostmap *m, const char *path,
		       int (*parse)(struct kvmmt_hostmap *, FILE *, struct kvmmt_err *),
		       struct kvmmt_err *e)
{
	struct kvmmt_hostmap fresh = {};
	FILE *f = fopen(path, "re");
	int err;

	if (!f)
		return kvmmt_errf(e, -errno, "cannot read %s: %s", path, strerror(errno));
	err = parse(&fresh, f, e);
	fclose(f);
	if (err) {
		kvmmt_hostmap_free(&fresh);
		return err;
	}
	kvmmt_hostmap_free(m);
	*m = fresh;
	return 0;
}

int kvmmt_hostmap_read_smaps(struct kvmmt_hostmap *m, const char *proc_root,
			     pid_t pid, struct kvmmt_err *e)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%d/smaps", proc_root, (int)pid);
	return kvmmt_hostmap_read(m, path, kvmmt_hostmap_parse_smaps, e);
}

int kvmmt_hostmap_layout(const char *proc_root, pid_t pid, __u64 *sum,
			 struct kvmmt_err *e)
{
	__u64 h = 0xcbf29ce484222325ULL;
	char path[4096], buf[16384];
	ssize_t n;
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/%d/maps", proc_root, (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return kvmmt_errf(e, -errno, "cannot read %s: %s", path, strerror(errno));
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < n; i++)
			h = (h ^ (unsigned char)buf[i]) * 0x100000001b3ULL;
	if (n < 0)
		err = kvmmt_errf(e, -errno, "cannot read %s: %s", path, strerror(errno));
	close(fd);
	*sum = h;
	return err;
}

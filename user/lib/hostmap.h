/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
#ifndef KVMMT_HOSTMAP_H
#define KVMMT_HOSTMAP_H

/*
 * The host's own memory types: PAT reservations by pfn
 * (/sys/kernel/debug/x86/pat_memtype_list) and a VMM's device mappings by
 * host virtual page (/proc/PID/smaps).
 */
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include <linux/types.h>
#include "memtype.h"
#include "err.h"

#define KVMMT_PAT_LIST	"/sys/kernel/debug/x86/pat_memtype_list"

/*
 * Host memory types of physical pages (pat_memtype_list) and of the VMM's
 * device mappings (smaps, by host virtual address). Sorted, non-overlapping.
 */
struct kvmmt_host_range {
	__u64 start, end;	/* [start, end): pfns, or hva pages for maps */
	enum kvmmt_mt mt;
};

struct kvmmt_hostmap {
	struct kvmmt_host_range *r;
	size_t n, cap;
};

void kvmmt_hostmap_free(struct kvmmt_hostmap *m);
/* Add [start, end) with @mt; later additions win over earlier ones. */
int kvmmt_hostmap_add(struct kvmmt_hostmap *m, __u64 start, __u64 end,
		      enum kvmmt_mt mt);
/* Type of @x, or @dflt when no range holds it. */
enum kvmmt_mt kvmmt_hostmap_lookup(const struct kvmmt_hostmap *m, __u64 x,
				   enum kvmmt_mt dflt);
/* Parse /sys/kernel/debug/x86/pat_memtype_list text into pfn ranges. */
int kvmmt_hostmap_parse_pat(struct kvmmt_hostmap *m, FILE *f,
			    struct kvmmt_err *e);
/*
 * Parse /proc/PID/smaps (or maps plus VmFlags) text: every mapping with the
 * "io" or "pf" VmFlag becomes an hva page range of type UC- (how device BARs
 * and PFNMAP regions are mapped by default).
 */
int kvmmt_hostmap_parse_smaps(struct kvmmt_hostmap *m, FILE *f,
			      struct kvmmt_err *e);

/*
 * Index of the first of @n sorted ranges (elements of @size bytes that
 * start with __u64 start, end) whose end is above @x.
 */
size_t kvmmt_ranges_first_above(const void *ranges, size_t n, size_t size, __u64 x);

/*
 * Read @path with @parse into @m, replacing its ranges only on success (a
 * file that cannot be read keeps what was known). 0, or -errno with @e.
 */
int kvmmt_hostmap_read(struct kvmmt_hostmap *m, const char *path,
		       int (*parse)(struct kvmmt_hostmap *, FILE *, struct kvmmt_err *),
		       struct kvmmt_err *e);

/* The device mappings of process @pid, from @proc_root (usually "/proc"). */
int kvmmt_hostmap_read_smaps(struct kvmmt_hostmap *m, const char *proc_root,
			     pid_t pid, struct kvmmt_err *e);

/*
 * A fingerprint (64-bit FNV-1a) of /proc/PID/maps: the process's mappings
 * without smaps' walk of every page table. A device mapping appears or
 * goes only with a change of it, so smaps need be read again only then.
 * 0, or -errno with @e.
 */
int kvmmt_hostmap_layout(const char *proc_root, pid_t pid, __u64 *sum,
			 struct kvmmt_err *e);

#endif

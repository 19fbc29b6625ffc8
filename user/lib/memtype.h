/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
#ifndef KVMMT_MEMTYPE_H
#define KVMMT_MEMTYPE_H

#include <stdbool.h>
#include <linux/types.h>
#include "kvmmt.h"

/*
 * Architecture-neutral memory types. x86 names are used for arm64 Normal
 * memory too (Normal-WB is WB, Normal-WT is WT); Normal-NC is its own type
 * because its ordering rules differ from x86 UC/WC.
 */
enum kvmmt_mt {
	KVMMT_MT_WB = 0,
	KVMMT_MT_WT,
	KVMMT_MT_WP,
	KVMMT_MT_WC,
	KVMMT_MT_UC_MINUS,
	KVMMT_MT_UC,
	KVMMT_MT_NORMAL_NC,	/* arm64 */
	KVMMT_MT_DEV_GRE,	/* arm64 Device-GRE */
	KVMMT_MT_DEV_nGRE,
	KVMMT_MT_DEV_nGnRE,
	KVMMT_MT_DEV_nGnRnE,
	KVMMT_MT_INVALID,	/* reserved encoding */
	KVMMT_MT__MAX,
};

/* What one installed SPTE says about memory type. */
struct kvmmt_memattr {
	enum kvmmt_mt mt;	/* type the SPTE itself encodes */
	bool ipat;		/* EPT: guest PAT ignored */
	bool guest_honoured;	/* the final type can depend on the guest */
};

/* Linux's IA32_PAT value (arch/x86/mm/pat/memtype.c), used when unreadable. */
#define KVMMT_LINUX_PAT	0x0407050600070106ULL

const char *kvmmt_mt_name(enum kvmmt_mt mt);
/* Parse a name as printed by kvmmt_mt_name() (case-insensitive); -EINVAL if unknown. */
int kvmmt_mt_parse(const char *name, enum kvmmt_mt *mt);
const char *kvmmt_fmt_name(enum kvmmt_fmt fmt);

/* Decode packed SPTE bits (kvmmt_spte_attr()) for @fmt; @host_pat for NPT/shadow. */
int kvmmt_attr_decode(enum kvmmt_fmt fmt, __u8 attr, __u64 host_pat,
		      struct kvmmt_memattr *out);

#endif

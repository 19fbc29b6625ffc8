/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
#ifndef KVMMT_MEMTYPE_H
#define KVMMT_MEMTYPE_H

/*
 * Memory-type decoders: pure functions over integers, one per table of the
 * architecture manuals (docs/memtypes.md cites each one).
 */
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
/* Parse "ept", "npt", "shadow", "s2", "s2-fwb" (case-insensitive); -EINVAL if unknown. */
int kvmmt_fmt_parse(const char *name, enum kvmmt_fmt *fmt);

/* Decode packed SPTE bits (kvmmt_spte_attr()) for @fmt; @host_pat for NPT/shadow. */
int kvmmt_attr_decode(enum kvmmt_fmt fmt, __u8 attr, __u64 host_pat,
		      struct kvmmt_memattr *out);
/* The same from a raw leaf SPTE at @level (1 = 4K, 2 = 2M, 3 = 1G). */
int kvmmt_spte_decode(enum kvmmt_fmt fmt, __u64 spte, int level, __u64 host_pat,
		      struct kvmmt_memattr *out);

/*
 * x86 memory-type encodings shared by IA32_PAT entries, MTRRs and the EPT
 * memtype field: 0 UC, 1 WC, 4 WT, 5 WP, 6 WB, 7 UC- (PAT only).
 * Other values give KVMMT_MT_INVALID.
 */
enum kvmmt_mt kvmmt_x86_mt(unsigned int enc);
/* Inverse of kvmmt_x86_mt(); -EINVAL for types x86 cannot encode. */
int kvmmt_x86_enc(enum kvmmt_mt mt);

/* Intel EPT leaf entries (SDM Vol. 3C, "EPT Translation Mechanism"). */
#define KVMMT_EPT_MT_SHIFT	3
#define KVMMT_EPT_MT_MASK	(7ULL << KVMMT_EPT_MT_SHIFT)
#define KVMMT_EPT_IPAT		(1ULL << 6)

/* EPT memtype field (bits 5:3): 0 UC, 1 WC, 4 WT, 5 WP, 6 WB; 2, 3, 7 reserved. */
enum kvmmt_mt kvmmt_ept_mt(unsigned int enc);
/*
 * SDM Table "Effective Page-Level Memory Types": the page-level type from
 * an MTRR (or EPT) type and a PAT type, with CR0.CD clear.
 */
enum kvmmt_mt kvmmt_mtrr_pat_effective(enum kvmmt_mt mtrr, enum kvmmt_mt pat);
/*
 * Effective type of a guest access through an EPT leaf: with IPAT the EPT
 * type alone, else the EPT type combined with the guest PAT type as if it
 * were the MTRR type (SDM "Memory Type Used for Translated Guest-Physical
 * Addresses").
 */
enum kvmmt_mt kvmmt_ept_effective(enum kvmmt_mt ept_mt, bool ipat,
				  enum kvmmt_mt guest_pat_mt);

/* x86 legacy PTE (shadow paging, AMD NPT): PWT bit 3, PCD bit 4, PAT bit 7/12. */
#define KVMMT_PTE_PWT		(1ULL << 3)
#define KVMMT_PTE_PCD		(1ULL << 4)
#define KVMMT_PTE_PAT_4K	(1ULL << 7)
#define KVMMT_PTE_PAT_LARGE	(1ULL << 12)

/* PAT index PAT:PCD:PWT of a leaf PTE at @level (1 = 4K, 2 = 2M, 3 = 1G). */
unsigned int kvmmt_pte_pat_index(__u64 pte, int level);
/* Entry @idx (0..7) of an IA32_PAT value. */
enum kvmmt_mt kvmmt_pat_entry(__u64 pat_msr, unsigned int idx);
/*
 * AMD nested paging: the host type (nested PTE through host PAT) combined
 * with the guest type (guest PTE through guest PAT), APM Vol. 2 "Combining
 * Memory Types": the more restrictive type wins (docs/memtypes.md).
 */
enum kvmmt_mt kvmmt_npt_effective(enum kvmmt_mt host_mt, enum kvmmt_mt guest_mt);

/* arm64 stage-2 MemAttr[3:0] (descriptor bits 5:2). */
#define KVMMT_S2_NORMAL		0xf	/* MT_S2_NORMAL */
#define KVMMT_S2_NORMAL_NC	0x5	/* MT_S2_NORMAL_NC */
#define KVMMT_S2_DEVICE_nGnRE	0x1	/* MT_S2_DEVICE_nGnRE */
#define KVMMT_S2_FWB_NORMAL	0x6	/* MT_S2_FWB_NORMAL */
#define KVMMT_S2_FWB_NORMAL_NC	0x5	/* MT_S2_FWB_NORMAL_NC */
#define KVMMT_S2_FWB_DEVICE_nGnRE 0x1	/* MT_S2_FWB_DEVICE_nGnRE */
#define KVMMT_S2_FWB_USE_S1	0x7	/* FWB: stage-1 attributes alone */

struct kvmmt_s2_attr {
	enum kvmmt_mt mt;	/* what stage 2 imposes (the stronger of outer/inner) */
	enum kvmmt_mt outer;	/* Normal: outer cacheability; Device: = mt */
	enum kvmmt_mt inner;	/* Normal: inner cacheability; Device: = mt */
	bool forced;		/* FWB: the final type is mt whatever stage 1 says */
	bool use_s1;		/* FWB 0b111: the final type is stage 1's */
};

/* Decode MemAttr[3:0]; reserved encodings give mt = KVMMT_MT_INVALID and -EINVAL. */
int kvmmt_s2_decode(unsigned int memattr, bool fwb, struct kvmmt_s2_attr *out);
/*
 * arm64 stage-1/stage-2 combining: the stronger type wins, Normal-WB <
 * Normal-WT < Normal-NC < Device-GRE < Device-nGRE < Device-nGnRE <
 * Device-nGnRnE. KVMMT_MT_INVALID if either is not an arm64 type.
 */
enum kvmmt_mt kvmmt_arm_combine(enum kvmmt_mt a, enum kvmmt_mt b);
/* Final type of a guest access: stage-1 type @s1 through stage 2 @s2. */
enum kvmmt_mt kvmmt_s2_effective(const struct kvmmt_s2_attr *s2, enum kvmmt_mt s1);

#endif

// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * Memory-type decoders. Every table here is transcribed from an
 * architecture manual; docs/memtypes.md names the source of each.
 */
#include <errno.h>
#include <strings.h>
#include "memtype.h"
#include "memattr.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char *const mt_names[KVMMT_MT__MAX] = {
	[KVMMT_MT_WB]		= "WB",
	[KVMMT_MT_WT]		= "WT",
	[KVMMT_MT_WP]		= "WP",
	[KVMMT_MT_WC]		= "WC",
	[KVMMT_MT_UC_MINUS]	= "UC-",
	[KVMMT_MT_UC]		= "UC",
	[KVMMT_MT_NORMAL_NC]	= "Normal-NC",
	[KVMMT_MT_DEV_GRE]	= "Device-GRE",
	[KVMMT_MT_DEV_nGRE]	= "Device-nGRE",
	[KVMMT_MT_DEV_nGnRE]	= "Device-nGnRE",
	[KVMMT_MT_DEV_nGnRnE]	= "Device-nGnRnE",
	[KVMMT_MT_INVALID]	= "invalid",
};

/* Other spellings accepted by kvmmt_mt_parse(): Linux and Arm ARM names. */
static const struct {
	const char *name;
	enum kvmmt_mt mt;
} mt_aliases[] = {
	{ "UC_MINUS", KVMMT_MT_UC_MINUS },
	{ "UC-MINUS", KVMMT_MT_UC_MINUS },
	{ "Normal-WB", KVMMT_MT_WB },
	{ "Normal-WT", KVMMT_MT_WT },
	{ "NC", KVMMT_MT_NORMAL_NC },
	{ "Normal_NC", KVMMT_MT_NORMAL_NC },
	{ "GRE", KVMMT_MT_DEV_GRE },
	{ "nGRE", KVMMT_MT_DEV_nGRE },
	{ "nGnRE", KVMMT_MT_DEV_nGnRE },
	{ "nGnRnE", KVMMT_MT_DEV_nGnRnE },
	{ "Device_nGnRE", KVMMT_MT_DEV_nGnRE },
	{ "Device_nGnRnE", KVMMT_MT_DEV_nGnRnE },
};

static const char *const fmt_names[KVMMT_FMT__MAX] = {
	[KVMMT_FMT_UNKNOWN]	= "unknown",
	[KVMMT_FMT_EPT]		= "ept",
	[KVMMT_FMT_NPT]		= "npt",
	[KVMMT_FMT_SHADOW]	= "shadow",
	[KVMMT_FMT_S2]		= "s2",
	[KVMMT_FMT_S2_FWB]	= "s2-fwb",
};

const char *kvmmt_mt_name(enum kvmmt_mt mt)
{
	if ((unsigned int)mt >= KVMMT_MT__MAX)
		return mt_names[KVMMT_MT_INVALID];
	return mt_names[mt];
}

/* Index of @name in @names[from..n) (case-insensitive), or -EINVAL. */
static int name_index(const char *const *names, int from, int n, const char *name)
{
	int i;

	for (i = from; name && i < n; i++)
		if (names[i] && !strcasecmp(name, names[i]))
			return i;
	return -EINVAL;
}

int kvmmt_mt_parse(const char *name, enum kvmmt_mt *mt)
{
	int i = name_index(mt_names, 0, KVMMT_MT_INVALID, name);
	size_t a;

	for (a = 0; i < 0 && name && a < ARRAY_SIZE(mt_aliases); a++)
		if (!strcasecmp(name, mt_aliases[a].name))
			i = mt_aliases[a].mt;
	if (i < 0)
		return -EINVAL;
	*mt = i;
	return 0;
}

const char *kvmmt_fmt_name(enum kvmmt_fmt fmt)
{
	if ((unsigned int)fmt >= KVMMT_FMT__MAX)
		return fmt_names[KVMMT_FMT_UNKNOWN];
	return fmt_names[fmt];
}

int kvmmt_fmt_parse(const char *name, enum kvmmt_fmt *fmt)
{
	int i = name_index(fmt_names, KVMMT_FMT_UNKNOWN + 1, KVMMT_FMT__MAX, name);

	if (i < 0)
		return -EINVAL;
	*fmt = i;
	return 0;
}

/* SDM "Memory Types That Can Be Encoded With PAT"; 2, 3 and 8+ reserved. */
static const enum kvmmt_mt x86_enc_mt[8] = {
	[0] = KVMMT_MT_UC,
	[1] = KVMMT_MT_WC,
	[2] = KVMMT_MT_INVALID,
	[3] = KVMMT_MT_INVALID,
	[4] = KVMMT_MT_WT,
	[5] = KVMMT_MT_WP,
	[6] = KVMMT_MT_WB,
	[7] = KVMMT_MT_UC_MINUS,
};

enum kvmmt_mt kvmmt_x86_mt(unsigned int enc)
{
	return enc < ARRAY_SIZE(x86_enc_mt) ? x86_enc_mt[enc] : KVMMT_MT_INVALID;
}

int kvmmt_x86_enc(enum kvmmt_mt mt)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(x86_enc_mt); i++)
		if (x86_enc_mt[i] == mt && mt != KVMMT_MT_INVALID)
			return i;
	return -EINVAL;
}

static bool is_x86_mt(enum kvmmt_mt mt)
{
	return mt <= KVMMT_MT_UC;
}

enum kvmmt_mt kvmmt_ept_mt(unsigned int enc)
{
	/* UC- (7) is a PAT-only type: an EPT misconfiguration. */
	if (enc == 7)
		return KVMMT_MT_INVALID;
	return kvmmt_x86_mt(enc);
}

/*
 * SDM Vol. 3A, Table "Effective Page-Level Memory Types for Pentium III and
 * More Recent Processor Families", indexed [MTRR type][PAT type].
 */
#define WB KVMMT_MT_WB
#define WT KVMMT_MT_WT
#define WP KVMMT_MT_WP
#define WC KVMMT_MT_WC
#define UCM KVMMT_MT_UC_MINUS
#define UC KVMMT_MT_UC
static const enum kvmmt_mt mtrr_pat[KVMMT_MT_UC + 1][KVMMT_MT_UC + 1] = {
	/* PAT:     WB  WT  WP  WC  UC- UC */
	[WB]  = {   WB, WT, WP, WC, UC, UC },
	[WT]  = {   WT, WT, WP, WC, UC, UC },
	[WP]  = {   WP, WT, WP, WC, WC, UC },
	[WC]  = {   WC, UC, UC, WC, WC, UC },
	[UCM] = {   KVMMT_MT_INVALID, KVMMT_MT_INVALID, KVMMT_MT_INVALID,
		    KVMMT_MT_INVALID, KVMMT_MT_INVALID, KVMMT_MT_INVALID },
	[UC]  = {   UC, UC, UC, WC, UC, UC },
};

/*
 * APM Vol. 2, "Combining Guest and Host PAT Types" (nested paging), indexed
 * [host][guest]; symmetric. UC wins, then UC- (the APM's CD); WC with WT or
 * WP keeps neither write policy and is UC-; WT with WP is WP.
 */
static const enum kvmmt_mt npt_combine[KVMMT_MT_UC + 1][KVMMT_MT_UC + 1] = {
	/* guest:   WB   WT   WP   WC   UC-  UC */
	[WB]  = {   WB,  WT,  WP,  WC,  UCM, UC },
	[WT]  = {   WT,  WT,  WP,  UCM, UCM, UC },
	[WP]  = {   WP,  WP,  WP,  UCM, UCM, UC },
	[WC]  = {   WC,  UCM, UCM, WC,  UCM, UC },
	[UCM] = {   UCM, UCM, UCM, UCM, UCM, UC },
	[UC]  = {   UC,  UC,  UC,  UC,  UC,  UC },
};
#undef WB
#undef WT
#undef WP
#undef WC
#undef UCM
#undef UC

enum kvmmt_mt kvmmt_mtrr_pat_effective(enum kvmmt_mt mtrr, enum kvmmt_mt pat)
{
	if (!is_x86_mt(mtrr) || !is_x86_mt(pat))
		return KVMMT_MT_INVALID;
	return mtrr_pat[mtrr][pat];
}

enum kvmmt_mt kvmmt_ept_effective(enum kvmmt_mt ept_mt, bool ipat,
				  enum kvmmt_mt guest_pat_mt)
{
	if (!is_x86_mt(ept_mt) || ept_mt == KVMMT_MT_UC_MINUS)
		return KVMMT_MT_INVALID;
	if (ipat)
		return ept_mt;
	return kvmmt_mtrr_pat_effective(ept_mt, guest_pat_mt);
}

unsigned int kvmmt_pte_pat_index(__u64 pte, int level)
{
	__u64 pat_bit = level > 1 ? KVMMT_PTE_PAT_LARGE : KVMMT_PTE_PAT_4K;

	return (!!(pte & KVMMT_PTE_PWT)) | (!!(pte & KVMMT_PTE_PCD)) << 1 |
	       (!!(pte & pat_bit)) << 2;
}

enum kvmmt_mt kvmmt_pat_entry(__u64 pat_msr, unsigned int idx)
{
	if (idx > 7)
		return KVMMT_MT_INVALID;
	return kvmmt_x86_mt((pat_msr >> (8 * idx)) & 0xff);
}

enum kvmmt_mt kvmmt_npt_effective(enum kvmmt_mt host_mt, enum kvmmt_mt guest_mt)
{
	if (!is_x86_mt(host_mt) || !is_x86_mt(guest_mt))
		return KVMMT_MT_INVALID;
	return npt_combine[host_mt][guest_mt];
}

/* Arm ARM stage-1/stage-2 combining order, weakest first; -1: not arm64. */
static int arm_rank(enum kvmmt_mt mt)
{
	switch (mt) {
	case KVMMT_MT_WB:		return 0;
	case KVMMT_MT_WT:		return 1;
	case KVMMT_MT_NORMAL_NC:	return 2;
	case KVMMT_MT_DEV_GRE:		return 3;
	case KVMMT_MT_DEV_nGRE:		return 4;
	case KVMMT_MT_DEV_nGnRE:	return 5;
	case KVMMT_MT_DEV_nGnRnE:	return 6;
	default:			return -1;
	}
}

enum kvmmt_mt kvmmt_arm_combine(enum kvmmt_mt a, enum kvmmt_mt b)
{
	int ra = arm_rank(a), rb = arm_rank(b);

	if (ra < 0 || rb < 0)
		return KVMMT_MT_INVALID;
	return ra >= rb ? a : b;
}

/* Device MemAttr[1:0]: 00 nGnRnE, 01 nGnRE, 10 nGRE, 11 GRE. */
static const enum kvmmt_mt s2_device[4] = {
	KVMMT_MT_DEV_nGnRnE, KVMMT_MT_DEV_nGnRE, KVMMT_MT_DEV_nGRE, KVMMT_MT_DEV_GRE,
};

/* Normal cacheability (outer MemAttr[3:2], inner [1:0]): 00 reserved here. */
static const enum kvmmt_mt s2_cache[4] = {
	KVMMT_MT_INVALID, KVMMT_MT_NORMAL_NC, KVMMT_MT_WT, KVMMT_MT_WB,
};

static int s2_set(struct kvmmt_s2_attr *out, enum kvmmt_mt outer,
		  enum kvmmt_mt inner, bool forced, bool use_s1)
{
	out->outer = outer;
	out->inner = inner;
	out->forced = forced;
	out->use_s1 = use_s1;
	if (outer == KVMMT_MT_INVALID || inner == KVMMT_MT_INVALID) {
		out->mt = KVMMT_MT_INVALID;
		return -EINVAL;
	}
	out->mt = kvmmt_arm_combine(outer, inner);
	return 0;
}

int kvmmt_s2_decode(unsigned int memattr, bool fwb, struct kvmmt_s2_attr *out)
{
	enum kvmmt_mt dev = s2_device[memattr & 3];

	if (memattr > 0xf)
		return s2_set(out, KVMMT_MT_INVALID, KVMMT_MT_INVALID, false, false);
	if (!fwb) {
		/* Arm ARM "Stage 2 memory type and Cacheability attributes". */
		if (!(memattr >> 2))
			return s2_set(out, dev, dev, false, false);
		return s2_set(out, s2_cache[memattr >> 2], s2_cache[memattr & 3],
			      false, false);
	}
	/* FEAT_S2FWB: MemAttr[3] set is reserved outside FEAT_MTE_PERM. */
	if (memattr & 8)
		return s2_set(out, KVMMT_MT_INVALID, KVMMT_MT_INVALID, false, false);
	switch (memattr) {
	case 0: case 1: case 2: case 3:
		return s2_set(out, dev, dev, false, false);
	case KVMMT_S2_FWB_NORMAL_NC:
		return s2_set(out, KVMMT_MT_NORMAL_NC, KVMMT_MT_NORMAL_NC, false, false);
	case KVMMT_S2_FWB_NORMAL:
		return s2_set(out, KVMMT_MT_WB, KVMMT_MT_WB, true, false);
	case KVMMT_S2_FWB_USE_S1:
		/* Stage 1 decides; report Normal-WB, the type stage 2 adds nothing to. */
		return s2_set(out, KVMMT_MT_WB, KVMMT_MT_WB, false, true);
	default:
		return s2_set(out, KVMMT_MT_INVALID, KVMMT_MT_INVALID, false, false);
	}
}

enum kvmmt_mt kvmmt_s2_effective(const struct kvmmt_s2_attr *s2, enum kvmmt_mt s1)
{
	if (s2->mt == KVMMT_MT_INVALID || arm_rank(s1) < 0)
		return KVMMT_MT_INVALID;
	if (s2->forced)
		return s2->mt;
	if (s2->use_s1)
		return s1;
	return kvmmt_arm_combine(s1, s2->mt);
}

/* Could two guest-side types give different final types? */
typedef enum kvmmt_mt (*combine_fn)(const void *ctx, enum kvmmt_mt guest);

static bool depends_on_guest(combine_fn fn, const void *ctx, bool arm)
{
	enum kvmmt_mt g, first = KVMMT_MT__MAX;

	for (g = 0; g < KVMMT_MT_INVALID; g++) {
		enum kvmmt_mt r;

		if (arm ? arm_rank(g) < 0 : !is_x86_mt(g))
			continue;
		r = fn(ctx, g);
		if (first == KVMMT_MT__MAX)
			first = r;
		else if (r != first)
			return true;
	}
	return false;
}

static enum kvmmt_mt ept_with(const void *ctx, enum kvmmt_mt guest)
{
	const struct kvmmt_memattr *m = ctx;

	return kvmmt_ept_effective(m->mt, m->ipat, guest);
}

static enum kvmmt_mt npt_with(const void *ctx, enum kvmmt_mt guest)
{
	return kvmmt_npt_effective(((const struct kvmmt_memattr *)ctx)->mt, guest);
}

static enum kvmmt_mt s2_with(const void *ctx, enum kvmmt_mt guest)
{
	return kvmmt_s2_effective(ctx, guest);
}

int kvmmt_attr_decode(enum kvmmt_fmt fmt, __u8 attr, __u64 host_pat,
		      struct kvmmt_memattr *out)
{
	struct kvmmt_s2_attr s2;

	out->mt = KVMMT_MT_INVALID;
	out->ipat = false;
	out->guest_honoured = false;
	switch (fmt) {
	case KVMMT_FMT_EPT:
		if (attr > 0xf)
			return -EINVAL;
		out->mt = kvmmt_ept_mt(attr & 7);
		out->ipat = attr & 8;
		break;
	case KVMMT_FMT_NPT:
	case KVMMT_FMT_SHADOW:
		if (attr > 7)
			return -EINVAL;
		out->mt = kvmmt_pat_entry(host_pat, attr);
		break;
	case KVMMT_FMT_S2:
	case KVMMT_FMT_S2_FWB:
		if (attr > 0xf)
			return -EINVAL;
		kvmmt_s2_decode(attr, fmt == KVMMT_FMT_S2_FWB, &s2);
		out->mt = s2.mt;
		break;
	default:
		return -EINVAL;
	}
	if (out->mt == KVMMT_MT_INVALID)
		return 0;

	/*
	 * Shadow paging: the guest's PAT bits and IA32_PAT never reach the
	 * hardware, only the SPTE's bits through the host PAT do.
	 */
	switch (fmt) {
	case KVMMT_FMT_EPT:
		out->guest_honoured = depends_on_guest(ept_with, out, false);
		break;
	case KVMMT_FMT_NPT:
		out->guest_honoured = depends_on_guest(npt_with, out, false);
		break;
	case KVMMT_FMT_S2:
	case KVMMT_FMT_S2_FWB:
		out->guest_honoured = depends_on_guest(s2_with, &s2, true);
		break;
	default:
		break;
	}
	return 0;
}

int kvmmt_spte_decode(enum kvmmt_fmt fmt, __u64 spte, int level, __u64 host_pat,
		      struct kvmmt_memattr *out)
{
	return kvmmt_attr_decode(fmt, kvmmt_spte_attr(fmt, spte, level), host_pat, out);
}

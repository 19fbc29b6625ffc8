// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * Memory-type decoders against the manuals' tables, row by row.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include "memtype.h"
#include "memattr.h"

#define WB KVMMT_MT_WB
#define WT KVMMT_MT_WT
#define WP KVMMT_MT_WP
#define WC KVMMT_MT_WC
#define UCM KVMMT_MT_UC_MINUS
#define UC KVMMT_MT_UC
#define NC KVMMT_MT_NORMAL_NC
#define GRE KVMMT_MT_DEV_GRE
#define nGRE KVMMT_MT_DEV_nGRE
#define nGnRE KVMMT_MT_DEV_nGnRE
#define nGnRnE KVMMT_MT_DEV_nGnRnE
#define INV KVMMT_MT_INVALID

#define N(a) (sizeof(a) / sizeof((a)[0]))

Test(names, every_type_round_trips)
{
	enum kvmmt_mt mt, back;

	for (mt = 0; mt < KVMMT_MT_INVALID; mt++) {
		cr_assert_eq(kvmmt_mt_parse(kvmmt_mt_name(mt), &back), 0,
			     "%s does not parse", kvmmt_mt_name(mt));
		cr_assert_eq(back, mt);
	}
}

Test(names, spellings)
{
	static const struct { const char *s; int ret; enum kvmmt_mt mt; } t[] = {
		{ "wb", 0, WB }, { "UC-", 0, UCM }, { "uc_minus", 0, UCM },
		{ "uc", 0, UC }, { "Normal-WB", 0, WB }, { "normal-nc", 0, NC },
		{ "NC", 0, NC }, { "nGnRnE", 0, nGnRnE }, { "device-gre", 0, GRE },
		{ "invalid", -EINVAL, WB }, { "", -EINVAL, WB }, { "UC--", -EINVAL, WB },
		{ "W B", -EINVAL, WB },
	};
	size_t i;

	for (i = 0; i < N(t); i++) {
		enum kvmmt_mt mt = WB;

		cr_assert_eq(kvmmt_mt_parse(t[i].s, &mt), t[i].ret, "\"%s\"", t[i].s);
		if (!t[i].ret)
			cr_assert_eq(mt, t[i].mt, "\"%s\"", t[i].s);
	}
	cr_assert_eq(kvmmt_mt_parse(NULL, NULL), -EINVAL);
	cr_assert_str_eq(kvmmt_mt_name(KVMMT_MT__MAX), "invalid");
	cr_assert_str_eq(kvmmt_mt_name((enum kvmmt_mt)-1), "invalid");
	cr_assert_str_eq(kvmmt_mt_name(UCM), "UC-");
}

Test(names, formats)
{
	enum kvmmt_fmt f, back;

	for (f = KVMMT_FMT_EPT; f < KVMMT_FMT__MAX; f++) {
		cr_assert_eq(kvmmt_fmt_parse(kvmmt_fmt_name(f), &back), 0);
		cr_assert_eq(back, f);
	}
	cr_assert_str_eq(kvmmt_fmt_name(KVMMT_FMT_EPT), "ept");
	cr_assert_str_eq(kvmmt_fmt_name(KVMMT_FMT_S2_FWB), "s2-fwb");
	cr_assert_str_eq(kvmmt_fmt_name(KVMMT_FMT__MAX), "unknown");
	cr_assert_eq(kvmmt_fmt_parse("unknown", &back), -EINVAL);
	cr_assert_eq(kvmmt_fmt_parse("SHADOW", &back), 0);
	cr_assert_eq(back, KVMMT_FMT_SHADOW);
}

/* SDM "Memory Types That Can Be Encoded With PAT". */
Test(x86, encodings)
{
	static const enum kvmmt_mt t[] = { UC, WC, INV, INV, WT, WP, WB, UCM, INV };
	unsigned int i;

	for (i = 0; i < N(t); i++) {
		cr_assert_eq(kvmmt_x86_mt(i), t[i], "encoding %u", i);
		if (t[i] != INV)
			cr_assert_eq(kvmmt_x86_enc(t[i]), (int)i);
	}
	cr_assert_eq(kvmmt_x86_mt(0xff), INV);
	cr_assert_eq(kvmmt_x86_enc(NC), -EINVAL);
	cr_assert_eq(kvmmt_x86_enc(INV), -EINVAL);
}

/* SDM EPT leaf: memtype 5:3 (2, 3, 7 reserved), IPAT bit 6. */
Test(ept, memtype_field)
{
	static const enum kvmmt_mt t[8] = { UC, WC, INV, INV, WT, WP, WB, INV };
	unsigned int i;

	for (i = 0; i < 8; i++)
		cr_assert_eq(kvmmt_ept_mt(i), t[i], "EPT memtype %u", i);
	cr_assert_eq(KVMMT_EPT_MT_MASK, 0x38ULL);
	cr_assert_eq(KVMMT_EPT_IPAT, 0x40ULL);
}

/* SDM Vol. 3A Table 11-7, every row (MTRR/EPT type, PAT type, effective). */
static const struct { enum kvmmt_mt mtrr, pat, eff; } table_11_7[] = {
	{ UC, UC, UC }, { UC, UCM, UC }, { UC, WC, WC }, { UC, WT, UC }, { UC, WB, UC }, { UC, WP, UC },
	{ WC, UC, UC }, { WC, UCM, WC }, { WC, WC, WC }, { WC, WT, UC }, { WC, WB, WC }, { WC, WP, UC },
	{ WT, UC, UC }, { WT, UCM, UC }, { WT, WC, WC }, { WT, WT, WT }, { WT, WB, WT }, { WT, WP, WP },
	{ WB, UC, UC }, { WB, UCM, UC }, { WB, WC, WC }, { WB, WT, WT }, { WB, WB, WB }, { WB, WP, WP },
	{ WP, UC, UC }, { WP, UCM, WC }, { WP, WC, WC }, { WP, WT, WT }, { WP, WB, WP }, { WP, WP, WP },
};

Test(ept, effective_without_ipat_is_table_11_7)
{
	size_t i;

	cr_assert_eq(N(table_11_7), 30);
	for (i = 0; i < N(table_11_7); i++) {
		cr_assert_eq(kvmmt_mtrr_pat_effective(table_11_7[i].mtrr, table_11_7[i].pat),
			     table_11_7[i].eff, "MTRR %s PAT %s",
			     kvmmt_mt_name(table_11_7[i].mtrr), kvmmt_mt_name(table_11_7[i].pat));
		cr_assert_eq(kvmmt_ept_effective(table_11_7[i].mtrr, false, table_11_7[i].pat),
			     table_11_7[i].eff, "EPT %s guest PAT %s",
			     kvmmt_mt_name(table_11_7[i].mtrr), kvmmt_mt_name(table_11_7[i].pat));
	}
}

Test(ept, ipat_uses_ept_type)
{
	static const enum kvmmt_mt ept[] = { UC, WC, WT, WP, WB };
	static const enum kvmmt_mt pat[] = { UC, UCM, WC, WT, WP, WB };
	size_t i, j;

	for (i = 0; i < N(ept); i++)
		for (j = 0; j < N(pat); j++)
			cr_assert_eq(kvmmt_ept_effective(ept[i], true, pat[j]), ept[i]);
}

Test(ept, kvm_cases)
{
	/* vmx_get_mt_mask(): RAM without noncoherent DMA is WB|IPAT. */
	cr_assert_eq(kvmmt_ept_effective(WB, true, UC), WB);
	/* With noncoherent DMA: WB without IPAT, guest PAT decides. */
	cr_assert_eq(kvmmt_ept_effective(WB, false, UC), UC);
	cr_assert_eq(kvmmt_ept_effective(WB, false, WC), WC);
	cr_assert_eq(kvmmt_ept_effective(WB, false, UCM), UC);
	/* MMIO is EPT UC without IPAT so that a guest WC mapping stays WC. */
	cr_assert_eq(kvmmt_ept_effective(UC, false, WC), WC);
	cr_assert_eq(kvmmt_ept_effective(UC, false, WB), UC);
	/* Not EPT types. */
	cr_assert_eq(kvmmt_ept_effective(UCM, false, WB), INV);
	cr_assert_eq(kvmmt_ept_effective(NC, true, WB), INV);
	cr_assert_eq(kvmmt_ept_effective(WB, false, NC), INV);
	cr_assert_eq(kvmmt_mtrr_pat_effective(UCM, WB), INV);
}

/* PAT index = PAT:PCD:PWT; PAT is bit 7 in a 4K PTE, bit 12 in a 2M/1G one. */
Test(pat, index_from_pte)
{
	unsigned int idx;

	for (idx = 0; idx < 8; idx++) {
		__u64 low = (idx & 1 ? KVMMT_PTE_PWT : 0) | (idx & 2 ? KVMMT_PTE_PCD : 0);
		__u64 p4k = low | (idx & 4 ? KVMMT_PTE_PAT_4K : 0) | 0x67;
		__u64 plg = low | (idx & 4 ? KVMMT_PTE_PAT_LARGE : 0) | 0x80 | 0x67;

		cr_assert_eq(kvmmt_pte_pat_index(p4k, 1), idx, "4K index %u", idx);
		cr_assert_eq(kvmmt_pte_pat_index(plg, 2), idx, "2M index %u", idx);
		cr_assert_eq(kvmmt_pte_pat_index(plg, 3), idx, "1G index %u", idx);
		/* The PS bit (7) of a large page is not its PAT bit. */
		cr_assert_eq(kvmmt_pte_pat_index(plg & ~KVMMT_PTE_PAT_LARGE, 2), idx & 3);
	}
	/* Bit 12 in a 4K PTE is an address bit. */
	cr_assert_eq(kvmmt_pte_pat_index(0x1000 | 0x67, 1), 0);
}

/* Linux: PAT_VALUE(WB, WC, UC_MINUS, UC, WB, WP, UC_MINUS, WT). */
Test(pat, linux_pat)
{
	static const enum kvmmt_mt t[8] = { WB, WC, UCM, UC, WB, WP, UCM, WT };
	unsigned int i;

	for (i = 0; i < 8; i++)
		cr_assert_eq(kvmmt_pat_entry(KVMMT_LINUX_PAT, i), t[i], "PAT%u", i);
	cr_assert_eq(kvmmt_pat_entry(KVMMT_LINUX_PAT, 8), INV);
	/* Power-on IA32_PAT: WB WT UC- UC WB WT UC- UC. */
	cr_assert_eq(kvmmt_pat_entry(0x0007040600070406ULL, 1), WT);
	cr_assert_eq(kvmmt_pat_entry(0x0007040600070406ULL, 2), UCM);
	/* Reserved encodings and reserved high bits of an entry. */
	cr_assert_eq(kvmmt_pat_entry(0x02, 0), INV);
	cr_assert_eq(kvmmt_pat_entry(0x0300, 1), INV);
	cr_assert_eq(kvmmt_pat_entry(0x0e, 0), INV);
}

/* APM "Combining Guest and Host PAT Types": every cell, both ways round. */
Test(npt, combining)
{
	static const enum kvmmt_mt ty[] = { WB, WT, WP, WC, UCM, UC };
	static const enum kvmmt_mt want[6][6] = {
		/*          WB   WT   WP   WC   UC-  UC */
		/* WB  */ { WB,  WT,  WP,  WC,  UCM, UC },
		/* WT  */ { WT,  WT,  WP,  UCM, UCM, UC },
		/* WP  */ { WP,  WP,  WP,  UCM, UCM, UC },
		/* WC  */ { WC,  UCM, UCM, WC,  UCM, UC },
		/* UC- */ { UCM, UCM, UCM, UCM, UCM, UC },
		/* UC  */ { UC,  UC,  UC,  UC,  UC,  UC },
	};
	/*
	 * The APM's rule behind the table, as a second, independent oracle: the
	 * stronger of the two types wins (WB < WT < WP < WC < UC- < UC), except
	 * that write-combining with WT or WP gives UC-.
	 */
	static const int strength[] = { [WB] = 0, [WT] = 1, [WP] = 2, [WC] = 3, [UCM] = 4, [UC] = 5 };
	size_t h, g;

	for (h = 0; h < N(ty); h++) {
		for (g = 0; g < N(ty); g++) {
			enum kvmmt_mt a = ty[h], b = ty[g], rule;

			if ((a == WC && (b == WT || b == WP)) || (b == WC && (a == WT || a == WP)))
				rule = UCM;
			else
				rule = strength[a] >= strength[b] ? a : b;
			cr_assert_eq(kvmmt_npt_effective(a, b), want[h][g],
				     "host %s guest %s", kvmmt_mt_name(a), kvmmt_mt_name(b));
			cr_assert_eq(kvmmt_npt_effective(a, b), rule, "host %s guest %s: the APM rule",
				     kvmmt_mt_name(a), kvmmt_mt_name(b));
		}
	}
	/* KVM maps guest RAM with host PAT0 = WB: the guest's type is the result. */
	for (g = 0; g < N(ty); g++)
		cr_assert_eq(kvmmt_npt_effective(kvmmt_pat_entry(KVMMT_LINUX_PAT, 0), ty[g]), ty[g]);
	cr_assert_eq(kvmmt_npt_effective(NC, WB), INV);
	cr_assert_eq(kvmmt_npt_effective(WB, INV), INV);
}

/* arm64 stage 2 without FWB: every MemAttr[3:0] encoding. */
Test(s2, memattr_without_fwb)
{
	static const struct { unsigned int ma; enum kvmmt_mt mt, outer, inner; } t[] = {
		{ 0x0, nGnRnE, nGnRnE, nGnRnE }, { 0x1, nGnRE, nGnRE, nGnRE },
		{ 0x2, nGRE, nGRE, nGRE }, { 0x3, GRE, GRE, GRE },
		{ 0x4, INV, NC, INV }, { 0x5, NC, NC, NC }, { 0x6, NC, NC, WT }, { 0x7, NC, NC, WB },
		{ 0x8, INV, WT, INV }, { 0x9, NC, WT, NC }, { 0xa, WT, WT, WT }, { 0xb, WT, WT, WB },
		{ 0xc, INV, WB, INV }, { 0xd, NC, WB, NC }, { 0xe, WT, WB, WT }, { 0xf, WB, WB, WB },
	};
	size_t i;

	cr_assert_eq(N(t), 16);
	for (i = 0; i < N(t); i++) {
		struct kvmmt_s2_attr a;
		int ret = kvmmt_s2_decode(t[i].ma, false, &a);

		cr_assert_eq(ret, t[i].mt == INV ? -EINVAL : 0, "MemAttr %#x", t[i].ma);
		cr_assert_eq(a.mt, t[i].mt, "MemAttr %#x: %s", t[i].ma, kvmmt_mt_name(a.mt));
		cr_assert_eq(a.outer, t[i].outer, "MemAttr %#x outer", t[i].ma);
		cr_assert_eq(a.inner, t[i].inner, "MemAttr %#x inner", t[i].ma);
		cr_assert(!a.forced && !a.use_s1);
	}
}

/* Linux's stage-2 constants (arch/arm64/include/asm/memory.h). */
Test(s2, linux_constants)
{
	struct kvmmt_s2_attr a;

	cr_assert_eq(kvmmt_s2_decode(KVMMT_S2_NORMAL, false, &a), 0);
	cr_assert_eq(a.mt, WB);
	cr_assert_eq(kvmmt_s2_decode(KVMMT_S2_NORMAL_NC, false, &a), 0);
	cr_assert_eq(a.mt, NC);
	cr_assert_eq(kvmmt_s2_decode(KVMMT_S2_DEVICE_nGnRE, false, &a), 0);
	cr_assert_eq(a.mt, nGnRE);
	cr_assert_eq(kvmmt_s2_decode(KVMMT_S2_FWB_NORMAL, true, &a), 0);
	cr_assert_eq(a.mt, WB);
	cr_assert(a.forced);
	cr_assert_eq(kvmmt_s2_decode(KVMMT_S2_FWB_NORMAL_NC, true, &a), 0);
	cr_assert_eq(a.mt, NC);
	cr_assert_eq(kvmmt_s2_decode(KVMMT_S2_FWB_DEVICE_nGnRE, true, &a), 0);
	cr_assert_eq(a.mt, nGnRE);
	cr_assert_eq(kvmmt_s2_decode(0x10, false, &a), -EINVAL);
	cr_assert_eq(a.mt, INV);
}

/* FEAT_S2FWB: MemAttr[2] = 0 Device; 0b101 NC; 0b110 forced WB; 0b111 stage 1. */
Test(s2, memattr_with_fwb)
{
	static const struct { unsigned int ma; enum kvmmt_mt mt; bool forced, use_s1; } t[] = {
		{ 0x0, nGnRnE, false, false }, { 0x1, nGnRE, false, false },
		{ 0x2, nGRE, false, false }, { 0x3, GRE, false, false },
		{ 0x4, INV, false, false }, { 0x5, NC, false, false },
		{ 0x6, WB, true, false }, { 0x7, WB, false, true },
		{ 0x8, INV, false, false }, { 0xe, INV, false, false },
	};
	size_t i;

	for (i = 0; i < N(t); i++) {
		struct kvmmt_s2_attr a;

		kvmmt_s2_decode(t[i].ma, true, &a);
		cr_assert_eq(a.mt, t[i].mt, "FWB MemAttr %#x: %s", t[i].ma, kvmmt_mt_name(a.mt));
		cr_assert_eq(a.forced, t[i].forced, "FWB MemAttr %#x", t[i].ma);
		cr_assert_eq(a.use_s1, t[i].use_s1, "FWB MemAttr %#x", t[i].ma);
	}
}

/* Seed 002: Normal-WB < Normal-WT < Normal-NC < GRE < nGRE < nGnRE < nGnRnE. */
Test(arm, combining_order)
{
	static const enum kvmmt_mt order[] = { WB, WT, NC, GRE, nGRE, nGnRE, nGnRnE };
	size_t i, j;

	for (i = 0; i < N(order); i++)
		for (j = 0; j < N(order); j++)
			cr_assert_eq(kvmmt_arm_combine(order[i], order[j]),
				     order[i > j ? i : j], "%s + %s",
				     kvmmt_mt_name(order[i]), kvmmt_mt_name(order[j]));
	cr_assert_eq(kvmmt_arm_combine(WC, WB), INV);
	cr_assert_eq(kvmmt_arm_combine(WB, UC), INV);
}

/* Final type of a guest access: stage-1 type through a stage-2 MemAttr. */
Test(arm, stage2_effective)
{
	static const struct {
		unsigned int ma; bool fwb; enum kvmmt_mt s1, want;
	} t[] = {
		/* The seed's case: guest Normal-NC through stage-2 Device-nGnRE. */
		{ KVMMT_S2_DEVICE_nGnRE, false, NC, nGnRE },
		{ KVMMT_S2_DEVICE_nGnRE, false, nGnRnE, nGnRnE },
		/* Stage 2 Normal-NC: the guest keeps NC, or Device when it asks. */
		{ KVMMT_S2_NORMAL_NC, false, WB, NC },
		{ KVMMT_S2_NORMAL_NC, false, GRE, GRE },
		/* Stage 2 Normal-WB: stage 1 decides. */
		{ KVMMT_S2_NORMAL, false, WT, WT },
		{ KVMMT_S2_NORMAL, false, nGRE, nGRE },
		/* FWB forced WB overrides a stage-1 Device or NC mapping. */
		{ KVMMT_S2_FWB_NORMAL, true, nGnRnE, WB },
		{ KVMMT_S2_FWB_NORMAL, true, NC, WB },
		/* FWB 0b111: stage 1 alone. */
		{ KVMMT_S2_FWB_USE_S1, true, NC, NC },
		{ KVMMT_S2_FWB_USE_S1, true, WB, WB },
		/* FWB NC: a stage-1 Device type still wins. */
		{ KVMMT_S2_FWB_NORMAL_NC, true, WB, NC },
		{ KVMMT_S2_FWB_NORMAL_NC, true, nGnRE, nGnRE },
		/* Not arm64 types, or a reserved stage-2 encoding. */
		{ KVMMT_S2_FWB_NORMAL_NC, true, WC, INV },
		{ 0x4, false, WB, INV },
	};
	size_t i;

	for (i = 0; i < N(t); i++) {
		struct kvmmt_s2_attr a;

		kvmmt_s2_decode(t[i].ma, t[i].fwb, &a);
		cr_assert_eq(kvmmt_s2_effective(&a, t[i].s1), t[i].want,
			     "MemAttr %#x%s, stage 1 %s", t[i].ma, t[i].fwb ? " (FWB)" : "",
			     kvmmt_mt_name(t[i].s1));
	}
}

/* Packed attributes as bpf/memattr.h builds them from real SPTE values. */
Test(attr, ept_from_spte)
{
	static const struct { __u64 spte; enum kvmmt_mt mt; bool ipat, honoured; } t[] = {
		/* KVM RAM without noncoherent DMA: WB | IPAT | RWX. */
		{ 0x1234000ULL | 6 << 3 | 1 << 6 | 7, WB, true, false },
		/* With noncoherent DMA: WB without IPAT. */
		{ 0x1234000ULL | 6 << 3 | 7, WB, false, true },
		/* MMIO: UC without IPAT, guest WC still possible. */
		{ 0x1234000ULL | 0 << 3 | 7, UC, false, true },
		{ 0x1234000ULL | 0 << 3 | 1 << 6 | 7, UC, true, false },
		{ 0x1234000ULL | 1 << 3 | 7, WC, false, true },
		{ 0x1234000ULL | 4 << 3 | 7, WT, false, true },
		{ 0x1234000ULL | 5 << 3 | 7, WP, false, true },
		{ 0x1234000ULL | 2 << 3 | 7, INV, false, false },
		{ 0x1234000ULL | 7 << 3 | 1 << 6 | 7, INV, true, false },
	};
	size_t i;

	for (i = 0; i < N(t); i++) {
		struct kvmmt_memattr m;

		cr_assert_eq(kvmmt_spte_decode(KVMMT_FMT_EPT, t[i].spte, 1, 0, &m), 0);
		cr_assert_eq(m.mt, t[i].mt, "SPTE %#llx: %s", (unsigned long long)t[i].spte,
			     kvmmt_mt_name(m.mt));
		cr_assert_eq(m.ipat, t[i].ipat, "SPTE %#llx", (unsigned long long)t[i].spte);
		cr_assert_eq(m.guest_honoured, t[i].honoured, "SPTE %#llx",
			     (unsigned long long)t[i].spte);
	}
}

Test(attr, shadow_and_npt)
{
	struct kvmmt_memattr m;
	unsigned int idx;

	/* What this host's shadow MMU installs: 0x...067, WB, guest not honoured. */
	cr_assert_eq(kvmmt_spte_decode(KVMMT_FMT_SHADOW, 0x8000000123456067ULL, 1,
				       KVMMT_LINUX_PAT, &m), 0);
	cr_assert_eq(m.mt, WB);
	cr_assert(!m.ipat && !m.guest_honoured);

	for (idx = 0; idx < 8; idx++) {
		enum kvmmt_mt host = kvmmt_pat_entry(KVMMT_LINUX_PAT, idx);

		cr_assert_eq(kvmmt_attr_decode(KVMMT_FMT_SHADOW, idx, KVMMT_LINUX_PAT, &m), 0);
		cr_assert_eq(m.mt, host);
		cr_assert(!m.guest_honoured);
		cr_assert_eq(kvmmt_attr_decode(KVMMT_FMT_NPT, idx, KVMMT_LINUX_PAT, &m), 0);
		cr_assert_eq(m.mt, host);
		/* Only a host UC leaves the guest nothing to choose. */
		cr_assert_eq(m.guest_honoured, host != UC, "PAT%u %s", idx, kvmmt_mt_name(host));
	}
	/* A 2M NPT entry with PAT (bit 12) and PCD: index 6 = UC- under Linux PAT. */
	cr_assert_eq(kvmmt_spte_decode(KVMMT_FMT_NPT, 0x200000ULL | 1 << 12 | 0x10 | 0xe7, 2,
				       KVMMT_LINUX_PAT, &m), 0);
	cr_assert_eq(m.mt, UCM);
	cr_assert_eq(kvmmt_attr_decode(KVMMT_FMT_NPT, 8, KVMMT_LINUX_PAT, &m), -EINVAL);
	cr_assert_eq(kvmmt_attr_decode(KVMMT_FMT_UNKNOWN, 0, KVMMT_LINUX_PAT, &m), -EINVAL);
	cr_assert_eq(kvmmt_attr_decode(KVMMT_FMT__MAX, 0, KVMMT_LINUX_PAT, &m), -EINVAL);
	cr_assert_eq(kvmmt_attr_decode(KVMMT_FMT_EPT, 0x10, 0, &m), -EINVAL);
}

Test(attr, arm_stage2)
{
	struct kvmmt_memattr m;

	/* MemAttr sits in descriptor bits 5:2. */
	cr_assert_eq(kvmmt_spte_decode(KVMMT_FMT_S2, 0x40000000ULL | KVMMT_S2_NORMAL << 2 | 3,
				       3, 0, &m), 0);
	cr_assert_eq(m.mt, WB);
	cr_assert(m.guest_honoured);
	cr_assert_eq(kvmmt_attr_decode(KVMMT_FMT_S2, 0x0, 0, &m), 0);
	cr_assert_eq(m.mt, nGnRnE);
	cr_assert(!m.guest_honoured);
	cr_assert_eq(kvmmt_attr_decode(KVMMT_FMT_S2, 0x4, 0, &m), 0);
	cr_assert_eq(m.mt, INV);
	cr_assert_eq(kvmmt_attr_decode(KVMMT_FMT_S2_FWB, KVMMT_S2_FWB_NORMAL, 0, &m), 0);
	cr_assert_eq(m.mt, WB);
	cr_assert(!m.guest_honoured);
	cr_assert_eq(kvmmt_attr_decode(KVMMT_FMT_S2_FWB, KVMMT_S2_FWB_USE_S1, 0, &m), 0);
	cr_assert(m.guest_honoured);
	cr_assert_eq(kvmmt_attr_decode(KVMMT_FMT_S2_FWB, KVMMT_S2_FWB_NORMAL_NC, 0, &m), 0);
	cr_assert_eq(m.mt, NC);
	cr_assert(m.guest_honoured);
	cr_assert(!m.ipat);
}

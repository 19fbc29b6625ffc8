// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * The risk model on event streams built from the documented semantics:
 * each class, range merging and splitting, memslot flags, noncoherent DMA
 * count changes, zaps removing state, and the host-side parsers.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "policy.h"

static struct kvmmt_policy_vm *vm;
static struct kvmmt_err err;

static void setup(void)
{
	vm = kvmmt_policy_vm_new();
	cr_assert_not_null(vm);
	memset(&err, 0, sizeof(err));
}

static void teardown(void)
{
	kvmmt_policy_vm_free(vm);
}

TestSuite(policy, .init = setup, .fini = teardown);

/* EPT with IPAT: forced WB, guest types ignored. */
static const struct kvmmt_memattr forced_wb = { KVMMT_MT_WB, true, false };
/* EPT without IPAT: guest PAT combines with the EPT type. */
static const struct kvmmt_memattr honoured_wb = { KVMMT_MT_WB, false, true };
static const struct kvmmt_memattr honoured_wc = { KVMMT_MT_WC, false, true };
static const struct kvmmt_memattr honoured_uc = { KVMMT_MT_UC, false, true };

static void install(__u64 gfn, __u64 pfn, __u16 slot, __u8 level,
		    struct kvmmt_memattr ma)
{
	struct kvmmt_install in = {
		.gfn = gfn, .pfn = pfn, .slot = slot, .level = level, .ma = ma,
	};

	cr_assert_eq(kvmmt_policy_install(vm, &in, &err), 0, "install: %s", err.msg);
}

static struct kvmmt_policy_summary summary(void)
{
	struct kvmmt_policy_summary s;

	kvmmt_policy_summary(vm, &s);
	return s;
}

static FILE *text(const char *s)
{
	FILE *f = fmemopen((void *)s, strlen(s), "r");

	cr_assert_not_null(f);
	return f;
}

Test(policy, empty_vm_is_none)
{
	struct kvmmt_policy_summary s = summary();

	cr_assert_eq(s.risk, KVMMT_RISK_NONE);
	cr_assert_eq(s.why, 0);
	cr_assert_eq(s.nr_ranges, 0);
}

Test(policy, forced_wb_installs_are_none_and_merge)
{
	/* 1000 contiguous 4K installs with scattered pfns: one range. */
	for (__u64 g = 0; g < 1000; g++)
		install(0x100 + g, 0x9000 + (g * 7919) % 100000, 0, 1, forced_wb);
	struct kvmmt_policy_summary s = summary();

	cr_assert_eq(s.risk, KVMMT_RISK_NONE);
	cr_assert_eq(s.installs, 1000);
	cr_assert_eq(s.installs_by_mt[KVMMT_MT_WB], 1000);
	cr_assert_eq(kvmmt_policy_nr_ranges(vm), 1);
	const struct kvmmt_gfn_range *r = kvmmt_policy_range(vm, 0);
	cr_assert_eq(r->start, 0x100);
	cr_assert_eq(r->end, 0x100 + 1000);
	cr_assert_eq(r->host_mt, KVMMT_MT_WB);
	cr_assert(!r->conflict);
}

Test(policy, installs_in_reverse_order_merge_both_sides)
{
	install(10, 1, 0, 1, forced_wb);
	install(12, 2, 0, 1, forced_wb);
	cr_assert_eq(kvmmt_policy_nr_ranges(vm), 2);
	install(11, 3, 0, 1, forced_wb);	/* fills the hole */
	cr_assert_eq(kvmmt_policy_nr_ranges(vm), 1);
	cr_assert_eq(kvmmt_policy_range(vm, 0)->start, 10);
	cr_assert_eq(kvmmt_policy_range(vm, 0)->end, 13);
	install(11, 3, 0, 1, forced_wb);	/* re-install: no change */
	cr_assert_eq(kvmmt_policy_nr_ranges(vm), 1);
}

Test(policy, different_slot_does_not_merge)
{
	install(0, 1, 0, 1, forced_wb);
	install(1, 2, 1, 1, forced_wb);
	cr_assert_eq(kvmmt_policy_nr_ranges(vm), 2);
}

Test(policy, honoured_wb_is_latent)
{
	install(0x10, 0x10, 0, 1, honoured_wb);
	struct kvmmt_policy_summary s = summary();

	cr_assert_eq(s.risk, KVMMT_RISK_LATENT);
	cr_assert_eq(s.why, KVMMT_WHY_INSTALL);
	cr_assert_eq(s.nr_conflicts, 0);
}

Test(policy, guest_wc_over_host_wb_ram_is_aliasing)
{
	install(0x200, 0x5000, 2, 1, honoured_wb);
	install(0x201, 0x5001, 2, 1, honoured_wc);
	install(0x202, 0x5002, 2, 1, honoured_wc);
	struct kvmmt_policy_summary s = summary();

	cr_assert_eq(s.risk, KVMMT_RISK_ALIASING);
	cr_assert_eq(s.nr_conflicts, 1);
	cr_assert_eq(s.conflict_pages, 2);
	cr_assert_eq(kvmmt_policy_nr_ranges(vm), 2);
	const struct kvmmt_gfn_range *r = kvmmt_policy_range(vm, 1);
	cr_assert_eq(r->start, 0x201);
	cr_assert_eq(r->end, 0x203);
	cr_assert_eq(r->slot, 2);
	cr_assert_eq(r->mt, KVMMT_MT_WC);
	cr_assert_eq(r->host_mt, KVMMT_MT_WB);
	cr_assert(r->conflict);
}

Test(policy, host_pat_reservation_decides_host_type)
{
	struct kvmmt_hostmap pat = { 0 };
	FILE *f = text("PAT memtype list:\n"
		       "PAT: [mem 0x00000000fd000000-0x00000000fe000000] write-combining\n"
		       "PAT: [mem 0x00000000fe000000-0x00000000fe001000] uncached-minus\n");

	cr_assert_eq(kvmmt_hostmap_parse_pat(&pat, f, &err), 0, "%s", err.msg);
	fclose(f);
	cr_assert_eq(pat.n, 2);
	kvmmt_policy_vm_set_host(vm, &pat, NULL);
	/* Guest WC on a host WC framebuffer: same type, no alias. */
	install(0x800, 0xfd000, 3, 1, honoured_wc);
	/* Guest UC on host UC-: treated as the same type. */
	install(0x900, 0xfe000, 3, 1, honoured_uc);
	struct kvmmt_policy_summary s = summary();
	cr_assert_eq(s.risk, KVMMT_RISK_LATENT);
	/* Guest WB on the host WC framebuffer: alias. */
	install(0x801, 0xfd001, 3, 1, honoured_wb);
	s = summary();
	cr_assert_eq(s.risk, KVMMT_RISK_ALIASING);
	cr_assert_eq(kvmmt_policy_range(vm, 1)->host_mt, KVMMT_MT_WC);
	cr_assert_eq(kvmmt_policy_range(vm, 1)->mt, KVMMT_MT_WB);
	kvmmt_hostmap_free(&pat);
}

Test(policy, large_page_over_a_reservation_uses_it)
{
	struct kvmmt_hostmap pat = { 0 };

	cr_assert_eq(kvmmt_hostmap_add(&pat, 0x40100, 0x40101, KVMMT_MT_UC), 0);
	kvmmt_policy_vm_set_host(vm, &pat, NULL);
	install(0x1234, 0x40000, 0, 2, forced_wb);	/* 2M at gfn 0x1200 */
	cr_assert_eq(kvmmt_policy_range(vm, 0)->start, 0x1200);
	cr_assert_eq(kvmmt_policy_range(vm, 0)->end, 0x1400);
	cr_assert_eq(summary().risk, KVMMT_RISK_ALIASING);
	kvmmt_hostmap_free(&pat);
}

Test(policy, vmm_device_mapping_via_slot_hva)
{
	struct kvmmt_hostmap maps = { 0 };
	struct kvmmt_policy_slot slot = {
		.id = 5, .base_gfn = 0x100000, .npages = 0x1000,
		.userspace_addr = 0x7f0000000000ULL,
	};
	FILE *f = text("7f0000000000-7f0000400000 rw-s 00000000 00:0e 12 /dev/vfio/devices/vfio0\n"
		       "Size:               4096 kB\n"
		       "VmFlags: rd wr sh mr mw me ms io pf dd \n"
		       "7f0000400000-7f0000800000 rw-p 00000000 00:00 0 \n"
		       "VmFlags: rd wr mr mw me ac \n");

	cr_assert_eq(kvmmt_hostmap_parse_smaps(&maps, f, &err), 0, "%s", err.msg);
	fclose(f);
	cr_assert_eq(maps.n, 1);
	cr_assert_eq(maps.r[0].start, 0x7f0000000ULL);
	cr_assert_eq(maps.r[0].end, 0x7f0000400ULL);
	cr_assert_eq(kvmmt_policy_slot(vm, &slot, &err), 0);
	kvmmt_policy_vm_set_host(vm, NULL, &maps);
	install(0x100010, 0xabc, 5, 1, honoured_wb);	/* host maps it UC- */
	cr_assert_eq(kvmmt_policy_range(vm, 0)->host_mt, KVMMT_MT_UC_MINUS);
	cr_assert_eq(summary().risk, KVMMT_RISK_ALIASING);
	kvmmt_hostmap_free(&maps);
}

Test(policy, zap_removes_state_and_lowers_the_class)
{
	install(0x300, 0x1, 0, 1, honoured_wb);
	install(0x301, 0x2, 0, 1, honoured_wc);
	install(0x302, 0x3, 0, 1, honoured_wb);
	cr_assert_eq(summary().risk, KVMMT_RISK_ALIASING);
	cr_assert_eq(kvmmt_policy_nr_ranges(vm), 3);
	cr_assert_eq(kvmmt_policy_zap(vm, 0x301, 1, &err), 0);
	struct kvmmt_policy_summary s = summary();
	cr_assert_eq(s.risk, KVMMT_RISK_LATENT);
	cr_assert_eq(s.zaps, 1);
	cr_assert_eq(kvmmt_policy_nr_ranges(vm), 2);
	/* A 2M zap covers the rest: nothing honoured is left. */
	cr_assert_eq(kvmmt_policy_zap(vm, 0x300, 2, &err), 0);
	cr_assert_eq(kvmmt_policy_nr_ranges(vm), 0);
	cr_assert_eq(summary().risk, KVMMT_RISK_NONE);
}

Test(policy, zap_in_the_middle_splits_a_range)
{
	for (__u64 g = 0; g < 16; g++)
		install(g, 100 + g, 0, 1, forced_wb);
	cr_assert_eq(kvmmt_policy_nr_ranges(vm), 1);
	cr_assert_eq(kvmmt_policy_zap(vm, 7, 1, &err), 0);
	cr_assert_eq(kvmmt_policy_nr_ranges(vm), 2);
	cr_assert_eq(kvmmt_policy_range(vm, 0)->end, 7);
	cr_assert_eq(kvmmt_policy_range(vm, 1)->start, 8);
	cr_assert_eq(kvmmt_policy_range(vm, 1)->end, 16);
	/* Zapping what was never installed changes nothing. */
	cr_assert_eq(kvmmt_policy_zap(vm, 0x5000, 1, &err), 0);
	cr_assert_eq(kvmmt_policy_nr_ranges(vm), 2);
}

Test(policy, reinstall_with_another_type_replaces_part_of_a_range)
{
	for (__u64 g = 0; g < 8; g++)
		install(g, g, 0, 1, honoured_wb);
	install(3, 3, 0, 1, honoured_wc);
	cr_assert_eq(kvmmt_policy_nr_ranges(vm), 3);
	cr_assert_eq(summary().conflict_pages, 1);
	install(3, 3, 0, 1, honoured_wb);	/* back to WB: one range again */
	cr_assert_eq(kvmmt_policy_nr_ranges(vm), 1);
	cr_assert_eq(summary().risk, KVMMT_RISK_LATENT);
}

Test(policy, noncoherent_count_changes)
{
	install(0, 0, 0, 1, forced_wb);
	kvmmt_policy_noncoherent(vm, 1);
	struct kvmmt_policy_summary s = summary();
	cr_assert_eq(s.risk, KVMMT_RISK_LATENT);
	cr_assert_eq(s.why, KVMMT_WHY_NONCOHERENT);
	cr_assert_eq(s.noncoherent, 1);
	kvmmt_policy_noncoherent(vm, 2);
	kvmmt_policy_noncoherent(vm, 0);	/* last device unplugged */
	cr_assert_eq(summary().risk, KVMMT_RISK_NONE);
}

Test(policy, memslot_flag_makes_latent_until_cleared)
{
	struct kvmmt_policy_slot slot = { .id = 1, .base_gfn = 0x1000, .npages = 256 };

	cr_assert_eq(kvmmt_policy_slot(vm, &slot, &err), 0);
	cr_assert_eq(summary().risk, KVMMT_RISK_NONE);
	cr_assert_eq(kvmmt_policy_slot_flags(vm, 1, KVMMT_MEM_NON_COHERENT_DMA, &err), 0);
	cr_assert_eq(summary().risk, KVMMT_RISK_LATENT);
	cr_assert_eq(summary().why, KVMMT_WHY_SLOT);
	cr_assert_eq(kvmmt_policy_slot_flags(vm, 1, 0, &err), 0);
	cr_assert_eq(summary().risk, KVMMT_RISK_NONE);
	/* Deleting a flagged slot clears the reason too. */
	slot.flags = KVMMT_MEM_NON_COHERENT_DMA;
	cr_assert_eq(kvmmt_policy_slot(vm, &slot, &err), 0);
	cr_assert_eq(summary().risk, KVMMT_RISK_LATENT);
	slot.npages = 0;
	cr_assert_eq(kvmmt_policy_slot(vm, &slot, &err), 0);
	cr_assert_eq(summary().risk, KVMMT_RISK_NONE);
	/* A fresh iterator snapshot replaces every slot. */
	struct kvmmt_policy_slot snap[2] = {
		{ .id = 0, .npages = 16 },
		{ .id = 2, .npages = 16, .flags = KVMMT_MEM_NON_COHERENT_DMA },
	};
	cr_assert_eq(kvmmt_policy_set_slots(vm, snap, 2, &err), 0);
	cr_assert_eq(summary().risk, KVMMT_RISK_LATENT);
	cr_assert_eq(kvmmt_policy_set_slots(vm, snap, 1, &err), 0);
	cr_assert_eq(summary().risk, KVMMT_RISK_NONE);
}

Test(policy, event_stream_through_the_decoder)
{
	/* EPT SPTE bits: attr = ipat << 3 | memtype; WB = 6, WC = 1. */
	struct kvmmt_event evs[] = {
		{ .type = KVMMT_EV_INSTALL, .gfn = 0x10, .pfn = 0x10, .level = 1, .attr = 0x8 | 6 },
		{ .type = KVMMT_EV_INSTALL, .gfn = 0x11, .pfn = 0x11, .level = 1, .attr = 0x8 | 6 },
		{ .type = KVMMT_EV_NONCOHERENT, .value = 1 },
		{ .type = KVMMT_EV_INSTALL, .gfn = 0x12, .pfn = 0x12, .level = 1, .attr = 1 },
	};
	enum kvmmt_risk want[] = {
		KVMMT_RISK_NONE, KVMMT_RISK_NONE, KVMMT_RISK_LATENT, KVMMT_RISK_ALIASING,
	};

	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
		cr_assert_eq(kvmmt_policy_event(vm, &evs[i], KVMMT_FMT_EPT,
						KVMMT_LINUX_PAT, &err), 0, "%s", err.msg);
		cr_assert_eq(summary().risk, want[i], "after event %zu: %s", i,
			     kvmmt_risk_name(summary().risk));
	}
	/* A leaf zap (old SPTE given) removes its own 4K page. */
	struct kvmmt_event zap = { .type = KVMMT_EV_ZAP, .gfn = 0x12, .level = 1, .spte = 0x12067 };
	cr_assert_eq(kvmmt_policy_event(vm, &zap, KVMMT_FMT_EPT, KVMMT_LINUX_PAT, &err), 0);
	cr_assert_eq(summary().risk, KVMMT_RISK_LATENT);
	cr_assert_eq(kvmmt_policy_nr_ranges(vm), 1);
}

Test(policy, shadow_page_zaps)
{
	install(0x10, 1, 0, 1, honoured_wc);
	install(0x400, 2, 0, 1, honoured_wc);
	/* A direct level-1 shadow page at gfn 0 maps gfns 0..511. */
	struct kvmmt_event sp = { .type = KVMMT_EV_ZAP, .gfn = 0, .level = 1 };
	cr_assert_eq(kvmmt_policy_event(vm, &sp, KVMMT_FMT_EPT, 0, &err), 0);
	cr_assert_eq(kvmmt_policy_nr_ranges(vm), 1);
	cr_assert_eq(kvmmt_policy_range(vm, 0)->start, 0x400);
	/* Under shadow paging the page's gfn does not say what it mapped: keep. */
	sp.gfn = 0x400;
	cr_assert_eq(kvmmt_policy_event(vm, &sp, KVMMT_FMT_SHADOW, KVMMT_LINUX_PAT, &err), 0);
	cr_assert_eq(kvmmt_policy_nr_ranges(vm), 1);
	cr_assert_eq(summary().zaps, 2);
}

Test(policy, bad_input_is_rejected_with_a_message)
{
	struct kvmmt_install in = { .gfn = 1, .level = 9, .ma = forced_wb };
	struct kvmmt_event ev = { .type = 99 };

	cr_assert_eq(kvmmt_policy_install(vm, &in, &err), -EINVAL);
	cr_assert(strstr(err.msg, "invalid level"));
	cr_assert_eq(kvmmt_policy_event(vm, &ev, KVMMT_FMT_EPT, 0, &err), -EINVAL);
	cr_assert_eq(kvmmt_policy_zap(vm, 0, 7, &err), -EINVAL);
}

Test(policy, memory_follows_ranges_not_guest_size)
{
	/* A 1 TiB guest backed by 1G pages, all WB: one range, not 2^28 pages. */
	for (__u64 i = 0; i < 1024; i++)
		install(i << 18, i << 18, 0, 3, forced_wb);
	cr_assert_eq(kvmmt_policy_nr_ranges(vm), 1);
	cr_assert_eq(kvmmt_policy_range(vm, 0)->end, 1ULL << 28);
	/* Alternating types on 4K pages: one range per distinct run. */
	for (__u64 g = 0; g < 64; g++)
		install(g, g, 0, 1, (g / 8) % 2 ? honoured_wc : forced_wb);
	cr_assert_eq(kvmmt_policy_nr_ranges(vm), 9);
}

Test(policy, pat_list_errors_name_the_line)
{
	struct kvmmt_hostmap pat = { 0 };
	FILE *f = text("PAT memtype list:\nPAT: [mem 0x1000-0x2000] write-back\n"
		       "PAT: [mem 0x2000-0x3000] purple\n");

	cr_assert_eq(kvmmt_hostmap_parse_pat(&pat, f, &err), -EINVAL);
	cr_assert(strstr(err.msg, "line 3"), "%s", err.msg);
	fclose(f);
	kvmmt_hostmap_free(&pat);
}

Test(policy, hostmap_later_ranges_win)
{
	struct kvmmt_hostmap m = { 0 };

	cr_assert_eq(kvmmt_hostmap_add(&m, 0, 100, KVMMT_MT_WB), 0);
	cr_assert_eq(kvmmt_hostmap_add(&m, 10, 20, KVMMT_MT_WC), 0);
	cr_assert_eq(kvmmt_hostmap_add(&m, 15, 120, KVMMT_MT_UC), 0);
	cr_assert_eq(m.n, 3);
	cr_assert_eq(kvmmt_hostmap_lookup(&m, 9, KVMMT_MT__MAX), KVMMT_MT_WB);
	cr_assert_eq(kvmmt_hostmap_lookup(&m, 12, KVMMT_MT__MAX), KVMMT_MT_WC);
	cr_assert_eq(kvmmt_hostmap_lookup(&m, 15, KVMMT_MT__MAX), KVMMT_MT_UC);
	cr_assert_eq(kvmmt_hostmap_lookup(&m, 119, KVMMT_MT__MAX), KVMMT_MT_UC);
	cr_assert_eq(kvmmt_hostmap_lookup(&m, 120, KVMMT_MT__MAX), KVMMT_MT__MAX);
	kvmmt_hostmap_free(&m);
}

Test(policy, risk_names_round_trip)
{
	enum kvmmt_risk r;

	for (int i = 0; i < KVMMT_RISK__MAX; i++) {
		cr_assert_eq(kvmmt_risk_parse(kvmmt_risk_name(i), &r), 0);
		cr_assert_eq(r, i);
	}
	cr_assert_eq(kvmmt_risk_parse("ALIASING", &r), 0);
	cr_assert_eq(kvmmt_risk_parse("bogus", &r), -EINVAL);
}

Test(policy, restore_saved_ranges)
{
	struct kvmmt_policy_vm *again = kvmmt_policy_vm_new();
	struct kvmmt_policy_summary a, b;

	install(0x10, 1, 1, 1, honoured_wb);
	install(0x11, 2, 1, 1, honoured_wc);
	install(0x12, 3, 1, 1, honoured_wc);
	kvmmt_policy_summary(vm, &a);
	for (size_t i = 0; i < kvmmt_policy_nr_ranges(vm); i++)
		cr_assert_eq(kvmmt_policy_restore(again, kvmmt_policy_range(vm, i), &err), 0);
	kvmmt_policy_summary(again, &b);
	cr_assert_eq(b.risk, KVMMT_RISK_ALIASING);
	cr_assert_eq(b.nr_ranges, a.nr_ranges);
	cr_assert_eq(b.conflict_pages, 2);
	/* Restored state behaves like installed state: a zap clears it. */
	cr_assert_eq(kvmmt_policy_zap(again, 0x10, 2, &err), 0);
	kvmmt_policy_summary(again, &b);
	cr_assert_eq(b.risk, KVMMT_RISK_NONE);
	struct kvmmt_gfn_range bad = { .start = 5, .end = 5 };
	cr_assert_eq(kvmmt_policy_restore(again, &bad, &err), -EINVAL);
	kvmmt_policy_vm_free(again);
}

/*
 * The class of a VM by backend, with nothing but its backend and the facts
 * the iterator gives: the rules of docs/policy.md, one row each.
 */
Test(policy, class_rules_per_backend)
{
	static const struct {
		enum kvmmt_fmt fmt;
		int nc;
		__u32 slot_flags;
		__u64 quirks;
		enum kvmmt_risk want;
		unsigned int why;
	} t[] = {
		/* plain VMs: nothing that blocks by default */
		{ KVMMT_FMT_EPT, 0, 0, 0, KVMMT_RISK_NONE, 0 },
		{ KVMMT_FMT_NPT, 0, 0, 0, KVMMT_RISK_GUEST_TYPES, KVMMT_WHY_ARCH },
		{ KVMMT_FMT_SHADOW, 0, 0, 0, KVMMT_RISK_NONE, 0 },
		{ KVMMT_FMT_S2, 0, 0, 0, KVMMT_RISK_GUEST_TYPES, KVMMT_WHY_ARCH },
		{ KVMMT_FMT_S2_FWB, 0, 0, 0, KVMMT_RISK_NONE, 0 },
		/* noncoherent DMA registered */
		{ KVMMT_FMT_EPT, 1, 0, 0, KVMMT_RISK_LATENT, KVMMT_WHY_NONCOHERENT },
		{ KVMMT_FMT_NPT, 2, 0, 0, KVMMT_RISK_LATENT, KVMMT_WHY_NONCOHERENT | KVMMT_WHY_ARCH },
		/* shadow paging: KVM never takes the guest's type */
		{ KVMMT_FMT_SHADOW, 1, 0, 0, KVMMT_RISK_NONE, 0 },
		/* a flagged memslot */
		{ KVMMT_FMT_EPT, 0, KVMMT_MEM_NON_COHERENT_DMA, 0, KVMMT_RISK_LATENT, KVMMT_WHY_SLOT },
		{ KVMMT_FMT_NPT, 0, KVMMT_MEM_NON_COHERENT_DMA, 0, KVMMT_RISK_LATENT,
		  KVMMT_WHY_SLOT | KVMMT_WHY_ARCH },
		/* IGNORE_GUEST_PAT disabled: VMX honours guest PAT on all RAM */
		{ KVMMT_FMT_EPT, 0, 0, KVMMT_QUIRK_IGNORE_GUEST_PAT, KVMMT_RISK_LATENT, KVMMT_WHY_QUIRK },
		{ KVMMT_FMT_EPT, 0, 0, 1 << 1, KVMMT_RISK_NONE, 0 },
		{ KVMMT_FMT_NPT, 0, 0, KVMMT_QUIRK_IGNORE_GUEST_PAT, KVMMT_RISK_GUEST_TYPES,
		  KVMMT_WHY_ARCH },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct kvmmt_policy_slot s = {
			.id = 1, .flags = t[i].slot_flags, .base_gfn = 0, .npages = 256,
			.userspace_addr = 0x7f0000000000ULL,
		};
		struct kvmmt_policy_vm *v = kvmmt_policy_vm_new();
		struct kvmmt_policy_summary sum;

		kvmmt_policy_vm_set_fmt(v, t[i].fmt);
		kvmmt_policy_noncoherent(v, t[i].nc);
		if (t[i].quirks)
			kvmmt_policy_quirks(v, t[i].quirks);
		cr_assert_eq(kvmmt_policy_slot(v, &s, &err), 0);
		kvmmt_policy_summary(v, &sum);
		cr_assert_eq(sum.risk, t[i].want, "case %zu (%s): %s, want %s", i,
			     kvmmt_fmt_name(t[i].fmt), kvmmt_risk_name(sum.risk),
			     kvmmt_risk_name(t[i].want));
		cr_assert_eq(sum.why, t[i].why, "case %zu: why %#x, want %#x", i, sum.why, t[i].why);
		kvmmt_policy_vm_free(v);
	}
}

/* NPT installs: the guest combines, but plain RAM stays non-blocking. */
Test(policy, plain_npt_installs_are_not_latent)
{
	static const struct kvmmt_memattr npt_wb = { KVMMT_MT_WB, false, true };

	kvmmt_policy_vm_set_fmt(vm, KVMMT_FMT_NPT);
	for (__u64 g = 0; g < 64; g++)
		install(g, 0x1000 + g, 0, 1, npt_wb);
	cr_assert_eq(summary().risk, KVMMT_RISK_GUEST_TYPES);
	cr_assert_eq(summary().guest_types, KVMMT_GT_ARCH);
}

/* EPT without IPAT on RAM: what noncoherent DMA turns on, seen in the SPTEs. */
Test(policy, ept_without_ipat_is_latent)
{
	kvmmt_policy_vm_set_fmt(vm, KVMMT_FMT_EPT);
	install(0x10, 0x10, 0, 1, forced_wb);
	cr_assert_eq(summary().risk, KVMMT_RISK_NONE);
	install(0x20, 0x20, 0, 1, honoured_wb);
	cr_assert_eq(summary().risk, KVMMT_RISK_LATENT);
	cr_assert_eq(summary().why, KVMMT_WHY_INSTALL);
}

/*
 * A memslot backed by a write-combining BAR mapping is reported, with the
 * host's type, before the guest touches it; once KVM maps it write-back
 * the VM is aliasing, even if the mapping was read after the installs.
 */
Test(policy, device_slot_then_alias_found_when_maps_arrive_late)
{
	struct kvmmt_policy_slot slot = {
		.id = 1, .base_gfn = 0x100000, .npages = 16, .userspace_addr = 0x7f0000000000ULL,
	};
	struct kvmmt_hostmap maps = {};
	static const struct kvmmt_memattr npt_wb = { KVMMT_MT_WB, false, true };
	struct kvmmt_policy_summary s;
	FILE *f = text("7f0000000000-7f0000010000 rw-s 00000000 00:05 12 "
		       "/sys/devices/pci0000:00/0000:00:03.0/resource0_wc\n"
		       "VmFlags: rd wr sh mr mw me ms io pf dd \n");

	cr_assert_eq(kvmmt_hostmap_parse_smaps(&maps, f, &err), 0, "%s", err.msg);
	fclose(f);
	cr_assert_eq(maps.r[0].mt, KVMMT_MT_WC, "resource0_wc is write-combining");
	kvmmt_policy_vm_set_fmt(vm, KVMMT_FMT_NPT);
	cr_assert_eq(kvmmt_policy_slot(vm, &slot, &err), 0);

	/* KVM maps the BAR pages write-back before kvmmt has read smaps */
	for (__u64 g = 0; g < 16; g++)
		install(0x100000 + g, 0x30000 + g, 1, 1, npt_wb);
	cr_assert_eq(summary().risk, KVMMT_RISK_GUEST_TYPES);

	kvmmt_policy_vm_set_host(vm, NULL, &maps);
	s = summary();
	cr_assert_eq(s.nr_device_slots, 1);
	cr_assert_eq(s.device[0].id, 1);
	cr_assert_eq(s.device[0].host_mt, KVMMT_MT_WC);
	cr_assert(s.why & KVMMT_WHY_DEVICE);
	cr_assert_eq(s.risk, KVMMT_RISK_ALIASING);
	cr_assert_eq(s.conflict_pages, 16);
	cr_assert_eq(kvmmt_policy_range(vm, 0)->host_mt, KVMMT_MT_WC);
	kvmmt_hostmap_free(&maps);
}

/* A PAT reservation that appears later changes the host type by pfn. */
Test(policy, pat_reservation_read_later_is_applied)
{
	struct kvmmt_hostmap pat = {};
	FILE *f = text("PAT memtype list:\n"
		       "PAT: [mem 0x0000000030000000-0x0000000030010000] write-combining\n");

	kvmmt_policy_vm_set_fmt(vm, KVMMT_FMT_NPT);
	for (__u64 g = 0; g < 16; g++)
		install(0x100000 + g, 0x30000 + g, 1, 1, forced_wb);
	cr_assert_eq(kvmmt_hostmap_parse_pat(&pat, f, &err), 0, "%s", err.msg);
	fclose(f);
	kvmmt_policy_vm_set_host(vm, &pat, NULL);
	cr_assert_eq(summary().risk, KVMMT_RISK_ALIASING);
	cr_assert_eq(summary().conflict_pages, 16);
	kvmmt_hostmap_free(&pat);
}

/* Installs that arrive before their memslot is known are judged once it is. */
Test(policy, slot_known_after_installs_reevaluates)
{
	struct kvmmt_policy_slot slot = {
		.id = 2, .base_gfn = 0x40010, .npages = 16, .userspace_addr = 0x7f0000000000ULL,
	};
	struct kvmmt_hostmap maps = {};

	cr_assert_eq(kvmmt_hostmap_add(&maps, 0x7f0000000ULL, 0x7f0000010ULL, KVMMT_MT_WC), 0);
	kvmmt_policy_vm_set_fmt(vm, KVMMT_FMT_NPT);
	kvmmt_policy_vm_set_host(vm, NULL, &maps);
	for (__u64 g = 0; g < 16; g++)
		install(0x40010 + g, 0x80000 + g, 2, 1, forced_wb);
	cr_assert_eq(summary().nr_conflicts, 0, "slot 2 is not known yet");
	cr_assert_eq(kvmmt_policy_slot(vm, &slot, &err), 0);
	cr_assert_eq(summary().risk, KVMMT_RISK_ALIASING);
	cr_assert_eq(summary().conflict_pages, 16);
	kvmmt_hostmap_free(&maps);
}

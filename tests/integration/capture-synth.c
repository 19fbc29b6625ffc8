// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * Writes a capture of events this host cannot produce (EPT memory types,
 * noncoherent DMA, a memslot flagged for it, a device BAR in the host PAT
 * list) through the capture writer, so kvmmt-report's handling of them is
 * tested: tests/integration/capture-synthetic checks every number below.
 *
 * VM 42 "qemu-gpu", 2 vCPUs:
 *   slot 0: gfn 0x0+0x1000, RAM; every 3rd page installed WB with IPAT (1366)
 *   noncoherent DMA count 0 -> 1 (one event)
 *   slot 1: gfn 0x100000+0x800, flags KVMMT_MEM_NON_COHERENT_DMA (memslot event)
 *     pages 0x000-0x3ff WB (1024), 0x400-0x5ff WC (512), 0x600-0x7ff UC (512),
 *     without IPAT; host pfns 0x200000-0x2003ff are a UC- BAR in the PAT list
 *   2 zaps in slot 1
 */
#include <stdio.h>
#include <string.h>
#include "capture.h"
#include "memattr.h"
#include "memtype.h"
#include "policy.h"

#define EPT_WB	6
#define EPT_WC	1
#define EPT_UC	0

static int event(struct kvmmt_capw *w, struct kvmmt_event *ev, struct kvmmt_err *e)
{
	struct kvmmt_cap_event ce = { .ev = *ev };
	struct kvmmt_memattr ma;

	if (ev->type == KVMMT_EV_INSTALL || ev->type == KVMMT_EV_ZAP) {
		ev->attr = kvmmt_spte_attr(KVMMT_FMT_EPT, ev->spte, ev->level);
		ce.ev.attr = ev->attr;
		if (kvmmt_attr_decode(KVMMT_FMT_EPT, ev->attr, KVMMT_LINUX_PAT, &ma) == 0) {
			ce.mt = ma.mt;
			ce.ipat = ma.ipat;
		}
	}
	return kvmmt_capw_event(w, &ce, e);
}

static __u64 ept_spte(__u64 pfn, unsigned int mt, int ipat)
{
	return pfn << 12 | mt << 3 | (ipat ? 1 << 6 : 0) | 7;
}

int main(int argc, char **argv)
{
	struct kvmmt_cap_kv kv[] = {
		{ .key = "kernel.release", .val = "synthetic" },
		{ .key = "kvm.backend", .val = "vmx" },
		{ .key = "kvm.tdp", .val = "1" },
	};
	struct kvmmt_cap_host host = {
		.fmt = KVMMT_FMT_EPT, .host_pat = KVMMT_LINUX_PAT, .start_ns = 1000000,
		.start_realtime_ns = 1800000000000000000ull, .kv = kv, .nr_kv = 3,
	};
	/* listed out of gfn order, as KVM's memslot tree may yield them */
	struct kvmmt_slot_rec slots[2] = {
		{ .kind = KVMMT_REC_SLOT, .id = 1, .kvm_id = 1, .flags = KVMMT_MEM_NON_COHERENT_DMA,
		  .base_gfn = 0x100000, .npages = 0x800, .userspace_addr = 0x7f1000000000ull },
		{ .kind = KVMMT_REC_SLOT, .id = 0, .kvm_id = 1, .base_gfn = 0, .npages = 0x1000,
		  .userspace_addr = 0x7f0000000000ull },
	};
	struct kvmmt_cap_vm vm = {
		.vm = { .kind = KVMMT_REC_VM, .tgid = 42, .kvm_id = 1, .online_vcpus = 2,
			.nr_slots = 2, .valid = KVMMT_VF_NONCOHERENT, .fd = 10, .comm = "qemu-gpu" },
		.slots = slots, .nr_slots = 2,
	};
	struct kvmmt_cap_snapshot snap = { .phase = KVMMT_CAP_START, .ts_ns = 1000000,
					   .vms = &vm, .nr_vms = 1 };
	static const struct kvmmt_cap_range bar[] = { { 0x200000, 0x200400, KVMMT_MT_UC_MINUS } };
	struct kvmmt_cap_hostmap pat = { .kind = KVMMT_CAP_MAP_PAT, .r = bar, .n = 1 };
	struct kvmmt_cap_end end = { .stop_reason = KVMMT_CAP_STOP_DURATION };
	struct kvmmt_event ev = { .tgid = 42, .tid = 43, .cpu = 0, .level = 1 };
	struct kvmmt_err e = {};
	struct kvmmt_capw *w;
	__u64 t = 2000000, i;
	int err;

	if (argc != 2) {
		fprintf(stderr, "usage: %s FILE\n", argv[0]);
		return 2;
	}
	err = kvmmt_capw_open(&w, argv[1], &host, &e) ?:
	      kvmmt_capw_snapshot(w, &snap, &e) ?: kvmmt_capw_hostmap(w, &pat, &e);
	for (i = 0; !err && i < 0x1000; i += 3) {
		ev.type = KVMMT_EV_INSTALL;
		ev.ts_ns = t += 1000;
		ev.gfn = i;
		ev.pfn = 0x100000 + i;
		ev.slot = 0;
		ev.spte = ept_spte(ev.pfn, EPT_WB, 1);
		err = event(w, &ev, &e);
	}
	ev.type = KVMMT_EV_NONCOHERENT;
	ev.ts_ns = t += 1000000;
	ev.slot = KVMMT_SLOT_UNKNOWN;
	ev.gfn = ev.pfn = ev.spte = 0;
	ev.value = 1;
	err = err ?: event(w, &ev, &e);
	ev.type = KVMMT_EV_MEMSLOT;
	ev.ts_ns = t += 1000;
	ev.slot = 1;
	ev.spte = KVMMT_MEM_NON_COHERENT_DMA;
	ev.value = 0;
	err = err ?: event(w, &ev, &e);
	ev.tid = 44;
	ev.cpu = 1;
	for (i = 0; !err && i < 0x800; i++) {
		ev.type = KVMMT_EV_INSTALL;
		ev.ts_ns = t += 1000;
		ev.gfn = 0x100000 + i;
		ev.pfn = 0x200000 + i;
		ev.spte = ept_spte(ev.pfn, i < 0x400 ? EPT_WB : i < 0x600 ? EPT_WC : EPT_UC, 0);
		err = event(w, &ev, &e);
	}
	for (i = 0; !err && i < 2; i++) {
		ev.type = KVMMT_EV_ZAP;
		ev.ts_ns = t += 1000;
		ev.gfn = 0x100000 + i;
		ev.spte = ept_spte(0x200000 + i, EPT_WB, 0);
		err = event(w, &ev, &e);
	}
	snap.phase = KVMMT_CAP_FINISH;
	snap.ts_ns = t += 1000;
	vm.vm.noncoherent_dma = 1;
	end.end_ns = t + 1000;
	end.events = 1366 + 2 + 2048 + 2;
	err = err ?: kvmmt_capw_snapshot(w, &snap, &e) ?: kvmmt_capw_close(w, &end, &e);
	kvmmt_capw_free(w);
	if (err) {
		fprintf(stderr, "capture-synth: %s\n", e.msg);
		return 1;
	}
	return 0;
}

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The floor: programs that do nothing, attached to the same kvmmmu
 * tracepoints as kvmmt's data path (bpf/kvmmt.bpf.c), in each attach
 * flavour it can use (fentry: fexit on make_spte, see below). Whatever this costs per event, any BPF tool on these
 * tracepoints pays. The loader enables only the flavour being measured.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define EMPTY(sec, name)			\
	SEC(sec) int name(void *ctx)		\
	{					\
		(void)ctx;			\
		return 0;			\
	}

#define FLAVOURS(tp)				\
	EMPTY("tp_btf/" #tp, btf_##tp)		\
	EMPTY("raw_tp/" #tp, raw_##tp)		\
	EMPTY("tp/kvmmmu/" #tp, tp_##tp)

FLAVOURS(kvm_mmu_set_spte)
FLAVOURS(kvm_mmu_spte_requested)
FLAVOURS(kvm_tdp_mmu_spte_changed)
FLAVOURS(kvm_mmu_get_page)
FLAVOURS(kvm_mmu_prepare_zap_page)
FLAVOURS(fast_page_fault)
FLAVOURS(kvm_mmu_sync_page)
FLAVOURS(kvm_mmu_unsync_page)
FLAVOURS(kvm_mmu_split_huge_page)
FLAVOURS(kvm_mmu_zap_all_fast)

/*
 * kvmmt's fentry path takes installs from fexit/make_spte instead of the
 * kvm_mmu_set_spte tracepoint (and the rest from tp_btf): its floor is this
 * program with the other tp_btf ones.
 */
EMPTY("fexit/make_spte", fx_make_spte)

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Packs the memory-type bits of a leaf SPTE into 8 bits. Pure integer code
 * shared by the BPF side (aggregation key) and user space (decoders, tests).
 */
#ifndef KVMMT_MEMATTR_H
#define KVMMT_MEMATTR_H

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/*
 * EPT:        bits 5:3 memtype, bit 6 IPAT        -> attr = (ipat << 3) | memtype
 * NPT/shadow: PWT bit 3, PCD bit 4, PAT bit 7 (4K) or bit 12 (large)
 *                                                 -> attr = PAT << 2 | PCD << 1 | PWT
 * arm64 S2:   MemAttr[3:0] in bits 5:2            -> attr = MemAttr
 */
static __always_inline __u8 kvmmt_spte_attr(int fmt, __u64 spte, int level)
{
	switch (fmt) {
	case KVMMT_FMT_EPT:
		return (spte >> 3) & 0xf;
	case KVMMT_FMT_NPT:
	case KVMMT_FMT_SHADOW:
		return ((spte >> 3) & 1) | (((spte >> 4) & 1) << 1) |
		       (((spte >> (level > 1 ? 12 : 7)) & 1) << 2);
	case KVMMT_FMT_S2:
	case KVMMT_FMT_S2_FWB:
		return (spte >> 2) & 0xf;
	default:
		return 0;
	}
}

#endif /* KVMMT_MEMATTR_H */

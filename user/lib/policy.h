/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
#ifndef KVMMT_POLICY_H
#define KVMMT_POLICY_H

/*
 * The page-aliasing risk model (README "Risk model"): per VM, from SPTE
 * installs with their types, memslot flags, noncoherent DMA and host-side
 * memory types, classify none / latent / aliasing. State is kept as merged
 * gfn ranges, so its size follows the number of distinct ranges, not guest size.
 */
#include <stdbool.h>
#include <sys/types.h>
#include "kvmmt.h"
#include "memtype.h"
#include "err.h"

enum kvmmt_risk {
	KVMMT_RISK_NONE = 0,	/* every mapping forced WB with IPAT */
	KVMMT_RISK_LATENT,	/* guest types honoured, no conflict seen */
	KVMMT_RISK_ALIASING,	/* a guest page's type differs from the host's */
	KVMMT_RISK__MAX,
};

const char *kvmmt_risk_name(enum kvmmt_risk r);
int kvmmt_risk_parse(const char *name, enum kvmmt_risk *r);

#endif

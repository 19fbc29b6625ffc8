/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What the test VMs did, as human text or as JSON (schema: docs/testvmm.md). */
#ifndef TESTVMM_REPORT_H
#define TESTVMM_REPORT_H

#include <stdio.h>
#include <json-c/json.h>
#include "testvm.h"

#define REPORT_VERSION	1

struct report {
	const struct testvm_config *cfg;
	int nr_vms;
	long hold;
	struct testvm_record **vms;
};

struct json_object *report_json(const struct report *r);
void report_text(FILE *f, const struct report *r);

#endif

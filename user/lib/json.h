/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
#ifndef KVMMT_JSON_H
#define KVMMT_JSON_H

/*
 * The one JSON writer of kvmmt's objects: host, VM identity, memslot,
 * installs and risk. Every program's --json builds its objects with these,
 * so a fact has one key name everywhere (docs/json.md is the contract).
 * Each function returns a new json-c object, or adds keys to @o.
 */
#include <sys/types.h>
#include <linux/types.h>
#include <json-c/json.h>
#include "host.h"
#include "memtype.h"
#include "policy.h"
#include "vmtable.h"

json_object *kvmmt_json_u64(__u64 v);

/* {"clear": n, "set": n}: installs by their ignore-PAT bit */
json_object *kvmmt_json_ipat(__u64 clear, __u64 set);

/*
 * Installs of a VM or memslot: "installs" (by type), "installs_total",
 * and, when @level is not NULL, "installs_by_level".
 */
void kvmmt_json_installs(json_object *o, const __u64 by_mt[KVMMT_MT__MAX],
			 const __u64 *level);

/* "pid" and "name". */
void kvmmt_json_vm_id(json_object *o, pid_t pid, const char *name);

/* A memslot's geometry: id, as_id, base_gfn, npages, size_bytes, flags, userspace_addr. */
json_object *kvmmt_json_memslot(const struct kvmmt_slot_rec *r);

/* A rate per second, to two decimals. */
json_object *kvmmt_json_rate(double v);

/*
 * A VM table row (kvmmt-top's VM object but for the risk and migration):
 * pid, name, vcpus, mem_bytes, noncoherent_dma, disabled_quirks, installs,
 * installs_total, installs_ipat, install_rate, zaps, zap_rate, zap_pages,
 * zap_all, host_mappings and memslots (each with its installs by type and
 * by level).
 */
void kvmmt_json_vm_row(json_object *o, const struct kvmmt_vm_row *r);

/*
 * What the risk model says of a VM: "risk", "risk_reasons",
 * "guest_types", "guest_types_honoured", "ranges", "aliasing_pages",
 * "aliasing" (up to @max_ranges conflicting gfn ranges) and
 * "device_memslots". With @pvm NULL (no model) the values are null.
 */
void kvmmt_json_risk(json_object *o, const struct kvmmt_policy_vm *pvm, size_t max_ranges);

/* The host: kernel, machine, backend, tdp, spte_format (@fmt), host_pat. */
void kvmmt_json_host(json_object *o, const struct kvmmt_host *h, enum kvmmt_fmt fmt);
/* The host's IA32_PAT as "0x0407050600070106". */
json_object *kvmmt_json_pat(__u64 pat);

#endif

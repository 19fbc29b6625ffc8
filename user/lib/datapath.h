/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
#ifndef KVMMT_DATAPATH_H
#define KVMMT_DATAPATH_H

/*
 * The BPF data path: loads bpf/kvmmt.bpf.c, probing attach methods from
 * best to most portable, and exposes what it sees as plain structs.
 */
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>
#include "kvmmt.h"
#include "err.h"

enum kvmmt_path {
	KVMMT_PATH_NONE = 0,
	KVMMT_PATH_FENTRY,	/* fexit/make_spte + fentry noncoherent hooks */
	KVMMT_PATH_TP_BTF,	/* tp_btf/kvm_mmu_* */
	KVMMT_PATH_RAW_TP,	/* raw_tp/kvm_mmu_* */
	KVMMT_PATH_TP,		/* tp/kvmmmu/kvm_mmu_* (perf tracepoints) */
	KVMMT_PATH__MAX,
};

/* One attach method tried at open time, in the order tried. */
struct kvmmt_probe {
	enum kvmmt_path path;
	char method[48];	/* e.g. "fexit/make_spte" */
	int err;		/* 0 if it loaded and attached, else -errno */
	char detail[200];	/* the kernel's/libbpf's reason, one line */
};

#define KVMMT_MAX_PROBES	48

/* Every probe tried, kept even when kvmmt_dp_open() fails. */
struct kvmmt_probe_log {
	struct kvmmt_probe p[KVMMT_MAX_PROBES];
	int n;
};

struct kvmmt_dp_opts {
	bool capture;			/* stream events through the ring buffer */
	unsigned int ringbuf_kib;	/* 0 = default */
	const pid_t *pids;		/* only these VMMs (NULL = all) */
	int nr_pids;
	enum kvmmt_path force;		/* 0 = best available */
	enum kvmmt_fmt fmt;		/* 0 = detect from the host */
	struct kvmmt_probe_log *log;	/* optional copy of the probes */
	/*
	 * Long-running readers: kvmmt_dp_read_counters() releases the counters
	 * of VMM processes that exited at least this many seconds ago, so that
	 * the maps do not fill with every VM the host ever ran (0: never; a
	 * VM's counters then stay readable after it exits).
	 */
	unsigned int release_s;
	/*
	 * Read the SPTE with bpf_probe_read_kernel() even where the kernel has
	 * bpf_rdonly_cast (tests and benchmarks compare the two).
	 */
	bool probe_read;
};

/* The release_s of kvmmt-top and kvmmt-policyd. */
#define KVMMT_RELEASE_S		60

struct kvmmt_dp;

/*
 * Parses an attach path name given on a command line ("fentry", "tp_btf",
 * "raw_tp", "tp"; "auto" for the best available, 0): the one spelling of
 * --attach in every program.
 */
int kvmmt_path_parse(const char *s, enum kvmmt_path *out, struct kvmmt_err *e);

#define KVMMT_ATTACH_HELP \
	"Use only this BPF attach path: fentry, tp_btf, raw_tp or tp (default auto: the best one this kernel allows)"

int kvmmt_dp_open(struct kvmmt_dp **out, const struct kvmmt_dp_opts *opts,
		  struct kvmmt_err *e);
void kvmmt_dp_close(struct kvmmt_dp *dp);

enum kvmmt_path kvmmt_dp_path(const struct kvmmt_dp *dp);
enum kvmmt_fmt kvmmt_dp_fmt(const struct kvmmt_dp *dp);
/* The install source reads the SPTE with bpf_rdonly_cast (one typed load). */
bool kvmmt_dp_spte_cast(const struct kvmmt_dp *dp);
const char *kvmmt_path_name(enum kvmmt_path p);
/* Short snake_case names for JSON keys and column headers. */
const char *kvmmt_ctr_name(enum kvmmt_ctr c);	/* "installs", "zaps", ... */
const char *kvmmt_gstat_name(enum kvmmt_gstat g);	/* "events", "drops", ... */
/* Probes tried, in order; returns how many. */
int kvmmt_dp_probes(const struct kvmmt_dp *dp, const struct kvmmt_probe **out);
/* Why a probe failed, in words a host operator can act on (NULL if it worked). */
const char *kvmmt_probe_reason(const struct kvmmt_probe *p);

/* Counters summed over CPUs. */
struct kvmmt_install_count {
	struct kvmmt_inst_key key;
	__u64 count;
};

struct kvmmt_vm_count {
	__u32 tgid;
	struct kvmmt_vm_ctrs c;
};

struct kvmmt_counters {
	struct kvmmt_install_count *inst;
	size_t nr_inst;
	struct kvmmt_vm_count *vms;
	size_t nr_vms;
	__u64 g[KVMMT_G__MAX];
};

/*
 * Snapshot of the in-kernel counters since open, summed over CPUs:
 * inst[] one entry per (tgid, memslot id or KVMMT_SLOT_UNKNOWN,
 * kvmmt_spte_attr() bits, level 1..3); vms[] one entry per tgid with
 * enum kvmmt_ctr counters; g[] enum kvmmt_gstat. Entries are unordered.
 * The memslot is known on the fentry, tp_btf and raw_tp paths (for
 * installs following a fault), never on tp. Free with kvmmt_counters_free().
 */
int kvmmt_dp_read_counters(struct kvmmt_dp *dp, struct kvmmt_counters *c,
			   struct kvmmt_err *e);
void kvmmt_counters_free(struct kvmmt_counters *c);

/* VMs found by the iterator. */
struct kvmmt_vm_info {
	struct kvmmt_vm_rec vm;
	struct kvmmt_slot_rec *slots;
	unsigned int nr_slots;
	bool walked;		/* the iterator walked the memslots this time */
};

struct kvmmt_vm_list {
	struct kvmmt_vm_info *v;
	size_t n;
};

/*
 * Runs the VM iterator now: one entry per VM (struct kvm) held open by a
 * process (its group leader's tgid and comm), each VM once even if the
 * process holds several fds of it, with its memslots of every address
 * space (at most KVMMT_ITER_MAX_SLOTS; vm.valid has KVMMT_VF_TRUNCATED
 * beyond) and vm.nr_slots == nr_slots. noncoherent_dma and disabled_quirks
 * are meaningful only with KVMMT_VF_NONCOHERENT / KVMMT_VF_QUIRKS in
 * vm.valid. The iterator walks a VM's memslots only when they changed
 * since @dp last read them (their generation moved): the others come from
 * what @dp holds (walked false). Free with
 * kvmmt_vm_list_free().
 */
int kvmmt_dp_read_vms(struct kvmmt_dp *dp, struct kvmmt_vm_list *out,
		      struct kvmmt_err *e);
void kvmmt_vm_list_free(struct kvmmt_vm_list *l);

/*
 * Capture: wait up to @timeout_ms for the kernel's wakeup (it wakes the
 * reader once an eighth of the ring is full), then deliver every buffered
 * event to @fn in order; returns the number delivered or -errno. A negative
 * return from @fn stops delivery and is returned. Events are never lost
 * silently: a full ring counts KVMMT_G_DROPS.
 */
typedef int (*kvmmt_event_fn)(void *ctx, const struct kvmmt_event *ev);
int kvmmt_dp_poll(struct kvmmt_dp *dp, int timeout_ms, kvmmt_event_fn fn,
		  void *ctx);

/*
 * A descriptor that polls readable when the kernel wakes the capture's
 * reader (an eighth of the ring full), for a caller's own poll() loop;
 * then call kvmmt_dp_poll() with timeout 0. -1 without the capture ring.
 */
int kvmmt_dp_fd(const struct kvmmt_dp *dp);

#endif

/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
#ifndef KVMMT_REPORT_H
#define KVMMT_REPORT_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>
#include <linux/types.h>
#include "capture.h"
#include "memtype.h"
#include "policy.h"
#include "vmreg.h"

#define REPORT_MAX_VMS		4096
#define REPORT_MAX_SLOTS	4096	/* per VM, as drawn and tabulated */
#define REPORT_BUCKETS		256	/* address-space buckets per slot (SVG) */
#define REPORT_MAX_NC		256	/* noncoherent changes kept per VM */
#define REPORT_MAX_RANGES	256	/* aliasing ranges listed per VM */

struct rep_slot {
	struct kvmmt_slot_rec rec;
	bool known;			/* geometry from a snapshot or a slot event */
	bool from_events;		/* geometry from the data path's slot events */
	bool deleted;			/* a slot event said it was deleted */
	bool at_start, at_end;
	__u64 installs[KVMMT_MT__MAX];
	__u64 installs_ipat;
	__u64 zaps;
	__u64 min_gfn, max_gfn;		/* of events, for slots seen only in events */
	__u16 mask[REPORT_BUCKETS];	/* memory types seen, bit per enum kvmmt_mt */
};

#define REPORT_MAX_GPC		64	/* gfn-to-pfn cache pages kept per VM */

/* A guest page a gfn-to-pfn cache mapped, as last activated or refreshed. */
struct rep_gpc {
	__u64 gfn, pfn, uhva;
	bool ram, active;
};

struct rep_nc {
	__u64 ts_ns;
	int count;
};

struct rep_vm {
	__u32 tgid;
	char comm[KVMMT_COMM_LEN + 1];
	bool at_start, at_end;
	struct kvmmt_vm_rec start, end;
	struct rep_slot *slots;
	unsigned int nr_slots;
	__u64 installs[KVMMT_MT__MAX];
	__u64 installs_ipat;
	__u64 installs_level[4];
	__u64 zaps, nc_events, memslot_events, events;
	__u64 zaps_by_cause[KVMMT_ZAP__MAX];	/* zap events by their cause */
	__u64 inv_pages[KVMMT_ZAP__MAX];	/* guest pages invalidated, by cause */
	__u64 inv_events;
	bool comm_from_events;		/* named by the data path's VM event */
	__u64 hostmap[KVMMT_HM__MAX];	/* host-side mapping events by op */
	__u64 hostmap_ok[KVMMT_HM__MAX];	/* ... of which the kernel call succeeded */
	struct rep_gpc gpc[REPORT_MAX_GPC];	/* guest pages the host kernel mapped */
	unsigned int nr_gpc;
	__u64 first_ns, last_ns;
	struct rep_nc nc[REPORT_MAX_NC];
	unsigned int nr_nc;		/* kept; nc_events counts all */
	struct kvmmt_vm *reg;		/* the registry's: risk model, host maps */
	bool have_maps;			/* the capture recorded its device mappings */
};

struct rep_model {
	struct kvmmt_cap_host host;	/* deep copy */
	bool have_host;
	struct rep_vm *vms;
	unsigned int nr_vms;
	__u64 events, by_type[KVMMT_EV__MAX];
	__u64 drops;
	struct kvmmt_cap_end end;
	bool have_end;
	__u64 first_ns, last_ns;
	unsigned int snapshots;
	bool have_finish;		/* the end snapshot was read */
	struct kvmmt_vmreg *reg;	/* risk model and host maps per VM */
	bool have_pat;			/* the capture recorded PAT reservations */
	struct kvmmt_err perr;		/* first policy-model error, if any */
};

/* Event filter for --events and the exports. */
struct rep_filter {
	pid_t pids[64];
	int nr_pids;
	unsigned int types;		/* bit per enum kvmmt_ev_type; 0 = all */
	unsigned int mts;		/* bit per enum kvmmt_mt; 0 = all */
	int slot;			/* -1 = all */
	__u64 gfn_lo, gfn_hi;		/* inclusive */
};

extern const char *const rep_ev_names[KVMMT_EV__MAX];

void rep_model_init(struct rep_model *m);
void rep_model_free(struct rep_model *m);
int rep_on_host(void *ctx, const struct kvmmt_cap_host *h);
int rep_on_geometry(void *ctx, const struct kvmmt_cap_snapshot *s);
int rep_on_geometry_event(void *ctx, const struct kvmmt_cap_event *ev);
extern const char *const rep_cause_names[KVMMT_ZAP__MAX];
extern const char *const rep_hostmap_names[KVMMT_HM__MAX];
int rep_on_snapshot(void *ctx, const struct kvmmt_cap_snapshot *s);
int rep_on_event(struct rep_model *m, const struct kvmmt_cap_event *ev);
int rep_on_drops(void *ctx, __u64 drops);
int rep_on_end(void *ctx, const struct kvmmt_cap_end *end);
int rep_on_hostmap(void *ctx, const struct kvmmt_cap_hostmap *hm);
bool rep_filter_pid(const struct rep_filter *f, __u32 tgid);
bool rep_filter_match(const struct rep_filter *f, const struct kvmmt_cap_event *ev);
struct rep_vm *rep_vm_find(struct rep_model *m, __u32 tgid);
/* Seconds since the capture started. */
double rep_rel_s(const struct rep_model *m, __u64 ts_ns);

struct rep_file {
	const char *path;
	__u64 size;
	struct kvmmt_cap_status st;
};

void rep_print_text(FILE *f, const struct rep_model *m, const struct rep_file *rf);
int rep_print_json(FILE *f, const struct rep_model *m, const struct rep_file *rf);
void rep_print_event_text(FILE *f, const struct rep_model *m,
			  const struct kvmmt_cap_event *ev);
/* One event as a JSON object string; caller frees with json_object_put(). */
struct json_object *rep_event_json(const struct rep_model *m,
				   const struct kvmmt_cap_event *ev);

/* Perfetto / Chrome trace-event JSON, streamed. */
struct rep_trace;
struct rep_trace *rep_trace_open(FILE *f, const struct rep_filter *filt);
void rep_trace_event(struct rep_trace *t, const struct rep_model *m,
		     const struct kvmmt_cap_event *ev);
int rep_trace_close(struct rep_trace *t, const struct rep_model *m);

int rep_write_svg(FILE *f, const struct rep_model *m, const struct rep_filter *filt,
		  const char *title);

#endif

/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
#ifndef KVMMT_TOP_H
#define KVMMT_TOP_H

/*
 * kvmmt-top: one model (a filtered, sorted view of the VM table plus the
 * header facts) and two renderers: the ncurses UI and the batch writers
 * (plain text and JSON).
 */
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>
#include "datapath.h"
#include "host.h"
#include "memtype.h"
#include "policy.h"
#include "vmtable.h"
#include "vmreg.h"

#define TOP_MAX_PIDS		64
#define TOP_MIN_DELAY		0.1
#define TOP_MAX_DELAY		3600.0

/* Columns of the VM list; the sort key is one of them. */
enum top_col {
	COL_PID = 0,
	COL_NAME,
	COL_VCPUS,
	COL_MEM,
	COL_NCDMA,
	COL_GTYPES,
	COL_WB,
	COL_WC,
	COL_UC,
	COL_WT,
	COL_WP,
	COL_UCM,
	COL_ZAPS,
	COL_RISK,
	COL_MIGR,
	COL__MAX,
};

struct top_colinfo {
	const char *title;	/* header text; rate columns get "/s" in rate mode */
	const char *key;	/* name accepted by --sort */
	int width;		/* negative: left aligned */
	enum kvmmt_mt mt;	/* memory type of an installs column */
	bool is_mt;
	bool desc;		/* natural order is largest first */
};

extern const struct top_colinfo top_cols[COL__MAX];

struct top_opts {
	double delay;			/* seconds between refreshes */
	long count;			/* refreshes, 0 = until stopped */
	bool batch;
	bool json;
	bool totals;			/* show cumulative counts, not rates */
	pid_t pids[TOP_MAX_PIDS];
	int nr_pids;
	regex_t name_re;
	bool has_name_re;
	enum top_col sort;
	bool reverse;
	const char *control_socket;	/* kvmmt-policyd's */
	enum kvmmt_path attach;		/* 0 = best available */
};

/* What kvmmt-policyd says about one VM's migration (policyd.c). */
struct top_migration {
	pid_t pid;
	char status[32];		/* QEMU's migration status, "none" when idle */
	bool blocked;			/* the daemon stops its migrations */
	bool flagged;			/* flagged by hand */
};

/* Aliasing ranges listed per VM in the JSON and the detail view. */
#define TOP_MAX_FINDINGS	64

/* One VM as shown: a table row plus what kvmmt-top adds to it. */
struct top_vm {
	const struct kvmmt_vm_row *row;
	const struct kvmmt_policy_vm *policy;	/* NULL: no risk model */
	struct kvmmt_policy_summary sum;	/* valid when policy is set */
	const char *risk;		/* NULL when no risk class is known */
	enum kvmmt_gt gt;		/* can guest types take effect */
	unsigned int gt_why;		/* and why: KVMMT_WHY_ */
	const struct top_migration *mig;	/* NULL: kvmmt-policyd says nothing */
};

/* Everything one refresh shows. */
struct top_model {
	struct top_opts *opts;		/* sort, order and totals change at run time */
	struct kvmmt_host host;
	char hostname[65];
	struct kvmmt_dp *dp;
	struct kvmmt_vmtable *table;
	struct kvmmt_vmreg *reg;	/* identity, host maps, risk model per VM */
	struct top_migration *mig;	/* from kvmmt-policyd, last refresh */
	size_t nr_mig;
	bool policyd;			/* kvmmt-policyd answered */
	char attach[48];		/* attach path in use */
	char attach_why[512];		/* why that one and not a better one */
	__u64 drops;			/* ring-buffer events lost */
	int nc_total;			/* noncoherent DMA registrations, all VMs */
	double interval;		/* seconds covered by the rates */
	unsigned long samples;
	struct top_vm *vms;		/* filtered and sorted */
	size_t nr_vms;
	size_t nr_all;			/* VMs before filtering */
	/* interactive filter, on top of -p/-g */
	pid_t ui_pid;
	regex_t ui_re;
	bool ui_has_re;
	char ui_filter[64];
};

int top_model_open(struct top_model *m, struct top_opts *o,
		   struct kvmmt_err *e);
void top_model_close(struct top_model *m);
int top_model_sample(struct top_model *m, struct kvmmt_err *e);
/* Feed pending data-path events to the risk model, waiting up to @timeout_ms. */
int top_model_drain(struct top_model *m, int timeout_ms, struct kvmmt_err *e);
/* Re-filter and re-sort the last sample (after a key changed the view). */
int top_model_view(struct top_model *m, struct kvmmt_err *e);
/* Interactive filter: digits select a pid, anything else a name regex. */
int top_model_set_filter(struct top_model *m, const char *text,
			 struct kvmmt_err *e);
int top_parse_sort(const char *key, enum top_col *out);

void top_policyd_poll(struct top_model *m);
const struct top_migration *top_policyd_find(const struct top_model *m, pid_t pid);

/* Text shared by the renderers (format.c). */
#define TOP_CELL_LEN	64
void top_fmt_size(char *buf, size_t len, __u64 bytes);
void top_fmt_count(char *buf, size_t len, double v);
/* One cell of the VM list, unpadded. */
void top_fmt_migration(const struct top_migration *mg, char *buf, size_t len);
void top_fmt_cell(const struct top_model *m, const struct top_vm *v,
		  enum top_col col, char *buf, size_t len);
/* A column title ("WB/s" in rate mode). */
void top_fmt_title(const struct top_model *m, enum top_col col, char *buf,
		   size_t len);
/* Pad @text to the column's width and alignment, append to @line. */
void top_append_cell(char *line, size_t len, enum top_col col, const char *text);
/* The two header lines above the list; @n is 0 or 1. */
void top_fmt_banner(const struct top_model *m, int n, char *buf, size_t len);

/* Renderers. Both return 0, or a negative errno with @e filled. */
int top_batch(struct top_model *m, struct kvmmt_err *e);
int top_tui(struct top_model *m, struct kvmmt_err *e);
/* Whether the terminal on stdin/stdout can run the full-screen UI. */
bool top_tui_possible(char *why, size_t len);

/* Set by the signal handlers: stop and restore the terminal. */
extern volatile int top_stop;

#endif

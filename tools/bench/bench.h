/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * kvmmt-bench: measured cost of kvmmt next to the tools an operator would
 * otherwise run. Every number printed comes from the run that prints it.
 */
#ifndef KVMMT_BENCH_H
#define KVMMT_BENCH_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>
#include <json-c/json.h>
#include "datapath.h"
#include "memtype.h"
#include "policy.h"
#include "vmtable.h"
#include "capture.h"

#define BENCH_MAX_RUNS	64
#define BENCH_MAX_COLS	12
#define BENCH_MAX_ROWS	24
#define BENCH_MAX_COUNTS	6

/* The test VMM's workload: what one run of kvmmt-testvmm does. */
struct bench_load {
	int vms;
	int slots;
	int pages;		/* per VM */
	int repeat;		/* times each VM re-touches its pages */
};

struct bench_cfg {
	const char *bin;	/* directory holding kvmmt-* binaries */
	const char *tmp;	/* scratch directory for captures and traces */
	int runs;		/* repetitions per measured row */
	bool quick;
	bool json;
	bool verbose;
	struct bench_load load;
	unsigned int only;	/* bitmask of BENCH_* to run, 0 = all */
	int vm_counts[BENCH_MAX_COUNTS];	/* daemon benchmark: held VMs */
	int nvm_counts;
	double window_s;	/* daemon benchmark: measuring window */
	const char *kvm_stat;	/* daemon benchmark's reference, NULL: kvm_stat on PATH */
};

enum {
	BENCH_PROBE = 1u << 0,
	BENCH_INGEST = 1u << 1,
	BENCH_CAPTURE = 1u << 2,
	BENCH_DAEMON = 1u << 3,
};

/* Repeated measurements of one quantity. */
struct samples {
	double v[BENCH_MAX_RUNS];
	int n;
};

void samples_add(struct samples *s, double v);
double samples_median(const struct samples *s);
double samples_min(const struct samples *s);
double samples_max(const struct samples *s);
/* Median, min and max as a JSON object. */
json_object *samples_json(const struct samples *s);

/* A text table printed once complete; cells are owned strings. */
struct table {
	char title[160];
	int ncols, nrows;
	char *head[BENCH_MAX_COLS];
	char *cell[BENCH_MAX_ROWS][BENCH_MAX_COLS];
	char *notes[BENCH_MAX_ROWS];
	int nnotes;
	char *missing[BENCH_MAX_ROWS];	/* reasons, numbered in cells */
	int nmissing;
};

void table_init(struct table *t, const char *title, const char *const *cols);
/* Appends a row; each cell is a printf format result in order. */
int table_row(struct table *t);
void table_set(struct table *t, int row, int col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void table_note(struct table *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* "not measured [n]" in the cell, the reason as footnote n. */
void table_missing(struct table *t, int row, int col, const char *why);
void table_print(const struct table *t, FILE *f);
void table_free(struct table *t);
/* "median [min..max]" with a printf format for each number. */
void table_set_samples(struct table *t, int row, int col, const char *numfmt,
		       const struct samples *s, double scale);

/* Processes. */
struct proc_result {
	int status;		/* wait status */
	double wall_s;
	double cpu_s;		/* user + system of the child (and its children) */
	long maxrss_kib;
};

/* On SIGINT/SIGTERM/SIGHUP: stop the children, remove the tracefs instance. */
void proc_stop_on_signals(void);
/* fork+exec @argv with stdout/stderr to the given fds (-1 = /dev/null). */
pid_t proc_spawn(char *const argv[], int out_fd, int err_fd);
int proc_wait(pid_t pid, struct proc_result *r, double started);
/* Run to completion, collecting stdout into a malloc'ed string. */
int proc_run(char *const argv[], char **out, struct proc_result *r);
/* The same, collecting stdout and stderr together. */
int proc_run_err(char *const argv[], char **out, struct proc_result *r);
/* Send @sig, wait up to @timeout_s, then SIGKILL. */
int proc_stop(pid_t pid, int sig, double timeout_s, struct proc_result *r);
/* utime+stime in seconds from /proc/PID/stat, or -1. */
double proc_cpu_s(pid_t pid);
/* proc_cpu_s() counts nanoseconds (schedstat), not clock ticks */
bool proc_cpu_precise(pid_t pid);
/* VmRSS in KiB from /proc/PID/status, or -1. */
long proc_rss_kib(pid_t pid);
/* Wait until @path contains @needle (a readiness line), up to @timeout_s. */
bool file_wait_for(const char *path, const char *needle, double timeout_s);

double now_s(void);
/* CPU time of the calling thread, in seconds. */
double thread_cpu_s(void);
bool is_exec(const char *path);
/* "$bin/name" into @buf. */
const char *bin_path(const struct bench_cfg *c, const char *name, char *buf,
		     size_t len);
/* Appends printf output to the string in @buf (@len bytes), cut to fit. */
void strfcat(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* @tool's path on PATH in @buf, or NULL. */
const char *tool_path(const char *tool, char *buf, size_t len);
/* Why a tool cannot run, or NULL: "missing <what>" for a PATH tool. */
const char *tool_missing(const char *tool);
long file_size(const char *path);

/* The test VMM. */
struct vmm_result {
	double wall_s;		/* process lifetime */
	double touch_s;		/* time the VMs spent touching pages */
	double installs;	/* SPTE installs the VMM caused (its own report) */
	struct proc_result proc;
};

/* -ENODEV with the reason in @why if this host has no /dev/kvm, else 0. */
int vmm_no_kvm(char *why, size_t whylen);
/*
 * Run kvmmt-testvmm with @load, optionally under @wrap (a command prefix
 * such as perf stat). Returns 0 or -errno with a reason in @why.
 */
int vmm_run(const struct bench_cfg *c, const struct bench_load *load,
	    char *const wrap[], struct vmm_result *r, char *why, size_t whylen);
/*
 * Start it in the background holding its VMs (for the steady-state bench):
 * its pid, -ENODEV without /dev/kvm, -ENOENT if not built.
 */
pid_t vmm_start_hold(const struct bench_cfg *c, const struct bench_load *load, int err_fd,
		     int hold_s, const char *ready_file);

/* Per VMM process, CPU microseconds of what the VM registry reads in /proc. */
struct procread {
	int procs, mib;			/* live processes, MiB touched in each */
	struct samples smaps_us;	/* /proc/PID/smaps read and parsed */
	struct samples layout_us;	/* /proc/PID/maps fingerprint */
	struct samples stat_us;		/* /proc/PID/stat start time */
	struct samples poll_us;		/* one poll() of every pidfd, per process */
};
int procread_costs(const struct bench_cfg *c, struct procread *r, char *why, size_t whylen);

/* kvmmt-top -j's VM objects per refresh, CPU microseconds per refresh of @vms VMs. */
struct topjson {
	int vms, slots;
	struct samples built_us;	/* built with json-c and printed, every refresh */
	struct samples kept_us;		/* idle VMs: kept from the last refresh */
	struct samples changed_us;	/* every VM changed: built, printed and kept */
};
int topjson_costs(const struct bench_cfg *c, struct topjson *r, char *why, size_t whylen);

int bench_probe(const struct bench_cfg *c, json_object *out);
int bench_ingest(const struct bench_cfg *c, json_object *out);
int bench_capture(const struct bench_cfg *c, json_object *out);
int bench_daemon(const struct bench_cfg *c, json_object *out);

/*
 * Library parts are referenced weakly and the library is linked whole, so
 * the bench builds and runs while a part is absent and its rows say which.
 */

/* BPF run time of every program a process holds (bpf_stats must be on). */
#define BENCH_MAX_PROGS	32

/* One BPF program's bpf_stats (bpftool prog show's run_time_ns, run_cnt). */
struct prog_one {
	char name[16];
	__u32 id;
	double ns, cnt;
};

struct prog_stats {
	double ns, cnt;
	int nprogs;
	struct prog_one p[BENCH_MAX_PROGS];
};
int prog_stats_of(pid_t pid, struct prog_stats *ps);

/* ftrace recording of kvmmmu events in a tracefs instance of our own. */
struct ftrace_count {
	double entries;		/* events in the buffer */
	double overrun;		/* events lost to a full buffer */
};
extern const char *const bench_events[];
int ftrace_start(const struct bench_cfg *c, double expect_installs, char *why,
		 size_t len);
int ftrace_stop(struct ftrace_count *fc);
/* trace-cmd extract of the instance into @out. */
int ftrace_extract(const char *out, struct proc_result *r, char *why, size_t len);
void ftrace_remove(void);
/* The same from a signal handler: only rmdir(2), which disables its events. */
void ftrace_remove_async(void);

void vlog(const struct bench_cfg *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The hidden --ingest-child mode that callgrind runs. */
int bench_ingest_child(size_t n);
/* The hidden --replay-child mode: a capture file through the model. */
int bench_replay_child(const char *path);


#endif

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* kvmmt-bench: option parsing and the order the benchmarks run in. */
#include <argp.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <unistd.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include "bench.h"
#include "version.h"

const char *argp_program_version = "kvmmt-bench " KVMMT_VERSION;
static const char doc[] =
"Measure kvmmt's cost next to the tools people run instead.\n"
"\n"
"Runs the benchmarks named (default: all) and prints one table each, every\n"
"number measured in this run: median [min..max] over repeated runs.\n"
"  probe    probe overhead per SPTE install: nothing, empty BPF program,\n"
"           kvmmt, bpftrace, perf stat, ftrace (trace-cmd)\n"
"  ingest   user-space events/s per core through decoding, the VM table and\n"
"           the risk model; memory per VM and per range\n"
"  capture  bytes/install of kvmmt-capture against trace.dat, zlib and zstd\n"
"  daemon   kvmmt-top and kvmmt-policyd CPU and RSS with 1 to 500 VMs,\n"
"           time to first refresh, memory per VM; kvm_stat side by side\n"
"           (its default tracepoints, and -d: every VM's debugfs stats)\n"
"A row whose component is missing says which one; no number is invented.\n"
"Each table ends with its targets, MET, MISSED or not measured. Needs root\n"
"(BPF, tracefs, /dev/kvm); exits 0 when every table was printed.\n"
"\n"
"EXAMPLES:\n"
"    kvmmt-bench -b build/bin            # all tables (a few minutes)\n"
"    kvmmt-bench -b build/bin --quick    # small sizes, fewer rounds\n"
"    kvmmt-bench -b build/bin probe -r 9 # probe overhead, 9 rounds\n"
"    kvmmt-bench -b build/bin --json     # one JSON document\n";

static const char args_doc[] = "[probe|ingest|capture|daemon]...";

enum {
	OPT_VMS = 0x100,
	OPT_SLOTS,
	OPT_PAGES,
	OPT_REPEAT,
	OPT_INGEST_CHILD,
	OPT_REPLAY_CHILD,
	OPT_VM_COUNTS,
	OPT_WINDOW,
	OPT_KVM_STAT,
};

static const struct argp_option opts[] = {
	{ "bin", 'b', "DIR", 0,
	  "Directory with the kvmmt binaries (default: this program's)", 0 },
	{ "tmp", 't', "DIR", 0,
	  "Scratch directory for captures and traces (default: a new one in /tmp)", 0 },
	{ "runs", 'r', "N", 0, "Rounds per measured row (default 7, --quick 3)", 0 },
	{ "quick", 'q', NULL, 0, "Small workloads and 3 rounds: a smoke run", 0 },
	{ "json", 'j', NULL, 0, "Print one JSON document instead of tables", 0 },
	{ "verbose", 'v', NULL, 0, "Say what is running on stderr", 0 },
	{ "vms", OPT_VMS, "N", 0, "Workload: test VMs (default 2)", 1 },
	{ "slots", OPT_SLOTS, "N", 0, "Workload: data memslots per VM (default 2)", 1 },
	{ "pages", OPT_PAGES, "N", 0, "Workload: pages per VM (default 16384, --quick 2048;"
	  " the capture benchmark also runs 4 times as many)", 1 },
	{ "repeat", OPT_REPEAT, "N", 0, "Probe workload: rounds per VM (default 4, --quick 2)", 1 },
	{ "vm-counts", OPT_VM_COUNTS, "LIST", 0,
	  "Daemon benchmark: held VMs per step (default 1,10,50,200,500; --quick 1,10,50)", 2 },
	{ "window", OPT_WINDOW, "SECONDS", 0,
	  "Daemon benchmark: measuring window (default 10, --quick 4)", 2 },
	{ "kvm-stat", OPT_KVM_STAT, "PATH", 0,
	  "Daemon benchmark: the kvm_stat run side by side (default: kvm_stat on PATH;"
	  " tools/bench/run unpacks Debian's from linux-source-6.12)", 2 },
	{ "ingest-child", OPT_INGEST_CHILD, "N", OPTION_HIDDEN, "", 0 },
	{ "replay-child", OPT_REPLAY_CHILD, "FILE", OPTION_HIDDEN, "", 0 },
	{ 0 },
};

struct args {
	struct bench_cfg c;
	int runs;
	int ingest_child;
	const char *replay_child;
	struct bench_load load;
	char bin[PATH_MAX];
};

static int parse_int(const char *s, int lo, int hi, const char *what,
		     struct argp_state *st)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < lo || v > hi)
		argp_error(st, "%s must be an integer in %d..%d, got '%s'", what,
			   lo, hi, s);
	return v;
}

static error_t parse_opt(int key, char *arg, struct argp_state *st)
{
	struct args *a = st->input;

	switch (key) {
	case 'b':
		a->c.bin = arg;
		break;
	case 't':
		a->c.tmp = arg;
		break;
	case 'r':
		a->runs = parse_int(arg, 1, BENCH_MAX_RUNS, "--runs", st);
		break;
	case 'q':
		a->c.quick = true;
		break;
	case 'j':
		a->c.json = true;
		break;
	case 'v':
		a->c.verbose = true;
		break;
	case OPT_VMS:
		a->load.vms = parse_int(arg, 1, 64, "--vms", st);
		break;
	case OPT_SLOTS:
		a->load.slots = parse_int(arg, 1, 32, "--slots", st);
		break;
	case OPT_PAGES:
		a->load.pages = parse_int(arg, 8, 1 << 22, "--pages", st);
		break;
	case OPT_REPEAT:
		a->load.repeat = parse_int(arg, 1, 1000, "--repeat", st);
		break;
	case OPT_VM_COUNTS: {
		char *save = NULL, *tok;

		a->c.nvm_counts = 0;
		for (tok = strtok_r(arg, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			if (a->c.nvm_counts == BENCH_MAX_COUNTS)
				argp_error(st, "--vm-counts takes at most %d numbers",
					   BENCH_MAX_COUNTS);
			a->c.vm_counts[a->c.nvm_counts++] =
				parse_int(tok, 1, 1000, "--vm-counts", st);
		}
		if (!a->c.nvm_counts)
			argp_error(st, "--vm-counts needs at least one number");
		break;
	}
	case OPT_WINDOW:
		a->c.window_s = parse_int(arg, 1, 3600, "--window", st);
		break;
	case OPT_KVM_STAT:
		if (!is_exec(arg))
			argp_error(st, "--kvm-stat: '%s' is not an executable file", arg);
		a->c.kvm_stat = arg;
		break;
	case OPT_REPLAY_CHILD:
		a->replay_child = arg;
		break;
	case OPT_INGEST_CHILD:
		a->ingest_child = parse_int(arg, 1, 1 << 28, "--ingest-child", st);
		break;
	case ARGP_KEY_ARG:
		if (!strcmp(arg, "probe"))
			a->c.only |= BENCH_PROBE;
		else if (!strcmp(arg, "ingest"))
			a->c.only |= BENCH_INGEST;
		else if (!strcmp(arg, "capture"))
			a->c.only |= BENCH_CAPTURE;
		else if (!strcmp(arg, "daemon"))
			a->c.only |= BENCH_DAEMON;
		else
			argp_error(st, "unknown benchmark '%s' (probe, ingest, capture, daemon)",
				   arg);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/*
 * ftrace's rows need tracefs and kvm_stat reads debugfs. Where the host
 * has either unmounted, the benchmark mounts it in a mount namespace of its
 * own, which its children share and which goes with it: the host's mounts
 * stay as they were. Returns what it did, for the header and the JSON ("" if
 * nothing); a filesystem it cannot mount shows in the rows that need it.
 */
static const char *mount_pseudo_fs(char *done, size_t len)
{
	static const struct {
		const char *type, *dir;
		long magic;
	} fs[] = {
		{ "tracefs", "/sys/kernel/tracing", TRACEFS_MAGIC },
		{ "debugfs", "/sys/kernel/debug", DEBUGFS_MAGIC },
	};
	bool own_ns = false;
	struct statfs st;

	done[0] = 0;
	for (size_t i = 0; i < sizeof(fs) / sizeof(fs[0]); i++) {
		if (!statfs(fs[i].dir, &st) && st.f_type == fs[i].magic)
			continue;
		if (!own_ns && (unshare(CLONE_NEWNS) ||
				mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))) {
			strfcat(done, len, "%scannot make a mount namespace to mount %s"
				" in: %m", done[0] ? "; " : "", fs[i].type);
			return done;
		}
		own_ns = true;
		if (mount(fs[i].type, fs[i].dir, fs[i].type, 0, NULL))
			strfcat(done, len, "%scannot mount %s at %s: %m",
				done[0] ? "; " : "", fs[i].type, fs[i].dir);
		else
			strfcat(done, len, "%s%s mounted at %s for this run (a private"
				" mount namespace: the host's mounts are unchanged)",
				done[0] ? "; " : "", fs[i].type, fs[i].dir);
	}
	return done;
}

static json_object *machine_json(void)
{
	json_object *m = json_object_new_object();
	char model[256] = "unknown", line[512];
	struct utsname u;
	FILE *f = fopen("/proc/cpuinfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "model name : %255[^\n]", model) == 1)
			break;
	if (f)
		fclose(f);
	uname(&u);
	json_object_object_add(m, "kernel", json_object_new_string(u.release));
	json_object_object_add(m, "arch", json_object_new_string(u.machine));
	json_object_object_add(m, "cpu", json_object_new_string(model));
	json_object_object_add(m, "cpus", json_object_new_int(sysconf(_SC_NPROCESSORS_ONLN)));
	json_object_object_add(m, "mem_mib", json_object_new_int64(
		(long long)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE) >> 20));
	return m;
}

int main(int argc, char **argv)
{
	static const struct argp argp = { opts, parse_opt, args_doc, doc, 0, 0, 0 };
	static const struct {
		unsigned int bit;
		const char *name;
		int (*fn)(const struct bench_cfg *, json_object *);
	} benches[] = {
		{ BENCH_PROBE, "probe", bench_probe },
		{ BENCH_INGEST, "ingest", bench_ingest },
		{ BENCH_CAPTURE, "capture", bench_capture },
		{ BENCH_DAEMON, "daemon", bench_daemon },
	};
	struct args a = { 0 };
	char tmpl[] = "/tmp/kvmmt-bench.XXXXXX", mounted[512];
	json_object *root, *m;
	int err = 0;

	if (argp_parse(&argp, argc, argv, 0, NULL, &a))
		return 2;
	if (a.ingest_child)
		return bench_ingest_child(a.ingest_child);
	if (a.replay_child)
		return bench_replay_child(a.replay_child);
	if (!a.c.bin) {
		ssize_t n = readlink("/proc/self/exe", a.bin, sizeof(a.bin) - 1);

		if (n > 0) {
			a.bin[n] = 0;
			*strrchr(a.bin, '/') = 0;
			a.c.bin = a.bin;
		} else {
			a.c.bin = ".";
		}
	}
	if (geteuid()) {
		fprintf(stderr, "kvmmt-bench: must run as root (BPF, tracefs and /dev/kvm)\n");
		return 1;
	}
	if (!a.c.tmp && !(a.c.tmp = mkdtemp(tmpl))) {
		fprintf(stderr, "kvmmt-bench: cannot create a scratch directory: %m\n");
		return 1;
	}
	mount_pseudo_fs(mounted, sizeof(mounted));
	proc_stop_on_signals();
	ftrace_remove_async();	/* fixes the instance path before any signal */
	a.c.runs = a.runs ?: (a.c.quick ? 3 : 7);
	if (!a.c.nvm_counts) {
		static const int dflt[] = { 1, 10, 50, 200, 500 }, quick[] = { 1, 10, 50 };

		if (a.c.quick)
			memcpy(a.c.vm_counts, quick, sizeof(quick));
		else
			memcpy(a.c.vm_counts, dflt, sizeof(dflt));
		a.c.nvm_counts = a.c.quick ? 3 : 5;
	}
	if (!a.c.window_s)
		a.c.window_s = a.c.quick ? 4 : 10;
	a.c.load.vms = a.load.vms ?: 2;
	a.c.load.slots = a.load.slots ?: 2;
	a.c.load.pages = a.load.pages ?: (a.c.quick ? 2048 : 16384);
	a.c.load.repeat = a.load.repeat ?: (a.c.quick ? 2 : 4);

	root = json_object_new_object();
	m = machine_json();
	json_object_object_add(m, "mounted", json_object_new_string(mounted));
	json_object_object_add(root, "machine", m);
	if (!a.c.json)
		printf("kvmmt-bench on %s, %d CPUs (%s), kernel %s%s\n%s%s",
		       json_object_get_string(json_object_object_get(m, "cpu")),
		       json_object_get_int(json_object_object_get(m, "cpus")),
		       json_object_get_string(json_object_object_get(m, "arch")),
		       json_object_get_string(json_object_object_get(m, "kernel")),
		       a.c.quick ? " (--quick)" : "", mounted, mounted[0] ? "\n" : "");
	for (size_t i = 0; i < sizeof(benches) / sizeof(benches[0]); i++) {
		json_object *o;

		if (a.c.only && !(a.c.only & benches[i].bit))
			continue;
		o = json_object_new_object();
		vlog(&a.c, "benchmark %s", benches[i].name);
		err = benches[i].fn(&a.c, o) ?: err;
		json_object_object_add(root, benches[i].name, o);
	}
	if (a.c.json)
		puts(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY));
	json_object_put(root);
	if (tmpl[0] && a.c.tmp == tmpl) {
		char *rm[] = { "rm", "-rf", tmpl, NULL };

		proc_run(rm, NULL, NULL);
	}
	return err ? 1 : 0;
}

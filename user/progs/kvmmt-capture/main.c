// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/* kvmmt-capture: record KVM memory-type events into a self-describing file. */
#include <argp.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "capture-prog.h"
#include "memtype.h"
#include "policy.h"
#include "pidlist.h"
#include "version.h"

const char *argp_program_version = "kvmmt-capture " KVMMT_VERSION;

static const char doc[] =
"Record every SPTE install (gfn, pfn, level, raw SPTE, decoded memory type,\n"
"IPAT, memslot), zap, noncoherent DMA change and memslot change KVM makes,\n"
"with timestamps, thread and CPU, plus a snapshot of every VM at the start\n"
"and the end, into one compressed file that describes the host it was taken\n"
"on. Read it with kvmmt-report(8).\n"
"\n"
"Recording stops after --duration, at --max-size, or on Ctrl-C, SIGTERM or\n"
"SIGHUP. The file is written as FILE.partial and renamed to FILE when\n"
"complete; a capture that is killed leaves FILE.partial, which kvmmt-report\n"
"reads up to its last complete chunk. An existing FILE is kept as FILE.old\n"
"(like perf record); an existing FILE.partial is never overwritten. Events\n"
"the ring buffer had to drop are counted in the file. Needs root (CAP_BPF\n"
"and CAP_PERFMON).\n"
"\n"
"EXAMPLES:\n"
"    kvmmt-capture -o bug.kmc                 # until Ctrl-C\n"
"    kvmmt-capture -d 30 -o bug.kmc           # 30 seconds\n"
"    kvmmt-capture -p 4242 -s 100M -o vm.kmc  # one VM, at most 100 MiB\n"
"    kvmmt-report bug.kmc                     # what it recorded\n";

enum { OPT_RINGBUF = 0x100 };

static const struct argp_option options[] = {
	{ "output", 'o', "FILE", 0, "Write the capture to FILE (default kvmmt.kmc)", 0 },
	{ "duration", 'd', "SECONDS", 0, "Stop after SECONDS (default: until Ctrl-C)", 0 },
	{ "max-size", 's', "SIZE", 0, "Stop when the file reaches SIZE bytes (suffix K, M, G)", 0 },
	{ "pid", 'p', "PID", 0, "Only VMs of this VMM process; repeat or use commas", 0 },
	{ "ringbuf", OPT_RINGBUF, "KIB", 0,
	  "Ring buffer size in KiB, a power of two (default 4096)", 0 },
	{ "attach", 'a', "PATH", 0, KVMMT_ATTACH_HELP, 0 },
	{ "quiet", 'q', NULL, 0, "No progress line and no closing summary", 0 },
	{},
};

#define MAX_PIDS	64
#define PAT_LIST	"/sys/kernel/debug/x86/pat_memtype_list"
#define FLUSH_NS	1000000000ull	/* a chunk at least every second */
#define PROGRESS_NS	250000000ull

struct opts {
	const char *out;
	double duration;
	unsigned long long max_size;
	pid_t pids[MAX_PIDS];
	int nr_pids;
	unsigned int ringbuf_kib;
	enum kvmmt_path attach;
	bool quiet;
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static int parse_size(const char *s, unsigned long long *v)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(s, &end);
	if (errno || end == s || d <= 0)
		return -1;
	switch (*end) {
	case 'k': case 'K': d *= 1024; end++; break;
	case 'm': case 'M': d *= 1024 * 1024; end++; break;
	case 'g': case 'G': d *= 1024.0 * 1024 * 1024; end++; break;
	}
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end || d < 4096 || d > 1e15)
		return -1;
	*v = d;
	return 0;
}

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	struct opts *o = state->input;
	struct kvmmt_err e;
	char *end;
	long v;

	switch (key) {
	case 'o':
		if (!*arg)
			argp_error(state, "empty output file name");
		o->out = arg;
		break;
	case 'd':
		errno = 0;
		o->duration = strtod(arg, &end);
		if (errno || end == arg || *end || !(o->duration > 0) || o->duration > 31536000)
			argp_error(state, "invalid duration '%s': expected seconds, more than 0", arg);
		break;
	case 's':
		if (parse_size(arg, &o->max_size))
			argp_error(state, "invalid size '%s': expected bytes (at least 4K), e.g. 100M",
				   arg);
		break;
	case 'p':
		if (kvmmt_pidlist_add(arg, o->pids, &o->nr_pids, MAX_PIDS, true, &e))
			argp_error(state, "%s", e.msg);
		break;
	case OPT_RINGBUF:
		errno = 0;
		v = strtol(arg, &end, 10);
		if (errno || end == arg || *end || v < 4 || v > (1 << 20) || (v & (v - 1)))
			argp_error(state, "invalid ring buffer size '%s': expected a power of two "
				   "from 4 to 1048576 KiB", arg);
		o->ringbuf_kib = v;
		break;
	case 'a':
		if (kvmmt_path_parse(arg, &o->attach, &e))
			argp_error(state, "%s", e.msg);
		break;
	case 'q':
		o->quiet = true;
		break;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s' (the output file is given with -o)",
			   arg);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/*
 * Refuse, before anything is loaded, an output that would destroy something
 * the user did not ask to replace: a directory or device at FILE (rename
 * would fail at the end, or replace the device node) or the FILE.partial of
 * an earlier capture that was cut short.
 */
static int check_output(const char *out, char *msg, size_t len)
{
	char dir[PATH_MAX];
	struct stat st;

	snprintf(dir, sizeof(dir), "%s", out);
	if (access(strchr(dir, '/') ? dirname(dir) : ".", W_OK)) {
		int err = errno;

		snprintf(msg, len, "cannot write %s: %s", out, strerror(err));
		return -err;
	}
	if (!stat(out, &st) && !S_ISREG(st.st_mode)) {
		snprintf(msg, len, "%s exists and is not a regular file; choose another -o", out);
		return -EEXIST;
	}
	snprintf(msg, len, "%s%s", out, KVMMT_CAP_PARTIAL_SUFFIX);
	if (!lstat(msg, &st)) {
		snprintf(msg, len, "%s%s already exists (a capture cut short, or one still "
			 "running): read it with kvmmt-report, then move it away or choose "
			 "another -o", out, KVMMT_CAP_PARTIAL_SUFFIX);
		return -EEXIST;
	}
	return 0;
}

/* Keep an earlier capture at FILE as FILE.old, as perf record does with perf.data. */
static int keep_old(const char *out, bool *kept, struct kvmmt_err *e)
{
	char old[PATH_MAX];
	struct stat st;

	*kept = false;
	if (stat(out, &st) || !S_ISREG(st.st_mode))
		return 0;
	if (snprintf(old, sizeof(old), "%s.old", out) >= (int)sizeof(old))
		return kvmmt_errf(e, -ENAMETOOLONG, "%s.old: file name too long", out);
	if (rename(out, old))
		return kvmmt_errf(e, -errno, "cannot keep the existing %s as %s: %s", out, old,
				  strerror(errno));
	*kept = true;
	return 0;
}

/* A VMM process first seen in events, waiting for its snapshot record. */
struct newcomer {
	__u32 tgid;
	char comm[KVMMT_COMM_LEN];
};

#define MAX_SEEN	KVMMT_CAP_MAX_VMS

struct cap {
	struct opts *o;
	__u32 seen[MAX_SEEN];		/* VMM processes already described */
	unsigned int nr_seen;
	struct newcomer fresh[MAX_SEEN];
	unsigned int nr_fresh;
	struct kvmmt_dp *dp;
	struct kvmmt_capw *w;
	enum kvmmt_fmt fmt;
	__u64 host_pat;
	struct kvmmt_err e;
	int werr;		/* first writer error */
	bool full;		/* --max-size reached */
	__u64 drops;		/* last KVMMT_G_DROPS read */
	__u32 last_tgid;
};

static __u64 now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static bool wanted(const struct opts *o, __u32 tgid)
{
	if (!o->nr_pids)
		return true;
	for (int i = 0; i < o->nr_pids; i++)
		if ((__u32)o->pids[i] == tgid)
			return true;
	return false;
}

/* Remember a new VMM process and its name now: it may exit before the next snapshot. */
static void note_tgid(struct cap *c, __u32 tgid)
{
	struct newcomer *n;
	char path[64];
	FILE *f;

	for (unsigned int i = c->nr_seen; i-- > 0;)
		if (c->seen[i] == tgid)
			return;
	if (c->nr_seen == MAX_SEEN)
		return;
	c->seen[c->nr_seen++] = tgid;
	n = &c->fresh[c->nr_fresh++];
	memset(n, 0, sizeof(*n));
	n->tgid = tgid;
	snprintf(path, sizeof(path), "/proc/%u/comm", tgid);
	f = fopen(path, "r");
	if (f) {
		if (fgets(n->comm, sizeof(n->comm), f))
			n->comm[strcspn(n->comm, "\n")] = 0;
		fclose(f);
	}
}

/*
 * Stop taking events once the file reaches --max-size. Near the limit the
 * buffered events are written to learn their compressed size, so the file
 * ends within one small chunk of the limit.
 */
static int check_size(struct cap *c)
{
	struct kvmmt_capw_stats st;

	kvmmt_capw_stats(c->w, &st);
	if (st.bytes + st.pending < c->o->max_size)
		return 0;
	if (kvmmt_capw_flush(c->w, c->drops, &c->e))
		return c->e.err;
	kvmmt_capw_stats(c->w, &st);
	c->full = st.bytes >= c->o->max_size;
	return 0;
}

static int on_event(void *ctx, const struct kvmmt_event *ev)
{
	struct cap *c = ctx;
	struct kvmmt_cap_event ce = { .ev = *ev };
	struct kvmmt_memattr ma;

	if (c->werr || c->full || !wanted(c->o, ev->tgid))
		return 0;
	if (ev->tgid != c->last_tgid) {
		note_tgid(c, ev->tgid);
		c->last_tgid = ev->tgid;
	}
	if ((ev->type == KVMMT_EV_INSTALL || ev->type == KVMMT_EV_ZAP) &&
	    !kvmmt_attr_decode(c->fmt, ev->attr, c->host_pat, &ma)) {
		ce.mt = ma.mt;
		ce.ipat = ma.ipat;
	}
	c->werr = kvmmt_capw_event(c->w, &ce, &c->e);
	if (!c->werr && c->o->max_size)
		c->werr = check_size(c);
	return 0;
}

/*
 * Host-side memory types the risk model compares guest types with: the
 * kernel's PAT reservations (debugfs) and each VMM's device mappings.
 * Either may be unreadable (debugfs unmounted, process gone): then nothing
 * is recorded and kvmmt-report says the model lacked them.
 */
static int record_hostmap(struct cap *c, enum kvmmt_cap_map_kind kind, __u32 tgid)
{
	int (*parse)(struct kvmmt_hostmap *, FILE *, struct kvmmt_err *) =
		kind == KVMMT_CAP_MAP_PAT ? kvmmt_hostmap_parse_pat : kvmmt_hostmap_parse_smaps;
	struct kvmmt_hostmap hm = {};
	struct kvmmt_cap_hostmap m = { .kind = kind, .tgid = tgid };
	struct kvmmt_cap_range *r = NULL;
	struct kvmmt_err pe;
	char path[64];
	FILE *f;
	int err = 0;

	if (kind == KVMMT_CAP_MAP_PAT)
		snprintf(path, sizeof(path), "%s", PAT_LIST);
	else
		snprintf(path, sizeof(path), "/proc/%u/smaps", tgid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (!parse(&hm, f, &pe) && hm.n <= KVMMT_CAP_MAX_RANGES &&
	    (r = calloc(hm.n ? hm.n : 1, sizeof(*r)))) {
		for (size_t i = 0; i < hm.n; i++)
			r[i] = (struct kvmmt_cap_range){ hm.r[i].start, hm.r[i].end, hm.r[i].mt };
		m.r = r;
		m.n = hm.n;
		err = kvmmt_capw_hostmap(c->w, &m, &c->e);
	}
	fclose(f);
	free(r);
	kvmmt_hostmap_free(&hm);
	return err;
}

static bool is_fresh(const struct cap *c, __u32 tgid)
{
	for (unsigned int i = 0; i < c->nr_fresh; i++)
		if (c->fresh[i].tgid == tgid)
			return true;
	return false;
}

static bool in_list(const struct kvmmt_vm_list *l, __u32 tgid)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].vm.tgid == tgid)
			return true;
	return false;
}

/*
 * START and FINISH record every wanted VM; NEW records the VMM processes
 * first seen in events since the last one, with a stub for those already gone.
 */
static int snapshot(struct cap *c, enum kvmmt_cap_phase phase)
{
	struct kvmmt_vm_list l = {};
	struct kvmmt_cap_snapshot s = { .phase = phase };
	int err;

	err = kvmmt_dp_read_vms(c->dp, &l, &c->e);
	if (err)
		return err;
	s.ts_ns = now_ns(CLOCK_MONOTONIC);
	s.vms = calloc(l.n + c->nr_fresh + 1, sizeof(*s.vms));
	if (!s.vms) {
		kvmmt_vm_list_free(&l);
		return kvmmt_errf(&c->e, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < l.n && s.nr_vms < KVMMT_CAP_MAX_VMS; i++) {
		__u32 tgid = l.v[i].vm.tgid;

		if (!wanted(c->o, tgid) || (phase == KVMMT_CAP_NEW && !is_fresh(c, tgid)))
			continue;
		if (phase == KVMMT_CAP_START && c->nr_seen < MAX_SEEN)
			c->seen[c->nr_seen++] = tgid;
		s.vms[s.nr_vms].vm = l.v[i].vm;
		s.vms[s.nr_vms].slots = l.v[i].slots;
		s.vms[s.nr_vms].nr_slots = l.v[i].nr_slots;
		s.nr_vms++;
	}
	for (unsigned int i = 0; phase == KVMMT_CAP_NEW && i < c->nr_fresh; i++) {
		struct kvmmt_vm_rec *r = &s.vms[s.nr_vms].vm;

		if (in_list(&l, c->fresh[i].tgid) || s.nr_vms == KVMMT_CAP_MAX_VMS)
			continue;
		r->kind = KVMMT_REC_VM;
		r->tgid = c->fresh[i].tgid;
		r->fd = -1;
		memcpy(r->comm, c->fresh[i].comm, KVMMT_COMM_LEN);
		s.nr_vms++;
	}
	if (phase == KVMMT_CAP_NEW)
		c->nr_fresh = 0;
	err = kvmmt_capw_snapshot(c->w, &s, &c->e);
	if (!err && phase != KVMMT_CAP_NEW)
		err = record_hostmap(c, KVMMT_CAP_MAP_PAT, 0);
	for (unsigned int i = 0; !err && phase != KVMMT_CAP_FINISH && i < s.nr_vms; i++)
		if (s.vms[i].vm.kvm_id && (!i || s.vms[i].vm.tgid != s.vms[i - 1].vm.tgid))
			err = record_hostmap(c, KVMMT_CAP_MAP_VMM, s.vms[i].vm.tgid);
	free(s.vms);
	kvmmt_vm_list_free(&l);
	return err;
}

static __u64 read_drops(struct cap *c)
{
	struct kvmmt_counters ctr = {};
	struct kvmmt_err e;
	__u64 d = 0;

	if (!kvmmt_dp_read_counters(c->dp, &ctr, &e))
		d = ctr.g[KVMMT_G_DROPS];
	kvmmt_counters_free(&ctr);
	return d;
}

static void progress(const struct cap *c, __u64 drops, double elapsed, bool last)
{
	struct kvmmt_capw_stats st;

	const char *term = getenv("TERM");
	/* erase the rest of the line, except on terminals without escapes */
	bool plain = !term || !strcmp(term, "dumb");

	kvmmt_capw_stats(c->w, &st);
	fprintf(stderr, "\r%skvmmt-capture: %llu events, %.1f KiB, %llu drops, %.1f s%s%s",
		plain ? "" : "\033[K", (unsigned long long)st.events, st.bytes / 1024.0,
		(unsigned long long)drops, elapsed, plain && !last ? "    " : "",
		last ? "\n" : "");
}

static int run(struct cap *c, struct kvmmt_cap_end *end)
{
	struct opts *o = c->o;
	bool tty = !o->quiet && isatty(STDERR_FILENO);
	__u64 start = now_ns(CLOCK_MONOTONIC), last_flush = start, last_prog = 0, now;
	__u64 drops = 0;
	int n, i;

	if (!o->quiet)
		fprintf(stderr, "kvmmt-capture: recording to %s (%s)%s\n",
			kvmmt_capw_partial_path(c->w), kvmmt_path_name(kvmmt_dp_path(c->dp)),
			o->duration ? "" : "; Ctrl-C to stop");
	for (;;) {
		n = kvmmt_dp_poll(c->dp, 100, on_event, c);
		if (n < 0 && n != -EINTR)
			return kvmmt_errf(&c->e, n, "reading the ring buffer failed: %s",
					  strerror(-n));
		if (c->werr)
			return c->werr;
		now = now_ns(CLOCK_MONOTONIC);
		if (now - last_flush >= FLUSH_NS) {
			drops = c->drops = read_drops(c);
			if (kvmmt_capw_flush(c->w, drops, &c->e))
				return c->e.err;
			if (c->nr_fresh && snapshot(c, KVMMT_CAP_NEW))
				return c->e.err;
			last_flush = now;
		}
		if (tty && now - last_prog >= PROGRESS_NS) {
			progress(c, drops, (now - start) / 1e9, false);
			last_prog = now;
		}
		if (stop_signal) {
			end->stop_reason = KVMMT_CAP_STOP_SIGNAL;
			break;
		}
		if (o->duration && (now - start) / 1e9 >= o->duration) {
			end->stop_reason = KVMMT_CAP_STOP_DURATION;
			break;
		}
		if (c->full) {
			end->stop_reason = KVMMT_CAP_STOP_SIZE;
			break;
		}
	}
	/* Drain what is already in the ring buffer, bounded under sustained load. */
	for (i = 0; i < 64 && !c->werr && !c->full; i++)
		if (kvmmt_dp_poll(c->dp, 0, on_event, c) <= 0)
			break;
	if (c->werr)
		return c->werr;
	if (tty)
		progress(c, read_drops(c), (now_ns(CLOCK_MONOTONIC) - start) / 1e9, true);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct argp argp = { options, parse_arg, NULL, doc, NULL, NULL, NULL };
	struct opts o = { .out = "kvmmt.kmc" };
	struct cap c = { .o = &o };
	struct kvmmt_dp_opts dpo = { .capture = true };
	struct kvmmt_cap_host host = {};
	struct kvmmt_cap_end end = {};
	struct kvmmt_capw_stats st;
	struct kvmmt_host h;
	struct facts f = {};
	struct sigaction sa = { .sa_handler = on_signal };
	char cmd[1024] = "", msg[PATH_MAX + 160];
	bool kept = false;
	int err, ret = 1;

	/* getopt's own messages name the program as ours do, not by its path */
	argv[0] = program_invocation_short_name;
	argp_parse(&argp, argc, argv, 0, NULL, &o);
	if (check_output(o.out, msg, sizeof(msg))) {
		fprintf(stderr, "kvmmt-capture: %s\n", msg);
		return 1;
	}
	for (int i = 0; i < argc; i++)
		snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd), "%s%s", i ? " " : "",
			 argv[i]);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	/* Events queued from the moment the programs attach belong to the capture. */
	host.start_realtime_ns = now_ns(CLOCK_REALTIME);
	host.start_ns = now_ns(CLOCK_MONOTONIC);
	err = kvmmt_host_probe(&h, &c.e);
	if (err)
		goto fail;
	dpo.pids = o.nr_pids ? o.pids : NULL;
	dpo.nr_pids = o.nr_pids;
	dpo.ringbuf_kib = o.ringbuf_kib;
	dpo.force = o.attach;
	err = kvmmt_dp_open(&c.dp, &dpo, &c.e);
	if (err)
		goto fail;
	c.fmt = kvmmt_dp_fmt(c.dp);
	c.host_pat = h.host_pat;

	facts_collect(&f, &h, c.dp);
	if (o.nr_pids) {
		char pids[MAX_PIDS * 12] = "";

		for (int i = 0; i < o.nr_pids; i++)
			snprintf(pids + strlen(pids), sizeof(pids) - strlen(pids), "%s%d",
				 i ? "," : "", o.pids[i]);
		facts_add(&f, "capture.pids", "%s", pids);
	} else {
		facts_add(&f, "capture.pids", "all");
	}
	facts_add(&f, "capture.command", "%s", cmd);
	facts_add(&f, "host.pat_memtype_list", "%s", access(PAT_LIST, R_OK) ?
		  "unreadable (mount debugfs on /sys/kernel/debug to record it)" : "recorded");
	host.fmt = c.fmt;
	host.host_pat = h.host_pat;
	host.kv = f.kv;
	host.nr_kv = f.n;
	err = kvmmt_capw_open(&c.w, o.out, &host, &c.e);
	if (err)
		goto fail;
	err = snapshot(&c, KVMMT_CAP_START);
	if (!err)
		err = run(&c, &end);
	if (!err && c.nr_fresh)
		err = kvmmt_capw_flush(c.w, read_drops(&c), &c.e) ?: snapshot(&c, KVMMT_CAP_NEW);
	if (!err)
		err = snapshot(&c, KVMMT_CAP_FINISH);
	if (err) {
		fprintf(stderr, "kvmmt-capture: %s\n", c.e.msg);
		fprintf(stderr, "kvmmt-capture: %s holds the capture up to its last complete chunk\n",
			kvmmt_capw_partial_path(c.w));
		goto out;
	}
	kvmmt_capw_stats(c.w, &st);
	end.end_ns = now_ns(CLOCK_MONOTONIC);
	end.events = st.events;
	end.drops = read_drops(&c);
	err = keep_old(o.out, &kept, &c.e) ?: kvmmt_capw_close(c.w, &end, &c.e);
	if (err) {
		fprintf(stderr, "kvmmt-capture: %s\n", c.e.msg);
		if (kept) {
			snprintf(msg, sizeof(msg), "%s.old", o.out);
			rename(msg, o.out);
		}
		goto out;
	}
	kvmmt_capw_stats(c.w, &st);
	if (!o.quiet)
		fprintf(stderr, "kvmmt-capture: wrote %s: %llu events, %llu bytes (%.2f bytes/event), "
			"%llu drops\n", o.out, (unsigned long long)st.events,
			(unsigned long long)st.bytes,
			st.events ? (double)st.bytes / st.events : 0.0,
			(unsigned long long)end.drops);
	if (!o.quiet && kept)
		fprintf(stderr, "kvmmt-capture: the previous %s is now %s.old\n", o.out, o.out);
	ret = 0;
	goto out;
fail:
	fprintf(stderr, "kvmmt-capture: %s\n", c.e.msg);
out:
	kvmmt_capw_free(c.w);
	kvmmt_dp_close(c.dp);
	facts_free(&f);
	return ret;
}

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Benchmark 3, capture size: kvmmt-capture against trace-cmd's trace.dat for
 * the same workload. Each tool records a small and a large run; bytes per
 * event are the size difference over the event difference, which cancels
 * fixed headers (about 1 MiB of metadata in a trace.dat). Reading them
 * back is compared too: every event listed as text, kvmmt-report -e against
 * trace-cmd report.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include "bench.h"

struct cap_run {
	double bytes, events, installs;
	double cpu_s;		/* user-space CPU of the recording tool */
	int retries;		/* recordings repeated (trace-cmd extract failed) */
	double drops;		/* events lost before they reached the file */
};

/*
 * The same captures re-encoded with each codec and level the writer offers,
 * so the codecs are compared on identical events in the same run.
 */
struct codec_row {
	enum kvmmt_cap_codec codec;
	int level;
	struct samples bpi;		/* bytes per install */
	struct samples cpu_per_mev;	/* encoding CPU per M events */
	struct samples dec_per_mev;	/* decoding CPU per M events */
	char why[1024];
};

static const struct { enum kvmmt_cap_codec codec; int level; } codecs[] = {
	{ KVMMT_CAP_ZLIB, 6 }, { KVMMT_CAP_ZLIB, 9 },
	{ KVMMT_CAP_ZSTD, 3 }, { KVMMT_CAP_ZSTD, 9 }, { KVMMT_CAP_ZSTD, 19 },
};
#define NR_CODECS (sizeof(codecs) / sizeof(codecs[0]))

struct cap_tool {
	const char *name;
	struct cap_run run[2];	/* small, large */
	struct samples bpe, bpi;	/* bytes per event and per install */
	struct samples cpu_per_mev;
	struct samples list_per_mins;	/* listing every event: CPU s per M installs */
	int retries;
	char why[1024];
	char list_why[1024];		/* why the listing was not measured */
	bool ok;
};

static int count_event(void *ctx, const struct kvmmt_cap_event *ev)
{
	struct cap_run *cr = ctx;

	(void)ev;
	cr->events++;
	return 0;
}

/* The drop count the capture recorded (cumulative per chunk, then at the end). */
static int note_drops(void *ctx, __u64 drops)
{
	struct cap_run *cr = ctx;

	cr->drops = drops;
	return 0;
}

static int note_end(void *ctx, const struct kvmmt_cap_end *end)
{
	return note_drops(ctx, end->drops);
}

/* One recording with kvmmt-capture: start, wait until it records, run, stop. */
static int kvmmt_record(const struct bench_cfg *c, const struct bench_load *l,
			const char *file, struct cap_run *cr, char *why, size_t len)
{
	char bin[512], partial[600], errf[600];
	struct proc_result pr;
	struct vmm_result vr;
	struct kvmmt_cap_ops ops = {
		.event = count_event, .drops = note_drops, .end = note_end,
	};
	struct kvmmt_cap_status st;
	struct kvmmt_err e = { 0 };
	double t0;
	pid_t pid;
	int fd, err;

	bin_path(c, "kvmmt-capture", bin, sizeof(bin));
	if (!is_exec(bin)) {
		snprintf(why, len, "missing component: kvmmt-capture (%s not built)", bin);
		return -ENOENT;
	}
	snprintf(partial, sizeof(partial), "%s" KVMMT_CAP_PARTIAL_SUFFIX, file);
	snprintf(errf, sizeof(errf), "%s.stderr", file);
	unlink(file);
	unlink(partial);
	char *argv[] = { bin, "-q", "-o", (char *)file, NULL };

	fd = open(errf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	t0 = now_s();
	pid = proc_spawn(argv, -1, fd);
	if (fd >= 0)
		close(fd);
	while (access(partial, F_OK) && now_s() - t0 < 30 && !waitpid(pid, NULL, WNOHANG))
		usleep(20000);
	if (access(partial, F_OK)) {
		proc_stop(pid, SIGKILL, 1, NULL);
		snprintf(why, len, "kvmmt-capture -o FILE did not start recording (see %s)",
			 errf);
		return -EIO;
	}
	usleep(200000);
	err = vmm_run(c, l, NULL, &vr, why, len);
	kill(pid, SIGINT);
	proc_wait(pid, &pr, t0);
	if (err)
		return err;
	if (!WIFEXITED(pr.status) || WEXITSTATUS(pr.status)) {
		snprintf(why, len, "kvmmt-capture exited with status %d (see %s)",
			 WIFEXITED(pr.status) ? WEXITSTATUS(pr.status) : -1, errf);
		return -EIO;
	}
	cr->bytes = file_size(file);
	cr->cpu_s = pr.cpu_s;
	cr->installs = vr.installs;
	cr->events = 0;
	cr->drops = 0;
	if (kvmmt_cap_read(file, &ops, cr, &st, &e)) {
		snprintf(why, len, "the capture does not read back: %s", e.msg);
		return -EBADMSG;
	}
	return 0;
}

/* The recording of tool @k (0 kvmmt-capture, 1 trace-cmd) of size @s (0 small). */
static const char *rec_file(const struct bench_cfg *c, int k, int s, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s%d.%s", c->tmp, k ? "trace" : "capture", s,
		 k ? "dat" : "kvmmtcap");
	return buf;
}

/*
 * CPU (user + system) to list every event of @file as text, to /dev/null:
 * kvmmt-report -e for a capture (@k 0), trace-cmd report for a trace.dat.
 */
static int list_cpu(const struct bench_cfg *c, int k, const char *file, double *cpu,
		    char *why, size_t len)
{
	char bin[512];
	char *kv[] = { bin, "-e", (char *)file, NULL };
	char *tc[] = { "trace-cmd", "report", "-i", (char *)file, NULL };
	struct proc_result r;
	double t0 = now_s();
	pid_t pid;

	bin_path(c, "kvmmt-report", bin, sizeof(bin));
	if (!k && !is_exec(bin)) {
		snprintf(why, len, "missing component: kvmmt-report (%s not built)", bin);
		return -ENOENT;
	}
	pid = proc_spawn(k ? tc : kv, -1, -1);
	if (pid < 0 || proc_wait(pid, &r, t0)) {
		int err = errno ?: EIO;

		snprintf(why, len, "cannot run %s: %s", k ? "trace-cmd" : bin, strerror(err));
		return -err;
	}
	if (!WIFEXITED(r.status) || WEXITSTATUS(r.status)) {
		snprintf(why, len, "%s on %s exited with status %d", k ? "trace-cmd report" :
			 "kvmmt-report -e", file, WIFEXITED(r.status) ? WEXITSTATUS(r.status) : -1);
		return -EIO;
	}
	*cpu = r.cpu_s;
	return 0;
}

/* This round's listing of both sizes of @tl's recording, per M installs. */
static void list_both(const struct bench_cfg *c, int k, struct cap_tool *tl)
{
	double cpu[2];
	char file[600];

	for (int s = 0; s < 2; s++)
		if (list_cpu(c, k, rec_file(c, k, s, file, sizeof(file)), &cpu[s], tl->list_why,
			     sizeof(tl->list_why)))
			return;
	samples_add(&tl->list_per_mins, (cpu[1] - cpu[0]) /
		    (tl->run[1].installs - tl->run[0].installs) * 1e6);
}

/*
 * What the capture's size is made of, measured by ablation: the same events
 * with host pfns made contiguous per VM (as the encoder predicts them), then
 * also with a constant time step; the size each removes is that field's cost.
 */
enum ablate {
	ABLATE_NONE,
	ABLATE_PFN,
	ABLATE_PFN_TS,
};

#define ABLATE_VMS 64

struct reenc {
	struct kvmmt_capw *w;
	const char *out;
	enum kvmmt_cap_codec codec;
	int level;
	enum ablate ablate;
	struct { __u32 tgid; __u64 gfn, pfn; } vm[ABLATE_VMS];
	unsigned int nr_vm;
	__u64 ts;
	struct kvmmt_err e;
};

static int re_host(void *ctx, const struct kvmmt_cap_host *h)
{
	struct reenc *r = ctx;

	return kvmmt_capw_open(&r->w, r->out, h, &r->e) ?:
	       kvmmt_capw_set_codec(r->w, r->codec, r->level, &r->e);
}

static int re_snapshot(void *ctx, const struct kvmmt_cap_snapshot *s)
{
	struct reenc *r = ctx;

	return kvmmt_capw_snapshot(r->w, s, &r->e);
}

static int re_hostmap(void *ctx, const struct kvmmt_cap_hostmap *m)
{
	struct reenc *r = ctx;

	return kvmmt_capw_hostmap(r->w, m, &r->e);
}

static void ablate(struct reenc *r, struct kvmmt_cap_event *ce)
{
	struct kvmmt_event *ev = &ce->ev;
	unsigned int i;

	for (i = 0; i < r->nr_vm && r->vm[i].tgid != ev->tgid; i++)
		;
	if (i == r->nr_vm && r->nr_vm < ABLATE_VMS)
		r->vm[r->nr_vm++].tgid = ev->tgid;
	if (i < r->nr_vm) {
		__u64 pfn = r->vm[i].pfn + (ev->gfn - r->vm[i].gfn);

		ev->spte = (ev->spte ^ (ev->pfn << 12)) ^ (pfn << 12);
		ev->pfn = pfn;
		r->vm[i].gfn = ev->gfn;
		r->vm[i].pfn = pfn;
	}
	if (r->ablate == ABLATE_PFN_TS)
		ev->ts_ns = r->ts += 5000;
}

static int re_event(void *ctx, const struct kvmmt_cap_event *ev)
{
	struct reenc *r = ctx;
	struct kvmmt_cap_event ce;

	if (r->ablate == ABLATE_NONE)
		return kvmmt_capw_event(r->w, ev, &r->e);
	ce = *ev;
	ablate(r, &ce);
	return kvmmt_capw_event(r->w, &ce, &r->e);
}

static int re_end(void *ctx, const struct kvmmt_cap_end *end)
{
	struct reenc *r = ctx;

	return kvmmt_capw_close(r->w, end, &r->e);
}

/*
 * Re-encodes capture @in into @out with one codec: its size, the CPU the
 * encoding took (a decode-only pass subtracted) and the CPU to decode it.
 */
static int reencode(const char *in, const char *out, enum kvmmt_cap_codec codec, int level,
		    enum ablate abl, double *bytes, double *enc_s, double *dec_s, char *why,
		    size_t len)
{
	static const struct kvmmt_cap_ops ops = {
		.host = re_host, .snapshot = re_snapshot, .hostmap = re_hostmap,
		.event = re_event, .end = re_end,
	};
	static const struct kvmmt_cap_ops none;
	struct reenc r = { .out = out, .codec = codec, .level = level, .ablate = abl };
	struct kvmmt_err e = { 0 };
	double t0, t1, t2, t3;
	int err;

	t0 = thread_cpu_s();
	err = kvmmt_cap_read(in, &none, NULL, NULL, &e);
	t1 = thread_cpu_s();
	if (!err)
		err = kvmmt_cap_read(in, &ops, &r, NULL, &e);
	t2 = thread_cpu_s();
	kvmmt_capw_free(r.w);
	if (err) {
		snprintf(why, len, "re-encoding %.300s failed: %.300s", in,
			 r.e.msg[0] ? r.e.msg : e.msg);
		return err;
	}
	err = kvmmt_cap_read(out, &none, NULL, NULL, &e);
	t3 = thread_cpu_s();
	if (err) {
		snprintf(why, len, "the re-encoded %.300s does not read back: %.300s", out, e.msg);
		return err;
	}
	*bytes = file_size(out);
	*enc_s = (t2 - t1) - (t1 - t0);
	*dec_s = t3 - t2;
	unlink(out);
	return 0;
}

/* Bytes per install the host pfns and the timestamps cost, by ablation. */
static void field_costs(const struct bench_cfg *c, const struct cap_run run[2],
			struct samples *pfn, struct samples *ts)
{
	double bytes[3][2], enc, dec;
	char in[600], out[600], why[1024];

	for (int a = ABLATE_NONE; a <= ABLATE_PFN_TS; a++)
		for (int s = 0; s < 2; s++) {
			snprintf(in, sizeof(in), "%s/capture%d.kvmmtcap", c->tmp, s);
			snprintf(out, sizeof(out), "%s/ablated%d.kvmmtcap", c->tmp, s);
			if (reencode(in, out, KVMMT_CAP_CODEC_DEFAULT, KVMMT_CAP_LEVEL_DEFAULT,
				     a, &bytes[a][s], &enc, &dec, why, sizeof(why)))
				return;
		}
	double di = run[1].installs - run[0].installs;

	samples_add(pfn, ((bytes[0][1] - bytes[0][0]) - (bytes[1][1] - bytes[1][0])) / di);
	samples_add(ts, ((bytes[1][1] - bytes[1][0]) - (bytes[2][1] - bytes[2][0])) / di);
}

/* Both sizes of this round's kvmmt capture, re-encoded with every codec. */
static void compare_codecs(const struct bench_cfg *c, const struct cap_run run[2],
			   struct codec_row *rows)
{
	char in[600], out[600];

	for (size_t k = 0; k < NR_CODECS; k++) {
		struct codec_row *cr = &rows[k];
		double bytes[2], enc[2], dec[2];
		int s;

		cr->codec = codecs[k].codec;
		cr->level = codecs[k].level;
		for (s = 0; s < 2; s++) {
			snprintf(in, sizeof(in), "%s/capture%d.kvmmtcap", c->tmp, s);
			snprintf(out, sizeof(out), "%s/recoded%d.kvmmtcap", c->tmp, s);
			if (reencode(in, out, cr->codec, cr->level, ABLATE_NONE, &bytes[s], &enc[s],
				     &dec[s], cr->why, sizeof(cr->why)))
				break;
		}
		if (s < 2)
			continue;
		double dev = run[1].events - run[0].events;

		samples_add(&cr->bpi, (bytes[1] - bytes[0]) / (run[1].installs - run[0].installs));
		samples_add(&cr->cpu_per_mev, (enc[1] - enc[0]) / dev * 1e6);
		samples_add(&cr->dec_per_mev, (dec[1] - dec[0]) / dev * 1e6);
	}
}

/*
 * The same run recorded by ftrace into an instance, then trace-cmd extract.
 * extract fails when /proc/kallsyms changes size while it copies it, which
 * happens whenever BPF programs load elsewhere on the host; the buffer is
 * consumed by then, so the whole recording is repeated.
 */
static int ftrace_record(const struct bench_cfg *c, const struct bench_load *l,
			 const char *file, struct cap_run *cr, char *why, size_t len)
{
	double expect = (double)l->vms * l->pages * (l->repeat + 1);
	struct ftrace_count fc;
	struct proc_result pr;
	struct vmm_result vr;
	int err = 0;

	for (int attempt = 0; attempt < 4; attempt++) {
		err = ftrace_start(c, expect, why, len);
		if (err)
			return err;
		err = vmm_run(c, l, NULL, &vr, why, len);
		ftrace_stop(&fc);
		if (err) {
			ftrace_remove();
			return err;
		}
		err = ftrace_extract(file, &pr, why, len);
		ftrace_remove();
		if (!err)
			break;
		cr->retries++;
	}
	if (err)
		return err;
	if (fc.overrun) {
		snprintf(why, len, "ftrace lost %.0f events to a full buffer", fc.overrun);
		return -ENOSPC;
	}
	cr->bytes = file_size(file);
	cr->events = fc.entries;
	cr->installs = vr.installs;
	cr->cpu_s = pr.cpu_s;
	return 0;
}

int bench_capture(const struct bench_cfg *c, json_object *out)
{
	static const char *const cols[] = {
		"recorder", "bytes/event", "bytes/install", "events/install",
		"fixed bytes", "CPU s per M events", "fixed CPU s", "lost",
		"listing CPU s per M installs", NULL,
	};
	struct bench_load l[2] = { c->load, c->load };
	struct cap_tool tool[2] = {
		{ .name = "kvmmt-capture" },
		{ .name = "trace-cmd (trace.dat)" },
	};
	double bpe[2] = { -1, -1 }, bpi[2] = { -1, -1 };
	struct codec_row crow[NR_CODECS] = { 0 };
	struct samples pfn_cost = { 0 }, ts_cost = { 0 };
	json_object *rows = json_object_new_array();
	struct table t;
	char file[600];

	l[0].repeat = 1;
	l[1].repeat = 1;
	l[1].pages = 4 * l[0].pages;
	table_init(&t, "Benchmark 3: capture size, same workload", cols);

	/* Each round records four runs: five rounds keep the table in budget. */
	int rounds = c->runs < 5 ? c->runs : 5;

	for (int r = 0; r < rounds; r++)
		for (int k = 0; k < 2; k++) {
			struct cap_tool *tl = &tool[k];
			bool fail = false;

			if (r && !tl->ok)
				continue;
			if (!r && tl->why[0])
				continue;
			for (int s = 0; s < 2 && !fail; s++) {
				rec_file(c, k, s, file, sizeof(file));
				fail = (k ? ftrace_record : kvmmt_record)(c, &l[s], file,
					&tl->run[s], tl->why, sizeof(tl->why)) != 0;
			}
			if (fail)
				continue;
			tl->ok = true;
			tl->retries += tl->run[0].retries + tl->run[1].retries;
			struct cap_run *a = &tl->run[0], *b = &tl->run[1];

			if (b->events <= a->events || b->installs <= a->installs)
				continue;
			/* Differences: fixed headers and start-up CPU cancel out. */
			samples_add(&tl->bpe, (b->bytes - a->bytes) / (b->events - a->events));
			samples_add(&tl->bpi, (b->bytes - a->bytes) / (b->installs - a->installs));
			samples_add(&tl->cpu_per_mev, (b->cpu_s - a->cpu_s) /
				    (b->events - a->events) * 1e6);
			list_both(c, k, tl);
			if (k == 0) {
				compare_codecs(c, tl->run, crow);
				field_costs(c, tl->run, &pfn_cost, &ts_cost);
			}
		}

	for (int k = 0; k < 2; k++) {
		struct cap_tool *tl = &tool[k];
		struct cap_run *a = &tl->run[0], *b = &tl->run[1];
		json_object *o = json_object_new_object();
		int row = table_row(&t);

		if (k == 0)
			table_set(&t, row, 0, "%s (%s %d)", tl->name,
				  kvmmt_cap_codec_name(KVMMT_CAP_CODEC_DEFAULT),
				  KVMMT_CAP_LEVEL_DEFAULT);
		else
			table_set(&t, row, 0, "%s", tl->name);
		json_object_object_add(o, "recorder", json_object_new_string(tl->name));
		if (!tl->bpe.n) {
			const char *why = tl->why[0] ? tl->why :
					  "no recording with more events in the large run";

			table_missing(&t, row, 1, why);
			json_object_object_add(o, "missing", json_object_new_string(why));
			json_object_array_add(rows, o);
			continue;
		}
		bpe[k] = samples_median(&tl->bpe);
		bpi[k] = samples_median(&tl->bpi);
		table_set_samples(&t, row, 1, "%.1f", &tl->bpe, 1);
		table_set_samples(&t, row, 2, "%.2f", &tl->bpi, 1);
		table_set(&t, row, 3, "%.2f", b->events / b->installs);
		table_set(&t, row, 4, "%.0f", a->bytes - bpe[k] * a->events);
		table_set_samples(&t, row, 5, "%.2f", &tl->cpu_per_mev, 1);
		table_set(&t, row, 6, "%.2f", a->cpu_s - samples_median(&tl->cpu_per_mev) *
			  a->events / 1e6);
		table_set(&t, row, 7, "%.0f", a->drops + b->drops);
		if (tl->list_per_mins.n) {
			table_set_samples(&t, row, 8, "%.2f", &tl->list_per_mins, 1);
			json_object_object_add(o, "list_cpu_s_per_minstall",
					       samples_json(&tl->list_per_mins));
		} else {
			table_missing(&t, row, 8, tl->list_why);
			json_object_object_add(o, "list_missing",
					       json_object_new_string(tl->list_why));
		}
		json_object_object_add(o, "lost", json_object_new_double(a->drops + b->drops));
		json_object_object_add(o, "bytes_per_event", samples_json(&tl->bpe));
		json_object_object_add(o, "bytes_per_install", samples_json(&tl->bpi));
		json_object_object_add(o, "events_small", json_object_new_double(a->events));
		json_object_object_add(o, "events_large", json_object_new_double(b->events));
		json_object_object_add(o, "bytes_small", json_object_new_double(a->bytes));
		json_object_object_add(o, "bytes_large", json_object_new_double(b->bytes));
		json_object_object_add(o, "cpu_s_per_mevent", samples_json(&tl->cpu_per_mev));
		json_object_array_add(rows, o);
	}
	json_object *codec_rows = json_object_new_array();

	for (size_t k = 0; k < NR_CODECS; k++) {
		struct codec_row *cr = &crow[k];
		json_object *o = json_object_new_object();
		int row = table_row(&t);
		char name[64];

		snprintf(name, sizeof(name), "  same events, %s %d",
			 kvmmt_cap_codec_name(codecs[k].codec), codecs[k].level);
		table_set(&t, row, 0, "%s", name);
		json_object_object_add(o, "codec", json_object_new_string(
			kvmmt_cap_codec_name(codecs[k].codec)));
		json_object_object_add(o, "level", json_object_new_int(codecs[k].level));
		if (!cr->bpi.n) {
			const char *why = cr->why[0] ? cr->why : "no kvmmt capture to re-encode";

			table_missing(&t, row, 1, why);
			json_object_object_add(o, "missing", json_object_new_string(why));
			json_object_array_add(codec_rows, o);
			continue;
		}
		table_set(&t, row, 1, "-");
		table_set_samples(&t, row, 2, "%.2f", &cr->bpi, 1);
		table_set(&t, row, 3, "-");
		table_set(&t, row, 4, "-");
		table_set_samples(&t, row, 5, "%.2f", &cr->cpu_per_mev, 1);
		table_set(&t, row, 6, "-");
		table_set(&t, row, 7, "-");
		table_set(&t, row, 8, "-");
		json_object_object_add(o, "bytes_per_install", samples_json(&cr->bpi));
		json_object_object_add(o, "encode_cpu_s_per_mevent", samples_json(&cr->cpu_per_mev));
		json_object_object_add(o, "decode_cpu_s_per_mevent", samples_json(&cr->dec_per_mev));
		json_object_array_add(codec_rows, o);
	}
	json_object_object_add(out, "codecs", codec_rows);
	table_note(&t, "runs: kvmmt-testvmm --vms %d --slots %d --pages %d and %d,"
		   " --repeat 1; %d rounds; events/install and fixed parts from the last",
		   c->load.vms, c->load.slots, l[0].pages, l[1].pages, rounds);
	table_note(&t, "both recorders see every VM on the host: another VM's events"
		   " during a run count too (events/install above 1 per recorded event"
		   " type shows it), which moves bytes/install more than bytes/event");
	table_note(&t, "CPU: kvmmt-capture's own user+system time; for trace-cmd,"
		   " trace-cmd extract's (ftrace's recording runs in the kernel, counted"
		   " in benchmark 1); per M events from the large-minus-small difference,"
		   " fixed = the small run's remainder (start-up)");
	table_note(&t, "listing: every event as a line of text to /dev/null, kvmmt-report -e"
		   " FILE against trace-cmd report -i trace.dat (two events a line each per"
		   " install), CPU per M installs from the large-minus-small difference");
	if (tool[0].list_per_mins.n && tool[1].list_per_mins.n) {
		double kv = samples_median(&tool[0].list_per_mins);
		double tc = samples_median(&tool[1].list_per_mins);

		table_note(&t, "listing side by side: kvmmt-report -e %.2f s per M installs,"
			   " trace-cmd report %.2f: %.2fx", kv, tc, tc > 0 ? kv / tc : 0);
		json_object_object_add(out, "list_ratio_to_trace_cmd", tc > 0 ?
				       json_object_new_double(kv / tc) : NULL);
	}
	if (tool[1].retries)
		table_note(&t, "trace-cmd extract failed and the recording was repeated %d"
			   " times: it aborts when /proc/kallsyms changes while it copies it"
			   " (BPF programs loading elsewhere)", tool[1].retries);
	table_note(&t, "same events: each round's two kvmmt captures re-encoded with"
		   " kvmmt_capw_set_codec(), in 1 MiB chunks rather than the recorder's"
		   " one per second; CPU s per M events: encoding only (a decode pass"
		   " subtracted), one core");
	for (size_t k = 0; k < NR_CODECS; k++)
		if (crow[k].dec_per_mev.n)
			table_note(&t, "decoding %s %d: %.2f s per M events [%.2f..%.2f]",
				   kvmmt_cap_codec_name(codecs[k].codec), codecs[k].level,
				   samples_median(&crow[k].dec_per_mev),
				   samples_min(&crow[k].dec_per_mev),
				   samples_max(&crow[k].dec_per_mev));
	json_object *targets = json_object_new_object();

	if (pfn_cost.n) {
		table_note(&t, "what the bytes are (default codec, by ablation): host pfns"
			   " %.2f bytes/install [%.2f..%.2f] (the same events with each VM's"
			   " pages host-contiguous are that much smaller), timestamps %.2f"
			   " [%.2f..%.2f] (a constant step instead of nanosecond times),"
			   " everything else %.2f", samples_median(&pfn_cost),
			   samples_min(&pfn_cost), samples_max(&pfn_cost),
			   samples_median(&ts_cost), samples_min(&ts_cost),
			   samples_max(&ts_cost), bpi[0] - samples_median(&pfn_cost) -
			   samples_median(&ts_cost));
		json_object_object_add(out, "pfn_bytes_per_install", samples_json(&pfn_cost));
		json_object_object_add(out, "ts_bytes_per_install", samples_json(&ts_cost));
	}
	if (bpi[0] > 0) {
		bool met = bpi[0] <= 2.0;

		table_note(&t, "target capture <= 2.0 bytes/install: %s (%.2f [%.2f..%.2f])%s",
			   met ? "MET" : "MISSED", bpi[0], samples_min(&tool[0].bpi),
			   samples_max(&tool[0].bpi), met ? "" :
			   "; limited by the host pfns the kernel hands out, which are"
			   " random for part of each run (see the line above), and by"
			   " nanosecond timestamps");
		json_object_object_add(targets, "bytes_per_install_le_2",
				       json_object_new_boolean(met));
	} else {
		table_note(&t, "target capture <= 2.0 bytes/install: not measured");
	}
	if (bpi[0] > 0 && bpi[1] > 0) {
		bool met = bpi[0] <= 0.3 * bpi[1];

		table_note(&t, "target capture <= 0.3x trace.dat bytes/install: %s"
			   " (%.2f vs %.1f, %.2fx)", met ? "MET" : "MISSED", bpi[0],
			   bpi[1], bpi[0] / bpi[1]);
		json_object_object_add(targets, "ratio_to_trace_dat_le_0_3",
				       json_object_new_boolean(met));
		json_object_object_add(out, "target_met", json_object_new_boolean(
			met && bpi[0] <= 2.0));
	} else {
		table_note(&t, "target capture <= 0.3x trace.dat bytes/install: not measured");
	}
	json_object_object_add(out, "targets", targets);
	json_object_object_add(out, "rows", rows);
	if (!c->json)
		table_print(&t, stdout);
	table_free(&t);
	return 0;
}

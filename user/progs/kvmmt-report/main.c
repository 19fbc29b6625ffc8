// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/* kvmmt-report: read a kvmmt-capture file and say what it holds. */
#include <argp.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <json-c/json.h>
#include "report.h"
#include "pidlist.h"
#include "version.h"

const char *argp_program_version = "kvmmt-report " KVMMT_VERSION;

static const char doc[] =
"Summarize a kvmmt-capture file: the host it was taken on, every VM with the\n"
"memory types KVM installed per memslot, noncoherent DMA changes, the\n"
"page-aliasing risk, and dropped events. Lists decoded events with filters,\n"
"and exports a Perfetto timeline or an SVG map of guest-physical memory.\n"
"\n"
"A capture that was cut short (FILE.partial after a kill, a crash or a full\n"
"disk) is reported up to its last complete chunk, with a warning. A corrupt\n"
"file is refused with the byte offset of the first bad chunk.\n"
"\n"
"EXAMPLES:\n"
"    kvmmt-report cap.kmc                      # text summary\n"
"    kvmmt-report --json cap.kmc | jq .vms     # the same for scripts\n"
"    kvmmt-report -e -t install -m UC cap.kmc  # every UC install\n"
"    kvmmt-report -e -p 4242 -g 0x1000-0x1fff cap.kmc\n"
"    kvmmt-report --perfetto cap.json cap.kmc  # open in ui.perfetto.dev\n"
"    kvmmt-report --svg cap.svg cap.kmc        # guest-physical map per VM\n";

static const char args_doc[] = "FILE";

enum { OPT_PERFETTO = 0x100, OPT_SVG };

static const struct argp_option options[] = {
	{ "json", 'j', NULL, 0, "Print one JSON document (with -e: a JSON array of events)", 0 },
	{ "events", 'e', NULL, 0, "List decoded events instead of the summary", 0 },
	{ "pid", 'p', "PID", 0, "Only events of this VMM process; repeat or use commas", 1 },
	{ "type", 't', "TYPES", 0, "Only these event types: install,zap,noncoherent,memslot", 1 },
	{ "memtype", 'm', "TYPES", 0, "Only installs of these memory types, e.g. UC,WC", 1 },
	{ "slot", 's', "ID", 0, "Only events in this memslot", 1 },
	{ "gfn", 'g', "LO[-HI]", 0, "Only events for guest frames LO to HI (inclusive)", 1 },
	{ "limit", 'n', "COUNT", 0, "Stop listing after COUNT events", 1 },
	{ "perfetto", OPT_PERFETTO, "OUT", 0,
	  "Write a Chrome/Perfetto trace-event JSON timeline to OUT (filters apply)", 2 },
	{ "svg", OPT_SVG, "OUT", 0,
	  "Write an SVG map of each VM's guest-physical memory to OUT (-p applies)", 2 },
	{},
};

struct opts {
	const char *path;
	bool json, events;
	struct rep_filter filt;
	unsigned long long limit;
	const char *perfetto, *svg;
};

static int parse_u64(const char *s, unsigned long long *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	return (errno || end == s || *end || *s == '-') ? -1 : 0;
}

static void parse_list(struct argp_state *state, char *arg, unsigned int *mask, bool mt)
{
	char *save = NULL, *tok;
	unsigned int i;

	for (tok = strtok_r(arg, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (mt) {
			enum kvmmt_mt t;

			if (kvmmt_mt_parse(tok, &t))
				argp_error(state, "unknown memory type '%s' (e.g. WB, UC, WC, UC-)", tok);
			*mask |= 1u << t;
			continue;
		}
		for (i = KVMMT_EV_INSTALL; i < KVMMT_EV__MAX; i++)
			if (!strcmp(tok, rep_ev_names[i]))
				break;
		if (i == KVMMT_EV__MAX)
			argp_error(state, "unknown event type '%s' (install, zap, noncoherent, memslot)",
				   tok);
		*mask |= 1u << i;
	}
}

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	struct opts *o = state->input;
	struct kvmmt_err e;
	unsigned long long v, hi;
	char *dash;

	switch (key) {
	case 'j':
		o->json = true;
		break;
	case 'e':
		o->events = true;
		break;
	case 'p':
		/* the VMs of a capture need not be running now */
		if (kvmmt_pidlist_add(arg, o->filt.pids, &o->filt.nr_pids,
				      sizeof(o->filt.pids) / sizeof(o->filt.pids[0]), false, &e))
			argp_error(state, "%s", e.msg);
		break;
	case 't':
		parse_list(state, arg, &o->filt.types, false);
		break;
	case 'm':
		parse_list(state, arg, &o->filt.mts, true);
		break;
	case 's':
		if (parse_u64(arg, &v) || v >= KVMMT_SLOT_UNKNOWN)
			argp_error(state, "invalid memslot '%s': expected 0 to %u", arg,
				   KVMMT_SLOT_UNKNOWN - 1);
		o->filt.slot = v;
		break;
	case 'g':
		dash = strchr(arg, '-');
		if (dash)
			*dash++ = 0;
		if (parse_u64(arg, &v) || (dash && parse_u64(dash, &hi)))
			argp_error(state, "invalid gfn range: expected LO or LO-HI, e.g. 0x1000-0x1fff");
		o->filt.gfn_lo = v;
		o->filt.gfn_hi = dash ? hi : v;
		if (o->filt.gfn_hi < o->filt.gfn_lo)
			argp_error(state, "invalid gfn range: HI is below LO");
		break;
	case 'n':
		if (parse_u64(arg, &v) || !v)
			argp_error(state, "invalid count '%s': expected a positive integer", arg);
		o->limit = v;
		break;
	case OPT_PERFETTO:
		o->perfetto = arg;
		break;
	case OPT_SVG:
		o->svg = arg;
		break;
	case ARGP_KEY_ARG:
		if (o->path)
			argp_error(state, "one capture file at a time");
		o->path = arg;
		break;
	case ARGP_KEY_END:
		if (!o->path)
			argp_error(state, "no capture file given");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

struct run {
	struct opts *o;
	struct rep_model m;
	struct rep_trace *trace;
	unsigned long long listed;
};

static int on_event(void *ctx, const struct kvmmt_cap_event *ev)
{
	struct run *r = ctx;
	bool match;
	int err;

	err = rep_on_event(&r->m, ev);
	if (err)
		return err;
	match = rep_filter_match(&r->o->filt, ev);
	if (match && r->trace)
		rep_trace_event(r->trace, &r->m, ev);
	if (!match || !r->o->events || (r->o->limit && r->listed >= r->o->limit))
		return 0;
	if (r->o->json) {
		struct json_object *j = rep_event_json(&r->m, ev);

		printf("%s%s", r->listed ? ",\n" : "", json_object_to_json_string_ext(j,
			JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(j);
	} else {
		rep_print_event_text(stdout, &r->m, ev);
	}
	r->listed++;
	return 0;
}

static int on_host(void *ctx, const struct kvmmt_cap_host *h)
{
	return rep_on_host(&((struct run *)ctx)->m, h);
}

static int on_snapshot(void *ctx, const struct kvmmt_cap_snapshot *s)
{
	return rep_on_snapshot(&((struct run *)ctx)->m, s);
}

static int on_drops(void *ctx, __u64 d)
{
	return rep_on_drops(&((struct run *)ctx)->m, d);
}

static int on_end(void *ctx, const struct kvmmt_cap_end *end)
{
	return rep_on_end(&((struct run *)ctx)->m, end);
}

static int on_hostmap(void *ctx, const struct kvmmt_cap_hostmap *hm)
{
	return rep_on_hostmap(&((struct run *)ctx)->m, hm);
}

static const struct kvmmt_cap_ops ops = {
	.host = on_host, .snapshot = on_snapshot, .event = on_event,
	.drops = on_drops, .end = on_end, .hostmap = on_hostmap,
};

static int on_geometry_event(void *ctx, const struct kvmmt_cap_event *ev)
{
	return rep_on_geometry_event(ctx, ev);
}

static const struct kvmmt_cap_ops geometry_ops = {
	.snapshot = rep_on_geometry, .event = on_geometry_event,
};

static FILE *open_out(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		fprintf(stderr, "kvmmt-report: cannot create %s: %s\n", path, strerror(errno));
	return f;
}

static int close_out(FILE *f, const char *path)
{
	int err = ferror(f) ? EIO : 0;

	if (fclose(f) && !err)
		err = errno;
	if (err) {
		fprintf(stderr, "kvmmt-report: cannot write %s: %s\n", path, strerror(err));
		return -err;
	}
	return 0;
}

/* A full disk or a closed pipe must not end in exit status 0. */
static int flush_stdout(void)
{
	int err = fflush(stdout) ? errno : ferror(stdout) ? EIO : 0;

	if (err)
		fprintf(stderr, "kvmmt-report: cannot write to standard output: %s\n",
			strerror(err));
	return err ? -err : 0;
}

/* An export written over the capture it reads would destroy the capture. */
static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	if (!a || !b)
		return false;
	if (!strcmp(a, b))
		return true;
	return !stat(a, &sa) && !stat(b, &sb) && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int main(int argc, char **argv)
{
	static const struct argp argp = { options, parse_arg, args_doc, doc, NULL, NULL, NULL };
	struct opts o = { .filt = { .slot = -1, .gfn_hi = ~0ull } };
	struct run r = { .o = &o };
	struct rep_file rf = {};
	FILE *tf = NULL, *sf;
	struct kvmmt_err e = {};
	int err, ret = 1;

	/* getopt's own messages name the program as ours do, not by its path */
	argv[0] = program_invocation_short_name;
	argp_parse(&argp, argc, argv, 0, NULL, &o);
	if (same_file(o.perfetto, o.path) || same_file(o.svg, o.path) ||
	    same_file(o.perfetto, o.svg)) {
		fprintf(stderr, "kvmmt-report: %s would be overwritten: give --perfetto and --svg "
			"their own output files\n", same_file(o.perfetto, o.svg) ? o.svg : o.path);
		return 1;
	}
	rep_model_init(&r.m);
	rf.path = o.path;
	if (o.perfetto) {
		tf = open_out(o.perfetto);
		if (!tf)
			goto cleanup;
		r.trace = rep_trace_open(tf, &o.filt);
		if (!r.trace) {
			fprintf(stderr, "kvmmt-report: out of memory\n");
			goto cleanup;
		}
	}
	if (o.events && o.json)
		printf("[\n");
	else if (o.events)
		printf("%14s %7s %7s %3s %-11s %s\n", "TIME(s)", "PID", "TID", "CPU", "EVENT",
		       "DETAILS");
	/* Geometry first, so every event finds its memslot; errors surface below. */
	kvmmt_cap_read(o.path, &geometry_ops, &r.m, NULL, NULL);
	err = kvmmt_cap_read(o.path, &ops, &r, &rf.st, &e);
	rf.size = rf.st.bytes;
	if (o.events && o.json)
		printf("%s]\n", r.listed ? "\n" : "");
	if (err) {
		if (err == -ENOMEM && !e.err)
			fprintf(stderr, "kvmmt-report: %s: out of memory (too many VMs or memslots)\n",
				o.path);
		else
			fprintf(stderr, "kvmmt-report: %s: %s\n", o.path, e.msg);
		goto cleanup;
	}
	if (!rf.st.complete)
		fprintf(stderr, "kvmmt-report: warning: %s is incomplete (capture cut short): "
			"reporting its %llu complete chunks, up to byte offset %llu\n", o.path,
			(unsigned long long)rf.st.chunks, (unsigned long long)rf.st.good_bytes);
	if (r.trace) {
		err = rep_trace_close(r.trace, &r.m);
		r.trace = NULL;
		if (err || close_out(tf, o.perfetto))
			goto cleanup_tf;
		tf = NULL;
	}
	if (o.svg) {
		sf = open_out(o.svg);
		if (!sf)
			goto cleanup;
		rep_write_svg(sf, &r.m, &o.filt, o.path);
		if (close_out(sf, o.svg))
			goto cleanup;
	}
	if (!o.events) {
		if (o.json)
			rep_print_json(stdout, &r.m, &rf);
		else
			rep_print_text(stdout, &r.m, &rf);
	}
	if (flush_stdout())
		goto cleanup;
	ret = 0;
cleanup:
	if (r.trace)
		rep_trace_close(r.trace, &r.m);
cleanup_tf:
	if (tf)
		fclose(tf);
	rep_model_free(&r.m);
	return ret;
}

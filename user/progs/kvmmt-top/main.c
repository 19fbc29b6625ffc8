// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * kvmmt-top: a live view of the memory types KVM gives guest memory, the
 * noncoherent DMA state and the page-aliasing risk of every VM on the host.
 */
#include <argp.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ctl.h"
#include "top.h"
#include "pidlist.h"
#include "version.h"

volatile int top_stop;

const char *argp_program_version = "kvmmt-top " KVMMT_VERSION;

static const char doc[] =
"Show, per VM, the memory types KVM installs for guest memory, noncoherent\n"
"DMA, whether guest memory types are honoured, the page-aliasing risk class\n"
"and the migration state kept by kvmmt-policyd.\n"
"\n"
"Interactive keys: < > sort column, R reverse, / or f filter (pid or name\n"
"regex), Enter or d detail view, space or p pause, + - refresh interval,\n"
"c rates/totals, h or ? help, q quit.\n"
"\n"
"USAGE: kvmmt-top [-b] [--json] [-n COUNT] [-d SECONDS] [-p PID] [-g REGEX]\n"
"\n"
"EXAMPLES:\n"
"    kvmmt-top                   # live view of every VM\n"
"    kvmmt-top -d 0.5 -g '^gpu'  # refresh twice a second, guests named gpu*\n"
"    kvmmt-top -b -n 3           # three plain-text refreshes, then exit\n"
"    kvmmt-top --json -n 1 -p 4242 | jq '.vms[0].installs'\n"
"                                # installs by memory type of VMM pid 4242";

enum {
	OPT_CONTROL_SOCKET = 0x100,
};

static const struct argp_option options[] = {
	{ "batch", 'b', NULL, 0, "Batch mode: print refreshes to stdout, no terminal UI", 0 },
	{ "iterations", 'n', "COUNT", 0, "Stop after COUNT refreshes (default: run until stopped)", 0 },
	{ "delay", 'd', "SECONDS", 0, "Refresh every SECONDS, 0.1 to 3600 (default 1)", 0 },
	{ "json", 'j', NULL, 0, "Batch mode, one JSON object per refresh and line (schema: kvmmt-top(8))", 0 },
	{ "pid", 'p', "PID", 0, "Only the VM(s) of this VMM process; repeat or use commas", 0 },
	{ "guest", 'g', "REGEX", 0, "Only VMs whose name matches this extended regex", 0 },
	{ "sort", 's', "COLUMN", 0, "Sort by pid, name, vcpus, mem, ncdma, gtypes, wb, wc, uc, wt, wp, uc-, zaps, risk or migr", 0 },
	{ "reverse", 'r', NULL, 0, "Reverse the sort order", 0 },
	{ "totals", 't', NULL, 0, "Show cumulative counts instead of per-second rates (text and UI)", 0 },
	{ "attach", 'a', "PATH", 0, KVMMT_ATTACH_HELP, 0 },
	{ "control-socket", OPT_CONTROL_SOCKET, "PATH", 0, "kvmmt-policyd's control socket, asked for migration state (default /run/kvmmt/policyd.sock)", 0 },
	{ NULL, 'h', NULL, OPTION_HIDDEN, "Show this help", 0 },
	{},
};

static int parse_double(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	if (errno || end == s || *end)
		return -EINVAL;
	return 0;
}

static int parse_long(const char *s, long min, long max, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	if (errno || end == s || *end || *out < min || *out > max)
		return -EINVAL;
	return 0;
}

static void parse_pids(struct argp_state *state, struct top_opts *o, char *arg)
{
	struct kvmmt_err e;

	if (kvmmt_pidlist_add(arg, o->pids, &o->nr_pids, TOP_MAX_PIDS, true, &e))
		argp_error(state, "%s", e.msg);
}

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	struct top_opts *o = state->input;
	char msg[256];
	int err;

	switch (key) {
	case 'b':
		o->batch = true;
		break;
	case 'n':
		if (parse_long(arg, 1, LONG_MAX, &o->count))
			argp_error(state, "invalid count '%s': expected a positive integer", arg);
		break;
	case 'd':
		if (parse_double(arg, &o->delay) || o->delay < TOP_MIN_DELAY ||
		    o->delay > TOP_MAX_DELAY)
			argp_error(state, "invalid delay '%s': expected seconds from %g to %g",
				   arg, TOP_MIN_DELAY, TOP_MAX_DELAY);
		break;
	case 'j':
		o->json = true;
		o->batch = true;
		break;
	case 'p':
		parse_pids(state, o, arg);
		break;
	case 'a': {
		struct kvmmt_err e = {};

		if (kvmmt_path_parse(arg, &o->attach, &e))
			argp_error(state, "%s", e.msg);
		break;
	}
	case 'g':
		if (o->has_name_re)
			argp_error(state, "-g given twice: combine the names in one regex (a|b)");
		err = regcomp(&o->name_re, arg, REG_EXTENDED | REG_NOSUB);
		if (err) {
			regerror(err, &o->name_re, msg, sizeof(msg));
			argp_error(state, "invalid name regex '%s': %s", arg, msg);
		}
		o->has_name_re = true;
		break;
	case 's':
		if (top_parse_sort(arg, &o->sort))
			argp_error(state, "unknown sort column '%s' (see --help)", arg);
		break;
	case 'r':
		o->reverse = true;
		break;
	case 't':
		o->totals = true;
		break;
	case OPT_CONTROL_SOCKET:
		o->control_socket = arg;
		break;
	case 'h':
		argp_state_help(state, stdout, ARGP_HELP_STD_HELP);
		break;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static void on_signal(int sig)
{
	top_stop = sig;
}

/* No SA_RESTART: a signal must wake a blocked read of the terminal. */
static void install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int main(int argc, char **argv)
{
	static const struct argp argp = {
		.options = options,
		.parser = parse_arg,
		.doc = doc,
	};
	struct top_opts opts = {
		.delay = 1.0,
		.sort = COL_PID,
		.control_socket = KVMMT_CTL_SOCKET,
	};
	struct top_model m = {};
	struct kvmmt_err e = {};
	char why[128];
	int err;

	/* getopt's own messages name the program as ours do, not by its path */
	argv[0] = program_invocation_short_name;
	if (argp_parse(&argp, argc, argv, 0, NULL, &opts))
		return argp_err_exit_status;

	install_signals();
	err = top_model_open(&m, &opts, &e);
	if (err)
		goto cleanup;

	if (!opts.batch && !top_tui_possible(why, sizeof(why))) {
		fprintf(stderr, "kvmmt-top: %s; printing plain text (use -b to ask for it).\n", why);
		opts.batch = true;
	}
	err = opts.batch ? top_batch(&m, &e) : top_tui(&m, &e);

cleanup:
	top_model_close(&m);
	if (opts.has_name_re)
		regfree(&opts.name_re);
	if (err) {
		fprintf(stderr, "kvmmt-top: %s\n", e.msg[0] ? e.msg : strerror(-err));
		return 1;
	}
	return 0;
}

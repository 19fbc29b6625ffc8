// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * kvmmt-libvirt-hook: libvirt's qemu hook (/etc/libvirt/hooks/qemu or
 * /etc/libvirt/hooks/qemu.d/kvmmt). libvirt runs it as
 * "NAME OPERATION SUB-OPERATION EXTRA" with the domain XML on stdin; for
 * "NAME migrate begin -" it refuses (exit 1, reason on stderr) when NAME is
 * flagged in kvmmt-policyd's persisted flags. It reads the flags file, not
 * the daemon, so it also holds while the daemon is down. Nothing is
 * written to stdout: for "migrate" libvirt would take it as new domain XML.
 */
#include <argp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "flags.h"
#include "version.h"

const char *argp_program_version = "kvmmt-libvirt-hook " KVMMT_VERSION;

static const char doc[] =
"libvirt qemu hook: refuse the migration of domains flagged with\n"
"\"kvmmt-policyd ctl flag NAME\".\n"
"\n"
"libvirt runs the hook on the destination host of a migration, so flag the\n"
"domain by name on every host it may migrate to (kvmmt-policyd on the source\n"
"host holds the migration at pre-switchover on its own). Every operation other\n"
"than \"migrate begin\" is accepted silently.\n"
"\n"
"INSTALL:\n"
"  install -m 0755 kvmmt-libvirt-hook /etc/libvirt/hooks/qemu.d/kvmmt\n"
"  (or /etc/libvirt/hooks/qemu when no other hook exists), then restart\n"
"  libvirtd or virtqemud: hooks are found when the daemon starts.\n"
"\n"
"EXAMPLES:\n"
"  kvmmt-libvirt-hook vmA migrate begin - < vmA.xml; echo $?\n"
"  kvmmt-libvirt-hook --state-dir /srv/kvmmt vmA migrate begin -";

static const struct argp_option opts[] = {
	{ "state-dir", 's', "DIR", 0, "kvmmt-policyd's state directory (default /var/lib/kvmmt)", 0 },
	{ 0 },
};

struct args {
	const char *state_dir;
	const char *argv[4];
	int argc;
};

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct args *a = state->input;

	switch (key) {
	case 's':
		a->state_dir = arg;
		break;
	case ARGP_KEY_ARG:
		if (a->argc == 4)
			argp_error(state, "expected NAME OPERATION SUB-OPERATION EXTRA");
		a->argv[a->argc++] = arg;
		break;
	case ARGP_KEY_END:
		if (a->argc < 3)
			argp_error(state, "expected NAME OPERATION SUB-OPERATION EXTRA (as libvirt passes them)");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct argp argp = { opts, parse_opt, "NAME OPERATION SUB-OPERATION [EXTRA]",
					  doc, NULL, NULL, NULL };
	struct args a = { .state_dir = "/var/lib/kvmmt" };
	char path[4200];
	struct kvmmt_err e = { 0 };
	const struct kvmmt_flag *f;
	struct kvmmt_flag *flags;
	size_t n;

	if (argp_parse(&argp, argc, argv, 0, NULL, &a))
		return 2;
	if (strcmp(a.argv[1], "migrate") || strcmp(a.argv[2], "begin"))
		return 0;
	if (kvmmt_flags_load(kvmmt_flags_path(a.state_dir, path, sizeof(path)), &flags, &n, &e)) {
		/* Unreadable flags: refuse rather than risk a flagged domain. */
		fprintf(stderr, "kvmmt: %s; refusing to migrate %s\n", e.msg, a.argv[0]);
		return 1;
	}
	f = kvmmt_flags_by_name(flags, n, a.argv[0]);
	if (f)
		fprintf(stderr, "kvmmt: domain %s is flagged for page-aliasing risk%s%s; migration refused (kvmmt-policyd ctl unflag %s to allow it)\n",
			a.argv[0], f->reason[0] ? ": " : "", f->reason, a.argv[0]);
	free(flags);
	return f ? 1 : 0;
}

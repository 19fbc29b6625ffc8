// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/* kvmmt-policyd.conf: accepted syntax, defaults, and errors with file:line. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <syslog.h>
#include "config.h"

static struct kvmmt_policyd_config c;
static struct kvmmt_err err;

static void setup(void)
{
	kvmmt_config_defaults(&c);
	memset(&err, 0, sizeof(err));
}

static void teardown(void)
{
	kvmmt_config_free(&c);
}

TestSuite(config, .init = setup, .fini = teardown);

static int parse(const char *text)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int ret;

	cr_assert_not_null(f);
	ret = kvmmt_config_parse(&c, f, "test.conf", &err);
	fclose(f);
	return ret;
}

static void assert_error(const char *text, const char *where, const char *what)
{
	cr_assert_eq(parse(text), -EINVAL, "accepted: %s", text);
	cr_assert(!strncmp(err.msg, where, strlen(where)),
		  "message \"%s\" does not start with \"%s\"", err.msg, where);
	cr_assert(strstr(err.msg, what), "message \"%s\" lacks \"%s\"", err.msg, what);
}

Test(config, defaults)
{
	cr_assert(!c.block[KVMMT_RISK_NONE]);
	cr_assert(c.block[KVMMT_RISK_LATENT]);
	cr_assert(c.block[KVMMT_RISK_ALIASING]);
	cr_assert_str_eq(c.state_dir, "/var/lib/kvmmt");
	cr_assert_eq(c.datapath, KVMMT_DP_AUTO);
	cr_assert(c.enforce);
	cr_assert_str_eq(c.qmp_match, "kvmmt");
}

Test(config, full_file)
{
	cr_assert_eq(parse("# kvmmt-policyd\n"
			   "\n"
			   "block = aliasing   # only real aliasing\n"
			   "interval = 2.5s\n"
			   "qmp_timeout = 3\n"
			   "state_dir = /srv/kvmmt\n"
			   "control_socket = /run/k.sock\n"
			   "metrics_textfile = /var/lib/node_exporter/kvmmt.prom\n"
			   "metrics_listen = 127.0.0.1:9717\n"
			   "qmp_match = .policyd.\n"
			   "pat_memtype_list =\n"
			   "datapath = off\n"
			   "enforce = no\n"
			   "log_level = debug\n"
			   "qmp.vmA = /run/qemu/vmA.qmp\n"
			   "  qmp.web-1=/run/qemu/web-1.qmp  \n"), 0, "%s", err.msg);
	cr_assert(!c.block[KVMMT_RISK_LATENT]);
	cr_assert(c.block[KVMMT_RISK_ALIASING]);
	cr_assert_float_eq(c.interval_s, 2.5, 1e-9);
	cr_assert_float_eq(c.qmp_timeout_s, 3, 1e-9);
	cr_assert_str_eq(c.state_dir, "/srv/kvmmt");
	cr_assert_str_eq(c.metrics_listen, "127.0.0.1:9717");
	cr_assert_str_eq(c.qmp_match, ".policyd.");
	cr_assert_str_eq(c.pat_list, "");
	cr_assert_eq(c.datapath, KVMMT_DP_OFF);
	cr_assert(!c.enforce);
	cr_assert_eq(c.log_level, LOG_DEBUG);
	cr_assert_eq(c.nr_qmp, 2);
	cr_assert_str_eq(kvmmt_config_qmp(&c, "web-1"), "/run/qemu/web-1.qmp");
	cr_assert_null(kvmmt_config_qmp(&c, "vmB"));
}

Test(config, block_never_and_lists)
{
	cr_assert_eq(parse("block = never\n"), 0);
	for (int i = 0; i < KVMMT_RISK__MAX; i++)
		cr_assert(!c.block[i]);
	setup();
	cr_assert_eq(parse("block = none, latent,aliasing\n"), 0);
	cr_assert(c.block[KVMMT_RISK_NONE] && c.block[KVMMT_RISK_LATENT] &&
		  c.block[KVMMT_RISK_ALIASING]);
	cr_assert(!c.block[KVMMT_RISK_GUEST_TYPES]);
	setup();
	cr_assert_eq(parse("block = guest-types\n"), 0);
	cr_assert(c.block[KVMMT_RISK_GUEST_TYPES] && !c.block[KVMMT_RISK_LATENT]);
}

Test(config, default_blocks_latent_and_aliasing_only)
{
	cr_assert(!c.block[KVMMT_RISK_NONE]);
	cr_assert(!c.block[KVMMT_RISK_GUEST_TYPES], "plain NPT VMs must migrate by default");
	cr_assert(c.block[KVMMT_RISK_LATENT]);
	cr_assert(c.block[KVMMT_RISK_ALIASING]);
}

Test(config, unknown_key_names_the_line)
{
	assert_error("block = aliasing\n\n# x\nblok = latent\n", "test.conf:4:",
		     "unknown key \"blok\"");
}

Test(config, bad_values_name_the_line)
{
	assert_error("block = sometimes\n", "test.conf:1:", "not a risk class");
	setup();
	assert_error("\ninterval = 0\n", "test.conf:2:", "interval");
	setup();
	assert_error("interval = 5 minutes\n", "test.conf:1:", "seconds");
	setup();
	assert_error("\n\n\nstate_dir = relative/dir\n", "test.conf:4:", "absolute path");
	setup();
	assert_error("metrics_listen = 0.0.0.0:9717\n", "test.conf:1:", "loopback");
	setup();
	assert_error("metrics_listen = 127.0.0.1:70000\n", "test.conf:1:", "127.0.0.1:PORT");
	setup();
	assert_error("datapath = maybe\n", "test.conf:1:", "auto, on or off");
	setup();
	assert_error("log_level = loud\n", "test.conf:1:", "err, warning");
	setup();
	assert_error("enforce = perhaps\n", "test.conf:1:", "yes or no");
	setup();
	assert_error("qmp. = /x\n", "test.conf:1:", "VM name");
}

Test(config, syntax_and_duplicates)
{
	assert_error("block aliasing\n", "test.conf:1:", "key = value");
	setup();
	assert_error("interval = 1\ninterval = 2\n", "test.conf:2:", "already set on line 1");
	setup();
	assert_error("qmp.a = /x\nqmp.a = /y\n", "test.conf:2:", "set twice");
}

Test(config, load_missing_file)
{
	cr_assert_eq(kvmmt_config_load(&c, "/nonexistent/kvmmt.conf", false, &err), 0);
	cr_assert_eq(kvmmt_config_load(&c, "/nonexistent/kvmmt.conf", true, &err), -ENOENT);
	cr_assert(strstr(err.msg, "/nonexistent/kvmmt.conf"));
}

Test(config, listen_parser)
{
	unsigned short port;

	cr_assert_eq(kvmmt_config_parse_listen("127.0.0.1:9100", &port), 0);
	cr_assert_eq(port, 9100);
	cr_assert_eq(kvmmt_config_parse_listen("localhost:9100", &port), -EINVAL);
	cr_assert_eq(kvmmt_config_parse_listen("127.0.0.1:", &port), -EINVAL);
}

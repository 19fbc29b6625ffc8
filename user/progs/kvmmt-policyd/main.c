// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * kvmmt-policyd: knows, per VM, whether guest-chosen memory types can alias
 * the host's mappings of the same pages (docs/policy.md) and holds every
 * live migration at pre-switchover, cancelling those of flagged or risky
 * VMs. Runs as a systemd Type=notify service; "kvmmt-policyd ctl" talks to it.
 */
#include <argp.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include "host.h"
#include "pidlist.h"
#include "policyd.h"
#include "version.h"

const char *argp_program_version = "kvmmt-policyd " KVMMT_VERSION;

static const char doc[] =
"Watch KVM guests for page-aliasing risk and refuse the live migration of\n"
"flagged or risky VMs.\n"
"\n"
"Every VM with a QMP monitor gets the migration capability\n"
"pause-before-switchover; when a migration reaches pre-switchover the daemon\n"
"cancels it (migrate_cancel) if the VM is flagged by hand or its risk class is\n"
"listed in \"block\", and lets it finish (migrate-continue) otherwise. Risk\n"
"classes (none, latent, aliasing) come from the BPF data path; see\n"
"kvmmt-policyd(8) and kvmmt-policyd.conf(5).\n"
"\n"
"Control a running daemon with \"kvmmt-policyd ctl COMMAND\" (see\n"
"\"kvmmt-policyd ctl --help\").\n"
"\n"
"EXAMPLES:\n"
"  kvmmt-policyd                          run with /etc/kvmmt/policyd.conf\n"
"  kvmmt-policyd --check-config -c FILE   validate a configuration and exit\n"
"  kvmmt-policyd --datapath=off -i 1      manual flags only, scan every second\n"
"  kvmmt-policyd -p 4242,4343             watch two QEMU processes only\n"
"  kvmmt-policyd ctl flag vmA \"noncoherent GPU\"\n"
"  kvmmt-policyd ctl status --json";

enum {
	OPT_METRICS_TEXTFILE = 0x100,
	OPT_METRICS_LISTEN,
	OPT_DATAPATH,
	OPT_CHECK,
	OPT_BLOCK,
	OPT_NO_ENFORCE,
};

#define MAX_PIDS 64

static const struct argp_option opts[] = {
	{ "config", 'c', "FILE", 0, "Configuration file (default " KVMMT_CONF_PATH ", optional)", 0 },
	{ "state-dir", 's', "DIR", 0, "Where manual flags persist (default /var/lib/kvmmt)", 0 },
	{ "control-socket", 'S', "PATH", 0, "Control socket (default /run/kvmmt/policyd.sock)", 0 },
	{ "interval", 'i', "SECONDS", 0, "VM scan and metrics period (default 5)", 0 },
	{ "block", OPT_BLOCK, "CLASSES", 0, "Risk classes that block migration, e.g. latent,aliasing or never", 0 },
	{ "metrics-textfile", OPT_METRICS_TEXTFILE, "FILE", 0, "Write Prometheus metrics to FILE atomically", 0 },
	{ "metrics-listen", OPT_METRICS_LISTEN, "127.0.0.1:PORT", 0, "Serve metrics over HTTP on loopback", 0 },
	{ "datapath", OPT_DATAPATH, "MODE", 0, "BPF data path: auto (default), on (required) or off", 0 },
	{ "attach", 'a', "PATH", 0, KVMMT_ATTACH_HELP, 0 },
	{ "no-enforce", OPT_NO_ENFORCE, NULL, 0, "Observe and report only: never attach to QMP", 0 },
	{ "pid", 'p', "PID[,PID...]", 0, "Watch only these VMM processes (repeatable; default: all)", 0 },
	{ "verbose", 'v', NULL, 0, "Log at debug level", 0 },
	{ "check-config", OPT_CHECK, NULL, 0, "Validate the configuration and exit", 0 },
	{ 0 },
};

struct args {
	const char *config;
	bool check;
	bool verbose;
	pid_t pids[MAX_PIDS];
	int nr_pids;
	/* "key = value" overrides, applied after the file. */
	char overrides[4096];
	size_t len;
};

static void add_override(struct args *a, const char *key, const char *val)
{
	a->len += snprintf(a->overrides + a->len, sizeof(a->overrides) - a->len,
			   "%s = %s\n", key, val);
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct args *a = state->input;

	switch (key) {
	case 'c':
		a->config = arg;
		break;
	case 's':
		add_override(a, "state_dir", arg);
		break;
	case 'S':
		add_override(a, "control_socket", arg);
		break;
	case 'i':
		add_override(a, "interval", arg);
		break;
	case OPT_BLOCK:
		add_override(a, "block", arg);
		break;
	case OPT_METRICS_TEXTFILE:
		add_override(a, "metrics_textfile", arg);
		break;
	case OPT_METRICS_LISTEN:
		add_override(a, "metrics_listen", arg);
		break;
	case OPT_DATAPATH:
		add_override(a, "datapath", arg);
		break;
	case 'a':
		add_override(a, "attach", arg);
		break;
	case OPT_NO_ENFORCE:
		add_override(a, "enforce", "no");
		break;
	case 'p': {
		struct kvmmt_err e = {};

		if (kvmmt_pidlist_add(arg, a->pids, &a->nr_pids, MAX_PIDS, true, &e))
			argp_error(state, "--pid: %s", e.msg);
		break;
	}
	case 'v':
		a->verbose = true;
		break;
	case OPT_CHECK:
		a->check = true;
		break;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument \"%s\" (did you mean \"ctl %s\"?)", arg, arg);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	if (a->len >= sizeof(a->overrides) - 1)
		argp_error(state, "options too long");
	return 0;
}

static int load_config(struct kvmmt_policyd_config *c, const struct args *a,
		       struct kvmmt_err *e)
{
	FILE *f;
	int err;

	kvmmt_config_defaults(c);
	err = kvmmt_config_load(c, a->config ? a->config : KVMMT_CONF_PATH,
				a->config != NULL, e);
	if (err || !a->len)
		return err;
	f = fmemopen((void *)a->overrides, a->len, "r");
	if (!f)
		return kvmmt_errf(e, -ENOMEM, "out of memory");
	/* Options override the file: start a fresh "already set" record. */
	err = kvmmt_config_parse(c, f, "command line", e);
	fclose(f);
	return err;
}

/*
 * SIGHUP: read the configuration again. A broken file keeps the running
 * configuration; paths and sockets opened at start need a restart.
 */
static void reload(struct policyd *d, const struct args *a)
{
	struct kvmmt_policyd_config c;
	struct kvmmt_err e = { 0 };

	sd_notify(0, "RELOADING=1");
	if (load_config(&c, a, &e)) {
		plog(LOG_ERR, "reload: %s; keeping the running configuration", e.msg);
		kvmmt_config_free(&c);
		sd_notify(0, "READY=1");
		return;
	}
	if (strcmp(c.state_dir, d->cfg.state_dir) ||
	    strcmp(c.control_socket, d->cfg.control_socket) ||
	    strcmp(c.metrics_listen, d->cfg.metrics_listen) || c.datapath != d->cfg.datapath)
		plog(LOG_WARNING, "reload: state_dir, control_socket, metrics_listen and datapath change only on restart");
	strcpy(c.state_dir, d->cfg.state_dir);
	strcpy(c.control_socket, d->cfg.control_socket);
	strcpy(c.metrics_listen, d->cfg.metrics_listen);
	c.datapath = d->cfg.datapath;
	kvmmt_config_free(&d->cfg);
	d->cfg = c;
	log_init(a->verbose ? LOG_DEBUG : d->cfg.log_level);
	vms_reidentify(d);
	plog(LOG_INFO, "configuration reloaded");
	sd_notify(0, "READY=1");
}

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

/* Say whether host PAT reservations are compared (the registry reads them). */
static void log_pat(struct policyd *d)
{
	if (!d->cfg.pat_list[0])
		return;
	if (access(d->cfg.pat_list, R_OK))
		plog(LOG_NOTICE, "cannot read %s (%s): host PAT reservations are not compared; mount debugfs to use them",
		     d->cfg.pat_list, strerror(errno));
	else
		plog(LOG_INFO, "read %zu host PAT reservations from %s",
		     kvmmt_vmreg_pat(d->reg)->n, d->cfg.pat_list);
}

static int open_datapath(struct policyd *d, struct kvmmt_err *e)
{
	struct kvmmt_dp_opts o = {
		.capture = true, .pids = d->only, .nr_pids = d->nr_only,
		.release_s = KVMMT_RELEASE_S,	/* it runs for months */
	};
	struct kvmmt_host h;
	int err;

	d->host_pat = KVMMT_LINUX_PAT;
	if (!kvmmt_host_probe(&h, e)) {
		d->host_pat = h.host_pat;
		d->fmt = h.fmt;
	}
	if (d->cfg.datapath == KVMMT_DP_OFF) {
		plog(LOG_INFO, "data path off: migrations are blocked by manual flags only");
		return 0;
	}
	o.fmt = d->fmt;
	o.force = d->cfg.attach;
	err = kvmmt_dp_open(&d->dp, &o, e);
	if (err) {
		d->dp = NULL;
		if (d->cfg.datapath == KVMMT_DP_ON)
			return err;
		plog(LOG_WARNING, "BPF data path unavailable (%s): risk classes stay \"none\", manual flags still apply",
		     e->msg);
		return 0;
	}
	d->fmt = kvmmt_dp_fmt(d->dp);
	plog(LOG_INFO, "BPF data path: %s, SPTE format %s", kvmmt_path_name(kvmmt_dp_path(d->dp)),
	     kvmmt_fmt_name(d->fmt));
	return 0;
}

static int setup_signals(struct policyd *d, struct kvmmt_err *e)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return kvmmt_errf(e, -errno, "sigprocmask: %s", strerror(errno));
	d->sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (d->sig_fd < 0)
		return kvmmt_errf(e, -errno, "signalfd: %s", strerror(errno));
	return 0;
}

static void notify_status(struct policyd *d)
{
	size_t flagged = 0, held = 0;
	struct vm *vm;

	for_each_vm(d, i, vm) {
		flagged += flag_for(d, vm) != NULL;
		held += vm->armed;
	}
	sd_notifyf(0, "STATUS=Watching %zu VMs (%zu flagged, %zu held at switchover); data path %s; migrations blocked %llu, allowed %llu",
		   kvmmt_vmreg_len(d->reg), flagged, held,
		   d->dp ? kvmmt_path_name(kvmmt_dp_path(d->dp)) : "off",
		   (unsigned long long)d->blocked_total, (unsigned long long)d->allowed_total);
}

static void read_signals(struct policyd *d, const struct args *a, double *next_scan)
{
	struct signalfd_siginfo si;

	while (read(d->sig_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			reload(d, a);
			*next_scan = 0;
			continue;
		}
		plog(LOG_INFO, "%s: stopping", strsignal(si.ssi_signo));
		d->stop = true;
	}
}

static void account_drops(struct policyd *d)
{
	struct kvmmt_counters c = { 0 };
	struct kvmmt_err e = { 0 };

	if (!d->dp || kvmmt_dp_read_counters(d->dp, &c, &e))
		return;
	if (c.g[KVMMT_G_DROPS] > d->drops)
		plog(LOG_WARNING, "data path lost %llu events (ring buffer full); risk may be understated",
		     (unsigned long long)(c.g[KVMMT_G_DROPS] - d->drops));
	d->drops = c.g[KVMMT_G_DROPS];
	kvmmt_counters_free(&c);
}

/* Signals, control socket, metrics socket, the capture ring; then QMP monitors. */
#define FIXED_FDS	4

static int run(struct policyd *d, const struct args *a)
{
	double now = kvmmt_now(), next_scan = now + d->cfg.interval_s, next_wd = now;
	double wd_period = d->watchdog_usec ? d->watchdog_usec / 2e6 : 0;

	while (!d->stop) {
		size_t nr = kvmmt_vmreg_len(d->reg);
		struct pollfd *p = calloc(nr + FIXED_FDS, sizeof(*p));
		struct vm **owner = calloc(nr + FIXED_FDS, sizeof(*owner));
		struct vm *vm;
		double wake = next_scan;
		size_t n = 0;
		int timeout;

		if (!p || !owner) {
			free(p);
			free(owner);
			plog(LOG_ERR, "out of memory");
			return -ENOMEM;
		}
		p[n++] = (struct pollfd){ .fd = d->sig_fd, .events = POLLIN };
		p[n++] = (struct pollfd){ .fd = d->ctl_fd, .events = POLLIN };
		p[n++] = (struct pollfd){ .fd = d->http_fd, .events = POLLIN };
		p[n++] = (struct pollfd){ .fd = d->dp ? kvmmt_dp_fd(d->dp) : -1, .events = POLLIN };
		for_each_vm(d, i, vm) {
			if (!vm->qmp)
				continue;
			owner[n] = vm;
			p[n++] = (struct pollfd){ .fd = kvmmt_qmp_fd(vm->qmp), .events = POLLIN };
		}
		if (wd_period && next_wd < wake)
			wake = next_wd;
		timeout = (int)((wake - kvmmt_now()) * 1000);
		if (timeout < 0)
			timeout = 0;
		/*
		 * No timer for the ring buffer: the kernel wakes its reader
		 * once an eighth of it is full, and fewer events wait for the
		 * next scan. A decision at pre-switchover, a control request
		 * and a metrics scrape drain it first.
		 */
		if (poll(p, n, timeout) < 0 && errno != EINTR) {
			plog(LOG_ERR, "poll: %s", strerror(errno));
			free(p);
			free(owner);
			return -errno;
		}
		for (size_t i = FIXED_FDS; i < n; i++)
			if (p[i].revents && owner[i]->qmp)
				vm_qmp_input(d, owner[i]);
		if (p[0].revents)
			read_signals(d, a, &next_scan);
		if (p[1].revents)
			ctl_accept(d);
		if (p[2].revents)
			metrics_accept(d);
		free(p);
		free(owner);
		vms_drain(d);
		now = kvmmt_now();
		if (now >= next_scan) {
			vm_scan(d);
			account_drops(d);
			metrics_publish(d);
			notify_status(d);
			next_scan = now + d->cfg.interval_s;
		}
		if (wd_period && now >= next_wd) {
			sd_notify(0, "WATCHDOG=1");
			next_wd = now + wd_period;
		}
	}
	return 0;
}

static void cleanup(struct policyd *d)
{
	if (d->reg)
		vms_release(d);
	vms_close(d);
	free(d->flags);
	ctl_close(d);
	if (d->http_fd >= 0)
		close(d->http_fd);
	if (d->sig_fd >= 0)
		close(d->sig_fd);
	kvmmt_dp_close(d->dp);
	kvmmt_config_free(&d->cfg);
	json_object_put(d->saved_risk);
}

int main(int argc, char **argv)
{
	static const struct argp argp = { opts, parse_opt, NULL, doc, NULL, NULL, NULL };
	struct policyd d = { .proc_root = "/proc", .ctl_fd = -1, .http_fd = -1, .sig_fd = -1 };
	struct kvmmt_err e = { 0 };
	struct args a = { 0 };
	int err;

	if (argc > 1 && !strcmp(argv[1], "ctl"))
		return ctl_main(argc - 1, argv + 1);
	if (argp_parse(&argp, argc, argv, 0, NULL, &a))
		return 64;
	if (load_config(&d.cfg, &a, &e)) {
		fprintf(stderr, "kvmmt-policyd: %s\n", e.msg);
		kvmmt_config_free(&d.cfg);
		return 1;
	}
	if (a.check) {
		printf("configuration is valid\n");
		kvmmt_config_free(&d.cfg);
		return 0;
	}
	/* Only root may use the control socket, so a daemon of another user could not be controlled. */
	if (geteuid() != 0) {
		fprintf(stderr, "kvmmt-policyd: must run as root (it attaches to QEMU monitors, loads BPF and serves a root-only control socket)\n");
		kvmmt_config_free(&d.cfg);
		return 1;
	}
	log_init(a.verbose ? LOG_DEBUG : d.cfg.log_level);
	d.only = a.pids;
	d.nr_only = a.nr_pids;
	err = mkdir_p(d.cfg.state_dir, 0700);
	if (err) {
		plog(LOG_ERR, "cannot create state directory %s: %s", d.cfg.state_dir, strerror(-err));
		goto out;
	}
	err = state_load(&d, &e);
	if (!err && d.nr_flags)
		plog(LOG_INFO, "%zu manual flags restored from %s", d.nr_flags, d.cfg.state_dir);
	if (!err)
		risk_load(&d);
	if (!err)
		err = setup_signals(&d, &e);
	if (!err)
		err = open_datapath(&d, &e);
	if (!err)
		err = vms_open(&d, &e);
	if (!err)
		err = ctl_listen(&d, &e);
	if (!err)
		err = metrics_listen(&d, &e);
	if (err) {
		plog(LOG_ERR, "%s", e.msg);
		goto out;
	}
	log_pat(&d);
	vm_scan(&d);
	metrics_publish(&d);
	if (sd_watchdog_enabled(0, &d.watchdog_usec) <= 0)
		d.watchdog_usec = 0;
	sd_notify(0, "READY=1");
	notify_status(&d);
	plog(LOG_INFO, "ready: control socket %s, state %s, %zu VMs, %s, blocking classes:%s%s%s",
	     d.cfg.control_socket, d.cfg.state_dir, kvmmt_vmreg_len(d.reg),
	     d.cfg.enforce ? "enforcing through QMP" : "observing only (enforce = no)",
	     d.cfg.block[KVMMT_RISK_NONE] ? " none" : "",
	     d.cfg.block[KVMMT_RISK_LATENT] ? " latent" : "",
	     d.cfg.block[KVMMT_RISK_ALIASING] ? " aliasing" : "");
	err = run(&d, &a);
	sd_notify(0, "STOPPING=1");
out:
	cleanup(&d);
	return err ? 1 : 0;
}

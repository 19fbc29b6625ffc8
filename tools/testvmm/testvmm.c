// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * kvmmt-testvmm: start N test VMs on /dev/kvm, each in its own process,
 * touch a known number of guest pages so KVM installs a known number of
 * SPTEs, report exactly what was touched, hold, exit.
 */
#include <argp.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>
#include "kvm_util.h"
#include "report.h"
#include "testvm.h"
#include "version.h"

#define MAX_VMS		1024
#define MAX_VCPUS	1024
#define MAX_REPEAT	1000000
#define MAX_HOLD	(365L * 24 * 3600)

struct options {
	struct testvm_config vm;
	int vms;
	long hold;
	int json;
	int ready_fd;
	const char *ready_file;
};

const char *argp_program_version = "kvmmt-testvmm " KVMMT_VERSION;

static const char doc[] =
"Start test VMs on /dev/kvm and touch a known number of guest pages.\n"
"\n"
"Each VM runs in its own process (comm \"testvm<i>\"). Its guest runs at CPL3\n"
"in 64-bit long mode and writes one byte to each of PAGES data pages, spread\n"
"over SLOTS data memslots (slots 1..SLOTS); slot 0 holds the guest page\n"
"tables and the code page. On a shadow-paging host every write installs\n"
"exactly one SPTE, so each round installs PAGES data SPTEs plus 1 setup SPTE\n"
"(the code page) per VM. Each round after the first deletes slot 0 and adds\n"
"it back, which zaps all SPTEs of the VM. The report (text, or --json) lists\n"
"per VM the pid, name, vCPUs, memslots, pages touched and expected installs.\n"
"\n"
"EXAMPLES:\n"
"    kvmmt-testvmm                          # 1 VM, 1 slot, 512 pages, exit\n"
"    kvmmt-testvmm --vms 3 --slots 2 --pages 500 --json\n"
"    kvmmt-testvmm -n 2 -k 1000 --hold 60 --ready-file /run/tvm.json\n"
"    kvmmt-testvmm -k 100000 --repeat 20    # sustained install load\n"
"    kvmmt-testvmm --pte-flags pwt,pcd,pat  # guest asks for UC-, host keeps WB\n";

enum {
	OPT_PTE_FLAGS = 0x100,
	OPT_PAT,
	OPT_READY_FD,
	OPT_READY_FILE,
	OPT_BACKING,
};

static const struct argp_option opts[] = {
	{ "vms", 'n', "N", 0, "Number of VMs, one process each (default 1)", 0 },
	{ "slots", 's', "M", 0, "Data memslots per VM (default 1)", 0 },
	{ "pages", 'k', "K", 0, "Data pages to touch per VM and round (default 512)", 0 },
	{ NULL, 'p', "K", OPTION_HIDDEN, NULL, 0 },
	{ "vcpus", 'c', "V", 0, "vCPUs per VM, splitting the pages (default 1)", 0 },
	{ "repeat", 'r', "R", 0, "Rounds of touching, zapping in between (default 1)", 0 },
	{ "hold", 'H', "SECONDS", 0,
	  "Keep the VMs alive this long after touching (default 0); SIGINT or SIGTERM end the hold", 0 },
	{ "pte-flags", OPT_PTE_FLAGS, "LIST", 0,
	  "Set memory-type bits in the guest PTEs of the data pages: comma list of pwt, pcd, pat, or none", 0 },
	{ "pat", OPT_PAT, NULL, 0, "Same as --pte-flags pat", 0 },
	{ "json", 'j', NULL, 0, "Print the report as JSON", 0 },
	{ "ready-fd", OPT_READY_FD, "FD", 0,
	  "Write \"ready\\n\" to FD and close it once all VMs have touched their pages", 0 },
	{ "backing", OPT_BACKING, "FILE", 0,
	  "Back the last data memslot with a shared mapping of FILE, e.g. a PCI BAR (/sys/bus/pci/devices/*/resource0_wc)", 0 },
	{ "ready-file", OPT_READY_FILE, "PATH", 0,
	  "Once all VMs have touched their pages, write the JSON report to PATH (atomically)", 0 },
	{},
};

static long parse_num(struct argp_state *state, const char *opt,
		      const char *arg, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end)
		argp_error(state, "%s: '%s' is not a number", opt, arg);
	if (v < min || v > max)
		argp_error(state, "%s: %ld is out of range (%ld..%ld)", opt, v,
			   min, max);
	return v;
}

static uint64_t parse_pte_flags(struct argp_state *state, const char *arg)
{
	static const struct {
		const char *name;
		uint64_t bit;
	} names[] = {
		{ "none", 0 }, { "pwt", PTE_PWT }, { "pcd", PTE_PCD }, { "pat", PTE_PAT },
	};
	uint64_t flags = 0;
	size_t len, i;

	if (!*arg)
		argp_error(state, "--pte-flags: empty list (use pwt, pcd, pat or none)");
	for (; *arg; arg += len + !!arg[len]) {
		len = strcspn(arg, ",");
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strlen(names[i].name) == len &&
			    !strncmp(arg, names[i].name, len))
				break;
		if (i == sizeof(names) / sizeof(names[0]))
			argp_error(state, "--pte-flags: unknown flag '%.*s' (use pwt, pcd, pat or none)",
				   (int)len, arg);
		flags |= names[i].bit;
	}
	return flags;
}

static int ready_dir_writable(const char *path)
{
	char dir[PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		return access(".", W_OK);
	*(slash == dir ? slash + 1 : slash) = '\0';
	return access(dir, W_OK);
}

static void check_options(struct argp_state *state, const struct options *o)
{
	const struct testvm_config *c = &o->vm;

	if (c->pages < (uint64_t)c->slots)
		argp_error(state, "--pages %" PRIu64 " is less than --slots %d: every data slot needs at least one page",
			   c->pages, c->slots);
	if (c->vcpus > 1 && c->pages < (uint64_t)c->vcpus * PREFETCH_PAGES)
		argp_error(state, "--pages %" PRIu64 " is too few for %d vCPUs: each vCPU needs at least %d pages",
			   c->pages, c->vcpus, PREFETCH_PAGES);
	if (o->ready_file && ready_dir_writable(o->ready_file))
		argp_error(state, "--ready-file %s: cannot write in its directory: %s",
			   o->ready_file, strerror(errno));
	if (o->ready_fd >= 0 && fcntl(o->ready_fd, F_GETFD) < 0)
		argp_error(state, "--ready-fd %d is not an open file descriptor",
			   o->ready_fd);
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct options *o = state->input;

	switch (key) {
	case 'n':
		o->vms = parse_num(state, "--vms", arg, 1, MAX_VMS);
		break;
	case 's':
		o->vm.slots = parse_num(state, "--slots", arg, 1, SHRT_MAX);
		break;
	case 'k':
		o->vm.pages = parse_num(state, "--pages", arg, 1, MAX_PAGES);
		break;
	case 'p':
		/* -p is a pid in every kvmmt program */
		argp_error(state, "-p is no longer the page count: use -k K (--pages K)");
		break;
	case 'c':
		o->vm.vcpus = parse_num(state, "--vcpus", arg, 1, MAX_VCPUS);
		break;
	case 'r':
		o->vm.repeat = parse_num(state, "--repeat", arg, 1, MAX_REPEAT);
		break;
	case 'H':
		o->hold = parse_num(state, "--hold", arg, 0, MAX_HOLD);
		break;
	case OPT_PTE_FLAGS:
		o->vm.pte_flags = parse_pte_flags(state, arg);
		break;
	case OPT_PAT:
		o->vm.pte_flags = PTE_PAT;
		break;
	case 'j':
		o->json = 1;
		break;
	case OPT_READY_FD:
		o->ready_fd = parse_num(state, "--ready-fd", arg, 0, INT_MAX);
		break;
	case OPT_BACKING:
		if (access(arg, R_OK | W_OK))
			argp_error(state, "--backing %s: %s", arg, strerror(errno));
		o->vm.backing = arg;
		break;
	case OPT_READY_FILE:
		if (!*arg)
			argp_error(state, "--ready-file: empty path");
		o->ready_file = arg;
		break;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
		break;
	case ARGP_KEY_END:
		check_options(state, o);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* 1 when KVM maps guest memory with EPT or NPT rather than shadow paging. */
static int host_uses_tdp(void)
{
	static const char *const params[] = {
		"/sys/module/kvm_intel/parameters/ept",
		"/sys/module/kvm_amd/parameters/npt",
	};
	char v = 0;
	size_t i;

	for (i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
		FILE *f = fopen(params[i], "r");

		if (!f)
			continue;
		if (fread(&v, 1, 1, f) != 1)
			v = 0;
		fclose(f);
		if (v == 'Y' || v == '1')
			return 1;
	}
	return 0;
}

/* What this host allows, checked before any VM starts: one clear sentence each. */
static int check_host(const struct options *o)
{
	uint64_t need, avail = 0;
	char line[256];
	FILE *f;
	int fd, n;

	fd = kvm_open();
	if (fd == -ENOENT) {
		fprintf(stderr, "kvmmt-testvmm: /dev/kvm does not exist: KVM is not available on this host\n");
		return -1;
	}
	if (fd == -EACCES || fd == -EPERM) {
		fprintf(stderr, "kvmmt-testvmm: no permission to open /dev/kvm: run as root or as a member of the kvm group\n");
		return -1;
	}
	if (fd < 0) {
		fprintf(stderr, "kvmmt-testvmm: cannot open /dev/kvm: %s\n",
			strerror(-fd));
		return -1;
	}
	n = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (n != KVM_API_VERSION) {
		fprintf(stderr, "kvmmt-testvmm: /dev/kvm speaks API version %d, not %d\n",
			n, KVM_API_VERSION);
		goto fail;
	}
	n = kvm_check_cap(fd, KVM_CAP_NR_MEMSLOTS);
	if (o->vm.slots + 1 > n) {
		fprintf(stderr, "kvmmt-testvmm: --slots %d needs %d memslots per VM but KVM allows %d\n",
			o->vm.slots, o->vm.slots + 1, n);
		goto fail;
	}
	n = kvm_check_cap(fd, KVM_CAP_MAX_VCPUS);
	if (o->vm.vcpus > n) {
		fprintf(stderr, "kvmmt-testvmm: --vcpus %d exceeds KVM's limit of %d vCPUs per VM\n",
			o->vm.vcpus, n);
		goto fail;
	}
	close(fd);

	f = fopen("/proc/meminfo", "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %" SCNu64 " kB", &avail) == 1)
			break;
	if (f)
		fclose(f);
	need = (uint64_t)o->vms *
	       (o->vm.pages + testvm_setup_pages(&o->vm)) * PAGE_SIZE / 1024;
	if (avail && need > avail) {
		fprintf(stderr, "kvmmt-testvmm: %d VM(s) x %" PRIu64 " pages need %" PRIu64 " MiB of guest memory but only %" PRIu64 " MiB are available\n",
			o->vms, o->vm.pages, need >> 10, avail >> 10);
		return -1;
	}
	return 0;
fail:
	close(fd);
	return -1;
}

/* Child process of VM @i: run it, say "done" on @done_fd, hold until told. */
static void __attribute__((noreturn))
vm_child(const struct options *o, int i, pid_t parent,
	 struct testvm_record *rec, int done_fd)
{
	sigset_t stop;
	struct vm vm;
	int sig;

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(1);
	if (testvm_run(&o->vm, i, &vm, rec))
		_exit(1);
	TEST_ASSERT(write(done_fd, "d", 1) == 1, "cannot report VM %d", i);
	close(done_fd);

	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigwait(&stop, &sig);
	vm_destroy(&vm);
	exit(0);
}

struct vmm {
	int nr;
	pid_t *pids;
	int *done_fds;		/* read ends, -1 once the VM reported */
	int sig_fd;
	struct testvm_record **recs;
	void *rec_map;
	size_t rec_map_size;
};

static int start_vms(struct vmm *m, const struct options *o)
{
	size_t rec_size = testvm_record_size(o->vm.slots + 1);
	pid_t parent = getpid();
	int i, p[2];

	m->rec_map_size = rec_size * o->vms;
	m->rec_map = mmap(NULL, m->rec_map_size, PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m->rec_map == MAP_FAILED) {
		m->rec_map = NULL;
		perror("kvmmt-testvmm: mmap");
		return -1;
	}
	for (i = 0; i < o->vms; i++) {
		m->recs[i] = (void *)((char *)m->rec_map + rec_size * i);
		if (pipe2(p, O_CLOEXEC)) {
			perror("kvmmt-testvmm: pipe");
			return -1;
		}
		fflush(NULL);
		m->pids[i] = fork();
		if (m->pids[i] < 0) {
			perror("kvmmt-testvmm: fork");
			close(p[0]);
			close(p[1]);
			return -1;
		}
		if (!m->pids[i]) {
			/* The child keeps only its own end of its own pipe. */
			close(p[0]);
			close(m->sig_fd);
			for (int j = 0; j < i; j++)
				close(m->done_fds[j]);
			vm_child(o, i, parent, m->recs[i], p[1]);
		}
		close(p[1]);
		m->done_fds[i] = p[0];
		m->nr++;
	}
	return 0;
}

/* A stop signal (SIGINT/SIGTERM) read from the signalfd, or 0 for SIGCHLD. */
static int read_signal(int sig_fd)
{
	struct signalfd_siginfo si;

	if (read(sig_fd, &si, sizeof(si)) != sizeof(si))
		return 0;
	return si.ssi_signo == SIGCHLD ? 0 : (int)si.ssi_signo;
}

static int wait_ready(struct vmm *m)
{
	struct pollfd pfd[m->nr + 1];
	int i, pending = m->nr;
	char c;

	while (pending) {
		for (i = 0; i < m->nr; i++)
			pfd[i] = (struct pollfd){ .fd = m->done_fds[i], .events = POLLIN };
		pfd[m->nr] = (struct pollfd){ .fd = m->sig_fd, .events = POLLIN };
		if (poll(pfd, m->nr + 1, -1) < 0) {
			perror("kvmmt-testvmm: poll");
			return -1;
		}
		if ((pfd[m->nr].revents & POLLIN) && read_signal(m->sig_fd)) {
			fprintf(stderr, "kvmmt-testvmm: interrupted before all VMs had touched their pages\n");
			return -1;
		}
		for (i = 0; i < m->nr; i++) {
			if (!pfd[i].revents)
				continue;
			if (read(m->done_fds[i], &c, 1) != 1) {
				fprintf(stderr, "kvmmt-testvmm: VM %d (pid %d) failed before touching its pages\n",
					i, m->pids[i]);
				return -1;
			}
			close(m->done_fds[i]);
			m->done_fds[i] = -1;
			pending--;
		}
	}
	return 0;
}

/* Hold until @hold seconds pass or a stop signal; a VM dying is an error. */
static int hold_vms(struct vmm *m, long hold)
{
	uint64_t deadline = now_ns() + hold * 1000000000ULL, now;
	struct pollfd pfd = { .fd = m->sig_fd, .events = POLLIN };
	int i, status;

	while ((now = now_ns()) < deadline) {
		uint64_t ms = (deadline - now + 999999) / 1000000;

		if (poll(&pfd, 1, ms > INT_MAX ? INT_MAX : (int)ms) <= 0)
			continue;
		if (read_signal(m->sig_fd))
			return 0;
		for (i = 0; i < m->nr; i++) {
			if (m->pids[i] > 0 &&
			    waitpid(m->pids[i], &status, WNOHANG) == m->pids[i]) {
				fprintf(stderr, "kvmmt-testvmm: VM %d (pid %d) exited during the hold\n",
					i, m->pids[i]);
				m->pids[i] = 0;
				return -1;
			}
		}
	}
	return 0;
}

static int stop_vms(struct vmm *m)
{
	int i, status, ret = 0;

	for (i = 0; i < m->nr; i++)
		if (m->pids[i] > 0)
			kill(m->pids[i], SIGTERM);
	for (i = 0; i < m->nr; i++) {
		if (m->pids[i] <= 0)
			continue;
		if (waitpid(m->pids[i], &status, 0) < 0 ||
		    !WIFEXITED(status) || WEXITSTATUS(status))
			ret = -1;
	}
	return ret;
}

static int write_ready_file(const char *path, struct json_object *j)
{
	char tmp[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s.tmp%d", path, getpid());
	if (json_object_to_file_ext(tmp, j, JSON_C_TO_STRING_PRETTY)) {
		fprintf(stderr, "kvmmt-testvmm: cannot write --ready-file %s: %s\n",
			path, strerror(errno));
		return -1;
	}
	if (rename(tmp, path)) {
		fprintf(stderr, "kvmmt-testvmm: cannot write --ready-file %s: %s\n",
			path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

static int announce(const struct options *o, struct vmm *m)
{
	struct report r = {
		.cfg = &o->vm, .nr_vms = m->nr, .hold = o->hold, .vms = m->recs,
	};
	struct json_object *j = report_json(&r);
	int ret = 0;

	if (o->json)
		printf("%s\n", json_object_to_json_string_ext(j,
				JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	else
		report_text(stdout, &r);
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "kvmmt-testvmm: cannot write the report: %s\n",
			strerror(errno));
		ret = -1;
	}
	if (!ret && o->ready_file)
		ret = write_ready_file(o->ready_file, j);
	if (!ret && o->ready_fd >= 0) {
		if (write(o->ready_fd, "ready\n", 6) != 6) {
			fprintf(stderr, "kvmmt-testvmm: cannot write to --ready-fd %d: %s\n",
				o->ready_fd, strerror(errno));
			ret = -1;
		}
		close(o->ready_fd);
	}
	json_object_put(j);
	return ret;
}

int main(int argc, char **argv)
{
	struct options o = {
		.vm = { .slots = 1, .pages = 512, .vcpus = 1, .repeat = 1 },
		.vms = 1,
		.ready_fd = -1,
	};
	const struct argp argp = { opts, parse_opt, NULL, doc, NULL, NULL, NULL };
	struct vmm m = { .sig_fd = -1 };
	sigset_t sigs;
	int err = 1;

	/* getopt's own messages name the program as ours do, not by its path */
	argv[0] = program_invocation_short_name;
	if (argp_parse(&argp, argc, argv, 0, NULL, &o))
		return 1;
	if (check_host(&o))
		return 1;
	/* A reader of --ready-fd or stdout that went away is an error, not a kill. */
	signal(SIGPIPE, SIG_IGN);
	o.vm.tdp = host_uses_tdp();

	/* Blocked here, inherited blocked: children sigwait, we read a signalfd. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGCHLD);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	m.sig_fd = signalfd(-1, &sigs, SFD_CLOEXEC);
	m.pids = calloc(o.vms, sizeof(*m.pids));
	m.done_fds = calloc(o.vms, sizeof(*m.done_fds));
	m.recs = calloc(o.vms, sizeof(*m.recs));
	if (m.sig_fd < 0 || !m.pids || !m.done_fds || !m.recs) {
		perror("kvmmt-testvmm: setup");
		goto cleanup;
	}

	if (start_vms(&m, &o) || wait_ready(&m) || announce(&o, &m))
		goto cleanup;
	if (hold_vms(&m, o.hold))
		goto cleanup;
	err = 0;
cleanup:
	if (stop_vms(&m) && !err) {
		fprintf(stderr, "kvmmt-testvmm: a VM process did not exit cleanly\n");
		err = 1;
	}
	for (int i = 0; i < m.nr; i++)
		if (m.done_fds[i] >= 0)
			close(m.done_fds[i]);
	if (m.rec_map)
		munmap(m.rec_map, m.rec_map_size);
	free(m.pids);
	free(m.done_fds);
	free(m.recs);
	if (m.sig_fd >= 0)
		close(m.sig_fd);
	return err;
}

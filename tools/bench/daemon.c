// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Benchmark 4, scale: kvmmt-top (batch JSON mode) and kvmmt-policyd watching
 * 1 to 500 held test VMs. CPU is the time on CPU of its threads (schedstat,
 * else utime+stime) over a window after a warm-up; RSS is VmRSS at its end; the first refresh is
 * kvmmt-top's first JSON line and kvmmt-policyd's READY=1 (sd_notify, sent
 * after its first scan), timed from the fork. kvm_stat, the tool kvmmt-top
 * is the per-VM memory-type view beside, runs at the same steps, in a window
 * after kvmmt's programs', so that neither takes CPU from the other: in its
 * default mode (tracepoints, summed in the kernel) and with -d (every VM's
 * debugfs statistics, read per VM as kvmmt-top reads its per-VM rows).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include "bench.h"

#define NCOUNTS BENCH_MAX_COUNTS
/* The programs watched, in the order of their rows; two at a time. */
enum { W_TOP, W_POLICYD, W_KVM_STAT, W_KVM_STAT_D, NW };

struct watcher {
	const char *name;
	const char *file;		/* its scratch files' stem */
	const char *path;		/* the executable; NULL: $bin/name */
	const char *const *args;	/* after the binary */
	bool ref;			/* a reference tool: measured, not judged */
	pid_t pid;
	double cpu0;
	char log[600];
	char why[1024];
	double pct[NCOUNTS], rss_mib[NCOUNTS];
	double rate[NCOUNTS];		/* refreshes per second in the window, -1: not seen */
	long lines0;			/* refreshes printed when the window began */
	double first_s[NCOUNTS];	/* fork to first refresh, -1 when none seen */
	double t_start;
	int out_fd;			/* kvmmt-top: its JSON lines */
	int notify_fd;			/* kvmmt-policyd: its sd_notify socket */
	char out[600];
	char prof[512];			/* where its CPU goes at the largest step */
	struct samples slice[NCOUNTS];	/* CPU % per SLICE_S of the window */
	bool ok[NCOUNTS];
	char miss[NCOUNTS][1024];
};

static const char *const top_args[] = { "-j", "-d", "1", NULL };
/* kvm_stat's log mode, one line a second, like kvmmt-top -j -d 1 */
static const char *const kvm_stat_args[] = { "-l", "-s", "1", NULL };
static const char *const kvm_stat_d_args[] = { "-d", "-l", "-s", "1", NULL };

/*
 * The last line @path holds, for saying why a program stopped: kvmmt's
 * programs end with their one-sentence error, a Python traceback with its
 * exception.
 */
static void last_line(const char *path, char *buf, size_t len)
{
	char line[512];
	FILE *f = fopen(path, "r");

	buf[0] = 0;
	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		if (line[0])
			snprintf(buf, len, "%.*s", (int)len - 1, line);
	}
	if (f)
		fclose(f);
}

/*
 * kvm_stat names KVM's exit reasons after the CPU's virtualization
 * extension, which on x86 it finds in /proc/cpuinfo's flags (vmx, svm):
 * without either (the PVM backend, a guest without nested virtualization)
 * it stops at start, in both modes.
 */
static bool kvm_stat_knows_cpu(void)
{
	struct utsname u;
	char line[4096];
	bool found = false;
	FILE *f;

	if (uname(&u) || strcmp(u.machine, "x86_64"))
		return true;
	f = fopen("/proc/cpuinfo", "r");
	while (f && !found && fgets(line, sizeof(line), f))
		if (!strncmp(line, "flags", 5))
			found = strstr(line, " vmx") || strstr(line, " svm");
	if (f)
		fclose(f);
	return found;
}

static int notify_open(const struct bench_cfg *c, struct watcher *w, int i);

static int watcher_start(const struct bench_cfg *c, struct watcher *w, int i)
{
	char bin[512], *argv[16];
	int n = 0, fd;

	if (w->ref && !w->path) {
		snprintf(w->miss[i], sizeof(w->miss[i]), "missing: kvm_stat not on PATH"
			 " (tools/install-deps test; tools/bench/run unpacks Debian's from"
			 " linux-source-6.12, or --kvm-stat PATH)");
		return -ENOENT;
	}
	if (w->ref && !kvm_stat_knows_cpu()) {
		snprintf(w->miss[i], sizeof(w->miss[i]), "missing: a CPU kvm_stat knows:"
			 " it finds KVM's exit reasons by the vmx or svm flag in"
			 " /proc/cpuinfo, and this host's CPU has neither");
		return -ENOENT;
	}
	if (w->path)
		snprintf(bin, sizeof(bin), "%s", w->path);
	else
		bin_path(c, w->name, bin, sizeof(bin));
	if (!is_exec(bin)) {
		snprintf(w->miss[i], sizeof(w->miss[i]),
			 "missing component: %s (%s not built)", w->name, bin);
		return -ENOENT;
	}
	argv[n++] = bin;
	for (int k = 0; w->args[k] && n < 15; k++)
		argv[n++] = (char *)w->args[k];
	argv[n] = NULL;
	snprintf(w->log, sizeof(w->log), "%s/%s.stderr", c->tmp, w->file);
	fd = open(w->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	/* Output goes to a file no one reads until its first line is timed. */
	snprintf(w->out, sizeof(w->out), "%s/%s.stdout", c->tmp, w->file);
	w->out_fd = open(w->out, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	w->notify_fd = notify_open(c, w, i);
	w->first_s[i] = -1;
	w->t_start = now_s();
	w->pid = proc_spawn(argv, w->out_fd, fd);
	if (w->notify_fd >= 0)
		unsetenv("NOTIFY_SOCKET");
	if (fd >= 0)
		close(fd);
	return w->pid < 0 ? -errno : 0;
}

/* kvmmt-policyd's sd_notify socket: READY=1 comes after its first scan. */
static int notify_open(const struct bench_cfg *c, struct watcher *w, int i)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strcmp(w->name, "kvmmt-policyd"))
		return -1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify-%d", c->tmp, i);
	unlink(sa.sun_path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	setenv("NOTIFY_SOCKET", sa.sun_path, 1);
	return fd;
}

/*
 * Refreshes @w printed so far: lines that begin with a number (kvm_stat's
 * time stamp, not its repeated banner) or a JSON object (kvmmt-top); -1
 * for a program without output.
 */
static long refreshes(const struct watcher *w)
{
	char buf[65536];
	bool bol = true;
	long n = 0;
	off_t off = 0;
	ssize_t got;

	if (w->out_fd < 0 || w->notify_fd >= 0)
		return -1;
	while ((got = pread(w->out_fd, buf, sizeof(buf), off)) > 0) {
		for (ssize_t k = 0; k < got; k++) {
			if (bol && (buf[k] == '{' || (buf[k] >= '0' && buf[k] <= '9')))
				n++;
			bol = buf[k] == '\n';
		}
		off += got;
	}
	return n;
}

/* Has @w refreshed once? Records when it first did. */
static bool first_refresh(struct watcher *w, int i, double now)
{
	char buf[4096];
	ssize_t n;

	if (w->first_s[i] >= 0)
		return true;
	if (w->notify_fd >= 0) {
		while ((n = recv(w->notify_fd, buf, sizeof(buf) - 1, 0)) > 0) {
			buf[n] = 0;
			if (strstr(buf, "READY=1"))
				w->first_s[i] = now - w->t_start;
		}
	} else if (refreshes(w) > 0) {
		w->first_s[i] = now - w->t_start;
	}
	return w->first_s[i] >= 0;
}

/* Polls every 10 ms until both watchers refreshed once (or @max_s passed). */
static void wait_first_refresh(struct watcher *w, int n, int i, double max_s)
{
	double t0 = now_s();

	while (now_s() - t0 < max_s) {
		bool all = true;
		double now = now_s();

		for (int k = 0; k < n; k++)
			all &= w[k].pid <= 0 || first_refresh(&w[k], i, now);
		if (all)
			return;
		usleep(10000);
	}
}

static void watcher_stop(struct watcher *w)
{
	if (w->pid > 0)
		proc_stop(w->pid, SIGTERM, 5, NULL);
	w->pid = 0;
	if (w->out_fd >= 0)
		close(w->out_fd);
	if (w->notify_fd >= 0)
		close(w->notify_fd);
	w->out_fd = w->notify_fd = -1;
	unlink(w->out);
}

/*
 * Start-up (loading and verifying BPF programs) costs seconds of CPU; the
 * steady state begins when a second passes with under 2% of a core used
 * by kvmmt's programs (a reference tool may be busy all the time).
 */
static void warm_up(struct watcher *w, int n, double max_s)
{
	double t0 = now_s(), last[NW] = { -1, -1, -1, -1 };

	while (now_s() - t0 < max_s) {
		bool calm = true;

		for (int k = 0; k < n; k++) {
			double cpu = w[k].pid > 0 && !w[k].ref ? proc_cpu_s(w[k].pid) : -1;

			calm &= cpu < 0 || (last[k] >= 0 && cpu - last[k] <= 0.02);
			last[k] = cpu;
		}
		if (calm && now_s() - t0 > 1.5)
			return;
		usleep(1000000);
	}
}

#define SLICE_S	2

/* Sleep through the window, taking CPU % per SLICE_S slice for the spread. */
static void measure_slices(struct watcher *w, int n, int i, double window)
{
	double prev[NW], t;

	for (int k = 0; k < n; k++)
		prev[k] = w[k].cpu0;
	for (t = 0; t + SLICE_S <= window + 1e-9; t += SLICE_S) {
		usleep(SLICE_S * 1e6);
		for (int k = 0; k < n; k++) {
			double cpu = w[k].pid > 0 ? proc_cpu_s(w[k].pid) : -1;

			if (cpu >= 0 && prev[k] >= 0)
				samples_add(&w[k].slice[i], (cpu - prev[k]) / SLICE_S * 100);
			prev[k] = cpu;
		}
	}
	if (window > t)
		usleep((window - t) * 1e6);
}

/* VMs alive on the host now (anyone's): open kvm-vm files. */
static int host_vms(void)
{
	DIR *proc = opendir("/proc");
	struct dirent *p;
	int n = 0;

	if (!proc)
		return -1;
	while ((p = readdir(proc))) {
		char dir[300], link[600], target[64];
		struct dirent *f;
		DIR *fds;

		if (p->d_name[0] < '1' || p->d_name[0] > '9')
			continue;
		snprintf(dir, sizeof(dir), "/proc/%s/fd", p->d_name);
		fds = opendir(dir);
		while (fds && (f = readdir(fds))) {
			ssize_t l;

			snprintf(link, sizeof(link), "%s/%s", dir, f->d_name);
			l = readlink(link, target, sizeof(target) - 1);
			if (l > 0) {
				target[l] = 0;
				n += !strcmp(target, "anon_inode:kvm-vm");
			}
		}
		if (fds)
			closedir(fds);
	}
	closedir(proc);
	return n;
}

/* Still running? If not, say how it ended. */
static bool watcher_alive(struct watcher *w, int i)
{
	char line[256];
	int st;

	if (waitpid(w->pid, &st, WNOHANG) != w->pid)
		return true;
	last_line(w->log, line, sizeof(line));
	snprintf(w->miss[i], sizeof(w->miss[i]), "%s exited (status %d): %s",
		 w->name, WIFEXITED(st) ? WEXITSTATUS(st) : -1, line);
	w->pid = 0;
	return false;
}

/* The top @max lines of a `perf report -q` as "name share, ..." into @buf. */
static void perf_top(const char *data, const char *sort, int max, char *buf, size_t len)
{
	char *argv[] = { "perf", "report", "-i", (char *)data, "--stdio", "--no-children",
			 "-q", "--sort", (char *)sort, NULL };
	char *out = NULL, *line, *save = NULL;
	struct proc_result r;
	size_t n = strlen(buf);
	int k = 0;

	if (proc_run(argv, &out, &r) || !out) {
		free(out);
		return;
	}
	for (line = strtok_r(out, "\n", &save); line && k < max;
	     line = strtok_r(NULL, "\n", &save)) {
		double pct;
		char name[160];

		/* "    36.71%  libc.so.6" or "     9.15%  [.] __vfscanf_internal" */
		if (sscanf(line, " %lf%% %159[^\n]", &pct, name) != 2)
			continue;
		for (char *e = name + strlen(name); e > name && e[-1] == ' '; )
			*--e = 0;
		if (strstr(name, "] 0x"))
			continue;	/* an address without a symbol says nothing */
		n += snprintf(buf + n, n < len ? len - n : 0, "%s%s %.0f%%", k ? ", " : "",
			      name, pct);
		k++;
	}
	free(out);
}

/* Where @w's CPU goes: perf samples of it for a few seconds, by DSO and symbol. */
static void profile(const struct bench_cfg *c, struct watcher *w)
{
	char data[600], secs[8] = "6", pid[16];
	char *argv[] = { "perf", "record", "-q", "-F", "999", "-p", pid, "-o", data, "--",
			 "sleep", secs, NULL };
	struct proc_result r;
	char *out = NULL;
	size_t n;

	if (tool_missing("perf")) {
		snprintf(w->prof, sizeof(w->prof), "%s", tool_missing("perf"));
		return;
	}
	snprintf(pid, sizeof(pid), "%d", w->pid);
	snprintf(data, sizeof(data), "%s/%s.perf", c->tmp, w->name);
	if (proc_run_err(argv, &out, &r) || !WIFEXITED(r.status) || WEXITSTATUS(r.status)) {
		snprintf(w->prof, sizeof(w->prof), "perf record failed: %.200s",
			 out ? out : "");
		free(out);
		return;
	}
	free(out);
	n = snprintf(w->prof, sizeof(w->prof), "perf, %s s: by object ", secs);
	perf_top(data, "dso", 3, w->prof, sizeof(w->prof));
	if (strlen(w->prof) == n) {
		snprintf(w->prof, sizeof(w->prof), "perf, %s s: perf report listed nothing", secs);
		unlink(data);
		return;
	}
	n = strlen(w->prof);
	snprintf(w->prof + n, sizeof(w->prof) - n, "; by symbol ");
	perf_top(data, "sym", 4, w->prof, sizeof(w->prof));
	unlink(data);
}

/* Say whether @w met the targets at the largest count and at 50 VMs. */
static void judge(const struct bench_cfg *c, struct watcher *w, struct table *t,
		  json_object *targets)
{
	int last = c->nvm_counts - 1, at50 = -1;
	char key[64];

	for (int i = 0; i < c->nvm_counts; i++)
		if (c->vm_counts[i] == 50)
			at50 = i;
	if (!w->ok[last]) {
		table_note(t, "target %s <= 1%% CPU and <= 40 MiB at 500 VMs: not measured (%s)",
			   w->name, w->miss[last]);
	} else if (c->vm_counts[last] < 500) {
		table_note(t, "target %s <= 1%% CPU and <= 40 MiB at 500 VMs: not judged"
			   " (largest step %d VMs: %.2f%%, %.1f MiB)", w->name,
			   c->vm_counts[last], w->pct[last], w->rss_mib[last]);
	} else {
		bool met = w->pct[last] <= 1 && w->rss_mib[last] <= 40;

		table_note(t, "target %s <= 1%% CPU and <= 40 MiB at 500 VMs: %s (%d VMs:"
			   " %.2f%% of a core, %.1f MiB)%s%s", w->name, met ? "MET" : "MISSED",
			   c->vm_counts[last], w->pct[last], w->rss_mib[last],
			   w->prof[0] ? "; where the CPU goes: " : "", w->prof);
		if (w->prof[0]) {
			snprintf(key, sizeof(key), "%s_profile_at_500", w->name);
			json_object_object_add(targets, key, json_object_new_string(w->prof));
		}
		snprintf(key, sizeof(key), "%s_cpu_rss_at_500", w->name);
		json_object_object_add(targets, key, json_object_new_boolean(met));
	}
	if (at50 < 0 || w->first_s[at50] < 0) {
		table_note(t, "target %s first refresh <= 0.5 s at 50 VMs: not measured%s",
			   w->name, at50 < 0 ? " (no 50-VM step)" : " (no refresh seen)");
	} else {
		bool met = w->first_s[at50] <= 0.5;

		table_note(t, "target %s first refresh <= 0.5 s at 50 VMs: %s (%.2f s)",
			   w->name, met ? "MET" : "MISSED", w->first_s[at50]);
		snprintf(key, sizeof(key), "%s_first_refresh_at_50", w->name);
		json_object_object_add(targets, key, json_object_new_boolean(met));
	}
	/* State memory per VM: the RSS slope over the curve. */
	int lo = -1, hi = -1;

	for (int i = 0; i < c->nvm_counts; i++)
		if (w->ok[i]) {
			if (lo < 0)
				lo = i;
			hi = i;
		}
	if (lo >= 0 && hi > lo && c->vm_counts[hi] > c->vm_counts[lo]) {
		double kib = (w->rss_mib[hi] - w->rss_mib[lo]) * 1024 /
			     (c->vm_counts[hi] - c->vm_counts[lo]);

		snprintf(key, sizeof(key), "%s_rss_kib_per_vm", w->name);
		if (kib <= -0.05) {
			/* each step is a fresh process: their RSS differ by more than the VMs add */
			table_note(t, "%s state memory: not measured (RSS %.1f MiB at %d VMs, %.1f MiB"
				   " at %d: the VMs add less than runs differ; a larger step measures it)",
				   w->name, w->rss_mib[lo], c->vm_counts[lo], w->rss_mib[hi],
				   c->vm_counts[hi]);
			json_object_object_add(targets, key, NULL);
			return;
		}
		if (kib < 0.05)
			kib = 0;	/* no "-0.0" */
		table_note(t, "%s state memory: %.1f KiB of RSS per VM (%d to %d VMs)",
			   w->name, kib, c->vm_counts[lo], c->vm_counts[hi]);
		json_object_object_add(targets, key, json_object_new_double(kib));
	}
}

/*
 * The CPU curve of every program in one line, and kvmmt-top's CPU over each
 * kvm_stat's at the largest step both measured: ratios of one run, whatever
 * the machine (under emulation too).
 */
static void side_by_side(const struct bench_cfg *c, const struct watcher *w,
			 struct table *t, json_object *targets)
{
	char line[1024] = "side by side, CPU % of one core at";
	double over[NW] = { 0 }, ms[NW] = { 0 };
	int last = -1, pr = -1, big = c->nvm_counts - 1;	/* the largest step */

	for (int i = 0; i < c->nvm_counts; i++)
		strfcat(line, sizeof(line), "%s%d", i ? "/" : " ", c->vm_counts[i]);
	strfcat(line, sizeof(line), " VMs:");
	for (int k = 0; k < NW; k++) {
		strfcat(line, sizeof(line), "%s %s ", k ? ";" : "", w[k].name);
		for (int i = 0; i < c->nvm_counts; i++) {
			if (w[k].ok[i])
				strfcat(line, sizeof(line), "%s%.2f", i ? "/" : "", w[k].pct[i]);
			else
				strfcat(line, sizeof(line), "%s-", i ? "/" : "");
		}
	}
	table_note(t, "%s", line);
	for (int i = 0; i < c->nvm_counts; i++)
		if (w[W_TOP].ok[i] && w[W_KVM_STAT].ok[i] && w[W_KVM_STAT_D].ok[i])
			last = i;
	if (last < 0) {
		const struct watcher *why = &w[W_KVM_STAT];

		if (why->ok[big])
			why = w[W_KVM_STAT_D].ok[big] ? &w[W_TOP] : &w[W_KVM_STAT_D];
		table_note(t, "kvmmt-top against kvm_stat: not measured (%s)", why->miss[big]);
		return;
	}
	for (int r = W_KVM_STAT; r <= W_KVM_STAT_D; r++)
		over[r] = w[r].pct[last] > 0 ? w[W_TOP].pct[last] / w[r].pct[last] : 0;
	table_note(t, "kvmmt-top's CPU at %d VMs: %.3gx kvm_stat -d's (which reads every"
		   " VM's statistics, as kvmmt-top shows every VM), %.3gx kvm_stat's (its"
		   " default: the kernel's sums over all VMs)", c->vm_counts[last],
		   over[W_KVM_STAT_D], over[W_KVM_STAT]);
	json_object_object_add(targets, "side_by_side_vms",
			       json_object_new_int(c->vm_counts[last]));
	json_object_object_add(targets, "kvmmt-top_cpu_over_kvm_stat", over[W_KVM_STAT] > 0 ?
			       json_object_new_double(over[W_KVM_STAT]) : NULL);
	json_object_object_add(targets, "kvmmt-top_cpu_over_kvm_stat_d",
			       over[W_KVM_STAT_D] > 0 ?
			       json_object_new_double(over[W_KVM_STAT_D]) : NULL);
	/*
	 * A program that falls behind its interval spends its CPU on fewer
	 * refreshes: CPU per refresh, at the largest step where all three
	 * refreshed in the window.
	 */
	for (int i = 0; i <= last; i++)
		if (w[W_TOP].rate[i] > 0 && w[W_KVM_STAT].rate[i] > 0 &&
		    w[W_KVM_STAT_D].rate[i] > 0)
			pr = i;
	if (pr < 0)
		return;
	for (int k = W_TOP; k < NW; k++)
		if (w[k].rate[pr] > 0)	/* not kvmmt-policyd: it prints no refresh */
			ms[k] = w[k].pct[pr] * 10 / w[k].rate[pr];
	table_note(t, "CPU per refresh at %d VMs: kvmmt-top %.1f ms, kvm_stat -d %.0f ms (%.2f"
		   " refreshes/s: %.3gx), kvm_stat %.1f ms (%.3gx)%s", c->vm_counts[pr],
		   ms[W_TOP], ms[W_KVM_STAT_D], w[W_KVM_STAT_D].rate[pr],
		   ms[W_KVM_STAT_D] > 0 ? ms[W_TOP] / ms[W_KVM_STAT_D] : 0, ms[W_KVM_STAT],
		   ms[W_KVM_STAT] > 0 ? ms[W_TOP] / ms[W_KVM_STAT] : 0, pr < last ?
		   "; at the larger steps one of them did not refresh in the window" : "");
	json_object_object_add(targets, "per_refresh_vms", json_object_new_int(c->vm_counts[pr]));
	json_object_object_add(targets, "kvmmt-top_cpu_per_refresh_over_kvm_stat_d",
			       ms[W_KVM_STAT_D] > 0 ?
			       json_object_new_double(ms[W_TOP] / ms[W_KVM_STAT_D]) : NULL);
}

/*
 * Step @i for the @n watchers @w, side by side in one window: started, timed
 * to their first refresh, measured once calm, profiled at the largest step
 * if over 1% (kvmmt's programs), stopped. @why: the VMs are missing, why.
 */
static void measure_group(const struct bench_cfg *c, struct watcher *w, int n, int i,
			  const char *why, double warm, double window)
{
	for (int k = 0; k < n; k++) {
		if (why[0])
			snprintf(w[k].miss[i], sizeof(w[k].miss[i]), "%s", why);
		else
			watcher_start(c, &w[k], i);
	}
	if (!why[0]) {
		wait_first_refresh(w, n, i, warm);
		warm_up(w, n, warm);
		for (int k = 0; k < n; k++)
			if (w[k].pid > 0 && watcher_alive(&w[k], i)) {
				w[k].cpu0 = proc_cpu_s(w[k].pid);
				w[k].lines0 = refreshes(&w[k]);
			}
		measure_slices(w, n, i, window);
		for (int k = 0; k < n; k++) {
			if (w[k].pid <= 0 || !watcher_alive(&w[k], i))
				continue;
			w[k].pct[i] = (proc_cpu_s(w[k].pid) - w[k].cpu0) / window * 100;
			w[k].rss_mib[i] = proc_rss_kib(w[k].pid) / 1024.0;
			w[k].rate[i] = w[k].lines0 < 0 ? -1 :
				       (refreshes(&w[k]) - w[k].lines0) / window;
			w[k].ok[i] = w[k].cpu0 >= 0;
		}
		/* A miss at the largest step says what limits it, measured. */
		for (int k = 0; k < n; k++)
			if (i == c->nvm_counts - 1 && !w[k].ref && w[k].ok[i] && w[k].pct[i] > 1)
				profile(c, &w[k]);
	}
	for (int k = 0; k < n; k++)
		watcher_stop(&w[k]);
}

/* Why the test VMM did not get ready: the last line it wrote to stderr. */
static void vmm_failed(const char *errlog, int vms, char *why, size_t len)
{
	char line[256];

	last_line(errlog, line, sizeof(line));
	snprintf(why, len, "kvmmt-testvmm --vms %d did not get ready within 60 s%s%s", vms,
		 line[0] ? ": " : "", line);
}

int bench_daemon(const struct bench_cfg *c, json_object *out)
{
	static const char *const cols[] = {
		"program", "test VMs", "VMs on host", "first refresh s", "CPU % of one core",
		"per 2 s median [min..max]", "RSS MiB", "refreshes/s", NULL,
	};
	char conf[600], state[600], sock[600], vmmlog[600];
	FILE *cf;
	/* Its own config, state and socket: nothing of a system daemon is touched. */
	const char *const policyd_args[] = { "-c", conf, "-s", state, "-S", sock, NULL };
	char kvm_stat[512];
	const char *ks = c->kvm_stat ?: tool_path("kvm_stat", kvm_stat, sizeof(kvm_stat));
	struct watcher w[NW] = {
		{ .name = "kvmmt-top", .file = "top", .args = top_args },
		{ .name = "kvmmt-policyd", .file = "policyd", .args = policyd_args },
		{ .name = "kvm_stat", .file = "kvm_stat", .path = ks, .args = kvm_stat_args,
		  .ref = true },
		{ .name = "kvm_stat -d", .file = "kvm_stat-d", .path = ks,
		  .args = kvm_stat_d_args, .ref = true },
	};
	double warm = 30, window = c->window_s;
	int seen[NCOUNTS];
	json_object *rows = json_object_new_array(), *targets = json_object_new_object();
	char ready[600], why[1024];
	struct table t;

	for (int k = 0; k < NW; k++)
		w[k].out_fd = w[k].notify_fd = -1;
	/* kvm_stat is Python: each line written as printed, so its refreshes are timed */
	setenv("PYTHONUNBUFFERED", "1", 1);
	table_init(&t, "Benchmark 4: kvmmt-top and kvmmt-policyd from 1 to 500 VMs,"
		   " kvm_stat side by side", cols);
	snprintf(ready, sizeof(ready), "%s/testvmm.ready", c->tmp);
	snprintf(vmmlog, sizeof(vmmlog), "%s/testvmm.stderr", c->tmp);
	snprintf(conf, sizeof(conf), "%s/policyd.conf", c->tmp);
	snprintf(state, sizeof(state), "%s/policyd-state", c->tmp);
	snprintf(sock, sizeof(sock), "%s/policyd.sock", c->tmp);
	mkdir(state, 0700);
	cf = fopen(conf, "w");
	if (cf)
		fclose(cf);
	for (int i = 0; i < c->nvm_counts; i++) {
		struct bench_load l = { .vms = c->vm_counts[i], .slots = 2, .pages = 256,
					.repeat = 1 };
		int efd = open(vmmlog, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		pid_t vmm = vmm_start_hold(c, &l, efd, 3600, ready);

		if (efd >= 0)
			close(efd);
		why[0] = 0;
		if (vmm == -ENODEV)
			vmm_no_kvm(why, sizeof(why));
		else if (vmm == -ENOENT)
			snprintf(why, sizeof(why),
				 "missing component: tools/testvmm (kvmmt-testvmm not built)");
		else if (vmm < 0 || !file_wait_for(ready, "\"vms\"", 60))
			vmm_failed(vmmlog, c->vm_counts[i], why, sizeof(why));
		/* kvmmt's two programs together, then kvm_stat's two modes: apart */
		for (int g = W_TOP; g < NW; g += 2)
			measure_group(c, w + g, 2, i, why, warm, window);
		seen[i] = why[0] ? 0 : host_vms();
		if (vmm > 0)
			proc_stop(vmm, SIGTERM, 10, NULL);
	}

	for (int k = 0; k < NW; k++) {
		for (int i = 0; i < c->nvm_counts; i++) {
			int row = table_row(&t);
			json_object *o = json_object_new_object();

			table_set(&t, row, 0, "%s", w[k].name);
			table_set(&t, row, 1, "%d", c->vm_counts[i]);
			json_object_object_add(o, "program", json_object_new_string(w[k].name));
			json_object_object_add(o, "vms", json_object_new_int(c->vm_counts[i]));
			json_object_object_add(o, "reference", json_object_new_boolean(w[k].ref));
			if (!w[k].ok[i]) {
				table_missing(&t, row, 2, w[k].miss[i]);
				json_object_object_add(o, "missing",
						       json_object_new_string(w[k].miss[i]));
			} else {
				table_set(&t, row, 2, "%d", seen[i]);
				if (w[k].first_s[i] >= 0)
					table_set(&t, row, 3, "%.2f", w[k].first_s[i]);
				else
					table_set(&t, row, 3, "none in %.0f s", warm);
				table_set(&t, row, 4, "%.2f", w[k].pct[i]);
				table_set_samples(&t, row, 5, "%.2f", &w[k].slice[i], 1);
				table_set(&t, row, 6, "%.1f", w[k].rss_mib[i]);
				if (w[k].rate[i] >= 0) {
					table_set(&t, row, 7, "%.2f", w[k].rate[i]);
					json_object_object_add(o, "refreshes_per_s",
							       json_object_new_double(w[k].rate[i]));
				} else {
					table_set(&t, row, 7, "-");
				}
				json_object_object_add(o, "cpu_pct_slices",
						       samples_json(&w[k].slice[i]));
				json_object_object_add(o, "host_vms", json_object_new_int(seen[i]));
				json_object_object_add(o, "cpu_pct", json_object_new_double(w[k].pct[i]));
				json_object_object_add(o, "rss_mib",
						       json_object_new_double(w[k].rss_mib[i]));
				if (w[k].first_s[i] >= 0)
					json_object_object_add(o, "first_refresh_s",
						json_object_new_double(w[k].first_s[i]));
			}
			json_object_array_add(rows, o);
		}
		if (!w[k].ref)
			judge(c, &w[k], &t, targets);
	}
	side_by_side(c, w, &t, targets);
	table_note(&t, "state memory per distinct range and per VM of the risk model alone:"
		   " benchmark 2 (heap growth)");
	if (proc_cpu_precise(getpid()))
		table_note(&t, "CPU: time on CPU of the program's threads (/proc/PID/task/*/schedstat,"
			   " nanoseconds) over a %.0f s window once start-up is over (a second under"
			   " 2%% of a core, at most %.0f s), and per %d s slice; RSS (VmRSS) at its"
			   " end; refreshes/s: lines of numbers printed in the window (all asked for"
			   " one a second; kvmmt-policyd prints none)", window, warm, SLICE_S);
	else
		table_note(&t, "CPU: utime+stime over a %.0f s window once start-up is over (a"
			   " second under 2%% of a core, at most %.0f s), and per %d s slice (clock"
			   " ticks: %.1f%% resolution; this kernel keeps no schedstat); RSS (VmRSS)"
			   " at its end; refreshes/s: lines of numbers printed in the window (all"
			   " asked for one a second; kvmmt-policyd prints none)", window, warm,
			   SLICE_S, 100.0 / sysconf(_SC_CLK_TCK) / SLICE_S);
	table_note(&t, "first refresh: from the fork to kvmmt-top's first JSON line and to"
		   " kvmmt-policyd's READY=1 (sent after its first scan), BPF loading included;"
		   " polled every 10 ms");
	table_note(&t, "kvmmt-top %s; kvmmt-policyd %s; kvm_stat -l -s 1 and kvm_stat -d -l"
		   " -s 1 (%s; first refresh: its first line of numbers); test VMs:"
		   " kvmmt-testvmm --slots 2 --pages 256 --hold; VMs on host counts every"
		   " kvm-vm file open (other users' VMs are watched too)", "-j -d 1",
		   "(defaults: 5 s scan interval, enforcement on) with an empty config",
		   ks ?: "not found");
	json_object_object_add(out, "targets", targets);
	json_object_object_add(out, "rows", rows);
	if (!c->json)
		table_print(&t, stdout);
	table_free(&t);
	return 0;
}

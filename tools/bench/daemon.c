// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Benchmark 4, steady state: kvmmt-top (batch mode) and kvmmt-policyd
 * watching 1, 10 and 50 held test VMs. CPU is utime+stime from
 * /proc/PID/stat over a window after a warm-up; RSS is VmRSS at its end.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "bench.h"

#define NCOUNTS BENCH_MAX_COUNTS

struct watcher {
	const char *name;
	const char *const *args;	/* after the binary */
	pid_t pid;
	double cpu0;
	char log[600];
	char why[1024];
	double pct[NCOUNTS], rss_mib[NCOUNTS];
	struct samples slice[NCOUNTS];	/* CPU % per SLICE_S of the window */
	bool ok[NCOUNTS];
	char miss[NCOUNTS][1024];
};

static const char *const top_args[] = { "-b", "-d", "1", NULL };

/* First line of @path, for saying why a program stopped. */
static void first_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	buf[0] = 0;
	if (f) {
		if (fgets(buf, len, f))
			buf[strcspn(buf, "\n")] = 0;
		fclose(f);
	}
}

static int watcher_start(const struct bench_cfg *c, struct watcher *w, int i)
{
	char bin[512], *argv[16];
	int n = 0, fd;

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
	snprintf(w->log, sizeof(w->log), "%s/%s.stderr", c->tmp, w->name);
	fd = open(w->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	/* Output goes nowhere: the cost of producing it is what is measured. */
	w->pid = proc_spawn(argv, -1, fd);
	if (fd >= 0)
		close(fd);
	return w->pid < 0 ? -errno : 0;
}

/*
 * Start-up (loading and verifying BPF programs) costs seconds of CPU; the
 * steady state begins when a second passes with under 2% of a core used.
 */
static void warm_up(struct watcher *w, int n, double max_s)
{
	double t0 = now_s(), last[2] = { -1, -1 };

	while (now_s() - t0 < max_s) {
		bool calm = true;

		for (int k = 0; k < n; k++) {
			double cpu = w[k].pid > 0 ? proc_cpu_s(w[k].pid) : -1;

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
static void measure_slices(struct watcher *w, int i, double window)
{
	double prev[2] = { w[0].cpu0, w[1].cpu0 }, t;

	for (t = 0; t + SLICE_S <= window + 1e-9; t += SLICE_S) {
		usleep(SLICE_S * 1e6);
		for (int k = 0; k < 2; k++) {
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
	first_line(w->log, line, sizeof(line));
	snprintf(w->miss[i], sizeof(w->miss[i]), "%s exited (status %d): %s",
		 w->name, WIFEXITED(st) ? WEXITSTATUS(st) : -1, line);
	w->pid = 0;
	return false;
}

int bench_daemon(const struct bench_cfg *c, json_object *out)
{
	static const char *const cols[] = {
		"program", "test VMs", "VMs on host", "CPU % of one core",
		"per 2 s median [min..max]", "RSS MiB", NULL,
	};
	char conf[600], state[600], sock[600];
	FILE *cf;
	/* Its own config, state and socket: nothing of a system daemon is touched. */
	const char *const policyd_args[] = { "-c", conf, "-s", state, "-S", sock, NULL };
	struct watcher w[2] = {
		{ .name = "kvmmt-top", .args = top_args },
		{ .name = "kvmmt-policyd", .args = policyd_args },
	};
	double warm = 30, window = c->window_s;
	int last = c->nvm_counts - 1;
	int seen[NCOUNTS];
	json_object *rows = json_object_new_array();
	char ready[600], why[1024];
	struct table t;

	table_init(&t, "Benchmark 4: steady-state CPU and RSS of kvmmt-top and kvmmt-policyd",
		   cols);
	snprintf(ready, sizeof(ready), "%s/testvmm.ready", c->tmp);
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
		pid_t vmm = vmm_start_hold(c, &l, 3600, ready);

		why[0] = 0;
		if (vmm == -ENOENT)
			snprintf(why, sizeof(why),
				 "missing component: tools/testvmm (kvmmt-testvmm not built)");
		else if (vmm < 0 || !file_wait_for(ready, "\"vms\"", 60))
			snprintf(why, sizeof(why), "kvmmt-testvmm --vms %d did not get ready",
				 c->vm_counts[i]);
		for (int k = 0; k < 2; k++) {
			if (why[0])
				snprintf(w[k].miss[i], sizeof(w[k].miss[i]), "%s", why);
			else
				watcher_start(c, &w[k], i);
		}
		if (!why[0]) {
			warm_up(w, 2, warm);
			for (int k = 0; k < 2; k++)
				if (w[k].pid > 0 && watcher_alive(&w[k], i))
					w[k].cpu0 = proc_cpu_s(w[k].pid);
			measure_slices(w, i, window);
			for (int k = 0; k < 2; k++) {
				if (w[k].pid <= 0 || !watcher_alive(&w[k], i))
					continue;
				w[k].pct[i] = (proc_cpu_s(w[k].pid) - w[k].cpu0) / window * 100;
				w[k].rss_mib[i] = proc_rss_kib(w[k].pid) / 1024.0;
				w[k].ok[i] = w[k].cpu0 >= 0;
			}
			seen[i] = host_vms();
		}
		for (int k = 0; k < 2; k++)
			if (w[k].pid > 0) {
				proc_stop(w[k].pid, SIGTERM, 5, NULL);
				w[k].pid = 0;
			}
		if (vmm > 0)
			proc_stop(vmm, SIGTERM, 10, NULL);
	}

	for (int k = 0; k < 2; k++) {
		bool met = true;

		for (int i = 0; i < c->nvm_counts; i++) {
			int row = table_row(&t);
			json_object *o = json_object_new_object();

			table_set(&t, row, 0, "%s", w[k].name);
			table_set(&t, row, 1, "%d", c->vm_counts[i]);
			json_object_object_add(o, "program", json_object_new_string(w[k].name));
			json_object_object_add(o, "vms", json_object_new_int(c->vm_counts[i]));
			if (!w[k].ok[i]) {
				table_missing(&t, row, 3, w[k].miss[i]);
				json_object_object_add(o, "missing",
						       json_object_new_string(w[k].miss[i]));
			} else {
				table_set(&t, row, 2, "%d", seen[i]);
				table_set(&t, row, 3, "%.2f", w[k].pct[i]);
				table_set_samples(&t, row, 4, "%.2f", &w[k].slice[i], 1);
				table_set(&t, row, 5, "%.1f", w[k].rss_mib[i]);
				json_object_object_add(o, "cpu_pct_slices",
						       samples_json(&w[k].slice[i]));
				json_object_object_add(o, "host_vms", json_object_new_int(seen[i]));
				json_object_object_add(o, "cpu_pct", json_object_new_double(w[k].pct[i]));
				json_object_object_add(o, "rss_mib",
						       json_object_new_double(w[k].rss_mib[i]));
				if (i == last)
					met = w[k].pct[i] < 1 && w[k].rss_mib[i] < 50;
			}
			json_object_array_add(rows, o);
		}
		if (!w[k].ok[last]) {
			table_note(&t, "target %s < 1%% CPU and < 50 MiB at 50 VMs: not measured",
				   w[k].name);
			continue;
		}
		table_note(&t, "target %s < 1%% CPU and < 50 MiB at 50 VMs: %s"
			   " at %d VMs (%.2f%%, %.1f MiB)", w[k].name,
			   c->vm_counts[last] >= 50 ? (met ? "MET" : "MISSED") :
			   "not judged", c->vm_counts[last],
			   w[k].pct[last], w[k].rss_mib[last]);
		if (c->vm_counts[last] >= 50)
			json_object_object_add(out, k ? "target_policyd_met" : "target_top_met",
					       json_object_new_boolean(met));
	}
	table_note(&t, "CPU: utime+stime over a %.0f s window once start-up is over (a"
		   " second under 2%% of a core, at most %.0f s), and per %d s slice (clock"
		   " ticks: %.1f%% resolution); RSS (VmRSS) at its end", window, warm,
		   SLICE_S, 100.0 / sysconf(_SC_CLK_TCK) / SLICE_S);
	table_note(&t, "kvmmt-top %s; kvmmt-policyd %s; test VMs: kvmmt-testvmm --slots 2"
		   " --pages 256 --hold; VMs on host counts every kvm-vm file open (other"
		   " users' VMs are watched too)", "-b -d 1",
		   "(defaults: 5 s scan interval, enforcement on) with an empty config");
	json_object_object_add(out, "rows", rows);
	if (!c->json)
		table_print(&t, stdout);
	table_free(&t);
	return 0;
}

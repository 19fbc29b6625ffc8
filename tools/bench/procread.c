// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * What the VM registry reads of each VMM process in /proc, old way and new,
 * side by side on live processes: smaps (device mappings; the kernel walks
 * every page table) against the /proc/PID/maps fingerprint that now decides
 * whether smaps is read, and /proc/PID/stat parsed per VM against one poll()
 * of every VM's pidfd. The processes are children holding touched
 * anonymous memory, as a VMM holds guest RAM; no /dev/kvm is needed.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "bench.h"
#include "hostmap.h"
#include "procinfo.h"

#define PR_PROCS	50
#define PR_MIB		64	/* touched memory per process */

/* A child holding @mib MiB of touched memory until killed; its pid. */
static pid_t holder(int mib, int ready)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	size_t len = (size_t)mib << 20;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p != MAP_FAILED)
		for (size_t i = 0; i < len; i += 4096)
			p[i] = 1;
	if (write(ready, "x", 1) != 1)
		_exit(1);
	pause();
	_exit(0);
}

int procread_costs(const struct bench_cfg *c, struct procread *r, char *why, size_t len)
{
	pid_t pids[PR_PROCS];
	struct pollfd pf[PR_PROCS];
	int n = 0, fds[2], err = 0;
	char x;

	memset(r, 0, sizeof(*r));
	r->procs = PR_PROCS;
	r->mib = PR_MIB;
	if (pipe(fds))
		return snprintf(why, len, "pipe: %s", strerror(errno)), -errno;
	for (; n < PR_PROCS; n++) {
		pids[n] = holder(PR_MIB, fds[1]);
		if (pids[n] < 0 || read(fds[0], &x, 1) != 1) {
			err = -EAGAIN;
			snprintf(why, len, "cannot start process %d of %d", n + 1, PR_PROCS);
			break;
		}
		pf[n] = (struct pollfd){ .fd = syscall(SYS_pidfd_open, pids[n], 0), .events = POLLIN };
	}
	for (int round = 0; !err && round < c->runs; round++) {
		struct kvmmt_hostmap m = { 0 };
		__u64 sum, st;
		double t0;

		t0 = thread_cpu_s();
		for (int i = 0; i < n; i++)
			kvmmt_hostmap_read_smaps(&m, "/proc", pids[i], NULL);
		samples_add(&r->smaps_us, (thread_cpu_s() - t0) * 1e6 / n);
		kvmmt_hostmap_free(&m);
		t0 = thread_cpu_s();
		for (int i = 0; i < n; i++)
			kvmmt_hostmap_layout("/proc", pids[i], &sum, NULL);
		samples_add(&r->layout_us, (thread_cpu_s() - t0) * 1e6 / n);
		t0 = thread_cpu_s();
		for (int i = 0; i < n; i++)
			kvmmt_proc_start_time("/proc", pids[i], &st);
		samples_add(&r->stat_us, (thread_cpu_s() - t0) * 1e6 / n);
		t0 = thread_cpu_s();
		poll(pf, n, 0);
		samples_add(&r->poll_us, (thread_cpu_s() - t0) * 1e6 / n);
	}
	for (int i = 0; i < n; i++) {
		kill(pids[i], SIGKILL);
		waitpid(pids[i], NULL, 0);
		if (pf[i].fd >= 0)
			close(pf[i].fd);
	}
	close(fds[0]);
	close(fds[1]);
	return err;
}

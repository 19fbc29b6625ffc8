// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ftrace recording of the kvmmmu events, the way trace-cmd records them,
 * in a tracefs instance of its own so other users of the top-level buffer
 * are left alone. trace-cmd record itself refuses to start on kernels that
 * will not let it write /proc/sys/kernel/ftrace_enabled; trace-cmd extract
 * then turns the instance buffer into an ordinary trace.dat.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "bench.h"

#define TRACEFS		"/sys/kernel/tracing"

/* kvmmt-bench-PID, so two runs at once do not share a buffer. */
static const char *instance(void)
{
	static char name[32];

	if (!name[0])
		snprintf(name, sizeof(name), "kvmmt-bench-%d", getpid());
	return name;
}

void ftrace_remove_async(void)
{
	static char dir[128];

	/* Built before any signal can arrive: ftrace_start() calls instance(). */
	if (!dir[0])
		snprintf(dir, sizeof(dir), TRACEFS "/instances/%s", instance());
	rmdir(dir);
}

/* Path of @file inside the instance, in a static buffer. */
static const char *ipath(const char *file)
{
	static char p[256];

	snprintf(p, sizeof(p), TRACEFS "/instances/%s%s%s", instance(),
		 file[0] ? "/" : "", file);
	return p;
}

/* The tracepoints kvmmt's data path attaches to. */
const char *const bench_events[] = {
	"kvm_mmu_set_spte",
	"kvm_mmu_spte_requested",
	"kvm_tdp_mmu_spte_changed",
	"kvm_mmu_get_page",
	"kvm_mmu_prepare_zap_page",
	"fast_page_fault",
	"kvm_mmu_sync_page",
	"kvm_mmu_unsync_page",
	"kvm_mmu_split_huge_page",
	"kvm_mmu_zap_all_fast",
	NULL,
};

static int put(const char *path, const char *val)
{
	FILE *f = fopen(path, "w");
	int err = 0;

	if (!f)
		return -errno;
	if (fputs(val, f) < 0)
		err = -EIO;
	if (fclose(f))
		err = -errno;
	return err;
}

static int enable(int on)
{
	char p[256];
	int err = 0;

	for (int i = 0; bench_events[i]; i++) {
		snprintf(p, sizeof(p), "events/kvmmmu/%s/enable", bench_events[i]);
		err = put(ipath(p), on ? "1" : "0") ?: err;
	}
	return err;
}

void ftrace_remove(void)
{
	enable(0);
	rmdir(ipath(""));
}

int ftrace_start(const struct bench_cfg *c, double expect_installs, char *why,
		 size_t len)
{
	char kb[32];
	double need;
	int err;

	(void)c;
	if (access(TRACEFS "/instances", W_OK)) {
		snprintf(why, len, "missing: tracefs at " TRACEFS
			 " (mount -t tracefs nodev " TRACEFS ")");
		return -ENOENT;
	}
	ftrace_remove();
	if (mkdir(ipath(""), 0755) && errno != EEXIST) {
		err = -errno;
		snprintf(why, len, "cannot create tracefs instance %s: %s", ipath(""),
			 strerror(errno));
		return err;
	}
	/*
	 * An install brings up to five events of ~56 bytes here and the vCPUs
	 * may all run on one CPU: size each per-CPU buffer for the whole run.
	 */
	need = expect_installs * 5 * 64 / 1024 * 1.5;
	if (need < 4096)
		need = 4096;
	if (need > 1 << 20)
		need = 1 << 20;
	snprintf(kb, sizeof(kb), "%.0f", need);
	err = put(ipath("buffer_size_kb"), kb) ?: enable(1) ?:
	      put(ipath("tracing_on"), "1");
	if (err) {
		snprintf(why, len, "cannot enable kvmmmu events in %s: %s", ipath(""),
			 strerror(-err));
		ftrace_remove();
	}
	return err;
}

int ftrace_stop(struct ftrace_count *fc)
{
	char p[128], line[128];
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);

	enable(0);
	memset(fc, 0, sizeof(*fc));
	for (long cpu = 0; cpu < ncpu; cpu++) {
		FILE *f;
		double v;

		snprintf(p, sizeof(p), "per_cpu/cpu%ld/stats", cpu);
		f = fopen(ipath(p), "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, "entries: %lf", &v) == 1)
				fc->entries += v;
			else if (sscanf(line, "overrun: %lf", &v) == 1)
				fc->overrun += v;
		}
		fclose(f);
	}
	return 0;
}

int ftrace_extract(const char *out, struct proc_result *r, char *why, size_t len)
{
	char *argv[] = { "trace-cmd", "extract", "-B", (char *)instance(), "-o",
			 (char *)out, NULL };
	const char *m = tool_missing("trace-cmd");
	char *msg = NULL;
	int err;

	if (m) {
		snprintf(why, len, "%s", m);
		return -ENOENT;
	}
	unlink(out);
	err = proc_run_err(argv, &msg, r);
	if (err || !WIFEXITED(r->status) || WEXITSTATUS(r->status) ||
	    file_size(out) <= 0) {
		/* Its last line says why ("error in size of file '/proc/kallsyms'"). */
		char *last = msg ? msg + strlen(msg) : NULL;

		while (last && last > msg && (last[-1] == '\n' || last[-1] == ' '))
			*--last = 0;
		while (last && last > msg && last[-1] != '\n')
			last--;
		snprintf(why, len, "trace-cmd extract -B %s failed: %s", instance(),
			 last && *last ? last : "no message");
		free(msg);
		return err ?: -EIO;
	}
	free(msg);
	return 0;
}

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Statistics, tables and process control shared by the benchmarks. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "bench.h"

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

double thread_cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void vlog(const struct bench_cfg *c, const char *fmt, ...)
{
	va_list ap;

	if (!c->verbose)
		return;
	va_start(ap, fmt);
	fputs("kvmmt-bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void samples_add(struct samples *s, double v)
{
	if (s->n < BENCH_MAX_RUNS)
		s->v[s->n++] = v;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double samples_median(const struct samples *s)
{
	double v[BENCH_MAX_RUNS];

	if (!s->n)
		return 0;
	memcpy(v, s->v, s->n * sizeof(v[0]));
	qsort(v, s->n, sizeof(v[0]), cmp_double);
	return s->n % 2 ? v[s->n / 2] : (v[s->n / 2 - 1] + v[s->n / 2]) / 2;
}

double samples_min(const struct samples *s)
{
	double m = s->n ? s->v[0] : 0;

	for (int i = 1; i < s->n; i++)
		if (s->v[i] < m)
			m = s->v[i];
	return m;
}

double samples_max(const struct samples *s)
{
	double m = s->n ? s->v[0] : 0;

	for (int i = 1; i < s->n; i++)
		if (s->v[i] > m)
			m = s->v[i];
	return m;
}

json_object *samples_json(const struct samples *s)
{
	json_object *o = json_object_new_object();
	json_object *all = json_object_new_array();

	json_object_object_add(o, "median", json_object_new_double(samples_median(s)));
	json_object_object_add(o, "min", json_object_new_double(samples_min(s)));
	json_object_object_add(o, "max", json_object_new_double(samples_max(s)));
	for (int i = 0; i < s->n; i++)
		json_object_array_add(all, json_object_new_double(s->v[i]));
	json_object_object_add(o, "runs", all);
	return o;
}

void table_init(struct table *t, const char *title, const char *const *cols)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->title, sizeof(t->title), "%s", title);
	for (; cols[t->ncols] && t->ncols < BENCH_MAX_COLS; t->ncols++)
		t->head[t->ncols] = strdup(cols[t->ncols]);
}

int table_row(struct table *t)
{
	if (t->nrows == BENCH_MAX_ROWS)
		return BENCH_MAX_ROWS - 1;
	return t->nrows++;
}

static char *vfmt(const char *fmt, va_list ap)
{
	char *s;

	if (vasprintf(&s, fmt, ap) < 0)
		return NULL;
	return s;
}

void table_set(struct table *t, int row, int col, const char *fmt, ...)
{
	va_list ap;

	if (col >= t->ncols)
		return;
	va_start(ap, fmt);
	free(t->cell[row][col]);
	t->cell[row][col] = vfmt(fmt, ap);
	va_end(ap);
}

void table_set_samples(struct table *t, int row, int col, const char *numfmt,
		       const struct samples *s, double scale)
{
	char f[64];

	if (!s->n) {
		table_set(t, row, col, "-");
		return;
	}
	if (s->n == 1) {
		table_set(t, row, col, numfmt, samples_median(s) * scale);
		return;
	}
	snprintf(f, sizeof(f), "%s [%s..%s]", numfmt, numfmt, numfmt);
	table_set(t, row, col, f, samples_median(s) * scale,
		  samples_min(s) * scale, samples_max(s) * scale);
}

void table_note(struct table *t, const char *fmt, ...)
{
	va_list ap;

	if (t->nnotes == BENCH_MAX_ROWS)
		return;
	va_start(ap, fmt);
	t->notes[t->nnotes++] = vfmt(fmt, ap);
	va_end(ap);
}

void table_missing(struct table *t, int row, int col, const char *why)
{
	int i;

	for (i = 0; i < t->nmissing; i++)
		if (!strcmp(t->missing[i], why))
			break;
	if (i == t->nmissing && t->nmissing < BENCH_MAX_ROWS)
		t->missing[t->nmissing++] = strdup(why);
	table_set(t, row, col, "not measured [%d]", i + 1);
}

void table_print(const struct table *t, FILE *f)
{
	int w[BENCH_MAX_COLS] = { 0 };

	for (int c = 0; c < t->ncols; c++) {
		w[c] = strlen(t->head[c]);
		for (int r = 0; r < t->nrows; r++) {
			int l = t->cell[r][c] ? (int)strlen(t->cell[r][c]) : 1;

			if (l > w[c])
				w[c] = l;
		}
	}
	fprintf(f, "\n%s\n", t->title);
	for (int c = 0; c < t->ncols; c++)
		fprintf(f, "%s%-*s", c ? " | " : "", w[c], t->head[c]);
	fputc('\n', f);
	for (int c = 0; c < t->ncols; c++) {
		fprintf(f, "%s", c ? "-|-" : "");
		for (int i = 0; i < w[c]; i++)
			fputc('-', f);
	}
	fputc('\n', f);
	for (int r = 0; r < t->nrows; r++) {
		for (int c = 0; c < t->ncols; c++)
			fprintf(f, "%s%-*s", c ? " | " : "", w[c],
				t->cell[r][c] ? t->cell[r][c] : "-");
		fputc('\n', f);
	}
	for (int i = 0; i < t->nmissing; i++)
		fprintf(f, "  [%d] %s\n", i + 1, t->missing[i]);
	for (int i = 0; i < t->nnotes; i++)
		fprintf(f, "  %s\n", t->notes[i]);
	fflush(f);
}

void table_free(struct table *t)
{
	for (int c = 0; c < BENCH_MAX_COLS; c++) {
		free(t->head[c]);
		for (int r = 0; r < BENCH_MAX_ROWS; r++)
			free(t->cell[r][c]);
	}
	for (int i = 0; i < t->nnotes; i++)
		free(t->notes[i]);
	for (int i = 0; i < t->nmissing; i++)
		free(t->missing[i]);
	memset(t, 0, sizeof(*t));
}

/*
 * Children run in process groups of their own (so a stop signal reaches
 * whatever they fork); remember them so an interrupted bench stops them.
 */
static volatile pid_t live[16];

static void live_set(pid_t old, pid_t new)
{
	for (int i = 0; i < 16; i++)
		if (live[i] == old) {
			live[i] = new;
			return;
		}
}

static void on_stop_signal(int sig)
{
	for (int i = 0; i < 16; i++)
		if (live[i] > 0)
			kill(-live[i], SIGTERM);
	ftrace_remove_async();
	signal(sig, SIG_DFL);
	raise(sig);
}

void proc_stop_on_signals(void)
{
	signal(SIGINT, on_stop_signal);
	signal(SIGTERM, on_stop_signal);
	signal(SIGHUP, on_stop_signal);
}

pid_t proc_spawn(char *const argv[], int out_fd, int err_fd)
{
	pid_t pid = fork();

	if (pid > 0)
		live_set(0, pid);
	if (pid)
		return pid;
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	int null = open("/dev/null", O_RDWR);

	dup2(null, 0);
	dup2(out_fd >= 0 ? out_fd : null, 1);
	dup2(err_fd >= 0 ? err_fd : null, 2);
	/* Own process group, so a stop signal reaches helpers it forks. */
	setpgid(0, 0);
	execvp(argv[0], argv);
	dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

int proc_wait(pid_t pid, struct proc_result *r, double started)
{
	struct rusage ru;
	int st;

	while (wait4(pid, &st, 0, &ru) < 0)
		if (errno != EINTR)
			return -errno;
	live_set(pid, 0);
	if (r) {
		r->status = st;
		r->wall_s = now_s() - started;
		r->cpu_s = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
			   ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
		r->maxrss_kib = ru.ru_maxrss;
	}
	return 0;
}

static int run_collect(char *const argv[], char **out, bool with_err,
		       struct proc_result *r)
{
	int p[2];
	size_t len = 0, cap = 4096;
	char *buf = NULL;
	double t0 = now_s();
	pid_t pid;
	ssize_t n;
	int err;

	if (out) {
		if (pipe2(p, O_CLOEXEC))
			return -errno;
		buf = malloc(cap);
		if (!buf)
			return -ENOMEM;
	}
	pid = proc_spawn(argv, out ? p[1] : -1, out && with_err ? p[1] : -1);
	if (pid < 0) {
		err = -errno;
		free(buf);
		return err;
	}
	if (out) {
		close(p[1]);
		while ((n = read(p[0], buf + len, cap - len - 1)) > 0 ||
		       (n < 0 && errno == EINTR)) {
			if (n < 0)
				continue;
			len += n;
			if (cap - len < 1024) {
				char *nb = realloc(buf, cap * 2);

				if (!nb)
					break;
				buf = nb;
				cap *= 2;
			}
		}
		close(p[0]);
		buf[len] = 0;
		*out = buf;
	}
	return proc_wait(pid, r, t0);
}

int proc_run(char *const argv[], char **out, struct proc_result *r)
{
	return run_collect(argv, out, false, r);
}

int proc_run_err(char *const argv[], char **out, struct proc_result *r)
{
	return run_collect(argv, out, true, r);
}

int proc_stop(pid_t pid, int sig, double timeout_s, struct proc_result *r)
{
	double t0 = now_s();
	int st;

	kill(pid, sig);
	while (now_s() - t0 < timeout_s) {
		pid_t w = waitpid(pid, &st, WNOHANG);

		if (w == pid) {
			live_set(pid, 0);
			if (r) {
				memset(r, 0, sizeof(*r));
				r->status = st;
			}
			return 0;
		}
		usleep(20000);
	}
	kill(pid, SIGKILL);
	return proc_wait(pid, r, t0) ?: -ETIMEDOUT;
}

/*
 * Time on CPU of @pid's threads in seconds, from each one's schedstat (the
 * scheduler's own nanoseconds); -1 where the kernel has none.
 */
static double sched_cpu_s(pid_t pid)
{
	char path[300];
	unsigned long long ns, sum = 0;
	struct dirent *de;
	bool any = false;
	FILE *f;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/schedstat", pid, de->d_name);
		f = fopen(path, "r");
		if (f && fscanf(f, "%llu", &ns) == 1) {
			sum += ns;
			any = true;
		}
		if (f)
			fclose(f);
	}
	closedir(d);
	return any ? sum / 1e9 : -1;
}

bool proc_cpu_precise(pid_t pid)
{
	return sched_cpu_s(pid) >= 0;
}

/*
 * CPU time of @pid in seconds: the scheduler's nanoseconds where the kernel
 * keeps them (CONFIG_SCHED_INFO), else utime + stime in clock ticks.
 */
double proc_cpu_s(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut, st;
	double ns = sched_cpu_s(pid);
	FILE *f;

	if (ns >= 0)
		return ns;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	/* comm may hold spaces: fields count from the last ')'. */
	if (!p || !(p = strrchr(buf, ')')))
		return -1;
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
		   &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / sysconf(_SC_CLK_TCK);
}

long proc_rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

bool file_wait_for(const char *path, const char *needle, double timeout_s)
{
	double t0 = now_s();
	char buf[65536];

	while (now_s() - t0 < timeout_s) {
		FILE *f = fopen(path, "r");
		size_t n;

		if (f) {
			n = fread(buf, 1, sizeof(buf) - 1, f);
			fclose(f);
			buf[n] = 0;
			if (strstr(buf, needle))
				return true;
		}
		usleep(20000);
	}
	return false;
}

bool is_exec(const char *path)
{
	return access(path, X_OK) == 0;
}

const char *bin_path(const struct bench_cfg *c, const char *name, char *buf,
		     size_t len)
{
	snprintf(buf, len, "%s/%s", c->bin, name);
	return buf;
}

void strfcat(char *buf, size_t len, const char *fmt, ...)
{
	size_t n = strnlen(buf, len);
	va_list ap;

	if (n + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
}

const char *tool_path(const char *tool, char *buf, size_t len)
{
	const char *path = getenv("PATH");

	while (path && *path) {
		size_t n = strcspn(path, ":");

		snprintf(buf, len, "%.*s/%s", (int)n, path, tool);
		if (is_exec(buf))
			return buf;
		path += n + (path[n] == ':');
	}
	return NULL;
}

const char *tool_missing(const char *tool)
{
	static char why[128];
	char dir[512];

	if (tool_path(tool, dir, sizeof(dir)))
		return NULL;
	snprintf(why, sizeof(why), "missing: %s not on PATH (tools/install-deps test)",
		 tool);
	return why;
}

long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? -1 : st.st_size;
}

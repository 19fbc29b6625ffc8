// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Running the test VMM and reading what it reports it did. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include "bench.h"

#define TESTVMM "kvmmt-testvmm"

static double jpath(json_object *o, const char *a, const char *b, const char *c)
{
	const char *keys[] = { a, b, c };

	for (int i = 0; i < 3 && keys[i]; i++)
		if (!json_object_object_get_ex(o, keys[i], &o))
			return -1;
	return json_object_get_double(o);
}

/* Installs and the span of all rounds, from the VMM's --json report. */
static int vmm_parse(const char *txt, struct vmm_result *r, char *why, size_t len)
{
	json_object *root = json_tokener_parse(txt);

	if (!root) {
		snprintf(why, len, TESTVMM " --json printed no JSON");
		return -EINVAL;
	}
	r->installs = jpath(root, "total", "expected_installs", "total");
	r->touch_s = jpath(root, "total", "elapsed_seconds", NULL);
	json_object_put(root);
	if (r->installs <= 0 || r->touch_s <= 0) {
		snprintf(why, len, TESTVMM " --json lacks total.expected_installs.total"
			 " or total.elapsed_seconds");
		return -EINVAL;
	}
	return 0;
}

static void load_args(const struct bench_load *l, char a[4][24])
{
	snprintf(a[0], 24, "%d", l->vms);
	snprintf(a[1], 24, "%d", l->slots);
	snprintf(a[2], 24, "%d", l->pages);
	snprintf(a[3], 24, "%d", l->repeat);
}

int vmm_run(const struct bench_cfg *c, const struct bench_load *load,
	    char *const wrap[], char *const extra[], struct vmm_result *r,
	    char *why, size_t len)
{
	char path[512], a[4][24], *argv[48], *out = NULL;
	int n = 0, err;

	memset(r, 0, sizeof(*r));
	bin_path(c, TESTVMM, path, sizeof(path));
	if (!is_exec(path)) {
		snprintf(why, len, "missing component: tools/testvmm (%s not built)",
			 path);
		return -ENOENT;
	}
	load_args(load, a);
	for (int i = 0; wrap && wrap[i] && n < 16; i++)
		argv[n++] = wrap[i];
	argv[n++] = path;
	argv[n++] = "--vms";
	argv[n++] = a[0];
	argv[n++] = "--slots";
	argv[n++] = a[1];
	argv[n++] = "--pages";
	argv[n++] = a[2];
	argv[n++] = "--repeat";
	argv[n++] = a[3];
	argv[n++] = "--json";
	for (int i = 0; extra && extra[i] && n < 46; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;

	err = proc_run(argv, &out, &r->proc);
	if (err) {
		snprintf(why, len, "cannot run %s: %s", path, strerror(-err));
		free(out);
		return err;
	}
	if (!WIFEXITED(r->proc.status) || WEXITSTATUS(r->proc.status)) {
		snprintf(why, len, "%s exited with status %d", TESTVMM,
			 WIFEXITED(r->proc.status) ? WEXITSTATUS(r->proc.status) : -1);
		free(out);
		return -EIO;
	}
	r->wall_s = r->proc.wall_s;
	err = vmm_parse(out, r, why, len);
	free(out);
	return err;
}

pid_t vmm_start_hold(const struct bench_cfg *c, const struct bench_load *load,
		     int hold_s, const char *ready_file)
{
	char path[512], a[4][24], hold[24], *argv[24];
	int n = 0;

	bin_path(c, TESTVMM, path, sizeof(path));
	if (!is_exec(path))
		return -ENOENT;
	load_args(load, a);
	snprintf(hold, sizeof(hold), "%d", hold_s);
	argv[n++] = path;
	argv[n++] = "--vms";
	argv[n++] = a[0];
	argv[n++] = "--slots";
	argv[n++] = a[1];
	argv[n++] = "--pages";
	argv[n++] = a[2];
	argv[n++] = "--repeat";
	argv[n++] = a[3];
	argv[n++] = "--hold";
	argv[n++] = hold;
	argv[n++] = "--ready-file";
	argv[n++] = (char *)ready_file;
	argv[n] = NULL;
	unlink(ready_file);
	return proc_spawn(argv, -1, -1);
}

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

/* The command line of one test-VMM run and the strings it points into. */
struct vmm_cmd {
	char path[512];
	char num[4][24];
	char *argv[48];
};

static int vmm_cmd(const struct bench_cfg *c, const struct bench_load *l,
		   char *const wrap[], char *const extra[], struct vmm_cmd *v)
{
	const int nums[4] = { l->vms, l->slots, l->pages, l->repeat };
	static const char *const opt[4] = { "--vms", "--slots", "--pages", "--repeat" };
	int n = 0;

	bin_path(c, TESTVMM, v->path, sizeof(v->path));
	if (!is_exec(v->path))
		return -ENOENT;
	for (int i = 0; wrap && wrap[i] && n < 16; i++)
		v->argv[n++] = wrap[i];
	v->argv[n++] = v->path;
	for (int i = 0; i < 4; i++) {
		snprintf(v->num[i], sizeof(v->num[i]), "%d", nums[i]);
		v->argv[n++] = (char *)opt[i];
		v->argv[n++] = v->num[i];
	}
	for (int i = 0; extra && extra[i] && n < 46; i++)
		v->argv[n++] = extra[i];
	v->argv[n] = NULL;
	return 0;
}

int vmm_no_kvm(char *why, size_t len)
{
	if (!access("/dev/kvm", F_OK))
		return 0;
	snprintf(why, len, "missing: /dev/kvm (no KVM on this host; tools/stock-kernel-test "
		 "measures the BPF rows in a nested guest)");
	return -ENODEV;
}

int vmm_run(const struct bench_cfg *c, const struct bench_load *load,
	    char *const wrap[], struct vmm_result *r, char *why, size_t len)
{
	char *json[] = { "--json", NULL }, *out = NULL;
	struct vmm_cmd v;
	int err;

	memset(r, 0, sizeof(*r));
	if ((err = vmm_no_kvm(why, len)))
		return err;
	if (vmm_cmd(c, load, wrap, json, &v)) {
		snprintf(why, len, "missing component: tools/testvmm (%s not built)",
			 v.path);
		return -ENOENT;
	}
	err = proc_run(v.argv, &out, &r->proc);
	if (err) {
		snprintf(why, len, "cannot run %s: %s", v.path, strerror(-err));
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

pid_t vmm_start_hold(const struct bench_cfg *c, const struct bench_load *load, int err_fd,
		     int hold_s, const char *ready_file)
{
	char hold[24];
	char *extra[] = { "--hold", hold, "--ready-file", (char *)ready_file, NULL };
	struct vmm_cmd v;

	snprintf(hold, sizeof(hold), "%d", hold_s);
	if (access("/dev/kvm", F_OK))
		return -ENODEV;
	if (vmm_cmd(c, load, NULL, extra, &v))
		return -ENOENT;
	unlink(ready_file);
	return proc_spawn(v.argv, -1, err_fd);
}

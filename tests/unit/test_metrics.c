// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/* Prometheus text exposition of kvmmt-policyd's metrics, and atomic writes. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "file.h"
#include "metrics.h"

static char *render(const struct kvmmt_metrics *m)
{
	struct kvmmt_err e = { 0 };
	char *text = NULL;
	size_t len = 0;

	cr_assert_eq(kvmmt_metrics_render(m, &text, &len, &e), 0, "%s", e.msg);
	cr_assert_eq(strlen(text), len);
	return text;
}

Test(metrics, per_vm_series)
{
	struct kvmmt_metrics_vm v[2] = {
		{ .pid = 10, .name = "vmA", .risk = KVMMT_RISK_LATENT, .flagged = true,
		  .blocking = true, .qmp = true, .noncoherent = 1, .blocked = 3, .allowed = 0 },
		{ .pid = 11, .name = "web \"1\"\\x\n", .risk = KVMMT_RISK_NONE,
		  .noncoherent = -1, .allowed = 2 },
	};
	struct kvmmt_metrics m = { .vms = v, .nr_vms = 2, .datapath = "tp_btf",
				   .blocked_total = 3, .allowed_total = 2, .drops = 7 };
	char *t;

	v[0].installs_by_mt[KVMMT_MT_WB] = 301;
	v[0].installs_by_mt[KVMMT_MT_WC] = 2;
	t = render(&m);
	cr_assert(strstr(t, "# TYPE kvmmt_vm_risk gauge\n"));
	cr_assert(strstr(t, "kvmmt_vm_risk{vm=\"vmA\",pid=\"10\",class=\"latent\"} 1\n"));
	cr_assert(strstr(t, "kvmmt_vm_risk{vm=\"vmA\",pid=\"10\",class=\"none\"} 0\n"));
	cr_assert(strstr(t, "kvmmt_vm_flagged{vm=\"vmA\",pid=\"10\"} 1\n"));
	cr_assert(strstr(t, "kvmmt_vm_migrations_blocked_total{vm=\"vmA\",pid=\"10\"} 3\n"));
	cr_assert(strstr(t, "kvmmt_vm_noncoherent_dma{vm=\"vmA\",pid=\"10\"} 1\n"));
	cr_assert(strstr(t, "kvmmt_vm_installs_total{vm=\"vmA\",pid=\"10\",type=\"WB\"} 301\n"));
	cr_assert(strstr(t, "kvmmt_vm_installs_total{vm=\"vmA\",pid=\"10\",type=\"WC\"} 2\n"));
	/* Label values escape quote, backslash and newline. */
	cr_assert(strstr(t, "kvmmt_vm_migrations_allowed_total{vm=\"web \\\"1\\\"\\\\x\\n\",pid=\"11\"} 2\n"),
		  "%s", t);
	/* Unknown noncoherent counts are left out, not reported as 0. */
	cr_assert_null(strstr(t, "kvmmt_vm_noncoherent_dma{vm=\"web"));
	cr_assert(strstr(t, "kvmmt_datapath_info{path=\"tp_btf\"} 1\n"));
	cr_assert(strstr(t, "kvmmt_datapath_drops_total 7\n"));
	cr_assert(strstr(t, "kvmmt_migrations_allowed_total 2\n"));
	/* Every sample line belongs to a declared family. */
	char *all = strdup(t);
	for (char *line = strtok(t, "\n"); line; line = strtok(NULL, "\n")) {
		char family[128], decl[160];

		if (line[0] == '#')
			continue;
		sscanf(line, "%127[a-z_]", family);
		snprintf(decl, sizeof(decl), "# TYPE %s ", family);
		cr_assert(strstr(all, decl), "undeclared family %s", family);
	}
	free(all);
	free(t);
}

Test(metrics, atomic_write_replaces_the_file)
{
	char dir[] = "/tmp/kvmmt-metrics-XXXXXX", path[128], buf[64] = { 0 };
	struct kvmmt_err e = { 0 };
	struct stat st;
	FILE *f;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/kvmmt.prom", dir);
	cr_assert_eq(kvmmt_write_atomic(path, "old\n", 4, 0644, &e), 0, "%s", e.msg);
	cr_assert_eq(kvmmt_write_atomic(path, "new\n", 4, 0644, &e), 0, "%s", e.msg);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	cr_assert_eq(fread(buf, 1, sizeof(buf) - 1, f), 4);
	fclose(f);
	cr_assert_str_eq(buf, "new\n");
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0644);
	unlink(path);
	cr_assert_eq(rmdir(dir), 0, "temporary file left in %s", dir);
	/* A missing directory is an error with the path in it. */
	cr_assert_lt(kvmmt_write_atomic("/nonexistent/kvmmt.prom", "x", 1, 0644, &e), 0);
	cr_assert(strstr(e.msg, "/nonexistent/kvmmt.prom"), "%s", e.msg);
}

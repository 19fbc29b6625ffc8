// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * Text of the header lines and of each cell, shared by the terminal UI and
 * the plain-text batch mode so both always say the same thing.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "top.h"

void top_fmt_size(char *buf, size_t len, __u64 bytes)
{
	static const char units[] = "BKMGTP";
	double v = bytes;
	int u = 0;

	while (v >= 1024 && u < (int)sizeof(units) - 2) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%lluB", (unsigned long long)bytes);
	else
		snprintf(buf, len, v < 10 ? "%.1f%c" : "%.0f%c", v, units[u]);
}

/* Counts and rates in at most 7 columns: 12, 3.5, 1234567, 123.4M, 5.6G. */
void top_fmt_count(char *buf, size_t len, double v)
{
	if (v == 0)
		snprintf(buf, len, "0");
	else if (v < 10 && v != (long long)v)
		snprintf(buf, len, "%.1f", v);
	else if (v < 1e7)
		snprintf(buf, len, "%.0f", v);
	else if (v < 1e9)
		snprintf(buf, len, "%.1fM", v / 1e6);
	else
		snprintf(buf, len, "%.1fG", v / 1e9);
}

void top_fmt_title(const struct top_model *m, enum top_col col, char *buf,
		   size_t len)
{
	bool rate = !m->opts->totals && (top_cols[col].is_mt || col == COL_ZAPS);

	snprintf(buf, len, "%s%s", top_cols[col].title, rate ? "/s" : "");
}

/* "blocked", "allowed", or either with QEMU's status while one runs. */
void top_fmt_migration(const struct top_migration *mg, char *buf, size_t len)
{
	if (!mg) {
		snprintf(buf, len, "-");
		return;
	}
	snprintf(buf, len, "%s%s%s", mg->blocked ? "blocked" : "allowed",
		 strcmp(mg->status, "none") ? " " : "",
		 strcmp(mg->status, "none") ? mg->status : "");
}

void top_fmt_cell(const struct top_model *m, const struct top_vm *v,
		  enum top_col col, char *buf, size_t len)
{
	const struct kvmmt_vm_row *r = v->row;
	const struct top_colinfo *ci = &top_cols[col];
	bool totals = m->opts->totals;

	if (ci->is_mt) {
		top_fmt_count(buf, len, totals ? (double)r->installs[ci->mt] :
						 r->install_rate[ci->mt]);
		return;
	}
	switch (col) {
	case COL_PID:
		snprintf(buf, len, "%d", (int)r->pid);
		break;
	case COL_NAME:
		snprintf(buf, len, "%s", r->name);
		break;
	case COL_VCPUS:
		snprintf(buf, len, "%u", r->vcpus);
		break;
	case COL_MEM:
		top_fmt_size(buf, len, r->mem_bytes);
		break;
	case COL_NCDMA:
		if (r->noncoherent_dma < 0)
			snprintf(buf, len, "-");
		else
			snprintf(buf, len, "%d", r->noncoherent_dma);
		break;
	case COL_GTYPES:
		snprintf(buf, len, "%s", kvmmt_gt_name(v->gt));
		break;
	case COL_ZAPS:
		top_fmt_count(buf, len, totals ? (double)r->zaps : r->zap_rate);
		break;
	case COL_RISK:
		snprintf(buf, len, "%s", v->risk ? v->risk : "-");
		break;
	case COL_MIGR:
		top_fmt_migration(v->mig, buf, len);
		break;
	default:
		snprintf(buf, len, "?");
	}
}

void top_append_cell(char *line, size_t len, enum top_col col, const char *text)
{
	int w = top_cols[col].width;
	size_t off = strlen(line);

	if (off >= len)
		return;
	/* names are cut to their column; everything else is never truncated */
	if (w < 0)
		snprintf(line + off, len - off, "%s%-*.*s", off ? " " : "", -w, -w, text);
	else
		snprintf(line + off, len - off, "%s%*s", off ? " " : "", w, text);
}

void top_fmt_banner(const struct top_model *m, int n, char *buf, size_t len)
{
	const struct kvmmt_host *h = &m->host;
	char clock[16];
	struct tm tm;
	time_t t;

	switch (n) {
	case 0:
		t = time(NULL);
		localtime_r(&t, &tm);
		strftime(clock, sizeof(clock), "%H:%M:%S", &tm);
		snprintf(buf, len, "kvmmt-top %s  host %s  kernel %s  KVM backend %s  SPTE format %s (%s)",
			 clock, m->hostname, h->release, h->backend,
			 kvmmt_fmt_name(kvmmt_dp_fmt(m->dp)),
			 h->tdp ? "TDP" : "shadow MMU");
		break;
	case 1:
		snprintf(buf, len, "attach %s: %s", m->attach, m->attach_why);
		break;
	default:
		snprintf(buf, len, "VMs %zu shown of %zu  noncoherent DMA %d  events dropped %llu  kvmmt-policyd %s  %s",
			 m->nr_vms, m->nr_all, m->nc_total,
			 (unsigned long long)m->drops,
			 m->policyd ? "answers" : "not running",
			 m->opts->totals ? "counts since start" : "rates per second");
	}
}

// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * An SVG map of each VM's guest-physical memory: one band per memslot, each
 * band cut into buckets coloured by the memory types installed there.
 * A bucket with more than one type is hatched; a slot flagged for
 * noncoherent DMA is outlined in red; conflicting (aliasing) ranges found by
 * the risk model are marked with red bars above the band.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "report.h"

#define W		1000
#define BAND_X		300
#define BAND_W		680
#define ROW_H		34
#define BAND_H		20

static const char *const colour[KVMMT_MT__MAX] = {
	[KVMMT_MT_WB] = "#43a047", [KVMMT_MT_WT] = "#26a69a", [KVMMT_MT_WP] = "#7e57c2",
	[KVMMT_MT_WC] = "#fb8c00", [KVMMT_MT_UC_MINUS] = "#e53935", [KVMMT_MT_UC] = "#8e0000",
	[KVMMT_MT_NORMAL_NC] = "#fdd835", [KVMMT_MT_DEV_GRE] = "#5c6bc0",
	[KVMMT_MT_DEV_nGRE] = "#3949ab", [KVMMT_MT_DEV_nGnRE] = "#283593",
	[KVMMT_MT_DEV_nGnRnE] = "#1a237e", [KVMMT_MT_INVALID] = "#000000",
};

/* The type a bucket is drawn with: the least cacheable one seen there. */
static const enum kvmmt_mt rank[] = {
	KVMMT_MT_INVALID, KVMMT_MT_UC, KVMMT_MT_DEV_nGnRnE, KVMMT_MT_DEV_nGnRE,
	KVMMT_MT_DEV_nGRE, KVMMT_MT_DEV_GRE, KVMMT_MT_UC_MINUS, KVMMT_MT_WC,
	KVMMT_MT_NORMAL_NC, KVMMT_MT_WT, KVMMT_MT_WP, KVMMT_MT_WB,
};

static void esc(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default:
			fputc((unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f ? *s : '?', f);
		}
	}
}

static void human(char *buf, size_t n, __u64 pages)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = pages * 4.0;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(buf, n, "%.4g %s", v, unit[u]);
}

static const char *bucket_fill(__u16 mask)
{
	for (unsigned int r = 0; r < sizeof(rank) / sizeof(rank[0]) && mask; r++)
		if (mask & (1u << rank[r]))
			return colour[rank[r]];
	return "#e0e0e0";
}

/* Runs of buckets that look the same are drawn as one rectangle. */
static void draw_buckets(FILE *f, const struct rep_slot *s, int y)
{
	/* A slot smaller than the bucket count is drawn one bucket per page. */
	unsigned int nb = s->rec.npages < REPORT_BUCKETS ? s->rec.npages : REPORT_BUCKETS;
	double bw = nb ? (double)BAND_W / nb : BAND_W;
	unsigned int b, run = 0;

	for (b = 1; b <= nb; b++) {
		__u16 m0 = s->mask[(__u64)run * REPORT_BUCKETS / nb], m1;
		bool mixed = m0 & (m0 - 1);

		if (b < nb) {
			m1 = s->mask[(__u64)b * REPORT_BUCKETS / nb];
			if (bucket_fill(m1) == bucket_fill(m0) && !(m1 & (m1 - 1)) == !mixed)
				continue;
		}
		fprintf(f, "<rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" fill=\"%s\"/>\n",
			BAND_X + run * bw, y, (b - run) * bw, BAND_H, bucket_fill(m0));
		if (mixed)
			fprintf(f, "<rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" "
				"fill=\"url(#mixed)\"/>\n", BAND_X + run * bw, y, (b - run) * bw, BAND_H);
		run = b;
	}
}

static void draw_conflicts(FILE *f, const struct rep_vm *v, const struct rep_slot *s, int y)
{
	size_t i, n = kvmmt_policy_nr_ranges(v->reg->model);

	for (i = 0; i < n; i++) {
		const struct kvmmt_gfn_range *g = kvmmt_policy_range(v->reg->model, i);
		__u64 lo, hi, base = s->rec.base_gfn, end = base + s->rec.npages;
		double x0, x1;

		if (!g->conflict || g->end <= base || g->start >= end)
			continue;
		lo = g->start > base ? g->start : base;
		hi = g->end < end ? g->end : end;
		x0 = BAND_X + (double)(lo - base) * BAND_W / s->rec.npages;
		x1 = BAND_X + (double)(hi - base) * BAND_W / s->rec.npages;
		if (x1 - x0 < 2)
			x1 = x0 + 2;
		fprintf(f, "<rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"4\" fill=\"#d50000\">"
			"<title>aliasing: gfn 0x%llx-0x%llx %s in guest, %s on host</title></rect>\n",
			x0, y - 6, x1 - x0, (unsigned long long)g->start,
			(unsigned long long)g->end - 1, kvmmt_mt_name(g->mt), kvmmt_mt_name(g->host_mt));
	}
}

static int draw_vm(FILE *f, const struct rep_vm *v, int y)
{
	struct kvmmt_policy_summary ps;
	unsigned int i, drawn = 0;
	char size[32];

	memset(&ps, 0, sizeof(ps));
	kvmmt_policy_summary(v->reg->model, &ps);
	fprintf(f, "<text x=\"10\" y=\"%d\" class=\"vm\">VM %u (", y + 16, v->tgid);
	esc(f, v->comm[0] ? v->comm : "?");
	fprintf(f, ") - risk: %s, %zu aliasing ranges</text>\n", kvmmt_risk_name(ps.risk),
		ps.nr_conflicts);
	y += 30;
	for (i = 0; i < v->nr_slots; i++) {
		const struct rep_slot *s = &v->slots[i];
		bool flagged = s->rec.flags & KVMMT_MEM_NON_COHERENT_DMA;

		if (!s->known)
			continue;
		human(size, sizeof(size), s->rec.npages);
		fprintf(f, "<text x=\"10\" y=\"%d\">slot %u/%u gfn 0x%llx+%llx (%s)%s</text>\n",
			y + 15, s->rec.as_id, s->rec.id, (unsigned long long)s->rec.base_gfn,
			(unsigned long long)s->rec.npages, size, flagged ? " NC-DMA" : "");
		draw_buckets(f, s, y);
		fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
			"stroke=\"%s\" stroke-width=\"%d\"/>\n", BAND_X, y, BAND_W, BAND_H,
			flagged ? "#d50000" : "#616161", flagged ? 3 : 1);
		draw_conflicts(f, v, s, y);
		y += ROW_H;
		drawn++;
	}
	if (!drawn) {
		fprintf(f, "<text x=\"10\" y=\"%d\">no memslot geometry in the capture's snapshots"
			"</text>\n", y + 15);
		y += ROW_H;
	}
	return y + 10;
}

static int draw_legend(FILE *f, int y)
{
	static const enum kvmmt_mt shown[] = {
		KVMMT_MT_WB, KVMMT_MT_WT, KVMMT_MT_WP, KVMMT_MT_WC, KVMMT_MT_UC_MINUS,
		KVMMT_MT_UC, KVMMT_MT_NORMAL_NC, KVMMT_MT_DEV_nGnRE,
	};
	unsigned int i;
	int x = 10;

	for (i = 0; i < sizeof(shown) / sizeof(shown[0]); i++, x += 95) {
		fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"14\" fill=\"%s\"/>"
			"<text x=\"%d\" y=\"%d\">%s</text>\n", x, y, colour[shown[i]], x + 18,
			y + 12, kvmmt_mt_name(shown[i]));
	}
	y += 22;
	fprintf(f, "<rect x=\"10\" y=\"%d\" width=\"14\" height=\"14\" fill=\"#e0e0e0\"/>"
		"<text x=\"28\" y=\"%d\">no install</text>\n"
		"<rect x=\"105\" y=\"%d\" width=\"14\" height=\"14\" fill=\"#43a047\"/>"
		"<rect x=\"105\" y=\"%d\" width=\"14\" height=\"14\" fill=\"url(#mixed)\"/>"
		"<text x=\"123\" y=\"%d\">several types</text>\n"
		"<rect x=\"230\" y=\"%d\" width=\"14\" height=\"14\" fill=\"none\" stroke=\"#d50000\" "
		"stroke-width=\"3\"/><text x=\"250\" y=\"%d\">noncoherent-DMA slot</text>\n"
		"<rect x=\"410\" y=\"%d\" width=\"14\" height=\"4\" fill=\"#d50000\"/>"
		"<text x=\"430\" y=\"%d\">aliasing range</text>\n",
		y, y + 12, y, y, y + 12, y, y + 12, y + 5, y + 12);
	return y + 30;
}

int rep_write_svg(FILE *out, const struct rep_model *m, const struct rep_filter *filt,
		  const char *title)
{
	char *body = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&body, &len);
	unsigned int i, drawn = 0;
	int y = 40;

	if (!f)
		return -1;
	fprintf(f, "<text x=\"10\" y=\"24\" class=\"title\">kvmmt capture ");
	esc(f, title);
	fprintf(f, ": %s, SPTE format %s</text>\n",
		kvmmt_cap_host_get(&m->host, "kernel.release") ?: "?", kvmmt_fmt_name(m->host.fmt));
	for (i = 0; i < m->nr_vms; i++) {
		if (!rep_filter_pid(filt, m->vms[i].tgid))
			continue;
		y = draw_vm(f, &m->vms[i], y);
		drawn++;
	}
	if (!drawn) {
		fprintf(f, "<text x=\"10\" y=\"%d\">no VMs in this capture</text>\n", y + 15);
		y += ROW_H;
	}
	y = draw_legend(f, y + 10);
	fclose(f);
	fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n"
		"<defs><pattern id=\"mixed\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" "
		"patternTransform=\"rotate(45)\"><rect width=\"2\" height=\"6\" fill=\"#000\" "
		"fill-opacity=\"0.55\"/></pattern>\n"
		"<style>.title{font-size:15px;font-weight:bold}.vm{font-size:13px;font-weight:bold}"
		"</style></defs>\n<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n",
		W, y, W, y);
	fwrite(body, 1, len, out);
	fputs("</svg>\n", out);
	free(body);
	return 0;
}

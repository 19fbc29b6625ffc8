// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "metrics.h"

/* Label values escape backslash, double quote and newline. */
static void label(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n') {
			fputs("\\n", f);
			continue;
		}
		fputc(*s, f);
	}
}

static void vm_labels(FILE *f, const struct kvmmt_metrics_vm *v)
{
	fputs("{vm=\"", f);
	label(f, v->name ? v->name : "");
	fprintf(f, "\",pid=\"%d\"", (int)v->pid);
}

static void head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static unsigned long long v_flagged(const struct kvmmt_metrics_vm *v) { return v->flagged; }
static unsigned long long v_blocking(const struct kvmmt_metrics_vm *v) { return v->blocking; }
static unsigned long long v_qmp(const struct kvmmt_metrics_vm *v) { return v->qmp; }
static unsigned long long v_blocked(const struct kvmmt_metrics_vm *v) { return v->blocked; }
static unsigned long long v_allowed(const struct kvmmt_metrics_vm *v) { return v->allowed; }
static unsigned long long v_conflict(const struct kvmmt_metrics_vm *v) { return v->conflict_pages; }

/* Families with one sample per VM. */
static const struct {
	const char *name, *type, *help;
	unsigned long long (*value)(const struct kvmmt_metrics_vm *v);
} per_vm[] = {
	{ "kvmmt_vm_flagged", "gauge",
	  "1 if the VM is flagged by hand (kvmmt-policyd ctl flag).", v_flagged },
	{ "kvmmt_vm_migration_blocked", "gauge",
	  "1 if a migration of the VM would be cancelled at switchover now.", v_blocking },
	{ "kvmmt_vm_qmp_connected", "gauge",
	  "1 if kvmmt-policyd holds the VM's QMP monitor (enforcement possible).", v_qmp },
	{ "kvmmt_vm_migrations_blocked_total", "counter",
	  "Migrations of the VM cancelled at pre-switchover.", v_blocked },
	{ "kvmmt_vm_migrations_allowed_total", "counter",
	  "Migrations of the VM let through at pre-switchover.", v_allowed },
	{ "kvmmt_vm_aliasing_pages", "gauge",
	  "Guest pages mapped with a type that conflicts with the host's.", v_conflict },
};

static int write_exposition(FILE *f, const struct kvmmt_metrics *m)
{
	head(f, "kvmmt_vm_risk", "gauge",
	     "Page-aliasing risk class of the VM: 1 for its current class, 0 otherwise.");
	for (size_t i = 0; i < m->nr_vms; i++) {
		for (int r = 0; r < KVMMT_RISK__MAX; r++) {
			fputs("kvmmt_vm_risk", f);
			vm_labels(f, &m->vms[i]);
			fprintf(f, ",class=\"%s\"} %d\n", kvmmt_risk_name(r),
				m->vms[i].risk == (enum kvmmt_risk)r);
		}
	}
	for (size_t k = 0; k < sizeof(per_vm) / sizeof(per_vm[0]); k++) {
		head(f, per_vm[k].name, per_vm[k].type, per_vm[k].help);
		for (size_t i = 0; i < m->nr_vms; i++) {
			fputs(per_vm[k].name, f);
			vm_labels(f, &m->vms[i]);
			fprintf(f, "} %llu\n", per_vm[k].value(&m->vms[i]));
		}
	}
	head(f, "kvmmt_vm_noncoherent_dma", "gauge",
	     "KVM's noncoherent DMA registration count for the VM.");
	for (size_t i = 0; i < m->nr_vms; i++) {
		if (m->vms[i].noncoherent < 0)
			continue;
		fputs("kvmmt_vm_noncoherent_dma", f);
		vm_labels(f, &m->vms[i]);
		fprintf(f, "} %d\n", m->vms[i].noncoherent);
	}
	head(f, "kvmmt_vm_installs_total", "counter",
	     "Leaf SPTE installs seen for the VM, by the memory type they encode.");
	for (size_t i = 0; i < m->nr_vms; i++) {
		for (int t = 0; t < KVMMT_MT__MAX; t++) {
			if (!m->vms[i].installs_by_mt[t])
				continue;
			fputs("kvmmt_vm_installs_total", f);
			vm_labels(f, &m->vms[i]);
			fprintf(f, ",type=\"%s\"} %llu\n", kvmmt_mt_name(t),
				(unsigned long long)m->vms[i].installs_by_mt[t]);
		}
	}
	head(f, "kvmmt_migrations_blocked_total", "counter",
	     "Migrations cancelled at pre-switchover since the daemon started.");
	fprintf(f, "kvmmt_migrations_blocked_total %llu\n",
		(unsigned long long)m->blocked_total);
	head(f, "kvmmt_migrations_allowed_total", "counter",
	     "Migrations let through at pre-switchover since the daemon started.");
	fprintf(f, "kvmmt_migrations_allowed_total %llu\n",
		(unsigned long long)m->allowed_total);
	head(f, "kvmmt_datapath_info", "gauge", "The BPF attach path in use.");
	fputs("kvmmt_datapath_info{path=\"", f);
	label(f, m->datapath ? m->datapath : "none");
	fputs("\"} 1\n", f);
	head(f, "kvmmt_datapath_events_total", "counter", "Data-path events consumed.");
	fprintf(f, "kvmmt_datapath_events_total %llu\n", (unsigned long long)m->events);
	head(f, "kvmmt_datapath_drops_total", "counter",
	     "Data-path events lost because the ring buffer was full.");
	fprintf(f, "kvmmt_datapath_drops_total %llu\n", (unsigned long long)m->drops);
	return ferror(f) ? -EIO : 0;
}

int kvmmt_metrics_render(const struct kvmmt_metrics *m, char **out, size_t *len,
			 struct kvmmt_err *e)
{
	FILE *f = open_memstream(out, len);
	int err;

	if (!f)
		return kvmmt_errf(e, -ENOMEM, "out of memory rendering metrics");
	err = write_exposition(f, m);
	if (fclose(f) || err) {
		free(*out);
		*out = NULL;
		return kvmmt_errf(e, -ENOMEM, "out of memory rendering metrics");
	}
	return 0;
}

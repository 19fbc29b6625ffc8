// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * kvmmt-check: what this host supports and which data path kvmmt uses.
 * It loads the BPF data path for real (and unloads it), so the attach
 * methods it reports are the kernel's own answers.
 */
#include <argp.h>
#include <sysexits.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>
#include "datapath.h"
#include "host.h"
#include "json.h"
#include "memtype.h"
#include "version.h"

struct check_opts {
	bool json;
	bool pretty;
	enum kvmmt_path force;
};

struct check_result {
	struct kvmmt_host host;
	struct kvmmt_err host_err;
	int host_rc;
	struct kvmmt_probe_log log;
	struct kvmmt_err dp_err;
	int dp_rc;
	enum kvmmt_path path;
	enum kvmmt_fmt fmt;
	unsigned int nr_vms;
	unsigned int nr_slots;
	char slot_warning[256];		/* the memslot walk saw nothing */
};

const char *argp_program_version = "kvmmt-check " KVMMT_VERSION;

static const char doc[] =
"Report what this host supports and which data path kvmmt will use.\n"
"\n"
"Prints the kernel, BTF, privileges, every BPF attach method tried with the\n"
"kernel's answer, the chosen path (and why a better one is not used), the KVM\n"
"backend and its module parameters, the SPTE format, and whether the features\n"
"of kvmmt's kernel series are present. The BPF programs are loaded and\n"
"unloaded for real. Exit status: 0 if kvmmt can run here, 1 if not, 2 on a\n"
"usage error.\n"
"\n"
"EXAMPLES:\n"
"    kvmmt-check                 # human-readable report\n"
"    kvmmt-check --json | jq .path\n"
"                                # the attach path kvmmt uses\n"
"    kvmmt-check --attach raw_tp # check that one path works here\n";

static const struct argp_option options[] = {
	{ "json", 'j', NULL, 0, "Print JSON", 0 },
	{ "pretty", 'J', NULL, 0, "Print indented JSON (implies --json)", 0 },
	{ NULL, 'p', NULL, OPTION_HIDDEN, NULL, 0 },
	{ "attach", 'a', "PATH", 0, KVMMT_ATTACH_HELP, 0 },
	{ "path", 'P', "PATH", OPTION_HIDDEN, "Old spelling of --attach", 0 },
	{ 0 },
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	struct check_opts *o = state->input;

	switch (key) {
	case 'j':
		o->json = true;
		break;
	case 'J':
		o->json = o->pretty = true;
		break;
	case 'p':
		/* -p is a pid in every kvmmt program */
		argp_error(state, "-p is not pretty-printing: use -J (--pretty); kvmmt-check reports the whole host, not one VMM");
		break;
	case 'a':
	case 'P': {
		struct kvmmt_err e = {};
		enum kvmmt_path p;

		if (kvmmt_path_parse(arg, &p, &e))
			argp_error(state, "%s", e.msg);
		o->force = p;
		break;
	}
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static void run_checks(struct check_result *r, const struct check_opts *o)
{
	struct kvmmt_dp_opts dopts = { .force = o->force, .log = &r->log };
	struct kvmmt_vm_list vms = {};
	struct kvmmt_dp *dp = NULL;

	r->host_rc = kvmmt_host_probe(&r->host, &r->host_err);
	r->dp_rc = kvmmt_dp_open(&dp, &dopts, &r->dp_err);
	if (r->dp_rc)
		return;
	r->path = kvmmt_dp_path(dp);
	r->fmt = kvmmt_dp_fmt(dp);
	/* The iterator is part of "can run": read it once. */
	r->dp_rc = kvmmt_dp_read_vms(dp, &vms, &r->dp_err);
	for (size_t i = 0; i < vms.n; i++)
		r->nr_slots += vms.v[i].nr_slots;
	r->nr_vms = vms.n;
	/*
	 * Every VM a VMM runs has memslots: none at all means the walk does
	 * not work on this kernel (as it once did not on 6.1's verifier).
	 */
	if (!r->dp_rc && vms.n && !r->nr_slots)
		snprintf(r->slot_warning, sizeof(r->slot_warning),
			 "the memslot walk found no memslot in any of %zu VMs: per-memslot counts and memslot lists are not available on this kernel",
			 vms.n);
	kvmmt_vm_list_free(&vms);
	kvmmt_dp_close(dp);
}

/* The first FENTRY probe that failed, if the chosen path is worse. */
static const struct kvmmt_probe *fentry_failure(const struct check_result *r)
{
	for (int i = 0; i < r->log.n; i++)
		if (r->log.p[i].path == KVMMT_PATH_FENTRY && r->log.p[i].err)
			return &r->log.p[i];
	return NULL;
}

static char *why_not_fentry(const struct check_result *r, char *buf, size_t size)
{
	const struct kvmmt_probe *f = fentry_failure(r);

	if (r->path == KVMMT_PATH_FENTRY || !f)
		return NULL;
	snprintf(buf, size, "%s failed with %s: %s%s%s%s", f->method,
		 kvmmt_errno_name(f->err), kvmmt_probe_reason(f),
		 r->host.lockdown[0] ? " (kernel lockdown: " : "", r->host.lockdown,
		 r->host.lockdown[0] ? ")" : "");
	return buf;
}

static const char *privileges(const struct kvmmt_host *h, char *buf, size_t size)
{
	snprintf(buf, size, "%s (CAP_SYS_ADMIN %s, CAP_BPF %s, CAP_PERFMON %s)",
		 h->root ? "sufficient" : "insufficient",
		 h->cap_sys_admin ? "yes" : "no", h->cap_bpf ? "yes" : "no",
		 h->cap_perfmon ? "yes" : "no");
	return buf;
}

static void print_text(const struct check_result *r)
{
	const struct kvmmt_host *h = &r->host;
	char buf[512];
	int i;

	printf("kernel:        %s (%s)\n", h->release, h->machine);
	printf("BTF:           %s\n", h->btf ? "yes (/sys/kernel/btf/vmlinux)" : "no");
	printf("privileges:    %s\n", privileges(h, buf, sizeof(buf)));
	printf("lockdown:      %s\n", h->lockdown[0] ? h->lockdown : "unknown (securityfs not mounted)");
	printf("/dev/kvm:      %s\n", h->kvm_dev ? "present" : "missing");
	printf("KVM backend:   %s (%s MMU)\n", h->backend, h->tdp ? "TDP" : "shadow");
	for (i = 0; i < h->nr_params; i++)
		printf("  %s.%s=%s\n", h->params[i].module, h->params[i].name,
		       h->params[i].value);
	printf("SPTE format:   %s\n", kvmmt_fmt_name(h->fmt));
	printf("CPU:           %s family %d model %d\n",
	       h->cpu_vendor[0] ? h->cpu_vendor : "unknown", h->cpu_family,
	       h->cpu_model);
	printf("host PAT:      0x%016llx (%s)\n", (unsigned long long)h->host_pat,
	       h->host_pat_read ? "read from IA32_PAT" : "Linux default; MSR not readable");
	printf("attach methods tried:\n");
	for (i = 0; i < r->log.n; i++) {
		const struct kvmmt_probe *p = &r->log.p[i];

		if (!p->err)
			printf("  %-44s ok\n", p->method);
		else if (p->err == -ENOENT && p->path != r->path)
			printf("  %-44s %s: %s\n", p->method,
			       kvmmt_errno_name(p->err), p->detail);
		else if (p->err == -ENOENT)
			printf("  %-44s absent (optional)\n", p->method);
		else
			printf("  %-44s %s: %s\n", p->method,
			       kvmmt_errno_name(p->err), p->detail);
	}
	if (r->dp_rc) {
		printf("data path:     none: %s\n", r->dp_err.msg);
	} else {
		printf("data path:     %s\n", kvmmt_path_name(r->path));
		if (why_not_fentry(r, buf, sizeof(buf)))
			printf("fentry:        not used: %s\n", buf);
		printf("VMs now:       %u (%u memslots)\n", r->nr_vms, r->nr_slots);
		if (r->slot_warning[0])
			printf("warning:       %s\n", r->slot_warning);
	}
	printf("kernel series: memslot noncoherent-DMA flag %s, virtio device %s, memtype tracepoint %s\n",
	       h->has_memslot_nc_flag ? "yes" : "no", h->has_virtio_dev ? "yes" : "no",
	       h->has_memtype_tp ? "yes" : "no");
	printf("kvmmt can run: %s\n", r->dp_rc ? "no" : "yes");
}

static void print_json(const struct check_result *r, bool pretty)
{
	const struct kvmmt_host *h = &r->host;
	json_object *o = json_object_new_object();
	json_object *params = json_object_new_object();
	json_object *probes = json_object_new_array();
	json_object *caps = json_object_new_object();
	json_object *feat = json_object_new_object();
	char buf[512];
	int i;

	kvmmt_json_host(o, h, h->fmt);
	json_object_object_add(o, "btf", json_object_new_boolean(h->btf));
	json_object_object_add(caps, "sufficient", json_object_new_boolean(h->root));
	json_object_object_add(caps, "cap_sys_admin", json_object_new_boolean(h->cap_sys_admin));
	json_object_object_add(caps, "cap_bpf", json_object_new_boolean(h->cap_bpf));
	json_object_object_add(caps, "cap_perfmon", json_object_new_boolean(h->cap_perfmon));
	json_object_object_add(o, "privileges", caps);
	json_object_object_add(o, "lockdown", h->lockdown[0] ?
			       json_object_new_string(h->lockdown) : json_object_new_null());
	json_object_object_add(o, "kvm_dev", json_object_new_boolean(h->kvm_dev));
	for (i = 0; i < h->nr_params; i++) {
		snprintf(buf, sizeof(buf), "%s.%s", h->params[i].module, h->params[i].name);
		json_object_object_add(params, buf, json_object_new_string(h->params[i].value));
	}
	json_object_object_add(o, "params", params);
	json_object_object_add(o, "cpu_vendor", json_object_new_string(h->cpu_vendor));
	json_object_object_add(o, "cpu_family", json_object_new_int(h->cpu_family));
	json_object_object_add(o, "cpu_model", json_object_new_int(h->cpu_model));
	json_object_object_add(o, "host_pat_read", json_object_new_boolean(h->host_pat_read));
	for (i = 0; i < r->log.n; i++) {
		const struct kvmmt_probe *p = &r->log.p[i];
		json_object *j = json_object_new_object();

		json_object_object_add(j, "method", json_object_new_string(p->method));
		json_object_object_add(j, "path", json_object_new_string(kvmmt_path_name(p->path)));
		json_object_object_add(j, "ok", json_object_new_boolean(!p->err));
		json_object_object_add(j, "errno", json_object_new_int(-p->err));
		if (p->err) {
			json_object_object_add(j, "error",
					       json_object_new_string(kvmmt_errno_name(p->err)));
			json_object_object_add(j, "reason",
					       json_object_new_string(kvmmt_probe_reason(p)));
		}
		json_object_object_add(j, "detail", json_object_new_string(p->detail));
		json_object_array_add(probes, j);
	}
	json_object_object_add(o, "probes", probes);
	json_object_object_add(o, "path", r->dp_rc ? json_object_new_null() :
				json_object_new_string(kvmmt_path_name(r->path)));
	if (!r->dp_rc && why_not_fentry(r, buf, sizeof(buf)))
		json_object_object_add(o, "fentry_not_used", json_object_new_string(buf));
	if (r->dp_rc)
		json_object_object_add(o, "error", json_object_new_string(r->dp_err.msg));
	else {
		json_object_object_add(o, "vms", json_object_new_int(r->nr_vms));
		json_object_object_add(o, "memslots", json_object_new_int(r->nr_slots));
		if (r->slot_warning[0])
			json_object_object_add(o, "warning",
					       json_object_new_string(r->slot_warning));
	}
	json_object_object_add(feat, "memslot_noncoherent_flag",
			       json_object_new_boolean(h->has_memslot_nc_flag));
	json_object_object_add(feat, "virtio_device", json_object_new_boolean(h->has_virtio_dev));
	json_object_object_add(feat, "memtype_tracepoint", json_object_new_boolean(h->has_memtype_tp));
	json_object_object_add(o, "kernel_series", feat);
	json_object_object_add(o, "can_run", json_object_new_boolean(!r->dp_rc));
	printf("%s\n", json_object_to_json_string_ext(o, pretty ?
		JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED : JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

int main(int argc, char **argv)
{
	static const struct argp argp = { options, parse_arg, NULL, doc, NULL, NULL, NULL };
	struct check_opts o = {};
	static struct check_result r;

	argp_err_exit_status = EX_USAGE;
	if (argp_parse(&argp, argc, argv, 0, NULL, &o))
		return EX_USAGE;
	run_checks(&r, &o);
	if (r.host_rc) {
		fprintf(stderr, "kvmmt-check: %s\n", r.host_err.msg);
		return 1;
	}
	if (o.json)
		print_json(&r, o.pretty);
	else
		print_text(&r);
	return r.dp_rc ? 1 : 0;
}

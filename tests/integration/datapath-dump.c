// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * kvmmt-dpdump: test driver for the data path integration tests.
 *
 *   kvmmt-dpdump [--path P] [--probe-read] [--capture] [--pid PID]...
 *		[--ready-file F] [--snapshot S]
 *	load the data path, create F, count until SIGINT/SIGTERM, then
 *	print counters, captured-event checks and the iterator's VMs as JSON;
 *	at each SIGUSR1, write the counters so far to S (whole, by rename)
 *   kvmmt-dpdump --vms
 *	load, read the iterator once, print the VMs as JSON
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>
#include "datapath.h"
#include "json.h"
#include "host.h"
#include "memtype.h"

#define MAX_TGIDS	64

/*
 * The memory-type bits of a leaf SPTE as the manuals lay them out, written
 * apart from kvmmt_spte_attr() (which the BPF side and the library share)
 * so that a wrong shared packing shows as a mismatch.
 */
static unsigned int manual_attr(enum kvmmt_fmt fmt, __u64 spte, int level)
{
	const __u64 pwt = 1ULL << 3, pcd = 1ULL << 4;
	/* the PAT bit is bit 7 in a 4K PTE, bit 12 in a 2M/1G PDE/PDPTE */
	const __u64 pat = level == 1 ? 1ULL << 7 : 1ULL << 12;
	unsigned int a = 0;

	switch (fmt) {
	case KVMMT_FMT_EPT:
		/* SDM "EPT Translation Mechanism": memory type 5:3, ignore-PAT 6 */
		a = (unsigned int)(spte / 8 % 8);
		if (spte & (1ULL << 6))
			a += 8;
		return a;
	case KVMMT_FMT_NPT:
	case KVMMT_FMT_SHADOW:
		/* SDM "PAT": index = 4 * PAT + 2 * PCD + PWT */
		return (spte & pat ? 4 : 0) + (spte & pcd ? 2 : 0) + (spte & pwt ? 1 : 0);
	case KVMMT_FMT_S2:
	case KVMMT_FMT_S2_FWB:
		/* Arm ARM stage-2 descriptor: MemAttr[3:0] in bits 5:2 */
		return (unsigned int)(spte / 4 % 16);
	default:
		return 0;
	}
}

/* Per-VM checks over captured events: attr must match the raw SPTE. */
struct cap_vm {
	__u32 tgid;
	__u64 events;
	__u64 attr_mismatch;
	__u64 mt[KVMMT_MT__MAX];
};

struct cap_state {
	enum kvmmt_fmt fmt;
	__u64 host_pat;
	struct cap_vm vm[MAX_TGIDS];
	int n;
};

static volatile sig_atomic_t stop, snap;

static void on_usr1(int sig)
{
	(void)sig;
	snap = 1;
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int on_event(void *ctx, const struct kvmmt_event *ev)
{
	struct cap_state *st = ctx;
	struct kvmmt_memattr ma;
	struct cap_vm *v = NULL;

	if (ev->type != KVMMT_EV_INSTALL)
		return 0;
	for (int i = 0; i < st->n; i++)
		if (st->vm[i].tgid == ev->tgid)
			v = &st->vm[i];
	if (!v) {
		if (st->n == MAX_TGIDS)
			return 0;
		v = &st->vm[st->n++];
		v->tgid = ev->tgid;
	}
	v->events++;
	if (manual_attr(st->fmt, ev->spte, ev->level) != ev->attr)
		v->attr_mismatch++;
	if (!kvmmt_attr_decode(st->fmt, manual_attr(st->fmt, ev->spte, ev->level),
			       st->host_pat, &ma))
		v->mt[ma.mt]++;
	return 0;
}

static json_object *vms_json(const struct kvmmt_vm_list *l)
{
	json_object *arr = json_object_new_array();

	for (size_t i = 0; i < l->n; i++) {
		const struct kvmmt_vm_info *v = &l->v[i];
		json_object *o = json_object_new_object(), *slots = json_object_new_array();

		kvmmt_json_vm_id(o, v->vm.tgid, v->vm.comm);
		json_object_object_add(o, "fd", json_object_new_int(v->vm.fd));
		json_object_object_add(o, "online_vcpus", json_object_new_int(v->vm.online_vcpus));
		json_object_object_add(o, "noncoherent_dma", json_object_new_int(v->vm.noncoherent_dma));
		json_object_object_add(o, "disabled_quirks", json_object_new_int64(v->vm.disabled_quirks));
		json_object_object_add(o, "valid", json_object_new_int(v->vm.valid));
		for (unsigned int j = 0; j < v->nr_slots; j++)
			json_object_array_add(slots, kvmmt_json_memslot(&v->slots[j]));
		json_object_object_add(o, "memslots", slots);
		json_object_array_add(arr, o);
	}
	return arr;
}

static json_object *counters_json(const struct kvmmt_counters *c, enum kvmmt_fmt fmt,
				  __u64 host_pat)
{
	json_object *o = json_object_new_object(), *g = json_object_new_object();
	json_object *vms = json_object_new_array(), *inst = json_object_new_array();
	struct kvmmt_memattr ma;

	for (int i = 0; i < KVMMT_G__MAX; i++)
		json_object_object_add(g, kvmmt_gstat_name(i), json_object_new_int64(c->g[i]));
	for (size_t i = 0; i < c->nr_vms; i++) {
		json_object *v = json_object_new_object();

		json_object_object_add(v, "tgid", json_object_new_int64(c->vms[i].tgid));
		for (int k = 0; k < KVMMT_C__MAX; k++)
			json_object_object_add(v, kvmmt_ctr_name(k),
					       json_object_new_int64(c->vms[i].c.c[k]));
		json_object_array_add(vms, v);
	}
	for (size_t i = 0; i < c->nr_inst; i++) {
		const struct kvmmt_install_count *ic = &c->inst[i];
		json_object *v = json_object_new_object();

		json_object_object_add(v, "tgid", json_object_new_int64(ic->key.tgid));
		json_object_object_add(v, "slot", ic->key.slot == KVMMT_SLOT_UNKNOWN ?
				       json_object_new_null() : json_object_new_int(ic->key.slot));
		json_object_object_add(v, "attr", json_object_new_int(ic->key.attr));
		json_object_object_add(v, "level", json_object_new_int(ic->key.level));
		json_object_object_add(v, "count", json_object_new_int64(ic->count));
		if (!kvmmt_attr_decode(fmt, ic->key.attr, host_pat, &ma))
			json_object_object_add(v, "memtype",
					       json_object_new_string(kvmmt_mt_name(ma.mt)));
		json_object_array_add(inst, v);
	}
	json_object_object_add(o, "global", g);
	json_object_object_add(o, "vms", vms);
	json_object_object_add(o, "installs", inst);
	return o;
}

/* The counters so far, as one JSON object in @path, replaced whole. */
static int write_snapshot(struct kvmmt_dp *dp, const char *path, enum kvmmt_fmt fmt,
			  __u64 host_pat)
{
	char tmp[4096];
	struct kvmmt_counters c;
	struct kvmmt_err e = {};
	json_object *o;
	FILE *f;
	int err;

	if (kvmmt_dp_read_counters(dp, &c, &e)) {
		fprintf(stderr, "kvmmt-dpdump: %s\n", e.msg);
		return -1;
	}
	o = counters_json(&c, fmt, host_pat);
	kvmmt_counters_free(&c);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	err = !f || fprintf(f, "%s\n", json_object_to_json_string(o)) < 0;
	if (f)
		err |= fclose(f) != 0;
	json_object_put(o);
	if (err || rename(tmp, path)) {
		perror(path);
		return -1;
	}
	return 0;
}

static json_object *capture_json(const struct cap_state *st)
{
	json_object *arr = json_object_new_array();

	for (int i = 0; i < st->n; i++) {
		json_object *o = json_object_new_object(), *mt = json_object_new_object();

		json_object_object_add(o, "tgid", json_object_new_int64(st->vm[i].tgid));
		json_object_object_add(o, "events", json_object_new_int64(st->vm[i].events));
		json_object_object_add(o, "attr_mismatch",
				       json_object_new_int64(st->vm[i].attr_mismatch));
		for (int m = 0; m < KVMMT_MT__MAX; m++)
			if (st->vm[i].mt[m])
				json_object_object_add(mt, kvmmt_mt_name(m),
						       json_object_new_int64(st->vm[i].mt[m]));
		json_object_object_add(o, "memtypes", mt);
		json_object_array_add(arr, o);
	}
	return arr;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "path", required_argument, NULL, 'P' },
		{ "capture", no_argument, NULL, 'c' },
		{ "ready-file", required_argument, NULL, 'r' },
		{ "vms", no_argument, NULL, 'v' },
		{ "pid", required_argument, NULL, 'p' },
		{ "snapshot", required_argument, NULL, 's' },
		{ "probe-read", no_argument, NULL, 'R' },
		{ 0 },
	};
	struct kvmmt_dp_opts opts = {};
	static struct cap_state cap;
	static pid_t pids[MAX_TGIDS];
	const char *ready = NULL, *snapshot = NULL;
	struct kvmmt_counters c;
	struct kvmmt_vm_list vms;
	struct kvmmt_host host;
	struct kvmmt_err e = {};
	struct kvmmt_dp *dp;
	bool only_vms = false;
	json_object *out;
	int opt, err;

	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (opt) {
		case 'P':
			for (opts.force = KVMMT_PATH_FENTRY; opts.force < KVMMT_PATH__MAX; opts.force++)
				if (!strcmp(optarg, kvmmt_path_name(opts.force)))
					break;
			if (opts.force == KVMMT_PATH__MAX) {
				fprintf(stderr, "kvmmt-dpdump: unknown path '%s'\n", optarg);
				return 2;
			}
			break;
		case 'c':
			opts.capture = true;
			break;
		case 'R':
			opts.probe_read = true;
			break;
		case 'r':
			ready = optarg;
			break;
		case 'v':
			only_vms = true;
			break;
		case 's':
			snapshot = optarg;
			break;
		case 'p':
			if (opts.nr_pids == MAX_TGIDS)
				return 2;
			pids[opts.nr_pids++] = atoi(optarg);
			opts.pids = pids;
			break;
		default:
			return 2;
		}
	}
	if (kvmmt_host_probe(&host, &e)) {
		fprintf(stderr, "kvmmt-dpdump: %s\n", e.msg);
		return 1;
	}
	if (kvmmt_dp_open(&dp, &opts, &e)) {
		fprintf(stderr, "kvmmt-dpdump: %s\n", e.msg);
		return 1;
	}
	cap.fmt = kvmmt_dp_fmt(dp);
	cap.host_pat = host.host_pat;
	out = json_object_new_object();
	json_object_object_add(out, "path", json_object_new_string(kvmmt_path_name(kvmmt_dp_path(dp))));
	json_object_object_add(out, "fmt", json_object_new_string(kvmmt_fmt_name(cap.fmt)));
	json_object_object_add(out, "spte_read", json_object_new_string(
		kvmmt_dp_spte_cast(dp) ? "bpf_rdonly_cast" : "bpf_probe_read_kernel"));

	if (!only_vms) {
		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
		if (snapshot)
			signal(SIGUSR1, on_usr1);
		if (ready) {
			FILE *f = fopen(ready, "w");

			if (!f) {
				perror(ready);
				return 1;
			}
			fclose(f);
		}
		while (!stop) {
			if (snap) {
				snap = 0;
				if (write_snapshot(dp, snapshot, cap.fmt, host.host_pat))
					return 1;
			}
			if (opts.capture) {
				err = kvmmt_dp_poll(dp, 100, on_event, &cap);
				if (err < 0 && err != -EINTR) {
					fprintf(stderr, "kvmmt-dpdump: poll: %s\n", strerror(-err));
					return 1;
				}
			} else {
				/* a signal between the checks and a pause() would wait */
				usleep(100000);
			}
		}
		while (opts.capture && kvmmt_dp_poll(dp, 0, on_event, &cap) > 0)
			;
		if (kvmmt_dp_read_counters(dp, &c, &e)) {
			fprintf(stderr, "kvmmt-dpdump: %s\n", e.msg);
			return 1;
		}
		json_object_object_add(out, "counters", counters_json(&c, cap.fmt, host.host_pat));
		kvmmt_counters_free(&c);
		if (opts.capture)
			json_object_object_add(out, "capture", capture_json(&cap));
	}
	if (kvmmt_dp_read_vms(dp, &vms, &e)) {
		fprintf(stderr, "kvmmt-dpdump: %s\n", e.msg);
		return 1;
	}
	json_object_object_add(out, "iter", vms_json(&vms));
	kvmmt_vm_list_free(&vms);
	printf("%s\n", json_object_to_json_string_ext(out, JSON_C_TO_STRING_PRETTY));
	json_object_put(out);
	kvmmt_dp_close(dp);
	return 0;
}

// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * Loads kvmmt.bpf.o, trying attach methods from the best (fexit/make_spte:
 * it sees the memslot and every SPTE KVM computes) to the most portable
 * (perf tracepoints), and records each attempt with the kernel's answer.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "kvmmt.skel.h"
#include "array.h"
#include "datapath.h"
#include "dpskel.h"
#include "host.h"

#define MAX_LINKS	48
#define TRACEFS		"/sys/kernel/tracing"
#define DEBUGFS_TRACING	"/sys/kernel/debug/tracing"

/* A VM's memslots as the iterator last sent them whole. */
struct known_vm {
	__u64 kvm_id;
	struct kvmmt_vm_known k;
	struct kvmmt_slot_rec *slots;
};

struct kvmmt_dp {
	struct kvmmt_bpf *skel;
	enum kvmmt_path path;
	enum kvmmt_fmt fmt;
	struct kvmmt_probe probes[KVMMT_MAX_PROBES];
	int nr_probes;
	struct bpf_link *links[MAX_LINKS];
	int nr_links;
	struct bpf_link *iter;
	struct ring_buffer *rb;
	kvmmt_event_fn fn;
	void *fn_ctx;
	int consumed;
	struct btf *vmlinux_btf;
	struct btf *kvm_btf;		/* KVM built as a module */
	bool no_trampolines;		/* the kernel refused an fentry program: EPERM */
	bool cast;			/* read the SPTE with bpf_rdonly_cast (NAME_c twins) */
	bool cast_asked;		/* opts->probe_read not set */
	int cast_err;			/* the verifier refused the twins: why */
	char cast_why[160];
	__u64 release_ns;		/* release exited VMMs' counters this late; 0: never */
	struct known_vm *known;		/* sorted by kvm_id; vm_known holds the same */
	size_t nr_known;
	char log[1024];			/* libbpf's last warning or error */
	char *iter_buf;			/* the iterator's output, kept between reads */
	size_t iter_cap;
};

/*
 * Which kernel event each program hooks. The tracepoint programs exist once
 * per tracepoint path, named "<prefix>_<name>" (btf_set_spte, raw_set_spte,
 * tp_set_spte); the FENTRY programs are named in full.
 */
struct prog_desc {
	const char *name;
	const char *event;	/* function (FENTRY) or tracepoint name */
	bool installs;		/* a source of SPTE installs */
	const char *sys;	/* trace system; NULL = kvmmmu */
	const char *twin;	/* left out when this extra program attached */
	bool entry;		/* FENTRY: fentry, not fexit */
	bool cast;		/* has a twin NAME_c that reads the SPTE with a typed load */
};

static const struct prog_desc fentry_progs[] = {
	{ .name = "fexit_make_spte", .event = "make_spte", .installs = true, .cast = true },
	{ .name = "fexit_nc_register", .event = "kvm_arch_register_noncoherent_dma" },
	{ .name = "fexit_nc_unregister", .event = "kvm_arch_unregister_noncoherent_dma" },
};

static const struct prog_desc tp_progs[] = {
	{ .name = "set_spte", .event = "kvm_mmu_set_spte", .installs = true, .cast = true },
	{ .name = "tdp_changed", .event = "kvm_tdp_mmu_spte_changed", .installs = true },
	{ .name = "spte_requested", .event = "kvm_mmu_spte_requested" },
	{ .name = "get_page", .event = "kvm_mmu_get_page" },
	{ .name = "zap_page", .event = "kvm_mmu_prepare_zap_page" },
	{ .name = "fast_pf", .event = "fast_page_fault" },
	{ .name = "sync_page", .event = "kvm_mmu_sync_page" },
	{ .name = "unsync_page", .event = "kvm_mmu_unsync_page" },
	{ .name = "split", .event = "kvm_mmu_split_huge_page" },
	{ .name = "zap_all", .event = "kvm_mmu_zap_all_fast" },
	/* kvmmt's kernel series (kernel/patches) */
	{ .name = "memtype", .event = "kvm_mmu_memtype" },
	{ .name = "nc", .event = "kvm_noncoherent_dma", .sys = "kvm" },
	{ .name = "memslot", .event = "kvm_memslot_flags", .sys = "kvm" },
	{ .name = "unmap_hva", .event = "kvm_unmap_hva_range", .sys = "kvm",
	  .twin = "fentry_inval_start" },
};

/*
 * Programs every path adds, each attached its own way: memslot and
 * attributes ioctls from the syscall tracepoints, and the MMU notifier's
 * entry where BPF trampolines work (it names the VM, kvm_unmap_hva_range
 * does not). Optional: a kernel without them only loses zap causes.
 */
static const struct prog_desc extra_progs[] = {
	{ .name = "fentry_inval_start", .event = "kvm_mmu_notifier_invalidate_range_start",
	  .entry = true },
	{ .name = "sys_enter_ioctl", .event = "sys_enter_ioctl", .sys = "syscalls" },
	{ .name = "sys_exit_ioctl", .event = "sys_exit_ioctl", .sys = "syscalls" },
	/* the slot index of a process goes with it (then new ones are ready) */
	{ .name = "proc_exit", .event = "sched_process_exit", .sys = "sched" },
	/* host-side mappings of guest memory: gfn-to-pfn caches, kvm-vfio */
	{ .name = "fentry_gpc_activate", .event = "kvm_gpc_activate", .entry = true },
	{ .name = "fexit_gpc_activate", .event = "kvm_gpc_activate" },
	{ .name = "fentry_gpc_refresh", .event = "kvm_gpc_refresh", .entry = true },
	{ .name = "fexit_gpc_refresh", .event = "kvm_gpc_refresh" },
	{ .name = "fentry_gpc_refresh_old", .event = "kvm_gfn_to_pfn_cache_refresh",
	  .entry = true },
	{ .name = "fexit_gpc_refresh_old", .event = "kvm_gfn_to_pfn_cache_refresh" },
	{ .name = "fentry_gpc_deactivate", .event = "kvm_gpc_deactivate", .entry = true },
	{ .name = "fentry_gpc_invalidate", .event = "gfn_to_pfn_cache_invalidate_start",
	  .entry = true },
	{ .name = "fentry_memremap", .event = "memremap", .entry = true },
	{ .name = "fentry_destroy_vm", .event = "kvm_arch_destroy_vm", .entry = true },
	{ .name = "fexit_vfio_set_attr", .event = "kvm_vfio_set_attr" },
};

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))

/* How each extra attaches: the syscall tracepoints, else fentry/fexit. */
static enum kvmmt_path extra_path(const struct prog_desc *d)
{
	return d->sys ? KVMMT_PATH_TP : KVMMT_PATH_FENTRY;
}

static const char *const prog_prefix[KVMMT_PATH__MAX] = {
	[KVMMT_PATH_TP_BTF] = "btf",
	[KVMMT_PATH_RAW_TP] = "raw",
	[KVMMT_PATH_TP] = "tp",
};

static const char *const path_names[KVMMT_PATH__MAX] = {
	[KVMMT_PATH_NONE] = "none",
	[KVMMT_PATH_FENTRY] = "fentry",
	[KVMMT_PATH_TP_BTF] = "tp_btf",
	[KVMMT_PATH_RAW_TP] = "raw_tp",
	[KVMMT_PATH_TP] = "tp",
};

static const char *const sec_prefix[KVMMT_PATH__MAX] = {
	[KVMMT_PATH_FENTRY] = "fexit/",
	[KVMMT_PATH_TP_BTF] = "tp_btf/",
	[KVMMT_PATH_RAW_TP] = "raw_tp/",
	[KVMMT_PATH_TP] = "tp/",
};

static const char *const ctr_names[KVMMT_C__MAX] = {
	[KVMMT_C_INSTALLS] = "installs",
	[KVMMT_C_ZAPS] = "zaps",
	[KVMMT_C_REQUESTED] = "faults",
	[KVMMT_C_SP_CREATED] = "sp_created",
	[KVMMT_C_SP_REUSED] = "sp_reused",
	[KVMMT_C_NC_REGISTER] = "nc_register",
	[KVMMT_C_NC_UNREGISTER] = "nc_unregister",
	[KVMMT_C_SLOT_CHANGES] = "slot_changes",
	[KVMMT_C_TDP_CHANGES] = "tdp_changes",
	[KVMMT_C_FAST_PF] = "fast_pf",
	[KVMMT_C_SYNC] = "sp_sync",
	[KVMMT_C_UNSYNC] = "sp_unsync",
	[KVMMT_C_SPLITS] = "splits",
	[KVMMT_C_ZAP_ALL] = "zap_all",
	[KVMMT_C_MEMTYPE] = "memtype",
	[KVMMT_C_INV_NOTIFIER] = "zap_pages_notifier",
	[KVMMT_C_INV_MEMSLOT] = "zap_pages_memslot",
	[KVMMT_C_INV_SLOT_FLAGS] = "zap_pages_slot_flags",
	[KVMMT_C_INV_ATTRIBUTES] = "zap_pages_attributes",
	[KVMMT_C_INV_GMEM] = "zap_pages_gmem",
	[KVMMT_C_GPC_ACTIVATE] = "gpc_activate",
	[KVMMT_C_GPC_REFRESH] = "gpc_refresh",
	[KVMMT_C_GPC_DEACTIVATE] = "gpc_deactivate",
	[KVMMT_C_GPC_INVALIDATE] = "gpc_invalidate",
	[KVMMT_C_VFIO_ADD] = "vfio_file_add",
	[KVMMT_C_VFIO_DEL] = "vfio_file_del",
};

static const char *const gstat_names[KVMMT_G__MAX] = {
	[KVMMT_G_EVENTS] = "events",
	[KVMMT_G_DROPS] = "drops",
	[KVMMT_G_NOSPACE] = "nospace",
	[KVMMT_G_SEEN] = "seen",
	[KVMMT_G_INV_KTHREAD] = "zap_pages_kthread",
	[KVMMT_G_SLOT_WALKS] = "slot_walks",
};

const char *kvmmt_ctr_name(enum kvmmt_ctr c)
{
	if ((unsigned int)c >= KVMMT_C__MAX || !ctr_names[c])
		return "unknown";
	return ctr_names[c];
}

const char *kvmmt_gstat_name(enum kvmmt_gstat g)
{
	if ((unsigned int)g >= KVMMT_G__MAX || !gstat_names[g])
		return "unknown";
	return gstat_names[g];
}

const char *kvmmt_path_name(enum kvmmt_path p)
{
	if ((unsigned int)p >= KVMMT_PATH__MAX)
		return "unknown";
	return path_names[p];
}

int kvmmt_path_parse(const char *s, enum kvmmt_path *out, struct kvmmt_err *e)
{
	if (!strcmp(s, "auto")) {
		*out = KVMMT_PATH_NONE;
		return 0;
	}
	for (int p = KVMMT_PATH_FENTRY; p < KVMMT_PATH__MAX; p++)
		if (!strcmp(s, path_names[p])) {
			*out = p;
			return 0;
		}
	return kvmmt_errf(e, -EINVAL,
			  "unknown attach path '%s' (expected auto, fentry, tp_btf, raw_tp or tp)", s);
}

enum kvmmt_path kvmmt_dp_path(const struct kvmmt_dp *dp)
{
	return dp->path;
}

enum kvmmt_fmt kvmmt_dp_fmt(const struct kvmmt_dp *dp)
{
	return dp->fmt;
}

bool kvmmt_dp_spte_cast(const struct kvmmt_dp *dp)
{
	return dp->cast && (dp->path == KVMMT_PATH_FENTRY || dp->path == KVMMT_PATH_TP_BTF);
}

int kvmmt_dp_probes(const struct kvmmt_dp *dp, const struct kvmmt_probe **out)
{
	*out = dp->probes;
	return dp->nr_probes;
}

const char *kvmmt_probe_reason(const struct kvmmt_probe *p)
{
	if (!p->err)
		return NULL;
	switch (p->err) {
	case -EACCES:
		return "the BPF verifier rejected the program on this kernel";
	case -EPERM:
		/* libbpf walks the BTF objects to find a module's (KVM=m) */
		if (strstr(p->detail, "iterate BTF objects"))
			return "reading the BTF of kernel modules (KVM built as a module) needs CAP_SYS_ADMIN";
		if (p->path == KVMMT_PATH_FENTRY)
			return "the kernel refuses to load BPF trampoline programs (fentry/fexit) here: a kernel policy (lockdown, an LSM, or a build without trampoline support) forbids them";
		return "not permitted: needs root (CAP_BPF and CAP_PERFMON) or a kernel that allows BPF tracing";
	case -ENOENT:
	case -ESRCH:
		return "the kernel has no such function or event (renamed, inlined or not built)";
	case -E2BIG:
		return "the function has more arguments than this kernel's BPF trampolines take (6 before Linux 6.6)";
	case -EINVAL:
		return "the kernel rejected the program (verifier or attach type not supported)";
	case -EALREADY:
		return "not needed: another program observes this event";
	case -EOPNOTSUPP:
	case -524:	/* ENOTSUPP */
		return "this attach type is not supported by the kernel";
	default:
		return "the kernel refused it";
	}
}

/*
 * libbpf reports through one process-wide callback, which kvmmt replaces
 * for good: while this thread is inside kvmmt_dp_open() the messages go to
 * that data path's log, and otherwise they are dropped, so libbpf never
 * writes to the user's terminal.
 */
static __thread struct kvmmt_dp *log_dp;

/*
 * The verifier's reason: the last line of its log before the statistics
 * ("processed N insns ...", "verification time ..."), or NULL.
 */
static const char *verifier_reason(char *vlog)
{
	char *end = strstr(vlog, "-- END PROG LOAD LOG --"), *line = NULL;

	if (!end)
		return NULL;
	*end = '\0';
	for (char *l = strtok(vlog, "\n"); l; l = strtok(NULL, "\n")) {
		if (!strncmp(l, "processed ", 10) || !strncmp(l, "verification time", 17) ||
		    !strncmp(l, "stack depth", 11) || strstr(l, "-- BEGIN"))
			continue;
		line = l;
	}
	return line;
}

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	static __thread char msg[16384];
	const char *why;
	size_t n;

	if (!log_dp || level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	why = verifier_reason(msg);
	n = strlen(log_dp->log);
	if (why && n) {
		/* the load failure came first; add what the verifier said */
		snprintf(log_dp->log + n, sizeof(log_dp->log) - n, ": %.200s", why);
		return 0;
	}
	if (why || n)	/* keep the first reason: later lines are unwinding */
		return 0;
	msg[strcspn(msg, "\n")] = '\0';
	snprintf(log_dp->log, sizeof(log_dp->log), "%.1000s",
		 strncmp(msg, "libbpf: ", 8) ? msg : msg + 8);
	kvmmt_fix_strerror(log_dp->log, sizeof(log_dp->log));
	return 0;
}

/*
 * Records one attempt; the method is written the way libbpf's SEC() names
 * it. @sys is the trace system, or "fentry" for an fentry program.
 */
static void add_probe(struct kvmmt_dp *dp, enum kvmmt_path path,
		      const char *sys, const char *event, int err,
		      const char *detail)
{
	struct kvmmt_probe *p;

	if (dp->nr_probes >= KVMMT_MAX_PROBES)
		return;
	p = &dp->probes[dp->nr_probes++];
	p->path = path;
	if (path == KVMMT_PATH_TP)
		snprintf(p->method, sizeof(p->method), "tp/%s/%s",
			 sys ? sys : "kvmmmu", event);
	else if (path == KVMMT_PATH_NONE)
		snprintf(p->method, sizeof(p->method), "%s", event);
	else if (path == KVMMT_PATH_FENTRY && sys && !strcmp(sys, "fentry"))
		snprintf(p->method, sizeof(p->method), "fentry/%s", event);
	else
		snprintf(p->method, sizeof(p->method), "%s%s", sec_prefix[path], event);
	p->err = err;
	snprintf(p->detail, sizeof(p->detail), "%.190s", detail ? detail : "");
}

static bool tracefs_event(const char *sys, const char *event)
{
	char path[256];

	snprintf(path, sizeof(path), TRACEFS "/events/%s/%s", sys, event);
	if (access(path, F_OK) == 0)
		return true;
	snprintf(path, sizeof(path), DEBUGFS_TRACING "/events/%s/%s", sys, event);
	return access(path, F_OK) == 0;
}

static bool btf_has(const struct kvmmt_dp *dp, const char *name, int kind)
{
	if (dp->vmlinux_btf && btf__find_by_name_kind(dp->vmlinux_btf, name, kind) > 0)
		return true;
	return dp->kvm_btf && btf__find_by_name_kind(dp->kvm_btf, name, kind) > 0;
}

static bool is_extra(const struct prog_desc *d)
{
	return d >= extra_progs && d < extra_progs + ARRAY_LEN(extra_progs);
}

static const char *probe_sys(const struct prog_desc *d)
{
	return d->entry ? "fentry" : d->sys;
}

/* One program to load on a path. */
struct planned {
	const struct prog_desc *d;
	enum kvmmt_path path;	/* how this program attaches */
	char prog[32];		/* its name in the skeleton */
	bool cast;		/* the NAME_c twin */
	bool present;		/* the kernel has its function or event */
	bool refused;		/* the verifier rejected it (probe recorded) */
	bool attached;
};

#define MAX_PLANNED	(ARRAY_LEN(fentry_progs) + ARRAY_LEN(tp_progs) + \
			 ARRAY_LEN(extra_progs))

/* Does the kernel have what this program hooks? */
static bool event_exists(const struct kvmmt_dp *dp, const struct prog_desc *d,
			 enum kvmmt_path path)
{
	char name[128];

	switch (path) {
	case KVMMT_PATH_FENTRY:
		return btf_has(dp, d->event, BTF_KIND_FUNC);
	case KVMMT_PATH_TP_BTF:
	case KVMMT_PATH_RAW_TP:
		snprintf(name, sizeof(name), "btf_trace_%s", d->event);
		return btf_has(dp, name, BTF_KIND_TYPEDEF);
	case KVMMT_PATH_TP:
		return tracefs_event(d->sys ? d->sys : "kvmmmu", d->event);
	default:
		return false;
	}
}

static void plan_one(const struct kvmmt_dp *dp, struct planned *pl,
		     const struct prog_desc *d, enum kvmmt_path path)
{
	*pl = (struct planned){ .d = d, .path = path };
	pl->cast = d->cast && dp->cast &&
		   (path == KVMMT_PATH_FENTRY || path == KVMMT_PATH_TP_BTF);
	if (path == KVMMT_PATH_FENTRY || is_extra(d))
		snprintf(pl->prog, sizeof(pl->prog), "%s%s", d->name, pl->cast ? "_c" : "");
	else
		snprintf(pl->prog, sizeof(pl->prog), "%s_%s%s", prog_prefix[path], d->name,
			 pl->cast ? "_c" : "");
	pl->present = event_exists(dp, d, path);
}

/*
 * The verifier refused a NAME_c twin: no program reads the SPTE with
 * bpf_rdonly_cast from now on, and @pl becomes the probe-reading one.
 */
static void uncast(struct kvmmt_dp *dp, struct planned *pl, int err)
{
	const char *d = dp->log[0] ? dp->log : kvmmt_strerror(err);

	dp->cast = false;
	dp->cast_err = err;
	snprintf(dp->cast_why, sizeof(dp->cast_why), "%s: %.120s", pl->prog, d);
	pl->prog[strlen(pl->prog) - 2] = '\0';
	pl->cast = false;
}

/*
 * The programs of @path: the extras, then the path's own, install sources
 * first. FENTRY takes installs and
 * noncoherent DMA from its fexit programs and everything else (faults,
 * zaps, TDP changes, shadow pages, memslots) from tp_btf.
 */
static size_t plan_path(const struct kvmmt_dp *dp, enum kvmmt_path path,
			struct planned *pl)
{
	size_t i, n = 0;

	/* first, so a twin sees whether its replacement attached */
	for (i = 0; i < ARRAY_LEN(extra_progs); i++)
		plan_one(dp, &pl[n++], &extra_progs[i], extra_path(&extra_progs[i]));
	if (path == KVMMT_PATH_FENTRY) {
		for (i = 0; i < ARRAY_LEN(fentry_progs); i++)
			plan_one(dp, &pl[n++], &fentry_progs[i], path);
		for (i = 0; i < ARRAY_LEN(tp_progs); i++)
			if (strcmp(tp_progs[i].name, "set_spte") &&
			    strcmp(tp_progs[i].name, "nc"))
				plan_one(dp, &pl[n++], &tp_progs[i], KVMMT_PATH_TP_BTF);
		return n;
	}
	for (i = 0; i < ARRAY_LEN(tp_progs); i++)
		plan_one(dp, &pl[n++], &tp_progs[i], path);
	return n;
}

static void free_known(struct known_vm *k, size_t n);

static void destroy_skel(struct kvmmt_dp *dp)
{
	int i;

	/* vm_known goes with the object */
	free_known(dp->known, dp->nr_known);
	dp->known = NULL;
	dp->nr_known = 0;
	ring_buffer__free(dp->rb);
	dp->rb = NULL;
	bpf_link__destroy(dp->iter);
	dp->iter = NULL;
	for (i = 0; i < dp->nr_links; i++)
		bpf_link__destroy(dp->links[i]);
	dp->nr_links = 0;
	kvmmt_bpf__destroy(dp->skel);
	dp->skel = NULL;
}

static int ringbuf_event(void *ctx, void *data, size_t size)
{
	struct kvmmt_dp *dp = ctx;
	int ret;

	if (size < sizeof(struct kvmmt_event) || !dp->fn)
		return 0;
	ret = dp->fn(dp->fn_ctx, data);
	if (ret < 0)
		return ret;
	dp->consumed++;
	return 0;
}

static const char *errstr(int err)
{
	return kvmmt_strerror(err);
}

static void set_rodata(struct kvmmt_dp *dp, enum kvmmt_path path,
		       const struct kvmmt_dp_opts *opts, const struct planned *pl,
		       size_t n)
{
	__u32 rb = getpagesize();

	dp->skel->rodata->fmt = dp->fmt;
	dp->skel->rodata->capture = opts->capture;
	dp->skel->rodata->filter = opts->nr_pids > 0;
	dp->skel->rodata->tp_installs = path != KVMMT_PATH_FENTRY;
	dp->skel->rodata->tdp_installs = true;
	for (size_t i = 0; i < n; i++)
		if (pl[i].present && !strcmp(pl[i].d->name, "set_spte"))
			dp->skel->rodata->tdp_installs = false;
	if (opts->capture)
		rb = (opts->ringbuf_kib ? opts->ringbuf_kib : 4096) * 1024;
	bpf_map__set_max_entries(dp->skel->maps.events, rb);
	dp->skel->rodata->ring_wake = rb / 8;
}

static bool twin_attached(const struct planned *pl, size_t n, const char *twin)
{
	for (size_t i = 0; twin && i < n; i++)
		if (pl[i].attached && !strcmp(pl[i].prog, twin))
			return true;
	return false;
}

/* Attaches the loaded programs; fails only if an install source fails. */
static int attach_planned(struct kvmmt_dp *dp, struct planned *pl, size_t n)
{
	char detail[sizeof(dp->probes[0].detail)];
	struct bpf_program *prog;
	struct bpf_link *link;
	int err;

	/*
	 * Install sources first (the path stands or falls with them, and its
	 * first failed probe says why), then the rest in plan order (extras
	 * before their twins), then what the kernel does not have.
	 */
	for (size_t k = 0; k < 3 * n; k++) {
		size_t i = k % n, pass = k / n;

		if (pl[i].refused || pass != (!pl[i].present ? 2 : pl[i].d->installs ? 0 : 1))
			continue;
		if (!pl[i].present) {
			add_probe(dp, pl[i].path, probe_sys(pl[i].d), pl[i].d->event, -ENOENT,
				  "not in this kernel");
			continue;
		}
		if (twin_attached(pl, n, pl[i].d->twin)) {
			add_probe(dp, pl[i].path, probe_sys(pl[i].d), pl[i].d->event, -EALREADY,
				  "not needed: its fentry replacement attached");
			continue;
		}
		dp->log[0] = '\0';
		prog = bpf_object__find_program_by_name(dp->skel->obj, pl[i].prog);
		link = prog ? bpf_program__attach(prog) : NULL;
		err = link ? 0 : (prog ? -errno : -ENOENT);
		if (!err && dp->nr_links < MAX_LINKS) {
			dp->links[dp->nr_links++] = link;
			pl[i].attached = true;
		} else
			bpf_link__destroy(link);
		snprintf(detail, sizeof(detail), "%.190s",
			 err ? (dp->log[0] ? dp->log : errstr(err)) : "attached");
		add_probe(dp, pl[i].path, probe_sys(pl[i].d), pl[i].d->event, err, detail);
		if (err && pl[i].d->installs)
			return err;
	}
	return 0;
}

/*
 * The program libbpf's load failure names ("prog 'NAME': ..."), as an index
 * into @pl, or -1.
 */
static int failed_program(const char *log, const struct planned *pl, size_t n)
{
	char name[64];

	if (sscanf(log, "prog '%63[^']'", name) != 1)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(pl[i].prog, name))
			return i;
	return -1;
}

/* Opens the skeleton with the path's programs (but refused ones) to load. */
static int open_planned(struct kvmmt_dp *dp, enum kvmmt_path path,
			const struct kvmmt_dp_opts *opts, const struct planned *pl,
			size_t n)
{
	struct bpf_program *prog;

	dp->skel = kvmmt_bpf__open();
	if (!dp->skel)
		return -errno;
	set_rodata(dp, path, opts, pl, n);
	bpf_object__for_each_program(prog, dp->skel->obj)
		bpf_program__set_autoload(prog, false);
	bpf_program__set_autoload(dp->skel->progs.kvmmt_vms, true);
	bpf_program__set_autoload(dp->skel->progs.release_fast, true);
	for (size_t i = 0; i < n; i++) {
		prog = bpf_object__find_program_by_name(dp->skel->obj, pl[i].prog);
		if (prog && pl[i].present && !pl[i].refused)
			bpf_program__set_autoload(prog, true);
	}
	return 0;
}

/*
 * The kernel refuses trampolines altogether: the other optional fentry
 * programs would only be refused one reload at a time.
 */
static void refuse_fentry(struct kvmmt_dp *dp, struct planned *pl, size_t n)
{
	char what[48];
	int more = 0;

	for (size_t i = 0; i < n; i++) {
		if (pl[i].path != KVMMT_PATH_FENTRY || pl[i].refused ||
		    pl[i].d->installs || !pl[i].present)
			continue;
		pl[i].refused = true;
		more++;
	}
	if (!more)
		return;
	snprintf(what, sizeof(what), "* (%d more optional programs)", more);
	add_probe(dp, KVMMT_PATH_FENTRY, "fentry", what, -EPERM,
		  "not tried: this kernel refuses fentry programs");
}

/*
 * Loads and attaches one path; 0 on success, else -errno with probes
 * recorded. A program the verifier rejects is recorded under its own event
 * and left out, and the rest loads again; only the loss of the install
 * source fails the path.
 */
/*
 * FENTRY stands or falls with fexit/make_spte, which some kernels load but
 * cannot attach (6.1: more than six arguments) and some refuse to load:
 * tried alone first, a doomed path costs one small load instead of the
 * whole object's (seconds under emulation). 0, or -errno with the probe
 * recorded.
 */
static int probe_source(struct kvmmt_dp *dp, const struct kvmmt_dp_opts *opts,
			struct planned *src)
{
	struct bpf_program *prog;
	struct bpf_link *link;
	bool loaded = false;
	int err;

	dp->log[0] = '\0';
	err = open_planned(dp, src->path, opts, src, 1);
	if (!err)
		err = kvmmt_bpf__load(dp->skel);
	if (!err) {
		loaded = true;
		prog = bpf_object__find_program_by_name(dp->skel->obj, src->prog);
		link = prog ? bpf_program__attach(prog) : NULL;
		err = link ? 0 : (prog ? -errno : -ENOENT);
		bpf_link__destroy(link);
	}
	destroy_skel(dp);
	if (!err)
		return 0;
	/*
	 * The twin refused at load (not EPERM: no trampolines at all) is
	 * tried again as the probe-reading program; one that loaded and
	 * cannot attach (6.1: too many arguments) would fail the same way.
	 */
	if (src->cast && !loaded && err != -EPERM) {
		uncast(dp, src, err);
		return probe_source(dp, opts, src);
	}
	add_probe(dp, src->path, probe_sys(src->d), src->d->event, err,
		  dp->log[0] ? dp->log : errstr(err));
	if (err == -EPERM)
		dp->no_trampolines = true;
	return err;
}

static int try_path(struct kvmmt_dp *dp, enum kvmmt_path path,
		    const struct kvmmt_dp_opts *opts)
{
	struct planned pl[MAX_PLANNED];
	struct planned *src = NULL;
	const struct planned *bad;
	size_t i, n;
	int err, f;

	dp->log[0] = '\0';
	n = plan_path(dp, path, pl);
	for (i = 0; i < n && !src; i++)
		if (pl[i].d->installs && pl[i].present)
			src = &pl[i];
	if (!src) {
		add_probe(dp, path, NULL, pl[ARRAY_LEN(extra_progs)].d->event, -ENOENT,
			  path == KVMMT_PATH_TP ? "no kvmmmu tracepoints in tracefs (KVM not loaded, or tracefs not mounted)"
						: "the kernel's BTF has no such function or tracepoint");
		return -ENOENT;
	}
	if (path == KVMMT_PATH_FENTRY) {
		err = probe_source(dp, opts, src);
		if (err)
			return err;
	}
	if (dp->no_trampolines)
		refuse_fentry(dp, pl, n);

	for (;;) {
		dp->log[0] = '\0';
		err = open_planned(dp, path, opts, pl, n);
		if (err) {
			add_probe(dp, path, probe_sys(src->d), src->d->event, err,
				  dp->log[0] ? dp->log : errstr(err));
			return err;
		}
		err = kvmmt_bpf__load(dp->skel);
		if (!err)
			break;
		f = failed_program(dp->log, pl, n);
		destroy_skel(dp);
		if (f >= 0 && pl[f].cast) {
			uncast(dp, &pl[f], err);
			continue;
		}
		bad = f >= 0 ? &pl[f] : src;
		add_probe(dp, bad->path, probe_sys(bad->d), bad->d->event, err,
			  dp->log[0] ? dp->log : errstr(err));
		if (f < 0 || pl[f].d->installs)
			return err;
		pl[f].refused = true;
		if (pl[f].path == KVMMT_PATH_FENTRY && err == -EPERM) {
			dp->no_trampolines = true;
			refuse_fentry(dp, pl, n);
		}
	}
	err = attach_planned(dp, pl, n);
	if (err) {
		destroy_skel(dp);
		return err;
	}
	/* slot index entries now go with their process: trusted from birth */
	for (size_t i = 0; i < n; i++)
		if (pl[i].attached && !strcmp(pl[i].prog, "proc_exit"))
			dp->skel->bss->slots_born_ready = 1;
	return 0;
}

/*
 * How the install source of a FENTRY or TP_BTF path reads the SPTE, as a
 * probe line of its own (RAW_TP probe-reads it; TP has it in the record),
 * unless the caller asked for the probe read.
 */
static void note_spte_read(struct kvmmt_dp *dp)
{
	static const char *const fallback = "the SPTE is read with bpf_probe_read_kernel()";
	char why[sizeof(dp->cast_why) + 64];

	if ((dp->path != KVMMT_PATH_FENTRY && dp->path != KVMMT_PATH_TP_BTF) ||
	    !dp->cast_asked)
		return;
	if (dp->cast) {
		add_probe(dp, KVMMT_PATH_NONE, NULL, "kfunc/bpf_rdonly_cast", 0,
			  "the SPTE is read with one typed load");
		return;
	}
	if (dp->cast_err)
		snprintf(why, sizeof(why), "refused (%s); %s", dp->cast_why, fallback);
	else
		snprintf(why, sizeof(why), "not in this kernel (it came in 6.2); %s", fallback);
	add_probe(dp, KVMMT_PATH_NONE, NULL, "kfunc/bpf_rdonly_cast",
		  dp->cast_err ?: -ENOENT, why);
}

static int attach_rest(struct kvmmt_dp *dp, const struct kvmmt_dp_opts *opts,
		       struct kvmmt_err *e)
{
	int i, err;
	__u8 one = 1;

	dp->iter = bpf_program__attach_iter(dp->skel->progs.kvmmt_vms, NULL);
	err = dp->iter ? 0 : -errno;
	add_probe(dp, KVMMT_PATH_NONE, NULL, "iter/task_file", err,
		  err ? (dp->log[0] ? dp->log : errstr(err)) : "attached");
	if (err)
		return kvmmt_errf(e, err, "cannot attach the VM iterator (iter/task_file): %s",
				  errstr(err));

	for (i = 0; i < opts->nr_pids; i++) {
		__u32 tgid = opts->pids[i];

		err = bpf_map__update_elem(dp->skel->maps.tgid_filter, &tgid,
					   sizeof(tgid), &one, sizeof(one), BPF_ANY);
		if (err)
			return kvmmt_errf(e, err, "cannot add pid %d to the filter: %s",
					  opts->pids[i], errstr(err));
	}

	if (opts->capture) {
		dp->rb = ring_buffer__new(bpf_map__fd(dp->skel->maps.events),
					  ringbuf_event, dp, NULL);
		if (!dp->rb)
			return kvmmt_errf(e, -errno, "cannot map the event ring buffer: %s",
					  errstr(errno));
	}
	return 0;
}

/* A one-sentence reason for a data path that could not be loaded at all. */
static int open_failed(struct kvmmt_dp *dp, int err, struct kvmmt_err *e)
{
	const struct kvmmt_probe *last = &dp->probes[dp->nr_probes - 1];

	if (err == -EPERM || err == -EACCES)
		return kvmmt_errf(e, err, "%s: %s (%s)", last->method,
				  kvmmt_probe_reason(last), last->detail);
	if (err == -ENOENT)
		return kvmmt_errf(e, -ENOENT,
				  "KVM's MMU tracepoints are not in this kernel (is the kvm module loaded?)");
	return kvmmt_errf(e, err, "no attach method works here; last tried %s: %s",
			  last->method, last->detail);
}

int kvmmt_dp_open(struct kvmmt_dp **out, const struct kvmmt_dp_opts *opts,
		  struct kvmmt_err *e)
{
	static const struct kvmmt_dp_opts defaults;
	struct kvmmt_dp *dp;
	struct kvmmt_host host;
	int err = -ENOENT, p;

	*out = NULL;
	if (!opts)
		opts = &defaults;
	if (opts->log)
		opts->log->n = 0;
	if ((unsigned int)opts->force >= KVMMT_PATH__MAX)
		return kvmmt_errf(e, -EINVAL, "unknown attach path %d", opts->force);
	if ((unsigned int)opts->fmt >= KVMMT_FMT__MAX)
		return kvmmt_errf(e, -EINVAL, "unknown SPTE format %d", opts->fmt);
	if (opts->nr_pids < 0 || (opts->nr_pids && !opts->pids))
		return kvmmt_errf(e, -EINVAL, "invalid pid filter");
	if (opts->capture && opts->ringbuf_kib &&
	    (opts->ringbuf_kib < 4 || (opts->ringbuf_kib & (opts->ringbuf_kib - 1))))
		return kvmmt_errf(e, -EINVAL,
				  "ring buffer size must be a power of two of at least 4 KiB, not %u KiB",
				  opts->ringbuf_kib);
	if (!kvmmt_host_privileged())
		return kvmmt_errf(e, -EPERM,
				  "loading BPF programs needs root (CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN)");
	if (access("/sys/kernel/btf/vmlinux", R_OK))
		return kvmmt_errf(e, -EOPNOTSUPP,
				  "this kernel has no BTF (/sys/kernel/btf/vmlinux is missing): kvmmt needs CONFIG_DEBUG_INFO_BTF=y");

	dp = calloc(1, sizeof(*dp));
	if (!dp)
		return kvmmt_errf(e, -ENOMEM, "out of memory");
	dp->fmt = opts->fmt;
	dp->release_ns = opts->release_s * 1000000000ULL;
	if (!dp->fmt) {
		err = kvmmt_host_probe(&host, e);
		if (err) {
			free(dp);
			return err;
		}
		dp->fmt = host.fmt;
	}

	log_dp = dp;
	libbpf_set_print(libbpf_log);
	dp->vmlinux_btf = btf__load_vmlinux_btf();
	if (dp->vmlinux_btf &&
	    !btf_has(dp, "btf_trace_kvm_mmu_set_spte", BTF_KIND_TYPEDEF))
		dp->kvm_btf = btf__load_module_btf("kvm", dp->vmlinux_btf);
	dp->cast = !opts->probe_read && btf_has(dp, "bpf_rdonly_cast", BTF_KIND_FUNC);
	dp->cast_asked = !opts->probe_read;

	err = -ENOENT;
	for (p = KVMMT_PATH_FENTRY; p < KVMMT_PATH__MAX; p++) {
		if (opts->force && p != (int)opts->force)
			continue;
		err = try_path(dp, p, opts);
		if (!err) {
			dp->path = p;
			break;
		}
	}
	if (!err) {
		note_spte_read(dp);
		err = attach_rest(dp, opts, e);
	}
	else
		open_failed(dp, err, e);
	log_dp = NULL;
	if (opts->log) {
		memcpy(opts->log->p, dp->probes, sizeof(dp->probes));
		opts->log->n = dp->nr_probes;
	}
	if (err) {
		kvmmt_dp_close(dp);
		return err;
	}
	*out = dp;
	return 0;
}

void kvmmt_dp_close(struct kvmmt_dp *dp)
{
	if (!dp)
		return;
	destroy_skel(dp);
	btf__free(dp->kvm_btf);
	btf__free(dp->vmlinux_btf);
	free(dp->iter_buf);
	free(dp);
}

/* Sums one per-CPU value of @words u64s into @sum. */
static void sum_percpu(__u64 *sum, const __u64 *vals, int ncpu, size_t words)
{
	for (int cpu = 0; cpu < ncpu; cpu++)
		for (size_t w = 0; w < words; w++)
			sum[w] += vals[cpu * words + w];
}

/* One record: the key, then @words u64 counters summed over CPUs. */
static void put_record(char *slot, size_t elem_sz, const void *key, size_t key_sz,
		       const __u64 *vals, int ncpu, size_t words)
{
	memset(slot, 0, elem_sz);
	memcpy(slot, key, key_sz);
	sum_percpu((__u64 *)(slot + elem_sz - words * sizeof(__u64)), vals, ncpu, words);
}

#define BATCH	256	/* hash entries per lookup_batch call */

/*
 * Appends a per-CPU hash to *@arr (*@nr records of @elem_sz bytes, capacity
 * *@cap), each the key followed at the end by @words u64 counters summed
 * over CPUs. Batched lookups (a syscall per 256 entries); key by key where
 * the kernel has no batch operations for hashes.
 */
static int read_percpu_hash(int fd, size_t key_sz, size_t words,
			    void **arr, size_t *nr, size_t *cap, size_t elem_sz,
			    struct kvmmt_err *e, const char *what)
{
	int ncpu = libbpf_num_possible_cpus();
	size_t vsz = words * sizeof(__u64), chunk = BATCH;
	__u64 tok = 0, *vals = NULL;
	bool first = true, done = false;
	char *keys = NULL, key[16], next[16];
	void *prev = NULL;
	int err = 0;

	if (ncpu < 0)
		return kvmmt_errf(e, ncpu, "cannot count possible CPUs");
	while (!done) {
		__u32 count = chunk;

		if (!keys) {	/* the first batch, or a chunk outgrown */
			free(vals);
			keys = malloc(chunk * key_sz);
			vals = malloc(chunk * ncpu * vsz);
		}
		if (!keys || !vals)
			goto nomem;
		if (bpf_map_lookup_batch(fd, first ? NULL : &tok, &tok, keys, vals,
					 &count, NULL)) {
			if (errno == ENOSPC && count == 0) {
				chunk *= 2;	/* a bucket holds more than a chunk */
				free(keys);
				keys = NULL;
				continue;
			}
			if (first && errno != ENOENT)
				goto one_by_one;
			if (errno != ENOENT) {
				err = -errno;
				goto fail;
			}
			done = true;
		}
		first = false;
		if (kvmmt_array_grow(arr, cap, *nr + count, elem_sz))
			goto nomem;
		for (__u32 i = 0; i < count; i++)
			put_record((char *)*arr + (*nr)++ * elem_sz, elem_sz,
				   keys + i * key_sz, key_sz, vals + (size_t)i * ncpu * words,
				   ncpu, words);
	}
	goto out;

one_by_one:
	while (!bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, key_sz);
		prev = key;
		if (bpf_map_lookup_elem(fd, key, vals))
			continue;	/* deleted under us */
		if (kvmmt_array_grow(arr, cap, *nr + 1, elem_sz))
			goto nomem;
		put_record((char *)*arr + (*nr)++ * elem_sz, elem_sz, key, key_sz,
			   vals, ncpu, words);
	}
	if (errno != ENOENT)
		err = -errno;
	goto fail;
nomem:
	err = -ENOMEM;
fail:
	if (err)
		err = kvmmt_errf(e, err, "cannot read the %s map: %s", what,
				 errstr(-err));
out:
	free(keys);
	free(vals);
	return err;
}

static int cmp_inst(const void *a, const void *b)
{
	return memcmp(&((const struct kvmmt_install_count *)a)->key,
		      &((const struct kvmmt_install_count *)b)->key,
		      sizeof(struct kvmmt_inst_key));
}

static int cmp_vm(const void *a, const void *b)
{
	__u32 x = ((const struct kvmmt_vm_count *)a)->tgid;
	__u32 y = ((const struct kvmmt_vm_count *)b)->tgid;

	return x < y ? -1 : x > y;
}

/*
 * One entry per key: a key's hash entry and its fast entries (one per CPU
 * at most) are added up after a sort, not by searching for each.
 */
static void merge_counts(struct kvmmt_counters *c)
{
	size_t n = 0;

	if (c->nr_inst)		/* qsort() takes no NULL array, even empty */
		qsort(c->inst, c->nr_inst, sizeof(*c->inst), cmp_inst);
	for (size_t i = 0; i < c->nr_inst; i++) {
		if (n && !cmp_inst(&c->inst[n - 1], &c->inst[i]))
			c->inst[n - 1].count += c->inst[i].count;
		else
			c->inst[n++] = c->inst[i];
	}
	c->nr_inst = n;
	n = 0;
	if (c->nr_vms)
		qsort(c->vms, c->nr_vms, sizeof(*c->vms), cmp_vm);
	for (size_t i = 0; i < c->nr_vms; i++) {
		if (n && c->vms[n - 1].tgid == c->vms[i].tgid)
			sum_percpu(c->vms[n - 1].c.c, c->vms[i].c.c, 1, KVMMT_C__MAX);
		else
			c->vms[n++] = c->vms[i];
	}
	c->nr_vms = n;
}

/*
 * Reads all @n entries of a per-CPU array of @sz-byte values (a multiple
 * of 8) into *@out, a new array of n * *ncpu values, key-major. One
 * batched lookup where the kernel has it. 0 or a negative errno (@e set).
 */
static int read_percpu_array(int fd, __u32 n, size_t sz, void **out, int *ncpu,
			     struct kvmmt_err *e, const char *what)
{
	__u32 *keys, next = 0, count = n;
	char *vals;
	int err;

	*out = NULL;
	*ncpu = libbpf_num_possible_cpus();
	if (*ncpu < 0)
		return kvmmt_errf(e, *ncpu, "cannot count possible CPUs");
	vals = calloc((size_t)n * *ncpu, sz);
	keys = calloc(n, sizeof(*keys));
	if (!vals || !keys) {
		free(vals);
		free(keys);
		return kvmmt_errf(e, -ENOMEM, "out of memory");
	}
	err = bpf_map_lookup_batch(fd, NULL, &next, keys, vals, &count, NULL);
	free(keys);
	if ((err && errno != ENOENT) || count != n) {
		for (__u32 k = 0; k < n; k++) {
			if (!bpf_map_lookup_elem(fd, &k, vals + (size_t)k * *ncpu * sz))
				continue;
			err = kvmmt_errf(e, -errno, "cannot read the %s map: %s", what,
					 errstr(errno));
			free(vals);
			return err;
		}
	}
	*out = vals;
	return 0;
}

/* Appends the per-CPU vm_fast entries (each owned by one tgid per CPU). */
static int read_vm_fast(struct kvmmt_bpf *skel, struct kvmmt_counters *c,
			size_t *cap, struct kvmmt_err *e)
{
	struct kvmmt_vm_fast *vals;
	int ncpu, err;

	err = read_percpu_array(bpf_map__fd(skel->maps.vm_fast), KVMMT_VM_FAST,
				sizeof(*vals), (void **)&vals, &ncpu, e, "per-VM counters");
	if (err)
		return err;
	for (size_t i = 0; i < (size_t)KVMMT_VM_FAST * ncpu; i++) {
		if (!vals[i].tgid)
			continue;
		if (kvmmt_array_grow((void **)&c->vms, cap, c->nr_vms + 1, sizeof(*c->vms))) {
			err = kvmmt_errf(e, -ENOMEM, "out of memory");
			break;
		}
		c->vms[c->nr_vms].tgid = vals[i].tgid;
		c->vms[c->nr_vms++].c = vals[i].c;
	}
	free(vals);
	return err;
}

/* Appends the per-CPU inst_fast entries (each owned by one key per CPU). */
static int read_inst_fast(struct kvmmt_bpf *skel, struct kvmmt_counters *c,
			  size_t *cap, struct kvmmt_err *e)
{
	struct kvmmt_inst_fast *vals;
	int ncpu, err;

	err = read_percpu_array(bpf_map__fd(skel->maps.inst_fast), KVMMT_INST_FAST,
				sizeof(*vals), (void **)&vals, &ncpu, e, "installs");
	if (err)
		return err;
	for (size_t i = 0; i < (size_t)KVMMT_INST_FAST * ncpu; i++) {
		if (!vals[i].key.tgid)
			continue;
		if (kvmmt_array_grow((void **)&c->inst, cap, c->nr_inst + 1, sizeof(*c->inst))) {
			err = kvmmt_errf(e, -ENOMEM, "out of memory");
			break;
		}
		c->inst[c->nr_inst].key = vals[i].key;
		c->inst[c->nr_inst++].count = vals[i].count;
	}
	free(vals);
	return err;
}

int kvmmt_dp_read_counters(struct kvmmt_dp *dp, struct kvmmt_counters *c,
			   struct kvmmt_err *e)
{
	int err = kvmmt_skel_read_counters(dp->skel, c, e);

	if (!err && dp->release_ns) {
		err = kvmmt_dp_release_exited(dp->skel, dp->release_ns, e);
		if (err < 0)
			kvmmt_counters_free(c);
		else
			err = 0;
	}
	return err;
}

int kvmmt_skel_read_counters(struct kvmmt_bpf *skel, struct kvmmt_counters *c,
			     struct kvmmt_err *e)
{
	int ncpu = libbpf_num_possible_cpus();
	size_t icap = 0, vcap = 0;
	__u64 *vals;
	int err;

	memset(c, 0, sizeof(*c));
	err = read_percpu_hash(bpf_map__fd(skel->maps.installs),
			       sizeof(struct kvmmt_inst_key), 1, (void **)&c->inst,
			       &c->nr_inst, &icap, sizeof(*c->inst), e, "installs");
	if (!err)
		err = read_inst_fast(skel, c, &icap, e);
	if (!err)
		err = read_percpu_hash(bpf_map__fd(skel->maps.vm_ctrs), sizeof(__u32),
				       KVMMT_C__MAX, (void **)&c->vms, &c->nr_vms,
				       &vcap, sizeof(*c->vms), e, "per-VM counters");
	if (!err)
		err = read_vm_fast(skel, c, &vcap, e);
	if (err)
		goto fail;
	merge_counts(c);
	/* per-VM installs: the sum of the VM's install keys (sorted: adjacent) */
	for (size_t i = 0; i < c->nr_inst; i++) {
		struct kvmmt_vm_count v = { .tgid = c->inst[i].key.tgid };

		if (i && c->inst[i - 1].key.tgid == v.tgid) {
			c->vms[c->nr_vms - 1].c.c[KVMMT_C_INSTALLS] += c->inst[i].count;
			continue;
		}
		if (kvmmt_array_grow((void **)&c->vms, &vcap, c->nr_vms + 1, sizeof(*c->vms))) {
			err = kvmmt_errf(e, -ENOMEM, "out of memory");
			goto fail;
		}
		v.c.c[KVMMT_C_INSTALLS] = c->inst[i].count;
		c->vms[c->nr_vms++] = v;
	}
	merge_counts(c);

	vals = calloc(ncpu > 0 ? ncpu : 1, sizeof(__u64));
	if (!vals) {
		err = kvmmt_errf(e, -ENOMEM, "out of memory");
		goto fail;
	}
	for (__u32 i = 0; i < KVMMT_G__MAX; i++) {
		if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.gstats), &i, vals))
			continue;
		sum_percpu(&c->g[i], vals, ncpu, 1);
	}
	free(vals);
	return 0;
fail:
	kvmmt_counters_free(c);
	return err;
}

#define RELEASE_MAX	256	/* exited processes released per call */

static bool tgid_in(const __u32 *set, int n, __u32 tgid)
{
	for (int i = 0; i < n; i++)
		if (set[i] == tgid)
			return true;
	return false;
}

int kvmmt_dp_release_exited(struct kvmmt_bpf *skel, __u64 age_ns, struct kvmmt_err *e)
{
	int exited = bpf_map__fd(skel->maps.exited), inst = bpf_map__fd(skel->maps.installs);
	__u32 dead[RELEASE_MAX], key, next;
	struct kvmmt_inst_key ik, *iprev = NULL, *gone = NULL;
	size_t ngone = 0, cap = 0;
	struct timespec ts;
	int n = 0, ncpu = libbpf_num_possible_cpus();
	__u64 when, now;

	if (ncpu < 0)
		return kvmmt_errf(e, ncpu, "cannot count possible CPUs");
	/* bpf_ktime_get_ns() is CLOCK_MONOTONIC */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	for (bool first = true; n < RELEASE_MAX &&
	     !bpf_map_get_next_key(exited, first ? NULL : &key, &next); first = false) {
		key = next;
		if (!bpf_map_lookup_elem(exited, &key, &when) && now - when >= age_ns)
			dead[n++] = key;
	}
	if (!n)
		return 0;
	/* the hash entries first: nothing writes a dead process's */
	while (!bpf_map_get_next_key(inst, iprev, &ik)) {
		if (tgid_in(dead, n, ik.tgid)) {
			if (ngone == cap) {
				void *g = realloc(gone, (cap = cap ? 2 * cap : 64) * sizeof(*gone));

				if (!g) {
					free(gone);
					return kvmmt_errf(e, -ENOMEM, "out of memory");
				}
				gone = g;
			}
			gone[ngone++] = ik;
		}
		iprev = &ik;
	}
	for (size_t i = 0; i < ngone; i++)
		bpf_map_delete_elem(inst, &gone[i]);
	free(gone);
	for (int i = 0; i < n; i++) {
		struct kvmmt_release_args a = { .tgid = dead[i], .ncpu = ncpu };
		LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &a, .ctx_size_in = sizeof(a));

		bpf_map_delete_elem(bpf_map__fd(skel->maps.vm_ctrs), &dead[i]);
		if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.release_fast), &opts) ||
		    opts.retval)
			return kvmmt_errf(e, -(errno ? errno : EINVAL),
					  "cannot release the counters of exited process %u: %s",
					  dead[i], errstr(errno));
		bpf_map_delete_elem(exited, &dead[i]);
	}
	return n;
}

void kvmmt_counters_free(struct kvmmt_counters *c)
{
	if (!c)
		return;
	free(c->inst);
	free(c->vms);
	memset(c, 0, sizeof(*c));
}

/* Reads the whole iterator output. */
/*
 * One run of the VM iterator into dp->iter_buf (*@buf), which is kept and
 * grows to the largest run: a refresh a second of hundreds of VMs would
 * otherwise allocate and free tens of KiB each time.
 */
static int read_iter(struct kvmmt_dp *dp, char **buf, size_t *len,
		     struct kvmmt_err *e)
{
	int fd, err = 0;
	ssize_t n;

	fd = bpf_iter_create(bpf_link__fd(dp->iter));
	if (fd < 0)
		return kvmmt_errf(e, -errno, "cannot start the VM iterator: %s",
				  errstr(errno));
	*len = 0;
	for (;;) {
		if (dp->iter_cap - *len < 4096) {
			size_t cap = dp->iter_cap ? dp->iter_cap * 2 : 16384;
			char *nb = realloc(dp->iter_buf, cap);

			if (!nb) {
				err = kvmmt_errf(e, -ENOMEM, "out of memory");
				break;
			}
			dp->iter_buf = nb;
			dp->iter_cap = cap;
		}
		n = read(fd, dp->iter_buf + *len, dp->iter_cap - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = kvmmt_errf(e, -errno, "cannot read the VM iterator: %s",
					 errstr(errno));
			break;
		}
		if (n == 0)
			break;
		*len += n;
	}
	close(fd);
	*buf = dp->iter_buf;
	return err;
}

static bool seen_kvm(const struct kvmmt_vm_list *l, __u64 kvm_id)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].vm.kvm_id == kvm_id)
			return true;
	return false;
}

/*
 * The memslots held per VM (known_vm, vm_known): the iterator walks a
 * VM's memslots only when they changed since the last whole walk that was
 * read here, so that a refresh of hundreds of VMs costs a record each.
 */
static int cmp_known(const void *a, const void *b)
{
	__u64 x = ((const struct known_vm *)a)->kvm_id;
	__u64 y = ((const struct known_vm *)b)->kvm_id;

	return x < y ? -1 : x > y;
}

static struct known_vm *find_known(const struct kvmmt_dp *dp, __u64 kvm_id)
{
	struct known_vm key = { .kvm_id = kvm_id };

	if (!dp->nr_known)
		return NULL;
	return bsearch(&key, dp->known, dp->nr_known, sizeof(key), cmp_known);
}

static void free_known(struct known_vm *k, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(k[i].slots);
	free(k);
}

/* Forgets every VM's memslots, here and in vm_known: the next walk is whole. */
static void forget_known(struct kvmmt_dp *dp)
{
	int fd = dp->skel ? bpf_map__fd(dp->skel->maps.vm_known) : -1;

	for (size_t i = 0; fd >= 0 && i < dp->nr_known; i++)
		bpf_map_delete_elem(fd, &dp->known[i].kvm_id);
	free_known(dp->known, dp->nr_known);
	dp->known = NULL;
	dp->nr_known = 0;
}

static bool same_known(const struct known_vm *a, const struct known_vm *b)
{
	return !memcmp(&a->k, &b->k, sizeof(a->k)) &&
	       !memcmp(a->slots, b->slots, a->k.nr_slots * sizeof(*a->slots));
}

/*
 * After a read: hold the memslots of every VM that @l read whole (with a
 * generation), keep those it read as unchanged, and drop the rest, here
 * and in vm_known. Holding is an economy: when memory runs out, all is
 * forgotten and the iterator walks every VM again.
 */
static void hold_known(struct kvmmt_dp *dp, const struct kvmmt_vm_list *l)
{
	int fd = bpf_map__fd(dp->skel->maps.vm_known);
	struct known_vm *nk = calloc(l->n ? l->n : 1, sizeof(*nk));
	size_t n = 0;

	if (!nk) {
		forget_known(dp);
		return;
	}
	for (size_t i = 0; i < l->n; i++) {
		const struct kvmmt_vm_info *vi = &l->v[i];
		struct known_vm *old = find_known(dp, vi->vm.kvm_id);
		struct known_vm k = {
			.kvm_id = vi->vm.kvm_id,
			.k = {
				.slots_gen = vi->vm.slots_gen,
				.slot_pages = vi->vm.slot_pages,
				.tgid = vi->vm.tgid,
				.nr_slots = vi->nr_slots,
				.valid = vi->vm.valid & KVMMT_VF_TRUNCATED,
			},
			.slots = vi->slots,
		};

		if (!(vi->vm.valid & KVMMT_VF_SLOTS_GEN))
			continue;
		if (old && old->slots && same_known(old, &k)) {
			nk[n++] = *old;
			old->slots = NULL;
			continue;
		}
		k.slots = malloc(vi->nr_slots ? vi->nr_slots * sizeof(*k.slots) : 1);
		if (!k.slots)
			continue;
		memcpy(k.slots, vi->slots, vi->nr_slots * sizeof(*k.slots));
		if (bpf_map_update_elem(fd, &k.kvm_id, &k.k, BPF_ANY)) {
			free(k.slots);
			continue;
		}
		nk[n++] = k;
	}
	qsort(nk, n, sizeof(*nk), cmp_known);
	/* what is no longer held goes from vm_known too */
	for (size_t i = 0; i < dp->nr_known; i++) {
		struct known_vm key = { .kvm_id = dp->known[i].kvm_id };

		if (!n || !bsearch(&key, nk, n, sizeof(key), cmp_known))
			bpf_map_delete_elem(fd, &key.kvm_id);
	}
	free_known(dp->known, dp->nr_known);
	dp->known = nk;
	dp->nr_known = n;
}

/* One VM record's slots: those that follow it, or those held for it. */
static int vm_slots_of(struct kvmmt_dp *dp, struct kvmmt_vm_info *vi,
		       const char *recs)
{
	size_t len = (size_t)vi->nr_slots * sizeof(*vi->slots);
	const struct known_vm *k;

	vi->slots = calloc(vi->nr_slots ? vi->nr_slots : 1, sizeof(*vi->slots));
	if (!vi->slots)
		return -ENOMEM;
	if (!(vi->vm.valid & KVMMT_VF_SLOTS_SAME)) {
		memcpy(vi->slots, recs, len);
		return 0;
	}
	k = find_known(dp, vi->vm.kvm_id);
	if (!k || !k->slots || k->k.nr_slots != vi->nr_slots ||
	    k->k.slots_gen != vi->vm.slots_gen || k->k.tgid != vi->vm.tgid)
		return -ESTALE;
	memcpy(vi->slots, k->slots, len);
	return 0;
}

static int read_vms(struct kvmmt_dp *dp, struct kvmmt_vm_list *out,
		    struct kvmmt_err *e)
{
	size_t len = 0, off = 0, cap = 0;
	char *buf;
	int err;

	out->v = NULL;
	out->n = 0;
	err = read_iter(dp, &buf, &len, e);
	if (err)
		return err;

	while (off + sizeof(struct kvmmt_vm_rec) <= len) {
		struct kvmmt_vm_rec vm;
		struct kvmmt_vm_info *vi;
		size_t slots_len;

		memcpy(&vm, buf + off, sizeof(vm));
		if (vm.kind != KVMMT_REC_VM || vm.nr_slots > KVMMT_ITER_MAX_SLOTS)
			goto bad;
		off += sizeof(vm);
		slots_len = vm.valid & KVMMT_VF_SLOTS_SAME ? 0 :
			    (size_t)vm.nr_slots * sizeof(struct kvmmt_slot_rec);
		if (off + slots_len > len)
			goto bad;
		/* a process holding several fds of one VM: report it once */
		if (seen_kvm(out, vm.kvm_id)) {
			off += slots_len;
			continue;
		}
		if (out->n == cap) {
			void *n = realloc(out->v, (cap = cap ? cap * 2 : 8) * sizeof(*out->v));

			if (!n) {
				err = kvmmt_errf(e, -ENOMEM, "out of memory");
				goto fail;
			}
			out->v = n;
		}
		vi = &out->v[out->n++];
		vi->vm = vm;
		vi->nr_slots = vm.nr_slots;
		vi->walked = !(vm.valid & KVMMT_VF_SLOTS_SAME);
		err = vm_slots_of(dp, vi, buf + off);
		if (err) {
			out->n--;
			if (err == -ESTALE)
				goto fail;
			err = kvmmt_errf(e, err, "out of memory");
			goto fail;
		}
		off += slots_len;
	}
	if (off != len)
		goto bad;
	hold_known(dp, out);
	/* how the iterator sent the slots is not the VMs' business */
	for (size_t i = 0; i < out->n; i++)
		out->v[i].vm.valid &= ~(KVMMT_VF_SLOTS_GEN | KVMMT_VF_SLOTS_SAME);
	return 0;
bad:
	err = kvmmt_errf(e, -EPROTO,
			 "the VM iterator returned a malformed record at byte %zu of %zu",
			 off, len);
fail:
	kvmmt_vm_list_free(out);
	return err;
}

int kvmmt_dp_read_vms(struct kvmmt_dp *dp, struct kvmmt_vm_list *out,
		      struct kvmmt_err *e)
{
	int err = read_vms(dp, out, e);

	/* a VM sent as unchanged that is not held here: walk every VM again */
	if (err == -ESTALE) {
		forget_known(dp);
		err = read_vms(dp, out, e);
		if (err == -ESTALE)
			err = kvmmt_errf(e, -EPROTO,
					 "the VM iterator sent a VM as unchanged that was never read whole");
	}
	return err;
}

void kvmmt_vm_list_free(struct kvmmt_vm_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].slots);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

int kvmmt_dp_fd(const struct kvmmt_dp *dp)
{
	return dp->rb ? ring_buffer__epoll_fd(dp->rb) : -1;
}

int kvmmt_dp_poll(struct kvmmt_dp *dp, int timeout_ms, kvmmt_event_fn fn,
		  void *ctx)
{
	int err;

	if (!dp->rb)
		return -EINVAL;
	dp->fn = fn;
	dp->fn_ctx = ctx;
	dp->consumed = 0;
	err = ring_buffer__poll(dp->rb, timeout_ms);
	if (err < 0 && err != -EINTR)
		return err;
	/* The kernel side wakes us only in batches: drain what is left. */
	err = ring_buffer__consume(dp->rb);
	if (err < 0)
		return err;
	return dp->consumed;
}

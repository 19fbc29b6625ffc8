/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
#ifndef KVMMT_VMREG_H
#define KVMMT_VMREG_H

/*
 * The VM registry: every VM a program watches, keyed by its VMM's pid and
 * process start time (a reused pid is a new VM). Each entry holds the VM's
 * identity (name from the QEMU or libvirt command line, else comm), its
 * host maps (the VMM's device mappings; the host's PAT reservations are
 * shared) and its risk model (policy.c). The registry consumes data-path
 * events and iterator snapshots; the programs keep only what is theirs in
 * an entry's @priv (QMP state, a report's counts).
 */
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>
#include "clock.h"
#include "datapath.h"
#include "hostmap.h"
#include "policy.h"
#include "procinfo.h"
#include "err.h"

struct kvmmt_vm {
	pid_t pid;
	__u64 start_time;		/* /proc/PID/stat starttime, 0 if unknown */
	char name[64];
	enum kvmmt_name_src name_src;
	int noncoherent;		/* noncoherent DMA count, -1 if unknown */
	struct kvmmt_policy_vm *model;
	struct kvmmt_hostmap maps;	/* the VMM's device mappings, by hva page */
	void *priv;			/* the program's own state of this VM */
	double maps_read;		/* when @maps was read (kvmmt_now()) */
	__u64 layout;			/* /proc/PID/maps fingerprint @maps is of */
	bool layout_known;
	/*
	 * The mm write-lock sequence (the iterator's KVMMT_VF_MM_SEQ), taken
	 * before @maps was read: while the kernel reports it unchanged, the
	 * mappings are too, and nothing in /proc is read again.
	 */
	__u32 maps_seq;
	bool maps_seq_known;
	int pidfd;			/* the VMM process, -1: its start time is polled */
};

struct kvmmt_vmreg_opts {
	enum kvmmt_fmt fmt;		/* the host's SPTE format */
	__u64 host_pat;			/* the host's IA32_PAT, for decoding */
	/*
	 * "/proc" (or a fixture tree) for live VMMs: names, start times and
	 * device mappings are read there. NULL for a capture: the caller
	 * names VMs and gives host maps (kvmmt_vmreg_set_pat/_set_maps).
	 */
	const char *proc_root;
	const char *pat_list;		/* pat_memtype_list path, NULL: none */
	double reread_s;		/* host maps are re-read after this long */
	const pid_t *pids;		/* watch only these (copied), or NULL */
	size_t nr_pids;
	/*
	 * Called when an entry is added (it may set vm->priv; a negative errno
	 * refuses the entry) and before an entry goes.
	 */
	int (*added)(struct kvmmt_vm *vm, void *ctx);
	void (*removed)(struct kvmmt_vm *vm, void *ctx);
	void *ctx;
};

struct kvmmt_vmreg;

int kvmmt_vmreg_new(struct kvmmt_vmreg **out, const struct kvmmt_vmreg_opts *o,
		    struct kvmmt_err *e);
/* Removes every entry (calling removed()) and frees the registry. */
void kvmmt_vmreg_free(struct kvmmt_vmreg *r);

/* Entries in the order they were added; valid until they are removed. */
size_t kvmmt_vmreg_len(const struct kvmmt_vmreg *r);
struct kvmmt_vm *kvmmt_vmreg_at(const struct kvmmt_vmreg *r, size_t i);
struct kvmmt_vm *kvmmt_vmreg_find(const struct kvmmt_vmreg *r, pid_t pid);
/* A VM by pid (all digits) or by name. */
struct kvmmt_vm *kvmmt_vmreg_lookup(const struct kvmmt_vmreg *r, const char *target);
bool kvmmt_vmreg_watched(const struct kvmmt_vmreg *r, pid_t pid);

/*
 * The entry of @pid, added if it is watched and not known yet: identity and
 * host maps are read then, so the first install is judged with them.
 * NULL if @pid is not watched, or -ENOMEM in @e.
 */
struct kvmmt_vm *kvmmt_vmreg_get(struct kvmmt_vmreg *r, pid_t pid,
				 struct kvmmt_err *e);

/* One data-path event into its VM's model. Returns the VM (or NULL). */
struct kvmmt_vm *kvmmt_vmreg_event(struct kvmmt_vmreg *r, const struct kvmmt_event *ev,
				   struct kvmmt_err *e);
/*
 * An iterator snapshot: each VM's noncoherent DMA count, disabled quirks
 * and memslots (as the records are); where a record carries the mm
 * write-lock sequence, a VM whose sequence moved has its device mappings
 * (smaps) read again at once. 0 or the first error.
 */
int kvmmt_vmreg_snapshot(struct kvmmt_vmreg *r, const struct kvmmt_vm_list *l,
			 struct kvmmt_err *e);

/*
 * Re-read what is due at @now (kvmmt_now()): the PAT reservations and the
 * device mappings older than reread_s of each VM whose mm write-lock
 * sequence is not known (smaps only when the process's mappings changed:
 * kvmmt_hostmap_layout()); then drop the VMs whose process
 * is gone or whose pid now belongs to another process (a pidfd where the
 * proc root is the live "/proc"). Only with a proc root.
 */
void kvmmt_vmreg_refresh(struct kvmmt_vmreg *r, double now);

/* The host's SPTE format and PAT, when known only later (a capture). */
void kvmmt_vmreg_set_format(struct kvmmt_vmreg *r, enum kvmmt_fmt fmt, __u64 host_pat);

/* Host maps given by the caller (a capture's record); copied. */
int kvmmt_vmreg_set_pat(struct kvmmt_vmreg *r, const struct kvmmt_hostmap *pat);
int kvmmt_vmreg_set_maps(struct kvmmt_vmreg *r, struct kvmmt_vm *vm,
			 const struct kvmmt_hostmap *maps);
/* The proc root the registry reads, or NULL. */
const char *kvmmt_vmreg_proc_root(const struct kvmmt_vmreg *r);
/* The host's PAT reservations as last read (n == 0: none known). */
const struct kvmmt_hostmap *kvmmt_vmreg_pat(const struct kvmmt_vmreg *r);

#endif

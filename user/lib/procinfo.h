/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
#ifndef KVMMT_PROCINFO_H
#define KVMMT_PROCINFO_H

/*
 * What /proc says about a VMM process: its VM name, vCPU threads and start
 * time. Every function takes the proc root ("/proc", or a fixture tree).
 */
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>

enum kvmmt_name_src {
	KVMMT_NAME_NONE = 0,	/* nothing readable */
	KVMMT_NAME_QEMU,	/* QEMU -name (libvirt passes the domain as guest=) */
	KVMMT_NAME_COMM,	/* /proc/PID/comm */
	KVMMT_NAME_ITER,	/* comm as the kernel iterator saw it */
};

const char *kvmmt_name_src_name(enum kvmmt_name_src src);

/*
 * The guest name in a QEMU -name argument: "guest=NAME,debug-threads=on",
 * "NAME" or "NAME,process=..." (QemuOpts syntax: "guest" is the implied
 * key, ",," is a literal comma). 0, or -ENOENT if it names no guest.
 */
int kvmmt_qemu_name_arg(const char *arg, char *out, size_t len);
/* The same from a NUL-separated command line (/proc/PID/cmdline). */
int kvmmt_qemu_cmdline_name(const char *cmdline, size_t cmdline_len, char *out,
			    size_t len);

/* Longest unix socket path (sun_path) with its NUL. */
#define KVMMT_SUN_PATH_MAX	108

/*
 * QMP sockets on a QEMU command line: "-qmp unix:PATH,..." and a
 * "-chardev socket,id=X,path=PATH" used by "-mon chardev=X,mode=control".
 * Fills up to @max paths in command-line order; returns how many, or -errno.
 */
int kvmmt_qemu_cmdline_qmp(const char *cmdline, size_t len,
			   char (*paths)[KVMMT_SUN_PATH_MAX], int max);
/* The same from /proc/PID/cmdline. */
int kvmmt_proc_qmp_sockets(const char *proc_root, pid_t pid,
			   char (*paths)[KVMMT_SUN_PATH_MAX], int max);

/* Whether the process runs QEMU (qemu-system-*, qemu-kvm). */
bool kvmmt_proc_is_qemu(const char *proc_root, pid_t pid);
/* Whether the process holds a KVM VM file descriptor. */
bool kvmmt_proc_holds_vm(const char *proc_root, pid_t pid);

/* /proc/PID/comm without its newline. 0 or -errno. */
int kvmmt_proc_comm(const char *proc_root, pid_t pid, char *out, size_t len);
/* QEMU -name from /proc/PID/cmdline, else comm; @src says which. 0 or -errno. */
int kvmmt_proc_vm_name(const char *proc_root, pid_t pid, char *out, size_t len,
		       enum kvmmt_name_src *src);
/* Threads named "CPU N/KVM" (QEMU's vCPU threads); -errno if unreadable. */
int kvmmt_proc_vcpu_threads(const char *proc_root, pid_t pid);
/* Start time (field 22 of /proc/PID/stat, clock ticks after boot). 0 or -errno. */
int kvmmt_proc_start_time(const char *proc_root, pid_t pid, __u64 *ticks);

#endif

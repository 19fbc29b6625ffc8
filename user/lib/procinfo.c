// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "procinfo.h"

static const char *const src_names[] = {
	[KVMMT_NAME_NONE] = "none",
	[KVMMT_NAME_QEMU] = "qemu",
	[KVMMT_NAME_COMM] = "comm",
	[KVMMT_NAME_ITER] = "iterator",
};

const char *kvmmt_name_src_name(enum kvmmt_name_src src)
{
	if ((unsigned int)src >= sizeof(src_names) / sizeof(src_names[0]))
		return src_names[KVMMT_NAME_NONE];
	return src_names[src];
}

/* Names end up in a terminal: never copy control characters there. */
static void put_char(char *out, size_t len, size_t *n, char c)
{
	if (*n + 1 >= len)
		return;
	out[(*n)++] = ((unsigned char)c < 0x20 || c == 0x7f) ? '?' : c;
	out[*n] = '\0';
}

/* Copy one QemuOpts value from @p (",," is a comma) to @out; return its end. */
static const char *opt_value(const char *p, char *out, size_t len)
{
	size_t n = 0;

	if (len)
		out[0] = '\0';
	for (; *p; p++) {
		if (*p == ',') {
			if (p[1] != ',')
				break;
			p++;
		}
		if (out)
			put_char(out, len, &n, *p);
	}
	return p;
}

/*
 * The value of @key in a QemuOpts string "a=1,key=v,flag"; a first field
 * without "=" is the value of @implied ("guest" for -name), if any.
 */
static int qemu_opt(const char *arg, const char *key, const char *implied, char *out,
		    size_t len)
{
	size_t kl = strlen(key);
	const char *p = arg;
	bool found = false, first = true;

	if (!len)
		return -EINVAL;
	out[0] = '\0';
	while (*p) {
		size_t klen = strcspn(p, "=,");

		if (first && p[klen] != '=' && implied && !strcmp(implied, key)) {
			p = opt_value(p, out, len);
			found = true;
		} else if (p[klen] == '=' && klen == kl && !strncmp(p, key, kl)) {
			p = opt_value(p + kl + 1, out, len);
			found = true;
		} else {
			/* Another option (or a bare flag): skip its value. */
			p = opt_value(p + klen + (p[klen] == '='), NULL, 0);
		}
		first = false;
		if (*p == ',')
			p++;
	}
	if (!found || !out[0])
		return -ENOENT;
	return 0;
}

int kvmmt_qemu_name_arg(const char *arg, char *out, size_t len)
{
	return qemu_opt(arg, "guest", "guest", out, len);
}

#define MAX_ARGS	1024

/* Split a NUL-separated command line; "--opt" is "-opt" to QEMU. */
static int split_args(const char *cmdline, size_t len, const char **args)
{
	size_t off = 0;
	int argc = 0;

	while (off < len && argc < MAX_ARGS) {
		args[argc] = cmdline + off;
		off += strnlen(cmdline + off, len - off) + 1;
		if (off > len)
			break;		/* not NUL-terminated: cut off */
		if (args[argc][0] == '-' && args[argc][1] == '-')
			args[argc]++;
		argc++;
	}
	return argc;
}

int kvmmt_qemu_cmdline_qmp(const char *cmdline, size_t len, char (*paths)[KVMMT_SUN_PATH_MAX],
			   int max)
{
	const char **args = calloc(MAX_ARGS, sizeof(*args));
	char id[64], mode[32], chardev[512];
	int argc, found = 0;

	if (!args)
		return -ENOMEM;
	argc = split_args(cmdline, len, args);
	for (int i = 1; i + 1 < argc && found < max; i++) {
		const char *opt = args[i], *val = args[i + 1];

		if (!strcmp(opt, "-qmp") || !strcmp(opt, "-qmp-pretty")) {
			/* "unix:PATH,server=on,wait=off" */
			opt_value(val, chardev, sizeof(chardev));
			/* a path too long for a socket is not one */
			if (!strncmp(chardev, "unix:", 5) && chardev[5] &&
			    strlen(chardev + 5) < KVMMT_SUN_PATH_MAX)
				strcpy(paths[found++], chardev + 5);
		} else if (!strcmp(opt, "-mon") && !qemu_opt(val, "chardev", NULL, id, sizeof(id)) &&
			   !qemu_opt(val, "mode", NULL, mode, sizeof(mode)) &&
			   !strcmp(mode, "control")) {
			/* the socket chardev of that id: "-chardev socket,id=X,path=P" */
			for (int j = 1; j + 1 < argc; j++) {
				char backend[16], cid[64];

				if (strcmp(args[j], "-chardev") ||
				    qemu_opt(args[j + 1], "backend", "backend", backend, sizeof(backend)) ||
				    strcmp(backend, "socket") ||
				    qemu_opt(args[j + 1], "id", NULL, cid, sizeof(cid)) || strcmp(cid, id) ||
				    qemu_opt(args[j + 1], "path", NULL, chardev, sizeof(chardev)))
					continue;
				if (strlen(chardev) < KVMMT_SUN_PATH_MAX)
					strcpy(paths[found++], chardev);
				break;
			}
		}
	}
	free(args);
	return found;
}

int kvmmt_qemu_cmdline_name(const char *cmdline, size_t cmdline_len, char *out,
			    size_t len)
{
	const char *p = cmdline, *end = cmdline + cmdline_len;
	char tmp[256];
	int ret = -ENOENT;

	/* QEMU merges repeated -name options; the last guest= wins. */
	while (p < end) {
		const char *arg = p;
		size_t alen = strnlen(arg, end - arg);

		p += alen + 1;
		if (strcmp(arg, "-name") && strcmp(arg, "--name"))
			continue;
		if (p >= end)
			break;
		alen = strnlen(p, end - p);
		if (p + alen < end && !kvmmt_qemu_name_arg(p, tmp, sizeof(tmp))) {
			snprintf(out, len, "%s", tmp);
			ret = 0;
		}
		p += alen + 1;
	}
	return ret;
}

/* Read /proc/PID/@file into @buf (NUL-terminated); bytes read or -errno. */
static ssize_t read_proc(const char *root, pid_t pid, const char *file, char *buf,
			 size_t size)
{
	char path[512];
	ssize_t n, total = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/%d/%s", root, (int)pid, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((size_t)total < size - 1) {
		n = read(fd, buf + total, size - 1 - total);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			n = -errno;
			close(fd);
			return n;
		}
		if (!n)
			break;
		total += n;
	}
	close(fd);
	buf[total] = '\0';
	return total;
}

int kvmmt_proc_comm(const char *proc_root, pid_t pid, char *out, size_t len)
{
	char buf[64];
	ssize_t n = read_proc(proc_root, pid, "comm", buf, sizeof(buf));
	size_t i, o = 0;

	if (n < 0)
		return n;
	buf[strcspn(buf, "\n")] = '\0';
	if (len)
		out[0] = '\0';
	for (i = 0; buf[i]; i++)
		put_char(out, len, &o, buf[i]);
	return 0;
}

int kvmmt_proc_qmp_sockets(const char *proc_root, pid_t pid,
			   char (*paths)[KVMMT_SUN_PATH_MAX], int max)
{
	size_t size = 64 * 1024;
	char *cmd = malloc(size);
	ssize_t n;

	if (!cmd)
		return -ENOMEM;
	n = read_proc(proc_root, pid, "cmdline", cmd, size);
	n = n < 0 ? n : kvmmt_qemu_cmdline_qmp(cmd, n, paths, max);
	free(cmd);
	return n;
}

bool kvmmt_proc_is_qemu(const char *proc_root, pid_t pid)
{
	char argv0[512];
	const char *base;

	if (read_proc(proc_root, pid, "cmdline", argv0, sizeof(argv0)) <= 0)
		return false;	/* a kernel thread, or gone */
	base = strrchr(argv0, '/');
	base = base ? base + 1 : argv0;
	return !strncmp(base, "qemu-system-", 12) || !strcmp(base, "qemu-kvm");
}

bool kvmmt_proc_holds_vm(const char *proc_root, pid_t pid)
{
	char path[512], link[64];
	struct dirent *de;
	bool found = false;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/%d/fd", proc_root, (int)pid);
	dir = opendir(path);
	if (!dir)
		return false;
	while (!found && (de = readdir(dir))) {
		char fdpath[sizeof(path) + 300];
		ssize_t n;

		if (de->d_name[0] == '.')
			continue;
		snprintf(fdpath, sizeof(fdpath), "%s/%s", path, de->d_name);
		n = readlink(fdpath, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = 0;
		found = !strcmp(link, "anon_inode:kvm-vm");
	}
	closedir(dir);
	return found;
}

int kvmmt_proc_vm_name(const char *proc_root, pid_t pid, char *out, size_t len,
		       enum kvmmt_name_src *src)
{
	/* Long libvirt command lines run to tens of KiB; -name comes early. */
	size_t size = 64 * 1024;
	char *cmd = malloc(size);
	ssize_t n;
	int err;

	*src = KVMMT_NAME_NONE;
	if (!cmd)
		return -ENOMEM;
	n = read_proc(proc_root, pid, "cmdline", cmd, size);
	if (n > 0 && !kvmmt_qemu_cmdline_name(cmd, n, out, len)) {
		free(cmd);
		*src = KVMMT_NAME_QEMU;
		return 0;
	}
	free(cmd);
	err = kvmmt_proc_comm(proc_root, pid, out, len);
	if (err)
		return err;
	*src = KVMMT_NAME_COMM;
	return 0;
}

int kvmmt_proc_vcpu_threads(const char *proc_root, pid_t pid)
{
	char path[512], comm[64];
	struct dirent *d;
	int count = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/%d/task", proc_root, (int)pid);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((d = readdir(dir))) {
		char file[300];
		unsigned int cpu;
		char tail[8];

		if (d->d_name[0] == '.')
			continue;
		snprintf(file, sizeof(file), "task/%s/comm", d->d_name);
		if (read_proc(proc_root, pid, file, comm, sizeof(comm)) <= 0)
			continue;
		/* QEMU names vCPU threads "CPU %d/KVM" (comm is 15 bytes). */
		if (sscanf(comm, "CPU %u/%7s", &cpu, tail) == 2 && !strncmp(tail, "KVM", 3))
			count++;
	}
	closedir(dir);
	return count;
}

int kvmmt_proc_start_time(const char *proc_root, pid_t pid, __u64 *ticks)
{
	char buf[1024], *p;
	ssize_t n = read_proc(proc_root, pid, "stat", buf, sizeof(buf));
	int field;

	if (n < 0)
		return n;
	/* comm (field 2) may hold spaces and ')': fields restart after the last ')'. */
	p = strrchr(buf, ')');
	if (!p)
		return -EINVAL;
	p++;
	for (field = 3; field < 22; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return -EINVAL;
	}
	errno = 0;
	*ticks = strtoull(p + 1, NULL, 10);
	return errno ? -errno : 0;
}

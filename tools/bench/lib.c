// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Which parts of libkvmmt are present, and BPF program run times. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "bench.h"

bool lib_has(const void *sym, const char *what, char *why, size_t len)
{
	if (sym)
		return true;
	snprintf(why, len, "missing component: %s", what);
	return false;
}

bool kvmmt_dp_available(char *why, size_t len)
{
	return lib_has((const void *)kvmmt_dp_open,
		       "user/lib datapath (kvmmt_dp_open not in libkvmmt.a)", why, len);
}

const char *path_name(enum kvmmt_path p)
{
	static const char *const names[KVMMT_PATH__MAX] = {
		[KVMMT_PATH_NONE] = "none",
		[KVMMT_PATH_FENTRY] = "fentry",
		[KVMMT_PATH_TP_BTF] = "tp_btf",
		[KVMMT_PATH_RAW_TP] = "raw_tp",
		[KVMMT_PATH_TP] = "tp",
	};

	if (kvmmt_path_name)
		return kvmmt_path_name(p);
	return p < KVMMT_PATH__MAX && names[p] ? names[p] : "?";
}

int prog_stats_of(pid_t pid, struct prog_stats *ps)
{
	__u32 seen[256];
	int nseen = 0;
	char dir[64], path[1024], line[128];
	struct dirent *d;
	DIR *dp;

	memset(ps, 0, sizeof(*ps));
	snprintf(dir, sizeof(dir), "/proc/%d/fdinfo", pid);
	dp = opendir(dir);
	if (!dp)
		return -errno;
	while ((d = readdir(dp))) {
		struct bpf_prog_info info = { 0 };
		__u32 ilen = sizeof(info), id = 0;
		bool dup = false;
		FILE *f;
		int fd;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "prog_id: %u", &id) == 1)
				break;
		fclose(f);
		if (!id)
			continue;
		for (int i = 0; i < nseen; i++)
			dup |= seen[i] == id;
		if (dup || nseen == 256)
			continue;
		seen[nseen++] = id;
		fd = bpf_prog_get_fd_by_id(id);
		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &info, &ilen)) {
			ps->ns += info.run_time_ns;
			ps->cnt += info.run_cnt;
			ps->nprogs++;
		}
		close(fd);
	}
	closedir(dp);
	return 0;
}

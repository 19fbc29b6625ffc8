// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* BPF program run times of a process's programs. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "bench.h"

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
			if (ps->nprogs < BENCH_MAX_PROGS) {
				struct prog_one *o = &ps->p[ps->nprogs];

				snprintf(o->name, sizeof(o->name), "%s", info.name);
				o->id = info.id;
				o->ns = info.run_time_ns;
				o->cnt = info.run_cnt;
			}
			ps->nprogs++;
		}
		close(fd);
	}
	closedir(dp);
	return 0;
}

// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/* Files written whole or not at all (file.h). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "file.h"

int kvmmt_write_atomic(const char *path, const char *data, size_t len,
		       mode_t mode, struct kvmmt_err *e)
{
	char tmp[4200], dir[4096];
	size_t off = 0;
	int fd, dfd, err;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp))
		return kvmmt_errf(e, -ENAMETOOLONG, "path %s is too long", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return kvmmt_errf(e, -errno, "cannot create %s: %s", tmp, strerror(errno));
	/* @mode exactly, whatever the umask (the unit's UMask=0077 would hide a
	 * 0644 textfile from node_exporter, which runs as another user). */
	if (fchmod(fd, mode)) {
		err = kvmmt_errf(e, -errno, "cannot chmod %s: %s", tmp, strerror(errno));
		goto fail;
	}
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = kvmmt_errf(e, -errno, "cannot write %s: %s", tmp, strerror(errno));
			goto fail;
		}
		off += n;
	}
	if (fsync(fd)) {
		err = kvmmt_errf(e, -errno, "cannot sync %s: %s", tmp, strerror(errno));
		goto fail;
	}
	close(fd);
	fd = -1;
	if (rename(tmp, path)) {
		err = kvmmt_errf(e, -errno, "cannot rename %s to %s: %s", tmp, path,
				 strerror(errno));
		goto fail;
	}
	/* Make the rename itself durable. */
	snprintf(dir, sizeof(dir), "%s", path);
	dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return err;
}

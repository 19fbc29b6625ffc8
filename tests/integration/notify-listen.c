// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * notify-listen: test driver for policyd-service, a NOTIFY_SOCKET listener
 * like systemd's.
 *
 *   notify-listen SOCKET OUTFILE
 *	bind a datagram socket at SOCKET and append every notification to
 *	OUTFILE, one assignment per line, until SIGTERM or SIGINT; the
 *	socket is removed on exit. SOCKET exists once messages are accepted.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct sigaction act = { .sa_handler = on_signal };
	char buf[4096 + 1];
	FILE *out;
	int fd, rc = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: %s SOCKET OUTFILE\n", argv[0]);
		return 2;
	}
	if (strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "notify-listen: socket path %s is too long\n", argv[1]);
		return 2;
	}
	strcpy(sa.sun_path, argv[1]);
	/* No SA_RESTART: a signal must interrupt recv() so the loop ends. */
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	out = fopen(argv[2], "a");
	if (!out) {
		fprintf(stderr, "notify-listen: cannot open %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "notify-listen: cannot bind %s: %s\n", argv[1], strerror(errno));
		goto out;
	}
	while (!stop) {
		ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
		char *line, *save;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "notify-listen: recv: %s\n", strerror(errno));
			goto out_unlink;
		}
		buf[n] = '\0';
		for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			fprintf(out, "%s\n", line);
		fflush(out);
	}
	rc = 0;
out_unlink:
	unlink(argv[1]);
out:
	if (fd >= 0)
		close(fd);
	fclose(out);
	return rc;
}

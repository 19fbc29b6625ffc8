// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * Logging to stderr. Under systemd (stderr is the journal stream named by
 * $JOURNAL_STREAM) each line carries a "<N>" priority prefix that journald
 * turns into the entry's priority; on a terminal it reads as plain text.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include "policyd.h"

static int max_level = LOG_INFO;
static bool journal;

static bool stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(2, &st))
		return false;
	return st.st_dev == dev && st.st_ino == ino;
}

void log_init(int level)
{
	max_level = level;
	journal = stderr_is_journal();
}

void plog(int prio, const char *fmt, ...)
{
	static const char *const names[] = {
		[LOG_EMERG] = "emergency", [LOG_ALERT] = "alert", [LOG_CRIT] = "critical",
		[LOG_ERR] = "error", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
		[LOG_INFO] = "info", [LOG_DEBUG] = "debug",
	};
	char msg[1024];
	va_list ap;

	if (prio > max_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (journal)
		fprintf(stderr, "<%d>%s\n", prio, msg);
	else
		fprintf(stderr, "kvmmt-policyd: %s: %s\n", names[prio & 7], msg);
	fflush(stderr);
}

// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/* Manual flags in flags.json: what kvmmt-policyd writes, its readers read. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "flags.h"

static char dir[] = "/tmp/kvmmt-flags-XXXXXX";
static char path[256];

static void setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
	kvmmt_flags_path(dir, path, sizeof(path));
}

static void teardown(void)
{
	unlink(path);
	rmdir(dir);
}

TestSuite(flags, .init = setup, .fini = teardown);

static void write_text(const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

Test(flags, round_trip)
{
	const struct kvmmt_flag in[] = {
		{ .name = "web-1", .reason = "virtio-gpu blob", .since = 1700000000 },
		{ .pid = 4242, .starttime = 123456789, .reason = "", .since = 1700000001 },
	};
	struct kvmmt_flag *out;
	struct kvmmt_err e = {};
	struct stat st;
	size_t n;

	cr_assert_eq(kvmmt_flags_save(path, in, 2, &e), 0, "%s", e.msg);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600, "flags are root's alone");
	cr_assert_eq(kvmmt_flags_load(path, &out, &n, &e), 0, "%s", e.msg);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(out[0].name, "web-1");
	cr_assert_str_eq(out[0].reason, "virtio-gpu blob");
	cr_assert_eq(out[0].since, 1700000000);
	cr_assert_eq(out[1].pid, 4242);
	cr_assert_eq(out[1].starttime, 123456789);
	cr_assert_eq(kvmmt_flags_by_name(out, n, "web-1"), &out[0]);
	cr_assert_null(kvmmt_flags_by_name(out, n, "web-2"));
	cr_assert_null(kvmmt_flags_by_name(out, n, ""), "a flag by process has no name");
	free(out);
}

Test(flags, missing_file_is_no_flags)
{
	struct kvmmt_flag *out = (void *)1;
	size_t n = 7;

	cr_assert_eq(kvmmt_flags_load(path, &out, &n, NULL), 0);
	cr_assert_eq(n, 0);
	cr_assert_null(out);
}

Test(flags, damaged_files_are_errors)
{
	static const char *const bad[] = {
		"{\"flags\": [",			/* cut short */
		"{\"version\": 1}",			/* no array */
		"{\"flags\": [{\"reason\": \"who?\"}]}",	/* names no VM */
	};
	struct kvmmt_flag *out;
	struct kvmmt_err e = {};
	size_t n;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_text(bad[i]);
		cr_assert_eq(kvmmt_flags_load(path, &out, &n, &e), -EINVAL, "%s", bad[i]);
		cr_assert_eq(n, 0);
		cr_assert_null(out);
		cr_assert(strstr(e.msg, "cannot read"), "%s", e.msg);
	}
}

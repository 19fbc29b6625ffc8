// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * The facts a capture's host header records: what the kernel, CPU, KVM and
 * data path were when the capture was taken, so the file alone explains it.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <zlib.h>
#include "capture-prog.h"
#include "memtype.h"
#include "version.h"

/* Kernel config options whose names start with one of these are recorded. */
static const char *const config_prefixes[] = {
	"CONFIG_KVM", "CONFIG_BPF", "CONFIG_DEBUG_INFO_BTF", "CONFIG_X86_PAT",
	"CONFIG_MTRR", "CONFIG_KPROBES", "CONFIG_FTRACE", "CONFIG_FUNCTION_TRACER",
	"CONFIG_DYNAMIC_FTRACE", "CONFIG_VFIO", "CONFIG_TRANSPARENT_HUGEPAGE",
	"CONFIG_HUGETLBFS", "CONFIG_SECURITY_LOCKDOWN", "CONFIG_LOCK_DOWN",
	"CONFIG_PVM", "CONFIG_X86_64", "CONFIG_ARM64_", "CONFIG_HAVE_KVM",
};

int facts_add(struct facts *f, const char *key, const char *fmt, ...)
{
	struct kvmmt_cap_kv *kv;
	va_list ap;
	int n;

	if (f->n == KVMMT_CAP_MAX_KV)
		return -E2BIG;
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 64;

		kv = realloc(f->kv, cap * sizeof(*kv));
		if (!kv)
			return -ENOMEM;
		f->kv = kv;
		f->cap = cap;
	}
	kv = &f->kv[f->n];
	memset(kv, 0, sizeof(*kv));
	snprintf(kv->key, sizeof(kv->key), "%s", key);
	va_start(ap, fmt);
	n = vasprintf(&kv->val, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	if (n > KVMMT_CAP_MAX_VAL)
		kv->val[KVMMT_CAP_MAX_VAL] = 0;
	f->n++;
	return 0;
}

void facts_free(struct facts *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->kv[i].val);
	free(f->kv);
	memset(f, 0, sizeof(*f));
}

static void chomp(char *s)
{
	s[strcspn(s, "\n")] = 0;
}

static void add_cpu(struct facts *f)
{
	char line[512];
	FILE *in = fopen("/proc/cpuinfo", "r");

	if (!in)
		return;
	while (fgets(line, sizeof(line), in)) {
		char *colon = strchr(line, ':');

		if (!strncmp(line, "model name", 10) && colon) {
			chomp(colon);
			colon += strspn(colon + 1, " \t") + 1;
			facts_add(f, "cpu.model_name", "%s", colon);
			break;
		}
	}
	fclose(in);
}

static bool wanted_config(const char *name)
{
	for (size_t i = 0; i < sizeof(config_prefixes) / sizeof(config_prefixes[0]); i++)
		if (!strncmp(name, config_prefixes[i], strlen(config_prefixes[i])))
			return true;
	return false;
}

static void add_config(struct facts *f, const char *release)
{
	char path[256], line[512], key[sizeof(line) + 16];
	gzFile gz;

	snprintf(path, sizeof(path), "/proc/config.gz");
	gz = gzopen(path, "rb");
	if (!gz) {
		snprintf(path, sizeof(path), "/boot/config-%s", release);
		gz = gzopen(path, "rb");	/* reads plain text too */
	}
	if (!gz) {
		facts_add(f, "kernel.config.source", "none (no /proc/config.gz or /boot/config-%s)",
			  release);
		return;
	}
	facts_add(f, "kernel.config.source", "%s", path);
	while (gzgets(gz, line, sizeof(line))) {
		char *name = line, *val;

		chomp(line);
		if (!strncmp(line, "# CONFIG_", 9) && strstr(line, " is not set")) {
			name = line + 2;
			*strchr(name, ' ') = 0;
			val = "n";
		} else if (!strncmp(line, "CONFIG_", 7) && (val = strchr(line, '='))) {
			*val++ = 0;
		} else {
			continue;
		}
		if (!wanted_config(name))
			continue;
		snprintf(key, sizeof(key), "kernel.config.%s", name);
		facts_add(f, key, "%s", val);
	}
	gzclose(gz);
}

static void add_kvm_params(struct facts *f)
{
	glob_t g;

	if (glob("/sys/module/kvm*/parameters/*", 0, NULL, &g))
		return;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		char mod[64], name[128], key[256], val[256];
		FILE *in;

		if (sscanf(g.gl_pathv[i], "/sys/module/%63[^/]/parameters/%127s", mod, name) != 2)
			continue;
		in = fopen(g.gl_pathv[i], "r");
		if (!in)
			continue;
		if (fgets(val, sizeof(val), in)) {
			chomp(val);
			snprintf(key, sizeof(key), "kvm.param.%s.%s", mod, name);
			facts_add(f, key, "%s", val);
		}
		fclose(in);
	}
	globfree(&g);
}

static void add_btf(struct facts *f)
{
	unsigned char buf[65536];
	unsigned long long size = 0;
	uLong crc = crc32(0, NULL, 0);
	ssize_t n;
	int fd = open("/sys/kernel/btf/vmlinux", O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		facts_add(f, "btf.size", "none");
		return;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		crc = crc32(crc, buf, n);
		size += n;
	}
	close(fd);
	facts_add(f, "btf.size", "%llu", size);
	facts_add(f, "btf.crc32", "%08lx", crc);
}

/* The GNU build ID note in /sys/kernel/notes. */
static void add_build_id(struct facts *f)
{
	unsigned char buf[4096], *p;
	char hex[2 * 64 + 1];
	ssize_t n;
	int fd = open("/sys/kernel/notes", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	for (p = buf; n > 0 && p + 12 <= buf + n;) {
		__u32 namesz, descsz, type;
		size_t name_pad, desc_pad;

		memcpy(&namesz, p, 4);
		memcpy(&descsz, p + 4, 4);
		memcpy(&type, p + 8, 4);
		name_pad = (namesz + 3) & ~3u;
		desc_pad = (descsz + 3) & ~3u;
		if (name_pad > 256 || desc_pad > 1024 ||
		    p + 12 + name_pad + desc_pad > buf + n)
			return;
		if (type == 3 && namesz == 4 && !memcmp(p + 12, "GNU", 4) && descsz <= 64) {
			for (__u32 i = 0; i < descsz; i++)
				sprintf(hex + 2 * i, "%02x", p[12 + name_pad + i]);
			hex[2 * descsz] = 0;
			facts_add(f, "kernel.build_id", "%s", hex);
			return;
		}
		p += 12 + name_pad + desc_pad;
	}
}

int facts_collect(struct facts *f, const struct kvmmt_host *h, struct kvmmt_dp *dp)
{
	const struct kvmmt_probe *probes;
	struct utsname u;
	char key[KVMMT_CAP_MAX_KEY + 1];
	int i, n;

	facts_add(f, "kvmmt.version", "%s", KVMMT_VERSION);
	if (!uname(&u)) {
		facts_add(f, "kernel.version", "%s", u.version);
		facts_add(f, "host.name", "%s", u.nodename);
	}
	facts_add(f, "kernel.release", "%s", h->release);
	facts_add(f, "kernel.machine", "%s", h->machine);
	add_build_id(f);
	add_btf(f);
	facts_add(f, "cpu.vendor", "%s", h->cpu_vendor);
	facts_add(f, "cpu.family", "%d", h->cpu_family);
	facts_add(f, "cpu.model", "%d", h->cpu_model);
	add_cpu(f);
	facts_add(f, "kvm.backend", "%s", h->backend);
	facts_add(f, "kvm.tdp", "%d", h->tdp);
	facts_add(f, "spte.format", "%s", kvmmt_fmt_name(kvmmt_dp_fmt(dp)));
	facts_add(f, "host.pat", "0x%016llx", (unsigned long long)h->host_pat);
	facts_add(f, "host.pat_source", "%s", h->host_pat_read ? "msr" : "linux-default");
	facts_add(f, "attach.path", "%s", kvmmt_path_name(kvmmt_dp_path(dp)));
	n = kvmmt_dp_probes(dp, &probes);
	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "attach.probe.%d", i);
		if (probes[i].err)
			facts_add(f, key, "%s: %s (%s)", probes[i].method, strerror(-probes[i].err),
				  probes[i].detail);
		else
			facts_add(f, key, "%s: ok", probes[i].method);
	}
	add_kvm_params(f);
	add_config(f, h->release);
	return 0;
}

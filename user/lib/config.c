// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include "config.h"
#include "ctl.h"

void kvmmt_config_defaults(struct kvmmt_policyd_config *c)
{
	memset(c, 0, sizeof(*c));
	/* The seed thread's conclusion: honoured guest types already block. */
	c->block[KVMMT_RISK_LATENT] = true;
	c->block[KVMMT_RISK_ALIASING] = true;
	c->interval_s = 5;
	c->qmp_timeout_s = 5;
	strcpy(c->state_dir, "/var/lib/kvmmt");
	strcpy(c->control_socket, KVMMT_CTL_SOCKET);
	strcpy(c->pat_list, "/sys/kernel/debug/x86/pat_memtype_list");
	c->datapath = KVMMT_DP_AUTO;
	c->enforce = true;
	/* Never take a monitor meant for someone else by default. */
	strcpy(c->qmp_match, "kvmmt");
	c->log_level = LOG_INFO;
}

void kvmmt_config_free(struct kvmmt_policyd_config *c)
{
	free(c->qmp);
	c->qmp = NULL;
	c->nr_qmp = 0;
}

struct ctx {
	struct kvmmt_policyd_config *c;
	const char *file;
	int line;
	struct kvmmt_err *e;
};

#define fail(x, fmt, ...) \
	kvmmt_errf((x)->e, -EINVAL, "%s:%d: " fmt, (x)->file, (x)->line, ##__VA_ARGS__)

static int set_block(struct ctx *x, const char *key, char *v)
{
	char *tok, *save = NULL;
	bool b[KVMMT_RISK__MAX] = { 0 };

	(void)key;
	if (!strcmp(v, "never"))
		goto out;
	for (tok = strtok_r(v, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		enum kvmmt_risk r;

		if (kvmmt_risk_parse(tok, &r))
			return fail(x, "block: \"%s\" is not a risk class (none, latent, aliasing, or \"never\")",
				    tok);
		b[r] = true;
	}
out:
	memcpy(x->c->block, b, sizeof(b));
	return 0;
}

static int parse_seconds(struct ctx *x, const char *key, const char *v,
			 double lo, double hi, double *out)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(v, &end);
	if (end != v && !strcmp(end, "s"))
		end++;
	if (errno || end == v || *end || !isfinite(d) || d < lo || d > hi)
		return fail(x, "%s: \"%s\" is not a number of seconds between %g and %g",
			    key, v, lo, hi);
	*out = d;
	return 0;
}

static int set_interval(struct ctx *x, const char *key, char *v)
{
	return parse_seconds(x, key, v, 0.1, 3600, &x->c->interval_s);
}

static int set_qmp_timeout(struct ctx *x, const char *key, char *v)
{
	return parse_seconds(x, key, v, 0.1, 600, &x->c->qmp_timeout_s);
}

static int set_path(struct ctx *x, const char *key, const char *v, char *dst,
		    size_t size, bool may_be_empty)
{
	if (!*v && may_be_empty) {
		*dst = 0;
		return 0;
	}
	if (*v != '/')
		return fail(x, "%s: \"%s\" is not an absolute path", key, v);
	if (strlen(v) >= size)
		return fail(x, "%s: path is longer than %zu characters", key, size - 1);
	strcpy(dst, v);
	return 0;
}

static int set_state_dir(struct ctx *x, const char *key, char *v)
{
	return set_path(x, key, v, x->c->state_dir, sizeof(x->c->state_dir), false);
}

static int set_control_socket(struct ctx *x, const char *key, char *v)
{
	return set_path(x, key, v, x->c->control_socket, sizeof(x->c->control_socket), false);
}

static int set_metrics_textfile(struct ctx *x, const char *key, char *v)
{
	return set_path(x, key, v, x->c->metrics_textfile,
			sizeof(x->c->metrics_textfile), true);
}

static int set_pat_list(struct ctx *x, const char *key, char *v)
{
	return set_path(x, key, v, x->c->pat_list, sizeof(x->c->pat_list), true);
}

int kvmmt_config_parse_listen(const char *s, unsigned short *port)
{
	char *end;
	long p;

	if (strncmp(s, "127.0.0.1:", 10))
		return -EINVAL;
	errno = 0;
	p = strtol(s + 10, &end, 10);
	if (errno || end == s + 10 || *end || p < 1 || p > 65535)
		return -EINVAL;
	*port = p;
	return 0;
}

static int set_metrics_listen(struct ctx *x, const char *key, char *v)
{
	unsigned short port;

	if (*v && kvmmt_config_parse_listen(v, &port))
		return fail(x, "%s: \"%s\" is not 127.0.0.1:PORT (metrics are served on loopback only)",
			    key, v);
	snprintf(x->c->metrics_listen, sizeof(x->c->metrics_listen), "%s", v);
	return 0;
}

static int set_qmp_match(struct ctx *x, const char *key, char *v)
{
	if (strlen(v) >= sizeof(x->c->qmp_match))
		return fail(x, "%s: value is longer than %zu characters", key,
			    sizeof(x->c->qmp_match) - 1);
	strcpy(x->c->qmp_match, v);
	return 0;
}

static int set_datapath(struct ctx *x, const char *key, char *v)
{
	static const char *const names[] = { "auto", "on", "off" };

	for (size_t i = 0; i < 3; i++) {
		if (!strcmp(v, names[i])) {
			x->c->datapath = i;
			return 0;
		}
	}
	return fail(x, "%s: \"%s\" is not auto, on or off", key, v);
}

static int set_attach(struct ctx *x, const char *key, char *v)
{
	struct kvmmt_err e = {};

	if (kvmmt_path_parse(v, &x->c->attach, &e))
		return fail(x, "%s: %s", key, e.msg);
	return 0;
}

static int set_log_level(struct ctx *x, const char *key, char *v)
{
	static const char *const names[] = {
		[LOG_ERR] = "err", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
		[LOG_INFO] = "info", [LOG_DEBUG] = "debug",
	};

	for (int i = LOG_ERR; i <= LOG_DEBUG; i++) {
		if (names[i] && !strcmp(v, names[i])) {
			x->c->log_level = i;
			return 0;
		}
	}
	return fail(x, "%s: \"%s\" is not err, warning, notice, info or debug", key, v);
}

static int set_enforce(struct ctx *x, const char *key, char *v)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1"))
		x->c->enforce = true;
	else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0"))
		x->c->enforce = false;
	else
		return fail(x, "%s: \"%s\" is not yes or no", key, v);
	return 0;
}

static const struct {
	const char *key;
	int (*set)(struct ctx *x, const char *key, char *v);
} keys[] = {
	{ "block", set_block },
	{ "interval", set_interval },
	{ "qmp_timeout", set_qmp_timeout },
	{ "state_dir", set_state_dir },
	{ "control_socket", set_control_socket },
	{ "metrics_textfile", set_metrics_textfile },
	{ "metrics_listen", set_metrics_listen },
	{ "qmp_match", set_qmp_match },
	{ "pat_memtype_list", set_pat_list },
	{ "datapath", set_datapath },
	{ "attach", set_attach },
	{ "enforce", set_enforce },
	{ "log_level", set_log_level },
};

#define NR_KEYS (sizeof(keys) / sizeof(keys[0]))

static int set_qmp(struct ctx *x, const char *name, char *v)
{
	struct kvmmt_qmp_map *m;

	if (!*name || strlen(name) >= sizeof(m->name))
		return fail(x, "qmp.NAME: the VM name must be 1 to %zu characters",
			    sizeof(m->name) - 1);
	if (kvmmt_config_qmp(x->c, name))
		return fail(x, "qmp.%s is set twice", name);
	m = realloc(x->c->qmp, (x->c->nr_qmp + 1) * sizeof(*m));
	if (!m)
		return kvmmt_errf(x->e, -ENOMEM, "out of memory reading %s", x->file);
	x->c->qmp = m;
	m = &m[x->c->nr_qmp];
	memset(m, 0, sizeof(*m));
	strcpy(m->name, name);
	if (set_path(x, "qmp", v, m->path, sizeof(m->path), false))
		return -EINVAL;
	x->c->nr_qmp++;
	return 0;
}

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = 0;
	return s;
}

int kvmmt_config_parse(struct kvmmt_policyd_config *c, FILE *f, const char *name,
		       struct kvmmt_err *e)
{
	struct ctx x = { .c = c, .file = name, .e = e };
	int seen[NR_KEYS] = { 0 };
	char line[4096];

	while (fgets(line, sizeof(line), f)) {
		char *s, *eq, *key, *val, *hash;
		size_t k;
		int err;

		x.line++;
		if (!strchr(line, '\n') && !feof(f))
			return fail(&x, "line is longer than %zu characters", sizeof(line) - 2);
		hash = strchr(line, '#');
		if (hash)
			*hash = 0;
		s = trim(line);
		if (!*s)
			continue;
		eq = strchr(s, '=');
		if (!eq)
			return fail(&x, "expected \"key = value\", got \"%s\"", s);
		*eq = 0;
		key = trim(s);
		val = trim(eq + 1);
		if (!strncmp(key, "qmp.", 4)) {
			err = set_qmp(&x, key + 4, val);
			if (err)
				return err;
			continue;
		}
		for (k = 0; k < NR_KEYS; k++)
			if (!strcmp(key, keys[k].key))
				break;
		if (k == NR_KEYS)
			return fail(&x, "unknown key \"%s\"", key);
		if (seen[k])
			return fail(&x, "%s is already set on line %d", key, seen[k]);
		seen[k] = x.line;
		err = keys[k].set(&x, key, val);
		if (err)
			return err;
	}
	if (ferror(f))
		return kvmmt_errf(e, -EIO, "cannot read %s", name);
	return 0;
}

int kvmmt_config_load(struct kvmmt_policyd_config *c, const char *path,
		      bool must_exist, struct kvmmt_err *e)
{
	FILE *f = fopen(path, "re");
	int err;

	if (!f) {
		if (errno == ENOENT && !must_exist)
			return 0;
		return kvmmt_errf(e, -errno, "cannot open %s: %s", path, strerror(errno));
	}
	err = kvmmt_config_parse(c, f, path, e);
	fclose(f);
	return err;
}

const char *kvmmt_config_qmp(const struct kvmmt_policyd_config *c,
			     const char *name)
{
	for (size_t i = 0; i < c->nr_qmp; i++)
		if (!strcmp(c->qmp[i].name, name))
			return c->qmp[i].path;
	return NULL;
}

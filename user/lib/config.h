/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
#ifndef KVMMT_CONFIG_H
#define KVMMT_CONFIG_H

/*
 * kvmmt-policyd's configuration file (kvmmt-policyd.conf(5)): "key = value"
 * lines, '#' comments. Every key and value is validated; the first problem
 * is reported as "FILE:LINE: what is wrong".
 */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include "datapath.h"
#include "policy.h"
#include "procinfo.h"
#include "err.h"

#define KVMMT_CONF_PATH		"/etc/kvmmt/policyd.conf"

enum kvmmt_dp_mode {
	KVMMT_DP_AUTO = 0,	/* use the BPF data path when it opens */
	KVMMT_DP_ON,		/* refuse to start without it */
	KVMMT_DP_OFF,		/* manual flags only */
};

/* An explicit QMP socket for a VM name ("qmp.NAME = PATH"). */
struct kvmmt_qmp_map {
	char name[64];
	char path[KVMMT_SUN_PATH_MAX];
};

struct kvmmt_policyd_config {
	bool block[KVMMT_RISK__MAX];	/* classes that block migration */
	double interval_s;		/* VM scan, metrics and watchdog period */
	double qmp_timeout_s;		/* one QMP command round trip */
	char state_dir[PATH_MAX];
	char control_socket[KVMMT_SUN_PATH_MAX];
	char metrics_textfile[PATH_MAX];	/* "" = none */
	char metrics_listen[64];		/* "127.0.0.1:PORT", "" = none */
	char qmp_match[64];		/* a usable QMP socket's file name holds this */
	char pat_list[PATH_MAX];	/* pat_memtype_list, "" = do not read */
	enum kvmmt_dp_mode datapath;
	enum kvmmt_path attach;		/* 0 = best available */
	bool enforce;			/* attach to QMP and decide migrations */
	int log_level;			/* syslog priority, LOG_ERR..LOG_DEBUG */
	struct kvmmt_qmp_map *qmp;
	size_t nr_qmp;
};

void kvmmt_config_defaults(struct kvmmt_policyd_config *c);
void kvmmt_config_free(struct kvmmt_policyd_config *c);
/* Parse @f (named @name in messages) over the values already in @c. */
int kvmmt_config_parse(struct kvmmt_policyd_config *c, FILE *f, const char *name,
		       struct kvmmt_err *e);
/* Open and parse @path; a missing file is an error only if @must_exist. */
int kvmmt_config_load(struct kvmmt_policyd_config *c, const char *path,
		      bool must_exist, struct kvmmt_err *e);
/* The QMP socket configured for VM @name, or NULL. */
const char *kvmmt_config_qmp(const struct kvmmt_policyd_config *c,
			     const char *name);
/* Parse "127.0.0.1:PORT" (loopback only); fills host order port. */
int kvmmt_config_parse_listen(const char *s, unsigned short *port);

#endif

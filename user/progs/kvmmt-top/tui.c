// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * The interactive view on ncurses: a VM list with sort, filter and pause,
 * a detail view per VM, and a help screen. Whatever stops it (q, Ctrl-C,
 * SIGTERM, a closed terminal), the terminal is restored with endwin().
 */
#include <curses.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <term.h>
#include <unistd.h>
#include "top.h"

#define BANNER_LINES	3
#define LIST_TOP	(BANNER_LINES + 2)	/* banner, status line, titles */
#define KEY_ESC		27

enum pair {
	PAIR_TITLE = 1,
	PAIR_GOOD,
	PAIR_WARN,
	PAIR_BAD,
	PAIR_DIM,
};

static const double delays[] = { 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60 };

struct tui {
	struct top_model *m;
	bool colors;
	bool paused;
	bool help;
	bool detail;
	bool prompting;
	char input[64];
	pid_t sel_pid;		/* the selection follows the VM, not the line */
	size_t sel;
	size_t first;		/* first list line shown */
	char msg[sizeof(((struct kvmmt_err *)0)->msg)];
	double msg_until;
	double next;		/* monotonic time of the next sample */
	long done;		/* samples taken */
};

bool top_tui_possible(char *why, size_t len)
{
	const char *term = getenv("TERM");
	char *cup;
	int errret = 0;

	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		snprintf(why, len, "standard input or output is not a terminal");
		return false;
	}
	if (!term || !*term) {
		snprintf(why, len, "TERM is not set");
		return false;
	}
	if (setupterm(NULL, STDOUT_FILENO, &errret) != OK) {
		snprintf(why, len, "terminal type '%s' is unknown", term);
		return false;
	}
	cup = tigetstr("cup");
	del_curterm(cur_term);
	if (!cup || cup == (char *)-1) {
		snprintf(why, len, "terminal '%s' cannot position the cursor", term);
		return false;
	}
	return true;
}

static void say(struct tui *t, const char *text)
{
	snprintf(t->msg, sizeof(t->msg), "%s", text);
	t->msg_until = kvmmt_now() + 3;
}

static void init_colors(struct tui *t)
{
	t->colors = has_colors() && !getenv("NO_COLOR");
	if (!t->colors)
		return;
	start_color();
	use_default_colors();
	init_pair(PAIR_TITLE, COLOR_BLACK, COLOR_CYAN);
	init_pair(PAIR_GOOD, COLOR_GREEN, -1);
	init_pair(PAIR_WARN, COLOR_YELLOW, -1);
	init_pair(PAIR_BAD, COLOR_RED, -1);
	init_pair(PAIR_DIM, COLOR_BLUE, -1);
}

/* Colour when there is colour, a plain attribute when there is not. */
static attr_t style(const struct tui *t, enum pair p)
{
	if (t->colors)
		return COLOR_PAIR(p) | (p == PAIR_BAD ? A_BOLD : 0);
	switch (p) {
	case PAIR_TITLE:
		return A_REVERSE;
	case PAIR_BAD:
	case PAIR_WARN:
		return A_BOLD;
	default:
		return A_NORMAL;
	}
}

static attr_t cell_style(const struct tui *t, const struct top_vm *v, enum top_col col)
{
	const struct kvmmt_vm_row *r = v->row;

	switch (col) {
	case COL_RISK:
		if (!v->risk)
			return A_NORMAL;
		if (!strcmp(v->risk, kvmmt_risk_name(KVMMT_RISK_ALIASING)))
			return style(t, PAIR_BAD);
		if (!strcmp(v->risk, kvmmt_risk_name(KVMMT_RISK_LATENT)))
			return style(t, PAIR_WARN);
		return style(t, PAIR_GOOD);
	case COL_NCDMA:
		return r->noncoherent_dma > 0 ? style(t, PAIR_WARN) : A_NORMAL;
	case COL_GTYPES:
		return r->guest_types ? style(t, PAIR_WARN) : A_NORMAL;
	default:
		return A_NORMAL;
	}
}

static void put_line(int y, attr_t a, const char *text)
{
	int n = strlen(text);

	if (n > COLS)
		n = COLS;
	attrset(a);
	mvaddnstr(y, 0, text, n);
	/* bars run to the right edge; writing past it would wrap to the next line */
	if ((a & A_REVERSE || a & A_COLOR) && n < COLS)
		mvhline(y, n, ' ', COLS - n);
	attrset(A_NORMAL);
}

static void draw_banner(const struct tui *t)
{
	char line[600];
	int n;

	for (n = 0; n < BANNER_LINES; n++) {
		top_fmt_banner(t->m, n, line, sizeof(line));
		put_line(n, n ? A_NORMAL : A_BOLD, line);
	}
}

static void draw_status(const struct tui *t)
{
	const struct top_model *m = t->m;
	const struct top_opts *o = m->opts;
	char line[256];

	snprintf(line, sizeof(line), "%ssort %s%s  refresh %gs%s%s   h help  q quit",
		 t->paused ? "[paused]  " : "", top_cols[o->sort].key,
		 o->reverse ? " (reversed)" : "", o->delay,
		 m->ui_filter[0] ? "  filter " : "", m->ui_filter);
	put_line(BANNER_LINES, t->paused ? style(t, PAIR_WARN) : A_NORMAL, line);
}

static void draw_bottom(const struct tui *t)
{
	char line[200];

	if (t->prompting) {
		snprintf(line, sizeof(line), "filter (pid or name regex, empty clears): %s", t->input);
		put_line(LINES - 1, A_BOLD, line);
		curs_set(1);
		return;
	}
	curs_set(0);
	if (t->msg[0] && kvmmt_now() < t->msg_until)
		put_line(LINES - 1, A_BOLD, t->msg);
}

/* Keep the selection on the same VM after a re-sort or a refresh. */
static void follow_selection(struct tui *t)
{
	const struct top_model *m = t->m;
	size_t i, rows = LINES > LIST_TOP + 1 ? LINES - LIST_TOP - 1 : 1;

	for (i = 0; i < m->nr_vms; i++) {
		if (m->vms[i].row->pid == t->sel_pid) {
			t->sel = i;
			break;
		}
	}
	if (t->sel >= m->nr_vms)
		t->sel = m->nr_vms ? m->nr_vms - 1 : 0;
	t->sel_pid = m->nr_vms ? m->vms[t->sel].row->pid : 0;
	if (t->sel < t->first)
		t->first = t->sel;
	if (t->sel >= t->first + rows)
		t->first = t->sel - rows + 1;
}

/*
 * Leave out the columns that do not fit, rarest first, so that RISK stays
 * on an 80-column terminal; the sort column always stays. MIGRATION is last
 * and may be cut at the right edge.
 */
static void fit_columns(const struct top_model *m, bool show[COL__MAX])
{
	static const enum top_col drop[] = {
		COL_WP, COL_WT, COL_UCM, COL_VCPUS, COL_MEM, COL_MIGR, COL_ZAPS,
		COL_GTYPES, COL_NCDMA, COL_WC, COL_UC, COL_WB,
	};
	int c, width = -1;
	size_t i;

	for (c = 0; c < COL__MAX; c++) {
		show[c] = true;
		width += abs(top_cols[c].width) + 1;
	}
	width -= abs(top_cols[COL_MIGR].width) - (int)strlen(top_cols[COL_MIGR].title);
	for (i = 0; i < sizeof(drop) / sizeof(drop[0]) && width > COLS; i++) {
		if (drop[i] == m->opts->sort)
			continue;
		show[drop[i]] = false;
		width -= drop[i] == COL_MIGR ? (int)strlen(top_cols[COL_MIGR].title) + 1 :
					       abs(top_cols[drop[i]].width) + 1;
	}
}

static void draw_list(struct tui *t)
{
	const struct top_model *m = t->m;
	char line[512], cell[TOP_CELL_LEN];
	bool show[COL__MAX];
	size_t i;
	int c, x, y;

	fit_columns(m, show);
	line[0] = '\0';
	for (c = 0; c < COL__MAX; c++) {
		if (!show[c])
			continue;
		top_fmt_title(m, c, cell, sizeof(cell));
		if (c == (int)m->opts->sort)
			strcat(cell, m->opts->reverse ? "^" : "v");
		top_append_cell(line, sizeof(line), c, cell);
	}
	put_line(LIST_TOP - 1, style(t, PAIR_TITLE), line);

	follow_selection(t);
	if (!m->nr_vms) {
		put_line(LIST_TOP, style(t, PAIR_DIM), m->nr_all ?
			 "  no VM matches the filter" : "  no VMs on this host (start one, e.g. kvmmt-testvmm --hold 60)");
		return;
	}
	for (i = t->first, y = LIST_TOP; i < m->nr_vms && y < LINES - 1; i++, y++) {
		attr_t sel = i == t->sel ? A_REVERSE : A_NORMAL;

		for (c = 0, x = 0; c < COL__MAX && x < COLS; c++) {
			if (!show[c])
				continue;
			line[0] = '\0';
			top_fmt_cell(m, &m->vms[i], c, cell, sizeof(cell));
			top_append_cell(line, sizeof(line), c, cell);
			if (x)
				mvaddch(y, x++, ' ' | sel);
			if (x >= COLS)
				break;
			attrset(cell_style(t, &m->vms[i], c) | sel);
			mvaddnstr(y, x, line, COLS - x);
			attrset(A_NORMAL);
			x += strlen(line);
		}
	}
}

static void slot_flags(__u32 flags, char *buf, size_t len)
{
	static const char *const names[] = {
		"dirty-log", "readonly", "guest-memfd", "noncoherent-dma",
	};
	size_t off;
	unsigned int b;

	off = snprintf(buf, len, "0x%x", flags);
	for (b = 0; b < sizeof(names) / sizeof(names[0]) && off < len; b++)
		if (flags & (1u << b))
			off += snprintf(buf + off, len - off, " %s", names[b]);
}

/* What the risk model says about this VM, and the ranges that alias. */
static void draw_findings(const struct tui *t, const struct top_vm *v, int y)
{
	const struct kvmmt_gfn_range *g;
	char line[256];
	size_t i, n, off;

	if (!v->policy) {
		put_line(y, A_NORMAL, "risk: no model for this VM yet");
		return;
	}
	off = snprintf(line, sizeof(line), "risk %s (%zu ranges seen since start, %llu aliasing pages)",
		       v->risk, v->sum.nr_ranges, (unsigned long long)v->sum.conflict_pages);
	for (i = 0; i < KVMMT_WHY__BITS && off < sizeof(line); i++)
		if (v->sum.why & (1u << i))
			off += snprintf(line + off, sizeof(line) - off, " %s", kvmmt_why_name(1u << i));
	put_line(y++, v->sum.nr_conflicts ? style(t, PAIR_BAD) : A_BOLD, line);
	n = kvmmt_policy_nr_ranges(v->policy);
	for (i = 0; i < n && y < LINES - 1; i++) {
		g = kvmmt_policy_range(v->policy, i);
		if (!g->conflict)
			continue;
		snprintf(line, sizeof(line), "  aliasing gfn 0x%llx-0x%llx slot %u: SPTE %s, host %s",
			 (unsigned long long)g->start, (unsigned long long)g->end - 1,
			 g->slot, kvmmt_mt_name(g->mt), kvmmt_mt_name(g->host_mt));
		put_line(y++, style(t, PAIR_BAD), line);
	}
}


/*
 * Guest pages invalidated by cause since start (the data path's
 * zap_pages_* counters), and fast zap-alls.
 */
/* The host kernel's own mappings of the VM's memory (fentry kernels); false if none. */
static bool host_mappings(const struct kvmmt_vm_ctrs *c, char *line, size_t len)
{
	size_t i = snprintf(line, len, "host-kernel mappings:");
	bool any = false;

	for (int k = KVMMT_C_GPC_ACTIVATE; k <= KVMMT_C_VFIO_DEL && i < len; k++) {
		i += snprintf(line + i, len - i, " %s %llu", kvmmt_ctr_name(k),
			      (unsigned long long)c->c[k]);
		any |= c->c[k] != 0;
	}
	return any;
}

static void zap_causes(const struct kvmmt_vm_ctrs *c, char *line, size_t len)
{
	size_t i = snprintf(line, len, "zapped guest pages by cause:");

	for (int k = KVMMT_C_INV_NOTIFIER; k <= KVMMT_C_INV_GMEM && i < len; k++)
		i += snprintf(line + i, len - i, " %s %llu",
			      kvmmt_ctr_name(k) + strlen("zap_pages_"),
			      (unsigned long long)c->c[k]);
	if (i < len)
		snprintf(line + i, len - i, "  zap-all %llu",
			 (unsigned long long)c->c[KVMMT_C_ZAP_ALL]);
}
static void draw_detail(struct tui *t)
{
	const struct top_model *m = t->m;
	const struct top_vm *v = NULL;
	const struct kvmmt_vm_row *r;
	char line[600], size[16], flags[48], cell[TOP_CELL_LEN], mig[TOP_CELL_LEN];
	size_t i;
	unsigned int s;
	int y = LIST_TOP - 1, mt;

	for (i = 0; i < m->nr_vms; i++)
		if (m->vms[i].row->pid == t->sel_pid)
			v = &m->vms[i];
	if (!v) {
		put_line(y, style(t, PAIR_DIM), "  this VM is gone or filtered out (Enter returns to the list)");
		return;
	}
	r = v->row;
	top_fmt_size(size, sizeof(size), r->mem_bytes);
	top_fmt_cell(m, v, COL_NCDMA, cell, sizeof(cell));
	top_fmt_migration(v->mig, mig, sizeof(mig));
	snprintf(line, sizeof(line), "VM %d %s  vCPUs %u  memory %s  noncoherent DMA %s  guest types honoured %s  risk %s  migration %s",
		 (int)r->pid, r->name, r->vcpus, size, cell, r->guest_types ? "yes" : "no",
		 v->risk ? v->risk : "-", mig);
	put_line(y++, A_BOLD, line);

	i = snprintf(line, sizeof(line), "installs since start:");
	for (mt = 0; mt < KVMMT_MT__MAX && i < sizeof(line); mt++)
		if (r->installs[mt] || mt <= KVMMT_MT_UC)
			i += snprintf(line + i, sizeof(line) - i, " %s %llu", kvmmt_mt_name(mt),
				      (unsigned long long)r->installs[mt]);
	if (i < sizeof(line))
		snprintf(line + i, sizeof(line) - i, "  IPAT set %llu clear %llu  zaps %llu",
			 (unsigned long long)r->installs_ipat[1],
			 (unsigned long long)r->installs_ipat[0],
			 (unsigned long long)r->zaps);
	put_line(y++, A_NORMAL, line);
	zap_causes(&r->ctrs, line, sizeof(line));
	put_line(y++, A_NORMAL, line);
	if (host_mappings(&r->ctrs, line, sizeof(line)))
		put_line(y++, A_NORMAL, line);
	if (r->quirks_valid) {
		snprintf(line, sizeof(line), "disabled quirks 0x%llx",
			 (unsigned long long)r->disabled_quirks);
		put_line(y++, A_NORMAL, line);
	}
	y++;
	put_line(y++, style(t, PAIR_TITLE),
		 "SLOT AS GFN RANGE                         SIZE  FLAGS                  HOST ADDRESS            WB      WC      UC      WT      WP     UC-      4K      2M      1G");
	for (s = 0; s < r->nr_slots && y < LINES - 1; s++) {
		const struct kvmmt_slot_row *sl = &r->slots[s];
		char range[48];

		snprintf(range, sizeof(range), "0x%llx-0x%llx",
			 (unsigned long long)sl->rec.base_gfn,
			 (unsigned long long)(sl->rec.base_gfn + sl->rec.npages - (sl->rec.npages ? 1 : 0)));
		top_fmt_size(size, sizeof(size), sl->rec.npages * 4096);
		slot_flags(sl->rec.flags, flags, sizeof(flags));
		snprintf(line, sizeof(line), "%4u %2u %-31s %6s  %-22s 0x%-16llx %7llu %7llu %7llu %7llu %7llu %7llu %7llu %7llu %7llu",
			 sl->rec.id, sl->rec.as_id, range, size, flags,
			 (unsigned long long)sl->rec.userspace_addr,
			 (unsigned long long)sl->installs[KVMMT_MT_WB],
			 (unsigned long long)sl->installs[KVMMT_MT_WC],
			 (unsigned long long)sl->installs[KVMMT_MT_UC],
			 (unsigned long long)sl->installs[KVMMT_MT_WT],
			 (unsigned long long)sl->installs[KVMMT_MT_WP],
			 (unsigned long long)sl->installs[KVMMT_MT_UC_MINUS],
			 (unsigned long long)sl->installs_level[1],
			 (unsigned long long)sl->installs_level[2],
			 (unsigned long long)sl->installs_level[3]);
		put_line(y++, A_NORMAL, line);
	}
	if (!r->nr_slots && y < LINES - 1)
		put_line(y++, style(t, PAIR_DIM), "  no memslots");
	if (y + 2 < LINES - 1)
		draw_findings(t, v, y + 1);
}

static void draw_help(const struct tui *t)
{
	static const char *const text[] = {
		"kvmmt-top keys",
		"",
		"  < >        sort by the previous / next column (s: next)",
		"  R          reverse the sort order",
		"  / f        filter: a pid, or an extended regex on the VM name;",
		"             an empty filter shows every VM again",
		"  Up Down    select a VM (also k j, PgUp PgDn, Home End)",
		"  Enter d    detail view of the selected VM: memslots, installs",
		"             by type and level; Enter, d or Esc returns",
		"  space p    pause / resume sampling",
		"  + -        slower / faster refresh",
		"  c t        per-second rates / cumulative counts",
		"  Ctrl-L     redraw the screen",
		"  h ?        this help (any key closes it)",
		"  q          quit",
		"",
		"Columns: NCDMA noncoherent DMA registrations, GTYPES guest memory",
		"types honoured, WB..UC- SPTE installs by memory type, ZAP zapped",
		"pages, RISK page-aliasing class, MIGRATION kvmmt-policyd's state.",
	};
	size_t i;

	for (i = 0; i < sizeof(text) / sizeof(text[0]) && (int)i + 1 < LINES; i++)
		put_line(i + 1, i ? A_NORMAL : style(t, PAIR_TITLE), text[i]);
}

static void draw(struct tui *t)
{
	erase();
	if (t->help) {
		draw_help(t);
	} else {
		draw_banner(t);
		draw_status(t);
		if (t->detail)
			draw_detail(t);
		else
			draw_list(t);
	}
	draw_bottom(t);
	refresh();
}

static void change_delay(struct tui *t, int dir)
{
	struct top_opts *o = t->m->opts;
	int n = sizeof(delays) / sizeof(delays[0]), i;
	char text[64];

	if (dir > 0) {
		for (i = 0; i < n - 1 && delays[i] <= o->delay; i++)
			;
	} else {
		for (i = n - 1; i > 0 && delays[i] >= o->delay; i--)
			;
	}
	o->delay = delays[i];
	t->next = kvmmt_now() + o->delay;
	snprintf(text, sizeof(text), "refresh every %g s", o->delay);
	say(t, text);
}

static void resort(struct tui *t)
{
	struct kvmmt_err e = {};

	if (top_model_view(t->m, &e))
		say(t, e.msg);
}

static void prompt_key(struct tui *t, int ch)
{
	struct kvmmt_err e = {};
	size_t n = strlen(t->input);

	switch (ch) {
	case '\n':
	case '\r':
	case KEY_ENTER:
		t->prompting = false;
		if (top_model_set_filter(t->m, t->input, &e))
			say(t, e.msg);
		break;
	case KEY_ESC:
		t->prompting = false;
		break;
	case KEY_BACKSPACE:
	case 127:
	case CTRL('h'):
		if (n)
			t->input[n - 1] = '\0';
		break;
	default:
		if (ch >= ' ' && ch < 127 && n + 1 < sizeof(t->input)) {
			t->input[n] = ch;
			t->input[n + 1] = '\0';
		}
	}
}

static void move_sel(struct tui *t, long d)
{
	long n = t->m->nr_vms, s = (long)t->sel + d;

	if (!n)
		return;
	s = s < 0 ? 0 : s >= n ? n - 1 : s;
	t->sel = s;
	t->sel_pid = t->m->vms[s].row->pid;
}

/* Returns false when the key asks to quit. */
static bool command_key(struct tui *t, int ch)
{
	struct top_opts *o = t->m->opts;
	int page = LINES > LIST_TOP + 2 ? LINES - LIST_TOP - 2 : 1;

	if (t->help && ch != KEY_RESIZE && ch != 'q' && ch != 'Q') {
		t->help = false;
		return true;
	}
	switch (ch) {
	case 'q':
	case 'Q':
		return false;
	case 'h':
	case '?':
		t->help = true;
		break;
	case '<':
		o->sort = (o->sort + COL__MAX - 1) % COL__MAX;
		resort(t);
		break;
	case '>':
	case 's':
		o->sort = (o->sort + 1) % COL__MAX;
		resort(t);
		break;
	case 'R':
	case 'r':
		o->reverse = !o->reverse;
		resort(t);
		break;
	case '/':
	case 'f':
		t->prompting = true;
		snprintf(t->input, sizeof(t->input), "%s", t->m->ui_filter);
		break;
	case ' ':
	case 'p':
		t->paused = !t->paused;
		t->next = kvmmt_now();
		break;
	case '+':
		change_delay(t, 1);
		break;
	case '-':
		change_delay(t, -1);
		break;
	case 'c':
	case 't':
		o->totals = !o->totals;
		resort(t);
		break;
	case '\n':
	case '\r':
	case KEY_ENTER:
	case 'd':
		t->detail = !t->detail;
		break;
	case KEY_ESC:
	case KEY_BACKSPACE:
	case KEY_LEFT:
		t->detail = false;
		break;
	case KEY_UP:
	case 'k':
		move_sel(t, -1);
		break;
	case KEY_DOWN:
	case 'j':
		move_sel(t, 1);
		break;
	case KEY_PPAGE:
		move_sel(t, -page);
		break;
	case KEY_NPAGE:
		move_sel(t, page);
		break;
	case KEY_HOME:
		move_sel(t, -(long)t->m->nr_vms);
		break;
	case KEY_END:
		move_sel(t, t->m->nr_vms);
		break;
	case CTRL('l'):
		clearok(curscr, TRUE);
		break;
	case KEY_RESIZE:
		break;
	}
	return true;
}

static int sample(struct tui *t, struct kvmmt_err *e)
{
	int err = top_model_sample(t->m, e);

	if (err)
		return err;
	t->done++;
	t->next = kvmmt_now() + t->m->opts->delay;
	return 0;
}

/*
 * Wait for a key until the next sample is due. The wait is capped so a
 * signal is noticed quickly even if it does not interrupt the read.
 */
static int next_key(struct tui *t)
{
	double left = t->next - kvmmt_now();
	int ms = t->paused ? 250 : (int)(left * 1000) + 1;

	timeout(ms < 1 ? 1 : ms > 250 ? 250 : ms);
	return getch();
}

static int loop(struct tui *t, struct kvmmt_err *e)
{
	const struct top_opts *o = t->m->opts;
	double start;
	int ch, fast_errs = 0, err;

	for (;;) {
		if (top_stop)
			return 0;
		if (!t->paused && kvmmt_now() >= t->next) {
			if (o->count && t->done >= o->count)
				return 0;
			err = sample(t, e);
			if (err)
				return err;
		}
		draw(t);
		/* events keep flowing while paused: the risk model must not miss installs */
		err = top_model_drain(t->m, 0, e);
		if (err)
			return err;
		start = kvmmt_now();
		ch = next_key(t);
		if (ch == ERR) {
			/* an immediate ERR over and over: the terminal is gone */
			if (kvmmt_now() - start < 0.0005 && ++fast_errs > 1000)
				return 0;
			continue;
		}
		fast_errs = 0;
		if (t->prompting)
			prompt_key(t, ch);
		else if (!command_key(t, ch))
			return 0;
	}
}

int top_tui(struct top_model *m, struct kvmmt_err *e)
{
	struct tui t = { .m = m };
	SCREEN *scr;
	int err;

	/* sample before the screen switches so an early error prints plainly */
	err = sample(&t, e);
	if (err)
		return err;
	scr = newterm(NULL, stdout, stdin);
	if (!scr)
		return kvmmt_errf(e, -ENOTTY, "cannot start the terminal UI on '%s'.",
				  getenv("TERM") ? getenv("TERM") : "");
	set_escdelay(25);
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	curs_set(0);
	init_colors(&t);

	err = loop(&t, e);

	endwin();
	delscreen(scr);
	return err;
}

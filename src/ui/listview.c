/* What the console's lists share (issue 14): a filter typed on a focused
 * list (`/`, Esc clears), the activity list with its detail pane (the
 * customer view's Activity tab and the global activity screen), and the
 * export of what a list shows to a CSV file through the CLI's CSV writer
 * (src/cli/csv.h), so the console writes no CSV of its own. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include "csv.h"
#include "ui_internal.h"

/* ------------------------------------------------------------- filter */

int ui_list_filter_key(struct ui_list_filter *f, const struct ui_event *ev, enum ui_action start)
{
	if (!f->editing) {
		if (ev->action == start) {
			f->editing = true;
			return UI_HANDLED | UI_REDRAW;
		}
		if (ev->action == UI_A_BACK && f->text[0]) {
			f->text[0] = 0;
			return UI_HANDLED | UI_REDRAW;
		}
		return 0;
	}
	/* editing: printable text goes to the filter, never to an action */
	if (ev->action == UI_A_BACK) {
		f->text[0] = 0;
		f->editing = false;
		return UI_HANDLED | UI_REDRAW;
	}
	if (ev->action == UI_A_OPEN || (!ev->func && (ev->key == '\n' || ev->key == '\r'))) {
		f->editing = false; /* keep the filter, back to the list */
		return UI_HANDLED | UI_REDRAW;
	}
	size_t len = strlen(f->text);
	if ((ev->func && ev->key == KEY_BACKSPACE) ||
	    (!ev->func && (ev->key == 127 || ev->key == 8))) {
		while (len > 0 && (f->text[len - 1] & 0xC0) == 0x80)
			len--;
		if (len > 0)
			len--;
		f->text[len] = 0;
		return UI_HANDLED | UI_REDRAW;
	}
	if (ev->func || ev->key < 32)
		return 0; /* movement keys still move the list */
	char mb[MB_LEN_MAX + 1];
	mbstate_t st;
	memset(&st, 0, sizeof st);
	size_t r = wcrtomb(mb, (wchar_t)ev->key, &st);
	if (r == (size_t)-1 || len + r + 1 > sizeof f->text)
		return UI_HANDLED; /* full: the key is swallowed, never an action */
	memcpy(f->text + len, mb, r);
	f->text[len + r] = 0;
	return UI_HANDLED | UI_REDRAW;
}

bool ui_list_filter_match(const struct ui_list_filter *f, const char *const *cells, size_t n)
{
	if (!f->text[0])
		return true;
	char *needle = pd_fold_key(f->text);
	bool hit = false;
	for (size_t i = 0; i < n && !hit; i++) {
		if (!cells[i])
			continue;
		char *hay = pd_fold_key(cells[i]);
		hit = strstr(hay, needle) != NULL;
		free(hay);
	}
	free(needle);
	return hit;
}

void ui_list_filter_draw(const struct ui_list_filter *f, WINDOW *w, int y, int x, int width)
{
	if (!f->text[0] && !f->editing)
		return;
	char *t = xasprintf(_("Filter: %s%s"), f->text, f->editing ? "▏" : _("  (Esc clears)"));
	ui_put(w, y, x, width, t, ui_role(UI_R_GRID_MATCH), true);
	free(t);
}

/* ------------------------------------------------------- activity pane */

static void when_text(int64_t at, char out[20])
{
	time_t t = (time_t)at;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 20, "%Y-%m-%d %H:%M", &tm);
}

/* The cells of one audit row, as listed and exported: when, who, customer
 * (global list only), what (object action), change. */
static size_t audit_cells(const struct ui_audit_pane *p, size_t i, char when[20],
                          const char *cells[5])
{
	const pd_audit *a = &p->rows[i];
	when_text(a->at, when);
	size_t k = 0;
	cells[k++] = when;
	cells[k++] = a->actor ? a->actor : "";
	if (p->customer_names)
		cells[k++] = p->customer_names[i] ? p->customer_names[i] : "";
	cells[k++] = p->what ? p->what[i] : "";
	cells[k++] = a->detail ? a->detail : "";
	return k;
}

void ui_audit_pane_set(struct ui_audit_pane *p, const pd_audit *rows, size_t n,
                       char **customer_names)
{
	for (size_t i = 0; p->what && i < p->n; i++)
		free(p->what[i]);
	free(p->what);
	p->rows = rows;
	p->n = n;
	p->customer_names = customer_names;
	p->what = xcalloc(n ? n : 1, sizeof *p->what);
	for (size_t i = 0; i < n; i++)
		p->what[i] = xasprintf("%s %s", rows[i].object ? rows[i].object : "",
		                       rows[i].action ? rows[i].action : "");
	ui_audit_pane_refilter(p);
}

void ui_audit_pane_refilter(struct ui_audit_pane *p)
{
	/* keep the selected record selected when it still shows */
	size_t was = p->n_shown && p->sel < p->n_shown ? p->shown[p->sel] : (size_t)-1;
	free(p->shown);
	p->shown = xcalloc(p->n ? p->n : 1, sizeof *p->shown);
	p->n_shown = 0;
	p->sel = 0;
	for (size_t i = 0; i < p->n; i++) {
		char when[20];
		const char *cells[5];
		size_t k = audit_cells(p, i, when, cells);
		if (!ui_list_filter_match(&p->filter, cells, k))
			continue;
		if (i == was)
			p->sel = p->n_shown;
		p->shown[p->n_shown++] = i;
	}
	if (p->top > p->sel)
		p->top = p->sel;
}

void ui_audit_pane_free(struct ui_audit_pane *p)
{
	for (size_t i = 0; p->what && i < p->n; i++)
		free(p->what[i]);
	free(p->what);
	free(p->shown);
	memset(p, 0, sizeof *p);
}

const pd_audit *ui_audit_pane_selected(const struct ui_audit_pane *p)
{
	return p->n_shown ? &p->rows[p->shown[p->sel]] : NULL;
}

/* The detail's lines: one per changed field ("name: Old → New"), each
 * wrapped to the width; returns how many were drawn. */
static int draw_detail(WINDOW *w, int y, int h, int width, const char *detail)
{
	int drawn = 0;
	const char *p = detail ? detail : "";
	/* continuation lines are indented two more columns */
	int wrap_w = width > 8 ? width - 4 : 4;
	while (*p && drawn < h) {
		const char *sep = strstr(p, "; ");
		size_t len = sep ? (size_t)(sep - p) : strlen(p);
		if (len) { /* a long change wraps between words, by columns */
			char *change = xstrndup(p, len);
			char **lines;
			size_t n = ui_wrap(change, wrap_w, &lines);
			for (size_t i = 0; i < n; i++) {
				if (drawn < h)
					ui_put(w, y + drawn++, i ? 3 : 1, width - (i ? 4 : 2),
					       lines[i], ui_role(UI_R_NORMAL), false);
				free(lines[i]);
			}
			free(lines);
			free(change);
		}
		p += len;
		if (sep)
			p += 2;
	}
	return drawn;
}

void ui_audit_pane_draw(struct ui_audit_pane *p, WINDOW *w, int y, int h, int width)
{
	if (h < 4)
		return;
	/* the list gets a little more than half, the detail the rest */
	int detail_h = h * 2 / 5;
	if (detail_h < 3)
		detail_h = 3;
	int list_h = h - detail_h - 1; /* the header */
	int filt = p->filter.text[0] || p->filter.editing;
	list_h -= filt;
	if (list_h < 1)
		list_h = 1;
	enum { MAXC = 5 };
	int cw[MAXC];
	const char *hd[MAXC];
	int nc = 0;
	hd[nc] = _("When (UTC)");
	cw[nc++] = 16;
	hd[nc] = _("Who");
	cw[nc++] = 10;
	if (p->customer_names) {
		hd[nc] = _("Customer");
		cw[nc++] = 16;
	}
	hd[nc] = _("What");
	cw[nc++] = 15;
	hd[nc] = _("Change");
	int used = nc;
	for (int i = 0; i < nc; i++)
		used += cw[i];
	cw[nc++] = width - used > 8 ? width - used : 8;
	int x = 0;
	ui_fill(w, y, 0, width, ui_role(UI_R_GRID_HEADER));
	for (int i = 0; i < nc; i++) {
		ui_put(w, y, x, cw[i], hd[i], ui_role(UI_R_GRID_HEADER), true);
		x += cw[i] + 1;
	}
	int row0 = y + 1;
	if (filt) {
		ui_list_filter_draw(&p->filter, w, row0, 0, width);
		row0++;
	}
	if (p->sel >= p->n_shown)
		p->sel = p->n_shown ? p->n_shown - 1 : 0;
	if (p->sel < p->top)
		p->top = p->sel;
	if (p->sel >= p->top + (size_t)list_h)
		p->top = p->sel - (size_t)list_h + 1;
	if (!p->n_shown)
		ui_put(w, row0, 1, width - 2,
		       p->n ? _("Nothing matches the filter (Esc clears it).")
		            : _("No activity recorded."),
		       ui_role(UI_R_NOTE), false);
	for (int r = 0; r < list_h && p->top + (size_t)r < p->n_shown; r++) {
		size_t i = p->shown[p->top + (size_t)r];
		char when[20];
		const char *cells[MAXC];
		audit_cells(p, i, when, cells);
		bool sel = p->top + (size_t)r == p->sel;
		attr_t a = ui_role(sel ? UI_R_GRID_SELECTED : UI_R_GRID_ROW);
		ui_fill(w, row0 + r, 0, width, a);
		x = 0;
		for (int c = 0; c < nc; c++) {
			ui_put(w, row0 + r, x, cw[c], cells[c], a, false);
			x += cw[c] + 1;
		}
	}
	/* the detail pane: the selected record whole */
	int dy = row0 + list_h;
	const pd_audit *a = ui_audit_pane_selected(p);
	char head[300];
	if (a) {
		char when[20];
		when_text(a->at, when);
		pd_snprintf(head, sizeof head, "── %s · %s%s%s · %s %s ", when,
		            a->actor ? a->actor : "", a->client ? " from " : "",
		            a->client ? a->client : "", a->object ? a->object : "",
		            a->action ? a->action : "");
	} else {
		pd_snprintf(head, sizeof head, _("── Change "));
	}
	ui_fill(w, dy, 0, width, ui_role(UI_R_LABEL));
	ui_put(w, dy, 0, width, head, ui_role(UI_R_LABEL) | A_BOLD, false);
	for (int r = 1; r < detail_h; r++)
		ui_fill(w, dy + r, 0, width, ui_role(UI_R_NORMAL));
	if (a)
		draw_detail(w, dy + 1, detail_h - 1, width,
		            a->detail && *a->detail ? a->detail : _("(no change recorded)"));
}

int ui_audit_pane_key(struct ui_audit_pane *p, const struct ui_event *ev, enum ui_action filter,
                      size_t page)
{
	char before[sizeof p->filter.text];
	memcpy(before, p->filter.text, sizeof before);
	int r = ui_list_filter_key(&p->filter, ev, filter);
	if (r) {
		if (strcmp(before, p->filter.text))
			ui_audit_pane_refilter(p);
		return r;
	}
	return ui_list_move(&p->sel, p->n_shown, page, ev->action);
}

struct ui_table *ui_audit_pane_table(const struct ui_audit_pane *p)
{
	const char *hd[5];
	size_t k = 0;
	hd[k++] = "when_utc";
	hd[k++] = "who";
	if (p->customer_names)
		hd[k++] = "customer";
	hd[k++] = "what";
	hd[k++] = "change";
	struct ui_table *t = ui_table_new(hd, k);
	for (size_t s = 0; s < p->n_shown; s++) {
		char when[20];
		const char *cells[5];
		audit_cells(p, p->shown[s], when, cells);
		ui_table_add(t, cells);
	}
	return t;
}

/* ------------------------------------------------------------- export */

struct ui_table {
	size_t ncol, nrows;
	char **cells; /* (nrows + 1) * ncol: the header first */
};

struct ui_table *ui_table_new(const char *const *header, size_t ncol)
{
	struct ui_table *t = xcalloc(1, sizeof *t);
	t->ncol = ncol;
	t->cells = xcalloc(ncol, sizeof *t->cells);
	for (size_t c = 0; c < ncol; c++)
		t->cells[c] = xstrdup(header[c]);
	return t;
}

void ui_table_add(struct ui_table *t, const char *const *cells)
{
	t->cells = xrealloc(t->cells, (t->nrows + 2) * t->ncol * sizeof *t->cells);
	for (size_t c = 0; c < t->ncol; c++)
		t->cells[(t->nrows + 1) * t->ncol + c] = xstrdup(cells[c] ? cells[c] : "");
	t->nrows++;
}

void ui_table_free(struct ui_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < (t->nrows + 1) * t->ncol; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

size_t ui_table_rows(const struct ui_table *t)
{
	return t->nrows;
}

pd_status ui_table_write_csv(const struct ui_table *t, const char *path, pd_err *e)
{
	if (!path || !*path)
		return pd_fail(e, PD_E_INVALID, "file", _("give a file name"));
	FILE *f = fopen(path, "w");
	if (!f)
		return pd_fail(e, PD_E_CANTCREATE, "file", _("cannot write %s: %s"), path,
		               strerror(errno));
	for (size_t r = 0; r <= t->nrows; r++)
		pd_csv_write_row(f, (const char *const *)&t->cells[r * t->ncol], t->ncol);
	bool bad = ferror(f);
	if (fclose(f) != 0 || bad)
		return pd_fail(e, PD_E_IO, "file", _("cannot write %s: %s"), path, strerror(errno));
	return PD_OK;
}

struct export_ask {
	struct ui_table *t;
	char *what;
};

static void export_done(struct ui_app *app, void *ctx, bool ok, const char *text)
{
	struct export_ask *x = ctx;
	if (ok) {
		pd_err e;
		pd_err_clear(&e);
		/* "~/" is the home folder, as in a shell */
		const char *home = getenv("HOME");
		char *path = text && strncmp(text, "~/", 2) == 0 && home && *home
		                 ? xasprintf("%s/%s", home, text + 2)
		                 : xstrdup(text ? text : "");
		if (ui_table_write_csv(x->t, path, &e) != PD_OK)
			ui_msg(app, UI_R_STATUS_ERROR, _("export: %s"), e.message);
		else
			ui_msg(app, UI_R_STATUS_OK, _("%s: %zu row%s written to %s"), x->what,
			       x->t->nrows, x->t->nrows == 1 ? "" : "s", path);
		free(path);
	}
	ui_table_free(x->t);
	free(x->what);
	free(x);
}

void ui_export_ask(struct ui_app *app, const char *what, struct ui_table *t)
{
	/* the default: provdesk-WHAT-DAY.csv in the home folder, else here */
	char day[11];
	pd_day_format(pd_today(), day);
	const char *home = getenv("HOME");
	char *def = home && *home ? xasprintf("%s/provdesk-%s-%s.csv", home, what, day)
	                          : xasprintf("provdesk-%s-%s.csv", what, day);
	struct export_ask *x = xcalloc(1, sizeof *x);
	x->t = t;
	x->what = xstrdup(what);
	char *text = xasprintf(_("Export the %zu row%s shown to the CSV file:"), t->nrows,
	                       t->nrows == 1 ? "" : "s");
	ui_dialog_prompt(app, _("Export to CSV"), text, def, false, export_done, x);
	free(text);
	free(def);
}

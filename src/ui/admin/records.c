/* The screens over every customer (issue 14), reached from the grid: all
 * activity (the audit log, newest first, with the full change of the
 * selected record) and the outbox (queued and failed invitations: send
 * now, cancel). Both filter (`/`) and export what they show (`x`); the
 * outbox acts through the same store functions as `provdesk outbox`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ui_internal.h"

/* Customer names by id, read once per load (a list of a few thousand
 * records names a few hundred customers). */
struct names {
	int64_t *id;
	char **name;
	size_t n;
};

static const char *name_of(struct ui_app *app, struct names *c, int64_t id)
{
	if (!id)
		return _("(global)");
	for (size_t i = 0; i < c->n; i++)
		if (c->id[i] == id)
			return c->name[i];
	pd_customer cu;
	pd_err e;
	pd_err_clear(&e);
	bool got = app->store && store_customer_get(app->store, id, &cu, &e) == PD_OK;
	char *n = got ? xstrdup(cu.name) : xasprintf("#%lld", (long long)id);
	if (got)
		pd_customer_free(&cu);
	c->id = xrealloc(c->id, (c->n + 1) * sizeof *c->id);
	c->name = xrealloc(c->name, (c->n + 1) * sizeof *c->name);
	c->id[c->n] = id;
	c->name[c->n++] = n;
	return n;
}

static void names_free(struct names *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->name[i]);
	free(c->name);
	free(c->id);
	memset(c, 0, sizeof *c);
}

/* ------------------------------------------------------------ activity */

#define ACTIVITY_MAX 2000

struct activity {
	pd_audit *rows;
	size_t n;
	char **cust; /* parallel to rows, borrowed from names */
	struct names names;
	struct ui_audit_pane pane;
	char err[300];
};

static void act_load(struct ui_app *app, struct activity *a)
{
	pd_audits_free(a->rows, a->n);
	a->rows = NULL;
	a->n = 0;
	free(a->cust);
	a->cust = NULL;
	names_free(&a->names);
	a->err[0] = 0;
	pd_err e;
	pd_err_clear(&e);
	if (!app->store)
		pd_snprintf(a->err, sizeof a->err, _("database unavailable"));
	else if (store_audit_list(app->store, 0, ACTIVITY_MAX, &a->rows, &a->n, &e) != PD_OK)
		pd_snprintf(a->err, sizeof a->err, _("activity: %.250s"), e.message);
	a->cust = xcalloc(a->n ? a->n : 1, sizeof *a->cust);
	for (size_t i = 0; i < a->n; i++)
		a->cust[i] = (char *)name_of(app, &a->names, a->rows[i].customer_id);
	ui_audit_pane_set(&a->pane, a->rows, a->n, a->cust);
}

static pd_status act_create(struct ui_screen *s, void *arg, pd_err *e)
{
	(void)arg;
	(void)e;
	struct activity *a = xcalloc(1, sizeof *a);
	s->priv = a;
	act_load(s->app, a);
	return PD_OK;
}

static void act_destroy(struct ui_screen *s)
{
	struct activity *a = s->priv;
	ui_audit_pane_free(&a->pane);
	pd_audits_free(a->rows, a->n);
	free(a->cust);
	names_free(&a->names);
	free(a);
}

static void rec_layout(struct ui_screen *s)
{
	ui_screen_window(s, s->y, s->x, s->h, s->w);
}

static void title_line(struct ui_screen *s, const char *title, const char *err)
{
	ui_fill(s->win, 0, 0, s->w, ui_role(UI_R_TITLE));
	ui_put(s->win, 0, 1, s->w - 2, title, ui_role(UI_R_TITLE), false);
	if (err && *err)
		ui_put(s->win, 1, 1, s->w - 2, err, ui_role(UI_R_STATUS_ERROR), true);
}

static void act_draw(struct ui_screen *s)
{
	struct activity *a = s->priv;
	werase(s->win);
	char title[160];
	pd_snprintf(title, sizeof title, _("All activity — %zu record%s, newest first%s"), a->n,
	            a->n == 1 ? "" : "s", a->n >= ACTIVITY_MAX ? _(" (the latest 2000)") : "");
	title_line(s, title, a->err);
	ui_audit_pane_draw(&a->pane, s->win, 2, s->h - 2, s->w);
}

static int act_key(struct ui_screen *s, const struct ui_event *ev)
{
	struct activity *a = s->priv;
	size_t page = s->h > 12 ? (size_t)s->h / 2 - 2 : 1;
	int r = ui_audit_pane_key(&a->pane, ev, UI_A_REC_FILTER, page);
	if (r)
		return r;
	if (ev->action == UI_A_REC_EXPORT) {
		ui_export_ask(s->app, "activity", ui_audit_pane_table(&a->pane));
		return UI_HANDLED;
	}
	return 0;
}

static int act_data(struct ui_screen *s)
{
	act_load(s->app, s->priv);
	return UI_REDRAW;
}

static const char *act_help(struct ui_screen *s)
{
	(void)s;
	return _("Every customer's activity (the audit log), newest first: who, when, what.\n"
	         "The pane below shows the selected record whole: each change as\n"
	         "field: old → new (secrets only as \"(changed)\"). / filters the list (any\n"
	         "column; Esc clears), x exports what the list shows to a CSV file.");
}

const struct ui_screen_ops ui_activity_ops = {
    .name = "activity",
    .context = UI_CTX_RECORDS,
    .create = act_create,
    .destroy = act_destroy,
    .layout = rec_layout,
    .draw = act_draw,
    .handle_key = act_key,
    .help = act_help,
    .on_data = act_data,
    .fkeys = N_("F1|Help|/|Filter|x|Export|Esc|Back|F10|Quit"),
};

/* -------------------------------------------------------------- outbox */

struct outbox {
	pd_outbox *all;
	size_t n_all;
	size_t *shown, n_shown; /* queued and failed ones, after the filter */
	size_t sel, top;
	struct ui_list_filter filter;
	struct names names;
	char err[300];
};

static void day_time(int64_t at, char out[20])
{
	if (!at) {
		pd_snprintf(out, 20, "—");
		return;
	}
	time_t t = (time_t)at;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 20, "%Y-%m-%d %H:%M", &tm);
}

/* "queued", "retry", "failed" as outbox list says them */
static const char *ob_state(const pd_outbox *o)
{
	if (o->state == PD_INVITE_QUEUED && o->attempts)
		return "retry";
	return pd_invite_state_name(o->state);
}

enum { OB_NC = 7 };
static void ob_cells(struct ui_app *app, struct outbox *b, const pd_outbox *o, char id[24],
                     char att[12], char next[20], const char *cells[OB_NC])
{
	pd_snprintf(id, 24, "%lld", (long long)o->id);
	pd_snprintf(att, 12, "%d", o->attempts);
	day_time(o->state == PD_INVITE_QUEUED ? o->next_attempt_at : 0, next);
	cells[0] = id;
	cells[1] = name_of(app, &b->names, o->customer_id);
	cells[2] = o->to_addr ? o->to_addr : "";
	cells[3] = ob_state(o);
	cells[4] = att;
	cells[5] = next;
	cells[6] = o->last_error ? o->last_error : "";
}

static void ob_refilter(struct ui_app *app, struct outbox *b)
{
	int64_t was = b->n_shown && b->sel < b->n_shown ? b->all[b->shown[b->sel]].id : 0;
	free(b->shown);
	b->shown = xcalloc(b->n_all ? b->n_all : 1, sizeof *b->shown);
	b->n_shown = 0;
	b->sel = 0;
	for (size_t i = 0; i < b->n_all; i++) {
		const pd_outbox *o = &b->all[i];
		if (o->state != PD_INVITE_QUEUED && o->state != PD_INVITE_FAILED)
			continue;
		char id[24], att[12], next[20];
		const char *cells[OB_NC];
		ob_cells(app, b, o, id, att, next, cells);
		if (!ui_list_filter_match(&b->filter, cells, OB_NC))
			continue;
		if (o->id == was)
			b->sel = b->n_shown;
		b->shown[b->n_shown++] = i;
	}
}

static void ob_load(struct ui_app *app, struct outbox *b)
{
	pd_outboxes_free(b->all, b->n_all);
	b->all = NULL;
	b->n_all = 0;
	names_free(&b->names);
	b->err[0] = 0;
	pd_err e;
	pd_err_clear(&e);
	if (!app->store)
		pd_snprintf(b->err, sizeof b->err, _("database unavailable"));
	else if (store_outbox_list(app->store, 0, &b->all, &b->n_all, &e) != PD_OK)
		pd_snprintf(b->err, sizeof b->err, _("outbox: %.250s"), e.message);
	ob_refilter(app, b);
}

static pd_status ob_create(struct ui_screen *s, void *arg, pd_err *e)
{
	(void)arg;
	(void)e;
	struct outbox *b = xcalloc(1, sizeof *b);
	s->priv = b;
	ob_load(s->app, b);
	return PD_OK;
}

static void ob_destroy(struct ui_screen *s)
{
	struct outbox *b = s->priv;
	pd_outboxes_free(b->all, b->n_all);
	free(b->shown);
	names_free(&b->names);
	free(b);
}

static const pd_outbox *ob_selected(const struct outbox *b)
{
	return b->n_shown ? &b->all[b->shown[b->sel]] : NULL;
}

static void ob_draw(struct ui_screen *s)
{
	struct outbox *b = s->priv;
	WINDOW *w = s->win;
	werase(w);
	size_t queued = 0, failed = 0;
	for (size_t i = 0; i < b->n_all; i++) {
		queued += b->all[i].state == PD_INVITE_QUEUED;
		failed += b->all[i].state == PD_INVITE_FAILED;
	}
	char title[160];
	pd_snprintf(title, sizeof title, _("Outbox — %zu queued, %zu failed"), queued, failed);
	title_line(s, title, b->err);
	int cw[OB_NC] = {5, 14, 18, 6, 3, 16, 0};
	const char *hd[OB_NC] = {"#",      _("Customer"),     _("To"),        _("State"),
	                         _("Try"), _("Next attempt"), _("Last error")};
	int used = OB_NC - 1;
	for (int i = 0; i < OB_NC - 1; i++)
		used += cw[i];
	cw[OB_NC - 1] = s->w - used > 8 ? s->w - used : 8;
	int y = 2, x = 0;
	ui_fill(w, y, 0, s->w, ui_role(UI_R_GRID_HEADER));
	for (int i = 0; i < OB_NC; i++) {
		ui_put(w, y, x, cw[i], hd[i], ui_role(UI_R_GRID_HEADER), true);
		x += cw[i] + 1;
	}
	y++;
	if (b->filter.text[0] || b->filter.editing)
		ui_list_filter_draw(&b->filter, w, y++, 0, s->w);
	int detail_h = 5;
	int rows = s->h - y - detail_h;
	if (rows < 1)
		rows = 1;
	if (b->sel >= b->n_shown)
		b->sel = b->n_shown ? b->n_shown - 1 : 0;
	if (b->sel < b->top)
		b->top = b->sel;
	if (b->sel >= b->top + (size_t)rows)
		b->top = b->sel - (size_t)rows + 1;
	if (!b->n_shown)
		ui_put(w, y, 1, s->w - 2,
		       b->filter.text[0]
		           ? _("Nothing matches the filter (Esc clears it).")
		           : _("Nothing queued or failed: every invitation was sent."),
		       ui_role(UI_R_NOTE), false);
	for (int r = 0; r < rows && b->top + (size_t)r < b->n_shown; r++) {
		const pd_outbox *o = &b->all[b->shown[b->top + (size_t)r]];
		char id[24], att[12], next[20];
		const char *cells[OB_NC];
		ob_cells(s->app, b, o, id, att, next, cells);
		bool sel = b->top + (size_t)r == b->sel;
		attr_t a = ui_role(sel ? UI_R_GRID_SELECTED : UI_R_GRID_ROW);
		ui_fill(w, y + r, 0, s->w, a);
		x = 0;
		for (int i = 0; i < OB_NC; i++) {
			ui_put(w, y + r, x, cw[i], cells[i], a, false);
			x += cw[i] + 1;
		}
	}
	/* the selected message whole: its error can be long */
	int dy = s->h - detail_h;
	ui_fill(w, dy, 0, s->w, ui_role(UI_R_LABEL));
	const pd_outbox *o = ob_selected(b);
	if (!o)
		return;
	char created[20];
	day_time(o->created_at, created);
	char *head = xasprintf(_("── #%lld to %s · queued %s by %s "), (long long)o->id,
	                       o->to_addr ? o->to_addr : "", created,
	                       o->invited_by && *o->invited_by ? o->invited_by : _("(unknown)"));
	ui_put(w, dy, 0, s->w, head, ui_role(UI_R_LABEL) | A_BOLD, false);
	free(head);
	char *sub = xasprintf(_("Subject: %s"), o->subject ? o->subject : "");
	ui_put(w, dy + 1, 1, s->w - 2, sub, ui_role(UI_R_NORMAL), false);
	free(sub);
	const char *err = o->last_error && *o->last_error ? o->last_error : _("(no error)");
	/* the error wrapped between words beside its label */
	const char *label = _("Error: ");
	int lw = pd_utf8_width(label), tw = s->w - 2 - lw > 4 ? s->w - 2 - lw : 4;
	char **lines;
	size_t n = ui_wrap(err, tw, &lines);
	ui_put(w, dy + 2, 1, lw, label, ui_role(UI_R_NORMAL), false);
	for (size_t l = 0; l < n; l++) {
		if ((int)l < detail_h - 2)
			ui_put(w, dy + 2 + (int)l, 1 + lw, tw, lines[l], ui_role(UI_R_NORMAL),
			       false);
		free(lines[l]);
	}
	free(lines);
}

static void ob_cancel_done(struct ui_app *app, void *ctx, bool ok, const char *text)
{
	(void)text;
	int64_t *id = ctx;
	if (ok) {
		pd_err e;
		pd_err_clear(&e);
		if (store_outbox_cancel_by(app->store, *id, &app->actor, &e) != PD_OK)
			ui_show_err(app, _("message not cancelled"), &e);
		else
			ui_msg(app, UI_R_STATUS_OK,
			       _("message #%lld cancelled: it will not be sent"), (long long)*id);
		ui_app_data_changed(app);
	}
	free(id);
}

static int ob_key(struct ui_screen *s, const struct ui_event *ev)
{
	struct outbox *b = s->priv;
	struct ui_app *app = s->app;
	char before[sizeof b->filter.text];
	memcpy(before, b->filter.text, sizeof before);
	int r = ui_list_filter_key(&b->filter, ev, UI_A_REC_FILTER);
	if (r) {
		if (strcmp(before, b->filter.text))
			ob_refilter(app, b);
		return r;
	}
	size_t page = s->h > 10 ? (size_t)s->h - 10 : 1;
	r = ui_list_move(&b->sel, b->n_shown, page, ev->action);
	if (r)
		return r;
	const pd_outbox *o = ob_selected(b);
	pd_err e;
	pd_err_clear(&e);
	switch (ev->action) {
	case UI_A_REC_EXPORT: {
		const char *hd[OB_NC] = {"id",       "customer",         "to",        "state",
		                         "attempts", "next_attempt_utc", "last_error"};
		struct ui_table *t = ui_table_new(hd, OB_NC);
		for (size_t i = 0; i < b->n_shown; i++) {
			char id[24], att[12], next[20];
			const char *cells[OB_NC];
			ob_cells(app, b, &b->all[b->shown[i]], id, att, next, cells);
			ui_table_add(t, cells);
		}
		ui_export_ask(app, "outbox", t);
		return UI_HANDLED;
	}
	case UI_A_OUTBOX_RETRY:
		if (!o || app->read_only)
			return UI_HANDLED;
		if (o->state == PD_INVITE_FAILED) {
			/* as `provdesk outbox retry ID` */
			int count = 0;
			if (store_outbox_retry(app->store, o->id, &app->actor, &count, &e) != PD_OK)
				ui_show_err(app, _("message not queued again"), &e);
			else
				ui_msg(app, UI_R_STATUS_OK, _("message #%lld queued again"),
				       (long long)o->id);
		} else if (o->user_id) {
			/* queued (maybe waiting for a retry): due now, one mail */
			if (store_outbox_resend_user_ex(app->store, o->user_id, &app->actor, NULL,
			                                &e) != PD_OK)
				ui_show_err(app, _("message not sent now"), &e);
			else
				ui_msg(app, UI_R_STATUS_OK, _("message #%lld is sent now"),
				       (long long)o->id);
		}
		ui_app_data_changed(app);
		return UI_HANDLED;
	case UI_A_OUTBOX_CANCEL:
		if (!o || app->read_only)
			return UI_HANDLED;
		if (o->state != PD_INVITE_QUEUED) {
			ui_msg(app, UI_R_STATUS_WARN, _("only a queued message can be cancelled"));
			return UI_HANDLED;
		}
		{
			int64_t *id = xcalloc(1, sizeof *id);
			*id = o->id;
			char *t = xasprintf(
			    _("Cancel the invitation #%lld to %s? It will never be sent."),
			    (long long)o->id, o->to_addr ? o->to_addr : "");
			ui_dialog_confirm(app, _("Cancel the message"), t, ob_cancel_done, id);
			free(t);
		}
		return UI_HANDLED;
	default:
		return 0;
	}
}

static int ob_data(struct ui_screen *s)
{
	ob_load(s->app, s->priv);
	return UI_REDRAW;
}

static const char *ob_help(struct ui_screen *s)
{
	(void)s;
	return _("The outbox: invitations queued (a retry shows its next attempt) or failed,\n"
	         "with the attempts and the last error; the pane below shows the selected one\n"
	         "whole. r sends the selected message now (a failed one is queued again, as\n"
	         "`provdesk outbox retry ID`), d cancels a queued one (asks first). / filters,\n"
	         "x exports what the list shows to a CSV file.");
}

const struct ui_screen_ops ui_outbox_ops = {
    .name = "outbox",
    .context = UI_CTX_RECORDS,
    .create = ob_create,
    .destroy = ob_destroy,
    .layout = rec_layout,
    .draw = ob_draw,
    .handle_key = ob_key,
    .help = ob_help,
    .on_data = ob_data,
    .fkeys = N_("F1|Help|r|Send|d|Cancel|/|Filter|x|Export|Esc|Back"),
};

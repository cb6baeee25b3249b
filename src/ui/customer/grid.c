/* The customer grid (home). Only the visible rows are fetched, with keyset
 * paging (store_customer_page: FIRST/LAST/AFTER/BEFORE/FROM an anchor row),
 * so 100,000 customers stay instant; the selection is kept by id across
 * refreshes; another console's change shows within a second through
 * PRAGMA data_version (the app calls on_data). */
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <wctype.h>

#include "customer/grid_filter.h"
#include "live/services.h"
#include "ui_internal.h"

static const char *product_name(const struct ui_app *app, const char *key)
{
	const pd_product_type *p = key && app->cat ? pd_catalogue_product(app->cat, key) : NULL;
	return p && p->name ? p->name : key ? key : "";
}

enum col_id {
	C_NAME,
	C_PRODUCT,
	C_REF,
	C_TENANT,
	C_COUNTRY,
	C_STATUS,
	C_INTERNAL,
	C_PBX,
	C_USERS,
	C_CALLS,
	C_AGENTS,
	C__N
};

/* Widths come from the content of the rows on screen (up to cap) and the
 * terminal: when the row is too wide, the fit steps below run in order until
 * it fits (as htop drops meters), and the name gets whatever is left. */
static const struct {
	const char *title;
	int cap;  /* widest it gets from its content */
	int sort; /* pd_sort or -1 */
	bool right;
} cols[C__N] = {
    [C_NAME] = {N_("Name"), 0, PD_SORT_NAME, false},
    [C_REF] = {N_("Reference"), 16, PD_SORT_REFERENCE, false},
    [C_TENANT] = {N_("Tenant id"), 36, -1, false},
    [C_PRODUCT] = {N_("Product type"), 22, PD_SORT_PRODUCT, false},
    [C_COUNTRY] = {N_("Ctry"), 4, PD_SORT_COUNTRY, false},
    [C_STATUS] = {N_("Status"), 10, PD_SORT_STATUS, false},
    [C_INTERNAL] = {N_("Int"), 3, PD_SORT_INTERNAL, false},
    /* "down since 14:02, retrying in 12 s"; sorted by the state last stored */
    [C_PBX] = {"PBX", 34, PD_SORT_PBX, false},
    [C_USERS] = {N_("Users"), 5, PD_SORT_USERS, true},
    [C_CALLS] = {N_("Calls"), 5, -1, true},
    [C_AGENTS] = {N_("Agents"), 6, -1, true},
};

/* What gives way when the columns do not fit, first step first: a column
 * shrinks to `to` cells (cut with "…"), or, with to == 0, is dropped; a
 * step with `blank` only drops a column with nothing to say on this page
 * (every value empty or "—": Calls and Agents without a monitored PBX). */
static const struct {
	enum col_id c;
	int to;
	bool blank;
} fit_steps[] = {
    {C_TENANT, 13, false},  {C_PRODUCT, 12, false}, {C_REF, 10, false},    {C_TENANT, 0, false},
    {C_INTERNAL, 0, false}, {C_AGENTS, 0, true},    {C_CALLS, 0, true},    {C_PBX, 16, false},
    {C_NAME, 20, false},    {C_PBX, 7, false},      {C_AGENTS, 0, false},  {C_CALLS, 0, false},
    {C_NAME, 14, false},    {C_COUNTRY, 0, false},  {C_USERS, 0, false},   {C_PRODUCT, 6, false},
    {C_PBX, 0, false},      {C_REF, 0, false},      {C_PRODUCT, 0, false}, {C_NAME, 8, false},
    {C_STATUS, 0, false},
};

struct grid {
	pd_query q;
	char filter[400];
	char text[400]; /* the filter without its "pbx:STATE" word (apply_filter) */
	bool pbx_bad;   /* that word is not (yet) a PBX state */
	bool filtering;
	pd_row *rows;
	size_t n, cap;
	pd_row anchor;
	bool has_anchor;
	size_t sel;
	int64_t sel_id;
	int64_t total, pos;
	pd_counts counts;
	bool counts_ok;
	/* the page is painted first; the row count, the position and the
	 * status-line counts are computed when no key is waiting (on_idle) */
	bool need_count, need_pos, need_counts;
	/* The filter worker (customer/grid_filter.h), started by the first
	 * '/': a keystroke bumps gen and posts the query; searching until the
	 * answer for gen is painted (an older one is dropped). */
	struct grid_filter *worker;
	uint64_t gen;
	bool searching;
	int64_t seen_cc; /* store_change_counter when the rows were read */
	struct ui_screen *screen;
	char err[560];
	int widths[C__N]; /* 0 = not shown (no room) */
	int body;         /* data rows on screen */
	/* H5: rows marked for a bulk action, by customer id (they stay marked
	 * across scrolling, sorting and filtering) */
	int64_t *marked;
	size_t n_marked;
};

/* ---- rows ---- */

static void row_copy(pd_row *dst, const pd_row *src)
{
	memset(dst, 0, sizeof *dst);
	pd_customer_copy(&dst->c, &src->c);
	dst->n_users = src->n_users;
	dst->status = src->status;
	dst->trial_days_left = src->trial_days_left;
	dst->pbx_state = xstrdup(src->pbx_state);
	dst->pbx_link_known = src->pbx_link_known;
	dst->pbx_link = src->pbx_link;
	dst->pbx_key = src->pbx_key;
	dst->pbx_since = src->pbx_since;
	dst->pbx_updated_at = src->pbx_updated_at;
	dst->pbx_monitored = src->pbx_monitored;
	dst->pbx_error = xstrdup(src->pbx_error);
	dst->sort_ival = src->sort_ival;
	dst->sort_sval = xstrdup(src->sort_sval);
}

static void clear_rows(struct grid *g)
{
	pd_rows_free(g->rows, g->n); /* frees the rows' fields, not the array */
	free(g->rows);
	g->rows = NULL;
	g->n = 0;
}

static void set_anchor(struct grid *g, const pd_row *r)
{
	if (g->has_anchor)
		pd_row_free(&g->anchor);
	g->has_anchor = r != NULL;
	if (r)
		row_copy(&g->anchor, r);
}

static size_t page_size(const struct grid *g)
{
	return g->body > 0 ? (size_t)g->body : 1;
}

static bool db_fail(struct ui_app *app, struct grid *g, const pd_err *e)
{
	pd_snprintf(g->err, sizeof g->err, _("database: %.500s"),
	            e->message[0] ? e->message : pd_status_message(e->status));
	ui_msg(app, UI_R_STATUS_ERROR, _("%s — showing the last rows read; r retries"), g->err);
	return false;
}

/* The typed filter into the query: a word "pbx:STATE" (at the start or
 * after a space; STATE as `customer list --pbx` takes it: down, up, failing,
 * none, a state key, several with commas) filters by the PBX state last
 * stored, the rest is the text filter. A word that is not (yet) a state
 * filters nothing and the title says what it takes. */
static void apply_filter(struct grid *g)
{
	const char *f = g->filter, *p = NULL;
	for (const char *s = f; (s = strstr(s, "pbx:")) != NULL; s++)
		if (s == f || s[-1] == ' ') {
			p = s;
			break;
		}
	g->q.pbx_mask = 0;
	g->pbx_bad = false;
	if (!p) {
		pd_utf8_copys(g->text, sizeof g->text, f);
	} else {
		size_t wl = strcspn(p + 4, " ");
		char word[128];
		pd_snprintf(word, sizeof word, "%.*s", (int)wl, p + 4);
		g->pbx_bad = !pd_pbx_filter_parse(word, &g->q.pbx_mask);
		pd_snprintf(g->text, sizeof g->text, "%.*s%s", (int)(p - f), f, p + 4 + wl);
	}
	size_t a = strspn(g->text, " "), n = strlen(g->text);
	while (n > a && g->text[n - 1] == ' ')
		n--;
	memmove(g->text, g->text + a, n - a);
	g->text[n - a] = 0;
	g->q.filter = g->text[0] ? g->text : NULL;
}

/* Fetch `limit` rows in direction dir; replaces the page when rows came back
 * (or always when replace_empty). Returns the number fetched, -1 on error. */
static long fetch(struct ui_app *app, struct grid *g, pd_page_dir dir, const pd_row *anchor,
                  size_t limit, bool replace_empty)
{
	if (!app->store)
		return -1;
	pd_row *rows = xcalloc(limit ? limit : 1, sizeof *rows);
	size_t n = 0;
	pd_err e;
	pd_err_clear(&e);
	apply_filter(g);
	g->q.today = pd_today();
	if (store_customer_page(app->store, &g->q, dir, anchor, limit, rows, &n, &e) != PD_OK) {
		free(rows);
		db_fail(app, g, &e);
		return -1;
	}
	g->err[0] = 0;
	if (n == 0 && !replace_empty) {
		free(rows);
		return 0;
	}
	clear_rows(g);
	g->rows = rows;
	g->n = n;
	set_anchor(g, n ? &rows[0] : NULL);
	return (long)n;
}

static void want_idle(struct grid *g)
{
	if (g->screen)
		g->screen->idle = true;
}

static void update_position(struct ui_app *app, struct grid *g)
{
	(void)app;
	g->need_pos = true;
	want_idle(g);
}

static void update_position_now(struct ui_app *app, struct grid *g)
{
	pd_err e;
	g->pos = 0;
	if (g->n && store_customer_position(app->store, &g->q, &g->rows[0], &g->pos, &e) != PD_OK)
		g->pos = 0;
}

static void select_id(struct grid *g, int64_t id, size_t fallback)
{
	for (size_t i = 0; i < g->n; i++)
		if (g->rows[i].c.id == id) {
			g->sel = i;
			return;
		}
	g->sel = fallback < g->n ? fallback : (g->n ? g->n - 1 : 0);
	g->sel_id = g->n ? g->rows[g->sel].c.id : 0;
}

/* Refetch the visible page from the anchor (after a change or resize). */
static void grid_refresh(struct ui_app *app, struct grid *g, bool counts)
{
	if (!app->store)
		return;
	g->seen_cc = store_change_counter(app->store);
	size_t ps = page_size(g);
	long r;
	bool from_top = !g->has_anchor;
	if (g->has_anchor) {
		pd_row a;
		row_copy(&a, &g->anchor);
		r = fetch(app, g, PD_PAGE_FROM, &a, ps, true);
		pd_row_free(&a);
		if (r >= 0 && (size_t)r < ps)
			r = fetch(app, g, PD_PAGE_LAST, NULL, ps, true);
	} else {
		r = fetch(app, g, PD_PAGE_FIRST, NULL, ps, true);
	}
	if (r < 0)
		return;
	select_id(g, g->sel_id, g->sel);
	if (g->n)
		g->sel_id = g->rows[g->sel].c.id;
	g->need_count = true;
	g->need_pos = !from_top; /* the first page starts at 0 */
	if (from_top)
		g->pos = 0;
	if (counts)
		g->need_counts = true;
	want_idle(g);
}

/* Put customer `id` on screen and select it (after the wizard created it).
 * The keyset anchor is the row's id alone (the store reads its sort key), so
 * the user's filter and sort stay as they were; only when the customer does
 * not match the filter is the filter cleared, and the status line says so. */
static void jump_to(struct ui_app *app, struct grid *g, int64_t id, const char *who)
{
	pd_row a;
	memset(&a, 0, sizeof a);
	a.c.id = id;
	pd_row first;
	memset(&first, 0, sizeof first);
	size_t n = 0;
	pd_err e;
	pd_err_clear(&e);
	apply_filter(g);
	g->q.today = pd_today();
	if (store_customer_page(app->store, &g->q, PD_PAGE_FROM, &a, 1, &first, &n, &e) != PD_OK) {
		db_fail(app, g, &e);
		return;
	}
	bool matches = n && first.c.id == id;
	if (n)
		pd_row_free(&first);
	if (!matches && g->filter[0]) {
		char was[sizeof g->filter], before[sizeof app->msg];
		pd_utf8_copys(was, sizeof was, g->filter);
		pd_utf8_copys(before, sizeof before, app->msg); /* e.g. "Customer … created" */
		g->filter[0] = 0;
		apply_filter(g);
		g->filtering = false;
		g->gen++; /* an answer on its way is for the old filter */
		g->searching = false;
		/* first, so that a narrow status line still shows it */
		ui_msg(app, UI_R_STATUS_WARN, _("Filter \"%s\" cleared: %s does not match it%s%s"),
		       was, who, before[0] ? " · " : "", before);
	}
	set_anchor(g, &a);
	g->sel_id = id;
	grid_refresh(app, g, true);
	select_id(g, id, 0);
	if (g->n)
		g->sel_id = g->rows[g->sel].c.id;
}

/* ---- movement ---- */

static void move_down(struct ui_app *app, struct grid *g, size_t by)
{
	if (!g->n)
		return;
	if (g->sel + by < g->n) {
		g->sel += by;
	} else if (by == 1) {
		pd_row next;
		size_t n = 0;
		pd_err e;
		memset(&next, 0, sizeof next);
		if (store_customer_page(app->store, &g->q, PD_PAGE_AFTER, &g->rows[g->n - 1], 1,
		                        &next, &n, &e) != PD_OK) {
			db_fail(app, g, &e);
			return;
		}
		if (n) {
			pd_row_free(&next);
			pd_row a;
			row_copy(&a, g->n > 1 ? &g->rows[1] : &next);
			set_anchor(g, &a);
			pd_row_free(&a);
			g->sel_id = 0;
			grid_refresh(app, g, false);
			g->sel = g->n ? g->n - 1 : 0;
		} else {
			g->sel = g->n - 1;
		}
	} else {
		pd_row last;
		row_copy(&last, &g->rows[g->n - 1]);
		size_t keep = g->sel;
		long r = fetch(app, g, PD_PAGE_AFTER, &last, page_size(g), false);
		pd_row_free(&last);
		if (r == 0)
			g->sel = g->n - 1;
		else if (r > 0 && (size_t)r < page_size(g)) {
			fetch(app, g, PD_PAGE_LAST, NULL, page_size(g), true);
			g->sel = g->n ? g->n - 1 : 0;
		} else if (r > 0)
			g->sel = keep < g->n ? keep : g->n - 1;
		update_position(app, g);
	}
	if (g->n)
		g->sel_id = g->rows[g->sel].c.id;
}

static void move_up(struct ui_app *app, struct grid *g, size_t by)
{
	if (!g->n)
		return;
	if (g->sel >= by) {
		g->sel -= by;
	} else if (by == 1) {
		pd_row prev;
		size_t n = 0;
		pd_err e;
		memset(&prev, 0, sizeof prev);
		if (store_customer_page(app->store, &g->q, PD_PAGE_BEFORE, &g->rows[0], 1, &prev,
		                        &n, &e) != PD_OK) {
			db_fail(app, g, &e);
			return;
		}
		if (n) {
			set_anchor(g, &prev);
			g->sel_id = prev.c.id;
			pd_row_free(&prev);
			grid_refresh(app, g, false);
			g->sel = 0;
		} else {
			g->sel = 0;
		}
	} else {
		pd_row first;
		row_copy(&first, &g->rows[0]);
		size_t keep = g->sel;
		long r = fetch(app, g, PD_PAGE_BEFORE, &first, page_size(g), false);
		pd_row_free(&first);
		if (r == 0)
			g->sel = 0;
		else if (r > 0 && (size_t)r < page_size(g)) {
			fetch(app, g, PD_PAGE_FIRST, NULL, page_size(g), true);
			g->sel = 0;
		} else if (r > 0)
			g->sel = keep;
		update_position(app, g);
	}
	if (g->n)
		g->sel_id = g->rows[g->sel].c.id;
}

static void go_end(struct ui_app *app, struct grid *g, bool last)
{
	fetch(app, g, last ? PD_PAGE_LAST : PD_PAGE_FIRST, NULL, page_size(g), true);
	g->sel = last && g->n ? g->n - 1 : 0;
	g->sel_id = g->n ? g->rows[g->sel].c.id : 0;
	update_position(app, g);
}

/* A new query (filter or sort): start from the top, keep the selection if
 * it is on the first page. */
static void requery(struct ui_app *app, struct grid *g)
{
	g->gen++; /* answered here: the worker's answer would be stale */
	g->searching = false;
	set_anchor(g, NULL);
	g->sel = 0;
	grid_refresh(app, g, false);
}

/* ---- the filter worker (docs/architecture.md "The filter worker") ---- */

static void wake_app(void *arg)
{
	ui_app_wake(arg); /* from the worker thread: a byte on the wake pipe */
}

static void start_worker(struct ui_app *app, struct grid *g)
{
	if (g->worker || !app->store || !app->opts || !app->opts->db_path)
		return;
	pd_store_opts so = {.catalogue = app->cat,
	                    .internal_systems_limit =
	                        app->cfg ? app->cfg->internal_systems_limit : 1,
	                    .busy_timeout_ms = 5000,
	                    .read_only = true};
	g->worker = grid_filter_start(app->opts->db_path, &so, g->q.sort, wake_app, app);
}

/* A filter keystroke: the typed text is echoed now, the rows and the count
 * come from the worker; without one, the query runs here as before. */
static void search(struct ui_app *app, struct grid *g)
{
	apply_filter(g);
	start_worker(app, g);
	if (!g->worker) {
		requery(app, g);
		return;
	}
	g->gen++;
	g->q.today = pd_today();
	grid_filter_post(g->worker, g->gen, &g->q, page_size(g));
	g->searching = true;
}

/* The worker's answer for the current filter: the first page, as requery
 * reads it, and the count. A failure (the worker's connection) falls back
 * to the query here, which reports it. */
static void take_answer(struct ui_app *app, struct grid *g, struct grid_filter_result *r)
{
	g->searching = false;
	if (r->st != PD_OK) {
		pd_rows_free(r->rows, r->n);
		free(r->rows);
		requery(app, g);
		return;
	}
	clear_rows(g);
	g->rows = r->rows;
	g->n = r->n;
	g->err[0] = 0;
	set_anchor(g, g->n ? &g->rows[0] : NULL);
	g->sel = 0;
	select_id(g, g->sel_id, 0);
	if (g->n)
		g->sel_id = g->rows[g->sel].c.id;
	g->total = r->total;
	g->pos = 0;
	g->need_count = g->need_pos = false;
}

/* A key that acts on the rows while an answer is due waits for it (the
 * worker takes milliseconds), so Enter opens what the filter shows. */
static void settle(struct ui_app *app, struct grid *g)
{
	if (!g->searching)
		return;
	struct grid_filter_result r;
	if (grid_filter_wait(g->worker, g->gen, 10000, &r))
		take_answer(app, g, &r);
	else
		requery(app, g);
}

/* ---- screen ---- */

static pd_status g_create(struct ui_screen *s, void *arg, pd_err *e)
{
	struct grid *g = xcalloc(1, sizeof *g);
	g->q.sort = PD_SORT_NAME;
	g->screen = s;
	s->priv = g;
	return PD_OK;
}

static void g_destroy(struct ui_screen *s)
{
	struct grid *g = s->priv;
	grid_filter_stop(g->worker);
	clear_rows(g);
	set_anchor(g, NULL);
	free(g->marked);
	free(g);
}

static void g_layout(struct ui_screen *s)
{
	struct grid *g = s->priv;
	ui_screen_window(s, s->y, s->x, s->h, s->w);
	g->body = s->h - 2;
	grid_refresh(s->app, g, !g->counts_ok && !g->need_counts);
}

static void status_text(const pd_row *r, char *buf, size_t n, enum ui_role *role)
{
	*role = UI_R_GRID_ROW;
	switch (r->status) {
	case PD_CS_TRIAL:
		pd_snprintf(buf, n, _("trial %dd"), r->trial_days_left);
		if (r->trial_days_left <= 7)
			*role = UI_R_TRIAL_ENDING;
		break;
	case PD_CS_TRIAL_EXPIRED:
		pd_snprintf(buf, n, _("expired"));
		*role = UI_R_TRIAL_EXPIRED;
		break;
	default:
		pd_utf8_copys(buf, n, ui_customer_status_label(r->status));
		if (r->status == PD_CS_DELETED || r->status == PD_CS_DISABLED)
			*role = UI_R_GRID_DIM;
	}
}

/* ---- marks and bulk actions (H5) ---- */

static bool is_marked(const struct grid *g, int64_t id)
{
	for (size_t i = 0; i < g->n_marked; i++)
		if (g->marked[i] == id)
			return true;
	return false;
}

static void toggle_mark(struct grid *g, int64_t id)
{
	for (size_t i = 0; i < g->n_marked; i++)
		if (g->marked[i] == id) {
			g->marked[i] = g->marked[--g->n_marked];
			return;
		}
	g->marked = xrealloc(g->marked, (g->n_marked + 1) * sizeof *g->marked);
	g->marked[g->n_marked++] = id;
}

/* A bulk action's context: a copy of the marked ids (the grid may change
 * while a dialog is open). */
struct bulk {
	struct grid *g;
	int64_t *ids;
	size_t n;
};

static struct bulk *bulk_new(struct grid *g)
{
	struct bulk *b = xcalloc(1, sizeof *b);
	b->g = g;
	b->n = g->n_marked;
	b->ids = xcalloc(b->n ? b->n : 1, sizeof *b->ids);
	memcpy(b->ids, g->marked, b->n * sizeof *b->ids);
	return b;
}

static void bulk_free(struct bulk *b)
{
	free(b->ids);
	free(b);
}

/* Every user without a role (no access: synced users arrive so) of the
 * marked customers gets the role, each through store_role_assign (the
 * primary user keeps customer-admin and already has a role). */
static void bulk_role_done(struct ui_app *app, void *ctx, bool ok, const char *role)
{
	struct bulk *b = ctx;
	if (ok && role && *role) {
		int given = 0, failed = 0;
		char first[300] = "";
		for (size_t i = 0; i < b->n; i++) {
			pd_user *u = NULL;
			size_t n = 0;
			pd_err e;
			pd_err_clear(&e);
			if (store_user_list(app->store, b->ids[i], &u, &n, &e) != PD_OK) {
				failed++;
				if (!first[0])
					pd_snprintf(first, sizeof first, "%.290s", e.message);
				continue;
			}
			for (size_t k = 0; k < n; k++) {
				if (u[k].role && *u[k].role)
					continue;
				if (store_role_assign(app->store, u[k].id, role, &app->actor, &e) ==
				    PD_OK)
					given++;
				else if (failed++ == 0)
					pd_snprintf(first, sizeof first, "%.290s", e.message);
			}
			for (size_t k = 0; k < n; k++)
				pd_user_free(&u[k]);
			free(u);
		}
		if (failed)
			ui_msg(app, UI_R_STATUS_ERROR,
			       _("role %s given to %d user(s); %d refused: %s"), role, given,
			       failed, first);
		else
			ui_msg(app, UI_R_STATUS_OK,
			       _("role %s given to %d user(s) without a role in %zu customer(s)"),
			       role, given, b->n);
		ui_app_data_changed(app);
	}
	bulk_free(b);
}

static void bulk_disable_done(struct ui_app *app, void *ctx, bool ok, const char *text)
{
	(void)text;
	struct bulk *b = ctx;
	if (ok) {
		int done = 0, none = 0, failed = 0;
		char first[300] = "";
		for (size_t i = 0; i < b->n; i++) {
			pd_pbx p;
			pd_err e;
			pd_err_clear(&e);
			if (store_pbx_get(app->store, b->ids[i], false, &p, &e) != PD_OK) {
				none++; /* no PBX connection */
				continue;
			}
			bool was = p.enabled;
			pd_pbx_free(&p);
			if (!was)
				continue;
			if (store_pbx_set_enabled(app->store, b->ids[i], false, &app->actor, &e) ==
			    PD_OK)
				done++;
			else if (failed++ == 0)
				pd_snprintf(first, sizeof first, "%.290s", e.message);
		}
		if (failed)
			ui_msg(app, UI_R_STATUS_ERROR, _("%d PBX link(s) disabled; %d refused: %s"),
			       done, failed, first);
		else
			ui_msg(app, UI_R_STATUS_OK,
			       _("%d PBX link(s) disabled (%d customer(s) without one)"), done,
			       none);
		ui_app_data_changed(app);
	}
	bulk_free(b);
}

static void bulk_export(struct ui_app *app, struct bulk *b)
{
	const char *hd[] = {"name", "tenant_id", "reference", "product_type", "country", "status"};
	struct ui_table *t = ui_table_new(hd, 6);
	pd_day today = pd_today();
	for (size_t i = 0; i < b->n; i++) {
		pd_customer c;
		pd_err e;
		pd_err_clear(&e);
		if (store_customer_get(app->store, b->ids[i], &c, &e) != PD_OK)
			continue;
		const char *cells[] = {c.name,
		                       c.tenant_id,
		                       c.reference ? c.reference : "",
		                       c.product_type,
		                       c.country,
		                       pd_customer_status_name(pd_customer_status_of(&c, today))};
		ui_table_add(t, cells);
		pd_customer_free(&c);
	}
	ui_export_ask(app, "customers", t);
}

static void bulk_menu_done(struct ui_app *app, void *ctx, bool ok, const char *value)
{
	struct bulk *b = ctx;
	if (!ok || !value) {
		bulk_free(b);
		return;
	}
	if (strcmp(value, "export") == 0) {
		bulk_export(app, b);
		bulk_free(b);
	} else if (strcmp(value, "disable") == 0) {
		char *t =
		    xasprintf(_("Disable the PBX links of the %zu marked customer(s)? Live "
		                "monitoring and the user sync stop until each is enabled again."),
		              b->n);
		ui_dialog_confirm(app, _("Disable PBX links"), t, bulk_disable_done, b);
		free(t);
	} else if (strcmp(value, "role") == 0) {
		const pd_catalogue *cat = app->cat;
		struct ui_choice *c = xcalloc(cat->n_roles ? cat->n_roles : 1, sizeof *c);
		for (size_t i = 0; i < cat->n_roles; i++) {
			c[i].value = xstrdup(cat->roles[i].key);
			c[i].label = xstrdup(pd_catalogue_text(cat->roles[i].name));
		}
		ui_dialog_pick(app, _("Role for the users without one"), c, cat->n_roles, NULL,
		               NULL, NULL, bulk_role_done, b);
		ui_choices_free(c, cat->n_roles);
	} else {
		bulk_free(b);
	}
}

static void bulk_menu(struct ui_app *app, struct grid *g)
{
	if (!g->n_marked) {
		ui_msg(app, UI_R_STATUS_WARN, _("no row marked (Space marks the selected row)"));
		return;
	}
	if (app->read_only || !app->store) {
		ui_msg(app, UI_R_STATUS_WARN, _("read-only console"));
		return;
	}
	const struct ui_choice c[] = {
	    {"role", _("Assign a role to their users without one")},
	    {"disable", _("Disable their PBX links (asks first)")},
	    {"export", _("Export them to a CSV file")},
	};
	char title[64];
	pd_snprintf(title, sizeof title, _("%zu marked customer(s)"), g->n_marked);
	ui_dialog_pick(app, title, c, 3, NULL, NULL, NULL, bulk_menu_done, bulk_new(g));
}

static void g_draw(struct ui_screen *s)
{
	struct grid *g = s->priv;
	struct ui_app *app = s->app;
	WINDOW *w = s->win;
	/* title line */
	char title[512];
	char fil[480] = "";
	if (g->filter[0] || g->filtering)
		pd_snprintf(fil, sizeof fil, _("  Filter: %s%s%s"), g->filter,
		            g->filtering ? "▏" : "",
		            g->pbx_bad ? _("  (pbx: down, up, failing, none or a state)") : "");
	char marks[48] = "";
	if (g->n_marked)
		pd_snprintf(marks, sizeof marks, _("  [%zu marked]"), g->n_marked);
	pd_snprintf(title, sizeof title, _("provdesk — Customers%s%s%s"), marks, fil,
	            g->q.include_deleted ? _("  (with deleted)") : "");
	ui_fill(w, 0, 0, s->w, ui_role(UI_R_TITLE));
	int tw = ui_put(w, 0, 1, s->w - 24, title, ui_role(UI_R_TITLE), false);
	(void)tw;
	char pos[64];
	if (g->searching)
		pd_utf8_copys(pos, sizeof pos, _("searching…"));
	else if (g->need_count || g->need_pos)
		pd_utf8_copys(pos, sizeof pos, _("counting…"));
	else if (g->n)
		pd_snprintf(pos, sizeof pos, _("%lld of %lld"),
		            (long long)(g->pos + (int64_t)g->sel + 1), (long long)g->total);
	else
		pd_snprintf(pos, sizeof pos, _("0 of %lld"), (long long)g->total);
	ui_put(w, 0, s->w - pd_utf8_width(pos) - 1, pd_utf8_width(pos), pos, ui_role(UI_R_TITLE),
	       false);
	/* the cells of the rows on screen, then the widths they need */
	size_t nr = g->n < (size_t)(g->body > 0 ? g->body : 0) ? g->n : (size_t)g->body;
	struct cells {
		struct ui_live_cols live;
		char st[32], users[24];
		enum ui_role strole;
		const char *text[C__N];
		char *marked_name; /* "✓ NAME" for a row marked for a bulk action */
	} *rc = xcalloc(nr ? nr : 1, sizeof *rc);
	int need[C__N];
	bool blank[C__N];
	for (int c = 0; c < C__N; c++) {
		need[c] = ui_text_width(pd_tr(cols[c].title)) + (cols[c].sort == (int)g->q.sort);
		blank[c] = true;
	}
	for (size_t i = 0; i < nr; i++) {
		const pd_row *r = &g->rows[i];
		struct cells *k = &rc[i];
		ui_live_for_row(app, r, &k->live);
		status_text(r, k->st, sizeof k->st, &k->strole);
		pd_snprintf(k->users, sizeof k->users, "%lld", (long long)r->n_users);
		const char *text[C__N] = {
		    [C_NAME] = r->c.name,
		    [C_REF] = r->c.reference ? r->c.reference : "",
		    [C_TENANT] = r->c.tenant_id,
		    [C_PRODUCT] = product_name(app, r->c.product_type),
		    [C_COUNTRY] = r->c.country,
		    [C_STATUS] = k->st,
		    [C_INTERNAL] = r->c.internal_system ? _("yes") : "",
		    [C_PBX] = k->live.pbx,
		    [C_USERS] = k->users,
		    [C_CALLS] = k->live.calls,
		    [C_AGENTS] = k->live.agents,
		};
		/* a marked row: "✓ " before its name (as mc's and htop's tags) */
		if (is_marked(g, r->c.id))
			text[C_NAME] = k->marked_name = xasprintf("✓ %s", r->c.name);
		memcpy(k->text, text, sizeof text);
		for (int c = 0; c < C__N; c++) {
			int cwid = ui_text_width(text[c]);
			if (*text[c] && strcmp(text[c], "—"))
				blank[c] = false;
			if (cwid > need[c])
				need[c] = cwid;
		}
	}
	int total = 0;
	for (int c = 0; c < C__N; c++) {
		/* the cap never cuts the (translated) title itself */
		int cap = cols[c].cap, title_w = ui_text_width(pd_tr(cols[c].title));
		if (cap && cap < title_w)
			cap = title_w;
		if (cap && need[c] > cap)
			need[c] = cap;
		g->widths[c] = need[c];
		total += need[c] + 1;
	}
	total--; /* no space after the last column */
	for (size_t i = 0; i < sizeof fit_steps / sizeof fit_steps[0] && total > s->w; i++) {
		enum col_id c = fit_steps[i].c;
		int to = fit_steps[i].to, cur = g->widths[c];
		if (!cur || cur <= to || (fit_steps[i].blank && !blank[c]))
			continue;
		if (to == 0) {
			total -= cur + 1;
			g->widths[c] = 0;
		} else {
			int cut = cur - to < total - s->w ? cur - to : total - s->w;
			g->widths[c] -= cut;
			total -= cut;
		}
	}
	/* a step may have gone further than needed (a column shrunk, then a
	 * later one dropped): what is left goes back, last step first */
	for (size_t i = sizeof fit_steps / sizeof fit_steps[0]; i-- > 0 && total < s->w;) {
		enum col_id c = fit_steps[i].c;
		int back = need[c] - g->widths[c];
		if (!g->widths[c] || back <= 0)
			continue;
		if (back > s->w - total)
			back = s->w - total;
		g->widths[c] += back;
		total += back;
	}
	if (total < s->w)
		g->widths[C_NAME] += s->w - total; /* the name gets the slack */
	/* header */
	int x = 0;
	ui_fill(w, 1, 0, s->w, ui_role(UI_R_GRID_HEADER));
	for (int c = 0; c < C__N; c++) {
		if (!g->widths[c])
			continue;
		bool sorted = cols[c].sort == (int)g->q.sort;
		char h[64];
		/* the sort arrow survives a narrow column: the title is cut first */
		char *t = ui_cut(pd_tr(cols[c].title), sorted ? g->widths[c] - 1 : g->widths[c]);
		pd_snprintf(h, sizeof h, "%s%s", t, sorted ? (g->q.descending ? "▼" : "▲") : "");
		free(t);
		ui_put(w, 1, x, g->widths[c], h,
		       ui_role(sorted ? UI_R_GRID_SORTED : UI_R_GRID_HEADER), true);
		x += g->widths[c] + 1;
	}
	if (!app->store) {
		for (size_t i = 0; i < nr; i++)
			free(rc[i].marked_name);
		free(rc);
		ui_put(w, 3, 1, s->w - 2, _("Cannot open the database:"),
		       ui_role(UI_R_STATUS_ERROR), false);
		ui_put(w, 4, 1, s->w - 2, app->db_error ? app->db_error : "", ui_role(UI_R_NORMAL),
		       false);
		return;
	}
	if (!g->n) {
		ui_put(w, 3, 1, s->w - 2,
		       g->filter[0] ? _("No customer matches the filter (Esc clears it).")
		                    : _("No customers yet. Press n (F7) to create one."),
		       ui_role(UI_R_NOTE), false);
	}
	const char *needle = g->text[0] ? g->text : NULL; /* not the pbx: word */
	for (size_t i = 0; i < nr; i++) {
		struct cells *k = &rc[i];
		int y = 2 + (int)i;
		bool sel = i == g->sel;
		attr_t base = ui_role(sel ? UI_R_GRID_SELECTED : UI_R_GRID_ROW);
		attr_t hl = sel ? ui_role(UI_R_GRID_SELECTED) | A_UNDERLINE | A_BOLD
		                : ui_role(UI_R_GRID_MATCH);
		ui_fill(w, y, 0, s->w, base);
		const struct ui_live_cols *live = &k->live;
		/* the longest PBX form that fits: "down since 14:02, retrying in
		 * 12 s", "down 14:02, 12s", then the short one (80 columns) */
		int pw = g->widths[C_PBX];
		k->text[C_PBX] = pd_utf8_width(live->pbx) <= pw ? live->pbx
		                 : live->pbx_mid[0] && pd_utf8_width(live->pbx_mid) <= pw
		                     ? live->pbx_mid
		                 : live->pbx_short[0] ? live->pbx_short
		                                      : live->pbx;
		x = 0;
		for (int c = 0; c < C__N; c++) {
			int cw = g->widths[c];
			if (!cw)
				continue;
			attr_t a = base;
			if (!sel && c == C_STATUS)
				a = ui_role(k->strole);
			if (!sel && c == C_PBX)
				a = ui_role(live->pbx_role);
			const char *t = k->text[c];
			if (cols[c].right) {
				int tw2 = pd_utf8_width(t);
				int pad = cw - tw2 > 0 ? cw - tw2 : 0;
				ui_put(w, y, x + pad, cw - pad, t, a, false);
			} else if (c == C_NAME || c == C_REF || c == C_TENANT) {
				ui_put_match(w, y, x, cw, t, needle, a, hl, false);
			} else {
				ui_put(w, y, x, cw, t, a, false);
			}
			x += cw + 1;
		}
	}
	for (size_t i = 0; i < nr; i++)
		free(rc[i].marked_name);
	free(rc);
	if (g->filtering) {
		/* the cursor sits at the end of the filter text in the title */
		wmove(w, 0,
		      1 + pd_utf8_width(_("provdesk — Customers  Filter: ")) +
		          pd_utf8_width(g->filter));
		leaveok(w, FALSE);
		ui_app_cursor(app, w);
	} else {
		leaveok(w, TRUE);
	}
}

/* false when the character does not fit (PD_FILTER_MAX bytes) */
static bool filter_edit(struct grid *g, int key, bool func)
{
	size_t len = strlen(g->filter);
	if ((func && key == KEY_BACKSPACE) || (!func && (key == 127 || key == 8))) {
		while (len > 0 && (g->filter[len - 1] & 0xC0) == 0x80)
			len--;
		if (len > 0)
			len--;
		g->filter[len] = 0;
		return true;
	}
	if (!func && key == 21) {
		g->filter[0] = 0;
		return true;
	}
	char mb[8] = {0};
	mbstate_t st;
	memset(&st, 0, sizeof st);
	size_t r = wcrtomb(mb, (wchar_t)key, &st);
	if (r == (size_t)-1)
		return true;
	if (len + r > PD_FILTER_MAX || len + r + 1 > sizeof g->filter)
		return false;
	memcpy(g->filter + len, mb, r + 1);
	return true;
}

static void sort_done(struct ui_app *app, void *ctx, bool ok, const char *value)
{
	struct ui_screen *s = ctx;
	struct grid *g = s->priv;
	pd_sort so;
	if (ok && value && pd_sort_parse(value, &so)) {
		g->q.sort = so;
		requery(app, g);
		s->dirty = true;
	}
}

static void sort_menu(struct ui_screen *s)
{
	struct grid *g = s->priv;
	struct ui_choice c[PD_SORT__COUNT];
	for (int i = 0; i < PD_SORT__COUNT; i++) {
		c[i].value = (char *)pd_sort_name((pd_sort)i);
		c[i].label = (char *)pd_sort_name((pd_sort)i);
	}
	ui_dialog_pick(s->app, _("Sort by"), c, PD_SORT__COUNT, pd_sort_name(g->q.sort), NULL, NULL,
	               sort_done, s);
}

static void sort_step(struct ui_app *app, struct grid *g, int dir)
{
	int c0 = 0;
	for (int c = 0; c < C__N; c++)
		if (cols[c].sort == (int)g->q.sort)
			c0 = c;
	for (int k = 1; k <= C__N; k++) {
		int c = (c0 + dir * k + C__N * 2) % C__N;
		if (cols[c].sort >= 0) {
			g->q.sort = (pd_sort)cols[c].sort;
			break;
		}
	}
	requery(app, g);
}

/* The jump prompt (J): a reference (as the command line reads it: exact,
 * else ignoring case), else a tenant id, "#<id>" or an exact name; the grid
 * selects the customer (showing deleted ones if it is deleted) and opens it. */
static void jump_done(struct ui_app *app, void *ctx, bool ok, const char *text)
{
	struct ui_screen *s = ctx;
	struct grid *g = s->priv;
	if (!ok || !text || !app->store)
		return;
	char *q = xstrdup(text);
	char *t = q + strspn(q, " \t");
	for (size_t n = strlen(t); n && (t[n - 1] == ' ' || t[n - 1] == '\t');)
		t[--n] = 0;
	if (!*t) {
		free(q);
		return;
	}
	pd_customer c;
	memset(&c, 0, sizeof c);
	pd_err e;
	pd_err_clear(&e);
	pd_status st = store_customer_find_reference(app->store, t, &c, &e);
	if (st == PD_E_NOTFOUND) {
		pd_customer_free(&c);
		memset(&c, 0, sizeof c);
		pd_err_clear(&e);
		st = store_customer_find(app->store, t, &c, &e);
	}
	if (st == PD_E_NOTFOUND) {
		ui_msg(app, UI_R_STATUS_ERROR,
		       _("No customer has the reference or tenant id \"%s\" (a part of a name, "
		         "reference or tenant id: / filters the grid, : opens the palette)"),
		       t);
	} else if (st != PD_OK) {
		ui_show_err(app, _("Jump"), &e);
	} else {
		if (c.deleted_at && !g->q.include_deleted)
			g->q.include_deleted = true;
		jump_to(app, g, c.id, _("that customer"));
		s->dirty = true;
		int64_t id = c.id;
		ui_push(app, &ui_customer_ops, &id);
	}
	pd_customer_free(&c);
	free(q);
}

static int g_key(struct ui_screen *s, const struct ui_event *ev)
{
	struct grid *g = s->priv;
	struct ui_app *app = s->app;
	if (g->filtering) {
		bool printable =
		    !ev->func && ev->key >= 32 && ev->key != 127 && iswprint((wint_t)ev->key);
		bool bs = (ev->func && ev->key == KEY_BACKSPACE) ||
		          (!ev->func && (ev->key == 127 || ev->key == 8 || ev->key == 21));
		if (printable || bs) {
			/* echoed at once; the worker answers (search) */
			if (!filter_edit(g, ev->key, ev->func))
				ui_msg(app, UI_R_STATUS_WARN,
				       _("The filter holds at most %d bytes"), PD_FILTER_MAX);
			search(app, g);
			return UI_HANDLED | UI_REDRAW;
		}
		if (ev->action == UI_A_BACK) {
			g->filtering = false;
			g->filter[0] = 0;
			requery(app, g);
			return UI_HANDLED | UI_REDRAW;
		}
	}
	settle(app, g); /* the keys below act on the rows of the current filter */
	if (g->filtering) {
		if (ev->action == UI_A_OPEN) {
			g->filtering = false; /* keep the filter, back to the list */
			return UI_HANDLED | UI_REDRAW;
		}
	}
	switch (ev->action) {
	case UI_A_DOWN:
		move_down(app, g, 1);
		return UI_HANDLED | UI_REDRAW;
	case UI_A_UP:
		move_up(app, g, 1);
		return UI_HANDLED | UI_REDRAW;
	case UI_A_PAGE_DOWN:
		move_down(app, g, page_size(g));
		return UI_HANDLED | UI_REDRAW;
	case UI_A_PAGE_UP:
		move_up(app, g, page_size(g));
		return UI_HANDLED | UI_REDRAW;
	case UI_A_HOME:
		go_end(app, g, false);
		return UI_HANDLED | UI_REDRAW;
	case UI_A_END:
		go_end(app, g, true);
		return UI_HANDLED | UI_REDRAW;
	case UI_A_FILTER:
		g->filtering = true;
		start_worker(app, g); /* it reads the index while the user types */
		return UI_HANDLED | UI_REDRAW;
	case UI_A_BACK:
		if (g->filter[0]) {
			g->filter[0] = 0;
			requery(app, g);
		}
		return UI_HANDLED | UI_REDRAW;
	case UI_A_OPEN:
		if (g->n) {
			int64_t id = g->rows[g->sel].c.id;
			ui_push(app, &ui_customer_ops, &id);
		}
		return UI_HANDLED;
	case UI_A_NEW:
		if (app->read_only || !app->store) {
			ui_msg(app, UI_R_STATUS_WARN, _("read-only console"));
			return UI_HANDLED;
		}
		ui_wizard_open(app);
		return UI_HANDLED;
	case UI_A_SORT_NEXT:
		sort_step(app, g, 1);
		return UI_HANDLED | UI_REDRAW;
	case UI_A_SORT_PREV:
		sort_step(app, g, -1);
		return UI_HANDLED | UI_REDRAW;
	case UI_A_SORT_INVERT:
		g->q.descending = !g->q.descending;
		requery(app, g);
		return UI_HANDLED | UI_REDRAW;
	case UI_A_SORT_MENU:
		sort_menu(s);
		return UI_HANDLED;
	case UI_A_DELETED:
		g->q.include_deleted = !g->q.include_deleted;
		grid_refresh(app, g, false);
		return UI_HANDLED | UI_REDRAW;
	case UI_A_JUMP:
		ui_dialog_prompt(app, _("Jump to a customer"), _("Reference or tenant id:"), "",
		                 false, jump_done, s);
		return UI_HANDLED;
	case UI_A_TEMPLATES:
		ui_push(app, &ui_templates_ops, NULL);
		return UI_HANDLED;
	case UI_A_CATALOGUE:
		ui_push(app, &ui_catalogue_ops, NULL);
		return UI_HANDLED;
	case UI_A_API_TOKENS:
		ui_push(app, &ui_api_tokens_ops, NULL);
		return UI_HANDLED;
	case UI_A_MARK: /* H5: marks, then an action on every marked row */
		if (g->n) {
			toggle_mark(g, g->rows[g->sel].c.id);
			move_down(app, g, 1);
		}
		return UI_HANDLED | UI_REDRAW;
	case UI_A_BULK:
		bulk_menu(app, g);
		return UI_HANDLED;
	case UI_A_ACTIVITY_ALL: /* H5: the screens over every customer */
		ui_push(app, &ui_activity_ops, NULL);
		return UI_HANDLED;
	case UI_A_OUTBOX:
		ui_push(app, &ui_outbox_ops, NULL);
		return UI_HANDLED;
	case UI_A_REFRESH:
		g->err[0] = 0;
		grid_refresh(app, g, true);
		if (!g->err[0])
			ui_msg(app, UI_R_STATUS_OK, "%s", _("reloaded"));
		return UI_HANDLED | UI_REDRAW;
	default:
		return 0;
	}
}

/* A click on a row selects it (mouse on). */
static int g_click(struct ui_screen *s, int y, int x)
{
	(void)x;
	struct grid *g = s->priv;
	size_t row = y >= 2 ? (size_t)(y - 2) : (size_t)-1;
	if (g->filtering || row >= g->n || (int)row >= g->body)
		return 0;
	settle(s->app, g);
	if (row >= g->n)
		return UI_REDRAW;
	g->sel = row;
	g->sel_id = g->rows[row].c.id;
	update_position(s->app, g);
	return UI_HANDLED | UI_REDRAW;
}

static int g_idle(struct ui_screen *s)
{
	struct grid *g = s->priv;
	struct ui_app *app = s->app;
	pd_err e;
	if (!app->store)
		return 0;
	if (g->need_count) {
		g->need_count = false;
		if (store_customer_count(app->store, &g->q, &g->total, &e) != PD_OK)
			db_fail(app, g, &e);
	}
	if (g->need_pos) {
		g->need_pos = false;
		update_position_now(app, g);
	}
	if (g->need_counts) {
		g->need_counts = false;
		g->counts_ok =
		    store_customer_counts(app->store, pd_today(), &g->counts, &e) == PD_OK;
		if (!g->counts_ok)
			db_fail(app, g, &e);
		app->bar_dirty = true;
	}
	return UI_REDRAW;
}

static int g_data(struct ui_screen *s)
{
	struct grid *g = s->priv;
	struct ui_app *app = s->app;
	if (app->select_customer_id) {
		int64_t id = app->select_customer_id;
		app->select_customer_id = 0;
		jump_to(app, g, id, _("the new customer"));
		return UI_REDRAW;
	}
	struct grid_filter_result r;
	if (g->searching && grid_filter_take(g->worker, g->gen, &r))
		take_answer(app, g, &r);
	/* the worker's wake (or another with nothing stored since the rows were
	 * read): nothing to read again */
	int64_t cc = app->store ? store_change_counter(app->store) : 0;
	if (g->worker && cc == g->seen_cc)
		return UI_REDRAW;
	g->seen_cc = cc;
	if (g->searching)
		search(app, g); /* ask again: the answer due was read before the change */
	else
		grid_refresh(app, g, true);
	return UI_REDRAW;
}

/* The status line when the whole one does not fit: the categories with
 * none in them are left out ("3 customers · PBX: 1 monitoring · 3 active"). */
static void status_compact(const pd_counts *c, const char *pbx, char *buf, size_t n)
{
	pd_buf b = {0};
	pd_buf_printf(&b, P_(" %lld customer · %s", " %lld customers · %s", c->total),
	              (long long)c->total, pbx);
	const struct {
		int64_t v;
		const char *what;
	} part[] = {{c->active, _("active")},
	            {c->trial, _("trial")},
	            {c->trial_expired, _("expired")},
	            {c->disabled, _("disabled")},
	            {c->deleted, _("deleted")}};
	for (size_t i = 0; i < sizeof part / sizeof part[0]; i++) {
		if (!part[i].v)
			continue;
		pd_buf_printf(&b, " · %lld %s", (long long)part[i].v, part[i].what);
		if (i == 1 && c->trial_expiring) /* the trials */
			pd_buf_printf(&b, _(" (%lld ending ≤7d)"), (long long)c->trial_expiring);
	}
	pd_utf8_copys(buf, n, b.s ? b.s : "");
	pd_buf_free(&b);
}

static void g_status(struct ui_screen *s, char *buf, size_t n, enum ui_role *role)
{
	struct grid *g = s->priv;
	if (!s->app->store) {
		pd_snprintf(buf, n, _("database unavailable: %s"),
		            s->app->db_error ? s->app->db_error : "");
		*role = UI_R_STATUS_ERROR;
		return;
	}
	if (g->err[0]) {
		pd_snprintf(buf, n, _("%s — r retries"), g->err);
		*role = UI_R_STATUS_ERROR;
		return;
	}
	if (n)
		buf[0] = 0;
	if (g->counts_ok) {
		const pd_counts *c = &g->counts;
		/* PBX health second, so it still shows at 80 columns */
		char pbx[200];
		enum ui_role prole;
		ui_services_health(s->app, pbx, sizeof pbx, &prole);
		pd_snprintf(
		    buf, n,
		    _(" %lld customers · %s · %lld active · %lld trial (%lld ending ≤7d) · %lld "
		      "expired · "
		      "%lld disabled · %lld deleted"),
		    (long long)c->total, pbx, (long long)c->active, (long long)c->trial,
		    (long long)c->trial_expiring, (long long)c->trial_expired,
		    (long long)c->disabled, (long long)c->deleted);
		if (pd_utf8_width(buf) > COLS)
			status_compact(c, pbx, buf, n); /* 80 columns: the counts that are not 0 */
		*role = prole != UI_R_STATUS ? prole
		        : c->trial_expiring  ? UI_R_STATUS_WARN
		                             : UI_R_STATUS;
	}
}

static const char *g_help(struct ui_screen *s)
{
	return _("The customer grid. Type / then part of a name, reference, tenant id or note;\n"
	         "the list narrows as you type and the match is highlighted. Enter opens.\n"
	         "pbx:STATE in the filter keeps the customers whose PBX is in that state: down,\n"
	         "up, failing, none, not-started or a state key (\"pbx:down acme\").\n"
	         "Trials ending within 7 days are highlighted. Changes made in other consoles\n"
	         "appear within a second or two.\n"
	         "Sorting (> < F6 I): every column but Calls and Agents (live, not stored). PBX\n"
	         "sorts by the state last stored, worst first. \"not monitored (…)\" is a state\n"
	         "no running monitor stands behind: the last known one and its age.");
}

const struct ui_screen_ops ui_grid_ops = {
    .name = "grid",
    .live = true, /* its PBX, calls and agents columns */
    .context = UI_CTX_GRID,
    .create = g_create,
    .destroy = g_destroy,
    .layout = g_layout,
    .draw = g_draw,
    .handle_key = g_key,
    .help = g_help,
    .on_data = g_data,
    .on_idle = g_idle,
    .status = g_status,
    .on_click = g_click,
    .fkeys = N_("F1|Help|F3|Filter|F5|Templ|F6|SortBy|F7|New|F8|Catalog|F9|Deleted|F10|Quit"),
};

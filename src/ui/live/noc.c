/* NOC mode (`provdesk --noc`, docs/user-guide.md, Live panels and the NOC display): a read-only
 * wall display over every customer with a PBX connection. Top: a health table (link status, last
 * error, calls, calls waiting, agents by state), problems first (auth failed, down/retrying,
 * connecting, syncing, monitoring, disabled). Bottom: one customer in focus,
 * its calls in progress and its agents grouped by state, rotating every
 * PROVDESK_NOC_ROTATE seconds (default 10; p pauses, n/N next/previous).
 *
 * Meant to run for days: the table rows are fixed-size structs in one array
 * reused across refreshes (it only grows when customers are added), a
 * customer's live state is copied only when its generation changed, and the
 * focus view is one snapshot replaced in place. Nothing here writes. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "provdesk/util.h"
#include "services.h"

#define NOC_ROTATE_DEFAULT 10
#define NOC_REFRESH_MS 250 /* at most four table rebuilds a second */
#define NOC_NAMES_MS 15000 /* names re-read at most this often on data changes */

enum { A_AVAIL, A_BUSY, A_WRAP, A_NOTREADY, A_OFF, A__N };

struct noc_row {
	int64_t id, gen;
	bool seen, have_gen;
	pd_link_state link;
	int sync_done, sync_total;
	int64_t retry_at_ms, down_since_ms;
	bool stale;
	char last_error[200];
	int64_t calls, waiting;
	int agents[A__N];
	char name[128];
};

struct noc {
	struct noc_row *rows;
	size_t n, cap;
	size_t *order; /* display order: indexes into rows */
	size_t cap_order;
	int64_t live_gen, refreshed_ms, names_ms;
	bool names_stale;
	int64_t focus_id;
	pd_live_view fv; /* the focused customer's view */
	bool have_fv;
	int64_t fv_gen;
	int rotate_s;
	bool paused;
	int64_t next_rotate_ms;
	size_t table_top;
};

static int rank(const struct noc_row *r)
{
	/* a link redialling after a loss is a problem, not a start-up */
	if (r->down_since_ms && r->link != PD_LINK_AUTH_FAILED && r->link != PD_LINK_CONFIG_ERROR)
		return 1;
	switch (r->link) {
	case PD_LINK_AUTH_FAILED:
	case PD_LINK_CONFIG_ERROR:
		return 0;
	case PD_LINK_PROTOCOL_ERROR:
	case PD_LINK_RETRYING:
		return 1;
	case PD_LINK_CONNECTING:
	case PD_LINK_LOGGING_IN:
		return 2;
	case PD_LINK_DISCOVERING:
		return 3;
	case PD_LINK_MONITORING:
		return 4;
	default:
		return 5;
	}
}

static int agent_bucket(pd_agent_state st)
{
	switch (st) {
	case PD_AGENT_AVAILABLE:
		return A_AVAIL;
	case PD_AGENT_RINGING:
	case PD_AGENT_ON_CALL:
	case PD_AGENT_ON_HOLD:
		return A_BUSY;
	case PD_AGENT_WRAPUP:
		return A_WRAP;
	case PD_AGENT_NOT_READY:
		return A_NOTREADY;
	default:
		return A_OFF;
	}
}

static void fill_name(struct ui_app *app, struct noc_row *r)
{
	pd_customer c;
	pd_err e;
	if (app->store && store_customer_get(app->store, r->id, &c, &e) == PD_OK) {
		pd_utf8_copys(r->name, sizeof r->name, c.name);
		pd_customer_free(&c);
	} else if (!r->name[0]) {
		pd_snprintf(r->name, sizeof r->name, "#%lld", (long long)r->id);
	}
}

static const struct noc_row *sort_rows;
static int cmp_order(const void *a, const void *b)
{
	const struct noc_row *x = &sort_rows[*(const size_t *)a],
	                     *y = &sort_rows[*(const size_t *)b];
	int d = rank(x) - rank(y);
	if (d)
		return d;
	d = strcasecmp(x->name, y->name);
	if (d)
		return d;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* Rebuild the table from the live state (only changed customers are copied). */
static void noc_refresh(struct ui_app *app, struct noc *nc, bool force)
{
	pd_live *lv = ui_services_live(app);
	if (!lv)
		return;
	int64_t now = pd_live_now_ms();
	int64_t g = pd_live_generation(lv);
	if (!force && g == nc->live_gen)
		return;
	if (!force && now - nc->refreshed_ms < NOC_REFRESH_MS)
		return; /* picked up by the next tick */
	nc->live_gen = g;
	nc->refreshed_ms = now;
	bool names = nc->names_stale && now - nc->names_ms >= NOC_NAMES_MS;
	if (names) {
		nc->names_stale = false;
		nc->names_ms = now;
	}
	pd_live_summary *all = NULL;
	size_t k = pd_live_summaries(lv, &all);
	for (size_t i = 0; i < nc->n; i++)
		nc->rows[i].seen = false;
	for (size_t i = 0; i < k; i++) {
		struct noc_row *r = NULL;
		/* rows were added in the live state's order: try the same slot
		 * first, so thousands of links do not cost a quadratic search */
		if (i < nc->n && nc->rows[i].id == all[i].customer_id)
			r = &nc->rows[i];
		for (size_t j = 0; !r && j < nc->n; j++)
			if (nc->rows[j].id == all[i].customer_id)
				r = &nc->rows[j];
		if (!r) {
			if (nc->n == nc->cap) {
				nc->cap = nc->cap ? nc->cap * 2 : 16;
				nc->rows = xrealloc(nc->rows, nc->cap * sizeof *nc->rows);
			}
			r = &nc->rows[nc->n++];
			memset(r, 0, sizeof *r);
			r->id = all[i].customer_id;
			fill_name(app, r);
		} else if (names) {
			fill_name(app, r);
		}
		r->seen = true;
		r->calls = all[i].calls;
		r->waiting = all[i].calls_waiting;
		r->link = all[i].link;
		r->retry_at_ms = all[i].retry_at_ms;
		r->down_since_ms = all[i].down_since_ms;
		r->stale = all[i].stale;
		if (r->have_gen && r->gen == all[i].generation)
			continue;
		pd_live_view v;
		if (pd_live_snapshot(lv, r->id, &v) != PD_OK)
			continue;
		r->gen = v.generation;
		r->have_gen = true;
		r->link = v.link;
		r->sync_done = v.sync_done;
		r->sync_total = v.sync_total;
		r->retry_at_ms = v.retry_at_ms;
		pd_msg_text(v.last_error, r->last_error, sizeof r->last_error);
		memset(r->agents, 0, sizeof r->agents);
		for (size_t a = 0; a < v.n_agents; a++)
			r->agents[agent_bucket(v.agents[a].state)]++;
		pd_live_free_view(&v);
	}
	free(all);
	/* customers whose PBX went away (deleted, connection removed) */
	for (size_t i = 0; i < nc->n;) {
		if (nc->rows[i].seen) {
			i++;
			continue;
		}
		nc->rows[i] = nc->rows[--nc->n];
	}
	if (nc->cap_order < nc->cap) {
		nc->cap_order = nc->cap;
		nc->order = xrealloc(nc->order, nc->cap_order * sizeof *nc->order);
	}
	for (size_t i = 0; i < nc->n; i++)
		nc->order[i] = i;
	sort_rows = nc->rows;
	if (nc->n > 1)
		qsort(nc->order, nc->n, sizeof *nc->order, cmp_order);
	sort_rows = NULL;
}

static ssize_t focus_pos(const struct noc *nc)
{
	for (size_t i = 0; i < nc->n; i++)
		if (nc->rows[nc->order[i]].id == nc->focus_id)
			return (ssize_t)i;
	return -1;
}

static void focus_step(struct noc *nc, int dir)
{
	if (!nc->n) {
		nc->focus_id = 0;
		return;
	}
	ssize_t p = focus_pos(nc);
	size_t next = p < 0 ? 0 : (size_t)(((ssize_t)nc->n + p + dir) % (ssize_t)nc->n);
	nc->focus_id = nc->rows[nc->order[next]].id;
}

static void focus_snapshot(struct ui_app *app, struct noc *nc)
{
	pd_live *lv = ui_services_live(app);
	if (focus_pos(nc) < 0)
		focus_step(nc, 0);
	pd_live_summary s;
	if (!lv || !nc->focus_id || !pd_live_summary_get(lv, nc->focus_id, &s)) {
		if (nc->have_fv)
			pd_live_free_view(&nc->fv);
		nc->have_fv = false;
		return;
	}
	if (nc->have_fv && nc->fv.customer_id == nc->focus_id && nc->fv_gen == s.generation)
		return;
	pd_live_view v;
	if (pd_live_snapshot(lv, nc->focus_id, &v) != PD_OK)
		return;
	ui_live_sort_agents(&v);
	if (nc->have_fv) {
		if (nc->fv.customer_id == v.customer_id)
			ui_live_carry_ended(&v, &nc->fv);
		pd_live_free_view(&nc->fv);
	}
	nc->fv = v;
	nc->have_fv = true;
	nc->fv_gen = v.generation;
}

static pd_status noc_create(struct ui_screen *s, void *arg, pd_err *e)
{
	(void)arg;
	(void)e;
	struct noc *nc = xcalloc(1, sizeof *nc);
	const char *r = getenv("PROVDESK_NOC_ROTATE");
	long v = r && *r ? strtol(r, NULL, 10) : 0;
	nc->rotate_s = v >= 1 && v <= 3600 ? (int)v : NOC_ROTATE_DEFAULT;
	nc->next_rotate_ms = pd_live_now_ms() + nc->rotate_s * 1000LL;
	s->priv = nc;
	s->ticks = true; /* clock, countdowns, durations */
	noc_refresh(s->app, nc, true);
	focus_step(nc, 0);
	return PD_OK;
}

static void noc_destroy(struct ui_screen *s)
{
	struct noc *nc = s->priv;
	if (nc->have_fv)
		pd_live_free_view(&nc->fv);
	free(nc->rows);
	free(nc->order);
	free(nc);
}

static void noc_layout(struct ui_screen *s)
{
	ui_screen_window(s, s->y, s->x, s->h, s->w);
}

static int draw_table(struct ui_screen *s, struct noc *nc, int y, int rows, int64_t now)
{
	WINDOW *w = s->win;
	enum { NC = 10 };
	const char *const t[NC] = {_("Customer"), _("PBX status"), _("Calls"), _("Wait"),
	                           _("Avail"),    _("Busy"),       _("Wrap"),  _("NotRdy"),
	                           _("Off"),      _("Last error")};
	static const int base[NC] = {12, 16, 5, 4, 5, 4, 4, 6, 4, 10},
	                 grow[NC] = {3, 1, 0, 0, 0, 0, 0, 0, 0, 4};
	static const bool right[NC] = {false, false, true, true, true,
	                               true,  true,  true, true, false};
	int cw[NC];
	ui_columns_fit_titles(s->w, t, base, grow, NC, cw);
	ui_fill(w, y, 0, s->w, ui_role(UI_R_GRID_HEADER));
	ui_put_columns(w, y, t, cw, NC, right, ui_role(UI_R_GRID_HEADER), NULL);
	int body = rows - 1;
	if (!nc->n) {
		ui_put(w, y + 1, 1, s->w - 2,
		       /* not attached to the monitor (yet): say so, not "none" */
		       ui_services_error(s->app)[0] ? ui_services_error(s->app)
		                                    : _("No customer has a PBX connection."),
		       ui_role(UI_R_NOTE), false);
		return 2;
	}
	/* keep the focused customer on screen */
	ssize_t fp = focus_pos(nc);
	if (fp >= 0 && body > 0) {
		if ((size_t)fp < nc->table_top)
			nc->table_top = (size_t)fp;
		if ((size_t)fp >= nc->table_top + (size_t)body)
			nc->table_top = (size_t)fp - (size_t)body + 1;
	}
	if (nc->table_top + (size_t)body > nc->n)
		nc->table_top = nc->n > (size_t)body ? nc->n - (size_t)body : 0;
	int used = 1;
	for (int r = 0; r < body && nc->table_top + (size_t)r < nc->n; r++) {
		const struct noc_row *row = &nc->rows[nc->order[nc->table_top + (size_t)r]];
		char st[48], calls[16], wait[16], ag[A__N][12], err[260], at[16] = "";
		/* a failed link: since when, and the countdown before the reason */
		if (row->down_since_ms)
			ui_live_clock(row->down_since_ms, now, at, sizeof at);
		if (row->down_since_ms && row->link != PD_LINK_AUTH_FAILED)
			pd_snprintf(st, sizeof st, _("down since %s"), at);
		else
			ui_live_short_status(row->link, row->sync_done, row->sync_total,
			                     row->retry_at_ms, now, st, sizeof st);
		if (row->link == PD_LINK_MONITORING) {
			err[0] = 0;
		} else if (pd_link_state_retries(row->link)) {
			int64_t secs = (row->retry_at_ms - now + 999) / 1000;
			pd_snprintf(err, sizeof err, _("retry %llds%s%s"),
			            (long long)(secs < 0 ? 0 : secs),
			            row->last_error[0] ? " · " : "", row->last_error);
		} else if (row->link == PD_LINK_AUTH_FAILED && at[0]) {
			pd_snprintf(err, sizeof err, _("since %s%s%s"), at,
			            row->last_error[0] ? " · " : "", row->last_error);
		} else {
			pd_utf8_copys(err, sizeof err, row->last_error);
		}
		bool dis = row->link == PD_LINK_DISABLED;
		pd_snprintf(calls, sizeof calls, "%lld", (long long)row->calls);
		pd_snprintf(wait, sizeof wait, "%lld", (long long)row->waiting);
		for (int a = 0; a < A__N; a++)
			pd_snprintf(ag[a], sizeof ag[a], "%d", row->agents[a]);
		const char *v[NC] = {row->name,
		                     st,
		                     dis ? "—" : calls,
		                     dis ? "" : wait,
		                     dis ? "" : ag[A_AVAIL],
		                     dis ? "" : ag[A_BUSY],
		                     dis ? "" : ag[A_WRAP],
		                     dis ? "" : ag[A_NOTREADY],
		                     dis ? "" : ag[A_OFF],
		                     err};
		bool focused = row->id == nc->focus_id;
		attr_t a = ui_role(focused ? UI_R_GRID_SELECTED : UI_R_GRID_ROW);
		attr_t ca[NC] = {0};
		if (!focused) {
			ca[1] = ui_role(ui_live_link_role(row->link)) | A_BOLD;
			ca[9] = ui_role(UI_R_STATUS_ERROR);
			if (row->waiting)
				ca[3] = ui_role(UI_R_STATUS_WARN) | A_BOLD;
			if (row->agents[A_NOTREADY])
				ca[7] = ui_role(UI_R_STATUS_WARN);
			if (row->stale) /* the last known figures of a link that is down */
				ca[2] = ca[3] = ca[4] = ca[5] = ca[6] = ca[7] = ca[8] =
				    ui_role(UI_R_GRID_DIM);
		}
		ui_fill(w, y + 1 + r, 0, s->w, a);
		ui_put_columns(w, y + 1 + r, v, cw, NC, right, a, ca);
		used++;
	}
	return used;
}

/* "Available (3): Alice, Bob, Carol" lines, one per state present. */
static int draw_agents_by_state(struct ui_screen *s, const pd_live_view *v, int y, int rows)
{
	static const pd_agent_state order[] = {
	    PD_AGENT_AVAILABLE, PD_AGENT_RINGING,   PD_AGENT_ON_CALL,    PD_AGENT_ON_HOLD,
	    PD_AGENT_WRAPUP,    PD_AGENT_NOT_READY, PD_AGENT_LOGGED_OFF, PD_AGENT_OFFLINE};
	int used = 0;
	pd_buf b = {0};
	for (size_t o = 0; o < sizeof order / sizeof order[0] && used < rows; o++) {
		size_t cnt = 0;
		b.len = 0; /* one buffer reused for every line */
		if (b.s)
			b.s[0] = 0;
		for (size_t i = 0; i < v->n_agents; i++) {
			const pd_live_agent *a = &v->agents[i];
			if (a->state != order[o])
				continue;
			const char *who = a->name && *a->name ? a->name : a->interface;
			if (a->state == PD_AGENT_NOT_READY && a->reason && *a->reason)
				pd_buf_printf(&b, "%s%s (%s)", cnt ? ", " : "", who, a->reason);
			else
				pd_buf_printf(&b, "%s%s", cnt ? ", " : "", who);
			cnt++;
		}
		if (!cnt)
			continue;
		char head[48];
		pd_snprintf(head, sizeof head, "%s (%zu): ", pd_agent_state_name(order[o]), cnt);
		int hw =
		    ui_put(s->win, y + used, 1, 24, head,
		           ui_role(order[o] == PD_AGENT_AVAILABLE   ? UI_R_STATUS_OK
		                   : order[o] == PD_AGENT_NOT_READY ? UI_R_STATUS_ERROR
		                   : order[o] == PD_AGENT_LOGGED_OFF || order[o] == PD_AGENT_OFFLINE
		                       ? UI_R_GRID_DIM
		                       : UI_R_STATUS_WARN) |
		               A_BOLD,
		           false);
		ui_put(s->win, y + used, 1 + hw, s->w - 2 - hw, b.s ? b.s : "",
		       ui_role(UI_R_NORMAL), false);
		used++;
	}
	pd_buf_free(&b);
	return used;
}

static void draw_focus(struct ui_screen *s, struct noc *nc, int y, int rows, int64_t now)
{
	WINDOW *w = s->win;
	if (rows < 2 || !nc->have_fv)
		return;
	const pd_live_view *v = &nc->fv;
	ssize_t fp = focus_pos(nc);
	const char *name = fp >= 0 ? nc->rows[nc->order[fp]].name : "";
	char st[260], head[560], right[64];
	if (!ui_live_down_text(v->link, v->down_since_ms, v->retry_at_ms, now, st, sizeof st))
		pd_live_status_text(v->link, v->sync_done, v->sync_total, v->retry_at_ms,
		                    v->last_error, now, st, sizeof st);
	size_t active = 0, waiting = 0, avail = 0;
	for (size_t i = 0; i < v->n_calls; i++) {
		active += v->calls[i].state != PD_CALL_ENDED;
		waiting += v->calls[i].state == PD_CALL_QUEUED;
	}
	for (size_t i = 0; i < v->n_agents; i++)
		avail += v->agents[i].state == PD_AGENT_AVAILABLE;
	pd_snprintf(head, sizeof head, _("▶ %s — %s · %zu call%s"), name, st, active,
	            active == 1 ? "" : "s");
	if (nc->paused)
		pd_snprintf(right, sizeof right, _("%zd/%zu · paused"), fp + 1, nc->n);
	else
		pd_snprintf(right, sizeof right, _("%zd/%zu · next in %llds"), fp + 1, nc->n,
		            (long long)((nc->next_rotate_ms - now + 999) / 1000));
	ui_fill(w, y, 0, s->w, ui_role(UI_R_TAB_ACTIVE));
	int rw = pd_utf8_width(right);
	ui_put(w, y, 1, s->w - rw - 3, head, ui_role(UI_R_TAB_ACTIVE), false);
	ui_put(w, y, s->w - rw - 1, rw, right, ui_role(UI_R_TAB_ACTIVE), false);
	y++;
	rows--;
	/* the wall's big figures: calls, waiting in queue, agents available
	 * (dimmed, with their time, while the link is down) */
	if (rows > 3) {
		char big[160], at[16] = "";
		if (v->stale)
			ui_live_clock(v->stale_since_ms, now, at, sizeof at);
		pd_snprintf(big, sizeof big,
		            _("CALLS %zu   WAITING %zu   AGENTS AVAILABLE %zu%s%s"), active,
		            waiting, avail, v->stale ? _("   as of ") : "", at);
		ui_put(w, y, 1, s->w - 2, big,
		       v->stale            ? ui_role(UI_R_GRID_DIM)
		       : waiting && !avail ? ui_role(UI_R_STATUS_ERROR) | A_BOLD
		       : waiting           ? ui_role(UI_R_STATUS_WARN) | A_BOLD
		                           : ui_role(UI_R_NORMAL) | A_BOLD,
		       false);
		y++;
		rows--;
	}
	if (v->link != PD_LINK_MONITORING && v->last_error[0] && rows > 2) {
		char err[260], e[256];
		pd_snprintf(err, sizeof err, _("Last error: %s"),
		            pd_msg_text(v->last_error, e, sizeof e));
		ui_put(w, y, 1, s->w - 2, err, ui_role(UI_R_STATUS_ERROR), false);
		y++;
		rows--;
	}
	/* agents by state get what they need (at most half), calls the rest */
	int states = 0;
	bool seen[8] = {0};
	for (size_t i = 0; i < v->n_agents; i++)
		if ((unsigned)v->agents[i].state < 8 && !seen[v->agents[i].state]) {
			seen[v->agents[i].state] = true;
			states++;
		}
	int ra = states < rows / 2 ? states : rows / 2;
	int rc = rows - ra;
	const char *const t[] = {_("From"),  _("To"),    _("State"),
	                         _("Queue"), _("Agent"), _("Duration")};
	static const int base[] = {18, 10, 9, 10, 16, 8}, grow[] = {3, 1, 0, 1, 2, 0};
	int cw[6];
	ui_columns_fit_titles(s->w, t, base, grow, 6, cw);
	ui_fill(w, y, 0, s->w, ui_role(UI_R_GRID_HEADER));
	ui_put_columns(w, y, t, cw, 6, NULL, ui_role(UI_R_GRID_HEADER), NULL);
	int shown = 0;
	size_t more = 0;
	for (size_t i = 0; i < v->n_calls; i++) {
		const pd_live_call *c = &v->calls[i];
		if (shown >= rc - 1 || (shown == rc - 2 && v->n_calls - i > 1)) {
			more = v->n_calls - i;
			break;
		}
		char from[160], dur[24];
		if (c->from_name && *c->from_name && (!c->from || strcmp(c->from_name, c->from)))
			pd_snprintf(from, sizeof from, "%s %s", c->from ? c->from : "",
			            c->from_name);
		else
			pd_utf8_copys(from, sizeof from, c->from ? c->from : "");
		ui_live_duration((c->state == PD_CALL_ENDED && c->end_ms ? c->end_ms : now) -
		                     c->start_ms,
		                 dur, sizeof dur);
		const char *cv[6] = {from,     c->to,    pd_call_state_name(c->state),
		                     c->queue, c->agent, dur};
		attr_t a =
		    ui_role(c->state == PD_CALL_ENDED || v->stale ? UI_R_GRID_DIM : UI_R_GRID_ROW);
		ui_put_columns(w, y + 1 + shown, cv, cw, 6, NULL, a, NULL);
		shown++;
	}
	if (!v->n_calls && rc > 1)
		ui_put(w, y + 1, 1, s->w - 2, _("No calls in progress."), ui_role(UI_R_NOTE),
		       false);
	if (more) {
		char buf[64];
		pd_snprintf(buf, sizeof buf, _("… and %zu more"), more);
		ui_put(w, y + 1 + shown, 1, s->w - 2, buf, ui_role(UI_R_NOTE), false);
	}
	if (ra > 0)
		draw_agents_by_state(s, v, y + rc, ra);
}

static void noc_draw(struct ui_screen *s)
{
	struct noc *nc = s->priv;
	struct ui_app *app = s->app;
	WINDOW *w = s->win;
	noc_refresh(app, nc, false);
	focus_snapshot(app, nc);
	int64_t now = pd_live_now_ms();
	/* title: what this is, the worst news, the time (a frozen clock on a
	 * wall display means a frozen console) */
	char title[300], clock[16];
	time_t t = (time_t)pd_now(); /* the program's clock, as everywhere */
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(clock, sizeof clock, "%H:%M:%S", &tm);
	pd_snprintf(title, sizeof title, _("provdesk NOC (read-only) — %zu PBX link%s"), nc->n,
	            nc->n == 1 ? "" : "s");
	ui_fill(w, 0, 0, s->w, ui_role(UI_R_TITLE));
	ui_put(w, 0, 1, s->w - 10, title, ui_role(UI_R_TITLE), false);
	ui_put(w, 0, s->w - 9, 8, clock, ui_role(UI_R_TITLE), false);
	/* the table gets up to half the screen (more when the focus is empty) */
	int avail = s->h - 1;
	int want = (int)nc->n + 1;
	int tr = want < avail / 2 ? want : avail / 2;
	if (tr < 3)
		tr = 3;
	int used = draw_table(s, nc, 1, tr, now);
	(void)used;
	draw_focus(s, nc, 1 + tr, avail - tr, now);
}

static int noc_key(struct ui_screen *s, const struct ui_event *ev)
{
	struct noc *nc = s->priv;
	int64_t now = pd_live_now_ms();
	switch (ev->action) {
	case UI_A_NOC_PAUSE:
		nc->paused = !nc->paused;
		nc->next_rotate_ms = now + nc->rotate_s * 1000LL;
		return UI_HANDLED | UI_REDRAW;
	case UI_A_NOC_NEXT:
	case UI_A_DOWN:
		focus_step(nc, 1);
		nc->next_rotate_ms = now + nc->rotate_s * 1000LL;
		return UI_HANDLED | UI_REDRAW;
	case UI_A_NOC_PREV:
	case UI_A_UP:
		focus_step(nc, -1);
		nc->next_rotate_ms = now + nc->rotate_s * 1000LL;
		return UI_HANDLED | UI_REDRAW;
	case UI_A_OPEN:
		if (nc->focus_id)
			ui_push(s->app, &ui_live_ops, &nc->focus_id);
		return UI_HANDLED;
	default:
		return 0;
	}
}

static int noc_tick(struct ui_screen *s)
{
	struct noc *nc = s->priv;
	int64_t now = pd_live_now_ms();
	if (!nc->paused && now >= nc->next_rotate_ms) {
		/* the order may have changed since (problems first): rotate in
		 * the current order */
		noc_refresh(s->app, nc, true);
		focus_step(nc, 1);
		nc->next_rotate_ms = now + nc->rotate_s * 1000LL;
	}
	return UI_REDRAW;
}

static int noc_data(struct ui_screen *s)
{
	struct noc *nc = s->priv;
	nc->names_stale = true; /* a rename elsewhere; re-read soon, not on every commit */
	return 0;
}

/* The status line: the PBX health, worst first (the grid shows the same). */
static void noc_status(struct ui_screen *s, char *buf, size_t n, enum ui_role *role)
{
	struct noc *nc = s->priv;
	char health[200];
	ui_services_health(s->app, health, sizeof health, role);
	pd_snprintf(buf, n, " %s%s", health, nc->paused ? _(" · rotation paused (p resumes)") : "");
}

static const char *noc_help(struct ui_screen *s)
{
	(void)s;
	return _("NOC wall display (read-only): every customer's PBX link, problems first (auth\n"
	         "failed, down since HH:MM and retrying, connecting), with live calls, calls\n"
	         "waiting in a queue (Wait) and agents by state (Avail, Busy = ringing/on\n"
	         "call/on hold, Wrap-up, Not ready, Off = logged off/offline). A link that is\n"
	         "down keeps its last known figures, dimmed, with the time they are from.\n"
	         "The lower half follows one customer and rotates every few seconds\n"
	         "(PROVDESK_NOC_ROTATE seconds, default 10). p pauses, n/N next/previous,\n"
	         "Enter opens that customer's live panels. Nothing here writes to the database.");
}

const struct ui_screen_ops ui_noc_ops = {
    .name = "noc",
    .live = true,
    .context = UI_CTX_NOC,
    .create = noc_create,
    .destroy = noc_destroy,
    .layout = noc_layout,
    .draw = noc_draw,
    .handle_key = noc_key,
    .help = noc_help,
    .on_data = noc_data,
    .on_tick = noc_tick,
    .status = noc_status,
    .fkeys = N_("F1|Help|p|Pause|n|Next|N|Prev|Enter|Live|F10|Quit"),
};

/* The live panels of one customer (docs/user-guide.md, Live panels and the NOC display): Calls
 * (from, to, direction, state, queue, agent, duration ticking) over Agents (agent, queues, state
 * with the pause reason, time in state), and Users (endpoint, name,
 * sub-account, device state). At 80x24 the calls and agents share the
 * screen, each taking the rows it needs; Users is its own panel (Tab).
 * The view is a copy of the customer's live state taken when its generation
 * changes (the app marks this screen dirty on every wake), so drawing never
 * holds the live lock. It ticks once a second only while something on screen
 * counts (a call, an agent's time in state, a retry countdown). */
#include <stdlib.h>
#include <string.h>

#include "services.h"

enum { P_CALLS, P_AGENTS, P_USERS, P__N };

struct live {
	int64_t id;
	char *name;
	pd_live_view v;
	bool have;     /* v holds a snapshot */
	int64_t gen;   /* of v */
	int panel;     /* focused panel */
	char asof[24]; /* " as of 14:02" while the data is stale, else "" */
	size_t top[P__N], sel[P__N];
	/* H5: the calls panel's filter; calls_shown: the calls it lets through
	 * (indexes into v.calls), recomputed at each draw and key */
	struct ui_list_filter filter;
	size_t *calls_shown, n_calls_shown;
};

/* The cells of a call, as listed, filtered and exported. */
static void call_cells(const pd_live_call *c, int64_t now, char from[160], char dur[24],
                       const char *v[7])
{
	if (c->from_name && *c->from_name && (!c->from || strcmp(c->from_name, c->from)))
		pd_snprintf(from, 160, "%s %s", c->from ? c->from : "", c->from_name);
	else
		pd_utf8_copys(from, 160, c->from ? c->from : "");
	int64_t end = c->state == PD_CALL_ENDED && c->end_ms ? c->end_ms : now;
	ui_live_duration(end - c->start_ms, dur, 24);
	v[0] = from;
	v[1] = c->to ? c->to : "";
	v[2] = pd_call_dir_name(c->dir);
	v[3] = pd_call_state_name(c->state);
	v[4] = c->queue ? c->queue : "";
	v[5] = c->agent ? c->agent : "";
	v[6] = dur;
}

static void refilter_calls(struct live *l)
{
	free(l->calls_shown);
	l->n_calls_shown = 0;
	size_t n = l->have ? l->v.n_calls : 0;
	l->calls_shown = xcalloc(n ? n : 1, sizeof *l->calls_shown);
	int64_t now = pd_live_now_ms();
	for (size_t i = 0; i < n; i++) {
		char from[160], dur[24];
		const char *v[7];
		call_cells(&l->v.calls[i], now, from, dur, v);
		if (ui_list_filter_match(&l->filter, v, 6)) /* not the duration */
			l->calls_shown[l->n_calls_shown++] = i;
	}
}

static void take_snapshot(struct ui_app *app, struct live *l)
{
	pd_live *lv = ui_services_live(app);
	pd_live_summary s;
	if (!lv || !pd_live_summary_get(lv, l->id, &s)) {
		if (l->have)
			pd_live_free_view(&l->v);
		l->have = false;
		return;
	}
	if (l->have && s.generation == l->gen)
		return;
	pd_live_view nv;
	if (pd_live_snapshot(lv, l->id, &nv) != PD_OK)
		return;
	ui_live_sort_agents(&nv);
	if (l->have) {
		ui_live_carry_ended(&nv, &l->v);
		pd_live_free_view(&l->v);
	}
	l->v = nv;
	l->have = true;
	l->gen = nv.generation;
}

static void load_name(struct ui_app *app, struct live *l)
{
	pd_customer c;
	pd_err e;
	if (app->store && store_customer_get(app->store, l->id, &c, &e) == PD_OK) {
		free(l->name);
		l->name = xstrdup(c.name);
		pd_customer_free(&c);
	} else if (!l->name) {
		l->name = xasprintf("#%lld", (long long)l->id);
	}
}

static pd_status lv_create(struct ui_screen *s, void *arg, pd_err *e)
{
	(void)e;
	struct live *l = xcalloc(1, sizeof *l);
	l->id = *(int64_t *)arg;
	s->priv = l;
	load_name(s->app, l);
	take_snapshot(s->app, l);
	return PD_OK;
}

static void lv_destroy(struct ui_screen *s)
{
	struct live *l = s->priv;
	if (l->have)
		pd_live_free_view(&l->v);
	free(l->calls_shown);
	free(l->name);
	free(l);
}

static void lv_layout(struct ui_screen *s)
{
	ui_screen_window(s, s->y, s->x, s->h, s->w);
}

static void header(WINDOW *w, int y, int width, const char *const *titles, const int *cw, int n,
                   bool focused, const char *title)
{
	ui_fill(w, y, 0, width, ui_role(UI_R_GRID_HEADER));
	int x = 0;
	for (int i = 0; i < n; i++) {
		char buf[64];
		/* the panel's name rides on its first column */
		pd_utf8_copys(buf, sizeof buf, i == 0 && title ? title : titles[i]);
		ui_put(w, y, x, cw[i], buf,
		       ui_role(i == 0 && focused ? UI_R_GRID_SORTED : UI_R_GRID_HEADER), true);
		x += cw[i] + 1;
	}
}

static size_t panel_scroll(struct live *l, int p, size_t n, int rows)
{
	if (l->sel[p] >= n)
		l->sel[p] = n ? n - 1 : 0;
	if (l->top[p] > l->sel[p])
		l->top[p] = l->sel[p];
	if (rows > 0 && l->sel[p] >= l->top[p] + (size_t)rows)
		l->top[p] = l->sel[p] - (size_t)rows + 1;
	if (rows > 0 && n > (size_t)rows && l->top[p] > n - (size_t)rows)
		l->top[p] = n - (size_t)rows;
	return l->top[p];
}

static enum ui_role call_role(pd_call_state st)
{
	switch (st) {
	case PD_CALL_QUEUED:
	case PD_CALL_RINGING:
	case PD_CALL_HELD:
		return UI_R_STATUS_WARN;
	case PD_CALL_ENDED:
		return UI_R_GRID_DIM;
	default:
		return UI_R_STATUS_OK;
	}
}

static enum ui_role agent_role(pd_agent_state st)
{
	switch (st) {
	case PD_AGENT_AVAILABLE:
		return UI_R_STATUS_OK;
	case PD_AGENT_RINGING:
	case PD_AGENT_ON_CALL:
	case PD_AGENT_ON_HOLD:
	case PD_AGENT_WRAPUP:
		return UI_R_STATUS_WARN;
	case PD_AGENT_NOT_READY:
		return UI_R_STATUS_ERROR;
	default:
		return UI_R_GRID_DIM;
	}
}

static void draw_calls(struct ui_screen *s, struct live *l, int y, int rows, int64_t now)
{
	const char *const t[] = {_("From"),  _("To"),    _("Direction"), _("State"),
	                         _("Queue"), _("Agent"), _("Duration")};
	static const int base[] = {16, 8, 9, 9, 8, 12, 8}, grow[] = {3, 1, 0, 0, 1, 2, 0};
	int cw[7];
	ui_columns_fit_titles(s->w, t, base, grow, 7, cw);
	char title[48];
	size_t active = 0;
	for (size_t i = 0; i < l->v.n_calls; i++)
		active += l->v.calls[i].state != PD_CALL_ENDED;
	pd_snprintf(title, sizeof title, _("Calls (%zu)%s"), active, l->asof);
	header(s->win, y, s->w, t, cw, 7, l->panel == P_CALLS, title);
	if (rows < 2)
		return;
	refilter_calls(l);
	if (l->filter.text[0] || l->filter.editing) {
		ui_list_filter_draw(&l->filter, s->win, y + 1, 0, s->w);
		y++;
		rows--;
	}
	if (!l->v.n_calls) {
		ui_put(s->win, y + 1, 1, s->w - 2, _("No calls in progress."), ui_role(UI_R_NOTE),
		       false);
		return;
	}
	if (!l->n_calls_shown && rows > 1)
		ui_put(s->win, y + 1, 1, s->w - 2, _("No call matches the filter (Esc clears it)."),
		       ui_role(UI_R_NOTE), false);
	size_t top = panel_scroll(l, P_CALLS, l->n_calls_shown, rows - 1);
	for (int r = 0; r + 1 < rows && top + (size_t)r < l->n_calls_shown; r++) {
		const pd_live_call *c = &l->v.calls[l->calls_shown[top + (size_t)r]];
		char from[160], dur[24];
		const char *v[7];
		call_cells(c, now, from, dur, v);
		bool sel = l->panel == P_CALLS && top + (size_t)r == l->sel[P_CALLS];
		attr_t a = ui_role(sel ? UI_R_GRID_SELECTED : UI_R_GRID_ROW);
		attr_t ca[7] = {0};
		if (!sel)
			ca[3] = ui_role(call_role(c->state));
		if (!sel && (c->state == PD_CALL_ENDED || l->v.stale))
			a = ui_role(UI_R_GRID_DIM);
		if (!sel && l->v.stale) /* the last known state, not the live one */
			ca[3] = a;
		ui_fill(s->win, y + 1 + r, 0, s->w, a);
		ui_put_columns(s->win, y + 1 + r, v, cw, 7, NULL, a, ca);
	}
}

static void draw_agents(struct ui_screen *s, struct live *l, int y, int rows, int64_t now)
{
	const char *const t[] = {_("Agent"), _("Interface"), _("Queues"), _("State"),
	                         _("In state")};
	/* the state gets room for "On call (paused: Training)" at 80 columns */
	static const int base[] = {14, 11, 13, 26, 8}, grow[] = {3, 1, 2, 1, 0};
	int cw[5];
	ui_columns_fit_titles(s->w, t, base, grow, 5, cw);
	size_t on = 0, avail = 0;
	for (size_t i = 0; i < l->v.n_agents; i++) {
		pd_agent_state st = l->v.agents[i].state;
		on += st != PD_AGENT_LOGGED_OFF && st != PD_AGENT_OFFLINE;
		avail += st == PD_AGENT_AVAILABLE;
	}
	char title[64];
	pd_snprintf(title, sizeof title, _("Agents (%zu/%zu)%s"), avail, on, l->asof);
	header(s->win, y, s->w, t, cw, 5, l->panel == P_AGENTS, title);
	if (rows < 2)
		return;
	if (!l->v.n_agents) {
		ui_put(s->win, y + 1, 1, s->w - 2, _("No queue agents."), ui_role(UI_R_NOTE),
		       false);
		return;
	}
	size_t top = panel_scroll(l, P_AGENTS, l->v.n_agents, rows - 1);
	for (int r = 0; r + 1 < rows && top + (size_t)r < l->v.n_agents; r++) {
		const pd_live_agent *a = &l->v.agents[top + (size_t)r];
		char st[160], since[24];
		ui_live_agent_state(a, now, st, sizeof st);
		ui_live_duration(now - a->since_ms, since, sizeof since);
		const char *v[5] = {a->name && *a->name ? a->name : a->interface, a->interface,
		                    a->queues, st, since};
		bool sel = l->panel == P_AGENTS && top + (size_t)r == l->sel[P_AGENTS];
		attr_t at = ui_role(sel ? UI_R_GRID_SELECTED : UI_R_GRID_ROW);
		attr_t ca[5] = {0};
		if (!sel)
			ca[3] = ui_role(agent_role(a->state));
		if (!sel && l->v.stale)
			at = ca[3] = ui_role(UI_R_GRID_DIM);
		ui_fill(s->win, y + 1 + r, 0, s->w, at);
		ui_put_columns(s->win, y + 1 + r, v, cw, 5, NULL, at, ca);
	}
}

static void draw_users(struct ui_screen *s, struct live *l, int y, int rows)
{
	const char *const t[] = {_("Endpoint"), _("Name"), _("Sub-account"), _("Device state")};
	static const int base[] = {10, 24, 18, 16}, grow[] = {0, 3, 2, 1};
	int cw[4];
	ui_columns_fit_titles(s->w, t, base, grow, 4, cw);
	char title[48];
	pd_snprintf(title, sizeof title, _("Users (%zu)%s"), l->v.n_users, l->asof);
	header(s->win, y, s->w, t, cw, 4, true, title);
	if (!l->v.n_users) {
		ui_put(s->win, y + 1, 1, s->w - 2, _("No users discovered yet."),
		       ui_role(UI_R_NOTE), false);
		return;
	}
	size_t top = panel_scroll(l, P_USERS, l->v.n_users, rows - 1);
	for (int r = 0; r + 1 < rows && top + (size_t)r < l->v.n_users; r++) {
		const pd_live_user *u = &l->v.users[top + (size_t)r];
		const char *v[4] = {u->endpoint, u->name, u->sub_account ? u->sub_account : "",
		                    pd_device_state_label(u->device_state)};
		bool sel = top + (size_t)r == l->sel[P_USERS];
		attr_t a = ui_role(sel ? UI_R_GRID_SELECTED : UI_R_GRID_ROW);
		attr_t ca[4] = {0};
		if (!sel && l->v.stale)
			a = ui_role(UI_R_GRID_DIM);
		else if (!sel && u->device_state)
			ca[3] = ui_role(!strcmp(u->device_state, "Not in use") ? UI_R_STATUS_OK
			                : !strcmp(u->device_state, "Unavailable") ||
			                        !strcmp(u->device_state, "Invalid")
			                    ? UI_R_GRID_DIM
			                    : UI_R_STATUS_WARN);
		ui_fill(s->win, y + 1 + r, 0, s->w, a);
		ui_put_columns(s->win, y + 1 + r, v, cw, 4, NULL, a, ca);
	}
}

static void lv_draw(struct ui_screen *s)
{
	struct live *l = s->priv;
	struct ui_app *app = s->app;
	WINDOW *w = s->win;
	take_snapshot(app, l);
	int64_t now = pd_live_now_ms();
	/* title: customer and link status, coloured by state */
	char title[300];
	pd_snprintf(title, sizeof title, _("Live — %s"), l->name ? l->name : "");
	ui_fill(w, 0, 0, s->w, ui_role(UI_R_TITLE));
	int tw = ui_put(w, 0, 1, s->w / 2, title, ui_role(UI_R_TITLE), false);
	char st[400] = "";
	enum ui_role st_role = UI_R_GRID_DIM;
	l->asof[0] = 0;
	if (l->have) {
		/* a link that is down says since when and counts down to its
		 * retry, with the reason (line 2 may be showing a resync result) */
		ui_live_link_text(&l->v, now, st, sizeof st);
		st_role = ui_live_link_role(l->v.link);
		if (l->v.stale) {
			char at[16];
			ui_live_clock(l->v.stale_since_ms, now, at, sizeof at);
			pd_snprintf(l->asof, sizeof l->asof, _(" as of %s"), at);
		}
	} else {
		pd_utf8_copys(st, sizeof st,
		              ui_services_error(app)[0] ? ui_services_error(app)
		                                        : _("no PBX connection being monitored"));
	}
	char pbx[420];
	pd_snprintf(pbx, sizeof pbx, _("PBX: %s"), st);
	int pw = pd_utf8_width(pbx);
	int px = s->w - pw - 1 > tw + 2 ? s->w - pw - 1 : tw + 2;
	ui_put(w, 0, px, s->w - px, pbx, ui_role(st_role) | A_BOLD, false);
	/* line 1: panels; line 2: resync progress/result, else the last error */
	ui_fill(w, 1, 0, s->w, ui_role(UI_R_TAB));
	/* the second tab two cells after the first, measured: translations differ */
	const char *tab1 = _(" Calls & agents "), *tab2 = _(" Users ");
	int x2 = 1 + ui_text_width(tab1) + 2;
	ui_put(w, 1, 1, ui_text_width(tab1), tab1,
	       ui_role(l->panel != P_USERS ? UI_R_TAB_ACTIVE : UI_R_TAB), false);
	if (x2 < s->w)
		ui_put(w, 1, x2, s->w - x2, tab2,
		       ui_role(l->panel == P_USERS ? UI_R_TAB_ACTIVE : UI_R_TAB), false);
	enum ui_role rr = UI_R_NOTE;
	const char *rs = ui_services_resync_text(app, l->id, &rr);
	if (*rs) {
		char *t = xasprintf(
		    "%s%s", rs, ui_services_resync_active(app, l->id) ? _(" · Esc cancels") : "");
		ui_put(w, 2, 1, s->w - 2, t, ui_role(rr), false);
		free(t);
	} else if (l->have &&
	           (l->v.stale || (l->v.last_error[0] && l->v.link != PD_LINK_MONITORING))) {
		char buf[320];
		size_t k = 0;
		if (l->v.stale)
			k = pd_snprintf(buf, sizeof buf, _("Last known state%s (stale)%s"), l->asof,
			                l->v.last_error[0] ? " · " : "");
		char e[256];
		if (l->v.last_error[0])
			pd_snprintf(buf + k, sizeof buf - k, _("Last error: %s"),
			            pd_msg_text(l->v.last_error, e, sizeof e));
		ui_put(w, 2, 1, s->w - 2, buf,
		       ui_role(l->v.last_error[0] ? UI_R_STATUS_ERROR : UI_R_STATUS_WARN), false);
	}
	int body = 3, end = s->h - 1; /* last line: key hints */
	int avail = end - body;
	if (!l->have) {
		ui_put(
		    w, body + 1, 1, s->w - 2,
		    _("Nothing live for this customer: no PBX connection, or it is not enabled."),
		    ui_role(UI_R_NOTE), false);
	} else if (l->panel == P_USERS) {
		draw_users(s, l, body, avail);
	} else {
		/* calls and agents share the space (a blank line between):
		 * agents get what they need up to half, calls the rest, and
		 * what calls do not need goes back to the agents */
		int need_c = 1 + (int)(l->v.n_calls ? l->v.n_calls : 1);
		int need_a = 1 + (int)(l->v.n_agents ? l->v.n_agents : 1);
		int ra = need_a < avail / 2 ? need_a : avail / 2;
		int rc = avail - 1 - ra;
		if (rc > need_c)
			rc = need_c;
		if (rc < 2)
			rc = 2;
		draw_calls(s, l, body, rc, now);
		draw_agents(s, l, body + rc + 1, avail - rc - 1, now);
	}
	const char *hint = app->read_only
	                       ? _("Tab: users/calls · ↑↓ scroll · Esc: back")
	                       : _("Tab: panel · ↑↓ scroll · s: resync users · Esc: back");
	ui_put(w, s->h - 1, 1, s->w - 2, hint, ui_role(UI_R_NOTE), false);
	/* tick only while something on screen counts */
	bool counting = false;
	if (l->have) {
		counting = pd_link_state_retries(l->v.link);
		/* stale rows are frozen: their times do not run */
		if (l->panel != P_USERS && !l->v.stale)
			counting |= l->v.n_calls > 0 || l->v.n_agents > 0;
	}
	s->ticks = counting;
}

static int lv_key(struct ui_screen *s, const struct ui_event *ev)
{
	struct live *l = s->priv;
	size_t n = !l->have               ? 0
	           : l->panel == P_CALLS  ? l->v.n_calls
	           : l->panel == P_AGENTS ? l->v.n_agents
	                                  : l->v.n_users;
	size_t *sel = &l->sel[l->panel];
	size_t page = s->h > 8 ? (size_t)(s->h - 8) / 2 : 1;
	/* H5: the calls' filter takes the keys while it is typed; Esc clears a
	 * filter before it cancels a resync or leaves */
	if (l->filter.editing || (ev->action == UI_A_BACK && l->filter.text[0]) ||
	    ev->action == UI_A_LIVE_FILTER) {
		if (ev->action == UI_A_LIVE_FILTER && !l->filter.editing)
			l->panel = P_CALLS; /* the filter is the calls' */
		int r = ui_list_filter_key(&l->filter, ev, UI_A_LIVE_FILTER);
		if (r) {
			refilter_calls(l);
			if (l->sel[P_CALLS] >= l->n_calls_shown)
				l->sel[P_CALLS] = 0;
			return r;
		}
	}
	if (l->panel == P_CALLS) {
		refilter_calls(l);
		n = l->n_calls_shown;
	}
	if (ev->action == UI_A_LIVE_EXPORT) {
		refilter_calls(l);
		const char *hd[7] = {"from",  "to",    "direction", "state",
		                     "queue", "agent", "duration"};
		struct ui_table *t = ui_table_new(hd, 7);
		int64_t now = pd_live_now_ms();
		for (size_t i = 0; i < l->n_calls_shown; i++) {
			char from[160], dur[24];
			const char *v[7];
			call_cells(&l->v.calls[l->calls_shown[i]], now, from, dur, v);
			ui_table_add(t, v);
		}
		ui_export_ask(s->app, "calls", t);
		return UI_HANDLED;
	}
	switch (ev->action) {
	case UI_A_LIVE_NEXT:
		l->panel = (l->panel + 1) % P__N;
		return UI_HANDLED | UI_REDRAW;
	case UI_A_LIVE_PREV:
		l->panel = (l->panel + P__N - 1) % P__N;
		return UI_HANDLED | UI_REDRAW;
	case UI_A_LIVE_RESYNC:
		ui_services_resync(s->app, l->id);
		return UI_HANDLED | UI_REDRAW;
	case UI_A_BACK: /* H5: Esc cancels a resync in progress before it leaves */
		if (ui_services_resync_cancel(s->app, l->id))
			return UI_HANDLED | UI_REDRAW;
		return 0;
	default:
		return ui_list_move(sel, n, page, ev->action);
	}
}

static int lv_tick(struct ui_screen *s)
{
	(void)s;
	return UI_REDRAW; /* durations and times in state are computed at draw */
}

static int lv_data(struct ui_screen *s)
{
	load_name(s->app, s->priv); /* a rename in another console */
	return UI_REDRAW;
}

static const char *lv_help(struct ui_screen *s)
{
	(void)s;
	return _("Live PBX state of one customer, updated as events arrive. Calls: from, to,\n"
	         "direction, state, queue, agent and a ticking duration; ended calls stay a\n"
	         "few seconds and keep their caller. Agents: queues, state and time in state:\n"
	         "Not ready shows the pause reason, a call taken while paused \"On call (paused:\n"
	         "Lunch)\", Wrap-up counts down to its end (the connection's wrap-up time).\n"
	         "Users: endpoints with their device state. s asks the PBX for its\n"
	         "users again and shows the progress and the result (new, updated, removed).");
}

const struct ui_screen_ops ui_live_ops = {
    .name = "live",
    .live = true,
    .context = UI_CTX_LIVE,
    .create = lv_create,
    .destroy = lv_destroy,
    .layout = lv_layout,
    .draw = lv_draw,
    .handle_key = lv_key,
    .help = lv_help,
    .on_data = lv_data,
    .on_tick = lv_tick,
    .fkeys = N_("F1|Help|Tab|Panel|s|Resync|Esc|Back|F10|Quit"),
};

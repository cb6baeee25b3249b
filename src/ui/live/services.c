/* Background services of the console: see services.h. The console opens
 * no PBX link and sends no invitation itself: it attaches to the host's
 * daemon (`provdesk serve`, started detached when none runs) whose views
 * the client thread mirrors into our pd_live; the UI never blocks on it
 * (the mirror publishes into pd_live under a short lock and wakes the UI). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "provdesk/serve_client.h"
#include "services.h"

#define RESYNC_TIMEOUT_MS 120000

struct ui_services {
	pd_live *live;
	pd_serve_client *cl;
	char error[300];
	bool attached;       /* as last seen by the UI thread */
	int64_t attaches;    /* the client's count, as last seen */
	bool was_lost;       /* "monitor lost" said, "restarted" not yet */
	int64_t own_commits; /* this console's commits seen so far */
	/* one resync followed at a time (the one asked last) */
	int64_t rs_cid, rs_seq0, rs_started_ms, rs_done_ms;
	bool rs_active, rs_saw_sync;
	char rs_text[300];
	enum ui_role rs_role;
	/* a retry countdown is on screen: redraw every second */
	bool counting_down;
};

static struct ui_services *svc(struct ui_app *app)
{
	return app->svc;
}

static int64_t own_commits(struct ui_app *app)
{
	return app->store ? store_change_counter(app->store) - store_data_version(app->store) : 0;
}

void ui_services_start(struct ui_app *app)
{
	if (app->svc)
		return;
	struct ui_services *v = xcalloc(1, sizeof *v);
	app->svc = v;
	if (!app->store || !app->opts->db_path) {
		pd_snprintf(v->error, sizeof v->error, _("no database: PBX monitoring is off"));
		return;
	}
	v->own_commits = own_commits(app);
	v->live = pd_live_new();
	pd_serve_client_opts o = {
	    .db_path = app->opts->db_path,
	    .config_path = app->opts->config_path,
	    /* the NOC is read-only: the daemon refuses it any command */
	    .kind = app->read_only ? "noc" : "console",
	    .live = true,
	    .autostart = true,
	};
	pd_err e;
	pd_err_clear(&e);
	if (pd_serve_client_start(&o, v->live, &v->cl, &e) != PD_OK) {
		v->cl = NULL;
		pd_live_free(v->live);
		v->live = NULL;
		pd_snprintf(v->error, sizeof v->error, _("PBX monitor not reached: %.250s"),
		            e.message);
		ui_msg(app, UI_R_STATUS_ERROR, "%s", v->error);
		return;
	}
	pd_serve_client_error(v->cl, v->error, sizeof v->error);
}

void ui_services_stop(struct ui_app *app)
{
	struct ui_services *v = svc(app);
	if (!v)
		return;
	pd_serve_client_stop(v->cl); /* joins the client thread */
	pd_live_free(v->live);
	free(v);
	app->svc = NULL;
}

pd_live *ui_services_live(struct ui_app *app)
{
	return app->svc ? svc(app)->live : NULL;
}

const char *ui_services_error(struct ui_app *app)
{
	return app->svc ? svc(app)->error : "";
}

int ui_services_pollfds(struct ui_app *app, struct pollfd *pf, int max)
{
	struct ui_services *v = svc(app);
	if (!v || !v->live || max < 1)
		return 0;
	pf[0] = (struct pollfd){.fd = pd_live_wake_fd(v->live), .events = POLLIN};
	return 1;
}

/* Screens that draw from the live state. */
static bool is_live_screen(const struct ui_screen *s)
{
	return s->ops->live;
}

static void mark_live_dirty(struct ui_app *app)
{
	for (size_t i = 0; i < app->n_stack; i++)
		if (is_live_screen(app->stack[i]))
			app->stack[i]->dirty = true;
	app->bar_dirty = true; /* the grid's status line has the PBX health */
}

static void resync_update(struct ui_app *app)
{
	struct ui_services *v = svc(app);
	if (!v->rs_active || !v->cl)
		return;
	pd_sync_result r;
	int64_t seq = 0;
	char text[300];
	enum ui_role role = UI_R_STATUS_OK;
	if (pd_serve_client_last_sync(v->cl, v->rs_cid, &r, &seq) && seq > v->rs_seq0) {
		pd_snprintf(text, sizeof text,
		            _("resync: %d new, %d updated, %d removed, %d linked, %d unchanged"),
		            r.added, r.updated, r.removed, r.linked, r.unchanged);
		if (r.sub_accounts_added)
			pd_snprintf(text + strlen(text), sizeof text - strlen(text),
			            _(", %d sub-accounts added"), r.sub_accounts_added);
		v->rs_active = false;
		v->rs_done_ms = pd_live_now_ms();
	} else {
		pd_live_summary s;
		bool known = pd_live_summary_get(v->live, v->rs_cid, &s);
		int64_t waited = pd_live_now_ms() - v->rs_started_ms;
		if (known && s.link == PD_LINK_DISCOVERING) {
			v->rs_saw_sync = true;
			pd_snprintf(text, sizeof text, _("resync: %.180s"), s.status);
			role = UI_R_STATUS_WARN;
		} else if (known &&
		           (s.link == PD_LINK_AUTH_FAILED || s.link == PD_LINK_DISABLED ||
		            s.link == PD_LINK_UNSUPPORTED || s.link == PD_LINK_CONFIG_ERROR ||
		            (pd_link_state_retries(s.link) && v->rs_saw_sync))) {
			pd_snprintf(text, sizeof text, _("resync failed: %.180s"), s.status);
			role = UI_R_STATUS_ERROR;
			v->rs_active = false;
			v->rs_done_ms = pd_live_now_ms();
		} else if (known && s.link == PD_LINK_MONITORING && v->rs_saw_sync &&
		           waited > 5000) {
			/* discovery ran but nothing was stored (sync off, or a
			 * read-only database) */
			pd_snprintf(text, sizeof text,
			            _("resync: users listed, nothing stored (sync is off)"));
			role = UI_R_STATUS_WARN;
			v->rs_active = false;
			v->rs_done_ms = pd_live_now_ms();
		} else if (waited > RESYNC_TIMEOUT_MS) {
			pd_snprintf(text, sizeof text,
			            _("resync: no answer from the PBX after %d s"),
			            RESYNC_TIMEOUT_MS / 1000);
			role = UI_R_STATUS_ERROR;
			v->rs_active = false;
			v->rs_done_ms = pd_live_now_ms();
		} else {
			pd_snprintf(text, sizeof text, _("resync: %.180s"),
			            known ? s.status : _("waiting for the monitor"));
			role = UI_R_STATUS_WARN;
		}
	}
	if (strcmp(text, v->rs_text) || role != v->rs_role) {
		pd_utf8_copys(v->rs_text, sizeof v->rs_text, text);
		v->rs_role = role;
		ui_msg(app, role, "%s", text);
	}
}

void ui_services_polled(struct ui_app *app, const struct pollfd *pf, int n)
{
	struct ui_services *v = svc(app);
	if (!v || !v->live || n < 1 || !(pf[0].revents & (POLLIN | POLLERR | POLLHUP)))
		return;
	pd_live_wake_drain(v->live);
	resync_update(app);
	mark_live_dirty(app);
}

void ui_services_loop(struct ui_app *app)
{
	struct ui_services *v = svc(app);
	if (!v || !app->store)
		return;
	int64_t c = own_commits(app);
	if (c != v->own_commits) {
		v->own_commits = c;
		/* the daemon sends the invitations: a new one goes out now */
		if (v->cl && !app->read_only)
			pd_serve_client_send(v->cl, "outbox_send", NULL);
	}
}

void ui_services_second(struct ui_app *app)
{
	struct ui_services *v = svc(app);
	if (!v || !v->live)
		return;
	/* attached or not: the status line and the health say which */
	bool att = pd_serve_client_attached(v->cl);
	int64_t attaches = pd_serve_client_attaches(v->cl);
	char err[sizeof v->error];
	pd_serve_client_error(v->cl, err, sizeof err);
	if (att != v->attached || attaches != v->attaches || strcmp(err, v->error)) {
		/* a restart within one second is a loss too: the count says it */
		if (v->attached && (!att || attaches != v->attaches)) {
			ui_msg(app, UI_R_STATUS_WARN, "%s", _(PD_SERVE_LOST_TEXT));
			v->was_lost = true;
		} else if (att && v->was_lost) {
			ui_msg(app, UI_R_STATUS_OK, _("monitor restarted: live data again"));
			v->was_lost = false;
		} else if (!att && err[0] && strcmp(err, v->error)) {
			ui_msg(app, UI_R_STATUS_WARN, "%s", err);
		}
		v->attached = att;
		v->attaches = attaches;
		pd_utf8_copys(v->error, sizeof v->error, err);
		mark_live_dirty(app);
	}
	resync_update(app);
	/* "retrying in 8s" counts down without any event from the monitor */
	pd_live_summary *all = NULL;
	size_t n = pd_live_summaries(v->live, &all);
	bool counting = false;
	for (size_t i = 0; i < n; i++)
		counting |= pd_link_state_retries(all[i].link);
	free(all);
	if (counting || v->counting_down)
		mark_live_dirty(app);
	v->counting_down = counting;
}

void ui_services_resync(struct ui_app *app, int64_t cid)
{
	struct ui_services *v = svc(app);
	if (!v || !v->cl || !pd_serve_client_attached(v->cl)) {
		ui_msg(app, UI_R_STATUS_ERROR, _("resync: %s"),
		       v && v->error[0] ? v->error : _("the PBX monitor is not running"));
		return;
	}
	if (app->read_only) {
		ui_msg(app, UI_R_STATUS_WARN, _("read-only console: no resync"));
		return;
	}
	/* the connection's switches hold, as for 'pbx resync' without --force:
	 * the monitor neither dials a disabled link nor syncs with sync off */
	pd_pbx p = {0};
	pd_err e = {0};
	if (app->store && store_pbx_get(app->store, cid, false, &p, &e) == PD_OK) {
		bool enabled = p.enabled, sync = p.sync_users;
		pd_pbx_free(&p);
		if (!enabled || !sync) {
			ui_msg(app, UI_R_STATUS_WARN, "%s",
			       !enabled ? _("resync: the PBX connection is disabled (E enables it)")
			                : _("resync: user sync is off for this connection (turn on "
			                    "\"Sync users\" in its settings)"));
			return;
		}
	}
	pd_sync_result r;
	int64_t seq = 0;
	if (!pd_serve_client_last_sync(v->cl, cid, &r, &seq))
		seq = 0;
	v->rs_cid = cid;
	v->rs_seq0 = seq;
	v->rs_started_ms = pd_live_now_ms();
	v->rs_active = true;
	v->rs_saw_sync = false;
	v->rs_text[0] = 0;
	pd_serve_client_resync(v->cl, cid);
	resync_update(app);
}

bool ui_services_resync_cancel(struct ui_app *app, int64_t cid)
{
	struct ui_services *v = svc(app);
	if (!v || !v->cl || !v->rs_active || v->rs_cid != cid)
		return false;
	resync_update(app); /* finished meanwhile? then there is nothing to cancel */
	if (!v->rs_active)
		return false;
	bool cancelled = pd_serve_client_resync_cancel(v->cl, cid, v->rs_seq0);
	v->rs_active = false;
	v->rs_done_ms = pd_live_now_ms();
	v->rs_role = cancelled ? UI_R_STATUS_WARN : UI_R_STATUS_OK;
	pd_utf8_copys(v->rs_text, sizeof v->rs_text,
	              cancelled ? _("resync cancelled: nothing written (the users are as before)")
	                        : _("resync: already written"));
	ui_msg(app, v->rs_role, "%s", v->rs_text);
	return true;
}

bool ui_services_resync_active(struct ui_app *app, int64_t cid)
{
	struct ui_services *v = svc(app);
	return v && v->rs_active && v->rs_cid == cid;
}

const char *ui_services_resync_text(struct ui_app *app, int64_t cid, enum ui_role *role)
{
	struct ui_services *v = svc(app);
	if (!v || v->rs_cid != cid || !v->rs_text[0])
		return "";
	/* a result stays a minute; then the panel shows the link's own news */
	if (!v->rs_active && pd_live_now_ms() - v->rs_done_ms > 60000)
		return "";
	if (role)
		*role = v->rs_role;
	return v->rs_text;
}

void ui_services_health(struct ui_app *app, char *buf, size_t n, enum ui_role *role)
{
	struct ui_services *v = svc(app);
	*role = UI_R_STATUS;
	if (!v || !v->live) {
		/* no monitor here: the states other consoles' monitors stored */
		pd_pbx_counts c;
		pd_err e;
		if (app->store && store_pbx_counts(app->store, &c, &e) == PD_OK && c.links) {
			int64_t retrying =
			    c.by_link[PD_LINK_RETRYING] + c.by_link[PD_LINK_PROTOCOL_ERROR];
			int64_t failed =
			    c.by_link[PD_LINK_AUTH_FAILED] + c.by_link[PD_LINK_CONFIG_ERROR];
			pd_snprintf(
			    buf, n,
			    _("PBX (stored): %lld monitoring · %lld retrying · %lld auth failed"),
			    (long long)c.by_link[PD_LINK_MONITORING], (long long)retrying,
			    (long long)failed);
			*role = failed || retrying ? UI_R_STATUS_WARN : UI_R_STATUS;
		} else {
			pd_snprintf(buf, n, "PBX: —");
		}
		return;
	}
	if (!pd_serve_client_attached(v->cl)) {
		/* "PBX: connecting to the monitor", "PBX: monitor lost, restarting" */
		char why[sizeof v->error];
		pd_serve_client_error(v->cl, why, sizeof why);
		pd_snprintf(buf, n, _("PBX: %s"), why[0] ? why : _("connecting to the monitor"));
		*role = UI_R_STATUS_WARN;
		return;
	}
	pd_live_summary *all = NULL;
	size_t k = pd_live_summaries(v->live, &all);
	int64_t by[PD_LINK_N_STATES] = {0};
	for (size_t i = 0; i < k; i++)
		if ((unsigned)all[i].link < PD_LINK_N_STATES)
			by[all[i].link]++;
	free(all);
	if (!k) {
		pd_snprintf(buf, n, _("PBX: none"));
		return;
	}
	/* worst first, only the states that occur */
	static const pd_link_state order[] = {
	    PD_LINK_AUTH_FAILED, PD_LINK_CONFIG_ERROR, PD_LINK_PROTOCOL_ERROR, PD_LINK_RETRYING,
	    PD_LINK_CONNECTING,  PD_LINK_LOGGING_IN,   PD_LINK_DISCOVERING,    PD_LINK_MONITORING,
	    PD_LINK_UNSUPPORTED, PD_LINK_DISABLED};
	size_t used = (size_t)pd_snprintf(buf, n, "PBX:");
	bool first = true;
	for (size_t i = 0; i < sizeof order / sizeof order[0] && used < n; i++) {
		if (!by[order[i]])
			continue;
		/* cut on a character when it does not fit (a translated label) */
		used += pd_snprintf(buf + used, n - used, "%s %lld %s", first ? "" : " ·",
		                    (long long)by[order[i]], pd_link_state_label(order[i]));
		first = false;
	}
	/* the worst state present colours the line */
	*role = UI_R_STATUS;
	for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
		if (by[order[i]]) {
			enum ui_role r = ui_live_link_role(order[i]);
			if (r == UI_R_STATUS_ERROR || r == UI_R_STATUS_WARN)
				*role = r;
			break;
		}
}

/* ---- display helpers ---- */

/* The one map from a link state to a theme role: grid, live panel, NOC and
 * the status line colour links by it. */
enum ui_role ui_live_link_role(pd_link_state st)
{
	switch (st) {
	case PD_LINK_MONITORING:
		return UI_R_STATUS_OK;
	case PD_LINK_CONNECTING:
	case PD_LINK_LOGGING_IN:
	case PD_LINK_DISCOVERING:
	case PD_LINK_RETRYING: /* a passing failure: the link redials by itself */
		return UI_R_STATUS_WARN;
	case PD_LINK_PROTOCOL_ERROR: /* redialled too, but rarely passing: not that PBX */
	case PD_LINK_AUTH_FAILED:
	case PD_LINK_CONFIG_ERROR:
		return UI_R_STATUS_ERROR;
	default: /* disabled, unsupported */
		return UI_R_GRID_DIM;
	}
}

void ui_live_short_status(pd_link_state st, int done, int total, int64_t retry_at_ms,
                          int64_t now_ms, char *buf, size_t n)
{
	switch (st) {
	case PD_LINK_DISCOVERING:
		pd_snprintf(buf, n, _("sync %d/%d"), done, total);
		break;
	case PD_LINK_RETRYING:
	case PD_LINK_PROTOCOL_ERROR: {
		int64_t s = (retry_at_ms - now_ms + 999) / 1000;
		pd_snprintf(buf, n, _("retry %llds"), (long long)(s < 0 ? 0 : s));
		break;
	}
	default:
		pd_utf8_copys(buf, n, pd_link_state_label(st));
	}
}

void ui_live_clock(int64_t mono_ms, int64_t now_ms, char *buf, size_t n)
{
	int64_t ago = now_ms > mono_ms ? (now_ms - mono_ms) / 1000 : 0;
	time_t t = (time_t)(pd_now() - ago);
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(buf, n, "%H:%M", &tm);
}

bool ui_live_down_text(pd_link_state st, int64_t down_since_ms, int64_t retry_at_ms, int64_t now_ms,
                       char *buf, size_t n)
{
	if (!down_since_ms)
		return false;
	char at[16];
	ui_live_clock(down_since_ms, now_ms, at, sizeof at);
	int64_t s = (retry_at_ms - now_ms + 999) / 1000;
	if (s < 0)
		s = 0;
	switch (st) {
	case PD_LINK_RETRYING:
		pd_snprintf(buf, n, _("down since %s, retrying in %lld s"), at, (long long)s);
		return true;
	case PD_LINK_PROTOCOL_ERROR:
		pd_snprintf(buf, n, _("protocol error since %s, retrying in %lld s"), at,
		            (long long)s);
		return true;
	case PD_LINK_AUTH_FAILED:
		pd_snprintf(buf, n, _("auth failed since %s"), at);
		return true;
	case PD_LINK_CONNECTING:
	case PD_LINK_LOGGING_IN:
	case PD_LINK_DISCOVERING:
		pd_snprintf(buf, n, _("down since %s, reconnecting"), at);
		return true;
	default:
		return false;
	}
}

void ui_live_link_text(const pd_live_view *v, int64_t now_ms, char *buf, size_t n)
{
	char down[120];
	if (ui_live_down_text(v->link, v->down_since_ms, v->retry_at_ms, now_ms, down,
	                      sizeof down)) {
		char e[256];
		if (v->last_error[0])
			pd_snprintf(buf, n, "%s (%s)", down,
			            pd_msg_text(v->last_error, e, sizeof e));
		else
			pd_utf8_copys(buf, n, down);
	} else {
		pd_live_status_text(v->link, v->sync_done, v->sync_total, v->retry_at_ms,
		                    v->last_error, now_ms, buf, n);
	}
}

void ui_live_duration(int64_t ms, char *buf, size_t n)
{
	int64_t s = ms < 0 ? 0 : ms / 1000;
	if (s >= 3600)
		pd_snprintf(buf, n, "%lld:%02lld:%02lld", (long long)(s / 3600),
		            (long long)(s / 60 % 60), (long long)(s % 60));
	else
		pd_snprintf(buf, n, "%lld:%02lld", (long long)(s / 60), (long long)(s % 60));
}

void ui_live_agent_state(const pd_live_agent *a, int64_t now_ms, char *buf, size_t n)
{
	const char *name = pd_agent_state_name(a->state);
	bool reason = a->reason && *a->reason;
	if (a->state == PD_AGENT_NOT_READY && reason) {
		pd_snprintf(buf, n, "%s (%s)", name, a->reason);
	} else if (a->state == PD_AGENT_WRAPUP && a->until_ms) {
		/* a timer (Asterisk says nothing when wrap-up ends): count it down */
		int64_t s = (a->until_ms - now_ms + 999) / 1000;
		pd_snprintf(buf, n, "%s (%lld s)", name, (long long)(s < 0 ? 0 : s));
	} else if (a->paused && a->state != PD_AGENT_NOT_READY && a->state != PD_AGENT_OFFLINE &&
	           a->state != PD_AGENT_LOGGED_OFF) {
		/* a call taken while paused: the pause stays the truth */
		if (reason)
			pd_snprintf(buf, n, _("%s (paused: %s)"), name, a->reason);
		else
			pd_snprintf(buf, n, _("%s (paused)"), name);
	} else {
		pd_utf8_copys(buf, n, name);
	}
}

void ui_live_carry_ended(pd_live_view *nv, const pd_live_view *old)
{
	for (size_t i = 0; i < nv->n_calls; i++) {
		pd_live_call *c = &nv->calls[i];
		if (c->state != PD_CALL_ENDED || (c->from && *c->from) || !c->id)
			continue;
		for (size_t j = 0; j < old->n_calls; j++) {
			const pd_live_call *o = &old->calls[j];
			if (!o->id || strcmp(o->id, c->id))
				continue;
			if (!c->from)
				c->from = xstrdup(o->from);
			if (!c->from_name)
				c->from_name = xstrdup(o->from_name);
			if (!c->to || !*c->to)
				pd_set_str(&c->to, o->to);
			if (!c->agent)
				c->agent = xstrdup(o->agent);
			if (!c->queue)
				c->queue = xstrdup(o->queue);
			break;
		}
	}
}

struct agent_key {
	char *key; /* folded name, or NULL: its bytes */
	const pd_live_agent *a;
};

static const char *agent_name(const pd_live_agent *a)
{
	return a->name && *a->name ? a->name : a->interface ? a->interface : "";
}

static int cmp_agent_key(const void *x, const void *y)
{
	const struct agent_key *p = x, *q = y;
	int c = strcmp(p->key ? p->key : agent_name(p->a), q->key ? q->key : agent_name(q->a));
	if (!c)
		c = strcmp(p->a->interface ? p->a->interface : "",
		           q->a->interface ? q->a->interface : "");
	return c;
}

void ui_live_sort_agents(pd_live_view *v)
{
	if (v->n_agents < 2)
		return;
	struct agent_key *k = xcalloc(v->n_agents, sizeof *k);
	for (size_t i = 0; i < v->n_agents; i++)
		k[i] = (struct agent_key){pd_fold_key(agent_name(&v->agents[i])), &v->agents[i]};
	qsort(k, v->n_agents, sizeof *k, cmp_agent_key);
	pd_live_agent *sorted = xcalloc(v->n_agents, sizeof *sorted);
	for (size_t i = 0; i < v->n_agents; i++) {
		sorted[i] = *k[i].a;
		free(k[i].key);
	}
	free(k);
	free(v->agents);
	v->agents = sorted;
}

bool ui_live_row(struct ui_app *app, const pd_row *r, struct ui_live_cols *out)
{
	pd_live *l = ui_services_live(app);
	pd_live_summary s;
	if (!l || !pd_live_summary_get(l, r->c.id, &s))
		return false;
	memset(out, 0, sizeof *out);
	/* the summary's text is "syncing 3/20" / "retrying in 8s (why)": the
	 * error is left to the live panel; a 7-cell form for 80 columns */
	int64_t now = pd_live_now_ms();
	if (ui_live_down_text(s.link, s.down_since_ms, s.retry_at_ms, now, out->pbx,
	                      sizeof out->pbx)) {
		/* "down since 14:02, retrying in 12 s": the countdown is live */
	} else if (s.link == PD_LINK_DISCOVERING) {
		pd_snprintf(out->pbx, sizeof out->pbx, _("syncing %d/%d"), s.sync_done,
		            s.sync_total);
	} else if (pd_link_state_retries(s.link)) {
		int64_t secs = (s.retry_at_ms - pd_live_now_ms() + 999) / 1000;
		pd_snprintf(out->pbx, sizeof out->pbx,
		            s.link == PD_LINK_RETRYING ? _("retrying in %llds")
		                                       : _("protocol error, retrying in %llds"),
		            (long long)(secs < 0 ? 0 : secs));
	} else {
		pd_utf8_copys(out->pbx, sizeof out->pbx, pd_link_state_label(s.link));
	}
	const char *const brief[PD_LINK_N_STATES] = {
	    [PD_LINK_DISABLED] = _("off"),       [PD_LINK_CONNECTING] = _("connect"),
	    [PD_LINK_LOGGING_IN] = _("login"),   [PD_LINK_DISCOVERING] = _("syncing"),
	    [PD_LINK_MONITORING] = _("monitor"), [PD_LINK_RETRYING] = _("retry"),
	    [PD_LINK_AUTH_FAILED] = _("auth ✗"), [PD_LINK_PROTOCOL_ERROR] = _("proto ✗"),
	    [PD_LINK_UNSUPPORTED] = _("no drv"), [PD_LINK_CONFIG_ERROR] = _("conf ✗")};
	if (pd_link_state_retries(s.link)) { /* the countdown, at 80 columns too */
		int64_t secs = (s.retry_at_ms - now + 999) / 1000;
		if (s.down_since_ms) {
			char at[16];
			ui_live_clock(s.down_since_ms, now, at, sizeof at);
			pd_snprintf(out->pbx_mid, sizeof out->pbx_mid, _("down %s, %ds"), at,
			            (int)(secs < 0      ? 0
			                  : secs > 9999 ? 9999
			                                : secs));
		}
		/* 7 cells at 80 columns: "↻ 12s" */
		pd_snprintf(out->pbx_short, sizeof out->pbx_short, "↻ %ds",
		            (int)(secs < 0     ? 0
		                  : secs > 999 ? 999
		                               : secs));
	} else if ((unsigned)s.link < PD_LINK_N_STATES) {
		pd_utf8_copys(out->pbx_short, sizeof out->pbx_short, brief[s.link]);
		if (s.down_since_ms) /* "auth failed" where "… since 14:02" does not fit */
			pd_utf8_copys(out->pbx_mid, sizeof out->pbx_mid,
			              pd_link_state_label(s.link));
	}
	out->pbx_role = ui_live_link_role(s.link);
	if (s.link == PD_LINK_DISABLED) {
		pd_snprintf(out->calls, sizeof out->calls, "—");
		pd_snprintf(out->agents, sizeof out->agents, "—");
	} else {
		pd_snprintf(out->calls, sizeof out->calls, "%lld", (long long)s.calls);
		pd_snprintf(out->agents, sizeof out->agents, "%lld/%lld",
		            (long long)s.agents_available, (long long)s.agents_logged_on);
	}
	return true;
}

const struct ui_background_ops ui_background = {
    .start = ui_services_start,
    .stop = ui_services_stop,
    .pollfds = ui_services_pollfds,
    .polled = ui_services_polled,
    .loop = ui_services_loop,
    .second = ui_services_second,
};

/* The customer view: tabs Details / Users / PBX / Roles / Activity. Reads
 * are refreshed on every data change (another console, the monitor's user
 * sync, our own saves); writes go through the store with the same rules as
 * the command line. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "customer/customer.h"
#include "live/services.h"
#include "ui_internal.h"

static const char *country_name(const struct ui_app *app, const char *code)
{
	const pd_country *c = app->geo && code ? pd_geo_country(app->geo, code) : NULL;
	return c ? pd_geo_country_name(c) : code ? code : "";
}

static const char *tab_names[CV_TABS] = {N_("1 Details"), N_("2 Users"), N_("3 PBX"), N_("4 Roles"),
                                         N_("5 Activity")};

static void users_refilter(struct ui_app *app, struct cview *v);

void cv_load(struct ui_app *app, struct cview *v)
{
	pd_err e;
	pd_err_clear(&e);
	v->err[0] = 0;
	if (!app->store) {
		pd_snprintf(v->err, sizeof v->err, _("database unavailable"));
		return;
	}
	pd_customer c;
	if (store_customer_get(app->store, v->id, &c, &e) != PD_OK) {
		pd_snprintf(v->err, sizeof v->err, "%.500s", e.message);
		ui_msg(app, UI_R_STATUS_ERROR, _("cannot read the customer: %s"), e.message);
		return; /* keep what is shown */
	}
	if (v->loaded)
		pd_customer_free(&v->c);
	v->c = c;
	v->loaded = true;
	for (size_t i = 0; i < v->n_users; i++)
		pd_user_free(&v->users[i]);
	free(v->users);
	v->users = NULL;
	v->n_users = 0;
	if (store_user_list(app->store, v->id, &v->users, &v->n_users, &e) != PD_OK)
		pd_snprintf(v->err, sizeof v->err, _("users: %.500s"), e.message);
	if (v->has_pbx)
		pd_pbx_free(&v->pbx);
	v->has_pbx = store_pbx_get(app->store, v->id, false, &v->pbx, &e) == PD_OK;
	if (v->has_status)
		pd_pbx_status_free(&v->status);
	v->has_status =
	    v->has_pbx && store_pbx_status_get(app->store, v->id, &v->status, &e) == PD_OK;
	pd_audits_free(v->audit, v->n_audit);
	v->audit = NULL;
	v->n_audit = 0;
	if (store_audit_list(app->store, v->id, 500, &v->audit, &v->n_audit, &e) != PD_OK)
		pd_snprintf(v->err, sizeof v->err, _("activity: %.500s"), e.message);
	pd_outboxes_free(v->outbox, v->n_outbox);
	v->outbox = NULL;
	v->n_outbox = 0;
	store_outbox_list(app->store, v->id, &v->outbox, &v->n_outbox, &e);
	pd_sub_accounts_free(v->subs, v->n_subs);
	v->subs = NULL;
	v->n_subs = 0;
	store_sub_account_list(app->store, v->id, &v->subs, &v->n_subs, &e);
	if (v->sel[CV_USERS] >= v->n_users)
		v->sel[CV_USERS] = v->n_users ? v->n_users - 1 : 0;
	users_refilter(app, v);
	ui_audit_pane_set(&v->act, v->audit, v->n_audit, NULL);
}

static pd_status cv_create(struct ui_screen *s, void *arg, pd_err *e)
{
	struct cview *v = xcalloc(1, sizeof *v);
	v->id = *(int64_t *)arg;
	s->priv = v;
	cv_load(s->app, v);
	if (!v->loaded) {
		pd_fail(e, PD_E_NOTFOUND, NULL, _("cannot open the customer: %s"), v->err);
		free(v);
		return PD_E_NOTFOUND;
	}
	return PD_OK;
}

static void cv_destroy(struct ui_screen *s)
{
	struct cview *v = s->priv;
	if (v->loaded)
		pd_customer_free(&v->c);
	for (size_t i = 0; i < v->n_users; i++)
		pd_user_free(&v->users[i]);
	free(v->users);
	if (v->has_pbx)
		pd_pbx_free(&v->pbx);
	if (v->has_status)
		pd_pbx_status_free(&v->status);
	pd_audits_free(v->audit, v->n_audit);
	pd_outboxes_free(v->outbox, v->n_outbox);
	pd_sub_accounts_free(v->subs, v->n_subs);
	free(v->ushown);
	ui_audit_pane_free(&v->act);
	free(v);
}

static void cv_layout(struct ui_screen *s)
{
	ui_screen_window(s, s->y, s->x, s->h, s->w);
}

/* "label: value" line */
static void kv(WINDOW *w, int y, int width, const char *k, const char *v, attr_t va)
{
	ui_put(w, y, 1, 20, k, ui_role(UI_R_LABEL) | A_BOLD, true);
	ui_put(w, y, 22, width - 23, v ? v : "", va, false);
}

static void draw_details(struct ui_screen *s, struct cview *v, int y0)
{
	WINDOW *w = s->win;
	struct ui_app *app = s->app;
	const pd_customer *c = &v->c;
	pd_day today = pd_today();
	char buf[600];
	int y = y0;
	attr_t n = ui_role(UI_R_NORMAL);
	kv(w, y++, s->w, _("Name"), c->name, n);
	kv(w, y++, s->w, _("Tenant id"), c->tenant_id, n);
	const pd_product_type *pt = pd_catalogue_product(app->cat, c->product_type);
	pd_snprintf(buf, sizeof buf, "%s (%s)%s", pt ? pt->name : c->product_type, c->product_type,
	            pt && pt->locked_after_assignment ? _("  [locked: cannot be changed]") : "");
	kv(w, y++, s->w, _("Product type"), buf, n);
	kv(w, y++, s->w, _("Reference"),
	   c->reference && *c->reference ? c->reference : _("— (billing uses the tenant id)"), n);
	pd_snprintf(buf, sizeof buf, "%s %s", c->country, country_name(app, c->country));
	kv(w, y++, s->w, _("Country"), buf, n);
	kv(w, y++, s->w, _("Time zone"), c->time_zone, n);
	kv(w, y++, s->w, _("Locale"), c->locale, n);
	pd_customer_status st = pd_customer_status_of(c, today);
	kv(w, y++, s->w, _("Status"), ui_customer_status_label(st),
	   ui_role(st == PD_CS_ACTIVE  ? UI_R_STATUS_OK
	           : st == PD_CS_TRIAL ? UI_R_NORMAL
	                               : UI_R_STATUS_WARN));
	if (c->trial) {
		char a[11], b[11];
		pd_day_format(c->trial_start, a);
		pd_day_format(c->trial_end, b);
		int left = pd_customer_trial_days_left(c, today);
		pd_snprintf(buf, sizeof buf, "%s → %s  %s", a, b,
		            c->trial_converted ? _("(converted to paid)")
		            : left >= 0        ? ""
		                               : _("(expired: monitoring stopped, data kept)"));
		if (!c->trial_converted && left >= 0)
			pd_snprintf(buf + strlen(buf), sizeof buf - strlen(buf),
			            _("(%d days left)"), left);
		kv(w, y++, s->w, _("Trial"), buf,
		   ui_role(!c->trial_converted && left <= 7 ? UI_R_TRIAL_ENDING : UI_R_NORMAL));
	} else {
		kv(w, y++, s->w, _("Trial"), _("none"), n);
	}
	kv(w, y++, s->w, _("Internal system"),
	   c->internal_system ? _("yes — for internal use only, never billed") : _("no"),
	   ui_role(c->internal_system ? UI_R_WARNING : UI_R_NORMAL));
	pd_snprintf(buf, sizeof buf, "%lld", (long long)c->version);
	kv(w, y++, s->w, _("Version"), buf, n);
	kv(w, y++, s->w, _("Notes"), "", n);
	const char *p = c->notes ? c->notes : "";
	while (*p && y < s->h - 1) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char *line = xstrndup(p, len);
		ui_put(w, y++, 3, s->w - 4, line, n, false);
		free(line);
		p += len + (nl ? 1 : 0);
	}
	if (y < s->h)
		ui_put(w, s->h - 1, 1, s->w - 2,
		       _("e: edit · a: actions (trial, disable, delete, restore) · Tab: next tab"),
		       ui_role(UI_R_NOTE), false);
}

static const char *invite_of(struct cview *v, const pd_user *u)
{
	const char *st = pd_invite_state_label(u->invite);
	for (size_t i = 0; i < v->n_outbox; i++)
		if (v->outbox[i].user_id == u->id)
			st = v->outbox[i].state == PD_INVITE_QUEUED && v->outbox[i].attempts
			         ? _("retry")
			         : pd_invite_state_label(v->outbox[i].state);
	return st;
}

/* The console user a synced user is linked to (by email), or the synced
 * user linked to a console user; NULL when none. */
static const pd_user *link_of(const struct cview *v, const pd_user *u)
{
	for (size_t i = 0; i < v->n_users; i++) {
		const pd_user *o = &v->users[i];
		if (u->synced && u->linked_user_id && o->id == u->linked_user_id)
			return o;
		if (!u->synced && o->synced && o->linked_user_id == u->id)
			return o;
	}
	return NULL;
}

/* "PBX ↔ Hélène Dupré", "PBX only", "console ↔ PBX 1001", "console" */
static void link_text(const struct cview *v, const pd_user *u, char *out, size_t n)
{
	const pd_user *o = link_of(v, u);
	if (u->synced)
		pd_snprintf(out, n, o ? _("PBX ↔ %s") : _("PBX only"), o ? o->display_name : "");
	else if (o)
		pd_snprintf(out, n, _("console ↔ PBX %s"),
		            o->endpoint ? o->endpoint : o->display_name);
	else
		pd_snprintf(out, n, "console");
}

enum { UC_N = 6 };
/* The Users tab's cells of one user, as listed, filtered and exported. */
static void user_cells(struct ui_app *app, struct cview *v, const pd_user *u, char name[200],
                       char link[200], const char *t[UC_N])
{
	const pd_role *role = u->role ? pd_catalogue_role(app->cat, u->role) : NULL;
	link_text(v, u, link, 200);
	pd_snprintf(name, 200, "%s%s", u->display_name, u->primary ? " ★" : "");
	t[0] = name;
	t[1] = u->email ? u->email : "";
	t[2] = u->extension ? u->extension : u->endpoint ? u->endpoint : "";
	t[3] = role ? pd_catalogue_text(role->name) : u->role ? u->role : _("(no access)");
	t[4] = link;
	t[5] = u->synced ? "" : invite_of(v, u);
}

static void users_refilter(struct ui_app *app, struct cview *v)
{
	free(v->ushown);
	v->ushown = xcalloc(v->n_users ? v->n_users : 1, sizeof *v->ushown);
	v->n_ushown = 0;
	bool sel_shown = false;
	for (size_t i = 0; i < v->n_users; i++) {
		char name[200], link[200];
		const char *t[UC_N];
		user_cells(app, v, &v->users[i], name, link, t);
		if (!ui_list_filter_match(&v->ufilter, t, UC_N))
			continue;
		sel_shown |= i == v->sel[CV_USERS];
		v->ushown[v->n_ushown++] = i;
	}
	/* the selection is always a user the list shows */
	if (!sel_shown && v->n_ushown)
		v->sel[CV_USERS] = v->ushown[0];
}

/* The selected user's position in the shown list. */
static size_t users_pos(const struct cview *v)
{
	for (size_t k = 0; k < v->n_ushown; k++)
		if (v->ushown[k] == v->sel[CV_USERS])
			return k;
	return 0;
}

static void draw_users(struct ui_screen *s, struct cview *v, int y0)
{
	WINDOW *w = s->win;
	struct ui_app *app = s->app;
	enum { NC = 6 };
	/* Name takes what is left (15 cells at 80 columns); past 18 cells of
	 * name, Source / link then Role grow to their longest usual texts
	 * ("console ↔ PBX 1001", "Customer Administrator"): both at 100 */
	int cw[NC] = {0, 22, 6, 14, 16, 7};
	int fixed = NC - 1;
	for (int i = 1; i < NC; i++)
		fixed += cw[i];
	int extra = s->w - fixed - 18;
	const struct {
		int col, most;
	} grow[] = {{4, 4}, {3, 8}, {4, 8}};
	for (size_t g = 0; g < sizeof grow / sizeof grow[0] && extra > 0; g++) {
		int add = extra < grow[g].most ? extra : grow[g].most;
		cw[grow[g].col] += add;
		extra -= add;
	}
	fixed = NC - 1;
	for (int i = 1; i < NC; i++)
		fixed += cw[i];
	cw[0] = s->w - fixed > 12 ? s->w - fixed : 12;
	const char *hd[NC] = {_("Name"), _("Email"),         _("Ext"),
	                      _("Role"), _("Source / link"), _("Invite")};
	int x = 0;
	ui_fill(w, y0, 0, s->w, ui_role(UI_R_GRID_HEADER));
	for (int i = 0; i < NC; i++) {
		ui_put(w, y0, x, cw[i], hd[i], ui_role(UI_R_GRID_HEADER), true);
		x += cw[i] + 1;
	}
	int rows = s->h - y0 - 2;
	if (v->ufilter.text[0] || v->ufilter.editing) {
		ui_list_filter_draw(&v->ufilter, w, y0 + 1, 0, s->w);
		y0++;
		rows--;
	}
	/* scrolled over the shown users: positions, not indexes */
	size_t pos = users_pos(v);
	if (pos < v->top[CV_USERS])
		v->top[CV_USERS] = pos;
	if (rows > 0 && pos >= v->top[CV_USERS] + (size_t)rows)
		v->top[CV_USERS] = pos - (size_t)rows + 1;
	size_t top = v->top[CV_USERS];
	if (!v->n_users)
		ui_put(w, y0 + 1, 1, s->w - 2, _("No users. + adds one."), ui_role(UI_R_NOTE),
		       false);
	else if (!v->n_ushown)
		ui_put(w, y0 + 1, 1, s->w - 2, _("No user matches the filter (Esc clears it)."),
		       ui_role(UI_R_NOTE), false);
	for (int r = 0; r < rows && top + (size_t)r < v->n_ushown; r++) {
		size_t i = v->ushown[top + (size_t)r];
		const pd_user *u = &v->users[i];
		bool sel = i == v->sel[CV_USERS];
		attr_t a = ui_role(sel ? UI_R_GRID_SELECTED : UI_R_GRID_ROW);
		ui_fill(w, y0 + 1 + r, 0, s->w, a);
		char name[200], link[200];
		const char *t[NC];
		user_cells(app, v, u, name, link, t);
		x = 0;
		for (int c = 0; c < NC; c++) {
			ui_put(w, y0 + 1 + r, x, cw[c], t[c], a, false);
			x += cw[c] + 1;
		}
	}
	ui_put(w, s->h - 1, 1, s->w - 2,
	       _("+: add · e: edit · d: remove · R: role · i: resend · /: filter · x: export"),
	       ui_role(UI_R_NOTE), false);
}

/* The sub-account of a live agent interface or caller number ("PJSIP/1001",
 * "1001@default", "1001"): its user's, from the live users. */
static const char *live_sub_of(const pd_live_view *lv, const char *who)
{
	if (!who)
		return NULL;
	const char *slash = strrchr(who, '/');
	const char *ep = slash ? slash + 1 : who;
	for (size_t i = 0; i < lv->n_users; i++)
		if (lv->users[i].endpoint && !strcmp(lv->users[i].endpoint, ep))
			return lv->users[i].sub_account;
	return NULL;
}

/* The sub-account of a live call: its agent's (by the agent's name, then
 * its interface), else its caller's when the caller is a user (outbound). */
static const char *live_call_sub(const pd_live_view *lv, const pd_live_call *c)
{
	for (size_t i = 0; c->agent && i < lv->n_agents; i++)
		if (lv->agents[i].name && !strcmp(lv->agents[i].name, c->agent))
			return live_sub_of(lv, lv->agents[i].interface);
	return live_sub_of(lv, c->from);
}

static bool same(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

/* PBX tab: the sub-accounts (contexts/groups found by auto-provisioning),
 * each with its users and, from the live state, its calls and agents
 * available; as many as fit above the key hints. */
static void draw_sub_accounts(struct ui_screen *s, struct cview *v, const pd_live_view *lv, int y)
{
	WINDOW *w = s->win;
	int last = s->h - 2;
	if (!v->n_subs || y > last)
		return;
	char buf[400];
	if (lv) {
		size_t calls = 0, waiting = 0, avail = 0;
		for (size_t i = 0; i < lv->n_calls; i++) {
			calls += lv->calls[i].state != PD_CALL_ENDED;
			waiting += lv->calls[i].state == PD_CALL_QUEUED;
		}
		for (size_t i = 0; i < lv->n_agents; i++)
			avail += lv->agents[i].state == PD_AGENT_AVAILABLE;
		pd_snprintf(buf, sizeof buf,
		            _("Sub-accounts (%zu) · live: %zu call%s (%zu waiting) · %zu agent%s "
		              "available%s"),
		            v->n_subs, calls, calls == 1 ? "" : "s", waiting, avail,
		            avail == 1 ? "" : "s", lv->stale ? _(" · stale") : "");
	} else {
		pd_snprintf(buf, sizeof buf, _("Sub-accounts (%zu) · nothing live"), v->n_subs);
	}
	ui_put(w, y++, 1, s->w - 2, buf, ui_role(UI_R_LABEL) | A_BOLD, false);
	/* a line for the counts and one for the users while they fit (80x24
	 * has room for two or three), else the users follow the counts */
	bool two_lines = (size_t)(last - y + 1) >= 2 * v->n_subs;
	for (size_t k = 0; k < v->n_subs && y <= last; k++) {
		if (y == last && k + 1 < v->n_subs) {
			pd_snprintf(buf, sizeof buf, _("… and %zu more (l: live, Tab: users)"),
			            v->n_subs - k);
			ui_put(w, y++, 2, s->w - 3, buf, ui_role(UI_R_NOTE), false);
			break;
		}
		const char *name = v->subs[k].name;
		size_t users = 0;
		pd_buf who = {0};
		for (size_t i = 0; i < v->n_users; i++) {
			const pd_user *u = &v->users[i];
			if (!u->synced || !same(u->sub_account, name))
				continue;
			users++;
			pd_buf_printf(&who, "%s%s", who.len ? ", " : "", u->display_name);
			if (u->endpoint)
				pd_buf_printf(&who, " %s", u->endpoint);
		}
		if (lv) {
			size_t calls = 0, avail = 0;
			for (size_t i = 0; i < lv->n_calls; i++)
				calls += lv->calls[i].state != PD_CALL_ENDED &&
				         same(live_call_sub(lv, &lv->calls[i]), name);
			for (size_t i = 0; i < lv->n_agents; i++)
				avail += lv->agents[i].state == PD_AGENT_AVAILABLE &&
				         same(live_sub_of(lv, lv->agents[i].interface), name);
			pd_snprintf(buf, sizeof buf,
			            _("%s · %zu user%s · %zu call%s · %zu available"), name, users,
			            users == 1 ? "" : "s", calls, calls == 1 ? "" : "s", avail);
		} else {
			pd_snprintf(buf, sizeof buf, _("%s · %zu user%s"), name, users,
			            users == 1 ? "" : "s");
		}
		char *list = pd_buf_steal(&who);
		int x = 2 + ui_put(w, y, 2, s->w - 3, buf, ui_role(UI_R_NORMAL) | A_BOLD, false);
		if (!two_lines && *list && x + 4 < s->w - 1) {
			ui_put(w, y, x, 2, ": ", ui_role(UI_R_NORMAL), false);
			ui_put(w, y, x + 2, s->w - 1 - (x + 2), list, ui_role(UI_R_NOTE), false);
		}
		y++;
		if (two_lines && *list)
			ui_put(w, y++, 4, s->w - 5, list, ui_role(UI_R_NOTE), false);
		free(list);
	}
}

static void draw_pbx(struct ui_screen *s, struct cview *v, int y0)
{
	WINDOW *w = s->win;
	attr_t n = ui_role(UI_R_NORMAL);
	int y = y0;
	if (!v->has_pbx) {
		ui_put(w, y, 1, s->w - 2,
		       _("No PBX connection. + adds one (it may be created disabled)."),
		       ui_role(UI_R_NOTE), false);
		return;
	}
	const pd_pbx *p = &v->pbx;
	char buf[300];
	const pd_platform *pl = pd_catalogue_platform(s->app->cat, p->platform);
	kv(w, y++, s->w, _("Platform"), pl ? pd_catalogue_text(pl->name) : p->platform, n);
	kv(w, y++, s->w, _("Template"), p->template_name ? p->template_name : "—", n);
	pd_snprintf(buf, sizeof buf, "%s:%d%s", p->host ? p->host : "", p->port,
	            p->tls ? _(" (TLS)") : "");
	kv(w, y++, s->w, _("Host"), buf, n);
	/* FreeSWITCH's event socket has a password only: no Username row */
	if (!pl || pd_platform_field_get(pl, "username") || p->username)
		kv(w, y++, s->w, _("Username"), p->username, n);
	for (size_t i = 0; pl && i < pl->n_fields; i++) {
		if (!pd_platform_field_is_extra(&pl->fields[i]))
			continue;
		char *t = ui_platform_fields_text(&pl->fields[i], p->params_json);
		kv(w, y++, s->w,
		   pl->fields[i].label ? pd_catalogue_text(pl->fields[i].label) : pl->fields[i].key,
		   t, n);
		free(t);
	}
	kv(w, y++, s->w, _("Secret"), _("******** (never shown; edit to replace)"),
	   ui_role(UI_R_NOTE));
	kv(w, y++, s->w, _("Enabled"),
	   p->enabled ? _("yes") : _("no — nothing connects until enabled"),
	   ui_role(p->enabled ? UI_R_STATUS_OK : UI_R_STATUS_WARN));
	kv(w, y++, s->w, _("Sync users"), p->sync_users ? _("yes") : _("no"), n);
	kv(w, y++, s->w, _("Monitor"), p->monitor ? _("calls and agent status") : _("no"), n);
	kv(w, y++, s->w, _("Sub-accounts"),
	   p->auto_provision ? _("auto-provisioned (set at creation)") : _("no"), n);
	/* the link's live state when this console's monitor knows it (the
	 * words and countdown of the grid and the live panel), else the
	 * stored one */
	pd_live *lv = ui_services_live(s->app);
	pd_live_view live;
	bool have = lv && pd_live_snapshot(lv, v->id, &live) == PD_OK;
	int64_t now = pd_live_now_ms();
	if (have) {
		ui_live_link_text(&live, now, buf, sizeof buf);
		kv(w, y++, s->w, _("Status"), buf, ui_role(ui_live_link_role(live.link)));
	} else if (v->has_status) {
		/* with its age; a state no running monitor stands behind says so */
		int64_t wall = pd_now();
		bool fresh = !p->enabled ||
		             pd_pbx_status_fresh(v->status.monitored, v->status.updated_at, wall);
		char age[48], state[200], err[256];
		pd_age_text(v->status.updated_at, wall, age, sizeof age);
		if (!fresh)
			pd_pbx_stale_text(pd_link_state_label(v->status.link), v->status.updated_at,
			                  wall, state, sizeof state);
		else /* the monitor's pd_msg */
			pd_msg_text(v->status.state ? v->status.state : "—", state, sizeof state);
		pd_snprintf(buf, sizeof buf, "%s%s%s%s%s", state, fresh ? ", " : "",
		            fresh ? age : "", v->status.last_error ? " — " : "",
		            pd_msg_text(v->status.last_error, err, sizeof err));
		kv(w, y++, s->w, _("Status"), buf,
		   ui_role(ui_live_link_role(fresh ? v->status.link : PD_LINK_DISABLED)));
	} else {
		kv(w, y++, s->w, _("Status"),
		   p->enabled ? _("— (no monitor running)") : _("disabled"), n);
	}
	/* a resync's progress (done/total) or result, in place */
	enum ui_role rr = UI_R_NOTE;
	const char *rs = ui_services_resync_text(s->app, v->id, &rr);
	bool resyncing = ui_services_resync_active(s->app, v->id);
	if (*rs) {
		char *t = xasprintf("%s%s", rs, resyncing ? _(" · Esc cancels") : "");
		kv(w, y++, s->w, _("Resync"), t, ui_role(rr));
		free(t);
	}
	/* the link's retry countdown and a resync's progress run on their own */
	s->ticks = (have && pd_link_state_retries(live.link)) || resyncing;
	draw_sub_accounts(s, v, have ? &live : NULL, y + 1);
	if (have)
		pd_live_free_view(&live);
	ui_put(w, s->h - 1, 1, s->w - 2,
	       _("e: edit settings · E: enable/disable (asks) · l: live · s: resync"),
	       ui_role(UI_R_NOTE), false);
}

static void draw_roles(struct ui_screen *s, struct cview *v, int y0)
{
	WINDOW *w = s->win;
	const pd_catalogue *cat = s->app->cat;
	int y = y0;
	for (size_t r = 0; r < cat->n_roles && y < s->h - 1; r++) {
		const pd_role *role = &cat->roles[r];
		char head[300];
		pd_snprintf(head, sizeof head, "%s%s — %s", pd_catalogue_text(role->name),
		            role->manages_users ? _(" (manages users)") : "",
		            role->description ? pd_catalogue_text(role->description) : "");
		ui_put(w, y++, 1, s->w - 2, head, ui_role(UI_R_LABEL) | A_BOLD, false);
		pd_buf b = {0};
		for (size_t i = 0; i < v->n_users; i++)
			if (v->users[i].role && strcmp(v->users[i].role, role->key) == 0)
				pd_buf_printf(&b, "%s%s", b.len ? ", " : "",
				              v->users[i].display_name);
		char *who = pd_buf_steal(&b);
		ui_put(w, y++, 3, s->w - 4, *who ? who : _("(nobody)"), ui_role(UI_R_NORMAL),
		       false);
		free(who);
	}
	size_t none = 0;
	for (size_t i = 0; i < v->n_users; i++)
		none += !v->users[i].role || !*v->users[i].role;
	if (y < s->h - 1) {
		char buf[120];
		pd_snprintf(buf, sizeof buf,
		            _("Without a role (no access, calls still attributed): %zu"), none);
		ui_put(w, y + 1, 1, s->w - 2, buf, ui_role(UI_R_NOTE), false);
	}
}

static void draw_activity(struct ui_screen *s, struct cview *v, int y0)
{
	ui_audit_pane_draw(&v->act, s->win, y0, s->h - y0, s->w);
}

static void cv_draw(struct ui_screen *s)
{
	struct cview *v = s->priv;
	WINDOW *w = s->win;
	char title[300];
	pd_snprintf(title, sizeof title, _("Customer: %s  [%s]"), v->c.name,
	            ui_customer_status_label(pd_customer_status_of(&v->c, pd_today())));
	ui_fill(w, 0, 0, s->w, ui_role(UI_R_TITLE));
	ui_put(w, 0, 1, s->w - 2, title, ui_role(UI_R_TITLE), false);
	int x = 1;
	ui_fill(w, 1, 0, s->w, ui_role(UI_R_TAB));
	for (int t = 0; t < CV_TABS; t++) {
		char lab[40];
		pd_snprintf(lab, sizeof lab, " %s ", pd_tr(tab_names[t]));
		x += ui_put(w, 1, x, s->w - x, lab,
		            ui_role(t == v->tab ? UI_R_TAB_ACTIVE : UI_R_TAB), false) +
		     1;
	}
	if (v->err[0])
		ui_put(w, 2, 1, s->w - 2, v->err, ui_role(UI_R_STATUS_ERROR), false);
	int y0 = 3;
	s->ticks = false; /* the PBX tab ticks while its link counts down */
	switch (v->tab) {
	case CV_DETAILS:
		draw_details(s, v, y0);
		break;
	case CV_USERS:
		draw_users(s, v, y0);
		break;
	case CV_PBX:
		draw_pbx(s, v, y0);
		break;
	case CV_ROLES:
		draw_roles(s, v, y0);
		break;
	case CV_ACTIVITY:
		draw_activity(s, v, y0);
		break;
	}
}

/* A destructive action waiting for its y/n (ui_dialog_confirm, default No). */
struct cv_ask {
	int64_t id; /* the user (resend) or the customer (PBX link) */
	bool enable;
};

static void resend_done(struct ui_app *app, void *ctx, bool ok, const char *text)
{
	struct cv_ask *k = ctx;
	if (ok) {
		pd_err e;
		pd_err_clear(&e);
		bool already = false;
		pd_user u;
		bool named = store_user_get(app->store, k->id, &u, &e) == PD_OK;
		pd_err_clear(&e);
		if (store_outbox_resend_user_ex(app->store, k->id, &app->actor, &already, &e) !=
		    PD_OK)
			ui_show_err(app, _("invitation not queued"), &e);
		else
			ui_msg(app, UI_R_STATUS_OK,
			       already ? _("invitation to %s queued (it was already waiting: "
			                   "one mail, sent now)")
			               : _("invitation to %s queued"),
			       named && u.email ? u.email
			       : named          ? u.display_name
			                        : _("the user"));
		if (named)
			pd_user_free(&u);
		ui_app_data_changed(app);
	}
	free(k);
}

static void toggle_done(struct ui_app *app, void *ctx, bool ok, const char *text)
{
	struct cv_ask *k = ctx;
	if (ok) {
		pd_err e;
		pd_err_clear(&e);
		if (store_pbx_set_enabled(app->store, k->id, k->enable, &app->actor, &e) != PD_OK)
			ui_show_err(app,
			            k->enable ? _("PBX connection not enabled")
			                      : _("PBX connection not disabled"),
			            &e);
		else
			ui_msg(app, UI_R_STATUS_OK, "%s",
			       k->enable ? _("PBX connection enabled")
			                 : _("PBX connection disabled"));
		ui_app_data_changed(app);
	}
	free(k);
}

static int cv_key(struct ui_screen *s, const struct ui_event *ev);

/* A click on a tab's label switches to it, as its digit does (mouse on);
 * the labels are drawn " 1 Details " from column 1, one space apart. */
static int cv_click(struct ui_screen *s, int y, int x)
{
	if (y != 1)
		return 0;
	int x0 = 1;
	for (int t = 0; t < CV_TABS; t++) {
		int w = ui_text_width(pd_tr(tab_names[t])) + 2;
		if (x >= x0 && x < x0 + w) {
			struct ui_event ev = {.action = (enum ui_action)(UI_A_TAB1 + t)};
			return cv_key(s, &ev);
		}
		x0 += w + 1;
	}
	return 0;
}

static int cv_key(struct ui_screen *s, const struct ui_event *ev)
{
	struct cview *v = s->priv;
	struct ui_app *app = s->app;
	/* H5: Esc during a resync cancels it (nothing of it is written) */
	if (ev->action == UI_A_BACK && !v->ufilter.editing && !v->act.filter.editing &&
	    ui_services_resync_cancel(app, v->id))
		return UI_HANDLED | UI_REDRAW;
	/* a filter being typed takes the printable keys (1-5 are text there) */
	if ((v->tab == CV_USERS && v->ufilter.editing) ||
	    (v->tab == CV_ACTIVITY && v->act.filter.editing)) {
		if (!ev->func && ev->key >= 32 && ev->action != UI_A_BACK)
			goto lists;
	}
	switch (ev->action) {
	case UI_A_NEXT_TAB:
		v->tab = (v->tab + 1) % CV_TABS;
		return UI_HANDLED | UI_REDRAW;
	case UI_A_PREV_TAB:
		v->tab = (v->tab + CV_TABS - 1) % CV_TABS;
		return UI_HANDLED | UI_REDRAW;
	case UI_A_TAB1:
	case UI_A_TAB2:
	case UI_A_TAB3:
	case UI_A_TAB4:
	case UI_A_TAB5:
		v->tab = (int)(ev->action - UI_A_TAB1);
		return UI_HANDLED | UI_REDRAW;
	default:
		break;
	}
lists:
	if (v->tab == CV_USERS) {
		char before[sizeof v->ufilter.text];
		memcpy(before, v->ufilter.text, sizeof before);
		int r = ui_list_filter_key(&v->ufilter, ev, UI_A_TAB_FILTER);
		if (r) {
			if (strcmp(before, v->ufilter.text))
				users_refilter(app, v);
			return r;
		}
		size_t pos = users_pos(v);
		size_t page = s->h > 6 ? (size_t)s->h - 6 : 1;
		r = ui_list_move(&pos, v->n_ushown, page, ev->action);
		if (r) {
			if (v->n_ushown)
				v->sel[CV_USERS] = v->ushown[pos];
			return r;
		}
		if (ev->action == UI_A_TAB_EXPORT) {
			const char *hd[UC_N] = {"name", "email",  "extension",
			                        "role", "source", "invite"};
			struct ui_table *t = ui_table_new(hd, UC_N);
			for (size_t k = 0; k < v->n_ushown; k++) {
				char name[200], link[200];
				const char *c[UC_N];
				user_cells(app, v, &v->users[v->ushown[k]], name, link, c);
				c[0] = v->users[v->ushown[k]].display_name; /* without the ★ */
				ui_table_add(t, c);
			}
			ui_export_ask(app, "users", t);
			return UI_HANDLED;
		}
		/* a filter that hides every user leaves nothing to act on */
		if (!v->n_ushown && v->n_users)
			switch (ev->action) {
			case UI_A_EDIT:
			case UI_A_OPEN:
			case UI_A_REMOVE_USER:
			case UI_A_ROLE:
			case UI_A_RESEND:
				ui_msg(app, UI_R_STATUS_WARN,
				       _("no user shown (Esc clears the filter)"));
				return UI_HANDLED;
			default:
				break;
			}
	}
	if (v->tab == CV_ACTIVITY) {
		size_t page = s->h > 12 ? (size_t)s->h / 2 - 3 : 1;
		int r = ui_audit_pane_key(&v->act, ev, UI_A_TAB_FILTER, page);
		if (r)
			return r;
		if (ev->action == UI_A_TAB_EXPORT) {
			char *what = xasprintf("activity-%lld", (long long)v->id);
			ui_export_ask(app, what, ui_audit_pane_table(&v->act));
			free(what);
			return UI_HANDLED;
		}
	}
	if (ev->action == UI_A_TAB_FILTER || ev->action == UI_A_TAB_EXPORT) {
		ui_msg(app, UI_R_STATUS_WARN, _("the Users and Activity tabs have a list to %s"),
		       ev->action == UI_A_TAB_FILTER ? _("filter") : _("export"));
		return UI_HANDLED;
	}
	bool ro = app->read_only;
	switch (ev->action) {
	case UI_A_LIVE: /* live panels (live/services.h) */
		ui_push(app, &ui_live_ops, &v->id);
		return UI_HANDLED;
	case UI_A_RESYNC:
		if (v->has_pbx) {
			ui_services_resync(app, v->id);
			s->ticks = true; /* the progress row, once a second */
		} else
			ui_msg(app, UI_R_STATUS_WARN, _("no PBX connection to resync"));
		return UI_HANDLED | UI_REDRAW; /* the row shows this resync at once */
	case UI_A_EDIT:
	case UI_A_OPEN:
		if (ro)
			break;
		if (v->tab == CV_DETAILS)
			ui_edit_customer(app, &v->c);
		else if (v->tab == CV_PBX && v->has_pbx)
			cv_pbx_form(app, v, false);
		else if (v->tab == CV_USERS && ev->action == UI_A_OPEN && v->n_users)
			cv_role_pick(app, v);
		else if (v->tab == CV_USERS && v->n_users)
			cv_user_edit_form(app, v);
		return UI_HANDLED;
	case UI_A_REMOVE_USER:
		if (!ro && v->tab == CV_USERS && v->n_users)
			cv_user_remove(app, v);
		return UI_HANDLED;
	case UI_A_ACTIONS:
		if (!ro)
			cv_actions(app, v);
		return UI_HANDLED;
	case UI_A_ADD:
		if (ro)
			break;
		if (v->tab == CV_USERS)
			cv_user_form(app, v);
		else if (v->tab == CV_PBX && !v->has_pbx)
			cv_pbx_form(app, v, true);
		return UI_HANDLED;
	case UI_A_ROLE:
		if (!ro && v->tab == CV_USERS && v->n_users)
			cv_role_pick(app, v);
		return UI_HANDLED;
	case UI_A_RESEND:
		/* a key on the list, never a letter meant for a field: and it
		 * mails a customer, so it asks first (default No) */
		if (!ro && v->tab == CV_USERS && v->n_users) {
			const pd_user *u = &v->users[v->sel[CV_USERS]];
			if (u->synced) {
				ui_msg(app, UI_R_STATUS_WARN,
				       _("%s is synced from the PBX: no invitation to resend"),
				       u->display_name);
				return UI_HANDLED;
			}
			struct cv_ask *k = xcalloc(1, sizeof *k);
			k->id = u->id;
			char *t = xasprintf(_("Send the invitation to %s again?"),
			                    u->email ? u->email : u->display_name);
			ui_dialog_confirm(app, _("Resend the invitation"), t, resend_done, k);
			free(t);
		}
		return UI_HANDLED;
	case UI_A_TOGGLE_ENABLED:
		if (!ro && v->tab == CV_PBX && v->has_pbx) {
			struct cv_ask *k = xcalloc(1, sizeof *k);
			k->id = v->id;
			k->enable = !v->pbx.enabled;
			/* enabling starts what was asked for; disabling stops the
			 * live monitoring and the user sync: that one asks */
			if (k->enable)
				toggle_done(app, k, true, NULL);
			else
				ui_dialog_confirm(
				    app, _("Disable the PBX connection"),
				    _("Disable the PBX connection? Live monitoring and the "
				      "user sync stop until it is enabled again."),
				    toggle_done, k);
		}
		return UI_HANDLED;
	default:
		break;
	}
	if (ro && (ev->action == UI_A_EDIT || ev->action == UI_A_ADD)) {
		ui_msg(app, UI_R_STATUS_WARN, _("read-only console"));
		return UI_HANDLED;
	}
	return 0;
}

static int cv_tick(struct ui_screen *s)
{
	struct cview *v = s->priv;
	if (!ui_services_resync_active(s->app, v->id))
		s->ticks = false; /* this redraw shows the result; the PBX tab's draw
		                   * turns ticks on again while its countdown runs */
	return UI_REDRAW;
}

static int cv_data(struct ui_screen *s)
{
	cv_load(s->app, s->priv);
	return UI_REDRAW;
}

static const char *cv_help(struct ui_screen *s)
{
	return _("A customer. Tab/Shift-Tab or 1-5 switch tabs. Details: e edits, a opens the\n"
	         "actions (trial extend/convert/end, disable/enable, delete by typing the name,\n"
	         "restore). Users: + adds, e edits the selected console user (name, email,\n"
	         "extension), d removes it (asks first; the primary user ★ stays), R assigns a\n"
	         "role, i resends the invitation (asks first). Synced users come from the PBX\n"
	         "(change them there); Source / link shows which console user a synced one is\n"
	         "linked to by email.\n"
	         "PBX: + adds a connection, e edits (the secret is never shown), E enables or\n"
	         "disables it (disabling asks first). These keys act on the tab's list; a\n"
	         "question that could lose work defaults to No.");
}

const struct ui_screen_ops ui_customer_ops = {
    .name = "customer",
    .live = true, /* the PBX tab shows the link's live state and counts */
    .context = UI_CTX_VIEW,
    .create = cv_create,
    .destroy = cv_destroy,
    .layout = cv_layout,
    .draw = cv_draw,
    .handle_key = cv_key,
    .on_click = cv_click,
    .help = cv_help,
    .on_data = cv_data,
    .on_tick = cv_tick,
    .fkeys = N_("F1|Help|F2|Actions|F4|Edit|F7|Add|Esc|Back|F10|Quit"),
};

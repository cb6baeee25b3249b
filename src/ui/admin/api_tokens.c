/* The API tokens screen (T on the grid; docs/user-guide.md, "API tokens in
 * the console"): the live tokens of the HTTP API (name, scope, created, by
 * whom; never a secret: only its SHA-256 is stored), creating one (a name,
 * then a scope; the secret shown once in a dialog) and revoking one (asks
 * first). The same store functions as `provdesk api-token`, so the audit
 * log and the rules (a name's characters, one live token per name) are
 * theirs. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "provdesk/store_api.h"
#include "ui_internal.h"

struct toklist {
	pd_api_token *t;
	size_t n, sel, top;
	char err[600];
};

static void tk_load(struct ui_app *app, struct toklist *l)
{
	pd_err e;
	pd_err_clear(&e);
	pd_api_tokens_free(l->t, l->n);
	l->t = NULL;
	l->n = 0;
	l->err[0] = 0;
	if (!app->store || store_api_token_list(app->store, false, &l->t, &l->n, &e) != PD_OK)
		pd_snprintf(l->err, sizeof l->err, "%.500s",
		            app->store ? e.message : _("database unavailable"));
	if (l->sel >= l->n)
		l->sel = l->n ? l->n - 1 : 0;
}

static pd_status tk_create(struct ui_screen *s, void *arg, pd_err *e)
{
	(void)arg;
	(void)e;
	struct toklist *l = xcalloc(1, sizeof *l);
	s->priv = l;
	tk_load(s->app, l);
	return PD_OK;
}

static void tk_destroy(struct ui_screen *s)
{
	struct toklist *l = s->priv;
	pd_api_tokens_free(l->t, l->n);
	free(l);
}

static void tk_layout(struct ui_screen *s)
{
	ui_screen_window(s, s->y, s->x, s->h, s->w);
}

static void when(int64_t at, char out[20])
{
	time_t t = (time_t)at;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 20, "%Y-%m-%d %H:%M", &tm);
}

static void tk_draw(struct ui_screen *s)
{
	struct toklist *l = s->priv;
	WINDOW *w = s->win;
	ui_fill(w, 0, 0, s->w, ui_role(UI_R_TITLE));
	ui_put(w, 0, 1, s->w - 2, _("API tokens — the client systems of the HTTP API"),
	       ui_role(UI_R_TITLE), false);
	ui_fill(w, 1, 0, s->w, ui_role(UI_R_GRID_HEADER));
	char head[200];
	pd_snprintf(head, sizeof head, "%-24s %-10s %-17s %s", _("Name"), _("Scope"),
	            _("Created (UTC)"), _("Created by"));
	ui_put(w, 1, 0, s->w, head, ui_role(UI_R_GRID_HEADER), false);
	if (l->err[0])
		ui_put(w, 2, 1, s->w - 2, l->err, ui_role(UI_R_STATUS_ERROR), false);
	else if (!l->n)
		ui_put(w, 2, 1, s->w - 2, _("No API tokens. a or + creates one."),
		       ui_role(UI_R_NOTE), false);
	int rows = s->h - 3;
	if (l->sel < l->top)
		l->top = l->sel;
	if (rows > 0 && l->sel >= l->top + (size_t)rows)
		l->top = l->sel - (size_t)rows + 1;
	for (int r = 0; r < rows && l->top + (size_t)r < l->n; r++) {
		const pd_api_token *t = &l->t[l->top + (size_t)r];
		char at[20];
		when(t->created_at, at);
		char *name = ui_cut(t->name, 24),
		     *by = ui_cut(t->created_by ? t->created_by : "", 30);
		char *line = xasprintf("%s%*s %-10s %-17s %s", name, 24 - pd_utf8_width(name), "",
		                       pd_api_scope_name(t->scope), at, by);
		bool sel = l->top + (size_t)r == l->sel;
		ui_put(w, 2 + r, 0, s->w, line, ui_role(sel ? UI_R_GRID_SELECTED : UI_R_GRID_ROW),
		       true);
		free(line);
		free(name);
		free(by);
	}
	ui_put(w, s->h - 1, 1, s->w - 2, _("a: create · d: revoke · Esc: back"), ui_role(UI_R_NOTE),
	       false);
}

/* ---- create: a name, then a scope, then the secret once ---- */

static void scope_done(struct ui_app *app, void *ctx, bool ok, const char *value)
{
	char *name = ctx;
	pd_api_scope scope;
	if (ok && value && pd_api_scope_parse(value, &scope)) {
		pd_err e;
		pd_err_clear(&e);
		char *secret = NULL;
		pd_api_token t = {0};
		if (store_api_token_create(app->store, name, scope, &app->actor, &secret, &t, &e) !=
		    PD_OK) {
			ui_show_err(app, _("create the API token"), &e);
		} else {
			char *text = xasprintf(
			    _("Token '%s' (scope %s) created. Give this secret to the client "
			      "system "
			      "(Authorization: Bearer SECRET):\n\n%s\n\nCopy it now: it will not "
			      "be "
			      "shown again. Only its hash is kept; a lost secret is revoked and a "
			      "new "
			      "token created."),
			    t.name, pd_api_scope_name(t.scope), secret);
			ui_dialog_message(app, _("API token created — shown once"), text);
			memset(text, 0, strlen(text));
			free(text);
			memset(secret, 0, strlen(secret));
			free(secret);
			pd_api_token_free(&t);
			ui_msg(app, UI_R_STATUS_OK, _("API token '%s' created"), name);
		}
		ui_app_data_changed(app);
	}
	free(name);
}

static void name_done(struct ui_app *app, void *ctx, bool ok, const char *text)
{
	(void)ctx;
	if (!ok || !text)
		return;
	pd_err e;
	pd_err_clear(&e);
	char *name = pd_trim(text);
	if (pd_check_api_token_name(name, &e) != PD_OK) {
		ui_show_err(app, _("create the API token"), &e);
		free(name);
		return;
	}
	static const char *const keys[] = {"read", "provision", "billing"};
	static const char *const labels[] = {
	    N_("read — customers, users, catalogue, PBX state, events"),
	    N_("provision — read, and every change"),
	    N_("billing — the billing export and the catalogue"),
	};
	struct ui_choice c[3];
	for (int i = 0; i < 3; i++) {
		c[i].value = (char *)keys[i];
		c[i].label = (char *)_(labels[i]);
	}
	ui_dialog_pick(app, _("Scope of the new token"), c, 3, "read", NULL, NULL, scope_done,
	               name);
}

/* ---- revoke ---- */

static void revoke_done(struct ui_app *app, void *ctx, bool ok, const char *text)
{
	(void)text;
	char *name = ctx;
	if (ok) {
		pd_err e;
		pd_err_clear(&e);
		if (store_api_token_revoke(app->store, name, &app->actor, &e) != PD_OK)
			ui_show_err(app, _("revoke"), &e);
		else
			ui_msg(app, UI_R_STATUS_OK, _("API token '%s' revoked"), name);
		ui_app_data_changed(app);
	}
	free(name);
}

static int tk_key(struct ui_screen *s, const struct ui_event *ev)
{
	struct toklist *l = s->priv;
	struct ui_app *app = s->app;
	switch (ev->action) {
	case UI_A_UP:
		if (l->sel)
			l->sel--;
		return UI_HANDLED | UI_REDRAW;
	case UI_A_DOWN:
		if (l->sel + 1 < l->n)
			l->sel++;
		return UI_HANDLED | UI_REDRAW;
	case UI_A_HOME:
		l->sel = 0;
		return UI_HANDLED | UI_REDRAW;
	case UI_A_END:
		l->sel = l->n ? l->n - 1 : 0;
		return UI_HANDLED | UI_REDRAW;
	case UI_A_LIST_ADD:
		if (!app->read_only && app->store)
			ui_dialog_prompt(app, _("New API token"),
			                 _("Name of the client system (letters, digits, . _ -):"),
			                 "", false, name_done, NULL);
		return UI_HANDLED;
	case UI_A_LIST_DELETE:
		if (!app->read_only && l->n) {
			char *t = xasprintf(_("Revoke the API token '%s'? The system using it is "
			                      "refused from its next request."),
			                    l->t[l->sel].name);
			ui_dialog_confirm(app, _("Revoke API token"), t, revoke_done,
			                  xstrdup(l->t[l->sel].name));
			free(t);
		}
		return UI_HANDLED;
	default:
		return 0;
	}
}

static int tk_data(struct ui_screen *s)
{
	tk_load(s->app, s->priv);
	return UI_REDRAW;
}

static const char *tk_help(struct ui_screen *s)
{
	(void)s;
	return _("API tokens let another system (a CRM, billing) call the HTTP API that provdesk "
	         "serve runs when [api] listen is set. Each has a name (it appears as \"api:NAME\" "
	         "in "
	         "the audit log) and a scope: read, provision (read and every change) or billing. "
	         "a or + creates one: its secret is shown once, in a dialog, and never again (only "
	         "its hash is kept). d revokes the selected token after asking. The command line "
	         "does the same: provdesk api-token create|list|revoke.");
}

const struct ui_screen_ops ui_api_tokens_ops = {
    .name = "api-tokens",
    .context = UI_CTX_LIST,
    .create = tk_create,
    .destroy = tk_destroy,
    .layout = tk_layout,
    .draw = tk_draw,
    .handle_key = tk_key,
    .on_data = tk_data,
    .help = tk_help,
    .fkeys = N_("F1|Help|F7|Create|F8|Revoke|Esc|Back|F10|Quit"),
};

/* PBX templates: the list (add, edit, delete) and the template form. */
#include <stdlib.h>
#include <string.h>

#include "ui_internal.h"

struct tlist {
	pd_template *t;
	size_t n, sel, top;
	char err[600];
};

static void tl_load(struct ui_app *app, struct tlist *l)
{
	pd_err e;
	for (size_t i = 0; i < l->n; i++)
		pd_template_free(&l->t[i]);
	free(l->t);
	l->t = NULL;
	l->n = 0;
	l->err[0] = 0;
	if (!app->store || store_template_list(app->store, &l->t, &l->n, &e) != PD_OK)
		pd_snprintf(l->err, sizeof l->err, "%.500s",
		            app->store ? e.message : _("database unavailable"));
	if (l->sel >= l->n)
		l->sel = l->n ? l->n - 1 : 0;
}

static pd_status tl_create(struct ui_screen *s, void *arg, pd_err *e)
{
	struct tlist *l = xcalloc(1, sizeof *l);
	s->priv = l;
	tl_load(s->app, l);
	return PD_OK;
}

static void tl_destroy(struct ui_screen *s)
{
	struct tlist *l = s->priv;
	for (size_t i = 0; i < l->n; i++)
		pd_template_free(&l->t[i]);
	free(l->t);
	free(l);
}

static void tl_layout(struct ui_screen *s)
{
	ui_screen_window(s, s->y, s->x, s->h, s->w);
}

static void tl_draw(struct ui_screen *s)
{
	struct tlist *l = s->priv;
	WINDOW *w = s->win;
	ui_fill(w, 0, 0, s->w, ui_role(UI_R_TITLE));
	ui_put(w, 0, 1, s->w - 2, _("PBX templates — defaults for new PBX connections"),
	       ui_role(UI_R_TITLE), false);
	ui_fill(w, 1, 0, s->w, ui_role(UI_R_GRID_HEADER));
	char head[200];
	pd_snprintf(head, sizeof head, "%-20s %-18s %-26s %-4s %s", _("Name"), _("Platform"),
	            _("Host:port"), "TLS", _("Username"));
	ui_put(w, 1, 0, s->w, head, ui_role(UI_R_GRID_HEADER), false);
	if (l->err[0])
		ui_put(w, 2, 1, s->w - 2, l->err, ui_role(UI_R_STATUS_ERROR), false);
	else if (!l->n)
		ui_put(w, 2, 1, s->w - 2, _("No templates. a or + adds one."), ui_role(UI_R_NOTE),
		       false);
	int rows = s->h - 3;
	if (l->sel < l->top)
		l->top = l->sel;
	if (rows > 0 && l->sel >= l->top + (size_t)rows)
		l->top = l->sel - (size_t)rows + 1;
	for (int r = 0; r < rows && l->top + (size_t)r < l->n; r++) {
		const pd_template *t = &l->t[l->top + (size_t)r];
		char hp[300], *line;
		pd_snprintf(hp, sizeof hp, "%s:%d", t->host ? t->host : "", t->port);
		char *name = ui_cut(t->name, 20), *pl = ui_cut(t->platform, 18),
		     *hpc = ui_cut(hp, 26);
		/* pad by cells, not bytes */
		line = xasprintf("%s%*s %s%*s %s%*s %-4s %s", name, 20 - pd_utf8_width(name), "",
		                 pl, 18 - pd_utf8_width(pl), "", hpc, 26 - pd_utf8_width(hpc), "",
		                 t->tls ? _("yes") : _("no"), t->username ? t->username : "");
		bool sel = l->top + (size_t)r == l->sel;
		ui_put(w, 2 + r, 0, s->w, line, ui_role(sel ? UI_R_GRID_SELECTED : UI_R_GRID_ROW),
		       true);
		free(line);
		free(name);
		free(pl);
		free(hpc);
	}
	ui_put(w, s->h - 1, 1, s->w - 2, _("a: add · e/Enter: edit · d: delete · Esc: back"),
	       ui_role(UI_R_NOTE), false);
}

enum { T_NAME, T_PLATFORM, T_HOST, T_PORT, T_TLS, T_USER, T__N };
static const struct ui_fspec tpl_spec[T__N] = {
    [T_NAME] = {"name", N_("Name"), UI_F_TEXT, 30, 1, 64, NULL},
    [T_PLATFORM] = {"platform", N_("Platform"), UI_F_CHOICE, 24, 1, 0, NULL},
    [T_HOST] = {"host", N_("Host"), UI_F_TEXT, 30, 1, 253, NULL},
    [T_PORT] = {"port", N_("Port"), UI_F_TEXT, 6, 1, 5, NULL},
    [T_TLS] = {"tls", "TLS", UI_F_TOGGLE, 8, 1, 0, NULL},
    [T_USER] = {"username", N_("Username"), UI_F_TEXT, 24, 1, 128, NULL},
};

struct tpl_ctx {
	struct ui_app *app;
	pd_template orig;
	bool create;
	struct ui_platform_fields extra; /* the platform's own parameters, after T__N */
};

static void form_to_tpl(struct ui_form *f, struct tpl_ctx *x, pd_template *t)
{
	memset(t, 0, sizeof *t);
	if (!x->create) {
		t->id = x->orig.id;
		t->version = x->orig.version;
	}
	t->name = pd_trim(ui_form_get(f, T_NAME));
	t->platform = xstrdup(ui_form_get(f, T_PLATFORM));
	t->params_json = ui_platform_fields_params(&x->extra, f, t->platform,
	                                           x->create ? NULL : x->orig.params_json);
	t->host = xstrdup(ui_form_get(f, T_HOST));
	char *end;
	const char *ps = ui_form_get(f, T_PORT);
	long port = strtol(ps, &end, 10);
	t->port = *ps && !*end && port > 0 && port < 65536 ? (int)port : -1;
	t->tls = ui_form_get_bool(f, T_TLS);
	t->username = xstrdup(ui_form_get(f, T_USER));
}

static pd_status tpl_check(struct ui_form *f, int idx, void *vctx, pd_err *e)
{
	struct tpl_ctx *x = vctx;
	if (idx == T_PORT) {
		const char *v = ui_form_get(f, T_PORT);
		char *end;
		long port = strtol(v, &end, 10);
		if (*v && (*end || port < 1 || port > 65535))
			return pd_fail(e, PD_E_INVALID, "port",
			               _("port: a number from 1 to 65535"));
	}
	pd_template t;
	form_to_tpl(f, x, &t);
	pd_err e2;
	pd_err_clear(&e2);
	pd_status st = pd_template_check(x->app->cat, &t, &e2);
	pd_template_free(&t);
	if (st != PD_OK && strcmp(e2.field, x->extra.spec[idx].key) == 0) {
		*e = e2;
		return st;
	}
	return PD_OK;
}

static void tpl_init(struct ui_form *f, void *vctx)
{
	struct tpl_ctx *x = vctx;
	const pd_catalogue *cat = x->app->cat;
	struct ui_choice *c = xcalloc(cat->n_platforms ? cat->n_platforms : 1, sizeof *c);
	for (size_t i = 0; i < cat->n_platforms; i++) {
		c[i].value = xstrdup(cat->platforms[i].key);
		c[i].label = xstrdup(pd_catalogue_text(cat->platforms[i].name));
	}
	ui_form_set_choices(f, T_PLATFORM, c, cat->n_platforms);
	ui_choices_free(c, cat->n_platforms);
	if (x->create) {
		ui_form_set(f, T_PLATFORM, cat->n_platforms ? cat->platforms[0].key : "");
		ui_form_set(f, T_TLS, "no");
		ui_platform_fields_load(&x->extra, f, ui_form_get(f, T_PLATFORM), NULL);
		ui_platform_fields_show(&x->extra, f, ui_form_get(f, T_PLATFORM));
		return;
	}
	char port[16];
	pd_snprintf(port, sizeof port, "%d", x->orig.port);
	ui_form_set(f, T_NAME, x->orig.name);
	ui_form_set_readonly(f, T_NAME, true);
	ui_form_set(f, T_PLATFORM, x->orig.platform);
	ui_form_set(f, T_HOST, x->orig.host);
	ui_form_set(f, T_PORT, x->orig.port > 0 ? port : "");
	ui_form_set(f, T_TLS, x->orig.tls ? "yes" : "no");
	ui_form_set(f, T_USER, x->orig.username);
	ui_platform_fields_load(&x->extra, f, x->orig.platform, x->orig.params_json);
	ui_platform_fields_show(&x->extra, f, x->orig.platform);
}

static void tpl_changed(struct ui_form *f, int idx, void *vctx)
{
	struct tpl_ctx *x = vctx;
	if (idx == T_PLATFORM)
		ui_platform_fields_show(&x->extra, f, ui_form_get(f, T_PLATFORM));
}

static pd_status tpl_submit(struct ui_form *f, void *vctx, pd_err *e)
{
	struct tpl_ctx *x = vctx;
	pd_template t;
	form_to_tpl(f, x, &t);
	pd_status st = store_template_save(x->app->store, &t, &x->app->actor, e);
	pd_template_free(&t);
	if (st == PD_OK)
		ui_msg(x->app, UI_R_STATUS_OK, _("template saved"));
	return st;
}

static void tpl_free(void *vctx)
{
	struct tpl_ctx *x = vctx;
	if (!x->create)
		pd_template_free(&x->orig);
	ui_platform_fields_free(&x->extra);
	free(x);
}

static void tpl_form(struct ui_app *app, const pd_template *t)
{
	struct tpl_ctx *x = xcalloc(1, sizeof *x);
	x->app = app;
	x->create = t == NULL;
	if (t) {
		x->orig = *t;
		x->orig.name = xstrdup(t->name);
		x->orig.platform = xstrdup(t->platform);
		x->orig.host = xstrdup(t->host);
		x->orig.username = xstrdup(t->username);
		x->orig.params_json = xstrdup(t->params_json);
	}
	ui_platform_fields_init(&x->extra, app->cat, tpl_spec, T__N);
	/* a signal or a lost terminal keeps the edits as a draft, as the
	 * customer edit form does (docs/architecture.md, "Nothing typed is
	 * lost"); a new template has one draft per user */
	char *draft = t ? xasprintf("template/%s", t->name) : xstrdup("template/new");
	struct ui_formscreen_def def = {
	    .title = t ? _("Edit PBX template") : _("New PBX template"),
	    .intro = _("A template holds the defaults a new PBX connection starts from."),
	    .spec = x->extra.spec,
	    .n = x->extra.n_spec,
	    .check = tpl_check,
	    .changed = tpl_changed,
	    .init = tpl_init,
	    .submit = tpl_submit,
	    .free_ctx = tpl_free,
	    .ctx = x,
	    .draft = draft,
	};
	ui_formscreen_open(app, &def);
	free(draft);
}

static void tpl_delete_done(struct ui_app *app, void *vctx, bool ok, const char *t)
{
	char *name = vctx;
	pd_err e;
	if (ok) {
		if (store_template_delete(app->store, name, &app->actor, &e) != PD_OK)
			ui_show_err(app, _("template not deleted"), &e);
		else
			ui_msg(app, UI_R_STATUS_OK, _("template deleted"));
		ui_app_data_changed(app);
	}
	free(name);
}

static int tl_key(struct ui_screen *s, const struct ui_event *ev)
{
	struct tlist *l = s->priv;
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
			tpl_form(app, NULL);
		return UI_HANDLED;
	case UI_A_LIST_EDIT:
	case UI_A_OPEN:
		if (!app->read_only && l->n)
			tpl_form(app, &l->t[l->sel]);
		return UI_HANDLED;
	case UI_A_LIST_DELETE:
		if (!app->read_only && l->n) {
			char *t = xasprintf(_("Delete the template '%s'? Connections made from it "
			                      "keep their settings."),
			                    l->t[l->sel].name);
			ui_dialog_confirm(app, _("Delete template"), t, tpl_delete_done,
			                  xstrdup(l->t[l->sel].name));
			free(t);
		}
		return UI_HANDLED;
	default:
		return 0;
	}
}

static int tl_data(struct ui_screen *s)
{
	tl_load(s->app, s->priv);
	return UI_REDRAW;
}

const struct ui_screen_ops ui_templates_ops = {
    .name = "templates",
    .context = UI_CTX_LIST,
    .create = tl_create,
    .destroy = tl_destroy,
    .layout = tl_layout,
    .draw = tl_draw,
    .handle_key = tl_key,
    .on_data = tl_data,
    .fkeys = N_("F1|Help|F4|Edit|F7|Add|F8|Delete|Esc|Back|F10|Quit"),
};

/* Forms of the customer view: add a user, add/edit the PBX connection,
 * assign a role. Each field is checked with the core rule that the command
 * line uses (pd_check_*, or the whole-record pd_pbx_check filtered to the
 * field being left). */
#include <stdlib.h>
#include <string.h>

#include "customer/customer.h"

/* ---------------------------------------------------------------- users */

enum { U_NAME, U_EMAIL, U_EXT, U_ROLE, U__N };
static const struct ui_fspec user_spec[U__N] = {
    [U_NAME] = {"display_name", N_("Display name"), UI_F_TEXT, 36, 1, PD_DISPLAY_NAME_MAX, NULL},
    [U_EMAIL] = {"email", N_("Email"), UI_F_TEXT, 36, 1, PD_EMAIL_MAX,
                 N_("use the same email as on the PBX")},
    [U_EXT] = {"extension", N_("Extension"), UI_F_TEXT, 12, 1, PD_EXTENSION_MAX, N_("optional")},
    [U_ROLE] = {"role", N_("Role"), UI_F_CHOICE, 28, 1, 0, NULL},
};

struct user_ctx {
	struct ui_app *app;
	int64_t customer_id;
};

static void role_choices(const struct ui_app *app, struct ui_choice **out, size_t *n)
{
	const pd_catalogue *cat = app->cat;
	*out = xcalloc(cat->n_roles + 1, sizeof **out);
	(*out)[0].value = xstrdup("");
	(*out)[0].label = xstrdup(_("(no role: no access)"));
	for (size_t i = 0; i < cat->n_roles; i++) {
		(*out)[i + 1].value = xstrdup(cat->roles[i].key);
		(*out)[i + 1].label = xstrdup(pd_catalogue_text(cat->roles[i].name));
	}
	*n = cat->n_roles + 1;
}

static pd_status user_check(struct ui_form *f, int idx, void *ctx, pd_err *e)
{
	const char *v = ui_form_get(f, idx);
	switch (idx) {
	case U_NAME:
		return pd_check_display_name(v, "display_name", e);
	case U_EMAIL:
		return pd_check_email(v, "email", e);
	case U_EXT:
		return pd_check_extension(v, "extension", e);
	default:
		return PD_OK;
	}
}

static void user_init(struct ui_form *f, void *vctx)
{
	struct user_ctx *x = vctx;
	struct ui_choice *c;
	size_t n;
	role_choices(x->app, &c, &n);
	ui_form_set_choices(f, U_ROLE, c, n);
	ui_choices_free(c, n);
	ui_form_set(f, U_ROLE, "agent");
}

static pd_status user_submit(struct ui_form *f, void *vctx, pd_err *e)
{
	struct user_ctx *x = vctx;
	pd_user u, out;
	memset(&u, 0, sizeof u);
	memset(&out, 0, sizeof out);
	u.customer_id = x->customer_id;
	u.display_name = pd_trim(ui_form_get(f, U_NAME));
	u.email = pd_trim(ui_form_get(f, U_EMAIL));
	u.extension = *ui_form_get(f, U_EXT) ? xstrdup(ui_form_get(f, U_EXT)) : NULL;
	u.role = *ui_form_get(f, U_ROLE) ? xstrdup(ui_form_get(f, U_ROLE)) : NULL;
	pd_status st = store_user_add(x->app->store, x->customer_id, &u, &x->app->actor, &out, e);
	if (st == PD_OK) {
		ui_msg(x->app, UI_R_STATUS_OK, _("user added; invitation queued for %s"), u.email);
		pd_user_free(&out);
	}
	pd_user_free(&u);
	return st;
}

void cv_user_form(struct ui_app *app, struct cview *v)
{
	struct user_ctx *x = xcalloc(1, sizeof *x);
	x->app = app;
	x->customer_id = v->id;
	char draft[48];
	pd_snprintf(draft, sizeof draft, "user-new/%lld", (long long)v->id);
	struct ui_formscreen_def def = {
	    .draft = draft,
	    .title = _("Add a user"),
	    .intro = _("The invitation email is queued as soon as the user is saved."),
	    .spec = user_spec,
	    .n = U__N,
	    .check = user_check,
	    .init = user_init,
	    .submit = user_submit,
	    .free_ctx = free,
	    .ctx = x,
	};
	ui_formscreen_open(app, &def);
}

/* Edit a console user: the same three fields and core checks as adding one;
 * the role keeps its own action (R). Saved with the version read when the
 * form opened, so a change by another console is refused, not overwritten. */
struct user_edit_ctx {
	struct ui_app *app;
	pd_user orig;
};

static void user_edit_init(struct ui_form *f, void *vctx)
{
	struct user_edit_ctx *x = vctx;
	ui_form_set(f, U_NAME, x->orig.display_name ? x->orig.display_name : "");
	ui_form_set(f, U_EMAIL, x->orig.email ? x->orig.email : "");
	ui_form_set(f, U_EXT, x->orig.extension ? x->orig.extension : "");
	if (x->orig.primary)
		ui_form_set_note(f, U_EMAIL,
		                 _("the Customer Administrator's login; same as on the PBX"));
}

static pd_status user_edit_submit(struct ui_form *f, void *vctx, pd_err *e)
{
	struct user_edit_ctx *x = vctx;
	pd_user u = x->orig; /* id, customer, version, role, primary: as read */
	u.display_name = pd_trim(ui_form_get(f, U_NAME));
	u.email = pd_trim(ui_form_get(f, U_EMAIL));
	u.extension = *ui_form_get(f, U_EXT) ? pd_trim(ui_form_get(f, U_EXT)) : NULL;
	pd_status st = store_user_update(x->app->store, &u, &x->app->actor, e);
	if (st == PD_OK)
		ui_msg(x->app, UI_R_STATUS_OK, _("user %s saved"), u.display_name);
	free(u.display_name);
	free(u.email);
	free(u.extension);
	return st;
}

static void user_edit_free(void *vctx)
{
	struct user_edit_ctx *x = vctx;
	pd_user_free(&x->orig);
	free(x);
}

void cv_user_edit_form(struct ui_app *app, struct cview *v)
{
	if (!v->n_users)
		return;
	const pd_user *u = &v->users[v->sel[CV_USERS]];
	if (u->synced) {
		ui_msg(app, UI_R_STATUS_WARN,
		       _("%s is synced from the PBX: change it on the PBX (R sets its role here)"),
		       u->display_name);
		return;
	}
	struct user_edit_ctx *x = xcalloc(1, sizeof *x);
	x->app = app;
	pd_err e;
	pd_err_clear(&e);
	/* the stored row, not the list's copy: its version is the one we save over */
	if (store_user_get(app->store, u->id, &x->orig, &e) != PD_OK) {
		ui_show_err(app, _("cannot open the user"), &e);
		free(x);
		return;
	}
	char *title = xasprintf(_("Edit user %s"), x->orig.display_name);
	char draft[48];
	pd_snprintf(draft, sizeof draft, "user/%lld", (long long)x->orig.id);
	struct ui_formscreen_def def = {
	    .draft = draft,
	    .title = title,
	    .intro = _("Display name, email and extension are checked as for a new user; the "
	               "email stays unique within the customer. R on the list sets the role."),
	    .spec = user_spec,
	    .n = U_ROLE, /* no role field: R does that */
	    .check = user_check,
	    .init = user_edit_init,
	    .submit = user_edit_submit,
	    .free_ctx = user_edit_free,
	    .ctx = x,
	};
	ui_formscreen_open(app, &def);
	free(title);
}

/* Remove a console user, after a confirmation naming them. */
struct remove_ctx {
	int64_t user_id;
	char *name;
};

static void remove_done(struct ui_app *app, void *vctx, bool ok, const char *text)
{
	(void)text;
	struct remove_ctx *r = vctx;
	if (ok) {
		pd_err e;
		pd_err_clear(&e);
		if (store_user_remove(app->store, r->user_id, &app->actor, &e) != PD_OK)
			ui_show_err(app, _("user not removed"), &e);
		else
			ui_msg(app, UI_R_STATUS_OK, _("user %s removed"), r->name);
		ui_app_data_changed(app);
	}
	free(r->name);
	free(r);
}

void cv_user_remove(struct ui_app *app, struct cview *v)
{
	if (!v->n_users)
		return;
	const pd_user *u = &v->users[v->sel[CV_USERS]];
	struct remove_ctx *r = xmalloc(sizeof *r);
	r->user_id = u->id;
	r->name = xstrdup(u->display_name);
	if (u->primary || u->synced) {
		/* The store owns the rule (the primary user stays, synced users go on
		 * the PBX): ask it, so its refusal is what the user reads, without a
		 * question whose answer could only be refused. */
		remove_done(app, r, true, NULL);
		return;
	}
	char *text = xasprintf(_("Remove %s%s%s%s from this customer? They lose their access; "
	                         "calls already made stay attributed."),
	                       u->display_name, u->email ? " <" : "", u->email ? u->email : "",
	                       u->email ? ">" : "");
	ui_dialog_confirm(app, _("Remove user"), text, remove_done, r);
	free(text);
}

struct role_ctx {
	int64_t user_id;
};

static void role_done(struct ui_app *app, void *vctx, bool ok, const char *value)
{
	struct role_ctx *r = vctx;
	if (ok) {
		pd_err e;
		if (store_role_assign(app->store, r->user_id, value, &app->actor, &e) != PD_OK)
			ui_show_err(app, _("role not assigned"), &e);
		else
			ui_msg(app, UI_R_STATUS_OK, _("role assigned"));
		ui_app_data_changed(app);
	}
	free(r);
}

void cv_role_pick(struct ui_app *app, struct cview *v)
{
	const pd_user *u = &v->users[v->sel[CV_USERS]];
	struct ui_choice *c;
	size_t n;
	role_choices(app, &c, &n);
	struct role_ctx *r = xmalloc(sizeof *r);
	r->user_id = u->id;
	char *title = xasprintf(_("Role of %s"), u->display_name);
	ui_dialog_pick(app, title, c, n, u->role ? u->role : "", NULL, NULL, role_done, r);
	free(title);
	ui_choices_free(c, n);
}

/* ------------------------------------------------------------------ PBX */

enum {
	P_TEMPLATE,
	P_PLATFORM,
	P_HOST,
	P_PORT,
	P_TLS,
	P_USER,
	P_SECRET,
	P_SYNC,
	P_MONITOR,
	P_AUTO,
	P_ENABLED,
	P__N
};
static const struct ui_fspec pbx_spec[P__N] = {
    [P_TEMPLATE] = {"template", N_("Template"), UI_F_CHOICE, 24, 1, 0, N_("fills the defaults")},
    [P_PLATFORM] = {"platform", N_("Platform"), UI_F_CHOICE, 24, 1, 0, NULL},
    [P_HOST] = {"host", N_("Host"), UI_F_TEXT, 30, 1, 253, NULL},
    [P_PORT] = {"port", N_("Port"), UI_F_TEXT, 6, 1, 5, NULL},
    [P_TLS] = {"tls", "TLS", UI_F_TOGGLE, 8, 1, 0, NULL},
    [P_USER] = {"username", N_("Username"), UI_F_TEXT, 24, 1, 128, NULL},
    [P_SECRET] = {"secret", N_("Secret"), UI_F_SECRET, 24, 1, 256, NULL},
    [P_SYNC] = {"sync_users", N_("Sync users"), UI_F_TOGGLE, 8, 1, 0, NULL},
    [P_MONITOR] = {"monitor", N_("Monitor"), UI_F_TOGGLE, 8, 1, 0, N_("calls and agent status")},
    [P_AUTO] = {"auto_provision", N_("Sub-accounts"), UI_F_TOGGLE, 8, 1, 0,
                N_("auto-provision: only when created")},
    [P_ENABLED] = {"enabled", N_("Enabled"), UI_F_TOGGLE, 8, 1, 0, N_("off: nothing connects")},
};

struct pbx_ctx {
	struct ui_app *app;
	int64_t customer_id;
	bool create;
	pd_pbx orig;
	pd_template *templates;
	size_t n_templates;
	struct ui_platform_fields extra; /* the platform's own parameters, after P__N */
};

static void form_to_pbx(struct ui_form *f, struct pbx_ctx *x, pd_pbx *p)
{
	memset(p, 0, sizeof *p);
	if (!x->create) {
		p->id = x->orig.id;
		p->version = x->orig.version;
	}
	p->customer_id = x->customer_id;
	p->template_name = *ui_form_get(f, P_TEMPLATE) ? xstrdup(ui_form_get(f, P_TEMPLATE)) : NULL;
	p->platform = xstrdup(ui_form_get(f, P_PLATFORM));
	p->params_json = ui_platform_fields_params(&x->extra, f, p->platform,
	                                           x->create ? NULL : x->orig.params_json);
	p->host = xstrdup(ui_form_get(f, P_HOST));
	char *end;
	const char *ps = ui_form_get(f, P_PORT);
	long port = strtol(ps, &end, 10);
	p->port = *ps && !*end && port > 0 && port < 65536 ? (int)port : -1;
	p->tls = ui_form_get_bool(f, P_TLS);
	p->username = xstrdup(ui_form_get(f, P_USER));
	/* empty keeps the stored secret (NULL); typing replaces it */
	p->secret = *ui_form_get(f, P_SECRET) ? xstrdup(ui_form_get(f, P_SECRET)) : NULL;
	p->sync_users = ui_form_get_bool(f, P_SYNC);
	p->monitor = ui_form_get_bool(f, P_MONITOR);
	p->auto_provision = ui_form_get_bool(f, P_AUTO);
	p->enabled = ui_form_get_bool(f, P_ENABLED);
}

static pd_status pbx_check(struct ui_form *f, int idx, void *vctx, pd_err *e)
{
	struct pbx_ctx *x = vctx;
	if (idx == P_PORT) {
		const char *v = ui_form_get(f, P_PORT);
		char *end;
		long port = strtol(v, &end, 10);
		if (!*v || *end || port < 1 || port > 65535)
			return pd_fail(e, PD_E_INVALID, "port",
			               _("port: a number from 1 to 65535"));
	}
	/* the whole-record rule, reported only for the field being left */
	pd_pbx p;
	form_to_pbx(f, x, &p);
	if (!p.secret && x->create)
		p.secret = xstrdup(_("(not checked here)"));
	pd_err e2;
	pd_err_clear(&e2);
	pd_status st = pd_pbx_check(x->app->cat, &p, &e2);
	pd_pbx_free(&p);
	if (st != PD_OK && strcmp(e2.field, x->extra.spec[idx].key) == 0) {
		*e = e2;
		return st;
	}
	return PD_OK;
}

static void pbx_changed(struct ui_form *f, int idx, void *vctx)
{
	struct pbx_ctx *x = vctx;
	if (idx == P_PLATFORM)
		ui_platform_fields_show(&x->extra, f, ui_form_get(f, P_PLATFORM));
	if (idx != P_TEMPLATE)
		return;
	const char *name = ui_form_get(f, P_TEMPLATE);
	for (size_t i = 0; i < x->n_templates; i++) {
		const pd_template *t = &x->templates[i];
		if (strcmp(t->name, name) != 0)
			continue;
		ui_form_set(f, P_PLATFORM, t->platform);
		if (!*ui_form_get(f, P_HOST))
			ui_form_set(f, P_HOST, t->host);
		char port[16];
		pd_snprintf(port, sizeof port, "%d", t->port);
		if (!*ui_form_get(f, P_PORT) && t->port > 0)
			ui_form_set(f, P_PORT, port);
		ui_form_set(f, P_TLS, t->tls ? "yes" : "no");
		if (!*ui_form_get(f, P_USER))
			ui_form_set(f, P_USER, t->username);
		ui_platform_fields_show(&x->extra, f, t->platform);
		ui_platform_fields_load(&x->extra, f, t->platform, t->params_json);
	}
}

static void pbx_init(struct ui_form *f, void *vctx)
{
	struct pbx_ctx *x = vctx;
	const pd_catalogue *cat = x->app->cat;
	struct ui_choice *c = xcalloc(x->n_templates + 1, sizeof *c);
	c[0].value = xstrdup("");
	c[0].label = xstrdup(_("(none)"));
	for (size_t i = 0; i < x->n_templates; i++) {
		c[i + 1].value = xstrdup(x->templates[i].name);
		c[i + 1].label =
		    xasprintf("%s (%s)", x->templates[i].name, x->templates[i].platform);
	}
	ui_form_set_choices(f, P_TEMPLATE, c, x->n_templates + 1);
	ui_choices_free(c, x->n_templates + 1);
	c = xcalloc(cat->n_platforms ? cat->n_platforms : 1, sizeof *c);
	for (size_t i = 0; i < cat->n_platforms; i++) {
		c[i].value = xstrdup(cat->platforms[i].key);
		c[i].label = xasprintf("%s%s", pd_catalogue_text(cat->platforms[i].name),
		                       cat->platforms[i].supported ? "" : _(" (no driver yet)"));
	}
	ui_form_set_choices(f, P_PLATFORM, c, cat->n_platforms);
	ui_choices_free(c, cat->n_platforms);
	if (x->create) {
		ui_form_set(f, P_PLATFORM, cat->n_platforms ? cat->platforms[0].key : "");
		ui_form_set(f, P_SYNC, "yes");
		ui_form_set(f, P_MONITOR, "yes");
		ui_form_set(f, P_AUTO, "no");
		ui_form_set(f, P_ENABLED, "no");
		ui_form_set(f, P_TLS, "no");
		ui_form_set_note(f, P_SECRET, _("masked; never shown back"));
		ui_platform_fields_load(&x->extra, f, ui_form_get(f, P_PLATFORM), NULL);
	} else {
		const pd_pbx *p = &x->orig;
		char port[16];
		pd_snprintf(port, sizeof port, "%d", p->port);
		ui_form_set(f, P_TEMPLATE, p->template_name ? p->template_name : "");
		ui_form_set(f, P_PLATFORM, p->platform);
		ui_form_set(f, P_HOST, p->host);
		ui_form_set(f, P_PORT, port);
		ui_form_set(f, P_TLS, p->tls ? "yes" : "no");
		ui_form_set(f, P_USER, p->username);
		ui_form_set(f, P_SECRET, ""); /* never shown back */
		ui_form_set_note(f, P_SECRET,
		                 _("empty keeps the stored secret; typing replaces it"));
		ui_form_set(f, P_SYNC, p->sync_users ? "yes" : "no");
		ui_form_set(f, P_MONITOR, p->monitor ? "yes" : "no");
		ui_form_set(f, P_AUTO, p->auto_provision ? "yes" : "no");
		ui_form_set_readonly(f, P_AUTO, true);
		ui_form_set_note(f, P_AUTO, _("set when the connection was created"));
		ui_form_set(f, P_ENABLED, p->enabled ? "yes" : "no");
		ui_platform_fields_load(&x->extra, f, p->platform, p->params_json);
	}
	ui_platform_fields_show(&x->extra, f, ui_form_get(f, P_PLATFORM));
}

static pd_status pbx_submit(struct ui_form *f, void *vctx, pd_err *e)
{
	struct pbx_ctx *x = vctx;
	pd_pbx p;
	form_to_pbx(f, x, &p);
	pd_status st;
	if (x->create && !p.secret)
		st = pd_fail(e, PD_E_INVALID, "secret", _("the secret is required"));
	else if (x->create)
		st = store_pbx_add(x->app->store, x->customer_id, &p, &x->app->actor, e);
	else
		st = store_pbx_update(x->app->store, &p, &x->app->actor, e);
	pd_pbx_free(&p);
	if (st == PD_OK)
		ui_msg(x->app, UI_R_STATUS_OK, _("PBX connection saved"));
	return st;
}

static void pbx_free_ctx(void *vctx)
{
	struct pbx_ctx *x = vctx;
	if (!x->create)
		pd_pbx_free(&x->orig);
	for (size_t i = 0; i < x->n_templates; i++)
		pd_template_free(&x->templates[i]);
	free(x->templates);
	ui_platform_fields_free(&x->extra);
	free(x);
}

/* Test connection (F9, ^T): the connection as typed, the stored secret when
 * the field is left empty; nothing is saved. */
static int pbx_key(struct ui_screen *s, struct ui_form *f, void *vctx, const struct ui_event *ev)
{
	struct pbx_ctx *x = vctx;
	if (ev->action != UI_A_PBX_TEST)
		return 0;
	pd_pbx p;
	form_to_pbx(f, x, &p);
	if (!p.secret && !x->create) {
		pd_pbx stored;
		pd_err e;
		pd_err_clear(&e);
		if (store_pbx_get(x->app->store, x->customer_id, true, &stored, &e) == PD_OK) {
			p.secret = stored.secret ? xstrdup(stored.secret) : NULL;
			if (stored.secret)
				memset(stored.secret, 0, strlen(stored.secret));
			pd_pbx_free(&stored);
		}
	}
	if (!p.secret || !*p.secret) {
		ui_form_set_error(f, P_SECRET, _("type the secret to test the connection"));
		ui_form_focus(f, P_SECRET);
	} else {
		ui_push(x->app, &ui_pbx_test_ops, &p);
	}
	if (p.secret)
		memset(p.secret, 0, strlen(p.secret));
	pd_pbx_free(&p);
	return UI_HANDLED | UI_REDRAW;
}

void cv_pbx_form(struct ui_app *app, struct cview *v, bool create)
{
	struct pbx_ctx *x = xcalloc(1, sizeof *x);
	x->app = app;
	x->customer_id = v->id;
	x->create = create;
	pd_err e;
	if (!create) {
		if (store_pbx_get(app->store, v->id, false, &x->orig, &e) != PD_OK) {
			ui_show_err(app, _("cannot open the PBX details"), &e);
			free(x);
			return;
		}
	}
	if (store_template_list(app->store, &x->templates, &x->n_templates, &e) != PD_OK) {
		x->templates = NULL;
		x->n_templates = 0;
	}
	ui_platform_fields_init(&x->extra, app->cat, pbx_spec, P__N);
	/* the secret is never part of a draft */
	char draft[48];
	pd_snprintf(draft, sizeof draft, "pbx/%lld", (long long)v->id);
	struct ui_formscreen_def def = {
	    .draft = draft,
	    .title = create ? _("Add a PBX connection") : _("PBX connection settings"),
	    .intro = create
	                 ? _("It may be created disabled: nothing connects until it is enabled.\n"
	                     "F9 tests the connection as typed, before saving.")
	                 : _("The secret is never shown. Leave it empty to keep it.\n"
	                     "F9 tests the connection as typed, before saving."),
	    .spec = x->extra.spec,
	    .n = x->extra.n_spec,
	    .check = pbx_check,
	    .changed = pbx_changed,
	    .init = pbx_init,
	    .submit = pbx_submit,
	    .free_ctx = pbx_free_ctx,
	    .ctx = x,
	    .key = pbx_key,
	};
	ui_formscreen_open(app, &def);
}

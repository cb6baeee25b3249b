/* A full-screen form: title, intro text, the fields (ui_form), F2/^S saves
 * through the caller's submit, Esc asks before dropping changes. The
 * customer edit, user, PBX and template forms use it; so can the wizard. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ui_internal.h"

struct fscreen {
	struct ui_formscreen_def def;
	struct ui_form *form;
	char *title, *intro;
	char err[600];
	/* drafts (def.draft): the drafts table's owner, "<OS user>/form/<draft>" */
	char *draft_owner;
	bool draft_stored; /* one may be in the table: delete it once settled */
	bool settled;      /* saved, or the changes discarded by the user */
};

static bool any_modified(struct fscreen *fs);

static pd_status fs_create(struct ui_screen *s, void *arg, pd_err *e)
{
	const struct ui_formscreen_def *def = arg;
	struct fscreen *fs = xcalloc(1, sizeof *fs);
	fs->def = *def;
	fs->title = xstrdup(def->title);
	fs->intro = xstrdup(def->intro);
	fs->def.title = fs->title;
	fs->def.intro = fs->intro;
	fs->def.draft = NULL;
	if (def->draft && *def->draft && s->app->store)
		fs->draft_owner = xasprintf("%s/form/%s", s->app->actor.user, def->draft);
	fs->form = ui_form_new(s->app, def->spec, def->n, def->check, def->changed, def->ctx);
	s->priv = fs;
	if (def->init)
		def->init(fs->form, def->ctx);
	ui_form_mark_clean(fs->form);
	return PD_OK;
}

/* The modified fields (never a secret) as {"fields": {key: value}}: a draft
 * is my edits, put back on top of what is stored when restored. */
static char *draft_json(struct fscreen *fs)
{
	json_t *fields = json_object();
	for (size_t i = 0; i < fs->def.n; i++)
		if (fs->def.spec[i].kind != UI_F_SECRET && ui_form_modified(fs->form, (int)i))
			json_object_set_new(fields, fs->def.spec[i].key,
			                    json_string(ui_form_get(fs->form, (int)i)));
	json_t *root = json_pack("{s:o}", "fields", fields);
	char *out = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return out;
}

/* Leaving: a form left without the user's word (a signal, the terminal
 * gone, a quit that could not ask) keeps its edits as a draft; saved or
 * discarded, the draft has done its job. */
static void keep_or_drop_draft(struct ui_screen *s, struct fscreen *fs)
{
	if (!fs->draft_owner || !s->app->store)
		return;
	pd_err e;
	pd_err_clear(&e);
	if (!fs->settled && !s->app->quit_discards && any_modified(fs)) {
		char *json = draft_json(fs);
		if (json)
			store_draft_save(s->app->store, fs->draft_owner, json, &e);
		free(json);
	} else if (fs->draft_stored) {
		store_draft_delete(s->app->store, fs->draft_owner, &e);
	}
}

static void fs_destroy(struct ui_screen *s)
{
	struct fscreen *fs = s->priv;
	keep_or_drop_draft(s, fs);
	free(fs->draft_owner);
	ui_form_free(fs->form);
	if (fs->def.free_ctx)
		fs->def.free_ctx(fs->def.ctx);
	free(fs->title);
	free(fs->intro);
	free(fs);
}

static int intro_lines(const struct fscreen *fs)
{
	int n = 0;
	if (!fs->intro || !*fs->intro)
		return 0;
	for (const char *p = fs->intro; *p; p++)
		n += *p == '\n';
	return n + 1;
}

static void fs_layout(struct ui_screen *s)
{
	struct fscreen *fs = s->priv;
	ui_screen_window(s, s->y, s->x, s->h, s->w);
	int top = 2 + intro_lines(fs);
	ui_form_layout(fs->form, s->win, top, 1, s->h - top - 2, s->w - 2);
}

static void fs_draw(struct ui_screen *s)
{
	struct fscreen *fs = s->priv;
	WINDOW *w = s->win;
	ui_fill(w, 0, 0, s->w, ui_role(UI_R_TITLE));
	ui_put(w, 0, 1, s->w - 2, fs->title, ui_role(UI_R_TITLE), false);
	int y = 1;
	if (fs->intro && *fs->intro) {
		const char *p = fs->intro;
		while (*p) {
			const char *nl = strchr(p, '\n');
			size_t len = nl ? (size_t)(nl - p) : strlen(p);
			char *line = xstrndup(p, len);
			bool warn = line[0] == '!';
			ui_put(w, y++, 1, s->w - 2, warn ? line + 1 : line,
			       ui_role(warn ? UI_R_WARNING : UI_R_NOTE), false);
			free(line);
			p += len + (nl ? 1 : 0);
		}
	}
	if (fs->err[0])
		ui_put(w, s->h - 1, 1, s->w - 2, fs->err, ui_role(UI_R_FIELD_ERROR), false);
	else
		ui_put(w, s->h - 1, 1, s->w - 2,
		       _("Tab/Shift-Tab: fields · F2 or ^S: save · Esc: cancel · F1: help"),
		       ui_role(UI_R_NOTE), false);
	if (fs->def.draw_extra)
		fs->def.draw_extra(s, fs->form, fs->def.ctx);
	ui_form_draw(fs->form, true);
}

static bool any_modified(struct fscreen *fs)
{
	for (size_t i = 0; i < ui_form_count(fs->form); i++)
		if (ui_form_modified(fs->form, (int)i))
			return true;
	return false;
}

static void discard_done(struct ui_app *app, void *ctx, bool ok, const char *text)
{
	struct ui_screen *s = ctx;
	if (ok) {
		((struct fscreen *)s->priv)->settled = true;
		ui_close(app, s); /* the form screen under the dialog */
	}
}

void ui_formscreen_save(struct ui_screen *s)
{
	struct fscreen *fs = s->priv;
	fs->err[0] = 0;
	if (!ui_form_check_all(fs->form)) {
		pd_snprintf(fs->err, sizeof fs->err, _("Please correct the fields marked ✗."));
		s->dirty = true;
		return;
	}
	pd_err e;
	pd_err_clear(&e);
	pd_status st = fs->def.submit(fs->form, fs->def.ctx, &e);
	if (st == PD_OK) {
		fs->settled = true;
		ui_close(s->app, s);
		ui_app_data_changed(s->app);
		return;
	}
	if (st == PD_E_CONFLICT && e.status == PD_OK)
		return; /* the submit opened its own conflict screen */
	if (!ui_form_apply_err(fs->form, &e))
		pd_snprintf(fs->err, sizeof fs->err, "%.590s",
		            e.message[0] ? e.message : pd_status_message(st));
	s->dirty = true;
}

static int fs_key(struct ui_screen *s, const struct ui_event *ev)
{
	struct fscreen *fs = s->priv;
	int r = ui_form_key(fs->form, ev);
	if (r & UI_HANDLED)
		return r;
	if (fs->def.key && (r = fs->def.key(s, fs->form, fs->def.ctx, ev)))
		return r;
	switch (ev->action) {
	case UI_A_SAVE:
		if (fs->def.submit)
			ui_formscreen_save(s);
		return UI_HANDLED | UI_REDRAW;
	case UI_A_BACK:
		if (any_modified(fs)) {
			ui_dialog_confirm(s->app, _("Discard changes?"),
			                  _("You have unsaved changes in this form. Discard them?"),
			                  discard_done, s);
			return UI_HANDLED;
		}
		fs->settled = true;
		return UI_HANDLED | UI_CLOSE;
	case UI_A_QUIT:
		/* q is typed into fields; F10 still quits */
		return 0;
	default:
		return 0;
	}
}

static const char *fs_help(struct ui_screen *s)
{
	return _("A form. Each field is checked when you leave it; the error shows beside it.\n"
	         "Choice fields: Enter or F4 opens the list, Left/Right cycles. Toggles: Space.\n"
	         "Letters are always text here. Esc or F10 with unsaved changes asks first; if\n"
	         "the console is closed under you (SSH dropped), the changes wait as a draft.");
}

/* The status line: the whole error of the field under the cursor (the room
 * beside a field cuts a long one), else what the screen below would show. */
static void fs_status(struct ui_screen *s, char *buf, size_t n, enum ui_role *role)
{
	struct fscreen *fs = s->priv;
	int cur = ui_form_current(fs->form);
	const char *err = cur >= 0 ? ui_form_error(fs->form, cur) : NULL;
	if (err && (size_t)cur < fs->def.n) {
		*role = UI_R_STATUS_ERROR;
		/* TRANSLATORS: a field's label, then its error (French: "%s : %s") */
		pd_snprintf(buf, n, _("%s: %s"), pd_tr(fs->def.spec[cur].label), err);
		return;
	}
	struct ui_app *app = s->app;
	size_t at = app->n_stack;
	for (size_t i = 0; i < app->n_stack; i++)
		if (app->stack[i] == s)
			at = i;
	while (at-- > 0 && at < app->n_stack)
		if (app->stack[at]->ops->status) {
			app->stack[at]->ops->status(app->stack[at], buf, n, role);
			return;
		}
}

static bool fs_unsaved(struct ui_screen *s)
{
	struct fscreen *fs = s->priv;
	return fs->def.submit && any_modified(fs);
}

static const struct ui_screen_ops formscreen_ops = {
    .name = "form",
    .context = UI_CTX_FORM,
    .create = fs_create,
    .destroy = fs_destroy,
    .layout = fs_layout,
    .draw = fs_draw,
    .handle_key = fs_key,
    .help = fs_help,
    .status = fs_status,
    .fkeys = N_("F1|Help|F2|Save|F4|Choose|Esc|Cancel|F10|Quit"),
    .unsaved = fs_unsaved,
    .save = ui_formscreen_save,
};

struct draft_offer {
	struct ui_screen *s;
	char *json;
};

/* A draft's value goes back into field i only if that field could have held
 * it: text of at most the field's length (in characters), no control
 * character but a multi-line field's newline, never a secret. The drafts
 * table is shared with every process of the database: what it holds is read
 * as input, not trusted. */
static bool draft_value_fits(const struct ui_fspec *sp, const char *v)
{
	if (sp->kind == UI_F_SECRET || sp->kind == UI_F_READONLY)
		return false;
	int max = sp->max > 0 ? sp->max : 256;
	if (pd_utf8_chars(v) > (size_t)max)
		return false;
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if ((*p < 0x20 && !(*p == '\n' && sp->kind == UI_F_MULTILINE)) || *p == 0x7f)
			return false;
	return true;
}

static void restore_done(struct ui_app *app, void *ctx, bool ok, const char *text)
{
	struct draft_offer *o = ctx;
	struct fscreen *fs = o->s->priv;
	if (!ok || !text) {
		/* Esc: decide another time; this form leaves the draft alone
		 * (a signal would write a newer one over it) */
		fs->draft_stored = false;
	} else if (strcmp(text, "restore") == 0) {
		json_t *root = json_loads(o->json, 0, NULL);
		json_t *fields = json_object_get(root, "fields");
		const char *key;
		json_t *v;
		size_t skipped = 0;
		json_object_foreach(fields, key, v)
		{
			int i = ui_form_index(fs->form, key);
			if (i >= 0 && json_is_string(v) &&
			    draft_value_fits(&fs->def.spec[i], json_string_value(v)))
				ui_form_put(fs->form, i, json_string_value(v));
			else
				skipped++;
		}
		json_decref(root);
		if (skipped)
			ui_msg(
			    app, UI_R_STATUS_WARN,
			    _("%zu value(s) of the draft did not fit this form and were left out"),
			    skipped);
		ui_formscreen_set_error(o->s,
		                        _("Your unsaved changes are restored: F2 saves them."));
	} else {
		pd_err e;
		pd_err_clear(&e);
		store_draft_delete(app->store, fs->draft_owner, &e);
		fs->draft_stored = false;
	}
	o->s->dirty = true;
	free(o->json);
	free(o);
}

/* A draft left by an earlier console is offered back, dated. */
static void offer_draft(struct ui_screen *s)
{
	struct fscreen *fs = s->priv;
	if (!fs->draft_owner)
		return;
	char *json = NULL;
	int64_t at = 0;
	pd_err e;
	pd_err_clear(&e);
	if (store_draft_load(s->app->store, fs->draft_owner, &json, &at, &e) != PD_OK) {
		free(json);
		return;
	}
	fs->draft_stored = true;
	json_t *root = json_loads(json, 0, NULL);
	bool readable = json_is_object(json_object_get(root, "fields"));
	json_decref(root);
	if (!readable) {
		/* nothing to offer: say so rather than drop it in silence */
		ui_msg(s->app, UI_R_STATUS_WARN, _("An unreadable draft of this form was dropped"));
		store_draft_delete(s->app->store, fs->draft_owner, &e);
		fs->draft_stored = false;
		free(json);
		return;
	}
	char when[40];
	time_t t = (time_t)at;
	struct tm tm;
	localtime_r(&t, &tm);
	/* TRANSLATORS: strftime format of a date and time a person reads
	 * (a dialog): the locale's order; tables and logs keep ISO. */
	/* xgettext:no-c-format */
	strftime(when, sizeof when, _("%Y-%m-%d %H:%M"), &tm);
	struct draft_offer *o = xcalloc(1, sizeof *o);
	o->s = s;
	o->json = json;
	char *title = xasprintf(_("You left unsaved changes on %s: restore?"), when);
	const struct ui_choice ch[] = {
	    {"restore", _("Restore them")},
	    {"discard", _("Discard them")},
	};
	ui_dialog_pick(s->app, title, ch, sizeof ch / sizeof ch[0], "restore", NULL, NULL,
	               restore_done, o);
	free(title);
}

struct ui_screen *ui_formscreen_open(struct ui_app *app, const struct ui_formscreen_def *def)
{
	struct ui_screen *s = ui_push(app, &formscreen_ops, (void *)def);
	if (s)
		offer_draft(s);
	return s;
}

struct ui_form *ui_formscreen_form(struct ui_screen *s)
{
	return ((struct fscreen *)s->priv)->form;
}

void ui_formscreen_set_error(struct ui_screen *s, const char *msg)
{
	struct fscreen *fs = s->priv;
	pd_snprintf(fs->err, sizeof fs->err, "%.590s", msg ? msg : "");
	s->dirty = true;
}

/* A full-screen form: title, intro text, the fields (ui_form), F2/^S saves
 * through the caller's submit, Esc asks before dropping changes. The
 * customer edit, user, PBX and template forms use it; so can the wizard. */
#include <stdlib.h>
#include <string.h>

#include "ui_internal.h"

struct fscreen {
	struct ui_formscreen_def def;
	struct ui_form *form;
	char *title, *intro;
	char err[600];
};

static pd_status fs_create(struct ui_screen *s, void *arg, pd_err *e)
{
	const struct ui_formscreen_def *def = arg;
	struct fscreen *fs = xcalloc(1, sizeof *fs);
	fs->def = *def;
	fs->title = xstrdup(def->title);
	fs->intro = xstrdup(def->intro);
	fs->def.title = fs->title;
	fs->def.intro = fs->intro;
	fs->form = ui_form_new(s->app, def->spec, def->n, def->check, def->changed, def->ctx);
	s->priv = fs;
	if (def->init)
		def->init(fs->form, def->ctx);
	ui_form_mark_clean(fs->form);
	return PD_OK;
}

static void fs_destroy(struct ui_screen *s)
{
	struct fscreen *fs = s->priv;
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
		       "Tab/Shift-Tab: fields · F2 or ^S: save · Esc: cancel · F1: help",
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
	if (ok)
		ui_close(app, ctx); /* the form screen under the dialog */
}

void ui_formscreen_save(struct ui_screen *s)
{
	struct fscreen *fs = s->priv;
	fs->err[0] = 0;
	if (!ui_form_check_all(fs->form)) {
		snprintf(fs->err, sizeof fs->err, "Please correct the fields marked ✗.");
		s->dirty = true;
		return;
	}
	pd_err e;
	pd_err_clear(&e);
	pd_status st = fs->def.submit(fs->form, fs->def.ctx, &e);
	if (st == PD_OK) {
		ui_close(s->app, s);
		ui_app_data_changed(s->app);
		return;
	}
	if (st == PD_E_CONFLICT && e.status == PD_OK)
		return; /* the submit opened its own conflict screen */
	if (!ui_form_apply_err(fs->form, &e))
		snprintf(fs->err, sizeof fs->err, "%.590s",
		         e.message[0] ? e.message : pd_status_message(st));
	s->dirty = true;
}

static int fs_key(struct ui_screen *s, const struct ui_event *ev)
{
	struct fscreen *fs = s->priv;
	int r = ui_form_key(fs->form, ev);
	if (r & UI_HANDLED)
		return r;
	switch (ev->action) {
	case UI_A_SAVE:
		if (fs->def.submit)
			ui_formscreen_save(s);
		return UI_HANDLED | UI_REDRAW;
	case UI_A_BACK:
		if (any_modified(fs)) {
			ui_dialog_confirm(s->app, "Discard changes?",
			                  "You have unsaved changes in this form. Discard them?",
			                  discard_done, s);
			return UI_HANDLED;
		}
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
	return "A form. Each field is checked when you leave it; the error shows beside it.\n"
	       "Choice fields: Enter or F4 opens the list, Left/Right cycles. Toggles: Space.";
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
		snprintf(buf, n, "%s: %s", fs->def.spec[cur].label, err);
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
    .fkeys = "F1|Help|F2|Save|F4|Choose|Esc|Cancel|F10|Quit",
};

struct ui_screen *ui_formscreen_open(struct ui_app *app, const struct ui_formscreen_def *def)
{
	return ui_push(app, &formscreen_ops, (void *)def);
}

struct ui_form *ui_formscreen_form(struct ui_screen *s)
{
	return ((struct fscreen *)s->priv)->form;
}

void ui_formscreen_set_error(struct ui_screen *s, const char *msg)
{
	struct fscreen *fs = s->priv;
	snprintf(fs->err, sizeof fs->err, "%.590s", msg ? msg : "");
	s->dirty = true;
}

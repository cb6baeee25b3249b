/* Modal dialogs (overlay screens): message, confirm, prompt, pick list. */
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <wctype.h>

#include "ui_internal.h"

enum dkind { D_MESSAGE, D_CONFIRM, D_PROMPT, D_PICK };

struct dialog {
	enum dkind kind;
	char *title, *text;
	ui_done_fn done;
	void *ctx;
	bool secret;
	/* prompt: line editor on wide chars */
	wchar_t input[512];
	size_t len, cur;
	/* pick */
	struct ui_choice *all;
	size_t n_all;
	struct ui_choice *shown; /* borrowed from all or owned (search) */
	size_t n_shown;
	bool shown_owned;
	size_t sel, top;
	ui_search_fn search;
	void *search_ctx;
	bool yes; /* confirm: Yes focused */
};

void ui_choices_free(struct ui_choice *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(c[i].value);
		free(c[i].label);
	}
	free(c);
}

static struct ui_choice *choices_copy(const struct ui_choice *c, size_t n)
{
	struct ui_choice *o = xcalloc(n ? n : 1, sizeof *o);
	for (size_t i = 0; i < n; i++) {
		o[i].value = xstrdup(c[i].value);
		o[i].label = xstrdup(c[i].label ? c[i].label : c[i].value);
	}
	return o;
}

static char *input_utf8(const struct dialog *d)
{
	pd_buf b = {0};
	for (size_t i = 0; i < d->len; i++) {
		char mb[8];
		mbstate_t st;
		memset(&st, 0, sizeof st);
		size_t r = wcrtomb(mb, d->input[i], &st);
		if (r != (size_t)-1)
			pd_buf_addn(&b, mb, r);
	}
	return pd_buf_steal(&b);
}

static void pick_refilter(struct dialog *d)
{
	char *q = input_utf8(d);
	if (d->shown_owned)
		ui_choices_free(d->shown, d->n_shown);
	d->shown = NULL;
	d->n_shown = 0;
	d->shown_owned = false;
	if (d->search) {
		d->search(d->search_ctx, q, &d->shown, &d->n_shown);
		d->shown_owned = true;
	} else if (!*q) {
		d->shown = d->all;
		d->n_shown = d->n_all;
	} else {
		char *fq = pd_fold_key(q);
		d->shown = xcalloc(d->n_all ? d->n_all : 1, sizeof *d->shown);
		d->shown_owned = true;
		for (size_t i = 0; i < d->n_all; i++) {
			char *fl = pd_fold_key(d->all[i].label);
			if (fq && fl && strstr(fl, fq)) {
				d->shown[d->n_shown].value = xstrdup(d->all[i].value);
				d->shown[d->n_shown].label = xstrdup(d->all[i].label);
				d->n_shown++;
			}
			free(fl);
		}
		free(fq);
	}
	free(q);
	d->sel = 0;
	d->top = 0;
}

static pd_status d_create(struct ui_screen *s, void *arg, pd_err *e)
{
	s->priv = arg;
	return PD_OK;
}

static void d_destroy(struct ui_screen *s)
{
	struct dialog *d = s->priv;
	free(d->title);
	if (d->text) /* it may hold a secret shown once (API tokens) */
		memset(d->text, 0, strlen(d->text));
	free(d->text);
	if (d->shown_owned)
		ui_choices_free(d->shown, d->n_shown);
	ui_choices_free(d->all, d->n_all);
	free(d);
}

/* Lines of the text wrapped to width: each of its lines by ui_wrap. */
static int wrap(const char *text, int width, char ***lines)
{
	int n = 0;
	*lines = NULL;
	const char *p = text ? text : "";
	for (;;) {
		size_t len = strcspn(p, "\n");
		char *para = xstrndup(p, len), **part;
		size_t k = ui_wrap(para, width, &part);
		*lines = xrealloc(*lines, ((size_t)n + k) * sizeof **lines);
		memcpy(*lines + n, part, k * sizeof *part);
		n += (int)k;
		free(part);
		free(para);
		if (!p[len] || !p[len + 1])
			break; /* a final line break adds no empty line */
		p += len + 1;
	}
	return n;
}

static void d_layout(struct ui_screen *s)
{
	struct dialog *d = s->priv;
	int w = s->w - 8 < 70 ? s->w - 8 : 70;
	char **lines;
	int nl = wrap(d->text, w - 4, &lines);
	for (int i = 0; i < nl; i++)
		free(lines[i]);
	free(lines);
	int h = nl + 4;
	if (d->kind == D_PROMPT)
		h += 2;
	if (d->kind == D_PICK)
		h = s->h - 4;
	if (h > s->h - 2)
		h = s->h - 2;
	ui_screen_window(s, s->y + (s->h - h) / 2, s->x + (s->w - w) / 2, h, w);
}

static void d_draw(struct ui_screen *s)
{
	struct dialog *d = s->priv;
	WINDOW *win = s->win;
	int h = getmaxy(win), w = getmaxx(win);
	wbkgdset(win, ' ' | ui_role(UI_R_DIALOG));
	werase(win);
	ui_box(win, d->title);
	char **lines;
	int nl = wrap(d->text, w - 4, &lines);
	int y = 1;
	for (int i = 0; i < nl; i++) {
		if (y < h - 1 - (d->kind == D_PICK ? 3 : 0))
			ui_put(win, y++, 2, w - 4, lines[i], ui_role(UI_R_DIALOG), false);
		free(lines[i]);
	}
	free(lines);
	if (d->kind == D_MESSAGE) {
		ui_put(win, h - 2, 2, w - 4, _("[ OK ]  (Enter)"), ui_role(UI_R_FIELD_ACTIVE),
		       false);
	} else if (d->kind == D_CONFIRM) {
		ui_put(win, h - 2, 2, 10, _("[ Yes ]"),
		       ui_role(d->yes ? UI_R_FIELD_ACTIVE : UI_R_DIALOG), false);
		ui_put(win, h - 2, 12, 10, _("[ No ]"),
		       ui_role(d->yes ? UI_R_DIALOG : UI_R_FIELD_ACTIVE), false);
		ui_put(win, h - 2, 24, w - 26, _("y / n, Esc = No"), ui_role(UI_R_NOTE), false);
	} else if (d->kind == D_PROMPT || d->kind == D_PICK) {
		int iy = d->kind == D_PROMPT ? h - 3 : y;
		char *txt = input_utf8(d);
		if (d->secret) {
			size_t n = d->len;
			free(txt);
			txt = xmalloc(n + 1);
			memset(txt, '*', n);
			txt[n] = 0;
		}
		ui_fill(win, iy, 2, w - 4, ui_role(UI_R_FIELD_ACTIVE));
		/* keep the cursor visible: show the tail when long */
		int cells = pd_utf8_width(txt);
		const char *show = txt;
		while (cells > w - 6 && *show) {
			show++;
			while ((*show & 0xC0) == 0x80)
				show++;
			cells = pd_utf8_width(show);
		}
		int used = ui_put(win, iy, 2, w - 4, show, ui_role(UI_R_FIELD_ACTIVE), false);
		free(txt);
		if (d->kind == D_PICK) {
			int ly = iy + 1, lh = h - 1 - ly;
			if (d->sel < d->top)
				d->top = d->sel;
			if (d->sel >= d->top + (size_t)lh)
				d->top = d->sel - (size_t)lh + 1;
			for (int i = 0; i < lh && d->top + (size_t)i < d->n_shown; i++) {
				size_t k = d->top + (size_t)i;
				attr_t a = ui_role(k == d->sel ? UI_R_GRID_SELECTED : UI_R_DIALOG);
				ui_put(win, ly + i, 2, w - 4, d->shown[k].label, a, true);
			}
			if (!d->n_shown)
				ui_put(win, ly, 2, w - 4, _("(nothing matches)"),
				       ui_role(UI_R_NOTE), false);
		} else {
			ui_put(win, h - 2, 2, w - 4, _("Enter = OK, Esc = cancel"),
			       ui_role(UI_R_NOTE), false);
		}
		wmove(win, iy, 2 + used);
		leaveok(win, FALSE);
		ui_app_cursor(s->app, win);
	}
}

static int edit_line(struct dialog *d, const struct ui_event *ev)
{
	if (!ev->func && ev->key >= 32 && ev->key != 127 && iswprint((wint_t)ev->key)) {
		if (d->len + 1 < sizeof d->input / sizeof d->input[0]) {
			memmove(d->input + d->cur + 1, d->input + d->cur,
			        (d->len - d->cur) * sizeof(wchar_t));
			d->input[d->cur++] = (wchar_t)ev->key;
			d->len++;
		}
		return UI_HANDLED | UI_REDRAW | 0x100;
	}
	if ((ev->func && ev->key == KEY_BACKSPACE) ||
	    (!ev->func && (ev->key == 127 || ev->key == 8))) {
		if (d->cur > 0) {
			memmove(d->input + d->cur - 1, d->input + d->cur,
			        (d->len - d->cur) * sizeof(wchar_t));
			d->cur--;
			d->len--;
		}
		return UI_HANDLED | UI_REDRAW | 0x100;
	}
	if (ev->func && ev->key == KEY_DC) {
		if (d->cur < d->len) {
			memmove(d->input + d->cur, d->input + d->cur + 1,
			        (d->len - d->cur - 1) * sizeof(wchar_t));
			d->len--;
		}
		return UI_HANDLED | UI_REDRAW | 0x100;
	}
	if (ev->func && ev->key == KEY_LEFT && d->kind == D_PROMPT) {
		if (d->cur)
			d->cur--;
		return UI_HANDLED | UI_REDRAW;
	}
	if (ev->func && ev->key == KEY_RIGHT && d->kind == D_PROMPT) {
		if (d->cur < d->len)
			d->cur++;
		return UI_HANDLED | UI_REDRAW;
	}
	if (!ev->func && ev->key == 21) { /* ^U clears */
		d->len = d->cur = 0;
		return UI_HANDLED | UI_REDRAW | 0x100;
	}
	return 0;
}

static bool is_enter(const struct ui_event *ev)
{
	return (ev->func && ev->key == KEY_ENTER) ||
	       (!ev->func && (ev->key == '\n' || ev->key == '\r'));
}

static bool is_esc(const struct ui_event *ev)
{
	return !ev->func && ev->key == 27;
}

static int d_key(struct ui_screen *s, const struct ui_event *ev)
{
	struct dialog *d = s->priv;
	struct ui_app *app = s->app;
	switch (d->kind) {
	case D_MESSAGE:
		if (is_enter(ev) || is_esc(ev) || (!ev->func && ev->key == ' ')) {
			if (d->done)
				d->done(app, d->ctx, true, NULL);
			return UI_HANDLED | UI_CLOSE;
		}
		return UI_HANDLED;
	case D_CONFIRM:
		if (!ev->func && (ev->key == 'y' || ev->key == 'Y')) {
			d->done(app, d->ctx, true, NULL);
			return UI_HANDLED | UI_CLOSE;
		}
		if (is_esc(ev) || (!ev->func && (ev->key == 'n' || ev->key == 'N'))) {
			d->done(app, d->ctx, false, NULL);
			return UI_HANDLED | UI_CLOSE;
		}
		if (is_enter(ev)) {
			d->done(app, d->ctx, d->yes, NULL);
			return UI_HANDLED | UI_CLOSE;
		}
		if ((ev->func && (ev->key == KEY_LEFT || ev->key == KEY_RIGHT)) ||
		    (!ev->func && ev->key == '\t')) {
			d->yes = !d->yes;
			return UI_HANDLED | UI_REDRAW;
		}
		return UI_HANDLED;
	case D_PROMPT:
		if (is_enter(ev)) {
			char *t = input_utf8(d);
			d->done(app, d->ctx, true, t);
			free(t);
			return UI_HANDLED | UI_CLOSE;
		}
		if (is_esc(ev)) {
			d->done(app, d->ctx, false, NULL);
			return UI_HANDLED | UI_CLOSE;
		}
		return edit_line(d, ev) | UI_HANDLED;
	case D_PICK: {
		if (is_enter(ev)) {
			if (d->n_shown) {
				char *v = xstrdup(d->shown[d->sel].value);
				d->done(app, d->ctx, true, v);
				free(v);
				return UI_HANDLED | UI_CLOSE;
			}
			return UI_HANDLED;
		}
		if (is_esc(ev)) {
			d->done(app, d->ctx, false, NULL);
			return UI_HANDLED | UI_CLOSE;
		}
		int page = getmaxy(s->win) - 5;
		if (page < 1)
			page = 1;
		if (ev->func) {
			switch (ev->key) {
			case KEY_UP:
				if (d->sel)
					d->sel--;
				return UI_HANDLED | UI_REDRAW;
			case KEY_DOWN:
				if (d->sel + 1 < d->n_shown)
					d->sel++;
				return UI_HANDLED | UI_REDRAW;
			case KEY_PPAGE:
				d->sel = d->sel > (size_t)page ? d->sel - (size_t)page : 0;
				return UI_HANDLED | UI_REDRAW;
			case KEY_NPAGE:
				d->sel += (size_t)page;
				if (d->sel >= d->n_shown)
					d->sel = d->n_shown ? d->n_shown - 1 : 0;
				return UI_HANDLED | UI_REDRAW;
			default:
				break;
			}
		}
		int r = edit_line(d, ev);
		if (r & 0x100)
			pick_refilter(d);
		return (r & ~0x100) | UI_HANDLED;
	}
	}
	return UI_HANDLED;
}

static const struct ui_screen_ops dialog_ops = {
    .name = "dialog",
    .context = UI_CTX_LIST,
    .overlay = true,
    .create = d_create,
    .destroy = d_destroy,
    .layout = d_layout,
    .draw = d_draw,
    .handle_key = d_key,
    .fkeys = N_("Enter|OK|Esc|Cancel"),
};

static struct dialog *new_dialog(enum dkind k, const char *title, const char *text, ui_done_fn done,
                                 void *ctx)
{
	struct dialog *d = xcalloc(1, sizeof *d);
	d->kind = k;
	d->title = xstrdup(title ? title : "");
	d->text = xstrdup(text ? text : "");
	d->done = done;
	d->ctx = ctx;
	return d;
}

static void push_dialog(struct ui_app *app, struct dialog *d)
{
	if (!ui_push(app, &dialog_ops, d))
		d_destroy(&(struct ui_screen){.priv = d});
}

void ui_dialog_message(struct ui_app *app, const char *title, const char *text)
{
	push_dialog(app, new_dialog(D_MESSAGE, title, text, NULL, NULL));
}

void ui_dialog_confirm(struct ui_app *app, const char *title, const char *text, ui_done_fn done,
                       void *ctx)
{
	push_dialog(app, new_dialog(D_CONFIRM, title, text, done, ctx));
}

static void set_input(struct dialog *d, const char *s)
{
	size_t n;
	d->len = 0;
	if (!s)
		return;
	n = mbstowcs(d->input, s, sizeof d->input / sizeof d->input[0] - 1);
	if (n == (size_t)-1)
		n = 0;
	d->len = d->cur = n;
}

void ui_dialog_prompt(struct ui_app *app, const char *title, const char *text, const char *initial,
                      bool secret, ui_done_fn done, void *ctx)
{
	struct dialog *d = new_dialog(D_PROMPT, title, text, done, ctx);
	d->secret = secret;
	set_input(d, initial);
	push_dialog(app, d);
}

void ui_dialog_pick(struct ui_app *app, const char *title, const struct ui_choice *c, size_t n,
                    const char *current, ui_search_fn search, void *search_ctx, ui_done_fn done,
                    void *ctx)
{
	struct dialog *d =
	    new_dialog(D_PICK, title, _("Type to filter, Enter to choose:"), done, ctx);
	d->all = choices_copy(c, n);
	d->n_all = n;
	d->search = search;
	d->search_ctx = search_ctx;
	if (search && current)
		set_input(d, current);
	pick_refilter(d);
	for (size_t i = 0; current && i < d->n_shown; i++)
		if (strcmp(d->shown[i].value, current) == 0)
			d->sel = i;
	push_dialog(app, d);
}

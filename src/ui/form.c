/* Form helpers over libform: labelled fields laid out in rows (never at
 * absolute coordinates: rebuilt from the stored values on every layout),
 * validation when a field is left with the error drawn beside it, choice,
 * toggle, secret and type-ahead lookup fields. Used by the customer edit
 * screen, the PBX/user/template forms and the creation wizard. */
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <wctype.h>

#include "ui_internal.h"

struct ffield {
	struct ui_fspec spec;
	char *value; /* current value (synced from libform on leave/read) */
	char *orig;  /* value at set/mark_clean: for ui_form_modified */
	char *error;
	char *note;    /* overrides spec.note */
	char *suggest; /* lookup: label of the best match */
	char *suggest_value;
	struct ui_choice *choices;
	size_t n_choices;
	ui_search_fn search;
	void *search_ctx;
	bool readonly, hidden;
	FIELD *fld; /* NULL when hidden or before layout */
	int row, input_w, rows;
};

struct ui_form {
	struct ui_app *app;
	struct ffield *f;
	size_t n;
	ui_form_check_fn check;
	ui_form_change_fn changed;
	void *ctx;
	FORM *form;
	FIELD **flist;
	int *fmap; /* libform index -> field index */
	WINDOW *own;
	WINDOW *parent;
	int y, x, h, w, label_w;
	int cur; /* field index that has focus */
	bool rebuild;
};

struct ui_form *ui_form_new(struct ui_app *app, const struct ui_fspec *spec, size_t n,
                            ui_form_check_fn check, ui_form_change_fn changed, void *ctx)
{
	struct ui_form *f = xcalloc(1, sizeof *f);
	f->app = app;
	f->f = xcalloc(n, sizeof *f->f);
	f->n = n;
	f->check = check;
	f->changed = changed;
	f->ctx = ctx;
	for (size_t i = 0; i < n; i++) {
		f->f[i].spec = spec[i];
		/* labels and notes are marked N_() in the specs: shown translated */
		f->f[i].spec.label = pd_tr(spec[i].label);
		f->f[i].spec.note = pd_tr(spec[i].note);
		if (!f->f[i].spec.max)
			f->f[i].spec.max = 256;
		if (f->f[i].spec.height < 1)
			f->f[i].spec.height = 1;
		f->f[i].value = xstrdup("");
		f->f[i].orig = xstrdup("");
		f->f[i].readonly = spec[i].kind == UI_F_READONLY;
	}
	f->cur = -1;
	for (size_t i = 0; i < n && f->cur < 0; i++)
		if (!f->f[i].readonly)
			f->cur = (int)i;
	return f;
}

static void teardown(struct ui_form *f)
{
	if (f->form) {
		unpost_form(f->form);
		free_form(f->form);
		f->form = NULL;
	}
	for (size_t i = 0; i < f->n; i++)
		if (f->f[i].fld) {
			free_field(f->f[i].fld);
			f->f[i].fld = NULL;
		}
	free(f->flist);
	free(f->fmap);
	f->flist = NULL;
	f->fmap = NULL;
	if (f->own) {
		delwin(f->own);
		f->own = NULL;
	}
}

void ui_form_free(struct ui_form *f)
{
	if (!f)
		return;
	teardown(f);
	for (size_t i = 0; i < f->n; i++) {
		struct ffield *x = &f->f[i];
		free(x->value);
		free(x->orig);
		free(x->error);
		free(x->note);
		free(x->suggest);
		free(x->suggest_value);
		ui_choices_free(x->choices, x->n_choices);
	}
	free(f->f);
	free(f);
}

size_t ui_form_count(const struct ui_form *f)
{
	return f->n;
}

int ui_form_index(const struct ui_form *f, const char *key)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->f[i].spec.key, key) == 0)
			return (int)i;
	return -1;
}

static bool is_text(const struct ffield *x)
{
	return x->spec.kind == UI_F_TEXT || x->spec.kind == UI_F_MULTILINE ||
	       x->spec.kind == UI_F_LOOKUP;
}

/* ---- conversion between values and libform buffers ---- */

static char *wide_to_utf8(const wchar_t *w, size_t n)
{
	pd_buf b = {0};
	for (size_t i = 0; i < n; i++) {
		char mb[8];
		mbstate_t st;
		memset(&st, 0, sizeof st);
		size_t r = wcrtomb(mb, w[i], &st);
		if (r != (size_t)-1)
			pd_buf_addn(&b, mb, r);
	}
	return pd_buf_steal(&b);
}

static wchar_t *utf8_to_wide(const char *s, size_t *n)
{
	size_t len = strlen(s);
	wchar_t *w = xmalloc((len + 1) * sizeof *w);
	mbstate_t st;
	memset(&st, 0, sizeof st);
	size_t k = 0;
	for (size_t i = 0; i < len;) {
		wchar_t wc;
		size_t r = mbrtowc(&wc, s + i, len - i, &st);
		if (r == (size_t)-1 || r == (size_t)-2 || r == 0) {
			memset(&st, 0, sizeof st);
			wc = 0xFFFD;
			r = 1;
		}
		w[k++] = wc;
		i += r;
	}
	w[k] = 0;
	*n = k;
	return w;
}

/* A multi-line buffer is rows of `cols` characters: rstrip each, join with
 * newlines, drop trailing empty rows. */
static char *buffer_to_value(const struct ffield *x)
{
	const char *buf = field_buffer(x->fld, 0);
	size_t n;
	wchar_t *w = utf8_to_wide(buf ? buf : "", &n);
	char *out;
	if (x->spec.kind == UI_F_MULTILINE) {
		int rows, cols, max;
		if (dynamic_field_info(x->fld, &rows, &cols, &max) != E_OK || cols < 1)
			cols = x->input_w;
		pd_buf b = {0};
		int pending_nl = 0;
		for (size_t r0 = 0; r0 < n; r0 += (size_t)cols) {
			size_t end = r0 + (size_t)cols < n ? r0 + (size_t)cols : n;
			while (end > r0 && w[end - 1] == L' ')
				end--;
			if (end == r0) {
				pending_nl++;
				continue;
			}
			if (b.len || pending_nl)
				for (int k = 0; k < pending_nl + (b.len ? 1 : 0); k++)
					pd_buf_addc(&b, '\n');
			pending_nl = 0;
			char *row = wide_to_utf8(w + r0, end - r0);
			pd_buf_add(&b, row);
			free(row);
		}
		out = pd_buf_steal(&b);
	} else {
		size_t end = n;
		while (end > 0 && w[end - 1] == L' ')
			end--;
		size_t start = 0;
		while (start < end && w[start] == L' ')
			start++;
		out = wide_to_utf8(w + start, end - start);
	}
	free(w);
	return out;
}

static char *value_to_buffer(const struct ffield *x, const char *v, int cols)
{
	if (x->spec.kind != UI_F_MULTILINE)
		return xstrdup(v);
	/* each line padded to whole rows so newlines survive */
	pd_buf b = {0};
	const char *p = v;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char *line = xstrndup(p, len);
		size_t n;
		wchar_t *w = utf8_to_wide(line, &n);
		size_t padded =
		    n == 0 ? (size_t)cols : ((n + (size_t)cols - 1) / (size_t)cols) * (size_t)cols;
		pd_buf_add(&b, line);
		if (nl)
			for (size_t i = n; i < padded; i++)
				pd_buf_addc(&b, ' ');
		free(w);
		free(line);
		p += len + (nl ? 1 : 0);
	}
	return pd_buf_steal(&b);
}

static const char *choice_label(const struct ffield *x, const char *v)
{
	for (size_t i = 0; i < x->n_choices; i++)
		if (strcmp(x->choices[i].value, v) == 0)
			return x->choices[i].label;
	return v;
}

/* What a non-text field shows. */
static char *display_of(const struct ffield *x)
{
	switch (x->spec.kind) {
	case UI_F_TOGGLE:
		return xstrdup(strcmp(x->value, "yes") == 0 ? _("[x] yes") : _("[ ] no"));
	case UI_F_CHOICE: {
		/* "" is a value of its own when offered ("(none)", "no access") */
		const char *l = choice_label(x, x->value);
		return xstrdup(*l ? l : _("(choose)"));
	}
	case UI_F_SECRET: {
		size_t n = pd_utf8_chars(x->value);
		char *s = xmalloc(n + 1);
		memset(s, '*', n);
		s[n] = 0;
		return s;
	}
	default:
		return xstrdup(x->value);
	}
}

static void push_to_field(struct ffield *x)
{
	if (!x->fld)
		return;
	char *d = is_text(x) ? value_to_buffer(x, x->value, x->input_w) : display_of(x);
	set_field_buffer(x->fld, 0, d);
	free(d);
}

static void cursor_to_end(struct ui_form *f);
static void run_check(struct ui_form *f, int i);

/* Copy the current libform text of field i into its value. */
static void sync_field(struct ui_form *f, int i)
{
	struct ffield *x = &f->f[i];
	if (!x->fld || !is_text(x) || x->readonly)
		return;
	if (f->form && current_field(f->form) == x->fld)
		form_driver_w(f->form, KEY_CODE_YES, REQ_VALIDATION);
	char *v = buffer_to_value(x);
	/* keep the pointer stable when nothing changed: callers may hold it */
	if (strcmp(v, x->value) == 0) {
		free(v);
		return;
	}
	free(x->value);
	x->value = v;
}

void ui_form_set(struct ui_form *f, int idx, const char *value)
{
	if (idx < 0 || (size_t)idx >= f->n)
		return;
	struct ffield *x = &f->f[idx];
	pd_set_str(&x->value, value ? value : "");
	pd_set_str(&x->orig, x->value);
	push_to_field(x);
	if (idx == f->cur)
		cursor_to_end(f);
}

void ui_form_put(struct ui_form *f, int idx, const char *value)
{
	if (idx < 0 || (size_t)idx >= f->n || f->f[idx].readonly)
		return;
	pd_set_str(&f->f[idx].value, value ? value : "");
	push_to_field(&f->f[idx]);
	if (idx == f->cur)
		cursor_to_end(f);
	run_check(f, idx);
}

const char *ui_form_get(struct ui_form *f, int idx)
{
	if (idx < 0 || (size_t)idx >= f->n)
		return "";
	sync_field(f, idx);
	return f->f[idx].value;
}

bool ui_form_get_bool(struct ui_form *f, int idx)
{
	return strcmp(ui_form_get(f, idx), "yes") == 0;
}

bool ui_form_modified(const struct ui_form *f, int idx)
{
	sync_field((struct ui_form *)f, idx);
	return strcmp(f->f[idx].value, f->f[idx].orig) != 0;
}

void ui_form_mark_clean(struct ui_form *f)
{
	for (size_t i = 0; i < f->n; i++) {
		sync_field(f, (int)i);
		pd_set_str(&f->f[i].orig, f->f[i].value);
	}
}

void ui_form_set_choices(struct ui_form *f, int idx, const struct ui_choice *c, size_t n)
{
	struct ffield *x = &f->f[idx];
	ui_choices_free(x->choices, x->n_choices);
	x->choices = xcalloc(n ? n : 1, sizeof *x->choices);
	for (size_t i = 0; i < n; i++) {
		x->choices[i].value = xstrdup(c[i].value);
		x->choices[i].label = xstrdup(c[i].label ? c[i].label : c[i].value);
	}
	x->n_choices = n;
	push_to_field(x);
}

void ui_form_set_search(struct ui_form *f, int idx, ui_search_fn search, void *ctx)
{
	f->f[idx].search = search;
	f->f[idx].search_ctx = ctx;
}

void ui_form_set_error(struct ui_form *f, int idx, const char *msg)
{
	if (idx < 0 || (size_t)idx >= f->n)
		return;
	free(f->f[idx].error);
	f->f[idx].error = msg && *msg ? xstrdup(msg) : NULL;
}

const char *ui_form_error(const struct ui_form *f, int idx)
{
	return idx >= 0 && (size_t)idx < f->n ? f->f[idx].error : NULL;
}

void ui_form_set_note(struct ui_form *f, int idx, const char *note)
{
	free(f->f[idx].note);
	f->f[idx].note = note ? xstrdup(note) : NULL;
}

void ui_form_set_readonly(struct ui_form *f, int idx, bool ro)
{
	if (f->f[idx].readonly != ro) {
		sync_field(f, idx);
		f->f[idx].readonly = ro;
		f->rebuild = true;
	}
}

void ui_form_set_hidden(struct ui_form *f, int idx, bool hidden)
{
	if (f->f[idx].hidden != hidden) {
		sync_field(f, idx);
		f->f[idx].hidden = hidden;
		f->rebuild = true;
	}
}

int ui_form_current(const struct ui_form *f)
{
	return f->cur;
}

/* A field entered with a value: the cursor goes after it, so typing
 * appends (libform would put it before the first character). */
static void cursor_to_end(struct ui_form *f)
{
	if (!f->form || f->cur < 0 || !is_text(&f->f[f->cur]) || f->f[f->cur].readonly ||
	    !f->f[f->cur].fld || current_field(f->form) != f->f[f->cur].fld)
		return;
	form_driver_w(f->form, KEY_CODE_YES,
	              f->f[f->cur].spec.kind == UI_F_MULTILINE ? REQ_END_FIELD : REQ_END_LINE);
}

/* ---- layout ---- */

static void build(struct ui_form *f)
{
	for (size_t i = 0; i < f->n; i++)
		sync_field(f, (int)i);
	teardown(f);
	f->rebuild = false;
	int by, bx;
	getbegyx(f->parent, by, bx);
	f->own = newwin(f->h, f->w, by + f->y, bx + f->x);
	if (!f->own)
		return;
	leaveok(f->own, FALSE);
	keypad(f->own, TRUE);
	int lw = 0;
	for (size_t i = 0; i < f->n; i++)
		if (!f->f[i].hidden && pd_utf8_width(f->f[i].spec.label) > lw)
			lw = pd_utf8_width(f->f[i].spec.label);
	lw += 3;
	if (lw > f->w / 3)
		lw = f->w / 3;
	f->label_w = lw;
	f->flist = xcalloc(f->n + 1, sizeof *f->flist);
	f->fmap = xcalloc(f->n + 1, sizeof *f->fmap);
	int nf = 0, row = 0;
	/* keep at least 26 cells beside each input for its error or note */
	int max_in = f->w - lw - 27;
	if (max_in < 12)
		max_in = f->w - lw - 1;
	for (size_t i = 0; i < f->n; i++) {
		struct ffield *x = &f->f[i];
		if (x->hidden)
			continue;
		int rows = x->spec.kind == UI_F_MULTILINE ? x->spec.height : 1;
		if (row + rows > f->h) {
			x->fld = NULL;
			x->row = -1;
			continue;
		}
		int wdt = x->spec.width > 0 && x->spec.width < max_in ? x->spec.width : max_in;
		if (x->spec.kind == UI_F_TOGGLE)
			wdt = 8;
		x->row = row;
		x->rows = rows;
		x->input_w = wdt;
		x->fld = new_field(rows, wdt, row, lw, 0, 0);
		if (!x->fld)
			continue;
		set_field_userptr(x->fld, x);
		field_opts_off(x->fld, O_BLANK | O_AUTOSKIP);
		if (is_text(x) && !x->readonly) {
			field_opts_off(x->fld, O_STATIC);
			if (x->spec.kind == UI_F_MULTILINE)
				set_max_field(x->fld, x->spec.max / (wdt > 0 ? wdt : 1) + 50);
			else
				set_max_field(x->fld, x->spec.max + 1);
		} else {
			field_opts_off(x->fld, O_EDIT);
			if (x->readonly)
				field_opts_off(x->fld, O_ACTIVE);
		}
		if (x->spec.kind == UI_F_MULTILINE)
			field_opts_on(x->fld, O_WRAP);
		push_to_field(x);
		f->fmap[nf] = (int)i;
		f->flist[nf++] = x->fld;
		row += rows;
	}
	f->flist[nf] = NULL;
	if (nf == 0)
		return;
	f->form = new_form(f->flist);
	if (!f->form)
		return;
	/* libform's defaults move to another field on Backspace at the start of
	 * a field and on Enter at the end of a full multiline field, behind our
	 * back (f->cur would name the field left, and what is typed next would
	 * go elsewhere): focus moves only through focus_move, which checks */
	form_opts_off(f->form, O_BS_OVERLOAD | O_NL_OVERLOAD);
	set_form_win(f->form, f->own);
	set_form_sub(f->form, f->own);
	/* focus stays on the same field across rebuilds */
	if (f->cur >= 0 && f->f[f->cur].fld && !f->f[f->cur].readonly)
		set_current_field(f->form, f->f[f->cur].fld);
	post_form(f->form);
	FIELD *cf = current_field(f->form);
	struct ffield *cx = cf ? field_userptr(cf) : NULL;
	f->cur = cx ? (int)(cx - f->f) : -1;
	cursor_to_end(f);
}

void ui_form_layout(struct ui_form *f, WINDOW *win, int y, int x, int h, int w)
{
	f->parent = win;
	f->y = y;
	f->x = x;
	f->h = h > 1 ? h : 1;
	f->w = w > 20 ? w : 20;
	build(f);
}

void ui_form_draw(struct ui_form *f, bool focused)
{
	if (f->rebuild && f->parent)
		build(f);
	if (!f->own)
		return;
	for (size_t i = 0; i < f->n; i++) {
		struct ffield *x = &f->f[i];
		if (x->hidden || !x->fld || x->row < 0)
			continue;
		bool cur = focused && (int)i == f->cur;
		attr_t la = ui_role(UI_R_LABEL) | (cur ? A_BOLD : 0);
		ui_fill(f->own, x->row, 0, f->label_w, ui_role(UI_R_LABEL));
		ui_put(f->own, x->row, 0, f->label_w - 1, x->spec.label, la, false);
		enum ui_role fr = x->readonly ? UI_R_FIELD_READONLY
		                  : cur       ? UI_R_FIELD_ACTIVE
		                              : UI_R_FIELD;
		if (field_back(x->fld) != ui_role(fr))
			set_field_back(x->fld, ui_role(fr));
		int nx = f->label_w + x->input_w + 1;
		int nw = f->w - nx;
		for (int r = 0; r < x->rows; r++)
			ui_fill(f->own, x->row + r, nx, nw, ui_role(UI_R_NORMAL));
		if (nw <= 0)
			continue;
		if (x->error) {
			char *t = xasprintf("✗ %s", x->error);
			ui_put(f->own, x->row, nx, nw, t, ui_role(UI_R_FIELD_ERROR), false);
			free(t);
		} else if (x->spec.kind == UI_F_LOOKUP && x->suggest && cur) {
			char *t = xasprintf("→ %s", x->suggest);
			ui_put(f->own, x->row, nx, nw, t, ui_role(UI_R_NOTE), false);
			free(t);
		} else {
			const char *note = x->note ? x->note : x->spec.note;
			if (cur && !note &&
			    (x->spec.kind == UI_F_CHOICE || x->spec.kind == UI_F_LOOKUP))
				note = _("Enter: choose");
			if (note) {
				bool warn = strncmp(note, "!", 1) == 0;
				ui_put(f->own, x->row, nx, nw, warn ? note + 1 : note,
				       ui_role(warn ? UI_R_WARNING : UI_R_NOTE), false);
			}
		}
	}
	ui_screen_child(f->app, f->own);
	if (focused && f->form && f->cur >= 0 && !f->f[f->cur].readonly) {
		pos_form_cursor(f->form);
		ui_app_cursor(f->app, f->own);
	}
}

/* ---- keys ---- */

static void run_check(struct ui_form *f, int i)
{
	struct ffield *x = &f->f[i];
	sync_field(f, i);
	if (x->spec.kind == UI_F_LOOKUP && *x->value && x->search) {
		/* resolve the typed text to the best match ("allem" -> DE) */
		struct ui_choice *c = NULL;
		size_t n = 0;
		x->search(x->search_ctx, x->value, &c, &n);
		bool exact = false;
		for (size_t k = 0; k < n; k++)
			if (strcasecmp(c[k].value, x->value) == 0)
				exact = true;
		if (!exact && n >= 1) {
			pd_set_str(&x->value, c[0].value);
			push_to_field(x);
		}
		ui_choices_free(c, n);
		free(x->suggest);
		x->suggest = NULL;
	}
	pd_err e;
	pd_err_clear(&e);
	free(x->error);
	x->error = NULL;
	if (f->check && f->check(f, i, f->ctx, &e) != PD_OK)
		x->error = xstrdup(e.message[0] ? e.message : pd_status_message(e.status));
	if (f->changed)
		f->changed(f, i, f->ctx);
}

static void update_suggestion(struct ui_form *f, int i)
{
	struct ffield *x = &f->f[i];
	if (x->spec.kind != UI_F_LOOKUP || !x->search)
		return;
	sync_field(f, i);
	free(x->suggest);
	free(x->suggest_value);
	x->suggest = x->suggest_value = NULL;
	if (!*x->value)
		return;
	struct ui_choice *c = NULL;
	size_t n = 0;
	x->search(x->search_ctx, x->value, &c, &n);
	if (n) {
		x->suggest =
		    n > 1 ? xasprintf(_("%s (+%zu more)"), c[0].label, n - 1) : xstrdup(c[0].label);
		x->suggest_value = xstrdup(c[0].value);
	} else {
		x->suggest = xstrdup(_("no match"));
	}
	ui_choices_free(c, n);
}

void ui_form_focus(struct ui_form *f, int idx)
{
	if (idx < 0 || (size_t)idx >= f->n)
		return;
	f->cur = idx;
	if (f->form && f->f[idx].fld && !f->f[idx].readonly) {
		set_current_field(f->form, f->f[idx].fld);
		cursor_to_end(f);
	}
}

/* Move focus with a libform request; checks the field left. */
static void focus_move(struct ui_form *f, int req)
{
	if (!f->form)
		return;
	int before = f->cur;
	form_driver_w(f->form, KEY_CODE_YES, req);
	FIELD *cf = current_field(f->form);
	struct ffield *cx = cf ? field_userptr(cf) : NULL;
	f->cur = cx ? (int)(cx - f->f) : -1;
	if (before != f->cur)
		cursor_to_end(f);
	if (before >= 0 && before != f->cur)
		run_check(f, before);
}

struct pick_ctx {
	struct ui_form *f;
	int idx;
};

static void pick_done(struct ui_app *app, void *vctx, bool ok, const char *value)
{
	struct pick_ctx *pc = vctx;
	struct ui_form *f = pc->f;
	int i = pc->idx;
	free(pc);
	if (!ok || !value)
		return;
	pd_set_str(&f->f[i].value, value);
	push_to_field(&f->f[i]);
	run_check(f, i);
}

static void open_picker(struct ui_form *f, int i)
{
	struct ffield *x = &f->f[i];
	struct pick_ctx *pc = xmalloc(sizeof *pc);
	pc->f = f;
	pc->idx = i;
	sync_field(f, i);
	ui_dialog_pick(f->app, x->spec.label, x->choices, x->n_choices, x->value, x->search,
	               x->search_ctx, pick_done, pc);
}

static bool is_enter(const struct ui_event *ev)
{
	return (ev->func && ev->key == KEY_ENTER) ||
	       (!ev->func && (ev->key == '\n' || ev->key == '\r'));
}

static void cycle_choice(struct ui_form *f, int i, int dir)
{
	struct ffield *x = &f->f[i];
	if (!x->n_choices)
		return;
	size_t k = 0;
	for (size_t j = 0; j < x->n_choices; j++)
		if (strcmp(x->choices[j].value, x->value) == 0)
			k = j;
	k = (k + x->n_choices + (size_t)(dir > 0 ? 1 : x->n_choices - 1)) % x->n_choices;
	pd_set_str(&x->value, x->choices[k].value);
	push_to_field(x);
	run_check(f, i);
}

int ui_form_key(struct ui_form *f, const struct ui_event *ev)
{
	if (!f->form || f->cur < 0)
		return 0;
	struct ffield *x = &f->f[f->cur];
	int i = f->cur;
	enum ui_action a = ev->action;
	bool printable = !ev->func && ev->key >= 32 && ev->key != 127 && iswprint((wint_t)ev->key);

	/* typing goes to the field before any single-letter action */
	if (printable && !(x->spec.kind == UI_F_TOGGLE && ev->key == ' ') &&
	    !(x->spec.kind == UI_F_CHOICE && ev->key == ' ')) {
		if (is_text(x)) {
			form_driver_w(f->form, OK, (wchar_t)ev->key);
			update_suggestion(f, i);
			return UI_HANDLED | UI_REDRAW;
		}
		if (x->spec.kind == UI_F_SECRET) {
			char mb[8] = {0};
			mbstate_t st;
			memset(&st, 0, sizeof st);
			if (wcrtomb(mb, (wchar_t)ev->key, &st) != (size_t)-1 &&
			    strlen(x->value) < (size_t)x->spec.max) {
				char *nv = xasprintf("%s%s", x->value, mb);
				free(x->value);
				x->value = nv;
				push_to_field(x);
			}
			return UI_HANDLED | UI_REDRAW;
		}
		if (x->spec.kind == UI_F_CHOICE && x->n_choices) {
			/* type-ahead: jump to the first choice starting with the key */
			for (size_t k = 0; k < x->n_choices; k++)
				if ((int)towlower((wint_t)x->choices[k].label[0]) ==
				    (int)towlower((wint_t)ev->key)) {
					pd_set_str(&x->value, x->choices[k].value);
					push_to_field(x);
					run_check(f, i);
					break;
				}
			return UI_HANDLED | UI_REDRAW;
		}
		return UI_HANDLED;
	}
	bool bs = (ev->func && ev->key == KEY_BACKSPACE) ||
	          (!ev->func && (ev->key == 127 || ev->key == 8));
	if (bs) {
		if (is_text(x)) {
			form_driver_w(f->form, KEY_CODE_YES, REQ_DEL_PREV);
			update_suggestion(f, i);
		} else if (x->spec.kind == UI_F_SECRET && *x->value) {
			size_t n = strlen(x->value);
			while (n > 0 && (x->value[n - 1] & 0xC0) == 0x80)
				n--;
			if (n > 0)
				n--;
			x->value[n] = 0;
			push_to_field(x);
		}
		return UI_HANDLED | UI_REDRAW;
	}
	if (!ev->func && ev->key == 21 && (is_text(x) || x->spec.kind == UI_F_SECRET)) { /* ^U */
		if (is_text(x))
			form_driver_w(f->form, KEY_CODE_YES, REQ_CLR_FIELD);
		else {
			pd_set_str(&x->value, "");
			push_to_field(x);
		}
		update_suggestion(f, i);
		return UI_HANDLED | UI_REDRAW;
	}
	if (a == UI_A_NEXT_FIELD) {
		focus_move(f, REQ_NEXT_FIELD);
		return UI_HANDLED | UI_REDRAW;
	}
	if (a == UI_A_PREV_FIELD) {
		focus_move(f, REQ_PREV_FIELD);
		return UI_HANDLED | UI_REDRAW;
	}
	if (a == UI_A_PICK && (x->spec.kind == UI_F_CHOICE || x->spec.kind == UI_F_LOOKUP)) {
		open_picker(f, i);
		return UI_HANDLED | UI_REDRAW;
	}
	if (is_enter(ev)) {
		switch (x->spec.kind) {
		case UI_F_MULTILINE:
			form_driver_w(f->form, KEY_CODE_YES, REQ_NEW_LINE);
			break;
		case UI_F_CHOICE:
		case UI_F_LOOKUP:
			open_picker(f, i);
			break;
		case UI_F_TOGGLE:
			pd_set_str(&x->value, strcmp(x->value, "yes") == 0 ? "no" : "yes");
			push_to_field(x);
			run_check(f, i);
			break;
		default:
			focus_move(f, REQ_NEXT_FIELD);
			break;
		}
		return UI_HANDLED | UI_REDRAW;
	}
	if (!ev->func && ev->key == ' ' && x->spec.kind == UI_F_TOGGLE) {
		pd_set_str(&x->value, strcmp(x->value, "yes") == 0 ? "no" : "yes");
		push_to_field(x);
		run_check(f, i);
		return UI_HANDLED | UI_REDRAW;
	}
	if (!ev->func && ev->key == ' ' && x->spec.kind == UI_F_CHOICE) {
		open_picker(f, i);
		return UI_HANDLED | UI_REDRAW;
	}
	if (!ev->func)
		return 0;
	switch (ev->key) {
	case KEY_UP:
		if (x->spec.kind == UI_F_MULTILINE &&
		    form_driver_w(f->form, KEY_CODE_YES, REQ_UP_CHAR) == E_OK)
			return UI_HANDLED | UI_REDRAW;
		focus_move(f, REQ_PREV_FIELD);
		return UI_HANDLED | UI_REDRAW;
	case KEY_DOWN:
		if (x->spec.kind == UI_F_MULTILINE &&
		    form_driver_w(f->form, KEY_CODE_YES, REQ_DOWN_CHAR) == E_OK)
			return UI_HANDLED | UI_REDRAW;
		focus_move(f, REQ_NEXT_FIELD);
		return UI_HANDLED | UI_REDRAW;
	case KEY_LEFT:
		if (x->spec.kind == UI_F_CHOICE)
			cycle_choice(f, i, -1);
		else if (is_text(x))
			form_driver_w(f->form, KEY_CODE_YES, REQ_PREV_CHAR);
		return UI_HANDLED | UI_REDRAW;
	case KEY_RIGHT:
		if (x->spec.kind == UI_F_CHOICE)
			cycle_choice(f, i, 1);
		else if (is_text(x))
			form_driver_w(f->form, KEY_CODE_YES, REQ_NEXT_CHAR);
		return UI_HANDLED | UI_REDRAW;
	case KEY_HOME:
		if (is_text(x))
			form_driver_w(f->form, KEY_CODE_YES, REQ_BEG_LINE);
		return UI_HANDLED | UI_REDRAW;
	case KEY_END:
		if (is_text(x))
			form_driver_w(f->form, KEY_CODE_YES, REQ_END_LINE);
		return UI_HANDLED | UI_REDRAW;
	case KEY_DC:
		if (is_text(x))
			form_driver_w(f->form, KEY_CODE_YES, REQ_DEL_CHAR);
		update_suggestion(f, i);
		return UI_HANDLED | UI_REDRAW;
	default:
		return 0;
	}
}

bool ui_form_check_all(struct ui_form *f)
{
	int first = -1;
	int keep = f->cur;
	for (size_t i = 0; i < f->n; i++) {
		if (f->f[i].hidden || f->f[i].readonly)
			continue;
		f->cur = (int)i;
		run_check(f, (int)i);
		if (f->f[i].error && first < 0)
			first = (int)i;
	}
	f->cur = keep;
	if (first >= 0)
		ui_form_focus(f, first);
	return first < 0;
}

bool ui_form_apply_err(struct ui_form *f, const pd_err *e)
{
	if (!e->field[0])
		return false;
	int i = ui_form_index(f, e->field);
	if (i < 0)
		return false;
	ui_form_set_error(f, i, e->message);
	ui_form_focus(f, i);
	return true;
}

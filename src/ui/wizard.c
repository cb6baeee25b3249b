/* The creation wizard (SPEC §3.2): four form steps and a summary on one
 * screen. The values live in a pd_wiz (wizard_state.h); the libform fields
 * are rebuilt from them whenever the set of fields changes, the step changes
 * or the terminal is resized, so nothing is placed at absolute coordinates
 * and nothing typed is lost. The draft is saved on every field exit and step
 * change, and when the screen goes away unfinished (Esc-and-keep, q, SIGHUP:
 * the app loop pops every screen after the signal flag ends it). The only
 * write of a customer is the single store_customer_create() at the end. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ui_internal.h"
#include "wizard_state.h"

/* Buttons under the form; which ones a step shows is decided by buttons_of(). */
enum wbtn { B_BACK, B_NEXT, B_ADD_USER, B_DEL_USER, B_CREATE, B_CANCEL };
static const char *const btn_label[] = {
	[B_BACK] = "< Back (F5)",        [B_NEXT] = "Next > (F6)",
	[B_ADD_USER] = "+ Add user (F7)", [B_DEL_USER] = "- Remove user (F8)",
	[B_CREATE] = "Create customer",  [B_CANCEL] = "Cancel (Esc)",
};

/* A question drawn inside the wizard (so answering it can close the wizard). */
enum wask { ASK_NONE, ASK_ESC, ASK_RESUME };

struct wiz {
	struct ui_app *app;
	struct ui_screen *s;
	pd_wiz w;
	pd_wiz_ctx ctx;
	pd_template *templates;
	size_t n_templates;

	/* the current step's form, rebuilt from w */
	pd_wiz_field fields[PD_WIZ_FIELDS_MAX];
	struct ui_fspec spec[PD_WIZ_FIELDS_MAX];
	size_t nf;
	struct ui_form *form;
	bool rebuild;      /* the field set or other fields' values changed */
	bool save_pending; /* a field was left: write the draft */
	int fy, fh;        /* form rows in the window */

	bool on_buttons;
	int btn; /* index into the step's buttons */
	int summary_top;

	enum wask ask;
	int ask_sel;
	int64_t draft_saved_at;
	bool finished; /* created or discarded: no draft on destroy */

	/* name uniqueness, debounced: a thread wakes the loop 300 ms after the
	 * last keystroke in the name field; on_data then asks the store */
	pthread_t timer;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool timer_stop, timer_started;
	int64_t name_due_ms; /* 0: nothing scheduled */
	bool name_fired;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *timer_main(void *arg)
{
	struct wiz *z = arg;
	pthread_mutex_lock(&z->mu);
	while (!z->timer_stop) {
		if (!z->name_due_ms) {
			pthread_cond_wait(&z->cv, &z->mu);
			continue;
		}
		int64_t left = z->name_due_ms - now_ms();
		if (left <= 0) {
			z->name_due_ms = 0;
			z->name_fired = true;
			pthread_mutex_unlock(&z->mu);
			ui_app_wake(z->app);
			pthread_mutex_lock(&z->mu);
			continue;
		}
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += left / 1000;
		ts.tv_nsec += (left % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&z->cv, &z->mu, &ts);
	}
	pthread_mutex_unlock(&z->mu);
	return NULL;
}

static void name_schedule(struct wiz *z)
{
	pthread_mutex_lock(&z->mu);
	z->name_due_ms = now_ms() + 300;
	z->name_fired = false;
	pthread_cond_signal(&z->cv);
	pthread_mutex_unlock(&z->mu);
}

/* ---------------------------------------------------------------- values */

static bool field_has_value(const pd_wiz_field *f)
{
	return f->kind != PD_WF_NOTE && f->kind != PD_WF_FIXED;
}

/* Form -> state, for field idx. A masked secret field that shows nothing
 * keeps the secret typed earlier unless the user edited it. */
static void pull_field(struct wiz *z, int idx)
{
	const pd_wiz_field *f = &z->fields[idx];
	if (!z->form || !field_has_value(f))
		return;
	const char *v = ui_form_get(z->form, idx);
	if (f->kind == PD_WF_TOGGLE) {
		pd_wiz_set(&z->w, f->key, ui_form_get_bool(z->form, idx) ? "1" : "0");
		return;
	}
	if (f->kind == PD_WF_SECRET && (!v || !*v) && !ui_form_modified(z->form, idx))
		return;
	if (f->kind == PD_WF_COUNTRY) {
		const char *old = pd_wiz_get(&z->w, "country");
		if (old && v && !strcmp(old, v))
			return; /* unchanged: keep the resolved code */
	}
	pd_wiz_set(&z->w, f->key, v ? v : "");
}

static void pull_all(struct wiz *z)
{
	for (size_t i = 0; i < z->nf; i++)
		pull_field(z, (int)i);
}

static void save_draft(struct wiz *z)
{
	if (!z->app->store || z->finished)
		return;
	pd_err e = {0};
	if (pd_wiz_draft_save(z->app->store, &z->w, &e) != PD_OK)
		ui_msg(z->app, UI_R_STATUS_WARN, "Draft not saved: %s", e.message);
}

static int key_index(const struct wiz *z, const char *key)
{
	for (size_t i = 0; i < z->nf; i++)
		if (!strcmp(z->fields[i].key, key))
			return (int)i;
	return -1;
}

/* Side effects that change which fields exist or other fields' values. */
static bool is_structural(const char *key)
{
	static const char *const keys[] = {"country",   "product_type", "trial",
					   "no_pbx",    "pbx.template", "pbx.platform"};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (!strcmp(keys[i], key))
			return true;
	return false;
}

/* ------------------------------------------------------------ form hooks */

static pd_status form_check(struct ui_form *f, int idx, void *ctx, pd_err *e)
{
	struct wiz *z = ctx;
	(void)f;
	if (idx < 0 || (size_t)idx >= z->nf)
		return PD_OK;
	pull_field(z, idx);
	z->save_pending = true; /* a field was left */
	const char *key = z->fields[idx].key;
	char msg[256];
	if (pd_wiz_check_field(&z->ctx, &z->w, key, msg, sizeof msg)) {
		if (!strcmp(key, "name"))
			ui_form_set_note(z->form, idx, "✓ available");
		return PD_OK;
	}
	if (!strcmp(key, "name"))
		ui_form_set_note(z->form, idx, NULL);
	return pd_fail(e, PD_E_INVALID, key, "%s", msg);
}

static void form_changed(struct ui_form *f, int idx, void *ctx)
{
	struct wiz *z = ctx;
	(void)f;
	if (idx < 0 || (size_t)idx >= z->nf)
		return;
	const char *key = z->fields[idx].key;
	char before[256];
	snprintf(before, sizeof before, "%s", pd_wiz_get(&z->w, key) ? pd_wiz_get(&z->w, key) : "");
	pull_field(z, idx);
	const char *after = pd_wiz_get(&z->w, key);
	if (is_structural(key) && (strcmp(before, after ? after : "") || !strcmp(key, "country"))) {
		pd_wiz_changed(&z->ctx, &z->w, key);
		z->rebuild = true;
	}
	z->save_pending = true;
}

static void country_search(void *ctx, const char *query, struct ui_choice **out, size_t *n)
{
	struct wiz *z = ctx;
	const pd_country *m[40];
	size_t k = z->ctx.geo ? pd_geo_search(z->ctx.geo, query ? query : "", m, 40) : 0;
	*out = xcalloc(k ? k : 1, sizeof **out);
	for (size_t i = 0; i < k; i++) {
		char *label = strcmp(m[i]->name_fr, m[i]->name_en)
				      ? xasprintf("%s / %s (%s)", m[i]->name_fr, m[i]->name_en, m[i]->code)
				      : xasprintf("%s (%s)", m[i]->name_en, m[i]->code);
		(*out)[i].value = xstrdup(label); /* shown back in the field as picked */
		(*out)[i].label = label;
	}
	*n = k;
}

static enum ui_fkind fkind_of(pd_wiz_kind k)
{
	switch (k) {
	case PD_WF_NOTES:
		return UI_F_MULTILINE;
	case PD_WF_SECRET:
		return UI_F_SECRET;
	case PD_WF_CHOICE:
		return UI_F_CHOICE;
	case PD_WF_COUNTRY:
		return UI_F_LOOKUP;
	case PD_WF_TOGGLE:
		return UI_F_TOGGLE;
	case PD_WF_FIXED:
	case PD_WF_NOTE:
		return UI_F_READONLY;
	default:
		return UI_F_TEXT;
	}
}

static void layout_form(struct wiz *z);

/* Rebuild the step's form from z->w, keeping the cursor on `focus_key`. */
static void build_form(struct wiz *z, const char *focus_key)
{
	char focus[48] = "";
	if (focus_key)
		snprintf(focus, sizeof focus, "%s", focus_key);
	if (z->form) {
		ui_form_free(z->form);
		z->form = NULL;
	}
	z->rebuild = false;
	z->nf = 0;
	if (z->w.step == PD_WIZ_SUMMARY)
		return;
	z->nf = pd_wiz_fields(&z->ctx, &z->w, z->w.step, z->fields, PD_WIZ_FIELDS_MAX);
	for (size_t i = 0; i < z->nf; i++) {
		pd_wiz_field *f = &z->fields[i];
		z->spec[i] = (struct ui_fspec){
			.key = f->key,
			.label = f->label,
			.kind = fkind_of(f->kind),
			.width = f->kind == PD_WF_NOTE ? 0 : f->width,
			.height = f->rows > 1 ? f->rows : 1,
			.max = f->kind == PD_WF_NOTES ? PD_NOTES_MAX : f->kind == PD_WF_DATE ? 10 : 256,
			.note = NULL, /* long notes go under the form, beside-field room is for errors */
		};
	}
	z->form = ui_form_new(z->app, z->spec, z->nf, form_check, form_changed, z);
	for (size_t i = 0; i < z->nf; i++) {
		pd_wiz_field *f = &z->fields[i];
		int idx = (int)i;
		switch (f->kind) {
		case PD_WF_TOGGLE:
			ui_form_set(z->form, idx, pd_wiz_get_bool(&z->w, f->key) ? "yes" : "no");
			break;
		case PD_WF_FIXED: {
			char *d = pd_wiz_display(&z->ctx, &z->w, f->key);
			ui_form_set(z->form, idx, d);
			free(d);
			break;
		}
		case PD_WF_NOTE:
			ui_form_set(z->form, idx, f->note);
			break;
		case PD_WF_COUNTRY:
			ui_form_set(z->form, idx, z->w.country_text);
			ui_form_set_search(z->form, idx, country_search, z);
			break;
		case PD_WF_CHOICE: {
			pd_wiz_choices ch;
			pd_wiz_choices_get(&z->ctx, &z->w, f->key, &ch);
			struct ui_choice *uc = xcalloc(ch.n ? ch.n : 1, sizeof *uc);
			for (size_t k = 0; k < ch.n; k++) {
				uc[k].value = ch.values[k];
				uc[k].label = ch.labels[k];
			}
			ui_form_set_choices(z->form, idx, uc, ch.n);
			free(uc);
			pd_wiz_choices_free(&ch);
			ui_form_set(z->form, idx, pd_wiz_get(&z->w, f->key));
			break;
		}
		default:
			ui_form_set(z->form, idx, pd_wiz_get(&z->w, f->key));
			break;
		}
	}
	ui_form_mark_clean(z->form);
	layout_form(z);
	int fi = focus[0] ? key_index(z, focus) : -1;
	if (fi >= 0)
		ui_form_focus(z->form, fi);
}

/* ---------------------------------------------------------------- layout */

/* Notes shown under the form: the step's explanations (and the secret note). */
static size_t step_notes(const struct wiz *z, const char **out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < z->nf && n < max; i++)
		if (z->fields[i].note[0] && z->fields[i].kind != PD_WF_NOTE)
			out[n++] = z->fields[i].note;
	return n;
}

static void layout_form(struct wiz *z)
{
	struct ui_screen *s = z->s;
	if (!z->form || !s->win)
		return;
	const char *notes[8];
	int nn = (int)step_notes(z, notes, 8);
	z->fy = 3;
	z->fh = s->h - z->fy - nn - 2;
	if (z->fh < 3)
		z->fh = 3;
	ui_form_layout(z->form, s->win, z->fy, 1, z->fh, s->w - 2);
}

static void w_layout(struct ui_screen *s)
{
	struct wiz *z = s->priv;
	ui_screen_window(s, s->y, s->x, s->h, s->w);
	layout_form(z);
}

/* ------------------------------------------------------------------ draw */

static size_t buttons_of(const struct wiz *z, enum wbtn *b)
{
	size_t n = 0;
	if (z->w.step != PD_WIZ_CUSTOMER)
		b[n++] = B_BACK;
	if (z->w.step == PD_WIZ_SUMMARY) {
		b[n++] = B_CREATE;
	} else {
		b[n++] = B_NEXT;
		if (z->w.step == PD_WIZ_ROLES) {
			b[n++] = B_ADD_USER;
			if (z->w.n_users)
				b[n++] = B_DEL_USER;
		}
	}
	b[n++] = B_CANCEL;
	return n;
}

/* "1 Customer details › 2 Primary user › …"; short titles when it does not fit. */
static void draw_steps(struct wiz *z, WINDOW *win, int y, int width)
{
	static const char *const shortt[] = {"Customer", "User", "PBX", "Roles", "Summary"};
	for (int pass = 0; pass < 2; pass++) {
		pd_buf b = {0};
		for (int i = 0; i < PD_WIZ__STEPS; i++) {
			const char *t = pass ? shortt[i] : pd_wiz_step_title((pd_wiz_step)i);
			if (i < PD_WIZ_SUMMARY)
				pd_buf_printf(&b, "%s%d %s", i ? " › " : "", i + 1, t);
			else
				pd_buf_printf(&b, " › %s", t);
		}
		bool fits = pd_utf8_width(b.s) <= width;
		pd_buf_free(&b);
		if (!fits && !pass)
			continue;
		int x = 1;
		for (int i = 0; i < PD_WIZ__STEPS && x < width; i++) {
			const char *t = pass ? shortt[i] : pd_wiz_step_title((pd_wiz_step)i);
			char cell[64];
			if (i < PD_WIZ_SUMMARY)
				snprintf(cell, sizeof cell, "%d %s", i + 1, t);
			else
				snprintf(cell, sizeof cell, "%s", t);
			if (i)
				x += ui_put(win, y, x, width - x, " › ", ui_role(UI_R_NOTE), false);
			attr_t a = i == (int)z->w.step ? ui_role(UI_R_TAB_ACTIVE)
				   : i < (int)z->w.step ? ui_role(UI_R_TAB)
							: ui_role(UI_R_NOTE);
			x += ui_put(win, y, x, width - x, cell, a, false);
		}
		return;
	}
}

static void summary_lines(struct wiz *z, pd_buf *b)
{
	pd_wiz *w = &z->w;
	char *pt = pd_wiz_display(&z->ctx, w, "product_type");
	pd_buf_printf(b, "Customer\n");
	pd_buf_printf(b, "  Name          %s\n", w->name);
	pd_buf_printf(b, "  Product type  %s\n", pt);
	pd_buf_printf(b, "  Reference     %s\n", *w->reference ? w->reference : "— (the tenant id is billed)");
	pd_buf_printf(b, "  Country       %s\n", w->country_text);
	pd_buf_printf(b, "  Time zone     %s\n", w->time_zone);
	if (w->trial)
		pd_buf_printf(b, "  Trial         until %s\n", w->trial_end);
	if (*w->notes) {
		char *one = xstrdup(w->notes);
		for (char *p = one; *p; p++)
			if (*p == '\n')
				*p = ' ';
		pd_buf_printf(b, "  Notes         %s\n", one);
		free(one);
	}
	free(pt);
	pd_buf_printf(b, "Primary user (Customer Administrator)\n");
	pd_buf_printf(b, "  %s <%s>%s%s\n", w->admin.display_name, w->admin.email,
		      *w->admin.extension ? " ext. " : "", w->admin.extension);
	pd_buf_printf(b, "  An invitation email is queued when the customer is created.\n");
	pd_buf_printf(b, "PBX\n");
	if (w->no_pbx) {
		pd_buf_printf(b, "  No PBX yet\n");
	} else {
		char *pl = pd_wiz_display(&z->ctx, w, "pbx.platform");
		const char *host = pd_wiz_get(w, "pbx.f.host"), *port = pd_wiz_get(w, "pbx.f.port");
		pd_buf_printf(b, "  %s  %s%s%s  %s%s\n", pl, host, *port ? ":" : "", port,
			      w->create_disabled ? "created disabled" : "enabled",
			      *w->template_name ? "" : "");
		pd_buf_printf(b, "  Sync users: %s   Monitor: %s   Auto-provision sub-accounts: %s\n",
			      w->sync_users ? "yes" : "no", w->monitor ? "yes" : "no",
			      w->auto_provision ? "yes" : "no");
		free(pl);
	}
	pd_buf_printf(b, "Other users (%zu)\n", w->n_users);
	for (size_t i = 0; i < w->n_users; i++) {
		char key[48];
		snprintf(key, sizeof key, "users.%zu.role", i);
		char *role = pd_wiz_display(&z->ctx, w, key);
		pd_buf_printf(b, "  %s <%s>  %s\n", w->users[i].display_name, w->users[i].email,
			      *role ? role : "(no role)");
		free(role);
	}
}

static void draw_ask(struct wiz *z, WINDOW *win)
{
	const char *title, *opts[3];
	size_t n;
	char line[160];
	if (z->ask == ASK_ESC) {
		title = "Leave the wizard?";
		opts[0] = "c  Continue editing";
		opts[1] = "k  Keep the draft and close (n resumes it)";
		opts[2] = "d  Discard the draft";
		n = 3;
		snprintf(line, sizeof line, "Nothing has been created yet.");
	} else {
		title = "Resume the draft?";
		char when[32] = "";
		time_t t = (time_t)z->draft_saved_at;
		struct tm tm;
		if (t && localtime_r(&t, &tm))
			strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm);
		snprintf(line, sizeof line, "Draft of %s, saved %s, at step %d %s.",
			 *z->w.name ? z->w.name : "(no name yet)", when, (int)z->w.step + 1,
			 pd_wiz_step_title(z->w.step));
		opts[0] = "r  Resume the draft";
		opts[1] = "n  Start a new customer (discard the draft)";
		n = 2;
	}
	int h = (int)n + 6, w = getmaxx(win) - 8;
	if (w > 64)
		w = 64;
	int y0 = (getmaxy(win) - h) / 2, x0 = (getmaxx(win) - w) / 2;
	WINDOW *d = derwin(win, h, w, y0, x0);
	if (!d)
		return;
	wbkgdset(d, ui_role(UI_R_DIALOG));
	werase(d);
	ui_box(d, title);
	ui_put(d, 2, 2, w - 4, line, ui_role(UI_R_DIALOG), false);
	for (size_t i = 0; i < n; i++)
		ui_put(d, 4 + (int)i, 2, w - 4, opts[i],
		       (int)i == z->ask_sel ? ui_role(UI_R_GRID_SELECTED) : ui_role(UI_R_DIALOG), true);
	if (z->ask == ASK_RESUME && z->w.had_secret)
		ui_put(d, h - 2, 2, w - 4, "The PBX secret is never kept: type it again.",
		       ui_role(UI_R_NOTE), false);
	delwin(d);
}

static void w_draw(struct ui_screen *s)
{
	struct wiz *z = s->priv;
	WINDOW *win = s->win;
	int width = s->w;
	char title[128];
	snprintf(title, sizeof title, " + Create New Customer — step %d of 4%s", (int)z->w.step + 1,
		 z->w.step == PD_WIZ_SUMMARY ? " (summary)" : "");
	if (z->w.step == PD_WIZ_SUMMARY)
		snprintf(title, sizeof title, " + Create New Customer — summary: check, then create");
	ui_fill(win, 0, 0, width, ui_role(UI_R_TITLE));
	ui_put(win, 0, 0, width, title, ui_role(UI_R_TITLE), true);
	draw_steps(z, win, 1, width - 1);

	if (z->w.step == PD_WIZ_SUMMARY) {
		pd_buf b = {0};
		summary_lines(z, &b);
		char *text = pd_buf_steal(&b);
		int y = 3, line = 0, last = s->h - 2;
		char *save = NULL;
		for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save), line++) {
			if (line < z->summary_top || y >= last)
				continue;
			ui_put(win, y++, 1, width - 2, l,
			       l[0] != ' ' ? ui_role(UI_R_LABEL) | A_BOLD : ui_role(UI_R_NORMAL), false);
		}
		free(text);
	} else if (z->form) {
		ui_form_draw(z->form, !z->on_buttons && z->ask == ASK_NONE);
		const char *notes[8];
		size_t nn = step_notes(z, notes, 8);
		for (size_t i = 0; i < nn; i++) {
			char *l = xasprintf("• %s", notes[i]);
			ui_put(win, z->fy + z->fh + (int)i, 2, width - 3, l, ui_role(UI_R_NOTE), false);
			free(l);
		}
	}
	/* buttons */
	enum wbtn b[8];
	size_t nb = buttons_of(z, b);
	int x = 1, y = s->h - 1;
	for (size_t i = 0; i < nb; i++) {
		char cell[64];
		snprintf(cell, sizeof cell, "[ %s ]", btn_label[b[i]]);
		bool sel = z->on_buttons && (int)i == z->btn;
		x += ui_put(win, y, x, width - x, cell,
			    sel ? ui_role(UI_R_FIELD_ACTIVE) | A_REVERSE : ui_role(UI_R_FIELD), false);
		x += 2;
	}
	if (z->ask != ASK_NONE) {
		draw_ask(z, win);
		ui_app_cursor(z->app, NULL);
	} else if (z->on_buttons || z->w.step == PD_WIZ_SUMMARY) {
		ui_app_cursor(z->app, NULL);
	}
}

/* ----------------------------------------------------------------- steps */

/* Check the whole step with the core rules; errors beside their fields and
 * the cursor on the first. True when the step is clean. */
static bool step_ok(struct wiz *z)
{
	if (!z->form)
		return true;
	pull_all(z);
	pd_wiz_errors er = {0};
	size_t bad = pd_wiz_check_step(&z->ctx, &z->w, z->w.step, &er);
	int first = -1;
	for (size_t i = 0; i < z->nf; i++) {
		const char *m = pd_wiz_errors_find(&er, z->fields[i].key);
		if (field_has_value(&z->fields[i]))
			ui_form_set_error(z->form, (int)i, m);
		if (m && first < 0)
			first = (int)i;
	}
	if (bad && first < 0 && er.n) /* an error on a field not shown: say it */
		ui_msg(z->app, UI_R_STATUS_ERROR, "%s", er.v[0].message);
	pd_wiz_errors_free(&er);
	if (!bad)
		return true;
	z->on_buttons = false;
	if (first >= 0)
		ui_form_focus(z->form, first);
	ui_msg(z->app, UI_R_STATUS_ERROR, "%zu field%s to fix before going on", bad,
	       bad == 1 ? "" : "s");
	return false;
}

static void go_step(struct wiz *z, pd_wiz_step step, const char *focus)
{
	z->w.step = step;
	z->on_buttons = step == PD_WIZ_SUMMARY;
	z->btn = 0;
	z->summary_top = 0;
	build_form(z, focus);
	if (step == PD_WIZ_SUMMARY) { /* the cursor starts on "Create customer" */
		enum wbtn b[8];
		size_t nb = buttons_of(z, b);
		for (size_t i = 0; i < nb; i++)
			if (b[i] == B_CREATE)
				z->btn = (int)i;
	}
	save_draft(z);
}

static int next_step(struct wiz *z)
{
	if (z->w.step >= PD_WIZ_SUMMARY)
		return UI_HANDLED;
	if (!step_ok(z)) {
		save_draft(z);
		return UI_HANDLED | UI_REDRAW;
	}
	go_step(z, z->w.step + 1, NULL);
	return UI_HANDLED | UI_REDRAW;
}

static int prev_step(struct wiz *z)
{
	if (z->w.step == PD_WIZ_CUSTOMER)
		return UI_HANDLED;
	pull_all(z); /* Back keeps what was typed, valid or not */
	go_step(z, z->w.step - 1, NULL);
	return UI_HANDLED | UI_REDRAW;
}

static int add_user(struct wiz *z)
{
	if (z->w.step != PD_WIZ_ROLES)
		return UI_HANDLED;
	pull_all(z);
	size_t i = pd_wiz_user_add(&z->w);
	char key[48];
	snprintf(key, sizeof key, "users.%zu.display_name", i);
	z->on_buttons = false;
	build_form(z, key);
	save_draft(z);
	return UI_HANDLED | UI_REDRAW;
}

/* Removes the user whose field has the cursor (else the last one). */
static int remove_user(struct wiz *z)
{
	if (z->w.step != PD_WIZ_ROLES || !z->w.n_users)
		return UI_HANDLED;
	pull_all(z);
	size_t victim = z->w.n_users - 1;
	int cur = z->form && !z->on_buttons ? ui_form_current(z->form) : -1;
	if (cur >= 0 && (size_t)cur < z->nf && !strncmp(z->fields[cur].key, "users.", 6))
		victim = strtoul(z->fields[cur].key + 6, NULL, 10);
	pd_wiz_user_remove(&z->w, victim);
	build_form(z, NULL);
	save_draft(z);
	return UI_HANDLED | UI_REDRAW;
}

/* The one write: everything in store_customer_create's transaction. */
static int create_customer(struct wiz *z)
{
	struct ui_app *app = z->app;
	if (!app->store) {
		ui_msg(app, UI_R_STATUS_ERROR, "No database: %s", app->db_error ? app->db_error : "");
		return UI_HANDLED | UI_REDRAW;
	}
	/* every step again: another console may have taken the name meanwhile */
	for (int st = PD_WIZ_CUSTOMER; st < PD_WIZ_SUMMARY; st++) {
		pd_wiz_errors er = {0};
		size_t bad = pd_wiz_check_step(&z->ctx, &z->w, (pd_wiz_step)st, &er);
		if (bad) {
			char key[48];
			snprintf(key, sizeof key, "%s", er.v[0].key);
			pd_wiz_errors_free(&er);
			go_step(z, (pd_wiz_step)st, key);
			step_ok(z);
			return UI_HANDLED | UI_REDRAW;
		}
		pd_wiz_errors_free(&er);
	}
	pd_new_customer n;
	pd_err e = {0};
	char bad_key[48];
	pd_status st = pd_wiz_build(&z->ctx, &z->w, &n, bad_key, &e);
	pd_customer out;
	memset(&out, 0, sizeof out);
	if (st == PD_OK)
		st = store_customer_create(app->store, &n, &app->actor, &out, &e);
	pd_new_customer_free(&n);
	if (st != PD_OK) {
		if (!bad_key[0]) /* the store names its field the core's way */
			pd_wiz_key_of_field(e.field, bad_key);
		for (int s = PD_WIZ_CUSTOMER; s < PD_WIZ_SUMMARY; s++)
			if (bad_key[0] && pd_wiz_key_in_step(bad_key, (pd_wiz_step)s)) {
				go_step(z, (pd_wiz_step)s, bad_key);
				int fi = key_index(z, bad_key);
				if (fi >= 0 && z->form) {
					ui_form_set_error(z->form, fi, e.message);
					ui_form_focus(z->form, fi);
				}
				break;
			}
		ui_show_err(app, "Customer not created", &e);
		return UI_HANDLED | UI_REDRAW;
	}
	/* created: the draft has done its job */
	z->finished = true;
	pd_err de = {0};
	pd_wiz_draft_delete(app->store, &de);
	app->select_customer_id = out.id;
	ui_app_data_changed(app);
	ui_msg(app, UI_R_STATUS_OK, "Customer %s created (tenant %s); invitation queued for %s",
	       out.name, out.tenant_id, z->w.admin.email);
	pd_customer_free(&out);
	return UI_HANDLED | UI_CLOSE;
}

static int press(struct wiz *z, enum wbtn b)
{
	switch (b) {
	case B_BACK:
		return prev_step(z);
	case B_NEXT:
		return next_step(z);
	case B_ADD_USER:
		return add_user(z);
	case B_DEL_USER:
		return remove_user(z);
	case B_CREATE:
		return create_customer(z);
	case B_CANCEL:
		pull_all(z);
		z->ask = ASK_ESC;
		z->ask_sel = 0;
		return UI_HANDLED | UI_REDRAW;
	}
	return UI_HANDLED;
}

/* ------------------------------------------------------------------ keys */

static bool is_enter(const struct ui_event *ev)
{
	return (ev->func && ev->key == KEY_ENTER) ||
	       (!ev->func && (ev->key == '\n' || ev->key == '\r'));
}

static int ask_key(struct wiz *z, const struct ui_event *ev)
{
	int n = z->ask == ASK_ESC ? 3 : 2;
	int choice = -1;
	if (ev->func && ev->key == KEY_UP && z->ask_sel > 0)
		z->ask_sel--;
	else if (ev->func && ev->key == KEY_DOWN && z->ask_sel + 1 < n)
		z->ask_sel++;
	else if (is_enter(ev))
		choice = z->ask_sel;
	else if (!ev->func && ev->key == 27)
		choice = z->ask == ASK_ESC ? 0 : -2;
	else if (!ev->func && z->ask == ASK_ESC)
		choice = ev->key == 'c' ? 0 : ev->key == 'k' ? 1 : ev->key == 'd' ? 2 : -1;
	else if (!ev->func && z->ask == ASK_RESUME)
		choice = ev->key == 'r' ? 0 : ev->key == 'n' ? 1 : -1;
	if (choice == -1)
		return UI_HANDLED | UI_REDRAW;
	enum wask was = z->ask;
	z->ask = ASK_NONE;
	if (was == ASK_RESUME) {
		if (choice == -2) { /* Esc: leave it for later, draft untouched */
			z->finished = true;
			return UI_HANDLED | UI_CLOSE;
		}
		if (choice == 1) {
			pd_err e = {0};
			pd_wiz_draft_delete(z->app->store, &e);
			pd_wiz_free(&z->w);
			pd_wiz_init(&z->w);
			go_step(z, PD_WIZ_CUSTOMER, NULL);
		} else {
			char focus[48];
			snprintf(focus, sizeof focus, "%s", z->w.focus ? z->w.focus : "");
			go_step(z, z->w.step, focus);
			if (z->w.had_secret)
				ui_msg(z->app, UI_R_STATUS_WARN,
				       "Draft resumed. The PBX secret is never kept: type it again in step 3.");
			else
				ui_msg(z->app, UI_R_STATUS_OK, "Draft resumed.");
		}
		return UI_HANDLED | UI_REDRAW;
	}
	switch (choice) {
	case 1: /* keep */
		save_draft(z);
		z->finished = true;
		ui_msg(z->app, UI_R_STATUS_OK, "Draft kept: press n to resume it.");
		return UI_HANDLED | UI_CLOSE;
	case 2: { /* discard */
		pd_err e = {0};
		if (z->app->store)
			pd_wiz_draft_delete(z->app->store, &e);
		z->finished = true;
		ui_msg(z->app, UI_R_STATUS_OK, "Wizard cancelled: nothing was created.");
		return UI_HANDLED | UI_CLOSE;
	}
	default:
		return UI_HANDLED | UI_REDRAW;
	}
}

static int last_focusable(const struct wiz *z)
{
	for (int i = (int)z->nf - 1; i >= 0; i--)
		if (z->fields[i].kind != PD_WF_NOTE && z->fields[i].kind != PD_WF_FIXED)
			return i;
	return -1;
}

static int first_focusable(const struct wiz *z)
{
	for (size_t i = 0; i < z->nf; i++)
		if (z->fields[i].kind != PD_WF_NOTE && z->fields[i].kind != PD_WF_FIXED)
			return (int)i;
	return -1;
}

static int buttons_key(struct wiz *z, const struct ui_event *ev)
{
	enum wbtn b[8];
	int nb = (int)buttons_of(z, b);
	if (z->btn >= nb)
		z->btn = nb - 1;
	bool next = ev->action == UI_A_NEXT_FIELD || (ev->func && ev->key == KEY_RIGHT);
	bool prev = ev->action == UI_A_PREV_FIELD || (ev->func && ev->key == KEY_LEFT);
	if (next) {
		if (z->btn + 1 < nb)
			z->btn++;
		else if (z->form && ev->action == UI_A_NEXT_FIELD) {
			z->on_buttons = false;
			ui_form_focus(z->form, first_focusable(z));
		}
		return UI_HANDLED | UI_REDRAW;
	}
	if (prev || (ev->func && ev->key == KEY_UP)) {
		if (z->btn > 0 && prev)
			z->btn--;
		else if (z->form && last_focusable(z) >= 0) {
			z->on_buttons = false;
			ui_form_focus(z->form, last_focusable(z));
		} else if (z->w.step == PD_WIZ_SUMMARY && z->summary_top > 0)
			z->summary_top--;
		return UI_HANDLED | UI_REDRAW;
	}
	if (ev->func && ev->key == KEY_DOWN && z->w.step == PD_WIZ_SUMMARY) {
		z->summary_top++;
		return UI_HANDLED | UI_REDRAW;
	}
	if (is_enter(ev) || (!ev->func && ev->key == ' '))
		return press(z, b[z->btn]);
	return 0;
}

/* After the form handled a key: apply side effects, rebuild, debounce. */
static int after_form_key(struct wiz *z, int r)
{
	int cur = ui_form_current(z->form);
	if (cur >= 0 && (size_t)cur < z->nf && !strcmp(z->fields[cur].key, "name")) {
		const char *v = ui_form_get(z->form, cur);
		if (v && strcmp(v, z->w.name)) {
			pd_wiz_set(&z->w, "name", v);
			ui_form_set_note(z->form, cur, NULL);
			name_schedule(z);
		}
	}
	if (cur >= 0 && (size_t)cur < z->nf) {
		free(z->w.focus);
		z->w.focus = xstrdup(z->fields[cur].key);
	}
	if (z->rebuild) {
		char focus[48];
		snprintf(focus, sizeof focus, "%s",
			 cur >= 0 && (size_t)cur < z->nf ? z->fields[cur].key : "");
		build_form(z, focus);
		r |= UI_REDRAW;
	}
	if (z->save_pending) {
		z->save_pending = false;
		save_draft(z);
	}
	return r;
}

static int w_key(struct ui_screen *s, const struct ui_event *ev)
{
	struct wiz *z = s->priv;
	if (z->ask != ASK_NONE)
		return ask_key(z, ev);
	/* wizard keys that no field uses */
	if (ev->func) {
		switch (ev->key) {
		case KEY_F(5):
			return prev_step(z);
		case KEY_F(6):
			return z->w.step == PD_WIZ_SUMMARY ? create_customer(z) : next_step(z);
		case KEY_F(7):
			return add_user(z);
		case KEY_F(8):
			return remove_user(z);
		default:
			break;
		}
	}
	if (ev->action == UI_A_SAVE)
		return z->w.step == PD_WIZ_SUMMARY ? create_customer(z) : next_step(z);
	if (!ev->func && ev->key == 27) {
		pull_all(z);
		z->ask = ASK_ESC;
		z->ask_sel = 0;
		return UI_HANDLED | UI_REDRAW;
	}
	if (z->on_buttons || !z->form) {
		int r = buttons_key(z, ev);
		if (r)
			return r;
		if (ev->func && ev->key == KEY_NPAGE)
			return next_step(z);
		if (ev->func && ev->key == KEY_PPAGE)
			return prev_step(z);
		/* swallow printable keys so "q" or "?" do not leave the wizard */
		return ev->action == UI_A_HELP ? 0 : UI_HANDLED;
	}
	/* Tab on the last field goes to the buttons (after checking the field) */
	if (ev->action == UI_A_NEXT_FIELD && ui_form_current(z->form) == last_focusable(z)) {
		int cur = ui_form_current(z->form);
		pd_err e = {0};
		if (form_check(z->form, cur, z, &e) != PD_OK)
			ui_form_set_error(z->form, cur, e.message);
		else
			ui_form_set_error(z->form, cur, NULL);
		form_changed(z->form, cur, z);
		z->on_buttons = true;
		z->btn = 0;
		enum wbtn b[8];
		size_t nb = buttons_of(z, b);
		for (size_t i = 0; i < nb; i++)
			if (b[i] == B_NEXT)
				z->btn = (int)i;
		return after_form_key(z, UI_HANDLED | UI_REDRAW);
	}
	if (ev->action == UI_A_PREV_FIELD && ui_form_current(z->form) == first_focusable(z)) {
		z->on_buttons = true;
		enum wbtn b[8];
		z->btn = (int)buttons_of(z, b) - 1;
		return UI_HANDLED | UI_REDRAW;
	}
	int r = ui_form_key(z->form, ev);
	if (r)
		return after_form_key(z, r | UI_HANDLED);
	if (ev->func && ev->key == KEY_NPAGE)
		return next_step(z);
	if (ev->func && ev->key == KEY_PPAGE)
		return prev_step(z);
	return ev->action == UI_A_HELP ? 0 : UI_HANDLED;
}

/* The wake from the debounce timer (and any database change). */
static int w_on_data(struct ui_screen *s)
{
	struct wiz *z = s->priv;
	pthread_mutex_lock(&z->mu);
	bool fired = z->name_fired;
	z->name_fired = false;
	pthread_mutex_unlock(&z->mu);
	if (!fired || z->w.step != PD_WIZ_CUSTOMER || !z->form)
		return 0;
	int idx = key_index(z, "name");
	if (idx < 0 || !*z->w.name)
		return 0;
	char msg[256];
	if (pd_wiz_check_field(&z->ctx, &z->w, "name", msg, sizeof msg)) {
		ui_form_set_error(z->form, idx, NULL);
		ui_form_set_note(z->form, idx, "✓ available");
	} else {
		ui_form_set_error(z->form, idx, msg);
	}
	return UI_REDRAW;
}

static const char *w_help(struct ui_screen *s)
{
	(void)s;
	return "Creation wizard: Tab / Shift-Tab move between fields (each field is checked "
	       "when you leave it). F6, F2 or PgDn: next step; F5 or PgUp: previous step (values "
	       "are kept). Enter or F4 on a choice opens its list; in Country type part of the "
	       "French or English name. Space toggles a [x] box. F7 adds a user and F8 removes "
	       "the one under the cursor (step 4). Esc asks whether to discard the draft, keep it "
	       "or continue. The draft is saved as you go (never the PBX secret) and offered "
	       "again the next time the wizard opens. Nothing is written until \"Create "
	       "customer\" on the summary.";
}

static void w_status(struct ui_screen *s, char *buf, size_t n, enum ui_role *role)
{
	struct wiz *z = s->priv;
	*role = UI_R_STATUS;
	snprintf(buf, n, "New customer — %s%s", pd_wiz_step_title(z->w.step),
		 z->app->store ? " · draft saved as you go" : " · no database");
}

/* ------------------------------------------------------------- lifecycle */

static pd_status w_create(struct ui_screen *s, void *arg, pd_err *e)
{
	struct ui_app *app = s->app;
	(void)arg;
	if (!app->store)
		return pd_fail(e, PD_E_UNAVAILABLE, NULL, "no database: %s",
			       app->db_error ? app->db_error : "cannot open it");
	if (app->read_only)
		return pd_fail(e, PD_E_USAGE, NULL, "read-only console: no customer can be created");
	struct wiz *z = xcalloc(1, sizeof *z);
	z->app = app;
	z->s = s;
	pd_wiz_init(&z->w);
	pd_err te = {0};
	if (store_template_list(app->store, &z->templates, &z->n_templates, &te) != PD_OK) {
		z->templates = NULL;
		z->n_templates = 0;
	}
	z->ctx = (pd_wiz_ctx){
		.cat = app->cat,
		.geo = app->geo,
		.store = app->store,
		.today = pd_today(),
		.trial_default_days = app->cfg ? app->cfg->trial_default_days : 30,
		.templates = z->templates,
		.n_templates = z->n_templates,
	};
	pd_err de = {0};
	pd_status ds = pd_wiz_draft_load(app->store, &z->w, &z->draft_saved_at, &de);
	if (ds == PD_OK) {
		z->ask = ASK_RESUME;
		pd_wiz_changed(&z->ctx, &z->w, "pbx.platform"); /* secret flags from the catalogue */
	} else if (ds != PD_E_NOTFOUND) {
		/* an unreadable draft is not fatal: say so and start afresh */
		ui_msg(app, UI_R_STATUS_WARN, "Draft ignored: %s", de.message);
		pd_wiz_free(&z->w);
		pd_wiz_init(&z->w);
	}
	pthread_mutex_init(&z->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&z->cv, &ca);
	pthread_condattr_destroy(&ca);
	z->timer_started = pthread_create(&z->timer, NULL, timer_main, z) == 0;
	s->priv = z;
	return PD_OK;
}

static void w_destroy(struct ui_screen *s)
{
	struct wiz *z = s->priv;
	if (!z)
		return;
	/* Leaving unfinished (q, SIGHUP, SIGTERM): keep what was typed. */
	if (!z->finished) {
		pull_all(z);
		int cur = z->form && !z->on_buttons ? ui_form_current(z->form) : -1;
		if (cur >= 0 && (size_t)cur < z->nf) {
			free(z->w.focus);
			z->w.focus = xstrdup(z->fields[cur].key);
		}
		save_draft(z);
	}
	if (z->timer_started) {
		pthread_mutex_lock(&z->mu);
		z->timer_stop = true;
		pthread_cond_signal(&z->cv);
		pthread_mutex_unlock(&z->mu);
		pthread_join(z->timer, NULL);
	}
	pthread_cond_destroy(&z->cv);
	pthread_mutex_destroy(&z->mu);
	if (z->form)
		ui_form_free(z->form);
	for (size_t i = 0; i < z->n_templates; i++)
		pd_template_free(&z->templates[i]);
	free(z->templates);
	pd_wiz_free(&z->w);
	free(z);
	s->priv = NULL;
}

static const struct ui_screen_ops wizard_ops = {
	.name = "wizard",
	.context = UI_CTX_FORM,
	.create = w_create,
	.destroy = w_destroy,
	.layout = w_layout,
	.draw = w_draw,
	.handle_key = w_key,
	.help = w_help,
	.on_data = w_on_data,
	.status = w_status,
	.fkeys = "F1|Help|F2|Next|F4|Choices|F5|Back|F6|Next|F7|Add user|F8|Del user|Esc|Cancel",
};

int ui_wizard_open(struct ui_app *app)
{
	struct ui_screen *s = ui_push(app, &wizard_ops, NULL);
	if (!s)
		return 0;
	struct wiz *z = s->priv;
	if (z->ask == ASK_NONE)
		go_step(z, PD_WIZ_CUSTOMER, NULL);
	return UI_REDRAW;
}

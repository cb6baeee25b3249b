/* The creation wizard (docs/user-guide.md, Creating a customer): four form steps and a summary on
 * one screen. The values live in a pd_wiz (wizard_state.h); the libform fields are rebuilt from
 * them whenever the set of fields changes, the step changes or the terminal is resized, so nothing
 * is placed at absolute coordinates and nothing typed is lost. The draft is saved on every field
 * exit and step change, and when the screen goes away unfinished (Esc-and-keep, q, SIGHUP: the app
 * loop pops every screen after the signal flag ends it). The only write of a customer is the single
 * store_customer_create() at the end. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wizard_internal.h"

static void wiz_note(struct wiz *z, enum ui_role role, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void wiz_note(struct wiz *z, enum ui_role role, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	pd_vsnprintf(z->note, sizeof z->note, fmt, ap);
	va_end(ap);
	z->note_role = role;
	z->app->bar_dirty = true;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *timer_main(void *arg)
{
	struct wiz *z = arg;
	pd_thread_name("pd-wiz-timer");
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

static void w_draw(struct ui_screen *s)
{
	wiz_settle(s->priv);
	wiz_draw(s);
}

static void w_layout(struct ui_screen *s)
{
	struct wiz *z = s->priv;
	ui_screen_window(s, s->y, s->x, s->h, s->w);
	wiz_layout_form(z);
}

/* ----------------------------------------------------------------- steps */

/* Check the whole step with the core rules; errors beside their fields and
 * the cursor on the first. True when the step is clean. */
static bool step_ok(struct wiz *z)
{
	if (!z->form)
		return true;
	wiz_pull_all(z);
	pd_wiz_errors *er = &z->errs;
	size_t bad = pd_wiz_check_step(&z->ctx, &z->w, z->w.step, er);
	int first = -1;
	for (size_t i = 0; i < z->nf; i++) {
		const char *m = pd_wiz_errors_find(er, z->fields[i].key);
		if (wiz_field_has_value(&z->fields[i]))
			ui_form_set_error(z->form, (int)i, m);
		if (m && first < 0)
			first = (int)i;
	}
	if (bad && first < 0) /* an error on a field not shown: say it */
		for (size_t i = 0; i < er->n; i++)
			if (pd_wiz_key_in_step(er->v[i].key, z->w.step)) {
				wiz_note(z, UI_R_STATUS_ERROR, "%s", er->v[i].message);
				break;
			}
	if (!bad)
		return true;
	z->on_buttons = false;
	if (first >= 0)
		wiz_show_field(z, first);
	wiz_note(z, UI_R_STATUS_ERROR, _("%zu field%s to fix before going on"), bad,
	         bad == 1 ? "" : "s");
	return false;
}

static void build_fkeys(struct ui_app *app, pd_wiz_step step, bool no_pbx);

static void go_step(struct wiz *z, pd_wiz_step step, const char *focus)
{
	z->note[0] = 0;
	z->w.step = step;
	build_fkeys(z->app, step, z->w.no_pbx); /* the bar names what this step does */
	z->app->bar_dirty = true;
	z->on_buttons = step == PD_WIZ_SUMMARY;
	z->btn = 0;
	z->summary_top = 0;
	wiz_build_form(z, focus);
	/* after a resume, the secret is what step 3 needs typed again */
	for (size_t i = 0; z->w.had_secret && step == PD_WIZ_PBX && i < z->nf; i++)
		if (z->fields[i].kind == PD_WF_SECRET) {
			wiz_show_field(z, (int)i);
			break;
		}
	if (step == PD_WIZ_SUMMARY) { /* the cursor starts on "Create customer" */
		enum wbtn b[8];
		size_t nb = wiz_buttons(z, b);
		for (size_t i = 0; i < nb; i++)
			if (b[i] == B_CREATE)
				z->btn = (int)i;
	}
	wiz_save_draft(z);
}

static int next_step(struct wiz *z)
{
	if (z->w.step >= PD_WIZ_SUMMARY)
		return UI_HANDLED;
	if (!step_ok(z)) {
		wiz_save_draft(z);
		return UI_HANDLED | UI_REDRAW;
	}
	go_step(z, z->w.step + 1, NULL);
	return UI_HANDLED | UI_REDRAW;
}

static int prev_step(struct wiz *z)
{
	if (z->w.step == PD_WIZ_CUSTOMER)
		return UI_HANDLED;
	wiz_pull_all(z); /* Back keeps what was typed, valid or not */
	go_step(z, z->w.step - 1, NULL);
	return UI_HANDLED | UI_REDRAW;
}

static int add_user(struct wiz *z)
{
	if (z->w.step != PD_WIZ_ROLES)
		return UI_HANDLED;
	wiz_pull_all(z);
	size_t i = pd_wiz_user_add(&z->w);
	char key[48];
	pd_snprintf(key, sizeof key, "users[%zu].display_name", i);
	z->on_buttons = false;
	wiz_build_form(z, key);
	wiz_save_draft(z);
	return UI_HANDLED | UI_REDRAW;
}

/* Removes the user whose field has the cursor (else the last one). */
static int remove_user(struct wiz *z)
{
	if (z->w.step != PD_WIZ_ROLES || !z->w.n_users)
		return UI_HANDLED;
	wiz_pull_all(z);
	size_t victim = z->w.n_users - 1;
	int cur = z->form && !z->on_buttons ? ui_form_current(z->form) : -1;
	if (cur >= 0 && (size_t)cur < z->nf && !strncmp(z->fields[cur].key, "users[", 6))
		victim = strtoul(z->fields[cur].key + 6, NULL, 10);
	pd_wiz_user_remove(&z->w, victim);
	wiz_build_form(z, NULL);
	wiz_save_draft(z);
	return UI_HANDLED | UI_REDRAW;
}

/* The one write: everything in store_customer_create's transaction. */
static int create_customer(struct wiz *z)
{
	struct ui_app *app = z->app;
	if (!app->store) {
		ui_msg(app, UI_R_STATUS_ERROR, _("No database: %s"),
		       app->db_error ? app->db_error : "");
		return UI_HANDLED | UI_REDRAW;
	}
	/* every step again: another console may have taken the name meanwhile */
	for (int st = PD_WIZ_CUSTOMER; st < PD_WIZ_SUMMARY; st++) {
		pd_wiz_errors er = {0};
		size_t bad = pd_wiz_check_step(&z->ctx, &z->w, (pd_wiz_step)st, &er);
		if (bad) {
			char key[48];
			pd_utf8_copys(key, sizeof key, er.v[0].key);
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
		if (!bad_key[0] && pd_wiz_has_field(&z->ctx, &z->w, e.field))
			pd_snprintf(bad_key, sizeof bad_key, "%.47s",
			            e.field); /* the store's name */
		for (int s = PD_WIZ_CUSTOMER; s < PD_WIZ_SUMMARY; s++)
			if (bad_key[0] && pd_wiz_key_in_step(bad_key, (pd_wiz_step)s)) {
				go_step(z, (pd_wiz_step)s, bad_key);
				pd_wiz_errors_set(&z->errs, bad_key, e.message);
				int fi = wiz_key_index(z, bad_key);
				if (fi >= 0 && z->form) {
					ui_form_set_error(z->form, fi, e.message);
					z->on_buttons = false;
					wiz_show_field(z, fi);
				}
				break;
			}
		ui_show_err(app, _("Customer not created"), &e);
		return UI_HANDLED | UI_REDRAW;
	}
	/* created: the draft has done its job */
	z->finished = true;
	pd_err de = {0};
	pd_wiz_draft_delete(app->store, &de);
	app->select_customer_id = out.id;
	ui_app_data_changed(app);
	ui_msg(app, UI_R_STATUS_OK, _("Customer %s created (tenant %s); invitation queued for %s"),
	       out.name, out.tenant_id, z->w.admin.email);
	pd_customer_free(&out);
	return UI_HANDLED | UI_CLOSE;
}

/* F9 in step 4: list the users the PBX of step 3 has, before creating. */
static int discover(struct wiz *z)
{
	if (z->w.step != PD_WIZ_ROLES || z->probe)
		return UI_HANDLED;
	if (z->w.no_pbx) {
		wiz_note(z, UI_R_STATUS_WARN,
		         _("No PBX in step 3: there are no users to discover"));
		return UI_HANDLED;
	}
	wiz_pull_all(z);
	pd_pbx p;
	pd_err e = {0};
	pd_status st = pd_wiz_pbx(&z->ctx, &z->w, &p, &e);
	if (st == PD_OK && (!p.secret || !*p.secret))
		st = pd_fail(&e, PD_E_INVALID, "secret", _("type the secret in step 3 first"));
	if (st == PD_OK || !strcmp(e.field, "enabled")) /* created disabled still probes */
		z->probe = wiz_probe_start(z->app, &p, &e);
	pd_pbx_free(&p);
	pd_wiz_found_set(&z->w, NULL, 0, z->probe ? _("Discovering the users on the PBX…") : NULL);
	if (!z->probe)
		wiz_note(z, UI_R_STATUS_ERROR, _("PBX users not discovered: %s"), e.message);
	z->rebuild = true;
	wiz_settle(z);
	return UI_HANDLED | UI_REDRAW;
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
		wiz_pull_all(z);
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

static void focus_field(struct wiz *z, int idx)
{
	if (!z->form || idx < 0)
		return;
	z->on_buttons = false;
	wiz_show_field(z, idx);
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
			pd_utf8_copys(focus, sizeof focus, z->w.focus);
			pd_wiz_resumed(&z->ctx, &z->w);
			go_step(z, z->w.step, focus);
			if (z->w.had_secret)
				wiz_note(z, UI_R_STATUS_WARN,
				         _("Draft resumed. The PBX secret is never kept: type it "
				           "again in step 3."));
			else
				wiz_note(z, UI_R_STATUS_OK, _("Draft resumed."));
		}
		return UI_HANDLED | UI_REDRAW;
	}
	switch (choice) {
	case 1: /* keep */
		wiz_save_draft(z);
		z->finished = true;
		ui_msg(z->app, UI_R_STATUS_OK, _("Draft kept: press n to resume it."));
		return UI_HANDLED | UI_CLOSE;
	case 2: { /* discard */
		pd_err e = {0};
		if (z->app->store)
			pd_wiz_draft_delete(z->app->store, &e);
		z->finished = true;
		ui_msg(z->app, UI_R_STATUS_OK, _("Wizard cancelled: nothing was created."));
		return UI_HANDLED | UI_CLOSE;
	}
	default:
		return UI_HANDLED | UI_REDRAW;
	}
}

/* First/last wiz_focusable field of the current page (page true) or of the step. */
static int edge_field(const struct wiz *z, bool last, bool page)
{
	int lo = page ? (int)z->page_start[z->page] : 0;
	int hi = page ? (int)z->page_start[z->page + 1] : (int)z->nf;
	if (last) {
		for (int i = hi - 1; i >= lo; i--)
			if (wiz_focusable(z, i))
				return i;
	} else {
		for (int i = lo; i < hi; i++)
			if (wiz_focusable(z, i))
				return i;
	}
	return -1;
}

static void focus_buttons(struct wiz *z, enum wbtn prefer)
{
	enum wbtn b[8];
	size_t nb = wiz_buttons(z, b);
	z->on_buttons = true;
	z->btn = prefer == B_CANCEL ? (int)nb - 1 : 0;
	for (size_t i = 0; i < nb; i++)
		if (b[i] == prefer)
			z->btn = (int)i;
}

static int buttons_key(struct wiz *z, const struct ui_event *ev)
{
	enum wbtn b[8];
	int nb = (int)wiz_buttons(z, b);
	if (z->btn >= nb)
		z->btn = nb - 1;
	bool tab = ev->action == UI_A_NEXT_FIELD, backtab = ev->action == UI_A_PREV_FIELD;
	if (tab || (ev->func && ev->key == KEY_RIGHT)) {
		if (z->btn + 1 < nb)
			z->btn++;
		else if (tab && edge_field(z, false, false) >= 0)
			focus_field(z, edge_field(z, false, false));
		return UI_HANDLED | UI_REDRAW;
	}
	if (backtab || (ev->func && ev->key == KEY_LEFT)) {
		if (z->btn > 0)
			z->btn--;
		else if (backtab && edge_field(z, true, false) >= 0)
			focus_field(z, edge_field(z, true, false));
		return UI_HANDLED | UI_REDRAW;
	}
	if (ev->func && ev->key == KEY_UP) {
		if (edge_field(z, true, false) >= 0)
			focus_field(z, edge_field(z, true, false));
		else if (z->summary_top > 0)
			z->summary_top--;
		return UI_HANDLED | UI_REDRAW;
	}
	if (ev->func && ev->key == KEY_DOWN && z->w.step == PD_WIZ_SUMMARY) {
		pd_buf sb = {0};
		wiz_summary(z, &sb);
		int lines = 0;
		for (size_t i = 0; i < sb.len; i++)
			lines += sb.s[i] == '\n';
		pd_buf_free(&sb);
		if (3 + lines - z->summary_top > z->s->h - 2)
			z->summary_top++;
		return UI_HANDLED | UI_REDRAW;
	}
	if (is_enter(ev) || (!ev->func && ev->key == ' '))
		return press(z, b[z->btn]);
	return 0;
}

/* After the form handled a key: debounce the name check, remember the
 * focus for a resume, apply pending rebuilds and the draft. */
static int after_form_key(struct wiz *z, int r)
{
	int cur = ui_form_current(z->form);
	if (cur >= 0 && (size_t)cur < z->nf && !strcmp(z->fields[cur].key, "name")) {
		const char *v = ui_form_get(z->form, cur);
		if (v && strcmp(v, z->w.name)) {
			pd_wiz_set(&z->w, "name", v);
			ui_form_set_note(z->form, cur, NULL);
			z->name_ok = false;
			name_schedule(z);
		}
	}
	if (cur >= 0 && (size_t)cur < z->nf) {
		free(z->w.focus);
		z->w.focus = xstrdup(z->fields[cur].key);
	}
	if (z->rebuild)
		r |= UI_REDRAW;
	wiz_settle(z);
	return r;
}

/* Leave the current field the way the form does (check, then side effects). */
static void leave_field(struct wiz *z)
{
	int cur = ui_form_current(z->form);
	if (cur < 0)
		return;
	pd_err e = {0};
	ui_form_set_error(z->form, cur,
	                  wiz_form_check(z->form, cur, z, &e) != PD_OK ? e.message : NULL);
	wiz_form_changed(z->form, cur, z);
}

/* Tab/Down past the page's last field, Shift-Tab/Up before its first:
 * next/previous page, then the buttons. */
static int page_edge_key(struct wiz *z, const struct ui_event *ev)
{
	int cur = ui_form_current(z->form);
	bool multiline = cur >= 0 && (size_t)cur < z->nf && z->fields[cur].kind == PD_WF_NOTES;
	bool fwd = ev->action == UI_A_NEXT_FIELD || (!multiline && ev->func && ev->key == KEY_DOWN);
	bool back = ev->action == UI_A_PREV_FIELD || (!multiline && ev->func && ev->key == KEY_UP);
	if (fwd && cur == edge_field(z, true, true)) {
		leave_field(z);
		after_form_key(z, 0);
		if (z->page + 1 < z->n_pages) {
			int p = z->page + 1;
			for (size_t i = z->page_start[p]; i < z->page_start[p + 1]; i++)
				if (wiz_focusable(z, (int)i)) {
					focus_field(z, (int)i);
					break;
				}
		} else {
			focus_buttons(z, z->w.step == PD_WIZ_ROLES ? B_NEXT : B_NEXT);
		}
		return UI_HANDLED | UI_REDRAW;
	}
	if (back && cur == edge_field(z, false, true)) {
		leave_field(z);
		after_form_key(z, 0);
		if (z->page > 0) {
			int p = z->page - 1;
			for (size_t i = z->page_start[p + 1]; i-- > z->page_start[p];)
				if (wiz_focusable(z, (int)i)) {
					focus_field(z, (int)i);
					break;
				}
		} else {
			focus_buttons(z, B_CANCEL);
		}
		return UI_HANDLED | UI_REDRAW;
	}
	return 0;
}

static int w_key(struct ui_screen *s, const struct ui_event *ev)
{
	struct wiz *z = s->priv;
	wiz_settle(z);
	if (z->ask != ASK_NONE)
		return ask_key(z, ev);
	/* The wizard's own actions (keys.conf "wizard" context). A printable key
	 * someone bound to one still types into a text field: text comes first. */
	bool typing = !ev->func && ev->key >= 32 && ev->key != 127 && z->form && !z->on_buttons;
	if (!typing) {
		switch (ev->action) {
		case UI_A_WIZ_BACK:
			return prev_step(z);
		case UI_A_WIZ_NEXT:
		case UI_A_SAVE:
			return z->w.step == PD_WIZ_SUMMARY ? create_customer(z) : next_step(z);
		case UI_A_WIZ_ADD_USER:
			return add_user(z);
		case UI_A_WIZ_DEL_USER:
			return remove_user(z);
		case UI_A_WIZ_DISCOVER:
			return discover(z);
		default:
			break;
		}
	}
	if (ev->func && ev->action == UI_A_QUIT)
		return 0; /* F10 still quits; w_destroy keeps the draft */
	if (ev->action == UI_A_BACK) {
		wiz_pull_all(z);
		z->ask = ASK_ESC;
		z->ask_sel = 0;
		return UI_HANDLED | UI_REDRAW;
	}
	if (z->on_buttons || !z->form) {
		int r = buttons_key(z, ev);
		if (r)
			return r;
		if (ev->action == UI_A_PAGE_DOWN) /* never creates: only F6 / F2 do */
			return next_step(z);
		if (ev->action == UI_A_PAGE_UP)
			return prev_step(z);
		/* swallow the rest so "q" or "?" typed by habit do not leave */
		return ev->action == UI_A_HELP ? 0 : UI_HANDLED;
	}
	int r = page_edge_key(z, ev);
	if (r)
		return r;
	r = ui_form_key(z->form, ev);
	if (r)
		return after_form_key(z, r | UI_HANDLED);
	if (ev->action == UI_A_PAGE_DOWN)
		return next_step(z);
	if (ev->action == UI_A_PAGE_UP)
		return prev_step(z);
	return ev->action == UI_A_HELP ? 0 : UI_HANDLED;
}

/* The wake from the debounce timer (and any database change). */
/* The discovery thread finished: show what it found (or why not). */
static int probe_collect(struct wiz *z)
{
	pd_synced_user *u = NULL;
	size_t n = 0;
	char err[256];
	if (!z->probe || !wiz_probe_take(z->probe, &u, &n, err, sizeof err))
		return 0;
	wiz_probe_stop(z->probe);
	z->probe = NULL;
	char *status =
	    err[0] ? xasprintf(_("PBX users not discovered: %s"), err)
	    : n > PD_WIZ_FOUND_MAX
	        ? xasprintf(_("%zu users found on the PBX; the first %d can get a role "
	                      "here, all get one in the Roles tab after the first sync."),
	                    n, PD_WIZ_FOUND_MAX)
	    : n ? xasprintf(_("%zu user%s found on the PBX: give roles below (no role = no "
	                      "access); created with the customer, then kept in sync."),
	                    n, n == 1 ? "" : "s")
	        : xstrdup(_("The PBX has no users yet; they are synced after creation."));
	wiz_pull_all(z);
	pd_wiz_found_set(&z->w, u, n, status);
	free(status);
	wiz_probe_users_free(u, n);
	z->rebuild = true;
	wiz_settle(z);
	int first = pd_wiz_found_used(&z->w) ? wiz_key_index(z, "synced_users[0].role") : -1;
	if (first >= 0) /* the next thing to do: give the first one a role */
		focus_field(z, first);
	z->save_pending = true; /* the list and its roles are part of the draft */
	wiz_settle(z);
	return UI_REDRAW;
}

static int w_on_data(struct ui_screen *s)
{
	struct wiz *z = s->priv;
	/* The app redraws the status bars after any data change; redrawing the
	 * wizard in that frame too keeps the terminal cursor in the field. */
	int pr = probe_collect(z) | (ui_top(z->app) == s ? UI_REDRAW : 0);
	pthread_mutex_lock(&z->mu);
	bool fired = z->name_fired;
	z->name_fired = false;
	pthread_mutex_unlock(&z->mu);
	if (!fired || z->w.step != PD_WIZ_CUSTOMER || !z->form)
		return pr;
	int idx = wiz_key_index(z, "name");
	if (idx < 0 || !*z->w.name)
		return pr;
	char msg[256];
	z->name_ok = pd_wiz_check_field(&z->ctx, &z->w, "name", msg, sizeof msg);
	pd_wiz_errors_set(&z->errs, "name", z->name_ok ? NULL : msg);
	ui_form_set_error(z->form, idx, z->name_ok ? NULL : msg);
	ui_form_set_note(z->form, idx, z->name_ok ? _("✓ available") : NULL);
	return UI_REDRAW;
}

/* The keys of an action as bound now (keys.conf included), for the texts. */
static const char *keys_of(struct ui_app *app, enum ui_action a, char *out, size_t n)
{
	ui_keymap_keys_of(app->keys, a, out, n);
	if (!out[0])
		pd_snprintf(out, n, _("(unbound: %s)"), ui_action_name(a));
	return out;
}

static const char *w_help(struct ui_screen *s)
{
	struct wiz *z = s->priv;
	struct ui_app *app = s->app;
	char nx[64], sv[64], bk[64], pk[64], ad[64], dl[64], ds[64], es[64];
	pd_snprintf(
	    z->help, sizeof z->help,
	    _("Creation wizard: Tab / Shift-Tab move between fields (each field is checked "
	      "when you leave it). %s or %s: next step (on the summary: create the customer); "
	      "PgDn also goes on, never creates. %s or PgUp: previous step (values are kept). "
	      "Enter or %s on a choice opens its list; in Country type part of the French or "
	      "English name. Space toggles a [x] box. %s adds a user and %s removes the one "
	      "under the cursor (step 4); %s there lists the users the PBX of step 3 has "
	      "(nothing is written: they are synced after creation). %s asks whether to "
	      "discard the draft, keep it or continue. The draft is saved as you go (never the "
	      "PBX secret) and offered again the next time the wizard opens. Nothing is written "
	      "until \"Create customer\" on the summary."),
	    keys_of(app, UI_A_WIZ_NEXT, nx, sizeof nx), keys_of(app, UI_A_SAVE, sv, sizeof sv),
	    keys_of(app, UI_A_WIZ_BACK, bk, sizeof bk), keys_of(app, UI_A_PICK, pk, sizeof pk),
	    keys_of(app, UI_A_WIZ_ADD_USER, ad, sizeof ad),
	    keys_of(app, UI_A_WIZ_DEL_USER, dl, sizeof dl),
	    keys_of(app, UI_A_WIZ_DISCOVER, ds, sizeof ds), keys_of(app, UI_A_BACK, es, sizeof es));
	return z->help;
}

/* The status line: the whole error of the field under the cursor (the room
 * beside a field can cut a long one), else where the wizard is. */
static void w_status(struct ui_screen *s, char *buf, size_t n, enum ui_role *role)
{
	struct wiz *z = s->priv;
	if (z->cursor_win && ui_top(z->app) == s)
		ui_app_cursor(z->app, z->cursor_win); /* see cursor_win in wizard_internal.h */
	int cur = z->form && !z->on_buttons ? ui_form_current(z->form) : -1;
	const char *err = cur >= 0 ? ui_form_error(z->form, cur) : NULL;
	if (err) {
		*role = UI_R_STATUS_ERROR;
		char *field_err = xasprintf(_("%s: %s"), z->fields[cur].label, err);
		pd_snprintf(buf, n, "%s%s%s", z->note_role == UI_R_STATUS_ERROR ? z->note : "",
		            z->note_role == UI_R_STATUS_ERROR && z->note[0] ? " · " : "",
		            field_err);
		free(field_err);
		return;
	}
	size_t step_errs = 0;
	for (size_t i = 0; i < z->errs.n; i++)
		step_errs += pd_wiz_key_in_step(z->errs.v[i].key, z->w.step);
	if (z->note[0] && z->note_role == UI_R_STATUS_ERROR && !step_errs)
		z->note[0] = 0; /* "N fields to fix": all fixed since */
	if (z->note[0]) {
		*role = z->note_role;
		pd_utf8_copys(buf, n, z->note);
		return;
	}
	*role = UI_R_STATUS;
	pd_snprintf(buf, n, _("New customer — %s%s"), pd_wiz_step_title(z->w.step),
	            z->app->store ? _(" · draft saved as you go") : _(" · no database"));
}

/* ------------------------------------------------------------- lifecycle */

static pd_status w_create(struct ui_screen *s, void *arg, pd_err *e)
{
	struct ui_app *app = s->app;
	(void)arg;
	if (!app->store)
		return pd_fail(e, PD_E_UNAVAILABLE, NULL, _("no database: %s"),
		               app->db_error ? app->db_error : _("cannot open it"));
	if (app->read_only)
		return pd_fail(e, PD_E_USAGE, NULL,
		               _("read-only console: no customer can be created"));
	/* A user has one draft: a second wizard of the same user (another
	 * console) would overwrite the first one's draft field by field. */
	char *lock_name = xasprintf("wizard-%s", app->actor.user);
	int lock = -1;
	pd_status lst = store_lock_file(app->store, lock_name, &lock, NULL);
	free(lock_name);
	if (lst == PD_E_TEMPFAIL)
		return pd_fail(e, PD_E_TEMPFAIL, NULL,
		               _("The wizard is already open in another console of %s: finish or "
		                 "leave it there first (its draft would be overwritten)."),
		               app->actor.user);
	struct wiz *z = xcalloc(1, sizeof *z);
	z->lock_fd = lock;
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
		z->applied_template = xstrdup(z->w.template_name);
		pd_wiz_changed(&z->ctx, &z->w, "platform"); /* secret flags from the catalogue */
	} else if (ds != PD_E_NOTFOUND) {
		/* an unreadable draft is not fatal: say so and start afresh */
		ui_msg(app, UI_R_STATUS_WARN, _("Draft ignored: %s"), de.message);
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
		wiz_pull_all(z);
		int cur = z->form && !z->on_buttons ? ui_form_current(z->form) : -1;
		if (cur >= 0 && (size_t)cur < z->nf) {
			free(z->w.focus);
			z->w.focus = xstrdup(z->fields[cur].key);
		}
		wiz_save_draft(z);
	}
	wiz_probe_stop(z->probe);
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
	z->cursor_win = NULL;
	if (z->ask_win)
		delwin(z->ask_win);
	for (size_t i = 0; i < z->n_templates; i++)
		pd_template_free(&z->templates[i]);
	free(z->templates);
	pd_wiz_free(&z->w);
	free(z->applied_template);
	pd_wiz_errors_free(&z->errs);
	if (z->lock_fd >= 0) /* after the last draft write: the next wizard reads it */
		close(z->lock_fd);
	free(z);
	s->priv = NULL;
}

/* The function-key bar names the keys bound now (keys.conf may move them):
 * filled when the wizard opens; one wizard at a time. */
static char wizard_fkeys[256];

/* The key to show for an action: its first function key, else its first key. */
static void first_key(struct ui_app *app, enum ui_action a, char *out, size_t n)
{
	char all[128];
	ui_keymap_keys_of(app->keys, a, all, sizeof all);
	const char *pick = all, *p = all;
	size_t len = strcspn(all, ",");
	while (*p) {
		size_t l = strcspn(p, ",");
		if (p[0] == 'F' && p[1] >= '0' && p[1] <= '9') {
			pick = p;
			len = l;
			break;
		}
		p += l;
		while (*p == ',' || *p == ' ')
			p++;
	}
	pd_snprintf(out, n, "%.*s", (int)len, pick);
}

/* Only the keys that do something on this step: Back from step 2 on, the
 * users' keys on step 4 (Discover only with a PBX to ask). */
static void build_fkeys(struct ui_app *app, pd_wiz_step step, bool no_pbx)
{
	static const struct {
		enum ui_action a;
		const char *label;
	} bar[] = {
	    {UI_A_HELP, N_("Help")},
	    {UI_A_PICK, N_("Choices")},
	    {UI_A_WIZ_BACK, N_("Back")},
	    {UI_A_WIZ_NEXT, N_("Next")},
	    {UI_A_WIZ_ADD_USER, N_("Add user")},
	    {UI_A_WIZ_DEL_USER, N_("Del user")},
	    {UI_A_WIZ_DISCOVER, N_("Discover")},
	    {UI_A_BACK, N_("Cancel")},
	};
	size_t used = 0;
	wizard_fkeys[0] = 0;
	for (size_t i = 0; i < sizeof bar / sizeof bar[0]; i++) {
		enum ui_action a = bar[i].a;
		if ((a == UI_A_WIZ_BACK && step == PD_WIZ_CUSTOMER) ||
		    ((a == UI_A_WIZ_ADD_USER || a == UI_A_WIZ_DEL_USER) && step != PD_WIZ_ROLES) ||
		    (a == UI_A_WIZ_DISCOVER && (step != PD_WIZ_ROLES || no_pbx)))
			continue;
		char k[128];
		first_key(app, bar[i].a, k, sizeof k);
		if (!k[0])
			continue; /* unbound: nothing to show */
		int w = snprintf(wizard_fkeys + used, sizeof wizard_fkeys - used, "%s%s|%s",
		                 used ? "|" : "", k, _(bar[i].label));
		if (w < 0 || (size_t)w >= sizeof wizard_fkeys - used) {
			wizard_fkeys[used] = 0;
			break;
		}
		used += (size_t)w;
	}
}

static struct ui_screen_ops wizard_ops = {
    .name = "wizard",
    .context = UI_CTX_WIZARD,
    .create = w_create,
    .destroy = w_destroy,
    .layout = w_layout,
    .draw = w_draw,
    .handle_key = w_key,
    .help = w_help,
    .on_data = w_on_data,
    .status = w_status,
    .fkeys = wizard_fkeys,
};

int ui_wizard_open(struct ui_app *app)
{
	build_fkeys(app, PD_WIZ_CUSTOMER, false);
	struct ui_screen *s = ui_push(app, &wizard_ops, NULL);
	if (!s)
		return 0;
	struct wiz *z = s->priv;
	if (z->ask == ASK_NONE)
		go_step(z, PD_WIZ_CUSTOMER, NULL);
	return UI_REDRAW;
}

/* The wizard's layout and drawing: step indicator, the form a page at a time,
 * the notes under it, the buttons, the summary and the in-screen questions.
 * Everything is computed from the window size at each layout: nothing is
 * placed at absolute coordinates, so a resize at any step only re-lays out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wizard_internal.h"

static const char *const btn_label[] = {
    [B_BACK] = N_("< Back"),
    [B_NEXT] = N_("Next >"),
    [B_ADD_USER] = N_("+ Add user"),
    [B_DEL_USER] = N_("- Remove user"),
    [B_CREATE] = N_("Create customer"),
    [B_CANCEL] = N_("Cancel"),
};

const char *wiz_button_label(enum wbtn b)
{
	return _(btn_label[b]);
}

size_t wiz_buttons(const struct wiz *z, enum wbtn *b)
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

static size_t step_notes(const struct wiz *z, const char **out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < z->nf && n < max; i++)
		if (z->fields[i].note[0])
			out[n++] = z->fields[i].note;
	return n;
}

/* The notes under the form, each wrapped to the screen's width after its
 * bullet ("• " then "  " under it); with draw, put from row y. The rows. */
static int notes_put(struct wiz *z, bool draw, int y)
{
	const char *notes[8];
	size_t nn = step_notes(z, notes, 8);
	int width = z->s->w - 3, rows = 0; /* from column 2 */
	for (size_t i = 0; i < nn; i++) {
		char **wl = NULL;
		size_t n = ui_wrap(notes[i], width - 2, &wl);
		for (size_t k = 0; k < n; k++, rows++) {
			if (draw) {
				char *l = xasprintf("%s%s", k ? "  " : "• ", wl[k]);
				ui_put(z->s->win, y + rows, 2, width, l, ui_role(UI_R_NOTE), false);
				free(l);
			}
			free(wl[k]);
		}
		free(wl);
	}
	return rows;
}

/* ---------------------------------------------------------------- layout */

void wiz_layout_form(struct wiz *z)
{
	struct ui_screen *s = z->s;
	if (!z->form || !s->win)
		return;
	int nn = notes_put(z, false, 0);
	/* rows: title, steps, blank | form | notes | blank, buttons */
	z->fy = 3;
	z->fh = s->h - z->fy - nn - 2;
	if (z->fh < 2)
		z->fh = 2;
	z->n_pages = 0;
	z->page_start[0] = 0;
	int used = 0;
	for (size_t i = 0; i < z->nf; i++) {
		if (z->fields[i].kind == PD_WF_NOTE)
			continue; /* shown with the notes under the form */
		int rows = z->fields[i].rows > 1 ? z->fields[i].rows : 1;
		int g = z->fields[i].group, need = rows;
		if (g && (i == 0 || z->fields[i - 1].group != g)) /* a group starts: all of it */
			for (size_t k = i + 1; k < z->nf && z->fields[k].group == g; k++)
				need += z->fields[k].rows > 1 ? z->fields[k].rows : 1;
		if (used > 0 && used + need > z->fh && z->n_pages < WIZ_PAGES_MAX - 1) {
			z->page_start[++z->n_pages] = i;
			used = 0;
		}
		used += rows;
	}
	z->page_start[++z->n_pages] = z->nf;
	if (z->page >= z->n_pages)
		z->page = z->n_pages - 1;
	if (z->page < 0)
		z->page = 0;
	for (size_t i = 0; i < z->nf; i++)
		ui_form_set_hidden(z->form, (int)i,
		                   !wiz_field_on_page(z, (int)i) ||
		                       z->fields[i].kind == PD_WF_NOTE);
	z->cursor_win = NULL; /* the form's window is recreated */
	ui_form_layout(z->form, s->win, z->fy, 1, z->fh, s->w - 2);
}

bool wiz_field_on_page(const struct wiz *z, int idx)
{
	return idx >= 0 && (size_t)idx >= z->page_start[z->page] &&
	       (size_t)idx < z->page_start[z->page + 1];
}

void wiz_show_field(struct wiz *z, int idx)
{
	if (!z->form || idx < 0 || (size_t)idx >= z->nf)
		return;
	if (!wiz_field_on_page(z, idx)) {
		for (int p = 0; p < z->n_pages; p++)
			if ((size_t)idx >= z->page_start[p] && (size_t)idx < z->page_start[p + 1])
				z->page = p;
		wiz_layout_form(z);
	}
	ui_form_focus(z->form, idx);
}

/* ------------------------------------------------------------------ draw */

/* "1 Customer details › 2 Primary user › …". 80 columns cannot hold every
 * title: then the current step keeps its title and the others shorten. */
static void draw_steps(struct wiz *z, WINDOW *win, int y, int width)
{
	const char *const shortt[] = {_("Customer"), _("User"), "PBX", _("Roles"), _("Summary")};
	for (int pass = 0; pass < 3; pass++) {
		char cells[PD_WIZ__STEPS][64];
		pd_buf b = {0};
		for (int i = 0; i < PD_WIZ__STEPS; i++) {
			bool full = pass == 0 || (pass == 1 && i == (int)z->w.step);
			const char *t = full ? pd_wiz_step_title((pd_wiz_step)i) : shortt[i];
			if (i < PD_WIZ_SUMMARY)
				pd_snprintf(cells[i], sizeof cells[i], "%d %s", i + 1, t);
			else
				pd_utf8_copys(cells[i], sizeof cells[i], t);
			pd_buf_printf(&b, "%s%s", i ? " › " : "", cells[i]);
		}
		bool fits = pd_utf8_width(b.s) <= width - 1;
		pd_buf_free(&b);
		if (!fits && pass < 2)
			continue;
		int x = 1;
		for (int i = 0; i < PD_WIZ__STEPS && x < width; i++) {
			if (i)
				x += ui_put(win, y, x, width - x, " › ", ui_role(UI_R_NOTE), false);
			attr_t a = i == (int)z->w.step  ? ui_role(UI_R_TAB_ACTIVE)
			           : i < (int)z->w.step ? ui_role(UI_R_TAB)
			                                : ui_role(UI_R_NOTE);
			x += ui_put(win, y, x, width - x, cells[i], a, false);
		}
		return;
	}
}

void wiz_summary(struct wiz *z, pd_buf *b)
{
	pd_wiz *w = &z->w;
	char *pt = pd_wiz_display(&z->ctx, w, "product_type");
	pd_buf_printf(b, _("Customer\n"));
	pd_buf_printf(b, _("  Name          %s\n"), w->name);
	pd_buf_printf(b, _("  Product type  %s\n"), pt);
	pd_buf_printf(b, _("  Reference     %s\n"),
	              *w->reference ? w->reference : _("— (the tenant id is used for billing)"));
	pd_buf_printf(b, _("  Country       %s\n"), w->country_text);
	pd_buf_printf(b, _("  Time zone     %s\n"), w->time_zone);
	pd_buf_printf(b, _("  Locale        %s\n"),
	              *w->locale ? w->locale : pd_geo_default_locale(z->ctx.geo, w->country));
	pd_buf_printf(b, _("  Trial         %s%s\n"), w->trial ? _("until ") : _("no"),
	              w->trial ? w->trial_end : "");
	if (*w->notes) {
		char *one = xstrdup(w->notes);
		for (char *p = one; *p; p++)
			if (*p == '\n')
				*p = ' ';
		pd_buf_printf(b, _("  Notes         %s\n"), one);
		free(one);
	}
	free(pt);
	pd_buf_printf(b, _("Primary user: Customer Administrator\n"));
	pd_buf_printf(b, "  %s <%s>%s%s\n", w->admin.display_name, w->admin.email,
	              *w->admin.extension ? "  ext. " : "", w->admin.extension);
	pd_buf_printf(b, _("  The invitation email is queued when the customer is created.\n"));
	pd_buf_printf(b, "PBX\n");
	if (w->no_pbx) {
		pd_buf_printf(b, _("  No PBX yet\n"));
	} else {
		char *pl = pd_wiz_display(&z->ctx, w, "platform");
		const char *host = pd_wiz_get(w, "host"), *port = pd_wiz_get(w, "port");
		pd_buf_printf(b, "  %s  %s%s%s  %s%s%s\n", pl, host, *port ? ":" : "", port,
		              w->create_disabled ? _("created disabled") : "enabled",
		              *w->template_name ? "  template " : "", w->template_name);
		pd_buf_printf(b,
		              _("  Sync users %s · Monitor %s · Auto-provision sub-accounts %s\n"),
		              w->sync_users ? _("yes") : _("no"), w->monitor ? _("yes") : _("no"),
		              w->auto_provision ? _("yes") : _("no"));
		free(pl);
	}
	if (pd_wiz_found_used(w)) {
		size_t with_role = 0;
		for (size_t i = 0; i < w->n_found; i++)
			with_role += *w->found[i].role != 0;
		pd_buf_printf(b,
		              _("Users found on the PBX: %zu (synced; %zu with a role, the others "
		                "no access)\n"),
		              w->n_found, with_role);
		for (size_t i = 0; i < w->n_found; i++) {
			if (!*w->found[i].role)
				continue;
			char key[48];
			pd_snprintf(key, sizeof key, "synced_users[%zu].role", i);
			char *role = pd_wiz_display(&z->ctx, w, key);
			pd_buf_printf(b, "  %s %s  %s\n", w->found[i].endpoint,
			              w->found[i].display_name, role);
			free(role);
		}
	}
	pd_buf_printf(b, _("Other users: %zu\n"), w->n_users);
	for (size_t i = 0; i < w->n_users; i++) {
		char key[48];
		pd_snprintf(key, sizeof key, "users[%zu].role", i);
		char *role = pd_wiz_display(&z->ctx, w, key);
		pd_buf_printf(b, "  %s <%s>  %s\n", w->users[i].display_name, w->users[i].email,
		              *role ? role : _("(no role)"));
		free(role);
	}
}

/* The question box: its own window, registered as a child so it is
 * refreshed after the form's window and stays on top of it. */
static void draw_ask(struct wiz *z)
{
	struct ui_screen *s = z->s;
	const char *title, *opts[3];
	int n;
	char line[200];
	if (z->ask == ASK_ESC) {
		title = _("Leave the wizard?");
		opts[0] = _("c  Continue editing");
		opts[1] = _("k  Keep the draft and close (n resumes it)");
		opts[2] = _("d  Discard the draft");
		n = 3;
		pd_snprintf(line, sizeof line, _("Nothing has been created yet."));
	} else {
		title = _("Resume the draft?");
		char when[32] = "";
		time_t t = (time_t)z->draft_saved_at;
		struct tm tm;
		if (t && localtime_r(&t, &tm))
			/* TRANSLATORS: strftime format of a date and time a person reads
			 * (a dialog): the locale's order; tables and logs keep ISO. */
			/* xgettext:no-c-format */
			strftime(when, sizeof when, _("%Y-%m-%d %H:%M"), &tm);
		pd_snprintf(line, sizeof line, _("Draft \"%.60s\" saved %s at step %d."),
		            *z->w.name ? z->w.name : _("(no name yet)"), when, (int)z->w.step + 1);
		opts[0] = _("r  Resume the draft");
		opts[1] = _("n  Start a new customer (discard the draft)");
		n = 2;
	}
	int h = n + 6, w = s->w - 8;
	if (w > 66)
		w = 66;
	if (h > s->h)
		h = s->h;
	if (z->ask_win)
		delwin(z->ask_win);
	z->ask_win = newwin(h, w, s->y + (s->h - h) / 2, s->x + (s->w - w) / 2);
	WINDOW *d = z->ask_win;
	if (!d)
		return;
	wbkgdset(d, ui_role(UI_R_DIALOG));
	werase(d);
	ui_box(d, title);
	ui_put(d, 1, 2, w - 4, line, ui_role(UI_R_DIALOG), false);
	for (int i = 0; i < n; i++)
		ui_put(d, 3 + i, 2, w - 4, opts[i],
		       i == z->ask_sel ? ui_role(UI_R_GRID_SELECTED) : ui_role(UI_R_DIALOG), true);
	if (z->ask == ASK_RESUME && z->w.had_secret)
		ui_put(d, h - 2, 2, w - 4,
		       _("The PBX secret is never kept: you will type it again."),
		       ui_role(UI_R_WARNING), false);
	ui_screen_child(z->app, d);
}

void wiz_draw(struct ui_screen *s)
{
	struct wiz *z = s->priv;
	WINDOW *win = s->win;
	int width = s->w;
	char title[160];
	if (z->w.step == PD_WIZ_SUMMARY)
		pd_snprintf(title, sizeof title,
		            _(" + Create New Customer — summary: check, then create"));
	else
		pd_snprintf(title, sizeof title, _(" + Create New Customer — step %d of 4%s"),
		            (int)z->w.step + 1, "");
	if (z->n_pages > 1 && z->w.step != PD_WIZ_SUMMARY) {
		size_t l = strlen(title);
		pd_snprintf(title + l, sizeof title - l, _(" · page %d/%d (Tab continues)"),
		            z->page + 1, z->n_pages);
	}
	ui_fill(win, 0, 0, width, ui_role(UI_R_TITLE));
	ui_put(win, 0, 0, width, title, ui_role(UI_R_TITLE), true);
	draw_steps(z, win, 1, width - 1);

	if (z->w.step == PD_WIZ_SUMMARY) {
		pd_buf b = {0};
		wiz_summary(z, &b);
		char *text = pd_buf_steal(&b);
		int y = 3, line = 0, last = s->h - 2;
		bool more = false;
		char *save = NULL;
		for (char *l = strtok_r(text, "\n", &save); l;
		     l = strtok_r(NULL, "\n", &save), line++) {
			if (line < z->summary_top)
				continue;
			if (y >= last) {
				more = true;
				continue;
			}
			ui_put(win, y++, 1, width - 2, l,
			       l[0] != ' ' ? ui_role(UI_R_LABEL) | A_BOLD : ui_role(UI_R_NORMAL),
			       false);
		}
		if (more || z->summary_top > 0)
			ui_put(win, last, 1, width - 2,
			       more ? _("↓ more below: Down scrolls")
			            : _("↑ more above: Up scrolls"),
			       ui_role(UI_R_NOTE), false);
		free(text);
	} else if (z->form) {
		ui_form_draw(z->form, !z->on_buttons && z->ask == ASK_NONE);
		z->cursor_win = z->app->cursor_win;
		notes_put(z, true, z->fy + z->fh);
	}
	enum wbtn b[8];
	size_t nb = wiz_buttons(z, b);
	int x = 1, y = s->h - 1;
	for (size_t i = 0; i < nb && x < width; i++) {
		char cell[64];
		pd_snprintf(cell, sizeof cell, "[ %s ]", _(btn_label[b[i]]));
		bool sel = z->on_buttons && (int)i == z->btn && z->ask == ASK_NONE;
		x +=
		    ui_put(win, y, x, width - x, cell,
		           sel ? ui_role(UI_R_GRID_SELECTED) | A_BOLD : ui_role(UI_R_FIELD), false);
		x += 1;
	}
	if (z->ask != ASK_NONE) {
		draw_ask(z);
	} else if (z->ask_win) {
		delwin(z->ask_win);
		z->ask_win = NULL;
	}
	if (z->ask != ASK_NONE || z->on_buttons || z->w.step == PD_WIZ_SUMMARY) {
		ui_app_cursor(z->app, NULL);
		z->cursor_win = NULL;
	}
}

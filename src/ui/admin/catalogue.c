/* The read-only catalogue screen: product types, platforms and roles as the
 * catalogue file gives them, scrolled as one text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui_internal.h"

struct textview {
	char **lines;
	size_t n, top;
};

static void tv_add(struct textview *t, char *line)
{
	t->lines = xrealloc(t->lines, (t->n + 1) * sizeof *t->lines);
	t->lines[t->n++] = line;
}

static void cat_layout(struct ui_screen *s)
{
	ui_screen_window(s, s->y, s->x, s->h, s->w);
}

static pd_status cat_create(struct ui_screen *s, void *arg, pd_err *e)
{
	struct textview *t = xcalloc(1, sizeof *t);
	const pd_catalogue *cat = s->app->cat;
	s->priv = t;
	tv_add(t, xasprintf(_("== Product types (%zu) =="), cat->n_types));
	for (size_t i = 0; i < cat->n_types; i++) {
		const pd_product_type *p = &cat->types[i];
		tv_add(t, xasprintf("%s — %s", p->name, p->key));
		tv_add(t,
		       xasprintf(_("    %lld.%02lld %s per user/month · %s · %s"),
		                 (long long)(p->price_cents / 100),
		                 (long long)(p->price_cents % 100), p->currency ? p->currency : "",
		                 p->locked_after_assignment ? _("locked once assigned")
		                                            : _("changeable"),
		                 p->trial_allowed ? _("trial allowed") : _("no trial")));
		pd_buf b = {0};
		for (size_t k = 0; k < p->n_platforms; k++)
			pd_buf_printf(&b, "%s%s", k ? ", " : "", p->platforms[k]);
		char *pl = pd_buf_steal(&b);
		for (size_t k = 0; k < p->n_countries; k++)
			pd_buf_printf(&b, "%s%s", k ? ", " : "", p->countries[k]);
		char *co = pd_buf_steal(&b);
		tv_add(t, xasprintf(_("    platforms: %s · countries: %s"), *pl ? pl : "—",
		                    p->n_countries ? co : _("everywhere")));
		free(pl);
		free(co);
		if (p->description && *p->description)
			tv_add(t, xasprintf("    %s", pd_catalogue_text(p->description)));
	}
	tv_add(t, xstrdup(""));
	tv_add(t, xasprintf(_("== Roles (%zu) =="), cat->n_roles));
	for (size_t i = 0; i < cat->n_roles; i++)
		tv_add(t, xasprintf("%s (%s)%s — %s", pd_catalogue_text(cat->roles[i].name),
		                    cat->roles[i].key,
		                    cat->roles[i].manages_users ? _(", manages users") : "",
		                    cat->roles[i].description
		                        ? pd_catalogue_text(cat->roles[i].description)
		                        : ""));
	tv_add(t, xstrdup(""));
	tv_add(t, xasprintf(_("== PBX platforms (%zu) =="), cat->n_platforms));
	for (size_t i = 0; i < cat->n_platforms; i++) {
		const pd_platform *p = &cat->platforms[i];
		tv_add(t,
		       xasprintf("%s (%s)%s%s%s", p->name, p->key,
		                 p->supported ? "" : _(" — no driver yet"),
		                 p->has_sub_accounts ? _(" · sub-accounts: ") : "",
		                 p->has_sub_accounts && p->sub_account_label ? p->sub_account_label
		                                                             : ""));
		pd_buf b = {0};
		for (size_t k = 0; k < p->n_fields; k++)
			pd_buf_printf(&b, "%s%s%s%s", k ? ", " : "",
			              pd_catalogue_text(p->fields[k].label),
			              p->fields[k].required ? "*" : "",
			              p->fields[k].secret ? _(" (secret)") : "");
		char *f = pd_buf_steal(&b);
		tv_add(t, xasprintf(_("    fields: %s"), *f ? f : "—"));
		free(f);
	}
	tv_add(t, xstrdup(""));
	tv_add(t, xasprintf(_("Loaded from %s"), cat->path ? cat->path : _("(built in)")));
	return PD_OK;
}

static void cat_destroy(struct ui_screen *s)
{
	struct textview *t = s->priv;
	for (size_t i = 0; i < t->n; i++)
		free(t->lines[i]);
	free(t->lines);
	free(t);
}

static void cat_draw(struct ui_screen *s)
{
	struct textview *t = s->priv;
	ui_fill(s->win, 0, 0, s->w, ui_role(UI_R_TITLE));
	ui_put(s->win, 0, 1, s->w - 2,
	       _("Catalogue (read-only): product types, roles, PBX platforms"), ui_role(UI_R_TITLE),
	       false);
	for (int y = 1; y < s->h && t->top + (size_t)(y - 1) < t->n; y++) {
		const char *l = t->lines[t->top + (size_t)(y - 1)];
		attr_t a = strncmp(l, "==", 2) == 0 ? ui_role(UI_R_GRID_HEADER)
		           : l[0] != ' '            ? ui_role(UI_R_LABEL) | A_BOLD
		                                    : ui_role(UI_R_NORMAL);
		ui_put(s->win, y, 0, s->w, l, a, false);
	}
}

static int cat_key(struct ui_screen *s, const struct ui_event *ev)
{
	struct textview *t = s->priv;
	size_t page = s->h > 2 ? (size_t)s->h - 2 : 1;
	size_t maxtop = t->n > page ? t->n - page : 0;
	/* the first line shown moves over 0..maxtop as a list selection does */
	return ui_list_move(&t->top, maxtop + 1, page, ev->action);
}

const struct ui_screen_ops ui_catalogue_ops = {
    .name = "catalogue",
    .context = UI_CTX_LIST,
    .create = cat_create,
    .destroy = cat_destroy,
    .layout = cat_layout,
    .draw = cat_draw,
    .handle_key = cat_key,
    .fkeys = N_("F1|Help|Esc|Back|F10|Quit"),
};

/* Editing a customer's details, validated field by field with the same core
 * rules as the command line, saved with optimistic concurrency. A stale
 * save shows what the other person changed and offers to reapply my edits
 * on top of theirs or to discard mine: never a silent overwrite. A field
 * both changed shows both values and the user keeps one of them per field. Also the
 * customer actions (trial, disable, delete by typing the name, restore). */
#include <stdlib.h>
#include <string.h>

#include "customer/customer.h"

enum { E_NAME, E_PRODUCT, E_REF, E_COUNTRY, E_TZ, E_LOCALE, E_NOTES, E_INTERNAL, E__N };

static const struct ui_fspec edit_spec[E__N] = {
    [E_NAME] = {"name", N_("Name"), UI_F_TEXT, 40, 1, PD_NAME_MAX, NULL},
    [E_PRODUCT] = {"product_type", N_("Product type"), UI_F_CHOICE, 30, 1, 0, NULL},
    [E_REF] = {"reference", N_("Reference"), UI_F_TEXT, 30, 1, PD_REFERENCE_MAX,
               N_("optional; billing uses it")},
    [E_COUNTRY] = {"country", N_("Country"), UI_F_LOOKUP, 24, 1, 60, N_("type a name (FR/EN)")},
    [E_TZ] = {"time_zone", N_("Time zone"), UI_F_CHOICE, 30, 1, 0, NULL},
    [E_LOCALE] = {"locale", N_("Locale"), UI_F_LOOKUP, 12, 1, 16, N_("language, numbers")},
    [E_NOTES] = {"notes", N_("Notes"), UI_F_MULTILINE, 44, 4, PD_NOTES_MAX, N_("multi-line")},
    [E_INTERNAL] = {"internal_system", N_("Internal system"), UI_F_TOGGLE, 8, 1, 0,
                    N_("!for internal use only (never billed)")},
};

struct edit_ctx {
	struct ui_app *app;
	pd_customer base;  /* the version my edits started from */
	char platform[64]; /* the PBX platform, to filter product types */
	bool impact_confirmed;
	bool internal_confirmed; /* the internal-system warning was accepted */
	struct ui_screen *screen;
};

/* ---- choice sources (also used by the PBX/user forms and the wizard) ---- */

void ui_product_choices(struct ui_app *app, const char *country, const char *platform,
                        struct ui_choice **out, size_t *n)
{
	const pd_catalogue *cat = app->cat;
	*out = xcalloc(cat->n_types ? cat->n_types : 1, sizeof **out);
	*n = 0;
	for (size_t i = 0; i < cat->n_types; i++) {
		const pd_product_type *p = &cat->types[i];
		if (country && *country && !pd_product_sold_in(p, country))
			continue;
		if (platform && *platform && !pd_product_allows_platform(p, platform))
			continue;
		(*out)[*n].value = xstrdup(p->key);
		(*out)[*n].label =
		    xasprintf("%s%s", p->name, p->locked_after_assignment ? _(" (locked)") : "");
		(*n)++;
	}
}

void ui_country_search(void *ctx, const char *query, struct ui_choice **out, size_t *n)
{
	struct ui_app *app = ctx;
	const pd_country *found[40];
	size_t k = 0;
	if (query && *query)
		k = pd_geo_search(app->geo, query, found, 40);
	else
		for (size_t i = 0; i < pd_geo_count(app->geo) && k < 40; i++)
			found[k++] = pd_geo_at(app->geo, i);
	*out = xcalloc(k ? k : 1, sizeof **out);
	for (size_t i = 0; i < k; i++) {
		(*out)[i].value = xstrdup(found[i]->code);
		bool same = strcmp(found[i]->name_en, found[i]->name_fr) == 0;
		(*out)[i].label = same ? xasprintf("%s %s", found[i]->code, found[i]->name_en)
		                       : xasprintf("%s %s / %s", found[i]->code, found[i]->name_en,
		                                   found[i]->name_fr);
	}
	*n = k;
}

/* The system's supported locales (docs/user-guide.md, "Language and
 * locale") containing what is typed ("fr", "_CH"), case-insensitive; at
 * most 40. */
static void locale_search(void *ctx, const char *query, struct ui_choice **out, size_t *n)
{
	struct ui_app *app = ctx;
	size_t k = 0, total = pd_geo_locale_count(app->geo);
	*out = xcalloc(40, sizeof **out);
	for (size_t i = 0; i < total && k < 40; i++) {
		const char *l = pd_geo_locale_at(app->geo, i);
		if (query && *query && !strcasestr(l, query))
			continue;
		(*out)[k].value = xstrdup(l);
		(*out)[k].label = xstrdup(l);
		k++;
	}
	*n = k;
}

void ui_zone_choices(struct ui_app *app, const char *country, struct ui_choice **out, size_t *n)
{
	const pd_country *c = country ? pd_geo_country(app->geo, country) : NULL;
	size_t k = c ? c->n_zones : 0;
	*out = xcalloc(k ? k : 1, sizeof **out);
	for (size_t i = 0; i < k; i++) {
		(*out)[i].value = xstrdup(c->zones[i]);
		(*out)[i].label = xstrdup(c->zones[i]);
	}
	*n = k;
}

/* ---- the form ---- */

static void refresh_choices(struct edit_ctx *x, struct ui_form *f)
{
	const char *country = ui_form_get(f, E_COUNTRY);
	struct ui_choice *c;
	size_t n;
	ui_product_choices(x->app, country, x->platform, &c, &n);
	ui_form_set_choices(f, E_PRODUCT, c, n);
	ui_choices_free(c, n);
	ui_zone_choices(x->app, country, &c, &n);
	ui_form_set_choices(f, E_TZ, c, n);
	/* a choice only when the country has several zones */
	ui_form_set_readonly(f, E_TZ, n <= 1);
	ui_choices_free(c, n);
}

static pd_status edit_check(struct ui_form *f, int idx, void *vctx, pd_err *e)
{
	struct edit_ctx *x = vctx;
	struct ui_app *app = x->app;
	const char *v = ui_form_get(f, idx);
	switch (idx) {
	case E_NAME: {
		char *norm = NULL;
		pd_status st = pd_check_name(v, &norm, e);
		/* taken: the store's own refusal; a database failure here is
		 * not the field's fault and is met again at save */
		if (st == PD_OK && app->store) {
			pd_err e2 = {0};
			if (store_customer_name_free(app->store, norm, x->base.id, &e2) ==
			    PD_E_INVALID)
				st = pd_fail(e, PD_E_INVALID, "name", "%s", e2.message);
		}
		free(norm);
		return st;
	}
	case E_PRODUCT: {
		pd_status st = pd_check_product_type(app->cat, v, ui_form_get(f, E_COUNTRY), e);
		if (st != PD_OK)
			return st;
		if (strcmp(v, x->base.product_type) != 0) {
			char *impact = NULL;
			st = pd_check_product_change(app->cat, x->base.product_type, v, &impact, e);
			ui_form_set_note(f, E_PRODUCT, impact ? impact : NULL);
			free(impact);
			x->impact_confirmed = false;
		} else {
			ui_form_set_note(f, E_PRODUCT, NULL);
		}
		return st;
	}
	case E_REF:
		return pd_check_reference(v, e);
	case E_COUNTRY: {
		char cc[3];
		return pd_check_country(app->geo, v, cc, e);
	}
	case E_TZ: {
		char *out = NULL;
		pd_status st = pd_check_time_zone(app->geo, ui_form_get(f, E_COUNTRY), v, &out, e);
		free(out);
		return st;
	}
	case E_LOCALE: {
		char *out = NULL;
		pd_status st = pd_check_locale(app->geo, ui_form_get(f, E_COUNTRY), v, &out, e);
		free(out);
		return st;
	}
	case E_NOTES:
		return pd_check_notes(v, e);
	default:
		return PD_OK;
	}
}

static void edit_changed(struct ui_form *f, int idx, void *vctx)
{
	struct edit_ctx *x = vctx;
	if (idx == E_COUNTRY) {
		char cc[3];
		pd_err e;
		const char *v = ui_form_get(f, E_COUNTRY);
		if (pd_check_country(x->app->geo, v, cc, &e) == PD_OK) {
			if (strcmp(v, cc) != 0)
				ui_form_set(f, E_COUNTRY, cc);
			refresh_choices(x, f);
			const pd_country *c = pd_geo_country(x->app->geo, cc);
			const char *tz = ui_form_get(f, E_TZ);
			if (c && c->n_zones && !pd_country_has_zone(c, tz))
				ui_form_set(f, E_TZ, c->zones[0]);
			/* the old country's default locale follows the country
			 * (pd_update_locale); one chosen by hand stays */
			if (!strcmp(ui_form_get(f, E_LOCALE),
			            pd_geo_default_locale(x->app->geo, x->base.country)))
				ui_form_set(f, E_LOCALE, pd_geo_default_locale(x->app->geo, cc));
		}
		/* the product type must still be sold in the new country */
		pd_err_clear(&e);
		if (edit_check(f, E_PRODUCT, x, &e) != PD_OK)
			ui_form_set_error(f, E_PRODUCT, e.message);
		else
			ui_form_set_error(f, E_PRODUCT, NULL);
	}
}

static void set_values(struct ui_form *f, const pd_customer *c, const struct ui_app *app)
{
	ui_form_set(f, E_NAME, c->name);
	ui_form_set(f, E_PRODUCT, c->product_type);
	ui_form_set(f, E_REF, c->reference ? c->reference : "");
	ui_form_set(f, E_COUNTRY, c->country);
	ui_form_set(f, E_TZ, c->time_zone ? c->time_zone : "");
	ui_form_set(f, E_LOCALE, c->locale ? c->locale : "");
	ui_form_set(f, E_NOTES, c->notes ? c->notes : "");
	ui_form_set(f, E_INTERNAL, c->internal_system ? "yes" : "no");
	const pd_product_type *pt = pd_catalogue_product(app->cat, c->product_type);
	bool locked = pt && pt->locked_after_assignment;
	ui_form_set_readonly(f, E_PRODUCT, locked);
	ui_form_set_note(f, E_PRODUCT,
	                 locked ? _("locked once assigned: cannot be changed") : NULL);
}

static void edit_init(struct ui_form *f, void *vctx)
{
	struct edit_ctx *x = vctx;
	ui_form_set_search(f, E_COUNTRY, ui_country_search, x->app);
	ui_form_set_search(f, E_LOCALE, locale_search, x->app);
	set_values(f, &x->base, x->app);
	refresh_choices(x, f);
	/* product choices must include the current (maybe no longer sold) type */
}

/* Form values over a copy of base. */
static void form_to_customer(struct ui_form *f, const pd_customer *base, pd_customer *out)
{
	pd_customer_copy(out, base);
	char *name = pd_trim(ui_form_get(f, E_NAME));
	pd_set_str(&out->name, name);
	free(name);
	pd_set_str(&out->product_type, ui_form_get(f, E_PRODUCT));
	pd_set_str(&out->reference, ui_form_get(f, E_REF));
	pd_utf8_copys(out->country, sizeof out->country, ui_form_get(f, E_COUNTRY));
	pd_set_str(&out->time_zone, ui_form_get(f, E_TZ));
	pd_set_str(&out->locale, ui_form_get(f, E_LOCALE));
	pd_set_str(&out->notes, ui_form_get(f, E_NOTES));
	out->internal_system = ui_form_get_bool(f, E_INTERNAL);
}

static void impact_done(struct ui_app *app, void *vctx, bool ok, const char *t)
{
	struct edit_ctx *x = vctx;
	if (!ok)
		return;
	x->impact_confirmed = true;
	ui_formscreen_save(x->screen);
}

static void internal_done(struct ui_app *app, void *vctx, bool ok, const char *t)
{
	struct edit_ctx *x = vctx;
	if (!ok)
		return;
	x->internal_confirmed = true;
	ui_formscreen_save(x->screen);
}

/* Setting the internal flag asks first, with the same words as the command
 * line (pd_internal_warning) and the count this save would leave. Past the
 * limit the save is refused anyway, so no question then. True when asked. */
static bool internal_ask(struct edit_ctx *x, const pd_customer *c)
{
	struct ui_app *app = x->app;
	pd_counts n;
	pd_err ce;
	pd_err_clear(&ce);
	int64_t used =
	    store_customer_counts(app->store, pd_today(), &n, &ce) == PD_OK ? n.internal + 1 : 1;
	if (used > app->cfg->internal_systems_limit)
		return false;
	char warning[512];
	pd_internal_warning(c->name, used, app->cfg->internal_systems_limit, warning,
	                    sizeof warning);
	char *text = xasprintf(_("%s\n\nMark it internal?"), warning);
	ui_dialog_confirm(app, _("Internal system"), text, internal_done, x);
	free(text);
	return true;
}

static void open_conflict(struct edit_ctx *x, const pd_customer *mine, const pd_customer *theirs,
                          const char *message);

static pd_status edit_submit(struct ui_form *f, void *vctx, pd_err *e)
{
	struct edit_ctx *x = vctx;
	struct ui_app *app = x->app;
	if (!app->store)
		return pd_fail(e, PD_E_UNAVAILABLE, NULL, _("database unavailable: %s"),
		               app->db_error ? app->db_error : "");
	pd_customer c;
	form_to_customer(f, &x->base, &c);
	if (strcmp(c.product_type, x->base.product_type) != 0 && !x->impact_confirmed) {
		char *impact = NULL;
		pd_status st = pd_check_product_change(app->cat, x->base.product_type,
		                                       c.product_type, &impact, e);
		pd_customer_free(&c);
		if (st != PD_OK) {
			free(impact);
			return st;
		}
		ui_dialog_confirm(app, _("Change the product type?"),
		                  impact ? impact
		                         : _("Changing the product type changes the licensing."),
		                  impact_done, x);
		free(impact);
		pd_err_clear(e);
		return PD_E_CONFLICT; /* waiting for the confirmation */
	}
	if (c.internal_system && !x->base.internal_system && !x->internal_confirmed &&
	    internal_ask(x, &c)) {
		pd_customer_free(&c);
		pd_err_clear(e);
		return PD_E_CONFLICT; /* waiting for the confirmation */
	}
	pd_customer saved, current;
	memset(&saved, 0, sizeof saved);
	memset(&current, 0, sizeof current);
	pd_status st = store_customer_update(app->store, &c, &app->actor, &saved, &current, e);
	if (st == PD_OK) {
		ui_msg(app, UI_R_STATUS_OK, _("saved (version %lld)"), (long long)saved.version);
		pd_customer_free(&saved);
		pd_customer_free(&c);
		return PD_OK;
	}
	if (st == PD_E_CONFLICT) {
		open_conflict(x, &c, &current, e->message);
		pd_customer_free(&current);
		pd_customer_free(&c);
		pd_err_clear(e);
		return PD_E_CONFLICT;
	}
	pd_customer_free(&c);
	return st;
}

static void edit_free(void *vctx)
{
	struct edit_ctx *x = vctx;
	pd_customer_free(&x->base);
	free(x);
}

void ui_edit_customer(struct ui_app *app, const pd_customer *c)
{
	struct edit_ctx *x = xcalloc(1, sizeof *x);
	x->app = app;
	pd_customer_copy(&x->base, c);
	pd_pbx p;
	pd_err e;
	if (app->store && store_pbx_get(app->store, c->id, false, &p, &e) == PD_OK) {
		pd_utf8_copys(x->platform, sizeof x->platform, p.platform);
		pd_pbx_free(&p);
	}
	char *title = xasprintf(_("Edit customer: %s"), c->name);
	char draft[40];
	pd_snprintf(draft, sizeof draft, "customer/%lld", (long long)c->id);
	struct ui_formscreen_def def = {
	    .title = title,
	    .intro = _("Every field is checked when you leave it. F2 saves; if someone else saved\n"
	               "meanwhile you will see their changes before anything is overwritten."),
	    .spec = edit_spec,
	    .n = E__N,
	    .check = edit_check,
	    .changed = edit_changed,
	    .init = edit_init,
	    .submit = edit_submit,
	    .free_ctx = edit_free,
	    .ctx = x,
	    .draft = draft,
	};
	x->screen = ui_formscreen_open(app, &def);
	free(title);
}

/* ---- conflict ---- */

/* A field both of us changed, to different values, is a clash: the user
 * keeps yours or theirs for each one before anything is saved. */
enum keep { KEEP_UNDECIDED, KEEP_MINE, KEEP_THEIRS };

struct conflict {
	struct edit_ctx *x;
	pd_customer mine, theirs;
	char *message;
	enum keep keep[E__N]; /* clashes only */
	int sel;              /* the selected clash (field index), -1 when none */
	bool ask;             /* r pressed with a clash undecided */
};

static const char *field_val(const pd_customer *c, int i, char *buf, size_t n)
{
	switch (i) {
	case E_NAME:
		return c->name;
	case E_PRODUCT:
		return c->product_type;
	case E_REF:
		return c->reference ? c->reference : "";
	case E_COUNTRY:
		return c->country;
	case E_TZ:
		return c->time_zone ? c->time_zone : "";
	case E_LOCALE:
		return c->locale ? c->locale : "";
	case E_NOTES:
		return c->notes ? c->notes : "";
	case E_INTERNAL:
		return c->internal_system ? "yes" : "no";
	}
	pd_snprintf(buf, n, "?");
	return buf;
}

static bool clash(const struct conflict *k, int i)
{
	char b1[8], b2[8], b3[8];
	const char *base = field_val(&k->x->base, i, b1, sizeof b1);
	const char *th = field_val(&k->theirs, i, b2, sizeof b2);
	const char *mi = field_val(&k->mine, i, b3, sizeof b3);
	return strcmp(base, th) != 0 && strcmp(base, mi) != 0 && strcmp(th, mi) != 0;
}

/* the next clash from field i in direction dir, or -1 */
static int next_clash(const struct conflict *k, int i, int dir)
{
	for (i += dir; i >= 0 && i < E__N; i += dir)
		if (clash(k, i))
			return i;
	return -1;
}

static pd_status cf_create(struct ui_screen *s, void *arg, pd_err *e)
{
	struct conflict *k = arg;
	k->sel = next_clash(k, -1, 1);
	s->priv = k;
	return PD_OK;
}

static void cf_destroy(struct ui_screen *s)
{
	struct conflict *k = s->priv;
	pd_customer_free(&k->mine);
	pd_customer_free(&k->theirs);
	free(k->message);
	free(k);
}

static void cf_layout(struct ui_screen *s)
{
	ui_screen_window(s, s->y, s->x, s->h, s->w);
}

static void cf_draw(struct ui_screen *s)
{
	struct conflict *k = s->priv;
	WINDOW *w = s->win;
	ui_fill(w, 0, 0, s->w, ui_role(UI_R_STATUS_ERROR));
	ui_put(w, 0, 1, s->w - 2,
	       _("Conflict: someone else saved this customer while you were editing"),
	       ui_role(UI_R_STATUS_ERROR), false);
	ui_put(w, 1, 1, s->w - 2, k->message, ui_role(UI_R_NORMAL), false);
	int cw = (s->w - 30) / 3;
	int kx = 22 + 3 * cw;
	int y = 3;
	ui_fill(w, y, 0, s->w, ui_role(UI_R_GRID_HEADER));
	ui_put(w, y, 1, 17, _("Field"), ui_role(UI_R_GRID_HEADER), false);
	ui_put(w, y, 19, cw, _("Before"), ui_role(UI_R_GRID_HEADER), false);
	ui_put(w, y, 20 + cw, cw, _("Theirs (saved)"), ui_role(UI_R_GRID_HEADER), false);
	ui_put(w, y, 21 + 2 * cw, cw, _("Yours (not saved)"), ui_role(UI_R_GRID_HEADER), false);
	ui_put(w, y, kx, s->w - kx - 1, _("Keep"), ui_role(UI_R_GRID_HEADER), false);
	y++;
	char b1[8], b2[8], b3[8];
	bool any_clash = false;
	for (int i = 0; i < E__N; i++) {
		const char *base = field_val(&k->x->base, i, b1, sizeof b1);
		const char *th = field_val(&k->theirs, i, b2, sizeof b2);
		const char *mi = field_val(&k->mine, i, b3, sizeof b3);
		bool their_change = strcmp(base, th) != 0, my_change = strcmp(base, mi) != 0;
		if (!their_change && !my_change)
			continue;
		bool both = clash(k, i);
		any_clash = any_clash || both;
		const char *keep = !both ? (my_change ? _("yours") : _("theirs"))
		                   : k->keep[i] == KEEP_MINE   ? _("yours")
		                   : k->keep[i] == KEEP_THEIRS ? _("theirs")
		                                               : "? m/t";
		attr_t la = ui_role(both && i == k->sel ? UI_R_GRID_SELECTED : UI_R_LABEL);
		ui_put(w, y, 1, 17, edit_spec[i].key, la, false);
		ui_put(w, y, 19, cw, base, ui_role(UI_R_NORMAL), false);
		ui_put(w, y, 20 + cw, cw, th,
		       ui_role(their_change ? UI_R_DIFF_THEIRS : UI_R_NORMAL), false);
		ui_put(w, y, 21 + 2 * cw, cw, mi, ui_role(my_change ? UI_R_DIFF_MINE : UI_R_NORMAL),
		       false);
		ui_put(w, y, kx, s->w - kx - 1, keep,
		       ui_role(both && k->keep[i] == KEEP_UNDECIDED ? UI_R_WARNING : UI_R_NORMAL),
		       false);
		y++;
	}
	y++;
	if (any_clash) {
		ui_put(w, y++, 1, s->w - 2,
		       k->ask
		           ? _("Choose first: for each field marked ?, m keeps yours, t theirs")
		           : _("Both of you changed a field: Up/Down select it, m keeps yours, t "
		               "theirs"),
		       ui_role(k->ask ? UI_R_FIELD_ERROR : UI_R_WARNING), false);
	}
	ui_put(w, y++, 1, s->w - 2,
	       any_clash ? _("r  save: their changes, my other edits, and what I chose above")
	                 : _("r  reapply: keep their changes and put my edits on top, then save"),
	       ui_role(UI_R_NORMAL), false);
	ui_put(w, y++, 1, s->w - 2, _("d  discard my edits: load their version into the form"),
	       ui_role(UI_R_NORMAL), false);
	ui_put(w, y++, 1, s->w - 2, _("Esc  back to the form (nothing saved, my edits kept)"),
	       ui_role(UI_R_NORMAL), false);
}

/* my edits = fields where mine differs from the base I started from */
static void reapply(struct ui_screen *s, struct conflict *k)
{
	struct edit_ctx *x = k->x;
	struct ui_form *f = ui_formscreen_form(x->screen);
	pd_customer merged;
	pd_customer_copy(&merged, &k->theirs);
	char b1[8], b2[8];
	for (int i = 0; i < E__N; i++) {
		const char *base = field_val(&x->base, i, b1, sizeof b1);
		const char *mi = field_val(&k->mine, i, b2, sizeof b2);
		if (strcmp(base, mi) == 0)
			continue;
		if (clash(k, i) && k->keep[i] != KEEP_MINE)
			continue; /* theirs, chosen */
		switch (i) {
		case E_NAME:
			pd_set_str(&merged.name, mi);
			break;
		case E_PRODUCT:
			pd_set_str(&merged.product_type, mi);
			break;
		case E_REF:
			pd_set_str(&merged.reference, mi);
			break;
		case E_COUNTRY:
			pd_snprintf(merged.country, sizeof merged.country, "%.2s", mi);
			break;
		case E_TZ:
			pd_set_str(&merged.time_zone, mi);
			break;
		case E_LOCALE:
			pd_set_str(&merged.locale, mi);
			break;
		case E_NOTES:
			pd_set_str(&merged.notes, mi);
			break;
		case E_INTERNAL:
			merged.internal_system = k->mine.internal_system;
			break;
		}
	}
	/* theirs becomes the base; the form shows the merge, then saves */
	pd_customer_free(&x->base);
	pd_customer_copy(&x->base, &k->theirs);
	set_values(f, &merged, x->app);
	pd_customer_free(&merged);
	ui_close(s->app, s);
	x->screen->dirty = true;
	ui_formscreen_save(x->screen);
}

static void discard(struct ui_screen *s, struct conflict *k)
{
	struct edit_ctx *x = k->x;
	struct ui_form *f = ui_formscreen_form(x->screen);
	pd_customer_free(&x->base);
	pd_customer_copy(&x->base, &k->theirs);
	set_values(f, &x->base, x->app);
	ui_form_mark_clean(f);
	ui_formscreen_set_error(x->screen,
	                        _("Their version is loaded; your edits were discarded."));
	ui_close(s->app, s);
}

static int cf_key(struct ui_screen *s, const struct ui_event *ev)
{
	struct conflict *k = s->priv;
	if (!ev->func && (ev->key == 'r' || ev->key == 'R')) {
		for (int i = 0; i < E__N; i++)
			if (clash(k, i) && k->keep[i] == KEEP_UNDECIDED) {
				/* never a silent choice between two people's values */
				k->ask = true;
				k->sel = i;
				return UI_HANDLED | UI_REDRAW;
			}
		reapply(s, k);
		return UI_HANDLED;
	}
	if (k->sel >= 0 && !ev->func &&
	    (ev->key == 'm' || ev->key == 'M' || ev->key == 't' || ev->key == 'T')) {
		k->keep[k->sel] = ev->key == 'm' || ev->key == 'M' ? KEEP_MINE : KEEP_THEIRS;
		int nx = next_clash(k, k->sel, 1);
		if (nx >= 0 && k->keep[nx] == KEEP_UNDECIDED)
			k->sel = nx;
		return UI_HANDLED | UI_REDRAW;
	}
	if (k->sel >= 0 && ev->func && (ev->key == KEY_UP || ev->key == KEY_DOWN)) {
		int nx = next_clash(k, k->sel, ev->key == KEY_UP ? -1 : 1);
		if (nx >= 0)
			k->sel = nx;
		return UI_HANDLED | UI_REDRAW;
	}
	if (!ev->func && (ev->key == 'd' || ev->key == 'D')) {
		discard(s, k);
		return UI_HANDLED;
	}
	if (ev->action == UI_A_BACK)
		return UI_HANDLED | UI_CLOSE;
	if (ev->action == UI_A_QUIT)
		return UI_HANDLED; /* decide first */
	return 0;
}

static const struct ui_screen_ops conflict_ops = {
    .name = "conflict",
    .context = UI_CTX_FORM,
    .create = cf_create,
    .destroy = cf_destroy,
    .layout = cf_layout,
    .draw = cf_draw,
    .handle_key = cf_key,
    .fkeys = N_("r|Save|m|Mine|t|Theirs|d|Discard|Esc|Back"),
};

static void open_conflict(struct edit_ctx *x, const pd_customer *mine, const pd_customer *theirs,
                          const char *message)
{
	struct conflict *k = xcalloc(1, sizeof *k);
	k->x = x;
	pd_customer_copy(&k->mine, mine);
	pd_customer_copy(&k->theirs, theirs);
	k->message = xstrdup(message && *message ? message : _("changed by someone else"));
	ui_push(x->app, &conflict_ops, k);
}

/* ---- actions menu ---- */

struct act_ctx {
	struct ui_app *app;
	int64_t id, version;
	bool disable;
	char *name;
};

static void act_free(struct act_ctx *a)
{
	free(a->name);
	free(a);
}

static void after(struct ui_app *app, pd_status st, const pd_err *e, const char *ok)
{
	if (st != PD_OK)
		ui_show_err(app, _("action refused"), e);
	else
		ui_msg(app, UI_R_STATUS_OK, "%s", ok);
	ui_app_data_changed(app);
}

static void extend_done(struct ui_app *app, void *vctx, bool ok, const char *text)
{
	struct act_ctx *a = vctx;
	if (ok) {
		char *end;
		long days = strtol(text ? text : "", &end, 10);
		pd_err e;
		if (!text || !*text || *end || days < 1 || days > 3650) {
			ui_msg(app, UI_R_STATUS_ERROR, _("days: a whole number from 1 to 3650"));
		} else {
			pd_status st =
			    store_trial_extend(app->store, a->id, (int)days, &app->actor, &e);
			after(app, st, &e, _("trial extended"));
		}
	}
	act_free(a);
}

static void convert_done(struct ui_app *app, void *vctx, bool ok, const char *t)
{
	struct act_ctx *a = vctx;
	pd_err e;
	if (ok)
		after(app, store_trial_convert(app->store, a->id, &app->actor, &e), &e,
		      _("trial converted to paid"));
	act_free(a);
}

static void end_done(struct ui_app *app, void *vctx, bool ok, const char *t)
{
	struct act_ctx *a = vctx;
	pd_err e;
	if (ok)
		after(app, store_trial_end(app->store, a->id, &app->actor, &e), &e,
		      _("trial ended: monitoring stopped, data kept"));
	act_free(a);
}

static void disable_done(struct ui_app *app, void *vctx, bool ok, const char *t)
{
	struct act_ctx *a = vctx;
	pd_err e;
	if (ok)
		after(app,
		      store_customer_set_disabled(app->store, a->id, a->disable, &app->actor, &e),
		      &e, a->disable ? _("customer disabled") : _("customer enabled"));
	act_free(a);
}

static void delete_done(struct ui_app *app, void *vctx, bool ok, const char *text)
{
	struct act_ctx *a = vctx;
	pd_err e;
	if (ok)
		after(app,
		      store_customer_delete(app->store, a->id, text ? text : "", a->version,
		                            &app->actor, &e),
		      &e, _("customer deleted (restorable: D shows deleted customers)"));
	act_free(a);
}

static void restore_done(struct ui_app *app, void *vctx, bool ok, const char *t)
{
	struct act_ctx *a = vctx;
	pd_err e;
	if (ok)
		after(app, store_customer_restore(app->store, a->id, &app->actor, &e), &e,
		      _("customer restored"));
	act_free(a);
}

static void action_done(struct ui_app *app, void *vctx, bool ok, const char *value)
{
	struct act_ctx *a = vctx;
	if (!ok || !value) {
		act_free(a);
		return;
	}
	if (strcmp(value, "extend") == 0) {
		ui_dialog_prompt(app, _("Extend the trial"), _("By how many days?"), "30", false,
		                 extend_done, a);
	} else if (strcmp(value, "convert") == 0) {
		ui_dialog_confirm(
		    app, _("Convert to paid"),
		    _("Convert the trial to a paid subscription from today? Billing starts."),
		    convert_done, a);
	} else if (strcmp(value, "end") == 0) {
		ui_dialog_confirm(
		    app, _("End the trial"),
		    _("End the trial now? Monitoring stops (data is kept) until converted."),
		    end_done, a);
	} else if (strcmp(value, "disable") == 0 || strcmp(value, "enable") == 0) {
		a->disable = strcmp(value, "disable") == 0;
		ui_dialog_confirm(app, a->disable ? _("Disable") : _("Enable"),
		                  a->disable ? _("Disable this customer?")
		                             : _("Enable this customer?"),
		                  disable_done, a);
	} else if (strcmp(value, "delete") == 0) {
		char *t = xasprintf(_("This deletes '%s' (it can be restored later).\n"
		                      "Type the customer's name to confirm:"),
		                    a->name);
		ui_dialog_prompt(app, _("Delete customer"), t, "", false, delete_done, a);
		free(t);
	} else if (strcmp(value, "restore") == 0) {
		ui_dialog_confirm(app, _("Restore"), _("Restore this deleted customer?"),
		                  restore_done, a);
	} else {
		act_free(a);
	}
}

void cv_actions(struct ui_app *app, struct cview *v)
{
	const pd_customer *c = &v->c;
	pd_customer_status st = pd_customer_status_of(c, pd_today());
	struct ui_choice ch[6];
	size_t n = 0;
	bool deleted = st == PD_CS_DELETED;
	bool trial_open = c->trial && !c->trial_converted;
	if (!deleted && trial_open) {
		ch[n++] = (struct ui_choice){"extend", _("Extend the trial…")};
		ch[n++] = (struct ui_choice){"convert", _("Convert the trial to paid")};
		if (st == PD_CS_TRIAL)
			ch[n++] = (struct ui_choice){"end", _("End the trial now")};
	}
	if (!deleted)
		ch[n++] = c->disabled ? (struct ui_choice){"enable", _("Enable the customer")}
		                      : (struct ui_choice){"disable", _("Disable the customer")};
	if (!deleted)
		ch[n++] = (struct ui_choice){"delete", _("Delete… (type the name to confirm)")};
	else
		ch[n++] = (struct ui_choice){"restore", _("Restore the customer")};
	struct act_ctx *a = xcalloc(1, sizeof *a);
	a->app = app;
	a->id = c->id;
	a->version = c->version;
	a->name = xstrdup(c->name);
	ui_dialog_pick(app, _("Actions"), ch, n, NULL, NULL, NULL, action_done, a);
}

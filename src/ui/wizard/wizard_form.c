/* The wizard's form: values between pd_wiz and the framework's libform
 * fields, the form callbacks, and rebuilding the form from the values. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wizard_internal.h"

/* ---------------------------------------------------------------- values */

bool wiz_field_has_value(const pd_wiz_field *f)
{
	return f->kind != PD_WF_NOTE && f->kind != PD_WF_FIXED;
}

/* Form -> state, for field idx. A masked secret field that shows nothing
 * keeps the secret typed earlier unless the user edited it. */
void wiz_pull_field(struct wiz *z, int idx)
{
	const pd_wiz_field *f = &z->fields[idx];
	if (!z->form || !wiz_field_has_value(f))
		return;
	const char *v = ui_form_get(z->form, idx);
	if (f->kind == PD_WF_TOGGLE) {
		pd_wiz_set(&z->w, f->key, ui_form_get_bool(z->form, idx) != f->negated ? "1" : "0");
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

void wiz_pull_all(struct wiz *z)
{
	for (size_t i = 0; i < z->nf; i++)
		wiz_pull_field(z, (int)i);
}

void wiz_save_draft(struct wiz *z)
{
	if (!z->app->store || z->finished)
		return;
	pd_err e = {0};
	if (pd_wiz_draft_save(z->app->store, &z->w, &e) != PD_OK)
		ui_msg(z->app, UI_R_STATUS_WARN, _("Draft not saved: %s"), e.message);
}

int wiz_key_index(const struct wiz *z, const char *key)
{
	for (size_t i = 0; i < z->nf; i++)
		if (!strcmp(z->fields[i].key, key))
			return (int)i;
	return -1;
}

/* Side effects that change which fields exist or other fields' values. */
static bool is_structural(const char *key)
{
	static const char *const keys[] = {"country",     "product_type", "trial",   "no_pbx",
	                                   "connect_pbx", "template",     "platform"};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (!strcmp(keys[i], key))
			return true;
	return false;
}

/* ------------------------------------------------------------ form hooks */

pd_status wiz_form_check(struct ui_form *f, int idx, void *ctx, pd_err *e)
{
	struct wiz *z = ctx;
	(void)f;
	if (idx < 0 || (size_t)idx >= z->nf)
		return PD_OK;
	wiz_pull_field(z, idx);
	z->save_pending = true; /* a field was left */
	const char *key = z->fields[idx].key;
	char msg[256];
	bool is_name = !strcmp(key, "name");
	bool ok = pd_wiz_check_field(&z->ctx, &z->w, key, msg, sizeof msg);
	pd_wiz_errors_set(&z->errs, key, ok ? NULL : msg);
	if (ok) {
		if (is_name)
			ui_form_set_note(z->form, idx, _("✓ available"));
		z->name_ok = z->name_ok || is_name;
		return PD_OK;
	}
	if (is_name) {
		ui_form_set_note(z->form, idx, NULL);
		z->name_ok = false;
	}
	return pd_fail(e, PD_E_INVALID, key, "%s", msg);
}

void wiz_form_changed(struct ui_form *f, int idx, void *ctx)
{
	struct wiz *z = ctx;
	(void)f;
	if (idx < 0 || (size_t)idx >= z->nf)
		return;
	const char *key = z->fields[idx].key;
	wiz_pull_field(z, idx); /* the check callback ran first and may have pulled it already */
	pd_utf8_copys(z->left_key, sizeof z->left_key, key);
	if (is_structural(key)) {
		/* The side effects are idempotent except a template's, which would
		 * overwrite fields edited since it was picked. */
		bool again = !strcmp(key, "template") && z->applied_template &&
		             !strcmp(z->applied_template, z->w.template_name);
		if (!again) {
			pd_wiz_changed(&z->ctx, &z->w, key);
			if (!strcmp(key, "template"))
				pd_set_str(&z->applied_template, z->w.template_name);
		}
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
		char *label =
		    strcmp(m[i]->name_fr, m[i]->name_en)
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

bool wiz_focusable(const struct wiz *z, int i)
{
	return i >= 0 && (size_t)i < z->nf && z->fields[i].kind != PD_WF_NOTE &&
	       z->fields[i].kind != PD_WF_FIXED;
}

/* The group a discovered PBX user belongs to (its sub-account), when its
 * endpoint does not already say it: a BroadWorks group (1002@lab.example in
 * group-2) is shown, a FreeSWITCH domain (1002@site-2) is in the endpoint. */
static const char *found_group(const pd_wiz_found *f)
{
	const char *at = strrchr(f->endpoint, '@');
	if (!*f->sub_account || (at && !strcmp(at + 1, f->sub_account)))
		return NULL;
	return f->sub_account;
}

/* Beside a PBX user's role: its group where the endpoint lacks it, its email,
 * and the seed's advice at work: the same email as a console user links the
 * two. */
static void found_note(struct wiz *z, int idx, const char *key)
{
	size_t i = strtoul(key + 13, NULL, 10); /* "synced_users[N].role" */
	if (i >= z->w.n_found)
		return;
	const char *group = found_group(&z->w.found[i]);
	if (!*z->w.found[i].email) {
		if (group)
			ui_form_set_note(z->form, idx, group);
		return;
	}
	const char *email = z->w.found[i].email;
	const char *who = NULL;
	char *k = pd_fold_key(email), *ka = pd_fold_key(z->w.admin.email);
	if (k && ka && !strcmp(k, ka))
		who = _("primary user");
	for (size_t u = 0; !who && k && u < z->w.n_users; u++) {
		char *ku = pd_fold_key(z->w.users[u].email);
		if (ku && !strcmp(k, ku))
			who = z->w.users[u].display_name;
		free(ku);
	}
	free(k);
	free(ka);
	char *note =
	    who ? xasprintf(_("%s%s= %s (same email)"), group ? group : "", group ? " " : "", who)
	        : xasprintf("%s%s<%s>", group ? group : "", group ? " " : "", email);
	ui_form_set_note(z->form, idx, note);
	free(note);
}

/* Rebuild the step's form from z->w, keeping the cursor on `focus_key`. */
void wiz_build_form(struct wiz *z, const char *focus_key)
{
	char focus[48] = "";
	if (focus_key)
		pd_utf8_copys(focus, sizeof focus, focus_key);
	if (z->form) {
		ui_form_free(z->form);
		z->cursor_win = NULL;
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
		    .max = f->kind == PD_WF_NOTES  ? PD_NOTES_MAX
		           : f->kind == PD_WF_DATE ? 10
		                                   : 256,
		    .note =
		        NULL, /* long notes go under the form, beside-field room is for errors */
		};
	}
	z->form = ui_form_new(z->app, z->spec, z->nf, wiz_form_check, wiz_form_changed, z);
	for (size_t i = 0; i < z->nf; i++) {
		pd_wiz_field *f = &z->fields[i];
		int idx = (int)i;
		switch (f->kind) {
		case PD_WF_TOGGLE:
			ui_form_set(z->form, idx,
			            pd_wiz_get_bool(&z->w, f->key) != f->negated ? "yes" : "no");
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
			if (!strcmp(f->key, "name") && z->name_ok)
				ui_form_set_note(z->form, idx, _("✓ available"));
			break;
		}
		if (!strncmp(f->key, "synced_users[", 13))
			found_note(z, idx, f->key);
	}
	for (size_t i = 0; i < z->nf; i++) {
		const char *m = pd_wiz_errors_find(&z->errs, z->fields[i].key);
		if (m)
			ui_form_set_error(z->form, (int)i, m);
	}
	ui_form_mark_clean(z->form);
	z->page = 0;
	wiz_layout_form(z);
	int fi = focus[0] ? wiz_key_index(z, focus) : -1;
	if (fi >= 0)
		wiz_show_field(z, fi);
}

/* Apply what form callbacks left pending. They may run from a picker's done
 * callback (the list dialog is on top then), so this runs at the next key
 * and at the next draw, never inside the form's own code. */
void wiz_settle(struct wiz *z)
{
	if (z->rebuild) {
		char focus[48] = "", left[48] = "";
		int cur = z->form ? ui_form_current(z->form) : -1;
		if (cur >= 0 && (size_t)cur < z->nf)
			pd_utf8_copys(focus, sizeof focus, z->fields[cur].key);
		/* moved forward from the field that changed the layout: the cursor
		 * goes to whatever now follows it (the time zone that appeared) */
		int li = wiz_key_index(z, z->left_key);
		if (li >= 0 && cur == li + 1)
			pd_utf8_copys(left, sizeof left, z->left_key);
		wiz_build_form(z, focus);
		li = left[0] ? wiz_key_index(z, left) : -1;
		if (li >= 0 && wiz_focusable(z, li + 1) && strcmp(z->fields[li + 1].key, focus))
			wiz_show_field(z, li + 1);
		z->s->dirty = true;
	}
	if (z->save_pending) {
		z->save_pending = false;
		wiz_save_draft(z);
	}
}

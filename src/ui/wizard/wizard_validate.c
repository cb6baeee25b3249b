/* Validation of the wizard's fields and steps, and the final record. Each
 * field is checked by the same core function the command line uses; this
 * file only picks the function and carries its message to the field. */
#include "wizard_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

void pd_wiz_errors_clear(pd_wiz_errors *er)
{
	er->n = 0;
}

void pd_wiz_errors_free(pd_wiz_errors *er)
{
	free(er->v);
	memset(er, 0, sizeof *er);
}

const char *pd_wiz_errors_find(const pd_wiz_errors *er, const char *key)
{
	for (size_t i = 0; i < er->n; i++)
		if (!strcmp(er->v[i].key, key))
			return er->v[i].message;
	return NULL;
}

void pd_wiz_errors_set(pd_wiz_errors *er, const char *key, const char *message)
{
	for (size_t i = 0; i < er->n; i++) {
		if (strcmp(er->v[i].key, key))
			continue;
		if (message) {
			pd_utf8_copys(er->v[i].message, sizeof er->v[i].message, message);
		} else {
			memmove(&er->v[i], &er->v[i + 1], (er->n - i - 1) * sizeof *er->v);
			er->n--;
		}
		return;
	}
	if (!message)
		return;
	if (er->n == er->cap) {
		er->cap = er->cap ? er->cap * 2 : 16;
		er->v = xrealloc(er->v, er->cap * sizeof *er->v);
	}
	pd_wiz_error *x = &er->v[er->n++];
	pd_utf8_copys(x->key, sizeof x->key, key);
	pd_utf8_copys(x->message, sizeof x->message, message);
}

/* ---- PBX ---- */

static const char *param_value(const pd_wiz *w, const char *key)
{
	for (size_t i = 0; i < w->n_params; i++)
		if (!strcmp(w->params[i].key, key))
			return w->params[i].value;
	return NULL;
}

/* Strict port: digits only, 1..65535. */
static bool port_parse(const char *s, int *out)
{
	if (!s || !*s)
		return false;
	long v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9' || v > 65535)
			return false;
		v = v * 10 + (*p - '0');
	}
	if (v < 1 || v > 65535)
		return false;
	*out = (int)v;
	return true;
}

/* The wizard's step 3 as the core's pd_pbx. Only the chosen platform's
 * fields are taken: a platform switched away from leaves no stray values. */
static void pbx_from_wiz(const pd_wiz_ctx *c, const pd_wiz *w, pd_pbx *p)
{
	memset(p, 0, sizeof *p);
	const pd_platform *pl = c->cat ? pd_catalogue_platform(c->cat, w->platform) : NULL;
	p->template_name = *w->template_name ? xstrdup(w->template_name) : NULL;
	p->platform = xstrdup(w->platform);
	p->host = xstrdup(param_value(w, "host") ? param_value(w, "host") : "");
	const char *port = param_value(w, "port");
	if (!port_parse(port, &p->port))
		p->port = port && *port ? -1 : 0;
	const char *tls = param_value(w, "tls");
	p->tls = tls && (!strcmp(tls, "1") || !strcmp(tls, "true"));
	p->username = xstrdup(param_value(w, "username") ? param_value(w, "username") : "");
	json_t *o = json_object();
	for (size_t i = 0; pl && i < pl->n_fields; i++) {
		const pd_platform_field *f = &pl->fields[i];
		const char *v = param_value(w, f->key);
		if (f->secret) {
			if (!p->secret && v && *v)
				p->secret = xstrdup(v);
		} else if (pd_platform_field_is_extra(f) && v && *v) {
			json_object_set_new(o, f->key, json_string(v));
		}
	}
	p->params_json = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	p->sync_users = w->sync_users;
	p->monitor = w->monitor;
	p->auto_provision = w->auto_provision;
	p->enabled = !w->create_disabled;
}

bool pd_wiz_has_field(const pd_wiz_ctx *c, const pd_wiz *w, const char *core_field)
{
	if (!core_field || !*core_field)
		return false;
	pd_wiz_field *f = xmalloc(PD_WIZ_FIELDS_MAX * sizeof *f);
	bool found = false;
	for (int s = PD_WIZ_CUSTOMER; s < PD_WIZ_SUMMARY && !found; s++) {
		size_t n = pd_wiz_fields(c, w, (pd_wiz_step)s, f, PD_WIZ_FIELDS_MAX);
		for (size_t i = 0; i < n && !found; i++)
			found = f[i].kind != PD_WF_NOTE && !strcmp(f[i].key, core_field);
	}
	free(f);
	return found;
}

/* ---- one field ---- */

static bool fail(char *msg, size_t cap, const char *text)
{
	pd_utf8_copys(msg, cap, text);
	return false;
}

static bool from_err(char *msg, size_t cap, const pd_err *e)
{
	const char *m = e->message;
	/* The core prefixes "field: "; beside the field that is noise. */
	size_t fl = strlen(e->field);
	if (fl && !strncmp(m, e->field, fl) && m[fl] == ':' && m[fl + 1] == ' ')
		m += fl + 2;
	return fail(msg, cap, *m ? m : pd_status_message(e->status));
}

static bool blank(const char *s)
{
	if (!s)
		return true;
	for (; *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
			return false;
	return true;
}

static bool check_name(const pd_wiz_ctx *c, const pd_wiz *w, char *msg, size_t cap)
{
	pd_err e = {0};
	char *norm = NULL;
	if (pd_check_name(w->name, &norm, &e) != PD_OK)
		return from_err(msg, cap, &e);
	bool ok = true;
	if (c->store && store_customer_name_free(c->store, norm, 0, &e) != PD_OK)
		ok = from_err(msg, cap, &e);
	free(norm);
	return ok;
}

static bool check_country(const pd_wiz_ctx *c, const pd_wiz *w, char *msg, size_t cap)
{
	if (blank(w->country_text))
		return fail(msg, cap, _("type part of its French or English name"));
	size_t n;
	const pd_country *co = pd_country_from_text(c->geo, w->country_text, &n);
	if (!co) {
		if (n > 1)
			pd_snprintf(msg, cap, _("%zu countries match: keep typing or pick one"), n);
		else
			pd_snprintf(msg, cap, _("no country matches this name or code"));
		return false;
	}
	pd_err e = {0};
	char code[3];
	if (pd_check_country(c->geo, co->code, code, &e) != PD_OK)
		return from_err(msg, cap, &e);
	return true;
}

static bool check_product(const pd_wiz_ctx *c, const pd_wiz *w, char *msg, size_t cap)
{
	if (blank(w->product_type))
		return fail(msg, cap, _("choose a product type"));
	pd_err e = {0};
	if (pd_check_product_type(c->cat, w->product_type, *w->country ? w->country : NULL, &e) !=
	    PD_OK)
		return from_err(msg, cap, &e);
	const pd_product_type *pt = pd_catalogue_product(c->cat, w->product_type);
	if (pt && !w->no_pbx && *w->platform && !pd_product_allows_platform(pt, w->platform)) {
		const pd_platform *pl = pd_catalogue_platform(c->cat, w->platform);
		pd_snprintf(msg, cap, _("not available with the %s PBX chosen in step 3"),
		            pl ? pd_catalogue_text(pl->name) : w->platform);
		return false;
	}
	return true;
}

static bool check_trial_end(const pd_wiz_ctx *c, const pd_wiz *w, char *msg, size_t cap)
{
	pd_day end;
	if (!pd_day_parse(w->trial_end, &end))
		return fail(msg, cap, _("a date as YYYY-MM-DD"));
	pd_err e = {0};
	if (pd_check_trial(c->cat, w->product_type, c->today, end, &e) != PD_OK)
		return from_err(msg, cap, &e);
	/* core's length rule on what pd_wiz_build hands it (inclusive days) */
	if (pd_check_trial_days((int)(end - c->today) + 1, &e) != PD_OK)
		return from_err(msg, cap, &e);
	return true;
}

static bool check_user_member(const pd_wiz_ctx *c, const pd_wiz *w, long idx, const char *member,
                              const char *value, char *msg, size_t cap)
{
	pd_err e = {0};
	const char *field = idx < 0 ? "admin" : "user";
	if (!strcmp(member, "display_name")) {
		if (pd_check_display_name(value, field, &e) != PD_OK)
			return from_err(msg, cap, &e);
	} else if (!strcmp(member, "email")) {
		if (pd_check_email(value, field, &e) != PD_OK)
			return from_err(msg, cap, &e);
		if (idx >= 0) {
			/* core's rule: the primary user's and earlier users' emails */
			size_t n = (size_t)idx < w->n_users ? (size_t)idx : w->n_users;
			const char **earlier = xcalloc(n ? n : 1, sizeof *earlier);
			for (size_t i = 0; i < n; i++)
				earlier[i] = w->users[i].email;
			pd_status st =
			    pd_check_email_free(value, w->admin.email, earlier, n, field, &e);
			free(earlier);
			if (st != PD_OK)
				return from_err(msg, cap, &e);
		}
	} else if (!strcmp(member, "extension")) {
		if (pd_check_extension(value, field, &e) != PD_OK)
			return from_err(msg, cap, &e);
	} else if (!strcmp(member, "role")) {
		if (*value && c->cat && !pd_catalogue_role(c->cat, value))
			return fail(msg, cap, _("not a role of the catalogue"));
	}
	return true;
}

static bool check_pbx_field(const pd_wiz_ctx *c, const pd_wiz *w, const char *key, char *msg,
                            size_t cap)
{
	if (w->no_pbx)
		return true;
	if (!strcmp(key, "platform")) {
		if (blank(w->platform))
			return fail(msg, cap, _("choose one, or uncheck Connect a PBX now"));
		const pd_platform *pl = c->cat ? pd_catalogue_platform(c->cat, w->platform) : NULL;
		if (!pl)
			return fail(msg, cap, _("not a platform of the catalogue"));
		const pd_product_type *pt =
		    c->cat ? pd_catalogue_product(c->cat, w->product_type) : NULL;
		if (pt && !pd_product_allows_platform(pt, pl->key)) {
			pd_snprintf(msg, cap, _("not allowed for product type %s"), pt->name);
			return false;
		}
		return true;
	}
	if (!strcmp(key, "template")) {
		for (size_t i = 0; *w->template_name && i < c->n_templates; i++)
			if (!strcmp(c->templates[i].name, w->template_name))
				return true;
		return *w->template_name ? fail(msg, cap, _("no such template")) : true;
	}
	if (!pd_wiz_is_param_key(key))
		return true;
	const char *pk = key;
	const pd_platform *pl = c->cat ? pd_catalogue_platform(c->cat, w->platform) : NULL;
	const pd_platform_field *pf = NULL;
	for (size_t i = 0; pl && i < pl->n_fields; i++)
		if (!strcmp(pl->fields[i].key, pk))
			pf = &pl->fields[i];
	const char *v = param_value(w, pk);
	if (pf && pf->required && blank(v)) {
		if (pf->secret && w->had_secret)
			return fail(msg, cap, _("type the secret again (drafts never keep it)"));
		return fail(msg, cap, "required");
	}
	int port;
	if (!strcmp(pk, "port") && !blank(v) && !port_parse(v, &port))
		return fail(msg, cap, _("a port number from 1 to 65535"));
	/* The core's whole-connection rule, kept only when it names this field. */
	pd_pbx p;
	pbx_from_wiz(c, w, &p);
	pd_err e = {0};
	bool ok = true;
	if (pd_pbx_check(c->cat, &p, &e) != PD_OK && !strcmp(e.field, key))
		ok = from_err(msg, cap, &e);
	pd_pbx_free(&p);
	return ok;
}

/* A value that depends on the country (its time zone, its locale), checked
 * by core; the country's own error comes first. */
static bool of_country(const pd_wiz_ctx *c, const pd_wiz *w, const char *value,
                       pd_status (*check)(const pd_geo *, const char *, const char *, char **,
                                          pd_err *),
                       char *msg, size_t cap)
{
	if (!*w->country)
		return true;
	pd_err e = {0};
	char *out = NULL;
	bool ok = check(c->geo, w->country, value, &out, &e) == PD_OK || from_err(msg, cap, &e);
	free(out);
	return ok;
}

bool pd_wiz_check_field(const pd_wiz_ctx *c, const pd_wiz *w, const char *key, char *msg,
                        size_t cap)
{
	pd_err e = {0};
	msg[0] = 0;
	if (!strcmp(key, "name"))
		return check_name(c, w, msg, cap);
	if (!strcmp(key, "product_type"))
		return check_product(c, w, msg, cap);
	if (!strcmp(key, "reference"))
		return pd_check_reference(w->reference, &e) == PD_OK || from_err(msg, cap, &e);
	if (!strcmp(key, "country"))
		return check_country(c, w, msg, cap);
	if (!strcmp(key, "time_zone"))
		return of_country(c, w, w->time_zone, pd_check_time_zone, msg, cap);
	if (!strcmp(key, "locale"))
		return of_country(c, w, w->locale, pd_check_locale, msg, cap);
	if (!strcmp(key, "notes"))
		return pd_check_notes(w->notes, &e) == PD_OK || from_err(msg, cap, &e);
	if (!strcmp(key, "trial_end"))
		return !w->trial || check_trial_end(c, w, msg, cap);
	if (!strncmp(key, "admin_", 6)) {
		if (!strcmp(key, "admin_role") || !strcmp(key, "admin_who"))
			return true;
		/* core calls the primary user's display name admin_name */
		const char *member = strcmp(key, "admin_name") ? key + 6 : "display_name";
		return check_user_member(c, w, -1, member, pd_wiz_get(w, key), msg, cap);
	}
	if (!strncmp(key, "users[", 6)) {
		char *end;
		long i = strtol(key + 6, &end, 10);
		const char *v = pd_wiz_get(w, key);
		if (end[0] != ']' || end[1] != '.' || !v)
			return true;
		return check_user_member(c, w, i, end + 2, v, msg, cap);
	}
	if (pd_wiz_key_in_step(key, PD_WIZ_PBX))
		return check_pbx_field(c, w, key, msg, cap);
	return true;
}

size_t pd_wiz_check_step(const pd_wiz_ctx *c, const pd_wiz *w, pd_wiz_step step, pd_wiz_errors *er)
{
	/* Forget this step's old entries (fields may have disappeared). */
	for (size_t i = 0; i < er->n;) {
		if (pd_wiz_key_in_step(er->v[i].key, step)) {
			memmove(&er->v[i], &er->v[i + 1], (er->n - i - 1) * sizeof *er->v);
			er->n--;
		} else {
			i++;
		}
	}
	pd_wiz_field f[PD_WIZ_FIELDS_MAX];
	size_t nf = pd_wiz_fields(c, w, step, f, PD_WIZ_FIELDS_MAX);
	size_t bad = 0;
	char msg[256];
	for (size_t i = 0; i < nf; i++) {
		if (f[i].kind == PD_WF_NOTE || f[i].kind == PD_WF_FIXED)
			continue;
		if (!pd_wiz_check_field(c, w, f[i].key, msg, sizeof msg)) {
			pd_wiz_errors_set(er, f[i].key, msg);
			bad++;
		}
	}
	/* The connection as a whole (rules naming no single visible field). */
	if (step == PD_WIZ_PBX && !w->no_pbx && !bad) {
		pd_pbx p;
		pbx_from_wiz(c, w, &p);
		pd_err e = {0};
		if (pd_pbx_check(c->cat, &p, &e) != PD_OK) {
			/* on the field core names ("enabled", "host"...), else on
			 * the platform */
			bool shown = false;
			for (size_t i = 0; i < nf && !shown; i++)
				shown = f[i].kind != PD_WF_NOTE && !strcmp(f[i].key, e.field);
			from_err(msg, sizeof msg, &e);
			pd_wiz_errors_set(er, shown ? e.field : "platform", msg);
			bad++;
		}
		pd_pbx_free(&p);
	}
	return bad;
}

pd_status pd_wiz_pbx(const pd_wiz_ctx *c, const pd_wiz *w, pd_pbx *out, pd_err *e)
{
	pbx_from_wiz(c, w, out);
	return pd_pbx_check(c->cat, out, e);
}

/* ---- the record for the store ---- */

static char *opt(const char *s)
{
	return s && *s ? pd_trim(s) : NULL;
}

static void user_to_core(const pd_wiz_user *u, const char *role, bool primary, pd_user *out)
{
	memset(out, 0, sizeof *out);
	out->display_name = pd_trim(u->display_name ? u->display_name : "");
	out->email = pd_trim(u->email ? u->email : "");
	out->extension = opt(u->extension);
	out->role = role && *role ? xstrdup(role) : NULL;
	out->primary = primary;
}

pd_status pd_wiz_build(const pd_wiz_ctx *c, const pd_wiz *w, pd_new_customer *n, char bad_key[48],
                       pd_err *e)
{
	memset(n, 0, sizeof *n);
	if (bad_key)
		bad_key[0] = 0;
	pd_customer *cu = &n->customer;
	char *norm = NULL;
	pd_err ne = {0};
	cu->name = pd_check_name(w->name, &norm, &ne) == PD_OK ? norm : xstrdup(w->name);
	cu->product_type = xstrdup(w->product_type);
	cu->reference = opt(w->reference);
	pd_utf8_copys(cu->country, sizeof cu->country, w->country);
	cu->time_zone = xstrdup(w->time_zone);
	cu->locale = opt(w->locale); /* none: the country's default */
	cu->notes = w->notes && *w->notes ? xstrdup(w->notes) : NULL;
	pd_day end;
	if (w->trial && pd_day_parse(w->trial_end, &end)) {
		cu->trial = true;
		cu->trial_start = c->today;
		cu->trial_end = end;
		n->trial_days = (int)(end - c->today) + 1; /* inclusive, like the default length */
	}
	user_to_core(&w->admin, PD_ROLE_ADMIN, true, &n->admin);
	if (w->n_users) {
		n->users = xcalloc(w->n_users, sizeof *n->users);
		for (size_t i = 0; i < w->n_users; i++)
			user_to_core(&w->users[i], w->users[i].role, false, &n->users[i]);
		n->n_users = w->n_users;
	}
	if (!w->no_pbx) {
		n->pbx = xmalloc(sizeof *n->pbx);
		pbx_from_wiz(c, w, n->pbx);
	}
	if (pd_wiz_found_used(w)) {
		n->synced = xcalloc(w->n_found, sizeof *n->synced);
		for (size_t i = 0; i < w->n_found; i++) {
			const pd_wiz_found *f = &w->found[i];
			pd_user *u = &n->synced[i];
			u->synced = true;
			u->endpoint = xstrdup(f->endpoint);
			u->display_name = xstrdup(f->display_name);
			u->email = opt(f->email);
			u->sub_account = opt(f->sub_account);
			u->role = opt(f->role);
		}
		n->n_synced = w->n_found;
	}
	pd_status st = pd_new_customer_check(c->cat, c->geo, n, c->today, e);
	if (st != PD_OK && bad_key && e && pd_wiz_has_field(c, w, e->field))
		pd_snprintf(bad_key, 48, "%.47s", e->field);
	return st;
}

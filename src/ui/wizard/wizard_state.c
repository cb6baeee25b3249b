/* The wizard's values by key, the fields each step shows and their choices.
 * Pure: no curses, no I/O except reading the catalogue/geo handed in. */
#include "wizard_state.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static const struct {
	const char *key, *title;
} step_names[] = {
#define PD_X(e, k, t) [e] = {k, t},
    PD_WIZ_STEP_LIST(PD_X)
#undef PD_X
};

const char *pd_wiz_step_key(pd_wiz_step s)
{
	return s < PD_WIZ__STEPS ? step_names[s].key : "?";
}

const char *pd_wiz_step_title(pd_wiz_step s)
{
	return s < PD_WIZ__STEPS ? _(step_names[s].title) : "?";
}

/* Key -> string member. One table so get, set and the drafts agree. */
static const struct {
	const char *key;
	size_t off;
} str_fields[] = {
    {"name", offsetof(pd_wiz, name)},
    {"product_type", offsetof(pd_wiz, product_type)},
    {"reference", offsetof(pd_wiz, reference)},
    {"country", offsetof(pd_wiz, country_text)},
    {"time_zone", offsetof(pd_wiz, time_zone)},
    {"locale", offsetof(pd_wiz, locale)},
    {"notes", offsetof(pd_wiz, notes)},
    {"trial_end", offsetof(pd_wiz, trial_end)},
    {"admin_name", offsetof(pd_wiz, admin.display_name)},
    {"admin_email", offsetof(pd_wiz, admin.email)},
    {"admin_extension", offsetof(pd_wiz, admin.extension)},
    {"template", offsetof(pd_wiz, template_name)},
    {"platform", offsetof(pd_wiz, platform)},
};

/* negated: the key reads the opposite of the member. Core's pd_pbx has
 * "enabled"; the screen asks "Create disabled" (a pd_wiz_field.negated
 * toggle), which is what the draft keeps. */
static const struct {
	const char *key;
	size_t off;
	bool negated;
} bool_fields[] = {
    {"trial", offsetof(pd_wiz, trial), false},
    {"no_pbx", offsetof(pd_wiz, no_pbx), false},
    /* the screen asks "Connect a PBX now"; drafts keep no_pbx */
    {"connect_pbx", offsetof(pd_wiz, no_pbx), true},
    {"enabled", offsetof(pd_wiz, create_disabled), true},
    {"sync_users", offsetof(pd_wiz, sync_users), false},
    {"monitor", offsetof(pd_wiz, monitor), false},
    {"auto_provision", offsetof(pd_wiz, auto_provision), false},
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static bool str_member_known(const char *key)
{
	for (size_t i = 0; i < N_OF(str_fields); i++)
		if (!strcmp(str_fields[i].key, key))
			return true;
	return false;
}

static char **str_member(pd_wiz *w, const char *key)
{
	for (size_t i = 0; i < N_OF(str_fields); i++)
		if (!strcmp(str_fields[i].key, key))
			return (char **)((char *)w + str_fields[i].off);
	return NULL;
}

static bool *bool_member(pd_wiz *w, const char *key, bool *negated)
{
	for (size_t i = 0; i < N_OF(bool_fields); i++)
		if (!strcmp(bool_fields[i].key, key)) {
			if (negated)
				*negated = bool_fields[i].negated;
			return (bool *)((char *)w + bool_fields[i].off);
		}
	return NULL;
}

/* A platform's own field, named by its catalogue key as core names it
 * ("host", "secret", "enterprise_id"): any other bare lower-case key. */
bool pd_wiz_is_param_key(const char *key)
{
	if (!key || *key < 'a' || *key > 'z' || str_member_known(key) || !strncmp(key, "admin_", 6))
		return false;
	for (size_t i = 0; i < N_OF(bool_fields); i++)
		if (!strcmp(bool_fields[i].key, key))
			return false;
	for (const char *p = key; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	return true;
}

void pd_wiz_init(pd_wiz *w)
{
	memset(w, 0, sizeof *w);
	w->step = PD_WIZ_CUSTOMER;
	w->sync_users = true;
	w->monitor = true;
	for (size_t i = 0; i < N_OF(str_fields); i++)
		pd_set_str(str_member(w, str_fields[i].key), "");
	w->country = xstrdup("");
}

static void user_free(pd_wiz_user *u)
{
	free(u->display_name);
	free(u->email);
	free(u->extension);
	free(u->role);
	memset(u, 0, sizeof *u);
}

void pd_wiz_free(pd_wiz *w)
{
	for (size_t i = 0; i < N_OF(str_fields); i++) {
		char **p = str_member(w, str_fields[i].key);
		free(*p);
		*p = NULL;
	}
	free(w->country);
	free(w->focus);
	free(w->defaults_for);
	for (size_t i = 0; i < w->n_params; i++) {
		free(w->params[i].key);
		if (w->params[i].value && w->params[i].secret) /* do not leave it in freed memory */
			memset(w->params[i].value, 0, strlen(w->params[i].value));
		free(w->params[i].value);
	}
	free(w->params);
	for (size_t i = 0; i < w->n_users; i++)
		user_free(&w->users[i]);
	free(w->users);
	pd_wiz_found_set(w, NULL, 0, NULL);
	memset(w, 0, sizeof *w);
}

static pd_wiz_param *param_find(const pd_wiz *w, const char *key)
{
	for (size_t i = 0; i < w->n_params; i++)
		if (!strcmp(w->params[i].key, key))
			return &w->params[i];
	return NULL;
}

static pd_wiz_param *param_get(pd_wiz *w, const char *key, bool secret)
{
	pd_wiz_param *p = param_find(w, key);
	if (p)
		return p;
	w->params = xrealloc(w->params, (w->n_params + 1) * sizeof *w->params);
	p = &w->params[w->n_params++];
	p->key = xstrdup(key);
	p->value = xstrdup("");
	p->secret = secret;
	return p;
}

static char **found_role(const pd_wiz *w, const char *key);

/* "users[3].email" (core's field name) -> index 3, member "email". */
static char **user_member(const pd_wiz *w, const char *key)
{
	if (strncmp(key, "users[", 6))
		return NULL;
	char *end;
	unsigned long i = strtoul(key + 6, &end, 10);
	if (end == key + 6 || end[0] != ']' || end[1] != '.' || i >= w->n_users)
		return NULL;
	pd_wiz_user *u = &w->users[i];
	const char *m = end + 2;
	if (!strcmp(m, "display_name"))
		return &u->display_name;
	if (!strcmp(m, "email"))
		return &u->email;
	if (!strcmp(m, "extension"))
		return &u->extension;
	if (!strcmp(m, "role"))
		return &u->role;
	return NULL;
}

const char *pd_wiz_get(const pd_wiz *w, const char *key)
{
	pd_wiz *mw = (pd_wiz *)w; /* the lookups do not modify */
	char **s = str_member(mw, key);
	if (s)
		return *s ? *s : "";
	bool neg = false;
	bool *b = bool_member(mw, key, &neg);
	if (b)
		return *b != neg ? "1" : "0";
	if (pd_wiz_is_param_key(key)) {
		pd_wiz_param *p = param_find(w, key);
		return p ? p->value : "";
	}
	if (!strcmp(key, "admin_role"))
		return PD_ROLE_ADMIN;
	s = user_member(w, key);
	if (!s)
		s = found_role(w, key);
	if (s)
		return *s ? *s : "";
	return NULL;
}

bool pd_wiz_get_bool(const pd_wiz *w, const char *key)
{
	const char *v = pd_wiz_get(w, key);
	return v && (!strcmp(v, "1") || !strcmp(v, "true"));
}

/* core's country rule (pd_country_from_text), shown back as the picker writes it */
void pd_wiz_resolve_country(const pd_wiz_ctx *c, pd_wiz *w)
{
	size_t n;
	const pd_country *co = pd_country_from_text(c->geo, w->country_text, &n);
	pd_set_str(&w->country, co ? co->code : "");
	if (!co)
		return;
	char *shown = strcmp(co->name_fr, co->name_en)
	                  ? xasprintf("%s / %s (%s)", co->name_fr, co->name_en, co->code)
	                  : xasprintf("%s (%s)", co->name_en, co->code);
	free(w->country_text);
	w->country_text = shown;
}

void pd_wiz_set(pd_wiz *w, const char *key, const char *value)
{
	if (!value)
		value = "";
	char **s = str_member(w, key);
	if (s) {
		pd_set_str(s, value);
		if (!strcmp(key, "country"))
			pd_set_str(&w->country, ""); /* resolved again by pd_wiz_resolve_country */
		return;
	}
	bool neg = false;
	bool *b = bool_member(w, key, &neg);
	if (b) {
		*b = (!strcmp(value, "1") || !strcmp(value, "true")) != neg;
		return;
	}
	if (pd_wiz_is_param_key(key)) {
		pd_wiz_param *p = param_get(w, key, false);
		if (p->secret && p->value)
			memset(p->value, 0, strlen(p->value));
		pd_set_str(&p->value, value);
		if (p->secret && *value)
			w->had_secret = false; /* retyped */
		return;
	}
	s = user_member(w, key);
	if (!s)
		s = found_role(w, key);
	if (s)
		pd_set_str(s, value);
}

/* Which PBX step 3 names: users found on another one are not its users.
 * The platform, host and port, and where the platform has them the
 * directory's scope (a BroadWorks enterprise and group: another group lists
 * other users on the same XSP). */
static char *pbx_signature(const pd_wiz *w)
{
	const pd_wiz_param *h = param_find(w, "host"), *p = param_find(w, "port");
	char *sig = xasprintf("%s %s:%s", w->platform ? w->platform : "", h ? h->value : "",
	                      p ? p->value : "");
	static const char *const scope[] = {"enterprise_id", "group_id"};
	for (size_t i = 0; i < sizeof scope / sizeof scope[0]; i++) {
		const pd_wiz_param *s = param_find(w, scope[i]);
		if (!s || !s->value || !*s->value)
			continue;
		char *more = xasprintf("%s %s=%s", sig, scope[i], s->value);
		free(sig);
		sig = more;
	}
	return sig;
}

static void found_free(pd_wiz_found *f)
{
	free(f->endpoint);
	free(f->display_name);
	free(f->email);
	free(f->sub_account);
	free(f->role);
}

void pd_wiz_found_set(pd_wiz *w, const pd_synced_user *u, size_t n, const char *status)
{
	if (n > PD_WIZ_FOUND_MAX)
		n = PD_WIZ_FOUND_MAX; /* the caller says so in the status */
	pd_wiz_found *v = n ? xcalloc(n, sizeof *v) : NULL;
	for (size_t i = 0; i < n; i++) {
		v[i].endpoint = xstrdup(u[i].endpoint ? u[i].endpoint : "");
		v[i].display_name = xstrdup(u[i].display_name ? u[i].display_name : "");
		v[i].email = xstrdup(u[i].email ? u[i].email : "");
		v[i].sub_account = xstrdup(u[i].sub_account ? u[i].sub_account : "");
		const char *role = "";
		for (size_t k = 0; k < w->n_found; k++)
			if (!strcmp(w->found[k].endpoint, v[i].endpoint))
				role = w->found[k].role;
		v[i].role = xstrdup(role);
	}
	for (size_t i = 0; i < w->n_found; i++)
		found_free(&w->found[i]);
	free(w->found);
	w->found = v;
	w->n_found = n;
	free(w->found_status);
	w->found_status = status ? xstrdup(status) : NULL;
	free(w->found_for);
	w->found_for = n ? pbx_signature(w) : NULL;
}

bool pd_wiz_found_stale(const pd_wiz *w)
{
	if (!w->n_found)
		return false;
	char *sig = pbx_signature(w);
	bool stale = !w->found_for || strcmp(sig, w->found_for);
	free(sig);
	return stale;
}

bool pd_wiz_found_used(const pd_wiz *w)
{
	return w->n_found && !w->no_pbx && w->sync_users && !pd_wiz_found_stale(w);
}

/* "synced_users[3].role" (core's field name) -> &found[3].role */
static char **found_role(const pd_wiz *w, const char *key)
{
	if (strncmp(key, "synced_users[", 13))
		return NULL;
	char *end;
	unsigned long i = strtoul(key + 13, &end, 10);
	if (end == key + 13 || strcmp(end, "].role") || i >= w->n_found)
		return NULL;
	return &w->found[i].role;
}

size_t pd_wiz_user_add(pd_wiz *w)
{
	w->users = xrealloc(w->users, (w->n_users + 1) * sizeof *w->users);
	pd_wiz_user *u = &w->users[w->n_users];
	u->display_name = xstrdup("");
	u->email = xstrdup("");
	u->extension = xstrdup("");
	u->role = xstrdup("agent");
	return w->n_users++;
}

void pd_wiz_user_remove(pd_wiz *w, size_t i)
{
	if (i >= w->n_users)
		return;
	user_free(&w->users[i]);
	memmove(&w->users[i], &w->users[i + 1], (w->n_users - i - 1) * sizeof *w->users);
	w->n_users--;
}

static const pd_template *template_named(const pd_wiz_ctx *c, const char *name)
{
	for (size_t i = 0; name && *name && i < c->n_templates; i++)
		if (!strcmp(c->templates[i].name, name))
			return &c->templates[i];
	return NULL;
}

/* Make sure every field of the chosen platform has an entry, with the
 * catalogue default when still empty, and the secret flag from the catalogue. */
/* A catalogue default the way the wizard holds it (toggles are "1"/"0"). */
static const char *default_of(const pd_platform *pl, const char *key)
{
	for (size_t i = 0; pl && i < pl->n_fields; i++) {
		const pd_platform_field *f = &pl->fields[i];
		if (strcmp(f->key, key) || !f->default_value || f->secret)
			continue;
		if (!strcmp(f->default_value, "true"))
			return "1";
		if (!strcmp(f->default_value, "false"))
			return "0";
		return f->default_value;
	}
	return NULL;
}

/* Make sure every field of the chosen platform has an entry, with the
 * catalogue default when still empty or still the previous platform's
 * default (switching Asterisk -> BroadWorks moves port 5038 to 443, but keeps
 * a port the user typed), and the secret flag from the catalogue. */
static void platform_fields_fill(const pd_wiz_ctx *c, pd_wiz *w)
{
	const pd_platform *pl = c->cat ? pd_catalogue_platform(c->cat, w->platform) : NULL;
	if (!pl)
		return;
	const pd_platform *old = w->defaults_for && strcmp(w->defaults_for, w->platform)
	                             ? pd_catalogue_platform(c->cat, w->defaults_for)
	                             : NULL;
	for (size_t i = 0; i < pl->n_fields; i++) {
		const pd_platform_field *f = &pl->fields[i];
		pd_wiz_param *p = param_get(w, f->key, f->secret);
		p->secret = f->secret;
		const char *d = default_of(pl, f->key), *od = old ? default_of(old, f->key) : NULL;
		if (d && (!*p->value || (od && !strcmp(p->value, od))))
			pd_set_str(&p->value, d);
	}
	pd_set_str(&w->defaults_for, w->platform);
}

/* A template's other platform fields: a flat JSON object. Values that are not
 * strings are written the way they would be typed ("5060", "1"). */
static void json_params_apply(pd_wiz *w, const char *text)
{
	if (!text || !*text)
		return;
	json_t *o = json_loads(text, 0, NULL);
	if (!json_is_object(o)) {
		json_decref(o);
		return;
	}
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v)
	{
		char buf[32];
		const char *s = NULL;
		if (json_is_string(v))
			s = json_string_value(v);
		else if (json_is_integer(v)) {
			pd_snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
			s = buf;
		} else if (json_is_boolean(v))
			s = json_is_true(v) ? "1" : "0";
		pd_wiz_param *p = s ? param_get(w, k, false) : NULL;
		if (p && !p->secret)
			pd_set_str(&p->value, s);
	}
	json_decref(o);
}

static void template_apply(pd_wiz *w, const pd_template *t)
{
	pd_set_str(&w->platform, t->platform);
	if (t->host && *t->host)
		pd_set_str(&param_get(w, "host", false)->value, t->host);
	if (t->port > 0) {
		char port[16];
		pd_snprintf(port, sizeof port, "%d", t->port);
		pd_set_str(&param_get(w, "port", false)->value, port);
	}
	pd_set_str(&param_get(w, "tls", false)->value, t->tls ? "1" : "0");
	if (t->username && *t->username)
		pd_set_str(&param_get(w, "username", false)->value, t->username);
	/* other platform fields: a flat JSON object of strings/numbers/bools */
	json_params_apply(w, t->params_json);
}

void pd_wiz_changed(const pd_wiz_ctx *c, pd_wiz *w, const char *key)
{
	if (!strcmp(key, "template")) {
		const pd_template *t = template_named(c, w->template_name);
		if (t)
			template_apply(w, t);
		platform_fields_fill(c, w);
	} else if (!strcmp(key, "platform")) {
		platform_fields_fill(c, w);
	} else if (!strcmp(key, "trial")) {
		if (w->trial && !*w->trial_end) {
			char d[11];
			int days = c->trial_default_days > 0 ? c->trial_default_days : 30;
			pd_day_format(c->today + days - 1, d);
			pd_set_str(&w->trial_end, d);
		}
	} else if (!strcmp(key, "country")) {
		pd_wiz_resolve_country(c, w);
		const pd_country *co =
		    c->geo && *w->country ? pd_geo_country(c->geo, w->country) : NULL;
		if (co && co->n_zones >= 1 && !pd_country_has_zone(co, w->time_zone))
			pd_set_str(&w->time_zone, co->zones[0]);
		/* the default locale follows the country (as in the edit form and
		 * pd_update_locale); one chosen by hand stays */
		if (co && (!*w->locale || !strcmp(w->locale, w->locale_auto))) {
			pd_set_str(&w->locale, pd_geo_default_locale(c->geo, w->country));
			pd_utf8_copys(w->locale_auto, sizeof w->locale_auto, w->locale);
		}
	} else if (!strcmp(key, "product_type")) {
		const pd_product_type *pt =
		    c->cat ? pd_catalogue_product(c->cat, w->product_type) : NULL;
		if (pt && !pt->trial_allowed)
			w->trial = false;
	}
}

void pd_wiz_resumed(const pd_wiz_ctx *c, pd_wiz *w)
{
	if (!*w->locale && *w->country && c->geo && pd_geo_country(c->geo, w->country)) {
		pd_set_str(&w->locale, pd_geo_default_locale(c->geo, w->country));
		pd_utf8_copys(w->locale_auto, sizeof w->locale_auto, w->locale);
	}
}

/* ---- fields per step ---- */

static pd_wiz_field *field_add(pd_wiz_field *out, size_t max, size_t *n, const char *key,
                               const char *label, pd_wiz_kind kind, int width, bool required)
{
	if (*n >= max)
		return NULL;
	pd_wiz_field *f = &out[(*n)++];
	memset(f, 0, sizeof *f);
	pd_utf8_copys(f->key, sizeof f->key, key);
	pd_utf8_copys(f->label, sizeof f->label, label);
	f->kind = kind;
	f->width = width;
	f->rows = 1;
	f->required = required;
	return f;
}

static void note_set(pd_wiz_field *f, const char *note)
{
	if (f)
		pd_utf8_copys(f->note, sizeof f->note, note);
}

static bool is_toggle_param(const pd_platform_field *f)
{
	return !strcmp(f->key, "tls") || (f->default_value && (!strcmp(f->default_value, "true") ||
	                                                       !strcmp(f->default_value, "false")));
}

static size_t fields_customer(const pd_wiz_ctx *c, const pd_wiz *w, pd_wiz_field *o, size_t max)
{
	size_t n = 0;
	field_add(o, max, &n, "name", _("Name"), PD_WF_TEXT, 32, true);
	field_add(o, max, &n, "country", _("Country"), PD_WF_COUNTRY, 36, true);
	const pd_country *co = c->geo && *w->country ? pd_geo_country(c->geo, w->country) : NULL;
	if (co && co->n_zones > 1)
		field_add(o, max, &n, "time_zone", _("Time zone"), PD_WF_CHOICE, 32, true);
	if (co)
		note_set(field_add(o, max, &n, "locale", _("Locale"), PD_WF_CHOICE, 32, true),
		         _("language of the invitation, number format"));
	field_add(o, max, &n, "product_type", _("Product type"), PD_WF_CHOICE, 32, true);
	field_add(o, max, &n, "reference", _("Reference"), PD_WF_TEXT, 32, false);
	pd_wiz_field *f = field_add(o, max, &n, "notes", _("Notes"), PD_WF_NOTES, 50, false);
	if (f)
		f->rows = 3;
	const pd_product_type *pt = c->cat ? pd_catalogue_product(c->cat, w->product_type) : NULL;
	if (pt && pt->trial_allowed) {
		field_add(o, max, &n, "trial", _("Trial"), PD_WF_TOGGLE, 3, false);
		if (w->trial)
			field_add(o, max, &n, "trial_end", _("Trial ends"), PD_WF_DATE, 10, true);
	}
	return n;
}

static size_t fields_user(pd_wiz_field *o, size_t max)
{
	size_t n = 0;
	/* The notes are shown under the form (they are longer than the room
	 * beside a field, which is kept for errors). */
	note_set(
	    field_add(o, max, &n, "admin_name", _("Display name"), PD_WF_TEXT, 32, true),
	    _("An invitation email goes out to this user as soon as the customer is created."));
	note_set(
	    field_add(o, max, &n, "admin_email", _("Email"), PD_WF_TEXT, 32, true),
	    _("Use the same email as this user has on the PBX, so the synced user is linked."));
	field_add(o, max, &n, "admin_extension", _("Extension"), PD_WF_TEXT, 12, false);
	field_add(o, max, &n, "admin_role", _("Role"), PD_WF_FIXED, 34, false);
	return n;
}

static size_t fields_pbx(const pd_wiz_ctx *c, const pd_wiz *w, pd_wiz_field *o, size_t max)
{
	size_t n = 0;
	field_add(o, max, &n, "connect_pbx", _("Connect a PBX now"), PD_WF_TOGGLE, 3, false);
	if (w->no_pbx)
		return n;
	field_add(o, max, &n, "template", _("Template"), PD_WF_CHOICE, 26, false);
	field_add(o, max, &n, "platform", _("Platform"), PD_WF_CHOICE, 26, true);
	const pd_platform *pl = c->cat ? pd_catalogue_platform(c->cat, w->platform) : NULL;
	for (size_t i = 0; pl && i < pl->n_fields; i++) {
		const pd_platform_field *pf = &pl->fields[i];
		if (!pd_wiz_is_param_key(pf->key))
			continue; /* a catalogue key the wizard uses itself: not shown */
		const char *key = pf->key;
		pd_wiz_kind kind = pf->secret            ? PD_WF_SECRET
		                   : is_toggle_param(pf) ? PD_WF_TOGGLE
		                                         : PD_WF_TEXT;
		int width = kind == PD_WF_TOGGLE ? 3 : !strcmp(pf->key, "port") ? 6 : 26;
		pd_wiz_field *f =
		    field_add(o, max, &n, key, pf->label ? pd_catalogue_text(pf->label) : pf->key,
		              kind, width, pf->required && kind != PD_WF_TOGGLE);
		if (f && pf->secret && w->had_secret)
			note_set(f, _("Drafts never keep the secret: type it again."));
	}
	pd_wiz_field *dis =
	    field_add(o, max, &n, "enabled", _("Create disabled"), PD_WF_TOGGLE, 3, false);
	if (dis)
		dis->negated = true;
	note_set(dis, _("Nothing connects until the connection is enabled."));
	field_add(o, max, &n, "sync_users", _("Sync users"), PD_WF_TOGGLE, 3, false);
	field_add(o, max, &n, "monitor", _("Monitor calls/agents"), PD_WF_TOGGLE, 3, false);
	if (!pl || pl->has_sub_accounts) {
		char note[160];
		pd_snprintf(note, sizeof note,
		            _("Monitors every %s found; can only be chosen now, not later."),
		            pl && pl->sub_account_label ? pl->sub_account_label : "sub-account");
		note_set(field_add(o, max, &n, "auto_provision", _("Auto-provision subs"),
		                   PD_WF_TOGGLE, 3, false),
		         note);
	}
	return n;
}

static size_t fields_roles(const pd_wiz *w, pd_wiz_field *o, size_t max)
{
	size_t n = 0;
	field_add(o, max, &n, "admin_who", _("Primary user"), PD_WF_FIXED, 34, false);
	note_set(field_add(o, max, &n, "admin_role", _("  Role"), PD_WF_FIXED, 34, false),
	         _("F7: add a user (invited too). F8: remove the user at the cursor."));
	bool pbx_users = !w->no_pbx && w->sync_users;
	if (pbx_users && !w->n_found)
		note_set(
		    field_add(o, max, &n, "note.synced", "", PD_WF_NOTE, 0, false),
		    _("F9 lists the PBX's users to give them roles now (else: Roles tab, after the "
		      "first sync)."));
	if (pbx_users && pd_wiz_found_stale(w))
		note_set(field_add(o, max, &n, "note.found", "", PD_WF_NOTE, 0, false),
		         _("The PBX changed in step 3: F9 lists its users again."));
	else if (w->found_status && *w->found_status)
		note_set(field_add(o, max, &n, "note.found", "", PD_WF_NOTE, 0, false),
		         w->found_status);
	bool found_used = pd_wiz_found_used(w);
	for (size_t i = 0; found_used && i < w->n_found; i++) {
		char key[48], label[48];
		const pd_wiz_found *f = &w->found[i];
		pd_snprintf(key, sizeof key, "synced_users[%zu].role", i);
		/* the user's own line: endpoint and name (the label column cuts a long one) */
		pd_snprintf(label, sizeof label, "%.12s %.34s", f->endpoint, f->display_name);
		field_add(o, max, &n, key, label, PD_WF_CHOICE, 26, false);
	}
	for (size_t i = 0; i < w->n_users; i++) {
		char key[48], label[48];
		size_t first = n;
		pd_snprintf(key, sizeof key, "users[%zu].display_name", i);
		pd_snprintf(label, sizeof label, _("User %zu name"), i + 1);
		field_add(o, max, &n, key, label, PD_WF_TEXT, 30, true);
		pd_snprintf(key, sizeof key, "users[%zu].email", i);
		field_add(o, max, &n, key, _("  Email"), PD_WF_TEXT, 30, true);
		pd_snprintf(key, sizeof key, "users[%zu].extension", i);
		field_add(o, max, &n, key, _("  Extension"), PD_WF_TEXT, 12, false);
		pd_snprintf(key, sizeof key, "users[%zu].role", i);
		field_add(o, max, &n, key, _("  Role"), PD_WF_CHOICE, 30, false);
		for (size_t k = first; k < n; k++)
			o[k].group = (int)i + 1; /* a user's four lines stay on one page */
	}
	return n;
}

size_t pd_wiz_fields(const pd_wiz_ctx *c, const pd_wiz *w, pd_wiz_step step, pd_wiz_field *out,
                     size_t max)
{
	switch (step) {
	case PD_WIZ_CUSTOMER:
		return fields_customer(c, w, out, max);
	case PD_WIZ_USER:
		return fields_user(out, max);
	case PD_WIZ_PBX:
		return fields_pbx(c, w, out, max);
	case PD_WIZ_ROLES:
		return fields_roles(w, out, max);
	default:
		return 0;
	}
}

bool pd_wiz_key_in_step(const char *key, pd_wiz_step step)
{
	switch (step) {
	case PD_WIZ_CUSTOMER:
		return !strcmp(key, "name") || !strcmp(key, "product_type") ||
		       !strcmp(key, "reference") || !strcmp(key, "country") ||
		       !strcmp(key, "time_zone") || !strcmp(key, "locale") ||
		       !strcmp(key, "notes") || !strcmp(key, "trial") || !strcmp(key, "trial_end");
	case PD_WIZ_USER:
		return !strncmp(key, "admin_", 6);
	case PD_WIZ_PBX:
		return pd_wiz_is_param_key(key) || !strcmp(key, "no_pbx") ||
		       !strcmp(key, "connect_pbx") || !strcmp(key, "template") ||
		       !strcmp(key, "platform") || !strcmp(key, "enabled") ||
		       !strcmp(key, "sync_users") || !strcmp(key, "monitor") ||
		       !strcmp(key, "auto_provision");
	case PD_WIZ_ROLES:
		return !strncmp(key, "users[", 6) || !strncmp(key, "synced_users[", 13);
	default:
		return false;
	}
}

/* ---- choices ---- */

static void choice_add(pd_wiz_choices *ch, const char *value, const char *label)
{
	ch->values = xrealloc(ch->values, (ch->n + 1) * sizeof *ch->values);
	ch->labels = xrealloc(ch->labels, (ch->n + 1) * sizeof *ch->labels);
	ch->values[ch->n] = xstrdup(value);
	ch->labels[ch->n] = xstrdup(label);
	ch->n++;
}

void pd_wiz_choices_free(pd_wiz_choices *ch)
{
	for (size_t i = 0; i < ch->n; i++) {
		free(ch->values[i]);
		free(ch->labels[i]);
	}
	free(ch->values);
	free(ch->labels);
	memset(ch, 0, sizeof *ch);
}

static bool choice_has(const pd_wiz_choices *ch, const char *value)
{
	for (size_t i = 0; i < ch->n; i++)
		if (!strcmp(ch->values[i], value))
			return true;
	return false;
}

/* The country's supported locales, its default first ("de_CH (default)",
 * "fr_CH", "it_CH"), the one already chosen, then English and French: a
 * short list that fits a choice field; the edit form searches them all. */
static void locale_choices(const pd_wiz_ctx *c, const pd_wiz *w, pd_wiz_choices *out)
{
	const char *def = pd_geo_default_locale(c->geo, w->country);
	char *label = xasprintf(_("%s (default)"), def);
	choice_add(out, def, label);
	free(label);
	for (size_t i = 0; i < pd_geo_locale_count(c->geo); i++) {
		const char *l = pd_geo_locale_at(c->geo, i);
		const char *us = strchr(l, '_');
		if (us && !strcmp(us + 1, w->country) && !choice_has(out, l))
			choice_add(out, l, l);
	}
	if (*w->locale && !choice_has(out, w->locale))
		choice_add(out, w->locale, w->locale);
	static const char *const common[] = {"en_GB", "en_US", "fr_FR"};
	for (size_t i = 0; i < N_OF(common); i++)
		if (pd_geo_locale_supported(c->geo, common[i]) && !choice_has(out, common[i]))
			choice_add(out, common[i], common[i]);
}

void pd_wiz_choices_get(const pd_wiz_ctx *c, const pd_wiz *w, const char *key, pd_wiz_choices *out)
{
	memset(out, 0, sizeof *out);
	if (!strcmp(key, "product_type") && c->cat) {
		const char *platform = !w->no_pbx && *w->platform ? w->platform : NULL;
		for (size_t i = 0; i < c->cat->n_types; i++) {
			const pd_product_type *pt = &c->cat->types[i];
			if (*w->country && !pd_product_sold_in(pt, w->country))
				continue;
			if (platform && !pd_product_allows_platform(pt, platform))
				continue;
			char *label =
			    xasprintf("%s%s%s", pt->name, pt->trial_allowed ? _(" · trial") : "",
			              pt->locked_after_assignment ? _(" · locked") : "");
			choice_add(out, pt->key, label);
			free(label);
		}
	} else if (!strcmp(key, "time_zone") && c->geo) {
		const pd_country *co = *w->country ? pd_geo_country(c->geo, w->country) : NULL;
		for (size_t i = 0; co && i < co->n_zones; i++)
			choice_add(out, co->zones[i], co->zones[i]);
	} else if (!strcmp(key, "locale") && c->geo && *w->country) {
		locale_choices(c, w, out);
	} else if (!strcmp(key, "template")) {
		choice_add(out, "", _("(none)"));
		for (size_t i = 0; i < c->n_templates; i++) {
			char *label =
			    xasprintf("%s (%s)", c->templates[i].name, c->templates[i].platform);
			choice_add(out, c->templates[i].name, label);
			free(label);
		}
	} else if (!strcmp(key, "platform") && c->cat) {
		const pd_product_type *pt = pd_catalogue_product(c->cat, w->product_type);
		for (size_t i = 0; i < c->cat->n_platforms; i++) {
			const pd_platform *pl = &c->cat->platforms[i];
			if (pt && !pd_product_allows_platform(pt, pl->key))
				continue;
			char *label = xasprintf("%s%s", pd_catalogue_text(pl->name),
			                        pl->supported ? "" : _(" (no driver yet)"));
			choice_add(out, pl->key, label);
			free(label);
		}
	} else if ((!strncmp(key, "users[", 6) || !strncmp(key, "synced_users[", 13)) && c->cat) {
		choice_add(out, "", _("(no role: no access)"));
		for (size_t i = 0; i < c->cat->n_roles; i++)
			choice_add(out, c->cat->roles[i].key,
			           pd_catalogue_text(c->cat->roles[i].name));
	}
}

char *pd_wiz_display(const pd_wiz_ctx *c, const pd_wiz *w, const char *key)
{
	if (!strcmp(key, "admin_role")) {
		const pd_role *r = c->cat ? pd_catalogue_role(c->cat, PD_ROLE_ADMIN) : NULL;
		return xasprintf(_("%s (fixed)"),
		                 pd_catalogue_text(r ? r->name : "Customer Administrator"));
	}
	if (!strcmp(key, "admin_who"))
		return xasprintf("%s <%s>", w->admin.display_name, w->admin.email);
	const char *v = pd_wiz_get(w, key);
	if (!v)
		return xstrdup("");
	if (bool_member((pd_wiz *)w, key, NULL))
		return xstrdup(!strcmp(v, "1") ? "[x]" : "[ ]");
	pd_wiz_choices ch;
	pd_wiz_choices_get(c, w, key, &ch);
	char *out = NULL;
	for (size_t i = 0; i < ch.n && !out; i++)
		if (!strcmp(ch.values[i], v))
			out = xstrdup(ch.labels[i]);
	pd_wiz_choices_free(&ch);
	if (!out && !strcmp(key, "product_type") && c->cat) {
		const pd_product_type *pt = pd_catalogue_product(c->cat, v);
		if (pt)
			out = xstrdup(pt->name); /* no longer offered: the check says why */
	}
	return out ? out : xstrdup(v);
}

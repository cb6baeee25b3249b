/* The objects as JSON and the shared look-ups (objects.h): what the command
 * line's --json prints and the HTTP API (src/api) answers, written once. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "csv.h"
#include "objects.h"
#include "provdesk/i18n.h"
#include "provdesk/util.h"

/* ---- JSON ---- */
json_t *pd_json_str(const char *s)
{
	if (!s || !*s)
		return json_null();
	json_t *j = json_string(s);
	return j ? j : json_null();
}

/* A kept message (a link's last error or stored state: a pd_msg, or a
 * PBX's words) as text in this process's language; null when none. */
static json_t *msg_json(const char *s)
{
	char buf[PD_MSG_TEXT_MAX];
	return pd_json_str(s ? pd_msg_text(s, buf, sizeof buf) : NULL);
}

json_t *pd_json_day(pd_day d)
{
	char buf[11];
	pd_day_format(d, buf);
	return json_string(buf);
}

void pd_fmt_time(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (t <= 0 || !gmtime_r(&tt, &tm)) {
		out[0] = 0;
		return;
	}
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

json_t *pd_json_time(int64_t t)
{
	char buf[32];
	pd_fmt_time(t, buf);
	return pd_json_str(buf);
}

void pd_fmt_money(int64_t cents, char out[32])
{
	const char *sign = cents < 0 ? "-" : "";
	int64_t a = cents < 0 ? -cents : cents;
	snprintf(out, 32, "%s%lld.%02lld", sign, (long long)(a / 100), (long long)(a % 100));
}

json_t *pd_json_customer(const pd_customer *c, pd_day today)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", json_integer(c->id));
	json_object_set_new(o, "tenant_id", json_string(c->tenant_id));
	json_object_set_new(o, "name", pd_json_str(c->name));
	json_object_set_new(o, "product_type", pd_json_str(c->product_type));
	json_object_set_new(o, "reference", pd_json_str(c->reference));
	json_object_set_new(o, "billing_id", pd_json_str(pd_customer_billing_id(c)));
	json_object_set_new(o, "country", pd_json_str(c->country));
	json_object_set_new(o, "time_zone", pd_json_str(c->time_zone));
	json_object_set_new(o, "locale", pd_json_str(c->locale));
	json_object_set_new(o, "notes", pd_json_str(c->notes));
	if (c->trial) {
		json_t *t = json_object();
		json_object_set_new(t, "start", pd_json_day(c->trial_start));
		json_object_set_new(t, "end", pd_json_day(c->trial_end));
		json_object_set_new(t, "days_left",
		                    json_integer(pd_customer_trial_days_left(c, today)));
		json_object_set_new(t, "converted", json_boolean(c->trial_converted));
		json_object_set_new(o, "trial", t);
	} else
		json_object_set_new(o, "trial", json_null());
	json_object_set_new(o, "internal_system", json_boolean(c->internal_system));
	json_object_set_new(o, "disabled", json_boolean(c->disabled));
	json_object_set_new(o, "status",
	                    json_string(pd_customer_status_name(pd_customer_status_of(c, today))));
	json_object_set_new(o, "version", json_integer(c->version));
	json_object_set_new(o, "created_at", pd_json_time(c->created_at));
	json_object_set_new(o, "updated_at", pd_json_time(c->updated_at));
	json_object_set_new(o, "deleted_at", pd_json_time(c->deleted_at));
	return o;
}

json_t *pd_json_user(const pd_catalogue *cat, const pd_user *u)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", json_integer(u->id));
	json_object_set_new(o, "display_name", pd_json_str(u->display_name));
	json_object_set_new(o, "email", pd_json_str(u->email));
	json_object_set_new(o, "extension", pd_json_str(u->extension));
	json_object_set_new(o, "role", pd_json_str(u->role));
	const pd_role *r = u->role && *u->role ? pd_catalogue_role(cat, u->role) : NULL;
	json_object_set_new(o, "role_name", pd_json_str(r ? r->name : NULL));
	json_object_set_new(o, "primary", json_boolean(u->primary));
	json_object_set_new(o, "synced", json_boolean(u->synced));
	json_object_set_new(o, "endpoint", pd_json_str(u->endpoint));
	json_object_set_new(o, "sub_account", pd_json_str(u->sub_account));
	json_object_set_new(o, "device_state", pd_json_str(u->device_state));
	json_object_set_new(o, "linked_user_id",
	                    u->linked_user_id ? json_integer(u->linked_user_id) : json_null());
	json_object_set_new(o, "invitation", json_string(pd_invite_state_name(u->invite)));
	json_object_set_new(o, "version", json_integer(u->version));
	return o;
}

static json_t *params_json(const char *text)
{
	if (!text || !*text)
		return json_object();
	json_t *j = json_loads(text, 0, NULL);
	return j ? j : json_object();
}

json_t *pd_json_pbx(const pd_pbx *p)
{
	json_t *o = json_object();
	json_object_set_new(o, "template", pd_json_str(p->template_name));
	json_object_set_new(o, "platform", pd_json_str(p->platform));
	json_object_set_new(o, "host", pd_json_str(p->host));
	json_object_set_new(o, "port", json_integer(p->port));
	json_object_set_new(o, "tls", json_boolean(p->tls));
	json_object_set_new(o, "username", pd_json_str(p->username));
	json_object_set_new(o, "params", params_json(p->params_json));
	json_object_set_new(o, "sync_users", json_boolean(p->sync_users));
	json_object_set_new(o, "monitor", json_boolean(p->monitor));
	json_object_set_new(o, "auto_provision_sub_accounts", json_boolean(p->auto_provision));
	json_object_set_new(o, "enabled", json_boolean(p->enabled));
	json_object_set_new(o, "version", json_integer(p->version));
	return o;
}

void pd_json_pbx_state(json_t *o, const pd_pbx *p, const pd_pbx_status *st)
{
	/* state: the stable key (docs/provdesk.1); status: the human text beside it */
	json_object_set_new(o, "state",
	                    pd_json_str(st           ? pd_link_state_name(st->link)
	                                : p->enabled ? NULL
	                                             : pd_link_state_name(PD_LINK_DISABLED)));
	/* nothing stale passes for live: a state no running monitor stands
	 * behind says so (pd_pbx_status_fresh; docs/provdesk.1, pbx status) */
	int64_t now = pd_now();
	bool fresh = st && pd_pbx_status_fresh(st->monitored, st->updated_at, now);
	char text[200];
	if (st && !fresh && p->enabled)
		pd_pbx_stale_text(pd_link_state_label(st->link), st->updated_at, now, text,
		                  sizeof text);
	else if (st)
		pd_msg_text(st->state, text, sizeof text); /* the monitor's pd_msg */
	json_object_set_new(o, "status", pd_json_str(st ? text : p->enabled ? NULL : "disabled"));
	json_object_set_new(o, "last_error", msg_json(st ? st->last_error : NULL));
	json_object_set_new(o, "monitored", json_boolean(fresh && p->enabled));
	json_object_set_new(o, "updated_at", st ? pd_json_time(st->updated_at) : json_null());
	json_object_set_new(o, "age_s",
	                    st ? json_integer(now > st->updated_at ? now - st->updated_at : 0)
	                       : json_null());
}

json_t *pd_json_template(const pd_template *t)
{
	json_t *o = json_object();
	json_object_set_new(o, "name", pd_json_str(t->name));
	json_object_set_new(o, "platform", pd_json_str(t->platform));
	json_object_set_new(o, "host", pd_json_str(t->host));
	json_object_set_new(o, "port", json_integer(t->port));
	json_object_set_new(o, "tls", json_boolean(t->tls));
	json_object_set_new(o, "username", pd_json_str(t->username));
	json_object_set_new(o, "params", params_json(t->params_json));
	json_object_set_new(o, "version", json_integer(t->version));
	return o;
}

json_t *pd_json_users(const pd_catalogue *cat, const pd_user *u, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, pd_json_user(cat, &u[i]));
	return a;
}

pd_status pd_role_resolve(const pd_catalogue *cat, const char *in, const char **key, pd_err *e)
{
	char *t = pd_trim(in ? in : "");
	if (!*t || strcmp(t, "none") == 0) {
		*key = NULL;
		free(t);
		return PD_OK;
	}
	char *k = pd_fold_key(t);
	for (size_t i = 0; k && i < cat->n_roles; i++) {
		char *a = pd_fold_key(cat->roles[i].key);
		char *b = pd_fold_key(cat->roles[i].name);
		/* the name as the user reads it too ("Superviseur" in French) */
		char *c = pd_fold_key(pd_catalogue_text(cat->roles[i].name));
		bool hit = (a && strcmp(a, k) == 0) || (b && strcmp(b, k) == 0) ||
		           (c && strcmp(c, k) == 0);
		free(a);
		free(b);
		free(c);
		if (hit) {
			*key = cat->roles[i].key;
			free(k);
			free(t);
			return PD_OK;
		}
	}
	free(k);
	pd_buf b = {0};
	for (size_t i = 0; i < cat->n_roles; i++)
		pd_buf_printf(&b, "%s%s", i ? ", " : "", cat->roles[i].key);
	pd_fail(e, PD_E_INVALID, "role", _("unknown role '%s' (known: %s, none)"), t,
	        b.s ? b.s : "");
	pd_buf_free(&b);
	free(t);
	return PD_E_INVALID;
}

pd_status pd_customer_resolve(pd_store *s, const char *id, pd_customer *out, pd_err *e)
{
	memset(out, 0, sizeof *out);
	pd_status st = store_customer_find(s, id, out, e);
	/* Not a tenant id, #rowid or name: a reference (R-1234), wherever a
	 * customer is named. */
	if (st == PD_E_NOTFOUND && id && id[0] != '#') {
		pd_err re;
		pd_err_clear(&re);
		memset(out, 0, sizeof *out);
		st = store_customer_find_reference(s, id, out, &re);
		if (st == PD_E_NOTFOUND)
			pd_fail(e, PD_E_NOTFOUND, "customer",
			        _("no customer with tenant id, name or reference '%.100s'"), id);
		else
			*e = re;
	}
	if (st != PD_OK && !e->field[0])
		snprintf(e->field, sizeof e->field, "customer");
	return st;
}

pd_status pd_pbx_get_public(pd_store *s, int64_t customer_id, pd_pbx *p, pd_pbx_status *st,
                            bool *has_st, pd_err *e)
{
	memset(p, 0, sizeof *p);
	memset(st, 0, sizeof *st);
	*has_st = false;
	pd_status r = store_pbx_get(s, customer_id, false, p, e);
	if (r != PD_OK)
		return r;
	free(p->secret); /* never printed; the store should not return it anyway */
	p->secret = NULL;
	*has_st = store_pbx_status_get(s, customer_id, st, e) == PD_OK;
	return PD_OK;
}

/* A row's PBX as the monitor last stored it, with its age and whether a
 * running monitor stands behind it (docs/provdesk.1, customer list); null
 * without a PBX connection. */
static json_t *row_pbx_json(const pd_row *r, int64_t now)
{
	if (r->pbx_key == PD_PBXK_NONE)
		return json_null();
	char text[160];
	bool fresh = pd_row_pbx_text(r, now, text, sizeof text);
	bool row = r->pbx_updated_at > 0;
	json_t *o = json_object();
	json_object_set_new(o, "state",
	                    r->pbx_link_known ? json_string(pd_link_state_name(r->pbx_link))
	                                      : json_null());
	json_object_set_new(o, "status", json_string(text));
	json_object_set_new(o, "monitored", json_boolean(fresh && r->pbx_key != PD_PBXK_DISABLED));
	json_object_set_new(o, "since", row ? pd_json_time(r->pbx_since) : json_null());
	json_object_set_new(o, "last_error", row ? msg_json(r->pbx_error) : json_null());
	json_object_set_new(o, "updated_at", row ? pd_json_time(r->pbx_updated_at) : json_null());
	json_object_set_new(
	    o, "age_s",
	    row ? json_integer(now > r->pbx_updated_at ? now - r->pbx_updated_at : 0)
	        : json_null());
	return o;
}

json_t *pd_json_customer_row(const pd_row *r, pd_day today)
{
	json_t *o = pd_json_customer(&r->c, today);
	json_object_set_new(o, "status", json_string(pd_customer_status_name(r->status)));
	json_object_set_new(o, "users", json_integer(r->n_users));
	json_object_set_new(o, "pbx_state", msg_json(r->pbx_state)); /* as a monitor stored it */
	json_object_set_new(o, "pbx", row_pbx_json(r, pd_now()));
	return o;
}

pd_status pd_json_customer_full(pd_store *s, const pd_catalogue *cat, const pd_customer *cu,
                                const char *warning, json_t **out, pd_err *e)
{
	*out = NULL;
	pd_user *users = NULL;
	size_t nu = 0;
	pd_status st = store_user_list(s, cu->id, &users, &nu, e);
	if (st != PD_OK)
		return st;
	pd_pbx pbx;
	pd_pbx_status pst;
	bool has_st;
	pd_err pe;
	pd_err_clear(&pe);
	bool has_pbx = pd_pbx_get_public(s, cu->id, &pbx, &pst, &has_st, &pe) == PD_OK;
	pd_sub_account *subs = NULL;
	size_t ns = 0;
	if (store_sub_account_list(s, cu->id, &subs, &ns, &pe) != PD_OK)
		ns = 0;
	json_t *o = pd_json_customer(cu, pd_today());
	json_object_set_new(o, "users", pd_json_users(cat, users, nu));
	if (has_pbx) {
		json_t *p = pd_json_pbx(&pbx);
		pd_json_pbx_state(p, &pbx, has_st ? &pst : NULL);
		json_object_set_new(o, "pbx", p);
	} else
		json_object_set_new(o, "pbx", json_null());
	json_t *sa = json_array();
	for (size_t i = 0; i < ns; i++) {
		json_t *x = json_object();
		json_object_set_new(x, "id", json_integer(subs[i].id));
		json_object_set_new(x, "name", pd_json_str(subs[i].name));
		json_array_append_new(sa, x);
	}
	json_object_set_new(o, "sub_accounts", sa);
	json_t *w = json_array();
	if (warning)
		json_array_append_new(w, json_string(warning));
	json_object_set_new(o, "warnings", w);
	for (size_t i = 0; i < nu; i++)
		pd_user_free(&users[i]);
	free(users);
	if (has_pbx)
		pd_pbx_free(&pbx);
	if (has_st)
		pd_pbx_status_free(&pst);
	pd_sub_accounts_free(subs, ns);
	*out = o;
	return PD_OK;
}

static json_t *strv_json(char **v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

json_t *pd_json_catalogue(const pd_catalogue *cat, const pd_geo *g, const bool want[4])
{
	json_t *doc = json_object();
	if (want[0]) {
		json_t *a = json_array();
		for (size_t i = 0; i < cat->n_types; i++) {
			const pd_product_type *p = &cat->types[i];
			json_t *o = json_object();
			json_object_set_new(o, "key", json_string(p->key));
			json_object_set_new(o, "name", pd_json_str(p->name));
			json_object_set_new(o, "description", pd_json_str(p->description));
			json_t *f = p->features_json ? json_loads(p->features_json, 0, NULL) : NULL;
			json_object_set_new(o, "features", f ? f : json_object());
			json_object_set_new(o, "locked_after_assignment",
			                    json_boolean(p->locked_after_assignment));
			json_object_set_new(o, "trial_allowed", json_boolean(p->trial_allowed));
			json_object_set_new(o, "price_cents", json_integer(p->price_cents));
			json_object_set_new(o, "currency", pd_json_str(p->currency));
			json_object_set_new(o, "platforms",
			                    strv_json(p->platforms, p->n_platforms));
			json_object_set_new(o, "countries",
			                    strv_json(p->countries, p->n_countries));
			json_array_append_new(a, o);
		}
		json_object_set_new(doc, "product_types", a);
	}
	if (want[1]) {
		json_t *a = json_array();
		for (size_t i = 0; i < cat->n_roles; i++) {
			json_t *o = json_object();
			json_object_set_new(o, "key", json_string(cat->roles[i].key));
			json_object_set_new(o, "name", pd_json_str(cat->roles[i].name));
			json_object_set_new(o, "description",
			                    pd_json_str(cat->roles[i].description));
			json_object_set_new(o, "manages_users",
			                    json_boolean(cat->roles[i].manages_users));
			json_array_append_new(a, o);
		}
		json_object_set_new(doc, "roles", a);
	}
	if (want[2]) {
		json_t *a = json_array();
		for (size_t i = 0; i < cat->n_platforms; i++) {
			const pd_platform *p = &cat->platforms[i];
			json_t *o = json_object();
			json_object_set_new(o, "key", json_string(p->key));
			json_object_set_new(o, "name", pd_json_str(p->name));
			json_object_set_new(o, "supported", json_boolean(p->supported));
			json_object_set_new(o, "has_sub_accounts",
			                    json_boolean(p->has_sub_accounts));
			json_object_set_new(o, "sub_account_label",
			                    pd_json_str(p->sub_account_label));
			json_t *fa = json_array();
			for (size_t j = 0; j < p->n_fields; j++) {
				json_t *f = json_object();
				json_object_set_new(f, "key", json_string(p->fields[j].key));
				json_object_set_new(f, "label", pd_json_str(p->fields[j].label));
				json_object_set_new(f, "required",
				                    json_boolean(p->fields[j].required));
				json_object_set_new(f, "secret", json_boolean(p->fields[j].secret));
				json_object_set_new(f, "default",
				                    pd_json_str(p->fields[j].default_value));
				static const char *const types[] = {[PD_FIELD_TEXT] = "text",
				                                    [PD_FIELD_BOOL] = "bool",
				                                    [PD_FIELD_INT] = "int",
				                                    [PD_FIELD_PATH] = "path"};
				json_object_set_new(f, "type",
				                    json_string(types[p->fields[j].type]));
				if (p->fields[j].type == PD_FIELD_INT) {
					json_object_set_new(f, "min",
					                    json_integer(p->fields[j].min));
					json_object_set_new(f, "max",
					                    json_integer(p->fields[j].max));
				}
				json_array_append_new(fa, f);
			}
			json_object_set_new(o, "fields", fa);
			json_array_append_new(a, o);
		}
		json_object_set_new(doc, "platforms", a);
	}
	if (want[3]) {
		json_t *a = json_array();
		for (size_t i = 0; i < pd_geo_count(g); i++) {
			const pd_country *co = pd_geo_at(g, i);
			json_t *o = json_object();
			json_object_set_new(o, "code", json_string(co->code));
			json_object_set_new(o, "name_en", pd_json_str(co->name_en));
			json_object_set_new(o, "name_fr", pd_json_str(co->name_fr));
			json_object_set_new(o, "time_zones", strv_json(co->zones, co->n_zones));
			json_array_append_new(a, o);
		}
		json_object_set_new(doc, "countries", a);
	}
	return doc;
}

/* ---- billing export ---- */

/* snprintf is a third of an export's CPU at 100,000 lines: the numbers
 * are written by hand (same text as "%lld" and pd_fmt_money). */
static void fmt_int(int64_t v, char out[24])
{
	char tmp[24];
	int n = 0;
	uint64_t a = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	do
		tmp[n++] = (char)('0' + a % 10);
	while ((a /= 10) && n < 23);
	int o = 0;
	if (v < 0)
		out[o++] = '-';
	while (n)
		out[o++] = tmp[--n];
	out[o] = 0;
}

static void fmt_money(int64_t cents, char out[32])
{
	uint64_t a = cents < 0 ? 0 - (uint64_t)cents : (uint64_t)cents;
	char *p = out;
	if (cents < 0)
		*p++ = '-';
	fmt_int((int64_t)(a / 100), p);
	p += strlen(p);
	*p++ = '.';
	*p++ = (char)('0' + a % 100 / 10);
	*p++ = (char)('0' + a % 10);
	*p = 0;
}

void pd_billing_writer_begin(pd_billing_writer *w, FILE *out, bool json, const char *period)
{
	memset(w, 0, sizeof *w);
	w->out = out;
	w->json = json;
	snprintf(w->period, sizeof w->period, "%.7s", period);
	w->lines = json_array();
	w->totals = json_object();
	if (!json) {
		static const char *const heads[] = {
		    "period",      "billing_id",  "customer_name", "product_type", "licensed_users",
		    "active_days", "period_days", "unit_price",    "amount",       "currency",
		    "flags",       "first_day",   "last_day",      "billed_days"};
		pd_csv_write_row(out, heads, sizeof heads / sizeof heads[0]);
	}
}

pd_status pd_billing_writer_line(const pd_billing_line *l, void *vctx, pd_err *e)
{
	pd_billing_writer *x = vctx;
	const char *cur = l->currency ? l->currency : "";
	char d1[11], d2[11];
	pd_day_format(l->first_day, d1);
	pd_day_format(l->last_day, d2);
	char price[48], amount[48];
	if (x->locale_format && !x->json) {
		pd_format_amount_locale(l->unit_price_cents, l->locale, price);
		pd_format_amount_locale(l->amount_cents, l->locale, amount);
	} else {
		fmt_money(l->unit_price_cents, price);
		fmt_money(l->amount_cents, amount);
	}
	x->n++;
	json_t *tot = json_object_get(x->totals, cur);
	json_object_set_new(x->totals, cur,
	                    json_integer((tot ? json_integer_value(tot) : 0) + l->amount_cents));
	if (x->json) {
		json_t *o = json_object();
		json_object_set_new(o, "billing_id", pd_json_str(l->billing_id));
		json_object_set_new(o, "customer_name", pd_json_str(l->customer_name));
		json_object_set_new(o, "product_type", pd_json_str(l->product_type));
		json_object_set_new(o, "licensed_users", json_integer(l->licensed_users));
		json_object_set_new(o, "active_days", json_integer(l->active_days));
		json_object_set_new(o, "period_days", json_integer(l->period_days));
		json_object_set_new(o, "unit_price", json_string(price));
		json_object_set_new(o, "amount", json_string(amount));
		json_object_set_new(o, "currency", json_string(cur));
		json_object_set_new(o, "first_day", json_string(d1));
		json_object_set_new(o, "last_day", json_string(d2));
		json_object_set_new(o, "billed_days", json_integer(l->billed_days));
		json_t *flags = json_array();
		/* "a; b" -> ["a", "b"] */
		for (const char *p = l->flags ? l->flags : ""; *p;) {
			const char *sep = strstr(p, "; ");
			size_t n = sep ? (size_t)(sep - p) : strlen(p);
			if (n)
				json_array_append_new(flags, json_stringn(p, n));
			p += n + (sep ? 2 : 0);
		}
		json_object_set_new(o, "flags", flags);
		json_array_append_new(x->lines, o);
		return PD_OK;
	}
	char users[24], ad[24], pdays[24], bd[24];
	fmt_int(l->licensed_users, users);
	fmt_int(l->active_days, ad);
	fmt_int(l->period_days, pdays);
	fmt_int(l->billed_days, bd);
	/* New columns go after the old ones: scripts read them by position. */
	const char *cells[] = {x->period,
	                       l->billing_id,
	                       l->customer_name,
	                       l->product_type,
	                       users,
	                       ad,
	                       pdays,
	                       price,
	                       amount,
	                       cur,
	                       l->flags,
	                       d1,
	                       d2,
	                       bd};
	pd_csv_write_row(x->out, cells, sizeof cells / sizeof cells[0]);
	if (ferror(x->out))
		return pd_fail(e, PD_E_CANTCREATE, "output", _("write error: %s"), strerror(errno));
	return PD_OK;
}

void pd_billing_writer_end(pd_billing_writer *w, pd_day first, int ndays)
{
	if (!w->json)
		return;
	json_t *doc = json_object();
	char d1[11], d2[11];
	pd_day_format(first, d1);
	pd_day_format(first + ndays - 1, d2);
	json_object_set_new(doc, "period", json_string(w->period));
	json_object_set_new(doc, "first_day", json_string(d1));
	json_object_set_new(doc, "last_day", json_string(d2));
	json_object_set_new(doc, "count", json_integer((json_int_t)w->n));
	json_t *tot = json_object();
	const char *k;
	json_t *v;
	json_object_foreach(w->totals, k, v)
	{
		char m[32];
		pd_fmt_money(json_integer_value(v), m);
		json_object_set_new(tot, k, json_string(m));
	}
	json_object_set_new(doc, "totals", tot);
	json_object_set(doc, "lines", w->lines);
	json_dumpf(doc, w->out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', w->out);
	json_decref(doc);
}

void pd_billing_writer_free(pd_billing_writer *w)
{
	json_decref(w->lines);
	json_decref(w->totals);
	memset(w, 0, sizeof *w);
}

pd_status pd_link_state_outcome(pd_link_state st)
{
	static const pd_status map[PD_LINK_N_STATES] = {
	    [PD_LINK_DISABLED] = PD_E_CONFIG,
	    [PD_LINK_CONNECTING] = PD_E_UNAVAILABLE,
	    [PD_LINK_LOGGING_IN] = PD_E_UNAVAILABLE,
	    [PD_LINK_DISCOVERING] = PD_E_UNAVAILABLE,
	    [PD_LINK_MONITORING] = PD_OK,
	    [PD_LINK_RETRYING] = PD_E_UNAVAILABLE,
	    [PD_LINK_AUTH_FAILED] = PD_E_AUTH,
	    [PD_LINK_PROTOCOL_ERROR] = PD_E_PROTOCOL,
	    [PD_LINK_UNSUPPORTED] = PD_E_UNAVAILABLE,
	    [PD_LINK_CONFIG_ERROR] = PD_E_CONFIG,
	};
	return (unsigned)st < PD_LINK_N_STATES ? map[st] : PD_E_INTERNAL;
}

void pd_pbx_status_now(const pd_pbx *p, const pd_pbx_status *st, bool have_row, bool no_monitor,
                       int64_t now, pd_pbx_now *out)
{
	memset(out, 0, sizeof *out);
	out->known = have_row && st->state;
	out->fresh =
	    out->known && !no_monitor && pd_pbx_status_fresh(st->monitored, st->updated_at, now);
	const char *word = NULL; /* a fixed word: out->status keeps it as written */
	if (!p->enabled) {
		out->key = pd_link_state_name(PD_LINK_DISABLED);
		if (out->known && st->link == PD_LINK_DISABLED)
			pd_msg_text(st->state, out->status, sizeof out->status);
		else
			word = N_("disabled");
		out->outcome = pd_link_state_outcome(PD_LINK_DISABLED);
	} else if (!out->known) {
		word = N_("not monitored (no monitor running)");
		out->outcome = PD_E_UNAVAILABLE;
	} else if (!out->fresh) {
		out->key = pd_link_state_name(st->link); /* the last known state */
		pd_pbx_stale_text(pd_link_state_label(st->link), st->updated_at, now, out->status,
		                  sizeof out->status);
		out->outcome = PD_E_UNAVAILABLE;
	} else {
		out->key = pd_link_state_name(st->link);
		pd_msg_text(st->state, out->status, sizeof out->status); /* the monitor's pd_msg */
		out->outcome = pd_link_state_outcome(st->link);
	}
	if (word)
		pd_utf8_copys(out->status, sizeof out->status, word);
	pd_utf8_copys(out->text, sizeof out->text, word ? _(word) : out->status);
}

json_t *pd_json_pbx_status(const pd_customer *cu, const pd_pbx *p, const pd_pbx_status *st,
                           bool no_monitor)
{
	int64_t now = pd_now();
	pd_pbx_now pn;
	pd_pbx_status_now(p, st, st != NULL, no_monitor, now, &pn);
	bool known = pn.known;
	json_t *o = json_object();
	json_object_set_new(o, "customer", json_string(cu->name));
	json_object_set_new(o, "tenant_id", json_string(cu->tenant_id));
	json_object_set_new(o, "enabled", json_boolean(p->enabled));
	json_object_set_new(o, "state", pn.key ? json_string(pn.key) : json_null());
	json_object_set_new(o, "status", json_string(pn.status));
	json_object_set_new(
	    o, "since", known ? pd_json_time(st->since ? st->since : st->updated_at) : json_null());
	json_object_set_new(o, "last_error", known ? msg_json(st->last_error) : json_null());
	json_object_set_new(o, "updated_at", known ? pd_json_time(st->updated_at) : json_null());
	json_object_set_new(o, "age_s",
	                    known ? json_integer(now > st->updated_at ? now - st->updated_at : 0)
	                          : json_null());
	/* a running monitor stands behind the state (false: the last known) */
	json_object_set_new(o, "monitored", json_boolean(pn.fresh && p->enabled));
	json_object_set_new(o, "live_calls", json_integer(known ? st->live_calls : 0));
	json_object_set_new(o, "agents_available", json_integer(known ? st->agents_available : 0));
	json_object_set_new(o, "agents_logged_on", json_integer(known ? st->agents_logged_on : 0));
	/* what the link is dialled with besides host:port: a TLS failure in
	 * last_error reads next to tls_verify / tls_ca_file */
	json_object_set_new(o, "tls", json_boolean(p->tls));
	json_t *pj = p->params_json && *p->params_json ? json_loads(p->params_json, 0, NULL) : NULL;
	json_object_set_new(o, "params", json_is_object(pj) ? pj : json_object());
	if (pj && !json_is_object(pj))
		json_decref(pj);
	return o;
}

/* The API's resources (docs/user-guide.md, "HTTP API"; data/openapi.json).
 * Each handler maps the request to the model and calls the same core and
 * store functions as the command line (src/cli/customer.c, user.c,
 * billing.c, catalogue.c), and answers with the same JSON objects
 * (src/objects/objects.c): no rule is written here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "objects.h"
#include "provdesk/util.h"

#define LIST_DEFAULT 50
#define LIST_MAX 500

/* ---- request body ---- */

/* The body as a JSON object whose keys are all in `allowed` (NULL-ended);
 * false after answering the error. An empty body is {} when empty_ok. */
static bool body_object(api_req *r, const char *const *allowed, bool empty_ok, json_t **out)
{
	*out = NULL;
	if (!r->body_len && empty_ok) {
		*out = json_object();
		return true;
	}
	json_error_t je;
	json_t *j = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		api_failf(r, PD_E_USAGE, 0, NULL, "body",
		          _("malformed JSON at line %d, column %d: %s"), je.line, je.column,
		          je.text);
		return false;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		api_failf(r, PD_E_USAGE, 0, NULL, "body", _("the body must be a JSON object"));
		return false;
	}
	const char *k;
	json_t *v;
	json_object_foreach(j, k, v)
	{
		bool known = false;
		for (size_t i = 0; allowed[i] && !known; i++)
			known = strcmp(allowed[i], k) == 0;
		if (!known) {
			pd_buf b = {0};
			for (size_t i = 0; allowed[i]; i++)
				pd_buf_printf(&b, "%s%s", i ? ", " : "", allowed[i]);
			api_failf(r, PD_E_USAGE, 0, NULL, k,
			          _("unknown field '%.64s' (fields: %s)"), k, b.s ? b.s : "");
			pd_buf_free(&b);
			json_decref(j);
			return false;
		}
	}
	*out = j;
	return true;
}

/* A string member: absent or null -> *out NULL; another type is refused. */
static bool get_str(api_req *r, json_t *o, const char *field, const char *key, const char **out)
{
	json_t *v = json_object_get(o, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return true;
	if (!json_is_string(v)) {
		api_failf(r, PD_E_USAGE, 0, NULL, field, _("%s: expected a string"), field);
		return false;
	}
	*out = json_string_value(v);
	return true;
}

static bool get_bool(api_req *r, json_t *o, const char *key, int *out)
{
	json_t *v = json_object_get(o, key);
	*out = -1;
	if (!v || json_is_null(v))
		return true;
	if (!json_is_boolean(v)) {
		api_failf(r, PD_E_USAGE, 0, NULL, key, _("%s: expected true or false"), key);
		return false;
	}
	*out = json_is_true(v);
	return true;
}

static bool get_int(api_req *r, json_t *o, const char *key, long min, long max, long *out,
                    bool *present)
{
	json_t *v = json_object_get(o, key);
	*present = v && !json_is_null(v);
	if (!*present)
		return true;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
		api_failf(r, PD_E_USAGE, 0, NULL, key,
		          _("%s: expected a whole number from %ld to %ld"), key, min, max);
		return false;
	}
	*out = (long)json_integer_value(v);
	return true;
}

static void answer_status(api_req *r, pd_status st, pd_err *e)
{
	if (st != PD_OK)
		api_fail(r, e, 0, NULL);
}

/* The customer named in the path; false after answering 404. */
static bool path_customer(api_req *r, pd_customer *cu)
{
	pd_err e;
	pd_err_clear(&e);
	if (pd_customer_resolve(r->s, r->params[0], cu, &e) != PD_OK) {
		api_fail(r, &e, 0, NULL);
		return false;
	}
	return true;
}

static void set_etag(api_req *r, int64_t version)
{
	snprintf(r->etag, sizeof r->etag, "\"%lld\"", (long long)version);
}

/* If-Match: "7", W/"7" or 7; 0 when absent; -1 when malformed (answered). */
static int64_t if_match(api_req *r)
{
	const char *h = api_header(r, "If-Match");
	if (!h)
		return 0;
	const char *p = h;
	if (strncmp(p, "W/", 2) == 0)
		p += 2;
	bool q = *p == '"';
	if (q)
		p++;
	char *end;
	long long v = strtoll(p, &end, 10);
	if (end == p || v < 1 || (q && *end++ != '"') || *end) {
		api_failf(r, PD_E_USAGE, 0, NULL, "if_match",
		          _("If-Match: expected the customer's version as \"N\" (its ETag)"));
		return -1;
	}
	return v;
}

/* The whole customer (as `customer show --json`), with its ETag. */
static void answer_customer(api_req *r, const pd_customer *cu, const char *warning, int http)
{
	pd_err e;
	pd_err_clear(&e);
	json_t *o;
	if (pd_json_customer_full(r->s, r->cat, cu, warning, &o, &e) != PD_OK) {
		api_fail(r, &e, 0, NULL);
		return;
	}
	r->doc = o;
	r->status = http;
	set_etag(r, cu->version);
}

/* The internal-system warning of the command line (customer.c print_saved). */
static const char *internal_warning(api_req *r, const pd_customer *cu, char *buf, size_t n)
{
	pd_counts c;
	pd_err e;
	pd_err_clear(&e);
	int64_t used = store_customer_counts(r->s, pd_today(), &c, &e) == PD_OK ? c.internal : 1;
	pd_internal_warning(cu->name, used, r->cfg->internal_systems_limit, buf, n);
	return buf;
}

/* A refused name that the rules accept was refused for being taken: 409. */
static void fail_name(api_req *r, pd_err *e, const char *name)
{
	if (e->status == PD_E_INVALID && strcmp(e->field, "name") == 0 && name) {
		pd_err ce;
		pd_err_clear(&ce);
		char *norm = NULL;
		bool valid = pd_check_name(name, &norm, &ce) == PD_OK;
		free(norm);
		if (valid) {
			api_fail(r, e, 409, "name_taken");
			return;
		}
	}
	api_fail(r, e, 0, NULL);
}

/* ---- /v1/openapi.json ---- */

void api_r_openapi(api_req *r)
{
	size_t n;
	const char *doc = api_openapi(r->api, &n);
	r->raw = xmalloc(n + 1);
	memcpy(r->raw, doc, n);
	r->raw[n] = 0;
	r->raw_len = n;
	r->ctype = "application/json";
}

/* ---- /v1/customers ---- */

/* The cursor: "<id>" of the last row given, tied to the sort it was made
 * with ("<id>.<sort>.<a|d>"); the store pages by keyset after that row. */
void api_r_customers_list(api_req *r)
{
	const char *filter = api_query(r, "filter"), *sort = api_query(r, "sort"),
	           *limit_s = api_query(r, "limit"), *cursor = api_query(r, "cursor"),
	           *all = api_query(r, "include_deleted");
	bool desc = false;
	if (sort && *sort == '-') {
		desc = true;
		sort++;
	}
	pd_sort so = PD_SORT_NAME;
	if (sort && !pd_sort_parse(sort, &so)) {
		pd_buf b = {0};
		for (int i = 0; i < PD_SORT__COUNT; i++)
			pd_buf_printf(&b, "%s%s", i ? ", " : "", pd_sort_name((pd_sort)i));
		api_failf(r, PD_E_USAGE, 0, NULL, "sort",
		          _("sort: unknown column '%.64s' (one of: %s; '-' before it: descending)"),
		          sort, b.s);
		pd_buf_free(&b);
		return;
	}
	if (filter && strlen(filter) > PD_FILTER_MAX) {
		api_failf(r, PD_E_USAGE, 0, NULL, "filter", _("filter: at most %d bytes (got %zu)"),
		          PD_FILTER_MAX, strlen(filter));
		return;
	}
	long limit = LIST_DEFAULT;
	if (limit_s) {
		char *end;
		limit = strtol(limit_s, &end, 10);
		if (!*limit_s || *end || limit < 1 || limit > LIST_MAX) {
			api_failf(r, PD_E_USAGE, 0, NULL, "limit",
			          _("limit: expected a whole number from 1 to %d"), LIST_MAX);
			return;
		}
	}
	bool include_deleted = all && (strcmp(all, "true") == 0 || strcmp(all, "1") == 0);
	if (all && !include_deleted && strcmp(all, "false") != 0 && strcmp(all, "0") != 0) {
		api_failf(r, PD_E_USAGE, 0, NULL, "include_deleted",
		          _("include_deleted: expected true or false"));
		return;
	}
	pd_row anchor;
	memset(&anchor, 0, sizeof anchor);
	if (cursor) {
		char *end;
		long long id = strtoll(cursor, &end, 10);
		char want[80];
		snprintf(want, sizeof want, ".%s.%c", pd_sort_name(so), desc ? 'd' : 'a');
		if (end == cursor || id < 1 || strcmp(end, want) != 0) {
			api_failf(
			    r, PD_E_USAGE, 0, NULL, "cursor",
			    _("cursor: not a cursor of this sort (take next_cursor as given)"));
			return;
		}
		anchor.c.id = id;
	}
	pd_query q = {
	    .filter = filter && *filter ? filter : NULL,
	    .sort = so,
	    .descending = desc,
	    .include_deleted = include_deleted,
	    .today = pd_today(),
	};
	pd_row *rows = xcalloc((size_t)limit + 1, sizeof *rows);
	size_t n = 0;
	pd_err e;
	pd_err_clear(&e);
	/* one more than asked: whether there is a next page */
	pd_status st =
	    store_customer_page(r->s, &q, cursor ? PD_PAGE_AFTER : PD_PAGE_FIRST,
	                        cursor ? &anchor : NULL, (size_t)limit + 1, rows, &n, &e);
	if (st != PD_OK) {
		free(rows);
		api_fail(r, &e, 0, NULL);
		return;
	}
	json_t *arr = json_array();
	size_t shown = n > (size_t)limit ? (size_t)limit : n;
	for (size_t i = 0; i < shown; i++)
		json_array_append_new(arr, pd_json_customer_row(&rows[i], q.today));
	json_t *doc = json_object();
	json_object_set_new(doc, "customers", arr);
	if (n > (size_t)limit) {
		char next[96];
		snprintf(next, sizeof next, "%lld.%s.%c", (long long)rows[shown - 1].c.id,
		         pd_sort_name(so), desc ? 'd' : 'a');
		json_object_set_new(doc, "next_cursor", json_string(next));
	} else
		json_object_set_new(doc, "next_cursor", json_null());
	pd_rows_free(rows, n); /* the rows' members; the array is ours */
	free(rows);
	r->doc = doc;
}

static bool parse_user(api_req *r, json_t *u, size_t i, pd_user *out)
{
	static const char *const keys[] = {"display_name", "email", "extension", "role", NULL};
	char field[48];
	snprintf(field, sizeof field, "users[%zu]", i);
	if (!json_is_object(u)) {
		api_failf(r, PD_E_USAGE, 0, NULL, field, _("%s: expected an object"), field);
		return false;
	}
	const char *k;
	json_t *v;
	json_object_foreach(u, k, v)
	{
		bool known = false;
		for (size_t j = 0; keys[j] && !known; j++)
			known = strcmp(keys[j], k) == 0;
		if (!known) {
			api_failf(r, PD_E_USAGE, 0, NULL, field, _("%s: unknown field '%.64s'"),
			          field, k);
			return false;
		}
	}
	const char *name, *email, *ext, *role;
	char f2[64];
	snprintf(f2, sizeof f2, "%s.display_name", field);
	if (!get_str(r, u, f2, "display_name", &name))
		return false;
	snprintf(f2, sizeof f2, "%s.email", field);
	if (!get_str(r, u, f2, "email", &email))
		return false;
	snprintf(f2, sizeof f2, "%s.extension", field);
	if (!get_str(r, u, f2, "extension", &ext))
		return false;
	snprintf(f2, sizeof f2, "%s.role", field);
	if (!get_str(r, u, f2, "role", &role))
		return false;
	const char *role_key = NULL;
	pd_err e;
	pd_err_clear(&e);
	if (role && pd_role_resolve(r->cat, role, &role_key, &e) != PD_OK) {
		pd_utf8_copys(e.field, sizeof e.field, f2);
		api_fail(r, &e, 0, NULL);
		return false;
	}
	out->display_name = name ? xstrdup(name) : NULL;
	out->email = email ? xstrdup(email) : NULL;
	out->extension = ext && *ext ? xstrdup(ext) : NULL;
	out->role = role_key ? xstrdup(role_key) : NULL;
	return true;
}

static bool parse_pbx(api_req *r, json_t *p, pd_pbx **out)
{
	static const char *const keys[] = {"template",
	                                   "platform",
	                                   "host",
	                                   "port",
	                                   "tls",
	                                   "username",
	                                   "secret",
	                                   "params",
	                                   "sync_users",
	                                   "monitor",
	                                   "auto_provision_sub_accounts",
	                                   "enabled",
	                                   NULL};
	*out = NULL;
	if (!p || json_is_null(p))
		return true;
	if (!json_is_object(p)) {
		api_failf(r, PD_E_USAGE, 0, NULL, "pbx", _("pbx: expected an object"));
		return false;
	}
	const char *k;
	json_t *v;
	json_object_foreach(p, k, v)
	{
		bool known = false;
		for (size_t j = 0; keys[j] && !known; j++)
			known = strcmp(keys[j], k) == 0;
		if (!known) {
			api_failf(r, PD_E_USAGE, 0, NULL, "pbx", _("pbx: unknown field '%.64s'"),
			          k);
			return false;
		}
	}
	const char *tmpl, *platform, *host, *user, *secret;
	long port = 0;
	bool has_port;
	int tls, sync, mon, autop, en;
	if (!get_str(r, p, "template", "template", &tmpl) ||
	    !get_str(r, p, "platform", "platform", &platform) ||
	    !get_str(r, p, "host", "host", &host) ||
	    !get_str(r, p, "username", "username", &user) ||
	    !get_str(r, p, "secret", "secret", &secret) ||
	    !get_int(r, p, "port", 0, 65535, &port, &has_port) || !get_bool(r, p, "tls", &tls) ||
	    !get_bool(r, p, "sync_users", &sync) || !get_bool(r, p, "monitor", &mon) ||
	    !get_bool(r, p, "auto_provision_sub_accounts", &autop) ||
	    !get_bool(r, p, "enabled", &en))
		return false;
	json_t *params = json_object_get(p, "params");
	if (params && !json_is_null(params) && !json_is_object(params)) {
		api_failf(r, PD_E_USAGE, 0, NULL, "params", _("pbx.params: expected an object"));
		return false;
	}
	pd_pbx *x = xcalloc(1, sizeof *x);
	x->platform = platform ? xstrdup(platform) : NULL;
	x->host = host ? xstrdup(host) : NULL;
	x->port = (int)port;
	x->tls = tls == 1;
	x->username = user ? xstrdup(user) : NULL;
	x->secret = secret ? xstrdup(secret) : NULL;
	x->params_json = params && json_object_size(params)
	                     ? json_dumps(params, JSON_COMPACT | JSON_SORT_KEYS)
	                     : NULL;
	x->sync_users = sync != 0;
	x->monitor = mon != 0;
	x->auto_provision = autop == 1;
	x->enabled = en != 0;
	if (tmpl) {
		pd_template t;
		pd_err e;
		pd_err_clear(&e);
		if (store_template_get(r->s, tmpl, &t, &e) != PD_OK) {
			pd_pbx_free(x);
			free(x);
			api_fail(r, &e, 0, NULL);
			return false;
		}
		x->template_name = xstrdup(tmpl);
		pd_pbx_apply_template(x, &t);
		pd_template_free(&t);
	}
	*out = x;
	return true;
}

void api_r_customers_create(api_req *r)
{
	static const char *const keys[] = {"name",       "product_type", "country",
	                                   "reference",  "notes",        "time_zone",
	                                   "locale",     "trial_days",   "internal_system",
	                                   "admin_name", "admin_email",  "admin_extension",
	                                   "users",      "pbx",          NULL};
	json_t *b;
	if (!body_object(r, keys, false, &b))
		return;
	const char *name, *ptype, *country, *ref, *notes, *tz, *aname, *aemail, *aext, *locale;
	long days = 0;
	bool has_days;
	int internal;
	if (!get_str(r, b, "name", "name", &name) ||
	    !get_str(r, b, "product_type", "product_type", &ptype) ||
	    !get_str(r, b, "country", "country", &country) ||
	    !get_str(r, b, "reference", "reference", &ref) ||
	    !get_str(r, b, "notes", "notes", &notes) ||
	    !get_str(r, b, "time_zone", "time_zone", &tz) ||
	    !get_str(r, b, "locale", "locale", &locale) ||
	    !get_str(r, b, "admin_name", "admin_name", &aname) ||
	    !get_str(r, b, "admin_email", "admin_email", &aemail) ||
	    !get_str(r, b, "admin_extension", "admin_extension", &aext) ||
	    !get_int(r, b, "trial_days", 0, 3650, &days, &has_days) ||
	    !get_bool(r, b, "internal_system", &internal)) {
		json_decref(b);
		return;
	}
	/* the command line's required options, as fields */
	static const char *const req[] = {"name", "product_type", "country", "admin_name",
	                                  "admin_email"};
	const char *vals[] = {name, ptype, country, aname, aemail};
	for (size_t i = 0; i < 5; i++)
		if (!vals[i]) {
			api_failf(r, PD_E_USAGE, 0, NULL, req[i], _("missing %s"), req[i]);
			json_decref(b);
			return;
		}
	json_t *users = json_object_get(b, "users");
	if (users && !json_is_null(users) && !json_is_array(users)) {
		api_failf(r, PD_E_USAGE, 0, NULL, "users", _("users: expected an array"));
		json_decref(b);
		return;
	}
	pd_new_customer n;
	memset(&n, 0, sizeof n);
	n.customer.name = xstrdup(name);
	n.customer.product_type = xstrdup(ptype);
	n.customer.reference = ref && *ref ? xstrdup(ref) : NULL;
	n.customer.notes = notes && *notes ? xstrdup(notes) : NULL;
	n.customer.internal_system = internal == 1;
	n.trial_days = (int)days;
	n.admin.display_name = xstrdup(aname);
	n.admin.email = xstrdup(aemail);
	n.admin.extension = aext && *aext ? xstrdup(aext) : NULL;
	n.admin.role = xstrdup(PD_ROLE_ADMIN);
	n.admin.primary = true;
	size_t nu = users ? json_array_size(users) : 0;
	if (nu) {
		n.users = xcalloc(nu, sizeof *n.users);
		for (size_t i = 0; i < nu; i++, n.n_users++)
			if (!parse_user(r, json_array_get(users, i), i, &n.users[i]))
				goto out;
	}
	if (!parse_pbx(r, json_object_get(b, "pbx"), &n.pbx))
		goto out;
	pd_err e;
	pd_err_clear(&e);
	const pd_geo *g;
	pd_status st = pd_geo_get(&g, &e);
	if (st == PD_OK)
		st = pd_check_country(g, country, n.customer.country, &e);
	if (st == PD_OK)
		st = pd_check_time_zone(g, n.customer.country, tz, &n.customer.time_zone, &e);
	if (st == PD_OK)
		st = pd_check_locale(g, n.customer.country, locale, &n.customer.locale, &e);
	if (st == PD_OK)
		st = pd_new_customer_check(r->cat, g, &n, pd_today(), &e);
	pd_customer cu;
	memset(&cu, 0, sizeof cu);
	if (st == PD_OK)
		st = store_customer_create(r->s, &n, &r->actor, &cu, &e);
	if (st != PD_OK)
		fail_name(r, &e, name);
	else {
		char w[512];
		answer_customer(
		    r, &cu, cu.internal_system ? internal_warning(r, &cu, w, sizeof w) : NULL, 201);
	}
	pd_customer_free(&cu);
out:
	pd_new_customer_free(&n);
	json_decref(b);
}

void api_r_customer_get(api_req *r)
{
	pd_customer cu;
	if (!path_customer(r, &cu))
		return;
	answer_customer(r, &cu, NULL, 200);
	pd_customer_free(&cu);
}

static bool str_eq(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

/* The steps of `customer update` (src/cli/customer.c cmd_update). */
void api_r_customer_patch(api_req *r)
{
	static const char *const keys[] = {"name",
	                                   "product_type",
	                                   "country",
	                                   "reference",
	                                   "notes",
	                                   "time_zone",
	                                   "internal_system",
	                                   "disabled",
	                                   "trial_end",
	                                   "confirm_product_change",
	                                   "locale",
	                                   NULL};
	int64_t ver = if_match(r);
	if (ver < 0)
		return;
	json_t *b;
	if (!body_object(r, keys, false, &b))
		return;
	const char *name, *ptype, *country, *ref, *notes, *tz, *tend, *locale;
	int internal, disabled, yes;
	if (!get_str(r, b, "name", "name", &name) ||
	    !get_str(r, b, "product_type", "product_type", &ptype) ||
	    !get_str(r, b, "country", "country", &country) ||
	    !get_str(r, b, "reference", "reference", &ref) ||
	    !get_str(r, b, "notes", "notes", &notes) ||
	    !get_str(r, b, "time_zone", "time_zone", &tz) ||
	    !get_str(r, b, "locale", "locale", &locale) ||
	    !get_str(r, b, "trial_end", "trial_end", &tend) ||
	    !get_bool(r, b, "internal_system", &internal) ||
	    !get_bool(r, b, "disabled", &disabled) ||
	    !get_bool(r, b, "confirm_product_change", &yes)) {
		json_decref(b);
		return;
	}
	/* null clears an optional text, as "" on the command line */
	bool clear_ref = json_is_null(json_object_get(b, "reference"));
	bool clear_notes = json_is_null(json_object_get(b, "notes"));
	bool fields = name || ptype || country || ref || clear_ref || notes || clear_notes || tz ||
	              locale || internal >= 0 || tend;
	pd_day tend_day = 0;
	if (tend && !pd_day_parse(tend, &tend_day)) {
		api_failf(r, PD_E_USAGE, 0, NULL, "trial_end",
		          _("trial_end: expected a date as YYYY-MM-DD, got '%.32s'"), tend);
		json_decref(b);
		return;
	}
	if (!fields && disabled < 0) {
		api_failf(r, PD_E_USAGE, 0, NULL, "body", _("nothing to change"));
		json_decref(b);
		return;
	}
	pd_customer cur, upd, out, theirs;
	memset(&upd, 0, sizeof upd);
	memset(&out, 0, sizeof out);
	memset(&theirs, 0, sizeof theirs);
	if (!path_customer(r, &cur)) {
		json_decref(b);
		return;
	}
	pd_err e;
	pd_err_clear(&e);
	const pd_geo *g;
	pd_status st = pd_geo_get(&g, &e);
	pd_customer_copy(&upd, &cur);
	if (ver)
		upd.version = ver;
	char *impact = NULL;
	if (name)
		pd_set_str(&upd.name, name);
	if (ref || clear_ref)
		pd_set_str(&upd.reference, ref && *ref ? ref : NULL);
	if (notes || clear_notes)
		pd_set_str(&upd.notes, notes && *notes ? notes : NULL);
	if (internal >= 0)
		upd.internal_system = internal;
	if (tend) {
		if (!upd.trial || upd.trial_converted) {
			upd.trial = true;
			upd.trial_converted = false;
			upd.trial_start = pd_today();
		}
		upd.trial_end = tend_day;
	}
	if (st == PD_OK)
		st = pd_update_country_zone(g, &cur, country, tz, &upd, &e);
	if (st == PD_OK)
		st = pd_update_locale(g, &cur, locale, &upd, &e);
	if (st == PD_OK && ptype && !str_eq(ptype, cur.product_type)) {
		st = pd_check_product_change(r->cat, cur.product_type, ptype, &impact, &e);
		if (st == PD_OK && yes != 1)
			st = pd_fail(&e, PD_E_INVALID, "product_type",
			             _("changing the product type from %s to %s: %s; send "
			               "\"confirm_product_change\": true to confirm"),
			             cur.product_type, ptype,
			             impact ? impact : _("licensing changes"));
		if (st == PD_OK)
			pd_set_str(&upd.product_type, ptype);
	}
	free(impact);
	if (st == PD_OK && ver && !fields && ver != cur.version)
		st = pd_fail(&e, PD_E_CONFLICT, "version",
		             _("customer %s is at version %lld, not %lld: changed by someone else"),
		             cur.name, (long long)cur.version, (long long)ver);
	if (st == PD_OK && fields)
		st = store_customer_update(r->s, &upd, &r->actor, &out, &theirs, &e);
	if (st == PD_OK && disabled >= 0 && cur.disabled != (disabled == 1))
		st = store_customer_set_disabled(r->s, cur.id, disabled == 1, &r->actor, &e);
	if (st == PD_OK) {
		pd_customer_free(&out);
		memset(&out, 0, sizeof out);
		st = store_customer_get(r->s, cur.id, &out, &e);
	}
	if (st != PD_OK)
		fail_name(r, &e, name);
	else {
		char w[512];
		bool became = internal == 1 && !cur.internal_system;
		answer_customer(r, &out, became ? internal_warning(r, &out, w, sizeof w) : NULL,
		                200);
	}
	pd_customer_free(&cur);
	pd_customer_free(&upd);
	pd_customer_free(&out);
	pd_customer_free(&theirs);
	json_decref(b);
}

static void answer_plain_customer(api_req *r, int64_t id)
{
	pd_customer cu;
	pd_err e;
	pd_err_clear(&e);
	if (store_customer_get(r->s, id, &cu, &e) != PD_OK) {
		api_fail(r, &e, 0, NULL);
		return;
	}
	r->doc = pd_json_customer(&cu, pd_today());
	set_etag(r, cu.version);
	pd_customer_free(&cu);
}

void api_r_customer_delete(api_req *r)
{
	int64_t ver = if_match(r);
	if (ver < 0)
		return;
	pd_customer cu;
	if (!path_customer(r, &cu))
		return;
	pd_err e;
	pd_err_clear(&e);
	/* the request names the customer: the confirmation the console asks for */
	pd_status st =
	    store_customer_delete(r->s, cu.id, cu.name, ver ? ver : cu.version, &r->actor, &e);
	if (st != PD_OK)
		api_fail(r, &e, 0, NULL);
	else
		answer_plain_customer(r, cu.id);
	pd_customer_free(&cu);
}

/* ---- users and roles ---- */

void api_r_users_list(api_req *r)
{
	pd_customer cu;
	if (!path_customer(r, &cu))
		return;
	pd_user *u = NULL;
	size_t n = 0;
	pd_err e;
	pd_err_clear(&e);
	if (store_user_list(r->s, cu.id, &u, &n, &e) != PD_OK)
		api_fail(r, &e, 0, NULL);
	else
		r->doc = pd_json_users(r->cat, u, n);
	for (size_t i = 0; i < n; i++)
		pd_user_free(&u[i]);
	free(u);
	pd_customer_free(&cu);
}

static void answer_user(api_req *r, int64_t id, int http)
{
	pd_user u;
	pd_err e;
	pd_err_clear(&e);
	if (store_user_get(r->s, id, &u, &e) != PD_OK) {
		api_fail(r, &e, 0, NULL);
		return;
	}
	r->doc = pd_json_user(r->cat, &u);
	r->status = http;
	pd_user_free(&u);
}

void api_r_user_add(api_req *r)
{
	static const char *const keys[] = {"display_name", "email", "extension", "role", NULL};
	json_t *b;
	if (!body_object(r, keys, false, &b))
		return;
	pd_customer cu;
	if (!path_customer(r, &cu)) {
		json_decref(b);
		return;
	}
	pd_user u, out;
	memset(&u, 0, sizeof u);
	memset(&out, 0, sizeof out);
	const char *name, *email;
	if (!get_str(r, b, "display_name", "display_name", &name) ||
	    !get_str(r, b, "email", "email", &email))
		goto done;
	if (!name || !email) {
		api_failf(r, PD_E_USAGE, 0, NULL, name ? "email" : "display_name", _("missing %s"),
		          name ? "email" : "display_name");
		goto done;
	}
	if (!parse_user(r, b, 0, &u))
		goto done;
	u.customer_id = cu.id;
	pd_err e;
	pd_err_clear(&e);
	pd_status st = pd_user_check(r->cat, &u, &e);
	if (st == PD_OK)
		st = store_user_add(r->s, cu.id, &u, &r->actor, &out, &e);
	if (st != PD_OK)
		api_fail(r, &e, 0, NULL);
	else
		answer_user(r, out.id, 201);
done:
	pd_user_free(&u);
	pd_user_free(&out);
	pd_customer_free(&cu);
	json_decref(b);
}

static bool path_user(api_req *r, const pd_customer *cu, pd_user *u)
{
	pd_err e;
	pd_err_clear(&e);
	memset(u, 0, sizeof *u);
	if (store_user_find(r->s, cu->id, r->params[1], u, &e) != PD_OK) {
		if (!e.field[0])
			snprintf(e.field, sizeof e.field, "user");
		api_fail(r, &e, 0, NULL);
		return false;
	}
	return true;
}

void api_r_user_remove(api_req *r)
{
	pd_customer cu;
	if (!path_customer(r, &cu))
		return;
	pd_user u;
	if (path_user(r, &cu, &u)) {
		pd_err e;
		pd_err_clear(&e);
		if (store_user_remove(r->s, u.id, &r->actor, &e) != PD_OK)
			api_fail(r, &e, 0, NULL);
		else {
			r->doc = pd_json_user(r->cat, &u);
			json_object_set_new(r->doc, "removed", json_true());
		}
		pd_user_free(&u);
	}
	pd_customer_free(&cu);
}

void api_r_user_role(api_req *r)
{
	static const char *const keys[] = {"role", NULL};
	json_t *b;
	if (!body_object(r, keys, false, &b))
		return;
	const char *role;
	if (!get_str(r, b, "role", "role", &role)) {
		json_decref(b);
		return;
	}
	const char *role_key = NULL;
	pd_err e;
	pd_err_clear(&e);
	if (pd_role_resolve(r->cat, role, &role_key, &e) != PD_OK) {
		api_fail(r, &e, 0, NULL);
		json_decref(b);
		return;
	}
	pd_customer cu;
	if (path_customer(r, &cu)) {
		pd_user u;
		if (path_user(r, &cu, &u)) {
			if (store_role_assign(r->s, u.id, role_key, &r->actor, &e) != PD_OK)
				api_fail(r, &e, 0, NULL);
			else
				answer_user(r, u.id, 200);
			pd_user_free(&u);
		}
		pd_customer_free(&cu);
	}
	json_decref(b);
}

/* ---- trial ---- */

void api_r_trial_extend(api_req *r)
{
	static const char *const keys[] = {"days", NULL};
	json_t *b;
	if (!body_object(r, keys, true, &b))
		return;
	long days = r->cfg->trial_default_days;
	bool has;
	if (get_int(r, b, "days", 1, 3650, &days, &has)) {
		pd_customer cu;
		if (path_customer(r, &cu)) {
			pd_err e;
			pd_err_clear(&e);
			if (store_trial_extend(r->s, cu.id, (int)days, &r->actor, &e) != PD_OK)
				api_fail(r, &e, 0, NULL);
			else
				answer_plain_customer(r, cu.id);
			pd_customer_free(&cu);
		}
	}
	json_decref(b);
}

void api_r_trial_convert(api_req *r)
{
	static const char *const keys[] = {NULL};
	json_t *b;
	if (!body_object(r, keys, true, &b))
		return;
	pd_customer cu;
	if (path_customer(r, &cu)) {
		pd_err e;
		pd_err_clear(&e);
		if (store_trial_convert(r->s, cu.id, &r->actor, &e) != PD_OK)
			api_fail(r, &e, 0, NULL);
		else
			answer_plain_customer(r, cu.id);
		pd_customer_free(&cu);
	}
	json_decref(b);
}

/* ---- PBX ---- */

void api_r_pbx_status(api_req *r)
{
	pd_customer cu;
	if (!path_customer(r, &cu))
		return;
	pd_pbx p;
	pd_pbx_status st;
	bool has_st;
	pd_err e;
	pd_err_clear(&e);
	if (pd_pbx_get_public(r->s, cu.id, &p, &st, &has_st, &e) != PD_OK) {
		if (e.status == PD_E_NOTFOUND)
			api_failf(r, PD_E_NOTFOUND, 0, NULL, "pbx",
			          _("customer %s has no PBX connection"), cu.name);
		else
			api_fail(r, &e, 0, NULL);
	} else {
		r->doc = pd_json_pbx_status(&cu, &p, has_st ? &st : NULL, false);
		pd_pbx_free(&p);
		if (has_st)
			pd_pbx_status_free(&st);
	}
	pd_customer_free(&cu);
}

static void pbx_hook(api_req *r, pd_api_pbx_op op)
{
	pd_customer cu;
	if (!path_customer(r, &cu))
		return;
	const pd_api_hooks *h = api_hooks(r->api);
	pd_err e;
	pd_err_clear(&e);
	if (!h->pbx_action)
		api_failf(r, PD_E_UNAVAILABLE, 0, NULL, "pbx",
		          _("the PBX links run in provdesk serve, which is not serving this API"));
	else {
		json_t *reply = NULL;
		if (h->pbx_action(h->ctx, op, r->s, cu.id, &reply, &e) != PD_OK) {
			api_fail(r, &e, 0, NULL);
			if (reply && json_is_object(reply)) /* the steps beside the error */
				json_object_update_missing(r->doc, reply);
			json_decref(reply);
		} else
			r->doc = reply ? reply : json_object();
	}
	pd_customer_free(&cu);
}

void api_r_pbx_test(api_req *r)
{
	pbx_hook(r, PD_API_PBX_TEST);
}

void api_r_pbx_resync(api_req *r)
{
	pbx_hook(r, PD_API_PBX_RESYNC);
}

void api_r_events(api_req *r)
{
	const pd_api_hooks *h = api_hooks(r->api);
	if (!h->events_open || !h->events_next || !h->events_close)
		api_failf(
		    r, PD_E_UNAVAILABLE, 0, NULL, NULL,
		    _("the live state comes from provdesk serve, which is not serving this API"));
	else {
		/* a browser's EventSource sends the id of the last event it had
		 * when it reconnects: the stream is of states, not a log, so it
		 * starts with every customer's current state whatever the id;
		 * what is not an id of ours is refused */
		const char *lid = api_header(r, "Last-Event-ID");
		size_t n = lid ? strlen(lid) : 0;
		bool ok = !lid || (n >= 1 && n <= 18 && strspn(lid, "0123456789") == n);
		if (!ok)
			api_failf(
			    r, PD_E_USAGE, 0, NULL, "last_event_id",
			    _("Last-Event-ID: the id of an event of this stream (1 to 18 digits)"));
		else
			r->sse = true;
	}
}

/* ---- catalogue, billing ---- */

void api_r_catalogue(api_req *r)
{
	const pd_geo *g;
	pd_err e;
	pd_err_clear(&e);
	if (pd_geo_get(&g, &e) != PD_OK) {
		api_fail(r, &e, 0, NULL);
		return;
	}
	static const bool all[4] = {true, true, true, true};
	r->doc = pd_json_catalogue(r->cat, g, all);
}

void api_r_billing(api_req *r)
{
	const char *period = api_query(r, "period");
	pd_day first;
	int ndays;
	if (!period) {
		api_failf(r, PD_E_USAGE, 0, NULL, "period", _("missing period=YYYY-MM"));
		return;
	}
	if (!pd_period_parse(period, &first, &ndays)) {
		api_failf(r, PD_E_USAGE, 0, NULL, "period",
		          _("period: expected a month as YYYY-MM (e.g. 2026-11), got '%.32s'"),
		          period);
		return;
	}
	const char *accept = api_header(r, "Accept");
	bool csv = accept && strstr(accept, "text/csv");
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	if (!out) {
		api_failf(r, PD_E_INTERNAL, 0, NULL, NULL, _("out of memory"));
		return;
	}
	pd_billing_writer w;
	pd_billing_writer_begin(&w, out, !csv, period);
	pd_err e;
	pd_err_clear(&e);
	pd_status st = store_billing_export(r->s, first, ndays, pd_billing_writer_line, &w, &e);
	if (st == PD_OK)
		pd_billing_writer_end(&w, first, ndays);
	pd_billing_writer_free(&w);
	fclose(out);
	if (st != PD_OK) {
		free(buf);
		answer_status(r, st, &e);
		return;
	}
	r->raw = buf;
	r->raw_len = len;
	r->ctype = csv ? "text/csv; charset=utf-8" : "application/json";
}

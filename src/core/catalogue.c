/* The catalogue file (data/catalogue.json): product types, roles and PBX
 * platforms. Parsed with jansson and then checked strictly, because a typo
 * here silently changes what customers are sold and billed: unknown keys,
 * wrong types, duplicates, negative prices, unknown platforms and bad
 * country codes are errors naming the file, the line and the key path. */
#include "provdesk/catalogue.h"
#include "provdesk/i18n.h"
#include "provdesk/model.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "provdesk/geo.h"
#include "provdesk/i18n.h"
#include "provdesk/paths.h"
#include "provdesk/util.h"

/* ---- locating a key path in the raw text (jansson keeps no positions) ----
 * The text already parsed, so this scanner can be lenient: it only has to
 * follow object keys and array indices and count newlines. */

typedef struct {
	const char *s;
	size_t n, i;
} scan;

static void sc_ws(scan *c)
{
	while (c->i < c->n && strchr(" \t\r\n", c->s[c->i]))
		c->i++;
}

static void sc_string(scan *c)
{
	c->i++; /* opening quote */
	while (c->i < c->n && c->s[c->i] != '"')
		c->i += c->s[c->i] == '\\' ? 2 : 1;
	c->i++;
}

static void sc_value(scan *c)
{
	sc_ws(c);
	if (c->i >= c->n)
		return;
	char ch = c->s[c->i];
	if (ch == '"') {
		sc_string(c);
	} else if (ch == '{' || ch == '[') {
		char close = ch == '{' ? '}' : ']';
		c->i++;
		for (;;) {
			sc_ws(c);
			if (c->i >= c->n || c->s[c->i] == close) {
				c->i++;
				return;
			}
			if (ch == '{') {
				sc_string(c);
				sc_ws(c);
				c->i++; /* ':' */
			}
			sc_value(c);
			sc_ws(c);
			if (c->i < c->n && c->s[c->i] == ',')
				c->i++;
		}
	} else {
		while (c->i < c->n && !strchr(",}] \t\r\n", c->s[c->i]))
			c->i++;
	}
}

/* path segments: ".key" or "[n]" as in "product_types[2].price_cents".
 * Returns the 1-based line of the deepest element found. */
static int line_of(const char *text, size_t len, const char *path)
{
	scan c = {text, len, 0};
	sc_ws(&c);
	const char *p = path;
	size_t found = c.i;
	while (*p && c.i < c.n) {
		if (*p == '[') {
			long idx = strtol(p + 1, (char **)&p, 10);
			if (*p == ']')
				p++;
			if (c.s[c.i] != '[')
				break;
			c.i++;
			bool ok = true;
			for (long k = 0; k < idx && ok; k++) {
				sc_value(&c);
				sc_ws(&c);
				if (c.i < c.n && c.s[c.i] == ',')
					c.i++;
				else
					ok = false;
			}
			if (!ok)
				break;
			sc_ws(&c);
			found = c.i;
		} else {
			if (*p == '.')
				p++;
			size_t kl = strcspn(p, ".[");
			if (c.s[c.i] != '{')
				break;
			c.i++;
			bool hit = false;
			for (;;) {
				sc_ws(&c);
				if (c.i >= c.n || c.s[c.i] != '"')
					break;
				size_t ks = c.i + 1;
				sc_string(&c);
				size_t ke = c.i - 1;
				sc_ws(&c);
				c.i++; /* ':' */
				sc_ws(&c);
				if (ke - ks == kl && !strncmp(c.s + ks, p, kl)) {
					found = ks - 1;
					hit = true;
					break;
				}
				sc_value(&c);
				sc_ws(&c);
				if (c.i < c.n && c.s[c.i] == ',')
					c.i++;
			}
			if (!hit)
				break;
			p += kl;
		}
	}
	int line = 1;
	for (size_t k = 0; k < found && k < len; k++)
		line += text[k] == '\n';
	return line;
}

/* ---- the checker ---- */

typedef struct {
	const char *path;
	const char *text;
	size_t len;
	pd_err *e;
} ctx;

static pd_status bad(ctx *x, const char *keypath, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static pd_status bad(ctx *x, const char *keypath, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	pd_vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	int line = x->text ? line_of(x->text, x->len, keypath) : 0;
	return pd_fail_line(x->e, PD_E_CONFIG, line, keypath, "%s:%d: %s: %s", x->path, line,
	                    keypath, msg);
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return _("an object");
	case JSON_ARRAY:
		return _("an array");
	case JSON_STRING:
		return _("a string");
	case JSON_INTEGER:
		return _("an integer");
	case JSON_REAL:
		return _("a number");
	case JSON_TRUE:
	case JSON_FALSE:
		return _("a boolean");
	default:
		return "null";
	}
}

/* Refuse keys outside `allowed` (NULL-terminated). */
static pd_status only_keys(ctx *x, const char *at, json_t *obj, const char *const *allowed)
{
	const char *k;
	json_t *v;
	json_object_foreach(obj, k, v)
	{
		bool ok = false;
		for (const char *const *a = allowed; *a && !ok; a++)
			ok = !strcmp(*a, k);
		if (!ok) {
			char p[256];
			snprintf(p, sizeof p, "%s%s%s", at, *at ? "." : "", k);
			pd_buf b = {0};
			for (const char *const *a = allowed; *a; a++)
				pd_buf_printf(&b, "%s%s", a == allowed ? "" : ", ", *a);
			pd_status st = bad(x, p, _("unknown key (allowed: %s)"), b.s);
			pd_buf_free(&b);
			return st;
		}
	}
	return PD_OK;
}

static pd_status get_string(ctx *x, const char *at, json_t *obj, const char *key, bool required,
                            char **out)
{
	char p[256];
	snprintf(p, sizeof p, "%s.%s", at, key);
	json_t *v = json_object_get(obj, key);
	if (!v) {
		if (required)
			return bad(x, at, _("missing required key \"%s\""), key);
		*out = NULL;
		return PD_OK;
	}
	if (!json_is_string(v))
		return bad(x, p, _("must be a string, not %s"), type_name(v));
	const char *s = json_string_value(v);
	if (required && !*s)
		return bad(x, p, _("must not be empty"));
	/* the same rules as every other text field: it reaches screens and
	 * exports (descriptions are a sentence or two, the rest a name) */
	pd_err te;
	pd_err_clear(&te);
	if (pd_check_text(s, key, strcmp(key, "description") ? PD_NAME_MAX : 500, false, &te))
		return bad(x, p, "%s", te.message);
	*out = xstrdup(s);
	return PD_OK;
}

static pd_status get_bool(ctx *x, const char *at, json_t *obj, const char *key, bool required,
                          bool def, bool *out)
{
	char p[256];
	snprintf(p, sizeof p, "%s.%s", at, key);
	json_t *v = json_object_get(obj, key);
	if (!v) {
		if (required)
			return bad(x, at, _("missing required key \"%s\""), key);
		*out = def;
		return PD_OK;
	}
	if (!json_is_boolean(v))
		return bad(x, p, _("must be true or false, not %s"), type_name(v));
	*out = json_is_true(v);
	return PD_OK;
}

static bool key_ok(const char *k)
{
	size_t n = strlen(k);
	if (n == 0 || n > 40)
		return false;
	for (const char *p = k; *p; p++)
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '-' &&
		    *p != '_')
			return false;
	return true;
}

static pd_status get_key(ctx *x, const char *at, json_t *obj, char **out)
{
	pd_status st = get_string(x, at, obj, "key", true, out);
	if (st != PD_OK)
		return st;
	if (!key_ok(*out)) {
		char p[256];
		snprintf(p, sizeof p, "%s.key", at);
		return bad(x, p,
		           _("\"%s\" is not a valid key (lower-case letters, digits, - and _, "
		             "at most 40)"),
		           *out);
	}
	return PD_OK;
}

static pd_status get_array(ctx *x, const char *at, json_t *obj, const char *key, bool required,
                           json_t **out)
{
	char p[256];
	snprintf(p, sizeof p, "%s%s%s", at, *at ? "." : "", key);
	json_t *v = json_object_get(obj, key);
	*out = v;
	if (!v) {
		if (required)
			return bad(x, *at ? at : key, _("missing required key \"%s\""), key);
		return PD_OK;
	}
	if (!json_is_array(v))
		return bad(x, p, _("must be an array, not %s"), type_name(v));
	return PD_OK;
}

static const char *const field_type_names[] = {[PD_FIELD_TEXT] = "text",
                                               [PD_FIELD_BOOL] = "bool",
                                               [PD_FIELD_INT] = "int",
                                               [PD_FIELD_PATH] = "path"};

/* A field's "type", "min", "max" and "default", checked against each other so
 * that what the wizard pre-fills is a value the core accepts. Without a
 * "type", the default's JSON type decides (the shipped "tls" and "port"). */
static pd_status parse_field_type(ctx *x, const char *fp, json_t *f, pd_platform_field *pf)
{
	char p[300];
	json_t *t = json_object_get(f, "type");
	json_t *d = json_object_get(f, "default");
	if (t) {
		snprintf(p, sizeof p, "%s.type", fp);
		size_t i = 0;
		for (; i < sizeof field_type_names / sizeof *field_type_names; i++)
			if (json_is_string(t) && !strcmp(json_string_value(t), field_type_names[i]))
				break;
		if (i == sizeof field_type_names / sizeof *field_type_names)
			return bad(x, p, _("must be one of \"text\", \"bool\", \"int\", \"path\""));
		pf->type = (pd_field_type)i;
	} else {
		pf->type = json_is_boolean(d)   ? PD_FIELD_BOOL
		           : json_is_integer(d) ? PD_FIELD_INT
		                                : PD_FIELD_TEXT;
	}
	if (pf->secret && pf->type != PD_FIELD_TEXT) {
		snprintf(p, sizeof p, "%s.type", fp);
		return bad(x, p, _("a secret field must be of type \"text\""));
	}
	pf->min = LLONG_MIN;
	pf->max = LLONG_MAX;
	static const char *const bounds[] = {"min", "max"};
	for (int k = 0; k < 2; k++) {
		json_t *b = json_object_get(f, bounds[k]);
		if (!b)
			continue;
		snprintf(p, sizeof p, "%s.%s", fp, bounds[k]);
		if (pf->type != PD_FIELD_INT)
			return bad(x, p, _("only a field of type \"int\" has bounds"));
		if (!json_is_integer(b))
			return bad(x, p, _("must be an integer, not %s"), type_name(b));
		*(k ? &pf->max : &pf->min) = json_integer_value(b);
	}
	if (pf->min > pf->max) {
		snprintf(p, sizeof p, "%s.min", fp);
		return bad(x, p, _("min (%lld) is greater than max (%lld)"), pf->min, pf->max);
	}
	snprintf(p, sizeof p, "%s.default", fp);
	if (!d)
		return PD_OK;
	if (pf->secret)
		return bad(x, p, _("a secret field cannot have a default"));
	switch (pf->type) {
	case PD_FIELD_BOOL:
		if (!json_is_boolean(d))
			return bad(x, p, _("must be true or false (the field is a bool), not %s"),
			           type_name(d));
		pf->default_value = xstrdup(json_is_true(d) ? "true" : "false");
		break;
	case PD_FIELD_INT:
		if (!json_is_integer(d))
			return bad(x, p, _("must be an integer (the field is an int), not %s"),
			           type_name(d));
		if (json_integer_value(d) < pf->min || json_integer_value(d) > pf->max)
			return bad(x, p, _("%lld is outside the field's bounds %lld..%lld"),
			           (long long)json_integer_value(d), pf->min, pf->max);
		pf->default_value = xasprintf("%lld", (long long)json_integer_value(d));
		break;
	case PD_FIELD_PATH:
		if (!json_is_string(d) || json_string_value(d)[0] != '/')
			return bad(x, p, _("must be an absolute path (the field is a path)"));
		pf->default_value = xstrdup(json_string_value(d));
		break;
	case PD_FIELD_TEXT:
		if (json_is_string(d))
			pf->default_value = xstrdup(json_string_value(d));
		else if (json_is_integer(d))
			pf->default_value = xasprintf("%lld", (long long)json_integer_value(d));
		else
			return bad(x, p, _("must be a string or an integer, not %s"), type_name(d));
		break;
	}
	return PD_OK;
}

static pd_status parse_platform(ctx *x, const char *at, json_t *o, pd_platform *pl)
{
	static const char *const keys[] = {"key",    "name",        "supported", "sub_accounts",
	                                   "fields", "description", NULL};
	if (!json_is_object(o))
		return bad(x, at, _("must be an object, not %s"), type_name(o));
	pd_status st;
	if ((st = only_keys(x, at, o, keys)) || (st = get_key(x, at, o, &pl->key)) ||
	    (st = get_string(x, at, o, "name", true, &pl->name)) ||
	    (st = get_bool(x, at, o, "supported", true, false, &pl->supported)))
		return st;
	json_t *sa = json_object_get(o, "sub_accounts");
	char p[256];
	snprintf(p, sizeof p, "%s.sub_accounts", at);
	if (sa && !json_is_null(sa) && !json_is_string(sa))
		return bad(x, p,
		           _("must be a string label (e.g. \"dialplan context\") or null, not %s"),
		           type_name(sa));
	if (json_is_string(sa) && *json_string_value(sa)) {
		pl->has_sub_accounts = true;
		pl->sub_account_label = xstrdup(json_string_value(sa));
	}
	json_t *fields;
	if ((st = get_array(x, at, o, "fields", true, &fields)))
		return st;
	pl->fields = xcalloc(json_array_size(fields) + 1, sizeof *pl->fields);
	size_t i;
	json_t *f;
	json_array_foreach(fields, i, f)
	{
		static const char *const fkeys[] = {
		    "key", "label", "required", "secret", "default", "type", "min", "max", NULL};
		char fp[256];
		snprintf(fp, sizeof fp, "%s.fields[%zu]", at, i);
		if (!json_is_object(f))
			return bad(x, fp, _("must be an object, not %s"), type_name(f));
		pd_platform_field *pf = &pl->fields[pl->n_fields++];
		if ((st = only_keys(x, fp, f, fkeys)) || (st = get_key(x, fp, f, &pf->key)) ||
		    (st = get_string(x, fp, f, "label", true, &pf->label)) ||
		    (st = get_bool(x, fp, f, "required", false, false, &pf->required)) ||
		    (st = get_bool(x, fp, f, "secret", false, false, &pf->secret)))
			return st;
		for (size_t j = 0; j + 1 < pl->n_fields; j++)
			if (!strcmp(pl->fields[j].key, pf->key)) {
				snprintf(fp + strlen(fp), sizeof fp - strlen(fp), ".key");
				return bad(x, fp, _("duplicate field \"%s\""), pf->key);
			}
		if ((st = parse_field_type(x, fp, f, pf)))
			return st;
		if (!strcmp(pf->key, "port") && pf->default_value) {
			char *end;
			long port = strtol(pf->default_value, &end, 10);
			snprintf(fp + strlen(fp), sizeof fp - strlen(fp), ".default");
			if (*end || port < 1 || port > 65535)
				return bad(x, fp, _("port default must be between 1 and 65535"));
		}
	}
	return PD_OK;
}

static pd_status string_list(ctx *x, const char *at, json_t *arr, char ***out, size_t *n)
{
	*out = xcalloc(json_array_size(arr) + 1, sizeof(char *));
	*n = 0;
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
	{
		char p[256];
		snprintf(p, sizeof p, "%s[%zu]", at, i);
		if (!json_is_string(v))
			return bad(x, p, _("must be a string, not %s"), type_name(v));
		for (size_t j = 0; j < *n; j++)
			if (!strcmp((*out)[j], json_string_value(v)))
				return bad(x, p, _("\"%s\" is listed twice"), json_string_value(v));
		(*out)[(*n)++] = xstrdup(json_string_value(v));
	}
	return PD_OK;
}

static pd_status parse_product(ctx *x, const char *at, json_t *o, pd_product_type *t,
                               const pd_catalogue *c)
{
	static const char *const keys[] = {"key",
	                                   "name",
	                                   "description",
	                                   "features",
	                                   "locked_after_assignment",
	                                   "trial_allowed",
	                                   "price_cents",
	                                   "currency",
	                                   "platforms",
	                                   "countries",
	                                   NULL};
	if (!json_is_object(o))
		return bad(x, at, _("must be an object, not %s"), type_name(o));
	pd_status st;
	char p[256];
	if ((st = only_keys(x, at, o, keys)) || (st = get_key(x, at, o, &t->key)) ||
	    (st = get_string(x, at, o, "name", true, &t->name)) ||
	    (st = get_string(x, at, o, "description", false, &t->description)) ||
	    (st = get_bool(x, at, o, "locked_after_assignment", true, false,
	                   &t->locked_after_assignment)) ||
	    (st = get_bool(x, at, o, "trial_allowed", true, false, &t->trial_allowed)))
		return st;
	if (!t->description)
		t->description = xstrdup("");

	json_t *feat = json_object_get(o, "features");
	snprintf(p, sizeof p, "%s.features", at);
	if (feat && !json_is_object(feat))
		return bad(x, p, _("must be an object of feature: value, not %s"), type_name(feat));
	if (feat) {
		const char *k;
		json_t *v;
		json_object_foreach(feat, k, v)
		{
			if (!json_is_boolean(v) && !json_is_integer(v) && !json_is_string(v)) {
				snprintf(p, sizeof p, "%s.features.%s", at, k);
				return bad(x, p,
				           _("must be a boolean, an integer or a string, not %s"),
				           type_name(v));
			}
		}
		t->features_json = json_dumps(feat, JSON_COMPACT | JSON_PRESERVE_ORDER);
	} else {
		t->features_json = xstrdup("{}");
	}

	json_t *price = json_object_get(o, "price_cents");
	snprintf(p, sizeof p, "%s.price_cents", at);
	if (!price)
		return bad(x, at, _("missing required key \"price_cents\""));
	if (!json_is_integer(price))
		return bad(x, p, _("must be an integer number of cents, not %s"), type_name(price));
	t->price_cents = json_integer_value(price);
	if (t->price_cents < 0)
		return bad(x, p, _("must not be negative (got %lld)"), (long long)t->price_cents);
	if (t->price_cents > 100000000)
		return bad(x, p, _("is implausibly large (%lld cents)"), (long long)t->price_cents);

	if ((st = get_string(x, at, o, "currency", false, &t->currency)))
		return st;
	if (!t->currency)
		t->currency = xstrdup("EUR");
	snprintf(p, sizeof p, "%s.currency", at);
	if (strlen(t->currency) != 3 || !isupper((unsigned char)t->currency[0]) ||
	    !isupper((unsigned char)t->currency[1]) || !isupper((unsigned char)t->currency[2]))
		return bad(x, p, _("\"%s\" is not an ISO 4217 currency code such as EUR"),
		           t->currency);

	json_t *arr;
	snprintf(p, sizeof p, "%s.platforms", at);
	if ((st = get_array(x, at, o, "platforms", true, &arr)) ||
	    (st = string_list(x, p, arr, &t->platforms, &t->n_platforms)))
		return st;
	if (!t->n_platforms)
		return bad(x, p, _("must list at least one PBX platform"));
	for (size_t i = 0; i < t->n_platforms; i++)
		if (!pd_catalogue_platform(c, t->platforms[i])) {
			snprintf(p, sizeof p, "%s.platforms[%zu]", at, i);
			return bad(x, p, _("unknown PBX platform \"%s\" (not in \"platforms\")"),
			           t->platforms[i]);
		}

	snprintf(p, sizeof p, "%s.countries", at);
	if ((st = get_array(x, at, o, "countries", false, &arr)))
		return st;
	if (arr && (st = string_list(x, p, arr, &t->countries, &t->n_countries)))
		return st;
	for (size_t i = 0; i < t->n_countries; i++) {
		const char *cc = t->countries[i];
		bool shape = strlen(cc) == 2 && isupper((unsigned char)cc[0]) &&
		             isupper((unsigned char)cc[1]);
		/* the codes alone: loading every name and zone here cost most of
		 * a command's start (docs/performance.md) */
		if (!shape || pd_geo_code_known(cc) == 0) {
			snprintf(p, sizeof p, "%s.countries[%zu]", at, i);
			return bad(x, p, _("\"%s\" is not an ISO 3166-1 alpha-2 country code"), cc);
		}
	}
	return PD_OK;
}

static pd_status parse_role(ctx *x, const char *at, json_t *o, pd_role *r)
{
	static const char *const keys[] = {"key", "name", "description", "manages_users", NULL};
	if (!json_is_object(o))
		return bad(x, at, _("must be an object, not %s"), type_name(o));
	pd_status st;
	if ((st = only_keys(x, at, o, keys)) || (st = get_key(x, at, o, &r->key)) ||
	    (st = get_string(x, at, o, "name", true, &r->name)) ||
	    (st = get_string(x, at, o, "description", false, &r->description)) ||
	    (st = get_bool(x, at, o, "manages_users", false, false, &r->manages_users)))
		return st;
	if (!r->description)
		r->description = xstrdup("");
	return PD_OK;
}

static pd_status parse_root(ctx *x, json_t *root, pd_catalogue *c)
{
	static const char *const keys[] = {"version", "comment",   "product_types",
	                                   "roles",   "platforms", NULL};
	if (!json_is_object(root))
		return bad(x, "", _("the catalogue must be a JSON object, not %s"),
		           type_name(root));
	pd_status st;
	if ((st = only_keys(x, "", root, keys)))
		return st;
	json_t *ver = json_object_get(root, "version");
	if (ver && (!json_is_integer(ver) || json_integer_value(ver) != 1))
		return bad(x, "version", _("unsupported catalogue version (this program reads 1)"));

	json_t *arr;
	char at[64];
	size_t i;
	json_t *v;
	/* Platforms first: product types refer to them. */
	if ((st = get_array(x, "", root, "platforms", true, &arr)))
		return st;
	c->platforms = xcalloc(json_array_size(arr) + 1, sizeof *c->platforms);
	json_array_foreach(arr, i, v)
	{
		snprintf(at, sizeof at, "platforms[%zu]", i);
		pd_platform *pl = &c->platforms[c->n_platforms++];
		if ((st = parse_platform(x, at, v, pl)))
			return st;
		for (size_t j = 0; j + 1 < c->n_platforms; j++)
			if (!strcmp(c->platforms[j].key, pl->key)) {
				snprintf(at, sizeof at, "platforms[%zu].key", i);
				return bad(x, at, _("duplicate platform \"%s\""), pl->key);
			}
	}
	if ((st = get_array(x, "", root, "roles", true, &arr)))
		return st;
	c->roles = xcalloc(json_array_size(arr) + 1, sizeof *c->roles);
	json_array_foreach(arr, i, v)
	{
		snprintf(at, sizeof at, "roles[%zu]", i);
		pd_role *r = &c->roles[c->n_roles++];
		if ((st = parse_role(x, at, v, r)))
			return st;
		for (size_t j = 0; j + 1 < c->n_roles; j++)
			if (!strcmp(c->roles[j].key, r->key)) {
				snprintf(at, sizeof at, "roles[%zu].key", i);
				return bad(x, at, _("duplicate role \"%s\""), r->key);
			}
	}
	const pd_role *admin = pd_catalogue_role(c, PD_ROLE_ADMIN);
	if (!admin)
		return bad(x, "roles", _("the role \"%s\" (the primary user's role) is missing"),
		           PD_ROLE_ADMIN);
	if (!admin->manages_users)
		return bad(x, "roles", _("the role \"%s\" must have \"manages_users\": true"),
		           PD_ROLE_ADMIN);

	if ((st = get_array(x, "", root, "product_types", true, &arr)))
		return st;
	if (!json_array_size(arr))
		return bad(x, "product_types", _("must list at least one product type"));
	c->types = xcalloc(json_array_size(arr) + 1, sizeof *c->types);
	json_array_foreach(arr, i, v)
	{
		snprintf(at, sizeof at, "product_types[%zu]", i);
		pd_product_type *t = &c->types[c->n_types++];
		if ((st = parse_product(x, at, v, t, c)))
			return st;
		for (size_t j = 0; j + 1 < c->n_types; j++)
			if (!strcmp(c->types[j].key, t->key)) {
				snprintf(at, sizeof at, "product_types[%zu].key", i);
				return bad(x, at, _("duplicate product type \"%s\""), t->key);
			}
	}
	return PD_OK;
}

pd_status pd_catalogue_load(const char *path, pd_catalogue *out, pd_err *e)
{
	memset(out, 0, sizeof *out);
	FILE *f = fopen(path, "rb");
	if (!f)
		return pd_fail(e, PD_E_NOINPUT, "catalogue", _("cannot read the catalogue %s: %s"),
		               path, strerror(errno));
	char *text = NULL;
	size_t len = 0;
	int rerr = pd_read_stream(f, 0, &text, &len);
	fclose(f);
	if (rerr)
		return pd_fail(e, PD_E_NOINPUT, "catalogue", _("cannot read the catalogue %s"),
		               path);
	pd_status st = pd_catalogue_load_buffer(path, text, len, out, e);
	free(text);
	return st;
}

pd_status pd_catalogue_load_buffer(const char *name, const char *text, size_t len,
                                   pd_catalogue *out, pd_err *e)
{
	memset(out, 0, sizeof *out);
	ctx x = {.path = name, .text = text, .len = len, .e = e};
	json_error_t je;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return pd_fail_line(e, PD_E_CONFIG, je.line, "catalogue",
		                    _("%s:%d: invalid JSON: %s"), name, je.line, je.text);
	pd_status st = parse_root(&x, root, out);
	json_decref(root);
	if (st != PD_OK) {
		pd_catalogue_free(out);
		return st;
	}
	out->path = xstrdup(name);
	return PD_OK;
}

pd_status pd_catalogue_load_default(const char *config_dir, pd_catalogue *out, pd_err *e)
{
	char *path = pd_path_find_data(config_dir, "catalogue.json");
	if (!path) {
		memset(out, 0, sizeof *out);
		return pd_fail(e, PD_E_NOINPUT, "catalogue",
		               _("no catalogue.json found (looked in %s, $PROVDESK_DATADIR and the "
		                 "installed data directory)"),
		               config_dir ? config_dir : _("the config directory"));
	}
	pd_status st = pd_catalogue_load(path, out, e);
	free(path);
	return st;
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

void pd_catalogue_free(pd_catalogue *c)
{
	if (!c)
		return;
	/* Arrays are allocated at full size up front, so walk the counts plus the
	 * element being parsed when an error stopped the load. */
	for (size_t i = 0; c->types && i < c->n_types; i++) {
		pd_product_type *t = &c->types[i];
		free(t->key);
		free(t->name);
		free(t->description);
		free(t->features_json);
		free(t->currency);
		free_strv(t->platforms, t->n_platforms);
		free_strv(t->countries, t->n_countries);
	}
	free(c->types);
	for (size_t i = 0; c->roles && i < c->n_roles; i++) {
		free(c->roles[i].key);
		free(c->roles[i].name);
		free(c->roles[i].description);
	}
	free(c->roles);
	for (size_t i = 0; c->platforms && i < c->n_platforms; i++) {
		pd_platform *p = &c->platforms[i];
		free(p->key);
		free(p->name);
		free(p->sub_account_label);
		for (size_t j = 0; j < p->n_fields; j++) {
			free(p->fields[j].key);
			free(p->fields[j].label);
			free(p->fields[j].default_value);
		}
		free(p->fields);
	}
	free(c->platforms);
	free(c->path);
	memset(c, 0, sizeof *c);
}

const pd_product_type *pd_catalogue_product(const pd_catalogue *c, const char *key)
{
	for (size_t i = 0; c && key && i < c->n_types; i++)
		if (c->types[i].key && !strcmp(c->types[i].key, key))
			return &c->types[i];
	return NULL;
}

const char *pd_catalogue_text(const char *s)
{
	return pd_tr(s);
}

const pd_role *pd_catalogue_role(const pd_catalogue *c, const char *key)
{
	for (size_t i = 0; c && key && i < c->n_roles; i++)
		if (c->roles[i].key && !strcmp(c->roles[i].key, key))
			return &c->roles[i];
	return NULL;
}

const pd_platform_field *pd_platform_field_get(const pd_platform *pl, const char *key)
{
	for (size_t i = 0; pl && key && i < pl->n_fields; i++)
		if (!strcmp(pl->fields[i].key, key))
			return &pl->fields[i];
	return NULL;
}

bool pd_platform_field_is_extra(const pd_platform_field *f)
{
	return f && !f->secret && strcmp(f->key, "host") && strcmp(f->key, "port") &&
	       strcmp(f->key, "tls") && strcmp(f->key, "username");
}

const pd_platform *pd_catalogue_platform(const pd_catalogue *c, const char *key)
{
	for (size_t i = 0; c && key && i < c->n_platforms; i++)
		if (c->platforms[i].key && !strcmp(c->platforms[i].key, key))
			return &c->platforms[i];
	return NULL;
}

bool pd_product_sold_in(const pd_product_type *p, const char *country)
{
	if (!p)
		return false;
	if (p->n_countries == 0)
		return true;
	for (size_t i = 0; country && i < p->n_countries; i++)
		if (!strcasecmp(p->countries[i], country))
			return true;
	return false;
}

bool pd_product_allows_platform(const pd_product_type *p, const char *platform)
{
	for (size_t i = 0; p && platform && i < p->n_platforms; i++)
		if (!strcmp(p->platforms[i], platform))
			return true;
	return false;
}

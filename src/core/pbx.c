/* PBX connection records and templates: platform-specific checks driven by
 * the catalogue's field list, so a new platform needs no code here. */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <utf8proc.h>

#include "provdesk/i18n.h"
#include "provdesk/model.h"

void pd_pbx_free(pd_pbx *p)
{
	if (!p)
		return;
	free(p->template_name);
	free(p->platform);
	free(p->host);
	free(p->username);
	if (p->secret) /* do not leave the secret lying in freed memory */
		memset(p->secret, 0, strlen(p->secret));
	free(p->secret);
	free(p->params_json);
	p->template_name = p->platform = p->host = p->username = p->secret = p->params_json = NULL;
}

void pd_template_free(pd_template *t)
{
	if (!t)
		return;
	free(t->name);
	free(t->platform);
	free(t->host);
	free(t->username);
	free(t->params_json);
	t->name = t->platform = t->host = t->username = t->params_json = NULL;
}

/* The catalogue's platform of that key, or NULL with *e filled (PD_E_INVALID). */
static const pd_platform *check_platform(const pd_catalogue *cat, const char *platform, pd_err *e)
{
	if (!platform || !*platform) {
		pd_fail(e, PD_E_INVALID, "platform", _("PBX platform is required"));
		return NULL;
	}
	const pd_platform *pl = pd_catalogue_platform(cat, platform);
	if (!pl) {
		pd_buf b = {0};
		for (size_t i = 0; i < cat->n_platforms; i++)
			pd_buf_printf(&b, "%s%s", i ? ", " : "", cat->platforms[i].key);
		pd_fail(e, PD_E_INVALID, "platform", _("unknown PBX platform '%.60s' (known: %s)"),
		        platform, b.s ? b.s : "none");
		pd_buf_free(&b);
	}
	return pl;
}

/* A host name, an IPv4 literal or an IPv6 literal (bare or in brackets). */
/* A character that must never go on the wire or to a screen (the one rule,
 * pd_cp_unsafe: controls, TAB included since no field of a connection needs
 * one, C1, separators, direction overrides). Returns a short description of
 * the first one ("ESC", "U+202E"), NULL when none. */
static const char *control_in(const char *s, char *buf, size_t n)
{
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
	while (*p) {
		utf8proc_int32_t cp;
		utf8proc_ssize_t k = utf8proc_iterate(p, -1, &cp);
		if (k <= 0) {
			snprintf(buf, n, _("byte 0x%02X"), *p);
			return buf;
		}
		if (cp == 0x1b)
			return "ESC";
		if (cp == '\r' || cp == '\n')
			return _("a line break");
		if (pd_cp_unsafe((uint32_t)cp)) {
			if (cp < 0x80)
				snprintf(buf, n, _("byte 0x%02X"), (unsigned)cp);
			else
				snprintf(buf, n, "U+%04X", (unsigned)cp);
			return buf;
		}
		p += k;
	}
	return NULL;
}

/* Every connection field that goes on the wire: the message names the
 * field and the character, never echoes the value (a secret, or text that
 * would drive the terminal). */
static pd_status check_no_control(const char *field, const char *v, pd_err *e)
{
	char buf[16];
	const char *what = v ? control_in(v, buf, sizeof buf) : NULL;
	if (what)
		return pd_fail(e, PD_E_INVALID, field,
		               _("%s must not contain control characters (found %s)"), field, what);
	return PD_OK;
}

/* field: the name errors carry ("host", or "xsp_hosts" for one entry of a
 * host list). */
static pd_status check_host_as(const char *field, const char *h, pd_err *e)
{
	pd_status st;
	if ((st = check_no_control(field, h, e)) != PD_OK)
		return st;
	/* the connection's host says nothing more; an entry of a list names it */
	const char *pre = strcmp(field, "host") ? field : "", *sep = *pre ? ": " : "";
	size_t n = strlen(h);
	if (n > 253)
		return pd_fail(e, PD_E_INVALID, field,
		               _("%s%shost name is too long (at most 253 characters)"), pre, sep);
	bool v6 = strchr(h, ':') != NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)h[i];
		bool ok = isalnum(c) || c == '.' || c == '-' || c == '_' ||
		          (v6 && (c == ':' || c == '[' || c == ']' || c == '%'));
		if (!ok)
			return pd_fail(e, PD_E_INVALID, field,
			               _("%s%shost '%.80s' contains '%c', which is not allowed in "
			                 "a host name"),
			               pre, sep, h, c);
	}
	if (n == 0 || h[0] == '.' || h[0] == '-' || h[n - 1] == '.' || h[n - 1] == '-')
		return pd_fail(e, PD_E_INVALID, field,
		               _("%s%shost '%.80s' is not a valid host name"), pre, sep, h);
	return PD_OK;
}

static pd_status check_host(const char *h, pd_err *e)
{
	return check_host_as("host", h, e);
}

/* One "host[:port]" of a list: an IPv6 literal with a port in brackets
 * ("[2001:db8::1]:8443"); a bare IPv6 literal has no port. */
static pd_status check_host_port(const char *field, const char *item, pd_err *e)
{
	char host[300];
	const char *port = NULL;
	size_t hn;
	if (strstr(item, "://"))
		return pd_fail(
		    e, PD_E_INVALID, field,
		    _("%s: '%.80s' is a URL: write the host name (and :port), as for the "
		      "Xsi host"),
		    field, item);
	if (item[0] == '[') {
		const char *close = strchr(item, ']');
		if (!close || (close[1] && close[1] != ':'))
			return pd_fail(e, PD_E_INVALID, field,
			               _("%s: '%.80s' is not host[:port] (an IPv6 address goes in "
			                 "brackets: [2001:db8::1]:443)"),
			               field, item);
		hn = (size_t)(close - item - 1);
		if (hn >= sizeof host)
			hn = sizeof host - 1;
		memcpy(host, item + 1, hn);
		host[hn] = '\0';
		if (!strchr(host, ':'))
			return pd_fail(e, PD_E_INVALID, field,
			               _("%s: '%.80s': brackets are for an IPv6 address"), field,
			               item);
		port = close[1] ? close + 2 : NULL;
	} else {
		const char *colon = strchr(item, ':');
		bool v6 = colon && strchr(colon + 1, ':'); /* a bare IPv6 literal */
		hn = colon && !v6 ? (size_t)(colon - item) : strlen(item);
		if (hn >= sizeof host)
			hn = sizeof host - 1;
		memcpy(host, item, hn);
		host[hn] = '\0';
		port = colon && !v6 ? colon + 1 : NULL;
	}
	pd_status st = check_host_as(field, host, e);
	if (st != PD_OK)
		return st;
	if (port) {
		long x = 0;
		size_t k = 0;
		for (; port[k] && isdigit((unsigned char)port[k]) && x <= 65535; k++)
			x = x * 10 + (port[k] - '0');
		if (!k || port[k] || x < 1 || x > 65535)
			return pd_fail(e, PD_E_INVALID, field,
			               _("%s: the port must be a whole number from 1 to 65535 (in "
			                 "'%.80s')"),
			               field, item);
	}
	return PD_OK;
}

pd_status pd_check_host_list(const char *field, const char *v, char **norm, pd_err *e)
{
	pd_status st;
	if (norm)
		*norm = NULL;
	if ((st = check_no_control(field, v, e)) != PD_OK)
		return st;
	pd_buf out = {0};
	size_t n = 0;
	const char *p = v;
	for (;;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char *item = xstrndup(p, len), *t = pd_trim(item);
		free(item);
		if (!*t && !end && n == 0 && !out.len) { /* "" or blanks: no other host */
			free(t);
			break;
		}
		if (!*t)
			st = pd_fail(
			    e, PD_E_INVALID, field,
			    _("%s: an empty entry in the list (write host[:port],host[:port])"),
			    field);
		else if (++n > PD_HOST_LIST_MAX)
			st = pd_fail(e, PD_E_INVALID, field, _("%s: at most %d hosts"), field,
			             PD_HOST_LIST_MAX);
		else
			st = check_host_port(field, t, e);
		if (st == PD_OK)
			pd_buf_printf(&out, "%s%s", out.len ? "," : "", t);
		free(t);
		if (st != PD_OK) {
			pd_buf_free(&out);
			return st;
		}
		if (!end)
			break;
		p = end + 1;
	}
	if (norm)
		*norm = out.s ? pd_buf_steal(&out) : xstrdup("");
	pd_buf_free(&out);
	return PD_OK;
}

bool pd_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};
	if (!s)
		return false;
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	for (size_t i = 0; i < 4; i++) {
		if (strlen(yes[i]) == n && !strncasecmp(s, yes[i], n)) {
			*out = true;
			return true;
		}
		if (strlen(no[i]) == n && !strncasecmp(s, no[i], n)) {
			*out = false;
			return true;
		}
	}
	return false;
}

/* A JSON value as a bool: true/false, the integers 1/0, or a typed string. */
static bool value_bool(const json_t *v, bool *out)
{
	if (json_is_boolean(v)) {
		*out = json_is_true(v);
		return true;
	}
	if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1)) {
		*out = json_integer_value(v) == 1;
		return true;
	}
	return json_is_string(v) && pd_parse_bool(json_string_value(v), out);
}

/* A JSON value as a whole number: an integer, or a string of decimal digits
 * (blanks around it ignored, an optional sign). Bounds are the caller's. */
static bool value_int(const json_t *v, long long *out)
{
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return true;
	}
	if (!json_is_string(v))
		return false;
	const char *s = json_string_value(v);
	while (*s == ' ' || *s == '\t')
		s++;
	const char *d = s + (*s == '-' || *s == '+');
	if (!isdigit((unsigned char)*d))
		return false;
	char *end;
	errno = 0;
	long long x = strtoll(s, &end, 10);
	while (*end == ' ' || *end == '\t')
		end++;
	if (errno || *end)
		return false;
	*out = x;
	return true;
}

/* The value as the user wrote it, for messages (strings unquoted). */
static char *value_text(const json_t *v)
{
	if (json_is_string(v))
		return xstrdup(json_string_value(v));
	char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	char *r = xstrdup(s ? s : "?");
	free(s);
	return r;
}

static pd_status bad_int(const char *key, long long min, long long max, const json_t *v, pd_err *e)
{
	char *t = value_text(v);
	if (min == LLONG_MIN && max == LLONG_MAX)
		pd_fail(e, PD_E_INVALID, key, _("%s must be a whole number, not '%.40s'"), key, t);
	else
		pd_fail(e, PD_E_INVALID, key,
		        _("%s must be a whole number from %lld to %lld, not '%.40s'"), key, min,
		        max, t);
	free(t);
	return PD_E_INVALID;
}

/* Checks one value against its field's type. *norm receives the typed form
 * when the stored one differs ("false" -> false, "5" -> 5, " /x " -> "/x"),
 * so every path (CLI, wizard, customer view, templates) stores the same
 * thing and readers see one form. */
static pd_status check_value(const pd_platform_field *f, const json_t *v, json_t **norm, pd_err *e)
{
	const char *k = f->key;
	*norm = NULL;
	switch (f->type) {
	case PD_FIELD_BOOL: {
		bool b;
		if (!value_bool(v, &b)) {
			char *t = value_text(v);
			pd_fail(e, PD_E_INVALID, k,
			        _("%s must be true or false (yes/no and 1/0 are accepted too), not "
			          "'%.40s'"),
			        k, t);
			free(t);
			return PD_E_INVALID;
		}
		if (!json_is_boolean(v))
			*norm = json_boolean(b);
		return PD_OK;
	}
	case PD_FIELD_INT: {
		long long x;
		if (!value_int(v, &x) || x < f->min || x > f->max)
			return bad_int(k, f->min, f->max, v, e);
		if (!json_is_integer(v))
			*norm = json_integer(x);
		return PD_OK;
	}
	case PD_FIELD_PATH: {
		if (!json_is_string(v))
			return pd_fail(e, PD_E_INVALID, k, _("%s must be a file path (a string)"),
			               k);
		char *t = pd_trim(json_string_value(v));
		pd_status st = PD_OK;
		if (!*t)
			st = pd_fail(e, PD_E_INVALID, k,
			             _("%s must not be empty: leave it out when there is no file"),
			             k);
		else if (strlen(t) > 4095)
			st = pd_fail(e, PD_E_INVALID, k, _("%s is too long (at most 4095 bytes)"),
			             k);
		else if (!pd_utf8_valid(t, strlen(t)))
			st = pd_fail(e, PD_E_INVALID, k, _("%s is not valid UTF-8 text"), k);
		else if (t[0] != '/')
			/* the console, the CLI and the monitor run from different directories */
			st = pd_fail(
			    e, PD_E_INVALID, k,
			    _("%s must be an absolute path (starting with /), not '%.60s'"), k, t);
		for (const char *c = t; st == PD_OK && *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				st = pd_fail(e, PD_E_INVALID, k,
				             _("%s must not contain control characters"), k);
		if (st == PD_OK && strcmp(t, json_string_value(v)))
			*norm = json_string(t);
		free(t);
		return st;
	}
	case PD_FIELD_TEXT:
		if (!json_is_string(v) && !json_is_integer(v) && !json_is_boolean(v))
			return pd_fail(e, PD_E_INVALID, k, _("%s must be a string or a number"), k);
		if (pd_field_is_host_list(k)) {
			if (!json_is_string(v))
				return pd_fail(e, PD_E_INVALID, k,
				               _("%s must be a list of host[:port], not a number"),
				               k);
			char *t;
			pd_status st = pd_check_host_list(k, json_string_value(v), &t, e);
			if (st == PD_OK && strcmp(t, json_string_value(v)))
				*norm = json_string(t);
			free(t);
			return st;
		}
		if (json_is_string(v))
			return check_no_control(k, json_string_value(v), e);
		return PD_OK;
	}
	return PD_OK;
}

bool pd_field_is_host_list(const char *key)
{
	size_t n = key ? strlen(key) : 0;
	return n > 6 && !strcmp(key + n - 6, "_hosts");
}

/* Other platform fields live in params_json: an object whose keys are the
 * platform's non-core fields, values checked by the field's type and stored
 * in its typed form (*json is rewritten only when a value was normalised).
 * Secrets never go there (they have their own write-only column). */
static pd_status check_params(const pd_platform *pl, char **json, bool require, pd_err *e)
{
	json_t *root = NULL;
	if (*json && **json) {
		json_error_t je;
		root = json_loads(*json, JSON_REJECT_DUPLICATES, &je);
		if (!root)
			return pd_fail(e, PD_E_INVALID, "params",
			               _("platform parameters are not valid JSON: %s"), je.text);
		if (!json_is_object(root)) {
			json_decref(root);
			return pd_fail(e, PD_E_INVALID, "params",
			               _("platform parameters must be a JSON object"));
		}
		json_t *fix = json_object();
		const char *k;
		json_t *v;
		json_object_foreach(root, k, v)
		{
			const pd_platform_field *f = pd_platform_field_get(pl, k);
			if (check_no_control("params", k, e) != PD_OK) {
				json_decref(fix);
				json_decref(root);
				return PD_E_INVALID;
			}
			if (!pd_platform_field_is_extra(f)) {
				pd_fail(e, PD_E_INVALID, k,
				        _("'%.60s' is not an extra parameter of platform %s"), k,
				        pl->key);
				json_decref(fix);
				json_decref(root);
				return PD_E_INVALID;
			}
			json_t *norm;
			if (check_value(f, v, &norm, e) != PD_OK) {
				json_decref(fix);
				json_decref(root);
				return PD_E_INVALID;
			}
			if (norm)
				json_object_set_new(fix, k, norm);
		}
		if (json_object_size(fix)) {
			json_object_update(root, fix);
			char *s = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
			free(*json);
			*json = s;
		}
		json_decref(fix);
	}
	if (require) {
		for (size_t i = 0; i < pl->n_fields; i++) {
			const pd_platform_field *f = &pl->fields[i];
			if (!f->required || !pd_platform_field_is_extra(f))
				continue;
			json_t *v = root ? json_object_get(root, f->key) : NULL;
			if (!v || (json_is_string(v) && !*json_string_value(v))) {
				json_decref(root);
				return pd_fail(e, PD_E_INVALID, f->key,
				               _("%s is required for platform %s"),
				               f->label ? f->label : f->key, pl->key);
			}
		}
	}
	json_decref(root);
	return PD_OK;
}

/* ---- reading stored parameters (drivers, pbx test) ---- */

static pd_status param_get(const char *params_json, const char *key, json_t **root, json_t **v,
                           pd_err *e)
{
	*root = *v = NULL;
	if (!params_json || !*params_json)
		return PD_OK;
	json_error_t je;
	*root = json_loads(params_json, 0, &je);
	if (!json_is_object(*root)) {
		json_decref(*root);
		*root = NULL;
		return pd_fail(e, PD_E_INVALID, "params",
		               _("the stored platform parameters are not a JSON object"));
	}
	*v = json_object_get(*root, key);
	return PD_OK;
}

pd_status pd_param_bool(const char *params_json, const char *key, bool def, bool *out, pd_err *e)
{
	json_t *root, *v;
	*out = def;
	if (param_get(params_json, key, &root, &v, e) != PD_OK)
		return PD_E_INVALID;
	pd_status st = PD_OK;
	if (v) {
		pd_platform_field f = {.key = (char *)key, .type = PD_FIELD_BOOL};
		json_t *norm;
		if ((st = check_value(&f, v, &norm, e)) == PD_OK) {
			value_bool(v, out);
			json_decref(norm);
		}
	}
	json_decref(root);
	return st;
}

pd_status pd_param_int(const char *params_json, const char *key, long long min, long long max,
                       long long def, long long *out, pd_err *e)
{
	json_t *root, *v;
	*out = def;
	if (param_get(params_json, key, &root, &v, e) != PD_OK)
		return PD_E_INVALID;
	pd_status st = PD_OK;
	long long x;
	if (v && (!value_int(v, &x) || x < min || x > max))
		st = bad_int(key, min, max, v, e);
	else if (v)
		*out = x;
	json_decref(root);
	return st;
}

pd_status pd_param_str(const char *params_json, const char *key, char **out, pd_err *e)
{
	json_t *root, *v;
	*out = NULL;
	if (param_get(params_json, key, &root, &v, e) != PD_OK)
		return PD_E_INVALID;
	pd_status st = PD_OK;
	if (v && !json_is_string(v))
		st = pd_fail(e, PD_E_INVALID, key, _("%s must be a string"), key);
	else if (v && *json_string_value(v))
		*out = xstrdup(json_string_value(v));
	json_decref(root);
	return st;
}

static int default_port(const pd_platform *pl)
{
	const pd_platform_field *f = pd_platform_field_get(pl, "port");
	return f && f->default_value ? atoi(f->default_value) : 0;
}

static void trim_opt(char **p)
{
	if (!*p)
		return;
	char *t = pd_trim(*p);
	free(*p);
	*p = *t ? t : NULL;
	if (!*p)
		free(t);
}

pd_status pd_pbx_check(const pd_catalogue *cat, pd_pbx *p, pd_err *e)
{
	pd_status st;
	const pd_platform *pl = check_platform(cat, p->platform, e);
	if (!pl)
		return PD_E_INVALID;
	trim_opt(&p->host);
	trim_opt(&p->username);
	trim_opt(&p->template_name);
	const pd_platform_field *fh = pd_platform_field_get(pl, "host");
	if (!p->host && fh && fh->required)
		return pd_fail(e, PD_E_INVALID, "host", _("host is required for platform %s"),
		               pl->key);
	if (p->host && (st = check_host(p->host, e)) != PD_OK)
		return st;
	if (p->port == 0)
		p->port = default_port(pl);
	if (p->port < 1 || p->port > 65535)
		return pd_fail(e, PD_E_INVALID, "port",
		               _("port must be between 1 and 65535 (got %d)"), p->port);
	const pd_platform_field *fu = pd_platform_field_get(pl, "username");
	if (!p->username && fu && fu->required)
		return pd_fail(e, PD_E_INVALID, "username",
		               _("username is required for platform %s"), pl->key);
	if (p->username && !pd_utf8_valid(p->username, strlen(p->username)))
		return pd_fail(e, PD_E_INVALID, "username", _("username is not valid UTF-8 text"));
	/* AMI and ESL are line protocols: a line break would inject commands,
	 * and a name with ESC or a bidi override is shown on screens. */
	if ((st = check_no_control("username", p->username, e)) != PD_OK ||
	    (st = check_no_control("secret", p->secret, e)) != PD_OK)
		return st;
	if ((st = check_params(pl, &p->params_json, true, e)) != PD_OK)
		return st;
	if (p->enabled && !pl->supported)
		return pd_fail(e, PD_E_INVALID, "enabled",
		               _("platform %s has no driver in this version: create the connection "
		                 "disabled"),
		               pl->key);
	return PD_OK;
}

pd_status pd_template_check(const pd_catalogue *cat, pd_template *t, pd_err *e)
{
	char *name = NULL;
	pd_status st;
	if (!t->name || !*t->name)
		return pd_fail(e, PD_E_INVALID, "name", _("template name is required"));
	if ((st = pd_check_name(t->name, &name, e)) != PD_OK)
		return st;
	free(t->name);
	t->name = name;
	const pd_platform *pl = check_platform(cat, t->platform, e);
	if (!pl)
		return PD_E_INVALID;
	trim_opt(&t->host);
	trim_opt(&t->username);
	if (t->host && (st = check_host(t->host, e)) != PD_OK)
		return st;
	if ((st = check_no_control("username", t->username, e)) != PD_OK)
		return st;
	if (t->port == 0)
		t->port = default_port(pl);
	if (t->port < 0 || t->port > 65535)
		return pd_fail(e, PD_E_INVALID, "port",
		               _("port must be between 1 and 65535 (got %d)"), t->port);
	return check_params(pl, &t->params_json, false, e);
}

void pd_pbx_apply_template(pd_pbx *p, const pd_template *t)
{
	bool host_given = p->host && *p->host;
	if (!p->template_name)
		p->template_name = xstrdup(t->name);
	if (!p->platform || !*p->platform)
		pd_set_str(&p->platform, t->platform);
	if (!host_given)
		pd_set_str(&p->host, t->host);
	if (p->port == 0)
		p->port = t->port;
	/* TLS follows the template unless the host was given explicitly. */
	if (!host_given)
		p->tls = t->tls;
	if (!p->username || !*p->username)
		pd_set_str(&p->username, t->username);
	if (t->params_json && *t->params_json) {
		json_t *tp = json_loads(t->params_json, 0, NULL);
		json_t *pp = p->params_json && *p->params_json ? json_loads(p->params_json, 0, NULL)
		                                               : json_object();
		if (json_is_object(tp) && json_is_object(pp)) {
			json_object_update_missing(pp, tp);
			char *s = json_dumps(pp, JSON_COMPACT | JSON_SORT_KEYS);
			pd_set_str(&p->params_json, s);
			free(s);
		}
		json_decref(tp);
		json_decref(pp);
	}
}

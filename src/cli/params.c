/* Platform fields on the command line, from the catalogue's field list: any
 * field of the chosen platform as --param KEY=VALUE or as a long option
 * named after it (enterprise_id -> --enterprise-id; a yes/no field also as
 * --no-KEY). The parser (opts.c) collects them before the platform is known
 * (it may come from a template or the stored connection); the command then
 * applies them to the connection or template for its platform, and
 * pd_pbx_check / pd_template_check check and store them typed, so the rule
 * and its message naming the field are the core's. See docs/provdesk.1. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_internal.h"
#include "provdesk/i18n.h"
#include "provdesk/pbx_driver.h"
#include "provdesk/util.h"

/* A key as the catalogue writes them: lower-case letters, digits and _ (a -
 * typed in its place is taken as _), at most 40. */
static bool key_norm(const char *s, size_t n, char out[48])
{
	if (n == 0 || n > 40)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i] == '-' ? '_' : s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_'))
			return false;
		out[i] = ch;
	}
	out[n] = 0;
	return true;
}

/* A field of that key on any platform of the catalogue (the parser does not
 * know the platform yet). */
static const pd_platform_field *field_any(const pd_catalogue *cat, const char *key)
{
	for (size_t i = 0; i < cat->n_platforms; i++) {
		const pd_platform_field *f = pd_platform_field_get(&cat->platforms[i], key);
		if (f)
			return f;
	}
	return NULL;
}

/* "--enterprise-id" for enterprise_id. */
static void long_name(const char *key, bool negated, char *out, size_t n)
{
	snprintf(out, n, "--%s%s", negated ? "no-" : "", key);
	for (char *p = out + 2; *p; p++)
		if (*p == '_')
			*p = '-';
}

static int param_add(pd_cli *c, const char *cmd, pd_cli_params *ps, const char *key,
                     const char *value, bool negated, const char *opt)
{
	for (size_t i = 0; i < ps->n; i++) {
		const pd_cli_param *o = &ps->v[i];
		if (strcmp(o->key, key))
			continue;
		if (o->negated != negated) {
			char yes[64], no[64];
			long_name(key, false, yes, sizeof yes);
			long_name(key, true, no, sizeof no);
			return pd_cli_usage_field(c, key, _("%s: %s and %s conflict"), cmd, yes,
			                          no);
		}
		return pd_cli_usage_field(c, key, _("%s: %s: given twice (%s, then %s)"), cmd, key,
		                          o->opt, opt);
	}
	ps->v = xrealloc(ps->v, (ps->n + 1) * sizeof *ps->v);
	pd_cli_param *p = &ps->v[ps->n++];
	memset(p, 0, sizeof *p);
	p->key = xstrdup(key);
	p->value = value ? xstrdup(value) : NULL;
	p->negated = negated;
	snprintf(p->opt, sizeof p->opt, "%s", opt);
	return PD_CLI_CONTINUE;
}

/* --param KEY=VALUE. The value is never echoed: it may be a secret typed in
 * the wrong place. */
static int take_param(pd_cli *c, const char *cmd, const char *kv, pd_cli_params *ps)
{
	const char *eq = strchr(kv, '=');
	char key[48];
	size_t n = eq ? (size_t)(eq - kv) : strlen(kv);
	bool shaped = key_norm(kv, n, key);
	if (!eq)
		return shaped ? pd_cli_usage_field(c, "param",
		                                   _("%s: --param %s: expected KEY=VALUE (no '=')"),
		                                   cmd, key)
		              : pd_cli_usage_field(
		                    c, "param", _("%s: --param: expected KEY=VALUE (no '=')"), cmd);
	if (n == 0)
		return pd_cli_usage_field(c, "param",
		                          _("%s: --param: the KEY of KEY=VALUE is empty"), cmd);
	if (!shaped)
		return pd_cli_usage_field(
		    c, "param",
		    _("%s: --param: KEY must be lower-case letters, digits, - "
		      "and _ (at most 40), as in 'provdesk catalogue'"),
		    cmd);
	char opt[64];
	snprintf(opt, sizeof opt, "--param %s", key);
	const pd_platform_field *f = field_any(&c->cat, key);
	if (f && f->secret)
		return pd_cli_refuse_secret(c, opt);
	return param_add(c, cmd, ps, key, eq + 1, false, opt);
}

int pd_cli_param_option(pd_cli *c, const char *cmd, int argc, char **argv, int *i,
                        pd_cli_params *ps, const char *usage)
{
	const char *a = argv[*i];
	const char *name = a + 2;
	const char *eq = strchr(name, '=');
	size_t n = eq ? (size_t)(eq - name) : strlen(name);
	/* the catalogue says which names exist and which take no value */
	int rc = pd_cli_load(c);
	if (rc)
		return rc;
	if (n == 5 && !strncmp(name, "param", 5)) {
		if (eq)
			return take_param(c, cmd, eq + 1, ps);
		if (*i + 1 < argc && !(argv[*i + 1][0] == '-' && argv[*i + 1][1] == '-'))
			return take_param(c, cmd, argv[++*i], ps);
		return pd_cli_usage_field(c, "param", _("%s: option '--param' needs KEY=VALUE"),
		                          cmd);
	}
	char key[48];
	bool negated = false;
	const pd_platform_field *f = key_norm(name, n, key) ? field_any(&c->cat, key) : NULL;
	if (!f && n > 3 && !strncmp(name, "no-", 3) && key_norm(name + 3, n - 3, key)) {
		f = field_any(&c->cat, key);
		if (f && f->type != PD_FIELD_BOOL)
			f = NULL;
		negated = f != NULL;
	}
	if (!f || memchr(name, '_', n))
		return pd_cli_usage_field(c, NULL, _("%s: unknown option '--%.*s'\n%s"), cmd,
		                          (int)n, name, usage);
	char opt[64];
	long_name(key, negated, opt, sizeof opt);
	if (f->secret)
		return pd_cli_refuse_secret(c, opt);
	if (f->type == PD_FIELD_BOOL) {
		if (negated && eq)
			return pd_cli_usage(c, _("%s: option '%s' takes no value"), cmd, opt);
		return param_add(c, cmd, ps, key, eq ? eq + 1 : NULL, negated, opt);
	}
	if (eq)
		return param_add(c, cmd, ps, key, eq + 1, false, opt);
	if (*i + 1 < argc && !(argv[*i + 1][0] == '-' && argv[*i + 1][1] == '-'))
		return param_add(c, cmd, ps, key, argv[++*i], false, opt);
	return pd_cli_usage(c, _("%s: option '%s' needs a value"), cmd, opt);
}

void pd_cli_params_free(pd_cli_params *ps)
{
	for (size_t i = 0; i < ps->n; i++) {
		free(ps->v[i].key);
		free(ps->v[i].value);
	}
	free(ps->v);
	ps->v = NULL;
	ps->n = 0;
}

/* ---- applying them for the chosen platform ---- */

static bool is_column(const char *key)
{
	return !strcmp(key, "host") || !strcmp(key, "port") || !strcmp(key, "tls") ||
	       !strcmp(key, "username");
}

static pd_status no_field(const pd_platform *pl, const char *opt, const char *key, pd_err *e)
{
	pd_buf b = {0};
	for (size_t i = 0; i < pl->n_fields; i++)
		pd_buf_printf(&b, "%s%s", i ? ", " : "", pl->fields[i].key);
	pd_fail(e, PD_E_USAGE, key, _("%s: platform %s has no field '%s' (fields: %s)"), opt,
	        pl->key, key, b.s ? b.s : _("none"));
	pd_buf_free(&b);
	return PD_E_USAGE;
}

static pd_status twice(const char *key, const char *a, const char *b, pd_err *e)
{
	return pd_fail(e, PD_E_USAGE, key, _("%s: given twice (%s, then %s)"), key, a, b);
}

/* An explicit connection option (--host …) whose field the platform lacks. */
static pd_status column_known(const pd_platform *pl, const char *key, bool given, pd_err *e)
{
	if (!given || pd_platform_field_get(pl, key))
		return PD_OK;
	char opt[64];
	long_name(key, false, opt, sizeof opt);
	return no_field(pl, opt, key, e);
}

static pd_status set_column(pd_cli_columns *col, const pd_cli_param *p, pd_err *e)
{
	if (!strcmp(p->key, "tls")) {
		if (col->tls >= 0)
			return twice("tls", col->tls ? "--tls" : "--no-tls", p->opt, e);
		bool b = !p->negated;
		if (p->value && !pd_parse_bool(p->value, &b))
			return pd_fail(
			    e, PD_E_INVALID, "tls",
			    _("tls must be true or false (yes/no and 1/0 are accepted too), "
			      "not '%.40s'"),
			    p->value);
		col->tls = b;
		return PD_OK;
	}
	const char **slot = !strcmp(p->key, "host")   ? &col->host
	                    : !strcmp(p->key, "port") ? &col->port
	                                              : &col->username;
	const char **opt = !strcmp(p->key, "host")   ? &col->host_opt
	                   : !strcmp(p->key, "port") ? &col->port_opt
	                                             : &col->username_opt;
	if (*slot)
		return twice(p->key, *opt, p->opt, e);
	*slot = p->value ? p->value : "";
	*opt = p->opt;
	return PD_OK;
}

pd_status pd_cli_params_apply(const pd_catalogue *cat, const pd_cli_params *ps,
                              const char *platform, pd_cli_columns *col, char **params_json,
                              pd_err *e)
{
	const pd_platform *pl = platform ? pd_catalogue_platform(cat, platform) : NULL;
	if (!pl) /* pd_pbx_check / pd_template_check name the platform */
		return PD_OK;
	pd_status st;
	if ((st = column_known(pl, "host", col->host != NULL, e)) != PD_OK ||
	    (st = column_known(pl, "port", col->port != NULL, e)) != PD_OK ||
	    (st = column_known(pl, "username", col->username != NULL, e)) != PD_OK ||
	    (st = column_known(pl, "tls", col->tls >= 0, e)) != PD_OK)
		return st;
	if (!ps->n)
		return PD_OK;
	json_t *o = NULL;
	if (*params_json && **params_json) {
		o = json_loads(*params_json, 0, NULL);
		if (!json_is_object(o)) {
			/* replacing it would lose what is stored */
			json_decref(o);
			return pd_fail(e, PD_E_INVALID, "params",
			               _("the stored platform parameters are not a JSON object; "
			                 "fix them before changing one"));
		}
	} else {
		o = json_object();
	}
	for (size_t i = 0; i < ps->n; i++) {
		const pd_cli_param *p = &ps->v[i];
		const pd_platform_field *f = pd_platform_field_get(pl, p->key);
		if (!f)
			st = no_field(pl, p->opt, p->key, e);
		else if (f->secret) /* refused by the parser already */
			st = pd_fail(e, PD_E_USAGE, "secret",
			             _("a secret is never taken on the command line"));
		else if (is_column(p->key))
			st = set_column(col, p, e);
		else if (f->type == PD_FIELD_BOOL && !p->value)
			json_object_set_new(o, p->key, json_boolean(!p->negated));
		else if ((f->type == PD_FIELD_PATH || f->type == PD_FIELD_TEXT) && !*p->value)
			json_object_del(o, p->key); /* '' removes it */
		else if (f->type == PD_FIELD_PATH && p->value[strspn(p->value, " \t")] &&
		         p->value[strspn(p->value, " \t")] != '/') {
			/* the monitor does not run from this directory: store it absolute
			 * (a blank one goes to the core, which refuses it) */
			char cwd[4096];
			char *path = getcwd(cwd, sizeof cwd) ? xasprintf("%s/%s", cwd, p->value)
			                                     : xstrdup(p->value);
			json_object_set_new(o, p->key, json_string(path));
			free(path);
		} else /* typed by the core (pd_pbx_check), with its message */
			json_object_set_new(o, p->key, json_string(p->value));
		if (st != PD_OK)
			break;
	}
	if (st == PD_OK) {
		char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
		free(*params_json);
		*params_json = text;
	}
	json_decref(o);
	return st;
}

/* ---- what they are: help and JSON ---- */

static const char *type_name(pd_field_type t)
{
	switch (t) {
	case PD_FIELD_BOOL:
		return "bool";
	case PD_FIELD_INT:
		return "int";
	case PD_FIELD_PATH:
		return "path";
	case PD_FIELD_TEXT:
		break;
	}
	return "text";
}

static void print_fields(const pd_catalogue *cat, FILE *out)
{
	fputs(_("Platform fields, from the catalogue: each as --param KEY=VALUE or as --KEY\n"
	        "(- for _), accepted when the platform (--platform, the template's, or the\n"
	        "stored one) has it. BOOL is true/false, yes/no, on/off or 1/0; a relative\n"
	        "FILE is stored absolute; '' removes a text or FILE value.\n"),
	      out);
	for (size_t i = 0; i < cat->n_platforms; i++) {
		const pd_platform *pl = &cat->platforms[i];
		fprintf(out, "  %s (%s)%s\n", pl->key,
		        pl->name ? pd_catalogue_text(pl->name) : pl->key,
		        pl->supported ? "" : _(": no driver yet, add it --disabled"));
		for (size_t j = 0; j < pl->n_fields; j++) {
			const pd_platform_field *f = &pl->fields[j];
			char opt[64], form[160];
			long_name(f->key, false, opt, sizeof opt);
			if (f->secret)
				snprintf(form, sizeof form, "%s",
				         _("--secret-file FILE | --secret-env VAR"));
			else if (!strcmp(f->key, "port"))
				snprintf(form, sizeof form, "%s", _("--port PORT (1-65535)"));
			else if (!strcmp(f->key, "tls"))
				snprintf(form, sizeof form, "--tls | --no-tls");
			else if (f->type == PD_FIELD_BOOL)
				snprintf(form, sizeof form, "%s[=BOOL] | --no-%s", opt, opt + 2);
			else if (f->type == PD_FIELD_INT &&
			         (f->min != LLONG_MIN || f->max != LLONG_MAX))
				snprintf(form, sizeof form, "%s N (%lld-%lld)", opt, f->min,
				         f->max);
			else
				snprintf(form, sizeof form, "%s %s", opt,
				         f->type == PD_FIELD_PATH  ? "FILE"
				         : f->type == PD_FIELD_INT ? "N"
				                                   : "TEXT");
			fprintf(out, "    %-38s %s%s%s%s%s\n", form,
			        f->label ? pd_catalogue_text(f->label) : f->key,
			        f->required ? _(", required") : "",
			        f->default_value ? _(", default ") : "",
			        f->default_value ? f->default_value : "",
			        f->secret ? _(" (never on the command line)") : "");
		}
	}
}

void pd_cli_params_help(pd_cli *c, FILE *out)
{
	if (c->loaded) {
		print_fields(&c->cat, out);
		return;
	}
	/* help works without a valid configuration: the fields are then left out */
	pd_err e;
	pd_err_clear(&e);
	pd_config cfg;
	memset(&cfg, 0, sizeof cfg);
	pd_catalogue cat;
	memset(&cat, 0, sizeof cat);
	if (pd_config_load(c->config_path, &cfg, &e) == PD_OK &&
	    pd_catalogue_load_default(cfg.config_dir, &cat, &e) == PD_OK) {
		pd_drivers_mark_supported(&cat); /* as cli.c: supported = a driver is registered */
		print_fields(&cat, out);
		pd_catalogue_free(&cat);
	} else {
		fputs(_("(the platform fields come from the catalogue, which could not be loaded: "
		        "see 'provdesk catalogue')\n"),
		      out);
	}
	pd_config_free(&cfg);
}

json_t *pd_cli_fields_json(const pd_catalogue *cat, const char *platform,
                           const pd_cli_field_values *v)
{
	json_t *a = json_array();
	const pd_platform *pl = platform ? pd_catalogue_platform(cat, platform) : NULL;
	json_t *params =
	    v->params_json && *v->params_json ? json_loads(v->params_json, 0, NULL) : NULL;
	for (size_t i = 0; pl && i < pl->n_fields; i++) {
		const pd_platform_field *f = &pl->fields[i];
		json_t *o = json_object();
		json_object_set_new(o, "key", json_string(f->key));
		json_object_set_new(o, "label", pd_json_str(f->label));
		json_object_set_new(o, "type", json_string(type_name(f->type)));
		json_object_set_new(o, "required", json_boolean(f->required));
		if (f->secret) {
			/* whether one is stored, never what */
			json_object_set_new(o, "secret", json_true());
			json_object_set_new(o, "set", json_boolean(v->secret_set));
		} else if (!strcmp(f->key, "host")) {
			json_object_set_new(o, "value", pd_json_str(v->host));
		} else if (!strcmp(f->key, "port")) {
			json_object_set_new(o, "value", json_integer(v->port));
		} else if (!strcmp(f->key, "tls")) {
			json_object_set_new(o, "value", json_boolean(v->tls));
		} else if (!strcmp(f->key, "username")) {
			json_object_set_new(o, "value", pd_json_str(v->username));
		} else {
			json_t *x = json_is_object(params) ? json_object_get(params, f->key) : NULL;
			json_object_set_new(o, "value", x ? json_incref(x) : json_null());
		}
		if (f->default_value) {
			long long d = atoll(f->default_value);
			json_object_set_new(o, "default",
			                    f->type == PD_FIELD_BOOL
			                        ? json_boolean(!strcmp(f->default_value, "true"))
			                    : f->type == PD_FIELD_INT || !strcmp(f->key, "port")
			                        ? json_integer(d)
			                        : json_string(f->default_value));
		}
		json_array_append_new(a, o);
	}
	json_decref(params);
	return a;
}

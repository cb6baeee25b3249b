/* The platform's own parameters in the PBX connection and template forms.
 * The catalogue gives each platform fields beyond the connection's columns
 * (asterisk-ami: verify TLS, CA file, wrap-up time; broadworks-xsi:
 * enterprise and group ids); they live in params_json. The form gets one
 * field per distinct key over every platform, shown only while the chosen
 * platform has it, so switching the platform re-lays out the form without
 * rebuilding it. The core (pd_pbx_check / pd_template_check) checks and
 * normalises the values; this file only moves them between form and JSON. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ui_internal.h"

static bool extra_has_key(const struct ui_platform_fields *x, const char *key)
{
	for (size_t i = 0; i < x->n; i++)
		if (!strcmp(x->keys[i], key))
			return true;
	return false;
}

void ui_platform_fields_init(struct ui_platform_fields *x, const pd_catalogue *cat,
                             const struct ui_fspec *base, size_t n_base)
{
	memset(x, 0, sizeof *x);
	x->cat = cat;
	x->first = (int)n_base;
	size_t cap = n_base;
	for (size_t p = 0; p < cat->n_platforms; p++)
		cap += cat->platforms[p].n_fields;
	x->spec = xcalloc(cap ? cap : 1, sizeof *x->spec);
	x->keys = xcalloc(cap ? cap : 1, sizeof *x->keys);
	memcpy(x->spec, base, n_base * sizeof *base);
	x->n_spec = n_base;
	for (size_t p = 0; p < cat->n_platforms; p++) {
		const pd_platform *pl = &cat->platforms[p];
		for (size_t i = 0; i < pl->n_fields; i++) {
			const pd_platform_field *f = &pl->fields[i];
			if (!pd_platform_field_is_extra(f) || extra_has_key(x, f->key))
				continue;
			x->keys[x->n++] = f->key;
			x->spec[x->n_spec++] = (struct ui_fspec){
			    .key = f->key,
			    .label = f->label ? pd_catalogue_text(f->label) : f->key,
			    .kind = f->type == PD_FIELD_BOOL ? UI_F_TOGGLE : UI_F_TEXT,
			    .width = f->type == PD_FIELD_BOOL  ? 8
			             : f->type == PD_FIELD_INT ? 8
			                                       : 30,
			    .height = 1,
			    .max = f->type == PD_FIELD_PATH  ? 4095
			           : f->type == PD_FIELD_INT ? 12
			                                     : 256,
			    .note = NULL,
			};
		}
	}
}

void ui_platform_fields_free(struct ui_platform_fields *x)
{
	free(x->spec);
	free(x->keys);
	memset(x, 0, sizeof *x);
}

static const pd_platform_field *field_of(const struct ui_platform_fields *x, const char *platform,
                                         size_t i)
{
	return pd_platform_field_get(pd_catalogue_platform(x->cat, platform), x->keys[i]);
}

void ui_platform_fields_show(const struct ui_platform_fields *x, struct ui_form *f,
                             const char *platform)
{
	for (size_t i = 0; i < x->n; i++)
		ui_form_set_hidden(f, x->first + (int)i, !field_of(x, platform, i));
}

char *ui_platform_fields_text(const pd_platform_field *pf, const char *params_json)
{
	json_t *root = params_json && *params_json ? json_loads(params_json, 0, NULL) : NULL;
	json_t *v = json_is_object(root) ? json_object_get(root, pf->key) : NULL;
	char *out;
	bool b;
	if (!v && pf->default_value && *pf->default_value)
		out = pf->type == PD_FIELD_BOOL && pd_parse_bool(pf->default_value, &b)
		          ? xasprintf(_("%s (default)"), b ? _("yes") : _("no"))
		          : xasprintf(_("%s (default)"), pf->default_value);
	else if (!v)
		out = xstrdup("—");
	else if (json_is_boolean(v))
		out = xstrdup(json_is_true(v) ? _("yes") : _("no"));
	else if (json_is_integer(v))
		out = xasprintf("%lld", (long long)json_integer_value(v));
	else if (json_is_string(v))
		out = xstrdup(json_string_value(v));
	else
		out = xstrdup("?");
	json_decref(root);
	return out;
}

void ui_platform_fields_load(const struct ui_platform_fields *x, struct ui_form *f,
                             const char *platform, const char *params_json)
{
	json_t *root = params_json && *params_json ? json_loads(params_json, 0, NULL) : NULL;
	for (size_t i = 0; i < x->n; i++) {
		const pd_platform_field *pf = field_of(x, platform, i);
		json_t *v = json_is_object(root) ? json_object_get(root, x->keys[i]) : NULL;
		const char *def = pf && pf->default_value ? pf->default_value : "";
		char num[32];
		const char *text = def;
		if (json_is_string(v))
			text = json_string_value(v);
		else if (json_is_integer(v)) {
			pd_snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
			text = num;
		} else if (json_is_boolean(v))
			text = json_is_true(v) ? "true" : "false";
		if (pf && pf->type == PD_FIELD_BOOL) {
			bool b = false;
			pd_parse_bool(text, &b);
			text = b ? "yes" : "no";
		}
		ui_form_set(f, x->first + (int)i, text);
	}
	json_decref(root);
}

char *ui_platform_fields_params(const struct ui_platform_fields *x, struct ui_form *f,
                                const char *platform, const char *orig_json)
{
	const pd_platform *pl = pd_catalogue_platform(x->cat, platform);
	json_t *orig = orig_json && *orig_json ? json_loads(orig_json, 0, NULL) : NULL;
	json_t *out = json_object();
	/* what was stored and is still this platform's, then the form's values */
	const char *k;
	json_t *v;
	if (json_is_object(orig))
		json_object_foreach(orig, k,
		                    v) if (pd_platform_field_is_extra(pd_platform_field_get(pl, k)))
		    json_object_set(out, k, v);
	for (size_t i = 0; i < x->n; i++) {
		const pd_platform_field *pf = pd_platform_field_get(pl, x->keys[i]);
		if (!pf)
			continue;
		const char *text = ui_form_get(f, x->first + (int)i);
		bool had = json_object_get(out, x->keys[i]) != NULL;
		if (pf->type == PD_FIELD_BOOL) {
			bool b = !strcmp(text, "yes"), def = false;
			/* the default, never stored: keep it unstored (no audit noise) */
			if (!had && pf->default_value && pd_parse_bool(pf->default_value, &def) &&
			    def == b)
				continue;
			json_object_set_new(out, x->keys[i], json_boolean(b));
		} else if (!*text) {
			json_object_del(out, x->keys[i]); /* empty: the default */
		} else if (!had && pf->default_value && !strcmp(text, pf->default_value)) {
			continue;
		} else {
			json_object_set_new(out, x->keys[i],
			                    json_string(text)); /* typed by the core */
		}
	}
	char *s = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(out);
	json_decref(orig);
	return s;
}

/* provdesk catalogue: product types, roles, platforms, countries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_internal.h"
#include "provdesk/util.h"

static const char help_catalogue[] =
    "Usage: provdesk catalogue [product-types|roles|platforms|countries] [--json]\n"
    "Show the catalogue: product types (tenant profiles), roles, PBX platforms and the\n"
    "countries with their time zones. Without a section, all of them.\n";

static json_t *strv_json(char **v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static char *strv_join(char **v, size_t n, const char *empty)
{
	if (!n)
		return xstrdup(empty);
	pd_buf b = {0};
	for (size_t i = 0; i < n; i++)
		pd_buf_printf(&b, "%s%s", i ? "," : "", v[i]);
	return pd_buf_steal(&b);
}

int pd_cli_catalogue_cmd(pd_cli *c, int argc, char **argv)
{
	const char *pos[1] = {NULL};
	int np = 0;
	int rc = pd_cli_parse(c, "catalogue", argc, argv, NULL, pos, 0, 1, &np, help_catalogue);
	if (rc != PD_CLI_CONTINUE)
		return rc;
	static const char *const sections[] = {"product-types", "roles", "platforms", "countries"};
	bool want[4] = {true, true, true, true};
	if (np) {
		int k = -1;
		for (int i = 0; i < 4; i++)
			if (strcmp(pos[0], sections[i]) == 0)
				k = i;
		if (k < 0)
			return pd_cli_usage(
			    c,
			    "catalogue: unknown section '%s' (product-types, roles, "
			    "platforms or countries)",
			    pos[0]);
		for (int i = 0; i < 4; i++)
			want[i] = i == k;
	}
	pd_err e;
	pd_err_clear(&e);
	const pd_geo *g = NULL;
	if (want[3] && pd_cli_geo(&g, &e) != PD_OK)
		return pd_cli_fail(c, &e);
	const pd_catalogue *cat = &c->cat;
	if (c->json) {
		json_t *doc = json_object();
		if (want[0]) {
			json_t *a = json_array();
			for (size_t i = 0; i < cat->n_types; i++) {
				const pd_product_type *p = &cat->types[i];
				json_t *o = json_object();
				json_object_set_new(o, "key", json_string(p->key));
				json_object_set_new(o, "name", pd_json_str(p->name));
				json_object_set_new(o, "description", pd_json_str(p->description));
				json_t *f =
				    p->features_json ? json_loads(p->features_json, 0, NULL) : NULL;
				json_object_set_new(o, "features", f ? f : json_object());
				json_object_set_new(o, "locked_after_assignment",
				                    json_boolean(p->locked_after_assignment));
				json_object_set_new(o, "trial_allowed",
				                    json_boolean(p->trial_allowed));
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
					json_object_set_new(f, "key",
					                    json_string(p->fields[j].key));
					json_object_set_new(f, "label",
					                    pd_json_str(p->fields[j].label));
					json_object_set_new(f, "required",
					                    json_boolean(p->fields[j].required));
					json_object_set_new(f, "secret",
					                    json_boolean(p->fields[j].secret));
					json_object_set_new(
					    f, "default", pd_json_str(p->fields[j].default_value));
					static const char *const types[] = {
					    [PD_FIELD_TEXT] = "text",
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
				json_object_set_new(o, "time_zones",
				                    strv_json(co->zones, co->n_zones));
				json_array_append_new(a, o);
			}
			json_object_set_new(doc, "countries", a);
		}
		pd_cli_print_json(c, doc);
		return 0;
	}
	bool first = true;
	if (want[0]) {
		printf("Product types:\n");
		static const char *const heads[] = {"KEY",   "NAME",      "LOCKED",   "TRIAL",
		                                    "PRICE", "PLATFORMS", "COUNTRIES"};
		static const bool right[] = {false, false, false, false, true, false, false};
		pd_table t;
		pd_table_init(&t, 7, heads, right);
		for (size_t i = 0; i < cat->n_types; i++) {
			const pd_product_type *p = &cat->types[i];
			char price[64], m[32];
			pd_fmt_money(p->price_cents, m);
			snprintf(price, sizeof price, "%s %s/user/month", m,
			         p->currency ? p->currency : "");
			char *pl = strv_join(p->platforms, p->n_platforms, "-");
			char *co = strv_join(p->countries, p->n_countries, "all");
			const char *cells[7] = {p->key,
			                        p->name,
			                        p->locked_after_assignment ? "yes" : "no",
			                        p->trial_allowed ? "yes" : "no",
			                        price,
			                        pl,
			                        co};
			pd_table_row(&t, cells);
			free(pl);
			free(co);
		}
		pd_table_print(&t, stdout);
		pd_table_free(&t);
		first = false;
	}
	if (want[1]) {
		printf("%sRoles:\n", first ? "" : "\n");
		static const char *const heads[] = {"KEY", "NAME", "MANAGES USERS", "DESCRIPTION"};
		pd_table t;
		pd_table_init(&t, 4, heads, NULL);
		for (size_t i = 0; i < cat->n_roles; i++) {
			const char *cells[4] = {cat->roles[i].key, cat->roles[i].name,
			                        cat->roles[i].manages_users ? "yes" : "no",
			                        cat->roles[i].description};
			pd_table_row(&t, cells);
		}
		pd_table_print(&t, stdout);
		pd_table_free(&t);
		first = false;
	}
	if (want[2]) {
		printf("%sPBX platforms:\n", first ? "" : "\n");
		static const char *const heads[] = {"KEY", "NAME", "SUPPORTED", "SUB-ACCOUNTS",
		                                    "FIELDS"};
		pd_table t;
		pd_table_init(&t, 5, heads, NULL);
		for (size_t i = 0; i < cat->n_platforms; i++) {
			const pd_platform *p = &cat->platforms[i];
			pd_buf b = {0};
			for (size_t j = 0; j < p->n_fields; j++)
				pd_buf_printf(&b, "%s%s%s", j ? "," : "", p->fields[j].key,
				              p->fields[j].required ? "*" : "");
			char *fl = pd_buf_steal(&b);
			const char *cells[5] = {p->key, p->name, p->supported ? "yes" : "no",
			                        p->has_sub_accounts ? p->sub_account_label : "no",
			                        fl};
			pd_table_row(&t, cells);
			free(fl);
		}
		pd_table_print(&t, stdout);
		pd_table_free(&t);
		first = false;
	}
	if (want[3]) {
		printf("%sCountries:\n", first ? "" : "\n");
		static const char *const heads[] = {"CODE", "ENGLISH", "FRENCH", "TIME ZONES"};
		pd_table t;
		pd_table_init(&t, 4, heads, NULL);
		for (size_t i = 0; i < pd_geo_count(g); i++) {
			const pd_country *co = pd_geo_at(g, i);
			char *z = strv_join(co->zones, co->n_zones, "-");
			const char *cells[4] = {co->code, co->name_en, co->name_fr, z};
			pd_table_row(&t, cells);
			free(z);
		}
		pd_table_print(&t, stdout);
		pd_table_free(&t);
	}
	return 0;
}

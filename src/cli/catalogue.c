/* provdesk catalogue: product types, roles, platforms, countries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_internal.h"
#include "provdesk/i18n.h"
#include "provdesk/util.h"

static const char help_catalogue[] =
    N_("Usage: provdesk catalogue [product-types|roles|platforms|countries] [--json]\n"
       "Show the catalogue: product types (tenant profiles), roles, PBX platforms and the\n"
       "countries with their time zones. Without a section, all of them.\n");

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
			    _("catalogue: unknown section '%s' (product-types, roles, "
			      "platforms or countries)"),
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
		json_t *doc = pd_json_catalogue(cat, g, want);
		pd_cli_print_json(c, doc);
		return 0;
	}
	bool first = true;
	if (want[0]) {
		printf(_("Product types:\n"));
		static const char *const heads[] = {N_("KEY"),      N_("NAME"),  N_("LOCKED"),
		                                    N_("TRIAL"),    N_("PRICE"), N_("PLATFORMS"),
		                                    N_("COUNTRIES")};
		static const bool right[] = {false, false, false, false, true, false, false};
		pd_table t;
		pd_table_init(&t, 7, heads, right);
		for (size_t i = 0; i < cat->n_types; i++) {
			const pd_product_type *p = &cat->types[i];
			char price[64], m[32];
			pd_fmt_money(p->price_cents, m);
			snprintf(price, sizeof price, _("%s %s/user/month"), m,
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
		printf(_("%sRoles:\n"), first ? "" : "\n");
		static const char *const heads[] = {N_("KEY"), N_("NAME"), N_("MANAGES USERS"),
		                                    N_("DESCRIPTION")};
		pd_table t;
		pd_table_init(&t, 4, heads, NULL);
		for (size_t i = 0; i < cat->n_roles; i++) {
			const char *cells[4] = {cat->roles[i].key,
			                        pd_catalogue_text(cat->roles[i].name),
			                        cat->roles[i].manages_users ? _("yes") : _("no"),
			                        pd_catalogue_text(cat->roles[i].description)};
			pd_table_row(&t, cells);
		}
		pd_table_print(&t, stdout);
		pd_table_free(&t);
		first = false;
	}
	if (want[2]) {
		printf(_("%sPBX platforms:\n"), first ? "" : "\n");
		static const char *const heads[] = {N_("KEY"), N_("NAME"), N_("SUPPORTED"),
		                                    N_("SUB-ACCOUNTS"), N_("FIELDS")};
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
		printf(_("%sCountries:\n"), first ? "" : "\n");
		static const char *const heads[] = {N_("CODE"), N_("ENGLISH"), N_("FRENCH"),
		                                    N_("TIME ZONES")};
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

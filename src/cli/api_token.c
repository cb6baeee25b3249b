/* provdesk api-token create|list|revoke (docs/provdesk.1, API tokens): the
 * tokens client systems use on the HTTP API. The secret is printed once, at
 * creation; the store keeps only its SHA-256 (src/store/api.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_internal.h"
#include "provdesk/i18n.h"
#include "provdesk/store_api.h"
#include "provdesk/util.h"

static const char help_group[] =
    N_("Usage: provdesk api-token create --name NAME --scope provision|read|billing [--json]\n"
       "       provdesk api-token list [--all] [--json]\n"
       "       provdesk api-token revoke NAME [--json]\n"
       "Tokens for the HTTP API (provdesk serve with [api] listen). The secret is shown\n"
       "once, when the token is created: give it to the client system, which sends it as\n"
       "'Authorization: Bearer TOKEN'. Scopes: read (customers, users, PBX state,\n"
       "catalogue), provision (read, and every change), billing (the billing export and\n"
       "the catalogue). The audit log names the token (api:NAME) and the client address.\n");

static json_t *token_json(const pd_api_token *t)
{
	json_t *o = json_object();
	json_object_set_new(o, "name", json_string(t->name));
	json_object_set_new(o, "scope", json_string(pd_api_scope_name(t->scope)));
	json_object_set_new(o, "created_at", pd_json_time(t->created_at));
	json_object_set_new(o, "created_by", pd_json_str(t->created_by));
	json_object_set_new(o, "revoked_at", pd_json_time(t->revoked_at));
	return o;
}

static int cmd_create(pd_cli *c, int argc, char **argv)
{
	const char *name = NULL, *scope = NULL;
	const pd_opt opts[] = {
	    {"name", PD_OPT_VAL, &name, NULL},
	    {"scope", PD_OPT_VAL, &scope, NULL},
	    {NULL, 0, NULL, NULL},
	};
	int rc =
	    pd_cli_parse(c, "api-token create", argc, argv, opts, NULL, 0, 0, NULL, help_group);
	if (rc != PD_CLI_CONTINUE)
		return rc;
	if (!name)
		return pd_cli_usage_field(c, "name", _("api-token create: missing --name"));
	if (!scope)
		return pd_cli_usage_field(
		    c, "scope", _("api-token create: missing --scope provision|read|billing"));
	pd_api_scope sc;
	if (!pd_api_scope_parse(scope, &sc))
		return pd_cli_usage_field(
		    c, "scope", _("--scope: expected provision, read or billing, got '%s'"), scope);
	pd_err e;
	pd_err_clear(&e);
	pd_store *s = pd_cli_store(c, &e);
	if (!s)
		return pd_cli_fail(c, &e);
	char *secret = NULL;
	pd_api_token t;
	if (store_api_token_create(s, name, sc, &c->actor, &secret, &t, &e) != PD_OK)
		return pd_cli_fail(c, &e);
	if (c->json) {
		json_t *o = token_json(&t);
		json_object_set_new(o, "token", json_string(secret));
		pd_cli_print_json(c, o);
	} else {
		printf("%s\n", secret);
		fprintf(stderr,
		        _("API token '%s' (scope %s) created. It is shown only now: give it to the "
		          "client system.\n"),
		        t.name, pd_api_scope_name(t.scope));
	}
	memset(secret, 0, strlen(secret));
	free(secret);
	pd_api_token_free(&t);
	return 0;
}

static int cmd_list(pd_cli *c, int argc, char **argv)
{
	bool all = false;
	const pd_opt opts[] = {{"all", PD_OPT_FLAG, NULL, &all}, {NULL, 0, NULL, NULL}};
	int rc = pd_cli_parse(c, "api-token list", argc, argv, opts, NULL, 0, 0, NULL, help_group);
	if (rc != PD_CLI_CONTINUE)
		return rc;
	pd_err e;
	pd_err_clear(&e);
	pd_store *s = pd_cli_store(c, &e);
	if (!s)
		return pd_cli_fail(c, &e);
	pd_api_token *v = NULL;
	size_t n = 0;
	if (store_api_token_list(s, all, &v, &n, &e) != PD_OK)
		return pd_cli_fail(c, &e);
	if (c->json) {
		json_t *a = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(a, token_json(&v[i]));
		pd_cli_print_json(c, a);
	} else if (!n)
		fputs(_("no API tokens\n"), stderr);
	else {
		static const char *const heads[] = {"NAME", "SCOPE", "CREATED", "BY", "REVOKED"};
		pd_table t;
		pd_table_init(&t, 5, heads, NULL);
		for (size_t i = 0; i < n; i++) {
			char t1[32], t2[32];
			pd_fmt_time(v[i].created_at, t1);
			pd_fmt_time(v[i].revoked_at, t2);
			const char *cells[5] = {v[i].name, pd_api_scope_name(v[i].scope), t1,
			                        v[i].created_by, t2};
			pd_table_row(&t, cells);
		}
		pd_table_print(&t, stdout);
		pd_table_free(&t);
	}
	pd_api_tokens_free(v, n);
	return 0;
}

static int cmd_revoke(pd_cli *c, int argc, char **argv)
{
	const char *pos[1];
	int rc = pd_cli_parse(c, "api-token revoke", argc, argv, NULL, pos, 1, 1, NULL, help_group);
	if (rc != PD_CLI_CONTINUE)
		return rc;
	pd_err e;
	pd_err_clear(&e);
	pd_store *s = pd_cli_store(c, &e);
	if (!s)
		return pd_cli_fail(c, &e);
	if (store_api_token_revoke(s, pos[0], &c->actor, &e) != PD_OK)
		return pd_cli_fail(c, &e);
	if (c->json) {
		json_t *o = json_object();
		json_object_set_new(o, "name", json_string(pos[0]));
		json_object_set_new(o, "revoked", json_true());
		pd_cli_print_json(c, o);
	} else
		printf(_("Revoked API token '%s'.\n"), pos[0]);
	return 0;
}

const pd_subcmd pd_cli_api_token_subs[] = {
    {"create", cmd_create}, {"list", cmd_list}, {"revoke", cmd_revoke}, {NULL, NULL}};

int pd_cli_api_token_cmd(pd_cli *c, int argc, char **argv)
{
	return pd_cli_group(c, "api-token", pd_cli_api_token_subs, argc, argv, help_group);
}

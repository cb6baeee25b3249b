/* provdesk user list|add|update|remove and provdesk role assign. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_internal.h"
#include "provdesk/i18n.h"
#include "provdesk/util.h"

static const char help_group[] =
    N_("Usage: provdesk user list|add|update|remove CUSTOMER ...\n"
       "  list CUSTOMER [--json]\n"
       "  add CUSTOMER --name NAME --email EMAIL [--extension EXT] [--role ROLE] [--json]\n"
       "  update CUSTOMER USER [--name NAME] [--email EMAIL] [--extension EXT] [--role ROLE]\n"
       "  remove CUSTOMER USER\n"
       "USER is the user's email, extension or #ID. An extension several users answer to\n"
       "(a console user and a PBX user, or PBX users of two sub-accounts) is refused with\n"
       "the candidates; name one as SUBACCOUNT/EXT or PBX:EXT (PBX: the connection's host,\n"
       "its template or 'pbx'), by email or by #ID. ROLE is a role key or display name\n"
       "(see 'provdesk catalogue'), or none.\n");
static const char help_list[] = N_("Usage: provdesk user list CUSTOMER [--json]\n"
                                   "List the console and synced users of a customer.\n");
static const char help_add[] = N_(
    "Usage: provdesk user add CUSTOMER --name NAME --email EMAIL [--extension EXT] [--role ROLE] "
    "[--json]\n"
    "Add a console user (email unique within the customer) and queue its invitation.\n");
static const char help_update[] =
    N_("Usage: provdesk user update CUSTOMER USER [--name NAME] [--email EMAIL] [--extension EXT]\n"
       "         [--role ROLE] [--json]\n"
       "Change a console user. An empty --extension clears it. USER: email, extension,\n"
       "SUBACCOUNT/EXT, PBX:EXT or #ID.\n");
static const char help_remove[] =
    N_("Usage: provdesk user remove CUSTOMER USER [--json]\n"
       "Remove a console user (the primary user cannot be removed).\n");
static const char help_role[] =
    N_("Usage: provdesk role assign CUSTOMER USER ROLE [--json]\n"
       "Give USER (email, extension, SUBACCOUNT/EXT, PBX:EXT or #ID) the ROLE (key or\n"
       "display name); an extension several users answer to is refused with the\n"
       "candidates. 'none' removes the role: the user is kept (calls are still\n"
       "attributed) but has no access.\n");

static void print_users(pd_cli *c, pd_user *users, size_t nu)
{
	if (c->json) {
		pd_cli_print_json(c, pd_json_users(&c->cat, users, nu));
		return;
	}
	pd_table t;
	pd_table_users(&t, &c->cat, users, nu, true);
	if (nu)
		pd_table_print(&t, stdout);
	else
		fprintf(stderr, _("no users\n"));
	pd_table_free(&t);
}

static int cmd_list(pd_cli *c, int argc, char **argv)
{
	const char *pos[1];
	int rc = pd_cli_parse(c, "user list", argc, argv, NULL, pos, 1, 1, NULL, help_list);
	if (rc != PD_CLI_CONTINUE)
		return rc;
	pd_err e;
	pd_err_clear(&e);
	int64_t cid;
	pd_user *u = NULL;
	size_t n = 0;
	if (pd_cli_customer_id(c, pos[0], &cid, &e) != PD_OK ||
	    store_user_list(c->store, cid, &u, &n, &e) != PD_OK)
		return pd_cli_fail(c, &e);
	print_users(c, u, n);
	pd_cli_users_free(u, n);
	return 0;
}

static int print_one(pd_cli *c, int64_t id, const char *verb)
{
	pd_err e;
	pd_err_clear(&e);
	pd_user u;
	memset(&u, 0, sizeof u);
	if (store_user_get(c->store, id, &u, &e) != PD_OK)
		return pd_cli_fail(c, &e);
	if (c->json)
		pd_cli_print_json(c, pd_json_user(&c->cat, &u));
	else
		printf(_("%s user #%lld %s <%s>%s%s\n"), verb, (long long)u.id,
		       u.display_name ? u.display_name : "", u.email ? u.email : "",
		       u.role ? _(", role ") : _(", no role"), u.role ? u.role : "");
	pd_user_free(&u);
	return 0;
}

/* What update, remove and role assign start with: the ROLE when one is given
 * (a bad role is reported before an unknown user), then USER of CUSTOMER.
 * PD_CLI_CONTINUE, or the exit code after printing the error. */
static int find_user(pd_cli *c, const char *cust, const char *key, const char *role,
                     const char **role_key, pd_user *u, pd_err *e)
{
	if (role && pd_cli_role(&c->cat, role, role_key, e) != PD_OK)
		return pd_cli_fail(c, e);
	int64_t cid;
	pd_status st = pd_cli_customer_id(c, cust, &cid, e);
	if (st == PD_OK) {
		memset(u, 0, sizeof *u);
		st = store_user_find(c->store, cid, key, u, e);
		if (st != PD_OK && !e->field[0])
			snprintf(e->field, sizeof e->field, "user");
	}
	return st == PD_OK ? PD_CLI_CONTINUE : pd_cli_fail(c, e);
}

/* Frees *u, then prints the error or the stored user (print_one). */
static int user_done(pd_cli *c, pd_user *u, pd_status st, const pd_err *e, const char *verb)
{
	int64_t id = u->id;
	pd_user_free(u);
	return st == PD_OK ? print_one(c, id, verb) : pd_cli_fail(c, e);
}

static int cmd_add(pd_cli *c, int argc, char **argv)
{
	const char *name = NULL, *email = NULL, *ext = NULL, *role = NULL;
	const pd_opt opts[] = {
	    {"name", PD_OPT_VAL, &name, NULL},
	    {"email", PD_OPT_VAL, &email, NULL},
	    {"extension", PD_OPT_VAL, &ext, NULL},
	    {"role", PD_OPT_VAL, &role, NULL},
	    {NULL, 0, NULL, NULL},
	};
	const char *pos[1];
	int rc = pd_cli_parse(c, "user add", argc, argv, opts, pos, 1, 1, NULL, help_add);
	if (rc != PD_CLI_CONTINUE)
		return rc;
	if (!name)
		return pd_cli_usage_field(c, "display_name", _("user add: missing --name"));
	if (!email)
		return pd_cli_usage_field(c, "email", _("user add: missing --email"));
	pd_err e;
	pd_err_clear(&e);
	const char *role_key = NULL;
	if (role && pd_cli_role(&c->cat, role, &role_key, &e) != PD_OK)
		return pd_cli_fail(c, &e);
	int64_t cid;
	if (pd_cli_customer_id(c, pos[0], &cid, &e) != PD_OK)
		return pd_cli_fail(c, &e);
	pd_user u, out;
	memset(&u, 0, sizeof u);
	memset(&out, 0, sizeof out);
	u.customer_id = cid;
	u.display_name = xstrdup(name);
	u.email = xstrdup(email);
	u.extension = ext && *ext ? xstrdup(ext) : NULL;
	u.role = role_key ? xstrdup(role_key) : NULL;
	pd_status st = pd_user_check(&c->cat, &u, &e);
	if (st == PD_OK)
		st = store_user_add(c->store, cid, &u, &c->actor, &out, &e);
	pd_user_free(&u);
	return user_done(c, &out, st, &e, _("Added"));
}

static int cmd_update(pd_cli *c, int argc, char **argv)
{
	const char *name = NULL, *email = NULL, *ext = NULL, *role = NULL;
	const pd_opt opts[] = {
	    {"name", PD_OPT_VAL, &name, NULL},
	    {"email", PD_OPT_VAL, &email, NULL},
	    {"extension", PD_OPT_VAL, &ext, NULL},
	    {"role", PD_OPT_VAL, &role, NULL},
	    {NULL, 0, NULL, NULL},
	};
	const char *pos[2];
	int rc = pd_cli_parse(c, "user update", argc, argv, opts, pos, 2, 2, NULL, help_update);
	if (rc != PD_CLI_CONTINUE)
		return rc;
	if (!name && !email && !ext && !role)
		return pd_cli_usage(c, _("user update: nothing to change (see --help)"));
	pd_err e;
	pd_err_clear(&e);
	const char *role_key = NULL;
	pd_user u;
	rc = find_user(c, pos[0], pos[1], role, &role_key, &u, &e);
	if (rc != PD_CLI_CONTINUE)
		return rc;
	if (name)
		pd_set_str(&u.display_name, name);
	if (email)
		pd_set_str(&u.email, email);
	if (ext)
		pd_set_str(&u.extension, *ext ? ext : NULL);
	if (role)
		pd_set_str(&u.role, role_key);
	pd_status st = pd_user_check(&c->cat, &u, &e);
	if (st == PD_OK)
		st = store_user_update(c->store, &u, &c->actor, &e);
	return user_done(c, &u, st, &e, _("Updated"));
}

static int cmd_remove(pd_cli *c, int argc, char **argv)
{
	const char *pos[2];
	int rc = pd_cli_parse(c, "user remove", argc, argv, NULL, pos, 2, 2, NULL, help_remove);
	if (rc != PD_CLI_CONTINUE)
		return rc;
	pd_err e;
	pd_err_clear(&e);
	pd_user u;
	rc = find_user(c, pos[0], pos[1], NULL, NULL, &u, &e);
	if (rc != PD_CLI_CONTINUE)
		return rc;
	pd_status st = store_user_remove(c->store, u.id, &c->actor, &e);
	if (st == PD_OK) {
		if (c->json) {
			json_t *o = pd_json_user(&c->cat, &u);
			json_object_set_new(o, "removed", json_true());
			pd_cli_print_json(c, o);
		} else
			printf(_("Removed user #%lld %s <%s>\n"), (long long)u.id,
			       u.display_name ? u.display_name : "", u.email ? u.email : "");
	}
	pd_user_free(&u);
	return st == PD_OK ? 0 : pd_cli_fail(c, &e);
}

const pd_subcmd pd_cli_user_subs[] = {
    {"list", cmd_list},     {"add", cmd_add}, {"update", cmd_update},
    {"remove", cmd_remove}, {NULL, NULL},
};

int pd_cli_user_cmd(pd_cli *c, int argc, char **argv)
{
	return pd_cli_group(c, "user", pd_cli_user_subs, argc, argv, help_group);
}

static int cmd_assign(pd_cli *c, int argc, char **argv)
{
	const char *pos[3];
	int rc = pd_cli_parse(c, "role assign", argc, argv, NULL, pos, 3, 3, NULL, help_role);
	if (rc != PD_CLI_CONTINUE)
		return rc;
	pd_err e;
	pd_err_clear(&e);
	const char *role_key = NULL;
	pd_user u;
	rc = find_user(c, pos[0], pos[1], pos[2], &role_key, &u, &e);
	if (rc != PD_CLI_CONTINUE)
		return rc;
	pd_status st = store_role_assign(c->store, u.id, role_key, &c->actor, &e);
	return user_done(c, &u, st, &e, _("Assigned role to"));
}

const pd_subcmd pd_cli_role_subs[] = {{"assign", cmd_assign}, {NULL, NULL}};

int pd_cli_role_cmd(pd_cli *c, int argc, char **argv)
{
	return pd_cli_group(c, "role", pd_cli_role_subs, argc, argv, help_role);
}

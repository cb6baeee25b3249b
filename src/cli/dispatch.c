/* Global options, the command table (every command and group), the
 * top-level help printed from it, and pd_cli_run. The top of the command line: it calls every
 * command file, and none of them calls it (help for one command goes back
 * through pd_cli_run only from `provdesk help`). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_internal.h"
#include "pd_build_config.h"
#include "provdesk/i18n.h"
#include "provdesk/util.h"

static const char top_usage[] =
    N_("Usage: provdesk [--db PATH] [--config PATH] [--theme NAME] [--demo] [--noc]\n"
       "                [--no-mouse]\n"
       "       provdesk [--db PATH] [--config PATH] COMMAND [ARGS...] [--json]\n"
       "\n"
       "Without a command, opens the console. Commands:\n");

static const char top_options[] =
    N_("\n"
       "Global options (before the command):\n"
       "  --db PATH       database file (default: [database] path, else XDG data dir/provdesk.db)\n"
       "  --config PATH   configuration file (default: XDG config dir/provdesk.conf)\n"
       "  --theme NAME    console theme\n"
       "  --demo          start the lab PBX with a demo database\n"
       "  --noc           read-only wall display\n"
       "  --no-mouse      the console ignores the mouse (as [ui] mouse = off)\n"
       "  --json          JSON output, and errors as JSON (anywhere on the line)\n"
       "  --core-dumps    allow core dumps (off by default: they would hold secrets)\n"
       "  -h, --help      this help; COMMAND --help for a command\n"
       "  --version       print the version\n"
       "\n"
       "Exit codes: 0 ok, 64 usage, 65 invalid data, 66 missing input, 69 PBX/SMTP unavailable,\n"
       "73 cannot create output, 75 temporary failure (retry), 76 protocol error, 77 refused,\n"
       "78 configuration error. See provdesk(1).\n");

/* ---- global options ---- */

static int global_usage(const pd_cli_globals *g, const char *what, const char *arg)
{
	pd_cli tmp = {.prog = "provdesk", .json = g->json};
	return pd_cli_usage(&tmp, _("%s '%s'; try 'provdesk --help'"), _(what), arg);
}

/* --json anywhere before a "--": errors that come before the command's own
 * parser reaches it (an unknown global option, a missing sub-command, an
 * unknown option before --json) are JSON too. An option value is never
 * "--json": pd_cli_parse does not take a value that starts with "--". */
static bool wants_json(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return false;
		if (strcmp(argv[i], "--json") == 0)
			return true;
	}
	return false;
}

int pd_cli_parse_globals(int argc, char **argv, pd_cli_globals *g)
{
	memset(g, 0, sizeof *g);
	g->json = wants_json(argc, argv);
	int i = 1;
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (a[0] != '-' || a[1] == 0)
			break;
		if (pd_cli_is_secret_option(a)) {
			pd_cli tmp = {.prog = "provdesk", .json = g->json};
			return pd_cli_refuse_secret(&tmp, a);
		}
		const char **dst = NULL;
		const char *opt = a;
		const char *eq = strchr(a, '=');
		size_t n = eq ? (size_t)(eq - a) : strlen(a);
		if (n == 4 && strncmp(a, "--db", 4) == 0)
			dst = &g->db_path;
		else if (n == 8 && strncmp(a, "--config", 8) == 0)
			dst = &g->config_path;
		else if (n == 7 && strncmp(a, "--theme", 7) == 0)
			dst = &g->theme;
		if (dst) {
			if (eq)
				*dst = eq + 1;
			else if (i + 1 < argc)
				*dst = argv[++i];
			else
				return global_usage(g, N_("missing value for option"), opt);
			if (!**dst)
				return global_usage(g, N_("empty value for option"), opt);
			continue;
		}
		if (eq)
			return global_usage(g, N_("this option takes no value:"), a);
		if (strcmp(a, "--demo") == 0)
			g->demo = true;
		else if (strcmp(a, "--noc") == 0)
			g->noc = true;
		else if (strcmp(a, "--json") == 0)
			g->json = true;
		else if (strcmp(a, "--core-dumps") == 0)
			g->core_dumps = true;
		else if (strcmp(a, "--no-mouse") == 0)
			g->no_mouse = true;
		else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			pd_cli_print_help(stdout);
			return 0;
		} else if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0) {
			printf("provdesk %s\n", PD_VERSION);
			return 0;
		} else
			return global_usage(g, N_("unknown option"), a);
	}
	g->argi = i;
	return -1;
}

/* ---- commands ---- */

static int cmd_lab_pbx(pd_cli *c, int argc, char **argv)
{
	return pd_cli_lab_pbx(c, argc, argv);
}

static int cmd_help(pd_cli *c, int argc, char **argv);

/* Every command, in the order of the help; the help is printed from this
 * table (and the groups' sub-command tables), so it cannot miss one. */
static const struct {
	const char *name;
	int (*fn)(pd_cli *c, int argc, char **argv);
	const pd_subcmd *subs; /* a group's sub-commands, NULL for a command */
	const char *args;      /* after the name and sub-commands */
	const char *summary;   /* NULL: an alias, not listed */
} commands[] = {
    {"customer", pd_cli_customer_cmd, pd_cli_customer_subs, "", N_("manage customers")},
    {"user", pd_cli_user_cmd, pd_cli_user_subs, "CUSTOMER ...", N_("console users of a customer")},
    {"role", pd_cli_role_cmd, pd_cli_role_subs, "CUSTOMER USER ROLE",
     N_("give a user a role (or none)")},
    {"template", pd_cli_template_cmd, pd_cli_template_subs, "", N_("PBX templates")},
    {"pbx", pd_cli_pbx_cmd, pd_cli_pbx_subs, "CUSTOMER",
     N_("the PBX connection and its live link")},
    {"catalogue", pd_cli_catalogue_cmd, NULL, "[SECTION]",
     N_("product types, roles, platforms, countries")},
    {"catalog", pd_cli_catalogue_cmd, NULL, NULL, NULL},
    {"audit", pd_cli_audit_cmd, NULL, "[CUSTOMER]", N_("the audit log")},
    {"outbox", pd_cli_outbox_cmd, pd_cli_outbox_subs, "", N_("invitation emails")},
    {"import", pd_cli_import_cmd, NULL, "FILE.csv", N_("create customers from a CSV file")},
    {"billing", pd_cli_billing_cmd, pd_cli_billing_subs, "--period YYYY-MM",
     N_("billing lines of a month")},
    {"api-token", pd_cli_api_token_cmd, pd_cli_api_token_subs, "", N_("tokens of the HTTP API")},
    {"lab-pbx", cmd_lab_pbx, NULL, "", N_("run the built-in lab PBX")},
    {"serve", pd_cli_serve, NULL, "[--detach] [--auto] [--stop|--status]",
     N_("the one PBX monitor and outbox sender of the database")},
    {"help", cmd_help, NULL, "[COMMAND...]", N_("this help, or a command's help")},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])
#define HELP_COL 42

void pd_cli_print_help(FILE *out)
{
	fputs(_(top_usage), out);
	for (size_t i = 0; i < N_COMMANDS; i++) {
		if (!commands[i].summary)
			continue;
		pd_buf b = {0};
		pd_buf_printf(&b, "  %s", commands[i].name);
		for (const pd_subcmd *s = commands[i].subs; s && s->name; s++)
			pd_buf_printf(&b, "%c%s", s == commands[i].subs ? ' ' : '|', s->name);
		if (*commands[i].args)
			pd_buf_printf(&b, " %s", commands[i].args);
		fputs(b.s, out);
		int w = (int)b.len;
		if (w + 2 > HELP_COL) {
			fputc('\n', out);
			w = 0;
		}
		fprintf(out, "%*s%s\n", HELP_COL - w, "", _(commands[i].summary));
		pd_buf_free(&b);
	}
	fputs(_(top_options), out);
}

static int cmd_help(pd_cli *c, int argc, char **argv)
{
	if (argc > 1) {
		/* "provdesk help customer create" == "... --help" */
		char **v = xcalloc((size_t)argc + 1, sizeof *v);
		for (int i = 1; i < argc; i++)
			v[i - 1] = argv[i];
		v[argc - 1] = (char *)"--help";
		int rc = pd_cli_run(c, argc, v);
		free(v);
		return rc;
	}
	pd_cli_print_help(stdout);
	return 0;
}

const char *pd_cli_command_name(size_t i)
{
	for (size_t k = 0; k < N_COMMANDS; k++)
		if (commands[k].summary && i-- == 0)
			return commands[k].name;
	return NULL;
}

int pd_cli_run(pd_cli *c, int argc, char **argv)
{
	if (argc < 1)
		return pd_cli_usage(c, _("no command given; try 'provdesk --help'"));
	/* hidden: the shell completion's helper (src/cli/complete.c) */
	if (!c->describe && strcmp(argv[0], "__complete") == 0)
		return pd_cli_complete(c, argc, argv);
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i].name, argv[0]) == 0)
			return commands[i].fn(c, argc, argv);
	return pd_cli_usage_field(c, NULL, _("unknown command '%s'; try 'provdesk --help'"),
	                          argv[0]);
}

/* Global options, loading, dispatch and the error/JSON printers shared by
 * every command (SPEC §4, §4.1). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_internal.h"
#include "pd_build_config.h"
#include "provdesk/paths.h"
#include "provdesk/util.h"

static const char top_help[] =
    "Usage: provdesk [--db PATH] [--config PATH] [--theme NAME] [--demo] [--noc]\n"
    "       provdesk [--db PATH] [--config PATH] COMMAND [ARGS...] [--json]\n"
    "\n"
    "Without a command, opens the console. Commands:\n"
    "  customer list|show|create|update|delete|restore|trial   manage customers\n"
    "  user list|add|update|remove CUSTOMER ...                console users of a customer\n"
    "  role assign CUSTOMER USER ROLE                          give a user a role (or none)\n"
    "  template list|show|add|update|delete                    PBX templates\n"
    "  pbx add|show|update|enable|disable|remove CUSTOMER      the customer's PBX connection\n"
    "  pbx status|resync|test CUSTOMER                         live PBX link\n"
    "  catalogue                                               product types, roles, platforms, "
    "countries\n"
    "  audit [CUSTOMER]                                        the audit log\n"
    "  outbox list|retry                                       invitation emails\n"
    "  import FILE.csv                                         create customers from a CSV file\n"
    "  billing export --period YYYY-MM                         billing lines of a month\n"
    "  lab-pbx                                                 run the built-in lab PBX\n"
    "\n"
    "Global options (before the command):\n"
    "  --db PATH       database file (default: [database] path, else XDG data dir/provdesk.db)\n"
    "  --config PATH   configuration file (default: XDG config dir/provdesk.conf)\n"
    "  --theme NAME    console theme\n"
    "  --demo          start the lab PBX with a demo database\n"
    "  --noc           read-only wall display\n"
    "  --json          JSON output (also accepted after the command)\n"
    "  -h, --help      this help; COMMAND --help for a command\n"
    "  --version       print the version\n"
    "\n"
    "Exit codes: 0 ok, 64 usage, 65 invalid data, 66 missing input, 69 PBX/SMTP unavailable,\n"
    "73 cannot create output, 75 temporary failure (retry), 76 protocol error, 77 refused,\n"
    "78 configuration error. See provdesk(1).\n";

void pd_cli_print_help(FILE *out)
{
	fputs(top_help, out);
}

/* ---- global options ---- */

static int global_usage(const char *what, const char *arg)
{
	fprintf(stderr, "provdesk: %s '%s'\nTry 'provdesk --help'.\n", what, arg);
	return 64;
}

int pd_cli_parse_globals(int argc, char **argv, pd_cli_globals *g)
{
	memset(g, 0, sizeof *g);
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
			pd_cli tmp = {.prog = "provdesk"};
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
				return global_usage("missing value for option", opt);
			if (!**dst)
				return global_usage("empty value for option", opt);
			continue;
		}
		if (eq)
			return global_usage("this option takes no value:", a);
		if (strcmp(a, "--demo") == 0)
			g->demo = true;
		else if (strcmp(a, "--noc") == 0)
			g->noc = true;
		else if (strcmp(a, "--json") == 0)
			g->json = true;
		else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			pd_cli_print_help(stdout);
			return 0;
		} else if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0) {
			printf("provdesk %s\n", PD_VERSION);
			return 0;
		} else
			return global_usage("unknown option", a);
	}
	g->argi = i;
	return -1;
}

void pd_cli_init(pd_cli *c, const pd_cli_globals *g)
{
	memset(c, 0, sizeof *c);
	c->prog = "provdesk";
	c->db_path = g->db_path;
	c->config_path = g->config_path;
	c->json = g->json;
	pd_actor_current(&c->actor);
}

int pd_cli_load(pd_cli *c)
{
	if (c->loaded)
		return 0;
	pd_err e;
	pd_err_clear(&e);
	if (pd_config_load(c->config_path, &c->cfg, &e) != PD_OK) {
		if (e.status == PD_OK)
			e.status = PD_E_CONFIG;
		pd_config_free(&c->cfg);
		return pd_cli_fail(c, &e);
	}
	if (pd_catalogue_load_default(c->cfg.config_dir, &c->cat, &e) != PD_OK) {
		pd_config_free(&c->cfg);
		if (e.status != PD_E_NOINPUT)
			e.status = PD_E_CONFIG;
		return pd_cli_fail(c, &e);
	}
	if (!c->db_path) {
		if (c->cfg.db_path && *c->cfg.db_path)
			c->db_path = c->cfg.db_path;
		else
			c->db_path = c->db_owned = pd_path_default_db();
	}
	c->loaded = true;
	return 0;
}

void pd_cli_free(pd_cli *c)
{
	if (c->store)
		store_close(c->store);
	c->store = NULL;
	if (c->loaded) {
		pd_catalogue_free(&c->cat);
		pd_config_free(&c->cfg);
	}
	free(c->db_owned);
	c->db_owned = NULL;
	c->loaded = false;
}

pd_store *pd_cli_store(pd_cli *c, pd_err *e)
{
	if (c->store)
		return c->store;
	if (!c->loaded) {
		pd_fail(e, PD_E_INTERNAL, NULL, "configuration not loaded");
		return NULL;
	}
	pd_store_opts o = {
	    .catalogue = &c->cat,
	    .internal_systems_limit = c->cfg.internal_systems_limit,
	    .busy_timeout_ms = 5000,
	    .read_only = false,
	};
	if (store_open(c->db_path, &o, &c->store, e) != PD_OK) {
		c->store = NULL;
		return NULL;
	}
	return c->store;
}

/* ---- errors and output ---- */

static void print_json_error(pd_cli *c, pd_status st, const char *field, int line, const char *msg)
{
	json_t *err = json_object();
	json_object_set_new(err, "code", json_string(pd_status_code(st)));
	json_object_set_new(err, "field", pd_json_str(field));
	if (line > 0)
		json_object_set_new(err, "line", json_integer(line));
	json_object_set_new(err, "message", json_string(msg));
	json_t *doc = json_object();
	json_object_set_new(doc, "error", err);
	pd_cli_print_json(c, doc);
}

int pd_cli_fail(pd_cli *c, const pd_err *e)
{
	pd_status st = e->status == PD_OK ? PD_E_INTERNAL : e->status;
	const char *msg = e->message[0] ? e->message : pd_status_message(st);
	fprintf(stderr, "%s: ", c->prog ? c->prog : "provdesk");
	/* Messages from files already say "path:line: field: …" (config,
	 * catalogue); do not repeat what they say. */
	char tag[96];
	snprintf(tag, sizeof tag, ":%d:", e->line);
	if (e->line > 0 && !strstr(msg, tag))
		fprintf(stderr, "line %d: ", e->line);
	snprintf(tag, sizeof tag, "%s: ", e->field);
	if (e->field[0] && !strstr(msg, tag))
		fprintf(stderr, "%s: ", e->field);
	fprintf(stderr, "%s\n", msg);
	if (c->json)
		print_json_error(c, st, e->field, e->line, msg);
	return pd_status_exit_code(st);
}

int pd_cli_failf(pd_cli *c, pd_status st, const char *field, const char *fmt, ...)
{
	pd_err e;
	pd_err_clear(&e);
	va_list ap;
	va_start(ap, fmt);
	pd_vfail(&e, st, field, fmt, ap);
	va_end(ap);
	return pd_cli_fail(c, &e);
}

__attribute__((format(printf, 3, 0))) static int vusage(pd_cli *c, const char *field,
							   const char *fmt, va_list ap)
{
	char msg[512];
	vsnprintf(msg, sizeof msg, fmt, ap);
	fprintf(stderr, "provdesk: %s\n", msg);
	if (c->json)
		print_json_error(c, PD_E_USAGE, field, 0, msg);
	return 64;
}

int pd_cli_usage(pd_cli *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = vusage(c, NULL, fmt, ap);
	va_end(ap);
	return rc;
}

int pd_cli_usage_field(pd_cli *c, const char *field, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = vusage(c, field, fmt, ap);
	va_end(ap);
	return rc;
}

void pd_cli_print_json(pd_cli *c, json_t *doc)
{
	(void)c;
	if (!doc)
		return;
	json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(doc);
}

/* ---- dispatch ---- */

static int cmd_lab_pbx(pd_cli *c, int argc, char **argv)
{
#ifdef PD_HAVE_LAB_PBX
	return pd_cli_lab_pbx(c, argc, argv);
#else
	(void)argc;
	(void)argv;
	return pd_cli_failf(c, PD_E_UNAVAILABLE, NULL, "lab-pbx is not available in this build");
#endif
}

static const pd_subcmd commands[] = {
    {"customer", pd_cli_customer_cmd},
    {"user", pd_cli_user_cmd},
    {"role", pd_cli_role_cmd},
    {"template", pd_cli_template_cmd},
    {"pbx", pd_cli_pbx_cmd},
    {"catalogue", pd_cli_catalogue_cmd},
    {"catalog", pd_cli_catalogue_cmd},
    {"audit", pd_cli_audit_cmd},
    {"outbox", pd_cli_outbox_cmd},
    {"import", pd_cli_import_cmd},
    {"billing", pd_cli_billing_cmd},
    {"lab-pbx", cmd_lab_pbx},
    {NULL, NULL},
};

int pd_cli_run(pd_cli *c, int argc, char **argv)
{
	if (argc < 1)
		return pd_cli_usage(c, "no command given; try 'provdesk --help'");
	if (strcmp(argv[0], "help") == 0) {
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
	for (const pd_subcmd *s = commands; s->name; s++)
		if (strcmp(s->name, argv[0]) == 0)
			return s->fn(c, argc, argv);
	return pd_cli_usage_field(c, NULL, "unknown command '%s'; try 'provdesk --help'", argv[0]);
}

int pd_cli_group(pd_cli *c, const char *group, const pd_subcmd *subs, int argc, char **argv,
                 const char *help)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		if (argc < 2) {
			fputs(help, stderr);
			return 64;
		}
		fputs(help, stdout);
		return 0;
	}
	if (pd_cli_is_secret_option(argv[1]))
		return pd_cli_refuse_secret(c, argv[1]);
	if (strcmp(argv[1], "--version") == 0) {
		printf("provdesk %s\n", PD_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "--json") == 0 && argc > 2) {
		c->json = true;
		argv[1] = argv[0];
		return pd_cli_group(c, group, subs, argc - 1, argv + 1, help);
	}
	for (const pd_subcmd *s = subs; s->name; s++)
		if (strcmp(s->name, argv[1]) == 0)
			return s->fn(c, argc - 1, argv + 1);
	return pd_cli_usage(c, "%s: unknown sub-command '%s'; try 'provdesk %s --help'", group,
	                    argv[1], group);
}

int pd_cli_main(int argc, char **argv)
{
	pd_cli_globals g;
	int rc = pd_cli_parse_globals(argc, argv, &g);
	if (rc >= 0)
		return rc;
	pd_cli c;
	pd_cli_init(&c, &g);
	if (g.argi >= argc) {
		pd_cli_print_help(stderr);
		return 64;
	}
	rc = pd_cli_run(&c, argc - g.argi, argv + g.argi);
	pd_cli_free(&c);
	fflush(stdout);
	if (ferror(stdout) && rc == 0) {
		fprintf(stderr, "provdesk: error writing to standard output\n");
		rc = 74;
	}
	return rc;
}

/* The command line's context (loading, the store on demand), the error and
 * JSON printers and the group dispatcher shared by every command
 * (docs/provdesk.1, COMMON BEHAVIOUR and EXIT STATUS). Global options and the
 * command table are dispatch.c's: this file calls no command, so the
 * commands and opts.c depend on it one way. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_internal.h"
#include "pd_build_config.h"
#include "provdesk/i18n.h"
#include "provdesk/paths.h"
#include "provdesk/pbx_driver.h"
#include "provdesk/util.h"

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
	pd_drivers_mark_supported(&c->cat); /* supported = a driver is registered */
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
		pd_fail(e, PD_E_INTERNAL, NULL, _("configuration not loaded"));
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

/* ---- secrets never on the command line ---- */

bool pd_cli_is_secret_option(const char *arg)
{
	static const char *const bad[] = {"--secret", "--password",      "--pass",
	                                  "--passwd", "--smtp-password", "--pbx-secret"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		size_t n = strlen(bad[i]);
		if (strncmp(arg, bad[i], n) == 0 && (arg[n] == 0 || arg[n] == '='))
			return true;
	}
	return false;
}

int pd_cli_refuse_secret(pd_cli *c, const char *arg)
{
	char name[64];
	const char *eq = strchr(arg, '=');
	size_t n = eq ? (size_t)(eq - arg) : strlen(arg);
	if (n >= sizeof name)
		n = sizeof name - 1;
	memcpy(name, arg, n);
	name[n] = 0;
	return pd_cli_usage_field(
	    c, "secret",
	    _("%s: a secret is never taken on the command line (it would show "
	      "in ps and in the shell history); use --secret-file FILE, "
	      "--secret-env VAR, or type it at the prompt"),
	    name);
}

/* ---- errors and output ---- */

/* With --json an error is one JSON document {"error":{code,field,message}}
 * on stderr, in place of the text line, so a script can parse what it
 * captured there; the same document also goes to stdout, where scripts
 * read the --json result. */
void pd_cli_json_error(pd_status st, const char *field, int line, const char *msg, bool also_stdout)
{
	json_t *err = json_object();
	json_object_set_new(err, "code", json_string(pd_status_code(st)));
	json_object_set_new(err, "field", pd_json_str(field));
	if (line > 0)
		json_object_set_new(err, "line", json_integer(line));
	json_object_set_new(err, "message", json_string(msg));
	json_t *doc = json_object();
	json_object_set_new(doc, "error", err);
	fflush(stdout);
	json_dumpf(doc, stderr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stderr);
	if (also_stdout) {
		json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
	}
	json_decref(doc);
}

int pd_cli_fail(pd_cli *c, const pd_err *e)
{
	pd_status st = e->status == PD_OK ? PD_E_INTERNAL : e->status;
	const char *msg = e->message[0] ? e->message : pd_status_message(st);
	if (c->json) {
		pd_cli_json_error(st, e->field, e->line, msg, true);
		return pd_status_exit_code(st);
	}
	fprintf(stderr, "%s: ", c->prog ? c->prog : "provdesk");
	/* Messages from files already say "path:line: field: …" (config,
	 * catalogue); do not repeat what they say. */
	char tag[96];
	snprintf(tag, sizeof tag, ":%d:", e->line);
	if (e->line > 0 && !strstr(msg, tag))
		fprintf(stderr, _("line %d: "), e->line);
	snprintf(tag, sizeof tag, "%s: ", e->field);
	if (e->field[0] && !strstr(msg, tag))
		fprintf(stderr, "%s: ", e->field);
	fprintf(stderr, "%s\n", msg);
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
	pd_vsnprintf(msg, sizeof msg, fmt, ap);
	if (c->json)
		pd_cli_json_error(PD_E_USAGE, field, 0, msg, true);
	else
		fprintf(stderr, "provdesk: %s\n", msg);
	return pd_status_exit_code(PD_E_USAGE);
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

/* ---- group dispatch (each group's file calls it) ---- */

int pd_cli_group(pd_cli *c, const char *group, const pd_subcmd *subs, int argc, char **argv,
                 const char *help)
{
	if (c->describe) {
		for (const pd_subcmd *s = subs; argc > 1 && s->name; s++)
			if (strcmp(s->name, argv[1]) == 0)
				return s->fn(c, argc - 1, argv + 1);
		c->describe->subs = subs;
		c->describe->group_argc = argc;
		return 0;
	}
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		if (argc < 2) {
			if (c->json)
				return pd_cli_usage(
				    c, _("%s: missing sub-command; try 'provdesk %s --help'"),
				    group, group);
			fputs(_(help), stderr);
			return pd_status_exit_code(PD_E_USAGE);
		}
		fputs(_(help), stdout);
		return 0;
	}
	if (pd_cli_is_secret_option(argv[1]))
		return pd_cli_refuse_secret(c, argv[1]);
	if (strcmp(argv[1], "--version") == 0) {
		printf("provdesk %s\n", PD_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "--json") == 0) {
		c->json = true;
		if (argc == 2)
			return pd_cli_usage(c,
			                    _("%s: missing sub-command; try 'provdesk %s --help'"),
			                    group, group);
		argv[1] = argv[0];
		return pd_cli_group(c, group, subs, argc - 1, argv + 1, help);
	}
	for (const pd_subcmd *s = subs; s->name; s++)
		if (strcmp(s->name, argv[1]) == 0)
			return s->fn(c, argc - 1, argv + 1);
	return pd_cli_usage(c, _("%s: unknown sub-command '%s'; try 'provdesk %s --help'"), group,
	                    argv[1], group);
}

/* The scriptable command line (docs/provdesk.1). One file per command group in
 * src/cli/; each command is `int fn(pd_cli *c, int argc, char **argv)`
 * returning a sysexits code, with argv[0] the command's own name. */
#ifndef PROVDESK_CLI_H
#define PROVDESK_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "provdesk/catalogue.h"
#include "provdesk/config.h"
#include "provdesk/error.h"
#include "provdesk/store.h"

typedef struct pd_cli {
	const char *prog;        /* "provdesk" */
	const char *db_path;     /* --db, else config, else XDG default */
	const char *config_path; /* --config or NULL */
	bool json;               /* --json */
	pd_config cfg;
	pd_catalogue cat;
	pd_store *store; /* opened on first pd_cli_store() */
	pd_actor actor;
	bool loaded;                      /* cfg and cat are valid */
	char *db_owned;                   /* db_path when computed here */
	struct pd_cli_describe *describe; /* shell completion only (src/cli/complete.c) */
} pd_cli;

/* Global options (before the command): docs/provdesk.1, GLOBAL OPTIONS. */
typedef struct {
	const char *db_path;     /* --db */
	const char *config_path; /* --config */
	const char *theme;       /* --theme */
	bool demo, noc, json;
	bool core_dumps; /* --core-dumps: leave core dumps as the system has them */
	bool no_mouse;   /* --no-mouse: the console ignores the mouse */
	int argi;        /* index of the command in argv; argc when none */
} pd_cli_globals;

/* Parses the global options. Returns -1 to go on, or an exit code after
 * printing --help/--version (0) or a usage error (64). */
int pd_cli_parse_globals(int argc, char **argv, pd_cli_globals *g);
/* Records the globals in *c; loads nothing yet (so --help always works). */
void pd_cli_init(pd_cli *c, const pd_cli_globals *g);
/* Loads the configuration and the catalogue (once). Returns 0, or the exit
 * code after printing the error (78 for a bad config or catalogue). Every
 * command's option parser calls it once its options are known to be valid. */
int pd_cli_load(pd_cli *c);
void pd_cli_free(pd_cli *c);
/* Runs one command; argv[0] is the command name ("customer"). */
int pd_cli_run(pd_cli *c, int argc, char **argv);
/* What provdesk writes for people passes the one sanitiser (pd_term_escape):
 * standard error from the start; standard output, before a command runs,
 * when it is a terminal and json is false (not for the console: curses
 * writes to the terminal itself). */
void pd_cli_guard_stderr(void);
void pd_cli_guard_stdout(bool json);
/* Top-level help text (stdout). */
void pd_cli_print_help(FILE *out);

/* Open the store on demand (creating/migrating it). NULL with *e filled. */
pd_store *pd_cli_store(pd_cli *c, pd_err *e);
/* Print an error (stderr; with --json also {"error":{code,field,message}} on
 * stdout) and return its exit code. */
int pd_cli_fail(pd_cli *c, const pd_err *e);
/* Usage error naming the option; returns 64. */
int pd_cli_usage(pd_cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print one JSON document on stdout and release it. */
void pd_cli_print_json(pd_cli *c, json_t *doc);

/* provdesk --demo (used by main): the demo database (data dir/demo.db, so a
 * demo never touches the real one) and its seeding: a few customers, one
 * linked to the Asterisk lab PBX at host:ami, two to the FreeSWITCH lab PBX
 * at host:esl, one to the BroadWorks lab XSP at host:xsi (0: that lab is
 * not running) (re-pointed on every run). */
typedef struct {
	int ami, esl, xsi;
} pd_cli_demo_ports;
char *pd_cli_demo_db_path(void);
pd_status pd_cli_demo_seed(pd_cli *c, const char *host, const pd_cli_demo_ports *ports,
                           const char *username, const char *secret, pd_err *e);

#endif

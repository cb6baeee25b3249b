/* Private to src/cli: the option parser, output helpers (aligned tables,
 * JSON of the entities) and the command groups' entry points. */
#ifndef PROVDESK_CLI_INTERNAL_H
#define PROVDESK_CLI_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "objects.h"
#include "provdesk/cli.h"
#include "provdesk/geo.h"
#include "provdesk/model.h"
#include "provdesk/store.h"

/* ---- option parsing ---- */
typedef enum {
	PD_OPT_FLAG,   /* --x */
	PD_OPT_VAL,    /* --x VALUE or --x=VALUE */
	PD_OPT_OPTVAL, /* --x or --x=VALUE (never takes the next argument) */
} pd_opt_kind;

typedef struct {
	const char *name; /* without the dashes: "product-type" */
	pd_opt_kind kind;
	const char **val; /* VAL/OPTVAL: receives the value ("" for a bare OPTVAL) */
	bool *flag;       /* set to true when present (any kind) */
} pd_opt;

/* The continue marker of pd_cli_parse (any exit code is >= 0). */
#define PD_CLI_CONTINUE (-1)

/* Parses options and positionals of one command. argv[0] is the command's
 * name ("customer create"). --json, --help/-h, `--` and the refusal of
 * --secret/--password are handled here. Returns PD_CLI_CONTINUE, or an exit
 * code when it printed help (0) or a usage error (64). */
int pd_cli_parse(pd_cli *c, const char *cmd, int argc, char **argv, const pd_opt *opts,
                 const char **pos, int min_pos, int max_pos, int *npos, const char *help);
/* The same for a command that takes platform fields (pbx add/update,
 * template add/update): --param KEY=VALUE and the long options named after
 * the catalogue's fields go into *params (params.c); --help also lists each
 * platform's fields. */
typedef struct {
	char *key;    /* the field: "enterprise_id" */
	char *value;  /* NULL for a bare yes/no option (--tls-verify, --no-tls-verify) */
	bool negated; /* --no-KEY */
	char opt[64]; /* how it was given, for messages: "--param group_id", "--group-id" */
} pd_cli_param;
typedef struct {
	pd_cli_param *v;
	size_t n;
} pd_cli_params;
int pd_cli_parse_params(pd_cli *c, const char *cmd, int argc, char **argv, const pd_opt *opts,
                        pd_cli_params *params, const char **pos, int min_pos, int max_pos,
                        int *npos, const char *help);
/* One option argv[*i] that no command option matched: --param or a field's
 * long option (moving *i past a value it takes). PD_CLI_CONTINUE, or the
 * exit code after a usage error (64: unknown option, missing value, a field
 * given twice, a secret). */
int pd_cli_param_option(pd_cli *c, const char *cmd, int argc, char **argv, int *i,
                        pd_cli_params *ps, const char *usage);
void pd_cli_params_free(pd_cli_params *ps);
/* The connection's own columns as the command's options gave them (NULL /
 * tls -1: not given), with the option that gave each, for messages. */
typedef struct {
	const char *host, *port, *username;
	int tls;
	const char *host_opt, *port_opt, *username_opt;
} pd_cli_columns;
/* Applies the fields for `platform`: host/port/tls/username into *col (an
 * explicit option for a field the platform lacks is refused too), the others
 * into *params_json as typed text for the core to check and type. PD_E_USAGE
 * naming the key for a field the platform does not have or one given twice
 * ("--param nosuch: platform freeswitch-esl has no field 'nosuch' (fields:
 * host, port, secret)"). Nothing is done for an unknown platform: the core's
 * check names it. */
pd_status pd_cli_params_apply(const pd_catalogue *cat, const pd_cli_params *ps,
                              const char *platform, pd_cli_columns *col, char **params_json,
                              pd_err *e);
/* Every platform's fields, for --help (loads the catalogue quietly). */
void pd_cli_params_help(pd_cli *c, FILE *out);
/* The platform's fields with their values, for --json ("fields": [{key,
 * label, type, required, value, default}]; a secret field says only
 * whether one is set). */
typedef struct {
	const char *host, *username, *params_json;
	int port;
	bool tls, secret_set;
} pd_cli_field_values;
json_t *pd_cli_fields_json(const pd_catalogue *cat, const char *platform,
                           const pd_cli_field_values *v);

/* True when `arg` is an attempt to pass a secret on the command line. */
bool pd_cli_is_secret_option(const char *arg);
int pd_cli_refuse_secret(pd_cli *c, const char *arg);

/* Integer option value in [min,max]; false after printing a usage error. */
bool pd_cli_int(pd_cli *c, const char *opt, const char *s, long min, long max, long *out);
/* Usage error naming `field` (for --json). Returns 64. */
int pd_cli_usage_field(pd_cli *c, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The --json error document on stderr (and stdout when also_stdout: a
 * command whose stdout already holds its own JSON result passes false). */
void pd_cli_json_error(pd_status st, const char *field, int line, const char *msg,
                       bool also_stdout);
/* Failure with a status/field/message built here. */
int pd_cli_failf(pd_cli *c, pd_status st, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- shared look-ups ---- */
pd_status pd_cli_geo(const pd_geo **g, pd_err *e);
/* Role by key or display name; "none"/"" gives *key NULL. */
pd_status pd_cli_role(const pd_catalogue *cat, const char *in, const char **key, pd_err *e);
/* Resolve CUSTOMER (tenant id, #rowid, name, else reference). */
pd_status pd_cli_customer(pd_cli *c, const char *id, pd_customer *out, pd_err *e);
/* The same when only the row id is wanted. A NULL id (no CUSTOMER given:
 * every customer) gives 0; the store is opened either way. */
pd_status pd_cli_customer_id(pd_cli *c, const char *id, int64_t *out, pd_err *e);
/* The PBX connection of a customer without its secret, and its recorded
 * live status (*has_st false when none; *st then stays zeroed). */
pd_status pd_cli_pbx_get(pd_cli *c, int64_t customer_id, pd_pbx *p, pd_pbx_status *st, bool *has_st,
                         pd_err *e);
/* The customer and its PBX connection (with its secret when asked).
 * PD_CLI_CONTINUE when both were loaded (the caller frees them), else the
 * exit code after printing the error (nothing left to free). */
int pd_cli_pbx_load(pd_cli *c, const char *id, bool with_secret, pd_customer *cu, pd_pbx *p);
/* Reads a secret from --secret-file / --secret-env / a no-echo prompt on a
 * terminal. *out NULL when none was given and stdin is not a terminal. */
pd_status pd_cli_read_secret(const char *file, const char *env, const char *prompt, char **out,
                             pd_err *e);

/* ---- output ---- */
typedef struct {
	size_t ncols;
	const char **heads;
	bool *right;  /* right-aligned columns (numbers) */
	char **cells; /* nrows * ncols */
	size_t nrows, cap;
} pd_table;
void pd_table_init(pd_table *t, size_t ncols, const char *const *heads, const bool *right);
/* Adds one row of ncols cells (copied; NULL prints as empty). */
void pd_table_row(pd_table *t, const char *const *cells);
void pd_table_print(const pd_table *t, FILE *out);
void pd_table_free(pd_table *t);

/* The users table of 'user list' and 'customer show' (the latter without the
 * DEVICE column); the caller prints and frees it. */
void pd_table_users(pd_table *t, const pd_catalogue *cat, const pd_user *u, size_t n, bool device);
/* Frees a user list from the store (the users and the array). */
void pd_cli_users_free(pd_user *u, size_t n);
/* What a link state means as a command's outcome (pbx resync, pbx status
 * --check): the one table from link state to status and so exit code. */
/* "trial (12 days left)" etc. */
void pd_cli_status_text(const pd_customer *c, pd_day today, char *out, size_t n);
/* The same from a status already computed (a grid row's). */
void pd_cli_status_fmt(pd_customer_status st, int days_left, char *out, size_t n);

/* ---- command groups ---- */
int pd_cli_customer_cmd(pd_cli *c, int argc, char **argv);
int pd_cli_user_cmd(pd_cli *c, int argc, char **argv);
int pd_cli_role_cmd(pd_cli *c, int argc, char **argv);
int pd_cli_template_cmd(pd_cli *c, int argc, char **argv);
int pd_cli_pbx_cmd(pd_cli *c, int argc, char **argv);
/* pbx status|resync|test (pbx_status.c, pbx_resync.c, pbx_test.c). */
int pd_cli_pbx_status_cmd(pd_cli *c, int argc, char **argv);
int pd_cli_pbx_resync_cmd(pd_cli *c, int argc, char **argv);
int pd_cli_pbx_test_cmd(pd_cli *c, int argc, char **argv);
int pd_cli_catalogue_cmd(pd_cli *c, int argc, char **argv);
int pd_cli_audit_cmd(pd_cli *c, int argc, char **argv);
int pd_cli_outbox_cmd(pd_cli *c, int argc, char **argv);
int pd_cli_import_cmd(pd_cli *c, int argc, char **argv);
int pd_cli_billing_cmd(pd_cli *c, int argc, char **argv);
int pd_cli_api_token_cmd(pd_cli *c, int argc, char **argv); /* api_token.c */
int pd_cli_lab_pbx(pd_cli *c, int argc, char **argv);       /* lab_pbx.c */
int pd_cli_serve(pd_cli *c, int argc, char **argv);         /* serve.c */

/* Group dispatch: argv[0] is the group, argv[1] the sub-command. */
typedef struct {
	const char *name;
	int (*fn)(pd_cli *c, int argc, char **argv);
} pd_subcmd;
int pd_cli_group(pd_cli *c, const char *group, const pd_subcmd *subs, int argc, char **argv,
                 const char *help);
/* The groups' sub-command tables: the dispatch and the top-level help. */
extern const pd_subcmd pd_cli_customer_subs[];
extern const pd_subcmd pd_cli_user_subs[];
extern const pd_subcmd pd_cli_role_subs[];
extern const pd_subcmd pd_cli_template_subs[];
extern const pd_subcmd pd_cli_pbx_subs[];
extern const pd_subcmd pd_cli_outbox_subs[];
extern const pd_subcmd pd_cli_billing_subs[];
extern const pd_subcmd pd_cli_api_token_subs[];

/* Shell completion (complete.c, the hidden `provdesk __complete WORD...`).
 * With c->describe set, the real dispatch runs without doing anything: a
 * group stops at a missing or unknown sub-command and records its table; a
 * command's option parser records its name and options and returns 0. So
 * what completes is what the parsers accept. */
struct pd_cli_describe {
	const char *cmd; /* the leaf: "customer show" */
	struct {
		char name[48];
		pd_opt_kind kind;
	} opts[48]; /* its options, copied (the parser's table is on its stack) */
	size_t n_opts;
	bool params;           /* also the platforms' field options */
	int argc;              /* the leaf's argc (its name and the words after it) */
	const pd_subcmd *subs; /* a group reached with no known sub-command */
	int group_argc;        /* that group's argc */
};
int pd_cli_complete(pd_cli *c, int argc, char **argv);
/* The top-level commands, in the order of the help; aliases skipped. */
const char *pd_cli_command_name(size_t i);

/* Writes all n bytes to fd, as they are (no sanitising: for our own text
 * and for what pd_term_escape already made safe); false on a write error. */
bool pd_cli_write_all(int fd, const char *s, size_t n);

/* A progress line on a terminal's standard error (progress.c): silent when
 * stderr is not a terminal or with --json. */
typedef struct {
	bool on, drawn;
	char label[48], phase[32], unit[16];
	uint64_t total; /* 0: unknown */
	int64_t start_ms, phase_ms, last_ms;
} pd_progress;
void pd_progress_begin(pd_progress *p, const pd_cli *c, const char *label, const char *unit);
/* A new phase ("checking", "writing") of total units, drawn at 0. */
void pd_progress_phase(pd_progress *p, const char *phase, uint64_t total);
void pd_progress_set(pd_progress *p, uint64_t done);
/* Clears the line. */
void pd_progress_end(pd_progress *p);

#endif

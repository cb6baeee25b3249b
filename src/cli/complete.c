/* The hidden `provdesk __complete WORD...`: what the bash completion
 * (data/provdesk.bash-completion) offers for the last WORD, the words before
 * it being the command line after "provdesk", already unquoted by the shell
 * script. Commands and sub-commands come from the dispatch tables, options
 * from the commands' own option parsers (run in describe mode, see
 * struct pd_cli_describe), customer names and references from the database,
 * opened read-only and only if it exists.
 *
 * Output: a first line "words" followed by one candidate per line (each
 * starts with the last WORD), or "files" and a second line with the text
 * before the file name in the word ("--db=" or empty): the shell completes
 * file names itself. Nothing is written to the database, a failure prints
 * "words" and no candidate, and the exit code is 0 (docs/architecture.md,
 * "Packaging"). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_internal.h"
#include "provdesk/paths.h"
#include "provdesk/util.h"

/* At most this many names of the database per completion: a shell shows
 * them all, and a prefix narrows them. */
#define COMPLETE_MAX_NAMES 200

/* The global options, as pd_cli_parse_globals (dispatch.c) accepts them;
 * tests/cli/completion.sh checks this list against `provdesk --help`. */
static const struct {
	const char *name;
	bool value;
} global_opts[] = {
    {"--db", true},    {"--config", true},    {"--theme", true}, {"--demo", false},
    {"--noc", false},  {"--no-mouse", false}, {"--json", false}, {"--core-dumps", false},
    {"--help", false}, {"--version", false},
};

typedef enum { POS_NONE, POS_CUSTOMER, POS_DELETED_CUSTOMER, POS_FILE, POS_SECTION } pos_kind;

/* What a command's first positional argument is (the usage lines of the
 * commands' help, which tests/cli/completion.sh compares with this table). */
static const struct {
	const char *cmd;
	pos_kind first;
} positionals[] = {
    {"customer show", POS_CUSTOMER},
    {"customer update", POS_CUSTOMER},
    {"customer delete", POS_CUSTOMER},
    {"customer restore", POS_DELETED_CUSTOMER},
    {"customer trial extend", POS_CUSTOMER},
    {"customer trial convert", POS_CUSTOMER},
    {"customer trial end", POS_CUSTOMER},
    {"user list", POS_CUSTOMER},
    {"user add", POS_CUSTOMER},
    {"user update", POS_CUSTOMER},
    {"user remove", POS_CUSTOMER},
    {"role assign", POS_CUSTOMER},
    {"pbx add", POS_CUSTOMER},
    {"pbx show", POS_CUSTOMER},
    {"pbx update", POS_CUSTOMER},
    {"pbx enable", POS_CUSTOMER},
    {"pbx disable", POS_CUSTOMER},
    {"pbx remove", POS_CUSTOMER},
    {"pbx status", POS_CUSTOMER},
    {"pbx resync", POS_CUSTOMER},
    {"pbx test", POS_CUSTOMER},
    {"audit", POS_CUSTOMER},
    {"outbox list", POS_CUSTOMER},
    {"import", POS_FILE},
    {"catalogue", POS_SECTION},
    {"catalog", POS_SECTION},
};

static bool starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* One candidate: printed when it starts with cur and holds no control byte
 * (a line per candidate). */
static void offer(const char *lead, const char *v, const char *cur)
{
	size_t k = strlen(lead);
	if (strncmp(cur, lead, k) != 0 || !starts(v, cur + k))
		return;
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return;
	printf("%s%s\n", lead, v);
}

static int files(const char *lead)
{
	printf("files\n%s\n", lead);
	return 0;
}

/* The themes: the built-in ones and each themes/NAME.theme of the data
 * search path's directory. */
static void offer_themes(const char *lead, const char *cur)
{
	offer(lead, "default", cur);
	offer(lead, "monochrome", cur);
	char *dir = pd_path_find_data(NULL, "themes");
	DIR *d = dir ? opendir(dir) : NULL;
	struct dirent *de;
	while (d && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n <= 6 || strcmp(de->d_name + n - 6, ".theme") != 0)
			continue;
		de->d_name[n - 6] = 0;
		if (strcmp(de->d_name, "default") && strcmp(de->d_name, "monochrome"))
			offer(lead, de->d_name, cur);
	}
	if (d)
		closedir(d);
	free(dir);
}

static void offer_customers(pd_cli *c, const char *cur, bool deleted)
{
	if (pd_cli_load(c) != 0 || access(c->db_path, R_OK) != 0)
		return;
	pd_store_opts o = {.catalogue = &c->cat, .read_only = true, .busy_timeout_ms = 500};
	pd_store *s = NULL;
	pd_err e;
	pd_err_clear(&e);
	if (store_open(c->db_path, &o, &s, &e) != PD_OK)
		return;
	char **v = NULL;
	size_t n = 0;
	if (store_customer_complete(s, cur, deleted, COMPLETE_MAX_NAMES, &v, &n, &e) == PD_OK)
		for (size_t i = 0; i < n; i++) {
			offer("", v[i], cur);
			free(v[i]);
		}
	free(v);
	store_close(s);
}

/* The value of a command's option: files, or the catalogue's keys. */
static int option_value(pd_cli *c, const char *opt, const char *lead, const char *cur)
{
	if (!strcmp(opt, "output") || !strcmp(opt, "secret-file") || !strcmp(opt, "file"))
		return files(lead);
	puts("words");
	if (!strcmp(opt, "product-type") || !strcmp(opt, "role") || !strcmp(opt, "platform")) {
		if (pd_cli_load(c) != 0)
			return 0;
		const pd_catalogue *cat = &c->cat;
		if (!strcmp(opt, "product-type"))
			for (size_t i = 0; i < cat->n_types; i++)
				offer(lead, cat->types[i].key, cur);
		else if (!strcmp(opt, "role"))
			for (size_t i = 0; i < cat->n_roles; i++)
				offer(lead, cat->roles[i].key, cur);
		else
			for (size_t i = 0; i < cat->n_platforms; i++)
				offer(lead, cat->platforms[i].key, cur);
	}
	return 0;
}

static bool takes_value(const struct pd_cli_describe *d, const char *name)
{
	for (size_t i = 0; i < d->n_opts; i++)
		if (strcmp(d->opts[i].name, name) == 0)
			return d->opts[i].kind == PD_OPT_VAL;
	return false;
}

static bool seen(char **v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

/* The platforms' fields as long options (params.c): --enterprise-id, and
 * --no-KEY for a yes/no field; never a secret (refused on the command
 * line), once each and not again when the command has it itself. */
static void offer_fields(pd_cli *c, const struct pd_cli_describe *d, const char *cur)
{
	char **v = NULL;
	size_t n = 0;
	offer("", "--param", cur);
	for (size_t p = 0; p < c->cat.n_platforms; p++) {
		const pd_platform *pl = &c->cat.platforms[p];
		for (size_t f = 0; f < pl->n_fields; f++) {
			const pd_platform_field *fd = &pl->fields[f];
			if (fd->secret)
				continue;
			for (int neg = 0; neg < 1 + (fd->type == PD_FIELD_BOOL); neg++) {
				char *o = xasprintf("--%s%s", neg ? "no-" : "", fd->key);
				for (char *q = o + 2; *q; q++)
					if (*q == '_')
						*q = '-';
				bool own = false;
				for (size_t i = 0; i < d->n_opts; i++)
					own = own || strcmp(d->opts[i].name, o + 2) == 0;
				if (own || seen(v, n, o)) {
					free(o);
					continue;
				}
				v = xrealloc(v, (n + 1) * sizeof *v);
				v[n++] = o;
				offer("", o, cur);
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void offer_commands(const char *cur)
{
	const char *name;
	for (size_t i = 0; (name = pd_cli_command_name(i)); i++)
		offer("", name, cur);
}

/* The leaf command's words w[0..n-1] (after its name), cur the last. */
static int complete_leaf(pd_cli *c, const struct pd_cli_describe *d, char **w, int n)
{
	const char *cur = w[n - 1];
	int np = 0;
	bool opts_done = false;
	for (int i = 0; i < n - 1; i++) {
		const char *a = w[i];
		if (opts_done || a[0] != '-' || a[1] == 0) {
			np++;
			continue;
		}
		if (!strcmp(a, "--")) {
			opts_done = true;
			continue;
		}
		if (a[1] != '-' || strchr(a, '='))
			continue;
		if (takes_value(d, a + 2)) {
			if (i + 1 == n - 1)
				return option_value(c, a + 2, "", cur);
			i++;
		}
	}
	if (!opts_done && starts(cur, "--") && strchr(cur, '=')) {
		const char *eq = strchr(cur, '=');
		char *lead = xasprintf("%.*s", (int)(eq - cur + 1), cur);
		char *name = xasprintf("%.*s", (int)(eq - cur - 2), cur + 2);
		int rc = option_value(c, name, lead, cur);
		free(name);
		free(lead);
		return rc;
	}
	bool want_opts = !opts_done && cur[0] == '-';
	pos_kind kind = POS_NONE;
	for (size_t i = 0; !want_opts && np == 0 && i < sizeof positionals / sizeof positionals[0];
	     i++)
		if (strcmp(positionals[i].cmd, d->cmd) == 0)
			kind = positionals[i].first;
	if (kind == POS_FILE)
		return files("");
	puts("words");
	if (want_opts) {
		for (size_t i = 0; i < d->n_opts; i++) {
			char *opt = xasprintf("--%s", d->opts[i].name);
			offer("", opt, cur);
			free(opt);
		}
		offer("", "--json", cur);
		offer("", "--help", cur);
		if (d->params && pd_cli_load(c) == 0)
			offer_fields(c, d, cur);
	} else if (kind == POS_CUSTOMER || kind == POS_DELETED_CUSTOMER) {
		offer_customers(c, cur, kind == POS_DELETED_CUSTOMER);
	} else if (kind == POS_SECTION) {
		static const char *const sections[] = {"product-types", "roles", "platforms",
		                                       "countries"};
		for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++)
			offer("", sections[i], cur);
	}
	return 0;
}

int pd_cli_complete(pd_cli *c, int argc, char **argv)
{
	char **w = argv + 1;
	int n = argc - 1;
	if (n < 1) {
		puts("words");
		return 0;
	}
	const char *cur = w[n - 1];
	/* the global options before the command */
	int i = 0;
	for (; i < n - 1; i++) {
		const char *a = w[i];
		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (a[0] != '-' || a[1] == 0)
			break;
		for (size_t k = 0; k < sizeof global_opts / sizeof global_opts[0]; k++) {
			if (!global_opts[k].value || strcmp(a, global_opts[k].name) != 0)
				continue;
			const char *name = global_opts[k].name;
			if (i + 1 == n - 1) {
				if (!strcmp(name, "--theme")) {
					puts("words");
					offer_themes("", cur);
					return 0;
				}
				return files("");
			}
			if (!strcmp(name, "--db"))
				c->db_path = w[i + 1];
			else if (!strcmp(name, "--config"))
				c->config_path = w[i + 1];
			i++;
		}
		if (starts(a, "--db="))
			c->db_path = a + 5;
		else if (starts(a, "--config="))
			c->config_path = a + 9;
	}
	if (i == n - 1) {
		if (cur[0] == '-') {
			if (starts(cur, "--db=") || starts(cur, "--config="))
				return files(starts(cur, "--db=") ? "--db=" : "--config=");
			if (starts(cur, "--theme=")) {
				puts("words");
				offer_themes("--theme=", cur);
				return 0;
			}
			puts("words");
			for (size_t k = 0; k < sizeof global_opts / sizeof global_opts[0]; k++)
				offer("", global_opts[k].name, cur);
			return 0;
		}
		puts("words");
		offer_commands(cur);
		return 0;
	}
	struct pd_cli_describe d;
	memset(&d, 0, sizeof d);
	c->describe = &d;
	bool help = !strcmp(w[i], "help");
	if (help && i + 1 == n - 1) {
		puts("words");
		offer_commands(cur);
		c->describe = NULL;
		return 0;
	}
	/* the command path up to the word before cur, through the real dispatch */
	int from = help ? i + 1 : i;
	pd_cli_run(c, n - 1 - from, w + from);
	c->describe = NULL;
	if (d.subs && d.group_argc == 1) {
		puts("words");
		for (const pd_subcmd *s = d.subs; s->name; s++)
			offer("", s->name, cur);
		return 0;
	}
	if (!d.cmd || help) {
		puts("words");
		return 0;
	}
	/* the leaf's own words: the last d.argc - 1 of those before cur, and cur */
	return complete_leaf(c, &d, w + (n - 1) - (d.argc - 1), d.argc);
}

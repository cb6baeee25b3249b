/* Option parsing shared by every command, and the look-ups that turn what a
 * user types (a country name, a role's display name, a customer name, a
 * secret file) into model values. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli_internal.h"
#include "pd_build_config.h"
#include "provdesk/i18n.h"
#include "provdesk/util.h"

/* The first line of a help text: "Usage: provdesk customer show ID|NAME". */
static void usage_line(const char *help, char *out, size_t n)
{
	const char *nl = strchr(help, '\n');
	size_t len = nl ? (size_t)(nl - help) : strlen(help);
	if (len >= n)
		len = n - 1;
	memcpy(out, help, len);
	out[len] = 0;
}

static const pd_opt *find_opt(const pd_opt *opts, const char *name, size_t n)
{
	for (const pd_opt *o = opts; o && o->name; o++)
		if (strlen(o->name) == n && strncmp(o->name, name, n) == 0)
			return o;
	return NULL;
}

int pd_cli_parse(pd_cli *c, const char *cmd, int argc, char **argv, const pd_opt *opts,
                 const char **pos, int min_pos, int max_pos, int *npos, const char *help)
{
	return pd_cli_parse_params(c, cmd, argc, argv, opts, NULL, pos, min_pos, max_pos, npos,
	                           help);
}

int pd_cli_parse_params(pd_cli *c, const char *cmd, int argc, char **argv, const pd_opt *opts,
                        pd_cli_params *params, const char **pos, int min_pos, int max_pos,
                        int *npos, const char *help)
{
	if (c->describe) {
		c->describe->cmd = cmd;
		struct pd_cli_describe *d = c->describe;
		for (const pd_opt *o = opts;
		     o && o->name && d->n_opts < sizeof d->opts / sizeof d->opts[0]; o++) {
			snprintf(d->opts[d->n_opts].name, sizeof d->opts[0].name, "%s", o->name);
			d->opts[d->n_opts++].kind = o->kind;
		}
		c->describe->params = params != NULL;
		c->describe->argc = argc;
		return 0;
	}
	int np = 0;
	bool opts_done = false;
	char usage[256];
	usage_line(_(help), usage, sizeof usage);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (opts_done || a[0] != '-' || a[1] == 0) {
			if (np >= max_pos)
				return pd_cli_usage(c, _("%s: unexpected argument '%s'\n%s"), cmd,
				                    a, usage);
			pos[np++] = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			opts_done = true;
			continue;
		}
		if (pd_cli_is_secret_option(a))
			return pd_cli_refuse_secret(c, a);
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(_(help), stdout);
			if (params)
				pd_cli_params_help(c, stdout);
			return 0;
		}
		if (strcmp(a, "--json") == 0) {
			c->json = true;
			continue;
		}
		if (strcmp(a, "--version") == 0) {
			printf("provdesk %s\n", PD_VERSION);
			return 0;
		}
		if (a[1] != '-')
			return pd_cli_usage_field(c, NULL, _("%s: unknown option '%s'\n%s"), cmd, a,
			                          usage);
		const char *name = a + 2;
		const char *eq = strchr(name, '=');
		size_t n = eq ? (size_t)(eq - name) : strlen(name);
		const pd_opt *o = find_opt(opts, name, n);
		if (!o && params) {
			int rc = pd_cli_param_option(c, cmd, argc, argv, &i, params, usage);
			if (rc != PD_CLI_CONTINUE)
				return rc;
			continue;
		}
		if (!o)
			return pd_cli_usage_field(c, NULL, _("%s: unknown option '--%.*s'\n%s"),
			                          cmd, (int)n, name, usage);
		switch (o->kind) {
		case PD_OPT_FLAG:
			if (eq)
				return pd_cli_usage(c, _("%s: option '--%s' takes no value"), cmd,
				                    o->name);
			break;
		case PD_OPT_VAL:
			if (eq)
				*o->val = eq + 1;
			else if (i + 1 < argc && !(argv[i + 1][0] == '-' && argv[i + 1][1] == '-'))
				*o->val = argv[++i];
			else
				return pd_cli_usage(c, _("%s: option '--%s' needs a value"), cmd,
				                    o->name);
			break;
		case PD_OPT_OPTVAL:
			*o->val = eq ? eq + 1 : "";
			break;
		}
		if (o->flag)
			*o->flag = true;
	}
	if (np < min_pos)
		return pd_cli_usage(c, _("%s: missing argument\n%s"), cmd, usage);
	if (npos)
		*npos = np;
	int rc = pd_cli_load(c);
	return rc ? rc : PD_CLI_CONTINUE;
}

bool pd_cli_int(pd_cli *c, const char *opt, const char *s, long min, long max, long *out)
{
	char *end;
	errno = 0;
	long v = s && *s ? strtol(s, &end, 10) : 0;
	if (!s || !*s || errno || *end || v < min || v > max) {
		pd_cli_usage_field(c, opt,
		                   _("%s: expected a whole number from %ld to %ld, got '%s'"), opt,
		                   min, max, s ? s : "");
		return false;
	}
	*out = v;
	return true;
}

/* ---- look-ups ---- */

pd_status pd_cli_geo(const pd_geo **g, pd_err *e)
{
	return pd_geo_get(g, e);
}

pd_status pd_cli_role(const pd_catalogue *cat, const char *in, const char **key, pd_err *e)
{
	return pd_role_resolve(cat, in, key, e);
}

pd_status pd_cli_customer(pd_cli *c, const char *id, pd_customer *out, pd_err *e)
{
	pd_store *s = pd_cli_store(c, e);
	if (!s)
		return e->status ? e->status : PD_E_INTERNAL;
	return pd_customer_resolve(s, id, out, e);
}

pd_status pd_cli_customer_id(pd_cli *c, const char *id, int64_t *out, pd_err *e)
{
	*out = 0;
	if (!id)
		return pd_cli_store(c, e) ? PD_OK : e->status ? e->status : PD_E_INTERNAL;
	pd_customer cu;
	pd_status st = pd_cli_customer(c, id, &cu, e);
	if (st != PD_OK)
		return st;
	*out = cu.id;
	pd_customer_free(&cu);
	return PD_OK;
}

int pd_cli_pbx_load(pd_cli *c, const char *id, bool with_secret, pd_customer *cu, pd_pbx *p)
{
	pd_err e;
	pd_err_clear(&e);
	if (pd_cli_customer(c, id, cu, &e) != PD_OK)
		return pd_cli_fail(c, &e);
	memset(p, 0, sizeof *p);
	if (store_pbx_get(c->store, cu->id, with_secret, p, &e) != PD_OK) {
		/* the callers only free what a successful load filled */
		int rc = e.status == PD_E_NOTFOUND
		             ? pd_cli_failf(c, PD_E_NOTFOUND, "pbx",
		                            _("customer \"%s\" has no PBX connection (add one with "
		                              "\"provdesk pbx add\")"),
		                            cu->name)
		             : pd_cli_fail(c, &e);
		pd_customer_free(cu);
		return rc;
	}
	return PD_CLI_CONTINUE;
}

pd_status pd_cli_pbx_get(pd_cli *c, int64_t customer_id, pd_pbx *p, pd_pbx_status *st, bool *has_st,
                         pd_err *e)
{
	return pd_pbx_get_public(c->store, customer_id, p, st, has_st, e);
}

/* ---- secrets ---- */

static char *read_line_fd(int fd)
{
	pd_buf b = {0};
	char ch;
	for (;;) {
		ssize_t r = read(fd, &ch, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || ch == '\n')
			break;
		pd_buf_addc(&b, ch);
	}
	return pd_buf_steal(&b);
}

static void strip_newline(char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = 0;
}

pd_status pd_cli_read_secret(const char *file, const char *env, const char *prompt, char **out,
                             pd_err *e)
{
	*out = NULL;
	if (file && env)
		return pd_fail(e, PD_E_USAGE, "secret",
		               _("give --secret-file or --secret-env, not both"));
	if (file) {
		char *s = NULL;
		int err = pd_read_file(file, 65536, &s, NULL);
		if (err)
			return pd_fail(e, PD_E_NOINPUT, "secret_file", _("cannot read %s: %s"),
			               file, strerror(err));
		strip_newline(s);
		if (!*s) {
			free(s);
			return pd_fail(e, PD_E_INVALID, "secret_file", _("%s is empty"), file);
		}
		*out = s;
		return PD_OK;
	}
	if (env) {
		const char *v = getenv(env);
		if (!v || !*v)
			return pd_fail(e, PD_E_NOINPUT, "secret_env",
			               _("environment variable %s is not set or empty"), env);
		*out = xstrdup(v);
		return PD_OK;
	}
	if (!isatty(STDIN_FILENO))
		return PD_OK;
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		fd = STDIN_FILENO;
	struct termios old, quiet;
	bool restore = tcgetattr(fd, &old) == 0;
	if (restore) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		quiet.c_lflag |= ECHONL;
		tcsetattr(fd, TCSAFLUSH, &quiet);
	}
	if (write(fd, prompt, strlen(prompt)) < 0) {
		/* the prompt is a courtesy; reading still works */
	}
	char *s = read_line_fd(fd);
	if (restore)
		tcsetattr(fd, TCSAFLUSH, &old);
	if (fd != STDIN_FILENO)
		close(fd);
	strip_newline(s);
	if (!*s) {
		free(s);
		return PD_OK;
	}
	*out = s;
	return PD_OK;
}

/* provdesk.conf (docs/user-guide.md, Configuration) through inih. inih is built without line
 * numbers in its handler (INI_HANDLER_LINENO 0), so lines come through our own reader, which also
 * sees section headers: an unknown section is reported even when it has no key. The first error
 * stops the load; the program refuses to start rather than guess. */
#include "provdesk/config.h"

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pd_build_config.h"

#include "provdesk/i18n.h"
#include "provdesk/model.h"
#include "provdesk/paths.h"
#include "provdesk/util.h"

typedef struct {
	pd_config *c;
	pd_err *e;
	const char *path;
	FILE *f;
	int line;
	bool failed;
	/* line each key was first set on, to refuse a key given twice */
	int seen[32];
	char *linebuf;
	size_t linecap;
} loader;

#define KEY_LIST(X)                                                                                \
	X(0, "database", "path")                                                                   \
	X(1, "smtp", "url")                                                                        \
	X(2, "smtp", "starttls")                                                                   \
	X(3, "smtp", "from")                                                                       \
	X(4, "smtp", "username")                                                                   \
	X(5, "smtp", "password_file")                                                              \
	X(6, "trial", "default_days")                                                              \
	X(7, "customers", "internal_systems_limit")                                                \
	X(8, "pbx", "ping_interval")                                                               \
	X(9, "pbx", "backoff_max")                                                                 \
	X(10, "ui", "theme")                                                                       \
	X(11, "invitations", "activation_url")                                                     \
	X(12, "invitations", "token_days")                                                         \
	X(13, "pbx", "max_calls_per_link")                                                         \
	X(14, "pbx", "max_channels_per_link")                                                      \
	X(15, "pbx", "max_call_age")                                                               \
	X(16, "pbx", "max_message_kb")                                                             \
	X(17, "customers", "import_max_mb")                                                        \
	X(18, "pbx", "max_users_per_link")                                                         \
	X(19, "ui", "mouse")                                                                       \
	X(20, "api", "listen")                                                                     \
	X(21, "api", "cert")                                                                       \
	X(22, "api", "key")                                                                        \
	X(23, "api", "allow_plain")                                                                \
	X(24, "serve", "resync_interval")                                                          \
	X(25, "serve", "idle_exit")

static const struct {
	const char *section, *key;
} known_keys[] = {
#define X(i, s, k) {s, k},
    KEY_LIST(X)
#undef X
};
#define N_KEYS (sizeof known_keys / sizeof known_keys[0])
_Static_assert(N_KEYS <= 32, "loader.seen has a slot per key");

static const char *const sections[] = {"database", "smtp",        "trial", "customers", "pbx",
                                       "ui",       "invitations", "api",   "serve"};

static bool fail(loader *l, const char *section, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static bool fail(loader *l, const char *section, const char *key, const char *fmt, ...)
{
	if (l->failed)
		return false;
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	pd_vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	char field[64];
	if (section && key)
		snprintf(field, sizeof field, "%s.%s", section, key);
	else
		snprintf(field, sizeof field, "%s", section ? section : "");
	if (*field)
		pd_fail_line(l->e, PD_E_CONFIG, l->line, field, "%s:%d: %s: %s", l->path, l->line,
		             field, msg);
	else
		pd_fail_line(l->e, PD_E_CONFIG, l->line, NULL, "%s:%d: %s", l->path, l->line, msg);
	l->failed = true;
	return false;
}

/* Strict integer in [lo, hi]. */
static bool int_value(loader *l, const char *s, const char *k, const char *v, int lo, int hi,
                      int *out)
{
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (!*v || *end || errno)
		return fail(l, s, k, _("'%s' is not a whole number (expected %d to %d)"), v, lo,
		            hi);
	if (n < lo || n > hi)
		return fail(l, s, k, _("%ld is out of range (expected %d to %d)"), n, lo, hi);
	*out = (int)n;
	return true;
}

/* ~/ is the home directory; a relative path is relative to the config file,
 * so the file means the same whatever the current directory. */
static char *resolve_path(loader *l, const char *v)
{
	if (v[0] == '~' && v[1] == '/') {
		const char *home = getenv("HOME");
		return xasprintf("%s%s", home ? home : "", v + 1);
	}
	if (v[0] == '/' || !l->c->config_dir)
		return xstrdup(v);
	return xasprintf("%s/%s", l->c->config_dir, v);
}

/* "Name <addr@example.com>" or "addr@example.com". */
static bool check_from(loader *l, const char *v)
{
	const char *lt = strrchr(v, '<');
	char *addr;
	if (lt) {
		const char *gt = strchr(lt, '>');
		if (!gt || gt[1])
			return fail(l, "smtp", "from",
			            _("expected 'Name <address@example.com>' or an address"));
		addr = xstrndup(lt + 1, (size_t)(gt - lt - 1));
	} else {
		addr = xstrdup(v);
	}
	pd_err e2;
	bool ok = pd_check_email(addr, "smtp.from", &e2) == PD_OK;
	free(addr);
	if (!ok)
		return fail(l, "smtp", "from", "%s", e2.message);
	if (strpbrk(v, "\r\n"))
		return fail(l, "smtp", "from", _("must be on one line"));
	return true;
}

/* The authority of smtp:// or smtps:// URL (after the scheme): a port, when
 * given, is 1-65535. "[v6]:port" and "user@host:port" are understood. */
static bool check_url_port(loader *l, const char *auth)
{
	size_t n = strcspn(auth, "/?#");
	char *a = xstrndup(auth, n);
	char *host = strrchr(a, '@') ? strrchr(a, '@') + 1 : a;
	char *colon = NULL;
	if (*host == '[') {
		char *rb = strchr(host, ']');
		if (rb && rb[1] == ':')
			colon = rb + 1;
	} else
		colon = strchr(host, ':');
	bool ok = true;
	if (colon && (colon == host || colon[-1] == '@'))
		ok = fail(l, "smtp", "url", _("'%s' has no host"), auth);
	else if (colon) {
		const char *p = colon + 1;
		long port = 0;
		bool digits = *p != 0;
		for (; *p && digits; p++) {
			digits = *p >= '0' && *p <= '9';
			if (digits && port <= 65535)
				port = port * 10 + (*p - '0');
		}
		if (!digits || port < 1 || port > 65535)
			ok = fail(l, "smtp", "url", _("bad port '%s' (expected 1 to 65535)"),
			          colon + 1);
	}
	free(a);
	return ok;
}

/* The password file holds a secret: refuse it when group or others may read
 * it, naming the file and its mode. A missing file is reported when a
 * message is sent (pd_config_smtp_password), as before. */
static bool check_secret_mode(loader *l, const char *path, const char *section, const char *key)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return true;
	if (!S_ISREG(st.st_mode))
		return fail(l, section, key, _("%s is not a regular file"), path);
	if (st.st_mode & 0044)
		return fail(l, section, key,
		            _("%s: mode %04o, must not be readable by %s (chmod 600 %s)"), path,
		            (unsigned)(st.st_mode & 07777),
		            (st.st_mode & 0004) ? _("others") : _("its group"), path);
	return true;
}

/* A theme name that names no theme: the built-in ones, else themes/NAME.theme
 * in the data search path (as src/ui/theme.c looks). */
static bool theme_exists(const pd_config *c, const char *name)
{
	if (!strcmp(name, "default") || !strcmp(name, "monochrome"))
		return true;
	char *rel = xasprintf("themes/%s.theme", name);
	char *path = pd_path_find_data(c->config_dir, rel);
	free(rel);
	free(path);
	return path != NULL;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	loader *l = user;
	pd_config *c = l->c;
	if (l->failed)
		return 0;
	if (!*section)
		return fail(l, name, NULL,
		            _("key outside a section (put it under [database], [smtp]…)"));
	if (!strcmp(section, "smtp") && !strcmp(name, "password"))
		return fail(l, "smtp", "password",
		            _("the SMTP password never goes in this file: write it alone in a file "
		              "readable only by you and set password_file = PATH"));
	int idx = -1;
	for (size_t i = 0; i < N_KEYS; i++)
		if (!strcmp(known_keys[i].section, section) && !strcmp(known_keys[i].key, name))
			idx = (int)i;
	if (idx < 0) {
		pd_buf b = {0};
		for (size_t i = 0; i < N_KEYS; i++)
			if (!strcmp(known_keys[i].section, section))
				pd_buf_printf(&b, "%s%s", b.len ? ", " : "", known_keys[i].key);
		fail(l, section, name, _("unknown key (keys of [%s]: %s)"), section,
		     b.s ? b.s : "");
		pd_buf_free(&b);
		return 0;
	}
	if (l->seen[idx])
		return fail(l, section, name, _("given twice (first on line %d)"), l->seen[idx]);
	l->seen[idx] = l->line;

	const char *v = value;
	switch (idx) {
	case 0:
		if (!*v)
			return fail(l, section, name, _("must not be empty"));
		free(c->db_path);
		c->db_path = resolve_path(l, v);
		break;
	case 1:
		if (*v && strncmp(v, "smtp://", 7) && strncmp(v, "smtps://", 8))
			return fail(
			    l, section, name,
			    _("'%s' must start with smtp:// or smtps:// (or be empty to keep "
			      "invitations in the outbox)"),
			    v);
		if (*v && !v[strncmp(v, "smtp://", 7) ? 8 : 7])
			return fail(l, section, name, _("'%s' has no host"), v);
		if (*v && !check_url_port(l, v + (strncmp(v, "smtp://", 7) ? 8 : 7)))
			return 0;
		pd_set_str(&c->smtp_url, *v ? v : NULL);
		break;
	case 2:
		if (!strcmp(v, "off"))
			c->smtp_starttls = PD_STARTTLS_OFF;
		else if (!strcmp(v, "try"))
			c->smtp_starttls = PD_STARTTLS_TRY;
		else if (!strcmp(v, "required"))
			c->smtp_starttls = PD_STARTTLS_REQUIRED;
		else
			return fail(l, section, name, _("'%s' is not one of off, try, required"),
			            v);
		break;
	case 3:
		if (!check_from(l, v))
			return 0;
		pd_set_str(&c->smtp_from, v);
		break;
	case 4:
		pd_set_str(&c->smtp_username, *v ? v : NULL);
		break;
	case 5:
		free(c->smtp_password_file);
		c->smtp_password_file = *v ? resolve_path(l, v) : NULL;
		if (c->smtp_password_file &&
		    !check_secret_mode(l, c->smtp_password_file, "smtp", "password_file"))
			return 0;
		break;
	case 6:
		return int_value(l, section, name, v, 1, 365, &c->trial_default_days);
	case 7:
		return int_value(l, section, name, v, 0, 1000, &c->internal_systems_limit);
	case 18:
		return int_value(l, section, name, v, 100, 1000000, &c->pbx_max_users);
	case 19:
		if (!strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true"))
			c->ui_mouse = true;
		else if (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "false"))
			c->ui_mouse = false;
		else
			return fail(l, section, name, _("'%s' is not on or off"), v);
		break;
	case 17:
		return int_value(l, section, name, v, 1, 4096, &c->import_max_mb);
	case 20: /* ADDR:PORT; pd_api_start checks the address when it binds */
		if (*v && !strchr(v, ':'))
			return fail(l, section, name,
			            _("'%s' is not ADDR:PORT (e.g. 127.0.0.1:8443)"), v);
		pd_set_str(&c->api_listen, *v ? v : NULL);
		break;
	case 21:
	case 22: {
		char **dst = idx == 21 ? &c->api_cert : &c->api_key;
		free(*dst);
		*dst = *v ? resolve_path(l, v) : NULL;
		if (idx == 22 && c->api_key && !check_secret_mode(l, c->api_key, "api", "key"))
			return 0;
		break;
	}
	case 23:
		if (!strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true"))
			c->api_allow_plain = true;
		else if (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "false"))
			c->api_allow_plain = false;
		else
			return fail(l, section, name, _("'%s' is not yes or no"), v);
		break;
	case 8:
		return int_value(l, section, name, v, 5, 3600, &c->pbx_ping_interval);
	case 9:
		return int_value(l, section, name, v, 1, 3600, &c->pbx_backoff_max);
	case 10: {
		bool ok = *v && strlen(v) <= 64;
		for (const char *p = v; ok && *p; p++)
			ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			     (*p >= '0' && *p <= '9') || *p == '-' || *p == '_';
		if (!ok)
			return fail(l, section, name,
			            _("'%s' is not a theme name (letters, digits, - and _)"), v);
		pd_set_str(&c->ui_theme, v);
		break; /* that the theme exists is checked at the end (check_theme) */
	}
	case 11: {
		pd_err ue;
		if (*v && pd_check_activation_url(v, &ue) != PD_OK) {
			/* the message without its field prefix: fail() adds file:line: field */
			return fail(l, section, name, "%s", ue.message);
		}
		pd_set_str(&c->invite_activation_url, *v ? v : NULL);
		break;
	}
	case 12:
		return int_value(l, section, name, v, 1, 90, &c->invite_token_days);
	case 13:
		return int_value(l, section, name, v, 10, 1000000, &c->pbx_max_calls);
	case 14:
		return int_value(l, section, name, v, 10, 2000000, &c->pbx_max_channels);
	case 15:
		return int_value(l, section, name, v, 60, 7 * 86400, &c->pbx_max_call_age);
	case 16:
		return int_value(l, section, name, v, 64, 16384, &c->pbx_max_message_kb);
	case 24: /* 0 = no scheduled resync; at most a week */
		return int_value(l, section, name, v, 0, 7 * 86400, &c->serve_resync_interval);
	case 25:
		return int_value(l, section, name, v, 1, 86400, &c->serve_idle_exit);
	}
	return 1;
}

/* inih's line source: counts lines and checks section names. */
static char *reader(char *str, int num, void *stream)
{
	loader *l = stream;
	if (l->failed)
		return NULL;
	ssize_t n = getline(&l->linebuf, &l->linecap, l->f);
	if (n < 0)
		return NULL;
	l->line++;
	if (n > num - 1) {
		fail(l, NULL, NULL, _("line too long (at most %d characters)"), num - 2);
		return NULL;
	}
	const char *nul = memchr(l->linebuf, '\0', (size_t)n);
	if (nul) {
		/* a NUL would cut the value short without a word */
		fail(l, NULL, NULL, _("NUL byte at column %zu: a configuration file is text"),
		     (size_t)(nul - l->linebuf) + 1);
		return NULL;
	}
	memcpy(str, l->linebuf, (size_t)n + 1);
	const char *p = str;
	if (l->line == 1 && !strncmp(p, "\xEF\xBB\xBF", 3))
		p += 3;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '[') {
		const char *end = strchr(p, ']');
		if (!end) {
			fail(l, NULL, NULL, _("section header without ']'"));
			return NULL;
		}
		char sec[64];
		snprintf(sec, sizeof sec, "%.*s", (int)(end - p - 1), p + 1);
		bool known = false;
		for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++)
			known = known || !strcmp(sections[i], sec);
		if (!known) {
			fail(l, sec, NULL,
			     _("unknown section [%s] (sections: database, smtp, trial, customers, "
			       "pbx, ui, invitations, api, serve)"),
			     sec);
			return NULL;
		}
	}
	return str;
}

void pd_config_defaults(pd_config *c)
{
	memset(c, 0, sizeof *c);
	c->config_dir = pd_path_config_dir();
	c->db_path = pd_path_default_db();
	c->smtp_starttls = PD_STARTTLS_TRY;
	c->smtp_from = xstrdup("Reseller Support <support@reseller.example>");
	c->trial_default_days = 30;
	c->internal_systems_limit = 1;
	c->import_max_mb = 64;
	c->pbx_ping_interval = PD_PBX_PING_INTERVAL_DEFAULT;
	c->pbx_backoff_max = 60;
	c->pbx_max_calls = PD_PBX_DEFAULT_MAX_CALLS;
	c->pbx_max_channels = PD_PBX_DEFAULT_MAX_CHANNELS;
	c->pbx_max_users = PD_PBX_DEFAULT_MAX_USERS;
	c->pbx_max_call_age = PD_PBX_DEFAULT_MAX_CALL_AGE;
	c->pbx_max_message_kb = PD_PBX_DEFAULT_MAX_MESSAGE_KB;
	c->ui_theme = xstrdup("default");
	c->ui_mouse = true;
	c->invite_token_days = 7;
	c->serve_resync_interval = PD_SERVE_RESYNC_INTERVAL_DEFAULT;
	c->serve_idle_exit = PD_SERVE_IDLE_EXIT_DEFAULT;
}

void pd_config_free(pd_config *c)
{
	if (!c)
		return;
	free(c->path);
	free(c->config_dir);
	free(c->db_path);
	free(c->smtp_url);
	free(c->smtp_from);
	free(c->smtp_username);
	free(c->smtp_password_file);
	free(c->ui_theme);
	free(c->invite_activation_url);
	free(c->api_listen);
	free(c->api_cert);
	free(c->api_key);
	memset(c, 0, sizeof *c);
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

/* The lines of f into *out; the first error stops it. */
static pd_status parse_stream(FILE *f, const char *label, pd_config *out, pd_err *e)
{
	loader l = {.c = out, .e = e, .path = label, .f = f};
	int r = ini_parse_stream(reader, &l, handler, &l);
	free(l.linebuf);
	if (!l.failed && r == 0 && l.seen[10] && !theme_exists(out, out->ui_theme)) {
		l.line = l.seen[10];
		fail(&l, "ui", "theme",
		     _("no theme '%s' (built-in: default, monochrome; else themes/%s.theme in the "
		       "configuration or data directory)"),
		     out->ui_theme, out->ui_theme);
	}
	if (!l.failed && ferror(f))
		fail(&l, NULL, NULL, _("read error"));
	if (!l.failed && r != 0) {
		/* inih's own syntax error (a line with no '='): r is its line. */
		l.line = r > 0 ? r : l.line;
		fail(&l, NULL, NULL,
		     _("syntax error: expected 'key = value', '[section]' or a comment"));
	}
	return l.failed ? PD_E_CONFIG : PD_OK;
}

pd_status pd_config_load(const char *path, pd_config *out, pd_err *e)
{
	pd_config_defaults(out);
	char *file;
	if (path) {
		file = xstrdup(path);
		free(out->config_dir);
		out->config_dir = dir_of(path);
	} else {
		file = xasprintf("%s/provdesk.conf", out->config_dir);
	}
	FILE *f = fopen(file, "r");
	if (!f) {
		int err = errno;
		if (!path && err == ENOENT) {
			free(file);
			return PD_OK; /* the file is optional: built-in defaults */
		}
		pd_status st = path ? PD_E_NOINPUT : PD_E_CONFIG;
		pd_fail(e, st, "config", _("cannot read the configuration file %s: %s"), file,
		        strerror(err));
		free(file);
		pd_config_free(out);
		return st;
	}
	struct stat st;
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f);
		pd_fail(e, path ? PD_E_NOINPUT : PD_E_CONFIG, "config",
		        _("cannot read the configuration file %s: it is a directory"), file);
		free(file);
		pd_config_free(out);
		return path ? PD_E_NOINPUT : PD_E_CONFIG;
	}
	pd_status r = parse_stream(f, file, out, e);
	fclose(f);
	if (r != PD_OK) {
		free(file);
		pd_config_free(out);
		return r;
	}
	out->path = file;
	return PD_OK;
}

pd_status pd_config_load_string(const char *name, const char *text, pd_config *out, pd_err *e)
{
	pd_config_defaults(out);
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	if (!f) {
		pd_config_free(out);
		return pd_fail(e, PD_E_INTERNAL, "config", _("cannot read %s: %s"), name,
		               strerror(errno));
	}
	pd_status r = parse_stream(f, name, out, e);
	fclose(f);
	if (r != PD_OK)
		pd_config_free(out);
	return r;
}

char *pd_config_smtp_password(const pd_config *c, pd_err *e)
{
	if (e)
		pd_err_clear(e);
	if (!c->smtp_password_file || !*c->smtp_password_file)
		return NULL;
	FILE *f = fopen(c->smtp_password_file, "r");
	if (!f) {
		pd_fail(e, PD_E_NOINPUT, "smtp.password_file",
		        _("cannot read smtp.password_file %s: %s"), c->smtp_password_file,
		        strerror(errno));
		return NULL;
	}
	/* chmod'ed after the start: still refused before it is read */
	struct stat fs;
	if (fstat(fileno(f), &fs) == 0 && (fs.st_mode & 0044)) {
		fclose(f);
		pd_fail(e, PD_E_CONFIG, "smtp.password_file",
		        _("smtp.password_file %s: mode %04o, must not be readable by %s"),
		        c->smtp_password_file, (unsigned)(fs.st_mode & 07777),
		        (fs.st_mode & 0004) ? _("others") : _("its group"));
		return NULL;
	}
	/* unbuffered into one block: no stdio buffer or grown copy is left
	 * in the heap with the password in it */
	setvbuf(f, NULL, _IONBF, 0);
	char *s = xmalloc(4097);
	size_t got = 0, r;
	while (got < 4096 && (r = fread(s + got, 1, 4096 - got, f)) > 0)
		got += r;
	int rerr = ferror(f) ? EIO : 0;
	s[got] = 0;
	fclose(f);
	if (rerr) {
		pd_secret_free(s);
		pd_fail(e, PD_E_NOINPUT, "smtp.password_file",
		        _("cannot read smtp.password_file %s"), c->smtp_password_file);
		return NULL;
	}
	size_t n = strlen(s);
	if (n && s[n - 1] == '\n')
		s[--n] = 0;
	if (n && s[n - 1] == '\r')
		s[--n] = 0;
	return s;
}

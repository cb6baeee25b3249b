/* gettext set-up (include/provdesk/i18n.h; docs/architecture.md,
 * "Translations"). */
#include "provdesk/i18n.h"

#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pd_build_config.h"
#include "provdesk/util.h"

/* True when `path` is inside the build tree (a program built there and run
 * uninstalled: the .mo files are in the tree's po/ folder, not installed). */
static bool under_build_root(const char *path)
{
	char root[PATH_MAX];
	if (!realpath(PD_BUILD_ROOT, root))
		return false;
	size_t n = strlen(root);
	return strncmp(path, root, n) == 0 && path[n] == '/';
}

char *pd_i18n_locale_dir(void)
{
	const char *env = getenv("PROVDESK_LOCALEDIR");
	if (env && *env)
		return xstrdup(env);
	char exe[PATH_MAX];
	if (realpath("/proc/self/exe", exe) && under_build_root(exe))
		return xstrdup(PD_BUILD_LOCALEDIR);
	return xstrdup(PD_INSTALL_LOCALEDIR);
}

const char *pd_trc(const char *ctx, const char *s)
{
	if (!s || !*s)
		return s;
	/* gettext's key for a message with a context: ctx EOT msgid */
	char key[256];
	int n = snprintf(key, sizeof key, "%s\004%s", ctx, s);
	if (n < 0 || (size_t)n >= sizeof key)
		return s;
	const char *t = gettext(key);
	return t == key ? s : t;
}

void pd_i18n_init(void)
{
	setlocale(LC_ALL, "");
	/* numbers read and written by the program (options, CSV, JSON, the
	 * wire) keep the dot whatever the language; a locale's number format is
	 * applied where asked (pd_format_amount_locale) */
	setlocale(LC_NUMERIC, "C");
	char *dir = pd_i18n_locale_dir();
	bindtextdomain("provdesk", dir);
	free(dir);
	bind_textdomain_codeset("provdesk", "UTF-8");
	textdomain("provdesk");
}

/* ---- messages translated where they are read (pd_msg) ---- */

/* One conversion of a printf format at f (after its '%'): its length in
 * bytes up to and with the conversion letter, the letter, its position
 * (a translation's %2$s) and whether width / precision take an int
 * argument ('*'). 0 when f holds no conversion letter. The arguments
 * themselves are formatted by pd_fmt_conv. */
typedef struct {
	size_t len;
	char conv;
	bool star_w, star_p;
	int pos; /* n of "%n$", 0 without */
} conv_spec;

static size_t parse_conv(const char *f, conv_spec *c)
{
	memset(c, 0, sizeof *c);
	const char *p = f;
	const char *d = p;
	while (*d >= '0' && *d <= '9')
		d++;
	if (d > p && *d == '$') {
		c->pos = atoi(p);
		p = d + 1;
	}
	while (*p && strchr("-+ #0'", *p))
		p++;
	if (*p == '*') {
		c->star_w = true;
		p++;
	}
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p == '.') {
		p++;
		if (*p == '*') {
			c->star_p = true;
			p++;
		}
		while (*p >= '0' && *p <= '9')
			p++;
	}
	for (int m = 0; *p && strchr("hlLzjt", *p) && m < 2; m++)
		p++;
	if (!*p || !strchr("diouxXeEfFgGaAcsp", *p))
		return 0;
	c->conv = *p;
	c->len = (size_t)(p + 1 - f);
	return c->len;
}

/* Whether s is pd_msg_errno's: PD_MSG_ERRNO and a number. */
static bool errno_arg(const char *s)
{
	if (!s || s[0] != PD_MSG_ERRNO || !s[1])
		return false;
	size_t i = 1;
	while (s[i] >= '0' && s[i] <= '9' && i < 8)
		i++;
	return !s[i];
}

static bool is_mark(char c)
{
	return c && strchr(PD_MSG_MARKS, c);
}

/* Whether s is pd_msg_word's: PD_MSG_WORD and a msgid without marks. */
static bool word_arg(const char *s)
{
	if (!s || s[0] != PD_MSG_WORD || !s[1])
		return false;
	for (const char *q = s + 1; *q; q++)
		if (is_mark(*q))
			return false;
	return true;
}

void pd_vmsg(char *buf, size_t n, const char *msgid, va_list ap)
{
	if (!n)
		return;
	pd_buf out = {0};
	pd_buf_addc(&out, PD_MSG_MARK);
	pd_buf_add(&out, msgid);
	va_list aq;
	va_copy(aq, ap);
	int saved_errno = errno;
	for (const char *f = msgid; (f = strchr(f, '%'));) {
		if (f[1] == '%') {
			f += 2;
			continue;
		}
		conv_spec c;
		size_t len = parse_conv(f + 1, &c);
		if (!len)
			break;    /* not a format our sources write */
		bool last = true; /* no conversion after this one */
		for (const char *g = f + 1 + len; (g = strchr(g, '%')) && last;
		     g += g[1] == '%' ? 2 : 1)
			last = g[1] == '%' || !parse_conv(g + 1, &(conv_spec){0});
		pd_buf_addc(&out, PD_MSG_ARG);
		if (c.conv == 's') { /* one of ours is kept whole, for pd_msg_text */
			va_list peek;
			va_copy(peek, aq);
			if (c.star_w)
				(void)va_arg(peek, int);
			if (c.star_p)
				(void)va_arg(peek, int);
			const char *s = va_arg(peek, const char *);
			va_end(peek);
			if (errno_arg(s) || word_arg(s) || pd_msg_is(s)) {
				if (c.star_w)
					(void)va_arg(aq, int);
				if (c.star_p)
					(void)va_arg(aq, int);
				(void)va_arg(aq, const char *);
				char text[400]; /* a message not last: its text, in this language */
				pd_buf_add(&out, last || !pd_msg_is(s)
				                     ? s
				                     : pd_msg_text(s, text, sizeof text));
				f += 1 + len;
				continue;
			}
		}
		size_t at = out.len;
		if (!pd_fmt_conv(&out, f, &aq, saved_errno))
			break;
		for (size_t k = at; k < out.len; k++)
			if (is_mark(out.s[k]))
				out.s[k] = '?';
		f += 1 + len;
	}
	va_end(aq);
	pd_utf8_copy(buf, n, out.s, out.len);
	pd_buf_free(&out);
}

void pd_msg(char *buf, size_t n, const char *msgid, ...)
{
	va_list ap;
	va_start(ap, msgid);
	pd_vmsg(buf, n, msgid, ap);
	va_end(ap);
}

/* Where the message inside s begins (an argument that is a kept message:
 * the last one, it runs to the end, a list's PD_MSG_NEXT included), NULL
 * when none. */
static const char *nested_at(const char *s)
{
	for (const char *q = strchr(s, PD_MSG_ARG); q; q = strchr(q + 1, PD_MSG_ARG))
		if (q[1] == PD_MSG_MARK)
			return q;
	return NULL;
}

/* The end of the list's part that starts at p: its PD_MSG_NEXT, NULL when
 * it is the last (a PD_MSG_NEXT inside a message nested in it is that
 * message's own). */
static const char *part_end(const char *p)
{
	const char *e = strchr(p, PD_MSG_NEXT), *q = e ? nested_at(p) : NULL;
	return q && q < e ? NULL : e;
}

void pd_msg_list_add(pd_buf *b, const char *msg)
{
	if (!msg || !*msg)
		return;
	char part[400], text[400];
	/* plain text, or a message with one inside it (which would take the
	 * parts after it for its own): kept as text in this language */
	bool whole = pd_msg_is(msg) && !nested_at(msg);
	if (!whole)
		pd_msg(part, sizeof part, "%s", pd_msg_text(msg, text, sizeof text));
	if (b->len)
		pd_buf_addc(b, PD_MSG_NEXT);
	for (const char *p = whole ? msg : part; *p; p++)
		pd_buf_addc(b, *p == PD_MSG_NEXT ? '?' : *p);
}

const char *pd_msg_errno(int err)
{
	static _Thread_local char b[16];
	snprintf(b, sizeof b, "%c%d", PD_MSG_ERRNO, err);
	return b;
}

const char *pd_msg_word(const char *msgid)
{
	static _Thread_local char b[4][128];
	static _Thread_local unsigned next;
	char *w = b[next++ % 4];
	w[0] = PD_MSG_WORD;
	pd_utf8_copys(w + 1, sizeof b[0] - 1, msgid ? msgid : "");
	return w;
}

#define MSG_MAX_ARGS 16

static const char *msg_text(const char *s, char *buf, size_t n, int depth);

const char *pd_msg_text(const char *s, char *buf, size_t n)
{
	return msg_text(s, buf, n, 0);
}

/* A list (a link's warnings, alone or inside "monitoring (%s)"): each
 * message read, "; " between. */
static const char *list_text(const char *s, char *buf, size_t n, int depth)
{
	pd_buf out = {0};
	for (const char *p = s;;) {
		const char *e = part_end(p);
		char *part = xstrndup(p, e ? (size_t)(e - p) : strlen(p)), one[400];
		if (out.len)
			pd_buf_add(&out, "; ");
		pd_buf_add(&out, msg_text(part, one, sizeof one, depth));
		free(part);
		if (!e)
			break;
		p = e + 1;
	}
	pd_utf8_copy(buf, n, out.s ? out.s : "", out.len);
	pd_buf_free(&out);
	return buf;
}

static const char *msg_text(const char *s, char *buf, size_t n, int depth)
{
	if (!n)
		return buf;
	if (!pd_msg_is(s))
		return pd_utf8_copys(buf, n, s ? s : ""), buf;
	if (part_end(s))
		return list_text(s, buf, n, depth);
	/* the msgid, then the arguments (a cut message may end in one) */
	const char *args[MSG_MAX_ARGS];
	size_t alen[MSG_MAX_ARGS], na = 0;
	const char *idp = s + 1, *e = strchr(idp, PD_MSG_ARG);
	size_t idn = e ? (size_t)(e - idp) : strlen(idp);
	while (e && na < MSG_MAX_ARGS) {
		const char *a = e + 1;
		/* a kept message as the last argument: the rest is its own */
		e = a[0] == PD_MSG_MARK ? NULL : strchr(a, PD_MSG_ARG);
		args[na] = a;
		alen[na++] = e ? (size_t)(e - a) : strlen(a);
	}
	char id[512];
	if (idn >= sizeof id)
		idn = sizeof id - 1;
	memcpy(id, idp, idn);
	id[idn] = '\0';
	const char *f = gettext(id);
	pd_buf out = {0};
	size_t next = 0;
	while (*f) {
		const char *pc = strchr(f, '%');
		if (!pc) {
			pd_buf_add(&out, f);
			break;
		}
		pd_buf_addn(&out, f, (size_t)(pc - f));
		if (pc[1] == '%') {
			pd_buf_addc(&out, '%');
			f = pc + 2;
			continue;
		}
		conv_spec c;
		size_t len = parse_conv(pc + 1, &c);
		if (!len) { /* a lone '%': as written */
			pd_buf_addc(&out, '%');
			f = pc + 1;
			continue;
		}
		size_t i = c.pos > 0 ? (size_t)c.pos - 1 : next++;
		if (i < na) {
			char one[400];
			size_t k = alen[i] - 1 < sizeof one - 1 ? alen[i] - 1 : sizeof one - 1;
			if (alen[i] > 1 &&
			    (args[i][0] == PD_MSG_ERRNO || args[i][0] == PD_MSG_WORD)) {
				memcpy(one, args[i] + 1, k);
				one[k] = '\0';
			}
			if (alen[i] > 1 && alen[i] < 9 && args[i][0] == PD_MSG_ERRNO &&
			    strspn(one, "0123456789") == k)
				pd_buf_add(&out, strerror(atoi(one)));
			else if (alen[i] > 1 && args[i][0] == PD_MSG_WORD)
				pd_buf_add(&out, gettext(one));
			else if (args[i][0] == PD_MSG_MARK && depth < 2)
				pd_buf_add(&out, msg_text(args[i], one, sizeof one, depth + 1));
			else /* text; a mark here is damage (or nesting too deep) */
				for (size_t j = 0; j < alen[i]; j++)
					pd_buf_addc(&out, is_mark(args[i][j]) ? '?' : args[i][j]);
		}
		f = pc + 1 + len;
	}
	pd_utf8_copy(buf, n, out.s ? out.s : "", out.len);
	pd_buf_free(&out);
	return buf;
}

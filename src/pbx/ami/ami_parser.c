/* Incremental AMI parser: see include/provdesk/ami.h for the accepted format.
 * Complete lines are parsed straight from the caller's buffer; only a line
 * split across two feeds is copied, so the common case is one memchr pass. */
#include "provdesk/ami.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum pstate { ST_BANNER, ST_HEADERS, ST_BODY, ST_SKIP };

typedef struct {
	size_t k, klen, v, vlen;
} field_off;

struct ami_parser {
	ami_parser_opts o;
	ami_msg_fn fn;
	void *ctx;
	enum pstate st;
	/* partial line carried between feeds */
	char *lb;
	size_t lb_len, lb_cap;
	bool overlong; /* discarding the rest of a too-long line */
	uint64_t line_no, msg_line, errors;
	uint64_t bad_fields; /* header lines dropped or values repaired (control bytes) */
	/* current message: key\0value\0 ... */
	char *mb;
	size_t mb_len, mb_cap;
	field_off *fo;
	size_t nf, fo_cap;
	ami_field *fields; /* built at delivery */
	size_t fields_cap;
	bool follows; /* "Response: Follows" seen: legacy body may start */
	char *body;
	size_t body_len, body_cap;
	bool has_body;
};

ami_parser *ami_parser_new(const ami_parser_opts *o, ami_msg_fn fn, void *ctx)
{
	ami_parser *p = xcalloc(1, sizeof *p);
	if (o)
		p->o = *o;
	if (!p->o.max_line)
		p->o.max_line = 64 * 1024;
	if (!p->o.max_msg)
		p->o.max_msg = AMI_DEFAULT_MAX_MSG;
	p->fn = fn;
	p->ctx = ctx;
	p->st = p->o.expect_banner ? ST_BANNER : ST_HEADERS;
	return p;
}

void ami_parser_free(ami_parser *p)
{
	if (!p)
		return;
	free(p->lb);
	free(p->mb);
	free(p->fo);
	free(p->fields);
	free(p->body);
	free(p);
}

static void msg_clear(ami_parser *p)
{
	p->mb_len = 0;
	p->nf = 0;
	p->follows = false;
	p->body_len = 0;
	p->has_body = false;
}

void ami_parser_reset(ami_parser *p)
{
	msg_clear(p);
	p->lb_len = 0;
	p->overlong = false;
	p->line_no = 0;
	p->st = p->o.expect_banner ? ST_BANNER : ST_HEADERS;
}

uint64_t ami_parser_errors(const ami_parser *p)
{
	return p->errors;
}

uint64_t ami_parser_bad_fields(const ami_parser *p)
{
	return p->bad_fields;
}

size_t ami_parser_capacity(const ami_parser *p)
{
	return p->lb_cap + p->mb_cap + p->body_cap + p->fo_cap * sizeof *p->fo +
	       p->fields_cap * sizeof *p->fields;
}

/* After a large message the buffers go back to nothing: one 15 MB event must
 * not keep 15 MB (or the doubling's 32 MB) for the life of the link. Buffers
 * of ordinary size are kept, so the common case does not reallocate. */
#define KEEP_BYTES (64u * 1024)
#define KEEP_FIELDS 1024u

static void shrink(ami_parser *p)
{
	if (p->mb_cap > KEEP_BYTES && p->mb_len == 0) {
		free(p->mb);
		p->mb = NULL;
		p->mb_cap = 0;
	}
	if (p->body_cap > KEEP_BYTES && p->body_len == 0) {
		free(p->body);
		p->body = NULL;
		p->body_cap = 0;
	}
	if (p->fo_cap > KEEP_FIELDS && p->nf == 0) {
		free(p->fo);
		p->fo = NULL;
		p->fo_cap = 0;
	}
	if (p->fields_cap > KEEP_FIELDS) {
		free(p->fields);
		p->fields = NULL;
		p->fields_cap = 0;
	}
}

/* Only from feed, never while a line of lb is being parsed. */
static void shrink_line(ami_parser *p)
{
	if (p->lb_cap > KEEP_BYTES && p->lb_len == 0) {
		free(p->lb);
		p->lb = NULL;
		p->lb_cap = 0;
	}
}

/* Grow *buf so that it holds need bytes; capacity doubles. */
static void grow(char **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return;
	size_t c = *cap ? *cap : 256;
	while (c < need)
		c *= 2;
	*buf = xrealloc(*buf, c);
	*cap = c;
}

static void error_at(ami_parser *p, uint64_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void error_at(ami_parser *p, uint64_t line, const char *fmt, ...)
{
	char text[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	p->errors++;
	msg_clear(p);
	p->st = ST_SKIP;
	ami_msg m = {.kind = AMI_MSG_ERROR, .text = text, .line = line};
	p->fn(&m, p->ctx);
	shrink(p);
}

static void deliver(ami_parser *p)
{
	if (p->fields_cap < p->nf) {
		p->fields_cap = p->nf * 2;
		p->fields = xrealloc(p->fields, p->fields_cap * sizeof *p->fields);
	}
	for (size_t i = 0; i < p->nf; i++) {
		p->fields[i] = (ami_field){p->mb + p->fo[i].k, p->mb + p->fo[i].v, p->fo[i].klen,
		                           p->fo[i].vlen};
	}
	ami_msg m = {.f = p->fields, .n = p->nf, .line = p->msg_line};
	const char *k0 = p->fields[0].key;
	if (!strcasecmp(k0, "Response"))
		m.kind = AMI_MSG_RESPONSE;
	else if (!strcasecmp(k0, "Event"))
		m.kind = AMI_MSG_EVENT;
	else if (!strcasecmp(k0, "Action"))
		m.kind = AMI_MSG_ACTION;
	else
		m.kind = AMI_MSG_OTHER;
	if (p->has_body) {
		grow(&p->body, &p->body_cap, p->body_len + 1);
		p->body[p->body_len] = '\0';
		m.body = p->body;
		m.body_len = p->body_len;
	}
	msg_clear(p);
	p->fn(&m, p->ctx);
	shrink(p);
}

/* Control bytes other than TAB mean binary garbage, not text. */
static bool has_ctl(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return true;
	}
	return false;
}

static bool body_add(ami_parser *p, const char *s, size_t n, bool newline)
{
	if (p->mb_len + p->body_len + n + 2 > p->o.max_msg) {
		error_at(p, p->line_no, "line %llu: message larger than %zu bytes",
		         (unsigned long long)p->line_no, p->o.max_msg);
		return false;
	}
	grow(&p->body, &p->body_cap, p->body_len + n + 2);
	memcpy(p->body + p->body_len, s, n);
	p->body_len += n;
	if (newline)
		p->body[p->body_len++] = '\n';
	p->has_body = true;
	return true;
}

static const char end_marker[] = "--END COMMAND--";

static void body_line(ami_parser *p, const char *s, size_t n)
{
	size_t ml = sizeof end_marker - 1;
	if (n >= ml && !memcmp(s + n - ml, end_marker, ml)) {
		if (n > ml)
			body_add(p, s, n - ml, false);
		else
			p->has_body = true;
		if (p->st == ST_BODY)
			p->st = ST_HEADERS; /* the blank line that follows delivers */
		p->follows = false;
		return;
	}
	body_add(p, s, n, true);
}

static void header_line(ami_parser *p, const char *s, size_t n)
{
	const char *colon = memchr(s, ':', n);
	size_t klen = colon ? (size_t)(colon - s) : 0;
	bool key_ok = colon && klen > 0;
	/* inner spaces are real: chan_sip's SIPshowpeer sends "Named Callgroup:" */
	for (size_t i = 0; key_ok && i < klen; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < ' ' || c >= 0x7f || (c == ' ' && (i == 0 || i == klen - 1)))
			key_ok = false;
	}
	if (p->follows && (!key_ok || (strncasecmp(s, "Privilege", klen) != 0 &&
	                               strncasecmp(s, "ActionID", klen) != 0))) {
		/* legacy Command output: raw lines until --END COMMAND-- */
		p->st = ST_BODY;
		body_line(p, s, n);
		return;
	}
	if (!key_ok && has_ctl(s, n)) {
		/* a stray control byte: the line is not a header we can read, but
		 * one bad field is no reason to lose the message or the link */
		p->bad_fields++;
		return;
	}
	if (!key_ok) {
		error_at(p, p->line_no, "line %llu: expected \"Key: Value\", got %s",
		         (unsigned long long)p->line_no,
		         colon ? "an empty or invalid key" : "no colon");
		return;
	}
	const char *v = colon + 1;
	size_t vlen = n - klen - 1;
	if (vlen && *v == ' ') {
		v++;
		vlen--;
	}
	if (p->mb_len + klen + vlen + 2 + p->body_len > p->o.max_msg) {
		error_at(p, p->line_no, "line %llu: message larger than %zu bytes",
		         (unsigned long long)p->line_no, p->o.max_msg);
		return;
	}
	if (p->nf == 0)
		p->msg_line = p->line_no;
	grow(&p->mb, &p->mb_cap, p->mb_len + klen + vlen + 2);
	if (p->nf == p->fo_cap) {
		p->fo_cap = p->fo_cap ? p->fo_cap * 2 : 32;
		p->fo = xrealloc(p->fo, p->fo_cap * sizeof *p->fo);
	}
	field_off *f = &p->fo[p->nf++];
	f->k = p->mb_len;
	f->klen = klen;
	memcpy(p->mb + p->mb_len, s, klen);
	p->mb_len += klen;
	p->mb[p->mb_len++] = '\0';
	f->v = p->mb_len;
	f->vlen = vlen;
	memcpy(p->mb + p->mb_len, v, vlen);
	if (has_ctl(v, vlen)) {
		/* ESC, BEL, NUL… in a value: replaced, so a name from the PBX can
		 * never drive the terminal; TAB stays */
		p->bad_fields++;
		for (size_t i = 0; i < vlen; i++) {
			unsigned char c = (unsigned char)p->mb[p->mb_len + i];
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				p->mb[p->mb_len + i] = '?';
		}
	}
	p->mb_len += vlen;
	p->mb[p->mb_len++] = '\0';
	if (p->nf == 1 && klen == 8 && !strncasecmp(s, "Response", 8) && vlen == 7 &&
	    !strncasecmp(v, "Follows", 7))
		p->follows = true;
}

static void process_line(ami_parser *p, const char *s, size_t n)
{
	p->line_no++;
	if (n && s[n - 1] == '\r')
		n--;
	switch (p->st) {
	case ST_BANNER:
		p->st = ST_HEADERS;
		if (has_ctl(s, n)) {
			error_at(p, p->line_no, "line 1: banner contains binary data");
			return;
		}
		{
			char *t = xstrndup(s, n);
			ami_msg m = {.kind = AMI_MSG_BANNER, .text = t, .line = p->line_no};
			p->fn(&m, p->ctx);
			free(t);
		}
		return;
	case ST_SKIP:
		if (n == 0)
			p->st = ST_HEADERS;
		return;
	case ST_BODY:
		if (memchr(s, '\0', n)) {
			error_at(p, p->line_no, "line %llu: NUL byte in command output",
			         (unsigned long long)p->line_no);
			return;
		}
		body_line(p, s, n);
		return;
	case ST_HEADERS:
		if (n == 0) {
			if (p->nf)
				deliver(p);
			return;
		}
		header_line(p, s, n);
		return;
	}
}

static void overflow(ami_parser *p)
{
	p->overlong = true;
	p->lb_len = 0;
	error_at(p, p->line_no + 1, "line %llu: longer than %zu bytes",
	         (unsigned long long)(p->line_no + 1), p->o.max_line);
}

void ami_parser_feed(ami_parser *p, const char *data, size_t len)
{
	while (len) {
		const char *nl = memchr(data, '\n', len);
		size_t seg = nl ? (size_t)(nl - data) : len;
		if (p->overlong) {
			if (nl) {
				p->overlong = false;
				p->line_no++;
			}
		} else if (p->lb_len + seg > p->o.max_line) {
			overflow(p);
			if (nl) {
				p->overlong = false;
				p->line_no++;
			}
		} else if (!nl) {
			grow(&p->lb, &p->lb_cap, p->lb_len + seg);
			memcpy(p->lb + p->lb_len, data, seg);
			p->lb_len += seg;
		} else if (p->lb_len == 0) {
			process_line(p, data, seg);
		} else {
			grow(&p->lb, &p->lb_cap, p->lb_len + seg);
			memcpy(p->lb + p->lb_len, data, seg);
			p->lb_len += seg;
			size_t n = p->lb_len;
			p->lb_len = 0;
			process_line(p, p->lb, n);
			shrink_line(p);
		}
		if (!nl)
			return;
		len -= seg + 1;
		data = nl + 1;
	}
}

const char *ami_get(const ami_msg *m, const char *key)
{
	for (size_t i = 0; i < m->n; i++)
		if (!strcasecmp(m->f[i].key, key))
			return m->f[i].value;
	return NULL;
}

const char *ami_get0(const ami_msg *m, const char *key)
{
	const char *v = ami_get(m, key);
	return v ? v : "";
}

bool ami_is(const ami_msg *m, const char *key, const char *value)
{
	const char *v = ami_get(m, key);
	return v && !strcasecmp(v, value);
}

const char *ami_type(const ami_msg *m)
{
	if (m->kind == AMI_MSG_EVENT || m->kind == AMI_MSG_RESPONSE || m->kind == AMI_MSG_ACTION)
		return m->f[0].value;
	return "";
}

bool ami_put(pd_buf *b, const char *key, const char *value)
{
	const char *v = value ? value : "";
	/* the last line of defence: the core refuses control characters in
	 * every field that goes on the wire, and a line break that still gets
	 * here (a row written by an older version) is refused, not sent */
	if (strpbrk(key, "\r\n") || strpbrk(v, "\r\n"))
		return false;
	pd_buf_add(b, key);
	pd_buf_add(b, ": ");
	pd_buf_add(b, v);
	pd_buf_add(b, "\r\n");
	return true;
}

bool ami_putf(pd_buf *b, const char *key, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char tmp[512];
	vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	return ami_put(b, key, tmp);
}

void ami_end(pd_buf *b)
{
	pd_buf_add(b, "\r\n");
}

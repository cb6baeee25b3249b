/* Incremental FreeSWITCH event-socket parser: see include/provdesk/esl.h for
 * the accepted format, the errors and the bounds.
 *
 * Outer header lines are parsed straight from the caller's buffer; only a
 * line split across two feeds is copied. A body is copied unless it is an
 * event's and arrives whole in one feed, then it is decoded in place. */
#include "provdesk/esl.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provdesk/i18n.h"

/* Buffers above this are freed once the message that grew them is done. */
#define ESL_KEEP (64u * 1024)

enum pstate {
	ST_HEAD,      /* outer header lines */
	ST_SKIP_HEAD, /* after a bad header line: to the empty line, noting Content-Length */
	ST_BODY,      /* collecting Content-Length bytes */
	ST_SKIP_BODY, /* discarding a body (too large, or its headers were bad) */
	ST_DEAD       /* framing lost: everything ignored until reset */
};

typedef struct {
	size_t n, nlen, v, vlen;
} hdr_off;

/* name\0value\0 ... with an offset table; the esl_header array is built at
 * delivery, when the storage no longer moves. */
typedef struct {
	char *s;
	size_t len, cap;
	hdr_off *o;
	size_t n, ocap;
	esl_header *h;
	size_t hcap;
} hdr_set;

struct esl_parser {
	esl_parser_opts o;
	esl_msg_fn fn;
	void *ctx;
	enum pstate st;
	uint64_t pos;       /* stream offset of the next byte fed */
	uint64_t msg_no;    /* number of the current message */
	uint64_t msg_start; /* its first byte */
	uint64_t errors;
	/* the line being read */
	char *lb;
	size_t lb_len, lb_cap;
	bool mid_line, overlong;
	uint64_t line_off;
	/* the current message */
	hdr_set head;
	size_t head_bytes;
	bool has_cl;
	uint64_t cl;
	bool event_body; /* plain or json event: the body is decoded, not delivered raw */
	uint64_t body_off;
	char *body;
	size_t body_len, body_cap;
	uint64_t skip_left;
	/* the decoded event */
	hdr_set ev;
};

static void set_clear(hdr_set *h)
{
	h->len = 0;
	h->n = 0;
}

static void set_free(hdr_set *h)
{
	free(h->s);
	free(h->o);
	free(h->h);
	memset(h, 0, sizeof *h);
}

static size_t set_mem(const hdr_set *h)
{
	return h->cap + h->ocap * sizeof *h->o + h->hcap * sizeof *h->h;
}

/* Free what one large message made grow (the set is empty then). */
static void set_trim(hdr_set *h)
{
	if (h->len == 0 && h->n == 0 && set_mem(h) > ESL_KEEP)
		set_free(h);
}

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

/* For a size known in advance (a body): no doubling past it. */
static void reserve(char **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return;
	*buf = xrealloc(*buf, need);
	*cap = need;
}

/* Room for one more header of up to nlen + vlen bytes; the value is then
 * written at set->s + set->len by the caller (set_add_value). */
static void set_add_name(hdr_set *h, const char *name, size_t nlen, size_t vmax)
{
	grow(&h->s, &h->cap, h->len + nlen + vmax + 2);
	if (h->n == h->ocap) {
		h->ocap = h->ocap ? h->ocap * 2 : 32;
		h->o = xrealloc(h->o, h->ocap * sizeof *h->o);
	}
	hdr_off *f = &h->o[h->n++];
	f->n = h->len;
	f->nlen = nlen;
	memcpy(h->s + h->len, name, nlen);
	h->len += nlen;
	h->s[h->len++] = '\0';
	f->v = h->len;
	f->vlen = 0;
}

static void set_end_value(hdr_set *h, size_t vlen)
{
	h->o[h->n - 1].vlen = vlen;
	h->len += vlen;
	h->s[h->len++] = '\0';
}

static void set_add(hdr_set *h, const char *name, size_t nlen, const char *v, size_t vlen)
{
	set_add_name(h, name, nlen, vlen);
	memcpy(h->s + h->len, v, vlen);
	set_end_value(h, vlen);
}

static const esl_header *set_build(hdr_set *h)
{
	if (h->hcap < h->n) {
		h->hcap = h->n;
		h->h = xrealloc(h->h, h->hcap * sizeof *h->h);
	}
	for (size_t i = 0; i < h->n; i++)
		h->h[i] =
		    (esl_header){h->s + h->o[i].n, h->s + h->o[i].v, h->o[i].nlen, h->o[i].vlen};
	return h->h;
}

/* Value of an exact name in a set still being built, or NULL. */
static const char *set_find(const hdr_set *h, const char *name, size_t *vlen)
{
	size_t nl = strlen(name);
	for (size_t i = 0; i < h->n; i++)
		if (h->o[i].nlen == nl && !memcmp(h->s + h->o[i].n, name, nl)) {
			if (vlen)
				*vlen = h->o[i].vlen;
			return h->s + h->o[i].v;
		}
	return NULL;
}

esl_parser *esl_parser_new(const esl_parser_opts *o, esl_msg_fn fn, void *ctx)
{
	esl_parser *p = xcalloc(1, sizeof *p);
	if (o)
		p->o = *o;
	if (!p->o.max_line)
		p->o.max_line = 64 * 1024;
	if (!p->o.max_headers)
		p->o.max_headers = 1024;
	if (!p->o.max_msg)
		p->o.max_msg = 1024 * 1024;
	if (p->o.max_api < p->o.max_msg)
		p->o.max_api = p->o.max_msg;
	p->fn = fn;
	p->ctx = ctx;
	p->st = ST_HEAD;
	return p;
}

void esl_parser_free(esl_parser *p)
{
	if (!p)
		return;
	free(p->lb);
	free(p->body);
	set_free(&p->head);
	set_free(&p->ev);
	free(p);
}

static void msg_clear(esl_parser *p)
{
	set_clear(&p->head);
	set_clear(&p->ev);
	p->head_bytes = 0;
	p->has_cl = false;
	p->cl = 0;
	p->event_body = false;
	p->body_len = 0;
	p->skip_left = 0;
}

static void trim(esl_parser *p);

void esl_parser_reset(esl_parser *p)
{
	msg_clear(p);
	p->st = ST_HEAD;
	p->pos = p->msg_no = p->msg_start = 0;
	p->lb_len = 0;
	p->mid_line = p->overlong = false;
	trim(p); /* a message cut by the reconnect may have grown them */
}

bool esl_parser_failed(const esl_parser *p)
{
	return p->st == ST_DEAD;
}

uint64_t esl_parser_errors(const esl_parser *p)
{
	return p->errors;
}

size_t esl_parser_memory(const esl_parser *p)
{
	return sizeof *p + p->lb_cap + p->body_cap + set_mem(&p->head) + set_mem(&p->ev);
}

/* Untrusted bytes shown in an error text: printable ASCII as is, the rest
 * as \xHH, at most about 40 bytes. */
static const char *show(char *out, size_t cap, const char *s, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (o + 8 >= cap || o >= 40) {
			memcpy(out + o, "...", 4);
			return out;
		}
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
	}
	out[o] = '\0';
	return out;
}

static const char *content_type(const esl_parser *p)
{
	const char *ct = set_find(&p->head, "Content-Type", NULL);
	return ct ? ct : "";
}

/* Report a problem at stream offset `at`; the caller moves the state. */
static void report(esl_parser *p, uint64_t at, bool fatal, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void report(esl_parser *p, uint64_t at, bool fatal, const char *fmt, ...)
{
	char what[200], text[300];
	va_list ap;
	va_start(ap, fmt);
	pd_vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	snprintf(text, sizeof text, _("message %llu, byte %llu: %s%s"),
	         (unsigned long long)p->msg_no, (unsigned long long)at, what,
	         fatal ? _(" (framing lost: reconnect)") : "");
	p->errors++;
	esl_msg m = {.kind = ESL_MSG_ERROR,
	             .content_type = content_type(p),
	             .text = text,
	             .fatal = fatal,
	             .msg_no = p->msg_no,
	             .offset = at};
	p->fn(&m, p->ctx);
}

static void dead(esl_parser *p)
{
	msg_clear(p);
	p->st = ST_DEAD;
}

/* Next message after the current one, whose body (if any) was consumed. */
static void next_msg(esl_parser *p)
{
	msg_clear(p);
	p->st = ST_HEAD;
}

/* Skip the current body (cl bytes, maybe none) and go on. */
static void skip_body(esl_parser *p)
{
	uint64_t n = p->has_cl ? p->cl : 0;
	msg_clear(p);
	if (n) {
		p->skip_left = n;
		p->st = ST_SKIP_BODY;
	} else {
		p->st = ST_HEAD;
	}
}

/* Control bytes other than TAB: binary data, not a header line. */
static int ctl_byte(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return c;
	}
	return -1;
}

/* Decimal digits only, at most 18 (no sign, no space, no overflow). */
static bool parse_len(const char *v, size_t n, uint64_t *out)
{
	if (n == 0 || n > 18)
		return false;
	uint64_t x = 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return false;
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	*out = x;
	return true;
}

static const char cl_name[] = "Content-Length";
#define CL_LEN (sizeof cl_name - 1)

/* A bad line that carried the Content-Length: the framing is lost. */
static bool is_cl_line(const char *s, size_t n)
{
	return n > CL_LEN && !memcmp(s, cl_name, CL_LEN) && s[CL_LEN] == ':';
}

/* Split "Name: value" (one optional space after the colon). Returns a
 * description of what is wrong, or NULL. */
static const char *split_line(const char *s, size_t n, size_t *nlen, const char **v, size_t *vlen)
{
	const char *colon = memchr(s, ':', n);
	if (!colon)
		return _("expected \"Name: value\", got no colon");
	*nlen = (size_t)(colon - s);
	if (*nlen == 0 || s[0] == ' ' || s[*nlen - 1] == ' ')
		return _("empty header name or one with a space at either end");
	*v = colon + 1;
	*vlen = n - *nlen - 1;
	if (*vlen && **v == ' ') {
		(*v)++;
		(*vlen)--;
	}
	return NULL;
}

/* A bad outer header line: skip the rest of the block (then its body, if
 * its length is known), or give up if the bad line was the length. */
static void head_bad(esl_parser *p, const char *s, size_t n, const char *what)
{
	if (is_cl_line(s, n)) {
		report(p, p->line_off, true, _("bad Content-Length line: %s"), what);
		dead(p);
		return;
	}
	report(p, p->line_off, false, "%s", what);
	p->st = ST_SKIP_HEAD;
}

/* Record a Content-Length value; false (and the parser dead) when bad. */
static bool take_cl(esl_parser *p, const char *v, size_t vlen)
{
	char shown[64];
	uint64_t x;
	if (p->has_cl) {
		report(p, p->line_off, true, _("a second Content-Length"));
		dead(p);
		return false;
	}
	if (!parse_len(v, vlen, &x)) {
		report(p, p->line_off, true, _("Content-Length \"%s\" is not a length"),
		       show(shown, sizeof shown, v, vlen));
		dead(p);
		return false;
	}
	p->has_cl = true;
	p->cl = x;
	return true;
}

static void end_of_head(esl_parser *p);

static void head_line(esl_parser *p, const char *s, size_t n)
{
	char what[120];
	if (p->head.n == 0) {
		p->msg_no++;
		p->msg_start = p->line_off;
	}
	p->head_bytes += n + 1;
	int c = ctl_byte(s, n);
	if (s[n - 1] == '\r' && ctl_byte(s, n - 1) < 0) {
		head_bad(p, s, n, _("CR before LF (ESL lines end with LF only)"));
		return;
	}
	if (c >= 0) {
		snprintf(what, sizeof what, _("control byte 0x%02x in a header line"), c);
		head_bad(p, s, n, what);
		return;
	}
	if (!pd_utf8_valid(s, n)) {
		head_bad(p, s, n, _("invalid UTF-8 in a header line"));
		return;
	}
	size_t nlen, vlen;
	const char *v;
	const char *bad = split_line(s, n, &nlen, &v, &vlen);
	if (bad) {
		head_bad(p, s, n, bad);
		return;
	}
	if (p->head.n >= p->o.max_headers) {
		snprintf(what, sizeof what, _("more than %zu header lines"), p->o.max_headers);
		head_bad(p, s, n, what);
		return;
	}
	if (p->head_bytes > p->o.max_msg) {
		snprintf(what, sizeof what, _("header block larger than %zu bytes"), p->o.max_msg);
		head_bad(p, s, n, what);
		return;
	}
	if (nlen == CL_LEN && !memcmp(s, cl_name, CL_LEN) && !take_cl(p, v, vlen))
		return;
	set_add(&p->head, s, nlen, v, vlen);
}

/* A line in a block already known bad: only its Content-Length matters. */
static void skip_line(esl_parser *p, const char *s, size_t n)
{
	if (n == 0) {
		skip_body(p);
		return;
	}
	size_t nlen, vlen;
	const char *v;
	/* a bad length here is as fatal as anywhere (take_cl) */
	if (!split_line(s, n, &nlen, &v, &vlen) && nlen == CL_LEN && !memcmp(s, cl_name, CL_LEN))
		take_cl(p, v, vlen);
}

static void process_line(esl_parser *p, const char *s, size_t n)
{
	if (p->st == ST_SKIP_HEAD) {
		skip_line(p, s, n);
		return;
	}
	if (n == 0) {
		if (p->head.n)
			end_of_head(p);
		return; /* empty lines between messages */
	}
	head_line(p, s, n);
}

/* ---- delivery ---- */

typedef enum { BODY_NONE, BODY_RAW, BODY_PLAIN, BODY_JSON } body_kind;

static esl_kind kind_of(const char *ct, body_kind *bk)
{
	static const struct {
		const char *ct;
		esl_kind kind;
		body_kind body;
	} types[] = {
	    {"auth/request", ESL_MSG_AUTH_REQUEST, BODY_NONE},
	    {"command/reply", ESL_MSG_COMMAND_REPLY, BODY_NONE},
	    {"api/response", ESL_MSG_API_RESPONSE, BODY_RAW},
	    {"text/event-plain", ESL_MSG_EVENT, BODY_PLAIN},
	    {"text/event-json", ESL_MSG_EVENT, BODY_JSON},
	    {"log/data", ESL_MSG_LOG, BODY_RAW},
	    {"text/disconnect-notice", ESL_MSG_DISCONNECT, BODY_NONE},
	};
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		if (!strcmp(ct, types[i].ct)) {
			*bk = types[i].body;
			return types[i].kind;
		}
	*bk = BODY_NONE;
	return ESL_MSG_OTHER;
}

static void deliver(esl_parser *p, const char *body, size_t body_len, bool event, bool json)
{
	esl_msg m = {.content_type = content_type(p),
	             .h = set_build(&p->head),
	             .nh = p->head.n,
	             .body = body,
	             .body_len = body_len,
	             .msg_no = p->msg_no,
	             .offset = p->msg_start};
	body_kind bk;
	m.kind = kind_of(m.content_type, &bk);
	if (event) {
		m.ev = set_build(&p->ev);
		m.nev = p->ev.n;
		m.json = json;
		m.event_name = esl_event_get(&m, "Event-Name");
		m.event_subclass = esl_event_get(&m, "Event-Subclass");
	}
	p->fn(&m, p->ctx);
}

static void end_of_head(esl_parser *p)
{
	const char *ct = set_find(&p->head, "Content-Type", NULL);
	if (!ct) {
		report(p, p->msg_start, false, _("no Content-Type"));
		skip_body(p);
		return;
	}
	body_kind bk;
	kind_of(ct, &bk);
	size_t max = !strcmp(ct, "api/response") ? p->o.max_api : p->o.max_msg;
	if (p->has_cl && p->cl > max - p->head_bytes) {
		report(p, p->msg_start, false, _("%s body of %llu bytes is larger than %zu bytes"),
		       ct, (unsigned long long)p->cl, max);
		skip_body(p);
		return;
	}
	if ((bk == BODY_PLAIN || bk == BODY_JSON) && (!p->has_cl || p->cl == 0)) {
		report(p, p->msg_start, false, _("%s with %s"), ct,
		       p->has_cl ? _("an empty body") : _("no Content-Length"));
		skip_body(p);
		return;
	}
	if (bk == BODY_RAW && !p->has_cl) {
		report(p, p->msg_start, false, _("%s with no Content-Length"), ct);
		next_msg(p);
		return;
	}
	if (p->has_cl && p->cl > 0) {
		p->st = ST_BODY;
		p->body_len = 0;
		p->body_off = p->pos;
		p->event_body = bk == BODY_PLAIN || bk == BODY_JSON;
		return;
	}
	deliver(p, p->has_cl ? "" : NULL, 0, false, false);
	next_msg(p);
}

/* ---- event bodies ---- */

/* A decoded value: UTF-8 with no NUL or control byte but TAB, CR and LF. */
static const char *value_bad(const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c == 0)
			return _("a NUL byte");
		if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f)
			return _("a control byte");
	}
	return pd_utf8_valid(v, n) ? NULL : _("invalid UTF-8");
}

/* Names of event headers: no control byte at all (raw UTF-8 checked by the
 * caller), no colon, not empty. */
static bool event_name_ok(const char *s, size_t n)
{
	return n > 0 && ctl_byte(s, n) < 0 && !memchr(s, ':', n) && pd_utf8_valid(s, n);
}

static bool ev_full(esl_parser *p, uint64_t at)
{
	if (p->ev.n < p->o.max_headers)
		return false;
	report(p, at, false, _("more than %zu event headers"), p->o.max_headers);
	return true;
}

/* text/event-plain: b holds the whole body, at stream offset p->body_off. */
static void parse_plain(esl_parser *p, const char *b, size_t n)
{
	char sh[64], sh2[64];
	size_t i = 0;
	unsigned line = 0;
	set_clear(&p->ev);
	/* decoded lines never grow: name\0value\0 fits in the line and its LF */
	reserve(&p->ev.s, &p->ev.cap, n + 2);
	for (;;) {
		const char *s = b + i;
		const char *nl = memchr(s, '\n', n - i);
		uint64_t at = p->body_off + i;
		if (!nl) {
			report(p, at, false, _("event headers not ended by an empty line"));
			return;
		}
		size_t len = (size_t)(nl - s);
		i += len + 1;
		if (len == 0)
			break;
		line++;
		if (ev_full(p, at))
			return;
		int c = ctl_byte(s, len);
		if (c >= 0) {
			report(p, at, false, _("control byte 0x%02x in event header line %u"), c,
			       line);
			return;
		}
		size_t nlen, vlen;
		const char *v;
		const char *bad = split_line(s, len, &nlen, &v, &vlen);
		if (!bad && !event_name_ok(s, nlen))
			bad = _("invalid header name");
		if (bad) {
			report(p, at, false, _("event header line %u: %s"), line, bad);
			return;
		}
		set_add_name(&p->ev, s, nlen, vlen);
		char *o = p->ev.s + p->ev.len;
		size_t k = 0;
		for (size_t j = 0; j < vlen; j++) {
			if (v[j] != '%') {
				o[k++] = v[j];
				continue;
			}
			int hi = j + 2 < vlen ? pd_hex_digit(v[j + 1]) : -1;
			int lo = j + 2 < vlen ? pd_hex_digit(v[j + 2]) : -1;
			if (hi < 0 || lo < 0) {
				size_t m = vlen - j < 3 ? vlen - j : 3;
				report(p, at + (size_t)(v + j - s), false,
				       _("invalid percent-escape \"%s\" in the value of %s"),
				       show(sh, sizeof sh, v + j, m),
				       show(sh2, sizeof sh2, s, nlen));
				return;
			}
			o[k++] = (char)(hi << 4 | lo);
			j += 2;
		}
		const char *why = value_bad(o, k);
		if (why) {
			report(p, at, false,
			       _("%s in the decoded value of %s (event header line %u)"), why,
			       show(sh, sizeof sh, s, nlen), line);
			return;
		}
		set_end_value(&p->ev, k);
	}
	size_t rest = n - i, ilen;
	const char *icl = set_find(&p->ev, cl_name, &ilen);
	uint64_t want;
	if (icl && (!parse_len(icl, ilen, &want) || want != rest)) {
		report(p, p->body_off + i, false,
		       _("event Content-Length \"%s\" but %zu bytes follow the event headers"),
		       show(sh, sizeof sh, icl, ilen), rest);
		return;
	}
	if (!icl && rest) {
		report(p, p->body_off + i, false,
		       _("%zu bytes after the event headers and no event Content-Length"), rest);
		return;
	}
	if (!set_find(&p->ev, "Event-Name", NULL)) {
		report(p, p->body_off, false, _("event without Event-Name"));
		return;
	}
	const char *body = NULL;
	if (icl) {
		/* the body goes after the headers in the same storage (it fits) */
		reserve(&p->ev.s, &p->ev.cap, p->ev.len + rest + 1);
		memcpy(p->ev.s + p->ev.len, b + i, rest);
		p->ev.s[p->ev.len + rest] = '\0';
		body = p->ev.s + p->ev.len;
	}
	deliver(p, body, rest, true, false);
}

/* A JSON string value, or an array of strings as "ARRAY::a|:b". */
static bool json_value(esl_parser *p, const char *key, json_t *val)
{
	size_t klen = strlen(key);
	if (json_is_string(val)) {
		set_add(&p->ev, key, klen, json_string_value(val), json_string_length(val));
		return true;
	}
	if (!json_is_array(val) || json_array_size(val) == 0)
		return false;
	size_t total = 7, i;
	json_t *x;
	json_array_foreach(val, i, x)
	{
		if (!json_is_string(x))
			return false;
		total += json_string_length(x) + 2;
	}
	set_add_name(&p->ev, key, klen, total);
	char *o = p->ev.s + p->ev.len;
	size_t k = 0;
	memcpy(o, "ARRAY::", 7);
	k = 7;
	json_array_foreach(val, i, x)
	{
		if (i) {
			memcpy(o + k, "|:", 2);
			k += 2;
		}
		memcpy(o + k, json_string_value(x), json_string_length(x));
		k += json_string_length(x);
	}
	set_end_value(&p->ev, k);
	return true;
}

static void parse_json(esl_parser *p, const char *b, size_t n)
{
	char sh[64];
	json_error_t je;
	set_clear(&p->ev);
	json_t *root = json_loadb(b, n, 0, &je);
	if (!root) {
		report(p, p->body_off + (uint64_t)(je.position > 0 ? je.position : 0), false,
		       _("event JSON: %.120s"), je.text);
		return;
	}
	if (!json_is_object(root)) {
		report(p, p->body_off, false, _("event JSON is not an object"));
		json_decref(root);
		return;
	}
	const char *key;
	json_t *val;
	const char *body = NULL;
	size_t body_len = 0;
	json_object_foreach(root, key, val)
	{
		size_t klen = strlen(key);
		if (!strcmp(key, "_body") && json_is_string(val)) {
			body = json_string_value(val);
			body_len = json_string_length(val);
			continue;
		}
		if (ev_full(p, p->body_off))
			goto out;
		if (!event_name_ok(key, klen)) {
			report(p, p->body_off, false, _("event JSON: invalid header name \"%s\""),
			       show(sh, sizeof sh, key, klen));
			goto out;
		}
		if (!json_value(p, key, val)) {
			report(
			    p, p->body_off, false,
			    _("event JSON: the value of %s is not a string or an array of strings"),
			    show(sh, sizeof sh, key, klen));
			goto out;
		}
		const hdr_off *f = &p->ev.o[p->ev.n - 1];
		const char *why = value_bad(p->ev.s + f->v, f->vlen);
		if (!why && p->ev.len > p->o.max_msg)
			why = _("too much data");
		if (why) {
			report(p, p->body_off, false, _("event JSON: %s in the value of %s"), why,
			       show(sh, sizeof sh, key, klen));
			goto out;
		}
	}
	if (!set_find(&p->ev, "Event-Name", NULL)) {
		report(p, p->body_off, false, _("event without Event-Name"));
		goto out;
	}
	deliver(p, body, body_len, true, true);
out:
	json_decref(root);
}

/* The whole body of the current message is b[0..n). */
static void body_done(esl_parser *p, const char *b, size_t n)
{
	body_kind bk;
	kind_of(content_type(p), &bk);
	if (bk == BODY_PLAIN)
		parse_plain(p, b, n);
	else if (bk == BODY_JSON)
		parse_json(p, b, n);
	else
		deliver(p, b, n, false, false);
	next_msg(p);
}

/* ---- feeding ---- */

static size_t feed_body(esl_parser *p, const char *data, size_t len)
{
	size_t need = (size_t)p->cl - p->body_len;
	size_t n = len < need ? len : need;
	p->pos += n;
	if (p->body_len == 0 && n == need && p->event_body) {
		body_done(p, data, n); /* decoded in place: no copy */
		return n;
	}
	reserve(&p->body, &p->body_cap, (size_t)p->cl + 1);
	memcpy(p->body + p->body_len, data, n);
	p->body_len += n;
	if (p->body_len == p->cl) {
		p->body[p->body_len] = '\0';
		body_done(p, p->body, p->body_len);
	}
	return n;
}

/* One line (or part of one) of a header block; returns the bytes used. */
static size_t feed_line(esl_parser *p, const char *data, size_t len)
{
	if (!p->mid_line) {
		p->mid_line = true;
		p->line_off = p->pos;
	}
	const char *nl = memchr(data, '\n', len);
	size_t seg = nl ? (size_t)(nl - data) : len;
	size_t used = nl ? seg + 1 : seg;
	p->pos += used;
	if (p->overlong) {
		/* the rest of a line already reported */
	} else if (p->lb_len + seg > p->o.max_line) {
		/* keep enough of the line to know whether it was the length */
		char head[CL_LEN + 1];
		size_t h = 0;
		for (; h < sizeof head && h < p->lb_len; h++)
			head[h] = p->lb[h];
		for (size_t j = 0; h < sizeof head && j < seg; h++, j++)
			head[h] = data[j];
		p->overlong = true;
		p->lb_len = 0;
		if (p->st == ST_HEAD && p->head.n == 0) {
			p->msg_no++;
			p->msg_start = p->line_off;
		}
		char what[80];
		snprintf(what, sizeof what, _("header line longer than %zu bytes"), p->o.max_line);
		if (p->st == ST_HEAD)
			head_bad(p, head, h, what);
		else if (is_cl_line(head, h)) {
			report(p, p->line_off, true, _("bad Content-Length line: %s"), what);
			dead(p);
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
		size_t n = p->lb_len + seg;
		p->lb_len = 0;
		process_line(p, p->lb, n);
	}
	if (nl) {
		p->mid_line = false;
		p->overlong = false;
		p->lb_len = 0;
	}
	return used;
}

static void trim(esl_parser *p)
{
	if (p->lb_len == 0 && p->lb_cap > ESL_KEEP) {
		free(p->lb);
		p->lb = NULL;
		p->lb_cap = 0;
	}
	if (p->body_len == 0 && p->body_cap > ESL_KEEP) {
		free(p->body);
		p->body = NULL;
		p->body_cap = 0;
	}
	set_trim(&p->head);
	set_trim(&p->ev);
}

void esl_parser_feed(esl_parser *p, const char *data, size_t len)
{
	while (len) {
		size_t used;
		switch (p->st) {
		case ST_DEAD:
			p->pos += len;
			return;
		case ST_BODY:
			used = feed_body(p, data, len);
			break;
		case ST_SKIP_BODY:
			used = len < p->skip_left ? len : (size_t)p->skip_left;
			p->skip_left -= used;
			p->pos += used;
			if (!p->skip_left)
				next_msg(p);
			break;
		default:
			used = feed_line(p, data, len);
			break;
		}
		data += used;
		len -= used;
	}
	trim(p);
}

/* ---- lookups ---- */

static const char *find(const esl_header *h, size_t n, const char *name)
{
	size_t nl = strlen(name);
	for (size_t i = 0; i < n; i++)
		if (h[i].name_len == nl && !memcmp(h[i].name, name, nl))
			return h[i].value;
	return NULL;
}

const char *esl_get(const esl_msg *m, const char *name)
{
	return find(m->h, m->nh, name);
}

const char *esl_event_get(const esl_msg *m, const char *name)
{
	return find(m->ev, m->nev, name);
}

const char *esl_event_get0(const esl_msg *m, const char *name)
{
	const char *v = esl_event_get(m, name);
	return v ? v : "";
}

bool esl_reply_ok(const esl_msg *m)
{
	const char *r = m->kind == ESL_MSG_COMMAND_REPLY ? esl_get(m, "Reply-Text") : NULL;
	return r && !strncmp(r, "+OK", 3);
}

/* ---- writer ---- */

static pd_status put(pd_buf *b, const char *verb, const char *arg, const char *field, pd_err *e)
{
	if (!arg || !*arg)
		return pd_fail(e, PD_E_INVALID, field, _("%s: the %s is empty"), verb, field);
	if (strpbrk(arg, "\r\n"))
		return pd_fail(e, PD_E_INVALID, field,
		               _("%s: the %s contains a line break (CR or LF), which would end the "
		                 "command"),
		               verb, field);
	pd_buf_add(b, verb);
	pd_buf_addc(b, ' ');
	pd_buf_add(b, arg);
	pd_buf_add(b, "\n\n");
	return PD_OK;
}

pd_status esl_put_auth(pd_buf *b, const char *password, pd_err *e)
{
	return put(b, "auth", password, "password", e);
}

pd_status esl_put_api(pd_buf *b, const char *command, pd_err *e)
{
	return put(b, "api", command, "command", e);
}

pd_status esl_put_bgapi(pd_buf *b, const char *command, pd_err *e)
{
	return put(b, "bgapi", command, "command", e);
}

pd_status esl_put_event_plain(pd_buf *b, const char *events, pd_err *e)
{
	return put(b, "event plain", events, "events", e);
}

void esl_put_exit(pd_buf *b)
{
	pd_buf_add(b, "exit\n\n");
}

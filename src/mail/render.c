/* RFC 5322 rendering of an invitation: headers that survive any relay
 * (RFC 2047 for non-ASCII header text, quoted-printable for a non-ASCII body)
 * and CRLF line ends. Pure: no I/O, so it is tested byte for byte. */
#include "mail_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "provdesk/i18n.h"
#include "provdesk/util.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void pd_mail_base64(pd_buf *b, const unsigned char *p, size_t n)
{
	size_t i;
	for (i = 0; i + 2 < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
		pd_buf_addc(b, b64_alphabet[v >> 18 & 63]);
		pd_buf_addc(b, b64_alphabet[v >> 12 & 63]);
		pd_buf_addc(b, b64_alphabet[v >> 6 & 63]);
		pd_buf_addc(b, b64_alphabet[v & 63]);
	}
	if (i < n) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0);
		pd_buf_addc(b, b64_alphabet[v >> 18 & 63]);
		pd_buf_addc(b, b64_alphabet[v >> 12 & 63]);
		pd_buf_addc(b, i + 1 < n ? b64_alphabet[v >> 6 & 63] : '=');
		pd_buf_addc(b, '=');
	}
}

static bool is_ascii_printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

static bool has_line_break(const char *s)
{
	return strpbrk(s, "\r\n") != NULL;
}

/* Length of the UTF-8 sequence starting with byte c (s is known valid). */
static size_t utf8_seq_len(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0)
		return 2;
	if ((c & 0xf0) == 0xe0)
		return 3;
	return 4;
}

/* Encoded words never splitting a UTF-8 character, each on its own line
 * (folded with CRLF SP) of at most 76 characters; `col` is where the first
 * word starts (after "Subject: "). Keeps every word within RFC 2047's 75. */
static void add_encoded_words(pd_buf *b, const char *s, size_t col)
{
	size_t n = strlen(s), i = 0;
	while (i < n) {
		/* 12 characters of =?UTF-8?B??= frame; 4 base64 chars per 3 bytes. */
		size_t room = col + 12 < 76 ? 76 - col - 12 : 4;
		size_t max_bytes = room / 4 * 3;
		if (max_bytes < 4)
			max_bytes = 4; /* always room for one character */
		size_t j = i;
		while (j < n) {
			size_t l = utf8_seq_len((unsigned char)s[j]);
			if (j + l - i > max_bytes && j > i)
				break;
			j += l;
		}
		if (i > 0)
			pd_buf_add(b, "\r\n ");
		pd_buf_add(b, "=?UTF-8?B?");
		pd_mail_base64(b, (const unsigned char *)s + i, j - i);
		pd_buf_add(b, "?=");
		col = 1;
		i = j;
	}
}

/* Header text (unstructured): kept as is when short printable ASCII that
 * cannot be mistaken for an encoded word, else encoded. */
static void add_unstructured(pd_buf *b, const char *name, const char *value)
{
	pd_buf_add(b, name);
	pd_buf_add(b, ": ");
	if (is_ascii_printable(value) && strlen(name) + 2 + strlen(value) <= 78 &&
	    !strstr(value, "=?"))
		pd_buf_add(b, value);
	else
		add_encoded_words(b, value, strlen(name) + 2);
	pd_buf_add(b, "\r\n");
}

static bool addr_ok(const char *a, size_t n)
{
	const char *at = memchr(a, '@', n);
	if (n == 0 || n > 254 || !at || at == a || at == a + n - 1)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)a[i];
		if (c <= 0x20 || c >= 0x7f || strchr("<>()[]\\,;:\"", c))
			return false;
	}
	return memchr(at + 1, '@', (size_t)(a + n - at - 1)) == NULL;
}

pd_status pd_mail_parse_from(const char *from, char **name, char **addr, pd_err *e)
{
	*name = *addr = NULL;
	if (!from || !*from)
		return pd_fail(
		    e, PD_E_CONFIG, "smtp.from",
		    _("smtp.from is required to send mail (e.g. Support <support@example.com>)"));
	if (has_line_break(from) || !pd_utf8_valid(from, strlen(from)))
		return pd_fail(e, PD_E_CONFIG, "smtp.from",
		               _("smtp.from must be one line of valid UTF-8"));
	const char *lt = strrchr(from, '<');
	if (!lt) {
		char *t = pd_trim(from);
		if (!addr_ok(t, strlen(t))) {
			pd_fail(
			    e, PD_E_CONFIG, "smtp.from",
			    _("smtp.from \"%s\" is not an address (expected Name <addr@domain>)"),
			    from);
			free(t);
			return PD_E_CONFIG;
		}
		*addr = t;
		*name = xstrdup("");
		return PD_OK;
	}
	const char *gt = strchr(lt, '>');
	const char *rest = gt ? gt + 1 : NULL;
	while (rest && (*rest == ' ' || *rest == '\t'))
		rest++;
	if (!gt || *rest || !addr_ok(lt + 1, (size_t)(gt - lt - 1)))
		return pd_fail(
		    e, PD_E_CONFIG, "smtp.from",
		    _("smtp.from \"%s\" is not an address (expected Name <addr@domain>)"), from);
	*addr = xstrndup(lt + 1, (size_t)(gt - lt - 1));
	char *raw = xstrndup(from, (size_t)(lt - from));
	char *t = pd_trim(raw);
	free(raw);
	size_t tl = strlen(t);
	if (tl >= 2 && t[0] == '"' && t[tl - 1] == '"') {
		memmove(t, t + 1, tl - 2);
		t[tl - 2] = '\0';
	}
	*name = t;
	return PD_OK;
}

/* From: display name as is when plain ASCII (quoted if it holds specials),
 * encoded when not. */
static void add_from(pd_buf *b, const char *name, const char *addr)
{
	pd_buf_add(b, "From: ");
	if (*name) {
		if (!is_ascii_printable(name) || strstr(name, "=?")) {
			add_encoded_words(b, name, 6);
		} else if (strpbrk(name, "()<>[]:;@\\,.\"")) {
			pd_buf_addc(b, '"');
			for (const char *p = name; *p; p++) {
				if (*p == '"' || *p == '\\')
					pd_buf_addc(b, '\\');
				pd_buf_addc(b, *p);
			}
			pd_buf_addc(b, '"');
		} else {
			pd_buf_add(b, name);
		}
		pd_buf_add(b, " <");
		pd_buf_add(b, addr);
		pd_buf_add(b, ">\r\n");
	} else {
		pd_buf_add(b, addr);
		pd_buf_add(b, "\r\n");
	}
}

void pd_mail_date(int64_t t, char out[40])
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	/* English names whatever the locale: RFC 5322 fixes them. */
	snprintf(out, 40, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
	         months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* 7bit is only honest for ASCII without long lines or stray control bytes. */
static bool body_is_7bit(const char *s)
{
	size_t line = 0;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '\n') {
			line = 0;
			continue;
		}
		if (c >= 0x80 || (c < 0x20 && c != '\t' && c != '\r') || c == 0x7f)
			return false;
		if (c == '\r' && s[1] != '\n')
			return false;
		if (++line > 900)
			return false;
	}
	return true;
}

/* One logical line (without its line end) as quoted-printable, with soft
 * breaks keeping every output line within 76 characters (RFC 2045 §6.7). */
static void add_qp_line(pd_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t col = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char tok[4];
		size_t tl;
		bool last = i + 1 == n;
		if ((c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !last)) {
			tok[0] = (char)c;
			tl = 1;
		} else {
			tok[0] = '=';
			tok[1] = hex[c >> 4];
			tok[2] = hex[c & 15];
			tl = 3;
		}
		/* Leave room for the "=" of a soft break unless this ends the line. */
		if (col + tl > (last ? 76 : 75)) {
			pd_buf_add(b, "=\r\n");
			col = 0;
		}
		pd_buf_addn(b, tok, tl);
		col += tl;
	}
	pd_buf_add(b, "\r\n");
}

/* Each line of s re-ended with CRLF; a final line without a line end is
 * kept, an empty tail after the last LF is not. */
static void add_body(pd_buf *b, const char *s, bool qp)
{
	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);
		size_t m = n && s[n - 1] == '\r' ? n - 1 : n;
		if (qp) {
			add_qp_line(b, s, m);
		} else {
			pd_buf_addn(b, s, m);
			pd_buf_add(b, "\r\n");
		}
		s += nl ? n + 1 : n;
	}
}

pd_status pd_mail_render(const char *from, const pd_mail_message *m, char **out, pd_err *e)
{
	*out = NULL;
	if (!m->to || !addr_ok(m->to, strlen(m->to)))
		return pd_fail(e, PD_E_INVALID, "to", _("recipient \"%s\" is not a valid address"),
		               m->to ? m->to : "");
	const char *subject = m->subject ? m->subject : "";
	const char *body = m->body ? m->body : "";
	if (has_line_break(subject))
		return pd_fail(e, PD_E_INVALID, "subject", _("the subject must be a single line"));
	if (!pd_utf8_valid(subject, strlen(subject)))
		return pd_fail(e, PD_E_INVALID, "subject", _("the subject is not valid UTF-8"));
	if (!pd_utf8_valid(body, strlen(body)))
		return pd_fail(e, PD_E_INVALID, "body", _("the body is not valid UTF-8"));
	if (m->message_id && (has_line_break(m->message_id) || m->message_id[0] != '<'))
		return pd_fail(e, PD_E_INVALID, "message_id",
		               _("the Message-ID must be <…@…> on one line"));

	char *name, *addr;
	pd_status st = pd_mail_parse_from(from, &name, &addr, e);
	if (st != PD_OK)
		return st;

	pd_buf b = {0};
	char date[40];
	pd_mail_date(m->date ? m->date : pd_now(), date);
	pd_buf_printf(&b, "Date: %s\r\n", date);
	add_from(&b, name, addr);
	pd_buf_printf(&b, "To: %s\r\n", m->to);
	add_unstructured(&b, "Subject", subject);
	if (m->message_id) {
		pd_buf_printf(&b, "Message-ID: %s\r\n", m->message_id);
	} else {
		char uuid[37];
		pd_uuid_v4(uuid);
		pd_buf_printf(&b, "Message-ID: <%s@%s>\r\n", uuid, strchr(addr, '@') + 1);
	}
	bool qp = !body_is_7bit(body);
	pd_buf_add(&b, "MIME-Version: 1.0\r\n"
	               "Content-Type: text/plain; charset=UTF-8\r\n");
	pd_buf_printf(&b, "Content-Transfer-Encoding: %s\r\n\r\n",
	              qp ? "quoted-printable" : "7bit");
	add_body(&b, body, qp);
	free(name);
	free(addr);
	*out = pd_buf_steal(&b);
	return PD_OK;
}

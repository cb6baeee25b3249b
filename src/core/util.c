/* Shared helpers: aborting allocation, growable buffers, UTF-8 (via utf8proc
 * so nothing depends on the process locale: only C.UTF-8 exists on the
 * target machines), the fold key, UUIDs, calendar days and the audit actor. */
#include "provdesk/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <utf8proc.h>

static void oom(size_t n)
{
	fprintf(stderr, "provdesk: out of memory (%zu bytes)\n", n);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom(n);
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom(n * size);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		oom(n);
	return q;
}

void *pd_ring_grow(void *ring, size_t elem, size_t *head, size_t n, size_t *cap, size_t min)
{
	size_t nc = *cap ? *cap * 2 : min;
	char *q = xcalloc(nc, elem);
	const char *r = ring;
	for (size_t i = 0; i < n; i++)
		memcpy(q + i * elem, r + (*head + i) % *cap * elem, elem);
	free(ring);
	*head = 0;
	*cap = nc;
	return q;
}

char *xstrdup(const char *s)
{
	if (!s)
		return NULL;
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	if (!s)
		return NULL;
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);
	memcpy(p, s, len);
	p[len] = 0;
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p = NULL;
	va_start(ap, fmt);
	int r = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (r < 0)
		oom(0);
	return p;
}

void pd_set_str(char **p, const char *s)
{
	char *copy = xstrdup(s); /* before free: s may alias *p */
	free(*p);
	*p = copy;
}

/* ---- pd_buf ---- */

static void buf_reserve(pd_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	b->s = xrealloc(b->s, cap);
	b->cap = cap;
}

void pd_buf_addn(pd_buf *b, const char *s, size_t n)
{
	buf_reserve(b, n);
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = 0;
}

void pd_thread_keep(pd_thread_slot *slot, void *p, void (*destroy)(void *))
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutex_lock(&mu);
	if (!slot->ready) {
		if (pthread_key_create(&slot->key, destroy) != 0) {
			fprintf(stderr, "provdesk: out of thread-specific keys\n");
			abort();
		}
		slot->ready = true;
	}
	pthread_mutex_unlock(&mu);
	pthread_setspecific(slot->key, p);
}

void pd_thread_name(const char *name)
{
	char n[16];
	pd_utf8_copys(n, sizeof n, name);
	pthread_setname_np(pthread_self(), n); /* a name is a help, never a need */
}

void pd_buf_add(pd_buf *b, const char *s)
{
	pd_buf_addn(b, s, strlen(s));
}

void pd_buf_addc(pd_buf *b, char c)
{
	pd_buf_addn(b, &c, 1);
}

void pd_buf_printf(pd_buf *b, const char *fmt, ...)
{
	/* Into the room there is first: formatting twice (measure, then
	 * write) was half of rendering each imported customer's invitation. */
	size_t room = b->cap > b->len ? b->cap - b->len : 0;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(room ? b->s + b->len : NULL, room, fmt, ap);
	va_end(ap);
	if (n < 0) {
		if (room)
			b->s[b->len] = 0;
		return;
	}
	if ((size_t)n >= room) {
		buf_reserve(b, (size_t)n);
		va_start(ap, fmt);
		vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

char *pd_buf_steal(pd_buf *b)
{
	char *s = b->s ? b->s : xstrdup("");
	b->s = NULL;
	b->len = b->cap = 0;
	return s;
}

void pd_buf_free(pd_buf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}

int pd_read_stream(FILE *f, size_t max, char **data, size_t *len)
{
	*data = NULL;
	pd_buf b = {0};
	char chunk[8192];
	size_t r, want = sizeof chunk;
	while ((max == 0 || b.len < max) &&
	       (r = fread(chunk, 1, max && max - b.len < want ? max - b.len : want, f)) > 0)
		pd_buf_addn(&b, chunk, r);
	if (ferror(f)) {
		int err = errno ? errno : EIO;
		pd_buf_free(&b);
		return err;
	}
	if (len)
		*len = b.len;
	*data = pd_buf_steal(&b);
	return 0;
}

int pd_read_file(const char *path, size_t max, char **data, size_t *len)
{
	*data = NULL;
	FILE *f = fopen(path, "rb");
	if (!f)
		return errno;
	int err = pd_read_stream(f, max, data, len);
	fclose(f);
	return err;
}

/* ---- UTF-8 ---- */

bool pd_ascii(const char *s, size_t n)
{
	uint64_t hi = 0, w;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		memcpy(&w, s + i, 8);
		hi |= w;
	}
	for (; i < n; i++)
		hi |= (unsigned char)s[i];
	return !(hi & 0x8080808080808080ull);
}

bool pd_utf8_valid(const char *s, size_t n)
{
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
	size_t i = 0;
	while (i < n) {
		/* ASCII, most of what a PBX or a form sends, eight bytes at a
		 * time; the decoder only from the first byte >= 0x80 */
		uint64_t w;
		while (n - i >= 8 && (memcpy(&w, p + i, 8), !(w & 0x8080808080808080ull)))
			i += 8;
		while (i < n && p[i] < 0x80)
			i++;
		if (i == n)
			break;
		utf8proc_int32_t cp;
		utf8proc_ssize_t k = utf8proc_iterate(p + i, (utf8proc_ssize_t)(n - i), &cp);
		if (k <= 0 || cp < 0)
			return false;
		i += (size_t)k;
	}
	return true;
}

int pd_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool pd_cp_unsafe(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 ||
	       (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xFEFF;
}

size_t pd_term_escape(pd_buf *out, const char *s, size_t n, bool keep_lines)
{
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
	size_t i = 0, esc = 0;
	while (i < n) {
		utf8proc_int32_t cp;
		utf8proc_ssize_t k = utf8proc_iterate(p + i, (utf8proc_ssize_t)(n - i), &cp);
		if (k <= 0 || cp < 0) {
			pd_buf_printf(out, "\\x%02x", p[i]);
			esc++;
			i++;
			continue;
		}
		if (keep_lines && (cp == '\n' || cp == '\t')) {
			pd_buf_addc(out, (char)cp);
		} else if (pd_cp_unsafe((uint32_t)cp)) {
			if (cp < 0x100)
				pd_buf_printf(out, "\\x%02x", (unsigned)cp);
			else
				pd_buf_printf(out, "\\u%04x", (unsigned)cp);
			esc++;
		} else {
			pd_buf_addn(out, s + i, (size_t)k);
		}
		i += (size_t)k;
	}
	return esc;
}

size_t pd_utf8_cut(const char *s, size_t n, size_t max)
{
	if (n <= max)
		return n;
	/* back over at most three continuation bytes to a lead byte whose
	 * character does not fit; bytes that are not UTF-8 are cut where asked */
	size_t i = max;
	while (i > 0 && max - i < 3 && ((unsigned char)s[i] & 0xC0) == 0x80)
		i--;
	unsigned char lead = (unsigned char)s[i];
	size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
	return i < max && lead >= 0xC0 && max - i < need ? i : max;
}

size_t pd_utf8_end_whole(char *s)
{
	size_t n = strlen(s), i = n;
	while (i > 0 && n - i < 4 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
		i--;
	if (i == 0 || n - i >= 4)
		return n; /* no lead byte within reach: not a cut code point */
	unsigned char lead = (unsigned char)s[i - 1];
	size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
	if (n - (i - 1) < need) {
		s[i - 1] = '\0';
		return i - 1;
	}
	return n;
}

bool pd_utf8_copy(char *dst, size_t cap, const char *s, size_t n)
{
	size_t k = cap ? pd_utf8_cut(s, n, cap - 1) : 0;
	if (cap) {
		memcpy(dst, s, k);
		dst[k] = '\0';
	}
	return k < n;
}

bool pd_utf8_copys(char *dst, size_t cap, const char *s)
{
	return pd_utf8_copy(dst, cap, s ? s : "", s ? strlen(s) : 0);
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
/* Whether a conversion of fmt has a precision (%.60s, %.*s). */
static bool has_precision(const char *fmt)
{
	for (const char *p = fmt; (p = strchr(p, '%'));) {
		p++;
		p += strspn(p, "-+ #0'*0123456789");
		if (*p == '.')
			return true;
		if (*p == '%')
			p++;
	}
	return false;
}

const char *pd_fmt_conv(pd_buf *b, const char *pct, va_list *ap, int saved_errno)
{
	const char *q = pct + 1;
	/* one conversion, rebuilt with its width and precision as digits:
	 * %[flags][width][.precision][length]conversion */
	char spec[48] = "%";
	size_t sn = 1;
	while (*q && strchr("-+ #0'", *q) && sn < 8)
		spec[sn++] = *q++;
	int width = -1, prec = -1;
	if (*q == '*') {
		width = va_arg(*ap, int);
		if (width < 0) {
			spec[sn++] = '-';
			width = width == INT_MIN ? INT_MAX : -width;
		}
		q++;
	} else {
		for (; *q >= '0' && *q <= '9'; q++)
			width = (width < 0 ? 0 : width) * 10 % 100000000 + (*q - '0');
	}
	if (*q == '.') {
		q++;
		if (*q == '*') {
			prec = va_arg(*ap, int); /* negative: as if none */
			q++;
		} else {
			prec = 0;
			for (; *q >= '0' && *q <= '9'; q++)
				prec = prec * 10 % 100000000 + (*q - '0');
		}
	}
	const char *len = q;
	while (*q && strchr("hlzjtLq", *q))
		q++;
	size_t ln = (size_t)(q - len);
	char conv = *q;
	if (!conv || ln > 2 || ((conv == 's' || conv == 'c') && ln))
		return NULL; /* not a conversion (or a wide %ls, %lc) */
	q++;
	if (width >= 0)
		sn += (size_t)snprintf(spec + sn, sizeof spec - sn, "%d", width);
	const char *s = NULL;
	if (conv == 's' || conv == 'm') {
		s = conv == 'm' ? strerror(saved_errno) : va_arg(*ap, const char *);
		if (!s)
			s = "(null)";
		if (prec >= 0) /* cut here, on a code point */
			prec = (int)pd_utf8_cut(s, strnlen(s, (size_t)prec + 1), (size_t)prec);
		conv = 's';
		ln = 0;
	}
	if (prec >= 0)
		sn += (size_t)snprintf(spec + sn, sizeof spec - sn, ".%d", prec);
	/* an integer is read by its length and printed as intmax_t (hh and
	 * h applied by a cast), so one call serves every length */
	bool integer = strchr("diouxX", conv) != NULL;
	const char *put = integer ? "j" : len;
	size_t pn = integer ? 1 : ln;
	memcpy(spec + sn, put, pn);
	sn += pn;
	spec[sn++] = conv;
	spec[sn] = '\0';
	char l0 = ln ? len[0] : 0;
	bool hh = ln == 2 && l0 == 'h', h1 = ln == 1 && l0 == 'h';
	bool ll = (ln == 2 && l0 == 'l') || l0 == 'q', l1 = ln == 1 && l0 == 'l';
	bool zt = l0 == 'z' || l0 == 't', j = l0 == 'j';
	switch (conv) {
	case 's':
		pd_buf_printf(b, spec, s);
		break;
	case 'd':
	case 'i': {
		intmax_t v = ll   ? va_arg(*ap, long long)
		             : l1 ? va_arg(*ap, long)
		             : zt ? va_arg(*ap, ptrdiff_t)
		             : j  ? va_arg(*ap, intmax_t)
		                  : va_arg(*ap, int);
		pd_buf_printf(b, spec, hh ? (signed char)v : h1 ? (short)v : v);
		break;
	}
	case 'u':
	case 'o':
	case 'x':
	case 'X': {
		uintmax_t v = ll   ? va_arg(*ap, unsigned long long)
		              : l1 ? va_arg(*ap, unsigned long)
		              : zt ? va_arg(*ap, size_t)
		              : j  ? va_arg(*ap, uintmax_t)
		                   : va_arg(*ap, unsigned);
		pd_buf_printf(b, spec, hh ? (unsigned char)v : h1 ? (unsigned short)v : v);
		break;
	}
	case 'c':
		pd_buf_printf(b, spec, va_arg(*ap, int));
		break;
	case 'p':
		pd_buf_printf(b, spec, va_arg(*ap, void *));
		break;
	case 'f':
	case 'F':
	case 'e':
	case 'E':
	case 'g':
	case 'G':
	case 'a':
	case 'A':
		if (l0 == 'L')
			pd_buf_printf(b, spec, va_arg(*ap, long double));
		else
			pd_buf_printf(b, spec, va_arg(*ap, double));
		break;
	case '%':
		pd_buf_addc(b, '%');
		break;
	default:
		return NULL; /* %n or unknown */
	}
	return q;
}

size_t pd_vsnprintf(char *buf, size_t cap, const char *fmt, va_list ap)
{
	int saved_errno = errno; /* for %m, before anything can change it */
	if (cap && !has_precision(fmt)) {
		/* no precision to cut a string: when it all fits, C's is the same
		 * (the UI formats every cell and label this way) */
		va_list fast;
		va_copy(fast, ap);
		int n = vsnprintf(buf, cap, fmt, fast);
		va_end(fast);
		if (n >= 0 && (size_t)n < cap)
			return (size_t)n;
		errno = saved_errno;
	}
	pd_buf b = {0};
	va_list aq;
	va_copy(aq, ap);
	const char *p = fmt;
	while (*p) {
		const char *pct = strchr(p, '%');
		if (!pct) {
			pd_buf_add(&b, p);
			break;
		}
		pd_buf_addn(&b, p, (size_t)(pct - p));
		p = pd_fmt_conv(&b, pct, &aq, saved_errno);
		if (!p) { /* not one we read: the rest as written */
			pd_buf_add(&b, pct);
			break;
		}
	}
	va_end(aq);
	size_t n = 0;
	if (cap) {
		n = pd_utf8_cut(b.s ? b.s : "", b.len, cap - 1);
		if (n)
			memcpy(buf, b.s, n);
		buf[n] = '\0';
	}
	pd_buf_free(&b);
	errno = saved_errno;
	return n;
}
#pragma GCC diagnostic pop

size_t pd_snprintf(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t n = pd_vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
	return n;
}

size_t pd_utf8_chars(const char *s)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		n += (*p & 0xC0) != 0x80;
	return n;
}

int pd_utf8_width(const char *s)
{
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
	int w = 0;
	while (*p) {
		utf8proc_int32_t cp;
		utf8proc_ssize_t k = utf8proc_iterate(p, -1, &cp);
		if (k <= 0) {
			p++;
			w++;
			continue;
		}
		w += utf8proc_charwidth(cp);
		p += k;
	}
	return w;
}

static bool is_space_cp(utf8proc_int32_t cp)
{
	if (cp == ' ' || (cp >= 0x09 && cp <= 0x0D) || cp == 0x85 || cp == 0xA0 || cp == 0xFEFF)
		return true;
	utf8proc_category_t c = utf8proc_category(cp);
	return c == UTF8PROC_CATEGORY_ZS || c == UTF8PROC_CATEGORY_ZL || c == UTF8PROC_CATEGORY_ZP;
}

char *pd_trim(const char *s)
{
	if (!s)
		return xstrdup("");
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
	size_t n = strlen(s), i = 0, start = n, end = 0;
	while (i < n) {
		utf8proc_int32_t cp;
		utf8proc_ssize_t k;
		bool space;
		if (p[i] < 0x80) { /* ASCII: no decoding (issue 19) */
			cp = p[i];
			k = 1;
			space = cp == ' ' || (cp >= 0x09 && cp <= 0x0D);
		} else {
			k = utf8proc_iterate(p + i, (utf8proc_ssize_t)(n - i), &cp);
			if (k <= 0) { /* invalid byte: keep it, the validators report it */
				cp = -1;
				k = 1;
			}
			space = cp >= 0 && is_space_cp(cp);
		}
		if (!space) {
			if (start == n)
				start = i;
			end = i + (size_t)k;
		}
		i += (size_t)k;
	}
	if (start == n)
		return xstrdup("");
	return xstrndup(s + start, end - start);
}

/* The last non-ASCII keys folded by this thread, so that a field folded
 * again (an import folds a name for its duplicate check, the name_key, the
 * search text…) costs a compare (issue 19). Fixed buffers: nothing to free
 * when a thread ends. */
#define FOLD_MEMO 4
#define FOLD_MEMO_IN 160
#define FOLD_MEMO_OUT 320
static _Thread_local struct {
	char in[FOLD_MEMO_IN], out[FOLD_MEMO_OUT];
} fold_memo[FOLD_MEMO];
static _Thread_local unsigned fold_memo_next;

static char *fold_utf8proc(const char *s)
{
	utf8proc_uint8_t *out = NULL;
	/* IGNORE drops default-ignorables (zero-width space, soft hyphen) so
	 * "Ac<ZWSP>me" cannot pose as a second "Acme"; LUMP maps look-alike
	 * punctuation and spaces to ASCII so "O’Brien" finds "O'Brien". */
	utf8proc_ssize_t r = utf8proc_map((const utf8proc_uint8_t *)s, 0, &out,
	                                  UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_DECOMPOSE |
	                                      UTF8PROC_COMPAT | UTF8PROC_CASEFOLD |
	                                      UTF8PROC_STRIPMARK | UTF8PROC_IGNORE | UTF8PROC_LUMP);
	if (r < 0) {
		free(out);
		return NULL;
	}
	/* utf8proc allocates with malloc, so callers free() it as usual. */
	return (char *)out;
}

char *pd_fold_key(const char *s)
{
	if (!s)
		return NULL;
	/* ASCII: the mapping above is then exactly A-Z -> a-z (no ASCII
	 * character decomposes, is ignorable, lumped or a mark; tests/core
	 * compare every ASCII byte with utf8proc). */
	size_t n = 0;
	bool ascii = true;
	for (; s[n]; n++)
		ascii = ascii && !((unsigned char)s[n] & 0x80);
	if (ascii) {
		char *out = xmalloc(n + 1);
		for (size_t i = 0; i <= n; i++) {
			char c = s[i];
			out[i] = c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c;
		}
		return out;
	}
	if (n < FOLD_MEMO_IN)
		for (unsigned i = 0; i < FOLD_MEMO; i++)
			if (fold_memo[i].in[0] && strcmp(fold_memo[i].in, s) == 0)
				return xstrdup(fold_memo[i].out);
	char *out = fold_utf8proc(s);
	if (out && n < FOLD_MEMO_IN && strlen(out) < FOLD_MEMO_OUT) {
		unsigned i = fold_memo_next++ % FOLD_MEMO;
		memcpy(fold_memo[i].in, s, n + 1);
		memcpy(fold_memo[i].out, out, strlen(out) + 1);
	}
	return out;
}

/* ---- UUID ---- */

static void random_bytes(unsigned char *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = getrandom(buf + got, n - got, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		got += (size_t)r;
	}
	if (got == n)
		return;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	while (fd >= 0 && got < n) {
		ssize_t r = read(fd, buf + got, n - got);
		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			break;
		}
		got += (size_t)r;
	}
	if (fd >= 0)
		close(fd);
	if (got < n) {
		/* A tenant id that may collide is worse than stopping. */
		fprintf(stderr, "provdesk: no source of random numbers\n");
		abort();
	}
}

void pd_uuid_v4(char out[37])
{
	unsigned char b[16];
	random_bytes(b, sizeof b);
	b[6] = (unsigned char)((b[6] & 0x0F) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3F) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	         b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
	         b[13], b[14], b[15]);
}

/* ---- calendar (proleptic Gregorian, H. Hinnant's days_from_civil) ---- */

static pd_day days_from_civil(int y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (pd_day)(era * 146097 + (int)doe - 719468);
}

static void civil_from_days(pd_day z0, int *y, unsigned *m, unsigned *d)
{
	int z = z0 + 719468;
	int era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int yy = (int)yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yy + (*m <= 2);
}

static int days_in_month(int y, unsigned m)
{
	static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : dm[m - 1];
}

static bool digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

bool pd_day_parse(const char *s, pd_day *out)
{
	int y, m, d;
	if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return false;
	if (!digits(s, 4, &y) || !digits(s + 5, 2, &m) || !digits(s + 8, 2, &d))
		return false;
	if (y < 1900 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, (unsigned)m))
		return false;
	*out = days_from_civil(y, (unsigned)m, (unsigned)d);
	return true;
}

void pd_day_format(pd_day d, char out[11])
{
	int y;
	unsigned m, dd;
	civil_from_days(d, &y, &m, &dd);
	if (y < 0 || y > 9999)
		y = 0;
	out[0] = (char)('0' + y / 1000);
	out[1] = (char)('0' + y / 100 % 10);
	out[2] = (char)('0' + y / 10 % 10);
	out[3] = (char)('0' + y % 10);
	out[4] = '-';
	out[5] = (char)('0' + m / 10 % 10);
	out[6] = (char)('0' + m % 10);
	out[7] = '-';
	out[8] = (char)('0' + dd / 10 % 10);
	out[9] = (char)('0' + dd % 10);
	out[10] = 0;
}

bool pd_period_parse(const char *s, pd_day *first, int *ndays)
{
	int y, m;
	if (!s || strlen(s) != 7 || s[4] != '-')
		return false;
	if (!digits(s, 4, &y) || !digits(s + 5, 2, &m))
		return false;
	if (y < 1900 || m < 1 || m > 12)
		return false;
	if (first)
		*first = days_from_civil(y, (unsigned)m, 1);
	if (ndays)
		*ndays = days_in_month(y, (unsigned)m);
	return true;
}

/* ---- audit actor ---- */

void pd_actor_current(pd_actor *a)
{
	memset(a, 0, sizeof *a);
	struct passwd pw, *res = NULL;
	char buf[1024];
	uid_t uid = geteuid();
	if (getpwuid_r(uid, &pw, buf, sizeof buf, &res) == 0 && res && res->pw_name)
		snprintf(a->user, sizeof a->user, "%s", res->pw_name);
	else
		snprintf(a->user, sizeof a->user, "uid %u", (unsigned)uid);

	/* "client_ip client_port server_ip server_port" (SSH_CLIENT has 3 fields). */
	const char *ssh = getenv("SSH_CONNECTION");
	if (!ssh || !*ssh)
		ssh = getenv("SSH_CLIENT");
	if (ssh && *ssh) {
		size_t n = strcspn(ssh, " \t");
		if (n >= sizeof a->client)
			n = sizeof a->client - 1;
		memcpy(a->client, ssh, n);
		a->client[n] = 0;
	}
}

/* ---- secrets kept in memory ---- */

void pd_masked_set(pd_masked *m, const char *secret)
{
	pd_masked_clear(m);
	if (!secret || !*secret)
		return;
	m->len = strlen(secret);
	m->masked = xmalloc(m->len);
	m->pad = xmalloc(m->len);
	size_t got = 0;
	while (got < m->len) {
		ssize_t r = getrandom(m->pad + got, m->len - got, 0);
		if (r > 0)
			got += (size_t)r;
		else if (r < 0 && errno != EINTR)
			break;
	}
	for (size_t i = got; i < m->len; i++) /* no getrandom: still not the text */
		m->pad[i] = (unsigned char)(0xA5 ^ (i * 131));
	for (size_t i = 0; i < m->len; i++)
		m->masked[i] = (unsigned char)secret[i] ^ m->pad[i];
}

bool pd_masked_isset(const pd_masked *m)
{
	return m->len > 0;
}

char *pd_masked_reveal(const pd_masked *m)
{
	char *s = xmalloc(m->len + 1);
	for (size_t i = 0; i < m->len; i++)
		s[i] = (char)(m->masked[i] ^ m->pad[i]);
	s[m->len] = 0;
	return s;
}

void pd_masked_clear(pd_masked *m)
{
	if (m->masked)
		explicit_bzero(m->masked, m->len);
	if (m->pad)
		explicit_bzero(m->pad, m->len);
	free(m->masked);
	free(m->pad);
	memset(m, 0, sizeof *m);
}

void pd_secret_free(char *s)
{
	if (!s)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

void pd_buf_reserve(pd_buf *b, size_t extra)
{
	buf_reserve(b, extra);
}

void pd_buf_wipe_free(pd_buf *b)
{
	if (b->s)
		explicit_bzero(b->s, b->cap);
	pd_buf_free(b);
}

size_t pd_int_hash(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	return (size_t)(h ^ h >> 33);
}

size_t pd_str_hash(const char *s)
{
	size_t n = strlen(s);
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n, w;
	for (; n >= 8; n -= 8, s += 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	w = 0;
	for (size_t i = 0; i < n; i++)
		w |= (uint64_t)(unsigned char)s[i] << (8 * i);
	/* the tail, then murmur3's finaliser: every bit reaches the low ones
	 * a table masks (ids differ in their last digits) */
	return pd_int_hash(h ^ w);
}

long pd_fd_limit_raise(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl))
		return -1;
	rlim_t want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > (rlim_t)1 << 20
	                  ? (rlim_t)1 << 20
	                  : rl.rlim_max;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
		struct rlimit up = {want, rl.rlim_max};
		if (!setrlimit(RLIMIT_NOFILE, &up))
			rl.rlim_cur = want;
	}
	return rl.rlim_cur == RLIM_INFINITY ? LONG_MAX : (long)rl.rlim_cur;
}

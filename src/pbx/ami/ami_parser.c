/* Incremental AMI parser: see include/provdesk/ami.h for the accepted format.
 *
 * Lines are read where they lie: in the caller's read buffer (feed_rw) while
 * messages are whole in it; a message split across two reads is moved to the
 * parser's carry buffer (its bytes and its field offsets) and finished there.
 * Header lines are taken from bitmaps built per 64 bytes (fast_headers);
 * any other line gets one word-at-a-time scan that finds its end and any
 * control byte (the reference path). A field is four offsets (no copy),
 * NUL-terminated in place when the message is delivered. Known keys and
 * event names are found by perfect hashes as they are read (ami_getk,
 * ami_msg_event). The offset and field arrays are one scratch per thread
 * serving every parser on it (docs/architecture.md, "AMI ingest"). */
#include "provdesk/ami.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "provdesk/i18n.h"

/* ST_SKIP: after an error, to the next blank line; ST_PASS: an event of
 * opts.skip, passed over to its blank line (skip_lines). */
enum pstate { ST_BANNER, ST_HEADERS, ST_BODY, ST_SKIP, ST_PASS };

/* A field: offsets into the buffer the message is read from (base). */
typedef struct {
	uint32_t k, klen, v, vlen;
	uint32_t key; /* ami_key */
} field_off;

/* Per thread: the fields of the message being read, its ami_field array at
 * delivery, and the copy ami_parser_feed makes of const input. */
typedef struct {
	field_off *fo;
	size_t fo_cap;
	ami_field *f;
	size_t f_cap;
	char *rb;
	size_t rb_cap;
	bool busy; /* a parser is feeding on this thread (a nested feed gets its own) */
	/* the message delivered: its key index stays all zero between messages
	 * (deliver clears the entries it set), not cleared whole each time */
	ami_msg msg;
} scratch;

struct ami_parser {
	ami_parser_opts o;
	ami_msg_fn fn;
	void *ctx;
	enum pstate st;
	bool overlong; /* discarding the rest of a too-long line */
	bool follows;  /* "Response: Follows" seen: legacy body may start */
	bool has_body;
	ami_event ev; /* the current message's event, read with its first line */
	uint64_t line_no, msg_line, errors;
	uint64_t bad_fields; /* header lines dropped or values repaired (control bytes) */
	/* messages read in this feed, added to total_messages at its end (one
	 * atomic add per read, not one locked instruction per message) */
	uint64_t counted;
	/* while a feed runs: the fields are in sc->fo, offsets into base */
	scratch *sc;
	char *base;
	size_t nf;
	size_t msg_bytes; /* header bytes of the current message (the max_msg bound) */
	/* between reads: the current message's bytes from its first line, and
	 * the start of the partial line in them; the fields read so far */
	char *cb;
	size_t cb_len, cb_cap, line_start;
	field_off *saved;
	size_t nsaved, saved_cap;
	char *body;
	size_t body_len, body_cap;
};

/* ---- process-wide counters (benchmarks) ---- */

static _Atomic uint64_t total_messages;
static _Atomic long long total_held;

uint64_t ami_parser_total_messages(void)
{
	return atomic_load_explicit(&total_messages, memory_order_relaxed);
}

size_t ami_parser_total_held(void)
{
	long long v = atomic_load_explicit(&total_held, memory_order_relaxed);
	return v > 0 ? (size_t)v : 0;
}

static void held(long long delta)
{
	if (delta)
		atomic_fetch_add_explicit(&total_held, delta, memory_order_relaxed);
}

/* ---- known keys and events: a hash of the first and last 8 bytes ---- */

static const char *const key_names[AMI_K__COUNT] = {[AMI_K_NONE] = "",
#define AMI_X_(id, name) [AMI_K_##id] = name,
                                                    AMI_KEYS(AMI_X_)
#undef AMI_X_
};

static const char *const event_names[AMI_EV__COUNT] = {[AMI_EV_UNKNOWN] = "",
#define AMI_X_(id, name) [AMI_EV_##id] = name,
                                                       AMI_EVENTS(AMI_X_)
#undef AMI_X_
};

/* Both tables are perfect: names_init picks the hash's multiplier so that
 * no two names share a slot, so a lookup is one slot and one comparison,
 * with no probe loop whose length depends on the name (a branch the CPU
 * cannot predict on every header line). */
#define KEY_SLOTS 512u /* powers of two */
#define EV_SLOTS 512u
static uint8_t key_slot[KEY_SLOTS], ev_slot[EV_SLOTS];
static uint64_t key_mult, ev_mult;
static size_t key_len[AMI_K__COUNT], ev_len[AMI_EV__COUNT];
/* an event name's words unfolded: up to 16 bytes they are the whole name,
 * so equal words are an exact match */
static uint64_t ev_ra[AMI_EV__COUNT], ev_rb[AMI_EV__COUNT];
/* Every key name is letters only and at most 16 bytes: its two folded
 * words are the whole name, case-insensitively (names_init checks). */
static uint64_t key_a[AMI_K__COUNT], key_b[AMI_K__COUNT];
static pthread_once_t names_once = PTHREAD_ONCE_INIT;

/* The block scans in 32-byte vectors (ami_parser_wide_scan): compiled for
 * AVX2, BMI and POPCNT beside the baseline and chosen at run time, so one
 * binary serves any x86-64. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define AMI_WIDE 1
#define WIDE_TARGET __attribute__((target("avx2,bmi,bmi2,popcnt")))
#include <immintrin.h>
static bool cpu_wide(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi") &&
	       __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("popcnt");
}
#else
#define AMI_WIDE 0
static bool cpu_wide(void)
{
	return false;
}
#endif
static atomic_bool wide_scan;

/* Fixed-size loads (a variable-length memcpy is a call, and a load of what
 * it just stored stalls). */
static inline uint64_t load64(const char *s)
{
	uint64_t w;
	memcpy(&w, s, 8);
	return w;
}

static inline uint32_t load32(const char *s)
{
	uint32_t w;
	memcpy(&w, s, 4);
	return w;
}

/* n < 8 bytes at s, zero-padded (little-endian order, as load64). */
static inline uint64_t load_short(const char *s, size_t n)
{
	if (n >= 4) {
		uint64_t lo = load32(s), hi = load32(s + n - 4);
		uint64_t w = lo | hi << ((n - 4) * 8); /* overlapping bytes are equal */
		return n == 4 ? lo : w;
	}
	uint64_t w = 0;
	for (size_t i = 0; i < n; i++)
		w |= (uint64_t)(unsigned char)s[i] << (i * 8);
	return w;
}

#define FOLD 0x2020202020202020ull

/* An event name's first and last 8 bytes (all of it up to 16 bytes), as
 * they are: folded (| 0x20) they spread the hash, unfolded they are the
 * exact match. */
static inline void ev_raw_words(const char *s, size_t n, uint64_t *a, uint64_t *b)
{
	if (n >= 8) {
		*a = load64(s);
		*b = load64(s + n - 8);
	} else {
		*a = load_short(s, n);
		*b = 0;
	}
}

/* The bytes of a key of n <= 16 bytes that its two words keep. */
static const uint64_t key_mask_a[17] = {0,
                                        0xffull,
                                        0xffffull,
                                        0xffffffull,
                                        0xffffffffull,
                                        0xffffffffffull,
                                        0xffffffffffffull,
                                        0xffffffffffffffull,
                                        ~0ull,
                                        ~0ull,
                                        ~0ull,
                                        ~0ull,
                                        ~0ull,
                                        ~0ull,
                                        ~0ull,
                                        ~0ull,
                                        ~0ull};

static inline uint64_t key_mask_b(size_t n)
{
	return n > 8 ? key_mask_a[n - 8] : 0;
}

/* A key of n <= 16 bytes: bytes 0-7 and 8-15, zero-padded, folded (| 0x20:
 * case-insensitive for letters, and only letters fold onto letters). */
static inline void key_words(const char *s, size_t n, uint64_t *a, uint64_t *b)
{
	char w[16] = {0};
	memcpy(w, s, n);
	*a = load64(w) | FOLD;
	*b = load64(w + 8) | FOLD;
}

/* The same where 16 bytes from s are readable: two loads and two masks. */
static inline void key_words_wide(const char *s, size_t n, uint64_t *a, uint64_t *b)
{
	*a = (load64(s) & key_mask_a[n]) | FOLD;
	*b = (load64(s + 8) & key_mask_b(n)) | FOLD;
}

static inline uint32_t words_hash(uint64_t a, uint64_t b, size_t n, uint64_t mult, unsigned slots)
{
	uint64_t h = (a ^ (b >> 7 | b << 57) ^ (uint64_t)n) * mult;
	return (uint32_t)(h >> 40) & (slots - 1);
}

/* A multiplier under which the names' words land in distinct slots. */
static uint64_t perfect(const uint64_t *wa, const uint64_t *wb, const size_t *len, unsigned n,
                        uint8_t *slot, unsigned slots)
{
	uint64_t mult = 0x9e3779b97f4a7c15ull;
	for (int tries = 0; tries < 100000; tries++, mult += 0x632be59bd9b4e019ull * 2) {
		memset(slot, 0, slots);
		unsigned i = 1;
		for (; i < n; i++) {
			uint32_t h = words_hash(wa[i], wb[i], len[i], mult, slots);
			if (slot[h])
				break;
			slot[h] = (uint8_t)i;
		}
		if (i == n)
			return mult;
	}
	abort(); /* cannot happen for a few dozen names in 512 slots */
}

static void names_init(void)
{
	uint64_t ea[AMI_EV__COUNT], eb[AMI_EV__COUNT];
	for (unsigned i = 1; i < AMI_K__COUNT; i++) {
		key_len[i] = strlen(key_names[i]);
		if (key_len[i] > 16)
			abort(); /* AMI_KEYS: see key_a */
		key_words(key_names[i], key_len[i], &key_a[i], &key_b[i]);
	}
	key_mult = perfect(key_a, key_b, key_len, AMI_K__COUNT, key_slot, KEY_SLOTS);
	for (unsigned i = 1; i < AMI_EV__COUNT; i++) {
		ev_len[i] = strlen(event_names[i]);
		ev_raw_words(event_names[i], ev_len[i], &ev_ra[i], &ev_rb[i]);
		ea[i] = ev_ra[i] | FOLD;
		eb[i] = ev_rb[i] | FOLD;
	}
	ev_mult = perfect(ea, eb, ev_len, AMI_EV__COUNT, ev_slot, EV_SLOTS);
	atomic_store_explicit(&wide_scan, cpu_wide(), memory_order_relaxed);
}

bool ami_parser_wide_scan(bool on)
{
	pthread_once(&names_once, names_init);
	bool w = on && cpu_wide();
	atomic_store_explicit(&wide_scan, w, memory_order_relaxed);
	return w;
}

static inline ami_key key_match(uint64_t a, uint64_t b, size_t n)
{
	unsigned i = key_slot[words_hash(a, b, n, key_mult, KEY_SLOTS)];
	/* slot 0's entry has length 0: never equal (n > 0) */
	return key_len[i] == n && key_a[i] == a && key_b[i] == b ? (ami_key)i : AMI_K_NONE;
}

/* wide: 16 bytes from s are readable (key_words_wide). */
static inline ami_key key_lookup(const char *s, size_t n, bool wide)
{
	if (n > 16)
		return AMI_K_NONE;
	uint64_t a, b;
	if (wide)
		key_words_wide(s, n, &a, &b);
	else
		key_words(s, n, &a, &b);
	return key_match(a, b, n);
}

static inline ami_event event_lookup(const char *s, size_t n)
{
	uint64_t a, b;
	ev_raw_words(s, n, &a, &b);
	unsigned i = ev_slot[words_hash(a | FOLD, b | FOLD, n, ev_mult, EV_SLOTS)];
	if (ev_len[i] != n || !n)
		return AMI_EV_UNKNOWN;
	bool same = n <= 16 ? ev_ra[i] == a && ev_rb[i] == b : !memcmp(event_names[i], s, n);
	return same ? (ami_event)i : AMI_EV_UNKNOWN;
}

void ami_skip_unread(ami_parser_opts *o)
{
#define AMI_X_(id, name) ami_skip_event(o, AMI_EV_##id);
	AMI_UNREAD_EVENTS(AMI_X_)
#undef AMI_X_
}

ami_key ami_key_of(const char *name, size_t len)
{
	pthread_once(&names_once, names_init);
	return len ? key_lookup(name, len, false) : AMI_K_NONE;
}

ami_event ami_event_of(const char *name, size_t len)
{
	pthread_once(&names_once, names_init);
	return len ? event_lookup(name, len) : AMI_EV_UNKNOWN;
}

const char *ami_key_name(ami_key k)
{
	return (unsigned)k < AMI_K__COUNT ? key_names[k] : "";
}

const char *ami_event_name(ami_event e)
{
	return (unsigned)e < AMI_EV__COUNT ? event_names[e] : "";
}

/* ---- the per-thread scratch ---- */

static pd_thread_slot scratch_slot;
static _Thread_local scratch *tl_scratch;

static void scratch_release(scratch *s)
{
	free(s->fo);
	free(s->f);
	free(s->rb);
	*s = (scratch){0};
}

static void scratch_destroy(void *v)
{
	scratch_release(v);
	free(v);
}

/* The thread's scratch (freed at thread exit). */
static scratch *scratch_get(void)
{
	if (!tl_scratch) {
		tl_scratch = xcalloc(1, sizeof *tl_scratch);
		pd_thread_keep(&scratch_slot, tl_scratch, scratch_destroy);
	}
	return tl_scratch;
}

/* A message of thousands of fields leaves the thread's arrays at their
 * ordinary size once it is delivered. */
#define KEEP_FIELDS 1024u
#define KEEP_BYTES (64u * 1024)

static void scratch_shrink(scratch *s)
{
	if (s->fo_cap > KEEP_FIELDS) {
		free(s->fo);
		s->fo = NULL;
		s->fo_cap = 0;
	}
	if (s->f_cap > KEEP_FIELDS) {
		free(s->f);
		s->f = NULL;
		s->f_cap = 0;
	}
}

/* ---- the parser ---- */

ami_parser *ami_parser_new(const ami_parser_opts *o, ami_msg_fn fn, void *ctx)
{
	pthread_once(&names_once, names_init);
	ami_parser *p = xcalloc(1, sizeof *p);
	if (o)
		p->o = *o;
	if (!p->o.max_line)
		p->o.max_line = 64 * 1024;
	if (!p->o.max_msg)
		p->o.max_msg = AMI_DEFAULT_MAX_MSG;
	/* offsets are 32-bit: a message is far smaller than this anyway */
	if (p->o.max_msg > (1u << 30))
		p->o.max_msg = 1u << 30;
	if (p->o.max_line > (1u << 30))
		p->o.max_line = 1u << 30;
	p->fn = fn;
	p->ctx = ctx;
	p->st = p->o.expect_banner ? ST_BANNER : ST_HEADERS;
	return p;
}

static void carry_free(ami_parser *p)
{
	held(-(long long)p->cb_cap);
	free(p->cb);
	p->cb = NULL;
	p->cb_len = p->cb_cap = p->line_start = 0;
}

static void saved_free(ami_parser *p)
{
	held(-(long long)(p->saved_cap * sizeof *p->saved));
	free(p->saved);
	p->saved = NULL;
	p->nsaved = p->saved_cap = 0;
}

static void body_free(ami_parser *p)
{
	held(-(long long)p->body_cap);
	free(p->body);
	p->body = NULL;
	p->body_len = p->body_cap = 0;
}

void ami_parser_free(ami_parser *p)
{
	if (!p)
		return;
	carry_free(p);
	saved_free(p);
	body_free(p);
	free(p);
}

static void msg_clear(ami_parser *p)
{
	p->nf = 0;
	p->msg_bytes = 0;
	p->follows = false;
	p->body_len = 0;
	p->has_body = false;
}

void ami_parser_reset(ami_parser *p)
{
	msg_clear(p);
	carry_free(p);
	saved_free(p);
	body_free(p);
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
	return p->cb_cap + p->body_cap + p->saved_cap * sizeof *p->saved;
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
	held((long long)c - (long long)*cap);
	*cap = c;
}

static void error_at(ami_parser *p, uint64_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void error_at(ami_parser *p, uint64_t line, const char *fmt, ...)
{
	char text[160];
	va_list ap;
	va_start(ap, fmt);
	pd_vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	p->errors++;
	msg_clear(p);
	p->st = ST_SKIP;
	ami_msg m = {.kind = AMI_MSG_ERROR, .text = text, .line = line};
	p->fn(&m, p->ctx);
	if (p->body_cap)
		body_free(p);
}

static void deliver(ami_parser *p)
{
	scratch *sc = p->sc;
	size_t nf = p->nf;
	if (sc->f_cap < nf) {
		sc->f_cap = nf * 2;
		free(sc->f);
		sc->f = xmalloc(sc->f_cap * sizeof *sc->f);
	}
	ami_msg *m = &sc->msg;
	m->f = sc->f;
	m->n = nf;
	m->line = p->msg_line;
	m->indexed = true;
	m->ev = AMI_EV_UNKNOWN;
	m->text = NULL;
	m->body = NULL;
	m->body_len = 0;
	/* last to first, with no branch: a key's first field is written last
	 * (at[AMI_K_NONE] takes the unknown keys' and is never read). The
	 * arrays do not overlap the read buffer: restrict keeps their addresses
	 * in registers across the byte stores, which may otherwise alias them. */
	char *restrict b = p->base;
	const field_off *restrict fo = sc->fo;
	ami_field *restrict f = sc->f;
	uint32_t *restrict at = m->at;
	for (size_t i = nf; i-- > 0;) {
		const field_off o = fo[i];
		b[o.k + o.klen] = '\0'; /* the colon */
		b[o.v + o.vlen] = '\0'; /* the CR or LF */
		f[i] = (ami_field){b + o.k, b + o.v, o.klen, o.vlen};
		at[o.key] = (uint32_t)i + 1;
	}
	at[AMI_K_NONE] = 0;
	switch (sc->fo[0].key) {
	case AMI_K_RESPONSE:
		m->kind = AMI_MSG_RESPONSE;
		break;
	case AMI_K_EVENT:
		m->kind = AMI_MSG_EVENT;
		m->ev = p->ev;
		break;
	case AMI_K_ACTION:
		m->kind = AMI_MSG_ACTION;
		break;
	default:
		m->kind = AMI_MSG_OTHER;
	}
	if (p->has_body) {
		grow(&p->body, &p->body_cap, p->body_len + 1);
		p->body[p->body_len] = '\0';
		m->body = p->body;
		m->body_len = p->body_len;
	}
	msg_clear(p);
	p->fn(m, p->ctx);
	/* a nested feed on this thread has its own scratch: sc->fo is as it was */
	for (size_t i = 0; i < nf; i++)
		m->at[sc->fo[i].key] = 0;
	p->counted++;
	if (p->body_cap)
		body_free(p); /* the legacy format is rare: keep nothing for it */
	scratch_shrink(sc);
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

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

static inline bool ctl_byte(const char *q, const char *end)
{
	unsigned char c = (unsigned char)*q;
	if (c == '\r')
		return !(q + 1 < end && q[1] == '\n'); /* a CR only ends the line */
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

/* The one scan of a line: the LF that ends it (NULL when s..end has none),
 * whether the line holds a control byte (C0 but TAB, DEL; a CR only just
 * before the LF is the line end) and its first colon (NULL when none before
 * the LF). 16 bytes at a time with SSE2, else 8 with plain words; only the
 * bytes a block flags (C0, DEL) are looked at one by one. */
#if defined(__SSE2__)
#include <emmintrin.h>

static const char *scan_line(const char *s, const char *end, bool *ctl, const char **colon)
{
	const __m128i c1f = _mm_set1_epi8(0x1f), del = _mm_set1_epi8(0x7f), co = _mm_set1_epi8(':');
	const char *q = s, *col = NULL;
	bool bad = false;
	for (; end - q >= 16; q += 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)q);
		if (!col) {
			unsigned mk = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, co));
			if (mk)
				col = q + __builtin_ctz(mk);
		}
		unsigned m = (unsigned)_mm_movemask_epi8(
		    _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(x, c1f), x), _mm_cmpeq_epi8(x, del)));
		while (m) {
			const char *b = q + __builtin_ctz(m);
			if (*b == '\n') {
				*ctl = bad;
				*colon = col && col < b ? col : NULL;
				return b;
			}
			bad |= ctl_byte(b, end);
			m &= m - 1;
		}
	}
	for (; q < end; q++) {
		if (*q == '\n') {
			*ctl = bad;
			*colon = col && col < q ? col : NULL;
			return q;
		}
		if (!col && *q == ':')
			col = q;
		bad |= ctl_byte(q, end);
	}
	*ctl = bad;
	*colon = NULL;
	return NULL;
}
#else
static const char *scan_line(const char *s, const char *end, bool *ctl, const char **colon)
{
	const char *q = s;
	bool bad = false;
	for (; end - q >= 8; q += 8) {
		uint64_t w = load64(q);
		uint64_t d = w ^ (0x7f * ONES);
		uint64_t m = (((w - 0x20 * ONES) & ~w) | ((d - ONES) & ~d)) & HIGHS;
		if (!m)
			continue;
		/* flagged: the first flag is exact, later ones may be borrows */
		for (int i = 0; i < 8; i++) {
			if (q[i] == '\n') {
				*ctl = bad;
				*colon = memchr(s, ':', (size_t)(q + i - s));
				return q + i;
			}
			bad |= ctl_byte(q + i, end);
		}
	}
	for (; q < end; q++) {
		if (*q == '\n') {
			*ctl = bad;
			*colon = memchr(s, ':', (size_t)(q - s));
			return q;
		}
		bad |= ctl_byte(q, end);
	}
	*ctl = bad;
	*colon = NULL;
	return NULL;
}
#endif

static void passed(ami_parser *p)
{
	p->st = ST_HEADERS;
	p->msg_bytes = 0;
	p->counted++;
}

/* skip_lines' step at each LF b: the line from *line ends there. 1: the
 * next line is the blank one (consumed); 0: go on; -1: stop at *line (a
 * line longer than max_line, or the next line's start not yet in). */
static inline int pass_lf(const ami_parser *p, char **line, char *b, const char *lim,
                          uint64_t *lines)
{
	if ((size_t)(b - *line) > p->o.max_line)
		return -1;
	char *n = b + 1;
	*line = n;
	++*lines;
	if (lim - n >= 2 ? n[0] == '\r' && n[1] == '\n' : lim - n == 1 && n[0] == '\r')
		return n + 1 < lim ? (*line = n + 2, ++*lines, 1) : -1;
	if (n < lim && n[0] == '\n')
		return *line = n + 1, ++*lines, 1;
	return 0;
}

#if defined(__SSE2__)
/* The bits set in x (without POPCNT in the baseline x86-64, the builtin is
 * a call into libgcc; the wide scans have it). */
static inline unsigned bits64(uint64_t x, bool wide)
{
	if (wide)
		return (unsigned)__builtin_popcountll(x); /* POPCNT: a wide scan's target */
	x -= (x >> 1) & 0x5555555555555555ull;
	x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (unsigned)((x * 0x0101010101010101ull) >> 56);
}

/* The LFs and CRs of 64 bytes from q as bitmaps (bit i: byte q[i]). */
static inline void lf_cr64(const char *q, uint64_t *lf, uint64_t *cr)
{
	const __m128i nl = _mm_set1_epi8('\n'), c = _mm_set1_epi8('\r');
	uint64_t l = 0, r = 0;
	for (int i = 0; i < 4; i++) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(q + 16 * i));
		unsigned sh = 16u * (unsigned)i;
		l |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, nl)) << sh;
		r |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, c)) << sh;
	}
	*lf = l;
	*cr = r;
}
#endif

#if AMI_WIDE
WIDE_TARGET static inline uint64_t mask32(__m256i x, __m256i c)
{
	return (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(x, c));
}

/* lf_cr64 in two 32-byte vectors. */
WIDE_TARGET static inline void lf_cr64_wide(const char *q, uint64_t *lf, uint64_t *cr)
{
	const __m256i nl = _mm256_set1_epi8('\n'), c = _mm256_set1_epi8('\r');
	__m256i x0 = _mm256_loadu_si256((const __m256i *)(const void *)q);
	__m256i x1 = _mm256_loadu_si256((const __m256i *)(const void *)(q + 32));
	*lf = mask32(x0, nl) | mask32(x1, nl) << 32;
	*cr = mask32(x0, c) | mask32(x1, c) << 32;
}
#endif

#if defined(__SSE2__)
/* The LFs of 64 bytes that end a blank line: an LF after an LF, or after a
 * CR after an LF (bitmaps as lf_cr64's; plf, pcr: the previous 64 bytes',
 * whose top bits carry in). */
static inline uint64_t blank_lfs(uint64_t lf, uint64_t cr, uint64_t plf, uint64_t pcr)
{
	return lf & ((lf << 1 | plf >> 63) | ((cr << 1 | pcr >> 63) & (lf << 2 | plf >> 62)));
}
#endif

/* ST_PASS: the rest of a skipped message, read in place to the blank line
 * that ends it (no field, key or control-byte work). Returns where it
 * stopped: after the blank line (state back to ST_HEADERS), or at the start
 * of a line it leaves to process_line: one longer than max_line, one past
 * max_msg, a partial line at the end. */
__attribute__((always_inline)) static inline char *skip_lines(ami_parser *p, char *line, char *end,
                                                              bool wide)
{
	char *start = line;
	size_t room = p->o.max_msg - p->msg_bytes;
	const char *lim = (size_t)(end - line) > room ? line + room : end;
	char *q = line;
	uint64_t lines = 0;
	int r = 0;
#if defined(__SSE2__)
	/* 64 bytes at a time, nothing done per line: the blank line is the LF
	 * after an LF or after a CR after an LF (the bitmaps shifted by one and
	 * two bytes, the previous block's top bits carried in), lines are
	 * counted by their bits, and a line can only be too long across a block
	 * edge when max_line >= 64 (else the loop below, line by line). The
	 * byte before `line` ends a line: as if an LF. */
	if (p->o.max_line >= 64) {
		uint64_t plf = 1ull << 63, pcr = 0;
		for (; lim - q >= 64; q += 64) {
			uint64_t lf, cr;
#if AMI_WIDE
			if (wide)
				lf_cr64_wide(q, &lf, &cr);
			else
#endif
				lf_cr64(q, &lf, &cr);
			if (!lf) {
				if ((size_t)(q + 64 - line) > p->o.max_line) {
					r = -1;
					break;
				}
				plf = 0;
				pcr = cr;
				continue;
			}
			if ((size_t)(q + __builtin_ctzll(lf) - line) > p->o.max_line) {
				r = -1;
				break;
			}
			uint64_t blank = blank_lfs(lf, cr, plf, pcr);
			if (blank) {
				unsigned e = (unsigned)__builtin_ctzll(blank);
				lines += bits64(lf & (~0ull >> (63 - e)), wide);
				line = q + e + 1;
				r = 1;
				break;
			}
			lines += bits64(lf, wide);
			line = q + 64 - __builtin_clzll(lf);
			plf = lf;
			pcr = cr;
		}
		if (r == -1)
			r = 0, lim = line; /* nothing more here: stop at that line */
	}
#endif
	/* a blank line where the line starts (the read began with it, or the
	 * loop above ended inside or just before it) */
	if (!r) {
		size_t blank = line < lim && line[0] == '\n'                           ? 1
		               : lim - line >= 2 && line[0] == '\r' && line[1] == '\n' ? 2
		                                                                       : 0;
		if (blank) {
			line += blank;
			lines++;
			r = 1;
		}
	}
	while (!r) {
		char *b = q < lim ? memchr(q, '\n', (size_t)(lim - q)) : NULL;
		if (!b)
			break;
		if (b >= line)
			r = pass_lf(p, &line, b, lim, &lines);
		q = b + 1;
	}
	p->line_no += lines;
	if (r == 1) {
		passed(p);
	} else {
		p->msg_bytes += (size_t)(line - start);
	}
	return line;
}

#if defined(__SSE2__)
/* A run of skipped messages read 64 bytes at a time: the block at q, its
 * LFs, CRs and the LFs that end a blank line (as skip_lines finds them,
 * the previous block's top bits carried in), the LFs of the blocks before
 * it, and the last LF before it (the max_line bound). */
typedef struct {
	char *q, *last_lf;
	uint64_t lf, cr, blank, plf, pcr, lfs_before;
} run_block;

__attribute__((always_inline)) static inline void run_masks(run_block *r, bool wide)
{
#if AMI_WIDE
	if (wide)
		lf_cr64_wide(r->q, &r->lf, &r->cr);
	else
#endif
		lf_cr64(r->q, &r->lf, &r->cr);
	(void)wide;
	r->blank = blank_lfs(r->lf, r->cr, r->plf, r->pcr);
}

/* The next block, if 64 bytes of it are in the read and no line reaches
 * max_line by its end (else false: the run stops). */
__attribute__((always_inline)) static inline bool run_next(run_block *r, const char *end,
                                                           size_t max_line, bool wide)
{
	if (r->lf)
		r->last_lf = r->q + 63 - __builtin_clzll(r->lf);
	r->lfs_before += bits64(r->lf, wide);
	r->plf = r->lf;
	r->pcr = r->cr;
	r->q += 64;
	if (end - r->q < 64)
		return false;
	run_masks(r, wide);
	const char *first = r->lf ? r->q + __builtin_ctzll(r->lf) : r->q + 64;
	return (size_t)(first - r->last_lf - 1) <= max_line;
}

/* How many bytes of the name at s (an "Event: " line's value) come before
 * its CR or LF, among 32; 32 when neither is there. */
static inline unsigned name_len32(const char *s)
{
	const __m128i nl = _mm_set1_epi8('\n'), c = _mm_set1_epi8('\r');
	__m128i x0 = _mm_loadu_si128((const __m128i *)(const void *)s);
	__m128i x1 = _mm_loadu_si128((const __m128i *)(const void *)(s + 16));
	unsigned m0 = (unsigned)_mm_movemask_epi8(
	    _mm_or_si128(_mm_cmpeq_epi8(x0, nl), _mm_cmpeq_epi8(x0, c)));
	unsigned m1 = (unsigned)_mm_movemask_epi8(
	    _mm_or_si128(_mm_cmpeq_epi8(x1, nl), _mm_cmpeq_epi8(x1, c)));
	unsigned m = m0 | m1 << 16;
	return m ? (unsigned)__builtin_ctz(m) : 32;
}

/* ST_HEADERS between messages: the skipped messages from line passed over
 * whole, in one block scan that runs on from each to the next (skip_lines
 * starts anew for each message, after its first line went through the
 * header path). A message is passed here only when its first line is
 * "Event: <a skipped event>" as Asterisk writes it, its blank line is in
 * this read with 64 bytes to spare, its lines are under max_line and it is
 * well under max_msg; at the first that is not, the run stops at its start
 * and the ordinary path reads it from there, as before. Returns where the
 * run stopped. */
__attribute__((always_inline)) static inline char *skip_run(ami_parser *p, char *line, char *end,
                                                            bool wide)
{
	const uint64_t event_ = 0x203a746e657645ull; /* "Event: " */
	if (p->o.max_line < 64 || end - line < 64)
		return line;
	run_block r = {.q = line, .last_lf = line - 1, .plf = 1ull << 63};
	run_masks(&r, wide);
	char *msg = line;
	uint64_t lfs_passed = 0;
	while (end - msg >= 64 && (load64(msg) & 0xffffffffffffffull) == event_) {
		unsigned n = name_len32(msg + 7);
		const char *t = msg + 7 + n;
		if (n == 32 || (t[0] == '\r' && t[1] != '\n'))
			break;
		ami_event ev = event_lookup(msg + 7, n);
		if (!(p->o.skip[ev / 64] >> (ev % 64) & 1))
			break;
		/* its end: the first blank line after its first line */
		uint64_t b = r.blank & (~0ull << (msg - r.q));
		while (!b) {
			if (!run_next(&r, end, p->o.max_line, wide))
				return msg;
			b = r.blank;
		}
		unsigned e = (unsigned)__builtin_ctzll(b);
		char *next = r.q + e + 1;
		if ((size_t)(next - msg) + 64 > p->o.max_msg)
			break;
		uint64_t lfs = r.lfs_before + bits64(r.lf & (~0ull >> (63 - e)), wide);
		p->line_no += lfs - lfs_passed;
		lfs_passed = lfs;
		p->ev = ev;
		p->counted++;
		msg = next;
		if (e == 63 && !run_next(&r, end, p->o.max_line, wide))
			break;
	}
	return msg;
}
#endif

static bool body_add(ami_parser *p, const char *s, size_t n, bool newline)
{
	if (p->msg_bytes + p->body_len + n + 2 > p->o.max_msg) {
		error_at(p, p->line_no, _("line %llu: message larger than %zu bytes"),
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

/* A key is printable ASCII. The line's scan found no C0 byte but TAB and no
 * DEL (!ctl): only TAB and bytes >= 0x80 remain to look for, a word at a
 * time. */
static bool key_chars_ok(const char *s, size_t n, bool ctl)
{
	if (!ctl) {
		uint64_t acc = 0;
		if (n >= 8) {
			for (size_t i = 0; i + 8 <= n; i += 8) {
				uint64_t w = load64(s + i), t = w ^ (0x09 * ONES);
				acc |= w | ((t - ONES) & ~t);
			}
			uint64_t w = load64(s + n - 8),
			         t = w ^ (0x09 * ONES); /* the tail, overlapping */
			acc |= w | ((t - ONES) & ~t);
		} else {
			/* padded with spaces, which pass */
			uint64_t w =
			    load_short(s, n) | (0x2020202020202020ull & ~(~0ull >> ((8 - n) * 8)));
			uint64_t t = w ^ (0x09 * ONES);
			acc |= w | ((t - ONES) & ~t);
		}
		return !(acc & HIGHS);
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < ' ' || c >= 0x7f)
			return false;
	}
	return true;
}

/* A header line whose key (klen bytes before the colon) passed the checks:
 * its field kept (offsets into p->base), the first field's meaning read.
 * ctl: the value holds control bytes, replaced; wide: 16 bytes from s are
 * readable (key_lookup_wide). */
__attribute__((always_inline)) static inline void add_field(ami_parser *p, char *s, size_t n,
                                                            size_t klen, bool ctl, bool wide)
{
	char *v = s + klen + 1;
	size_t vlen = n - klen - 1;
	if (vlen && *v == ' ') {
		v++;
		vlen--;
	}
	if (p->msg_bytes + klen + vlen + 2 + p->body_len > p->o.max_msg) {
		error_at(p, p->line_no, _("line %llu: message larger than %zu bytes"),
		         (unsigned long long)p->line_no, p->o.max_msg);
		return;
	}
	if (p->nf == 0)
		p->msg_line = p->line_no;
	scratch *sc = p->sc;
	if (p->nf == sc->fo_cap) {
		sc->fo_cap = sc->fo_cap ? sc->fo_cap * 2 : 64;
		sc->fo = xrealloc(sc->fo, sc->fo_cap * sizeof *sc->fo);
	}
	if (ctl) {
		/* ESC, BEL, NUL… in a value: replaced, so a name from the PBX can
		 * never drive the terminal; TAB stays (the key has none: checked) */
		p->bad_fields++;
		for (size_t i = 0; i < vlen; i++) {
			unsigned char c = (unsigned char)v[i];
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				v[i] = '?';
		}
	}
	field_off *f = &sc->fo[p->nf++];
	f->k = (uint32_t)(s - p->base);
	f->klen = (uint32_t)klen;
	f->v = (uint32_t)(v - p->base);
	f->vlen = (uint32_t)vlen;
	f->key = key_lookup(s, klen, wide);
	p->msg_bytes += klen + vlen + 2;
	if (p->nf > 1)
		return;
	if (f->key == AMI_K_RESPONSE && vlen == 7 && !strncasecmp(v, "Follows", 7)) {
		p->follows = true;
	} else if (f->key == AMI_K_EVENT) {
		p->ev = event_lookup(v, vlen);
		if (p->o.skip[p->ev / 64] >> (p->ev % 64) & 1) {
			p->nf = 0; /* nothing of it is kept */
			p->st = ST_PASS;
		}
	}
}

/* A header line at s (n bytes, the line end excluded) inside p->base; ctl:
 * the scan saw a control byte in it; colon: its first colon, or NULL. */
static void header_line(ami_parser *p, char *s, size_t n, bool ctl, const char *colon)
{
	size_t klen = colon ? (size_t)(colon - s) : 0;
	/* inner spaces are real: chan_sip's SIPshowpeer sends "Named Callgroup:" */
	bool key_ok =
	    colon && klen > 0 && s[0] != ' ' && s[klen - 1] != ' ' && key_chars_ok(s, klen, ctl);
	if (p->follows && (!key_ok || (strncasecmp(s, "Privilege", klen) != 0 &&
	                               strncasecmp(s, "ActionID", klen) != 0))) {
		/* legacy Command output: raw lines until --END COMMAND-- */
		p->st = ST_BODY;
		body_line(p, s, n);
		return;
	}
	if (!key_ok && ctl) {
		/* a stray control byte: the line is not a header we can read, but
		 * one bad field is no reason to lose the message or the link */
		p->bad_fields++;
		return;
	}
	if (!key_ok) {
		error_at(p, p->line_no, _("line %llu: expected \"Key: Value\", got %s"),
		         (unsigned long long)p->line_no,
		         colon ? _("an empty or invalid key") : _("no colon"));
		return;
	}
	add_field(p, s, n, klen, ctl, false);
}

/* A complete line at s (n bytes before its LF) inside p->base. */
static void process_line(ami_parser *p, char *s, size_t n, bool ctl, const char *colon)
{
	p->line_no++;
	size_t raw = n + 1; /* with its CR, if any, and LF */
	if (n && s[n - 1] == '\r')
		n--;
	switch (p->st) {
	case ST_BANNER:
		p->st = ST_HEADERS;
		if (ctl || has_ctl(s, n)) {
			error_at(p, p->line_no, _("line 1: banner contains binary data"));
			return;
		}
		{
			s[n] = '\0';
			ami_msg m = {.kind = AMI_MSG_BANNER, .text = s, .line = p->line_no};
			p->fn(&m, p->ctx);
		}
		return;
	case ST_SKIP:
		if (n == 0)
			p->st = ST_HEADERS;
		return;
	case ST_PASS:
		/* what skip_lines leaves: the line it stopped at, one at a time,
		 * counted as skip_lines counts (its bytes as they came: a bare LF
		 * is one byte) */
		if (n == 0) {
			passed(p);
		} else if (p->msg_bytes + raw > p->o.max_msg) {
			error_at(p, p->line_no, _("line %llu: message larger than %zu bytes"),
			         (unsigned long long)p->line_no, p->o.max_msg);
		} else {
			p->msg_bytes += raw;
		}
		return;
	case ST_BODY:
		if (memchr(s, '\0', n)) {
			error_at(p, p->line_no, _("line %llu: NUL byte in command output"),
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
		header_line(p, s, n, ctl, colon);
		return;
	}
}

static void overflow(ami_parser *p)
{
	p->overlong = true;
	error_at(p, p->line_no + 1, _("line %llu: longer than %zu bytes"),
	         (unsigned long long)(p->line_no + 1), p->o.max_line);
}

#if defined(__SSE2__)
/* 64 bytes from q as bitmaps (bit i: byte q[i]): LFs, colons, bytes that
 * make a line a control-byte case (C0 but TAB, LF and a CR just before an
 * LF; DEL) and bytes a key may not hold besides those (TAB, >= 0x80). A CR
 * at bit 63 counts as bad: no line that ends in the window holds it. */
typedef struct {
	uint64_t lf, colon, bad, keybad;
} block_masks;

static inline block_masks masks64(const char *q)
{
	const __m128i c1f = _mm_set1_epi8(0x1f), del = _mm_set1_epi8(0x7f),
	              nl = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r'), co = _mm_set1_epi8(':'),
	              tab = _mm_set1_epi8('\t');
	uint64_t lf = 0, colon = 0, ctl = 0, crs = 0, tabs = 0, hi = 0;
	for (int i = 0; i < 4; i++) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(q + 16 * i));
		unsigned sh = 16u * (unsigned)i;
		lf |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, nl)) << sh;
		crs |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, cr)) << sh;
		colon |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, co)) << sh;
		tabs |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, tab)) << sh;
		ctl |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_or_si128(
		           _mm_cmpeq_epi8(_mm_min_epu8(x, c1f), x), _mm_cmpeq_epi8(x, del)))
		       << sh;
		hi |= (uint64_t)(unsigned)_mm_movemask_epi8(x) << sh;
	}
	return (block_masks){.lf = lf,
	                     .colon = colon,
	                     .bad = (ctl & ~(lf | crs | tabs)) | (crs & ~(lf >> 1)),
	                     .keybad = tabs | hi};
}

#if AMI_WIDE
/* masks64 in two 32-byte vectors. */
WIDE_TARGET static inline block_masks masks64_wide(const char *q)
{
	const __m256i c1f = _mm256_set1_epi8(0x1f), del = _mm256_set1_epi8(0x7f),
	              nl = _mm256_set1_epi8('\n'), cr = _mm256_set1_epi8('\r'),
	              co = _mm256_set1_epi8(':'), tab = _mm256_set1_epi8('\t');
	__m256i x[2] = {_mm256_loadu_si256((const __m256i *)(const void *)q),
	                _mm256_loadu_si256((const __m256i *)(const void *)(q + 32))};
	uint64_t lf = 0, colon = 0, ctl = 0, crs = 0, tabs = 0, hi = 0;
	for (int i = 0; i < 2; i++) {
		unsigned sh = 32u * (unsigned)i;
		lf |= mask32(x[i], nl) << sh;
		crs |= mask32(x[i], cr) << sh;
		colon |= mask32(x[i], co) << sh;
		tabs |= mask32(x[i], tab) << sh;
		ctl |= (uint64_t)(uint32_t)_mm256_movemask_epi8(
		           _mm256_or_si256(_mm256_cmpeq_epi8(_mm256_min_epu8(x[i], c1f), x[i]),
		                           _mm256_cmpeq_epi8(x[i], del)))
		       << sh;
		hi |= (uint64_t)(uint32_t)_mm256_movemask_epi8(x[i]) << sh;
	}
	return (block_masks){.lf = lf,
	                     .colon = colon,
	                     .bad = (ctl & ~(lf | crs | tabs)) | (crs & ~(lf >> 1)),
	                     .keybad = tabs | hi};
}
#endif

/* ST_HEADERS outside a legacy body, in place: the ordinary header and blank
 * lines taken from one set of bitmaps per 64 bytes (masks64) instead of one
 * scan each. It stops, for the line-by-line path, at any line it does not
 * take whole (control bytes, no or a bad key, over a bound, 64 bytes or
 * more, fewer than 64 bytes left in the read), after a line that leaves
 * ST_HEADERS or opens a legacy body, and after a message it delivers (for
 * skip_run to pass what follows). Returns where it stopped; keeps
 * *msg_start (the first line of the open message) as the caller does. */
__attribute__((always_inline)) static inline char *
fast_headers(ami_parser *p, char *line, char *end, char **msg_start, bool wide)
{
	while (end - line >= 64) {
#if AMI_WIDE
		block_masks m = wide ? masks64_wide(line) : masks64(line);
#else
		block_masks m = masks64(line);
#endif
		uint64_t lf = m.lf;
		if (!lf)
			return line;
		unsigned a = 0; /* the line's first bit */
		do {
			unsigned j = (unsigned)__builtin_ctzll(lf); /* its LF */
			lf &= lf - 1;
			char *s = line + a;
			size_t n = j - a;
			uint64_t span = ((1ull << n) - 1) << a;
			if (n > p->o.max_line || (m.bad & span))
				return s;
			if (n && s[n - 1] == '\r')
				n--;
			if (n == 0) {
				p->line_no++;
				*msg_start = line + j + 1;
				if (p->nf) {
					deliver(p);
					return line + j + 1;
				}
			} else {
				uint64_t cm = m.colon & span;
				if (!cm)
					return s;
				unsigned c = (unsigned)__builtin_ctzll(cm);
				size_t klen = c - a;
				if (!klen || s[0] == ' ' || s[klen - 1] == ' ' ||
				    (m.keybad & span & ((1ull << c) - 1)))
					return s;
				p->line_no++;
				bool was_open = p->nf > 0;
				add_field(p, s, n, klen, false, end - s >= 16);
				if (!was_open && p->nf)
					*msg_start = s;
				if (p->st != ST_HEADERS || p->follows) {
					if (!p->nf)
						*msg_start = line + j + 1;
					return line + j + 1;
				}
			}
			a = j + 1;
		} while (lf);
		line += a;
	}
	return line;
}
#endif

/* The message's fields must outlive this read: in the carry (its bytes
 * from its first field's line) once the read ends. */
static bool msg_open(const ami_parser *p)
{
	return p->nf > 0;
}

/* A line read from the carry, whole: process it where it lies. */
static void carry_line(ami_parser *p)
{
	char *s = p->cb + p->line_start;
	size_t n = p->cb_len - p->line_start - 1; /* the LF excluded */
	bool ctl;
	const char *colon;
	scan_line(s, s + n + 1, &ctl, &colon);
	p->base = p->cb;
	size_t nf = p->nf;
	process_line(p, s, n, ctl, colon);
	if (!msg_open(p)) {
		p->cb_len = p->line_start = 0; /* delivered or dropped: the rest from the read */
		carry_free(p);
	} else if (p->nf == nf) {
		p->cb_len = p->line_start; /* not a field (body, dropped line): not kept */
	} else {
		p->line_start = p->cb_len;
	}
}

static void carry_add(ami_parser *p, const char *s, size_t n)
{
	grow(&p->cb, &p->cb_cap, p->cb_len + n);
	memcpy(p->cb + p->cb_len, s, n);
	p->cb_len += n;
}

/* The lines of a read from line to end, in place, to where the read
 * stops being whole lines (returned; the rest is carried); *msg_start
 * kept at the first line of the open message. Compiled twice: the
 * baseline and the wide scans (ami_parser_wide_scan). */
__attribute__((always_inline)) static inline char *read_lines(ami_parser *p, char *line, char *end,
                                                              char **msg_start, bool wide)
{
	while (line < end) {
		if (p->st == ST_PASS) {
			char *next = skip_lines(p, line, end, wide);
			if (next != line) {
				line = *msg_start = next;
				continue;
			}
			/* it stopped at this line: read as any other */
		}
#if defined(__SSE2__)
		if (p->st == ST_HEADERS && !p->follows) {
			char *next = p->nf ? line : skip_run(p, line, end, wide);
			if (next == line)
				next = fast_headers(p, line, end, msg_start, wide);
			else
				*msg_start = next;
			if (next != line) {
				line = next;
				continue;
			}
			/* it stopped at this line: read one by one */
		}
#endif
		bool ctl;
		const char *colon;
		char *nl = (char *)scan_line(line, end, &ctl, &colon);
		size_t seg = nl ? (size_t)(nl - line) : (size_t)(end - line);
		if (seg > p->o.max_line) {
			overflow(p);
			if (!nl)
				break; /* overlong: the rest is skipped */
			p->overlong = false;
			p->line_no++;
		} else if (!nl) {
			break; /* a partial line: carried */
		} else {
			bool was_open = msg_open(p);
			process_line(p, line, seg, ctl, colon);
			if (!was_open && msg_open(p))
				*msg_start = line;
		}
		line = nl + 1;
		if (!msg_open(p))
			*msg_start = line;
	}
	return line;
}

static char *read_lines_base(ami_parser *p, char *line, char *end, char **msg_start)
{
	return read_lines(p, line, end, msg_start, false);
}

#if AMI_WIDE
WIDE_TARGET static char *read_lines_wide(ami_parser *p, char *line, char *end, char **msg_start)
{
	return read_lines(p, line, end, msg_start, true);
}
#endif

void ami_parser_feed_rw(ami_parser *p, char *data, size_t len)
{
	scratch *sc = scratch_get(), own = {0};
	bool nested = sc->busy;
	if (nested)
		sc = &own; /* a callback feeding another parser on this thread */
	sc->busy = true;
	p->sc = sc;
	/* the fields of a message split across reads: its array becomes the
	 * thread's for this read (no copy, however many fields) */
	field_off *hold = NULL;
	size_t hold_cap = 0;
	bool swapped = false;
	if (p->saved) {
		hold = sc->fo;
		hold_cap = sc->fo_cap;
		sc->fo = p->saved;
		sc->fo_cap = p->saved_cap;
		p->nf = p->nsaved;
		held(-(long long)(p->saved_cap * sizeof *p->saved));
		p->saved = NULL;
		p->nsaved = p->saved_cap = 0;
		swapped = true;
	}
	char *end = data + len;
	/* 1. the carry: the rest of its message, line by line */
	while (data < end && (p->cb_len || p->overlong)) {
		char *nl = memchr(data, '\n', (size_t)(end - data));
		size_t seg = nl ? (size_t)(nl - data) : (size_t)(end - data);
		if (p->overlong) {
			if (nl) {
				p->overlong = false;
				p->line_no++;
			}
		} else if (p->cb_len - p->line_start + seg > p->o.max_line) {
			p->cb_len = p->line_start;
			overflow(p);
			if (!msg_open(p))
				carry_free(p);
			if (nl) {
				p->overlong = false;
				p->line_no++;
			}
		} else {
			carry_add(p, data, nl ? seg + 1 : seg);
			if (nl)
				carry_line(p);
		}
		if (!nl) {
			data = end;
			break;
		}
		data = nl + 1;
	}
	/* 2. the read itself, in place */
	p->base = data;
	char *msg_start = data, *line = data;
	if (p->cb_len == 0 && !p->overlong) {
#if AMI_WIDE
		if (atomic_load_explicit(&wide_scan, memory_order_relaxed))
			line = read_lines_wide(p, line, end, &msg_start);
		else
#endif
			line = read_lines_base(p, line, end, &msg_start);
		/* what this read leaves unfinished moves to the carry */
		if (!p->overlong && (msg_open(p) || line < end)) {
			if (!msg_open(p))
				msg_start = line;
			size_t off = (size_t)(msg_start - data);
			carry_add(p, msg_start, (size_t)(end - msg_start));
			p->line_start = (size_t)(line - msg_start);
			if (p->nf) {
				p->saved = xmalloc(p->nf * sizeof *p->saved);
				for (size_t i = 0; i < p->nf; i++) {
					p->saved[i] = sc->fo[i];
					p->saved[i].k -= (uint32_t)off;
					p->saved[i].v -= (uint32_t)off;
				}
				p->nsaved = p->saved_cap = p->nf;
				held((long long)(p->saved_cap * sizeof *p->saved));
			}
		}
	} else if (p->nf) {
		/* the read ended inside the carry's message: its array goes back
		 * to the link, the thread gets its own back */
		p->saved = sc->fo;
		p->saved_cap = sc->fo_cap;
		p->nsaved = p->nf;
		held((long long)(p->saved_cap * sizeof *p->saved));
		sc->fo = hold;
		sc->fo_cap = hold_cap;
		swapped = false;
	}
	if (swapped) {
		/* the link's array served the read to its end: the thread keeps
		 * one of the two (the smaller goes), then its ordinary size */
		if (hold_cap > sc->fo_cap) {
			free(sc->fo);
			sc->fo = hold;
			sc->fo_cap = hold_cap;
		} else {
			free(hold);
		}
		scratch_shrink(sc);
	}
	p->nf = 0; /* kept in saved until the next read */
	p->base = NULL;
	p->sc = NULL;
	sc->busy = false;
	atomic_fetch_add_explicit(&total_messages, p->counted, memory_order_relaxed);
	p->counted = 0;
	if (nested)
		scratch_release(&own);
}

void ami_parser_feed(ami_parser *p, const char *data, size_t len)
{
	scratch *sc = scratch_get();
	char *own = NULL;
	char *rb;
	size_t chunk = KEEP_BYTES;
	if (sc->busy) {
		own = xmalloc(chunk);
		rb = own;
	} else {
		if (!sc->rb) {
			sc->rb = xmalloc(chunk);
			sc->rb_cap = chunk;
		}
		rb = sc->rb;
	}
	while (len) {
		size_t n = len < chunk ? len : chunk;
		memcpy(rb, data, n);
		ami_parser_feed_rw(p, rb, n);
		data += n;
		len -= n;
	}
	free(own);
}

const char *ami_get(const ami_msg *m, const char *key)
{
	if (m->indexed) {
		ami_key k = ami_key_of(key, strlen(key));
		if (k)
			return m->at[k] ? m->f[m->at[k] - 1].value : NULL;
	}
	for (size_t i = 0; i < m->n; i++)
		if (!strcasecmp(m->f[i].key, key))
			return m->f[i].value;
	return NULL;
}

const char *ami_getk_named(const ami_msg *m, ami_key k)
{
	return (unsigned)k < AMI_K__COUNT && k ? ami_get(m, key_names[k]) : NULL;
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

bool ami_class_in(const char *privilege, const char *classes)
{
	if (!privilege)
		return true;
	size_t n = strcspn(privilege, ",\r\n");
	for (const char *w = classes; *w;) {
		size_t wn = strcspn(w, ",");
		if (wn && wn == n && !strncasecmp(w, privilege, n))
			return true;
		w += wn + (w[wn] == ',');
	}
	return false;
}

const char *ami_type(const ami_msg *m)
{
	if (m->kind == AMI_MSG_EVENT || m->kind == AMI_MSG_RESPONSE || m->kind == AMI_MSG_ACTION)
		return m->f[0].value;
	return "";
}

/* The length of a key or value to write, or SIZE_MAX when it holds a line
 * break: one pass, for the fields are short and many (a lab PBX writes a
 * hundred for each endpoint a discovery asks for). */
static size_t put_len(const char *s)
{
	size_t n = 0;
	for (unsigned char c; (c = (unsigned char)s[n]) != '\0'; n++)
		if (c == '\r' || c == '\n')
			return SIZE_MAX;
	return n;
}

bool ami_put(pd_buf *b, const char *key, const char *value)
{
	const char *v = value ? value : "";
	/* the last line of defence: the core refuses control characters in
	 * every field that goes on the wire, and a line break that still gets
	 * here (a row written by an older version) is refused, not sent */
	size_t kn = put_len(key), vn = put_len(v);
	if (kn == SIZE_MAX || vn == SIZE_MAX)
		return false;
	pd_buf_reserve(b, kn + vn + 4);
	char *w = b->s + b->len;
	memcpy(w, key, kn);
	w += kn;
	*w++ = ':';
	*w++ = ' ';
	memcpy(w, v, vn);
	w += vn;
	*w++ = '\r';
	*w++ = '\n';
	*w = '\0';
	b->len = (size_t)(w - b->s);
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

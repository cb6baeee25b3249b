/* Small helpers shared by every layer: aborting allocation, strings, UTF-8,
 * the accent/case-folded key used for uniqueness and filtering, time. */
#ifndef PROVDESK_UTIL_H
#define PROVDESK_UTIL_H

#include "provdesk/error.h"
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Out of memory aborts with a message (tmux xmalloc.c style). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s); /* NULL -> NULL */
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Free *p and set it to NULL; then store xstrdup(s). */
void pd_set_str(char **p, const char *s);
/* A ring (a queue in an array of *cap elements of elem bytes, n of them
 * from *head) grown to twice its capacity, or to min when it has none:
 * returns the new array, its elements at the front (*head = 0), and frees
 * the old one. ring = pd_ring_grow(ring, sizeof *ring, &head, n, &cap, 16). */
void *pd_ring_grow(void *ring, size_t elem, size_t *head, size_t n, size_t *cap, size_t min);

/* Raises the soft limit on open files to the hard one (at most 2^20): a
 * monitor of 1,000 PBX links needs more than the 1,024 a login shell
 * gives, and nothing here uses select(). Returns the soft limit now. */
long pd_fd_limit_raise(void);

/* Growable string buffer. */
typedef struct {
	char *s;
	size_t len, cap;
} pd_buf;
void pd_buf_add(pd_buf *b, const char *s);
void pd_buf_addn(pd_buf *b, const char *s, size_t n);
void pd_buf_addc(pd_buf *b, char c);
void pd_buf_printf(pd_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *pd_buf_steal(pd_buf *b); /* returns "" (allocated) when empty */
void pd_buf_free(pd_buf *b);

/* Per-thread buffers: the caller holds its own _Thread_local pointer (the
 * fast path) and, on first use in a thread, keeps the new object here to
 * have destroy(p) called when the thread exits. slot: a zeroed static. */
typedef struct {
	bool ready;
	pthread_key_t key;
} pd_thread_slot;
void pd_thread_keep(pd_thread_slot *slot, void *p, void (*destroy)(void *));

/* Names the calling thread for top -H, ps -L, gdb and perf ("pd-monitor";
 * cut to the 15 bytes the kernel keeps). */
void pd_thread_name(const char *name);

/* Whole files. *data is NUL-terminated (binary data may hold more NULs:
 * *len counts the bytes read, without the final NUL; len may be NULL).
 * max > 0 stops reading once max bytes are in (the rest is left unread);
 * 0 reads everything. They return 0, or an errno value (the open or read
 * failed; *data is then NULL), which the caller turns into its own
 * pd_err naming its field. pd_read_stream leaves f open. */
int pd_read_stream(FILE *f, size_t max, char **data, size_t *len);
int pd_read_file(const char *path, size_t max, char **data, size_t *len);

/* A hash of a NUL-terminated string for in-memory tables (not stable across
 * versions: never store it): eight bytes at a time. */
size_t pd_str_hash(const char *s);
/* The same for a number (murmur3's finaliser: every bit of it reaches the
 * low bits a table masks). */
size_t pd_int_hash(uint64_t v);

/* UTF-8 */
bool pd_utf8_valid(const char *s, size_t n);
/* No byte of s's n is 0x80 or above (eight at a time). */
bool pd_ascii(const char *s, size_t n);
size_t pd_utf8_chars(const char *s); /* code points; s must be valid */
/* The length of s's first n bytes cut to at most max without splitting a
 * code point (max itself when that falls between two, or when the bytes
 * there are not UTF-8: nothing more is dropped than the cut character). */
size_t pd_utf8_cut(const char *s, size_t n, size_t max);
/* Drops an incomplete code point at the end of s, what snprintf leaves
 * when it cuts UTF-8 short; returns the new length. */
size_t pd_utf8_end_whole(char *s);
/* s's first n bytes into dst (cap bytes, NUL-terminated), cut by
 * pd_utf8_cut; true if cut. */
bool pd_utf8_copy(char *dst, size_t cap, const char *s, size_t n);
/* The same for a whole string (NULL as ""): what snprintf(dst, cap, "%s", s)
 * did, without leaving half a character when s is longer than dst. */
bool pd_utf8_copys(char *dst, size_t cap, const char *s);
/* vsnprintf into buf (cap bytes, NUL-terminated) where no cut splits a
 * UTF-8 character: a string's precision (%.60s, %.*s) and the end of buf
 * keep whole code points, so a name quoted to a length never ends in a
 * stray byte. Every C conversion with its flags, width, precision and
 * length modifier but the wide %ls and %lc, and %m. Returns the length
 * written. */
size_t pd_vsnprintf(char *buf, size_t cap, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
size_t pd_snprintf(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* pd_vsnprintf's step: the one conversion at pct (its '%') with its
 * argument(s) from *ap, added to b as pd_vsnprintf writes it (%m:
 * strerror(saved_errno)). Returns the byte after it; NULL when pct starts
 * none it reads (%n, %ls, a lone '%'), b unchanged. */
const char *pd_fmt_conv(pd_buf *b, const char *pct, va_list *ap, int saved_errno);
/* The one rule for text that may not reach a terminal (or be stored) as is:
 * C0 and C1 controls and DEL, the line and paragraph separators (U+2028/9),
 * the direction embeddings, overrides and isolates (U+202A-202E,
 * U+2066-2069) and U+FEFF. */
bool pd_cp_unsafe(uint32_t cp);
/* The value of a hexadecimal digit (either case), -1 for any other byte. */
int pd_hex_digit(char c);
/* Text from outside (a PBX, a file, the database, a command line) made safe
 * for a terminal, appended to out: each unsafe code point as a visible escape
 * (\x1b, \u202e), each byte of invalid UTF-8 as \xNN, a backslash as is;
 * with keep_lines, LF and TAB pass. Returns how many escapes it wrote. */
size_t pd_term_escape(pd_buf *out, const char *s, size_t n, bool keep_lines);
/* Display width in terminal cells (wcwidth-based); s valid UTF-8. */
int pd_utf8_width(const char *s);
/* Newly allocated copy with leading/trailing Unicode whitespace removed. */
char *pd_trim(const char *s);
/* Key for case- and accent-insensitive comparison: NFKD, case-fold, combining
 * marks stripped ("Société Générale" and "SOCIETE GENERALE" give the same key),
 * invisible characters (zero-width space, soft hyphen) dropped, look-alike
 * punctuation and spaces lumped to ASCII (’ -> ', NBSP -> space, – -> -).
 * Returns NULL for invalid UTF-8. Caller frees. */
char *pd_fold_key(const char *s);

/* Random version-4 UUID, lower case, 36 chars + NUL. */
void pd_uuid_v4(char out[37]);

/* Dates are days since 1970-01-01 (UTC) in an int32. */
typedef int32_t pd_day;
/* The program's one clock (src/core/clock.c): every date and time the
 * program reads comes from here, so tests and support staff can set it.
 * PROVDESK_NOW=YYYY-MM-DD[THH:MM[:SS]] (UTC) or @EPOCH starts the clock at that
 * instant when the process first reads it; it then runs in real time.
 * PROVDESK_TODAY=YYYY-MM-DD is the same starting at 12:00 UTC of that day, so a
 * run of minutes never crosses midnight. Unset: the system clock. */
/* Current time in unix seconds. */
int64_t pd_now(void);
/* Today's date: the day of pd_now(). */
pd_day pd_today(void);
/* Checks PROVDESK_NOW / PROVDESK_TODAY; a bad value is a configuration error
 * naming the variable (main refuses to start rather than use the real date). */
pd_status pd_clock_check(pd_err *e);
bool pd_day_parse(const char *s, pd_day *out); /* strict YYYY-MM-DD */
void pd_day_format(pd_day d, char out[11]);
/* Days in a YYYY-MM period: first day and count; false when malformed. */
bool pd_period_parse(const char *s, pd_day *first, int *ndays);

/* The OS user and, over SSH, the client address (from SSH_CONNECTION /
 * SSH_CLIENT). Recorded in every audit row. */
typedef struct {
	char user[64];
	char client[64]; /* "" when local */
} pd_actor;
void pd_actor_current(pd_actor *a);

/* ---- secrets kept in memory (docs/architecture.md, Secrets in memory) ----
 * A secret a long-lived part must keep (a PBX link logs in again after each
 * reconnect, the mail worker at each send) is kept masked: XORed with a
 * random pad held in another allocation, so its text is in no memory image
 * (core file, gcore, swap) while it waits. pd_masked_reveal gives the text
 * for the moment it is used; pd_secret_free wipes and frees it. */
typedef struct {
	unsigned char *masked, *pad;
	size_t len;
} pd_masked;
void pd_masked_set(pd_masked *m, const char *secret); /* NULL or "" = none */
bool pd_masked_isset(const pd_masked *m);
char *pd_masked_reveal(const pd_masked *m); /* "" when none; free with pd_secret_free */
void pd_masked_clear(pd_masked *m);
/* Wipes (explicit_bzero, the whole string) and frees. NULL-safe. */
void pd_secret_free(char *s);
/* Room for extra more bytes now, so that adding a secret later moves no
 * block (a moved block would be left in the heap with the secret in it). */
void pd_buf_reserve(pd_buf *b, size_t extra);
/* Frees a pd_buf that held a secret: its whole allocation wiped first. */
void pd_buf_wipe_free(pd_buf *b);

#endif

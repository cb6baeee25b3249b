/* The C tests' shared helpers (a small static library, tests/meson.build):
 * temp directories, whole-file reads and writes, fixture and data paths, the
 * slow-down factor of the valgrind setup, the wait for a condition with a
 * deadline. Plain C, no Criterion (a caller asserts on the NULL or -1 these
 * return) but for TL_UNTIL, a macro that asserts where it is used. Every
 * returned string is the caller's to free(). */
#ifndef PD_TESTLIB_H
#define PD_TESTLIB_H

#include <stddef.h>
#include <stdint.h>

/* A fresh private directory under $TMPDIR (else /tmp) named PREFIX-XXXXXX,
 * or NULL. */
char *tl_tmpdir(const char *prefix);
/* Removes DIR and everything in it (read-only entries too); NULL is a no-op. */
void tl_rmrf(const char *dir);
/* The whole file, NUL-terminated (*LEN, when given, is its length without
 * the NUL), or NULL when it cannot be read. */
char *tl_slurp(const char *path, size_t *len);
/* DIR/NAME written with TEXT (created or truncated); returns the path, or
 * NULL. */
char *tl_write_file(const char *dir, const char *name, const char *text);
/* A file of tests/fixtures (e.g. "asterisk/ami-session-1.txt"): the path,
 * from $PROVDESK_FIXTURES, else $PROVDESK_SOURCE_ROOT/tests/fixtures. */
char *tl_fixture_path(const char *rel);
/* tl_slurp of tl_fixture_path. */
char *tl_slurp_fixture(const char *rel, size_t *len);
/* A file of the shipped data/ directory (e.g. "catalogue.json"): from
 * $PROVDESK_DATADIR, else "data" relative to the working directory. */
char *tl_data_path(const char *name);
/* PD_TEST_SLOW=N (the valgrind setup sets 10; at least 10 under valgrind
 * run by hand): our code runs about N times slower there, so a test's own
 * time limits scale by it. At least 3 in an ASan build, at least 1. */
int tl_slow(void);
/* A TCP port on 127.0.0.1 that nothing listens on (bound, then closed), or
 * -1: for a server to start on, or for a client to be refused. */
int tl_free_port(void);
/* Milliseconds on a monotonic clock. */
int64_t tl_now_ms(void);

/* The tests' one way to wait: runs STEP (a statement that waits a little,
 * or does one turn of the work waited on) while COND is false, and fails
 * the test with cr_assert_lt and the printf-style message after STEP once
 * MS x tl_slow() milliseconds have passed. COND is checked once more after
 * the last STEP. Needs <criterion/criterion.h> where it is used. */
#define TL_UNTIL(cond, ms, step, ...)                                                              \
	do {                                                                                       \
		int64_t tl_until_ = tl_now_ms() + (int64_t)(ms)*tl_slow();                         \
		while (!(cond)) {                                                                  \
			cr_assert_lt(tl_now_ms(), tl_until_, __VA_ARGS__);                         \
			step;                                                                      \
		}                                                                                  \
	} while (0)

#endif

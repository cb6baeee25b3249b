/* What the command line writes to a terminal goes through one sanitiser
 * (pd_term_escape): a name from a PBX, a CSV cell, a database row or an
 * argument echoed in an error cannot move the cursor, retitle the window or
 * reorder the line. Standard error is always filtered (it is for people);
 * standard output only when it is a terminal and not --json, so a redirect
 * or a pipe gets the exact bytes (exports, scripts) and JSON stays exact
 * (its own escapes). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli_internal.h"

typedef struct {
	int fd;
	unsigned char held[4]; /* a UTF-8 sequence cut between two writes */
	size_t nheld;
} guard;

bool pd_cli_write_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue; /* a signal (SIGWINCH, SIGCHLD) is not a failed write */
		if (w <= 0)
			return false;
		s += w;
		n -= (size_t)w;
	}
	return true;
}

/* Bytes at the end of s that start a UTF-8 sequence not yet complete. */
static size_t incomplete_tail(const unsigned char *s, size_t n)
{
	for (size_t back = 1; back <= 3 && back <= n; back++) {
		unsigned char c = s[n - back];
		if ((c & 0xC0) == 0x80)
			continue; /* a continuation byte: look further back */
		size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
		return need > back ? back : 0;
	}
	return 0;
}

static ssize_t guard_write(void *cookie, const char *buf, size_t size)
{
	guard *g = cookie;
	pd_buf in = {0}, out = {0};
	pd_buf_addn(&in, (const char *)g->held, g->nheld);
	pd_buf_addn(&in, buf, size);
	size_t keep = incomplete_tail((const unsigned char *)in.s, in.len);
	g->nheld = keep;
	memcpy(g->held, in.s + in.len - keep, keep);
	pd_term_escape(&out, in.s, in.len - keep, true);
	bool ok = pd_cli_write_all(g->fd, out.s ? out.s : "", out.len);
	pd_buf_free(&in);
	pd_buf_free(&out);
	return ok ? (ssize_t)size : -1;
}

static int guard_close(void *cookie)
{
	guard *g = cookie;
	pd_buf out = {0};
	pd_term_escape(&out, (const char *)g->held, g->nheld, true); /* a cut sequence: \xNN */
	bool ok = pd_cli_write_all(g->fd, out.s ? out.s : "", out.len);
	pd_buf_free(&out);
	free(g);
	return ok ? 0 : -1;
}

/* The guards live as long as the process; held here too so that a leak
 * checker, which does not look inside the C library's FILE, sees them. */
static guard *live_guards[2];

static FILE *guarded(FILE *f, int fd, int mode)
{
	fflush(f);
	guard *g = xcalloc(1, sizeof *g);
	live_guards[fd == STDERR_FILENO] = g;
	g->fd = fd;
	FILE *n = fopencookie(g, "w",
	                      (cookie_io_functions_t){.write = guard_write, .close = guard_close});
	if (!n) {
		live_guards[fd == STDERR_FILENO] = NULL;
		free(g);
		return f;
	}
	setvbuf(n, NULL, mode, BUFSIZ);
	return n;
}

void pd_cli_guard_stderr(void)
{
	stderr = guarded(stderr, STDERR_FILENO, _IONBF);
}

void pd_cli_guard_stdout(bool json)
{
	if (!json && isatty(STDOUT_FILENO))
		stdout = guarded(stdout, STDOUT_FILENO, _IOLBF);
}

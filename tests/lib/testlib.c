/* The C tests' shared helpers: see testlib.h. */
#include "testlib.h"

#include <ftw.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	int n = vsnprintf(NULL, 0, f, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	char *s = malloc((size_t)n + 1);
	if (!s)
		return NULL;
	va_start(ap, f);
	vsnprintf(s, (size_t)n + 1, f, ap);
	va_end(ap);
	return s;
}

char *tl_tmpdir(const char *prefix)
{
	const char *base = getenv("TMPDIR");
	char *t = fmt("%s/%s-XXXXXX", base && *base ? base : "/tmp", prefix ? prefix : "pd-test");
	if (t && !mkdtemp(t)) {
		free(t);
		return NULL;
	}
	return t;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (flag == FTW_DP || flag == FTW_D)
		chmod(p, 0700); /* a test may have made it unreadable */
	remove(p);
	return 0;
}

void tl_rmrf(const char *dir)
{
	if (dir && *dir) {
		chmod(dir, 0700);
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	}
}

char *tl_slurp(const char *path, size_t *len)
{
	FILE *f = path ? fopen(path, "rb") : NULL;
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0, r;
	char *b = malloc(cap);
	while (b && (r = fread(b + n, 1, cap - n - 1, f)) > 0) {
		n += r;
		if (cap - n - 1 == 0) {
			char *nb = realloc(b, cap * 2);
			if (!nb) {
				free(b);
				b = NULL;
				break;
			}
			b = nb;
			cap *= 2;
		}
	}
	bool bad = ferror(f);
	fclose(f);
	if (!b || bad) {
		free(b);
		return NULL;
	}
	b[n] = '\0';
	if (len)
		*len = n;
	return b;
}

char *tl_write_file(const char *dir, const char *name, const char *text)
{
	char *p = fmt("%s/%s", dir, name);
	FILE *f = p ? fopen(p, "wb") : NULL;
	if (!f) {
		free(p);
		return NULL;
	}
	bool ok = fputs(text, f) >= 0;
	ok = fclose(f) == 0 && ok;
	if (!ok) {
		free(p);
		return NULL;
	}
	return p;
}

char *tl_fixture_path(const char *rel)
{
	const char *fx = getenv("PROVDESK_FIXTURES");
	if (fx && *fx)
		return fmt("%s/%s", fx, rel);
	const char *root = getenv("PROVDESK_SOURCE_ROOT");
	return fmt("%s/tests/fixtures/%s", root && *root ? root : ".", rel);
}

char *tl_slurp_fixture(const char *rel, size_t *len)
{
	char *p = tl_fixture_path(rel);
	char *b = tl_slurp(p, len);
	free(p);
	return b;
}

char *tl_data_path(const char *name)
{
	const char *dd = getenv("PROVDESK_DATADIR");
	return fmt("%s/%s", dd && *dd ? dd : "data", name);
}

int tl_slow(void)
{
	const char *v = getenv("PD_TEST_SLOW");
	int n = v ? atoi(v) : 1;
	const char *pre = getenv("LD_PRELOAD");
	if (pre && strstr(pre, "vgpreload") && n < 10)
		n = 10; /* valgrind run without the meson setup */
#if defined(__SANITIZE_ADDRESS__)
#define TL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TL_ASAN 1
#endif
#endif
#ifdef TL_ASAN
	if (n < 3)
		n = 3; /* ASan runs our code 2-3x slower: deadlines are bounds, never waits */
#endif
	return n > 1 ? n : 1;
}

int64_t tl_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int tl_free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof a;
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &l) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return ntohs(a.sin_port);
}

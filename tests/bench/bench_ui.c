/* bench_ui: the real console loop (pd_ui_run) on a pseudo-terminal, timed
 * from the outside like a user would see it: cold start to the first full
 * grid paint, a filter keystroke to the repainted grid, PgDn and End at
 * 100,000 customers, and the console's RSS.
 *
 * The filter: at least 500 keystrokes typing filters of 1 to 6 characters
 * cut from the customers' own names and references (^U between two), each
 * timed to its echo (first byte) and to the matching rows and count painted
 * (last byte); beside them, the anchor: one full memmem pass over the
 * folded search text of every customer held in memory, for the same
 * filters, in this process.
 *
 * A frame's time is the arrival of its last byte on the pty (the frame is
 * over when 60 ms pass with no output; that quiet wait is not counted).
 *
 * usage: bench_ui [N_CUSTOMERS [REPEATS [FILTER_KEYSTROKES=500]]]
 *        (BENCH_UI_DB=path keeps/reuses the database) */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "provdesk/catalogue.h"
#include "provdesk/config.h"
#include "provdesk/paths.h"
#include "provdesk/store.h"
#include "provdesk/ui.h"
#include "provdesk/util.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void machine(void)
{
	struct utsname u;
	uname(&u);
	char model[512] = "?";
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, "model name", 10) == 0) {
			char *c = strchr(line, ':');
			snprintf(model, sizeof model, "%s", c ? c + 2 : line);
			model[strcspn(model, "\n")] = 0;
			break;
		}
	if (f)
		fclose(f);
	printf("machine: %s %s, %s, %ld cores\n", u.sysname, u.machine, model,
	       sysconf(_SC_NPROCESSORS_ONLN));
}

static const char *w1[] = {"Société", "Hélène", "Acme",    "Dupont", "Zèbre",
                           "Orange",  "Bleu",   "Nord",    "Sud",    "Groupe",
                           "Cabinet", "Maison", "Atelier", "Garage", "Boulangerie"};
static const char *w2[] = {"Télécom",    "Services", "Conseil",    "Industrie",  "Santé",
                           "Transports", "Énergie",  "Logistique", "Immobilier", "Distribution"};

static int seed(const char *db, const pd_catalogue *cat, int n)
{
	pd_store_opts o = {.catalogue = cat, .internal_systems_limit = 1};
	pd_store *s;
	pd_err e = {0};
	if (store_open(db, &o, &s, &e) != PD_OK) {
		fprintf(stderr, "%s\n", e.message);
		return 66;
	}
	pd_actor a = {"bench", ""};
	const char *products[] = {"analytics-essentials", "analytics-pro", "contact-centre"};
	const char *countries[] = {"FR", "DE", "BE", "US", "CA", "ES", "IT", "GB"};
	srand(11);
	double t0 = now_ms();
	for (int i = 0; i < n; i++) {
		if (i % 1000 == 0 && store_begin(s, &e) != PD_OK)
			return 75;
		pd_new_customer c = {0};
		c.customer.name = xasprintf("%s %s %d", w1[rand() % 15], w2[rand() % 10], i);
		c.customer.product_type = xstrdup(products[rand() % 3]);
		memcpy(c.customer.country, countries[rand() % 8], 3);
		if (rand() % 2)
			c.customer.reference = xasprintf("R-%05d", rand() % 50000);
		c.trial_days = rand() % 5 == 0 ? 1 + rand() % 60 : 0;
		c.admin.display_name = xstrdup("Admin");
		c.admin.email = xasprintf("admin%d@example.com", i);
		if (store_customer_create(s, &c, &a, NULL, &e) != PD_OK) {
			fprintf(stderr, "create %d: %s\n", i, e.message);
			return 65;
		}
		pd_new_customer_free(&c);
		if ((i % 1000 == 999 || i == n - 1) && store_commit(s, &e) != PD_OK)
			return 75;
	}
	printf("seeded %d customers in %.1f s (store_customer_create, batches of 1,000)\n", n,
	       (now_ms() - t0) / 1e3);
	store_close(s);
	return 0;
}

static int master = -1;
static pid_t child;
static char screen_tail[8192];
static double first_byte; /* arrival of the first output after a key */
static size_t tail_len;

/* Read until `quiet_ms` pass without output (or `max_ms`). Returns the time
 * of the last byte, or -1 when nothing came. */
static double drain(int quiet_ms, int max_ms)
{
	double start = now_ms(), last = -1;
	char buf[65536];
	for (;;) {
		double t = now_ms();
		if (t - start > max_ms)
			break;
		double wait = last < 0 ? max_ms - (t - start) : quiet_ms - (t - last);
		if (wait <= 0)
			break;
		struct pollfd p = {.fd = master, .events = POLLIN};
		int r = poll(&p, 1, (int)wait + 1);
		if (r <= 0)
			continue;
		ssize_t n = read(master, buf, sizeof buf);
		if (n <= 0)
			break;
		last = now_ms();
		if (first_byte < 0)
			first_byte = last;
		/* keep the tail to check what was painted */
		if ((size_t)n >= sizeof screen_tail) {
			memcpy(screen_tail, buf + n - (sizeof screen_tail - 1),
			       sizeof screen_tail - 1);
			tail_len = sizeof screen_tail - 1;
		} else {
			if (tail_len + (size_t)n >= sizeof screen_tail) {
				size_t drop = tail_len + (size_t)n - (sizeof screen_tail - 1);
				memmove(screen_tail, screen_tail + drop, tail_len - drop);
				tail_len -= drop;
			}
			memcpy(screen_tail + tail_len, buf, (size_t)n);
			tail_len += (size_t)n;
		}
		screen_tail[tail_len] = 0;
	}
	return last;
}

/* Time from the key to the first frame (its first byte: ncurses writes a
 * frame at once) in *paint, and to the last byte (deferred counts drawn). */
static double paint_ms;
static double key(const char *k)
{
	tail_len = 0;
	screen_tail[0] = 0;
	first_byte = -1;
	double t0 = now_ms();
	if (write(master, k, strlen(k)) < 0)
		return -1;
	double last = drain(60, 3000);
	paint_ms = first_byte < 0 ? -1 : first_byte - t0;
	return last < 0 ? -1 : last - t0;
}

static double cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The filters typed: 1 to 6 characters cut at random (fixed seed) from the
 * stored names and references, as a user types them (lower case). */
static char **make_filters(const char *db, int *n_out, int want_keys)
{
	sqlite3 *d;
	char **f = NULL;
	int n = 0, keys = 0;
	*n_out = 0;
	if (sqlite3_open_v2(db, &d, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(
	        d, "SELECT name, reference FROM customers WHERE id % 997 = 1 ORDER BY id", -1, &st,
	        NULL) != SQLITE_OK) {
		sqlite3_close(d);
		return NULL;
	}
	char **src = NULL;
	int ns = 0;
	while (sqlite3_step(st) == SQLITE_ROW)
		for (int c = 0; c < 2; c++) {
			const char *t = (const char *)sqlite3_column_text(st, c);
			if (t && *t) {
				src = xrealloc(src, (size_t)(ns + 1) * sizeof *src);
				src[ns++] = xstrdup(t);
			}
		}
	sqlite3_finalize(st);
	sqlite3_close(d);
	srand(19);
	while (ns && keys < want_keys) {
		const char *t = src[rand() % ns];
		size_t len = strlen(t), want = 1 + (size_t)(rand() % 6);
		size_t at = len > want ? (size_t)rand() % (len - want + 1) : 0;
		while (at > 0 && (t[at] & 0xC0) == 0x80)
			at--;
		/* characters, not bytes: an accent is one keystroke */
		char buf[64];
		size_t o = 0, chars = 0;
		for (size_t i = at; i < len && chars < want && o + 5 < sizeof buf; chars++) {
			size_t k = 1;
			while (i + k < len && (t[i + k] & 0xC0) == 0x80)
				k++;
			memcpy(buf + o, t + i, k);
			o += k;
			i += k;
		}
		buf[o] = 0;
		for (char *p = buf; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		if (!o || buf[0] == ' ')
			continue;
		f = xrealloc(f, (size_t)(n + 1) * sizeof *f);
		f[n++] = xstrdup(buf);
		keys += (int)chars;
	}
	for (int i = 0; i < ns; i++)
		free(src[i]);
	free(src);
	*n_out = n;
	return f;
}

/* The anchor: the folded search text of every customer in one buffer, one
 * memmem pass over all of it per filter finding every customer that
 * matches (the least a filter's count must do), in ms. */
static void memmem_anchor(const char *db, char **filters, int nf, double *out, int *n_out)
{
	*n_out = 0;
	sqlite3 *d;
	if (sqlite3_open_v2(db, &d, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		return;
	sqlite3_stmt *st;
	pd_buf text = {0};
	if (sqlite3_prepare_v2(d, "SELECT search FROM customers", -1, &st, NULL) == SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW) {
			pd_buf_add(&text, (const char *)sqlite3_column_text(st, 0));
			pd_buf_addc(&text, '\n');
		}
		sqlite3_finalize(st);
	}
	sqlite3_close(d);
	printf("  anchor: folded search text in memory, %.1f MB\n", (double)text.len / 1e6);
	for (int i = 0; i < nf; i++) {
		char *k = pd_fold_key(filters[i]);
		if (!k || !*k) {
			free(k);
			continue;
		}
		size_t kl = strlen(k);
		double t0 = cpu_ms();
		size_t hits = 0;
		/* every customer that matches: after a hit, on to the next one */
		for (const char *p = text.s, *end = text.s + text.len;
		     p < end && (p = memmem(p, (size_t)(end - p), k, kl)) != NULL;) {
			hits++;
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			p = nl ? nl + 1 : end;
		}
		out[(*n_out)++] = cpu_ms() - t0;
		free(k);
		if (hits == (size_t)-1)
			printf("?");
	}
	pd_buf_free(&text);
}

static void report(const char *what, double *v, int n);

/* In this process, CPU time (this thread's, so other work on the machine
 * counts less than in the wall times above) for every keystroke's filter
 * (each prefix of each filter typed): the SQL the UI thread ran before
 * (first page + count) and the worker's answer from the filter in memory,
 * beside the memmem anchor on the same text. */
static void cpu_per_keystroke(const char *db, const pd_catalogue *cat, char **filters, int nf)
{
	pd_store_opts o = {.catalogue = cat, .internal_systems_limit = 1, .read_only = true};
	pd_store *s;
	pd_err e = {0};
	if (store_open(db, &o, &s, &e) != PD_OK) {
		fprintf(stderr, "%s\n", e.message);
		return;
	}
	pd_filter_index *ix = store_filter_index_new();
	double t0 = cpu_ms();
	store_filter_index_warm(s, ix, PD_SORT_NAME, NULL, NULL, &e);
	printf("  filter in memory: read in %.0f ms CPU, %.1f MB\n", cpu_ms() - t0,
	       (double)store_filter_index_bytes(ix) / 1e6);
	size_t cap = 0;
	for (int i = 0; i < nf; i++)
		cap += strlen(filters[i]);
	double *vs = xcalloc(cap + 1, sizeof *vs), *vm = xcalloc(cap + 1, sizeof *vm);
	int n = 0;
	pd_row rows[28];
	for (int i = 0; i < nf; i++)
		for (size_t len = 1; len <= strlen(filters[i]); len++) {
			if ((filters[i][len] & 0xC0) == 0x80)
				continue; /* whole characters: a keystroke each */
			char f[64];
			snprintf(f, sizeof f, "%.*s", (int)len, filters[i]);
			pd_query q = {.sort = PD_SORT_NAME, .filter = f};
			size_t got = 0;
			int64_t total = 0;
			t0 = cpu_ms();
			store_customer_page(s, &q, PD_PAGE_FIRST, NULL, 28, rows, &got, &e);
			pd_rows_free(rows, got);
			store_customer_count(s, &q, &total, &e);
			vs[n] = cpu_ms() - t0;
			t0 = cpu_ms();
			store_filter_first_page(s, ix, &q, 28, rows, &got, &total, NULL, NULL, &e);
			vm[n++] = cpu_ms() - t0;
			pd_rows_free(rows, got);
		}
	report("CPU per keystroke: SQL page + count (before)", vs, n);
	report("CPU per keystroke: filter in memory (worker)", vm, n);
	free(vs);
	free(vm);
	store_filter_index_free(ix);
	store_close(s);
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void report(const char *what, double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp);
	int p99 = (int)(n * 0.99);
	if (p99 >= n)
		p99 = n - 1;
	printf("  %-44s n=%-4d median %7.2f ms   p99 %7.2f ms   max %7.2f ms\n", what, n, v[n / 2],
	       v[p99], v[n - 1]);
}

static long rss_kb(const char *field)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", (int)child);
	FILE *f = fopen(path, "r");
	long kb = -1;
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, field, strlen(field)) == 0)
			kb = atol(line + strlen(field) + 1);
	if (f)
		fclose(f);
	return kb;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 100000;
	int reps = argc > 2 ? atoi(argv[2]) : 10;
	int n_keys = argc > 3 ? atoi(argv[3]) : 500;
	if (n < 100 || reps < 2) {
		fprintf(stderr, "usage: %s [N_CUSTOMERS>=100 [REPEATS>=2]]\n", argv[0]);
		return 64;
	}
	setenv("LANG", "C.UTF-8", 1);
	setenv("LC_ALL", "C.UTF-8", 1);
	machine();
	const char *keep = getenv("BENCH_UI_DB");
	char dir[] = "/tmp/pd-bench-ui-XXXXXX";
	char db[300];
	if (!mkdtemp(dir))
		return 73;
	if (keep)
		snprintf(db, sizeof db, "%s", keep);
	else
		snprintf(db, sizeof db, "%s/ui.db", dir);
	pd_catalogue cat;
	pd_err e = {0};
	if (pd_catalogue_load_default(NULL, &cat, &e) != PD_OK) {
		fprintf(stderr, "catalogue: %s\n", e.message);
		return 78;
	}
	if (!(keep && access(db, F_OK) == 0)) {
		int rc = seed(db, &cat, n);
		if (rc)
			return rc;
	} else {
		printf("reusing %s\n", db);
	}
	/* the console's config and theme files come from an empty home */
	char *home = xasprintf("%s/home", dir);
	pd_mkdir_p(home, 0700);
	setenv("HOME", home, 1);
	setenv("XDG_CONFIG_HOME", home, 1);
	setenv("TERM", "xterm-256color", 1);
	unsetenv("NO_COLOR");
	pd_config cfg;
	pd_config_defaults(&cfg);
	struct winsize ws = {.ws_row = 30, .ws_col = 100};
	double t_start = now_ms();
	child = forkpty(&master, NULL, NULL, &ws);
	if (child < 0) {
		perror("forkpty");
		return 71;
	}
	if (child == 0) {
		pd_ui_opts o = {.cfg = &cfg, .cat = &cat, .db_path = db, .theme = "default"};
		_exit(pd_ui_run(&o));
	}
	/* the first frame carries the rows and ends with the function-key bar;
	 * the counts of the status line follow when the loop is idle */
	double first = -1, counts = -1;
	pd_buf all = {0};
	while (now_ms() - t_start < 60000 && (first < 0 || counts < 0)) {
		double last = drain(60, 2000);
		if (last < 0)
			continue;
		pd_buf_add(&all, screen_tail);
		tail_len = 0;
		if (first < 0 && strstr(all.s, "Quit"))
			first = last;
		if (counts < 0 && strstr(all.s, " customers "))
			counts = last;
	}
	pd_buf_free(&all);
	printf("bench_ui: %d customers, 100x30 pty, TERM=xterm-256color\n", n);
	printf("  cold start to first full grid paint: %.1f ms\n", first - t_start);
	printf("  cold start to status-line counts: %.1f ms\n", counts - t_start);

	int nf = 0;
	char **filters = make_filters(db, &nf, n_keys);
	int total_keys = 0;
	for (int i = 0; i < nf; i++)
		total_keys += (int)pd_utf8_chars(filters[i]);
	double *v = xcalloc((size_t)reps * 40 + (size_t)total_keys + 200, sizeof *v);
	double *pv = xcalloc((size_t)reps * 40 + (size_t)total_keys + 200, sizeof *pv);
	int k = 0, kp = 0;
	/* filter as you type: each filter character by character, ^U between */
	key("/");
	for (int i = 0; i < nf; i++) {
		for (const char *c = filters[i]; *c;) {
			char s[8] = {0};
			size_t len = 1;
			while (c[len] && (c[len] & 0xC0) == 0x80)
				len++;
			memcpy(s, c, len);
			c += len;
			double t = key(s);
			if (t >= 0)
				v[k++] = t;
			if (paint_ms >= 0)
				pv[kp++] = paint_ms;
		}
		key("\x15"); /* ^U clears the filter text, stays in filter mode */
	}
	key("\x1b");
	drain(100, 500);
	printf("  filters typed: %d, 1-6 characters each, %d keystrokes\n", nf, total_keys);
	report("filter keystroke -> typed text echoed", pv, kp);
	report("filter keystroke -> matching rows + count painted", v, k);
	double *mv = xcalloc((size_t)nf + 1, sizeof *mv);
	int nm = 0;
	memmem_anchor(db, filters, nf, mv, &nm);
	if (nm)
		report("anchor: one memmem pass, same filters (CPU)", mv, nm);
	cpu_per_keystroke(db, &cat, filters, nf);
	free(mv);
	for (int i = 0; i < nf; i++)
		free(filters[i]);
	free(filters);

	k = kp = 0;
	for (int r = 0; r < reps * 10; r++) {
		double t = key("\x1b[6~"); /* PgDn */
		if (t >= 0)
			v[k++] = t;
		if (paint_ms >= 0)
			pv[kp++] = paint_ms;
	}
	report("PgDn -> repainted grid", pv, kp);
	report("PgDn -> position shown too", v, k);
	k = kp = 0;
	int k2 = 0;
	double *hv = xcalloc((size_t)reps * 2 + 2, sizeof *hv);
	for (int r = 0; r < reps * 2; r++) {
		double t = key("\x1bOF"); /* End (keypad mode, as xterm sends it) */
		if (t >= 0)
			v[k++] = t;
		if (paint_ms >= 0)
			pv[kp++] = paint_ms;
		t = key("\x1bOH"); /* Home */
		if (t >= 0)
			hv[k2++] = t;
	}
	report("End -> repainted grid", pv, kp);
	report("End -> position shown too", v, k);
	report("Home (first page)", hv, k2);
	k = 0;
	key("\x1bOF");
	for (int r = 0; r < reps * 10; r++) {
		double t = key("\x1bOA"); /* Up across page boundaries from the end */
		if (t >= 0)
			v[k++] = t;
	}
	report("Up (scrolling by one row near the end)", v, k);
	printf("  RSS of the console: %ld kB now, %ld kB peak (VmHWM)\n", rss_kb("VmRSS:"),
	       rss_kb("VmHWM:"));
	key("q");
	int st;
	waitpid(child, &st, 0);
	printf("  console exit status %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	free(v);
	free(pv);
	free(hv);
	close(master);
	pd_config_free(&cfg);
	pd_catalogue_free(&cat);
	/* the kept database (BENCH_UI_DB) lives outside dir */
	char *cmd = xasprintf("rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	free(cmd);
	free(home);
	return 0;
}

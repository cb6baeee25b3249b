/* The grid on 100,000 customers: creation rate through the store API, then
 * page FIRST / AFTER / LAST / position for every sort, and filter queries,
 * median and p99. Also compares the shipped LIKE filter with an FTS5
 * trigram index built on the same data, and times PRAGMA quick_check.
 * Usage: bench_store_grid [N_CUSTOMERS [REPEATS]] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "provdesk/store.h"

#define PAGE 50

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* CPU time of this process: the figure that does not depend on what else
 * the machine runs (the shared 2-core test machine often has load 20). */
static double cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Wall times in t[0..n), CPU times in t[n..2n). */
static void report(const char *what, double *t, int n)
{
	qsort(t, (size_t)n, sizeof *t, cmp_d);
	qsort(t + n, (size_t)n, sizeof *t, cmp_d);
	int p99 = (int)(n * 0.99);
	if (p99 >= n)
		p99 = n - 1;
	printf("  %-42s wall median %7.3f p99 %8.3f | cpu median %7.3f p99 %7.3f ms (n=%d)\n", what,
	       t[n / 2], t[p99], t[n + n / 2], t[n + p99], n);
}

#define TIME(slot, n, stmt)                                                                        \
	do {                                                                                       \
		double w0_ = now_ms(), c0_ = cpu_ms();                                             \
		stmt;                                                                              \
		t[slot] = now_ms() - w0_;                                                          \
		t[(n) + (slot)] = cpu_ms() - c0_;                                                  \
	} while (0)

static void machine(void)
{
	struct utsname u;
	uname(&u);
	char model[512] = "unknown";
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "model name", 10)) {
			char *p = strchr(line, ':');
			snprintf(model, sizeof model, "%s", p ? p + 2 : line);
			model[strcspn(model, "\n")] = 0;
			break;
		}
	if (f)
		fclose(f);
	printf("machine: %s %s, %s, %ld cores, SQLite %s\n", u.sysname, u.machine, model,
	       sysconf(_SC_NPROCESSORS_ONLN), sqlite3_libversion());
}

static const char *const w1[] = {"Société", "Générale", "Crème", "Atlas", "Nordic",
                                 "Zèbre",   "École",    "Alpha", "Omega", "Ørsted",
                                 "Straße",  "Çava",     "Blue",  "Green", "Delta"};
static const char *const w2[] = {"Telecom", "Services", "Santé",      "Logistique", "Media",
                                 "Bank",    "Energie",  "Assurances", "Transport",  "Hôtels"};

static int g_reps = 200;
static int g_n = 100000;

static void bench_pages(pd_store *s)
{
	double *t = calloc((size_t)g_reps * 2, sizeof *t);
	pd_row rows[PAGE];
	size_t got;
	pd_err e;
	char what[128];
	int quarter = g_reps / 4 ? g_reps / 4 : 1;
	for (int sort = 0; sort < PD_SORT__COUNT; sort++)
		for (int desc = 0; desc < 2; desc++) {
			pd_query q = {.sort = (pd_sort)sort, .descending = desc};
			const char *d = desc ? "desc" : "asc";
			for (int r = 0; r < g_reps; r++) {
				TIME(r, g_reps,
				     store_customer_page(s, &q, PD_PAGE_FIRST, NULL, PAGE, rows,
				                         &got, &e));
				pd_rows_free(rows, got);
			}
			snprintf(what, sizeof what, "%s %s FIRST", pd_sort_name(q.sort), d);
			report(what, t, g_reps);
			/* AFTER a random row (anchor given by id, as after a jump). */
			for (int r = 0; r < g_reps; r++) {
				pd_row a = {0};
				a.c.id = 1 + rand() % g_n;
				TIME(r, g_reps,
				     store_customer_page(s, &q, PD_PAGE_AFTER, &a, PAGE, rows, &got,
				                         &e));
				pd_rows_free(rows, got);
			}
			snprintf(what, sizeof what, "%s %s AFTER", pd_sort_name(q.sort), d);
			report(what, t, g_reps);
			if (sort != PD_SORT_NAME && sort != PD_SORT_STATUS)
				continue;
			for (int r = 0; r < g_reps; r++) {
				TIME(r, g_reps,
				     store_customer_page(s, &q, PD_PAGE_LAST, NULL, PAGE, rows,
				                         &got, &e));
				pd_rows_free(rows, got);
			}
			snprintf(what, sizeof what, "%s %s LAST", pd_sort_name(q.sort), d);
			report(what, t, g_reps);
			for (int r = 0; r < quarter; r++) {
				pd_row a = {0};
				a.c.id = 1 + rand() % g_n;
				int64_t pos;
				TIME(r, quarter, store_customer_position(s, &q, &a, &pos, &e));
			}
			snprintf(what, sizeof what, "%s %s position", pd_sort_name(q.sort), d);
			report(what, t, quarter);
		}
	int64_t n;
	pd_query q = {.sort = PD_SORT_NAME};
	for (int r = 0; r < quarter; r++)
		TIME(r, quarter, store_customer_count(s, &q, &n, &e));
	report("count (no filter)", t, quarter);
	pd_counts c;
	for (int r = 0; r < quarter; r++)
		TIME(r, quarter, store_customer_counts(s, 0, &c, &e));
	report("store_customer_counts (status line)", t, quarter);
	free(t);
}

/* Filters through the store (early-stopping scan under a budget, then the
 * trigram index for 3+ characters or an id pass below), compared with a
 * plain LIKE scan along the name index. */
static void bench_filters(pd_store *s, sqlite3 *raw)
{
	const char *filters[] = {"s",        "so",     "societe", "ecole sante",
	                         "zzz-none", "r-0042", "vip",     "crème"};
	int reps = g_reps / 4 ? g_reps / 4 : 1;
	double *t = calloc((size_t)reps * 2, sizeof *t);
	pd_row rows[PAGE];
	size_t got;
	pd_err e;
	char what[128];
	sqlite3_stmt *like;
	sqlite3_prepare_v2(
	    raw,
	    "SELECT c.id FROM customers c WHERE +c.deleted_at = 0 AND c.search LIKE ?1"
	    " ORDER BY c.name_key, c.id LIMIT 50",
	    -1, &like, NULL);
	for (size_t f = 0; f < sizeof filters / sizeof *filters; f++) {
		pd_query q = {.sort = PD_SORT_NAME, .filter = filters[f]};
		int64_t count = 0;
		for (int r = 0; r < reps; r++) {
			TIME(r, reps,
			     store_customer_page(s, &q, PD_PAGE_FIRST, NULL, PAGE, rows, &got, &e));
			pd_rows_free(rows, got);
		}
		store_customer_count(s, &q, &count, &e);
		snprintf(what, sizeof what, "filter \"%s\" FIRST (%lld match)", filters[f],
		         (long long)count);
		report(what, t, reps);
		for (int r = 0; r < reps; r++)
			TIME(r, reps, store_customer_count(s, &q, &count, &e));
		snprintf(what, sizeof what, "filter \"%s\" count", filters[f]);
		report(what, t, reps);
		char *k = pd_fold_key(filters[f]);
		char *pat = sqlite3_mprintf("%%%s%%", k);
		for (int r = 0; r < reps; r++) {
			sqlite3_reset(like);
			sqlite3_bind_text(like, 1, pat, -1, SQLITE_STATIC);
			TIME(r, reps, while (sqlite3_step(like) == SQLITE_ROW));
		}
		sqlite3_reset(like);
		snprintf(what, sizeof what, "  (plain LIKE scan \"%s\" FIRST)", filters[f]);
		report(what, t, reps);
		sqlite3_free(pat);
		free(k);
	}
	sqlite3_finalize(like);
	free(t);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 100000;
	g_n = n;
	g_reps = argc > 2 ? atoi(argv[2]) : 200;
	if (n < 100 || g_reps < 4) {
		fprintf(stderr, "usage: %s [N_CUSTOMERS>=100 [REPEATS>=4]]\n", argv[0]);
		return 64;
	}
	machine();
	/* BENCH_GRID_DB=path keeps the database (and reuses it when it exists)
	 * so the query figures can be re-measured without re-creating 100k. */
	const char *keep = getenv("BENCH_GRID_DB");
	char dir[] = "/tmp/pd-bench-grid-XXXXXX";
	char db[256];
	if (keep)
		snprintf(db, sizeof db, "%s", keep);
	else if (!mkdtemp(dir))
		return 73;
	else
		snprintf(db, sizeof db, "%s/grid.db", dir);
	bool reuse = keep && access(db, F_OK) == 0;
	pd_catalogue cat;
	pd_err e = {0};
	if (pd_catalogue_load_default(NULL, &cat, &e) != PD_OK) {
		fprintf(stderr, "catalogue: %s\n", e.message);
		return 78;
	}
	pd_store_opts o = {.catalogue = &cat, .internal_systems_limit = 1};
	pd_store *s;
	if (store_open(db, &o, &s, &e) != PD_OK) {
		fprintf(stderr, "%s\n", e.message);
		return 66;
	}
	pd_actor a = {"bench", ""};
	const char *products[] = {"analytics-essentials", "analytics-pro", "contact-centre"};
	const char *countries[] = {"FR", "DE", "BE", "US", "CA", "ES", "IT", "GB"};
	srand(7);
	if (reuse)
		n = 0; /* the kept database already holds them */
	/* The first 10% one transaction each (as the UI and CLI do), the rest
	 * in batches of 1,000 (as an import can, with store_begin/commit). */
	int single = n / 10;
	double t0 = now_ms(), t_single = 0;
	for (int i = 0; i < n; i++) {
		if (i == single)
			t_single = now_ms() - t0;
		if (i >= single && (i - single) % 1000 == 0 && store_begin(s, &e) != PD_OK) {
			fprintf(stderr, "begin: %s\n", e.message);
			return 75;
		}
		pd_new_customer c = {0};
		c.customer.name = xasprintf("%s %s %d", w1[rand() % 15], w2[rand() % 10], i);
		c.customer.product_type = xstrdup(products[rand() % 3]);
		memcpy(c.customer.country, countries[rand() % 8], 3);
		if (rand() % 2)
			c.customer.reference = xasprintf("R-%05d", rand() % 50000);
		if (rand() % 10 == 0)
			c.customer.notes = xstrdup("VIP: rappeler Hélène avant toute migration");
		c.trial_days = rand() % 5 == 0 ? 1 + rand() % 60 : 0;
		c.admin.display_name = xstrdup("Admin");
		c.admin.email = xasprintf("admin%d@example.com", i);
		if (store_customer_create(s, &c, &a, NULL, &e) != PD_OK) {
			fprintf(stderr, "create %d: %s\n", i, e.message);
			return 65;
		}
		pd_new_customer_free(&c);
		if (i >= single && ((i - single) % 1000 == 999 || i == n - 1) &&
		    store_commit(s, &e) != PD_OK) {
			fprintf(stderr, "commit: %s\n", e.message);
			return 75;
		}
	}
	double dt = now_ms() - t0 - t_single;
	printf("bench_store_grid: %d customers%s\n", g_n, reuse ? " (reused database)" : "");
	if (n) {
		printf("  store_customer_create, 1 transaction each (customer+admin+outbox+audit): "
		       "%d in "
		       "%.1f s = %.0f/s\n",
		       single, t_single / 1e3, single / (t_single / 1e3));
		printf("  store_customer_create, batches of 1,000 (store_begin/commit): %d in %.1f "
		       "s = "
		       "%.0f/s\n",
		       n - single, dt / 1e3, (n - single) / (dt / 1e3));
	}

	if (!getenv("BENCH_GRID_ONLY_FILTERS"))
		bench_pages(s);
	sqlite3 *raw;
	sqlite3_open(db, &raw);
	bench_filters(s, raw);

	t0 = now_ms();
	sqlite3_exec(raw, "PRAGMA quick_check", NULL, NULL, NULL);
	printf("  PRAGMA quick_check on %d customers: %.0f ms (store_open reads sqlite_master "
	       "instead)\n",
	       g_n, now_ms() - t0);
	sqlite3_close(raw);
	store_close(s);
	double t[40];
	for (int r = 0; r < 20; r++) {
		TIME(r, 20, store_open(db, &o, &s, &e));
		store_close(s);
	}
	report("store_open (existing database)", t, 20);
	pd_catalogue_free(&cat);
	if (!keep) {
		char cmd[300];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
	return 0;
}

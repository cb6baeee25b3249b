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

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void report(const char *what, double *t, int n)
{
	qsort(t, (size_t)n, sizeof *t, cmp_d);
	int p99 = (int)(n * 0.99);
	if (p99 >= n)
		p99 = n - 1;
	printf("  %-44s median %7.3f ms   p99 %7.3f ms   (n=%d)\n", what, t[n / 2], t[p99], n);
}

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

static const char *const w1[] = {"Société", "Générale", "Crème", "Atlas", "Nordic", "Zèbre", "École",
				  "Alpha", "Omega", "Ørsted", "Straße", "Çava", "Blue", "Green", "Delta"};
static const char *const w2[] = {"Telecom", "Services", "Santé", "Logistique", "Media", "Bank",
				 "Energie", "Assurances", "Transport", "Hôtels"};

static int g_reps = 200;

static void bench_pages(pd_store *s, const char *filter, const char *label)
{
	double *t = calloc((size_t)g_reps, sizeof *t);
	pd_row rows[PAGE];
	size_t got;
	pd_err e;
	char what[128];
	for (int sort = 0; sort < PD_SORT__COUNT; sort++)
		for (int desc = 0; desc < 2; desc++) {
			pd_query q = {.sort = (pd_sort)sort, .descending = desc, .filter = filter};
			/* FIRST */
			for (int r = 0; r < g_reps; r++) {
				double t0 = now_ms();
				store_customer_page(s, &q, PD_PAGE_FIRST, NULL, PAGE, rows, &got, &e);
				t[r] = now_ms() - t0;
				pd_rows_free(rows, got);
			}
			snprintf(what, sizeof what, "%s%s %s FIRST", label, pd_sort_name(q.sort), desc ? "desc" : "asc");
			report(what, t, g_reps);
			/* AFTER a random row (anchor from a random id). */
			for (int r = 0; r < g_reps; r++) {
				pd_row a = {0};
				a.c.id = 1 + rand() % 100000;
				double t0 = now_ms();
				store_customer_page(s, &q, PD_PAGE_AFTER, &a, PAGE, rows, &got, &e);
				t[r] = now_ms() - t0;
				pd_rows_free(rows, got);
			}
			snprintf(what, sizeof what, "%s%s %s AFTER", label, pd_sort_name(q.sort), desc ? "desc" : "asc");
			report(what, t, g_reps);
			if (sort != PD_SORT_NAME && sort != PD_SORT_STATUS)
				continue;
			for (int r = 0; r < g_reps; r++) {
				double t0 = now_ms();
				store_customer_page(s, &q, PD_PAGE_LAST, NULL, PAGE, rows, &got, &e);
				t[r] = now_ms() - t0;
				pd_rows_free(rows, got);
			}
			snprintf(what, sizeof what, "%s%s %s LAST", label, pd_sort_name(q.sort), desc ? "desc" : "asc");
			report(what, t, g_reps);
			int reps = g_reps / 4 ? g_reps / 4 : 1;
			for (int r = 0; r < reps; r++) {
				pd_row a = {0};
				a.c.id = 1 + rand() % 100000;
				int64_t pos;
				double t0 = now_ms();
				store_customer_position(s, &q, &a, &pos, &e);
				t[r] = now_ms() - t0;
			}
			snprintf(what, sizeof what, "%s%s %s position", label, pd_sort_name(q.sort), desc ? "desc" : "asc");
			report(what, t, reps);
		}
	free(t);
}

static void bench_filters(pd_store *s, sqlite3 *raw, bool fts)
{
	const char *filters[] = {"societe", "ecole sante", "zzz-none", "r-0042", "vip", "crème"};
	double *t = calloc((size_t)g_reps, sizeof *t);
	pd_row rows[PAGE];
	size_t got;
	pd_err e;
	char what[128];
	for (size_t f = 0; f < sizeof filters / sizeof *filters; f++) {
		pd_query q = {.sort = PD_SORT_NAME, .filter = filters[f]};
		int reps = g_reps / 4 ? g_reps / 4 : 1;
		int64_t count = 0;
		for (int r = 0; r < reps; r++) {
			double t0 = now_ms();
			store_customer_page(s, &q, PD_PAGE_FIRST, NULL, PAGE, rows, &got, &e);
			t[r] = now_ms() - t0;
			pd_rows_free(rows, got);
		}
		store_customer_count(s, &q, &count, &e);
		snprintf(what, sizeof what, "LIKE \"%s\" FIRST (%lld match)", filters[f], (long long)count);
		report(what, t, reps);
		for (int r = 0; r < reps; r++) {
			double t0 = now_ms();
			store_customer_count(s, &q, &count, &e);
			t[r] = now_ms() - t0;
		}
		snprintf(what, sizeof what, "LIKE \"%s\" count", filters[f]);
		report(what, t, reps);
		if (!fts)
			continue;
		/* The same first page through an FTS5 trigram index. */
		char *k = pd_fold_key(filters[f]);
		char *m = sqlite3_mprintf("\"%w\"", k);
		sqlite3_stmt *st;
		sqlite3_prepare_v2(raw,
				   "SELECT c.id, c.name FROM customers c WHERE c.deleted_at = 0 AND c.id IN"
				   " (SELECT rowid FROM cust_fts WHERE cust_fts MATCH ?1)"
				   " ORDER BY c.name_key, c.id LIMIT 50",
				   -1, &st, NULL);
		int n = 0;
		for (int r = 0; r < reps; r++) {
			sqlite3_reset(st);
			sqlite3_bind_text(st, 1, m, -1, SQLITE_STATIC);
			double t0 = now_ms();
			n = 0;
			while (sqlite3_step(st) == SQLITE_ROW)
				n++;
			t[r] = now_ms() - t0;
		}
		sqlite3_finalize(st);
		snprintf(what, sizeof what, "FTS5 trigram \"%s\" FIRST (%d rows)", filters[f], n);
		report(what, t, reps);
		sqlite3_free(m);
		free(k);
	}
	free(t);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 100000;
	g_reps = argc > 2 ? atoi(argv[2]) : 200;
	if (n < 100 || g_reps < 4) {
		fprintf(stderr, "usage: %s [N_CUSTOMERS>=100 [REPEATS>=4]]\n", argv[0]);
		return 64;
	}
	machine();
	char dir[] = "/tmp/pd-bench-grid-XXXXXX";
	if (!mkdtemp(dir))
		return 73;
	char db[256];
	snprintf(db, sizeof db, "%s/grid.db", dir);
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
	double t0 = now_ms();
	for (int i = 0; i < n; i++) {
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
	}
	double dt = now_ms() - t0;
	printf("bench_store_grid: %d customers\n", n);
	printf("  store_customer_create (customer + admin + outbox + audit, 1 tx each): %.1f s, %.0f/s\n",
	       dt / 1e3, n / (dt / 1e3));

	bench_pages(s, NULL, "");
	bench_filters(s, NULL, false);

	/* FTS5 trigram on the same data, for comparison (not used by the store). */
	sqlite3 *raw;
	sqlite3_open(db, &raw);
	t0 = now_ms();
	int rc = sqlite3_exec(raw,
			      "CREATE VIRTUAL TABLE cust_fts USING fts5(search, content='customers',"
			      " content_rowid='id', tokenize='trigram');"
			      "INSERT INTO cust_fts(cust_fts) VALUES ('rebuild');",
			      NULL, NULL, NULL);
	printf("  FTS5 trigram index build: %s, %.0f ms\n", rc == SQLITE_OK ? "ok" : sqlite3_errmsg(raw),
	       now_ms() - t0);
	if (rc == SQLITE_OK)
		bench_filters(s, raw, true);

	t0 = now_ms();
	sqlite3_exec(raw, "PRAGMA quick_check", NULL, NULL, NULL);
	printf("  PRAGMA quick_check on %d customers: %.0f ms (store_open reads sqlite_master instead)\n", n,
	       now_ms() - t0);
	sqlite3_close(raw);
	store_close(s);
	double times[20];
	for (int r = 0; r < 20; r++) {
		t0 = now_ms();
		store_open(db, &o, &s, &e);
		times[r] = now_ms() - t0;
		store_close(s);
	}
	report("store_open (existing, 100k customers)", times, 20);
	pd_catalogue_free(&cat);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return 0;
}

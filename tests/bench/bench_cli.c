/* bench_cli: the command line on 100,000 customers, driving the real binary.
 *
 *   build-x/tests/bench/bench_cli build-x/provdesk [N]
 *
 * 1. import of N customers from a generated CSV with every rule checked,
 *    beside two anchors in the same run: the same file through the sqlite3
 *    shell's `.import` into a bare table, and the SQL floor: the very rows
 *    the import wrote (customers, users, audit, outbox), read back into
 *    memory and written again by plain prepared INSERTs into an empty
 *    database of the same schema (foreign keys, triggers, the trigram index
 *    at commit as a batch does, same pragmas), one transaction: what the
 *    import costs beyond writing its rows. Ratios printed;
 * 2. `customer list --filter` with 50 different substrings of names and
 *    references (a quarter each matching 1, 10, 100 and 1,000 rows, all
 *    printed): median and p99 wall time per command;
 * 3. `billing export` of the N customers (CSV and JSON).
 * Prints the machine first. Needs the sqlite3 shell on PATH. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "bench_util.h"

/* CPU time (user + system) of the last run(): comparable even when other
 * work shares the machine, unlike the wall time. */
static double last_cpu;

/* Runs argv with stdout to `out` (NULL: /dev/null) and stdin from `in`
 * (NULL: /dev/null); returns the exit status, or -1. */
static int run(char *const argv[], const char *in, const char *out)
{
	return bench_spawn("bench_cli", argv, in, out, &last_cpu);
}

static void machine(void)
{
	struct utsname u;
	uname(&u);
	char model[256] = "unknown";
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, "model name", 10) == 0) {
			char *p = strchr(line, ':');
			if (p) {
				snprintf(model, sizeof model, "%s", p + 2);
				model[strcspn(model, "\n")] = 0;
			}
			break;
		}
	if (f)
		fclose(f);
	printf("machine: %s %s, %s, %ld cores online\n", u.sysname, u.machine, model,
	       sysconf(_SC_NPROCESSORS_ONLN));
	f = fopen("/proc/loadavg", "r");
	if (f && fgets(line, sizeof line, f))
		printf("load average at start: %s", line);
	if (f)
		fclose(f);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static const char *const countries[] = {"FR", "DE", "BE", "ES", "IT", "GB", "US", "CH", "NL", "PT"};
static const char *const products[] = {"analytics-essentials", "analytics-pro", "contact-centre"};

static void gen_csv(const char *path, long n)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(1);
	}
	fputs("name,product_type,country,reference,notes,time_zone,trial_days,internal,admin_name,"
	      "admin_email,admin_extension\n",
	      f);
	for (long i = 0; i < n; i++)
		fprintf(f,
		        "\"Client %06ld, Société %s\",%s,%s,REF-%06ld,\"note %ld\",,%s,,Admin %ld,"
		        "admin%ld@client%ld.example,%ld\n",
		        i, i % 7 == 0 ? "Générale" : "Anonyme", products[i % 3], countries[i % 10],
		        i, i, i % 5 == 0 ? "30" : "", i, i, i, 1000 + i % 9000);
	fclose(f);
}

/* ---- the same-schema SQL floor ---- */

typedef struct {
	int ncol;
	int n_users_col;   /* -1, or the column the users trigger counts */
	sqlite3_value **v; /* nrow * ncol */
	size_t nrow;
	int64_t *cid; /* the customer of each row (customers: its id) */
} table_rows;

static void die_sql(sqlite3 *db, const char *what)
{
	fprintf(stderr, "bench_cli: %s: %s\n", what, sqlite3_errmsg(db));
	exit(1);
}

/* Every row of `table` ordered by id, with the column naming its customer. */
static void load_rows(sqlite3 *db, const char *table, const char *cust_col, table_rows *t)
{
	char sql[256];
	snprintf(sql, sizeof sql, "SELECT %s, * FROM %s ORDER BY id", cust_col, table);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		die_sql(db, sql);
	memset(t, 0, sizeof *t);
	t->ncol = sqlite3_column_count(st) - 1;
	t->n_users_col = -1;
	for (int i = 0; i < t->ncol; i++)
		if (strcmp(sqlite3_column_name(st, i + 1), "n_users") == 0)
			t->n_users_col = i;
	size_t cap = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (t->nrow == cap) {
			cap = cap ? cap * 2 : 1024;
			t->v = realloc(t->v, cap * (size_t)t->ncol * sizeof *t->v);
			t->cid = realloc(t->cid, cap * sizeof *t->cid);
		}
		t->cid[t->nrow] = sqlite3_column_int64(st, 0);
		for (int i = 0; i < t->ncol; i++)
			t->v[t->nrow * (size_t)t->ncol + (size_t)i] =
			    sqlite3_value_dup(sqlite3_column_value(st, i + 1));
		t->nrow++;
	}
	sqlite3_finalize(st);
}

static void free_rows(table_rows *t)
{
	for (size_t i = 0; i < t->nrow * (size_t)t->ncol; i++)
		sqlite3_value_free(t->v[i]);
	free(t->v);
	free(t->cid);
}

static sqlite3_stmt *insert_stmt(sqlite3 *db, const char *table, int ncol)
{
	char sql[1024];
	int k = snprintf(sql, sizeof sql, "INSERT INTO %s VALUES (", table);
	for (int i = 0; i < ncol; i++)
		k += snprintf(sql + k, sizeof sql - (size_t)k, "%s?", i ? "," : "");
	snprintf(sql + k, sizeof sql - (size_t)k, ")");
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		die_sql(db, sql);
	return st;
}

/* Writes rows [*i, …) of t that belong to customer cid. */
static void write_rows(sqlite3 *db, sqlite3_stmt *st, const table_rows *t, size_t *i, int64_t cid)
{
	for (; *i < t->nrow && t->cid[*i] == cid; (*i)++) {
		for (int c = 0; c < t->ncol; c++) {
			if (c == t->n_users_col)
				sqlite3_bind_int(st, c + 1, 0); /* the users trigger counts */
			else
				sqlite3_bind_value(st, c + 1,
				                   t->v[*i * (size_t)t->ncol + (size_t)c]);
		}
		if (sqlite3_step(st) != SQLITE_DONE)
			die_sql(db, "floor insert");
		sqlite3_reset(st);
	}
}

static void sql_now(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	(void)argc;
	(void)argv;
	sqlite3_result_int64(cx, (sqlite3_int64)time(NULL));
}

static double process_cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The rows of `src` (an import's database) written again into `dst` (the
 * same schema, no customer yet) by plain SQL: per customer its row, its
 * users, audit and outbox rows, one transaction, the trigram index in one
 * statement at commit. Returns the CPU seconds of the writing (reading the
 * rows into memory first is not counted); *wall gets its wall time. */
static double sql_floor(const char *src, const char *dst, double *wall)
{
	sqlite3 *in, *db;
	if (sqlite3_open_v2(src, &in, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		die_sql(in, src);
	table_rows cu, us, au, ob;
	load_rows(in, "customers", "id", &cu);
	load_rows(in, "users", "customer_id", &us);
	load_rows(in, "audit", "customer_id", &au);
	load_rows(in, "outbox", "customer_id", &ob);
	sqlite3_close(in);

	double c0 = process_cpu_s(), t0 = now_s();
	if (sqlite3_open_v2(dst, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK)
		die_sql(db, dst);
	sqlite3_create_function(db, "pd_now", 0, SQLITE_UTF8 | SQLITE_INNOCUOUS, NULL, sql_now,
	                        NULL, NULL);
	const char *setup = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
	                    " PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;"
	                    " PRAGMA cache_size = -65536; BEGIN IMMEDIATE;"
	                    " INSERT OR REPLACE INTO meta(key, value) SELECT 'fts_deferred_from',"
	                    " coalesce(max(id), 0) + 1 FROM customers;";
	if (sqlite3_exec(db, setup, NULL, NULL, NULL) != SQLITE_OK)
		die_sql(db, "floor setup");
	sqlite3_stmt *ic = insert_stmt(db, "customers", cu.ncol);
	sqlite3_stmt *iu = insert_stmt(db, "users", us.ncol);
	sqlite3_stmt *ia = insert_stmt(db, "audit", au.ncol);
	sqlite3_stmt *io = insert_stmt(db, "outbox", ob.ncol);
	size_t ci = 0, ui = 0, ai = 0, oi = 0;
	for (; ci < cu.nrow; ci++) {
		int64_t id = cu.cid[ci];
		size_t one = ci;
		write_rows(db, ic, &cu, &one, id);
		ci = one - 1;
		write_rows(db, ia, &au, &ai, id);
		write_rows(db, iu, &us, &ui, id);
		write_rows(db, io, &ob, &oi, id);
	}
	sqlite3_finalize(ic);
	sqlite3_finalize(iu);
	sqlite3_finalize(ia);
	sqlite3_finalize(io);
	const char *commit =
	    "INSERT INTO customers_fts(rowid, search) SELECT id, search FROM customers"
	    " WHERE id >= (SELECT CAST(value AS INTEGER) FROM meta WHERE key = "
	    "'fts_deferred_from') ORDER BY id;"
	    " DELETE FROM meta WHERE key = 'fts_deferred_from'; COMMIT;";
	if (sqlite3_exec(db, commit, NULL, NULL, NULL) != SQLITE_OK)
		die_sql(db, "floor commit");
	sqlite3_close(db);
	*wall = now_s() - t0;
	double cpu = process_cpu_s() - c0;
	if (ui != us.nrow || ai != au.nrow || oi != ob.nrow)
		fprintf(stderr, "bench_cli: floor: rows not all written (users %zu/%zu)\n", ui,
		        us.nrow);
	free_rows(&cu);
	free_rows(&us);
	free_rows(&au);
	free_rows(&ob);
	return cpu;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s PATH/TO/provdesk [N]\n", argv[0]);
		return 64;
	}
	const char *exe = argv[1];
	long n = argc > 2 ? strtol(argv[2], NULL, 10) : 100000;
	setvbuf(stdout, NULL, _IOLBF, 0); /* figures appear as they come */
	setenv("LANG", "C.UTF-8", 1);
	setenv("LC_ALL", "C.UTF-8", 1);
	machine();
	char dir[] = "/tmp/bench_cli.XXXXXX";
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	char csv[256], db[256], bare[256], conf[256], out[256], period[8], fdb[256];
	snprintf(csv, sizeof csv, "%s/customers.csv", dir);
	snprintf(db, sizeof db, "%s/provdesk.db", dir);
	snprintf(bare, sizeof bare, "%s/bare.db", dir);
	snprintf(conf, sizeof conf, "%s/provdesk.conf", dir);
	snprintf(fdb, sizeof fdb, "%s/floor.db", dir);
	snprintf(out, sizeof out, "%s/billing.csv", dir);
	FILE *cf = fopen(conf, "w");
	if (cf)
		fclose(cf);
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(period, sizeof period, "%Y-%m", &tm);

	gen_csv(csv, n);
	struct stat sb;
	stat(csv, &sb);
	printf("input: %ld customers, %.1f MB CSV\n", n, (double)sb.st_size / 1e6);

	/* 1. import vs sqlite3 .import; first the checks alone (--dry-run) */
	double t0 = now_s();
	char *dry[] = {(char *)exe, "--db", db, "--config", conf, "import", csv, "--dry-run", NULL};
	int drc = run(dry, NULL, NULL);
	double t_dry = now_s() - t0, c_dry = last_cpu;
	t0 = now_s();
	char *imp[] = {(char *)exe, "--db", db, "--config", conf, "import", csv, NULL};
	int rc = run(imp, NULL, NULL);
	double t_imp = now_s() - t0, c_imp = last_cpu;
	if (rc != 0) {
		fprintf(stderr, "bench_cli: import failed (exit %d)\n", rc);
		return 1;
	}
	char dot[512];
	snprintf(dot, sizeof dot, ".import --csv %s bare", csv);
	char *sq[] = {"sqlite3", bare, dot, NULL};
	t0 = now_s();
	rc = run(sq, NULL, NULL);
	double t_sq = now_s() - t0, c_sq = last_cpu;
	if (rc != 0)
		fprintf(stderr, "bench_cli: sqlite3 .import failed (exit %d)\n", rc);
	/* the floor's database: the same schema, made by provdesk, no customer */
	char *mk[] = {(char *)exe, "--db", fdb, "--config", conf, "customer", "list", NULL};
	if (run(mk, NULL, NULL) != 0)
		fprintf(stderr, "bench_cli: could not create the floor's database\n");
	double t_fl, c_fl = sql_floor(db, fdb, &t_fl);
	printf("import %ld rows, every rule checked: %.2f s wall (%.0f rows/s), CPU %.2f s\n", n,
	       t_imp, (double)n / t_imp, c_imp);
	printf("import --dry-run (every rule, no writes): %.2f s, CPU %.2f s%s\n", t_dry, c_dry,
	       drc ? " (FAILED)" : "");
	printf("anchor: sqlite3 .import into a bare table: %.2f s wall (%.0f rows/s), CPU %.2f s\n",
	       t_sq, (double)n / t_sq, c_sq);
	printf("floor: the same rows by plain SQL into the same schema: %.2f s wall, CPU %.2f s\n",
	       t_fl, c_fl);
	printf("ratio import/floor: CPU %.2fx (goal <= 1.25x), wall %.2fx\n", c_imp / c_fl,
	       t_imp / t_fl);
	printf("ratio import/sqlite3 .import: CPU %.1fx, wall %.1fx\n", c_imp / c_sq, t_imp / t_sq);

	/* 2. customer list --filter */
	enum { RUNS = 50 };
	double v[RUNS];
	for (int i = 0; i < RUNS; i++) {
		char filter[64];
		switch (i % 4) {
		case 0:
			snprintf(filter, sizeof filter, "Client %04ld",
			         (long)(i * 1777) % (n / 100 + 1));
			break;
		case 1:
			snprintf(filter, sizeof filter, "REF-%05ld",
			         (long)(i * 3571) % (n / 10 + 1));
			break;
		case 2:
			snprintf(filter, sizeof filter, "%06ld", (long)(i * 7919) % n);
			break;
		default:
			snprintf(filter, sizeof filter, "ref-0%02d", i);
			break; /* case-folded */
		}
		char *ls[] = {(char *)exe, "--db", db,         "--config", conf,
		              "customer",  "list", "--filter", filter,     NULL};
		t0 = now_s();
		rc = run(ls, NULL, NULL);
		v[i] = now_s() - t0;
		if (rc != 0)
			fprintf(stderr, "bench_cli: list --filter '%s' failed (exit %d)\n", filter,
			        rc);
	}
	qsort(v, RUNS, sizeof v[0], cmp_double);
	printf("customer list --filter (%d runs, different substrings, 1 to 1,000 rows printed "
	       "each, whole command; start-up alone: bench_cli_start): median "
	       "%.1f ms, p99 %.1f ms, min %.1f ms\n",
	       RUNS, v[RUNS / 2] * 1e3, v[(RUNS * 99) / 100] * 1e3, v[0] * 1e3);

	/* 3. billing export */
	char *bx[] = {(char *)exe, "--db",     db,     "--config", conf, "billing",
	              "export",    "--period", period, "--output", out,  NULL};
	t0 = now_s();
	rc = run(bx, NULL, NULL);
	double t_b = now_s() - t0;
	stat(out, &sb);
	printf("billing export --period %s (%ld customers, CSV): %.2f s, %.1f MB%s\n", period, n,
	       t_b, (double)sb.st_size / 1e6, rc ? " (FAILED)" : "");
	char *bj[] = {(char *)exe, "--db",     db,     "--config", conf,   "billing",
	              "export",    "--period", period, "--format", "json", NULL};
	t0 = now_s();
	rc = run(bj, NULL, NULL);
	printf("billing export --format json: %.2f s%s\n", now_s() - t0, rc ? " (FAILED)" : "");

	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_cli: could not remove %s\n", dir);
	return 0;
}

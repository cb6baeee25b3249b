/* 8 processes x 1,000 updates on shared customers through the store API:
 * read, modify, save with the read version; on a conflict re-read and retry.
 * Prints updates/s, conflicts reported, lost updates (must be 0) and BUSY
 * errors surfaced (must be 0).
 * Usage: bench_store_concurrency [PROCS [UPDATES [SHARED]]] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "bench_util.h"

#include "provdesk/store.h"

typedef struct {
	long ok, conflicts, busy, errors;
} tally;

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

static void worker(const char *db, const pd_catalogue *cat, int updates, int shared, int fd)
{
	tally t = {0};
	pd_store_opts o = {.catalogue = cat, .internal_systems_limit = 1};
	pd_store *s = NULL;
	pd_err e = {0};
	if (store_open(db, &o, &s, &e) != PD_OK) {
		fprintf(stderr, "open: %s\n", e.message);
		t.errors = updates;
	}
	pd_actor me;
	snprintf(me.user, sizeof me.user, "bench-%d", (int)getpid());
	me.client[0] = 0;
	srand((unsigned)getpid());
	for (int i = 0; s && i < updates; i++) {
		int64_t id = 1 + rand() % shared;
		for (;;) {
			pd_customer c = {0};
			if (store_customer_get(s, id, &c, &e) != PD_OK) {
				t.errors++;
				break;
			}
			char buf[32];
			snprintf(buf, sizeof buf, "%ld",
			         (c.notes ? strtol(c.notes, NULL, 10) : 0) + 1);
			pd_set_str(&c.notes, buf);
			pd_status r = store_customer_update(s, &c, &me, NULL, NULL, &e);
			pd_customer_free(&c);
			if (r == PD_OK) {
				t.ok++;
				break;
			}
			if (r == PD_E_CONFLICT) {
				t.conflicts++;
				continue;
			}
			if (r == PD_E_TEMPFAIL)
				t.busy++;
			else
				t.errors++;
			fprintf(stderr, "update: %s\n", e.message);
			break;
		}
	}
	store_close(s);
	if (write(fd, &t, sizeof t) != (ssize_t)sizeof t)
		_exit(3);
	_exit(0);
}

int main(int argc, char **argv)
{
	int procs = argc > 1 ? atoi(argv[1]) : 8;
	int updates = argc > 2 ? atoi(argv[2]) : 1000;
	int shared = argc > 3 ? atoi(argv[3]) : 4;
	if (procs < 1 || procs > 64 || updates < 1 || shared < 1) {
		fprintf(stderr, "usage: %s [PROCS<=64 [UPDATES [SHARED]]]\n", argv[0]);
		return 64;
	}
	machine();
	char dir[] = "/tmp/pd-bench-XXXXXX";
	if (!mkdtemp(dir))
		return 73;
	char db[256];
	snprintf(db, sizeof db, "%s/bench.db", dir);
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
	for (int i = 0; i < shared; i++) {
		pd_new_customer n = {0};
		n.customer.name = xasprintf("Shared %d", i);
		n.customer.product_type = xstrdup("analytics-pro");
		memcpy(n.customer.country, "FR", 3);
		n.admin.display_name = xstrdup("Admin");
		n.admin.email = xasprintf("admin%d@example.com", i);
		if (store_customer_create(s, &n, &a, NULL, &e) != PD_OK) {
			fprintf(stderr, "create: %s\n", e.message);
			return 65;
		}
		pd_new_customer_free(&n);
	}
	store_close(s);

	int(*fds)[2] = calloc((size_t)procs, sizeof *fds);
	pid_t *pids = calloc((size_t)procs, sizeof *pids);
	double t0 = now_s();
	for (int p = 0; p < procs; p++) {
		if (pipe(fds[p]) != 0)
			return 71;
		pids[p] = fork();
		if (pids[p] == 0) {
			close(fds[p][0]);
			worker(db, &cat, updates, shared, fds[p][1]);
		}
		close(fds[p][1]);
	}
	tally sum = {0};
	for (int p = 0; p < procs; p++) {
		tally t = {0};
		if (read(fds[p][0], &t, sizeof t) != (ssize_t)sizeof t)
			sum.errors += updates;
		close(fds[p][0]);
		waitpid(pids[p], NULL, 0);
		sum.ok += t.ok;
		sum.conflicts += t.conflicts;
		sum.busy += t.busy;
		sum.errors += t.errors;
	}
	double dt = now_s() - t0;

	sqlite3 *raw;
	sqlite3_open_v2(db, &raw, SQLITE_OPEN_READONLY, NULL);
	sqlite3_stmt *st;
	long stored = -1;
	if (sqlite3_prepare_v2(raw, "SELECT sum(CAST(notes AS INTEGER)) FROM customers", -1, &st,
	                       NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		stored = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(raw);

	printf("bench_store_concurrency: %d processes x %d updates on %d shared customers\n", procs,
	       updates, shared);
	printf("  successful updates : %ld in %.2f s = %.0f updates/s\n", sum.ok, dt, sum.ok / dt);
	printf("  conflicts reported : %ld (each re-read and retried)\n", sum.conflicts);
	printf("  lost updates       : %ld (counters hold %ld)\n", sum.ok - stored, stored);
	printf("  BUSY surfaced      : %ld\n", sum.busy);
	printf("  other errors       : %ld\n", sum.errors);
	pd_catalogue_free(&cat);
	free(fds);
	free(pids);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return (sum.ok - stored) || sum.busy || sum.errors ? 1 : 0;
}

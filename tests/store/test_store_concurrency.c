/* Several processes updating the same customers at once: every successful
 * save is kept (no lost update), stale saves are reported as conflicts and
 * retried, and SQLITE_BUSY never reaches the caller. */
#include <sys/wait.h>

#include "fixture.h"

TestSuite(concurrency, .init = fx_setup_open, .fini = fx_teardown, .timeout = 110);

#define N_SHARED 3

typedef struct {
	int ok, conflicts, errors;
	char last_error[600];
} tally;

/* Read, increment the counter kept in notes, save with the read version;
 * on a conflict re-read and try again. */
static void worker(int updates, int busy_ms, int fd)
{
	tally t = {0};
	pd_store_opts o = fx_opts();
	o.busy_timeout_ms = busy_ms;
	pd_store *s = NULL;
	pd_err e = {0};
	if (store_open(fx_db, &o, &s, &e) != PD_OK) {
		t.errors = 1;
		snprintf(t.last_error, sizeof t.last_error, "open: %s", e.message);
	}
	pd_actor me = {"worker", ""};
	snprintf(me.user, sizeof me.user, "worker-%d", (int)getpid());
	for (int i = 0; s && i < updates; i++) {
		int64_t id = 1 + i % N_SHARED;
		for (;;) {
			pd_customer c = {0};
			if (store_customer_get(s, id, &c, &e) != PD_OK) {
				t.errors++;
				snprintf(t.last_error, sizeof t.last_error, "get: %s", e.message);
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
			t.errors++;
			snprintf(t.last_error, sizeof t.last_error, "%s: %s", pd_status_name(r),
			         e.message);
			break;
		}
	}
	store_close(s);
	if (write(fd, &t, sizeof t) != (ssize_t)sizeof t)
		_exit(3);
	_exit(0);
}

static void run(int procs, int updates, int busy_ms)
{
	for (int i = 0; i < N_SHARED; i++) {
		char name[32];
		snprintf(name, sizeof name, "Shared %d", i);
		fx_create(name);
	}
	store_close(fx_s);
	fx_s = NULL;
	int fds[16][2];
	pid_t pids[16];
	for (int p = 0; p < procs; p++) {
		cr_assert_eq(pipe(fds[p]), 0);
		pids[p] = fork();
		cr_assert_geq(pids[p], 0);
		if (pids[p] == 0) {
			close(fds[p][0]);
			worker(updates, busy_ms, fds[p][1]);
		}
		close(fds[p][1]);
	}
	tally sum = {0};
	for (int p = 0; p < procs; p++) {
		tally t;
		cr_assert_eq(read(fds[p][0], &t, sizeof t), (ssize_t)sizeof t, "worker %d died", p);
		close(fds[p][0]);
		int st;
		waitpid(pids[p], &st, 0);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		cr_assert_eq(t.errors, 0, "worker %d: %d errors, last: %s", p, t.errors,
		             t.last_error);
		sum.ok += t.ok;
		sum.conflicts += t.conflicts;
	}
	fx_s = fx_open();
	cr_assert_eq(sum.ok, procs * updates);
	int64_t stored = fx_scalar(NULL, "SELECT sum(CAST(notes AS INTEGER)) FROM customers");
	cr_assert_eq(stored, sum.ok, "lost updates: %d saves succeeded, counters hold %lld", sum.ok,
	             (long long)stored);
	cr_assert_eq(fx_scalar(NULL, "SELECT sum(version - 1) FROM customers"), sum.ok);
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM audit WHERE action = 'update'"), sum.ok);
	cr_log_info("%d processes x %d updates: %d conflicts reported and retried", procs, updates,
	            sum.conflicts);
}

Test(concurrency, four_processes_no_lost_update_no_busy)
{
	run(4, 200, 5000);
}

/* A tiny busy_timeout forces the store's own whole-transaction retry. Its
 * backoff is in milliseconds: under valgrind (PD_TEST_SLOW) a transaction
 * lasts ~10x longer, so the 1 ms wait scales with it to keep the same
 * ratio of wait to transaction; it stays far below a transaction there. */
Test(concurrency, tiny_busy_timeout_still_no_busy_surfaced)
{
	run(4, 100, fx_slow());
}

/* The status row the monitor stores (docs/architecture.md, "Persisted link
 * state"), against the in-process lab PBX over real TCP: a flapping link
 * writes about once a second and its row ends with the latest state; the
 * heartbeat keeps a running monitor's rows fresh, and a clean stop says
 * they are no longer monitored. Writes are counted by a trigger this test
 * adds to the real database file. */
#include "../store/fixture.h"

#include <poll.h>

#include "provdesk/labpbx.h"
#include "provdesk/live.h"
#include "provdesk/monitor.h"
#include "provdesk/util.h"

#define SECRET "Fl4p-S3cret"

TestSuite(monitor_status, .init = fx_setup_open, .fini = fx_teardown);

static pd_labpbx *lab_up(int port)
{
	pd_labpbx_opts o = {.port = port,
	                    .users = 4,
	                    .queues = 1,
	                    .sites = 1,
	                    .username = "admin",
	                    .secret = SECRET,
	                    .call_rate = 0,
	                    .hold_pct = -1};
	pd_labpbx *l;
	pd_err e = {0};
	cr_assert_eq(labpbx_start(&o, &l, &e), PD_OK, "%s", e.message);
	return l;
}

static int64_t customer_with_pbx(int port)
{
	int64_t cid = fx_create("Flapping PBX");
	fx_add_ami_pbx(cid, port, SECRET);
	return cid;
}

static void exec_sql(const char *sql)
{
	sqlite3 *db;
	cr_assert_eq(sqlite3_open(fx_db, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	cr_assert_eq(sqlite3_exec(db, sql, 0, 0, 0), SQLITE_OK, "%s", sqlite3_errmsg(db));
	sqlite3_close(db);
}

static pd_monitor *mon_start(pd_live *live, int heartbeat_ms)
{
	pd_store_opts so = fx_opts();
	pd_monitor_opts mo = {.ping_interval_s = 1,
	                      .backoff_max_s = 1,
	                      .backoff_min_ms = 10,
	                      .reload_check_ms = 100,
	                      .full_reload_ms = 60000,
	                      .heartbeat_ms = heartbeat_ms};
	pd_monitor *m;
	pd_err e = {0};
	cr_assert_eq(pd_monitor_start_opts(fx_db, &so, NULL, &mo, live, &m, &e), PD_OK, "%s",
	             e.message);
	return m;
}

static pd_link_state live_link(pd_live *live, int64_t cid)
{
	pd_live_view v;
	if (pd_live_snapshot(live, cid, &v) != PD_OK)
		return (pd_link_state)-1;
	pd_link_state st = v.link;
	pd_live_free_view(&v);
	return st;
}

static pd_pbx_status row(int64_t cid)
{
	pd_pbx_status st = {0};
	pd_err e = {0};
	if (store_pbx_status_get(fx_s, cid, &st, &e) != PD_OK)
		st.link = (pd_link_state)-1;
	return st;
}

/* Poll (with a deadline) until cond holds; cond may use `st`, the stored row. */
#define WAIT_ROW(cid, cond, ms, what)                                                              \
	do {                                                                                       \
		int64_t until_ = pd_live_now_ms() + (int64_t)(ms)*tl_slow();                       \
		for (;;) {                                                                         \
			pd_pbx_status st = row(cid);                                               \
			bool ok_ = (cond);                                                         \
			const char *k_ = pd_link_state_name(st.link);                              \
			pd_pbx_status_free(&st);                                                   \
			if (ok_)                                                                   \
				break;                                                             \
			cr_assert_lt(pd_live_now_ms(), until_, "%s: the row says %s", what, k_);   \
			poll(NULL, 0, 20);                                                         \
		}                                                                                  \
	} while (0)

#define WAIT_FOR(cond, ms, what) TL_UNTIL(cond, ms, poll(NULL, 0, 5), "timed out: %s", what)

Test(monitor_status, a_flapping_link_writes_about_once_a_second_and_ends_with_its_state)
{
	pd_labpbx *lab = lab_up(0);
	int port = labpbx_port(lab);
	int64_t cid = customer_with_pbx(port);
	exec_sql("CREATE TABLE test_writes(customer_id INTEGER, link TEXT);"
	         "CREATE TRIGGER test_writes_i AFTER INSERT ON pbx_status BEGIN"
	         " INSERT INTO test_writes VALUES (NEW.customer_id, NEW.link); END;"
	         "CREATE TRIGGER test_writes_u AFTER UPDATE ON pbx_status BEGIN"
	         " INSERT INTO test_writes VALUES (NEW.customer_id, NEW.link); END;");
	pd_live *live = pd_live_new();
	pd_monitor *m = mon_start(live, 600000); /* no heartbeat in this test */
	WAIT_ROW(cid, st.link == PD_LINK_MONITORING, 10000, "first monitoring");
	int64_t w0 = fx_scalar(fx_s, "SELECT count(*) FROM test_writes");
	/* Flap: drop every session as soon as the link has logged in again,
	 * for 3 s (longer under valgrind). Each flap is five transitions (retrying, connecting,
	 * logging in, discovering, monitoring). */
	int64_t t0 = pd_live_now_ms(), flaps = 0;
	while (pd_live_now_ms() - t0 < 3000 * tl_slow()) {
		int64_t logins = labpbx_logins(lab);
		labpbx_inject(lab, PD_LAB_FAULT_DROP);
		flaps++;
		WAIT_FOR(labpbx_logins(lab) > logins && labpbx_sessions(lab) > 0, 10000,
		         "the link logs in again");
	}
	int64_t elapsed_ms = pd_live_now_ms() - t0;
	int64_t w1 = fx_scalar(fx_s, "SELECT count(*) FROM test_writes");
	cr_assert_geq(flaps, 5, "only %lld flaps in %lld ms", (long long)flaps,
	              (long long)elapsed_ms);
	/* at most one write a second (plus the one a quiet link writes at once) */
	cr_assert_leq(w1 - w0, elapsed_ms / 1000 + 2, "%lld writes for %lld flaps in %lld ms",
	              (long long)(w1 - w0), (long long)flaps, (long long)elapsed_ms);
	/* the latest state is written: back to monitoring, since after the flaps began */
	WAIT_FOR(live_link(live, cid) == PD_LINK_MONITORING, 10000, "live monitoring");
	int64_t wall0 = pd_now() - elapsed_ms / 1000 - 2;
	WAIT_ROW(cid, st.link == PD_LINK_MONITORING && st.since >= wall0 && st.monitored, 5000,
	         "monitoring again after the flaps");
	/* and a link that stays down: its row says so, with the error */
	labpbx_stop(lab);
	WAIT_ROW(cid,
	         st.link != PD_LINK_MONITORING && st.last_error && *st.last_error &&
	             pd_link_state_retries(st.link),
	         10000, "down after the lab stopped");
	pd_monitor_stop(m);
	pd_live_free(live);
}

Test(monitor_status, heartbeat_keeps_rows_fresh_and_a_clean_stop_says_not_monitored)
{
	pd_labpbx *lab = lab_up(0);
	int64_t cid = customer_with_pbx(labpbx_port(lab));
	pd_live *live = pd_live_new();
	pd_monitor *m = mon_start(live, 200);
	WAIT_ROW(cid, st.link == PD_LINK_MONITORING && st.monitored, 10000, "monitoring");
	/* an old row (as a dead monitor leaves it): the heartbeat makes it
	 * current again though nothing on the link changed (no calls) */
	exec_sql("UPDATE pbx_status SET updated_at = 1000");
	WAIT_ROW(cid,
	         st.updated_at >= pd_now() - 2 &&
	             pd_pbx_status_fresh(st.monitored, st.updated_at, pd_now()),
	         5000, "refreshed by the heartbeat");
	cr_assert_eq(live_link(live, cid), PD_LINK_MONITORING);
	pd_monitor_stop(m);
	pd_pbx_status st = row(cid);
	cr_assert_not(st.monitored, "a stopped monitor's row says monitored");
	cr_assert_eq(st.link, PD_LINK_MONITORING, "the last known state stays");
	cr_assert_not(pd_pbx_status_fresh(st.monitored, st.updated_at, pd_now()));
	pd_pbx_status_free(&st);
	labpbx_stop(lab);
	pd_live_free(live);
}

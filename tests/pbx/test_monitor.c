/* The monitor thread with a real SQLite file and the in-process lab PBX over
 * real TCP: discovery and user sync into the database (sub-accounts from the
 * sites), a no-change resync writes nothing, removed endpoints, status rows
 * for other processes, enable/disable/edit taking effect without restart,
 * authentication failure, and the secret never in status or audit text. */
#include "../store/fixture.h"

#include <poll.h>

#include "provdesk/labpbx.h"
#include "provdesk/live.h"
#include "provdesk/monitor.h"
#include "provdesk/util.h"

#define SECRET "Mon1tor-S3cret"

TestSuite(monitor, .init = fx_setup_open, .fini = fx_teardown, .timeout = 60);

static pd_labpbx *lab_up(int port, int users, int sites)
{
	pd_labpbx_opts o = {.port = port, .users = users, .queues = 2, .sites = sites,
			    .username = "admin", .secret = SECRET, .ring_ms = 200, .talk_ms = 500};
	pd_labpbx *l;
	pd_err e = {0};
	cr_assert_eq(labpbx_start(&o, &l, &e), PD_OK, "%s", e.message);
	return l;
}

static int64_t add_customer_with_pbx(int port, bool auto_provision, bool enabled)
{
	int64_t cid = fx_create("Société Générale Lab");
	pd_pbx p = {0};
	p.platform = xstrdup("asterisk-ami");
	p.host = xstrdup("127.0.0.1");
	p.port = port;
	p.username = xstrdup("admin");
	p.secret = xstrdup(SECRET);
	p.sync_users = p.monitor = true;
	p.enabled = enabled;
	p.auto_provision = auto_provision;
	pd_err e = {0};
	cr_assert_eq(store_pbx_add(fx_s, cid, &p, &fx_alice, &e), PD_OK, "%s", e.message);
	pd_pbx_free(&p);
	return cid;
}

static pd_monitor *mon_start(pd_live *live)
{
	pd_store_opts so = fx_opts();
	pd_monitor_opts mo = {.ping_interval_s = 1, .backoff_max_s = 1, .backoff_min_ms = 100,
			      .reload_check_ms = 100, .full_reload_ms = 300};
	pd_monitor *m;
	pd_err e = {0};
	cr_assert_eq(pd_monitor_start_opts(fx_db, &so, NULL, &mo, live, &m, &e), PD_OK, "%s",
		     e.message);
	return m;
}

static pd_link_state link_state(pd_live *live, int64_t cid, char *status, size_t n)
{
	pd_live_view v;
	if (pd_live_snapshot(live, cid, &v) != PD_OK)
		return (pd_link_state)-1;
	pd_link_state st = v.link;
	if (status)
		snprintf(status, n, "%s", v.status);
	pd_live_free_view(&v);
	return st;
}

/* Wait on the wake fd (as the UI does) until cond holds. */
#define WAIT_LIVE(live, cond, ms)                                                            \
	do {                                                                                 \
		int64_t until_ = pd_live_now_ms() + (ms);                                    \
		while (!(cond)) {                                                            \
			char st_[200] = "";                                                  \
			link_state((live), cid, st_, sizeof st_);                            \
			cr_assert_lt(pd_live_now_ms(), until_, "timed out: %s (status: %s)", #cond, st_); \
			struct pollfd pf_ = {.fd = pd_live_wake_fd(live), .events = POLLIN}; \
			poll(&pf_, 1, 100);                                                  \
			pd_live_wake_drain(live);                                            \
		}                                                                            \
	} while (0)

static int64_t live_calls(pd_live *live, int64_t cid)
{
	pd_live_summary s;
	return pd_live_summary_get(live, cid, &s) ? s.calls : -1;
}

static size_t synced_users(int64_t cid, const char *endpoint, char *name, size_t n)
{
	pd_user *u = NULL;
	size_t nu = 0, synced = 0;
	pd_err e = {0};
	cr_assert_eq(store_user_list(fx_s, cid, &u, &nu, &e), PD_OK, "%s", e.message);
	for (size_t i = 0; i < nu; i++) {
		if (!u[i].synced)
			continue;
		synced++;
		if (endpoint && u[i].endpoint && !strcmp(u[i].endpoint, endpoint))
			snprintf(name, n, "%s", u[i].display_name);
	}
	for (size_t i = 0; i < nu; i++)
		pd_user_free(&u[i]);
	free(u);
	return synced;
}

static bool sync_seq_at_least(pd_monitor *m, int64_t cid, int64_t want, pd_sync_result *r)
{
	int64_t seq = 0;
	return pd_monitor_last_sync(m, cid, r, &seq) && seq >= want;
}

Test(monitor, sync_into_sqlite_and_empty_resync)
{
	pd_labpbx *lab = lab_up(0, 20, 2);
	int64_t cid = add_customer_with_pbx(labpbx_port(lab), true, true);
	pd_live *live = pd_live_new();
	pd_monitor *m = mon_start(live);
	WAIT_LIVE(live, link_state(live, cid, NULL, 0) == PD_LINK_MONITORING, 10000);
	pd_sync_result r = {0};
	cr_assert(sync_seq_at_least(m, cid, 1, &r));
	cr_assert_eq(r.added, 20);
	cr_assert_eq(r.sub_accounts_added, 2);
	char name[128] = "";
	cr_assert_eq(synced_users(cid, "1008", name, sizeof name), 20);
	cr_assert_str_eq(name, "Hélène Dubois");
	pd_sub_account *sa = NULL;
	size_t nsa = 0;
	pd_err e = {0};
	cr_assert_eq(store_sub_account_list(fx_s, cid, &sa, &nsa, &e), PD_OK);
	cr_assert_eq(nsa, 2);
	pd_sub_accounts_free(sa, nsa);

	/* a resync with nothing changed writes nothing */
	int64_t audits = fx_scalar(NULL, "SELECT count(*) FROM audit");
	pd_monitor_resync(m, cid);
	WAIT_LIVE(live, sync_seq_at_least(m, cid, 2, &r), 10000);
	cr_assert_eq(r.added, 0);
	cr_assert_eq(r.updated, 0);
	cr_assert_eq(r.removed, 0);
	cr_assert_eq(r.unchanged, 20);
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM audit"), audits);
	WAIT_LIVE(live, link_state(live, cid, NULL, 0) == PD_LINK_MONITORING, 10000);

	/* the PBX comes back with 5 endpoints fewer */
	int port = labpbx_port(lab);
	labpbx_stop(lab);
	lab = lab_up(port, 15, 2);
	WAIT_LIVE(live, link_state(live, cid, NULL, 0) == PD_LINK_MONITORING &&
				sync_seq_at_least(m, cid, 3, &r),
		  15000);
	cr_assert_eq(r.removed, 5, "%d removed", r.removed);
	cr_assert_eq(synced_users(cid, NULL, NULL, 0), 15);

	/* the status row other processes read */
	pd_pbx_status st = {0};
	int64_t until = pd_live_now_ms() + 5000;
	while (1) {
		cr_assert_eq(store_pbx_status_get(fx_s, cid, &st, &e), PD_OK, "%s", e.message);
		if (st.state && !strcmp(st.state, "monitoring") && st.agents_logged_on == 15)
			break;
		cr_assert_lt(pd_live_now_ms(), until, "status row: %s, %lld agents", st.state,
			     (long long)st.agents_logged_on);
		pd_pbx_status_free(&st);
		usleep(100000);
	}
	pd_pbx_status_free(&st);
	pd_monitor_stop(m);
	pd_live_free(live);
	labpbx_stop(lab);
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM audit WHERE detail LIKE '%" SECRET "%'"), 0);
}

Test(monitor, enable_disable_and_edit_without_restart)
{
	pd_labpbx *lab = lab_up(0, 5, 1);
	int64_t cid = add_customer_with_pbx(labpbx_port(lab), false, false);
	pd_live *live = pd_live_new();
	pd_monitor *m = mon_start(live);
	WAIT_LIVE(live, link_state(live, cid, NULL, 0) == PD_LINK_DISABLED, 5000);
	cr_assert_eq(labpbx_sessions(lab), 0);
	/* enabled from "another process": a second store connection */
	pd_store *other = fx_open();
	pd_err e = {0};
	cr_assert_eq(store_pbx_set_enabled(other, cid, true, &fx_bob, &e), PD_OK, "%s", e.message);
	WAIT_LIVE(live, link_state(live, cid, NULL, 0) == PD_LINK_MONITORING, 10000);
	cr_assert_eq(labpbx_sessions(lab), 1);
	/* a call shows up in the live state */
	labpbx_place_call(lab, 0);
	WAIT_LIVE(live, live_calls(live, cid) == 1, 5000);
	/* a disabled customer is not monitored (data kept), and is again once enabled */
	cr_assert_eq(store_customer_set_disabled(other, cid, true, &fx_bob, &e), PD_OK, "%s", e.message);
	char why[200];
	WAIT_LIVE(live, link_state(live, cid, NULL, 0) == PD_LINK_DISABLED, 5000);
	pd_live_view dv;
	cr_assert_eq(pd_live_snapshot(live, cid, &dv), PD_OK);
	snprintf(why, sizeof why, "%s", dv.last_error);
	pd_live_free_view(&dv);
	cr_assert_str_eq(why, "customer disabled");
	cr_assert_eq(store_customer_set_disabled(other, cid, false, &fx_bob, &e), PD_OK);
	WAIT_LIVE(live, link_state(live, cid, NULL, 0) == PD_LINK_MONITORING, 10000);
	/* edit: a wrong secret -> auth failed, no retries */
	pd_pbx p = {0};
	cr_assert_eq(store_pbx_get(other, cid, false, &p, &e), PD_OK);
	p.secret = xstrdup("wrong-secret-123");
	cr_assert_eq(store_pbx_update(other, &p, &fx_bob, &e), PD_OK, "%s", e.message);
	pd_pbx_free(&p);
	char status[200];
	WAIT_LIVE(live, link_state(live, cid, status, sizeof status) == PD_LINK_AUTH_FAILED, 10000);
	cr_assert_str_eq(status, "auth failed");
	int64_t logins = labpbx_logins(lab);
	usleep(1500000);
	cr_assert_eq(labpbx_logins(lab), logins);
	/* disable: the link closes */
	cr_assert_eq(store_pbx_set_enabled(other, cid, false, &fx_bob, &e), PD_OK);
	WAIT_LIVE(live, link_state(live, cid, NULL, 0) == PD_LINK_DISABLED, 5000);
	int64_t until = pd_live_now_ms() + 3000;
	while (labpbx_sessions(lab) != 0) {
		cr_assert_lt(pd_live_now_ms(), until);
		usleep(50000);
	}
	pd_pbx_status st = {0};
	until = pd_live_now_ms() + 4000;
	while (1) {
		cr_assert_eq(store_pbx_status_get(fx_s, cid, &st, &e), PD_OK);
		if (st.state && !strcmp(st.state, "disabled"))
			break;
		cr_assert_lt(pd_live_now_ms(), until, "status row: %s", st.state);
		pd_pbx_status_free(&st);
		usleep(100000);
	}
	cr_assert(!st.last_error || !strstr(st.last_error, "wrong-secret-123"));
	pd_pbx_status_free(&st);
	store_close(other);
	pd_monitor_stop(m);
	pd_live_free(live);
	labpbx_stop(lab);
}

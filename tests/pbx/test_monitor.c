/* The monitor thread with a real SQLite file and the in-process lab PBX over
 * real TCP: discovery and user sync into the database (sub-accounts from the
 * sites), a no-change resync writes nothing, removed endpoints, status rows
 * for other processes, enable/disable/edit taking effect without restart,
 * authentication failure, and the secret never in status or audit text. */
#include "../store/fixture.h"

#include <poll.h>

#include "provdesk/i18n.h"
#include "provdesk/labpbx.h"
#include "provdesk/live.h"
#include "provdesk/monitor.h"
#include "provdesk/util.h"

#define SECRET "Mon1tor-S3cret"

TestSuite(monitor, .init = fx_setup_open, .fini = fx_teardown, .timeout = 60);

static pd_labpbx *lab_up(int port, int users, int sites)
{
	pd_labpbx_opts o = {.port = port,
	                    .users = users,
	                    .queues = 2,
	                    .sites = sites,
	                    .username = "admin",
	                    .secret = SECRET,
	                    .ring_ms = 200,
	                    .talk_ms = 500};
	pd_labpbx *l;
	pd_err e = {0};
	cr_assert_eq(labpbx_start(&o, &l, &e), PD_OK, "%s", e.message);
	return l;
}

static int64_t add_named_customer_with_pbx(const char *name, int port, bool auto_provision,
                                           bool enabled)
{
	int64_t cid = fx_create(name);
	fx_add_ami_pbx_at(cid, "127.0.0.1", port, SECRET, enabled, auto_provision);
	return cid;
}

static int64_t add_customer_with_pbx(int port, bool auto_provision, bool enabled)
{
	return add_named_customer_with_pbx("Société Générale Lab", port, auto_provision, enabled);
}

/* read_only: a watcher, as the NOC runs it */
static pd_monitor *mon_start_as(pd_live *live, bool read_only)
{
	pd_store_opts so = fx_opts();
	so.read_only = read_only;
	pd_monitor_opts mo = {.ping_interval_s = 1,
	                      .backoff_max_s = 1,
	                      .backoff_min_ms = 100,
	                      .reload_check_ms = 100,
	                      .full_reload_ms = 300};
	pd_monitor *m;
	pd_err e = {0};
	cr_assert_eq(pd_monitor_start_opts(fx_db, &so, NULL, &mo, live, &m, &e), PD_OK, "%s",
	             e.message);
	return m;
}

static pd_monitor *mon_start(pd_live *live)
{
	return mon_start_as(live, false);
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

/* The link's status line, for a wait's message (a test's one thread). */
static const char *status_of(pd_live *live, int64_t cid)
{
	static char st[200];
	st[0] = '\0';
	link_state(live, cid, st, sizeof st);
	return st;
}

/* Wait on the wake fd (as the UI does) until cond holds. */
#define WAIT_LIVE(live, cond, ms)                                                                  \
	TL_UNTIL(cond, ms,                                                                         \
	         (poll(&(struct pollfd){.fd = pd_live_wake_fd(live), .events = POLLIN}, 1, 100),   \
	          pd_live_wake_drain(live)),                                                       \
	         "timed out: %s (status: %s)", #cond, status_of((live), cid))

/* The state and the error a status row holds (pd_msgs), as a reader here
 * reads them. */
static const char *state_of(const pd_pbx_status *st)
{
	static char b[200];
	return pd_msg_text(st->state, b, sizeof b);
}

static const char *error_of(const pd_pbx_status *st)
{
	static char b[300];
	return pd_msg_text(st->last_error, b, sizeof b);
}

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
	WAIT_LIVE(live,
	          link_state(live, cid, NULL, 0) == PD_LINK_MONITORING &&
	              sync_seq_at_least(m, cid, 3, &r),
	          15000);
	cr_assert_eq(r.removed, 5, "%d removed", r.removed);
	cr_assert_eq(synced_users(cid, NULL, NULL, 0), 15);

	/* the status row other processes read */
	pd_pbx_status st = {0};
	int64_t until = pd_live_now_ms() + 5000;
	while (1) {
		cr_assert_eq(store_pbx_status_get(fx_s, cid, &st, &e), PD_OK, "%s", e.message);
		if (!strcmp(state_of(&st), "monitoring") && st.agents_logged_on == 15)
			break;
		cr_assert_lt(pd_live_now_ms(), until, "status row: %s, %lld agents", state_of(&st),
		             (long long)st.agents_logged_on);
		pd_pbx_status_free(&st);
		usleep(100000);
	}
	pd_pbx_status_free(&st);
	pd_monitor_stop(m);
	pd_live_free(live);
	labpbx_stop(lab);
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM audit WHERE detail LIKE '%" SECRET "%'"),
	             0);
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
	cr_assert_eq(store_customer_set_disabled(other, cid, true, &fx_bob, &e), PD_OK, "%s",
	             e.message);
	char why[sizeof((pd_live_view *)0)->last_error];
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
	/* no retry: the monitor goes on (three more store checks) with no timer
	 * left on any link, so nothing will dial, and the lab saw no new login.
	 * A retry pending keeps a timer (this wait then times out); one done
	 * shows as a login. */
	int64_t logins = labpbx_logins(lab);
	pd_monitor_stats ms0, ms;
	pd_monitor_get_stats(m, &ms0);
	int64_t idle_until = pd_live_now_ms() + 5000 * tl_slow();
	for (;;) {
		pd_monitor_get_stats(m, &ms);
		if (ms.checks >= ms0.checks + 3 && ms.links_with_timer == 0)
			break;
		cr_assert_lt(pd_live_now_ms(), idle_until, "a timer is still pending on a link");
		usleep(20000);
	}
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
		if (st.link == PD_LINK_DISABLED)
			break;
		cr_assert_lt(pd_live_now_ms(), until, "status row: %s", state_of(&st));
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

/* "endpoint|display name|sub-account" of every synced user, sorted by endpoint. */
static char *synced_dump(int64_t cid)
{
	pd_user *u = NULL;
	size_t nu = 0;
	pd_err e = {0};
	cr_assert_eq(store_user_list(fx_s, cid, &u, &nu, &e), PD_OK, "%s", e.message);
	/* endpoints are 1001..: sort numerically by a simple insertion sort */
	for (size_t i = 1; i < nu; i++)
		for (size_t j = i; j > 0 && u[j - 1].endpoint && u[j].endpoint &&
		                   atoi(u[j - 1].endpoint) > atoi(u[j].endpoint);
		     j--) {
			pd_user t = u[j];
			u[j] = u[j - 1];
			u[j - 1] = t;
		}
	pd_buf b = {0};
	for (size_t i = 0; i < nu; i++) {
		if (u[i].synced)
			pd_buf_printf(&b, "%s|%s|%s\n", u[i].endpoint, u[i].display_name,
			              u[i].sub_account ? u[i].sub_account : "-");
		pd_user_free(&u[i]);
	}
	free(u);
	return b.s ? b.s : xstrdup("");
}

static char *sub_accounts_dump(int64_t cid)
{
	pd_sub_account *sa = NULL;
	size_t n = 0;
	pd_err e = {0};
	cr_assert_eq(store_sub_account_list(fx_s, cid, &sa, &n, &e), PD_OK, "%s", e.message);
	pd_buf b = {0};
	for (size_t i = 0; i < n; i++)
		pd_buf_printf(&b, "%s\n", sa[i].name);
	pd_sub_accounts_free(sa, n);
	return b.s ? b.s : xstrdup("");
}

static pd_labpbx *lab_up_legacy(int users, int sites)
{
	pd_labpbx_opts o = {.users = users,
	                    .queues = 2,
	                    .sites = sites,
	                    .username = "admin",
	                    .secret = SECRET,
	                    .ring_ms = 200,
	                    .talk_ms = 800,
	                    .hold_pct = -1,
	                    .legacy_sip = true};
	pd_labpbx *l;
	pd_err e = {0};
	cr_assert_eq(labpbx_start(&o, &l, &e), PD_OK, "%s", e.message);
	return l;
}

/* An Asterisk 13-16 with chan_sip only (PJSIPShowEndpoints is an unknown
 * command): discovery falls back to SIPpeers + SIPshowpeer and yields the same
 * users, names and contexts (sub-accounts) as the PJSIP lab with the same
 * options; calls on SIP/ channels are shown. */
/* A call and agents are live; the connection is edited with a wrong secret:
 * once authentication fails the live counts are cleared (in the live state
 * and in the status row other processes read), not left as they were. */
Test(monitor, auth_failure_clears_live_counts)
{
	pd_labpbx_opts o = {.users = 4,
	                    .queues = 1,
	                    .sites = 1,
	                    .username = "admin",
	                    .secret = SECRET,
	                    .ring_ms = 200,
	                    .talk_ms = 600000,
	                    .hold_pct = -1};
	pd_labpbx *lab;
	pd_err e = {0};
	cr_assert_eq(labpbx_start(&o, &lab, &e), PD_OK, "%s", e.message);
	int64_t cid = add_customer_with_pbx(labpbx_port(lab), false, true);
	pd_live *live = pd_live_new();
	pd_monitor *m = mon_start(live);
	WAIT_LIVE(live, link_state(live, cid, NULL, 0) == PD_LINK_MONITORING, 10000);
	labpbx_place_call(lab, 0);
	pd_live_summary s;
	WAIT_LIVE(live,
	          live_calls(live, cid) == 1 && pd_live_summary_get(live, cid, &s) &&
	              s.agents_logged_on == 4,
	          10000);
	/* the status row shows them too (unchanged-state rows are rewritten every
	 * 5 s: allow three periods on a loaded machine) */
	pd_pbx_status st = {0};
	int64_t until = pd_live_now_ms() + 15000 * tl_slow();
	while (1) {
		cr_assert_eq(store_pbx_status_get(fx_s, cid, &st, &e), PD_OK, "%s", e.message);
		bool seen = st.live_calls == 1 && st.agents_logged_on == 4;
		pd_pbx_status_free(&st);
		if (seen)
			break;
		cr_assert_lt(pd_live_now_ms(), until, "status row never showed the call");
		usleep(50000);
	}
	pd_pbx p = {0};
	cr_assert_eq(store_pbx_get(fx_s, cid, false, &p, &e), PD_OK);
	p.secret = xstrdup("wrong-secret-123");
	cr_assert_eq(store_pbx_update(fx_s, &p, &fx_bob, &e), PD_OK, "%s", e.message);
	pd_pbx_free(&p);
	WAIT_LIVE(live, link_state(live, cid, NULL, 0) == PD_LINK_AUTH_FAILED, 10000);
	cr_assert_eq(labpbx_active_calls(lab), 1, "the call goes on at the PBX");
	cr_assert(pd_live_summary_get(live, cid, &s));
	cr_assert_eq(s.calls, 0, "%lld calls left in the live state", (long long)s.calls);
	cr_assert_eq(s.agents_logged_on, 0);
	cr_assert_eq(s.agents_available, 0);
	until = pd_live_now_ms() + 15000 * tl_slow();
	while (1) {
		cr_assert_eq(store_pbx_status_get(fx_s, cid, &st, &e), PD_OK, "%s", e.message);
		bool cleared = !strcmp(state_of(&st), "auth failed") && st.live_calls == 0 &&
		               st.agents_logged_on == 0 && st.agents_available == 0;
		char state[64];
		snprintf(state, sizeof state, "%s", state_of(&st));
		long long calls = st.live_calls, agents = st.agents_logged_on;
		pd_pbx_status_free(&st);
		if (cleared)
			break;
		cr_assert_lt(pd_live_now_ms(), until, "status row: %s, %lld calls, %lld agents",
		             state, calls, agents);
		usleep(50000);
	}
	pd_monitor_stop(m);
	pd_live_free(live);
	labpbx_stop(lab);
}

Test(monitor, legacy_sip_sync_matches_pjsip)
{
	pd_labpbx *modern = lab_up(0, 23, 3);
	pd_labpbx *legacy = lab_up_legacy(23, 3);
	int64_t c_new = add_named_customer_with_pbx("Lab PJSIP", labpbx_port(modern), true, true);
	int64_t cid = add_named_customer_with_pbx("Lab chan_sip", labpbx_port(legacy), true, true);
	pd_live *live = pd_live_new();
	pd_monitor *m = mon_start(live);
	WAIT_LIVE(live,
	          link_state(live, cid, NULL, 0) == PD_LINK_MONITORING &&
	              link_state(live, c_new, NULL, 0) == PD_LINK_MONITORING,
	          10000);
	pd_sync_result r = {0};
	cr_assert(sync_seq_at_least(m, cid, 1, &r));
	cr_assert_eq(r.added, 23);
	cr_assert_eq(r.sub_accounts_added, 3);
	char *a = synced_dump(c_new), *b = synced_dump(cid);
	cr_assert_str_eq(b, a);
	cr_assert(strstr(b, "1008|Hélène Dubois|site-2\n"), "%s", b);
	free(a);
	free(b);
	a = sub_accounts_dump(c_new);
	b = sub_accounts_dump(cid);
	cr_assert_str_eq(b, a);
	cr_assert_str_eq(b, "site-1\nsite-2\nsite-3\n");
	free(a);
	free(b);
	/* device states from the peers' qualify status */
	pd_live_view v;
	cr_assert_eq(pd_live_snapshot(live, cid, &v), PD_OK);
	cr_assert_eq(v.n_users, 23);
	int unavailable = 0, idle = 0;
	for (size_t i = 0; i < v.n_users; i++) {
		const char *ds = v.users[i].device_state ? v.users[i].device_state : "";
		unavailable += !strcmp(ds, "Unavailable");
		idle += !strcmp(ds, "Not in use");
	}
	pd_live_free_view(&v);
	cr_assert_eq(unavailable, 2, "1010 and 1020 are UNREACHABLE");
	cr_assert_eq(idle, 19);
	/* a call on SIP/ channels, answered by a SIP/ agent */
	labpbx_place_call(legacy, 0);
	WAIT_LIVE(live, live_calls(live, cid) == 1, 5000);
	WAIT_LIVE(live, live_calls(live, cid) == 0, 10000);
	/* a no-change resync over SIPpeers */
	pd_monitor_resync(m, cid);
	WAIT_LIVE(live, sync_seq_at_least(m, cid, 2, &r), 10000);
	cr_assert_eq(r.added + r.updated + r.removed, 0, "%d new, %d updated, %d removed", r.added,
	             r.updated, r.removed);
	cr_assert_eq(r.unchanged, 23);
	pd_monitor_stop(m);
	pd_live_free(live);
	labpbx_stop(modern);
	labpbx_stop(legacy);
}

/* A busy PBX: device states move all the time, but the sync result counts only
 * the fields sync owns, so resyncs in the middle of calls say "0 new,
 * 0 updated, 0 removed" and write no audit row. */
Test(monitor, resync_on_busy_pbx_reports_no_change)
{
	pd_labpbx_opts o = {.users = 12,
	                    .queues = 2,
	                    .sites = 2,
	                    .username = "admin",
	                    .secret = SECRET,
	                    .ring_ms = 150,
	                    .talk_ms = 700,
	                    .wrapup_s = 1,
	                    .call_rate = 300,
	                    .outbound_pct = 30};
	pd_labpbx *lab;
	pd_err e = {0};
	cr_assert_eq(labpbx_start(&o, &lab, &e), PD_OK, "%s", e.message);
	int64_t cid = add_customer_with_pbx(labpbx_port(lab), true, true);
	pd_live *live = pd_live_new();
	pd_monitor *m = mon_start(live);
	WAIT_LIVE(live, link_state(live, cid, NULL, 0) == PD_LINK_MONITORING, 10000);
	pd_sync_result r = {0};
	cr_assert(sync_seq_at_least(m, cid, 1, &r));
	cr_assert_eq(r.added, 12);
	/* wait until calls are really running, and device states have changed */
	WAIT_LIVE(live, live_calls(live, cid) >= 2, 10000);
	int64_t audits = fx_scalar(NULL, "SELECT count(*) FROM audit");
	/* a signature of the stored device states: it must move between syncs
	 * (else this test would prove nothing) while the result stays 0/0/0 */
	static const char sig_sql[] =
	    "SELECT total(id * CASE device_state WHEN 'Not in use' THEN 1 WHEN 'In use' THEN 2 "
	    "WHEN 'Ringing' THEN 3 WHEN 'On hold' THEN 4 ELSE 5 END) FROM users WHERE synced=1";
	int64_t sig = fx_scalar(NULL, sig_sql), seq = 1;
	int moved = 0;
	for (int round = 0; round < 4; round++) {
		WAIT_LIVE(live, live_calls(live, cid) >= 1, 10000);
		pd_monitor_resync(m, cid);
		seq++;
		WAIT_LIVE(live, sync_seq_at_least(m, cid, seq, &r), 10000);
		cr_assert_eq(r.added, 0, "round %d: %d new", round, r.added);
		cr_assert_eq(r.updated, 0, "round %d: %d updated", round, r.updated);
		cr_assert_eq(r.removed, 0, "round %d: %d removed", round, r.removed);
		cr_assert_eq(r.unchanged, 12);
		int64_t now_sig = fx_scalar(NULL, sig_sql);
		moved += now_sig != sig;
		sig = now_sig;
		WAIT_LIVE(live, link_state(live, cid, NULL, 0) == PD_LINK_MONITORING, 10000);
		usleep(300000);
	}
	cr_assert_gt(moved, 0, "device states never changed between syncs");
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM audit"), audits);
	pd_monitor_stop(m);
	pd_live_free(live);
	labpbx_stop(lab);
}

/* A read-only monitor (the NOC) watches calls and agents but stores no sync:
 * nothing is written and no "sync not saved" error stands on the link. */
Test(monitor, read_only_watcher_stores_nothing_and_reports_no_sync_error)
{
	pd_labpbx *lab = lab_up(0, 4, 1);
	int64_t cid = add_customer_with_pbx(labpbx_port(lab), false, true);
	pd_live *live = pd_live_new();
	pd_monitor *m = mon_start_as(live, true);
	WAIT_LIVE(live, link_state(live, cid, NULL, 0) == PD_LINK_MONITORING, 10000);
	labpbx_place_call(lab, 0);
	WAIT_LIVE(live, live_calls(live, cid) == 1, 5000);
	pd_live_view v;
	cr_assert_eq(pd_live_snapshot(live, cid, &v), PD_OK);
	char err[sizeof v.last_error];
	snprintf(err, sizeof err, "%s", v.last_error);
	pd_live_free_view(&v);
	cr_assert_str_eq(err, "", "a watcher's link carries no error");
	cr_assert_eq(synced_users(cid, NULL, NULL, 0), 0, "nothing synced into the database");
	pd_monitor_stop(m);
	pd_live_free(live);
	labpbx_stop(lab);
}

/* The [pbx] caps of provdesk.conf reach every link, and the warning at a
 * cap reaches the status row other processes read (`pbx status`), while the
 * state stays "monitoring". */
Test(monitor, config_caps_and_the_warning_in_the_status_row)
{
	pd_labpbx_opts o = {
	    .users = 3, .queues = 1, .username = "admin", .secret = SECRET, .fault_ms = 30000};
	pd_labpbx *lab;
	pd_err e = {0};
	cr_assert_eq(labpbx_start(&o, &lab, &e), PD_OK, "%s", e.message);
	int64_t cid = add_customer_with_pbx(labpbx_port(lab), false, true);
	pd_config cfg;
	cr_assert_eq(pd_config_load_string("caps.conf",
	                                   "[pbx]\nmax_calls_per_link = 40\n"
	                                   "max_channels_per_link = 60\n",
	                                   &cfg, &e),
	             PD_OK, "%s", e.message);
	pd_live *live = pd_live_new();
	pd_store_opts so = fx_opts();
	pd_monitor_opts mo = {.ping_interval_s = 1,
	                      .backoff_max_s = 1,
	                      .backoff_min_ms = 100,
	                      .reload_check_ms = 100,
	                      .full_reload_ms = 300};
	pd_monitor *m;
	cr_assert_eq(pd_monitor_start_opts(fx_db, &so, &cfg, &mo, live, &m, &e), PD_OK, "%s",
	             e.message);
	WAIT_LIVE(live, link_state(live, cid, NULL, 0) == PD_LINK_MONITORING, 5000);
	labpbx_inject(lab, PD_LAB_FAULT_FLOOD);
	pd_pbx_status st = {0};
	int64_t until = pd_live_now_ms() + 8000;
	while (1) {
		cr_assert_eq(store_pbx_status_get(fx_s, cid, &st, &e), PD_OK, "%s", e.message);
		if (strstr(error_of(&st), "max_calls_per_link 40"))
			break;
		cr_assert_lt(pd_live_now_ms(), until, "status row: %s / %s", state_of(&st),
		             st.last_error ? error_of(&st) : "(no error)");
		pd_pbx_status_free(&st);
		usleep(100000);
	}
	cr_assert_str_eq(state_of(&st), "monitoring");
	cr_assert(strstr(error_of(&st), "input capped: "), "%s", error_of(&st));
	cr_assert_leq(st.live_calls, 40);
	pd_pbx_status_free(&st);
	pd_live_summary s;
	cr_assert(pd_live_summary_get(live, cid, &s));
	cr_assert_leq(s.input.calls, 40);
	cr_assert_leq(s.input.channels, 60);
	cr_assert_gt(s.input.dropped_calls, 0);
	pd_monitor_stop(m);
	pd_live_free(live);
	pd_config_free(&cfg);
	labpbx_stop(lab);
}

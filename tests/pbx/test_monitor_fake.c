/* The monitor's own logic with a fake driver (tests/pbx/fake_driver.c) and a
 * real SQLite file, no sockets: the set of links follows the store's
 * generation (enable, disable, edit, remove), a dropped link is retried at
 * the driver's deadline and discovered again once back, what the driver
 * publishes reaches pd_live, and the link state is written to pbx_status as
 * its key. Every wait has a deadline. */
#include "../store/fixture.h"

#include <poll.h>

#include "fake_driver.h"
#include "provdesk/i18n.h"
#include "provdesk/live.h"
#include "provdesk/monitor.h"
#include "provdesk/util.h"

#define NODRIVER_PLATFORM "fake-without-driver"

/* The catalogue gets two test platforms: one the fake driver serves, one
 * no driver serves (supported in the file, so a connection can be enabled). */
static void fake_setup(void)
{
	fx_setup();
	const char *keys[] = {FAKE_PLATFORM, NODRIVER_PLATFORM};
	fx_cat.platforms =
	    xrealloc(fx_cat.platforms, (fx_cat.n_platforms + 2) * sizeof *fx_cat.platforms);
	for (int i = 0; i < 2; i++)
		fx_cat.platforms[fx_cat.n_platforms++] = (pd_platform){
		    .key = xstrdup(keys[i]), .name = xstrdup(keys[i]), .supported = true};
	for (size_t t = 0; t < fx_cat.n_types; t++) {
		pd_product_type *pt = &fx_cat.types[t];
		pt->platforms =
		    xrealloc(pt->platforms, (pt->n_platforms + 2) * sizeof *pt->platforms);
		for (int i = 0; i < 2; i++)
			pt->platforms[pt->n_platforms++] = xstrdup(keys[i]);
	}
	fx_s = fx_open();
	fake_driver_setup();
}

TestSuite(monitor_fake, .init = fake_setup, .fini = fx_teardown, .timeout = 60);

static int64_t add_pbx(const char *name, const char *platform, const char *host, bool enabled)
{
	int64_t cid = fx_create(name);
	pd_pbx p = {0};
	p.platform = xstrdup(platform);
	p.host = xstrdup(host);
	p.port = 5060;
	p.username = xstrdup("admin");
	p.secret = xstrdup("Fake-S3cret");
	p.sync_users = p.monitor = true;
	p.enabled = enabled;
	pd_err e = {0};
	cr_assert_eq(store_pbx_add(fx_s, cid, &p, &fx_alice, &e), PD_OK, "%s", e.message);
	pd_pbx_free(&p);
	return cid;
}

static pd_monitor *mon_start(pd_live *live, int backoff_min_ms)
{
	pd_store_opts so = fx_opts();
	/* full reloads far away: a reload seen here comes from the generation */
	pd_monitor_opts mo = {.ping_interval_s = 1,
	                      .backoff_max_s = 1,
	                      .backoff_min_ms = backoff_min_ms,
	                      .reload_check_ms = 50,
	                      .full_reload_ms = 600000};
	pd_monitor *m;
	pd_err e = {0};
	cr_assert_eq(pd_monitor_start_opts(fx_db, &so, NULL, &mo, live, &m, &e), PD_OK, "%s",
	             e.message);
	return m;
}

static pd_link_state link_of(pd_live *live, int64_t cid)
{
	pd_live_summary s;
	return pd_live_summary_get(live, cid, &s) ? s.link : (pd_link_state)-1;
}

static bool live_counts(pd_live *live, int64_t cid, size_t users, size_t calls)
{
	pd_live_view v;
	if (pd_live_snapshot(live, cid, &v) != PD_OK)
		return false;
	bool ok = v.n_users == users && v.n_calls == calls;
	pd_live_free_view(&v);
	return ok;
}

/* The stored state of a customer, -1 when there is no row yet. */
static int stored_link(int64_t cid)
{
	pd_pbx_status st;
	pd_err e = {0};
	if (store_pbx_status_get(fx_s, cid, &st, &e) != PD_OK)
		return -1;
	int l = (int)st.link;
	pd_pbx_status_free(&st);
	return l;
}

/* Waits on the live state's wake pipe (or 50 ms) until cond, at most ms. */
/* Waits for cond, woken by the live state's changes. */
#define WAIT(live, cond, ms)                                                                       \
	TL_UNTIL(cond, ms,                                                                         \
	         (poll(&(struct pollfd){.fd = pd_live_wake_fd(live), .events = POLLIN}, 1, 50),    \
	          pd_live_wake_drain(live)),                                                       \
	         "timed out waiting for %s", #cond)

/* The monitor checked the store n more times since *base (it looked, and
 * had every chance to act on what it saw). */
static bool checked_since(pd_monitor *m, const pd_monitor_stats *base, int n)
{
	pd_monitor_stats s;
	pd_monitor_get_stats(m, &s);
	return s.checks >= base->checks + n;
}

Test(monitor_fake, links_follow_the_store_generation)
{
	int64_t cid = add_pbx("Générale Fake", FAKE_PLATFORM, "fake-a.example", true);
	fake_set_script(cid, &(fake_script){.users = 2});
	pd_live *live = pd_live_new();
	pd_monitor *m = mon_start(live, 100);
	WAIT(live, link_of(live, cid) == PD_LINK_MONITORING, 5000);
	fake_counts c = fake_get(cid);
	cr_assert_eq(c.created, 1);
	cr_assert_str_eq(c.host, "fake-a.example");
	/* nothing changed in the store: the monitor looks and keeps the driver */
	pd_monitor_stats base;
	pd_monitor_get_stats(m, &base);
	WAIT(live, checked_since(m, &base, 3), 5000);
	c = fake_get(cid);
	cr_assert_eq(c.created, 1);
	cr_assert_eq(c.destroyed, 0);
	pd_monitor_stats now;
	pd_monitor_get_stats(m, &now);
	cr_assert_eq(now.reloads, base.reloads, "no reload without a generation change");

	/* an edit from another connection: the driver is re-created with the new conf */
	pd_store *other = fx_open();
	pd_pbx p = {0};
	pd_err e = {0};
	cr_assert_eq(store_pbx_get(other, cid, false, &p, &e), PD_OK, "%s", e.message);
	free(p.host);
	p.host = xstrdup("fake-b.example");
	p.port = 5080;
	cr_assert_eq(store_pbx_update(other, &p, &fx_bob, &e), PD_OK, "%s", e.message);
	pd_pbx_free(&p);
	WAIT(live, fake_get(cid).created == 2 && fake_get(cid).alive, 5000);
	c = fake_get(cid);
	cr_assert_eq(c.destroyed, 1, "the old instance went first");
	cr_assert_str_eq(c.host, "fake-b.example");
	cr_assert_eq(c.port, 5080);
	WAIT(live, link_of(live, cid) == PD_LINK_MONITORING, 5000);

	/* disabled: destroyed, the link shown disabled; enabled: created again */
	cr_assert_eq(store_pbx_set_enabled(other, cid, false, &fx_bob, &e), PD_OK, "%s", e.message);
	/* the state and the emptied data are two writes to the live state: wait
	 * for both (seen apart under ASan) */
	WAIT(live,
	     !fake_get(cid).alive && link_of(live, cid) == PD_LINK_DISABLED &&
	         live_counts(live, cid, 0, 0),
	     5000);
	cr_assert_eq(fake_get(cid).destroyed, 2);
	cr_assert_eq(store_pbx_set_enabled(other, cid, true, &fx_bob, &e), PD_OK, "%s", e.message);
	WAIT(live, fake_get(cid).created == 3 && link_of(live, cid) == PD_LINK_MONITORING, 5000);

	/* removed: destroyed and gone from the live state */
	cr_assert_eq(store_pbx_remove(other, cid, &fx_bob, &e), PD_OK, "%s", e.message);
	WAIT(live, !fake_get(cid).alive && link_of(live, cid) == (pd_link_state)-1, 5000);
	cr_assert_eq(fake_get(cid).destroyed, 3);
	store_close(other);
	pd_monitor_stop(m);
	pd_live_free(live);
	cr_assert_eq(fake_get(cid).early_timers, 0, "no driver timer fired before its deadline");
}

Test(monitor_fake, a_drop_is_retried_then_discovered_again)
{
	int64_t cid = add_pbx("Relance Fake", FAKE_PLATFORM, "fake.example", true);
	fake_set_script(cid, &(fake_script){.users = 3, .calls = 1});
	pd_live *live = pd_live_new();
	/* a first retry 400 ms away: long enough to see the link waiting */
	pd_monitor *m = mon_start(live, 400);
	WAIT(live, link_of(live, cid) == PD_LINK_MONITORING, 5000);
	fake_counts c = fake_get(cid);
	cr_assert_eq(c.connects, 1);
	cr_assert_eq(c.discoveries, 1);
	unsigned up = (1u << PD_LINK_CONNECTING) | (1u << PD_LINK_LOGGING_IN) |
	              (1u << PD_LINK_DISCOVERING) | (1u << PD_LINK_MONITORING);
	cr_assert_eq(c.seen & up, up, "seen %#x", c.seen);
	cr_assert(live_counts(live, cid, 3, 1));

	/* the PBX grew while the link was down: the next discovery must see it */
	fake_set_script(cid, &(fake_script){.users = 4, .calls = 2});
	int64_t dropped_at = pd_live_now_ms();
	fake_drop(cid);
	WAIT(live, link_of(live, cid) == PD_LINK_RETRYING, 5000);
	pd_live_view v;
	cr_assert_eq(pd_live_snapshot(live, cid, &v), PD_OK);
	cr_assert_gt(v.retry_at_ms, dropped_at, "a retry is scheduled");
	/* the last known calls stay, marked stale, rather than a blank panel */
	cr_assert_eq(v.n_calls, 1, "the last known call is kept while the link is down");
	cr_assert(v.stale);
	cr_assert_geq(v.down_since_ms, dropped_at);
	cr_assert(strstr(v.status, "retrying in "), "%s", v.status);
	cr_assert(strstr(v.last_error, "scripted"), "%s", v.last_error);
	int64_t retry_at = v.retry_at_ms;
	pd_live_free_view(&v);
	int64_t connects = fake_get(cid).connects;
	if (pd_live_now_ms() < retry_at) /* (a slow machine may be past it already) */
		cr_assert_eq(connects, 1, "not redialled before the retry time");
	cr_assert_eq(fake_get(cid).last_retry_delay_ms, 400);

	/* retried (connecting again), then a new snapshot */
	WAIT(live, link_of(live, cid) == PD_LINK_MONITORING && fake_get(cid).discoveries == 2,
	     5000);
	c = fake_get(cid);
	cr_assert_eq(c.connects, 2);
	cr_assert_eq(c.drops, 1);
	cr_assert_geq(pd_live_now_ms() - dropped_at, 400, "the retry waited for its time");
	cr_assert(live_counts(live, cid, 4, 2), "the re-snapshot is what is shown");
	cr_assert_eq(pd_live_snapshot(live, cid, &v), PD_OK);
	cr_assert_not(v.stale, "fresh data after the re-snapshot");
	cr_assert_eq(v.down_since_ms, 0);
	pd_live_free_view(&v);

	/* a PBX that refuses connections: retries keep coming, each further away */
	fake_set_script(cid, &(fake_script){.connect_fails = true, .users = 4});
	fake_drop(cid);
	int64_t before = fake_get(cid).connects;
	WAIT(live, fake_get(cid).last_retry_delay_ms == 1000, 8000); /* 400, 800, then the cap */
	cr_assert_geq(fake_get(cid).connects, before + 2, "two failed redials on the way");
	pd_link_state ls = link_of(live, cid);
	cr_assert(ls == PD_LINK_RETRYING || ls == PD_LINK_CONNECTING, "%s", pd_link_state_name(ls));
	/* and recovers */
	fake_set_script(cid, &(fake_script){.users = 4});
	WAIT(live, link_of(live, cid) == PD_LINK_MONITORING, 5000);
	cr_assert_eq(fake_get(cid).early_timers, 0);
	pd_monitor_stop(m);
	pd_live_free(live);
}

Test(monitor_fake, published_users_and_calls_reach_the_live_state)
{
	int64_t cid = add_pbx("Publie Fake", FAKE_PLATFORM, "fake.example", true);
	fake_set_script(cid, &(fake_script){.users = 3, .calls = 2});
	pd_live *live = pd_live_new();
	pd_monitor *m = mon_start(live, 100);
	WAIT(live, link_of(live, cid) == PD_LINK_MONITORING, 5000);
	pd_live_view v;
	cr_assert_eq(pd_live_snapshot(live, cid, &v), PD_OK);
	cr_assert_eq(v.n_users, 3);
	cr_assert_str_eq(v.users[0].endpoint, "1000");
	cr_assert_str_eq(v.users[2].name, "Fake User 2");
	cr_assert_eq(v.n_calls, 2);
	cr_assert_str_eq(v.calls[1].from, "1001");
	pd_live_free_view(&v);
	pd_live_summary s;
	cr_assert(pd_live_summary_get(live, cid, &s));
	cr_assert_eq(s.calls, 2);
	/* discovery went to the store through the monitor */
	pd_sync_result r;
	int64_t seq = 0;
	cr_assert(pd_monitor_last_sync(m, cid, &r, &seq));
	cr_assert_eq(seq, 1);
	cr_assert_eq(r.added, 3);
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM users WHERE synced = 1"), 3);

	/* a later publish replaces what is shown */
	fake_publish(cid, 5, 0);
	WAIT(live, live_counts(live, cid, 5, 0), 5000);
	cr_assert(pd_live_summary_get(live, cid, &s));
	cr_assert_eq(s.calls, 0);

	/* a resync asks the driver for a discovery again */
	pd_monitor_resync(m, cid);
	WAIT(live, pd_monitor_last_sync(m, cid, &r, &seq) && seq == 2, 5000);
	cr_assert_eq(fake_get(cid).discoveries, 2);
	cr_assert_eq(r.added, 2, "the two users published since");
	pd_monitor_stop(m);
	pd_live_free(live);
}

Test(monitor_fake, link_states_are_written_to_the_store_as_keys)
{
	int64_t ok = add_pbx("Un Fake", FAKE_PLATFORM, "fake.example", true);
	int64_t auth = add_pbx("Deux Fake", FAKE_PLATFORM, "fake.example", true);
	int64_t down = add_pbx("Trois Fake", FAKE_PLATFORM, "fake.example", true);
	int64_t conf = add_pbx("Quatre Fake", FAKE_PLATFORM, "fake.example", true);
	int64_t nodrv = add_pbx("Cinq Fake", NODRIVER_PLATFORM, "fake.example", true);
	int64_t off = add_pbx("Six Fake", FAKE_PLATFORM, "fake.example", false);
	fake_set_script(ok, &(fake_script){.users = 1});
	fake_set_script(auth, &(fake_script){.login_fails = true});
	fake_set_script(down, &(fake_script){.connect_fails = true});
	fake_set_script(conf, &(fake_script){.create_fails = true});
	pd_live *live = pd_live_new();
	pd_monitor *m = mon_start(live, 200);
	const struct {
		int64_t cid;
		pd_link_state want;
	} cases[] = {{ok, PD_LINK_MONITORING},     {auth, PD_LINK_AUTH_FAILED},
	             {down, PD_LINK_RETRYING},     {conf, PD_LINK_CONFIG_ERROR},
	             {nodrv, PD_LINK_UNSUPPORTED}, {off, PD_LINK_DISABLED}};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		WAIT(live, link_of(live, cases[i].cid) == cases[i].want, 5000);
		WAIT(live, stored_link(cases[i].cid) == (int)cases[i].want, 5000);
	}
	pd_pbx_status st;
	pd_err e = {0};
	cr_assert_eq(store_pbx_status_get(fx_s, auth, &st, &e), PD_OK);
	char text[200]; /* kept as a pd_msg, read in this language */
	cr_assert_str_eq(pd_msg_text(st.state, text, sizeof text), "auth failed",
	                 "the human text stays beside the key");
	cr_assert_str_eq(st.last_error, "authentication failed (scripted)");
	cr_assert_gt(st.since, 0);
	pd_pbx_status_free(&st);
	cr_assert_eq(store_pbx_status_get(fx_s, nodrv, &st, &e), PD_OK);
	cr_assert(strstr(st.last_error, "not supported"), "%s", st.last_error);
	pd_pbx_status_free(&st);
	pd_pbx_counts pc;
	cr_assert_eq(store_pbx_counts(fx_s, &pc, &e), PD_OK, "%s", e.message);
	cr_assert_eq(pc.links, 6);
	cr_assert_eq(pc.disabled, 1);
	cr_assert_eq(pc.by_link[PD_LINK_MONITORING], 1);
	cr_assert_eq(pc.by_link[PD_LINK_AUTH_FAILED], 1);
	cr_assert_eq(pc.by_link[PD_LINK_RETRYING], 1);
	cr_assert_eq(pc.by_link[PD_LINK_CONFIG_ERROR], 1);
	cr_assert_eq(pc.by_link[PD_LINK_UNSUPPORTED], 1);
	/* the auth-failed link is not retried: the monitor goes on looking with
	 * no timer left on it, and the driver never dials again */
	int64_t connects = fake_get(auth).connects;
	pd_monitor_stats base;
	pd_monitor_get_stats(m, &base);
	WAIT(live, checked_since(m, &base, 3), 5000);
	cr_assert_eq(fake_get(auth).connects, connects);
	pd_monitor_stop(m);
	pd_live_free(live);
}

/* Issue 14: a deleted customer kept a "monitoring" row. Deleted: its live
 * state goes and its stored status says disabled; disabled: the same state
 * and nothing live. */
Test(monitor_fake, deleted_and_disabled_customers_stop_monitoring)
{
	int64_t del = add_pbx("Supprimé Fake", FAKE_PLATFORM, "fake.example", true);
	int64_t dis = add_pbx("Désactivé Fake", FAKE_PLATFORM, "fake.example", true);
	fake_set_script(del, &(fake_script){.users = 2, .calls = 1});
	fake_set_script(dis, &(fake_script){.users = 2, .calls = 1});
	pd_live *live = pd_live_new();
	pd_monitor *m = mon_start(live, 100);
	WAIT(live, link_of(live, del) == PD_LINK_MONITORING, 5000);
	WAIT(live, link_of(live, dis) == PD_LINK_MONITORING, 5000);
	WAIT(live, stored_link(del) == PD_LINK_MONITORING, 5000);
	WAIT(live, stored_link(dis) == PD_LINK_MONITORING, 5000);

	pd_store *other = fx_open();
	pd_err e = {0};
	pd_customer c = {0};
	cr_assert_eq(store_customer_get(other, del, &c, &e), PD_OK, "%s", e.message);
	cr_assert_eq(store_customer_delete(other, del, c.name, c.version, &fx_bob, &e), PD_OK, "%s",
	             e.message);
	pd_customer_free(&c);
	cr_assert_eq(store_customer_set_disabled(other, dis, true, &fx_bob, &e), PD_OK, "%s",
	             e.message);
	WAIT(live, link_of(live, del) == (pd_link_state)-1, 5000);
	WAIT(live, stored_link(del) == PD_LINK_DISABLED, 5000);
	WAIT(live, link_of(live, dis) == PD_LINK_DISABLED, 5000);
	WAIT(live, stored_link(dis) == PD_LINK_DISABLED, 5000);
	cr_assert(live_counts(live, dis, 0, 0), "nothing live for a disabled customer");
	cr_assert_not(fake_get(del).alive);
	cr_assert_not(fake_get(dis).alive);
	pd_pbx_status st;
	cr_assert_eq(store_pbx_status_get(fx_s, del, &st, &e), PD_OK);
	char shown[256];
	cr_assert_str_eq(pd_msg_text(st.last_error, shown, sizeof shown), "customer deleted");
	cr_assert_eq(st.live_calls, 0);
	pd_pbx_status_free(&st);
	cr_assert_eq(store_pbx_status_get(fx_s, dis, &st, &e), PD_OK);
	cr_assert_str_eq(st.last_error, "customer disabled");
	pd_pbx_status_free(&st);

	/* restored: monitored again */
	cr_assert_eq(store_customer_restore(other, del, &fx_bob, &e), PD_OK, "%s", e.message);
	WAIT(live, link_of(live, del) == PD_LINK_MONITORING, 5000);
	WAIT(live, stored_link(del) == PD_LINK_MONITORING, 5000);
	store_close(other);
	pd_monitor_stop(m);
	pd_live_free(live);
}

/* A resync asked while the link discovers (its sync written a moment ago,
 * monitoring not yet reached) is answered by that discovery: the count it
 * returns is the one before it, so a client waiting for a newer sync is not
 * left waiting for one the driver never starts. Once monitoring, the count
 * is the current one and a new discovery answers. */
Test(monitor_fake, resync_while_discovering_is_answered_by_that_discovery)
{
	int64_t cid = add_pbx("Sept Fake", FAKE_PLATFORM, "fake.example", true);
	fake_set_script(cid, &(fake_script){.users = 3, .hold_after_sync = true});
	pd_live *live = pd_live_new();
	pd_monitor *m = mon_start(live, 200);
	pd_sync_result r;
	int64_t seq = 0;
	WAIT(live, pd_monitor_last_sync(m, cid, &r, &seq) && seq == 1, 5000);
	cr_assert_eq(link_of(live, cid), PD_LINK_DISCOVERING, "held after its sync");
	cr_assert_eq(pd_monitor_resync(m, cid), 0, "the discovery under way answers the resync");
	fake_set_script(cid, &(fake_script){.users = 3});
	WAIT(live, link_of(live, cid) == PD_LINK_MONITORING, 5000);
	cr_assert_eq(pd_monitor_resync(m, cid), 1, "monitoring: a new discovery answers");
	WAIT(live, pd_monitor_last_sync(m, cid, &r, &seq) && seq == 2, 5000);
	cr_assert_eq(r.added, 0);
	pd_monitor_stop(m);
	pd_live_free(live);
}

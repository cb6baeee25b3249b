/* The BroadWorks Xsi driver (src/pbx/xsi/xsi_driver.c) over real HTTP(S)
 * against the in-process lab XSP (pd_labpbx_opts.platform =
 * PD_LAB_BROADWORKS_XSI): discovery and the sync (enterprise and group
 * directories, groups as sub-accounts, linking by email through the real
 * store in a temp SQLite file), calls and agents live, an acknowledgement for
 * every event, heartbeats, the channel rebuilt after each fault with nothing
 * counted twice, failover to another XSP, 401 = auth failed without retries,
 * DELETEs on destroy, TLS, and the `test` op's steps. The password never
 * appears in a status text. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/pbx/xsi/xsi_driver.h"
#include "../store/fixture.h"
#include "drv_harness.h"
#include "provdesk/labpbx.h"
#include "provdesk/live.h"
#include "provdesk/monitor.h"
#include "provdesk/pbx_driver.h"

#define USER "xsp-admin"
#define SECRET "s3cr3t-Xsi-Pw"
#define ENT "{\"enterprise_id\": \"lab-ent\"}"

static pd_status run_test(int port, bool tls, const char *secret, const char *params,
                          pd_drv_test_result *r, pd_err *e);

static pd_labpbx *lab_up_opts(pd_labpbx_opts o)
{
	o.platform = PD_LAB_BROADWORKS_XSI;
	o.username = USER;
	if (!o.secret)
		o.secret = SECRET;
	if (!o.users)
		o.users = 10;
	if (!o.queues)
		o.queues = 2;
	if (!o.ring_ms)
		o.ring_ms = 300;
	if (!o.talk_ms)
		o.talk_ms = 600;
	if (!o.wrapup_s)
		o.wrapup_s = 1;
	if (!o.hold_pct)
		o.hold_pct = -1;
	o.outbound_pct = -1;
	if (!o.fault_ms)
		o.fault_ms = 1500;
	pd_labpbx *l;
	pd_err e = {0};
	cr_assert_eq(labpbx_start(&o, &l, &e), PD_OK, "%s", e.message);
	return l;
}

static pd_labpbx *lab_up(void)
{
	return lab_up_opts((pd_labpbx_opts){0});
}

static pd_lab_xsi_counters counters(pd_labpbx *l)
{
	pd_lab_xsi_counters k;
	labpbx_xsi_counters(l, &k);
	return k;
}

static pd_drv_conf conf(int port, const char *secret, const char *params)
{
	pd_drv_conf c = h_conf("127.0.0.1", port, secret);
	c.username = USER;
	c.params_json = params;
	return c;
}

static void start(harness *h, int port, const char *secret, const char *params)
{
	h_create(h, "broadworks-xsi", conf(port, secret, params));
}

static xsi_driver_stats dstats(harness *h)
{
	xsi_driver_stats s;
	xsi_driver_counters(h->drv, &s);
	return s;
}

/* Turns the loop for ms (a window the test watches, not a deadline). */
static void run_for(harness *h, int ms)
{
	int64_t until = pd_live_now_ms() + ms;
	while (pd_live_now_ms() < until)
		h_step(h, 20);
}

/* ---- discovery and the sync ---- */

Test(xsi_driver, discovery_sync_and_monitoring)
{
	pd_labpbx *lab = lab_up();
	harness h;
	start(&h, labpbx_port(lab), SECRET, ENT);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 5000);
	cr_assert_eq(h.nsync, 1);
	cr_assert_eq(h.last_nusers, 12, "10 users and 2 call centers: %zu", h.last_nusers);
	cr_assert_str_eq(h_user(&h, "1008@lab.example")->display_name, "Hélène Dubois");
	cr_assert_str_eq(h_email(&h, "1008@lab.example"), "helene.dubois@lab.example");
	cr_assert_str_eq(h_email(&h, "1001@lab.example"), "alice.martin@lab.example");
	char subs[200];
	cr_assert_str_eq(h_sub_accounts(&h, subs, sizeof subs), "group-1,");
	pd_lab_xsi_counters k = counters(lab);
	cr_assert_eq(k.channels_opened, 1);
	cr_assert_eq(k.subscriptions_live, 2, "Advanced Call and Call Center Agent");
	cr_assert_eq(k.unauthorized, 0);
	pd_live_view v = snap(&h);
	cr_assert_eq(v.n_users, 12);
	pd_live_free_view(&v);
	h_stop(&h);
	k = counters(lab);
	cr_assert_eq(k.deletes, 3, "two subscriptions and the channel deleted on destroy");
	cr_assert_eq(k.subscriptions_live, 0);
	labpbx_stop(lab);
}

/* Destroy's DELETEs are bounded: an XSP that answers nothing (half-open)
 * holds it about a second, not the requests' timeouts. */
Test(xsi_driver, destroy_bounded_when_the_xsp_hangs)
{
	pd_labpbx *lab = lab_up();
	harness h;
	start(&h, labpbx_port(lab), SECRET, ENT);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 5000);
	labpbx_inject(lab, PD_LAB_FAULT_HALF_OPEN);
	run_for(&h, 100);
	int64_t t0 = pd_live_now_ms();
	h_stop(&h);
	int64_t took = pd_live_now_ms() - t0;
	cr_assert_leq(took, 1500 * tl_slow(), "destroy took %lld ms", (long long)took);
	labpbx_stop(lab);
}

Test(xsi_driver, enterprise_groups_are_sub_accounts_and_group_level_reads_one)
{
	pd_labpbx *lab = lab_up_opts((pd_labpbx_opts){.users = 9, .sites = 3});
	harness h;
	start(&h, labpbx_port(lab), SECRET, ENT);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 5000);
	char subs[200];
	cr_assert_str_eq(h_sub_accounts(&h, subs, sizeof subs), "group-1,group-2,group-3,", "%s",
	                 subs);
	size_t all = h.last_nusers;
	h_stop(&h);
	start(&h, labpbx_port(lab), SECRET,
	      "{\"enterprise_id\": \"lab-ent\", \"group_id\": \"group-2\"}");
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 5000);
	cr_assert_str_eq(h_sub_accounts(&h, subs, sizeof subs), "group-2,", "%s", subs);
	cr_assert_lt(h.last_nusers, all);
	cr_assert_gt(h.last_nusers, 0);
	h_stop(&h);
	labpbx_stop(lab);
}

Test(xsi_driver, directory_paged_past_one_page)
{
	/* 600 users: two pages of 500 (the lab's cap) */
	pd_labpbx *lab = lab_up_opts((pd_labpbx_opts){.users = 600, .queues = 1});
	harness h;
	start(&h, labpbx_port(lab), SECRET, ENT);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 10000);
	cr_assert_eq(h.last_nusers, 601);
	h_stop(&h);
	labpbx_stop(lab);
}

Test(xsi_driver, unknown_enterprise_is_a_protocol_error)
{
	pd_labpbx *lab = lab_up();
	harness h;
	start(&h, labpbx_port(lab), SECRET, "{\"enterprise_id\": \"no-such-ent\"}");
	WAIT_FOR(&h, h.seen & (1u << PD_LINK_PROTOCOL_ERROR), 5000);
	cr_assert(strstr(h.texts.s, "404"), "%s", h.texts.s);
	cr_assert_eq(h.nsync, 0);
	h_stop(&h);
	labpbx_stop(lab);
}

Test(xsi_driver, create_refuses_bad_parameters)
{
	const pd_driver_ops *ops = pd_driver_find("broadworks-xsi");
	cr_assert(ops);
	pd_live *live = pd_live_new();
	pd_drv_host hh = {.live = live};
	void *d = NULL;
	pd_err e = {0};
	pd_drv_conf c = conf(1, SECRET, NULL);
	cr_assert_eq(ops->create(&c, &hh, &d, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "enterprise_id");
	static const char *const bad[] = {
	    "{\"enterprise_id\": \"e\", \"xsp_hosts\": \"a:0\"}",
	    "{\"enterprise_id\": \"e\", \"xsp_hosts\": \"a:99999\"}",
	    "{\"enterprise_id\": \"e\", \"xsp_hosts\": \"a b\"}",
	    "{\"enterprise_id\": \"e\", \"xsp_hosts\": \"[fe80::1\"}",
	    "{\"enterprise_id\": \"e\", \"xsp_hosts\": \"a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q\"}",
	    "{\"enterprise_id\": \"e\", \"xsp_hosts\": \"x\\u001b[2J\"}"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		c.params_json = bad[i];
		memset(&e, 0, sizeof e);
		cr_assert_eq(ops->create(&c, &hh, &d, &e), PD_E_INVALID, "%s", bad[i]);
		cr_assert_str_eq(e.field, "xsp_hosts", "%s: %s", bad[i], e.message);
		cr_assert_not(has_ctrl(e.message), "%s", e.message);
	}
	xsi_host hs[XSI_MAX_HOSTS];
	int n;
	cr_assert_eq(xsi_hosts_parse(" xsp2.example.net:8443 , [2001:db8::1]:443,xsp3, fe80::1:443",
	                             hs, XSI_MAX_HOSTS - 1, &n, &e),
	             PD_OK, "%s", e.message);
	cr_assert_eq(n, 4);
	cr_assert_str_eq(hs[3].host, "fe80::1:443", "an IPv6 address without brackets has no port");
	cr_assert_eq(hs[3].port, 0);
	cr_assert_str_eq(hs[0].host, "xsp2.example.net");
	cr_assert_eq(hs[0].port, 8443);
	cr_assert_str_eq(hs[1].host, "2001:db8::1");
	cr_assert_eq(hs[1].port, 443);
	cr_assert_str_eq(hs[2].host, "xsp3");
	cr_assert_eq(hs[2].port, 0, "the connection's port");
	pd_live_free(live);
}

/* The sync through the real store: the lab's users linked by email to the
 * console users that have it, the groups made sub-accounts. */
static pd_status store_host_sync(void *ctx, int64_t cid, const pd_synced_user *u, size_t n, bool ap,
                                 pd_sync_result *res, pd_err *e)
{
	return store_sync_users(ctx, cid, u, n, ap, res, e);
}

static bool monitoring_done(void *ctx)
{
	harness *h = ctx;
	return h->ops->state(h->drv) == PD_LINK_MONITORING;
}

Test(xsi_driver, sync_links_by_email_in_the_store, .init = fx_setup_open, .fini = fx_teardown)
{
	int64_t cid = fx_create("Labo Xsi");
	pd_err e = {0};
	pd_user u = {0}, out = {0};
	u.display_name = xstrdup("Hélène (console)");
	u.email = xstrdup("Helene.Dubois@lab.example");
	u.role = xstrdup("agent");
	cr_assert_eq(store_user_add(fx_s, cid, &u, &fx_alice, &out, &e), PD_OK, "%s", e.message);
	int64_t helene = out.id;
	pd_user_free(&u);
	pd_user_free(&out);

	pd_labpbx *lab = lab_up_opts((pd_labpbx_opts){.users = 10, .sites = 2});
	harness h = {0};
	h.live = pd_live_new();
	h.ops = pd_driver_find("broadworks-xsi");
	pd_drv_conf c = conf(labpbx_port(lab), SECRET, ENT);
	c.customer_id = cid;
	c.auto_provision = true;
	pd_drv_host hh = {.ctx = fx_s, .live = h.live, .sync_users = store_host_sync};
	cr_assert_eq(h.ops->create(&c, &hh, &h.drv, &e), PD_OK, "%s", e.message);
	cr_assert(
	    pd_drv_run(h.ops, h.drv, pd_live_now_ms() + 5000 * tl_slow(), 50, monitoring_done, &h));
	pd_sync_result r;
	cr_assert(h.ops->last_sync(h.drv, &r));
	cr_assert_eq(r.added, 12);
	cr_assert_eq(r.linked, 1);
	char sql[256];
	snprintf(sql, sizeof sql,
	         "SELECT coalesce(linked_user_id, 0) FROM users WHERE customer_id = %lld AND"
	         " synced = 1 AND endpoint = '1008@lab.example'",
	         (long long)cid);
	cr_assert_eq(fx_scalar(NULL, sql), helene, "linked by email (case folded)");
	pd_sub_account *sa;
	size_t nsa;
	cr_assert_eq(store_sub_account_list(fx_s, cid, &sa, &nsa, &e), PD_OK, "%s", e.message);
	bool g1 = false, g2 = false;
	for (size_t i = 0; i < nsa; i++) {
		g1 |= !strcmp(sa[i].name, "group-1");
		g2 |= !strcmp(sa[i].name, "group-2");
	}
	pd_sub_accounts_free(sa, nsa);
	cr_assert(g1 && g2, "auto-provisioned: one sub-account per group");
	/* a resync changes nothing */
	h.ops->resync(h.drv, pd_live_now_ms());
	cr_assert(
	    pd_drv_run(h.ops, h.drv, pd_live_now_ms() + 5000 * tl_slow(), 50, monitoring_done, &h));
	cr_assert(h.ops->last_sync(h.drv, &r));
	cr_assert_eq(r.unchanged, 12);
	cr_assert_eq(r.added + r.removed + r.updated, 0);
	h.ops->destroy(h.drv);
	pd_live_free(h.live);
	labpbx_stop(lab);
}

/* ---- live state ---- */

static bool acks_caught_up(harness *h, pd_labpbx *lab)
{
	pd_lab_xsi_counters k = counters(lab);
	return k.events_sent > 0 && k.acks == k.events_sent;
}

Test(xsi_driver, calls_and_agents_live_every_event_acked)
{
	pd_labpbx *lab = lab_up_opts((pd_labpbx_opts){.ack_timeout_ms = 1500});
	harness h;
	start(&h, labpbx_port(lab), SECRET, ENT);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 5000);
	WAIT_FOR(&h, any_agent(&h, PD_AGENT_AVAILABLE), 5000);
	labpbx_place_call(lab, 0);
	WAIT_FOR(&h, call_in_state(&h, PD_CALL_CONNECTED, true), 5000);
	WAIT_FOR(&h, any_agent(&h, PD_AGENT_ON_CALL), 5000);
	pd_live_view v = snap(&h);
	cr_assert_eq(v.n_calls, 1, "the halves of one call joined: %zu", v.n_calls);
	cr_assert_not_null(v.calls[0].queue);
	pd_live_free_view(&v);
	WAIT_FOR(&h, any_agent(&h, PD_AGENT_WRAPUP), 5000);
	labpbx_place_call(lab, 1);
	WAIT_FOR(&h, call_in_state(&h, PD_CALL_CONNECTED, true), 5000);
	WAIT_FOR(&h, acks_caught_up(&h, lab), 5000);
	/* acknowledged in time: the lab never ended the channel */
	cr_assert_eq(counters(lab).channels_ended, 0);
	cr_assert_eq(counters(lab).channels_opened, 1);
	/* the lab counts an ack when it reads it, the driver when it reads the
	 * lab's answer: a moment later */
	WAIT_FOR(&h, dstats(&h).acks_ok >= (uint64_t)counters(lab).acks, 5000);
	h_stop(&h);
	labpbx_stop(lab);
}

/* A lab XSP of o.users agents, the link monitoring with each agent's state
 * read, then every agent paused at once (a supervisor sending everyone to a
 * meeting): one event each on the channel, a burst to acknowledge. */
static pd_labpbx *agents_burst(harness *h, pd_labpbx_opts o)
{
	pd_labpbx *lab = lab_up_opts(o);
	start(h, labpbx_port(lab), SECRET, ENT);
	WAIT_FOR(h, link_of(h) == PD_LINK_MONITORING, 15000);
	WAIT_FOR(h, dstats(h).state_reads >= (uint64_t)o.users, 15000);
	labpbx_pause(lab, NULL, true, "Meeting");
	WAIT_FOR(h, counters(lab).events_sent >= o.users, 10000);
	return lab;
}

/* A group or an enterprise subscription brings no initial state (an XSP
 * sends one only for a single user's), so each user's ACD state is read by
 * Xsi-Actions once the link monitors: an agent paused before the console
 * connected shows Not ready with its code, with no event at all; the call
 * centers' own users are no agents. */
Test(xsi_driver, agents_states_read_as_subscribing_brings_none)
{
	pd_labpbx *lab = lab_up();
	labpbx_pause(lab, "1003", true, "Lunch");
	harness h;
	start(&h, labpbx_port(lab), SECRET, ENT);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 5000);
	WAIT_FOR(&h, agent_in_state(&h, "1003@lab.example", PD_AGENT_NOT_READY, "Lunch"), 5000);
	WAIT_FOR(&h, dstats(&h).state_reads == 10, 5000);
	pd_live_view v = snap(&h);
	cr_assert_eq(v.n_agents, 10, "%zu agents", v.n_agents);
	cr_assert_eq(v.n_users, 12, "10 users and the 2 call centers: %zu", v.n_users);
	const pd_live_agent *a = find_agent(&v, "1001@lab.example");
	cr_assert(a && a->state == PD_AGENT_AVAILABLE);
	pd_live_free_view(&v);
	cr_assert_eq(counters(lab).events_sent, 0, "states came as events");
	cr_assert_eq(counters(lab).state_reads, 10);
	cr_assert_eq(dstats(&h).reads_bad, 0);
	/* an event after the read wins */
	labpbx_pause(lab, "1003", false, NULL);
	WAIT_FOR(&h, agent_in_state(&h, "1003@lab.example", PD_AGENT_AVAILABLE, NULL), 5000);
	h_stop(&h);
	labpbx_stop(lab);
}

/* Calls already up when the link subscribes (the lab's calls_up: answered,
 * talking) come with no event: each user's calls are read (…/calls, then
 * …/calls/{callId}), so they show at once, connected, their agents On call,
 * started before the link was; then they end by their events. */
Test(xsi_driver, calls_up_before_the_link_are_read)
{
	pd_labpbx *lab = lab_up_opts((pd_labpbx_opts){.calls_up = 2, .talk_ms = 4000});
	int64_t t0 = pd_live_now_ms();
	harness h;
	start(&h, labpbx_port(lab), SECRET, ENT);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 5000);
	WAIT_FOR(&h, dstats(&h).calls_read == 2, 5000);
	pd_live_view v = snap(&h);
	cr_assert_eq(v.n_calls, 2, "%zu calls", v.n_calls);
	size_t on_call = 0;
	for (size_t i = 0; i < v.n_calls; i++) {
		cr_assert_eq(v.calls[i].state, PD_CALL_CONNECTED);
		cr_assert_not_null(v.calls[i].queue);
		cr_assert_not_null(v.calls[i].agent);
		cr_assert_leq(v.calls[i].start_ms, t0 + 50,
		              "started when the lab did, not at the read");
	}
	for (size_t i = 0; i < v.n_agents; i++)
		on_call += v.agents[i].state == PD_AGENT_ON_CALL;
	cr_assert_eq(on_call, 2);
	pd_live_free_view(&v);
	cr_assert_eq(counters(lab).events_sent, 0, "they came as events");
	/* their hang-ups are events, applied to the calls read */
	WAIT_FOR(&h, n_calls(&h) == 0 || !call_in_state(&h, PD_CALL_CONNECTED, false), 15000);
	h_stop(&h);
	labpbx_stop(lab);
}

/* A hostile or broken XSP's reads (malformed XML, 503, an unknown state
 * and a code with a bidi override and a newline, an answer over the 4 MiB
 * kept, 403; a call list of 100 calls none of which is up): the link
 * monitors on, those agents stay unknown until an event tells, the
 * failures are counted as documents refused, at most 64 calls of a user are
 * read (the rest counted too), and nothing unsafe reaches the view. */
Test(xsi_driver, hostile_state_reads_leave_those_agents_unknown)
{
	pd_labpbx *lab = lab_up_opts((pd_labpbx_opts){.xsi_bad_state_reads = true});
	harness h;
	start(&h, labpbx_port(lab), SECRET, ENT);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 5000);
	/* users 0-9 by index modulo 6: 1, 2, 4, 5 fail (state and call list),
	 * 3 is odd (its list: 100 calls, 64 read, each 404, 36 refused); 0
	 * fine; the 2 call centers' lists are empty */
	WAIT_FOR(&h, counters(lab).call_reads == 12 + 2 * 64 && dstats(&h).state_reads == 4, 10000);
	WAIT_FOR(&h, dstats(&h).reads_bad == 12 + 2 * 36, 5000);
	cr_assert_eq(dstats(&h).calls_read, 0);
	cr_assert_eq(link_of(&h), PD_LINK_MONITORING);
	pd_live_view v = snap(&h);
	cr_assert_eq(v.n_agents, 4, "%zu agents", v.n_agents);
	cr_assert_null(find_agent(&v, "1002@lab.example"));
	const pd_live_agent *odd = find_agent(&v, "1004@lab.example");
	cr_assert(odd && odd->state == PD_AGENT_NOT_READY);
	cr_assert_str_eq(odd->reason, "Sign?In???");
	for (const char *p = odd->reason; *p; p++)
		cr_assert((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
	pd_live_free_view(&v);
	WAIT_FOR(&h, input_of(&h).bad_fields >= 12, 5000);
	/* an event still sets an agent whose read failed */
	labpbx_pause(lab, "1002", true, "Break");
	WAIT_FOR(&h, agent_in_state(&h, "1002@lab.example", PD_AGENT_NOT_READY, "Break"), 5000);
	h_stop(&h);
	labpbx_stop(lab);
}

/* Every agent changing state at once, one event each: 5,000 agents are
 * more than the 4,096 acknowledgements a link once kept waiting, which
 * rebuilt the channel over and over. Every one is acknowledged on the one
 * channel, and the link monitors. */
Test(xsi_driver, an_agent_burst_past_4096_is_acknowledged_on_one_channel)
{
	harness h;
	pd_labpbx *lab = agents_burst(&h, (pd_labpbx_opts){.users = 5000, .ack_timeout_ms = 20000});
	WAIT_FOR(&h, acks_caught_up(&h, lab), 20000);
	cr_assert_eq(counters(lab).channels_opened, 1, "the channel was rebuilt:\n%s", h.texts.s);
	cr_assert_eq(counters(lab).channels_ended, 0);
	cr_assert_null(strstr(h.texts.s, "acknowledgement"), "%s", h.texts.s);
	cr_assert_eq(link_of(&h), PD_LINK_MONITORING);
	pd_live_view v = snap(&h);
	cr_assert_eq(v.n_agents, 5000);
	pd_live_free_view(&v);
	h_stop(&h);
	labpbx_stop(lab);
}

/* An XSP 100 ms away: each acknowledgement is a request of its own, one
 * at a time on a connection, so on the two connections a link once had
 * 400 agents' events took 20 s to acknowledge, and an XSP that waits 8 s
 * ended the channel again and again. Over eight they are all acknowledged
 * in time, on the one channel. */
Test(xsi_driver, an_agent_burst_from_a_distant_xsp_is_acknowledged_in_time)
{
	harness h;
	pd_labpbx *lab = agents_burst(
	    &h, (pd_labpbx_opts){.users = 400, .latency_ms = 100, .ack_timeout_ms = 8000});
	WAIT_FOR(&h, acks_caught_up(&h, lab) || counters(lab).channels_ended, 20000);
	cr_assert_eq(counters(lab).channels_ended, 0, "the XSP ended the channel:\n%s", h.texts.s);
	cr_assert_eq(counters(lab).channels_opened, 1);
	cr_assert_geq(counters(lab).connections_max, 6, "%d connections at most",
	              counters(lab).connections_max);
	cr_assert_eq(link_of(&h), PD_LINK_MONITORING);
	pd_live_view v = snap(&h);
	cr_assert_eq(v.n_agents, 400);
	pd_live_free_view(&v);
	/* everyone back (a second burst), then a call's events are
	 * acknowledged as they come */
	labpbx_pause(lab, NULL, false, NULL);
	WAIT_FOR(&h, counters(lab).events_sent >= 800, 10000);
	labpbx_place_call(lab, 0);
	WAIT_FOR(&h, call_in_state(&h, PD_CALL_CONNECTED, true), 10000);
	WAIT_FOR(&h, acks_caught_up(&h, lab), 10000);
	h_stop(&h);
	labpbx_stop(lab);
}

/* An XSP too far for its agents' burst (100 ms away, waiting 2 s: 500
 * agents at eight a round trip take 6 s) ends the channel: the link says
 * why it most likely did, the backlog it had left. */
Test(xsi_driver, a_channel_ended_under_a_backlog_says_so)
{
	harness h;
	pd_labpbx *lab = agents_burst(
	    &h, (pd_labpbx_opts){.users = 500, .latency_ms = 100, .ack_timeout_ms = 2000});
	WAIT_FOR(&h, strstr(h.texts.s, "events still to acknowledge, 8 a round trip"), 15000);
	cr_assert_geq(counters(lab).channels_ended, 1);
	cr_assert(
	    strstr(h.texts.s, "the XSP ended the event channel (ChannelTerminatedEvent) with "),
	    "%s", h.texts.s);
	h_stop(&h);
	labpbx_stop(lab);
}

/* A small enterprise's states (20 agents read, then 20 events) are no
 * backlog: the link keeps to the channel's connection and two short ones,
 * as an XSP serving a thousand such links would want. */
Test(xsi_driver, a_few_events_keep_to_two_short_connections)
{
	harness h;
	pd_labpbx *lab = agents_burst(&h, (pd_labpbx_opts){.users = 20, .latency_ms = 50});
	WAIT_FOR(&h, acks_caught_up(&h, lab), 10000);
	cr_assert_leq(counters(lab).connections_max, 3, "%d connections at once",
	              counters(lab).connections_max);
	cr_assert_eq(counters(lab).channels_ended, 0);
	h_stop(&h);
	labpbx_stop(lab);
}

Test(xsi_driver, heartbeat_every_interval)
{
	pd_labpbx *lab = lab_up();
	harness h;
	start(&h, labpbx_port(lab), SECRET, ENT); /* ping_interval 1 s */
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 5000);
	int64_t hb0 = counters(lab).heartbeats;
	run_for(&h, 2600);
	int64_t hb = counters(lab).heartbeats - hb0;
	cr_assert(hb >= 2 && hb <= 4, "%lld heartbeats in 2.6 s", (long long)hb);
	cr_assert_eq(link_of(&h), PD_LINK_MONITORING);
	cr_assert_eq(counters(lab).channels_opened, 1);
	h_stop(&h);
	labpbx_stop(lab);
}

/* An XSP that grants 4 s (not the hour asked): the driver refreshes the
 * channel and both subscriptions at 3/4 of it, again and again, so the
 * XSP never ends them; nothing is rebuilt, nothing counted twice. */
Test(xsi_driver, refreshed_before_a_short_grant_expires)
{
	pd_labpbx *lab = lab_up_opts((pd_labpbx_opts){.grant_expires_s = 4, .talk_ms = 3000});
	harness h;
	start(&h, labpbx_port(lab), SECRET, ENT);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 5000);
	cr_assert_eq(counters(lab).refreshes, 0);
	labpbx_place_call(lab, 0);
	WAIT_FOR(&h, call_in_state(&h, PD_CALL_CONNECTED, true), 5000);
	/* ~10 s: past two grants, three refresh rounds (channel and two
	 * subscriptions each) */
	int64_t until = pd_live_now_ms() + 10000;
	while (pd_live_now_ms() < until) {
		h_step(&h, 50);
		cr_assert_leq(n_calls(&h), 1, "a call counted twice");
		cr_assert_eq(counters(lab).channels_ended, 0, "the XSP ended the channel");
	}
	pd_lab_xsi_counters k = counters(lab);
	cr_assert_geq(k.refreshes, 6, "%lld refreshes in 10 s", (long long)k.refreshes);
	cr_assert_eq(k.channels_opened, 1);
	cr_assert_eq(k.channels_ended, 0);
	cr_assert_eq(k.subscriptions_live, 2);
	cr_assert_eq(link_of(&h), PD_LINK_MONITORING);
	cr_assert_eq(h.seen & (1u << PD_LINK_RETRYING), 0, "never rebuilt");
	h_stop(&h);
	labpbx_stop(lab);
}

/* ---- rebuilds ---- */

/* A fault: the channel is rebuilt (a second one opened, monitoring again),
 * the calls of the old one forgotten, and a call placed after it counted
 * once. */
static void rebuilt_after(unsigned fault, const char *why)
{
	pd_labpbx *lab = lab_up();
	harness h;
	start(&h, labpbx_port(lab), SECRET, ENT);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 5000);
	labpbx_inject(lab, fault);
	WAIT_FOR(&h, counters(lab).channels_opened >= 2 && link_of(&h) == PD_LINK_MONITORING,
	         15000);
	cr_assert(strstr(h.texts.s, why), "%s not in the status log:\n%s", why, h.texts.s);
	cr_assert(h.seen & (1u << PD_LINK_RETRYING));
	run_for(&h, 300);
	cr_assert_eq(n_calls(&h), 0);
	labpbx_place_call(lab, 0);
	WAIT_FOR(&h, call_in_state(&h, PD_CALL_CONNECTED, true), 8000);
	cr_assert_eq(n_calls(&h), 1, "nothing counted twice");
	h_stop(&h);
	labpbx_stop(lab);
}

Test(xsi_driver, rebuilt_after_channel_terminated)
{
	rebuilt_after(PD_LAB_FAULT_CHANNEL_END, "ChannelTerminatedEvent");
}

Test(xsi_driver, rebuilt_after_heartbeat_404)
{
	rebuilt_after(PD_LAB_FAULT_HEARTBEAT_404, "404");
}

Test(xsi_driver, rebuilt_after_subscription_terminated)
{
	rebuilt_after(PD_LAB_FAULT_SUB_END, "SubscriptionTerminatedEvent");
}

Test(xsi_driver, rebuilt_after_garbage)
{
	rebuilt_after(PD_LAB_FAULT_GARBAGE, "framing");
}

Test(xsi_driver, rebuilt_after_the_stream_is_dropped)
{
	rebuilt_after(PD_LAB_FAULT_DROP, "event channel");
}

Test(xsi_driver, rebuilt_after_the_xsp_restarts)
{
	rebuilt_after(PD_LAB_FAULT_RESTART, "event channel");
}

/* A half-open XSP (connections up, nothing answered): the heartbeat's
 * answer is missed, the channel rebuilt on a new connection. */
Test(xsi_driver, rebuilt_after_half_open)
{
	rebuilt_after(PD_LAB_FAULT_HALF_OPEN, "heartbeat");
}

/* Slow and 1-byte chunks: the documents are read whole, no rebuild. */
Test(xsi_driver, slow_and_bytewise_chunks_read_whole)
{
	pd_labpbx *lab = lab_up_opts((pd_labpbx_opts){.fault_ms = 3000});
	harness h;
	start(&h, labpbx_port(lab), SECRET, ENT);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 5000);
	labpbx_inject(lab, PD_LAB_FAULT_SLOW | PD_LAB_FAULT_BYTEWISE);
	labpbx_place_call(lab, 0);
	WAIT_FOR(&h, call_in_state(&h, PD_CALL_CONNECTED, true), 8000);
	cr_assert_eq(counters(lab).channels_opened, 1);
	cr_assert_eq(link_of(&h), PD_LINK_MONITORING);
	h_stop(&h);
	labpbx_stop(lab);
}

/* A call up when the channel is lost: after the rebuild the model was
 * reset (the lab sends the calls again as they change): never two. */
Test(xsi_driver, call_in_progress_not_double_counted)
{
	pd_labpbx *lab = lab_up_opts((pd_labpbx_opts){.talk_ms = 4000});
	harness h;
	start(&h, labpbx_port(lab), SECRET, ENT);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 5000);
	labpbx_place_call(lab, 0);
	WAIT_FOR(&h, call_in_state(&h, PD_CALL_CONNECTED, true), 5000);
	labpbx_inject(lab, PD_LAB_FAULT_CHANNEL_END);
	WAIT_FOR(&h, counters(lab).channels_opened >= 2 && link_of(&h) == PD_LINK_MONITORING,
	         10000);
	for (int i = 0; i < 20; i++) {
		cr_assert_leq(n_calls(&h), 1);
		h_step(&h, 50);
	}
	h_stop(&h);
	labpbx_stop(lab);
}

/* A hostile XSP: garbage again and again (with split chunks) never crashes
 * the driver, whose link comes back each time. */
Test(xsi_driver, hostile_garbage_survived)
{
	pd_labpbx *lab =
	    lab_up_opts((pd_labpbx_opts){.faults = PD_LAB_FAULT_GARBAGE | PD_LAB_FAULT_BYTEWISE,
	                                 .fault_period_ms = 400,
	                                 .call_rate = 120});
	harness h;
	start(&h, labpbx_port(lab), SECRET, ENT);
	WAIT_FOR(&h, counters(lab).channels_opened >= 4, 30000);
	labpbx_stop(lab);
	lab = NULL;
	(void)lab;
	h_stop(&h);
	pd_labpbx *calm = lab_up();
	start(&h, labpbx_port(calm), SECRET, ENT);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 5000);
	h_stop(&h);
	labpbx_stop(calm);
}

/* ---- failover ---- */

Test(xsi_driver, failover_to_the_next_xsp)
{
	pd_labpbx *a = lab_up(), *b = lab_up();
	char params[200];
	snprintf(params, sizeof params,
	         "{\"enterprise_id\": \"lab-ent\", \"xsp_hosts\": \"127.0.0.1:%d\"}",
	         labpbx_port(b));
	harness h;
	start(&h, labpbx_port(a), SECRET, params);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 5000);
	cr_assert_eq(dstats(&h).host_index, 0);
	cr_assert_eq(counters(b).channels_opened, 0);
	labpbx_stop(a);
	WAIT_FOR(&h, counters(b).channels_opened == 1 && link_of(&h) == PD_LINK_MONITORING, 15000);
	cr_assert_eq(dstats(&h).host_index, 1);
	labpbx_place_call(b, 0);
	WAIT_FOR(&h, call_in_state(&h, PD_CALL_CONNECTED, true), 5000);
	h_stop(&h);
	labpbx_stop(b);
}

/* ---- authentication ---- */

Test(xsi_driver, wrong_password_auth_failed_no_retry)
{
	pd_labpbx *lab = lab_up();
	harness h;
	start(&h, labpbx_port(lab), "wrong-Pw-123", ENT);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_AUTH_FAILED, 5000);
	int64_t n = counters(lab).unauthorized;
	cr_assert_eq(n, 1);
	run_for(&h, 1500); /* the backoff would have retried by now */
	cr_assert_eq(counters(lab).unauthorized, 1, "no retries");
	cr_assert_eq(link_of(&h), PD_LINK_AUTH_FAILED);
	cr_assert_eq(h.nsync, 0);
	h_stop(&h);
	labpbx_stop(lab);
}

/* A group administrator: the enterprise level is refused (403, auth failed,
 * no retries); at its group's level it works. */
Test(xsi_driver, group_admin_403_at_enterprise_level)
{
	pd_labpbx *lab = lab_up_opts((pd_labpbx_opts){.sites = 3, .admin_group = "group-2"});
	harness h;
	start(&h, labpbx_port(lab), SECRET, ENT);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_AUTH_FAILED, 5000);
	run_for(&h, 1000);
	cr_assert_eq(link_of(&h), PD_LINK_AUTH_FAILED);
	cr_assert_eq(h.nsync, 0);
	h_stop(&h);
	start(&h, labpbx_port(lab), SECRET,
	      "{\"enterprise_id\": \"lab-ent\", \"group_id\": \"group-2\"}");
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 5000);
	char subs[100];
	cr_assert_str_eq(h_sub_accounts(&h, subs, sizeof subs), "group-2,");
	h_stop(&h);
	pd_drv_test_result r;
	pd_err e;
	cr_assert_eq(run_test(labpbx_port(lab), false, SECRET, ENT, &r, &e), PD_E_AUTH);
	cr_assert(strstr(r.steps[r.failed].detail, "403"), "%s", r.steps[r.failed].detail);
	labpbx_stop(lab);
}

/* Auth failed stays so until a resync (or an edit), which tries again. */
Test(xsi_driver, resync_after_auth_failed_tries_again)
{
	pd_labpbx *lab = lab_up_opts((pd_labpbx_opts){.secret = "old-Pw-1"});
	harness h;
	start(&h, labpbx_port(lab), SECRET, ENT);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_AUTH_FAILED, 5000);
	labpbx_set_secret(lab, SECRET); /* the customer fixed the account */
	h.ops->resync(h.drv, pd_live_now_ms());
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 5000);
	cr_assert_eq(h.nsync, 1);
	h_stop(&h);
	labpbx_stop(lab);
}

/* A directory past max_users_per_link: the reading stops there and nothing
 * is synced (a directory cut short would read as users removed). */
Test(xsi_driver, directory_over_the_user_cap_is_not_synced)
{
	pd_labpbx *lab = lab_up_opts((pd_labpbx_opts){.users = 600, .queues = 1});
	harness h;
	pd_drv_conf c = conf(labpbx_port(lab), SECRET, ENT);
	c.max_users = 100;
	h_create(&h, "broadworks-xsi", c);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 10000);
	cr_assert_eq(h.nsync, 0);
	cr_assert(strstr(h.texts.s, "max_users_per_link"), "%s", h.texts.s);
	h_stop(&h);
	labpbx_stop(lab);
}

Test(xsi_driver, password_changed_while_monitoring)
{
	pd_labpbx *lab = lab_up();
	harness h;
	start(&h, labpbx_port(lab), SECRET, ENT);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 5000);
	labpbx_set_secret(lab, "new-Pw-2");
	WAIT_FOR(&h, link_of(&h) == PD_LINK_AUTH_FAILED, 5000); /* the next heartbeat */
	int64_t n = counters(lab).unauthorized;
	run_for(&h, 1500);
	cr_assert_eq(counters(lab).unauthorized, n, "no retries");
	h_stop(&h);
	labpbx_stop(lab);
}

/* ---- TLS ---- */

static char tls_dir[64];

static void make_cert(const char *san)
{
	snprintf(tls_dir, sizeof tls_dir, "/tmp/pd-xsi-tls-XXXXXX");
	cr_assert_not_null(mkdtemp(tls_dir));
	char cmd[1024];
	snprintf(cmd, sizeof cmd,
	         "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
	         "-days 2 -subj /CN=provdesk-lab -addext subjectAltName=%s -keyout %s/lab.key "
	         "-out %s/lab.pem 2>%s/openssl.err",
	         san, tls_dir, tls_dir, tls_dir);
	cr_assert_eq(system(cmd), 0, "openssl req failed: %s", cmd);
}

static pd_labpbx *lab_up_tls(void)
{
	static char cert[128], key[128];
	snprintf(cert, sizeof cert, "%s/lab.pem", tls_dir);
	snprintf(key, sizeof key, "%s/lab.key", tls_dir);
	return lab_up_opts((pd_labpbx_opts){.tls_cert = cert, .tls_key = key});
}

static void tls_start(harness *h, int port, const char *params)
{
	pd_drv_conf c = conf(port, SECRET, params);
	c.tls = true;
	h_create(h, "broadworks-xsi", c);
}

Test(xsi_driver, tls_with_the_labs_certificate_as_ca)
{
	make_cert("IP:127.0.0.1");
	pd_labpbx *lab = lab_up_tls();
	char params[256];
	snprintf(params, sizeof params,
	         "{\"enterprise_id\": \"lab-ent\", \"tls_ca_file\": \"%s/lab.pem\"}", tls_dir);
	harness h;
	tls_start(&h, labpbx_port(lab), params);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 8000);
	cr_assert_eq(h.last_nusers, 12);
	labpbx_place_call(lab, 0);
	WAIT_FOR(&h, call_in_state(&h, PD_CALL_CONNECTED, true), 5000);
	h_stop(&h);
	/* the test op: a TLS step, verified against the file */
	pd_drv_test_result r;
	pd_err e;
	cr_assert_eq(run_test(labpbx_port(lab), true, SECRET, params, &r, &e), PD_OK, "%s",
	             e.message);
	cr_assert_eq(r.n_steps, 6);
	cr_assert_str_eq(r.steps[2].name, "TLS");
	cr_assert(strstr(r.steps[2].detail, "verified against"), "%s", r.steps[2].detail);
	/* without the file: the TLS step fails */
	cr_assert_eq(run_test(labpbx_port(lab), true, SECRET, ENT, &r, &e), PD_E_PROTOCOL, "%s",
	             e.message);
	cr_assert_str_eq(r.steps[r.failed].name, "TLS");
	/* without the CA file the self-signed certificate is refused */
	tls_start(&h, labpbx_port(lab), ENT);
	WAIT_FOR(&h, h.seen & (1u << PD_LINK_RETRYING), 8000);
	cr_assert_eq(h.nsync, 0);
	h_stop(&h);
	/* tls_verify false (a lab): accepted as it is */
	tls_start(&h, labpbx_port(lab), "{\"enterprise_id\": \"lab-ent\", \"tls_verify\": false}");
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 8000);
	h_stop(&h);
	labpbx_stop(lab);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", tls_dir);
	cr_assert_eq(system(cmd), 0);
}

/* ---- the test op ---- */

static pd_status run_test(int port, bool tls, const char *secret, const char *params,
                          pd_drv_test_result *r, pd_err *e)
{
	const pd_driver_ops *ops = pd_driver_find("broadworks-xsi");
	cr_assert(ops && ops->test);
	pd_drv_conf c = conf(port, secret, params);
	c.tls = tls;
	memset(e, 0, sizeof *e);
	pd_status st = ops->test(&c, 20000 * tl_slow(), r, e);
	for (int i = 0; i < r->n_steps; i++) {
		cr_assert_null(strstr(r->steps[i].detail, secret), "secret in step %s",
		               r->steps[i].name);
		cr_assert_not(has_ctrl(r->steps[i].detail));
	}
	cr_assert_null(strstr(e->message, secret), "secret in the error");
	return st;
}

static void expect_steps(const pd_drv_test_result *r, const char *const *names, int n)
{
	cr_assert_eq(r->n_steps, n, "%d steps", r->n_steps);
	for (int i = 0; i < n; i++)
		cr_assert_str_eq(r->steps[i].name, names[i]);
}

Test(xsi_driver, test_op_steps)
{
	pd_labpbx *lab = lab_up();
	pd_drv_test_result r;
	pd_err e;
	cr_assert_eq(run_test(labpbx_port(lab), false, SECRET, ENT, &r, &e), PD_OK, "%s",
	             e.message);
	static const char *const all[] = {"name resolution", "TCP connect", "authentication",
	                                  "directory", "event channel"};
	expect_steps(&r, all, 5);
	cr_assert_eq(r.failed, -1);
	cr_assert(strstr(r.steps[3].detail, "12 users"), "%s", r.steps[3].detail);
	cr_assert(strstr(r.steps[4].detail, "opened and deleted"), "%s", r.steps[4].detail);
	cr_assert_eq(counters(&*lab).channels_opened, 1);
	cr_assert_eq(counters(lab).channels_live, 0, "the test's channel is gone");

	/* a wrong password: authentication, PD_E_AUTH */
	cr_assert_eq(run_test(labpbx_port(lab), false, "wrong-Pw-123", ENT, &r, &e), PD_E_AUTH);
	cr_assert_str_eq(r.steps[r.failed].name, "authentication");
	cr_assert(strstr(e.message, "authentication failed"), "%s", e.message);

	/* an unknown enterprise: the directory step, PD_E_CONFIG */
	cr_assert_eq(
	    run_test(labpbx_port(lab), false, SECRET, "{\"enterprise_id\": \"nope\"}", &r, &e),
	    PD_E_CONFIG);
	cr_assert_str_eq(r.steps[r.failed].name, "directory");

	/* no enterprise: parameters */
	cr_assert_eq(run_test(labpbx_port(lab), false, SECRET, NULL, &r, &e), PD_E_CONFIG);
	cr_assert_str_eq(r.steps[r.failed].name, "parameters");

	/* TLS asked of a plain HTTP port */
	pd_status tst = run_test(labpbx_port(lab), true, SECRET, ENT, &r, &e);
	cr_assert_eq(tst, PD_E_PROTOCOL, "%d: %s", tst, e.message);
	cr_assert_str_eq(r.steps[r.failed].name, "TLS");
	int port = labpbx_port(lab);
	labpbx_stop(lab);

	/* nothing listening: TCP connect, PD_E_UNAVAILABLE */
	cr_assert_eq(run_test(port, false, SECRET, ENT, &r, &e), PD_E_UNAVAILABLE);
	cr_assert_str_eq(r.steps[r.failed].name, "TCP connect");
}

Test(xsi_driver, test_op_name_resolution_fails)
{
	const pd_driver_ops *ops = pd_driver_find("broadworks-xsi");
	pd_drv_conf c = conf(443, SECRET, ENT);
	c.host = "no-such-host.invalid";
	pd_drv_test_result r;
	pd_err e = {0};
	cr_assert_eq(ops->test(&c, 20000 * tl_slow(), &r, &e), PD_E_UNAVAILABLE);
	cr_assert_str_eq(r.steps[r.failed].name, "name resolution");
}

/* ---- in the monitor, beside an Asterisk link ---- */

static int64_t stored_customer(const char *name, const char *platform, int port, const char *params)
{
	int64_t cid = fx_create(name);
	pd_pbx p = {0};
	p.platform = xstrdup(platform);
	p.host = xstrdup("127.0.0.1");
	p.port = port;
	p.tls = false;
	p.username = xstrdup(!strcmp(platform, "broadworks-xsi") ? USER : "admin");
	p.secret = xstrdup(SECRET);
	p.params_json = params ? xstrdup(params) : NULL;
	p.sync_users = p.monitor = p.enabled = true;
	p.auto_provision = true;
	pd_err e = {0};
	cr_assert_eq(store_pbx_add(fx_s, cid, &p, &fx_alice, &e), PD_OK, "%s", e.message);
	pd_pbx_free(&p);
	return cid;
}

static bool live_link(pd_live *live, int64_t cid, pd_link_state want)
{
	pd_live_view v;
	if (pd_live_snapshot(live, cid, &v) != PD_OK)
		return false;
	bool ok = v.link == want;
	pd_live_free_view(&v);
	return ok;
}

static int64_t live_calls(pd_live *live, int64_t cid)
{
	pd_live_summary s;
	return pd_live_summary_get(live, cid, &s) ? s.calls : -1;
}

static bool wait_live(pd_live *live, int64_t cid, pd_link_state want, int64_t calls, int ms)
{
	int64_t until = pd_live_now_ms() + (int64_t)ms * tl_slow();
	while (pd_live_now_ms() < until) {
		if (live_link(live, cid, want) && (calls < 0 || live_calls(live, cid) == calls))
			return true;
		struct pollfd pf = {.fd = pd_live_wake_fd(live), .events = POLLIN};
		poll(&pf, 1, 100);
		pd_live_wake_drain(live);
	}
	return false;
}

Test(xsi_driver, in_the_monitor_beside_an_asterisk_link, .init = fx_setup_open, .fini = fx_teardown)
{
	pd_drivers_mark_supported(&fx_cat); /* as the program does: a driver is registered */
	pd_labpbx *xsp = lab_up();
	pd_labpbx_opts ao = {.users = 5,
	                     .queues = 1,
	                     .username = "admin",
	                     .secret = SECRET,
	                     .ring_ms = 200,
	                     .talk_ms = 500};
	pd_labpbx *ami;
	pd_err e = {0};
	cr_assert_eq(labpbx_start(&ao, &ami, &e), PD_OK, "%s", e.message);
	int64_t bw = stored_customer("Télécom Nord", "broadworks-xsi", labpbx_port(xsp), ENT);
	int64_t ast = stored_customer("Asterisk SA", "asterisk-ami", labpbx_port(ami), NULL);
	pd_live *live = pd_live_new();
	pd_store_opts so = fx_opts();
	pd_monitor_opts mo = {.ping_interval_s = 1,
	                      .backoff_max_s = 1,
	                      .backoff_min_ms = 100,
	                      .reload_check_ms = 100,
	                      .full_reload_ms = 300};
	pd_monitor *m;
	cr_assert_eq(pd_monitor_start_opts(fx_db, &so, NULL, &mo, live, &m, &e), PD_OK, "%s",
	             e.message);
	cr_assert(wait_live(live, bw, PD_LINK_MONITORING, -1, 10000));
	cr_assert(wait_live(live, ast, PD_LINK_MONITORING, -1, 10000));
	char sql[200];
	snprintf(sql, sizeof sql,
	         "SELECT count(*) FROM users WHERE customer_id = %lld AND synced = 1",
	         (long long)bw);
	cr_assert_eq(fx_scalar(NULL, sql), 12, "the directory synced into the store");
	labpbx_place_call(xsp, 0);
	labpbx_place_call(ami, 0);
	cr_assert(wait_live(live, bw, PD_LINK_MONITORING, 1, 10000), "the BroadWorks call live");
	cr_assert(wait_live(live, ast, PD_LINK_MONITORING, 1, 10000), "the Asterisk call live");
	pd_monitor_stop(m);
	cr_assert_eq(counters(xsp).deletes, 3, "the monitor's stop deletes the channel");
	pd_live_free(live);
	labpbx_stop(ami);
	labpbx_stop(xsp);
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM audit WHERE detail LIKE '%" SECRET "%'"),
	             0);
}

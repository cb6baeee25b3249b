/* The FreeSWITCH event-socket driver over real TCP against the in-process
 * lab PBX speaking ESL (pd_labpbx_opts.platform = PD_LAB_FREESWITCH_ESL):
 * login, a refused password (auth failed, no retry), discovery and the sync
 * (users, emails, domains, registrations), calls and agents live, a phone
 * unregistering, a dropped link redialled with the calls taken again from
 * the snapshot, and every lab fault leaving the driver bounded and the link
 * recovering. The password never appears in a status text. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drv_harness.h"
#include "provdesk/labpbx.h"
#include "provdesk/live.h"
#include "provdesk/pbx_driver.h"

#define SECRET "s3cr3t-Lab-Pw"

static int h_max_calls, h_max_channels; /* h_start's caps (0 = the defaults) */
static size_t h_max_message;            /* h_start's message bound (0 = 1 MiB) */
static int h_max_users;                 /* h_start's max_users (0 = the default) */

static void h_start(harness *h, int port, const char *secret)
{
	pd_drv_conf c = h_conf("127.0.0.1", port, secret);
	c.max_calls = h_max_calls;
	c.max_channels = h_max_channels;
	c.max_message = h_max_message;
	c.max_users = h_max_users;
	h_create(h, "freeswitch-esl", c);
}

static pd_labpbx *lab_up_opts(pd_labpbx_opts o)
{
	o.platform = PD_LAB_FREESWITCH_ESL;
	if (!o.secret)
		o.secret = SECRET;
	if (!o.queues)
		o.queues = 2;
	if (!o.ring_ms)
		o.ring_ms = 300;
	if (!o.talk_ms)
		o.talk_ms = 600;
	if (!o.wrapup_s)
		o.wrapup_s = 1;
	if (!o.restart_ms)
		o.restart_ms = 300;
	if (!o.hold_pct)
		o.hold_pct = -1;
	if (!o.fault_ms)
		o.fault_ms = 1500;
	if (!o.heartbeat_ms)
		o.heartbeat_ms = 500;
	if (!o.reg_refresh_ms)
		o.reg_refresh_ms = -1;
	pd_labpbx *l;
	pd_err e = {0};
	cr_assert_eq(labpbx_start(&o, &l, &e), PD_OK, "%s", e.message);
	return l;
}

static pd_labpbx *lab_up(int users, const char *secret)
{
	return lab_up_opts((pd_labpbx_opts){.users = users, .secret = secret});
}

static bool user_state(harness *h, const char *ep, const char *state)
{
	pd_live_view v = snap(h);
	const pd_live_user *u = find_user(&v, ep);
	bool ok = u && u->device_state && !strcmp(u->device_state, state);
	pd_live_free_view(&v);
	return ok;
}

Test(esl_driver_lab, login_discovery_sync_and_monitoring)
{
	pd_labpbx *lab = lab_up(20, SECRET);
	harness h;
	h_start(&h, labpbx_port(lab), SECRET);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 5000);
	cr_assert_eq(labpbx_logins(lab), 1);
	cr_assert_eq(h.nsync, 1);
	cr_assert_eq(h.last_nusers, 20);
	cr_assert_str_eq(h_user(&h, "1001@default")->sub_account, "default");
	char subs[256];
	cr_assert_str_eq(h_sub_accounts(&h, subs, sizeof subs), "default,");
	cr_assert(strchr(h_email(&h, "1001@default"), '@'), "1001's email: %s",
	          h_email(&h, "1001@default"));
	/* user_data of 1007 and 1017 answers -ERR: no email */
	cr_assert_str_eq(h_email(&h, "1007@default"), "(none)");
	cr_assert_eq(h.n_emails, 18);
	cr_assert(strstr(h.texts.s, "connecting\n"), "%s", h.texts.s);
	/* each step of the way up is its own state */
	const pd_link_state up[] = {PD_LINK_CONNECTING, PD_LINK_LOGGING_IN, PD_LINK_DISCOVERING,
	                            PD_LINK_MONITORING};
	for (size_t i = 0; i < sizeof up / sizeof up[0]; i++)
		cr_assert(h.seen & (1u << up[i]), "%s never reported", pd_link_state_name(up[i]));
	cr_assert_eq(h.seen & (1u << PD_LINK_PROTOCOL_ERROR), 0);
	/* list_users, 20 emails, registrations */
	cr_assert(strstr(h.texts.s, "syncing 22/22\n"), "%s", h.texts.s);
	cr_assert(strstr(h.texts.s, "monitoring\n"), "%s", h.texts.s);
	pd_live_view v = snap(&h);
	cr_assert_str_eq(v.status, "monitoring");
	cr_assert_eq(v.n_users, 20);
	const pd_live_user *u = find_user(&v, "1001@default");
	cr_assert(u);
	cr_assert_str_eq(u->name, h_user(&h, "1001@default")->display_name);
	cr_assert_str_eq(u->device_state, "Not in use");
	/* phones ending in 0 are not registered, their agents Logged Out */
	cr_assert_str_eq(find_user(&v, "1010@default")->device_state, "Unavailable");
	cr_assert_gt(v.n_agents, 0);
	const pd_live_agent *a = find_agent(&v, "1010@default");
	if (a)
		cr_assert_eq(a->state, PD_AGENT_LOGGED_OFF, "%s", pd_agent_state_name(a->state));
	a = find_agent(&v, "1001@default");
	cr_assert(a);
	cr_assert_eq(a->state, PD_AGENT_AVAILABLE, "%s", pd_agent_state_name(a->state));
	cr_assert_str_eq(a->name, h_user(&h, "1001@default")->display_name);
	cr_assert(strstr(a->queues, "support@default"), "%s", a->queues);
	pd_live_free_view(&v);
	/* the api status keep-alive keeps a healthy link up */
	int64_t until = pd_live_now_ms() + 2500;
	while (pd_live_now_ms() < until)
		h_step(&h, 50);
	cr_assert_eq(link_of(&h), PD_LINK_MONITORING);
	cr_assert_eq(labpbx_logins(lab), 1);
	/* a resync lists the users again on the open link */
	h.ops->resync(h.drv, pd_live_now_ms());
	WAIT_FOR(&h, h.nsync == 2 && link_of(&h) == PD_LINK_MONITORING, 5000);
	cr_assert_eq(labpbx_logins(lab), 1);
	pd_sync_result r;
	cr_assert(h.ops->last_sync(h.drv, &r));
	cr_assert_eq(r.added, 20);
	h_stop(&h);
	labpbx_stop(lab);
}

/* The users' emails are asked for in a window (several user_data commands
 * sent before the first is answered, never more than 32), and each answer
 * goes to its own user: the users whose number ends in 7 have no email
 * (user_data answers -ERR), every other one has its own. */
Test(esl_driver_lab, emails_asked_in_a_window_each_to_its_user)
{
	enum { N = 300 };
	pd_labpbx *lab = lab_up(N, SECRET);
	harness h;
	h_start(&h, labpbx_port(lab), SECRET);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 10000);
	cr_assert_eq(h.last_nusers, N);
	int at_once = labpbx_commands_at_once(lab);
	cr_assert_geq(at_once, 2, "one command at a time");
	cr_assert_leq(at_once, 32, "more than the window in flight");
	for (int i = 0; i < N; i++) {
		char ep[32];
		snprintf(ep, sizeof ep, "%d@default", 1001 + i);
		const char *em = h_email(&h, ep);
		if ((1001 + i) % 10 == 7)
			cr_assert_str_eq(em, "(none)", "%s", ep);
		else
			cr_assert(strchr(em, '@'), "%s: %s", ep, em);
	}
	cr_assert_str_eq(h_email(&h, "1008@default"), "helene.dubois@lab.example");
	cr_assert_eq(h.n_emails, N - N / 10);
	h_stop(&h);
	labpbx_stop(lab);
}

Test(esl_driver_lab, domains_are_sub_accounts)
{
	pd_labpbx *lab = lab_up_opts((pd_labpbx_opts){.users = 12, .sites = 3});
	harness h;
	h_start(&h, labpbx_port(lab), SECRET);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 5000);
	cr_assert_eq(h.last_nusers, 12);
	char subs[256];
	h_sub_accounts(&h, subs, sizeof subs);
	cr_assert(strstr(subs, "default,"), "%s", subs);
	cr_assert(strstr(subs, "site-2,"), "%s", subs);
	cr_assert(strstr(subs, "site-3,"), "%s", subs);
	h_stop(&h);
	labpbx_stop(lab);
}

Test(esl_driver_lab, auth_refused_no_retry)
{
	pd_labpbx *lab = lab_up(3, "the-right-one");
	harness h;
	h_start(&h, labpbx_port(lab), SECRET);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_AUTH_FAILED, 5000);
	int64_t until = pd_live_now_ms() + 1500;
	while (pd_live_now_ms() < until)
		h_step(&h, 50);
	cr_assert_eq(link_of(&h), PD_LINK_AUTH_FAILED);
	cr_assert_eq(labpbx_logins(lab), 0);
	cr_assert_eq(h.ops->next_deadline(h.drv), INT64_MAX, "a retry is planned");
	pd_live_view v = snap(&h);
	cr_assert_str_eq(v.status, "auth failed");
	cr_assert(strstr(v.last_error, "authentication failed"), "%s", v.last_error);
	pd_live_free_view(&v);
	h_stop(&h);
	/* a password with a line break is never sent */
	h_start(&h, labpbx_port(lab), SECRET "\n\nexit");
	WAIT_FOR(&h, link_of(&h) == PD_LINK_AUTH_FAILED, 5000);
	v = snap(&h);
	cr_assert(strstr(v.last_error, "line break"), "%s", v.last_error);
	pd_live_free_view(&v);
	h_stop(&h);
	labpbx_stop(lab);
}

Test(esl_driver_lab, calls_and_agents_live)
{
	pd_labpbx *lab = lab_up(4, SECRET);
	harness h;
	h_start(&h, labpbx_port(lab), SECRET);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 5000);
	labpbx_place_call(lab, 0);
	WAIT_FOR(&h,
	         call_in_state(&h, PD_CALL_RINGING, false) ||
	             call_in_state(&h, PD_CALL_QUEUED, false),
	         3000);
	WAIT_FOR(&h, any_agent(&h, PD_AGENT_RINGING), 3000);
	WAIT_FOR(&h, call_in_state(&h, PD_CALL_CONNECTED, true), 3000);
	WAIT_FOR(&h, any_agent(&h, PD_AGENT_ON_CALL), 3000);
	pd_live_view v = snap(&h);
	cr_assert_eq(v.n_calls, 1, "%zu calls", v.n_calls);
	cr_assert_eq(v.calls[0].dir, PD_DIR_INBOUND);
	cr_assert_str_eq(v.calls[0].queue, "support@default");
	cr_assert(v.calls[0].from && v.calls[0].from[0] == '+', "%s", v.calls[0].from);
	pd_live_summary s;
	cr_assert(pd_live_summary_get(h.live, 7, &s));
	cr_assert_eq(s.calls, 1);
	pd_live_free_view(&v);
	WAIT_FOR(&h, call_in_state(&h, PD_CALL_ENDED, false), 5000);
	WAIT_FOR(&h, n_calls(&h) == 0, 8000);
	/* a phone unregisters: its user is Unavailable, its agent Offline */
	labpbx_register(lab, "1003", false);
	WAIT_FOR(&h, user_state(&h, "1003@default", "Unavailable"), 3000);
	cr_assert(agent_in_state(&h, "1003@default", PD_AGENT_OFFLINE, NULL));
	labpbx_register(lab, "1003", true);
	WAIT_FOR(&h, user_state(&h, "1003@default", "Not in use"), 3000);
	cr_assert(agent_in_state(&h, "1003@default", PD_AGENT_AVAILABLE, NULL));
	h_stop(&h);
	labpbx_stop(lab);
}

/* A dropped link is redialled, and the calls that were up come back from
 * the snapshot (show channels / calls as json, agent list). */
Test(esl_driver_lab, reconnect_takes_the_snapshot_again)
{
	pd_labpbx *lab = lab_up_opts((pd_labpbx_opts){.users = 4, .talk_ms = 20000});
	harness h;
	h_start(&h, labpbx_port(lab), SECRET);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 5000);
	labpbx_place_call(lab, 0);
	WAIT_FOR(&h, call_in_state(&h, PD_CALL_CONNECTED, true), 5000);
	int64_t connected_at = pd_live_now_ms();
	/* the call is up a while before the link drops */
	while (pd_live_now_ms() < connected_at + 1500)
		h_step(&h, 50);
	int64_t logins = labpbx_logins(lab);
	labpbx_inject(lab, PD_LAB_FAULT_DROP);
	WAIT_FOR(&h, link_of(&h) != PD_LINK_MONITORING, 5000);
	/* the last known call stays, marked stale, while the link is down */
	pd_live_view dv = snap(&h);
	cr_assert(dv.stale, "the view is not marked stale while the link is down");
	cr_assert_eq(dv.n_calls, 1, "the last known call was not kept");
	pd_live_free_view(&dv);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 10000);
	cr_assert_gt(labpbx_logins(lab), logins);
	cr_assert(strstr(h.texts.s, "retrying in"), "%s", h.texts.s);
	/* right when monitoring resumes, from the snapshot alone */
	cr_assert(call_in_state(&h, PD_CALL_CONNECTED, true), "the call was not re-snapshotted");
	/* its duration counts from when it began (created_epoch), not from the
	 * snapshot (1 s resolution) */
	pd_live_view rv = snap(&h);
	cr_assert_eq(rv.n_calls, 1);
	cr_assert_leq(rv.calls[0].start_ms, connected_at + 1000,
	              "the re-snapshotted call starts %lld ms after it was seen connected",
	              (long long)(rv.calls[0].start_ms - connected_at));
	/* and keeps its queue and agent (from the queue's members: a bridged
	 * leg's channel row names no queue) */
	cr_assert(rv.calls[0].queue && strstr(rv.calls[0].queue, "@"), "queue: %s",
	          rv.calls[0].queue ? rv.calls[0].queue : "(none)");
	cr_assert_not_null(rv.calls[0].agent);
	pd_live_free_view(&rv);
	cr_assert(any_agent(&h, PD_AGENT_ON_CALL));
	h_stop(&h);
	labpbx_stop(lab);
}

static void fault_recovers(unsigned fault, bool breaks_link)
{
	pd_labpbx *lab = lab_up(6, SECRET);
	harness h;
	h_start(&h, labpbx_port(lab), SECRET);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 5000);
	int64_t logins = labpbx_logins(lab);
	labpbx_inject(lab, fault);
	if (breaks_link) {
		WAIT_FOR(&h, link_of(&h) != PD_LINK_MONITORING, 5000);
		WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 10000);
		cr_assert_gt(labpbx_logins(lab), logins, "no new login after the fault");
		cr_assert(strstr(h.texts.s, "retrying in"), "%s", h.texts.s);
	}
	labpbx_place_call(lab, 1);
	WAIT_FOR(&h,
	         call_in_state(&h, PD_CALL_CONNECTED, true) ||
	             call_in_state(&h, PD_CALL_ENDED, true),
	         10000);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 5000);
	h_stop(&h);
	labpbx_stop(lab);
}

Test(esl_driver_lab, fault_drop)
{
	fault_recovers(PD_LAB_FAULT_DROP, true);
}

/* The link goes silent: the keep-alive finds it (the HEARTBEATs stop, the
 * api status that follows is not answered). */
Test(esl_driver_lab, fault_stall_detected_by_keepalive)
{
	fault_recovers(PD_LAB_FAULT_HALF_OPEN, true);
}

/* A lab with o and the driver on it, monitoring. */
static pd_labpbx *monitoring_on(harness *h, pd_labpbx_opts o)
{
	pd_labpbx *lab = lab_up_opts(o);
	h_start(h, labpbx_port(lab), SECRET);
	WAIT_FOR(h, link_of(h) == PD_LINK_MONITORING, 5000);
	return lab;
}

/* FreeSWITCH's HEARTBEAT is the keep-alive: while it comes (every 300 ms
 * here; the ping interval is 1 s) the driver sends no api status. The
 * window watched keeps its length (three ping intervals). */
Test(esl_driver_lab, heartbeat_saves_pings)
{
	harness h;
	pd_labpbx *lab = monitoring_on(&h, (pd_labpbx_opts){.users = 4, .heartbeat_ms = 300});
	int64_t asked = labpbx_status_asked(lab);
	int64_t until = pd_live_now_ms() + 3000;
	while (pd_live_now_ms() < until)
		h_step(&h, 50);
	cr_assert_eq(labpbx_status_asked(lab), asked, "api status sent while HEARTBEATs came");
	cr_assert_eq(link_of(&h), PD_LINK_MONITORING);
	h_stop(&h);
	labpbx_stop(lab);
}

/* Without HEARTBEATs (the lab's first is a minute away) the driver pings
 * with api status every interval, and the link stays up. */
Test(esl_driver_lab, pings_without_heartbeat)
{
	harness h;
	pd_labpbx *lab = monitoring_on(&h, (pd_labpbx_opts){.users = 4, .heartbeat_ms = 60000});
	int64_t asked = labpbx_status_asked(lab);
	WAIT_FOR(&h, labpbx_status_asked(lab) >= asked + 2, 5000);
	cr_assert_eq(link_of(&h), PD_LINK_MONITORING);
	h_stop(&h);
	labpbx_stop(lab);
}

/* HEARTBEATs stop and the ping they saved is not answered either (a
 * half-open link): the link is dead and redialled. */
Test(esl_driver_lab, heartbeat_and_ping_missing_is_dead)
{
	harness h;
	pd_labpbx *lab = monitoring_on(&h, (pd_labpbx_opts){.users = 4, .heartbeat_ms = 300});
	labpbx_inject(lab, PD_LAB_FAULT_HALF_OPEN);
	WAIT_FOR(&h, link_of(&h) != PD_LINK_MONITORING, 5000);
	cr_assert(strstr(h.texts.s, "no HEARTBEAT and no answer to api status for 1s"), "%s",
	          h.texts.s);
	h_stop(&h);
	labpbx_stop(lab);
}

Test(esl_driver_lab, fault_restart)
{
	fault_recovers(PD_LAB_FAULT_RESTART, true);
}

/* Not an event socket (an Asterisk lab answers with its AMI banner): a
 * protocol error, shown apart from a plain retry, and dialled again. */
Test(esl_driver_lab, asterisk_port_is_a_protocol_error)
{
	pd_labpbx_opts o = {.users = 4, .secret = SECRET, .platform = PD_LAB_ASTERISK_AMI};
	pd_labpbx *lab;
	pd_err e = {0};
	cr_assert_eq(labpbx_start(&o, &lab, &e), PD_OK, "%s", e.message);
	harness h;
	h_start(&h, labpbx_port(lab), SECRET);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_PROTOCOL_ERROR, 10000);
	cr_assert(strstr(h.texts.s, "not a FreeSWITCH event socket"), "%s", h.texts.s);
	cr_assert(strstr(h.texts.s, "protocol error, retrying in"), "%s", h.texts.s);
	cr_assert_eq(h.seen & (1u << PD_LINK_AUTH_FAILED), 0);
	h_stop(&h);
	labpbx_stop(lab);
}

Test(esl_driver_lab, fault_garbage)
{
	fault_recovers(PD_LAB_FAULT_GARBAGE, false);
}

Test(esl_driver_lab, fault_slow)
{
	fault_recovers(PD_LAB_FAULT_SLOW, false);
}

Test(esl_driver_lab, fault_bytewise)
{
	fault_recovers(PD_LAB_FAULT_BYTEWISE, false);
}

/* Control bytes: the messages or values holding them are refused or
 * repaired and counted; no control byte reaches the view; the link stays
 * or comes back, and calls are followed. */
Test(esl_driver_lab, hostile_ctrl)
{
	pd_labpbx *lab = lab_up(4, SECRET);
	harness h;
	h_start(&h, labpbx_port(lab), SECRET);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 5000);
	labpbx_inject(lab, PD_LAB_FAULT_CTRL);
	WAIT_FOR(&h, input_of(&h).bad_fields >= 1 || link_of(&h) != PD_LINK_MONITORING, 5000);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 10000);
	pd_live_view v = snap(&h);
	for (size_t i = 0; i < v.n_calls; i++)
		cr_assert_not(has_ctrl(v.calls[i].from_name), "control bytes in the view: %s",
		              v.calls[i].from_name);
	pd_live_free_view(&v);
	labpbx_place_call(lab, 0);
	WAIT_FOR(&h,
	         call_in_state(&h, PD_CALL_CONNECTED, true) ||
	             call_in_state(&h, PD_CALL_ENDED, true),
	         10000);
	h_stop(&h);
	labpbx_stop(lab);
}

/* A caller name with a bidi override and a C1 CSI reaches the view with
 * '?' in their place. */
Test(esl_driver_lab, hostile_bidi)
{
	pd_labpbx *lab = lab_up(4, SECRET);
	harness h;
	h_start(&h, labpbx_port(lab), SECRET);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 5000);
	labpbx_inject(lab, PD_LAB_FAULT_BIDI);
	char name[128] = "";
	WAIT_FOR(&h, call_named(&h, "Bidi", name, sizeof name), 5000);
	cr_assert_str_eq(name, "?gro.live?31m Bidi");
	cr_assert_eq(link_of(&h), PD_LINK_MONITORING);
	h_stop(&h);
	labpbx_stop(lab);
}

/* One 16 MB event: past the 1 MiB message bound its body is skipped unread
 * (or the link is dialled again); monitoring goes on. */
Test(esl_driver_lab, hostile_huge)
{
	pd_labpbx *lab = lab_up(4, SECRET);
	harness h;
	h_start(&h, labpbx_port(lab), SECRET);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 5000);
	labpbx_inject(lab, PD_LAB_FAULT_HUGE);
	WAIT_FOR(&h, input_of(&h).bad_fields >= 1 || link_of(&h) != PD_LINK_MONITORING, 10000);
	/* the lab drops a session's events while the 16 MB go out: a call
	 * placed before the last byte is queued would never be seen */
	WAIT_FOR(&h, labpbx_huge_sent(lab) >= 1, 10000);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 10000);
	labpbx_place_call(lab, 0);
	WAIT_FOR(&h,
	         call_in_state(&h, PD_CALL_CONNECTED, true) ||
	             call_in_state(&h, PD_CALL_ENDED, true),
	         10000);
	h_stop(&h);
	labpbx_stop(lab);
}

/* CHANNEL_CREATEs without hangups at full speed: the model stays at its
 * caps, the link stays up, what was dropped is counted and said. */
Test(esl_driver_lab, hostile_flood_bounded, .timeout = 60)
{
	h_max_calls = 300;
	h_max_channels = 500;
	pd_labpbx *lab = lab_up_opts((pd_labpbx_opts){.users = 4, .fault_ms = 4000});
	harness h;
	h_start(&h, labpbx_port(lab), SECRET);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 5000);
	int64_t logins = labpbx_logins(lab);
	labpbx_inject(lab, PD_LAB_FAULT_FLOOD);
	WAIT_FOR(&h, input_of(&h).dropped_calls > 0, 5000);
	int64_t end = pd_live_now_ms() + 3000;
	while (pd_live_now_ms() < end) {
		h_step(&h, 20);
		pd_live_input in = input_of(&h);
		cr_assert_leq(in.calls, 300);
		cr_assert_leq(in.channels, 500);
	}
	cr_assert_eq(link_of(&h), PD_LINK_MONITORING, "%s", h.texts.s);
	cr_assert_eq(labpbx_logins(lab), logins, "the flood dropped the link");
	pd_live_view v = snap(&h);
	cr_assert(strstr(v.status, "input capped") || strstr(v.status, "input was capped"), "%s",
	          v.status);
	pd_live_free_view(&v);
	h_stop(&h);
	labpbx_stop(lab);
}

/* A list_users reply past the bound of an api reply is refused: the users
 * are not synced (an empty directory would remove them all), the reason is
 * shown, and monitoring goes on. The bound is max_message_kb, or more for a
 * link that may hold more users or channels: here neither (2 users, 1
 * channel: 1 KiB each). */
Test(esl_driver_lab, refused_directory_is_not_synced)
{
	h_max_message = 1500; /* list_users of 20 users is about 2 KB */
	h_max_users = 2;
	h_max_channels = 1;
	pd_labpbx *lab = lab_up(20, SECRET);
	harness h;
	h_start(&h, labpbx_port(lab), SECRET);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 5000);
	cr_assert_eq(h.nsync, 0, "an empty directory was synced");
	cr_assert(strstr(h.texts.s, "users not synced"), "%s", h.texts.s);
	h_stop(&h);
	labpbx_stop(lab);
}

/* A directory whose api replies are larger than max_message_kb (1,000
 * users: list_users ≈ 95 kB, the registrations ≈ 220 kB, the agent list ≈
 * 125 kB, against 64 KiB) is taken whole all the same: an api reply is
 * bounded by the users and channels the link may hold (here the defaults:
 * 10 MB). The users are synced, every agent is shown, phones have their
 * registration state, and nothing is said to be refused. */
Test(esl_driver_lab, a_directory_larger_than_max_message_kb_is_taken_whole)
{
	h_max_message = 64 * 1024;
	pd_labpbx *lab = lab_up(1000, SECRET);
	harness h;
	h_start(&h, labpbx_port(lab), SECRET);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 10000);
	cr_assert_eq(h.nsync, 1);
	cr_assert_eq(h.last_nusers, 1000);
	pd_live_view v = snap(&h);
	cr_assert_eq(v.n_agents, 1000, "the agent list was refused");
	cr_assert_str_eq(find_user(&v, "1001@default")->device_state, "Not in use");
	cr_assert_str_eq(find_user(&v, "1010@default")->device_state, "Unavailable");
	cr_assert_eq(v.input.bad_fields, 0);
	pd_live_free_view(&v);
	cr_assert_null(strstr(h.texts.s, "refused"), "%s", h.texts.s);
	h_stop(&h);
	labpbx_stop(lab);
}

/* A directory larger than max_users_per_link is not synced either (cut
 * short, it would read as users removed); monitoring goes on and says why. */
Test(esl_driver_lab, directory_over_the_user_cap_is_not_synced)
{
	h_max_users = 10;
	pd_labpbx *lab = lab_up(20, SECRET);
	harness h;
	h_start(&h, labpbx_port(lab), SECRET);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 5000);
	cr_assert_eq(h.nsync, 0, "a cut-short directory was synced");
	cr_assert(strstr(h.texts.s, "not synced: the PBX lists more than 10 users "
	                            "(max_users_per_link); 10 more refused"),
	          "%s", h.texts.s);
	h_stop(&h);
	labpbx_stop(lab);
}

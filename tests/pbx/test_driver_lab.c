/* The AMI driver over real TCP against the in-process lab PBX (and against a
 * tiny server replaying the recorded Asterisk session): discovery, calls and
 * agents, every fault mode recovering, authentication failure, name
 * resolution and connect errors, and the secret never in any status text. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "drv_harness.h"
#include "provdesk/ami.h"
#include "provdesk/i18n.h"
#include "provdesk/labpbx.h"
#include "provdesk/live.h"
#include "provdesk/pbx_driver.h"
#include "provdesk/pbx_transport.h"
#include "provdesk/util.h"

#define SECRET "s3cr3t-Lab-Pw"

static bool h_tls;       /* h_start dials with TLS (each Criterion test is its own process) */
static bool h_no_vm;     /* lab_up starts a lab without app_voicemail */
static char tls_dir[64]; /* lab.pem/lab.key made by make_cert; lab_up listens with TLS when h_tls */
static int h_max_calls, h_max_channels, h_max_users; /* h_start's caps (0 = the defaults) */
static int h_fault_ms;                               /* lab_up's fault_ms (0 = 1500) */

static void h_start(harness *h, const char *host, int port, const char *user, const char *secret,
                    const char *params)
{
	pd_drv_conf c = h_conf(host, port, secret);
	c.tls = h_tls;
	c.username = user;
	c.params_json = params;
	c.max_calls = h_max_calls;
	c.max_channels = h_max_channels;
	c.max_users = h_max_users;
	h_create(h, "asterisk-ami", c);
}

static pd_labpbx *lab_up(int users, const char *secret)
{
	pd_labpbx_opts o = {.users = users,
	                    .queues = 2,
	                    .secret = secret,
	                    .username = "admin",
	                    .ring_ms = 300,
	                    .talk_ms = 600,
	                    .wrapup_s = 1,
	                    .restart_ms = 300,
	                    .hold_pct = -1,
	                    .fault_ms = h_fault_ms ? h_fault_ms : 1500,
	                    .no_voicemail = h_no_vm};
	char cert[128], key[128];
	if (h_tls) {
		snprintf(cert, sizeof cert, "%s/lab.pem", tls_dir);
		snprintf(key, sizeof key, "%s/lab.key", tls_dir);
		o.tls_cert = cert;
		o.tls_key = key;
	}
	pd_labpbx *l;
	pd_err e = {0};
	cr_assert_eq(labpbx_start(&o, &l, &e), PD_OK, "%s", e.message);
	return l;
}

Test(driver_lab, discovery_and_monitoring)
{
	pd_labpbx *lab = lab_up(20, SECRET);
	harness h;
	h_start(&h, "127.0.0.1", labpbx_port(lab), "admin", SECRET, NULL);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 5000);
	cr_assert_eq(h.nsync, 1);
	cr_assert_eq(h.last_nusers, 20);
	cr_assert_str_eq(h_user(&h, "1008")->display_name, "Hélène Dubois");
	/* the emails come from the mailboxes (VoicemailUsersList); 1007 and
	 * 1017 have none */
	cr_assert_str_eq(h_email(&h, "1008"), "helene.dubois@lab.example");
	cr_assert_eq(h.n_emails, 18);
	cr_assert(strstr(h.texts.s, "connecting\n"));
	cr_assert(strstr(h.texts.s, "syncing 20/20\n"), "%s", h.texts.s);
	/* each step of the way up is its own state */
	const pd_link_state up[] = {PD_LINK_CONNECTING, PD_LINK_LOGGING_IN, PD_LINK_DISCOVERING,
	                            PD_LINK_MONITORING};
	for (size_t i = 0; i < sizeof up / sizeof up[0]; i++)
		cr_assert(h.seen & (1u << up[i]), "%s never reported", pd_link_state_name(up[i]));
	cr_assert_eq(h.seen & (1u << PD_LINK_PROTOCOL_ERROR), 0);
	cr_assert(strstr(h.texts.s, "monitoring\n"));
	pd_live_view v = snap(&h);
	cr_assert_str_eq(v.status, "monitoring");
	cr_assert_eq(v.n_users, 20);
	cr_assert_str_eq(v.users[0].sub_account, "from-internal");
	cr_assert_str_eq(v.users[0].device_state, "Not in use");
	cr_assert_eq(v.n_agents, 20);
	for (size_t i = 0; i < v.n_agents; i++)
		cr_assert_eq(v.agents[i].state, PD_AGENT_AVAILABLE, "%s", v.agents[i].interface);
	pd_live_free_view(&v);
	/* pings keep a healthy link up */
	int64_t until = pd_live_now_ms() + 2500;
	while (pd_live_now_ms() < until)
		h_step(&h, 50);
	cr_assert_eq(link_of(&h), PD_LINK_MONITORING);
	h_stop(&h);
	labpbx_stop(lab);
}

/* A directory larger than max_users_per_link is not synced (cut short, it
 * would read as users removed); the link monitors all the same and says why. */
Test(driver_lab, directory_over_the_user_cap_is_not_synced)
{
	h_max_users = 10;
	pd_labpbx *lab = lab_up(20, SECRET);
	harness h;
	h_start(&h, "127.0.0.1", labpbx_port(lab), "admin", SECRET, NULL);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 5000);
	cr_assert_eq(h.nsync, 0, "a cut-short directory was synced");
	pd_live_view v = snap(&h);
	char shown[256]; /* the warning, kept as a pd_msg list */
	pd_msg_text(v.last_error, shown, sizeof shown);
	cr_assert(strstr(shown, "not synced: the PBX lists more than 10 users "
	                        "(max_users_per_link); 10 more refused"),
	          "%s", shown);
	cr_assert_eq(v.n_users, 10);
	pd_live_free_view(&v);
	h_stop(&h);
	labpbx_stop(lab);
}

/* A PBX without app_voicemail answers VoicemailUsersList with an Error: the
 * users are synced all the same, without emails, and monitoring starts. */
Test(driver_lab, discovery_without_voicemail_syncs_without_emails)
{
	h_no_vm = true;
	pd_labpbx *lab = lab_up(20, SECRET);
	harness h;
	h_start(&h, "127.0.0.1", labpbx_port(lab), "admin", SECRET, NULL);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 5000);
	cr_assert_eq(h.nsync, 1);
	cr_assert_eq(h.last_nusers, 20);
	cr_assert_eq(h.n_emails, 0);
	cr_assert_str_eq(h_email(&h, "1008"), "(none)");
	cr_assert_str_eq(h_user(&h, "1008")->display_name, "Hélène Dubois");
	pd_live_view v = snap(&h);
	cr_assert_str_eq(v.last_error, "", "%s", v.last_error);
	pd_live_free_view(&v);
	h_stop(&h);
	labpbx_stop(lab);
}

Test(driver_lab, call_and_agent_transitions)
{
	pd_labpbx *lab = lab_up(4, SECRET);
	harness h;
	/* the lab's queues wrap up for 1 s, which (as in Asterisk) no event
	 * says: the connection's wrap-up time does */
	h_start(&h, "127.0.0.1", labpbx_port(lab), "admin", SECRET, "{\"wrapup_time\":1}");
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 5000);
	labpbx_pause(lab, "1002", true, "Déjeuner");
	WAIT_FOR(&h, agent_in_state(&h, "PJSIP/1002", PD_AGENT_NOT_READY, "Déjeuner"), 3000);
	labpbx_place_call(lab, 0);
	WAIT_FOR(&h,
	         call_in_state(&h, PD_CALL_RINGING, true) ||
	             call_in_state(&h, PD_CALL_QUEUED, false),
	         3000);
	WAIT_FOR(&h, any_agent(&h, PD_AGENT_RINGING), 3000);
	WAIT_FOR(&h, call_in_state(&h, PD_CALL_CONNECTED, true), 3000);
	WAIT_FOR(&h, any_agent(&h, PD_AGENT_ON_CALL), 3000);
	pd_live_view v = snap(&h);
	cr_assert_eq(v.n_calls, 1);
	cr_assert_eq(v.calls[0].dir, PD_DIR_INBOUND);
	cr_assert_str_eq(v.calls[0].queue, "support");
	cr_assert(!strncmp(v.calls[0].from, "+331555", 7), "%s", v.calls[0].from);
	pd_live_summary s;
	cr_assert(pd_live_summary_get(h.live, 7, &s));
	cr_assert_eq(s.calls, 1);
	cr_assert_eq(s.agents_logged_on, 4);
	pd_live_free_view(&v);
	WAIT_FOR(&h, call_in_state(&h, PD_CALL_ENDED, false), 5000);
	WAIT_FOR(&h, any_agent(&h, PD_AGENT_WRAPUP), 3000);
	WAIT_FOR(&h, !any_agent(&h, PD_AGENT_WRAPUP), 4000);
	/* the ended call leaves the list after a few seconds */
	WAIT_FOR(&h, !call_in_state(&h, PD_CALL_ENDED, false), 8000);
	cr_assert(agent_in_state(&h, "PJSIP/1002", PD_AGENT_NOT_READY, "Déjeuner"));
	labpbx_pause(lab, "1002", false, NULL);
	WAIT_FOR(&h, agent_in_state(&h, "PJSIP/1002", PD_AGENT_AVAILABLE, NULL), 3000);
	h_stop(&h);
	labpbx_stop(lab);
}

/* Calls already up when the link connects (the lab answered them before
 * anyone logged in): CoreShowChannels + QueueStatus give each its queue,
 * its agent and its caller, not blanks (issue 14). */
Test(driver_lab, calls_up_at_connect_have_queue_agent_and_caller)
{
	pd_labpbx_opts o = {.users = 3,
	                    .queues = 1,
	                    .secret = SECRET,
	                    .username = "admin",
	                    .talk_ms = 600000,
	                    .hold_pct = -1,
	                    .outbound_pct = -1,
	                    .calls_up = 2};
	pd_labpbx *lab;
	pd_err e = {0};
	cr_assert_eq(labpbx_start(&o, &lab, &e), PD_OK, "%s", e.message);
	harness h;
	h_start(&h, "127.0.0.1", labpbx_port(lab), "admin", SECRET, NULL);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 5000);
	WAIT_FOR(&h, n_calls(&h) == 2, 3000);
	pd_live_view v = snap(&h);
	for (size_t i = 0; i < v.n_calls; i++) {
		const pd_live_call *c = &v.calls[i];
		cr_assert_eq(c->state, PD_CALL_CONNECTED, "%s", pd_call_state_name(c->state));
		cr_assert_str_eq(c->queue, "support");
		cr_assert(c->agent && *c->agent && strncmp(c->agent, "PJSIP/", 6), "agent %s",
		          c->agent ? c->agent : "(none)");
		cr_assert(c->from && !strncmp(c->from, "+331555", 7), "%s", c->from);
		cr_assert_eq(c->dir, PD_DIR_INBOUND);
	}
	size_t on_call = 0;
	for (size_t i = 0; i < v.n_agents; i++)
		on_call += v.agents[i].state == PD_AGENT_ON_CALL;
	cr_assert_eq(on_call, 2);
	pd_live_free_view(&v);
	h_stop(&h);
	labpbx_stop(lab);
}

/* Paused while on a queue call: the agent is On call and keeps its pause
 * reason; the call ends, its caller stays; wrap-up for the connection's
 * time, then Not ready with the reason (issue 14). */
Test(driver_lab, paused_on_a_call_keeps_the_reason_then_wrapup)
{
	pd_labpbx_opts o = {.users = 1,
	                    .queues = 1,
	                    .secret = SECRET,
	                    .username = "admin",
	                    .ring_ms = 200,
	                    .talk_ms = 1500,
	                    .wrapup_s = 2,
	                    .hold_pct = -1,
	                    .outbound_pct = -1,
	                    .pause_in_call = "1001:Lunch"};
	pd_labpbx *lab;
	pd_err e = {0};
	cr_assert_eq(labpbx_start(&o, &lab, &e), PD_OK, "%s", e.message);
	harness h;
	h_start(&h, "127.0.0.1", labpbx_port(lab), "admin", SECRET, "{\"wrapup_time\":2}");
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 5000);
	labpbx_place_call(lab, 0);
	WAIT_FOR(&h, any_agent(&h, PD_AGENT_RINGING), 3000);
	WAIT_FOR(&h, agent_in_state(&h, "PJSIP/1001", PD_AGENT_ON_CALL, "Lunch"), 3000);
	pd_live_view v = snap(&h);
	cr_assert(v.agents[0].paused);
	cr_assert_eq(v.n_calls, 1);
	char *from = xstrdup(v.calls[0].from);
	cr_assert(!strncmp(from, "+331555", 7), "%s", from);
	pd_live_free_view(&v);
	WAIT_FOR(&h, agent_in_state(&h, "PJSIP/1001", PD_AGENT_WRAPUP, NULL), 8000);
	v = snap(&h);
	cr_assert_eq(v.n_calls, 1);
	cr_assert_eq(v.calls[0].state, PD_CALL_ENDED);
	cr_assert_str_eq(v.calls[0].from, from, "the ended call keeps its caller");
	int64_t left = v.agents[0].until_ms - pd_live_now_ms();
	cr_assert(left > 0 && left <= 2000, "wrap-up ends in %lld ms", (long long)left);
	pd_live_free_view(&v);
	free(from);
	WAIT_FOR(&h, agent_in_state(&h, "PJSIP/1001", PD_AGENT_NOT_READY, "Lunch"), 4000);
	h_stop(&h);
	labpbx_stop(lab);
}

/* A call dialled straight to an agent's phone (no queue): the agent rings
 * for the whole ring time as for a queue call, takes the call, and is
 * Available at once after it (wrap-up is for queue calls). */
Test(driver_lab, direct_call_rings_then_no_wrapup)
{
	pd_labpbx_opts o = {.users = 1,
	                    .queues = 1,
	                    .secret = SECRET,
	                    .username = "admin",
	                    .ring_ms = 1500,
	                    .talk_ms = 800,
	                    .hold_pct = -1,
	                    .outbound_pct = -1};
	pd_labpbx *lab;
	pd_err e = {0};
	cr_assert_eq(labpbx_start(&o, &lab, &e), PD_OK, "%s", e.message);
	harness h;
	h_start(&h, "127.0.0.1", labpbx_port(lab), "admin", SECRET, "{\"wrapup_time\":5}");
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 5000);
	labpbx_place_call(lab, -2);
	WAIT_FOR(&h, agent_in_state(&h, "PJSIP/1001", PD_AGENT_RINGING, NULL), 3000);
	int64_t rang = pd_live_now_ms();
	pd_live_view v = snap(&h);
	cr_assert_eq(v.n_calls, 1);
	cr_assert_eq(v.calls[0].state, PD_CALL_RINGING);
	cr_assert_null(v.calls[0].queue);
	cr_assert_str_eq(v.calls[0].to, "1001");
	cr_assert(!strncmp(v.calls[0].from, "+331555", 7), "%s", v.calls[0].from);
	pd_live_free_view(&v);
	/* it keeps ringing until answered */
	while (pd_live_now_ms() < rang + 1000) {
		h_step(&h, 20);
		if (agent_in_state(&h, "PJSIP/1001", PD_AGENT_ON_CALL, NULL))
			break;
		cr_assert(agent_in_state(&h, "PJSIP/1001", PD_AGENT_RINGING, NULL),
		          "Ringing stopped after %lld ms", (long long)(pd_live_now_ms() - rang));
	}
	WAIT_FOR(&h, agent_in_state(&h, "PJSIP/1001", PD_AGENT_ON_CALL, NULL), 3000);
	cr_assert_geq(pd_live_now_ms() - rang, 1000, "answered after the ring time");
	WAIT_FOR(&h, call_in_state(&h, PD_CALL_ENDED, false), 8000);
	/* Available at once: a wrap-up would last the connection's 5 s */
	WAIT_FOR(&h, agent_in_state(&h, "PJSIP/1001", PD_AGENT_AVAILABLE, NULL), 1000);
	h_stop(&h);
	labpbx_stop(lab);
}

Test(driver_lab, hold_and_outbound_calls)
{
	pd_labpbx_opts o = {.users = 3,
	                    .queues = 1,
	                    .secret = SECRET,
	                    .username = "admin",
	                    .ring_ms = 300,
	                    .talk_ms = 4000,
	                    .wrapup_s = 1,
	                    .hold_pct = 100};
	pd_labpbx *lab;
	pd_err e = {0};
	cr_assert_eq(labpbx_start(&o, &lab, &e), PD_OK, "%s", e.message);
	harness h;
	h_start(&h, "127.0.0.1", labpbx_port(lab), "admin", SECRET, NULL);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 5000);
	labpbx_place_call(lab, 0);
	WAIT_FOR(&h, call_in_state(&h, PD_CALL_HELD, true), 8000);
	cr_assert(any_agent(&h, PD_AGENT_ON_HOLD));
	WAIT_FOR(&h, call_in_state(&h, PD_CALL_CONNECTED, true), 8000);
	cr_assert(any_agent(&h, PD_AGENT_ON_CALL));
	WAIT_FOR(&h, call_in_state(&h, PD_CALL_ENDED, false), 10000);
	WAIT_FOR(&h, n_calls(&h) == 0, 8000);
	/* an outbound call from an idle user */
	labpbx_place_call(lab, -1);
	WAIT_FOR(&h, n_calls(&h) == 1, 3000);
	pd_live_view v = snap(&h);
	cr_assert_eq(v.calls[0].dir, PD_DIR_OUTBOUND);
	cr_assert(!strncmp(v.calls[0].from, "100", 3), "%s", v.calls[0].from);
	cr_assert(!strncmp(v.calls[0].to, "+3361", 5), "%s", v.calls[0].to);
	cr_assert_null(v.calls[0].queue);
	pd_live_free_view(&v);
	WAIT_FOR(&h, any_agent(&h, PD_AGENT_ON_CALL), 3000);
	WAIT_FOR(&h, call_in_state(&h, PD_CALL_CONNECTED, false), 3000);
	WAIT_FOR(&h, call_in_state(&h, PD_CALL_ENDED, false), 10000);
	h_stop(&h);
	labpbx_stop(lab);
}

static void make_cert(const char *name, const char *san);
static void tls_cleanup(void);

/* apart: the link reads on a thread of its own from its first byte
 * (pd_tport_set_reader), one reader before the fault and one after (the
 * broken connection's ended with it), none once the driver is gone. */
static void fault_recovers_as(unsigned fault, bool breaks_link, bool apart)
{
	if (apart)
		pd_tport_set_reader(0, -1);
	pd_labpbx *lab = lab_up(6, SECRET);
	harness h;
	h_start(&h, "127.0.0.1", labpbx_port(lab), "admin", SECRET,
	        h_tls ? "{\"tls_verify\": false}" : NULL);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 5000);
	cr_assert_eq(pd_tport_readers(), apart ? 1 : 0);
	int64_t logins = labpbx_logins(lab);
	labpbx_inject(lab, fault);
	if (breaks_link) {
		WAIT_FOR(&h, link_of(&h) != PD_LINK_MONITORING, 5000);
		WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 10000);
		cr_assert_gt(labpbx_logins(lab), logins, "no new login after the fault");
		cr_assert(strstr(h.texts.s, "retrying in"), "%s", h.texts.s);
	}
	/* calls are still followed after recovery (or while slowed down, when the
	 * whole call may arrive in one batch: then it is seen ended, with its agent) */
	labpbx_place_call(lab, 1);
	WAIT_FOR(&h,
	         call_in_state(&h, PD_CALL_CONNECTED, true) ||
	             call_in_state(&h, PD_CALL_ENDED, true),
	         10000);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 5000);
	if (apart)
		cr_assert_eq(pd_tport_readers(), 1, "one reader, the new connection's");
	h_stop(&h);
	cr_assert_eq(pd_tport_readers(), 0, "the reader ends with the link");
	labpbx_stop(lab);
}

static void fault_recovers(unsigned fault, bool breaks_link)
{
	fault_recovers_as(fault, breaks_link, false);
}

Test(driver_lab, fault_drop)
{
	fault_recovers(PD_LAB_FAULT_DROP, true);
}

Test(driver_lab, fault_half_open_detected_by_ping)
{
	fault_recovers(PD_LAB_FAULT_HALF_OPEN, true);
}

/* Binary garbage: its lines hold control bytes, so they are dropped as bad
 * fields (the link may stay) or, a short one without a colon, a protocol
 * error (the link is dialled again): either way calls are followed. */
Test(driver_lab, fault_garbage)
{
	fault_recovers(PD_LAB_FAULT_GARBAGE, false);
}

Test(driver_lab, fault_restart)
{
	fault_recovers(PD_LAB_FAULT_RESTART, true);
}

/* The same faults while the link reads on a thread of its own; garbage
 * and one byte per write come through the reader's buffers to the same
 * parser (bad lines dropped or the link dialled again, split messages
 * joined). */
Test(driver_lab, read_apart_fault_drop)
{
	fault_recovers_as(PD_LAB_FAULT_DROP, true, true);
}

Test(driver_lab, read_apart_fault_half_open)
{
	fault_recovers_as(PD_LAB_FAULT_HALF_OPEN, true, true);
}

Test(driver_lab, read_apart_fault_restart)
{
	fault_recovers_as(PD_LAB_FAULT_RESTART, true, true);
}

Test(driver_lab, read_apart_fault_garbage)
{
	fault_recovers_as(PD_LAB_FAULT_GARBAGE, false, true);
}

Test(driver_lab, read_apart_fault_bytewise)
{
	fault_recovers_as(PD_LAB_FAULT_BYTEWISE, false, true);
}

/* The PBX drops the link in the middle of discovering 3,000 users, while
 * the driver is not stepped: it then parses the answers already received
 * and asks for the next details as they complete, on a socket that fails
 * (reset, or a send failing under the parser's callback, which fails the
 * link only after it: read apart, the buffer parsed is the reader's; the
 * transport tests make that case certain). It dials again and syncs the
 * whole directory once. */
static void drop_mid_discovery(bool apart)
{
	if (apart)
		pd_tport_set_reader(0, -1);
	pd_labpbx *lab = lab_up(3000, SECRET);
	harness h;
	h_start(&h, "127.0.0.1", labpbx_port(lab), "admin", SECRET, NULL);
	WAIT_FOR(&h, h.texts.s && strstr(h.texts.s, "syncing 1/3000\n"), 10000);
	cr_assert_neq(link_of(&h), PD_LINK_MONITORING, "discovered in one turn");
	int64_t logins = labpbx_logins(lab);
	labpbx_inject(lab, PD_LAB_FAULT_DROP);
	TL_UNTIL(labpbx_sessions(lab) == 0, 5000, poll(NULL, 0, 5), "the lab kept the session");
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 20000);
	cr_assert(strstr(h.texts.s, "retrying in"), "%s", h.texts.s);
	cr_assert_gt(labpbx_logins(lab), logins, "no new login after the drop");
	cr_assert_eq(h.nsync, 1, "a cut-short discovery was synced");
	cr_assert_eq(h.last_nusers, 3000);
	h_stop(&h);
	cr_assert_eq(pd_tport_readers(), 0);
	labpbx_stop(lab);
}

Test(driver_lab, drop_mid_discovery_redials_and_syncs_once)
{
	drop_mid_discovery(false);
}

Test(driver_lab, read_apart_drop_mid_discovery_redials_and_syncs_once)
{
	drop_mid_discovery(true);
}

Test(driver_lab, fault_slow)
{
	fault_recovers(PD_LAB_FAULT_SLOW, false);
}

Test(driver_lab, fault_bytewise)
{
	fault_recovers(PD_LAB_FAULT_BYTEWISE, false);
}

Test(driver_lab, auth_failure_stops_retries)
{
	pd_labpbx *lab = lab_up(3, "the-right-one");
	harness h;
	h_start(&h, "127.0.0.1", labpbx_port(lab), "admin", SECRET, NULL);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_AUTH_FAILED, 5000);
	int64_t until = pd_live_now_ms() + 1500;
	while (pd_live_now_ms() < until)
		h_step(&h, 50);
	cr_assert_eq(link_of(&h), PD_LINK_AUTH_FAILED);
	cr_assert_eq(labpbx_logins(lab), 0);
	pd_live_view v = snap(&h);
	cr_assert_str_eq(v.status, "auth failed");
	cr_assert(strstr(v.last_error, "authentication failed"), "%s", v.last_error);
	pd_live_free_view(&v);
	h_stop(&h);
	labpbx_stop(lab);
}

Test(driver_lab, connect_refused_then_backoff)
{
	int port = tl_free_port(); /* nobody listens there */
	harness h;
	h_start(&h, "127.0.0.1", port, "admin", SECRET, NULL);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_RETRYING, 3000);
	pd_live_view v = snap(&h);
	cr_assert(strstr(v.status, "retrying in "), "%s", v.status);
	cr_assert(strstr(v.status, "Connection refused"), "%s", v.status);
	pd_live_free_view(&v);
	h_stop(&h);
}

Test(driver_lab, name_resolution_thread_and_failure)
{
	pd_labpbx *lab = lab_up(2, SECRET);
	harness h;
	h_start(&h, "localhost", labpbx_port(lab), "admin", SECRET, NULL);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 5000);
	h_stop(&h);
	labpbx_stop(lab);
	h_start(&h, "no-such-host.invalid", 5038, "admin", SECRET, NULL);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_RETRYING, 8000);
	pd_live_view v = snap(&h);
	char shown[256];
	pd_msg_text(v.last_error, shown, sizeof shown);
	cr_assert(strstr(shown, "cannot resolve host no-such-host.invalid: "), "%s", shown);
	char reason[256];
	snprintf(reason, sizeof reason, "%s", strstr(shown, ".invalid: ") + 10);
	cr_assert(reason[0], "the system's reason is shown: %s", shown);
	pd_live_free_view(&v);
	h_stop(&h);
	/* the longest host name a connection takes (253 characters: four labels
	 * of 61 and ".invalid") still leaves the reason whole */
	char host[254] = "";
	for (int i = 0; i < 4; i++)
		snprintf(host + strlen(host), sizeof host - strlen(host), "%.*s.", 61,
		         "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghij");
	snprintf(host + strlen(host), sizeof host - strlen(host), "invalid");
	cr_assert_eq(strlen(host), 253);
	h_start(&h, host, 5038, "admin", SECRET, NULL);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_RETRYING, 8000);
	v = snap(&h);
	char longer[512], want[400];
	pd_msg_text(v.last_error, longer, sizeof longer);
	snprintf(want, sizeof want, "cannot resolve host %s: %s", host, reason);
	cr_assert_str_eq(longer, want);
	pd_live_free_view(&v);
	h_stop(&h);
}

/* ---- the recorded session replayed by a tiny server ---- */

typedef struct {
	int lfd;
	char *data;
	size_t len;
} replay_srv;

static void send_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

/* Answers the driver's Login and discovery actions (empty lists; no
 * app_voicemail: VoicemailUsersList is an unknown command), then sends every
 * byte of the recording after its banner and login reply. */
static void on_client_action(const ami_msg *m, void *ctx)
{
	int fd = *(int *)ctx;
	if (m->kind != AMI_MSG_ACTION)
		return;
	const char *a = ami_type(m), *id = ami_get0(m, "ActionID");
	pd_buf b = {0};
	if (!strcmp(a, "Login")) {
		pd_buf_printf(
		    &b,
		    "Response: Success\r\nActionID: %s\r\nMessage: Authentication accepted\r\n\r\n",
		    id);
	} else if (!strcmp(a, "VoicemailUsersList")) {
		pd_buf_printf(
		    &b,
		    "Response: Error\r\nActionID: %s\r\nMessage: Invalid/unknown command: "
		    "VoicemailUsersList. Use Action: ListCommands to show available "
		    "commands.\r\n\r\n",
		    id);
	} else {
		const char *ev = !strcmp(a, "PJSIPShowEndpoints") ? "EndpointListComplete"
		                 : !strcmp(a, "QueueStatus")      ? "QueueStatusComplete"
		                                                  : "CoreShowChannelsComplete";
		pd_buf_printf(
		    &b,
		    "Response: Success\r\nActionID: %s\r\nEventList: start\r\nMessage: x\r\n\r\n"
		    "Event: %s\r\nActionID: %s\r\nEventList: Complete\r\nListItems: 0\r\n\r\n",
		    id, ev, id);
	}
	send_all(fd, b.s, b.len);
	pd_buf_free(&b);
}

static void *replay_main(void *arg)
{
	replay_srv *r = arg;
	int fd = accept(r->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	send_all(fd, "Asterisk Call Manager/11.0.0\r\n", 30);
	ami_parser *p = ami_parser_new(NULL, on_client_action, &fd);
	char buf[4096];
	/* the recording starts after its own login reply */
	const char *body = strstr(r->data, "Message: Authentication accepted\r\n\r\n");
	body += strlen("Message: Authentication accepted\r\n\r\n");
	bool sent = false;
	while (!sent) {
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		if (n <= 0)
			break;
		ami_parser_feed(p, buf, (size_t)n);
		if (memmem(buf, (size_t)n, "CoreShowChannels", 16)) {
			send_all(fd, body, r->len - (size_t)(body - r->data));
			sent = true;
		}
	}
	ami_parser_free(p);
	while (recv(fd, buf, sizeof buf, 0) > 0) /* pings until the client leaves */
		;
	close(fd);
	return NULL;
}

/* apart: the link reads on a thread of its own from its first byte
 * (pd_tport_set_reader), as a busy PBX's does, else always in the driver's
 * turn (by default the recording, 1.2 MB at once, makes the link busy):
 * the same outcome. */
static void recorded_session(bool apart)
{
	pd_tport_set_reader(apart ? 0 : -1, -1);
	char path[1024];
	snprintf(path, sizeof path, "%s/asterisk/ami-session-1.txt", getenv("PROVDESK_FIXTURES"));
	FILE *f = fopen(path, "rb");
	cr_assert(f);
	replay_srv r = {0};
	fseek(f, 0, SEEK_END);
	r.len = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	r.data = malloc(r.len + 1);
	cr_assert(fread(r.data, 1, r.len, f) == r.len);
	r.data[r.len] = 0;
	fclose(f);
	r.lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	cr_assert_eq(bind(r.lfd, (struct sockaddr *)&a, sizeof a), 0);
	listen(r.lfd, 1);
	socklen_t len = sizeof a;
	getsockname(r.lfd, (struct sockaddr *)&a, &len);
	pthread_t t;
	pthread_create(&t, NULL, replay_main, &r);
	harness h;
	h_start(&h, "127.0.0.1", ntohs(a.sin_port), "console", SECRET, "{\"wrapup_time\": 5}");
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 5000);
	cr_assert_eq(pd_tport_readers(), apart ? 1 : 0);
	/* the recording ends with every phone unregistered and 1013/1014 removed */
	WAIT_FOR(&h,
	         agent_in_state(&h, "PJSIP/1014", PD_AGENT_LOGGED_OFF, NULL) &&
	             agent_in_state(&h, "PJSIP/1002", PD_AGENT_OFFLINE, NULL),
	         5000);
	cr_assert(agent_in_state(&h, "PJSIP/1013", PD_AGENT_LOGGED_OFF, NULL));
	cr_assert(agent_in_state(&h, "PJSIP/1008", PD_AGENT_OFFLINE, NULL));
	/* calls all ended; after the linger time none is listed */
	cr_assert(!call_in_state(&h, PD_CALL_CONNECTED, false));
	cr_assert(!call_in_state(&h, PD_CALL_QUEUED, false));
	WAIT_FOR(&h, n_calls(&h) == 0, 8000);
	pd_live_view v = snap(&h);
	cr_assert_eq(v.n_users, 20);
	pd_live_free_view(&v);
	h_stop(&h);
	cr_assert_eq(pd_tport_readers(), 0, "the reader ends with the link");
	pthread_join(t, NULL);
	close(r.lfd);
	free(r.data);
}

Test(driver_lab, recorded_session_over_tcp)
{
	recorded_session(false);
}

Test(driver_lab, recorded_session_read_apart)
{
	recorded_session(true);
}

/* ---- the lab sends a session the event classes it logged in for ---- */

typedef struct {
	int fd;
	ami_parser *p;
	pd_buf events; /* "|Newchannel|QueueCallerJoin|…|" */
	bool logged_in, ponged;
} raw_ami;

static void raw_on_msg(const ami_msg *m, void *ctx)
{
	raw_ami *r = ctx;
	if (m->kind == AMI_MSG_EVENT) {
		pd_buf_printf(&r->events, "%s|", ami_type(m));
	} else if (m->kind == AMI_MSG_RESPONSE) {
		r->logged_in |= ami_is(m, "Message", "Authentication accepted");
		r->ponged |= ami_is(m, "Ping", "Pong");
	}
}

static void raw_login(raw_ami *r, int port, const char *events)
{
	*r = (raw_ami){.fd = socket(AF_INET, SOCK_STREAM, 0)};
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_port = htons((uint16_t)port),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	cr_assert_eq(connect(r->fd, (struct sockaddr *)&a, sizeof a), 0);
	r->p = ami_parser_new(&(ami_parser_opts){.expect_banner = true}, raw_on_msg, r);
	pd_buf_add(&r->events, "|");
	pd_buf b = {0};
	pd_buf_printf(&b, "Action: Login\r\nUsername: admin\r\nSecret: %s\r\n", SECRET);
	if (events)
		pd_buf_printf(&b, "Events: %s\r\n", events);
	pd_buf_add(&b, "\r\n");
	send_all(r->fd, b.s, b.len);
	pd_buf_free(&b);
}

/* Reads what has come on every session, for up to ms. */
static void raw_read(raw_ami *r, int n, int ms)
{
	struct pollfd pf[8];
	for (int i = 0; i < n; i++)
		pf[i] = (struct pollfd){.fd = r[i].fd, .events = POLLIN};
	if (poll(pf, (nfds_t)n, ms) <= 0)
		return;
	for (int i = 0; i < n; i++) {
		char buf[8192];
		ssize_t got = pf[i].revents ? recv(r[i].fd, buf, sizeof buf, MSG_DONTWAIT) : 0;
		if (got > 0)
			ami_parser_feed(r[i].p, buf, (size_t)got);
	}
}

#define RAW_UNTIL(r, n, cond, ms)                                                                  \
	TL_UNTIL(cond, ms, raw_read((r), (n), 50), "timed out waiting for " #cond)

static bool got(const raw_ami *r, const char *ev)
{
	char w[64];
	snprintf(w, sizeof w, "|%s|", ev);
	return strstr(r->events.s, w) != NULL;
}

/* As Asterisk: Events "on" (and no Events header) gets every class, FullyBooted
 * (system) at once; a list of classes or a number (the classes' bits) gets
 * those (an unknown word is no class); "off" none. The driver logs in for AMI_LOGIN_EVENTS. */
Test(driver_lab, lab_sends_the_event_classes_logged_in_for)
{
	pd_labpbx *l = lab_up(4, SECRET);
	/* "34": Asterisk's bits for call (2) and agent (32) */
	const char *events[] = {"on", NULL, "call,bogus", "agent", "off", AMI_LOGIN_EVENTS, "34"};
	enum { N = sizeof events / sizeof *events };
	raw_ami r[N];
	for (int i = 0; i < N; i++)
		raw_login(&r[i], labpbx_port(l), events[i]);
	RAW_UNTIL(r, N,
	          r[0].logged_in && r[1].logged_in && r[2].logged_in && r[3].logged_in &&
	              r[4].logged_in && r[5].logged_in && r[6].logged_in,
	          5000);
	labpbx_place_call(l, 0);
	RAW_UNTIL(r, N, got(&r[0], "QueueCallerJoin") && got(&r[0], "Newchannel"), 5000);
	/* the lab answers in order: a session's Pong comes after every event
	 * broadcast before it */
	for (int i = 0; i < N; i++)
		send_all(r[i].fd, "Action: Ping\r\n\r\n", 16);
	RAW_UNTIL(r, N,
	          r[0].ponged && r[1].ponged && r[2].ponged && r[3].ponged && r[4].ponged &&
	              r[5].ponged && r[6].ponged,
	          5000);
	for (int i = 0; i < 2; i++) {
		cr_assert(got(&r[i], "FullyBooted"), "%d: %s", i, r[i].events.s);
		cr_assert(got(&r[i], "Newchannel") && got(&r[i], "QueueCallerJoin"), "%d: %s", i,
		          r[i].events.s);
	}
	cr_assert(got(&r[2], "Newchannel"), "%s", r[2].events.s);
	cr_assert_not(got(&r[2], "QueueCallerJoin") || got(&r[2], "FullyBooted"), "%s",
	              r[2].events.s);
	cr_assert(got(&r[3], "QueueCallerJoin"), "%s", r[3].events.s);
	cr_assert_not(got(&r[3], "Newchannel") || got(&r[3], "FullyBooted"), "%s", r[3].events.s);
	cr_assert_str_eq(r[4].events.s, "|");
	for (int i = 5; i < 7; i++) {
		cr_assert(got(&r[i], "Newchannel") && got(&r[i], "QueueCallerJoin"), "%d: %s", i,
		          r[i].events.s);
		cr_assert_not(got(&r[i], "FullyBooted"), "%d: %s", i, r[i].events.s);
	}
	for (int i = 0; i < N; i++) {
		close(r[i].fd);
		ami_parser_free(r[i].p);
		pd_buf_free(&r[i].events);
	}
	labpbx_stop(l);
}

/* ---- AMI over TLS: a self-signed certificate made by `openssl req` ---- */

/* cert.pem/key.pem in a temp dir, for subjectAltName san (e.g. "IP:127.0.0.1"). */
static void make_cert(const char *name, const char *san)
{
	if (!tls_dir[0]) {
		snprintf(tls_dir, sizeof tls_dir, "/tmp/pd-tls-XXXXXX");
		cr_assert_not_null(mkdtemp(tls_dir));
	}
	char cmd[1024];
	snprintf(cmd, sizeof cmd,
	         "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
	         "-days 2 -subj /CN=provdesk-lab -addext subjectAltName=%s -keyout %s/%s.key "
	         "-out %s/%s.pem 2>%s/openssl.err",
	         san, tls_dir, name, tls_dir, name, tls_dir);
	cr_assert_eq(system(cmd), 0, "openssl req failed: %s", cmd);
}

static void tls_cleanup(void)
{
	if (!tls_dir[0])
		return;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", tls_dir);
	cr_assert_eq(system(cmd), 0);
}

static size_t calls_now(harness *h)
{
	pd_live_view v = snap(h);
	size_t n = v.n_calls;
	pd_live_free_view(&v);
	return n;
}

static pd_labpbx *lab_up_tls(const char *name)
{
	char cert[128], key[128];
	snprintf(cert, sizeof cert, "%s/%s.pem", tls_dir, name);
	snprintf(key, sizeof key, "%s/%s.key", tls_dir, name);
	pd_labpbx_opts o = {.users = 20,
	                    .queues = 2,
	                    .secret = SECRET,
	                    .username = "admin",
	                    .ring_ms = 300,
	                    .talk_ms = 600,
	                    .wrapup_s = 1,
	                    .hold_pct = -1,
	                    .tls_cert = cert,
	                    .tls_key = key};
	pd_labpbx *l;
	pd_err e = {0};
	cr_assert_eq(labpbx_start(&o, &l, &e), PD_OK, "%s", e.message);
	return l;
}

/* Discovery, a call and keep-alive pings over TLS, the certificate checked
 * against a private CA file (the lab's own certificate) and its IP address. */
Test(driver_lab, tls_discovery_with_private_ca)
{
	make_cert("lab", "IP:127.0.0.1");
	pd_labpbx *lab = lab_up_tls("lab");
	char params[256];
	snprintf(params, sizeof params, "{\"tls_ca_file\": \"%s/lab.pem\"}", tls_dir);
	h_tls = true;
	harness h;
	h_start(&h, "127.0.0.1", labpbx_port(lab), "admin", SECRET, params);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 5000);
	cr_assert_eq(h.last_nusers, 20);
	cr_assert_str_eq(h_user(&h, "1008")->display_name, "Hélène Dubois");
	labpbx_place_call(lab, 0);
	WAIT_FOR(&h, calls_now(&h) == 1, 5000);
	int64_t until = pd_live_now_ms() + 2500; /* ping interval 1 s: pongs come back */
	while (pd_live_now_ms() < until)
		h_step(&h, 50);
	cr_assert_eq(link_of(&h), PD_LINK_MONITORING);
	cr_assert_eq(labpbx_logins(lab), 1);
	h_stop(&h);
	labpbx_stop(lab);
	tls_cleanup();
}

/* A self-signed lab with tls_verify off in the connection's params: as the
 * core stores it (false) and as a person or the wizard may have typed it
 * ("false", "0", "no"), all honoured; "true" as a string still verifies. */
Test(driver_lab, tls_verify_off_for_self_signed_lab)
{
	make_cert("lab", "DNS:pbx.lab.invalid");
	pd_labpbx *lab = lab_up_tls("lab");
	h_tls = true;
	static const char *const off[] = {"{\"tls_verify\": false}", "{\"tls_verify\": \"false\"}",
	                                  "{\"tls_verify\":\"0\"}", "{\"tls_verify\":\" No \"}"};
	int64_t logins = 0;
	for (size_t i = 0; i < sizeof off / sizeof *off; i++) {
		harness h;
		h_start(&h, "127.0.0.1", labpbx_port(lab), "admin", SECRET, off[i]);
		WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 5000);
		cr_assert_eq(h.last_nusers, 20, "%s", off[i]);
		cr_assert_gt(labpbx_logins(lab), logins, "%s: no login", off[i]);
		logins = labpbx_logins(lab);
		h_stop(&h);
	}
	harness h;
	h_start(&h, "127.0.0.1", labpbx_port(lab), "admin", SECRET, "{\"tls_verify\": \"true\"}");
	WAIT_FOR(&h, link_of(&h) == PD_LINK_RETRYING, 5000);
	pd_live_view v = snap(&h);
	cr_assert(strstr(v.status, "certificate verify failed"), "%s", v.status);
	pd_live_free_view(&v);
	cr_assert_eq(labpbx_logins(lab), logins, "\"true\" must verify (and refuse)");
	h_stop(&h);
	labpbx_stop(lab);
	tls_cleanup();
}

/* A stored value that is no boolean / no number in range is refused naming
 * the field, not guessed: nothing connects. */
Test(driver_lab, bad_stored_params_refused)
{
	static const struct {
		const char *params, *field, *words;
	} bad[] = {
	    {"{\"tls_verify\": \"maybe\"}", "tls_verify", "'maybe'"},
	    {"{\"wrapup_time\": \"5s\"}", "wrapup_time", "whole number"},
	    {"{\"wrapup_time\": 7200}", "wrapup_time", "0 to 3600"},
	    {"{\"tls_ca_file\": 5}", "tls_ca_file", "string"},
	    {"{\"tls_verify\": ", "params", "JSON"},
	};
	const pd_driver_ops *ops = pd_driver_find("asterisk-ami");
	pd_live *live = pd_live_new();
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		pd_drv_conf c = {.customer_id = 7,
		                 .host = "127.0.0.1",
		                 .port = 1,
		                 .tls = true,
		                 .username = "admin",
		                 .secret = SECRET,
		                 .params_json = bad[i].params,
		                 .sync_users = true,
		                 .monitor = true};
		pd_drv_host hh = {.live = live};
		pd_err e = {0};
		void *drv = NULL;
		cr_assert_neq(ops->create(&c, &hh, &drv, &e), PD_OK, "accepted %s", bad[i].params);
		cr_assert_null(drv);
		cr_assert_str_eq(e.field, bad[i].field, "%s: %s", bad[i].params, e.message);
		cr_assert(strstr(e.message, bad[i].words), "%s: %s", bad[i].params, e.message);
	}
	pd_live_free(live);
}

/* wrapup_time typed as a string ("2") is the agents' wrap-up when the queue
 * reports none (the lab's queues say Wrapuptime 0 with wrapup_s < 0). */
Test(driver_lab, wrapup_time_string_honoured)
{
	pd_labpbx_opts o = {.users = 2,
	                    .queues = 1,
	                    .secret = SECRET,
	                    .username = "admin",
	                    .ring_ms = 200,
	                    .talk_ms = 500,
	                    .wrapup_s = -1,
	                    .hold_pct = -1};
	pd_labpbx *lab;
	pd_err e = {0};
	cr_assert_eq(labpbx_start(&o, &lab, &e), PD_OK, "%s", e.message);
	harness h;
	h_start(&h, "127.0.0.1", labpbx_port(lab), "admin", SECRET, "{\"wrapup_time\": \"2\"}");
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 5000);
	labpbx_place_call(lab, 0);
	WAIT_FOR(&h, any_agent(&h, PD_AGENT_ON_CALL), 5000);
	WAIT_FOR(&h, any_agent(&h, PD_AGENT_WRAPUP), 5000);
	int64_t from = pd_live_now_ms();
	WAIT_FOR(&h, !any_agent(&h, PD_AGENT_WRAPUP), 5000);
	int64_t took = pd_live_now_ms() - from;
	cr_assert(took > 1000 && took < 3500, "wrap-up lasted %lld ms, wanted about 2 s",
	          (long long)took);
	h_stop(&h);
	labpbx_stop(lab);
}

/* Verification on (the default): a self-signed certificate, then one for
 * another address, are refused with a clear status and retried. */
Test(driver_lab, tls_wrong_certificate_refused)
{
	make_cert("lab", "IP:127.0.0.1");
	make_cert("other", "IP:127.0.0.2");
	pd_labpbx *lab = lab_up_tls("lab");
	h_tls = true;
	harness h;
	h_start(&h, "127.0.0.1", labpbx_port(lab), "admin", SECRET, NULL);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_RETRYING, 5000);
	pd_live_view v = snap(&h);
	cr_assert(strstr(v.status, "TLS: certificate verify failed (self-signed certificate)"),
	          "%s", v.status);
	pd_live_free_view(&v);
	cr_assert_eq(labpbx_logins(lab), 0);
	h_stop(&h);
	labpbx_stop(lab);

	lab = lab_up_tls("other");
	char params[256];
	snprintf(params, sizeof params, "{\"tls_ca_file\": \"%s/other.pem\"}", tls_dir);
	h_start(&h, "127.0.0.1", labpbx_port(lab), "admin", SECRET, params);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_RETRYING, 5000);
	v = snap(&h);
	cr_assert(strstr(v.status, "TLS: certificate verify failed (IP address mismatch)"), "%s",
	          v.status);
	pd_live_free_view(&v);
	h_stop(&h);
	labpbx_stop(lab);
	tls_cleanup();
}

/* TLS to a plain AMI port fails the handshake (and says so); a bad CA path is named. */
Test(driver_lab, tls_to_plain_port_and_bad_ca_file)
{
	pd_labpbx *lab = lab_up(5, SECRET); /* plain: h_tls is still false */
	h_tls = true;
	harness h;
	h_start(&h, "127.0.0.1", labpbx_port(lab), "admin", SECRET, "{\"tls_verify\": false}");
	WAIT_FOR(&h, link_of(&h) == PD_LINK_RETRYING, 5000);
	pd_live_view v = snap(&h);
	cr_assert(strstr(v.status, "TLS handshake failed"), "%s", v.status);
	cr_assert_null(strstr(v.status, "certificate"), "%s", v.status);
	pd_live_free_view(&v);
	h_stop(&h);
	h_start(&h, "127.0.0.1", labpbx_port(lab), "admin", SECRET,
	        "{\"tls_ca_file\": \"/nonexistent/ca.pem\"}");
	WAIT_FOR(&h, link_of(&h) == PD_LINK_RETRYING, 5000);
	v = snap(&h);
	cr_assert(strstr(v.status, "TLS: cannot read the CA file /nonexistent/ca.pem"), "%s",
	          v.status);
	pd_live_free_view(&v);
	h_stop(&h);
	labpbx_stop(lab);
}

Test(driver_lab, lab_tls_options_checked)
{
	pd_labpbx *l = NULL;
	pd_err e = {0};
	pd_labpbx_opts o = {.tls_cert = "/nonexistent/cert.pem"};
	cr_assert_neq(labpbx_start(&o, &l, &e), PD_OK);
	cr_assert_str_eq(e.field, "tls_key"); /* the missing one */
	cr_assert(strstr(e.message, "both a certificate and a key"), "%s", e.message);
	o = (pd_labpbx_opts){.tls_cert = "/nonexistent/cert.pem",
	                     .tls_key = "/nonexistent/key.pem"};
	cr_assert_neq(labpbx_start(&o, &l, &e), PD_OK);
	cr_assert_str_eq(e.field, "tls_cert");
	cr_assert(strstr(e.message, "/nonexistent/cert.pem"), "%s", e.message);
	make_cert("lab", "IP:127.0.0.1");
	char cert[128];
	snprintf(cert, sizeof cert, "%s/lab.pem", tls_dir);
	o = (pd_labpbx_opts){.tls_cert = cert, .tls_key = "/nonexistent/key.pem"};
	cr_assert_neq(labpbx_start(&o, &l, &e), PD_OK);
	cr_assert_str_eq(e.field, "tls_key");
	cr_assert(strstr(e.message, "/nonexistent/key.pem"), "%s", e.message);
	tls_cleanup();
}

/* The faults that break the link, and byte-by-byte writes, over TLS: the
 * handshake is redone on every redial and 1-byte TLS records are reassembled. */
static void tls_fault(unsigned fault, bool breaks)
{
	make_cert("lab", "IP:127.0.0.1");
	h_tls = true;
	fault_recovers(fault, breaks);
	tls_cleanup();
}

Test(driver_lab, tls_fault_drop)
{
	tls_fault(PD_LAB_FAULT_DROP, true);
}

Test(driver_lab, tls_fault_half_open)
{
	tls_fault(PD_LAB_FAULT_HALF_OPEN, true);
}

Test(driver_lab, tls_fault_restart)
{
	tls_fault(PD_LAB_FAULT_RESTART, true);
}

Test(driver_lab, tls_fault_bytewise)
{
	tls_fault(PD_LAB_FAULT_BYTEWISE, false);
}

Test(driver_lab, tls_fault_slow)
{
	tls_fault(PD_LAB_FAULT_SLOW, false);
}

/* ---- a PBX is untrusted input (the lab's hostile faults, over TCP) ---- */

/* Control bytes in header fields cost those fields (repaired or dropped,
 * counted), never the link: it dropped the whole link before. */
Test(driver_lab, hostile_ctrl_keeps_the_link)
{
	pd_labpbx *lab = lab_up(4, SECRET);
	harness h;
	h_start(&h, "127.0.0.1", labpbx_port(lab), "admin", SECRET, NULL);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 5000);
	int64_t logins = labpbx_logins(lab);
	labpbx_inject(lab, PD_LAB_FAULT_CTRL);
	char name[128] = "";
	WAIT_FOR(&h, call_named(&h, "il", name, sizeof name), 5000);
	cr_assert_not(has_ctrl(name), "control bytes reached the view: %s", name);
	cr_assert_str_eq(name, "Ev?[2Jil?]0;owned?");
	WAIT_FOR(&h, input_of(&h).bad_fields >= 4, 5000);
	cr_assert_eq(link_of(&h), PD_LINK_MONITORING);
	cr_assert_eq(labpbx_logins(lab), logins, "the link was dropped");
	pd_live_view v = snap(&h);
	cr_assert(strstr(v.status, "monitoring (4 fields with control bytes repaired)"), "%s",
	          v.status);
	pd_live_free_view(&v);
	/* and calls are still followed */
	labpbx_place_call(lab, 0);
	WAIT_FOR(&h,
	         call_in_state(&h, PD_CALL_CONNECTED, true) ||
	             call_in_state(&h, PD_CALL_ENDED, true),
	         10000);
	cr_assert_eq(labpbx_logins(lab), logins);
	h_stop(&h);
	labpbx_stop(lab);
}

/* A caller name with a bidi override, a C1 CSI and ESC reaches the view
 * with '?' in their place. */
Test(driver_lab, hostile_bidi_names_neutralised)
{
	pd_labpbx *lab = lab_up(4, SECRET);
	harness h;
	h_start(&h, "127.0.0.1", labpbx_port(lab), "admin", SECRET, NULL);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 5000);
	labpbx_inject(lab, PD_LAB_FAULT_BIDI);
	char name[128] = "";
	WAIT_FOR(&h, call_named(&h, "Bidi", name, sizeof name), 5000);
	cr_assert_str_eq(name, "?gro.live?31m ?[5mBidi");
	cr_assert_eq(link_of(&h), PD_LINK_MONITORING);
	h_stop(&h);
	labpbx_stop(lab);
}

/* One 16 MB event (it fitted under the old 16 MB cap and the console kept
 * 27 MB for good): past 1 MiB it is a protocol error, the link is dialled
 * again and monitoring resumes. */
Test(driver_lab, hostile_huge_message_reconnects)
{
	pd_labpbx *lab = lab_up(4, SECRET);
	harness h;
	h_start(&h, "127.0.0.1", labpbx_port(lab), "admin", SECRET, NULL);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 5000);
	int64_t logins = labpbx_logins(lab);
	labpbx_inject(lab, PD_LAB_FAULT_HUGE);
	WAIT_FOR(&h, link_of(&h) != PD_LINK_MONITORING, 5000);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 10000);
	cr_assert_gt(labpbx_logins(lab), logins);
	cr_assert(strstr(h.texts.s, "message larger than 1048576 bytes"), "%s", h.texts.s);
	h_stop(&h);
	labpbx_stop(lab);
}

/* A username or secret with a line break (a row the core would refuse)
 * is never sent: no Login at all, and no retries until edited. */
Test(driver_lab, line_break_in_credentials_not_sent)
{
	pd_labpbx *lab = lab_up(2, SECRET);
	harness h;
	h_start(&h, "127.0.0.1", labpbx_port(lab), "admin\r\nAction: Originate", SECRET, NULL);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_AUTH_FAILED, 5000);
	pd_live_view v = snap(&h);
	cr_assert(strstr(v.last_error, "username contains a line break"), "%s", v.last_error);
	pd_live_free_view(&v);
	h_stop(&h);
	h_start(&h, "127.0.0.1", labpbx_port(lab), "admin", SECRET "\nAction: Logoff", NULL);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_AUTH_FAILED, 5000);
	v = snap(&h);
	cr_assert(strstr(v.last_error, "secret contains a line break"), "%s", v.last_error);
	pd_live_free_view(&v);
	cr_assert_eq(labpbx_logins(lab), 0);
	h_stop(&h);
	labpbx_stop(lab);
}

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long size = 0, res = 0;
	if (f) {
		if (fscanf(f, "%ld %ld", &size, &res) != 2)
			res = 0;
		fclose(f);
	}
	return res * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Newchannel events without hangups at full speed for PD_FLOOD_SECONDS
 * (default 15): the model stays at its caps, the link stays up, what was
 * dropped is counted and said, and memory stays flat (it held 33,000 calls
 * and +21 MB after 54 s before). */
Test(driver_lab, hostile_flood_memory_flat, .timeout = 120)
{
	const char *fs = getenv("PD_FLOOD_SECONDS");
	int secs = fs && atoi(fs) > 0 ? atoi(fs) : 15;
	h_max_calls = 500;
	h_max_channels = 800;
	h_fault_ms = (secs + 5) * 1000;
	pd_labpbx *lab = lab_up(4, SECRET);
	harness h;
	h_start(&h, "127.0.0.1", labpbx_port(lab), "admin", SECRET, NULL);
	WAIT_FOR(&h, link_of(&h) == PD_LINK_MONITORING, 5000);
	int64_t logins = labpbx_logins(lab);
	labpbx_inject(lab, PD_LAB_FAULT_FLOOD);
	WAIT_FOR(&h, input_of(&h).dropped_calls > 0, 5000);
	int64_t start = pd_live_now_ms(), end = start + secs * 1000, next = start + 1000;
	long base = 0, top = 0;
	uint64_t dropped_at_warm = 0;
	while (pd_live_now_ms() < end) {
		h_step(&h, 20);
		if (pd_live_now_ms() < next)
			continue;
		next += 1000;
		pd_live_input in = input_of(&h);
		cr_assert_leq(in.calls, 500);
		cr_assert_leq(in.channels, 800);
		cr_assert_eq(link_of(&h), PD_LINK_MONITORING, "%s", h.texts.s);
		long r = rss_kb();
		if (pd_live_now_ms() - start < 3000) { /* warm-up: the caps fill */
			base = r;
			dropped_at_warm = in.dropped_calls;
			continue;
		}
		if (r > top)
			top = r;
	}
	pd_live_input in = input_of(&h);
	cr_assert_gt(in.dropped_calls, dropped_at_warm, "the flood stopped being dropped");
	cr_assert_eq(labpbx_logins(lab), logins, "the link was dropped");
	cr_assert_gt(in.stale_channels, 0, "no re-snapshot at the cap");
	/* ASan keeps freed memory in quarantine and valgrind counts its own
	 * (both make tl_slow() > 1): there the caps above are the bound, RSS
	 * says nothing */
	bool sanitized = tl_slow() > 1;
	if (!sanitized)
		cr_assert_lt(top - base, 8 * 1024, "RSS grew from %ld to %ld kB", base, top);
	pd_live_view v = snap(&h);
	cr_assert(strstr(v.status, "monitoring (input capped: "), "%s", v.status);
	cr_assert(strstr(v.status, "max_calls_per_link 500"), "%s", v.status);
	pd_live_free_view(&v);
	cr_log_info("flood %ds: %llu calls and %llu channels dropped, RSS %ld -> %ld kB", secs,
	            (unsigned long long)in.dropped_calls, (unsigned long long)in.dropped_channels,
	            base, top);
	h_stop(&h);
	labpbx_stop(lab);
}

/* A server that is not an Asterisk manager (here an SSH banner): the link is
 * a protocol error, not a plain retry, and is still redialled with backoff. */
static const char *foreign_banner = "SSH-2.0-OpenSSH_9.6\r\n";

static void foreign_server_step(int lfd, int *cfd, int *accepted)
{
	int c = accept(lfd, NULL, NULL);
	if (c < 0)
		return;
	(*accepted)++;
	ssize_t w = write(c, foreign_banner, strlen(foreign_banner));
	(void)w;
	if (*cfd >= 0)
		close(*cfd);
	*cfd = c;
}

/* A listener serving foreign_banner, the driver started on it and run
 * until the link is a protocol error; returns the listener. */
static int foreign_until_protocol_error(harness *h, int *cfd, int *accepted)
{
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	cr_assert_eq(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
	cr_assert_eq(listen(lfd, 4), 0);
	socklen_t len = sizeof a;
	getsockname(lfd, (struct sockaddr *)&a, &len);
	h_start(h, "127.0.0.1", ntohs(a.sin_port), "admin", SECRET, NULL);
	WAIT_FOR(h, (foreign_server_step(lfd, cfd, accepted), link_of(h) == PD_LINK_PROTOCOL_ERROR),
	         5000);
	return lfd;
}

Test(driver_lab, foreign_banner_is_a_protocol_error_redialled)
{
	int cfd = -1, accepted = 0;
	harness h;
	int lfd = foreign_until_protocol_error(&h, &cfd, &accepted);
	cr_assert(h.seen & (1u << PD_LINK_LOGGING_IN), "connected, then read the banner");
	cr_assert_eq(h.seen & (1u << PD_LINK_RETRYING), 0, "shown apart from a plain retry");
	pd_live_view v = snap(&h);
	cr_assert_eq(v.link, PD_LINK_PROTOCOL_ERROR);
	cr_assert(strstr(v.last_error, "not an Asterisk manager interface"), "%s", v.last_error);
	cr_assert(v.retry_at_ms > 0, "a retry is scheduled");
	cr_assert(strstr(v.status, "protocol error, retrying in "), "%s", v.status);
	pd_live_free_view(&v);
	/* redialled with backoff: a second connection comes */
	WAIT_FOR(&h, (foreign_server_step(lfd, &cfd, &accepted), accepted >= 2), 5000);
	if (cfd >= 0)
		close(cfd);
	close(lfd);
	h_stop(&h);
}

/* The PBX's own words in a link error (here a banner of invalid UTF-8 and
 * a right-to-left override) are stored clean: valid UTF-8 that a console,
 * the serve protocol's JSON and `pbx status --json` all carry, each unsafe
 * byte as a visible escape. */
Test(driver_lab, a_foreign_banners_bytes_are_stored_escaped)
{
	foreign_banner = "Caf\xe9 \xe2\x80\xae evil\r\n";
	int cfd = -1, accepted = 0;
	harness h;
	int lfd = foreign_until_protocol_error(&h, &cfd, &accepted);
	pd_live_view v = snap(&h);
	cr_assert(pd_utf8_valid(v.last_error, strlen(v.last_error)), "%s", v.last_error);
	cr_assert(strstr(v.last_error, "Caf\\xe9 \\u202e evil"), "%s", v.last_error);
	cr_assert(pd_utf8_valid(v.status, strlen(v.status)), "%s", v.status);
	pd_live_free_view(&v);
	if (cfd >= 0)
		close(cfd);
	close(lfd);
	h_stop(&h);
}

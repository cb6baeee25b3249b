/* FreeSWITCH event-socket driver (mod_event_socket, inbound; platform key
 * "freeswitch-esl"): a non-blocking state machine per connection, on the
 * shared transport (include/provdesk/pbx_transport.h).
 *   transport (resolve, TCP, [TLS]) -> auth/request -> "auth PASSWORD" ->
 *   +OK accepted (-ERR: authentication failed, no retries until resync/edit)
 *   -> "event plain <core events> CUSTOM <subclasses>" -> discovery, one api
 *   command at a time: list_users, "user_data U@D param email" per user
 *   (when users are synced), show registrations as json -> sync users ->
 *   callcenter_config agent list / tier list -> show channels as json,
 *   show calls as json (the snapshot) -> monitoring.
 * While monitoring, events go to esl_model; FreeSWITCH's HEARTBEAT is the
 * keep-alive, and an "api status" goes out only when none came for
 * ping_interval (and a quarter): when neither its answer nor a HEARTBEAT
 * comes before the next is due, the link is dead. EOF, a disconnect notice, a timeout or lost
 * framing drop the link; it redials with the transport's capped backoff with jitter, and every new
 * link takes the snapshot again. The model's view is published to pd_live
 * at most every PD_DRV_PUBLISH_MS. The password is sent only in the auth command
 * and never appears in a status text. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esl_model.h"
#include "provdesk/catalogue.h"
#include "provdesk/config.h"
#include "provdesk/esl.h"
#include "provdesk/i18n.h"
#include "provdesk/pbx_driver.h"
#include "provdesk/pbx_transport.h"
#include "provdesk/util.h"

/* Core events before CUSTOM: every word after CUSTOM is a subclass
 * (tests/fixtures/freeswitch/README.md, "Subscriptions"). */
#define ESL_EVENTS                                                                                 \
	"CHANNEL_CREATE CHANNEL_ANSWER CHANNEL_BRIDGE CHANNEL_UNBRIDGE CHANNEL_HOLD "              \
	"CHANNEL_UNHOLD CHANNEL_HANGUP_COMPLETE HEARTBEAT BACKGROUND_JOB CUSTOM "                  \
	"callcenter::info sofia::register sofia::unregister"

#define STEP_TIMEOUT_MS 15000
#define CMD_QUEUE_MAX 100000 /* api commands waiting (one email per user) */
/* The users' email commands (user_data ... param email) go up to
 * EMAIL_WINDOW at a time: FreeSWITCH's event socket reads a connection's
 * commands one after another and answers each api command before it reads
 * the next, so the replies come in the order sent, and a PBX far away
 * costs a round trip per window instead of one per user. Every other
 * command goes alone: its reply may queue the next ones before what was
 * queued (list_users queues the emails). */
#define EMAIL_WINDOW 32
/* An api reply may list the whole directory (list_users, the registrations,
 * the agent and tier lists) or every channel, all in one message: it is
 * bounded by what the link may hold (FreeSWITCH 1.10 writes ≈ 90-260 bytes a
 * user a row, ≈ 1 KiB a channel), not by max_message_kb alone, which at
 * its default refused the agent list and registrations of 5,000 users.
 * Never less than max_message_kb, never more than API_MAX. */
#define API_BYTES_PER_USER 512
#define API_BYTES_PER_CHANNEL 1024
#define API_MAX (16u << 20)

enum dstate {
	D_WAIT,      /* waiting to retry (or auth failed) */
	D_OPENING,   /* the transport: resolve, connect, TLS */
	D_GREETING,  /* waiting for auth/request */
	D_AUTH,      /* auth sent */
	D_SUBSCRIBE, /* event plain sent */
	D_DISCOVER,  /* api commands of discovery and the snapshot */
	D_MONITORING
};

/* What an api reply is for. */
enum cmd_tag { C_DISCOVER, C_SYNC, C_SNAPSHOT, C_PING, C_LAST };

typedef struct {
	char *cmd;
	enum cmd_tag tag;
} cmd;

typedef struct {
	/* conf, masked secret, host, the transport, the link state (its
	 * progress l.done/l.total counts the sync's commands), failures,
	 * publishing, retries (include/provdesk/pbx_driver.h) */
	pd_drv_link l;
	enum dstate st;
	esl_parser *p;
	esl_model *m;
	int64_t deadline;
	pd_keepalive ka;
	/* api commands: those sent, awaiting their api/response in order (a
	 * ring: ih the oldest, nin of them), and the queue */
	cmd inflight[EMAIL_WINDOW];
	size_t ih, nin;
	cmd *q;
	size_t qh, qn, qcap;
	bool syncing;  /* discovery of users ends with a sync */
	bool users_ok; /* list_users answered (else nothing is synced) */
} esl_drv;
PD_DRV_LINK_FIRST(esl_drv);

/* ---- helpers ---- */

static void view(void *p, int64_t now, pd_live_view *v)
{
	esl_model_view(((esl_drv *)p)->m, now, v);
}

static int64_t publish_gap(const esl_drv *d)
{
	esl_model_stats ms;
	esl_model_get_stats(d->m, &ms);
	return pd_drv_publish_gap(d->st == D_MONITORING, esl_model_user_count(d->m) + ms.calls);
}

static void publish(esl_drv *d)
{
	pd_drv_publish(&d->l, publish_gap(d));
}

static void warning_update(esl_drv *d);

/* The input counters (caps, repairs) and the warning while monitoring: at
 * most every PD_DRV_INPUT_MS while they change. */
static void input_check(esl_drv *d, bool force)
{
	esl_model_stats ms;
	esl_model_get_stats(d->m, &ms);
	pd_live_input in = pd_model_input(&ms, esl_parser_errors(d->p));
	if (pd_drv_link_input(&d->l, &in, force) == PD_DRV_INPUT_WORDS)
		warning_update(d);
}

/* The warning shown while monitoring: a sync that was not done, then what
 * the PBX's input cost. */
static void warning_update(esl_drv *d)
{
	pd_drv_link_warning(&d->l, d->st == D_MONITORING, N_("users, agents or queues"),
	                    N_("fields or messages refused or repaired"));
}

static void cmds_clear(esl_drv *d)
{
	for (size_t i = 0; i < d->qn; i++)
		free(d->q[(d->qh + i) % d->qcap].cmd);
	d->qh = d->qn = 0;
	for (size_t i = 0; i < d->nin; i++)
		free(d->inflight[(d->ih + i) % EMAIL_WINDOW].cmd);
	d->ih = d->nin = 0;
}

/* The link goes down (pd_drv_link_down): calls and agents are unknown
 * while it is; users stay. */
static void stop(void *p)
{
	esl_drv *d = p;
	pd_tport_close(d->l.t);
	cmds_clear(d);
	d->st = D_WAIT;
	esl_model_reset_live(d->m);
}

/* ---- api commands: one at a time, the emails in a window ---- */

/* Room for one more command (the ring grows); false at CMD_QUEUE_MAX. */
static bool cmd_room(esl_drv *d)
{
	if (d->qn >= CMD_QUEUE_MAX)
		return false; /* bounded by the model's caps long before */
	if (d->qn == d->qcap)
		d->q = pd_ring_grow(d->q, sizeof *d->q, &d->qh, d->qn, &d->qcap, 16);
	return true;
}

static void cmd_push(esl_drv *d, const char *c, enum cmd_tag tag)
{
	if (cmd_room(d))
		d->q[(d->qh + d->qn++) % d->qcap] = (cmd){xstrdup(c), tag};
}

/* Before everything queued: what a reply asks for next goes before what
 * was queued after the command it answers (push in reverse order). */
static void cmd_push_front(esl_drv *d, const char *c, enum cmd_tag tag)
{
	if (!cmd_room(d))
		return;
	d->qh = (d->qh + d->qcap - 1) % d->qcap;
	d->qn++;
	d->q[d->qh] = (cmd){xstrdup(c), tag};
}

static void api_reply(esl_drv *d, const char *body, size_t len);

static bool windowed(const cmd *c)
{
	return c->tag == C_SYNC && esl_api_kind_of(c->cmd) == ESL_API_USER_EMAIL;
}

/* The oldest command awaiting its reply, NULL when none. */
static const cmd *oldest(const esl_drv *d)
{
	return d->nin ? &d->inflight[d->ih] : NULL;
}

/* Send the queued commands the window allows: the next one when none is
 * awaiting its reply, more while they and those in flight are emails. */
static void cmd_next(esl_drv *d)
{
	while (d->qn) {
		const cmd *next = &d->q[d->qh];
		if (d->nin && (d->nin == EMAIL_WINDOW || !windowed(next) || !windowed(oldest(d))))
			return;
		pd_buf b = {0};
		pd_err e = {0};
		bool ok = esl_put_api(&b, next->cmd, &e) == PD_OK;
		if (!ok && d->nin) { /* its empty answer comes in its turn */
			pd_buf_free(&b);
			return;
		}
		cmd *c = &d->inflight[(d->ih + d->nin++) % EMAIL_WINDOW];
		*c = *next;
		d->qh = (d->qh + 1) % d->qcap;
		d->qn--;
		if (!ok) {
			/* a line break (values are cleaned, so none comes from the
			 * PBX): never sent, taken as answered with nothing so the
			 * step goes on */
			pd_buf_free(&b);
			api_reply(d, NULL, 0);
			return;
		}
		if (esl_api_kind_of(c->cmd) == ESL_API_CHANNELS_JSON)
			esl_model_snapshot_begin(d->m);
		pd_tport_send(d->l.t, b.s, b.len);
		pd_buf_free(&b);
		if (c->tag != C_PING)
			d->deadline = d->l.now + STEP_TIMEOUT_MS;
	}
}

static void push_users(esl_drv *d)
{
	d->syncing = true;
	d->users_ok = false;
	d->l.done = d->l.total = 0;
	cmd_push(d, "list_users", C_SYNC);
}

static void push_monitoring(esl_drv *d)
{
	if (d->l.c.monitor) {
		cmd_push(d, "callcenter_config agent list", C_DISCOVER);
		cmd_push(d, "callcenter_config tier list", C_DISCOVER);
	}
	cmd_push(d, "show channels as json", C_SNAPSHOT);
	cmd_push(d, "show calls as json", C_SNAPSHOT);
	cmd_push(d, "status", C_LAST); /* marks the end of discovery */
}

static void start_discovery(esl_drv *d)
{
	pd_keepalive_start(&d->ka, d->l.now,
	                   (int64_t)(d->l.c.ping_interval_s > 0 ? d->l.c.ping_interval_s
	                                                        : PD_PBX_PING_INTERVAL_DEFAULT) *
	                       1000);
	d->st = D_DISCOVER;
	push_users(d);
	push_monitoring(d);
	pd_drv_link_state(&d->l, PD_LINK_DISCOVERING);
	cmd_next(d);
}

static void do_sync(esl_drv *d)
{
	pd_synced_user *u;
	size_t n = esl_model_synced_users(d->m, &u);
	d->l.dirty = true;
	d->syncing = false;
	if (!d->l.c.sync_users || !d->l.h.sync_users)
		return;
	if (!d->users_ok) {
		/* an empty directory would remove every synced user: not synced */
		char why[200];
		pd_msg(why, sizeof why,
		       N_("users not synced: no usable list_users reply (max_message_kb?)"));
		pd_drv_link_note(&d->l, why);
		warning_update(d);
		return;
	}
	if (pd_drv_link_sync(&d->l, u, n, esl_model_users_refused(d->m)))
		warning_update(d);
}

/* The reply to the command in flight. */
static void api_reply(esl_drv *d, const char *body, size_t len)
{
	if (!d->nin)
		return; /* a reply nobody asked for: ignored */
	cmd c = d->inflight[d->ih];
	d->ih = (d->ih + 1) % EMAIL_WINDOW;
	d->nin--;
	if (c.tag == C_PING) {
		pd_keepalive_answered(&d->ka);
	} else {
		bool applied = esl_model_apply_api(d->m, c.cmd, body, len, d->l.now);
		if (applied)
			d->l.dirty = true;
		esl_api_kind k = esl_api_kind_of(c.cmd);
		if (k == ESL_API_LIST_USERS) {
			d->users_ok = applied;
			bool emails = d->l.c.sync_users && d->l.h.sync_users;
			size_t n = emails ? esl_model_user_count(d->m) : 0;
			/* the emails, then the registrations, before what was queued
			 * after list_users */
			cmd_push_front(d, "show registrations as json", C_SYNC);
			for (size_t i = n; i-- > 0;) {
				pd_buf b = {0};
				esl_model_email_command(esl_model_user_endpoint(d->m, i), &b);
				cmd_push_front(d, b.s, C_SYNC);
				pd_buf_free(&b);
			}
			d->l.total = (int)(n + 1) + 1;
			d->l.done = 1;
		} else if (k == ESL_API_CHANNELS_JSON && d->l.c.monitor) {
			/* each queue's members tie the calls found to their queues;
			 * before what was queued (the end of discovery): the calls
			 * are whole when monitoring starts */
			const char *qs[64];
			size_t nq = esl_model_queues(d->m, qs, 64);
			for (size_t i = nq; i-- > 0;) {
				pd_buf b = {0};
				pd_buf_printf(&b, "callcenter_config queue list members %s", qs[i]);
				cmd_push_front(d, b.s, C_SNAPSHOT);
				pd_buf_free(&b);
			}
		} else if (c.tag == C_SYNC) {
			d->l.done++;
			if (k == ESL_API_REGISTRATIONS_JSON && d->syncing)
				do_sync(d);
		}
		if (c.tag == C_SYNC && d->st == D_DISCOVER)
			pd_drv_link_state(&d->l, PD_LINK_DISCOVERING);
		if (c.tag == C_LAST && d->st == D_DISCOVER) {
			d->st = D_MONITORING;
			pd_backoff_reset(&d->l.bo);
			d->deadline = INT64_MAX;
			d->l.dirty = true;
			pd_drv_publish_now(&d->l);
			pd_drv_link_state(&d->l, PD_LINK_MONITORING);
		}
	}
	free(c.cmd);
	if (!d->nin && !d->qn && d->st == D_MONITORING)
		d->deadline = INT64_MAX;
	cmd_next(d);
}

/* ---- messages ---- */

static void on_msg(const esl_msg *m, void *ctx)
{
	esl_drv *d = ctx;
	if (d->l.fail || d->st == D_WAIT || d->st == D_OPENING)
		return;
	if (m->kind == ESL_MSG_ERROR) {
		if (d->st == D_GREETING) {
			/* the first bytes are not ESL (an AMI banner ends in CRLF):
			 * say so now rather than after the greeting's timeout */
			pd_drv_set_fail(&d->l, PD_LINK_PROTOCOL_ERROR,
			                N_("not a FreeSWITCH event socket (%.150s)"), m->text);
		} else if (m->fatal) {
			pd_drv_set_fail(&d->l, PD_LINK_PROTOCOL_ERROR, N_("protocol error: %.150s"),
			                m->text);
		} else if (!strcmp(m->content_type, "api/response"))
			api_reply(d, NULL,
			          0); /* the reply was refused (too large): the step goes on */
		return;
	}
	if (m->kind == ESL_MSG_DISCONNECT) {
		/* its text is the PBX's: not shown */
		pd_drv_set_fail(&d->l, PD_LINK_RETRYING,
		                N_("the PBX ended the event-socket session (disconnect notice)"));
		return;
	}
	switch (d->st) {
	case D_GREETING: {
		if (m->kind != ESL_MSG_AUTH_REQUEST) {
			pd_drv_set_fail(&d->l, PD_LINK_PROTOCOL_ERROR,
			                N_("not a FreeSWITCH event socket (no auth/request)"));
			return;
		}
		pd_buf b = {0};
		pd_err e = {0};
		pd_buf_reserve(&b, d->l.secret.len + 64);
		char *sec = pd_masked_reveal(&d->l.secret);
		pd_status ast = esl_put_auth(&b, sec, &e);
		pd_secret_free(sec);
		if (ast != PD_OK) {
			pd_buf_wipe_free(&b);
			pd_drv_set_fail(&d->l, PD_LINK_AUTH_FAILED,
			                N_("the event-socket password is empty or contains a line "
			                   "break: not sent (edit the connection)"));
			return;
		}
		pd_tport_send(d->l.t, b.s, b.len);
		pd_buf_wipe_free(&b);
		d->st = D_AUTH;
		d->deadline = d->l.now + STEP_TIMEOUT_MS;
		return;
	}
	case D_AUTH:
		if (m->kind != ESL_MSG_COMMAND_REPLY)
			return;
		if (!esl_reply_ok(m)) {
			pd_drv_set_fail(
			    &d->l, PD_LINK_AUTH_FAILED,
			    N_("authentication failed (check the event-socket password)"));
			return;
		}
		{
			pd_buf b = {0};
			pd_err e = {0};
			esl_put_event_plain(&b, ESL_EVENTS, &e);
			pd_tport_send(d->l.t, b.s, b.len);
			pd_buf_free(&b);
		}
		d->st = D_SUBSCRIBE;
		d->deadline = d->l.now + STEP_TIMEOUT_MS;
		return;
	case D_SUBSCRIBE:
		if (m->kind != ESL_MSG_COMMAND_REPLY)
			return;
		if (!esl_reply_ok(m)) {
			pd_drv_set_fail(&d->l, PD_LINK_RETRYING,
			                N_("the event subscription was refused"));
			return;
		}
		start_discovery(d);
		return;
	default:
		break;
	}
	if (m->kind == ESL_MSG_EVENT) {
		/* FreeSWITCH's own keep-alive: no api status while it comes */
		if (m->event_name && !strcmp(m->event_name, "HEARTBEAT"))
			pd_keepalive_heard(&d->ka, d->l.now);
		if (esl_model_apply_event(d->m, m, d->l.now))
			d->l.dirty = true;
	} else if (m->kind == ESL_MSG_API_RESPONSE) {
		api_reply(d, m->body, m->body_len);
	} else if (m->kind == ESL_MSG_COMMAND_REPLY && d->nin) {
		/* an api refused as a command ("-ERR command not found") */
		api_reply(d, NULL, 0);
	}
}

/* ---- the transport ---- */

static void tp_open(void *ctx)
{
	esl_drv *d = ctx;
	d->st = D_GREETING;
	d->deadline = d->l.now + STEP_TIMEOUT_MS;
	pd_drv_link_state(&d->l, PD_LINK_LOGGING_IN);
}

static bool tp_data(void *ctx, char *buf, size_t n)
{
	esl_drv *d = ctx;
	esl_parser_feed(d->p, buf, n);
	return !d->l.fail;
}

static void tp_fail(void *ctx, pd_tport_fail what, const char *why)
{
	esl_drv *d = ctx;
	if (d->st != D_WAIT)
		pd_drv_link_tport_failed(&d->l, what, why, d->st == D_AUTH || d->st == D_GREETING);
}

static void start_connect(esl_drv *d)
{
	pd_drv_link_attempt(&d->l);
	esl_parser_reset(d->p);
	cmds_clear(d);
	d->st = D_OPENING;
	d->deadline = INT64_MAX;
	pd_drv_link_state(&d->l, PD_LINK_CONNECTING);
	pd_tport_open(d->l.t, d->l.now);
}

static void after_feed(void *p)
{
	esl_drv *d = p;
	pd_drv_settle(&d->l);
	input_check(d, false);
	publish(d);
	pd_tport_flush(d->l.t);
}

/* ---- the ops ---- */

static pd_status esl_create(const pd_drv_conf *c, const pd_drv_host *h, void **out, pd_err *e)
{
	esl_drv *d = xcalloc(1, sizeof *d);
	int wrapup;
	pd_status st = pd_drv_link_init(
	    &d->l, c, h,
	    &(pd_tport_cb){.ctx = d, .on_open = tp_open, .on_data = tp_data, .on_fail = tp_fail},
	    STEP_TIMEOUT_MS, &wrapup, e);
	if (st != PD_OK) {
		free(d);
		return st;
	}
	d->l.drv = d;
	d->l.view = view;
	d->l.stop = stop;
	d->l.after_io = after_feed;
	pd_model_limits lim = pd_model_limits_of(c), full = pd_model_limits_fill(&lim);
	size_t api = full.max_users * API_BYTES_PER_USER;
	if (full.max_channels * API_BYTES_PER_CHANNEL > api)
		api = full.max_channels * API_BYTES_PER_CHANNEL;
	esl_parser_opts po = {.max_msg = c->max_message, .max_api = api < API_MAX ? api : API_MAX};
	d->p = esl_parser_new(&po, on_msg, d);
	d->m = esl_model_new();
	esl_model_set_limits(d->m, &lim);
	esl_model_set_default_wrapup(d->m, wrapup);
	d->l.now = pd_live_now_ms();
	start_connect(d);
	*out = d;
	return PD_OK;
}

static void esl_destroy(void *p)
{
	esl_drv *d = p;
	if (!d)
		return;
	if (d->l.t && d->st > D_AUTH) {
		/* a clean goodbye (the monitor stops, the daemon ends); best
		 * effort, what the socket takes now */
		pd_buf b = {0};
		esl_put_exit(&b);
		pd_tport_send(d->l.t, b.s, b.len);
		pd_buf_free(&b);
		pd_tport_flush(d->l.t);
	}
	pd_drv_link_free(&d->l);
	cmds_clear(d);
	free(d->q);
	esl_parser_free(d->p);
	esl_model_free(d->m);
	free(d);
}

static int64_t esl_next_deadline(void *p)
{
	esl_drv *d = p;
	int64_t t = pd_drv_link_deadline(&d->l, esl_model_next_deadline(d->m), publish_gap(d),
	                                 d->st == D_WAIT);
	if (d->st == D_OPENING) {
		if (pd_tport_next_deadline(d->l.t) < t)
			t = pd_tport_next_deadline(d->l.t);
	} else if (d->st != D_WAIT) {
		if (d->st == D_MONITORING && pd_keepalive_deadline(&d->ka) < t)
			t = pd_keepalive_deadline(&d->ka);
		if (d->deadline < t)
			t = d->deadline;
	}
	return t;
}

static const char *step_name(const esl_drv *d)
{
	switch (d->st) {
	case D_GREETING:
		return N_("waiting for auth/request");
	case D_AUTH:
		return N_("login");
	case D_SUBSCRIBE:
		return N_("the event subscription");
	default:
		return oldest(d) && oldest(d)->tag == C_SYNC       ? N_("user discovery")
		       : oldest(d) && oldest(d)->tag == C_SNAPSHOT ? N_("the channel snapshot")
		                                                   : N_("discovery");
	}
}

static void esl_on_timer(void *p, int64_t now)
{
	esl_drv *d = p;
	d->l.now = now;
	if (esl_model_tick(d->m, now))
		d->l.dirty = true;
	input_check(d, false);
	if (d->st == D_WAIT) {
		if (pd_drv_link_retry_due(&d->l, now))
			start_connect(d);
	} else if (d->st == D_OPENING) {
		pd_tport_on_timer(d->l.t, now);
	} else if (now >= d->deadline) {
		pd_drv_link_down_msg(&d->l, PD_LINK_RETRYING, N_("timed out during %s"),
		                     pd_msg_word(step_name(d)));
	} else if (d->st == D_MONITORING) {
		pd_ka_action ka = pd_keepalive_check(&d->ka, now);
		if (ka == PD_KA_OVERDUE) {
			pd_drv_link_down_msg(
			    &d->l, PD_LINK_RETRYING,
			    N_("no HEARTBEAT and no answer to api status for %llds"),
			    (long long)(d->ka.interval_ms / 1000));
		} else if (ka == PD_KA_PING) {
			cmd_push(d, "status", C_PING);
			pd_keepalive_sent(&d->ka, now);
			cmd_next(d);
			pd_tport_flush(d->l.t);
		}
	}
	publish(d);
}

static void esl_resync(void *p, int64_t now)
{
	esl_drv *d = p;
	d->l.now = now;
	if (d->st == D_MONITORING) {
		d->st = D_DISCOVER;
		push_users(d);
		cmd_push(d, "status", C_LAST);
		pd_drv_link_state(&d->l, PD_LINK_DISCOVERING);
		cmd_next(d);
		pd_tport_flush(d->l.t);
	} else if (d->st == D_WAIT) {
		pd_backoff_reset(&d->l.bo);
		start_connect(d);
	}
}

static pd_link_state esl_state(void *p)
{
	esl_drv *d = p;
	switch (d->st) {
	case D_WAIT:
		return d->l.wait_state;
	case D_OPENING:
		return PD_LINK_CONNECTING;
	case D_GREETING:
	case D_AUTH:
	case D_SUBSCRIBE:
		return PD_LINK_LOGGING_IN;
	case D_MONITORING:
		return PD_LINK_MONITORING;
	default:
		return PD_LINK_DISCOVERING;
	}
}

pd_status esl_test(const pd_drv_conf *c, int timeout_ms, pd_drv_test_result *out,
                   pd_err *e); /* esl_test.c */

const pd_driver_ops pd_esl_driver = {
    .platform = "freeswitch-esl",
    .create = esl_create,
    .test = esl_test,
    .destroy = esl_destroy,
    .pollfds = pd_drv_link_pollfds,
    .on_io = pd_drv_link_on_io,
    .next_deadline = esl_next_deadline,
    .on_timer = esl_on_timer,
    .resync = esl_resync,
    .state = esl_state,
    .last_sync = pd_drv_link_last_sync,
};

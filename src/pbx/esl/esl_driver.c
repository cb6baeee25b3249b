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
 * at most every PUBLISH_MS. The password is sent only in the auth command
 * and never appears in a status text. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esl_model.h"
#include "provdesk/catalogue.h"
#include "provdesk/config.h"
#include "provdesk/esl.h"
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
#define PUBLISH_MS 50
#define INPUT_MS 1000
#define CMD_QUEUE_MAX 100000 /* api commands waiting (one email per user) */

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
	pd_drv_conf c; /* c.secret is NULL: the secret is kept masked below */
	pd_masked secret;
	pd_drv_host h;
	enum dstate st;
	bool auth_failed;
	pd_tport *t;
	esl_parser *p;
	esl_model *m;
	int64_t now, deadline;
	pd_keepalive ka;
	pd_backoff bo;
	int64_t retry_at;
	char last_error[200];
	char *fail; /* set inside the parser callback; acted on after the feed */
	bool fail_auth;
	bool fail_protocol;  /* d->fail is a protocol error (not that PBX, framing lost) */
	bool protocol_error; /* the link is down for a protocol error */
	/* api commands: the one sent (awaiting its api/response) and the queue */
	cmd inflight;
	bool busy;
	cmd *q;
	size_t qh, qn, qcap;
	bool syncing;  /* discovery of users ends with a sync */
	bool users_ok; /* list_users answered (else nothing is synced) */
	int sync_done, sync_total;
	bool dirty;
	int64_t published_at;
	pd_sync_result last;
	bool have_last;
	pd_link_state published;
	int pub_done, pub_total;
	pd_live_input input;
	char warning[200];
	char sync_note[200]; /* why the last discovery synced nothing, else "" */
	int64_t input_at;
	bool input_pending;
} esl_drv;

/* ---- helpers ---- */

static void link_set(esl_drv *d, pd_link_state st)
{
	const char *err = st == PD_LINK_MONITORING ? d->warning : d->last_error;
	if (st == d->published && st == PD_LINK_DISCOVERING && d->pub_done == d->sync_done &&
	    d->pub_total == d->sync_total)
		return;
	d->published = st;
	d->pub_done = d->sync_done;
	d->pub_total = d->sync_total;
	pd_live_set_link(d->h.live, d->c.customer_id, st, d->pub_done, d->pub_total, d->retry_at,
	                 err);
	if (d->h.link_changed) {
		char text[256];
		pd_live_status_text(st, d->pub_done, d->pub_total, d->retry_at, err, d->now, text,
		                    sizeof text);
		d->h.link_changed(d->h.ctx, d->c.customer_id, st, text);
	}
}

static void publish_now(esl_drv *d)
{
	if (!d->dirty)
		return;
	d->dirty = false;
	d->published_at = d->now;
	pd_live_view v = {0};
	esl_model_view(d->m, d->now, &v);
	v.input = d->input;
	pd_live_publish(d->h.live, d->c.customer_id, &v);
}

static void publish(esl_drv *d)
{
	if (d->dirty && d->now - d->published_at >= PUBLISH_MS)
		publish_now(d);
}

static void warning_update(esl_drv *d);

/* The input counters (caps, repairs) and the warning while monitoring: at
 * most every INPUT_MS while they change. */
static void input_check(esl_drv *d, bool force)
{
	esl_model_stats ms;
	esl_model_get_stats(d->m, &ms);
	pd_live_input in = pd_model_input(&ms, esl_parser_errors(d->p));
	if (!memcmp(&in, &d->input, sizeof in)) {
		d->input_pending = false;
		return;
	}
	if (!force && d->now - d->input_at < INPUT_MS) {
		d->input_pending = true;
		return;
	}
	d->input_pending = false;
	d->input_at = d->now;
	bool text_changed =
	    in.dropped_calls != d->input.dropped_calls ||
	    in.dropped_channels != d->input.dropped_channels || in.aged_out != d->input.aged_out ||
	    in.bad_fields != d->input.bad_fields || in.dropped_other != d->input.dropped_other ||
	    in.capped != d->input.capped;
	d->input = in;
	d->dirty = true;
	if (text_changed)
		warning_update(d);
}

/* The warning shown while monitoring: a sync that was not done, then what
 * the PBX's input cost. */
static void warning_update(esl_drv *d)
{
	const pd_live_input in = d->input;
	pd_buf w = {0};
	if (d->sync_note[0])
		pd_buf_add(&w, d->sync_note);
	pd_model_input_warning(&w, &in, &d->c, "users, agents or queues",
	                       "fields or messages refused or repaired");
	snprintf(d->warning, sizeof d->warning, "%s", w.s ? w.s : "");
	pd_buf_free(&w);
	if (d->st == D_MONITORING) {
		d->published = (pd_link_state)-1; /* the text changed: say it */
		link_set(d, PD_LINK_MONITORING);
	}
}

static void cmds_clear(esl_drv *d)
{
	for (size_t i = 0; i < d->qn; i++)
		free(d->q[(d->qh + i) % d->qcap].cmd);
	d->qh = d->qn = 0;
	free(d->inflight.cmd);
	d->inflight.cmd = NULL;
	d->busy = false;
}

static void drop(esl_drv *d, const char *why)
{
	bool protocol = d->fail_protocol;
	d->fail_protocol = false;
	pd_tport_close(d->t);
	cmds_clear(d);
	snprintf(d->last_error, sizeof d->last_error, "%s", why);
	pd_drv_scrub(&d->secret, d->last_error);
	d->retry_at = d->now + pd_backoff_next(&d->bo);
	d->st = D_WAIT;
	/* calls and agents are unknown while the link is down; users stay */
	esl_model_reset_live(d->m);
	d->dirty = true;
	d->protocol_error = protocol;
	/* the down state first: the live state then keeps the last known
	 * calls and agents, marked stale, instead of this emptied view */
	link_set(d, protocol ? PD_LINK_PROTOCOL_ERROR : PD_LINK_RETRYING);
	publish_now(d);
}

static void auth_failed(esl_drv *d, const char *why)
{
	pd_tport_close(d->t);
	cmds_clear(d);
	snprintf(d->last_error, sizeof d->last_error, "%s", why);
	pd_drv_scrub(&d->secret, d->last_error);
	d->st = D_WAIT;
	d->auth_failed = true;
	d->retry_at = 0;
	esl_model_reset_live(d->m);
	d->dirty = true;
	publish_now(d);
	link_set(d, PD_LINK_AUTH_FAILED);
}

static void set_fail(esl_drv *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_fail(esl_drv *d, const char *fmt, ...)
{
	if (d->fail)
		return;
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	d->fail = xstrdup(buf);
}

/* ---- api commands, one at a time ---- */

/* Room for one more command (the ring grows); false at CMD_QUEUE_MAX. */
static bool cmd_room(esl_drv *d)
{
	if (d->qn >= CMD_QUEUE_MAX)
		return false; /* bounded by the model's caps long before */
	if (d->qn == d->qcap) {
		size_t nc = d->qcap ? d->qcap * 2 : 16;
		cmd *q = xcalloc(nc, sizeof *q);
		for (size_t i = 0; i < d->qn; i++)
			q[i] = d->q[(d->qh + i) % d->qcap];
		free(d->q);
		d->q = q;
		d->qh = 0;
		d->qcap = nc;
	}
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

/* Send the next queued command when none is awaiting its reply. */
static void cmd_next(esl_drv *d)
{
	if (d->busy || !d->qn)
		return;
	d->inflight = d->q[d->qh];
	d->qh = (d->qh + 1) % d->qcap;
	d->qn--;
	pd_buf b = {0};
	pd_err e = {0};
	d->busy = true;
	if (esl_put_api(&b, d->inflight.cmd, &e) != PD_OK) {
		/* a line break (values are cleaned, so none comes from the PBX):
		 * never sent, taken as answered with nothing so the step goes on */
		pd_buf_free(&b);
		api_reply(d, NULL, 0);
		return;
	}
	if (esl_api_kind_of(d->inflight.cmd) == ESL_API_CHANNELS_JSON)
		esl_model_snapshot_begin(d->m);
	pd_tport_send(d->t, b.s, b.len);
	pd_buf_free(&b);
	if (d->inflight.tag != C_PING)
		d->deadline = d->now + STEP_TIMEOUT_MS;
}

static void push_users(esl_drv *d)
{
	d->syncing = true;
	d->users_ok = false;
	d->sync_done = d->sync_total = 0;
	cmd_push(d, "list_users", C_SYNC);
}

static void push_monitoring(esl_drv *d)
{
	if (d->c.monitor) {
		cmd_push(d, "callcenter_config agent list", C_DISCOVER);
		cmd_push(d, "callcenter_config tier list", C_DISCOVER);
	}
	cmd_push(d, "show channels as json", C_SNAPSHOT);
	cmd_push(d, "show calls as json", C_SNAPSHOT);
	cmd_push(d, "status", C_LAST); /* marks the end of discovery */
}

static void start_discovery(esl_drv *d)
{
	pd_keepalive_start(&d->ka, d->now,
	                   (int64_t)(d->c.ping_interval_s > 0 ? d->c.ping_interval_s
	                                                      : PD_PBX_PING_INTERVAL_DEFAULT) *
	                       1000);
	d->st = D_DISCOVER;
	push_users(d);
	push_monitoring(d);
	link_set(d, PD_LINK_DISCOVERING);
	cmd_next(d);
}

static void do_sync(esl_drv *d)
{
	pd_synced_user *u;
	size_t n = esl_model_synced_users(d->m, &u);
	d->dirty = true;
	d->syncing = false;
	if (!d->c.sync_users || !d->h.sync_users)
		return;
	if (!d->users_ok) {
		/* an empty directory would remove every synced user: not synced */
		snprintf(d->sync_note, sizeof d->sync_note,
		         "users not synced: no usable list_users reply (max_message_kb?)");
		warning_update(d);
		return;
	}
	char why[200];
	pd_sync_result r;
	pd_drv_sync_outcome o = pd_drv_sync_users(&d->c, &d->h, u, n, esl_model_users_refused(d->m),
	                                          &r, why, sizeof why);
	if (o == PD_DRV_SYNC_REFUSED) {
		snprintf(d->sync_note, sizeof d->sync_note, "%s", why);
		warning_update(d);
		return;
	}
	if (d->sync_note[0]) {
		d->sync_note[0] = '\0';
		warning_update(d);
	}
	if (o == PD_DRV_SYNC_DONE) {
		d->last = r;
		d->have_last = true;
	} else {
		snprintf(d->last_error, sizeof d->last_error, "%s", why);
	}
}

/* The reply to the command in flight. */
static void api_reply(esl_drv *d, const char *body, size_t len)
{
	if (!d->busy)
		return; /* a reply nobody asked for: ignored */
	cmd c = d->inflight;
	d->inflight.cmd = NULL;
	d->busy = false;
	if (c.tag == C_PING) {
		pd_keepalive_answered(&d->ka);
	} else {
		bool applied = esl_model_apply_api(d->m, c.cmd, body, len, d->now);
		if (applied)
			d->dirty = true;
		esl_api_kind k = esl_api_kind_of(c.cmd);
		if (k == ESL_API_LIST_USERS) {
			d->users_ok = applied;
			bool emails = d->c.sync_users && d->h.sync_users;
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
			d->sync_total = (int)(n + 1) + 1;
			d->sync_done = 1;
		} else if (k == ESL_API_CHANNELS_JSON && d->c.monitor) {
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
			d->sync_done++;
			if (k == ESL_API_REGISTRATIONS_JSON && d->syncing)
				do_sync(d);
		}
		if (c.tag == C_SYNC && d->st == D_DISCOVER)
			link_set(d, PD_LINK_DISCOVERING);
		if (c.tag == C_LAST && d->st == D_DISCOVER) {
			d->st = D_MONITORING;
			pd_backoff_reset(&d->bo);
			d->deadline = INT64_MAX;
			d->dirty = true;
			publish_now(d);
			link_set(d, PD_LINK_MONITORING);
		}
	}
	free(c.cmd);
	if (!d->busy && !d->qn && d->st == D_MONITORING)
		d->deadline = INT64_MAX;
	cmd_next(d);
}

/* ---- messages ---- */

static void on_msg(const esl_msg *m, void *ctx)
{
	esl_drv *d = ctx;
	if (d->fail || d->st == D_WAIT || d->st == D_OPENING)
		return;
	if (m->kind == ESL_MSG_ERROR) {
		if (d->st == D_GREETING) {
			/* the first bytes are not ESL (an AMI banner ends in CRLF):
			 * say so now rather than after the greeting's timeout */
			d->fail_protocol = true;
			set_fail(d, "not a FreeSWITCH event socket (%.150s)", m->text);
		} else if (m->fatal) {
			d->fail_protocol = true;
			set_fail(d, "protocol error: %.150s", m->text);
		} else if (!strcmp(m->content_type, "api/response"))
			api_reply(d, NULL,
			          0); /* the reply was refused (too large): the step goes on */
		return;
	}
	if (m->kind == ESL_MSG_DISCONNECT) {
		/* its text is the PBX's: not shown */
		set_fail(d, "the PBX ended the event-socket session (disconnect notice)");
		return;
	}
	switch (d->st) {
	case D_GREETING: {
		if (m->kind != ESL_MSG_AUTH_REQUEST) {
			d->fail_protocol = true;
			set_fail(d, "not a FreeSWITCH event socket (no auth/request)");
			return;
		}
		pd_buf b = {0};
		pd_err e = {0};
		pd_buf_reserve(&b, d->secret.len + 64);
		char *sec = pd_masked_reveal(&d->secret);
		pd_status ast = esl_put_auth(&b, sec, &e);
		pd_secret_free(sec);
		if (ast != PD_OK) {
			pd_buf_wipe_free(&b);
			d->fail = xstrdup("the event-socket password is empty or contains a line "
			                  "break: not sent (edit the connection)");
			d->fail_auth = true;
			return;
		}
		pd_tport_send(d->t, b.s, b.len);
		pd_buf_wipe_free(&b);
		d->st = D_AUTH;
		d->deadline = d->now + STEP_TIMEOUT_MS;
		return;
	}
	case D_AUTH:
		if (m->kind != ESL_MSG_COMMAND_REPLY)
			return;
		if (!esl_reply_ok(m)) {
			d->fail =
			    xstrdup("authentication failed (check the event-socket password)");
			d->fail_auth = true;
			return;
		}
		{
			pd_buf b = {0};
			pd_err e = {0};
			esl_put_event_plain(&b, ESL_EVENTS, &e);
			pd_tport_send(d->t, b.s, b.len);
			pd_buf_free(&b);
		}
		d->st = D_SUBSCRIBE;
		d->deadline = d->now + STEP_TIMEOUT_MS;
		return;
	case D_SUBSCRIBE:
		if (m->kind != ESL_MSG_COMMAND_REPLY)
			return;
		if (!esl_reply_ok(m)) {
			set_fail(d, "the event subscription was refused");
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
			pd_keepalive_heard(&d->ka, d->now);
		if (esl_model_apply_event(d->m, m, d->now))
			d->dirty = true;
	} else if (m->kind == ESL_MSG_API_RESPONSE) {
		api_reply(d, m->body, m->body_len);
	} else if (m->kind == ESL_MSG_COMMAND_REPLY && d->busy) {
		/* an api refused as a command ("-ERR command not found") */
		api_reply(d, NULL, 0);
	}
}

/* ---- the transport ---- */

static void settle(esl_drv *d)
{
	if (!d->fail)
		return;
	char *f = d->fail;
	bool a = d->fail_auth;
	d->fail = NULL;
	d->fail_auth = false;
	if (a)
		auth_failed(d, f);
	else
		drop(d, f);
	free(f);
}

static void tp_open(void *ctx)
{
	esl_drv *d = ctx;
	d->st = D_GREETING;
	d->deadline = d->now + STEP_TIMEOUT_MS;
	link_set(d, PD_LINK_LOGGING_IN);
}

static bool tp_data(void *ctx, const char *buf, size_t n)
{
	esl_drv *d = ctx;
	esl_parser_feed(d->p, buf, n);
	return !d->fail;
}

static void tp_fail(void *ctx, pd_tport_fail what, const char *why)
{
	esl_drv *d = ctx;
	if (d->st == D_WAIT)
		return;
	set_fail(d, "%s%s", why,
	         what == PD_TPORT_E_EOF && (d->st == D_AUTH || d->st == D_GREETING)
	             ? " during login"
	             : "");
	settle(d);
}

static void start_connect(esl_drv *d)
{
	d->auth_failed = false;
	d->protocol_error = false;
	d->published = (pd_link_state)-1;
	esl_parser_reset(d->p);
	cmds_clear(d);
	d->st = D_OPENING;
	d->deadline = INT64_MAX;
	link_set(d, PD_LINK_CONNECTING);
	pd_tport_open(d->t, d->now);
}

static void after_feed(esl_drv *d)
{
	settle(d);
	input_check(d, false);
	publish(d);
	pd_tport_flush(d->t);
}

/* ---- the ops ---- */

static pd_status esl_create(const pd_drv_conf *c, const pd_drv_host *h, void **out, pd_err *e)
{
	esl_drv *d = xcalloc(1, sizeof *d);
	int wrapup;
	pd_status st = pd_drv_setup(
	    c, &(pd_tport_cb){.ctx = d, .on_open = tp_open, .on_data = tp_data, .on_fail = tp_fail},
	    STEP_TIMEOUT_MS, &d->c, &d->secret, &d->t, &d->bo, &wrapup, e);
	if (st != PD_OK) {
		free(d);
		return st;
	}
	d->h = *h;
	esl_parser_opts po = {.max_msg = c->max_message};
	d->p = esl_parser_new(&po, on_msg, d);
	d->m = esl_model_new();
	pd_model_limits lim = pd_model_limits_of(c);
	esl_model_set_limits(d->m, &lim);
	esl_model_set_default_wrapup(d->m, wrapup);
	d->now = pd_live_now_ms();
	start_connect(d);
	*out = d;
	return PD_OK;
}

static void esl_destroy(void *p)
{
	esl_drv *d = p;
	if (!d)
		return;
	pd_tport_free(d->t);
	cmds_clear(d);
	free(d->q);
	esl_parser_free(d->p);
	esl_model_free(d->m);
	free(d->fail);
	pd_drv_conf_free(&d->c, &d->secret);
	free(d);
}

static int esl_pollfds(void *p, struct pollfd *pf, int max)
{
	esl_drv *d = p;
	return max < 1 ? 0 : pd_tport_pollfd(d->t, &pf[0]);
}

static void esl_on_io(void *p, const struct pollfd *pf, int n, int64_t now)
{
	esl_drv *d = p;
	d->now = now;
	for (int i = 0; i < n; i++) {
		if (!pf[i].revents)
			continue;
		pd_tport_on_io(d->t, &pf[i], now);
		after_feed(d);
	}
}

static int64_t esl_next_deadline(void *p)
{
	esl_drv *d = p;
	int64_t t = esl_model_next_deadline(d->m);
	if (d->input_pending && d->input_at + INPUT_MS < t)
		t = d->input_at + INPUT_MS;
	if (d->dirty && d->published_at + PUBLISH_MS < t)
		t = d->published_at + PUBLISH_MS;
	if (d->st == D_WAIT) {
		if (!d->auth_failed && d->retry_at < t)
			t = d->retry_at;
	} else if (d->st == D_OPENING) {
		if (pd_tport_next_deadline(d->t) < t)
			t = pd_tport_next_deadline(d->t);
	} else {
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
		return "waiting for auth/request";
	case D_AUTH:
		return "login";
	case D_SUBSCRIBE:
		return "the event subscription";
	default:
		return d->busy && d->inflight.tag == C_SYNC       ? "user discovery"
		       : d->busy && d->inflight.tag == C_SNAPSHOT ? "the channel snapshot"
		                                                  : "discovery";
	}
}

static void esl_on_timer(void *p, int64_t now)
{
	esl_drv *d = p;
	d->now = now;
	if (esl_model_tick(d->m, now))
		d->dirty = true;
	input_check(d, false);
	if (d->st == D_WAIT) {
		if (!d->auth_failed && now >= d->retry_at)
			start_connect(d);
	} else if (d->st == D_OPENING) {
		pd_tport_on_timer(d->t, now);
	} else if (now >= d->deadline) {
		char why[100];
		snprintf(why, sizeof why, "timed out during %s", step_name(d));
		drop(d, why);
	} else if (d->st == D_MONITORING) {
		pd_ka_action ka = pd_keepalive_check(&d->ka, now);
		if (ka == PD_KA_OVERDUE) {
			char why[100];
			snprintf(why, sizeof why,
			         "no HEARTBEAT and no answer to api status for %llds",
			         (long long)(d->ka.interval_ms / 1000));
			drop(d, why);
		} else if (ka == PD_KA_PING) {
			cmd_push(d, "status", C_PING);
			pd_keepalive_sent(&d->ka, now);
			cmd_next(d);
			pd_tport_flush(d->t);
		}
	}
	publish(d);
}

static void esl_resync(void *p, int64_t now)
{
	esl_drv *d = p;
	d->now = now;
	if (d->st == D_MONITORING) {
		d->st = D_DISCOVER;
		push_users(d);
		cmd_push(d, "status", C_LAST);
		link_set(d, PD_LINK_DISCOVERING);
		cmd_next(d);
		pd_tport_flush(d->t);
	} else if (d->st == D_WAIT) {
		pd_backoff_reset(&d->bo);
		start_connect(d);
	}
}

static pd_link_state esl_state(void *p)
{
	esl_drv *d = p;
	switch (d->st) {
	case D_WAIT:
		return d->auth_failed      ? PD_LINK_AUTH_FAILED
		       : d->protocol_error ? PD_LINK_PROTOCOL_ERROR
		                           : PD_LINK_RETRYING;
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

static bool esl_last_sync(void *p, pd_sync_result *r)
{
	esl_drv *d = p;
	if (d->have_last)
		*r = d->last;
	return d->have_last;
}

pd_status esl_test(const pd_drv_conf *c, int timeout_ms, pd_drv_test_result *out,
                   pd_err *e); /* esl_test.c */

const pd_driver_ops pd_esl_driver = {
    .platform = "freeswitch-esl",
    .create = esl_create,
    .test = esl_test,
    .destroy = esl_destroy,
    .pollfds = esl_pollfds,
    .on_io = esl_on_io,
    .next_deadline = esl_next_deadline,
    .on_timer = esl_on_timer,
    .resync = esl_resync,
    .state = esl_state,
    .last_sync = esl_last_sync,
};

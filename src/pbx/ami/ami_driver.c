/* Asterisk AMI driver: a non-blocking state machine per connection.
 *   the transport (resolve, TCP connect, [TLS when the connection's tls flag is set];
 *   src/pbx/transport.c) -> banner -> Login (Events: AMI_LOGIN_EVENTS) ->
 * PJSIPShowEndpoints (+ one PJSIPShowEndpoint per endpoint, pipelined; SIPpeers/SIPshowpeer when
 * PJSIP is unknown) -> VoicemailUsersList (the mailboxes' emails, to link users; skipped when
 * app_voicemail is not loaded) -> sync users -> QueueStatus -> CoreShowChannels -> monitoring with
 * a Ping every ping_interval; an unanswered Ping, EOF, a timeout or a protocol error drops the link
 * and redials with capped exponential backoff and jitter; "Authentication failed" stops retries
 * until resync/edit. Events are applied to ami_model at every step (they interleave with list
 * items) and the view is published to pd_live at most every PD_DRV_PUBLISH_MS (a
 * full copy of a 10,000-user view per read batch would dominate discovery). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ami_model.h"
#include "provdesk/ami.h"
#include "provdesk/catalogue.h"
#include "provdesk/config.h"
#include "provdesk/i18n.h"
#include "provdesk/pbx_driver.h"
#include "provdesk/pbx_transport.h"
#include "provdesk/util.h"

enum dstate {
	D_WAIT,    /* waiting to retry (or auth failed) */
	D_OPENING, /* the transport: resolve, connect, TLS */
	D_BANNER,
	D_LOGIN,
	D_ENDPOINTS,
	D_DETAILS,
	D_SIPPEERS,
	D_PEER_DETAILS,
	D_VOICEMAIL,
	D_QUEUES,
	D_CHANNELS,
	D_MONITORING
};

#define STEP_TIMEOUT_MS 15000
#define DETAIL_WINDOW 64
/* The details asked for leave in groups of DETAIL_FLUSH as their answers
 * complete, not at the end of the read that completed them: the PBX has
 * its next work while the driver still parses the rest of that read (a
 * resync of 10,000 endpoints on the lab PBX in two thirds of the time;
 * docs/performance.md). The answers come in on_data: a send failing there
 * fails the link once the read's callback returned (pd_tport_flush). */
#define DETAIL_FLUSH 8
#define RESNAP_MS 60000

typedef struct {
	/* conf, masked secret, host, the transport (resolve, connect, TLS), the
	 * link state, failures, publishing, retries (include/provdesk/pbx_driver.h) */
	pd_drv_link l;
	enum dstate st;
	ami_parser *p;
	ami_model *m;
	int64_t deadline;
	pd_keepalive ka;
	unsigned seq;
	char cur_id[32], ping_id[32];
	size_t detail_next, detail_done, detail_total;
	char snap_id[32]; /* a CoreShowChannels asked while monitoring */
	int64_t snap_at;  /* when the last one was asked (at most every RESNAP_MS) */
} ami_drv;
PD_DRV_LINK_FIRST(ami_drv);

/* ---- helpers ---- */

/* The discovery's progress as the link says it. */
static void progress(ami_drv *d)
{
	d->l.done = (int)d->detail_done;
	d->l.total = (int)d->detail_total;
}

static void link_set(ami_drv *d, pd_link_state st)
{
	progress(d);
	pd_drv_link_state(&d->l, st);
}

static void view(void *p, int64_t now, pd_live_view *v)
{
	ami_model_view(((ami_drv *)p)->m, now, v);
}

static void send_simple(ami_drv *d, const char *action);

static void warning_update(ami_drv *d)
{
	pd_drv_link_warning(&d->l, d->st == D_MONITORING, N_("queue members or queues"),
	                    N_("fields with control bytes repaired"));
}

/* The input counters and the warning (pd_drv_link_input). At a cap, while
 * monitoring, the channels are asked for again (at most every RESNAP_MS):
 * the ones whose Hangup was lost then leave and make room. */
static void input_check(ami_drv *d, bool force)
{
	ami_model_stats ms;
	ami_model_get_stats(d->m, &ms);
	pd_live_input in = pd_model_input(&ms, ami_parser_bad_fields(d->p));
	int changed = pd_drv_link_input(&d->l, &in, force);
	if (changed == PD_DRV_INPUT_WORDS)
		warning_update(d);
	if (changed && d->st == D_MONITORING && in.capped && !d->snap_id[0] &&
	    (!d->snap_at || d->l.now - d->snap_at >= RESNAP_MS)) {
		d->snap_at = d->l.now;
		ami_model_snapshot_begin(d->m);
		char keep[32];
		memcpy(keep, d->cur_id, sizeof keep);
		send_simple(d, "CoreShowChannels");
		memcpy(d->snap_id, d->cur_id, sizeof d->snap_id);
		memcpy(d->cur_id, keep, sizeof keep);
		d->deadline = INT64_MAX;
	}
}

/* pd_drv_publish_gap: a flood of calls costs a copy per publish too. */
static int64_t publish_gap(const ami_drv *d)
{
	ami_model_stats ms;
	ami_model_get_stats(d->m, &ms);
	return pd_drv_publish_gap(d->st == D_MONITORING, ami_model_user_count(d->m) + ms.calls);
}

/* Coalesced: the rest waits for the timer (ami_next_deadline). */
static void publish(ami_drv *d)
{
	pd_drv_publish(&d->l, publish_gap(d));
}

/* The link goes down (pd_drv_link_down): calls/agents are unknown while
 * it is; users stay. */
static void stop(void *p)
{
	ami_drv *d = p;
	pd_tport_close(d->l.t);
	d->st = D_WAIT;
	ami_model_reset_live(d->m);
	progress(d);
}

static void send_buf(ami_drv *d, pd_buf *b)
{
	pd_tport_send(d->l.t, b->s, b->len);
	pd_buf_free(b);
}

static void new_id(ami_drv *d, char *id, size_t n)
{
	snprintf(id, n, "pd-%u", ++d->seq);
}

static void send_simple(ami_drv *d, const char *action)
{
	pd_buf b = {0};
	new_id(d, d->cur_id, sizeof d->cur_id);
	ami_put(&b, "Action", action);
	ami_put(&b, "ActionID", d->cur_id);
	ami_end(&b);
	send_buf(d, &b);
	d->deadline = d->l.now + STEP_TIMEOUT_MS;
}

/* ---- discovery steps ---- */

static void step_channels(ami_drv *d);

static void step_queues(ami_drv *d)
{
	d->st = D_QUEUES;
	send_simple(d, "QueueStatus");
}

static void step_channels(ami_drv *d)
{
	d->st = D_CHANNELS;
	d->snap_id[0] = '\0';
	ami_model_snapshot_begin(d->m);
	send_simple(d, "CoreShowChannels");
}

static void do_sync(ami_drv *d)
{
	pd_synced_user *u;
	size_t n = ami_model_synced_users(d->m, &u);
	d->l.dirty = true;
	if (pd_drv_link_sync(&d->l, u, n, ami_model_users_refused(d->m)))
		warning_update(d); /* said at monitoring */
	if (d->l.c.monitor)
		step_queues(d);
	else
		step_channels(d);
}

/* The mailboxes carry the users' emails (endpoints have none): read them
 * when the users are to be synced. A PBX without app_voicemail answers an
 * Error and the sync goes on without emails. */
static void step_voicemail(ami_drv *d)
{
	if (!d->l.c.sync_users || !d->l.h.sync_users) {
		do_sync(d);
		return;
	}
	d->st = D_VOICEMAIL;
	send_simple(d, "VoicemailUsersList");
}

static void send_details(ami_drv *d)
{
	bool pjsip = d->st == D_DETAILS;
	while (d->detail_next < d->detail_total &&
	       d->detail_next - d->detail_done < DETAIL_WINDOW) {
		pd_buf b = {0};
		char id[48];
		snprintf(id, sizeof id, "pdd-%u-%zu", d->seq, d->detail_next);
		ami_put(&b, "Action", pjsip ? "PJSIPShowEndpoint" : "SIPshowpeer");
		ami_put(&b, "ActionID", id);
		ami_put(&b, pjsip ? "Endpoint" : "Peer",
		        ami_model_user_endpoint(d->m, d->detail_next));
		ami_end(&b);
		send_buf(d, &b);
		if (++d->detail_next % DETAIL_FLUSH == 0)
			pd_tport_flush(d->l.t);
	}
	d->deadline = d->l.now + STEP_TIMEOUT_MS;
	link_set(d, PD_LINK_DISCOVERING);
	if (d->detail_done == d->detail_total)
		step_voicemail(d);
}

static void start_details(ami_drv *d, enum dstate st)
{
	d->st = st;
	d->seq++;
	d->detail_next = d->detail_done = 0;
	d->detail_total = ami_model_user_count(d->m);
	send_details(d);
}

static void step_endpoints(ami_drv *d)
{
	ami_model_reset_users(d->m);
	d->detail_done = d->detail_total = 0;
	d->st = D_ENDPOINTS;
	link_set(d, PD_LINK_DISCOVERING);
	send_simple(d, "PJSIPShowEndpoints");
}

static void start_discovery(ami_drv *d)
{
	pd_keepalive_start(&d->ka, d->l.now,
	                   (int64_t)(d->l.c.ping_interval_s > 0 ? d->l.c.ping_interval_s
	                                                        : PD_PBX_PING_INTERVAL_DEFAULT) *
	                       1000);
	step_endpoints(d);
}

static bool id_is(const ami_msg *m, const char *id)
{
	const char *v = ami_getk(m, AMI_K_ACTIONID);
	return v && !strcmp(v, id);
}

/* An Error response to a discovery action. */
static void step_error(ami_drv *d, const char *action, const ami_msg *m)
{
	const char *msg = ami_get0(m, "Message");
	if (strcasestr(msg, "Permission denied")) {
		/* the AMI user lacks rights: like a refused login, retrying cannot help */
		pd_drv_set_fail(&d->l, PD_LINK_AUTH_FAILED,
		                N_("permission denied for %s (the AMI user needs read/write "
		                   "system,call,agent,reporting)"),
		                action);
	} else {
		pd_drv_set_fail(&d->l, PD_LINK_RETRYING, N_("%s failed: %.150s"), action, msg);
	}
}

static void on_msg(const ami_msg *m, void *ctx)
{
	ami_drv *d = ctx;
	if (d->l.fail || d->st == D_WAIT)
		return;
	if (m->kind == AMI_MSG_ERROR) {
		pd_drv_set_fail(&d->l, PD_LINK_PROTOCOL_ERROR, N_("protocol error: %s"), m->text);
		return;
	}
	if (d->st == D_BANNER) {
		if (m->kind != AMI_MSG_BANNER || !strstr(m->text, "Call Manager/")) {
			pd_drv_set_fail(&d->l, PD_LINK_PROTOCOL_ERROR,
			                N_("not an Asterisk manager interface (banner \"%.60s\")"),
			                m->text ? m->text : "");
			return;
		}
		pd_buf b = {0};
		new_id(d, d->cur_id, sizeof d->cur_id);
		ami_put(&b, "Action", "Login");
		ami_put(&b, "ActionID", d->cur_id);
		bool user_ok = ami_put(&b, "Username", d->l.c.username);
		ami_put(&b, "Events", AMI_LOGIN_EVENTS);
		/* the secret last, shown only for this message, and the buffer
		 * wiped once the transport has its copy */
		pd_buf_reserve(&b, d->l.secret.len + 16);
		char *sec = pd_masked_reveal(&d->l.secret);
		bool secret_ok = ami_put(&b, "Secret", sec);
		pd_secret_free(sec);
		ami_end(&b);
		if (!user_ok || !secret_ok) {
			/* the core refuses these; a row from elsewhere must still not
			 * inject protocol lines: no Login, no retries until edited */
			pd_buf_wipe_free(&b);
			pd_drv_set_fail(
			    &d->l, PD_LINK_AUTH_FAILED, "%s",
			    pd_msg_word(!user_ok ? N_("the AMI username contains a line break: "
			                              "not sent (edit the connection)")
			                         : N_("the AMI secret contains a line break: not "
			                              "sent (edit the connection)")));
			return;
		}
		pd_tport_send(d->l.t, b.s, b.len);
		pd_buf_wipe_free(&b);
		d->st = D_LOGIN;
		d->deadline = d->l.now + STEP_TIMEOUT_MS;
		return;
	}
	bool is_resp = m->kind == AMI_MSG_RESPONSE;
	const char *rv = is_resp ? ami_getk(m, AMI_K_RESPONSE) : NULL;
	bool ok = rv && (!strcasecmp(rv, "Success") || !strcasecmp(rv, "Follows"));
	if (is_resp && d->ka.outstanding && id_is(m, d->ping_id)) {
		pd_keepalive_answered(&d->ka);
		return;
	}
	if (ami_model_apply(d->m, m, d->l.now))
		d->l.dirty = true;
	const char *t = ami_type(m);
	if (d->snap_id[0] && id_is(m, d->snap_id) &&
	    ((is_resp && !ok) || ami_msg_event(m) == AMI_EV_CORESHOWCHANNELSCOMPLETE)) {
		d->snap_id[0] = '\0';
		if (ok || !is_resp)
			d->l.dirty |= ami_model_snapshot_end(d->m, d->l.now);
		return;
	}
	switch (d->st) {
	case D_LOGIN:
		if (!is_resp || !id_is(m, d->cur_id))
			return;
		if (ok) {
			start_discovery(d);
		} else if (strcasestr(ami_get0(m, "Message"), "Authentication failed")) {
			pd_drv_set_fail(
			    &d->l, PD_LINK_AUTH_FAILED,
			    N_("authentication failed (check the AMI user and secret)"));
		} else {
			pd_drv_set_fail(&d->l, PD_LINK_AUTH_FAILED, N_("login refused: %.150s"),
			                ami_get0(m, "Message"));
		}
		return;
	case D_ENDPOINTS:
		if (!id_is(m, d->cur_id))
			return;
		if (is_resp && !ok) {
			const char *msg = ami_get0(m, "Message");
			if (strcasestr(msg, "Invalid/unknown command")) {
				d->st = D_SIPPEERS; /* no chan_pjsip: an older chan_sip system */
				send_simple(d, "SIPpeers");
			} else if (strcasestr(msg, "No endpoints found")) {
				start_details(d, D_DETAILS);
			} else {
				step_error(d, "PJSIPShowEndpoints", m);
			}
		} else if (!strcmp(t, "EndpointListComplete")) {
			start_details(d, D_DETAILS);
		} else {
			d->deadline = d->l.now + STEP_TIMEOUT_MS;
		}
		return;
	case D_SIPPEERS:
		if (!id_is(m, d->cur_id))
			return;
		if (is_resp && !ok) {
			if (strcasestr(ami_get0(m, "Message"), "Invalid/unknown command")) {
				/* neither PJSIP nor SIP: nothing to sync, still monitor */
				pd_msg(d->l.last_error, sizeof d->l.last_error,
				       N_("no PJSIP or SIP channel driver: users not synced"));
				step_queues(d);
			} else {
				step_error(d, "SIPpeers", m);
			}
		} else if (!strcmp(t, "PeerlistComplete")) {
			start_details(d, D_PEER_DETAILS);
		}
		return;
	case D_DETAILS:
	case D_PEER_DETAILS: {
		const char *id = ami_get0(m, "ActionID");
		char prefix[24];
		int pl = snprintf(prefix, sizeof prefix, "pdd-%u-", d->seq);
		if (strncmp(id, prefix, (size_t)pl) != 0)
			return;
		bool done = d->st == D_DETAILS
		                ? (!strcmp(t, "EndpointDetailComplete") || (is_resp && !ok))
		                : is_resp;
		if (done) {
			d->detail_done++;
			send_details(d);
		}
		return;
	}
	case D_VOICEMAIL:
		if (!id_is(m, d->cur_id))
			return;
		/* an Error (no app_voicemail, or not permitted), a plain Success
		 * ("There are no voicemail users currently defined.") or the end
		 * of the list: sync with what is known */
		if ((is_resp && (!ok || !ami_get(m, "EventList"))) ||
		    !strcmp(t, "VoicemailUserEntryComplete"))
			do_sync(d);
		else
			d->deadline = d->l.now + STEP_TIMEOUT_MS;
		return;
	case D_QUEUES:
		if (!id_is(m, d->cur_id))
			return;
		if ((is_resp && !ok) || !strcmp(t, "QueueStatusComplete"))
			step_channels(d); /* no app_queue: no agents, calls still shown */
		return;
	case D_CHANNELS:
		if (!id_is(m, d->cur_id))
			return;
		if (is_resp && !ok) {
			step_error(d, "CoreShowChannels", m);
		} else if (!strcmp(t, "CoreShowChannelsComplete")) {
			ami_model_snapshot_end(d->m, d->l.now);
			d->st = D_MONITORING;
			pd_backoff_reset(&d->l.bo);
			d->deadline = INT64_MAX;
			d->l.dirty = true;
			pd_drv_publish_now(&d->l);
			link_set(d, PD_LINK_MONITORING);
		}
		return;
	default:
		return;
	}
}

/* ---- the transport ---- */

static void tp_open(void *ctx)
{
	ami_drv *d = ctx;
	d->st = D_BANNER;
	d->deadline = d->l.now + STEP_TIMEOUT_MS;
	link_set(d, PD_LINK_LOGGING_IN);
}

static bool tp_data(void *ctx, char *buf, size_t n)
{
	ami_drv *d = ctx;
	ami_parser_feed_rw(d->p, buf, n); /* in place: the transport's buffer */
	return !d->l.fail;
}

static void tp_fail(void *ctx, pd_tport_fail what, const char *why)
{
	ami_drv *d = ctx;
	if (d->st != D_WAIT)
		pd_drv_link_tport_failed(&d->l, what, why, d->st == D_LOGIN);
}

static void start_connect(ami_drv *d)
{
	pd_drv_link_attempt(&d->l);
	ami_parser_reset(d->p);
	d->st = D_OPENING;
	d->deadline = INT64_MAX; /* the transport's own step timeouts */
	link_set(d, PD_LINK_CONNECTING);
	pd_tport_open(d->l.t, d->l.now);
}

static void flush_out(ami_drv *d)
{
	pd_tport_flush(d->l.t);
}

static void after_feed(void *p)
{
	ami_drv *d = p;
	pd_drv_settle(&d->l);
	input_check(d, false);
	publish(d);
	flush_out(d);
}

/* ---- the ops ---- */

static pd_status ami_create(const pd_drv_conf *c, const pd_drv_host *h, void **out, pd_err *e)
{
	ami_drv *d = xcalloc(1, sizeof *d);
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
	ami_parser_opts po = {.expect_banner = true, .max_msg = c->max_message};
	ami_skip_unread(&po); /* neither this driver nor the model reads them */
	d->p = ami_parser_new(&po, on_msg, d);
	d->m = ami_model_new();
	pd_model_limits lim = pd_model_limits_of(c);
	ami_model_set_limits(d->m, &lim);
	ami_model_set_default_wrapup(d->m, wrapup);
	d->l.now = pd_live_now_ms();
	start_connect(d);
	*out = d;
	return PD_OK;
}

static void ami_destroy(void *p)
{
	ami_drv *d = p;
	if (!d)
		return;
	if (d->l.t && d->st > D_LOGIN) {
		/* a clean goodbye (the monitor stops, the daemon ends): Asterisk
		 * logs "Manager ... logged off" rather than a lost connection;
		 * best effort, what the socket takes now */
		pd_buf b = {0};
		ami_put(&b, "Action", "Logoff");
		ami_put(&b, "ActionID", "pd-bye");
		ami_end(&b);
		send_buf(d, &b);
		flush_out(d);
	}
	pd_drv_link_free(&d->l);
	ami_parser_free(d->p);
	ami_model_free(d->m);
	free(d);
}

static int64_t ami_next_deadline(void *p)
{
	ami_drv *d = p;
	int64_t t = pd_drv_link_deadline(&d->l, ami_model_next_deadline(d->m), publish_gap(d),
	                                 d->st == D_WAIT);
	if (d->st == D_OPENING) {
		if (pd_tport_next_deadline(d->l.t) < t)
			t = pd_tport_next_deadline(d->l.t);
	} else if (d->st == D_MONITORING) {
		if (pd_keepalive_deadline(&d->ka) < t)
			t = pd_keepalive_deadline(&d->ka);
	} else if (d->st != D_WAIT && d->deadline < t) {
		t = d->deadline;
	}
	return t;
}

static const char *step_name(enum dstate s)
{
	switch (s) {
	case D_BANNER:
		return N_("waiting for the banner");
	case D_LOGIN:
		return N_("login");
	case D_ENDPOINTS:
	case D_DETAILS:
	case D_SIPPEERS:
	case D_PEER_DETAILS:
		return N_("user discovery");
	case D_VOICEMAIL:
		return "VoicemailUsersList";
	case D_QUEUES:
		return "QueueStatus";
	case D_CHANNELS:
		return "CoreShowChannels";
	default:
		return "?";
	}
}

static void ami_on_timer(void *p, int64_t now)
{
	ami_drv *d = p;
	d->l.now = now;
	if (ami_model_tick(d->m, now))
		d->l.dirty = true;
	input_check(d, false);
	if (d->st == D_WAIT) {
		if (pd_drv_link_retry_due(&d->l, now))
			start_connect(d);
	} else if (d->st == D_OPENING) {
		pd_tport_on_timer(d->l.t, now);
	} else if (d->st == D_MONITORING) {
		pd_ka_action ka = pd_keepalive_check(&d->ka, now);
		if (ka == PD_KA_OVERDUE) {
			pd_drv_link_down_msg(&d->l, PD_LINK_RETRYING,
			                     N_("no answer to Ping for %llds"),
			                     (long long)(d->ka.interval_ms / 1000));
		} else if (ka == PD_KA_PING) {
			pd_buf b = {0};
			new_id(d, d->ping_id, sizeof d->ping_id);
			ami_put(&b, "Action", "Ping");
			ami_put(&b, "ActionID", d->ping_id);
			ami_end(&b);
			send_buf(d, &b);
			pd_keepalive_sent(&d->ka, now);
			flush_out(d);
		}
	} else if (now >= d->deadline) {
		pd_drv_link_down_msg(&d->l, PD_LINK_RETRYING, N_("timed out during %s"),
		                     pd_msg_word(step_name(d->st)));
	}
	publish(d);
}

static void ami_resync(void *p, int64_t now)
{
	ami_drv *d = p;
	d->l.now = now;
	if (d->st == D_MONITORING) {
		step_endpoints(d);
		flush_out(d);
	} else if (d->st == D_WAIT) {
		pd_backoff_reset(&d->l.bo);
		start_connect(d);
	}
}

static pd_link_state ami_state(void *p)
{
	ami_drv *d = p;
	switch (d->st) {
	case D_WAIT:
		return d->l.wait_state;
	case D_OPENING:
		return PD_LINK_CONNECTING;
	case D_BANNER:
	case D_LOGIN:
		return PD_LINK_LOGGING_IN;
	case D_MONITORING:
		return PD_LINK_MONITORING;
	default:
		return PD_LINK_DISCOVERING;
	}
}

pd_status ami_test(const pd_drv_conf *c, int timeout_ms, pd_drv_test_result *out,
                   pd_err *e); /* ami_test.c */

const pd_driver_ops pd_ami_driver = {
    .platform = "asterisk-ami",
    .create = ami_create,
    .test = ami_test,
    .destroy = ami_destroy,
    .pollfds = pd_drv_link_pollfds,
    .on_io = pd_drv_link_on_io,
    .next_deadline = ami_next_deadline,
    .on_timer = ami_on_timer,
    .resync = ami_resync,
    .state = ami_state,
    .last_sync = pd_drv_link_last_sync,
};

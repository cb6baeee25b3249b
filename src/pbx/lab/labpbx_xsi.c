/* The lab PBX's BroadWorks personality: an XSP speaking Xsi-Actions and
 * Xsi-Events over HTTP/1.1 (docs/architecture.md "BroadWorks Xsi", the
 * shapes of tests/fixtures/broadworks/). The users, queues, agents, call
 * generator and faults are the lab's (labpbx.c, labpbx_calls.c); only the
 * bytes differ.
 *
 * One HTTP connection is a session of the lab's poll loop. A request is read
 * whole (request line and headers within HEAD_MAX bytes and HEADERS_MAX
 * lines, a Content-Length body within BODY_MAX), answered with a
 * Content-Length response, and the next request on the same connection is
 * read (keep-alive). POST …/channel turns its connection into the event
 * channel: a `Transfer-Encoding: chunked` response that never ends, one XML
 * document per chunk (split into several chunks, down to 1 byte, while the
 * bytewise fault lasts).
 *
 * Lab data: enterprise "lab-ent", groups "group-1".."group-N" (N = sites),
 * users "<number>@lab.example", call centers "<queue>@lab.example". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "labpbx_internal.h"
#include "provdesk/dl_ssl.h"
#include "provdesk/xsi.h"

#define HEAD_MAX 8192
#define HEADERS_MAX 64
#define BODY_MAX 65536
#define PENDING_MAX 32768 /* unacknowledged events kept per channel */
#define MAX_CHANNELS 1024
#define MAX_SUBS 4096
#define ENTERPRISE "lab-ent"
#define A_ROOT "/com.broadsoft.xsi-actions/v2.0"
#define E_ROOT "/com.broadsoft.xsi-events/v2.0"
#define C_ROOT "/com.broadsoft.async/com.broadsoft.xsi-events/v2.0"
#define XML_DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define NS "http://schema.broadsoft.com/xsi"

enum { PKG_CALL = 1, PKG_AGENT = 2 };

typedef struct {
	char id[64];
	int64_t sent_at;
} pending_ev;

typedef struct xchan {
	char id[40];
	char set[128];
	session *s;     /* the connection streaming it */
	bool forgotten; /* heartbeat-404: the XSP lost it; the stream is silent */
	int64_t expires_at;
	uint64_t seq;     /* sequenceNumber of its events */
	unsigned born;    /* order of opening: the newest of a set gets its events */
	pending_ev *pend; /* unacknowledged, oldest first */
	size_t npend, cpend;
	int64_t acks;
} xchan;

typedef struct {
	char id[40];
	char set[128];
	int pkg;
	char group[64]; /* "" = enterprise level */
	int64_t expires_at;
} xsub;

struct lab_xsi_conn {
	xchan *chan; /* the channel this connection streams, or NULL */
	bool streaming;
	bool continued; /* "100 Continue" sent for the request being read */
};

struct lab_xsi {
	xchan *ch[MAX_CHANNELS];
	int nch;
	xsub *sub; /* grows up to MAX_SUBS */
	int nsub, csub;
	unsigned id_seq, chan_seq;
	bool *wrap; /* per user: Wrap-Up sent, Available due at wrapup_until */
	atomic_llong channels_opened, channels_ended, acks, events_sent, heartbeats, deletes,
	    unauthorized, refreshes, state_reads, call_reads;
	atomic_int channels_live, subs_live;
	int conns;            /* HTTP connections open now */
	atomic_int conns_max; /* the most open at once */
};

/* ---- helpers ---- */

static int64_t wall_ms(pd_labpbx *l)
{
	return l->epoch * 1000 + (l->now - l->boot_ms);
}

/* What the XSP grants for an asked expiry: at most opts.grant_expires_s. */
static long granted(pd_labpbx *l, long asked)
{
	return l->o.grant_expires_s > 0 && asked > l->o.grant_expires_s ? l->o.grant_expires_s
	                                                                : asked;
}

static void el(pd_buf *b, const char *pfx, const char *tag, const char *v)
{
	pd_buf_printf(b, "<%s%s>", pfx, tag);
	xsi_xml_escape(b, v);
	pd_buf_printf(b, "</%s%s>", pfx, tag);
}

static void el_ll(pd_buf *b, const char *pfx, const char *tag, long long v)
{
	pd_buf_printf(b, "<%s%s>%lld</%s%s>", pfx, tag, v, pfx, tag);
}

/* The text of the first <tag>…</tag> of a small request body, without the
 * whitespace around it (the lab's own reading, bounded by the body); false
 * when absent or too long. */
static bool body_get(const char *body, size_t n, const char *tag, char *out, size_t on)
{
	char open[80], close[80];
	snprintf(open, sizeof open, "<%s>", tag);
	snprintf(close, sizeof close, "</%s>", tag);
	const char *a = memmem(body, n, open, strlen(open));
	if (!a)
		return false;
	a += strlen(open);
	const char *z = memmem(a, n - (size_t)(a - body), close, strlen(close));
	if (!z)
		return false;
	while (a < z && (*a == ' ' || *a == '\t' || *a == '\r' || *a == '\n'))
		a++;
	while (z > a && (z[-1] == ' ' || z[-1] == '\t' || z[-1] == '\r' || z[-1] == '\n'))
		z--;
	if ((size_t)(z - a) >= on)
		return false;
	memcpy(out, a, (size_t)(z - a));
	out[z - a] = '\0';
	return true;
}

static void new_id(pd_labpbx *l, const char *pfx, char *out, size_t n)
{
	snprintf(out, n, "%s-%08x-%04x", pfx, (unsigned)(lab_rnd(l) & 0xffffffffu),
	         ++l->xs->id_seq & 0xffff);
}

static const char *user_group(pd_labpbx *l, int i, char *buf, size_t n)
{
	snprintf(buf, n, "group-%d", i % l->o.sites + 1);
	return buf;
}

static const char *queue_group(pd_labpbx *l, int q, char *buf, size_t n)
{
	snprintf(buf, n, "group-%d", q % l->o.sites + 1);
	return buf;
}

static void acd_name(const char *q, char *out, size_t n)
{
	snprintf(out, n, "%s", q);
	if (out[0] >= 'a' && out[0] <= 'z')
		out[0] = (char)(out[0] - 'a' + 'A');
}

static bool group_known(pd_labpbx *l, const char *g)
{
	for (int i = 1; i <= l->o.sites; i++) {
		char b[32];
		snprintf(b, sizeof b, "group-%d", i);
		if (!strcmp(b, g))
			return true;
	}
	return false;
}

/* A group administrator (opts admin_group) may act on its own group only. */
static bool allowed(pd_labpbx *l, const char *grp)
{
	return !l->o.admin_group || (grp && !strcmp(grp, l->o.admin_group));
}

/* ---- HTTP responses ---- */

static const char *reason_of(int code)
{
	switch (code) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 413:
		return "Payload Too Large";
	case 431:
		return "Request Header Fields Too Large";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	default:
		return "Error";
	}
}

static int respond(session *s, int code, const char *extra_headers, const char *body)
{
	pd_buf b = {0};
	size_t n = body ? strlen(body) : 0;
	pd_buf_printf(&b, "HTTP/1.1 %d %s\r\n", code, reason_of(code));
	pd_buf_add(&b, "Server: provdesk-lab-xsp\r\n");
	if (n)
		pd_buf_add(&b, "Content-Type: application/xml; charset=UTF-8\r\n");
	if (extra_headers)
		pd_buf_add(&b, extra_headers);
	if (s->close_after)
		pd_buf_add(&b, "Connection: close\r\n");
	pd_buf_printf(&b, "Content-Length: %zu\r\n\r\n", n);
	if (n)
		pd_buf_addn(&b, body, n);
	lab_sess_send(s, b.s, b.len);
	pd_buf_free(&b);
	return 0;
}

static int respond_error(session *s, int code, const char *summary)
{
	pd_buf b = {0};
	pd_buf_add(&b, XML_DECL "<ErrorInfo xmlns=\"" NS "\">");
	el(&b, "", "summary", summary);
	el(&b, "", "summaryEnglish", summary);
	el_ll(&b, "", "errorCode", code);
	pd_buf_add(&b, "</ErrorInfo>");
	respond(s, code, code == 401 ? "WWW-Authenticate: Basic realm=\"BroadWorks\"\r\n" : NULL,
	        b.s);
	pd_buf_free(&b);
	return 0;
}

/* ---- the event channel ---- */

/* One document as chunks: whole, or in pieces of 1..16 bytes while the
 * bytewise fault lasts; written at once or not at all (past the session's
 * output bound), so the stream never has a hole. False when not. */
static bool chunk_out(pd_labpbx *l, session *s, const char *d, size_t n)
{
	bool split = s->bytewise_until > l->now;
	pd_buf b = {0};
	while (n) {
		size_t k = split ? 1 + (size_t)(lab_rnd(l) % 16) : n;
		if (k > n)
			k = n;
		pd_buf_printf(&b, "%zx\r\n", k);
		pd_buf_addn(&b, d, k);
		pd_buf_add(&b, "\r\n");
		d += k;
		n -= k;
	}
	bool sent = lab_sess_send(s, b.s, b.len);
	pd_buf_free(&b);
	return sent;
}

static xchan *chan_by_id(pd_labpbx *l, const char *id)
{
	for (int i = 0; i < l->xs->nch; i++)
		if (!strcmp(l->xs->ch[i]->id, id))
			return l->xs->ch[i];
	return NULL;
}

static void chan_remove(pd_labpbx *l, xchan *c)
{
	struct lab_xsi *x = l->xs;
	for (int i = 0; i < x->nch; i++)
		if (x->ch[i] == c) {
			x->ch[i] = x->ch[--x->nch];
			break;
		}
	if (c->s && c->s->xc)
		c->s->xc->chan = NULL;
	atomic_store(&x->channels_live, x->nch);
	free(c->pend);
	free(c);
}

/* ChannelTerminatedEvent (typed on the Event, no eventID, as
 * tests/fixtures/broadworks/channel-end.xml), then the end of the chunked
 * stream; the connection closes once written. */
static void chan_end(pd_labpbx *l, xchan *c)
{
	session *s = c->s;
	if (s && !c->forgotten) {
		pd_buf b = {0};
		pd_buf_add(&b, XML_DECL "<xsi:Event xsi1:type=\"xsi:ChannelTerminatedEvent\" "
		                        "xmlns:xsi=\"" NS "\" xmlns:xsi1=\"http://www.w3.org/2001/"
		                        "XMLSchema-instance\">");
		el(&b, "xsi:", "channelId", c->id);
		pd_buf_add(&b, "</xsi:Event>");
		chunk_out(l, s, b.s, b.len);
		pd_buf_free(&b);
		lab_sess_send(s, "0\r\n\r\n", 5);
		s->close_after = true;
	} else if (s) {
		s->close_after = true;
	}
	atomic_fetch_add(&l->xs->channels_ended, 1);
	chan_remove(l, c);
}

static void ev_head(pd_labpbx *l, pd_buf *b, xchan *c, const xsub *sub, const char *target,
                    const char *data_type, char *ev_id, size_t ev_n)
{
	c->seq++;
	snprintf(ev_id, ev_n, "ev-%llu-%.8s", (unsigned long long)c->seq, c->id + 3);
	pd_buf_add(b, XML_DECL "<xsi:Event xsi1:type=\"xsi:SubscriptionEvent\" xmlns:xsi=\"" NS
	                       "\" xmlns:xsi1=\"http://www.w3.org/2001/XMLSchema-instance\">");
	el(b, "xsi:", "eventID", ev_id);
	el_ll(b, "xsi:", "sequenceNumber", (long long)c->seq);
	el(b, "xsi:", "userId", l->o.username);
	el(b, "xsi:", "externalApplicationId", "provdesk");
	el(b, "xsi:", "subscriptionId", sub->id);
	el(b, "xsi:", "channelId", c->id);
	el(b, "xsi:", "targetId", target);
	pd_buf_printf(b, "<xsi:eventData xsi1:type=\"xsi:%s\">", data_type);
	(void)l;
}

/* Writes one event on c for sub; data = the inside of eventData. */
static void send_event(pd_labpbx *l, xchan *c, const xsub *sub, const char *target,
                       const char *data_type, const char *data)
{
	if (!c->s || c->forgotten)
		return;
	char id[64];
	pd_buf b = {0};
	ev_head(l, &b, c, sub, target, data_type, id, sizeof id);
	pd_buf_add(&b, data);
	pd_buf_add(&b, "</xsi:eventData></xsi:Event>");
	bool sent = chunk_out(l, c->s, b.s, b.len);
	pd_buf_free(&b);
	if (!sent)
		return; /* a channel not read: it ends when its events go unanswered */
	if (c->npend == PENDING_MAX) { /* nobody acknowledges: the oldest stays */
		memmove(c->pend + 1, c->pend + 2, (PENDING_MAX - 2) * sizeof *c->pend);
		c->npend--;
	}
	if (c->npend == c->cpend) {
		c->cpend = c->cpend ? c->cpend * 2 : 16;
		c->pend = xrealloc(c->pend, c->cpend * sizeof *c->pend);
	}
	pending_ev *p = &c->pend[c->npend++];
	snprintf(p->id, sizeof p->id, "%s", id);
	p->sent_at = l->now;
	atomic_fetch_add(&l->xs->events_sent, 1);
}

/* The channel of a channel set that receives its events: an XSP sends each
 * event on one channel of the set; here the newest one still streaming (a
 * client rebuilding with the same set gets them on its new channel). */
static xchan *chan_of_set(pd_labpbx *l, const char *set)
{
	xchan *best = NULL;
	for (int i = 0; i < l->xs->nch; i++) {
		xchan *c = l->xs->ch[i];
		if (c->s && !c->forgotten && !strcmp(c->set, set) &&
		    (!best || c->born > best->born))
			best = c;
	}
	return best;
}

/* Every subscription that wants an event of pkg about a user of group grp:
 * the event on its channel set's channel. */
static void deliver(pd_labpbx *l, int pkg, const char *grp, const char *target,
                    const char *data_type, const char *data)
{
	struct lab_xsi *x = l->xs;
	for (int k = 0; k < x->nsub; k++) {
		const xsub *sub = &x->sub[k];
		if (sub->pkg != pkg || (sub->group[0] && strcmp(sub->group, grp) != 0))
			continue;
		xchan *c = chan_of_set(l, sub->set);
		if (c)
			send_event(l, c, sub, target, data_type, data);
	}
}

/* ---- events of the call generator ---- */

typedef struct {
	const char *call_id, *ext_id, *pers, *state;
	const char *rname, *rnum, *ruser, *rtype;
	int64_t start, answer, held, release;
	int q; /* acdCallInfo of queue q, -1 none */
} half;

/* A half's fields: inside an event's <xsi:call>, or a <Call> answer. */
static void put_call_fields(pd_labpbx *l, pd_buf *b, const half *h)
{
	el(b, "xsi:", "callId", h->call_id);
	el(b, "xsi:", "extTrackingId", h->ext_id);
	el(b, "xsi:", "personality", h->pers);
	el(b, "xsi:", "state", h->state);
	pd_buf_add(b, "<xsi:remoteParty>");
	if (h->rname && *h->rname)
		el(b, "xsi:", "name", h->rname);
	pd_buf_printf(b, "<xsi:address%s>tel:", h->rnum[0] == '+' ? " countryCode=\"33\"" : "");
	xsi_xml_escape(b, h->rnum);
	pd_buf_add(b, "</xsi:address>");
	if (h->ruser)
		el(b, "xsi:", "userId", h->ruser);
	el(b, "xsi:", "callType", h->rtype);
	pd_buf_add(b, "</xsi:remoteParty>");
	el_ll(b, "xsi:", "startTime", (long long)h->start);
	if (h->answer)
		el_ll(b, "xsi:", "answerTime", (long long)h->answer);
	if (h->held)
		el_ll(b, "xsi:", "heldTime", (long long)h->held);
	if (h->release)
		el_ll(b, "xsi:", "releaseTime", (long long)h->release);
	if (h->q >= 0 && !h->release) {
		char user[96], name[64];
		snprintf(user, sizeof user, "%s@lab.example", l->qname[h->q]);
		acd_name(l->qname[h->q], name, sizeof name);
		pd_buf_add(b, "<xsi:acdCallInfo>");
		el(b, "xsi:", "acdUserId", user);
		el(b, "xsi:", "acdName", name);
		pd_buf_printf(b, "<xsi:acdNumber>+3319000%04d</xsi:acdNumber>", 2000 + h->q);
		el_ll(b, "xsi:", "numCallsInQueueAtOriginalEntry",
		      lab_waiting_in(l, h->q) > 0 ? lab_waiting_in(l, h->q) - 1 : 0);
		pd_buf_add(b, "</xsi:acdCallInfo>");
	}
}

static void put_call(pd_labpbx *l, pd_buf *b, const half *h)
{
	pd_buf_add(b, "<xsi:call>");
	put_call_fields(l, b, h);
	pd_buf_add(b, "</xsi:call>");
}

static void call_event(pd_labpbx *l, const char *type, const half *h, const char *target,
                       const char *grp)
{
	pd_buf b = {0};
	put_call(l, &b, h);
	deliver(l, PKG_CALL, grp, target, type, b.s);
	pd_buf_free(&b);
}

static int64_t at_wall(pd_labpbx *l, int64_t mono)
{
	return mono ? l->epoch * 1000 + (mono - l->boot_ms) : 0;
}

/* A call's two halves (the call center's, the agent's), their ids and
 * targets, states left to the caller. */
typedef struct {
	char cc_call[64], ag_call[64], ext[64], cc_user[96], ag_user[32], grp[32], qgrp[32];
	half cc, ag;
} halves;

static void halves_of(pd_labpbx *l, const lcall *c, halves *v)
{
	memset(v, 0, sizeof *v);
	snprintf(v->cc_call, sizeof v->cc_call, "callhalf-%s:0", c->uid);
	snprintf(v->ag_call, sizeof v->ag_call, "callhalf-%s:1", c->a_uid[0] ? c->a_uid : c->uid);
	snprintf(v->ext, sizeof v->ext, "%s:1", c->uid);
	if (c->agent >= 0) {
		snprintf(v->ag_user, sizeof v->ag_user, "%s@lab.example", l->u[c->agent].ep);
		user_group(l, c->agent, v->grp, sizeof v->grp);
	}
	if (c->q >= 0) {
		snprintf(v->cc_user, sizeof v->cc_user, "%s@lab.example", l->qname[c->q]);
		queue_group(l, c->q, v->qgrp, sizeof v->qgrp);
	}
	int64_t now = wall_ms(l);
	/* the caller (inbound) or the number dialled (outbound) */
	v->cc = (half){.call_id = v->cc_call,
	               .ext_id = v->ext,
	               .pers = "Terminator",
	               .rname = c->cid_name,
	               .rnum = c->cid_num,
	               .rtype = "Network",
	               .start = at_wall(l, c->join_at),
	               .q = c->q};
	if (!v->cc.start)
		v->cc.start = now;
	v->ag = v->cc;
	v->ag.call_id = v->ag_call;
	v->ag.start = at_wall(l, c->ring_at ? c->ring_at : c->join_at);
	if (!v->ag.start)
		v->ag.start = now;
	if (c->outbound) {
		v->ag.pers = "Originator";
		v->ag.rname = "";
		v->ag.rnum = c->dialed;
		v->ag.q = -1;
	}
}

void lab_xsi_call(pd_labpbx *l, const lcall *c, int step)
{
	if (!l->xs)
		return;
	halves v;
	halves_of(l, c, &v);
	half cc = v.cc, ag = v.ag;
	const char *cc_user = v.cc_user, *ag_user = v.ag_user, *grp = v.grp, *qgrp = v.qgrp;
	const luser *u = c->agent >= 0 ? &l->u[c->agent] : NULL;
	int64_t now = wall_ms(l);
	switch (step) {
	case LAB_CALL_JOIN: /* the call center's own half: received, then answered */
		cc.state = "Alerting";
		call_event(l, "CallReceivedEvent", &cc, cc_user, qgrp);
		cc.state = "Active";
		cc.answer = now;
		call_event(l, "CallAnsweredEvent", &cc, cc_user, qgrp);
		break;
	case LAB_CALL_OFFER:
	case LAB_CALL_DIRECT_OFFER:
		ag.state = "Alerting";
		call_event(l, "CallReceivedEvent", &ag, ag_user, grp);
		break;
	case LAB_CALL_OUT_START:
		ag.state = "Alerting";
		call_event(l, "CallOriginatedEvent", &ag, ag_user, grp);
		break;
	case LAB_CALL_ANSWER:
	case LAB_CALL_OUT_ANSWER:
		ag.state = "Active";
		ag.answer = now;
		call_event(l, "CallAnsweredEvent", &ag, ag_user, grp);
		if (step == LAB_CALL_ANSWER && c->q >= 0) { /* the queue's half leaves */
			cc.state = "Released";
			cc.release = now;
			call_event(l, "CallReleasedEvent", &cc, cc_user, qgrp);
		}
		break;
	case LAB_CALL_HOLD:
	case LAB_CALL_UNHOLD:
		ag.state = step == LAB_CALL_HOLD ? "Held" : "Active";
		ag.answer = at_wall(l, c->answer_at);
		if (step == LAB_CALL_HOLD)
			ag.held = now;
		call_event(l, step == LAB_CALL_HOLD ? "CallHeldEvent" : "CallRetrievedEvent", &ag,
		           ag_user, grp);
		break;
	case LAB_CALL_HANGUP:
		ag.state = "Released";
		ag.answer = at_wall(l, c->answer_at);
		ag.release = now;
		call_event(l, "CallReleasedEvent", &ag, ag_user, grp);
		if (!c->outbound && !c->direct && c->q >= 0 && l->o.wrapup_s > 0 && u) {
			l->xs->wrap[c->agent] = true;
			lab_xsi_agent_status(l, u);
		}
		break;
	case LAB_CALL_ABANDON:
		cc.state = "Released";
		cc.release = now;
		call_event(l, "CallReleasedEvent", &cc, cc_user, qgrp);
		break;
	}
}

static const char *acd_state(pd_labpbx *l, int i)
{
	return l->u[i].paused ? "Unavailable" : l->xs->wrap[i] ? "Wrap-Up" : "Available";
}

static void agent_data(pd_labpbx *l, pd_buf *b, const luser *u)
{
	int i = (int)(u - l->u);
	const char *st = acd_state(l, i);
	long long ts = (long long)(u->last_pause ? u->last_pause * 1000 : l->epoch * 1000);
	if (l->xs->wrap[i] && !u->paused)
		ts = (long long)wall_ms(l);
	pd_buf_add(b, "<xsi:agentStateInfo>");
	el(b, "xsi:", "state", st);
	pd_buf_printf(b,
	              "<xsi:stateTimestamp><xsi:timestamp>%lld</xsi:timestamp>"
	              "</xsi:stateTimestamp>",
	              ts);
	if (u->paused && u->reason && *u->reason)
		el(b, "xsi:", "unavailableCode", u->reason);
	el_ll(b, "xsi:", "signInTimestamp", (long long)l->epoch * 1000);
	pd_buf_add(b, "</xsi:agentStateInfo>");
}

void lab_xsi_agent_status(pd_labpbx *l, const luser *u)
{
	if (!l->xs)
		return;
	pd_buf b = {0};
	agent_data(l, &b, u);
	char target[32], grp[32];
	snprintf(target, sizeof target, "%s@lab.example", u->ep);
	deliver(l, PKG_AGENT, user_group(l, (int)(u - l->u), grp, sizeof grp), target,
	        "AgentStateEvent", b.s);
	pd_buf_free(&b);
}

/* ---- requests ---- */

typedef struct {
	char method[16];
	char path[1024];
	char query[1024];
	const char *body;
	size_t body_len;
} request;

/* The expiry asked in r's body (3600 when none) as granted (granted()); -1
 * after answering 400 for a bad one. */
static long asked_expiry(pd_labpbx *l, session *s, const request *r)
{
	char exp[16];
	long expires = 3600;
	if (body_get(r->body, r->body_len, "expires", exp, sizeof exp)) {
		char *end;
		expires = strtol(exp, &end, 10);
		if (*end || expires <= 0) {
			respond_error(s, 400, "expires must be a positive number");
			return -1;
		}
	}
	return granted(l, expires);
}

static bool query_get(const char *q, const char *key, char *out, size_t n)
{
	size_t kl = strlen(key);
	for (const char *p = q; p && *p;) {
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);
		if (len > kl && !strncmp(p, key, kl) && p[kl] == '=') {
			size_t vl = len - kl - 1;
			if (vl >= n)
				return false;
			memcpy(out, p + kl + 1, vl);
			out[vl] = '\0';
			return true;
		}
		p = amp ? amp + 1 : NULL;
	}
	return false;
}

static long long query_num(const char *q, const char *key, long long dflt)
{
	char v[32];
	if (!query_get(q, key, v, sizeof v))
		return dflt;
	char *end;
	long long n = strtoll(v, &end, 10);
	return *end || end == v ? -1 : n;
}

static void dir_user(pd_labpbx *l, pd_buf *b, int i)
{
	const luser *u = &l->u[i];
	char first[128], grp[32];
	const char *sp = strchr(u->name, ' ');
	size_t fn = sp ? (size_t)(sp - u->name) : strlen(u->name);
	snprintf(first, sizeof first, "%.*s", (int)fn, u->name);
	pd_buf_add(b, "<directoryDetails>");
	pd_buf_printf(b, "<userId>%s@lab.example</userId>", u->ep);
	el(b, "", "firstName", first);
	el(b, "", "lastName", sp ? sp + 1 : "");
	el(b, "", "groupId", user_group(l, i, grp, sizeof grp));
	pd_buf_printf(b, "<number>+3319000%s</number><extension>%s</extension>", u->ep, u->ep);
	if (u->email && *u->email) {
		pd_buf_add(b, "<additionalDetails>");
		el(b, "", "emailAddress", u->email);
		pd_buf_add(b, "</additionalDetails>");
	}
	pd_buf_add(b, "</directoryDetails>");
}

static void dir_queue(pd_labpbx *l, pd_buf *b, int q)
{
	char name[64], grp[32];
	acd_name(l->qname[q], name, sizeof name);
	pd_buf_add(b, "<directoryDetails>");
	pd_buf_add(b, "<userId>");
	xsi_xml_escape(b, l->qname[q]);
	pd_buf_add(b, "@lab.example</userId>");
	el(b, "", "firstName", name);
	el(b, "", "lastName", "Queue");
	el(b, "", "groupId", queue_group(l, q, grp, sizeof grp));
	pd_buf_printf(b, "<number>+3319000%04d</number><extension>%04d</extension>", 2000 + q,
	              2000 + q);
	pd_buf_add(b, "</directoryDetails>");
}

/* GET A/enterprise/{ent}/directories/Enterprise, A/group/{grp}/directories/Group */
static int do_directory(pd_labpbx *l, session *s, const request *r, const char *grp)
{
	long long start = query_num(r->query, "start", 1), res = query_num(r->query, "results", 50);
	if (start < 1 || res < 1) {
		respond_error(s, 400, "start and results must be positive numbers");
		return 0;
	}
	if (res > 500)
		res = 500;
	/* the entries in scope: users, then call centers */
	int total = 0, *idx = xcalloc((size_t)(l->nu + l->o.queues), sizeof *idx);
	char g[32];
	for (int i = 0; i < l->nu; i++)
		if (!grp || !strcmp(user_group(l, i, g, sizeof g), grp))
			idx[total++] = i;
	for (int q = 0; q < l->o.queues; q++)
		if (!grp || !strcmp(queue_group(l, q, g, sizeof g), grp))
			idx[total++] = -1 - q;
	long long first = start - 1, n = 0;
	if (first < total)
		n = total - first < res ? total - first : res;
	pd_buf b = {0};
	const char *root = grp ? "Group" : "Enterprise";
	pd_buf_printf(&b,
	              XML_DECL "<%s xmlns=\"" NS "\"><startIndex>%lld</startIndex>"
	                       "<numberOfRecords>%lld</numberOfRecords>"
	                       "<totalAvailableRecords>%d</totalAvailableRecords>\n<%s>\n",
	              root, start, n, total, grp ? "groupDirectory" : "enterpriseDirectory");
	for (long long k = 0; k < n; k++) {
		int i = idx[first + k];
		if (i >= 0)
			dir_user(l, &b, i);
		else
			dir_queue(l, &b, -1 - i);
		pd_buf_addc(&b, '\n');
	}
	pd_buf_printf(&b, "</%s></%s>\n", grp ? "groupDirectory" : "enterpriseDirectory", root);
	respond(s, 200, NULL, b.s);
	pd_buf_free(&b);
	free(idx);
	return 0;
}

static int do_channel(pd_labpbx *l, session *s, const request *r)
{
	struct lab_xsi *x = l->xs;
	char set[128];
	if (!body_get(r->body, r->body_len, "channelSetId", set, sizeof set) || !*set) {
		respond_error(s, 400, "a Channel needs a channelSetId");
		return 0;
	}
	long expires = asked_expiry(l, s, r);
	if (expires < 0)
		return 0;
	if (x->nch == MAX_CHANNELS) {
		respond_error(s, 503, "too many channels");
		return 0;
	}
	xchan *c = xcalloc(1, sizeof *c);
	new_id(l, "ch", c->id, sizeof c->id);
	snprintf(c->set, sizeof c->set, "%s", set);
	c->s = s;
	c->born = ++x->chan_seq;
	c->expires_at = l->now + expires * 1000;
	x->ch[x->nch++] = c;
	s->xc->chan = c;
	s->xc->streaming = true;
	atomic_store(&x->channels_live, x->nch);
	atomic_fetch_add(&x->channels_opened, 1);
	static const char head[] = "HTTP/1.1 200 OK\r\nServer: provdesk-lab-xsp\r\n"
	                           "Content-Type: application/xml; charset=UTF-8\r\n"
	                           "Transfer-Encoding: chunked\r\n\r\n";
	lab_sess_send(s, head, sizeof head - 1);
	pd_buf b = {0};
	pd_buf_add(&b, XML_DECL "<Channel xmlns=\"" NS "\">");
	el(&b, "", "channelId", c->id);
	el(&b, "", "channelSetId", c->set);
	pd_buf_add(&b, "<priority>1</priority><weight>100</weight>");
	el_ll(&b, "", "expires", expires);
	el(&b, "", "applicationId", "provdesk");
	pd_buf_add(&b, "</Channel>");
	chunk_out(l, s, b.s, b.len);
	pd_buf_free(&b);
	return 0;
}

static int do_subscribe(pd_labpbx *l, session *s, const request *r, const char *grp)
{
	struct lab_xsi *x = l->xs;
	char ev[64], set[128];
	if (!body_get(r->body, r->body_len, "event", ev, sizeof ev)) {
		respond_error(s, 400, "a Subscription needs an event package");
		return 0;
	}
	int pkg = !strcmp(ev, "Advanced Call")       ? PKG_CALL
	          : !strcmp(ev, "Call Center Agent") ? PKG_AGENT
	                                             : 0;
	if (!pkg) {
		respond_error(s, 400, "unknown event package");
		return 0;
	}
	if (!body_get(r->body, r->body_len, "channelSetId", set, sizeof set) || !*set) {
		respond_error(s, 400, "a Subscription needs a channelSetId");
		return 0;
	}
	long expires = asked_expiry(l, s, r);
	if (expires < 0)
		return 0;
	if (x->nsub == MAX_SUBS) {
		respond_error(s, 503, "too many subscriptions");
		return 0;
	}
	if (x->nsub == x->csub) {
		x->csub = x->csub ? x->csub * 2 : 8;
		x->sub = xrealloc(x->sub, (size_t)x->csub * sizeof *x->sub);
	}
	xsub *sub = &x->sub[x->nsub++];
	memset(sub, 0, sizeof *sub);
	new_id(l, "sub", sub->id, sizeof sub->id);
	snprintf(sub->set, sizeof sub->set, "%s", set);
	snprintf(sub->group, sizeof sub->group, "%s", grp ? grp : "");
	sub->pkg = pkg;
	sub->expires_at = l->now + expires * 1000;
	atomic_store(&x->subs_live, x->nsub);
	pd_buf b = {0};
	pd_buf_add(&b, XML_DECL "<Subscription xmlns=\"" NS "\">");
	el(&b, "", "subscriptionId", sub->id);
	el_ll(&b, "", "expires", expires);
	pd_buf_add(&b, "</Subscription>");
	respond(s, 200, NULL, b.s);
	pd_buf_free(&b);
	/* a group or an enterprise subscription brings no initial state (a
	 * user's would): a client reads each agent's (do_callcenter) */
	return 0;
}

/* %XX in a path segment decoded (in place); false on a bad escape or NUL. */
static bool pct_decode(char *p)
{
	char *o = p;
	for (; *p; p++) {
		if (*p != '%') {
			*o++ = *p;
			continue;
		}
		int hi = pd_hex_digit(p[1]), lo = hi < 0 ? -1 : pd_hex_digit(p[2]);
		if (lo < 0 || (hi | lo) == 0)
			return false;
		int v = hi << 4 | lo;
		*o++ = (char)v;
		p += 2;
	}
	*o = '\0';
	return true;
}

/* A hostile XSP's answer to user i's state read (opts xsi_bad_state_reads). */
static int bad_callcenter(pd_labpbx *l, session *s, int i)
{
	switch (i % 6) {
	case 1:
		return respond(s, 200, NULL,
		               XML_DECL "<CallCenter xmlns=\"" NS "\"><agentACDState>");
	case 2:
		return respond_error(s, 503, "the application server does not answer");
	case 3: /* an unknown state; a tab, a newline and bidi overrides (XML
	         * allows no other control) */
		return respond(s, 200, NULL,
		               XML_DECL
		               "<CallCenter xmlns=\"" NS "\"><agentACDState>Sign"
		               "&#x9;In\xe2\x80\xae</agentACDState><agentUnavailableCode>"
		               "\xe2\x80\xaeLunch&#xA;x</agentUnavailableCode></CallCenter>");
	case 4: { /* past what a client keeps of an answer */
		pd_buf b = {0};
		pd_buf_add(&b, XML_DECL "<CallCenter xmlns=\"" NS "\"><agentACDState>Available"
		                        "</agentACDState><!--");
		for (int k = 0; k < (5 << 20) / 64; k++)
			pd_buf_add(
			    &b, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
		pd_buf_add(&b, "--></CallCenter>");
		respond(s, 200, NULL, b.s);
		pd_buf_free(&b);
		return 0;
	}
	case 5:
		return respond_error(s, 403, "not allowed to read this user's services");
	default:
		return -1; /* answered as any lab user's */
	}
}

/* The user or call center of an Xsi user id (percent-decoded in place):
 * 0 with *user (index) or *queue set (the other -1), else an answer was
 * sent (400 malformed, 404 unknown, 403 outside the administrator's group). */
static int target_of(pd_labpbx *l, session *s, char *id, int *user, int *queue)
{
	*user = *queue = -1;
	if (!pct_decode(id))
		return respond_error(s, 400, "a malformed user id"), -1;
	const char *dom = strrchr(id, '@');
	if (!dom || strcmp(dom, "@lab.example"))
		return respond_error(s, 404, "user not found"), -1;
	size_t n = (size_t)(dom - id);
	char g[32];
	for (int q = 0; q < l->o.queues && *queue < 0; q++)
		if (strlen(l->qname[q]) == n && !strncmp(l->qname[q], id, n))
			*queue = q;
	for (int i = 0; i < l->nu && *queue < 0 && *user < 0; i++)
		if (strlen(l->u[i].ep) == n && !strncmp(l->u[i].ep, id, n))
			*user = i;
	if (*user < 0 && *queue < 0)
		return respond_error(s, 404, "user not found"), -1;
	if (!allowed(l, *user >= 0 ? user_group(l, *user, g, sizeof g)
	                           : queue_group(l, *queue, g, sizeof g)))
		return respond_error(s, 403, "not allowed for this administrator"), -1;
	return 0;
}

/* GET A/user/{userId}/services/CallCenter: an agent's ACD state, which no
 * group or enterprise subscription brings; a call center's own user is no
 * agent (400), an unknown user 404. */
static int do_callcenter(pd_labpbx *l, session *s, char *id)
{
	int i, q;
	if (target_of(l, s, id, &i, &q) < 0)
		return 0;
	if (q >= 0)
		return respond_error(s, 400, "the user has no Call Center agent service");
	atomic_fetch_add(&l->xs->state_reads, 1);
	if (l->o.xsi_bad_state_reads && bad_callcenter(l, s, i) == 0)
		return 0;
	pd_buf b = {0};
	pd_buf_add(&b, XML_DECL "<CallCenter xmlns=\"" NS "\">");
	el(&b, "", "agentACDState", acd_state(l, i));
	if (l->u[i].paused && l->u[i].reason && *l->u[i].reason)
		el(&b, "", "agentUnavailableCode", l->u[i].reason);
	pd_buf_add(&b, "<useDefaultGuardTimer>true</useDefaultGuardTimer>"
	               "<makeOutgoingCallsAsCallCenter>false</makeOutgoingCallsAsCallCenter>"
	               "</CallCenter>");
	respond(s, 200, NULL, b.s);
	pd_buf_free(&b);
	return 0;
}

/* Target id's half of call c as it stands now (state, answer, held times),
 * false when it has none: the call center's while the caller waits or an
 * agent's phone rings, the agent's from its ringing to the hang-up. */
static bool half_now(pd_labpbx *l, const lcall *c, const char *id, halves *v, half *out)
{
	if (c->phase == P_JOIN || c->phase == P_DONE)
		return false;
	halves_of(l, c, v);
	if (c->q >= 0 && !c->outbound && !c->direct && (c->phase == P_WAIT || c->phase == P_RING) &&
	    !strcmp(v->cc_user, id)) {
		*out = v->cc;
		out->state = "Active";
		out->answer = at_wall(l, c->join_at);
		return true;
	}
	if (c->agent >= 0 && (c->phase == P_RING || c->phase == P_TALK) &&
	    !strcmp(v->ag_user, id)) {
		*out = v->ag;
		out->state = c->phase == P_RING ? "Alerting" : c->held ? "Held" : "Active";
		if (c->phase == P_TALK)
			out->answer = at_wall(l, c->answer_at);
		if (c->phase == P_TALK && c->held)
			out->held = at_wall(l, c->hold_at);
		return true;
	}
	return false;
}

/* A hostile XSP's call list for user i (opts xsi_bad_state_reads). */
static int bad_calls(pd_labpbx *l, session *s, int i)
{
	switch (i % 6) {
	case 3: { /* more calls than a client reads, none of them up */
		pd_buf b = {0};
		pd_buf_add(&b, XML_DECL "<Calls xmlns=\"" NS "\">");
		for (int k = 0; k < 100; k++)
			pd_buf_printf(&b, "<call><callId>callhalf-gone-%d:1</callId></call>", k);
		pd_buf_add(&b, "</Calls>");
		respond(s, 200, NULL, b.s);
		pd_buf_free(&b);
		return 0;
	}
	default:
		return bad_callcenter(l, s, i); /* malformed, 503, over 5 MiB, 403 */
	}
}

/* GET A/user/{userId}/calls, …/calls/{callId}: the calls a user or a call
 * center is in now (no subscription of a group brings them), one of them
 * (404 when it is no longer up). */
static int do_calls(pd_labpbx *l, session *s, char *id, char *call_id)
{
	int i, q;
	if (target_of(l, s, id, &i, &q) < 0)
		return 0;
	if (call_id && !pct_decode(call_id))
		return respond_error(s, 400, "a malformed call id");
	atomic_fetch_add(&l->xs->call_reads, 1);
	if (!call_id && i >= 0 && l->o.xsi_bad_state_reads && bad_calls(l, s, i) == 0)
		return 0;
	pd_buf b = {0};
	pd_buf_add(&b, XML_DECL);
	pd_buf_add(&b, call_id ? "<xsi:Call xmlns:xsi=\"" NS "\">" : "<Calls xmlns=\"" NS "\">");
	bool found = false;
	for (size_t k = 0; k < l->ncalls && !found; k++) {
		halves v;
		half h;
		if (!half_now(l, &l->calls[k], id, &v, &h))
			continue;
		if (!call_id) {
			pd_buf_add(&b, "<call>");
			el(&b, "", "callId", h.call_id);
			pd_buf_add(&b, "<uri>" A_ROOT "/user/");
			xsi_xml_escape(&b, id);
			pd_buf_add(&b, "/calls/");
			xsi_xml_escape(&b, h.call_id);
			pd_buf_add(&b, "</uri></call>");
		} else if (!strcmp(h.call_id, call_id)) {
			put_call_fields(l, &b, &h);
			found = true;
		}
	}
	if (call_id && !found) {
		pd_buf_free(&b);
		return respond_error(s, 404, "no such call");
	}
	pd_buf_add(&b, call_id ? "</xsi:Call>" : "</Calls>");
	respond(s, 200, NULL, b.s);
	pd_buf_free(&b);
	return 0;
}

static int do_event_response(pd_labpbx *l, session *s, const request *r)
{
	char id[64];
	if (!body_get(r->body, r->body_len, "eventID", id, sizeof id) || !*id) {
		respond_error(s, 400, "an EventResponse needs an eventID");
		return 0;
	}
	struct lab_xsi *x = l->xs;
	for (int i = 0; i < x->nch; i++) {
		xchan *c = x->ch[i];
		for (size_t k = 0; k < c->npend; k++)
			if (!strcmp(c->pend[k].id, id)) {
				memmove(c->pend + k, c->pend + k + 1,
				        (c->npend - k - 1) * sizeof *c->pend);
				c->npend--;
				c->acks++;
				atomic_fetch_add(&x->acks, 1);
				goto done;
			}
	}
done:
	respond(s, 200, NULL, NULL);
	return 0;
}

static bool sub_remove(pd_labpbx *l, const char *id)
{
	struct lab_xsi *x = l->xs;
	for (int i = 0; i < x->nsub; i++)
		if (!strcmp(x->sub[i].id, id)) {
			x->sub[i] = x->sub[--x->nsub];
			atomic_store(&x->subs_live, x->nsub);
			return true;
		}
	return false;
}

static xsub *sub_by_id(pd_labpbx *l, const char *id)
{
	for (int i = 0; i < l->xs->nsub; i++)
		if (!strcmp(l->xs->sub[i].id, id))
			return &l->xs->sub[i];
	return NULL;
}

static bool auth_ok(pd_labpbx *l, const char *hdr)
{
	if (!hdr || strncasecmp(hdr, "Basic ", 6) != 0)
		return false;
	hdr += 6;
	while (*hdr == ' ')
		hdr++;
	pthread_mutex_lock(&l->mu);
	char *plain = xasprintf("%s:%s", l->o.username, l->secret_now);
	pthread_mutex_unlock(&l->mu);
	size_t n = strlen(plain);
	unsigned char *enc = xcalloc(1, 4 * ((n + 2) / 3) + 1);
	pd_ssl_need();
	EVP_EncodeBlock(enc, (const unsigned char *)plain, (int)n);
	size_t hl = strlen(hdr);
	while (hl && (hdr[hl - 1] == ' ' || hdr[hl - 1] == '\t'))
		hl--;
	bool ok = hl == strlen((char *)enc) && !memcmp(hdr, enc, hl);
	memset(plain, 0, n);
	memset(enc, 0, strlen((char *)enc));
	free(plain);
	free(enc);
	return ok;
}

/* Path segment i (0-based) after root into out; false when missing. */
static bool seg(const char *p, int i, char *out, size_t n)
{
	while (*p == '/')
		p++;
	for (int k = 0; k < i; k++) {
		p = strchr(p, '/');
		if (!p)
			return false;
		p++;
	}
	size_t len = strcspn(p, "/");
	if (!len || len >= n)
		return false;
	memcpy(out, p, len);
	out[len] = '\0';
	return true;
}

static int nsegs(const char *p)
{
	int n = 0;
	for (; *p; p++)
		if (*p == '/' && p[1] && p[1] != '/')
			n++;
	return n;
}

static bool is(const request *r, const char *m)
{
	return !strcmp(r->method, m);
}

static int method_not_allowed(session *s, const char *allow)
{
	char h[80];
	snprintf(h, sizeof h, "Allow: %s\r\n", allow);
	pd_buf b = {0};
	pd_buf_add(&b, XML_DECL "<ErrorInfo xmlns=\"" NS "\"><summary>method not allowed</summary>"
	                        "<summaryEnglish>method not allowed</summaryEnglish><errorCode>405"
	                        "</errorCode></ErrorInfo>");
	respond(s, 405, h, b.s);
	pd_buf_free(&b);
	return 0;
}

static int route(pd_labpbx *l, session *s, const request *r)
{
	struct lab_xsi *x = l->xs;
	const char *p = r->path;
	char a[256], b[256], c3[256];
	size_t al = strlen(A_ROOT), el_ = strlen(E_ROOT), cl = strlen(C_ROOT);
	if (!strncmp(p, A_ROOT "/", al + 1)) {
		p += al;
		int n = nsegs(p);
		if (n == 4 && seg(p, 0, a, sizeof a) && seg(p, 1, b, sizeof b) &&
		    seg(p, 2, c3, sizeof c3) && !strcmp(c3, "directories")) {
			char d[64];
			seg(p, 3, d, sizeof d);
			bool ent = !strcmp(a, "enterprise") && !strcmp(d, "Enterprise");
			bool grp = !strcmp(a, "group") && !strcmp(d, "Group");
			if (ent || grp) {
				if (!is(r, "GET"))
					return method_not_allowed(s, "GET");
				if (!allowed(l, grp ? b : NULL))
					return respond_error(s, 403,
					                     "not allowed for this administrator");
				char eid[128] = "";
				if (grp && (!query_get(r->query, "enterpriseId", eid, sizeof eid) ||
				            strcmp(eid, ENTERPRISE) != 0))
					return respond_error(s, 404, "unknown enterprise");
				if (ent && strcmp(b, ENTERPRISE) != 0)
					return respond_error(s, 404, "unknown enterprise");
				if (grp && !group_known(l, b))
					return respond_error(s, 404, "unknown group");
				return do_directory(l, s, r, grp ? b : NULL);
			}
		}
		char d4[256];
		if (n == 4 && seg(p, 0, a, sizeof a) && !strcmp(a, "user") &&
		    seg(p, 1, b, sizeof b) && seg(p, 2, c3, sizeof c3) && !strcmp(c3, "services") &&
		    seg(p, 3, d4, sizeof d4) && !strcmp(d4, "CallCenter")) {
			if (!is(r, "GET"))
				return method_not_allowed(s, "GET");
			return do_callcenter(l, s, b);
		}
		if ((n == 3 || n == 4) && seg(p, 0, a, sizeof a) && !strcmp(a, "user") &&
		    seg(p, 1, b, sizeof b) && seg(p, 2, c3, sizeof c3) && !strcmp(c3, "calls")) {
			if (!is(r, "GET"))
				return method_not_allowed(s, "GET");
			if (n == 4 && !seg(p, 3, d4, sizeof d4))
				return respond_error(s, 404, "no such call");
			return do_calls(l, s, b, n == 4 ? d4 : NULL);
		}
		return respond_error(s, 404, "not found");
	}
	if (!strcmp(p, C_ROOT "/channel")) {
		if (!is(r, "POST"))
			return method_not_allowed(s, "POST");
		return do_channel(l, s, r);
	}
	(void)cl;
	if (strncmp(p, E_ROOT "/", el_ + 1) != 0)
		return respond_error(s, 404, "not found");
	p += el_;
	int n = nsegs(p);
	if (!seg(p, 0, a, sizeof a))
		return respond_error(s, 404, "not found");
	bool have_b = seg(p, 1, b, sizeof b);
	if (!strcmp(a, "enterprise") && n == 2 && have_b) {
		if (!is(r, "POST"))
			return method_not_allowed(s, "POST");
		if (!allowed(l, NULL))
			return respond_error(s, 403, "not allowed for this administrator");
		if (strcmp(b, ENTERPRISE) != 0)
			return respond_error(s, 404, "unknown enterprise");
		return do_subscribe(l, s, r, NULL);
	}
	if (!strcmp(a, "group") && n == 2 && have_b) {
		if (!is(r, "POST"))
			return method_not_allowed(s, "POST");
		char eid[128] = "";
		if (!query_get(r->query, "enterpriseId", eid, sizeof eid) ||
		    strcmp(eid, ENTERPRISE) != 0)
			return respond_error(s, 404, "unknown enterprise");
		if (!allowed(l, b))
			return respond_error(s, 403, "not allowed for this administrator");
		if (!group_known(l, b))
			return respond_error(s, 404, "unknown group");
		return do_subscribe(l, s, r, b);
	}
	if (!strcmp(a, "channel") && n == 2 && have_b && !strcmp(b, "eventresponse")) {
		if (!is(r, "POST"))
			return method_not_allowed(s, "POST");
		return do_event_response(l, s, r);
	}
	if (!strcmp(a, "channel") && n == 3 && have_b && seg(p, 2, c3, sizeof c3) &&
	    !strcmp(c3, "heartbeat")) {
		if (!is(r, "PUT"))
			return method_not_allowed(s, "PUT");
		xchan *ch = chan_by_id(l, b);
		if (!ch || ch->forgotten)
			return respond_error(s, 404, "no such channel");
		respond(s, 200, NULL, NULL);
		atomic_fetch_add(&x->heartbeats, 1);
		static const char hb[] = XML_DECL "<ChannelHeartBeat xmlns=\"" NS "\"/>";
		if (ch->s)
			chunk_out(l, ch->s, hb, sizeof hb - 1);
		return 0;
	}
	if (!strcmp(a, "channel") && n == 2 && have_b) {
		if (!is(r, "PUT") && !is(r, "DELETE"))
			return method_not_allowed(s, "PUT, DELETE");
		xchan *ch = chan_by_id(l, b);
		if (!ch || ch->forgotten)
			return respond_error(s, 404, "no such channel");
		if (is(r, "DELETE")) {
			atomic_fetch_add(&x->deletes, 1);
			respond(s, 200, NULL, NULL);
			if (ch->s && !ch->forgotten) { /* the stream ends */
				lab_sess_send(ch->s, "0\r\n\r\n", 5);
				ch->s->close_after = true;
			}
			chan_remove(l, ch);
			return 0;
		}
		long expires = asked_expiry(l, s, r);
		if (expires < 0)
			return 0;
		ch->expires_at = l->now + expires * 1000;
		atomic_fetch_add(&x->refreshes, 1);
		return respond(s, 200, NULL, NULL);
	}
	if (!strcmp(a, "subscription") && n == 2 && have_b) {
		if (!is(r, "PUT") && !is(r, "DELETE"))
			return method_not_allowed(s, "PUT, DELETE");
		xsub *sub = sub_by_id(l, b);
		if (!sub)
			return respond_error(s, 404, "no such subscription");
		if (is(r, "DELETE")) {
			sub_remove(l, b);
			atomic_fetch_add(&x->deletes, 1);
			return respond(s, 200, NULL, NULL);
		}
		long expires = asked_expiry(l, s, r);
		if (expires < 0)
			return 0;
		sub->expires_at = l->now + expires * 1000;
		atomic_fetch_add(&x->refreshes, 1);
		pd_buf bb = {0};
		pd_buf_add(&bb, XML_DECL "<Subscription xmlns=\"" NS "\">");
		el(&bb, "", "subscriptionId", sub->id);
		el_ll(&bb, "", "expires", expires);
		pd_buf_add(&bb, "</Subscription>");
		respond(s, 200, NULL, bb.s);
		pd_buf_free(&bb);
		return 0;
	}
	respond_error(s, 404, "not found");
	return 0;
}

/* A chunked request body at p (n bytes): 1 = whole (decoded into out, *used
 * bytes of p), 0 = more is needed, -1 = malformed, -2 = over BODY_MAX. */
static int dechunk(const char *p, size_t n, pd_buf *out, size_t *used)
{
	size_t off = 0;
	out->len = 0;
	while (1) {
		const char *crlf = memmem(p + off, n - off, "\r\n", 2);
		if (!crlf)
			return n - off > 64 ? -1 : 0;
		size_t size = 0, k = off;
		for (; p + k < crlf && p[k] != ';'; k++) {
			int d = p[k] >= '0' && p[k] <= '9'   ? p[k] - '0'
			        : p[k] >= 'a' && p[k] <= 'f' ? p[k] - 'a' + 10
			        : p[k] >= 'A' && p[k] <= 'F' ? p[k] - 'A' + 10
			                                     : -1;
			if (d < 0)
				return -1;
			size = size * 16 + (size_t)d;
			if (size > BODY_MAX)
				return -2;
		}
		if (k == off)
			return -1;
		off = (size_t)(crlf - p) + 2;
		if (size == 0) { /* trailers (ignored) end with an empty line */
			const char *end = n - off >= 2 && !memcmp(p + off, "\r\n", 2)
			                      ? p + off
			                      : memmem(p + off, n - off, "\r\n\r\n", 4);
			if (!end)
				return n - off > HEAD_MAX ? -1 : 0;
			*used = (size_t)(end - p) + (end == p + off ? 2 : 4);
			return 1;
		}
		if (out->len + size > BODY_MAX)
			return -2;
		if (n - off < size + 2)
			return 0;
		if (memcmp(p + off + size, "\r\n", 2) != 0)
			return -1;
		pd_buf_addn(out, p + off, size);
		off += size + 2;
	}
}

/* Parses and answers every whole request in s->in. */
void lab_xsi_feed(pd_labpbx *l, session *s, const char *data, size_t n)
{
	if (!s->xc || s->xc->streaming || s->close_after)
		return; /* a channel's connection carries nothing more from the client */
	pd_buf_addn(&s->in, data, n);
	while (s->in.len && !s->xc->streaming && !s->close_after) {
		char *end = memmem(s->in.s, s->in.len, "\r\n\r\n", 4);
		if (!end) {
			if (s->in.len > HEAD_MAX) {
				s->close_after = true;
				respond_error(s, 431, "request header too large");
			}
			return;
		}
		size_t head_len = (size_t)(end - s->in.s) + 4;
		if (head_len > HEAD_MAX) {
			s->close_after = true;
			respond_error(s, 431, "request header too large");
			return;
		}
		/* the request line */
		request r = {0};
		char *line_end = memmem(s->in.s, head_len, "\r\n", 2);
		size_t ll = (size_t)(line_end - s->in.s);
		char line[HEAD_MAX + 1];
		memcpy(line, s->in.s, ll);
		line[ll] = '\0';
		char target[2048], ver[16];
		char *sp1 = strchr(line, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
		bool bad = !sp1 || !sp2 || strchr(sp2 + 1, ' ') ||
		           (size_t)(sp1 - line) >= sizeof r.method || sp1 == line ||
		           (size_t)(sp2 - sp1 - 1) >= sizeof target || sp2 == sp1 + 1;
		if (!bad) {
			memcpy(r.method, line, (size_t)(sp1 - line));
			memcpy(target, sp1 + 1, (size_t)(sp2 - sp1 - 1));
			target[sp2 - sp1 - 1] = '\0';
			snprintf(ver, sizeof ver, "%s", sp2 + 1);
			bad = strcmp(ver, "HTTP/1.1") != 0 && strcmp(ver, "HTTP/1.0") != 0;
			for (const char *m = r.method; *m && !bad; m++)
				bad = *m < 'A' || *m > 'Z';
			bad = bad || target[0] != '/';
			for (const char *t = target; *t && !bad; t++)
				bad = (unsigned char)*t <= ' ' || (unsigned char)*t >= 0x7f;
		}
		if (bad) {
			s->close_after = true;
			respond_error(s, 400, "bad request line");
			return;
		}
		char *q = strchr(target, '?');
		if (q)
			*q++ = '\0';
		if (strlen(target) >= sizeof r.path || (q && strlen(q) >= sizeof r.query)) {
			s->close_after = true;
			respond_error(s, 400, "request target too long");
			return;
		}
		snprintf(r.path, sizeof r.path, "%s", target);
		snprintf(r.query, sizeof r.query, "%s", q ? q : "");
		/* headers */
		char auth[1024] = "";
		long long clen = -1;
		bool close_req = !strcmp(ver, "HTTP/1.0"), chunked = false, bad_h = false;
		bool too_big = false, other_te = false, expect = false;
		int nh = 0;
		for (char *h = line_end + 2; h < s->in.s + head_len - 2;) {
			char *he = memmem(h, (size_t)(s->in.s + head_len - h), "\r\n", 2);
			size_t hl = (size_t)(he - h);
			if (++nh > HEADERS_MAX) {
				s->close_after = true;
				respond_error(s, 431, "too many request headers");
				return;
			}
			char *colon = memchr(h, ':', hl);
			if (!colon || colon == h) {
				bad_h = true;
				break;
			}
			size_t kn = (size_t)(colon - h);
			char *v = colon + 1;
			while (v < he && (*v == ' ' || *v == '\t'))
				v++;
			size_t vn = (size_t)(he - v);
			if (kn == 13 && !strncasecmp(h, "Authorization", 13)) {
				if (vn < sizeof auth) {
					memcpy(auth, v, vn);
					auth[vn] = '\0';
				}
			} else if (kn == 14 && !strncasecmp(h, "Content-Length", 14)) {
				if (!vn || clen >= 0)
					bad_h = true; /* empty, or a second Content-Length */
				clen = 0;
				for (size_t i = 0; i < vn && !bad_h; i++) {
					if (v[i] < '0' || v[i] > '9')
						bad_h = true;
					else if (clen <= BODY_MAX)
						clen = clen * 10 + (v[i] - '0');
				}
				too_big |= clen > BODY_MAX;
			} else if (kn == 17 && !strncasecmp(h, "Transfer-Encoding", 17)) {
				if (vn == 7 && !strncasecmp(v, "chunked", 7))
					chunked = true;
				else
					other_te = true;
			} else if (kn == 6 && !strncasecmp(h, "Expect", 6)) {
				expect = vn == 12 && !strncasecmp(v, "100-continue", 12);
			} else if (kn == 10 && !strncasecmp(h, "Connection", 10)) {
				if (vn == 5 && !strncasecmp(v, "close", 5))
					close_req = true;
			}
			h = he + 2;
		}
		if (bad_h || (chunked && clen >= 0)) {
			s->close_after = true;
			respond_error(s, 400, "bad request header");
			return;
		}
		if (other_te) {
			s->close_after = true;
			respond_error(s, 501, "only chunked transfer coding is accepted");
			return;
		}
		if (too_big) {
			s->close_after = true;
			respond_error(s, 413, "request body too large");
			return;
		}
		if (clen < 0)
			clen = 0;
		size_t used = head_len + (size_t)clen;
		pd_buf body = {0};
		if (chunked) {
			size_t cu = 0;
			int dc = dechunk(s->in.s + head_len, s->in.len - head_len, &body, &cu);
			if (dc < 0) {
				pd_buf_free(&body);
				s->close_after = true;
				respond_error(s, dc == -2 ? 413 : 400,
				              dc == -2 ? "request body too large"
				                       : "bad chunked body");
				return;
			}
			if (dc == 0) {
				pd_buf_free(&body);
				if (expect && !s->xc->continued) {
					s->xc->continued = true;
					lab_sess_send(s, "HTTP/1.1 100 Continue\r\n\r\n", 25);
				}
				return; /* the body is still coming */
			}
			used = head_len + cu;
			r.body = body.s ? body.s : "";
			r.body_len = body.len;
		} else {
			if (s->in.len < used) {
				if (expect && clen > 0 && !s->xc->continued) {
					s->xc->continued = true;
					lab_sess_send(s, "HTTP/1.1 100 Continue\r\n\r\n", 25);
				}
				return; /* the body is still coming */
			}
			r.body = s->in.s + head_len;
			r.body_len = (size_t)clen;
		}
		s->xc->continued = false;
		if (close_req)
			s->close_after = true;
		if (!auth_ok(l, auth)) {
			atomic_fetch_add(&l->xs->unauthorized, 1);
			respond_error(s, 401, "authentication failed");
		} else {
			route(l, s, &r);
		}
		pd_buf_free(&body);
		memmove(s->in.s, s->in.s + used, s->in.len - used);
		s->in.len -= used;
	}
}

/* ---- lifecycle, timers, faults ---- */

void lab_xsi_init(pd_labpbx *l)
{
	l->xs = xcalloc(1, sizeof *l->xs);
	l->xs->wrap = xcalloc((size_t)l->nu, sizeof *l->xs->wrap);
}

void lab_xsi_free(pd_labpbx *l)
{
	if (!l->xs)
		return;
	while (l->xs->nch)
		chan_remove(l, l->xs->ch[0]);
	free(l->xs->wrap);
	free(l->xs->sub);
	free(l->xs);
	l->xs = NULL;
}

void lab_xsi_accept(pd_labpbx *l, session *s)
{
	s->xc = xcalloc(1, sizeof *s->xc);
	if (++l->xs->conns > atomic_load(&l->xs->conns_max))
		atomic_store(&l->xs->conns_max, l->xs->conns);
}

void lab_xsi_close(pd_labpbx *l, session *s)
{
	if (s->xc->chan) {
		s->xc->chan->s = NULL;
		chan_remove(l, s->xc->chan);
	}
	free(s->xc);
	s->xc = NULL;
	l->xs->conns--;
}

static void sub_terminated(pd_labpbx *l, int k)
{
	struct lab_xsi *x = l->xs;
	xsub copy = x->sub[k];
	xchan *c = chan_of_set(l, copy.set);
	if (c)
		send_event(l, c, &copy, l->o.username, "SubscriptionTerminatedEvent", "");
	x->sub[k] = x->sub[--x->nsub];
	atomic_store(&x->subs_live, x->nsub);
}

int64_t lab_xsi_tick(pd_labpbx *l)
{
	struct lab_xsi *x = l->xs;
	int64_t next = INT64_MAX;
	/* subscriptions first: one expiring with its channel still gets its
	 * SubscriptionTerminatedEvent out on it */
	for (int k = 0; k < x->nsub; k++) {
		if (l->now >= x->sub[k].expires_at) {
			sub_terminated(l, k);
			k--;
		} else if (x->sub[k].expires_at < next) {
			next = x->sub[k].expires_at;
		}
	}
	for (int i = 0; i < x->nch; i++) {
		xchan *c = x->ch[i];
		bool late = c->npend && l->now - c->pend[0].sent_at >= l->o.ack_timeout_ms;
		if (late || l->now >= c->expires_at) {
			chan_end(l, c);
			i--;
			continue;
		}
		if (c->npend && c->pend[0].sent_at + l->o.ack_timeout_ms < next)
			next = c->pend[0].sent_at + l->o.ack_timeout_ms;
		if (c->expires_at < next)
			next = c->expires_at;
	}
	for (int i = 0; i < l->nu; i++) {
		if (!x->wrap[i])
			continue;
		if (l->u[i].wrapup_until <= l->now) {
			x->wrap[i] = false;
			lab_xsi_agent_status(l, &l->u[i]);
		} else if (l->u[i].wrapup_until < next) {
			next = l->u[i].wrapup_until;
		}
	}
	return next;
}

void lab_xsi_inject(pd_labpbx *l, unsigned f)
{
	struct lab_xsi *x = l->xs;
	if (f & PD_LAB_FAULT_GARBAGE) { /* inside a chunk: the XML breaks, not the HTTP */
		char g[256];
		for (size_t i = 0; i < sizeof g; i++) {
			g[i] = (char)(lab_rnd(l) & 0xff);
			if (g[i] == '<' || g[i] == '>')
				g[i] = '#';
		}
		g[0] = '<';
		g[1] = '!';
		for (int i = 0; i < x->nch; i++)
			if (x->ch[i]->s && !x->ch[i]->forgotten)
				chunk_out(l, x->ch[i]->s, g, sizeof g);
	}
	if (f & PD_LAB_FAULT_SUB_END)
		while (x->nsub)
			sub_terminated(l, 0);
	if (f & PD_LAB_FAULT_CHANNEL_END)
		while (x->nch)
			chan_end(l, x->ch[0]);
	if (f & PD_LAB_FAULT_HEARTBEAT_404)
		for (int i = 0; i < x->nch; i++)
			x->ch[i]->forgotten = true;
	if (f & PD_LAB_FAULT_RESTART) { /* a restarted XSP knows no subscription */
		x->nsub = 0;
		atomic_store(&x->subs_live, 0);
	}
}

void labpbx_xsi_counters(pd_labpbx *l, pd_lab_xsi_counters *out)
{
	memset(out, 0, sizeof *out);
	struct lab_xsi *x = l->xs;
	if (!x)
		return;
	out->channels_opened = atomic_load(&x->channels_opened);
	out->channels_ended = atomic_load(&x->channels_ended);
	out->acks = atomic_load(&x->acks);
	out->events_sent = atomic_load(&x->events_sent);
	out->heartbeats = atomic_load(&x->heartbeats);
	out->deletes = atomic_load(&x->deletes);
	out->unauthorized = atomic_load(&x->unauthorized);
	out->refreshes = atomic_load(&x->refreshes);
	out->channels_live = atomic_load(&x->channels_live);
	out->subscriptions_live = atomic_load(&x->subs_live);
	out->connections_max = atomic_load(&x->conns_max);
	out->state_reads = atomic_load(&x->state_reads);
	out->call_reads = atomic_load(&x->call_reads);
}

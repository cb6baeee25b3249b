/* The lab PBX's call simulator: seeded inbound queue calls and the events
 * they produce, with the field names and order of the Asterisk 22 recording
 * (tests/fixtures/asterisk/ami-session-1.txt). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labpbx_internal.h"

uint64_t lab_rnd(pd_labpbx *l)
{
	uint64_t x = l->rng;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return l->rng = x;
}

double lab_rnd01(pd_labpbx *l)
{
	return (double)(lab_rnd(l) >> 11) / 9007199254740992.0;
}

bool lab_sess_send(session *s, const char *data, size_t n)
{
	if (s->mute || s->out.len - s->off + n > OUT_LIMIT)
		return false; /* a client that does not read is dropped by flush */
	pd_buf_addn(&s->out, data, n);
	int lat = s->lab->o.latency_ms;
	if (lat <= 0) {
		s->ready = s->out.len;
		return true;
	}
	int64_t at = s->lab->now + lat;
	struct lab_mark *last = s->mk_n ? &s->mk[(s->mk_h + s->mk_n - 1) % s->mk_cap] : NULL;
	if (last && last->at == at) {
		last->end = s->out.len;
		return true;
	}
	if (s->mk_n == s->mk_cap)
		s->mk = pd_ring_grow(s->mk, sizeof *s->mk, &s->mk_h, s->mk_n, &s->mk_cap, 16);
	s->mk[(s->mk_h + s->mk_n++) % s->mk_cap] = (struct lab_mark){s->out.len, at};
	return true;
}

size_t lab_sess_ready(session *s)
{
	while (s->mk_n && s->mk[s->mk_h].at <= s->lab->now) {
		s->ready = s->mk[s->mk_h].end;
		s->mk_h = (s->mk_h + 1) % s->mk_cap;
		s->mk_n--;
	}
	return s->ready - s->off;
}

int64_t lab_sess_held_until(const session *s)
{
	return s->mk_n ? s->mk[s->mk_h].at : INT64_MAX;
}

static void broadcast(pd_labpbx *l, pd_buf *b)
{
	if (l->esl) { /* a FreeSWITCH lab writes its own events (labpbx_esl.c) */
		pd_buf_free(b);
		return;
	}
	for (int i = 0; i < l->ns; i++)
		if (l->s[i]->logged_in && lab_wants_event(l->s[i], b->s, b->len))
			lab_sess_send(l->s[i], b->s, b->len);
	pd_buf_free(b);
}

static const char *state_desc(int st)
{
	switch (st) {
	case 0:
		return "Down";
	case 4:
		return "Ring";
	case 5:
		return "Ringing";
	case 6:
		return "Up";
	default:
		return "Unknown";
	}
}

void lab_put_chan(pd_buf *b, const char *pfx, const chan_info *c)
{
	char k[48];
#define K(name) (snprintf(k, sizeof k, "%s%s", pfx, name), k)
	ami_put(b, K("Channel"), c->chan);
	ami_putf(b, K("ChannelState"), "%d", c->state);
	ami_put(b, K("ChannelStateDesc"), state_desc(c->state));
	ami_put(b, K("CallerIDNum"), c->cid_num);
	ami_put(b, K("CallerIDName"), c->cid_name);
	ami_put(b, K("ConnectedLineNum"), c->conn_num);
	ami_put(b, K("ConnectedLineName"), c->conn_name);
	ami_put(b, K("Language"), "en");
	ami_put(b, K("AccountCode"), "");
	ami_put(b, K("Context"), c->context);
	ami_put(b, K("Exten"), c->exten);
	ami_putf(b, K("Priority"), "%d", c->priority);
	ami_put(b, K("Uniqueid"), c->uid);
	ami_put(b, K("Linkedid"), c->lid);
#undef K
}

static void ev_start(pd_buf *b, const char *ev, const char *priv)
{
	ami_put(b, "Event", ev);
	ami_put(b, "Privilege", priv);
}

/* The caller (trunk) leg and the agent leg of a call, as chan_info. */
/* The trunk leg: the caller of an inbound call, the callee of an outbound one. */
chan_info lab_caller_info(pd_labpbx *l, const lcall *c, int state)
{
	const luser *a = c->agent >= 0 ? &l->u[c->agent] : NULL;
	if (c->outbound)
		return (chan_info){c->chan,         state,     c->dialed, "",     a->ep,   a->name,
		                   "from-internal", c->dialed, 1,         c->uid, c->a_uid};
	return (chan_info){c->chan,
	                   state,
	                   c->cid_num,
	                   c->cid_name,
	                   a && c->phase >= P_RING ? a->ep : c->cid_num,
	                   a && c->phase >= P_RING ? a->name : c->cid_name,
	                   "from-trunk",
	                   c->direct ? a->ep : l->qname[c->q],
	                   c->phase >= P_WAIT ? 3 : 1,
	                   c->uid,
	                   c->uid};
}

/* The user's leg (the agent, or the calling user of an outbound call). */
chan_info lab_agent_info(pd_labpbx *l, const lcall *c, int state)
{
	const luser *a = &l->u[c->agent];
	if (c->outbound)
		return (chan_info){c->a_chan,  state,     a->ep, a->name,  c->dialed, "",
		                   a->context, c->dialed, 1,     c->a_uid, c->a_uid};
	return (chan_info){c->a_chan,  state,       a->ep,      a->name,
	                   c->cid_num, c->cid_name, a->context, c->direct ? "s" : l->qname[c->q],
	                   1,          c->a_uid,    c->uid};
}

void lab_member_fields(pd_labpbx *l, pd_buf *b, const luser *u, bool list_item)
{
	int status = u->held ? 8 : u->ringing ? 6 : u->busy ? 2 : 1;
	ami_put(b, "Queue", l->qname[u->queue]);
	ami_put(b, list_item ? "Name" : "MemberName", u->name);
	char iface[32];
	snprintf(iface, sizeof iface, "%s/%s", l->tech, u->ep);
	ami_put(b, list_item ? "Location" : "Interface", iface);
	ami_put(b, "StateInterface", iface);
	ami_put(b, "Membership", "static");
	ami_put(b, "Penalty", "0");
	ami_putf(b, "CallsTaken", "%d", u->calls_taken);
	ami_put(b, "LastCall", "0");
	ami_putf(b, "LastPause", "%lld", (long long)u->last_pause);
	ami_putf(b, "LoginTime", "%lld", (long long)l->epoch);
	/* InCall: a queue call only */
	ami_put(b, "InCall", u->busy && !u->outbound_call && !u->direct_call ? "1" : "0");
	ami_putf(b, "Status", "%d", status);
	ami_put(b, "Paused", u->paused ? "1" : "0");
	ami_put(b, "PausedReason", u->paused && u->reason ? u->reason : "");
	if (!list_item)
		ami_put(b, "Ringinuse", "0");
	/* the member's own wrap-up (0: the queue's); the queue's wrapuptime is
	 * on no event (tests/fixtures/asterisk/README.md) */
	ami_put(b, "Wrapuptime", "0");
}

static void ev_member(pd_labpbx *l, const char *ev, const luser *u)
{
	pd_buf b = {0};
	ev_start(&b, ev, "agent,all");
	lab_member_fields(l, &b, u, false);
	ami_end(&b);
	broadcast(l, &b);
}

static void ev_devstate(pd_labpbx *l, const luser *u, const char *st)
{
	pd_buf b = {0};
	ev_start(&b, "DeviceStateChange", "call,all");
	ami_putf(&b, "Device", "%s/%s", l->tech, u->ep);
	ami_put(&b, "State", st);
	ami_end(&b);
	broadcast(l, &b);
}

static void ev_chan(pd_labpbx *l, const char *ev, const char *priv, const chan_info *c,
                    const char *extra_k, const char *extra_v)
{
	pd_buf b = {0};
	ev_start(&b, ev, priv);
	lab_put_chan(&b, "", c);
	if (extra_k)
		ami_put(&b, extra_k, extra_v);
	ami_end(&b);
	broadcast(l, &b);
}

static void ev_hangup(pd_labpbx *l, const chan_info *c, int cause, const char *txt)
{
	pd_buf b = {0};
	ev_start(&b, "Hangup", "call,all");
	lab_put_chan(&b, "", c);
	ami_putf(&b, "Cause", "%d", cause);
	ami_put(&b, "Cause-txt", txt);
	ami_end(&b);
	broadcast(l, &b);
}

static void ev_queue_caller(pd_labpbx *l, const char *ev, const lcall *c, int pos, int count)
{
	pd_buf b = {0};
	ev_start(&b, ev, "agent,all");
	chan_info ci = lab_caller_info(l, c, 6);
	lab_put_chan(&b, "", &ci);
	ami_put(&b, "Queue", l->qname[c->q]);
	ami_putf(&b, "Position", "%d", pos);
	if (!strcmp(ev, "QueueCallerAbandon")) {
		ami_putf(&b, "OriginalPosition", "%d", pos);
		ami_putf(&b, "HoldTime", "%lld", (long long)((l->now - c->join_at) / 1000));
	} else {
		ami_putf(&b, "Count", "%d", count);
	}
	ami_end(&b);
	broadcast(l, &b);
}

static void ev_agent(pd_labpbx *l, const char *ev, const lcall *c, int astate, const char *tail_k[],
                     const char *tail_v[], int ntail)
{
	pd_buf b = {0};
	ev_start(&b, ev, "agent,all");
	chan_info ci = lab_caller_info(l, c, 6), ai = lab_agent_info(l, c, astate);
	lab_put_chan(&b, "", &ci);
	lab_put_chan(&b, "Dest", &ai);
	ami_put(&b, "Queue", l->qname[c->q]);
	char iface[32];
	snprintf(iface, sizeof iface, "%s/%s", l->tech, l->u[c->agent].ep);
	ami_put(&b, "Interface", iface);
	ami_put(&b, "MemberName", l->u[c->agent].name);
	for (int i = 0; i < ntail; i++)
		ami_put(&b, tail_k[i], tail_v[i]);
	ami_end(&b);
	broadcast(l, &b);
}

static void ev_dial(pd_labpbx *l, const char *ev, const lcall *c, int astate, const char *k,
                    const char *v)
{
	pd_buf b = {0};
	ev_start(&b, ev, "call,all");
	chan_info ci = lab_caller_info(l, c, 6), ai = lab_agent_info(l, c, astate);
	lab_put_chan(&b, "", &ci);
	lab_put_chan(&b, "Dest", &ai);
	ami_put(&b, k, v);
	ami_end(&b);
	broadcast(l, &b);
}

static void ev_bridge(pd_labpbx *l, const char *ev, const lcall *c, int n, const chan_info *ch)
{
	pd_buf b = {0};
	ev_start(&b, ev, "call,all");
	ami_put(&b, "BridgeUniqueid", c->bridge);
	ami_put(&b, "BridgeType", "basic");
	ami_put(&b, "BridgeTechnology", "simple_bridge");
	ami_put(&b, "BridgeCreator", "<unknown>");
	ami_put(&b, "BridgeName", "<unknown>");
	ami_putf(&b, "BridgeNumChannels", "%d", n);
	ami_put(&b, "BridgeVideoSourceMode", "none");
	if (ch)
		lab_put_chan(&b, "", ch);
	ami_end(&b);
	broadcast(l, &b);
}

/* ---- calls ---- */

static void new_uid(pd_labpbx *l, char *out, size_t n)
{
	if (l->esl) {
		lab_esl_new_uuid(l, out, n);
		return;
	}
	snprintf(out, n, "%lld.%u", (long long)(l->epoch + (l->now - l->boot_ms) / 1000),
	         l->uid_seq++);
}

void lab_call_new(pd_labpbx *l, int q)
{
	if (q < 0 || q >= l->o.queues)
		q = 0;
	if (l->ncalls == l->ccalls) {
		l->ccalls = l->ccalls ? l->ccalls * 2 : 16;
		l->calls = xrealloc(l->calls, l->ccalls * sizeof *l->calls);
	}
	lcall *c = &l->calls[l->ncalls++];
	memset(c, 0, sizeof *c);
	c->q = q;
	c->agent = -1;
	c->phase = P_JOIN;
	c->next_at = l->now;
	unsigned n = ++l->caller_seq;
	snprintf(c->cid_num, sizeof c->cid_num, "+331555%05u", 1000 + n % 90000);
	snprintf(c->cid_name, sizeof c->cid_name, "Customer %02u", n % 100);
	new_uid(l, c->uid, sizeof c->uid);
	snprintf(c->chan, sizeof c->chan, "%s/trunk-%08x", l->tech, l->chan_seq++);
	if (l->esl) {
		snprintf(c->chan, sizeof c->chan, "sofia/carrier/%s@127.0.0.1", c->cid_num);
		new_uid(l, c->m_uid, sizeof c->m_uid);
	}
	atomic_fetch_add(&l->n_calls, 1);
}

static int pick_agent(pd_labpbx *l, int q)
{
	int best = -1;
	for (int i = 0; i < l->nu; i++) {
		luser *u = &l->u[i];
		if (u->queue != q || u->busy || u->paused || u->logged_out ||
		    u->wrapup_until > l->now)
			continue;
		if (best < 0 || u->calls_taken < l->u[best].calls_taken)
			best = i;
	}
	return best;
}

int lab_waiting_in(pd_labpbx *l, int q)
{
	int n = 0;
	for (size_t i = 0; i < l->ncalls; i++)
		n += l->calls[i].q == q &&
		     (l->calls[i].phase == P_WAIT || l->calls[i].phase == P_RING);
	return n;
}

static void new_bridge(pd_labpbx *l, lcall *c)
{
	snprintf(c->bridge, sizeof c->bridge, "%08llx-%04x-4%03x-8%03x-%012llx",
	         (unsigned long long)(lab_rnd(l) & 0xffffffff), (unsigned)(lab_rnd(l) & 0xffff),
	         (unsigned)(lab_rnd(l) & 0xfff), (unsigned)(lab_rnd(l) & 0xfff),
	         (unsigned long long)(lab_rnd(l) & 0xffffffffffffull));
}

/* DialBegin/DialEnd of an outbound call: the user's leg dials the trunk. */
static void ev_out_dial(pd_labpbx *l, const char *ev, const lcall *c, int tstate, const char *k,
                        const char *v)
{
	pd_buf b = {0};
	ev_start(&b, ev, "call,all");
	chan_info ai = lab_agent_info(l, c, 4), ci = lab_caller_info(l, c, tstate);
	lab_put_chan(&b, "", &ai);
	lab_put_chan(&b, "Dest", &ci);
	ami_put(&b, k, v);
	ami_end(&b);
	broadcast(l, &b);
}

static void queue_answer(pd_labpbx *l, lcall *c)
{
	luser *u = &l->u[c->agent];
	chan_info ai = lab_agent_info(l, c, 6);
	ev_chan(l, "Newstate", "call,all", &ai, NULL, NULL);
	ev_dial(l, "DialEnd", c, 6, "DialStatus", "ANSWER");
	ev_queue_caller(l, "QueueCallerLeave", c, 1, lab_waiting_in(l, c->q) - 1);
	char hold_s[24], ring[24];
	snprintf(hold_s, sizeof hold_s, "%lld", (long long)((l->now - c->join_at) / 1000));
	snprintf(ring, sizeof ring, "%d", l->o.ring_ms / 1000);
	const char *k[] = {"HoldTime", "RingTime"}, *v[] = {hold_s, ring};
	ev_agent(l, "AgentConnect", c, 6, k, v, 2);
	new_bridge(l, c);
	ev_bridge(l, "BridgeCreate", c, 0, NULL);
	ev_bridge(l, "BridgeEnter", c, 1, &ai);
	chan_info ci = lab_caller_info(l, c, 6);
	ev_bridge(l, "BridgeEnter", c, 2, &ci);
	ev_devstate(l, u, "INUSE");
	ev_member(l, "QueueMemberStatus", u);
	lab_esl_call(l, c, LAB_CALL_ANSWER);
	/* --pause-in-call EP:REASON: paused while on the call */
	const char *pic = l->o.pause_in_call, *colon = pic ? strchr(pic, ':') : NULL;
	size_t epn = colon ? (size_t)(colon - pic) : pic ? strlen(pic) : 0;
	if (epn && strlen(u->ep) == epn && !strncmp(u->ep, pic, epn) && !u->paused)
		lab_do_pause(l, u->ep, true, colon && colon[1] ? colon + 1 : NULL);
}

/* The far end of an outbound call answers. */
static void out_answer(pd_labpbx *l, lcall *c)
{
	chan_info ci = lab_caller_info(l, c, 6), ai = lab_agent_info(l, c, 6);
	ev_chan(l, "Newstate", "call,all", &ci, NULL, NULL);
	ev_out_dial(l, "DialEnd", c, 6, "DialStatus", "ANSWER");
	ev_chan(l, "Newstate", "call,all", &ai, NULL, NULL);
	new_bridge(l, c);
	ev_bridge(l, "BridgeCreate", c, 0, NULL);
	ev_bridge(l, "BridgeEnter", c, 1, &ai);
	ev_bridge(l, "BridgeEnter", c, 2, &ci);
	lab_esl_call(l, c, LAB_CALL_OUT_ANSWER);
}

/* The user answers a direct call: as a Dial() from the trunk, no queue
 * events; the member's device is in use but it is not InCall. */
static void direct_answer(pd_labpbx *l, lcall *c)
{
	luser *u = &l->u[c->agent];
	chan_info ai = lab_agent_info(l, c, 6), ci = lab_caller_info(l, c, 6);
	ev_chan(l, "Newstate", "call,all", &ai, NULL, NULL);
	ev_dial(l, "DialEnd", c, 6, "DialStatus", "ANSWER");
	ev_chan(l, "Newstate", "call,all", &ci, NULL, NULL);
	new_bridge(l, c);
	ev_bridge(l, "BridgeCreate", c, 0, NULL);
	ev_bridge(l, "BridgeEnter", c, 1, &ai);
	ev_bridge(l, "BridgeEnter", c, 2, &ci);
	u->ringing = false;
	ev_devstate(l, u, "INUSE");
	ev_member(l, "QueueMemberStatus", u);
	lab_esl_call(l, c, LAB_CALL_ANSWER);
}

static void plan_talk(pd_labpbx *l, lcall *c)
{
	c->phase = P_TALK;
	c->answer_at = l->now;
	double talk = -log(1.0 - lab_rnd01(l) * 0.95) * l->o.talk_ms;
	c->end_at = l->now + (int64_t)talk + 200;
	c->next_at = c->end_at;
	if (l->o.hold_pct > 0 && (int)(lab_rnd(l) % 100) < l->o.hold_pct) {
		int64_t len = c->end_at - l->now;
		c->hold_at = l->now + len / 4;
		c->unhold_at = l->now + len * 3 / 4;
		c->next_at = c->hold_at;
	}
}

/* The user's phone puts the other side on hold (or takes it off). */
static void hold(pd_labpbx *l, lcall *c, bool on)
{
	luser *u = &l->u[c->agent];
	chan_info ai = lab_agent_info(l, c, 6);
	c->held = u->held = on;
	ev_chan(l, on ? "Hold" : "Unhold", "call,all", &ai, on ? "MusicClass" : NULL, "default");
	ev_devstate(l, u, on ? "ONHOLD" : "INUSE");
	ev_member(l, "QueueMemberStatus", u);
	lab_esl_call(l, c, on ? LAB_CALL_HOLD : LAB_CALL_UNHOLD);
}

static void hangup(pd_labpbx *l, lcall *c)
{
	luser *u = &l->u[c->agent];
	if (c->held)
		hold(l, c, false);
	chan_info ai = lab_agent_info(l, c, 6), ci = lab_caller_info(l, c, 6);
	ev_bridge(l, "BridgeLeave", c, 1, &ci);
	ev_bridge(l, "BridgeLeave", c, 0, &ai);
	ev_bridge(l, "BridgeDestroy", c, 0, NULL);
	ev_hangup(l, &ci, 16, "Normal Clearing");
	if (!c->outbound && !c->direct) {
		char hold_s[24], talk[24];
		snprintf(hold_s, sizeof hold_s, "%lld",
		         (long long)((c->answer_at - c->join_at) / 1000));
		snprintf(talk, sizeof talk, "%lld", (long long)((l->now - c->answer_at) / 1000));
		const char *k[] = {"HoldTime", "TalkTime", "Reason"},
		           *v[] = {hold_s, talk, "caller"};
		ev_agent(l, "AgentComplete", c, 6, k, v, 3);
	}
	ev_hangup(l, &ai, 16, "Normal Clearing");
	lab_esl_call(l, c, LAB_CALL_HANGUP);
	u->busy = u->held = false;
	if (!c->outbound && !c->direct) { /* a queue call: wrap-up */
		u->calls_taken++;
		u->wrapup_until = l->now + (int64_t)l->o.wrapup_s * 1000;
	}
	u->outbound_call = u->direct_call = false;
	ev_devstate(l, u, "NOT_INUSE");
	ev_member(l, "QueueMemberStatus", u);
	c->phase = P_DONE;
}

bool lab_call_out(pd_labpbx *l)
{
	int idle[64], n = 0;
	for (int i = 0; i < l->nu && n < 64; i++) {
		const luser *u = &l->u[(i + (int)(lab_rnd(l) % (uint64_t)l->nu)) % l->nu];
		if (!u->busy && u->wrapup_until <= l->now)
			idle[n++] = (int)(u - l->u);
	}
	if (n == 0)
		return false;
	if (l->ncalls == l->ccalls) {
		l->ccalls = l->ccalls ? l->ccalls * 2 : 16;
		l->calls = xrealloc(l->calls, l->ccalls * sizeof *l->calls);
	}
	lcall *c = &l->calls[l->ncalls++];
	memset(c, 0, sizeof *c);
	c->outbound = true;
	c->q = -1;
	c->agent = idle[lab_rnd(l) % (uint64_t)n];
	luser *u = &l->u[c->agent];
	u->busy = u->outbound_call = true;
	c->join_at = l->now;
	snprintf(c->dialed, sizeof c->dialed, "+3361%07u", (unsigned)(lab_rnd(l) % 10000000));
	new_uid(l, c->a_uid, sizeof c->a_uid);
	snprintf(c->a_chan, sizeof c->a_chan, "%s/%s-%08x", l->tech, u->ep, l->chan_seq++);
	new_uid(l, c->uid, sizeof c->uid);
	snprintf(c->chan, sizeof c->chan, "%s/trunk-%08x", l->tech, l->chan_seq++);
	if (l->esl) {
		snprintf(c->a_chan, sizeof c->a_chan, "sofia/internal/%s@%s", u->ep, u->context);
		snprintf(c->chan, sizeof c->chan, "sofia/carrier/%s@127.0.0.1", c->dialed);
	}
	atomic_fetch_add(&l->n_calls, 1);
	chan_info ai = lab_agent_info(l, c, 4);
	ev_chan(l, "Newchannel", "call,all", &ai, NULL, NULL);
	ev_devstate(l, u, "INUSE");
	ev_member(l, "QueueMemberStatus", u);
	chan_info ci = lab_caller_info(l, c, 0);
	ev_chan(l, "Newchannel", "call,all", &ci, NULL, NULL);
	char ds[48];
	snprintf(ds, sizeof ds, "trunk/%s", c->dialed);
	ev_out_dial(l, "DialBegin", c, 0, "DialString", ds);
	ci.state = 5;
	ev_chan(l, "Newstate", "call,all", &ci, NULL, NULL);
	c->phase = P_RING;
	c->ring_at = l->now;
	c->next_at = l->now + l->o.ring_ms;
	lab_esl_call(l, c, LAB_CALL_OUT_START);
	return true;
}

static void call_step(pd_labpbx *l, lcall *c)
{
	switch (c->phase) {
	case P_JOIN: {
		chan_info ci = lab_caller_info(l, c, 4);
		ev_chan(l, "Newchannel", "call,all", &ci, NULL, NULL);
		ci.state = 6;
		ev_chan(l, "Newstate", "call,all", &ci, NULL, NULL);
		c->phase = P_WAIT;
		c->join_at = l->now;
		ev_queue_caller(l, "QueueCallerJoin", c, lab_waiting_in(l, c->q),
		                lab_waiting_in(l, c->q));
		c->next_at = l->now;
		lab_esl_call(l, c, LAB_CALL_JOIN);
		break;
	}
	case P_WAIT: {
		if (l->now - c->join_at > 60000) {
			ev_queue_caller(l, "QueueCallerAbandon", c, 1, 0);
			ev_queue_caller(l, "QueueCallerLeave", c, 1, lab_waiting_in(l, c->q) - 1);
			chan_info ci = lab_caller_info(l, c, 6);
			ev_hangup(l, &ci, 16, "Normal Clearing");
			c->phase = P_DONE;
			lab_esl_call(l, c, LAB_CALL_ABANDON);
			break;
		}
		int a = pick_agent(l, c->q);
		if (a < 0) {
			c->next_at = l->now + 500;
			break;
		}
		c->agent = a;
		luser *u = &l->u[a];
		u->busy = true;
		new_uid(l, c->a_uid, sizeof c->a_uid);
		snprintf(c->a_chan, sizeof c->a_chan, "%s/%s-%08x", l->tech, u->ep, l->chan_seq++);
		if (l->esl)
			snprintf(c->a_chan, sizeof c->a_chan, "sofia/internal/%s@127.0.0.1:%d",
			         u->ep, 5270 + a + 1);
		c->ring_at = l->now;
		chan_info ai = lab_agent_info(l, c, 0);
		ev_chan(l, "Newchannel", "call,all", &ai, NULL, NULL);
		ev_agent(l, "AgentCalled", c, 0, NULL, NULL, 0);
		ev_dial(l, "DialBegin", c, 0, "DialString", u->ep);
		ai.state = 5;
		ev_chan(l, "Newstate", "call,all", &ai, NULL, NULL);
		ev_devstate(l, u, "RINGING");
		c->phase = P_RING;
		c->next_at = l->now + l->o.ring_ms;
		lab_esl_call(l, c, LAB_CALL_OFFER);
		break;
	}
	case P_RING:
		if (c->outbound)
			out_answer(l, c);
		else if (c->direct)
			direct_answer(l, c);
		else
			queue_answer(l, c);
		plan_talk(l, c);
		break;
	case P_TALK:
		if (c->hold_at && !c->held && l->now >= c->hold_at) {
			hold(l, c, true);
			c->next_at = c->unhold_at;
		} else if (c->held && l->now >= c->unhold_at) {
			hold(l, c, false);
			c->hold_at = 0;
			c->next_at = c->end_at;
		} else {
			hangup(l, c);
		}
		break;
	}
}

bool lab_call_direct(pd_labpbx *l)
{
	if (l->esl)
		return false;
	int idle[64], n = 0;
	for (int i = 0; i < l->nu && n < 64; i++) {
		const luser *u = &l->u[(i + (int)(lab_rnd(l) % (uint64_t)l->nu)) % l->nu];
		if (!u->busy && u->wrapup_until <= l->now)
			idle[n++] = (int)(u - l->u);
	}
	if (n == 0)
		return false;
	lab_call_new(l, 0);
	lcall *c = &l->calls[l->ncalls - 1];
	c->q = -1;
	c->direct = true;
	c->agent = idle[lab_rnd(l) % (uint64_t)n];
	luser *u = &l->u[c->agent];
	u->busy = u->direct_call = true;
	c->join_at = c->ring_at = l->now;
	new_uid(l, c->a_uid, sizeof c->a_uid);
	snprintf(c->a_chan, sizeof c->a_chan, "%s/%s-%08x", l->tech, u->ep, l->chan_seq++);
	/* Dial(PJSIP/1001) from the trunk, as Asterisk reports it */
	c->phase = P_RING;
	chan_info ci = lab_caller_info(l, c, 4);
	ev_chan(l, "Newchannel", "call,all", &ci, NULL, NULL);
	chan_info ai = lab_agent_info(l, c, 0);
	ev_chan(l, "Newchannel", "call,all", &ai, NULL, NULL);
	ev_dial(l, "DialBegin", c, 0, "DialString", u->ep);
	ai.state = 5;
	ev_chan(l, "Newstate", "call,all", &ai, NULL, NULL);
	u->ringing = true;
	ev_devstate(l, u, "RINGING");
	ev_member(l, "QueueMemberStatus", u);
	c->next_at = l->now + l->o.ring_ms;
	lab_esl_call(l, c, LAB_CALL_DIRECT_OFFER);
	return true;
}

void lab_call_up(pd_labpbx *l, int q)
{
	lab_call_new(l, q);
	lcall *c = &l->calls[l->ncalls - 1];
	/* join, offer, answer at once: no client is connected yet */
	for (int i = 0; i < 3 && c->phase != P_TALK && c->phase != P_DONE; i++)
		call_step(l, c);
	if (c->phase != P_TALK) /* nobody free to answer: it stays queued */
		c->next_at = l->now;
}

void lab_calls_run(pd_labpbx *l)
{
	for (size_t i = 0; i < l->ncalls; i++)
		if (l->calls[i].phase != P_DONE && l->calls[i].next_at <= l->now)
			call_step(l, &l->calls[i]);
	for (size_t i = 0; i < l->ncalls;) {
		if (l->calls[i].phase == P_DONE) {
			l->calls[i] = l->calls[--l->ncalls];
			atomic_fetch_sub(&l->n_calls, 1);
		} else {
			i++;
		}
	}
}

void lab_calls_reset(pd_labpbx *l)
{
	atomic_fetch_sub(&l->n_calls, (int)l->ncalls);
	l->ncalls = 0;
	for (int i = 0; i < l->nu; i++) {
		l->u[i].busy = l->u[i].ringing = l->u[i].direct_call = false;
		l->u[i].wrapup_until = 0;
	}
}

void lab_do_pause(pd_labpbx *l, const char *ep, bool paused, const char *reason)
{
	for (int i = 0; i < l->nu; i++) {
		luser *u = &l->u[i];
		if (strcmp(ep, "*") && strcmp(u->ep, ep))
			continue;
		u->paused = paused;
		if (!paused)
			u->logged_out = false;
		pd_set_str(&u->reason, paused ? reason : NULL);
		u->last_pause = l->epoch + (l->now - l->boot_ms) / 1000;
		ev_member(l, "QueueMemberPause", u);
		lab_esl_agent_status(l, u);
	}
}

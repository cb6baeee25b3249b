/* The lab PBX's FreeSWITCH personality (include/provdesk/labpbx.h): the same
 * users, queues, agents and call generator as the AMI lab, spoken as a
 * FreeSWITCH 1.10 inbound event socket with mod_callcenter, byte for byte in
 * the formats of tests/fixtures/freeswitch/ (README.md there):
 *  - auth/request, "auth <password>" -> "+OK accepted", or "-ERR invalid",
 *    a disconnect notice and close;
 *  - "event plain ..." (core names before CUSTOM, subclasses after), "noevents",
 *    "exit" ("+OK bye" and a disconnect notice), "api ..." (api/response with
 *    the command output as the body), "bgapi ..." ("+OK Job-UUID: ..." then a
 *    BACKGROUND_JOB event, broadcast to every subscribed session);
 *  - replies: Content-Type then Content-Length; events: Content-Length first,
 *    text/event-plain, a percent-encoded header block (UTF-8 byte by byte,
 *    the apostrophe left as is) ended by an empty line that the length counts;
 *  - channel events carry the channel state, the Caller-* profile, the
 *    Other-Leg-* profile on bridged legs and a few variable_* (the real ones
 *    are 5-10 KB; these keep what a driver reads, variable_Event-Name too).
 * The hostile faults write ESL: flood (CHANNEL_CREATE without hangups), huge
 * (one 16 MB event-plain), ctrl (control bytes, encoded and raw, in event
 * headers and in an outer header), bidi (a caller name holding U+202E and the
 * C1 CSI, percent-encoded, valid UTF-8). */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "labpbx_internal.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_COMMAND (64u * 1024) /* a client command longer than this is dropped */
#define HUGE_BYTES (16u * 1024 * 1024)
#define FILL_TO (256u * 1024)

enum {
	SUB_CREATE = 1 << 0,
	SUB_ANSWER = 1 << 1,
	SUB_BRIDGE = 1 << 2,
	SUB_UNBRIDGE = 1 << 3,
	SUB_HOLD = 1 << 4,
	SUB_UNHOLD = 1 << 5,
	SUB_HANGUP_COMPLETE = 1 << 6,
	SUB_HEARTBEAT = 1 << 7,
	SUB_BACKGROUND_JOB = 1 << 8,
	SUB_CC_INFO = 1 << 9,
	SUB_SOFIA_REGISTER = 1 << 10,
	SUB_SOFIA_UNREGISTER = 1 << 11,
	SUB_OTHER = 1 << 12, /* a valid name the lab never fires */
	SUB_ALL = 0x1fff,
};

static const char disconnect_text[] = "Disconnected, goodbye.\n"
                                      "See you at ClueCon! http://www.cluecon.com/\n";

/* ---- bytes ---- */

/* FreeSWITCH's switch_url_encode: these, controls and every byte >= 0x80 are
 * %XX (upper case); '/', ',', '\'', '(', ')', '~', '.', '-' stay. */
static void put_enc(pd_buf *b, const char *v)
{
	static const char unsafe[] = "\r\n \"#%&+:;<=>?@[\\]^`{|}";
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (*p < 0x20 || *p >= 0x7f || strchr(unsafe, *p))
			pd_buf_printf(b, "%%%02X", *p);
		else
			pd_buf_addn(b, (const char *)p, 1);
	}
}

static void put_h(pd_buf *b, const char *name, const char *v)
{
	pd_buf_add(b, name);
	pd_buf_add(b, ": ");
	put_enc(b, v ? v : "");
	pd_buf_add(b, "\n");
}

__attribute__((format(printf, 3, 4))) static void put_hf(pd_buf *b, const char *name,
                                                         const char *fmt, ...)
{
	char v[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v, sizeof v, fmt, ap);
	va_end(ap);
	put_h(b, name, v);
}

static void reply(session *s, const char *text)
{
	pd_buf b = {0};
	pd_buf_printf(&b, "Content-Type: command/reply\nReply-Text: %s\n\n", text);
	lab_sess_send(s, b.s, b.len);
	pd_buf_free(&b);
}

static void disconnect(session *s, const char *text)
{
	pd_buf b = {0};
	pd_buf_printf(&b, "Content-Type: text/disconnect-notice\nContent-Length: %zu\n\n%s",
	              strlen(text), text);
	lab_sess_send(s, b.s, b.len);
	pd_buf_free(&b);
	s->close_after = true;
}

static void api_response(session *s, const pd_buf *body)
{
	pd_buf b = {0};
	pd_buf_printf(&b, "Content-Type: api/response\nContent-Length: %zu\n\n", body->len);
	pd_buf_addn(&b, body->s ? body->s : "", body->len);
	lab_sess_send(s, b.s, b.len);
	pd_buf_free(&b);
}

/* ---- time and ids ---- */

static int64_t wall_ms(const pd_labpbx *l, int64_t mono_ms)
{
	return l->epoch * 1000 + (mono_ms - l->boot_ms);
}

static long long wall_s(const pd_labpbx *l, int64_t mono_ms)
{
	return (long long)(wall_ms(l, mono_ms) / 1000);
}

static long long wall_us(const pd_labpbx *l, int64_t mono_ms)
{
	return mono_ms ? (long long)wall_ms(l, mono_ms) * 1000 + 3543 : 0;
}

void lab_esl_new_uuid(pd_labpbx *l, char *out, size_t n)
{
	snprintf(out, n, "%08llx-%04x-4%03x-%x%03x-%012llx",
	         (unsigned long long)(lab_rnd(l) & 0xffffffff), (unsigned)(lab_rnd(l) & 0xffff),
	         (unsigned)(lab_rnd(l) & 0xfff), (unsigned)(8 + lab_rnd(l) % 4),
	         (unsigned)(lab_rnd(l) & 0xfff),
	         (unsigned long long)(lab_rnd(l) & 0xffffffffffffull));
	l->uid_seq++;
}

/* "2026-12-02 22:27:36", or with gmt "Wed, 02 Dec 2026 22:27:36 GMT" */
static void fmt_time(const pd_labpbx *l, int64_t mono_ms, bool gmt, char *out, size_t n)
{
	time_t t = (time_t)wall_s(l, mono_ms);
	struct tm tm;
	gmtime_r(&t, &tm);
	if (gmt)
		strftime(out, n, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	else
		strftime(out, n, "%Y-%m-%d %H:%M:%S", &tm);
}

/* ---- events ---- */

static void ev_begin(pd_labpbx *l, pd_buf *b, const char *name, const char *subclass,
                     const char *file, const char *func, int line)
{
	char t[64];
	if (subclass) {
		put_h(b, "Event-Subclass", subclass);
		put_h(b, "Event-Name", "CUSTOM");
	} else {
		put_h(b, "Event-Name", name);
	}
	put_h(b, "Core-UUID", l->core_uuid);
	put_h(b, "FreeSWITCH-Hostname", "lab");
	put_h(b, "FreeSWITCH-Switchname", "lab");
	put_h(b, "FreeSWITCH-IPv4", "127.0.0.1");
	put_h(b, "FreeSWITCH-IPv6", "::1");
	fmt_time(l, l->now, false, t, sizeof t);
	put_h(b, "Event-Date-Local", t);
	fmt_time(l, l->now, true, t, sizeof t);
	put_h(b, "Event-Date-GMT", t);
	put_hf(b, "Event-Date-Timestamp", "%lld", wall_us(l, l->now));
	put_h(b, "Event-Calling-File", file);
	put_h(b, "Event-Calling-Function", func);
	put_hf(b, "Event-Calling-Line-Number", "%d", line);
	put_hf(b, "Event-Sequence", "%llu", (unsigned long long)++l->ev_seq);
}

/* A session writing the huge fault's body gets nothing else until it ends:
 * bytes in the middle of a body would be part of it. */
static bool wants(const session *s, unsigned sub)
{
	return s->logged_in && !s->mute && !s->close_after && !s->huge_left && (s->esl_sub & sub);
}

/* Frames the header block hb (and an inner body) as one text/event-plain and
 * sends it to every session subscribed to sub; frees hb. */
static void ev_send(pd_labpbx *l, pd_buf *hb, unsigned sub, const char *body, size_t blen)
{
	pd_buf b = {0};
	if (body)
		pd_buf_printf(hb, "Content-Length: %zu\n", blen);
	pd_buf_add(hb, "\n");
	if (body)
		pd_buf_addn(hb, body, blen);
	pd_buf_printf(&b, "Content-Length: %zu\nContent-Type: text/event-plain\n\n", hb->len);
	pd_buf_addn(&b, hb->s, hb->len);
	for (int i = 0; i < l->ns; i++)
		if (wants(l->s[i], sub))
			lab_sess_send(l->s[i], b.s, b.len);
	pd_buf_free(&b);
	pd_buf_free(hb);
}

static bool any_wants(pd_labpbx *l, unsigned sub)
{
	for (int i = 0; i < l->ns; i++)
		if (wants(l->s[i], sub))
			return true;
	return false;
}

/* One leg of a call as the channel data of an event shows it. */
typedef struct {
	const char *name, *uuid, *dir;
	const char *cid_name, *cid_num, *callee_name, *callee_num;
	const char *dest, *context, *source, *username, *presence;
	int64_t created, answered, bridged, hungup, held; /* monotonic ms, 0 = not */
	bool is_agent;                                    /* the agent leg of a queue call */
} leg;

/* "1001@default" and "support@default", in per-thread buffers (each lab runs
 * on its own thread): slot 0 is the agent an event names, slot 1 a leg's
 * presence id; a buffer's value lives until the next call with its slot. */
static _Thread_local char agent_buf[2][96];

static const char *agent_id(const luser *u, int slot)
{
	snprintf(agent_buf[slot], sizeof agent_buf[slot], "%s@%s", u->ep, u->context);
	return agent_buf[slot];
}

static _Thread_local char queue_buf[96];

static const char *queue_id(const pd_labpbx *l, int q)
{
	snprintf(queue_buf, sizeof queue_buf, "%s@default", l->qname[q]);
	return queue_buf;
}

/* The trunk leg: the caller of an inbound call, the callee of an outbound one. */
static leg caller_leg(pd_labpbx *l, const lcall *c)
{
	const luser *a = c->agent >= 0 ? &l->u[c->agent] : NULL;
	bool talk = c->phase == P_TALK || (c->phase == P_DONE && c->answer_at);
	if (c->outbound)
		return (leg){.name = c->chan,
		             .uuid = c->uid,
		             .dir = "outbound",
		             .cid_name = a->name,
		             .cid_num = a->ep,
		             .callee_name = "Outbound Call",
		             .callee_num = c->dialed,
		             .dest = c->dialed,
		             .context = "default",
		             .source = "src/switch_ivr_originate.c",
		             .created = c->join_at,
		             .answered = talk ? c->answer_at : 0,
		             .bridged = talk ? c->answer_at : 0};
	return (leg){.name = c->chan,
	             .uuid = c->uid,
	             .dir = "inbound",
	             .cid_name = c->cid_name,
	             .cid_num = c->cid_num,
	             .callee_name = talk ? "Outbound Call" : NULL,
	             .callee_num = talk && a ? a->ep : NULL,
	             .dest = l->qname[c->q],
	             .context = "public",
	             .source = "mod_sofia",
	             .username = c->cid_num,
	             .created = c->join_at,
	             .answered = c->join_at,
	             .bridged = talk ? c->answer_at : 0};
}

/* The user's leg: the agent of a queue call, the caller of an outbound one. */
static leg user_leg(pd_labpbx *l, const lcall *c)
{
	const luser *a = &l->u[c->agent];
	bool talk = c->phase == P_TALK || (c->phase == P_DONE && c->answer_at);
	if (c->outbound)
		return (leg){.name = c->a_chan,
		             .uuid = c->a_uid,
		             .dir = "inbound",
		             .cid_name = a->name,
		             .cid_num = a->ep,
		             .callee_name = talk ? "Outbound Call" : NULL,
		             .callee_num = talk ? c->dialed : NULL,
		             .dest = c->dialed,
		             .context = a->context,
		             .source = "mod_sofia",
		             .username = a->ep,
		             .created = c->join_at,
		             .answered = c->join_at,
		             .bridged = talk ? c->answer_at : 0,
		             .held = c->held ? c->hold_at : 0};
	return (leg){.name = c->a_chan,
	             .uuid = c->a_uid,
	             .dir = "outbound",
	             .cid_name = c->cid_name,
	             .cid_num = c->cid_num,
	             .callee_name = "Outbound Call",
	             .callee_num = a->ep,
	             .dest = a->ep,
	             .context = "default",
	             .source = "src/switch_ivr_originate.c",
	             .presence = agent_id(a, 1),
	             .created = c->ring_at,
	             .answered = talk ? c->answer_at : 0,
	             .bridged = 0,
	             .held = c->held ? c->hold_at : 0,
	             .is_agent = true};
}

static void put_profile(pd_labpbx *l, pd_buf *b, const char *pfx, const leg *g, bool other)
{
	char k[64];
#define K(n) (snprintf(k, sizeof k, "%s%s", pfx, n), k)
	put_h(b, K("Direction"), g->dir);
	put_h(b, K("Logical-Direction"), other ? "inbound" : g->dir);
	if (g->username)
		put_h(b, K("Username"), g->username);
	put_h(b, K("Caller-ID-Name"), g->cid_name);
	put_h(b, K("Caller-ID-Number"), g->cid_num);
	put_h(b, K("Orig-Caller-ID-Name"), g->cid_name);
	put_h(b, K("Orig-Caller-ID-Number"), g->cid_num);
	if (g->callee_name) {
		put_h(b, K("Callee-ID-Name"), g->callee_name);
		put_h(b, K("Callee-ID-Number"), g->callee_num);
	}
	put_h(b, K("ANI"), g->cid_num);
	put_h(b, K("Destination-Number"), g->dest);
	put_h(b, K("Unique-ID"), g->uuid);
	put_h(b, K("Source"), g->source);
	put_h(b, K("Context"), g->context);
	put_h(b, K("Channel-Name"), g->name);
	if (!other)
		put_h(b, K("Profile-Index"), "1");
	put_hf(b, K("Profile-Created-Time"), "%lld", wall_us(l, g->created));
	put_hf(b, K("Channel-Created-Time"), "%lld", wall_us(l, g->created));
	put_hf(b, K("Channel-Answered-Time"), "%lld", wall_us(l, g->answered));
	put_h(b, K("Channel-Progress-Time"), "0");
	put_h(b, K("Channel-Progress-Media-Time"), "0");
	put_hf(b, K("Channel-Hangup-Time"), "%lld", wall_us(l, g->hungup));
	put_h(b, K("Channel-Transfer-Time"), "0");
	put_h(b, K("Channel-Resurrect-Time"), "0");
	put_hf(b, K("Channel-Bridged-Time"), "%lld", wall_us(l, g->bridged));
	put_hf(b, K("Channel-Last-Hold"), "%lld", wall_us(l, g->held));
	put_h(b, K("Channel-Hold-Accum"), "0");
	put_h(b, K("Screen-Bit"), "true");
	put_h(b, K("Privacy-Hide-Name"), "false");
	put_h(b, K("Privacy-Hide-Number"), "false");
#undef K
}

/* Channel-*, Caller-*, Other-Leg-* (when o) and the variables of a queue or
 * plain call leg. */
static void put_channel(pd_labpbx *l, pd_buf *b, const lcall *c, const leg *g, const leg *o,
                        const char *state, int state_no, const char *call_state,
                        const char *answer_state, const char *cause)
{
	put_h(b, "Channel-State", state);
	put_h(b, "Channel-Call-State", call_state);
	put_hf(b, "Channel-State-Number", "%d", state_no);
	put_h(b, "Channel-Name", g->name);
	put_h(b, "Unique-ID", g->uuid);
	put_h(b, "Call-Direction", g->dir);
	put_h(b, "Presence-Call-Direction", g->dir);
	put_h(b, "Channel-HIT-Dialplan", strcmp(g->dir, "inbound") ? "false" : "true");
	if (g->presence)
		put_h(b, "Channel-Presence-ID", g->presence);
	put_h(b, "Channel-Call-UUID", g->uuid);
	put_h(b, "Answer-State", answer_state);
	if (cause)
		put_h(b, "Hangup-Cause", cause);
	if (g->answered) {
		put_h(b, "Channel-Read-Codec-Name", "PCMU");
		put_h(b, "Channel-Read-Codec-Rate", "8000");
		put_h(b, "Channel-Read-Codec-Bit-Rate", "64000");
		put_h(b, "Channel-Write-Codec-Name", "PCMU");
		put_h(b, "Channel-Write-Codec-Rate", "8000");
		put_h(b, "Channel-Write-Codec-Bit-Rate", "64000");
	}
	put_profile(l, b, "Caller-", g, false);
	if (o) {
		put_h(b, "Other-Type", g->is_agent ? "originator" : "originatee");
		put_profile(l, b, "Other-Leg-", o, true);
	}
	put_h(b, "variable_direction", g->dir);
	put_h(b, "variable_uuid", g->uuid);
	put_h(b, "variable_call_uuid", g->uuid);
	put_h(b, "variable_channel_name", g->name);
	put_h(b, "variable_effective_caller_id_name", g->cid_name);
	put_h(b, "variable_effective_caller_id_number", g->cid_num);
	if (!c->outbound && c->q >= 0) {
		const luser *a = c->agent >= 0 ? &l->u[c->agent] : NULL;
		put_h(b, "variable_cc_queue", queue_id(l, c->q));
		put_h(b, "variable_cc_member_uuid", c->m_uid);
		put_hf(b, "variable_cc_queue_joined_epoch", "%lld", wall_s(l, c->join_at));
		if (g->is_agent) {
			put_h(b, "variable_cc_member_session_uuid", c->uid);
			put_h(b, "variable_cc_agent", agent_id(a, 0));
			put_h(b, "variable_cc_agent_type", "callback");
			put_h(b, "variable_cc_side", "agent");
		} else {
			put_h(b, "variable_cc_side", "member");
			if (a && c->answer_at) {
				put_h(b, "variable_cc_agent", agent_id(a, 0));
				put_h(b, "variable_cc_agent_uuid", c->a_uid);
				put_hf(b, "variable_cc_queue_answered_epoch", "%lld",
				       wall_s(l, c->answer_at));
			}
		}
	}
	if (o) {
		put_h(b, "variable_bridge_uuid", o->uuid);
		put_h(b, "variable_bridge_channel", o->name);
	}
	if (cause) {
		/* a variable literally named Event-Name (tests/fixtures/freeswitch/README.md) */
		put_h(b, "variable_Event-Name", "REQUEST_PARAMS");
		put_h(b, "variable_hangup_cause", cause);
		put_hf(b, "variable_start_epoch", "%lld", wall_s(l, g->created));
		put_hf(b, "variable_answer_epoch", "%lld",
		       g->answered ? wall_s(l, g->answered) : 0);
		put_hf(b, "variable_end_epoch", "%lld", wall_s(l, l->now));
		put_hf(b, "variable_duration", "%lld", wall_s(l, l->now) - wall_s(l, g->created));
		put_hf(b, "variable_billsec", "%lld",
		       g->answered ? wall_s(l, l->now) - wall_s(l, g->answered) : 0);
	}
}

static void chan_event(pd_labpbx *l, const char *name, unsigned sub, const char *func, int line,
                       const lcall *c, const leg *g, const leg *o, const char *state, int state_no,
                       const char *call_state, const char *answer_state, const char *cause,
                       const char *bridge_a, const char *bridge_b)
{
	if (!any_wants(l, sub))
		return;
	pd_buf b = {0};
	const char *file = !strcmp(name, "CHANNEL_CREATE") ? "switch_core_state_machine.c"
	                   : !strcmp(name, "CHANNEL_HANGUP_COMPLETE")
	                       ? "switch_core_state_machine.c"
	                   : bridge_a ? "switch_ivr_bridge.c"
	                              : "switch_channel.c";
	ev_begin(l, &b, name, NULL, file, func, line);
	if (cause && !strcmp(name, "CHANNEL_HANGUP_COMPLETE"))
		put_h(&b, "Hangup-Cause", cause);
	if (bridge_a) {
		put_h(&b, "Bridge-A-Unique-ID", bridge_a);
		put_h(&b, "Bridge-B-Unique-ID", bridge_b);
	}
	put_channel(l, &b, c, g, o, state, state_no, call_state, answer_state, cause);
	ev_send(l, &b, sub, NULL, 0);
}

/* A callcenter::info event; channel data of g when given, then the CC-*
 * pairs (name, value, ..., NULL). */
static void cc_event(pd_labpbx *l, const char *func, int line, const lcall *c, const leg *g,
                     const leg *o, const char *answer_state, const char *cause, ...)
{
	if (!any_wants(l, SUB_CC_INFO))
		return;
	pd_buf b = {0};
	ev_begin(l, &b, "CUSTOM", "callcenter::info", "mod_callcenter.c", func, line);
	if (g)
		put_channel(l, &b, c, g, o, cause ? "CS_HANGUP" : "CS_EXECUTE", cause ? 10 : 4,
		            cause ? "HANGUP" : "ACTIVE", answer_state, cause);
	va_list ap;
	va_start(ap, cause);
	for (const char *k = va_arg(ap, const char *); k; k = va_arg(ap, const char *))
		put_h(&b, k, va_arg(ap, const char *));
	va_end(ap);
	ev_send(l, &b, SUB_CC_INFO, NULL, 0);
}

static void agent_state(pd_labpbx *l, const luser *u, const char *state)
{
	cc_event(l, "cc_agent_update", 1067, NULL, NULL, NULL, NULL, NULL, "CC-Agent",
	         agent_id(u, 0), "CC-Action", "agent-state-change", "CC-Agent-State", state,
	         (const char *)NULL);
}

static const char *agent_status(const luser *u)
{
	return u->logged_out  ? "Logged Out"
	       : u->paused    ? "On Break"
	       : u->on_demand ? "Available (On Demand)"
	                      : "Available";
}

void lab_esl_agent_status(pd_labpbx *l, const luser *u)
{
	if (l->xsi)
		lab_xsi_agent_status(l, u);
	if (!l->esl)
		return;
	cc_event(l, "cc_agent_update", 1043, NULL, NULL, NULL, NULL, NULL, "CC-Agent",
	         agent_id(u, 0), "CC-Action", "agent-status-change", "CC-Agent-Status",
	         agent_status(u), (const char *)NULL);
}

static int members_in(pd_labpbx *l, int q)
{
	int n = 0;
	for (size_t i = 0; i < l->ncalls; i++)
		n += l->calls[i].q == q && !l->calls[i].outbound && l->calls[i].phase != P_DONE &&
		     l->calls[i].phase != P_JOIN;
	return n;
}

static void members_count(pd_labpbx *l, int q, int delta)
{
	char n[16];
	snprintf(n, sizeof n, "%d", members_in(l, q) + delta);
	cc_event(l, "cc_queue_count", 878, NULL, NULL, NULL, NULL, NULL, "CC-Queue", queue_id(l, q),
	         "CC-Action", "members-count", "CC-Count", n, "CC-Selection", "Single-Queue",
	         (const char *)NULL);
}

void lab_esl_call(pd_labpbx *l, const lcall *c, int step)
{
	if (l->xsi)
		lab_xsi_call(l, c, step);
	if (!l->esl)
		return;
	char t1[24], t2[24], t3[24], t4[24];
	leg cl = caller_leg(l, c);
	switch (step) {
	case LAB_CALL_JOIN: {
		leg created = cl;
		created.answered = 0; /* the queue answers it right after */
		chan_event(l, "CHANNEL_CREATE", SUB_CREATE, "switch_core_session_run", 626, c,
		           &created, NULL, "CS_INIT", 2, "DOWN", "ringing", NULL, NULL, NULL);
		chan_event(l, "CHANNEL_ANSWER", SUB_ANSWER, "switch_channel_perform_mark_answered",
		           3846, c, &cl, NULL, "CS_EXECUTE", 4, "RINGING", "answered", NULL, NULL,
		           NULL);
		cc_event(l, "callcenter_function", 3113, c, &cl, NULL, "answered", NULL, "CC-Queue",
		         queue_id(l, c->q), "CC-Action", "member-queue-start", "CC-Member-UUID",
		         c->m_uid, "CC-Member-Session-UUID", c->uid, "CC-Member-CID-Name",
		         c->cid_name, "CC-Member-CID-Number", c->cid_num, (const char *)NULL);
		members_count(l, c->q, 0);
		break;
	}
	case LAB_CALL_OFFER: {
		const luser *a = &l->u[c->agent];
		leg al = user_leg(l, c);
		chan_event(l, "CHANNEL_CREATE", SUB_CREATE, "switch_core_session_run", 626, c, &al,
		           NULL, "CS_INIT", 2, "DOWN", "ringing", NULL, NULL, NULL);
		agent_state(l, a, "Receiving");
		cc_event(l, "outbound_agent_thread_run", 1717, c, NULL, NULL, NULL, NULL,
		         "CC-Queue", queue_id(l, c->q), "CC-Action", "agent-offering", "CC-Agent",
		         agent_id(a, 0), "CC-Agent-Type", "callback", "CC-Agent-System",
		         "single_box", "CC-Member-UUID", c->m_uid, "CC-Member-Session-UUID", c->uid,
		         "CC-Member-CID-Name", c->cid_name, "CC-Member-CID-Number", c->cid_num,
		         (const char *)NULL);
		break;
	}
	case LAB_CALL_ANSWER: {
		/* lab_calls.c calls this before plan_talk sets answer_at: use now */
		lcall cc = *c;
		cc.phase = P_TALK;
		cc.answer_at = l->now;
		cl = caller_leg(l, &cc);
		leg al = user_leg(l, &cc);
		const luser *a = &l->u[c->agent];
		chan_event(l, "CHANNEL_ANSWER", SUB_ANSWER, "switch_channel_perform_mark_answered",
		           3846, &cc, &al, NULL, "CS_CONSUME_MEDIA", 7, "RINGING", "answered", NULL,
		           NULL, NULL);
		agent_state(l, a, "In a queue call");
		snprintf(t1, sizeof t1, "%lld", wall_s(l, c->ring_at));
		snprintf(t2, sizeof t2, "%lld", wall_s(l, l->now));
		snprintf(t3, sizeof t3, "%lld", wall_s(l, c->join_at));
		cc_event(l, "outbound_agent_thread_run", 1934, &cc, &al, NULL, "answered", NULL,
		         "CC-Queue", queue_id(l, c->q), "CC-Action", "bridge-agent-start",
		         "CC-Agent", agent_id(a, 0), "CC-Agent-System", "single_box",
		         "CC-Agent-UUID", c->a_uid, "CC-Agent-Called-Time", t1,
		         "CC-Agent-Answered-Time", t2, "CC-Member-Joined-Time", t3,
		         "CC-Member-UUID", c->m_uid, "CC-Member-Session-UUID", c->uid,
		         "CC-Member-CID-Name", c->cid_name, "CC-Member-CID-Number", c->cid_num,
		         (const char *)NULL);
		chan_event(l, "CHANNEL_BRIDGE", SUB_BRIDGE, "switch_ivr_multi_threaded_bridge",
		           1689, &cc, &cl, &al, "CS_SOFT_EXECUTE", 3, "ACTIVE", "answered", NULL,
		           c->uid, c->a_uid);
		members_count(l, c->q, 0);
		break;
	}
	case LAB_CALL_OUT_START: {
		leg ul = user_leg(l, c);
		chan_event(l, "CHANNEL_CREATE", SUB_CREATE, "switch_core_session_run", 626, c, &ul,
		           NULL, "CS_INIT", 2, "DOWN", "ringing", NULL, NULL, NULL);
		chan_event(l, "CHANNEL_CREATE", SUB_CREATE, "switch_core_session_run", 626, c, &cl,
		           NULL, "CS_INIT", 2, "DOWN", "ringing", NULL, NULL, NULL);
		break;
	}
	case LAB_CALL_OUT_ANSWER: {
		lcall cc = *c;
		cc.phase = P_TALK;
		cc.answer_at = l->now;
		cl = caller_leg(l, &cc);
		leg ul = user_leg(l, &cc);
		chan_event(l, "CHANNEL_ANSWER", SUB_ANSWER, "switch_channel_perform_mark_answered",
		           3846, &cc, &cl, NULL, "CS_CONSUME_MEDIA", 7, "RINGING", "answered", NULL,
		           NULL, NULL);
		chan_event(l, "CHANNEL_ANSWER", SUB_ANSWER, "switch_channel_perform_mark_answered",
		           3846, &cc, &ul, NULL, "CS_EXECUTE", 4, "RINGING", "answered", NULL, NULL,
		           NULL);
		chan_event(l, "CHANNEL_BRIDGE", SUB_BRIDGE, "switch_ivr_multi_threaded_bridge",
		           1689, &cc, &ul, &cl, "CS_SOFT_EXECUTE", 3, "ACTIVE", "answered", NULL,
		           c->a_uid, c->uid);
		break;
	}
	case LAB_CALL_HOLD:
	case LAB_CALL_UNHOLD: {
		bool on = step == LAB_CALL_HOLD;
		lcall cc = *c;
		if (on && !cc.hold_at)
			cc.hold_at = l->now;
		leg ul = user_leg(l, &cc);
		chan_event(l, on ? "CHANNEL_HOLD" : "CHANNEL_UNHOLD", on ? SUB_HOLD : SUB_UNHOLD,
		           "switch_channel_mark_hold", 875, &cc, &ul, &cl, "CS_EXECUTE", 4,
		           on ? "HELD" : "UNHELD", "answered", NULL, NULL, NULL);
		break;
	}
	case LAB_CALL_HANGUP: {
		leg ul = user_leg(l, c);
		ul.hungup = cl.hungup = l->now;
		const char *a_uid = c->outbound ? c->a_uid : c->uid,
		           *b_uid = c->outbound ? c->uid : c->a_uid;
		const leg *A = c->outbound ? &ul : &cl, *B = c->outbound ? &cl : &ul;
		chan_event(l, "CHANNEL_UNBRIDGE", SUB_UNBRIDGE, "switch_ivr_multi_threaded_bridge",
		           1879, c, A, B, "CS_EXECUTE", 4, "HANGUP", "hangup", "NORMAL_CLEARING",
		           a_uid, b_uid);
		if (!c->outbound) {
			const luser *a = &l->u[c->agent];
			snprintf(t1, sizeof t1, "%lld", wall_s(l, c->ring_at));
			snprintf(t2, sizeof t2, "%lld", wall_s(l, c->answer_at));
			snprintf(t3, sizeof t3, "%lld", wall_s(l, c->join_at));
			snprintf(t4, sizeof t4, "%lld", wall_s(l, l->now));
			cc_event(l, "outbound_agent_thread_run", 2062, c, &ul, &cl, "hangup",
			         "NORMAL_CLEARING", "CC-Queue", queue_id(l, c->q), "CC-Action",
			         "bridge-agent-end", "CC-Hangup-Cause", "SUCCESS", "CC-Agent",
			         agent_id(a, 0), "CC-Agent-System", "single_box", "CC-Agent-UUID",
			         c->a_uid, "CC-Agent-Bridged", "true", "CC-Agent-Called-Time", t1,
			         "CC-Agent-Answered-Time", t2, "CC-Member-Joined-Time", t3,
			         "CC-Bridge-Terminated-Time", t4, "CC-Member-UUID", c->m_uid,
			         "CC-Member-Session-UUID", c->uid, "CC-Member-CID-Name",
			         c->cid_name, "CC-Member-CID-Number", c->cid_num,
			         (const char *)NULL);
			cc_event(l, "outbound_agent_thread_run", 2098, c, &cl, &ul, "hangup",
			         "NORMAL_CLEARING", "CC-Queue", queue_id(l, c->q), "CC-Action",
			         "member-queue-end", "CC-Hangup-Cause", "SUCCESS", "CC-Cause",
			         "Terminated", "CC-Agent", agent_id(a, 0), "CC-Agent-System",
			         "single_box", "CC-Agent-UUID", c->a_uid, "CC-Agent-Called-Time",
			         t1, "CC-Agent-Answered-Time", t2, "CC-Member-Leaving-Time", t4,
			         "CC-Member-Joined-Time", t3, "CC-Member-UUID", c->m_uid,
			         "CC-Member-Session-UUID", c->uid, "CC-Member-CID-Name",
			         c->cid_name, "CC-Member-CID-Number", c->cid_num,
			         (const char *)NULL);
		}
		chan_event(l, "CHANNEL_HANGUP_COMPLETE", SUB_HANGUP_COMPLETE,
		           "switch_core_session_reporting_state", 943, c, B, A, "CS_REPORTING", 11,
		           "HANGUP", "hangup", "NORMAL_CLEARING", NULL, NULL);
		chan_event(l, "CHANNEL_HANGUP_COMPLETE", SUB_HANGUP_COMPLETE,
		           "switch_core_session_reporting_state", 943, c, A, B, "CS_REPORTING", 11,
		           "HANGUP", "hangup", "NORMAL_CLEARING", NULL, NULL);
		if (!c->outbound) {
			agent_state(l, &l->u[c->agent], "Waiting");
			members_count(l, c->q, -1);
		}
		break;
	}
	case LAB_CALL_ABANDON: {
		cl.hungup = l->now;
		snprintf(t3, sizeof t3, "%lld", wall_s(l, c->join_at));
		snprintf(t4, sizeof t4, "%lld", wall_s(l, l->now));
		cc_event(l, "callcenter_function", 3274, c, &cl, NULL, "hangup", "NORMAL_CLEARING",
		         "CC-Queue", queue_id(l, c->q), "CC-Action", "member-queue-end",
		         "CC-Member-Leaving-Time", t4, "CC-Member-Joined-Time", t3, "CC-Cause",
		         "Cancel", "CC-Cancel-Reason", "BREAK_OUT", "CC-Member-UUID", c->m_uid,
		         "CC-Member-Session-UUID", c->uid, "CC-Member-CID-Name", c->cid_name,
		         "CC-Member-CID-Number", c->cid_num, (const char *)NULL);
		members_count(l, c->q, 0);
		chan_event(l, "CHANNEL_HANGUP_COMPLETE", SUB_HANGUP_COMPLETE,
		           "switch_core_session_reporting_state", 943, c, &cl, NULL, "CS_REPORTING",
		           11, "HANGUP", "hangup", "NORMAL_CLEARING", NULL, NULL);
		break;
	}
	}
}

/* ---- registrations and heartbeat ---- */

static int user_index(const pd_labpbx *l, const luser *u)
{
	return (int)(u - l->u);
}

void lab_esl_register(pd_labpbx *l, luser *u, bool registered)
{
	if (!l->esl)
		return;
	u->unregistered = !registered;
	unsigned sub = registered ? SUB_SOFIA_REGISTER : SUB_SOFIA_UNREGISTER;
	if (!any_wants(l, sub))
		return;
	int i = user_index(l, u);
	char contact[256], callid[40];
	snprintf(contact, sizeof contact, "\"%s\" <sip:%s@127.0.0.1:%d;ob>", u->name, u->ep,
	         5270 + i + 1);
	snprintf(callid, sizeof callid, "lab-reg-%s-%s", u->ep, u->context);
	pd_buf b = {0};
	ev_begin(l, &b, "CUSTOM", registered ? "sofia::register" : "sofia::unregister",
	         "sofia_reg.c", "sofia_reg_handle_register_token", registered ? 2059 : 2213);
	put_h(&b, "profile-name", "internal");
	put_h(&b, "from-user", u->ep);
	put_h(&b, "from-host", u->context);
	if (registered)
		put_h(&b, "presence-hosts", "n/a");
	put_h(&b, "contact", contact);
	put_h(&b, "call-id", callid);
	put_h(&b, "rpid", "unknown");
	if (registered) {
		put_h(&b, "status", "Registered(UDP)");
		put_h(&b, "expires", "60");
		put_h(&b, "to-user", u->ep);
		put_h(&b, "to-host", u->context);
	}
	put_h(&b, "network-ip", "127.0.0.1");
	put_hf(&b, "network-port", "%d", 5270 + i + 1);
	put_h(&b, "username", u->ep);
	put_h(&b, "realm", u->context);
	put_h(&b, "user-agent", "Lab Phone 1.0");
	if (!registered)
		put_h(&b, "expires", "0");
	put_h(&b, "user_name", u->ep);
	put_h(&b, "domain_name", u->context);
	put_h(&b, "user_context", u->context);
	put_h(&b, "effective_caller_id_name", u->name);
	put_h(&b, "effective_caller_id_number", u->ep);
	put_h(&b, "callgroup", l->qname[u->queue]);
	put_h(&b, "accountcode", u->ep);
	ev_send(l, &b, sub, NULL, 0);
}

static void heartbeat(pd_labpbx *l)
{
	if (!any_wants(l, SUB_HEARTBEAT))
		return;
	int64_t up = l->now - l->boot_ms;
	char ut[160];
	snprintf(ut, sizeof ut,
	         "0 years, %lld days, %lld hours, %lld minutes, %lld seconds, %lld "
	         "milliseconds, 0 microseconds",
	         (long long)(up / 86400000), (long long)(up / 3600000 % 24),
	         (long long)(up / 60000 % 60), (long long)(up / 1000 % 60), (long long)(up % 1000));
	pd_buf b = {0};
	ev_begin(l, &b, "HEARTBEAT", NULL, "switch_core.c", "send_heartbeat", 95);
	put_h(&b, "Event-Info", "System Ready");
	put_h(&b, "Up-Time", ut);
	put_h(&b, "FreeSWITCH-Version", "1.10.12-release~64bit");
	put_hf(&b, "Uptime-msec", "%lld", (long long)up);
	put_hf(&b, "Session-Count", "%d", (int)l->ncalls * 2);
	put_h(&b, "Max-Sessions", "200");
	put_h(&b, "Session-Per-Sec", "30");
	put_h(&b, "Session-Per-Sec-Last", "0");
	put_h(&b, "Session-Per-Sec-Max", "3");
	put_h(&b, "Session-Per-Sec-FiveMin", "3");
	put_hf(&b, "Session-Since-Startup", "%u", l->uid_seq);
	put_hf(&b, "Session-Peak-Max", "%d", (int)l->ccalls * 2);
	put_hf(&b, "Session-Peak-FiveMin", "%d", (int)l->ccalls * 2);
	put_h(&b, "Idle-CPU", "97.400000");
	ev_send(l, &b, SUB_HEARTBEAT, NULL, 0);
}

int64_t lab_esl_tick(pd_labpbx *l)
{
	if (!l->next_heartbeat)
		l->next_heartbeat = l->boot_ms + l->o.heartbeat_ms;
	if (l->now >= l->next_heartbeat) {
		heartbeat(l);
		while (l->next_heartbeat <= l->now)
			l->next_heartbeat += l->o.heartbeat_ms;
	}
	int64_t next = l->next_heartbeat;
	if (l->o.reg_refresh_ms > 0 && l->nu > 0) {
		int64_t step = l->o.reg_refresh_ms / l->nu + 1;
		if (!l->next_reg)
			l->next_reg = l->now + step;
		if (l->now >= l->next_reg) {
			luser *u = &l->u[l->reg_next_user++ % l->nu];
			if (!u->unregistered)
				lab_esl_register(l, u, true);
			l->next_reg = l->now + step;
		}
		if (l->next_reg < next)
			next = l->next_reg;
	}
	return next;
}

/* ---- api commands ---- */

static bool word_is(const char **p, const char *w)
{
	size_t n = strlen(w);
	if (strncmp(*p, w, n) != 0 || ((*p)[n] != '\0' && (*p)[n] != ' '))
		return false;
	*p += n;
	while (**p == ' ')
		(*p)++;
	return true;
}

static luser *find_user(pd_labpbx *l, const char *id)
{
	/* "1001@default" (or a bare "1001") */
	char ep[32];
	const char *at = strchr(id, '@');
	size_t n = at ? (size_t)(at - id) : strlen(id);
	if (n == 0 || n >= sizeof ep)
		return NULL;
	memcpy(ep, id, n);
	ep[n] = '\0';
	luser *u = lab_user_by_ep(l, ep);
	return u && (!at || !strcmp(at + 1, u->context)) ? u : NULL;
}

static int find_queue(pd_labpbx *l, const char *id)
{
	for (int q = 0; q < l->o.queues; q++)
		if (!strcmp(id, queue_id(l, q)) || !strcmp(id, l->qname[q]))
			return q;
	return -1;
}

static const lcall *call_of_agent(pd_labpbx *l, const luser *u)
{
	for (size_t i = 0; i < l->ncalls; i++) {
		const lcall *c = &l->calls[i];
		if (c->agent >= 0 && &l->u[c->agent] == u && c->phase != P_DONE)
			return c;
	}
	return NULL;
}

static const char *agent_run_state(pd_labpbx *l, const luser *u)
{
	const lcall *c = call_of_agent(l, u);
	if (u->logged_out)
		return "Idle";
	if (c && !c->outbound)
		return c->phase == P_RING ? "Receiving" : "In a queue call";
	return "Waiting";
}

static void api_status(pd_labpbx *l, pd_buf *o)
{
	int64_t up = l->now - l->boot_ms;
	pd_buf_printf(o,
	              "UP 0 years, %lld days, %lld hours, %lld minutes, %lld seconds, %lld "
	              "milliseconds, 0 microseconds\n"
	              "FreeSWITCH (Version 1.10.12-release  64bit) is ready\n"
	              "%u session(s) since startup\n"
	              "%d session(s) - peak %d, last 5min %d \n"
	              "0 session(s) per Sec out of max 30, peak 3, last 5min 3 \n"
	              "200 session(s) max\n"
	              "min idle cpu 0.00/97.40\n"
	              "Current Stack Size/Max 240K/8192K\n",
	              (long long)(up / 86400000), (long long)(up / 3600000 % 24),
	              (long long)(up / 60000 % 60), (long long)(up / 1000 % 60),
	              (long long)(up % 1000), l->uid_seq, (int)l->ncalls * 2, (int)l->ccalls * 2,
	              (int)l->ccalls * 2);
}

static void agent_row(pd_labpbx *l, pd_buf *o, const luser *u)
{
	const lcall *c = call_of_agent(l, u);
	const char *id = agent_id(u, 0);
	pd_buf_printf(o,
	              "%s|single_box|%s|callback|[leg_timeout=12]user/%s|%s|%s|3|%d|10|10|15|0|0|"
	              "0|%lld|0|%d|0|0|0\n",
	              id, c && !c->outbound && c->phase == P_TALK ? c->a_uid : "", id,
	              agent_status(u), agent_run_state(l, u), l->o.wrapup_s,
	              (long long)(u->last_pause ? u->last_pause : l->epoch), u->calls_taken);
}

static const char agent_head[] =
    "name|instance_id|uuid|type|contact|status|state|max_no_answer|wrap_up_time|"
    "reject_delay_time|busy_delay_time|no_answer_delay_time|last_bridge_start|last_bridge_end|"
    "last_offered_call|last_status_change|no_answer_count|calls_answered|talk_time|ready_time|"
    "external_calls_count\n";

static const char *tier_state(pd_labpbx *l, const luser *u)
{
	const lcall *c = call_of_agent(l, u);
	if (c && !c->outbound)
		return c->phase == P_RING ? "Offering" : "Active Inbound";
	return "Ready";
}

static void tier_rows(pd_labpbx *l, pd_buf *o, int only_q)
{
	pd_buf_add(o, "queue|agent|state|level|position\n");
	for (int q = 0; q < l->o.queues; q++) {
		if (only_q >= 0 && q != only_q)
			continue;
		int pos = 0;
		for (int i = 0; i < l->nu; i++)
			if (l->u[i].queue == q)
				pd_buf_printf(o, "%s|%s|%s|1|%d\n", queue_id(l, q),
				              agent_id(&l->u[i], 0), tier_state(l, &l->u[i]),
				              ++pos);
	}
	pd_buf_add(o, "+OK\n");
}

static void member_rows(pd_labpbx *l, pd_buf *o, int q)
{
	pd_buf_add(o, "queue|instance_id|uuid|session_uuid|cid_number|cid_name|system_epoch|"
	              "joined_epoch|rejoined_epoch|bridge_epoch|abandoned_epoch|base_score|"
	              "skill_score|serving_agent|serving_system|state|score\n");
	for (size_t i = 0; i < l->ncalls; i++) {
		const lcall *c = &l->calls[i];
		if (c->outbound || c->q != q || c->phase == P_JOIN || c->phase == P_DONE)
			continue;
		const char *st = c->phase == P_WAIT   ? "Waiting"
		                 : c->phase == P_RING ? "Trying"
		                                      : "Answered";
		long long j = wall_s(l, c->join_at);
		pd_buf_printf(o, "%s|single_box|%s|%s|%s|%s|%lld|%lld|0|%lld|0|0|0|%s|%s|%s|%lld\n",
		              queue_id(l, q), c->m_uid, c->uid, c->cid_num, c->cid_name, j, j,
		              c->phase == P_TALK ? wall_s(l, c->answer_at) : 0LL,
		              c->agent >= 0 ? agent_id(&l->u[c->agent], 0) : "",
		              c->agent >= 0 ? "single_box" : "", st, wall_s(l, l->now) - j);
	}
	pd_buf_add(o, "+OK\n");
}

/* A quoted or bare word: 'On Break' or Available. */
static void take_arg(const char **p, char *out, size_t n)
{
	size_t k = 0;
	char q = (**p == '\'' || **p == '"') ? *(*p)++ : ' ';
	while (**p && **p != q) {
		if (k + 1 < n)
			out[k++] = **p;
		(*p)++;
	}
	if (**p == q && q != ' ')
		(*p)++;
	while (**p == ' ')
		(*p)++;
	out[k] = '\0';
}

static void api_callcenter(pd_labpbx *l, const char *a, pd_buf *o)
{
	char w1[128], w2[128];
	if (word_is(&a, "agent")) {
		if (word_is(&a, "list")) {
			pd_buf_add(o, agent_head);
			for (int i = 0; i < l->nu; i++)
				agent_row(l, o, &l->u[i]);
			pd_buf_add(o, "+OK\n");
			return;
		}
		if (word_is(&a, "get") && word_is(&a, "status")) {
			take_arg(&a, w1, sizeof w1);
			luser *u = find_user(l, w1);
			pd_buf_add(o, u ? agent_status(u) : "-ERR Invalid Agent!\n");
			return;
		}
		if (word_is(&a, "set") && word_is(&a, "status")) {
			take_arg(&a, w1, sizeof w1);
			take_arg(&a, w2, sizeof w2);
			luser *u = find_user(l, w1);
			if (!u) {
				pd_buf_add(o, "-ERR Invalid Agent!\n");
			} else if (!strcmp(w2, "Available") ||
			           !strcmp(w2, "Available (On Demand)")) {
				u->logged_out = u->paused = false;
				u->on_demand = strcmp(w2, "Available") != 0;
				lab_do_pause(l, u->ep, false, NULL);
				pd_buf_add(o, "+OK\n");
			} else if (!strcmp(w2, "On Break")) {
				u->logged_out = false;
				lab_do_pause(l, u->ep, true, "On Break");
				pd_buf_add(o, "+OK\n");
			} else if (!strcmp(w2, "Logged Out")) {
				u->logged_out = true;
				u->paused = false;
				lab_esl_agent_status(l, u);
				pd_buf_add(o, "+OK\n");
			} else {
				pd_buf_add(o, "-ERR Invalid Agent Status!\n");
			}
			return;
		}
	} else if (word_is(&a, "tier")) {
		if (word_is(&a, "list")) {
			tier_rows(l, o, -1);
			return;
		}
	} else if (word_is(&a, "queue")) {
		if (word_is(&a, "list")) {
			if (!*a) {
				pd_buf_add(
				    o, "name|strategy|moh_sound|time_base_score|tier_rules_apply|"
				       "tier_rule_wait_second|tier_rule_wait_multiply_level|"
				       "tier_rule_no_agent_no_wait|discard_abandoned_after|"
				       "abandoned_resume_allowed|max_wait_time|"
				       "max_wait_time_with_no_agent|"
				       "max_wait_time_with_no_agent_time_reached|record_template|"
				       "calls_answered|calls_abandoned|ring_progressively_delay|"
				       "skip_agents_with_external_calls|agent_no_answer_status\n");
				for (int q = 0; q < l->o.queues; q++)
					pd_buf_printf(o,
					              "%s|longest-idle-agent|tone_stream://"
					              "%%(400,200,400,450);"
					              "%%(400,2000,400,450);loops=-1|system|false|"
					              "300|true|false|60|"
					              "false|0|0|5||0|0|0|true|On Break\n",
					              queue_id(l, q));
				pd_buf_add(o, "+OK\n");
				return;
			}
			int what = word_is(&a, "agents")    ? 1
			           : word_is(&a, "members") ? 2
			           : word_is(&a, "tiers")   ? 3
			                                    : 0;
			take_arg(&a, w1, sizeof w1);
			int q = find_queue(l, w1);
			if (what && q >= 0) {
				if (what == 1) {
					pd_buf_add(o, agent_head);
					for (int i = 0; i < l->nu; i++)
						if (l->u[i].queue == q)
							agent_row(l, o, &l->u[i]);
					pd_buf_add(o, "+OK\n");
				} else if (what == 2) {
					member_rows(l, o, q);
				} else {
					tier_rows(l, o, q);
				}
				return;
			}
			if (what) {
				pd_buf_add(o, "-ERR Invalid Queue!\n");
				return;
			}
		} else if (word_is(&a, "count") && word_is(&a, "members")) {
			take_arg(&a, w1, sizeof w1);
			int q = find_queue(l, w1);
			if (q >= 0)
				pd_buf_printf(o, "%d\n", members_in(l, q));
			else
				pd_buf_add(o, "-ERR Invalid Queue!\n");
			return;
		}
	}
	pd_buf_add(o, "-ERR Unknown Command!\n");
}

/* list_users [group G | user U | domain D] */
static void api_list_users(pd_labpbx *l, const char *a, pd_buf *o)
{
	char key[16] = "", val[128] = "";
	if (*a) {
		take_arg(&a, key, sizeof key);
		take_arg(&a, val, sizeof val);
	}
	pd_buf_add(o, "userid|context|domain|group|contact|callgroup|effective_caller_id_name|"
	              "effective_caller_id_number\n");
	for (int i = 0; i < l->nu; i++) {
		const luser *u = &l->u[i];
		const char *grp = l->qname[u->queue];
		if ((!strcmp(key, "group") && strcmp(val, grp)) ||
		    (!strcmp(key, "user") && strcmp(val, u->ep)) ||
		    (!strcmp(key, "domain") && strcmp(val, u->context)))
			continue;
		char contact[96];
		if (u->unregistered)
			snprintf(contact, sizeof contact, "error/user_not_registered");
		else
			snprintf(contact, sizeof contact, "sofia/internal/sip:%s@127.0.0.1:%d;ob",
			         u->ep, 5270 + i + 1);
		pd_buf_printf(o, "%s|%s|%s|%s|%s|%s|%s|%s\n", u->ep, u->context, u->context, grp,
		              contact, grp, u->name, u->ep);
	}
	pd_buf_add(o, "\n+OK\n");
}

/* user_data 1001@default param email | var NAME */
static void api_user_data(pd_labpbx *l, const char *a, pd_buf *o)
{
	char who[128], kind[16], name[128];
	take_arg(&a, who, sizeof who);
	take_arg(&a, kind, sizeof kind);
	take_arg(&a, name, sizeof name);
	luser *u = strchr(who, '@') ? find_user(l, who) : NULL;
	const char *v = NULL;
	if (u && !strcmp(kind, "param") && (!strcmp(name, "email") || !strcmp(name, "vm-mailto")) &&
	    *u->email)
		v = u->email;
	else if (u && !strcmp(kind, "var") && !strcmp(name, "effective_caller_id_name"))
		v = u->name;
	else if (u && !strcmp(kind, "var") && !strcmp(name, "effective_caller_id_number"))
		v = u->ep;
	else if (u && !strcmp(kind, "var") && !strcmp(name, "callgroup"))
		v = l->qname[u->queue];
	pd_buf_add(o, v ? v : "-ERR no reply\n");
}

/* ---- show: rows as CSV, "as json" or "count" ---- */

typedef struct {
	const char *const *cols;
	size_t ncols;
	json_t *rows; /* array of objects, in column order */
} table;

static void row_add(table *t, const char *const *vals)
{
	json_t *r = json_object();
	for (size_t i = 0; i < t->ncols; i++)
		json_object_set_new(r, t->cols[i], json_string(vals[i] ? vals[i] : ""));
	json_array_append_new(t->rows, r);
}

static void table_out(const table *t, const char *mode, pd_buf *o)
{
	size_t n = json_array_size(t->rows);
	if (!strcmp(mode, "count")) {
		pd_buf_printf(o, "\n%zu total.\n", n);
	} else if (!strcmp(mode, "as json")) {
		if (n == 0) {
			pd_buf_add(o, "{\"row_count\":0}");
		} else {
			json_t *j = json_object();
			json_object_set_new(j, "row_count", json_integer((json_int_t)n));
			json_object_set(j, "rows", t->rows);
			char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
			pd_buf_add(o, s);
			free(s);
			json_decref(j);
		}
	} else {
		for (size_t i = 0; i < t->ncols; i++)
			pd_buf_printf(o, "%s%s", i ? "," : "", t->cols[i]);
		pd_buf_add(o, "\n");
		for (size_t r = 0; r < n; r++) {
			json_t *row = json_array_get(t->rows, r);
			for (size_t i = 0; i < t->ncols; i++)
				pd_buf_printf(o, "%s%s", i ? "," : "",
				              json_string_value(json_object_get(row, t->cols[i])));
			pd_buf_add(o, "\n");
		}
		pd_buf_printf(o, "\n%zu total.\n", n);
	}
}

static void show_registrations(pd_labpbx *l, const char *mode, pd_buf *o)
{
	static const char *const cols[] = {
	    "reg_user",   "realm",        "token",         "url",      "expires",
	    "network_ip", "network_port", "network_proto", "hostname", "metadata"};
	table t = {cols, NELEM(cols), json_array()};
	for (int i = 0; i < l->nu; i++) {
		const luser *u = &l->u[i];
		if (u->unregistered)
			continue;
		char url[96], exp[24], port[16], token[64];
		snprintf(url, sizeof url, "sofia/internal/sip:%s@127.0.0.1:%d;ob", u->ep,
		         5270 + i + 1);
		snprintf(exp, sizeof exp, "%lld", wall_s(l, l->now) + 60);
		snprintf(port, sizeof port, "%d", 5270 + i + 1);
		snprintf(token, sizeof token, "lab-reg-%s-%s", u->ep, u->context);
		const char *v[] = {u->ep,       u->context, token, url,   exp,
		                   "127.0.0.1", port,       "udp", "lab", ""};
		row_add(&t, v);
	}
	table_out(&t, mode, o);
	json_decref(t.rows);
}

typedef struct {
	char created[32], epoch[24];
	const char *state, *callstate, *app, *app_data;
	leg g;
	const char *callee_dir;
} legrow;

static void fill_legrow(pd_labpbx *l, legrow *r, const leg *g, bool talk, bool ring)
{
	r->g = *g;
	fmt_time(l, g->created, false, r->created, sizeof r->created);
	snprintf(r->epoch, sizeof r->epoch, "%lld", wall_s(l, g->created));
	r->state = talk ? "CS_EXCHANGE_MEDIA" : ring ? "CS_CONSUME_MEDIA" : "CS_EXECUTE";
	r->callstate = talk ? "ACTIVE" : ring ? "RINGING" : "ACTIVE";
	r->callee_dir = talk ? (strcmp(g->dir, "inbound") ? "RECV" : "SEND") : "";
}

/* The legs of every call the lab has up, as (leg, talk, ring) and the
 * other leg when bridged. */
typedef void (*leg_fn)(pd_labpbx *l, const lcall *c, const leg *a, const leg *b, bool talk,
                       bool ring, void *ctx);

static void each_call(pd_labpbx *l, leg_fn fn, void *ctx)
{
	for (size_t i = 0; i < l->ncalls; i++) {
		const lcall *c = &l->calls[i];
		if (c->phase == P_JOIN || c->phase == P_DONE)
			continue;
		bool talk = c->phase == P_TALK, ring = c->phase == P_RING;
		leg cl = caller_leg(l, c);
		if (c->agent < 0) { /* waiting in the queue */
			fn(l, c, &cl, NULL, false, false, ctx);
			continue;
		}
		leg ul = user_leg(l, c);
		if (c->outbound)
			fn(l, c, &ul, &cl, talk, ring, ctx);
		else
			fn(l, c, &cl, &ul, talk, ring, ctx);
	}
}

static const char *const chan_cols[] = {"uuid",
                                        "direction",
                                        "created",
                                        "created_epoch",
                                        "name",
                                        "state",
                                        "cid_name",
                                        "cid_num",
                                        "ip_addr",
                                        "dest",
                                        "application",
                                        "application_data",
                                        "dialplan",
                                        "context",
                                        "read_codec",
                                        "read_rate",
                                        "read_bit_rate",
                                        "write_codec",
                                        "write_rate",
                                        "write_bit_rate",
                                        "secure",
                                        "hostname",
                                        "presence_id",
                                        "presence_data",
                                        "accountcode",
                                        "callstate",
                                        "callee_name",
                                        "callee_num",
                                        "callee_direction",
                                        "call_uuid",
                                        "sent_callee_name",
                                        "sent_callee_num",
                                        "initial_cid_name",
                                        "initial_cid_num",
                                        "initial_ip_addr",
                                        "initial_dest",
                                        "initial_dialplan",
                                        "initial_context"};

/* queue: the call's mod_callcenter queue ("sales@default"), "" for an outbound call */
static void chan_row(pd_labpbx *l, table *t, const leg *g, const leg *other, bool talk, bool ring,
                     const char *queue)
{
	legrow r;
	fill_legrow(l, &r, g, talk, ring && !strcmp(g->dir, "outbound"));
	bool in = !strcmp(g->dir, "inbound");
	bool media = g->answered || talk;
	const char *v[] = {g->uuid,
	                   g->dir,
	                   r.created,
	                   r.epoch,
	                   g->name,
	                   r.state,
	                   g->cid_name,
	                   g->cid_num,
	                   in ? "127.0.0.1" : "",
	                   g->dest,
	                   talk ? "uuid_bridge"
	                   : in ? "callcenter"
	                        : "",
	                   talk && other ? other->uuid
	                   : in          ? queue
	                                 : "",
	                   in ? "XML" : "",
	                   g->context,
	                   media ? "PCMU" : "",
	                   media ? "8000" : "",
	                   media ? "64000" : "",
	                   media ? "PCMU" : "",
	                   media ? "8000" : "",
	                   media ? "64000" : "",
	                   "",
	                   "lab",
	                   g->presence ? g->presence : "",
	                   "",
	                   "",
	                   r.callstate,
	                   talk && g->callee_name ? g->callee_name : "",
	                   talk && g->callee_num ? g->callee_num : "",
	                   r.callee_dir,
	                   g->uuid,
	                   "",
	                   "",
	                   g->cid_name,
	                   g->cid_num,
	                   in ? "127.0.0.1" : "",
	                   g->dest,
	                   in ? "XML" : "",
	                   g->context};
	row_add(t, v);
}

static void chan_cb(pd_labpbx *l, const lcall *c, const leg *a, const leg *b, bool talk, bool ring,
                    void *ctx)
{
	char q[96] = "";
	if (c->q >= 0)
		snprintf(q, sizeof q, "%s", queue_id(l, c->q));
	chan_row(l, ctx, a, b, talk, ring, q);
	if (b)
		chan_row(l, ctx, b, a, talk, ring, q);
}

static const char *const call_cols[] = {"uuid",
                                        "direction",
                                        "created",
                                        "created_epoch",
                                        "name",
                                        "state",
                                        "cid_name",
                                        "cid_num",
                                        "ip_addr",
                                        "dest",
                                        "presence_id",
                                        "presence_data",
                                        "accountcode",
                                        "callstate",
                                        "callee_name",
                                        "callee_num",
                                        "callee_direction",
                                        "call_uuid",
                                        "hostname",
                                        "sent_callee_name",
                                        "sent_callee_num",
                                        "b_uuid",
                                        "b_direction",
                                        "b_created",
                                        "b_created_epoch",
                                        "b_name",
                                        "b_state",
                                        "b_cid_name",
                                        "b_cid_num",
                                        "b_ip_addr",
                                        "b_dest",
                                        "b_presence_id",
                                        "b_presence_data",
                                        "b_accountcode",
                                        "b_callstate",
                                        "b_callee_name",
                                        "b_callee_num",
                                        "b_callee_direction",
                                        "b_sent_callee_name",
                                        "b_sent_callee_num",
                                        "call_created_epoch"};

static void call_one(pd_labpbx *l, table *t, const leg *a, const leg *b, bool talk, bool ring)
{
	legrow ra, rb;
	fill_legrow(l, &ra, a, talk, false);
	if (b)
		fill_legrow(l, &rb, b, talk, ring);
	bool in = !strcmp(a->dir, "inbound");
	const char *e = "";
	const char *v[] = {a->uuid,
	                   a->dir,
	                   ra.created,
	                   ra.epoch,
	                   a->name,
	                   ra.state,
	                   a->cid_name,
	                   a->cid_num,
	                   in ? "127.0.0.1" : "",
	                   a->dest,
	                   a->presence ? a->presence : "",
	                   "",
	                   "",
	                   ra.callstate,
	                   talk && a->callee_name ? a->callee_name : "",
	                   talk && a->callee_num ? a->callee_num : "",
	                   ra.callee_dir,
	                   a->uuid,
	                   "lab",
	                   "",
	                   "",
	                   b ? b->uuid : e,
	                   b ? b->dir : e,
	                   b ? rb.created : e,
	                   b ? rb.epoch : e,
	                   b ? b->name : e,
	                   b ? rb.state : e,
	                   b ? b->cid_name : e,
	                   b ? b->cid_num : e,
	                   e,
	                   b ? b->dest : e,
	                   b && b->presence ? b->presence : e,
	                   e,
	                   e,
	                   b ? rb.callstate : e,
	                   b && talk && b->callee_name ? b->callee_name : e,
	                   b && talk && b->callee_num ? b->callee_num : e,
	                   b ? rb.callee_dir : e,
	                   e,
	                   e,
	                   b ? ra.epoch : e};
	row_add(t, v);
}

static void call_cb(pd_labpbx *l, const lcall *c, const leg *a, const leg *b, bool talk, bool ring,
                    void *ctx)
{
	(void)c;
	if (talk) { /* bridged: one row with both legs */
		call_one(l, ctx, a, b, talk, ring);
		return;
	}
	call_one(l, ctx, a, NULL, talk, ring); /* ringing legs are rows of their own */
	if (b)
		call_one(l, ctx, b, NULL, talk, ring);
}

static void api_show(pd_labpbx *l, const char *a, pd_buf *o)
{
	const char *mode = "";
	bool regs = word_is(&a, "registrations"), chans = !regs && word_is(&a, "channels"),
	     calls = !regs && !chans && word_is(&a, "calls");
	if (*a)
		mode = a;
	if (*mode && strcmp(mode, "as json") && strcmp(mode, "count")) {
		pd_buf_add(o, "-USAGE: [as xml|as json|as delim <delimiter>] [count]\n");
		return;
	}
	if (regs) {
		show_registrations(l, mode, o);
	} else if (chans || calls) {
		table t = {chans ? chan_cols : call_cols,
		           chans ? NELEM(chan_cols) : NELEM(call_cols), json_array()};
		each_call(l, chans ? chan_cb : call_cb, &t);
		table_out(&t, mode, o);
		json_decref(t.rows);
	} else {
		pd_buf_add(o, "-USAGE: codec|endpoint|application|api|dialplan|file|timer|calls "
		              "[count]|channels [count|like <match string>]|calls|detailed_calls|"
		              "bridged_calls|detailed_bridged_calls|aliases|complete|chat|"
		              "management|modules|nat_map|say|interfaces|interface_types|tasks|"
		              "limits|status\n");
	}
}

/* sofia status, as recorded (tests/fixtures/freeswitch/esl-commands-1.txt) */
static const char sofia_status[] =
    "                     Name\t   Type\t                                      Data\tState\n"
    "================================================================================"
    "=================\n"
    "                  callgen\tprofile\t              sip:mod_sofia@127.0.0.1:5090\tRUNNING "
    "(4)\n"
    "                  carrier\tprofile\t              sip:mod_sofia@127.0.0.1:5080\tRUNNING "
    "(4)\n"
    "                 internal\tprofile\t              sip:mod_sofia@127.0.0.1:5070\tRUNNING "
    "(4)\n"
    "================================================================================"
    "=================\n"
    "3 profiles 0 aliases\n";

/* Runs one api command: its output in o. */
static void api_exec(pd_labpbx *l, const char *line, pd_buf *o)
{
	const char *a = line;
	if (word_is(&a, "status")) {
		atomic_fetch_add(&l->status_asked, 1);
		api_status(l, o);
	} else if (word_is(&a, "version"))
		pd_buf_add(o, "FreeSWITCH Version 1.10.12-release~64bit ( 64bit)\n");
	else if (word_is(&a, "callcenter_config"))
		api_callcenter(l, a, o);
	else if (word_is(&a, "list_users"))
		api_list_users(l, a, o);
	else if (word_is(&a, "user_data"))
		api_user_data(l, a, o);
	else if (word_is(&a, "show"))
		api_show(l, a, o);
	else if (!strcmp(a, "sofia status"))
		pd_buf_add(o, sofia_status);
	else if (word_is(&a, "sofia"))
		pd_buf_add(o, "-ERR the lab PBX answers sofia status only\n");
	else {
		char name[64];
		size_t n = strcspn(line, " ");
		snprintf(name, sizeof name, "%.*s", (int)(n < 60 ? n : 60), line);
		pd_buf_printf(o, "-ERR %s Command not found!\n", name);
	}
}

/* ---- commands ---- */

static const struct {
	const char *name;
	unsigned bit;
} core_events[] = {
    {"CHANNEL_CREATE", SUB_CREATE},
    {"CHANNEL_ANSWER", SUB_ANSWER},
    {"CHANNEL_BRIDGE", SUB_BRIDGE},
    {"CHANNEL_UNBRIDGE", SUB_UNBRIDGE},
    {"CHANNEL_HOLD", SUB_HOLD},
    {"CHANNEL_UNHOLD", SUB_UNHOLD},
    {"CHANNEL_HANGUP_COMPLETE", SUB_HANGUP_COMPLETE},
    {"HEARTBEAT", SUB_HEARTBEAT},
    {"BACKGROUND_JOB", SUB_BACKGROUND_JOB},
    {"ALL", SUB_ALL},
    /* valid names the lab never fires */
    {"CHANNEL_DESTROY", SUB_OTHER},
    {"CHANNEL_STATE", SUB_OTHER},
    {"CHANNEL_CALLSTATE", SUB_OTHER},
    {"CHANNEL_HANGUP", SUB_OTHER},
    {"CHANNEL_EXECUTE", SUB_OTHER},
    {"CHANNEL_EXECUTE_COMPLETE", SUB_OTHER},
    {"CHANNEL_PARK", SUB_OTHER},
    {"CHANNEL_UNPARK", SUB_OTHER},
    {"CHANNEL_ORIGINATE", SUB_OTHER},
    {"CHANNEL_PROGRESS", SUB_OTHER},
    {"CHANNEL_PROGRESS_MEDIA", SUB_OTHER},
    {"CALL_UPDATE", SUB_OTHER},
    {"PRESENCE_IN", SUB_OTHER},
    {"RE_SCHEDULE", SUB_OTHER},
    {"API", SUB_OTHER},
    {"DTMF", SUB_OTHER},
    {"CUSTOM", 0},
};

/* "event plain NAME ... CUSTOM sub ..." */
static void cmd_event(session *s, const char *a)
{
	char fmt[16];
	take_arg(&a, fmt, sizeof fmt);
	if (strcmp(fmt, "plain") != 0) {
		reply(s, "-ERR the lab PBX writes event plain only");
		return;
	}
	unsigned sub = 0;
	bool custom = false, any = false;
	char w[128];
	while (*a) {
		take_arg(&a, w, sizeof w);
		if (custom) {
			if (!strcmp(w, "callcenter::info"))
				sub |= SUB_CC_INFO;
			else if (!strcmp(w, "sofia::register"))
				sub |= SUB_SOFIA_REGISTER;
			else if (!strcmp(w, "sofia::unregister"))
				sub |= SUB_SOFIA_UNREGISTER;
			any = true; /* any subclass name is taken */
			continue;
		}
		for (size_t i = 0; i < NELEM(core_events); i++)
			if (!strcmp(w, core_events[i].name)) {
				any = true;
				sub |= core_events[i].bit;
				custom = !strcmp(w, "CUSTOM");
			}
	}
	if (!any) {
		reply(s, "-ERR no keywords supplied");
		return;
	}
	s->esl_sub |= sub;
	s->events = s->esl_sub != 0;
	reply(s, "+OK event listener enabled plain");
}

static void cmd_bgapi(pd_labpbx *l, session *s, const char *a)
{
	char job[40];
	lab_esl_new_uuid(l, job, sizeof job);
	pd_buf r = {0};
	pd_buf_printf(&r,
	              "Content-Type: command/reply\nReply-Text: +OK Job-UUID: %s\nJob-UUID: %s\n\n",
	              job, job);
	lab_sess_send(s, r.s, r.len);
	pd_buf_free(&r);
	if (!any_wants(l, SUB_BACKGROUND_JOB))
		return;
	pd_buf out = {0};
	api_exec(l, a, &out);
	size_t n = strcspn(a, " ");
	char name[64];
	snprintf(name, sizeof name, "%.*s", (int)(n < 60 ? n : 60), a);
	pd_buf b = {0};
	ev_begin(l, &b, "BACKGROUND_JOB", NULL, "mod_event_socket.c", "api_exec", 1572);
	put_h(&b, "Job-UUID", job);
	put_h(&b, "Job-Command", name);
	const char *arg = a + n;
	while (*arg == ' ')
		arg++;
	if (*arg)
		put_h(&b, "Job-Command-Arg", arg);
	ev_send(l, &b, SUB_BACKGROUND_JOB, out.s ? out.s : "", out.len);
	pd_buf_free(&out);
}

static void command(pd_labpbx *l, session *s, const char *line)
{
	const char *a = line;
	if (!s->logged_in) {
		if (!word_is(&a, "auth")) {
			reply(s, "-ERR command not found");
			return;
		}
		if (!strcmp(a, l->o.secret)) {
			reply(s, "+OK accepted");
			s->logged_in = true;
			atomic_fetch_add(&l->n_sessions, 1);
			atomic_fetch_add(&l->logins, 1);
		} else {
			reply(s, "-ERR invalid");
			disconnect(s, disconnect_text);
		}
		return;
	}
	if (word_is(&a, "api")) {
		if (!*a) {
			reply(s, "-ERR command not found");
			return;
		}
		pd_buf out = {0};
		api_exec(l, a, &out);
		api_response(s, &out);
		pd_buf_free(&out);
	} else if (word_is(&a, "bgapi")) {
		if (!*a)
			reply(s, "-ERR command not found");
		else
			cmd_bgapi(l, s, a);
	} else if (word_is(&a, "event")) {
		cmd_event(s, a);
	} else if (!strcmp(a, "noevents")) {
		s->esl_sub = 0;
		s->events = false;
		reply(s, "+OK no longer listening for events");
	} else if (!strcmp(a, "exit")) {
		atomic_fetch_add(&l->logoffs, 1);
		reply(s, "+OK bye");
		disconnect(s, disconnect_text);
	} else if (word_is(&a, "linger") || word_is(&a, "nolinger")) {
		reply(s, "-ERR not controlling a session");
	} else {
		reply(s, "-ERR command not found");
	}
}

void lab_esl_shutdown(pd_labpbx *l)
{
	static const char notice[] = "Content-Type: text/disconnect-notice\nContent-Length: 31\n\n"
	                             "The system is being shut down.\n";
	for (int i = 0; i < l->ns; i++) {
		session *s = l->s[i];
		if (s->out.len == s->off && !s->mute && !s->huge_left) {
			ssize_t w =
			    send(s->fd, notice, sizeof notice - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
			(void)w; /* best effort: the socket closes next */
		}
	}
}

void lab_esl_accept(pd_labpbx *l, session *s)
{
	(void)l;
	static const char greeting[] = "Content-Type: auth/request\n\n";
	lab_sess_send(s, greeting, sizeof greeting - 1);
}

void lab_esl_feed(pd_labpbx *l, session *s, const char *data, size_t n)
{
	pd_buf_addn(&s->in, data, n);
	int at_once = 0;
	while (!s->close_after && !s->mute && !s->huge_left) { /* replies wait for it */
		/* a command ends with an empty line; CR before LF is taken too */
		char *end = NULL, *p = s->in.s;
		size_t skip = 0;
		for (size_t i = 0; p && i + 1 < s->in.len; i++) {
			if (p[i] != '\n')
				continue;
			if (p[i + 1] == '\n') {
				end = p + i, skip = 2;
				break;
			}
			if (p[i + 1] == '\r' && i + 2 < s->in.len && p[i + 2] == '\n') {
				end = p + i, skip = 3;
				break;
			}
		}
		if (!end)
			break;
		size_t len = (size_t)(end - p);
		char *text = xstrndup(p, len);
		text[strcspn(text, "\r\n")] = '\0'; /* the command is the first line */
		size_t rest = s->in.len - len - skip;
		memmove(s->in.s, end + skip, rest);
		s->in.len = rest;
		s->in.s[rest] = '\0';
		if (*text) {
			command(l, s, text);
			at_once++;
		}
		free(text);
	}
	if (at_once > atomic_load(&l->most_at_once))
		atomic_store(&l->most_at_once, at_once);
	if (s->in.len > MAX_COMMAND)
		s->close_after = true; /* a client that never ends its command */
	if (s->close_after)
		s->in.len = 0;
}

/* ---- hostile faults ---- */

static void flood_event(pd_labpbx *l, pd_buf *out, const char *name)
{
	char uid[40], chan[64];
	lab_esl_new_uuid(l, uid, sizeof uid);
	snprintf(chan, sizeof chan, "sofia/carrier/0612345678-%u@127.0.0.1", l->chan_seq++);
	pd_buf b = {0};
	ev_begin(l, &b, "CHANNEL_CREATE", NULL, "switch_core_state_machine.c",
	         "switch_core_session_run", 626);
	put_h(&b, "Channel-State", "CS_INIT");
	put_h(&b, "Channel-Call-State", "DOWN");
	put_h(&b, "Channel-Name", chan);
	put_h(&b, "Unique-ID", uid);
	put_h(&b, "Call-Direction", "inbound");
	put_h(&b, "Channel-Call-UUID", uid);
	put_h(&b, "Answer-State", "ringing");
	put_h(&b, "Caller-Caller-ID-Name", name);
	put_h(&b, "Caller-Caller-ID-Number", "0612345678");
	put_h(&b, "Caller-Destination-Number", "support");
	put_h(&b, "Caller-Unique-ID", uid);
	put_h(&b, "Caller-Context", "public");
	put_h(&b, "Caller-Channel-Name", chan);
	pd_buf_add(&b, "\n");
	pd_buf_printf(out, "Content-Length: %zu\nContent-Type: text/event-plain\n\n", b.len);
	pd_buf_addn(out, b.s, b.len);
	pd_buf_free(&b);
}

void lab_esl_hostile_inject(pd_labpbx *l, session *s, unsigned f)
{
	if (f & PD_LAB_FAULT_FLOOD)
		s->flood_until = l->now + l->o.fault_ms;
	if ((f & PD_LAB_FAULT_HUGE) && !s->huge_left) {
		pd_buf b = {0};
		pd_buf_printf(&b, "Content-Length: %u\nContent-Type: text/event-plain\n\n",
		              HUGE_BYTES);
		static const char first[] = "Event-Name: HEARTBEAT\n";
		pd_buf_add(&b, first);
		lab_sess_send(s, b.s, b.len);
		pd_buf_free(&b);
		s->huge_left = HUGE_BYTES - (sizeof first - 1);
	}
	if (f & PD_LAB_FAULT_CTRL) {
		pd_buf b = {0};
		/* control bytes percent-encoded in a value (ESC [2J, BEL, DEL) */
		flood_event(l, &b, "Ev\x1b[2Jil\x1b]0;owned\a\x7f");
		/* raw control bytes in an event header line: ESC, BEL, NUL */
		static const char raw[] = "Event-Name: CHANNEL_CREATE\nCaller-Caller-ID-Name: Ev"
		                          "\x1b[2Jil\a\nBad\x01Key: x\nNul: a\0b\n\n";
		pd_buf_printf(&b, "Content-Length: %zu\nContent-Type: text/event-plain\n\n",
		              sizeof raw - 1);
		pd_buf_addn(&b, raw, sizeof raw - 1);
		/* and in an outer header line */
		pd_buf_add(&b, "Content-Length: 2\nContent-Type: text/event-plain\x1b[2J\n\n\n\n");
		lab_sess_send(s, b.s, b.len);
		pd_buf_free(&b);
	}
	if (f & PD_LAB_FAULT_BIDI) {
		/* U+202E RIGHT-TO-LEFT OVERRIDE and U+009B (C1 CSI): valid UTF-8 that
		 * reaches the driver; the call stays (a resync removes it) */
		pd_buf b = {0};
		flood_event(l, &b,
		            "\xe2\x80\xae"
		            "gro.live\xc2\x9b"
		            "31m Bidi");
		lab_sess_send(s, b.s, b.len);
		pd_buf_free(&b);
	}
}

bool lab_esl_hostile_fill(pd_labpbx *l, session *s)
{
	bool busy = false;
	if (s->flood_until > l->now && wants(s, SUB_ALL)) {
		busy = true;
		if (s->out.len - s->off < FILL_TO) {
			pd_buf b = {0};
			for (int i = 0; i < 200; i++)
				flood_event(l, &b, "Flood");
			lab_sess_send(s, b.s, b.len);
			pd_buf_free(&b);
		}
	}
	if (s->huge_left) {
		busy = true;
		if (s->out.len - s->off < FILL_TO) {
			char line[80];
			pd_buf b = {0};
			while (b.len < 64 * 1024 && s->huge_left > 200) {
				int n =
				    snprintf(line, sizeof line,
				             "variable_v%08zu: 0123456789abcdef0123456789abcdef\n",
				             (size_t)(HUGE_BYTES - s->huge_left));
				pd_buf_addn(&b, line, (size_t)n);
				s->huge_left -= (size_t)n;
			}
			if (s->huge_left <= 200) { /* the last line, then the empty line */
				size_t pad = s->huge_left - sizeof "variable_pad: \n\n" + 1;
				pd_buf_add(&b, "variable_pad: ");
				for (size_t i = 0; i < pad; i++)
					pd_buf_addn(&b, "a", 1);
				pd_buf_add(&b, "\n\n");
				s->huge_left = 0;
				atomic_fetch_add(&l->huge_sent, 1);
			}
			lab_sess_send(s, b.s, b.len);
			pd_buf_free(&b);
			if (!s->huge_left)
				lab_esl_feed(l, s, "", 0); /* the commands that waited */
		}
	}
	return busy;
}

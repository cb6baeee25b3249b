/* Live panels that tell the truth (issue 14), in the AMI model, against the
 * recorded Asterisk 22 session (tests/fixtures/asterisk/) replayed message by
 * message at controlled times, and constructed events where the recording
 * has no such moment: wrap-up for the queue's time after AgentComplete (a
 * timer: Asterisk says nothing when it ends, nor what the queue's wrap-up
 * is), a call taken while paused keeps the pause reason, a call keeps its
 * caller to the end, calls found up at (re)connect get their queue and
 * agent from CoreShowChannels + QueueStatus, a direct call rings. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../src/pbx/ami/ami_model.h"
#include "provdesk/ami.h"
#include "provdesk/util.h"
#include "testlib.h" /* tests/lib */

static char *slurp(const char *name, size_t *len)
{
	char rel[256];
	snprintf(rel, sizeof rel, "asterisk/%s", name);
	char *b = tl_slurp_fixture(rel, len);
	cr_assert(b, "cannot read the fixture %s", rel);
	return b;
}

static const pd_live_agent *agent(const pd_live_view *v, const char *iface)
{
	for (size_t i = 0; i < v->n_agents; i++)
		if (!strcmp(v->agents[i].interface, iface))
			return &v->agents[i];
	return NULL;
}

static const pd_live_call *call(const pd_live_view *v, const char *id)
{
	for (size_t i = 0; i < v->n_calls; i++)
		if (!strcmp(v->calls[i].id, id))
			return &v->calls[i];
	return NULL;
}

/* ---- the recording, replayed ---- */

typedef struct {
	ami_model *m;
	int64_t now;
	int completes;          /* AgentComplete messages seen */
	int members;            /* ... for an agent still a queue member */
	int wrapups;            /* ... after which the agent showed Wrap-up until now + 5 s */
	bool wrapup_ended;      /* a wrap-up timer ran out and the agent left Wrap-up */
	bool break_on_call;     /* 1003 on a call, paused "Break" */
	int caller_checks;      /* views of the two watched calls */
	const char *bad_caller; /* first wrong caller shown */
	char bad_buf[160];
	bool seen_ended_20;
	/* the view of call 1795731894.0 once ended */
	char ended_from[40];
} replay;

/* Two calls of the recording whose origin (a Local ;1 channel) takes the
 * agent's caller id just before its hangup. */
static const struct {
	const char *id, *from, *name;
} watched[] = {{"1795731894.0", "+33155501001", "Customer 01"},
               {"1795731901.20", "+33155501006", "Customer 06"}};

static void on_msg(const ami_msg *msg, void *ctx)
{
	replay *r = ctx;
	r->now += 10; /* 10 ms per message: the recording has no timestamps */
	ami_model_apply(r->m, msg, r->now);
	ami_model_tick(r->m, r->now);
	bool complete = ami_is(msg, "Event", "AgentComplete");
	pd_live_view v = {0};
	ami_model_view(r->m, r->now, &v);
	if (complete) {
		r->completes++;
		const pd_live_agent *a = agent(&v, ami_get0(msg, "Interface"));
		if (a && a->state != PD_AGENT_LOGGED_OFF)
			r->members++;
		if (a && a->state == PD_AGENT_WRAPUP && a->until_ms == r->now + 5000)
			r->wrapups++;
	}
	const pd_live_agent *c = agent(&v, "PJSIP/1003");
	if (c && c->state == PD_AGENT_ON_CALL && c->paused && c->reason &&
	    !strcmp(c->reason, "Break"))
		r->break_on_call = true;
	for (size_t i = 0; i < sizeof watched / sizeof watched[0]; i++) {
		const pd_live_call *k = call(&v, watched[i].id);
		if (!k || !k->from)
			continue;
		r->caller_checks++;
		if (!r->bad_caller && (strcmp(k->from, watched[i].from) || !k->from_name ||
		                       strcmp(k->from_name, watched[i].name))) {
			snprintf(r->bad_buf, sizeof r->bad_buf, "%s: %s %s (%s)", k->id, k->from,
			         k->from_name ? k->from_name : "", pd_call_state_name(k->state));
			r->bad_caller = r->bad_buf;
		}
		if (i == 0 && k->state == PD_CALL_ENDED) {
			r->seen_ended_20 = true;
			snprintf(r->ended_from, sizeof r->ended_from, "%s", k->from);
		}
	}
	pd_live_free_view(&v);
}

static void replay_session(replay *r, int default_wrapup)
{
	size_t len;
	char *d = slurp("ami-session-1.txt", &len);
	r->m = ami_model_new();
	r->now = 1000000;
	ami_model_set_default_wrapup(r->m, default_wrapup);
	ami_parser *p = ami_parser_new(&(ami_parser_opts){.expect_banner = true}, on_msg, r);
	ami_parser_feed(p, d, len);
	ami_parser_free(p);
	free(d);
}

/* ---- the login's event classes lose nothing the model reads ---- */

static void view_text(ami_model *m, int64_t now, pd_buf *b)
{
	pd_live_view v = {0};
	ami_model_view(m, now, &v);
#define S(x) ((x) ? (x) : "-")
	for (size_t i = 0; i < v.n_users; i++)
		pd_buf_printf(b, "user %s %s %s\n", S(v.users[i].endpoint), S(v.users[i].name),
		              S(v.users[i].device_state));
	for (size_t i = 0; i < v.n_calls; i++) {
		const pd_live_call *k = &v.calls[i];
		pd_buf_printf(b, "call %s %s %s %s %s %s %d %d %lld %lld %lld\n", S(k->id),
		              S(k->from), S(k->from_name), S(k->to), S(k->queue), S(k->agent),
		              (int)k->dir, (int)k->state, (long long)k->start_ms,
		              (long long)k->state_since_ms, (long long)k->end_ms);
	}
	for (size_t i = 0; i < v.n_agents; i++) {
		const pd_live_agent *a = &v.agents[i];
		pd_buf_printf(b, "agent %s %s %s %s %d %lld %d %lld\n", S(a->interface), S(a->name),
		              S(a->queues), S(a->reason), (int)a->state, (long long)a->since_ms,
		              (int)a->paused, (long long)a->until_ms);
	}
#undef S
	pd_live_free_view(&v);
}

typedef struct {
	ami_model *all, *masked; /* every message; what the login's classes get */
	int64_t now;
	ami_parser_opts read; /* the events the driver reads (not skipped) */
	size_t compared, left_out, read_left_out, changes;
	char first_read_left_out[64];
	char *diff; /* the first moment the two views differ */
	pd_buf last;
} twins;

static void on_twin(const ami_msg *msg, void *ctx)
{
	twins *t = ctx;
	t->now += 10;
	ami_model_apply(t->all, msg, t->now);
	ami_model_tick(t->all, t->now);
	if (!ami_class_in(ami_get(msg, "Privilege"), AMI_LOGIN_EVENTS)) {
		/* a real Asterisk does not send it to the driver's login; time
		 * passes all the same (the driver ticks on a timer) */
		ami_model_tick(t->masked, t->now);
		t->left_out++;
		ami_event e = ami_msg_event(msg);
		if (e != AMI_EV_UNKNOWN && !(t->read.skip[e / 64] >> (e % 64) & 1) &&
		    !t->read_left_out++)
			snprintf(t->first_read_left_out, sizeof t->first_read_left_out, "%s",
			         ami_type(msg));
		return;
	}
	ami_model_apply(t->masked, msg, t->now);
	ami_model_tick(t->masked, t->now);
	pd_buf a = {0}, b = {0};
	view_text(t->all, t->now, &a);
	view_text(t->masked, t->now, &b);
	t->compared++;
	if (!t->diff && strcmp(a.s ? a.s : "", b.s ? b.s : "")) {
		pd_buf d = {0};
		pd_buf_printf(&d,
		              "after %s at message %zu:\n--- every event\n%s--- the login's\n%s",
		              ami_type(msg), t->compared, a.s, b.s);
		t->diff = pd_buf_steal(&d);
	}
	if (!t->last.s || strcmp(t->last.s, a.s ? a.s : "")) {
		t->changes++;
		pd_buf_free(&t->last);
		pd_buf_add(&t->last, a.s ? a.s : "");
	}
	pd_buf_free(&a);
	pd_buf_free(&b);
}

/* The recorded Asterisk 22 session (made with Events: on) replayed twice at
 * the same times: to one model whole, to the other only what a real
 * Asterisk sends the driver's login (AMI_LOGIN_EVENTS). The live view is
 * the same after every message the second gets, and no event the driver
 * reads is of a class the login leaves out. */
Test(ami_model_truth, the_logins_event_classes_change_no_view)
{
	size_t len;
	char *d = slurp("ami-session-1.txt", &len);
	twins t = {.all = ami_model_new(), .masked = ami_model_new(), .now = 1000000};
	ami_skip_unread(&t.read);
	ami_model_set_default_wrapup(t.all, 5);
	ami_model_set_default_wrapup(t.masked, 5);
	ami_parser *p = ami_parser_new(&(ami_parser_opts){.expect_banner = true}, on_twin, &t);
	ami_parser_feed(p, d, len);
	ami_parser_free(p);
	free(d);
	cr_assert_eq(t.read_left_out, 0, "%zu events the driver reads left out, the first %s",
	             t.read_left_out, t.first_read_left_out);
	cr_assert_null(t.diff, "%s", t.diff);
	/* the replay means something: most bytes' events left out, the view
	 * changing hundreds of times, calls and agents in it */
	cr_assert_gt(t.left_out, 1500, "%zu left out", t.left_out);
	cr_assert_gt(t.compared, 1000, "%zu compared", t.compared);
	cr_assert_gt(t.changes, 200, "%zu views", t.changes);
	free(t.diff);
	pd_buf_free(&t.last);
	ami_model_free(t.all);
	ami_model_free(t.masked);
}

/* The recorded queues have wrapuptime = 5, which no event says (QueueParams
 * has no such field, members say Wrapuptime: 0): the PBX form's wrap-up
 * time stands for it, and every AgentComplete starts it. */
Test(ami_model_truth, recorded_wrapup_for_the_forms_time_then_it_ends)
{
	replay r = {0};
	replay_session(&r, 5);
	cr_assert_eq(r.completes, 14, "the README counts 14 AgentComplete, saw %d", r.completes);
	/* 1013 was removed from support (QueueMemberRemoved) during its call:
	 * Logged off, no wrap-up */
	cr_assert_eq(r.members, 13);
	cr_assert_eq(r.wrapups, r.members, "Wrap-up until +5 s after %d of %d AgentComplete",
	             r.wrapups, r.members);
	/* the last timers run out: nobody stays in Wrap-up */
	pd_live_view v = {0};
	cr_assert(ami_model_next_deadline(r.m) > r.now - 6000);
	ami_model_tick(r.m, r.now + 6000);
	ami_model_view(r.m, r.now + 6000, &v);
	for (size_t i = 0; i < v.n_agents; i++) {
		cr_assert_neq(v.agents[i].state, PD_AGENT_WRAPUP, "%s", v.agents[i].interface);
		cr_assert_eq(v.agents[i].until_ms, 0);
	}
	pd_live_free_view(&v);
	ami_model_free(r.m);
}

Test(ami_model_truth, recorded_without_a_wrapup_setting_no_wrapup)
{
	replay r = {0};
	replay_session(&r, 0);
	cr_assert_eq(r.completes, 14);
	cr_assert_eq(r.wrapups, 0);
	ami_model_free(r.m);
}

/* 1003 is paused in all queues (reason Break) while on a queue call. */
Test(ami_model_truth, recorded_call_taken_while_paused_keeps_the_reason)
{
	replay r = {0};
	replay_session(&r, 5);
	cr_assert(r.break_on_call, "1003 never On call with its pause reason Break");
	ami_model_free(r.m);
}

Test(ami_model_truth, recorded_calls_keep_their_caller_to_the_end)
{
	replay r = {0};
	replay_session(&r, 5);
	cr_assert_gt(r.caller_checks, 100, "the watched calls were seen %d times", r.caller_checks);
	cr_assert_null(r.bad_caller, "caller changed: %s", r.bad_caller);
	cr_assert(r.seen_ended_20, "the call was never seen ended");
	cr_assert_str_eq(r.ended_from, "+33155501001");
	ami_model_free(r.m);
}

/* ---- the snapshot of a (re)connect while calls are up ---- */

typedef struct {
	ami_model *m;
	int64_t now;
	const char *ids[4];
} pick;

/* Only the list items answering the given ActionIDs. */
static void on_pick(const ami_msg *msg, void *ctx)
{
	pick *p = ctx;
	const char *id = ami_get(msg, "ActionID");
	if (!id || msg->kind != AMI_MSG_EVENT)
		return;
	for (size_t i = 0; i < 4 && p->ids[i]; i++)
		if (!strcmp(id, p->ids[i]))
			ami_model_apply(p->m, msg, p->now);
}

static void snapshot(ami_model *m, const char *first, const char *second, const char *third)
{
	size_t len;
	char *d = slurp("ami-session-1.txt", &len);
	const char *order[3] = {first, second, third};
	for (int i = 0; i < 3; i++) {
		pick p = {.m = m, .now = 500000, .ids = {order[i]}};
		ami_parser *ps =
		    ami_parser_new(&(ami_parser_opts){.expect_banner = true}, on_pick, &p);
		ami_parser_feed(ps, d, len);
		ami_parser_free(ps);
	}
	free(d);
}

static void check_snapshot(ami_model *m)
{
	pd_live_view v = {0};
	ami_model_view(m, 500000, &v);
	cr_assert_geq(v.n_calls, 6, "%zu calls", v.n_calls);
	/* bridged to Carla Rossi in sales: queue and agent known, the caller the
	 * origin's */
	const pd_live_call *k = call(&v, "1795731901.20");
	cr_assert(k);
	cr_assert_eq(k->state, PD_CALL_CONNECTED, "%s", pd_call_state_name(k->state));
	cr_assert_str_eq(k->queue, "sales");
	cr_assert_str_eq(k->agent, "Carla Rossi");
	cr_assert_str_eq(k->from, "+33155501006");
	cr_assert_eq(k->start_ms, 500000 - 8000, "the origin's Duration 00:00:08");
	/* Alice Martin in support */
	k = call(&v, "1795731894.0");
	cr_assert(k);
	cr_assert_eq(k->state, PD_CALL_CONNECTED);
	cr_assert_str_eq(k->queue, "support");
	cr_assert_str_eq(k->agent, "Alice Martin");
	/* 1005 rings for a support caller: the call waits in its queue with its
	 * agent offered */
	k = call(&v, "1795731899.17");
	cr_assert(k);
	cr_assert_str_eq(k->queue, "support");
	cr_assert_str_eq(k->agent, "Emma Schmidt");
	cr_assert_neq(k->state, PD_CALL_CONNECTED);
	/* every call with an agent leg has a queue and an agent; none is blank */
	for (size_t i = 0; i < v.n_calls; i++)
		if (v.calls[i].queue)
			cr_assert(v.calls[i].agent || v.calls[i].state == PD_CALL_QUEUED, "%s",
			          v.calls[i].id);
	pd_live_free_view(&v);
}

Test(ami_model_truth, calls_up_at_connect_get_queue_and_agent)
{
	/* the driver asks QueueStatus, then CoreShowChannels */
	ami_model *m = ami_model_new();
	snapshot(m, "console-009", "console-030", "console-029");
	check_snapshot(m);
	ami_model_free(m);
}

Test(ami_model_truth, calls_up_at_connect_any_order)
{
	ami_model *m = ami_model_new();
	snapshot(m, "console-029", "console-009", "console-030");
	check_snapshot(m);
	ami_model_free(m);
}

/* ---- constructed: a direct call to an agent, and paused at answer ---- */

typedef struct {
	ami_model *m;
	int64_t now;
} feeder;

static void feed_msg(const ami_msg *msg, void *ctx)
{
	feeder *f = ctx;
	ami_model_apply(f->m, msg, f->now);
}

static void feed(ami_model *m, int64_t now, const char *text)
{
	feeder f = {m, now};
	ami_parser *p = ami_parser_new(&(ami_parser_opts){0}, feed_msg, &f);
	ami_parser_feed(p, text, strlen(text));
	ami_parser_free(p);
}

static pd_agent_state state_of(ami_model *m, int64_t now, const char *iface)
{
	pd_live_view v = {0};
	ami_model_tick(m, now);
	ami_model_view(m, now, &v);
	const pd_live_agent *a = agent(&v, iface);
	pd_agent_state st = a ? a->state : PD_AGENT_LOGGED_OFF;
	pd_live_free_view(&v);
	return st;
}

#define MEMBER(ev, st, incall, paused, reason)                                                     \
	"Event: " ev "\r\nQueue: support\r\nMemberName: Bob Dupont\r\nInterface: PJSIP/1002\r\n"   \
	"StateInterface: PJSIP/1002\r\nInCall: " incall "\r\nStatus: " st "\r\nPaused: " paused    \
	"\r\nPausedReason: " reason "\r\nWrapuptime: 0\r\n\r\n"

Test(ami_model_truth, direct_call_rings_until_answered)
{
	ami_model *m = ami_model_new();
	ami_model_set_default_wrapup(m, 5);
	feed(m, 0, MEMBER("QueueMember", "1", "0", "0", ""));
	cr_assert_eq(state_of(m, 0, "PJSIP/1002"), PD_AGENT_AVAILABLE);
	/* Dial(PJSIP/1002) from a trunk: no AgentCalled, the phone rings */
	feed(m, 1000,
	     "Event: Newchannel\r\nChannel: PJSIP/trunk-00000001\r\nChannelState: 4\r\n"
	     "CallerIDNum: +33612345678\r\nCallerIDName: Client\r\nExten: 1002\r\n"
	     "Uniqueid: 1.1\r\nLinkedid: 1.1\r\n\r\n"
	     "Event: Newchannel\r\nChannel: PJSIP/1002-00000002\r\nChannelState: 0\r\n"
	     "CallerIDNum: 1002\r\nCallerIDName: Bob Dupont\r\nExten: s\r\n"
	     "Uniqueid: 1.2\r\nLinkedid: 1.1\r\n\r\n"
	     "Event: DialBegin\r\nChannel: PJSIP/trunk-00000001\r\nUniqueid: 1.1\r\n"
	     "Linkedid: 1.1\r\nDestChannel: PJSIP/1002-00000002\r\nDestUniqueid: 1.2\r\n"
	     "DestLinkedid: 1.1\r\nDialString: 1002\r\n\r\n"
	     "Event: Newstate\r\nChannel: PJSIP/1002-00000002\r\nChannelState: 5\r\n"
	     "Uniqueid: 1.2\r\nLinkedid: 1.1\r\n\r\n"
	     "Event: DeviceStateChange\r\nDevice: PJSIP/1002\r\nState: RINGING\r\n\r\n" MEMBER(
	         "QueueMemberStatus", "6", "0", "0", ""));
	cr_assert_eq(state_of(m, 1000, "PJSIP/1002"), PD_AGENT_RINGING);
	/* it keeps ringing: no timer, no later event takes it away */
	feed(m, 9000, "Event: ExtensionStatus\r\nExten: 1002\r\nStatus: 8\r\n\r\n");
	cr_assert_eq(state_of(m, 9000, "PJSIP/1002"), PD_AGENT_RINGING);
	feed(m, 10000,
	     "Event: Newstate\r\nChannel: PJSIP/1002-00000002\r\nChannelState: 6\r\n"
	     "Uniqueid: 1.2\r\nLinkedid: 1.1\r\n\r\n"
	     "Event: DeviceStateChange\r\nDevice: PJSIP/1002\r\nState: INUSE\r\n\r\n" MEMBER(
	         "QueueMemberStatus", "2", "0", "0", ""));
	cr_assert_eq(state_of(m, 10000, "PJSIP/1002"), PD_AGENT_ON_CALL);
	/* a direct call ends without AgentComplete: no queue wrap-up */
	feed(m, 20000,
	     "Event: Hangup\r\nUniqueid: 1.2\r\nLinkedid: 1.1\r\n\r\n"
	     "Event: Hangup\r\nUniqueid: 1.1\r\nLinkedid: 1.1\r\n\r\n"
	     "Event: DeviceStateChange\r\nDevice: PJSIP/1002\r\nState: NOT_INUSE\r\n\r\n" MEMBER(
	         "QueueMemberStatus", "1", "0", "0", ""));
	cr_assert_eq(state_of(m, 20000, "PJSIP/1002"), PD_AGENT_AVAILABLE);
	ami_model_free(m);
}

Test(ami_model_truth, paused_during_a_queue_call_then_wrapup_then_not_ready)
{
	ami_model *m = ami_model_new();
	ami_model_set_default_wrapup(m, 5);
	feed(m, 0, MEMBER("QueueMember", "2", "1", "0", ""));
	feed(m, 1000, MEMBER("QueueMemberPause", "2", "1", "1", "Lunch"));
	pd_live_view v = {0};
	ami_model_view(m, 1000, &v);
	cr_assert_eq(v.agents[0].state, PD_AGENT_ON_CALL);
	cr_assert(v.agents[0].paused);
	cr_assert_str_eq(v.agents[0].reason, "Lunch");
	pd_live_free_view(&v);
	feed(m, 2000,
	     "Event: AgentComplete\r\nQueue: support\r\nInterface: PJSIP/1002\r\n"
	     "MemberName: Bob Dupont\r\nReason: caller\r\n\r\n"
	     "Event: DeviceStateChange\r\nDevice: PJSIP/1002\r\nState: NOT_INUSE\r\n\r\n" MEMBER(
	         "QueueMemberStatus", "1", "0", "1", "Lunch"));
	ami_model_view(m, 2000, &v);
	cr_assert_eq(v.agents[0].state, PD_AGENT_WRAPUP);
	cr_assert_eq(v.agents[0].until_ms, 7000);
	pd_live_free_view(&v);
	cr_assert_eq(ami_model_next_deadline(m), 7000);
	cr_assert_eq(state_of(m, 6999, "PJSIP/1002"), PD_AGENT_WRAPUP);
	ami_model_view(m, 7000, &v);
	ami_model_tick(m, 7000);
	pd_live_free_view(&v);
	ami_model_view(m, 7000, &v);
	cr_assert_eq(v.agents[0].state, PD_AGENT_NOT_READY);
	cr_assert_str_eq(v.agents[0].reason, "Lunch");
	cr_assert_eq(v.agents[0].until_ms, 0);
	pd_live_free_view(&v);
	/* unpaused: no reason left */
	feed(m, 8000, MEMBER("QueueMemberPause", "1", "0", "0", ""));
	ami_model_view(m, 8000, &v);
	cr_assert_eq(v.agents[0].state, PD_AGENT_AVAILABLE);
	cr_assert(!v.agents[0].paused);
	cr_assert_null(v.agents[0].reason);
	pd_live_free_view(&v);
	ami_model_free(m);
}

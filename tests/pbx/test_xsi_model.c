/* The BroadWorks model on the documents of tests/fixtures/broadworks/ (the
 * parser's output fed in order): a call center call and a direct call
 * through their states, agents' states with the unavailable code, release
 * and clean-up, the caps, the directory as synced users. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../src/pbx/xsi/xsi_model.h"
#include "provdesk/xsi.h"
#include "testlib.h" /* tests/lib */

#define MAXMSG 64

typedef struct {
	xsi_msg m[MAXMSG];
	size_t n;
} msgs;

static void on_msg(const xsi_msg *m, void *ctx)
{
	msgs *s = ctx;
	cr_assert_neq(m->kind, XSI_MSG_ERROR, "%s", m->text);
	cr_assert_lt(s->n, MAXMSG);
	s->m[s->n++] = *m;
}

static void load(const char *name, msgs *out)
{
	char rel[256];
	size_t len;
	snprintf(rel, sizeof rel, "broadworks/%s", name);
	char *b = tl_slurp_fixture(rel, &len);
	cr_assert(b, "cannot read %s", rel);
	memset(out, 0, sizeof *out);
	xsi_parser *p = xsi_parser_new(NULL, on_msg, out);
	xsi_parser_feed(p, b, len);
	xsi_parser_free(p);
	free(b);
}

static void add_page(xsi_model *m, const char *name)
{
	char rel[256];
	size_t len;
	snprintf(rel, sizeof rel, "broadworks/%s", name);
	char *b = tl_slurp_fixture(rel, &len);
	cr_assert(b);
	xsi_dir_page p;
	char err[200];
	cr_assert(xsi_dir_parse(b, len, NULL, 1000, &p, err, sizeof err), "%s", err);
	xsi_model_add_directory(m, &p);
	xsi_dir_page_free(&p);
	free(b);
}

static xsi_model *model_with_directory(void)
{
	xsi_model *m = xsi_model_new();
	add_page(m, "directory-enterprise-1.xml");
	add_page(m, "directory-enterprise-2.xml");
	return m;
}

static const pd_live_agent *agent_of(const pd_live_view *v, const char *id)
{
	for (size_t i = 0; i < v->n_agents; i++)
		if (!strcmp(v->agents[i].interface, id))
			return &v->agents[i];
	return NULL;
}

static const pd_live_user *user_of(const pd_live_view *v, const char *id)
{
	for (size_t i = 0; i < v->n_users; i++)
		if (!strcmp(v->users[i].endpoint, id))
			return &v->users[i];
	return NULL;
}

#define AGENT "zoe.lefevre@acme.example"

/* The view after applying messages [0, upto] at 1 s apart from t0. */
static void view_after(xsi_model *m, const msgs *s, size_t *next, size_t upto, int64_t t0,
                       pd_live_view *v)
{
	for (; *next <= upto; (*next)++)
		xsi_model_apply(m, &s->m[*next], t0 + (int64_t)*next * 1000);
	pd_live_free_view(v);
	memset(v, 0, sizeof *v);
	xsi_model_view(m, t0 + (int64_t)upto * 1000, v);
}

Test(xsi_model, queue_call_and_agent_states)
{
	msgs s;
	load("queue-call.xml", &s);
	cr_assert_eq(s.n, 17);
	xsi_model *m = model_with_directory();
	pd_live_view v = {0};
	size_t i = 0;
	const int64_t t0 = 100000;

	view_after(m, &s, &i, 2, t0, &v); /* Sign-In */
	cr_assert_eq(agent_of(&v, AGENT)->state, PD_AGENT_NOT_READY);
	cr_assert_str_eq(agent_of(&v, AGENT)->reason, "Sign-In");
	view_after(m, &s, &i, 3, t0, &v); /* Available */
	const pd_live_agent *a = agent_of(&v, AGENT);
	cr_assert_eq(a->state, PD_AGENT_AVAILABLE);
	cr_assert_str_eq(a->name, "Zoé Lefèvre", "the directory's name");
	cr_assert_eq(a->since_ms, t0 + 3000);
	cr_assert_null(a->reason);

	view_after(m, &s, &i, 4, t0, &v); /* the call center receives the call */
	cr_assert_eq(v.n_calls, 1);
	pd_live_call *c = &v.calls[0];
	cr_assert_str_eq(c->id, "7001:1");
	cr_assert_eq(c->state, PD_CALL_QUEUED);
	cr_assert_eq(c->dir, PD_DIR_INBOUND);
	cr_assert_str_eq(c->queue, "Support");
	cr_assert_str_eq(c->from, "+33155550100");
	cr_assert_str_eq(c->from_name, "Jürgen Groß");
	cr_assert_str_eq(c->to, "+33155550000");
	cr_assert_null(c->agent);
	view_after(m, &s, &i, 5, t0, &v); /* the queue answers: still waiting */
	cr_assert_eq(v.calls[0].state, PD_CALL_QUEUED);
	cr_assert_eq(v.calls[0].state_since_ms, t0 + 4000);

	view_after(m, &s, &i, 7, t0, &v); /* offered to the agent */
	c = &v.calls[0];
	cr_assert_eq(c->state, PD_CALL_RINGING);
	cr_assert_str_eq(c->agent, "Zoé Lefèvre");
	cr_assert_eq(agent_of(&v, AGENT)->state, PD_AGENT_RINGING);
	cr_assert_str_eq(user_of(&v, AGENT)->device_state, "Ringing");

	view_after(m, &s, &i, 8, t0, &v); /* answered */
	cr_assert_eq(v.calls[0].state, PD_CALL_CONNECTED);
	cr_assert_eq(agent_of(&v, AGENT)->state, PD_AGENT_ON_CALL);
	cr_assert_str_eq(user_of(&v, AGENT)->device_state, "In use");
	view_after(m, &s, &i, 9, t0, &v); /* the queue's half released */
	cr_assert_eq(v.calls[0].state, PD_CALL_CONNECTED);
	cr_assert_str_eq(v.calls[0].queue, "Support");
	view_after(m, &s, &i, 10, t0, &v); /* held */
	cr_assert_eq(v.calls[0].state, PD_CALL_HELD);
	cr_assert_eq(agent_of(&v, AGENT)->state, PD_AGENT_ON_HOLD);
	view_after(m, &s, &i, 11, t0, &v); /* retrieved */
	cr_assert_eq(v.calls[0].state, PD_CALL_CONNECTED);
	cr_assert_eq(agent_of(&v, AGENT)->state, PD_AGENT_ON_CALL);

	view_after(m, &s, &i, 12, t0, &v); /* released */
	cr_assert_eq(v.n_calls, 1, "an ended call lingers");
	cr_assert_eq(v.calls[0].state, PD_CALL_ENDED);
	cr_assert_eq(v.calls[0].end_ms, t0 + 12000);
	cr_assert_eq(agent_of(&v, AGENT)->state, PD_AGENT_AVAILABLE);
	cr_assert_str_eq(user_of(&v, AGENT)->device_state, "Not in use");
	view_after(m, &s, &i, 13, t0, &v); /* Wrap-Up */
	cr_assert_eq(agent_of(&v, AGENT)->state, PD_AGENT_WRAPUP);
	cr_assert_eq(agent_of(&v, AGENT)->since_ms, t0 + 13000);
	cr_assert(!xsi_model_apply(m, &s.m[14], t0 + 14000), "an unknown event changes nothing");
	i = 15;
	view_after(m, &s, &i, 15, t0, &v); /* Unavailable, code Lunch */
	cr_assert_eq(agent_of(&v, AGENT)->state, PD_AGENT_NOT_READY);
	cr_assert_str_eq(agent_of(&v, AGENT)->reason, "Lunch");
	view_after(m, &s, &i, 16, t0, &v); /* Sign-Out */
	cr_assert_eq(agent_of(&v, AGENT)->state, PD_AGENT_LOGGED_OFF);
	cr_assert_null(agent_of(&v, AGENT)->reason);

	/* release cleans up: the ended call leaves after the linger, nothing held */
	cr_assert_eq(xsi_model_next_deadline(m), t0 + 12000 + XSI_ENDED_LINGER_MS);
	cr_assert(!xsi_model_tick(m, t0 + 12000 + XSI_ENDED_LINGER_MS - 1));
	cr_assert(xsi_model_tick(m, t0 + 12000 + XSI_ENDED_LINGER_MS));
	pd_model_stats st;
	xsi_model_get_stats(m, &st);
	cr_assert_eq(st.calls, 0);
	cr_assert_eq(st.channels, 0);
	cr_assert_eq(xsi_model_next_deadline(m), INT64_MAX);
	/* a late event for the call ended and gone starts nothing stale */
	pd_live_free_view(&v);
	xsi_model_free(m);
}

Test(xsi_model, direct_call)
{
	msgs s;
	load("direct-call.xml", &s);
	cr_assert_eq(s.n, 9);
	xsi_model *m = model_with_directory();
	pd_live_view v = {0};
	size_t i = 0;
	const int64_t t0 = 5000;
	view_after(m, &s, &i, 1, t0, &v); /* originated */
	cr_assert_eq(v.n_calls, 1);
	pd_live_call *c = &v.calls[0];
	cr_assert_eq(c->state, PD_CALL_RINGING);
	cr_assert_eq(c->dir, PD_DIR_INTERNAL, "the remote party is of the group");
	cr_assert_str_eq(c->from, "marc.dupont@acme.example");
	cr_assert_str_eq(c->from_name, "Marc Dupont");
	cr_assert_str_eq(c->to, "2002");
	cr_assert_null(c->queue);
	view_after(m, &s, &i, 2, t0, &v); /* received by the other user: one call */
	cr_assert_eq(v.n_calls, 1);
	cr_assert_str_eq(v.calls[0].to, "zoe.lefevre@acme.example");
	cr_assert_eq(v.calls[0].state, PD_CALL_RINGING);
	view_after(m, &s, &i, 4, t0, &v); /* answered */
	cr_assert_eq(v.calls[0].state, PD_CALL_CONNECTED);
	cr_assert_str_eq(user_of(&v, "marc.dupont@acme.example")->device_state, "In use");
	cr_assert_str_eq(user_of(&v, AGENT)->device_state, "In use");
	cr_assert_eq(v.n_agents, 0, "no agent state was sent");
	view_after(m, &s, &i, 5, t0, &v);
	cr_assert_eq(v.calls[0].state, PD_CALL_HELD);
	view_after(m, &s, &i, 6, t0, &v);
	cr_assert_eq(v.calls[0].state, PD_CALL_CONNECTED);
	view_after(m, &s, &i, 7, t0, &v); /* one half released */
	cr_assert_eq(v.calls[0].state, PD_CALL_CONNECTED);
	view_after(m, &s, &i, 8, t0, &v); /* both */
	cr_assert_eq(v.calls[0].state, PD_CALL_ENDED);
	pd_model_stats st;
	xsi_model_get_stats(m, &st);
	cr_assert_eq(st.channels, 0);
	/* a late event for the ended call is ignored */
	cr_assert(!xsi_model_apply(m, &s.m[3], t0 + 9000));
	cr_assert(xsi_model_tick(m, t0 + 8000 + XSI_ENDED_LINGER_MS));
	xsi_model_get_stats(m, &st);
	cr_assert_eq(st.calls, 0);
	pd_live_free_view(&v);
	xsi_model_free(m);
}

static xsi_msg call_ev(xsi_event_type t, const char *target, const char *cid, const char *ext,
                       const char *state)
{
	xsi_msg e = {.kind = XSI_MSG_EVENT, .type = t, .sequence = -1};
	snprintf(e.target_id, sizeof e.target_id, "%s", target);
	snprintf(e.call_id, sizeof e.call_id, "%s", cid);
	snprintf(e.ext_tracking_id, sizeof e.ext_tracking_id, "%s", ext);
	snprintf(e.state, sizeof e.state, "%s", state);
	snprintf(e.personality, sizeof e.personality, "Terminator");
	return e;
}

static xsi_msg agent_ev(const char *target, const char *state, const char *code)
{
	xsi_msg e = {.kind = XSI_MSG_EVENT, .type = XSI_EV_AGENT_STATE, .sequence = -1};
	snprintf(e.target_id, sizeof e.target_id, "%s", target);
	snprintf(e.agent_state, sizeof e.agent_state, "%s", state);
	snprintf(e.unavailable_code, sizeof e.unavailable_code, "%s", code);
	return e;
}

Test(xsi_model, agent_reasons_and_bad_events)
{
	xsi_model *m = xsi_model_new();
	xsi_msg e = agent_ev("a@x", "Unavailable", "");
	cr_assert(xsi_model_apply(m, &e, 10));
	pd_live_view v = {0};
	xsi_model_view(m, 10, &v);
	cr_assert_eq(v.agents[0].state, PD_AGENT_NOT_READY);
	cr_assert_str_eq(v.agents[0].reason, "Unavailable", "no code: the state");
	cr_assert_str_eq(v.agents[0].name, "a@x", "not in the directory: the id");
	pd_live_free_view(&v);
	/* the same state again changes nothing, time in state kept */
	cr_assert(!xsi_model_apply(m, &e, 20));
	e = agent_ev("a@x", "Unavailable", "Meeting\xe2\x80\xae"); /* a bidi override */
	cr_assert(xsi_model_apply(m, &e, 30));
	memset(&v, 0, sizeof v);
	xsi_model_view(m, 30, &v);
	cr_assert_str_eq(v.agents[0].reason, "Meeting?");
	cr_assert_eq(v.agents[0].since_ms, 30);
	pd_live_free_view(&v);
	pd_model_stats st;
	xsi_model_get_stats(m, &st);
	cr_assert_eq(st.bad_fields, 1);
	/* events without their target or call are counted, not applied */
	xsi_msg bad = call_ev(XSI_EV_CALL_RECEIVED, "", "c", "x", "Alerting");
	cr_assert(!xsi_model_apply(m, &bad, 40));
	bad = agent_ev("a@x", "", "");
	cr_assert(!xsi_model_apply(m, &bad, 40));
	xsi_model_get_stats(m, &st);
	cr_assert_eq(st.bad_fields, 3);
	cr_assert_eq(st.calls, 0);
	/* a release of a call never seen changes nothing */
	bad = call_ev(XSI_EV_CALL_RELEASED, "u@x", "c9", "x9", "Released");
	cr_assert(!xsi_model_apply(m, &bad, 50));
	xsi_model_free(m);
}

/* States read by Xsi-Actions (no subscription of a group brings them): an
 * agent row from a read; a read sent before an event that came first is
 * older and dropped; one sent after it is taken. */
Test(xsi_model, agent_reads_yield_to_newer_events)
{
	xsi_model *m = model_with_directory();
	uint64_t before = xsi_model_mark(m);
	cr_assert(xsi_model_agent_read(m, AGENT, "Unavailable", "Lunch", before, 10));
	pd_live_view v = {0};
	xsi_model_view(m, 10, &v);
	cr_assert_eq(v.n_agents, 1);
	cr_assert_eq(v.agents[0].state, PD_AGENT_NOT_READY);
	cr_assert_str_eq(v.agents[0].reason, "Lunch");
	cr_assert_str_eq(v.agents[0].name, "Zoé Lefèvre");
	pd_live_free_view(&v);
	/* a read sent now, an event arriving before its answer */
	uint64_t sent = xsi_model_mark(m);
	xsi_msg e = agent_ev(AGENT, "Available", "");
	cr_assert(xsi_model_apply(m, &e, 20));
	cr_assert(!xsi_model_agent_read(m, AGENT, "Unavailable", "Lunch", sent, 30));
	memset(&v, 0, sizeof v);
	xsi_model_view(m, 30, &v);
	cr_assert_eq(v.agents[0].state, PD_AGENT_AVAILABLE, "the older read was taken");
	cr_assert_eq(v.agents[0].since_ms, 20);
	pd_live_free_view(&v);
	/* a read sent after the event is newer */
	cr_assert(xsi_model_agent_read(m, AGENT, "Wrap-Up", "", xsi_model_mark(m), 40));
	/* another user's event does not hold back this one's read */
	sent = xsi_model_mark(m);
	e = agent_ev("other@acme.example", "Available", "");
	xsi_model_apply(m, &e, 45);
	cr_assert(xsi_model_agent_read(m, AGENT, "Sign-Out", "", sent, 50));
	memset(&v, 0, sizeof v);
	xsi_model_view(m, 50, &v);
	cr_assert_eq(v.n_agents, 2);
	cr_assert_eq(v.agents[0].state, PD_AGENT_LOGGED_OFF);
	pd_live_free_view(&v);
	/* a read without a user or a state is counted, not applied */
	pd_model_stats st;
	xsi_model_get_stats(m, &st);
	uint64_t bad = st.bad_fields;
	cr_assert(!xsi_model_agent_read(m, "", "Available", "", sent, 60));
	cr_assert(!xsi_model_agent_read(m, AGENT, "", "", xsi_model_mark(m), 60));
	xsi_model_get_stats(m, &st);
	cr_assert_eq(st.bad_fields, bad + 2);
	/* after a new channel the agents are read again from nothing */
	xsi_model_reset_live(m);
	cr_assert(xsi_model_agent_read(m, AGENT, "Available", "", xsi_model_mark(m), 70));
	cr_assert_str_eq(xsi_model_user_id(m, 0), "marc.dupont@acme.example");
	cr_assert_null(xsi_model_user_id(m, xsi_model_user_count(m)));
	xsi_model_free(m);
}

/* Calls up before the link subscribed, read by Xsi-Actions: a read makes
 * the call and its agent's state (On call) and starts it when it started;
 * a read whose list was sent before a call event of that user came is
 * older and dropped (a call released meanwhile never comes back). */
Test(xsi_model, call_reads_yield_to_newer_events)
{
	xsi_model *m = model_with_directory();
	cr_assert(xsi_model_agent_read(m, AGENT, "Available", "", xsi_model_mark(m), 1000));
	uint64_t listed = xsi_model_mark(m);
	xsi_msg c = call_ev(XSI_EV_CALL_UPDATED, "", "h1", "ext-1", "Active");
	snprintf(c.acd_user_id, sizeof c.acd_user_id, "cc-support@acme.example");
	snprintf(c.acd_name, sizeof c.acd_name, "Support");
	cr_assert(xsi_model_call_read(m, AGENT, &c, listed, 400, 1000));
	pd_live_view v = {0};
	xsi_model_view(m, 1000, &v);
	cr_assert_eq(v.n_calls, 1);
	cr_assert_eq(v.calls[0].state, PD_CALL_CONNECTED);
	cr_assert_eq(v.calls[0].start_ms, 400, "started before the read");
	cr_assert_str_eq(v.calls[0].queue, "Support");
	cr_assert_str_eq(v.calls[0].agent, "Zoé Lefèvre");
	cr_assert_eq(agent_of(&v, AGENT)->state, PD_AGENT_ON_CALL);
	pd_live_free_view(&v);
	/* read again (a resync): the same call, not a second one, its start kept */
	cr_assert(!xsi_model_call_read(m, AGENT, &c, xsi_model_mark(m), 900, 1100));
	memset(&v, 0, sizeof v);
	xsi_model_view(m, 1100, &v);
	cr_assert_eq(v.n_calls, 1);
	cr_assert_eq(v.calls[0].start_ms, 400);
	pd_live_free_view(&v);
	/* listed, then released by an event before the call's answer came */
	listed = xsi_model_mark(m);
	xsi_msg rel = call_ev(XSI_EV_CALL_RELEASED, AGENT, "h1", "ext-1", "Released");
	cr_assert(xsi_model_apply(m, &rel, 1200));
	cr_assert(!xsi_model_call_read(m, AGENT, &c, listed, 400, 1300));
	memset(&v, 0, sizeof v);
	xsi_model_view(m, 1300, &v);
	cr_assert(v.n_calls == 0 || v.calls[0].state == PD_CALL_ENDED, "the call came back");
	cr_assert_eq(agent_of(&v, AGENT)->state, PD_AGENT_AVAILABLE);
	pd_live_free_view(&v);
	/* another user's call event does not hold back this one's read */
	listed = xsi_model_mark(m);
	xsi_msg other =
	    call_ev(XSI_EV_CALL_RECEIVED, "marc.dupont@acme.example", "h9", "ext-9", "Alerting");
	cr_assert(xsi_model_apply(m, &other, 1400));
	xsi_msg c2 = call_ev(XSI_EV_CALL_UPDATED, "", "h2", "ext-2", "Held");
	cr_assert(xsi_model_call_read(m, AGENT, &c2, listed, 0, 1500));
	memset(&v, 0, sizeof v);
	xsi_model_view(m, 1500, &v);
	cr_assert_eq(agent_of(&v, AGENT)->state, PD_AGENT_ON_HOLD);
	pd_live_free_view(&v);
	/* a read without a user or a callId is counted, not applied */
	pd_model_stats st;
	xsi_model_get_stats(m, &st);
	uint64_t bad = st.bad_fields;
	xsi_msg none = call_ev(XSI_EV_CALL_UPDATED, "", "", "", "Active");
	cr_assert(!xsi_model_call_read(m, AGENT, &none, xsi_model_mark(m), 0, 1600));
	cr_assert(!xsi_model_call_read(m, "", &c, xsi_model_mark(m), 0, 1600));
	xsi_model_get_stats(m, &st);
	cr_assert_eq(st.bad_fields, bad + 2);
	xsi_model_free(m);
}

Test(xsi_model, caps_and_age)
{
	xsi_model *m = xsi_model_new();
	pd_model_limits l = {.max_calls = 1, .max_channels = 2, .max_call_age_ms = 60000};
	xsi_model_set_limits(m, &l);
	xsi_msg e = call_ev(XSI_EV_CALL_RECEIVED, "u1@x", "c1", "t1", "Alerting");
	cr_assert(xsi_model_apply(m, &e, 0));
	e = call_ev(XSI_EV_CALL_RECEIVED, "u2@x", "c2", "t2", "Alerting");
	cr_assert(!xsi_model_apply(m, &e, 0), "a second call past max_calls");
	e = call_ev(XSI_EV_CALL_RECEIVED, "u2@x", "c2", "t1", "Alerting");
	cr_assert(xsi_model_apply(m, &e, 0), "a second half of the first call");
	e = call_ev(XSI_EV_CALL_RECEIVED, "u3@x", "c3", "t1", "Alerting");
	cr_assert(!xsi_model_apply(m, &e, 0), "a third half past max_channels");
	pd_model_stats st;
	xsi_model_get_stats(m, &st);
	cr_assert_eq(st.dropped_calls, 1);
	cr_assert_eq(st.dropped_channels, 2);
	cr_assert(st.calls_full && st.channels_full);
	cr_assert_eq(xsi_model_next_deadline(m), 60000);
	cr_assert(xsi_model_tick(m, 60000), "a call older than max_call_age ends");
	xsi_model_get_stats(m, &st);
	cr_assert_eq(st.aged_out, 1);
	cr_assert_eq(st.channels, 0);
	cr_assert(xsi_model_tick(m, 60000 + XSI_ENDED_LINGER_MS));
	xsi_model_get_stats(m, &st);
	cr_assert_eq(st.calls, 0);
	xsi_model_free(m);
}

Test(xsi_model, transfer_moves_a_half_to_another_call)
{
	xsi_model *m = xsi_model_new();
	xsi_msg e = call_ev(XSI_EV_CALL_ANSWERED, "u1@x", "c1", "t1", "Active");
	xsi_model_apply(m, &e, 0);
	e = call_ev(XSI_EV_CALL_TRANSFERRED, "u1@x", "c1", "t2", "Active");
	cr_assert(xsi_model_apply(m, &e, 1000));
	pd_live_view v = {0};
	xsi_model_view(m, 1000, &v);
	cr_assert_eq(v.n_calls, 2);
	size_t ended = 0, live = 0;
	for (size_t i = 0; i < v.n_calls; i++)
		v.calls[i].state == PD_CALL_ENDED ? ended++ : live++;
	cr_assert_eq(ended, 1, "the call left empty ends");
	cr_assert_eq(live, 1);
	pd_live_free_view(&v);
	xsi_model_reset_live(m);
	pd_model_stats st;
	xsi_model_get_stats(m, &st);
	cr_assert_eq(st.calls + st.channels, 0);
	xsi_model_free(m);
}

Test(xsi_model, directory_as_synced_users)
{
	xsi_model *m = model_with_directory();
	add_page(m, "directory-group.xml"); /* the same users again: not doubled */
	pd_synced_user *u;
	size_t n = xsi_model_synced_users(m, &u);
	cr_assert_eq(n, 5);
	cr_assert_str_eq(u[1].endpoint, "zoe.lefevre@acme.example");
	cr_assert_str_eq(u[1].display_name, "Zoé Lefèvre");
	cr_assert_str_eq(u[1].email, "zoe.lefevre@acme.example");
	cr_assert_str_eq(u[1].sub_account, "support", "the group is the sub-account");
	cr_assert_null(u[2].email);
	cr_assert_null(u[1].device_state);
	cr_assert_eq(xsi_model_users_refused(m), 0);
	xsi_model_reset_users(m);
	cr_assert_eq(xsi_model_user_count(m), 0);
	pd_model_limits l = {.max_users = 2};
	xsi_model_set_limits(m, &l);
	add_page(m, "directory-enterprise-1.xml");
	cr_assert_eq(xsi_model_user_count(m), 2);
	cr_assert_eq(xsi_model_users_refused(m), 1, "a directory cut short is not synced");
	xsi_model_free(m);
}

/* ---- at scale: the hash indexes stay consistent ----
 * 20,000 directory users (1,000 of them agents) and about 5,000 calls at
 * once, through some 60,000 events of every kind (new calls, answers, holds,
 * transfers to a new call, releases), checked against a plain reference at
 * every checkpoint: each live call found with its state, direction and
 * caller, released calls gone, each user's device state and each agent's
 * state right, nothing dropped. */

#define SC_USERS 20000
#define SC_AGENT_EVERY 20
#define SC_MAX_LIVE 4900

typedef struct {
	int call;  /* the reference call this user's half is in, -1 none */
	int cid;   /* its callId number */
	int st;    /* 0 alerting, 1 active, 2 held */
	bool orig; /* the originator's half */
} sc_half;

typedef struct {
	sc_half u[SC_USERS];
	int *busy; /* users with a half, in any order */
	size_t nbusy;
	int *halves; /* per reference call: halves in it */
	int ncalls_made, next_cid;
	size_t live, in_model; /* live calls; calls the model holds (live + ended, untidied) */
	uint64_t rnd;
	int64_t now;
	xsi_model *m;
} sc;

static uint64_t sc_rand(sc *s)
{
	s->rnd ^= s->rnd << 13;
	s->rnd ^= s->rnd >> 7;
	s->rnd ^= s->rnd << 17;
	return s->rnd;
}

static void sc_uid(int u, char *b, size_t n)
{
	snprintf(b, n, "u%05d@lab.example", u);
}

static void sc_send(sc *s, xsi_event_type t, int u, const char *state)
{
	char id[64], cid[32], ext[32];
	sc_uid(u, id, sizeof id);
	snprintf(cid, sizeof cid, "c%d", s->u[u].cid);
	snprintf(ext, sizeof ext, "t%d", s->u[u].call);
	xsi_msg e = call_ev(t, id, cid, ext, state);
	snprintf(e.personality, sizeof e.personality, "%s",
	         s->u[u].orig ? "Originator" : "Terminator");
	xsi_model_apply(s->m, &e, ++s->now);
}

static int sc_free_user(sc *s)
{
	for (;;) {
		int u = (int)(sc_rand(s) % SC_USERS);
		if (s->u[u].call < 0)
			return u;
	}
}

static void sc_join(sc *s, int u, int call, bool orig)
{
	s->u[u] = (sc_half){.call = call, .cid = s->next_cid++, .orig = orig};
	s->busy[s->nbusy++] = u;
	s->halves[call]++;
}

static int sc_new_call(sc *s)
{
	int k = s->ncalls_made++;
	s->live++;
	s->in_model++;
	return k;
}

/* The user's half leaves its reference call (the call ends with its last). */
static void sc_leave(sc *s, size_t bi)
{
	int u = s->busy[bi];
	if (--s->halves[s->u[u].call] == 0)
		s->live--;
	s->u[u].call = -1;
	s->busy[bi] = s->busy[--s->nbusy];
}

static void sc_step(sc *s)
{
	unsigned op = (unsigned)(sc_rand(s) % 10);
	if (op < 3 || s->nbusy == 0) { /* a new internal call: two halves */
		if (s->in_model >= SC_MAX_LIVE)
			return;
		int k = sc_new_call(s), a = sc_free_user(s);
		sc_join(s, a, k, true);
		sc_send(s, XSI_EV_CALL_ORIGINATED, a, "Alerting");
		int b = sc_free_user(s);
		sc_join(s, b, k, false);
		sc_send(s, XSI_EV_CALL_RECEIVED, b, "Alerting");
		return;
	}
	size_t bi = (size_t)(sc_rand(s) % s->nbusy);
	int u = s->busy[bi];
	if (op < 5) {
		s->u[u].st = 1;
		sc_send(s, XSI_EV_CALL_ANSWERED, u, "Active");
	} else if (op < 6) {
		s->u[u].st = 2;
		sc_send(s, XSI_EV_CALL_HELD, u, "Held");
	} else if (op < 7) {
		if (s->in_model >= SC_MAX_LIVE)
			return;
		/* transferred: the half joins a new call (the same callId) */
		int k = sc_new_call(s);
		if (--s->halves[s->u[u].call] == 0)
			s->live--;
		s->u[u].call = k;
		s->u[u].st = 1;
		s->halves[k]++;
		sc_send(s, XSI_EV_CALL_TRANSFERRED, u, "Active");
	} else {
		sc_send(s, XSI_EV_CALL_RELEASED, u, "Released");
		sc_leave(s, bi);
	}
}

static void sc_check(sc *s)
{
	/* ended calls leave after the linger */
	s->now += XSI_ENDED_LINGER_MS;
	xsi_model_tick(s->m, s->now);
	s->in_model = s->live;
	pd_live_view v = {0};
	xsi_model_view(s->m, s->now, &v);
	cr_assert_eq(v.n_calls, s->live, "every live call, and no released one");
	bool *seen = xcalloc((size_t)s->ncalls_made + 1, 1);
	int *orig_of = xcalloc((size_t)s->ncalls_made + 1, sizeof *orig_of);
	int *st_of = xcalloc((size_t)s->ncalls_made + 1, sizeof *st_of);
	int *n_orig = xcalloc((size_t)s->ncalls_made + 1, sizeof *n_orig);
	int *n_term = xcalloc((size_t)s->ncalls_made + 1, sizeof *n_term);
	for (size_t i = 0; i < s->nbusy; i++) {
		const sc_half *h = &s->u[s->busy[i]];
		int rank = h->st == 2 ? 3 : h->st == 1 ? 2 : 1;
		st_of[h->call] = rank > st_of[h->call] ? rank : st_of[h->call];
		if (h->orig)
			n_orig[h->call]++, orig_of[h->call] = s->busy[i];
		else
			n_term[h->call]++;
	}
	for (size_t i = 0; i < v.n_calls; i++) {
		const pd_live_call *c = &v.calls[i];
		int k = -1;
		cr_assert_eq(sscanf(c->id, "t%d", &k), 1, "%s", c->id);
		cr_assert(k >= 0 && k < s->ncalls_made && s->halves[k] > 0, "call %s is live",
		          c->id);
		cr_assert_not(seen[k], "call %s once", c->id);
		seen[k] = true;
		pd_call_state want = st_of[k] == 3   ? PD_CALL_HELD
		                     : st_of[k] == 2 ? PD_CALL_CONNECTED
		                                     : PD_CALL_RINGING;
		cr_assert_eq(c->state, want, "state of %s", c->id);
		pd_call_dir dir = n_orig[k] && n_term[k] ? PD_DIR_INTERNAL
		                  : n_orig[k]            ? PD_DIR_OUTBOUND
		                                         : PD_DIR_INBOUND;
		cr_assert_eq(c->dir, dir, "direction of %s", c->id);
		if (n_orig[k]) {
			char id[64];
			sc_uid(orig_of[k], id, sizeof id);
			cr_assert_str_eq(c->from, id, "caller of %s", c->id);
		}
	}
	/* users: the device state of their half; agents: their call first */
	cr_assert_eq(v.n_users, SC_USERS);
	for (size_t i = 0; i < v.n_users; i++) {
		int u = -1;
		cr_assert_eq(sscanf(v.users[i].endpoint, "u%d@", &u), 1);
		const sc_half *h = &s->u[u];
		const char *ds = h->call < 0 ? "Not in use" : h->st == 0 ? "Ringing" : "In use";
		cr_assert_str_eq(v.users[i].device_state, ds, "%s", v.users[i].endpoint);
	}
	cr_assert_eq(v.n_agents, SC_USERS / SC_AGENT_EVERY);
	for (size_t i = 0; i < v.n_agents; i++) {
		int u = -1;
		cr_assert_eq(sscanf(v.agents[i].interface, "u%d@", &u), 1);
		const sc_half *h = &s->u[u];
		pd_agent_state want = h->call < 0  ? PD_AGENT_AVAILABLE
		                      : h->st == 2 ? PD_AGENT_ON_HOLD
		                      : h->st == 1 ? PD_AGENT_ON_CALL
		                                   : PD_AGENT_RINGING;
		cr_assert_eq(v.agents[i].state, want, "agent %s", v.agents[i].interface);
	}
	pd_model_stats st;
	xsi_model_get_stats(s->m, &st);
	cr_assert_eq(st.channels, s->nbusy);
	cr_assert_eq(st.calls, s->live);
	cr_assert_eq(st.dropped_calls + st.dropped_channels + st.dropped_other, 0);
	free(seen), free(orig_of), free(st_of), free(n_orig), free(n_term);
	pd_live_free_view(&v);
}

Test(xsi_model, thousands_of_calls_and_users_stay_indexed)
{
	static sc s; /* large: not on the stack */
	memset(&s, 0, sizeof s);
	s.rnd = 0x9e3779b97f4a7c15u;
	s.now = 1000;
	s.m = xsi_model_new();
	s.busy = xcalloc(SC_USERS, sizeof *s.busy);
	s.halves = xcalloc(200000, sizeof *s.halves);
	for (int u = 0; u < SC_USERS; u++)
		s.u[u].call = -1;
	/* the directory in pages of 500, the last page read twice (not doubled) */
	for (int first = 0; first < SC_USERS + 500; first += 500) {
		xsi_dir_page p = {.users = xcalloc(500, sizeof(xsi_dir_user)), .n_users = 500};
		for (int i = 0; i < 500; i++) {
			int u = first < SC_USERS ? first + i : SC_USERS - 500 + i;
			xsi_dir_user *d = &p.users[i];
			sc_uid(u, d->user_id, sizeof d->user_id);
			snprintf(d->first_name, sizeof d->first_name, "Zoé%d", u);
			snprintf(d->last_name, sizeof d->last_name, "Lefèvre");
			snprintf(d->group_id, sizeof d->group_id, "group-%d", u % 3 + 1);
		}
		xsi_model_add_directory(s.m, &p);
		xsi_dir_page_free(&p);
	}
	cr_assert_eq(xsi_model_user_count(s.m), SC_USERS);
	for (int u = 0; u < SC_USERS; u += SC_AGENT_EVERY) {
		char id[64];
		sc_uid(u, id, sizeof id);
		xsi_msg e = agent_ev(id, "Available", "");
		xsi_model_apply(s.m, &e, ++s.now);
	}
	/* fill up to about 4,900 calls, then churn */
	while (s.in_model < SC_MAX_LIVE) {
		int k = sc_new_call(&s), a = sc_free_user(&s);
		sc_join(&s, a, k, true);
		sc_send(&s, XSI_EV_CALL_ORIGINATED, a, "Alerting");
		int b = sc_free_user(&s);
		sc_join(&s, b, k, false);
		sc_send(&s, XSI_EV_CALL_RECEIVED, b, "Alerting");
	}
	sc_check(&s);
	cr_assert_eq(s.live, SC_MAX_LIVE);
	for (int round = 0; round < 12; round++) {
		for (int i = 0; i < 5000; i++)
			sc_step(&s);
		cr_assert_lt(s.ncalls_made, 200000);
		sc_check(&s);
	}
	/* everything released: nothing left but the users and agents */
	while (s.nbusy) {
		sc_send(&s, XSI_EV_CALL_RELEASED, s.busy[s.nbusy - 1], "Released");
		sc_leave(&s, s.nbusy - 1);
	}
	sc_check(&s);
	cr_assert_eq(s.live, 0);
	/* the synced users are the directory, in its order */
	pd_synced_user *su;
	cr_assert_eq(xsi_model_synced_users(s.m, &su), SC_USERS);
	cr_assert_str_eq(su[12345].endpoint, "u12345@lab.example");
	cr_assert_str_eq(su[12345].display_name, "Zoé12345 Lefèvre");
	xsi_model_reset_live(s.m);
	pd_model_stats st;
	xsi_model_get_stats(s.m, &st);
	cr_assert_eq(st.calls + st.channels, 0);
	free(s.busy);
	free(s.halves);
	xsi_model_free(s.m);
}

/* O(1) per event: the same burst of events (a call set up, answered and
 * released, 2,000 events) costs about the same beside 20,000 users and
 * 4,900 calls as beside 100 users and 50 calls (linear look-ups made it
 * over 100 times dearer). A ratio of the same process's timings, the best
 * of several runs, so a slow or loaded machine does not matter. */
static xsi_model *populated(int users, int calls)
{
	xsi_model *m = xsi_model_new();
	xsi_dir_page p = {.users = xcalloc((size_t)users, sizeof(xsi_dir_user)),
	                  .n_users = (size_t)users};
	for (int u = 0; u < users; u++)
		sc_uid(u, p.users[u].user_id, sizeof p.users[u].user_id);
	xsi_model_add_directory(m, &p);
	xsi_dir_page_free(&p);
	for (int k = 0; k < calls; k++) {
		char a[64], b[64], ext[32];
		sc_uid(2 * k, a, sizeof a);
		sc_uid(2 * k + 1, b, sizeof b);
		snprintf(ext, sizeof ext, "bg%d", k);
		xsi_msg e = call_ev(XSI_EV_CALL_RECEIVED, a, "c1", ext, "Alerting");
		xsi_model_apply(m, &e, 1);
		e = call_ev(XSI_EV_CALL_ANSWERED, b, "c2", ext, "Active");
		xsi_model_apply(m, &e, 1);
	}
	return m;
}

static double burst_ms(xsi_model *m, int users, int *seq)
{
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 500; i++, (*seq)++) {
		char a[64], b[64], ext[32];
		sc_uid(users - 1 - (*seq % 20), a, sizeof a);
		sc_uid(users - 21 - (*seq % 20), b, sizeof b);
		snprintf(ext, sizeof ext, "b%d", *seq);
		xsi_msg e = call_ev(XSI_EV_CALL_RECEIVED, a, "x1", ext, "Alerting");
		xsi_model_apply(m, &e, 2);
		e = call_ev(XSI_EV_CALL_ANSWERED, b, "x2", ext, "Active");
		xsi_model_apply(m, &e, 2);
		e = call_ev(XSI_EV_CALL_RELEASED, a, "x1", ext, "Released");
		xsi_model_apply(m, &e, 3);
		e = call_ev(XSI_EV_CALL_RELEASED, b, "x2", ext, "Released");
		xsi_model_apply(m, &e, 3);
	}
	xsi_model_tick(m, 3 + XSI_ENDED_LINGER_MS);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
}

Test(xsi_model, cost_per_event_does_not_grow_with_calls_and_users)
{
	xsi_model *small = populated(100, 50), *big = populated(SC_USERS, SC_MAX_LIVE);
	double best_small = 1e9, best_big = 1e9;
	int seq = 0;
	for (int r = 0; r < 7; r++) {
		double a = burst_ms(small, 100, &seq), b = burst_ms(big, SC_USERS, &seq);
		best_small = a < best_small ? a : best_small;
		best_big = b < best_big ? b : best_big;
	}
	pd_model_stats st;
	xsi_model_get_stats(big, &st);
	cr_assert_eq(st.calls, SC_MAX_LIVE, "the bursts' calls are gone, the others stay");
	cr_assert_lt(best_big, 10 * best_small + 2.0,
	             "%.2f ms beside 4,900 calls, %.2f ms beside 50", best_big, best_small);
	xsi_model_free(small);
	xsi_model_free(big);
}

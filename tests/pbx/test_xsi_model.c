/* The BroadWorks model on the documents of tests/fixtures/broadworks/ (the
 * parser's output fed in order): a call center call and a direct call
 * through their states, agents' states with the unavailable code, release
 * and clean-up, the caps, the directory as synced users. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

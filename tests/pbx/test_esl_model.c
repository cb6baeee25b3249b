/* The FreeSWITCH call/agent/user model against the recorded FreeSWITCH 1.10
 * traffic (tests/fixtures/freeswitch/README.md), replayed through the real
 * ESL parser with no network: each api/response is paired with the client's
 * command of the recording (the *-client.txt file), each event is applied at
 * its own Event-Date-Timestamp. What a user would see is checked at known
 * points of session-1 (a support call answered by an agent, 1002 and 1003
 * On Break, 1005's NO_ANSWER and its On Break after three, the 1002 -> 1003
 * call held and taken off hold, 1010 unregistered) and after it (no call
 * left, the agents' last states); the snapshot commands of commands-1 give
 * the users (20, UTF-8 names), registrations, agents, tiers and the 4 calls
 * that were up. Then bad input: every cap, hostile values, broken tables and
 * JSON, -ERR replies. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/pbx/esl/esl_model.h"
#include "provdesk/esl.h"
#include "testlib.h" /* tests/lib */

static char *slurp(const char *name, size_t *len)
{
	char rel[256];
	snprintf(rel, sizeof rel, "freeswitch/%s", name);
	char *b = tl_slurp_fixture(rel, len);
	cr_assert(b, "cannot read the fixture %s", rel);
	return b;
}

typedef struct {
	esl_model *m;
	int64_t now;
	/* the client's "api X" commands in order: X, or "" for a bare "api"
	 * (which gets a command/reply) */
	char **api;
	size_t napi, next_api;
	bool sample;      /* take a view after every message */
	bool event_clock; /* now = each event's Event-Date-Timestamp */
	/* seen during the replay */
	bool support_answered, break_1002, break_1003, break_1005, offline_1010;
	bool ringing_seen, oncall_seen, wrapup_seen, queued_seen;
	bool held_internal, unheld_after_hold;
	int no_answer_1005, no_answer_cleared;
	size_t max_calls;
	const char *fail_call; /* set by on_msg for the check after the apply */
} replay;

static void load_commands(replay *r, const char *client)
{
	size_t len;
	char *c = slurp(client, &len);
	char *save = NULL;
	for (char *l = strtok_r(c, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (strncmp(l, "api", 3) || (l[3] != ' ' && l[3] != '\0'))
			continue;
		if (l[3] == '\0')
			continue; /* a bare "api" gets a command/reply */
		r->api = realloc(r->api, (r->napi + 1) * sizeof *r->api);
		r->api[r->napi++] = strdup(l + 4);
	}
	free(c);
}

static void free_commands(replay *r)
{
	for (size_t i = 0; i < r->napi; i++)
		free(r->api[i]);
	free(r->api);
}

static const pd_live_agent *agent(const pd_live_view *v, const char *id)
{
	for (size_t i = 0; i < v->n_agents; i++)
		if (!strcmp(v->agents[i].interface, id))
			return &v->agents[i];
	return NULL;
}

static const pd_live_call *call_by_id(const pd_live_view *v, const char *id)
{
	for (size_t i = 0; i < v->n_calls; i++)
		if (!strcmp(v->calls[i].id, id))
			return &v->calls[i];
	return NULL;
}

static const pd_live_user *user(const pd_live_view *v, const char *ep)
{
	for (size_t i = 0; i < v->n_users; i++)
		if (!strcmp(v->users[i].endpoint, ep))
			return &v->users[i];
	return NULL;
}

static bool not_ready(const pd_live_view *v, const char *id, const char *reason)
{
	const pd_live_agent *a = agent(v, id);
	return a && a->state == PD_AGENT_NOT_READY && a->reason && !strcmp(a->reason, reason);
}

static void observe(replay *r, const esl_msg *msg)
{
	pd_live_view v = {0};
	esl_model_view(r->m, r->now, &v);
	r->break_1002 |= not_ready(&v, "1002@default", "On Break");
	r->break_1003 |= not_ready(&v, "1003@default", "On Break");
	r->break_1005 |= not_ready(&v, "1005@default", "On Break");
	const pd_live_agent *a = agent(&v, "1010@default");
	r->offline_1010 |= a && a->state == PD_AGENT_OFFLINE;
	for (size_t i = 0; i < v.n_agents; i++) {
		r->ringing_seen |= v.agents[i].state == PD_AGENT_RINGING;
		r->oncall_seen |= v.agents[i].state == PD_AGENT_ON_CALL;
		r->wrapup_seen |= v.agents[i].state == PD_AGENT_WRAPUP;
	}
	size_t live = 0;
	for (size_t i = 0; i < v.n_calls; i++) {
		const pd_live_call *k = &v.calls[i];
		live += k->state != PD_CALL_ENDED;
		r->queued_seen |= k->state == PD_CALL_QUEUED;
		if (k->state == PD_CALL_CONNECTED && k->queue &&
		    !strcmp(k->queue, "support@default") && k->agent &&
		    !strncmp(k->agent, "10", 2) && k->dir == PD_DIR_INBOUND && k->from &&
		    !strncmp(k->from, "+331555010", 10) && k->from_name &&
		    !strncmp(k->from_name, "Customer ", 9) && !strcmp(k->to, "support@default"))
			r->support_answered = true;
		bool direct = k->from && !strcmp(k->from, "1002") && k->to &&
		              !strcmp(k->to, "1003") && k->dir == PD_DIR_INTERNAL && !k->queue;
		if (direct && k->state == PD_CALL_HELD)
			r->held_internal = true;
		if (direct && k->state == PD_CALL_CONNECTED && r->held_internal)
			r->unheld_after_hold = true;
	}
	if (live > r->max_calls)
		r->max_calls = live;
	if (r->fail_call) {
		/* right after 1005's bridge-agent-fail: the call no longer shows 1005 */
		const pd_live_call *k = call_by_id(&v, r->fail_call);
		if (k && (!k->agent || strcmp(k->agent, "1005@default")))
			r->no_answer_cleared++;
		r->fail_call = NULL;
	}
	(void)msg;
	pd_live_free_view(&v);
}

static void on_msg(const esl_msg *msg, void *ctx)
{
	replay *r = ctx;
	if (msg->kind == ESL_MSG_ERROR)
		cr_assert_fail("parser: %s", msg->text);
	if (msg->kind == ESL_MSG_API_RESPONSE) {
		cr_assert_lt(r->next_api, r->napi, "more api replies than api commands");
		const char *cmd = r->api[r->next_api++];
		esl_model_apply_api(r->m, cmd, msg->body, msg->body_len, r->now);
	} else if (msg->kind == ESL_MSG_EVENT) {
		const char *ts = esl_event_get(msg, "Event-Date-Timestamp");
		if (ts && r->event_clock)
			r->now = strtoll(ts, NULL, 10) / 1000;
		const char *act = esl_event_get(msg, "CC-Action");
		if (act && !strcmp(act, "bridge-agent-fail") &&
		    !strcmp(esl_event_get0(msg, "CC-Agent"), "1005@default") &&
		    !strcmp(esl_event_get0(msg, "CC-Hangup-Cause"), "NO_ANSWER")) {
			r->no_answer_1005++;
			r->fail_call = esl_event_get(msg, "CC-Member-Session-UUID");
		}
		esl_model_apply_event(r->m, msg, r->now);
	}
	esl_model_tick(r->m, r->now);
	if (r->sample)
		observe(r, msg);
}

static void replay_file(replay *r, const char *server)
{
	size_t len;
	char *d = slurp(server, &len);
	esl_parser *p = esl_parser_new(NULL, on_msg, r);
	esl_parser_feed(p, d, len);
	cr_assert_not(esl_parser_failed(p));
	esl_parser_free(p);
	free(d);
}

Test(esl_model, session_1_what_a_user_sees)
{
	replay r = {.m = esl_model_new(), .sample = true, .event_clock = true};
	esl_model_set_default_wrapup(r.m, 5); /* the lab's wrap_up_time (agent list) */
	load_commands(&r, "esl-session-1-client.txt");
	replay_file(&r, "esl-session-1.txt");
	cr_assert_eq(r.next_api, r.napi, "every api command got its reply");

	cr_assert(r.support_answered, "no support call shown answered by an agent");
	cr_assert(r.queued_seen, "no call ever Queued");
	cr_assert(r.break_1002 && r.break_1003, "1002/1003 never Not ready (On Break)");
	cr_assert(r.break_1005, "1005 never On Break after three no-answers");
	cr_assert_geq(r.no_answer_1005, 3);
	cr_assert_eq(r.no_answer_cleared, r.no_answer_1005,
	             "a call still showed 1005 after its NO_ANSWER (%d of %d cleared)",
	             r.no_answer_cleared, r.no_answer_1005);
	cr_assert(r.held_internal, "the 1002 -> 1003 call never Held");
	cr_assert(r.unheld_after_hold, "the 1002 -> 1003 call never Connected after the hold");
	cr_assert(r.offline_1010, "1010 never Offline while unregistered");
	cr_assert(r.ringing_seen && r.oncall_seen && r.wrapup_seen);
	cr_assert_geq(r.max_calls, 6, "at most %zu calls at once", r.max_calls);

	/* after the session: no call left up; ended ones leave after the linger */
	pd_live_view v = {0};
	esl_model_view(r.m, r.now, &v);
	for (size_t i = 0; i < v.n_calls; i++)
		cr_assert_eq(v.calls[i].state, PD_CALL_ENDED, "%s from %s still %s", v.calls[i].id,
		             v.calls[i].from, pd_call_state_name(v.calls[i].state));
	pd_live_free_view(&v);
	esl_model_tick(r.m, r.now + 60000);
	esl_model_view(r.m, r.now + 60000, &v);
	cr_assert_eq(v.n_calls, 0);
	/* the ten agents, all back to Available (1005 was made Available again) */
	cr_assert_eq(v.n_agents, 10);
	for (size_t i = 0; i < v.n_agents; i++)
		cr_assert_eq(v.agents[i].state, PD_AGENT_AVAILABLE, "%s: %s", v.agents[i].interface,
		             pd_agent_state_name(v.agents[i].state));
	cr_assert_str_eq(agent(&v, "1004@default")->queues, "support@default, sales@default");
	/* no directory listed in this session: no user */
	cr_assert_eq(v.n_users, 0);
	esl_model_stats st;
	esl_model_get_stats(r.m, &st);
	cr_assert_eq(st.channels, 0);
	cr_assert_eq(st.bad_fields, 0);
	cr_assert_eq(st.dropped_calls + st.dropped_channels + st.aged_out, 0);
	pd_live_free_view(&v);
	free_commands(&r);
	esl_model_free(r.m);
}

/* commands-1 with its replies applied; emails as the driver asks them. */
static esl_model *commands_1(replay *r)
{
	*r = (replay){.m = esl_model_new(), .now = 5000000};
	load_commands(r, "esl-commands-1-client.txt");
	replay_file(r, "esl-commands-1.txt");
	cr_assert_eq(r->next_api, r->napi);
	return r->m;
}

Test(esl_model, commands_1_snapshot_users_agents_calls)
{
	replay r;
	esl_model *m = commands_1(&r);
	pd_live_view v = {0};
	esl_model_view(m, r.now, &v);

	/* list_users: 20 users (one row per user per group), UTF-8 names decoded */
	cr_assert_eq(v.n_users, 20);
	cr_assert_eq(esl_model_user_count(m), 20);
	const pd_live_user *u = user(&v, "1001@default");
	cr_assert(u);
	cr_assert_str_eq(u->name, "Hélène Dubois");
	cr_assert_str_eq(u->sub_account, "default");
	cr_assert_str_eq(user(&v, "1002@default")->name, "Marc O'Brien");
	cr_assert_str_eq(user(&v, "1018@default")->name, "Nguyễn Thị Mai");
	cr_assert_str_eq(user(&v, "1020@default")->name, "Accueil R&D");
	/* registrations: phones 1001-1010 registered, 1011-1020 not */
	cr_assert_str_eq(user(&v, "1003@default")->device_state, "Not in use");
	cr_assert_str_eq(user(&v, "1001@default")->device_state, "In use");
	cr_assert_str_eq(user(&v, "1005@default")->device_state, "Ringing");
	cr_assert_str_eq(user(&v, "1015@default")->device_state, "Unavailable");

	/* the email of 1001 (user_data ... param email) */
	pd_synced_user *su;
	size_t n = esl_model_synced_users(m, &su);
	cr_assert_eq(n, 20);
	size_t with_email = 0;
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(su[i].endpoint, "1001@default")) {
			cr_assert_str_eq(su[i].email, "helene.dubois@example.com");
			cr_assert_str_eq(su[i].display_name, "Hélène Dubois");
			cr_assert_str_eq(su[i].sub_account, "default");
		}
		with_email += su[i].email != NULL;
	}
	cr_assert_eq(with_email, 1, "only 1001's email was asked");

	/* agents: 10, from the agent list; tiers give the queues */
	cr_assert_eq(v.n_agents, 10);
	const pd_live_agent *a = agent(&v, "1001@default");
	cr_assert_eq(a->state, PD_AGENT_ON_CALL);
	cr_assert_str_eq(a->name, "Hélène Dubois");
	cr_assert_str_eq(a->queues, "support@default");
	cr_assert_eq(agent(&v, "1005@default")->state, PD_AGENT_RINGING);
	/* 1007 was set On Break then Available by the commands, but the agent
	 * list came before: Available */
	cr_assert_eq(agent(&v, "1007@default")->state, PD_AGENT_AVAILABLE);
	cr_assert_str_eq(agent(&v, "1004@default")->queues, "support@default, sales@default");
	cr_assert_str_eq(agent(&v, "1006@default")->queues, "sales@default, support@default");

	/* calls: 3 support and 1 sales customers (the callgen legs ignored);
	 * 1005's ringing leg is not linked to its customer in the json */
	size_t connected = 0, queued = 0;
	for (size_t i = 0; i < v.n_calls; i++) {
		const pd_live_call *k = &v.calls[i];
		cr_assert(k->from && k->from[0] == '+', "a call from %s", k->from);
		if (k->state == PD_CALL_CONNECTED) {
			connected++;
			cr_assert(k->agent, "connected call from %s without agent", k->from);
		}
		queued += k->state == PD_CALL_QUEUED;
	}
	cr_assert_eq(connected, 3);
	cr_assert_eq(queued, 1);
	const pd_live_call *k = call_by_id(&v, "959311c1-2227-43cf-98b1-24375816ca0a");
	cr_assert(k);
	cr_assert_eq(k->state, PD_CALL_QUEUED);
	cr_assert_str_eq(k->queue, "support@default");
	cr_assert_str_eq(k->from_name, "Customer 61");
	k = call_by_id(&v, "5fbb6212-345d-463a-94c6-aca0a173d264");
	cr_assert(k);
	cr_assert_str_eq(k->agent, "Hélène Dubois");
	cr_assert_eq(k->dir, PD_DIR_INBOUND);
	pd_live_free_view(&v);
	free_commands(&r);
	esl_model_free(m);
}

Test(esl_model, resnapshot_removes_legs_the_pbx_no_longer_has)
{
	replay r;
	esl_model *m = commands_1(&r);
	esl_model_snapshot_begin(m);
	const char *one = "{\"row_count\":1,\"rows\":[{\"uuid\":\"959311c1-2227-43cf-98b1-"
	                  "24375816ca0a\",\"direction\":\"inbound\",\"name\":\"sofia/carrier/"
	                  "+33155501061@127.0.0.1\",\"cid_name\":\"Customer 61\",\"cid_num\":"
	                  "\"+33155501061\",\"dest\":\"support\",\"callstate\":\"ACTIVE\","
	                  "\"application\":\"callcenter\",\"application_data\":\"support@default\","
	                  "\"call_uuid\":\"\"}]}";
	cr_assert(esl_model_apply_api(m, "show channels as json", one, strlen(one), r.now));
	esl_model_stats st;
	esl_model_get_stats(m, &st);
	cr_assert_eq(st.channels, 1);
	cr_assert_eq(st.stale_channels, 7);
	pd_live_view v = {0};
	esl_model_tick(m, r.now + ESL_ENDED_LINGER_MS);
	esl_model_view(m, r.now + ESL_ENDED_LINGER_MS, &v);
	cr_assert_eq(v.n_calls, 1);
	cr_assert_eq(v.calls[0].state, PD_CALL_QUEUED);
	pd_live_free_view(&v);
	/* an empty snapshot ("row_count":0 has no rows) ends it */
	const char *none = "{\"row_count\":0}";
	cr_assert(esl_model_apply_api(m, "show channels as json", none, strlen(none), r.now));
	esl_model_get_stats(m, &st);
	cr_assert_eq(st.channels, 0);
	free_commands(&r);
	esl_model_free(m);
}

Test(esl_model, reset_live_and_users)
{
	replay r;
	esl_model *m = commands_1(&r);
	esl_model_reset_live(m);
	pd_live_view v = {0};
	esl_model_view(m, r.now, &v);
	cr_assert_eq(v.n_calls + v.n_agents, 0);
	cr_assert_eq(v.n_users, 20);
	pd_live_free_view(&v);
	esl_model_reset_users(m);
	cr_assert_eq(esl_model_user_count(m), 0);
	cr_assert_null(esl_model_user_endpoint(m, 0));
	free_commands(&r);
	esl_model_free(m);
}

/* ---- bad input ---- */

/* One text/event-plain message around a body of header lines. */
static void feed_event(esl_model *m, const char *hdrs, int64_t now)
{
	char body[8192];
	snprintf(body, sizeof body, "%s\n", hdrs);
	char msg[9000];
	snprintf(msg, sizeof msg, "Content-Length: %zu\nContent-Type: text/event-plain\n\n%s",
	         strlen(body), body);
	replay r = {.m = m, .now = now};
	esl_parser *p = esl_parser_new(NULL, on_msg, &r);
	esl_parser_feed(p, msg, strlen(msg));
	esl_parser_free(p);
}

static void create_leg(esl_model *m, const char *uid, const char *cid_name, int64_t now)
{
	char h[2048];
	snprintf(h, sizeof h,
	         "Event-Name: CHANNEL_CREATE\nUnique-ID: %s\nChannel-Call-UUID: %s\n"
	         "Channel-Name: sofia/carrier/%%2B331@127.0.0.1\nCall-Direction: inbound\n"
	         "Answer-State: ringing\nCaller-Caller-ID-Number: %%2B331\n"
	         "Caller-Caller-ID-Name: %s\nCaller-Destination-Number: support\n",
	         uid, uid, cid_name);
	feed_event(m, h, now);
}

Test(esl_model, caps_bound_calls_and_legs)
{
	esl_model *m = esl_model_new();
	esl_model_set_limits(
	    m, &(esl_model_limits){.max_calls = 3, .max_channels = 4, .max_call_age_ms = 60000});
	char uid[32];
	for (int i = 0; i < 10; i++) {
		snprintf(uid, sizeof uid, "u-%d", i);
		create_leg(m, uid, "Caller", 1000 + i);
	}
	esl_model_stats st;
	esl_model_get_stats(m, &st);
	cr_assert_eq(st.calls, 3);
	cr_assert_eq(st.dropped_calls, 7);
	cr_assert(st.calls_full);
	/* a call whose hangup never comes ends at max_call_age, then leaves */
	cr_assert_eq(esl_model_next_deadline(m), 1000 + 60000);
	cr_assert(esl_model_tick(m, 1000 + 60000));
	esl_model_get_stats(m, &st);
	cr_assert_eq(st.aged_out, 1);
	cr_assert_eq(st.channels, 2);
	esl_model_tick(m, 1000 + 60000 + ESL_ENDED_LINGER_MS);
	esl_model_get_stats(m, &st);
	cr_assert_eq(st.calls, 2);
	esl_model_free(m);
}

Test(esl_model, hostile_values_are_cleaned_and_counted)
{
	esl_model *m = esl_model_new();
	/* U+202E (right-to-left override) and U+009B (CSI) inside a caller name */
	create_leg(m, "h-1", "Eve%E2%80%AEevil%C2%9B2J", 1000);
	pd_live_view v = {0};
	esl_model_view(m, 1000, &v);
	cr_assert_eq(v.n_calls, 1);
	cr_assert_str_eq(v.calls[0].from_name, "Eve?evil?2J");
	pd_live_free_view(&v);
	esl_model_stats st;
	esl_model_get_stats(m, &st);
	cr_assert_geq(st.bad_fields, 1);
	/* a value past the field bound is cut on a character boundary */
	char longname[1200] = "";
	for (int i = 0; i < 150; i++)
		strcat(longname, "%C3%A9"); /* é: 300 bytes */
	create_leg(m, "h-2", longname, 1001);
	esl_model_view(m, 1001, &v);
	const pd_live_call *k = call_by_id(&v, "h-2");
	cr_assert(k);
	cr_assert_leq(strlen(k->from_name), 256);
	cr_assert_eq(strlen(k->from_name) % 2, 0, "cut inside a character");
	pd_live_free_view(&v);
	esl_model_free(m);
}

Test(esl_model, callgen_legs_are_not_calls)
{
	esl_model *m = esl_model_new();
	feed_event(m,
	           "Event-Name: CHANNEL_CREATE\nUnique-ID: g-1\nChannel-Call-UUID: g-1\n"
	           "Channel-Name: sofia/callgen/support%40127.0.0.1%3A5080\n"
	           "Call-Direction: outbound\nAnswer-State: ringing\n",
	           1000);
	esl_model_stats st;
	esl_model_get_stats(m, &st);
	cr_assert_eq(st.calls + st.channels, 0);
	esl_model_free(m);
}

Test(esl_model, broken_tables_json_and_errors_change_nothing)
{
	esl_model *m = esl_model_new();
	const char *err = "-ERR no reply\n";
	cr_assert_not(esl_model_apply_api(m, "list_users", err, strlen(err), 0));
	cr_assert_not(esl_model_apply_api(m, "callcenter_config agent list", err, strlen(err), 0));
	cr_assert_not(esl_model_apply_api(m, "show channels as json", "not json", 8, 0));
	cr_assert_not(esl_model_apply_api(m, "show registrations as json", "{\"x\":", 5, 0));
	cr_assert_not(esl_model_apply_api(m, "list_users group support", "x|y\n", 4, 0));
	cr_assert_not(esl_model_apply_api(m, "nosuchcmd", "", 0, 0));
	/* a '|' inside a name breaks its row: refused and counted, the others kept */
	const char *users = "userid|context|domain|group|contact|callgroup|"
	                    "effective_caller_id_name|effective_caller_id_number\n"
	                    "2001|default|acme|sales|error/user_not_registered|sales|A|B|2001\n"
	                    "2002|default|acme|sales|error/user_not_registered|sales|Zoë|2002\n"
	                    "2003|default|beta.example|sales|sofia/internal/sip:2003@x|sales|"
	                    "Bad\x1b[2Jname|2003\n\n+OK\n";
	cr_assert(esl_model_apply_api(m, "list_users", users, strlen(users), 0));
	pd_live_view v = {0};
	esl_model_view(m, 0, &v);
	cr_assert_eq(v.n_users, 2);
	cr_assert_str_eq(v.users[0].endpoint, "2002@acme");
	cr_assert_str_eq(v.users[0].device_state, "Unavailable");
	cr_assert_str_eq(v.users[1].endpoint, "2003@beta.example");
	cr_assert_str_eq(v.users[1].name, "Bad?[2Jname");
	cr_assert_str_eq(v.users[1].sub_account, "beta.example");
	pd_live_free_view(&v);
	esl_model_stats st;
	esl_model_get_stats(m, &st);
	cr_assert_geq(st.bad_fields, 2);
	/* emails: -ERR is none, a non-address is refused */
	const char *cmd = "user_data 2002@acme param email";
	cr_assert_eq(esl_api_kind_of(cmd), ESL_API_USER_EMAIL);
	cr_assert(esl_model_apply_api(m, cmd, "zoe@acme.example", 16, 0));
	pd_synced_user *su;
	esl_model_synced_users(m, &su);
	cr_assert_str_eq(su[0].email, "zoe@acme.example");
	cr_assert(esl_model_apply_api(m, cmd, "not an address", 14, 0));
	esl_model_synced_users(m, &su);
	cr_assert_null(su[0].email);
	cr_assert(esl_model_apply_api(m, cmd, err, strlen(err), 0));
	cr_assert_not(esl_model_apply_api(m, "user_data 9999@acme param email", "x@y", 3, 0));
	/* a second list without 2002: it leaves the directory */
	const char *users2 = "userid|context|domain|group|contact|callgroup|"
	                     "effective_caller_id_name|effective_caller_id_number\n"
	                     "2003|default|beta.example|sales|error/user_not_registered|sales|"
	                     "Good|2003\n\n+OK\n";
	cr_assert(esl_model_apply_api(m, "list_users", users2, strlen(users2), 0));
	cr_assert_eq(esl_model_user_count(m), 1);
	cr_assert_str_eq(esl_model_user_endpoint(m, 0), "2003@beta.example");
	pd_buf b = {0};
	esl_model_email_command("2003@beta.example", &b);
	cr_assert_str_eq(b.s, "user_data 2003@beta.example param email");
	pd_buf_free(&b);
	esl_model_free(m);
}

Test(esl_model, agent_status_and_state_map_to_display_states)
{
	esl_model *m = esl_model_new();
	const char *list = "name|instance_id|uuid|type|contact|status|state|max_no_answer|"
	                   "wrap_up_time\n"
	                   "a1@d|single_box||callback|user/a1@d|Logged Out|Waiting|3|5\n"
	                   "a2@d|single_box||callback|user/a2@d|Available (On Demand)|Waiting|3|5\n"
	                   "a3@d|single_box||callback|user/a3@d|On Break|Waiting|3|5\n"
	                   "a4@d|single_box||callback|user/a4@d|Available|Idle|3|5\n"
	                   "a5@d|single_box||callback|user/a5@d|Available|Receiving|3|5\n"
	                   "a6@d|single_box||callback|user/a6@d|On Break|In a queue call|3|5\n"
	                   "+OK\n";
	cr_assert(esl_model_apply_api(m, "callcenter_config agent list", list, strlen(list), 100));
	pd_live_view v = {0};
	esl_model_view(m, 100, &v);
	cr_assert_eq(v.n_agents, 6);
	cr_assert_eq(agent(&v, "a1@d")->state, PD_AGENT_LOGGED_OFF);
	cr_assert_eq(agent(&v, "a2@d")->state, PD_AGENT_AVAILABLE);
	cr_assert(not_ready(&v, "a3@d", "On Break"));
	cr_assert(not_ready(&v, "a4@d", "Idle"));
	cr_assert_eq(agent(&v, "a5@d")->state, PD_AGENT_RINGING);
	cr_assert_eq(agent(&v, "a6@d")->state, PD_AGENT_ON_CALL);
	cr_assert_eq(agent(&v, "a2@d")->since_ms, 100);
	pd_live_free_view(&v);
	/* wrap-up after bridge-agent-end, for the agent's wrap_up_time */
	feed_event(m,
	           "Event-Subclass: callcenter%3A%3Ainfo\nEvent-Name: CUSTOM\n"
	           "CC-Action: bridge-agent-end\nCC-Agent: a2%40d\n",
	           1000);
	esl_model_view(m, 1000, &v);
	cr_assert_eq(agent(&v, "a2@d")->state, PD_AGENT_WRAPUP);
	cr_assert_eq(agent(&v, "a2@d")->since_ms, 1000);
	pd_live_free_view(&v);
	cr_assert_eq(esl_model_next_deadline(m), 6000);
	cr_assert(esl_model_tick(m, 6000));
	esl_model_view(m, 6000, &v);
	cr_assert_eq(agent(&v, "a2@d")->state, PD_AGENT_AVAILABLE);
	pd_live_free_view(&v);
	/* an unregistered phone: Offline */
	feed_event(m,
	           "Event-Subclass: sofia%3A%3Aunregister\nEvent-Name: CUSTOM\n"
	           "from-user: a2\nfrom-host: d\nexpires: 0\n",
	           7000);
	esl_model_view(m, 7000, &v);
	cr_assert_eq(agent(&v, "a2@d")->state, PD_AGENT_OFFLINE);
	pd_live_free_view(&v);
	/* a later list without a1: it is gone */
	const char *list2 = "name|instance_id|uuid|type|contact|status|state\n"
	                    "a2@d|single_box||callback|user/a2@d|Available|Waiting\n+OK\n";
	cr_assert(
	    esl_model_apply_api(m, "callcenter_config agent list", list2, strlen(list2), 8000));
	esl_model_view(m, 8000, &v);
	cr_assert_eq(v.n_agents, 1);
	pd_live_free_view(&v);
	esl_model_free(m);
}

/* Agents are found by an index that follows the list's removals: 100
 * agents, two in wrap-up, then a list without the odd ones and one of
 * those in wrap-up. Every agent left is still found (an event for it
 * changes it and creates nothing); the wrap-up of the agent gone sets no
 * deadline, the other's still does, and once it too is gone none is left. */
Test(esl_model, agents_index_and_wrapups_follow_removals)
{
	esl_model *m = esl_model_new();
	enum { N = 100 };
	pd_buf list = {0};
	pd_buf_add(&list, "name|instance_id|uuid|type|contact|status|state|max_no_answer|"
	                  "wrap_up_time\n");
	for (int i = 0; i < N; i++)
		pd_buf_printf(
		    &list, "a%d@d|single_box||callback|user/a%d@d|Available|Waiting|3|5\n", i, i);
	pd_buf_add(&list, "+OK\n");
	cr_assert(esl_model_apply_api(m, "callcenter_config agent list", list.s, list.len, 100));
	char h[512];
	feed_event(m,
	           "Event-Subclass: callcenter%3A%3Ainfo\nEvent-Name: CUSTOM\n"
	           "CC-Action: bridge-agent-end\nCC-Agent: a5%40d\n",
	           1000);
	feed_event(m,
	           "Event-Subclass: callcenter%3A%3Ainfo\nEvent-Name: CUSTOM\n"
	           "CC-Action: bridge-agent-end\nCC-Agent: a50%40d\n",
	           2000);
	cr_assert_eq(esl_model_next_deadline(m), 6000, "a5's wrap-up ends first");
	/* the odd ones go, a5 (in wrap-up) with them */
	list.len = 0;
	pd_buf_add(&list, "name|instance_id|uuid|type|contact|status|state|max_no_answer|"
	                  "wrap_up_time\n");
	for (int i = 0; i < N; i += 2)
		pd_buf_printf(
		    &list, "a%d@d|single_box||callback|user/a%d@d|Available|Waiting|3|5\n", i, i);
	pd_buf_add(&list, "+OK\n");
	cr_assert(esl_model_apply_api(m, "callcenter_config agent list", list.s, list.len, 3000));
	cr_assert_eq(esl_model_next_deadline(m), 7000, "a5 is gone: a50's wrap-up");
	for (int i = 0; i < N; i += 2) {
		snprintf(h, sizeof h,
		         "Event-Subclass: callcenter%%3A%%3Ainfo\nEvent-Name: CUSTOM\n"
		         "CC-Action: agent-status-change\nCC-Agent: a%d%%40d\n"
		         "CC-Agent-Status: On Break\n",
		         i);
		feed_event(m, h, 4000);
	}
	pd_live_view v = {0};
	esl_model_view(m, 4000, &v);
	cr_assert_eq(v.n_agents, N / 2, "an event created an agent it did not find");
	for (int i = 0; i < N; i++) {
		snprintf(h, sizeof h, "a%d@d", i);
		const pd_live_agent *a = agent(&v, h);
		if (i % 2) {
			cr_assert_null(a, "%s", h);
			continue;
		}
		cr_assert_not_null(a, "%s", h);
		cr_assert(not_ready(&v, h, "On Break"), "%s", h);
	}
	pd_live_free_view(&v);
	/* a50 goes too: no wrap-up is left to end */
	list.len = 0;
	pd_buf_add(&list, "name|instance_id|uuid|type|contact|status|state\n"
	                  "a0@d|single_box||callback|user/a0@d|Available|Waiting\n+OK\n");
	cr_assert(esl_model_apply_api(m, "callcenter_config agent list", list.s, list.len, 5000));
	cr_assert_eq(esl_model_next_deadline(m), INT64_MAX);
	cr_assert_not(esl_model_tick(m, 8000));
	esl_model_view(m, 8000, &v);
	cr_assert_eq(v.n_agents, 1);
	cr_assert_str_eq(v.agents[0].interface, "a0@d");
	pd_live_free_view(&v);
	pd_buf_free(&list);
	esl_model_free(m);
}

/* Legs and calls are found through hash indexes that follow swap-removes:
 * 150 two-leg calls, legs hung up in a scrambled order; after each hangup
 * every remaining leg is still found (an event for it creates nothing) and
 * each call ends exactly when its last leg goes. */
Test(esl_model, indexes_follow_removals)
{
	esl_model *m = esl_model_new();
	char h[512];
	enum { N = 150 };
	for (int i = 0; i < N; i++) {
		snprintf(h, sizeof h,
		         "Event-Name: CHANNEL_CREATE\nUnique-ID: a-%d\nChannel-Call-UUID: a-%d\n"
		         "Channel-Name: sofia/carrier/x%d@h\nCall-Direction: inbound\n"
		         "Answer-State: ringing\n",
		         i, i, i);
		feed_event(m, h, 1000);
		snprintf(h, sizeof h,
		         "Event-Name: CHANNEL_CREATE\nUnique-ID: b-%d\nChannel-Call-UUID: a-%d\n"
		         "Other-Leg-Unique-ID: a-%d\nChannel-Name: sofia/internal/2%d@h\n"
		         "Call-Direction: outbound\nAnswer-State: ringing\n",
		         i, i, i, i);
		feed_event(m, h, 1000);
	}
	esl_model_stats st;
	esl_model_get_stats(m, &st);
	cr_assert_eq(st.calls, N);
	cr_assert_eq(st.channels, 2 * N);
	bool gone[2 * N] = {0};
	for (int n = 0; n < 2 * N; n++) {
		int j = (n * 97) % (2 * N); /* 97 is prime to 300: every leg once */
		gone[j] = true;
		snprintf(h, sizeof h, "Event-Name: CHANNEL_HANGUP_COMPLETE\nUnique-ID: %c-%d\n",
		         j < N ? 'a' : 'b', j % N);
		feed_event(m, h, 2000);
		esl_model_get_stats(m, &st);
		cr_assert_eq(st.channels, (size_t)(2 * N - n - 1));
		/* an ANSWER for a leg still up finds it: no new leg */
		int k = (j + 1) % (2 * N);
		if (!gone[k]) {
			snprintf(h, sizeof h,
			         "Event-Name: CHANNEL_ANSWER\nUnique-ID: %c-%d\nAnswer-State: "
			         "answered\n",
			         k < N ? 'a' : 'b', k % N);
			feed_event(m, h, 2000);
			esl_model_get_stats(m, &st);
			cr_assert_eq(st.channels, (size_t)(2 * N - n - 1), "leg %d not found", k);
		}
	}
	pd_live_view v = {0};
	esl_model_view(m, 2000, &v);
	cr_assert_eq(v.n_calls, N);
	for (size_t i = 0; i < v.n_calls; i++)
		cr_assert_eq(v.calls[i].state, PD_CALL_ENDED);
	pd_live_free_view(&v);
	cr_assert(esl_model_tick(m, 2000 + ESL_ENDED_LINGER_MS));
	esl_model_get_stats(m, &st);
	cr_assert_eq(st.calls, 0);
	esl_model_free(m);
}

/* A list_users reply that is no table (an error text, garbage) keeps the
 * directory as it was: the driver then does not sync an empty one. */
Test(esl_model, list_users_without_a_table_keeps_the_directory)
{
	replay r;
	esl_model *m = commands_1(&r);
	cr_assert_eq(esl_model_user_count(m), 20);
	const char *junk = "no table here\n";
	cr_assert_not(esl_model_apply_api(m, "list_users", junk, strlen(junk), r.now));
	cr_assert_eq(esl_model_user_count(m), 20);
	free_commands(&r);
	esl_model_free(m);
}

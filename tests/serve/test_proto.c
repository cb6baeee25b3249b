/* The wire of `provdesk serve` (include/provdesk/serve.h): framing on every
 * split, bounds, the view codec both ways and its refusals naming the
 * field, the socket's path, and pd_live_put (the mirror's writer). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "provdesk/serve.h"
#include "testlib.h"

static pd_live_view sample(void)
{
	pd_live_view v = {.customer_id = 42,
	                  .link = PD_LINK_MONITORING,
	                  .sync_done = 3,
	                  .sync_total = 20,
	                  .retry_at_ms = 1234,
	                  .link_since_ms = 1000,
	                  .down_since_ms = 0,
	                  .stale = true,
	                  .stale_since_ms = 999};
	snprintf(v.last_error, sizeof v.last_error, "connection refused");
	v.n_users = 2;
	v.users = calloc(2, sizeof *v.users);
	v.users[0] = (pd_live_user){strdup("1001"), strdup("Zoé Lefèvre"), strdup("site-a"),
	                            strdup("In use")};
	v.users[1] = (pd_live_user){strdup("1002"), NULL, NULL, strdup("Not in use")};
	v.n_calls = 1;
	v.calls = calloc(1, sizeof *v.calls);
	v.calls[0] = (pd_live_call){.id = strdup("c-1"),
	                            .from = strdup("+33123"),
	                            .from_name = strdup("Caller \"quoted\"\n"),
	                            .to = strdup("600"),
	                            .queue = strdup("support"),
	                            .agent = NULL,
	                            .dir = PD_DIR_INBOUND,
	                            .state = PD_CALL_QUEUED,
	                            .start_ms = 5,
	                            .state_since_ms = 6,
	                            .end_ms = 0};
	v.n_agents = 1;
	v.agents = calloc(1, sizeof *v.agents);
	v.agents[0] = (pd_live_agent){.interface = strdup("PJSIP/1002"),
	                              .name = strdup("Bob"),
	                              .queues = strdup("support, sales"),
	                              .reason = strdup("Lunch"),
	                              .state = PD_AGENT_WRAPUP,
	                              .since_ms = 77,
	                              .paused = true,
	                              .until_ms = 88};
	v.input = (pd_live_input){.dropped_calls = 1,
	                          .dropped_channels = 2,
	                          .aged_out = 3,
	                          .stale_channels = 4,
	                          .bad_fields = 5,
	                          .dropped_other = 6,
	                          .calls = 7,
	                          .channels = 8,
	                          .capped = true};
	return v;
}

static json_t *roundtrip_json(const pd_live_view *v)
{
	json_t *o = pd_sp_view_to_json(v);
	size_t n;
	char *line = pd_sp_encode(o, &n);
	json_decref(o);
	cr_assert(line);
	cr_assert_eq(line[n - 1], '\n');
	cr_assert_null(memchr(line, '\n', n - 1), "one line: %s", line);
	pd_sp_reader r;
	pd_sp_reader_init(&r, PD_SERVE_MAX_MSG);
	pd_err e;
	cr_assert_eq(pd_sp_reader_feed(&r, line, n, &e), PD_OK);
	json_t *back = NULL;
	cr_assert_eq(pd_sp_reader_next(&r, &back, &e), 1);
	json_t *none;
	cr_assert_eq(pd_sp_reader_next(&r, &none, &e), 0);
	pd_sp_reader_free(&r);
	free(line);
	return back;
}

Test(serve_proto, view_roundtrip_every_field)
{
	pd_live_view v = sample();
	json_t *o = roundtrip_json(&v);
	cr_assert_str_eq(json_string_value(json_object_get(o, "t")), "view");
	pd_live_view w;
	pd_err e;
	pd_err_clear(&e);
	cr_assert_eq(pd_sp_view_from_json(o, &w, &e), PD_OK, "%s: %s", e.field, e.message);
	json_decref(o);
	cr_assert_eq(w.customer_id, 42);
	cr_assert_eq(w.link, PD_LINK_MONITORING);
	cr_assert_str_eq(w.last_error, "connection refused");
	cr_assert_eq(w.sync_done, 3);
	cr_assert_eq(w.sync_total, 20);
	cr_assert_eq(w.retry_at_ms, 1234);
	cr_assert_eq(w.link_since_ms, 1000);
	cr_assert(w.stale);
	cr_assert_eq(w.stale_since_ms, 999);
	cr_assert_eq(w.n_users, 2);
	cr_assert_str_eq(w.users[0].name, "Zoé Lefèvre");
	cr_assert_str_eq(w.users[0].sub_account, "site-a");
	cr_assert_null(w.users[1].name);
	cr_assert_str_eq(w.users[1].device_state, "Not in use");
	cr_assert_eq(w.n_calls, 1);
	cr_assert_str_eq(w.calls[0].from_name, "Caller \"quoted\"\n");
	cr_assert_str_eq(w.calls[0].queue, "support");
	cr_assert_null(w.calls[0].agent);
	cr_assert_eq(w.calls[0].state, PD_CALL_QUEUED);
	cr_assert_eq(w.calls[0].state_since_ms, 6);
	cr_assert_eq(w.n_agents, 1);
	cr_assert_str_eq(w.agents[0].reason, "Lunch");
	cr_assert_eq(w.agents[0].state, PD_AGENT_WRAPUP);
	cr_assert(w.agents[0].paused);
	cr_assert_eq(w.agents[0].until_ms, 88);
	cr_assert_eq(w.input.bad_fields, 5);
	cr_assert_eq(w.input.channels, 8);
	cr_assert(w.input.capped);
	pd_live_free_view(&w);
	pd_live_free_view(&v);
}

/* Lines split at every byte, and several per chunk, come out whole. */
Test(serve_proto, reader_every_split)
{
	const char text[] = "{\"t\":\"a\"}\n{\"t\":\"b\",\"x\":\"\\u00e9\"}\n{\"t\":\"c\"}\n";
	size_t n = sizeof text - 1;
	for (size_t cut = 1; cut < n; cut++) {
		pd_sp_reader r;
		pd_sp_reader_init(&r, 64);
		pd_err e;
		cr_assert_eq(pd_sp_reader_feed(&r, text, cut, &e), PD_OK);
		cr_assert_eq(pd_sp_reader_feed(&r, text + cut, n - cut, &e), PD_OK);
		const char *want[] = {"a", "b", "c"};
		for (int i = 0; i < 3; i++) {
			json_t *m;
			cr_assert_eq(pd_sp_reader_next(&r, &m, &e), 1, "cut %zu", cut);
			cr_assert_str_eq(json_string_value(json_object_get(m, "t")), want[i]);
			json_decref(m);
		}
		json_t *m;
		cr_assert_eq(pd_sp_reader_next(&r, &m, &e), 0);
		pd_sp_reader_free(&r);
	}
}

/* A line past the bound is refused while it is still open, and a whole
 * one past it when taken; a big line's buffer is given back. */
Test(serve_proto, reader_bounds)
{
	pd_sp_reader r;
	pd_sp_reader_init(&r, 16);
	pd_err e;
	pd_err_clear(&e);
	cr_assert_eq(pd_sp_reader_feed(&r, "{\"t\":\"abcdefghijk", 17, &e), PD_E_PROTOCOL);
	cr_assert_str_eq(e.field, "message");
	cr_assert(strstr(e.message, "longer than 16"), "%s", e.message);
	pd_sp_reader_free(&r);

	pd_sp_reader_init(&r, 16);
	cr_assert_eq(pd_sp_reader_feed(&r, "{\"t\":\"abcdefghijk\"}\n{\"t\":\"x\"}\n", 31, &e),
	             PD_OK);
	json_t *m;
	cr_assert_eq(pd_sp_reader_next(&r, &m, &e), -1);
	cr_assert(strstr(e.message, "longer than 16"), "%s", e.message);
	cr_assert_eq(pd_sp_reader_next(&r, &m, &e), 1, "the next line is still read");
	json_decref(m);
	pd_sp_reader_free(&r);

	pd_sp_reader_init(&r, PD_SERVE_MAX_MSG);
	size_t big = 4u << 20;
	char *s = malloc(big + 1);
	memset(s, ' ', big);
	memcpy(s, "{\"t\":\"big\"", 10);
	s[big - 2] = '}';
	s[big - 1] = '\n';
	cr_assert_eq(pd_sp_reader_feed(&r, s, big, &e), PD_OK);
	cr_assert_eq(pd_sp_reader_next(&r, &m, &e), 1);
	json_decref(m);
	cr_assert_leq(r.cap, 64u * 1024, "buffer kept: %zu", r.cap);
	free(s);
	pd_sp_reader_free(&r);
}

static void expect_bad_line(const char *line, const char *what)
{
	pd_sp_reader r;
	pd_sp_reader_init(&r, 1024);
	pd_err e;
	pd_err_clear(&e);
	cr_assert_eq(pd_sp_reader_feed(&r, line, strlen(line), &e), PD_OK);
	json_t *m = NULL;
	cr_assert_eq(pd_sp_reader_next(&r, &m, &e), -1, "%s accepted", line);
	cr_assert_null(m);
	cr_assert_eq(e.status, PD_E_PROTOCOL);
	cr_assert(strstr(e.message, what), "%s: %s", line, e.message);
	pd_sp_reader_free(&r);
}

Test(serve_proto, reader_refuses_what_is_not_a_message)
{
	expect_bad_line("garbage\n", "not JSON");
	expect_bad_line("{\"t\":\"a\"\n", "not JSON");
	expect_bad_line("[1,2]\n", "type");
	expect_bad_line("{\"x\":1}\n", "type");
	expect_bad_line("{\"t\":5}\n", "type");
	expect_bad_line("{\"t\":\"a\",\"t\":\"b\"}\n", "not JSON");
}

/* Each bad field of a view is refused naming it; nothing leaks. */
static void expect_bad_view(const char *key, json_t *value, const char *field)
{
	pd_live_view v = sample();
	json_t *o = pd_sp_view_to_json(&v);
	pd_live_free_view(&v);
	if (!strcmp(key, "users.0")) {
		json_array_set_new(json_object_get(o, "users"), 0, value);
	} else if (!strcmp(key, "calls.0.7")) {
		json_array_set_new(json_array_get(json_object_get(o, "calls"), 0), 7, value);
	} else if (!strcmp(key, "agents.0.1")) {
		json_array_set_new(json_array_get(json_object_get(o, "agents"), 0), 1, value);
	} else if (value) {
		json_object_set_new(o, key, value);
	} else {
		json_object_del(o, key);
	}
	pd_live_view w;
	pd_err e;
	pd_err_clear(&e);
	cr_assert_eq(pd_sp_view_from_json(o, &w, &e), PD_E_PROTOCOL, "%s accepted", key);
	cr_assert_str_eq(e.field, field, "%s: %s", key, e.message);
	cr_assert_null(w.users);
	cr_assert_null(w.calls);
	json_decref(o);
}

/* A last error longer than a view holds arrives cut between two code
 * points: valid UTF-8, as the next JSON needs it. */
Test(serve_proto, a_long_last_error_is_cut_whole)
{
	pd_live_view v = sample();
	json_t *o = roundtrip_json(&v);
	char longer[1000] = "";
	for (int i = 0; i < 400; i++)
		strcat(longer, "é"); /* 800 bytes: the view's 399 cut inside one */
	json_object_set_new(o, "last_error", json_string(longer));
	pd_live_view w;
	pd_err e;
	pd_err_clear(&e);
	cr_assert_eq(pd_sp_view_from_json(o, &w, &e), PD_OK, "%s: %s", e.field, e.message);
	json_decref(o);
	size_t whole = (sizeof w.last_error - 1) / 2 * 2;
	cr_assert_eq(strlen(w.last_error), whole, "whole é only");
	cr_assert_eq(strncmp(w.last_error, longer, whole), 0);
	json_t *again = pd_sp_view_to_json(&w);
	cr_assert_str_eq(json_string_value(json_object_get(again, "last_error")), w.last_error);
	json_decref(again);
	pd_live_free_view(&w);
	pd_live_free_view(&v);
}

Test(serve_proto, view_refusals_name_the_field)
{
	expect_bad_view("customer", json_integer(0), "customer");
	expect_bad_view("customer", NULL, "customer");
	expect_bad_view("link", json_integer(PD_LINK_N_STATES), "link");
	expect_bad_view("link", json_string("monitoring"), "link");
	expect_bad_view("last_error", json_stringn("a\0b", 3), "last_error");
	expect_bad_view("stale", json_integer(1), "stale");
	expect_bad_view("sync_done", json_integer(-1), "sync_done");
	expect_bad_view("users", json_object(), "users");
	expect_bad_view("users.0", json_pack("[ss]", "1001", "x"), "users[0]");
	expect_bad_view("calls.0.7", json_integer(99), "calls[0]");
	expect_bad_view("agents.0.1", json_integer(3), "agents[0]");
	expect_bad_view("input", json_pack("[i]", 1), "input");
}

Test(serve_proto, sync_roundtrip_and_refusal)
{
	pd_sync_result r = {.added = 1,
	                    .updated = 2,
	                    .removed = 3,
	                    .unchanged = 4,
	                    .sub_accounts_added = 5,
	                    .linked = 6};
	json_t *o = pd_sp_sync_to_json(7, 9, &r);
	int64_t cid, seq;
	pd_sync_result b;
	pd_err e;
	cr_assert_eq(pd_sp_sync_from_json(o, &cid, &seq, &b, &e), PD_OK);
	cr_assert_eq(cid, 7);
	cr_assert_eq(seq, 9);
	cr_assert_eq(memcmp(&r, &b, sizeof r), 0);
	json_object_set_new(json_object_get(o, "result"), "linked", json_string("6"));
	cr_assert_eq(pd_sp_sync_from_json(o, &cid, &seq, &b, &e), PD_E_PROTOCOL);
	cr_assert_str_eq(e.field, "result.linked");
	json_decref(o);
}

/* Beside the database when it fits a socket address, else a private
 * directory named for the database's real path. */
Test(serve_proto, socket_path)
{
	char *dir = tl_tmpdir("serve-proto");
	char *db = tl_write_file(dir, "p.db", "");
	pd_err e;
	char *p = pd_serve_socket_path(db, &e);
	cr_assert(p, "%s", e.message);
	char *real = realpath(db, NULL);
	char want[4096];
	snprintf(want, sizeof want, "%s.sock", real);
	cr_assert_str_eq(p, want);
	free(p);
	free(real);
	char *lock = pd_serve_lock_path(db);
	snprintf(want, sizeof want, "%s.serve.lock", db);
	cr_assert_str_eq(lock, want);
	free(lock);

	char longdir[4096];
	snprintf(longdir, sizeof longdir, "%s/%0120d", dir, 0);
	cr_assert_eq(mkdir(longdir, 0700), 0);
	char *db2 = tl_write_file(longdir, "q.db", "");
	setenv("XDG_RUNTIME_DIR", dir, 1);
	char *p2 = pd_serve_socket_path(db2, &e);
	cr_assert(p2, "%s", e.message);
	struct sockaddr_un sa;
	cr_assert_lt(strlen(p2), sizeof sa.sun_path);
	snprintf(want, sizeof want, "%s/provdesk/", dir);
	cr_assert_eq(strncmp(p2, want, strlen(want)), 0, "%s", p2);
	char *again = pd_serve_socket_path(db2, &e);
	cr_assert_str_eq(again, p2, "the same database, the same socket");
	free(again);
	free(p2);

	cr_assert_null(pd_serve_socket_path("/nonexistent/x.db", &e));
	cr_assert_eq(e.status, PD_E_NOINPUT);
	free(db);
	free(db2);
	tl_rmrf(dir);
	free(dir);
}

/* The mirror's writer: the entry is the given view, link fields and all;
 * the reader is woken and the generation moves. */
Test(serve_proto, live_put_replaces_whole)
{
	pd_live *l = pd_live_new();
	pd_live_set_link(l, 42, PD_LINK_RETRYING, 0, 0, 0, "old");
	int64_t g = pd_live_generation(l);
	pd_live_wake_drain(l);
	pd_live_view v = sample();
	pd_live_put(l, &v);
	cr_assert_null(v.users, "ownership taken");
	cr_assert_gt(pd_live_generation(l), g);
	char b;
	cr_assert_eq(read(pd_live_wake_fd(l), &b, 1), 1, "the reader is woken");
	pd_live_view w;
	cr_assert_eq(pd_live_snapshot(l, 42, &w), PD_OK);
	cr_assert_eq(w.link, PD_LINK_MONITORING);
	cr_assert_str_eq(w.last_error, "connection refused");
	cr_assert(w.stale);
	cr_assert_eq(w.n_users, 2);
	cr_assert_eq(w.n_agents, 1);
	cr_assert_eq(w.link_since_ms, 1000);
	pd_live_free_view(&w);
	pd_live_free(l);
}

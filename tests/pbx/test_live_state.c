/* pd_live's truth about a link that is down (src/pbx/live.c; docs/architecture.md,
 * "Stale live data"): when a monitored link is lost its last users, calls and agents
 * stay, marked stale as of the loss, with the time it went down; what a driver
 * publishes while reconnecting is held back and shown once the link is up again; a
 * link without a driver (disabled) has nothing stale. No thread, no socket. */
#include <criterion/criterion.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include "provdesk/i18n.h"
#include "provdesk/link_state.h"
#include "provdesk/live.h"
#include "provdesk/util.h"

static void publish(pd_live *l, int64_t cid, int users, int calls, int queued)
{
	pd_live_view v = {0};
	v.n_users = (size_t)users;
	v.users = users ? xcalloc((size_t)users, sizeof *v.users) : NULL;
	for (int i = 0; i < users; i++)
		v.users[i].endpoint = xasprintf("%d", 1000 + i);
	v.n_calls = (size_t)calls;
	v.calls = calls ? xcalloc((size_t)calls, sizeof *v.calls) : NULL;
	for (int i = 0; i < calls; i++) {
		v.calls[i].id = xasprintf("c%d", i);
		v.calls[i].state = i < queued ? PD_CALL_QUEUED : PD_CALL_CONNECTED;
	}
	v.n_agents = 1;
	v.agents = xcalloc(1, sizeof *v.agents);
	v.agents[0].interface = xstrdup("PJSIP/1001");
	v.agents[0].state = PD_AGENT_AVAILABLE;
	pd_live_publish(l, cid, &v);
	cr_assert_null(v.users, "ownership taken");
}

static pd_live_view snap(pd_live *l, int64_t cid)
{
	pd_live_view v;
	cr_assert_eq(pd_live_snapshot(l, cid, &v), PD_OK);
	return v;
}

Test(live_state, a_lost_link_keeps_its_last_data_marked_stale)
{
	pd_live *l = pd_live_new();
	pd_live_set_link(l, 7, PD_LINK_CONNECTING, 0, 0, 0, "");
	pd_live_set_link(l, 7, PD_LINK_DISCOVERING, 0, 3, 0, "");
	publish(l, 7, 3, 2, 1);
	pd_live_set_link(l, 7, PD_LINK_MONITORING, 3, 3, 0, "");
	pd_live_view v = snap(l, 7);
	cr_assert_not(v.stale);
	cr_assert_eq(v.down_since_ms, 0);
	pd_live_free_view(&v);
	pd_live_summary s;
	cr_assert(pd_live_summary_get(l, 7, &s));
	cr_assert_eq(s.calls, 2);
	cr_assert_eq(s.calls_waiting, 1, "queued calls are counted apart");

	/* lost: the state first, then the driver's reduced view (no calls) */
	int64_t before = pd_live_now_ms();
	pd_live_set_link(l, 7, PD_LINK_RETRYING, 0, 0, before + 12000, "connection refused");
	publish(l, 7, 3, 0, 0);
	v = snap(l, 7);
	cr_assert(v.stale, "the last known data is kept, marked");
	cr_assert_geq(v.stale_since_ms, before);
	cr_assert_geq(v.down_since_ms, before);
	cr_assert_eq(v.n_calls, 2, "the calls as last known, not a blank panel");
	cr_assert_eq(v.n_agents, 1);
	int64_t down = v.down_since_ms;
	pd_live_free_view(&v);
	cr_assert(pd_live_summary_get(l, 7, &s));
	cr_assert(s.stale);
	cr_assert_eq(s.down_since_ms, down);

	/* the redial keeps "down since" and the stale data */
	pd_live_set_link(l, 7, PD_LINK_CONNECTING, 0, 0, 0, NULL);
	pd_live_set_link(l, 7, PD_LINK_RETRYING, 0, 0, pd_live_now_ms() + 20000, NULL);
	pd_live_set_link(l, 7, PD_LINK_DISCOVERING, 1, 4, 0, NULL);
	publish(l, 7, 4, 1, 0); /* the re-snapshot, published before "monitoring" */
	v = snap(l, 7);
	cr_assert_eq(v.down_since_ms, down, "down since the loss, not the last redial");
	cr_assert(v.stale);
	cr_assert_eq(v.n_calls, 2, "a snapshot in progress is not shown yet");
	cr_assert_eq(v.n_users, 3);
	pd_live_free_view(&v);

	/* up: the fresh view replaces the stale one */
	pd_live_set_link(l, 7, PD_LINK_MONITORING, 4, 4, 0, "");
	v = snap(l, 7);
	cr_assert_not(v.stale);
	cr_assert_eq(v.down_since_ms, 0);
	cr_assert_eq(v.n_users, 4);
	cr_assert_eq(v.n_calls, 1);
	pd_live_free_view(&v);
	pd_live_free(l);
}

Test(live_state, up_without_a_new_view_stays_stale_until_the_next_publish)
{
	pd_live *l = pd_live_new();
	pd_live_set_link(l, 1, PD_LINK_MONITORING, 0, 0, 0, "");
	publish(l, 1, 2, 1, 0);
	pd_live_set_link(l, 1, PD_LINK_RETRYING, 0, 0, pd_live_now_ms() + 1000, "x");
	pd_live_set_link(l, 1, PD_LINK_MONITORING, 0, 0, 0, "");
	pd_live_view v = snap(l, 1);
	cr_assert(v.stale, "nothing fresh yet: still the old data, still marked");
	pd_live_free_view(&v);
	publish(l, 1, 5, 0, 0);
	v = snap(l, 1);
	cr_assert_not(v.stale);
	cr_assert_eq(v.n_users, 5);
	pd_live_free_view(&v);
	pd_live_free(l);
}

Test(live_state, a_link_that_never_came_up_is_down_since_its_first_failure)
{
	pd_live *l = pd_live_new();
	pd_live_set_link(l, 2, PD_LINK_CONNECTING, 0, 0, 0, "");
	pd_live_view v = snap(l, 2);
	cr_assert_eq(v.down_since_ms, 0, "connecting is not down yet");
	pd_live_free_view(&v);
	int64_t t0 = pd_live_now_ms();
	pd_live_set_link(l, 2, PD_LINK_RETRYING, 0, 0, t0 + 5000, "connection refused");
	pd_live_set_link(l, 2, PD_LINK_CONNECTING, 0, 0, 0, NULL);
	v = snap(l, 2);
	cr_assert_geq(v.down_since_ms, t0);
	cr_assert_not(v.stale, "nothing was known: nothing stale");
	pd_live_free_view(&v);
	pd_live_free(l);
}

Test(live_state, disabling_ends_stale_data_and_down_since)
{
	pd_live *l = pd_live_new();
	pd_live_set_link(l, 3, PD_LINK_MONITORING, 0, 0, 0, "");
	publish(l, 3, 2, 2, 0);
	pd_live_set_link(l, 3, PD_LINK_RETRYING, 0, 0, pd_live_now_ms() + 9000, "x");
	publish(l, 3, 2, 0, 0); /* held back */
	pd_live_set_link(l, 3, PD_LINK_DISABLED, 0, 0, 0, "customer disabled");
	pd_live_view empty = {0};
	pd_live_publish(l, 3, &empty);
	pd_live_view v = snap(l, 3);
	cr_assert_not(v.stale);
	cr_assert_eq(v.down_since_ms, 0);
	cr_assert_eq(v.n_calls, 0);
	cr_assert_eq(v.n_users, 0);
	pd_live_free_view(&v);
	/* removed with a held-back view: nothing leaks (ASan/LSan runs) */
	pd_live_set_link(l, 4, PD_LINK_MONITORING, 0, 0, 0, "");
	publish(l, 4, 1, 1, 0);
	pd_live_set_link(l, 4, PD_LINK_RETRYING, 0, 0, 0, "x");
	publish(l, 4, 1, 0, 0);
	pd_live_remove(l, 4);
	cr_assert_eq(pd_live_snapshot(l, 4, &v), PD_E_NOTFOUND);
	pd_live_set_link(l, 5, PD_LINK_MONITORING, 0, 0, 0, "");
	publish(l, 5, 1, 1, 0);
	pd_live_set_link(l, 5, PD_LINK_RETRYING, 0, 0, 0, "x");
	publish(l, 5, 1, 0, 0);
	pd_live_free(l);
}

Test(live_state, auth_failure_shows_what_was_published_and_ended_calls_go)
{
	pd_live *l = pd_live_new();
	pd_live_set_link(l, 6, PD_LINK_MONITORING, 0, 0, 0, "");
	publish(l, 6, 2, 2, 0);
	pd_live_view v = snap(l, 6);
	pd_live_free_view(&v);
	/* a call that ended just before the loss does not stay frozen as "Ended" */
	pd_live_view e = {0};
	e.n_calls = 2;
	e.calls = xcalloc(2, sizeof *e.calls);
	e.calls[0].id = xstrdup("up");
	e.calls[0].state = PD_CALL_CONNECTED;
	e.calls[1].id = xstrdup("gone");
	e.calls[1].state = PD_CALL_ENDED;
	pd_live_publish(l, 6, &e);
	pd_live_set_link(l, 6, PD_LINK_RETRYING, 0, 0, pd_live_now_ms() + 1000, "x");
	v = snap(l, 6);
	cr_assert(v.stale);
	cr_assert_eq(v.n_calls, 1);
	cr_assert_str_eq(v.calls[0].id, "up");
	pd_live_free_view(&v);
	/* redialled, and the login refused: no retry will refresh anything, so
	 * the empty view the driver published is shown, not stale data */
	pd_live_set_link(l, 6, PD_LINK_CONNECTING, 0, 0, 0, NULL);
	pd_live_view empty = {0};
	pd_live_publish(l, 6, &empty);
	pd_live_set_link(l, 6, PD_LINK_AUTH_FAILED, 0, 0, 0, "authentication failed");
	v = snap(l, 6);
	cr_assert_not(v.stale);
	cr_assert_eq(v.n_calls, 0);
	cr_assert_gt(v.down_since_ms, 0, "down since the first loss");
	pd_live_free_view(&v);
	pd_live_free(l);
}

/* The last error: kept until a new one or "" (NULL leaves it), shown in the
 * snapshot and the summary, carried by a whole view put in, cut at the
 * view's size; a removed customer is gone with it (ASan: nothing leaks). */
Test(live_state, last_error_kept_replaced_and_cleared)
{
	pd_live *l = pd_live_new();
	pd_live_set_link(l, 8, PD_LINK_RETRYING, 0, 0, pd_live_now_ms() + 5000,
	                 "connection refused");
	pd_live_set_link(l, 8, PD_LINK_CONNECTING, 0, 0, 0, NULL);
	pd_live_view v = snap(l, 8);
	cr_assert_str_eq(v.last_error, "connection refused");
	pd_live_free_view(&v);
	pd_live_set_link(l, 8, PD_LINK_RETRYING, 0, 0, pd_live_now_ms() + 5000, "timed out");
	pd_live_summary s;
	cr_assert(pd_live_summary_get(l, 8, &s));
	cr_assert(strstr(s.status, "timed out"), "%s", s.status);
	pd_live_set_link(l, 8, PD_LINK_MONITORING, 0, 0, 0, "");
	v = snap(l, 8);
	cr_assert_str_eq(v.last_error, "");
	cr_assert_str_eq(v.status, pd_link_state_label(PD_LINK_MONITORING));
	pd_live_free_view(&v);

	pd_live_view put = {.customer_id = 9, .link = PD_LINK_RETRYING};
	memset(put.last_error, 'e', sizeof put.last_error - 1);
	pd_live_put(l, &put);
	v = snap(l, 9);
	cr_assert_eq(strlen(v.last_error), sizeof v.last_error - 1);
	cr_assert_eq(v.link, PD_LINK_RETRYING);
	pd_live_free_view(&v);
	pd_live_remove(l, 9);
	cr_assert_neq(pd_live_snapshot(l, 9, &v), PD_OK);
	pd_live_free(l);
}

/* A link's error quotes the PBX: it is stored as valid UTF-8 with each
 * unsafe byte or code point escaped, and a long one is cut between two
 * code points, from a driver and from a view put whole (the serve client). */
Test(live_state, last_error_stored_clean_and_cut_whole)
{
	pd_live *l = pd_live_new();
	pd_live_set_link(l, 8, PD_LINK_PROTOCOL_ERROR, 0, 0, 0,
	                 "banner \"Caf\xe9 \x1b[2J \xe2\x80\xae evil\"");
	pd_live_view v = snap(l, 8);
	cr_assert_str_eq(v.last_error, "banner \"Caf\\xe9 \\x1b[2J \\u202e evil\"");
	cr_assert(strstr(v.status, "Caf\\xe9"), "%s", v.status);
	pd_live_free_view(&v);

	char longer[1000] = "";
	for (int i = 0; i < 400; i++)
		strcat(longer, "é"); /* 800 bytes: the view's 399 cut inside one */
	pd_live_set_link(l, 8, PD_LINK_RETRYING, 0, 0, pd_live_now_ms() + 5000, longer);
	v = snap(l, 8);
	cr_assert_eq(strlen(v.last_error), (sizeof v.last_error - 1) / 2 * 2, "whole é only");
	cr_assert(pd_utf8_valid(v.last_error, strlen(v.last_error)));
	/* "retrying in 5s (" and the error do not fit the status: cut whole */
	cr_assert(pd_utf8_valid(v.status, strlen(v.status)), "%s", v.status);
	cr_assert_geq(strlen(v.status), sizeof v.status - 2);
	pd_live_summary sum;
	cr_assert(pd_live_summary_get(l, 8, &sum));
	cr_assert(pd_utf8_valid(sum.status, strlen(sum.status)), "%s", sum.status);
	pd_live_free_view(&v);

	pd_live_view put = {.customer_id = 9, .link = PD_LINK_RETRYING};
	memcpy(put.last_error, longer, sizeof put.last_error - 1); /* 199: a cut é */
	pd_live_put(l, &put);
	v = snap(l, 9);
	cr_assert(pd_utf8_valid(v.last_error, strlen(v.last_error)), "%s", v.last_error);
	cr_assert_eq(strncmp(v.last_error, longer, 198), 0);
	pd_live_free_view(&v);
	pd_live_free(l);
}

/* Customers are found by id among many (an index since the 100,000-customer
 * grid asks for each visible row): added, published, removed in a shuffled
 * order, ids that collide in a small table (multiples of a power of two,
 * negative), each one found with its own data and the removed ones gone. */
Test(live_state, many_customers_each_found_and_removed)
{
	pd_live *l = pd_live_new();
	enum { N = 3000 };
	int64_t id[N];
	for (int i = 0; i < N; i++)
		id[i] = i % 3 == 0   ? (int64_t)i * 4096
		        : i % 3 == 1 ? -(int64_t)i - 1
		                     : (int64_t)i * 7 + 1;
	for (int i = 0; i < N; i++)
		publish(l, id[i], (int)(llabs(id[i]) % 5), 0, 0);
	srand(19);
	for (int i = N - 1; i > 0; i--) { /* a shuffled removal order */
		int j = rand() % (i + 1);
		int64_t t = id[i];
		id[i] = id[j];
		id[j] = t;
	}
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < N; i++) {
			bool gone = round == 1 && i % 2 == 0;
			pd_live_summary s;
			cr_assert_eq(pd_live_summary_get(l, id[i], &s), !gone, "customer %lld",
			             (long long)id[i]);
			if (gone)
				continue;
			cr_assert_eq(s.customer_id, id[i]);
			pd_live_view v = snap(l, id[i]);
			cr_assert_eq(v.customer_id, id[i]);
			cr_assert_eq(v.n_users, (size_t)(llabs(id[i]) % 5),
			             "customer %lld's own data", (long long)id[i]);
			pd_live_free_view(&v);
		}
		if (round == 0) {
			for (int i = 0; i < N; i += 2)
				pd_live_remove(l, id[i]);
			for (int i = 0; i < N / 4; i++) /* new ones take the freed places */
				publish(l, 1000000007 + i, 1, 0, 0);
		}
	}
	pd_live_summary *all;
	size_t n = pd_live_summaries(l, &all);
	cr_assert_eq(n, N / 2 + N / 4);
	free(all);
	for (int i = 0; i < N / 4; i++) {
		pd_live_view v = snap(l, 1000000007 + i);
		cr_assert_eq(v.n_users, 1);
		pd_live_free_view(&v);
		pd_live_remove(l, 1000000007 + i);
	}
	for (int i = 1; i < N; i += 2) /* the rest, then again from empty */
		pd_live_remove(l, id[i]);
	cr_assert_eq(pd_live_summaries(l, &all), 0);
	free(all);
	publish(l, 42, 2, 0, 0);
	pd_live_view v = snap(l, 42);
	cr_assert_eq(v.n_users, 2);
	pd_live_free_view(&v);
	pd_live_free(l);
}

/* A phone's state is stored in English (the database, the API) and shown
 * in the messages' language; "Busy" as a state is not the column head's
 * "Occ."; a PBX's own word is shown as it came. */
Test(live_state, device_states_shown_in_the_messages_language)
{
	unsetenv("PROVDESK_LOCALEDIR");
	setenv("LC_ALL", "fr_FR.UTF-8", 1);
	unsetenv("LANGUAGE");
	pd_i18n_init();
	if (!setlocale(LC_MESSAGES, NULL) || strcmp(setlocale(LC_MESSAGES, NULL), "fr_FR.UTF-8"))
		cr_skip_test("fr_FR.UTF-8 is not generated (.ci/deps --test makes it)");
	cr_assert_str_eq(pd_device_state_label("Not in use"), "Libre");
	cr_assert_str_eq(pd_device_state_label("Busy"), "Occupé");
	cr_assert_str_eq(_("Busy"), "Occ."); /* the column head keeps its own */
	cr_assert_str_eq(pd_device_state_label("Ringing, in use"), "Sonne, en ligne");
	cr_assert_str_eq(pd_device_state_label("Reachable"), "Reachable");
	cr_assert_str_eq(pd_device_state_label(""), "");
	cr_assert_str_eq(pd_device_state_label(NULL), "");
	setenv("LC_ALL", "C.UTF-8", 1);
	pd_i18n_init();
	cr_assert_str_eq(pd_device_state_label("Not in use"), "Not in use");
}

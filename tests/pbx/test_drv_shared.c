/* The driver base alone (src/pbx/drv_shared.c; include/provdesk/pbx_driver.h,
 * "what every driver shares"): the checks of create without a transport (a
 * driver on libcurl calls them alone), the link embedded in every driver
 * (a failure noted in a callback, then settled: the state said, the secret
 * masked, the retry timed; a transport failure; the redial rule) and a
 * `test` op's steps without a transport. The
 * drivers on the transport are tested against the lab (test_driver_lab.c,
 * test_esl_driver_lab.c). No socket. */
#include <criterion/criterion.h>
#include <string.h>

#include "provdesk/i18n.h"
#include "provdesk/live.h"
#include "provdesk/pbx_driver.h"
#include "provdesk/util.h"

static pd_drv_conf conf(const char *params)
{
	return (pd_drv_conf){.customer_id = 7,
	                     .host = "xsp.example.net",
	                     .port = 443,
	                     .tls = true,
	                     .username = "admin@example",
	                     .secret = "s3cretpass",
	                     .params_json = params,
	                     .backoff_min_ms = 1000,
	                     .backoff_max_s = 10};
}

Test(drv_shared, the_checks_read_the_parameters_typed_or_as_typed)
{
	pd_drv_conf c = conf("{\"tls_verify\": \"false\", \"wrapup_time\": \"5\", "
	                     "\"tls_ca_file\": \"tests/fixtures/ca.pem\"}");
	pd_drv_params p;
	pd_err e = {0};
	cr_assert_eq(pd_drv_check(&c, &p, &e), PD_OK, "%s", e.message);
	cr_assert_not(p.tls_verify);
	cr_assert_eq(p.wrapup_s, 5);
	cr_assert_str_eq(p.tls_ca_file, "tests/fixtures/ca.pem");
	pd_drv_params_free(&p);
	cr_assert_null(p.tls_ca_file);

	c = conf(NULL);
	cr_assert_eq(pd_drv_check(&c, &p, &e), PD_OK);
	cr_assert(p.tls_verify, "verified unless told otherwise");
	cr_assert_eq(p.wrapup_s, 0);
	cr_assert_null(p.tls_ca_file);
}

Test(drv_shared, a_bad_parameter_is_refused_naming_its_field)
{
	struct {
		const char *host;
		int port;
		const char *params, *field;
	} bad[] = {
	    {"", 443, NULL, "host"},
	    {NULL, 443, NULL, "host"},
	    {"pbx", 0, NULL, "port"},
	    {"pbx", 65536, NULL, "port"},
	    {"pbx", 443, "{\"tls_verify\": \"perhaps\"}", "tls_verify"},
	    {"pbx", 443, "{\"wrapup_time\": 3601}", "wrapup_time"},
	    {"pbx", 443, "{\"wrapup_time\": \"soon\"}", "wrapup_time"},
	    {"pbx", 443, "{\"tls_ca_file\": 5}", "tls_ca_file"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		pd_drv_conf c = conf(bad[i].params);
		c.host = bad[i].host;
		c.port = bad[i].port;
		pd_drv_params p;
		pd_err e = {0};
		cr_assert_neq(pd_drv_check(&c, &p, &e), PD_OK, "case %zu", i);
		cr_assert_str_eq(e.field, bad[i].field, "case %zu: %s", i, e.message);
		/* the same through the link's create, without a transport */
		pd_drv_link l;
		int wrapup = -1;
		pd_err e2 = {0};
		cr_assert_neq(pd_drv_link_init(&l, &c, &(pd_drv_host){0}, NULL, 1000, &wrapup, &e2),
		              PD_OK, "case %zu", i);
		cr_assert_str_eq(e2.field, bad[i].field, "case %zu", i);
		cr_assert_eq(wrapup, -1, "case %zu: nothing kept", i);
	}
}

/* ---- the link ---- */

typedef struct {
	pd_drv_link l;
	int stops;
	pd_link_state said[8];
	char text[8][256];
	int n_said;
} fake_drv;

static void fake_view(void *drv, int64_t now_ms, pd_live_view *v)
{
	(void)drv;
	(void)now_ms;
	(void)v; /* an empty view */
}

static void fake_stop(void *drv)
{
	((fake_drv *)drv)->stops++;
}

static void fake_changed(void *ctx, int64_t customer_id, pd_link_state st, const char *text)
{
	fake_drv *d = ctx;
	cr_assert_eq(customer_id, 7);
	if (d->n_said < 8) {
		d->said[d->n_said] = st;
		snprintf(d->text[d->n_said], sizeof d->text[0], "%s", text);
		d->n_said++;
	}
}

static void fake_init(fake_drv *d, pd_live *live)
{
	memset(d, 0, sizeof *d);
	pd_drv_conf c = conf("{\"wrapup_time\": 30}");
	int wrapup = 0;
	pd_err e = {0};
	cr_assert_eq(
	    pd_drv_link_init(&d->l, &c,
	                     &(pd_drv_host){.ctx = d, .live = live, .link_changed = fake_changed},
	                     NULL, 1000, &wrapup, &e),
	    PD_OK, "%s", e.message);
	cr_assert_eq(wrapup, 30);
	d->l.drv = d;
	d->l.view = fake_view;
	d->l.stop = fake_stop;
	d->l.now = 1000000;
}

Test(drv_shared, a_link_without_a_transport_keeps_a_copy_and_the_secret_masked)
{
	pd_live *live = pd_live_new();
	fake_drv d;
	fake_init(&d, live);
	cr_assert_null(d.l.t, "no transport without its callbacks");
	cr_assert_null(d.l.c.secret, "the secret is not in the copy");
	cr_assert_eq(d.l.secret.len, strlen("s3cretpass"));
	char *sec = pd_masked_reveal(&d.l.secret);
	cr_assert_str_eq(sec, "s3cretpass");
	pd_secret_free(sec);
	cr_assert_str_eq(d.l.c.host, "xsp.example.net");
	cr_assert_str_eq(d.l.c.username, "admin@example");
	struct pollfd pf[2];
	cr_assert_eq(pd_drv_link_pollfds(&d, pf, 0), 0);
	pd_sync_result r;
	cr_assert_not(pd_drv_link_last_sync(&d, &r));
	pd_drv_link_free(&d.l);
	cr_assert_null(d.l.c.host);
	pd_live_free(live);
}

Test(drv_shared, the_first_failure_wins_and_settles_into_a_retry_with_the_secret_masked)
{
	pd_live *live = pd_live_new();
	fake_drv d;
	fake_init(&d, live);
	pd_drv_settle(&d.l); /* nothing noted: nothing happens */
	cr_assert_eq(d.stops, 0);
	pd_drv_set_fail(&d.l, PD_LINK_PROTOCOL_ERROR, "not that PBX (it said %s)", "s3cretpass");
	pd_drv_set_fail(&d.l, PD_LINK_AUTH_FAILED, "%s", "a later failure");
	pd_drv_settle(&d.l);
	cr_assert_eq(d.stops, 1);
	cr_assert_null(d.l.fail);
	cr_assert_eq(d.l.wait_state, PD_LINK_PROTOCOL_ERROR);
	char shown[256];
	cr_assert_str_eq(pd_msg_text(d.l.last_error, shown, sizeof shown),
	                 "not that PBX (it said **********)");
	cr_assert_geq(d.l.retry_at, d.l.now + 500, "timed by the backoff");
	cr_assert_leq(d.l.retry_at, d.l.now + 10000);
	cr_assert_not(d.l.auth_failed);
	cr_assert_eq(d.n_said, 1);
	cr_assert_eq(d.said[0], PD_LINK_PROTOCOL_ERROR);
	cr_assert_null(strstr(d.text[0], "s3cretpass"), "%s", d.text[0]);
	cr_assert_not_null(strstr(d.text[0], "not that PBX"), "%s", d.text[0]);
	cr_assert_not(d.l.dirty, "the emptied view was published");

	/* then a refused login: no retry */
	pd_drv_set_fail(&d.l, PD_LINK_AUTH_FAILED, "%s", "authentication failed");
	pd_drv_settle(&d.l);
	cr_assert_eq(d.stops, 2);
	cr_assert_eq(d.l.wait_state, PD_LINK_AUTH_FAILED);
	cr_assert(d.l.auth_failed);
	cr_assert_eq(d.l.retry_at, 0);
	cr_assert_eq(d.said[d.n_said - 1], PD_LINK_AUTH_FAILED);
	pd_drv_link_free(&d.l);
	pd_live_free(live);
}

Test(drv_shared, discovering_with_the_same_progress_is_said_once)
{
	pd_live *live = pd_live_new();
	fake_drv d;
	fake_init(&d, live);
	d.l.done = 1;
	d.l.total = 4;
	pd_drv_link_set(&d.l, PD_LINK_DISCOVERING, "");
	pd_drv_link_set(&d.l, PD_LINK_DISCOVERING, "");
	cr_assert_eq(d.n_said, 1);
	d.l.done = 2;
	pd_drv_link_set(&d.l, PD_LINK_DISCOVERING, "");
	cr_assert_eq(d.n_said, 2);
	pd_drv_link_set(&d.l, PD_LINK_MONITORING, "");
	pd_drv_link_set(&d.l, PD_LINK_MONITORING, "");
	cr_assert_eq(d.n_said, 4, "other states are said each time");
	pd_drv_link_free(&d.l);
	pd_live_free(live);
}

/* A link's own deadlines beside the driver's: an input change held back,
 * a coalesced publish, and the retry only while waiting and not after a
 * refused login; the earliest wins. */
Test(drv_shared, the_links_deadline_is_the_earliest_of_its_own_and_the_drivers)
{
	pd_live *live = pd_live_new();
	fake_drv d;
	fake_init(&d, live);
	int64_t now = d.l.now, never = INT64_MAX;
	cr_assert_eq(pd_drv_link_deadline(&d.l, never, 50, false), never, "nothing pending");
	cr_assert_eq(pd_drv_link_deadline(&d.l, now + 7, 50, false), now + 7, "the driver's own");

	pd_live_input in = {.bad_fields = 1};
	cr_assert_eq(pd_drv_link_input(&d.l, &in, false), PD_DRV_INPUT_WORDS);
	in.bad_fields = 2; /* within PD_DRV_INPUT_MS of the first: held back */
	cr_assert_eq(pd_drv_link_input(&d.l, &in, false), 0);
	cr_assert(d.l.input_pending);
	d.l.dirty = false;
	cr_assert_eq(pd_drv_link_deadline(&d.l, never, 50, false), now + PD_DRV_INPUT_MS);

	d.l.dirty = true;
	d.l.published_at = now - 10;
	cr_assert_eq(pd_drv_link_deadline(&d.l, never, 50, false), now + 40, "the publish, first");
	cr_assert_eq(pd_drv_link_deadline(&d.l, now + 3, 50, false), now + 3);

	d.l.retry_at = now + 20;
	cr_assert_eq(pd_drv_link_deadline(&d.l, never, 50, false), now + 40,
	             "the retry only while waiting");
	cr_assert_eq(pd_drv_link_deadline(&d.l, never, 50, true), now + 20);
	d.l.auth_failed = true;
	cr_assert_eq(pd_drv_link_deadline(&d.l, never, 50, true), now + 40,
	             "no retry after a refused login");
	pd_drv_link_free(&d.l);
	pd_live_free(live);
}

/* A transport failure while logging in, an EOF, reads "... during login";
 * any other, or later, as the transport said it; either way the link is
 * down and retrying. The redial is due at retry_at, never after a refused
 * login, and a new attempt forgets that refusal and says its next state
 * even when it is the one said before (a discovery's same progress). */
Test(drv_shared, a_transport_failure_retries_and_an_attempt_forgets_a_refused_login)
{
	pd_live *live = pd_live_new();
	fake_drv d;
	fake_init(&d, live);
	char shown[256];
	pd_drv_link_tport_failed(&d.l, PD_TPORT_E_EOF, "connection closed by the PBX", true);
	cr_assert_eq(d.stops, 1);
	cr_assert_eq(d.l.wait_state, PD_LINK_RETRYING);
	cr_assert_str_eq(pd_msg_text(d.l.last_error, shown, sizeof shown),
	                 "connection closed by the PBX during login");
	pd_drv_link_tport_failed(&d.l, PD_TPORT_E_EOF, "connection closed by the PBX", false);
	cr_assert_str_eq(pd_msg_text(d.l.last_error, shown, sizeof shown),
	                 "connection closed by the PBX");
	pd_drv_link_tport_failed(&d.l, PD_TPORT_E_IO, "receive failed: reset", true);
	cr_assert_eq(d.stops, 3);
	cr_assert_str_eq(pd_msg_text(d.l.last_error, shown, sizeof shown), "receive failed: reset",
	                 "only an EOF is said as during login");
	cr_assert_eq(d.said[d.n_said - 1], PD_LINK_RETRYING);

	cr_assert_not(pd_drv_link_retry_due(&d.l, d.l.retry_at - 1));
	cr_assert(pd_drv_link_retry_due(&d.l, d.l.retry_at));
	d.l.auth_failed = true;
	cr_assert_not(pd_drv_link_retry_due(&d.l, d.l.retry_at + 100000), "a refused login");
	d.l.total = 4;
	pd_drv_link_set(&d.l, PD_LINK_DISCOVERING, "");
	int said = d.n_said;
	pd_drv_link_set(&d.l, PD_LINK_DISCOVERING, "");
	cr_assert_eq(d.n_said, said, "the same progress, said once");
	pd_drv_link_attempt(&d.l);
	cr_assert_not(d.l.auth_failed);
	pd_drv_link_set(&d.l, PD_LINK_DISCOVERING, "");
	cr_assert_eq(d.n_said, said + 1, "the new attempt's progress is said again");
	pd_drv_link_free(&d.l);
	pd_live_free(live);
}

/* The warning shown while monitoring is the sync's note, then what the
 * input cost, in the driver's words; said again only when it changed, and
 * cleared (not kept) when both are gone. */
Test(drv_shared, the_warning_joins_the_sync_note_and_the_input_and_is_said_when_it_changes)
{
	pd_live *live = pd_live_new();
	fake_drv d;
	fake_init(&d, live);
	pd_drv_link_state(&d.l, PD_LINK_MONITORING);
	int said = d.n_said;
	pd_drv_link_warning(&d.l, true, "widgets", "fields repaired");
	cr_assert_null(d.l.warning);
	cr_assert_eq(d.n_said, said, "nothing changed: nothing said");

	pd_drv_link_note(&d.l, "users not synced: too many");
	d.l.input.bad_fields = 3;
	pd_drv_link_warning(&d.l, true, "widgets", "fields repaired");
	char shown[512]; /* a pd_msg list, read in this language */
	cr_assert_str_eq(pd_msg_text(d.l.warning, shown, sizeof shown),
	                 "users not synced: too many; 3 fields repaired");
	cr_assert_eq(d.n_said, said + 1);
	pd_live_view v;
	cr_assert_eq(pd_live_snapshot(live, 7, &v), PD_OK);
	cr_assert_str_eq(pd_msg_text(v.last_error, shown, sizeof shown),
	                 "users not synced: too many; 3 fields repaired");
	pd_live_free_view(&v);
	pd_drv_link_warning(&d.l, true, "widgets", "fields repaired");
	cr_assert_eq(d.n_said, said + 1, "the same words: said once");

	d.l.input.dropped_other = 2; /* not monitoring: kept, said with the state */
	pd_drv_link_warning(&d.l, false, "widgets", "fields repaired");
	cr_assert_eq(d.n_said, said + 1);
	pd_drv_link_state(&d.l, PD_LINK_MONITORING);
	cr_assert_eq(pd_live_snapshot(live, 7, &v), PD_OK);
	cr_assert_str_eq(pd_msg_text(v.last_error, shown, sizeof shown),
	                 "users not synced: too many; 2 widgets dropped; 3 fields repaired");
	pd_live_free_view(&v);

	/* every warning at once, with a note of the longest kind: all of it
	 * reaches the live state (no part cut off), in the reader's words */
	char note[200];
	pd_msg(note, sizeof note,
	       N_("not synced: the PBX lists more than %zu users (max_users_per_link); %zu "
	          "more refused"),
	       (size_t)500, (size_t)1234);
	pd_drv_link_note(&d.l, note);
	d.l.input = (pd_live_input){.dropped_calls = 12345,
	                            .dropped_channels = 67890,
	                            .capped = true,
	                            .dropped_other = 2,
	                            .bad_fields = 3,
	                            .aged_out = 4};
	pd_drv_link_warning(&d.l, true, "widgets", "fields repaired");
	cr_assert_eq(pd_live_snapshot(live, 7, &v), PD_OK);
	cr_assert_str_eq(
	    pd_msg_text(v.last_error, shown, sizeof shown),
	    "not synced: the PBX lists more than 500 users (max_users_per_link); 1234 "
	    "more refused; input capped: 12345 calls, 67890 channels dropped "
	    "(max_calls_per_link 5000, max_channels_per_link 10000); 2 widgets dropped; "
	    "3 fields repaired; 4 calls aged out");
	pd_live_free_view(&v);

	pd_drv_link_note(&d.l, NULL);
	d.l.input = (pd_live_input){0};
	pd_drv_link_warning(&d.l, true, "widgets", "fields repaired");
	cr_assert_null(d.l.warning);
	cr_assert_eq(pd_live_snapshot(live, 7, &v), PD_OK);
	cr_assert_str_eq(v.last_error, "", "cleared, not kept");
	pd_live_free_view(&v);
	pd_drv_link_free(&d.l);
	pd_live_free(live);
}

/* ---- a test op without a transport ---- */

Test(drv_shared, a_probe_begins_and_reports_its_steps_without_a_transport)
{
	pd_drv_conf c = conf(NULL);
	pd_drv_probe pr = {0};
	pd_drv_test_result out;
	cr_assert_eq(pd_drv_probe_begin(&pr, &c, 2000, 500, &out), PD_OK);
	cr_assert_eq(out.n_steps, 0);
	cr_assert_eq(out.failed, -1);
	cr_assert_null(pr.t);
	pd_drv_probe_step(&pr, "HTTPS", true, "%s", "200 OK");
	pd_status st = pd_drv_probe_fail(&pr, PD_E_AUTH, "authentication", "%s", "401");
	cr_assert_eq(st, PD_E_AUTH);
	pd_err e = {0};
	cr_assert_eq(pd_drv_probe_end(&pr, st, &e), PD_E_AUTH);
	cr_assert_str_eq(e.field, "pbx");
	cr_assert_str_eq(e.message, "authentication failed: 401");
	cr_assert_eq(out.n_steps, 2);
	cr_assert_eq(out.failed, 1);

	c = conf("{\"tls_verify\": \"perhaps\"}");
	pd_drv_probe bad = {0};
	cr_assert_eq(pd_drv_probe_begin(&bad, &c, 2000, 500, &out), PD_E_CONFIG);
	cr_assert_eq(pd_drv_probe_end(&bad, PD_E_CONFIG, &e), PD_E_CONFIG);
	cr_assert_str_eq(out.steps[0].name, "parameters");
	cr_assert_not_null(strstr(e.message, "parameters failed: "), "%s", e.message);
}

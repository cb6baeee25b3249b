/* The stored PBX status: the heartbeat (one statement for many rows), and
 * what a row's age says (fresh, or "not monitored (last known: …)"). */
#include "fixture.h"

TestSuite(pbx_status, .init = fx_setup_open, .fini = fx_teardown);

static int64_t with_status(const char *name, pd_link_state st, int64_t at)
{
	int64_t c = fx_create(name);
	fx_add_ami_pbx_at(c, "pbx.example.net", 5038, "Pa55-word", true, false);
	pd_err e = {0};
	pd_pbx_status ps = {.customer_id = c,
	                    .link = st,
	                    .state = (char *)pd_link_state_label(st),
	                    .since = at - 5,
	                    .updated_at = at};
	cr_assert_eq(store_pbx_status_set(fx_s, &ps, &e), PD_OK, "%s", e.message);
	return c;
}

static pd_pbx_status get(int64_t c)
{
	pd_pbx_status ps = {0};
	pd_err e = {0};
	cr_assert_eq(store_pbx_status_get(fx_s, c, &ps, &e), PD_OK, "%s", e.message);
	return ps;
}

Test(pbx_status, heartbeat_touches_only_the_rows_named_and_keeps_the_rest)
{
	int64_t a = with_status("Hb A", PD_LINK_MONITORING, 1000);
	int64_t b = with_status("Hb B", PD_LINK_RETRYING, 1000);
	int64_t c = with_status("Hb C", PD_LINK_AUTH_FAILED, 1000);
	int64_t ids[] = {a, c, 999999 /* no row: ignored */};
	pd_err e = {0};
	pd_pbx_status sa = get(a);
	cr_assert(sa.monitored, "a monitor's write says it runs");
	pd_pbx_status_free(&sa);
	/* a clean stop: the time stays, monitored goes */
	cr_assert_eq(store_pbx_status_touch(fx_s, ids, 3, 1500, false, &e), PD_OK, "%s", e.message);
	sa = get(a);
	cr_assert_not(sa.monitored);
	cr_assert_eq(sa.updated_at, 1000);
	pd_pbx_status_free(&sa);
	cr_assert_eq(store_pbx_status_touch(fx_s, ids, 3, 2000, true, &e), PD_OK, "%s", e.message);
	cr_assert_eq(store_pbx_status_touch(fx_s, ids, 0, 3000, true, &e), PD_OK);
	sa = get(a);
	pd_pbx_status sb = get(b), sc = get(c);
	cr_assert(sa.monitored && sb.monitored && sc.monitored);
	cr_assert_eq(sa.updated_at, 2000);
	cr_assert_eq(sb.updated_at, 1000);
	cr_assert_eq(sc.updated_at, 2000);
	/* only the time moves: state, since, error are the monitor's to write */
	cr_assert_eq(sa.link, PD_LINK_MONITORING);
	cr_assert_eq(sa.since, 995);
	cr_assert_eq(sc.link, PD_LINK_AUTH_FAILED);
	pd_pbx_status_free(&sa);
	pd_pbx_status_free(&sb);
	pd_pbx_status_free(&sc);
}

Test(pbx_status, freshness_and_the_words_for_age)
{
	cr_assert(pd_pbx_status_fresh(true, 1000, 1000));
	cr_assert(pd_pbx_status_fresh(true, 1000, 1000 + PD_PBX_STALE_S - 1));
	cr_assert_not(pd_pbx_status_fresh(true, 1000, 1000 + PD_PBX_STALE_S));
	cr_assert_not(pd_pbx_status_fresh(false, 1000, 1000), "its monitor stopped");
	cr_assert_not(pd_pbx_status_fresh(true, 0, 5), "no row is never fresh");
	cr_assert_gt(PD_PBX_STALE_S, 2 * PD_PBX_HEARTBEAT_S, "a missed heartbeat is not stale");
	char b[96];
	const struct {
		int64_t d;
		const char *want;
	} ages[] = {{-5, "just now"},      {0, "just now"},     {42, "42 s ago"},
	            {119, "119 s ago"},    {720, "12 min ago"}, {3 * 3600, "3 h ago"},
	            {3 * 86400, "3 d ago"}};
	for (size_t i = 0; i < sizeof ages / sizeof *ages; i++) {
		pd_age_text(5000, 5000 + ages[i].d, b, sizeof b);
		cr_assert_str_eq(b, ages[i].want);
	}
	pd_pbx_stale_text("monitoring", 5000, 5000 + 720, b, sizeof b);
	cr_assert_str_eq(b, "not monitored (last known: monitoring, 12 min ago)");
}

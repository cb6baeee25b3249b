/* Keyset paging checked against a brute-force order computed here from the
 * stored records, for every sort column, both directions, every page
 * direction, with and without filter and deleted rows. */
#include "fixture.h"

#define PAGE 37

/* 2,000 customers; under valgrind (PD_TEST_SLOW) 400, still 10+ pages of
 * every kind of row: the same paths and checks, each suite setup writing
 * 2,000 rows there took most of the test's 280 s limit. */
static int n_cust(void)
{
	return fx_slow() > 1 ? 400 : 2000;
}

static pd_day g_today;

typedef struct {
	int64_t id;
	pd_customer c;
	int64_t users;
	char *hay[4];    /* folded name, reference, tenant, notes */
	pd_pbx_key pbxk; /* from the PBX connection and status row, read back */
	int64_t pbx_updated_at;
} brute;

static brute *g_all;
static size_t g_n;
static pd_sort g_sort;
static bool g_desc;

static const char *const words[] = {"Société", "Générale", "Crème", "Brûlée", "Acme",
                                    "Zèbre",   "ÉCOLE",    "école", "Alpha",  "beta",
                                    "Ørsted",  "Straße",   "Çava"};

/* A link state stored as the monitor stores it; updated_at spread over time. */
static void set_status(int64_t id, pd_link_state st, int i)
{
	pd_pbx_status ps = {.customer_id = id,
	                    .link = st,
	                    .state = (char *)pd_link_state_label(st),
	                    .last_error =
	                        st == PD_LINK_AUTH_FAILED ? (char *)"login refused" : NULL,
	                    .since = 1790000000 + i,
	                    .updated_at = 1790000100 + i};
	pd_err e = {0};
	cr_assert_eq(store_pbx_status_set(fx_s, &ps, &e), PD_OK, "%s", e.message);
}

/* Every third customer has a PBX connection: some disabled, most with a
 * stored state of every kind, some never monitored (no row). No rand(): the
 * rest of the data stays what it was. */
static void add_pbx(int64_t id, int i)
{
	if (i % 3)
		return;
	pd_pbx p = {0};
	p.platform = xstrdup("asterisk-ami");
	p.host = xstrdup("pbx.example.net");
	p.port = 5038;
	p.username = xstrdup("admin");
	p.secret = xstrdup("Pa55-word");
	p.sync_users = p.monitor = true;
	p.enabled = i % 13 != 0;
	pd_err e = {0};
	pd_status r = store_pbx_add(fx_s, id, &p, &fx_alice, &e);
	pd_pbx_free(&p);
	if (r == PD_E_INVALID)
		return; /* a product type without this platform */
	cr_assert_eq(r, PD_OK, "%s", e.message);
	int k = (i / 3) % (PD_LINK_N_STATES + 1);
	if (k < PD_LINK_N_STATES)
		set_status(id, (pd_link_state)k, i);
}

static void build(void)
{
	setenv("PROVDESK_TODAY", "2026-04-15", 1);
	g_today = pd_today();
	fx_setup();
	store_close(fx_s);
	pd_store_opts o = fx_opts();
	o.internal_systems_limit = 100000;
	pd_err e = {0};
	cr_assert_eq(store_open(fx_db, &o, &fx_s, &e), PD_OK, "%s", e.message);
	const char *products[] = {"analytics-essentials", "analytics-pro", "contact-centre"};
	const char *countries[] = {"FR", "DE", "BE", "US", "CA", "ES"};
	srand(42);
	/* One batch: the same write paths (a savepoint each), one commit. */
	cr_assert_eq(store_begin(fx_s, &e), PD_OK);
	const int n_rows = n_cust();
	for (int i = 0; i < n_rows; i++) {
		pd_new_customer n;
		char name[160];
		if (i == 0)
			snprintf(name, sizeof name, "100%% Pure_Data");
		else
			snprintf(name, sizeof name, "%s %s %d", words[rand() % 13],
			         words[rand() % 13], i);
		char email[64];
		snprintf(email, sizeof email, "admin%d@example.com", i);
		fx_new(&n, name, email);
		pd_set_str(&n.customer.product_type, products[rand() % 3]);
		memcpy(n.customer.country, countries[rand() % 6], 3);
		if (rand() % 3) {
			char ref[32];
			snprintf(ref, sizeof ref, "R-%03d",
			         rand() % 300); /* duplicates on purpose */
			n.customer.reference = xstrdup(ref);
		}
		if (rand() % 5 == 0)
			n.customer.notes = xstrdup(rand() % 2 ? "Rappeler Hélène" : "VIP customer");
		/* matches of "R-042" that are not that reference (no rand():
		 * the rest of the data stays the same) */
		if (i % 50 == 7) {
			free(n.customer.notes);
			n.customer.notes = xstrdup("ex r-042");
		}
		if (i % 111 == 5) {
			free(n.customer.reference);
			n.customer.reference = xstrdup("R-0420");
		}
		n.customer.internal_system = rand() % 17 == 0;
		n.trial_days = rand() % 4 == 0 ? 1 + rand() % 60 : 0;
		int extra = rand() % 4;
		n.n_users = (size_t)extra;
		n.users = extra ? xcalloc((size_t)extra, sizeof *n.users) : NULL;
		for (int k = 0; k < extra; k++) {
			n.users[k].display_name = xstrdup("User");
			n.users[k].email = xasprintf("u%d-%d@example.com", i, k);
			n.users[k].role = xstrdup("agent");
		}
		pd_customer c = {0};
		cr_assert_eq(store_customer_create(fx_s, &n, &fx_alice, &c, &e), PD_OK, "%s: %s",
		             name, e.message);
		add_pbx(c.id, i);
		int r = rand() % 20;
		if (r == 0)
			store_customer_set_disabled(fx_s, c.id, true, &fx_alice, &e);
		else if (r == 1)
			cr_assert_eq(store_customer_delete(fx_s, c.id, c.name, 0, &fx_alice, &e),
			             PD_OK, "%s", e.message);
		else if (r == 2 && c.trial)
			store_trial_end(fx_s, c.id, &fx_alice, &e);
		else if (r == 3 && c.trial)
			store_trial_convert(fx_s, c.id, &fx_alice, &e);
		pd_customer_free(&c);
		pd_new_customer_free(&n);
	}
	cr_assert_eq(store_commit(fx_s, &e), PD_OK, "%s", e.message);
	/* Changes after creation, each through its own path (the triggers that
	 * keep pbx_key): states replaced, connections disabled, enabled again
	 * and removed, status rows gone with their connection. */
	for (int i = 0; i < n_rows; i += 3) {
		int64_t id = i + 1;
		if (i % 9 == 0)
			set_status(id, (pd_link_state)((i / 9) % PD_LINK_N_STATES), i);
		if (i % 21 == 0)
			cr_assert_eq(store_pbx_set_enabled(fx_s, id, false, &fx_alice, &e), PD_OK,
			             "%s", e.message);
		if (i % 42 == 0)
			cr_assert_eq(store_pbx_set_enabled(fx_s, id, true, &fx_alice, &e), PD_OK);
		if (i % 51 == 0)
			cr_assert_eq(store_pbx_remove(fx_s, id, &fx_alice, &e), PD_OK, "%s",
			             e.message);
	}
	/* The brute-force copy: every record read back one by one. */
	g_all = xcalloc((size_t)n_rows, sizeof *g_all);
	g_n = 0;
	for (int64_t id = 1; id <= n_rows; id++) {
		brute *b = &g_all[g_n++];
		b->id = id;
		cr_assert_eq(store_customer_get(fx_s, id, &b->c, &e), PD_OK);
		pd_user *u;
		size_t nu;
		cr_assert_eq(store_user_list(fx_s, id, &u, &nu, &e), PD_OK);
		b->users = (int64_t)nu;
		for (size_t k = 0; k < nu; k++)
			pd_user_free(&u[k]);
		free(u);
		pd_pbx p = {0};
		pd_pbx_status ps = {0};
		bool has = store_pbx_get(fx_s, id, false, &p, &e) == PD_OK;
		bool known = has && store_pbx_status_get(fx_s, id, &ps, &e) == PD_OK;
		b->pbxk = pd_pbx_key_of(has, has && p.enabled, known, ps.link);
		b->pbx_updated_at = known ? ps.updated_at : 0;
		pd_pbx_free(&p);
		pd_pbx_status_free(&ps);
		const char *f[4] = {b->c.name, b->c.reference, b->c.tenant_id, b->c.notes};
		for (int k = 0; k < 4; k++)
			b->hay[k] = pd_fold_key(f[k] ? f[k] : "");
	}
}

static void destroy(void)
{
	for (size_t i = 0; i < g_n; i++) {
		pd_customer_free(&g_all[i].c);
		for (int k = 0; k < 4; k++)
			free(g_all[i].hay[k]);
	}
	free(g_all);
	unsetenv("PROVDESK_TODAY");
	fx_teardown();
}

TestSuite(grid, .init = build, .fini = destroy, .timeout = 280);

static int cmp_int(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

/* The order the grid promises, written from the model, not from the store's
 * columns: status order then, within trials, the later end first. */
static int cmp_brute(const void *pa, const void *pb)
{
	const brute *a = pa, *b = pb;
	int r = 0;
	char *ka, *kb;
	switch (g_sort) {
	case PD_SORT_NAME:
		ka = pd_fold_key(a->c.name);
		kb = pd_fold_key(b->c.name);
		r = strcmp(ka, kb);
		free(ka);
		free(kb);
		break;
	case PD_SORT_PRODUCT:
		r = strcmp(a->c.product_type, b->c.product_type);
		break;
	case PD_SORT_REFERENCE:
		r = strcmp(a->c.reference ? a->c.reference : "",
		           b->c.reference ? b->c.reference : "");
		break;
	case PD_SORT_COUNTRY:
		r = strcmp(a->c.country, b->c.country);
		break;
	case PD_SORT_STATUS: {
		pd_customer_status sa = pd_customer_status_of(&a->c, g_today);
		pd_customer_status sb = pd_customer_status_of(&b->c, g_today);
		int ra =
		    sa == PD_CS_TRIAL_EXPIRED ? PD_CS_TRIAL : (int)sa; /* trials: by end date */
		int rb = sb == PD_CS_TRIAL_EXPIRED ? PD_CS_TRIAL : (int)sb;
		r = cmp_int(ra, rb);
		if (!r && ra == PD_CS_TRIAL)
			r = cmp_int(b->c.trial_end, a->c.trial_end);
		break;
	}
	case PD_SORT_INTERNAL:
		r = cmp_int(a->c.internal_system, b->c.internal_system);
		break;
	case PD_SORT_USERS:
		r = cmp_int(a->users, b->users);
		break;
	case PD_SORT_CREATED:
		r = cmp_int(a->c.created_at, b->c.created_at);
		break;
	case PD_SORT_PBX: /* worst first: the order of PD_PBX_KEY_LIST */
		r = cmp_int(a->pbxk, b->pbxk);
		break;
	default:
		break;
	}
	if (!r)
		r = cmp_int(a->id, b->id);
	return g_desc ? -r : r;
}

static bool matches(const brute *b, const pd_query *q)
{
	if (!q->include_deleted && b->c.deleted_at)
		return false;
	if (q->pbx_mask && !((q->pbx_mask >> b->pbxk) & 1))
		return false;
	if (!q->filter)
		return true;
	char *f = pd_fold_key(q->filter);
	bool m = false;
	for (int k = 0; k < 4 && !m; k++)
		m = strstr(b->hay[k], f) != NULL;
	free(f);
	return m;
}

/* The reference is the filter itself (trimmed; as typed, upper or lower
 * case): such rows come first, in the sort's order. */
static bool exact_reference(const brute *b, const pd_query *q)
{
	if (!q->filter || !b->c.reference)
		return false;
	char *t = pd_trim(q->filter);
	bool hit = *t && strcmp(b->c.reference, t) == 0;
	for (int v = 0; v < 2 && !hit && *t; v++) {
		char *x = xstrdup(t);
		for (char *p = x; *p; p++)
			if (v == 0 && *p >= 'a' && *p <= 'z')
				*p = (char)(*p - 'a' + 'A');
			else if (v == 1 && *p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		hit = strcmp(b->c.reference, x) == 0;
		free(x);
	}
	free(t);
	return hit;
}

/* Expected ids for q, in display order. */
static int64_t *expected(const pd_query *q, size_t *n)
{
	g_sort = q->sort;
	g_desc = q->descending;
	brute *copy = xcalloc(g_n, sizeof *copy);
	*n = 0;
	for (size_t i = 0; i < g_n; i++)
		if (matches(&g_all[i], q))
			copy[(*n)++] = g_all[i];
	qsort(copy, *n, sizeof *copy, cmp_brute);
	int64_t *ids = xcalloc(*n + 1, sizeof *ids);
	size_t k = 0;
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < *n; i++)
			if (exact_reference(&copy[i], q) == (pass == 0))
				ids[k++] = copy[i].id;
	free(copy);
	return ids;
}

static void check_query(const pd_query *q)
{
	size_t n;
	int64_t *ids = expected(q, &n);
	pd_err e = {0};
	pd_row rows[PAGE];
	size_t got;
	const char *what = pd_sort_name(q->sort);
	int64_t count;
	cr_assert_eq(store_customer_count(fx_s, q, &count, &e), PD_OK, "%s", e.message);
	cr_assert_eq(count, (int64_t)n, "count %s desc=%d filter=%s", what, q->descending,
	             q->filter ? q->filter : "-");

	/* FIRST then AFTER until the end. */
	size_t pos = 0;
	cr_assert_eq(store_customer_page(fx_s, q, PD_PAGE_FIRST, NULL, PAGE, rows, &got, &e), PD_OK,
	             "%s", e.message);
	while (got > 0) {
		for (size_t i = 0; i < got; i++, pos++) {
			cr_assert_lt(pos, n);
			cr_assert_eq(rows[i].c.id, ids[pos],
			             "%s desc=%d filter=%s: row %zu is #%lld, expected #%lld", what,
			             q->descending, q->filter ? q->filter : "-", pos,
			             (long long)rows[i].c.id, (long long)ids[pos]);
		}
		pd_row anchor = rows[got - 1];
		rows[got - 1] = (pd_row){0};
		pd_rows_free(rows, got);
		cr_assert_eq(
		    store_customer_page(fx_s, q, PD_PAGE_AFTER, &anchor, PAGE, rows, &got, &e),
		    PD_OK);
		pd_row_free(&anchor);
	}
	cr_assert_eq(pos, n, "%s: walked %zu of %zu rows", what, pos, n);

	/* LAST then BEFORE until the start, each page in display order. */
	pos = n;
	cr_assert_eq(store_customer_page(fx_s, q, PD_PAGE_LAST, NULL, PAGE, rows, &got, &e), PD_OK);
	while (got > 0) {
		cr_assert_geq(pos, got);
		pos -= got;
		for (size_t i = 0; i < got; i++)
			cr_assert_eq(rows[i].c.id, ids[pos + i], "%s backward at %zu", what,
			             pos + i);
		pd_row anchor = rows[0];
		rows[0] = (pd_row){0};
		pd_rows_free(rows, got);
		cr_assert_eq(
		    store_customer_page(fx_s, q, PD_PAGE_BEFORE, &anchor, PAGE, rows, &got, &e),
		    PD_OK);
		pd_row_free(&anchor);
	}
	cr_assert_eq(pos, 0);

	/* FROM and position for a few rows; the anchor given by id only (as a
	 * caller that did not fetch it with this sort would). */
	for (int k = 0; k < 5 && n > 0; k++) {
		size_t at = (size_t)rand() % n;
		pd_row anchor = {0};
		anchor.c.id = ids[at];
		cr_assert_eq(store_customer_page(fx_s, q, PD_PAGE_FROM, &anchor, 3, rows, &got, &e),
		             PD_OK);
		cr_assert_eq(got, n - at < 3 ? n - at : 3);
		for (size_t i = 0; i < got; i++)
			cr_assert_eq(rows[i].c.id, ids[at + i]);
		pd_rows_free(rows, got);
		int64_t p;
		cr_assert_eq(store_customer_position(fx_s, q, &anchor, &p, &e), PD_OK);
		cr_assert_eq(p, (int64_t)at, "%s position", what);
	}
	free(ids);
}

Test(grid, every_sort_both_directions_matches_brute_force)
{
	for (int sort = 0; sort < PD_SORT__COUNT; sort++)
		for (int desc = 0; desc < 2; desc++)
			for (int variant = 0; variant < 4; variant++) {
				pd_query q = {
				    .sort = (pd_sort)sort, .descending = desc, .today = g_today};
				if (variant == 1)
					q.include_deleted = true;
				if (variant == 2)
					q.filter = "ecole";
				if (variant == 3) /* an exact reference comes first */
					q.filter = "r-042";
				check_query(&q);
			}
}

/* The PBX filter alone, with the text filter (every path of it) and with
 * deleted rows, in the "pbx" sort and others. */
Test(grid, pbx_filter_matches_brute_force)
{
	const char *pw[] = {
	    "down", "up", "failing", "none", "not-started", "retrying,disabled", "auth-failed"};
	const char *texts[] = {NULL, "ecole", "r-042", "so"};
	const pd_sort sorts[] = {PD_SORT_PBX, PD_SORT_NAME, PD_SORT_USERS};
	/* every word with every text filter, the sort and direction rotating
	 * (each check walks every page both ways: valgrind runs this too) */
	for (size_t w = 0; w < sizeof pw / sizeof *pw; w++)
		for (size_t t = 0; t < sizeof texts / sizeof *texts; t++) {
			pd_query q = {.sort = sorts[(w + t) % 3],
			              .descending = (w / 3 + t) % 2,
			              .filter = texts[t],
			              .include_deleted = t == 3,
			              .today = g_today};
			cr_assert(pd_pbx_filter_parse(pw[w], &q.pbx_mask), "%s", pw[w]);
			check_query(&q);
		}
}

static void reopen_with_budget(const char *budget)
{
	store_close(fx_s);
	setenv("PROVDESK_GRID_SCAN_BUDGET", budget, 1);
	pd_store_opts o = fx_opts();
	o.internal_systems_limit = 100000;
	pd_err e = {0};
	cr_assert_eq(store_open(fx_db, &o, &fx_s, &e), PD_OK, "%s", e.message);
	unsetenv("PROVDESK_GRID_SCAN_BUDGET");
}

static void check_filters_all_sorts(void)
{
	const char *filters[] = {"ecole", "so", "é", "r-01", "0% p", "_d", "R-117 ", "r-2"};
	for (size_t f = 0; f < sizeof filters / sizeof *filters; f++)
		for (int sort = 0; sort < PD_SORT__COUNT; sort += 3)
			for (int desc = 0; desc < 2; desc++) {
				pd_query q = {.sort = (pd_sort)sort,
				              .descending = desc,
				              .filter = filters[f],
				              .include_deleted = f % 2,
				              .today = g_today};
				check_query(&q);
			}
}

/* The bounded paths (trigram index for 3+ characters, id set below) give
 * exactly what the early-stopping scan gives. */
Test(grid, filter_fallback_paths_match_brute_force)
{
	reopen_with_budget("-1"); /* never scan: always the bounded path */
	check_filters_all_sorts();
	reopen_with_budget("1000000"); /* always the scan */
	check_filters_all_sorts();
}

Test(grid, filter_is_case_and_accent_insensitive)
{
	const char *filters[] = {"SOCIETE", "société", "crème brûlée", "ORSTED", "strasse", "R-01",
	                         "rappeler helene", "0% p", "_d", "%", "zzzz-nothing",
	                         /* FTS5 query syntax must stay literal text */
	                         "\"x\"", "a*b", "NEAR(", " OR ", "ga\"", "é"};
	for (size_t i = 0; i < sizeof filters / sizeof *filters; i++) {
		pd_query q = {.sort = PD_SORT_NAME, .filter = filters[i], .today = g_today};
		check_query(&q);
	}
	/* Concrete checks, not only agreement with the brute force. */
	pd_query q = {.sort = PD_SORT_NAME, .filter = "0% p", .today = g_today};
	pd_row rows[4];
	size_t got;
	cr_assert_eq(store_customer_page(fx_s, &q, PD_PAGE_FIRST, NULL, 4, rows, &got, NULL),
	             PD_OK);
	cr_assert_eq(got, 1, "LIKE wildcards in the filter must be literal");
	cr_assert_str_eq(rows[0].c.name, "100% Pure_Data");
	pd_rows_free(rows, got);
	q.filter = g_all[5].c.tenant_id + 9; /* part of a tenant id */
	cr_assert_eq(store_customer_page(fx_s, &q, PD_PAGE_FIRST, NULL, 4, rows, &got, NULL),
	             PD_OK);
	cr_assert_eq(got, 1);
	cr_assert_eq(rows[0].c.id, g_all[5].id);
	pd_rows_free(rows, got);
}

Test(grid, rows_carry_status_users_and_days_left)
{
	pd_query q = {.sort = PD_SORT_STATUS, .today = g_today};
	pd_row rows[PAGE];
	size_t got;
	cr_assert_eq(store_customer_page(fx_s, &q, PD_PAGE_FIRST, NULL, PAGE, rows, &got, NULL),
	             PD_OK);
	for (size_t i = 0; i < got; i++) {
		brute *b = &g_all[rows[i].c.id - 1];
		cr_assert_eq(rows[i].status, pd_customer_status_of(&b->c, g_today));
		cr_assert_eq(rows[i].n_users, b->users);
		if (b->c.trial)
			cr_assert_eq(rows[i].trial_days_left, b->c.trial_end - g_today);
		cr_assert_eq(rows[i].pbx_key, b->pbxk);
		cr_assert_eq(rows[i].pbx_updated_at, b->pbx_updated_at);
		cr_assert_eq(rows[i].pbx_state == NULL, b->pbxk == PD_PBXK_NONE);
	}
	pd_rows_free(rows, got);
}

Test(grid, counts_match_the_records)
{
	pd_counts want = {0}, got;
	for (size_t i = 0; i < g_n; i++) {
		const pd_customer *c = &g_all[i].c;
		pd_customer_status st = pd_customer_status_of(c, g_today);
		if (st == PD_CS_DELETED) {
			want.deleted++;
			continue;
		}
		want.total++;
		want.internal += c->internal_system;
		if (st == PD_CS_ACTIVE)
			want.active++;
		if (st == PD_CS_TRIAL)
			want.trial++;
		if (st == PD_CS_TRIAL && c->trial_end - g_today < 7)
			want.trial_expiring++;
		if (st == PD_CS_TRIAL_EXPIRED)
			want.trial_expired++;
		if (st == PD_CS_DISABLED)
			want.disabled++;
	}
	cr_assert_eq(store_customer_counts(fx_s, g_today, &got, NULL), PD_OK);
	cr_assert_eq(got.total, want.total);
	cr_assert_eq(got.active, want.active);
	cr_assert_eq(got.trial, want.trial);
	cr_assert_eq(got.trial_expiring, want.trial_expiring);
	cr_assert_eq(got.trial_expired, want.trial_expired);
	cr_assert_eq(got.disabled, want.disabled);
	cr_assert_eq(got.deleted, want.deleted);
	cr_assert_eq(got.internal, want.internal);
	cr_assert_gt(want.deleted, 0);
	cr_assert_gt(want.trial_expired, 0);
	cr_assert_gt(want.disabled, 0);
}

Test(grid, sort_names_round_trip)
{
	for (int i = 0; i < PD_SORT__COUNT; i++) {
		pd_sort s;
		cr_assert(pd_sort_parse(pd_sort_name((pd_sort)i), &s));
		cr_assert_eq((int)s, i);
	}
	pd_sort s;
	cr_assert_not(pd_sort_parse("bogus", &s));
}

/* Typing a customer's reference puts it first whatever the sort: the rows
 * with that exact reference, then the other matches ("R-1234" is also in
 * "R-12345" and in notes). */
Test(grid, exact_reference_sorts_first)
{
	pd_query q = {.sort = PD_SORT_NAME, .filter = "R-042", .today = g_today};
	size_t n;
	int64_t *ids = expected(&q, &n);
	pd_err e = {0};
	pd_row rows[PAGE];
	size_t got;
	cr_assert_eq(store_customer_page(fx_s, &q, PD_PAGE_FIRST, NULL, PAGE, rows, &got, &e),
	             PD_OK, "%s", e.message);
	cr_assert_gt(got, 1);
	cr_assert_str_eq(rows[0].c.reference, "R-042");
	bool seen_other = false, exact_seen = false;
	for (size_t i = 0; i < got; i++) {
		bool exact = rows[i].c.reference && !strcmp(rows[i].c.reference, "R-042");
		cr_assert(!(exact && seen_other), "an exact reference after another match");
		seen_other = seen_other || !exact;
		exact_seen = exact_seen || exact;
		cr_assert_eq(rows[i].c.id, ids[i]);
	}
	cr_assert(exact_seen && seen_other, "the data has both kinds of match");
	pd_rows_free(rows, got);
	free(ids);
}

/* The "pbx" sort puts the worst first and the data has every kind. */
Test(grid, pbx_sort_puts_failing_links_first)
{
	pd_query q = {.sort = PD_SORT_PBX, .today = g_today};
	pd_row rows[PAGE];
	size_t got;
	pd_err e = {0};
	cr_assert_eq(store_customer_page(fx_s, &q, PD_PAGE_FIRST, NULL, PAGE, rows, &got, &e),
	             PD_OK, "%s", e.message);
	cr_assert_gt(got, 1);
	cr_assert_eq(rows[0].pbx_key, PD_PBXK_AUTH_FAILED);
	cr_assert(rows[0].pbx_link_known && rows[0].pbx_link == PD_LINK_AUTH_FAILED);
	cr_assert_str_eq(rows[0].pbx_error, "login refused");
	cr_assert_gt(rows[0].pbx_since, 0);
	pd_rows_free(rows, got);
	int seen[PD_PBXK_NONE + 1] = {0};
	for (size_t i = 0; i < g_n; i++)
		if (!g_all[i].c.deleted_at)
			seen[g_all[i].pbxk]++;
	for (int k = PD_PBXK_AUTH_FAILED; k <= PD_PBXK_NONE; k++)
		cr_assert_gt(seen[k], 0, "no live customer with PBX key %s",
		             pd_pbx_key_name((pd_pbx_key)k));
}

Test(grid, pbx_filter_words)
{
	uint32_t m;
	cr_assert(pd_pbx_filter_parse("up", &m));
	cr_assert_eq(m, 1u << PD_PBXK_MONITORING);
	cr_assert(pd_pbx_filter_parse("none,disabled", &m));
	cr_assert_eq(m, (1u << PD_PBXK_NONE) | (1u << PD_PBXK_DISABLED));
	cr_assert(pd_pbx_filter_parse("failing", &m));
	cr_assert_eq(m, (1u << PD_PBXK_AUTH_FAILED) | (1u << PD_PBXK_PROTOCOL_ERROR) |
	                    (1u << PD_PBXK_CONFIG_ERROR));
	cr_assert(pd_pbx_filter_parse("down", &m));
	cr_assert(!(m & (1u << PD_PBXK_MONITORING)) && !(m & (1u << PD_PBXK_DISABLED)) &&
	          !(m & (1u << PD_PBXK_NONE)));
	cr_assert(m & (1u << PD_PBXK_NOT_STARTED) && m & (1u << PD_PBXK_RETRYING));
	const char *bad[] = {"", "bogus", "down,", ",up", "UP", "down,,up", "monitoring x"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		m = 7;
		cr_assert_not(pd_pbx_filter_parse(bad[i], &m), "'%s'", bad[i]);
		cr_assert_eq(m, 0);
	}
	cr_assert_not(pd_pbx_filter_parse(NULL, &m));
	pd_query q = {.sort = PD_SORT_PBX, .pbx_mask = 1u << 20, .today = g_today};
	int64_t n;
	pd_err e = {0};
	cr_assert_eq(store_customer_count(fx_s, &q, &n, &e), PD_E_USAGE);
	cr_assert_str_eq(e.field, "pbx");
}

/* ---- the filter in memory (the console's filter worker) ---- */

/* The worker's own connection: its index sees other connections' commits
 * through PRAGMA data_version, as in the console. */
static pd_store *worker_store(void)
{
	pd_store_opts o = fx_opts();
	o.internal_systems_limit = 100000;
	o.read_only = true;
	pd_store *w = NULL;
	pd_err e = {0};
	cr_assert_eq(store_open(fx_db, &o, &w, &e), PD_OK, "%s", e.message);
	return w;
}

/* The in-memory first page and count are exactly those of the SQL
 * (store_customer_page FIRST, store_customer_count) for q. */
static void same_as_sql(pd_store *w, pd_filter_index *ix, const pd_query *q, size_t limit)
{
	pd_row old[PAGE], now[PAGE];
	size_t n_old = 0, n_now = 0;
	int64_t c_old = -1, c_now = -2;
	pd_err e = {0};
	cr_assert_eq(store_customer_page(fx_s, q, PD_PAGE_FIRST, NULL, limit, old, &n_old, &e),
	             PD_OK, "%s", e.message);
	cr_assert_eq(store_customer_count(fx_s, q, &c_old, &e), PD_OK, "%s", e.message);
	cr_assert_eq(store_filter_first_page(w, ix, q, limit, now, &n_now, &c_now, NULL, NULL, &e),
	             PD_OK, "%s", e.message);
	const char *f = q->filter ? q->filter : "(none)";
	cr_assert_eq(c_now, c_old, "count of \"%s\" sort %d desc %d deleted %d pbx %#x", f,
	             (int)q->sort, q->descending, q->include_deleted, (unsigned)q->pbx_mask);
	cr_assert_eq(n_now, n_old, "rows of \"%s\" sort %d desc %d", f, (int)q->sort,
	             q->descending);
	for (size_t i = 0; i < n_old; i++) {
		cr_assert_eq(now[i].c.id, old[i].c.id, "row %zu of \"%s\" sort %d desc %d", i, f,
		             (int)q->sort, q->descending);
		cr_assert_eq(now[i].status, old[i].status);
		cr_assert_eq(now[i].n_users, old[i].n_users);
		cr_assert_eq(now[i].pbx_key, old[i].pbx_key);
		cr_assert_eq(now[i].sort_ival, old[i].sort_ival);
		cr_assert_str_eq(now[i].sort_sval ? now[i].sort_sval : "",
		                 old[i].sort_sval ? old[i].sort_sval : "");
		cr_assert_str_eq(now[i].c.name, old[i].c.name);
	}
	pd_rows_free(old, n_old);
	pd_rows_free(now, n_now);
}

/* Filters of 1 to 6 characters (and longer ones) cut from the stored names, references,
 * tenant ids and notes (as typed: any case, accents), and the odd ones:
 * LIKE's wildcards, spaces, a pinned reference, no match, pbx: words. */
Test(grid, filter_in_memory_matches_the_sql)
{
	pd_store *w = worker_store();
	pd_filter_index *ix = store_filter_index_new();
	const char *fixed[] = {NULL,     "",       " ",    "so",  "é",       "R-042", "r-042",
	                       "R-0420", "0% p",   "_d",   "%",   "\\",      "zzzz",  "ECOLE",
	                       "Straße", "ørsted", "ex r", "vip", " R-117 ", "r-2",   "e b",
	                       "a",      "1",      "-",    "@",   "Hélène"};
	size_t nf = sizeof fixed / sizeof *fixed;
	srand(7);
	int checked = 0;
	/* then 60 longer ones (8 to 37 bytes: whole tenant ids and names), which
	 * the search compares 16 positions at a time across block edges */
	for (size_t k = 0; k < nf + 220; k++) {
		char buf[64];
		const char *filter;
		if (k < nf) {
			filter = fixed[k];
		} else {
			const brute *b = &g_all[(size_t)rand() % g_n];
			const char *src[] = {b->c.name, b->c.reference, b->c.tenant_id, b->c.notes};
			const char *t = src[rand() % 4];
			if (!t || !*t)
				t = b->c.name;
			size_t len = strlen(t);
			size_t want =
			    k < nf + 160 ? 1 + (size_t)rand() % 6 : 8 + (size_t)rand() % 30;
			size_t at = len > want ? (size_t)rand() % (len - want + 1) : 0;
			/* whole UTF-8 characters only, as the console types them */
			while (at > 0 && (t[at] & 0xC0) == 0x80)
				at--;
			size_t end = at + want < len ? at + want : len;
			while (end < len && (t[end] & 0xC0) == 0x80)
				end++;
			snprintf(buf, sizeof buf, "%.*s", (int)(end - at), t + at);
			filter = buf;
		}
		pd_query q = {.sort = (pd_sort)(k % PD_SORT__COUNT),
		              .descending = (k / 3) % 2,
		              .filter = filter,
		              .include_deleted = (k / 5) % 2,
		              .today = g_today};
		if (k % 7 == 3)
			cr_assert(pd_pbx_filter_parse(k % 2 ? "down" : "up,none", &q.pbx_mask));
		same_as_sql(w, ix, &q, PAGE);
		same_as_sql(w, ix, &q, 1 + k % 5); /* a page shorter than the pinned rows */
		checked++;
	}
	cr_assert_gt(checked, 210);
	cr_assert_gt(store_filter_index_bytes(ix), 0);
	store_filter_index_free(ix);
	store_close(w);
}

/* Another connection's change reaches the index (PRAGMA data_version):
 * a renamed customer is found by its new name and no longer by its old. */
Test(grid, filter_in_memory_follows_other_connections)
{
	pd_store *w = worker_store();
	pd_filter_index *ix = store_filter_index_new();
	pd_query q = {.sort = PD_SORT_NAME, .filter = "Quetzalcoatl", .today = g_today};
	same_as_sql(w, ix, &q, PAGE);
	pd_customer c = {0};
	pd_err e = {0};
	cr_assert_eq(store_customer_get(fx_s, 5, &c, &e), PD_OK, "%s", e.message);
	char *old = xstrdup(c.name);
	pd_set_str(&c.name, "Quetzalcoatl Transports");
	cr_assert_eq(store_customer_update(fx_s, &c, &fx_alice, NULL, NULL, &e), PD_OK, "%s",
	             e.message);
	pd_row r[PAGE];
	size_t n = 0;
	int64_t total = 0;
	cr_assert_eq(store_filter_first_page(w, ix, &q, PAGE, r, &n, &total, NULL, NULL, &e),
	             PD_OK);
	cr_assert_eq(total, 1);
	cr_assert_eq(n, 1);
	cr_assert_eq(r[0].c.id, 5);
	pd_rows_free(r, n);
	same_as_sql(w, ix, &q, PAGE);
	q.filter = old;
	same_as_sql(w, ix, &q, PAGE);
	/* back as it was for the other tests */
	pd_customer_free(&c);
	cr_assert_eq(store_customer_get(fx_s, 5, &c, &e), PD_OK);
	pd_set_str(&c.name, old);
	cr_assert_eq(store_customer_update(fx_s, &c, &fx_alice, NULL, NULL, &e), PD_OK, "%s",
	             e.message);
	pd_customer_free(&c);
	free(old);
	store_filter_index_free(ix);
	store_close(w);
}

static bool cancel_always(void *arg)
{
	(void)arg;
	return true;
}

/* A cancelled call returns no rows and says so; the next one answers. */
Test(grid, filter_in_memory_cancel)
{
	pd_store *w = worker_store();
	pd_filter_index *ix = store_filter_index_new();
	pd_query q = {.sort = PD_SORT_NAME, .filter = "e", .today = g_today};
	pd_row r[PAGE];
	size_t n = 7;
	int64_t total = 7;
	pd_err e = {0};
	cr_assert_eq(
	    store_filter_first_page(w, ix, &q, PAGE, r, &n, &total, cancel_always, NULL, &e),
	    PD_E_TEMPFAIL);
	cr_assert_eq(n, 0);
	cr_assert_eq(total, 0);
	pd_err_clear(&e);
	same_as_sql(w, ix, &q, PAGE);
	store_filter_index_free(ix);
	store_close(w);
}

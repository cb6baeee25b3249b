/* Users and roles, PBX records and templates, the user sync, the outbox,
 * the billing export and drafts, on a real database file. */
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>

#include "fixture.h"

TestSuite(users, .init = fx_setup_open, .fini = fx_teardown);

static pd_user console_user(const char *name, const char *email, const char *role)
{
	pd_user u = {0};
	u.display_name = xstrdup(name);
	u.email = xstrdup(email);
	u.role = xstrdup(role);
	return u;
}

static int64_t admin_of(int64_t cid)
{
	pd_user u = {0};
	cr_assert_eq(store_user_find(fx_s, cid, "admin@example.com", &u, NULL), PD_OK);
	int64_t id = u.id;
	pd_user_free(&u);
	return id;
}

Test(users, add_unique_email_per_customer_and_invitation)
{
	int64_t a = fx_create("Customer A"), b = fx_create("Customer B");
	pd_err e = {0};
	pd_user u = console_user("Hélène", "helene@example.com", "supervisor"), out = {0};
	cr_assert_eq(store_user_add(fx_s, a, &u, &fx_alice, &out, &e), PD_OK, "%s", e.message);
	cr_assert_str_eq(out.role, "supervisor");
	cr_assert_eq(out.invite, PD_INVITE_QUEUED);
	pd_user_free(&out);
	pd_user_free(&u);
	/* Same email folded in the same customer: refused; in another: fine. */
	u = console_user("Other", "HELENE@example.com", NULL);
	cr_assert_eq(store_user_add(fx_s, a, &u, &fx_alice, NULL, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "email");
	cr_assert(strstr(e.message, "Hélène"), "%s", e.message);
	cr_assert_eq(store_user_add(fx_s, b, &u, &fx_alice, NULL, &e), PD_OK, "%s", e.message);
	pd_user_free(&u);
	/* Bad input is refused by the core rules with the field named. */
	u = console_user("X", "not-an-email", NULL);
	cr_assert_eq(store_user_add(fx_s, a, &u, &fx_alice, NULL, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "email");
	pd_user_free(&u);
	u = console_user("X", "x@example.com", "overlord");
	cr_assert_eq(store_user_add(fx_s, a, &u, &fx_alice, NULL, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "role");
	pd_user_free(&u);
	cr_assert_eq(fx_scalar(NULL, "SELECT n_users FROM customers WHERE name = 'Customer A'"), 2);
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM outbox"), 4);
}

Test(users, removing_a_user_cancels_its_waiting_invitation)
{
	int64_t c = fx_create("Customer R");
	pd_err e = {0};
	pd_user u = console_user("Rémi", "remi@example.com", "agent"), out = {0};
	cr_assert_eq(store_user_add(fx_s, c, &u, &fx_alice, &out, &e), PD_OK, "%s", e.message);
	cr_assert_eq(store_user_remove(fx_s, out.id, &fx_alice, &e), PD_OK, "%s", e.message);
	pd_outbox *v = NULL;
	size_t n = 0;
	cr_assert_eq(store_outbox_list(fx_s, c, &v, &n, &e), PD_OK);
	int remi = 0;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i].to_addr, "remi@example.com"))
			continue;
		remi++;
		cr_assert_eq(v[i].state, PD_INVITE_CANCELLED,
		             "the removed user's invitation is not sent");
		cr_assert_str_eq(v[i].last_error, "user removed before it was sent");
	}
	cr_assert_eq(remi, 1);
	pd_outbox pending = {0};
	while (store_outbox_next_due(fx_s, INT64_MAX, &pending, NULL) == PD_OK) {
		cr_assert_str_neq(pending.to_addr, "remi@example.com");
		cr_assert_eq(store_outbox_mark_sent(fx_s, pending.id, 1, NULL), PD_OK);
		pd_outbox_free(&pending);
		memset(&pending, 0, sizeof pending);
	}
	pd_outboxes_free(v, n);
	pd_user_free(&u);
	pd_user_free(&out);
}

Test(users, roles_and_the_primary_admin)
{
	int64_t c = fx_create("Roles Inc");
	pd_err e = {0};
	int64_t admin = admin_of(c);
	cr_assert_eq(store_role_assign(fx_s, admin, "agent", &fx_alice, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "role");
	cr_assert_eq(store_role_assign(fx_s, admin, NULL, &fx_alice, &e), PD_E_INVALID);
	cr_assert_eq(store_user_remove(fx_s, admin, &fx_alice, &e), PD_E_INVALID);
	pd_user u = console_user("Agent", "agent@example.com", NULL), out = {0};
	cr_assert_eq(store_user_add(fx_s, c, &u, &fx_alice, &out, &e), PD_OK);
	cr_assert_null(out.role);
	cr_assert_eq(store_role_assign(fx_s, out.id, "nonexistent", &fx_alice, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "role");
	cr_assert_eq(store_role_assign(fx_s, out.id, "reporting", &fx_alice, &e), PD_OK, "%s",
	             e.message);
	pd_user got = {0};
	cr_assert_eq(store_user_get(fx_s, out.id, &got, &e), PD_OK);
	cr_assert_str_eq(got.role, "reporting");
	pd_user_free(&got);
	cr_assert_eq(store_role_assign(fx_s, out.id, "", &fx_alice, &e), PD_OK);
	cr_assert_eq(store_user_get(fx_s, out.id, &got, &e), PD_OK);
	cr_assert_null(got.role, "no role: kept, without access");
	/* Update with the version; a stale one conflicts. */
	pd_set_str(&got.display_name, "Agent Renamed");
	cr_assert_eq(store_user_update(fx_s, &got, &fx_alice, &e), PD_OK, "%s", e.message);
	cr_assert_eq(store_user_update(fx_s, &got, &fx_bob, &e), PD_E_CONFLICT);
	pd_user_free(&got);
	pd_audit *a;
	size_t na;
	cr_assert_eq(store_audit_list(fx_s, c, 0, &a, &na, &e), PD_OK);
	bool saw = false;
	for (size_t i = 0; i < na; i++)
		saw |= !strcmp(a[i].object, "role") &&
		       strstr(a[i].detail, "role: \"reporting\" → ∅") != NULL;
	cr_assert(saw, "role change audited");
	pd_audits_free(a, na);
	cr_assert_eq(store_user_remove(fx_s, out.id, &fx_alice, &e), PD_OK);
	cr_assert_eq(fx_scalar(NULL, "SELECT n_users FROM customers"), 1);
	pd_user_free(&out);
	pd_user_free(&u);
}

static pd_pbx ami(void)
{
	pd_pbx p = {0};
	p.platform = xstrdup("asterisk-ami");
	p.host = xstrdup("pbx.example");
	p.port = 5038;
	p.username = xstrdup("admin");
	p.secret = xstrdup("Pa55-word");
	p.sync_users = p.monitor = p.enabled = true;
	return p;
}

Test(users, pbx_one_per_customer_secret_auto_provision_generation)
{
	int64_t c = fx_create("PBX Owner");
	pd_err e = {0};
	int64_t g0, g1;
	cr_assert_eq(store_pbx_generation(fx_s, &g0, &e), PD_OK);
	pd_pbx p = ami();
	p.auto_provision = true;
	p.enabled = false;
	cr_assert_eq(store_pbx_add(fx_s, c, &p, &fx_alice, &e), PD_OK, "%s", e.message);
	pd_pbx_free(&p);
	p = ami();
	cr_assert_eq(store_pbx_add(fx_s, c, &p, &fx_alice, &e), PD_E_INVALID,
	             "only one per customer");
	pd_pbx_free(&p);
	cr_assert_eq(store_pbx_generation(fx_s, &g1, &e), PD_OK);
	cr_assert_gt(g1, g0);

	pd_pbx got = {0};
	cr_assert_eq(store_pbx_get(fx_s, c, false, &got, &e), PD_OK);
	cr_assert_null(got.secret);
	cr_assert_not(got.enabled);
	got.auto_provision = false;
	cr_assert_eq(store_pbx_update(fx_s, &got, &fx_alice, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "auto_provision_sub_accounts");
	got.auto_provision = true;
	got.port = 5039;
	cr_assert_eq(store_pbx_update(fx_s, &got, &fx_alice, &e), PD_OK, "%s", e.message);
	cr_assert_eq(store_pbx_update(fx_s, &got, &fx_alice, &e), PD_E_CONFLICT, "stale version");
	pd_pbx_free(&got);
	/* A NULL secret on update kept the stored one. */
	cr_assert_eq(store_pbx_get(fx_s, c, true, &got, &e), PD_OK);
	cr_assert_str_eq(got.secret, "Pa55-word");
	cr_assert_eq(got.port, 5039);
	pd_pbx_free(&got);

	cr_assert_eq(store_pbx_set_enabled(fx_s, c, true, &fx_alice, &e), PD_OK);
	pd_pbx *all;
	size_t n;
	cr_assert_eq(store_pbx_list_all(fx_s, true, &all, &n, &e), PD_OK);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(all[0].secret, "Pa55-word");
	pd_pbx_free(&all[0]);
	free(all);

	pd_pbx_status st = {.customer_id = c,
	                    .link = PD_LINK_MONITORING,
	                    .state = "monitoring",
	                    .live_calls = 3,
	                    .agents_available = 2,
	                    .agents_logged_on = 5};
	cr_assert_eq(store_pbx_status_set(fx_s, &st, &e), PD_OK, "%s", e.message);
	pd_pbx_status rs;
	cr_assert_eq(store_pbx_status_get(fx_s, c, &rs, &e), PD_OK);
	cr_assert_str_eq(rs.state, "monitoring");
	cr_assert_eq(rs.link, PD_LINK_MONITORING);
	cr_assert_neq(rs.since, 0);
	cr_assert_eq(rs.live_calls, 3);
	pd_pbx_status_free(&rs);
	pd_query q = {.sort = PD_SORT_NAME};
	pd_row row;
	size_t got_n;
	cr_assert_eq(store_customer_page(fx_s, &q, PD_PAGE_FIRST, NULL, 1, &row, &got_n, &e),
	             PD_OK);
	cr_assert_str_eq(row.pbx_state, "monitoring");
	cr_assert(row.pbx_link_known);
	cr_assert_eq(row.pbx_link, PD_LINK_MONITORING);
	pd_row_free(&row);

	pd_pbx_counts pc;
	cr_assert_eq(store_pbx_counts(fx_s, &pc, &e), PD_OK, "%s", e.message);
	cr_assert_eq(pc.links, 1);
	cr_assert_eq(pc.by_link[PD_LINK_MONITORING], 1);
	cr_assert_eq(pc.live_calls, 3);
	cr_assert_eq(pc.agents_logged_on, 5);
	/* counted by the stored key, whatever the text says */
	st.link = PD_LINK_PROTOCOL_ERROR;
	st.state = "retrying in 8s";
	cr_assert_eq(store_pbx_status_set(fx_s, &st, &e), PD_OK, "%s", e.message);
	cr_assert_eq(store_pbx_counts(fx_s, &pc, &e), PD_OK);
	cr_assert_eq(pc.by_link[PD_LINK_MONITORING], 0);
	cr_assert_eq(pc.by_link[PD_LINK_RETRYING], 0);
	cr_assert_eq(pc.by_link[PD_LINK_PROTOCOL_ERROR], 1);
	cr_assert_eq(store_pbx_status_get(fx_s, c, &rs, &e), PD_OK);
	cr_assert_eq(rs.link, PD_LINK_PROTOCOL_ERROR);
	pd_pbx_status_free(&rs);
	/* every state round-trips through the column's CHECK; others are refused */
	for (int k = 0; k < PD_LINK_N_STATES; k++) {
		st.link = (pd_link_state)k;
		cr_assert_eq(store_pbx_status_set(fx_s, &st, &e), PD_OK, "%s: %s",
		             pd_link_state_name(st.link), e.message);
		cr_assert_eq(store_pbx_status_get(fx_s, c, &rs, &e), PD_OK);
		cr_assert_eq(rs.link, (pd_link_state)k);
		pd_pbx_status_free(&rs);
	}
	st.link = PD_LINK_N_STATES;
	cr_assert_eq(store_pbx_status_set(fx_s, &st, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "link");
	sqlite3 *db;
	cr_assert_eq(sqlite3_open(fx_db, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	cr_assert_eq(sqlite3_exec(db, "UPDATE pbx_status SET link = 'up'", 0, 0, 0),
	             SQLITE_CONSTRAINT, "the column's CHECK refuses an unknown key");
	sqlite3_close(db);
	st.link = PD_LINK_MONITORING;
	cr_assert_eq(store_pbx_status_set(fx_s, &st, &e), PD_OK, "%s", e.message);
	cr_assert_eq(store_pbx_set_enabled(fx_s, c, false, &fx_alice, &e), PD_OK);
	cr_assert_eq(store_pbx_counts(fx_s, &pc, &e), PD_OK);
	cr_assert_eq(pc.disabled, 1);
	cr_assert_eq(pc.by_link[PD_LINK_MONITORING], 0);
	cr_assert_eq(store_pbx_set_enabled(fx_s, c, true, &fx_alice, &e), PD_OK);

	/* Deleted customers drop out of the monitor's set. */
	cr_assert_eq(store_customer_delete(fx_s, c, "pbx owner", 0, &fx_alice, &e), PD_OK);
	cr_assert_eq(store_pbx_list_all(fx_s, false, &all, &n, &e), PD_OK);
	cr_assert_eq(n, 0);
	free(all);
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM audit WHERE detail LIKE '%Pa55%'"), 0);
}

Test(users, pbx_platform_must_suit_the_product_type)
{
	pd_err e = {0};
	pd_new_customer n;
	fx_new(&n, "Compliance", NULL);
	pd_set_str(&n.customer.product_type, "compliance-recording");
	pd_customer c = {0};
	cr_assert_eq(store_customer_create(fx_s, &n, &fx_alice, &c, &e), PD_OK, "%s", e.message);
	pd_pbx p = ami();
	pd_set_str(&p.platform, "freeswitch-esl");
	pd_set_str(&p.username, NULL);
	pd_status r = store_pbx_add(fx_s, c.id, &p, &fx_alice, &e);
	cr_assert_eq(r, PD_E_INVALID);
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM pbx"), 0);
	pd_pbx_free(&p);
	pd_customer_free(&c);
	pd_new_customer_free(&n);
}

Test(users, templates)
{
	pd_err e = {0};
	pd_template t = {0};
	t.name = xstrdup("lab");
	t.platform = xstrdup("asterisk-ami");
	t.host = xstrdup("127.0.0.1");
	t.port = 5038;
	t.username = xstrdup("admin");
	cr_assert_eq(store_template_save(fx_s, &t, &fx_alice, &e), PD_OK, "%s", e.message);
	cr_assert_eq(t.version, 1);
	pd_set_str(&t.host, "10.0.0.1");
	cr_assert_eq(store_template_save(fx_s, &t, &fx_alice, &e), PD_OK, "%s", e.message);
	cr_assert_eq(t.version, 2);
	t.version = 1;
	cr_assert_eq(store_template_save(fx_s, &t, &fx_bob, &e), PD_E_CONFLICT);
	pd_template g = {0};
	cr_assert_eq(store_template_get(fx_s, "lab", &g, &e), PD_OK);
	cr_assert_str_eq(g.host, "10.0.0.1");
	pd_template_free(&g);
	pd_template *all;
	size_t n;
	cr_assert_eq(store_template_list(fx_s, &all, &n, &e), PD_OK);
	cr_assert_eq(n, 1);
	pd_template_free(&all[0]);
	free(all);
	cr_assert_eq(store_template_delete(fx_s, "lab", &fx_alice, &e), PD_OK);
	cr_assert_eq(store_template_delete(fx_s, "lab", &fx_alice, &e), PD_E_NOTFOUND);
	cr_assert_eq(store_template_get(fx_s, "lab", &g, &e), PD_E_NOTFOUND);
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM audit WHERE object = 'template'"), 3);
	pd_template_free(&t);
}

static pd_synced_user su(const char *ep, const char *name, const char *email, const char *sub)
{
	pd_synced_user u = {ep, name, email, sub, "idle"};
	return u;
}

Test(users, sync_diff_links_and_writes_nothing_when_unchanged)
{
	int64_t c = fx_create("Synced");
	pd_err e = {0};
	pd_user cu = console_user("Hélène Console", "helene@example.com", "agent");
	cr_assert_eq(store_user_add(fx_s, c, &cu, &fx_alice, NULL, &e), PD_OK);
	pd_user_free(&cu);

	pd_synced_user v1[] = {su("1001", "Alice", NULL, "sales"), su("1002", "Bob", NULL, "sales"),
	                       su("1003", "Hélène", "HELENE@example.com", "support")};
	pd_sync_result r;
	cr_assert_eq(store_sync_users(fx_s, c, v1, 3, true, &r, &e), PD_OK, "%s", e.message);
	cr_assert_eq(r.added, 3);
	cr_assert_eq(r.sub_accounts_added, 2);
	cr_assert_eq(fx_scalar(NULL, "SELECT n_users FROM customers"), 5);

	pd_user found = {0};
	cr_assert_eq(store_user_find(fx_s, c, "1003", &found, &e), PD_OK);
	cr_assert(found.synced);
	cr_assert_neq(found.linked_user_id, 0, "linked to the console user by folded email");
	pd_user console = {0};
	cr_assert_eq(store_user_get(fx_s, found.linked_user_id, &console, &e), PD_OK);
	cr_assert_str_eq(console.display_name, "Hélène Console");
	pd_user_free(&console);
	pd_user_free(&found);

	/* The same list again: nothing written, no audit row, data_version still. */
	pd_store *watcher = fx_open();
	int64_t dv = store_data_version(watcher);
	int64_t audits = fx_scalar(NULL, "SELECT count(*) FROM audit");
	cr_assert_eq(store_sync_users(fx_s, c, v1, 3, true, &r, &e), PD_OK);
	cr_assert_eq(r.unchanged, 3);
	cr_assert_eq(r.added + r.updated + r.removed + r.sub_accounts_added, 0);
	cr_assert_eq(store_data_version(watcher), dv, "an unchanged sync committed something");
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM audit"), audits);

	/* new / updated / removed / unchanged */
	pd_synced_user v2[] = {su("1001", "Alice Martin", NULL, "sales"),
	                       su("1003", "Hélène", "HELENE@example.com", "support"),
	                       su("1004", "Dan", NULL, "lab")};
	cr_assert_eq(store_sync_users(fx_s, c, v2, 3, true, &r, &e), PD_OK);
	cr_assert_eq(r.added, 1);
	cr_assert_eq(r.updated, 1);
	cr_assert_eq(r.removed, 1);
	cr_assert_eq(r.unchanged, 1);
	cr_assert_eq(r.sub_accounts_added, 1);
	cr_assert_neq(store_data_version(watcher), dv);
	pd_audit *a;
	size_t na;
	cr_assert_eq(store_audit_list(fx_s, c, 1, &a, &na, &e), PD_OK);
	cr_assert_str_eq(a[0].action, "sync");
	cr_assert(strstr(a[0].detail, "1 new, 1 updated, 1 removed"), "%s", a[0].detail);
	cr_assert(strstr(a[0].detail, "\"Alice\" → \"Alice Martin\""), "%s", a[0].detail);
	pd_audits_free(a, na);
	pd_sub_account *subs;
	size_t ns;
	cr_assert_eq(store_sub_account_list(fx_s, c, &subs, &ns, &e), PD_OK);
	cr_assert_eq(ns, 3);
	cr_assert_str_eq(subs[0].name, "lab");
	pd_sub_accounts_free(subs, ns);

	/* Roles set on a synced user survive a sync (the console owns them). */
	cr_assert_eq(store_user_find(fx_s, c, "1004", &found, &e), PD_OK);
	cr_assert_eq(store_role_assign(fx_s, found.id, "agent", &fx_alice, &e), PD_OK);
	cr_assert_eq(store_sync_users(fx_s, c, v2, 3, true, &r, &e), PD_OK);
	pd_user again = {0};
	cr_assert_eq(store_user_get(fx_s, found.id, &again, &e), PD_OK);
	cr_assert_str_eq(again.role, "agent");
	pd_user_free(&again);
	pd_user_free(&found);

	/* Bad PBX data is refused before anything changes. */
	pd_synced_user bad[] = {su("2001", "X", NULL, NULL), su("2001", "Y", NULL, NULL)};
	cr_assert_eq(store_sync_users(fx_s, c, bad, 2, false, &r, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "endpoint");
	pd_synced_user noep[] = {su("", "X", NULL, NULL)};
	cr_assert_eq(store_sync_users(fx_s, c, noep, 1, false, &r, &e), PD_E_INVALID);
	/* An empty list removes every synced user. */
	cr_assert_eq(store_sync_users(fx_s, c, NULL, 0, false, &r, &e), PD_OK);
	cr_assert_eq(r.removed, 3);
	cr_assert_eq(fx_scalar(NULL, "SELECT n_users FROM customers"), 2);
	store_close(watcher);
}

static int64_t wal_size(void)
{
	char path[1100];
	snprintf(path, sizeof path, "%s-wal", fx_db);
	struct stat sb;
	return stat(path, &sb) == 0 ? (int64_t)sb.st_size : -1;
}

static int64_t console_with_ext(int64_t c, const char *name, const char *email, const char *ext)
{
	pd_user u = console_user(name, email, "agent");
	u.extension = xstrdup(ext);
	pd_err e = {0};
	pd_user out = {0};
	cr_assert_eq(store_user_add(fx_s, c, &u, &fx_alice, &out, &e), PD_OK, "%s", e.message);
	int64_t id = out.id;
	pd_user_free(&out);
	pd_user_free(&u);
	return id;
}

/* Issue 19: the diff reads the console users once (not two queries per
 * synced user) and checks duplicates sorted; the links are the same as by
 * the queries (email, else the only console user with the endpoint or its
 * user part as extension), and a resync of thousands of unchanged users
 * writes nothing: no commit, WAL, version, audit row or sub-account. */
Test(users, sync_of_thousands_links_as_before_and_an_unchanged_resync_writes_nothing)
{
	int64_t c = fx_create("Big PBX");
	int64_t by_email = console_with_ext(c, "Mail Match", "agent.0042@big.example", "9990");
	int64_t by_ext = console_with_ext(c, "Ext Match", "ext@big.example", "1007");
	console_with_ext(c, "Twin A", "twin.a@big.example", "1008"); /* 1008: two users */
	console_with_ext(c, "Twin B", "twin.b@big.example", "1008");
	int64_t by_part = console_with_ext(c, "Part Match", "part@big.example", "7001");
	console_with_ext(c, "Shared Part", "shared@big.example", "7002");
	enum { N = 3000 };
	static char eps[N][32], names[N][32], emails[N][48], subs[N][16];
	pd_synced_user v[N];
	for (int i = 0; i < N; i++) {
		snprintf(eps[i], sizeof eps[i], "%d", 1000 + i);
		snprintf(names[i], sizeof names[i], "Agent %04d", i);
		snprintf(emails[i], sizeof emails[i], "AGENT.%04d@Big.example", i);
		snprintf(subs[i], sizeof subs[i], "site-%d", i % 12);
		v[i] = su(eps[i], names[i], i % 2 ? NULL : emails[i], subs[i]);
	}
	/* FreeSWITCH-style endpoints: 7001 is one user part, 7002 two */
	snprintf(eps[N - 3], sizeof eps[0], "7001@site-a");
	snprintf(eps[N - 2], sizeof eps[0], "7002@site-a");
	snprintf(eps[N - 1], sizeof eps[0], "7002@site-b");
	pd_sync_result r;
	pd_err e = {0};
	cr_assert_eq(store_sync_users(fx_s, c, v, N, true, &r, &e), PD_OK, "%s", e.message);
	cr_assert_eq(r.added, N);
	cr_assert_eq(r.sub_accounts_added, 12);
	cr_assert_eq(r.linked, 3, "email 0042, extension 1007, user part 7001");
	char q[200];
	snprintf(q, sizeof q, "SELECT linked_user_id FROM users WHERE endpoint = '1042'");
	cr_assert_eq(fx_scalar(NULL, q), by_email);
	cr_assert_eq(fx_scalar(NULL, "SELECT linked_user_id FROM users WHERE endpoint = '1007'"),
	             by_ext);
	cr_assert_eq(fx_scalar(NULL, "SELECT linked_user_id FROM users WHERE endpoint = '1008'"), 0,
	             "two console users have 1008: neither");
	cr_assert_eq(
	    fx_scalar(NULL, "SELECT linked_user_id FROM users WHERE endpoint = '7001@site-a'"),
	    by_part);
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM users WHERE endpoint LIKE '7002@%'"
	                             " AND linked_user_id IS NULL"),
	             2, "a user part two endpoints share links neither");

	pd_store *watcher = fx_open();
	int64_t dv = store_data_version(watcher), own = store_change_counter(fx_s);
	int64_t audits = fx_scalar(NULL, "SELECT count(*) FROM audit");
	int64_t versions = fx_scalar(NULL, "SELECT sum(version) FROM users");
	int64_t wal = wal_size();
	cr_assert_eq(store_sync_users(fx_s, c, v, N, true, &r, &e), PD_OK, "%s", e.message);
	cr_assert_eq(r.unchanged, N);
	cr_assert_eq(r.added + r.updated + r.removed + r.sub_accounts_added + r.linked, 0);
	cr_assert_eq(store_data_version(watcher), dv, "an unchanged resync committed something");
	cr_assert_eq(store_change_counter(fx_s), own);
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM audit"), audits);
	cr_assert_eq(fx_scalar(NULL, "SELECT sum(version) FROM users"), versions);
	cr_assert_eq(wal_size(), wal, "the WAL grew: something was written");
	store_close(watcher);

	/* A repeated endpoint is named: the first repeat in list order, and a
	 * bad user before it is reported first. */
	pd_synced_user d1[] = {su("a", "A", NULL, NULL), su("b", "B", NULL, NULL),
	                       su("c", "C", NULL, NULL), su("b", "B2", NULL, NULL),
	                       su("a", "A2", NULL, NULL)};
	cr_assert_eq(store_sync_users(fx_s, c, d1, 5, false, &r, &e), PD_E_INVALID);
	cr_assert(strstr(e.message, "endpoint b appears twice"), "%s", e.message);
	pd_synced_user d2[] = {su("a", "A", NULL, NULL), su("x", "bad \xff", NULL, NULL),
	                       su("a", "A2", NULL, NULL)};
	pd_err_clear(&e);
	cr_assert_eq(store_sync_users(fx_s, c, d2, 3, false, &r, &e), PD_E_INVALID);
	cr_assert(strstr(e.message, "synced user 2"), "%s", e.message);
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM users WHERE synced = 1"), N);
}

static pd_user pbx_user(const char *ep, const char *name, const char *email, const char *role)
{
	pd_user u = {0};
	u.endpoint = xstrdup(ep);
	u.display_name = xstrdup(name);
	u.email = email ? xstrdup(email) : NULL;
	u.sub_account = xstrdup("sales");
	u.role = role ? xstrdup(role) : NULL;
	return u;
}

static void with_pbx(pd_new_customer *n)
{
	n->pbx = xcalloc(1, sizeof *n->pbx);
	n->pbx->platform = xstrdup("asterisk-ami");
	n->pbx->host = xstrdup("pbx.example");
	n->pbx->username = xstrdup("admin");
	n->pbx->secret = xstrdup("hunter2");
	n->pbx->sync_users = n->pbx->monitor = n->pbx->enabled = true;
}

/* The wizard's step 4: roles given to users found on the PBX before the
 * customer exists are stored with it, and the first sync keeps them. */
Test(users, users_found_before_creation_keep_their_roles_through_the_first_sync)
{
	pd_new_customer n;
	fx_new(&n, "Found First", "admin@example.com");
	with_pbx(&n);
	n.n_synced = 3;
	n.synced = xcalloc(3, sizeof *n.synced);
	n.synced[0] = pbx_user("1001", "Alice", NULL, "supervisor");
	n.synced[1] = pbx_user("1002", "Bob", NULL, NULL);
	n.synced[2] = pbx_user(" 1003 ", "Admin on PBX", "ADMIN@example.com", "agent");
	pd_customer c = {0};
	pd_err e = {0};
	cr_assert_eq(store_customer_create(fx_s, &n, &fx_alice, &c, &e), PD_OK, "%s", e.message);
	pd_new_customer_free(&n);
	cr_assert_eq(fx_scalar(NULL, "SELECT n_users FROM customers"), 4);
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM users WHERE synced = 1 AND role ="
	                             " 'supervisor' AND endpoint = '1001'"),
	             1);
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM users WHERE endpoint = '1002' AND"
	                             " role IS NULL"),
	             1);
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM users u JOIN users p ON"
	                             " u.linked_user_id = p.id AND p.is_primary = 1"
	                             " WHERE u.endpoint = '1003'"),
	             1, "linked to the primary user by folded email");
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM outbox"), 1,
	             "PBX users get no invitation of their own");
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM audit WHERE object = 'user' AND"
	                             " detail LIKE '%endpoint 1001%supervisor%found on the PBX%'"),
	             1);

	/* The first sync: the same users, one renamed, one gone, one new. */
	pd_synced_user v[] = {su("1001", "Alice Martin", NULL, "sales"),
	                      su("1003", "Admin on PBX", "ADMIN@example.com", "sales"),
	                      su("1004", "Dan", NULL, "sales")};
	pd_sync_result r;
	cr_assert_eq(store_sync_users(fx_s, c.id, v, 3, false, &r, &e), PD_OK, "%s", e.message);
	cr_assert_eq(r.added, 1);
	cr_assert_eq(r.updated, 1);
	cr_assert_eq(r.removed, 1);
	cr_assert_eq(r.unchanged, 1);
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM users WHERE endpoint = '1001' AND"
	                             " role = 'supervisor' AND display_name = 'Alice Martin'"),
	             1, "the role given before creation survives the sync");
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM users WHERE endpoint = '1003' AND"
	                             " role = 'agent'"),
	             1);
	pd_customer_free(&c);
}

Test(users, users_found_before_creation_bad_input)
{
	pd_new_customer n;
	pd_err e = {0};
	/* no PBX */
	fx_new(&n, "Bad Found", NULL);
	n.n_synced = 1;
	n.synced = xcalloc(1, sizeof *n.synced);
	n.synced[0] = pbx_user("1001", "Alice", NULL, NULL);
	cr_assert_eq(store_customer_create(fx_s, &n, &fx_alice, NULL, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "synced_users");
	/* a PBX that does not sync users */
	with_pbx(&n);
	n.pbx->sync_users = false;
	cr_assert_eq(store_customer_create(fx_s, &n, &fx_alice, NULL, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "synced_users");
	n.pbx->sync_users = true;
	/* an unknown role, an endpoint twice, no endpoint, bytes that are not UTF-8 */
	pd_set_str(&n.synced[0].role, "overlord");
	cr_assert_eq(store_customer_create(fx_s, &n, &fx_alice, NULL, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "synced_users[0].role");
	cr_assert(strstr(e.message, "overlord"), "%s", e.message);
	pd_set_str(&n.synced[0].role, "agent");
	n.n_synced = 2;
	n.synced = xrealloc(n.synced, 2 * sizeof *n.synced);
	n.synced[1] = pbx_user("1001", "Alias", NULL, NULL);
	cr_assert_eq(store_customer_create(fx_s, &n, &fx_alice, NULL, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "synced_users[1].endpoint");
	cr_assert(strstr(e.message, "twice"), "%s", e.message);
	pd_set_str(&n.synced[1].endpoint, "  ");
	cr_assert_eq(store_customer_create(fx_s, &n, &fx_alice, NULL, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "synced_users[1].endpoint");
	pd_set_str(&n.synced[1].endpoint, "1002");
	pd_set_str(&n.synced[1].display_name, "Bad \xff\xfe");
	cr_assert_eq(store_customer_create(fx_s, &n, &fx_alice, NULL, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "synced_users[1].endpoint");
	cr_assert(strstr(e.message, "1002"), "%s", e.message);
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM customers"), 0, "nothing half-made");
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM users"), 0);
	pd_new_customer_free(&n);
}

Test(users, outbox_lifecycle)
{
	int64_t c = fx_create("Mail Co");
	pd_err e = {0};
	pd_outbox o = {0};
	int64_t now = pd_now();
	cr_assert_eq(store_outbox_next_due(fx_s, now, &o, &e), PD_OK, "%s", e.message);
	cr_assert_str_eq(o.to_addr, "admin@example.com");
	int64_t id = o.id;
	pd_outbox_free(&o);
	cr_assert_eq(store_outbox_mark_failed(fx_s, id, "421 try later", now + 60, false, &e),
	             PD_OK);
	cr_assert_eq(store_outbox_next_due(fx_s, now, &o, &e), PD_E_NOTFOUND);
	cr_assert_eq(store_outbox_next_due(fx_s, now + 61, &o, &e), PD_OK);
	cr_assert_eq(o.attempts, 1);
	cr_assert_str_eq(o.last_error, "421 try later");
	pd_outbox_free(&o);
	cr_assert_eq(store_outbox_mark_failed(fx_s, id, "550 no such user", 0, true, &e), PD_OK);
	int64_t admin = admin_of(c);
	pd_user u = {0};
	cr_assert_eq(store_user_get(fx_s, admin, &u, &e), PD_OK);
	cr_assert_eq(u.invite, PD_INVITE_FAILED);
	pd_user_free(&u);
	int count;
	cr_assert_eq(store_outbox_retry(fx_s, 0, &fx_alice, &count, &e), PD_OK);
	cr_assert_eq(count, 1);
	cr_assert_eq(store_outbox_retry(fx_s, id, &fx_alice, &count, &e), PD_E_INVALID,
	             "still queued");
	cr_assert_eq(store_outbox_mark_sent(fx_s, id, now, &e), PD_OK);
	cr_assert_eq(store_user_get(fx_s, admin, &u, &e), PD_OK);
	cr_assert_eq(u.invite, PD_INVITE_SENT);
	pd_user_free(&u);
	cr_assert_eq(store_outbox_resend_user(fx_s, admin, &fx_alice, &e), PD_OK, "%s", e.message);
	pd_outbox *all;
	size_t n;
	cr_assert_eq(store_outbox_list(fx_s, 0, &all, &n, &e), PD_OK);
	cr_assert_eq(n, 2);
	cr_assert_eq(all[1].state, PD_INVITE_QUEUED);
	pd_outboxes_free(all, n);
	cr_assert_eq(store_outbox_mark_sent(fx_s, 9999, now, &e), PD_E_NOTFOUND);
}

typedef struct {
	int n;
	char lines[8][256];
} bill_ctx;

static pd_status collect(const pd_billing_line *l, void *ctx, pd_err *e)
{
	(void)e;
	bill_ctx *b = ctx;
	if (b->n < 8)
		snprintf(b->lines[b->n], sizeof b->lines[0], "%s|%lld|%d|%lld|%s", l->billing_id,
		         (long long)l->licensed_users, l->active_days, (long long)l->amount_cents,
		         l->flags);
	b->n++;
	return PD_OK;
}

Test(users, billing_export_licensed_users_and_deleted_customers)
{
	/* the clock, not the real date: passes on any day */
	setenv("PROVDESK_TODAY", "2026-11-10", 1);
	pd_err e = {0};
	pd_new_customer n;
	fx_new(&n, "Billed", NULL);
	n.customer.reference = xstrdup("B-1");
	n.n_users = 2;
	n.users = xcalloc(2, sizeof *n.users);
	n.users[0].display_name = xstrdup("With Role");
	n.users[0].email = xstrdup("r@example.com");
	n.users[0].role = xstrdup("agent");
	n.users[1].display_name = xstrdup("No Role");
	n.users[1].email = xstrdup("nr@example.com");
	pd_customer c = {0};
	cr_assert_eq(store_customer_create(fx_s, &n, &fx_alice, &c, &e), PD_OK, "%s", e.message);
	pd_new_customer_free(&n);
	int64_t gone = fx_create("Gone");
	cr_assert_eq(store_customer_delete(fx_s, gone, "gone", 0, &fx_alice, &e), PD_OK);

	pd_day today = pd_today(), first;
	char period[8], d[11];
	pd_day_format(today, d);
	snprintf(period, sizeof period, "%.7s", d);
	int ndays;
	cr_assert(pd_period_parse(period, &first, &ndays));
	bill_ctx b = {0};
	cr_assert_eq(store_billing_export(fx_s, first, ndays, collect, &b, &e), PD_OK, "%s",
	             e.message);
	cr_assert_eq(b.n, 2, "the deleted customer is billed up to its deletion day");
	/* Billing-id order: the tenant uuid (digits/hex) or "B-1". */
	int bi = strncmp(b.lines[0], "B-1|", 4) == 0 ? 0 : 1;
	cr_assert(!strncmp(b.lines[bi], "B-1|2|", 6), "%s",
	          b.lines[bi]); /* admin + agent, not the role-less one */
	cr_assert(strstr(b.lines[1 - bi], "deleted "), "%s", b.lines[1 - bi]);
	cr_assert_lt(strcmp(b.lines[0], b.lines[1]), 0, "lines in billing-id order");

	/* The period after: the deleted customer has no line. */
	bill_ctx next = {0};
	cr_assert_eq(store_billing_export(fx_s, first + ndays, 28, collect, &next, &e), PD_OK);
	cr_assert_eq(next.n, 1);
	cr_assert_eq(store_billing_export(fx_s, first, 0, collect, &next, &e), PD_E_INVALID);
	pd_customer_free(&c);
	unsetenv("PROVDESK_TODAY");
}

Test(users, drafts_one_per_owner)
{
	pd_err e = {0};
	char *json = NULL;
	int64_t at = 0;
	cr_assert_eq(store_draft_load(fx_s, "alice", &json, &at, &e), PD_E_NOTFOUND);
	cr_assert_eq(store_draft_save(fx_s, "alice", "{\"step\":1}", &e), PD_OK);
	cr_assert_eq(store_draft_save(fx_s, "alice", "{\"step\":2}", &e), PD_OK);
	cr_assert_eq(store_draft_save(fx_s, "bob", "{\"step\":3}", &e), PD_OK);
	cr_assert_eq(store_draft_load(fx_s, "alice", &json, &at, &e), PD_OK);
	cr_assert_str_eq(json, "{\"step\":2}");
	cr_assert_gt(at, 0);
	free(json);
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM drafts"), 2);
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM customers"), 0,
	             "a draft is never a customer");
	cr_assert_eq(store_draft_delete(fx_s, "alice", &e), PD_OK);
	cr_assert_eq(store_draft_load(fx_s, "alice", &json, &at, &e), PD_E_NOTFOUND);
}

static pd_user console_ext(const char *name, const char *email, const char *ext)
{
	pd_user u = console_user(name, email, "agent");
	u.extension = ext ? xstrdup(ext) : NULL;
	return u;
}

static int64_t add_console(int64_t c, const char *name, const char *email, const char *ext)
{
	pd_err e = {0};
	pd_user u = console_ext(name, email, ext), out = {0};
	cr_assert_eq(store_user_add(fx_s, c, &u, &fx_alice, &out, &e), PD_OK, "%s", e.message);
	int64_t id = out.id;
	pd_user_free(&u);
	pd_user_free(&out);
	return id;
}

static int64_t link_of_endpoint(int64_t c, const char *ep)
{
	char sql[200];
	snprintf(sql, sizeof sql,
	         "SELECT coalesce(linked_user_id, 0) FROM users WHERE customer_id = %lld AND"
	         " synced = 1 AND endpoint = '%s'",
	         (long long)c, ep);
	return fx_scalar(NULL, sql);
}

/* The sync links by email (the mailbox's), then by extension, and says how
 * many links it made: "N linked". */
Test(users, sync_links_by_email_then_extension_and_counts_links)
{
	int64_t c = fx_create("Linking");
	pd_err e = {0};
	int64_t paul = add_console(c, "Paul Ext", "paul@example.com", "1005");
	int64_t rosa = add_console(c, "Rosa Mail", "rosa@example.com", "2010");
	/* two console users with one extension: neither is guessed */
	add_console(c, "Twin A", "twin-a@example.com", "1020");
	add_console(c, "Twin B", "twin-b@example.com", "1020");

	pd_synced_user v[] = {su("1005", "Paul", NULL, "site-a"),
	                      su("1010", "Rosa on PBX", "ROSA@example.com", "site-a"),
	                      su("1011", "Nobody", NULL, "site-a"),
	                      su("1020", "Twin", NULL, "site-a")};
	pd_sync_result r;
	cr_assert_eq(store_sync_users(fx_s, c, v, 4, false, &r, &e), PD_OK, "%s", e.message);
	cr_assert_eq(r.added, 4);
	cr_assert_eq(r.linked, 2);
	cr_assert_eq(link_of_endpoint(c, "1005"), paul, "linked by extension");
	cr_assert_eq(link_of_endpoint(c, "1010"), rosa, "linked by email first");
	cr_assert_eq(link_of_endpoint(c, "1011"), 0);
	cr_assert_eq(link_of_endpoint(c, "1020"), 0, "two console users with 1020: no link");
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM audit WHERE action = 'sync' AND"
	                             " detail LIKE '4 new, 0 updated, 0 removed, 2 linked%'"),
	             1);

	/* the same again: nothing made, nothing written */
	cr_assert_eq(store_sync_users(fx_s, c, v, 4, false, &r, &e), PD_OK);
	cr_assert_eq(r.linked, 0);
	cr_assert_eq(r.unchanged, 4);

	/* the mailbox of 1011 gets the console user's email: linked, not updated
	 * beyond the email itself */
	add_console(c, "Nora Late", "nora@example.com", NULL);
	pd_synced_user v2[] = {su("1005", "Paul", NULL, "site-a"),
	                       su("1010", "Rosa on PBX", "ROSA@example.com", "site-a"),
	                       su("1011", "Nobody", "nora@example.com", "site-a"),
	                       su("1020", "Twin", NULL, "site-a")};
	cr_assert_eq(store_sync_users(fx_s, c, v2, 4, false, &r, &e), PD_OK);
	cr_assert_eq(r.linked, 1);
	cr_assert_eq(r.updated, 1, "the email changed");
	cr_assert_eq(r.unchanged, 3);

	/* a console update keeps the extension link (relink by email, then extension) */
	pd_user p = {0};
	cr_assert_eq(store_user_get(fx_s, paul, &p, &e), PD_OK);
	pd_set_str(&p.display_name, "Paul Extension");
	cr_assert_eq(store_user_update(fx_s, &p, &fx_alice, &e), PD_OK, "%s", e.message);
	pd_user_free(&p);
	cr_assert_eq(link_of_endpoint(c, "1005"), paul);
}

/* FreeSWITCH endpoints are user@domain: a console extension (never with
 * '@') is compared with the user part, unless several synced users share
 * it (one user number in two domains: neither is guessed); in the sync and
 * in the relink after a console edit alike. */
Test(users, sync_links_by_the_user_part_of_user_at_domain)
{
	int64_t c = fx_create("Domains");
	pd_err e = {0};
	int64_t ana = add_console(c, "Ana Ext", "ana@example.com", "1001");
	int64_t twin = add_console(c, "Twin Ext", "twin@example.com", "1002");
	pd_synced_user v[] = {su("1001@default", "Ana", NULL, "default"),
	                      su("1002@site-a", "Two A", NULL, "site-a"),
	                      su("1002@site-b", "Two B", NULL, "site-b"),
	                      su("1003@default", "Later", NULL, "default")};
	pd_sync_result r;
	cr_assert_eq(store_sync_users(fx_s, c, v, 4, false, &r, &e), PD_OK, "%s", e.message);
	cr_assert_eq(r.linked, 1);
	cr_assert_eq(link_of_endpoint(c, "1001@default"), ana, "linked by the user part");
	cr_assert_eq(link_of_endpoint(c, "1002@site-a"), 0, "1002 is in two domains");
	cr_assert_eq(link_of_endpoint(c, "1002@site-b"), 0, "1002 is in two domains");
	cr_assert_eq(link_of_endpoint(c, "1003@default"), 0);

	/* a console user added after the sync is linked by the relink, with the
	 * same rule; a console edit keeps the links as they are */
	int64_t later = add_console(c, "Later Ext", "later@example.com", "1003");
	cr_assert_eq(link_of_endpoint(c, "1003@default"), later);
	pd_user p = {0};
	cr_assert_eq(store_user_get(fx_s, twin, &p, &e), PD_OK);
	pd_set_str(&p.display_name, "Twin Extension");
	cr_assert_eq(store_user_update(fx_s, &p, &fx_alice, &e), PD_OK, "%s", e.message);
	pd_user_free(&p);
	cr_assert_eq(link_of_endpoint(c, "1001@default"), ana);
	cr_assert_eq(link_of_endpoint(c, "1002@site-a"), 0);
	cr_assert_eq(link_of_endpoint(c, "1002@site-b"), 0);

	/* the same again: nothing made */
	cr_assert_eq(store_sync_users(fx_s, c, v, 4, false, &r, &e), PD_OK);
	cr_assert_eq(r.linked, 0);
	cr_assert_eq(r.unchanged, 4);
}

/* A console user may not take an extension a synced user of the PBX holds:
 * refused naming that user, on add and on update; the console user the
 * synced one is linked to may. */
Test(users, manual_extension_held_by_a_synced_user_is_refused)
{
	int64_t c = fx_create("Held");
	pd_err e = {0};
	int64_t carla = add_console(c, "Carla Console", "carla@example.com", NULL);
	pd_synced_user v[] = {su("1003", "Carla Rossi", "carla@example.com", "site-b"),
	                      su("1004", "David Cohen", NULL, "site-b")};
	cr_assert_eq(store_sync_users(fx_s, c, v, 2, false, NULL, &e), PD_OK, "%s", e.message);
	int64_t users = fx_scalar(NULL, "SELECT count(*) FROM users");

	pd_user u = console_ext("Eve New", "eve@example.com", "1004");
	cr_assert_eq(store_user_add(fx_s, c, &u, &fx_alice, NULL, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "extension");
	cr_assert(strstr(e.message, "extension 1004 is held by \"David Cohen\""), "%s", e.message);
	cr_assert(strstr(e.message, "sub-account site-b"), "%s", e.message);
	pd_user_free(&u);
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM users"), users, "nothing added");

	/* update to a held extension: refused the same way */
	pd_user cc = {0};
	cr_assert_eq(store_user_get(fx_s, carla, &cc, &e), PD_OK);
	pd_set_str(&cc.extension, "1004");
	cr_assert_eq(store_user_update(fx_s, &cc, &fx_alice, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "extension");
	cr_assert(strstr(e.message, "David Cohen"), "%s", e.message);
	/* her own synced self (linked by email) holds 1003: that is allowed */
	pd_set_str(&cc.extension, "1003");
	cr_assert_eq(store_user_update(fx_s, &cc, &fx_alice, &e), PD_OK, "%s", e.message);
	pd_user_free(&cc);
	/* an extension no one holds, and none, are fine */
	pd_user f = console_ext("Fred Free", "fred@example.com", "1999");
	cr_assert_eq(store_user_add(fx_s, c, &f, &fx_alice, NULL, &e), PD_OK, "%s", e.message);
	pd_user_free(&f);
}

/* An extension that names several users is refused with the candidates,
 * each with a form that names only it; the qualified forms work. */
Test(users, ambiguous_extension_refused_with_candidates_and_qualified_forms)
{
	int64_t c = fx_create("Shared");
	pd_err e = {0};
	pd_pbx p = {0};
	p.platform = xstrdup("asterisk-ami");
	p.host = xstrdup("pbx.example.net");
	p.port = 5038;
	p.username = xstrdup("admin");
	p.sync_users = p.monitor = true;
	cr_assert_eq(store_pbx_add(fx_s, c, &p, &fx_alice, &e), PD_OK, "%s", e.message);
	pd_pbx_free(&p);
	/* a console user who took 1001 before the PBX was synced, and 1001 on the PBX */
	int64_t anna = add_console(c, "Anna Console", "anna@example.com", "1001");
	int64_t twin = add_console(c, "Anna Twin", "anna2@example.com", "1001");
	pd_synced_user v[] = {su("1001", "Alice Martin", NULL, "site-a"),
	                      su("1002", "Bob Dupont", NULL, "site-b")};
	cr_assert_eq(store_sync_users(fx_s, c, v, 2, false, NULL, &e), PD_OK, "%s", e.message);

	pd_user u = {0};
	cr_assert_eq(store_user_find(fx_s, c, "1001", &u, &e), PD_E_USAGE);
	cr_assert_str_eq(e.field, "user");
	cr_assert(strstr(e.message, "'1001' names several users"), "%s", e.message);
	cr_assert(strstr(e.message, "\"Anna Console\" (console user: anna@example.com or #"), "%s",
	          e.message);
	cr_assert(strstr(e.message, "\"Alice Martin\" (synced from the PBX: site-a/1001, "
	                            "pbx.example.net:1001 or #"),
	          "%s", e.message);
	/* the qualified forms */
	cr_assert_eq(store_user_find(fx_s, c, "site-a/1001", &u, &e), PD_OK, "%s", e.message);
	cr_assert(u.synced);
	cr_assert_str_eq(u.display_name, "Alice Martin");
	pd_user_free(&u);
	cr_assert_eq(store_user_find(fx_s, c, "pbx.example.net:1001", &u, &e), PD_OK, "%s",
	             e.message);
	cr_assert_str_eq(u.display_name, "Alice Martin");
	pd_user_free(&u);
	cr_assert_eq(store_user_find(fx_s, c, "PBX:1001", &u, &e), PD_OK, "%s", e.message);
	pd_user_free(&u);
	cr_assert_eq(store_user_find(fx_s, c, "anna@example.com", &u, &e), PD_OK);
	cr_assert_eq(u.id, anna);
	pd_user_free(&u);
	char id[32];
	snprintf(id, sizeof id, "#%lld", (long long)twin);
	cr_assert_eq(store_user_find(fx_s, c, id, &u, &e), PD_OK);
	pd_user_free(&u);
	/* an unambiguous extension still works unqualified */
	cr_assert_eq(store_user_find(fx_s, c, "1002", &u, &e), PD_OK);
	cr_assert_str_eq(u.display_name, "Bob Dupont");
	pd_user_free(&u);
	/* bad qualified forms */
	cr_assert_eq(store_user_find(fx_s, c, "site-b/1001", &u, &e), PD_E_NOTFOUND);
	cr_assert(strstr(e.message, "no synced user 1001 in sub-account 'site-b'"), "%s",
	          e.message);
	cr_assert_eq(store_user_find(fx_s, c, "other.example.net:1001", &u, &e), PD_E_NOTFOUND);
	cr_assert(strstr(e.message, "its PBX is pbx.example.net"), "%s", e.message);
	cr_assert_eq(store_user_find(fx_s, c, "/1001", &u, &e), PD_E_NOTFOUND);
	cr_assert_eq(store_user_find(fx_s, c, "site-a/", &u, &e), PD_E_NOTFOUND);
	cr_assert_eq(store_user_find(fx_s, c, "pbx:", &u, &e), PD_E_NOTFOUND);
}

/* A synced user linked to the console user with the same email is the same
 * person: the email (or a shared extension) names the console user. */
Test(users, linked_pair_is_not_ambiguous)
{
	int64_t c = fx_create("Pair");
	pd_err e = {0};
	int64_t hel = add_console(c, "Hélène Console", "helene@example.com", NULL);
	pd_synced_user v[] = {su("1008", "Hélène Dubois", "HELENE@example.com", "site-a")};
	cr_assert_eq(store_sync_users(fx_s, c, v, 1, false, NULL, &e), PD_OK, "%s", e.message);
	pd_user u = {0};
	cr_assert_eq(store_user_find(fx_s, c, "helene@example.com", &u, &e), PD_OK, "%s",
	             e.message);
	cr_assert_eq(u.id, hel);
	pd_user_free(&u);
	pd_user cc = {0};
	cr_assert_eq(store_user_get(fx_s, hel, &cc, &e), PD_OK);
	pd_set_str(&cc.extension, "1008");
	cr_assert_eq(store_user_update(fx_s, &cc, &fx_alice, &e), PD_OK, "%s", e.message);
	pd_user_free(&cc);
	cr_assert_eq(store_user_find(fx_s, c, "1008", &u, &e), PD_OK, "%s", e.message);
	cr_assert_eq(u.id, hel);
	pd_user_free(&u);
}

static void no_clock(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	(void)argc;
	(void)argv;
	sqlite3_result_null(cx);
}

/* The query plan of one SQL statement, rows joined with "; ". The users
 * triggers call pd_now(), which the store registers: a stand-in here so
 * statements on users compile (a plan never runs them). */
static void query_plan(const char *sql, char *out, size_t n)
{
	sqlite3 *db;
	cr_assert_eq(sqlite3_open_v2(fx_db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_create_function(db, "pd_now", 0, SQLITE_UTF8, NULL, no_clock, NULL, NULL);
	char *q = xasprintf("EXPLAIN QUERY PLAN %s", sql);
	sqlite3_stmt *st;
	cr_assert_eq(sqlite3_prepare_v2(db, q, -1, &st, NULL), SQLITE_OK, "%s", sqlite3_errmsg(db));
	out[0] = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		size_t l = strlen(out);
		snprintf(out + l, n - l, "%s%s", l ? "; " : "",
		         (const char *)sqlite3_column_text(st, 3));
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(q);
}

/* Linking by extension looks a console user up per synced user: by index,
 * not by reading every user of the customer (10,000 endpoints took 10 s to
 * sync and 31 s to resync unchanged without it; bench_pbx_sync). */
Test(users, linking_by_extension_uses_an_index)
{
	fx_create("Indexed");
	char plan[512];
	query_plan(
	    "SELECT id FROM users WHERE customer_id = 1 AND synced = 0 AND extension = '1001'"
	    " LIMIT 2",
	    plan, sizeof plan);
	cr_assert(strstr(plan, "users_console_extension"), "%s", plan);
	query_plan("UPDATE users SET linked_user_id = (SELECT CASE WHEN count(*) = 1 THEN max(c.id)"
	           " END FROM users c WHERE c.customer_id = users.customer_id AND c.synced = 0 AND"
	           " c.extension = users.endpoint) WHERE customer_id = 1 AND synced = 1",
	           plan, sizeof plan);
	cr_assert(strstr(plan, "users_console_extension"), "%s", plan);
	/* with the user part of user@domain (sync.c, users.c) */
	query_plan("SELECT id FROM users WHERE customer_id = 1 AND synced = 0 AND extension IN"
	           " ('1001@default', '1001') LIMIT 2",
	           plan, sizeof plan);
	cr_assert(strstr(plan, "users_console_extension"), "%s", plan);
	query_plan("SELECT 1 FROM users o WHERE o.customer_id = 1 AND o.synced = 1 AND o.id <> 5"
	           " AND o.endpoint >= '1001' || '@' AND o.endpoint < '1001' || 'A'",
	           plan, sizeof plan);
	cr_assert(strstr(plan, "users_endpoint"), "%s", plan);
}

__attribute__((format(printf, 1, 2))) static int64_t cust_scalar(const char *fmt, ...)
{
	char sql[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sql, sizeof sql, fmt, ap);
	va_end(ap);
	return fx_scalar(NULL, sql);
}

/* The count billing reads (the last row written) and the users as they are. */
static int64_t billed_count(int64_t cid)
{
	return cust_scalar("SELECT users FROM licensed_users_history WHERE customer_id = %lld"
	                   " ORDER BY id DESC LIMIT 1",
	                   (long long)cid);
}

static int64_t live_count(int64_t cid)
{
	return cust_scalar("SELECT count(*) FROM users WHERE customer_id = %lld AND role IS NOT"
	                   " NULL AND NOT (synced = 1 AND linked_user_id IS NOT NULL)",
	                   (long long)cid);
}

static int64_t count_rows(int64_t cid)
{
	return cust_scalar("SELECT count(*) FROM licensed_users_history WHERE customer_id = %lld",
	                   (long long)cid);
}

static void set_role(int64_t uid, const char *role)
{
	pd_err e = {0};
	cr_assert_eq(store_role_assign(fx_s, uid, role, &fx_alice, &e), PD_OK, "%s", e.message);
}

static bill_ctx bill_period(const char *period)
{
	pd_day first;
	int n;
	cr_assert(pd_period_parse(period, &first, &n));
	bill_ctx b = {0};
	pd_err e = {0};
	cr_assert_eq(store_billing_export(fx_s, first, n, collect, &b, &e), PD_OK, "%s", e.message);
	return b;
}

/* Billing reads the licensed-user count in force each day (schema
 * migration 8): every change that moves it (a user added or removed, a
 * role given or taken, a synced user linked or unlinked) writes the new
 * count with its time, in the change's own transaction; the rest writes
 * nothing; and a past month bills the same after today's changes. */
Test(users, licensed_users_history_follows_every_change)
{
	pd_err e = {0};
	setenv("PROVDESK_NOW", "2026-10-01T09:00:00", 1);
	int64_t c = fx_create("Counted");
	cr_assert_eq(billed_count(c), 1, "the admin");
	cr_assert_eq(count_rows(c), 1);
	cr_assert_eq(cust_scalar("SELECT at / 86400 FROM licensed_users_history WHERE customer_id"
	                         " = %lld",
	                         (long long)c),
	             pd_today());

	setenv("PROVDESK_NOW", "2026-10-05T10:00:00", 1);
	int64_t a = add_console(c, "Agent One", "one@example.com", "1001");
	cr_assert_eq(billed_count(c), 2);
	int64_t at = cust_scalar("SELECT max(at) FROM licensed_users_history WHERE customer_id ="
	                         " %lld",
	                         (long long)c);
	cr_assert(at >= pd_now() - 60 && at <= pd_now(), "the change's time: %lld", (long long)at);
	pd_user nr = console_user("No Role", "nr@example.com", NULL), out = {0};
	cr_assert_eq(store_user_add(fx_s, c, &nr, &fx_alice, &out, &e), PD_OK, "%s", e.message);
	cr_assert_eq(count_rows(c), 2, "a user without a role is not licensed");
	pd_user_free(&nr);
	set_role(out.id, "agent");
	cr_assert_eq(billed_count(c), 3, "a role given");
	set_role(out.id, "supervisor");
	cr_assert_eq(count_rows(c), 3, "a role changed for another: still licensed");
	set_role(out.id, NULL);
	cr_assert_eq(billed_count(c), 2, "a role taken");
	pd_user_free(&out);
	bill_ctx oct = bill_period("2026-10");
	cr_assert_eq(oct.n, 2, "split where the count changes");

	/* today: a sync, roles, links and removals */
	setenv("PROVDESK_NOW", "2026-11-10T12:00:00", 1);
	pd_synced_user v[] = {su("1001", "Agent One PBX", NULL, "site-a"),
	                      su("1002", "Other PBX", NULL, "site-a")};
	cr_assert_eq(store_sync_users(fx_s, c, v, 2, false, NULL, &e), PD_OK, "%s", e.message);
	cr_assert_eq(billed_count(c), live_count(c));
	int64_t s1 = cust_scalar(
	            "SELECT id FROM users WHERE customer_id = %lld AND endpoint = '1001'",
	            (long long)c),
	        s2 = cust_scalar(
	            "SELECT id FROM users WHERE customer_id = %lld AND endpoint = '1002'",
	            (long long)c);
	set_role(s2, "agent");
	cr_assert_eq(billed_count(c), 3, "a synced user given a role");
	cr_assert_eq(cust_scalar("SELECT linked_user_id FROM users WHERE id = %lld", (long long)s1),
	             a, "linked to the console user by extension");
	set_role(s1, "agent");
	cr_assert_eq(billed_count(c), 3, "a linked synced user is the same person");
	cr_assert_eq(store_user_remove(fx_s, a, &fx_alice, &e), PD_OK, "%s", e.message);
	cr_assert_eq(billed_count(c), live_count(c), "the synced user unlinked counts instead");
	cr_assert_eq(billed_count(c), 3);
	cr_assert_eq(store_sync_users(fx_s, c, v, 1, false, NULL, &e), PD_OK, "%s", e.message);
	cr_assert_eq(billed_count(c), 2, "a synced user gone from the PBX");
	cr_assert_eq(cust_scalar("SELECT count(*) FROM users WHERE id = %lld", (long long)s2), 0);
	add_console(c, "Agent Two", "two@example.com", NULL);
	cr_assert_eq(billed_count(c), 3);
	cr_assert_eq(billed_count(c), live_count(c));

	bill_ctx after = bill_period("2026-10");
	cr_assert_eq(after.n, oct.n);
	for (int i = 0; i < oct.n; i++)
		cr_assert_str_eq(after.lines[i], oct.lines[i], "October bills the same");
	bill_ctx nov = bill_period("2026-11");
	cr_assert_eq(nov.n, 2, "%s", nov.lines[0]);
	cr_assert(strstr(nov.lines[0], "|2|9|"), "%s", nov.lines[0]);
	cr_assert(strstr(nov.lines[1], "|3|21|"), "today's count from today: %s", nov.lines[1]);
	unsetenv("PROVDESK_NOW");
}

/* The console's outbox screen cancels a queued message through
 * store_outbox_cancel_by: only a queued one, with an audit row naming who. */
Test(users, outbox_cancel_by_a_person)
{
	int64_t c = fx_create("Cancel Co");
	pd_err e = {0};
	pd_outbox o = {0};
	int64_t now = pd_now();
	cr_assert_eq(store_outbox_next_due(fx_s, now, &o, &e), PD_OK, "%s", e.message);
	int64_t id = o.id;
	pd_outbox_free(&o);
	cr_assert_eq(store_outbox_cancel_by(fx_s, id, &fx_alice, &e), PD_OK, "%s", e.message);
	pd_outbox *all;
	size_t n;
	cr_assert_eq(store_outbox_list(fx_s, c, &all, &n, &e), PD_OK);
	cr_assert_eq(n, 1);
	cr_assert_eq(all[0].state, PD_INVITE_CANCELLED);
	cr_assert(strstr(all[0].last_error, fx_alice.user), "%s", all[0].last_error);
	pd_outboxes_free(all, n);
	pd_audit *au;
	cr_assert_eq(store_audit_list(fx_s, c, 1, &au, &n, &e), PD_OK);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(au[0].object, "outbox");
	cr_assert_str_eq(au[0].action, "cancel");
	cr_assert_str_eq(au[0].actor, fx_alice.user);
	cr_assert(strstr(au[0].detail, "queued → cancelled"), "%s", au[0].detail);
	pd_audits_free(au, n);
	/* cancelled, sent or unknown: refused, nothing written */
	cr_assert_eq(store_outbox_cancel_by(fx_s, id, &fx_alice, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "outbox");
	cr_assert_eq(store_outbox_cancel_by(fx_s, 9999, &fx_alice, &e), PD_E_NOTFOUND);
	cr_assert_eq(store_audit_list(fx_s, c, 0, &au, &n, &e), PD_OK);
	size_t cancels = 0;
	for (size_t i = 0; i < n; i++)
		cancels += strcmp(au[i].action, "cancel") == 0;
	cr_assert_eq(cancels, 1);
	pd_audits_free(au, n);
}

/* Customer rules that need the database: uniqueness by folded name, the
 * internal-system limit, the product-type lock, stale versions, soft delete
 * and restore, trial actions, one-transaction creation and the audit log. */
#include "fixture.h"

TestSuite(customers, .init = fx_setup_open, .fini = fx_teardown);

static pd_status create_named(const char *name, const char *product, bool internal, int trial_days,
                              pd_customer *out, pd_err *e)
{
	pd_new_customer n;
	fx_new(&n, name, NULL);
	if (product)
		pd_set_str(&n.customer.product_type, product);
	n.customer.internal_system = internal;
	n.trial_days = trial_days;
	pd_status r = store_customer_create(fx_s, &n, &fx_alice, out, e);
	pd_new_customer_free(&n);
	return r;
}

Test(customers, create_writes_customer_admin_outbox_and_audit)
{
	pd_new_customer n;
	fx_new(&n, "  Société Générale  ", "Admin@SocGen.example");
	n.customer.reference = xstrdup("R-001");
	n.customer.notes = xstrdup("first line\nsecond line");
	n.n_users = 1;
	n.users = xcalloc(1, sizeof *n.users);
	n.users[0].display_name = xstrdup("Agent One");
	n.users[0].email = xstrdup("agent1@socgen.example");
	n.users[0].role = xstrdup("agent");
	pd_customer c = {0};
	pd_err e = {0};
	cr_assert_eq(store_customer_create(fx_s, &n, &fx_alice, &c, &e), PD_OK, "%s", e.message);
	cr_assert_str_eq(c.name, "Société Générale");
	cr_assert_eq(strlen(c.tenant_id), 36);
	cr_assert_eq(c.tenant_id[14], '4');
	cr_assert_eq(c.version, 1);
	cr_assert_str_eq(c.country, "FR");
	cr_assert_str_eq(c.time_zone, "Europe/Paris");
	cr_assert_str_eq(c.reference, "R-001");

	pd_user *u;
	size_t nu;
	cr_assert_eq(store_user_list(fx_s, c.id, &u, &nu, &e), PD_OK);
	cr_assert_eq(nu, 2);
	cr_assert(u[0].primary);
	cr_assert_str_eq(u[0].role, "customer-admin");
	cr_assert_str_eq(u[0].email, "Admin@SocGen.example");
	cr_assert_eq(u[0].invite, PD_INVITE_QUEUED);
	cr_assert_str_eq(u[1].role, "agent");
	for (size_t i = 0; i < nu; i++)
		pd_user_free(&u[i]);
	free(u);

	pd_outbox *ob;
	size_t nob;
	cr_assert_eq(store_outbox_list(fx_s, c.id, &ob, &nob, &e), PD_OK);
	cr_assert_eq(nob, 2);
	cr_assert_str_eq(ob[0].to_addr, "Admin@SocGen.example");
	cr_assert_eq(ob[0].state, PD_INVITE_QUEUED);
	cr_assert(strstr(ob[0].body, "Société Générale"), "%s", ob[0].body);
	pd_outboxes_free(ob, nob);

	pd_audit *a;
	size_t na;
	cr_assert_eq(store_audit_list(fx_s, c.id, 0, &a, &na, &e), PD_OK);
	cr_assert_eq(na, 3); /* customer + 2 users */
	cr_assert_str_eq(a[na - 1].object, "customer");
	cr_assert_str_eq(a[na - 1].action, "create");
	cr_assert_str_eq(a[na - 1].actor, "alice");
	cr_assert_str_eq(a[na - 1].client, "192.0.2.7");
	cr_assert(strstr(a[na - 1].detail, "name: ∅ → \"Société Générale\""), "%s",
	          a[na - 1].detail);
	pd_audits_free(a, na);
	cr_assert_eq(fx_scalar(NULL, "SELECT n_users FROM customers"), 2);
	pd_customer_free(&c);
	pd_new_customer_free(&n);
}

Test(customers, name_unique_ignoring_case_and_accents)
{
	pd_err e = {0};
	cr_assert_eq(create_named("Société Générale", NULL, false, 0, NULL, &e), PD_OK, "%s",
	             e.message);
	const char *clashes[] = {"SOCIETE GENERALE", "societe generale", " Société  Générale",
	                         "SOCIÉTÉ GÉNÉRALE"};
	for (size_t i = 0; i < 4; i++) {
		pd_status r = create_named(clashes[i], NULL, false, 0, NULL, &e);
		if (i == 2) { /* a double space is another name */
			cr_assert_eq(r, PD_OK, "%s", e.message);
			continue;
		}
		cr_assert_eq(r, PD_E_INVALID, "%s accepted", clashes[i]);
		cr_assert_str_eq(e.field, "name");
		cr_assert(strstr(e.message, "Société Générale"), "%s", e.message);
	}
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM customers"), 2);
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM users"), 2,
	             "a refused create left a user");
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM outbox"), 2);

	/* the one check every path uses: a status, the message naming who */
	pd_err_clear(&e);
	cr_assert_eq(store_customer_name_free(fx_s, "société GENERALE", 0, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "name");
	cr_assert(strstr(e.message, "\"Société Générale\" already exists"), "%s", e.message);
	pd_err_clear(&e);
	cr_assert_eq(store_customer_name_free(fx_s, "Other", 0, &e), PD_OK);
	cr_assert_eq(store_customer_name_free(fx_s, "Other", 0, NULL), PD_OK);
	/* the customer itself may keep its name */
	int64_t sg = fx_scalar(NULL, "SELECT id FROM customers WHERE name = 'Société Générale'");
	cr_assert_eq(store_customer_name_free(fx_s, "SOCIETE generale", sg, &e), PD_OK);

	/* Renaming onto a taken name is refused too. */
	pd_customer c = {0};
	cr_assert_eq(create_named("Second", NULL, false, 0, &c, &e), PD_OK);
	pd_set_str(&c.name, "SOCIETE générale");
	cr_assert_eq(store_customer_update(fx_s, &c, &fx_alice, NULL, NULL, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "name");
	pd_customer_free(&c);
}

Test(customers, find_by_tenant_number_and_folded_name)
{
	pd_customer c = {0}, f = {0};
	pd_err e = {0};
	cr_assert_eq(create_named("Crème Brûlée SA", NULL, false, 0, &c, &e), PD_OK);
	cr_assert_eq(store_customer_find(fx_s, c.tenant_id, &f, &e), PD_OK);
	cr_assert_eq(f.id, c.id);
	pd_customer_free(&f);
	char num[32];
	snprintf(num, sizeof num, "#%lld", (long long)c.id);
	cr_assert_eq(store_customer_find(fx_s, num, &f, &e), PD_OK);
	pd_customer_free(&f);
	cr_assert_eq(store_customer_find(fx_s, "creme brulee sa", &f, &e), PD_OK);
	cr_assert_str_eq(f.name, "Crème Brûlée SA");
	pd_customer_free(&f);
	cr_assert_eq(store_customer_find(fx_s, "nobody", &f, &e), PD_E_NOTFOUND);
	cr_assert(strstr(e.message, "nobody"));
	cr_assert_eq(store_customer_find(fx_s, "#abc", &f, &e), PD_E_USAGE);
	pd_customer_free(&c);
}

Test(customers, internal_system_limit)
{
	pd_err e = {0};
	pd_customer a = {0}, b = {0};
	cr_assert_eq(create_named("Demo Tenant", NULL, true, 0, &a, &e), PD_OK, "%s", e.message);
	cr_assert_eq(create_named("Second Demo", NULL, true, 0, NULL, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "internal_system");
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM customers"), 1);
	cr_assert_eq(create_named("Plain", NULL, false, 0, &b, &e), PD_OK);
	b.internal_system = true;
	cr_assert_eq(store_customer_update(fx_s, &b, &fx_alice, NULL, NULL, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "internal_system");
	/* Saving the internal one itself is fine (it does not count twice). */
	pd_set_str(&a.notes, "still the demo");
	cr_assert_eq(store_customer_update(fx_s, &a, &fx_alice, NULL, NULL, &e), PD_OK, "%s",
	             e.message);
	/* Deleting it frees the slot; restoring it while another took it is refused. */
	cr_assert_eq(store_customer_delete(fx_s, a.id, "demo tenant", 0, &fx_alice, &e), PD_OK,
	             "%s", e.message);
	b.version = 1;
	cr_assert_eq(store_customer_update(fx_s, &b, &fx_alice, NULL, NULL, &e), PD_OK, "%s",
	             e.message);
	cr_assert_eq(store_customer_restore(fx_s, a.id, &fx_alice, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "internal_system");
	pd_customer_free(&a);
	pd_customer_free(&b);
}

Test(customers, internal_limit_is_configurable)
{
	store_close(fx_s);
	pd_store_opts o = fx_opts();
	o.internal_systems_limit = 2;
	pd_err e = {0};
	cr_assert_eq(store_open(fx_db, &o, &fx_s, &e), PD_OK);
	cr_assert_eq(create_named("D1", NULL, true, 0, NULL, &e), PD_OK);
	cr_assert_eq(create_named("D2", NULL, true, 0, NULL, &e), PD_OK);
	cr_assert_eq(create_named("D3", NULL, true, 0, NULL, &e), PD_E_INVALID);
	cr_assert(strstr(e.message, "2"), "%s", e.message);
}

Test(customers, locked_product_type_cannot_change)
{
	pd_err e = {0};
	pd_customer c = {0}, out = {0};
	cr_assert_eq(create_named("Locked Inc", "contact-centre-plus", false, 0, &c, &e), PD_OK,
	             "%s", e.message);
	pd_set_str(&c.product_type, "analytics-pro");
	cr_assert_eq(store_customer_update(fx_s, &c, &fx_alice, NULL, NULL, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "product_type");
	cr_assert(strstr(e.message, "locked"), "%s", e.message);
	cr_assert_eq(
	    fx_scalar(NULL,
	              "SELECT count(*) FROM customers WHERE product_type = 'contact-centre-plus'"),
	    1);

	pd_customer u = {0};
	cr_assert_eq(create_named("Unlocked Inc", "analytics-pro", false, 0, &u, &e), PD_OK);
	pd_set_str(&u.product_type, "analytics-essentials");
	cr_assert_eq(store_customer_update(fx_s, &u, &fx_alice, &out, NULL, &e), PD_OK, "%s",
	             e.message);
	cr_assert_str_eq(out.product_type, "analytics-essentials");
	cr_assert_eq(out.version, 2);
	pd_customer_free(&c);
	pd_customer_free(&u);
	pd_customer_free(&out);
}

Test(customers, stale_version_conflict_names_what_changed_and_loses_nothing)
{
	pd_err e = {0};
	pd_customer base = {0}, mine = {0}, theirs = {0}, cur = {0}, out = {0};
	cr_assert_eq(create_named("Acme", NULL, false, 0, &base, &e), PD_OK);
	pd_customer_copy(&mine, &base);
	pd_customer_copy(&theirs, &base);
	/* Alice renames and saves first. */
	pd_set_str(&theirs.name, "Acme Europe");
	cr_assert_eq(store_customer_update(fx_s, &theirs, &fx_alice, NULL, NULL, &e), PD_OK, "%s",
	             e.message);
	/* Bob, still on version 1, changes the reference. */
	pd_set_str(&mine.reference, "BOB-7");
	cr_assert_eq(store_customer_update(fx_s, &mine, &fx_bob, &out, &cur, &e), PD_E_CONFLICT);
	cr_assert(strstr(e.message, "changed by alice at "), "%s", e.message);
	cr_assert(strstr(e.message, "name: \"Acme\" → \"Acme Europe\""), "%s", e.message);
	cr_assert_null(strstr(e.message, "BOB-7"), "own edit reported as theirs: %s", e.message);
	cr_assert_str_eq(cur.name, "Acme Europe");
	cr_assert_eq(cur.version, 2);
	/* Bob's save wrote nothing; his edit is still in his record. */
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM customers WHERE reference = 'BOB-7'"),
	             0);
	cr_assert_str_eq(mine.reference, "BOB-7");
	/* Re-applied on the current version, both changes survive. */
	pd_set_str(&cur.reference, mine.reference);
	cr_assert_eq(store_customer_update(fx_s, &cur, &fx_bob, &out, NULL, &e), PD_OK, "%s",
	             e.message);
	cr_assert_str_eq(out.name, "Acme Europe");
	cr_assert_str_eq(out.reference, "BOB-7");
	cr_assert_eq(out.version, 3);
	/* A stale delete is refused the same way. */
	cr_assert_eq(store_customer_delete(fx_s, base.id, "Acme Europe", 1, &fx_bob, &e),
	             PD_E_CONFLICT);
	pd_customer_free(&base);
	pd_customer_free(&mine);
	pd_customer_free(&theirs);
	pd_customer_free(&cur);
	pd_customer_free(&out);
}

Test(customers, update_validates_through_core_rules)
{
	pd_err e = {0};
	pd_customer c = {0};
	cr_assert_eq(create_named("Valid", NULL, false, 0, &c, &e), PD_OK);
	pd_set_str(&c.name, "   ");
	cr_assert_eq(store_customer_update(fx_s, &c, &fx_alice, NULL, NULL, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "name");
	pd_set_str(&c.name, "Valid");
	memcpy(c.country, "ZZ", 3);
	cr_assert_eq(store_customer_update(fx_s, &c, &fx_alice, NULL, NULL, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "country");
	cr_assert_eq(fx_scalar(NULL, "SELECT version FROM customers"), 1);
	/* An unchanged save writes nothing and keeps the version. */
	memcpy(c.country, "FR", 3);
	int64_t audits = fx_scalar(NULL, "SELECT count(*) FROM audit");
	cr_assert_eq(store_customer_update(fx_s, &c, &fx_alice, NULL, NULL, &e), PD_OK, "%s",
	             e.message);
	cr_assert_eq(fx_scalar(NULL, "SELECT version FROM customers"), 1);
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM audit"), audits);
	pd_customer_free(&c);
}

Test(customers, delete_confirm_and_restore)
{
	pd_err e = {0};
	pd_customer c = {0}, f = {0};
	cr_assert_eq(create_named("Société Générale", NULL, false, 0, &c, &e), PD_OK);
	cr_assert_eq(store_customer_delete(fx_s, c.id, "Societe", 0, &fx_alice, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "confirm");
	cr_assert_eq(store_customer_delete(fx_s, c.id, "SOCIETE GENERALE", 0, &fx_alice, &e), PD_OK,
	             "%s", e.message);
	cr_assert_eq(store_customer_get(fx_s, c.id, &f, &e), PD_OK);
	cr_assert_neq(f.deleted_at, 0);
	cr_assert_eq(pd_customer_status_of(&f, pd_today()), PD_CS_DELETED);
	pd_customer_free(&f);
	cr_assert_eq(store_customer_delete(fx_s, c.id, "Société Générale", 0, &fx_alice, &e),
	             PD_E_INVALID);
	/* Edits on a deleted customer are refused. */
	c.version = 2;
	cr_assert_eq(store_customer_update(fx_s, &c, &fx_alice, NULL, NULL, &e), PD_E_INVALID);
	/* The name is free again; restoring the old one is then refused. */
	pd_customer other = {0};
	cr_assert_eq(create_named("societe generale", NULL, false, 0, &other, &e), PD_OK, "%s",
	             e.message);
	cr_assert_eq(store_customer_restore(fx_s, c.id, &fx_alice, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "name");
	cr_assert(strstr(e.message, "cannot restore"), "%s", e.message);
	pd_set_str(&other.name, "Another Name");
	cr_assert_eq(store_customer_update(fx_s, &other, &fx_alice, NULL, NULL, &e), PD_OK);
	cr_assert_eq(store_customer_restore(fx_s, c.id, &fx_alice, &e), PD_OK, "%s", e.message);
	cr_assert_eq(store_customer_get(fx_s, c.id, &f, &e), PD_OK);
	cr_assert_eq(f.deleted_at, 0);
	cr_assert_eq(f.version, 3);
	pd_customer_free(&f);
	cr_assert_eq(store_customer_restore(fx_s, c.id, &fx_alice, &e), PD_E_INVALID);

	pd_audit *a;
	size_t na;
	cr_assert_eq(store_audit_list(fx_s, c.id, 2, &a, &na, &e), PD_OK);
	cr_assert_eq(na, 2);
	cr_assert_str_eq(a[0].action, "restore");
	cr_assert_str_eq(a[1].action, "delete");
	cr_assert(strstr(a[1].detail, "deleted: no → yes"), "%s", a[1].detail);
	pd_audits_free(a, na);
	pd_customer_free(&c);
	pd_customer_free(&other);
}

Test(customers, disable_and_enable)
{
	pd_err e = {0};
	pd_customer c = {0}, f = {0};
	cr_assert_eq(create_named("Switch", NULL, false, 0, &c, &e), PD_OK);
	cr_assert_eq(store_customer_set_disabled(fx_s, c.id, true, &fx_alice, &e), PD_OK);
	cr_assert_eq(store_customer_get(fx_s, c.id, &f, &e), PD_OK);
	cr_assert_eq(pd_customer_status_of(&f, pd_today()), PD_CS_DISABLED);
	pd_customer_free(&f);
	cr_assert_eq(store_customer_set_disabled(fx_s, c.id, false, &fx_alice, &e), PD_OK);
	cr_assert_eq(store_customer_get(fx_s, c.id, &f, &e), PD_OK);
	cr_assert_eq(pd_customer_status_of(&f, pd_today()), PD_CS_ACTIVE);
	cr_assert_eq(f.version, 3);
	pd_customer_free(&f);
	pd_customer_free(&c);
}

Test(customers, trial_extend_end_convert)
{
	setenv("PROVDESK_TODAY", "2026-03-10", 1);
	pd_day today = pd_today();
	pd_err e = {0};
	pd_customer c = {0}, f = {0};
	cr_assert_eq(create_named("Trial Co", NULL, false, 30, &c, &e), PD_OK, "%s", e.message);
	cr_assert(c.trial);
	cr_assert_eq(c.trial_start, today);
	cr_assert_eq(c.trial_end, today + 29);
	cr_assert_eq(store_trial_extend(fx_s, c.id, 10, &fx_alice, &e), PD_OK, "%s", e.message);
	cr_assert_eq(store_customer_get(fx_s, c.id, &f, &e), PD_OK);
	cr_assert_eq(f.trial_end, today + 39);
	pd_customer_free(&f);
	cr_assert_eq(store_trial_extend(fx_s, c.id, 0, &fx_alice, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "days");
	cr_assert_eq(store_trial_end(fx_s, c.id, &fx_alice, &e), PD_OK, "%s", e.message);
	cr_assert_eq(store_customer_get(fx_s, c.id, &f, &e), PD_OK);
	cr_assert_eq(f.trial_end, today - 1);
	cr_assert_eq(pd_customer_status_of(&f, today), PD_CS_TRIAL_EXPIRED);
	pd_customer_free(&f);
	cr_assert_eq(store_trial_end(fx_s, c.id, &fx_alice, &e), PD_E_INVALID);
	cr_assert_eq(store_trial_convert(fx_s, c.id, &fx_alice, &e), PD_OK, "%s", e.message);
	cr_assert_eq(store_customer_get(fx_s, c.id, &f, &e), PD_OK);
	cr_assert_eq(pd_customer_status_of(&f, today), PD_CS_ACTIVE);
	cr_assert(f.trial_converted);
	pd_customer_free(&f);
	cr_assert_eq(store_trial_convert(fx_s, c.id, &fx_alice, &e), PD_E_INVALID);
	cr_assert_eq(store_trial_extend(fx_s, c.id, 5, &fx_alice, &e), PD_E_INVALID);
	/* A customer without a trial has no trial actions. */
	pd_customer p = {0};
	cr_assert_eq(create_named("Paid Co", NULL, false, 0, &p, &e), PD_OK);
	cr_assert_eq(store_trial_end(fx_s, p.id, &fx_alice, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "trial");
	/* A product type that forbids trials refuses one at creation. */
	cr_assert_eq(create_named("No Trials", "contact-centre-plus", false, 14, NULL, &e),
	             PD_E_INVALID);
	cr_assert_str_eq(e.field, "trial");
	unsetenv("PROVDESK_TODAY");
	pd_customer_free(&c);
	pd_customer_free(&p);
}

static int64_t hist_rows(int64_t id)
{
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM customer_history WHERE customer_id = %lld",
	         (long long)id);
	return fx_scalar(NULL, sql);
}

/* Billing reads an effective-dated history (schema migration 5): every
 * change of what billing depends on adds one row with the change's time,
 * in the change's own transaction; other edits and refused changes add
 * none. */
Test(customers, billing_history_row_for_every_billing_change)
{
	pd_err e = {0};
	pd_customer c = {0}, cur = {0};
	setenv("PROVDESK_NOW", "2026-10-01T09:00:00", 1);
	cr_assert_eq(create_named("Histo", NULL, false, 30, &c, &e), PD_OK, "%s", e.message);
	cr_assert_eq(hist_rows(c.id), 1);
	cr_assert_eq(fx_scalar(NULL, "SELECT at FROM customer_history"), c.created_at);

	setenv("PROVDESK_NOW", "2026-10-05T10:00:00", 1);
	pd_set_str(&c.notes, "only notes");
	cr_assert_eq(store_customer_update(fx_s, &c, &fx_alice, &cur, NULL, &e), PD_OK, "%s",
	             e.message);
	cr_assert_eq(hist_rows(c.id), 1, "notes are not billed");
	pd_set_str(&cur.product_type, "contact-centre");
	pd_customer_free(&c);
	cr_assert_eq(store_customer_update(fx_s, &cur, &fx_alice, &c, NULL, &e), PD_OK, "%s",
	             e.message);
	cr_assert_eq(hist_rows(c.id), 2);
	/* the clock runs on from PROVDESK_NOW: the change's day, at its time */
	int64_t at = fx_scalar(NULL, "SELECT at FROM customer_history ORDER BY id DESC LIMIT 1");
	cr_assert_eq(at / 86400, pd_today());
	cr_assert(at >= pd_now() - 60 && at <= pd_now(), "%lld", (long long)at);
	/* A stale save is refused and writes no history. */
	pd_customer stale;
	pd_customer_copy(&stale, &cur);
	stale.internal_system = true;
	cr_assert_eq(store_customer_update(fx_s, &stale, &fx_alice, NULL, NULL, &e), PD_E_CONFLICT);
	cr_assert_eq(hist_rows(c.id), 2);
	pd_customer_free(&stale);

	setenv("PROVDESK_NOW", "2026-10-16T15:00:00", 1);
	cr_assert_eq(store_trial_convert(fx_s, c.id, &fx_alice, &e), PD_OK, "%s", e.message);
	cr_assert_eq(hist_rows(c.id), 3);
	cr_assert_eq(fx_scalar(NULL, "SELECT trial_converted FROM customer_history ORDER BY id DESC"
	                             " LIMIT 1"),
	             1);
	cr_assert_eq(store_customer_set_disabled(fx_s, c.id, true, &fx_alice, &e), PD_OK);
	cr_assert_eq(hist_rows(c.id), 4);
	cr_assert_eq(store_customer_delete(fx_s, c.id, "histo", 0, &fx_alice, &e), PD_OK);
	cr_assert_eq(hist_rows(c.id), 5);
	cr_assert_eq(
	    fx_scalar(NULL, "SELECT deleted FROM customer_history ORDER BY id DESC LIMIT 1"), 1);
	cr_assert_eq(store_customer_restore(fx_s, c.id, &fx_alice, &e), PD_OK);
	cr_assert_eq(hist_rows(c.id), 6);
	cr_assert_eq(
	    fx_scalar(NULL, "SELECT deleted FROM customer_history ORDER BY id DESC LIMIT 1"), 0);
	unsetenv("PROVDESK_NOW");
	pd_customer_free(&c);
	pd_customer_free(&cur);
}

static void counts_all_zero(void)
{
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM customers"), 0);
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM users"), 0);
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM outbox"), 0);
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM audit"), 0);
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM pbx"), 0);
}

Test(customers, creation_is_one_transaction_duplicate_extra_email)
{
	pd_new_customer n;
	fx_new(&n, "Half Done", "boss@half.example");
	n.n_users = 2;
	n.users = xcalloc(2, sizeof *n.users);
	n.users[0].display_name = xstrdup("A");
	n.users[0].email = xstrdup("a@half.example");
	n.users[1].display_name = xstrdup("B");
	n.users[1].email = xstrdup("A@HALF.example");
	pd_err e = {0};
	cr_assert_eq(store_customer_create(fx_s, &n, &fx_alice, NULL, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "users[1].email");
	counts_all_zero();
	pd_new_customer_free(&n);
}

/* A failure in the very last step (the PBX row, then the outbox row) must
 * leave nothing: forced with a trigger on the real database. */
static void force_failure_on(const char *table)
{
	sqlite3 *db;
	cr_assert_eq(sqlite3_open(fx_db, &db), SQLITE_OK);
	char sql[200];
	snprintf(
	    sql, sizeof sql,
	    "CREATE TRIGGER test_fail BEFORE INSERT ON %s BEGIN SELECT RAISE(ABORT, 'forced'); END",
	    table);
	cr_assert_eq(sqlite3_exec(db, sql, 0, 0, 0), SQLITE_OK);
	sqlite3_close(db);
}

Test(customers, creation_is_one_transaction_late_pbx_failure)
{
	force_failure_on("pbx");
	pd_new_customer n;
	fx_new(&n, "With PBX", NULL);
	n.pbx = xcalloc(1, sizeof *n.pbx);
	n.pbx->platform = xstrdup("asterisk-ami");
	n.pbx->host = xstrdup("pbx.example");
	n.pbx->port = 5038;
	n.pbx->username = xstrdup("admin");
	n.pbx->secret = xstrdup("hunter2");
	n.pbx->sync_users = n.pbx->monitor = n.pbx->enabled = true;
	pd_err e = {0};
	cr_assert_neq(store_customer_create(fx_s, &n, &fx_alice, NULL, &e), PD_OK);
	counts_all_zero();
	pd_new_customer_free(&n);
}

Test(customers, creation_is_one_transaction_outbox_failure)
{
	force_failure_on("outbox");
	pd_new_customer n;
	fx_new(&n, "No Mail", NULL);
	pd_err e = {0};
	cr_assert_neq(store_customer_create(fx_s, &n, &fx_alice, NULL, &e), PD_OK);
	counts_all_zero();
	pd_new_customer_free(&n);
}

Test(customers, audit_never_contains_the_secret)
{
	pd_new_customer n;
	fx_new(&n, "Secretive", NULL);
	n.pbx = xcalloc(1, sizeof *n.pbx);
	n.pbx->platform = xstrdup("asterisk-ami");
	n.pbx->host = xstrdup("pbx.example");
	n.pbx->port = 5038;
	n.pbx->username = xstrdup("admin");
	n.pbx->secret = xstrdup("S3cr3t-Orig");
	n.pbx->sync_users = n.pbx->monitor = n.pbx->enabled = true;
	pd_customer c = {0};
	pd_err e = {0};
	cr_assert_eq(store_customer_create(fx_s, &n, &fx_alice, &c, &e), PD_OK, "%s", e.message);
	pd_pbx p = {0};
	cr_assert_eq(store_pbx_get(fx_s, c.id, false, &p, &e), PD_OK);
	cr_assert_null(p.secret);
	pd_set_str(&p.secret, "S3cr3t-New");
	pd_set_str(&p.host, "pbx2.example");
	cr_assert_eq(store_pbx_update(fx_s, &p, &fx_alice, &e), PD_OK, "%s", e.message);
	pd_pbx_free(&p);
	cr_assert_eq(store_pbx_get(fx_s, c.id, true, &p, &e), PD_OK);
	cr_assert_str_eq(p.secret, "S3cr3t-New");
	pd_pbx_free(&p);
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM audit WHERE detail LIKE '%S3cr3t%'"), 0);
	cr_assert_eq(
	    fx_scalar(NULL, "SELECT count(*) FROM audit WHERE detail LIKE '%secret: (changed)%'"),
	    2);
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM outbox WHERE body LIKE '%S3cr3t%'"), 0);
	pd_customer_free(&c);
	pd_new_customer_free(&n);
}

Test(customers, batch_is_all_or_nothing_and_a_refused_row_rolls_back_alone)
{
	pd_err e = {0};
	cr_assert_eq(store_begin(fx_s, &e), PD_OK, "%s", e.message);
	cr_assert_eq(create_named("Batch One", NULL, false, 0, NULL, &e), PD_OK, "%s", e.message);
	cr_assert_eq(create_named("BATCH ONE", NULL, false, 0, NULL, &e), PD_E_INVALID);
	cr_assert_eq(create_named("Batch Two", NULL, false, 0, NULL, &e), PD_OK, "%s", e.message);
	/* Nothing is visible to another connection before the commit. */
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM customers"), 0);
	cr_assert_eq(store_commit(fx_s, &e), PD_OK, "%s", e.message);
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM customers"), 2);
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM users"), 2);
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM outbox"), 2);

	cr_assert_eq(store_begin(fx_s, &e), PD_OK);
	cr_assert_eq(create_named("Rolled Back", NULL, false, 0, NULL, &e), PD_OK);
	store_rollback(fx_s);
	cr_assert_eq(store_begin(fx_s, &e), PD_OK);
	cr_assert_eq(store_begin(fx_s, &e), PD_E_INTERNAL, "no nested batches");
	cr_assert_eq(create_named("Closed Unfinished", NULL, false, 0, NULL, &e), PD_OK);
	store_close(fx_s);
	fx_s = fx_open();
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM customers"), 2);
	cr_assert_eq(store_commit(fx_s, &e), PD_E_INTERNAL);
}

/* store_begin_atomic (the import, issue 19): no savepoint per write, so a
 * refused write leaves the batch good only for a rollback: commit refuses
 * and writes nothing, later writes are refused; a good batch commits all,
 * indexed for the filter as a batch is. */
Test(customers, atomic_batch_commits_all_or_nothing)
{
	pd_err e = {0};
	cr_assert_eq(store_begin_atomic(fx_s, &e), PD_OK, "%s", e.message);
	cr_assert_eq(create_named("Atomic One", NULL, false, 0, NULL, &e), PD_OK, "%s", e.message);
	cr_assert_eq(create_named("Atomic Two", NULL, false, 0, NULL, &e), PD_OK, "%s", e.message);
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM customers"), 0);
	cr_assert_eq(store_commit(fx_s, &e), PD_OK, "%s", e.message);
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM customers"), 2);
	cr_assert_eq(fx_scalar(NULL, "SELECT sum(n_users) FROM customers"), 2);
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM outbox"), 2);
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM customers_fts WHERE customers_fts"
	                             " MATCH 'atomic'"),
	             2);

	cr_assert_eq(store_begin_atomic(fx_s, &e), PD_OK);
	cr_assert_eq(create_named("Atomic Three", NULL, false, 0, NULL, &e), PD_OK);
	pd_err_clear(&e);
	cr_assert_eq(create_named("ATOMIC ONE", NULL, false, 0, NULL, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "name");
	pd_err_clear(&e);
	cr_assert_eq(create_named("Atomic Four", NULL, false, 0, NULL, &e), PD_E_INTERNAL,
	             "a failed atomic batch takes no more writes");
	pd_err_clear(&e);
	cr_assert_eq(store_commit(fx_s, &e), PD_E_INTERNAL);
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM customers"), 2, "nothing of it written");
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM audit"), 4);
	/* the connection is usable again, outside any batch */
	pd_err_clear(&e);
	cr_assert_eq(create_named("After", NULL, false, 0, NULL, &e), PD_OK, "%s", e.message);
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM customers"), 3);
}

/* A batch leaves its new customers out of the trigram index until the
 * commit (one flush instead of one index segment per row): after the commit
 * the filter finds them with their final text, older rows changed in the
 * batch are re-indexed as usual, and the index is consistent. */
Test(customers, batch_indexes_its_customers_for_the_filter_at_commit)
{
	pd_err e = {0};
	pd_customer old = {0}, mid = {0};
	cr_assert_eq(create_named("Old Timer", NULL, false, 0, &old, &e), PD_OK, "%s", e.message);
	cr_assert_eq(store_begin(fx_s, &e), PD_OK, "%s", e.message);
	cr_assert_eq(create_named("Zebra Imports", NULL, false, 0, NULL, &e), PD_OK, "%s",
	             e.message);
	cr_assert_eq(create_named("Quokka Renamed Later", NULL, false, 0, &mid, &e), PD_OK);
	pd_set_str(&mid.name, "Wombat Final");
	cr_assert_eq(store_customer_update(fx_s, &mid, &fx_alice, NULL, NULL, &e), PD_OK, "%s",
	             e.message);
	pd_set_str(&old.name, "Old Renamed");
	cr_assert_eq(store_customer_update(fx_s, &old, &fx_alice, NULL, NULL, &e), PD_OK, "%s",
	             e.message);
	/* A refused duplicate still names who has the name. */
	cr_assert_eq(create_named("ZEBRA imports", NULL, false, 0, NULL, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "name");
	cr_assert(strstr(e.message, "(tenant "), "%s", e.message);
	cr_assert_eq(store_commit(fx_s, &e), PD_OK, "%s", e.message);

	const struct {
		const char *filter;
		int64_t n;
	} want[] = {{"zebra", 1}, {"wombat", 1}, {"quokka", 0}, {"timer", 0}, {"renamed", 1}};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		pd_query q = {.filter = want[i].filter, .today = pd_today()};
		int64_t n = -1;
		cr_assert_eq(store_customer_count(fx_s, &q, &n, &e), PD_OK, "%s", e.message);
		cr_assert_eq(n, want[i].n, "filter %s: %lld", want[i].filter, (long long)n);
	}
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM customers_fts WHERE customers_fts"
	                             " MATCH 'zebra'"),
	             1);
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM meta WHERE key = 'fts_deferred_from'"),
	             0);
	/* FTS5's own check that the index matches the content table. */
	sqlite3 *db;
	cr_assert_eq(sqlite3_open(fx_db, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db,
	                          "INSERT INTO customers_fts(customers_fts) VALUES"
	                          " ('integrity-check')",
	                          NULL, NULL, NULL),
	             SQLITE_OK, "%s", sqlite3_errmsg(db));
	sqlite3_close(db);
	/* Outside a batch the triggers index at once again. */
	cr_assert_eq(create_named("Yak Shavers", NULL, false, 0, NULL, &e), PD_OK);
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM customers_fts WHERE customers_fts"
	                             " MATCH 'shavers'"),
	             1);
	pd_customer_free(&old);
	pd_customer_free(&mid);
}

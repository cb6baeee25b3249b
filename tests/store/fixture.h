/* Shared by the store tests: a real database file in a fresh mkdtemp
 * directory, the shipped catalogue, and builders for valid records. */
#ifndef PD_TEST_STORE_FIXTURE_H
#define PD_TEST_STORE_FIXTURE_H

#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "provdesk/paths.h"
#include "provdesk/store.h"
#include "testlib.h" /* tests/lib */

#define FX static __attribute__((unused))

FX char fx_dir[128];
FX char fx_db[512];
FX pd_catalogue fx_cat;
FX pd_store *fx_s;
FX pd_actor fx_alice = {"alice", "192.0.2.7"};
FX pd_actor fx_bob = {"bob", ""};

FX void fx_load_catalogue(void)
{
	char *path = tl_data_path("catalogue.json");
	pd_err e = {0};
	cr_assert_eq(pd_catalogue_load(path, &fx_cat, &e), PD_OK, "catalogue: %s", e.message);
	free(path);
}

/* PD_TEST_SLOW: a test's own time constants scale by it (tests/lib). */
FX int fx_slow(void)
{
	return tl_slow();
}

FX pd_store_opts fx_opts(void)
{
	pd_store_opts o = {
	    .catalogue = &fx_cat, .internal_systems_limit = 1, .busy_timeout_ms = 5000};
	return o;
}

FX pd_store *fx_open(void)
{
	pd_store_opts o = fx_opts();
	pd_store *s = NULL;
	pd_err e = {0};
	cr_assert_eq(store_open(fx_db, &o, &s, &e), PD_OK, "open: %s", e.message);
	return s;
}

FX void fx_setup(void)
{
	char *d = tl_tmpdir("pd-store");
	cr_assert_not_null(d);
	cr_assert_lt(strlen(d), sizeof fx_dir);
	snprintf(fx_dir, sizeof fx_dir, "%s", d);
	free(d);
	snprintf(fx_db, sizeof fx_db, "%s/sub/provdesk.db", fx_dir);
	fx_load_catalogue();
	fx_s = NULL;
}

FX void fx_setup_open(void)
{
	fx_setup();
	fx_s = fx_open();
}

FX void fx_teardown(void)
{
	store_close(fx_s);
	fx_s = NULL;
	pd_catalogue_free(&fx_cat);
	tl_rmrf(fx_dir);
}

/* A valid creation bundle; caller frees with pd_new_customer_free. */
FX void fx_new(pd_new_customer *n, const char *name, const char *email)
{
	memset(n, 0, sizeof *n);
	n->customer.name = xstrdup(name);
	n->customer.product_type = xstrdup("analytics-pro");
	memcpy(n->customer.country, "FR", 3);
	n->admin.display_name = xstrdup("Admin Person");
	n->admin.email = xstrdup(email ? email : "admin@example.com");
}

FX int64_t fx_create(const char *name)
{
	pd_new_customer n;
	fx_new(&n, name, NULL);
	pd_customer c = {0};
	pd_err e = {0};
	cr_assert_eq(store_customer_create(fx_s, &n, &fx_alice, &c, &e), PD_OK, "create %s: %s",
	             name, e.message);
	int64_t id = c.id;
	pd_customer_free(&c);
	pd_new_customer_free(&n);
	return id;
}

/* An Asterisk AMI connection for customer cid on host:port (user admin,
 * the given secret), syncing users and monitored; enabled or not, with
 * sub-accounts provisioned or not. */
FX void fx_add_ami_pbx_at(int64_t cid, const char *host, int port, const char *secret, bool enabled,
                          bool auto_provision)
{
	pd_pbx p = {0};
	p.platform = xstrdup("asterisk-ami");
	p.host = xstrdup(host);
	p.port = port;
	p.username = xstrdup("admin");
	p.secret = xstrdup(secret);
	p.sync_users = p.monitor = true;
	p.enabled = enabled;
	p.auto_provision = auto_provision;
	pd_err e = {0};
	cr_assert_eq(store_pbx_add(fx_s, cid, &p, &fx_alice, &e), PD_OK, "%s", e.message);
	pd_pbx_free(&p);
}

/* The same on 127.0.0.1, enabled, without sub-accounts. */
FX void fx_add_ami_pbx(int64_t cid, int port, const char *secret)
{
	fx_add_ami_pbx_at(cid, "127.0.0.1", port, secret, true, false);
}

FX int64_t fx_scalar(pd_store *s, const char *sql)
{
	(void)s;
	/* A separate read connection: counts what is really committed. */
	sqlite3 *db;
	int rc = sqlite3_open_v2(fx_db, &db, SQLITE_OPEN_READONLY, NULL);
	cr_assert_eq(rc, SQLITE_OK, "open %s read-only: %s (%s; errno %d)", fx_db,
	             sqlite3_errstr(rc), db ? sqlite3_errmsg(db) : "",
	             db ? sqlite3_system_errno(db) : 0);
	sqlite3_stmt *st;
	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s",
	             sqlite3_errmsg(db));
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

#endif

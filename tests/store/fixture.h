/* Shared by the store tests: a real database file in a fresh mkdtemp
 * directory, the shipped catalogue, and builders for valid records. */
#ifndef PD_TEST_STORE_FIXTURE_H
#define PD_TEST_STORE_FIXTURE_H

#include <criterion/criterion.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "provdesk/paths.h"
#include "provdesk/store.h"

#define FX static __attribute__((unused))

FX char fx_dir[128];
FX char fx_db[512];
FX pd_catalogue fx_cat;
FX pd_store *fx_s;
FX pd_actor fx_alice = {"alice", "192.0.2.7"};
FX pd_actor fx_bob = {"bob", ""};

FX int fx_rm(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	chmod(p, 0700);
	return remove(p);
}

FX void fx_load_catalogue(void)
{
	const char *dd = getenv("PROVDESK_DATADIR");
	char path[512];
	snprintf(path, sizeof path, "%s/catalogue.json", dd ? dd : "data");
	pd_err e = {0};
	cr_assert_eq(pd_catalogue_load(path, &fx_cat, &e), PD_OK, "catalogue: %s", e.message);
}

/* PD_TEST_SLOW=N (the valgrind test setup sets 10): our code runs about N
 * times slower, so a test's own time constants scale by it. */
FX int fx_slow(void)
{
	const char *v = getenv("PD_TEST_SLOW");
	int n = v ? atoi(v) : 1;
	return n > 1 ? n : 1;
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
	snprintf(fx_dir, sizeof fx_dir, "/tmp/pd-store-XXXXXX");
	cr_assert_not_null(mkdtemp(fx_dir));
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
	nftw(fx_dir, fx_rm, 16, FTW_DEPTH | FTW_PHYS);
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

FX int64_t fx_scalar(pd_store *s, const char *sql)
{
	(void)s;
	/* A separate read connection: counts what is really committed. */
	sqlite3 *db;
	cr_assert_eq(sqlite3_open_v2(fx_db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
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

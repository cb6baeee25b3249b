/* Opening the database: file mode, versioning, refusing newer / corrupt /
 * unreadable files, catalogue sync, data_version. */
#include <fcntl.h>
#include <sys/stat.h>

#include "fixture.h"

TestSuite(store_open, .init = fx_setup, .fini = fx_teardown);

/* the whole file (tests/lib), which must be readable */
static char *slurp(const char *path, size_t *n)
{
	char *b = tl_slurp(path, n);
	cr_assert_not_null(b, "cannot read %s", path);
	return b;
}

Test(store_open, creates_dir_and_file_owner_only)
{
	mode_t old = umask(0);
	fx_s = fx_open();
	umask(old);
	struct stat sb;
	cr_assert_eq(stat(fx_db, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0600, "mode %o", sb.st_mode & 0777);
	char dir[300];
	snprintf(dir, sizeof dir, "%s/sub", fx_dir);
	cr_assert_eq(stat(dir, &sb), 0);
	cr_assert_eq(sb.st_mode & 0077, 0, "directory mode %o", sb.st_mode & 0777);
	cr_assert_eq(store_schema_version(fx_s), PD_SCHEMA_VERSION_CURRENT);
	/* WAL and the other files SQLite creates follow the database's mode. */
	pd_customer c = {0};
	fx_create("Mode Check");
	char wal[600];
	snprintf(wal, sizeof wal, "%s-wal", fx_db);
	if (stat(wal, &sb) == 0)
		cr_assert_eq(sb.st_mode & 0077, 0, "wal mode %o", sb.st_mode & 0777);
	pd_customer_free(&c);
}

/* Sharing is the admin's choice on the file, not the folder's: a new
 * database is 0600 even in a setgid folder under a umask that keeps group
 * bits (docs/user-guide.md, "Sharing a database"). */
Test(store_open, group_shared_directory_still_gives_0600)
{
	char dir[300];
	snprintf(dir, sizeof dir, "%s/team", fx_dir);
	cr_assert_eq(mkdir(dir, 0770), 0);
	cr_assert_eq(chmod(dir, 02770), 0);
	snprintf(fx_db, sizeof fx_db, "%s/provdesk.db", dir);
	mode_t old = umask(002);
	fx_s = fx_open();
	umask(old);
	struct stat sb;
	cr_assert_eq(stat(fx_db, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0600, "mode %o", sb.st_mode & 0777);
}

Test(store_open, world_writable_directory_is_not_group_shared)
{
	char dir[300];
	snprintf(dir, sizeof dir, "%s/tmp-like", fx_dir);
	cr_assert_eq(mkdir(dir, 0700), 0);
	cr_assert_eq(chmod(dir, 01777), 0); /* like /tmp */
	snprintf(fx_db, sizeof fx_db, "%s/provdesk.db", dir);
	fx_s = fx_open();
	struct stat sb;
	cr_assert_eq(stat(fx_db, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0600, "mode %o", sb.st_mode & 0777);
}

Test(store_open, existing_file_mode_is_kept_and_reopen_is_idempotent)
{
	fx_s = fx_open();
	fx_create("Kept");
	store_close(fx_s);
	chmod(fx_db, 0640);
	fx_s = fx_open();
	struct stat sb;
	cr_assert_eq(stat(fx_db, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0640);
	pd_customer c = {0};
	cr_assert_eq(store_customer_find(fx_s, "kept", &c, NULL), PD_OK);
	cr_assert_str_eq(c.name, "Kept");
	pd_customer_free(&c);
}

Test(store_open, newer_schema_refused_and_file_untouched)
{
	fx_s = fx_open();
	fx_create("From The Future");
	store_close(fx_s);
	fx_s = NULL;
	/* Another (newer) provdesk bumped the schema; checkpointed, no WAL. */
	sqlite3 *db;
	cr_assert_eq(sqlite3_open(fx_db, &db), SQLITE_OK);
	cr_assert_eq(
	    sqlite3_exec(db, "PRAGMA journal_mode=DELETE; PRAGMA user_version = 99", 0, 0, 0),
	    SQLITE_OK);
	sqlite3_close(db);
	size_t n1, n2;
	char *before = slurp(fx_db, &n1);
	struct stat sb1, sb2;
	stat(fx_db, &sb1);
	usleep(20000);

	pd_store_opts o = fx_opts();
	pd_store *s = NULL;
	pd_err e = {0};
	cr_assert_eq(store_open(fx_db, &o, &s, &e), PD_E_CONFIG);
	cr_assert_null(s);
	cr_assert(strstr(e.message, "99") && strstr(e.message, fx_db), "%s", e.message);
	cr_assert(strstr(e.message, "newer"), "%s", e.message);

	char *after = slurp(fx_db, &n2);
	stat(fx_db, &sb2);
	cr_assert_eq(n1, n2);
	cr_assert(memcmp(before, after, n1) == 0, "database bytes changed");
	cr_assert_eq(sb1.st_mtim.tv_sec, sb2.st_mtim.tv_sec);
	cr_assert_eq(sb1.st_mtim.tv_nsec, sb2.st_mtim.tv_nsec);
	free(before);
	free(after);
}

Test(store_open, garbage_file_is_a_clear_error)
{
	char dir[300];
	snprintf(dir, sizeof dir, "%s/sub", fx_dir);
	mkdir(dir, 0700);
	FILE *f = fopen(fx_db, "wb");
	for (int i = 0; i < 4096; i++)
		fputc((i * 7919) & 0xff, f);
	fclose(f);
	pd_store_opts o = fx_opts();
	pd_store *s = NULL;
	pd_err e = {0};
	cr_assert_eq(store_open(fx_db, &o, &s, &e), PD_E_NOINPUT);
	cr_assert_null(s);
	cr_assert(strstr(e.message, fx_db), "%s", e.message);
	cr_assert_eq(pd_status_exit_code(e.status), 66);
}

Test(store_open, corrupt_database_pages_are_a_clear_error)
{
	fx_s = fx_open();
	for (int i = 0; i < 50; i++) {
		char name[32];
		snprintf(name, sizeof name, "Corrupt %d", i);
		fx_create(name);
	}
	store_close(fx_s);
	fx_s = NULL;
	/* Keep the header, overwrite the schema page and what follows. */
	int fd = open(fx_db, O_WRONLY);
	cr_assert_geq(fd, 0);
	char junk[8192];
	memset(junk, 0xA5, sizeof junk);
	cr_assert_eq(pwrite(fd, junk, sizeof junk, 100), (ssize_t)sizeof junk);
	close(fd);
	pd_store_opts o = fx_opts();
	pd_store *s = NULL;
	pd_err e = {0};
	cr_assert_eq(store_open(fx_db, &o, &s, &e), PD_E_NOINPUT, "%s", e.message);
	cr_assert(strstr(e.message, fx_db), "%s", e.message);
}

/* Tests run as root, for whom chmod 000 blocks nothing; a directory in
 * place of the file is the unreadable case we can produce for real. */
Test(store_open, directory_in_place_of_file_is_refused)
{
	cr_assert_eq(mkdir(fx_db, 0700) == 0 || pd_mkdir_p(fx_db, 0700) == 0, true);
	pd_store_opts o = fx_opts();
	pd_store *s = NULL;
	pd_err e = {0};
	cr_assert_eq(store_open(fx_db, &o, &s, &e), PD_E_NOINPUT);
	cr_assert(strstr(e.message, fx_db) && strstr(e.message, "directory"), "%s", e.message);
}

Test(store_open, foreign_sqlite_database_is_refused_untouched)
{
	char dir[300];
	snprintf(dir, sizeof dir, "%s/sub", fx_dir);
	mkdir(dir, 0700);
	sqlite3 *db;
	cr_assert_eq(sqlite3_open(fx_db, &db), SQLITE_OK);
	cr_assert_eq(
	    sqlite3_exec(db, "CREATE TABLE other(x); INSERT INTO other VALUES (1)", 0, 0, 0),
	    SQLITE_OK);
	sqlite3_close(db);
	pd_store_opts o = fx_opts();
	pd_store *s = NULL;
	pd_err e = {0};
	cr_assert_eq(store_open(fx_db, &o, &s, &e), PD_E_NOINPUT);
	cr_assert(strstr(e.message, "not a provdesk"), "%s", e.message);
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM sqlite_master"), 1);
}

Test(store_open, read_only_needs_existing_file)
{
	pd_store_opts o = fx_opts();
	o.read_only = true;
	pd_store *s = NULL;
	pd_err e = {0};
	cr_assert_eq(store_open(fx_db, &o, &s, &e), PD_E_NOINPUT);
	struct stat sb;
	cr_assert_neq(stat(fx_db, &sb), 0, "read-only open must not create the file");
	fx_s = fx_open();
	fx_create("Seen Read Only");
	cr_assert_eq(store_open(fx_db, &o, &s, &e), PD_OK, "%s", e.message);
	pd_customer c = {0};
	cr_assert_eq(store_customer_find(s, "seen read only", &c, &e), PD_OK);
	pd_customer_free(&c);
	pd_new_customer n;
	fx_new(&n, "Refused", NULL);
	cr_assert_neq(store_customer_create(s, &n, &fx_alice, NULL, &e), PD_OK);
	pd_new_customer_free(&n);
	store_close(s);
}

Test(store_open, catalogue_is_synced_into_tables)
{
	fx_s = fx_open();
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM product_types WHERE in_catalogue = 1"),
	             (int64_t)fx_cat.n_types);
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM roles"), (int64_t)fx_cat.n_roles);
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM platforms"),
	             (int64_t)fx_cat.n_platforms);
	cr_assert_eq(
	    fx_scalar(NULL, "SELECT locked FROM product_types WHERE key = 'contact-centre-plus'"),
	    1);
	/* Reopening with the same catalogue writes nothing. */
	int64_t dv = store_data_version(fx_s);
	pd_store *other = fx_open();
	store_close(other);
	cr_assert_eq(store_data_version(fx_s), dv);
}

Test(store_open, data_version_moves_on_other_connections_commit)
{
	fx_s = fx_open();
	pd_store *other = fx_open();
	int64_t dv = store_data_version(fx_s);
	int64_t cc = store_change_counter(other);
	fx_create("Someone Else");
	cr_assert_neq(store_data_version(other), -1);
	cr_assert_eq(store_data_version(fx_s), dv, "own commits do not move data_version");
	cr_assert_gt(store_change_counter(fx_s), dv);
	cr_assert_gt(store_change_counter(other), cc);
	store_close(other);
}

#include "src/store/schema.h"

/* A database left at schema 1 by an older provdesk is migrated forward on
 * open, its data kept and indexed by what the new version adds. */
Test(store_open, migrates_a_version_1_database_forward)
{
	char dir[300];
	snprintf(dir, sizeof dir, "%s/sub", fx_dir);
	mkdir(dir, 0700);
	sqlite3 *db;
	cr_assert_eq(sqlite3_open(fx_db, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, schema_migration(1), 0, 0, 0), SQLITE_OK, "%s",
	             sqlite3_errmsg(db));
	cr_assert_eq(
	    sqlite3_exec(
	        db,
	        "INSERT INTO product_types(key, name) VALUES ('analytics-pro', 'Pro');"
	        "INSERT INTO customers(tenant_id, name, name_key, product_type, country, time_zone,"
	        " created_at, updated_at, search) VALUES ('0e4f6a52-0c4b-4d5e-9f4e-3b1f0a6c7d8e',"
	        " 'Vieux Client', 'vieux client', 'analytics-pro', 'FR', 'Europe/Paris', 1, 1,"
	        " 'vieux client' || char(31) || char(31) || '0e4f6a52' || char(31));"
	        "PRAGMA user_version = 1;",
	        0, 0, 0),
	    SQLITE_OK, "%s", sqlite3_errmsg(db));
	sqlite3_close(db);
	fx_s = fx_open();
	cr_assert_eq(store_schema_version(fx_s), PD_SCHEMA_VERSION_CURRENT);
	pd_query q = {.sort = PD_SORT_NAME, .filter = "VIEUX"};
	pd_row row;
	size_t n;
	cr_assert_eq(store_customer_page(fx_s, &q, PD_PAGE_FIRST, NULL, 1, &row, &n, NULL), PD_OK);
	cr_assert_eq(n, 1, "the migrated row is found through the new index");
	cr_assert_str_eq(row.c.name, "Vieux Client");
	pd_row_free(&row);
	/* New writes are indexed by the migration's triggers. */
	fx_create("Nouveau Client");
	q.filter = "nouveau";
	cr_assert_eq(store_customer_page(fx_s, &q, PD_PAGE_FIRST, NULL, 1, &row, &n, NULL), PD_OK);
	cr_assert_eq(n, 1);
	pd_row_free(&row);
}

/* The invitations migration: a user keeps at most one queued invitation (the
 * newest), and one whose user was removed is cancelled. The database is left
 * just before it; opening migrates it to the latest version. */
Test(store_open, invitations_migration_keeps_one_queued_invitation_per_user)
{
	char dir[300];
	snprintf(dir, sizeof dir, "%s/sub", fx_dir);
	mkdir(dir, 0700);
	sqlite3 *db;
	cr_assert_eq(sqlite3_open(fx_db, &db), SQLITE_OK);
	int last = schema_migration_count(), inv = 0;
	for (int v = 1; v <= last && !inv; v++)
		if (strstr(schema_migration(v), "CREATE UNIQUE INDEX outbox_one_queued"))
			inv = v;
	cr_assert(inv > 0, "the invitations migration is in the list");
	for (int v = 1; v < inv; v++)
		cr_assert_eq(sqlite3_exec(db, schema_migration(v), 0, 0, 0), SQLITE_OK, "%d: %s", v,
		             sqlite3_errmsg(db));
	char *sql = sqlite3_mprintf(
	    "INSERT INTO product_types(key, name) VALUES ('analytics-pro', 'Pro');"
	    "INSERT INTO customers(id, tenant_id, name, name_key, product_type, country, time_zone,"
	    " created_at, updated_at, search) VALUES (1, '0e4f6a52-0c4b-4d5e-9f4e-3b1f0a6c7d8e',"
	    " 'Vieux Client', 'vieux client', 'analytics-pro', 'FR', 'Europe/Paris', 1, 1, 'x');"
	    "INSERT INTO users(id, customer_id, display_name, email, email_key, created_at)"
	    " VALUES (7, 1, 'Ann', 'ann@example.com', 'ann@example.com', 1);"
	    "INSERT INTO outbox(id, customer_id, user_id, to_addr, subject, body, state, "
	    "created_at)"
	    " VALUES (1, 1, 7, 'ann@example.com', 's', 'b', 1, 1), (2, 1, 7, 'ann@example.com', "
	    "'s',"
	    " 'b', 1, 2), (3, 1, NULL, 'gone@example.com', 's', 'b', 1, 3), (4, 1, NULL,"
	    " 'gone@example.com', 's', 'b', 3, 4), (5, 1, 7, 'ann@example.com', 's', 'b', 2, 5);"
	    "PRAGMA user_version = %d;",
	    inv - 1);
	cr_assert_eq(sqlite3_exec(db, sql, 0, 0, 0), SQLITE_OK, "%s", sqlite3_errmsg(db));
	sqlite3_free(sql);
	sqlite3_close(db);
	fx_s = fx_open();
	cr_assert_eq(store_schema_version(fx_s), last);
	pd_outbox *v = NULL;
	size_t n = 0;
	cr_assert_eq(store_outbox_list(fx_s, 1, &v, &n, NULL), PD_OK);
	cr_assert_eq(n, 5);
	pd_invite_state want[] = {PD_INVITE_CANCELLED, PD_INVITE_QUEUED, PD_INVITE_CANCELLED,
	                          PD_INVITE_CANCELLED, PD_INVITE_SENT};
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(v[i].state, want[i], "#%lld: %s", (long long)v[i].id,
		             pd_invite_state_name(v[i].state));
	pd_outboxes_free(v, n);
}

/* The lock beside the database (one outbox sender, one wizard per OS user). */
Test(store_open, lock_file_beside_the_database)
{
	fx_s = fx_open();
	int a = -1, b = -1, again = -1, odd = -1, none = 7;
	cr_assert_eq(store_lock_file(fx_s, "wizard-alice", &a, NULL), PD_OK);
	cr_assert_geq(a, 0, "first holder gets it");
	/* another process would be refused: flock locks are per open file */
	pd_err e = {0};
	cr_assert_eq(store_lock_file(fx_s, "wizard-alice", &none, &e), PD_E_TEMPFAIL,
	             "second holder refused");
	cr_assert_eq(none, -1);
	cr_assert(strstr(e.message, "-wizard-alice.lock"), "%s", e.message);
	cr_assert_eq(store_lock_file(fx_s, "wizard-bob", &b, NULL), PD_OK);
	cr_assert_geq(b, 0, "another name is another lock");
	char path[600];
	snprintf(path, sizeof path, "%s-wizard-alice.lock", fx_db);
	cr_assert_eq(access(path, F_OK), 0, "%s beside the database", path);
	close(a);
	cr_assert_eq(store_lock_file(fx_s, "wizard-alice", &again, NULL), PD_OK);
	cr_assert_geq(again, 0, "released on close");
	close(again);
	close(b);
	/* a name is never a path */
	cr_assert_eq(store_lock_file(fx_s, "../x y/é", &odd, NULL), PD_OK);
	cr_assert_geq(odd, 0);
	close(odd);
	snprintf(path, sizeof path, "%s-.._x_y___.lock", fx_db);
	cr_assert_eq(access(path, F_OK), 0, "%s", path);
}

/* No lock is possible for an in-memory database: a status says so. */
Test(store_open, lock_file_in_memory_is_unavailable)
{
	pd_store_opts o = fx_opts();
	pd_store *m = NULL;
	cr_assert_eq(store_open(":memory:", &o, &m, NULL), PD_OK);
	int fd = 7;
	cr_assert_eq(store_lock_file(m, "outbox", &fd, NULL), PD_E_UNAVAILABLE);
	cr_assert_eq(fd, -1);
	store_close(m);
}

/* ---- billing history (schema migration 5) ---- */

typedef struct {
	int n;
	char lines[8][200];
} hist_bill;

static pd_status hist_collect(const pd_billing_line *l, void *ctx, pd_err *e)
{
	(void)e;
	hist_bill *b = ctx;
	char d1[11], d2[11];
	pd_day_format(l->first_day, d1);
	pd_day_format(l->last_day, d2);
	if (b->n < 8)
		snprintf(b->lines[b->n], sizeof b->lines[0], "%s|%s|%s..%s|%d/%d|%lld|%s",
		         l->customer_name, l->product_type, d1, d2, l->billed_days, l->active_days,
		         (long long)l->amount_cents, l->flags);
	b->n++;
	return PD_OK;
}

static hist_bill bill_month(const char *period)
{
	pd_day first;
	int n;
	cr_assert(pd_period_parse(period, &first, &n));
	hist_bill b = {0};
	pd_err e = {0};
	cr_assert_eq(store_billing_export(fx_s, first, n, hist_collect, &b, &e), PD_OK, "%s",
	             e.message);
	return b;
}

/* A database at schema 4 (before the history) with customers: the migration
 * backfills a history, so it bills as it did, except a converted trial, now
 * billed from its conversion (the audit row's day, else the day after the
 * trial, as before). */
Test(store_open, migration_5_backfills_the_billing_history_of_a_version_4_database)
{
	char dir[300];
	snprintf(dir, sizeof dir, "%s/sub", fx_dir);
	mkdir(dir, 0700);
	sqlite3 *db;
	cr_assert_eq(sqlite3_open(fx_db, &db), SQLITE_OK);
	for (int v = 1; v <= 4; v++)
		cr_assert_eq(sqlite3_exec(db, schema_migration(v), 0, 0, 0), SQLITE_OK, "%d: %s", v,
		             sqlite3_errmsg(db));
	/* 2026-09-01 = day 20697; noon = 1788264000 + 43200 */
	cr_assert_eq(
	    sqlite3_exec(
	        db,
	        "INSERT INTO product_types(key, name, price_cents, currency) VALUES"
	        " ('analytics-pro', 'Pro', 1900, 'EUR'), ('contact-centre', 'CC', 3900, 'EUR');"
	        "INSERT INTO roles(key, name) VALUES ('customer-admin', 'Admin');"
	        "INSERT INTO customers(id, tenant_id, name, name_key, product_type, country,"
	        " time_zone, trial, trial_start, trial_end, trial_converted, deleted_at, "
	        "created_at,"
	        " updated_at, search) VALUES"
	        " (1, '11111111-0c4b-4d5e-9f4e-3b1f0a6c7d8e', 'Ancien', 'ancien', 'analytics-pro',"
	        "  'FR', 'Europe/Paris', 0, NULL, NULL, 0, 0, 1788264000, 1788264000, 'ancien'),"
	        " (2, '22222222-0c4b-4d5e-9f4e-3b1f0a6c7d8e', 'Essai', 'essai', 'analytics-pro',"
	        "  'FR', 'Europe/Paris', 1, 20727, 20771, 1, 0, 1790856000, 1790856000, 'essai'),"
	        " (3, '33333333-0c4b-4d5e-9f4e-3b1f0a6c7d8e', 'Parti', 'parti', 'contact-centre',"
	        "  'FR', 'Europe/Paris', 0, NULL, NULL, 0, 1791622800, 1788264000, 1791622800,"
	        "  'parti'),"
	        " (4, '44444444-0c4b-4d5e-9f4e-3b1f0a6c7d8e', 'Sans Audit', 'sans audit',"
	        "  'analytics-pro', 'FR', 'Europe/Paris', 1, 20697, 20735, 1, 0, 1788264000,"
	        "  1788264000, 'sans audit'),"
	        " (5, '55555555-0c4b-4d5e-9f4e-3b1f0a6c7d8e', 'Changeant', 'changeant',"
	        "  'analytics-pro', 'FR', 'Europe/Paris', 0, NULL, NULL, 0, 0, 1788264000,"
	        "  1792490400, 'changeant');"
	        "INSERT INTO users(customer_id, display_name, email, role, created_at)"
	        " SELECT id, 'A', 'a@example.com', 'customer-admin', 1 FROM customers;"
	        "UPDATE customers SET internal_system = 1 WHERE id = 5;"
	        /* Changeant: contact-centre until 2026-10-20 10:00, internal from
	         * 2026-10-16 09:00; a name change that only looks like a product
	         * type change is not taken for one */
	        "INSERT INTO audit(at, actor, customer_id, object, action, detail) VALUES"
	        " (1788264000, 'alice', 5, 'customer', 'create',"
	        "  'name: ∅ → \"Changeant\"; product_type: ∅ → \"contact-centre\"'),"
	        " (1790000000, 'alice', 5, 'customer', 'update',"
	        "  'name: \"X; product_type: \"evil\" → \"Changeant\"'),"
	        " (1792141200, 'alice', 5, 'customer', 'update', 'internal_system: no → yes'),"
	        " (1792490400, 'alice', 5, 'customer', 'update',"
	        "  'notes: ∅ → \"x\"; product_type: \"contact-centre\" → \"analytics-pro\"');"
	        /* converted on 2026-10-16 10:00 UTC */
	        "INSERT INTO audit(at, actor, customer_id, object, action)"
	        " VALUES (1792144800, 'alice', 2, 'customer', 'trial-convert');"
	        "PRAGMA user_version = 4;",
	        0, 0, 0),
	    SQLITE_OK, "%s", sqlite3_errmsg(db));
	sqlite3_close(db);
	fx_s = fx_open();
	cr_assert_eq(store_schema_version(fx_s), PD_SCHEMA_VERSION_CURRENT);
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM customer_history"), 10,
	             "5 creations, 2 conversions, 1 deletion, 2 changes");
	hist_bill b = bill_month("2026-10");
	cr_assert_eq(b.n, 6);
	/* billing-id order: the tenant ids */
	cr_assert_str_eq(b.lines[0], "Ancien|analytics-pro|2026-10-01..2026-10-31|31/31|1900|");
	cr_assert_str_eq(b.lines[1], "Essai|analytics-pro|2026-10-01..2026-10-31|16/31|981|"
	                             "trial 2026-10-01 to 2026-10-15");
	cr_assert_str_eq(b.lines[2], "Parti|contact-centre|2026-10-01..2026-10-10|10/10|1258|"
	                             "deleted 2026-10-10");
	cr_assert_str_eq(b.lines[3], "Sans Audit|analytics-pro|2026-10-01..2026-10-31|22/31|1348|"
	                             "trial 2026-10-01 to 2026-10-09");
	/* from the audit: contact-centre until the 19th, internal from the 16th */
	cr_assert_str_eq(b.lines[4], "Changeant|contact-centre|2026-10-01..2026-10-19|15/19|1887|"
	                             "internal / zero-rated 2026-10-16 to 2026-10-19");
	cr_assert_str_eq(b.lines[5], "Changeant|analytics-pro|2026-10-20..2026-10-31|0/12|0|"
	                             "internal / zero-rated");
	b = bill_month("2026-09");
	cr_assert_eq(b.n, 4, "Essai did not exist in September");
	cr_assert_str_eq(b.lines[2],
	                 "Sans Audit|analytics-pro|2026-09-01..2026-09-30|0/30|0|trial");
	cr_assert_str_eq(b.lines[3], "Changeant|contact-centre|2026-09-01..2026-09-30|30/30|3900|");

	/* Changes after the migration go on the history (its triggers). */
	pd_err e = {0};
	cr_assert_eq(store_customer_delete(fx_s, 1, "ancien", 0, &fx_alice, &e), PD_OK, "%s",
	             e.message);
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM customer_history WHERE customer_id = 1"),
	             2);
	b = bill_month("2026-09");
	cr_assert_str_eq(b.lines[0], "Ancien|analytics-pro|2026-09-01..2026-09-30|30/30|1900|",
	                 "a past month keeps its line after a deletion today");
}

/* A database at schema 7 (users counted and prices read at export time):
 * migration 8 backfills today's licensed-user counts from each customer's
 * creation and today's prices from the start, so it bills as before. */
Test(store_open, migration_8_backfills_users_and_prices_of_a_version_7_database)
{
	char dir[300];
	snprintf(dir, sizeof dir, "%s/sub", fx_dir);
	mkdir(dir, 0700);
	sqlite3 *db;
	cr_assert_eq(sqlite3_open(fx_db, &db), SQLITE_OK);
	for (int v = 1; v <= 7; v++)
		cr_assert_eq(sqlite3_exec(db, schema_migration(v), 0, 0, 0), SQLITE_OK, "%d: %s", v,
		             sqlite3_errmsg(db));
	/* created 2026-09-01 12:00 UTC; contact-centre at 35.00, where the
	 * catalogue file now says 39.00 */
	cr_assert_eq(
	    sqlite3_exec(
	        db,
	        "INSERT INTO product_types(key, name, price_cents, currency) VALUES"
	        " ('analytics-pro', 'Pro', 1900, 'EUR'), ('contact-centre', 'CC', 3500, 'EUR');"
	        "INSERT INTO roles(key, name) VALUES ('customer-admin', 'Admin'), ('agent', 'A');"
	        "INSERT INTO customers(id, tenant_id, name, name_key, product_type, country,"
	        " time_zone, created_at, updated_at, search) VALUES"
	        " (1, '11111111-0c4b-4d5e-9f4e-3b1f0a6c7d8e', 'Deux', 'deux', 'analytics-pro',"
	        "  'FR', 'Europe/Paris', 1788264000, 1788264000, 'deux'),"
	        " (2, '22222222-0c4b-4d5e-9f4e-3b1f0a6c7d8e', 'Un', 'un', 'contact-centre',"
	        "  'FR', 'Europe/Paris', 1788264000, 1788264000, 'un');"
	        "INSERT INTO users(customer_id, display_name, email, role, synced, created_at)"
	        " VALUES (1, 'A', 'a@example.com', 'customer-admin', 0, 1),"
	        " (1, 'B', 'b@example.com', 'agent', 0, 1), (1, 'C', 'c@example.com', NULL, 0, 1),"
	        " (2, 'D', 'd@example.com', 'customer-admin', 0, 1);"
	        "PRAGMA user_version = 7;",
	        0, 0, 0),
	    SQLITE_OK, "%s", sqlite3_errmsg(db));
	sqlite3_close(db);
	setenv("PROVDESK_NOW", "2026-11-10T12:00:00", 1);
	fx_s = fx_open();
	cr_assert_eq(store_schema_version(fx_s), PD_SCHEMA_VERSION_CURRENT);
	cr_assert_eq(fx_scalar(NULL, "SELECT group_concat(customer_id || ':' || users || '@' || at)"
	                             " = '1:2@1788264000,2:1@1788264000' FROM (SELECT * FROM"
	                             " licensed_users_history ORDER BY id)"),
	             1, "counts (with a role) from creation");
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM price_history WHERE at = 0"), 2,
	             "the prices kept, from the start");
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM price_history WHERE at = 0 AND"
	                             " product_type = 'contact-centre' AND price_cents = 3500"),
	             1);
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM price_history WHERE product_type ="
	                             " 'analytics-pro'"),
	             1, "the same price in the file: no new row");
	/* the catalogue synced at the same open: 39.00 from today */
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM price_history WHERE at / 86400 ="
	                             " 20767 AND product_type = 'contact-centre' AND price_cents"
	                             " = 3900"),
	             1);
	hist_bill b = bill_month("2026-10");
	cr_assert_eq(b.n, 2);
	cr_assert_str_eq(b.lines[0], "Deux|analytics-pro|2026-10-01..2026-10-31|31/31|3800|");
	cr_assert_str_eq(b.lines[1], "Un|contact-centre|2026-10-01..2026-10-31|31/31|3500|");
	b = bill_month("2026-11");
	cr_assert_eq(b.n, 3);
	cr_assert_str_eq(b.lines[1], "Un|contact-centre|2026-11-01..2026-11-09|9/9|1050|");
	cr_assert_str_eq(b.lines[2], "Un|contact-centre|2026-11-10..2026-11-30|21/21|2730|");

	/* a later catalogue price change: a row from that day, past months kept */
	int64_t rows = fx_scalar(NULL, "SELECT count(*) FROM price_history");
	store_close(fx_s);
	fx_s = NULL;
	setenv("PROVDESK_NOW", "2026-11-20T08:00:00", 1);
	pd_product_type *pro = NULL;
	for (size_t i = 0; i < fx_cat.n_types; i++)
		if (!strcmp(fx_cat.types[i].key, "analytics-pro"))
			pro = &fx_cat.types[i];
	cr_assert_not_null(pro);
	pro->price_cents = 2900;
	fx_s = fx_open();
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM price_history"), rows + 1);
	b = bill_month("2026-10");
	cr_assert_str_eq(b.lines[0], "Deux|analytics-pro|2026-10-01..2026-10-31|31/31|3800|");
	b = bill_month("2026-11");
	cr_assert_str_eq(b.lines[0], "Deux|analytics-pro|2026-11-01..2026-11-19|19/19|2407|");
	cr_assert_str_eq(b.lines[1], "Deux|analytics-pro|2026-11-20..2026-11-30|11/11|2127|");
	/* opened again with the same prices: nothing written */
	store_close(fx_s);
	fx_s = fx_open();
	cr_assert_eq(fx_scalar(NULL, "SELECT count(*) FROM price_history"), rows + 1);
	unsetenv("PROVDESK_NOW");
}

/* A product type that a live customer uses cannot leave the catalogue: the
 * open is refused (configuration error) naming the type, the file and how
 * many customers use it, and the database keeps the type. */
Test(store_open, catalogue_without_a_product_type_in_use_is_refused)
{
	fx_s = fx_open();
	fx_create("Un");
	int64_t two = fx_create("Deux");
	store_close(fx_s);
	fx_s = NULL;

	size_t n;
	const char *dd = getenv("PROVDESK_DATADIR");
	char src[512], dst[512];
	snprintf(src, sizeof src, "%s/catalogue.json", dd ? dd : "data");
	char *text = slurp(src, &n);
	char *k = strstr(text, "\"key\": \"analytics-pro\"");
	cr_assert_not_null(k);
	memcpy(k, "\"key\": \"analytics-prq\"", 22);
	snprintf(dst, sizeof dst, "%s/catalogue.json", fx_dir);
	FILE *f = fopen(dst, "w");
	cr_assert_not_null(f);
	fwrite(text, 1, n, f);
	fclose(f);
	free(text);
	pd_catalogue other;
	pd_err e = {0};
	cr_assert_eq(pd_catalogue_load(dst, &other, &e), PD_OK, "%s", e.message);

	pd_store_opts o = fx_opts();
	o.catalogue = &other;
	pd_store *s = NULL;
	cr_assert_eq(store_open(fx_db, &o, &s, &e), PD_E_CONFIG);
	cr_assert_null(s);
	cr_assert_str_eq(e.field, "product_type");
	cr_assert(strstr(e.message, "\"analytics-pro\" (used by 2 customers)"), "%s", e.message);
	cr_assert(strstr(e.message, dst), "names the file: %s", e.message);
	cr_assert_eq(
	    fx_scalar(NULL, "SELECT in_catalogue FROM product_types WHERE key = 'analytics-pro'"),
	    1, "nothing written");

	/* Deleted customers do not hold a type in the catalogue. */
	fx_s = fx_open();
	cr_assert_eq(store_customer_delete(fx_s, two, "Deux", 0, &fx_alice, &e), PD_OK);
	int64_t one = fx_scalar(NULL, "SELECT id FROM customers WHERE name = 'Un'");
	cr_assert_eq(store_customer_delete(fx_s, one, "Un", 0, &fx_alice, &e), PD_OK);
	store_close(fx_s);
	fx_s = NULL;
	cr_assert_eq(store_open(fx_db, &o, &s, &e), PD_OK, "%s", e.message);
	store_close(s);
	pd_catalogue_free(&other);
}

/* A database as migration 11 left it (the customers' locale taken away). */
#define UNDO_MIGRATION_12 "ALTER TABLE customers DROP COLUMN locale; PRAGMA user_version = 11;"

/* A database as migration 9 left it (what migrations 10 to 12 add, taken
 * away). */
#define UNDO_MIGRATION_10                                                                          \
	"ALTER TABLE customers DROP COLUMN locale;"          /* migration 12 */                    \
	"DROP TABLE api_idempotency; DROP TABLE api_tokens;" /* migration 11 */                    \
	"DROP TRIGGER pbx_key_pbx_ins; DROP TRIGGER pbx_key_pbx_upd; DROP TRIGGER "                \
	"pbx_key_pbx_del;"                                                                         \
	"DROP TRIGGER pbx_key_status_ins; DROP TRIGGER pbx_key_status_upd;"                        \
	"DROP TRIGGER pbx_key_status_del; DROP INDEX customers_by_pbx;"                            \
	"ALTER TABLE customers DROP COLUMN pbx_key; ALTER TABLE pbx_status DROP COLUMN monitored;" \
	"PRAGMA user_version = 9;"

/* Customers from before migration 12 get their country's default locale,
 * the one a new customer of that country gets. */
Test(store_open, migration_12_gives_every_customer_its_country_locale)
{
	fx_s = fx_open();
	const char *cc[] = {"FR", "CH", "GB", "AQ"};
	int64_t ids[4];
	for (int i = 0; i < 4; i++) {
		char name[16];
		snprintf(name, sizeof name, "M12 %d", i);
		ids[i] = fx_create(name);
	}
	store_close(fx_s);
	fx_s = NULL;
	sqlite3 *db;
	cr_assert_eq(sqlite3_open(fx_db, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, UNDO_MIGRATION_12, 0, 0, 0), SQLITE_OK, "%s",
	             sqlite3_errmsg(db));
	for (int i = 0; i < 4; i++) {
		char *sql = sqlite3_mprintf("UPDATE customers SET country = %Q WHERE id = %lld",
		                            cc[i], (long long)ids[i]);
		cr_assert_eq(sqlite3_exec(db, sql, 0, 0, 0), SQLITE_OK, "%s", sqlite3_errmsg(db));
		sqlite3_free(sql);
	}
	sqlite3_close(db);
	fx_s = fx_open();
	cr_assert_eq(store_schema_version(fx_s), PD_SCHEMA_VERSION_CURRENT);
	const pd_geo *g;
	pd_err e = {0};
	cr_assert_eq(pd_geo_get(&g, &e), PD_OK, "%s", e.message);
	for (int i = 0; i < 4; i++) {
		pd_customer c = {0};
		cr_assert_eq(store_customer_get(fx_s, ids[i], &c, &e), PD_OK, "%s", e.message);
		cr_assert_str_eq(c.locale, pd_geo_default_locale(g, cc[i]), "%s", cc[i]);
		pd_customer_free(&c);
	}
	pd_customer c = {0};
	cr_assert_eq(store_customer_get(fx_s, ids[0], &c, &e), PD_OK);
	cr_assert_str_eq(c.locale, "fr_FR");
	pd_customer_free(&c);
	cr_assert_eq(store_customer_get(fx_s, ids[3], &c, &e), PD_OK);
	cr_assert_str_eq(c.locale, "en_US", "no locale of its own: en_US");
	pd_customer_free(&c);
}

Test(store_open, migration_10_gives_every_customer_its_pbx_key)
{
	fx_s = fx_open();
	int64_t ids[5];
	for (int i = 0; i < 5; i++) {
		char name[16];
		snprintf(name, sizeof name, "M10 %d", i);
		ids[i] = fx_create(name);
	}
	pd_err e = {0};
	for (int i = 0; i < 4;
	     i++) { /* 0 monitoring, 1 auth-failed, 2 disabled, 3 no row; 4 none */
		pd_pbx p = {0};
		p.platform = xstrdup("asterisk-ami");
		p.host = xstrdup("pbx.example.net");
		p.port = 5038;
		p.username = xstrdup("admin");
		p.secret = xstrdup("Pa55-word");
		p.sync_users = p.monitor = true;
		p.enabled = i != 2;
		cr_assert_eq(store_pbx_add(fx_s, ids[i], &p, &fx_alice, &e), PD_OK, "%s",
		             e.message);
		pd_pbx_free(&p);
	}
	pd_pbx_status ps = {
	    .customer_id = ids[0], .link = PD_LINK_MONITORING, .state = "monitoring"};
	cr_assert_eq(store_pbx_status_set(fx_s, &ps, &e), PD_OK, "%s", e.message);
	ps.customer_id = ids[1];
	ps.link = PD_LINK_AUTH_FAILED;
	cr_assert_eq(store_pbx_status_set(fx_s, &ps, &e), PD_OK, "%s", e.message);
	store_close(fx_s);
	fx_s = NULL;
	sqlite3 *db;
	cr_assert_eq(sqlite3_open(fx_db, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, UNDO_MIGRATION_10, 0, 0, 0), SQLITE_OK, "%s",
	             sqlite3_errmsg(db));
	sqlite3_close(db);
	fx_s = fx_open();
	cr_assert_eq(store_schema_version(fx_s), PD_SCHEMA_VERSION_CURRENT);
	const pd_pbx_key want[] = {PD_PBXK_MONITORING, PD_PBXK_AUTH_FAILED, PD_PBXK_DISABLED,
	                           PD_PBXK_NOT_STARTED, PD_PBXK_NONE};
	for (int i = 0; i < 5; i++) {
		char *sql = sqlite3_mprintf("SELECT pbx_key FROM customers WHERE id = %lld",
		                            (long long)ids[i]);
		cr_assert_eq(fx_scalar(fx_s, sql), want[i], "customer %d", i);
		sqlite3_free(sql);
	}
	pd_pbx_status got = {0};
	cr_assert_eq(store_pbx_status_get(fx_s, ids[0], &got, &e), PD_OK);
	cr_assert_not(got.monitored, "a row from before: no running monitor says it is live");
	pd_pbx_status_free(&got);
	/* and the triggers are back: a new state moves the key */
	ps.customer_id = ids[0];
	ps.link = PD_LINK_RETRYING;
	cr_assert_eq(store_pbx_status_set(fx_s, &ps, &e), PD_OK, "%s", e.message);
	cr_assert_eq(fx_scalar(fx_s, "SELECT pbx_key FROM customers WHERE name = 'M10 0'"),
	             PD_PBXK_RETRYING);
}

Test(store_open, migration_9_derives_the_link_state_key_from_the_old_text)
{
	/* a version 8 database: pbx_status has the text only */
	fx_s = fx_open();
	const char *names[] = {"A", "B", "C", "D", "E", "F"};
	int64_t ids[6];
	for (int i = 0; i < 6; i++)
		ids[i] = fx_create(names[i]);
	store_close(fx_s);
	fx_s = NULL;
	sqlite3 *db;
	cr_assert_eq(sqlite3_open(fx_db, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, UNDO_MIGRATION_10, 0, 0, 0), SQLITE_OK, "%s",
	             sqlite3_errmsg(db));
	cr_assert_eq(sqlite3_exec(db,
	                          "ALTER TABLE pbx_status DROP COLUMN link;"
	                          "ALTER TABLE pbx_status DROP COLUMN since;"
	                          "PRAGMA user_version = 8;",
	                          0, 0, 0),
	             SQLITE_OK, "%s", sqlite3_errmsg(db));
	const char *texts[] = {"syncing 3/20",   "monitoring (2 calls dropped)",
	                       "retrying in 8s", "auth failed",
	                       "disabled",       "something else"};
	for (int i = 0; i < 6; i++) {
		char *sql = sqlite3_mprintf("INSERT INTO pbx_status(customer_id, state, updated_at)"
		                            " VALUES (%lld, %Q, %d)",
		                            (long long)ids[i], texts[i], 1794312000 + i);
		cr_assert_eq(sqlite3_exec(db, sql, 0, 0, 0), SQLITE_OK, "%s", sqlite3_errmsg(db));
		sqlite3_free(sql);
	}
	sqlite3_close(db);
	fx_s = fx_open();
	cr_assert_eq(store_schema_version(fx_s), PD_SCHEMA_VERSION_CURRENT);
	const pd_link_state want[] = {PD_LINK_DISCOVERING, PD_LINK_MONITORING, PD_LINK_RETRYING,
	                              PD_LINK_AUTH_FAILED, PD_LINK_DISABLED,   PD_LINK_CONNECTING};
	for (int i = 0; i < 6; i++) {
		pd_pbx_status st;
		pd_err e = {0};
		cr_assert_eq(store_pbx_status_get(fx_s, ids[i], &st, &e), PD_OK, "%s", e.message);
		cr_assert_eq(st.link, want[i], "%s: got %s", texts[i], pd_link_state_name(st.link));
		cr_assert_str_eq(st.state, texts[i], "the text stays beside the key");
		cr_assert_eq(st.since, 1794312000 + i, "since: the row's last update");
		pd_pbx_status_free(&st);
	}
}

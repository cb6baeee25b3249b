/* The schema as a list of forward migrations. Migration i brings a database
 * from user_version i-1 to i; each runs in its own BEGIN IMMEDIATE
 * transaction together with the user_version bump, so a crash leaves the
 * database at the previous version, never half-migrated. */
#include <stddef.h>

#include "schema.h"

/* Migration 8: whether user row r counts as a licensed user, and the last
 * licensed-user count written for r's customer (0 before the first). */
#define LICENSED(r)                                                                                \
	"(" r ".role IS NOT NULL AND NOT (" r ".synced = 1 AND " r ".linked_user_id IS NOT "       \
	"NULL))"
#define LAST_COUNT(r)                                                                              \
	"coalesce((SELECT users FROM licensed_users_history WHERE customer_id = " r                \
	".customer_id ORDER BY id DESC LIMIT 1), 0)"

/* Migration 10: the pbx_key of customer `cid` (an SQL expression), and the
 * statement that writes it for row r's customer when it moved. */
#define PBX_KEY(cid)                                                                               \
	"coalesce((SELECT CASE WHEN p.enabled = 0 THEN 11 ELSE CASE (SELECT ps.link FROM "         \
	"pbx_status ps WHERE ps.customer_id = " cid ")"                                            \
	" WHEN 'auth-failed' THEN 1 WHEN 'protocol-error' THEN 2 WHEN 'config-error' THEN 3"       \
	" WHEN 'retrying' THEN 4 WHEN 'connecting' THEN 5 WHEN 'logging-in' THEN 6"                \
	" WHEN 'discovering' THEN 7 WHEN 'monitoring' THEN 9 WHEN 'unsupported' THEN 10"           \
	" WHEN 'disabled' THEN 11 ELSE 8 END END FROM pbx p WHERE p.customer_id = " cid "), 12)"
#define PBX_KEY_SET(r)                                                                             \
	"UPDATE customers SET pbx_key = " PBX_KEY(                                                 \
	    r ".customer_id") " WHERE id = " r                                                     \
	                      ".customer_id AND pbx_key IS NOT " PBX_KEY(r ".customer_id") ";"

/* as object-like macros: the string below stays in clang-format's shape */
#define PBX_KEY_ALL PBX_KEY("customers.id")
#define PBX_KEY_SET_NEW PBX_KEY_SET("NEW")
#define PBX_KEY_SET_OLD PBX_KEY_SET("OLD")

static const char migration_10[] =
    /* 10 (sort and filter by PBX): customers.pbx_key is the customer's
     * PBX as the grid sorts it, worst first (pd_pbx_key in
     * include/provdesk/store.h): 1 auth-failed, 2 protocol-error,
     * 3 config-error, 4 retrying, 5 connecting, 6 logging-in,
     * 7 discovering, 8 not started (an enabled connection with no stored
     * state), 9 monitoring, 10 unsupported, 11 disabled (the connection,
     * or the state the monitor stored), 12 no PBX. Kept by triggers on
     * pbx and pbx_status in the transaction of the change, and written
     * only when it moves (the monitor's status writes are coalesced), so
     * the sort has an index like every other and the filter a plain
     * column. pbx_status.monitored: 1 while the monitor that wrote the row
     * runs (its writes and heartbeat set it), 0 once it stopped cleanly; a
     * monitor that died leaves 1 and its rows age (pd_pbx_status_fresh).
     * Rows from before: 0, no monitor of theirs says otherwise. */
    "ALTER TABLE customers ADD COLUMN pbx_key INTEGER NOT NULL DEFAULT 12;"
    "CREATE INDEX customers_by_pbx ON customers(pbx_key, id, deleted_at);"
    "ALTER TABLE pbx_status ADD COLUMN monitored INTEGER NOT NULL DEFAULT 0;"
    "UPDATE customers SET pbx_key = " PBX_KEY_ALL ";"
    "CREATE TRIGGER pbx_key_pbx_ins AFTER INSERT ON pbx BEGIN " PBX_KEY_SET_NEW " END;"
    "CREATE TRIGGER pbx_key_pbx_upd AFTER UPDATE OF enabled, customer_id ON pbx"
    " BEGIN " PBX_KEY_SET_OLD " " PBX_KEY_SET_NEW " END;"
    "CREATE TRIGGER pbx_key_pbx_del AFTER DELETE ON pbx BEGIN " PBX_KEY_SET_OLD " END;"
    "CREATE TRIGGER pbx_key_status_ins AFTER INSERT ON pbx_status BEGIN " PBX_KEY_SET_NEW " END;"
    "CREATE TRIGGER pbx_key_status_upd AFTER UPDATE OF link ON pbx_status"
    " WHEN OLD.link IS NOT NEW.link BEGIN " PBX_KEY_SET_NEW " END;"
    "CREATE TRIGGER pbx_key_status_del AFTER DELETE ON pbx_status BEGIN " PBX_KEY_SET_OLD " END;";

static const char
    *const
        migrations
            [] =
                {
                    /* 1: the first schema */
                    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                    "INSERT INTO meta(key, value) VALUES ('pbx_generation', '0');"

                    /* The catalogue, copied in on open so SQL can join on it and so a row
                     * that refers to a key keeps referring to something. Keys dropped from
                     * the file stay with in_catalogue = 0. */
                    "CREATE TABLE product_types(key TEXT PRIMARY KEY, name TEXT NOT NULL,"
                    " description TEXT NOT NULL DEFAULT '', features_json TEXT NOT NULL DEFAULT "
                    "'{}',"
                    " locked INTEGER NOT NULL DEFAULT 0, trial_allowed INTEGER NOT NULL DEFAULT 0,"
                    " price_cents INTEGER NOT NULL DEFAULT 0, currency TEXT NOT NULL DEFAULT '',"
                    " in_catalogue INTEGER NOT NULL DEFAULT 1);"
                    "CREATE TABLE roles(key TEXT PRIMARY KEY, name TEXT NOT NULL,"
                    " description TEXT NOT NULL DEFAULT '', manages_users INTEGER NOT NULL DEFAULT "
                    "0,"
                    " in_catalogue INTEGER NOT NULL DEFAULT 1);"
                    "CREATE TABLE platforms(key TEXT PRIMARY KEY, name TEXT NOT NULL,"
                    " has_sub_accounts INTEGER NOT NULL DEFAULT 0, sub_account_label TEXT,"
                    " supported INTEGER NOT NULL DEFAULT 0, in_catalogue INTEGER NOT NULL DEFAULT "
                    "1);"

                    /* search: folded "name reference tenant notes" for the grid filter.
                     * status_key: a today-independent integer whose order is the status
                     * order (active, trial, trial-expired, disabled, deleted) for any today:
                     * trials sort by end date descending, so expired ones follow live ones. */
                    "CREATE TABLE customers("
                    " id INTEGER PRIMARY KEY,"
                    " tenant_id TEXT NOT NULL UNIQUE,"
                    " name TEXT NOT NULL, name_key TEXT NOT NULL,"
                    " product_type TEXT NOT NULL REFERENCES product_types(key),"
                    " reference TEXT NOT NULL DEFAULT '', country TEXT NOT NULL, time_zone TEXT "
                    "NOT NULL,"
                    " notes TEXT NOT NULL DEFAULT '',"
                    " trial INTEGER NOT NULL DEFAULT 0, trial_start INTEGER, trial_end INTEGER,"
                    " trial_converted INTEGER NOT NULL DEFAULT 0,"
                    " internal_system INTEGER NOT NULL DEFAULT 0, disabled INTEGER NOT NULL "
                    "DEFAULT 0,"
                    " deleted_at INTEGER NOT NULL DEFAULT 0,"
                    " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
                    " version INTEGER NOT NULL DEFAULT 1,"
                    " search TEXT NOT NULL, status_key INTEGER NOT NULL DEFAULT 0,"
                    " n_users INTEGER NOT NULL DEFAULT 0);"
                    "CREATE UNIQUE INDEX customers_live_name ON customers(name_key) WHERE "
                    "deleted_at = 0;"
                    "CREATE INDEX customers_by_name ON customers(name_key, id, deleted_at);"
                    "CREATE INDEX customers_by_product ON customers(product_type, id, deleted_at);"
                    "CREATE INDEX customers_by_reference ON customers(reference, id, deleted_at);"
                    "CREATE INDEX customers_by_country ON customers(country, id, deleted_at);"
                    "CREATE INDEX customers_by_status ON customers(status_key, id, deleted_at);"
                    "CREATE INDEX customers_by_internal ON customers(internal_system, id, "
                    "deleted_at);"
                    "CREATE INDEX customers_by_users ON customers(n_users, id, deleted_at);"
                    "CREATE INDEX customers_by_created ON customers(created_at, id, deleted_at);"
                    "CREATE INDEX customers_billing ON customers(deleted_at);"

                    "CREATE TABLE users("
                    " id INTEGER PRIMARY KEY,"
                    " customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,"
                    " display_name TEXT NOT NULL DEFAULT '', email TEXT, email_key TEXT, extension "
                    "TEXT,"
                    " role TEXT REFERENCES roles(key), is_primary INTEGER NOT NULL DEFAULT 0,"
                    " synced INTEGER NOT NULL DEFAULT 0, endpoint TEXT, sub_account TEXT, "
                    "device_state TEXT,"
                    " linked_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,"
                    " version INTEGER NOT NULL DEFAULT 1, created_at INTEGER NOT NULL);"
                    "CREATE UNIQUE INDEX users_console_email ON users(customer_id, email_key)"
                    " WHERE synced = 0 AND email_key IS NOT NULL;"
                    "CREATE UNIQUE INDEX users_endpoint ON users(customer_id, endpoint) WHERE "
                    "synced = 1;"
                    "CREATE INDEX users_by_customer ON users(customer_id, id);"
                    "CREATE INDEX users_linked ON users(linked_user_id);"
                    /* The grid shows a users count per customer: kept here, in the same
                     * transaction as the change, instead of COUNT(*) per visible row. */
                    "CREATE TRIGGER users_count_ins AFTER INSERT ON users BEGIN"
                    " UPDATE customers SET n_users = n_users + 1 WHERE id = NEW.customer_id; END;"
                    "CREATE TRIGGER users_count_del AFTER DELETE ON users BEGIN"
                    " UPDATE customers SET n_users = n_users - 1 WHERE id = OLD.customer_id; END;"

                    "CREATE TABLE templates("
                    " id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
                    " platform TEXT NOT NULL REFERENCES platforms(key), host TEXT, port INTEGER "
                    "NOT NULL DEFAULT 0,"
                    " tls INTEGER NOT NULL DEFAULT 0, username TEXT, params_json TEXT,"
                    " version INTEGER NOT NULL DEFAULT 1);"

                    "CREATE TABLE pbx("
                    " id INTEGER PRIMARY KEY,"
                    " customer_id INTEGER NOT NULL UNIQUE REFERENCES customers(id) ON DELETE "
                    "CASCADE,"
                    " template_name TEXT, platform TEXT NOT NULL REFERENCES platforms(key),"
                    " host TEXT, port INTEGER NOT NULL DEFAULT 0, tls INTEGER NOT NULL DEFAULT 0,"
                    " username TEXT, secret TEXT, params_json TEXT,"
                    " sync_users INTEGER NOT NULL DEFAULT 1, monitor INTEGER NOT NULL DEFAULT 1,"
                    " auto_provision INTEGER NOT NULL DEFAULT 0, enabled INTEGER NOT NULL DEFAULT "
                    "1,"
                    " version INTEGER NOT NULL DEFAULT 1);"
                    /* The monitor reloads its set of links when this counter moves. */
                    "CREATE TRIGGER pbx_gen_ins AFTER INSERT ON pbx BEGIN"
                    " UPDATE meta SET value = value + 1 WHERE key = 'pbx_generation'; END;"
                    "CREATE TRIGGER pbx_gen_upd AFTER UPDATE ON pbx BEGIN"
                    " UPDATE meta SET value = value + 1 WHERE key = 'pbx_generation'; END;"
                    "CREATE TRIGGER pbx_gen_del AFTER DELETE ON pbx BEGIN"
                    " UPDATE meta SET value = value + 1 WHERE key = 'pbx_generation'; END;"

                    "CREATE TABLE pbx_status("
                    " customer_id INTEGER PRIMARY KEY REFERENCES customers(id) ON DELETE CASCADE,"
                    " state TEXT NOT NULL, last_error TEXT, updated_at INTEGER NOT NULL,"
                    " live_calls INTEGER NOT NULL DEFAULT 0, agents_available INTEGER NOT NULL "
                    "DEFAULT 0,"
                    " agents_logged_on INTEGER NOT NULL DEFAULT 0);"

                    "CREATE TABLE sub_accounts("
                    " id INTEGER PRIMARY KEY,"
                    " customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,"
                    " name TEXT NOT NULL, UNIQUE(customer_id, name));"

                    /* customer_version: the customer's version after the change, so a
                     * conflicting save can say exactly what the other person changed. */
                    "CREATE TABLE audit("
                    " id INTEGER PRIMARY KEY, at INTEGER NOT NULL, actor TEXT NOT NULL, client "
                    "TEXT,"
                    " customer_id INTEGER NOT NULL DEFAULT 0, customer_version INTEGER NOT NULL "
                    "DEFAULT 0,"
                    " object TEXT NOT NULL, action TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '');"
                    "CREATE INDEX audit_by_customer ON audit(customer_id, id);"

                    "CREATE TABLE outbox("
                    " id INTEGER PRIMARY KEY,"
                    " customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,"
                    " user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,"
                    " to_addr TEXT NOT NULL, subject TEXT NOT NULL, body TEXT NOT NULL,"
                    " state INTEGER NOT NULL DEFAULT 1, attempts INTEGER NOT NULL DEFAULT 0,"
                    " next_attempt_at INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL,"
                    " sent_at INTEGER NOT NULL DEFAULT 0, last_error TEXT);"
                    "CREATE INDEX outbox_due ON outbox(state, next_attempt_at, id);"
                    "CREATE INDEX outbox_by_customer ON outbox(customer_id, id);"
                    "CREATE INDEX outbox_by_user ON outbox(user_id, id);"

                    "CREATE TABLE drafts(owner TEXT PRIMARY KEY, json TEXT NOT NULL, saved_at "
                    "INTEGER NOT NULL);",

                    /* 2: a trigram index over the folded search text. A LIKE '%x%' scan
                     * along the sort index must read every row when the matches sit late
                     * in the sort order (440 ms at 100k); the trigram index finds them
                     * directly (bench_store_grid). Filters under 3 characters keep the
                     * LIKE scan, which stops early because short filters match a lot. */
                    "CREATE VIRTUAL TABLE customers_fts USING fts5(search, content='customers',"
                    " content_rowid='id', tokenize='trigram');"
                    "INSERT INTO customers_fts(customers_fts) VALUES ('rebuild');"
                    "CREATE TRIGGER customers_fts_ins AFTER INSERT ON customers BEGIN"
                    " INSERT INTO customers_fts(rowid, search) VALUES (NEW.id, NEW.search); END;"
                    "CREATE TRIGGER customers_fts_del AFTER DELETE ON customers BEGIN"
                    " INSERT INTO customers_fts(customers_fts, rowid, search) VALUES ('delete', "
                    "OLD.id, "
                    "OLD.search); END;"
                    "CREATE TRIGGER customers_fts_upd AFTER UPDATE OF search ON customers"
                    " WHEN OLD.search IS NOT NEW.search BEGIN"
                    " INSERT INTO customers_fts(customers_fts, rowid, search) VALUES ('delete', "
                    "OLD.id, "
                    "OLD.search);"
                    " INSERT INTO customers_fts(rowid, search) VALUES (NEW.id, NEW.search); END;",

                    /* 3: the status-line counts scanned every customer row (124 ms of CPU
                     * at 100k). With these, each count is an index range holding only the
                     * rows it counts; the first also serves billing's deleted_at test, so
                     * the one-column index goes. */
                    "CREATE INDEX customers_counts ON customers(deleted_at, disabled, trial, "
                    "trial_converted,"
                    " trial_end);"
                    "CREATE INDEX customers_internal_live ON customers(id) WHERE internal_system = "
                    "1"
                    " AND deleted_at = 0;"
                    "DROP INDEX customers_billing;",

                    /* 4: a batch (store_begin … store_commit) defers the trigram index of
                     * the customers it creates to its commit. FTS5 flushes its pending
                     * terms at every savepoint, and a batch opens one per row, so each new
                     * customer became its own index segment, merged again and again: 30 %
                     * of an import's CPU. While meta holds 'fts_deferred_from', the rows
                     * from that id on are left out by the triggers and store_commit indexes
                     * them in one statement (one flush). Older rows keep their triggers. */
                    "DROP TRIGGER customers_fts_ins;"
                    "DROP TRIGGER customers_fts_del;"
                    "DROP TRIGGER customers_fts_upd;"
                    "CREATE TRIGGER customers_fts_ins AFTER INSERT ON customers"
                    " WHEN NOT EXISTS (SELECT 1 FROM meta WHERE key = 'fts_deferred_from'"
                    " AND NEW.id >= CAST(value AS INTEGER)) BEGIN"
                    " INSERT INTO customers_fts(rowid, search) VALUES (NEW.id, NEW.search); END;"
                    "CREATE TRIGGER customers_fts_del AFTER DELETE ON customers"
                    " WHEN NOT EXISTS (SELECT 1 FROM meta WHERE key = 'fts_deferred_from'"
                    " AND OLD.id >= CAST(value AS INTEGER)) BEGIN"
                    " INSERT INTO customers_fts(customers_fts, rowid, search) VALUES ('delete', "
                    "OLD.id, "
                    "OLD.search); END;"
                    "CREATE TRIGGER customers_fts_upd AFTER UPDATE OF search ON customers"
                    " WHEN OLD.search IS NOT NEW.search AND NOT EXISTS (SELECT 1 FROM meta"
                    " WHERE key = 'fts_deferred_from' AND OLD.id >= CAST(value AS INTEGER)) BEGIN"
                    " INSERT INTO customers_fts(customers_fts, rowid, search) VALUES ('delete', "
                    "OLD.id, "
                    "OLD.search);"
                    " INSERT INTO customers_fts(rowid, search) VALUES (NEW.id, NEW.search); END;",

                    /* 5 (invitations): the invitation is rendered when it is sent, from the
                     * user as they are then, with a one-time activation token of which only
                     * the SHA-256 is kept (users.invite_token_hash, replaced by each new
                     * invitation) and the support user who asked for it (outbox.invited_by).
                     * State 4 is "cancelled" (the user was removed): never sent, never
                     * retried. A user has at most one queued invitation (outbox_one_queued):
                     * older duplicates are cancelled here, the newest stays. */
                    "ALTER TABLE users ADD COLUMN invite_token_hash TEXT;"
                    "ALTER TABLE users ADD COLUMN invite_token_expires INTEGER NOT NULL DEFAULT 0;"
                    "ALTER TABLE outbox ADD COLUMN invited_by TEXT NOT NULL DEFAULT '';"
                    "UPDATE outbox SET state = 4, last_error = 'user removed before it was sent'"
                    " WHERE user_id IS NULL AND state IN (1, 3);"
                    "UPDATE outbox SET state = 4, last_error = 'replaced by a later invitation'"
                    " WHERE state = 1 AND id NOT IN (SELECT max(id) FROM outbox WHERE state = 1"
                    " GROUP BY user_id);"
                    "CREATE UNIQUE INDEX outbox_one_queued ON outbox(user_id) WHERE state = 1;",

                    /* 6 (sync): synced users are linked to the console user whose extension
                     * is their endpoint (store_sync_users, users_relink). Without an index
                     * each look-up read every user of the customer: a 10,000-endpoint sync
                     * went from under a second to minutes (bench_pbx_sync). */
                    "CREATE INDEX users_console_extension ON users(customer_id, extension)"
                    " WHERE synced = 0 AND extension IS NOT NULL;",

                    /* 7 (billing history): what was in force for billing, effective-dated.
                     * Each row is the whole billing state of a customer from `at` (unix
                     * seconds) until its next row; billing a period reads the rows, never
                     * today's customer row, so a change made today cannot re-price a past
                     * month. Triggers write the rows, so every write path (console, CLI,
                     * import) adds one in the same transaction as the change itself.
                     * Databases from before this migration get a backfill from their
                     * audit rows (below). */
                    "CREATE TABLE customer_history("
                    " id INTEGER PRIMARY KEY,"
                    " customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,"
                    " at INTEGER NOT NULL, product_type TEXT NOT NULL,"
                    " trial INTEGER NOT NULL, trial_start INTEGER, trial_end INTEGER,"
                    " trial_converted INTEGER NOT NULL, internal_system INTEGER NOT NULL,"
                    " disabled INTEGER NOT NULL, deleted INTEGER NOT NULL);"
                    "CREATE INDEX customer_history_by_customer ON customer_history(customer_id, "
                    "at);"
                    /* Backfill, from the audit rows: product type changes (detail
                     * 'product_type: "a" → "b"', keys checked against the catalogue
                     * table), internal flag changes ('internal_system: no → yes'),
                     * disable/enable, the trial conversion, and the deletion. Each row is
                     * the state at its time: a field's last change up to then, else the
                     * old value of its next change, else today's value. */
                    "CREATE TEMP TABLE mig5_pt AS SELECT cid, aid, at, old,"
                    " substr(r2, 5, instr(substr(r2, 5), '\"') - 1) AS new, substr(r2, 1, 4) AS "
                    "arrow FROM ("
                    " SELECT cid, aid, at, substr(r1, 1, instr(r1, '\"') - 1) AS old,"
                    "  substr(r1, instr(r1, '\"') + 1) AS r2 FROM ("
                    "  SELECT customer_id AS cid, id AS aid, at, substr(detail, p + 15) AS r1 FROM "
                    "("
                    "   SELECT id, customer_id, at, detail, instr(detail, 'product_type: \"') AS p "
                    "FROM audit"
                    "   WHERE object = 'customer' AND customer_id <> 0)"
                    "  WHERE p = 1 OR (p > 2 AND substr(detail, p - 2, 2) = '; ')));"
                    "DELETE FROM mig5_pt WHERE arrow <> ' → \"' OR old NOT IN (SELECT key FROM "
                    "product_types)"
                    " OR new NOT IN (SELECT key FROM product_types);"
                    "CREATE INDEX temp.mig5_pt_i ON mig5_pt(cid, at);"
                    "CREATE TEMP TABLE mig5_in AS SELECT cid, aid, at, v = 'no → yes' AS new FROM ("
                    " SELECT customer_id AS cid, id AS aid, at, substr(detail, p + 17, 8) AS v "
                    "FROM ("
                    "  SELECT id, customer_id, at, detail, instr(detail, 'internal_system: ') AS p "
                    "FROM audit"
                    "  WHERE object = 'customer' AND customer_id <> 0)"
                    " WHERE (p = 1 OR (p > 2 AND substr(detail, p - 2, 2) = '; '))"
                    "  AND v IN ('no → yes', 'yes → no'));"
                    "CREATE INDEX temp.mig5_in_i ON mig5_in(cid, at);"
                    "CREATE TEMP TABLE mig5_di AS SELECT customer_id AS cid, id AS aid, at,"
                    " action = 'disable' AS new FROM audit WHERE object = 'customer' AND "
                    "customer_id <> 0"
                    " AND action IN ('disable', 'enable');"
                    "CREATE INDEX temp.mig5_di_i ON mig5_di(cid, at);"
                    /* converted: the trial-convert audit row, else the day after the
                     * trial (as billing did before), within the customer's life */
                    "CREATE TEMP TABLE mig5_cv AS SELECT id AS cid, max(created_at, CASE WHEN "
                    "deleted_at <> 0"
                    " AND deleted_at < conv THEN deleted_at ELSE conv END) AS conv FROM (SELECT "
                    "c.*,"
                    " coalesce((SELECT max(a.at) FROM audit a WHERE a.customer_id = c.id"
                    "  AND a.object = 'customer' AND a.action = 'trial-convert'),"
                    "  (c.trial_end + 1) * 86400) AS conv FROM customers c WHERE c.trial AND "
                    "c.trial_converted);"
                    "CREATE TEMP TABLE mig5_ev AS"
                    " SELECT id AS cid, created_at AS at, 0 AS kind FROM customers"
                    " UNION ALL SELECT cid, at, 1 FROM mig5_pt"
                    " UNION ALL SELECT cid, at, 1 FROM mig5_in"
                    " UNION ALL SELECT cid, at, 1 FROM mig5_di"
                    " UNION ALL SELECT cid, conv, 2 FROM mig5_cv"
                    " UNION ALL SELECT id, deleted_at, 3 FROM customers WHERE deleted_at <> 0;"
                    "INSERT INTO customer_history(customer_id, at, product_type, trial, "
                    "trial_start,"
                    " trial_end, trial_converted, internal_system, disabled, deleted)"
                    " SELECT c.id, max(e.at, c.created_at),"
                    " coalesce((SELECT new FROM mig5_pt x WHERE x.cid = c.id AND x.at <= e.at"
                    "   ORDER BY x.at DESC, x.aid DESC LIMIT 1),"
                    "  (SELECT old FROM mig5_pt x WHERE x.cid = c.id AND x.at > e.at ORDER BY "
                    "x.at, x.aid"
                    "   LIMIT 1), c.product_type),"
                    " c.trial, c.trial_start, c.trial_end,"
                    " CASE WHEN cv.cid IS NULL THEN c.trial_converted AND NOT c.trial ELSE e.at >= "
                    "cv.conv END,"
                    " coalesce((SELECT new FROM mig5_in x WHERE x.cid = c.id AND x.at <= e.at"
                    "   ORDER BY x.at DESC, x.aid DESC LIMIT 1),"
                    "  (SELECT NOT new FROM mig5_in x WHERE x.cid = c.id AND x.at > e.at ORDER BY "
                    "x.at, x.aid"
                    "   LIMIT 1), c.internal_system),"
                    " coalesce((SELECT new FROM mig5_di x WHERE x.cid = c.id AND x.at <= e.at"
                    "   ORDER BY x.at DESC, x.aid DESC LIMIT 1),"
                    "  (SELECT NOT new FROM mig5_di x WHERE x.cid = c.id AND x.at > e.at ORDER BY "
                    "x.at, x.aid"
                    "   LIMIT 1), c.disabled),"
                    " e.kind = 3"
                    " FROM mig5_ev e JOIN customers c ON c.id = e.cid LEFT JOIN mig5_cv cv ON "
                    "cv.cid = c.id"
                    " ORDER BY c.id, e.at, e.kind;"
                    "DROP TABLE mig5_pt; DROP TABLE mig5_in; DROP TABLE mig5_di; DROP TABLE "
                    "mig5_cv;"
                    "DROP TABLE mig5_ev;"
                    "CREATE TRIGGER customer_history_ins AFTER INSERT ON customers BEGIN"
                    " INSERT INTO customer_history(customer_id, at, product_type, trial, "
                    "trial_start,"
                    " trial_end, trial_converted, internal_system, disabled, deleted) VALUES "
                    "(NEW.id,"
                    " NEW.created_at, NEW.product_type, NEW.trial, NEW.trial_start, NEW.trial_end,"
                    " NEW.trial_converted, NEW.internal_system, NEW.disabled, NEW.deleted_at <> "
                    "0); END;"
                    "CREATE TRIGGER customer_history_upd AFTER UPDATE OF product_type, trial, "
                    "trial_start,"
                    " trial_end, trial_converted, internal_system, disabled, deleted_at ON "
                    "customers"
                    " WHEN OLD.product_type IS NOT NEW.product_type OR OLD.trial IS NOT NEW.trial"
                    " OR OLD.trial_start IS NOT NEW.trial_start OR OLD.trial_end IS NOT "
                    "NEW.trial_end"
                    " OR OLD.trial_converted IS NOT NEW.trial_converted"
                    " OR OLD.internal_system IS NOT NEW.internal_system OR OLD.disabled IS NOT "
                    "NEW.disabled"
                    " OR OLD.deleted_at IS NOT NEW.deleted_at BEGIN"
                    " INSERT INTO customer_history(customer_id, at, product_type, trial, "
                    "trial_start,"
                    " trial_end, trial_converted, internal_system, disabled, deleted) VALUES "
                    "(NEW.id,"
                    " NEW.updated_at, NEW.product_type, NEW.trial, NEW.trial_start, NEW.trial_end,"
                    " NEW.trial_converted, NEW.internal_system, NEW.disabled, NEW.deleted_at <> "
                    "0); END;"
                    /* The catalogue is checked again on the next open (a product type a
                     * live customer uses must not have been dropped from it). */
                    "DELETE FROM meta WHERE key = 'catalogue';",
                    /* 8 (billing: users and prices): the licensed-user count of each
                     * customer and the unit price of each product type, effective-dated
                     * like customer_history, so billing a past period reads what was in
                     * force then, not today's users and catalogue. A licensed user has a
                     * role and is not a synced user linked to a console user (the same
                     * person). The triggers on users write a row with the new count in the
                     * same transaction as each change that moves it (a user added or
                     * removed, a role given or taken, a synced user linked or unlinked),
                     * at pd_now() (an SQL function the store registers on every
                     * connection: the program's one clock). Prices are written by the
                     * catalogue sync at open (store.c) when a type's price differs from
                     * the one in force. Backfill: today's counts from each customer's
                     * creation and today's prices from the start (at 0), so a database
                     * bills as before until its next change. */
                    "CREATE TABLE licensed_users_history("
                    " id INTEGER PRIMARY KEY,"
                    " customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,"
                    " at INTEGER NOT NULL, users INTEGER NOT NULL);"
                    "CREATE INDEX licensed_users_history_by_customer ON "
                    "licensed_users_history(customer_id, id);"
                    "INSERT INTO licensed_users_history(customer_id, at, users)"
                    " SELECT c.id, c.created_at, (SELECT count(*) FROM users u WHERE u.customer_id "
                    "= c.id"
                    " AND " LICENSED(
                        "u") ") FROM customers c ORDER BY c.id;"
                             "CREATE TABLE price_history("
                             " id INTEGER PRIMARY KEY, product_type TEXT NOT NULL, at INTEGER NOT "
                             "NULL,"
                             " price_cents INTEGER NOT NULL, currency TEXT NOT NULL);"
                             "CREATE INDEX price_history_by_type ON price_history(product_type, "
                             "id);"
                             "INSERT INTO price_history(product_type, at, price_cents, currency)"
                             " SELECT key, 0, price_cents, currency FROM product_types ORDER BY "
                             "key;"
                             "CREATE TRIGGER licensed_users_ins AFTER INSERT ON users "
                             "WHEN " LICENSED(
                                 "NEW") " BEGIN"
                                        " INSERT INTO licensed_users_history(customer_id, at, "
                                        "users) VALUES (NEW.customer_id,"
                                        " pd_now(), " LAST_COUNT(
                                            "NEW") " + 1); END;"
                                                   /* not when the customer itself is being deleted
                                                      (the cascade) */
                                                   "CREATE TRIGGER licensed_users_del AFTER DELETE "
                                                   "ON users WHEN " LICENSED(
                                                       "OLD") " AND EXISTS (SELECT 1 FROM "
                                                              "customers WHERE id = "
                                                              "OLD.customer_id) BEGIN"
                                                              " INSERT INTO "
                                                              "licensed_users_history(customer_id, "
                                                              "at, users) VALUES (OLD.customer_id,"
                                                              " pd_now(), " LAST_COUNT(
                                                                  "OLD") " - 1); END;"
                                                                         "CREATE TRIGGER "
                                                                         "licensed_users_upd AFTER "
                                                                         "UPDATE OF role, synced, "
                                                                         "linked_user_id ON users"
                                                                         " WHEN " LICENSED("OLD") " IS NOT " LICENSED(
                                                                             "NEW") " BEGIN"
                                                                                    " INSERT INTO "
                                                                                    "licensed_"
                                                                                    "users_history("
                                                                                    "customer_id, "
                                                                                    "at, users) "
                                                                                    "VALUES "
                                                                                    "(NEW.customer_"
                                                                                    "id,"
                                                                                    " pd_now(),"
                                                                                    " " LAST_COUNT("NEW") " + CASE WHEN " LICENSED(
                                                                                        "NEW") " TH"
                                                                                               "EN "
                                                                                               "1 "
                                                                                               "ELS"
                                                                                               "E "
                                                                                               "-1 "
                                                                                               "END"
                                                                                               "); "
                                                                                               "END"
                                                                                               ";",
                    /* 9 (link state): the monitor stores a link's state as its stable key
                     * (include/provdesk/link_state.h), checked here, beside the human text
                     * (state) and since when it holds. A new state needs a migration that
                     * widens the CHECK. Rows written before had only the text: their key is
                     * derived from it once, here, the only place that reads that text. */
                    "ALTER TABLE pbx_status ADD COLUMN link TEXT NOT NULL DEFAULT 'connecting'"
                    " CHECK (link IN ('disabled', 'connecting', 'logging-in', 'discovering',"
                    " 'monitoring', 'retrying', 'auth-failed', 'protocol-error', 'unsupported',"
                    " 'config-error'));"
                    "ALTER TABLE pbx_status ADD COLUMN since INTEGER NOT NULL DEFAULT 0;"
                    "UPDATE pbx_status SET since = updated_at, link = CASE"
                    " WHEN state LIKE 'disabled%' THEN 'disabled'"
                    " WHEN state LIKE 'syncing%' THEN 'discovering'"
                    " WHEN state LIKE 'monitoring%' THEN 'monitoring'"
                    " WHEN state LIKE 'retrying%' THEN 'retrying'"
                    " WHEN state LIKE 'auth failed%' THEN 'auth-failed'"
                    " ELSE 'connecting' END;",
                    migration_10,
                    /* 11 (HTTP API, docs/architecture.md "HTTP API"): the API's tokens, kept as
                     * the SHA-256 of the secret (shown once, never stored), one live token per
                     * name; and the answers to POSTs sent with an Idempotency-Key, per token,
                     * so a retried create is answered from here instead of creating twice. */
                    "CREATE TABLE api_tokens(id INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                    " scope TEXT NOT NULL CHECK (scope IN ('read', 'provision', 'billing')),"
                    " hash TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL,"
                    " created_by TEXT NOT NULL DEFAULT '', revoked_at INTEGER);"
                    "CREATE UNIQUE INDEX api_tokens_name ON api_tokens(name) WHERE revoked_at IS "
                    "NULL;"
                    "CREATE TABLE api_idempotency(token_id INTEGER NOT NULL REFERENCES "
                    "api_tokens(id),"
                    " key TEXT NOT NULL, request_hash TEXT NOT NULL, status INTEGER NOT NULL,"
                    " body TEXT NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (token_id, "
                    "key));"
                    "CREATE INDEX api_idempotency_age ON api_idempotency(created_at);",
                    /* 12 (locale per customer, docs/architecture.md "Locale per customer"):
                     * the customer's language and number format as "fr_FR"; existing
                     * customers get their country's default, computed by the same rule as
                     * the code's (pd_default_locale(), sql_functions.c). */
                    "ALTER TABLE customers ADD COLUMN locale TEXT NOT NULL DEFAULT 'en_US';"
                    "UPDATE customers SET locale = pd_default_locale(country);",
};

int schema_migration_count(void)
{
	return (int)(sizeof migrations / sizeof migrations[0]);
}

const char *schema_migration(int to_version)
{
	if (to_version < 1 || to_version > schema_migration_count())
		return NULL;
	return migrations[to_version - 1];
}

/* Shared by the store's files only: the connection, the statement cache,
 * the retrying write transaction and small binding helpers. */
#ifndef PROVDESK_STORE_INTERNAL_H
#define PROVDESK_STORE_INTERNAL_H

#include <sqlite3.h>

#include "provdesk/geo.h"
#include "provdesk/store.h"

#define STORE_STMT_CACHE 160
#define STORE_GRID_CACHE                                                                           \
	(PD_SORT__COUNT * 2 /*desc*/ * 4 /*filter mode*/ * 2 /*deleted*/ * 8 /*kind*/ *            \
	 2 /*pinned reference excluded*/ * 2 /*PBX filter*/)

struct pd_store {
	sqlite3 *db;
	char *path;
	const pd_catalogue *cat;
	int internal_limit;
	bool read_only;
	int cache_kb;        /* the page cache outside batches */
	int scan_budget;     /* grid scan budget (progress calls); 0 default, <0 never scan */
	bool in_batch;       /* inside store_begin … store_commit */
	bool batch_atomic;   /* store_begin_atomic: no savepoint per write */
	bool batch_failed;   /* a write of an atomic batch failed: rollback only */
	bool busy_hit;       /* a statement in the current transaction met SQLITE_BUSY */
	int64_t own_commits; /* for store_change_counter */
	/* Statements keyed by the address of their SQL literal: every call site
	 * keeps its prepared statement for the life of the connection. */
	struct {
		const char *sql;
		sqlite3_stmt *st;
	} cache[STORE_STMT_CACHE];
	size_t n_cache;
	sqlite3_stmt *grid[STORE_GRID_CACHE];
	/* the key PBX secrets are sealed with (secrets.c) */
	unsigned char key[32];
	bool have_key;
};

/* Cached, reset statement for a string literal; NULL with *e filled on error. */
sqlite3_stmt *st_get(pd_store *s, const char *sql, pd_err *e);
/* Map a SQLite error to a status (BUSY -> PD_E_TEMPFAIL and s->busy_hit). */
pd_status st_fail(pd_store *s, int rc, pd_err *e, const char *what);
/* Step a statement that returns no row; resets it. */
pd_status st_exec(pd_store *s, sqlite3_stmt *st, pd_err *e);
/* Step st to its end into a growing array of `size`-byte elements, each
 * zeroed then filled by row(st, elem, ctx); resets st. On a read error the
 * elements read so far are released with elem_free, *out is NULL, *n 0, and
 * the error names `what`. */
typedef void (*st_row_fn)(sqlite3_stmt *st, void *elem, void *ctx);
pd_status st_collect(pd_store *s, sqlite3_stmt *st, size_t size, st_row_fn row, void *ctx,
                     void (*elem_free)(void *elem), void **out, size_t *n, const char *what,
                     pd_err *e);
void bind_text(sqlite3_stmt *st, int i, const char *v);
void bind_opt(sqlite3_stmt *st, int i, const char *v); /* NULL/"" -> NULL */
char *col_str(sqlite3_stmt *st, int i);                /* NULL -> NULL */
char *col_str_empty(sqlite3_stmt *st, int i);          /* NULL -> "" */

/* Runs fn inside BEGIN IMMEDIATE … COMMIT, retrying the whole transaction
 * with backoff when SQLITE_BUSY survives busy_timeout. fn must leave its
 * outputs consistent when re-run. A non-OK status rolls back. */
typedef pd_status (*store_tx_fn)(pd_store *s, void *ctx, pd_err *e);
pd_status store_tx(pd_store *s, store_tx_fn fn, void *ctx, pd_err *e);
/* Like store_tx but commits only when *changed became true (else rolls
 * back: nothing written, data_version untouched). */
pd_status store_tx_maybe(pd_store *s, store_tx_fn fn, void *ctx, bool *changed, pd_err *e);

/* Audit row in the current transaction. customer_version: the customer's
 * version after this change (0 when not a customer change). */
pd_status audit_add(pd_store *s, const pd_actor *a, int64_t customer_id, int64_t customer_version,
                    const char *object, const char *action, const char *detail, pd_err *e);
/* "field: old → new" pieces for audit details. */
void diff_str(pd_buf *b, const char *field, const char *old, const char *nw);
void diff_secret(pd_buf *b, const char *field, bool changed);
void diff_bool(pd_buf *b, const char *field, bool old, bool nw);
void diff_int(pd_buf *b, const char *field, int64_t old, int64_t nw);
void diff_day(pd_buf *b, const char *field, bool has_old, pd_day old, bool has_new, pd_day nw);

/* Customer and user rows (rows.c): the one place that maps their columns. */
pd_status cust_load(pd_store *s, int64_t id, pd_customer *out, pd_err *e);
#define CUST_COLS                                                                                  \
	"c.id, c.tenant_id, c.name, c.product_type, c.reference, c.country, c.time_zone, "         \
	"c.notes, c.trial, c.trial_start, c.trial_end, c.trial_converted, c.internal_system, "     \
	"c.disabled, c.deleted_at, c.created_at, c.updated_at, c.version, c.locale"
#define CUST_NCOLS 19
void cust_from_row(sqlite3_stmt *st, int base, pd_customer *c);
#define USER_COLS                                                                                  \
	"u.id, u.customer_id, u.display_name, u.email, u.extension, u.role, u.is_primary,"         \
	" u.synced, u.endpoint, u.sub_account, u.device_state, u.linked_user_id, u.version,"       \
	" (SELECT o.state FROM outbox o WHERE o.user_id = u.id ORDER BY o.id DESC LIMIT 1)"
void user_from_row(sqlite3_stmt *st, pd_user *u);
/* PD_E_NOTFOUND naming "user" when there is no such row. */
pd_status user_load(pd_store *s, int64_t id, pd_user *out, pd_err *e);

/* Customers (customers.c) */
/* Columns derived from the editable fields: the search text and status key. */
char *cust_search_text(const pd_customer *c);
int64_t cust_status_key(const pd_customer *c);
pd_status cust_check_internal_limit(pd_store *s, int64_t except_id, pd_err *e);

/* Outbox (outbox.c) */
/* Queue an invitation for u in the current transaction, asked for by a; when
 * one is already queued for the user it is made due now instead (*already). */
pd_status outbox_queue(pd_store *s, const pd_customer *c, const pd_user *u, int64_t user_id,
                       const pd_actor *a, bool *already, pd_err *e);
/* The same for a user inserted in this transaction: none can be queued for
 * it yet (an outbox row loses its user_id when its user is deleted, so a
 * reused id matches none either), so the look-up for one is skipped. */
pd_status outbox_queue_new_user(pd_store *s, const pd_customer *c, const pd_user *u,
                                int64_t user_id, const pd_actor *a, pd_err *e);

/* Users (users.c) */
/* Insert a console user; email uniqueness checked, field names the email field.
 * new_customer: c was created in this transaction, so it has no synced users
 * to link by email yet (saves an UPDATE per imported row). */
pd_status user_insert(pd_store *s, const pd_customer *c, pd_user *u, bool primary,
                      bool new_customer, const char *email_field, const pd_actor *a,
                      int64_t *id_out, pd_err *e);
/* Insert a user the PBX has, found before the customer existed (the
 * wizard's discovery): a synced row with the role given. */
pd_status synced_user_insert(pd_store *s, int64_t cid, pd_user *u, const pd_actor *a, pd_err *e);
/* Point every synced user of the customer at the console user with its email. */
pd_status users_relink(pd_store *s, int64_t cid, pd_err *e);

/* PBX connections (pbx.c) */
pd_status pbx_insert(pd_store *s, int64_t customer_id, pd_pbx *p, const pd_actor *a, pd_err *e);

const pd_geo *store_geo(pd_err *e); /* store.c */

/* Public entry points accept e == NULL; internal code always has one. */
#define E_GUARD(e)                                                                                 \
	pd_err e##_guard_;                                                                         \
	if (!(e))                                                                                  \
	(e) = &e##_guard_
#define FAILED(e) ((e)->status != PD_OK ? (e)->status : PD_E_INTERNAL)

#endif

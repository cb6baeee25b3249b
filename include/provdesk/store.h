/* SQLite store: schema + forward migrations, one connection per pd_store
 * (one per thread). WAL, busy_timeout, BEGIN IMMEDIATE for every write,
 * foreign keys, prepared statements only. Every write records audit rows
 * (secrets redacted) in the same transaction. */
#ifndef PROVDESK_STORE_H
#define PROVDESK_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "provdesk/catalogue.h"
#include "provdesk/error.h"
#include "provdesk/link_state.h"
#include "provdesk/model.h"
#include "provdesk/util.h"

typedef struct pd_store pd_store;

#define PD_SCHEMA_VERSION_CURRENT 12 /* bumped by each migration */

typedef struct {
	const pd_catalogue *catalogue; /* required; borrowed, must outlive the store */
	int internal_systems_limit;    /* per reseller, default 1 */
	int busy_timeout_ms;           /* default 5000 */
	bool read_only;                /* open without creating/migrating (NOC) */
	int cache_kb;                  /* SQLite page cache, default 16 MB (STORE_CACHE_KB) */
} pd_store_opts;

/* Creates the file (0600, or 0660 when its directory is group-shared / setgid)
 * and its directory, migrates forward in one transaction, syncs the catalogue.
 * Refuses a database whose schema is newer (PD_E_CONFIG, file untouched),
 * or that is unreadable/corrupt (PD_E_NOINPUT naming the path). */
pd_status store_open(const char *path, const pd_store_opts *o, pd_store **out, pd_err *e);
void store_close(pd_store *s);
const char *store_path(const pd_store *s);
/* An exclusive lock on "<database>-<name>.lock" beside the database (flock:
 * the kernel releases it if the holder dies), for work only one process of
 * the database may do at a time. PD_OK with *fd the descriptor to close() to
 * release it; PD_E_TEMPFAIL when another process holds it; PD_E_UNAVAILABLE
 * when no lock can be taken (an in-memory or unwritable database). *fd is -1
 * unless PD_OK. name: [A-Za-z0-9._-] are kept, other bytes become '_'. */
pd_status store_lock_file(const pd_store *s, const char *name, int *fd, pd_err *e);
int store_schema_version(pd_store *s);
/* PRAGMA data_version: changes when another connection commits. Cheap. */
int64_t store_data_version(pd_store *s);
/* Also counts commits from this connection (a generation counter). */
int64_t store_change_counter(pd_store *s);

/* Once at process start, before any other thread and any database: SQLite
 * then keeps no memory statistics, whose global mutex it took at every
 * allocation (5 % of an import, issue 19). Nothing reads them. */
void store_process_init(void);

/* Group many writes in one transaction (CSV import: all-or-nothing and much
 * faster than one commit per row). Inside, every store write runs as a
 * savepoint: a refused row rolls back alone and the batch goes on; nothing
 * is visible to others until store_commit. store_close without commit
 * rolls back. Not for the UI: it holds the write lock for its duration. */
pd_status store_begin(pd_store *s, pd_err *e);
/* An all-or-nothing batch (the CSV import): as store_begin, but writes run
 * without a savepoint each (each savepoint copied every page a row touched,
 * issue 19). A refused write may leave part of itself behind, so after one
 * the batch can only be rolled back: store_commit refuses
 * (PD_E_INTERNAL), and further writes are refused too. */
pd_status store_begin_atomic(pd_store *s, pd_err *e);
pd_status store_commit(pd_store *s, pd_err *e);
void store_rollback(pd_store *s);

/* ---- customers ---- */
pd_status store_customer_create(pd_store *s, pd_new_customer *n, const pd_actor *a,
                                pd_customer *out, pd_err *e);
/* The same for a customer the caller has just passed through
 * pd_new_customer_check (with the store's catalogue, today): the rules are
 * not run a second time (the import checks every row itself). */
pd_status store_customer_create_checked(pd_store *s, pd_new_customer *n, const pd_actor *a,
                                        pd_customer *out, pd_err *e);
/* ID: tenant uuid, "#<rowid>", or exact name (folded compare). Deleted
 * customers are found too (status says deleted). */
pd_status store_customer_find(pd_store *s, const char *id_or_name, pd_customer *out, pd_err *e);
/* By reference (R-1234): the exact spelling, else ignoring ASCII case; a
 * live customer before deleted ones. PD_E_USAGE when several live customers
 * share it, PD_E_NOTFOUND when none has it. */
pd_status store_customer_find_reference(pd_store *s, const char *reference, pd_customer *out,
                                        pd_err *e);
pd_status store_customer_get(pd_store *s, int64_t id, pd_customer *out, pd_err *e);
/* Shell completion: the names and references of live (deleted: deleted)
 * customers that start with prefix (bytes), sorted, distinct, at most max.
 * *out is an array of *n strings; the caller frees each and the array. */
pd_status store_customer_complete(pd_store *s, const char *prefix, bool deleted, size_t max,
                                  char ***out, size_t *n, pd_err *e);
/* The name rule that needs the database, used by every path (create,
 * update, restore, import, wizard, edit form): PD_OK when no live customer
 * other than except_id has this name (folded: case and accents ignored);
 * PD_E_INVALID on "name", naming the customer and tenant that has it. Check
 * the name with pd_check_name first: then PD_E_INVALID means taken, and any
 * other status is the database's failure. */
pd_status store_customer_name_free(pd_store *s, const char *name, int64_t except_id, pd_err *e);
/* Save *c (all editable fields) if the stored version is still c->version.
 * On a stale version: PD_E_CONFLICT, message lists "field: theirs" of what
 * the other person changed, *current (if non-NULL) receives the stored row.
 * product-type changes are checked (lock); *out gets the saved row. */
pd_status store_customer_update(pd_store *s, const pd_customer *c, const pd_actor *a,
                                pd_customer *out, pd_customer *current, pd_err *e);
/* Soft delete: confirm must equal the name (folded compare). */
pd_status store_customer_delete(pd_store *s, int64_t id, const char *confirm, int64_t version,
                                const pd_actor *a, pd_err *e);
pd_status store_customer_restore(pd_store *s, int64_t id, const pd_actor *a, pd_err *e);
pd_status store_customer_set_disabled(pd_store *s, int64_t id, bool disabled, const pd_actor *a,
                                      pd_err *e);
/* Trial actions. extend: end += days; convert: paid from today; end: trial ends yesterday (expired
 * now). */
pd_status store_trial_extend(pd_store *s, int64_t id, int days, const pd_actor *a, pd_err *e);
pd_status store_trial_convert(pd_store *s, int64_t id, const pd_actor *a, pd_err *e);
pd_status store_trial_end(pd_store *s, int64_t id, const pd_actor *a, pd_err *e);

/* ---- the grid: keyset paging, filter, sort ---- */
#define PD_SORT_LIST(X)                                                                            \
	X(PD_SORT_NAME, "name")                                                                    \
	X(PD_SORT_PRODUCT, "product_type")                                                         \
	X(PD_SORT_REFERENCE, "reference")                                                          \
	X(PD_SORT_COUNTRY, "country")                                                              \
	X(PD_SORT_STATUS, "status")                                                                \
	X(PD_SORT_INTERNAL, "internal_system")                                                     \
	X(PD_SORT_USERS, "users")                                                                  \
	X(PD_SORT_CREATED, "created")                                                              \
	X(PD_SORT_PBX, "pbx") /* worst first: pd_pbx_key order, then id */

typedef enum {
#define PD_X(e, s) e,
	PD_SORT_LIST(PD_X)
#undef PD_X
	    PD_SORT__COUNT
} pd_sort;
const char *pd_sort_name(pd_sort s);
bool pd_sort_parse(const char *name, pd_sort *out);

/* A customer's PBX as the grid sorts and filters it, worst first: the
 * stored link state (pbx_status.link) of an enabled connection, or why there
 * is none. Stored per customer (customers.pbx_key, migration 10), kept by
 * triggers; the "pbx" sort is this order, then the id. */
#define PD_PBX_KEY_LIST(X)                                                                         \
	X(PD_PBXK_AUTH_FAILED, 1, "auth-failed")                                                   \
	X(PD_PBXK_PROTOCOL_ERROR, 2, "protocol-error")                                             \
	X(PD_PBXK_CONFIG_ERROR, 3, "config-error")                                                 \
	X(PD_PBXK_RETRYING, 4, "retrying")                                                         \
	X(PD_PBXK_CONNECTING, 5, "connecting")                                                     \
	X(PD_PBXK_LOGGING_IN, 6, "logging-in")                                                     \
	X(PD_PBXK_DISCOVERING, 7, "discovering")                                                   \
	X(PD_PBXK_NOT_STARTED, 8, "not-started") /* enabled, no state stored yet */                \
	X(PD_PBXK_MONITORING, 9, "monitoring")                                                     \
	X(PD_PBXK_UNSUPPORTED, 10, "unsupported")                                                  \
	X(PD_PBXK_DISABLED, 11, "disabled") /* the connection, or the stored state */              \
	X(PD_PBXK_NONE, 12, "none")         /* no PBX connection */

typedef enum {
#define PD_X(e, n, s) e = n,
	PD_PBX_KEY_LIST(PD_X)
#undef PD_X
} pd_pbx_key;
/* The key of a customer's PBX (the SQL of migration 10 in C). */
pd_pbx_key pd_pbx_key_of(bool has_pbx, bool enabled, bool state_known, pd_link_state link);
const char *pd_pbx_key_name(pd_pbx_key k);

/* The PBX filter: a set of pd_pbx_key as bits (1u << key); 0 = no filter.
 * Words, or several joined with commas: "down" (an enabled connection that is
 * not monitoring: the three errors, retrying, on the way up, not started,
 * unsupported), "up" (monitoring), "failing" (auth-failed, protocol-error,
 * config-error: waiting for a person), or one key of PD_PBX_KEY_LIST
 * ("retrying", "none", "not-started", ...). false for an unknown word. */
bool pd_pbx_filter_parse(const char *text, uint32_t *mask);
/* The accepted words, for an error message: "down, up, failing, auth-failed, …". */
const char *pd_pbx_filter_words(void);

/* The longest filter, in bytes, in the CLI and the console alike (a longer
 * one is a usage error, not a query). */
#define PD_FILTER_MAX 200

typedef struct {
	const char *filter; /* substring of name/reference/tenant id/notes; folded; NULL = all;
	                       at most PD_FILTER_MAX bytes */
	pd_sort sort;
	bool descending;
	bool include_deleted;
	pd_day today;      /* for trial status */
	uint32_t pbx_mask; /* pd_pbx_filter_parse; 0 = any PBX state */
} pd_query;

typedef struct {
	pd_customer c;
	int64_t n_users; /* console + synced users */
	pd_customer_status status;
	int trial_days_left; /* valid when c.trial */
	char *pbx_state;     /* last state text stored by the monitor, NULL if no PBX */
	bool pbx_link_known; /* a PBX whose monitor stored a state (or a disabled one) */
	pd_link_state pbx_link;
	pd_pbx_key pbx_key;
	/* from the stored status row (0/NULL without one): when the state began,
	 * when the monitor last wrote the row (see pd_pbx_status_fresh), its error */
	int64_t pbx_since, pbx_updated_at;
	bool pbx_monitored;
	char *pbx_error;
	int64_t sort_ival; /* keyset anchor (store-internal) */
	char *sort_sval;
	int sort_of; /* pd_sort + 1 that filled sort_*; 0 = unknown: an anchor
	              * with only c.id set is looked up by id */
} pd_row;
void pd_row_free(pd_row *r);
void pd_rows_free(pd_row *rows, size_t n);

typedef enum {
	PD_PAGE_FIRST,  /* the first `limit` rows */
	PD_PAGE_LAST,   /* the last `limit` rows */
	PD_PAGE_AFTER,  /* rows strictly after anchor */
	PD_PAGE_BEFORE, /* rows strictly before anchor (returned in display order) */
	PD_PAGE_FROM    /* anchor itself (if still matching) and after */
} pd_page_dir;

/* Only the rows asked for are read (index-backed keyset queries, no OFFSET).
 * rows[] must hold `limit` entries; *n receives how many were filled. */
pd_status store_customer_page(pd_store *s, const pd_query *q, pd_page_dir dir, const pd_row *anchor,
                              size_t limit, pd_row *rows, size_t *n, pd_err *e);
pd_status store_customer_count(pd_store *s, const pd_query *q, int64_t *n, pd_err *e);
/* 0-based position of the anchor row in the query's order. */
pd_status store_customer_position(pd_store *s, const pd_query *q, const pd_row *anchor,
                                  int64_t *pos, pd_err *e);
/* Counts for the status line; total excludes the deleted (counted apart). */
typedef struct {
	int64_t total, active, trial, trial_expiring, trial_expired, disabled, deleted, internal;
} pd_counts;
pd_status store_customer_counts(pd_store *s, pd_day today, pd_counts *out, pd_err *e);

/* The grid's filter in memory, for the console's filter worker (its own
 * connection and thread; docs/architecture.md "The filter worker"): the
 * folded search text, deleted flag, PBX key and one sort key of every
 * customer, read on first use and again when PRAGMA data_version or the sort
 * changes (about 12 MB at 100,000 customers sorted by name). */
typedef struct pd_filter_index pd_filter_index;
pd_filter_index *store_filter_index_new(void);
void store_filter_index_free(pd_filter_index *ix);
size_t store_filter_index_bytes(const pd_filter_index *ix);
/* The first page and the count of q: the rows store_customer_page(FIRST) and
 * the number store_customer_count give, by the same rule. cancel (may be NULL)
 * is asked during the work (a progress handler on s, and every 4,096 matches);
 * when it says true the call ends with PD_E_TEMPFAIL and no rows. */
pd_status store_filter_first_page(pd_store *s, pd_filter_index *ix, const pd_query *q, size_t limit,
                                  pd_row *rows, size_t *n, int64_t *total,
                                  bool (*cancel)(void *arg), void *arg, pd_err *e);
/* Read the index ahead of the first keystroke (nothing when current). */
pd_status store_filter_index_warm(pd_store *s, pd_filter_index *ix, pd_sort sort,
                                  bool (*cancel)(void *arg), void *arg, pd_err *e);

/* ---- users and roles ---- */
pd_status store_user_list(pd_store *s, int64_t customer_id, pd_user **out, size_t *n, pd_err *e);
pd_status store_user_get(pd_store *s, int64_t user_id, pd_user *out, pd_err *e);
/* Adds a console user (email unique within the customer) and queues its invitation. */
pd_status store_user_add(pd_store *s, int64_t customer_id, pd_user *u, const pd_actor *a,
                         pd_user *out, pd_err *e);
pd_status store_user_update(pd_store *s, const pd_user *u, const pd_actor *a, pd_err *e);
pd_status store_user_remove(pd_store *s, int64_t user_id, const pd_actor *a, pd_err *e);
/* role NULL/"" = no role. The primary user keeps customer-admin. */
pd_status store_role_assign(pd_store *s, int64_t user_id, const char *role, const pd_actor *a,
                            pd_err *e);
/* Find a user of a customer by email, extension/endpoint or "#id". */
pd_status store_user_find(pd_store *s, int64_t customer_id, const char *key, pd_user *out,
                          pd_err *e);

/* ---- PBX connection (one per customer), templates, sub-accounts ---- */
pd_status store_pbx_add(pd_store *s, int64_t customer_id, pd_pbx *p, const pd_actor *a, pd_err *e);
/* with_secret false: p->secret is NULL on return (only the monitor asks for it). */
pd_status store_pbx_get(pd_store *s, int64_t customer_id, bool with_secret, pd_pbx *out, pd_err *e);
/* Updates settings; p->secret NULL keeps the stored secret. auto_provision
 * cannot change after creation (PD_E_INVALID naming the field). Version-checked. */
pd_status store_pbx_update(pd_store *s, const pd_pbx *p, const pd_actor *a, pd_err *e);
pd_status store_pbx_set_enabled(pd_store *s, int64_t customer_id, bool enabled, const pd_actor *a,
                                pd_err *e);
pd_status store_pbx_remove(pd_store *s, int64_t customer_id, const pd_actor *a, pd_err *e);
/* Every PBX connection of non-deleted customers, with secrets (monitor). */
pd_status store_pbx_list_all(pd_store *s, bool with_secret, pd_pbx **out, size_t *n, pd_err *e);
/* Bumped on any pbx row change; the monitor compares it to reload its set. */
pd_status store_pbx_generation(pd_store *s, int64_t *gen, pd_err *e);
/* Live status written by the monitor so other processes (CLI, other consoles) can read it. */
typedef struct {
	int64_t customer_id;
	pd_link_state link; /* stored as its key (pbx_status.link): what decisions read */
	char *state;        /* the human text: "syncing 3/20", "retrying in 8s", … (shown only) */
	char *last_error;   /* may be NULL */
	int64_t since;      /* unix seconds: when `link` took its value (0 = updated_at) */
	int64_t updated_at; /* the monitor's last write or heartbeat */
	int64_t live_calls, agents_available, agents_logged_on;
	bool monitored; /* read: the writer had not stopped (a write sets it) */
} pd_pbx_status;
pd_status store_pbx_status_set(pd_store *s, const pd_pbx_status *st, pd_err *e);
pd_status store_pbx_status_get(pd_store *s, int64_t customer_id, pd_pbx_status *out, pd_err *e);
/* PBX health for the status line, over non-deleted customers' links, from
 * the states the monitor stored (a link with no stored state is "not_started"). */
typedef struct {
	int64_t links, disabled, not_started;
	int64_t by_link[PD_LINK_N_STATES]; /* enabled links by stored state */
	int64_t live_calls, agents_available, agents_logged_on;
} pd_pbx_counts;
pd_status store_pbx_counts(pd_store *s, pd_pbx_counts *out, pd_err *e);
void pd_pbx_status_free(pd_pbx_status *st);
/* Freshness: a running monitor rewrites each of its rows' updated_at at
 * least every PD_PBX_HEARTBEAT_S seconds (the heartbeat) and clears
 * `monitored` when it stops, so a row stopped or not written for
 * PD_PBX_STALE_S says what the last monitor saw, not what is: none runs now
 * (or it is stuck). updated_at 0 (no row) is not fresh. */
#define PD_PBX_HEARTBEAT_S 30
#define PD_PBX_STALE_S 90
bool pd_pbx_status_fresh(bool monitored, int64_t updated_at, int64_t now);
/* For these customers' rows, in one statement and one transaction:
 * monitored true, the heartbeat (updated_at = now, monitored = 1: the
 * monitor, every PD_PBX_HEARTBEAT_S); false, a monitor's clean stop
 * (monitored = 0, updated_at kept: "last known …, 12 min ago"). */
pd_status store_pbx_status_touch(pd_store *s, const int64_t *customer_ids, size_t n, int64_t now,
                                 bool monitored, pd_err *e);
/* An age in words: "42 s ago", "12 min ago", "3 h ago", "2 d ago"; "just now"
 * under a second; a time in the future (another clock) reads "just now". */
void pd_age_text(int64_t then, int64_t now, char *buf, size_t n);
/* What a stored state says when its row is stale:
 * "not monitored (last known: monitoring, 12 min ago)". state: the stored
 * human text or the key's label. */
void pd_pbx_stale_text(const char *state, int64_t updated_at, int64_t now, char *buf, size_t n);
/* A list's words for a row's stored PBX status at `now`, and whether it is
 * fresh: "" without a PBX; "disabled" for a disabled connection; "not
 * started" without a row; fresh: "monitoring, 42 s ago" (the state's label);
 * else pd_pbx_stale_text. */
bool pd_row_pbx_text(const pd_row *r, int64_t now, char *buf, size_t n);

pd_status store_template_list(pd_store *s, pd_template **out, size_t *n, pd_err *e);
pd_status store_template_get(pd_store *s, const char *name, pd_template *out, pd_err *e);
pd_status store_template_save(pd_store *s, pd_template *t, const pd_actor *a,
                              pd_err *e); /* insert or update (version-checked) */
pd_status store_template_delete(pd_store *s, const char *name, const pd_actor *a, pd_err *e);

pd_status store_sub_account_list(pd_store *s, int64_t customer_id, pd_sub_account **out, size_t *n,
                                 pd_err *e);
void pd_sub_accounts_free(pd_sub_account *v, size_t n);

/* One-way user sync from the PBX, in one transaction. Nothing is written
 * (and no audit row) when nothing changed. Links each synced user to the
 * console user with its email (folded), else to the only console user whose
 * extension is its endpoint, or its user part ("1001" of FreeSWITCH's
 * "1001@default") when no other synced user has that user part; creates
 * sub-accounts when auto_provision.
 * linked counts the links made by this sync (a link-only change is not an
 * update; a lost link is). */
typedef struct {
	const char *endpoint; /* required, unique per customer */
	const char *display_name;
	const char *email;        /* may be NULL */
	const char *sub_account;  /* may be NULL */
	const char *device_state; /* may be NULL */
} pd_synced_user;
typedef struct {
	int added, updated, removed, unchanged, sub_accounts_added, linked;
} pd_sync_result;
pd_status store_sync_users(pd_store *s, int64_t customer_id, const pd_synced_user *users, size_t n,
                           bool auto_provision, pd_sync_result *res, pd_err *e);

/* ---- audit ---- */
typedef struct {
	int64_t id, at;      /* unix seconds */
	char *actor;         /* OS user */
	char *client;        /* SSH client address or NULL */
	int64_t customer_id; /* 0 for global objects (templates) */
	char *object;        /* "customer", "user", "pbx", "template", "role", "outbox" */
	char *action;        /* "create", "update", "delete", "restore", "sync", … */
	char *detail; /* "name: Old → New; reference: ∅ → R-1" — secrets shown as "(changed)" */
} pd_audit;
/* customer_id 0 = every customer; newest first; limit 0 = no limit. */
pd_status store_audit_list(pd_store *s, int64_t customer_id, size_t limit, pd_audit **out,
                           size_t *n, pd_err *e);
void pd_audits_free(pd_audit *v, size_t n);
/* When the customer's PBX connection last changed (the time of its newest
 * audit row on "pbx"), 0 when never, INT64_MAX when it cannot be read: a
 * monitor's link opened before then dialled what was stored then, so it is
 * not the answer of a `pbx test` (the CLI's and the API's). */
int64_t store_pbx_changed_at(pd_store *s, int64_t customer_id);

/* ---- outbox (docs/architecture.md, Mail) ---- */
/* An invitation. to_addr/subject/body: a preview while queued (the mail is
 * rendered when sent, from the user as they are then, and the row then
 * holds what was sent, its token left out). user_id 0: the user was removed. */
typedef struct {
	int64_t id, customer_id, user_id;
	char *to_addr, *subject, *body;
	pd_invite_state state;
	int attempts;
	int64_t next_attempt_at, created_at, sent_at;
	char *last_error;
	char *invited_by; /* the support user who queued (or re-sent) it; "" = unknown */
} pd_outbox;
pd_status store_outbox_list(pd_store *s, int64_t customer_id /* 0 = all */, pd_outbox **out,
                            size_t *n, pd_err *e);
/* The oldest queued message whose next_attempt_at <= now; PD_E_NOTFOUND when none. */
pd_status store_outbox_next_due(pd_store *s, int64_t now, pd_outbox *out, pd_err *e);
pd_status store_outbox_mark_sent(pd_store *s, int64_t id, int64_t now, pd_err *e);
/* What was sent, recorded with the state in one transaction; the token's
 * hash (hex SHA-256) and expiry replace the user's previous ones. */
typedef struct {
	const char *to, *subject, *body; /* body without the token */
	const char *token_hash;          /* NULL: no token (no activation URL) */
	int64_t token_expires;
} pd_outbox_sent;
pd_status store_outbox_mark_sent_as(pd_store *s, int64_t id, int64_t now,
                                    const pd_outbox_sent *sent, pd_err *e);
/* Never to be sent (the user is gone): state cancelled with the reason. */
pd_status store_outbox_cancel(pd_store *s, int64_t id, const char *reason, pd_err *e);
/* A person cancels a queued message: refused (PD_E_INVALID, field "outbox")
 * unless it is queued; cancelled "by USER" with an audit row. */
pd_status store_outbox_cancel_by(pd_store *s, int64_t id, const pd_actor *a, pd_err *e);
/* The user's current activation-token hash and expiry (NULL, 0 when none). */
pd_status store_user_invite_token(pd_store *s, int64_t user_id, char **hash, int64_t *expires,
                                  pd_err *e);
/* permanent: state failed; else stays queued with next_attempt_at. */
pd_status store_outbox_mark_failed(pd_store *s, int64_t id, const char *error,
                                   int64_t next_attempt_at, bool permanent, pd_err *e);
/* Put a failed (or sent: "resend") message back in the queue; id 0 = every
 * failed one that is the user's latest invitation. A cancelled message, one
 * whose user was removed, or one whose user already has a queued invitation
 * is refused (id) or skipped (0). */
pd_status store_outbox_retry(pd_store *s, int64_t id, const pd_actor *a, int *count, pd_err *e);
/* Queue a new invitation for an existing user ("resend invitation"). When
 * one is already queued for the user it is made due now (one message, not
 * two) and *already (if non-NULL) is set. */
pd_status store_outbox_resend_user(pd_store *s, int64_t user_id, const pd_actor *a, pd_err *e);
pd_status store_outbox_resend_user_ex(pd_store *s, int64_t user_id, const pd_actor *a,
                                      bool *already, pd_err *e);
void pd_outbox_free(pd_outbox *o);
void pd_outboxes_free(pd_outbox *v, size_t n);

/* ---- billing ---- */
/* Calls fn for each line of the period, in billing-id order; stops on non-OK. */
typedef pd_status (*pd_billing_fn)(const pd_billing_line *l, void *ctx, pd_err *e);
pd_status store_billing_export(pd_store *s, pd_day first, int ndays, pd_billing_fn fn, void *ctx,
                               pd_err *e);

/* ---- wizard drafts (never customers) ---- */
/* owner: OS user. json: the wizard's own serialisation. */
pd_status store_draft_save(pd_store *s, const char *owner, const char *json, pd_err *e);
/* PD_E_NOTFOUND when there is none. */
pd_status store_draft_load(pd_store *s, const char *owner, char **json, int64_t *saved_at,
                           pd_err *e);
pd_status store_draft_delete(pd_store *s, const char *owner, pd_err *e);

#endif

/* Opening the database (file mode, version check, migrations, catalogue),
 * the statement cache and the retrying write transaction. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "provdesk/i18n.h"
#include "provdesk/paths.h"
#include "schema.h"
#include "secrets.h"
#include "sql_functions.h"
#include "store_internal.h"

/* Whole-transaction retries after busy_timeout already waited: several
 * processes must never see SQLITE_BUSY surface. */
#define TX_RETRIES 8
/* Page cache in KiB: normal, and inside store_begin … store_commit. */
#define STORE_CACHE_KB 16000
#define STORE_BATCH_CACHE_KB 65536

void store_process_init(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

const pd_geo *store_geo(pd_err *e)
{
	const pd_geo *g = NULL;
	if (pd_geo_get(&g, e) != PD_OK)
		return NULL;
	return g;
}

/* ---- statements ---- */

pd_status store_lock_file(const pd_store *s, const char *name, int *fd_out, pd_err *e)
{
	*fd_out = -1;
	const char *db = store_path(s);
	if (!db || !*db || strcmp(db, ":memory:") == 0)
		return pd_fail(e, PD_E_UNAVAILABLE, NULL,
		               _("an in-memory database has no lock file"));
	char *safe = xstrdup(name);
	for (char *p = safe; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
			*p = '_';
	struct stat sb;
	/* a group-shared database gets a group-shared lock */
	mode_t mode = stat(db, &sb) == 0 ? (sb.st_mode & 0660) | 0600 : 0600;
	char *path = xasprintf("%s-%s.lock", db, safe);
	free(safe);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, mode);
	if (fd < 0) {
		pd_status st = pd_fail(e, PD_E_UNAVAILABLE, NULL, _("cannot open %s: %s"), path,
		                       strerror(errno));
		free(path);
		return st;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int err = errno;
		close(fd);
		pd_status st =
		    err == EWOULDBLOCK
		        ? pd_fail(e, PD_E_TEMPFAIL, NULL, _("%s is held by another process"), path)
		        : pd_fail(e, PD_E_UNAVAILABLE, NULL, _("cannot lock %s: %s"), path,
		                  strerror(err));
		free(path);
		return st;
	}
	free(path);
	*fd_out = fd;
	return PD_OK;
}

pd_status st_collect(pd_store *s, sqlite3_stmt *st, size_t size, st_row_fn row, void *ctx,
                     void (*elem_free)(void *elem), void **out, size_t *n, const char *what,
                     pd_err *e)
{
	char *v = NULL;
	size_t cap = 0, k = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (k == cap) {
			cap = cap ? cap * 2 : 16;
			v = xrealloc(v, cap * size);
		}
		memset(v + k * size, 0, size);
		row(st, v + k * size, ctx);
		k++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		for (size_t i = 0; i < k; i++)
			elem_free(v + i * size);
		free(v);
		*out = NULL;
		*n = 0;
		return st_fail(s, rc, e, what);
	}
	*out = v;
	*n = k;
	return PD_OK;
}

pd_status st_fail(pd_store *s, int rc, pd_err *e, const char *what)
{
	int prim = rc & 0xff;
	if (prim == SQLITE_BUSY || prim == SQLITE_LOCKED) {
		s->busy_hit = true;
		return pd_fail(e, PD_E_TEMPFAIL, NULL, _("database busy (%s); retry"), what);
	}
	if (prim == SQLITE_READONLY)
		return pd_fail(e, PD_E_CANTCREATE, NULL, _("%s: database is read-only (%s)"),
		               s->path, what);
	if (prim == SQLITE_FULL || prim == SQLITE_IOERR)
		return pd_fail(e, PD_E_IO, NULL, "%s: %s (%s)", s->path, sqlite3_errmsg(s->db),
		               what);
	if (prim == SQLITE_CORRUPT || prim == SQLITE_NOTADB)
		return pd_fail(e, PD_E_NOINPUT, NULL, _("%s: database is corrupt: %s"), s->path,
		               sqlite3_errmsg(s->db));
	return pd_fail(e, PD_E_INTERNAL, NULL, _("database error in %s: %s"), what,
	               sqlite3_errmsg(s->db));
}

sqlite3_stmt *st_get(pd_store *s, const char *sql, pd_err *e)
{
	for (size_t i = 0; i < s->n_cache; i++) {
		if (s->cache[i].sql == sql) {
			sqlite3_reset(s->cache[i].st);
			sqlite3_clear_bindings(s->cache[i].st);
			return s->cache[i].st;
		}
	}
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
	if (rc != SQLITE_OK) {
		st_fail(s, rc, e, "prepare");
		return NULL;
	}
	if (s->n_cache < STORE_STMT_CACHE) {
		s->cache[s->n_cache].sql = sql;
		s->cache[s->n_cache].st = st;
		s->n_cache++;
		return st;
	}
	/* Cannot happen with the store's fixed set of statements; fail loudly. */
	sqlite3_finalize(st);
	pd_fail(e, PD_E_INTERNAL, NULL, _("statement cache full"));
	return NULL;
}

pd_status st_exec(pd_store *s, sqlite3_stmt *st, pd_err *e)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return st_fail(s, rc, e, "write");
	return PD_OK;
}

void bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

void bind_opt(sqlite3_stmt *st, int i, const char *v)
{
	bind_text(st, i, v && *v ? v : NULL);
}

char *col_str(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? xstrdup((const char *)t) : NULL;
}

char *col_str_empty(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return xstrdup(t ? (const char *)t : "");
}

static int exec_sql(pd_store *s, const char *sql)
{
	return sqlite3_exec(s->db, sql, NULL, NULL, NULL);
}

static int cache_kb(pd_store *s, int kb)
{
	char sql[64];
	snprintf(sql, sizeof sql, "PRAGMA cache_size = -%d", kb);
	return exec_sql(s, sql);
}

/* ---- transactions ---- */

static void backoff(int attempt)
{
	/* 10, 20, 40 … ms with jitter so the retrying processes spread out. */
	long ms = (10L << attempt) + (rand() % 10);
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Inside store_begin … store_commit each write is a savepoint: a refused
 * row rolls back alone, the outer transaction already holds the lock. */
static pd_status tx_nested(pd_store *s, store_tx_fn fn, void *ctx, bool *changed, pd_err *e)
{
	/* Cached statements: sqlite3_exec would parse these three per row. */
	static const char sp_sql[] = "SAVEPOINT pd_write";
	static const char undo_sql[] = "ROLLBACK TO pd_write";
	static const char rel_sql[] = "RELEASE pd_write";
	if (changed)
		*changed = false;
	/* All or nothing, and nothing to undo on purpose: no savepoint. */
	if (s->batch_atomic && !changed) {
		if (s->batch_failed)
			return pd_fail(
			    e, PD_E_INTERNAL, NULL,
			    _("a write of this batch failed; it can only be rolled back"));
		pd_status st = fn(s, ctx, e);
		if (st != PD_OK)
			s->batch_failed = true;
		return st;
	}
	sqlite3_stmt *sp = st_get(s, sp_sql, e);
	if (!sp || st_exec(s, sp, e) != PD_OK)
		return FAILED(e);
	pd_status st = fn(s, ctx, e);
	pd_err ignored;
	if (st != PD_OK || (changed && !*changed)) {
		sqlite3_stmt *undo = st_get(s, undo_sql, &ignored);
		if (undo)
			st_exec(s, undo, &ignored);
	}
	sqlite3_stmt *rel = st_get(s, rel_sql, &ignored);
	if (rel)
		st_exec(s, rel, &ignored);
	return st;
}

static pd_status tx_run(pd_store *s, store_tx_fn fn, void *ctx, bool *changed, pd_err *e)
{
	if (s->read_only)
		return pd_fail(e, PD_E_CANTCREATE, NULL, _("%s: opened read-only"), s->path);
	if (s->in_batch)
		return tx_nested(s, fn, ctx, changed, e);
	pd_status st = PD_OK;
	for (int attempt = 0; attempt <= TX_RETRIES; attempt++) {
		s->busy_hit = false;
		if (changed)
			*changed = false;
		int rc = exec_sql(s, "BEGIN IMMEDIATE");
		if (rc != SQLITE_OK) {
			st = st_fail(s, rc, e, "begin");
			if (s->busy_hit && attempt < TX_RETRIES) {
				backoff(attempt);
				continue;
			}
			return st;
		}
		st = fn(s, ctx, e);
		if (st == PD_OK && (!changed || *changed)) {
			rc = exec_sql(s, "COMMIT");
			if (rc == SQLITE_OK) {
				s->own_commits++;
				return PD_OK;
			}
			st = st_fail(s, rc, e, "commit");
		}
		exec_sql(s, "ROLLBACK");
		if (st == PD_OK)
			return PD_OK; /* nothing changed: rolled back on purpose */
		if (!(st == PD_E_TEMPFAIL && s->busy_hit) || attempt == TX_RETRIES)
			return st;
		backoff(attempt);
	}
	return st;
}

pd_status store_tx(pd_store *s, store_tx_fn fn, void *ctx, pd_err *e)
{
	return tx_run(s, fn, ctx, NULL, e);
}

pd_status store_tx_maybe(pd_store *s, store_tx_fn fn, void *ctx, bool *changed, pd_err *e)
{
	return tx_run(s, fn, ctx, changed, e);
}

/* Connection settings for a batch, set before its BEGIN:
 * - the savepoint of each row keeps the original of every page it touches
 *   (about 20 per customer, its indexes and rows) in a sub-journal, a temp
 *   file beyond 64 KB: 80 KB of pwrite per row. In memory it is reused from
 *   the start at each row's RELEASE, so it never grows past one row.
 * - a batch writes far more than the 16 MB page cache holds (100,000
 *   customers with their indexes, audit and outbox rows): pages spilled to
 *   the WAL mid-transaction are written again when touched again. */
static void batch_settings(pd_store *s)
{
	exec_sql(s, "PRAGMA temp_store = MEMORY");
	cache_kb(s, STORE_BATCH_CACHE_KB);
}

static void batch_end(pd_store *s)
{
	s->in_batch = false;
	s->batch_atomic = false;
	s->batch_failed = false;
	exec_sql(s, "PRAGMA temp_store = DEFAULT");
	cache_kb(s, s->cache_kb);
}

static pd_status batch_begin(pd_store *s, bool atomic, pd_err *e)
{
	E_GUARD(e);
	if (s->in_batch)
		return pd_fail(e, PD_E_INTERNAL, NULL, _("store_begin: a batch is already open"));
	if (s->read_only)
		return pd_fail(e, PD_E_CANTCREATE, NULL, _("%s: opened read-only"), s->path);
	batch_settings(s);
	/* Same BUSY handling as every write, then keep the transaction open. */
	for (int attempt = 0;; attempt++) {
		s->busy_hit = false;
		int rc = exec_sql(s, "BEGIN IMMEDIATE");
		if (rc == SQLITE_OK)
			break;
		pd_status st = st_fail(s, rc, e, "begin");
		if (!s->busy_hit || attempt == TX_RETRIES) {
			batch_end(s);
			return st;
		}
		backoff(attempt);
	}
	/* The trigram index of the customers this batch creates is written at
	 * commit, in one statement (schema migration 4 says why). */
	static const char defer_sql[] =
	    "INSERT OR REPLACE INTO meta(key, value)"
	    " SELECT 'fts_deferred_from', coalesce(max(id), 0) + 1 FROM customers";
	sqlite3_stmt *st = st_get(s, defer_sql, e);
	if (!st || st_exec(s, st, e) != PD_OK) {
		pd_status r = FAILED(e);
		exec_sql(s, "ROLLBACK");
		batch_end(s);
		return r;
	}
	s->in_batch = true;
	s->batch_atomic = atomic;
	s->batch_failed = false;
	return PD_OK;
}

pd_status store_begin(pd_store *s, pd_err *e)
{
	return batch_begin(s, false, e);
}

pd_status store_begin_atomic(pd_store *s, pd_err *e)
{
	return batch_begin(s, true, e);
}

/* Index the customers created in the batch and end the deferral. */
static pd_status batch_index(pd_store *s, pd_err *e)
{
	static const char ins_sql[] =
	    "INSERT INTO customers_fts(rowid, search) SELECT id, search FROM customers"
	    " WHERE id >= (SELECT CAST(value AS INTEGER) FROM meta"
	    " WHERE key = 'fts_deferred_from') ORDER BY id";
	static const char end_sql[] = "DELETE FROM meta WHERE key = 'fts_deferred_from'";
	sqlite3_stmt *st = st_get(s, ins_sql, e);
	if (!st || st_exec(s, st, e) != PD_OK)
		return FAILED(e);
	st = st_get(s, end_sql, e);
	if (!st || st_exec(s, st, e) != PD_OK)
		return FAILED(e);
	return PD_OK;
}

pd_status store_commit(pd_store *s, pd_err *e)
{
	E_GUARD(e);
	if (!s->in_batch)
		return pd_fail(e, PD_E_INTERNAL, NULL, _("store_commit: no batch open"));
	if (s->batch_failed) {
		store_rollback(s);
		return pd_fail(e, PD_E_INTERNAL, NULL,
		               _("store_commit: a write of this all-or-nothing batch failed; "
		                 "rolled back"));
	}
	if (batch_index(s, e) != PD_OK) {
		pd_status st = FAILED(e);
		exec_sql(s, "ROLLBACK");
		batch_end(s);
		return st;
	}
	int rc = exec_sql(s, "COMMIT");
	if (rc != SQLITE_OK) {
		pd_status st = st_fail(s, rc, e, "commit");
		exec_sql(s, "ROLLBACK");
		batch_end(s);
		return st;
	}
	batch_end(s);
	s->own_commits++;
	return PD_OK;
}

void store_rollback(pd_store *s)
{
	if (!s || !s->in_batch)
		return;
	exec_sql(s, "ROLLBACK");
	batch_end(s);
}

/* ---- audit ---- */

pd_status audit_add(pd_store *s, const pd_actor *a, int64_t customer_id, int64_t customer_version,
                    const char *object, const char *action, const char *detail, pd_err *e)
{
	pd_actor me;
	if (!a) {
		pd_actor_current(&me);
		a = &me;
	}
	static const char sql[] =
	    "INSERT INTO audit(at, actor, client, customer_id, customer_version,"
	    " object, action, detail) VALUES (?,?,?,?,?,?,?,?)";
	sqlite3_stmt *st = st_get(s, sql, e);
	if (!st)
		return e ? e->status : PD_E_INTERNAL;
	sqlite3_bind_int64(st, 1, pd_now());
	bind_text(st, 2, a->user[0] ? a->user : "?");
	bind_opt(st, 3, a->client);
	sqlite3_bind_int64(st, 4, customer_id);
	sqlite3_bind_int64(st, 5, customer_version);
	bind_text(st, 6, object);
	bind_text(st, 7, action);
	bind_text(st, 8, detail ? detail : "");
	return st_exec(s, st, e);
}

static void sep(pd_buf *b)
{
	if (b->len)
		pd_buf_add(b, "; ");
}

static bool str_eq(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

static void add_quoted(pd_buf *b, const char *v)
{
	if (!v || !*v) {
		pd_buf_add(b, "∅");
		return;
	}
	pd_buf_addc(b, '"');
	pd_buf_add(b, v);
	pd_buf_addc(b, '"');
}

void diff_str(pd_buf *b, const char *field, const char *old, const char *nw)
{
	if (str_eq(old, nw))
		return;
	/* Appends, not printf: every imported customer renders ~10 of these. */
	sep(b);
	pd_buf_add(b, field);
	pd_buf_add(b, ": ");
	add_quoted(b, old);
	pd_buf_add(b, " → ");
	add_quoted(b, nw);
}

void diff_secret(pd_buf *b, const char *field, bool changed)
{
	if (!changed)
		return;
	sep(b);
	pd_buf_printf(b, "%s: (changed)", field);
}

void diff_bool(pd_buf *b, const char *field, bool old, bool nw)
{
	if (old == nw)
		return;
	sep(b);
	pd_buf_printf(b, "%s: %s → %s", field, old ? "yes" : "no", nw ? "yes" : "no");
}

void diff_int(pd_buf *b, const char *field, int64_t old, int64_t nw)
{
	if (old == nw)
		return;
	sep(b);
	pd_buf_printf(b, "%s: %lld → %lld", field, (long long)old, (long long)nw);
}

void diff_day(pd_buf *b, const char *field, bool has_old, pd_day old, bool has_new, pd_day nw)
{
	if (has_old == has_new && (!has_old || old == nw))
		return;
	char o[11] = "∅", n[11] = "∅";
	if (has_old)
		pd_day_format(old, o);
	if (has_new)
		pd_day_format(nw, n);
	sep(b);
	pd_buf_printf(b, "%s: %s → %s", field, o, n);
}

/* ---- opening ---- */

/* Create the directory and the file with the right mode before SQLite sees
 * them: SQLite would create the file with 0644 & ~umask. */
static pd_status prepare_file(const char *path, bool read_only, pd_err *e)
{
	struct stat sb;
	if (stat(path, &sb) == 0) {
		if (S_ISDIR(sb.st_mode))
			return pd_fail(e, PD_E_NOINPUT, "db",
			               _("%s: is a directory, not a database file"), path);
		if (access(path, read_only ? R_OK : R_OK | W_OK) != 0)
			return pd_fail(e, PD_E_NOINPUT, "db", _("%s: cannot open database: %s"),
			               path, strerror(errno));
		return PD_OK;
	}
	if (errno != ENOENT)
		return pd_fail(e, PD_E_NOINPUT, "db", "%s: %s", path, strerror(errno));
	if (read_only)
		return pd_fail(e, PD_E_NOINPUT, "db", _("%s: no such database"), path);

	char *copy = xstrdup(path);
	char *dir = dirname(copy);
	if (pd_mkdir_p(dir, 0700) != 0) {
		pd_status st = pd_fail(e, PD_E_CANTCREATE, "db",
		                       _("%s: cannot create directory: %s"), dir, strerror(errno));
		free(copy);
		return st;
	}
	free(copy);
	/* Readable by its owner only, whatever the folder: neither a setgid
	 * (group-shared) folder, nor its default ACL, nor a permissive umask
	 * widens a new database. Sharing one is the admin's choice, made on
	 * the file (chmod 660; see docs/user-guide.md "Sharing a database"),
	 * and an existing file keeps its mode (above). */
	const mode_t mode = 0600;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0) {
		if (errno == EEXIST)
			return PD_OK; /* another process created it first */
		return pd_fail(e, PD_E_CANTCREATE, "db", _("%s: cannot create database: %s"), path,
		               strerror(errno));
	}
	/* A default ACL on the folder may have added group bits. */
	if (fchmod(fd, mode) != 0) {
		close(fd);
		return pd_fail(e, PD_E_CANTCREATE, "db", _("%s: chmod: %s"), path, strerror(errno));
	}
	close(fd);
	return PD_OK;
}

static pd_status migrate(pd_store *s, int from, pd_err *e)
{
	int n = schema_migration_count();
	for (int v = from + 1; v <= n; v++) {
		for (int attempt = 0;; attempt++) {
			int rc = exec_sql(s, "BEGIN IMMEDIATE");
			if (rc != SQLITE_OK) {
				if ((rc & 0xff) == SQLITE_BUSY && attempt < TX_RETRIES) {
					backoff(attempt);
					continue;
				}
				return st_fail(s, rc, e, "migration");
			}
			break;
		}
		/* Another process may have migrated while we waited for the lock. */
		sqlite3_stmt *q = NULL;
		int cur = 0;
		if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &q, NULL) == SQLITE_OK &&
		    sqlite3_step(q) == SQLITE_ROW)
			cur = sqlite3_column_int(q, 0);
		sqlite3_finalize(q);
		if (cur >= v) {
			exec_sql(s, "COMMIT");
			continue;
		}
		char *errmsg = NULL;
		int rc = sqlite3_exec(s->db, schema_migration(v), NULL, NULL, &errmsg);
		if (rc == SQLITE_OK) {
			char pragma[64];
			snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", v);
			rc = exec_sql(s, pragma);
		}
		if (rc == SQLITE_OK)
			rc = exec_sql(s, "COMMIT");
		if (rc != SQLITE_OK) {
			exec_sql(s, "ROLLBACK");
			pd_status st = pd_fail(e, PD_E_INTERNAL, NULL,
			                       _("%s: migration to schema %d failed: %s"), s->path,
			                       v, errmsg ? errmsg : sqlite3_errmsg(s->db));
			sqlite3_free(errmsg);
			return st;
		}
	}
	return PD_OK;
}

/* A cheap fingerprint of the catalogue, so opening with an unchanged
 * catalogue writes nothing. FNV-1a over every field we copy. */
static void fnv(uint64_t *h, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)(s ? s : "\x01"); *p; p++) {
		*h ^= *p;
		*h *= 1099511628211ULL;
	}
	*h ^= 0xff;
	*h *= 1099511628211ULL;
}

static char *catalogue_fingerprint(const pd_catalogue *c)
{
	uint64_t h = 1469598103934665603ULL;
	char num[32];
	for (size_t i = 0; i < c->n_types; i++) {
		const pd_product_type *t = &c->types[i];
		fnv(&h, t->key);
		fnv(&h, t->name);
		fnv(&h, t->description);
		fnv(&h, t->features_json);
		snprintf(num, sizeof num, "%d%d%lld", t->locked_after_assignment, t->trial_allowed,
		         (long long)t->price_cents);
		fnv(&h, num);
		fnv(&h, t->currency);
	}
	fnv(&h, "roles");
	for (size_t i = 0; i < c->n_roles; i++) {
		fnv(&h, c->roles[i].key);
		fnv(&h, c->roles[i].name);
		fnv(&h, c->roles[i].description);
		fnv(&h, c->roles[i].manages_users ? "1" : "0");
	}
	fnv(&h, "platforms");
	for (size_t i = 0; i < c->n_platforms; i++) {
		const pd_platform *p = &c->platforms[i];
		fnv(&h, p->key);
		fnv(&h, p->name);
		fnv(&h, p->sub_account_label);
		snprintf(num, sizeof num, "%d%d", p->has_sub_accounts, p->supported);
		fnv(&h, num);
	}
	return xasprintf("%016llx", (unsigned long long)h);
}

typedef struct {
	const pd_catalogue *cat;
	const char *fp;
} cat_ctx;

static pd_status sync_catalogue_tx(pd_store *s, void *vctx, pd_err *e)
{
	cat_ctx *x = vctx;
	const pd_catalogue *c = x->cat;
	static const char clear_pt[] = "UPDATE product_types SET in_catalogue = 0";
	static const char clear_ro[] = "UPDATE roles SET in_catalogue = 0";
	static const char clear_pl[] = "UPDATE platforms SET in_catalogue = 0";
	const char *clears[] = {clear_pt, clear_ro, clear_pl};
	for (size_t i = 0; i < 3; i++) {
		sqlite3_stmt *st = st_get(s, clears[i], e);
		if (!st || st_exec(s, st, e) != PD_OK)
			return e->status;
	}
	static const char up_pt[] =
	    "INSERT INTO product_types(key, name, description, features_json, locked, "
	    "trial_allowed,"
	    " price_cents, currency, in_catalogue) VALUES (?,?,?,?,?,?,?,?,1)"
	    " ON CONFLICT(key) DO UPDATE SET name=excluded.name, description=excluded.description,"
	    " features_json=excluded.features_json, locked=excluded.locked,"
	    " trial_allowed=excluded.trial_allowed, price_cents=excluded.price_cents,"
	    " currency=excluded.currency, in_catalogue=1";
	for (size_t i = 0; i < c->n_types; i++) {
		const pd_product_type *t = &c->types[i];
		sqlite3_stmt *st = st_get(s, up_pt, e);
		if (!st)
			return e->status;
		bind_text(st, 1, t->key);
		bind_text(st, 2, t->name ? t->name : t->key);
		bind_text(st, 3, t->description ? t->description : "");
		bind_text(st, 4, t->features_json ? t->features_json : "{}");
		sqlite3_bind_int(st, 5, t->locked_after_assignment);
		sqlite3_bind_int(st, 6, t->trial_allowed);
		sqlite3_bind_int64(st, 7, t->price_cents);
		bind_text(st, 8, t->currency ? t->currency : "");
		if (st_exec(s, st, e) != PD_OK)
			return e->status;
		/* Billing reads the price in force each day (schema migration 8):
		 * a new row from now when the file's price differs from it. */
		static const char price[] =
		    "INSERT INTO price_history(product_type, at, price_cents, currency)"
		    " SELECT ?1, ?2, ?3, ?4 WHERE NOT EXISTS (SELECT 1 FROM (SELECT price_cents,"
		    " currency FROM price_history WHERE product_type = ?1 ORDER BY id DESC LIMIT 1)"
		    " WHERE price_cents = ?3 AND currency = ?4)";
		st = st_get(s, price, e);
		if (!st)
			return e->status;
		bind_text(st, 1, t->key);
		sqlite3_bind_int64(st, 2, pd_now());
		sqlite3_bind_int64(st, 3, t->price_cents);
		bind_text(st, 4, t->currency ? t->currency : "");
		if (st_exec(s, st, e) != PD_OK)
			return e->status;
	}
	/* A product type that live customers use must stay in the catalogue:
	 * dropped, they would be billed 0.00 without a word. Refused, and the
	 * transaction (so the database) left as it was. */
	static const char used_gone[] =
	    "SELECT c.product_type, count(*) FROM customers c"
	    " JOIN product_types p ON p.key = c.product_type AND p.in_catalogue = 0"
	    " WHERE c.deleted_at = 0 GROUP BY c.product_type ORDER BY count(*) DESC, 1";
	sqlite3_stmt *ug = st_get(s, used_gone, e);
	if (!ug)
		return e->status;
	pd_buf gone = {0};
	int n_gone = 0, rc;
	while ((rc = sqlite3_step(ug)) == SQLITE_ROW) {
		long long n = sqlite3_column_int64(ug, 1);
		if (n_gone++ < 5)
			pd_buf_printf(
			    &gone, _("%s\"%s\" (used by %lld customer%s)"), gone.len ? ", " : "",
			    (const char *)sqlite3_column_text(ug, 0), n, n == 1 ? "" : "s");
	}
	sqlite3_reset(ug);
	if (rc != SQLITE_DONE) {
		pd_buf_free(&gone);
		return st_fail(s, rc, e, "catalogue");
	}
	if (n_gone) {
		pd_fail(e, PD_E_CONFIG, "product_type",
		        _("%s: the catalogue no longer has product type%s %s%s; put %s back in the "
		          "file, or move those customers to another product type first"),
		        c->path ? c->path : "catalogue", n_gone == 1 ? "" : "s", gone.s,
		        n_gone > 5 ? ", …" : "", n_gone == 1 ? "it" : "them");
		pd_buf_free(&gone);
		return PD_E_CONFIG;
	}
	pd_buf_free(&gone);
	static const char up_ro[] =
	    "INSERT INTO roles(key, name, description, manages_users, in_catalogue) VALUES "
	    "(?,?,?,?,1)"
	    " ON CONFLICT(key) DO UPDATE SET name=excluded.name, description=excluded.description,"
	    " manages_users=excluded.manages_users, in_catalogue=1";
	for (size_t i = 0; i < c->n_roles; i++) {
		sqlite3_stmt *st = st_get(s, up_ro, e);
		if (!st)
			return e->status;
		bind_text(st, 1, c->roles[i].key);
		bind_text(st, 2, c->roles[i].name ? c->roles[i].name : c->roles[i].key);
		bind_text(st, 3, c->roles[i].description ? c->roles[i].description : "");
		sqlite3_bind_int(st, 4, c->roles[i].manages_users);
		if (st_exec(s, st, e) != PD_OK)
			return e->status;
	}
	static const char up_pl[] =
	    "INSERT INTO platforms(key, name, has_sub_accounts, sub_account_label, supported,"
	    " in_catalogue) VALUES (?,?,?,?,?,1)"
	    " ON CONFLICT(key) DO UPDATE SET name=excluded.name,"
	    " has_sub_accounts=excluded.has_sub_accounts, "
	    "sub_account_label=excluded.sub_account_label,"
	    " supported=excluded.supported, in_catalogue=1";
	for (size_t i = 0; i < c->n_platforms; i++) {
		const pd_platform *p = &c->platforms[i];
		sqlite3_stmt *st = st_get(s, up_pl, e);
		if (!st)
			return e->status;
		bind_text(st, 1, p->key);
		bind_text(st, 2, p->name ? p->name : p->key);
		sqlite3_bind_int(st, 3, p->has_sub_accounts);
		bind_text(st, 4, p->sub_account_label);
		sqlite3_bind_int(st, 5, p->supported);
		if (st_exec(s, st, e) != PD_OK)
			return e->status;
	}
	static const char fp_sql[] = "INSERT INTO meta(key, value) VALUES ('catalogue', ?)"
	                             " ON CONFLICT(key) DO UPDATE SET value = excluded.value";
	sqlite3_stmt *st = st_get(s, fp_sql, e);
	if (!st)
		return e->status;
	bind_text(st, 1, x->fp);
	return st_exec(s, st, e);
}

static pd_status sync_catalogue(pd_store *s, pd_err *e)
{
	char *fp = catalogue_fingerprint(s->cat);
	static const char get_fp[] = "SELECT value FROM meta WHERE key = 'catalogue'";
	sqlite3_stmt *st = st_get(s, get_fp, e);
	if (!st) {
		free(fp);
		return e->status;
	}
	bool same = sqlite3_step(st) == SQLITE_ROW &&
	            strcmp((const char *)sqlite3_column_text(st, 0), fp) == 0;
	sqlite3_reset(st);
	pd_status r = PD_OK;
	if (!same) {
		cat_ctx x = {s->cat, fp};
		r = store_tx(s, sync_catalogue_tx, &x, e);
	}
	free(fp);
	return r;
}

static int read_int_pragma(pd_store *s, const char *sql, int *out)
{
	sqlite3_stmt *q = NULL;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &q, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(q);
		if (rc == SQLITE_ROW) {
			*out = sqlite3_column_int(q, 0);
			rc = SQLITE_OK;
		}
	}
	sqlite3_finalize(q);
	return rc;
}

static pd_status open_fail(pd_store *s, pd_status st)
{
	store_close(s);
	return st;
}

pd_status store_open(const char *path, const pd_store_opts *o, pd_store **out, pd_err *e)
{
	*out = NULL;
	if (!o || !o->catalogue)
		return pd_fail(e, PD_E_INTERNAL, NULL, _("store_open: no catalogue given"));
	if (!path || !*path)
		return pd_fail(e, PD_E_USAGE, "db", _("no database path given"));
	if (schema_migration_count() != PD_SCHEMA_VERSION_CURRENT)
		return pd_fail(e, PD_E_INTERNAL, NULL, _("schema: %d migrations for version %d"),
		               schema_migration_count(), PD_SCHEMA_VERSION_CURRENT);
	pd_status st = prepare_file(path, o->read_only, e);
	if (st != PD_OK)
		return st;

	pd_store *s = xcalloc(1, sizeof *s);
	s->path = xstrdup(path);
	s->cat = o->catalogue;
	s->internal_limit = o->internal_systems_limit > 0    ? o->internal_systems_limit
	                    : o->internal_systems_limit == 0 ? 1
	                                                     : 0;
	s->read_only = o->read_only;
	s->cache_kb = o->cache_kb > 0 ? o->cache_kb : STORE_CACHE_KB;
	/* Tests force the grid's fallback paths with this; see grid.c. */
	const char *budget = getenv("PROVDESK_GRID_SCAN_BUDGET");
	s->scan_budget = budget ? atoi(budget) : 0;
	int flags =
	    (o->read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) | SQLITE_OPEN_NOMUTEX;
	int rc = sqlite3_open_v2(path, &s->db, flags, NULL);
	if (rc != SQLITE_OK)
		return open_fail(s,
		                 pd_fail(e, PD_E_NOINPUT, "db", _("%s: cannot open database: %s"),
		                         path, s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc)));
	sqlite3_extended_result_codes(s->db, 1);
	/* pd_now() for the billing triggers (schema migration 8): the one clock. */
	sql_functions_register(s->db);
	sqlite3_busy_timeout(s->db, o->busy_timeout_ms > 0 ? o->busy_timeout_ms : 5000);

	/* Read the version before anything that could write (journal mode):
	 * a newer database must be left byte-for-byte untouched. Reading the
	 * schema also proves the file is a database (NOTADB/CORRUPT otherwise);
	 * see docs in the report for why not PRAGMA quick_check (slow on 100k). */
	int version = 0, nobj = 0;
	rc = read_int_pragma(s, "SELECT count(*) FROM sqlite_master", &nobj);
	if (rc == SQLITE_OK)
		rc = read_int_pragma(s, "PRAGMA user_version", &version);
	if (rc != SQLITE_OK) {
		int prim = rc & 0xff;
		if (prim == SQLITE_BUSY)
			return open_fail(
			    s, pd_fail(e, PD_E_TEMPFAIL, "db", _("%s: database is locked"), path));
		return open_fail(s, pd_fail(e, PD_E_NOINPUT, "db",
		                            _("%s: not a readable provdesk database: %s"), path,
		                            sqlite3_errstr(rc)));
	}
	if (version > PD_SCHEMA_VERSION_CURRENT)
		return open_fail(
		    s, pd_fail(e, PD_E_CONFIG, "db",
		               _("%s: database schema version %d is newer than this provdesk "
		                 "understands (%d); upgrade provdesk (the file was not changed)"),
		               path, version, PD_SCHEMA_VERSION_CURRENT));
	if (version == 0 && nobj > 0)
		return open_fail(
		    s,
		    pd_fail(e, PD_E_NOINPUT, "db",
		            _("%s: an SQLite database, but not a provdesk one (no schema version)"),
		            path));
	if (o->read_only) {
		if (version < PD_SCHEMA_VERSION_CURRENT)
			return open_fail(
			    s,
			    pd_fail(
			        e, PD_E_CONFIG, "db",
			        _("%s: schema version %d needs migrating; open it once read-write"),
			        path, version));
		exec_sql(s, "PRAGMA foreign_keys = ON");
		if (o->cache_kb > 0)
			cache_kb(s, o->cache_kb);
		if ((st = secrets_open(s, true, e)) != PD_OK)
			return open_fail(s, st);
		*out = s;
		return PD_OK;
	}
	if (exec_sql(s, "PRAGMA journal_mode = WAL") != SQLITE_OK ||
	    exec_sql(s, "PRAGMA synchronous = NORMAL") != SQLITE_OK ||
	    /* 16 MB page cache: 10 sort indexes + the trigram index spill a 2 MB one. */
	    cache_kb(s, s->cache_kb) != SQLITE_OK ||
	    exec_sql(s, "PRAGMA foreign_keys = ON") != SQLITE_OK)
		return open_fail(s, st_fail(s, sqlite3_errcode(s->db), e, "open"));
	if ((st = migrate(s, version, e)) != PD_OK)
		return open_fail(s, st);
	if ((st = sync_catalogue(s, e)) != PD_OK)
		return open_fail(s, st);
	if ((st = secrets_open(s, false, e)) != PD_OK)
		return open_fail(s, st);
	*out = s;
	return PD_OK;
}

void store_close(pd_store *s)
{
	if (!s)
		return;
	store_rollback(s); /* an unfinished batch writes nothing */
	for (size_t i = 0; i < s->n_cache; i++)
		sqlite3_finalize(s->cache[i].st);
	for (size_t i = 0; i < STORE_GRID_CACHE; i++)
		sqlite3_finalize(s->grid[i]);
	sqlite3_close(s->db);
	explicit_bzero(s->key, sizeof s->key);
	free(s->path);
	free(s);
}

const char *store_path(const pd_store *s)
{
	return s->path;
}

int store_schema_version(pd_store *s)
{
	int v = -1;
	read_int_pragma(s, "PRAGMA user_version", &v);
	return v;
}

int64_t store_data_version(pd_store *s)
{
	static const char sql[] = "PRAGMA data_version";
	sqlite3_stmt *st = st_get(s, sql, NULL);
	int64_t v = -1;
	if (st && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	if (st)
		sqlite3_reset(st);
	return v;
}

int64_t store_change_counter(pd_store *s)
{
	return store_data_version(s) + s->own_commits;
}

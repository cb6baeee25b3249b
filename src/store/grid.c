/* The customer grid: keyset paging over an index (sort column, id) for
 * every sort, both directions, with an optional folded-substring filter.
 * Only the rows asked for are read: no OFFSET, no COUNT per row. */
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "provdesk/i18n.h"
#include "store_internal.h"

static const char *const sort_names[] = {
#define PD_X(e, s) s,
    PD_SORT_LIST(PD_X)
#undef PD_X
};

/* The column behind each sort; each has an index (col, id, deleted_at). */
static const struct {
	const char *col;
	bool text;
} sort_cols[] = {
    [PD_SORT_NAME] = {"c.name_key", true},       [PD_SORT_PRODUCT] = {"c.product_type", true},
    [PD_SORT_REFERENCE] = {"c.reference", true}, [PD_SORT_COUNTRY] = {"c.country", true},
    [PD_SORT_STATUS] = {"c.status_key", false},  [PD_SORT_INTERNAL] = {"c.internal_system", false},
    [PD_SORT_USERS] = {"c.n_users", false},      [PD_SORT_CREATED] = {"c.created_at", false},
    [PD_SORT_PBX] = {"c.pbx_key", false},
};

/* The stored PBX columns every row query reads after the sort key: the
 * status text, the state key, since, updated_at, last error, pbx_key,
 * monitored. */
#define ROW_PBX_COLS                                                                               \
	" CASE WHEN p.id IS NULL THEN NULL WHEN p.enabled = 0 THEN 'disabled'"                     \
	" ELSE coalesce(ps.state, 'not started') END,"                                             \
	" CASE WHEN p.id IS NULL THEN NULL WHEN p.enabled = 0 THEN 'disabled'"                     \
	" ELSE ps.link END, ps.since, ps.updated_at, ps.last_error, c.pbx_key, ps.monitored"       \
	" FROM customers c LEFT JOIN pbx p ON p.customer_id = c.id"                                \
	" LEFT JOIN pbx_status ps ON ps.customer_id = c.id"

static const char *const pbx_key_names[] = {
#define PD_X(e, n, s) [n] = s,
    PD_PBX_KEY_LIST(PD_X)
#undef PD_X
};

const char *pd_pbx_key_name(pd_pbx_key k)
{
	return (unsigned)k < sizeof pbx_key_names / sizeof pbx_key_names[0] && pbx_key_names[k]
	           ? pbx_key_names[k]
	           : "?";
}

pd_pbx_key pd_pbx_key_of(bool has_pbx, bool enabled, bool state_known, pd_link_state link)
{
	static const pd_pbx_key by_link[PD_LINK_N_STATES] = {
	    [PD_LINK_DISABLED] = PD_PBXK_DISABLED,
	    [PD_LINK_CONNECTING] = PD_PBXK_CONNECTING,
	    [PD_LINK_LOGGING_IN] = PD_PBXK_LOGGING_IN,
	    [PD_LINK_DISCOVERING] = PD_PBXK_DISCOVERING,
	    [PD_LINK_MONITORING] = PD_PBXK_MONITORING,
	    [PD_LINK_RETRYING] = PD_PBXK_RETRYING,
	    [PD_LINK_AUTH_FAILED] = PD_PBXK_AUTH_FAILED,
	    [PD_LINK_PROTOCOL_ERROR] = PD_PBXK_PROTOCOL_ERROR,
	    [PD_LINK_UNSUPPORTED] = PD_PBXK_UNSUPPORTED,
	    [PD_LINK_CONFIG_ERROR] = PD_PBXK_CONFIG_ERROR,
	};
	if (!has_pbx)
		return PD_PBXK_NONE;
	if (!enabled)
		return PD_PBXK_DISABLED;
	if (!state_known || (unsigned)link >= PD_LINK_N_STATES)
		return PD_PBXK_NOT_STARTED;
	return by_link[link];
}

#define PBXK_BIT(k) (1u << (unsigned)(k))
#define PBXK_FAILING                                                                               \
	(PBXK_BIT(PD_PBXK_AUTH_FAILED) | PBXK_BIT(PD_PBXK_PROTOCOL_ERROR) |                        \
	 PBXK_BIT(PD_PBXK_CONFIG_ERROR))
#define PBXK_DOWN                                                                                  \
	(PBXK_FAILING | PBXK_BIT(PD_PBXK_RETRYING) | PBXK_BIT(PD_PBXK_CONNECTING) |                \
	 PBXK_BIT(PD_PBXK_LOGGING_IN) | PBXK_BIT(PD_PBXK_DISCOVERING) |                            \
	 PBXK_BIT(PD_PBXK_NOT_STARTED) | PBXK_BIT(PD_PBXK_UNSUPPORTED))

static bool pbx_word(const char *w, size_t len, uint32_t *mask)
{
	static const struct {
		const char *w;
		uint32_t m;
	} words[] = {
	    {"down", PBXK_DOWN}, {"up", PBXK_BIT(PD_PBXK_MONITORING)}, {"failing", PBXK_FAILING}};
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strlen(words[i].w) == len && !strncmp(w, words[i].w, len))
			return *mask |= words[i].m, true;
	for (size_t k = 1; k < sizeof pbx_key_names / sizeof pbx_key_names[0]; k++)
		if (pbx_key_names[k] && strlen(pbx_key_names[k]) == len &&
		    !strncmp(w, pbx_key_names[k], len))
			return *mask |= PBXK_BIT(k), true;
	return false;
}

bool pd_pbx_filter_parse(const char *text, uint32_t *mask)
{
	*mask = 0;
	if (!text || !*text)
		return false;
	for (const char *p = text;;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (!len || !pbx_word(p, len, mask)) {
			*mask = 0;
			return false;
		}
		if (!end)
			return true;
		p = end + 1;
	}
}

bool pd_row_pbx_text(const pd_row *r, int64_t now, char *buf, size_t n)
{
	if (n)
		buf[0] = 0;
	if (r->pbx_key == PD_PBXK_NONE || !r->pbx_state)
		return false;
	if (r->pbx_key == PD_PBXK_DISABLED || !r->pbx_link_known || !r->pbx_updated_at) {
		/* disabled (the connection or the customer: the store decides it,
		 * not a monitor), or a connection no monitor has written; the
		 * words the query puts in for those, in this language */
		if (r->pbx_key == PD_PBXK_DISABLED)
			pd_utf8_copys(buf, n, _("disabled"));
		else if (r->pbx_key == PD_PBXK_NOT_STARTED)
			pd_utf8_copys(buf, n, _("not started"));
		else
			pd_msg_text(r->pbx_state, buf, n);
		return r->pbx_key == PD_PBXK_DISABLED;
	}
	const char *label = pd_link_state_label(r->pbx_link);
	if (!pd_pbx_status_fresh(r->pbx_monitored, r->pbx_updated_at, now)) {
		pd_pbx_stale_text(label, r->pbx_updated_at, now, buf, n);
		return false;
	}
	char age[48];
	pd_age_text(r->pbx_updated_at, now, age, sizeof age);
	snprintf(buf, n, "%s, %s", label, age);
	return true;
}

const char *pd_pbx_filter_words(void)
{
	return "down, up, failing, auth-failed, protocol-error, config-error, retrying, "
	       "connecting, logging-in, discovering, not-started, monitoring, unsupported, "
	       "disabled, none";
}

const char *pd_sort_name(pd_sort s)
{
	return (unsigned)s < PD_SORT__COUNT ? sort_names[s] : "?";
}

bool pd_sort_parse(const char *name, pd_sort *out)
{
	for (int i = 0; name && i < PD_SORT__COUNT; i++)
		if (!strcmp(name, sort_names[i])) {
			*out = (pd_sort)i;
			return true;
		}
	/* Column titles as the grid shows them. */
	if (name && (!strcmp(name, "product") || !strcmp(name, "product-type")))
		return *out = PD_SORT_PRODUCT, true;
	if (name && (!strcmp(name, "internal") || !strcmp(name, "internal-system")))
		return *out = PD_SORT_INTERNAL, true;
	if (name && (!strcmp(name, "created_at") || !strcmp(name, "trial")))
		return *out = !strcmp(name, "trial") ? PD_SORT_STATUS : PD_SORT_CREATED, true;
	return false;
}

void pd_row_free(pd_row *r)
{
	if (!r)
		return;
	pd_customer_free(&r->c);
	free(r->pbx_state);
	free(r->pbx_error);
	free(r->sort_sval);
	r->pbx_state = r->pbx_error = r->sort_sval = NULL;
}

void pd_rows_free(pd_row *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++)
		pd_row_free(&rows[i]);
}

enum { K_FIRST, K_LAST, K_AFTER, K_BEFORE, K_FROM, K_POSITION, K_COUNT };
/* How a filter is applied (bench_store_grid, 100k customers):
 * F_SCAN  walk the sort index and test each row with LIKE: instant when
 *         matches are spread out, but reads the whole table when they sit
 *         late in the sort order ("so" sorted by name: over a second);
 * F_FTS   the trigram index finds the matches, then they are sorted:
 *         bounded by the number of matches (3+ characters only);
 * F_SET   one sequential pass collecting matching ids, then sorted: the
 *         bounded fallback for 1-2 characters.
 * A page first tries F_SCAN under a small work budget and falls back. */
enum { F_NONE, F_SCAN, F_FTS, F_SET, F__COUNT };
#define SCAN_BUDGET_STEPS 1000 /* VM instructions per progress callback */
#define SCAN_BUDGET_CALLS 10   /* ~10k instructions: ~1k rows, ~2 ms of CPU */
#define SCAN_MAX_LIMIT 250     /* longer pages skip the scan (page_main) */

/* The bounded mode for this filter: F_FTS for 3+ folded characters,
 * F_SET below, F_NONE when empty. */
static int filter_mode(const char *filter)
{
	if (!filter || !*filter)
		return F_NONE;
	char *t = pd_trim(filter);
	char *k = t ? pd_fold_key(t) : NULL;
	int mode = !k || !*k ? F_NONE : pd_utf8_chars(k) >= 3 ? F_FTS : F_SET;
	free(t);
	free(k);
	return mode;
}

/* The WHERE terms every arm shares: deleted rows and the filter. The "+"
 * keeps the planner off the deleted_at index so the sort index drives the
 * scan and LIMIT stops early. With a filter, the rows whose reference is
 * the filter itself (?5..?7: as typed, upper and lower case) are shown
 * first (pinned_rows) and left out of the sorted stream; a count keeps
 * them (excl false). */
static void add_base(pd_buf *b, const pd_query *q, int filt, bool excl)
{
	if (!q->include_deleted)
		pd_buf_add(b, " AND +c.deleted_at = 0");
	if (filt != F_NONE && excl)
		pd_buf_add(b, " AND c.reference NOT IN (?5, ?6, ?7)");
	if (q->pbx_mask)
		pd_buf_add(b, " AND (?10 >> c.pbx_key) & 1");
	if (filt == F_SCAN)
		pd_buf_add(b, " AND c.search LIKE ?1 ESCAPE '\\'");
	else if (filt == F_FTS)
		pd_buf_add(
		    b,
		    " AND c.id IN (SELECT rowid FROM customers_fts WHERE customers_fts MATCH ?1)");
	else if (filt == F_SET)
		pd_buf_add(b, " AND c.id IN (SELECT f.id FROM customers f WHERE f.search LIKE ?1 "
		              "ESCAPE '\\')");
}

/* Build (once per connection) the statement for one shape of query.
 * Parameters: ?1 filter, ?2 anchor key, ?3 anchor id, ?4 limit, ?10 the PBX
 * filter's mask (pd_query.pbx_mask), ?5..?7 the pinned reference (excl: only when some row has it,
 * so that the usual filter's early-stopping scan costs what it did). A keyset step is two index
 * seeks: the rest of the anchor's tie group (col = key AND id beyond) and the rows strictly beyond
 * key; a row-value (col, id) > (key, id) would only seek on col and then walk every tie, which is
 * most of the table for status, internal or users. */
static sqlite3_stmt *grid_stmt(pd_store *s, const pd_query *q, int kind, int filt, bool excl,
                               pd_err *e)
{
	size_t idx = ((((((size_t)q->sort * 2 + q->descending) * F__COUNT + (size_t)filt) * 2 +
	                q->include_deleted) *
	                   8 +
	               (size_t)kind) *
	                  2 +
	              excl) *
	                 2 +
	             (q->pbx_mask != 0);
	if (s->grid[idx]) {
		sqlite3_reset(s->grid[idx]);
		sqlite3_clear_bindings(s->grid[idx]);
		return s->grid[idx];
	}
	const char *col = sort_cols[q->sort].col;
	/* Which way along the ascending index this query travels. */
	bool backward = kind == K_LAST || kind == K_BEFORE || kind == K_POSITION;
	bool up = q->descending == backward;
	const char *dir = up ? "ASC" : "DESC";
	const char *gt = up ? ">" : "<";
	pd_buf b = {0};
	if (kind == K_COUNT && filt == F_NONE && !q->pbx_mask) {
		/* count(*) of a whole table reads no row; the deleted ones are
		 * an index range (schema 3). */
		pd_buf_add(&b, q->include_deleted
		                   ? "SELECT count(*) FROM customers"
		                   : "SELECT (SELECT count(*) FROM customers) -"
		                     " (SELECT count(*) FROM customers WHERE deleted_at > 0)");
	} else if (kind == K_COUNT) {
		pd_buf_add(&b, "SELECT count(*) FROM customers c WHERE 1");
		add_base(&b, q, filt, false);
	} else if (kind == K_POSITION) {
		/* Rows before the anchor in display order. */
		pd_buf_add(&b, "SELECT (SELECT count(*) FROM customers c WHERE 1");
		add_base(&b, q, filt, excl);
		pd_buf_printf(
		    &b, " AND %s = ?2 AND c.id %s ?3) + (SELECT count(*) FROM customers c WHERE 1",
		    col, gt);
		add_base(&b, q, filt, excl);
		pd_buf_printf(&b, " AND %s %s ?2)", col, gt);
	} else {
		pd_buf_printf(&b, "SELECT " CUST_COLS ", c.n_users, %s," ROW_PBX_COLS " WHERE 1",
		              col);
		if ((kind == K_FIRST || kind == K_LAST) && (filt == F_NONE || filt == F_SCAN)) {
			add_base(&b, q, filt, excl);
		} else if (kind == K_FIRST || kind == K_LAST) {
			/* Matches come from the index or the id pass: sort only
			 * (key, id) pairs, then read the page's rows. */
			pd_buf_add(&b, " AND c.id IN (SELECT id FROM (SELECT c.id AS id FROM "
			               "customers c WHERE 1");
			add_base(&b, q, filt, excl);
			pd_buf_printf(&b, " ORDER BY %s %s, c.id %s LIMIT ?4))", col, dir, dir);
		} else {
			const char *tie = kind == K_FROM ? (up ? ">=" : "<=") : gt;
			pd_buf_add(&b, " AND c.id IN (SELECT id FROM (SELECT c.id AS id FROM "
			               "customers c WHERE 1");
			add_base(&b, q, filt, excl);
			pd_buf_printf(&b, " AND %s = ?2 AND c.id %s ?3 ORDER BY c.id %s LIMIT ?4)",
			              col, tie, dir);
			pd_buf_add(&b, " UNION ALL SELECT id FROM (SELECT c.id AS id FROM "
			               "customers c WHERE 1");
			add_base(&b, q, filt, excl);
			pd_buf_printf(&b, " AND %s %s ?2 ORDER BY %s %s, c.id %s LIMIT ?4))", col,
			              gt, col, dir, dir);
		}
		pd_buf_printf(&b, " ORDER BY %s %s, c.id %s LIMIT ?4", col, dir, dir);
	}
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v3(s->db, b.s, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
	pd_buf_free(&b);
	if (rc != SQLITE_OK) {
		st_fail(s, rc, e, "grid query");
		return NULL;
	}
	s->grid[idx] = st;
	return st;
}

/* "%abc%" with LIKE's wildcards in the user's text escaped. */
static char *like_pattern(const char *filter)
{
	char *t = pd_trim(filter);
	char *k = pd_fold_key(t);
	free(t);
	if (!k)
		k = xstrdup("");
	pd_buf b = {0};
	pd_buf_addc(&b, '%');
	for (const char *p = k; *p; p++) {
		if (*p == '%' || *p == '_' || *p == '\\')
			pd_buf_addc(&b, '\\');
		pd_buf_addc(&b, *p);
	}
	pd_buf_addc(&b, '%');
	free(k);
	return pd_buf_steal(&b);
}

/* An FTS5 phrase: the folded text in double quotes (quotes doubled), so
 * no character of the user's text is query syntax. */
static char *fts_phrase(const char *filter)
{
	char *t = pd_trim(filter);
	char *k = pd_fold_key(t);
	free(t);
	pd_buf b = {0};
	pd_buf_addc(&b, '"');
	for (const char *p = k ? k : ""; *p; p++) {
		if (*p == '"')
			pd_buf_addc(&b, '"');
		pd_buf_addc(&b, *p);
	}
	pd_buf_addc(&b, '"');
	free(k);
	return pd_buf_steal(&b);
}

/* ?5..?7: the filter as typed (trimmed), in upper and in lower case (ASCII),
 * so "r-1234" finds the reference "R-1234" through the reference index. */
static void bind_ref_variants(sqlite3_stmt *st, const char *filter)
{
	char *t = pd_trim(filter ? filter : "");
	char *up = xstrdup(t), *lo = xstrdup(t);
	for (char *p = up; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	for (char *p = lo; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	sqlite3_bind_text(st, 5, t, -1, free);
	sqlite3_bind_text(st, 6, up, -1, free);
	sqlite3_bind_text(st, 7, lo, -1, free);
}

/* The anchor's key in this sort: from the row when it was fetched with the
 * same sort (so scrolling stays put when the row changed meanwhile), else
 * read by id. */
static pd_status anchor_key(pd_store *s, const pd_query *q, const pd_row *a, int64_t *ival,
                            char **sval, pd_err *e)
{
	*sval = NULL;
	*ival = 0;
	if (a->sort_of == (int)q->sort + 1) {
		if (sort_cols[q->sort].text)
			*sval = xstrdup(a->sort_sval ? a->sort_sval : "");
		else
			*ival = a->sort_ival;
		return PD_OK;
	}
	static const char *const sqls[] = {
	    "SELECT name_key FROM customers WHERE id = ?",
	    "SELECT product_type FROM customers WHERE id = ?",
	    "SELECT reference FROM customers WHERE id = ?",
	    "SELECT country FROM customers WHERE id = ?",
	    "SELECT status_key FROM customers WHERE id = ?",
	    "SELECT internal_system FROM customers WHERE id = ?",
	    "SELECT n_users FROM customers WHERE id = ?",
	    "SELECT created_at FROM customers WHERE id = ?",
	    "SELECT pbx_key FROM customers WHERE id = ?",
	};
	sqlite3_stmt *st = st_get(s, sqls[q->sort], e);
	if (!st)
		return FAILED(e);
	sqlite3_bind_int64(st, 1, a->c.id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (sort_cols[q->sort].text)
			*sval = col_str_empty(st, 0);
		else
			*ival = sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return PD_OK;
	if (rc != SQLITE_DONE)
		return st_fail(s, rc, e, "grid anchor");
	return pd_fail(e, PD_E_NOTFOUND, "customer", _("no customer #%lld"), (long long)a->c.id);
}

static pd_status bind_query(pd_store *s, sqlite3_stmt *st, const pd_query *q, int filt,
                            const pd_row *anchor, pd_err *e)
{
	if (filt == F_SCAN || filt == F_SET)
		sqlite3_bind_text(st, 1, like_pattern(q->filter), -1, free);
	else if (filt == F_FTS)
		sqlite3_bind_text(st, 1, fts_phrase(q->filter), -1, free);
	if (filt != F_NONE)
		bind_ref_variants(st, q->filter);
	if (q->pbx_mask)
		sqlite3_bind_int64(st, 10, (int64_t)q->pbx_mask);
	if (anchor) {
		int64_t iv;
		char *sv;
		pd_status r = anchor_key(s, q, anchor, &iv, &sv, e);
		if (r != PD_OK)
			return r;
		if (sv)
			sqlite3_bind_text(st, 2, sv, -1, free);
		else
			sqlite3_bind_int64(st, 2, iv);
		sqlite3_bind_int64(st, 3, anchor->c.id);
	}
	return PD_OK;
}

static void row_from(sqlite3_stmt *st, const pd_query *q, pd_day today, pd_row *r)
{
	memset(r, 0, sizeof *r);
	cust_from_row(st, 0, &r->c);
	r->n_users = sqlite3_column_int64(st, CUST_NCOLS);
	if (sort_cols[q->sort].text)
		r->sort_sval = col_str_empty(st, CUST_NCOLS + 1);
	else
		r->sort_ival = sqlite3_column_int64(st, CUST_NCOLS + 1);
	r->sort_of = (int)q->sort + 1;
	r->pbx_state = col_str(st, CUST_NCOLS + 2);
	r->pbx_link_known =
	    sqlite3_column_type(st, CUST_NCOLS + 3) != SQLITE_NULL &&
	    pd_link_state_parse((const char *)sqlite3_column_text(st, CUST_NCOLS + 3),
	                        &r->pbx_link);
	r->pbx_since = sqlite3_column_int64(st, CUST_NCOLS + 4);
	r->pbx_updated_at = sqlite3_column_int64(st, CUST_NCOLS + 5);
	r->pbx_error = col_str(st, CUST_NCOLS + 6);
	r->pbx_key = (pd_pbx_key)sqlite3_column_int(st, CUST_NCOLS + 7);
	r->pbx_monitored = sqlite3_column_int(st, CUST_NCOLS + 8) != 0;
	r->status = pd_customer_status_of(&r->c, today);
	r->trial_days_left = pd_customer_trial_days_left(&r->c, today);
}

static pd_status check_query(const pd_query *q, pd_err *e)
{
	if ((unsigned)q->sort >= PD_SORT__COUNT)
		return pd_fail(e, PD_E_USAGE, "sort", _("unknown sort column %d"), (int)q->sort);
	if (q->pbx_mask & ~(uint32_t)(PBXK_DOWN | PBXK_BIT(PD_PBXK_MONITORING) |
	                              PBXK_BIT(PD_PBXK_DISABLED) | PBXK_BIT(PD_PBXK_NONE)))
		return pd_fail(e, PD_E_USAGE, "pbx", _("unknown PBX filter bits %#x"),
		               (unsigned)q->pbx_mask);
	if (q->filter && strlen(q->filter) > PD_FILTER_MAX)
		return pd_fail(e, PD_E_USAGE, "filter", _("the filter holds at most %d bytes"),
		               PD_FILTER_MAX);
	return PD_OK;
}

static int budget_cb(void *arg)
{
	int *left = arg;
	return --*left <= 0; /* non-zero interrupts the statement */
}

/* Run one page statement. budget: stop with SQLITE_INTERRUPT (and no rows
 * kept) once the scan has cost more than the budget. */
static int run_page(pd_store *s, const pd_query *q, int kind, int filt, bool excl,
                    const pd_row *anchor, size_t limit, bool budget, pd_row *rows, size_t *n,
                    pd_err *e)
{
	*n = 0;
	sqlite3_stmt *st = grid_stmt(s, q, kind, filt, excl, e);
	if (!st)
		return SQLITE_ERROR;
	if (bind_query(s, st, q, filt, anchor, e) != PD_OK) {
		sqlite3_reset(st);
		return SQLITE_ERROR;
	}
	sqlite3_bind_int64(st, 4, (int64_t)limit);
	pd_day today = q->today ? q->today : pd_today();
	int calls = s->scan_budget > 0 ? s->scan_budget : SCAN_BUDGET_CALLS;
	if (budget)
		sqlite3_progress_handler(s->db, SCAN_BUDGET_STEPS, budget_cb, &calls);
	int rc = SQLITE_DONE;
	while (*n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW)
		row_from(st, q, today, &rows[(*n)++]);
	if (*n == limit)
		rc = SQLITE_DONE;
	if (budget)
		sqlite3_progress_handler(s->db, 0, NULL, NULL);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		pd_rows_free(rows, *n);
		*n = 0;
	}
	return rc;
}

/* One page of the sorted stream (without the pinned rows when excl). */
static pd_status page_main(pd_store *s, const pd_query *q, int kind, bool excl,
                           const pd_row *anchor, size_t limit, pd_row *rows, size_t *n, pd_err *e)
{
	*n = 0;
	if (limit == 0)
		return PD_OK;
	int filt = filter_mode(q->filter);
	int rc;
	if (filt == F_NONE) {
		rc = run_page(s, q, kind, F_NONE, false, anchor, limit, false, rows, n, e);
	} else {
		/* The early-stopping scan first; past its budget, the bounded way.
		 * A long page (the command line reads 512 rows at a time) fills
		 * within the scan's ~1,000 rows only when most rows match: it
		 * goes the bounded way at once (3 M instructions of a
		 * `customer list --filter` at 100k were the scan given up). */
		rc = s->scan_budget < 0 || (s->scan_budget == 0 && limit > SCAN_MAX_LIMIT)
		         ? SQLITE_INTERRUPT
		         : run_page(s, q, kind, F_SCAN, excl, anchor, limit, true, rows, n, e);
		if (rc == SQLITE_INTERRUPT)
			rc = run_page(s, q, kind, filt, excl, anchor, limit, false, rows, n, e);
	}
	if (rc == SQLITE_ERROR && e->status != PD_OK)
		return e->status;
	if (rc != SQLITE_DONE)
		return st_fail(s, rc, e, "grid");
	/* Backward fetches come newest-first: return them in display order. */
	if (kind == K_LAST || kind == K_BEFORE)
		for (size_t i = 0, j = *n ? *n - 1 : 0; i < j; i++, j--) {
			pd_row t = rows[i];
			rows[i] = rows[j];
			rows[j] = t;
		}
	return PD_OK;
}

/* Display order of two pinned rows: the sort key, then the id. arg: the
 * query (qsort_r, so no shared state between threads). */
static int cmp_pinned(const void *pa, const void *pb, void *arg)
{
	const pd_query *q = arg;
	const pd_row *a = pa, *b = pb;
	int r = sort_cols[q->sort].text
	            ? strcmp(a->sort_sval ? a->sort_sval : "", b->sort_sval ? b->sort_sval : "")
	            : (a->sort_ival > b->sort_ival) - (a->sort_ival < b->sort_ival);
	if (!r)
		r = (a->c.id > b->c.id) - (a->c.id < b->c.id);
	return q->descending ? -r : r;
}

/* The rows whose reference is exactly the filter (as typed, or in upper or
 * lower case) among the filter's matches, in the query's order: they come
 * first whatever the sort, so typing a reference puts its customer on top.
 * Found through the reference index; usually none or one, so they are
 * ordered here, and one cached statement serves every sort (?8 picks the
 * sort column, in sort_cols order). */
static pd_status pinned_rows(pd_store *s, const pd_query *q, pd_row **out, size_t *n, pd_err *e)
{
	*out = NULL;
	*n = 0;
	if (filter_mode(q->filter) == F_NONE)
		return PD_OK;
	static const char sql[] =
	    "SELECT " CUST_COLS ", c.n_users,"
	    " CASE ?8 WHEN 0 THEN c.name_key WHEN 1 THEN c.product_type WHEN 2 THEN c.reference"
	    " WHEN 3 THEN c.country WHEN 4 THEN c.status_key WHEN 5 THEN c.internal_system"
	    " WHEN 6 THEN c.n_users WHEN 7 THEN c.created_at ELSE c.pbx_key END," ROW_PBX_COLS
	    " WHERE c.reference IN (?5, ?6, ?7) AND c.search LIKE ?1 ESCAPE '\\'"
	    " AND (?9 OR c.deleted_at = 0) AND (?10 = 0 OR (?10 >> c.pbx_key) & 1)";
	sqlite3_stmt *st = st_get(s, sql, e);
	if (!st)
		return FAILED(e);
	sqlite3_bind_text(st, 1, like_pattern(q->filter), -1, free);
	bind_ref_variants(st, q->filter);
	sqlite3_bind_int(st, 8, (int)q->sort);
	sqlite3_bind_int(st, 9, q->include_deleted);
	sqlite3_bind_int64(st, 10, (int64_t)q->pbx_mask);
	pd_day today = q->today ? q->today : pd_today();
	size_t cap = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 4;
			*out = xrealloc(*out, cap * sizeof **out);
		}
		row_from(st, q, today, &(*out)[(*n)++]);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		pd_rows_free(*out, *n);
		free(*out);
		*out = NULL;
		*n = 0;
		return st_fail(s, rc, e, "grid reference");
	}
	if (*n > 1)
		qsort_r(*out, *n, sizeof **out, cmp_pinned, (void *)q);
	return PD_OK;
}

static size_t pinned_index(const pd_row *pin, size_t np, const pd_row *anchor)
{
	for (size_t i = 0; anchor && i < np; i++)
		if (pin[i].c.id == anchor->c.id)
			return i;
	return (size_t)-1;
}

/* Moves pin[from, to) into rows[*n...]. */
static void take_pinned(pd_row *pin, size_t from, size_t to, pd_row *rows, size_t *n)
{
	for (size_t i = from; i < to; i++) {
		rows[(*n)++] = pin[i];
		memset(&pin[i], 0, sizeof pin[i]);
	}
}

pd_status store_customer_page(pd_store *s, const pd_query *q, pd_page_dir dir, const pd_row *anchor,
                              size_t limit, pd_row *rows, size_t *n, pd_err *e)
{
	E_GUARD(e);
	*n = 0;
	pd_status r = check_query(q, e);
	if (r != PD_OK || limit == 0)
		return r;
	int kind = dir == PD_PAGE_FIRST    ? K_FIRST
	           : dir == PD_PAGE_LAST   ? K_LAST
	           : dir == PD_PAGE_AFTER  ? K_AFTER
	           : dir == PD_PAGE_BEFORE ? K_BEFORE
	                                   : K_FROM;
	bool needs_anchor = kind == K_AFTER || kind == K_BEFORE || kind == K_FROM;
	if (needs_anchor && !anchor)
		return pd_fail(e, PD_E_USAGE, "anchor",
		               _("this page direction needs an anchor row"));
	if (!needs_anchor)
		anchor = NULL;
	pd_row *pin = NULL;
	size_t np = 0;
	if ((r = pinned_rows(s, q, &pin, &np, e)) != PD_OK)
		return r;
	if (np == 0) {
		free(pin);
		return page_main(s, q, kind, false, anchor, limit, rows, n, e);
	}
	/* Display order: the pinned rows, then the sorted stream. */
	size_t at = pinned_index(pin, np, anchor);
	bool in_pin = at != (size_t)-1;
	size_t m = 0;
	if (kind == K_FIRST || (in_pin && (kind == K_AFTER || kind == K_FROM))) {
		size_t from = kind == K_FIRST ? 0 : kind == K_AFTER ? at + 1 : at;
		size_t to = from + limit < np ? from + limit : np;
		take_pinned(pin, from, to, rows, n);
		if (*n < limit) {
			r = page_main(s, q, K_FIRST, true, NULL, limit - *n, rows + *n, &m, e);
			*n += m;
		}
	} else if (in_pin && kind == K_BEFORE) {
		size_t from = at > limit ? at - limit : 0;
		take_pinned(pin, from, at, rows, n);
	} else if (kind == K_LAST || kind == K_BEFORE) {
		/* the end of the stream, then pinned rows in front when it runs out */
		r = page_main(s, q, kind, true, anchor, limit, rows, &m, e);
		if (r == PD_OK && m < limit) {
			size_t k = limit - m < np ? limit - m : np;
			memmove(rows + k, rows, m * sizeof *rows);
			size_t cnt = 0;
			take_pinned(pin, np - k, np, rows, &cnt);
			m += k;
		}
		*n = m;
	} else {
		r = page_main(s, q, kind, true, anchor, limit, rows, n, e);
	}
	pd_rows_free(pin, np);
	free(pin);
	if (r != PD_OK) {
		pd_rows_free(rows, *n);
		*n = 0;
	}
	return r;
}

static pd_status count_query(pd_store *s, const pd_query *q, int kind, bool excl,
                             const pd_row *anchor, int64_t *out, pd_err *e)
{
	*out = 0;
	pd_status r = check_query(q, e);
	if (r != PD_OK)
		return r;
	/* A count reads every match anyway: no early stop to try. */
	int filt = filter_mode(q->filter);
	sqlite3_stmt *st = grid_stmt(s, q, kind, filt, excl, e);
	if (!st)
		return FAILED(e);
	if ((r = bind_query(s, st, q, filt, anchor, e)) != PD_OK) {
		sqlite3_reset(st);
		return r;
	}
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? PD_OK : st_fail(s, rc, e, "grid count");
}

pd_status store_customer_count(pd_store *s, const pd_query *q, int64_t *n, pd_err *e)
{
	E_GUARD(e);
	return count_query(s, q, K_COUNT, false, NULL, n, e);
}

pd_status store_customer_position(pd_store *s, const pd_query *q, const pd_row *anchor,
                                  int64_t *pos, pd_err *e)
{
	E_GUARD(e);
	if (!anchor)
		return pd_fail(e, PD_E_USAGE, "anchor", _("position needs an anchor row"));
	pd_row *pin = NULL;
	size_t np = 0;
	pd_status r = pinned_rows(s, q, &pin, &np, e);
	if (r != PD_OK)
		return r;
	size_t at = pinned_index(pin, np, anchor);
	pd_rows_free(pin, np);
	free(pin);
	if (at != (size_t)-1) {
		*pos = (int64_t)at;
		return PD_OK;
	}
	r = count_query(s, q, K_POSITION, np > 0, anchor, pos, e);
	if (r == PD_OK)
		*pos += (int64_t)np;
	return r;
}

pd_status store_customer_counts(pd_store *s, pd_day today, pd_counts *out, pd_err *e)
{
	E_GUARD(e);
	memset(out, 0, sizeof *out);
	if (!today)
		today = pd_today();
	/* One index range per figure (schema 3), each holding only the rows it
	 * counts; mirrors pd_customer_status_of's precedence. A single pass
	 * with sum(...) decodes every row: 100 ms of CPU at 100k. */
	static const char sql[] =
	    "SELECT (SELECT count(*) FROM customers),"
	    " (SELECT count(*) FROM customers WHERE deleted_at > 0),"
	    " (SELECT count(*) FROM customers WHERE deleted_at = 0 AND disabled = 1),"
	    " (SELECT count(*) FROM customers WHERE deleted_at = 0 AND disabled = 0 AND trial = 1"
	    "  AND trial_converted = 0 AND trial_end >= ?1),"
	    " (SELECT count(*) FROM customers WHERE deleted_at = 0 AND disabled = 0 AND trial = 1"
	    "  AND trial_converted = 0 AND trial_end >= ?1 AND trial_end < ?1 + 7),"
	    " (SELECT count(*) FROM customers WHERE deleted_at = 0 AND disabled = 0 AND trial = 1"
	    "  AND trial_converted = 0 AND trial_end < ?1),"
	    " (SELECT count(*) FROM customers WHERE internal_system = 1 AND deleted_at = 0)";
	sqlite3_stmt *st = st_get(s, sql, e);
	if (!st)
		return FAILED(e);
	sqlite3_bind_int(st, 1, today);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		int64_t all = sqlite3_column_int64(st, 0);
		out->deleted = sqlite3_column_int64(st, 1);
		out->total = all - out->deleted;
		out->disabled = sqlite3_column_int64(st, 2);
		out->trial = sqlite3_column_int64(st, 3);
		out->trial_expiring = sqlite3_column_int64(st, 4);
		out->trial_expired = sqlite3_column_int64(st, 5);
		out->internal = sqlite3_column_int64(st, 6);
		out->active = out->total - out->disabled - out->trial - out->trial_expired;
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? PD_OK : st_fail(s, rc, e, "counts");
}

/* ---- the filter in memory (the console's filter worker) ----
 * What the filter reads of every customer, held by the worker's connection:
 * the folded search text (ASCII lowered: LIKE ignores ASCII case), the
 * deleted flag, the PBX key and the key of one sort column. A keystroke is
 * then one memmem pass over the text (1–3 ms at 100,000 customers) and a
 * top-k selection, where SQLite must scan every row for a 1–2 character
 * filter and count every match. Reloaded when PRAGMA data_version (another
 * connection committed) or the sort column changes. Same rule as the SQL:
 * the rows whose reference is the filter first (pinned_rows), then the
 * matches in (sort key, id) order, the count over every match. */
struct pd_filter_index {
	bool loaded;
	int64_t dv;
	int sort; /* the pd_sort whose key is held */
	size_t n, cap;
	int64_t *id;
	uint8_t *deleted, *pbx_key;
	size_t *off; /* n + 1 offsets into text: row i is text[off[i] .. off[i+1] - 1) */
	char *text;
	size_t len, text_cap;
	int64_t *ikey;
	size_t *koff; /* text sort keys: keys + koff[i], NUL-terminated */
	char *keys;
	size_t klen, keys_cap;
	uint32_t *order; /* the rows in (sort key, id) ascending order */
	uint64_t *hit;   /* scratch: one bit per row, the rows a filter matches */
};

pd_filter_index *store_filter_index_new(void)
{
	return xcalloc(1, sizeof(pd_filter_index));
}

static void index_clear(pd_filter_index *ix)
{
	free(ix->id);
	free(ix->deleted);
	free(ix->pbx_key);
	free(ix->off);
	free(ix->text);
	free(ix->ikey);
	free(ix->koff);
	free(ix->keys);
	free(ix->order);
	free(ix->hit);
	memset(ix, 0, sizeof *ix);
}

void store_filter_index_free(pd_filter_index *ix)
{
	if (!ix)
		return;
	index_clear(ix);
	free(ix);
}

size_t store_filter_index_bytes(const pd_filter_index *ix)
{
	if (!ix || !ix->loaded)
		return 0;
	return ix->cap * (sizeof *ix->id + 2 + sizeof *ix->off + sizeof *ix->ikey) +
	       ix->n * sizeof *ix->order + (ix->n + 63) / 64 * 8 +
	       (ix->koff ? ix->cap * sizeof *ix->koff : 0) + ix->text_cap + ix->keys_cap;
}

static void ascii_lower(char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] >= 'A' && p[i] <= 'Z')
			p[i] = (char)(p[i] - 'A' + 'a');
}

static void grow_bytes(char **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return;
	size_t c = *cap ? *cap : 1 << 16;
	while (c < need)
		c *= 2;
	*buf = xrealloc(*buf, c);
	*cap = c;
}

/* Ascending (sort key, id), as the SQL orders: the BINARY collation of a
 * text key is memcmp then the shorter first, strcmp for NUL-free text. */
static int order_cmp(const void *pa, const void *pb, void *arg)
{
	const pd_filter_index *ix = arg;
	uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
	int r;
	if (sort_cols[ix->sort].text)
		r = strcmp(ix->keys + ix->koff[a], ix->keys + ix->koff[b]);
	else
		r = (ix->ikey[a] > ix->ikey[b]) - (ix->ikey[a] < ix->ikey[b]);
	if (!r)
		r = (ix->id[a] > ix->id[b]) - (ix->id[a] < ix->id[b]);
	return r;
}

static pd_status index_load(pd_store *s, pd_filter_index *ix, pd_sort sort, pd_err *e)
{
	static const char *const sqls[] = {
	    "SELECT id, deleted_at, pbx_key, search, name_key FROM customers",
	    "SELECT id, deleted_at, pbx_key, search, product_type FROM customers",
	    "SELECT id, deleted_at, pbx_key, search, reference FROM customers",
	    "SELECT id, deleted_at, pbx_key, search, country FROM customers",
	    "SELECT id, deleted_at, pbx_key, search, status_key FROM customers",
	    "SELECT id, deleted_at, pbx_key, search, internal_system FROM customers",
	    "SELECT id, deleted_at, pbx_key, search, n_users FROM customers",
	    "SELECT id, deleted_at, pbx_key, search, created_at FROM customers",
	    "SELECT id, deleted_at, pbx_key, search, pbx_key FROM customers",
	};
	index_clear(ix);
	/* the version first: a commit during the read makes the next call
	 * read again rather than keep a stale copy */
	int64_t dv = store_data_version(s);
	sqlite3_stmt *st = st_get(s, sqls[sort], e);
	if (!st)
		return FAILED(e);
	bool text = sort_cols[sort].text;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (ix->n + 1 >= ix->cap) {
			ix->cap = ix->cap ? ix->cap * 2 : 4096;
			ix->id = xrealloc(ix->id, ix->cap * sizeof *ix->id);
			ix->deleted = xrealloc(ix->deleted, ix->cap);
			ix->pbx_key = xrealloc(ix->pbx_key, ix->cap);
			ix->off = xrealloc(ix->off, (ix->cap + 1) * sizeof *ix->off);
			if (text)
				ix->koff = xrealloc(ix->koff, ix->cap * sizeof *ix->koff);
			else
				ix->ikey = xrealloc(ix->ikey, ix->cap * sizeof *ix->ikey);
		}
		size_t i = ix->n++;
		ix->id[i] = sqlite3_column_int64(st, 0);
		ix->deleted[i] = sqlite3_column_int64(st, 1) != 0;
		int64_t pk = sqlite3_column_int64(st, 2);
		ix->pbx_key[i] = pk >= 0 && pk < 64 ? (uint8_t)pk : 63;
		const char *t = (const char *)sqlite3_column_text(st, 3);
		size_t tl = (size_t)sqlite3_column_bytes(st, 3);
		grow_bytes(&ix->text, &ix->text_cap, ix->len + tl + 1);
		ix->off[i] = ix->len;
		if (t)
			memcpy(ix->text + ix->len, t, tl);
		ascii_lower(ix->text + ix->len, tl);
		ix->len += tl;
		ix->text[ix->len++] = 0; /* never in a filter: no match spans two rows */
		if (text) {
			const char *k = (const char *)sqlite3_column_text(st, 4);
			size_t kl = (size_t)sqlite3_column_bytes(st, 4);
			grow_bytes(&ix->keys, &ix->keys_cap, ix->klen + kl + 1);
			ix->koff[i] = ix->klen;
			if (k)
				memcpy(ix->keys + ix->klen, k, kl);
			ix->klen += kl;
			ix->keys[ix->klen++] = 0;
		} else {
			ix->ikey[i] = sqlite3_column_int64(st, 4);
		}
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		index_clear(ix);
		return st_fail(s, rc, e, "grid filter index");
	}
	if (!ix->off)
		ix->off = xcalloc(1, sizeof *ix->off);
	ix->off[ix->n] = ix->len;
	ix->sort = (int)sort;
	/* sorted once per read: a page is then a walk along it */
	ix->order = xcalloc(ix->n ? ix->n : 1, sizeof *ix->order);
	for (size_t i = 0; i < ix->n; i++)
		ix->order[i] = (uint32_t)i;
	qsort_r(ix->order, ix->n, sizeof *ix->order, order_cmp, ix);
	ix->hit = xcalloc((ix->n + 63) / 64 + 1, sizeof *ix->hit);
	ix->loaded = true;
	ix->dv = dv;
	ix->sort = (int)sort;
	return PD_OK;
}

struct filter_cancel {
	bool (*fn)(void *);
	void *arg;
	bool hit;
};

static int cancel_cb(void *arg)
{
	struct filter_cancel *c = arg;
	if (!c->hit && c->fn && c->fn(c->arg))
		c->hit = true;
	return c->hit; /* non-zero interrupts the statement */
}

static int64_t *ids_with_reference(pd_store *s, const char *filter, size_t *n, pd_err *e)
{
	static const char sql[] = "SELECT id FROM customers WHERE reference IN (?5, ?6, ?7)";
	*n = 0;
	sqlite3_stmt *st = st_get(s, sql, e);
	if (!st)
		return NULL;
	bind_ref_variants(st, filter);
	int64_t *v = NULL;
	size_t cap = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			v = xrealloc(v, cap * sizeof *v);
		}
		v[(*n)++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		free(v);
		*n = 0;
		st_fail(s, rc, e, "grid reference");
		return NULL;
	}
	return v;
}

/* One row by id with the sort column of q (NULL-free: *got false when the
 * row is gone). */
static pd_status row_by_id(pd_store *s, const pd_query *q, int64_t id, pd_row *r, bool *got,
                           pd_err *e)
{
	static const char sql[] =
	    "SELECT " CUST_COLS ", c.n_users,"
	    " CASE ?8 WHEN 0 THEN c.name_key WHEN 1 THEN c.product_type WHEN 2 THEN c.reference"
	    " WHEN 3 THEN c.country WHEN 4 THEN c.status_key WHEN 5 THEN c.internal_system"
	    " WHEN 6 THEN c.n_users WHEN 7 THEN c.created_at ELSE c.pbx_key END," ROW_PBX_COLS
	    " WHERE c.id = ?1";
	*got = false;
	sqlite3_stmt *st = st_get(s, sql, e);
	if (!st)
		return FAILED(e);
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 8, (int)q->sort);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		row_from(st, q, q->today ? q->today : pd_today(), r);
		*got = true;
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? PD_OK : st_fail(s, rc, e, "grid row");
}

static bool id_in(const int64_t *v, size_t n, int64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == id)
			return true;
	return false;
}

/* The first `n` (nl bytes) in `h` (hl bytes), as memmem. glibc's memmem
 * is a byte-at-a-time loop that also builds a 256-entry shift table on
 * every call, and the scan calls it again after every matching row: with
 * SSE2 (every x86-64), 16 positions at a time whose first and last bytes
 * both match the needle's, then memcmp for the middle. */
static const char *find(const char *h, size_t hl, const char *n, size_t nl)
{
	if (nl == 1)
		return memchr(h, (unsigned char)n[0], hl);
#ifdef __SSE2__
	if (nl >= 2 && hl >= nl - 1 + 16) {
		const __m128i first = _mm_set1_epi8(n[0]), last = _mm_set1_epi8(n[nl - 1]);
		size_t i = 0;
		for (; i + nl - 1 + 16 <= hl; i += 16) {
			__m128i a = _mm_loadu_si128((const __m128i *)(const void *)(h + i));
			__m128i b =
			    _mm_loadu_si128((const __m128i *)(const void *)(h + i + nl - 1));
			unsigned m = (unsigned)_mm_movemask_epi8(
			    _mm_and_si128(_mm_cmpeq_epi8(a, first), _mm_cmpeq_epi8(b, last)));
			while (m) {
				unsigned at = (unsigned)__builtin_ctz(m);
				if (!memcmp(h + i + at + 1, n + 1, nl - 2))
					return h + i + at;
				m &= m - 1;
			}
		}
		/* the last starts, fewer than 16 + nl - 1 bytes */
		return memmem(h + i, hl - i, n, nl);
	}
#endif
	return memmem(h, hl, n, nl);
}

/* The scan proper on a loaded index: one find() pass marks and counts
 * every match (the count), then a walk along the sorted order takes the
 * first `limit` of the stream (pinned references left out). */
static bool index_scan(pd_filter_index *ix, const pd_query *q, const char *needle,
                       const int64_t *excl, size_t n_excl, size_t limit, size_t *best,
                       size_t *n_best, int64_t *total, struct filter_cancel *c)
{
	size_t nl = needle ? strlen(needle) : 0;
	int64_t count = 0;
	size_t i = 0, steps = 0;
	const char *p = ix->text, *end = ix->text + ix->len;
	memset(ix->hit, 0, ((ix->n + 63) / 64) * sizeof *ix->hit);
	for (;;) {
		if (nl) {
			/* one search over the whole text, then the row it fell in */
			const char *h = find(p, (size_t)(end - p), needle, nl);
			if (!h)
				break;
			size_t at = (size_t)(h - ix->text);
			while (ix->off[i + 1] <= at)
				i++;
		} else if (i >= ix->n) {
			break;
		}
		if ((++steps & 4095) == 0 && c->fn && c->fn(c->arg)) {
			c->hit = true;
			return false;
		}
		if ((q->include_deleted || !ix->deleted[i]) &&
		    (!q->pbx_mask || ((q->pbx_mask >> ix->pbx_key[i]) & 1u))) {
			count++;
			ix->hit[i / 64] |= (uint64_t)1 << (i % 64);
		}
		i++;
		if (nl) {
			if (i >= ix->n)
				break;
			p = ix->text + ix->off[i];
		}
	}
	size_t nb = 0;
	for (size_t j = 0; nb < limit && j < ix->n; j++) {
		uint32_t r = ix->order[q->descending ? ix->n - 1 - j : j];
		if ((ix->hit[r / 64] >> (r % 64)) & 1u &&
		    !(n_excl && id_in(excl, n_excl, ix->id[r])))
			best[nb++] = r;
	}
	*n_best = nb;
	*total = count;
	return true;
}

pd_status store_filter_first_page(pd_store *s, pd_filter_index *ix, const pd_query *q, size_t limit,
                                  pd_row *rows, size_t *n, int64_t *total,
                                  bool (*cancel)(void *arg), void *arg, pd_err *e)
{
	E_GUARD(e);
	*n = 0;
	*total = 0;
	pd_status r = check_query(q, e);
	if (r != PD_OK)
		return r;
	struct filter_cancel c = {cancel, arg, false};
	sqlite3_progress_handler(s->db, 1000, cancel_cb, &c);
	pd_row *pin = NULL;
	size_t np = 0, n_excl = 0, nb = 0;
	int64_t *excl = NULL;
	size_t *best = xcalloc(limit ? limit : 1, sizeof *best);
	char *needle = NULL;
	for (int attempt = 0; attempt < 3; attempt++) {
		if (!ix->loaded || ix->sort != (int)q->sort || ix->dv != store_data_version(s))
			if ((r = index_load(s, ix, q->sort, e)) != PD_OK)
				goto done;
		if (filter_mode(q->filter) != F_NONE) {
			char *t = pd_trim(q->filter);
			needle = pd_fold_key(t);
			free(t);
			ascii_lower(needle, strlen(needle));
			if ((r = pinned_rows(s, q, &pin, &np, e)) != PD_OK)
				goto done;
			if (np && !(excl = ids_with_reference(s, q->filter, &n_excl, e))) {
				r = FAILED(e);
				goto done;
			}
		}
		/* the pinned rows first, then the stream */
		size_t want = limit > np ? limit - np : 0;
		if (!index_scan(ix, q, needle, excl, n_excl, want, best, &nb, total, &c)) {
			r = pd_fail(e, PD_E_TEMPFAIL, "filter", _("cancelled by a newer filter"));
			goto done;
		}
		size_t k = 0;
		for (size_t i = 0; i < np && k < limit; i++) {
			rows[k++] = pin[i];
			memset(&pin[i], 0, sizeof pin[i]);
		}
		bool gone = false;
		for (size_t i = 0; i < nb && !gone; i++) {
			bool got;
			if ((r = row_by_id(s, q, ix->id[best[i]], &rows[k], &got, e)) != PD_OK) {
				pd_rows_free(rows, k);
				goto done;
			}
			if (got)
				k++;
			else
				gone = true;
		}
		if (!gone) {
			*n = k;
			r = PD_OK;
			goto done;
		}
		/* a row went since the index was read: read it again */
		pd_rows_free(rows, k);
		pd_rows_free(pin, np);
		free(pin);
		free(excl);
		free(needle);
		pin = NULL;
		excl = NULL;
		needle = NULL;
		np = n_excl = 0;
		ix->loaded = false;
	}
	r = pd_fail(e, PD_E_TEMPFAIL, "filter", _("the customers kept changing; retry"));
done:
	if (c.hit && r != PD_OK) {
		pd_err_clear(e);
		r = pd_fail(e, PD_E_TEMPFAIL, "filter", _("cancelled by a newer filter"));
	}
	sqlite3_progress_handler(s->db, 0, NULL, NULL);
	pd_rows_free(pin, np);
	free(pin);
	free(excl);
	free(needle);
	free(best);
	if (r != PD_OK)
		*total = 0;
	return r;
}

pd_status store_filter_index_warm(pd_store *s, pd_filter_index *ix, pd_sort sort,
                                  bool (*cancel)(void *arg), void *arg, pd_err *e)
{
	E_GUARD(e);
	if ((unsigned)sort >= PD_SORT__COUNT)
		return pd_fail(e, PD_E_USAGE, "sort", _("unknown sort column %d"), (int)sort);
	if (ix->loaded && ix->sort == (int)sort && ix->dv == store_data_version(s))
		return PD_OK;
	struct filter_cancel c = {cancel, arg, false};
	sqlite3_progress_handler(s->db, 1000, cancel_cb, &c);
	pd_status r = index_load(s, ix, sort, e);
	sqlite3_progress_handler(s->db, 0, NULL, NULL);
	if (c.hit && r != PD_OK) {
		pd_err_clear(e);
		r = pd_fail(e, PD_E_TEMPFAIL, "filter", _("cancelled by a newer filter"));
	}
	return r;
}

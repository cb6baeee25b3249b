/* Read side of the audit log, the billing export and the wizard drafts. */
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

/* ---- audit ---- */

static void audit_row(sqlite3_stmt *st, void *elem, void *ctx)
{
	(void)ctx;
	pd_audit *a = elem;
	a->id = sqlite3_column_int64(st, 0);
	a->at = sqlite3_column_int64(st, 1);
	a->actor = col_str_empty(st, 2);
	a->client = col_str(st, 3);
	a->customer_id = sqlite3_column_int64(st, 4);
	a->object = col_str_empty(st, 5);
	a->action = col_str_empty(st, 6);
	a->detail = col_str_empty(st, 7);
}

static void audit_elem_free(void *elem)
{
	pd_audit *a = elem;
	free(a->actor);
	free(a->client);
	free(a->object);
	free(a->action);
	free(a->detail);
}

pd_status store_audit_list(pd_store *s, int64_t customer_id, size_t limit, pd_audit **out,
                           size_t *n, pd_err *e)
{
	E_GUARD(e);
	*out = NULL;
	*n = 0;
	static const char all[] =
	    "SELECT id, at, actor, client, customer_id, object, action, detail"
	    " FROM audit ORDER BY id DESC LIMIT ?";
	static const char one[] =
	    "SELECT id, at, actor, client, customer_id, object, action, detail"
	    " FROM audit WHERE customer_id = ? ORDER BY id DESC LIMIT ?";
	sqlite3_stmt *st = st_get(s, customer_id ? one : all, e);
	if (!st)
		return FAILED(e);
	int i = 1;
	if (customer_id)
		sqlite3_bind_int64(st, i++, customer_id);
	sqlite3_bind_int64(st, i, limit ? (int64_t)limit : -1);
	void *v;
	pd_status r = st_collect(s, st, sizeof **out, audit_row, NULL, audit_elem_free, &v, n,
	                         "audit", e);
	*out = v;
	return r;
}

void pd_audits_free(pd_audit *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		audit_elem_free(&v[i]);
	free(v);
}

/* ---- billing ---- */

/* The history rows of one customer, as billing states. */
typedef struct {
	pd_billing_state *v;
	char **strs; /* owned product types and currencies */
	size_t n, cap, nstr, capstr;
} hist_buf;

static const char *hist_keep(hist_buf *hb, char *s)
{
	if (hb->nstr == hb->capstr) {
		hb->capstr = hb->capstr ? hb->capstr * 2 : 16;
		hb->strs = xrealloc(hb->strs, hb->capstr * sizeof *hb->strs);
	}
	hb->strs[hb->nstr++] = s;
	return s;
}

static void hist_clear(hist_buf *hb)
{
	for (size_t i = 0; i < hb->nstr; i++)
		free(hb->strs[i]);
	hb->n = hb->nstr = 0;
}

/* Columns after CUST_COLS and the user count. */
#define HIST_COLS                                                                                  \
	"h.at, h.product_type, h.trial, h.trial_start, h.trial_end, h.trial_converted,"            \
	" h.internal_system, h.disabled, h.deleted, p.price_cents, p.currency"

static void hist_push(hist_buf *hb, sqlite3_stmt *st, int b)
{
	if (hb->n == hb->cap) {
		hb->cap = hb->cap ? hb->cap * 2 : 8;
		hb->v = xrealloc(hb->v, hb->cap * sizeof *hb->v);
	}
	pd_billing_state *h = &hb->v[hb->n++];
	memset(h, 0, sizeof *h);
	h->at = sqlite3_column_int64(st, b);
	h->product_type = hist_keep(hb, col_str_empty(st, b + 1));
	h->trial = sqlite3_column_int(st, b + 2);
	h->trial_start = (pd_day)sqlite3_column_int(st, b + 3);
	h->trial_end = (pd_day)sqlite3_column_int(st, b + 4);
	h->trial_converted = sqlite3_column_int(st, b + 5);
	h->internal_system = sqlite3_column_int(st, b + 6);
	h->disabled = sqlite3_column_int(st, b + 7);
	h->deleted = sqlite3_column_int(st, b + 8);
	h->has_price = sqlite3_column_type(st, b + 9) != SQLITE_NULL;
	h->price_cents = sqlite3_column_int64(st, b + 9);
	h->currency = hist_keep(hb, col_str_empty(st, b + 10));
}

pd_status store_billing_export(pd_store *s, pd_day first, int ndays, pd_billing_fn fn, void *ctx,
                               pd_err *e)
{
	E_GUARD(e);
	if (ndays < 1 || ndays > 366)
		return pd_fail(e, PD_E_INVALID, "period",
		               "a billing period has 1 to 366 days (got %d)", ndays);
	/* Licensed users: users with a role; a synced user linked to a console
	 * user is the same person and is not counted twice. The billing state
	 * of each day comes from the history (schema migration 5), never from
	 * today's customer row: a customer's rows up to the end of the period,
	 * in time order, one customer after the other. A customer deleted
	 * before the period is left out (deleted_at is the last deletion).
	 * One read transaction so the whole export sees one snapshot. */
	static const char sql[] =
	    "SELECT " CUST_COLS ", coalesce(u.n, 0), " HIST_COLS " FROM customers c"
	    " LEFT JOIN (SELECT customer_id, count(*) AS n FROM users WHERE role IS NOT NULL"
	    "  AND NOT (synced = 1 AND linked_user_id IS NOT NULL) GROUP BY customer_id) u"
	    " ON u.customer_id = c.id"
	    " JOIN customer_history h ON h.customer_id = c.id AND h.at < ?2"
	    " LEFT JOIN product_types p ON p.key = h.product_type"
	    " WHERE (c.deleted_at = 0 OR c.deleted_at >= ?1) AND c.created_at < ?2"
	    " ORDER BY CASE WHEN c.reference = '' THEN c.tenant_id ELSE c.reference END, c.id,"
	    " h.at, h.id";
	if (sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return st_fail(s, sqlite3_errcode(s->db), e, "billing");
	sqlite3_stmt *st = st_get(s, sql, e);
	pd_status r = st ? PD_OK : FAILED(e);
	hist_buf hb = {0};
	if (st) {
		sqlite3_bind_int64(st, 1, (int64_t)first * 86400);
		sqlite3_bind_int64(st, 2, ((int64_t)first + ndays) * 86400);
		int rc = sqlite3_step(st);
		while (r == PD_OK && rc == SQLITE_ROW) {
			pd_customer c;
			cust_from_row(st, 0, &c);
			int64_t users = sqlite3_column_int64(st, CUST_NCOLS);
			hist_clear(&hb);
			do
				hist_push(&hb, st, CUST_NCOLS + 1);
			while ((rc = sqlite3_step(st)) == SQLITE_ROW &&
			       sqlite3_column_int64(st, 0) == c.id);
			r = pd_billing_lines_for(s->cat, &c, users, hb.v, hb.n, first, ndays, fn, ctx,
			                         e);
			pd_customer_free(&c);
		}
		if (r == PD_OK && rc != SQLITE_DONE)
			r = st_fail(s, rc, e, "billing");
		sqlite3_reset(st);
	}
	hist_clear(&hb);
	free(hb.v);
	free(hb.strs);
	sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	return r;
}

/* ---- drafts ---- */

typedef struct {
	const char *owner, *json;
} draft_ctx;

static pd_status draft_save_tx(pd_store *s, void *vx, pd_err *e)
{
	draft_ctx *x = vx;
	static const char sql[] = "INSERT INTO drafts(owner, json, saved_at) VALUES (?,?,?)"
	                          " ON CONFLICT(owner) DO UPDATE SET json = excluded.json,"
	                          " saved_at = excluded.saved_at";
	sqlite3_stmt *st = st_get(s, sql, e);
	if (!st)
		return FAILED(e);
	bind_text(st, 1, x->owner);
	bind_text(st, 2, x->json);
	sqlite3_bind_int64(st, 3, pd_now());
	return st_exec(s, st, e);
}

pd_status store_draft_save(pd_store *s, const char *owner, const char *json, pd_err *e)
{
	E_GUARD(e);
	if (!owner || !*owner || !json)
		return pd_fail(e, PD_E_USAGE, "draft", "a draft needs an owner and content");
	draft_ctx x = {owner, json};
	return store_tx(s, draft_save_tx, &x, e);
}

pd_status store_draft_load(pd_store *s, const char *owner, char **json, int64_t *saved_at,
                           pd_err *e)
{
	E_GUARD(e);
	*json = NULL;
	static const char sql[] = "SELECT json, saved_at FROM drafts WHERE owner = ?";
	sqlite3_stmt *st = st_get(s, sql, e);
	if (!st)
		return FAILED(e);
	bind_text(st, 1, owner ? owner : "");
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*json = col_str_empty(st, 0);
		if (saved_at)
			*saved_at = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return PD_OK;
	if (rc != SQLITE_DONE)
		return st_fail(s, rc, e, "draft");
	return pd_fail(e, PD_E_NOTFOUND, "draft", "no saved draft for %.64s", owner ? owner : "");
}

static pd_status draft_delete_tx(pd_store *s, void *vx, pd_err *e)
{
	draft_ctx *x = vx;
	static const char sql[] = "DELETE FROM drafts WHERE owner = ?";
	sqlite3_stmt *st = st_get(s, sql, e);
	if (!st)
		return FAILED(e);
	bind_text(st, 1, x->owner);
	return st_exec(s, st, e);
}

pd_status store_draft_delete(pd_store *s, const char *owner, pd_err *e)
{
	E_GUARD(e);
	draft_ctx x = {owner ? owner : "", NULL};
	return store_tx(s, draft_delete_tx, &x, e);
}

/* The billing export: the effective-dated customer history and licensed-user
 * counts (kept by the schema's triggers) and the price history (store.c,
 * from the catalogue) walked day by day for a period, one callback per line. */
#include <stdlib.h>
#include <string.h>

#include "provdesk/i18n.h"
#include "store_internal.h"

typedef struct {
	int64_t customer_id, id;
	pd_billing_state st;
} hist_row;

typedef struct {
	int64_t customer_id, id;
	pd_billing_users u;
} users_row;

typedef struct {
	hist_row *rows;
	pd_billing_state *v; /* rows' states in (customer, id) order */
	int64_t *cid;        /* their customers, for the binary search */
	size_t n, cap;
	pd_billing_users *uv; /* licensed-user counts in (customer, id) order */
	int64_t *ucid;
	size_t nu;
	pd_billing_price *pv; /* prices in (product type, id) order */
	size_t np;
	char **pt; /* product type keys and currencies (a handful), interned */
	size_t npt;
} hist_buf;

/* The interned copy of key (added when new): the history and price rows
 * point at these instead of copying them. */
static const char *intern(hist_buf *hb, const char *key)
{
	for (size_t i = 0; i < hb->npt; i++)
		if (!strcmp(hb->pt[i], key))
			return hb->pt[i];
	hb->pt = xrealloc(hb->pt, (hb->npt + 1) * sizeof *hb->pt);
	return hb->pt[hb->npt++] = xstrdup(key);
}

static pd_status load_product_types(pd_store *s, hist_buf *hb, pd_err *e)
{
	static const char sql[] = "SELECT key FROM product_types";
	sqlite3_stmt *st = st_get(s, sql, e);
	if (!st)
		return FAILED(e);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(st, 0);
		intern(hb, k ? k : "");
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? PD_OK : st_fail(s, rc, e, "billing");
}

/* Every price row, by product type and then in the order set (a few per
 * type). The keys sort as strcmp does (BINARY collation). */
static pd_status load_prices(pd_store *s, hist_buf *hb, pd_err *e)
{
	static const char sql[] = "SELECT product_type, at, price_cents, currency"
	                          " FROM price_history ORDER BY product_type, id";
	sqlite3_stmt *st = st_get(s, sql, e);
	if (!st)
		return FAILED(e);
	int rc;
	size_t cap = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (hb->np == cap) {
			cap = cap ? cap * 2 : 16;
			hb->pv = xrealloc(hb->pv, cap * sizeof *hb->pv);
		}
		pd_billing_price *p = &hb->pv[hb->np++];
		const char *k = (const char *)sqlite3_column_text(st, 0);
		p->product_type = intern(hb, k ? k : "");
		p->at = sqlite3_column_int64(st, 1);
		p->price_cents = sqlite3_column_int64(st, 2);
		const char *cur = (const char *)sqlite3_column_text(st, 3);
		p->currency = intern(hb, cur ? cur : "");
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? PD_OK : st_fail(s, rc, e, "billing");
}

static int users_cmp(const void *va, const void *vb)
{
	const users_row *a = va, *b = vb;
	if (a->customer_id != b->customer_id)
		return a->customer_id < b->customer_id ? -1 : 1;
	return (a->id > b->id) - (a->id < b->id);
}

/* Every licensed-user count, in one table scan sorted here (as the
 * history below). */
static pd_status load_users(pd_store *s, hist_buf *hb, pd_err *e)
{
	static const char sql[] = "SELECT customer_id, id, at, users FROM licensed_users_history";
	sqlite3_stmt *st = st_get(s, sql, e);
	if (!st)
		return FAILED(e);
	int rc;
	size_t cap = 0;
	users_row *rows = NULL;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (hb->nu == cap) {
			cap = cap ? cap * 2 : 1024;
			rows = xrealloc(rows, cap * sizeof *rows);
		}
		users_row *r = &rows[hb->nu++];
		r->customer_id = sqlite3_column_int64(st, 0);
		r->id = sqlite3_column_int64(st, 1);
		r->u.at = sqlite3_column_int64(st, 2);
		r->u.users = sqlite3_column_int64(st, 3);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		free(rows);
		return st_fail(s, rc, e, "billing");
	}
	qsort(rows, hb->nu, sizeof *rows, users_cmp);
	hb->uv = xmalloc((hb->nu ? hb->nu : 1) * sizeof *hb->uv);
	hb->ucid = xmalloc((hb->nu ? hb->nu : 1) * sizeof *hb->ucid);
	for (size_t i = 0; i < hb->nu; i++) {
		hb->uv[i] = rows[i].u;
		hb->ucid[i] = rows[i].customer_id;
	}
	free(rows);
	return PD_OK;
}

static void hist_free(hist_buf *hb)
{
	for (size_t i = 0; i < hb->npt; i++)
		free(hb->pt[i]);
	free(hb->pt);
	free(hb->rows);
	free(hb->v);
	free(hb->cid);
	free(hb->uv);
	free(hb->ucid);
	free(hb->pv);
}

static void hist_push(hist_buf *hb, sqlite3_stmt *st)
{
	if (hb->n == hb->cap) {
		hb->cap = hb->cap ? hb->cap * 2 : 1024;
		hb->rows = xrealloc(hb->rows, hb->cap * sizeof *hb->rows);
	}
	hist_row *r = &hb->rows[hb->n++];
	memset(r, 0, sizeof *r);
	r->customer_id = sqlite3_column_int64(st, 0);
	r->id = sqlite3_column_int64(st, 1);
	pd_billing_state *h = &r->st;
	h->at = sqlite3_column_int64(st, 2);
	const char *pt = (const char *)sqlite3_column_text(st, 3);
	h->product_type = intern(hb, pt ? pt : "");
	h->trial = sqlite3_column_int(st, 4);
	h->trial_start = (pd_day)sqlite3_column_int(st, 5);
	h->trial_end = (pd_day)sqlite3_column_int(st, 6);
	h->trial_converted = sqlite3_column_int(st, 7);
	h->internal_system = sqlite3_column_int(st, 8);
	h->disabled = sqlite3_column_int(st, 9);
	h->deleted = sqlite3_column_int(st, 10);
}

static int hist_cmp(const void *va, const void *vb)
{
	const hist_row *a = va, *b = vb;
	if (a->customer_id != b->customer_id)
		return a->customer_id < b->customer_id ? -1 : 1;
	return (a->id > b->id) - (a->id < b->id);
}

/* Every history row, in one table scan, sorted here by customer and then
 * in the order the changes were made (id). All of them: a row written
 * after the period takes effect in it only after a clock was set back, and
 * pd_billing_lines_for skips the others. Cheaper than joining them to the
 * customers' billing-id sort, whose sorter would carry every history
 * column (bench_cli). */
static pd_status load_history(pd_store *s, hist_buf *hb, pd_err *e)
{
	static const char sql[] =
	    "SELECT customer_id, id, at, product_type, trial, trial_start, trial_end,"
	    " trial_converted, internal_system, disabled, deleted FROM customer_history";
	sqlite3_stmt *st = st_get(s, sql, e);
	if (!st)
		return FAILED(e);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		hist_push(hb, st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return st_fail(s, rc, e, "billing");
	qsort(hb->rows, hb->n, sizeof *hb->rows, hist_cmp);
	hb->v = xmalloc((hb->n ? hb->n : 1) * sizeof *hb->v);
	hb->cid = xmalloc((hb->n ? hb->n : 1) * sizeof *hb->cid);
	for (size_t i = 0; i < hb->n; i++) {
		hb->v[i] = hb->rows[i].st;
		hb->cid[i] = hb->rows[i].customer_id;
	}
	free(hb->rows);
	hb->rows = NULL;
	return PD_OK;
}

/* The first of the n rows of customer id in cid (sorted): n when none. */
static size_t first_of(const int64_t *cid, size_t n, int64_t id)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cid[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

pd_status store_billing_export(pd_store *s, pd_day first, int ndays, pd_billing_fn fn, void *ctx,
                               pd_err *e)
{
	E_GUARD(e);
	if (ndays < 1 || ndays > 366)
		return pd_fail(e, PD_E_INVALID, "period",
		               _("a billing period has 1 to 366 days (got %d)"), ndays);
	/* What billing depends on comes from the effective-dated tables, never
	 * from today's rows: the customer's state (customer_history, schema
	 * migration 7), its licensed-user count and the product types' prices
	 * (migration 8). Name and reference are read as they are now. A
	 * customer deleted before the period is left out (deleted_at is the
	 * last deletion). One read transaction so the whole export sees one
	 * snapshot. */
	static const char sql[] =
	    "SELECT " CUST_COLS " FROM customers c"
	    " WHERE (c.deleted_at = 0 OR c.deleted_at >= ?1) AND c.created_at < ?2"
	    " ORDER BY CASE WHEN c.reference = '' THEN c.tenant_id ELSE c.reference END, c.id";
	if (sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return st_fail(s, sqlite3_errcode(s->db), e, "billing");
	int64_t end = ((int64_t)first + ndays) * 86400;
	hist_buf hb = {0};
	pd_status r = load_product_types(s, &hb, e);
	if (r == PD_OK)
		r = load_prices(s, &hb, e);
	if (r == PD_OK)
		r = load_users(s, &hb, e);
	if (r == PD_OK)
		r = load_history(s, &hb, e);
	sqlite3_stmt *st = r == PD_OK ? st_get(s, sql, e) : NULL;
	if (r == PD_OK && !st)
		r = FAILED(e);
	if (st) {
		sqlite3_bind_int64(st, 1, (int64_t)first * 86400);
		sqlite3_bind_int64(st, 2, end);
		int rc = SQLITE_DONE;
		while (r == PD_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			pd_customer c;
			cust_from_row(st, 0, &c);
			size_t lo = first_of(hb.cid, hb.n, c.id), hi = lo;
			while (hi < hb.n && hb.cid[hi] == c.id)
				hi++;
			size_t ulo = first_of(hb.ucid, hb.nu, c.id), uhi = ulo;
			while (uhi < hb.nu && hb.ucid[uhi] == c.id)
				uhi++;
			r = pd_billing_lines_dated(&c, hb.v + lo, hi - lo, hb.uv + ulo, uhi - ulo,
			                           hb.pv, hb.np, first, ndays, fn, ctx, e);
			pd_customer_free(&c);
		}
		if (r == PD_OK && rc != SQLITE_DONE)
			r = st_fail(s, rc, e, "billing");
		sqlite3_reset(st);
	}
	hist_free(&hb);
	sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	return r;
}

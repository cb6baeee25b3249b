/* Read side of the audit log: a customer's (or every) audit rows, newest
 * first. The rows are written by audit_add (store.c) inside each change's
 * transaction. */
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

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
	pd_status r =
	    st_collect(s, st, sizeof **out, audit_row, NULL, audit_elem_free, &v, n, "audit", e);
	*out = v;
	return r;
}

void pd_audits_free(pd_audit *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		audit_elem_free(&v[i]);
	free(v);
}

int64_t store_pbx_changed_at(pd_store *s, int64_t customer_id)
{
	pd_audit *a = NULL;
	size_t n = 0;
	pd_err e;
	pd_err_clear(&e);
	int64_t at = 0;
	if (store_audit_list(s, customer_id, 50, &a, &n, &e) != PD_OK)
		return INT64_MAX; /* unknown: test anew */
	for (size_t i = 0; i < n && !at; i++)
		if (a[i].object && !strcmp(a[i].object, "pbx"))
			at = a[i].at;
	pd_audits_free(a, n);
	return at;
}

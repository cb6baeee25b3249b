/* Customer and user rows read into the model's structs. The lowest file of
 * the store after store.c: customers.c, users.c, outbox.c, pbx.c, sync.c,
 * grid.c and records.c read rows through it, and it calls none of them, so
 * dependencies inside the store point one way (docs/architecture.md, Store). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provdesk/i18n.h"
#include "store_internal.h"

void cust_from_row(sqlite3_stmt *st, int b, pd_customer *c)
{
	memset(c, 0, sizeof *c);
	c->id = sqlite3_column_int64(st, b + 0);
	snprintf(c->tenant_id, sizeof c->tenant_id, "%s",
	         (const char *)sqlite3_column_text(st, b + 1));
	c->name = col_str(st, b + 2);
	c->product_type = col_str(st, b + 3);
	c->reference = col_str(st, b + 4);
	const unsigned char *cc = sqlite3_column_text(st, b + 5);
	snprintf(c->country, sizeof c->country, "%s", cc ? (const char *)cc : "");
	c->time_zone = col_str(st, b + 6);
	c->notes = col_str(st, b + 7);
	c->trial = sqlite3_column_int(st, b + 8);
	c->trial_start = (pd_day)sqlite3_column_int(st, b + 9);
	c->trial_end = (pd_day)sqlite3_column_int(st, b + 10);
	c->trial_converted = sqlite3_column_int(st, b + 11);
	c->internal_system = sqlite3_column_int(st, b + 12);
	c->disabled = sqlite3_column_int(st, b + 13);
	c->deleted_at = sqlite3_column_int64(st, b + 14);
	c->created_at = sqlite3_column_int64(st, b + 15);
	c->updated_at = sqlite3_column_int64(st, b + 16);
	c->version = sqlite3_column_int64(st, b + 17);
	c->locale = col_str(st, b + 18);
	/* Optional text is NULL when empty, as the rules produce it. */
	if (c->reference && !*c->reference)
		pd_set_str(&c->reference, NULL);
	if (c->notes && !*c->notes)
		pd_set_str(&c->notes, NULL);
}

pd_status cust_load(pd_store *s, int64_t id, pd_customer *out, pd_err *e)
{
	static const char sql[] = "SELECT " CUST_COLS " FROM customers c WHERE c.id = ?";
	sqlite3_stmt *st = st_get(s, sql, e);
	if (!st)
		return FAILED(e);
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		cust_from_row(st, 0, out);
		sqlite3_reset(st);
		return PD_OK;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return st_fail(s, rc, e, "read customer");
	return pd_fail(e, PD_E_NOTFOUND, "customer", _("no customer #%lld"), (long long)id);
}

void user_from_row(sqlite3_stmt *st, pd_user *u)
{
	memset(u, 0, sizeof *u);
	u->id = sqlite3_column_int64(st, 0);
	u->customer_id = sqlite3_column_int64(st, 1);
	u->display_name = col_str(st, 2);
	u->email = col_str(st, 3);
	u->extension = col_str(st, 4);
	u->role = col_str(st, 5);
	u->primary = sqlite3_column_int(st, 6);
	u->synced = sqlite3_column_int(st, 7);
	u->endpoint = col_str(st, 8);
	u->sub_account = col_str(st, 9);
	u->device_state = col_str(st, 10);
	u->linked_user_id = sqlite3_column_int64(st, 11);
	u->version = sqlite3_column_int64(st, 12);
	int inv = sqlite3_column_int(st, 13);
	u->invite = inv >= PD_INVITE_QUEUED && inv <= PD_INVITE_CANCELLED ? (pd_invite_state)inv
	                                                                  : PD_INVITE_NONE;
}

pd_status user_load(pd_store *s, int64_t id, pd_user *out, pd_err *e)
{
	static const char sql[] = "SELECT " USER_COLS " FROM users u WHERE u.id = ?";
	sqlite3_stmt *st = st_get(s, sql, e);
	if (!st)
		return FAILED(e);
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		user_from_row(st, out);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return PD_OK;
	if (rc != SQLITE_DONE)
		return st_fail(s, rc, e, "read user");
	return pd_fail(e, PD_E_NOTFOUND, "user", _("no user #%lld"), (long long)id);
}

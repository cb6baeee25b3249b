/* The invitation outbox (SPEC §6): rows are queued in the same transaction
 * as the user they invite, then sent by the mail worker. */
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

#define OUTBOX_COLS                                                                                \
	"id, customer_id, user_id, to_addr, subject, body, state, attempts, next_attempt_at,"      \
	" created_at, sent_at, last_error"

static void outbox_from_row(sqlite3_stmt *st, pd_outbox *o)
{
	memset(o, 0, sizeof *o);
	o->id = sqlite3_column_int64(st, 0);
	o->customer_id = sqlite3_column_int64(st, 1);
	o->user_id = sqlite3_column_int64(st, 2);
	o->to_addr = col_str_empty(st, 3);
	o->subject = col_str_empty(st, 4);
	o->body = col_str_empty(st, 5);
	o->state = (pd_invite_state)sqlite3_column_int(st, 6);
	o->attempts = sqlite3_column_int(st, 7);
	o->next_attempt_at = sqlite3_column_int64(st, 8);
	o->created_at = sqlite3_column_int64(st, 9);
	o->sent_at = sqlite3_column_int64(st, 10);
	o->last_error = col_str(st, 11);
}

pd_status outbox_queue(pd_store *s, const pd_customer *c, const pd_user *u, int64_t user_id,
                       pd_err *e)
{
	if (!u->email || !*u->email)
		return pd_fail(e, PD_E_INVALID, "email", "user \"%.100s\" has no email to invite",
		               u->display_name ? u->display_name : "");
	pd_invitation inv;
	pd_invitation_render(c, u, &inv);
	static const char sql[] =
	    "INSERT INTO outbox(customer_id, user_id, to_addr, subject, body, state,"
	    " attempts, next_attempt_at, created_at) VALUES (?,?,?,?,?,?,0,?,?)";
	sqlite3_stmt *st = st_get(s, sql, e);
	pd_status r = st ? PD_OK : FAILED(e);
	if (st) {
		int64_t now = pd_now();
		sqlite3_bind_int64(st, 1, c->id);
		sqlite3_bind_int64(st, 2, user_id);
		bind_text(st, 3, inv.to ? inv.to : u->email);
		bind_text(st, 4, inv.subject ? inv.subject : "");
		bind_text(st, 5, inv.body ? inv.body : "");
		sqlite3_bind_int(st, 6, PD_INVITE_QUEUED);
		sqlite3_bind_int64(st, 7, now);
		sqlite3_bind_int64(st, 8, now);
		r = st_exec(s, st, e);
	}
	pd_invitation_free(&inv);
	return r;
}

static void outbox_row(sqlite3_stmt *st, void *o, void *ctx)
{
	(void)ctx;
	outbox_from_row(st, o);
}

static void outbox_elem_free(void *o)
{
	pd_outbox_free(o);
}

pd_status store_outbox_list(pd_store *s, int64_t customer_id, pd_outbox **out, size_t *n, pd_err *e)
{
	E_GUARD(e);
	*out = NULL;
	*n = 0;
	static const char all[] = "SELECT " OUTBOX_COLS " FROM outbox ORDER BY id";
	static const char one[] =
	    "SELECT " OUTBOX_COLS " FROM outbox WHERE customer_id = ? ORDER BY id";
	sqlite3_stmt *st = st_get(s, customer_id ? one : all, e);
	if (!st)
		return FAILED(e);
	if (customer_id)
		sqlite3_bind_int64(st, 1, customer_id);
	void *v;
	pd_status r = st_collect(s, st, sizeof **out, outbox_row, NULL, outbox_elem_free, &v, n,
	                         "list outbox", e);
	*out = v;
	return r;
}

pd_status store_outbox_next_due(pd_store *s, int64_t now, pd_outbox *out, pd_err *e)
{
	E_GUARD(e);
	static const char sql[] = "SELECT " OUTBOX_COLS " FROM outbox WHERE state = 1"
	                          " AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT 1";
	sqlite3_stmt *st = st_get(s, sql, e);
	if (!st)
		return FAILED(e);
	sqlite3_bind_int64(st, 1, now);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		outbox_from_row(st, out);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return PD_OK;
	if (rc != SQLITE_DONE)
		return st_fail(s, rc, e, "outbox");
	return pd_fail(e, PD_E_NOTFOUND, NULL, "no invitation is due");
}

typedef struct {
	int64_t id, now, next;
	const char *error;
	bool permanent;
	const pd_actor *a;
	int count;
} ob_ctx;

static pd_status sent_tx(pd_store *s, void *vx, pd_err *e)
{
	ob_ctx *x = vx;
	static const char sql[] =
	    "UPDATE outbox SET state = 2, sent_at = ?, attempts = attempts + 1,"
	    " last_error = NULL WHERE id = ?";
	sqlite3_stmt *st = st_get(s, sql, e);
	if (!st)
		return FAILED(e);
	sqlite3_bind_int64(st, 1, x->now);
	sqlite3_bind_int64(st, 2, x->id);
	pd_status r = st_exec(s, st, e);
	if (r == PD_OK && sqlite3_changes(s->db) == 0)
		r = pd_fail(e, PD_E_NOTFOUND, "outbox", "no outbox message #%lld",
		            (long long)x->id);
	return r;
}

pd_status store_outbox_mark_sent(pd_store *s, int64_t id, int64_t now, pd_err *e)
{
	E_GUARD(e);
	ob_ctx x = {.id = id, .now = now};
	return store_tx(s, sent_tx, &x, e);
}

static pd_status failed_tx(pd_store *s, void *vx, pd_err *e)
{
	ob_ctx *x = vx;
	static const char sql[] =
	    "UPDATE outbox SET state = ?, attempts = attempts + 1, last_error = ?,"
	    " next_attempt_at = ? WHERE id = ?";
	sqlite3_stmt *st = st_get(s, sql, e);
	if (!st)
		return FAILED(e);
	sqlite3_bind_int(st, 1, x->permanent ? PD_INVITE_FAILED : PD_INVITE_QUEUED);
	bind_text(st, 2, x->error ? x->error : "failed");
	sqlite3_bind_int64(st, 3, x->next);
	sqlite3_bind_int64(st, 4, x->id);
	pd_status r = st_exec(s, st, e);
	if (r == PD_OK && sqlite3_changes(s->db) == 0)
		r = pd_fail(e, PD_E_NOTFOUND, "outbox", "no outbox message #%lld",
		            (long long)x->id);
	return r;
}

pd_status store_outbox_mark_failed(pd_store *s, int64_t id, const char *error,
                                   int64_t next_attempt_at, bool permanent, pd_err *e)
{
	E_GUARD(e);
	ob_ctx x = {.id = id, .error = error, .next = next_attempt_at, .permanent = permanent};
	return store_tx(s, failed_tx, &x, e);
}

static pd_status retry_tx(pd_store *s, void *vx, pd_err *e)
{
	ob_ctx *x = vx;
	x->count = 0;
	/* id 0: every failed message; an id: that one, failed or sent ("resend"). */
	static const char sel_all[] =
	    "SELECT id, customer_id, to_addr FROM outbox WHERE state = 3 ORDER BY id";
	static const char sel_one[] =
	    "SELECT id, customer_id, to_addr FROM outbox WHERE id = ? AND state IN (2, 3)";
	static const char upd[] =
	    "UPDATE outbox SET state = 1, next_attempt_at = ?, last_error = NULL"
	    " WHERE id = ?";
	sqlite3_stmt *sel = st_get(s, x->id ? sel_one : sel_all, e);
	if (!sel)
		return FAILED(e);
	if (x->id)
		sqlite3_bind_int64(sel, 1, x->id);
	/* Collect first: a statement must not stay open across the writes. */
	int64_t(*rows)[2] = NULL;
	char **to = NULL;
	size_t n = 0, cap = 0;
	int rc;
	while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			rows = xrealloc(rows, cap * sizeof *rows);
			to = xrealloc(to, cap * sizeof *to);
		}
		rows[n][0] = sqlite3_column_int64(sel, 0);
		rows[n][1] = sqlite3_column_int64(sel, 1);
		to[n++] = col_str_empty(sel, 2);
	}
	sqlite3_reset(sel);
	pd_status r = rc == SQLITE_DONE ? PD_OK : st_fail(s, rc, e, "outbox retry");
	if (r == PD_OK && x->id && n == 0) {
		static const char exists[] = "SELECT state FROM outbox WHERE id = ?";
		sqlite3_stmt *q = st_get(s, exists, e);
		if (!q)
			r = FAILED(e);
		else {
			sqlite3_bind_int64(q, 1, x->id);
			rc = sqlite3_step(q);
			sqlite3_reset(q);
			r = rc == SQLITE_ROW
			        ? pd_fail(e, PD_E_INVALID, "outbox",
			                  "outbox message #%lld is still queued", (long long)x->id)
			        : pd_fail(e, PD_E_NOTFOUND, "outbox", "no outbox message #%lld",
			                  (long long)x->id);
		}
	}
	for (size_t i = 0; r == PD_OK && i < n; i++) {
		sqlite3_stmt *st = st_get(s, upd, e);
		if (!st) {
			r = FAILED(e);
			break;
		}
		sqlite3_bind_int64(st, 1, pd_now());
		sqlite3_bind_int64(st, 2, rows[i][0]);
		if ((r = st_exec(s, st, e)) != PD_OK)
			break;
		char *d =
		    xasprintf("invitation #%lld to %s queued again", (long long)rows[i][0], to[i]);
		r = audit_add(s, x->a, rows[i][1], 0, "outbox", "retry", d, e);
		free(d);
		x->count++;
	}
	for (size_t i = 0; i < n; i++)
		free(to[i]);
	free(to);
	free(rows);
	return r;
}

pd_status store_outbox_retry(pd_store *s, int64_t id, const pd_actor *a, int *count, pd_err *e)
{
	E_GUARD(e);
	ob_ctx x = {.id = id, .a = a};
	pd_status r = store_tx(s, retry_tx, &x, e);
	if (count)
		*count = r == PD_OK ? x.count : 0;
	return r;
}

static pd_status resend_tx(pd_store *s, void *vx, pd_err *e)
{
	ob_ctx *x = vx;
	pd_user u;
	pd_status r = store_user_get(s, x->id, &u, e);
	if (r != PD_OK)
		return r;
	pd_customer c;
	if ((r = cust_load(s, u.customer_id, &c, e)) == PD_OK) {
		if (u.synced || !u.email)
			r = pd_fail(
			    e, PD_E_INVALID, "user",
			    "\"%.100s\" is not a console user with an email; nothing to send",
			    u.display_name);
		else
			r = outbox_queue(s, &c, &u, u.id, e);
		if (r == PD_OK) {
			char *d = xasprintf("invitation to %s queued again", u.email);
			r = audit_add(s, x->a, c.id, 0, "outbox", "resend", d, e);
			free(d);
		}
		pd_customer_free(&c);
	}
	pd_user_free(&u);
	return r;
}

pd_status store_outbox_resend_user(pd_store *s, int64_t user_id, const pd_actor *a, pd_err *e)
{
	E_GUARD(e);
	ob_ctx x = {.id = user_id, .a = a};
	return store_tx(s, resend_tx, &x, e);
}

void pd_outbox_free(pd_outbox *o)
{
	if (!o)
		return;
	free(o->to_addr);
	free(o->subject);
	free(o->body);
	free(o->last_error);
	o->to_addr = o->subject = o->body = o->last_error = NULL;
}

void pd_outboxes_free(pd_outbox *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		pd_outbox_free(&v[i]);
	free(v);
}

/* The invitation outbox (docs/architecture.md, Mail): rows are queued in the same transaction
 * as the user they invite, then sent by the mail worker. */
#include <stdlib.h>
#include <string.h>

#include "provdesk/i18n.h"
#include "store_internal.h"

#define OUTBOX_COLS                                                                                \
	"id, customer_id, user_id, to_addr, subject, body, state, attempts, next_attempt_at,"      \
	" created_at, sent_at, last_error, invited_by"

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
	o->invited_by = col_str_empty(st, 12);
}

static pd_status queue(pd_store *s, const pd_customer *c, const pd_user *u, int64_t user_id,
                       const pd_actor *a, bool new_user, bool *already, pd_err *e)
{
	if (already)
		*already = false;
	if (!u->email || !*u->email)
		return pd_fail(e, PD_E_INVALID, "email",
		               _("user \"%.100s\" has no email to invite"),
		               u->display_name ? u->display_name : "");
	int64_t now = pd_now();
	const char *by = a ? a->user : "";
	pd_status r;
	sqlite3_stmt *st;
	if (new_user)
		goto insert;
	/* One queued invitation per user (index outbox_one_queued): asking again
	 * makes the waiting one due now rather than queueing a second mail. */
	static const char bump[] =
	    "UPDATE outbox SET next_attempt_at = ?, invited_by = ? WHERE user_id = ? AND state = 1";
	st = st_get(s, bump, e);
	if (!st)
		return FAILED(e);
	sqlite3_bind_int64(st, 1, now);
	bind_text(st, 2, by);
	sqlite3_bind_int64(st, 3, user_id);
	r = st_exec(s, st, e);
	if (r != PD_OK)
		return r;
	if (sqlite3_changes(s->db) > 0) {
		if (already)
			*already = true;
		return PD_OK;
	}
insert:;
	/* A preview: the mail itself is rendered when it is sent. */
	pd_invitation inv;
	pd_invitation_ctx ix = {.inviter = by};
	pd_invitation_render_ctx(c, u, &ix, &inv);
	static const char sql[] =
	    "INSERT INTO outbox(customer_id, user_id, to_addr, subject, body, state,"
	    " attempts, next_attempt_at, created_at, invited_by) VALUES (?,?,?,?,?,?,0,?,?,?)";
	st = st_get(s, sql, e);
	r = st ? PD_OK : FAILED(e);
	if (st) {
		sqlite3_bind_int64(st, 1, c->id);
		sqlite3_bind_int64(st, 2, user_id);
		bind_text(st, 3, inv.to ? inv.to : u->email);
		bind_text(st, 4, inv.subject ? inv.subject : "");
		bind_text(st, 5, inv.body ? inv.body : "");
		sqlite3_bind_int(st, 6, PD_INVITE_QUEUED);
		sqlite3_bind_int64(st, 7, now);
		sqlite3_bind_int64(st, 8, now);
		bind_text(st, 9, by);
		r = st_exec(s, st, e);
	}
	pd_invitation_free(&inv);
	return r;
}

pd_status outbox_queue(pd_store *s, const pd_customer *c, const pd_user *u, int64_t user_id,
                       const pd_actor *a, bool *already, pd_err *e)
{
	return queue(s, c, u, user_id, a, false, already, e);
}

pd_status outbox_queue_new_user(pd_store *s, const pd_customer *c, const pd_user *u,
                                int64_t user_id, const pd_actor *a, pd_err *e)
{
	return queue(s, c, u, user_id, a, true, NULL, e);
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
	return pd_fail(e, PD_E_NOTFOUND, NULL, _("no invitation is due"));
}

typedef struct {
	int64_t id, now, next;
	const char *error;
	bool permanent;
	const pd_actor *a;
	int count;
	const pd_outbox_sent *sent;
	bool *already;
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
		r = pd_fail(e, PD_E_NOTFOUND, "outbox", _("no outbox message #%lld"),
		            (long long)x->id);
	const pd_outbox_sent *m = x->sent;
	if (r == PD_OK && m) {
		static const char what[] =
		    "UPDATE outbox SET to_addr = ?, subject = ?, body = ? WHERE id = ?";
		if (!(st = st_get(s, what, e)))
			return FAILED(e);
		bind_text(st, 1, m->to ? m->to : "");
		bind_text(st, 2, m->subject ? m->subject : "");
		bind_text(st, 3, m->body ? m->body : "");
		sqlite3_bind_int64(st, 4, x->id);
		r = st_exec(s, st, e);
	}
	if (r == PD_OK && m && m->token_hash) {
		/* The new token replaces the old one: only the last link works. */
		static const char tok[] =
		    "UPDATE users SET invite_token_hash = ?, invite_token_expires = ?"
		    " WHERE id = (SELECT user_id FROM outbox WHERE id = ?)";
		if (!(st = st_get(s, tok, e)))
			return FAILED(e);
		bind_text(st, 1, m->token_hash);
		sqlite3_bind_int64(st, 2, m->token_expires);
		sqlite3_bind_int64(st, 3, x->id);
		r = st_exec(s, st, e);
	}
	return r;
}

pd_status store_outbox_mark_sent(pd_store *s, int64_t id, int64_t now, pd_err *e)
{
	return store_outbox_mark_sent_as(s, id, now, NULL, e);
}

pd_status store_outbox_mark_sent_as(pd_store *s, int64_t id, int64_t now,
                                    const pd_outbox_sent *sent, pd_err *e)
{
	E_GUARD(e);
	ob_ctx x = {.id = id, .now = now, .sent = sent};
	return store_tx(s, sent_tx, &x, e);
}

static pd_status cancel_tx(pd_store *s, void *vx, pd_err *e)
{
	ob_ctx *x = vx;
	static const char sql[] = "UPDATE outbox SET state = 4, last_error = ? WHERE id = ?";
	sqlite3_stmt *st = st_get(s, sql, e);
	if (!st)
		return FAILED(e);
	bind_text(st, 1, x->error ? x->error : "cancelled");
	sqlite3_bind_int64(st, 2, x->id);
	pd_status r = st_exec(s, st, e);
	if (r == PD_OK && sqlite3_changes(s->db) == 0)
		r = pd_fail(e, PD_E_NOTFOUND, "outbox", _("no outbox message #%lld"),
		            (long long)x->id);
	return r;
}

pd_status store_outbox_cancel(pd_store *s, int64_t id, const char *reason, pd_err *e)
{
	E_GUARD(e);
	ob_ctx x = {.id = id, .error = reason};
	return store_tx(s, cancel_tx, &x, e);
}

/* A person cancels a queued message (the console's outbox screen): only a
 * queued one, with an audit row saying who, in one transaction. */
static pd_status cancel_by_tx(pd_store *s, void *vx, pd_err *e)
{
	ob_ctx *x = vx;
	static const char sel[] = "SELECT state, customer_id, to_addr FROM outbox WHERE id = ?";
	sqlite3_stmt *st = st_get(s, sel, e);
	if (!st)
		return FAILED(e);
	sqlite3_bind_int64(st, 1, x->id);
	int rc = sqlite3_step(st);
	int state = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	int64_t cid = rc == SQLITE_ROW ? sqlite3_column_int64(st, 1) : 0;
	char *to = rc == SQLITE_ROW ? col_str_empty(st, 2) : NULL;
	sqlite3_reset(st);
	long long id = (long long)x->id;
	pd_status r = PD_OK;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		r = st_fail(s, rc, e, "outbox cancel");
	else if (rc == SQLITE_DONE)
		r = pd_fail(e, PD_E_NOTFOUND, "outbox", _("no outbox message #%lld"), id);
	else if (state != PD_INVITE_QUEUED)
		r = pd_fail(e, PD_E_INVALID, "outbox",
		            _("outbox message #%lld is %s: only a queued message can be cancelled"),
		            id, pd_invite_state_name((pd_invite_state)state));
	if (r == PD_OK) {
		char *why = xasprintf(_("cancelled by %s"), x->a ? x->a->user : "?");
		ob_ctx c = {.id = x->id, .error = why};
		r = cancel_tx(s, &c, e);
		free(why);
	}
	if (r == PD_OK) {
		char *d = xasprintf("#%lld to %s: state: queued → cancelled", id, to ? to : "");
		r = audit_add(s, x->a, cid, 0, "outbox", "cancel", d, e);
		free(d);
	}
	free(to);
	return r;
}

pd_status store_outbox_cancel_by(pd_store *s, int64_t id, const pd_actor *a, pd_err *e)
{
	E_GUARD(e);
	ob_ctx x = {.id = id, .a = a};
	return store_tx(s, cancel_by_tx, &x, e);
}

pd_status store_user_invite_token(pd_store *s, int64_t user_id, char **hash, int64_t *expires,
                                  pd_err *e)
{
	E_GUARD(e);
	*hash = NULL;
	*expires = 0;
	static const char sql[] =
	    "SELECT invite_token_hash, invite_token_expires FROM users WHERE id = ?";
	sqlite3_stmt *st = st_get(s, sql, e);
	if (!st)
		return FAILED(e);
	sqlite3_bind_int64(st, 1, user_id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*hash = col_str(st, 0);
		*expires = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return PD_OK;
	if (rc != SQLITE_DONE)
		return st_fail(s, rc, e, "read user");
	return pd_fail(e, PD_E_NOTFOUND, "user", _("no user #%lld"), (long long)user_id);
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
		r = pd_fail(e, PD_E_NOTFOUND, "outbox", _("no outbox message #%lld"),
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
	/* id 0: every failed message that is its user's latest invitation (an
	 * older one was replaced by a later one; a cancelled one or one whose
	 * user was removed is never sent); an id: that one, failed or sent
	 * ("resend"), unless its user is gone or already has one queued. */
	static const char sel_all[] =
	    "SELECT id, customer_id, to_addr FROM outbox o WHERE state = 3"
	    " AND user_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM outbox q"
	    " WHERE q.user_id = o.user_id AND (q.state = 1 OR q.id > o.id)) ORDER BY id";
	static const char sel_one[] =
	    "SELECT id, customer_id, to_addr, state, user_id IS NULL,"
	    " (SELECT q.id FROM outbox q WHERE q.user_id = o.user_id AND q.state = 1),"
	    " last_error FROM outbox o WHERE id = ?";
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
	pd_status r = PD_OK;
	bool found = false;
	while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
		found = true;
		if (x->id) {
			int state = sqlite3_column_int(sel, 3);
			bool gone = sqlite3_column_int(sel, 4);
			int64_t queued = sqlite3_column_int64(sel, 5);
			const char *why = (const char *)sqlite3_column_text(sel, 6);
			long long id = (long long)x->id;
			if (state == PD_INVITE_QUEUED)
				r = pd_fail(e, PD_E_INVALID, "outbox",
				            _("outbox message #%lld is still queued"), id);
			else if (state == PD_INVITE_CANCELLED)
				r = pd_fail(
				    e, PD_E_INVALID, "outbox",
				    _("outbox message #%lld was cancelled (%s): it is never sent "
				      "again"),
				    id, why ? why : _("user removed"));
			else if (gone)
				r = pd_fail(
				    e, PD_E_INVALID, "outbox",
				    _("the user of outbox message #%lld was removed: it is never "
				      "sent again"),
				    id);
			else if (queued)
				r = pd_fail(
				    e, PD_E_INVALID, "outbox",
				    _("an invitation to this user is already queued (#%lld)"),
				    (long long)queued);
			if (r != PD_OK)
				break;
		}
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
	if (r == PD_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
		r = st_fail(s, rc, e, "outbox retry");
	if (r == PD_OK && x->id && !found)
		r = pd_fail(e, PD_E_NOTFOUND, "outbox", _("no outbox message #%lld"),
		            (long long)x->id);
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
	pd_status r = user_load(s, x->id, &u, e);
	if (r != PD_OK)
		return r;
	pd_customer c;
	bool already = false;
	if ((r = cust_load(s, u.customer_id, &c, e)) == PD_OK) {
		if (u.synced || !u.email)
			r = pd_fail(
			    e, PD_E_INVALID, "user",
			    _("\"%.100s\" is not a console user with an email; nothing to send"),
			    u.display_name);
		else
			r = outbox_queue(s, &c, &u, u.id, x->a, &already, e);
		if (r == PD_OK) {
			char *d =
			    already ? xasprintf("invitation to %s already queued: due now", u.email)
			            : xasprintf("invitation to %s queued again", u.email);
			r = audit_add(s, x->a, c.id, 0, "outbox", "resend", d, e);
			free(d);
		}
		pd_customer_free(&c);
	}
	pd_user_free(&u);
	if (x->already)
		*x->already = r == PD_OK && already;
	return r;
}

pd_status store_outbox_resend_user(pd_store *s, int64_t user_id, const pd_actor *a, pd_err *e)
{
	return store_outbox_resend_user_ex(s, user_id, a, NULL, e);
}

pd_status store_outbox_resend_user_ex(pd_store *s, int64_t user_id, const pd_actor *a,
                                      bool *already, pd_err *e)
{
	E_GUARD(e);
	ob_ctx x = {.id = user_id, .a = a, .already = already};
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
	free(o->invited_by);
	o->to_addr = o->subject = o->body = o->last_error = o->invited_by = NULL;
}

void pd_outboxes_free(pd_outbox *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		pd_outbox_free(&v[i]);
	free(v);
}

/* Users of a customer: console users (primary + others, with roles) and the
 * users synced one-way from the PBX, linked to console users by email. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "provdesk/i18n.h"
#include "store_internal.h"

static void user_label(pd_buf *b, const pd_user *u)
{
	pd_buf_printf(b, "user \"%s\"", u->display_name ? u->display_name : "");
	if (u->email)
		pd_buf_printf(b, " <%s>", u->email);
	else if (u->endpoint)
		pd_buf_printf(b, " (endpoint %s)", u->endpoint);
	pd_buf_add(b, ": ");
}

/* Audit row for a user change: "user "X" <x@y>: field: old → new". */
static pd_status user_audit(pd_store *s, const pd_actor *a, int64_t cid, const pd_user *who,
                            const char *object, const char *action, const char *diff, pd_err *e)
{
	pd_buf b = {0};
	user_label(&b, who);
	pd_buf_add(&b, diff);
	pd_status r = audit_add(s, a, cid, 0, object, action, b.s, e);
	pd_buf_free(&b);
	return r;
}

/* Console emails are unique within a customer (folded). */
static pd_status email_free(pd_store *s, int64_t cid, const char *email, int64_t except,
                            const char *field, pd_err *e)
{
	if (!email || !*email)
		return PD_OK;
	char *key = pd_fold_key(email);
	static const char sql[] =
	    "SELECT display_name FROM users WHERE customer_id = ? AND synced = 0"
	    " AND email_key = ? AND id <> ?";
	sqlite3_stmt *st = st_get(s, sql, e);
	if (!st) {
		free(key);
		return FAILED(e);
	}
	sqlite3_bind_int64(st, 1, cid);
	bind_text(st, 2, key);
	sqlite3_bind_int64(st, 3, except);
	free(key);
	int rc = sqlite3_step(st);
	pd_status r = PD_OK;
	if (rc == SQLITE_ROW)
		r = pd_fail(e, PD_E_INVALID, field,
		            _("email %.254s is already used by user \"%.100s\" of this customer"),
		            email, (const char *)sqlite3_column_text(st, 0));
	else if (rc != SQLITE_DONE)
		r = st_fail(s, rc, e, "check email");
	sqlite3_reset(st);
	return r;
}

/* The user part of a synced user's endpoint ("1001" of "1001@default"), NULL
 * when it has none. */
#define USER_PART                                                                                  \
	"(CASE WHEN instr(users.endpoint, '@') > 1"                                                \
	" THEN substr(users.endpoint, 1, instr(users.endpoint, '@') - 1) END)"

/* The console user a synced user belongs to: the one with its email, else
 * the only one whose extension is its endpoint, or its user part when no
 * other synced user has that user part (as store_sync_users links; the
 * range reads the partial index users_endpoint). */
#define LINK_OF_SYNCED                                                                             \
	"COALESCE((SELECT c.id FROM users c WHERE c.customer_id = users.customer_id"               \
	" AND c.synced = 0 AND c.email_key = users.email_key),"                                    \
	" (SELECT CASE WHEN count(*) = 1 THEN max(c.id) END FROM users c"                          \
	" WHERE c.customer_id = users.customer_id AND c.synced = 0"                                \
	" AND c.extension IN (users.endpoint, CASE WHEN NOT EXISTS (SELECT 1 FROM users o"         \
	" WHERE o.customer_id = users.customer_id AND o.synced = 1 AND o.id <> users.id"           \
	" AND o.endpoint >= " USER_PART " || '@' AND o.endpoint < " USER_PART " || 'A')"           \
	" THEN " USER_PART " END)))"

/* Synced users point at the console user with their email, else with their
 * extension. */
pd_status users_relink(pd_store *s, int64_t cid, pd_err *e)
{
	static const char sql[] =
	    "UPDATE users SET linked_user_id = " LINK_OF_SYNCED
	    " WHERE customer_id = ? AND synced = 1 AND linked_user_id IS NOT " LINK_OF_SYNCED;
	sqlite3_stmt *st = st_get(s, sql, e);
	if (!st)
		return FAILED(e);
	sqlite3_bind_int64(st, 1, cid);
	return st_exec(s, st, e);
}

/* An extension a synced user of the customer's PBX holds (its endpoint) is
 * that user's: a console user may not take it, unless that synced user is
 * linked to this very console user (the same person). `self` is the console
 * user's id, 0 for a new one. */
static pd_status extension_free(pd_store *s, int64_t cid, const char *ext, int64_t self, pd_err *e)
{
	if (!ext || !*ext)
		return PD_OK;
	static const char sql[] =
	    "SELECT id, display_name, sub_account FROM users WHERE customer_id = ? AND synced = 1"
	    " AND endpoint = ? AND (linked_user_id IS NULL OR linked_user_id <> ?)"
	    " ORDER BY id LIMIT 1";
	sqlite3_stmt *st = st_get(s, sql, e);
	if (!st)
		return FAILED(e);
	sqlite3_bind_int64(st, 1, cid);
	bind_text(st, 2, ext);
	sqlite3_bind_int64(st, 3, self);
	int rc = sqlite3_step(st);
	pd_status r = PD_OK;
	if (rc == SQLITE_ROW) {
		const char *sub = (const char *)sqlite3_column_text(st, 2);
		r = pd_fail(e, PD_E_INVALID, "extension",
		            _("extension %.32s is held by \"%.100s\" (user #%lld, synced from the "
		              "PBX%s%.64s): give another extension, or none"),
		            ext, (const char *)sqlite3_column_text(st, 1),
		            (long long)sqlite3_column_int64(st, 0),
		            sub && *sub ? _(", sub-account ") : "", sub ? sub : "");
	} else if (rc != SQLITE_DONE) {
		r = st_fail(s, rc, e, "check extension");
	}
	sqlite3_reset(st);
	return r;
}

pd_status user_insert(pd_store *s, const pd_customer *c, pd_user *u, bool primary,
                      bool new_customer, const char *email_field, const pd_actor *a,
                      int64_t *id_out, pd_err *e)
{
	/* The first user of a customer created in this transaction has no one
	 * to clash with; the unique index still stands behind the check. */
	pd_status r =
	    primary && new_customer ? PD_OK : email_free(s, c->id, u->email, 0, email_field, e);
	if (r != PD_OK)
		return r;
	if (primary)
		pd_set_str(&u->role, PD_ROLE_ADMIN);
	char *key = u->email ? pd_fold_key(u->email) : NULL;
	static const char sql[] =
	    "INSERT INTO users(customer_id, display_name, email, email_key, extension,"
	    " role, is_primary, synced, created_at) VALUES (?,?,?,?,?,?,?,0,?)";
	sqlite3_stmt *st = st_get(s, sql, e);
	if (!st) {
		free(key);
		return FAILED(e);
	}
	sqlite3_bind_int64(st, 1, c->id);
	bind_text(st, 2, u->display_name ? u->display_name : "");
	bind_opt(st, 3, u->email);
	bind_opt(st, 4, key);
	bind_opt(st, 5, u->extension);
	bind_opt(st, 6, u->role);
	sqlite3_bind_int(st, 7, primary);
	sqlite3_bind_int64(st, 8, pd_now());
	free(key);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		if (rc == SQLITE_CONSTRAINT_UNIQUE)
			return pd_fail(e, PD_E_INVALID, email_field,
			               _("email %.254s is already used"), u->email);
		if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
			return pd_fail(e, PD_E_INVALID, "role", _("unknown role '%.60s'"), u->role);
		return st_fail(s, rc, e, "insert user");
	}
	u->id = *id_out = sqlite3_last_insert_rowid(s->db);
	u->customer_id = c->id;
	u->primary = primary;
	pd_buf d = {0};
	diff_str(&d, "display_name", NULL, u->display_name);
	diff_str(&d, "email", NULL, u->email);
	diff_str(&d, "extension", NULL, u->extension);
	diff_str(&d, "role", NULL, u->role);
	if (primary)
		pd_buf_add(&d, "; primary");
	r = user_audit(s, a, c->id, u, "user", "create", d.s, e);
	pd_buf_free(&d);
	if (r == PD_OK && (u->email || u->extension) && !new_customer)
		r = users_relink(s, c->id, e);
	return r;
}

pd_status synced_user_insert(pd_store *s, int64_t cid, pd_user *u, const pd_actor *a, pd_err *e)
{
	/* linked by email afterwards, all at once (users_relink) */
	static const char sql[] =
	    "INSERT INTO users(customer_id, display_name, email, email_key, role, synced,"
	    " endpoint, sub_account, created_at) VALUES (?,?,?,?,?,1,?,?,?)";
	sqlite3_stmt *st = st_get(s, sql, e);
	if (!st)
		return FAILED(e);
	char *key = u->email ? pd_fold_key(u->email) : NULL;
	sqlite3_bind_int64(st, 1, cid);
	bind_text(st, 2, u->display_name ? u->display_name : "");
	bind_opt(st, 3, u->email);
	bind_opt(st, 4, key);
	bind_opt(st, 5, u->role);
	bind_text(st, 6, u->endpoint);
	bind_opt(st, 7, u->sub_account);
	sqlite3_bind_int64(st, 8, pd_now());
	free(key);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		if (rc == SQLITE_CONSTRAINT_UNIQUE)
			return pd_fail(e, PD_E_INVALID, "endpoint",
			               _("endpoint %.64s is listed twice"), u->endpoint);
		return st_fail(s, rc, e, "insert synced user");
	}
	u->id = sqlite3_last_insert_rowid(s->db);
	u->customer_id = cid;
	pd_buf d = {0};
	diff_str(&d, "role", NULL, u->role);
	pd_buf_add(&d, d.len ? "; found on the PBX before creation"
	                     : "found on the PBX before creation");
	pd_status r = user_audit(s, a, cid, u, "user", "create", d.s, e);
	pd_buf_free(&d);
	return r;
}

static void user_row(sqlite3_stmt *st, void *u, void *ctx)
{
	(void)ctx;
	user_from_row(st, u);
}

static void user_elem_free(void *u)
{
	pd_user_free(u);
}

pd_status store_user_list(pd_store *s, int64_t customer_id, pd_user **out, size_t *n, pd_err *e)
{
	E_GUARD(e);
	*out = NULL;
	*n = 0;
	/* Console users first (primary on top), then synced ones by endpoint. */
	static const char sql[] = "SELECT " USER_COLS " FROM users u WHERE u.customer_id = ?"
	                          " ORDER BY u.synced, u.is_primary DESC, u.endpoint, u.id";
	sqlite3_stmt *st = st_get(s, sql, e);
	if (!st)
		return FAILED(e);
	sqlite3_bind_int64(st, 1, customer_id);
	void *v;
	pd_status r = st_collect(s, st, sizeof **out, user_row, NULL, user_elem_free, &v, n,
	                         _("list users"), e);
	*out = v;
	return r;
}

pd_status store_user_get(pd_store *s, int64_t user_id, pd_user *out, pd_err *e)
{
	E_GUARD(e);
	return user_load(s, user_id, out, e);
}

static pd_status live_customer(pd_store *s, int64_t cid, pd_customer *c, pd_err *e)
{
	pd_status r = cust_load(s, cid, c, e);
	if (r == PD_OK && c->deleted_at) {
		r = pd_fail(e, PD_E_INVALID, "customer", _("customer \"%.100s\" is deleted"),
		            c->name);
		pd_customer_free(c);
	}
	return r;
}

typedef struct {
	int64_t cid;
	pd_user *u;
	const pd_actor *a;
	int64_t id;
} add_ctx;

static pd_status add_tx(pd_store *s, void *vx, pd_err *e)
{
	add_ctx *x = vx;
	pd_customer c;
	pd_status r = live_customer(s, x->cid, &c, e);
	if (r != PD_OK)
		return r;
	r = extension_free(s, c.id, x->u->extension, 0, e);
	if (r == PD_OK)
		r = user_insert(s, &c, x->u, false, false, "email", x->a, &x->id, e);
	if (r == PD_OK && x->u->email)
		r = outbox_queue(s, &c, x->u, x->id, x->a, NULL, e);
	pd_customer_free(&c);
	return r;
}

pd_status store_user_add(pd_store *s, int64_t customer_id, pd_user *u, const pd_actor *a,
                         pd_user *out, pd_err *e)
{
	E_GUARD(e);
	u->synced = false;
	u->primary = false;
	pd_status r = pd_user_check(s->cat, u, e);
	if (r != PD_OK)
		return r;
	add_ctx x = {customer_id, u, a, 0};
	if ((r = store_tx(s, add_tx, &x, e)) != PD_OK)
		return r;
	return out ? user_load(s, x.id, out, e) : PD_OK;
}

typedef struct {
	pd_user *u;
	const pd_actor *a;
} upd_ctx;

static pd_status user_conflict(const pd_user *cur, pd_err *e)
{
	return pd_fail(
	    e, PD_E_CONFLICT, NULL,
	    _("user \"%.100s\" was changed by someone else (version %lld); nothing was saved, "
	      "reload and try again"),
	    cur->display_name, (long long)cur->version);
}

static pd_status upd_tx(pd_store *s, void *vx, pd_err *e)
{
	upd_ctx *x = vx;
	pd_user cur;
	pd_status r = user_load(s, x->u->id, &cur, e);
	if (r != PD_OK)
		return r;
	pd_user *u = x->u;
	pd_buf d = {0};
	if (cur.version != u->version)
		r = user_conflict(&cur, e);
	else if (cur.synced)
		r = pd_fail(
		    e, PD_E_INVALID, "display_name",
		    _("user \"%.100s\" is synced from the PBX: change it there (only the role can "
		      "be set here)"),
		    cur.display_name);
	else if (cur.primary && (!u->role || strcmp(u->role, PD_ROLE_ADMIN)))
		r = pd_fail(e, PD_E_INVALID, "role",
		            _("the primary user keeps the Customer Administrator role"));
	if (r == PD_OK)
		r = email_free(s, cur.customer_id, u->email, cur.id, "email", e);
	if (r == PD_OK &&
	    strcmp(cur.extension ? cur.extension : "", u->extension ? u->extension : ""))
		r = extension_free(s, cur.customer_id, u->extension, cur.id, e);
	if (r == PD_OK) {
		diff_str(&d, "display_name", cur.display_name, u->display_name);
		diff_str(&d, "email", cur.email, u->email);
		diff_str(&d, "extension", cur.extension, u->extension);
		diff_str(&d, "role", cur.role, u->role);
	}
	if (r == PD_OK && d.len) {
		char *key = u->email ? pd_fold_key(u->email) : NULL;
		static const char sql[] =
		    "UPDATE users SET display_name=?, email=?, email_key=?, extension=?,"
		    " role=?, version=version+1 WHERE id=? AND version=?";
		sqlite3_stmt *st = st_get(s, sql, e);
		if (!st)
			r = FAILED(e);
		else {
			bind_text(st, 1, u->display_name ? u->display_name : "");
			bind_opt(st, 2, u->email);
			bind_opt(st, 3, key);
			bind_opt(st, 4, u->extension);
			bind_opt(st, 5, u->role);
			sqlite3_bind_int64(st, 6, cur.id);
			sqlite3_bind_int64(st, 7, cur.version);
			r = st_exec(s, st, e);
		}
		free(key);
		if (r == PD_OK)
			r = user_audit(s, x->a, cur.customer_id, &cur, "user", "update", d.s, e);
		if (r == PD_OK)
			r = users_relink(s, cur.customer_id, e);
		if (r == PD_OK && u->email) {
			/* The mail is rendered at send time from the user as they are
			 * then; this keeps the outbox list's address right meanwhile. */
			static const char to[] =
			    "UPDATE outbox SET to_addr = ? WHERE user_id = ? AND state = 1";
			sqlite3_stmt *ts = st_get(s, to, e);
			if (!ts)
				r = FAILED(e);
			else {
				bind_text(ts, 1, u->email);
				sqlite3_bind_int64(ts, 2, cur.id);
				r = st_exec(s, ts, e);
			}
		}
	}
	pd_buf_free(&d);
	pd_user_free(&cur);
	return r;
}

pd_status store_user_update(pd_store *s, const pd_user *u, const pd_actor *a, pd_err *e)
{
	E_GUARD(e);
	pd_user c = *u;
	c.display_name = xstrdup(u->display_name);
	c.email = xstrdup(u->email);
	c.extension = xstrdup(u->extension);
	c.role = xstrdup(u->role);
	c.endpoint = c.sub_account = c.device_state = NULL;
	c.synced = false;
	pd_status r = pd_user_check(s->cat, &c, e);
	if (r == PD_OK) {
		upd_ctx x = {&c, a};
		r = store_tx(s, upd_tx, &x, e);
	}
	pd_user_free(&c);
	return r;
}

typedef struct {
	int64_t id;
	const char *role;
	const pd_actor *a;
} role_ctx;

static pd_status remove_tx(pd_store *s, void *vx, pd_err *e)
{
	role_ctx *x = vx;
	pd_user cur;
	pd_status r = user_load(s, x->id, &cur, e);
	if (r != PD_OK)
		return r;
	if (cur.primary)
		r = pd_fail(e, PD_E_INVALID, "user",
		            _("\"%.100s\" is the primary user (Customer Administrator) and cannot "
		              "be removed"),
		            cur.display_name);
	else if (cur.synced)
		r = pd_fail(e, PD_E_INVALID, "user",
		            _("\"%.100s\" is synced from the PBX; remove it on the PBX"),
		            cur.display_name);
	if (r == PD_OK) {
		/* an invitation still waiting (or failed, so retry --all would send
		 * it) must not reach someone who no longer has an account: it is
		 * kept (history) but cancelled, never sent nor retried */
		static const char cancel[] =
		    "UPDATE outbox SET state = ?, last_error = 'user removed before it was sent'"
		    " WHERE user_id = ? AND state IN (?, ?)";
		sqlite3_stmt *st = st_get(s, cancel, e);
		if (!st)
			r = FAILED(e);
		else {
			sqlite3_bind_int(st, 1, PD_INVITE_CANCELLED);
			sqlite3_bind_int64(st, 2, cur.id);
			sqlite3_bind_int(st, 3, PD_INVITE_QUEUED);
			sqlite3_bind_int(st, 4, PD_INVITE_FAILED);
			r = st_exec(s, st, e);
		}
	}
	if (r == PD_OK) {
		static const char sql[] = "DELETE FROM users WHERE id = ?";
		sqlite3_stmt *st = st_get(s, sql, e);
		if (!st)
			r = FAILED(e);
		else {
			sqlite3_bind_int64(st, 1, cur.id);
			r = st_exec(s, st, e);
		}
	}
	if (r == PD_OK)
		r = user_audit(s, x->a, cur.customer_id, &cur, "user", "delete", "removed", e);
	pd_user_free(&cur);
	return r;
}

pd_status store_user_remove(pd_store *s, int64_t user_id, const pd_actor *a, pd_err *e)
{
	E_GUARD(e);
	role_ctx x = {user_id, NULL, a};
	return store_tx(s, remove_tx, &x, e);
}

static pd_status role_tx(pd_store *s, void *vx, pd_err *e)
{
	role_ctx *x = vx;
	pd_user cur;
	pd_status r = user_load(s, x->id, &cur, e);
	if (r != PD_OK)
		return r;
	if (cur.primary && (!x->role || strcmp(x->role, PD_ROLE_ADMIN)))
		r = pd_fail(
		    e, PD_E_INVALID, "role",
		    _("\"%.100s\" is the primary user and keeps the Customer Administrator role"),
		    cur.display_name);
	pd_buf d = {0};
	if (r == PD_OK)
		diff_str(&d, "role", cur.role, x->role);
	if (r == PD_OK && d.len) {
		static const char sql[] =
		    "UPDATE users SET role = ?, version = version + 1 WHERE id = ?";
		sqlite3_stmt *st = st_get(s, sql, e);
		if (!st)
			r = FAILED(e);
		else {
			bind_opt(st, 1, x->role);
			sqlite3_bind_int64(st, 2, cur.id);
			r = st_exec(s, st, e);
		}
		if (r == PD_OK)
			r = user_audit(s, x->a, cur.customer_id, &cur, "role", "assign", d.s, e);
	}
	pd_buf_free(&d);
	pd_user_free(&cur);
	return r;
}

pd_status store_role_assign(pd_store *s, int64_t user_id, const char *role, const pd_actor *a,
                            pd_err *e)
{
	E_GUARD(e);
	if (role && !*role)
		role = NULL;
	if (role && !pd_catalogue_role(s->cat, role)) {
		pd_buf b = {0};
		for (size_t i = 0; i < s->cat->n_roles; i++)
			pd_buf_printf(&b, "%s%s", i ? ", " : "", s->cat->roles[i].key);
		pd_fail(e, PD_E_INVALID, "role", _("unknown role '%.60s' (known: %s)"), role,
		        b.s ? b.s : "none");
		pd_buf_free(&b);
		return PD_E_INVALID;
	}
	role_ctx x = {user_id, role, a};
	return store_tx(s, role_tx, &x, e);
}

/* The customer's PBX connection as a user names it in PBX:EXT: its host
 * (as 'pbx show' prints it); *host NULL when it has none. */
static pd_status pbx_host(pd_store *s, int64_t cid, char **host, char **tmpl, pd_err *e)
{
	*host = *tmpl = NULL;
	static const char sql[] = "SELECT host, template_name FROM pbx WHERE customer_id = ?";
	sqlite3_stmt *st = st_get(s, sql, e);
	if (!st)
		return FAILED(e);
	sqlite3_bind_int64(st, 1, cid);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*host = col_str(st, 0);
		*tmpl = col_str(st, 1);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? PD_OK : st_fail(s, rc, e, "read PBX");
}

/* Several users answer to `key`: refuse, listing each with a form that
 * names only it. */
static pd_status ambiguous(pd_store *s, int64_t cid, const char *key, const pd_user *c, size_t n,
                           pd_err *e)
{
	char *host, *tmpl;
	pd_status r = pbx_host(s, cid, &host, &tmpl, e);
	if (r != PD_OK)
		return r;
	pd_buf b = {0};
	for (size_t i = 0; i < n; i++) {
		const pd_user *u = &c[i];
		pd_buf_printf(&b, "%s\"%.60s\" (", i ? "; " : "",
		              u->display_name ? u->display_name : "");
		if (!u->synced) {
			pd_buf_add(&b, _("console user: "));
			if (u->email)
				pd_buf_printf(&b, "%.100s or ", u->email);
		} else {
			pd_buf_add(&b, _("synced from the PBX: "));
			if (u->sub_account && *u->sub_account)
				pd_buf_printf(&b, "%.60s/%.32s, ", u->sub_account, u->endpoint);
			pd_buf_printf(&b, "%.60s:%.32s or ", host && *host ? host : "pbx",
			              u->endpoint);
		}
		pd_buf_printf(&b, "#%lld)", (long long)u->id);
	}
	r = pd_fail(e, PD_E_USAGE, "user",
	            _("'%.40s' names several users of this customer; say which one: %.400s"), key,
	            b.s ? b.s : "");
	pd_buf_free(&b);
	free(host);
	free(tmpl);
	return r;
}

/* SUBACCOUNT/EXT: the synced user with that endpoint in that sub-account;
 * PBX:EXT: the synced user with that endpoint on the customer's PBX, named
 * by its host, its template's name or the word "pbx". */
static pd_status find_qualified(pd_store *s, int64_t cid, const char *key, pd_user *out, pd_err *e)
{
	const char *slash = strrchr(key, '/'), *colon = strrchr(key, ':');
	const char *sep = slash ? slash : colon;
	if (!sep || sep == key || !sep[1])
		return pd_fail(e, PD_E_NOTFOUND, "user", _("no user '%.100s' in this customer"),
		               key);
	char *scope = xstrndup(key, (size_t)(sep - key));
	const char *ext = sep + 1;
	pd_status r = PD_OK;
	if (!slash) {
		char *host, *tmpl;
		r = pbx_host(s, cid, &host, &tmpl, e);
		if (r == PD_OK && strcasecmp(scope, "pbx") != 0 &&
		    !(host && !strcasecmp(scope, host)) && !(tmpl && !strcmp(scope, tmpl)))
			r = pd_fail(e, PD_E_NOTFOUND, "user",
			            host ? _("no PBX '%.60s' for this customer (its PBX is %.60s)")
			                 : _("no PBX '%.60s' for this customer%.0s"),
			            scope, host ? host : "");
		free(host);
		free(tmpl);
	}
	if (r == PD_OK) {
		static const char by_sub[] =
		    "SELECT " USER_COLS " FROM users u WHERE u.customer_id = ?1 AND u.synced = 1"
		    " AND u.endpoint = ?2 AND u.sub_account = ?3";
		static const char by_pbx[] =
		    "SELECT " USER_COLS " FROM users u WHERE"
		    " u.customer_id = ?1 AND u.synced = 1 AND u.endpoint = ?2";
		sqlite3_stmt *st = st_get(s, slash ? by_sub : by_pbx, e);
		if (!st) {
			r = FAILED(e);
		} else {
			sqlite3_bind_int64(st, 1, cid);
			bind_text(st, 2, ext);
			if (slash)
				bind_text(st, 3, scope);
			int rc = sqlite3_step(st);
			if (rc == SQLITE_ROW)
				user_from_row(st, out);
			sqlite3_reset(st);
			r = rc == SQLITE_ROW ? PD_OK
			    : rc != SQLITE_DONE
			        ? st_fail(s, rc, e, "find user")
			        : pd_fail(e, PD_E_NOTFOUND, "user",
			                  slash ? _("no synced user %.32s in sub-account '%.60s'")
			                        : _("no synced user %.32s on the PBX%.0s"),
			                  ext, scope);
		}
	}
	free(scope);
	return r;
}

pd_status store_user_find(pd_store *s, int64_t customer_id, const char *key, pd_user *out,
                          pd_err *e)
{
	E_GUARD(e);
	if (!key || !*key)
		return pd_fail(e, PD_E_USAGE, "user", _("no user given"));
	if (key[0] == '#') {
		char *end;
		long long id = strtoll(key + 1, &end, 10);
		if (*end || id <= 0)
			return pd_fail(e, PD_E_USAGE, "user", _("'%.80s' is not a user number"),
			               key);
		pd_status r = user_load(s, id, out, e);
		if (r == PD_OK && out->customer_id != customer_id) {
			pd_user_free(out);
			return pd_fail(e, PD_E_NOTFOUND, "user",
			               _("user #%lld belongs to another customer"), id);
		}
		return r;
	}
	/* Every user the key may mean: console users by email or extension,
	 * synced users by endpoint (and email). */
	static const char sql[] = "SELECT " USER_COLS " FROM users u WHERE u.customer_id = ?1 AND"
	                          " (u.email_key = ?2 OR u.endpoint = ?3 OR u.extension = ?3)"
	                          " ORDER BY u.synced, u.id";
	sqlite3_stmt *st = st_get(s, sql, e);
	if (!st)
		return FAILED(e);
	char *k = pd_fold_key(key);
	sqlite3_bind_int64(st, 1, customer_id);
	bind_text(st, 2, k);
	bind_text(st, 3, key);
	void *v = NULL;
	size_t n = 0;
	pd_status r = st_collect(s, st, sizeof(pd_user), user_row, NULL, user_elem_free, &v, &n,
	                         _("find user"), e);
	pd_user *c = v;
	if (r != PD_OK) {
		free(k);
		return r;
	}
	/* An email names one console user (unique); a synced user with the
	 * same email is linked to it: the console user is meant. */
	size_t pick = n;
	for (size_t i = 0; i < n && pick == n; i++) {
		if (c[i].synced || !c[i].email)
			continue;
		char *ek = pd_fold_key(c[i].email);
		if (ek && k && !strcmp(ek, k))
			pick = i;
		free(ek);
	}
	free(k);
	if (pick == n) {
		/* A synced user linked to a console user that also matches is the
		 * same person: the console user is meant. */
		size_t distinct = 0, last = n;
		for (size_t i = 0; i < n; i++) {
			bool same_person = false;
			for (size_t j = 0; j < n && c[i].synced; j++)
				same_person |= !c[j].synced && c[i].linked_user_id == c[j].id;
			if (!same_person) {
				distinct++;
				last = i;
			}
		}
		if (distinct == 1)
			pick = last;
		else if (distinct > 1)
			r = ambiguous(s, customer_id, key, c, n, e);
	}
	if (r == PD_OK && pick < n) {
		*out = c[pick];
		memset(&c[pick], 0, sizeof c[pick]);
	}
	for (size_t i = 0; i < n; i++)
		pd_user_free(&c[i]);
	free(c);
	if (r != PD_OK || pick < n)
		return r;
	/* The qualified forms: SUBACCOUNT/EXT and PBX:EXT. */
	return find_qualified(s, customer_id, key, out, e);
}

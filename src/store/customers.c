/* Customers: creation (one transaction with users, PBX, audit and outbox),
 * optimistic updates, soft delete / restore, disabling and trial actions.
 * The rules themselves live in core; here only what needs the database:
 * uniqueness, the internal-system limit, versions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "provdesk/i18n.h"
#include "store_internal.h"

static void add_folded(pd_buf *b, const char *s)
{
	if (b->len)
		pd_buf_addc(b, '\x1f'); /* a filter never matches across two fields */
	if (!s || !*s)
		return;
	char *k = pd_fold_key(s);
	pd_buf_add(b, k ? k : s);
	free(k);
}

char *cust_search_text(const pd_customer *c)
{
	pd_buf b = {0};
	add_folded(&b, c->name);
	add_folded(&b, c->reference);
	add_folded(&b, c->tenant_id);
	add_folded(&b, c->notes);
	return pd_buf_steal(&b);
}

/* Order-preserving, today-independent key for the status column: class
 * (active 0, trial 1, disabled 3, deleted 4) then, within trials, the end
 * date descending, so running trials come before expired ones whatever the
 * day. Mirrors the precedence of pd_customer_status_of. */
int64_t cust_status_key(const pd_customer *c)
{
	const int64_t span = (int64_t)1 << 32;
	if (c->deleted_at)
		return 4 * span;
	if (c->disabled)
		return 3 * span;
	if (c->trial && !c->trial_converted)
		return 1 * span + (span / 2 - 1 - (int64_t)c->trial_end);
	return 0;
}

pd_status cust_check_internal_limit(pd_store *s, int64_t except_id, pd_err *e)
{
	static const char sql[] = "SELECT count(*) FROM customers WHERE internal_system = 1"
	                          " AND deleted_at = 0 AND id <> ?";
	sqlite3_stmt *st = st_get(s, sql, e);
	if (!st)
		return FAILED(e);
	sqlite3_bind_int64(st, 1, except_id);
	int rc = sqlite3_step(st);
	int64_t n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return st_fail(s, rc, e, "count internal systems");
	if (n >= s->internal_limit)
		return pd_fail(
		    e, PD_E_INVALID, "internal_system",
		    _("only %d internal system%s allowed (internal_systems_limit); %lld already "
		      "exist%s"),
		    s->internal_limit, s->internal_limit == 1 ? " is" : "s are", (long long)n,
		    n == 1 ? "s" : "");
	return PD_OK;
}

/* Name taken by a live customer other than except_id: the one rule, with
 * the one message naming who has it. */
pd_status store_customer_name_free(pd_store *s, const char *name, int64_t except_id, pd_err *e)
{
	E_GUARD(e);
	char *key = pd_fold_key(name ? name : "");
	if (!key)
		return pd_fail(e, PD_E_INVALID, "name", _("name is not valid UTF-8"));
	static const char sql[] = "SELECT name, tenant_id FROM customers WHERE name_key = ?"
	                          " AND deleted_at = 0 AND id <> ?";
	sqlite3_stmt *st = st_get(s, sql, e);
	if (!st) {
		free(key);
		return FAILED(e);
	}
	bind_text(st, 1, key);
	sqlite3_bind_int64(st, 2, except_id);
	free(key);
	int rc = sqlite3_step(st);
	pd_status r = PD_OK;
	if (rc == SQLITE_ROW)
		r = pd_fail(
		    e, PD_E_INVALID, "name",
		    _("\"%.100s\" already exists (tenant %s); customer names must be unique "
		      "ignoring case and accents"),
		    (const char *)sqlite3_column_text(st, 0),
		    (const char *)sqlite3_column_text(st, 1));
	else if (rc != SQLITE_DONE)
		r = st_fail(s, rc, e, "check name");
	sqlite3_reset(st);
	return r;
}

static void customer_diff(pd_buf *b, const pd_customer *o, const pd_customer *n)
{
	diff_str(b, "name", o->name, n->name);
	diff_str(b, "product_type", o->product_type, n->product_type);
	diff_str(b, "reference", o->reference, n->reference);
	diff_str(b, "country", o->country, n->country);
	diff_str(b, "time_zone", o->time_zone, n->time_zone);
	diff_str(b, "locale", o->locale, n->locale);
	diff_str(b, "notes", o->notes, n->notes);
	diff_bool(b, "trial", o->trial, n->trial);
	diff_day(b, "trial_start", o->trial, o->trial_start, n->trial, n->trial_start);
	diff_day(b, "trial_end", o->trial, o->trial_end, n->trial, n->trial_end);
	diff_bool(b, "trial_converted", o->trial_converted, n->trial_converted);
	diff_bool(b, "internal_system", o->internal_system, n->internal_system);
	diff_bool(b, "disabled", o->disabled, n->disabled);
	diff_bool(b, "deleted", o->deleted_at != 0, n->deleted_at != 0);
}

/* Write n over o (same id) with version + 1 and an audit row. Nothing is
 * written when nothing changed. */
static pd_status cust_write(pd_store *s, const pd_customer *o, pd_customer *n, const char *action,
                            const pd_actor *a, pd_err *e)
{
	pd_buf d = {0};
	customer_diff(&d, o, n);
	if (!d.len)
		return PD_OK;
	char *key = pd_fold_key(n->name);
	char *search = cust_search_text(n);
	static const char sql[] =
	    "UPDATE customers SET name=?, name_key=?, product_type=?, reference=?, country=?,"
	    " time_zone=?, notes=?, trial=?, trial_start=?, trial_end=?, trial_converted=?,"
	    " internal_system=?, disabled=?, deleted_at=?, updated_at=?, version=version+1,"
	    " search=?, status_key=?, locale=? WHERE id=? AND version=?";
	sqlite3_stmt *st = st_get(s, sql, e);
	pd_status r = st ? PD_OK : FAILED(e);
	if (st) {
		bind_text(st, 1, n->name);
		bind_text(st, 2, key);
		bind_text(st, 3, n->product_type);
		bind_text(st, 4, n->reference ? n->reference : "");
		bind_text(st, 5, n->country);
		bind_text(st, 6, n->time_zone);
		bind_text(st, 7, n->notes ? n->notes : "");
		sqlite3_bind_int(st, 8, n->trial);
		if (n->trial) {
			sqlite3_bind_int(st, 9, n->trial_start);
			sqlite3_bind_int(st, 10, n->trial_end);
		}
		sqlite3_bind_int(st, 11, n->trial_converted);
		sqlite3_bind_int(st, 12, n->internal_system);
		sqlite3_bind_int(st, 13, n->disabled);
		sqlite3_bind_int64(st, 14, n->deleted_at);
		sqlite3_bind_int64(st, 15, pd_now());
		bind_text(st, 16, search);
		sqlite3_bind_int64(st, 17, cust_status_key(n));
		bind_text(st, 18, n->locale && *n->locale ? n->locale : o->locale);
		sqlite3_bind_int64(st, 19, o->id);
		sqlite3_bind_int64(st, 20, o->version);
		int rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE) {
			if (rc == SQLITE_CONSTRAINT_UNIQUE) {
				r = store_customer_name_free(s, n->name, o->id, e);
				if (r == PD_OK)
					r = pd_fail(e, PD_E_INVALID, "name",
					            _("a customer named \"%.100s\" already exists"),
					            n->name);
			} else
				r = st_fail(s, rc, e, "update customer");
		} else if (sqlite3_changes(s->db) != 1) {
			r = pd_fail(e, PD_E_CONFLICT, NULL,
			            _("customer #%lld changed while saving; retry"),
			            (long long)o->id);
		}
	}
	if (r == PD_OK)
		r = audit_add(s, a, o->id, o->version + 1, "customer", action, d.s, e);
	if (r == PD_OK &&
	    (o->deleted_at != n->deleted_at || o->disabled != n->disabled ||
	     o->trial_end != n->trial_end || o->trial_converted != n->trial_converted)) {
		static const char gen[] =
		    "UPDATE meta SET value = value + 1 WHERE key = 'pbx_generation'"
		    " AND EXISTS (SELECT 1 FROM pbx WHERE customer_id = ?)";
		sqlite3_stmt *g = st_get(s, gen, e);
		if (!g)
			r = FAILED(e);
		else {
			sqlite3_bind_int64(g, 1, o->id);
			r = st_exec(s, g, e);
		}
	}
	free(key);
	free(search);
	pd_buf_free(&d);
	if (r == PD_OK)
		n->version = o->version + 1;
	return r;
}

/* The conflict message: what the other person(s) changed since `since`,
 * from the audit rows (who, when, old → new). */
static pd_status conflict(pd_store *s, const pd_customer *mine, const pd_customer *cur,
                          pd_customer *current, pd_err *e)
{
	static const char sql[] = "SELECT actor, at, detail FROM audit WHERE customer_id = ?"
	                          " AND object = 'customer' AND customer_version > ? ORDER BY id";
	pd_buf b = {0};
	sqlite3_stmt *st = st_get(s, sql, e);
	if (st) {
		sqlite3_bind_int64(st, 1, cur->id);
		sqlite3_bind_int64(st, 2, mine->version);
		while (sqlite3_step(st) == SQLITE_ROW) {
			time_t at = (time_t)sqlite3_column_int64(st, 1);
			struct tm tm;
			char hm[8];
			localtime_r(&at, &tm);
			strftime(hm, sizeof hm, "%H:%M", &tm);
			pd_buf_printf(&b, _("%schanged by %s at %s: %s"), b.len ? "; then " : "",
			              (const char *)sqlite3_column_text(st, 0), hm,
			              (const char *)sqlite3_column_text(st, 2));
		}
		sqlite3_reset(st);
	}
	if (!b.len) {
		pd_buf d = {0};
		customer_diff(&d, mine, cur);
		pd_buf_printf(&b, _("changed by someone else (version %lld, yours %lld): %s"),
		              (long long)cur->version, (long long)mine->version,
		              d.len ? d.s : _("(no field)"));
		pd_buf_free(&d);
	}
	pd_fail(e, PD_E_CONFLICT, NULL, _("%s. Nothing was saved; review and save again."), b.s);
	pd_buf_free(&b);
	if (current) {
		pd_customer_free(current);
		pd_customer_copy(current, cur);
	}
	return PD_E_CONFLICT;
}

/* ---- create ---- */

typedef struct {
	pd_new_customer *n;
	const pd_actor *a;
	const char *tenant;
	int64_t id;
} create_ctx;

static void customer_created_detail(pd_buf *b, const pd_customer *c)
{
	pd_customer empty = {0};
	empty.country[0] = 0;
	customer_diff(b, &empty, c);
	pd_buf_printf(b, "; tenant_id: %s", c->tenant_id);
}

static pd_status create_tx(pd_store *s, void *vx, pd_err *e)
{
	create_ctx *x = vx;
	pd_customer *c = &x->n->customer;
	pd_status r;
	snprintf(c->tenant_id, sizeof c->tenant_id, "%s", x->tenant);
	int64_t now = pd_now();
	c->created_at = c->updated_at = now;
	c->version = 1;
	c->deleted_at = 0;
	c->disabled = false;
	char *key = pd_fold_key(c->name);
	if (!key)
		return pd_fail(e, PD_E_INVALID, "name", _("name is not valid UTF-8"));
	char *search = cust_search_text(c);
	static const char sql[] =
	    "INSERT INTO customers(tenant_id, name, name_key, product_type, reference, country,"
	    " time_zone, notes, trial, trial_start, trial_end, trial_converted, internal_system,"
	    " disabled, deleted_at, created_at, updated_at, version, search, status_key, locale)"
	    " VALUES (?,?,?,?,?,?,?,?,?,?,?,0,?,0,0,?,?,1,?,?,coalesce(?,pd_default_locale(?)))";
	sqlite3_stmt *st = st_get(s, sql, e);
	if (!st) {
		free(key);
		free(search);
		return FAILED(e);
	}
	bind_text(st, 1, c->tenant_id);
	bind_text(st, 2, c->name);
	bind_text(st, 3, key);
	bind_text(st, 4, c->product_type);
	bind_text(st, 5, c->reference ? c->reference : "");
	bind_text(st, 6, c->country);
	bind_text(st, 7, c->time_zone);
	bind_text(st, 8, c->notes ? c->notes : "");
	sqlite3_bind_int(st, 9, c->trial);
	if (c->trial) {
		sqlite3_bind_int(st, 10, c->trial_start);
		sqlite3_bind_int(st, 11, c->trial_end);
	}
	sqlite3_bind_int(st, 12, c->internal_system);
	sqlite3_bind_int64(st, 13, now);
	sqlite3_bind_int64(st, 14, now);
	bind_text(st, 15, search);
	sqlite3_bind_int64(st, 16, cust_status_key(c));
	/* a caller that skipped pd_customer_check gets the country's default */
	if (c->locale && *c->locale)
		bind_text(st, 17, c->locale);
	else
		sqlite3_bind_null(st, 17);
	bind_text(st, 18, c->country);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	free(key);
	free(search);
	if (rc != SQLITE_DONE) {
		/* The unique index is the rule; only a refusal pays for the
		 * query that names who has the name. */
		if (rc == SQLITE_CONSTRAINT_UNIQUE) {
			if ((r = store_customer_name_free(s, c->name, 0, e)) != PD_OK)
				return r;
			return pd_fail(e, PD_E_INVALID, "name",
			               _("a customer named \"%.100s\" already exists"), c->name);
		}
		return st_fail(s, rc, e, "insert customer");
	}
	x->id = c->id = sqlite3_last_insert_rowid(s->db);
	if (c->internal_system && (r = cust_check_internal_limit(s, c->id, e)) != PD_OK)
		return r;
	pd_buf d = {0};
	customer_created_detail(&d, c);
	r = audit_add(s, x->a, c->id, 1, "customer", "create", d.s, e);
	pd_buf_free(&d);
	if (r != PD_OK)
		return r;

	int64_t uid;
	if ((r = user_insert(s, c, &x->n->admin, true, true, "admin_email", x->a, &uid, e)) !=
	    PD_OK)
		return r;
	if ((r = outbox_queue_new_user(s, c, &x->n->admin, uid, x->a, e)) != PD_OK)
		return r;
	for (size_t i = 0; i < x->n->n_users; i++) {
		char field[48];
		snprintf(field, sizeof field, "users[%zu].email", i);
		pd_user *u = &x->n->users[i];
		if ((r = user_insert(s, c, u, false, true, field, x->a, &uid, e)) != PD_OK)
			return r;
		if (u->email && *u->email &&
		    (r = outbox_queue_new_user(s, c, u, uid, x->a, e)) != PD_OK)
			return r;
	}
	for (size_t i = 0; i < x->n->n_synced; i++)
		if ((r = synced_user_insert(s, c->id, &x->n->synced[i], x->a, e)) != PD_OK)
			return r;
	if (x->n->n_synced && (r = users_relink(s, c->id, e)) != PD_OK)
		return r;
	if (x->n->pbx && (r = pbx_insert(s, c->id, x->n->pbx, x->a, e)) != PD_OK)
		return r;
	return PD_OK;
}

static pd_status create_checked(pd_store *s, pd_new_customer *n, const pd_actor *a,
                                pd_customer *out, pd_err *e)
{
	pd_status r;
	char tenant[37];
	pd_uuid_v4(tenant);
	create_ctx x = {n, a, tenant, 0};
	if ((r = store_tx(s, create_tx, &x, e)) != PD_OK) {
		n->customer.id = 0;
		n->customer.tenant_id[0] = 0;
		return r;
	}
	if (out)
		return cust_load(s, x.id, out, e);
	return PD_OK;
}

pd_status store_customer_create(pd_store *s, pd_new_customer *n, const pd_actor *a,
                                pd_customer *out, pd_err *e)
{
	E_GUARD(e);
	const pd_geo *g = store_geo(e);
	if (!g)
		return FAILED(e);
	pd_status r = pd_new_customer_check(s->cat, g, n, pd_today(), e);
	if (r != PD_OK)
		return r;
	return create_checked(s, n, a, out, e);
}

pd_status store_customer_create_checked(pd_store *s, pd_new_customer *n, const pd_actor *a,
                                        pd_customer *out, pd_err *e)
{
	E_GUARD(e);
	return create_checked(s, n, a, out, e);
}

/* ---- find / get ---- */

pd_status store_customer_get(pd_store *s, int64_t id, pd_customer *out, pd_err *e)
{
	E_GUARD(e);
	return cust_load(s, id, out, e);
}

static bool looks_like_uuid(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !strchr("0123456789abcdefABCDEF", s[i]))
			return false;
	}
	return true;
}

pd_status store_customer_find(pd_store *s, const char *id_or_name, pd_customer *out, pd_err *e)
{
	E_GUARD(e);
	if (!id_or_name || !*id_or_name)
		return pd_fail(e, PD_E_USAGE, "customer", _("no customer given"));
	if (id_or_name[0] == '#') {
		char *end;
		long long id = strtoll(id_or_name + 1, &end, 10);
		if (*end || id <= 0)
			return pd_fail(e, PD_E_USAGE, "customer",
			               _("'%.80s' is not a customer number"), id_or_name);
		return cust_load(s, id, out, e);
	}
	static const char by_tenant[] = "SELECT id FROM customers WHERE tenant_id = lower(?)";
	/* A live customer first, then the most recently deleted one. */
	static const char by_name[] = "SELECT id FROM customers WHERE name_key = ?"
	                              " ORDER BY deleted_at <> 0, deleted_at DESC LIMIT 1";
	bool uuid = looks_like_uuid(id_or_name);
	char *key = uuid ? NULL : pd_fold_key(id_or_name);
	char *trimmed = NULL;
	if (key) {
		trimmed = pd_trim(id_or_name);
		free(key);
		key = pd_fold_key(trimmed);
	}
	sqlite3_stmt *st = st_get(s, uuid ? by_tenant : by_name, e);
	if (!st) {
		free(key);
		free(trimmed);
		return FAILED(e);
	}
	bind_text(st, 1, uuid ? id_or_name : key);
	int rc = sqlite3_step(st);
	int64_t id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	free(key);
	free(trimmed);
	if (rc == SQLITE_ROW)
		return cust_load(s, id, out, e);
	if (rc != SQLITE_DONE)
		return st_fail(s, rc, e, "find customer");
	return pd_fail(e, PD_E_NOTFOUND, "customer", _("no customer with %s '%.100s'"),
	               uuid ? _("tenant id") : "name", id_or_name);
}

pd_status store_customer_find_reference(pd_store *s, const char *reference, pd_customer *out,
                                        pd_err *e)
{
	E_GUARD(e);
	char *ref = pd_trim(reference ? reference : "");
	if (!*ref) {
		free(ref);
		return pd_fail(e, PD_E_USAGE, "customer", _("no reference given"));
	}
	/* The exact spelling through the index, else ignoring ASCII case (a
	 * scan, only when the exact one finds nothing). Live customers first,
	 * then the most recently deleted. */
	static const char *const sqls[] = {
	    "SELECT id, deleted_at FROM customers WHERE reference = ?"
	    " ORDER BY deleted_at <> 0, deleted_at DESC, id LIMIT 2",
	    "SELECT id, deleted_at FROM customers WHERE reference = ? COLLATE NOCASE"
	    " ORDER BY deleted_at <> 0, deleted_at DESC, id LIMIT 2",
	};
	int64_t ids[2] = {0, 0};
	bool live[2] = {false, false};
	int n = 0;
	for (size_t q = 0; q < 2 && n == 0; q++) {
		sqlite3_stmt *st = st_get(s, sqls[q], e);
		if (!st) {
			free(ref);
			return FAILED(e);
		}
		bind_text(st, 1, ref);
		int rc;
		while (n < 2 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			ids[n] = sqlite3_column_int64(st, 0);
			live[n] = sqlite3_column_int64(st, 1) == 0;
			n++;
		}
		if (n < 2 && rc != SQLITE_DONE) {
			sqlite3_reset(st);
			free(ref);
			return st_fail(s, rc, e, "find customer by reference");
		}
		sqlite3_reset(st);
	}
	pd_status r;
	if (n == 0)
		r = pd_fail(e, PD_E_NOTFOUND, "customer", _("no customer with reference '%.100s'"),
		            ref);
	else if (n == 2 && live[0] && live[1])
		r = pd_fail(e, PD_E_USAGE, "customer",
		            _("reference '%.100s' is used by several customers; give the name or "
		              "the tenant id"),
		            ref);
	else
		r = cust_load(s, ids[0], out, e);
	free(ref);
	return r;
}

/* ---- update ---- */

typedef struct {
	const pd_customer *mine; /* checked copy of the caller's record */
	const pd_actor *a;
	pd_customer *current;
	char *impact;
} update_ctx;

static pd_status update_tx(pd_store *s, void *vx, pd_err *e)
{
	update_ctx *x = vx;
	pd_customer cur;
	pd_status r = cust_load(s, x->mine->id, &cur, e);
	if (r != PD_OK)
		return r;
	pd_customer n;
	pd_customer_copy(&n, x->mine);
	/* Fields the edit cannot touch. */
	memcpy(n.tenant_id, cur.tenant_id, sizeof n.tenant_id);
	n.deleted_at = cur.deleted_at;
	n.created_at = cur.created_at;
	if (cur.deleted_at)
		r = pd_fail(e, PD_E_INVALID, NULL,
		            _("customer \"%.100s\" is deleted; restore it first"), cur.name);
	else if (cur.version != x->mine->version)
		r = conflict(s, x->mine, &cur, x->current, e);
	else if (strcmp(cur.product_type, n.product_type) != 0) {
		free(x->impact);
		x->impact = NULL;
		r = pd_check_product_change(s->cat, cur.product_type, n.product_type, &x->impact,
		                            e);
	}
	if (r == PD_OK && strcmp(cur.name, n.name) != 0)
		r = store_customer_name_free(s, n.name, cur.id, e);
	if (r == PD_OK && n.internal_system && !cur.internal_system)
		r = cust_check_internal_limit(s, cur.id, e);
	if (r == PD_OK)
		r = cust_write(s, &cur, &n, "update", x->a, e);
	pd_customer_free(&cur);
	pd_customer_free(&n);
	return r;
}

pd_status store_customer_update(pd_store *s, const pd_customer *c, const pd_actor *a,
                                pd_customer *out, pd_customer *current, pd_err *e)
{
	E_GUARD(e);
	const pd_geo *g = store_geo(e);
	if (!g)
		return FAILED(e);
	pd_customer mine;
	pd_customer_copy(&mine, c);
	pd_status r = pd_customer_check(s->cat, g, &mine, e);
	if (r == PD_OK) {
		update_ctx x = {&mine, a, current, NULL};
		r = store_tx(s, update_tx, &x, e);
		free(x.impact);
	}
	if (r == PD_OK && out)
		r = cust_load(s, c->id, out, e);
	pd_customer_free(&mine);
	return r;
}

/* ---- status actions: load, change, write; one transaction each ---- */

typedef pd_status (*cust_change_fn)(pd_store *s, const pd_customer *cur, pd_customer *n, void *arg,
                                    pd_err *e);
typedef struct {
	int64_t id, version; /* version 0 = don't check */
	cust_change_fn fn;
	void *arg;
	const char *action;
	const pd_actor *a;
} change_ctx;

static pd_status change_tx(pd_store *s, void *vx, pd_err *e)
{
	change_ctx *x = vx;
	pd_customer cur, n;
	pd_status r = cust_load(s, x->id, &cur, e);
	if (r != PD_OK)
		return r;
	if (x->version && x->version != cur.version) {
		pd_customer mine;
		pd_customer_copy(&mine, &cur);
		mine.version = x->version;
		r = conflict(s, &mine, &cur, NULL, e);
		pd_customer_free(&mine);
		pd_customer_free(&cur);
		return r;
	}
	pd_customer_copy(&n, &cur);
	r = x->fn(s, &cur, &n, x->arg, e);
	if (r == PD_OK)
		r = cust_write(s, &cur, &n, x->action, x->a, e);
	pd_customer_free(&cur);
	pd_customer_free(&n);
	return r;
}

static pd_status run_change(pd_store *s, int64_t id, int64_t version, cust_change_fn fn, void *arg,
                            const char *action, const pd_actor *a, pd_err *e)
{
	change_ctx x = {id, version, fn, arg, action, a};
	return store_tx(s, change_tx, &x, e);
}

static pd_status not_deleted(const pd_customer *c, pd_err *e)
{
	if (c->deleted_at)
		return pd_fail(e, PD_E_INVALID, NULL,
		               _("customer \"%.100s\" is deleted; restore it first"), c->name);
	return PD_OK;
}

static pd_status do_delete(pd_store *s, const pd_customer *cur, pd_customer *n, void *arg,
                           pd_err *e)
{
	const char *confirm = arg;
	if (cur->deleted_at)
		return pd_fail(e, PD_E_INVALID, NULL, _("customer \"%.100s\" is already deleted"),
		               cur->name);
	char *want = pd_fold_key(cur->name);
	char *t = confirm ? pd_trim(confirm) : NULL;
	char *got = t ? pd_fold_key(t) : NULL;
	bool ok = want && got && !strcmp(want, got);
	free(want);
	free(got);
	free(t);
	if (!ok)
		return pd_fail(e, PD_E_INVALID, "confirm",
		               _("to delete, type the customer's name exactly: \"%.100s\""),
		               cur->name);
	n->deleted_at = pd_now();
	return PD_OK;
}

pd_status store_customer_delete(pd_store *s, int64_t id, const char *confirm, int64_t version,
                                const pd_actor *a, pd_err *e)
{
	E_GUARD(e);
	return run_change(s, id, version, do_delete, (void *)confirm, "delete", a, e);
}

static pd_status do_restore(pd_store *s, const pd_customer *cur, pd_customer *n, void *arg,
                            pd_err *e)
{
	if (!cur->deleted_at)
		return pd_fail(e, PD_E_INVALID, NULL, _("customer \"%.100s\" is not deleted"),
		               cur->name);
	pd_status r = store_customer_name_free(s, cur->name, cur->id, e);
	if (r != PD_OK) {
		char msg[sizeof e->message];
		pd_snprintf(msg, sizeof msg,
		            _("cannot restore: %.400s; rename the other customer first"),
		            e->message);
		return pd_fail(e, r, "name", "%s", msg);
	}
	if (cur->internal_system && (r = cust_check_internal_limit(s, cur->id, e)) != PD_OK) {
		char msg[sizeof e->message];
		pd_snprintf(msg, sizeof msg, _("cannot restore an internal system: %.400s"),
		            e->message);
		return pd_fail(e, r, "internal_system", "%s", msg);
	}
	n->deleted_at = 0;
	return PD_OK;
}

pd_status store_customer_restore(pd_store *s, int64_t id, const pd_actor *a, pd_err *e)
{
	E_GUARD(e);
	return run_change(s, id, 0, do_restore, NULL, "restore", a, e);
}

static pd_status do_disable(pd_store *s, const pd_customer *cur, pd_customer *n, void *arg,
                            pd_err *e)
{
	pd_status r = not_deleted(cur, e);
	n->disabled = *(bool *)arg;
	return r;
}

pd_status store_customer_set_disabled(pd_store *s, int64_t id, bool disabled, const pd_actor *a,
                                      pd_err *e)
{
	E_GUARD(e);
	return run_change(s, id, 0, do_disable, &disabled, disabled ? "disable" : "enable", a, e);
}

static pd_status running_trial(const pd_customer *c, pd_err *e)
{
	pd_status r = not_deleted(c, e);
	if (r != PD_OK)
		return r;
	if (!c->trial)
		return pd_fail(e, PD_E_INVALID, "trial", _("customer \"%.100s\" has no trial"),
		               c->name);
	if (c->trial_converted)
		return pd_fail(e, PD_E_INVALID, "trial",
		               _("the trial of \"%.100s\" was already converted to paid"), c->name);
	return PD_OK;
}

static pd_status do_extend(pd_store *s, const pd_customer *cur, pd_customer *n, void *arg,
                           pd_err *e)
{
	int days = *(int *)arg;
	pd_status r = running_trial(cur, e);
	if (r != PD_OK)
		return r;
	if (days < 1 || days > 365)
		return pd_fail(e, PD_E_INVALID, "days", _("extend by 1 to 365 days (got %d)"),
		               days);
	n->trial_end = cur->trial_end + days;
	/* An expired trial extended is counted from today, not from the past end. */
	pd_day today = pd_today();
	if (cur->trial_end < today)
		n->trial_end = today + days - 1;
	return pd_check_trial(s->cat, n->product_type, n->trial_start, n->trial_end, e);
}

pd_status store_trial_extend(pd_store *s, int64_t id, int days, const pd_actor *a, pd_err *e)
{
	E_GUARD(e);
	return run_change(s, id, 0, do_extend, &days, "trial-extend", a, e);
}

static pd_status do_convert(pd_store *s, const pd_customer *cur, pd_customer *n, void *arg,
                            pd_err *e)
{
	pd_status r = running_trial(cur, e);
	n->trial_converted = true;
	return r;
}

pd_status store_trial_convert(pd_store *s, int64_t id, const pd_actor *a, pd_err *e)
{
	E_GUARD(e);
	return run_change(s, id, 0, do_convert, NULL, "trial-convert", a, e);
}

static pd_status do_end(pd_store *s, const pd_customer *cur, pd_customer *n, void *arg, pd_err *e)
{
	pd_status r = running_trial(cur, e);
	if (r != PD_OK)
		return r;
	pd_day yesterday = pd_today() - 1;
	if (cur->trial_end <= yesterday)
		return pd_fail(e, PD_E_INVALID, "trial",
		               _("the trial of \"%.100s\" has already ended"), cur->name);
	n->trial_end = yesterday;
	if (n->trial_start > n->trial_end)
		n->trial_start = n->trial_end;
	return PD_OK;
}

pd_status store_trial_end(pd_store *s, int64_t id, const pd_actor *a, pd_err *e)
{
	E_GUARD(e);
	return run_change(s, id, 0, do_end, NULL, "trial-end", a, e);
}

/* Shell completion (src/cli/complete.c): a bounded, sorted list; the prefix
 * compared byte for byte with substr() (no LIKE: %, _ and \ in a name are
 * plain bytes). A scan of the customers table, one query. */
pd_status store_customer_complete(pd_store *s, const char *prefix, bool deleted, size_t max,
                                  char ***out, size_t *n, pd_err *e)
{
	E_GUARD(e);
	*out = NULL;
	*n = 0;
	sqlite3_stmt *st = st_get(s,
	                          "SELECT v FROM (SELECT name AS v, deleted_at FROM customers"
	                          " UNION ALL SELECT reference, deleted_at FROM customers"
	                          " WHERE reference <> '')"
	                          " WHERE (deleted_at <> 0) = ?2 AND substr(CAST(v AS BLOB), 1,"
	                          " length(CAST(?1 AS BLOB))) = CAST(?1 AS BLOB)"
	                          " GROUP BY v ORDER BY v LIMIT ?3",
	                          e);
	if (!st)
		return FAILED(e);
	bind_text(st, 1, prefix ? prefix : "");
	sqlite3_bind_int(st, 2, deleted ? 1 : 0);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)max);
	int rc;
	size_t cap = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(st, 0);
		if (!v)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			*out = xrealloc(*out, cap * sizeof **out);
		}
		(*out)[(*n)++] = xstrdup(v);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		for (size_t i = 0; i < *n; i++)
			free((*out)[i]);
		free(*out);
		*out = NULL;
		*n = 0;
		return st_fail(s, rc, e, "complete customer names");
	}
	return PD_OK;
}

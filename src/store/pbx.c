/* PBX connection records (one per customer), their live status written by
 * the monitor, PBX templates and sub-accounts. The secret column is read
 * only when asked for (the monitor); audit rows say "(changed)". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provdesk/i18n.h"
#include "secrets.h"
#include "store_internal.h"

#define PBX_COLS                                                                                   \
	"p.id, p.customer_id, p.template_name, p.platform, p.host, p.port, p.tls, p.username,"     \
	" p.secret, p.params_json, p.sync_users, p.monitor, p.auto_provision, p.enabled, "         \
	"p.version"

static void pbx_from_row(pd_store *s, sqlite3_stmt *st, bool with_secret, pd_pbx *p)
{
	memset(p, 0, sizeof *p);
	p->id = sqlite3_column_int64(st, 0);
	p->customer_id = sqlite3_column_int64(st, 1);
	p->template_name = col_str(st, 2);
	p->platform = col_str(st, 3);
	p->host = col_str(st, 4);
	p->port = sqlite3_column_int(st, 5);
	p->tls = sqlite3_column_int(st, 6);
	p->username = col_str(st, 7);
	/* sealed at rest (secrets.c); NULL when it cannot be opened */
	p->secret = with_secret ? secret_unseal(s, (const char *)sqlite3_column_text(st, 8)) : NULL;
	p->params_json = col_str(st, 9);
	p->sync_users = sqlite3_column_int(st, 10);
	p->monitor = sqlite3_column_int(st, 11);
	p->auto_provision = sqlite3_column_int(st, 12);
	p->enabled = sqlite3_column_int(st, 13);
	p->version = sqlite3_column_int64(st, 14);
}

static pd_status pbx_load(pd_store *s, int64_t cid, bool with_secret, pd_pbx *out, pd_err *e)
{
	if (with_secret && !secrets_ready(e))
		return PD_E_UNAVAILABLE;
	static const char sql[] = "SELECT " PBX_COLS " FROM pbx p WHERE p.customer_id = ?";
	sqlite3_stmt *st = st_get(s, sql, e);
	if (!st)
		return FAILED(e);
	sqlite3_bind_int64(st, 1, cid);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		pbx_from_row(s, st, with_secret, out);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return PD_OK;
	if (rc != SQLITE_DONE)
		return st_fail(s, rc, e, "read PBX");
	return pd_fail(e, PD_E_NOTFOUND, "pbx", _("customer #%lld has no PBX connection"),
	               (long long)cid);
}

static void pbx_diff(pd_buf *d, const pd_pbx *o, const pd_pbx *n, bool secret_changed)
{
	diff_str(d, "template", o->template_name, n->template_name);
	diff_str(d, "platform", o->platform, n->platform);
	diff_str(d, "host", o->host, n->host);
	diff_int(d, "port", o->port, n->port);
	diff_bool(d, "tls", o->tls, n->tls);
	diff_str(d, "username", o->username, n->username);
	diff_secret(d, "secret", secret_changed);
	diff_str(d, "params", o->params_json, n->params_json);
	diff_bool(d, "sync_users", o->sync_users, n->sync_users);
	diff_bool(d, "monitor", o->monitor, n->monitor);
	diff_bool(d, "auto_provision_sub_accounts", o->auto_provision, n->auto_provision);
	diff_bool(d, "enabled", o->enabled, n->enabled);
}

pd_status pbx_insert(pd_store *s, int64_t cid, pd_pbx *p, const pd_actor *a, pd_err *e)
{
	if (p->secret && *p->secret && !secrets_ready(e))
		return PD_E_UNAVAILABLE;
	static const char sql[] =
	    "INSERT INTO pbx(customer_id, template_name, platform, host, port, tls,"
	    " username, secret, params_json, sync_users, monitor, auto_provision,"
	    " enabled) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)";
	sqlite3_stmt *st = st_get(s, sql, e);
	if (!st)
		return FAILED(e);
	sqlite3_bind_int64(st, 1, cid);
	bind_opt(st, 2, p->template_name);
	bind_text(st, 3, p->platform);
	bind_opt(st, 4, p->host);
	sqlite3_bind_int(st, 5, p->port);
	sqlite3_bind_int(st, 6, p->tls);
	bind_opt(st, 7, p->username);
	char *sealed = secret_seal(s, p->secret && *p->secret ? p->secret : NULL);
	bind_opt(st, 8, sealed);
	bind_opt(st, 9, p->params_json);
	sqlite3_bind_int(st, 10, p->sync_users);
	sqlite3_bind_int(st, 11, p->monitor);
	sqlite3_bind_int(st, 12, p->auto_provision);
	sqlite3_bind_int(st, 13, p->enabled);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	free(sealed);
	if (rc == SQLITE_CONSTRAINT_UNIQUE)
		return pd_fail(e, PD_E_INVALID, "pbx",
		               _("this customer already has a PBX connection (one per customer)"));
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		return pd_fail(e, PD_E_INVALID, "platform", _("unknown PBX platform '%.60s'"),
		               p->platform);
	if (rc != SQLITE_DONE)
		return st_fail(s, rc, e, "insert PBX");
	p->id = sqlite3_last_insert_rowid(s->db);
	p->customer_id = cid;
	p->version = 1;
	pd_pbx none = {0};
	pd_buf d = {0};
	pbx_diff(&d, &none, p, p->secret && *p->secret);
	pd_status r = audit_add(s, a, cid, 0, "pbx", "create", d.s, e);
	pd_buf_free(&d);
	return r;
}

typedef struct {
	int64_t cid;
	pd_pbx *p;
	const pd_actor *a;
	bool flag;
} pbx_ctx;

static pd_status add_tx(pd_store *s, void *vx, pd_err *e)
{
	pbx_ctx *x = vx;
	pd_customer c;
	pd_status r = cust_load(s, x->cid, &c, e);
	if (r != PD_OK)
		return r;
	if (c.deleted_at)
		r = pd_fail(e, PD_E_INVALID, "customer", _("customer \"%.100s\" is deleted"),
		            c.name);
	else {
		const pd_product_type *pt = pd_catalogue_product(s->cat, c.product_type);
		if (pt && !pd_product_allows_platform(pt, x->p->platform))
			r = pd_fail(e, PD_E_INVALID, "platform",
			            _("product type '%s' does not support PBX platform '%.60s'"),
			            pt->key, x->p->platform);
	}
	pd_customer_free(&c);
	if (r == PD_OK)
		r = pbx_insert(s, x->cid, x->p, x->a, e);
	return r;
}

pd_status store_pbx_add(pd_store *s, int64_t customer_id, pd_pbx *p, const pd_actor *a, pd_err *e)
{
	E_GUARD(e);
	pd_status r = pd_pbx_check(s->cat, p, e);
	if (r != PD_OK)
		return r;
	pbx_ctx x = {customer_id, p, a, false};
	return store_tx(s, add_tx, &x, e);
}

pd_status store_pbx_get(pd_store *s, int64_t customer_id, bool with_secret, pd_pbx *out, pd_err *e)
{
	E_GUARD(e);
	return pbx_load(s, customer_id, with_secret, out, e);
}

static pd_status update_tx(pd_store *s, void *vx, pd_err *e)
{
	pbx_ctx *x = vx;
	pd_pbx *p = x->p;
	pd_pbx cur;
	pd_status r = pbx_load(s, p->customer_id, true, &cur, e);
	if (r != PD_OK)
		return r;
	if (cur.version != p->version)
		r = pd_fail(
		    e, PD_E_CONFLICT, NULL,
		    _("the PBX connection was changed by someone else (version %lld, yours %lld); "
		      "nothing was saved, reload and try again"),
		    (long long)cur.version, (long long)p->version);
	else if (cur.auto_provision != p->auto_provision)
		r = pd_fail(
		    e, PD_E_INVALID, "auto_provision_sub_accounts",
		    _("auto-provisioning of sub-accounts can only be set when the connection is "
		      "created"));
	bool secret_changed = p->secret && !(cur.secret && !strcmp(cur.secret, p->secret));
	pd_buf d = {0};
	if (r == PD_OK)
		pbx_diff(&d, &cur, p, secret_changed);
	if (r == PD_OK && d.len) {
		static const char sql[] =
		    "UPDATE pbx SET template_name=?, platform=?, host=?, port=?, tls=?, username=?,"
		    " secret=coalesce(?, secret), params_json=?, sync_users=?, monitor=?, "
		    "enabled=?,"
		    " version=version+1 WHERE id=? AND version=?";
		sqlite3_stmt *st = st_get(s, sql, e);
		if (!st)
			r = FAILED(e);
		else {
			bind_opt(st, 1, p->template_name);
			bind_text(st, 2, p->platform);
			bind_opt(st, 3, p->host);
			sqlite3_bind_int(st, 4, p->port);
			sqlite3_bind_int(st, 5, p->tls);
			bind_opt(st, 6, p->username);
			char *sealed = secret_seal(s, p->secret);
			bind_text(st, 7, sealed);
			bind_opt(st, 8, p->params_json);
			sqlite3_bind_int(st, 9, p->sync_users);
			sqlite3_bind_int(st, 10, p->monitor);
			sqlite3_bind_int(st, 11, p->enabled);
			sqlite3_bind_int64(st, 12, cur.id);
			sqlite3_bind_int64(st, 13, cur.version);
			r = st_exec(s, st, e);
			sqlite3_clear_bindings(st);
			free(sealed);
		}
		if (r == PD_OK)
			r = audit_add(s, x->a, cur.customer_id, 0, "pbx", "update", d.s, e);
	}
	pd_buf_free(&d);
	pd_pbx_free(&cur);
	return r;
}

pd_status store_pbx_update(pd_store *s, const pd_pbx *p, const pd_actor *a, pd_err *e)
{
	E_GUARD(e);
	pd_pbx c = *p;
	c.template_name = xstrdup(p->template_name);
	c.platform = xstrdup(p->platform);
	c.host = xstrdup(p->host);
	c.username = xstrdup(p->username);
	c.secret = xstrdup(p->secret);
	c.params_json = xstrdup(p->params_json);
	/* The rules require a secret; a NULL secret means "keep the stored one",
	 * so check with a placeholder and restore NULL after. */
	bool keep = !c.secret;
	if (keep)
		c.secret = xstrdup("(kept)");
	pd_status r = pd_pbx_check(s->cat, &c, e);
	if (keep)
		pd_set_str(&c.secret, NULL);
	if (r == PD_OK) {
		pbx_ctx x = {p->customer_id, &c, a, false};
		r = store_tx(s, update_tx, &x, e);
	}
	pd_pbx_free(&c);
	return r;
}

static pd_status enable_tx(pd_store *s, void *vx, pd_err *e)
{
	pbx_ctx *x = vx;
	pd_pbx cur;
	pd_status r = pbx_load(s, x->cid, false, &cur, e);
	if (r != PD_OK)
		return r;
	if (cur.enabled != x->flag) {
		static const char sql[] =
		    "UPDATE pbx SET enabled = ?, version = version + 1 WHERE id = ?";
		sqlite3_stmt *st = st_get(s, sql, e);
		if (!st)
			r = FAILED(e);
		else {
			sqlite3_bind_int(st, 1, x->flag);
			sqlite3_bind_int64(st, 2, cur.id);
			r = st_exec(s, st, e);
		}
		pd_buf d = {0};
		diff_bool(&d, "enabled", cur.enabled, x->flag);
		if (r == PD_OK)
			r = audit_add(s, x->a, x->cid, 0, "pbx", x->flag ? "enable" : "disable",
			              d.s, e);
		pd_buf_free(&d);
	}
	pd_pbx_free(&cur);
	return r;
}

pd_status store_pbx_set_enabled(pd_store *s, int64_t customer_id, bool enabled, const pd_actor *a,
                                pd_err *e)
{
	E_GUARD(e);
	pbx_ctx x = {customer_id, NULL, a, enabled};
	return store_tx(s, enable_tx, &x, e);
}

static pd_status remove_tx(pd_store *s, void *vx, pd_err *e)
{
	pbx_ctx *x = vx;
	pd_pbx cur;
	pd_status r = pbx_load(s, x->cid, false, &cur, e);
	if (r != PD_OK)
		return r;
	static const char sql[] = "DELETE FROM pbx WHERE id = ?";
	static const char st_sql[] = "DELETE FROM pbx_status WHERE customer_id = ?";
	sqlite3_stmt *st = st_get(s, sql, e);
	if (!st)
		r = FAILED(e);
	else {
		sqlite3_bind_int64(st, 1, cur.id);
		r = st_exec(s, st, e);
	}
	if (r == PD_OK && (st = st_get(s, st_sql, e)) != NULL) {
		sqlite3_bind_int64(st, 1, x->cid);
		r = st_exec(s, st, e);
	}
	if (r == PD_OK) {
		char *d = xasprintf("removed %s connection to %s", cur.platform,
		                    cur.host ? cur.host : "?");
		r = audit_add(s, x->a, x->cid, 0, "pbx", "delete", d, e);
		free(d);
	}
	pd_pbx_free(&cur);
	return r;
}

pd_status store_pbx_remove(pd_store *s, int64_t customer_id, const pd_actor *a, pd_err *e)
{
	E_GUARD(e);
	pbx_ctx x = {customer_id, NULL, a, false};
	return store_tx(s, remove_tx, &x, e);
}

typedef struct {
	pd_store *s;
	bool with_secret;
} pbx_row_ctx;

static void pbx_row(sqlite3_stmt *st, void *p, void *ctx)
{
	pbx_row_ctx *x = ctx;
	pbx_from_row(x->s, st, x->with_secret, p);
}

static void pbx_elem_free(void *p)
{
	pd_pbx_free(p);
}

pd_status store_pbx_list_all(pd_store *s, bool with_secret, pd_pbx **out, size_t *n, pd_err *e)
{
	E_GUARD(e);
	*out = NULL;
	*n = 0;
	if (with_secret && !secrets_ready(e))
		return PD_E_UNAVAILABLE;
	static const char sql[] =
	    "SELECT " PBX_COLS " FROM pbx p JOIN customers c ON c.id = p.customer_id"
	    " WHERE c.deleted_at = 0 ORDER BY p.customer_id";
	sqlite3_stmt *st = st_get(s, sql, e);
	if (!st)
		return FAILED(e);
	void *v;
	pbx_row_ctx x = {s, with_secret};
	pd_status r = st_collect(s, st, sizeof **out, pbx_row, &x, pbx_elem_free, &v, n,
	                         "list PBX connections", e);
	*out = v;
	return r;
}

pd_status store_pbx_generation(pd_store *s, int64_t *gen, pd_err *e)
{
	E_GUARD(e);
	static const char sql[] = "SELECT value FROM meta WHERE key = 'pbx_generation'";
	sqlite3_stmt *st = st_get(s, sql, e);
	if (!st)
		return FAILED(e);
	int rc = sqlite3_step(st);
	*gen = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? PD_OK : st_fail(s, rc, e, "PBX generation");
}

/* ---- live status (written by the monitor; no audit: it is not a change
 * made by a person) ---- */

typedef struct {
	const pd_pbx_status *st;
} status_ctx;

static pd_status status_tx(pd_store *s, void *vx, pd_err *e)
{
	const pd_pbx_status *v = ((status_ctx *)vx)->st;
	static const char sql[] =
	    "INSERT INTO pbx_status(customer_id, state, last_error, updated_at, live_calls,"
	    " agents_available, agents_logged_on, link, since, monitored)"
	    " VALUES (?,?,?,?,?,?,?,?,?,1)"
	    " ON CONFLICT(customer_id) DO UPDATE SET state=excluded.state, monitored=1,"
	    " link=excluded.link, since=excluded.since,"
	    " last_error=excluded.last_error, updated_at=excluded.updated_at,"
	    " live_calls=excluded.live_calls, agents_available=excluded.agents_available,"
	    " agents_logged_on=excluded.agents_logged_on";
	sqlite3_stmt *st = st_get(s, sql, e);
	if (!st)
		return FAILED(e);
	sqlite3_bind_int64(st, 1, v->customer_id);
	bind_text(st, 2, v->state ? v->state : "");
	bind_opt(st, 3, v->last_error);
	sqlite3_bind_int64(st, 4, v->updated_at ? v->updated_at : pd_now());
	sqlite3_bind_int64(st, 5, v->live_calls);
	sqlite3_bind_int64(st, 6, v->agents_available);
	sqlite3_bind_int64(st, 7, v->agents_logged_on);
	if ((unsigned)v->link >= PD_LINK_N_STATES) {
		sqlite3_reset(st);
		return pd_fail(e, PD_E_INVALID, "link", _("no such link state (%d)"), (int)v->link);
	}
	bind_text(st, 8, pd_link_state_name(v->link));
	sqlite3_bind_int64(st, 9, v->since ? v->since : v->updated_at ? v->updated_at : pd_now());
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		return pd_fail(e, PD_E_NOTFOUND, "customer", _("no customer #%lld"),
		               (long long)v->customer_id);
	return rc == SQLITE_DONE ? PD_OK : st_fail(s, rc, e, "PBX status");
}

pd_status store_pbx_status_set(pd_store *s, const pd_pbx_status *v, pd_err *e)
{
	E_GUARD(e);
	status_ctx x = {v};
	return store_tx(s, status_tx, &x, e);
}

pd_status store_pbx_status_get(pd_store *s, int64_t customer_id, pd_pbx_status *out, pd_err *e)
{
	E_GUARD(e);
	memset(out, 0, sizeof *out);
	static const char sql[] =
	    "SELECT state, last_error, updated_at, live_calls, agents_available,"
	    " agents_logged_on, link, since, monitored FROM pbx_status WHERE customer_id = ?";
	sqlite3_stmt *st = st_get(s, sql, e);
	if (!st)
		return FAILED(e);
	sqlite3_bind_int64(st, 1, customer_id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->customer_id = customer_id;
		out->state = col_str_empty(st, 0);
		out->last_error = col_str(st, 1);
		out->updated_at = sqlite3_column_int64(st, 2);
		out->live_calls = sqlite3_column_int64(st, 3);
		out->agents_available = sqlite3_column_int64(st, 4);
		out->agents_logged_on = sqlite3_column_int64(st, 5);
		/* the column's CHECK admits only the keys of include/provdesk/link_state.h */
		if (!pd_link_state_parse((const char *)sqlite3_column_text(st, 6), &out->link))
			out->link = PD_LINK_CONNECTING;
		out->since = sqlite3_column_int64(st, 7);
		out->monitored = sqlite3_column_int(st, 8) != 0;
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return PD_OK;
	if (rc != SQLITE_DONE)
		return st_fail(s, rc, e, "PBX status");
	return pd_fail(e, PD_E_NOTFOUND, "pbx", _("no status recorded for customer #%lld"),
	               (long long)customer_id);
}

pd_status store_pbx_counts(pd_store *s, pd_pbx_counts *out, pd_err *e)
{
	E_GUARD(e);
	memset(out, 0, sizeof *out);
	/* by the stored state key (pbx_status.link), never by its text */
	static const char sql[] =
	    "SELECT p.enabled, ps.link, count(*),"
	    " coalesce(sum(ps.live_calls), 0), coalesce(sum(ps.agents_available), 0),"
	    " coalesce(sum(ps.agents_logged_on), 0)"
	    " FROM pbx p JOIN customers c ON c.id = p.customer_id"
	    " LEFT JOIN pbx_status ps ON ps.customer_id = p.customer_id WHERE c.deleted_at = 0"
	    " GROUP BY p.enabled <> 0, ps.link";
	sqlite3_stmt *st = st_get(s, sql, e);
	if (!st)
		return FAILED(e);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t n = sqlite3_column_int64(st, 2);
		pd_link_state ls;
		out->links += n;
		if (!sqlite3_column_int(st, 0))
			out->disabled += n;
		else if (sqlite3_column_type(st, 1) == SQLITE_NULL)
			out->not_started += n;
		else if (pd_link_state_parse((const char *)sqlite3_column_text(st, 1), &ls))
			out->by_link[ls] += n;
		out->live_calls += sqlite3_column_int64(st, 3);
		out->agents_available += sqlite3_column_int64(st, 4);
		out->agents_logged_on += sqlite3_column_int64(st, 5);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? PD_OK : st_fail(s, rc, e, "PBX counts");
}

void pd_pbx_status_free(pd_pbx_status *st)
{
	if (!st)
		return;
	free(st->state);
	free(st->last_error);
	st->state = st->last_error = NULL;
}

bool pd_pbx_status_fresh(bool monitored, int64_t updated_at, int64_t now)
{
	return monitored && updated_at > 0 && now - updated_at < PD_PBX_STALE_S;
}

typedef struct {
	const int64_t *ids;
	size_t n;
	int64_t now;
	bool monitored;
} touch_ctx;

static pd_status touch_tx(pd_store *s, void *vx, pd_err *e)
{
	touch_ctx *x = vx;
	static const char sql[] =
	    "UPDATE pbx_status SET updated_at = CASE WHEN ?3 THEN ?1 ELSE updated_at END,"
	    " monitored = ?3 WHERE customer_id IN (SELECT value FROM json_each(?2))";
	sqlite3_stmt *st = st_get(s, sql, e);
	if (!st)
		return FAILED(e);
	pd_buf b = {0};
	pd_buf_addc(&b, '[');
	for (size_t i = 0; i < x->n; i++)
		pd_buf_printf(&b, "%s%lld", i ? "," : "", (long long)x->ids[i]);
	pd_buf_addc(&b, ']');
	sqlite3_bind_int64(st, 1, x->now);
	sqlite3_bind_text(st, 2, b.s, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 3, x->monitored);
	pd_status r = st_exec(s, st, e);
	sqlite3_clear_bindings(st);
	pd_buf_free(&b);
	return r;
}

pd_status store_pbx_status_touch(pd_store *s, const int64_t *customer_ids, size_t n, int64_t now,
                                 bool monitored, pd_err *e)
{
	E_GUARD(e);
	if (n == 0)
		return PD_OK;
	touch_ctx x = {customer_ids, n, now ? now : pd_now(), monitored};
	return store_tx(s, touch_tx, &x, e);
}

void pd_age_text(int64_t then, int64_t now, char *buf, size_t n)
{
	int64_t d = now - then;
	if (d < 1)
		snprintf(buf, n, _("just now"));
	else if (d < 120)
		snprintf(buf, n, _("%lld s ago"), (long long)d);
	else if (d < 2 * 3600)
		snprintf(buf, n, _("%lld min ago"), (long long)(d / 60));
	else if (d < 2 * 86400)
		snprintf(buf, n, _("%lld h ago"), (long long)(d / 3600));
	else
		snprintf(buf, n, _("%lld d ago"), (long long)(d / 86400));
}

void pd_pbx_stale_text(const char *state, int64_t updated_at, int64_t now, char *buf, size_t n)
{
	char age[48];
	pd_age_text(updated_at, now, age, sizeof age);
	snprintf(buf, n, _("not monitored (last known: %s, %s)"), state && *state ? state : "?",
	         age);
}

/* ---- templates ---- */

#define TPL_COLS "id, name, platform, host, port, tls, username, params_json, version"

static void tpl_from_row(sqlite3_stmt *st, pd_template *t)
{
	memset(t, 0, sizeof *t);
	t->id = sqlite3_column_int64(st, 0);
	t->name = col_str(st, 1);
	t->platform = col_str(st, 2);
	t->host = col_str(st, 3);
	t->port = sqlite3_column_int(st, 4);
	t->tls = sqlite3_column_int(st, 5);
	t->username = col_str(st, 6);
	t->params_json = col_str(st, 7);
	t->version = sqlite3_column_int64(st, 8);
}

static void tpl_row(sqlite3_stmt *st, void *t, void *ctx)
{
	(void)ctx;
	tpl_from_row(st, t);
}

static void tpl_elem_free(void *t)
{
	pd_template_free(t);
}

pd_status store_template_list(pd_store *s, pd_template **out, size_t *n, pd_err *e)
{
	E_GUARD(e);
	*out = NULL;
	*n = 0;
	static const char sql[] = "SELECT " TPL_COLS " FROM templates ORDER BY name";
	sqlite3_stmt *st = st_get(s, sql, e);
	if (!st)
		return FAILED(e);
	void *v;
	pd_status r = st_collect(s, st, sizeof **out, tpl_row, NULL, tpl_elem_free, &v, n,
	                         "list templates", e);
	*out = v;
	return r;
}

pd_status store_template_get(pd_store *s, const char *name, pd_template *out, pd_err *e)
{
	E_GUARD(e);
	static const char sql[] = "SELECT " TPL_COLS " FROM templates WHERE name = ?";
	sqlite3_stmt *st = st_get(s, sql, e);
	if (!st)
		return FAILED(e);
	bind_text(st, 1, name);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		tpl_from_row(st, out);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return PD_OK;
	if (rc != SQLITE_DONE)
		return st_fail(s, rc, e, "read template");
	return pd_fail(e, PD_E_NOTFOUND, "template", _("no PBX template named '%.100s'"),
	               name ? name : "");
}

typedef struct {
	pd_template *t;
	const char *name;
	const pd_actor *a;
} tpl_ctx;

static pd_status tpl_save_tx(pd_store *s, void *vx, pd_err *e)
{
	tpl_ctx *x = vx;
	pd_template *t = x->t;
	pd_template cur;
	pd_err nf;
	pd_status r = store_template_get(s, t->name, &cur, &nf);
	if (r == PD_E_NOTFOUND) {
		static const char sql[] =
		    "INSERT INTO templates(name, platform, host, port, tls, username,"
		    " params_json) VALUES (?,?,?,?,?,?,?)";
		sqlite3_stmt *st = st_get(s, sql, e);
		if (!st)
			return FAILED(e);
		bind_text(st, 1, t->name);
		bind_text(st, 2, t->platform);
		bind_opt(st, 3, t->host);
		sqlite3_bind_int(st, 4, t->port);
		sqlite3_bind_int(st, 5, t->tls);
		bind_opt(st, 6, t->username);
		bind_opt(st, 7, t->params_json);
		if ((r = st_exec(s, st, e)) != PD_OK)
			return r;
		t->id = sqlite3_last_insert_rowid(s->db);
		t->version = 1;
		pd_buf d = {0};
		pd_buf_printf(&d, "template \"%s\": ", t->name);
		diff_str(&d, "platform", NULL, t->platform);
		diff_str(&d, "host", NULL, t->host);
		diff_int(&d, "port", 0, t->port);
		diff_bool(&d, "tls", false, t->tls);
		diff_str(&d, "username", NULL, t->username);
		diff_str(&d, "params", NULL, t->params_json);
		r = audit_add(s, x->a, 0, 0, "template", "create", d.s, e);
		pd_buf_free(&d);
		return r;
	}
	if (r != PD_OK) {
		*e = nf;
		return r;
	}
	if (cur.version != t->version) {
		r = pd_fail(
		    e, PD_E_CONFLICT, NULL,
		    _("template \"%.100s\" was changed by someone else (version %lld, yours %lld); "
		      "nothing was saved"),
		    cur.name, (long long)cur.version, (long long)t->version);
		pd_template_free(&cur);
		return r;
	}
	pd_buf d = {0};
	pd_buf diff = {0};
	diff_str(&diff, "platform", cur.platform, t->platform);
	diff_str(&diff, "host", cur.host, t->host);
	diff_int(&diff, "port", cur.port, t->port);
	diff_bool(&diff, "tls", cur.tls, t->tls);
	diff_str(&diff, "username", cur.username, t->username);
	diff_str(&diff, "params", cur.params_json, t->params_json);
	if (diff.len) {
		static const char sql[] =
		    "UPDATE templates SET platform=?, host=?, port=?, tls=?, username=?,"
		    " params_json=?, version=version+1 WHERE id=?";
		sqlite3_stmt *st = st_get(s, sql, e);
		if (!st)
			r = FAILED(e);
		else {
			bind_text(st, 1, t->platform);
			bind_opt(st, 2, t->host);
			sqlite3_bind_int(st, 3, t->port);
			sqlite3_bind_int(st, 4, t->tls);
			bind_opt(st, 5, t->username);
			bind_opt(st, 6, t->params_json);
			sqlite3_bind_int64(st, 7, cur.id);
			r = st_exec(s, st, e);
		}
		if (r == PD_OK) {
			pd_buf_printf(&d, "template \"%s\": %s", t->name, diff.s);
			r = audit_add(s, x->a, 0, 0, "template", "update", d.s, e);
			t->version = cur.version + 1;
		}
	}
	t->id = cur.id;
	pd_buf_free(&d);
	pd_buf_free(&diff);
	pd_template_free(&cur);
	return r;
}

pd_status store_template_save(pd_store *s, pd_template *t, const pd_actor *a, pd_err *e)
{
	E_GUARD(e);
	pd_status r = pd_template_check(s->cat, t, e);
	if (r != PD_OK)
		return r;
	tpl_ctx x = {t, NULL, a};
	return store_tx(s, tpl_save_tx, &x, e);
}

static pd_status tpl_delete_tx(pd_store *s, void *vx, pd_err *e)
{
	tpl_ctx *x = vx;
	static const char sql[] = "DELETE FROM templates WHERE name = ?";
	sqlite3_stmt *st = st_get(s, sql, e);
	if (!st)
		return FAILED(e);
	bind_text(st, 1, x->name);
	pd_status r = st_exec(s, st, e);
	if (r != PD_OK)
		return r;
	if (sqlite3_changes(s->db) == 0)
		return pd_fail(e, PD_E_NOTFOUND, "template", _("no PBX template named '%.100s'"),
		               x->name);
	char *d = xasprintf("template \"%s\" deleted", x->name);
	r = audit_add(s, x->a, 0, 0, "template", "delete", d, e);
	free(d);
	return r;
}

pd_status store_template_delete(pd_store *s, const char *name, const pd_actor *a, pd_err *e)
{
	E_GUARD(e);
	tpl_ctx x = {NULL, name ? name : "", a};
	return store_tx(s, tpl_delete_tx, &x, e);
}

/* ---- sub-accounts ---- */

static void sub_row(sqlite3_stmt *st, void *elem, void *ctx)
{
	(void)ctx;
	pd_sub_account *a = elem;
	a->id = sqlite3_column_int64(st, 0);
	a->customer_id = sqlite3_column_int64(st, 1);
	a->name = col_str_empty(st, 2);
}

static void sub_elem_free(void *a)
{
	free(((pd_sub_account *)a)->name);
}

pd_status store_sub_account_list(pd_store *s, int64_t customer_id, pd_sub_account **out, size_t *n,
                                 pd_err *e)
{
	E_GUARD(e);
	*out = NULL;
	*n = 0;
	static const char sql[] =
	    "SELECT id, customer_id, name FROM sub_accounts WHERE customer_id = ?"
	    " ORDER BY name";
	sqlite3_stmt *st = st_get(s, sql, e);
	if (!st)
		return FAILED(e);
	sqlite3_bind_int64(st, 1, customer_id);
	void *v;
	pd_status r = st_collect(s, st, sizeof **out, sub_row, NULL, sub_elem_free, &v, n,
	                         "list sub-accounts", e);
	*out = v;
	return r;
}

void pd_sub_accounts_free(pd_sub_account *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].name);
	free(v);
}

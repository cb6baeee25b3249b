/* The HTTP API's rows (include/provdesk/store_api.h, migration 10). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provdesk/dl_ssl.h"
#include "provdesk/i18n.h"
#include "provdesk/store_api.h"
#include "store_internal.h"

static const char *const scope_names[] = {"read", "provision", "billing"};

const char *pd_api_scope_name(pd_api_scope s)
{
	return (unsigned)s < 3 ? scope_names[s] : "?";
}

bool pd_api_scope_parse(const char *s, pd_api_scope *out)
{
	for (int i = 0; s && i < 3; i++)
		if (strcmp(s, scope_names[i]) == 0) {
			*out = (pd_api_scope)i;
			return true;
		}
	return false;
}

void pd_api_token_free(pd_api_token *t)
{
	free(t->name);
	free(t->created_by);
	memset(t, 0, sizeof *t);
}

static void token_elem_free(void *p)
{
	pd_api_token_free(p);
}

void pd_api_tokens_free(pd_api_token *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		pd_api_token_free(&v[i]);
	free(v);
}

void pd_sha256_hex(const void *data, size_t n, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	pd_ssl_need();
	if (!EVP_Digest(data, n, md, &len, EVP_sha256(), NULL))
		abort(); /* as allocation failure: libcrypto cannot hash */
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[64] = 0;
}

pd_status pd_check_api_token_name(const char *name, pd_err *e)
{
	size_t n = name ? strlen(name) : 0;
	bool ok = n >= 1 && n <= 64;
	for (size_t i = 0; ok && i < n; i++) {
		char c = name[i];
		ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		     c == '.' || c == '_' || c == '-';
	}
	if (!ok)
		return pd_fail(e, PD_E_INVALID, "name",
		               _("a token's name is 1 to 64 letters, digits, '.', '_' or '-'"));
	return PD_OK;
}

#define TOKEN_COLS "id, name, scope, created_by, created_at, coalesce(revoked_at, 0)"

static void token_row(sqlite3_stmt *st, void *elem, void *ctx)
{
	(void)ctx;
	pd_api_token *t = elem;
	t->id = sqlite3_column_int64(st, 0);
	t->name = col_str_empty(st, 1);
	pd_api_scope sc = PD_SCOPE_READ;
	pd_api_scope_parse((const char *)sqlite3_column_text(st, 2), &sc);
	t->scope = sc;
	t->created_by = col_str_empty(st, 3);
	t->created_at = sqlite3_column_int64(st, 4);
	t->revoked_at = sqlite3_column_int64(st, 5);
}

typedef struct {
	const char *name;
	pd_api_scope scope;
	const pd_actor *a;
	char hash[65];
	int64_t id;
} create_ctx;

static pd_status create_tx(pd_store *s, void *vx, pd_err *e)
{
	create_ctx *x = vx;
	static const char live[] = "SELECT 1 FROM api_tokens WHERE name = ? AND revoked_at IS NULL";
	sqlite3_stmt *st = st_get(s, live, e);
	if (!st)
		return FAILED(e);
	bind_text(st, 1, x->name);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return pd_fail(
		    e, PD_E_INVALID, "name",
		    _("an API token named '%s' exists; revoke it first or choose another name"),
		    x->name);
	if (rc != SQLITE_DONE)
		return st_fail(s, rc, e, "api token");
	static const char ins[] =
	    "INSERT INTO api_tokens(name, scope, hash, created_at, created_by)"
	    " VALUES (?,?,?,?,?)";
	st = st_get(s, ins, e);
	if (!st)
		return FAILED(e);
	bind_text(st, 1, x->name);
	bind_text(st, 2, pd_api_scope_name(x->scope));
	bind_text(st, 3, x->hash);
	sqlite3_bind_int64(st, 4, pd_now());
	bind_text(st, 5, x->a ? x->a->user : "");
	pd_status r = st_exec(s, st, e);
	if (r != PD_OK)
		return r;
	x->id = sqlite3_last_insert_rowid(s->db);
	char detail[160];
	snprintf(detail, sizeof detail, "name: %s, scope: %s", x->name,
	         pd_api_scope_name(x->scope));
	return audit_add(s, x->a, 0, 0, "api_token", "create", detail, e);
}

static pd_status token_by(pd_store *s, const char *sql, int64_t id, const char *text,
                          pd_api_token *out, pd_status none, const char *field, pd_err *e)
{
	memset(out, 0, sizeof *out);
	sqlite3_stmt *st = st_get(s, sql, e);
	if (!st)
		return FAILED(e);
	if (text)
		bind_text(st, 1, text);
	else
		sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		token_row(st, out, NULL);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return PD_OK;
	if (rc != SQLITE_DONE)
		return st_fail(s, rc, e, "api token");
	return pd_fail(e, none, field, "%s",
	               none == PD_E_AUTH ? _("unknown or revoked API token")
	                                 : _("no such API token"));
}

pd_status store_api_token_create(pd_store *s, const char *name, pd_api_scope scope,
                                 const pd_actor *a, char **secret, pd_api_token *out, pd_err *e)
{
	E_GUARD(e);
	*secret = NULL;
	memset(out, 0, sizeof *out);
	pd_status r = pd_check_api_token_name(name, e);
	if (r != PD_OK)
		return r;
	if ((unsigned)scope > PD_SCOPE_BILLING)
		return pd_fail(e, PD_E_INVALID, "scope", _("unknown scope"));
	unsigned char raw[32];
	if (!pd_ssl_load(e))
		return PD_E_UNAVAILABLE;
	if (RAND_bytes(raw, sizeof raw) != 1)
		return pd_fail(e, PD_E_INTERNAL, "token", _("no random bytes for a token"));
	char *sec = xmalloc(4 + 64 + 1);
	memcpy(sec, "pdk_", 4);
	for (size_t i = 0; i < sizeof raw; i++)
		snprintf(sec + 4 + 2 * i, 3, "%02x", raw[i]);
	create_ctx x = {.name = name, .scope = scope, .a = a};
	pd_sha256_hex(sec, strlen(sec), x.hash);
	r = store_tx(s, create_tx, &x, e);
	if (r == PD_OK) {
		static const char sql[] = "SELECT " TOKEN_COLS " FROM api_tokens WHERE id = ?";
		r = token_by(s, sql, x.id, NULL, out, PD_E_NOTFOUND, "token", e);
	}
	if (r != PD_OK) {
		memset(sec, 0, strlen(sec));
		free(sec);
		return r;
	}
	*secret = sec;
	return PD_OK;
}

pd_status store_api_token_list(pd_store *s, bool include_revoked, pd_api_token **out, size_t *n,
                               pd_err *e)
{
	E_GUARD(e);
	static const char all[] = "SELECT " TOKEN_COLS " FROM api_tokens ORDER BY name, id";
	static const char live[] =
	    "SELECT " TOKEN_COLS " FROM api_tokens WHERE revoked_at IS NULL ORDER BY name, id";
	sqlite3_stmt *st = st_get(s, include_revoked ? all : live, e);
	if (!st)
		return FAILED(e);
	void *v = NULL;
	pd_status r = st_collect(s, st, sizeof **out, token_row, NULL, token_elem_free, &v, n,
	                         "api token", e);
	*out = v;
	return r;
}

typedef struct {
	const char *name;
	const pd_actor *a;
	int64_t id;
} revoke_ctx;

static pd_status revoke_tx(pd_store *s, void *vx, pd_err *e)
{
	revoke_ctx *x = vx;
	static const char sql[] =
	    "UPDATE api_tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL";
	sqlite3_stmt *st = st_get(s, sql, e);
	if (!st)
		return FAILED(e);
	sqlite3_bind_int64(st, 1, pd_now());
	bind_text(st, 2, x->name);
	pd_status r = st_exec(s, st, e);
	if (r != PD_OK)
		return r;
	if (sqlite3_changes(s->db) == 0)
		return pd_fail(e, PD_E_NOTFOUND, "name", _("no live API token named '%.64s'"),
		               x->name);
	char detail[100];
	snprintf(detail, sizeof detail, "name: %s", x->name);
	return audit_add(s, x->a, 0, 0, "api_token", "revoke", detail, e);
}

pd_status store_api_token_revoke(pd_store *s, const char *name, const pd_actor *a, pd_err *e)
{
	E_GUARD(e);
	revoke_ctx x = {.name = name ? name : "", .a = a};
	return store_tx(s, revoke_tx, &x, e);
}

pd_status store_api_token_check(pd_store *s, const char *secret, pd_api_token *out, pd_err *e)
{
	E_GUARD(e);
	char hash[65];
	pd_sha256_hex(secret ? secret : "", secret ? strlen(secret) : 0, hash);
	static const char sql[] =
	    "SELECT " TOKEN_COLS " FROM api_tokens WHERE hash = ? AND revoked_at IS NULL";
	return token_by(s, sql, 0, hash, out, PD_E_AUTH, "authorization", e);
}

pd_status store_api_idem_get(pd_store *s, int64_t token_id, const char *key, char **request_hash,
                             int *http_status, char **body, pd_err *e)
{
	E_GUARD(e);
	*request_hash = NULL;
	*body = NULL;
	static const char sql[] = "SELECT request_hash, status, body FROM api_idempotency"
	                          " WHERE token_id = ? AND key = ?";
	sqlite3_stmt *st = st_get(s, sql, e);
	if (!st)
		return FAILED(e);
	sqlite3_bind_int64(st, 1, token_id);
	bind_text(st, 2, key);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*request_hash = col_str_empty(st, 0);
		*http_status = sqlite3_column_int(st, 1);
		*body = col_str_empty(st, 2);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return PD_OK;
	if (rc != SQLITE_DONE)
		return st_fail(s, rc, e, "idempotency key");
	return pd_fail(e, PD_E_NOTFOUND, "idempotency_key", _("no answer kept for this key"));
}

typedef struct {
	int64_t token_id;
	const char *key, *hash, *body;
	int status;
} idem_ctx;

static pd_status idem_put_tx(pd_store *s, void *vx, pd_err *e)
{
	idem_ctx *x = vx;
	static const char old[] = "DELETE FROM api_idempotency WHERE created_at < ?";
	sqlite3_stmt *st = st_get(s, old, e);
	if (!st)
		return FAILED(e);
	sqlite3_bind_int64(st, 1, pd_now() - 86400);
	pd_status r = st_exec(s, st, e);
	if (r != PD_OK)
		return r;
	static const char ins[] =
	    "INSERT OR IGNORE INTO api_idempotency(token_id, key, request_hash,"
	    " status, body, created_at) VALUES (?,?,?,?,?,?)";
	st = st_get(s, ins, e);
	if (!st)
		return FAILED(e);
	sqlite3_bind_int64(st, 1, x->token_id);
	bind_text(st, 2, x->key);
	bind_text(st, 3, x->hash);
	sqlite3_bind_int(st, 4, x->status);
	bind_text(st, 5, x->body);
	sqlite3_bind_int64(st, 6, pd_now());
	r = st_exec(s, st, e);
	if (r == PD_OK && sqlite3_changes(s->db) == 0)
		return pd_fail(
		    e, PD_E_CONFLICT, "idempotency_key",
		    _("this Idempotency-Key was used by another request at the same time"));
	return r;
}

pd_status store_api_idem_put(pd_store *s, int64_t token_id, const char *key,
                             const char *request_hash, int http_status, const char *body, pd_err *e)
{
	E_GUARD(e);
	idem_ctx x = {token_id, key, request_hash, body, http_status};
	return store_tx(s, idem_put_tx, &x, e);
}

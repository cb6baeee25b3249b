/* The wizard's drafts: one saved JSON document per owner. */
#include <stdlib.h>
#include <string.h>

#include "provdesk/i18n.h"
#include "store_internal.h"

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
		return pd_fail(e, PD_E_USAGE, "draft", _("a draft needs an owner and content"));
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
	return pd_fail(e, PD_E_NOTFOUND, "draft", _("no saved draft for %.64s"),
	               owner ? owner : "");
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

/* One-way user sync PBX -> console, in one transaction. The sync owns the
 * synced users' display name, email, sub-account and device state; the
 * console owns their role. Unchanged input writes nothing at all (the
 * transaction is rolled back), so a periodic resync costs no commit and no
 * audit row. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provdesk/i18n.h"
#include "store_internal.h"

typedef struct {
	int64_t id, linked;
	char *endpoint, *display_name, *email, *sub_account, *device_state;
	bool seen;
} existing;

typedef struct {
	int64_t cid;
	const pd_synced_user *in;
	size_t n;
	bool auto_provision;
	pd_sync_result *res;
	bool changed;
} sync_ctx;

static int cmp_existing(const void *a, const void *b)
{
	return strcmp(((const existing *)a)->endpoint, ((const existing *)b)->endpoint);
}

static void existing_free(void *elem)
{
	existing *x = elem;
	free(x->endpoint);
	free(x->display_name);
	free(x->email);
	free(x->sub_account);
	free(x->device_state);
}

static void free_existing(existing *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		existing_free(&v[i]);
	free(v);
}

static void existing_row(sqlite3_stmt *st, void *elem, void *ctx)
{
	(void)ctx;
	existing *x = elem;
	x->id = sqlite3_column_int64(st, 0);
	x->endpoint = col_str_empty(st, 1);
	x->display_name = col_str(st, 2);
	x->email = col_str(st, 3);
	x->sub_account = col_str(st, 4);
	x->device_state = col_str(st, 5);
	x->linked = sqlite3_column_int64(st, 6);
}

static bool same(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

/* The length of the user part of "user@domain" (FreeSWITCH), 0 when the
 * endpoint has none. */
static size_t user_part(const char *ep)
{
	const char *at = ep ? strchr(ep, '@') : NULL;
	return at && at > ep ? (size_t)(at - ep) : 0;
}

typedef struct {
	const char *s;
	size_t n, i;
} upart;

static int cmp_upart(const void *a, const void *b)
{
	const upart *x = a, *y = b;
	int c = memcmp(x->s, y->s, x->n < y->n ? x->n : y->n);
	return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* Which users share their user part with another of the list (1001@site-a
 * and 1001@site-b): a console extension 1001 names neither. */
static bool *shared_user_parts(const pd_synced_user *in, size_t n)
{
	bool *sh = xcalloc(n ? n : 1, sizeof *sh);
	upart *p = xcalloc(n ? n : 1, sizeof *p);
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		size_t l = user_part(in[i].endpoint);
		if (l)
			p[m++] = (upart){in[i].endpoint, l, i};
	}
	qsort(p, m, sizeof *p, cmp_upart);
	for (size_t i = 1; i < m; i++)
		if (!cmp_upart(&p[i - 1], &p[i]))
			sh[p[i - 1].i] = sh[p[i].i] = true;
	free(p);
	return sh;
}

/* The customer's console users (synced = 0) as the links need them, read
 * once per sync (issue 19: two queries per synced user before): sorted by
 * folded email and by extension. */
typedef struct {
	int64_t id;
	char *key; /* email_key or extension */
} console_key;

typedef struct {
	console_key *by_email, *by_ext;
	size_t n_email, n_ext;
} console_users;

static int cmp_console_key(const void *a, const void *b)
{
	return strcmp(((const console_key *)a)->key, ((const console_key *)b)->key);
}

static void console_users_free(console_users *cu)
{
	for (size_t i = 0; i < cu->n_email; i++)
		free(cu->by_email[i].key);
	for (size_t i = 0; i < cu->n_ext; i++)
		free(cu->by_ext[i].key);
	free(cu->by_email);
	free(cu->by_ext);
	memset(cu, 0, sizeof *cu);
}

static pd_status load_console_users(pd_store *s, int64_t cid, console_users *cu, pd_err *e)
{
	static const char sql[] = "SELECT id, email_key, extension FROM users"
	                          " WHERE customer_id = ? AND synced = 0";
	memset(cu, 0, sizeof *cu);
	sqlite3_stmt *st = st_get(s, sql, e);
	if (!st)
		return FAILED(e);
	sqlite3_bind_int64(st, 1, cid);
	size_t cap_e = 0, cap_x = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		const char *k = (const char *)sqlite3_column_text(st, 1);
		if (k) {
			if (cu->n_email == cap_e) {
				cap_e = cap_e ? cap_e * 2 : 16;
				cu->by_email = xrealloc(cu->by_email, cap_e * sizeof *cu->by_email);
			}
			cu->by_email[cu->n_email++] = (console_key){id, xstrdup(k)};
		}
		const char *x = (const char *)sqlite3_column_text(st, 2);
		if (x) {
			if (cu->n_ext == cap_x) {
				cap_x = cap_x ? cap_x * 2 : 16;
				cu->by_ext = xrealloc(cu->by_ext, cap_x * sizeof *cu->by_ext);
			}
			cu->by_ext[cu->n_ext++] = (console_key){id, xstrdup(x)};
		}
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		console_users_free(cu);
		return st_fail(s, rc, e, "link user");
	}
	if (cu->n_email) /* (qsort of NULL, even with no element, is undefined) */
		qsort(cu->by_email, cu->n_email, sizeof *cu->by_email, cmp_console_key);
	if (cu->n_ext)
		qsort(cu->by_ext, cu->n_ext, sizeof *cu->by_ext, cmp_console_key);
	return PD_OK;
}

/* How many of v[0..n) (sorted) have key k, at most 2; *id gets the last. */
static int count_key(const console_key *v, size_t n, const char *k, int64_t *id)
{
	size_t lo = 0, hi = n;
	while (lo < hi) { /* first with key >= k */
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(v[mid].key, k) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	int c = 0;
	for (size_t i = lo; i < n && c < 2 && strcmp(v[i].key, k) == 0; i++) {
		*id = v[i].id;
		c++;
	}
	return c;
}

/* The console user a synced user belongs to: the one with its email (the
 * same address on both systems), else the only one whose extension is its
 * endpoint, or its user part when the endpoint is "user@domain"
 * (FreeSWITCH; console extensions have no '@') and no other synced user has
 * that user part (by_user_part). 0 when none. */
static int64_t link_of(const console_users *cu, const char *ekey, const char *endpoint,
                       bool by_user_part)
{
	int64_t id = 0;
	if (ekey && count_key(cu->by_email, cu->n_email, ekey, &id) > 0)
		return id; /* one at most: users_console_email is unique */
	int n = count_key(cu->by_ext, cu->n_ext, endpoint, &id);
	size_t up = by_user_part ? user_part(endpoint) : 0;
	if (up && n < 2) {
		char *part = xstrndup(endpoint, up);
		n += count_key(cu->by_ext, cu->n_ext, part, &id);
		free(part);
	}
	return n == 1 ? id : 0; /* two console users with that extension: neither */
}

static void bind_link(sqlite3_stmt *st, int i, int64_t link)
{
	if (link)
		sqlite3_bind_int64(st, i, link);
	else
		sqlite3_bind_null(st, i);
}

static pd_status load_existing(pd_store *s, int64_t cid, existing **out, size_t *n, pd_err *e)
{
	static const char sql[] =
	    "SELECT id, endpoint, display_name, email, sub_account, device_state,"
	    " linked_user_id FROM users WHERE customer_id = ? AND synced = 1";
	*out = NULL;
	*n = 0;
	sqlite3_stmt *st = st_get(s, sql, e);
	if (!st)
		return FAILED(e);
	sqlite3_bind_int64(st, 1, cid);
	void *v;
	pd_status r = st_collect(s, st, sizeof **out, existing_row, NULL, existing_free, &v, n,
	                         "read synced users", e);
	*out = v;
	if (r != PD_OK)
		return r;
	if (*n > 1)
		qsort(*out, *n, sizeof **out, cmp_existing);
	return PD_OK;
}

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The customer's sub-account names, sorted. */
static pd_status load_sub_accounts(pd_store *s, int64_t cid, char ***out, size_t *n, pd_err *e)
{
	static const char sql[] = "SELECT name FROM sub_accounts WHERE customer_id = ?";
	*out = NULL;
	*n = 0;
	sqlite3_stmt *st = st_get(s, sql, e);
	if (!st)
		return FAILED(e);
	sqlite3_bind_int64(st, 1, cid);
	size_t cap = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			*out = xrealloc(*out, cap * sizeof **out);
		}
		(*out)[(*n)++] = col_str_empty(st, 0);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return st_fail(s, rc, e, "read sub-accounts");
	if (*n > 1) /* (*out is NULL when there is none: qsort of NULL is undefined) */
		qsort(*out, *n, sizeof **out, cmp_strp);
	return PD_OK;
}

static pd_status sync_tx(pd_store *s, void *vx, pd_err *e)
{
	sync_ctx *x = vx;
	pd_sync_result *res = x->res;
	memset(res, 0, sizeof *res);
	x->changed = false;
	pd_customer c;
	pd_status r = cust_load(s, x->cid, &c, e);
	if (r != PD_OK)
		return r;
	pd_customer_free(&c);

	existing *ex;
	size_t nex;
	if ((r = load_existing(s, x->cid, &ex, &nex, e)) != PD_OK) {
		free_existing(ex, nex);
		return r;
	}
	console_users cu;
	if ((r = load_console_users(s, x->cid, &cu, e)) != PD_OK) {
		free_existing(ex, nex);
		return r;
	}
	pd_buf added = {0}, changed = {0}, removed = {0}, linked = {0};
	static const char ins[] =
	    "INSERT INTO users(customer_id, display_name, email, email_key, synced,"
	    " endpoint, sub_account, device_state, linked_user_id, created_at)"
	    " VALUES (?,?,?,?,1,?,?,?,?,?)";
	static const char upd[] =
	    "UPDATE users SET display_name=?, email=?, email_key=?, sub_account=?,"
	    " device_state=?, linked_user_id=?, version=version+1 WHERE id=?";
	static const char del[] = "DELETE FROM users WHERE id = ?";
	bool *shared = shared_user_parts(x->in, x->n);
	for (size_t i = 0; r == PD_OK && i < x->n; i++) {
		const pd_synced_user *u = &x->in[i];
		char *ekey = u->email && *u->email ? pd_fold_key(u->email) : NULL;
		int64_t link = link_of(&cu, ekey, u->endpoint, !shared[i]);
		existing key = {.endpoint = (char *)u->endpoint};
		existing *old = nex ? bsearch(&key, ex, nex, sizeof *ex, cmp_existing) : NULL;
		/* a link made now (a new user, or one not linked to this console
		 * user before) is counted apart: "N linked" */
		if (link && (!old || old->linked != link)) {
			res->linked++;
			if (linked.len < 300)
				pd_buf_printf(&linked, "%s%s -> #%lld", linked.len ? ", " : "",
				              u->endpoint, (long long)link);
		}
		sqlite3_stmt *st = NULL;
		if (!old) {
			st = st_get(s, ins, e);
			if (st) {
				sqlite3_bind_int64(st, 1, x->cid);
				bind_text(st, 2, u->display_name ? u->display_name : "");
				bind_opt(st, 3, u->email);
				bind_opt(st, 4, ekey);
				bind_text(st, 5, u->endpoint);
				bind_opt(st, 6, u->sub_account);
				bind_opt(st, 7, u->device_state);
				bind_link(st, 8, link);
				sqlite3_bind_int64(st, 9, pd_now());
			}
			res->added++;
			if (added.len < 300)
				pd_buf_printf(&added, "%s%s \"%s\"", added.len ? ", " : "",
				              u->endpoint, u->display_name ? u->display_name : "");
		} else {
			old->seen = true;
			bool fields = !same(old->display_name, u->display_name) ||
			              !same(old->email, u->email) ||
			              !same(old->sub_account, u->sub_account);
			bool relinked = old->linked != link;
			bool owned = fields || relinked;
			bool state = !same(old->device_state, u->device_state);
			if (fields || (relinked && !link)) { /* a lost link is an update */
				res->updated++;
				if (changed.len < 300) {
					pd_buf one = {0};
					diff_str(&one, "display_name", old->display_name,
					         u->display_name);
					diff_str(&one, "email", old->email, u->email);
					diff_str(&one, "sub_account", old->sub_account,
					         u->sub_account);
					pd_buf_printf(&changed, "%s%s (%s)",
					              changed.len ? ", " : "", u->endpoint,
					              one.len ? one.s : "link removed");
					pd_buf_free(&one);
				}
			} else if (!owned) {
				res->unchanged++;
			}
			if (owned || state) {
				st = st_get(s, upd, e);
				if (st) {
					bind_text(st, 1, u->display_name ? u->display_name : "");
					bind_opt(st, 2, u->email);
					bind_opt(st, 3, ekey);
					bind_opt(st, 4, u->sub_account);
					bind_opt(st, 5, u->device_state);
					bind_link(st, 6, link);
					sqlite3_bind_int64(st, 7, old->id);
				}
			}
		}
		free(ekey);
		if (st) {
			r = st_exec(s, st, e);
			x->changed = true;
		} else if (e->status != PD_OK) {
			r = e->status; /* st_get failed */
		}
	}
	for (size_t i = 0; r == PD_OK && i < nex; i++) {
		if (ex[i].seen)
			continue;
		sqlite3_stmt *st = st_get(s, del, e);
		if (!st) {
			r = FAILED(e);
			break;
		}
		sqlite3_bind_int64(st, 1, ex[i].id);
		r = st_exec(s, st, e);
		x->changed = true;
		res->removed++;
		if (removed.len < 300)
			pd_buf_printf(&removed, "%s%s \"%s\"", removed.len ? ", " : "",
			              ex[i].endpoint, ex[i].display_name ? ex[i].display_name : "");
	}
	if (r == PD_OK && x->auto_provision) {
		static const char sub[] =
		    "INSERT OR IGNORE INTO sub_accounts(customer_id, name) VALUES (?,?)";
		char **have = NULL;
		size_t nhave = 0;
		r = load_sub_accounts(s, x->cid, &have, &nhave, e);
		for (size_t i = 0; r == PD_OK && i < x->n; i++) {
			const char *name = x->in[i].sub_account;
			if (!name || !*name)
				continue;
			if (nhave && bsearch(&name, have, nhave, sizeof *have, cmp_strp))
				continue; /* there already: nothing to write */
			sqlite3_stmt *st = st_get(s, sub, e);
			if (!st) {
				r = FAILED(e);
				break;
			}
			sqlite3_bind_int64(st, 1, x->cid);
			bind_text(st, 2, name);
			r = st_exec(s, st, e);
			if (r == PD_OK && sqlite3_changes(s->db) > 0) {
				res->sub_accounts_added++;
				x->changed = true;
			}
		}
		for (size_t i = 0; i < nhave; i++)
			free(have[i]);
		free(have);
	}
	if (r == PD_OK && (res->added || res->updated || res->removed || res->sub_accounts_added ||
	                   res->linked)) {
		pd_buf d = {0};
		pd_buf_printf(&d, "%d new, %d updated, %d removed, %d linked", res->added,
		              res->updated, res->removed, res->linked);
		if (res->sub_accounts_added)
			pd_buf_printf(&d, ", %d sub-accounts added", res->sub_accounts_added);
		if (added.len)
			pd_buf_printf(&d, "; new: %s", added.s);
		if (changed.len)
			pd_buf_printf(&d, "; updated: %s", changed.s);
		if (removed.len)
			pd_buf_printf(&d, "; removed: %s", removed.s);
		if (linked.len)
			pd_buf_printf(&d, "; linked: %s", linked.s);
		r = audit_add(s, NULL, x->cid, 0, "user", "sync", d.s, e);
		pd_buf_free(&d);
	}
	pd_buf_free(&added);
	pd_buf_free(&changed);
	pd_buf_free(&removed);
	pd_buf_free(&linked);
	free(shared);
	free_existing(ex, nex);
	console_users_free(&cu);
	return r;
}

typedef struct {
	const char *ep;
	size_t i;
} ep_at;

static int cmp_ep_at(const void *a, const void *b)
{
	const ep_at *x = a, *y = b;
	int c = strcmp(x->ep, y->ep);
	return c ? c : (x->i > y->i) - (x->i < y->i);
}

/* The first index whose endpoint an earlier user has, n when none: sorted
 * (10,000 endpoints compared pairwise were 50 million compares). */
static size_t first_repeat(const pd_synced_user *users, size_t n)
{
	size_t first = n;
	if (n < 2)
		return first;
	ep_at *v = xcalloc(n, sizeof *v);
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (users[i].endpoint)
			v[m++] = (ep_at){users[i].endpoint, i};
	qsort(v, m, sizeof *v, cmp_ep_at);
	for (size_t k = 1; k < m; k++)
		if (!strcmp(v[k - 1].ep, v[k].ep) && (k < 2 || strcmp(v[k - 2].ep, v[k].ep)) &&
		    v[k].i < first)
			first = v[k].i; /* the second of its group in list order */
	free(v);
	return first;
}

pd_status store_sync_users(pd_store *s, int64_t customer_id, const pd_synced_user *users, size_t n,
                           bool auto_provision, pd_sync_result *res, pd_err *e)
{
	E_GUARD(e);
	pd_err_clear(e);
	pd_sync_result local;
	if (!res)
		res = &local;
	memset(res, 0, sizeof *res);
	/* Bad bytes from a PBX are refused before anything is touched; the
	 * first bad user in list order is named. */
	size_t dup = first_repeat(users, n);
	for (size_t i = 0; i < n; i++) {
		const pd_synced_user *u = &users[i];
		if (!u->endpoint || !*u->endpoint)
			return pd_fail(e, PD_E_INVALID, "endpoint",
			               _("synced user %zu has no endpoint id"), i + 1);
		const char *f[] = {u->endpoint, u->display_name, u->email, u->sub_account,
		                   u->device_state};
		for (size_t k = 0; k < 5; k++)
			if (f[k] && !pd_utf8_valid(f[k], strlen(f[k])))
				return pd_fail(e, PD_E_INVALID, "endpoint",
				               _("synced user %zu (%.32s) has invalid UTF-8"),
				               i + 1, "endpoint");
		if (i == dup)
			return pd_fail(e, PD_E_INVALID, "endpoint",
			               _("endpoint %.64s appears twice in the PBX's user list"),
			               u->endpoint);
	}
	sync_ctx x = {customer_id, users, n, auto_provision, res, false};
	return store_tx_maybe(s, sync_tx, &x, &x.changed, e);
}

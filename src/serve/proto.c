/* The wire between `provdesk serve` and its clients: see
 * include/provdesk/serve.h. Everything read here came from another process
 * (possibly another user's): every line is bounded, every field checked
 * before it reaches a pd_live, and a bad one names itself. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "provdesk/i18n.h"
#include "provdesk/serve.h"
#include "provdesk/util.h"

/* A buffer that held a message this large is given back afterwards. */
#define READER_KEEP (64u * 1024)

void pd_sp_reader_init(pd_sp_reader *r, size_t max)
{
	memset(r, 0, sizeof *r);
	r->max = max;
}

void pd_sp_reader_free(pd_sp_reader *r)
{
	free(r->buf);
	memset(r, 0, sizeof *r);
}

pd_status pd_sp_reader_feed(pd_sp_reader *r, const char *p, size_t n, pd_err *e)
{
	if (!n)
		return PD_OK;
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;
		while (cap < r->len + n + 1)
			cap *= 2;
		r->buf = xrealloc(r->buf, cap);
		r->cap = cap;
	}
	memcpy(r->buf + r->len, p, n);
	r->len += n;
	/* the line still open (after the last newline) is bounded now; a
	 * complete one is checked when it is taken */
	const char *nl = memrchr(r->buf, '\n', r->len);
	size_t open = nl ? r->len - (size_t)(nl + 1 - r->buf) : r->len;
	if (open > r->max)
		return pd_fail(e, PD_E_PROTOCOL, "message", _("a line longer than %zu bytes"),
		               r->max);
	return PD_OK;
}

static void reader_consume(pd_sp_reader *r, size_t n)
{
	memmove(r->buf, r->buf + n, r->len - n);
	r->len -= n;
	if (r->cap > READER_KEEP && r->len < READER_KEEP / 2) {
		r->cap = READER_KEEP;
		r->buf = xrealloc(r->buf, r->cap);
	}
}

int pd_sp_reader_next(pd_sp_reader *r, json_t **msg, pd_err *e)
{
	*msg = NULL;
	char *nl = r->len ? memchr(r->buf, '\n', r->len) : NULL;
	if (!nl)
		return 0;
	size_t n = (size_t)(nl - r->buf);
	if (n > r->max) {
		reader_consume(r, n + 1);
		pd_fail(e, PD_E_PROTOCOL, "message", _("a line longer than %zu bytes"), r->max);
		return -1;
	}
	json_error_t je;
	json_t *o = json_loadb(r->buf, n, JSON_REJECT_DUPLICATES, &je);
	reader_consume(r, n + 1);
	if (!o) {
		pd_fail(e, PD_E_PROTOCOL, "message", _("not JSON: %s"), je.text);
		return -1;
	}
	if (!json_is_object(o) || !json_is_string(json_object_get(o, "t"))) {
		json_decref(o);
		pd_fail(e, PD_E_PROTOCOL, "message", _("not an object with a type \"t\""));
		return -1;
	}
	*msg = o;
	return 1;
}

char *pd_sp_encode(const json_t *msg, size_t *len)
{
	char *s = json_dumps(msg, JSON_COMPACT | JSON_ENSURE_ASCII);
	if (!s)
		return NULL;
	size_t n = strlen(s);
	char *out = xrealloc(s, n + 2);
	out[n] = '\n';
	out[n + 1] = 0;
	*len = n + 1;
	return out;
}

/* ---- views ---- */

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *pd_sp_view_to_json(const pd_live_view *v)
{
	json_t *o = json_object();
	json_object_set_new(o, "t", json_string("view"));
	json_object_set_new(o, "customer", json_integer(v->customer_id));
	json_object_set_new(o, "link", json_integer(v->link));
	json_object_set_new(o, "last_error", json_string(v->last_error));
	json_object_set_new(o, "sync_done", json_integer(v->sync_done));
	json_object_set_new(o, "sync_total", json_integer(v->sync_total));
	json_object_set_new(o, "retry_at", json_integer(v->retry_at_ms));
	json_object_set_new(o, "link_since", json_integer(v->link_since_ms));
	json_object_set_new(o, "down_since", json_integer(v->down_since_ms));
	json_object_set_new(o, "stale", json_boolean(v->stale));
	json_object_set_new(o, "stale_since", json_integer(v->stale_since_ms));
	json_t *u = json_array();
	for (size_t i = 0; i < v->n_users; i++)
		json_array_append_new(u, json_pack("[s?s?s?s?]", v->users[i].endpoint,
		                                   v->users[i].name, v->users[i].sub_account,
		                                   v->users[i].device_state));
	json_object_set_new(o, "users", u);
	json_t *c = json_array();
	for (size_t i = 0; i < v->n_calls; i++) {
		const pd_live_call *k = &v->calls[i];
		json_t *a = json_array();
		json_array_append_new(a, str_or_null(k->id));
		json_array_append_new(a, str_or_null(k->from));
		json_array_append_new(a, str_or_null(k->from_name));
		json_array_append_new(a, str_or_null(k->to));
		json_array_append_new(a, str_or_null(k->queue));
		json_array_append_new(a, str_or_null(k->agent));
		json_array_append_new(a, json_integer(k->dir));
		json_array_append_new(a, json_integer(k->state));
		json_array_append_new(a, json_integer(k->start_ms));
		json_array_append_new(a, json_integer(k->state_since_ms));
		json_array_append_new(a, json_integer(k->end_ms));
		json_array_append_new(c, a);
	}
	json_object_set_new(o, "calls", c);
	json_t *g = json_array();
	for (size_t i = 0; i < v->n_agents; i++) {
		const pd_live_agent *k = &v->agents[i];
		json_t *a = json_array();
		json_array_append_new(a, str_or_null(k->interface));
		json_array_append_new(a, str_or_null(k->name));
		json_array_append_new(a, str_or_null(k->queues));
		json_array_append_new(a, str_or_null(k->reason));
		json_array_append_new(a, json_integer(k->state));
		json_array_append_new(a, json_integer(k->since_ms));
		json_array_append_new(a, json_boolean(k->paused));
		json_array_append_new(a, json_integer(k->until_ms));
		json_array_append_new(g, a);
	}
	json_object_set_new(o, "agents", g);
	const pd_live_input *in = &v->input;
	json_object_set_new(o, "input",
	                    json_pack("[IIIIIIIIb]", (json_int_t)in->dropped_calls,
	                              (json_int_t)in->dropped_channels, (json_int_t)in->aged_out,
	                              (json_int_t)in->stale_channels, (json_int_t)in->bad_fields,
	                              (json_int_t)in->dropped_other, (json_int_t)in->calls,
	                              (json_int_t)in->channels, in->capped));
	return o;
}

/* Readers of one field each: false with e naming the field. */
typedef struct {
	pd_err *e;
	char field[64];
	bool bad;
} rd;

static bool rd_fail(rd *r, const char *what)
{
	if (!r->bad)
		pd_fail(r->e, PD_E_PROTOCOL, r->field, "%s", what);
	r->bad = true;
	return false;
}

static int64_t rd_int(rd *r, const json_t *j, int64_t lo, int64_t hi)
{
	if (!json_is_integer(j))
		return rd_fail(r, _("not an integer")), 0;
	json_int_t v = json_integer_value(j);
	if (v < lo || v > hi)
		return rd_fail(r, _("out of range")), 0;
	return (int64_t)v;
}

/* A string from another process: valid UTF-8, bounded, no NUL. NULL for
 * JSON null when nullable. */
static char *rd_str(rd *r, const json_t *j, bool nullable)
{
	if (json_is_null(j) && nullable)
		return NULL;
	if (!json_is_string(j))
		return rd_fail(r, _("not a string")), NULL;
	size_t n = json_string_length(j);
	const char *s = json_string_value(j);
	if (n > 4096 || memchr(s, 0, n) || !pd_utf8_valid(s, n))
		return rd_fail(r, _("not a short UTF-8 text")), NULL;
	return xstrdup(s);
}

static const json_t *rd_arr(rd *r, const json_t *o, const char *key, size_t want)
{
	const json_t *a = key ? json_object_get(o, key) : o;
	if (!json_is_array(a) || (want && json_array_size(a) != want))
		return rd_fail(r,
		               want ? _("not an array of the expected length") : _("not an array")),
		       NULL;
	return a;
}

static void rd_at(rd *r, const char *key, size_t i)
{
	if (!r->bad)
		snprintf(r->field, sizeof r->field, "%s[%zu]", key, i);
}

static void rd_key(rd *r, const char *key)
{
	if (!r->bad)
		pd_utf8_copys(r->field, sizeof r->field, key);
}

#define I64 INT64_MIN, INT64_MAX

pd_status pd_sp_view_from_json(const json_t *o, pd_live_view *out, pd_err *e)
{
	memset(out, 0, sizeof *out);
	rd r = {.e = e};
	rd_key(&r, "customer");
	out->customer_id = rd_int(&r, json_object_get(o, "customer"), 1, INT64_MAX);
	rd_key(&r, "link");
	out->link = (pd_link_state)rd_int(&r, json_object_get(o, "link"), 0, PD_LINK_N_STATES - 1);
	rd_key(&r, "last_error");
	char *le = rd_str(&r, json_object_get(o, "last_error"), false);
	if (le) { /* valid UTF-8 (rd_str), kept whole code points */
		pd_utf8_copy(out->last_error, sizeof out->last_error, le, strlen(le));
		free(le);
	}
	rd_key(&r, "sync_done");
	out->sync_done = (int)rd_int(&r, json_object_get(o, "sync_done"), 0, INT_MAX);
	rd_key(&r, "sync_total");
	out->sync_total = (int)rd_int(&r, json_object_get(o, "sync_total"), 0, INT_MAX);
	rd_key(&r, "retry_at");
	out->retry_at_ms = rd_int(&r, json_object_get(o, "retry_at"), I64);
	rd_key(&r, "link_since");
	out->link_since_ms = rd_int(&r, json_object_get(o, "link_since"), I64);
	rd_key(&r, "down_since");
	out->down_since_ms = rd_int(&r, json_object_get(o, "down_since"), I64);
	rd_key(&r, "stale");
	const json_t *st = json_object_get(o, "stale");
	if (!json_is_boolean(st))
		rd_fail(&r, _("not a boolean"));
	out->stale = json_is_true(st);
	rd_key(&r, "stale_since");
	out->stale_since_ms = rd_int(&r, json_object_get(o, "stale_since"), I64);

	rd_key(&r, "users");
	const json_t *a = r.bad ? NULL : rd_arr(&r, o, "users", 0);
	if (a && json_array_size(a)) {
		out->users = xcalloc(json_array_size(a), sizeof *out->users);
		for (size_t i = 0; i < json_array_size(a) && !r.bad; i++) {
			rd_at(&r, "users", i);
			const json_t *x = rd_arr(&r, json_array_get(a, i), NULL, 4);
			if (!x)
				break;
			pd_live_user *u = &out->users[out->n_users++];
			u->endpoint = rd_str(&r, json_array_get(x, 0), true);
			u->name = rd_str(&r, json_array_get(x, 1), true);
			u->sub_account = rd_str(&r, json_array_get(x, 2), true);
			u->device_state = rd_str(&r, json_array_get(x, 3), true);
		}
	}
	rd_key(&r, "calls");
	a = r.bad ? NULL : rd_arr(&r, o, "calls", 0);
	if (a && json_array_size(a)) {
		out->calls = xcalloc(json_array_size(a), sizeof *out->calls);
		for (size_t i = 0; i < json_array_size(a) && !r.bad; i++) {
			rd_at(&r, "calls", i);
			const json_t *x = rd_arr(&r, json_array_get(a, i), NULL, 11);
			if (!x)
				break;
			pd_live_call *k = &out->calls[out->n_calls++];
			k->id = rd_str(&r, json_array_get(x, 0), true);
			k->from = rd_str(&r, json_array_get(x, 1), true);
			k->from_name = rd_str(&r, json_array_get(x, 2), true);
			k->to = rd_str(&r, json_array_get(x, 3), true);
			k->queue = rd_str(&r, json_array_get(x, 4), true);
			k->agent = rd_str(&r, json_array_get(x, 5), true);
			k->dir = (pd_call_dir)rd_int(&r, json_array_get(x, 6), 0, PD_DIR_INTERNAL);
			k->state =
			    (pd_call_state)rd_int(&r, json_array_get(x, 7), 0, PD_CALL_ENDED);
			k->start_ms = rd_int(&r, json_array_get(x, 8), I64);
			k->state_since_ms = rd_int(&r, json_array_get(x, 9), I64);
			k->end_ms = rd_int(&r, json_array_get(x, 10), I64);
		}
	}
	rd_key(&r, "agents");
	a = r.bad ? NULL : rd_arr(&r, o, "agents", 0);
	if (a && json_array_size(a)) {
		out->agents = xcalloc(json_array_size(a), sizeof *out->agents);
		for (size_t i = 0; i < json_array_size(a) && !r.bad; i++) {
			rd_at(&r, "agents", i);
			const json_t *x = rd_arr(&r, json_array_get(a, i), NULL, 8);
			if (!x)
				break;
			pd_live_agent *k = &out->agents[out->n_agents++];
			k->interface = rd_str(&r, json_array_get(x, 0), true);
			k->name = rd_str(&r, json_array_get(x, 1), true);
			k->queues = rd_str(&r, json_array_get(x, 2), true);
			k->reason = rd_str(&r, json_array_get(x, 3), true);
			k->state =
			    (pd_agent_state)rd_int(&r, json_array_get(x, 4), 0, PD_AGENT_OFFLINE);
			k->since_ms = rd_int(&r, json_array_get(x, 5), I64);
			const json_t *p = json_array_get(x, 6);
			if (!json_is_boolean(p))
				rd_fail(&r, _("paused is not a boolean"));
			k->paused = json_is_true(p);
			k->until_ms = rd_int(&r, json_array_get(x, 7), I64);
		}
	}
	rd_key(&r, "input");
	const json_t *in = r.bad ? NULL : rd_arr(&r, o, "input", 9);
	if (in) {
		uint64_t *u[] = {&out->input.dropped_calls, &out->input.dropped_channels,
		                 &out->input.aged_out,      &out->input.stale_channels,
		                 &out->input.bad_fields,    &out->input.dropped_other};
		for (size_t i = 0; i < 6; i++)
			*u[i] = (uint64_t)rd_int(&r, json_array_get(in, i), 0, INT64_MAX);
		out->input.calls = rd_int(&r, json_array_get(in, 6), 0, INT64_MAX);
		out->input.channels = rd_int(&r, json_array_get(in, 7), 0, INT64_MAX);
		const json_t *cp = json_array_get(in, 8);
		if (!json_is_boolean(cp))
			rd_fail(&r, _("capped is not a boolean"));
		out->input.capped = json_is_true(cp);
	}
	if (r.bad) {
		pd_live_free_view(out);
		return PD_E_PROTOCOL;
	}
	return PD_OK;
}

json_t *pd_sp_sync_to_json(int64_t cid, int64_t seq, const pd_sync_result *r)
{
	return json_pack("{s:s,s:I,s:I,s:{s:i,s:i,s:i,s:i,s:i,s:i}}", "t", "sync", "customer",
	                 (json_int_t)cid, "seq", (json_int_t)seq, "result", "added", r->added,
	                 "updated", r->updated, "removed", r->removed, "unchanged", r->unchanged,
	                 "sub_accounts_added", r->sub_accounts_added, "linked", r->linked);
}

pd_status pd_sp_sync_from_json(const json_t *o, int64_t *cid, int64_t *seq, pd_sync_result *res,
                               pd_err *e)
{
	rd r = {.e = e};
	rd_key(&r, "customer");
	*cid = rd_int(&r, json_object_get(o, "customer"), 1, INT64_MAX);
	rd_key(&r, "seq");
	*seq = rd_int(&r, json_object_get(o, "seq"), 0, INT64_MAX);
	const json_t *x = json_object_get(o, "result");
	rd_key(&r, "result");
	if (!json_is_object(x))
		rd_fail(&r, _("not an object"));
	static const char *keys[] = {
	    "added", "updated", "removed", "unchanged", "sub_accounts_added", "linked"};
	int *dst[] = {
	    &res->added, &res->updated, &res->removed, &res->unchanged, &res->sub_accounts_added,
	    &res->linked};
	for (size_t i = 0; i < 6 && !r.bad; i++) {
		snprintf(r.field, sizeof r.field, "result.%s", keys[i]);
		*dst[i] = (int)rd_int(&r, json_object_get(x, keys[i]), 0, INT_MAX);
	}
	return r.bad ? PD_E_PROTOCOL : PD_OK;
}

/* ---- where ---- */

char *pd_serve_lock_path(const char *db_path)
{
	size_t n = strlen(db_path) + sizeof ".serve.lock";
	char *p = xmalloc(n);
	snprintf(p, n, "%s.serve.lock", db_path);
	return p;
}

/* FNV-1a, 64 bits: a name for a database path that is too long */
static uint64_t fnv(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static bool private_dir(const char *dir)
{
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return false;
	struct stat st;
	/* a directory another user made (or a symlink) is not ours to use */
	return lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid() &&
	       !(st.st_mode & 077);
}

char *pd_serve_socket_path(const char *db_path, pd_err *e)
{
	struct sockaddr_un sa;
	char *real = realpath(db_path, NULL);
	if (!real) {
		pd_fail(e, PD_E_NOINPUT, "database", "%s: %s", db_path, strerror(errno));
		return NULL;
	}
	size_t n = strlen(real) + sizeof ".sock";
	if (n <= sizeof sa.sun_path) {
		char *p = xmalloc(n);
		snprintf(p, n, "%s.sock", real);
		free(real);
		return p;
	}
	uint64_t h = fnv(real);
	free(real);
	char dir[sizeof sa.sun_path];
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	if (xdg && *xdg && strlen(xdg) + 40 < sizeof sa.sun_path)
		snprintf(dir, sizeof dir, "%s/provdesk", xdg);
	else
		snprintf(dir, sizeof dir, "/tmp/provdesk-%u", (unsigned)geteuid());
	if (!private_dir(dir)) {
		pd_fail(e, PD_E_CANTCREATE, "socket", _("%s: not a private directory"), dir);
		return NULL;
	}
	pd_buf b = {0};
	pd_buf_printf(&b, "%s/%016llx.sock", dir, (unsigned long long)h);
	return pd_buf_steal(&b); /* dir was chosen to leave room for the name */
}

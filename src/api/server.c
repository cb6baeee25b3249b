/* The HTTP API's server (docs/architecture.md, "HTTP API"): libmicrohttpd
 * parses HTTP and runs TLS (GnuTLS) on its own worker threads; this file
 * bounds what a client may send (body, headers, time, connections, rate per
 * token), checks the bearer token and its scope, routes, keeps the answers
 * of POSTs sent with an Idempotency-Key, and writes every error as one JSON
 * object. Each worker thread opens its own store connection on its first
 * request and closes it when the thread ends. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/sockios.h>
#include <locale.h>
#include <math.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api_internal.h"
#include "provdesk/i18n.h"
#include "provdesk/paths.h"
#include "provdesk/util.h"

#define DEFAULT_MAX_BODY (1024 * 1024)
#define MAX_IDEM_KEY 200

typedef struct {
	int64_t token_id;
	double tokens;
	int64_t last_ms;
} bucket;

struct pd_api {
	pd_api_opts o;
	char *db_path;
	pd_config cfg_default;
	struct MHD_Daemon *d;
	pthread_key_t store_key;
	char *cert, *key; /* PEM text, wiped at stop; NULL: plain HTTP */
	bool v6;
	char *openapi;
	size_t openapi_len;
	int port;
	pthread_mutex_t lock; /* buckets */
	bucket *buckets;
	size_t n_buckets, cap_buckets;
	/* event streams (GET /v1/events): see "Server-Sent Events" below */
	pthread_mutex_t sse_mu;
	pthread_cond_t sse_cv;
	struct sse_state *sse_head;
	size_t n_sse;
	bool sse_closing, sse_quit, sse_thread_on;
	pthread_t sse_thread;
	/* the answers' languages (Accept-Language): English (messages of the
	 * "C" locale, whatever LANG or LANGUAGE the daemon has) and French,
	 * NULL when the system lacks fr_FR.UTF-8; see handle_in_language */
	locale_t loc_en, loc_fr;
};

/* ---- the router ---- */

enum { SC_NONE = 0, SC_READ = 1, SC_PROVISION = 2, SC_BILLING = 4 };

static const struct {
	const char *method, *pattern;
	int scopes; /* token scopes that may call it; SC_NONE: no token needed */
	api_handler fn;
	bool idempotent_post; /* POST that honours Idempotency-Key */
} routes[] = {
    {"GET", "/v1/openapi.json", SC_NONE, api_r_openapi, false},
    {"GET", "/v1/customers", SC_READ | SC_PROVISION, api_r_customers_list, false},
    {"POST", "/v1/customers", SC_PROVISION, api_r_customers_create, true},
    {"GET", "/v1/customers/{id}", SC_READ | SC_PROVISION, api_r_customer_get, false},
    {"PATCH", "/v1/customers/{id}", SC_PROVISION, api_r_customer_patch, false},
    {"DELETE", "/v1/customers/{id}", SC_PROVISION, api_r_customer_delete, false},
    {"GET", "/v1/customers/{id}/users", SC_READ | SC_PROVISION, api_r_users_list, false},
    {"POST", "/v1/customers/{id}/users", SC_PROVISION, api_r_user_add, true},
    {"DELETE", "/v1/customers/{id}/users/{user}", SC_PROVISION, api_r_user_remove, false},
    {"PUT", "/v1/customers/{id}/users/{user}/role", SC_PROVISION, api_r_user_role, false},
    {"POST", "/v1/customers/{id}/trial/extend", SC_PROVISION, api_r_trial_extend, true},
    {"POST", "/v1/customers/{id}/trial/convert", SC_PROVISION, api_r_trial_convert, true},
    {"GET", "/v1/customers/{id}/pbx/status", SC_READ | SC_PROVISION, api_r_pbx_status, false},
    {"POST", "/v1/customers/{id}/pbx/test", SC_PROVISION, api_r_pbx_test, false},
    {"POST", "/v1/customers/{id}/pbx/resync", SC_PROVISION, api_r_pbx_resync, false},
    {"GET", "/v1/events", SC_READ | SC_PROVISION, api_r_events, false},
    {"GET", "/v1/catalogue", SC_READ | SC_PROVISION | SC_BILLING, api_r_catalogue, false},
    {"GET", "/v1/billing", SC_BILLING, api_r_billing, false},
};
#define N_ROUTES (sizeof routes / sizeof routes[0])

bool pd_api_route(size_t i, const char **method, const char **pattern)
{
	if (i >= N_ROUTES)
		return false;
	*method = routes[i].method;
	*pattern = routes[i].pattern;
	return true;
}

/* Matches path against pattern, filling params; false when it does not. */
static bool match(const char *pattern, const char *path, char *buf, size_t bufn,
                  const char **params)
{
	size_t np = 0, used = 0;
	const char *p = pattern, *u = path;
	while (*p && *u) {
		if (*p != '/' || *u != '/')
			return false;
		p++;
		u++;
		const char *pe = strchr(p, '/'), *ue = strchr(u, '/');
		size_t pl = pe ? (size_t)(pe - p) : strlen(p),
		       ul = ue ? (size_t)(ue - u) : strlen(u);
		if (pl >= 2 && p[0] == '{') {
			if (ul == 0 || np == API_MAX_PARAMS || used + ul + 1 > bufn)
				return false;
			memcpy(buf + used, u, ul);
			buf[used + ul] = 0;
			params[np++] = buf + used;
			used += ul + 1;
		} else if (pl != ul || memcmp(p, u, pl) != 0)
			return false;
		p += pl;
		u += ul;
	}
	return !*p && !*u;
}

/* ---- errors: one table from status to HTTP ---- */

int api_http_status(pd_status st)
{
	static const int map[PD_STATUS__COUNT] = {
	    [PD_OK] = 200,         [PD_E_USAGE] = 400,      [PD_E_INVALID] = 422,
	    [PD_E_NOTFOUND] = 404, [PD_E_NOINPUT] = 400,    [PD_E_UNAVAILABLE] = 503,
	    [PD_E_INTERNAL] = 500, [PD_E_CANTCREATE] = 500, [PD_E_IO] = 500,
	    [PD_E_CONFLICT] = 412, [PD_E_TEMPFAIL] = 503,   [PD_E_PROTOCOL] = 502,
	    [PD_E_AUTH] = 403,     [PD_E_CONFIG] = 500,
	};
	return (unsigned)st < PD_STATUS__COUNT && map[st] ? map[st] : 500;
}

void api_fail(api_req *r, const pd_err *e, int http, const char *code)
{
	pd_status st = e->status != PD_OK ? e->status : PD_E_INTERNAL;
	json_t *err = json_object();
	json_object_set_new(err, "code", json_string(code ? code : pd_status_code(st)));
	const char *msg = e->message[0] ? e->message : pd_status_message(st);
	json_t *m = json_string(msg);
	json_object_set_new(err, "message", m ? m : json_string(pd_status_message(st)));
	json_object_set_new(err, "field", e->field[0] ? json_string(e->field) : json_null());
	json_t *doc = json_object();
	json_object_set_new(doc, "error", err);
	json_decref(r->doc);
	free(r->raw);
	r->raw = NULL;
	r->doc = doc;
	r->status = http ? http : api_http_status(st);
}

void api_failf(api_req *r, pd_status st, int http, const char *code, const char *field,
               const char *fmt, ...)
{
	pd_err e;
	pd_err_clear(&e);
	va_list ap;
	va_start(ap, fmt);
	pd_vfail(&e, st, field, fmt, ap);
	va_end(ap);
	api_fail(r, &e, http, code);
}

const char *api_query(api_req *r, const char *key)
{
	return pd_mhd_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *api_header(api_req *r, const char *key)
{
	return pd_mhd_lookup_connection_value(r->conn, MHD_HEADER_KIND, key);
}

const char *api_openapi(const pd_api *a, size_t *len)
{
	*len = a->openapi_len;
	return a->openapi;
}

const pd_api_hooks *api_hooks(const pd_api *a)
{
	return &a->o.hooks;
}

/* ---- per-thread store ---- */

static void store_key_close(void *p)
{
	store_close(p);
}

static pd_store *thread_store(pd_api *a, pd_err *e)
{
	pd_store *s = pthread_getspecific(a->store_key);
	if (s)
		return s;
	if (store_open(a->db_path, &a->o.store, &s, e) != PD_OK)
		return NULL;
	pthread_setspecific(a->store_key, s);
	return s;
}

/* ---- rate limit: a token bucket per API token ---- */

/* 0 when allowed, else the seconds to wait. */
static int rate_take(pd_api *a, int64_t token_id)
{
	double per_ms = a->o.rate_per_minute / 60000.0;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	pthread_mutex_lock(&a->lock);
	bucket *b = NULL;
	for (size_t i = 0; i < a->n_buckets && !b; i++)
		if (a->buckets[i].token_id == token_id)
			b = &a->buckets[i];
	if (!b) {
		if (a->n_buckets == a->cap_buckets) {
			a->cap_buckets = a->cap_buckets ? a->cap_buckets * 2 : 16;
			a->buckets = xrealloc(a->buckets, a->cap_buckets * sizeof *a->buckets);
		}
		b = &a->buckets[a->n_buckets++];
		*b = (bucket){token_id, a->o.rate_burst, now};
	}
	b->tokens += (double)(now - b->last_ms) * per_ms;
	if (b->tokens > a->o.rate_burst)
		b->tokens = a->o.rate_burst;
	b->last_ms = now;
	int wait = 0;
	if (b->tokens >= 1)
		b->tokens -= 1;
	else
		wait = (int)ceil((1 - b->tokens) / per_ms / 1000.0);
	pthread_mutex_unlock(&a->lock);
	return wait < 0 ? 1 : wait;
}

/* ---- one request ---- */

typedef struct {
	pd_buf body;
	bool too_big;
	const char *lang; /* "en", "fr": the answer's language (handle_in_language) */
} conn_state;

static void client_address(struct MHD_Connection *c, char out[64])
{
	out[0] = 0;
	const union MHD_ConnectionInfo *ci =
	    pd_mhd_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (!ci || !ci->client_addr)
		return;
	const struct sockaddr *sa = ci->client_addr;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
		          64);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
		          out, 64);
}

static enum MHD_Result send_req(api_req *r, int retry_after)
{
	char *text;
	size_t len;
	const char *ctype;
	if (r->doc) {
		text = json_dumps(r->doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (!text)
			text =
			    xstrdup("{\"error\":{\"code\":\"internal\",\"message\":\"cannot encode "
			            "the answer\",\"field\":null}}");
		len = strlen(text);
		text = xrealloc(text, len + 2);
		text[len++] = '\n';
		text[len] = 0;
		ctype = "application/json";
	} else {
		text = r->raw ? r->raw : xstrdup("");
		len = r->raw ? r->raw_len : 0;
		r->raw = NULL;
		ctype = r->ctype ? r->ctype : "application/octet-stream";
	}
	struct MHD_Response *resp =
	    pd_mhd_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	pd_mhd_add_response_header(resp, "Content-Type", ctype);
	pd_mhd_add_response_header(resp, "Cache-Control", "no-store");
	pd_mhd_add_response_header(resp, "Content-Language", r->lang ? r->lang : "en");
	pd_mhd_add_response_header(resp, "Vary", "Accept-Language");
	pd_mhd_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (r->etag[0])
		pd_mhd_add_response_header(resp, "ETag", r->etag);
	if (r->replayed)
		pd_mhd_add_response_header(resp, "Idempotent-Replayed", "true");
	if (r->status == 401)
		pd_mhd_add_response_header(resp, "WWW-Authenticate", "Bearer");
	if (retry_after > 0) {
		char ra[24];
		snprintf(ra, sizeof ra, "%d", retry_after);
		pd_mhd_add_response_header(resp, "Retry-After", ra);
	}
	enum MHD_Result ret = pd_mhd_queue_response(r->conn, (unsigned)r->status, resp);
	pd_mhd_destroy_response(resp);
	return ret;
}

/* ---- Server-Sent Events through the daemon's hook ----
 * A stream never holds a worker thread: when the hook has nothing new, the
 * connection is suspended ("parked") and the worker serves the others; one
 * thread resumes every parked stream each SSE_TICK_MS, and the hook is asked
 * again. A stream is states, not a queue (the hook sends each customer's
 * latest), so a client that reads slowly costs no memory: its socket fills,
 * the content callback is no longer called, and the ticker shuts the
 * socket down SSE_STALL_MS after that callback's last call when bytes are
 * still unsent in the kernel (a stream that reads parks and is asked again
 * every tick; only a stuck one goes that long with its socket full). At most SSE_MAX_STREAMS at
 * once (503 beyond). */

#define SSE_MAX_STREAMS 64
#define SSE_TICK_MS 200
#define SSE_KEEPALIVE_MS 15000
#define SSE_STALL_MS 10000
#define SSE_SNDBUF (16 * 1024) /* the kernel doubles it */

typedef struct sse_state {
	pd_api *a;
	const pd_api_hooks *h;
	void *stream;
	struct MHD_Connection *conn;
	int64_t last_ms;   /* when bytes were last handed over */
	int64_t called_ms; /* when libmicrohttpd last asked for bytes */
	bool parked, dropped;
	struct sse_state *next, *prev;
} sse_state;

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	sse_state *x = cls;
	pd_api *a = x->a;
	pthread_mutex_lock(&a->sse_mu);
	bool closing = a->sse_closing;
	x->called_ms = mono_ms();
	pthread_mutex_unlock(&a->sse_mu);
	if (closing)
		return MHD_CONTENT_READER_END_OF_STREAM;
	long n = x->h->events_next(x->stream, buf, max, 0);
	if (n < 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	int64_t now = mono_ms();
	if (n > 0) {
		x->last_ms = now;
		return n;
	}
	if (now - x->last_ms >= SSE_KEEPALIVE_MS) {
		static const char ka[] = ": keep-alive\n\n";
		size_t k = sizeof ka - 1 < max ? sizeof ka - 1 : max;
		memcpy(buf, ka, k);
		x->last_ms = now;
		return (ssize_t)k;
	}
	/* nothing new: park until the next tick (0 with the connection
	 * suspended, as libmicrohttpd asks, so nothing spins) */
	pthread_mutex_lock(&a->sse_mu);
	if (a->sse_closing) {
		pthread_mutex_unlock(&a->sse_mu);
		return MHD_CONTENT_READER_END_OF_STREAM;
	}
	pd_mhd_suspend_connection(x->conn);
	x->parked = true;
	pthread_mutex_unlock(&a->sse_mu);
	return 0;
}

static void sse_free(void *cls)
{
	sse_state *x = cls;
	pd_api *a = x->a;
	pthread_mutex_lock(&a->sse_mu);
	if (x->prev)
		x->prev->next = x->next;
	else
		a->sse_head = x->next;
	if (x->next)
		x->next->prev = x->prev;
	a->n_sse--;
	pthread_mutex_unlock(&a->sse_mu);
	x->h->events_close(x->stream);
	free(x);
}

/* Resumes every parked stream; called with sse_mu held. */
static void sse_resume_all(pd_api *a)
{
	for (sse_state *x = a->sse_head; x; x = x->next)
		if (x->parked) {
			x->parked = false;
			pd_mhd_resume_connection(x->conn);
		}
}

/* A stream whose bytes the client has not taken for SSE_STALL_MS: its
 * socket is shut down, so libmicrohttpd's next write fails and it closes
 * the connection (the fd stays ours while the stream is listed: the
 * response, and with it the stream, is freed before the socket is closed).
 * Called with sse_mu held. */
static void sse_drop_stalled(pd_api *a, int64_t now)
{
	for (sse_state *x = a->sse_head; x; x = x->next) {
		if (x->parked || x->dropped || now - x->called_ms < SSE_STALL_MS)
			continue;
		const union MHD_ConnectionInfo *ci =
		    pd_mhd_get_connection_info(x->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		/* bytes still unsent in the kernel: the client is not reading (a
		 * worker busy with a long request leaves the socket empty) */
		int unsent = 0;
		if (ci && ioctl(ci->connect_fd, SIOCOUTQ, &unsent) == 0 && unsent > 0) {
			shutdown(ci->connect_fd, SHUT_RDWR);
			x->dropped = true;
		}
	}
}

static void *sse_ticker(void *arg)
{
	pd_api *a = arg;
	pd_thread_name("pd-api-events");
	pthread_mutex_lock(&a->sse_mu);
	while (!a->sse_quit) {
		sse_resume_all(a);
		sse_drop_stalled(a, mono_ms());
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += SSE_TICK_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&a->sse_cv, &a->sse_mu, &ts);
	}
	pthread_mutex_unlock(&a->sse_mu);
	return NULL;
}

/* Before a daemon stops (libmicrohttpd refuses to stop with a connection
 * suspended): every stream ends, none parks again until sse_reopen. */
static void sse_close_all(pd_api *a)
{
	pthread_mutex_lock(&a->sse_mu);
	a->sse_closing = true;
	sse_resume_all(a);
	pthread_mutex_unlock(&a->sse_mu);
}

static void sse_reopen(pd_api *a)
{
	pthread_mutex_lock(&a->sse_mu);
	a->sse_closing = false;
	pthread_mutex_unlock(&a->sse_mu);
}

static enum MHD_Result send_sse(api_req *r)
{
	pd_api *a = r->api;
	const pd_api_hooks *h = &a->o.hooks;
	pthread_mutex_lock(&a->sse_mu);
	bool full = a->n_sse >= SSE_MAX_STREAMS;
	if (!full)
		a->n_sse++;
	pthread_mutex_unlock(&a->sse_mu);
	if (full) {
		api_failf(r, PD_E_TEMPFAIL, 503, NULL, NULL,
		          _("%d event streams are open already; retry later"), SSE_MAX_STREAMS);
		return send_req(r, 5);
	}
	/* a fixed send buffer: the kernel would otherwise grow it (to
	 * megabytes) for a client that does not read, and the stall would
	 * take minutes to show; a reader needs a few events of room at most */
	const union MHD_ConnectionInfo *ci =
	    pd_mhd_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci) {
		int sz = SSE_SNDBUF;
		setsockopt(ci->connect_fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
	}
	sse_state *x = xcalloc(1, sizeof *x);
	x->a = a;
	x->h = h;
	x->conn = r->conn;
	x->called_ms = mono_ms();
	x->last_ms = x->called_ms - SSE_KEEPALIVE_MS; /* a comment at once if nothing is known */
	x->stream = h->events_open(h->ctx);
	if (!x->stream) {
		free(x);
		pthread_mutex_lock(&a->sse_mu);
		a->n_sse--;
		pthread_mutex_unlock(&a->sse_mu);
		api_failf(r, PD_E_UNAVAILABLE, 0, NULL, NULL, _("the live state is not available"));
		return send_req(r, 1);
	}
	pthread_mutex_lock(&a->sse_mu);
	x->next = a->sse_head;
	if (a->sse_head)
		a->sse_head->prev = x;
	a->sse_head = x;
	pthread_mutex_unlock(&a->sse_mu);
	struct MHD_Response *resp =
	    pd_mhd_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, sse_read, x, sse_free);
	if (!resp) {
		sse_free(x);
		return MHD_NO;
	}
	pd_mhd_add_response_header(resp, "Content-Type", "text/event-stream");
	pd_mhd_add_response_header(resp, "Cache-Control", "no-store");
	enum MHD_Result ret = pd_mhd_queue_response(r->conn, 200, resp);
	pd_mhd_destroy_response(resp);
	return ret;
}

static bool key_ok(const char *k)
{
	size_t n = strlen(k);
	if (n < 1 || n > MAX_IDEM_KEY)
		return false;
	for (size_t i = 0; i < n; i++)
		if (k[i] < 0x21 || k[i] > 0x7e)
			return false;
	return true;
}

/* Runs a POST route under its Idempotency-Key: the first request's answer is
 * kept in the same transaction as its change; a retry (same key, same
 * request) gets that answer again, a different request with the key 422. */
static void run_idempotent(api_req *r, api_handler fn, const char *key, const char *url)
{
	pd_err e;
	pd_err_clear(&e);
	pd_buf hb = {0};
	pd_buf_printf(&hb, "%s %s\n", r->method, url);
	pd_buf_addn(&hb, r->body, r->body_len);
	char hash[65];
	pd_sha256_hex(hb.s ? hb.s : "", hb.len, hash);
	pd_buf_free(&hb);
	for (int pass = 0; pass < 2; pass++) {
		/* pass 0 outside any transaction (the common retry); pass 1 inside
		 * the write transaction, so two racing first requests serialise */
		if (pass == 1 && store_begin(r->s, &e) != PD_OK) {
			api_fail(r, &e, 0, NULL);
			return;
		}
		char *h = NULL, *body = NULL;
		int status = 0;
		pd_status st = store_api_idem_get(r->s, r->tok.id, key, &h, &status, &body, &e);
		if (st == PD_OK) {
			if (pass == 1)
				store_rollback(r->s);
			if (strcmp(h, hash) != 0)
				api_failf(r, PD_E_INVALID, 422, NULL, "idempotency_key",
				          _("this Idempotency-Key was used for another request"));
			else {
				json_decref(r->doc);
				r->doc = json_loads(body, 0, NULL);
				r->status = status;
				r->replayed = true;
				if (!r->doc)
					api_failf(r, PD_E_INTERNAL, 0, NULL, NULL,
					          _("the kept answer cannot be read"));
			}
			free(h);
			free(body);
			return;
		}
		if (st != PD_E_NOTFOUND) {
			if (pass == 1)
				store_rollback(r->s);
			api_fail(r, &e, 0, NULL);
			return;
		}
		pd_err_clear(&e);
	}
	fn(r);
	if (r->status >= 300 || !r->doc) {
		/* a refused request changes nothing and keeps no answer: a corrected
		 * retry with the same key is served */
		store_rollback(r->s);
		return;
	}
	char *text = json_dumps(r->doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	pd_status st = store_api_idem_put(r->s, r->tok.id, key, hash, r->status, text, &e);
	free(text);
	if (st == PD_OK)
		st = store_commit(r->s, &e);
	if (st != PD_OK) {
		store_rollback(r->s);
		api_fail(r, &e, 0, NULL);
	}
}

static bool utf8_ok(const char *s)
{
	return !s || pd_utf8_valid(s, strlen(s));
}

static enum MHD_Result arg_check(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
	(void)kind;
	bool *bad = cls;
	if (!utf8_ok(key) || !utf8_ok(value))
		*bad = true;
	return MHD_YES;
}

static enum MHD_Result handle(pd_api *a, struct MHD_Connection *conn, const char *url,
                              const char *method, conn_state *cs)
{
	api_req r;
	memset(&r, 0, sizeof r);
	r.api = a;
	r.conn = conn;
	r.method = method;
	r.cat = a->o.store.catalogue;
	r.cfg = a->o.config ? a->o.config : &a->cfg_default;
	r.body = cs->body.s ? cs->body.s : "";
	r.body_len = cs->body.len;
	r.status = 200;
	r.lang = cs->lang;
	int retry_after = 0;
	char pbuf[1024];
	pd_err e;
	pd_err_clear(&e);

	if (cs->too_big) {
		api_failf(&r, PD_E_USAGE, 413, "too_large", "body",
		          _("the request body is larger than %zu bytes"), a->o.max_body);
		goto send;
	}
	bool bad = !utf8_ok(url);
	pd_mhd_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, arg_check, &bad);
	if (bad) {
		api_failf(&r, PD_E_USAGE, 0, NULL, "url", _("the URL is not valid UTF-8"));
		goto send;
	}
	size_t hit = N_ROUTES;
	bool path_known = false;
	pd_buf allow = {0};
	for (size_t i = 0; i < N_ROUTES; i++) {
		const char *params[API_MAX_PARAMS] = {0};
		if (!match(routes[i].pattern, url, pbuf, sizeof pbuf, params))
			continue;
		path_known = true;
		pd_buf_printf(&allow, "%s%s", allow.len ? ", " : "", routes[i].method);
		if (strcmp(routes[i].method, method) == 0 && hit == N_ROUTES) {
			hit = i;
			memcpy(r.params, params, sizeof params);
		}
	}
	if (hit == N_ROUTES) {
		if (path_known)
			api_failf(&r, PD_E_USAGE, 405, "method_not_allowed", NULL,
			          _("%.16s is not allowed here (allowed: %s)"), method, allow.s);
		else
			api_failf(&r, PD_E_NOTFOUND, 404, NULL, "url",
			          _("no such resource: %.200s"), url);
		pd_buf_free(&allow);
		goto send;
	}
	pd_buf_free(&allow);

	if (routes[hit].scopes != SC_NONE) {
		const char *auth = api_header(&r, "Authorization");
		if (!auth || strncasecmp(auth, "Bearer ", 7) != 0) {
			api_failf(&r, PD_E_AUTH, 401, "unauthorized", "authorization",
			          _("an API token is required: Authorization: Bearer TOKEN"));
			goto send;
		}
		r.s = thread_store(a, &e);
		if (!r.s) {
			api_fail(&r, &e, 0, NULL);
			goto send;
		}
		if (store_api_token_check(r.s, auth + 7, &r.tok, &e) != PD_OK) {
			api_fail(&r, &e, e.status == PD_E_AUTH ? 401 : 0,
			         e.status == PD_E_AUTH ? "unauthorized" : NULL);
			goto send;
		}
		if (!(routes[hit].scopes & (1 << r.tok.scope))) {
			api_failf(&r, PD_E_AUTH, 403, "forbidden", "scope",
			          _("token '%s' has scope %s, which may not %s %s"), r.tok.name,
			          pd_api_scope_name(r.tok.scope), method, routes[hit].pattern);
			goto send;
		}
		if ((retry_after = rate_take(a, r.tok.id)) > 0) {
			api_failf(&r, PD_E_TEMPFAIL, 429, "rate_limited", NULL,
			          _("too many requests for token '%s'; retry in %d s"), r.tok.name,
			          retry_after);
			goto send;
		}
		pd_snprintf(r.actor.user, sizeof r.actor.user, "api:%.59s", r.tok.name);
		client_address(conn, r.actor.client);
	}
	if (r.body_len) {
		const char *ct = api_header(&r, "Content-Type");
		if (!ct || strncasecmp(ct, "application/json", 16) != 0 ||
		    (ct[16] && ct[16] != ';' && ct[16] != ' ')) {
			api_failf(&r, PD_E_USAGE, 415, "unsupported_media_type", "content_type",
			          _("a request body must be application/json"));
			goto send;
		}
	}
	const char *key = api_header(&r, "Idempotency-Key");
	if (key && !routes[hit].idempotent_post) {
		api_failf(&r, PD_E_USAGE, 0, NULL, "idempotency_key",
		          _("Idempotency-Key is taken on POST of a create or an action only"));
		goto send;
	}
	if (key && !key_ok(key)) {
		api_failf(&r, PD_E_USAGE, 0, NULL, "idempotency_key",
		          _("Idempotency-Key: 1 to %d visible ASCII characters"), MAX_IDEM_KEY);
		goto send;
	}
	if (key)
		run_idempotent(&r, routes[hit].fn, key, url);
	else
		routes[hit].fn(&r);
	if (r.sse && !r.doc) {
		enum MHD_Result sret = send_sse(&r);
		json_decref(r.doc); /* an error answered instead of the stream */
		pd_api_token_free(&r.tok);
		return sret;
	}
send:;
	if (r.status == 503 && !retry_after)
		retry_after = 1;
	enum MHD_Result ret = send_req(&r, r.status == 429 || r.status == 503 ? retry_after : 0);
	json_decref(r.doc);
	free(r.raw);
	pd_api_token_free(&r.tok);
	return ret;
}

/* The client's choice of language (RFC 9110 Accept-Language): among the
 * ranges we speak (fr…, en…, *), the one of highest weight, the first on a
 * tie; French only when that one is French. No header: English. */
static bool wants_french(const char *al)
{
	double best = -1;
	bool fr = false;
	while (al && *al) {
		const char *end = strchr(al, ',');
		size_t n = end ? (size_t)(end - al) : strlen(al);
		char item[64];
		if (n < sizeof item) {
			memcpy(item, al, n);
			item[n] = 0;
			char *semi = strchr(item, ';');
			double q = 1;
			if (semi) {
				*semi = 0;
				const char *qp = strstr(semi + 1, "q=");
				if (qp)
					q = strtod(qp + 2, NULL);
			}
			char *tag = item;
			while (*tag == ' ' || *tag == '\t')
				tag++;
			for (char *t = tag + strlen(tag);
			     t > tag && (t[-1] == ' ' || t[-1] == '\t');)
				*--t = 0;
			bool is_fr = !strncasecmp(tag, "fr", 2) && (!tag[2] || tag[2] == '-');
			bool is_en = !strncasecmp(tag, "en", 2) && (!tag[2] || tag[2] == '-');
			if ((is_fr || is_en || !strcmp(tag, "*")) && q > 0 && q > best) {
				best = q;
				fr = is_fr;
			}
		}
		al = end ? end + 1 : NULL;
	}
	return fr;
}

/* Runs a request in its client's language: messages of core, store and the
 * API itself (gettext follows the thread's uselocale); `code` and `field`
 * never change. Content-Language says which was used. */
static enum MHD_Result handle_in_language(pd_api *a, struct MHD_Connection *conn, const char *url,
                                          const char *method, conn_state *cs)
{
	bool fr = a->loc_fr && wants_french(pd_mhd_lookup_connection_value(conn, MHD_HEADER_KIND,
	                                                                   "Accept-Language"));
	locale_t prev = a->loc_en ? uselocale(fr ? a->loc_fr : a->loc_en) : (locale_t)0;
	cs->lang = fr ? "fr" : "en";
	enum MHD_Result ret = handle(a, conn, url, method, cs);
	if (prev)
		uselocale(prev);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
	(void)version;
	pd_api *a = cls;
	conn_state *cs = *con_cls;
	if (!cs) {
		cs = xcalloc(1, sizeof *cs);
		*con_cls = cs;
		const char *cl =
		    pd_mhd_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
		if (cl) {
			char *end;
			errno = 0;
			unsigned long long n = strtoull(cl, &end, 10);
			if (errno || *end || n > a->o.max_body) {
				/* refused before a byte of the body is read */
				cs->too_big = true;
				return handle_in_language(a, conn, url, method, cs);
			}
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (!cs->too_big && cs->body.len + *upload_data_size <= a->o.max_body)
			pd_buf_addn(&cs->body, upload_data, *upload_data_size);
		else {
			cs->too_big = true;
			pd_buf_free(&cs->body);
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	return handle_in_language(a, conn, url, method, cs);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	conn_state *cs = *con_cls;
	if (!cs)
		return;
	pd_buf_free(&cs->body);
	free(cs);
	*con_cls = NULL;
}

/* ---- start / stop ---- */

/* A daemon on the address, or on an already listening socket (a reload). */
static struct MHD_Daemon *start_mhd(pd_api *a, const struct sockaddr_storage *ss, MHD_socket fd)
{
	bool tls = a->cert != NULL;
	/* ITC: MHD_quiesce_daemon needs it to hand the listening socket over */
	unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME |
	                 (tls ? MHD_USE_TLS : 0) | (a->v6 ? MHD_USE_IPv6 : 0);
	bool on_fd = fd != MHD_INVALID_SOCKET;
	struct MHD_OptionItem opts[] = {
	    {on_fd ? MHD_OPTION_LISTEN_SOCKET : MHD_OPTION_SOCK_ADDR, on_fd ? (intptr_t)fd : 0,
	     on_fd ? NULL : (void *)ss},
	    {tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, a->cert},
	    {tls ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, a->key},
	    {MHD_OPTION_END, 0, NULL},
	};
	return pd_mhd_start_daemon(
	    flags, 0, NULL, NULL, on_request, a, MHD_OPTION_THREAD_POOL_SIZE, a->o.threads,
	    MHD_OPTION_CONNECTION_LIMIT, a->o.max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
	    a->o.timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, a, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
}

static char *slurp(const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	pd_buf b = {0};
	char chunk[8192];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len <= max)
		pd_buf_addn(&b, chunk, n);
	bool err = ferror(f) || b.len > max;
	fclose(f);
	if (err) {
		pd_buf_wipe_free(&b);
		return NULL;
	}
	if (len)
		*len = b.len;
	return pd_buf_steal(&b);
}

static bool loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr) >>
		        24) == 127;
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(
		    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr);
	return false;
}

static pd_status parse_listen(const char *l, struct sockaddr_storage *ss, pd_err *e)
{
	char host[128];
	const char *port;
	if (!l || !*l)
		return pd_fail(e, PD_E_CONFIG, "api.listen",
		               _("no address to listen on (ADDR:PORT)"));
	if (l[0] == '[') {
		const char *end = strchr(l, ']');
		if (!end || end[1] != ':' || (size_t)(end - l - 1) >= sizeof host)
			return pd_fail(e, PD_E_CONFIG, "api.listen",
			               _("'%.100s' is not [IPv6]:PORT"), l);
		snprintf(host, sizeof host, "%.*s", (int)(end - l - 1), l + 1);
		port = end + 2;
	} else {
		const char *c = strrchr(l, ':');
		if (!c || (size_t)(c - l) >= sizeof host || memchr(l, ':', (size_t)(c - l)))
			return pd_fail(e, PD_E_CONFIG, "api.listen",
			               _("'%.100s' is not ADDR:PORT (an IPv6 address in brackets)"),
			               l);
		snprintf(host, sizeof host, "%.*s", (int)(c - l), l);
		port = c + 1;
	}
	char *end;
	long p = strtol(port, &end, 10);
	if (!*port || *end || p < 0 || p > 65535)
		return pd_fail(e, PD_E_CONFIG, "api.listen", _("'%.100s': the port is 0 to 65535"),
		               l);
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
	                         .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;
	if (getaddrinfo(host, port, &hints, &res) != 0 || !res)
		return pd_fail(e, PD_E_CONFIG, "api.listen",
		               _("'%.100s': not a numeric IPv4 or IPv6 address"), l);
	memset(ss, 0, sizeof *ss);
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return PD_OK;
}

pd_status pd_api_start(const pd_api_opts *o, pd_api **out, pd_err *e)
{
	*out = NULL;
	if (!o->db_path || !o->store.catalogue)
		return pd_fail(e, PD_E_USAGE, "api", _("the API needs a database and a catalogue"));
	struct sockaddr_storage ss;
	pd_status st = parse_listen(o->listen, &ss, e);
	if (st != PD_OK)
		return st;
	bool tls = o->cert_path && *o->cert_path;
	if (!tls && !(o->key_path && *o->key_path)) {
		if (!o->allow_plain)
			return pd_fail(e, PD_E_CONFIG, "api.cert",
			               _("HTTPS needs [api] cert and key (plain HTTP only with "
			                 "allow_plain = yes on a loopback address)"));
		if (!loopback((struct sockaddr *)&ss))
			return pd_fail(e, PD_E_CONFIG, "api.allow_plain",
			               _("plain HTTP is refused on %s: only a loopback address "
			                 "(127.0.0.1, ::1) may serve without TLS"),
			               o->listen);
	} else if (!tls || !(o->key_path && *o->key_path))
		return pd_fail(e, PD_E_CONFIG, tls ? "api.key" : "api.cert",
		               _("HTTPS needs both [api] cert and key"));
	if (!pd_mhd_load(e)) /* the first call of libmicrohttpd: it is opened here */
		return PD_E_UNAVAILABLE;
	if (tls && pd_mhd_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
		return pd_fail(e, PD_E_CONFIG, "api.cert",
		               _("this libmicrohttpd was built without TLS"));

	pd_api *a = xcalloc(1, sizeof *a);
	a->o = *o;
	locale_t base = newlocale(LC_ALL_MASK, "C.UTF-8", (locale_t)0);
	a->loc_en = base ? newlocale(LC_MESSAGES_MASK, "C", base) : (locale_t)0;
	if (base && !a->loc_en)
		freelocale(base);
	locale_t fr_base = a->loc_en ? duplocale(a->loc_en) : (locale_t)0;
	a->loc_fr = fr_base ? newlocale(LC_MESSAGES_MASK, "fr_FR.UTF-8", fr_base) : (locale_t)0;
	if (fr_base && !a->loc_fr)
		freelocale(fr_base);
	a->db_path = xstrdup(o->db_path);
	pd_config_defaults(&a->cfg_default);
	if (!a->o.max_body)
		a->o.max_body = DEFAULT_MAX_BODY;
	if (!a->o.timeout_s)
		a->o.timeout_s = 30;
	if (!a->o.max_connections)
		a->o.max_connections = 1024;
	if (!a->o.threads || a->o.threads > 4)
		a->o.threads = 2;
	if (!a->o.rate_per_minute)
		a->o.rate_per_minute = 600;
	if (!a->o.rate_burst)
		a->o.rate_burst = 60;
	a->o.listen = NULL;
	a->o.cert_path = a->o.key_path = a->o.openapi_path = NULL;
	pthread_mutex_init(&a->lock, NULL);
	pthread_mutex_init(&a->sse_mu, NULL);
	pthread_cond_init(&a->sse_cv, NULL);
	pthread_key_create(&a->store_key, store_key_close);

	char *oa_path =
	    o->openapi_path ? xstrdup(o->openapi_path) : pd_path_find_data(NULL, "openapi.json");
	a->openapi = oa_path ? slurp(oa_path, 4 << 20, &a->openapi_len) : NULL;
	if (!a->openapi) {
		pd_fail(e, PD_E_CONFIG, "api", _("cannot read the OpenAPI document %s"),
		        oa_path ? oa_path : _("openapi.json (data directory)"));
		free(oa_path);
		pd_api_stop(a);
		return PD_E_CONFIG;
	}
	free(oa_path);
	if (tls) {
		a->cert = slurp(o->cert_path, 1 << 20, NULL);
		a->key = slurp(o->key_path, 1 << 20, NULL);
		if (!a->cert || !a->key) {
			pd_fail(e, PD_E_CONFIG, a->cert ? "api.key" : "api.cert",
			        _("cannot read %s: %s"), a->cert ? o->key_path : o->cert_path,
			        strerror(errno));
			pd_api_stop(a);
			return PD_E_CONFIG;
		}
	}
	a->v6 = ss.ss_family == AF_INET6;
	a->d = start_mhd(a, &ss, MHD_INVALID_SOCKET);
	if (!a->d) {
		int err = errno;
		pd_fail(e, PD_E_UNAVAILABLE, "api.listen", _("cannot serve on %s: %s"), o->listen,
		        err ? strerror(err) : _("libmicrohttpd refused to start"));
		pd_api_stop(a);
		return PD_E_UNAVAILABLE;
	}
	const union MHD_DaemonInfo *di = pd_mhd_get_daemon_info(a->d, MHD_DAEMON_INFO_BIND_PORT);
	a->port = di ? di->port : 0;
	if (a->o.hooks.events_open) {
		if (pthread_create(&a->sse_thread, NULL, sse_ticker, a) != 0) {
			pd_fail(e, PD_E_INTERNAL, "api",
			        _("cannot start the event streams' thread"));
			pd_api_stop(a);
			return PD_E_INTERNAL;
		}
		a->sse_thread_on = true;
	}
	*out = a;
	return PD_OK;
}

static void wipe_free(char *s);

pd_status pd_api_reload_tls(pd_api *a, const char *cert_path, const char *key_path, pd_err *e)
{
	if (!a->cert)
		return pd_fail(
		    e, PD_E_CONFIG, "api.cert",
		    _("the API serves plain HTTP: restart provdesk serve to turn on HTTPS"));
	char *cert = cert_path ? slurp(cert_path, 1 << 20, NULL) : NULL;
	char *key = key_path ? slurp(key_path, 1 << 20, NULL) : NULL;
	if (!cert || !key) {
		int err = errno;
		pd_fail(e, PD_E_CONFIG, cert ? "api.key" : "api.cert",
		        _("cannot read %s: %s; the API keeps its certificate"),
		        cert ? (key_path ? key_path : _("(none)"))
		             : (cert_path ? cert_path : _("(none)")),
		        strerror(err));
		free(cert);
		wipe_free(key);
		return PD_E_CONFIG;
	}
	MHD_socket fd = pd_mhd_quiesce_daemon(a->d);
	if (fd == MHD_INVALID_SOCKET) {
		free(cert);
		wipe_free(key);
		return pd_fail(e, PD_E_INTERNAL, "api", _("cannot hand the listening socket over"));
	}
	char *old_cert = a->cert, *old_key = a->key;
	a->cert = cert;
	a->key = key;
	struct MHD_Daemon *old = a->d;
	/* a daemon that fails to start closes the socket it was given: give it a
	 * duplicate, so the old certificate can serve on fd again */
	int dupfd = dup(fd);
	a->d = dupfd >= 0 ? start_mhd(a, NULL, dupfd) : NULL;
	pd_status st = PD_OK;
	if (a->d)
		close(fd);
	else {
		/* a certificate GnuTLS refuses: keep serving with the old one */
		a->cert = old_cert;
		a->key = old_key;
		old_cert = cert;
		old_key = key;
		a->d = start_mhd(a, NULL, fd);
		st =
		    pd_fail(e, PD_E_CONFIG, "api.cert",
		            _("%s or %s is not a usable PEM certificate and key; the API keeps its "
		              "certificate"),
		            cert_path, key_path);
	}
	/* the event streams end (their clients reconnect, to the new
	 * certificate): libmicrohttpd stops no daemon with one parked */
	sse_close_all(a);
	pd_mhd_stop_daemon(old); /* finishes the requests it has; its workers' stores close */
	sse_reopen(a);
	free(old_cert);
	wipe_free(old_key);
	if (!a->d)
		return pd_fail(e, PD_E_UNAVAILABLE, "api",
		               _("the API stopped: cannot serve again"));
	return st;
}

int pd_api_port(const pd_api *a)
{
	return a ? a->port : 0;
}

static void wipe_free(char *s)
{
	if (s) {
		memset(s, 0, strlen(s));
		free(s);
	}
}

void pd_api_stop(pd_api *a)
{
	if (!a)
		return;
	if (a->d) {
		sse_close_all(a);
		pd_mhd_stop_daemon(a->d); /* joins the workers: their stores close */
	}
	if (a->sse_thread_on) {
		pthread_mutex_lock(&a->sse_mu);
		a->sse_quit = true;
		pthread_cond_signal(&a->sse_cv);
		pthread_mutex_unlock(&a->sse_mu);
		pthread_join(a->sse_thread, NULL);
	}
	pthread_key_delete(a->store_key);
	pthread_mutex_destroy(&a->lock);
	pthread_mutex_destroy(&a->sse_mu);
	pthread_cond_destroy(&a->sse_cv);
	free(a->buckets);
	wipe_free(a->key);
	free(a->cert);
	free(a->openapi);
	free(a->db_path);
	pd_config_free(&a->cfg_default);
	if (a->loc_fr)
		freelocale(a->loc_fr);
	if (a->loc_en)
		freelocale(a->loc_en);
	free(a);
}

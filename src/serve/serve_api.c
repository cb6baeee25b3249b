/* The HTTP API inside `provdesk serve` (docs/architecture.md, "HTTP API"):
 * started when [api] listen is set, on its own threads (libmicrohttpd).
 * Its hooks never touch the monitor directly (a reload may replace it):
 * a resync is queued here and handed to the monitor by the daemon's loop
 * (serve_api_take_resyncs); live state is read from the daemon's pd_live,
 * which is thread-safe. The API keeps its own copy of the configuration, so
 * a reload of the daemon's never frees what an API thread reads. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "objects.h"
#include "provdesk/api.h"
#include "provdesk/util.h"
#include "serve_api.h"

#define EVENTS_MAX_CUSTOMERS 200000

struct serve_api {
	pd_api *api;
	pd_config cfg; /* the API's own copy */
	pd_live *live; /* the daemon's; outlives the API */
	int wake_fd;   /* the daemon's self-pipe */
	pthread_mutex_t mu;
	int64_t *resync;
	size_t nresync, cresync;
};

static pd_status pbx_action(void *ctx, pd_api_pbx_op op, int64_t cid, json_t **reply, pd_err *e)
{
	serve_api *a = ctx;
	pd_live_view v;
	bool known = pd_live_snapshot(a->live, cid, &v) == PD_OK;
	if (op == PD_API_PBX_RESYNC) {
		pthread_mutex_lock(&a->mu);
		if (a->nresync < 4096) {
			if (a->nresync == a->cresync) {
				a->cresync = a->cresync ? a->cresync * 2 : 16;
				a->resync = xrealloc(a->resync, a->cresync * sizeof *a->resync);
			}
			a->resync[a->nresync++] = cid;
		}
		pthread_mutex_unlock(&a->mu);
		ssize_t w = write(a->wake_fd, "R", 1);
		(void)w;
		*reply = json_pack("{s:b,s:s}", "requested", 1, "state",
		                   known ? pd_link_state_name(v.link) : "not monitored");
		if (known)
			pd_live_free_view(&v);
		return PD_OK;
	}
	/* test: the link the daemon holds answers (no second link to the PBX) */
	if (!known)
		return pd_fail(e, PD_E_UNAVAILABLE, "pbx",
		               "the monitor holds no link for this customer (disabled, or not "
		               "started yet)");
	*reply = json_pack("{s:s,s:s,s:i,s:i,s:i}", "state", pd_link_state_name(v.link), "status",
	                   v.status, "users", (int)v.n_users, "calls", (int)v.n_calls, "agents",
	                   (int)v.n_agents);
	pd_status st = pd_link_state_outcome(v.link);
	if (st != PD_OK)
		pd_fail(e, st, "pbx", "%s", v.status);
	pd_live_free_view(&v);
	if (st != PD_OK) {
		json_decref(*reply);
		*reply = NULL;
	}
	return st;
}

/* ---- GET /v1/events: one event per customer whose live state changed ---- */
typedef struct {
	serve_api *a;
	int64_t gen;
	int64_t *cid, *cgen; /* what this stream last sent */
	size_t n;
} stream;

static void *events_open(void *ctx)
{
	stream *s = xcalloc(1, sizeof *s);
	s->a = ctx;
	s->gen = -1;
	return s;
}

static int64_t *sent_gen(stream *s, int64_t cid)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->cid[i] == cid)
			return &s->cgen[i];
	if (s->n >= EVENTS_MAX_CUSTOMERS)
		return NULL;
	s->cid = xrealloc(s->cid, (s->n + 1) * sizeof *s->cid);
	s->cgen = xrealloc(s->cgen, (s->n + 1) * sizeof *s->cgen);
	s->cid[s->n] = cid;
	s->cgen[s->n] = -1;
	return &s->cgen[s->n++];
}

static long events_next(void *st, char *buf, size_t max, int wait_ms)
{
	stream *s = st;
	int64_t until = pd_live_now_ms() + wait_ms;
	for (;;) {
		int64_t g = pd_live_generation(s->a->live);
		if (g != s->gen) {
			pd_live_summary *all = NULL;
			size_t n = pd_live_summaries(s->a->live, &all), used = 0;
			bool full = false;
			for (size_t i = 0; i < n && !full; i++) {
				int64_t *sg = sent_gen(s, all[i].customer_id);
				if (!sg || *sg == all[i].generation)
					continue;
				json_t *o = json_pack(
				    "{s:I,s:s,s:s,s:b,s:I,s:I,s:I,s:I}", "customer",
				    (json_int_t)all[i].customer_id, "state",
				    pd_link_state_name(all[i].link), "status", all[i].status,
				    "stale", all[i].stale, "calls", (json_int_t)all[i].calls,
				    "calls_waiting", (json_int_t)all[i].calls_waiting,
				    "agents_available", (json_int_t)all[i].agents_available,
				    "agents_logged_on", (json_int_t)all[i].agents_logged_on);
				char *j = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
				json_decref(o);
				size_t need = strlen(j) + sizeof "event: live\ndata: \n\n";
				if (used + need < max) {
					used += (size_t)snprintf(buf + used, max - used,
					                         "event: live\ndata: %s\n\n", j);
					*sg = all[i].generation;
				} else {
					full = true; /* the rest in the next call */
				}
				free(j);
			}
			free(all);
			if (!full)
				s->gen = g;
			if (used)
				return (long)used;
		}
		int64_t now = pd_live_now_ms();
		if (now >= until)
			return 0;
		struct timespec ts = {0, 100 * 1000000L};
		nanosleep(&ts, NULL);
	}
}

static void events_close(void *st)
{
	stream *s = st;
	if (!s)
		return;
	free(s->cid);
	free(s->cgen);
	free(s);
}

pd_status serve_api_start(const char *db_path, const char *config_path, const pd_store_opts *so,
                          pd_live *live, int wake_fd, serve_api **out, pd_err *e)
{
	*out = NULL;
	serve_api *a = xcalloc(1, sizeof *a);
	pthread_mutex_init(&a->mu, NULL);
	a->live = live;
	a->wake_fd = wake_fd;
	pd_status st = pd_config_load(config_path, &a->cfg, e);
	if (st != PD_OK || !a->cfg.api_listen || !*a->cfg.api_listen) {
		pd_config_free(&a->cfg);
		pthread_mutex_destroy(&a->mu);
		free(a);
		return st; /* PD_OK with *out NULL: the API is off */
	}
	pd_api_opts o = {
	    .db_path = db_path,
	    .store = *so,
	    .config = &a->cfg,
	    .listen = a->cfg.api_listen,
	    .cert_path = a->cfg.api_cert,
	    .key_path = a->cfg.api_key,
	    .allow_plain = a->cfg.api_allow_plain,
	    .hooks = {.ctx = a,
	              .pbx_action = pbx_action,
	              .events_open = events_open,
	              .events_next = events_next,
	              .events_close = events_close},
	};
	if ((st = pd_api_start(&o, &a->api, e)) != PD_OK) {
		pd_config_free(&a->cfg);
		pthread_mutex_destroy(&a->mu);
		free(a);
		return st;
	}
	*out = a;
	return PD_OK;
}

int serve_api_port(const serve_api *a)
{
	return a ? pd_api_port(a->api) : 0;
}

size_t serve_api_take_resyncs(serve_api *a, int64_t **out)
{
	*out = NULL;
	if (!a)
		return 0;
	pthread_mutex_lock(&a->mu);
	size_t n = a->nresync;
	*out = a->resync;
	a->resync = NULL;
	a->nresync = a->cresync = 0;
	pthread_mutex_unlock(&a->mu);
	return n;
}

pd_status serve_api_reload_tls(serve_api *a, const pd_config *nc, pd_err *e)
{
	if (!a || !nc->api_cert || !nc->api_key)
		return PD_OK;
	return pd_api_reload_tls(a->api, nc->api_cert, nc->api_key, e);
}

void serve_api_stop(serve_api *a)
{
	if (!a)
		return;
	pd_api_stop(a->api);
	pd_config_free(&a->cfg);
	free(a->resync);
	pthread_mutex_destroy(&a->mu);
	free(a);
}

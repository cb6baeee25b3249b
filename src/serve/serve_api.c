/* The HTTP API inside `provdesk serve` (docs/architecture.md, "The API inside
 * the daemon"): started when [api] listen is set, on its own threads
 * (libmicrohttpd). Its hooks never touch the monitor directly (a reload may
 * replace it): a resync is queued here and handed to the monitor by the
 * daemon's loop (serve_api_take_resyncs), whose sync results come back
 * through serve_api_note_sync; live state is read from the daemon's
 * pd_live, which is thread-safe. The API keeps its own copy of the
 * configuration, so a reload of the daemon's never frees what an API thread
 * reads. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "objects.h"
#include "provdesk/api.h"
#include "provdesk/i18n.h"
#include "provdesk/pbx_driver.h"
#include "provdesk/util.h"
#include "serve_api.h"

#define EVENTS_MAX_CUSTOMERS 200000
#define RESYNC_QUEUE_MAX 4096
#define RESYNC_WAIT_MS 25000 /* an API worker waits this long for the sync */
#define TEST_TIMEOUT_MS 20000

typedef struct {
	int64_t cid, seq;
	pd_sync_result r;
} synced;

struct serve_api {
	pd_api *api;
	pd_config cfg; /* the API's own copy */
	pd_live *live; /* the daemon's; outlives the API */
	int wake_fd;   /* the daemon's self-pipe */
	pthread_mutex_t mu;
	pthread_cond_t synced_cv; /* a sync result noted */
	int64_t *resync;
	size_t nresync, cresync;
	synced *syncs; /* the last sync of each customer, as the loop saw it */
	size_t nsyncs;
};

static synced *sync_of(serve_api *a, int64_t cid)
{
	for (size_t i = 0; i < a->nsyncs; i++)
		if (a->syncs[i].cid == cid)
			return &a->syncs[i];
	return NULL;
}

void serve_api_note_sync(serve_api *a, int64_t cid, int64_t seq, const pd_sync_result *r)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->mu);
	synced *x = sync_of(a, cid);
	if (!x) {
		a->syncs = xrealloc(a->syncs, (a->nsyncs + 1) * sizeof *a->syncs);
		x = &a->syncs[a->nsyncs++];
		x->cid = cid;
	}
	x->seq = seq;
	x->r = *r;
	pthread_cond_broadcast(&a->synced_cv);
	pthread_mutex_unlock(&a->mu);
}

static void step(json_t *steps, const char *name, bool ok, const char *detail)
{
	json_array_append_new(steps,
	                      json_pack("{s:s,s:b,s:s}", "step", name, "ok", ok, "detail", detail));
}

/* POST …/pbx/test, as `pbx test` does it: the daemon's link is the answer
 * when it is up and was opened after the connection's last change (no
 * second login to the PBX); else the driver's test dials, and its steps and
 * status are the answer (69 unreachable → 503, 76 → 502, 77 → 403, 78 →
 * 500, through the API's one table). */
static pd_status pbx_test(serve_api *a, pd_store *s, int64_t cid, json_t **reply, pd_err *e)
{
	pd_pbx p;
	pd_status st = store_pbx_get(s, cid, true, &p, e);
	if (st != PD_OK) {
		if (st == PD_E_NOTFOUND) {
			pd_err_clear(e);
			pd_fail(e, PD_E_NOTFOUND, "pbx", _("this customer has no PBX connection"));
		}
		return st;
	}
	json_t *steps = json_array(), *monj = NULL;
	bool up = false;
	pd_live_view v;
	if (p.enabled && pd_live_snapshot(a->live, cid, &v) == PD_OK) {
		int64_t now = pd_live_now_ms();
		char text[300];
		pd_live_status_text(v.link, v.sync_done, v.sync_total, v.retry_at_ms, v.last_error,
		                    now, text, sizeof text);
		long secs = v.link_since_ms && now > v.link_since_ms
		                ? (long)((now - v.link_since_ms) / 1000)
		                : 0;
		up = v.link == PD_LINK_MONITORING &&
		     store_pbx_changed_at(s, cid) < pd_now() - secs - 1;
		monj = json_pack("{s:I,s:s,s:s,s:I}", "pid", (json_int_t)getpid(), "state",
		                 pd_link_state_name(v.link), "status", text, "for_s",
		                 (json_int_t)secs);
		if (up) {
			char d[400];
			snprintf(
			    d, sizeof d,
			    _("the running monitor's link (pid %ld) is %s for %lds; not dialled "
			      "again"),
			    (long)getpid(), text, secs);
			step(steps, "monitor", true, d);
		}
		pd_live_free_view(&v);
	}
	const char *failed = NULL;
	static __thread pd_drv_test_result res; /* 5 KB: not on a worker's stack */
	if (!up) {
		const pd_driver_ops *ops = pd_driver_find(p.platform);
		if (!ops || !ops->test) {
			st = pd_fail(e, PD_E_UNAVAILABLE, "platform",
			             _("platform %s is not supported yet"), p.platform);
			step(steps, "platform", false, e->message);
			failed = "platform";
		} else {
			pd_drv_conf dc = {.host = p.host,
			                  .port = p.port,
			                  .tls = p.tls,
			                  .username = p.username,
			                  .secret = p.secret,
			                  .params_json = p.params_json};
			memset(&res, 0, sizeof res);
			st = ops->test(&dc, TEST_TIMEOUT_MS, &res, e);
			for (int i = 0; i < res.n_steps; i++)
				step(steps, res.steps[i].name, res.steps[i].ok,
				     res.steps[i].detail);
			if (st != PD_OK)
				failed = res.failed >= 0 ? res.steps[res.failed].name : "test";
		}
	}
	if (p.secret)
		memset(p.secret, 0, strlen(p.secret));
	pd_pbx_free(&p);
	json_t *o = json_object();
	json_object_set_new(o, "ok", json_boolean(st == PD_OK));
	if (failed)
		json_object_set_new(o, "failed_step", json_string(failed));
	if (monj)
		json_object_set_new(o, "monitor", monj);
	json_object_set_new(o, "steps", steps);
	*reply = o;
	return st;
}

/* POST …/pbx/resync, as `pbx resync` through the monitor: queued to the
 * daemon's loop, which asks its monitor; this worker then waits for that
 * customer's next sync (its counts are the answer) or a link state that
 * ends the wait (auth failed, a bad stored parameter, disabled). */
static pd_status pbx_resync(serve_api *a, pd_store *s, int64_t cid, json_t **reply, pd_err *e)
{
	pd_pbx p;
	pd_status st = store_pbx_get(s, cid, false, &p, e);
	if (st == PD_E_NOTFOUND) {
		pd_err_clear(e);
		return pd_fail(e, PD_E_NOTFOUND, "pbx", _("this customer has no PBX connection"));
	}
	if (st != PD_OK)
		return st;
	bool enabled = p.enabled, sync_users = p.sync_users;
	pd_pbx_free(&p);
	if (!enabled)
		return pd_fail(e, PD_E_CONFIG, "enabled",
		               _("the PBX connection is disabled: enable it first (PATCH the "
		                 "customer's pbx, or provdesk pbx enable)"));
	if (!sync_users)
		return pd_fail(e, PD_E_CONFIG, "sync_users",
		               _("user sync is off for this PBX (sync_users = off)"));
	pd_customer cu;
	if ((st = store_customer_get(s, cid, &cu, e)) != PD_OK)
		return st;
	pthread_mutex_lock(&a->mu);
	synced *x = sync_of(a, cid);
	int64_t seq0 = x ? x->seq : 0;
	bool queued = a->nresync < RESYNC_QUEUE_MAX;
	if (queued) {
		if (a->nresync == a->cresync) {
			a->cresync = a->cresync ? a->cresync * 2 : 16;
			a->resync = xrealloc(a->resync, a->cresync * sizeof *a->resync);
		}
		a->resync[a->nresync++] = cid;
	}
	pthread_mutex_unlock(&a->mu);
	if (!queued) {
		pd_customer_free(&cu);
		return pd_fail(e, PD_E_TEMPFAIL, "pbx",
		               _("%d resyncs are queued already; retry later"), RESYNC_QUEUE_MAX);
	}
	ssize_t w = write(a->wake_fd, "R", 1);
	(void)w;
	int64_t start = pd_live_now_ms(), deadline = start + RESYNC_WAIT_MS;
	pd_sync_result r = {0};
	bool done = false;
	pd_link_state first = (pd_link_state)-1, last = (pd_link_state)-1;
	int64_t first_since = 0;
	char why[PD_MSG_TEXT_MAX] = "";
	for (;;) {
		pthread_mutex_lock(&a->mu);
		x = sync_of(a, cid);
		if (x && x->seq > seq0) {
			r = x->r;
			done = true;
		} else {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 100 * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&a->synced_cv, &a->mu, &ts);
		}
		pthread_mutex_unlock(&a->mu);
		if (done)
			break;
		pd_live_view v;
		if (pd_live_snapshot(a->live, cid, &v) == PD_OK) {
			if (first == (pd_link_state)-1) {
				first = v.link;
				first_since = v.link_since_ms;
			}
			last = v.link;
			pd_msg_text(v.last_error, why, sizeof why);
			/* a final state counts once the link moved, or after a while
			 * (the state the monitor had when asked may be an old one) */
			bool moved = v.link != first || v.link_since_ms != first_since;
			bool final = v.link == PD_LINK_AUTH_FAILED ||
			             v.link == PD_LINK_CONFIG_ERROR ||
			             v.link == PD_LINK_UNSUPPORTED || v.link == PD_LINK_DISABLED;
			pd_live_free_view(&v);
			if (final && (moved || pd_live_now_ms() - start > 10000))
				break;
		}
		if (pd_live_now_ms() >= deadline)
			break;
	}
	if (done) {
		*reply = json_pack("{s:s,s:i,s:i,s:i,s:i,s:i,s:i}", "customer", cu.name, "added",
		                   r.added, "updated", r.updated, "removed", r.removed, "linked",
		                   r.linked, "unchanged", r.unchanged, "sub_accounts_added",
		                   r.sub_accounts_added);
		st = PD_OK;
	} else if (last == (pd_link_state)-1 || pd_live_now_ms() >= deadline) {
		st = pd_fail(e, PD_E_TEMPFAIL, "pbx",
		             _("the resync of \"%s\" did not finish within %d s; it goes on in "
		               "provdesk serve"),
		             cu.name, RESYNC_WAIT_MS / 1000);
	} else {
		pd_status fs = pd_link_state_outcome(last);
		st = pd_fail(e, fs == PD_OK ? PD_E_UNAVAILABLE : fs, "pbx",
		             _("resync of \"%s\" failed: %s"), cu.name,
		             why[0] ? why : _("the link is down"));
	}
	pd_customer_free(&cu);
	return st;
}

static pd_status pbx_action(void *ctx, pd_api_pbx_op op, pd_store *s, int64_t cid, json_t **reply,
                            pd_err *e)
{
	serve_api *a = ctx;
	return op == PD_API_PBX_RESYNC ? pbx_resync(a, s, cid, reply, e)
	                               : pbx_test(a, s, cid, reply, e);
}

/* ---- GET /v1/events: the live state of each customer, whenever it changed.
 * One event per customer and change, its latest state (never a queue: a
 * slow reader skips what it did not read in time): "link" when the link's
 * state changed since this stream last sent the customer, else "live"
 * (calls, agents, status text); the first event of each customer is "live".
 * The id is the live state's generation when the event was made. */
typedef struct {
	serve_api *a;
	int64_t gen;
	int64_t *cid, *cgen; /* what this stream last sent */
	int *clink;
	size_t n, cap;
} stream;

static void *events_open(void *ctx)
{
	stream *s = xcalloc(1, sizeof *s);
	s->a = ctx;
	s->gen = -1;
	return s;
}

static size_t sent_of(stream *s, int64_t cid)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->cid[i] == cid)
			return i;
	if (s->n >= EVENTS_MAX_CUSTOMERS)
		return SIZE_MAX;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->cid = xrealloc(s->cid, s->cap * sizeof *s->cid);
		s->cgen = xrealloc(s->cgen, s->cap * sizeof *s->cgen);
		s->clink = xrealloc(s->clink, s->cap * sizeof *s->clink);
	}
	s->cid[s->n] = cid;
	s->cgen[s->n] = -1;
	s->clink[s->n] = -1;
	return s->n++;
}

static long events_next(void *st, char *buf, size_t max, int wait_ms)
{
	(void)wait_ms; /* the API parks the stream itself */
	stream *s = st;
	int64_t g = pd_live_generation(s->a->live);
	if (g == s->gen)
		return 0;
	pd_live_summary *all = NULL;
	size_t n = pd_live_summaries(s->a->live, &all), used = 0;
	bool full = false;
	for (size_t i = 0; i < n && !full; i++) {
		size_t k = sent_of(s, all[i].customer_id);
		if (k == SIZE_MAX || s->cgen[k] == all[i].generation)
			continue;
		const char *name =
		    s->clink[k] >= 0 && s->clink[k] != (int)all[i].link ? "link" : "live";
		json_t *o = json_pack("{s:I,s:s,s:s,s:b,s:I,s:I,s:I,s:I}", "customer",
		                      (json_int_t)all[i].customer_id, "state",
		                      pd_link_state_name(all[i].link), "status", all[i].status,
		                      "stale", all[i].stale, "calls", (json_int_t)all[i].calls,
		                      "calls_waiting", (json_int_t)all[i].calls_waiting,
		                      "agents_available", (json_int_t)all[i].agents_available,
		                      "agents_logged_on", (json_int_t)all[i].agents_logged_on);
		char *j = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
		json_decref(o);
		if (!j)
			continue;
		char head[64];
		int hn = snprintf(head, sizeof head, "event: %s\nid: %lld\n", name, (long long)g);
		size_t need = (size_t)hn + strlen(j) + sizeof "data: \n\n";
		if (used + need < max) {
			used += (size_t)snprintf(buf + used, max - used, "%sdata: %s\n\n", head, j);
			s->cgen[k] = all[i].generation;
			s->clink[k] = (int)all[i].link;
		} else {
			full = true; /* the rest in the next call */
		}
		free(j);
	}
	free(all);
	if (!full)
		s->gen = g;
	return (long)used;
}

static void events_close(void *st)
{
	stream *s = st;
	if (!s)
		return;
	free(s->cid);
	free(s->cgen);
	free(s->clink);
	free(s);
}

pd_status serve_api_start(const char *db_path, const char *config_path, const char *listen,
                          const pd_store_opts *so, pd_live *live, int wake_fd, serve_api **out,
                          pd_err *e)
{
	*out = NULL;
	serve_api *a = xcalloc(1, sizeof *a);
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->synced_cv, NULL);
	a->live = live;
	a->wake_fd = wake_fd;
	pd_status st = pd_config_load(config_path, &a->cfg, e);
	if (st == PD_OK && listen) /* serve --listen: in place of [api] listen */
		pd_set_str(&a->cfg.api_listen, listen);
	if (st != PD_OK || !a->cfg.api_listen || !*a->cfg.api_listen) {
		pd_config_free(&a->cfg);
		pthread_mutex_destroy(&a->mu);
		pthread_cond_destroy(&a->synced_cv);
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
		if (listen && !strcmp(e->field, "api.listen"))
			snprintf(e->field, sizeof e->field, "listen"); /* what was typed */
		pd_config_free(&a->cfg);
		pthread_mutex_destroy(&a->mu);
		pthread_cond_destroy(&a->synced_cv);
		free(a);
		return st;
	}
	*out = a;
	return PD_OK;
}

const char *serve_api_listen(const serve_api *a)
{
	return a ? a->cfg.api_listen : "";
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
	free(a->syncs);
	pthread_mutex_destroy(&a->mu);
	pthread_cond_destroy(&a->synced_cv);
	free(a);
}

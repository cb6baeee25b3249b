/* The fake PBX driver: see fake_driver.h. */
#include "fake_driver.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "provdesk/live.h"
#include "provdesk/util.h"

#define STEP_MS 5 /* each step of the way up is a timer this far away */
#define MAX_CUSTOMERS 16

/* What the test and the monitor thread share, per customer (under mu). */
typedef struct {
	int64_t cid;
	fake_script script;
	fake_counts counts;
	bool drop_pending, publish_pending;
	int wake_fd; /* the live instance's pipe, -1 when none */
} record;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static record recs[MAX_CUSTOMERS];
static size_t n_recs;

/* Caller holds mu. */
static record *rec_of(int64_t cid)
{
	for (size_t i = 0; i < n_recs; i++)
		if (recs[i].cid == cid)
			return &recs[i];
	if (n_recs == MAX_CUSTOMERS)
		abort(); /* a test with more customers than this is a test bug */
	record *r = &recs[n_recs++];
	memset(r, 0, sizeof *r);
	r->cid = cid;
	r->wake_fd = -1;
	return r;
}

static void wake(record *r)
{
	if (r->wake_fd >= 0) {
		ssize_t w = write(r->wake_fd, "x", 1);
		(void)w; /* a full pipe is awake already */
	}
}

/* One instance: lives in the monitor thread only. */
typedef struct {
	int64_t cid;
	pd_drv_conf c;
	char *host;
	pd_drv_host h;
	int pipe_r, pipe_w;
	pd_link_state st;
	int64_t deadline, retry_at;
	int attempts;
	int done, total;
	char last_error[120];
	pd_sync_result last;
	bool have_last;
	bool held; /* synced, held in discovering by the script */
} fake;

static fake_script script_of(const fake *d)
{
	pthread_mutex_lock(&mu);
	fake_script s = rec_of(d->cid)->script;
	pthread_mutex_unlock(&mu);
	return s;
}

static void report(fake *d, pd_link_state st, int64_t now)
{
	d->st = st;
	const char *err = st == PD_LINK_MONITORING ? "" : d->last_error;
	/* counted before it shows: a test that saw the state sees the count */
	pthread_mutex_lock(&mu);
	rec_of(d->cid)->counts.seen |= 1u << st;
	pthread_mutex_unlock(&mu);
	pd_live_set_link(d->h.live, d->cid, st, d->done, d->total, d->retry_at, err);
	if (d->h.link_changed) {
		char text[256];
		pd_live_status_text(st, d->done, d->total, d->retry_at, err, now, text,
		                    sizeof text);
		d->h.link_changed(d->h.ctx, d->cid, st, text);
	}
}

/* Users (all) and calls (only when monitoring) into the live state. */
static void publish(fake *d, int users, int calls, int64_t now)
{
	pd_live_view v = {0};
	v.n_users = (size_t)users;
	v.users = users ? xcalloc((size_t)users, sizeof *v.users) : NULL;
	for (int i = 0; i < users; i++) {
		char ep[16], name[32];
		snprintf(ep, sizeof ep, "%d", 1000 + i);
		snprintf(name, sizeof name, "Fake User %d", i);
		v.users[i] =
		    (pd_live_user){xstrdup(ep), xstrdup(name), NULL, xstrdup("Not in use")};
	}
	v.n_calls = (size_t)calls;
	v.calls = calls ? xcalloc((size_t)calls, sizeof *v.calls) : NULL;
	for (int i = 0; i < calls; i++) {
		char id[16], from[16];
		snprintf(id, sizeof id, "call-%d", i);
		snprintf(from, sizeof from, "%d", 1000 + i);
		v.calls[i] = (pd_live_call){.id = xstrdup(id),
		                            .from = xstrdup(from),
		                            .to = xstrdup("200"),
		                            .dir = PD_DIR_INBOUND,
		                            .state = PD_CALL_CONNECTED,
		                            .start_ms = now,
		                            .state_since_ms = now};
	}
	pd_live_publish(d->h.live, d->cid, &v);
}

static void start_connect(fake *d, int64_t now)
{
	pthread_mutex_lock(&mu);
	rec_of(d->cid)->counts.connects++;
	pthread_mutex_unlock(&mu);
	d->deadline = now + STEP_MS;
	report(d, PD_LINK_CONNECTING, now);
}

/* Down: calls unknown (users kept), a retry after a capped doubling delay. */
static void fail_retry(fake *d, const char *why, int64_t now)
{
	snprintf(d->last_error, sizeof d->last_error, "%s", why);
	int64_t base = d->c.backoff_min_ms > 0 ? d->c.backoff_min_ms : 1000;
	int64_t cap = (int64_t)(d->c.backoff_max_s > 0 ? d->c.backoff_max_s : 60) * 1000;
	int64_t delay = base << (d->attempts < 16 ? d->attempts : 16);
	if (delay > cap)
		delay = cap;
	d->attempts++;
	d->retry_at = now + delay;
	d->deadline = d->retry_at;
	pthread_mutex_lock(&mu);
	rec_of(d->cid)->counts.last_retry_delay_ms = delay;
	pthread_mutex_unlock(&mu);
	/* the state first, as the AMI driver does (pd_live_set_link) */
	report(d, PD_LINK_RETRYING, now);
	publish(d, script_of(d).users, 0, now);
}

static void start_discovery(fake *d, int64_t now)
{
	d->done = 0;
	d->total = script_of(d).users;
	d->deadline = now + STEP_MS;
	report(d, PD_LINK_DISCOVERING, now);
}

static void finish_discovery(fake *d, int64_t now)
{
	fake_script s = script_of(d);
	if (d->held) { /* synced already: monitoring once the script lets go */
		if (s.hold_after_sync) {
			d->deadline = now + STEP_MS;
			return;
		}
		d->held = false;
		goto monitoring;
	}
	pthread_mutex_lock(&mu);
	rec_of(d->cid)->counts.discoveries++;
	pthread_mutex_unlock(&mu);
	if (d->h.sync_users) {
		pd_synced_user *u = s.users ? xcalloc((size_t)s.users, sizeof *u) : NULL;
		char(*ep)[16] = s.users ? xcalloc((size_t)s.users, sizeof *ep) : NULL;
		char(*nm)[32] = s.users ? xcalloc((size_t)s.users, sizeof *nm) : NULL;
		for (int i = 0; i < s.users; i++) {
			snprintf(ep[i], sizeof ep[i], "%d", 1000 + i);
			snprintf(nm[i], sizeof nm[i], "Fake User %d", i);
			u[i] = (pd_synced_user){.endpoint = ep[i], .display_name = nm[i]};
		}
		pd_err e = {0};
		if (d->h.sync_users(d->h.ctx, d->cid, u, (size_t)s.users, d->c.auto_provision,
		                    &d->last, &e) == PD_OK)
			d->have_last = true;
		free(u);
		free(ep);
		free(nm);
	}
	if (s.hold_after_sync) {
		d->held = true;
		d->deadline = now + STEP_MS;
		return;
	}
monitoring:
	d->done = d->total = s.users;
	d->attempts = 0;
	d->deadline = INT64_MAX;
	d->last_error[0] = '\0';
	publish(d, s.users, s.calls, now);
	report(d, PD_LINK_MONITORING, now);
}

static pd_status f_create(const pd_drv_conf *c, const pd_drv_host *h, void **out, pd_err *e)
{
	pthread_mutex_lock(&mu);
	record *r = rec_of(c->customer_id);
	bool refuse = r->script.create_fails;
	pthread_mutex_unlock(&mu);
	if (refuse)
		return pd_fail(e, PD_E_CONFIG, "params",
		               "the fake driver refuses these parameters");
	fake *d = xcalloc(1, sizeof *d);
	int p[2];
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) {
		free(d);
		return pd_fail(e, PD_E_INTERNAL, NULL, "cannot create the fake driver's pipe");
	}
	d->pipe_r = p[0];
	d->pipe_w = p[1];
	d->cid = c->customer_id;
	d->c = *c;
	d->host = xstrdup(c->host);
	d->c.host = d->host;
	d->c.username = d->c.secret = d->c.params_json = NULL; /* not kept */
	d->h = *h;
	pthread_mutex_lock(&mu);
	r = rec_of(c->customer_id);
	r->counts.created++;
	r->counts.alive = true;
	snprintf(r->counts.host, sizeof r->counts.host, "%s", c->host ? c->host : "");
	r->counts.port = c->port;
	r->drop_pending = r->publish_pending = false;
	r->wake_fd = d->pipe_w;
	pthread_mutex_unlock(&mu);
	*out = d;
	start_connect(d, pd_live_now_ms());
	return PD_OK;
}

static void f_destroy(void *p)
{
	fake *d = p;
	pthread_mutex_lock(&mu);
	record *r = rec_of(d->cid);
	r->counts.destroyed++;
	r->counts.alive = false;
	r->wake_fd = -1;
	pthread_mutex_unlock(&mu);
	close(d->pipe_r);
	close(d->pipe_w);
	free(d->host);
	free(d);
}

static int f_pollfds(void *p, struct pollfd *pf, int max)
{
	fake *d = p;
	if (max < 1)
		return 0;
	pf[0] = (struct pollfd){.fd = d->pipe_r, .events = POLLIN};
	return 1;
}

static void f_on_io(void *p, const struct pollfd *pf, int n, int64_t now)
{
	fake *d = p;
	(void)pf;
	(void)n;
	char b[64];
	while (read(d->pipe_r, b, sizeof b) > 0)
		;
	pthread_mutex_lock(&mu);
	record *r = rec_of(d->cid);
	bool drop = r->drop_pending, pub = r->publish_pending;
	r->drop_pending = r->publish_pending = false;
	fake_script s = r->script;
	if (drop && d->st != PD_LINK_RETRYING && d->st != PD_LINK_AUTH_FAILED)
		r->counts.drops++;
	pthread_mutex_unlock(&mu);
	if (drop && d->st != PD_LINK_RETRYING && d->st != PD_LINK_AUTH_FAILED) {
		fail_retry(d, "connection closed by the PBX (scripted)", now);
		return;
	}
	if (pub && d->st == PD_LINK_MONITORING)
		publish(d, s.users, s.calls, now);
}

static int64_t f_next_deadline(void *p)
{
	return ((fake *)p)->deadline;
}

static void f_on_timer(void *p, int64_t now)
{
	fake *d = p;
	if (now < d->deadline) {
		pthread_mutex_lock(&mu);
		rec_of(d->cid)->counts.early_timers++;
		pthread_mutex_unlock(&mu);
		return;
	}
	fake_script s = script_of(d);
	switch (d->st) {
	case PD_LINK_CONNECTING:
		if (s.connect_fails) {
			fail_retry(d, "connection refused (scripted)", now);
		} else {
			d->deadline = now + STEP_MS;
			report(d, PD_LINK_LOGGING_IN, now);
		}
		break;
	case PD_LINK_LOGGING_IN:
		if (s.login_fails) {
			snprintf(d->last_error, sizeof d->last_error,
			         "authentication failed (scripted)");
			d->deadline = INT64_MAX;
			d->retry_at = 0;
			publish(d, 0, 0, now);
			report(d, PD_LINK_AUTH_FAILED, now);
		} else {
			start_discovery(d, now);
		}
		break;
	case PD_LINK_DISCOVERING:
		finish_discovery(d, now);
		break;
	case PD_LINK_RETRYING:
		start_connect(d, now);
		break;
	default:
		d->deadline = INT64_MAX;
	}
}

static void f_resync(void *p, int64_t now)
{
	fake *d = p;
	if (d->st == PD_LINK_MONITORING)
		start_discovery(d, now);
	else if (d->st == PD_LINK_RETRYING || d->st == PD_LINK_AUTH_FAILED)
		start_connect(d, now);
}

static pd_link_state f_state(void *p)
{
	return ((fake *)p)->st;
}

static bool f_last_sync(void *p, pd_sync_result *r)
{
	fake *d = p;
	if (d->have_last)
		*r = d->last;
	return d->have_last;
}

static const pd_driver_ops fake_ops = {
    .platform = FAKE_PLATFORM,
    .create = f_create,
    .destroy = f_destroy,
    .pollfds = f_pollfds,
    .on_io = f_on_io,
    .next_deadline = f_next_deadline,
    .on_timer = f_on_timer,
    .resync = f_resync,
    .state = f_state,
    .last_sync = f_last_sync,
};

void fake_driver_setup(void)
{
	pthread_mutex_lock(&mu);
	n_recs = 0;
	pthread_mutex_unlock(&mu);
	if (pd_driver_find(FAKE_PLATFORM) != &fake_ops) {
		pd_err e = {0};
		if (pd_driver_register(&fake_ops, &e) != PD_OK) {
			fprintf(stderr, "fake driver: %s\n", e.message);
			abort();
		}
	}
}

void fake_set_script(int64_t cid, const fake_script *s)
{
	pthread_mutex_lock(&mu);
	rec_of(cid)->script = *s;
	pthread_mutex_unlock(&mu);
}

void fake_drop(int64_t cid)
{
	pthread_mutex_lock(&mu);
	record *r = rec_of(cid);
	r->drop_pending = true;
	wake(r);
	pthread_mutex_unlock(&mu);
}

void fake_publish(int64_t cid, int users, int calls)
{
	pthread_mutex_lock(&mu);
	record *r = rec_of(cid);
	r->script.users = users;
	r->script.calls = calls;
	r->publish_pending = true;
	wake(r);
	pthread_mutex_unlock(&mu);
}

fake_counts fake_get(int64_t cid)
{
	pthread_mutex_lock(&mu);
	fake_counts c = rec_of(cid)->counts;
	pthread_mutex_unlock(&mu);
	return c;
}

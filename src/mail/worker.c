/* The outbox worker thread. It owns its own store connection and sleeps on
 * a condition variable until the next message is due, a kick, or a periodic
 * cheap look at PRAGMA data_version (another console or the CLI may have
 * queued mail). It never touches the UI: it writes one byte to notify_fd. */
#include "mail_internal.h"
#include "provdesk/i18n.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Retry delay after a store error or while another process delivers. */
#define WORKER_RETRY_S 30

struct pd_outbox_worker {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* CLOCK_MONOTONIC */
	bool kicked;
	bool started; /* startup handshake done */
	pd_status open_status;
	pd_err open_err;
	atomic_bool stop; /* also the SMTP cancel flag */
	char *db_path;
	pd_store_opts so;
	char *url, *from, *username, *ca_file, *activation_url;
	pd_masked password; /* o.password is set only during a round */
	pd_smtp_opts o;
	int notify_fd;
	pd_outbox_worker_stats stats;
};

static void notify(pd_outbox_worker *w)
{
	if (w->notify_fd < 0)
		return;
	/* A full pipe already means "redraw pending": EAGAIN is fine. */
	ssize_t n;
	do
		n = write(w->notify_fd, "m", 1);
	while (n < 0 && errno == EINTR);
}

static struct timespec mono_after(int64_t seconds)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)seconds;
	return ts;
}

/* Waits up to `seconds` (< 0: no limit). Returns true when kicked. */
static bool wait_for(pd_outbox_worker *w, int64_t seconds)
{
	struct timespec dl = mono_after(seconds < 0 ? 0 : seconds);
	pthread_mutex_lock(&w->mu);
	while (!w->kicked && !atomic_load(&w->stop)) {
		int rc = seconds < 0 ? pthread_cond_wait(&w->cv, &w->mu)
		                     : pthread_cond_timedwait(&w->cv, &w->mu, &dl);
		if (rc == ETIMEDOUT)
			break;
	}
	bool kicked = w->kicked;
	w->kicked = false;
	pthread_mutex_unlock(&w->mu);
	return kicked;
}

static void record(pd_outbox_worker *w, const pd_outbox_report *r, pd_status st, const pd_err *e)
{
	pthread_mutex_lock(&w->mu);
	w->stats.rounds++;
	w->stats.sent += r->sent;
	w->stats.failed += r->failed;
	w->stats.not_configured = r->not_configured;
	if (st != PD_OK) {
		w->stats.last_status = st;
		pd_utf8_copys(w->stats.last_error, sizeof w->stats.last_error, e->message);
	} else {
		w->stats.last_status = r->server_status;
		pd_utf8_copys(w->stats.last_error, sizeof w->stats.last_error, r->server_error);
	}
	pthread_mutex_unlock(&w->mu);
}

static void *worker_main(void *arg)
{
	pd_outbox_worker *w = arg;
	pd_thread_name("pd-outbox");
	/* Signals are for the main thread (SIGWINCH, SIGTERM…); a blocked
	 * SIGPIPE turns a write to a dead peer or pipe into EPIPE here. */
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pd_store *s = NULL;
	pd_err oe = {0};
	pd_status ost = store_open(w->db_path, &w->so, &s, &oe);
	pthread_mutex_lock(&w->mu);
	w->open_status = ost;
	w->open_err = oe;
	w->started = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	if (ost != PD_OK)
		return NULL;

	bool need_round = true;
	int64_t wake_at = 0;     /* wall-clock second of the next round; 0 = none */
	int64_t server_hold = 0; /* no new round for mere commits before this */
	int64_t last_dv = store_data_version(s);
	while (!atomic_load(&w->stop)) {
		int64_t now = pd_now();
		if (need_round) {
			need_round = false;
			pd_outbox_report r;
			pd_err e = {0};
			/* the password in clear only for the round, then wiped
			 * (docs/architecture.md, Secrets in memory) */
			char *pw =
			    pd_masked_isset(&w->password) ? pd_masked_reveal(&w->password) : NULL;
			w->o.password = pw;
			pd_status st = pd_outbox_deliver_due(s, &w->o, now, 0, &r, &e);
			w->o.password = NULL;
			pd_secret_free(pw);
			if (atomic_load(&w->stop))
				break;
			record(w, &r, st, &e);
			if (r.sent || r.failed || r.retry_later)
				notify(w);
			now = pd_now();
			server_hold = 0;
			if (st != PD_OK) {
				wake_at = now + WORKER_RETRY_S;
			} else if (r.not_configured) {
				wake_at = 0;
			} else if (r.busy_elsewhere) {
				wake_at = now + WORKER_RETRY_S;
			} else if (r.server_status != PD_OK) {
				wake_at = server_hold = r.server_retry_at;
			} else {
				wake_at = r.next_due;
			}
			if (wake_at && wake_at <= now)
				wake_at = now + 1;
			last_dv = store_data_version(s);
		}
		/* Unconfigured: nothing can be sent until a restart; sleep for good. */
		int64_t wait_s = -1;
		if (!w->o.url || !*w->o.url) {
			wait_s = -1;
		} else {
			wait_s = PD_OUTBOX_IDLE_CHECK;
			if (wake_at && wake_at - now < wait_s)
				wait_s = wake_at - now > 0 ? wake_at - now : 0;
		}
		if (wait_for(w, wait_s)) {
			need_round = true;
			continue;
		}
		if (atomic_load(&w->stop))
			break;
		now = pd_now();
		if (wake_at && now >= wake_at) {
			need_round = true;
		} else {
			int64_t dv = store_data_version(s);
			if (dv != last_dv && now >= server_hold)
				need_round = true;
			last_dv = dv;
		}
	}
	store_close(s);
	return NULL;
}

static void worker_free(pd_outbox_worker *w)
{
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w->db_path);
	free(w->url);
	free(w->from);
	free(w->username);
	free(w->ca_file);
	free(w->activation_url);
	pd_masked_clear(&w->password);
	free(w);
}

pd_status pd_outbox_worker_start(const char *db_path, const pd_store_opts *so,
                                 const pd_smtp_opts *o, int notify_fd, pd_outbox_worker **out,
                                 pd_err *e)
{
	*out = NULL;
	if (o && o->url && *o->url) {
		pd_status st = pd_smtp_opts_check(o, e);
		if (st != PD_OK)
			return st;
	}
	pd_outbox_worker *w = xcalloc(1, sizeof *w);
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	atomic_init(&w->stop, false);
	w->db_path = xstrdup(db_path);
	w->so = *so;
	w->notify_fd = notify_fd;
	if (o)
		w->o = *o;
	else
		pd_smtp_opts_init(&w->o);
	w->url = xstrdup(w->o.url);
	w->from = xstrdup(w->o.from);
	w->username = xstrdup(w->o.username);
	pd_masked_set(&w->password, w->o.password);
	w->ca_file = xstrdup(w->o.ca_file);
	w->activation_url = xstrdup(w->o.activation_url);
	w->o.url = w->url;
	w->o.from = w->from;
	w->o.username = w->username;
	w->o.password = NULL;
	w->o.ca_file = w->ca_file;
	w->o.activation_url = w->activation_url;
	w->o.cancel = &w->stop;

	int rc = pthread_create(&w->thread, NULL, worker_main, w);
	if (rc != 0) {
		worker_free(w);
		return pd_fail(e, PD_E_INTERNAL, NULL, _("cannot start the outbox worker: %s"),
		               strerror(rc));
	}
	pthread_mutex_lock(&w->mu);
	while (!w->started)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
	if (w->open_status != PD_OK) {
		pthread_join(w->thread, NULL);
		if (e)
			*e = w->open_err;
		pd_status st = w->open_status;
		worker_free(w);
		return st;
	}
	*out = w;
	return PD_OK;
}

void pd_outbox_worker_kick(pd_outbox_worker *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->kicked = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

void pd_outbox_worker_stop(pd_outbox_worker *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	atomic_store(&w->stop, true);
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	worker_free(w);
}

void pd_outbox_worker_stats_get(pd_outbox_worker *w, pd_outbox_worker_stats *out)
{
	pthread_mutex_lock(&w->mu);
	*out = w->stats;
	pthread_mutex_unlock(&w->mu);
}

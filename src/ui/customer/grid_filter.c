/* The grid's filter worker (grid_filter.h). One mutex guards the question
 * and the answer; the generation asked last is also an atomic the running
 * query reads from its progress handler to stop early. */
#include "grid_filter.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct grid_filter {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;   /* a question or stop, for the thread */
	pthread_cond_t done; /* an answer, for grid_filter_wait */
	bool stop;
	char *db_path;
	pd_store_opts so;
	pd_sort warm_sort;
	void (*wake)(void *);
	void *wake_arg;
	/* the question */
	bool asked;
	uint64_t q_gen;
	pd_query q;
	char *q_filter;
	size_t q_limit;
	uint64_t latest; /* atomic: the newest generation asked */
	/* the answer */
	bool answered;
	struct grid_filter_result res;
};

static void result_free(struct grid_filter_result *r)
{
	pd_rows_free(r->rows, r->n);
	free(r->rows);
	memset(r, 0, sizeof *r);
}

struct cancel_arg {
	struct grid_filter *f;
	uint64_t gen;
};

static bool stale(void *arg)
{
	struct cancel_arg *c = arg;
	return __atomic_load_n(&c->f->latest, __ATOMIC_ACQUIRE) != c->gen ||
	       __atomic_load_n(&c->f->stop, __ATOMIC_ACQUIRE);
}

static bool stopping(void *arg)
{
	struct grid_filter *f = arg;
	pd_thread_name("pd-filter");
	return __atomic_load_n(&f->stop, __ATOMIC_ACQUIRE);
}

static void *run(void *arg)
{
	struct grid_filter *f = arg;
	pd_store *s = NULL;
	pd_err oe;
	pd_err_clear(&oe);
	pd_status ost = store_open(f->db_path, &f->so, &s, &oe);
	pd_filter_index *ix = store_filter_index_new();
	if (ost == PD_OK) {
		/* read ahead; a question arriving meanwhile cancels nothing:
		 * it needs the same index */
		pd_err e;
		pd_err_clear(&e);
		store_filter_index_warm(s, ix, f->warm_sort, stopping, f, &e);
	}
	pthread_mutex_lock(&f->mu);
	for (;;) {
		while (!f->stop && !f->asked)
			pthread_cond_wait(&f->cv, &f->mu);
		if (f->stop)
			break;
		/* take the question */
		uint64_t gen = f->q_gen;
		pd_query q = f->q;
		char *filter = f->q_filter;
		f->q_filter = NULL;
		q.filter = filter;
		size_t limit = f->q_limit;
		f->asked = false;
		pthread_mutex_unlock(&f->mu);

		struct grid_filter_result r = {.gen = gen};
		pd_err_clear(&r.e);
		r.rows = xcalloc(limit ? limit : 1, sizeof *r.rows);
		struct cancel_arg c = {f, gen};
		if (ost != PD_OK) {
			r.st = ost;
			r.e = oe;
		} else {
			r.st = store_filter_first_page(s, ix, &q, limit, r.rows, &r.n, &r.total,
			                               stale, &c, &r.e);
		}
		free(filter);
		bool cancelled = r.st != PD_OK && stale(&c);

		pthread_mutex_lock(&f->mu);
		if (cancelled) {
			result_free(&r); /* a newer question waits: no answer for this one */
			continue;
		}
		result_free(&f->res);
		f->res = r;
		f->answered = true;
		pthread_cond_broadcast(&f->done);
		pthread_mutex_unlock(&f->mu);
		if (f->wake)
			f->wake(f->wake_arg);
		pthread_mutex_lock(&f->mu);
	}
	pthread_mutex_unlock(&f->mu);
	store_filter_index_free(ix);
	store_close(s);
	return NULL;
}

struct grid_filter *grid_filter_start(const char *db_path, const pd_store_opts *so, pd_sort sort,
                                      void (*wake)(void *arg), void *arg)
{
	struct grid_filter *f = xcalloc(1, sizeof *f);
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&f->done, &ca);
	pthread_condattr_destroy(&ca);
	f->db_path = xstrdup(db_path);
	f->so = *so;
	f->so.read_only = true; /* it only reads; no migration or catalogue sync */
	f->warm_sort = sort;
	f->wake = wake;
	f->wake_arg = arg;
	if (pthread_create(&f->th, NULL, run, f) != 0) {
		free(f->db_path);
		free(f);
		return NULL;
	}
	return f;
}

void grid_filter_post(struct grid_filter *f, uint64_t gen, const pd_query *q, size_t limit)
{
	pthread_mutex_lock(&f->mu);
	free(f->q_filter);
	f->q = *q;
	f->q_filter = q->filter ? xstrdup(q->filter) : NULL;
	f->q.filter = NULL;
	f->q_limit = limit;
	f->q_gen = gen;
	f->asked = true;
	__atomic_store_n(&f->latest, gen, __ATOMIC_RELEASE); /* the running one sees it */
	pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

/* Under the lock: hand over the answer for gen; drop an older one. */
static bool take_locked(struct grid_filter *f, uint64_t gen, struct grid_filter_result *out)
{
	if (!f->answered)
		return false;
	if (f->res.gen != gen) {
		if (f->res.gen < gen) {
			result_free(&f->res); /* stale: never painted */
			f->answered = false;
		}
		return false;
	}
	*out = f->res;
	memset(&f->res, 0, sizeof f->res);
	f->answered = false;
	return true;
}

bool grid_filter_take(struct grid_filter *f, uint64_t gen, struct grid_filter_result *out)
{
	pthread_mutex_lock(&f->mu);
	bool got = take_locked(f, gen, out);
	pthread_mutex_unlock(&f->mu);
	return got;
}

bool grid_filter_wait(struct grid_filter *f, uint64_t gen, int timeout_ms,
                      struct grid_filter_result *out)
{
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&f->mu);
	bool got;
	while (!(got = take_locked(f, gen, out)))
		if (pthread_cond_timedwait(&f->done, &f->mu, &until) == ETIMEDOUT) {
			got = take_locked(f, gen, out);
			break;
		}
	pthread_mutex_unlock(&f->mu);
	return got;
}

void grid_filter_stop(struct grid_filter *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->mu);
	__atomic_store_n(&f->stop, true, __ATOMIC_RELEASE);
	pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
	pthread_join(f->th, NULL);
	result_free(&f->res);
	free(f->q_filter);
	free(f->db_path);
	pthread_cond_destroy(&f->cv);
	pthread_cond_destroy(&f->done);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

/* Shared live state: see include/provdesk/live.h. The lock is held only to
 * swap pointers or copy a customer's arrays; element frees happen outside. */
#include "provdesk/live.h"
#include "provdesk/i18n.h"
#include "provdesk/link_state.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "model_index.h"
#include "provdesk/util.h"

/* A view's data without its link fields (a thousand idle links each keep
 * one: a whole pd_live_view would be 0.5 kB more per link). */
typedef struct {
	pd_live_user *users;
	size_t n_users;
	pd_live_call *calls;
	size_t n_calls;
	pd_live_agent *agents;
	size_t n_agents;
	pd_live_input input;
} view_data;

/* As pd_live_view.last_error holds it. */
#define LIVE_ERROR_MAX (sizeof((pd_live_view *)0)->last_error - 1)

/* A link's error or warning as stored: it may quote the PBX (a banner, a
 * refusal), so invalid UTF-8 and unsafe code points become visible escapes
 * (the console, the serve protocol's JSON and `pbx status --json` need
 * valid UTF-8), cut to LIVE_ERROR_MAX on a code point; a pd_msg keeps its
 * marks (its arguments cannot hold one: pd_msg made them '?'). NULL when
 * empty. */
static char *clean_error(const char *s)
{
	if (!s || !*s)
		return NULL;
	pd_buf b = {0};
	bool msg = pd_msg_is(s);
	for (const char *p = s; *p;) {
		size_t n = msg ? strcspn(p, PD_MSG_MARKS) : strlen(p);
		pd_term_escape(&b, p, n, false);
		p += n;
		if (*p)
			pd_buf_addc(&b, *p++);
	}
	char *r = xstrndup(b.s, pd_utf8_cut(b.s, b.len, LIVE_ERROR_MAX));
	pd_buf_free(&b);
	return r;
}

/* An entry's link fields into a pd_live_view or a pd_live_summary (the
 * same names in both). */
#define LINK_FIELDS_INTO(o, e)                                                                     \
	do {                                                                                       \
		(o)->customer_id = (e)->customer_id;                                               \
		(o)->link = (e)->link;                                                             \
		(o)->sync_done = (e)->sync_done;                                                   \
		(o)->sync_total = (e)->sync_total;                                                 \
		(o)->retry_at_ms = (e)->retry_at_ms;                                               \
		(o)->link_since_ms = (e)->link_since_ms;                                           \
		(o)->down_since_ms = (e)->down_since_ms;                                           \
		(o)->stale = (e)->stale;                                                           \
		(o)->stale_since_ms = (e)->stale_since_ms;                                         \
		(o)->generation = (e)->generation;                                                 \
		(o)->input = (e)->d.input;                                                         \
	} while (0)

/* A customer's live state: the link fields of a pd_live_view (its status
 * text is formatted at snapshot time, its last error kept only when there
 * is one) and its data. */
typedef struct {
	int64_t customer_id;
	pd_link_state link;
	int sync_done, sync_total;
	int64_t retry_at_ms, link_since_ms, down_since_ms;
	bool stale;
	int64_t stale_since_ms;
	int64_t generation;
	char *last_error; /* NULL when none */
	view_data d;
	/* published while d is stale and the link not back: shown once it is
	 * monitoring again (only the latest is kept) */
	view_data pending;
	bool have_pending;
} entry;

static view_data data_of(const pd_live_view *v)
{
	return (view_data){v->users,  v->n_users,  v->calls, v->n_calls,
	                   v->agents, v->n_agents, v->input};
}

/* d's arrays and counts into v (whose own were moved out before). */
static void data_into(view_data d, pd_live_view *v)
{
	v->users = d.users;
	v->n_users = d.n_users;
	v->calls = d.calls;
	v->n_calls = d.n_calls;
	v->agents = d.agents;
	v->n_agents = d.n_agents;
	v->input = d.input;
}

/* e's pending data moved to *out (to be freed outside the lock). */
static void take_pending(entry *e, pd_live_view *out)
{
	data_into(e->pending, out);
	memset(&e->pending, 0, sizeof e->pending);
	e->have_pending = false;
}

struct pd_live {
	pthread_mutex_t mu;
	entry *e;
	size_t n, cap;
	/* the entries by customer id (a grid row, a publish, a snapshot finds
	 * its customer among 100,000 in one probe; model_index.h) */
	pd_sidx idx;
	int64_t generation;
	int pipe_r, pipe_w;
	atomic_bool wake_pending;
};

int64_t pd_live_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *pd_call_state_name(pd_call_state s)
{
	static const char *n[] = {N_("Queued"), N_("Ringing"), N_("Connected"), N_("Held"),
	                          N_("Ended")};
	return (unsigned)s < 5 ? _(n[s]) : "?";
}

const char *pd_call_dir_name(pd_call_dir d)
{
	static const char *n[] = {N_("inbound"), N_("outbound"), N_("internal")};
	return (unsigned)d < 3 ? _(n[d]) : "?";
}

const char *pd_agent_state_name(pd_agent_state s)
{
	static const char *n[] = {N_("Logged off"), N_("Available"), N_("Ringing"),
	                          N_("On call"),    N_("On hold"),   N_("Wrap-up"),
	                          N_("Not ready"),  N_("Offline")};
	return (unsigned)s < 8 ? _(n[s]) : "?";
}

/* A phone's device state as the models store it (English: the database,
 * the API and the JSON keep these words) and as a screen shows it. */
static const char *const device_states[] = {NC_("device state", "Not in use"),
                                            NC_("device state", "In use"),
                                            NC_("device state", "Busy"),
                                            NC_("device state", "Invalid"),
                                            NC_("device state", "Unavailable"),
                                            NC_("device state", "Ringing"),
                                            NC_("device state", "Ringing, in use"),
                                            NC_("device state", "On hold"),
                                            NC_("device state", "Unknown")};

const char *pd_device_state_label(const char *state)
{
	if (!state)
		return "";
	for (size_t i = 0; i < sizeof device_states / sizeof *device_states; i++)
		if (!strcmp(state, device_states[i]))
			return pd_trc("device state", device_states[i]);
	return state; /* a PBX's own word, shown as it came */
}

pd_live *pd_live_new(void)
{
	pd_live *l = xcalloc(1, sizeof *l);
	pthread_mutex_init(&l->mu, NULL);
	int p[2];
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0) {
		l->pipe_r = p[0];
		l->pipe_w = p[1];
	} else {
		l->pipe_r = l->pipe_w = -1;
	}
	return l;
}

void pd_live_users_free(pd_live_user *u, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(u[i].endpoint);
		free(u[i].name);
		free(u[i].sub_account);
		free(u[i].device_state);
	}
	free(u);
}

void pd_live_calls_free(pd_live_call *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(c[i].id);
		free(c[i].from);
		free(c[i].from_name);
		free(c[i].to);
		free(c[i].queue);
		free(c[i].agent);
	}
	free(c);
}

void pd_live_agents_free(pd_live_agent *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(a[i].interface);
		free(a[i].name);
		free(a[i].queues);
		free(a[i].reason);
	}
	free(a);
}

void pd_live_free_view(pd_live_view *v)
{
	if (!v)
		return;
	pd_live_users_free(v->users, v->n_users);
	pd_live_calls_free(v->calls, v->n_calls);
	pd_live_agents_free(v->agents, v->n_agents);
	v->users = NULL;
	v->calls = NULL;
	v->agents = NULL;
	v->n_users = v->n_calls = v->n_agents = 0;
}

void pd_live_free(pd_live *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		pd_live_view data = {0}, pending = {0};
		data_into(l->e[i].d, &data);
		take_pending(&l->e[i], &pending);
		pd_live_free_view(&data);
		pd_live_free_view(&pending);
		free(l->e[i].last_error);
	}
	free(l->e);
	pd_sidx_free(&l->idx);
	if (l->pipe_r >= 0) {
		close(l->pipe_r);
		close(l->pipe_w);
	}
	pthread_mutex_destroy(&l->mu);
	free(l);
}

int pd_live_wake_fd(pd_live *l)
{
	return l->pipe_r;
}

void pd_live_wake_drain(pd_live *l)
{
	char b[64];
	/* read the byte first, then clear the flag. The other order lost every
	 * wake for good: a change between the clear and the read wrote a byte
	 * that this read ate, leaving the flag set with no byte in the pipe
	 * (bench_serve found it: a daemon stopped hearing its monitor). A change
	 * between the read and the clear writes nothing, and the caller's
	 * snapshot, taken after this returns, sees it. */
	while (read(l->pipe_r, b, sizeof b) > 0)
		;
	atomic_store(&l->wake_pending, false);
}

static void wake(pd_live *l)
{
	if (l->pipe_w < 0 || atomic_exchange(&l->wake_pending, true))
		return;
	ssize_t r;
	do
		r = write(l->pipe_w, "w", 1);
	while (r < 0 && errno == EINTR);
}

int64_t pd_live_generation(pd_live *l)
{
	pthread_mutex_lock(&l->mu);
	int64_t g = l->generation;
	pthread_mutex_unlock(&l->mu);
	return g;
}

static size_t entry_hash(const void *l, size_t i)
{
	return pd_int_hash((uint64_t)((const pd_live *)l)->e[i].customer_id);
}

static bool entry_is(const void *l, size_t i, const void *cid)
{
	return ((const pd_live *)l)->e[i].customer_id == *(const int64_t *)cid;
}

static const pd_idx_kind entry_kind = {entry_hash, entry_is};

/* Caller holds the lock. */
static entry *find(pd_live *l, int64_t cid, bool create)
{
	size_t i = pd_idx_find(l, &l->idx, &entry_kind, pd_int_hash((uint64_t)cid), &cid);
	if (i != PD_SIDX_NONE)
		return &l->e[i];
	if (!create)
		return NULL;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->e = xrealloc(l->e, l->cap * sizeof *l->e);
	}
	entry *e = &l->e[l->n++];
	memset(e, 0, sizeof *e);
	e->customer_id = cid;
	pd_idx_added(l, &l->idx, &entry_kind, l->n);
	return e;
}

/* Entry i goes; the last entry moves into its place. Caller holds the lock. */
static void entry_remove(pd_live *l, size_t i)
{
	size_t last = l->n - 1;
	pd_idx_remove(l, &l->idx, &entry_kind, i, last);
	l->e[i] = l->e[last];
	l->n--;
}

void pd_live_status_msg(pd_link_state st, int sync_done, int sync_total, int64_t retry_at_ms,
                        const char *last_error, int64_t now_ms, char *buf, size_t n)
{
	bool err = last_error && *last_error; /* a pd_msg: the last argument, kept whole */
	switch (st) {
	case PD_LINK_DISCOVERING:
		pd_msg(buf, n, N_("syncing %d/%d"), sync_done, sync_total);
		break;
	case PD_LINK_RETRYING:
	case PD_LINK_PROTOCOL_ERROR: {
		int64_t s = (retry_at_ms - now_ms + 999) / 1000;
		if (s < 0)
			s = 0;
		bool proto = st == PD_LINK_PROTOCOL_ERROR;
		if (err)
			pd_msg(buf, n,
			       proto ? N_("protocol error, retrying in %llds (%s)")
			             : N_("retrying in %llds (%s)"),
			       (long long)s, last_error);
		else
			pd_msg(buf, n,
			       proto ? N_("protocol error, retrying in %llds")
			             : N_("retrying in %llds"),
			       (long long)s);
		break;
	}
	case PD_LINK_MONITORING:
		/* a monitoring link's "error" is a warning: its PBX's input was capped */
		if (err) {
			pd_msg(buf, n, N_("monitoring (%s)"), last_error);
			break;
		}
		/* fall through */
	default:
		pd_msg(buf, n, "%s", pd_msg_word(pd_link_state_msgid(st)));
	}
}

void pd_live_status_text(pd_link_state st, int sync_done, int sync_total, int64_t retry_at_ms,
                         const char *last_error, int64_t now_ms, char *buf, size_t n)
{
	char m[512]; /* the error (< 400 bytes) inside one of our sentences */
	pd_live_status_msg(st, sync_done, sync_total, retry_at_ms, last_error, now_ms, m, sizeof m);
	pd_msg_text(m, buf, n);
}

/* The states a driver passes through while it (re)connects or waits to. */
static bool driver_down(pd_link_state st)
{
	return st == PD_LINK_CONNECTING || st == PD_LINK_LOGGING_IN || st == PD_LINK_DISCOVERING ||
	       pd_link_state_retries(st);
}

/* Caller holds the lock (a few ended calls: freed here). */
static void drop_ended_calls(entry *e)
{
	size_t k = 0;
	for (size_t i = 0; i < e->d.n_calls; i++) {
		pd_live_call *c = &e->d.calls[i];
		if (c->state == PD_CALL_ENDED) {
			free(c->id);
			free(c->from);
			free(c->from_name);
			free(c->to);
			free(c->queue);
			free(c->agent);
		} else {
			e->d.calls[k++] = *c;
		}
	}
	e->d.n_calls = k;
}

/* Caller holds the lock; the arrays moved to *drop are freed by the caller
 * outside it. */
static void swap_pending(entry *e, pd_live_view *drop)
{
	data_into(e->d, drop);
	e->d = e->pending;
	memset(&e->pending, 0, sizeof e->pending);
	e->have_pending = false;
	e->stale = false;
	e->stale_since_ms = 0;
}

void pd_live_set_link(pd_live *l, int64_t cid, pd_link_state st, int sync_done, int sync_total,
                      int64_t retry_at_ms, const char *last_error)
{
	pd_live_view drop = {0};
	char *old_error = NULL, *error = clean_error(last_error);
	int64_t now = pd_live_now_ms();
	pthread_mutex_lock(&l->mu);
	entry *e = find(l, cid, true);
	pd_link_state was = e->link;
	bool known = e->link_since_ms != 0;
	if (was != st || !known)
		e->link_since_ms = now;
	if (st == PD_LINK_MONITORING) {
		e->down_since_ms = 0;
		/* back: what was published meanwhile is the fresh view; without
		 * one the stale data stays marked until the next publish */
		if (e->have_pending)
			swap_pending(e, &drop);
	} else if (st == PD_LINK_AUTH_FAILED) {
		/* no retry follows, so nothing will refresh the data: what the
		 * driver published (nothing live) is the truth, not stale data */
		if (known && was == PD_LINK_MONITORING)
			e->down_since_ms = now;
		else if (!e->down_since_ms)
			e->down_since_ms = e->stale ? e->stale_since_ms : now;
		if (e->have_pending)
			swap_pending(e, &drop);
		e->stale = false;
		e->stale_since_ms = 0;
	} else if (driver_down(st)) {
		if (known && was == PD_LINK_MONITORING) {
			/* lost: keep the last known data, marked; calls already
			 * ended would never leave it, so they go now */
			drop_ended_calls(e);
			e->stale = e->d.n_users || e->d.n_calls || e->d.n_agents;
			e->stale_since_ms = now;
			e->down_since_ms = now;
		} else if (!e->down_since_ms && st != PD_LINK_CONNECTING &&
		           st != PD_LINK_LOGGING_IN && st != PD_LINK_DISCOVERING) {
			e->down_since_ms = now; /* never up: down since it first failed */
		}
	} else {
		/* no driver any more: nothing is reconnecting, nothing is stale */
		e->down_since_ms = 0;
		e->stale = false;
		e->stale_since_ms = 0;
		take_pending(e, &drop);
	}
	e->link = st;
	e->sync_done = sync_done;
	e->sync_total = sync_total;
	e->retry_at_ms = retry_at_ms;
	if (last_error &&
	    !(e->last_error && error ? !strcmp(e->last_error, error) : e->last_error == error)) {
		old_error = e->last_error;
		e->last_error = error;
	} else {
		old_error = error;
	}
	e->generation++;
	l->generation++;
	pthread_mutex_unlock(&l->mu);
	pd_live_free_view(&drop);
	free(old_error);
	wake(l);
}

void pd_live_publish(pd_live *l, int64_t cid, pd_live_view *v)
{
	pd_live_view old = {0}, held = {0};
	pthread_mutex_lock(&l->mu);
	entry *e = find(l, cid, true);
	if (e->stale && e->link != PD_LINK_MONITORING) {
		/* a partial view of a link coming back: held until it is up */
		take_pending(e, &old);
		e->pending = data_of(v);
		e->have_pending = true;
	} else {
		data_into(e->d, &old);
		e->d = data_of(v);
		e->stale = false;
		e->stale_since_ms = 0;
		if (e->have_pending) { /* superseded by a view of a link that is up */
			take_pending(e, &held);
		}
	}
	e->generation++;
	l->generation++;
	pthread_mutex_unlock(&l->mu);
	v->users = NULL;
	v->calls = NULL;
	v->agents = NULL;
	v->n_users = v->n_calls = v->n_agents = 0;
	pd_live_free_view(&old);
	pd_live_free_view(&held);
	wake(l);
}

void pd_live_remove(pd_live *l, int64_t cid)
{
	pd_live_view old = {0}, pending = {0};
	char *old_error = NULL;
	bool found = false;
	pthread_mutex_lock(&l->mu);
	entry *e = find(l, cid, false);
	if (e) {
		data_into(e->d, &old);
		old_error = e->last_error;
		take_pending(e, &pending);
		entry_remove(l, (size_t)(e - l->e));
		found = true;
		l->generation++;
	}
	pthread_mutex_unlock(&l->mu);
	if (found) {
		pd_live_free_view(&old);
		pd_live_free_view(&pending);
		free(old_error);
		wake(l);
	}
}

void pd_live_put(pd_live *l, pd_live_view *v)
{
	pd_live_view old = {0}, pending = {0};
	char *error = clean_error(v->last_error);
	pthread_mutex_lock(&l->mu);
	entry *e = find(l, v->customer_id, true);
	data_into(e->d, &old);
	take_pending(e, &pending);
	char *old_error = e->last_error;
	*e = (entry){.customer_id = v->customer_id,
	             .link = v->link,
	             .sync_done = v->sync_done,
	             .sync_total = v->sync_total,
	             .retry_at_ms = v->retry_at_ms,
	             .link_since_ms = v->link_since_ms,
	             .down_since_ms = v->down_since_ms,
	             .stale = v->stale,
	             .stale_since_ms = v->stale_since_ms,
	             .generation = e->generation + 1,
	             .last_error = error,
	             .d = data_of(v)};
	l->generation++;
	pthread_mutex_unlock(&l->mu);
	free(old_error);
	v->users = NULL;
	v->calls = NULL;
	v->agents = NULL;
	v->n_users = v->n_calls = v->n_agents = 0;
	pd_live_free_view(&old);
	pd_live_free_view(&pending);
	wake(l);
}

pd_status pd_live_snapshot(pd_live *l, int64_t cid, pd_live_view *out)
{
	memset(out, 0, sizeof *out);
	int64_t now = pd_live_now_ms();
	pthread_mutex_lock(&l->mu);
	entry *e = find(l, cid, false);
	if (!e) {
		pthread_mutex_unlock(&l->mu);
		return PD_E_NOTFOUND;
	}
	LINK_FIELDS_INTO(out, e);
	pd_utf8_copys(out->last_error, sizeof out->last_error, e->last_error ? e->last_error : "");
	out->n_users = e->d.n_users;
	out->n_calls = e->d.n_calls;
	out->n_agents = e->d.n_agents;
	out->users = out->n_users ? xcalloc(out->n_users, sizeof *out->users) : NULL;
	for (size_t i = 0; i < out->n_users; i++) {
		const pd_live_user *s = &e->d.users[i];
		out->users[i] = (pd_live_user){xstrdup(s->endpoint), xstrdup(s->name),
		                               xstrdup(s->sub_account), xstrdup(s->device_state)};
	}
	out->calls = out->n_calls ? xcalloc(out->n_calls, sizeof *out->calls) : NULL;
	for (size_t i = 0; i < out->n_calls; i++) {
		const pd_live_call *s = &e->d.calls[i];
		out->calls[i] = *s;
		out->calls[i].id = xstrdup(s->id);
		out->calls[i].from = xstrdup(s->from);
		out->calls[i].from_name = xstrdup(s->from_name);
		out->calls[i].to = xstrdup(s->to);
		out->calls[i].queue = xstrdup(s->queue);
		out->calls[i].agent = xstrdup(s->agent);
	}
	out->agents = out->n_agents ? xcalloc(out->n_agents, sizeof *out->agents) : NULL;
	for (size_t i = 0; i < out->n_agents; i++) {
		const pd_live_agent *s = &e->d.agents[i];
		out->agents[i] = *s;
		out->agents[i].interface = xstrdup(s->interface);
		out->agents[i].name = xstrdup(s->name);
		out->agents[i].queues = xstrdup(s->queues);
		out->agents[i].reason = xstrdup(s->reason);
	}
	pthread_mutex_unlock(&l->mu);
	pd_live_status_text(out->link, out->sync_done, out->sync_total, out->retry_at_ms,
	                    out->last_error, now, out->status, sizeof out->status);
	return PD_OK;
}

static void summarise(const entry *e, int64_t now, pd_live_summary *s)
{
	memset(s, 0, sizeof *s);
	LINK_FIELDS_INTO(s, e);
	for (size_t i = 0; i < e->d.n_calls; i++) {
		s->calls += e->d.calls[i].state != PD_CALL_ENDED;
		s->calls_waiting += e->d.calls[i].state == PD_CALL_QUEUED;
	}
	for (size_t i = 0; i < e->d.n_agents; i++) {
		pd_agent_state st = e->d.agents[i].state;
		s->agents_available += st == PD_AGENT_AVAILABLE;
		s->agents_logged_on += st != PD_AGENT_LOGGED_OFF && st != PD_AGENT_OFFLINE;
	}
	pd_live_status_text(e->link, e->sync_done, e->sync_total, e->retry_at_ms, e->last_error,
	                    now, s->status, sizeof s->status);
}

bool pd_live_summary_get(pd_live *l, int64_t cid, pd_live_summary *out)
{
	int64_t now = pd_live_now_ms();
	pthread_mutex_lock(&l->mu);
	entry *e = find(l, cid, false);
	if (e)
		summarise(e, now, out);
	pthread_mutex_unlock(&l->mu);
	return e != NULL;
}

size_t pd_live_summaries(pd_live *l, pd_live_summary **out)
{
	int64_t now = pd_live_now_ms();
	pthread_mutex_lock(&l->mu);
	size_t n = l->n;
	*out = xcalloc(n ? n : 1, sizeof **out);
	for (size_t i = 0; i < n; i++)
		summarise(&l->e[i], now, &(*out)[i]);
	pthread_mutex_unlock(&l->mu);
	return n;
}

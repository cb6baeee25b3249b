/* The monitor thread: see include/provdesk/monitor.h. Other threads talk to it
 * only through a small command queue and a pipe that wakes its poll(). */
#include "provdesk/monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "provdesk/config.h"
#include "provdesk/i18n.h"
#include "provdesk/pbx_driver.h"
#include "provdesk/util.h"

#define STATUS_WRITES_PER_TURN 8
#define MONITOR_CACHE_KB 512

typedef struct {
	int64_t customer_id, version;
	int blocked; /* 0, or why the customer may not be monitored (1 trial expired, 2 disabled) */
	const pd_driver_ops *ops;
	void *drv;
	bool status_dirty;
	bool written; /* its row was written by this monitor (so the heartbeat may touch it) */
	pd_link_state st;
	int64_t written_at;
	/* the counts last written (a change writes the row again) */
	int64_t written_calls, written_available, written_logged_on;
	pd_sync_result last_sync;
	bool have_sync;
} link_t;

struct pd_monitor {
	pthread_t thread;
	pd_store *store;
	bool read_only; /* a watcher (the NOC): it syncs nothing, so no sync error either */
	pd_live *live;
	pd_monitor_opts o;
	int ctl_r, ctl_w;
	pthread_mutex_t mu; /* guards the command queue and the sync results copy */
	bool stop;
	int64_t *resync;
	size_t n_resync, cap_resync;
	link_t *links;
	size_t n_links;
	int64_t generation;
	size_t status_cursor;
	int64_t next_check, next_full_reload; /* customers' status/trials: every 30 s */
	int64_t next_heartbeat;
	/* copies readable from other threads */
	/* base: seq when the link last left monitoring (or 0); between: it
	 * has not reached monitoring since, so the sync of the discovery under
	 * way (or just done) answers a resync asked now */
	struct {
		int64_t cid, seq, base;
		bool between;
		pd_sync_result r;
	} * syncs;
	size_t n_syncs;
	/* resyncs cancelled by the console (under mu): the sync of cid that
	 * completes next is not written, if no other completed since (seq) and
	 * it comes within the deadline */
	struct {
		int64_t cid, seq, until_ms;
	} * cancels;
	size_t n_cancels;
	pd_monitor_stats stats; /* under mu */
};

static link_t *link_find(pd_monitor *m, int64_t cid)
{
	for (size_t i = 0; i < m->n_links; i++)
		if (m->links[i].customer_id == cid)
			return &m->links[i];
	return NULL;
}

/* cid's entry of m->syncs (under mu), made when missing: a link not yet
 * monitoring is between connections. */
static size_t sync_ent_locked(pd_monitor *m, int64_t cid)
{
	size_t i;
	for (i = 0; i < m->n_syncs; i++)
		if (m->syncs[i].cid == cid)
			return i;
	m->syncs = xrealloc(m->syncs, (m->n_syncs + 1) * sizeof *m->syncs);
	memset(&m->syncs[i], 0, sizeof m->syncs[i]);
	m->syncs[i].cid = cid;
	m->syncs[i].between = true;
	m->n_syncs++;
	return i;
}

static int64_t sync_seq_locked(pd_monitor *m, int64_t cid)
{
	for (size_t i = 0; i < m->n_syncs; i++)
		if (m->syncs[i].cid == cid)
			return m->syncs[i].seq;
	return 0;
}

/* True (and the entry used up) when cid's sync about to be written was
 * cancelled. */
static bool sync_cancelled(pd_monitor *m, int64_t cid)
{
	bool skip = false;
	int64_t now = pd_live_now_ms();
	pthread_mutex_lock(&m->mu);
	for (size_t i = 0; i < m->n_cancels; i++)
		if (m->cancels[i].cid == cid) {
			skip = m->cancels[i].seq == sync_seq_locked(m, cid) &&
			       now < m->cancels[i].until_ms;
			m->cancels[i] = m->cancels[--m->n_cancels];
			break;
		}
	pthread_mutex_unlock(&m->mu);
	return skip;
}

static pd_status host_sync(void *ctx, int64_t cid, const pd_synced_user *u, size_t n, bool ap,
                           pd_sync_result *res, pd_err *e)
{
	pd_monitor *m = ctx;
	if (sync_cancelled(m, cid)) {
		memset(res, 0, sizeof *res); /* discovered, nothing written */
		return PD_OK;
	}
	pd_status s = store_sync_users(m->store, cid, u, n, ap, res, e);
	if (s == PD_OK) {
		link_t *l = link_find(m, cid);
		if (l) {
			l->last_sync = *res;
			l->have_sync = true;
		}
		pthread_mutex_lock(&m->mu);
		size_t i = sync_ent_locked(m, cid);
		m->syncs[i].seq++;
		m->syncs[i].r = *res;
		pthread_mutex_unlock(&m->mu);
	}
	return s;
}

static void host_link_changed(void *ctx, int64_t cid, pd_link_state st, const char *text)
{
	pd_monitor *m = ctx;
	link_t *l = link_find(m, cid);
	if (!l)
		return;
	/* Written at the next turn once status_min_ms passed since the last
	 * write (at once after a quiet while): a flapping link writes about
	 * once a second, always ending with its latest state. */
	l->st = st;
	l->status_dirty = true;
	pthread_mutex_lock(&m->mu);
	size_t i = sync_ent_locked(m, cid);
	if (st == PD_LINK_MONITORING) {
		m->syncs[i].between = false;
	} else if (!m->syncs[i].between) {
		m->syncs[i].between = true;
		m->syncs[i].base = m->syncs[i].seq;
	}
	pthread_mutex_unlock(&m->mu);
}

/* State column: the text without the "(last error)" tail, which has its
 * own column; kept as a pd_msg, read in each reader's language. */
static void write_status(pd_monitor *m, link_t *l, int64_t now)
{
	pd_live_view v;
	if (pd_live_snapshot(m->live, l->customer_id, &v) != PD_OK)
		return;
	pd_live_summary s;
	pd_live_summary_get(m->live, l->customer_id, &s);
	char state[200];
	pd_live_status_msg(v.link, v.sync_done, v.sync_total, v.retry_at_ms, NULL, pd_live_now_ms(),
	                   state, sizeof state);
	int64_t now_ms = pd_live_now_ms(), wall = pd_now();
	pd_pbx_status st = {
	    .customer_id = l->customer_id,
	    .link = v.link,
	    .since = v.link_since_ms && v.link_since_ms <= now_ms
	                 ? wall - (now_ms - v.link_since_ms) / 1000
	                 : wall,
	    .state = state,
	    .last_error = v.last_error[0] ? v.last_error : NULL,
	    .updated_at = wall,
	    .live_calls = s.calls,
	    .agents_available = s.agents_available,
	    .agents_logged_on = s.agents_logged_on,
	};
	pd_err e = {0};
	store_pbx_status_set(m->store, &st, &e); /* best effort: the live state is authoritative */
	pd_live_free_view(&v);
	l->status_dirty = false;
	l->written = true;
	l->written_at = now;
	l->written_calls = s.calls;
	l->written_available = s.agents_available;
	l->written_logged_on = s.agents_logged_on;
}

/* The ids of the links whose rows this monitor wrote; NULL when none. */
static int64_t *written_ids(pd_monitor *m, size_t *n)
{
	int64_t *ids = m->n_links ? xmalloc(m->n_links * sizeof *ids) : NULL;
	*n = 0;
	for (size_t i = 0; i < m->n_links; i++)
		if (m->links[i].written)
			ids[(*n)++] = m->links[i].customer_id;
	return ids;
}

/* The heartbeat: one statement refreshes updated_at of every row this
 * monitor wrote, so a reader can tell them from a dead monitor's
 * (pd_pbx_status_fresh). Best effort, as write_status. */
static void heartbeat(pd_monitor *m, bool monitored)
{
	if (m->read_only)
		return;
	size_t n;
	int64_t *ids = written_ids(m, &n);
	pd_err e = {0};
	store_pbx_status_touch(m->store, ids, n, pd_now(), monitored, &e);
	free(ids);
}

static void link_destroy(pd_monitor *m, link_t *l, bool remove_live)
{
	if (l->drv)
		l->ops->destroy(l->drv);
	l->drv = NULL;
	if (remove_live)
		pd_live_remove(m->live, l->customer_id);
}

/* A link without a driver: disabled, unsupported platform, refused parameters. */
static void set_static_status(pd_monitor *m, link_t *l, pd_link_state st, const char *err)
{
	pd_live_set_link(m->live, l->customer_id, st, 0, 0, 0, err ? err : "");
	pd_live_view empty = {0};
	pd_live_publish(m->live, l->customer_id, &empty);
	l->st = st;
	l->written_at = 0;
	l->status_dirty = true;
}

/* A link that left the set: when its customer was deleted (its connection
 * stays, for a restore), the stored status says so instead of the last
 * "monitoring" the row held. A removed connection took its row with it. */
static void store_gone(pd_monitor *m, int64_t cid)
{
	if (m->read_only)
		return;
	pd_customer cu = {0};
	pd_err e = {0};
	if (store_customer_get(m->store, cid, &cu, &e) != PD_OK)
		return;
	bool deleted = cu.deleted_at != 0;
	pd_customer_free(&cu);
	pd_pbx p = {0};
	if (!deleted || store_pbx_get(m->store, cid, false, &p, &e) != PD_OK)
		return;
	pd_pbx_free(&p);
	int64_t wall = pd_now();
	char why[64];
	pd_msg(why, sizeof why, N_("customer deleted"));
	pd_pbx_status st = {.customer_id = cid,
	                    .link = PD_LINK_DISABLED,
	                    .state = (char *)pd_link_state_label(PD_LINK_DISABLED),
	                    .last_error = why,
	                    .since = wall,
	                    .updated_at = wall};
	store_pbx_status_set(m->store, &st, &e); /* best effort, as write_status */
}

static void reload(pd_monitor *m)
{
	pd_pbx *v = NULL;
	size_t n = 0;
	pd_err e = {0};
	if (store_pbx_list_all(m->store, true, &v, &n, &e) != PD_OK)
		return; /* keep the current set; tried again at the next check */
	link_t *next = xcalloc(n ? n : 1, sizeof *next);
	size_t nn = 0;
	for (size_t i = 0; i < n; i++) {
		pd_pbx *p = &v[i];
		link_t *old = link_find(m, p->customer_id);
		link_t l = {0};
		/* an expired trial or a disabled customer stops monitoring (provdesk(1), customer
		 * statuses) */
		int blocked = 0;
		pd_customer cu = {0};
		pd_err ce0 = {0};
		if (store_customer_get(m->store, p->customer_id, &cu, &ce0) == PD_OK) {
			pd_customer_status cs = pd_customer_status_of(&cu, pd_today());
			blocked = cs == PD_CS_TRIAL_EXPIRED ? 1 : cs == PD_CS_DISABLED ? 2 : 0;
			pd_customer_free(&cu);
		}
		if (old && old->version == p->version && old->blocked == blocked) {
			l = *old;
			old->drv = NULL;
			old->customer_id = -1; /* moved */
			next[nn++] = l;
			continue;
		}
		if (old) {
			link_destroy(m, old, false);
			old->customer_id = -1;
		}
		l.customer_id = p->customer_id;
		l.version = p->version;
		l.blocked = blocked;
		l.st = (pd_link_state)-1;
		l.ops = pd_driver_find(p->platform);
		next[nn++] = l;
		link_t *nl = &next[nn - 1];
		if (!p->enabled || (!p->monitor && !p->sync_users) || blocked) {
			set_static_status(m, nl, PD_LINK_DISABLED,
			                  blocked == 1
			                      ? _("trial expired: monitoring stops until converted")
			                  : blocked == 2 ? _("customer disabled")
			                                 : NULL);
			continue;
		}
		if (!nl->ops) {
			char why[160];
			snprintf(why, sizeof why, _("platform %s is not supported yet"),
			         p->platform);
			set_static_status(m, nl, PD_LINK_UNSUPPORTED, why);
			continue;
		}
		pd_drv_conf c = {
		    .customer_id = p->customer_id,
		    .host = p->host,
		    .port = p->port,
		    .tls = p->tls,
		    .username = p->username,
		    .secret = p->secret,
		    .params_json = p->params_json,
		    .sync_users = p->sync_users,
		    .monitor = p->monitor,
		    .auto_provision = p->auto_provision,
		    .ping_interval_s = m->o.ping_interval_s,
		    .backoff_max_s = m->o.backoff_max_s,
		    .backoff_min_ms = m->o.backoff_min_ms,
		    .max_calls = m->o.max_calls,
		    .max_channels = m->o.max_channels,
		    .max_users = m->o.max_users,
		    .max_call_age_ms = m->o.max_call_age_ms,
		    .max_message = m->o.max_message,
		};
		pd_drv_host h = {.ctx = m,
		                 .live = m->live,
		                 .sync_users = m->read_only ? NULL : host_sync,
		                 .link_changed = host_link_changed};
		/* host_link_changed looks the link up: publish the new array first */
		link_t *saved = m->links;
		size_t saved_n = m->n_links;
		m->links = next;
		m->n_links = nn;
		pd_err ce = {0};
		if (nl->ops->create(&c, &h, &nl->drv, &ce) != PD_OK) {
			nl->drv = NULL;
			set_static_status(m, nl, PD_LINK_CONFIG_ERROR, ce.message);
		}
		m->links = saved;
		m->n_links = saved_n;
	}
	for (size_t i = 0; i < m->n_links; i++)
		if (m->links[i].customer_id != -1) {
			link_destroy(m, &m->links[i], true);
			store_gone(m, m->links[i].customer_id);
		}
	free(m->links);
	m->links = next;
	m->n_links = nn;
	for (size_t i = 0; i < n; i++)
		pd_pbx_free(&v[i]);
	free(v);
}

/* True when the set of links was rebuilt (pollfd owners are then stale). */
static bool check_generation(pd_monitor *m)
{
	int64_t g = 0;
	pd_err e = {0};
	pthread_mutex_lock(&m->mu);
	m->stats.checks++;
	pthread_mutex_unlock(&m->mu);
	if (store_pbx_generation(m->store, &g, &e) != PD_OK)
		return false;
	int64_t now = pd_live_now_ms();
	if (g == m->generation && now < m->next_full_reload)
		return false;
	m->next_full_reload = now + m->o.full_reload_ms;
	m->generation = g;
	reload(m);
	pthread_mutex_lock(&m->mu);
	m->stats.reloads++;
	pthread_mutex_unlock(&m->mu);
	return true;
}

static bool run_commands(pd_monitor *m, int64_t now)
{
	bool reloaded = false;
	char b[64];
	while (read(m->ctl_r, b, sizeof b) > 0)
		;
	pthread_mutex_lock(&m->mu);
	size_t n = m->n_resync;
	int64_t *ids = n ? xmalloc(n * sizeof *ids) : NULL;
	if (n)
		memcpy(ids, m->resync, n * sizeof *ids);
	m->n_resync = 0;
	pthread_mutex_unlock(&m->mu);
	if (n)
		reloaded = check_generation(m); /* an edit just before the resync is honoured */
	for (size_t i = 0; i < n; i++) {
		link_t *l = link_find(m, ids[i]);
		if (l && l->drv)
			l->ops->resync(l->drv, now);
	}
	free(ids);
	return reloaded;
}

static void *monitor_main(void *arg)
{
	pd_monitor *m = arg;
	pd_thread_name("pd-monitor");
	size_t cap = 0;
	struct pollfd *pf = NULL;
	int *owner = NULL;
	m->generation = -1;
	bool backlog = false;
	while (1) {
		pthread_mutex_lock(&m->mu);
		bool stop = m->stop;
		pthread_mutex_unlock(&m->mu);
		if (stop)
			break;
		int64_t now = pd_live_now_ms();
		if (now >= m->next_check) {
			check_generation(m);
			m->next_check = now + m->o.reload_check_ms;
		}
		size_t need = 1 + m->n_links * PD_DRV_MAX_FDS;
		if (need > cap) {
			cap = need * 2;
			pf = xrealloc(pf, cap * sizeof *pf);
			owner = xrealloc(owner, cap * sizeof *owner);
		}
		int nf = 0;
		pf[nf] = (struct pollfd){.fd = m->ctl_r, .events = POLLIN};
		owner[nf++] = -1;
		int64_t deadline = backlog ? now + 5 : m->next_check;
		if (m->next_heartbeat < deadline)
			deadline = m->next_heartbeat;
		for (size_t i = 0; i < m->n_links; i++) {
			link_t *l = &m->links[i];
			if (l->status_dirty) {
				int64_t due = l->written_at + m->o.status_min_ms;
				if (due < deadline)
					deadline = due;
			}
			if (!l->drv)
				continue;
			int k = l->ops->pollfds(l->drv, pf + nf, PD_DRV_MAX_FDS);
			for (int j = 0; j < k; j++)
				owner[nf + j] = (int)i;
			nf += k;
			int64_t d = l->ops->next_deadline(l->drv);
			if (d < deadline)
				deadline = d;
		}
		int timeout =
		    deadline <= now ? 0 : (int)(deadline - now > 60000 ? 60000 : deadline - now);
		int r = poll(pf, (nfds_t)nf, timeout);
		now = pd_live_now_ms();
		if (r < 0 && errno != EINTR)
			break;
		if (r > 0 && pf[0].revents && run_commands(m, now))
			continue;
		/* group each link's fds (they are contiguous) */
		for (int i = 1; i < nf && r > 0;) {
			int li = owner[i], j = i;
			while (j < nf && owner[j] == li)
				j++;
			link_t *l = &m->links[li];
			if (l->drv)
				pd_drv_io(l->ops, l->drv, pf + i, j - i, now);
			i = j;
		}
		/* Status rows are SQLite transactions: a few per turn, starting where
		 * the last turn stopped, so 1,000 links never stall the loop at once. */
		int budget = STATUS_WRITES_PER_TURN;
		backlog = false;
		for (size_t i = 0; i < m->n_links; i++) {
			link_t *l = &m->links[i];
			if (l->drv)
				pd_drv_timer(l->ops, l->drv, now);
		}
		for (size_t j = 0; j < m->n_links; j++) {
			link_t *l = &m->links[(m->status_cursor + j) % m->n_links];
			bool due = false;
			if (l->status_dirty && now - l->written_at >= m->o.status_min_ms) {
				due = true;
			} else if (!l->status_dirty && now - l->written_at >= 5000) {
				pd_live_summary s;
				due = pd_live_summary_get(m->live, l->customer_id, &s) &&
				      (s.calls != l->written_calls ||
				       s.agents_available != l->written_available ||
				       s.agents_logged_on != l->written_logged_on);
				if (!due)
					l->written_at = now;
			}
			if (!due)
				continue;
			if (budget-- <= 0) {
				backlog = true;
				m->status_cursor = (m->status_cursor + j) % m->n_links;
				break;
			}
			write_status(m, l, now);
		}
		if (now >= m->next_heartbeat) {
			if (m->next_heartbeat) /* not at start: nothing written yet */
				heartbeat(m, true);
			m->next_heartbeat = now + m->o.heartbeat_ms;
		}
		int64_t timers = 0;
		for (size_t i = 0; i < m->n_links; i++)
			timers += m->links[i].drv &&
			          m->links[i].ops->next_deadline(m->links[i].drv) != INT64_MAX;
		pthread_mutex_lock(&m->mu);
		m->stats.turns++;
		m->stats.links = (int64_t)m->n_links;
		m->stats.links_with_timer = timers;
		pthread_mutex_unlock(&m->mu);
	}
	/* a state held back by the coalescing is written now: a reader's "last
	 * known" is the last state this monitor saw, not one a second older */
	for (size_t i = 0; i < m->n_links; i++)
		if (m->links[i].status_dirty && !m->read_only)
			write_status(m, &m->links[i], pd_live_now_ms());
	heartbeat(m, false); /* its rows now say what it last saw, not what is */
	for (size_t i = 0; i < m->n_links; i++)
		link_destroy(m, &m->links[i], false);
	free(pf);
	free(owner);
	return NULL;
}

pd_status pd_monitor_start_opts(const char *db_path, const pd_store_opts *so, const pd_config *cfg,
                                const pd_monitor_opts *mo, pd_live *live, pd_monitor **out,
                                pd_err *e)
{
	pd_monitor *m = xcalloc(1, sizeof *m);
	if (mo)
		m->o = *mo;
	if (!m->o.ping_interval_s)
		m->o.ping_interval_s = cfg && cfg->pbx_ping_interval > 0
		                           ? cfg->pbx_ping_interval
		                           : PD_PBX_PING_INTERVAL_DEFAULT;
	if (!m->o.backoff_max_s)
		m->o.backoff_max_s = cfg && cfg->pbx_backoff_max > 0 ? cfg->pbx_backoff_max : 60;
	if (!m->o.max_calls && cfg)
		m->o.max_calls = cfg->pbx_max_calls;
	if (!m->o.max_channels && cfg)
		m->o.max_channels = cfg->pbx_max_channels;
	if (!m->o.max_users && cfg)
		m->o.max_users = cfg->pbx_max_users;
	if (!m->o.max_call_age_ms && cfg)
		m->o.max_call_age_ms = (int64_t)cfg->pbx_max_call_age * 1000;
	if (!m->o.max_message && cfg)
		m->o.max_message = (size_t)cfg->pbx_max_message_kb * 1024;
	if (!m->o.reload_check_ms)
		m->o.reload_check_ms = 1000;
	if (!m->o.full_reload_ms)
		m->o.full_reload_ms = 30000;
	if (!m->o.status_min_ms)
		m->o.status_min_ms = 1000;
	if (!m->o.heartbeat_ms)
		m->o.heartbeat_ms = PD_PBX_HEARTBEAT_S * 1000;
	m->live = live;
	m->read_only = so && so->read_only;
	/* The monitor reads a few rows per link, at connect and per sync: a
	 * small page cache serves it (a 16 MB one grew ~2 kB per link). */
	pd_store_opts mso = so ? *so : (pd_store_opts){0};
	mso.cache_kb = MONITOR_CACHE_KB;
	pd_status s = store_open(db_path, &mso, &m->store, e);
	if (s != PD_OK) {
		free(m);
		return s;
	}
	int p[2];
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) {
		store_close(m->store);
		free(m);
		return pd_fail(e, PD_E_INTERNAL, NULL, _("cannot create the monitor pipe: %s"),
		               strerror(errno));
	}
	m->ctl_r = p[0];
	m->ctl_w = p[1];
	pthread_mutex_init(&m->mu, NULL);
	if (pthread_create(&m->thread, NULL, monitor_main, m) != 0) {
		close(p[0]);
		close(p[1]);
		store_close(m->store);
		pthread_mutex_destroy(&m->mu);
		free(m);
		return pd_fail(e, PD_E_INTERNAL, NULL, _("cannot start the monitor thread"));
	}
	*out = m;
	return PD_OK;
}

pd_status pd_monitor_start(const char *db_path, const pd_store_opts *so, const pd_config *cfg,
                           pd_live *live, pd_monitor **out, pd_err *e)
{
	return pd_monitor_start_opts(db_path, so, cfg, NULL, live, out, e);
}

static void poke(pd_monitor *m)
{
	ssize_t w = write(m->ctl_w, "x", 1);
	(void)w; /* a full pipe already means "wake up" */
}

int64_t pd_monitor_resync(pd_monitor *m, int64_t cid)
{
	/* pd_live shows a state just before the monitor hears of it: a link
	 * shown monitoring has its sync done; one that has just left monitoring
	 * (the flag not yet set) has its discovery still to come */
	pd_live_summary sum;
	bool shown_monitoring =
	    pd_live_summary_get(m->live, cid, &sum) && sum.link == PD_LINK_MONITORING;
	pthread_mutex_lock(&m->mu);
	size_t e = sync_ent_locked(m, cid);
	int64_t answer =
	    m->syncs[e].between && !shown_monitoring ? m->syncs[e].base : m->syncs[e].seq;
	if (m->n_resync == m->cap_resync) {
		m->cap_resync = m->cap_resync ? m->cap_resync * 2 : 8;
		m->resync = xrealloc(m->resync, m->cap_resync * sizeof *m->resync);
	}
	m->resync[m->n_resync++] = cid;
	pthread_mutex_unlock(&m->mu);
	poke(m);
	return answer;
}

bool pd_monitor_resync_cancel(pd_monitor *m, int64_t cid, int64_t seq)
{
	pthread_mutex_lock(&m->mu);
	bool pending = sync_seq_locked(m, cid) == seq; /* else: written already */
	size_t i;
	for (i = 0; pending && i < m->n_cancels; i++)
		if (m->cancels[i].cid == cid)
			break;
	if (pending && i == m->n_cancels) {
		m->cancels = xrealloc(m->cancels, (m->n_cancels + 1) * sizeof *m->cancels);
		m->n_cancels++;
	}
	if (pending) {
		m->cancels[i].cid = cid;
		m->cancels[i].seq = seq;
		m->cancels[i].until_ms = pd_live_now_ms() + PD_MONITOR_CANCEL_MS;
	}
	pthread_mutex_unlock(&m->mu);
	return pending;
}

bool pd_monitor_last_sync(pd_monitor *m, int64_t cid, pd_sync_result *out, int64_t *seq)
{
	bool found = false;
	pthread_mutex_lock(&m->mu);
	for (size_t i = 0; i < m->n_syncs; i++)
		if (m->syncs[i].cid == cid) {
			*out = m->syncs[i].r;
			if (seq)
				*seq = m->syncs[i].seq;
			found = true;
		}
	pthread_mutex_unlock(&m->mu);
	return found;
}

void pd_monitor_get_stats(pd_monitor *m, pd_monitor_stats *out)
{
	pthread_mutex_lock(&m->mu);
	*out = m->stats;
	pthread_mutex_unlock(&m->mu);
}

void pd_monitor_stop(pd_monitor *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	m->stop = true;
	pthread_mutex_unlock(&m->mu);
	poke(m);
	pthread_join(m->thread, NULL);
	free(m->links);
	free(m->resync);
	free(m->cancels);
	free(m->syncs);
	close(m->ctl_r);
	close(m->ctl_w);
	store_close(m->store);
	pthread_mutex_destroy(&m->mu);
	free(m);
}

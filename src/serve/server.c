/* The daemon of `provdesk serve`: include/provdesk/serve_server.h and
 * docs/architecture.md, "provdesk serve". One thread (pd_serve_run) polls
 * the listening socket, the clients, the pd_live wake fd and a self-pipe
 * (signals, stop, reload); the monitor and the outbox worker are their own
 * threads with their own store connections. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "provdesk/catalogue.h"
#include "provdesk/config.h"
#include "provdesk/i18n.h"
#include "provdesk/live.h"
#include "provdesk/mail.h"
#include "provdesk/monitor.h"
#include "provdesk/paths.h"
#include "provdesk/pbx_driver.h"
#include "provdesk/serve.h"
#include "provdesk/serve_server.h"
#include "provdesk/store.h"
#include "provdesk/util.h"
#include "serve_api.h"

#define TICK_MS 250         /* timers: syncs, outbox news, idle exit, resync schedule */
#define KICK_CHECK_MS 500   /* another process committed: wake the outbox worker */
#define CLOSE_GRACE_MS 2000 /* a client told why it is closed has this long to read it */
#define MAX_CLIENTS 4096

/* One encoded line, shared by every client's queue. */
typedef struct {
	int refs;
	size_t len;
	char data[];
} msg_t;

typedef struct {
	int fd;
	uint64_t id;
	uid_t uid;
	pid_t pid;
	bool rw, hello, live;
	bool closing; /* told why; closed once it read that (or after the grace) */
	bool wr_shut; /* the why is out: shut for writing, waiting for the peer's end */
	int64_t closing_deadline;
	char kind[16];
	pd_sp_reader rd;
	msg_t **q; /* ring */
	size_t qhead, qn, qcap, off, qbytes;
} client_t;

/* What the clients were last sent of one customer. */
typedef struct {
	int64_t cid, gen;
	pd_link_state link;
	msg_t *view;
	int64_t sync_seq;
	msg_t *sync; /* the last sync result, for a new client's snapshot */
} ent_t;

struct pd_serve {
	pd_serve_opts o;
	char *db_path, *config_path, *sock_path, *lock_path;
	FILE *log;
	int lock_fd, listen_fd, pipe_rd, pipe_wr;
	pd_config cfg;
	pd_catalogue cat;
	bool cfg_loaded, cat_loaded;
	pd_store_opts so;
	pd_store *store;
	pd_live *live;
	pd_monitor *mon;
	pd_monitor_opts mon_opts;
	bool has_mon_opts;
	pd_outbox_worker *outbox;
	pd_outbox_worker_stats ob_last;
	serve_api *api; /* NULL: [api] listen not set */
	int64_t since;  /* unix seconds */
	client_t **cl;
	size_t ncl;
	uint64_t next_id;
	ent_t *ents;
	size_t nents;
	int64_t idle_since_ms; /* no client since; 0 while some are attached */
	int64_t next_resync_ms, next_kick_ms;
	int64_t data_version;
	int64_t live_gen;   /* pd_live_generation at the last sync_views */
	int64_t lost_wakes; /* ticks that found a change no wake had announced */
	bool stop;
	pthread_mutex_t mu; /* stats */
	pd_serve_stats st;
};

/* ---- log ---- */

static void slog(pd_serve *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void slog(pd_serve *s, const char *fmt, ...)
{
	char raw[1024];
	va_list ap;
	va_start(ap, fmt);
	pd_vsnprintf(raw, sizeof raw, fmt, ap);
	va_end(ap);
	/* PBX text (errors, names) may hold anything: one sanitised line */
	pd_buf b = {0};
	pd_term_escape(&b, raw, strlen(raw), false);
	fprintf(s->log, "provdesk serve: %s\n", b.s ? b.s : "");
	fflush(s->log);
	pd_buf_free(&b);
}

/* ---- messages and queues ---- */

static msg_t *msg_new(const json_t *j)
{
	size_t n = 0;
	char *line = pd_sp_encode(j, &n);
	if (!line)
		return NULL;
	msg_t *m = xmalloc(sizeof *m + n);
	m->refs = 1;
	m->len = n;
	memcpy(m->data, line, n);
	free(line);
	return m;
}

static msg_t *msg_take(json_t *j) /* consumes j */
{
	msg_t *m = msg_new(j);
	json_decref(j);
	return m;
}

static void msg_unref(msg_t *m)
{
	if (m && --m->refs == 0)
		free(m);
}

static void client_free(pd_serve *s, client_t *c)
{
	(void)s;
	if (c->fd >= 0)
		close(c->fd);
	for (size_t i = 0; i < c->qn; i++)
		msg_unref(c->q[(c->qhead + i) % c->qcap]);
	free(c->q);
	pd_sp_reader_free(&c->rd);
	free(c);
}

static void stats_update(pd_serve *s)
{
	pthread_mutex_lock(&s->mu);
	s->st.clients = (int64_t)s->ncl;
	s->st.links = (int64_t)s->nents;
	pthread_mutex_unlock(&s->mu);
}

#define STAT_ADD(s, field, n)                                                                      \
	do {                                                                                       \
		pthread_mutex_lock(&(s)->mu);                                                      \
		(s)->st.field += (n);                                                              \
		pthread_mutex_unlock(&(s)->mu);                                                    \
	} while (0)

/* Marks the client dead (fd -1); the loop removes it. */
static void client_drop(pd_serve *s, client_t *c, const char *why)
{
	if (c->fd < 0)
		return;
	slog(s, _("client %llu (%s, uid %ld, pid %ld) closed: %s"), (unsigned long long)c->id,
	     c->kind[0] ? c->kind : _("no hello"), (long)c->uid, (long)c->pid, why);
	close(c->fd);
	c->fd = -1;
}

static void enqueue(pd_serve *s, client_t *c, msg_t *m)
{
	if (!m || c->fd < 0 || c->closing)
		return;
	if (c->qn == c->qcap)
		c->q = pd_ring_grow(c->q, sizeof *c->q, &c->qhead, c->qn, &c->qcap, 64);
	m->refs++;
	c->q[(c->qhead + c->qn) % c->qcap] = m;
	c->qn++;
	c->qbytes += m->len;
	if (c->qbytes - c->off > s->o.max_queue) {
		char why[128];
		snprintf(why, sizeof why, _("not reading (more than %zu bytes waiting): dropped"),
		         s->o.max_queue);
		client_drop(s, c, why);
		STAT_ADD(s, dropped_slow, 1);
	}
}

static void enqueue_json(pd_serve *s, client_t *c, json_t *j) /* consumes j */
{
	msg_t *m = msg_take(j);
	enqueue(s, c, m);
	msg_unref(m);
}

/* Writes what the socket takes now. */
static void client_flush(pd_serve *s, client_t *c)
{
	while (c->fd >= 0 && c->qn) {
		struct iovec iov[64];
		int n = 0;
		for (size_t i = 0; i < c->qn && n < 64; i++) {
			msg_t *m = c->q[(c->qhead + i) % c->qcap];
			size_t skip = i == 0 ? c->off : 0;
			iov[n].iov_base = m->data + skip;
			iov[n].iov_len = m->len - skip;
			n++;
		}
		struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n};
		ssize_t w = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				client_drop(s, c, _("connection lost"));
			return;
		}
		size_t left = (size_t)w;
		while (left && c->qn) {
			msg_t *m = c->q[c->qhead];
			size_t rest = m->len - c->off;
			if (left >= rest) {
				left -= rest;
				c->qbytes -= m->len;
				c->off = 0;
				msg_unref(m);
				c->qhead = (c->qhead + 1) % c->qcap;
				c->qn--;
			} else {
				c->off += left;
				left = 0;
			}
		}
	}
}

/* The error the client is closed for: queued, then closed once written.
 * message goes on the wire in English (N_: the daemon does not know its
 * client's language; the client translates it where shown), log_why is the
 * operator's, in the daemon's language. */
static void client_close_with(pd_serve *s, client_t *c, const char *code, const char *message,
                              const char *log_why)
{
	if (c->fd < 0 || c->closing)
		return;
	enqueue_json(s, c,
	             json_pack("{s:s,s:s,s:s}", "t", "error", "code", code, "message", message));
	client_flush(s, c);
	/* what it still sends is read and dropped: a socket closed with unread
	 * bytes resets the connection and the peer would lose the why */
	c->closing = true;
	c->closing_deadline = pd_live_now_ms() + CLOSE_GRACE_MS;
	slog(s, _("client %llu (%s, uid %ld, pid %ld): %s"), (unsigned long long)c->id,
	     c->kind[0] ? c->kind : _("no hello"), (long)c->uid, (long)c->pid, log_why);
}

/* ---- the customers' state ---- */

static int sum_cmp(const void *a, const void *b)
{
	int64_t x = ((const pd_live_summary *)a)->customer_id,
	        y = ((const pd_live_summary *)b)->customer_id;
	return x < y ? -1 : x > y;
}

static void broadcast(pd_serve *s, msg_t *m)
{
	if (!m)
		return;
	int64_t n = 0;
	for (size_t i = 0; i < s->ncl; i++) {
		client_t *c = s->cl[i];
		if (c->fd >= 0 && c->hello && c->live && !c->closing) {
			enqueue(s, c, m);
			n++;
		}
	}
	STAT_ADD(s, broadcasts, n);
}

static void log_transition(pd_serve *s, int64_t cid, const pd_live_view *v)
{
	char e[PD_MSG_TEXT_MAX];
	if (v->last_error[0])
		slog(s, _("customer %lld: %s (%s)"), (long long)cid, pd_link_state_label(v->link),
		     pd_msg_text(v->last_error, e, sizeof e));
	else
		slog(s, _("customer %lld: %s"), (long long)cid, pd_link_state_label(v->link));
}

/* Every customer whose generation moved: its whole view to every live
 * client; a customer the monitor dropped: "gone". */
static void sync_views(pd_serve *s)
{
	s->live_gen = pd_live_generation(s->live); /* before: a later change is seen again */
	pd_live_summary *sum = NULL;
	size_t n = pd_live_summaries(s->live, &sum);
	if (n)
		qsort(sum, n, sizeof *sum, sum_cmp);
	ent_t *next = xcalloc(n ? n : 1, sizeof *next);
	size_t nn = 0, j = 0;
	for (size_t i = 0; i < n; i++) {
		int64_t cid = sum[i].customer_id;
		while (j < s->nents && s->ents[j].cid < cid) { /* gone */
			ent_t *g = &s->ents[j++];
			msg_t *m = msg_take(
			    json_pack("{s:s,s:I}", "t", "gone", "customer", (json_int_t)g->cid));
			broadcast(s, m);
			msg_unref(m);
			msg_unref(g->view);
			msg_unref(g->sync);
			slog(s, _("customer %lld: no longer monitored"), (long long)g->cid);
		}
		ent_t *old = j < s->nents && s->ents[j].cid == cid ? &s->ents[j++] : NULL;
		ent_t e = old ? *old : (ent_t){.cid = cid, .link = (pd_link_state)-1};
		if (!old || old->gen != sum[i].generation) {
			pd_live_view v;
			if (pd_live_snapshot(s->live, cid, &v) == PD_OK) {
				msg_t *m = msg_take(pd_sp_view_to_json(&v));
				if (m) {
					broadcast(s, m);
					msg_unref(e.view);
					e.view = m;
				}
				if (v.link != e.link)
					log_transition(s, cid, &v);
				e.link = v.link;
				e.gen = v.generation;
				pd_live_free_view(&v);
			}
		}
		next[nn++] = e;
	}
	while (j < s->nents) {
		ent_t *g = &s->ents[j++];
		msg_t *m =
		    msg_take(json_pack("{s:s,s:I}", "t", "gone", "customer", (json_int_t)g->cid));
		broadcast(s, m);
		msg_unref(m);
		msg_unref(g->view);
		msg_unref(g->sync);
		slog(s, _("customer %lld: no longer monitored"), (long long)g->cid);
	}
	free(sum);
	free(s->ents);
	s->ents = next;
	s->nents = nn;
}

/* Sync results the monitor finished since the last look. */
static void sync_results(pd_serve *s)
{
	if (!s->mon)
		return;
	for (size_t i = 0; i < s->nents; i++) {
		ent_t *e = &s->ents[i];
		pd_sync_result r;
		int64_t seq = 0;
		if (!pd_monitor_last_sync(s->mon, e->cid, &r, &seq) || seq == e->sync_seq)
			continue;
		e->sync_seq = seq;
		serve_api_note_sync(s->api, e->cid, seq, &r);
		msg_t *m = msg_take(pd_sp_sync_to_json(e->cid, seq, &r));
		broadcast(s, m);
		msg_unref(e->sync);
		e->sync = m;
		slog(s,
		     _("customer %lld: users synced: %d new, %d updated, %d removed, %d unchanged"),
		     (long long)e->cid, r.added, r.updated, r.removed, r.unchanged);
	}
}

/* ---- clients ---- */

/* Read-write, read-only or nothing, as the database file allows the peer. */
static int peer_access(pd_serve *s, int fd, struct ucred *cr)
{
	struct stat sb;
	if (stat(s->db_path, &sb) != 0)
		return cr->uid == 0 || cr->uid == geteuid() ? 2 : 0;
	if (cr->uid == 0 || cr->uid == sb.st_uid)
		return 2;
	bool member = cr->gid == sb.st_gid;
#ifdef SO_PEERGROUPS
	if (!member) {
		gid_t groups[256];
		socklen_t len = sizeof groups;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0)
			for (size_t i = 0; i < len / sizeof groups[0]; i++)
				member = member || groups[i] == sb.st_gid;
	}
#endif
	unsigned bits = member ? (sb.st_mode >> 3) & 7u : sb.st_mode & 7u;
	return bits & 2u ? 2 : bits & 4u ? 1 : 0;
}

static void accept_clients(pd_serve *s)
{
	for (;;) {
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return; /* EAGAIN, or a transient error: tried again at the next POLLIN */
		struct ucred cr = {0};
		socklen_t len = sizeof cr;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0) {
			close(fd);
			continue;
		}
		STAT_ADD(s, accepted, 1);
		int access = peer_access(s, fd, &cr);
		client_t *c = xcalloc(1, sizeof *c);
		c->fd = fd;
		c->id = ++s->next_id;
		c->uid = cr.uid;
		c->pid = cr.pid;
		c->rw = access == 2;
		pd_sp_reader_init(&c->rd, PD_SERVE_MAX_REQ);
		s->cl = xrealloc(s->cl, (s->ncl + 1) * sizeof *s->cl);
		s->cl[s->ncl++] = c;
		s->idle_since_ms = 0;
		if (!access) {
			STAT_ADD(s, refused, 1);
			client_close_with(s, c, "permission",
			                  N_("this user may not read the database: not attached"),
			                  _("refused: no read access to the database"));
		} else if (s->ncl > MAX_CLIENTS) {
			client_close_with(s, c, "busy", N_("too many clients"),
			                  _("refused: too many clients"));
		}
	}
}

static json_t *reply_ok(json_int_t id)
{
	return json_pack("{s:s,s:I,s:b}", "t", "reply", "id", id, "ok", 1);
}

/* message: English on the wire (N_), translated by the client where shown. */
static json_t *reply_err(json_int_t id, pd_status st, const char *message)
{
	return json_pack("{s:s,s:I,s:b,s:s,s:s}", "t", "reply", "id", id, "ok", 0, "status",
	                 pd_status_code(st), "message", message);
}

static bool get_cid(json_t *req, int64_t *cid)
{
	json_t *v = json_object_get(req, "customer");
	if (!json_is_integer(v) || json_integer_value(v) <= 0)
		return false;
	*cid = json_integer_value(v);
	return true;
}

static json_t *do_request(pd_serve *s, client_t *c, json_int_t id, const char *op, json_t *req)
{
	if (!strcmp(op, "status")) {
		pd_monitor_stats ms = {0};
		if (s->mon)
			pd_monitor_get_stats(s->mon, &ms);
		json_t *r = reply_ok(id);
		json_object_set_new(r, "pid", json_integer(getpid()));
		json_object_set_new(r, "since", json_integer(s->since));
		json_object_set_new(r, "clients", json_integer((json_int_t)s->ncl));
		json_object_set_new(r, "links", json_integer(ms.links));
		json_object_set_new(r, "outbox", json_boolean(s->outbox != NULL));
		json_object_set_new(r, "resync_interval",
		                    json_integer(s->cfg.serve_resync_interval));
		return r;
	}
	bool known =
	    !strcmp(op, "resync") || !strcmp(op, "resync_cancel") || !strcmp(op, "outbox_send");
	if (!known)
		return reply_err(id, PD_E_USAGE,
		                 N_("unknown request (resync, resync_cancel, "
		                    "outbox_send, status)"));
	if (!c->rw)
		return reply_err(id, PD_E_AUTH,
		                 N_("read-only: this user may not write the database"));
	if (!strcmp(op, "outbox_send")) {
		if (!s->outbox)
			return reply_err(id, PD_E_CONFIG,
			                 N_("no SMTP server configured ([smtp] url): invitations "
			                    "wait in the outbox"));
		pd_outbox_worker_kick(s->outbox);
		return reply_ok(id);
	}
	int64_t cid;
	if (!get_cid(req, &cid))
		return reply_err(id, PD_E_USAGE,
		                 N_("customer: a customer id (a positive integer)"));
	if (!s->mon)
		return reply_err(id, PD_E_UNAVAILABLE, N_("the PBX monitor is not running"));
	if (!strcmp(op, "resync")) {
		int64_t seq = pd_monitor_resync(s->mon, cid);
		slog(s, _("customer %lld: resync asked by uid %ld"), (long long)cid, (long)c->uid);
		json_t *o = reply_ok(id);
		json_object_set_new(o, "seq", json_integer(seq));
		return o;
	}
	json_t *sq = json_object_get(req, "seq");
	if (!json_is_integer(sq) || json_integer_value(sq) < 0)
		return reply_err(id, PD_E_USAGE, N_("seq: the sync count the resync was asked at"));
	bool cancelled = pd_monitor_resync_cancel(s->mon, cid, json_integer_value(sq));
	json_t *o = reply_ok(id);
	json_object_set_new(o, "cancelled", json_boolean(cancelled));
	return o;
}

static void send_snapshot(pd_serve *s, client_t *c)
{
	sync_views(s); /* the cache is as new as the live state */
	for (size_t i = 0; i < s->nents; i++)
		enqueue(s, c, s->ents[i].view);
	for (size_t i = 0; i < s->nents; i++)
		enqueue(s, c, s->ents[i].sync);
	enqueue_json(s, c, json_pack("{s:s}", "t", "snapshot_end"));
}

static void on_hello(pd_serve *s, client_t *c, json_t *m)
{
	json_t *v = json_object_get(m, "v");
	json_t *kind = json_object_get(m, "client");
	if (!json_is_integer(v) || json_integer_value(v) != PD_SERVE_PROTO) {
		/* English on the wire: formatted here, so no client's catalogue has
		 * it (and a client of another version has another catalogue) */
		char msg[300];
		snprintf(msg, sizeof msg,
		         "protocol version mismatch: this provdesk serve (pid %ld) speaks version "
		         "%d, the client %s%lld; restart the daemon after an upgrade (provdesk "
		         "serve --stop)",
		         (long)getpid(), PD_SERVE_PROTO, json_is_integer(v) ? "" : "no version: ",
		         json_is_integer(v) ? (long long)json_integer_value(v) : 0LL);
		client_close_with(s, c, "version", msg, _("protocol version mismatch"));
		return;
	}
	const char *k = json_is_string(kind) ? json_string_value(kind) : "";
	if (strcmp(k, "console") && strcmp(k, "noc") && strcmp(k, "cli")) {
		client_close_with(s, c, "protocol", N_("hello: client must be console, noc or cli"),
		                  _("bad hello (client)"));
		return;
	}
	snprintf(c->kind, sizeof c->kind, "%s", k);
	c->hello = true;
	c->live = json_is_true(json_object_get(m, "live"));
	enqueue_json(s, c,
	             json_pack("{s:s,s:i,s:i,s:b,s:I}", "t", "hello", "v", PD_SERVE_PROTO, "pid",
	                       (int)getpid(), "rw", c->rw, "since", (json_int_t)s->since));
	slog(s, _("client %llu attached: %s, uid %ld, pid %ld, %s%s"), (unsigned long long)c->id, k,
	     (long)c->uid, (long)c->pid, c->rw ? _("read-write") : _("read-only"),
	     c->live ? _(", live") : "");
	if (c->live)
		send_snapshot(s, c);
}

static void on_message(pd_serve *s, client_t *c, json_t *m)
{
	const char *t = json_string_value(json_object_get(m, "t"));
	if (!c->hello) {
		if (!strcmp(t, "hello"))
			on_hello(s, c, m);
		else
			client_close_with(s, c, "protocol", N_("the first message must be a hello"),
			                  _("no hello first"));
		return;
	}
	if (strcmp(t, "req")) {
		client_close_with(s, c, "protocol",
		                  N_("only requests (\"t\":\"req\") after the hello"),
		                  _("unexpected message"));
		return;
	}
	json_t *id = json_object_get(m, "id");
	json_t *op = json_object_get(m, "op");
	if (!json_is_integer(id) || !json_is_string(op)) {
		client_close_with(s, c, "protocol",
		                  N_("a request needs an integer id and a string op"),
		                  _("bad request"));
		return;
	}
	enqueue_json(s, c, do_request(s, c, json_integer_value(id), json_string_value(op), m));
}

static void client_read(pd_serve *s, client_t *c)
{
	char buf[16384];
	if (c->closing) { /* drained and dropped until the peer goes */
		ssize_t n;
		while ((n = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT)) > 0)
			;
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
			close(c->fd);
			c->fd = -1;
		}
		return;
	}
	for (int rounds = 0; rounds < 16 && c->fd >= 0 && !c->closing; rounds++) {
		ssize_t n = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
		if (n == 0) {
			if (c->rd.len)
				STAT_ADD(s, closed_protocol, 1);
			client_drop(s, c,
			            c->rd.len ? _("truncated message, then end of stream")
			                      : _("left"));
			return;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				client_drop(s, c, _("connection lost"));
			return;
		}
		pd_err e = {0};
		if (pd_sp_reader_feed(&c->rd, buf, (size_t)n, &e) != PD_OK) {
			STAT_ADD(s, closed_protocol, 1);
			client_close_with(s, c, "protocol", N_("message too long"),
			                  _("message too long"));
			return;
		}
		for (;;) {
			json_t *m = NULL;
			pd_err me = {0};
			int r = pd_sp_reader_next(&c->rd, &m, &me);
			if (r == 0)
				break;
			if (r < 0) {
				STAT_ADD(s, closed_protocol, 1);
				client_close_with(s, c, "protocol", N_("malformed message"),
				                  _("malformed message"));
				return;
			}
			on_message(s, c, m);
			json_decref(m);
			if (c->fd < 0 || c->closing)
				return;
		}
	}
}

/* Dead clients out of the list; clients told why they close, once done. */
static void reap(pd_serve *s, int64_t now)
{
	size_t k = 0;
	for (size_t i = 0; i < s->ncl; i++) {
		client_t *c = s->cl[i];
		if (c->fd >= 0 && c->closing && !c->qn && !c->wr_shut) {
			shutdown(c->fd, SHUT_WR); /* the peer reads the why, then the end */
			c->wr_shut = true;
		}
		if (c->fd >= 0 && c->closing && now >= c->closing_deadline) {
			close(c->fd);
			c->fd = -1;
		}
		if (c->fd < 0)
			client_free(s, c);
		else
			s->cl[k++] = c;
	}
	if (k == 0 && s->ncl && !s->idle_since_ms)
		s->idle_since_ms = now;
	s->ncl = k;
}

/* ---- services ---- */

static void outbox_start(pd_serve *s)
{
	if (!s->cfg.smtp_url || !*s->cfg.smtp_url) {
		slog(s, _("outbox: no SMTP server configured ([smtp] url): invitations wait"));
		return;
	}
	pd_smtp_opts o;
	pd_smtp_opts_init(&o);
	char *pw = NULL;
	pd_err e = {0};
	if (pd_smtp_opts_from_config(&s->cfg, &o, &pw, &e) != PD_OK ||
	    pd_outbox_worker_start(s->db_path, &s->so, &o, -1, &s->outbox, &e) != PD_OK) {
		s->outbox = NULL;
		slog(s, _("outbox: not started: %s%s%s"), e.field[0] ? e.field : "",
		     e.field[0] ? ": " : "", e.message);
	} else {
		memset(&s->ob_last, 0, sizeof s->ob_last);
		slog(s, _("outbox: sending through the configured SMTP server"));
	}
	pd_secret_free(pw);
}

static pd_status monitor_start(pd_serve *s, pd_err *e)
{
	pd_status st =
	    pd_monitor_start_opts(s->db_path, &s->so, &s->cfg,
	                          s->has_mon_opts ? &s->mon_opts : NULL, s->live, &s->mon, e);
	if (st != PD_OK)
		s->mon = NULL;
	return st;
}

static void outbox_news(pd_serve *s)
{
	if (!s->outbox)
		return;
	pd_outbox_worker_stats w;
	pd_outbox_worker_stats_get(s->outbox, &w);
	if (w.sent != s->ob_last.sent) {
		long long n = (long long)(w.sent - s->ob_last.sent);
		slog(s, P_("outbox: %lld sent", "outbox: %lld sent", (unsigned long)n), n);
	}
	if (w.failed != s->ob_last.failed || (w.last_error[0] && w.rounds != s->ob_last.rounds &&
	                                      strcmp(w.last_error, s->ob_last.last_error)))
		slog(s, _("outbox: %s"), w.last_error[0] ? w.last_error : _("a message failed"));
	s->ob_last = w;
}

/* Every enabled PBX with user sync on whose link is up. */
static void scheduled_resync(pd_serve *s)
{
	STAT_ADD(s, scheduled_resyncs, 1);
	if (!s->mon)
		return;
	pd_pbx *v = NULL;
	size_t n = 0;
	pd_err e = {0};
	if (store_pbx_list_all(s->store, false, &v, &n, &e) != PD_OK) {
		slog(s, _("scheduled resync skipped: %s"), e.message);
		return;
	}
	int asked = 0;
	for (size_t i = 0; i < n; i++) {
		pd_live_summary sm;
		if (!v[i].enabled || !v[i].sync_users ||
		    !pd_live_summary_get(s->live, v[i].customer_id, &sm) ||
		    sm.link != PD_LINK_MONITORING)
			continue;
		pd_monitor_resync(s->mon, v[i].customer_id);
		asked++;
	}
	for (size_t i = 0; i < n; i++)
		pd_pbx_free(&v[i]);
	free(v);
	slog(s, _("scheduled resync: %d PBX"), asked);
}

static bool outbox_due_now(pd_serve *s)
{
	if (!s->outbox)
		return false;
	pd_outbox m = {0};
	pd_err e = {0};
	if (store_outbox_next_due(s->store, pd_now(), &m, &e) != PD_OK)
		return false;
	pd_outbox_free(&m);
	return true;
}

static bool str_differs(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") != 0;
}

static void do_reload(pd_serve *s)
{
	pd_config nc;
	pd_err e = {0};
	if (pd_config_load(s->config_path, &nc, &e) != PD_OK) {
		pd_config_free(&nc);
		slog(s, _("reload refused, the configuration in force stays: %s%s%s"),
		     e.field[0] ? e.field : "", e.field[0] ? ": " : "", e.message);
		return;
	}
	pd_err te = {0};
	if (serve_api_reload_tls(s->api, &nc, &te) != PD_OK)
		slog(s, _("API certificate not reloaded, the one in force stays: %s: %s"),
		     te.field[0] ? te.field : "api", te.message);
	pd_config old = s->cfg;
	bool pbx =
	    old.pbx_ping_interval != nc.pbx_ping_interval ||
	    old.pbx_backoff_max != nc.pbx_backoff_max || old.pbx_max_calls != nc.pbx_max_calls ||
	    old.pbx_max_channels != nc.pbx_max_channels || old.pbx_max_users != nc.pbx_max_users ||
	    old.pbx_max_call_age != nc.pbx_max_call_age ||
	    old.pbx_max_message_kb != nc.pbx_max_message_kb;
	bool smtp = str_differs(old.smtp_url, nc.smtp_url) ||
	            old.smtp_starttls != nc.smtp_starttls ||
	            str_differs(old.smtp_from, nc.smtp_from) ||
	            str_differs(old.smtp_username, nc.smtp_username) ||
	            str_differs(old.smtp_password_file, nc.smtp_password_file) ||
	            str_differs(old.invite_activation_url, nc.invite_activation_url) ||
	            old.invite_token_days != nc.invite_token_days;
	/* the password file's content may have changed: a reload restarts the
	 * sender whenever one is configured */
	smtp = smtp || (nc.smtp_url && *nc.smtp_url);
	if (smtp) {
		pd_outbox_worker_stop(s->outbox);
		s->outbox = NULL;
	}
	if (pbx) {
		pd_monitor_stop(s->mon);
		s->mon = NULL;
	}
	s->cfg = nc;
	s->so.internal_systems_limit = nc.internal_systems_limit;
	if (pbx) {
		pd_err me = {0};
		if (monitor_start(s, &me) != PD_OK)
			slog(s, _("monitor not restarted: %s"), me.message);
		else
			slog(s, _("monitor restarted with the new [pbx] settings"));
		/* the new monitor counts syncs from 0 */
		for (size_t i = 0; i < s->nents; i++)
			s->ents[i].sync_seq = 0;
	}
	if (smtp)
		outbox_start(s);
	int64_t now = pd_live_now_ms();
	if (old.serve_resync_interval != nc.serve_resync_interval)
		s->next_resync_ms =
		    nc.serve_resync_interval ? now + (int64_t)nc.serve_resync_interval * 1000 : 0;
	pd_config_free(&old);
	STAT_ADD(s, reloads, 1);
	if (nc.path)
		slog(s, _("configuration reloaded from %s"), nc.path);
	else
		slog(s, _("configuration reloaded"));
}

/* ---- lock and socket ---- */

static pid_t read_pid(int fd)
{
	char buf[32] = {0};
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
	if (n <= 0)
		return 0;
	long v = strtol(buf, NULL, 10);
	return v > 0 && v < INT_MAX ? (pid_t)v : 0;
}

pd_status pd_serve_running(const char *db_path, pid_t *pid, pd_err *e)
{
	*pid = 0;
	char *lp = pd_serve_lock_path(db_path);
	int fd = lp ? open(lp, O_RDONLY | O_CLOEXEC) : -1;
	free(lp);
	if (fd < 0)
		return pd_fail(e, PD_E_UNAVAILABLE, NULL, _("no provdesk serve runs for %s"),
		               db_path);
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		close(fd);
		return pd_fail(e, PD_E_UNAVAILABLE, NULL, _("no provdesk serve runs for %s"),
		               db_path);
	}
	*pid = read_pid(fd);
	close(fd);
	return PD_OK;
}

static pd_status take_lock(pd_serve *s, pd_err *e)
{
	s->lock_path = pd_serve_lock_path(s->db_path);
	if (!s->lock_path)
		return pd_fail(e, PD_E_UNAVAILABLE, NULL, _("no lock file for %s"), s->db_path);
	struct stat sb;
	/* a new database: its directory first (store_open would make it) */
	char *dir = xstrdup(s->db_path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		if (stat(dir, &sb) != 0)
			pd_mkdir_p(dir, 0700);
	}
	free(dir);
	/* readable by who may read the database: `serve --status` shows the pid */
	mode_t mode = stat(s->db_path, &sb) == 0 ? (sb.st_mode & 0644) | 0600 : 0600;
	s->lock_fd = open(s->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, mode);
	if (s->lock_fd < 0)
		return pd_fail(e, PD_E_CANTCREATE, NULL, _("cannot open %s: %s"), s->lock_path,
		               strerror(errno));
	/* a `serve --status` holds it shared for an instant: try a few times */
	for (int i = 0;; i++) {
		if (flock(s->lock_fd, LOCK_EX | LOCK_NB) == 0)
			break;
		if (errno != EWOULDBLOCK)
			return pd_fail(e, PD_E_UNAVAILABLE, NULL, _("cannot lock %s: %s"),
			               s->lock_path, strerror(errno));
		pid_t other = read_pid(s->lock_fd);
		if (other || i >= 10) {
			close(s->lock_fd);
			s->lock_fd = -1;
			return pd_fail(e, PD_E_TEMPFAIL, NULL,
			               _("provdesk serve already runs for %s (pid %ld)"),
			               s->db_path, (long)other);
		}
		struct timespec ts = {0, 20 * 1000000L};
		nanosleep(&ts, NULL);
	}
	char buf[32];
	int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
	if (ftruncate(s->lock_fd, 0) != 0 || pwrite(s->lock_fd, buf, (size_t)n, 0) != n)
		return pd_fail(e, PD_E_CANTCREATE, NULL, _("cannot write %s: %s"), s->lock_path,
		               strerror(errno));
	return PD_OK;
}

/* The socket lets connect whoever the database lets read (the peer check
 * decides what they may do). */
static pd_status listen_socket(pd_serve *s, pd_err *e)
{
	s->sock_path = pd_serve_socket_path(s->db_path, e);
	if (!s->sock_path)
		return e->status ? e->status : PD_E_UNAVAILABLE;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(s->sock_path) >= sizeof sa.sun_path)
		return pd_fail(e, PD_E_CANTCREATE, NULL, _("socket path too long: %s"),
		               s->sock_path);
	strcpy(sa.sun_path, s->sock_path);
	char *dir = xstrdup(s->sock_path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		struct stat ds;
		if (stat(dir, &ds) != 0)
			pd_mkdir_p(dir, 0700);
	}
	free(dir);
	unlink(s->sock_path); /* we hold the lock: a socket there is a dead daemon's */
	s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->listen_fd < 0)
		return pd_fail(e, PD_E_CANTCREATE, NULL, "socket: %s", strerror(errno));
	if (bind(s->listen_fd, (struct sockaddr *)&sa, sizeof sa) != 0)
		return pd_fail(e, PD_E_CANTCREATE, NULL, _("cannot bind %s: %s"), s->sock_path,
		               strerror(errno));
	struct stat sb;
	mode_t mode = 0600;
	if (stat(s->db_path, &sb) == 0) {
		if (sb.st_mode & 0060)
			mode |= 0060;
		if (sb.st_mode & 0006)
			mode |= 0006;
		if (chown(s->sock_path, (uid_t)-1, sb.st_gid) != 0) {
			/* not a member of the database's group: its group members
			 * then reach it as "others" only if the mode allows */
		}
	}
	if (chmod(s->sock_path, mode) != 0 || listen(s->listen_fd, 128) != 0)
		return pd_fail(e, PD_E_CANTCREATE, NULL, _("cannot listen on %s: %s"), s->sock_path,
		               strerror(errno));
	return PD_OK;
}

/* ---- life ---- */

pd_status pd_serve_open(const pd_serve_opts *o, pd_serve **out, pd_err *e)
{
	*out = NULL;
	if (!o->db_path || !*o->db_path)
		return pd_fail(e, PD_E_USAGE, "db_path", _("no database"));
	pd_serve *s = xcalloc(1, sizeof *s);
	pthread_mutex_init(&s->mu, NULL);
	s->o = *o;
	if (!s->o.max_queue)
		s->o.max_queue = PD_SERVE_MAX_QUEUE;
	s->log = o->log ? o->log : stderr;
	s->db_path = xstrdup(o->db_path);
	s->config_path = o->config_path ? xstrdup(o->config_path) : NULL;
	s->lock_fd = s->listen_fd = s->pipe_rd = s->pipe_wr = -1;
	if (o->monitor) {
		s->mon_opts = *o->monitor;
		s->has_mon_opts = true;
	}
	s->since = pd_now();
	pd_status st;
	int p[2];
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0) {
		st = pd_fail(e, PD_E_INTERNAL, NULL, "pipe: %s", strerror(errno));
		goto fail;
	}
	s->pipe_rd = p[0];
	s->pipe_wr = p[1];
	if ((st = pd_config_load(s->config_path, &s->cfg, e)) != PD_OK) {
		pd_config_free(&s->cfg);
		if (e->status == PD_OK)
			e->status = PD_E_CONFIG;
		st = e->status;
		goto fail;
	}
	s->cfg_loaded = true;
	if ((st = pd_catalogue_load_default(s->cfg.config_dir, &s->cat, e)) != PD_OK)
		goto fail;
	s->cat_loaded = true;
	pd_drivers_mark_supported(&s->cat);
	if ((st = take_lock(s, e)) != PD_OK)
		goto fail;
	s->so = (pd_store_opts){
	    .catalogue = &s->cat,
	    .internal_systems_limit = s->cfg.internal_systems_limit,
	    .busy_timeout_ms = 5000,
	};
	if ((st = store_open(s->db_path, &s->so, &s->store, e)) != PD_OK) {
		s->store = NULL;
		goto fail;
	}
	s->data_version = store_data_version(s->store);
	if ((st = listen_socket(s, e)) != PD_OK)
		goto fail;
	s->live = pd_live_new();
	if ((st = monitor_start(s, e)) != PD_OK)
		goto fail;
	outbox_start(s);
	if ((st = serve_api_start(s->db_path, s->config_path, s->o.api_listen, &s->so, s->live,
	                          s->pipe_wr, &s->api, e)) != PD_OK)
		goto fail;
	if (s->api)
		slog(s, _("HTTP API on %s (port %d)"), serve_api_listen(s->api),
		     serve_api_port(s->api));
	int64_t now = pd_live_now_ms();
	s->idle_since_ms = now;
	s->next_resync_ms =
	    s->cfg.serve_resync_interval ? now + (int64_t)s->cfg.serve_resync_interval * 1000 : 0;
	s->next_kick_ms = now + KICK_CHECK_MS;
	slog(s, _("pid %ld serving %s on %s%s"), (long)getpid(), s->db_path, s->sock_path,
	     o->auto_exit ? _(" (--auto: exits when idle)") : "");
	*out = s;
	return PD_OK;
fail:
	pd_serve_close(s);
	return st;
}

static void drain_pipe(pd_serve *s)
{
	char buf[64];
	ssize_t n;
	while ((n = read(s->pipe_rd, buf, sizeof buf)) > 0)
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == 'T')
				s->stop = true;
			else if (buf[i] == 'H')
				do_reload(s);
			else if (buf[i] == 'R' && s->mon) { /* resyncs the API asked */
				int64_t *ids;
				size_t k = serve_api_take_resyncs(s->api, &ids);
				for (size_t j = 0; j < k; j++)
					pd_monitor_resync(s->mon, ids[j]);
				free(ids);
			}
		}
}

static void timers(pd_serve *s, int64_t now)
{
	/* a change whose wake was not seen is sent within a tick all the same */
	if (pd_live_generation(s->live) != s->live_gen) {
		s->lost_wakes++;
		sync_views(s);
	}
	sync_results(s);
	outbox_news(s);
	if (s->next_resync_ms && now >= s->next_resync_ms) {
		scheduled_resync(s);
		s->next_resync_ms = now + (int64_t)s->cfg.serve_resync_interval * 1000;
	}
	if (now >= s->next_kick_ms) {
		s->next_kick_ms = now + KICK_CHECK_MS;
		int64_t dv = store_data_version(s->store);
		if (dv != s->data_version) {
			s->data_version = dv;
			if (s->outbox)
				pd_outbox_worker_kick(s->outbox); /* a new invitation, perhaps */
		}
	}
}

pd_status pd_serve_run(pd_serve *s, pd_err *e)
{
	struct pollfd *pf = NULL;
	size_t pfcap = 0;
	int64_t next_tick = 0;
	while (!s->stop) {
		int64_t now = pd_live_now_ms();
		if (now >= next_tick) {
			timers(s, now);
			next_tick = now + TICK_MS;
		}
		if (s->o.auto_exit && !s->ncl && s->idle_since_ms &&
		    now - s->idle_since_ms >= (int64_t)s->cfg.serve_idle_exit * 1000) {
			if (!outbox_due_now(s)) {
				slog(s, _("no client for %d s and nothing to send: exiting"),
				     s->cfg.serve_idle_exit);
				break;
			}
			s->idle_since_ms = now; /* look again later */
		}
		size_t need = 3 + s->ncl;
		if (need > pfcap) {
			pfcap = need * 2;
			pf = xrealloc(pf, pfcap * sizeof *pf);
		}
		pf[0] = (struct pollfd){.fd = s->listen_fd, .events = POLLIN};
		pf[1] = (struct pollfd){.fd = s->pipe_rd, .events = POLLIN};
		pf[2] = (struct pollfd){.fd = pd_live_wake_fd(s->live), .events = POLLIN};
		for (size_t i = 0; i < s->ncl; i++) {
			client_t *c = s->cl[i];
			pf[3 + i] = (struct pollfd){
			    .fd = c->fd, .events = (short)(POLLIN | (c->qn ? POLLOUT : 0))};
		}
		size_t ncl = s->ncl; /* accept_clients may grow the list below */
		int wait = (int)(next_tick - pd_live_now_ms());
		if (wait < 0)
			wait = 0;
		if (poll(pf, (nfds_t)need, wait) < 0 && errno != EINTR) {
			free(pf);
			return pd_fail(e, PD_E_INTERNAL, NULL, "poll: %s", strerror(errno));
		}
		if (pf[1].revents)
			drain_pipe(s);
		if (pf[2].revents) {
			pd_live_wake_drain(s->live);
			sync_views(s);
			sync_results(s);
		}
		for (size_t i = 0; i < ncl; i++) {
			client_t *c = s->cl[i];
			if (c->fd < 0)
				continue;
			if (pf[3 + i].revents & (POLLIN | POLLHUP | POLLERR))
				client_read(s, c);
		}
		if (pf[0].revents & POLLIN)
			accept_clients(s);
		for (size_t i = 0; i < s->ncl; i++)
			if (s->cl[i]->qn)
				client_flush(s, s->cl[i]);
		reap(s, pd_live_now_ms());
		stats_update(s);
	}
	free(pf);
	return PD_OK;
}

void pd_serve_stop(pd_serve *s)
{
	if (s && s->pipe_wr >= 0) {
		ssize_t w = write(s->pipe_wr, "T", 1);
		(void)w;
	}
}

void pd_serve_reload(pd_serve *s)
{
	if (s && s->pipe_wr >= 0) {
		ssize_t w = write(s->pipe_wr, "H", 1);
		(void)w;
	}
}

static volatile sig_atomic_t sig_fd = -1;

static void on_signal(int sig)
{
	int saved = errno;
	if (sig_fd >= 0) {
		ssize_t w = write(sig_fd, sig == SIGHUP ? "H" : "T", 1);
		(void)w;
	}
	errno = saved;
}

void pd_serve_handle_signals(pd_serve *s)
{
	sig_fd = s->pipe_wr;
	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

void pd_serve_get_stats(pd_serve *s, pd_serve_stats *out)
{
	pthread_mutex_lock(&s->mu);
	*out = s->st;
	pthread_mutex_unlock(&s->mu);
}

void pd_serve_close(pd_serve *s)
{
	if (!s)
		return;
	bool was_up = s->listen_fd >= 0 && s->mon;
	if (sig_fd == s->pipe_wr)
		sig_fd = -1;
	/* the API first (its threads read the live state), then the links:
	 * each says goodbye to its PBX (AMI Logoff, ESL exit) */
	serve_api_stop(s->api);
	pd_monitor_stop(s->mon);
	outbox_news(s); /* what it sent since the last look */
	pd_outbox_worker_stop(s->outbox);
	for (size_t i = 0; i < s->ncl; i++)
		client_free(s, s->cl[i]);
	free(s->cl);
	for (size_t i = 0; i < s->nents; i++) {
		msg_unref(s->ents[i].view);
		msg_unref(s->ents[i].sync);
	}
	free(s->ents);
	if (s->listen_fd >= 0) {
		close(s->listen_fd);
		unlink(s->sock_path);
	}
	pd_live_free(s->live);
	if (s->store)
		store_close(s->store);
	if (s->lock_fd >= 0) {
		/* the pid goes with the lock */
		if (ftruncate(s->lock_fd, 0) != 0) {
			/* nothing to do: the lock is what tells */
		}
		close(s->lock_fd);
	}
	if (was_up)
		slog(s, _("stopped: links closed, socket removed"));
	if (s->pipe_rd >= 0)
		close(s->pipe_rd);
	if (s->pipe_wr >= 0)
		close(s->pipe_wr);
	if (s->cat_loaded)
		pd_catalogue_free(&s->cat);
	if (s->cfg_loaded)
		pd_config_free(&s->cfg);
	pthread_mutex_destroy(&s->mu);
	free(s->db_path);
	free(s->config_path);
	free(s->sock_path);
	free(s->lock_path);
	free(s);
}

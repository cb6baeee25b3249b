/* The client of `provdesk serve`: see include/provdesk/serve_client.h and
 * docs/architecture.md, "provdesk serve". One thread owns the socket; the
 * caller's threads only queue requests and wait on a condition variable
 * (CLOCK_MONOTONIC: the date tests move the wall clock). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "provdesk/i18n.h"
#include "provdesk/pbx_transport.h"
#include "provdesk/serve.h"
#include "provdesk/serve_client.h"
#include "provdesk/util.h"

#define HELLO_TIMEOUT_MS 10000 /* a daemon that accepts but never answers */
#define SPAWN_TIMEOUT_MS 20000 /* `serve --detach` returns once its socket accepts */
#define RETRY_MIN_MS 100
#define RETRY_CAP_MS 2000       /* a daemon restarting: back within seconds */
#define RETRY_FAIL_CAP_MS 30000 /* a daemon that cannot start: do not spin */
#define READ_CHUNK 65536

enum cstate { C_DOWN, C_HELLO, C_SNAPSHOT, C_LIVE };

struct req {
	int64_t id;
	char *line;
	size_t len;
	bool sent, done, want_reply;
	pd_status st;
	json_t *reply;
	char msg[300];
	struct req *next;
};

struct sync_ent {
	int64_t cid, seq;
	pd_sync_result r;
	int64_t first_seq; /* the first sync this client saw from this daemon */
	pd_sync_result first_r;
};

struct pd_serve_client {
	/* set at start, read-only after */
	char *db, *config, *kind, *sock, *exe;
	bool live_mode, autostart;
	pd_live *live;
	pthread_t th;
	bool th_started;
	int wake[2];
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* under mu */
	bool stop, attached, rw, no_daemon;
	int64_t pid, attaches, next_id;
	bool spawned; /* this client started the daemon it attached to first */
	char why[256];
	struct req *reqs;
	struct sync_ent *syncs;
	size_t n_syncs, cap_syncs;
	/* the thread's own */
	int fd;
	enum cstate state;
	int64_t state_since;
	pd_sp_reader rd;
	char *out;
	size_t out_len, out_off, out_cap;
	int64_t *known, *seen; /* sorted customer ids: in the mirror, in this snapshot */
	size_t n_known, cap_known, n_seen, cap_seen;
	pd_backoff bo;
	int64_t next_try;
	char *rbuf;
};

/* ---- small sorted id sets ---- */

static size_t ids_find(const int64_t *v, size_t n, int64_t id, bool *found)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < n && v[lo] == id;
	return lo;
}

static void ids_add(int64_t **v, size_t *n, size_t *cap, int64_t id)
{
	bool f;
	size_t i = ids_find(*v, *n, id, &f);
	if (f)
		return;
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		*v = xrealloc(*v, *cap * sizeof **v);
	}
	memmove(*v + i + 1, *v + i, (*n - i) * sizeof **v);
	(*v)[i] = id;
	(*n)++;
}

static void ids_del(int64_t *v, size_t *n, int64_t id)
{
	bool f;
	size_t i = ids_find(v, *n, id, &f);
	if (!f)
		return;
	memmove(v + i, v + i + 1, (*n - i - 1) * sizeof *v);
	(*n)--;
}

/* ---- helpers ---- */

static void wake_thread(pd_serve_client *c)
{
	char b = 1;
	ssize_t w = write(c->wake[1], &b, 1);
	(void)w; /* full: a wake is pending anyway */
}

static void set_why(pd_serve_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_why(pd_serve_client *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	pthread_mutex_lock(&c->mu);
	pd_vsnprintf(c->why, sizeof c->why, fmt, ap);
	pthread_mutex_unlock(&c->mu);
	va_end(ap);
}

/* A key of a reply's "status" back to the enum: the JSON code ("config")
 * or the enum's name ("PD_E_CONFIG"); the daemon says "permission" for a
 * read-only client. */
static pd_status status_of(const char *s)
{
	if (!s)
		return PD_E_INTERNAL;
	if (!strcmp(s, "permission"))
		return PD_E_AUTH;
	for (int i = 0; i < PD_STATUS__COUNT; i++)
		if (!strcmp(s, pd_status_code((pd_status)i)) ||
		    !strcmp(s, pd_status_name((pd_status)i)))
			return (pd_status)i;
	return PD_E_INTERNAL;
}

/* Text from the daemon or a child's stderr, made printable. */
static void clean_text(char *s)
{
	for (unsigned char *p = (unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			*p = ' ';
}

static void out_append(pd_serve_client *c, const char *p, size_t n)
{
	if (c->out_off && c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->out_len + n > c->out_cap) {
		c->out_cap = (c->out_len + n) * 2;
		c->out = xrealloc(c->out, c->out_cap);
	}
	memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
}

/* The customers of the mirror: the daemon is away, their links say so (the
 * data stays, stale) with the next attempt as the retry time. */
static void mark_lost(pd_serve_client *c, int64_t retry_at)
{
	if (!c->live)
		return;
	for (size_t i = 0; i < c->n_known; i++)
		pd_live_set_link(c->live, c->known[i], PD_LINK_RETRYING, 0, 0, retry_at,
		                 _(PD_SERVE_LOST_TEXT));
}

static void close_conn(pd_serve_client *c, const char *why)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	bool was_up = c->state != C_DOWN;
	c->state = C_DOWN;
	pd_sp_reader_free(&c->rd);
	pd_sp_reader_init(&c->rd, PD_SERVE_MAX_MSG);
	c->out_len = c->out_off = 0;
	c->n_seen = 0;
	int64_t now = pd_live_now_ms();
	c->next_try = now + pd_backoff_next(&c->bo);
	pthread_mutex_lock(&c->mu);
	c->attached = false;
	if (why)
		pd_utf8_copys(c->why, sizeof c->why, why);
	/* a reply that was asked for will not come from this daemon */
	for (struct req **pp = &c->reqs; *pp;) {
		struct req *r = *pp;
		if (!r->sent) {
			pp = &r->next;
			continue;
		}
		if (r->want_reply) {
			r->done = true;
			r->st = PD_E_UNAVAILABLE;
			snprintf(r->msg, sizeof r->msg, "%s", _(PD_SERVE_LOST_TEXT));
			pp = &r->next;
		} else {
			*pp = r->next;
			free(r->line);
			free(r);
		}
	}
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	if (was_up || c->n_known)
		mark_lost(c, c->next_try);
}

/* ---- starting a daemon ---- */

/* `exe [--db D] [--config C] serve --detach --auto`; its parent returns once
 * the socket accepts. 0 or 75 (another one won the lock): connect. */
static bool spawn_daemon(pd_serve_client *c)
{
	const char *argv[12];
	int k = 0;
	argv[k++] = c->exe;
	argv[k++] = "--db";
	argv[k++] = c->db;
	if (c->config) {
		argv[k++] = "--config";
		argv[k++] = c->config;
	}
	argv[k++] = "serve";
	argv[k++] = "--detach";
	argv[k++] = "--auto";
	argv[k] = NULL;
	int ep[2];
	if (pipe2(ep, O_CLOEXEC) != 0) {
		set_why(c, _("cannot start the monitor: %s"), strerror(errno));
		return false;
	}
	pid_t pid = fork();
	if (pid < 0) {
		close(ep[0]);
		close(ep[1]);
		set_why(c, _("cannot start the monitor: %s"), strerror(errno));
		return false;
	}
	if (pid == 0) {
		/* async-signal-safe calls only: the parent has threads */
		int nul = open("/dev/null", O_RDWR);
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
		}
		dup2(ep[1], 2);
		/* nothing else of ours (a lab PBX's listening socket with --demo,
		 * the console's pipes) goes to the daemon */
		if (syscall(SYS_close_range, 3U, ~0U, 0U) != 0)
			for (int fd = 3; fd < 1024; fd++)
				close(fd);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(ep[1]);
	fcntl(ep[0], F_SETFL, O_NONBLOCK);
	char err[512] = "";
	size_t elen = 0;
	int status = 0;
	bool exited = false, gone = false;
	int64_t deadline = pd_live_now_ms() + SPAWN_TIMEOUT_MS;
	while (!exited && pd_live_now_ms() < deadline) {
		pthread_mutex_lock(&c->mu);
		bool stop = c->stop;
		pthread_mutex_unlock(&c->mu);
		if (stop)
			break;
		struct pollfd pf = {.fd = ep[0], .events = POLLIN};
		poll(&pf, 1, 50);
		for (;;) { /* what it says on stderr: the first 511 bytes */
			char b[256];
			ssize_t r = read(ep[0], b, sizeof b);
			if (r <= 0)
				break;
			size_t take =
			    (size_t)r < sizeof err - 1 - elen ? (size_t)r : sizeof err - 1 - elen;
			memcpy(err + elen, b, take);
			elen += take;
		}
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			exited = true;
		else if (w < 0 && errno == ECHILD) /* SIGCHLD ignored: reaped already */
			exited = gone = true;
	}
	close(ep[0]);
	err[elen] = 0;
	if (!exited) {
		set_why(c, _("the monitor did not start within %d s"), SPAWN_TIMEOUT_MS / 1000);
		return false;
	}
	if (gone)
		return true;
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (code == 0 || code == pd_status_exit_code(PD_E_TEMPFAIL))
		return true;
	/* the last line it said, e.g. "provdesk: serve: ..." */
	while (elen && (err[elen - 1] == '\n' || err[elen - 1] == '\r'))
		err[--elen] = 0;
	char *last = strrchr(err, '\n');
	last = last ? last + 1 : err;
	clean_text(last);
	if (*last)
		set_why(c, _("monitor not started: %.200s"), last);
	else
		set_why(c, _("monitor not started (exit %d)"), code);
	return false;
}

/* ---- the connection ---- */

static int try_connect(pd_serve_client *c)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(c->sock) >= sizeof sa.sun_path)
		return -1;
	memcpy(sa.sun_path, c->sock, strlen(c->sock) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
		return fd;
	int err = errno;
	close(fd);
	errno = err;
	return -1;
}

static void send_hello(pd_serve_client *c)
{
	json_t *h = json_pack("{s:s, s:i, s:s, s:b}", "t", "hello", "v", PD_SERVE_PROTO, "client",
	                      c->kind, "live", c->live_mode);
	size_t n = 0;
	char *line = pd_sp_encode(h, &n);
	json_decref(h);
	if (line)
		out_append(c, line, n);
	free(line);
}

/* One attempt; false when not connected (next_try set). */
static bool connect_once(pd_serve_client *c)
{
	int fd = try_connect(c);
	if (fd < 0 && (errno == ENOENT || errno == ECONNREFUSED)) {
		if (!c->autostart) {
			pthread_mutex_lock(&c->mu);
			c->no_daemon = true;
			if (!c->attaches)
				snprintf(c->why, sizeof c->why, "%s", _("no monitor running"));
			pthread_cond_broadcast(&c->cv);
			pthread_mutex_unlock(&c->mu);
		} else if (spawn_daemon(c)) {
			pthread_mutex_lock(&c->mu);
			if (!c->attaches)
				c->spawned = true;
			pthread_mutex_unlock(&c->mu);
			fd = try_connect(c);
		} else {
			/* it could not start (a bad configuration, …): the reason
			 * stays shown, and it is tried again less often */
			c->bo.cap_ms = RETRY_FAIL_CAP_MS;
		}
	}
	if (fd < 0) {
		c->next_try = pd_live_now_ms() + pd_backoff_next(&c->bo);
		mark_lost(c, c->next_try);
		return false;
	}
	c->fd = fd;
	c->state = C_HELLO;
	c->state_since = pd_live_now_ms();
	send_hello(c);
	return true;
}

static struct sync_ent *sync_slot(pd_serve_client *c, int64_t cid, bool add)
{
	for (size_t i = 0; i < c->n_syncs; i++)
		if (c->syncs[i].cid == cid)
			return &c->syncs[i];
	if (!add)
		return NULL;
	if (c->n_syncs == c->cap_syncs) {
		c->cap_syncs = c->cap_syncs ? c->cap_syncs * 2 : 16;
		c->syncs = xrealloc(c->syncs, c->cap_syncs * sizeof *c->syncs);
	}
	struct sync_ent *s = &c->syncs[c->n_syncs++];
	memset(s, 0, sizeof *s);
	s->cid = cid;
	return s;
}

static void on_reply(pd_serve_client *c, json_t *m)
{
	json_int_t id = json_integer_value(json_object_get(m, "id"));
	pthread_mutex_lock(&c->mu);
	for (struct req **pp = &c->reqs; *pp; pp = &(*pp)->next) {
		struct req *r = *pp;
		if (r->id != id || !r->sent)
			continue;
		if (!r->want_reply) {
			*pp = r->next;
			free(r->line);
			free(r);
			break;
		}
		r->done = true;
		if (json_is_true(json_object_get(m, "ok"))) {
			r->st = PD_OK;
			r->reply = json_incref(m);
		} else {
			r->st = status_of(json_string_value(json_object_get(m, "status")));
			const char *msg = json_string_value(json_object_get(m, "message"));
			snprintf(r->msg, sizeof r->msg, "%s",
			         msg ? pd_tr(msg) : pd_status_message(r->st));
			clean_text(r->msg);
		}
		pthread_cond_broadcast(&c->cv);
		break;
	}
	pthread_mutex_unlock(&c->mu);
}

/* A view without data of a link that is not monitoring (a daemon that has
 * just started dials again) while the mirror holds that customer's last
 * data, stale: keep the data and take the state only. */
static bool keep_stale(pd_serve_client *c, const pd_live_view *v)
{
	bool on_the_way = pd_link_state_retries(v->link) || v->link == PD_LINK_CONNECTING ||
	                  v->link == PD_LINK_LOGGING_IN || v->link == PD_LINK_DISCOVERING;
	if (!on_the_way)
		return false;
	if (v->n_users || v->n_calls || v->n_agents)
		return false;
	pd_live_summary s;
	if (!pd_live_summary_get(c->live, v->customer_id, &s) || !s.stale)
		return false;
	pd_live_view old;
	if (pd_live_snapshot(c->live, v->customer_id, &old) != PD_OK)
		return false;
	bool data = old.n_users || old.n_calls || old.n_agents;
	pd_live_free_view(&old);
	return data;
}

/* One message; false closes the connection (why set). */
static bool on_msg(pd_serve_client *c, json_t *m, char *why, size_t whyn)
{
	const char *t = json_string_value(json_object_get(m, "t"));
	pd_err e;
	pd_err_clear(&e);
	if (!strcmp(t, "error")) {
		const char *code = json_string_value(json_object_get(m, "code"));
		const char *msg = json_string_value(json_object_get(m, "message"));
		snprintf(why, whyn, _("the monitor refused this client: %s%s%s"),
		         code ? code : "error", msg ? ": " : "", msg ? pd_tr(msg) : "");
		clean_text(why);
		/* a version or a permission does not change by retrying soon */
		c->bo.cap_ms = RETRY_FAIL_CAP_MS;
		return false;
	}
	if (c->state == C_HELLO) {
		if (strcmp(t, "hello")) {
			pd_snprintf(why, whyn, _("the monitor spoke before its hello (\"%.40s\")"),
			            t);
			clean_text(why);
			return false;
		}
		json_int_t v = json_integer_value(json_object_get(m, "v"));
		if (v != PD_SERVE_PROTO) {
			snprintf(
			    why, whyn,
			    _("the monitor speaks protocol version %lld, this program %d: restart "
			      "it with this version (provdesk serve --stop)"),
			    (long long)v, PD_SERVE_PROTO);
			c->bo.cap_ms = RETRY_FAIL_CAP_MS;
			return false;
		}
		int64_t pid = json_integer_value(json_object_get(m, "pid"));
		pthread_mutex_lock(&c->mu);
		if (pid != c->pid) /* a new daemon counts its syncs from 1 again */
			c->n_syncs = 0;
		c->pid = pid;
		c->no_daemon = false;
		c->rw = json_is_true(json_object_get(m, "rw"));
		if (!c->live_mode) {
			c->attached = true;
			c->attaches++;
			c->why[0] = 0;
			pthread_cond_broadcast(&c->cv);
		}
		pthread_mutex_unlock(&c->mu);
		c->state = c->live_mode ? C_SNAPSHOT : C_LIVE;
		c->state_since = pd_live_now_ms();
		c->n_seen = 0;
		if (!c->live_mode) {
			pd_backoff_reset(&c->bo);
			c->bo.cap_ms = RETRY_CAP_MS;
		}
		wake_thread(c); /* requests waiting for the hello go out */
		return true;
	}
	if (!strcmp(t, "reply")) {
		on_reply(c, m);
		return true;
	}
	if (!strcmp(t, "view")) {
		pd_live_view v;
		memset(&v, 0, sizeof v);
		if (pd_sp_view_from_json(m, &v, &e) != PD_OK) {
			pd_snprintf(why, whyn, _("bad view from the monitor: %.200s"), e.message);
			return false;
		}
		if (c->live) {
			int64_t cid = v.customer_id;
			if (keep_stale(c, &v))
				/* a new daemon's link on its way up, no data yet: the
				 * last known data stays, stale, with its state */
				pd_live_set_link(c->live, cid, v.link, v.sync_done, v.sync_total,
				                 v.retry_at_ms, v.last_error);
			else
				pd_live_put(c->live, &v);
			ids_add(&c->known, &c->n_known, &c->cap_known, cid);
			if (c->state == C_SNAPSHOT)
				ids_add(&c->seen, &c->n_seen, &c->cap_seen, cid);
		}
		pd_live_free_view(&v);
		return true;
	}
	if (!strcmp(t, "gone")) {
		json_t *cj = json_object_get(m, "customer");
		if (!json_is_integer(cj)) {
			snprintf(why, whyn, "%s", _("bad \"gone\" from the monitor: customer"));
			return false;
		}
		int64_t cid = json_integer_value(cj);
		if (c->live)
			pd_live_remove(c->live, cid);
		ids_del(c->known, &c->n_known, cid);
		ids_del(c->seen, &c->n_seen, cid);
		return true;
	}
	if (!strcmp(t, "sync")) {
		int64_t cid = 0, seq = 0;
		pd_sync_result r;
		memset(&r, 0, sizeof r);
		if (pd_sp_sync_from_json(m, &cid, &seq, &r, &e) != PD_OK) {
			pd_snprintf(why, whyn, _("bad sync from the monitor: %.200s"), e.message);
			return false;
		}
		pthread_mutex_lock(&c->mu);
		struct sync_ent *s = sync_slot(c, cid, true);
		s->seq = seq;
		s->r = r;
		if (!s->first_seq) {
			s->first_seq = seq;
			s->first_r = r;
		}
		pthread_cond_broadcast(&c->cv);
		pthread_mutex_unlock(&c->mu);
		return true;
	}
	if (!strcmp(t, "snapshot_end") && c->state == C_SNAPSHOT) {
		/* customers of the last daemon that this one does not know */
		for (size_t i = 0; i < c->n_known;) {
			bool f;
			ids_find(c->seen, c->n_seen, c->known[i], &f);
			if (f) {
				i++;
				continue;
			}
			if (c->live)
				pd_live_remove(c->live, c->known[i]);
			memmove(c->known + i, c->known + i + 1,
			        (c->n_known - i - 1) * sizeof *c->known);
			c->n_known--;
		}
		c->n_seen = 0;
		c->state = C_LIVE;
		pd_backoff_reset(&c->bo);
		c->bo.cap_ms = RETRY_CAP_MS;
		pthread_mutex_lock(&c->mu);
		c->attached = true;
		c->attaches++;
		c->why[0] = 0;
		pthread_cond_broadcast(&c->cv);
		pthread_mutex_unlock(&c->mu);
		return true;
	}
	return true; /* a newer daemon's message this client does not know */
}

/* Reads what the socket has; false when the connection is to be closed. */
static bool read_some(pd_serve_client *c, char *why, size_t whyn)
{
	for (int turns = 0; turns < 64; turns++) {
		ssize_t r = read(c->fd, c->rbuf, READ_CHUNK);
		if (r == 0) {
			snprintf(why, whyn, "%s", _(PD_SERVE_LOST_TEXT));
			return false;
		}
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return true;
			snprintf(why, whyn, "%s", _(PD_SERVE_LOST_TEXT));
			return false;
		}
		pd_err e;
		pd_err_clear(&e);
		if (pd_sp_reader_feed(&c->rd, c->rbuf, (size_t)r, &e) != PD_OK) {
			pd_snprintf(why, whyn, _("the monitor sent a line too long: %.200s"),
			            e.message);
			return false;
		}
		for (;;) {
			json_t *m = NULL;
			int k = pd_sp_reader_next(&c->rd, &m, &e);
			if (k == 0)
				break;
			if (k < 0) {
				pd_snprintf(why, whyn, _("bad message from the monitor: %.200s"),
				            e.message);
				return false;
			}
			bool ok = on_msg(c, m, why, whyn);
			json_decref(m);
			if (!ok)
				return false;
		}
	}
	return true;
}

static bool write_some(pd_serve_client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK;
		}
		c->out_off += (size_t)w;
	}
	c->out_off = c->out_len = 0;
	return true;
}

/* Requests queued by the callers go out once the hello is in. */
static void queue_requests(pd_serve_client *c)
{
	pthread_mutex_lock(&c->mu);
	for (struct req *r = c->reqs; r; r = r->next)
		if (!r->sent) {
			out_append(c, r->line, r->len);
			r->sent = true;
		}
	pthread_mutex_unlock(&c->mu);
}

static void *client_main(void *arg)
{
	pd_serve_client *c = arg;
	pd_thread_name("pd-serve-client");
	char why[300];
	for (;;) {
		pthread_mutex_lock(&c->mu);
		bool stop = c->stop;
		pthread_mutex_unlock(&c->mu);
		if (stop)
			break;
		int64_t now = pd_live_now_ms();
		if (c->fd < 0 && now >= c->next_try && !connect_once(c))
			continue;
		struct pollfd pf[2] = {{.fd = c->wake[0], .events = POLLIN}, {.fd = -1}};
		int npf = 1, timeout = -1;
		if (c->fd >= 0) {
			if (c->state != C_HELLO)
				queue_requests(c);
			pf[1] = (struct pollfd){
			    .fd = c->fd,
			    .events = (short)(POLLIN | (c->out_off < c->out_len ? POLLOUT : 0))};
			npf = 2;
			if (c->state == C_HELLO) {
				int64_t left = c->state_since + HELLO_TIMEOUT_MS - now;
				timeout = left < 0 ? 0 : (int)left;
			}
		} else {
			int64_t left = c->next_try - now;
			timeout = left < 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
		}
		int n = poll(pf, (nfds_t)npf, timeout);
		if (n < 0 && errno != EINTR)
			break;
		if (pf[0].revents & POLLIN) {
			char b[64];
			while (read(c->wake[0], b, sizeof b) > 0) {
			}
		}
		if (c->fd < 0)
			continue;
		why[0] = 0;
		bool ok = true;
		if (pf[1].revents & (POLLIN | POLLHUP | POLLERR))
			ok = read_some(c, why, sizeof why);
		if (ok && c->fd >= 0 && c->state != C_HELLO)
			queue_requests(c);
		if (ok && (c->out_off < c->out_len))
			ok = write_some(c);
		if (!ok) {
			close_conn(c, why[0] ? why : _(PD_SERVE_LOST_TEXT));
		} else if (c->state == C_HELLO &&
		           pd_live_now_ms() - c->state_since >= HELLO_TIMEOUT_MS) {
			close_conn(c, _("the monitor did not answer"));
		}
	}
	return NULL;
}

/* This program, to start the daemon: the path /proc/self/exe names (under
 * valgrind that is the program, not the tool), else /proc/self/exe itself
 * (a binary replaced on disk since: the running one). */
static char *self_exe(void)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
	if (n <= 0 || (size_t)n >= sizeof buf - 1)
		return xstrdup("/proc/self/exe");
	buf[n] = 0;
	static const char deleted[] = " (deleted)";
	size_t dl = sizeof deleted - 1;
	if ((size_t)n > dl && !strcmp(buf + n - dl, deleted))
		return xstrdup("/proc/self/exe");
	return xstrdup(buf);
}

/* ---- the API ---- */

pd_status pd_serve_client_start(const pd_serve_client_opts *o, pd_live *live, pd_serve_client **out,
                                pd_err *e)
{
	*out = NULL;
	if (!o || !o->db_path || !*o->db_path)
		return pd_fail(e, PD_E_USAGE, "db_path", _("no database: no monitor to attach to"));
	char *sock = pd_serve_socket_path(o->db_path, e);
	if (!sock)
		return e && e->status ? e->status : PD_E_IO;
	pd_serve_client *c = xcalloc(1, sizeof *c);
	c->sock = sock;
	/* the daemon detaches (its working folder is not ours): an absolute path */
	char *real = realpath(o->db_path, NULL);
	c->db = real ? real : xstrdup(o->db_path);
	c->config = o->config_path ? xstrdup(o->config_path) : NULL;
	c->kind = xstrdup(o->kind ? o->kind : "cli");
	c->exe = o->exe ? xstrdup(o->exe) : self_exe();
	c->live_mode = o->live && live;
	c->autostart = o->autostart;
	c->live = live;
	c->fd = -1;
	c->next_id = 1;
	snprintf(c->why, sizeof c->why, "%s", _("connecting to the monitor"));
	c->rbuf = xmalloc(READ_CHUNK);
	pd_sp_reader_init(&c->rd, PD_SERVE_MAX_MSG);
	pd_backoff_init(&c->bo, RETRY_MIN_MS, RETRY_CAP_MS, 0);
	pthread_mutex_init(&c->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pipe2(c->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		pd_fail(e, PD_E_IO, NULL, _("monitor client: pipe: %s"), strerror(errno));
		c->wake[0] = c->wake[1] = -1;
		pd_serve_client_stop(c);
		return PD_E_IO;
	}
	/* the thread takes no signal: the console's handlers run on its thread */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int rc = pthread_create(&c->th, NULL, client_main, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		pd_fail(e, PD_E_INTERNAL, NULL, _("monitor client: thread: %s"), strerror(rc));
		close(c->wake[0]);
		close(c->wake[1]);
		c->wake[0] = c->wake[1] = -1;
		pd_serve_client_stop(c);
		return PD_E_INTERNAL;
	}
	c->th_started = true;
	*out = c;
	return PD_OK;
}

bool pd_serve_client_attached(pd_serve_client *c)
{
	if (!c)
		return false;
	pthread_mutex_lock(&c->mu);
	bool a = c->attached;
	pthread_mutex_unlock(&c->mu);
	return a;
}

bool pd_serve_client_writable(pd_serve_client *c)
{
	if (!c)
		return false;
	pthread_mutex_lock(&c->mu);
	bool w = c->attached && c->rw;
	pthread_mutex_unlock(&c->mu);
	return w;
}

static struct timespec deadline_ts(int64_t deadline_ms)
{
	struct timespec ts;
	ts.tv_sec = (time_t)(deadline_ms / 1000);
	ts.tv_nsec = (long)(deadline_ms % 1000) * 1000000L;
	return ts;
}

pd_status pd_serve_client_wait(pd_serve_client *c, int timeout_ms, pd_err *e)
{
	if (!c)
		return pd_fail(e, PD_E_UNAVAILABLE, NULL, "%s", _("no monitor running"));
	int64_t deadline = pd_live_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	struct timespec ts = deadline_ts(deadline);
	pthread_mutex_lock(&c->mu);
	while (!c->attached && !(c->no_daemon && !c->autostart) && pd_live_now_ms() < deadline)
		pthread_cond_timedwait(&c->cv, &c->mu, &ts);
	bool a = c->attached;
	char why[256];
	pd_utf8_copys(why, sizeof why, c->why);
	pthread_mutex_unlock(&c->mu);
	if (a)
		return PD_OK;
	return pd_fail(e, PD_E_UNAVAILABLE, NULL, "%s",
	               why[0] ? why : _("no answer from the monitor"));
}

void pd_serve_client_error(pd_serve_client *c, char *buf, size_t n)
{
	if (!n)
		return;
	buf[0] = 0;
	if (!c)
		return;
	pthread_mutex_lock(&c->mu);
	if (!c->attached)
		pd_utf8_copys(buf, n, c->why[0] ? c->why : _("connecting to the monitor"));
	pthread_mutex_unlock(&c->mu);
}

int64_t pd_serve_client_daemon_pid(pd_serve_client *c)
{
	if (!c)
		return 0;
	pthread_mutex_lock(&c->mu);
	int64_t p = c->attached ? c->pid : 0;
	pthread_mutex_unlock(&c->mu);
	return p;
}

bool pd_serve_client_spawned(pd_serve_client *c)
{
	if (!c)
		return false;
	pthread_mutex_lock(&c->mu);
	bool sp = c->spawned;
	pthread_mutex_unlock(&c->mu);
	return sp;
}

int64_t pd_serve_client_attaches(pd_serve_client *c)
{
	if (!c)
		return 0;
	pthread_mutex_lock(&c->mu);
	int64_t n = c->attaches;
	pthread_mutex_unlock(&c->mu);
	return n;
}

/* Queues a request (the thread sends it once attached); NULL when it cannot
 * be encoded. */
static struct req *req_add(pd_serve_client *c, const char *op, json_t *args, bool want_reply)
{
	json_t *m = json_object();
	if (args && json_is_object(args))
		json_object_update(m, args);
	pthread_mutex_lock(&c->mu);
	int64_t id = c->next_id++;
	pthread_mutex_unlock(&c->mu);
	json_object_set_new(m, "t", json_string("req"));
	json_object_set_new(m, "id", json_integer(id));
	json_object_set_new(m, "op", json_string(op));
	size_t n = 0;
	char *line = pd_sp_encode(m, &n);
	json_decref(m);
	if (!line || n > PD_SERVE_MAX_REQ) {
		free(line);
		return NULL;
	}
	struct req *r = xcalloc(1, sizeof *r);
	r->id = id;
	r->line = line;
	r->len = n;
	r->want_reply = want_reply;
	pthread_mutex_lock(&c->mu);
	struct req **pp = &c->reqs; /* in order */
	while (*pp)
		pp = &(*pp)->next;
	*pp = r;
	pthread_mutex_unlock(&c->mu);
	wake_thread(c);
	return r;
}

pd_status pd_serve_client_request(pd_serve_client *c, const char *op, json_t *args, json_t **reply,
                                  int timeout_ms, pd_err *e)
{
	if (reply)
		*reply = NULL;
	if (!c)
		return pd_fail(e, PD_E_UNAVAILABLE, NULL, "%s", _("no monitor running"));
	struct req *r = req_add(c, op, args, true);
	if (!r)
		return pd_fail(e, PD_E_USAGE, "request", _("request \"%s\" too long"), op);
	int64_t deadline = pd_live_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	struct timespec ts = deadline_ts(deadline);
	pthread_mutex_lock(&c->mu);
	while (!r->done && !(c->no_daemon && !c->autostart && !c->attached) &&
	       pd_live_now_ms() < deadline)
		pthread_cond_timedwait(&c->cv, &c->mu, &ts);
	/* out of the list: the thread no longer sees it */
	for (struct req **pp = &c->reqs; *pp; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	bool done = r->done;
	bool no_daemon = c->no_daemon && !c->attached;
	pthread_mutex_unlock(&c->mu);
	pd_status st;
	if (!done)
		st = pd_fail(e, PD_E_UNAVAILABLE, NULL, "%s",
		             no_daemon ? _("no monitor running") : _("no answer from the monitor"));
	else if (r->st != PD_OK)
		st = pd_fail(e, r->st, NULL, "%s", r->msg);
	else {
		st = PD_OK;
		if (reply)
			*reply = r->reply;
		else
			json_decref(r->reply);
		r->reply = NULL;
	}
	json_decref(r->reply);
	free(r->line);
	free(r);
	return st;
}

void pd_serve_client_send(pd_serve_client *c, const char *op, json_t *args)
{
	if (c)
		req_add(c, op, args, false);
}

void pd_serve_client_resync(pd_serve_client *c, int64_t cid)
{
	if (!c)
		return;
	json_t *a = json_pack("{s:I}", "customer", (json_int_t)cid);
	req_add(c, "resync", a, false);
	json_decref(a);
}

bool pd_serve_client_resync_cancel(pd_serve_client *c, int64_t cid, int64_t seq)
{
	if (!c)
		return false;
	json_t *a = json_pack("{s:I, s:I}", "customer", (json_int_t)cid, "seq", (json_int_t)seq);
	json_t *rep = NULL;
	pd_err e;
	pd_err_clear(&e);
	pd_status st = pd_serve_client_request(c, "resync_cancel", a, &rep, 3000, &e);
	json_decref(a);
	bool cancelled = st == PD_OK && json_is_true(json_object_get(rep, "cancelled"));
	json_decref(rep);
	return cancelled;
}

/* The last or the first sync seen for a customer from the current daemon. */
static bool sync_get(pd_serve_client *c, int64_t cid, bool first, pd_sync_result *r, int64_t *seq)
{
	if (!c)
		return false;
	pthread_mutex_lock(&c->mu);
	struct sync_ent *s = sync_slot(c, cid, false);
	if (s) {
		if (r)
			*r = first ? s->first_r : s->r;
		if (seq)
			*seq = first ? s->first_seq : s->seq;
	}
	pthread_mutex_unlock(&c->mu);
	return s != NULL;
}

bool pd_serve_client_last_sync(pd_serve_client *c, int64_t cid, pd_sync_result *r, int64_t *seq)
{
	return sync_get(c, cid, false, r, seq);
}

bool pd_serve_client_first_sync(pd_serve_client *c, int64_t cid, pd_sync_result *r, int64_t *seq)
{
	return sync_get(c, cid, true, r, seq);
}

void pd_serve_client_stop(pd_serve_client *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->mu);
	c->stop = true;
	pthread_mutex_unlock(&c->mu);
	if (c->th_started) {
		wake_thread(c);
		pthread_join(c->th, NULL);
	}
	if (c->fd >= 0)
		close(c->fd);
	if (c->wake[0] >= 0)
		close(c->wake[0]);
	if (c->wake[1] >= 0)
		close(c->wake[1]);
	while (c->reqs) {
		struct req *r = c->reqs;
		c->reqs = r->next;
		json_decref(r->reply);
		free(r->line);
		free(r);
	}
	pd_sp_reader_free(&c->rd);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	free(c->syncs);
	free(c->known);
	free(c->seen);
	free(c->out);
	free(c->rbuf);
	free(c->db);
	free(c->config);
	free(c->kind);
	free(c->exe);
	free(c->sock);
	free(c);
}

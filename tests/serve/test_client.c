/* The client of `provdesk serve` (src/serve/client.c) against a peer that
 * speaks the wire line by line from the test, so that every case of the
 * daemon's side is exact: the mirror of a snapshot and its deltas, a daemon
 * lost (links "monitor lost, restarting", data kept and stale) and a fresh
 * snapshot after the reconnection, requests and refusals by id, a too long
 * line, a version mismatch, no daemon without autostart, and a daemon that
 * cannot start. The end-to-end runs with the real daemon are
 * tests/ui/serve_*.sh and tests/cli/serve_*.sh. */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "provdesk/serve.h"
#include "provdesk/serve_client.h"
#include "testlib.h"

#define WAIT_MS (10000 * tl_slow())

typedef struct {
	char *dir, *db, *sock;
	int lfd; /* listening */
	int fd;  /* the client, accepted */
	char buf[1 << 16];
	size_t len;
} peer;

static void peer_open(peer *p)
{
	memset(p, 0, sizeof *p);
	p->dir = tl_tmpdir("pd-client");
	size_t n = strlen(p->dir) + 16;
	p->db = malloc(n);
	snprintf(p->db, n, "%s/p.db", p->dir);
	FILE *f = fopen(p->db, "w");
	cr_assert(f);
	fclose(f);
	pd_err e;
	pd_err_clear(&e);
	p->sock = pd_serve_socket_path(p->db, &e);
	cr_assert(p->sock, "%s", e.message);
	p->fd = -1;
	p->lfd = -1;
}

static void peer_listen(peer *p)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", p->sock);
	unlink(p->sock);
	p->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(p->lfd >= 0);
	cr_assert_eq(bind(p->lfd, (struct sockaddr *)&sa, sizeof sa), 0, "%s", strerror(errno));
	cr_assert_eq(listen(p->lfd, 8), 0);
}

/* Accepts the client and reads its hello (asserted). */
static json_t *peer_line(peer *p);
static void peer_drop(peer *p);
static void peer_accept(peer *p, const char *kind)
{
	peer_drop(p);
	struct pollfd pf = {.fd = p->lfd, .events = POLLIN};
	cr_assert_eq(poll(&pf, 1, WAIT_MS), 1, "the client did not connect");
	p->fd = accept4(p->lfd, NULL, NULL, SOCK_CLOEXEC);
	cr_assert(p->fd >= 0);
	p->len = 0;
	json_t *h = peer_line(p);
	cr_assert_str_eq(json_string_value(json_object_get(h, "t")), "hello");
	cr_assert_eq(json_integer_value(json_object_get(h, "v")), PD_SERVE_PROTO);
	cr_assert_str_eq(json_string_value(json_object_get(h, "client")), kind);
	json_decref(h);
}

/* The next line from the client, as JSON. */
static json_t *peer_line(peer *p)
{
	for (;;) {
		char *nl = memchr(p->buf, '\n', p->len);
		if (nl) {
			json_error_t je;
			json_t *m = json_loadb(p->buf, (size_t)(nl - p->buf), 0, &je);
			cr_assert(m, "client sent bad JSON: %s", je.text);
			size_t used = (size_t)(nl - p->buf) + 1;
			memmove(p->buf, p->buf + used, p->len - used);
			p->len -= used;
			return m;
		}
		struct pollfd pf = {.fd = p->fd, .events = POLLIN};
		cr_assert_eq(poll(&pf, 1, WAIT_MS), 1, "no line from the client");
		ssize_t r = read(p->fd, p->buf + p->len, sizeof p->buf - p->len);
		cr_assert(r > 0, "the client closed");
		p->len += (size_t)r;
	}
}

static void peer_send(peer *p, json_t *m)
{
	size_t n = 0;
	char *line = pd_sp_encode(m, &n);
	json_decref(m);
	cr_assert(line);
	size_t off = 0;
	while (off < n) {
		ssize_t w = send(p->fd, line + off, n - off, MSG_NOSIGNAL);
		cr_assert(w > 0, "%s", strerror(errno));
		off += (size_t)w;
	}
	free(line);
}

static void peer_hello(peer *p, int pid, bool rw)
{
	peer_send(p, json_pack("{s:s, s:i, s:i, s:b, s:i}", "t", "hello", "v", PD_SERVE_PROTO,
	                       "pid", pid, "rw", rw, "since", 1));
}

static void peer_view(peer *p, int64_t cid, pd_link_state st, const char *user)
{
	pd_live_view v = {.customer_id = cid, .link = st, .link_since_ms = pd_live_now_ms()};
	if (user) {
		v.n_users = 1;
		v.users = calloc(1, sizeof *v.users);
		v.users[0] = (pd_live_user){strdup(user), strdup("Name"), NULL, strdup("In use")};
	}
	peer_send(p, pd_sp_view_to_json(&v));
	pd_live_free_view(&v);
}

static void peer_drop(peer *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}

static void peer_close(peer *p)
{
	peer_drop(p);
	if (p->lfd >= 0)
		close(p->lfd);
	unlink(p->sock);
	tl_rmrf(p->dir);
	free(p->dir);
	free(p->db);
	free(p->sock);
}

/* Polls cond for up to WAIT_MS. */
#define EVENTUALLY(cond)                                                                           \
	do {                                                                                       \
		int64_t dl_ = pd_live_now_ms() + WAIT_MS;                                          \
		while (!(cond) && pd_live_now_ms() < dl_)                                          \
			poll(NULL, 0, 10);                                                         \
		cr_assert(cond, "timed out: %s", #cond);                                           \
	} while (0)

static pd_serve_client *start(peer *p, pd_live *live, bool autostart, const char *exe)
{
	pd_serve_client_opts o = {.db_path = p->db,
	                          .kind = "console",
	                          .live = live != NULL,
	                          .autostart = autostart,
	                          .exe = exe};
	pd_serve_client *c = NULL;
	pd_err e;
	pd_err_clear(&e);
	cr_assert_eq(pd_serve_client_start(&o, live, &c, &e), PD_OK, "%s", e.message);
	return c;
}

static bool link_is(pd_live *l, int64_t cid, pd_link_state st)
{
	pd_live_summary s;
	return pd_live_summary_get(l, cid, &s) && s.link == st;
}

Test(serve_client, mirrors_snapshot_deltas_and_syncs)
{
	peer p;
	peer_open(&p);
	peer_listen(&p);
	pd_live *live = pd_live_new();
	pd_serve_client *c = start(&p, live, false, NULL);
	peer_accept(&p, "console");
	peer_hello(&p, 4242, true);
	peer_view(&p, 1, PD_LINK_MONITORING, "1001");
	peer_view(&p, 2, PD_LINK_RETRYING, NULL);
	peer_send(&p, json_pack("{s:s}", "t", "snapshot_end"));
	pd_err e;
	pd_err_clear(&e);
	cr_assert_eq(pd_serve_client_wait(c, WAIT_MS, &e), PD_OK, "%s", e.message);
	cr_assert(pd_serve_client_writable(c));
	cr_assert_eq(pd_serve_client_daemon_pid(c), 4242);
	cr_assert(link_is(live, 1, PD_LINK_MONITORING));
	cr_assert(link_is(live, 2, PD_LINK_RETRYING));
	char why[100];
	pd_serve_client_error(c, why, sizeof why);
	cr_assert_str_eq(why, "");
	/* deltas in order: a gone customer, a sync result */
	peer_send(&p, json_pack("{s:s, s:i}", "t", "gone", "customer", 2));
	pd_sync_result r = {.added = 3, .updated = 1, .linked = 2};
	peer_send(&p, pd_sp_sync_to_json(1, 7, &r));
	pd_live_summary s;
	EVENTUALLY(!pd_live_summary_get(live, 2, &s));
	pd_sync_result got;
	int64_t seq = 0;
	EVENTUALLY(pd_serve_client_last_sync(c, 1, &got, &seq));
	cr_assert_eq(seq, 7);
	cr_assert_eq(got.added, 3);
	cr_assert_eq(got.linked, 2);
	cr_assert(!pd_serve_client_last_sync(c, 2, &got, &seq));
	pd_serve_client_stop(c);
	pd_live_free(live);
	peer_close(&p);
}

Test(serve_client, lost_daemon_keeps_data_stale_then_fresh_snapshot)
{
	peer p;
	peer_open(&p);
	peer_listen(&p);
	pd_live *live = pd_live_new();
	pd_serve_client *c = start(&p, live, false, NULL);
	peer_accept(&p, "console");
	peer_hello(&p, 100, true);
	peer_view(&p, 1, PD_LINK_MONITORING, "1001");
	peer_view(&p, 2, PD_LINK_MONITORING, "2001");
	peer_send(&p, json_pack("{s:s}", "t", "snapshot_end"));
	pd_err e;
	cr_assert_eq(pd_serve_client_wait(c, WAIT_MS, &e), PD_OK);
	cr_assert_eq(pd_serve_client_attaches(c), 1);
	/* kill -9 of the daemon: EOF */
	peer_drop(&p);
	EVENTUALLY(link_is(live, 1, PD_LINK_RETRYING) && link_is(live, 2, PD_LINK_RETRYING));
	pd_live_view v;
	cr_assert_eq(pd_live_snapshot(live, 1, &v), PD_OK);
	cr_assert_str_eq(v.last_error, PD_SERVE_LOST_TEXT);
	cr_assert_eq(v.n_users, 1, "the last data is kept");
	cr_assert(v.stale, "and marked stale");
	cr_assert(v.down_since_ms > 0);
	pd_live_free_view(&v);
	cr_assert(!pd_serve_client_attached(c));
	char why[100];
	pd_serve_client_error(c, why, sizeof why);
	cr_assert_str_eq(why, PD_SERVE_LOST_TEXT);
	/* the new daemon: it reconnects and the fresh snapshot is the truth
	 * (customer 2 is not monitored any more) */
	peer_accept(&p, "console");
	peer_hello(&p, 101, true);
	/* its link on the way up, no data yet: the last data stays, stale */
	peer_view(&p, 1, PD_LINK_CONNECTING, NULL);
	peer_send(&p, json_pack("{s:s}", "t", "snapshot_end"));
	EVENTUALLY(pd_serve_client_attaches(c) == 2);
	EVENTUALLY(link_is(live, 1, PD_LINK_CONNECTING));
	cr_assert_eq(pd_live_snapshot(live, 1, &v), PD_OK);
	cr_assert_eq(v.n_users, 1);
	cr_assert(v.stale);
	cr_assert_str_eq(v.last_error, "");
	pd_live_free_view(&v);
	peer_view(&p, 1, PD_LINK_MONITORING, "1002");
	EVENTUALLY(link_is(live, 1, PD_LINK_MONITORING));
	cr_assert_eq(pd_serve_client_daemon_pid(c), 101);
	cr_assert(link_is(live, 1, PD_LINK_MONITORING));
	pd_live_summary s;
	cr_assert(!pd_live_summary_get(live, 2, &s), "customer 2 left with the old daemon");
	cr_assert_eq(pd_live_snapshot(live, 1, &v), PD_OK);
	cr_assert(!v.stale);
	cr_assert_str_eq(v.users[0].endpoint, "1002");
	pd_live_free_view(&v);
	pd_serve_client_stop(c);
	pd_live_free(live);
	peer_close(&p);
}

Test(serve_client, requests_match_replies_by_id)
{
	peer p;
	peer_open(&p);
	peer_listen(&p);
	pd_serve_client *c = start(&p, NULL, false, NULL);
	peer_accept(&p, "console");
	peer_hello(&p, 7, false);
	pd_err e;
	cr_assert_eq(pd_serve_client_wait(c, WAIT_MS, &e), PD_OK, "not live: attached at hello");
	cr_assert(!pd_serve_client_writable(c));
	/* a request from another thread would block: send, answer, then wait */
	pd_serve_client_send(c, "outbox_send", NULL);
	json_t *m = peer_line(&p);
	cr_assert_str_eq(json_string_value(json_object_get(m, "t")), "req");
	cr_assert_str_eq(json_string_value(json_object_get(m, "op")), "outbox_send");
	json_int_t id1 = json_integer_value(json_object_get(m, "id"));
	json_decref(m);
	/* its reply is dropped: nobody waits for it */
	peer_send(&p, json_pack("{s:s, s:I, s:b}", "t", "reply", "id", id1, "ok", 1));
	/* a refused request: the status comes back as the enum */
	pd_serve_client_resync(c, 5);
	m = peer_line(&p);
	cr_assert_str_eq(json_string_value(json_object_get(m, "op")), "resync");
	cr_assert_eq(json_integer_value(json_object_get(m, "customer")), 5);
	cr_assert_gt(json_integer_value(json_object_get(m, "id")), id1);
	json_decref(m);
	pd_serve_client_stop(c);
	peer_close(&p);
}

/* A request waits for its reply: the peer answers from a thread. */
typedef struct {
	peer *p;
	bool ok;
	const char *status;
} answerer;

static void *answer_main(void *arg)
{
	answerer *a = arg;
	json_t *m = peer_line(a->p);
	json_int_t id = json_integer_value(json_object_get(m, "id"));
	json_decref(m);
	if (!a->status && !a->ok) /* the daemon dies before it answers */
		peer_drop(a->p);
	else if (a->ok)
		peer_send(a->p, json_pack("{s:s, s:I, s:b, s:i}", "t", "reply", "id", id, "ok", 1,
		                          "pid", 7));
	else
		peer_send(a->p, json_pack("{s:s, s:I, s:b, s:s, s:s}", "t", "reply", "id", id, "ok",
		                          0, "status", a->status, "message", "read-only client"));
	return NULL;
}

Test(serve_client, request_reply_and_refusal)
{
	peer p;
	peer_open(&p);
	peer_listen(&p);
	pd_serve_client *c = start(&p, NULL, false, NULL);
	peer_accept(&p, "console");
	peer_hello(&p, 7, true);
	pd_err e;
	cr_assert_eq(pd_serve_client_wait(c, WAIT_MS, &e), PD_OK);
	answerer a = {&p, true, NULL};
	pthread_t th;
	pthread_create(&th, NULL, answer_main, &a);
	json_t *rep = NULL;
	cr_assert_eq(pd_serve_client_request(c, "status", NULL, &rep, WAIT_MS, &e), PD_OK, "%s",
	             e.message);
	pthread_join(th, NULL);
	cr_assert_eq(json_integer_value(json_object_get(rep, "pid")), 7);
	json_decref(rep);
	a = (answerer){&p, false, "permission"};
	pthread_create(&th, NULL, answer_main, &a);
	pd_err_clear(&e);
	cr_assert_eq(pd_serve_client_request(c, "resync", NULL, &rep, WAIT_MS, &e), PD_E_AUTH);
	pthread_join(th, NULL);
	cr_assert_str_eq(e.message, "read-only client");
	a = (answerer){&p, false, "config"};
	pthread_create(&th, NULL, answer_main, &a);
	cr_assert_eq(pd_serve_client_request(c, "outbox_send", NULL, &rep, WAIT_MS, &e),
	             PD_E_CONFIG);
	pthread_join(th, NULL);
	/* no answer: the timeout (the line it sent is read and left unanswered) */
	cr_assert_eq(pd_serve_client_request(c, "status", NULL, &rep, 200, &e), PD_E_UNAVAILABLE);
	json_decref(peer_line(&p));
	/* the daemon lost while a request waits: unavailable at once */
	a = (answerer){&p, false, NULL};
	pthread_create(&th, NULL, answer_main, &a);
	int64_t t0 = pd_live_now_ms();
	cr_assert_eq(pd_serve_client_request(c, "status", NULL, &rep, 30000, &e), PD_E_UNAVAILABLE);
	cr_assert_lt(pd_live_now_ms() - t0, 5000);
	cr_assert_str_eq(e.message, PD_SERVE_LOST_TEXT);
	pthread_join(th, NULL);
	pd_serve_client_stop(c);
	peer_close(&p);
}

Test(serve_client, bad_lines_drop_the_connection_only)
{
	peer p;
	peer_open(&p);
	peer_listen(&p);
	pd_live *live = pd_live_new();
	pd_serve_client *c = start(&p, live, false, NULL);
	/* a line that is not a message */
	peer_accept(&p, "console");
	peer_hello(&p, 1, true);
	cr_assert_eq(send(p.fd, "garbage\n", 8, MSG_NOSIGNAL), 8);
	peer_accept(&p, "console"); /* it came back */
	peer_drop(&p);
	/* a view that does not check */
	peer_accept(&p, "console");
	peer_hello(&p, 1, true);
	peer_send(&p, json_pack("{s:s, s:i, s:s}", "t", "view", "customer", 1, "link", "nonsense"));
	peer_accept(&p, "console");
	/* a line longer than PD_SERVE_MAX_MSG */
	peer_hello(&p, 1, true);
	size_t big = PD_SERVE_MAX_MSG + 1024;
	char *junk = malloc(big);
	memset(junk, 'x', big);
	size_t off = 0;
	while (off < big) {
		ssize_t w = send(p.fd, junk + off, big - off, MSG_NOSIGNAL);
		if (w <= 0)
			break; /* the client closed as it should */
		off += (size_t)w;
	}
	free(junk);
	peer_accept(&p, "console");
	/* a daemon speaking another version: a message that says so */
	peer_send(&p, json_pack("{s:s, s:i, s:i, s:b}", "t", "hello", "v", PD_SERVE_PROTO + 1,
	                        "pid", 1, "rw", 1));
	char why[300] = "";
	EVENTUALLY((pd_serve_client_error(c, why, sizeof why), strstr(why, "protocol version")));
	peer_drop(&p);
	pd_serve_client_stop(c);
	pd_live_free(live);
	peer_close(&p);
}

Test(serve_client, no_daemon_without_autostart)
{
	peer p;
	peer_open(&p); /* nothing listens */
	pd_serve_client *c = start(&p, NULL, false, NULL);
	pd_err e;
	pd_err_clear(&e);
	int64_t t0 = pd_live_now_ms();
	cr_assert_eq(pd_serve_client_wait(c, 30000, &e), PD_E_UNAVAILABLE);
	cr_assert_lt(pd_live_now_ms() - t0, 5000, "said at once, not after the timeout");
	cr_assert_str_eq(e.message, "no monitor running");
	json_t *rep = NULL;
	cr_assert_eq(pd_serve_client_request(c, "status", NULL, &rep, 30000, &e), PD_E_UNAVAILABLE);
	pd_serve_client_stop(c);
	peer_close(&p);
}

Test(serve_client, autostart_failure_is_said)
{
	peer p;
	peer_open(&p);
	/* a "daemon" that refuses to start, as a bad configuration would */
	char *exe =
	    tl_write_file(p.dir, "serve.sh",
	                  "#!/bin/sh\necho \"provdesk: c.conf:3: serve.idle_exit: bad\" >&2\n"
	                  "exit 78\n");
	chmod(exe, 0700);
	pd_serve_client *c = start(&p, NULL, true, exe);
	char why[300] = "";
	EVENTUALLY((pd_serve_client_error(c, why, sizeof why), strstr(why, "idle_exit")));
	cr_assert(strstr(why, "monitor not started"), "%s", why);
	pd_serve_client_stop(c);
	free(exe);
	peer_close(&p);
}

Test(serve_client, autostart_then_attach)
{
	peer p;
	peer_open(&p);
	peer_listen(&p); /* the "daemon" the script stands for is this peer */
	unlink(p.sock);  /* … not there until the script ran */
	close(p.lfd);
	char script[1024];
	/* the script records its arguments and exits 75 (another daemon won
	 * the lock): the client then connects */
	snprintf(script, sizeof script, "#!/bin/sh\necho \"$@\" > %s/args\nexit 75\n", p.dir);
	char *exe = tl_write_file(p.dir, "serve.sh", script);
	chmod(exe, 0700);
	pd_serve_client_opts o = {.db_path = p.db,
	                          .config_path = "/etc/x.conf",
	                          .kind = "cli",
	                          .live = false,
	                          .autostart = true,
	                          .exe = exe};
	pd_serve_client *c = NULL;
	pd_err e;
	cr_assert_eq(pd_serve_client_start(&o, NULL, &c, &e), PD_OK);
	char args[1024];
	snprintf(args, sizeof args, "%s/args", p.dir);
	struct stat st;
	EVENTUALLY(stat(args, &st) == 0 && st.st_size > 0);
	size_t n = 0;
	char *a = tl_slurp(args, &n);
	char want[1024];
	snprintf(want, sizeof want, "--db %s --config /etc/x.conf serve --detach --auto\n", p.db);
	cr_assert_str_eq(a, want);
	free(a);
	/* now a daemon listens: the client attaches */
	peer_listen(&p);
	peer_accept(&p, "cli");
	peer_hello(&p, 9, true);
	cr_assert_eq(pd_serve_client_wait(c, WAIT_MS, &e), PD_OK, "%s", e.message);
	pd_serve_client_stop(c);
	free(exe);
	peer_close(&p);
}

/* The daemon of `provdesk serve` (src/serve/server.c), run for real: in
 * this process on a thread (pd_serve_run) or as the built binary, on a real
 * SQLite file in a temp dir, with lab PBXs over real TCP and a real
 * aiosmtpd. Clients are raw sockets speaking the wire of
 * include/provdesk/serve.h, so every reply is checked as bytes on the wire. */
#include "../store/fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "../mail/mail_fixture.h"
#include "provdesk/labpbx.h"
#include "provdesk/live.h"
#include "provdesk/serve.h"
#include "provdesk/serve_server.h"
#include "provdesk/util.h"

#define SECRET "Serve-S3cret"

TestSuite(serve, .init = fx_setup_open, .fini = fx_teardown, .timeout = 120);

/* ---- the lab and the customers ---- */

static pd_labpbx *lab_up(int users)
{
	pd_labpbx_opts o = {.users = users,
	                    .queues = 2,
	                    .username = "admin",
	                    .secret = SECRET,
	                    .ring_ms = 100,
	                    .talk_ms = 300};
	pd_labpbx *l;
	pd_err e = {0};
	cr_assert_eq(labpbx_start(&o, &l, &e), PD_OK, "%s", e.message);
	return l;
}

static void add_pbx(int64_t cid, int port)
{
	fx_add_ami_pbx(cid, port, SECRET);
}

static int64_t customer_on(pd_labpbx *l, const char *name)
{
	int64_t cid = fx_create(name);
	add_pbx(cid, labpbx_port(l));
	return cid;
}

/* ---- the daemon on a thread ---- */

typedef struct {
	pd_serve *s;
	pthread_t th;
	pd_status rc;
	bool running;
} srv_t;

static char conf_path[600];

static void write_conf(const char *text)
{
	snprintf(conf_path, sizeof conf_path, "%s/provdesk.conf", fx_dir);
	mt_write_file(conf_path, text);
}

static void *srv_main(void *arg)
{
	srv_t *v = arg;
	pd_err e = {0};
	v->rc = pd_serve_run(v->s, &e);
	return NULL;
}

static pd_monitor_opts fast_monitor(void)
{
	return (pd_monitor_opts){.ping_interval_s = 1,
	                         .backoff_max_s = 1,
	                         .backoff_min_ms = 100,
	                         .reload_check_ms = 100,
	                         .full_reload_ms = 300};
}

static FILE *serve_log(void)
{
	char *p = xasprintf("%s/serve.log", fx_dir);
	FILE *f = fopen(p, "a");
	free(p);
	cr_assert_not_null(f);
	return f;
}

static FILE *log_f;

static void srv_start_opts(srv_t *v, size_t max_queue, bool auto_exit)
{
	if (!conf_path[0])
		write_conf("[serve]\nresync_interval = 0\n");
	pd_monitor_opts mo = fast_monitor();
	if (!log_f)
		log_f = serve_log();
	pd_serve_opts o = {.db_path = fx_db,
	                   .config_path = conf_path,
	                   .max_queue = max_queue,
	                   .auto_exit = auto_exit,
	                   .monitor = &mo,
	                   .log = log_f};
	pd_err e = {0};
	cr_assert_eq(pd_serve_open(&o, &v->s, &e), PD_OK, "serve: %s", e.message);
	cr_assert_eq(pthread_create(&v->th, NULL, srv_main, v), 0);
	v->running = true;
}

static void srv_start(srv_t *v)
{
	srv_start_opts(v, 0, false);
}

static void srv_stop(srv_t *v)
{
	if (!v->running)
		return;
	pd_serve_stop(v->s);
	pthread_join(v->th, NULL);
	pd_serve_close(v->s);
	v->running = false;
	cr_assert_eq(v->rc, PD_OK);
}

static pd_serve_stats stats(srv_t *v)
{
	pd_serve_stats st;
	pd_serve_get_stats(v->s, &st);
	return st;
}

#define WAIT_FOR(cond, ms, ...) TL_UNTIL(cond, ms, poll(NULL, 0, 20), __VA_ARGS__)

/* ---- a raw client ---- */

typedef struct {
	int fd;
	pd_sp_reader r;
	bool eof;
} tc_t;

static char *sock_path(void)
{
	pd_err e = {0};
	char *p = pd_serve_socket_path(fx_db, &e);
	cr_assert_not_null(p, "%s", e.message);
	return p;
}

static bool tc_try_connect(tc_t *c)
{
	memset(c, 0, sizeof *c);
	pd_sp_reader_init(&c->r, PD_SERVE_MAX_MSG);
	char *p = sock_path();
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", p);
	free(p);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
		return false;
	}
	return true;
}

static void tc_connect(tc_t *c)
{
	cr_assert(tc_try_connect(c), "connect: %s", strerror(errno));
}

static void tc_close(tc_t *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	pd_sp_reader_free(&c->r);
}

static void tc_send(tc_t *c, const char *bytes)
{
	size_t n = strlen(bytes);
	cr_assert_eq(send(c->fd, bytes, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* The next message within ms, NULL at the end of the stream or timeout. */
static json_t *tc_next(tc_t *c, int ms)
{
	int64_t until = pd_live_now_ms() + (int64_t)ms * tl_slow();
	for (;;) {
		json_t *m = NULL;
		pd_err e = {0};
		int k = pd_sp_reader_next(&c->r, &m, &e);
		cr_assert_geq(k, 0, "the daemon sent a bad line: %s", e.message);
		if (k > 0)
			return m;
		if (c->eof)
			return NULL;
		int64_t left = until - pd_live_now_ms();
		if (left <= 0)
			return NULL;
		struct pollfd pf = {.fd = c->fd, .events = POLLIN};
		if (poll(&pf, 1, (int)left) <= 0)
			continue;
		char buf[65536];
		ssize_t n = recv(c->fd, buf, sizeof buf, 0);
		if (n <= 0) {
			c->eof = true;
			continue;
		}
		cr_assert_eq(pd_sp_reader_feed(&c->r, buf, (size_t)n, &e), PD_OK, "%s", e.message);
	}
}

static const char *type_of(json_t *m)
{
	return json_string_value(json_object_get(m, "t"));
}

/* Skips messages until one of type t (and, with cid > 0, for that customer)
 * passing check (may be NULL). */
static json_t *tc_wait(tc_t *c, const char *t, int64_t cid, bool (*check)(json_t *), int ms)
{
	int64_t until = pd_live_now_ms() + (int64_t)ms * tl_slow();
	while (pd_live_now_ms() < until) {
		json_t *m = tc_next(c, (int)((until - pd_live_now_ms()) / tl_slow()) + 1);
		if (!m)
			return NULL;
		if (!strcmp(type_of(m), t) &&
		    (cid <= 0 || json_integer_value(json_object_get(m, "customer")) == cid) &&
		    (!check || check(m)))
			return m;
		json_decref(m);
	}
	return NULL;
}

/* Reads and drops until the daemon closes; false if it did not within ms. */
static bool tc_closed(tc_t *c, int ms)
{
	int64_t until = pd_live_now_ms() + (int64_t)ms * tl_slow();
	while (pd_live_now_ms() < until) {
		json_t *m = tc_next(c, 100);
		json_decref(m);
		if (c->eof && !m)
			return true;
	}
	return false;
}

static json_t *tc_hello(tc_t *c, bool live)
{
	char line[128];
	snprintf(line, sizeof line,
	         "{\"t\":\"hello\",\"v\":%d,\"client\":\"console\",\"live\":%s}\n", PD_SERVE_PROTO,
	         live ? "true" : "false");
	tc_send(c, line);
	json_t *h = tc_next(c, 5000);
	cr_assert_not_null(h, "no hello from the daemon");
	cr_assert_str_eq(type_of(h), "hello");
	cr_assert_eq(json_integer_value(json_object_get(h, "v")), PD_SERVE_PROTO);
	return h;
}

static json_t *tc_request(tc_t *c, int id, const char *op, const char *args)
{
	char line[512];
	snprintf(line, sizeof line, "{\"t\":\"req\",\"id\":%d,\"op\":\"%s\"%s%s}\n", id, op,
	         args ? "," : "", args ? args : "");
	tc_send(c, line);
	int64_t until = pd_live_now_ms() + 5000 * tl_slow();
	while (pd_live_now_ms() < until) {
		json_t *m = tc_next(c, 5000);
		cr_assert_not_null(m, "no reply to %s", op);
		if (!strcmp(type_of(m), "reply") &&
		    json_integer_value(json_object_get(m, "id")) == id)
			return m;
		json_decref(m);
	}
	cr_assert_fail("no reply to %s", op);
	return NULL;
}

static bool is_monitoring(json_t *m)
{
	return json_integer_value(json_object_get(m, "link")) == PD_LINK_MONITORING;
}

static bool has_calls(json_t *m)
{
	return json_array_size(json_object_get(m, "calls")) > 0;
}

/* ---- protocol ---- */

Test(serve, hello_snapshot_then_deltas)
{
	pd_labpbx *l = lab_up(20);
	int64_t cid = customer_on(l, "Snapshot SA");
	srv_t v = {0};
	srv_start(&v);
	tc_t c;
	tc_connect(&c);
	json_t *h = tc_hello(&c, true);
	cr_assert(json_is_true(json_object_get(h, "rw")), "root is read-write");
	cr_assert_eq(json_integer_value(json_object_get(h, "pid")), getpid());
	json_decref(h);
	/* the snapshot: views, then its end; the link is up in it or after */
	bool up = false, end = false;
	while (!end) {
		json_t *m = tc_next(&c, 5000);
		cr_assert_not_null(m, "no snapshot_end");
		end = !strcmp(type_of(m), "snapshot_end");
		up = up || (!strcmp(type_of(m), "view") && is_monitoring(m));
		json_decref(m);
	}
	json_t *m = up ? NULL : tc_wait(&c, "view", cid, is_monitoring, 10000);
	cr_assert(up || m, "the link never showed monitoring");
	json_decref(m);
	labpbx_place_call(l, 0);
	m = tc_wait(&c, "view", cid, has_calls, 10000);
	cr_assert_not_null(m, "the call never reached the client");
	json_decref(m);
	/* a second client's snapshot has the customer as it is now */
	tc_t c2;
	tc_connect(&c2);
	json_decref(tc_hello(&c2, true));
	m = tc_next(&c2, 5000);
	cr_assert_not_null(m);
	cr_assert_str_eq(type_of(m), "view");
	cr_assert_eq(json_integer_value(json_object_get(m, "customer")), cid);
	json_decref(m);
	tc_close(&c);
	tc_close(&c2);
	srv_stop(&v);
	labpbx_stop(l);
}

Test(serve, version_mismatch_is_a_clear_error)
{
	srv_t v = {0};
	srv_start(&v);
	tc_t c;
	tc_connect(&c);
	tc_send(&c, "{\"t\":\"hello\",\"v\":99,\"client\":\"console\",\"live\":true}\n");
	json_t *m = tc_next(&c, 5000);
	cr_assert_not_null(m);
	cr_assert_str_eq(type_of(m), "error");
	cr_assert_str_eq(json_string_value(json_object_get(m, "code")), "version");
	const char *msg = json_string_value(json_object_get(m, "message"));
	cr_assert(strstr(msg, "version 1") && strstr(msg, "99"), "%s", msg);
	json_decref(m);
	cr_assert(tc_closed(&c, 5000), "closed after the error");
	tc_close(&c);
	srv_stop(&v);
}

/* Garbage, a truncated line and an oversized one each close that client;
 * the live client next to them keeps its deltas and its requests. */
Test(serve, bad_input_closes_that_client_only)
{
	pd_labpbx *l = lab_up(10);
	int64_t cid = customer_on(l, "Garbage SARL");
	srv_t v = {0};
	srv_start(&v);
	tc_t good;
	tc_connect(&good);
	json_decref(tc_hello(&good, true));
	json_decref(tc_wait(&good, "view", cid, is_monitoring, 10000));

	static const char *const bad[] = {
	    "}{ not json\n",
	    "[1,2,3]\n",
	    "{\"no_type\":1}\n",
	    "\x01\x02\xff\xfe\n",
	    "{\"t\":\"req\",\"id\":1,\"op\":\"status\"}\n", /* a request before the hello */
	    "{\"t\":\"hello\",\"v\":1,\"client\":\"toaster\",\"live\":true}\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		tc_t b;
		tc_connect(&b);
		tc_send(&b, bad[i]);
		json_t *m = tc_next(&b, 5000);
		cr_assert_not_null(m, "case %zu: no error", i);
		cr_assert_str_eq(type_of(m), "error", "case %zu", i);
		json_decref(m);
		cr_assert(tc_closed(&b, 5000), "case %zu: not closed", i);
		tc_close(&b);
	}
	/* after a good hello: a message that is not a request */
	tc_t b;
	tc_connect(&b);
	json_decref(tc_hello(&b, false));
	tc_send(&b, "{\"t\":\"view\",\"customer\":1}\n");
	cr_assert(tc_closed(&b, 5000));
	tc_close(&b);
	/* oversized: PD_SERVE_MAX_REQ and more without a newline */
	tc_connect(&b);
	size_t big = PD_SERVE_MAX_REQ + 1024;
	char *junk = xmalloc(big + 1);
	memset(junk, 'x', big);
	junk[big] = 0;
	ssize_t w = send(b.fd, junk, big, MSG_NOSIGNAL);
	(void)w; /* the daemon may close before it took it all */
	free(junk);
	cr_assert(tc_closed(&b, 5000), "oversized line: not closed");
	tc_close(&b);
	/* truncated: half a line, then the client goes */
	int64_t before = stats(&v).closed_protocol;
	tc_connect(&b);
	tc_send(&b, "{\"t\":\"hello\",\"v\":1,\"cli");
	tc_close(&b);
	WAIT_FOR(stats(&v).closed_protocol > before, 5000, "truncated line not seen");

	/* the good client still has its deltas and its answers */
	labpbx_place_call(l, 0);
	json_t *m = tc_wait(&good, "view", cid, has_calls, 10000);
	cr_assert_not_null(m, "the good client lost its deltas");
	json_decref(m);
	json_t *r = tc_request(&good, 7, "status", NULL);
	cr_assert(json_is_true(json_object_get(r, "ok")));
	cr_assert_eq(json_integer_value(json_object_get(r, "clients")), 1);
	json_decref(r);
	tc_close(&good);
	srv_stop(&v);
	labpbx_stop(l);
}

static bool calls_differ_from_last(json_t *m)
{
	(void)m;
	return true;
}

/* A client that stops reading is dropped once its queue passes the bound;
 * the reading client's deltas go on meanwhile. */
Test(serve, slow_client_dropped_without_stalling_others)
{
	pd_labpbx *l = lab_up(2000); /* a view of 2,000 users is ~100 KB */
	int64_t cid = customer_on(l, "Slow Reader GmbH");
	srv_t v = {0};
	srv_start_opts(&v, 4 * 1024 * 1024, false);
	tc_t good, lazy;
	tc_connect(&good);
	json_decref(tc_hello(&good, true));
	json_decref(tc_wait(&good, "view", cid, is_monitoring, 20000));
	tc_connect(&lazy);
	tc_send(&lazy, "{\"t\":\"hello\",\"v\":1,\"client\":\"noc\",\"live\":true}\n");
	/* lazy never reads again */
	int64_t until = pd_live_now_ms() + 60000 * tl_slow();
	int got = 0;
	while (stats(&v).dropped_slow == 0) {
		cr_assert_lt(pd_live_now_ms(), until,
		             "the lazy client was never dropped (%d views)", got);
		labpbx_place_call(l, 0);
		json_t *m = tc_wait(&good, "view", cid, calls_differ_from_last, 5000);
		cr_assert_not_null(m, "the reading client stalled after %d views", got);
		json_decref(m);
		got++;
	}
	/* and after the drop, still news */
	labpbx_place_call(l, 1);
	json_t *m = tc_wait(&good, "view", cid, NULL, 10000);
	cr_assert_not_null(m);
	json_decref(m);
	cr_assert(tc_closed(&lazy, 10000), "the lazy client's socket was not closed");
	tc_close(&lazy);
	tc_close(&good);
	srv_stop(&v);
	labpbx_stop(l);
}

Test(serve, requests)
{
	pd_labpbx *l = lab_up(10);
	int64_t cid = customer_on(l, "Requests SAS");
	srv_t v = {0};
	srv_start(&v);
	tc_t c;
	tc_connect(&c);
	json_decref(tc_hello(&c, true));
	/* the first discovery's result, and the link shown monitoring (in either
	 * order): a resync asked while the link is still shown discovering is
	 * answered by that discovery (test_monitor_fake), not by a new one */
	int64_t seq1 = -1;
	bool up = false;
	int64_t until = pd_live_now_ms() + 10000 * tl_slow();
	while ((seq1 < 0 || !up) && pd_live_now_ms() < until) {
		json_t *m = tc_next(&c, 200);
		if (!m)
			continue;
		if (!strcmp(type_of(m), "sync") &&
		    json_integer_value(json_object_get(m, "customer")) == cid)
			seq1 = json_integer_value(json_object_get(m, "seq"));
		up = up || (!strcmp(type_of(m), "view") &&
		            json_integer_value(json_object_get(m, "customer")) == cid &&
		            is_monitoring(m));
		json_decref(m);
	}
	cr_assert_geq(seq1, 0, "no sync result after discovery");
	cr_assert(up, "the link was never shown monitoring");

	char args[64];
	snprintf(args, sizeof args, "\"customer\":%lld", (long long)cid);
	json_t *r = tc_request(&c, 1, "resync", args);
	cr_assert(json_is_true(json_object_get(r, "ok")));
	cr_assert_eq(json_integer_value(json_object_get(r, "seq")), seq1);
	json_decref(r);
	json_t *s2 = tc_wait(&c, "sync", cid, NULL, 10000);
	cr_assert_not_null(s2, "the resync asked gave no sync result");
	cr_assert_gt(json_integer_value(json_object_get(s2, "seq")), seq1);
	json_decref(s2);
	/* a cancel after the sync was written: nothing to cancel */
	snprintf(args, sizeof args, "\"customer\":%lld,\"seq\":%lld", (long long)cid,
	         (long long)seq1);
	r = tc_request(&c, 2, "resync_cancel", args);
	cr_assert(json_is_true(json_object_get(r, "ok")));
	cr_assert(json_is_false(json_object_get(r, "cancelled")));
	json_decref(r);

	r = tc_request(&c, 3, "outbox_send", NULL);
	cr_assert(json_is_false(json_object_get(r, "ok")), "no SMTP configured");
	cr_assert_str_eq(json_string_value(json_object_get(r, "status")), "config");
	json_decref(r);
	r = tc_request(&c, 4, "reboot", NULL);
	cr_assert_str_eq(json_string_value(json_object_get(r, "status")), "usage");
	json_decref(r);
	r = tc_request(&c, 5, "resync", "\"customer\":\"one\"");
	cr_assert_str_eq(json_string_value(json_object_get(r, "status")), "usage");
	json_decref(r);
	r = tc_request(&c, 6, "status", NULL);
	cr_assert(json_is_true(json_object_get(r, "ok")));
	cr_assert_eq(json_integer_value(json_object_get(r, "pid")), getpid());
	cr_assert_eq(json_integer_value(json_object_get(r, "links")), 1);
	json_decref(r);
	tc_close(&c);
	srv_stop(&v);
	labpbx_stop(l);
}

/* ---- one link per PBX ---- */

Test(serve, one_login_per_pbx_whatever_the_clients)
{
	pd_labpbx *labs[3];
	int64_t cids[3];
	for (int i = 0; i < 3; i++) {
		labs[i] = lab_up(10);
		char name[32];
		snprintf(name, sizeof name, "Shared Link %d", i);
		cids[i] = customer_on(labs[i], name);
	}
	srv_t v = {0};
	srv_start(&v);
	tc_t c[5];
	for (int k = 0; k < 5; k++) {
		tc_connect(&c[k]);
		json_decref(tc_hello(&c[k], true));
	}
	for (int k = 0; k < 5; k++) {
		bool up[3] = {false, false, false};
		while (!up[0] || !up[1] || !up[2]) {
			json_t *m = tc_wait(&c[k], "view", 0, is_monitoring, 15000);
			cr_assert_not_null(m, "client %d: PBX up: %d %d %d", k, up[0], up[1],
			                   up[2]);
			int64_t id = json_integer_value(json_object_get(m, "customer"));
			for (int i = 0; i < 3; i++)
				up[i] = up[i] || id == cids[i];
			json_decref(m);
		}
	}
	/* more clients come and go (a `pbx status` loop) */
	for (int k = 0; k < 10; k++) {
		tc_t q;
		tc_connect(&q);
		json_decref(tc_hello(&q, false));
		json_decref(tc_request(&q, 1, "status", NULL));
		tc_close(&q);
	}
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(labpbx_logins(labs[i]), 1, "PBX %d: %lld logins", i,
		             (long long)labpbx_logins(labs[i]));
		cr_assert_eq(labpbx_sessions(labs[i]), 1);
	}
	for (int k = 0; k < 5; k++)
		tc_close(&c[k]);
	srv_stop(&v);
	/* stopping closes every link, each with a goodbye */
	for (int i = 0; i < 3; i++) {
		WAIT_FOR(labpbx_sessions(labs[i]) == 0, 5000, "PBX %d still has a session", i);
		WAIT_FOR(labpbx_logoffs(labs[i]) == 1, 5000, "PBX %d got no Logoff", i);
		labpbx_stop(labs[i]);
	}
}

/* ---- one daemon per database ---- */

Test(serve, second_daemon_refused_naming_the_pid)
{
	srv_t v = {0};
	srv_start(&v);
	pd_serve_opts o = {.db_path = fx_db, .config_path = conf_path, .log = log_f};
	pd_serve *s2 = NULL;
	pd_err e = {0};
	cr_assert_eq(pd_serve_open(&o, &s2, &e), PD_E_TEMPFAIL);
	char want[32];
	snprintf(want, sizeof want, "pid %ld", (long)getpid());
	cr_assert(strstr(e.message, want), "%s", e.message);
	pid_t pid = 0;
	cr_assert_eq(pd_serve_running(fx_db, &pid, &e), PD_OK);
	cr_assert_eq(pid, getpid());
	srv_stop(&v);
	cr_assert_eq(pd_serve_running(fx_db, &pid, &e), PD_E_UNAVAILABLE);
	char *sp = sock_path();
	cr_assert_neq(access(sp, F_OK), 0, "the socket is removed at the stop");
	free(sp);
}

/* ---- the configuration ---- */

Test(serve, sighup_reload_keeps_a_good_config_and_refuses_a_bad_one)
{
	write_conf("[serve]\nresync_interval = 0\n");
	srv_t v = {0};
	srv_start(&v);
	write_conf("[serve]\nresync_interval = 1\n");
	pd_serve_reload(v.s);
	WAIT_FOR(stats(&v).reloads == 1, 5000, "not reloaded");
	/* the new interval is in force: a scheduled round comes by itself */
	WAIT_FOR(stats(&v).scheduled_resyncs >= 1, 5000, "no scheduled resync after the reload");
	write_conf("[serve]\nresync_interval = soon\n");
	pd_serve_reload(v.s);
	tc_t c;
	tc_connect(&c); /* the loop went past the reload */
	json_decref(tc_hello(&c, false));
	json_t *r = tc_request(&c, 1, "status", NULL);
	cr_assert_eq(json_integer_value(json_object_get(r, "resync_interval")), 1,
	             "the bad configuration was not refused");
	json_decref(r);
	cr_assert_eq(stats(&v).reloads, 1);
	tc_close(&c);
	srv_stop(&v);
	char *logp = xasprintf("%s/serve.log", fx_dir);
	fflush(log_f);
	char *text = tl_slurp(logp, NULL);
	cr_assert(text && strstr(text, "reload refused") && strstr(text, "resync_interval"), "%s",
	          text ? text : "(no log)");
	free(text);
	free(logp);
}

Test(serve, scheduled_resync_with_no_request)
{
	write_conf("[serve]\nresync_interval = 1\n");
	pd_labpbx *l = lab_up(10);
	int64_t cid = customer_on(l, "Hourly SA");
	srv_t v = {0};
	srv_start(&v);
	tc_t c;
	tc_connect(&c);
	json_decref(tc_hello(&c, true));
	/* the first sync is the connection's own; a later one comes by the schedule */
	int64_t seq = 0;
	int64_t until = pd_live_now_ms() + 20000 * tl_slow();
	while (seq < 3) {
		cr_assert_lt(pd_live_now_ms(), until, "only %lld syncs", (long long)seq);
		json_t *m = tc_wait(&c, "sync", cid, NULL, 10000);
		cr_assert_not_null(m, "no sync after %lld", (long long)seq);
		seq = json_integer_value(json_object_get(m, "seq"));
		json_decref(m);
	}
	cr_assert_geq(stats(&v).scheduled_resyncs, 2);
	cr_assert_eq(labpbx_logins(l), 1, "a resync uses the open link");
	tc_close(&c);
	srv_stop(&v);
	labpbx_stop(l);
}

static bool is_trial_expired(json_t *m)
{
	const char *err = json_string_value(json_object_get(m, "last_error"));
	return json_integer_value(json_object_get(m, "link")) == PD_LINK_DISABLED && err &&
	       strstr(err, "trial expired");
}

/* The day a trial ends, the daemon stops its monitoring with no console
 * open (the monitor re-reads the customers' status; pd_today moves). */
Test(serve, trial_expiry_on_its_day_without_a_console)
{
	setenv("PROVDESK_TODAY", "2026-11-10", 1);
	pd_labpbx *l = lab_up(10);
	pd_new_customer n;
	fx_new(&n, "Trial Ends Today", NULL);
	n.trial_days = 1; /* its last day is today, 2026-11-10 */
	pd_customer cu = {0};
	pd_err e = {0};
	cr_assert_eq(store_customer_create(fx_s, &n, &fx_alice, &cu, &e), PD_OK, "%s", e.message);
	int64_t cid = cu.id;
	pd_customer_free(&cu);
	pd_new_customer_free(&n);
	add_pbx(cid, labpbx_port(l));
	srv_t v = {0};
	srv_start(&v);
	tc_t c;
	tc_connect(&c);
	json_decref(tc_hello(&c, true));
	json_decref(tc_wait(&c, "view", cid, is_monitoring, 10000));
	setenv("PROVDESK_TODAY", "2026-11-11", 1); /* midnight passes */
	json_t *m = tc_wait(&c, "view", cid, is_trial_expired, 10000);
	cr_assert_not_null(m, "the expired trial is still monitored");
	json_decref(m);
	WAIT_FOR(labpbx_sessions(l) == 0, 5000, "the link stayed open");
	tc_close(&c);
	srv_stop(&v);
	labpbx_stop(l);
	setenv("PROVDESK_TODAY", "2026-11-10", 1);
}

Test(serve, auto_exits_when_idle)
{
	write_conf("[serve]\nresync_interval = 0\nidle_exit = 1\n");
	srv_t v = {0};
	srv_start_opts(&v, 0, true);
	tc_t c;
	tc_connect(&c);
	json_decref(tc_hello(&c, false));
	/* attached: it stays */
	poll(NULL, 0, 1500);
	json_t *r = tc_request(&c, 1, "status", NULL);
	cr_assert(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	tc_close(&c);
	/* the loop ends by itself a second after the last client left */
	int64_t until = pd_live_now_ms() + 10000 * tl_slow();
	while (pthread_tryjoin_np(v.th, NULL) != 0) {
		cr_assert_lt(pd_live_now_ms(), until, "still running while idle");
		poll(NULL, 0, 50);
	}
	pd_serve_close(v.s);
	v.running = false;
	cr_assert_eq(v.rc, PD_OK);
}

/* ---- who may attach ---- */

static uid_t nobody_uid(gid_t *gid)
{
	struct passwd *pw = getpwnam("nobody");
	if (!pw)
		return (uid_t)-1;
	*gid = pw->pw_gid;
	return pw->pw_uid;
}

/* In a child that became `nobody` (no Criterion assertion here: plain
 * reads with a deadline): connect, hello, then a resync request and a
 * status request. Exit codes: 10 cannot connect, 11 refused with
 * "permission", 12 read-only (resync refused as "auth", status answered),
 * 13 read-write, 20 anything else, 30 cannot become nobody. */
static json_t *child_next(int fd, pd_sp_reader *r)
{
	for (int turns = 0; turns < 100; turns++) {
		json_t *m = NULL;
		pd_err e = {0};
		int k = pd_sp_reader_next(r, &m, &e);
		if (k)
			return k > 0 ? m : NULL;
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		if (poll(&pf, 1, 100) <= 0)
			continue;
		char buf[65536];
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		if (n <= 0 || pd_sp_reader_feed(r, buf, (size_t)n, &e) != PD_OK)
			return NULL;
	}
	return NULL;
}

static bool child_send(int fd, const char *line)
{
	return send(fd, line, strlen(line), MSG_NOSIGNAL) == (ssize_t)strlen(line);
}

static int as_nobody(uid_t uid, gid_t gid)
{
	alarm(30); /* whatever happens, the child ends */
	if (setgroups(0, NULL) != 0 || setgid(gid) != 0 || setuid(uid) != 0)
		return 30;
	char *p = sock_path();
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", p);
	free(p);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
		return 10;
	pd_sp_reader r;
	pd_sp_reader_init(&r, PD_SERVE_MAX_MSG);
	if (!child_send(fd, "{\"t\":\"hello\",\"v\":1,\"client\":\"noc\",\"live\":false}\n"))
		return 20;
	json_t *h = child_next(fd, &r);
	if (!h)
		return 20;
	if (!strcmp(type_of(h), "error"))
		return strcmp(json_string_value(json_object_get(h, "code")), "permission") ? 20
		                                                                           : 11;
	bool rw = json_is_true(json_object_get(h, "rw"));
	json_decref(h);
	if (rw)
		return 13;
	if (!child_send(fd, "{\"t\":\"req\",\"id\":1,\"op\":\"resync\",\"customer\":1}\n"
	                    "{\"t\":\"req\",\"id\":2,\"op\":\"status\"}\n"))
		return 20;
	json_t *a = child_next(fd, &r), *b = child_next(fd, &r);
	const char *st = a ? json_string_value(json_object_get(a, "status")) : NULL;
	bool refused = a && json_is_false(json_object_get(a, "ok")) && st && !strcmp(st, "auth");
	bool status_ok = b && json_is_true(json_object_get(b, "ok"));
	json_decref(a);
	json_decref(b);
	return refused && status_ok ? 12 : 20;
}

static int run_as_nobody(uid_t uid, gid_t gid)
{
	fflush(NULL);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		_exit(as_nobody(uid, gid));
	int st = 0;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(serve, permissions_follow_the_database)
{
	if (geteuid() != 0) {
		cr_skip_test("needs root (to become nobody): the permission checks are not run");
		return;
	}
	gid_t gid;
	uid_t uid = nobody_uid(&gid);
	if (uid == (uid_t)-1) {
		cr_skip_test("no user 'nobody' on this machine");
		return;
	}
	/* nobody may reach the socket's directory, and read the database */
	char sub[600];
	snprintf(sub, sizeof sub, "%s/sub", fx_dir);
	cr_assert_eq(chmod(fx_dir, 0711), 0);
	cr_assert_eq(chmod(sub, 0711), 0);
	cr_assert_eq(chmod(fx_db, 0644), 0);
	srv_t v = {0};
	srv_start(&v);
	/* read-only: attaches, may ask the status, may not command */
	cr_assert_eq(run_as_nobody(uid, gid), 12);
	/* no read access any more: refused by its credentials */
	cr_assert_eq(chmod(fx_db, 0600), 0);
	int got = run_as_nobody(uid, gid);
	cr_assert_eq(got, 11, "got %d", got);
	cr_assert_geq(stats(&v).refused, 1);
	/* others' write access: read-write */
	cr_assert_eq(chmod(fx_db, 0606), 0);
	cr_assert_eq(run_as_nobody(uid, gid), 13);
	srv_stop(&v);
	cr_assert_eq(chmod(fx_db, 0600), 0);
}

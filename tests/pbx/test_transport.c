/* The PBX transport (src/pbx/transport.c) over real loopback TCP, with a
 * small server driven in the same poll loop: connect refused, connect then
 * write and read both ways, TLS against a self-signed certificate (private
 * CA, verify on and off, a refused certificate), a name that does not
 * resolve, the peer closing, a step timeout; a busy link's reads on a thread
 * of their own (in order, EOF after the last byte, writes meanwhile, a
 * close mid-stream, back to the driver's turn once quiet, the cap); a send
 * failing inside on_data, reported after it;
 * backoff and keep-alive timing; the driver registry. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "provdesk/catalogue.h"
#include "provdesk/i18n.h"
#include "provdesk/live.h"
#include "provdesk/pbx_driver.h"
#include "provdesk/pbx_transport.h"
#include "testlib.h"

/* ---- what the transport told the "driver" ---- */

typedef struct {
	int opened, failed;
	pd_tport_fail what;
	char why[400];
	pd_buf in;
	size_t stop_after; /* on_data returns false once this much came (0: never) */
	/* break_send: the next on_data shuts the socket's sending side (fd),
	 * then sends and flushes on t as a driver answering would, and only
	 * then takes the bytes */
	pd_tport *t;
	int fd;
	bool break_send, in_data;
	int failed_in_data, sends_broken;
} rec;

static void r_open(void *ctx)
{
	((rec *)ctx)->opened++;
}

static bool r_data(void *ctx, char *buf, size_t n)
{
	rec *r = ctx;
	r->in_data = true;
	if (r->break_send) {
		r->break_send = false;
		r->sends_broken++;
		cr_assert_eq(shutdown(r->fd, SHUT_WR), 0);
		pd_tport_send(r->t, "Action: Ping\r\n\r\n", 16);
		pd_tport_flush(r->t); /* EPIPE */
		pd_tport_send(r->t, "Action: Ping\r\n\r\n", 16);
		pd_tport_flush(r->t);
	}
	pd_buf_addn(&r->in, buf, n); /* still ours (ASan sees a freed one) */
	r->in_data = false;
	return !r->stop_after || r->in.len < r->stop_after;
}

static void r_fail(void *ctx, pd_tport_fail what, const char *why)
{
	rec *r = ctx;
	r->failed++;
	r->failed_in_data += r->in_data;
	r->what = what;
	pd_msg_text(why, r->why, sizeof r->why); /* as a reader shows it */
}

/* ---- a one-connection server (plain or TLS) ---- */

typedef struct {
	int lfd, fd;
	pd_tls_server *tls;
	pd_tls *s;
	bool hs_done;
	bool silent; /* accept, never answer (the TLS handshake then times out) */
	pd_buf in;
	const char *reply; /* written once the handshake (if any) is done */
	bool replied;
} server;

static int listen_any(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	cr_assert_eq(listen(fd, 4), 0);
	return fd;
}

static int port_of(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof a;
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	return ntohs(a.sin_port);
}

static void srv_start(server *s, pd_tls_server *tls)
{
	memset(s, 0, sizeof *s);
	s->lfd = listen_any();
	s->fd = -1;
	s->tls = tls;
}

static void srv_stop(server *s)
{
	pd_tls_free(s->s);
	if (s->fd >= 0)
		close(s->fd);
	close(s->lfd);
	pd_buf_free(&s->in);
}

static int srv_pollfd(const server *s, struct pollfd *p)
{
	if (s->fd < 0) {
		*p = (struct pollfd){.fd = s->lfd, .events = POLLIN};
		return 1;
	}
	if (s->silent)
		return 0;
	short ev = POLLIN;
	if (s->s && pd_tls_wants_write(s->s))
		ev |= POLLOUT;
	*p = (struct pollfd){.fd = s->fd, .events = ev};
	return 1;
}

static void srv_write(server *s, const char *text)
{
	size_t n = strlen(text), off = 0;
	int64_t until = pd_live_now_ms() + 5000;
	while (off < n && pd_live_now_ms() < until) {
		ssize_t w = s->s ? pd_tls_write(s->s, text + off, n - off)
		                 : send(s->fd, text + off, n - off, MSG_NOSIGNAL);
		if (w > 0)
			off += (size_t)w;
	}
	cr_assert_eq(off, n, "server write");
}

static void srv_io(server *s, const struct pollfd *p)
{
	if (!p->revents)
		return;
	if (s->fd < 0) {
		s->fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		cr_assert_geq(s->fd, 0);
		if (s->tls)
			cr_assert_not_null(s->s = pd_tls_accept_new(s->tls, s->fd));
		else
			s->hs_done = true;
		return;
	}
	if (s->s && !s->hs_done) {
		char why[256];
		int h = pd_tls_handshake(s->s, why, sizeof why);
		if (h < 0) { /* the client refused us: close */
			pd_tls_free(s->s);
			s->s = NULL;
			close(s->fd);
			s->fd = -1;
			s->silent = true;
			return;
		}
		if (h == 0)
			return;
		s->hs_done = true;
	}
	char buf[4096];
	for (;;) {
		ssize_t r =
		    s->s ? pd_tls_read(s->s, buf, sizeof buf) : recv(s->fd, buf, sizeof buf, 0);
		if (r <= 0)
			break;
		pd_buf_addn(&s->in, buf, (size_t)r);
	}
}

/* One loop turn over the transport and the server. */
static void step(pd_tport *t, server *s, int ms)
{
	struct pollfd pf[3];
	int n = pd_tport_pollfds(t, pf, 2);
	int ns = s ? srv_pollfd(s, &pf[n]) : 0;
	int64_t now = pd_live_now_ms(), dl = pd_tport_next_deadline(t);
	int wait = ms;
	if (dl != INT64_MAX && dl - now < wait)
		wait = dl - now < 0 ? 0 : (int)(dl - now);
	poll(pf, (nfds_t)(n + ns), wait);
	now = pd_live_now_ms();
	for (int i = 0; i < n; i++)
		pd_tport_on_io(t, &pf[i], now);
	if (ns)
		srv_io(s, &pf[n]);
	if (s && s->hs_done && s->reply && !s->replied && s->fd >= 0) {
		s->replied = true;
		srv_write(s, s->reply);
	}
	if (pd_tport_next_deadline(t) <= now)
		pd_tport_on_timer(t, now);
}

#define RUN_UNTIL(t, s, cond, ms)                                                                  \
	TL_UNTIL(cond, ms, step((t), (s), 20), "timed out waiting for " #cond)

static pd_tport *tp_new(rec *r, const char *host, int port, bool tls, bool verify, const char *ca,
                        int step_ms)
{
	memset(r, 0, sizeof *r);
	return pd_tport_new(
	    &(pd_tport_conf){.host = host,
	                     .port = port,
	                     .tls = tls,
	                     .tls_verify = verify,
	                     .tls_ca_file = ca,
	                     .step_timeout_ms = step_ms},
	    &(pd_tport_cb){.ctx = r, .on_open = r_open, .on_data = r_data, .on_fail = r_fail});
}

/* ---- plain TCP ---- */

Test(transport, connect_refused_reports_connect_and_closes)
{
	int lfd = listen_any();
	int port = port_of(lfd);
	close(lfd); /* nobody listens there now */
	rec r;
	pd_tport *t = tp_new(&r, "127.0.0.1", port, false, false, NULL, 0);
	pd_tport_open(t, pd_live_now_ms());
	RUN_UNTIL(t, NULL, r.failed, 3000);
	cr_assert_eq(r.what, PD_TPORT_E_CONNECT);
	cr_assert(strstr(r.why, "TCP connect to 127.0.0.1:"), "%s", r.why);
	cr_assert(strstr(r.why, "Connection refused"), "%s", r.why);
	cr_assert_eq(r.opened, 0);
	cr_assert_eq(pd_tport_get_phase(t), PD_TPORT_CLOSED);
	struct pollfd p[2];
	cr_assert_eq(pd_tport_pollfds(t, p, 2), 0, "nothing to poll once failed");
	cr_assert_eq(pd_tport_next_deadline(t), INT64_MAX);
	pd_tport_free(t);
	pd_buf_free(&r.in);
}

Test(transport, connect_then_write_and_read_both_ways)
{
	server s;
	srv_start(&s, NULL);
	s.reply = "banner from the PBX\r\n";
	rec r;
	pd_tport *t = tp_new(&r, "127.0.0.1", port_of(s.lfd), false, false, NULL, 0);
	pd_tport_open(t, pd_live_now_ms());
	cr_assert(pd_tport_get_phase(t) == PD_TPORT_CONNECTING ||
	          pd_tport_get_phase(t) == PD_TPORT_OPEN);
	RUN_UNTIL(t, &s, r.opened == 1, 3000);
	cr_assert_eq(pd_tport_get_phase(t), PD_TPORT_OPEN);
	/* queued, then written as the socket takes it */
	pd_tport_send(t, "Action: Ping\r\n", 14);
	pd_tport_send(t, "\r\n", 2);
	cr_assert_eq(pd_tport_queued(t), 16);
	pd_tport_flush(t);
	RUN_UNTIL(t, &s, s.in.len == 16, 3000);
	cr_assert_eq(memcmp(s.in.s, "Action: Ping\r\n\r\n", 16), 0);
	cr_assert_eq(pd_tport_queued(t), 0);
	/* the commands leave as written, never held for the PBX's ack (Nagle) */
	struct pollfd pf[2];
	cr_assert_eq(pd_tport_pollfds(t, pf, 2), 1);
	int nodelay = 0;
	socklen_t len = sizeof nodelay;
	cr_assert_eq(getsockopt(pf[0].fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, &len), 0);
	cr_assert_eq(nodelay, 1, "TCP_NODELAY is not set");
	RUN_UNTIL(t, &s, r.in.len == strlen(s.reply), 3000);
	cr_assert_eq(memcmp(r.in.s, s.reply, r.in.len), 0);
	/* a large write goes out whole through POLLOUT turns */
	size_t big = 4u << 20;
	char *blob = malloc(big);
	memset(blob, 'x', big);
	pd_tport_send(t, blob, big);
	free(blob);
	pd_tport_flush(t);
	RUN_UNTIL(t, &s, s.in.len == 16 + big, 10000);
	cr_assert_eq(pd_tport_queued(t), 0);
	cr_assert_eq(r.failed, 0);
	pd_tport_free(t);
	srv_stop(&s);
	pd_buf_free(&r.in);
}

Test(transport, peer_close_is_eof_and_a_reopen_works)
{
	server s;
	srv_start(&s, NULL);
	rec r;
	pd_tport *t = tp_new(&r, "127.0.0.1", port_of(s.lfd), false, false, NULL, 0);
	pd_tport_open(t, pd_live_now_ms());
	RUN_UNTIL(t, &s, r.opened == 1 && s.fd >= 0, 3000);
	srv_write(&s, "last words");
	close(s.fd);
	s.fd = -1;
	RUN_UNTIL(t, &s, r.failed == 1, 3000);
	cr_assert_eq(r.what, PD_TPORT_E_EOF);
	cr_assert_str_eq(r.why, "connection closed by the PBX");
	cr_assert_eq(r.in.len, 10, "the bytes before the close are delivered");
	cr_assert_eq(pd_tport_get_phase(t), PD_TPORT_CLOSED);
	/* the same transport dials again */
	pd_tport_open(t, pd_live_now_ms());
	RUN_UNTIL(t, &s, r.opened == 2, 3000);
	pd_tport_free(t);
	srv_stop(&s);
	pd_buf_free(&r.in);
}

/* on_data returning false stops reading for this turn; the rest comes in
 * the next turns, nothing lost. */
Test(transport, on_data_false_stops_the_turn_without_loss)
{
	server s;
	srv_start(&s, NULL);
	rec r;
	pd_tport *t = tp_new(&r, "127.0.0.1", port_of(s.lfd), false, false, NULL, 0);
	pd_tport_open(t, pd_live_now_ms());
	RUN_UNTIL(t, &s, r.opened == 1 && s.fd >= 0, 3000);
	r.stop_after = 1;
	size_t n = 300000;
	char *blob = malloc(n + 1);
	memset(blob, 'y', n);
	blob[n] = '\0';
	srv_write(&s, blob);
	free(blob);
	RUN_UNTIL(t, &s, r.in.len == n, 5000);
	cr_assert_eq(r.failed, 0);
	pd_tport_free(t);
	srv_stop(&s);
	pd_buf_free(&r.in);
}

/* ---- a busy link: reads on a thread of their own ---- */

/* Byte i of the test stream: not periodic within a read, so a lost,
 * repeated or reordered buffer shows. */
static char pattern_at(size_t i)
{
	return (char)((i * 7u + i / 251u + i / 65521u) & 0xff);
}

/* Writes n pattern bytes from `from` on the server's socket from a thread
 * of its own (the loop's thread may not read while a large write waits),
 * then, when eof, closes its sending side. Stops when the peer is gone. */
typedef struct {
	int fd;
	size_t from, n;
	bool eof;
	pthread_t th;
} pump;

static void *pump_main(void *arg)
{
	pump *p = arg;
	char buf[65536];
	for (size_t off = 0; off < p->n;) {
		size_t k = p->n - off < sizeof buf ? p->n - off : sizeof buf;
		for (size_t i = 0; i < k; i++)
			buf[i] = pattern_at(p->from + off + i);
		size_t done = 0;
		while (done < k) {
			ssize_t w = send(p->fd, buf + done, k - done, MSG_NOSIGNAL);
			if (w > 0) {
				done += (size_t)w;
				continue;
			}
			if (w < 0 && errno != EAGAIN && errno != EINTR)
				return NULL; /* the client closed */
			struct pollfd pf = {.fd = p->fd, .events = POLLOUT};
			poll(&pf, 1, 100);
		}
		off += k;
	}
	if (p->eof)
		shutdown(p->fd, SHUT_WR);
	return NULL;
}

static void pump_start(pump *p, int fd, size_t from, size_t n, bool eof)
{
	*p = (pump){.fd = fd, .from = from, .n = n, .eof = eof};
	cr_assert_eq(pthread_create(&p->th, NULL, pump_main, p), 0);
}

static bool is_pattern(const pd_buf *b, size_t from)
{
	for (size_t i = 0; i < b->len; i++)
		if (b->s[i] != pattern_at(from + i))
			return false;
	return true;
}

/* Steps until cond or the deadline; *apart: a turn saw the reads apart. */
#define RUN_APART(t, s, cond, ms, apart)                                                           \
	do {                                                                                       \
		int64_t until_ = pd_live_now_ms() + (int64_t)(ms)*tl_slow();                       \
		while (!(cond) && pd_live_now_ms() < until_) {                                     \
			step((t), (s), 20);                                                        \
			*(apart) |= pd_tport_reading_apart(t);                                     \
		}                                                                                  \
		cr_assert(cond, "timed out waiting for " #cond);                                   \
	} while (0)

static pd_tport *open_plain(rec *r, server *s)
{
	srv_start(s, NULL);
	pd_tport *t = tp_new(r, "127.0.0.1", port_of(s->lfd), false, false, NULL, 0);
	pd_tport_open(t, pd_live_now_ms());
	RUN_UNTIL(t, s, r->opened == 1 && s->fd >= 0, 3000);
	return t;
}

/* What the reader tests end with: the bytes in order, no failure (EOF
 * aside, which the caller checks), everything freed. */
static void done_plain(pd_tport *t, server *s, rec *r, bool eof)
{
	cr_assert(is_pattern(&r->in, 0), "bytes lost, repeated or out of order");
	if (!eof)
		cr_assert_eq(r->failed, 0, "%s", r->why);
	pd_tport_free(t);
	srv_stop(s);
	pd_buf_free(&r->in);
}

/* n bytes streamed to EOF with at most max readers (0: none), every
 * link busy from its first byte: every byte in order, then EOF (after the
 * last byte, as direct reads report it); apart: a reader took the reads,
 * and it is gone with the connection. */
static void stream_to_eof(int max, size_t n, bool apart_expected)
{
	pd_tport_set_reader(0, max);
	server s;
	rec r;
	pd_tport *t = open_plain(&r, &s);
	pump p;
	pump_start(&p, s.fd, 0, n, true);
	bool apart = false;
	RUN_APART(t, &s, r.failed == 1, 20000, &apart);
	pthread_join(p.th, NULL);
	cr_assert_eq(apart, apart_expected, "read apart: %d", apart);
	cr_assert_eq(r.what, PD_TPORT_E_EOF, "%s", r.why);
	cr_assert_str_eq(r.why, "connection closed by the PBX");
	cr_assert_eq(r.in.len, n, "got %zu of %zu bytes before EOF", r.in.len, n);
	cr_assert_eq(pd_tport_readers(), 0);
	cr_assert_not(pd_tport_reading_apart(t));
	done_plain(t, &s, &r, true);
}

Test(transport, a_busy_link_reads_apart_in_order_then_eof)
{
	stream_to_eof(-1, 8u << 20, true);
}

/* Threads of this process named name (/proc/self/task/N/comm). */
static int threads_named(const char *name)
{
	DIR *d = opendir("/proc/self/task");
	cr_assert_not_null(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char path[300];
		snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
		char *comm = tl_slurp(path, NULL);
		if (comm) {
			comm[strcspn(comm, "\n")] = 0;
			n += !strcmp(comm, name);
			free(comm);
		}
	}
	closedir(d);
	return n;
}

/* While a reader runs, the driver still writes (the socket polled for
 * POLLOUT), on_data returning false loses nothing, and a close in the
 * middle of a stream stops and joins the reader, whose CPU time is then
 * counted (the benchmarks' figure). */
Test(transport, a_busy_link_writes_and_closes_mid_stream)
{
	pd_tport_set_reader(0, -1);
	uint64_t cpu0 = pd_tport_readers_cpu_ns();
	server s;
	rec r;
	pd_tport *t = open_plain(&r, &s);
	pump p;
	pump_start(&p, s.fd, 0, 256u << 20, false);
	bool apart = false;
	RUN_APART(t, &s, apart, 10000, &apart);
	r.stop_after = 1; /* from now on every on_data ends its turn */
	size_t had = r.in.len;
	RUN_UNTIL(t, &s, r.in.len >= had + (2u << 20), 10000);
	pd_tport_send(t, "Action: Ping\r\n\r\n", 16);
	pd_tport_flush(t);
	RUN_UNTIL(t, &s, s.in.len == 16, 5000);
	cr_assert_eq(memcmp(s.in.s, "Action: Ping\r\n\r\n", 16), 0);
	cr_assert_eq(pd_tport_readers(), 1);
	cr_assert_eq(threads_named("pd-link-read"), 1, "top -H shows the reader by name");
	cr_assert_eq(pd_tport_readers_cpu_ns(), cpu0, "counted when a reader ends");
	pd_tport_close(t); /* the pump is still writing */
	cr_assert_eq(pd_tport_readers(), 0);
	cr_assert_eq(threads_named("pd-link-read"), 0);
	cr_assert_gt(pd_tport_readers_cpu_ns(), cpu0, "the reader read 2 MiB in no CPU time");
	cr_assert_eq(pd_tport_get_phase(t), PD_TPORT_CLOSED);
	struct pollfd pf[2];
	cr_assert_eq(pd_tport_pollfds(t, pf, 2), 0);
	pthread_join(p.th, NULL);     /* it sees the connection gone */
	done_plain(t, &s, &r, false); /* a close is not a failure */
}

/* A burst makes the link busy (64 KiB/s here); a quiet second after it
 * ends the reader, and what follows is read in the driver's turn again,
 * in order. */
Test(transport, a_link_gone_quiet_reads_in_the_drivers_turn_again)
{
	pd_tport_set_reader(64 * 1024, -1);
	server s;
	rec r;
	pd_tport *t = open_plain(&r, &s);
	size_t burst = 1u << 20;
	pump p;
	pump_start(&p, s.fd, 0, burst, false);
	bool apart = false;
	RUN_APART(t, &s, r.in.len == burst, 10000, &apart);
	pthread_join(p.th, NULL);
	cr_assert(apart, "1 MiB at once did not make the link busy");
	RUN_UNTIL(t, &s, !pd_tport_reading_apart(t), 5000);
	cr_assert_eq(pd_tport_readers(), 0);
	pump_start(&p, s.fd, burst, 1000, false);
	bool again = false;
	RUN_APART(t, &s, r.in.len == burst + 1000, 5000, &again);
	pthread_join(p.th, NULL);
	cr_assert_not(again, "1000 bytes made the link busy again");
	done_plain(t, &s, &r, false);
}

/* The socket whose sending side on_data shuts (break_send): the one
 * polled while the link reads in the driver's turn. */
static void socket_of(pd_tport *t, rec *r)
{
	struct pollfd pf[2];
	cr_assert_eq(pd_tport_pollfds(t, pf, 2), 1);
	r->t = t;
	r->fd = pf[0].fd;
}

/* A send failing inside on_data (a driver answering as it parses) fails
 * the transport only once the callback returned: on_fail never runs under
 * it and its buffer stays its own until then. */
static void a_send_failing_under_on_data(bool busy)
{
	pd_tport_set_reader(busy ? 0 : -1, -1);
	server s;
	rec r;
	pd_tport *t = open_plain(&r, &s);
	socket_of(t, &r);
	pump p;
	pump_start(&p, s.fd, 0, busy ? 256u << 20 : 1000, false);
	bool apart = false;
	if (busy)
		RUN_APART(t, &s, apart, 10000, &apart);
	r.break_send = true;
	RUN_APART(t, &s, r.failed == 1, 10000, &apart);
	cr_assert_eq(apart, busy);
	cr_assert_eq(r.sends_broken, 1);
	cr_assert_eq(r.failed_in_data, 0, "on_fail ran inside on_data");
	cr_assert_eq(r.what, PD_TPORT_E_IO, "%s", r.why);
	cr_assert_str_eq(r.why, "send to the PBX failed: Broken pipe");
	cr_assert_eq(pd_tport_get_phase(t), PD_TPORT_CLOSED);
	cr_assert_eq(pd_tport_queued(t), 0, "what was queued is dropped");
	cr_assert_gt(r.in.len, 0);
	cr_assert_eq(pd_tport_readers(), 0);
	pthread_join(p.th, NULL); /* it sees the connection gone */
	done_plain(t, &s, &r, true);
}

Test(transport, a_send_failing_under_on_data_fails_after_it)
{
	a_send_failing_under_on_data(false);
}

/* The same on a busy link, whose on_data reads the reader's buffer: the
 * close that frees it waits until on_data returned. The break comes once
 * the reads are apart. */
Test(transport, a_send_failing_under_on_data_of_a_busy_link_fails_after_it)
{
	a_send_failing_under_on_data(true);
}

/* No reader past the cap (0 here): the busy link reads in the driver's
 * turn as before, nothing lost. */
Test(transport, no_reader_past_the_cap)
{
	stream_to_eof(0, 4u << 20, false);
}

Test(transport, bad_name_is_a_resolve_failure)
{
	rec r;
	pd_tport *t = tp_new(&r, "no-such-host.invalid", 5038, false, false, NULL, 0);
	pd_tport_open(t, pd_live_now_ms());
	cr_assert_eq(pd_tport_get_phase(t), PD_TPORT_RESOLVING, "a name goes to the thread");
	RUN_UNTIL(t, NULL, r.failed, 8000);
	cr_assert_eq(r.what, PD_TPORT_E_RESOLVE);
	cr_assert(strstr(r.why, "cannot resolve host no-such-host.invalid"), "%s", r.why);
	pd_tport_free(t);
	pd_buf_free(&r.in);
}

Test(transport, a_name_resolves_and_connects)
{
	server s;
	srv_start(&s, NULL);
	rec r;
	pd_tport *t = tp_new(&r, "localhost", port_of(s.lfd), false, false, NULL, 0);
	pd_tport_open(t, pd_live_now_ms());
	RUN_UNTIL(t, &s, r.opened == 1, 5000);
	pd_tport_free(t);
	srv_stop(&s);
	pd_buf_free(&r.in);
}

/* Freed while the resolver thread is still out: its answer finds the pipe
 * closed (EPIPE, no signal) and nothing leaks into a freed transport. */
static int threads_now(void)
{
	char *st = tl_slurp("/proc/self/status", NULL);
	cr_assert_not_null(st);
	const char *t = strstr(st, "\nThreads:");
	int n = t ? atoi(t + 9) : -1;
	free(st);
	return n;
}

Test(transport, free_while_resolving)
{
	int before = threads_now();
	rec r;
	pd_tport *t = tp_new(&r, "localhost", 9, false, false, NULL, 0);
	pd_tport_open(t, pd_live_now_ms());
	pd_tport_free(t);
	cr_assert_eq(r.failed, 0);
	/* the resolver thread ends on its own (its answer finds no reader) */
	int64_t until = pd_live_now_ms() + 5000 * tl_slow();
	while (threads_now() > before && pd_live_now_ms() < until)
		poll(NULL, 0, 10);
	cr_assert_eq(threads_now(), before, "the resolver thread ended");
}

/* ---- TLS ---- */

static char *tls_dir;

static void make_cert(const char *san)
{
	tls_dir = tl_tmpdir("pd-tport-tls");
	cr_assert_not_null(tls_dir);
	char cmd[1024];
	snprintf(cmd, sizeof cmd,
	         "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
	         "-days 2 -subj /CN=provdesk-lab -addext subjectAltName=%s -keyout %s/lab.key "
	         "-out %s/lab.pem 2>%s/openssl.err",
	         san, tls_dir, tls_dir, tls_dir);
	cr_assert_eq(system(cmd), 0, "openssl req failed: %s", cmd);
}

static pd_tls_server *tls_server(void)
{
	char cert[512], key[512];
	snprintf(cert, sizeof cert, "%s/lab.pem", tls_dir);
	snprintf(key, sizeof key, "%s/lab.key", tls_dir);
	pd_tls_server *ts;
	pd_err e = {0};
	cr_assert_eq(pd_tls_server_new(cert, key, &ts, &e), PD_OK, "%s", e.message);
	return ts;
}

Test(transport, tls_with_a_private_ca_writes_and_reads)
{
	make_cert("IP:127.0.0.1");
	pd_tls_server *ts = tls_server();
	server s;
	srv_start(&s, ts);
	s.reply = "hello over TLS\n";
	char ca[512];
	snprintf(ca, sizeof ca, "%s/lab.pem", tls_dir);
	rec r;
	pd_tport *t = tp_new(&r, "127.0.0.1", port_of(s.lfd), true, true, ca, 0);
	pd_tport_open(t, pd_live_now_ms());
	RUN_UNTIL(t, &s, r.opened == 1, 5000);
	pd_tport_send(t, "ping\n", 5);
	pd_tport_flush(t);
	RUN_UNTIL(t, &s, s.in.len == 5 && r.in.len == strlen(s.reply), 5000);
	cr_assert_eq(memcmp(s.in.s, "ping\n", 5), 0);
	cr_assert_eq(memcmp(r.in.s, s.reply, r.in.len), 0);
	cr_assert_eq(r.failed, 0);
	pd_tport_free(t);
	srv_stop(&s);
	pd_tls_server_free(ts);
	tl_rmrf(tls_dir);
	free(tls_dir);
	pd_buf_free(&r.in);
}

Test(transport, tls_self_signed_refused_when_verifying_accepted_when_not)
{
	make_cert("DNS:pbx.lab.invalid");
	pd_tls_server *ts = tls_server();
	server s;
	srv_start(&s, ts);
	rec r;
	pd_tport *t = tp_new(&r, "127.0.0.1", port_of(s.lfd), true, true, NULL, 0);
	pd_tport_open(t, pd_live_now_ms());
	RUN_UNTIL(t, &s, r.failed == 1, 5000);
	cr_assert_eq(r.what, PD_TPORT_E_TLS);
	cr_assert(strstr(r.why, "certificate verify failed"), "%s", r.why);
	cr_assert_eq(r.opened, 0);
	pd_tport_free(t);
	srv_stop(&s);

	srv_start(&s, ts);
	s.reply = "ok\n";
	t = tp_new(&r, "127.0.0.1", port_of(s.lfd), true, false, NULL, 0);
	pd_tport_open(t, pd_live_now_ms());
	RUN_UNTIL(t, &s, r.opened == 1 && r.in.len == 3, 5000);
	pd_tport_free(t);
	srv_stop(&s);
	pd_tls_server_free(ts);
	tl_rmrf(tls_dir);
	free(tls_dir);
	pd_buf_free(&r.in);
}

Test(transport, tls_ca_file_that_cannot_be_read)
{
	server s;
	srv_start(&s, NULL);
	rec r;
	pd_tport *t = tp_new(&r, "127.0.0.1", port_of(s.lfd), true, true, "/nonexistent/ca.pem", 0);
	pd_tport_open(t, pd_live_now_ms());
	RUN_UNTIL(t, &s, r.failed == 1, 5000);
	cr_assert_eq(r.what, PD_TPORT_E_SETUP);
	cr_assert(strstr(r.why, "cannot read the CA file /nonexistent/ca.pem"), "%s", r.why);
	pd_tport_free(t);
	srv_stop(&s);
	pd_buf_free(&r.in);
}

/* A peer that accepts TCP and never answers the TLS hello: the step
 * timeout ends it, naming the phase. */
Test(transport, tls_handshake_times_out)
{
	server s;
	srv_start(&s, NULL);
	s.silent = true;
	rec r;
	pd_tport *t = tp_new(&r, "127.0.0.1", port_of(s.lfd), true, false, NULL, 300);
	int64_t t0 = pd_live_now_ms();
	pd_tport_open(t, t0);
	RUN_UNTIL(t, &s, r.failed == 1, 5000);
	cr_assert_eq(r.what, PD_TPORT_E_TIMEOUT);
	cr_assert_str_eq(r.why, "timed out during the TLS handshake");
	cr_assert_geq(pd_live_now_ms() - t0, 300);
	pd_tport_free(t);
	srv_stop(&s);
	pd_buf_free(&r.in);
}

/* ---- backoff ---- */

Test(transport, backoff_doubles_is_capped_and_stays_within_min_and_cap)
{
	pd_backoff b;
	pd_backoff_init(&b, 100, 2000, 42);
	/* attempt n draws in [max(min, hi/2), hi], hi = min(cap, min * 2^(n+1)) */
	static const int64_t lo[] = {100, 200, 400, 800, 1000, 1000, 1000, 1000};
	static const int64_t hi[] = {200, 400, 800, 1600, 2000, 2000, 2000, 2000};
	for (int round = 0; round < 50; round++) {
		pd_backoff_reset(&b);
		for (int n = 0; n < 8; n++) {
			int64_t d = pd_backoff_next(&b);
			cr_assert(d >= lo[n] && d <= hi[n], "attempt %d: %lld", n, (long long)d);
		}
	}
	for (int n = 0; n < 100; n++) /* far past the cap: no overflow */
		cr_assert_leq(pd_backoff_next(&b), 2000);
	pd_backoff_init(&b, 0, 0, 7); /* defaults: 1 s, 60 s */
	cr_assert_eq(b.min_ms, 1000);
	cr_assert_eq(b.cap_ms, 60000);
	pd_backoff_init(&b, 5000, 1000, 7); /* a cap below min is min */
	cr_assert_eq(pd_backoff_next(&b), 5000);
}

Test(transport, backoff_jitter_spreads_links_and_a_seed_repeats)
{
	/* 1000 links dropped together: their first retries are spread */
	enum { LINKS = 1000 };
	int buckets[10] = {0};
	for (int i = 0; i < LINKS; i++) {
		pd_backoff b;
		pd_backoff_init(&b, 1000, 60000, (uint64_t)i + 1);
		int64_t d = pd_backoff_next(&b);
		cr_assert(d >= 1000 && d <= 2000);
		buckets[(d - 1000) * 10 / 1001]++;
	}
	for (int k = 0; k < 10; k++)
		cr_assert(buckets[k] > 40 && buckets[k] < 160, "bucket %d: %d of %d", k, buckets[k],
		          LINKS);
	pd_backoff a, b;
	pd_backoff_init(&a, 100, 5000, 99);
	pd_backoff_init(&b, 100, 5000, 99);
	for (int n = 0; n < 20; n++)
		cr_assert_eq(pd_backoff_next(&a), pd_backoff_next(&b), "same seed, same delays");
}

/* ---- keep-alive ---- */

Test(transport, keepalive_ping_due_then_overdue_unless_answered)
{
	pd_keepalive k;
	pd_keepalive_start(&k, 1000, 500);
	cr_assert_eq(pd_keepalive_deadline(&k), 1500);
	cr_assert_eq(pd_keepalive_check(&k, 1499), PD_KA_WAIT);
	cr_assert_eq(pd_keepalive_check(&k, 1500), PD_KA_PING);
	pd_keepalive_sent(&k, 1500);
	cr_assert_eq(pd_keepalive_deadline(&k), 2000);
	cr_assert_eq(pd_keepalive_check(&k, 1999), PD_KA_WAIT);
	pd_keepalive_answered(&k);
	cr_assert_eq(pd_keepalive_check(&k, 2000), PD_KA_PING, "answered: the next ping");
	pd_keepalive_sent(&k, 2000);
	cr_assert_eq(pd_keepalive_check(&k, 2500), PD_KA_OVERDUE, "unanswered: the link is dead");
}

/* A heartbeat the PBX sends unasked counts as an answer and puts the next
 * ping an interval and a quarter away: heartbeats one interval apart save
 * every ping; when they stop, a ping, then dead if it is not answered. */
Test(transport, keepalive_heard_saves_pings)
{
	pd_keepalive k;
	pd_keepalive_start(&k, 0, 1000);
	for (int64_t t = 900; t < 5000; t += 1000) {
		cr_assert_eq(pd_keepalive_check(&k, t), PD_KA_WAIT, "at %lld", (long long)t);
		pd_keepalive_heard(&k, t);
	}
	cr_assert_eq(pd_keepalive_deadline(&k), 4900 + 1250);
	cr_assert_eq(pd_keepalive_check(&k, 6149), PD_KA_WAIT);
	cr_assert_eq(pd_keepalive_check(&k, 6150), PD_KA_PING, "the heartbeats stopped");
	pd_keepalive_sent(&k, 6150);
	pd_keepalive_heard(&k, 6500);
	cr_assert_eq(pd_keepalive_check(&k, 7149), PD_KA_WAIT, "a heartbeat answers the ping too");
	cr_assert_eq(pd_keepalive_check(&k, 7750), PD_KA_PING);
	pd_keepalive_sent(&k, 7750);
	cr_assert_eq(pd_keepalive_check(&k, 8750), PD_KA_OVERDUE, "neither: the link is dead");
}

/* ---- the registry ---- */

static pd_status fake_create(const pd_drv_conf *c, const pd_drv_host *h, void **out, pd_err *e)
{
	(void)c, (void)h, (void)e;
	*out = NULL;
	return PD_OK;
}

Test(transport, registry_finds_registers_and_marks_supported)
{
	cr_assert_eq(pd_driver_find("asterisk-ami"), &pd_ami_driver);
	cr_assert_eq(pd_driver_find("broadworks-xsi"), &pd_xsi_driver);
	cr_assert_null(pd_driver_find("example-pbx"));
	cr_assert_null(pd_driver_find(NULL));
	static const pd_driver_ops fake = {.platform = "example-pbx", .create = fake_create};
	pd_err e = {0};
	cr_assert_eq(pd_driver_register(&fake, &e), PD_OK, "%s", e.message);
	cr_assert_eq(pd_driver_find("example-pbx"), &fake);
	cr_assert_eq(pd_driver_register(&fake, &e), PD_E_CONFLICT);
	cr_assert_str_eq(e.field, "platform");
	static const pd_driver_ops dup_ami = {.platform = "asterisk-ami", .create = fake_create};
	cr_assert_eq(pd_driver_register(&dup_ami, &e), PD_E_CONFLICT);
	static const pd_driver_ops nokey = {.create = fake_create};
	cr_assert_eq(pd_driver_register(&nokey, &e), PD_E_INVALID);
	static const pd_driver_ops nocreate = {.platform = "x"};
	cr_assert_eq(pd_driver_register(&nocreate, &e), PD_E_INVALID);

	/* the catalogue file's own "supported" does not count: the registry does */
	char *path = tl_data_path("catalogue.json");
	pd_catalogue cat;
	cr_assert_eq(pd_catalogue_load(path, &cat, &e), PD_OK, "%s", e.message);
	free(path);
	pd_drivers_mark_supported(&cat);
	cr_assert(pd_catalogue_platform(&cat, "asterisk-ami")->supported);
	cr_assert(pd_catalogue_platform(&cat, "broadworks-xsi")->supported);
	const pd_platform *fs = pd_catalogue_platform(&cat, "freeswitch-esl");
	cr_assert_eq(fs->supported, pd_driver_find("freeswitch-esl") != NULL);
	pd_catalogue_free(&cat);

	/* bounded: the extra table fills */
	static pd_driver_ops more[PD_DRIVERS_EXTRA];
	static char keys[PD_DRIVERS_EXTRA][16];
	int ok = 0;
	for (int i = 0; i < PD_DRIVERS_EXTRA; i++) {
		snprintf(keys[i], sizeof keys[i], "fake-%d", i);
		more[i] = (pd_driver_ops){.platform = keys[i], .create = fake_create};
		if (pd_driver_register(&more[i], &e) == PD_OK)
			ok++;
		else
			cr_assert_eq(e.status, PD_E_INTERNAL);
	}
	cr_assert_eq(ok, PD_DRIVERS_EXTRA - 1, "one slot went to example-pbx above");
}

/* ---- the one driver loop ----
 * A driver with a timer every 30 ms and a pipe it reads: pd_drv_run wakes it
 * for both, stops when done says so, and gives up at the deadline. */

typedef struct {
	int rfd;
	int64_t next;
	int timers, reads;
} tick_drv;

static int tick_pollfds(void *p, struct pollfd *pf, int max)
{
	tick_drv *t = p;
	if (max < 1)
		return 0;
	pf[0] = (struct pollfd){.fd = t->rfd, .events = POLLIN};
	return 1;
}

static void tick_on_io(void *p, const struct pollfd *pf, int n, int64_t now)
{
	tick_drv *t = p;
	(void)now;
	cr_assert_eq(n, 1);
	char c;
	if (pf[0].revents & POLLIN && read(t->rfd, &c, 1) == 1)
		t->reads++;
}

static int64_t tick_next(void *p)
{
	return ((tick_drv *)p)->next;
}

static void tick_on_timer(void *p, int64_t now)
{
	tick_drv *t = p;
	cr_assert_geq(now, t->next, "on_timer only when due");
	t->timers++;
	t->next = now + 30;
}

static const pd_driver_ops tick_ops = {.platform = "tick",
                                       .create = fake_create,
                                       .pollfds = tick_pollfds,
                                       .on_io = tick_on_io,
                                       .next_deadline = tick_next,
                                       .on_timer = tick_on_timer};

static bool three_timers_and_a_read(void *ctx)
{
	tick_drv *t = ctx;
	return t->timers >= 3 && t->reads >= 1;
}

static bool never(void *ctx)
{
	(void)ctx;
	return false;
}

Test(transport, drv_run_drives_timers_and_io_until_done_or_deadline)
{
	int p[2];
	cr_assert_eq(pipe(p), 0);
	/* t0 first: the first timer 30 ms after it, not after a clock read that
	 * a millisecond's tick may put before it */
	int64_t t0 = pd_live_now_ms();
	tick_drv t = {.rfd = p[0], .next = t0 + 30};
	cr_assert_eq(write(p[1], "x", 1), 1);
	cr_assert(
	    pd_drv_run(&tick_ops, &t, t0 + 5000 * tl_slow(), 1000, three_timers_and_a_read, &t));
	cr_assert_eq(t.reads, 1);
	cr_assert_geq(pd_live_now_ms() - t0, 90, "three 30 ms timers");
	cr_assert_lt(pd_live_now_ms() - t0, 2000 * tl_slow(), "woken by the timer, not turn_ms");
	/* the deadline ends it: false, not long after */
	t0 = pd_live_now_ms();
	cr_assert_not(pd_drv_run(&tick_ops, &t, t0 + 200, 1000, never, NULL));
	int64_t took = pd_live_now_ms() - t0;
	cr_assert(took >= 200 && took < 1000 * tl_slow(), "took %lld ms", (long long)took);
	close(p[0]);
	close(p[1]);
}

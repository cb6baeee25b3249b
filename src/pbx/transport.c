/* The PBX transport: resolve, non-blocking connect, TLS, a write queue,
 * reads into the driver's callback (on a thread of their own while a plain
 * link is busy); backoff and keep-alive timing. See
 * include/provdesk/pbx_transport.h and docs/architecture.md ("PBX layer").
 * Taken out of the AMI driver so that every driver shares one copy. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "provdesk/i18n.h"
#include "provdesk/live.h"
#include "provdesk/pbx_transport.h"

#define MAX_ADDRS 8
#define STEP_TIMEOUT_MS 15000
/* A busy PBX's events arrive faster in fewer, larger reads (each recv
 * also acknowledges; loopback figures in docs/performance.md): 256 KiB per
 * read, one buffer per thread serving every link on it. */
#define READ_CHUNK (256u * 1024)
#define READS_PER_TURN 8
/* A busy link's reads move to a thread of their own (see "the reader of a
 * busy link" below): RING buffers of READ_CHUNK between it and the driver. */
#define RING 4
#define WINDOW_MS 1000

typedef struct tport_reader tport_reader;

typedef struct {
	int family;
	socklen_t len;
	struct sockaddr_storage ss;
} tport_addr;

typedef struct {
	int err;
	int n;
	tport_addr a[MAX_ADDRS];
} resolve_result;

struct pd_tport {
	char *host;
	int port;
	bool tls, tls_verify;
	char *tls_ca_file;
	int step_ms;
	pd_tport_cb cb;
	pd_tport_phase phase, failed_phase;
	int sys_err;
	int fd, res_fd;
	pd_tls *ssl;
	/* while resolving and connecting only (1.1 KiB an idle link does not
	 * keep): the addresses; addr_i: while resolving, bytes of addrs read;
	 * then the address tried */
	resolve_result *addrs;
	int addr_i;
	tport_addr peer; /* the address tried or connected (pd_tport_peer) */
	bool have_peer;
	int64_t now, deadline;
	pd_buf out;
	size_t out_off;
	/* bytes read in the window started at win_start (direct reads only) */
	int64_t win_start;
	size_t win_bytes;
	tport_reader *rd; /* reads on their own thread while the link is busy */
	/* inside on_data: a send that fails there is kept in send_err and
	 * failed once the callback returned (data_done), never under it */
	bool in_data;
	int send_err;
};

static void reader_stop(pd_tport *t);

pd_tport *pd_tport_new(const pd_tport_conf *c, const pd_tport_cb *cb)
{
	pd_tport *t = xcalloc(1, sizeof *t);
	t->host = xstrdup(c->host ? c->host : "");
	t->port = c->port;
	t->tls = c->tls;
	t->tls_verify = c->tls_verify;
	t->tls_ca_file = c->tls_ca_file ? xstrdup(c->tls_ca_file) : NULL;
	t->step_ms = c->step_timeout_ms > 0 ? c->step_timeout_ms : STEP_TIMEOUT_MS;
	t->cb = *cb;
	t->fd = t->res_fd = -1;
	t->deadline = INT64_MAX;
	return t;
}

void pd_tport_close(pd_tport *t)
{
	if (!t)
		return;
	reader_stop(t);
	pd_tls_free(t->ssl);
	t->ssl = NULL;
	if (t->fd >= 0)
		close(t->fd);
	if (t->res_fd >= 0)
		close(t->res_fd);
	t->fd = t->res_fd = -1;
	if (t->out.s) /* unsent: a login may be in it */
		explicit_bzero(t->out.s, t->out.len);
	t->out.len = 0;
	t->out_off = 0;
	t->send_err = 0;
	t->phase = PD_TPORT_CLOSED;
	t->deadline = INT64_MAX;
}

static void addrs_free(pd_tport *t)
{
	free(t->addrs);
	t->addrs = NULL;
}

void pd_tport_free(pd_tport *t)
{
	if (!t)
		return;
	pd_tport_close(t);
	addrs_free(t);
	pd_buf_wipe_free(&t->out);
	free(t->host);
	free(t->tls_ca_file);
	free(t);
}

pd_tport_phase pd_tport_get_phase(const pd_tport *t)
{
	return t->phase;
}

/* The phase's name, untranslated (marked for the catalogue). */
static const char *phase_id(pd_tport_phase p)
{
	switch (p) {
	case PD_TPORT_RESOLVING:
		return N_("name resolution");
	case PD_TPORT_CONNECTING:
		return N_("TCP connect");
	case PD_TPORT_TLS:
		return N_("the TLS handshake");
	default:
		return "";
	}
}

const char *pd_tport_phase_name(pd_tport_phase p)
{
	return pd_tr(phase_id(p));
}

/* Closes, then tells the driver. Callers return right after. */
static void fail(pd_tport *t, pd_tport_fail what, const char *why)
{
	t->failed_phase = t->phase;
	pd_tport_close(t);
	addrs_free(t);
	if (t->cb.on_fail)
		t->cb.on_fail(t->cb.ctx, what, why);
}

/* fail() with a message each reader shows in its own language (pd_msg). */
static void fail_msg(pd_tport *t, pd_tport_fail what, const char *msgid, ...)
    __attribute__((format(printf, 3, 4)));
static void fail_msg(pd_tport *t, pd_tport_fail what, const char *msgid, ...)
{
	char why[400];
	va_list ap;
	va_start(ap, msgid);
	pd_vmsg(why, sizeof why, msgid, ap);
	va_end(ap);
	fail(t, what, why);
}

static void set_phase(pd_tport *t, pd_tport_phase p)
{
	t->phase = p;
	t->deadline = p == PD_TPORT_OPEN || p == PD_TPORT_CLOSED ? INT64_MAX : t->now + t->step_ms;
}

/* ---- resolving ---- */

typedef struct {
	char host[256], port[16];
	int wfd;
} resolve_job;

static void *resolver(void *arg)
{
	resolve_job *j = arg;
	pd_thread_name("pd-resolve");
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL); /* EPIPE, not SIGPIPE, if the transport is gone */
	resolve_result r = {0};
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
	r.err = getaddrinfo(j->host, j->port, &hints, &ai);
	for (struct addrinfo *a = ai; a && r.n < MAX_ADDRS; a = a->ai_next) {
		r.a[r.n].family = a->ai_family;
		r.a[r.n].len = a->ai_addrlen;
		memcpy(&r.a[r.n].ss, a->ai_addr, a->ai_addrlen);
		r.n++;
	}
	if (ai)
		freeaddrinfo(ai);
	ssize_t w = write(j->wfd, &r, sizeof r); /* the read side loops over short reads */
	(void)w;
	close(j->wfd);
	free(j);
	return NULL;
}

static void try_connect(pd_tport *t);

void pd_tport_open(pd_tport *t, int64_t now)
{
	pd_tport_close(t);
	t->failed_phase = PD_TPORT_CLOSED;
	t->sys_err = 0;
	t->now = now;
	set_phase(t, PD_TPORT_RESOLVING);
	char port[16];
	snprintf(port, sizeof port, "%d", t->port);
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST},
	                *ai = NULL;
	free(t->addrs);
	t->addrs = xcalloc(1, sizeof *t->addrs);
	t->addr_i = 0;
	t->have_peer = false;
	if (getaddrinfo(t->host, port, &hints, &ai) == 0) {
		for (struct addrinfo *a = ai; a && t->addrs->n < MAX_ADDRS; a = a->ai_next) {
			t->addrs->a[t->addrs->n].family = a->ai_family;
			t->addrs->a[t->addrs->n].len = a->ai_addrlen;
			memcpy(&t->addrs->a[t->addrs->n].ss, a->ai_addr, a->ai_addrlen);
			t->addrs->n++;
		}
		freeaddrinfo(ai);
		try_connect(t);
		return;
	}
	/* a name: resolve on a detached thread, the answer comes through a pipe */
	int p[2];
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) {
		fail_msg(t, PD_TPORT_E_RESOLVE, N_("cannot create a pipe for name resolution"));
		return;
	}
	resolve_job *j = xcalloc(1, sizeof *j);
	snprintf(j->host, sizeof j->host, "%s", t->host);
	snprintf(j->port, sizeof j->port, "%s", port);
	j->wfd = p[1];
	pthread_t th;
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&th, &at, resolver, j) != 0) {
		close(p[0]);
		close(p[1]);
		free(j);
		pthread_attr_destroy(&at);
		fail_msg(t, PD_TPORT_E_RESOLVE, N_("cannot start the resolver thread"));
		return;
	}
	pthread_attr_destroy(&at);
	t->res_fd = p[0];
}

static void on_resolved(pd_tport *t)
{
	char *dst = (char *)t->addrs + (size_t)t->addr_i;
	ssize_t r = read(t->res_fd, dst, sizeof *t->addrs - (size_t)t->addr_i);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r > 0) {
		t->addr_i += (int)r;
		if ((size_t)t->addr_i < sizeof *t->addrs)
			return;
	}
	close(t->res_fd);
	t->res_fd = -1;
	if ((size_t)t->addr_i < sizeof *t->addrs || t->addrs->err || t->addrs->n == 0) {
		fail_msg(t, PD_TPORT_E_RESOLVE, N_("cannot resolve host %s: %s"), t->host,
		         t->addrs->err ? gai_strerror(t->addrs->err)
		                       : pd_msg_word(N_("no address")));
		return;
	}
	t->addr_i = 0;
	try_connect(t);
}

/* ---- connecting ---- */

static void connect_failed(pd_tport *t, int err)
{
	t->sys_err = err;
	t->have_peer = false; /* every address failed */
	fail_msg(t, PD_TPORT_E_CONNECT, N_("TCP connect to %s:%d: %s"), t->host, t->port,
	         pd_msg_errno(err));
}

static void try_connect(pd_tport *t)
{
	int last = ECONNREFUSED;
	while (t->addr_i < t->addrs->n) {
		int i = t->addr_i;
		t->peer = t->addrs->a[i];
		t->have_peer = true;
		int fd =
		    socket(t->addrs->a[i].family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			last = errno;
			t->addr_i++;
			continue;
		}
		/* The drivers write whole commands, and several at once (a
		 * discovery's window): Nagle would hold each write after the first
		 * until the PBX acknowledged it, a round trip more per window. */
		int one = 1;
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		if (connect(fd, (struct sockaddr *)&t->addrs->a[i].ss, t->addrs->a[i].len) == 0 ||
		    errno == EINPROGRESS) {
			t->fd = fd;
			set_phase(t, PD_TPORT_CONNECTING);
			return;
		}
		last = errno;
		close(fd);
		t->addr_i++;
	}
	connect_failed(t, last);
}

static void opened(pd_tport *t)
{
	addrs_free(t); /* the connected one is in peer */
	set_phase(t, PD_TPORT_OPEN);
	if (t->cb.on_open)
		t->cb.on_open(t->cb.ctx);
}

static void tls_step(pd_tport *t)
{
	char why[400];
	int r = pd_tls_handshake(t->ssl, why, sizeof why);
	if (r < 0)
		fail(t, PD_TPORT_E_TLS, why);
	else if (r > 0)
		opened(t);
}

static void on_connected(pd_tport *t)
{
	int err = 0;
	socklen_t len = sizeof err;
	getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &err, &len);
	if (err) {
		close(t->fd);
		t->fd = -1;
		t->addr_i++;
		if (t->addr_i < t->addrs->n)
			try_connect(t);
		else
			connect_failed(t, err);
		return;
	}
	if (t->tls) {
		pd_err e = {0};
		if (pd_tls_client_new(t->fd, t->host, t->tls_verify, t->tls_ca_file, &t->ssl, &e) !=
		    PD_OK) {
			fail(t, PD_TPORT_E_SETUP, e.message);
			return;
		}
		set_phase(t, PD_TPORT_TLS);
		tls_step(t);
		return;
	}
	opened(t);
}

/* ---- I/O ---- */

/* The write queue may hold a login with its secret: it grows by hand so
 * the block it leaves is wiped, not left in the heap, and what was sent is
 * wiped at once (pd_tport_flush). */
void pd_tport_send(pd_tport *t, const void *buf, size_t n)
{
	if (t->out.len + n + 1 > t->out.cap) {
		size_t cap = t->out.cap ? t->out.cap : 64;
		while (cap < t->out.len + n + 1)
			cap *= 2;
		char *s = xmalloc(cap);
		if (t->out.s) {
			memcpy(s, t->out.s, t->out.len + 1);
			explicit_bzero(t->out.s, t->out.cap);
			free(t->out.s);
		} else
			s[0] = 0;
		t->out.s = s;
		t->out.cap = cap;
	}
	pd_buf_addn(&t->out, buf, n);
}

size_t pd_tport_queued(const pd_tport *t)
{
	return t->out.len - t->out_off;
}

static void send_failed(pd_tport *t, int err)
{
	t->sys_err = err;
	fail_msg(t, PD_TPORT_E_IO, N_("send to the PBX failed: %s"), pd_msg_errno(err));
}

/* A flush from inside on_data (a driver sending as answers arrive) must
 * not close the transport under the callback: the buffer being parsed may
 * be the reader's, freed by the close, and the driver's state is mid-way.
 * A hard error there waits in send_err for data_done. */
void pd_tport_flush(pd_tport *t)
{
	if (t->phase != PD_TPORT_OPEN || t->send_err)
		return;
	while (t->out_off < t->out.len) {
		ssize_t w =
		    t->ssl
		        ? pd_tls_write(t->ssl, t->out.s + t->out_off, t->out.len - t->out_off)
		        : send(t->fd, t->out.s + t->out_off, t->out.len - t->out_off, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			if (t->in_data)
				t->send_err = errno;
			else
				send_failed(t, errno);
			return;
		}
		t->out_off += (size_t)w;
	}
	if (t->out.s)
		explicit_bzero(t->out.s, t->out.len);
	t->out.len = 0;
	t->out_off = 0;
	/* a discovery's pipelined actions grew it: an idle link keeps no
	 * output buffer (a Ping every few seconds is a small malloc) */
	if (t->out.cap > 512)
		pd_buf_wipe_free(&t->out);
}

static pd_thread_slot rbuf_slot;
static _Thread_local char *tl_rbuf;

/* The thread's read buffer (freed at thread exit). Only the pages a read
 * fills are ever touched: an idle link's pings cost one page. */
static char *read_buffer(void)
{
	if (!tl_rbuf) {
		tl_rbuf = xmalloc(READ_CHUNK);
		pd_thread_keep(&rbuf_slot, tl_rbuf, free);
	}
	return tl_rbuf;
}

static _Thread_local bool tl_rbuf_busy;

/* A read returned 0 (the peer closed) or failed with err. */
static void read_failed(pd_tport *t, ssize_t r, int err)
{
	if (r == 0) {
		fail_msg(t, PD_TPORT_E_EOF, N_("connection closed by the PBX"));
		return;
	}
	t->sys_err = err;
	fail_msg(t, PD_TPORT_E_IO, N_("receive failed: %s"), pd_msg_errno(err));
}

/* ---- the reader of a busy link ----
 * A link whose bytes keep coming faster than busy_bps has its recv() moved
 * to a thread of its own, so that the kernel's share of a read (the copy,
 * and on loopback the sender's TCP work it runs) overlaps the driver's
 * parsing instead of adding to it. The reader fills RING buffers of
 * READ_CHUNK and wakes the driver's poll through an eventfd (only when the
 * ring was empty: a driver that saw it non-empty comes back by itself,
 * reader_turn); the driver
 * hands each buffer to on_data in order, on its own thread as before, and
 * gives it back. Writes stay on the driver's thread (send and recv on one
 * socket from two threads are safe; TLS is not, so a TLS link always reads
 * in the driver's turn). When a window of WINDOW_MS brings fewer than
 * busy_bps / 4 bytes, the reader ends itself and the link reads in the
 * driver's turn again; at most max_readers run in the process. EOF and
 * errors come after the last buffer, as the direct reads report them. */
typedef enum { RD_RUNNING, RD_RETIRED, RD_EOF, RD_ERROR } rd_end;

struct tport_reader {
	pthread_t th;
	int fd, efd;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* a buffer given back, or stop */
	char *chunk[RING];
	size_t len[RING];
	unsigned head, tail; /* buffers [head, tail) filled, in order */
	bool stop;
	rd_end end; /* set after the last buffer */
	int err;
	int64_t quiet_bps;
};

static atomic_llong busy_bps = 1024 * 1024;
static atomic_int max_readers = -1; /* -1: one per online CPU */
static atomic_int readers_running;

void pd_tport_set_reader(int64_t bytes_per_s, int max)
{
	atomic_store(&busy_bps, bytes_per_s);
	atomic_store(&max_readers, max);
}

int pd_tport_readers(void)
{
	return atomic_load(&readers_running);
}

bool pd_tport_reading_apart(const pd_tport *t)
{
	return t->rd != NULL;
}

static void reader_post(tport_reader *r)
{
	eventfd_write(r->efd, 1); /* only fails on overflow, which a wake does not need */
}

static void reader_end(tport_reader *r, rd_end end, int err)
{
	pthread_mutex_lock(&r->mu);
	r->end = end;
	r->err = err;
	pthread_mutex_unlock(&r->mu);
	reader_post(r);
}

static void reader_run(tport_reader *r)
{
	int64_t win_start = pd_live_now_ms();
	int64_t win_bytes = 0;
	for (;;) {
		pthread_mutex_lock(&r->mu);
		/* when full, wait for half the ring back: one wake per two buffers */
		if (r->tail - r->head == RING)
			while (!r->stop && r->tail - r->head > RING / 2)
				pthread_cond_wait(&r->cv, &r->mu);
		bool stop = r->stop;
		unsigned slot = r->tail % RING;
		pthread_mutex_unlock(&r->mu);
		if (stop)
			return;
		struct pollfd p = {.fd = r->fd, .events = POLLIN};
		int pr = poll(&p, 1, WINDOW_MS);
		int64_t now = pd_live_now_ms();
		if (now - win_start >= WINDOW_MS) {
			if (win_bytes * 1000 / (now - win_start) < r->quiet_bps) {
				reader_end(r, RD_RETIRED, 0);
				return;
			}
			win_start = now;
			win_bytes = 0;
		}
		if (pr <= 0)
			continue;
		ssize_t n = recv(r->fd, r->chunk[slot], READ_CHUNK, 0);
		if (n > 0) {
			pthread_mutex_lock(&r->mu);
			r->len[slot] = (size_t)n;
			bool was_empty = r->tail++ == r->head;
			pthread_mutex_unlock(&r->mu);
			win_bytes += n;
			/* a driver that found the ring empty may sleep: wake it; one
			 * that did not comes back by itself (reader_turn) */
			if (was_empty)
				reader_post(r);
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		reader_end(r, n == 0 ? RD_EOF : RD_ERROR, n == 0 ? 0 : errno);
		return;
	}
}

static _Atomic uint64_t readers_cpu_ns;

uint64_t pd_tport_readers_cpu_ns(void)
{
	return atomic_load_explicit(&readers_cpu_ns, memory_order_relaxed);
}

static void *reader_main(void *arg)
{
	pd_thread_name("pd-link-read");
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	reader_run(arg);
	struct timespec t;
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t) == 0)
		atomic_fetch_add_explicit(&readers_cpu_ns,
		                          (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec,
		                          memory_order_relaxed);
	return NULL;
}

static void reader_free(tport_reader *r)
{
	for (int i = 0; i < RING; i++)
		free(r->chunk[i]);
	close(r->efd);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
	free(r);
	atomic_fetch_sub(&readers_running, 1);
}

static void reader_start(pd_tport *t)
{
	int max = atomic_load(&max_readers);
	if (max < 0)
		max = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (atomic_fetch_add(&readers_running, 1) >= max) {
		atomic_fetch_sub(&readers_running, 1);
		return;
	}
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (efd < 0) {
		atomic_fetch_sub(&readers_running, 1);
		return; /* the link reads in the driver's turn, as before */
	}
	tport_reader *r = xcalloc(1, sizeof *r);
	r->fd = t->fd;
	r->efd = efd;
	r->quiet_bps = atomic_load(&busy_bps) / 4;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	for (int i = 0; i < RING; i++)
		r->chunk[i] = xmalloc(READ_CHUNK); /* pages are touched as reads fill them */
	if (pthread_create(&r->th, NULL, reader_main, r) != 0) {
		reader_free(r);
		return;
	}
	t->rd = r;
}

/* Hands bytes read to the driver (see pd_tport_flush for in_data). */
static bool data(pd_tport *t, char *buf, size_t n)
{
	if (!t->cb.on_data)
		return true;
	bool was = t->in_data;
	t->in_data = true;
	bool go = t->cb.on_data(t->cb.ctx, buf, n);
	t->in_data = was;
	return go;
}

/* After data(): fails the transport for a send that failed under the
 * callback; true when it did. */
static bool data_done(pd_tport *t)
{
	if (t->in_data || !t->send_err)
		return false;
	int err = t->send_err;
	t->send_err = 0;
	send_failed(t, err);
	return true;
}

/* Stops and frees the reader (pd_tport_close): what it read and the driver
 * did not take is dropped with the connection. */
static void reader_stop(pd_tport *t)
{
	tport_reader *r = t->rd;
	if (!r)
		return;
	t->rd = NULL;
	pthread_mutex_lock(&r->mu);
	r->stop = true;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	shutdown(r->fd, SHUT_RDWR); /* wakes its poll; the socket is being closed */
	pthread_join(r->th, NULL);
	reader_free(r);
}

/* The reader ended itself (after its last buffer was taken): join it, then
 * either read in the driver's turn again or report EOF / the error. */
static void reader_finish(pd_tport *t)
{
	tport_reader *r = t->rd;
	t->rd = NULL;
	pthread_join(r->th, NULL);
	rd_end end = r->end;
	int err = r->err;
	reader_free(r);
	t->win_start = t->now;
	t->win_bytes = 0;
	if (end != RD_RETIRED)
		read_failed(t, end == RD_EOF ? 0 : -1, err);
}

/* The driver's turn over what the reader has filled: bounded like direct
 * reads; the poll comes back at once while buffers remain. */
static void reader_turn(pd_tport *t)
{
	tport_reader *r = t->rd;
	eventfd_t v;
	eventfd_read(r->efd, &v); /* EAGAIN when a previous turn took it all */
	for (int i = 0; i < READS_PER_TURN; i++) {
		pthread_mutex_lock(&r->mu);
		bool have = r->head != r->tail;
		unsigned slot = r->head % RING;
		rd_end end = r->end;
		pthread_mutex_unlock(&r->mu);
		if (!have) {
			if (end != RD_RUNNING)
				reader_finish(t);
			return;
		}
		bool go = data(t, r->chunk[slot], r->len[slot]);
		if (t->rd != r || data_done(t)) /* the transport closed or failed */
			return;
		pthread_mutex_lock(&r->mu);
		if (r->tail - ++r->head == RING / 2)
			pthread_cond_signal(&r->cv); /* a reader waiting on a full ring */
		pthread_mutex_unlock(&r->mu);
		if (!go)
			break;
	}
	pthread_mutex_lock(&r->mu);
	bool more = r->head != r->tail || r->end != RD_RUNNING;
	pthread_mutex_unlock(&r->mu);
	if (more)
		reader_post(r);
}

/* Bounded per turn; with TLS, bytes OpenSSL has already decrypted are not
 * seen by poll(), so they are drained. A plain link that brings busy_bps
 * within a window gets its reader. */
static void read_turn(pd_tport *t, char *buf)
{
	if (t->now - t->win_start >= WINDOW_MS) {
		t->win_start = t->now;
		t->win_bytes = 0;
	}
	for (int i = 0; t->phase == PD_TPORT_OPEN && (i < READS_PER_TURN || pd_tls_pending(t->ssl));
	     i++) {
		ssize_t r =
		    t->ssl ? pd_tls_read(t->ssl, buf, READ_CHUNK) : recv(t->fd, buf, READ_CHUNK, 0);
		if (r > 0) {
			t->win_bytes += (size_t)r;
			bool go = data(t, buf, (size_t)r);
			if (data_done(t) || !go)
				return;
			continue;
		}
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		read_failed(t, r, errno);
		return;
	}
	if (t->phase == PD_TPORT_OPEN && !t->ssl && !t->rd &&
	    (int64_t)t->win_bytes >= atomic_load(&busy_bps) && atomic_load(&busy_bps) >= 0)
		reader_start(t);
}

static void on_readable(pd_tport *t)
{
	if (t->rd) {
		reader_turn(t);
		return;
	}
	if (tl_rbuf_busy) { /* a callback reading another link: its own buffer */
		char *own = xmalloc(READ_CHUNK);
		read_turn(t, own);
		free(own);
		return;
	}
	tl_rbuf_busy = true;
	read_turn(t, read_buffer());
	tl_rbuf_busy = false;
}

int pd_tport_pollfds(const pd_tport *t, struct pollfd *p, int max)
{
	if (max < 1)
		return 0;
	if (t->res_fd >= 0) {
		p[0] = (struct pollfd){.fd = t->res_fd, .events = POLLIN};
		return 1;
	}
	if (t->fd < 0)
		return 0;
	if (t->rd) {
		p[0] = (struct pollfd){.fd = t->rd->efd, .events = POLLIN};
		if (max < 2 || t->out_off >= t->out.len)
			return 1;
		p[1] = (struct pollfd){.fd = t->fd, .events = POLLOUT};
		return 2;
	}
	short ev = POLLIN;
	if (t->phase == PD_TPORT_TLS)
		ev = pd_tls_wants_write(t->ssl) ? POLLOUT : POLLIN;
	else if (t->phase == PD_TPORT_CONNECTING || t->out_off < t->out.len ||
	         pd_tls_wants_write(t->ssl))
		ev |= POLLOUT;
	p[0] = (struct pollfd){.fd = t->fd, .events = ev};
	return 1;
}

void pd_tport_on_io(pd_tport *t, const struct pollfd *p, int64_t now)
{
	t->now = now;
	if (!p->revents)
		return;
	if (t->res_fd >= 0 && p->fd == t->res_fd) {
		on_resolved(t);
		return;
	}
	if (t->rd) { /* reads come from the reader; the socket is polled to write */
		if (p->fd == t->rd->efd)
			on_readable(t);
		else if (p->fd == t->fd && (p->revents & POLLOUT))
			pd_tport_flush(t);
		return;
	}
	if (t->fd < 0 || p->fd != t->fd)
		return;
	if (t->phase == PD_TPORT_CONNECTING) {
		on_connected(t);
		if (t->phase != PD_TPORT_OPEN)
			return;
	} else if (t->phase == PD_TPORT_TLS) {
		tls_step(t);
		if (t->phase == PD_TPORT_OPEN)
			on_readable(
			    t); /* the peer's first bytes may have come with the handshake */
		return;
	}
	if (p->revents & (POLLIN | POLLHUP | POLLERR))
		on_readable(t);
	if (t->phase == PD_TPORT_OPEN && !t->rd && (p->revents & POLLOUT))
		pd_tport_flush(t);
}

int64_t pd_tport_next_deadline(const pd_tport *t)
{
	return t->deadline;
}

void pd_tport_on_timer(pd_tport *t, int64_t now)
{
	t->now = now;
	if (now < t->deadline)
		return;
	fail_msg(t, PD_TPORT_E_TIMEOUT, N_("timed out during %s"), pd_msg_word(phase_id(t->phase)));
}

pd_tport_phase pd_tport_failed_phase(const pd_tport *t)
{
	return t->failed_phase;
}

int pd_tport_errno(const pd_tport *t)
{
	return t->sys_err;
}

void pd_tport_peer(const pd_tport *t, char *buf, size_t n)
{
	if (n)
		buf[0] = '\0';
	if (t->phase == PD_TPORT_RESOLVING || !t->have_peer || !n)
		return;
	if (getnameinfo((const struct sockaddr *)&t->peer.ss, t->peer.len, buf, (socklen_t)n, NULL,
	                0, NI_NUMERICHOST) != 0)
		buf[0] = '\0';
}

void pd_tport_step(pd_tport *t, int max_ms)
{
	struct pollfd p[2];
	int n = pd_tport_pollfds(t, p, 2);
	int64_t now = pd_live_now_ms(), dl = pd_tport_next_deadline(t);
	int wait = max_ms < 0 ? 0 : max_ms;
	if (dl != INT64_MAX && dl - now < wait)
		wait = dl <= now ? 0 : (int)(dl - now);
	int r = poll(p, (nfds_t)n, wait);
	now = pd_live_now_ms();
	t->now = now;
	for (int i = 0; r > 0 && i < n; i++)
		pd_tport_on_io(t, &p[i], now);
	pd_tport_on_timer(t, now);
}

/* ---- backoff ---- */

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

void pd_backoff_init(pd_backoff *b, int64_t min_ms, int64_t cap_ms, uint64_t seed)
{
	b->min_ms = min_ms > 0 ? min_ms : 1000;
	b->cap_ms = cap_ms > 0 ? cap_ms : 60000;
	if (b->cap_ms < b->min_ms)
		b->cap_ms = b->min_ms;
	b->attempts = 0;
	if (!seed)
		seed = (uint64_t)pd_live_now_ms() ^ (uint64_t)(uintptr_t)b;
	/* splitmix64 of the seed: nearby seeds (1, 2, 3...) start far apart */
	uint64_t z = seed + 0x9E3779B97F4A7C15ull;
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	z ^= z >> 31;
	b->rng = z ? z : 0x2545F4914F6CDD1Dull;
}

int64_t pd_backoff_next(pd_backoff *b)
{
	int n = b->attempts < 30 ? b->attempts : 30;
	int64_t hi = b->cap_ms;
	if (b->min_ms <= b->cap_ms >> (n + 1))
		hi = b->min_ms << (n + 1);
	int64_t lo = hi / 2 > b->min_ms ? hi / 2 : b->min_ms;
	b->attempts++;
	return lo + (int64_t)(xorshift(&b->rng) % (uint64_t)(hi - lo + 1));
}

void pd_backoff_reset(pd_backoff *b)
{
	b->attempts = 0;
}

/* ---- keep-alive ---- */

void pd_keepalive_start(pd_keepalive *k, int64_t now, int64_t interval_ms)
{
	k->interval_ms = interval_ms > 0 ? interval_ms : 1000;
	k->due_at = now + k->interval_ms;
	k->outstanding = false;
}

pd_ka_action pd_keepalive_check(const pd_keepalive *k, int64_t now)
{
	if (now < k->due_at)
		return PD_KA_WAIT;
	return k->outstanding ? PD_KA_OVERDUE : PD_KA_PING;
}

void pd_keepalive_sent(pd_keepalive *k, int64_t now)
{
	k->outstanding = true;
	k->due_at = now + k->interval_ms;
}

void pd_keepalive_answered(pd_keepalive *k)
{
	k->outstanding = false;
}

void pd_keepalive_heard(pd_keepalive *k, int64_t now)
{
	k->outstanding = false;
	k->due_at = now + k->interval_ms + k->interval_ms / 4;
}

int64_t pd_keepalive_deadline(const pd_keepalive *k)
{
	return k->due_at;
}

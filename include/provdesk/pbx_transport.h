/* The PBX transport: what every TCP/TLS driver needs, written once
 * (src/pbx/transport.c, src/pbx/tls.c; docs/architecture.md, "PBX layer").
 *
 * A pd_tport is one outgoing connection, driven by the driver's own poll
 * shape and never blocking: resolve (a numeric host at once, a name on a
 * detached resolver thread whose answer comes through a pipe), a
 * non-blocking connect to each address in turn, TLS when asked, then a
 * buffered write queue and reads handed to the driver's callback. Every
 * phase has a step timeout. On any failure the transport closes itself and
 * says which phase failed (pd_tport_fail) with a text that names host and
 * cause; it never sees a secret.
 *
 * Beside it: capped exponential backoff with jitter (pd_backoff) and the
 * keep-alive timing (pd_keepalive), which hold numbers only. */
#ifndef PROVDESK_PBX_TRANSPORT_H
#define PROVDESK_PBX_TRANSPORT_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "provdesk/error.h"
#include "provdesk/util.h"

/* ---- TLS (OpenSSL) on a connected non-blocking socket ----
 * Reads and writes behave like recv/send: -1 with errno EAGAIN while
 * OpenSSL waits for the socket; pd_tls_wants_write() then says whether to
 * poll for POLLOUT (else POLLIN). */
typedef struct pd_tls pd_tls;
typedef struct pd_tls_server pd_tls_server;

/* verify: check the certificate chain (system store, plus ca_file when set)
 * and that it names host (a DNS name or an IP address). */
pd_status pd_tls_client_new(int fd, const char *host, bool verify, const char *ca_file,
                            pd_tls **out, pd_err *e);
/* Server side (the lab PBX): certificate and key files (PEM). */
pd_status pd_tls_server_new(const char *cert_file, const char *key_file, pd_tls_server **out,
                            pd_err *e);
void pd_tls_server_free(pd_tls_server *s);
pd_tls *pd_tls_accept_new(pd_tls_server *s, int fd);
/* 1 done, 0 in progress (poll, then call again), -1 failed: why says what
 * (a pd_msg, read with pd_msg_text), "TLS: certificate verify failed
 * (...)" for a refused certificate. */
int pd_tls_handshake(pd_tls *t, char *why, size_t whyn);
ssize_t pd_tls_read(pd_tls *t, void *buf, size_t n);
ssize_t pd_tls_write(pd_tls *t, const void *buf, size_t n);
bool pd_tls_wants_write(const pd_tls *t);
/* Bytes already decrypted and waiting (poll would not report them). */
size_t pd_tls_pending(const pd_tls *t);
void pd_tls_free(pd_tls *t); /* does not close the fd */

/* ---- the connection ---- */

typedef enum {
	PD_TPORT_CLOSED,    /* not started, closed, or failed */
	PD_TPORT_RESOLVING, /* waiting for the resolver thread */
	PD_TPORT_CONNECTING,
	PD_TPORT_TLS, /* the handshake */
	PD_TPORT_OPEN,
} pd_tport_phase;

/* What failed: a driver maps these to its link state and `pbx test` to an
 * exit code, never the text. */
typedef enum {
	PD_TPORT_E_RESOLVE, /* "cannot resolve host H: ..." */
	PD_TPORT_E_CONNECT, /* "TCP connect to H:P: ..." (every address tried) */
	PD_TPORT_E_TLS,     /* handshake or certificate ("TLS: ...") */
	PD_TPORT_E_SETUP,   /* the local TLS setup (the CA file cannot be read) */
	PD_TPORT_E_TIMEOUT, /* a phase took longer than step_timeout_ms */
	PD_TPORT_E_IO,      /* send or receive failed on the open link */
	PD_TPORT_E_EOF,     /* the peer closed the open link */
} pd_tport_fail;

typedef struct {
	const char *host; /* copied */
	int port;
	bool tls;
	bool tls_verify;         /* certificate and host name (default for drivers: true) */
	const char *tls_ca_file; /* a private CA (a lab's); may be NULL; copied */
	int step_timeout_ms;     /* each of resolve, connect, TLS; 0 = 15000 */
} pd_tport_conf;

typedef struct {
	void *ctx;
	/* Connected (TLS done when asked): the driver may write. */
	void (*on_open)(void *ctx);
	/* Bytes read. Return false to stop reading in this turn (e.g. after the
	 * driver met a protocol error it acts on once the call returns). buf is
	 * the transport's read buffer, the callback's until it returns: it may
	 * write into it (the AMI parser NUL-terminates fields in place). */
	bool (*on_data)(void *ctx, char *buf, size_t n);
	/* The transport failed and is already closed; why is for people (it
	 * never holds a secret: the transport has none), most often a pd_msg
	 * to be shown with pd_msg_text in the reader's language. Called from inside
	 * pd_tport_* calls: it must not destroy the transport (closing or
	 * restarting it is fine once the call returns). */
	void (*on_fail)(void *ctx, pd_tport_fail what, const char *why);
} pd_tport_cb;

typedef struct pd_tport pd_tport;

pd_tport *pd_tport_new(const pd_tport_conf *c, const pd_tport_cb *cb);
void pd_tport_free(pd_tport *t); /* closes; a running resolver thread finds its pipe gone */
/* Start (or restart after a failure): resolve, connect, TLS. A failure that
 * is known at once (e.g. no pipe) is reported through on_fail. */
void pd_tport_open(pd_tport *t, int64_t now_ms);
void pd_tport_close(pd_tport *t); /* drops the write queue too; no callback */
pd_tport_phase pd_tport_get_phase(const pd_tport *t);
/* "name resolution", "TCP connect", "the TLS handshake", "" */
const char *pd_tport_phase_name(pd_tport_phase p);
/* The phase the last failure happened in (PD_TPORT_CLOSED before any). */
pd_tport_phase pd_tport_failed_phase(const pd_tport *t);
/* The system error of the last connect/send/receive failure (0 if none). */
int pd_tport_errno(const pd_tport *t);
/* The numeric address being dialled or connected ("" before resolving). */
void pd_tport_peer(const pd_tport *t, char *buf, size_t n);
/* One turn for a transport on its own (a driver's `test` op): poll() at
 * most max_ms (less when the step deadline is sooner), then on_io and
 * on_timer. */
void pd_tport_step(pd_tport *t, int max_ms);

/* The poll shape, at most max (up to 2) pollfds: the resolver pipe, or the
 * socket with the events the phase needs; while a busy link reads on its
 * own thread, that reader's eventfd, and the socket only to write. 0 when
 * closed. */
int pd_tport_pollfds(const pd_tport *t, struct pollfd *p, int max);
/* A pollfd that is not this transport's is ignored. Reads in this turn are
 * bounded (256 KiB x 8, or what TLS has already decrypted). */
void pd_tport_on_io(pd_tport *t, const struct pollfd *p, int64_t now_ms);

/* A plain (not TLS) link that brings bytes_per_s within a second has its
 * reads moved to a thread of its own, which ends itself when a second
 * brings less than a quarter of that; at most max such threads in the
 * process (-1: one per online CPU). Default: 1 MiB/s, -1. bytes_per_s 0:
 * every plain link from its first read (tests); negative: never. */
void pd_tport_set_reader(int64_t bytes_per_s, int max);
int pd_tport_readers(void); /* readers running in the process */
/* The CPU time of the readers that have ended, process-wide (benchmarks:
 * what a busy link's reads cost beside the driver's parsing). */
uint64_t pd_tport_readers_cpu_ns(void);
bool pd_tport_reading_apart(const pd_tport *t);
/* The step deadline while opening; INT64_MAX when open or closed. */
int64_t pd_tport_next_deadline(const pd_tport *t);
/* Reports PD_TPORT_E_TIMEOUT when the step deadline has passed. */
void pd_tport_on_timer(pd_tport *t, int64_t now_ms);

/* Queue bytes; written as the socket takes them (pd_tport_flush tries at
 * once). Queued bytes are dropped by close and by a failure. A flush from
 * inside on_data may send, but a send that fails there fails the transport
 * (on_fail) only once on_data has returned. */
void pd_tport_send(pd_tport *t, const void *buf, size_t n);
void pd_tport_flush(pd_tport *t);
size_t pd_tport_queued(const pd_tport *t);

/* ---- capped exponential backoff with jitter ----
 * The n-th retry (n = attempts so far, from 0) waits a delay drawn in
 * [max(min, hi/2), hi] with hi = min(cap, min * 2^(n+1)): always within
 * [min, cap], doubling, and spread so that many links dropped at the same
 * moment (a PBX restart) do not redial in step. The generator is a
 * xorshift seeded per instance; tests give a seed. */
typedef struct {
	int64_t min_ms, cap_ms;
	int attempts;
	uint64_t rng;
} pd_backoff;

/* min_ms <= 0: 1000; cap_ms <= 0: 60000; cap below min: min. seed 0: from
 * the clock and the address of b. */
void pd_backoff_init(pd_backoff *b, int64_t min_ms, int64_t cap_ms, uint64_t seed);
int64_t pd_backoff_next(pd_backoff *b); /* the delay; counts an attempt */
void pd_backoff_reset(pd_backoff *b);   /* after a link came up */

/* ---- keep-alive timing ----
 * A ping every interval; a ping still unanswered when the next one is due
 * means the link is dead. A PBX that says on its own that it is alive
 * (FreeSWITCH's HEARTBEAT) saves the pings: pd_keepalive_heard. */
typedef struct {
	int64_t interval_ms, due_at;
	bool outstanding;
} pd_keepalive;

typedef enum { PD_KA_WAIT, PD_KA_PING, PD_KA_OVERDUE } pd_ka_action;

void pd_keepalive_start(pd_keepalive *k, int64_t now_ms, int64_t interval_ms);
/* PD_KA_PING: send one now, then pd_keepalive_sent. */
pd_ka_action pd_keepalive_check(const pd_keepalive *k, int64_t now_ms);
void pd_keepalive_sent(pd_keepalive *k, int64_t now_ms);
void pd_keepalive_answered(pd_keepalive *k);
/* The PBX said it is alive unasked: as an answer, and the next ping is due
 * an interval and a quarter from now, so heartbeats as far apart as the
 * interval (FreeSWITCH's 20 s, the default ping_interval) arrive before a
 * ping is due and none is sent. When they stop, a ping goes out; when
 * neither it is answered nor a heartbeat comes, the link is dead. */
void pd_keepalive_heard(pd_keepalive *k, int64_t now_ms);
int64_t pd_keepalive_deadline(const pd_keepalive *k);

#endif

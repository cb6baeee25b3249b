/* The daemon of `provdesk serve` (docs/architecture.md, "provdesk serve"):
 * one per database (a flock on pd_serve_lock_path holds it, the pid written
 * in the file). It owns the PBX monitor and its pd_live, the outbox worker
 * (when [smtp] url is set), the scheduled resync ([serve] resync_interval)
 * and, through the monitor's periodic re-read of the customers, trial expiry
 * on its day. One thread (the caller of pd_serve_run) owns the listening
 * socket and every client in one poll() loop: the wire is in
 * include/provdesk/serve.h.
 *
 * Who may attach follows the database file: the peer's credentials
 * (SO_PEERCRED) against its owner and mode bits: root, the owner or write
 * permission → read-write; read permission only → read-only (requests other
 * than "status" are refused); neither → {"t":"error","code":"permission"}
 * and closed. A client whose output queue passes max_queue bytes is dropped
 * (it reconnects and gets a fresh snapshot) so a slow client never slows
 * the others.
 *
 * Logs go to opts.log (stderr by default), one line per event, "provdesk
 * serve: …", PBX text passed through pd_term_escape, never a secret. */
#ifndef PROVDESK_SERVE_SERVER_H
#define PROVDESK_SERVE_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "provdesk/error.h"
#include "provdesk/monitor.h"

#define PD_SERVE_MAX_QUEUE (32u * 1024 * 1024) /* a client's unsent bytes before a drop */

typedef struct pd_serve pd_serve;

typedef struct {
	const char *db_path;     /* required; borrowed */
	const char *config_path; /* NULL: the default place; read again by pd_serve_reload */
	bool auto_exit;          /* --auto: exit [serve] idle_exit s after the last client left */
	const char *api_listen;  /* --listen ADDR:PORT: the API there, whatever [api] listen says */
	size_t max_queue;        /* 0 = PD_SERVE_MAX_QUEUE */
	const pd_monitor_opts *monitor; /* NULL: the defaults (tests make it fast) */
	FILE *log;                      /* NULL = stderr */
} pd_serve_opts;

/* Loads the configuration and the catalogue, takes the database's lock
 * (PD_E_TEMPFAIL naming the pid that holds it), opens (creates, migrates)
 * the database, listens on pd_serve_socket_path (so a connect succeeds once
 * this returns) and starts the monitor and the outbox worker. */
pd_status pd_serve_open(const pd_serve_opts *o, pd_serve **out, pd_err *e);
/* The loop, until pd_serve_stop or (auto_exit) idle. PD_OK on a clean stop. */
pd_status pd_serve_run(pd_serve *s, pd_err *e);
/* Async-signal-safe (a byte on a self-pipe): end pd_serve_run / re-read the
 * configuration at its next turn. */
void pd_serve_stop(pd_serve *s);
void pd_serve_reload(pd_serve *s);
/* SIGTERM and SIGINT → pd_serve_stop, SIGHUP → pd_serve_reload, SIGPIPE
 * ignored. For one pd_serve per process (the command). */
void pd_serve_handle_signals(pd_serve *s);
/* Closes the links (pd_monitor_stop), stops the worker, closes the clients,
 * unlinks the socket and releases the lock. NULL is fine. */
void pd_serve_close(pd_serve *s);

/* What the daemon did, for tests and `serve --status`. */
typedef struct {
	int64_t clients;           /* connected now */
	int64_t accepted;          /* connections so far */
	int64_t refused;           /* refused for permission */
	int64_t dropped_slow;      /* dropped: queue past max_queue */
	int64_t closed_protocol;   /* closed for a bad, truncated or oversized line */
	int64_t broadcasts;        /* view/gone/sync lines queued to the clients */
	int64_t scheduled_resyncs; /* rounds of the scheduled resync */
	int64_t reloads;           /* configurations re-read and applied */
	int64_t links;             /* customers known to the monitor */
} pd_serve_stats;
void pd_serve_get_stats(pd_serve *s, pd_serve_stats *out);

/* Whether a daemon holds the lock of db_path: PD_OK with *pid (0 when it
 * has not written it yet), PD_E_UNAVAILABLE when none runs. */
pd_status pd_serve_running(const char *db_path, pid_t *pid, pd_err *e);

#endif

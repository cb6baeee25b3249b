/* A client of the per-host daemon (docs/architecture.md, "provdesk serve"):
 * the console, the NOC screen and the commands attach to `provdesk serve`
 * over its Unix socket (include/provdesk/serve.h) instead of opening PBX
 * links of their own.
 *
 * One thread per client: it connects (with autostart, when no daemon
 * answers it runs `/proc/self/exe [--db D] [--config C] serve --detach
 * --auto`: only one daemon wins the database's lock, the others' starts
 * fail and they just connect), says hello, and for a live client mirrors
 * the daemon's views into the caller's pd_live (pd_live_put, pd_live_remove)
 * and keeps each customer's last sync result. Requests are matched to their
 * replies by id, with timeouts.
 *
 * When the daemon goes away (EOF, kill -9) every customer of the mirror goes
 * PD_LINK_RETRYING with last_error "monitor lost, restarting" (its data kept
 * and marked stale by pd_live_set_link); the thread reconnects with a
 * backoff (starting a daemon again with autostart) and takes a fresh
 * snapshot, which replaces the mirror whole. No client ever opens a PBX link
 * of its own as a fallback.
 *
 * Every line from the daemon is bounded (PD_SERVE_MAX_MSG); a malformed one
 * drops the connection (and the thread reconnects). */
#ifndef PROVDESK_SERVE_CLIENT_H
#define PROVDESK_SERVE_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "provdesk/error.h"
#include "provdesk/i18n.h"
#include "provdesk/live.h"
#include "provdesk/store.h"

/* The last_error a customer's link shows while the daemon is away: only
 * marked, shown through _(PD_SERVE_LOST_TEXT). */
#define PD_SERVE_LOST_TEXT N_("monitor lost, restarting")

typedef struct pd_serve_client pd_serve_client;
typedef struct {
	const char *db_path, *config_path; /* config_path may be NULL */
	const char *kind;                  /* "console", "noc", "cli" */
	bool live;                         /* mirror views into the pd_live */
	bool autostart;                    /* start `serve --detach --auto` when none */
	const char *exe;                   /* the program to start; NULL: /proc/self/exe */
} pd_serve_client_opts;

/* Starts the thread (returns at once; the connection follows). live is
 * borrowed, must outlive the client and may be NULL for a client that is
 * not live. The options' strings are copied. */
pd_status pd_serve_client_start(const pd_serve_client_opts *o, pd_live *live, pd_serve_client **out,
                                pd_err *e);
/* Attached now: the daemon answered hello (and, live, its snapshot is in). */
bool pd_serve_client_attached(pd_serve_client *c);
/* The hello said rw (the NOC and a read-only user are ro: no command). */
bool pd_serve_client_writable(pd_serve_client *c);
/* Waits until attached with the snapshot in (PD_OK), or up to timeout_ms.
 * PD_E_UNAVAILABLE at once when no daemon answers and autostart is off
 * ("no monitor running"), or after the timeout; e says why. */
pd_status pd_serve_client_wait(pd_serve_client *c, int timeout_ms, pd_err *e);
/* Why the client is not attached, for people ("" when attached):
 * "connecting to the monitor", "monitor lost, restarting", or the reason a
 * daemon could not be started. */
void pd_serve_client_error(pd_serve_client *c, char *buf, size_t n);
/* The attached daemon's pid (0 when not attached) and how many times this
 * client has attached (1 after the first snapshot, 2 after a restart, …). */
int64_t pd_serve_client_daemon_pid(pd_serve_client *c);
int64_t pd_serve_client_attaches(pd_serve_client *c);
/* True when no daemon ran and this client started the one it attached to:
 * whatever that daemon did since (a first discovery) was done for it. */
bool pd_serve_client_spawned(pd_serve_client *c);

/* Sends a request without waiting for its reply (the console's "outbox_send"
 * kick after its own commits); queued until attached. */
void pd_serve_client_send(pd_serve_client *c, const char *op, json_t *args);
/* Asks the daemon for a re-discovery of one customer (returns at once; the
 * reply is not waited for). The result comes as a sync broadcast:
 * pd_serve_client_last_sync. */
void pd_serve_client_resync(pd_serve_client *c, int64_t cid);
/* The console's Esc: see pd_monitor_resync_cancel. Waits a few seconds at
 * most for the daemon's answer; false when none or not cancelled. */
bool pd_serve_client_resync_cancel(pd_serve_client *c, int64_t cid, int64_t seq);
/* The last sync broadcast for a customer since this client attached to the
 * current daemon; false when none. *seq (may be NULL) is the daemon's count. */
bool pd_serve_client_last_sync(pd_serve_client *c, int64_t cid, pd_sync_result *r, int64_t *seq);
/* The first sync broadcast for a customer since this client attached to the
 * current daemon (a daemon it started: that daemon's first discovery, even
 * when a later one came before the caller looked); false when none. */
bool pd_serve_client_first_sync(pd_serve_client *c, int64_t cid, pd_sync_result *r, int64_t *seq);
/* Sends {"t":"req","id":N,"op":op, args' members…} (args borrowed, may be
 * NULL) once attached and waits for its reply, at most timeout_ms in all.
 * PD_OK with *reply (caller json_decref) when ok:true; a refusal is the
 * reply's status (PD_E_AUTH for "permission") with its message; the daemon
 * lost before the reply or the timeout: PD_E_UNAVAILABLE. */
pd_status pd_serve_client_request(pd_serve_client *c, const char *op, json_t *args, json_t **reply,
                                  int timeout_ms, pd_err *e);
/* Closes the connection and joins the thread; the pd_live keeps what it
 * holds. NULL is fine. */
void pd_serve_client_stop(pd_serve_client *c);

#endif

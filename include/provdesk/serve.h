/* One monitor per host (docs/architecture.md, "provdesk serve"): a daemon
 * per database owns every PBX link, the outbox sender, trial expiry and the
 * scheduled resync; consoles, NOC screens and commands attach over a Unix
 * domain socket and mirror its live state into their own pd_live.
 *
 * The wire (version PD_SERVE_PROTO): one JSON object per line ("\n"), UTF-8,
 * every object has "t" (its type). A line from the daemon is at most
 * PD_SERVE_MAX_MSG bytes, one from a client at most PD_SERVE_MAX_REQ; a
 * longer, truncated or malformed line closes that peer only.
 *
 *   client → daemon  {"t":"hello","v":1,"client":"console"|"noc"|"cli","live":true|false}
 *   daemon → client  {"t":"hello","v":1,"pid":N,"rw":true|false,"since":UNIX_S}
 *                    or {"t":"error","code":"version","message":"…"} and close
 *   daemon → client  (live clients) every known customer as {"t":"view",…},
 *                    then {"t":"snapshot_end"}, then deltas in order:
 *                    {"t":"view",…}   the whole pd_live_view of one customer
 *                    {"t":"gone","customer":ID}
 *                    {"t":"sync","customer":ID,"seq":N,"result":{added,…}}
 *   client → daemon  {"t":"req","id":N,"op":OP,…}  OP: "resync" {customer},
 *                    "resync_cancel" {customer,seq}, "outbox_send", "status"
 *   daemon → client  {"t":"reply","id":N,"ok":true,…} or
 *                    {"t":"reply","id":N,"ok":false,"status":"<pd_status name>","message":"…"}
 *
 * Times in a view are CLOCK_MONOTONIC milliseconds (pd_live_now_ms): the
 * same clock in every process of the host. */
#ifndef PROVDESK_SERVE_H
#define PROVDESK_SERVE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "provdesk/error.h"
#include "provdesk/live.h"
#include "provdesk/store.h"

#define PD_SERVE_PROTO 1
#define PD_SERVE_MAX_MSG (16u * 1024 * 1024) /* daemon → client line */
#define PD_SERVE_MAX_REQ (64u * 1024)        /* client → daemon line */

/* ---- framing ---- */
typedef struct {
	char *buf;
	size_t len, cap, max;
} pd_sp_reader;
void pd_sp_reader_init(pd_sp_reader *r, size_t max);
void pd_sp_reader_free(pd_sp_reader *r);
/* Appends n bytes read from the peer. PD_E_PROTOCOL when the line being
 * read grows past max (the peer is to be closed). */
pd_status pd_sp_reader_feed(pd_sp_reader *r, const char *p, size_t n, pd_err *e);
/* The next complete line as a JSON object with a string "t": 1 and *msg
 * (caller json_decref), 0 when no whole line is buffered, -1 with e set
 * (PD_E_PROTOCOL) for a line that is not such an object. After buffer
 * shrink back (a large message does not hold memory for good). */
int pd_sp_reader_next(pd_sp_reader *r, json_t **msg, pd_err *e);
/* One line: compact JSON + "\n" (malloc'd, *len set); NULL on failure. */
char *pd_sp_encode(const json_t *msg, size_t *len);

/* ---- messages ---- */
json_t *pd_sp_view_to_json(const pd_live_view *v); /* {"t":"view",…} */
/* Every field checked (types, enums in range, strings valid UTF-8 and
 * bounded, arrays at most the per-link caps); PD_E_PROTOCOL naming the
 * field. out is freed with pd_live_free_view. */
pd_status pd_sp_view_from_json(const json_t *o, pd_live_view *out, pd_err *e);
json_t *pd_sp_sync_to_json(int64_t cid, int64_t seq, const pd_sync_result *r);
pd_status pd_sp_sync_from_json(const json_t *o, int64_t *cid, int64_t *seq, pd_sync_result *r,
                               pd_err *e);

/* ---- where ---- */
/* The daemon's socket for a database: "<db>.sock" when that path fits a
 * sockaddr_un, else $XDG_RUNTIME_DIR/provdesk/<hash>.sock, else
 * /tmp/provdesk-<uid>/<hash>.sock (hash of the database's real path).
 * malloc'd; NULL with e set when the database path cannot be resolved. */
char *pd_serve_socket_path(const char *db_path, pd_err *e);
/* "<db>.serve.lock": held (flock) by the one daemon of that database. */
char *pd_serve_lock_path(const char *db_path);

#endif

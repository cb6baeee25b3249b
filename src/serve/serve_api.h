/* The HTTP API inside the daemon: see serve_api.c. */
#ifndef PROVDESK_SERVE_API_H
#define PROVDESK_SERVE_API_H

#include <stddef.h>
#include <stdint.h>

#include "provdesk/config.h"
#include "provdesk/live.h"
#include "provdesk/store.h"

typedef struct serve_api serve_api;

/* Starts the API when listen (serve --listen, may be NULL) or else the
 * configuration's [api] listen is set (*out NULL and PD_OK when neither
 * is). live and so's catalogue are borrowed and outlive the API; wake_fd is
 * written ("R") when a resync is queued. */
pd_status serve_api_start(const char *db_path, const char *config_path, const char *listen,
                          const pd_store_opts *so, pd_live *live, int wake_fd, serve_api **out,
                          pd_err *e);
/* The address served ("" when the API is off) and its port. */
const char *serve_api_listen(const serve_api *a);
int serve_api_port(const serve_api *a);
/* The customers whose resync the API asked since the last call (caller
 * frees *out). */
size_t serve_api_take_resyncs(serve_api *a, int64_t **out);
/* The daemon's loop saw the monitor finish a sync of cid (its count seq):
 * an API request waiting for that customer's resync is answered. */
void serve_api_note_sync(serve_api *a, int64_t cid, int64_t seq, const pd_sync_result *r);
/* SIGHUP: the certificate and key of nc read again (the listening address
 * and the rest of [api] take a restart). */
pd_status serve_api_reload_tls(serve_api *a, const pd_config *nc, pd_err *e);
void serve_api_stop(serve_api *a);

#endif

/* The HTTP provisioning API (docs/user-guide.md "HTTP API", docs/architecture.md
 * "HTTP API"): JSON resources under /v1 served by libmicrohttpd on its own
 * threads, each with its own store connection. The daemon (`provdesk serve`)
 * starts it with one call when [api] listen is set, and stops it on exit. */
#ifndef PROVDESK_API_H
#define PROVDESK_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "provdesk/config.h"
#include "provdesk/error.h"
#include "provdesk/store.h"

typedef struct pd_api pd_api;

/* What needs the daemon's PBX links: POST …/pbx/test and …/pbx/resync. */
typedef enum { PD_API_PBX_TEST, PD_API_PBX_RESYNC } pd_api_pbx_op;

/* Hooks the daemon sets; a NULL hook answers 503 (code "unavailable"). They
 * run on an API thread; they must be thread-safe and bounded in time. */
typedef struct {
	void *ctx;
	/* Runs op for the customer, with the request thread's store s; *reply
	 * (a JSON object, handed over) is the answer's body on PD_OK. On an
	 * error *reply may be set too: its members are added beside "error"
	 * (pbx test: the steps it tried). */
	pd_status (*pbx_action)(void *ctx, pd_api_pbx_op op, pd_store *s, int64_t customer_id,
	                        json_t **reply, pd_err *e);
	/* GET /v1/events (Server-Sent Events of live state). next() fills buf
	 * with up to max bytes of the stream (whole "event: …\ndata: …\n\n"
	 * events), waiting at most wait_ms (the API passes 0: it parks the
	 * connection itself and asks again on its next tick); returns the bytes
	 * written, 0 when nothing is new, -1 to end the stream. open() returns
	 * the per-client state given to next() and close(). */
	void *(*events_open)(void *ctx);
	long (*events_next)(void *stream, char *buf, size_t max, int wait_ms);
	void (*events_close)(void *stream);
} pd_api_hooks;

typedef struct {
	const char *db_path;
	pd_store_opts store;     /* catalogue required, borrowed, as the program loads it
	                          * (pd_drivers_mark_supported applied) */
	const pd_config *config; /* trial default days etc.; borrowed; NULL = defaults */
	const char *listen;      /* "ADDR:PORT", "[ADDR6]:PORT"; port 0 = any free port */
	const char *cert_path;   /* PEM certificate and key: HTTPS */
	const char *key_path;
	/* Plain HTTP: only with allow_plain and only on a loopback address
	 * (127.0.0.0/8, ::1); anything else is PD_E_CONFIG. */
	bool allow_plain;
	const char *openapi_path; /* NULL: data/openapi.json as installed */
	/* limits; 0 = the default */
	size_t max_body;          /* bytes of a request body, 1 MiB */
	unsigned timeout_s;       /* an idle or slow connection is closed, 30 s */
	unsigned max_connections; /* 1024 */
	unsigned threads;         /* worker threads, 2 (1..4) */
	unsigned rate_per_minute; /* per token, 600 */
	unsigned rate_burst;      /* per token, 60 */
	pd_api_hooks hooks;
} pd_api_opts;

/* Binds and starts serving; PD_E_CONFIG (field api.listen/api.cert/api.key)
 * for a bad address, a missing certificate or plain HTTP where refused,
 * PD_E_UNAVAILABLE when the address cannot be bound. */
pd_status pd_api_start(const pd_api_opts *o, pd_api **out, pd_err *e);
/* SIGHUP: the certificate and key read again. In-flight requests finish on
 * the old ones; new connections get the new ones on the same socket. A file
 * that cannot be read or used keeps the old certificate (PD_E_CONFIG naming
 * api.cert or api.key); an API on plain HTTP stays so (PD_E_CONFIG). */
pd_status pd_api_reload_tls(pd_api *a, const char *cert_path, const char *key_path, pd_err *e);
/* The port bound (useful with port 0). */
int pd_api_port(const pd_api *a);
/* Stops accepting, finishes the requests in progress, closes the worker
 * threads' store connections, frees a. NULL is a no-op. */
void pd_api_stop(pd_api *a);

/* The router's table, for the test that holds the OpenAPI document to it:
 * false past the end. pattern: "/v1/customers/{id}". */
bool pd_api_route(size_t i, const char **method, const char **pattern);

#endif

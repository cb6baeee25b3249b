/* Private to src/api: one request as the handlers see it, and the helpers
 * they share. server.c owns libmicrohttpd, limits, tokens and the router;
 * routes.c the resources. */
#ifndef PROVDESK_API_INTERNAL_H
#define PROVDESK_API_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "provdesk/dl_mhd.h"
#include <jansson.h>

#include "provdesk/api.h"
#include "provdesk/store_api.h"

#define API_MAX_PARAMS 4

typedef struct {
	pd_api *api;
	struct MHD_Connection *conn;
	const char *method;
	const char *body; /* NUL-terminated copy, body_len bytes */
	size_t body_len;
	const char *params[API_MAX_PARAMS]; /* the {…} segments of the route, in order */
	pd_store *s;
	const pd_catalogue *cat;
	const pd_config *cfg;
	pd_api_token tok;
	pd_actor actor;
	/* the answer: a JSON document, or raw bytes of ctype */
	int status;
	json_t *doc;
	char *raw;
	size_t raw_len;
	const char *ctype;
	char etag[32];
	bool replayed;    /* answered from the Idempotency-Key table */
	bool sse;         /* GET /v1/events: the server streams the hooks' events */
	const char *lang; /* "en" or "fr": the messages' language, Content-Language */
} api_req;

typedef void (*api_handler)(api_req *r);

/* Answers r with the error e (status from the one table, api_http_status);
 * http overrides it when non-zero, code overrides the status's code. */
void api_fail(api_req *r, const pd_err *e, int http, const char *code);
void api_failf(api_req *r, pd_status st, int http, const char *code, const char *field,
               const char *fmt, ...) __attribute__((format(printf, 6, 7)));
int api_http_status(pd_status st);
/* The request's query argument (NULL when absent). */
const char *api_query(api_req *r, const char *key);
const char *api_header(api_req *r, const char *key);
const char *api_openapi(const pd_api *a, size_t *len);
const pd_api_hooks *api_hooks(const pd_api *a);

/* Handlers (routes.c). */
void api_r_openapi(api_req *r);
void api_r_customers_list(api_req *r);
void api_r_customers_create(api_req *r);
void api_r_customer_get(api_req *r);
void api_r_customer_patch(api_req *r);
void api_r_customer_delete(api_req *r);
void api_r_users_list(api_req *r);
void api_r_user_add(api_req *r);
void api_r_user_remove(api_req *r);
void api_r_user_role(api_req *r);
void api_r_trial_extend(api_req *r);
void api_r_trial_convert(api_req *r);
void api_r_pbx_status(api_req *r);
void api_r_pbx_test(api_req *r);
void api_r_pbx_resync(api_req *r);
void api_r_events(api_req *r);
void api_r_catalogue(api_req *r);
void api_r_billing(api_req *r);

#endif

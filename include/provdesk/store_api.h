/* The HTTP API's rows in the store (src/store/api.c, migration 10): API
 * tokens, kept as the SHA-256 of their secret, and the answers to POSTs sent
 * with an Idempotency-Key (docs/architecture.md, "HTTP API"). */
#ifndef PROVDESK_STORE_API_H
#define PROVDESK_STORE_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "provdesk/store.h"

/* What a token may do: read (GET of customers, users, catalogue, PBX state),
 * provision (read, and every change), billing (the billing export and the
 * catalogue). */
typedef enum { PD_SCOPE_READ, PD_SCOPE_PROVISION, PD_SCOPE_BILLING } pd_api_scope;
const char *pd_api_scope_name(pd_api_scope s);
bool pd_api_scope_parse(const char *s, pd_api_scope *out);

typedef struct {
	int64_t id;
	char *name;
	pd_api_scope scope;
	char *created_by;
	int64_t created_at;
	int64_t revoked_at; /* 0: live */
} pd_api_token;
void pd_api_token_free(pd_api_token *t);
void pd_api_tokens_free(pd_api_token *v, size_t n);

/* Token names: 1..64 of [A-Za-z0-9._-] (they appear in the audit log's
 * "who"); PD_E_INVALID on "name" otherwise. */
pd_status pd_check_api_token_name(const char *name, pd_err *e);

/* A new token: *secret receives the text to give the client system, shown
 * once ("pdk_" and 64 hex digits; only its SHA-256 is stored). PD_E_INVALID
 * on "name" when a live token already has the name. Audited. */
pd_status store_api_token_create(pd_store *s, const char *name, pd_api_scope scope,
                                 const pd_actor *a, char **secret, pd_api_token *out, pd_err *e);
pd_status store_api_token_list(pd_store *s, bool include_revoked, pd_api_token **out, size_t *n,
                               pd_err *e);
/* Revokes the live token with this name; PD_E_NOTFOUND on "name" when none. */
pd_status store_api_token_revoke(pd_store *s, const char *name, const pd_actor *a, pd_err *e);
/* The live token whose secret this is; PD_E_AUTH when none. */
pd_status store_api_token_check(pd_store *s, const char *secret, pd_api_token *out, pd_err *e);

/* The answer kept for (token, key): PD_E_NOTFOUND when none. */
pd_status store_api_idem_get(pd_store *s, int64_t token_id, const char *key, char **request_hash,
                             int *http_status, char **body, pd_err *e);
/* Keeps an answer (in the caller's transaction when inside store_begin, so
 * the answer and the change it reports commit together); answers older than
 * a day are dropped. PD_E_CONFLICT when the key is already taken. */
pd_status store_api_idem_put(pd_store *s, int64_t token_id, const char *key,
                             const char *request_hash, int http_status, const char *body,
                             pd_err *e);

/* Lower-case hex SHA-256 of n bytes (out: 65 bytes). */
void pd_sha256_hex(const void *data, size_t n, char out[65]);

#endif

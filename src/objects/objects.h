/* The objects as JSON, with the snake_case names of include/provdesk/model.h,
 * and the look-ups of what a person or a client system names (a customer, a
 * role), shared by the command line's --json output (src/cli) and the HTTP
 * API (src/api), so both give the same objects, fields and errors.
 * Built as its own small library (libpd_objects, src/objects/meson.build); docs/architecture.md. */
#ifndef PROVDESK_CLI_OBJECTS_H
#define PROVDESK_CLI_OBJECTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "provdesk/geo.h"
#include "provdesk/model.h"
#include "provdesk/store.h"

/* JSON helpers: NULL or "" -> null. */
json_t *pd_json_str(const char *s);
json_t *pd_json_day(pd_day d);
json_t *pd_json_time(int64_t unix_seconds); /* ISO 8601 UTC, 0 -> null */
void pd_fmt_time(int64_t unix_seconds, char out[32]);
/* Money: cents -> "12.34". */
void pd_fmt_money(int64_t cents, char out[32]);
json_t *pd_json_customer(const pd_customer *c, pd_day today);
/* A grid row as `customer list --json` gives it: the customer plus its
 * status, user count and PBX state. */
json_t *pd_json_customer_row(const pd_row *r, pd_day today);
/* A customer as `customer show --json` gives it: the customer, its users,
 * PBX connection (never the secret) with its live state, sub-accounts and
 * the warnings (warning NULL: none). */
pd_status pd_json_customer_full(pd_store *s, const pd_catalogue *cat, const pd_customer *cu,
                                const char *warning, json_t **out, pd_err *e);
json_t *pd_json_user(const pd_catalogue *cat, const pd_user *u);
json_t *pd_json_users(const pd_catalogue *cat, const pd_user *u, size_t n);
json_t *pd_json_pbx(const pd_pbx *p); /* never the secret */
/* Adds "state" and "last_error" to a PBX's JSON: the live status (st, NULL
 * when none), else "disabled" for a disabled connection. */
void pd_json_pbx_state(json_t *o, const pd_pbx *p, const pd_pbx_status *st);
json_t *pd_json_template(const pd_template *t);
/* A link state as the outcome of a command (pbx status --check, pbx
 * resync, the API): monitoring is success, the states on the way up are
 * "not there yet" (unavailable). */
pd_status pd_link_state_outcome(pd_link_state st);
/* What a stored status row says now: nothing stale passes for live. A row
 * no running monitor stands behind (pd_pbx_status_fresh) reads "not
 * monitored (last known: …, 12 min ago)" and counts as not monitored; a
 * disabled connection is disabled whatever a monitor stored. */
typedef struct {
	bool known; /* a row a monitor wrote */
	bool fresh; /* ... and a running monitor stands behind it */
	const char *key;
	/* for --json: the fixed words ("disabled", "not monitored (no monitor
	 * running)") as written, a stored state read in this language */
	char status[320];
	char text[320]; /* the same for people: every word in this language */
	pd_status outcome;
} pd_pbx_now;
/* no_monitor: the caller knows no monitor runs (no daemon answered): a
 * stored row is then the last known state however recent. */
void pd_pbx_status_now(const pd_pbx *p, const pd_pbx_status *st, bool have_row, bool no_monitor,
                       int64_t now, pd_pbx_now *out);
/* `pbx status --json`: the stored live state of a customer's PBX (st NULL
 * when the monitor stored none). */
json_t *pd_json_pbx_status(const pd_customer *cu, const pd_pbx *p, const pd_pbx_status *st,
                           bool no_monitor);
/* The catalogue as `catalogue --json`: the sections asked for (product
 * types, roles, platforms, countries; g needed for the last). */
json_t *pd_json_catalogue(const pd_catalogue *cat, const pd_geo *g, const bool want[4]);

/* The PBX connection of a customer without its secret, and its recorded
 * live status (*has_st false when none; *st then stays zeroed). */
pd_status pd_pbx_get_public(pd_store *s, int64_t customer_id, pd_pbx *p, pd_pbx_status *st,
                            bool *has_st, pd_err *e);
/* Resolve CUSTOMER as every caller names one: tenant id, #rowid, name,
 * else reference. PD_E_NOTFOUND on "customer". */
pd_status pd_customer_resolve(pd_store *s, const char *id, pd_customer *out, pd_err *e);
/* Role by key or display name; "none"/"" gives *key NULL. */
pd_status pd_role_resolve(const pd_catalogue *cat, const char *in, const char **key, pd_err *e);

/* The billing export's writer (`billing export`, GET /v1/billing): CSV rows
 * (header first) as they come, or one JSON document at the end. */
typedef struct {
	FILE *out;
	bool json;
	json_t *lines;
	json_t *totals; /* currency -> cents */
	char period[8];
	size_t n;
	/* CSV only: unit price and amount as the customer's locale writes them
	 * (pd_format_amount_locale); set after begin. Off: 1234.50, for machines. */
	bool locale_format;
} pd_billing_writer;
/* Writes the CSV header unless json. */
void pd_billing_writer_begin(pd_billing_writer *w, FILE *out, bool json, const char *period);
/* A pd_billing_fn: ctx is the writer. */
pd_status pd_billing_writer_line(const pd_billing_line *l, void *ctx, pd_err *e);
/* The JSON document (when json) for the period first..first+ndays-1. */
void pd_billing_writer_end(pd_billing_writer *w, pd_day first, int ndays);
void pd_billing_writer_free(pd_billing_writer *w);

#endif

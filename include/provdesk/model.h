/* The entities (customers, users, PBX connections, templates) and every
 * rule on them. No I/O here: the store, the command line and the console
 * all call these, so a rule exists once. */
#ifndef PROVDESK_MODEL_H
#define PROVDESK_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "provdesk/catalogue.h"
#include "provdesk/error.h"
#include "provdesk/geo.h"
#include "provdesk/util.h"

#define PD_NAME_MAX 100 /* code points */
#define PD_REFERENCE_MAX 64
#define PD_NOTES_MAX 4000
#define PD_EMAIL_MAX 254
#define PD_DISPLAY_NAME_MAX 100
#define PD_EXTENSION_MAX 32

#define PD_CUSTOMER_STATUS_LIST(X)                                                                 \
	X(PD_CS_ACTIVE, "active")                                                                  \
	X(PD_CS_TRIAL, "trial")                                                                    \
	X(PD_CS_TRIAL_EXPIRED, "trial-expired")                                                    \
	X(PD_CS_DISABLED, "disabled")                                                              \
	X(PD_CS_DELETED, "deleted")

typedef enum {
#define PD_X(e, s) e,
	PD_CUSTOMER_STATUS_LIST(PD_X)
#undef PD_X
} pd_customer_status;
const char *pd_customer_status_name(pd_customer_status s);
bool pd_customer_status_parse(const char *s, pd_customer_status *out);

typedef struct {
	int64_t id;         /* database row id; 0 before creation */
	char tenant_id[37]; /* UUID; never changes */
	char *name;
	char *product_type;            /* catalogue key */
	char *reference;               /* may be NULL/"" */
	char country[3];               /* ISO 3166-1 alpha-2 */
	char *time_zone;               /* IANA */
	char *locale;                  /* "fr_FR": language and number format (pd_check_locale) */
	char *notes;                   /* may be NULL/"" */
	bool trial;                    /* has a trial (current or past) */
	pd_day trial_start, trial_end; /* inclusive; valid when trial */
	bool trial_converted;          /* converted to paid: trial dates kept for history */
	bool internal_system;
	bool disabled;      /* set by support staff */
	int64_t deleted_at; /* unix seconds, 0 = not deleted */
	int64_t created_at, updated_at;
	int64_t version; /* optimistic concurrency, starts at 1 */
} pd_customer;

/* Status from the stored flags and `today`. */
pd_customer_status pd_customer_status_of(const pd_customer *c, pd_day today);
/* Days left in the trial (0 on the last day, negative when expired). */
int pd_customer_trial_days_left(const pd_customer *c, pd_day today);
/* The billing id: the reference when set, else the tenant id. */
const char *pd_customer_billing_id(const pd_customer *c);
/* The warning given wherever a customer is marked internal (command line,
 * console): internal use only, never billed, and how many internal systems
 * the reseller has left. used: live internal systems counting this one;
 * limit: [customers] internal_systems_limit. */
void pd_internal_warning(const char *name, int64_t used, int limit, char *out, size_t n);

void pd_customer_free(pd_customer *c);                           /* frees fields, not c */
void pd_customer_copy(pd_customer *dst, const pd_customer *src); /* deep */

/* ---- field rules (each returns PD_OK or PD_E_INVALID with field named) ---- */
/* Trims; 1..100 code points; valid UTF-8; no control characters.
 * On success *normalized (if non-NULL) receives the trimmed copy. */
pd_status pd_check_name(const char *in, char **normalized, pd_err *e);
pd_status pd_check_reference(const char *in, pd_err *e); /* optional, <= 64 */
pd_status pd_check_notes(const char *in, pd_err *e);     /* optional, <= 4000, multi-line */
/* Any other text from outside (catalogue names and labels, …): optional,
 * valid UTF-8, at most max code points, no control character (line breaks
 * and tabs only with allow_lines), no direction override; field names it. */
pd_status pd_check_text(const char *in, const char *field, size_t max, bool allow_lines, pd_err *e);
/* The one rule for the country a person types (command line, import, wizard,
 * edit forms): trimmed; "Name (XX)" as the wizard's picker writes it; an
 * alpha-2 code in any case; an English or French name, case- and
 * accent-insensitive; else a part of a name or code matching one country
 * only ("allem"). NULL when none or several match; *n_matches (if non-NULL)
 * gets the number of type-ahead matches, so a caller can say "several". */
const pd_country *pd_country_from_text(const pd_geo *g, const char *text, size_t *n_matches);
/* pd_country_from_text as a check: *out gets the upper-case code; required,
 * unknown and ambiguous (naming the candidates) are refused on "country". */
pd_status pd_check_country(const pd_geo *g, const char *in, char out[3], pd_err *e);
/* tz NULL/"" -> the country's default zone (first in zone.tab; "UTC" for a
 * territory without one) is written to *out. Otherwise tz must be a valid
 * IANA zone; it need not be in the country's own list (a branch office may
 * run on head-office time). */
pd_status pd_check_time_zone(const pd_geo *g, const char *country, const char *tz, char **out,
                             pd_err *e);
/* An update's country and zone (CLI `customer update`, PATCH /v1/customers):
 * country (NULL: unchanged) checked into upd->country; when the zone is given
 * or the country changes, upd->time_zone becomes tz, else the current zone
 * when it belongs to the new country, else the country's default. */
pd_status pd_update_country_zone(const pd_geo *g, const pd_customer *cur, const char *country,
                                 const char *tz, pd_customer *upd, pd_err *e);
/* A customer's locale (language of the invitation, number format): NULL/""
 * -> the country's default (pd_geo_default_locale); else "fr_FR" (codeset
 * ignored, "fr-fr" accepted) that the system supports, written to *out as
 * "fr_FR". Refused on "locale". */
pd_status pd_check_locale(const pd_geo *g, const char *country, const char *in, char **out,
                          pd_err *e);
/* An update's locale, after pd_update_country_zone: in (NULL: unchanged)
 * checked into upd->locale; without one, a change of country moves a
 * customer who had the old country's default to the new one's, and keeps a
 * locale chosen by hand. */
pd_status pd_update_locale(const pd_geo *g, const pd_customer *cur, const char *in,
                           pd_customer *upd, pd_err *e);
pd_status pd_check_product_type(const pd_catalogue *cat, const char *key, const char *country,
                                pd_err *e);
/* Changing the product type of an existing customer: refused when the old
 * type is locked. *impact receives the licensing-impact text to confirm. */
pd_status pd_check_product_change(const pd_catalogue *cat, const char *old_key, const char *new_key,
                                  char **impact, pd_err *e);
pd_status pd_check_email(const char *in, const char *field, pd_err *e);
pd_status pd_check_display_name(const char *in, const char *field, pd_err *e);
pd_status pd_check_extension(const char *in, const char *field,
                             pd_err *e); /* optional; digits, *, # */
pd_status pd_check_trial(const pd_catalogue *cat, const char *product_type, pd_day start,
                         pd_day end, pd_err *e);
/* A new customer's trial length: 0 (none) or 1..365 days (field "trial_days"). */
pd_status pd_check_trial_days(int days, pd_err *e);
/* Whole-record check (after trimming), used before every create/update. */
pd_status pd_customer_check(const pd_catalogue *cat, const pd_geo *g, pd_customer *c, pd_err *e);

/* ---- users and roles ---- */
/* FAILED: refused for good (5xx, or too many attempts); CANCELLED: the user
 * was removed, never to be sent or retried. */
typedef enum {
	PD_INVITE_NONE,
	PD_INVITE_QUEUED,
	PD_INVITE_SENT,
	PD_INVITE_FAILED,
	PD_INVITE_CANCELLED
} pd_invite_state;
const char *pd_invite_state_name(pd_invite_state s); /* the key: JSON, the store */
/* The state as a person reads it, in the messages' language (7 cells at
 * most in English: the users tables). */
const char *pd_invite_state_label(pd_invite_state s);

typedef struct {
	int64_t id, customer_id;
	char *display_name;
	char *email;     /* unique within the customer (folded compare); may be NULL for synced */
	char *extension; /* may be NULL */
	char *role;      /* catalogue role key; NULL = no access (calls still attributed) */
	bool primary;    /* the step-2 Customer Administrator */
	/* synced from the PBX (one-way; the sync owns these fields) */
	bool synced;
	char *endpoint;         /* PBX endpoint id ("1001"); NULL for console-only users */
	char *sub_account;      /* e.g. Asterisk context */
	char *device_state;     /* last known */
	int64_t linked_user_id; /* a synced user linked by email to a console user */
	pd_invite_state invite;
	int64_t version;
} pd_user;
void pd_user_free(pd_user *u);
pd_status pd_user_check(const pd_catalogue *cat, pd_user *u, pd_err *e);

/* ---- PBX connection, templates, sub-accounts ---- */
typedef struct {
	int64_t id, customer_id;
	char *template_name; /* may be NULL */
	char *platform;      /* catalogue platform key */
	char *host;
	int port;
	bool tls;
	char *username;
	char *secret;      /* write-only from the UI/CLI; read back only by the monitor */
	char *params_json; /* other platform fields, JSON object (never secrets) */
	bool sync_users, monitor, auto_provision, enabled;
	int64_t version;
} pd_pbx;
void pd_pbx_free(pd_pbx *p); /* wipes the secret before freeing it */
/* Trims host/username; port 0 -> the platform's default; host and username
 * required when the catalogue says so; extra fields in params_json (a JSON
 * object of the platform's other fields, never secrets, required ones
 * present); a secret with a line break is refused (line protocols). The
 * secret's presence is not checked (NULL = unchanged on update). Enabling
 * a platform without a driver (supported=false) is refused: field "enabled". */
pd_status pd_pbx_check(const pd_catalogue *cat, pd_pbx *p, pd_err *e);
/* A text field whose key ends in "_hosts" (broadworks-xsi's xsp_hosts) is a
 * list "host[:port],host[:port]" (an IPv6 address with a port in brackets),
 * at most PD_HOST_LIST_MAX entries, each host checked as the connection's
 * host and each port 1-65535; errors name `field`. *norm (when not NULL)
 * gets the list without blanks around entries; "" is an empty list. */
#define PD_HOST_LIST_MAX 16
bool pd_field_is_host_list(const char *key);
pd_status pd_check_host_list(const char *field, const char *v, char **norm, pd_err *e);

typedef struct {
	int64_t id;
	char *name;
	char *platform;
	char *host;
	int port;
	bool tls;
	char *username;
	char *params_json;
	int64_t version;
} pd_template;
void pd_template_free(pd_template *t);
pd_status pd_template_check(const pd_catalogue *cat, pd_template *t, pd_err *e);
/* Fill unset fields of *p from the template. */
void pd_pbx_apply_template(pd_pbx *p, const pd_template *t);

typedef struct {
	int64_t id, customer_id;
	char *name;
} pd_sub_account;

/* ---- creation (wizard / CLI / CSV import share this) ---- */
typedef struct {
	pd_customer customer; /* id/tenant/version ignored; trial dates from trial_days */
	int trial_days;       /* 0 = no trial */
	pd_user admin;        /* primary user, role forced to customer-admin */
	pd_user *users;       /* extra users added in step 4, with roles */
	size_t n_users;
	pd_pbx *pbx; /* NULL = no PBX connection yet */
	/* Users found on that PBX before creation (the wizard's step 4 discovery),
	 * with the roles given to them there: written as synced rows (endpoint
	 * required and unique; name, email, sub-account as the PBX gave them), so
	 * the first sync matches them by endpoint and keeps their roles. Needs a
	 * PBX that syncs users. */
	pd_user *synced;
	size_t n_synced;
} pd_new_customer;
void pd_new_customer_free(pd_new_customer *n);
/* All the rules that need no database (uniqueness and limits are the store's).
 * trial_days 0 = none, 1..365 = a trial from today to today + days - 1;
 * the admin's role is forced to customer-admin; errors name "admin_name",
 * "admin_email", "admin_extension", "users[i].email", "platform"… */
pd_status pd_new_customer_check(const pd_catalogue *cat, const pd_geo *g, pd_new_customer *n,
                                pd_day today, pd_err *e);
/* The rule that a new customer's emails are its own (folded compare): email,
 * on `field`, is refused when it is the primary user's or one of the n
 * earlier users' (NULL entries are skipped). pd_new_customer_check and the
 * wizard use it. */
pd_status pd_check_email_free(const char *email, const char *primary_email,
                              const char *const *earlier, size_t n, const char *field, pd_err *e);

/* ---- invitation text (rendered in core so the store can queue it in the
 * customer's own transaction) ---- */
typedef struct {
	char *to;
	char *subject;
	char *body; /* UTF-8 plain text */
} pd_invitation;
/* What the invitation says beyond the customer and the user. */
typedef struct {
	const char
	    *inviter; /* who asked for it (OS user of the support team); NULL/"" = not said */
	/* The activation link with its one-time token (pd_invitation_link);
	 * NULL = no activation URL configured: the mail says so instead. */
	const char *link;
	int64_t link_expires; /* unix seconds; shown (UTC) when link is set */
} pd_invitation_ctx;
/* x NULL: no inviter, no link (a preview: the outbox renders the real mail
 * when it sends it, from the user as they are then). */
void pd_invitation_render(const pd_customer *c, const pd_user *u, pd_invitation *out);
void pd_invitation_render_ctx(const pd_customer *c, const pd_user *u, const pd_invitation_ctx *x,
                              pd_invitation *out);
/* base (an http(s) URL without '#') + "?token=" or "&token=" + token. */
char *pd_invitation_link(const char *base, const char *token);
/* PD_E_CONFIG naming invitations.activation_url unless v is an http:// or
 * https:// URL with a host, no spaces, control characters or fragment. */
pd_status pd_check_activation_url(const char *v, pd_err *e);
void pd_invitation_free(pd_invitation *i);

/* ---- billing (pure computation over a customer's history; docs/user-guide.md, Billing export)
 * ---- */
/* One state of a customer's billing history: in force from `at` (unix
 * seconds, UTC) until the next state. The store keeps one per change
 * (table customer_history); a change applies from the day it is made. */
typedef struct {
	int64_t at;
	const char *product_type;
	bool trial, trial_converted;
	pd_day trial_start, trial_end;
	bool internal_system, disabled, deleted;
} pd_billing_state;

/* A customer's licensed-user count from `at` until the next one (table
 * licensed_users_history): one per change of the count. */
typedef struct {
	int64_t at;
	int64_t users;
} pd_billing_users;

/* A product type's unit price from `at` until the type's next one (table
 * price_history): one per price the catalogue gave it. */
typedef struct {
	int64_t at;
	const char *product_type;
	int64_t price_cents;
	const char *currency;
} pd_billing_price;

/* The strings are borrowed: valid during the pd_billing_line_fn call only. */
typedef struct {
	const char *billing_id, *customer_name, *product_type, *currency;
	pd_day first_day, last_day; /* the days of this line within the period */
	int64_t licensed_users;
	int active_days, period_days;
	int billed_days; /* active days not zero-rated (trial, internal) */
	int64_t unit_price_cents;
	int64_t amount_cents;
	const char *flags; /* "internal / zero-rated", "trial", "disabled", "deleted DATE"… joined
	                      by "; " */
	const char *locale; /* the customer's (pd_format_amount_locale), may be NULL */
} pd_billing_line;
/* An amount as a reader of the locale writes it (`billing export
 * --locale-format`): decimal mark and digit grouping of the locale's language
 * and territory from a fixed table, so the output is the same on every system
 * ("1 234,50" for fr_FR with U+202F, "1.234,50" de_DE, "1’234.50" de_CH,
 * "1,234.50" en_* and unknown). out gets at most 48 bytes. */
void pd_format_amount_locale(int64_t cents, const char *locale, char out[48]);
typedef pd_status (*pd_billing_line_fn)(const pd_billing_line *l, void *ctx, pd_err *e);
/* Rules (scripts and accountants depend on them):
 * - the period is billed day by day from the history h, in the order the
 *   changes were made (a row timed before its predecessor, after a clock
 *   was set back, takes effect with the predecessor);
 *   the state of a day is the last one in force during that day that is not
 *   deleted: a change applies from the day it is made, the deletion day is
 *   still billed, a customer deleted all day (or not yet created) is not;
 * - the licensed users of a day are the last count in force during that
 *   day (u, same ordering rule; 0 without any), and the unit price of a day
 *   is the last price of the day's product type in force during that day
 *   (p): changes apply from the day they are made; the first count and a
 *   type's first price also apply to the days before they were recorded;
 * - one line per run of consecutive billed days with the same product type,
 *   licensed users and unit price (first_day .. last_day): usually one per
 *   product type in force, split where the count or the price changes;
 * - billed days = active days minus zero-rated days: a trial not (yet)
 *   converted, and an internal system; a trial converted to paid is billed
 *   from the day of its conversion;
 * - amount = licensed_users x unit price x billed days / period days,
 *   rounded half up to the cent; unit_price_cents is the price even when
 *   the amount is 0;
 * - flags, in this order, joined by "; ": "internal / zero-rated",
 *   "trial", "disabled" (each followed by " FIRST to LAST" when it covers
 *   only part of the line, ranges separated by ", "), "deleted DATE" when
 *   the line ends with the deletion, "unknown product type" (no price).
 * u is in the order the counts were set; p is sorted by product type
 * (strcmp) and, within a type, in the order its prices were set.
 * fn is called once per line, in date order; its error stops the walk. */
pd_status pd_billing_lines_dated(const pd_customer *c, const pd_billing_state *h, size_t nh,
                                 const pd_billing_users *u, size_t nu, const pd_billing_price *p,
                                 size_t np, pd_day period_first, int period_days,
                                 pd_billing_line_fn fn, void *ctx, pd_err *e);
/* The same with one licensed-user count and the catalogue's prices for
 * every day. */
pd_status pd_billing_lines_for(const pd_catalogue *cat, const pd_customer *c,
                               int64_t licensed_users, const pd_billing_state *h, size_t nh,
                               pd_day period_first, int period_days, pd_billing_line_fn fn,
                               void *ctx, pd_err *e);

#endif

/* The catalogue: product types (tenant profiles), roles and PBX platforms.
 * Shipped as data/catalogue.json, overridable by a file of the same name in
 * the config directory; loaded into the database on start.
 *
 * File format (JSON, duplicate keys and unknown keys refused):
 *   { "version": 1, "comment": "…",                        (both optional)
 *     "platforms": [ { "key", "name", "supported": bool,
 *                      "sub_accounts": "dialplan context" | null,
 *                      "fields": [ { "key", "label", "required": bool,
 *                                    "secret": bool, "default": str|int|bool } ] } ],
 *     "roles": [ { "key", "name", "description", "manages_users": bool } ],
 *                                   (must include "customer-admin", manages_users)
 *     "product_types": [ { "key", "name", "description", "features": {…},
 *                      "locked_after_assignment": bool, "trial_allowed": bool,
 *                      "price_cents": int >= 0, "currency": "EUR",
 *                      "platforms": ["asterisk-ami", …]   (keys of "platforms"),
 *                      "countries": ["FR", …] } ] }      (ISO alpha-2; [] = everywhere)
 * Keys are lower-case letters, digits, - and _ (at most 40), unique per list. */
#ifndef PROVDESK_CATALOGUE_H
#define PROVDESK_CATALOGUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "provdesk/error.h"

typedef struct {
	char *key;             /* "analytics-pro" */
	char *name;            /* display name */
	char *description;
	char *features_json;   /* the feature map, compact JSON object text */
	bool locked_after_assignment;
	bool trial_allowed;
	int64_t price_cents;   /* monthly price per licensed user, in cents */
	char *currency;        /* "EUR" */
	char **platforms;      /* allowed PBX platform keys */
	size_t n_platforms;
	char **countries;      /* ISO alpha-2 codes where sold; n_countries == 0 => everywhere */
	size_t n_countries;
} pd_product_type;

typedef struct {
	char *key;   /* "customer-admin", "supervisor", "agent", "reporting" */
	char *name;  /* "Customer Administrator" */
	char *description;
	bool manages_users;
} pd_role;

/* One platform-specific connection parameter (step 3 of the wizard). */
typedef struct {
	char *key;    /* "host", "port", "username", "secret", "enterprise_id"… */
	char *label;
	bool required;
	bool secret;  /* masked, never shown back, never logged */
	char *default_value; /* may be NULL */
} pd_platform_field;

typedef struct {
	char *key;    /* "asterisk-ami", "broadworks-xsi", "freeswitch-esl" */
	char *name;
	bool has_sub_accounts;
	char *sub_account_label; /* "dialplan context", "group", "site" */
	bool supported;          /* a driver exists in this build */
	pd_platform_field *fields;
	size_t n_fields;
} pd_platform;

typedef struct {
	char *path; /* the file it was loaded from */
	pd_product_type *types;
	size_t n_types;
	pd_role *roles;
	size_t n_roles;
	pd_platform *platforms;
	size_t n_platforms;
} pd_catalogue;

/* Parse and check a catalogue file. Errors name the file, the line when
 * known, and the key path ("product_types[2].price"). */
pd_status pd_catalogue_load(const char *path, pd_catalogue *out, pd_err *e);
/* Same from text in memory; `name` stands for the file in messages (and
 * becomes c->path). Used by the fuzzer and by callers holding the text. */
pd_status pd_catalogue_load_buffer(const char *name, const char *text, size_t len,
				   pd_catalogue *out, pd_err *e);
/* Finds the catalogue file (config dir, then the data directories) and loads it. */
pd_status pd_catalogue_load_default(const char *config_dir, pd_catalogue *out, pd_err *e);
void pd_catalogue_free(pd_catalogue *c);

const pd_product_type *pd_catalogue_product(const pd_catalogue *c, const char *key);
const pd_role *pd_catalogue_role(const pd_catalogue *c, const char *key);
const pd_platform *pd_catalogue_platform(const pd_catalogue *c, const char *key);
bool pd_product_sold_in(const pd_product_type *p, const char *country);
bool pd_product_allows_platform(const pd_product_type *p, const char *platform);

#define PD_ROLE_ADMIN "customer-admin"

#endif

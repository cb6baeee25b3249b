/* The catalogue: product types (tenant profiles), roles and PBX platforms.
 * Shipped as data/catalogue.json, overridable by a file of the same name in
 * the config directory; loaded into the database on start.
 *
 * File format (JSON, duplicate keys and unknown keys refused):
 *   { "version": 1, "comment": "…",                        (both optional)
 *     "platforms": [ { "key", "name", "supported": bool,
 *                      "sub_accounts": "dialplan context" | null,
 *                      "fields": [ { "key", "label", "required": bool,
 *                                    "secret": bool, "default": str|int|bool,
 *                                    "type": "text"|"bool"|"int"|"path",
 *                                    "min": int, "max": int } ] } ],   (min/max: int only)
 *                   (no "type": a bool default makes it "bool", an integer default
 *                    "int", else "text"; a "path" is an absolute file path)
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
	char *key;  /* "analytics-pro" */
	char *name; /* display name */
	char *description;
	char *features_json; /* the feature map, compact JSON object text */
	bool locked_after_assignment;
	bool trial_allowed;
	int64_t price_cents; /* monthly price per licensed user, in cents */
	char *currency;      /* "EUR" */
	char **platforms;    /* allowed PBX platform keys */
	size_t n_platforms;
	char **countries; /* ISO alpha-2 codes where sold; n_countries == 0 => everywhere */
	size_t n_countries;
} pd_product_type;

typedef struct {
	char *key;  /* "customer-admin", "supervisor", "agent", "reporting" */
	char *name; /* "Customer Administrator" */
	char *description;
	bool manages_users;
} pd_role;

/* What a platform field's value is; the core checks and normalises the
 * values stored in a connection's params_json by it (pd_pbx_check). */
typedef enum {
	PD_FIELD_TEXT, /* a string (numbers accepted as typed) */
	PD_FIELD_BOOL, /* stored as JSON true/false; true/false/yes/no/on/off/1/0 accepted */
	PD_FIELD_INT,  /* stored as a JSON integer in [min, max]; digits accepted */
	PD_FIELD_PATH, /* an absolute file path, stored as a string */
} pd_field_type;

/* One platform-specific connection parameter (step 3 of the wizard). */
typedef struct {
	char *key; /* "host", "port", "username", "secret", "enterprise_id"… */
	char *label;
	bool required;
	bool secret;         /* masked, never shown back, never logged */
	char *default_value; /* may be NULL; bools as "true"/"false" */
	pd_field_type type;
	long long min, max; /* PD_FIELD_INT bounds, inclusive */
} pd_platform_field;

typedef struct {
	char *key; /* "asterisk-ami", "broadworks-xsi", "freeswitch-esl" */
	char *name;
	bool has_sub_accounts;
	char *sub_account_label; /* "dialplan context", "group", "site" */
	/* A driver exists in this build: set from the driver registry
	 * (pd_drivers_mark_supported, src/pbx/registry.c) wherever the program
	 * loads the catalogue. The file's optional "supported" is only the
	 * value seen by code without drivers (core and store tests). */
	bool supported;
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
/* A word of the catalogue as people read it (a role's name or description,
 * a product's description, a platform's name, a PBX field's label): its
 * translation when the default catalogue's words have one (po/catalogue_strings.c),
 * else as written. NULL stays NULL. Never for --json or the API: data. */
const char *pd_catalogue_text(const char *s);
const pd_platform *pd_catalogue_platform(const pd_catalogue *c, const char *key);
bool pd_product_sold_in(const pd_product_type *p, const char *country);
bool pd_product_allows_platform(const pd_product_type *p, const char *platform);
const pd_platform_field *pd_platform_field_get(const pd_platform *pl, const char *key);
/* A field kept in a connection's params_json: not one of the connection's own
 * columns (host, port, tls, username) and not a secret (write-only column). */
bool pd_platform_field_is_extra(const pd_platform_field *f);

/* Platform parameters as stored in a connection's params_json, read the way
 * every reader must read them: a value may be the typed JSON form the core
 * stores (true, 5) or a string typed by a person ("false", "no", "0", "5").
 * pd_param_bool/int: `*out` = `def` when params_json or the key is absent;
 * PD_E_INVALID naming `key` when the value is not a boolean / not a whole
 * number in [min, max]. pd_param_str: a copy of a non-empty string value, or
 * NULL when absent; PD_E_INVALID when not a string. */
pd_status pd_param_bool(const char *params_json, const char *key, bool def, bool *out, pd_err *e);
pd_status pd_param_int(const char *params_json, const char *key, long long min, long long max,
                       long long def, long long *out, pd_err *e);
pd_status pd_param_str(const char *params_json, const char *key, char **out, pd_err *e);
/* A boolean as a person types it: true/false, yes/no, on/off, 1/0 (any case,
 * surrounding blanks ignored). False when `s` is none of these. */
bool pd_parse_bool(const char *s, bool *out);

#define PD_ROLE_ADMIN "customer-admin"

#endif

/* The creation wizard's state, its field list per step, its validation and
 * its drafts. No curses here: the screens (wizard.c) build libform fields
 * from pd_wiz_fields() each time they lay out, so a resize or a resumed draft
 * only needs the values kept in pd_wiz. Every rule is the core's (model.h);
 * this file only maps the wizard's fields onto them.
 *
 * Values are kept exactly as typed (a port may hold "80x" until it is fixed),
 * addressed by a key that is core's field name (pd_new_customer_check's and
 * pd_pbx_check's: "name", "admin_email", "users[2].role", "platform",
 * "enabled", and a platform's own fields by their catalogue key: "host",
 * "secret", "enterprise_id"), so a core error lands on its field as named,
 * without translation. A catalogue field whose key the wizard uses itself
 * ("name", "notes", "monitor"...) would not be shown: the wizard test checks
 * that the shipped catalogue has none. */
#ifndef PROVDESK_UI_WIZARD_STATE_H
#define PROVDESK_UI_WIZARD_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "provdesk/catalogue.h"
#include "provdesk/error.h"
#include "provdesk/geo.h"
#include "provdesk/i18n.h"
#include "provdesk/model.h"
#include "provdesk/store.h"
#include "provdesk/util.h"

#define PD_WIZ_STEP_LIST(X)                                                                        \
	X(PD_WIZ_CUSTOMER, "customer", N_("Customer details"))                                     \
	X(PD_WIZ_USER, "user", N_("Primary user"))                                                 \
	X(PD_WIZ_PBX, "pbx", N_("PBX details"))                                                    \
	X(PD_WIZ_ROLES, "roles", N_("Role assignment"))                                            \
	X(PD_WIZ_SUMMARY, "summary", N_("Summary"))

typedef enum {
#define PD_X(e, k, t) e,
	PD_WIZ_STEP_LIST(PD_X)
#undef PD_X
	    PD_WIZ__STEPS
} pd_wiz_step;
const char *pd_wiz_step_key(pd_wiz_step s);   /* "customer" (drafts) */
const char *pd_wiz_step_title(pd_wiz_step s); /* "Customer details" */

typedef struct {
	char *display_name, *email, *extension, *role;
} pd_wiz_user;

/* One platform field of step 3 as typed. Secret values live only here, in
 * memory: a draft never stores them (see had_secret). */
typedef struct {
	char *key;
	char *value;
	bool secret;
} pd_wiz_param;

/* A user found on the PBX by a discovery in step 4, with the role given to
 * it there ("" = no access). Created with the customer as a synced user, so
 * the first sync after creation matches it by endpoint and keeps the role.
 * Kept in drafts (nothing in it is secret). */
typedef struct {
	char *endpoint, *display_name, *email, *sub_account, *role;
} pd_wiz_found;

typedef struct {
	pd_wiz_step step;
	char *focus; /* key of the field that had the cursor; a resume puts it back */

	/* 1 Customer details */
	char *name, *product_type, *reference;
	char *country_text; /* as typed or picked: "Allemagne / Germany (DE)" */
	char *country;      /* resolved ISO code, "" until resolved */
	char *time_zone, *notes;
	char *locale;        /* "fr_FR": follows the country until chosen by hand */
	char locale_auto[8]; /* the country's default last put there ("" none) */
	bool trial;
	char *trial_end; /* YYYY-MM-DD as typed */

	/* 2 Primary user (role fixed: customer-admin) */
	pd_wiz_user admin;

	/* 3 PBX */
	bool no_pbx; /* "No PBX yet" */
	char *template_name, *platform;
	pd_wiz_param *params;
	size_t n_params;
	bool had_secret;    /* a secret was typed before the draft was saved: ask again */
	char *defaults_for; /* platform whose defaults the fields hold (not in drafts) */
	bool create_disabled, sync_users, monitor, auto_provision;

	/* 4 Role assignment: users added by hand, and those found on the PBX */
	pd_wiz_user *users;
	size_t n_users;
	pd_wiz_found *found; /* listed after a discovery (F9): "synced_users[N].role" */
	size_t n_found;
	char *found_for;    /* the PBX they were found on: "platform host:port" */
	char *found_status; /* "", "Discovering…", "3 users found…", or the error */
} pd_wiz;

/* Everything validation and the choices need, borrowed. store may be NULL
 * (no uniqueness check); templates are read once when the wizard opens. */
typedef struct {
	const pd_catalogue *cat;
	const pd_geo *geo;
	pd_store *store;
	pd_day today;
	int trial_default_days;
	const pd_template *templates;
	size_t n_templates;
} pd_wiz_ctx;

void pd_wiz_init(pd_wiz *w); /* defaults: sync users and monitor on */
void pd_wiz_free(pd_wiz *w);

/* Generic access by key, for the form and the drafts. Toggles read "1"/"0"
 * and accept "1"/"0". Unknown keys read as NULL and are ignored on set.
 * pd_wiz_get returns a pointer into w (valid until the next set). */
const char *pd_wiz_get(const pd_wiz *w, const char *key);
void pd_wiz_set(pd_wiz *w, const char *key, const char *value);
bool pd_wiz_get_bool(const pd_wiz *w, const char *key);

/* Side effects of a change the way the screens apply them (one place):
 * picking a template fills the platform and its fields, choosing a platform
 * adds its fields with their defaults, switching the trial on fills the end
 * date, a country with one zone sets it. Call after pd_wiz_set(). */
void pd_wiz_changed(const pd_wiz_ctx *c, pd_wiz *w, const char *key);

/* Replace the discovered users (copied) and the discovery's status text.
 * A user found again keeps the role it was given (matched by endpoint). */
void pd_wiz_found_set(pd_wiz *w, const pd_synced_user *u, size_t n, const char *status);
/* The PBX users that will be created with the customer: those of the last
 * discovery, when step 3 still names that PBX and it syncs users. */
bool pd_wiz_found_used(const pd_wiz *w);
/* Step 3 names another PBX than the one the users were found on. */
bool pd_wiz_found_stale(const pd_wiz *w);

size_t pd_wiz_user_add(pd_wiz *w); /* returns the new index; role defaults to "agent" when known */
void pd_wiz_user_remove(pd_wiz *w, size_t i);

/* ---- the fields of a step, in screen order ---- */
typedef enum {
	PD_WF_TEXT,    /* one line */
	PD_WF_NOTES,   /* multi-line free text */
	PD_WF_SECRET,  /* masked, never shown back */
	PD_WF_CHOICE,  /* one of pd_wiz_choices() */
	PD_WF_COUNTRY, /* type-ahead over pd_geo_search() */
	PD_WF_TOGGLE,  /* [x] / [ ] */
	PD_WF_DATE,    /* YYYY-MM-DD */
	PD_WF_FIXED,   /* shown, not editable (the primary user's role) */
	PD_WF_NOTE,    /* a line of explanation, no value */
} pd_wiz_kind;

typedef struct {
	char key[48];
	char label[48];
	pd_wiz_kind kind;
	int width; /* cells wanted for the value */
	int rows;  /* > 1 for notes */
	bool required;
	int group;      /* fields with the same non-zero group stay on one page */
	bool negated;   /* a toggle shown ticked when its key reads "0" ("Create disabled" on
	                   "enabled") */
	char note[160]; /* short help shown under the field, or "" */
} pd_wiz_field;

/* Fills out[0..max) and returns how many fields the step shows given the
 * current values (time zone only when the country has several, the trial end
 * only when the trial is on, the platform's own fields...). */
size_t pd_wiz_fields(const pd_wiz_ctx *c, const pd_wiz *w, pd_wiz_step step, pd_wiz_field *out,
                     size_t max);
/* Room for every PBX user a discovery lists (one line each) and a few
 * dozen users added by hand. */
#define PD_WIZ_FIELDS_MAX 1200
#define PD_WIZ_FOUND_MAX 1000

/* Choices for a PD_WF_CHOICE field: value keys and display texts (both
 * allocated; free with pd_wiz_choices_free). "" is a valid value ("none"). */
typedef struct {
	char **values, **labels;
	size_t n;
} pd_wiz_choices;
void pd_wiz_choices_get(const pd_wiz_ctx *c, const pd_wiz *w, const char *key, pd_wiz_choices *out);
void pd_wiz_choices_free(pd_wiz_choices *ch);
/* Display text of the current value of a choice/country/toggle field. Caller frees. */
char *pd_wiz_display(const pd_wiz_ctx *c, const pd_wiz *w, const char *key);

/* ---- validation: the core's rules, one message per field ---- */
typedef struct {
	char key[48];
	char message[256];
} pd_wiz_error;
typedef struct {
	pd_wiz_error *v;
	size_t n, cap;
} pd_wiz_errors;
void pd_wiz_errors_clear(pd_wiz_errors *er);
void pd_wiz_errors_free(pd_wiz_errors *er);
void pd_wiz_errors_set(pd_wiz_errors *er, const char *key, const char *message); /* NULL removes */
const char *pd_wiz_errors_find(const pd_wiz_errors *er, const char *key);

/* Resolve the typed country text to a code (exact code, exact French or
 * English name, "Name (CC)", or a single type-ahead match). Sets w->country,
 * "" when it does not resolve. */
void pd_wiz_resolve_country(const pd_wiz_ctx *c, pd_wiz *w);

/* One field. Returns true when valid; else msg receives the reason. The name
 * check asks the store whether another customer uses it. */
bool pd_wiz_check_field(const pd_wiz_ctx *c, const pd_wiz *w, const char *key, char *msg,
                        size_t cap);
/* Every field of the step (and the cross-field rules: platform allowed for the
 * product type, emails unique within the customer). Replaces the step's
 * entries in *er; returns the number of errors of the step. */
size_t pd_wiz_check_step(const pd_wiz_ctx *c, const pd_wiz *w, pd_wiz_step step, pd_wiz_errors *er);
/* Is key one of the fields of step (ignoring visibility)? */
bool pd_wiz_key_in_step(const char *key, pd_wiz_step step);

/* The whole record for store_customer_create, checked with
 * pd_new_customer_check. On error *bad_key (may be NULL) is e->field when the
 * wizard shows that field, else "". */
pd_status pd_wiz_build(const pd_wiz_ctx *c, const pd_wiz *w, pd_new_customer *out, char bad_key[48],
                       pd_err *e);

/* Does the wizard show a field named core_field (core's and the store's
 * field names are the wizard's keys) in some step, given the current values?
 * False for a field it has no place for ("trial_days", "customer"). */
bool pd_wiz_has_field(const pd_wiz_ctx *c, const pd_wiz *w, const char *core_field);
/* Is key a platform's own field (a bare catalogue key, not one of the
 * wizard's other keys)? */
bool pd_wiz_is_param_key(const char *key);

/* Step 3 as the core's pd_pbx, checked with pd_pbx_check (for a discovery
 * before creation). NULL-safe to free with pd_pbx_free. */
pd_status pd_wiz_pbx(const pd_wiz_ctx *c, const pd_wiz *w, pd_pbx *out, pd_err *e);

/* ---- drafts (stored with store_draft_*, owner = the OS user) ---- */
/* JSON text of the whole state except secrets. Caller frees. */
char *pd_wiz_draft_to_json(const pd_wiz *w);
/* Replaces *w. Unknown keys are ignored; a document that is not a draft or
 * has the wrong type for a key is refused naming the key. */
pd_status pd_wiz_draft_from_json(const char *json, pd_wiz *w, pd_err *e);
/* A draft taken up again: one saved before the wizard asked for the locale
 * gets its country's default, which then follows the country. */
void pd_wiz_resumed(const pd_wiz_ctx *c, pd_wiz *w);
pd_status pd_wiz_draft_save(pd_store *s, const pd_wiz *w, pd_err *e);
/* PD_E_NOTFOUND when the user has no draft. */
pd_status pd_wiz_draft_load(pd_store *s, pd_wiz *w, int64_t *saved_at, pd_err *e);
pd_status pd_wiz_draft_delete(pd_store *s, pd_err *e);

#endif

/* Internal to src/pbx: the FreeSWITCH call/agent/user model, pure (ESL
 * messages and api replies in, a pd_live_view out; no sockets, no clock of
 * its own), so it is tested by replaying the recorded sessions in
 * tests/fixtures/freeswitch/ without a network. It keeps the rules of the
 * Asterisk model (src/pbx/ami_model.h): the same caps, the same display
 * states, ended calls lingering a few seconds.
 *
 * - A call is the legs that share a call: a leg joins the call of its
 *   variable_cc_member_session_uuid (a mod_callcenter agent leg), else of
 *   its Other-Leg-Unique-ID, else of its Channel-Call-UUID; a BRIDGE moves
 *   the other leg into the call. The lab's call generator legs
 *   (sofia/callgen/...) are ignored.
 * - Users are the directory's (list_users): endpoint "user@domain" (unique
 *   across the domains of one FreeSWITCH), sub-account = the domain.
 *   Registrations give the device state: "Unavailable" when not registered,
 *   else "Not in use" / "Ringing" / "In use" from the user's legs.
 * - Agents are mod_callcenter's ("1001@default"): status (Logged Out,
 *   Available, Available (On Demand), On Break) x state (Waiting,
 *   Receiving, In a queue call, Idle) -> pd_agent_state (see
 *   docs/architecture.md, "FreeSWITCH driver"). */
#ifndef PROVDESK_PBX_ESL_MODEL_H
#define PROVDESK_PBX_ESL_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "provdesk/esl.h"
#include "provdesk/live.h"
#include "provdesk/pbx_driver.h"
#include "provdesk/store.h"

#define ESL_ENDED_LINGER_MS 5000 /* an ended call stays visible this long */

/* A PBX is untrusted input: what one link's model may hold, and what it
 * cost (the layer's caps and counters, the Asterisk model's too;
 * include/provdesk/pbx_driver.h). max_channels bounds legs, users and
 * agents; dropped_other counts users, agents, registrations refused at the
 * caps; bad_fields the values repaired (invalid UTF-8, C1, bidi) or refused. */
typedef struct esl_model esl_model;

typedef pd_model_limits esl_model_limits;
typedef pd_model_stats esl_model_stats;

/* The api commands whose replies the model reads (esl_model_apply_api). */
typedef enum {
	ESL_API_OTHER,              /* anything else: ignored */
	ESL_API_LIST_USERS,         /* list_users */
	ESL_API_USER_EMAIL,         /* user_data USER@DOMAIN param email */
	ESL_API_REGISTRATIONS_JSON, /* show registrations as json */
	ESL_API_CHANNELS_JSON,      /* show channels as json */
	ESL_API_CALLS_JSON,         /* show calls as json */
	ESL_API_AGENT_LIST,         /* callcenter_config agent list */
	ESL_API_TIER_LIST,          /* callcenter_config tier list */
	ESL_API_QUEUE_LIST,         /* callcenter_config queue list */
	ESL_API_QUEUE_MEMBERS       /* callcenter_config queue list members QUEUE */
} esl_api_kind;

esl_model *esl_model_new(void);
void esl_model_free(esl_model *m);
void esl_model_set_limits(esl_model *m, const esl_model_limits *l);
void esl_model_get_stats(const esl_model *m, esl_model_stats *out);
/* Directory users refused at max_users by the last list_users reply: a
 * directory cut short must not be synced (it would remove users). */
size_t esl_model_users_refused(const esl_model *m);
/* Wrap-up seconds when the agent list gave none (mod_callcenter's default 0). */
void esl_model_set_default_wrapup(esl_model *m, int seconds);

/* After a reconnect: forget legs, calls and agents' run-time state (the
 * snapshot is taken again). */
void esl_model_reset_live(esl_model *m);
/* Forget the directory (a resync lists it again). */
void esl_model_reset_users(esl_model *m);

/* Which reply a command gives ("list_users" -> ESL_API_LIST_USERS); the
 * command is the driver's own text, never the PBX's. */
/* The queues the tier list named (at most max, distinct; pointers valid
 * until the next tier list): a snapshot asks each for its members, which ties
 * a call already bridged when the link came up to its queue and agent. */
size_t esl_model_queues(const esl_model *m, const char **out, size_t max);
esl_api_kind esl_api_kind_of(const char *command);
/* "user_data 1001@default param email" for a user endpoint into b. */
void esl_model_email_command(const char *endpoint, pd_buf *b);

/* Apply one event (text/event-plain or -json). True if anything visible changed. */
bool esl_model_apply_event(esl_model *m, const esl_msg *msg, int64_t now_ms);
/* Apply the body of an api/response to the command that asked for it.
 * A "-ERR" body changes nothing. True if anything visible changed. */
bool esl_model_apply_api(esl_model *m, const char *command, const char *body, size_t len,
                         int64_t now_ms);
/* A channel snapshot on a live link: begin when "show channels as json" is
 * sent; its reply (apply_api) then removes the legs it did not list and that
 * did not appear meanwhile. */
void esl_model_snapshot_begin(esl_model *m);

/* Time-driven changes (wrap-up end, ended calls leaving, old calls ending). */
bool esl_model_tick(esl_model *m, int64_t now_ms);
/* Next time tick has something to do, INT64_MAX when none. */
int64_t esl_model_next_deadline(const esl_model *m);
/* Deep copy of users, calls and agents into v (link fields untouched). */
void esl_model_view(esl_model *m, int64_t now_ms, pd_live_view *v);

/* Directory users for store_sync_users; pointers valid until the model changes. */
size_t esl_model_synced_users(esl_model *m, pd_synced_user **out);
size_t esl_model_user_count(const esl_model *m);
/* The i-th directory user's endpoint ("1001@default"), NULL past the end. */
const char *esl_model_user_endpoint(const esl_model *m, size_t i);

#endif

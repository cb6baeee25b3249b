/* Internal to src/pbx: the BroadWorks call/agent/user model, pure (Xsi
 * event documents and directory pages in, a pd_live_view out; no sockets,
 * no clock of its own), tested with the documents of
 * tests/fixtures/broadworks/. It keeps the rules of the other models
 * (src/pbx/esl/esl_model.h): the same caps, the same display states, ended
 * calls lingering a few seconds (docs/architecture.md, "BroadWorks Xsi").
 *
 * - Xsi events are per user (targetId): each user's half of a call has its
 *   own callId; the halves of one call share the extTrackingId, which is
 *   the call's id here (a half without one is a call of its own).
 * - A half carrying acdCallInfo belongs to a call center call: the queue is
 *   acdName (else acdUserId); the half whose target is the call center
 *   itself is the queue's, the others are agents'.
 * - Agents are the users read with an ACD state (xsi_model_agent_read) and
 *   the targets of AgentStateEvent: Sign-Out -> Logged off,
 *   Available -> Available, Unavailable -> Not ready with the unavailable
 *   code as reason, Wrap-Up -> Wrap-up, Sign-In -> Not ready "Sign-In";
 *   an agent's own call halves come first (Ringing, On call, On hold). */
#ifndef PROVDESK_PBX_XSI_MODEL_H
#define PROVDESK_PBX_XSI_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "provdesk/live.h"
#include "provdesk/pbx_driver.h"
#include "provdesk/store.h"
#include "provdesk/xsi.h"

#define XSI_ENDED_LINGER_MS 5000 /* an ended call stays visible this long */

typedef struct xsi_model xsi_model;

xsi_model *xsi_model_new(void);
void xsi_model_free(xsi_model *m);
void xsi_model_set_limits(xsi_model *m, const pd_model_limits *l);
void xsi_model_get_stats(const xsi_model *m, pd_model_stats *out);

/* Apply one event document (other kinds are ignored). True if anything
 * visible changed. */
bool xsi_model_apply(xsi_model *m, const xsi_msg *msg, int64_t now_ms);
/* After a new channel: forget call halves, calls and agents' states (the
 * snapshot is taken again). */
void xsi_model_reset_live(xsi_model *m);

/* What no subscription of a group or an enterprise brings, read by
 * Xsi-Actions once subscribed: an agent's state (GET …/user/{id}/services/
 * CallCenter: agentACDState, agentUnavailableCode) and the calls a user is
 * in (…/calls, then …/calls/{callId}: xsi_call_parse). mark is
 * xsi_model_mark() when the read was sent: an event for that agent (an
 * AgentStateEvent) or that user's calls applied since is newer, and the
 * read is dropped. True if anything visible changed. */
uint64_t xsi_model_mark(const xsi_model *m);
bool xsi_model_agent_read(xsi_model *m, const char *user_id, const char *state, const char *code,
                          uint64_t mark, int64_t now_ms);
/* c: a call of user_id (its target); a call new to the model starts at
 * start_ms (monotonic, from its startTime; 0: now). */
bool xsi_model_call_read(xsi_model *m, const char *user_id, const xsi_msg *c, uint64_t mark,
                         int64_t start_ms, int64_t now_ms);

/* The directory: pages appended as they are read; reset before a new
 * reading. Users past max_users are refused (counted). */
void xsi_model_reset_users(xsi_model *m);
void xsi_model_add_directory(xsi_model *m, const xsi_dir_page *page);
size_t xsi_model_user_count(const xsi_model *m);
/* The id of directory user i (NULL past the count). */
const char *xsi_model_user_id(const xsi_model *m, size_t i);
size_t xsi_model_users_refused(const xsi_model *m);
/* Directory users for pd_drv_sync_users: endpoint = the BroadWorks user id
 * (user@domain), name = first and last name, email, sub-account = the group.
 * Pointers valid until the model changes. */
size_t xsi_model_synced_users(xsi_model *m, pd_synced_user **out);

/* Time-driven changes (ended calls leaving, old calls ending). */
bool xsi_model_tick(xsi_model *m, int64_t now_ms);
int64_t xsi_model_next_deadline(const xsi_model *m);
/* Deep copy of users, calls and agents into v (link fields untouched). */
void xsi_model_view(xsi_model *m, int64_t now_ms, pd_live_view *v);

#endif

/* Internal to src/pbx: the Asterisk call/agent/user model, pure (AMI
 * messages in, a pd_live_view out; no sockets, no clock of its own), so it is
 * tested by replaying the recorded session without a network. */
#ifndef PROVDESK_PBX_AMI_MODEL_H
#define PROVDESK_PBX_AMI_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "provdesk/ami.h"
#include "provdesk/live.h"
#include "provdesk/pbx_driver.h"
#include "provdesk/store.h"

#define AMI_ENDED_LINGER_MS 5000 /* an ended call stays visible this long */

typedef struct ami_model ami_model;

/* A PBX is untrusted input: what one link's model may hold, and what it
 * cost (the layer's caps and counters, include/provdesk/pbx_driver.h).
 * dropped_other: queue members past max_channels, queues past max_calls;
 * bad_fields stays 0 (the AMI parser counts them). */
typedef pd_model_limits ami_model_limits;
typedef pd_model_stats ami_model_stats;

ami_model *ami_model_new(void);
void ami_model_set_limits(ami_model *m, const ami_model_limits *l);
void ami_model_get_stats(const ami_model *m, ami_model_stats *out);
/* A CoreShowChannels snapshot on a live link: begin when it is asked for;
 * end (at CoreShowChannelsComplete) removes the channels it did not list
 * and that did not appear meanwhile. True if anything visible changed. */
void ami_model_snapshot_begin(ami_model *m);
bool ami_model_snapshot_end(ami_model *m, int64_t now_ms);
void ami_model_free(ami_model *m);
/* After a reconnect: forget channels, calls and agents (the snapshot is taken again). */
void ami_model_reset_live(ami_model *m);
/* Forget users (a resync lists them again). */
void ami_model_reset_users(ami_model *m);
/* Wrap-up seconds used when neither the member nor the queue gives one. */
void ami_model_set_default_wrapup(ami_model *m, int seconds);
/* Apply one message (event, list item, or SIPshowpeer response). True if
 * anything visible changed. */
bool ami_model_apply(ami_model *m, const ami_msg *msg, int64_t now_ms);
/* Time-driven changes (wrap-up end, ended calls leaving, calls older than
 * max_call_age ending). */
bool ami_model_tick(ami_model *m, int64_t now_ms);
/* Next time tick has something to do, INT64_MAX when none. */
int64_t ami_model_next_deadline(const ami_model *m);
/* Deep copy of users, calls and agents into v (link fields untouched). */
void ami_model_view(ami_model *m, int64_t now_ms, pd_live_view *v);
/* Users for store_sync_users; pointers valid until the model changes. */
size_t ami_model_synced_users(ami_model *m, pd_synced_user **out);
size_t ami_model_user_count(const ami_model *m);
const char *ami_model_user_endpoint(const ami_model *m, size_t i);
/* Add a user seen in a PeerEntry/EndpointList (also done by apply). */
void ami_model_user_add(ami_model *m, const char *endpoint, const char *device_state);
/* Users refused at max_users since the last ami_model_reset_users: a
 * directory that was cut short must not be synced (it would remove users). */
size_t ami_model_users_refused(const ami_model *m);
/* A mailbox seen in a VoicemailUserEntry (also done by apply); forgotten
 * with the users. ami_model_synced_users gives each user the email of its
 * mailbox: the endpoint's "Mailboxes" entry, else the same number in the
 * endpoint's context, else in "default", else the only one with that number. */
void ami_model_mailbox_add(ami_model *m, const char *context, const char *mailbox,
                           const char *fullname, const char *email);
size_t ami_model_mailbox_count(const ami_model *m);
/* "\"Alice Martin\" <1001>" -> "Alice Martin" (newly allocated). */
char *ami_callerid_name(const char *cid);

#endif

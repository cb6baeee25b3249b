/* The live PBX state shared between the monitor thread (writer) and the UI
 * (reader), per customer: link status, users with device states, calls and
 * agents. One short mutex; writers build a whole new view outside the lock
 * and swap it in (pd_live_publish); readers copy out under the lock
 * (pd_live_snapshot / pd_live_summary) and draw without it.
 *
 * Waking the UI: every change writes one byte to a non-blocking pipe whose
 * read end is pd_live_wake_fd(); at most one byte is pending (coalesced).
 * The UI polls that fd next to the keyboard, then calls pd_live_wake_drain()
 * and takes its snapshots. Times are CLOCK_MONOTONIC milliseconds
 * (pd_live_now_ms()); "time in state" = now - since_ms. */
#ifndef PROVDESK_LIVE_H
#define PROVDESK_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "provdesk/error.h"
#include "provdesk/link_state.h"

typedef enum {
	PD_CALL_QUEUED,
	PD_CALL_RINGING,
	PD_CALL_CONNECTED,
	PD_CALL_HELD,
	PD_CALL_ENDED
} pd_call_state;
typedef enum { PD_DIR_INBOUND, PD_DIR_OUTBOUND, PD_DIR_INTERNAL } pd_call_dir;
typedef enum {
	PD_AGENT_LOGGED_OFF,
	PD_AGENT_AVAILABLE,
	PD_AGENT_RINGING,
	PD_AGENT_ON_CALL,
	PD_AGENT_ON_HOLD,
	PD_AGENT_WRAPUP,
	PD_AGENT_NOT_READY, /* reason in pd_live_agent.reason */
	PD_AGENT_OFFLINE
} pd_agent_state;

const char *pd_call_state_name(pd_call_state s); /* in the messages' language: "Queued", "Ringing",
                                                    "Connected", "Held", "Ended" */
const char *
pd_call_dir_name(pd_call_dir d); /* in the messages' language: "inbound", "outbound", "internal" */
const char *pd_agent_state_name(pd_agent_state s); /* in the messages' language: "Logged off",
                                                      "Available", …, "Not ready", "Offline" */
/* A user's device_state ("Not in use", "Ringing", … as the models store it)
 * in the messages' language; a word the list does not know as it is; NULL
 * as "". */
const char *pd_device_state_label(const char *state);

typedef struct {
	char *endpoint;     /* "1001" */
	char *name;         /* caller-id name, UTF-8 */
	char *sub_account;  /* Asterisk: the endpoint's context; may be NULL */
	char *device_state; /* "Not in use", "In use", "Ringing", "Unavailable", … */
} pd_live_user;

typedef struct {
	char *id;               /* Asterisk Linkedid */
	char *from, *from_name; /* caller number and name: the first leg's, kept to the end */
	char *to;               /* dialled extension or queue */
	char *queue;            /* NULL when not a queue call */
	char *agent;            /* agent name once ringing/connected, else NULL */
	pd_call_dir dir;
	pd_call_state state;
	int64_t start_ms, state_since_ms, end_ms; /* end_ms 0 while not ended */
} pd_live_call;

typedef struct {
	char *interface; /* "PJSIP/1002" */
	char *name;      /* member name */
	char *queues;    /* "support, sales" */
	char *reason;    /* pause reason while paused (Not ready, or a call taken while
	                  * paused: "On call (paused: Lunch)"), else NULL */
	pd_agent_state state;
	int64_t since_ms;
	bool paused;      /* paused in every queue it is in, whatever its state */
	int64_t until_ms; /* Wrap-up: when it ends (a timer: Asterisk sends no event), else 0 */
} pd_live_agent;

/* What a link refused or repaired of its PBX's input (a PBX is untrusted:
 * the model has caps, see docs/architecture.md). Counts since the link's
 * driver was created. */
typedef struct {
	uint64_t dropped_calls;    /* new calls refused at max_calls_per_link */
	uint64_t dropped_channels; /* new channels refused at a cap */
	uint64_t aged_out;         /* calls ended by max_call_age (hangup lost) */
	uint64_t stale_channels;   /* removed: a re-snapshot no longer had them */
	uint64_t bad_fields;       /* header fields with control bytes dropped or repaired */
	uint64_t dropped_other;    /* queue members, queues refused at the caps */
	int64_t calls, channels;   /* held now */
	bool capped;               /* a cap is reached now */
} pd_live_input;

typedef struct {
	int64_t customer_id;
	pd_link_state link;
	char status[200]; /* "syncing 3/20", "retrying in 8s (connection refused)", … */
	/* "" when none; a pd_msg, a list of them (a monitoring link's warnings:
	 * sized for the sync's note and every input warning) or a PBX's words */
	char last_error[400];
	int sync_done, sync_total;
	int64_t retry_at_ms;
	int64_t link_since_ms; /* when `link` took its value */
	/* A link that is down tells the truth (docs/architecture.md, "Stale
	 * live data"): down_since_ms is when it was lost (left monitoring) or
	 * first failed, 0 while up or without a driver. While it reconnects the
	 * users/calls/agents below are the last known ones, `stale`, as of
	 * stale_since_ms, until the re-snapshot replaces them. */
	int64_t down_since_ms;
	bool stale;
	int64_t stale_since_ms;
	pd_live_user *users;
	size_t n_users;
	pd_live_call *calls; /* ended calls stay a few seconds */
	size_t n_calls;
	pd_live_agent *agents;
	size_t n_agents;
	int64_t generation; /* bumped on every change of this customer */
	pd_live_input input;
} pd_live_view;

typedef struct {
	int64_t customer_id;
	pd_link_state link;
	char status[200];
	int sync_done, sync_total;
	int64_t retry_at_ms, link_since_ms;
	int64_t down_since_ms; /* as in pd_live_view */
	bool stale;
	int64_t stale_since_ms;
	int64_t calls;         /* calls not ended */
	int64_t calls_waiting; /* queued, not yet answered */
	int64_t agents_available;
	int64_t agents_logged_on; /* every state but Logged off and Offline */
	int64_t generation;
	pd_live_input input;
} pd_live_summary;

typedef struct pd_live pd_live;

pd_live *pd_live_new(void);
void pd_live_free(pd_live *l);
int64_t pd_live_now_ms(void);

/* ---- readers (UI) ---- */
/* Read end of the wake pipe (non-blocking). */
int pd_live_wake_fd(pd_live *l);
/* Read the pending byte(s) and re-arm the wake. */
void pd_live_wake_drain(pd_live *l);
/* Bumped on every change of any customer. */
int64_t pd_live_generation(pd_live *l);
/* Deep copy of one customer's state; PD_E_NOTFOUND if the monitor does not
 * know it. status is formatted for "now" (the retry countdown). */
pd_status pd_live_snapshot(pd_live *l, int64_t customer_id, pd_live_view *out);
void pd_live_free_view(pd_live_view *v);
/* Counts only (cheap, for the grid/NOC). false when unknown. */
bool pd_live_summary_get(pd_live *l, int64_t customer_id, pd_live_summary *out);
/* Every known customer; caller frees *out with free(). */
size_t pd_live_summaries(pd_live *l, pd_live_summary **out);

/* ---- writers (monitor thread, drivers) ---- */
/* Link state only; keeps users/calls/agents. last_error NULL keeps the old one.
 * Leaving monitoring for a driver state (retrying, connecting, …) marks the
 * data stale and keeps it; a state without a driver (disabled, unsupported,
 * config error) ends that. Drivers set the down state before they publish
 * the reduced view of a dropped link, so the last full view is what stays. */
void pd_live_set_link(pd_live *l, int64_t customer_id, pd_link_state st, int sync_done,
                      int sync_total, int64_t retry_at_ms, const char *last_error);
/* Replace users, calls and agents with v's arrays (ownership taken, v's
 * pointers cleared) and the input counters; link fields of v are ignored.
 * While the data is stale and the link not monitoring, v is held back
 * (the latest one only) and shown when the link is monitoring again. */
void pd_live_publish(pd_live *l, int64_t customer_id, pd_live_view *v);
void pd_live_remove(pd_live *l, int64_t customer_id);
/* A mirror's writer (a client of `provdesk serve`, include/provdesk/serve.h):
 * replaces a customer's entry whole with v as another process's pd_live
 * holds it — link and status fields, times, stale marks, users, calls,
 * agents and input — taking ownership of v's arrays (v's pointers cleared).
 * v->generation is ignored: the entry's own is bumped. */
void pd_live_put(pd_live *l, pd_live_view *v);

/* "retrying in 8s (connection refused)" etc. into buf, in this process's
 * language; pd_live_status_msg: the same kept as a pd_msg, to be read in
 * the reader's (the state a monitor stores in pbx_status.state). */
void pd_live_status_text(pd_link_state st, int sync_done, int sync_total, int64_t retry_at_ms,
                         const char *last_error, int64_t now_ms, char *buf, size_t n);
void pd_live_status_msg(pd_link_state st, int sync_done, int sync_total, int64_t retry_at_ms,
                        const char *last_error, int64_t now_ms, char *buf, size_t n);

/* Helpers to free element arrays (used by drivers building views). */
void pd_live_users_free(pd_live_user *u, size_t n);
void pd_live_calls_free(pd_live_call *c, size_t n);
void pd_live_agents_free(pd_live_agent *a, size_t n);

#endif

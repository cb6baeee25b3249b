/* The lab PBX (docs/user-guide.md, The lab PBX): a small server speaking AMI exactly as the
 * recorded Asterisk 22 does (tests/fixtures/asterisk/): the banner, Login (success, or
 * "Authentication failed" then close), Ping/Pong with Timestamp, the listing
 * actions (PJSIPShowEndpoints, PJSIPShowEndpoint, QueueStatus,
 * CoreShowChannels, VoicemailUsersList) with "EventList: start" / items carrying the ActionID /
 * "...Complete" with ListItems, QueuePause, Logoff, and call/queue/agent
 * events with the recorded field names and order. Users are endpoints 1001…
 * with French/English names, queues are "support", "sales", …, sites are
 * dialplan contexts. A seeded generator places inbound queue calls.
 * Fault injection: drop, half-open (stops answering), slow and byte-by-byte
 * writes, garbage, restart. Runs on its own thread; usable in-process.
 * With platform PD_LAB_FREESWITCH_ESL the same lab speaks the FreeSWITCH
 * event socket as recorded in tests/fixtures/freeswitch/ (src/pbx/lab/
 * labpbx_esl.c). With PD_LAB_BROADWORKS_XSI it is a Cisco BroadWorks XSP
 * speaking Xsi-Actions and Xsi-Events over HTTP(S) (src/pbx/lab/
 * labpbx_xsi.c; the shapes of tests/fixtures/broadworks/). */
#ifndef PROVDESK_LABPBX_H
#define PROVDESK_LABPBX_H

#include <stdbool.h>
#include <stdint.h>

#include "provdesk/error.h"

enum {
	PD_LAB_FAULT_DROP = 1 << 0,      /* close every session */
	PD_LAB_FAULT_HALF_OPEN = 1 << 1, /* sessions go silent (no Pong) but stay open */
	PD_LAB_FAULT_SLOW = 1 << 2,      /* 64 bytes per 100 ms for a while */
	PD_LAB_FAULT_BYTEWISE = 1 << 3,  /* one byte per write for a while */
	PD_LAB_FAULT_GARBAGE = 1 << 4,   /* binary garbage in the stream */
	PD_LAB_FAULT_RESTART = 1 << 5,   /* close everything, listen again after restart_ms */
	/* hostile: what an untrusted PBX may send (src/pbx/lab/labpbx_hostile.c) */
	PD_LAB_FAULT_FLOOD = 1 << 6, /* Newchannel without hangups, full speed, for fault_ms */
	PD_LAB_FAULT_HUGE = 1 << 7,  /* one 16 MB event */
	PD_LAB_FAULT_CTRL = 1 << 8,  /* control bytes (ESC, BEL, NUL, DEL) in header fields */
	PD_LAB_FAULT_BIDI = 1 << 9,  /* a caller name with a bidi override, C1 CSI and ESC */
	/* BroadWorks Xsi only (src/pbx/lab/labpbx_xsi.c) */
	PD_LAB_FAULT_HEARTBEAT_404 = 1 << 10, /* the XSP forgets every channel: its stream goes
	                                       * silent, heartbeats and refreshes answer 404 */
	PD_LAB_FAULT_CHANNEL_END = 1 << 11,   /* ChannelTerminatedEvent, then the chunked
	                                       * stream ends */
	PD_LAB_FAULT_SUB_END = 1 << 12,       /* every subscription expires:
	                                       * SubscriptionTerminatedEvent */
};
#define PD_LAB_FAULT_NETWORK 0x3fu  /* "all": drop … restart */
#define PD_LAB_FAULT_HOSTILE 0x3c0u /* "hostile": flood, huge, ctrl, bidi */
#define PD_LAB_FAULT_XSI 0x1c00u    /* "xsi": heartbeat-404, channel-end, sub-end */

/* The wire a lab speaks (docs/user-guide.md, The lab PBX): the users,
 * queues, agents, call generator and faults are the same, only the bytes
 * differ. */
typedef enum {
	PD_LAB_ASTERISK_AMI = 0,   /* Asterisk Manager Interface, as Asterisk 22 */
	PD_LAB_FREESWITCH_ESL = 1, /* FreeSWITCH inbound event socket, as FreeSWITCH 1.10 */
	PD_LAB_BROADWORKS_XSI = 2, /* a Cisco BroadWorks XSP: Xsi over HTTP(S) */
} pd_lab_platform;

typedef struct {
	pd_lab_platform platform;
	const char *listen_host; /* default "127.0.0.1" */
	int port;                /* 0 = any free port (see labpbx_port) */
	const char *username;    /* default "admin" */
	const char *secret;      /* default "lab-secret" */
	int users;               /* default 20 (1001…) */
	int queues;              /* default 2 */
	int sites;               /* default 1 ("from-internal"; more: "site-1"…) */
	double call_rate;        /* inbound calls per minute; 0 = only labpbx_place_call */
	uint64_t seed;           /* default 1 */
	unsigned faults;         /* PD_LAB_FAULT_* fired at random every fault_period_ms */
	int fault_period_ms;     /* default 30000 */
	int ring_ms;             /* agent ring time, default 2000 */
	int talk_ms;             /* mean talk time, default 30000 */
	int wrapup_s;            /* the queues' wrapuptime, default 5 (-1 = none); not on the
	                          * wire: Asterisk sends members' own Wrapuptime (0) only */
	int restart_ms;          /* default 2000 */
	int fault_ms;            /* how long slow/bytewise last, default 5000 */
	int hold_pct;     /* % of answered calls put on hold a while; default 20, -1 = none */
	int outbound_pct; /* % of generated calls that are outbound; default 25, -1 = none */
	int direct_pct;   /* % of the other (inbound) ones dialled straight to a user's
	                   * phone, not through a queue (Asterisk only); default 0 */
	/* Behave as an Asterisk 13-16 with chan_sip only: PJSIP* actions answer
	 * "Invalid/unknown command", users are listed by SIPpeers (PeerEntry
	 * items, PeerlistComplete) and SIPshowpeer, channels and interfaces are
	 * "SIP/...". Peers whose index ends in 8 are UNKNOWN (never qualified),
	 * in 9 UNREACHABLE; the others "OK (N ms)". */
	bool legacy_sip;
	/* Without app_voicemail: VoicemailUsersList answers "Invalid/unknown
	 * command". Otherwise every user has a mailbox (its number, in its
	 * site's context) with its full name and first.last@lab.example as
	 * email, except the mailboxes whose number ends in 7 (no email). */
	bool no_voicemail;
	/* Listen with TLS (as Asterisk's tlsenable=yes): PEM certificate chain and
	 * key files; both NULL = plain TCP. */
	const char *tls_cert, *tls_key;
	/* FreeSWITCH only: HEARTBEAT events every heartbeat_ms (default 20000,
	 * as FreeSWITCH); phones re-register (sofia::register) every
	 * reg_refresh_ms (default 60000, -1 = never). sites > 1 are extra
	 * domains ("default", "site-2", ...), one per tenant. */
	int heartbeat_ms, reg_refresh_ms;
	/* Calls already up when the lab starts (answered, talking): a console
	 * that connects finds them only in CoreShowChannels and QueueStatus. */
	int calls_up;
	/* "1001:Lunch": that endpoint is paused (QueuePause, with the reason)
	 * as soon as it answers a queue call, as a supervisor does mid-call. */
	const char *pause_in_call;
	/* BroadWorks Xsi: an event left unacknowledged this long ends its
	 * channel (ChannelTerminatedEvent), as an XSP does; default 10000. */
	int ack_timeout_ms;
	/* BroadWorks Xsi: the user is the administrator of this group only
	 * ("group-2"): the enterprise directory, enterprise-level subscriptions
	 * and other groups are answered 403. NULL = enterprise administrator. */
	const char *admin_group;
	/* BroadWorks Xsi: the XSP grants at most this many seconds of expiry
	 * (the <Channel> document, subscription answers, refreshes); a channel
	 * or subscription not refreshed in time is ended (ChannelTerminatedEvent,
	 * SubscriptionTerminatedEvent). 0 = what is asked. */
	int grant_expires_s;
	/* Every byte the lab sends leaves this long after it was written, as
	 * from a PBX latency_ms away (each platform; 0 = at once). Benchmarks
	 * use it: loopback hides what a round trip costs. */
	int latency_ms;
	/* BroadWorks Xsi: the users' state reads (GET …/user/{id}/services/
	 * CallCenter) and call lists (…/calls) go wrong by user index, as a
	 * hostile or broken XSP's would: 1 malformed XML, 2 a 503, 3 an unknown
	 * state with a tab and a bidi override, an unavailable code with a bidi
	 * override and a newline (a call list: 100 calls, none up), 4 an answer
	 * over 5 MiB, 5 a 403 (counted from 0, modulo 6); the others are
	 * answered as always. */
	bool xsi_bad_state_reads;
} pd_labpbx_opts;

typedef struct pd_labpbx pd_labpbx;

/* "drop,half-open,slow,bytewise,garbage,restart" (also "all", these six),
 * "flood,huge,ctrl,bidi" (also "hostile", these four),
 * "heartbeat-404,channel-end,sub-end" (also "xsi", these three; BroadWorks). */
pd_status labpbx_parse_faults(const char *list, unsigned *out, pd_err *e);
pd_status labpbx_start(const pd_labpbx_opts *o, pd_labpbx **out, pd_err *e);
/* Writes a new self-signed certificate (EC P-256, SHA-256, a year) for
 * 127.0.0.1, ::1, localhost and host (may be NULL) to cert_path, and its key
 * to key_path (mode 0600): the lab's tls_cert/tls_key, and the file a client
 * trusts (src/pbx/lab/labpbx_cert.c). */
pd_status labpbx_make_cert(const char *host, const char *cert_path, const char *key_path,
                           pd_err *e);
int labpbx_port(pd_labpbx *l);
void labpbx_stop(pd_labpbx *l);

/* Test/CLI controls; thread-safe, act at the server's next loop turn. */
void labpbx_inject(pd_labpbx *l, unsigned faults);
/* An inbound call to queue index q (0-based); q = -1: an outbound call from
 * an idle user to an external number; q = -2 (Asterisk only): an inbound
 * call dialled straight to an idle user's phone (no queue). */
void labpbx_place_call(pd_labpbx *l, int q);
/* Pause/unpause endpoint (e.g. "1002") in every queue it belongs to;
 * NULL: every endpoint at once (a burst of agent events). */
void labpbx_pause(pd_labpbx *l, const char *endpoint, bool paused, const char *reason);
/* FreeSWITCH: the endpoint's phone unregisters (sofia::unregister) or
 * registers again (sofia::register). No effect on an AMI lab. */
void labpbx_register(pd_labpbx *l, const char *endpoint, bool registered);
/* Counters (thread-safe). */
int labpbx_sessions(pd_labpbx *l); /* logged-in sessions */
int labpbx_active_calls(pd_labpbx *l);
int64_t labpbx_logins(pd_labpbx *l);  /* successful logins so far */
int64_t labpbx_logoffs(pd_labpbx *l); /* AMI Logoff / ESL exit received so far */
/* Injected 16 MB events (PD_LAB_FAULT_HUGE) queued whole: what the lab
 * sends after that follows the event (the session's other events are
 * dropped while it is being sent). */
int64_t labpbx_huge_sent(pd_labpbx *l);
/* FreeSWITCH: "api status" commands answered so far (a driver's pings). */
int64_t labpbx_status_asked(pd_labpbx *l);
/* FreeSWITCH: the most commands one read of one session handed the lab
 * (sent before the first of them was answered; answered in order), the
 * largest over the sessions so far. */
int labpbx_commands_at_once(pd_labpbx *l);
/* Changes the password a BroadWorks Xsi lab accepts: requests with the old
 * one are answered 401 from the call's return (an AMI or ESL lab keeps the
 * password it started with). Thread-safe. */
void labpbx_set_secret(pd_labpbx *l, const char *secret);
/* BroadWorks Xsi counters, read together (each thread-safe). */
typedef struct {
	int64_t channels_opened; /* POST …/channel answered 200 */
	int64_t channels_ended;  /* channels the XSP ended (ChannelTerminatedEvent) */
	int64_t acks;            /* eventresponse POSTs for an event still unacknowledged */
	int64_t events_sent;     /* <xsi:Event> documents with an eventID written */
	int64_t heartbeats;      /* heartbeat PUTs answered 200 */
	int64_t deletes;         /* DELETE requests (channel or subscription) answered 200 */
	int64_t unauthorized;    /* requests answered 401 */
	int64_t refreshes;       /* channel and subscription refresh PUTs answered 200 */
	int channels_live;       /* channels with an open stream */
	int subscriptions_live;
	int connections_max; /* the most HTTP connections open at once */
	int64_t state_reads; /* agents' ACD states answered (…/services/CallCenter) */
	int64_t call_reads;  /* users' call lists and calls answered (…/calls[/ID]) */
} pd_lab_xsi_counters;
void labpbx_xsi_counters(pd_labpbx *l, pd_lab_xsi_counters *out);

#endif

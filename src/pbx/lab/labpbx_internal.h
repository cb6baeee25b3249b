/* Internal to the lab PBX (src/pbx/lab/labpbx*.c): the server state shared by
 * the socket/action side (labpbx.c) and the call simulator (labpbx_calls.c). */
#ifndef PROVDESK_PBX_LABPBX_INTERNAL_H
#define PROVDESK_PBX_LABPBX_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "provdesk/ami.h"
#include "provdesk/labpbx.h"
#include "provdesk/util.h"

#define MAX_SESSIONS 1024 /* a BroadWorks client holds two or more per link */
/* What a session may have waiting to be written (10,000 BroadWorks agents'
 * events at once are 8.5 MB); past it a write is dropped whole. */
#define OUT_LIMIT (32u * 1024 * 1024)

typedef struct {
	int fd;
	ami_tls *tls;  /* when the lab listens with TLS */
	bool tls_done; /* handshake finished */
	ami_parser *p;
	pd_buf out;
	size_t off;
	/* latency_ms: out's bytes up to ready may be sent; the marks say when
	 * the rest may (end offset in out, time), oldest first */
	size_t ready;
	struct lab_mark {
		size_t end;
		int64_t at;
	} * mk;
	size_t mk_h, mk_n, mk_cap;
	bool logged_in, events, mute, close_after;
	uint32_t evmask; /* AMI: the classes of broadcast events it gets (Login's Events) */
	int64_t slow_until, bytewise_until, next_slow_at;
	int64_t flood_until; /* hostile: Newchannel flood until then */
	size_t huge_left;    /* hostile: bytes of the 16 MB event still to send */
	/* FreeSWITCH (labpbx_esl.c): the command being read, the subscription */
	pd_buf in;
	unsigned esl_sub;        /* LAB_ESL_SUB_* */
	struct lab_xsi_conn *xc; /* BroadWorks Xsi (labpbx_xsi.c): the HTTP connection */
	struct pd_labpbx *lab;
} session;

typedef struct {
	char ep[16], *name, *context;
	char *email; /* the mailbox's email; "" for mailboxes without one */
	int queue;
	bool paused, busy, held, outbound_call;
	bool direct_call, ringing; /* on a direct (not queue) call; its phone rings */
	char *reason;
	bool logged_out;   /* FreeSWITCH agent status Logged Out (never offered calls) */
	bool on_demand;    /* FreeSWITCH agent status Available (On Demand) */
	bool unregistered; /* FreeSWITCH: the phone is not registered */
	int64_t wrapup_until, last_pause;
	int calls_taken;
} luser;

enum { P_JOIN, P_WAIT, P_RING, P_TALK, P_DONE };

typedef struct {
	int q, phase, agent; /* q = -1 for an outbound or a direct call */
	bool outbound, held; /* outbound: agent = the calling user, chan = the trunk leg */
	bool direct;         /* Dial() to agent's extension from the trunk: no queue */
	int64_t next_at, join_at, answer_at, hold_at, unhold_at, end_at;
	char dialed[24];
	char cid_num[24], cid_name[32];
	char uid[40], chan[64];     /* caller */
	char a_uid[40], a_chan[64]; /* agent leg */
	char m_uid[40];             /* FreeSWITCH: the callcenter member uuid */
	int64_t ring_at;            /* the agent leg was created */
	char bridge[40];
} lcall;

typedef struct {
	int kind; /* 0 inject, 1 call, 2 pause, 3 register */
	unsigned faults;
	int q;
	char ep[16];
	bool paused;
	char reason[64];
} cmd;

struct pd_labpbx {
	pd_labpbx_opts o;
	char host[256];
	const char *tech; /* channel technology: "PJSIP", or "SIP" when legacy_sip */
	int port;
	int lfd, ctl_r, ctl_w;
	ami_tls_server *tls; /* NULL: plain TCP */
	pthread_t thread;
	pthread_mutex_t mu;
	cmd *cmds;
	size_t ncmds;
	bool stop;
	atomic_int n_sessions, n_calls;
	atomic_llong logins;
	atomic_llong logoffs;   /* AMI Logoff / ESL exit received */
	atomic_llong huge_sent; /* hostile: 16 MB events whose last byte is queued */
	session *s[MAX_SESSIONS];
	int ns;
	luser *u;
	int nu;
	char **qname;
	lcall *calls;
	size_t ncalls, ccalls;
	uint64_t rng;
	unsigned chan_seq, uid_seq, caller_seq;
	int64_t epoch, boot_ms, next_call_at, next_fault_at, restart_at;
	int64_t now;
	/* FreeSWITCH personality (labpbx_esl.c) */
	bool esl;
	char core_uuid[40];
	uint64_t ev_seq;
	int64_t next_heartbeat, next_reg;
	int reg_next_user;         /* re-registrations are spread over the period */
	atomic_llong status_asked; /* api status commands answered */
	atomic_int most_at_once;   /* the most commands a read brought at once */
	/* BroadWorks Xsi personality (labpbx_xsi.c) */
	bool xsi;
	struct lab_xsi *xs;
	char *secret_now; /* the accepted password (labpbx_set_secret), under mu */
};

typedef struct {
	const char *chan;
	int state;
	const char *cid_num, *cid_name, *conn_num, *conn_name, *context, *exten;
	int priority;
	const char *uid, *lid;
} chan_info;

/* labpbx_calls.c */
uint64_t lab_rnd(pd_labpbx *l);
double lab_rnd01(pd_labpbx *l);
/* Queues n bytes, whole; false (nothing queued) past OUT_LIMIT or muted. */
bool lab_sess_send(session *s, const char *data, size_t n);
/* The bytes of out that may be sent now, from off (latency_ms). */
size_t lab_sess_ready(session *s);
/* When more of out may be sent (INT64_MAX: nothing is held). */
int64_t lab_sess_held_until(const session *s);
/* AMI event classes as Asterisk reads Login's Events header: on/yes/true/1
 * (every class; also when absent), off/no/false/0 (none), a number (the
 * bits in Asterisk's order) or names ("call,agent"). */
uint32_t lab_event_mask(const char *events);
/* Whether a session gets a broadcast event: its first Privilege class is
 * in the session's mask (an event without one always goes). */
bool lab_wants_event(const session *s, const char *ev, size_t n);
void lab_put_chan(pd_buf *b, const char *pfx, const chan_info *c);
chan_info lab_caller_info(pd_labpbx *l, const lcall *c, int state);
chan_info lab_agent_info(pd_labpbx *l, const lcall *c, int state);
void lab_member_fields(pd_labpbx *l, pd_buf *b, const luser *u, bool list_item);
int lab_waiting_in(pd_labpbx *l, int q);
void lab_call_new(pd_labpbx *l, int q);
/* An inbound call to queue q, answered and talking at once (labpbx_start's
 * calls_up: before any client connects). */
void lab_call_up(pd_labpbx *l, int q);
/* An outbound call from an idle user to an external number; false if none idle. */
bool lab_call_out(pd_labpbx *l);
/* An inbound call dialled straight to an idle user's extension (no queue:
 * no AgentCalled/AgentComplete, no wrap-up); false if none idle or on a
 * FreeSWITCH lab. */
bool lab_call_direct(pd_labpbx *l);
void lab_calls_run(pd_labpbx *l);
void lab_calls_reset(pd_labpbx *l);
void lab_do_pause(pd_labpbx *l, const char *ep, bool paused, const char *reason);
/* The user whose endpoint is ep ("1001": endpoints are 1001 + index), NULL
 * when none (labpbx.c). */
luser *lab_user_by_ep(pd_labpbx *l, const char *ep);

/* labpbx_esl.c: the FreeSWITCH event-socket personality. The call
 * simulator calls lab_esl_call at each step of a call (a no-op on an AMI
 * lab, whose own events are written in labpbx_calls.c). */
enum {
	LAB_CALL_JOIN,        /* an inbound call enters its queue */
	LAB_CALL_OFFER,       /* an agent's phone rings */
	LAB_CALL_ANSWER,      /* the agent answers: bridged */
	LAB_CALL_HOLD,        /* the agent puts the caller on hold */
	LAB_CALL_UNHOLD,      /* ... and takes it back */
	LAB_CALL_HANGUP,      /* a bridged call ends */
	LAB_CALL_ABANDON,     /* the caller hangs up while waiting */
	LAB_CALL_OUT_START,   /* a user dials an external number */
	LAB_CALL_OUT_ANSWER,  /* the far end answers */
	LAB_CALL_DIRECT_OFFER /* a call dialled straight to a user rings (no queue) */
};
void lab_esl_call(pd_labpbx *l, const lcall *c, int step);
/* An agent's status changed (pause/unpause, labpbx_pause). */
void lab_esl_agent_status(pd_labpbx *l, const luser *u);
void lab_esl_register(pd_labpbx *l, luser *u, bool registered);
void lab_esl_new_uuid(pd_labpbx *l, char *out, size_t n);
void lab_esl_accept(pd_labpbx *l, session *s);
void lab_esl_feed(pd_labpbx *l, session *s, const char *data, size_t n);
/* Timers (HEARTBEAT, re-registrations); returns the next time it needs. */
int64_t lab_esl_tick(pd_labpbx *l);
/* The restart fault: "The system is being shut down." to every session
 * whose output is empty, written at once (the sessions close right after). */
void lab_esl_shutdown(pd_labpbx *l);
void lab_esl_hostile_inject(pd_labpbx *l, session *s, unsigned faults);
bool lab_esl_hostile_fill(pd_labpbx *l, session *s);

/* labpbx_xsi.c: the BroadWorks XSP personality. lab_esl_call and
 * lab_esl_agent_status hand the steps of an Xsi lab to lab_xsi_call and
 * lab_xsi_agent_status. */
void lab_xsi_init(pd_labpbx *l);
void lab_xsi_free(pd_labpbx *l);
void lab_xsi_accept(pd_labpbx *l, session *s);
void lab_xsi_feed(pd_labpbx *l, session *s, const char *data, size_t n);
/* The session is closing: its channel (if any) is gone. */
void lab_xsi_close(pd_labpbx *l, session *s);
void lab_xsi_call(pd_labpbx *l, const lcall *c, int step);
void lab_xsi_agent_status(pd_labpbx *l, const luser *u);
/* Ack timeouts, expiries, ends of wrap-up; returns the next time it needs. */
int64_t lab_xsi_tick(pd_labpbx *l);
/* Xsi faults (garbage in the stream, heartbeat-404, channel-end, sub-end,
 * restart forgets subscriptions); before drop/restart close the sessions. */
void lab_xsi_inject(pd_labpbx *l, unsigned faults);

/* labpbx_hostile.c */
void lab_hostile_inject(pd_labpbx *l, unsigned faults);
/* Tops up a flooding or huge-sending session's output; true while one runs. */
bool lab_hostile_fill(pd_labpbx *l, session *s);

#endif

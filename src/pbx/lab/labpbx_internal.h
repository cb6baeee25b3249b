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

#define MAX_SESSIONS 256
#define OUT_LIMIT (8u * 1024 * 1024)

typedef struct {
	int fd;
	ami_tls *tls;  /* when the lab listens with TLS */
	bool tls_done; /* handshake finished */
	ami_parser *p;
	pd_buf out;
	size_t off;
	bool logged_in, events, mute, close_after;
	int64_t slow_until, bytewise_until, next_slow_at;
	int64_t flood_until; /* hostile: Newchannel flood until then */
	size_t huge_left;    /* hostile: bytes of the 16 MB event still to send */
	struct pd_labpbx *lab;
} session;

typedef struct {
	char ep[16], *name, *context;
	char *email; /* the mailbox's email; "" for mailboxes without one */
	int queue;
	bool paused, busy, held, outbound_call;
	char *reason;
	int64_t wrapup_until, last_pause;
	int calls_taken;
} luser;

enum { P_JOIN, P_WAIT, P_RING, P_TALK, P_DONE };

typedef struct {
	int q, phase, agent; /* q = -1 for an outbound call */
	bool outbound, held; /* outbound: agent = the calling user, chan = the trunk leg */
	int64_t next_at, join_at, answer_at, hold_at, unhold_at, end_at;
	char dialed[24];
	char cid_num[24], cid_name[32];
	char uid[32], chan[64];     /* caller */
	char a_uid[32], a_chan[64]; /* agent leg */
	char bridge[40];
} lcall;

typedef struct {
	int kind; /* 0 inject, 1 call, 2 pause */
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
void lab_sess_send(session *s, const char *data, size_t n);
void lab_put_chan(pd_buf *b, const char *pfx, const chan_info *c);
chan_info lab_caller_info(pd_labpbx *l, const lcall *c, int state);
chan_info lab_agent_info(pd_labpbx *l, const lcall *c, int state);
void lab_member_fields(pd_labpbx *l, pd_buf *b, const luser *u, bool list_item);
int lab_waiting_in(pd_labpbx *l, int q);
void lab_call_new(pd_labpbx *l, int q);
/* An outbound call from an idle user to an external number; false if none idle. */
bool lab_call_out(pd_labpbx *l);
void lab_calls_run(pd_labpbx *l);
void lab_calls_reset(pd_labpbx *l);
void lab_do_pause(pd_labpbx *l, const char *ep, bool paused, const char *reason);

/* labpbx_hostile.c */
void lab_hostile_inject(pd_labpbx *l, unsigned faults);
/* Tops up a flooding or huge-sending session's output; true while one runs. */
bool lab_hostile_fill(pd_labpbx *l, session *s);

#endif

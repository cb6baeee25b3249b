/* Asterisk Manager Interface: an incremental, pure parser (bytes in,
 * messages out through a callback; no sockets) and the action writer.
 *
 * What it accepts (see tests/fixtures/asterisk/README.md):
 *  - the banner line "Asterisk Call Manager/11.0.0" (the first line, if
 *    expect_banner is set);
 *  - "Key: Value" header lines, CRLF or bare LF; a value may be empty
 *    ("Output: ") and keeps its leading spaces after the one space that
 *    follows the colon ("Output:  Endpoint:" -> " Endpoint:");
 *  - a blank line ends a message; extra blank lines are ignored;
 *  - repeated keys are kept in order (Output:, Variable:);
 *  - the legacy "Response: Follows" format, whose raw body ends with
 *    "--END COMMAND--" (delivered in ami_msg.body).
 * Bad input (a line longer than max_line, a header line with no colon, a
 * message larger than max_msg) gives one AMI_MSG_ERROR naming the line, then
 * everything is skipped until the next blank line.
 * Control bytes (C0 but TAB, DEL) are not worth a message, let alone the
 * link: in a value they are replaced by '?', a line whose key holds one is
 * dropped; both are counted (ami_parser_bad_fields).
 * Memory is bounded by max_line + max_msg, and buffers grown by a large
 * message are given back once it is delivered (ami_parser_capacity).
 *
 * Speed (docs/architecture.md, "AMI ingest"): ordinary header lines are
 * taken from bitmaps built once per 64 bytes (line ends, colons, control and
 * key-forbidden bytes), any other line by one scan of its own; fields are
 * offsets into the bytes read (NUL-terminated in place at delivery, no copy
 * per header); known keys and event names are recognised by a perfect hash
 * as the line is read, so ami_getk/ami_msg_event are O(1). The field arrays are one scratch per
 * thread serving every parser on it; a parser keeps bytes only while a
 * message is split across reads, so an idle link holds none. */
#ifndef PROVDESK_AMI_H
#define PROVDESK_AMI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "provdesk/error.h"
#include "provdesk/pbx_transport.h"
#include "provdesk/util.h"

typedef enum {
	AMI_MSG_BANNER,   /* text = the banner line */
	AMI_MSG_RESPONSE, /* first key "Response" */
	AMI_MSG_EVENT,    /* first key "Event" */
	AMI_MSG_ACTION,   /* first key "Action" (what a client sends; used by the lab PBX) */
	AMI_MSG_OTHER,    /* any other first key */
	AMI_MSG_ERROR     /* protocol error; text says what, line where */
} ami_kind;

typedef struct {
	const char *key, *value; /* NUL-terminated */
	size_t key_len, value_len;
} ami_field;

/* The keys the driver and the model read, looked up in O(1) (ami_getk);
 * matched case-insensitively like ami_get. */
#define AMI_KEYS(X)                                                                                \
	X(ACTION, "Action")                                                                        \
	X(ACTIONID, "ActionID")                                                                    \
	X(APPLICATION, "Application")                                                              \
	X(APPLICATIONDATA, "ApplicationData")                                                      \
	X(BRIDGEID, "BridgeId")                                                                    \
	X(CALLERID, "Callerid")                                                                    \
	X(CALLERIDNAME, "CallerIDName")                                                            \
	X(CALLERIDNUM, "CallerIDNum")                                                              \
	X(CHANNEL, "Channel")                                                                      \
	X(CHANNELSTATE, "ChannelState")                                                            \
	X(CONTEXT, "Context")                                                                      \
	X(DESTCALLERIDNAME, "DestCallerIDName")                                                    \
	X(DESTCALLERIDNUM, "DestCallerIDNum")                                                      \
	X(DESTCHANNEL, "DestChannel")                                                              \
	X(DESTCHANNELSTATE, "DestChannelState")                                                    \
	X(DESTEXTEN, "DestExten")                                                                  \
	X(DESTLINKEDID, "DestLinkedid")                                                            \
	X(DESTUNIQUEID, "DestUniqueid")                                                            \
	X(DEVICE, "Device")                                                                        \
	X(DEVICESTATE, "DeviceState")                                                              \
	X(DIALSTRING, "DialString")                                                                \
	X(DURATION, "Duration")                                                                    \
	X(EMAIL, "Email")                                                                          \
	X(EVENT, "Event")                                                                          \
	X(EVENTLIST, "EventList")                                                                  \
	X(EXTEN, "Exten")                                                                          \
	X(FULLNAME, "Fullname")                                                                    \
	X(INCALL, "InCall")                                                                        \
	X(INTERFACE, "Interface")                                                                  \
	X(LINKEDID, "Linkedid")                                                                    \
	X(LOCATION, "Location")                                                                    \
	X(MAILBOXES, "Mailboxes")                                                                  \
	X(MEMBERNAME, "MemberName")                                                                \
	X(MESSAGE, "Message")                                                                      \
	X(NAME, "Name")                                                                            \
	X(OBJECTNAME, "ObjectName")                                                                \
	X(PAUSED, "Paused")                                                                        \
	X(PAUSEDREASON, "PausedReason")                                                            \
	X(QUEUE, "Queue")                                                                          \
	X(REASON, "Reason")                                                                        \
	X(RESPONSE, "Response")                                                                    \
	X(STATE, "State")                                                                          \
	X(STATEINTERFACE, "StateInterface")                                                        \
	X(STATUS, "Status")                                                                        \
	X(UNIQUEID, "Uniqueid")                                                                    \
	X(VMCONTEXT, "VMContext")                                                                  \
	X(VOICEMAILBOX, "VoiceMailbox")                                                            \
	X(WRAPUPTIME, "Wrapuptime")

typedef enum {
	AMI_K_NONE = 0, /* a key not in AMI_KEYS */
#define AMI_X_(id, name) AMI_K_##id,
	AMI_KEYS(AMI_X_)
#undef AMI_X_
	    AMI_K__COUNT
} ami_key;

/* The event names the driver and the model act on (matched exactly, as
 * Asterisk spells them); any other is AMI_EV_UNKNOWN. */
#define AMI_EVENTS(X)                                                                              \
	X(AGENTCALLED, "AgentCalled")                                                              \
	X(AGENTCOMPLETE, "AgentComplete")                                                          \
	X(AGENTCONNECT, "AgentConnect")                                                            \
	X(AGENTRINGNOANSWER, "AgentRingNoAnswer")                                                  \
	X(BRIDGEENTER, "BridgeEnter")                                                              \
	X(BRIDGELEAVE, "BridgeLeave")                                                              \
	X(CORESHOWCHANNEL, "CoreShowChannel")                                                      \
	X(CORESHOWCHANNELSCOMPLETE, "CoreShowChannelsComplete")                                    \
	X(DEVICESTATECHANGE, "DeviceStateChange")                                                  \
	X(DIALBEGIN, "DialBegin")                                                                  \
	X(DIALEND, "DialEnd")                                                                      \
	X(ENDPOINTDETAIL, "EndpointDetail")                                                        \
	X(ENDPOINTDETAILCOMPLETE, "EndpointDetailComplete")                                        \
	X(ENDPOINTLIST, "EndpointList")                                                            \
	X(ENDPOINTLISTCOMPLETE, "EndpointListComplete")                                            \
	X(HANGUP, "Hangup")                                                                        \
	X(HOLD, "Hold")                                                                            \
	X(NEWCALLERID, "NewCallerid")                                                              \
	X(NEWCHANNEL, "Newchannel")                                                                \
	X(NEWSTATE, "Newstate")                                                                    \
	X(PEERENTRY, "PeerEntry")                                                                  \
	X(PEERLISTCOMPLETE, "PeerlistComplete")                                                    \
	X(QUEUECALLERABANDON, "QueueCallerAbandon")                                                \
	X(QUEUECALLERJOIN, "QueueCallerJoin")                                                      \
	X(QUEUECALLERLEAVE, "QueueCallerLeave")                                                    \
	X(QUEUEENTRY, "QueueEntry")                                                                \
	X(QUEUEMEMBER, "QueueMember")                                                              \
	X(QUEUEMEMBERADDED, "QueueMemberAdded")                                                    \
	X(QUEUEMEMBERPAUSE, "QueueMemberPause")                                                    \
	X(QUEUEMEMBERPAUSED, "QueueMemberPaused")                                                  \
	X(QUEUEMEMBERREMOVED, "QueueMemberRemoved")                                                \
	X(QUEUEMEMBERSTATUS, "QueueMemberStatus")                                                  \
	X(QUEUEPARAMS, "QueueParams")                                                              \
	X(QUEUESTATUSCOMPLETE, "QueueStatusComplete")                                              \
	X(UNHOLD, "Unhold")                                                                        \
	X(VOICEMAILUSERENTRY, "VoicemailUserEntry")                                                \
	X(VOICEMAILUSERENTRYCOMPLETE, "VoicemailUserEntryComplete")                                \
	AMI_UNREAD_EVENTS(X)

/* The event classes the driver logs in for (Login's Events header; a real
 * Asterisk sends a session only the broadcast events of its classes). Every
 * unsolicited event the model reads is of one of them: call for channels,
 * dials, bridges, holds and device states, agent for queues and their
 * members (the Privilege lines of the recorded Asterisk 22; tested). The
 * answers to our own actions (lists, CoreShowChannel…) come whatever the
 * mask. What the mask leaves out (dialplan's VarSet and Newexten,
 * reporting's RTCP, security, system) was 59 % of the recorded bytes. */
#define AMI_LOGIN_EVENTS "call,agent"

/* Whether an event whose Privilege value is privilege ("call,all") is of
 * one of classes ("call,agent"): its first class, case-insensitively, as
 * Asterisk files it. NULL privilege (an answer to an action): true. */
bool ami_class_in(const char *privilege, const char *classes);

/* Events neither the driver nor the model reads: the driver's parser skips
 * them after their first line (ami_parser_opts.skip, ami_skip_unread). Half
 * of a busy system's events are VarSet alone. */
#define AMI_UNREAD_EVENTS(X)                                                                       \
	X(BRIDGECREATE, "BridgeCreate")                                                            \
	X(BRIDGEDESTROY, "BridgeDestroy")                                                          \
	X(CDR, "Cdr")                                                                              \
	X(CEL, "CEL")                                                                              \
	X(CHALLENGESENT, "ChallengeSent")                                                          \
	X(CONTACTSTATUS, "ContactStatus")                                                          \
	X(DIALSTATE, "DialState")                                                                  \
	X(DTMFBEGIN, "DTMFBegin")                                                                  \
	X(DTMFEND, "DTMFEnd")                                                                      \
	X(EXTENSIONSTATUS, "ExtensionStatus")                                                      \
	X(HANGUPREQUEST, "HangupRequest")                                                          \
	X(LOCALBRIDGE, "LocalBridge")                                                              \
	X(MUSICONHOLDSTART, "MusicOnHoldStart")                                                    \
	X(MUSICONHOLDSTOP, "MusicOnHoldStop")                                                      \
	X(NEWACCOUNTCODE, "NewAccountCode")                                                        \
	X(NEWCONNECTEDLINE, "NewConnectedLine")                                                    \
	X(NEWEXTEN, "Newexten")                                                                    \
	X(PEERSTATUS, "PeerStatus")                                                                \
	X(RTCPRECEIVED, "RTCPReceived")                                                            \
	X(RTCPSENT, "RTCPSent")                                                                    \
	X(SOFTHANGUPREQUEST, "SoftHangupRequest")                                                  \
	X(SUCCESSFULAUTH, "SuccessfulAuth")                                                        \
	X(VARSET, "VarSet")

typedef enum {
	AMI_EV_UNKNOWN = 0,
#define AMI_X_(id, name) AMI_EV_##id,
	AMI_EVENTS(AMI_X_)
#undef AMI_X_
	    AMI_EV__COUNT
} ami_event;

typedef struct {
	ami_kind kind;
	const ami_field *f;
	size_t n;
	const char *body; /* legacy Follows output (NUL-terminated), else NULL */
	size_t body_len;
	const char *text; /* banner text or error description, else NULL */
	uint64_t line;    /* 1-based line number where the message started */
	/* Filled by the parser (indexed): the event (AMI_EV_UNKNOWN when not
	 * an event or not one of AMI_EVENTS), and for each known key the index
	 * + 1 of its first field (0: absent). A message built by hand leaves
	 * indexed false and the lookups fall back to the names. */
	bool indexed;
	ami_event ev;
	uint32_t at[AMI_K__COUNT];
} ami_msg;

/* Called for every complete message. Pointers are valid only during the call.
 * The callback must not free the parser. */
typedef void (*ami_msg_fn)(const ami_msg *m, void *ctx);

/* 1 MiB: the largest single message of a real PBX is a Command output of
 * a few hundred KB (lists come as one small event per item). */
#define AMI_DEFAULT_MAX_MSG (1024u * 1024)

#define AMI_SKIP_WORDS ((AMI_EV__COUNT + 63) / 64)

typedef struct {
	size_t max_line;    /* default 64 KiB */
	size_t max_msg;     /* default AMI_DEFAULT_MAX_MSG */
	bool expect_banner; /* first line is the banner */
	/* Events whose first line is "Event: <one of these>" are not delivered:
	 * the rest of the message is passed over by a block scan for the blank
	 * line (still bounded by max_line and max_msg, still counted in
	 * ami_parser_total_messages). Bit e of the words: ami_skip_event. */
	uint64_t skip[AMI_SKIP_WORDS];
} ami_parser_opts;

static inline void ami_skip_event(ami_parser_opts *o, ami_event e)
{
	o->skip[(unsigned)e / 64] |= 1ull << ((unsigned)e % 64);
}

/* Every event of AMI_UNREAD_EVENTS skipped. */
void ami_skip_unread(ami_parser_opts *o);

typedef struct ami_parser ami_parser;

ami_parser *ami_parser_new(const ami_parser_opts *o, ami_msg_fn fn, void *ctx);
void ami_parser_free(ami_parser *p);
/* Feed any number of bytes; split anywhere. */
void ami_parser_feed(ami_parser *p, const char *data, size_t len);
/* The same, parsing in place: the bytes are the caller's read buffer and
 * are written to (fields NUL-terminated, control bytes replaced) and not
 * read after the call. What the driver does with the transport's buffer. */
void ami_parser_feed_rw(ami_parser *p, char *data, size_t len);
/* Forget any partial message (after a reconnect); banner expected again if set. */
void ami_parser_reset(ami_parser *p);
/* Counters for tests and the status screen. */
uint64_t ami_parser_errors(const ami_parser *p);
/* Header lines dropped or values repaired because of control bytes. */
uint64_t ami_parser_bad_fields(const ami_parser *p);
/* Bytes the parser holds in its buffers (for tests: back under a small
 * bound after a large message). */
size_t ami_parser_capacity(const ami_parser *p);
/* Process-wide, over every parser (for the benchmarks): messages delivered
 * so far, and bytes every parser holds now (ami_parser_capacity summed). */
uint64_t ami_parser_total_messages(void);
size_t ami_parser_total_held(void);
/* Where the CPU has AVX2 (with BMI and POPCNT) the block scans run in
 * 32-byte vectors, chosen once at the first parser; false makes every
 * parser use the baseline SSE2 scans (tests compare the two, benchmarks
 * time them). Returns whether the wide scans are in use now. */
bool ami_parser_wide_scan(bool on);

/* First value of key (case-insensitive), or NULL. */
const char *ami_get(const ami_msg *m, const char *key);
/* Same, "" when absent. */
const char *ami_get0(const ami_msg *m, const char *key);
bool ami_is(const ami_msg *m, const char *key, const char *value); /* case-insensitive value */
/* Type name: the Event or Response value ("" when none). */
const char *ami_type(const ami_msg *m);
/* Lookups by name (a key case-insensitively, an event exactly). */
ami_key ami_key_of(const char *name, size_t len);
ami_event ami_event_of(const char *name, size_t len);
/* First value of a known key, or NULL: O(1) on a parsed message (inline:
 * the model reads a dozen keys a message; a message built by hand goes by
 * the key's name, ami_getk_named). */
const char *ami_getk_named(const ami_msg *m, ami_key k);
static inline const char *ami_getk(const ami_msg *m, ami_key k)
{
	if (!m->indexed)
		return ami_getk_named(m, k);
	uint32_t i = (unsigned)k < AMI_K__COUNT && k ? m->at[k] : 0;
	return i ? m->f[i - 1].value : NULL;
}
/* The event, AMI_EV_UNKNOWN for other messages and unknown names. */
static inline ami_event ami_msg_event(const ami_msg *m)
{
	if (m->kind != AMI_MSG_EVENT)
		return AMI_EV_UNKNOWN;
	return m->indexed ? m->ev : ami_event_of(m->f[0].value, strlen(m->f[0].value));
}
/* A key's and an event's name. */
const char *ami_key_name(ami_key k);
const char *ami_event_name(ami_event e);

/* Action writer: "Key: Value\r\n"; ami_end adds the blank line. A key or
 * value holding CR or LF is refused (false, nothing written): a value can
 * never inject a header. */
bool ami_put(pd_buf *b, const char *key, const char *value);
bool ami_putf(pd_buf *b, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void ami_end(pd_buf *b);

/* AMI over TLS (Asterisk's tlsenable/tlsbindaddr, port 5039 by default) is
 * the PBX transport's TLS (include/provdesk/pbx_transport.h). These names
 * remain for the lab PBX's AMI server. */
typedef pd_tls ami_tls;
typedef pd_tls_server ami_tls_server;
static inline pd_status ami_tls_server_new(const char *cert_file, const char *key_file,
                                           ami_tls_server **out, pd_err *e)
{
	return pd_tls_server_new(cert_file, key_file, out, e);
}
static inline void ami_tls_server_free(ami_tls_server *s)
{
	pd_tls_server_free(s);
}
static inline ami_tls *ami_tls_accept_new(ami_tls_server *s, int fd)
{
	return pd_tls_accept_new(s, fd);
}
static inline int ami_tls_handshake(ami_tls *t, char *why, size_t whyn)
{
	return pd_tls_handshake(t, why, whyn);
}
static inline ssize_t ami_tls_read(ami_tls *t, void *buf, size_t n)
{
	return pd_tls_read(t, buf, n);
}
static inline ssize_t ami_tls_write(ami_tls *t, const void *buf, size_t n)
{
	return pd_tls_write(t, buf, n);
}
static inline bool ami_tls_wants_write(const ami_tls *t)
{
	return pd_tls_wants_write(t);
}
static inline size_t ami_tls_pending(const ami_tls *t)
{
	return pd_tls_pending(t);
}
static inline void ami_tls_free(ami_tls *t)
{
	pd_tls_free(t);
}
static inline pd_status ami_tls_client_new(int fd, const char *host, bool verify,
                                           const char *ca_file, ami_tls **out, pd_err *e)
{
	return pd_tls_client_new(fd, host, verify, ca_file, out, e);
}

#endif

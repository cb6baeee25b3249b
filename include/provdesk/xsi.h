/* Cisco BroadWorks Xsi: the XML layer (src/pbx/xsi/xsi_parser.c), pure:
 * bytes in, documents out, no socket (docs/architecture.md, "BroadWorks
 * Xsi").
 *
 * The event channel's body is a never-ending sequence of whole XML
 * documents, each with its own XML declaration and nothing between them
 * (whitespace is tolerated): <Channel> first, then <ChannelHeartBeat/> and
 * <xsi:Event> documents. A document ends where its root element closes; the
 * parser (expat, one parser per document, reset between them) takes bytes in
 * chunks of any size and hands each document to a callback as an xsi_msg.
 *
 * Bounded: a document over max_doc bytes, nesting over max_depth, more than
 * max_elements elements, a DOCTYPE (so no entity is ever declared or
 * expanded) or malformed XML is a protocol error: the error message is
 * delivered, the framing is lost (`fatal`) and the parser ignores input until
 * xsi_parser_reset (the driver rebuilds the channel). Every value is cut at
 * XSI_VALUE_MAX - 1 bytes on a UTF-8 boundary (counted in bad_fields). */
#ifndef PROVDESK_XSI_H
#define PROVDESK_XSI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "provdesk/util.h"

#define XSI_NS "http://schema.broadsoft.com/xsi"
#define XSI_VALUE_MAX 256
#define XSI_DEFAULT_MAX_DOC (1024 * 1024)
#define XSI_DEFAULT_MAX_DEPTH 32
#define XSI_DEFAULT_MAX_ELEMENTS 20000

typedef enum {
	XSI_MSG_CHANNEL,   /* <Channel>: channel_id, expires */
	XSI_MSG_HEARTBEAT, /* <ChannelHeartBeat/> */
	XSI_MSG_EVENT,     /* <xsi:Event>: acknowledge event_id */
	XSI_MSG_ERROR      /* text says what; the parser stops (fatal) */
} xsi_msg_kind;

/* The event types the model reads; any other is XSI_EV_OTHER (still
 * delivered: every event is acknowledged). */
typedef enum {
	XSI_EV_OTHER,
	XSI_EV_CALL_RECEIVED,
	XSI_EV_CALL_ORIGINATED,
	XSI_EV_CALL_ANSWERED,
	XSI_EV_CALL_HELD,
	XSI_EV_CALL_RETRIEVED,
	XSI_EV_CALL_TRANSFERRED,
	XSI_EV_CALL_RELEASED,
	XSI_EV_CALL_UPDATED,
	XSI_EV_AGENT_STATE,
	XSI_EV_SUBSCRIPTION_TERMINATED,
	XSI_EV_CHANNEL_TERMINATED
} xsi_event_type;

typedef struct {
	xsi_msg_kind kind;
	xsi_event_type type;
	char type_name[64]; /* the xsi1:type without its prefix, "CallReceivedEvent" */
	char event_id[XSI_VALUE_MAX];
	long long sequence; /* sequenceNumber, -1 when absent */
	char subscription_id[XSI_VALUE_MAX];
	char channel_id[XSI_VALUE_MAX];
	char target_id[XSI_VALUE_MAX]; /* the user the event is about */
	int expires;                   /* <Channel>: seconds, 0 when absent */
	/* eventData/call */
	char call_id[XSI_VALUE_MAX];         /* this user's half of the call */
	char ext_tracking_id[XSI_VALUE_MAX]; /* the same for every half of one call */
	char personality[32];                /* Originator, Terminator, Click-to-Dial */
	char state[32];                      /* Alerting, Active, Held, Detached, Released */
	char remote_name[XSI_VALUE_MAX];
	char remote_number[XSI_VALUE_MAX]; /* address without "tel:"/"sip:" */
	char remote_user_id[XSI_VALUE_MAX];
	char remote_call_type[32]; /* Group, Enterprise, Network, … */
	int64_t start_time, answer_time, held_time, release_time; /* ms since 1970, 0 = absent */
	/* eventData/call/acdCallInfo: a call center call */
	char acd_user_id[XSI_VALUE_MAX];
	char acd_name[XSI_VALUE_MAX];
	char acd_number[XSI_VALUE_MAX];
	/* eventData/agentStateInfo (AgentStateEvent) */
	char agent_state[32]; /* Sign-In, Sign-Out, Available, Unavailable, Wrap-Up */
	char unavailable_code[XSI_VALUE_MAX];
	int64_t state_timestamp; /* ms since 1970, 0 = absent */
	/* XSI_MSG_ERROR */
	const char *text;
	uint64_t doc_no;      /* 1-based document number in the stream */
	uint64_t byte_offset; /* stream offset where the document began */
} xsi_msg;

typedef struct {
	size_t max_doc;      /* bytes of one document; 0 = XSI_DEFAULT_MAX_DOC */
	size_t max_depth;    /* element nesting; 0 = XSI_DEFAULT_MAX_DEPTH */
	size_t max_elements; /* per document; 0 = XSI_DEFAULT_MAX_ELEMENTS */
} xsi_parser_opts;

typedef struct {
	uint64_t documents;  /* complete documents */
	uint64_t events;     /* XSI_MSG_EVENT delivered */
	uint64_t unknown;    /* events of another type, and documents of another root: ignored */
	uint64_t heartbeats; /* ChannelHeartBeat */
	uint64_t bad_fields; /* values cut or repaired */
	uint64_t bytes;      /* fed in total */
} xsi_parser_stats;

typedef void (*xsi_on_msg)(const xsi_msg *m, void *ctx);
typedef struct xsi_parser xsi_parser;

xsi_parser *xsi_parser_new(const xsi_parser_opts *o, xsi_on_msg cb, void *ctx);
void xsi_parser_free(xsi_parser *p);
/* Feeds n bytes; documents are delivered from inside. */
void xsi_parser_feed(xsi_parser *p, const char *buf, size_t n);
/* Forget any partial document and a fatal error (a new channel). */
void xsi_parser_reset(xsi_parser *p);
bool xsi_parser_fatal(const xsi_parser *p);
void xsi_parser_get_stats(const xsi_parser *p, xsi_parser_stats *out);
const char *xsi_event_type_name(xsi_event_type t);

/* s (NULL: nothing) appended to b with &, <, > and " escaped: a text (an
 * event id, a name) written into an Xsi document. */
void xsi_xml_escape(pd_buf *b, const char *s);

/* ---- Xsi-Actions directory pages ----
 * GET …/enterprise/{ent}/directories/Enterprise or …/group/{grp}/
 * directories/Group ?start=N&results=M: <Enterprise> / <Group> with
 * startIndex, numberOfRecords, totalAvailableRecords and one
 * <directoryDetails> per user (inside enterpriseDirectory / groupDirectory). */
typedef struct {
	char user_id[XSI_VALUE_MAX];
	char first_name[XSI_VALUE_MAX];
	char last_name[XSI_VALUE_MAX];
	char group_id[XSI_VALUE_MAX];
	char number[XSI_VALUE_MAX];
	char extension[XSI_VALUE_MAX];
	char email[XSI_VALUE_MAX];
} xsi_dir_user;

typedef struct {
	long long start_index; /* 1-based, as sent */
	long long number_of_records;
	long long total;     /* totalAvailableRecords */
	xsi_dir_user *users; /* owned: xsi_dir_page_free */
	size_t n_users;
	size_t refused; /* users past max_users, or without a userId */
	uint64_t bad_fields;
} xsi_dir_page;

/* Parses one whole page (bounded as the event documents, plus max_users
 * users kept). On a malformed page, a DOCTYPE or a missing count the page is
 * empty and err (n bytes) says what; returns false. */
bool xsi_dir_parse(const char *xml, size_t len, const xsi_parser_opts *o, size_t max_users,
                   xsi_dir_page *out, char *err, size_t n);
void xsi_dir_page_free(xsi_dir_page *p);
/* ---- Xsi-Actions calls ----
 * GET …/user/{id}/calls: <Calls> with a <call> (callId, uri) per call the
 * user is in now; GET …/user/{id}/calls/{callId}: <Call>, the fields an
 * event's eventData/call has. No subscription of a group or an enterprise
 * brings the calls already up; a client reads them this way. */
typedef struct {
	char (*ids)[XSI_VALUE_MAX]; /* callIds, in the answer's order */
	size_t n;
	size_t refused; /* past max_calls, or empty */
	uint64_t bad_fields;
} xsi_call_list;

/* A <Calls> answer (bounded as the event documents), max_calls ids kept;
 * false, empty, with err (n bytes) for malformed XML, a DOCTYPE or another
 * root. */
bool xsi_calls_parse(const char *xml, size_t len, const xsi_parser_opts *o, size_t max_calls,
                     xsi_call_list *out, char *err, size_t n);
void xsi_call_list_free(xsi_call_list *l);
/* A <Call> answer into out as an event (XSI_MSG_EVENT, XSI_EV_CALL_UPDATED,
 * type_name "Call"; target_id left empty: the caller knows whose); false
 * with err for malformed XML, a DOCTYPE, another root or no callId. */
bool xsi_call_parse(const char *xml, size_t len, const xsi_parser_opts *o, xsi_msg *out, char *err,
                    size_t n);

/* The start index of the page after p (startIndex + numberOfRecords), 0 when p was the last
 * (the total is read, or the page was empty). */
long long xsi_dir_next_start(const xsi_dir_page *p);

#endif

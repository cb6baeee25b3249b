/* FreeSWITCH inbound event socket (ESL): an incremental, pure parser (bytes
 * in, messages out through a callback; no sockets) and the command writer.
 *
 * What it accepts (recorded FreeSWITCH 1.10: tests/fixtures/freeswitch/README.md):
 *  - a message is a block of "Name: value" header lines, each ended by one LF
 *    (a CR is refused: ESL never sends CRLF), then an empty line; empty lines
 *    where a message would start are ignored;
 *  - "Content-Length: N" in that block means exactly N body bytes follow,
 *    with nothing between the body and the next message: framing is by
 *    length only, whatever the header order;
 *  - text/event-plain: the body is itself a header block with
 *    percent-encoded values ("H%C3%A9l%C3%A8ne" -> "Hélène"; '+' and the
 *    apostrophe stay as they are), ended by an empty line, optionally with an
 *    inner Content-Length and that many body bytes (BACKGROUND_JOB);
 *  - text/event-json: the body is one JSON object of string values (raw
 *    UTF-8), "_body" being the event body; an array of strings becomes
 *    "ARRAY::a|:b", as the plain format writes it;
 *  - any other Content-Type is delivered with its outer headers and raw body.
 *
 * Header names are matched exactly (byte for byte, whole name):
 * "variable_Event-Name" is never "Event-Name". Values are checked: raw header
 * lines may not hold control bytes other than TAB; a decoded value must be
 * valid UTF-8 with no NUL or control byte other than TAB, CR and LF (SDP
 * values hold CRLF). Bodies of api/response, log/data and the like are raw
 * bytes and are not checked.
 *
 * Errors (ESL_MSG_ERROR, text naming what, the message number and the byte
 * offset) and how the parser carries on:
 *  - a bad event body (invalid percent-escape, invalid UTF-8 or a control
 *    byte after decoding, a bad event header line, a bad inner
 *    Content-Length, bad JSON, too many headers) drops that message only;
 *  - a Content-Length above max_msg: the body is skipped unread;
 *  - a missing Content-Type, or a missing Content-Length on a type that
 *    needs a body: that message only;
 *  - a bad outer header line (no colon, control bytes, CR, invalid UTF-8,
 *    longer than max_line, one header too many, a block above max_msg): the
 *    rest of the block is skipped, then the body if its Content-Length is
 *    known;
 *  - a bad or repeated Content-Length (or a bad line that was one): the
 *    framing is lost. The error has fatal set, everything is ignored until
 *    esl_parser_reset(), and the driver reconnects.
 * Memory is bounded by about max_line + 3 x max_msg (the line being read, the
 * message, its decoded event) plus jansson's tree of one JSON body while it is
 * read; buffers that grew above 64 KiB are freed after the message, so one
 * large event keeps nothing for good (esl_parser_memory() shows it). */
#ifndef PROVDESK_ESL_H
#define PROVDESK_ESL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "provdesk/error.h"
#include "provdesk/util.h"

typedef enum {
	ESL_MSG_AUTH_REQUEST,  /* auth/request: the first message */
	ESL_MSG_COMMAND_REPLY, /* command/reply: Reply-Text "+OK ..." or "-ERR ..." */
	ESL_MSG_API_RESPONSE,  /* api/response: the command output is the body */
	ESL_MSG_EVENT,         /* text/event-plain or text/event-json */
	ESL_MSG_LOG,           /* log/data: Log-* headers, the log line is the body */
	ESL_MSG_DISCONNECT,    /* text/disconnect-notice; the server then closes */
	ESL_MSG_OTHER,         /* any other Content-Type (outer headers and raw body) */
	ESL_MSG_ERROR          /* protocol error: text says what and where */
} esl_kind;

typedef struct {
	const char *name, *value; /* NUL-terminated */
	size_t name_len, value_len;
} esl_header;

typedef struct {
	esl_kind kind;
	/* Content-Type value; for an error, that of the message it dropped when
	 * known (an api/response too large: the driver's api call failed), else "" */
	const char *content_type;
	const esl_header *h; /* outer headers, in order, raw values */
	size_t nh;
	/* events only: decoded event headers in order (with the event's own
	 * Content-Length when it has a body), Event-Name, Event-Subclass (NULL
	 * when absent), and json for text/event-json */
	const esl_header *ev;
	size_t nev;
	const char *event_name, *event_subclass;
	bool json;
	/* body (NUL-terminated; may hold NULs itself, use body_len), else NULL:
	 * for an event its own body (BACKGROUND_JOB's output), else the outer body */
	const char *body;
	size_t body_len;
	const char *text; /* error description, else NULL */
	bool fatal;       /* error: framing lost, input ignored until esl_parser_reset() */
	uint64_t msg_no;  /* 1-based number of the message in the stream */
	uint64_t offset;  /* 0-based byte offset where the message starts; for an
	                     error, where the problem was found */
} esl_msg;

/* Called for every complete message. Pointers are valid only during the call.
 * The callback must not free or feed the parser. */
typedef void (*esl_msg_fn)(const esl_msg *m, void *ctx);

typedef struct {
	size_t max_line;    /* outer header line, default 64 KiB */
	size_t max_headers; /* per header block (outer, and event), default 1024 */
	size_t max_msg;     /* header block + body, default 1 MiB */
	/* the same for an api/response (a reply to what the client asked: a
	 * directory, a registration list), default and at least max_msg */
	size_t max_api;
} esl_parser_opts;

typedef struct esl_parser esl_parser;

esl_parser *esl_parser_new(const esl_parser_opts *o, esl_msg_fn fn, void *ctx);
void esl_parser_free(esl_parser *p);
/* Feed any number of bytes; split anywhere. */
void esl_parser_feed(esl_parser *p, const char *data, size_t len);
/* Forget everything (after a reconnect): offsets and numbers restart at 0. */
void esl_parser_reset(esl_parser *p);
/* A fatal error happened: the stream cannot be followed any more. */
bool esl_parser_failed(const esl_parser *p);
/* Counters for tests and the status screen. */
uint64_t esl_parser_errors(const esl_parser *p);
/* Bytes the parser holds allocated now (buffers and tables). */
size_t esl_parser_memory(const esl_parser *p);

/* Outer header by exact name, or NULL. */
const char *esl_get(const esl_msg *m, const char *name);
/* Event header by exact name, or NULL; esl_event_get0 gives "" instead. */
const char *esl_event_get(const esl_msg *m, const char *name);
const char *esl_event_get0(const esl_msg *m, const char *name);
/* command/reply whose Reply-Text starts with "+OK". */
bool esl_reply_ok(const esl_msg *m);

/* Command writer: "auth <password>\n\n" and so on. An argument that is empty
 * or holds CR or LF (which would inject a second command) is refused with
 * PD_E_INVALID naming the field, and b is left unchanged. */
pd_status esl_put_auth(pd_buf *b, const char *password, pd_err *e);      /* field "password" */
pd_status esl_put_api(pd_buf *b, const char *command, pd_err *e);        /* field "command" */
pd_status esl_put_bgapi(pd_buf *b, const char *command, pd_err *e);      /* field "command" */
pd_status esl_put_event_plain(pd_buf *b, const char *events, pd_err *e); /* field "events" */
void esl_put_exit(pd_buf *b);

#endif

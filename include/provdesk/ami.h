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
 * Bad input (a line longer than max_line, a header line with no colon,
 * NUL/control bytes, a message larger than max_msg) gives one AMI_MSG_ERROR
 * naming the line, then everything is skipped until the next blank line.
 * Memory is bounded by max_line + max_msg. */
#ifndef PROVDESK_AMI_H
#define PROVDESK_AMI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

typedef struct {
	ami_kind kind;
	const ami_field *f;
	size_t n;
	const char *body; /* legacy Follows output (NUL-terminated), else NULL */
	size_t body_len;
	const char *text; /* banner text or error description, else NULL */
	uint64_t line;    /* 1-based line number where the message started */
} ami_msg;

/* Called for every complete message. Pointers are valid only during the call.
 * The callback must not free the parser. */
typedef void (*ami_msg_fn)(const ami_msg *m, void *ctx);

typedef struct {
	size_t max_line;    /* default 64 KiB */
	size_t max_msg;     /* default 16 MiB (a 1 MB list reply fits) */
	bool expect_banner; /* first line is the banner */
} ami_parser_opts;

typedef struct ami_parser ami_parser;

ami_parser *ami_parser_new(const ami_parser_opts *o, ami_msg_fn fn, void *ctx);
void ami_parser_free(ami_parser *p);
/* Feed any number of bytes; split anywhere. */
void ami_parser_feed(ami_parser *p, const char *data, size_t len);
/* Forget any partial message (after a reconnect); banner expected again if set. */
void ami_parser_reset(ami_parser *p);
/* Counters for tests and the status screen. */
uint64_t ami_parser_errors(const ami_parser *p);

/* First value of key (case-insensitive), or NULL. */
const char *ami_get(const ami_msg *m, const char *key);
/* Same, "" when absent. */
const char *ami_get0(const ami_msg *m, const char *key);
bool ami_is(const ami_msg *m, const char *key, const char *value); /* case-insensitive value */
/* Type name: the Event or Response value ("" when none). */
const char *ami_type(const ami_msg *m);

/* Action writer: "Key: Value\r\n" with CR/LF in the value replaced by spaces
 * (a value can never inject a header); ami_end adds the blank line. */
void ami_put(pd_buf *b, const char *key, const char *value);
void ami_putf(pd_buf *b, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void ami_end(pd_buf *b);

#endif

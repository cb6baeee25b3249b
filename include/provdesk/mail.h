/* Invitation mail: the SMTP sender (libcurl), outbox delivery with retry
 * backoff, and the background outbox worker (docs/architecture.md, Mail). */
#ifndef PROVDESK_MAIL_H
#define PROVDESK_MAIL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "provdesk/config.h"
#include "provdesk/error.h"
#include "provdesk/store.h"

/* All strings are borrowed; the worker takes its own deep copy. */
typedef struct {
	const char *url;         /* smtp://host[:port] or smtps://…; NULL/"" = not configured */
	pd_starttls starttls;    /* ignored for smtps:// (TLS from the first byte) */
	const char *from;        /* "Name <addr>" or "addr"; required when url is set */
	const char *username;    /* NULL/"" = no AUTH */
	const char *password;    /* never logged, never in an error message */
	const char *ca_file;     /* PEM CA bundle to trust; NULL = the system's */
	long connect_timeout_ms; /* default 10000 */
	long timeout_ms;         /* whole exchange; default 60000 */
	/* When non-NULL and set, an exchange in progress is aborted (PD_E_TEMPFAIL)
	 * within about 100 ms: lets the worker stop promptly. */
	const atomic_bool *cancel;
	/* [invitations]: the outbox renders each invitation when it sends it,
	 * with a link to activation_url carrying a fresh one-time token valid
	 * token_days days (NULL/"": the mail says it has no link). */
	const char *activation_url;
	int token_days; /* default 7 */
} pd_smtp_opts;

/* Zero strings, STARTTLS try, default timeouts, 7 token days. */
void pd_smtp_opts_init(pd_smtp_opts *o);
/* Fills *o from the [smtp] section; the strings point into *c (which must
 * outlive *o) except the password, read from smtp.password_file and returned
 * in *password_owned (free it; NULL when none). Errors are PD_E_CONFIG naming
 * the key (smtp.url, smtp.from, smtp.password_file, smtp.username). */
pd_status pd_smtp_opts_from_config(const pd_config *c, pd_smtp_opts *o, char **password_owned,
                                   pd_err *e);
/* Checks url scheme (smtp/smtps) and from: PD_E_CONFIG naming smtp.url/smtp.from. */
pd_status pd_smtp_opts_check(const pd_smtp_opts *o, pd_err *e);

/* One message. */
typedef struct {
	const char *to;         /* bare address */
	const char *subject;    /* UTF-8, one line */
	const char *body;       /* UTF-8 plain text; LF or CRLF line ends */
	const char *message_id; /* "<…@…>"; NULL = generated */
	int64_t date;           /* unix seconds for the Date header; 0 = now */
} pd_mail_message;

/* RFC 5322 text of the message (CRLF line ends; Subject and a non-ASCII
 * display name RFC 2047-encoded; body 7bit when plain ASCII with short lines,
 * else quoted-printable). PD_E_INVALID naming to/subject/body on bad input
 * (line breaks in a header, invalid UTF-8), PD_E_CONFIG naming smtp.from. */
pd_status pd_mail_render(const char *from, const pd_mail_message *m, char **out, pd_err *e);

/* What went wrong in a failed exchange, for retry decisions. */
typedef enum {
	PD_SMTP_STAGE_NONE,    /* no failure / before connecting (bad options) */
	PD_SMTP_STAGE_CONNECT, /* DNS, TCP, TLS, greeting */
	PD_SMTP_STAGE_AUTH,
	PD_SMTP_STAGE_MAIL, /* MAIL FROM */
	PD_SMTP_STAGE_RCPT, /* the recipient: depends on this message only */
	PD_SMTP_STAGE_DATA,
} pd_smtp_stage;

typedef struct {
	pd_smtp_stage stage;
	int smtp_code; /* last SMTP reply code, 0 if none */
} pd_smtp_result;

/* Sends one message. Statuses: PD_E_CONFIG (bad url/from), PD_E_INVALID (bad
 * input, or a 5xx permanent rejection), PD_E_UNAVAILABLE (refused, DNS, TLS),
 * PD_E_AUTH (login refused or required), PD_E_TEMPFAIL (4xx, timeout, cut).
 * The message names the server URL without credentials and the SMTP reply. */
pd_status pd_smtp_send(const pd_smtp_opts *o, const char *to, const char *subject, const char *body,
                       pd_err *e);
pd_status pd_smtp_send_msg(const pd_smtp_opts *o, const pd_mail_message *m, pd_smtp_result *res,
                           pd_err *e);

/* ---- outbox delivery ---- */
#define PD_OUTBOX_MAX_ATTEMPTS 8   /* then the message is failed for good */
#define PD_OUTBOX_BACKOFF_FIRST 30 /* seconds after the first failure */
#define PD_OUTBOX_BACKOFF_MAX 3600

/* Delay before the next attempt after `attempts` failures (1-based): 30 s,
 * 1 min, 2 min … capped at 1 h, minus up to 10 % jitter taken from `rnd`. */
int64_t pd_outbox_backoff(int attempts, uint32_t rnd);

typedef struct {
	bool not_configured; /* no SMTP url: nothing sent, all stays queued */
	bool busy_elsewhere; /* another process is delivering this database */
	/* failed: refused for good (state failed, not retried); cancelled: the
	 * user was removed, found at send time. */
	int attempted, sent, retry_later, failed, cancelled;
	/* "#ID to ADDRESS: reply" of the first message failed for good and of
	 * the first left waiting for a retry ("" when none). */
	char failed_error[600];
	char retry_error[600];
	/* A failure not caused by the message (server down, auth, timeout):
	 * the round stopped; do not try again before server_retry_at. */
	pd_status server_status;
	int64_t server_retry_at;
	char server_error[512];
	/* Earliest next_attempt_at among still-queued messages (0 = none). */
	int64_t next_due;
} pd_outbox_report;

/* Sends the queued messages due at `now`, oldest first, at most `max`
 * (<= 0: no limit); marks each sent, or failed with a backoff (permanently
 * on a 5xx rejection or after PD_OUTBOX_MAX_ATTEMPTS). Only one process
 * delivers a given database at a time (a lock file next to it). Returns
 * non-OK only for store errors or bad SMTP options (PD_E_CONFIG). */
pd_status pd_outbox_deliver_due(pd_store *s, const pd_smtp_opts *o, int64_t now, int max,
                                pd_outbox_report *r, pd_err *e);

/* A fresh one-time activation token (64 hex digits from the system's CSPRNG)
 * and its SHA-256 in hex: only the hash is stored. */
void pd_invite_token_new(char token[65]);
void pd_invite_token_hash(const char *token, char hash[65]);

/* ---- background worker ---- */
typedef struct pd_outbox_worker pd_outbox_worker;

/* Starts a thread with its own store connection (store_open(db_path, so);
 * so->catalogue must outlive the worker). It sleeps until the next due time,
 * a kick, or (every PD_OUTBOX_IDLE_CHECK s) a commit by another connection,
 * and after each change writes one byte to notify_fd (if >= 0; make it
 * non-blocking). *o is copied. The thread blocks every signal, so they
 * reach the main thread and a dead peer or closed pipe gives EPIPE. */
#define PD_OUTBOX_IDLE_CHECK 10
pd_status pd_outbox_worker_start(const char *db_path, const pd_store_opts *so,
                                 const pd_smtp_opts *o, int notify_fd, pd_outbox_worker **out,
                                 pd_err *e);
/* Wake now (after a resend/retry or a new customer). */
void pd_outbox_worker_kick(pd_outbox_worker *w);
/* Stops (aborting an exchange in progress) and joins, within about 1 s. NULL ok. */
void pd_outbox_worker_stop(pd_outbox_worker *w);

typedef struct {
	int64_t rounds;        /* delivery rounds done */
	int64_t sent, failed;  /* totals since start */
	pd_status last_status; /* of the last round: PD_OK or the server/store error */
	char last_error[512];  /* "" when fine */
	bool not_configured;
} pd_outbox_worker_stats;
void pd_outbox_worker_stats_get(pd_outbox_worker *w, pd_outbox_worker_stats *out);

#endif

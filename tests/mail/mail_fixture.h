/* Real SMTP servers for the mail tests: aiosmtpd started as a child process
 * on a free 127.0.0.1 port, and the delivered files decoded by Python's
 * email package. */
#ifndef PROVDESK_TEST_MAIL_FIXTURE_H
#define PROVDESK_TEST_MAIL_FIXTURE_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "testlib.h" /* tl_tmpdir, tl_rmrf, tl_slow: tests/lib */

typedef struct {
	pid_t pid;
	int port;
	char maildir[512];
	char url[64];
} mt_sink;

/* Starts `python3 -m aiosmtpd … Mailbox DIR/maildir` (user NULL) or, for
 * AUTH, tests/mail/smtp_server.py with a password file. port 0 = a free one.
 * Returns when the port accepts; false (and nothing left running) on failure. */
bool mt_sink_start(mt_sink *s, const char *dir, int port, const char *user,
                   const char *password_file);
/* Our Mailbox subclass (refuses reject*@ with 550, grey*@ with 450). */
bool mt_sink_start_script(mt_sink *s, const char *dir, int port);
/* `python3 -m aiosmtpd` with TLS: STARTTLS offered (and required by the
 * server) when implicit is false, else TLS from the first byte (smtps://).
 * url is set to smtp:// or smtps:// accordingly. */
bool mt_sink_start_tls(mt_sink *s, const char *dir, const char *cert, const char *key,
                       bool implicit);
/* A self-signed certificate for 127.0.0.1 (openssl CLI): dir/cert.pem, dir/key.pem. */
bool mt_make_cert(const char *dir);
void mt_sink_stop(mt_sink *s);
/* Files in maildir/new. */
int mt_mail_count(const mt_sink *s);
/* Waits up to timeout_ms for at least n mails. */
bool mt_wait_mail_count(const mt_sink *s, int n, int timeout_ms);
/* Decoded mail i (in name order) of maildir/new as a JSON object. */
json_t *mt_mail_get(const mt_sink *s, int i);
/* A socket that listens but never answers (connect succeeds, no greeting). */
int mt_silent_listener(int *port);
void mt_write_file(const char *path, const char *text);

#endif

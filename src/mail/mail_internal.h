/* Shared between the files of src/mail only. */
#ifndef PROVDESK_MAIL_INTERNAL_H
#define PROVDESK_MAIL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "provdesk/mail.h"
#include "provdesk/util.h"

void pd_mail_base64(pd_buf *b, const unsigned char *p, size_t n);
/* "Name <addr>" or "addr": *name (may be "") and *addr, both allocated.
 * PD_E_CONFIG naming smtp.from when malformed. */
pd_status pd_mail_parse_from(const char *from, char **name, char **addr, pd_err *e);
/* RFC 5322 date in UTC. */
void pd_mail_date(int64_t t, char out[40]);
/* Replaces every occurrence of the password (and of its base64 forms as sent
 * by AUTH PLAIN/LOGIN) in msg with asterisks. */
void pd_mail_scrub(char *msg, size_t cap, const char *username, const char *password);

#endif

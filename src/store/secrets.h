/* PBX secrets sealed at rest (secrets.c). Private to the store. */
#ifndef PROVDESK_STORE_SECRETS_H
#define PROVDESK_STORE_SECRETS_H

#include <stdbool.h>

#include "provdesk/error.h"
#include "provdesk/store.h"

/* Loads "<database>.key", or creates it (read-write only); then seals the
 * secrets stored in the clear by earlier versions. PD_E_CONFIG names the key
 * file when it is unreadable, foreign or readable by others. */
pd_status secrets_open(pd_store *s, bool read_only, pd_err *e);
/* "enc1:…" for plain (caller frees); NULL when plain is NULL. */
char *secret_seal(pd_store *s, const char *plain);
/* The secret of a stored value (caller frees): a value from before sealing
 * as is; NULL when it cannot be opened (no key, another key, damaged). */
char *secret_unseal(pd_store *s, const char *stored);
/* Sealing and opening need libcrypto, opened on first use: false (an error
 * naming it, PD_E_UNAVAILABLE) when it cannot be, so that a secret is never
 * stored or used as missing because of it. */
bool secrets_ready(pd_err *e);

#endif

/* The state of a PBX link, one enum for the whole program: the monitor and
 * the drivers set it (src/pbx), the store keeps it as its stable key
 * (pbx_status.link), the CLI maps it to exit codes and the UI to theme
 * roles. No decision reads the human status text that travels beside it.
 * The table of states and who maps them: docs/architecture.md, "Link states". */
#ifndef PROVDESK_LINK_STATE_H
#define PROVDESK_LINK_STATE_H

#include <stdbool.h>

#include "provdesk/i18n.h"

/*        enum                    key (stored, JSON)  label (human) */
#define PD_LINK_STATE_LIST(X)                                                                      \
	X(PD_LINK_DISABLED, "disabled", N_("disabled"))                                            \
	X(PD_LINK_CONNECTING, "connecting", N_("connecting")) /* resolve, TCP, TLS */              \
	X(PD_LINK_LOGGING_IN, "logging-in", N_("logging in")) /* banner, login */                  \
	X(PD_LINK_DISCOVERING, "discovering", N_("syncing"))  /* sync_done/sync_total */           \
	X(PD_LINK_MONITORING, "monitoring", N_("monitoring"))                                      \
	X(PD_LINK_RETRYING, "retrying", N_("retrying"))          /* retry_at_ms */                 \
	X(PD_LINK_AUTH_FAILED, "auth-failed", N_("auth failed")) /* no retry until edited */       \
	X(PD_LINK_PROTOCOL_ERROR, "protocol-error",                                                \
	  N_("protocol error"))                                     /* retried, shown apart */     \
	X(PD_LINK_UNSUPPORTED, "unsupported", N_("not supported"))  /* no driver for it */         \
	X(PD_LINK_CONFIG_ERROR, "config-error", N_("config error")) /* stored parameters refused   \
	                                                             */

typedef enum {
#define PD_X_LINK(e, key, label) e,
	PD_LINK_STATE_LIST(PD_X_LINK)
#undef PD_X_LINK
	    PD_LINK_N_STATES
} pd_link_state;

/* Stable key: "logging-in"; "?" for a value outside the enum. */
const char *pd_link_state_name(pd_link_state s);
/* Key back to the enum; false for an unknown key. */
bool pd_link_state_parse(const char *key, pd_link_state *out);
/* Short human words, in the messages' language: "logging in", "auth failed". */
const char *pd_link_state_label(pd_link_state s);
/* The same label untranslated (its msgid), for a pd_msg kept to be read in
 * another language. */
const char *pd_link_state_msgid(pd_link_state s);
/* The link waits for a retry at retry_at_ms (retrying, protocol-error). */
bool pd_link_state_retries(pd_link_state s);

#endif

/* The commands' side of the host's monitor (docs/architecture.md, "provdesk
 * serve"): attach to the daemon of the command's database, and the
 * invitation kick after a command queued one. */
#ifndef PROVDESK_CLI_ATTACH_H
#define PROVDESK_CLI_ATTACH_H

#include <stdbool.h>

#include "cli_internal.h"
#include "provdesk/live.h"
#include "provdesk/serve_client.h"

/* Attaches as "cli": with live, the daemon's views are mirrored into it (its
 * snapshot in when this returns). Without autostart and no daemon running,
 * NULL at once with e saying "no monitor running"; else NULL after
 * timeout_ms with e set. The caller stops the client. */
pd_serve_client *pd_cli_attach(pd_cli *c, pd_live *live, bool autostart, int timeout_ms, pd_err *e);
/* After a command queued an invitation (customer create, import): with SMTP
 * configured, have a monitor (started when none runs) send it now, so it
 * goes out with no console open. A failure is one line on stderr; the
 * invitation stays queued. */
void pd_cli_kick_outbox(pd_cli *c);

#endif

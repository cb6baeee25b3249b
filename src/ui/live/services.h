/* The console's background services (issue 5, live UI; issue 17): the
 * client of the host's monitor daemon with the live state it mirrors; the
 * live panels and the NOC wall display that read them. The app loop polls
 * the live state's wake fd next to the keyboard; what the daemon writes to
 * the database (synced users, sent invitations) is noticed like another
 * console's change. Everything here runs on the UI thread except the
 * client's thread. */
#ifndef PROVDESK_UI_SERVICES_H
#define PROVDESK_UI_SERVICES_H

#include <poll.h>

#include "provdesk/live.h"
#include "ui_internal.h"

/* Attach to the host's monitor, `provdesk serve` (docs/architecture.md,
 * "provdesk serve"), starting it detached when none runs: it owns the PBX
 * links and sends the invitations; the NOC attaches read-only. A failure is
 * shown on the status line; the console still runs and keeps trying. */
void ui_services_start(struct ui_app *app);
/* Detach (joins the client thread). Safe when never started; idempotent. */
void ui_services_stop(struct ui_app *app);
/* Fill at most one pollfd for the loop (the live wake fd); returns 0 or 1. */
int ui_services_pollfds(struct ui_app *app, struct pollfd *pf, int max);
/* After poll(): drain the wake if it fired and mark the live screens dirty. */
void ui_services_polled(struct ui_app *app, const struct pollfd *pf, int n);
/* Once per loop turn, before the data check: asks the monitor to send the
 * outbox ("outbox_send") when this console committed something (a new
 * customer or user, a resend). */
void ui_services_loop(struct ui_app *app);
/* Once a second: attached or not, resync progress/timeout, retry
 * countdowns on screen. */
void ui_services_second(struct ui_app *app);

/* NULL when the monitor is not running (no database, start failed). */
pd_live *ui_services_live(struct ui_app *app);
/* Why no live data comes ("" while attached to the host's monitor):
 * "connecting to the monitor", "monitor lost, restarting", or why it could
 * not be started. */
const char *ui_services_error(struct ui_app *app);

/* Ask the monitor for a re-discovery of one customer; progress ("syncing
 * 3/20") and the result ("12 new, 3 updated, 1 removed") follow on the
 * status line and in the live panel. */
void ui_services_resync(struct ui_app *app, int64_t customer_id);
/* The resync line for customer_id ("" when none): progress or result. */
const char *ui_services_resync_text(struct ui_app *app, int64_t customer_id, enum ui_role *role);
/* H5: is a resync of customer_id being followed (progress shown)? */
bool ui_services_resync_active(struct ui_app *app, int64_t customer_id);
/* Esc during a resync: nothing of it is written (pd_monitor_resync_cancel);
 * false when none was running. The result line says what happened. */
bool ui_services_resync_cancel(struct ui_app *app, int64_t customer_id);

/* "PBX: 3 monitoring · 1 retrying · 1 auth failed" (or "PBX: none"). */
void ui_services_health(struct ui_app *app, char *buf, size_t n, enum ui_role *role);

/* Grid columns from the live state: false when this customer is unknown to
 * the live state (the caller falls back to the stored status). */
bool ui_live_row(struct ui_app *app, const pd_row *r, struct ui_live_cols *out);

/* Display helpers shared by the live panels and the NOC. */
/* Theme role for a link state. */
enum ui_role ui_live_link_role(pd_link_state st);
/* Short link status for a narrow column: "monitoring", "sync 3/20",
 * "retry 8s", "auth failed", "connecting", "disabled". */
void ui_live_short_status(pd_link_state st, int done, int total, int64_t retry_at_ms,
                          int64_t now_ms, char *buf, size_t n);
/* "14:02": the local time (the program's clock, pd_now) of a CLOCK_MONOTONIC
 * instant (pd_live_now_ms), now_ms being the monotonic time now. */
void ui_live_clock(int64_t mono_ms, int64_t now_ms, char *buf, size_t n);
/* The words for a link that is down (down_since_ms != 0): "down since 14:02,
 * retrying in 12 s", "down since 14:02, reconnecting", "protocol error since
 * 14:02, retrying in 3 s", "auth failed since 14:02". false (buf untouched)
 * when the link is not down. The countdown is computed for now_ms: a screen
 * showing it redraws each second (ui_services_second). */
bool ui_live_down_text(pd_link_state st, int64_t down_since_ms, int64_t retry_at_ms, int64_t now_ms,
                       char *buf, size_t n);
/* A link's state in words for a title or a field, for now_ms: a link that is
 * down says so with its countdown and reason (ui_live_down_text, "(last
 * error)"), else the status text (pd_live_status_text: "monitoring",
 * "syncing 3/20", …). The live panel's title and the customer view's PBX
 * tab both show this; a screen showing a countdown redraws each second. */
void ui_live_link_text(const pd_live_view *v, int64_t now_ms, char *buf, size_t n);
/* "0:07", "12:34", "1:02:03" */
void ui_live_duration(int64_t ms, char *buf, size_t n);
/* "Not ready (Lunch)", "On call (paused: Lunch)", "Wrap-up (4 s)" (counted
 * down to the agent's until_ms for now_ms) etc. */
void ui_live_agent_state(const pd_live_agent *a, int64_t now_ms, char *buf, size_t n);

/* An ended call's channels are gone, so the monitor no longer knows who
 * called: keep from/to/agent of the same call (by id) from the previous
 * view, so the row says who ended rather than going blank. */
void ui_live_carry_ended(pd_live_view *nv, const pd_live_view *old);

/* The agents by name (case and accents aside; the interface where there is
 * no name, and between equal names), whatever order the PBX gave them in:
 * a row keeps its place while its agent's state changes. */
void ui_live_sort_agents(pd_live_view *v);

/* Screens. */
extern const struct ui_screen_ops ui_live_ops; /* arg: int64_t * customer id */

#endif

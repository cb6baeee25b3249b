/* The PBX monitor: ONE pthread with one poll() loop over every enabled PBX
 * connection (docs/architecture.md, PBX). It opens its own store connection, reloads the set of
 * connections when store_pbx_generation changes (checked about every second,
 * so enable/disable/edit in any process takes effect without a restart),
 * and re-reads every customer's status every 30 s (an expired trial or a
 * disabled customer stops monitoring; the data is kept), writes synced users
 * with store_sync_users and the link status with
 * store_pbx_status_set (so the CLI and other consoles see it), and publishes
 * calls/agents/users to the shared pd_live (which wakes the UI). */
#ifndef PROVDESK_MONITOR_H
#define PROVDESK_MONITOR_H

#include <stdbool.h>
#include <stdint.h>

#include "provdesk/config.h"
#include "provdesk/error.h"
#include "provdesk/live.h"
#include "provdesk/store.h"

typedef struct pd_monitor pd_monitor;

typedef struct {
	int ping_interval_s; /* 0 = cfg->pbx_ping_interval */
	int backoff_max_s;   /* 0 = cfg->pbx_backoff_max (60) */
	int backoff_min_ms;  /* first retry delay; 0 = 1000 (tests use less) */
	int reload_check_ms; /* generation check period; 0 = 1000 */
	int full_reload_ms;  /* re-read customers' status (trial expiry, disabled); 0 = 30000 */
	/* per-link caps; 0 = cfg's [pbx] values (then the built-in defaults) */
	int max_calls, max_channels, max_users;
	int64_t max_call_age_ms;
	size_t max_message;
	/* the stored status (docs/architecture.md, "Persisted link state"): at
	 * most one write per link per status_min_ms (0 = 1000; the latest state
	 * is always written), and every heartbeat_ms (0 = PD_PBX_HEARTBEAT_S)
	 * one statement refreshes updated_at of every row this monitor wrote */
	int status_min_ms, heartbeat_ms;
} pd_monitor_opts;

/* What the monitor's loop has done, for tests that must know it looked
 * without waiting blindly: every turn ends by updating these. */
typedef struct {
	int64_t turns;            /* poll() loop turns completed */
	int64_t checks;           /* store generation checks */
	int64_t reloads;          /* rebuilds of the set of links */
	int64_t links;            /* links now */
	int64_t links_with_timer; /* links whose driver has a timer pending */
} pd_monitor_stats;

/* Opens its own store connection on db_path (so: borrowed, must outlive the
 * monitor; cfg may be NULL for defaults) and starts the thread. live is
 * borrowed and must outlive the monitor. */
pd_status pd_monitor_start(const char *db_path, const pd_store_opts *so, const pd_config *cfg,
                           pd_live *live, pd_monitor **out, pd_err *e);
pd_status pd_monitor_start_opts(const char *db_path, const pd_store_opts *so, const pd_config *cfg,
                                const pd_monitor_opts *mo, pd_live *live, pd_monitor **out,
                                pd_err *e);
/* Ask for a re-discovery of one customer's users now (also retries a link
 * that is waiting or in auth failed). Returns at once, with the sync count
 * (pd_monitor_last_sync's seq) that the sync answering it will exceed: the
 * count now while the link monitors; while it connects or discovers, the
 * count before that connection, since its discovery (under way, or done
 * a moment ago) is the one asked for. */
int64_t pd_monitor_resync(pd_monitor *m, int64_t customer_id);
/* Cancel it (the console's Esc): seq is pd_monitor_last_sync's count when
 * the resync was asked; while no sync completed since, the customer's next
 * sync (within PD_MONITOR_CANCEL_MS) is discovered but not written, and true
 * is returned: the store is left as it was (a sync is one transaction, so
 * nothing is half-written). False: a sync was written already. */
#define PD_MONITOR_CANCEL_MS 180000
bool pd_monitor_resync_cancel(pd_monitor *m, int64_t customer_id, int64_t seq);
/* The last sync result of a customer since the monitor started; false when
 * none yet. *seq (may be NULL) counts that customer's syncs (1, 2, …). */
bool pd_monitor_last_sync(pd_monitor *m, int64_t customer_id, pd_sync_result *out, int64_t *seq);
/* A consistent copy of the counters above. */
void pd_monitor_get_stats(pd_monitor *m, pd_monitor_stats *out);
/* Stops the thread, closes every connection and the store. NULL is fine. */
void pd_monitor_stop(pd_monitor *m);

#endif

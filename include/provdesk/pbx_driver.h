/* The PBX driver interface: one const struct of function pointers per
 * platform (Asterisk AMI now; BroadWorks Xsi and FreeSWITCH follow the same
 * shape). A driver instance owns its sockets and never blocks: the monitor's
 * single poll() loop asks it for pollfds and a deadline, then calls on_io /
 * on_timer. Drivers publish to the shared live state themselves and ask the
 * host to write synced users (through the monitor's own store connection). */
#ifndef PROVDESK_PBX_DRIVER_H
#define PROVDESK_PBX_DRIVER_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include "provdesk/catalogue.h"
#include "provdesk/error.h"
#include "provdesk/live.h"
#include "provdesk/store.h"

typedef struct {
	int64_t customer_id;
	const char *host;
	int port;
	bool tls;
	const char *username;
	const char *secret;      /* never logged, never in status text */
	const char *params_json; /* platform extras, e.g. {"wrapup_time": 5}; may be NULL */
	bool sync_users, monitor, auto_provision;
	int ping_interval_s; /* keep-alive; an unanswered Ping drops the link */
	int backoff_max_s;   /* retry delay cap */
	int backoff_min_ms;  /* first retry delay; 0 = 1000 */
	/* A PBX is untrusted input ([pbx] in provdesk.conf); 0 = the default. */
	int max_calls;           /* max_calls_per_link */
	int max_channels;        /* max_channels_per_link */
	int max_users;           /* max_users_per_link: a larger directory is not synced */
	int64_t max_call_age_ms; /* max_call_age */
	size_t max_message;      /* bytes: max_message_kb * 1024 */
} pd_drv_conf;

typedef struct {
	void *ctx;
	pd_live *live; /* where the driver publishes; required */
	/* Write the discovered users (may be NULL: discovery is then not stored). */
	pd_status (*sync_users)(void *ctx, int64_t customer_id, const pd_synced_user *u, size_t n,
	                        bool auto_provision, pd_sync_result *res, pd_err *e);
	/* The link state changed (connecting, syncing, monitoring, retrying, auth failed). */
	void (*link_changed)(void *ctx, int64_t customer_id, pd_link_state st,
	                     const char *status_text);
} pd_drv_host;

/* What `pbx test` shows: each step tried, in order, with what it found
 * ("name resolution", "TCP connect", "TLS", "banner", "authentication",
 * "permissions" for AMI; a driver names its own). */
#define PD_DRV_TEST_MAX_STEPS 12
typedef struct {
	char name[32];
	bool ok;
	char detail[400];
} pd_drv_test_step;

typedef struct {
	pd_drv_test_step steps[PD_DRV_TEST_MAX_STEPS];
	int n_steps;
	int failed;         /* index of the failed step, -1 when all passed */
	char identity[160]; /* what the PBX says it is (the AMI banner), "" before */
} pd_drv_test_result;

typedef struct pd_driver_ops {
	const char *platform; /* catalogue key, e.g. "asterisk-ami" */
	/* The conf strings are copied. Starts connecting at once. */
	pd_status (*create)(const pd_drv_conf *c, const pd_drv_host *h, void **out, pd_err *e);
	/* `pbx test`: connect, identify, log in, check the permissions the
	 * driver needs, then log off; nothing is synced or published. Runs
	 * its own poll() (never a sleep) and returns within about timeout_ms.
	 * PD_OK when every step passed; else the status says what kind of
	 * failure (PD_E_UNAVAILABLE: resolve/connect, PD_E_PROTOCOL: not that
	 * PBX or a broken exchange, PD_E_AUTH: credentials or permissions,
	 * PD_E_CONFIG: the stored connection) and e->message is
	 * "STEP failed: why" (field "pbx"). The secret never reaches out or e. */
	pd_status (*test)(const pd_drv_conf *c, int timeout_ms, pd_drv_test_result *out, pd_err *e);
	void (*destroy)(void *d);
	/* Fill up to max pollfds (fd + events); returns how many. */
	int (*pollfds)(void *d, struct pollfd *p, int max);
	/* Called with the same pollfds, revents filled by poll(). */
	void (*on_io)(void *d, const struct pollfd *p, int n, int64_t now_ms);
	/* Absolute CLOCK_MONOTONIC ms of the next timer, INT64_MAX when none. */
	int64_t (*next_deadline)(void *d);
	void (*on_timer)(void *d, int64_t now_ms);
	/* Re-discover users now (on the open link, or reconnect at once). */
	void (*resync)(void *d, int64_t now_ms);
	/* Current state and the last sync result (for "N new, M updated, K removed"). */
	pd_link_state (*state)(void *d);
	bool (*last_sync)(void *d, pd_sync_result *res);
} pd_driver_ops;

extern const pd_driver_ops pd_ami_driver;
extern const pd_driver_ops pd_esl_driver; /* FreeSWITCH, src/pbx/esl/esl_driver.c */

/* ---- one loop for one driver instance (src/pbx/drv_loop.c) ----
 * Every place that runs a single driver (the wizard's discovery, `pbx
 * resync`, `pbx test`, tests, benches) uses these; the monitor runs many
 * links in its own poll() and shares pd_drv_io / pd_drv_timer. Never a
 * sleep: poll() waits for the driver's sockets or its next timer. */
#define PD_DRV_MAX_FDS 8

/* on_io when one of the driver's n pollfds has revents. */
void pd_drv_io(const pd_driver_ops *ops, void *drv, const struct pollfd *p, int n, int64_t now_ms);
/* on_timer when the driver's next deadline has come. */
void pd_drv_timer(const pd_driver_ops *ops, void *drv, int64_t now_ms);
/* One turn: poll() the driver's fds at most max_ms (less when its timer is
 * sooner), then pd_drv_io and pd_drv_timer. */
void pd_drv_step(const pd_driver_ops *ops, void *drv, int max_ms);
/* Turns until done(ctx) returns true (asked before every turn) or the
 * monotonic deadline (pd_live_now_ms) passes; each turn waits at most
 * turn_ms, so done is asked at least that often (a cancel flag, a progress
 * line). Returns whether done said so. */
bool pd_drv_run(const pd_driver_ops *ops, void *drv, int64_t deadline_ms, int turn_ms,
                bool (*done)(void *ctx), void *ctx);
/* ---- the registry (src/pbx/registry.c) ----
 * The drivers built in (a const table keyed by the catalogue's platform key)
 * plus at most PD_DRIVERS_EXTRA registered at run time (a test's fake driver).
 * A platform is supported when a driver is registered for its key. */
#define PD_DRIVERS_EXTRA 8

/* The driver for a platform key, or NULL. */
const pd_driver_ops *pd_driver_find(const char *platform);
/* Adds a driver (before any link uses it). PD_E_CONFLICT when the key has
 * one already, PD_E_INTERNAL when the table is full, PD_E_INVALID without a
 * key or create. */
pd_status pd_driver_register(const pd_driver_ops *ops, pd_err *e);
/* Sets every platform's `supported` from the registry; the catalogue
 * file's own "supported" is ignored (older files still carry it). */
void pd_drivers_mark_supported(pd_catalogue *cat);

#endif

/* A fake PBX driver for the monitor's own tests (tests/pbx/test_monitor_fake.c):
 * no sockets, behaviour scripted by the test. It is registered through the
 * driver registry (pd_driver_register) under FAKE_PLATFORM, a platform the
 * test adds to its catalogue, and runs inside the monitor thread like any
 * driver: one pipe per instance wakes the monitor's poll() when the test
 * scripts something, timers step it through connecting → logging-in →
 * discovering → monitoring, and it reports its link state, users and calls
 * the way a real driver does (pd_live_set_link, host->link_changed,
 * host->sync_users, pd_live_publish).
 *
 * The script is per customer and may change at any time (thread-safe); the
 * counters say what the monitor made of it. */
#ifndef PROVDESK_TESTS_FAKE_DRIVER_H
#define PROVDESK_TESTS_FAKE_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "provdesk/pbx_driver.h"

#define FAKE_PLATFORM "fake-pbx"

typedef struct {
	bool connect_fails;   /* each connect fails: retrying, with backoff */
	bool login_fails;     /* auth failed: no retry until the connection is edited */
	bool create_fails;    /* create() refuses the stored parameters */
	int users, calls;     /* what a discovery finds and what monitoring shows */
	bool hold_after_sync; /* a discovery stays discovering after its sync, until cleared */
} fake_script;

typedef struct {
	int64_t created, destroyed; /* instances for the customer, ever */
	int64_t connects;           /* connection attempts (first and retries) */
	int64_t discoveries;        /* discoveries (snapshots) done */
	int64_t drops;              /* links dropped by fake_drop */
	bool alive;                 /* an instance exists now */
	char host[64];              /* conf.host of the last instance created */
	int port;
	int64_t last_retry_delay_ms; /* the delay of the last retry scheduled */
	unsigned seen;               /* 1 << every link state reported */
	int64_t early_timers;        /* on_timer calls before the driver's deadline */
} fake_counts;

/* Registers the driver (once per process) and clears every script and count. */
void fake_driver_setup(void);
/* The script of one customer's instances (the default: all zero). */
void fake_set_script(int64_t customer_id, const fake_script *s);
/* Drop the link of the customer's live instance now (as a PBX restart). */
void fake_drop(int64_t customer_id);
/* Publish `users` and `calls` now if monitoring (and remember them). */
void fake_publish(int64_t customer_id, int users, int calls);
fake_counts fake_get(int64_t customer_id);

#endif

/* The lab tests' driver harness, shared by the AMI and FreeSWITCH driver
 * tests (tests/pbx/test_driver_lab.c, test_esl_driver_lab.c): one driver
 * instance for customer H_CUSTOMER, run turn by turn with pd_drv_step, a
 * pd_live it publishes to, and a host that records every sync (a copy of the
 * last one's users) and every link state and status text. Criterion
 * asserts inside: link it into Criterion tests only. */
#ifndef PD_TESTS_DRV_HARNESS_H
#define PD_TESTS_DRV_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "provdesk/live.h"
#include "provdesk/pbx_driver.h"
#include "testlib.h"

#define H_CUSTOMER 7

typedef struct {
	pd_live *live;
	void *drv;
	const pd_driver_ops *ops;
	int nsync;             /* syncs the driver asked for */
	size_t last_nusers;    /* users in the last one */
	size_t n_emails;       /* ... of them with an email */
	pd_synced_user *users; /* a copy of the last one (h_user) */
	pd_buf texts;          /* every status text the driver reported */
	pd_link_state st;      /* the last state reported */
	unsigned seen;         /* 1 << every link state reported */
	const char *secret;    /* never in a status text (h_stop checks) */
} harness;

/* The lab tests' conf: users synced, monitored, a ping every second,
 * retries from 100 ms up to 2 s. */
pd_drv_conf h_conf(const char *host, int port, const char *secret);
/* Creates the platform's driver on c (customer_id becomes H_CUSTOMER). */
void h_create(harness *h, const char *platform, pd_drv_conf c);
/* Destroys it and checks that the secret never reached a status text. */
void h_stop(harness *h);
/* One turn of the event loop, at most ms long. */
void h_step(harness *h, int ms);
pd_link_state link_of(harness *h);
/* The customer's live view (pd_live_free_view it). */
pd_live_view snap(harness *h);
pd_live_input input_of(harness *h);
/* A user of the last sync, NULL when it had none with that endpoint. */
const pd_synced_user *h_user(const harness *h, const char *endpoint);
/* Its email, "(none)" without one, "" when the sync had no such user. */
const char *h_email(const harness *h, const char *endpoint);
/* The last sync's distinct sub-accounts, each followed by ',' ("default,site-2,"). */
const char *h_sub_accounts(const harness *h, char *out, size_t n);

const pd_live_agent *find_agent(const pd_live_view *v, const char *interface);
const pd_live_user *find_user(const pd_live_view *v, const char *endpoint);
bool call_in_state(harness *h, pd_call_state st, bool need_agent);
size_t n_calls(harness *h);
/* The agent in st (and with that pause reason, unless reason is NULL). */
bool agent_in_state(harness *h, const char *interface, pd_agent_state st, const char *reason);
bool any_agent(harness *h, pd_agent_state st);
/* A call whose caller name holds part: its name into out. */
bool call_named(harness *h, const char *part, char *out, size_t n);
/* A C0 control byte or DEL in s. */
bool has_ctrl(const char *s);

/* Steps until cond, failing with the status log after ms (times
 * PD_TEST_SLOW: the valgrind setup's factor; only deadlines scale, the
 * windows a test watches keep their length). */
#define WAIT_FOR(h, cond, ms)                                                                      \
	TL_UNTIL(cond, ms, h_step((h), 20), "timed out waiting for %s; status log:\n%s", #cond,    \
	         (h)->texts.s ? (h)->texts.s : "")

#endif

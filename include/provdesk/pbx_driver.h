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
#include <stddef.h>
#include <stdint.h>

#include "provdesk/catalogue.h"
#include "provdesk/error.h"
#include "provdesk/live.h"
#include "provdesk/pbx_transport.h"
#include "provdesk/store.h"
#include "provdesk/util.h"

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
	int failed; /* index of the failed step, -1 when all passed */
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
extern const pd_driver_ops pd_xsi_driver; /* BroadWorks Xsi, src/pbx/xsi/xsi_driver.c */

/* ---- what every driver shares (src/pbx/drv_shared.c) ----
 * Written once here rather than in each driver (docs/architecture.md, "PBX
 * layer"): the start of create, the steps of a `test` op that the
 * transport reports, the model caps and their counters, and the sync. */

/* The parameters every driver reads (tls_verify, tls_ca_file, wrapup_time
 * 0-3600), read typed or as typed. */
typedef struct {
	bool tls_verify;
	char *tls_ca_file; /* NULL when none; owned: pd_drv_params_free */
	int wrapup_s;
} pd_drv_params;

/* The checks of create, without a transport (a driver on libcurl calls
 * them alone): host and port checked (fields "host", "port"), the
 * parameters read into *p naming a bad one. Nothing is kept when it fails. */
pd_status pd_drv_check(const pd_drv_conf *c, pd_drv_params *p, pd_err *e);
void pd_drv_params_free(pd_drv_params *p);
/* c copied into *copy (strings owned: pd_drv_conf_free) but for its
 * secret, which is kept masked in *secret (copy->secret is NULL; reveal it
 * only for the login, then pd_secret_free). */
void pd_drv_conf_copy(const pd_drv_conf *c, pd_drv_conf *copy, pd_masked *secret);

/* The start of a TCP/TLS driver's create: pd_drv_check, then the transport
 * made (cb->ctx is the driver) with step_timeout_ms, the backoff set from
 * backoff_min_ms/backoff_max_s (60 s when 0), and c copied
 * (pd_drv_conf_copy). Nothing is made when it fails. */
pd_status pd_drv_setup(const pd_drv_conf *c, const pd_tport_cb *cb, int step_timeout_ms,
                       pd_drv_conf *copy, pd_masked *secret, pd_tport **t, pd_backoff *bo,
                       int *wrapup_s, pd_err *e);
/* Frees the strings of a pd_drv_setup copy and clears the masked secret. */
void pd_drv_conf_free(pd_drv_conf *c, pd_masked *secret);
/* Masks the secret (3 bytes or longer) wherever it appears in s. */
void pd_drv_scrub(const pd_masked *secret, char *s);

/* The part of a driver instance that every driver has alike: embedded in
 * it, it keeps the link state and its text, the failure noted inside a
 * parser callback, the publishing of the model's view and the retries.
 * What differs by protocol (the steps, the warning's words, the model's
 * counters) stays in the driver. */
typedef struct pd_drv_link {
	pd_drv_conf c; /* c.secret is NULL: the secret is kept masked below */
	pd_masked secret;
	pd_drv_host h;
	pd_tport *t; /* NULL for a driver without the shared transport */
	pd_backoff bo;
	int64_t now;              /* the time of the call being handled */
	int64_t retry_at;         /* while down: when to redial */
	pd_link_state wait_state; /* the state while down */
	bool auth_failed;         /* down for good until resync/edit */
	/* a pd_msg or a PBX's words, the secret masked; as long as
	 * pd_live_view's, so a 253-character host name leaves room for the
	 * system's reason after it */
	char last_error[400];
	char *fail;              /* set inside the parser callback; acted on by pd_drv_settle */
	pd_link_state fail_as;   /* what fail makes the link: retrying (0 too), protocol-error,
	                            auth-failed (no retries) */
	int done, total;         /* the discovery's progress (the state's done/total) */
	pd_link_state published; /* (pd_link_state)-1: say the next state even when the same */
	int pub_done, pub_total;
	bool dirty; /* the view changed since it was published */
	int64_t published_at;
	pd_live_input input; /* what the PBX's input cost: published with the view */
	pd_sync_result last;
	bool have_last;
	char *sync_note;    /* why the last discovery was not synced, NULL when it was
	                     * (pd_drv_link_note) */
	int64_t input_at;   /* when input was last noted (pd_drv_link_input) */
	bool input_pending; /* a change waits for PD_DRV_INPUT_MS */
	char *warning;      /* shown while monitoring (pd_drv_link_warning), NULL when none */
	/* the driver's, set before pd_drv_link_init returns to it */
	void *drv;
	void (*view)(void *drv, int64_t now_ms, pd_live_view *v); /* the model's view */
	/* The link goes down: close the connection, forget what only the open
	 * link knew (calls, agents, commands in flight), be waiting. */
	void (*stop)(void *drv);
	/* After the transport handled one ready pollfd (pd_drv_link_on_io). */
	void (*after_io)(void *drv);
} pd_drv_link;

/* The start of create into *l (cleared first): pd_drv_check, the backoff,
 * the conf copied (pd_drv_conf_copy), h kept; with cb the transport is
 * made too (pd_drv_setup), without it l->t is NULL. l->drv and the
 * callbacks are the caller's to set. Nothing is kept when it fails. */
pd_status pd_drv_link_init(pd_drv_link *l, const pd_drv_conf *c, const pd_drv_host *h,
                           const pd_tport_cb *cb, int step_timeout_ms, int *wrapup_s, pd_err *e);
/* Frees the transport, a pending failure and the conf copy. */
void pd_drv_link_free(pd_drv_link *l);
/* Says st (with err, and done/total) to the live state and the host;
 * "discovering" again with the same progress is said once. */
void pd_drv_link_set(pd_drv_link *l, pd_link_state st, const char *err);
/* The model's view (and l->input) to the live state, when dirty. */
void pd_drv_publish_now(pd_drv_link *l);
/* The same, coalesced: not before gap_ms since the last one. */
void pd_drv_publish(pd_drv_link *l, int64_t gap_ms);
/* The gap between two publishes: a full view copy per read batch is nothing
 * for 20 users but dominates with 10,000 (a busy PBX), so while monitoring
 * the gap grows with the model's size (users + calls), 1 ms per 500, up to
 * PD_DRV_PUBLISH_MS. A small link is published at once: an event reaches
 * the screen without waiting. During discovery (nothing live to show yet)
 * it is PD_DRV_PUBLISH_MS, or 1 ms per 50 items when more: 200 ms at
 * 10,000 users, where 20 full copies a second were a sixth of a resync
 * (issue 19). */
#define PD_DRV_PUBLISH_MS 50
int64_t pd_drv_publish_gap(bool monitoring, size_t items);
/* The earliest of t (the driver's own) and the link's: an input change held
 * back (pd_drv_link_input), a publish coalesced by gap_ms (pd_drv_publish)
 * and, while waiting to redial (not after a refused login), the retry. */
int64_t pd_drv_link_deadline(const pd_drv_link *l, int64_t t, int64_t gap_ms, bool waiting);
/* A new attempt (a driver's start_connect): a refused login is forgotten
 * and the next state is said even when it is the one before. */
void pd_drv_link_attempt(pd_drv_link *l);
/* While down: the redial is due (never after a refused login: only a
 * resync or an edit dials again). */
bool pd_drv_link_retry_due(const pd_drv_link *l, int64_t now);
/* The shared transport failed (pd_tport_cb.on_fail) while the link was
 * opening or up: down and retrying; an EOF while logging_in reads
 * "... during login". */
void pd_drv_link_tport_failed(pd_drv_link *l, pd_tport_fail what, const char *why, bool logging_in);
/* Notes a failure to act on after the feed (the first one wins): as is
 * what it makes the link (retrying, protocol-error, auth-failed); msgid is
 * marked N_() and kept untranslated with its arguments (pd_msg), so each
 * reader of the last error shows it in its own language. */
void pd_drv_set_fail(pd_drv_link *l, pd_link_state as, const char *msgid, ...)
    __attribute__((format(printf, 3, 4)));
/* Acts on a noted failure: pd_drv_link_down. */
void pd_drv_settle(pd_drv_link *l);
/* The link is down (st: retrying, protocol-error, or auth-failed: no
 * retry): stop, why kept as the last error (the secret masked), the retry
 * timed by the backoff, the state said and the emptied view published (the
 * state first when retried: the live state then keeps the last full view,
 * marked stale). */
void pd_drv_link_down(pd_drv_link *l, const char *why, pd_link_state st);
/* pd_drv_link_down with a pd_msg made of msgid (marked N_()) and its
 * arguments. */
void pd_drv_link_down_msg(pd_drv_link *l, pd_link_state st, const char *msgid, ...)
    __attribute__((format(printf, 3, 4)));
/* The pollfds, on_io and last_sync ops of a driver whose instance begins
 * with its pd_drv_link (PD_DRV_LINK_FIRST), given as they are in its
 * pd_driver_ops: the transport's pollfd; per ready pollfd, the transport's
 * I/O then after_io; the last sync kept (pd_drv_link_sync). */
#define PD_DRV_LINK_FIRST(type) _Static_assert(offsetof(type, l) == 0, "PD_DRV_LINK_FIRST")
int pd_drv_link_pollfds(void *drv, struct pollfd *p, int max);
void pd_drv_link_on_io(void *drv, const struct pollfd *p, int n, int64_t now_ms);
bool pd_drv_link_last_sync(void *drv, pd_sync_result *res);
/* The discovered directory synced (pd_drv_sync_users) and the outcome
 * kept on the link: done -> l->last, sync_note cleared; refused (the
 * max_users_per_link cap) -> sync_note says why; failed -> sync_note and
 * last_error say why; off -> nothing. sync_note is shown beside the input
 * warning while monitoring. Returns whether sync_note changed. */
bool pd_drv_link_sync(pd_drv_link *l, const pd_synced_user *u, size_t n, size_t refused);
/* Set (or clear: NULL or "") why the last discovery was not synced (a
 * pd_msg, read in the reader's language); true when it changed. */
bool pd_drv_link_note(pd_drv_link *l, const char *why);
/* What the PBX's input cost (pd_model_input) noted on the link for the
 * view, at most every PD_DRV_INPUT_MS while it changes (a flood changes it on
 * every read; force: now), so the status row and the screens are not
 * rewritten per event; a change held back sets input_pending (the driver's
 * deadline: input_at + PD_DRV_INPUT_MS). Returns PD_DRV_INPUT_WORDS when
 * the warning's words change (the driver says its warning again),
 * PD_DRV_INPUT_COUNTS when only the counts held now did, else 0. */
#define PD_DRV_INPUT_MS 1000
enum { PD_DRV_INPUT_COUNTS = 1, PD_DRV_INPUT_WORDS = 2 };
int pd_drv_link_input(pd_drv_link *l, const pd_live_input *in, bool force);
/* The warning shown while monitoring rebuilt: sync_note, then what the
 * input cost (pd_model_input_warning with the driver's words other and
 * bad, msgids marked N_()); a pd_msg list, read in the reader's language;
 * when it changed and the link is monitoring, it is said again. */
void pd_drv_link_warning(pd_drv_link *l, bool monitoring, const char *other, const char *bad);
/* Says st with the text that goes with it: the warning while monitoring,
 * else the last error (pd_drv_link_set). */
void pd_drv_link_state(pd_drv_link *l, pd_link_state st);

/* The caps of one link's model ([pbx] in provdesk.conf): a PBX is
 * untrusted input. 0 = the default. */
#define PD_MODEL_DEFAULT_MAX_CALLS 5000
#define PD_MODEL_DEFAULT_MAX_CHANNELS 10000
#define PD_MODEL_DEFAULT_MAX_CALL_AGE_MS (86400 * (int64_t)1000)
#define PD_MODEL_DEFAULT_MAX_USERS 20000

typedef struct {
	size_t max_calls;        /* past it a new call (and its channel) is dropped */
	size_t max_channels;     /* past it a new channel (leg) is dropped */
	int64_t max_call_age_ms; /* a call older than this ends (hangup lost) */
	size_t max_users;        /* past it a user of the directory is refused (counted) */
} pd_model_limits;

/* What a model holds and what the PBX's input cost it. */
typedef struct {
	size_t calls, channels;         /* held now */
	uint64_t dropped_calls;         /* new calls refused at the cap */
	uint64_t dropped_channels;      /* new channels refused (either cap) */
	uint64_t aged_out;              /* calls ended by max_call_age */
	uint64_t stale_channels;        /* removed because a re-snapshot no longer had them */
	uint64_t dropped_other;         /* queue members, queues, users, agents past the caps */
	uint64_t bad_fields;            /* values the model repaired or refused */
	bool calls_full, channels_full; /* a cap is reached now */
} pd_model_stats;

/* *l (NULL: none given) with each 0 made its default. */
pd_model_limits pd_model_limits_fill(const pd_model_limits *l);
/* The caps of a link's conf (0 or less: the default). */
pd_model_limits pd_model_limits_of(const pd_drv_conf *c);
/* The counters for the view: the model's plus the parser's bad fields. */
pd_live_input pd_model_input(const pd_model_stats *ms, uint64_t parser_bad_fields);
/* Adds the input warning to the pd_msg list in w (pd_msg_list_add): the
 * caps hit (named with c's values), "N <other> dropped" (other: "queue
 * members or queues"), "N <bad>" (bad: "fields with control bytes
 * repaired"; both msgids, marked N_()), calls aged out. */
void pd_model_input_warning(pd_buf *w, const pd_live_input *in, const pd_drv_conf *c,
                            const char *other, const char *bad);

/* The sync: every driver hands its discovered directory here. Nothing is
 * written when the conf does not sync users or the host cannot
 * (PD_DRV_SYNC_OFF), nor when the model refused `refused` users at
 * max_users_per_link: a directory cut short would read as users removed
 * (PD_DRV_SYNC_REFUSED, why = "not synced: the PBX lists more than N users
 * (max_users_per_link); M more refused"). PD_DRV_SYNC_DONE fills *res;
 * PD_DRV_SYNC_FAILED says why ("sync not saved: ..."); why is "" when
 * done and untouched when off. */
typedef enum {
	PD_DRV_SYNC_OFF,
	PD_DRV_SYNC_DONE,
	PD_DRV_SYNC_REFUSED,
	PD_DRV_SYNC_FAILED
} pd_drv_sync_outcome;
pd_drv_sync_outcome pd_drv_sync_users(const pd_drv_conf *c, const pd_drv_host *h,
                                      const pd_synced_user *u, size_t n, size_t refused,
                                      pd_sync_result *res, char *why, size_t whyn);

/* A `test` op's shared part: the transport opened and its steps reported
 * (name resolution, TCP connect, TLS), each wait bounded by step_ms and
 * the whole by timeout_ms, then the driver's own steps through the same
 * calls. The driver sets ctx, on_data (bytes read: its parser) and stop (a
 * wait ends early when it says so; may be NULL) before
 * pd_drv_probe_open. */
typedef struct pd_drv_probe {
	void *ctx;
	void (*on_data)(void *ctx, const char *buf, size_t n);
	bool (*stop)(void *ctx);
	/* set by pd_drv_probe_open */
	const pd_drv_conf *c;
	pd_drv_test_result *out;
	pd_tport *t;
	bool verify; /* tls_verify */
	char *ca;    /* tls_ca_file, NULL when none */
	int step_ms;
	int64_t give_up;
	bool opened, failed;
	pd_tport_fail what;
	char why[400];
	char step[32]; /* the failed step */
} pd_drv_probe;

/* out cleared, the parameters read (a bad one is the failed step
 * "parameters", PD_E_CONFIG) and the overall limit set; no transport (a
 * driver without pd_tport reports its own steps with pd_drv_probe_step /
 * pd_drv_probe_fail and ends with pd_drv_probe_end). */
pd_status pd_drv_probe_begin(pd_drv_probe *pr, const pd_drv_conf *c, int timeout_ms, int step_ms,
                             pd_drv_test_result *out);
/* pd_drv_probe_begin, then the transport opened: PD_OK once open (the
 * steps so far added), else the status of the failed step. Either way
 * pd_drv_probe_end follows. */
pd_status pd_drv_probe_open(pd_drv_probe *pr, const pd_drv_conf *c, int timeout_ms, int step_ms,
                            pd_drv_test_result *out);
/* Turns until *flag, a transport failure, stop, step_ms or the overall limit. */
bool pd_drv_probe_wait(pd_drv_probe *pr, const bool *flag);
/* Sends b (then wiped: it may hold the secret, and freed) and flushes. */
void pd_drv_probe_send(pd_drv_probe *pr, pd_buf *b);
void pd_drv_probe_step(pd_drv_probe *pr, const char *name, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A failed step: added, remembered as the step that failed; returns st. */
pd_status pd_drv_probe_fail(pd_drv_probe *pr, pd_status st, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Frees the transport; st != PD_OK: e says "STEP failed: detail" (field "pbx"). */
pd_status pd_drv_probe_end(pd_drv_probe *pr, pd_status st, pd_err *e);

/* ---- one loop for one driver instance (src/pbx/drv_loop.c) ----
 * Every place that runs a single driver (the wizard's discovery, `pbx
 * resync`, `pbx test`, tests, benches) uses these; the monitor runs many
 * links in its own poll() and shares pd_drv_io / pd_drv_timer. Never a
 * sleep: poll() waits for the driver's sockets or its next timer. */
#define PD_DRV_MAX_FDS 24 /* the most pollfds a driver hands out (Xsi: 9 connections) */

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

/* PBX user sync benchmark: a lab PBX with N endpoints (default 10,000) over
 * loopback, discovered by the AMI driver (PJSIPShowEndpoints + one
 * PJSIPShowEndpoint each, pipelined) and written to a real SQLite file with
 * store_sync_users; then a resync with nothing changed (nothing written).
 * Each prints its wall time, the CPU of the whole process (the lab PBX's
 * thread included) and of the driver's thread (this one: the driver, its
 * model and the store), beside the store's own part (issue 19's goal:
 * whole resync <= 300 ms, nothing written when nothing changed), and the
 * link's status after each (a warning there says what was refused).
 * --freeswitch: the same against a FreeSWITCH lab and the ESL driver
 * (list_users, then one user_data ... param email per user); --broadworks:
 * a BroadWorks XSP lab and the Xsi driver (the enterprise directory, paged),
 * then how long reading every agent's state and every user's calls took
 * (no group or enterprise subscription brings them), and how long
 * acknowledging an event from every agent at once took (all paused).
 * --latency MS: the lab holds every byte it sends that long, as a PBX that
 * far away (loopback hides what the round trips cost).
 *   bench_pbx_sync [N] [--freeswitch | --broadworks] [--latency MS]
 * (PROVDESK_DATADIR for the catalogue) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

#include "pd_build_config.h"
#include "provdesk/catalogue.h"
#include "provdesk/labpbx.h"
#include "provdesk/live.h"
#include "provdesk/pbx_driver.h"
#include "provdesk/store.h"
#include "provdesk/util.h"

static double process_cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double store_part; /* the last store_sync_users, wall s */

static pd_status do_sync(void *ctx, int64_t cid, const pd_synced_user *u, size_t n, bool ap,
                         pd_sync_result *res, pd_err *e)
{
	double t = now_s();
	pd_status s = store_sync_users(ctx, cid, u, n, ap, res, e);
	store_part = now_s() - t;
	printf("  store_sync_users(%zu users): %.3f s\n", n, store_part);
	return s;
}

typedef struct {
	const pd_driver_ops *ops;
	void *d;
} run_ctx;

static bool settled(void *ctx)
{
	run_ctx *r = ctx;
	pd_link_state st = r->ops->state(r->d);
	return st == PD_LINK_MONITORING || st == PD_LINK_RETRYING || st == PD_LINK_AUTH_FAILED;
}

static char last_text[256]; /* the link's last status text */

static void link_changed(void *ctx, int64_t cid, pd_link_state st, const char *text)
{
	(void)ctx, (void)cid, (void)st;
	snprintf(last_text, sizeof last_text, "%s", text);
}

/* BroadWorks: every event the lab sent is acknowledged, or the link left
 * monitoring (the XSP ended the channel). */
typedef struct {
	run_ctx r;
	pd_labpbx *lab;
	int64_t want; /* of what the phase counts */
	enum { STATES, CALL_LISTS, ACKS } phase;
} ack_ctx;

static bool all_done(void *ctx)
{
	ack_ctx *a = ctx;
	pd_lab_xsi_counters k;
	labpbx_xsi_counters(a->lab, &k);
	int64_t got = a->phase == STATES       ? k.state_reads
	              : a->phase == CALL_LISTS ? k.call_reads
	                                       : k.acks;
	return got >= a->want || a->r.ops->state(a->r.d) != PD_LINK_MONITORING;
}

static double run_until_monitoring(const pd_driver_ops *ops, void *d)
{
	double t = now_s();
	run_ctx r = {ops, d};
	pd_drv_run(ops, d, INT64_MAX, 100, settled, &r);
	if (ops->state(d) != PD_LINK_MONITORING) {
		fprintf(stderr, "bench_pbx_sync: link failed: %s\n", last_text);
		exit(69);
	}
	return now_s() - t;
}

/* A whole number in [lo, hi] (nothing else in s), or -1. */
static int whole(const char *s, int lo, int hi)
{
	char *end;
	long v = strtol(s, &end, 10);
	return end != s && !*end && v >= lo && v <= hi ? (int)v : -1;
}

int main(int argc, char **argv)
{
	int n = 10000, latency = 0;
	pd_lab_platform pf = PD_LAB_ASTERISK_AMI;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--freeswitch"))
			pf = PD_LAB_FREESWITCH_ESL;
		else if (!strcmp(argv[i], "--broadworks"))
			pf = PD_LAB_BROADWORKS_XSI;
		else if (!strcmp(argv[i], "--latency") && i + 1 < argc &&
		         (latency = whole(argv[i + 1], 0, 10000)) >= 0)
			i++;
		else if ((n = whole(argv[i], 1, 10000000)) < 0) {
			fprintf(stderr, "usage: bench_pbx_sync [N] [--freeswitch | --broadworks] "
			                "[--latency MS]\n");
			return 64;
		}
	}
	static const char *const drivers[] = {"asterisk-ami", "freeswitch-esl", "broadworks-xsi"};
	static const char *const wires[] = {"Asterisk AMI", "FreeSWITCH ESL", "BroadWorks Xsi"};
	struct utsname un;
	uname(&un);
	printf("machine: %s, %ld cores\n", un.machine, sysconf(_SC_NPROCESSORS_ONLN));
	char dir[] = "/tmp/pd-bench-sync-XXXXXX";
	if (!mkdtemp(dir))
		return 73;
	char db[256], cat_path[512];
	snprintf(db, sizeof db, "%s/bench.db", dir);
	const char *dd = getenv("PROVDESK_DATADIR");
	snprintf(cat_path, sizeof cat_path, "%s/catalogue.json", dd ? dd : PD_SOURCE_DATADIR);
	pd_catalogue cat;
	pd_err e = {0};
	if (pd_catalogue_load(cat_path, &cat, &e) != PD_OK) {
		fprintf(stderr, "bench_pbx_sync: %s\n", e.message);
		return 66;
	}
	pd_store_opts so = {
	    .catalogue = &cat, .internal_systems_limit = 1, .busy_timeout_ms = 5000};
	pd_store *s;
	if (store_open(db, &so, &s, &e) != PD_OK) {
		fprintf(stderr, "bench_pbx_sync: %s\n", e.message);
		return 73;
	}
	pd_new_customer nc = {0};
	nc.customer.name = xstrdup("Bench Customer");
	nc.customer.product_type = xstrdup(cat.n_types ? cat.types[0].key : "analytics-pro");
	memcpy(nc.customer.country, "FR", 3);
	nc.admin.display_name = xstrdup("Bench Admin");
	nc.admin.email = xstrdup("bench@example.com");
	pd_actor a = {"bench", ""};
	pd_customer c = {0};
	if (store_customer_create(s, &nc, &a, &c, &e) != PD_OK) {
		fprintf(stderr, "bench_pbx_sync: %s\n", e.message);
		return 65;
	}
	pd_labpbx_opts lo = {.platform = pf,
	                     .users = n,
	                     .queues = 10,
	                     .sites = 20,
	                     .username = "admin",
	                     .secret = "bench",
	                     .latency_ms = latency,
	                     .ack_timeout_ms = 3600 * 1000}; /* the bench measures, never cuts */
	pd_labpbx *lab;
	if (labpbx_start(&lo, &lab, &e) != PD_OK) {
		fprintf(stderr, "bench_pbx_sync: %s\n", e.message);
		return 69;
	}
	pd_live *live = pd_live_new();
	const pd_driver_ops *ops = pd_driver_find(drivers[pf]);
	pd_drv_conf dc = {
	    .customer_id = c.id,
	    .host = "127.0.0.1",
	    .port = labpbx_port(lab),
	    .username = "admin",
	    .secret = "bench",
	    .sync_users = true,
	    .monitor = true,
	    .auto_provision = true,
	    .ping_interval_s = 60,
	    .backoff_max_s = 60,
	    .params_json = pf == PD_LAB_BROADWORKS_XSI ? "{\"enterprise_id\": \"lab-ent\"}" : NULL};
	pd_drv_host h = {
	    .ctx = s, .live = live, .sync_users = do_sync, .link_changed = link_changed};
	void *d;
	printf("first sync of %d endpoints over %s (connect, discovery, SQLite), %d ms away:\n", n,
	       wires[pf], latency);
	ops->create(&dc, &h, &d, &e);
	double p1 = process_cpu_s(), c1 = thread_cpu_s();
	double t1 = run_until_monitoring(ops, d);
	p1 = process_cpu_s() - p1;
	c1 = thread_cpu_s() - c1;
	pd_sync_result r = {0};
	ops->last_sync(d, &r);
	printf("  total %.3f s: %d new, %d updated, %d removed, %d sub-accounts\n", t1, r.added,
	       r.updated, r.removed, r.sub_accounts_added);
	printf("  CPU: process %.3f s (lab PBX included), driver thread %.3f s\n", p1, c1);
	int64_t before = store_change_counter(s);
	printf("  link: %s\n", last_text); /* a warning says what was refused */
	if (pf == PD_LAB_BROADWORKS_XSI) {
		/* no subscription brings the agents' states or the calls up: each
		 * user's are read */
		double ta = now_s();
		ack_ctx ac = {{ops, d}, lab, n, STATES};
		pd_drv_run(ops, d, pd_live_now_ms() + 600000, 100, all_done, &ac);
		pd_lab_xsi_counters k;
		labpbx_xsi_counters(lab, &k);
		double tr = now_s() - ta;
		printf(
		    "  agents' states read: %lld of %d, %.3f s after monitoring (%.0f a second)\n",
		    (long long)k.state_reads, n, tr, (double)k.state_reads / (tr + 1e-9));
		ac.phase = CALL_LISTS;
		pd_drv_run(ops, d, pd_live_now_ms() + 600000, 100, all_done, &ac);
		labpbx_xsi_counters(lab, &k);
		tr = now_s() - ta;
		printf("  then users' calls read: %lld lists of %d, %.3f s after monitoring\n",
		       (long long)k.call_reads, n, tr);
		/* every agent paused at once: one event each to acknowledge */
		labpbx_pause(lab, NULL, true, "Bench");
		ta = now_s();
		ac.phase = ACKS;
		pd_drv_run(ops, d, pd_live_now_ms() + 600000, 100, all_done, &ac);
		labpbx_xsi_counters(lab, &k);
		double tk = now_s() - ta;
		printf("  every agent paused at once: %lld of %d events acknowledged in %.3f s "
		       "(%.0f a "
		       "second); channels ended by the XSP: %lld\n",
		       (long long)k.acks, n, tk, (double)k.acks / (tk + 1e-9),
		       (long long)k.channels_ended);
	}
	printf("resync with no change:\n");
	double p2 = process_cpu_s(), c2 = thread_cpu_s();
	ops->resync(d, pd_live_now_ms());
	double t2 = run_until_monitoring(ops, d);
	p2 = process_cpu_s() - p2;
	c2 = thread_cpu_s() - c2;
	ops->last_sync(d, &r);
	printf("  total %.3f s: %d new, %d updated, %d removed (%s)\n", t2, r.added, r.updated,
	       r.removed, store_change_counter(s) == before ? "nothing written" : "WROTE");
	printf("  CPU: process %.3f s (lab PBX included), driver thread %.3f s\n", p2, c2);
	printf("  link: %s\n", last_text);
	printf("whole resync, no change: %.3f s wall (goal <= 0.300), store part %.3f s, driver "
	       "thread CPU %.3f s, process CPU %.3f s\n",
	       t2, store_part, c2, p2);
	ops->destroy(d);
	pd_live_free(live);
	labpbx_stop(lab);
	pd_customer_free(&c);
	pd_new_customer_free(&nc);
	store_close(s);
	pd_catalogue_free(&cat);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	return 0;
}

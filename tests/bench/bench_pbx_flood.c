/* bench_pbx_flood [SECONDS [MAX_CALLS]]: a hostile PBX floods one AMI link
 * with Newchannel events that never hang up, at full speed, for SECONDS
 * (default 600). The lab PBX runs in-process over loopback TCP, the real
 * AMI driver at the default caps (max_calls_per_link 5000,
 * max_channels_per_link 10000, or MAX_CALLS and twice that). Prints, every
 * 10 s, the process RSS, the calls and channels held, what was dropped,
 * the event rate and the link reader threads running (a flood makes the
 * link busy); memory must stay flat (docs/performance.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"

#include "provdesk/labpbx.h"
#include "provdesk/live.h"
#include "provdesk/pbx_driver.h"
#include "provdesk/pbx_transport.h"

static pd_link_state link_st;

static void on_link(void *ctx, int64_t cid, pd_link_state st, const char *text)
{
	(void)ctx;
	(void)cid;
	(void)text;
	link_st = st;
}

static bool monitoring(void *ctx)
{
	(void)ctx;
	return link_st == PD_LINK_MONITORING;
}

int main(int argc, char **argv)
{
	int secs = argc > 1 ? atoi(argv[1]) : 600;
	int max_calls = argc > 2 ? atoi(argv[2]) : 0;
	if (secs <= 0 || max_calls < 0) {
		fprintf(stderr, "usage: bench_pbx_flood [SECONDS [MAX_CALLS]]\n");
		return 64;
	}
	pd_labpbx_opts o = {.users = 20, .queues = 2, .fault_ms = (secs + 10) * 1000};
	pd_labpbx *lab;
	pd_err e = {0};
	if (labpbx_start(&o, &lab, &e) != PD_OK) {
		fprintf(stderr, "lab: %s\n", e.message);
		return 1;
	}
	pd_live *live = pd_live_new();
	const pd_driver_ops *ops = pd_driver_find("asterisk-ami");
	pd_drv_conf c = {.customer_id = 1,
	                 .host = "127.0.0.1",
	                 .port = labpbx_port(lab),
	                 .username = "admin",
	                 .secret = "lab-secret",
	                 .monitor = true,
	                 .ping_interval_s = 20,
	                 .backoff_max_s = 5,
	                 .max_calls = max_calls,
	                 .max_channels = max_calls * 2};
	pd_drv_host h = {.live = live, .link_changed = on_link};
	void *drv;
	if (ops->create(&c, &h, &drv, &e) != PD_OK) {
		fprintf(stderr, "driver: %s\n", e.message);
		return 1;
	}
	pd_drv_run(ops, drv, pd_live_now_ms() + 10000, 20, monitoring, NULL);
	if (link_st != PD_LINK_MONITORING) {
		fprintf(stderr, "the link did not reach monitoring\n");
		return 1;
	}
	int64_t logins = labpbx_logins(lab);
	labpbx_inject(lab, PD_LAB_FAULT_FLOOD);
	printf("# flood of Newchannel without hangups for %d s, caps %d calls / %d channels\n",
	       secs, max_calls ? max_calls : 5000, max_calls ? max_calls * 2 : 10000);
	printf("%6s %9s %7s %9s %14s %14s %11s %8s\n", "t_s", "rss_kB", "calls", "channels",
	       "calls_dropped", "stale_removed", "events/s", "readers");
	fflush(stdout);
	int64_t start = pd_live_now_ms(), end = start + (int64_t)secs * 1000, next = start;
	uint64_t last_events = 0;
	long rss_min = 0, rss_max = 0;
	while (pd_live_now_ms() < end) {
		pd_drv_step(ops, drv, 50);
		if (pd_live_now_ms() < next)
			continue;
		pd_live_summary s;
		pd_live_summary_get(live, 1, &s);
		uint64_t events = s.input.dropped_calls + (uint64_t)s.input.calls +
		                  s.input.stale_channels + s.input.aged_out;
		long r = rss_kb();
		int64_t el = (pd_live_now_ms() - start) / 1000;
		if (el >= 10) { /* after the caps filled */
			rss_min = rss_min && rss_min < r ? rss_min : r;
			rss_max = rss_max > r ? rss_max : r;
		}
		printf("%6lld %9ld %7lld %9lld %14llu %14llu %11llu %8d\n", (long long)el, r,
		       (long long)s.input.calls, (long long)s.input.channels,
		       (unsigned long long)s.input.dropped_calls,
		       (unsigned long long)s.input.stale_channels,
		       (unsigned long long)(next == start ? 0 : (events - last_events) / 10),
		       pd_tport_readers());
		fflush(stdout);
		last_events = events;
		next += 10000;
	}
	printf("# RSS after the caps filled: min %ld kB, max %ld kB (%+ld kB); link %s, %lld "
	       "reconnects\n",
	       rss_min, rss_max, rss_max - rss_min,
	       link_st == PD_LINK_MONITORING ? "monitoring" : pd_link_state_name(link_st),
	       (long long)(labpbx_logins(lab) - logins));
	ops->destroy(drv);
	pd_live_free(live);
	labpbx_stop(lab);
	return 0;
}

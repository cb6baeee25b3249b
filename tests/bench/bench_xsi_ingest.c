/* BroadWorks Xsi benchmark (issue 16), three parts in one run:
 *
 *   (a) in memory, no socket: the constructed event streams of
 *       tests/fixtures/broadworks/ (queue-call.xml, direct-call.xml) fed
 *       REPEAT times to the Xsi parser alone, then to the parser + model, in
 *       64 KiB pieces (events/s, MB/s): where the time goes;
 *   (b) through libcurl over loopback: the lab XSP (its call generator at a
 *       high rate, on its own thread) and one BroadWorks driver instance run
 *       by pd_drv_step on this thread, as the monitor runs it, for SECONDS:
 *       events the lab wrote and acknowledgements it received per second, and
 *       the driver thread's CPU per event (each event is one XML document in
 *       the channel's chunked stream and one eventresponse POST back);
 *   (c) the monitor thread with N BroadWorks links and N Asterisk links
 *       (labs in a child process, 200 links per lab, calls flowing), plus one
 *       probe BroadWorks link to a lab in this process: the RSS per link once
 *       all monitor, and event -> live state latency (the probe lab's agent
 *       1001 set Unavailable / Available, until the monitor's live state
 *       shows it: median and p99 of 100 samples).
 *
 *   bench_xsi_ingest [--repeat N] [--seconds S] [--links N]
 *                    (defaults 2000, 10, 200; PROVDESK_DATADIR for the
 *                    catalogue, PROVDESK_FIXTURES or the source tree) */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

#include "../../src/pbx/xsi/xsi_model.h"
#include "pd_build_config.h"
#include "provdesk/catalogue.h"
#include "provdesk/labpbx.h"
#include "provdesk/live.h"
#include "provdesk/monitor.h"
#include "provdesk/pbx_driver.h"
#include "provdesk/store.h"
#include "provdesk/util.h"
#include "provdesk/xsi.h"

#define PER_LAB 200
#define SECRET "bench-secret"

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *d = n >= 0 ? xmalloc((size_t)n + 1) : NULL;
	if (!d || fread(d, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(d);
		return NULL;
	}
	d[n] = 0;
	fclose(f);
	*len = (size_t)n;
	return d;
}

/* ---- (a) in memory ---- */

typedef struct {
	xsi_model *m; /* NULL: the parser alone */
	uint64_t events, errors;
	int64_t now;
} mem_ctx;

static void mem_on_msg(const xsi_msg *msg, void *ctx)
{
	mem_ctx *c = ctx;
	if (msg->kind == XSI_MSG_ERROR) {
		c->errors++;
		return;
	}
	if (msg->kind != XSI_MSG_EVENT)
		return;
	c->events++;
	if (c->m) {
		/* the streams replay the same calls: a ms per event keeps each
		 * call's lingering end apart from the next replay's */
		xsi_model_apply(c->m, msg, c->now += 1);
		xsi_model_tick(c->m, c->now);
	}
}

/* The stream's event documents without their <Channel> (a channel has one). */
static char *events_only(const char *s, size_t len, size_t *out_len)
{
	const char *end = strstr(s, "</Channel>");
	size_t skip = end ? (size_t)(end - s) + strlen("</Channel>") : 0;
	*out_len = len - skip;
	char *d = xmalloc(*out_len + 1);
	memcpy(d, s + skip, *out_len);
	d[*out_len] = 0;
	return d;
}

static void in_memory(const char *fixtures, int repeat)
{
	static const char *files[] = {"queue-call.xml", "direct-call.xml"};
	pd_buf events = {0};
	const char *channel = NULL;
	size_t channel_len = 0;
	char *first = NULL;
	for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
		char path[1024];
		snprintf(path, sizeof path, "%s/broadworks/%s", fixtures, files[i]);
		size_t len;
		char *s = slurp(path, &len);
		if (!s) {
			printf("(a) in memory: cannot read %s; skipped\n", path);
			pd_buf_free(&events);
			return;
		}
		size_t n;
		char *ev = events_only(s, len, &n);
		pd_buf_addn(&events, ev, n);
		free(ev);
		if (!first) {
			first = s;
			const char *e = strstr(s, "</Channel>");
			channel = s;
			channel_len = e ? (size_t)(e - s) + strlen("</Channel>") : 0;
		} else {
			free(s);
		}
	}
	pd_buf all = {0};
	pd_buf_addn(&all, channel, channel_len);
	for (int r = 0; r < repeat; r++)
		pd_buf_addn(&all, events.s, events.len);
	for (int with_model = 0; with_model < 2; with_model++) {
		mem_ctx c = {.m = with_model ? xsi_model_new() : NULL, .now = 1000};
		xsi_parser *p = xsi_parser_new(NULL, mem_on_msg, &c);
		double t0 = now_s(), c0 = thread_cpu_s();
		for (size_t off = 0; off < all.len; off += 65536) {
			size_t n = all.len - off < 65536 ? all.len - off : 65536;
			xsi_parser_feed(p, all.s + off, n);
		}
		double wall = now_s() - t0, cpu = thread_cpu_s() - c0;
		printf(
		    "(a) in memory, %s: %llu events (%.1f MB) in %.3f s: %.0f events/s, %.1f MB/s, "
		    "%.2f us CPU per event%s\n",
		    with_model ? "parser + model" : "parser alone", (unsigned long long)c.events,
		    all.len / 1e6, wall, c.events / wall, all.len / 1e6 / wall,
		    c.events ? cpu * 1e6 / (double)c.events : 0, c.errors ? " (PARSE ERRORS)" : "");
		xsi_parser_free(p);
		if (c.m)
			xsi_model_free(c.m);
	}
	free(first);
	pd_buf_free(&events);
	pd_buf_free(&all);
}

/* ---- (b) one driver against the lab XSP over loopback ---- */

static void on_link(void *ctx, int64_t id, pd_link_state st, const char *text)
{
	(void)id;
	(void)text;
	*(pd_link_state *)ctx = st;
}

static pd_labpbx *start_xsp(double call_rate, uint64_t seed, int users)
{
	pd_labpbx_opts o = {.platform = PD_LAB_BROADWORKS_XSI,
	                    .username = "admin",
	                    .secret = SECRET,
	                    .users = users,
	                    .queues = 2,
	                    .call_rate = call_rate,
	                    .seed = seed,
	                    .ring_ms = 200,
	                    .talk_ms = 1000};
	pd_labpbx *l;
	pd_err e = {0};
	if (labpbx_start(&o, &l, &e) != PD_OK) {
		fprintf(stderr, "bench_xsi_ingest: lab XSP: %s\n", e.message);
		return NULL;
	}
	return l;
}

static void through_libcurl(double seconds)
{
	/* 60,000 calls a minute to 1,000 agents, about 10 events a call over its halves */
	pd_labpbx *lab = start_xsp(60000, 1, 1000);
	if (!lab)
		return;
	pd_live *live = pd_live_new();
	pd_link_state st = PD_LINK_CONNECTING;
	pd_drv_conf c = {.customer_id = 1,
	                 .host = "127.0.0.1",
	                 .port = labpbx_port(lab),
	                 .username = "admin",
	                 .secret = SECRET,
	                 .params_json = "{\"enterprise_id\":\"lab-ent\"}",
	                 .monitor = true,
	                 .ping_interval_s = 15,
	                 .backoff_max_s = 5};
	pd_drv_host h = {.ctx = &st, .live = live, .link_changed = on_link};
	const pd_driver_ops *ops = pd_driver_find("broadworks-xsi");
	void *d = NULL;
	pd_err e = {0};
	if (!ops || ops->create(&c, &h, &d, &e) != PD_OK) {
		fprintf(stderr, "bench_xsi_ingest: driver: %s\n",
		        ops ? e.message : "not registered");
		labpbx_stop(lab);
		pd_live_free(live);
		return;
	}
	double give_up = now_s() + 30;
	while (st != PD_LINK_MONITORING && now_s() < give_up)
		pd_drv_step(ops, d, 50);
	if (st != PD_LINK_MONITORING) {
		printf("(b) through libcurl: the link did not reach monitoring; skipped\n");
	} else {
		pd_lab_xsi_counters k0, k1;
		labpbx_xsi_counters(lab, &k0);
		double t0 = now_s(), c0 = thread_cpu_s();
		while (now_s() - t0 < seconds)
			pd_drv_step(ops, d, 50);
		double wall = now_s() - t0, cpu = thread_cpu_s() - c0;
		labpbx_xsi_counters(lab, &k1);
		int64_t sent = k1.events_sent - k0.events_sent, acks = k1.acks - k0.acks;
		printf(
		    "(b) through libcurl from the lab XSP over loopback, %.0f s: %lld events sent, "
		    "%lld acknowledged: %.0f events/s; driver thread CPU %.2f s (%.0f%% of a "
		    "core), "
		    "%.1f us per event; channels opened %lld, ended by the XSP %lld\n",
		    wall, (long long)sent, (long long)acks, acks / wall, cpu, 100 * cpu / wall,
		    acks ? cpu * 1e6 / (double)acks : 0, (long long)k1.channels_opened,
		    (long long)k1.channels_ended);
	}
	ops->destroy(d);
	labpbx_stop(lab);
	pd_live_free(live);
}

/* ---- (c) the monitor with N BroadWorks and N Asterisk links ---- */

/* Child: nx XSP labs and na AMI labs (calls flowing); ports written to wfd;
 * runs until rfd reaches EOF. */
static void child(int nx, int na, int wfd, int rfd)
{
	int n = nx + na;
	pd_labpbx **labs = xcalloc((size_t)n, sizeof *labs);
	for (int i = 0; i < n; i++) {
		pd_labpbx_opts o = {.platform =
		                        i < nx ? PD_LAB_BROADWORKS_XSI : PD_LAB_ASTERISK_AMI,
		                    .username = "admin",
		                    .secret = SECRET,
		                    .users = 10,
		                    .queues = 2,
		                    .seed = (uint64_t)i + 1,
		                    .call_rate = 60,
		                    .ring_ms = 1000,
		                    .talk_ms = 8000};
		pd_err e;
		if (labpbx_start(&o, &labs[i], &e) != PD_OK)
			_exit(69);
		int port = labpbx_port(labs[i]);
		if (write(wfd, &port, sizeof port) != sizeof port)
			_exit(74);
	}
	close(wfd);
	char c;
	while (read(rfd, &c, 1) > 0)
		;
	for (int i = 0; i < n; i++)
		labpbx_stop(labs[i]);
	free(labs);
	_exit(0);
}

static int agent_state(pd_live *live, int64_t cid, const char *who)
{
	pd_live_view v;
	if (pd_live_snapshot(live, cid, &v) != PD_OK)
		return -1;
	int st = -1;
	for (size_t i = 0; i < v.n_agents; i++)
		if (strstr(v.agents[i].interface, who))
			st = (int)v.agents[i].state;
	pd_live_free_view(&v);
	return st;
}

static pd_status add_link(pd_store *s, const pd_catalogue *cat, int i, const char *platform,
                          int port, int64_t *cid, pd_err *e)
{
	pd_actor a = {"bench", ""};
	pd_new_customer nc = {0};
	nc.customer.name = xasprintf("Bench %05d", i);
	nc.customer.product_type = xstrdup(cat->types[0].key);
	memcpy(nc.customer.country, "FR", 3);
	nc.admin.display_name = xstrdup("Admin");
	nc.admin.email = xasprintf("admin%d@example.com", i);
	pd_customer c = {0};
	pd_status st = store_customer_create(s, &nc, &a, &c, e);
	pd_new_customer_free(&nc);
	if (st != PD_OK)
		return st;
	pd_pbx p = {0};
	p.platform = xstrdup(platform);
	p.host = xstrdup("127.0.0.1");
	p.port = port;
	p.username = xstrdup("admin");
	p.secret = xstrdup(SECRET);
	if (!strcmp(platform, "broadworks-xsi"))
		p.params_json = xstrdup("{\"enterprise_id\":\"lab-ent\"}");
	p.sync_users = p.monitor = p.enabled = true;
	st = store_pbx_add(s, c.id, &p, &a, e);
	*cid = c.id;
	pd_pbx_free(&p);
	pd_customer_free(&c);
	return st;
}

static int monitor_links(int n)
{
	int nlabs = (n + PER_LAB - 1) / PER_LAB;
	int up[2], down[2];
	if (pipe(up) || pipe(down))
		return 71;
	pid_t pid = fork();
	if (pid == 0) {
		close(up[0]);
		close(down[1]);
		child(nlabs, nlabs, up[1], down[0]);
	}
	close(up[1]);
	close(down[0]);
	int *ports = xcalloc((size_t)nlabs * 2, sizeof *ports);
	for (int i = 0; i < nlabs * 2; i++)
		if (read(up[0], &ports[i], sizeof ports[i]) != sizeof ports[i])
			return 69;
	pd_labpbx *probe = start_xsp(0, 99, 5);
	if (!probe)
		return 69;

	char dir[] = "/tmp/pd-bench-xsi-XXXXXX";
	if (!mkdtemp(dir))
		return 73;
	char db[256], cat_path[512];
	snprintf(db, sizeof db, "%s/bench.db", dir);
	const char *dd = getenv("PROVDESK_DATADIR");
	snprintf(cat_path, sizeof cat_path, "%s/catalogue.json", dd ? dd : PD_SOURCE_DATADIR);
	pd_catalogue cat;
	pd_err e = {0};
	if (pd_catalogue_load(cat_path, &cat, &e) != PD_OK)
		return 66;
	pd_drivers_mark_supported(&cat);
	pd_store_opts so = {
	    .catalogue = &cat, .internal_systems_limit = 1, .busy_timeout_ms = 5000};
	pd_store *s;
	if (store_open(db, &so, &s, &e) != PD_OK)
		return 73;
	int64_t cid, probe_cid = 0;
	int k = 0;
	for (int i = 0; i < n; i++)
		if (add_link(s, &cat, k++, "broadworks-xsi", ports[i / PER_LAB], &cid, &e) !=
		        PD_OK ||
		    add_link(s, &cat, k++, "asterisk-ami", ports[nlabs + i / PER_LAB], &cid, &e) !=
		        PD_OK) {
			fprintf(stderr, "bench_xsi_ingest: %s\n", e.message);
			return 65;
		}
	if (add_link(s, &cat, k++, "broadworks-xsi", labpbx_port(probe), &probe_cid, &e) != PD_OK) {
		fprintf(stderr, "bench_xsi_ingest: %s\n", e.message);
		return 65;
	}
	long rss0 = rss_kb();
	pd_live *live = pd_live_new();
	pd_monitor *m;
	pd_monitor_opts mo = {.ping_interval_s = 20};
	double t0 = now_s();
	if (pd_monitor_start_opts(db, &so, NULL, &mo, live, &m, &e) != PD_OK)
		return 69;
	size_t want = (size_t)k, mon = 0;
	while (mon < want && now_s() - t0 < 300) {
		pd_live_summary *sum;
		size_t ns = pd_live_summaries(live, &sum);
		mon = 0;
		for (size_t i = 0; i < ns; i++)
			mon += sum[i].link == PD_LINK_MONITORING;
		free(sum);
		if (mon < want)
			usleep(100000);
	}
	if (mon < want) {
		fprintf(stderr, "bench_xsi_ingest: only %zu of %zu links monitoring after 300 s\n",
		        mon, want);
		return 75;
	}
	long rss1 = rss_kb();
	printf("(c) monitor: %d BroadWorks + %d Asterisk links to %d + %d labs (60 calls/min "
	       "each) + 1 probe link: all monitoring after %.1f s; RSS %ld kB -> %ld kB: %.1f kB "
	       "per link\n",
	       n, n, nlabs, nlabs, now_s() - t0, rss0, rss1, (double)(rss1 - rss0) / (double)want);
	enum { SAMPLES = 100 };
	double lat[SAMPLES];
	int got = 0;
	for (int i = 0; i < SAMPLES; i++) {
		bool pause = i % 2 == 0;
		int want_st = pause ? PD_AGENT_NOT_READY : PD_AGENT_AVAILABLE;
		double s0 = now_s();
		labpbx_pause(probe, "1001", pause, "Bench");
		while (agent_state(live, probe_cid, "1001@") != want_st && now_s() - s0 < 5) {
			struct pollfd pf = {.fd = pd_live_wake_fd(live), .events = POLLIN};
			poll(&pf, 1, 50);
			pd_live_wake_drain(live);
		}
		if (agent_state(live, probe_cid, "1001@") == want_st)
			lat[got++] = (now_s() - s0) * 1000;
		usleep(20000);
	}
	qsort(lat, (size_t)got, sizeof lat[0], cmp_dbl);
	if (got)
		printf(
		    "(c) event -> live state through the monitor (agent Unavailable/Available on "
		    "the probe XSP): median %.2f ms, p99 %.2f ms (%d of %d samples)\n",
		    lat[got / 2], lat[got * 99 / 100], got, SAMPLES);
	else
		printf("(c) event -> live state: no sample reached the live state\n");
	pd_monitor_stop(m);
	pd_live_free(live);
	store_close(s);
	pd_catalogue_free(&cat);
	labpbx_stop(probe);
	close(down[1]);
	waitpid(pid, NULL, 0);
	free(ports);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	int repeat = 2000, links = 200;
	double seconds = 10;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--repeat"))
			repeat = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--seconds"))
			seconds = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--links"))
			links = atoi(argv[i + 1]);
		else {
			fprintf(stderr,
			        "usage: bench_xsi_ingest [--repeat N] [--seconds S] [--links N]\n");
			return 64;
		}
	}
	if (repeat < 1 || seconds <= 0 || links < 1) {
		fprintf(stderr,
		        "bench_xsi_ingest: --repeat, --seconds and --links must be positive\n");
		return 64;
	}
	signal(SIGPIPE, SIG_IGN);
	struct utsname u;
	uname(&u);
	printf("machine: %s %s, %ld cores\n", u.machine, u.release, sysconf(_SC_NPROCESSORS_ONLN));
	const char *fx = getenv("PROVDESK_FIXTURES");
	in_memory(fx ? fx : PD_SOURCE_ROOT "/tests/fixtures", repeat);
	through_libcurl(seconds);
	return monitor_links(links);
}

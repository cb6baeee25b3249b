/* N concurrent PBX links (default 1,000) in the real monitor thread, against
 * lab PBXs placing calls (run in a child process so their CPU is not counted):
 * CPU of the monitor process, RSS per link, and event -> live-state latency
 * (a QueuePause sent on a separate AMI connection to the probe PBX until the
 * agent's state changes in a snapshot taken after the wake fd fires; median
 * and p99 of 200 samples).
 *   bench_pbx_links [N=1000] [--idle]      (PROVDESK_DATADIR for the catalogue)
 * --idle: the labs place no calls (RSS per idle link; the latency is still
 * measured on the probe link). Prints the bytes the AMI parsers hold
 * (ami_parser_total_held) beside the RSS per link. */
#include <malloc.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

#include "pd_build_config.h"
#include "provdesk/ami.h"
#include "provdesk/catalogue.h"
#include "provdesk/labpbx.h"
#include "provdesk/live.h"
#include "provdesk/monitor.h"
#include "provdesk/store.h"
#include "provdesk/util.h"

#define PER_LAB 200

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* Child: nlabs traffic PBXs + 1 probe PBX; ports written to fd; runs until stdin EOF. */
static void child(int nlabs, int wfd, int rfd, bool idle)
{
	pd_labpbx **labs = xcalloc((size_t)nlabs + 1, sizeof *labs);
	for (int i = 0; i <= nlabs; i++) {
		pd_labpbx_opts o = {.users = 10,
		                    .queues = 2,
		                    .secret = "bench",
		                    .seed = (uint64_t)i + 1,
		                    .call_rate = i < nlabs && !idle ? 60 : 0,
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
	for (int i = 0; i <= nlabs; i++)
		labpbx_stop(labs[i]);
	free(labs);
	_exit(0);
}

static bool agent_paused(pd_live *live, int64_t cid)
{
	pd_live_view v;
	if (pd_live_snapshot(live, cid, &v) != PD_OK)
		return false;
	bool p = false;
	for (size_t i = 0; i < v.n_agents; i++)
		if (!strcmp(v.agents[i].interface, "PJSIP/1001"))
			p = v.agents[i].state == PD_AGENT_NOT_READY;
	pd_live_free_view(&v);
	return p;
}

int main(int argc, char **argv)
{
	int n = 1000;
	bool idle = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--idle"))
			idle = true;
		else
			n = atoi(argv[i]);
	}
	if (n < 1)
		n = 1;
	int nlabs = (n + PER_LAB - 1) / PER_LAB;
	int up[2], down[2];
	if (pipe(up) || pipe(down))
		return 71;
	pid_t pid = fork();
	if (pid == 0) {
		close(up[0]);
		close(down[1]);
		child(nlabs, up[1], down[0], idle);
	}
	close(up[1]);
	close(down[0]);
	int *ports = xcalloc((size_t)nlabs + 1, sizeof *ports);
	for (int i = 0; i <= nlabs; i++)
		if (read(up[0], &ports[i], sizeof ports[i]) != sizeof ports[i])
			return 69;
	printf("machine: %ld cores; %d links to %d lab PBXs (%s) + 1 probe link\n",
	       sysconf(_SC_NPROCESSORS_ONLN), n, nlabs,
	       idle ? "idle: no calls" : "60 calls/min each");

	char dir[] = "/tmp/pd-bench-links-XXXXXX";
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
	pd_store_opts so = {
	    .catalogue = &cat, .internal_systems_limit = 1, .busy_timeout_ms = 5000};
	pd_store *s;
	if (store_open(db, &so, &s, &e) != PD_OK)
		return 73;
	pd_actor a = {"bench", ""};
	int64_t probe_cid = 0;
	for (int i = 0; i <= n; i++) {
		pd_new_customer nc = {0};
		nc.customer.name = xasprintf("Bench %05d", i);
		nc.customer.product_type = xstrdup(cat.types[0].key);
		memcpy(nc.customer.country, "FR", 3);
		nc.admin.display_name = xstrdup("Admin");
		nc.admin.email = xasprintf("admin%d@example.com", i);
		pd_customer c = {0};
		if (store_customer_create(s, &nc, &a, &c, &e) != PD_OK) {
			fprintf(stderr, "%s\n", e.message);
			return 65;
		}
		pd_pbx p = {0};
		p.platform = xstrdup("asterisk-ami");
		p.host = xstrdup("127.0.0.1");
		p.port = i < n ? ports[i / PER_LAB] : ports[nlabs];
		p.username = xstrdup("admin");
		p.secret = xstrdup("bench");
		p.sync_users = p.monitor = p.enabled = true;
		if (store_pbx_add(s, c.id, &p, &a, &e) != PD_OK) {
			fprintf(stderr, "%s\n", e.message);
			return 65;
		}
		if (i == n)
			probe_cid = c.id;
		pd_pbx_free(&p);
		pd_customer_free(&c);
		pd_new_customer_free(&nc);
	}
	long rss0 = rss_kb();
	struct mallinfo2 mi0 = mallinfo2();
	pd_live *live = pd_live_new();
	pd_monitor *m;
	pd_monitor_opts mo = {.ping_interval_s = 20};
	double t0 = pd_live_now_ms() / 1000.0;
	if (pd_monitor_start_opts(db, &so, NULL, &mo, live, &m, &e) != PD_OK)
		return 69;
	/* wait until every link monitors */
	while (1) {
		pd_live_summary *sum;
		size_t k = pd_live_summaries(live, &sum), mon = 0;
		for (size_t i = 0; i < k; i++)
			mon += sum[i].link == PD_LINK_MONITORING;
		free(sum);
		if (mon == (size_t)n + 1)
			break;
		if (pd_live_now_ms() / 1000.0 - t0 > 300) {
			fprintf(stderr, "only %zu links monitoring after 300 s\n", mon);
			return 75;
		}
		usleep(100000);
	}
	double t_up = pd_live_now_ms() / 1000.0 - t0;
	long rss1 = rss_kb();
	printf("all %d links monitoring after %.1f s; RSS %ld kB -> %ld kB: %.1f kB per link\n",
	       n + 1, t_up, rss0, rss1, (double)(rss1 - rss0) / (n + 1));
	/* settled: a few seconds of the links' ordinary traffic (pings, calls) */
	usleep(3000000);
	long rss2 = rss_kb();
	size_t held = ami_parser_total_held();
	struct mallinfo2 mi = mallinfo2(); /* glibc: the main arena's heap */
	printf("heap: %.1f kB per link in use, %.1f kB per link free in the heap\n",
	       (double)(mi.uordblks - mi0.uordblks) / 1024.0 / (n + 1),
	       (double)((long long)mi.fordblks - (long long)mi0.fordblks) / 1024.0 / (n + 1));
	printf("after 3 s more: RSS %ld kB: %.1f kB per link, of which AMI parser buffers %.2f kB "
	       "per link (%zu bytes in all, %.1f %%)\n",
	       rss2, (double)(rss2 - rss0) / (n + 1), held / 1024.0 / (n + 1), held,
	       rss2 > rss0 ? 100.0 * (double)held / 1024.0 / (double)(rss2 - rss0) : 0.0);

	/* probe connection: QueuePause/unpause 1001 on the probe PBX */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET,
	                         .sin_port = htons((uint16_t)ports[nlabs]),
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
		return 69;
	const char *login =
	    "Action: Login\r\nUsername: admin\r\nSecret: bench\r\nEvents: off\r\n\r\n";
	if (send(fd, login, strlen(login), 0) < 0)
		return 74;
	double c0 = cpu_s(), w0 = pd_live_now_ms() / 1000.0;
	enum { SAMPLES = 200 };
	int64_t lat[SAMPLES];
	char sink[4096];
	for (int i = 0; i < SAMPLES; i++) {
		bool want = i % 2 == 0;
		char act[200];
		snprintf(act, sizeof act,
		         "Action: QueuePause\r\nInterface: PJSIP/1001\r\nPaused: %s\r\nReason: "
		         "Bench\r\n\r\n",
		         want ? "true" : "false");
		int64_t ts = pd_live_now_ms();
		struct timespec t1;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (send(fd, act, strlen(act), 0) < 0)
			return 74;
		while (agent_paused(live, probe_cid) != want) {
			struct pollfd pf = {.fd = pd_live_wake_fd(live), .events = POLLIN};
			poll(&pf, 1, 50);
			pd_live_wake_drain(live);
		}
		struct timespec t2;
		clock_gettime(CLOCK_MONOTONIC, &t2);
		lat[i] = (t2.tv_sec - t1.tv_sec) * 1000000 + (t2.tv_nsec - t1.tv_nsec) / 1000;
		(void)ts;
		while (recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0)
			;
		usleep(20000);
	}
	double cpu = cpu_s() - c0, wall = pd_live_now_ms() / 1000.0 - w0;
	qsort(lat, SAMPLES, sizeof lat[0], cmp_i64);
	pd_live_summary *sum;
	size_t k = pd_live_summaries(live, &sum);
	int64_t calls = 0;
	for (size_t i = 0; i < k; i++)
		calls += sum[i].calls;
	free(sum);
	printf("monitor process CPU while all links carry calls: %.1f%% of one core (%.1f s over "
	       "%.1f s); "
	       "%lld calls live now\n",
	       100.0 * cpu / wall, cpu, wall, (long long)calls);
	printf("event -> live state latency: median %.2f ms, p99 %.2f ms (%d samples)\n",
	       lat[SAMPLES / 2] / 1000.0, lat[SAMPLES * 99 / 100] / 1000.0, SAMPLES);
	close(fd);
	pd_monitor_stop(m);
	pd_live_free(live);
	store_close(s);
	pd_catalogue_free(&cat);
	close(down[1]);
	waitpid(pid, NULL, 0);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	free(ports);
	return 0;
}

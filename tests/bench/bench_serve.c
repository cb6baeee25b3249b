/* provdesk serve at scale (issue #17): N PBX links (default 1,000) held by
 * the daemon, C attached live clients (default 50).
 *   - attach-to-snapshot: connect, hello, until snapshot_end (every link's
 *     view), per client, while the links carry calls;
 *   - event -> every client's state: a QueuePause sent on a separate AMI
 *     connection to the probe PBX until *each* client has received the view
 *     with the agent's new state; median and p99 over clients x samples;
 *   - the daemon's RSS and CPU (it runs in its own process: /proc/PID).
 * The lab PBXs run in another child process so their CPU is not counted.
 *   bench_serve [N=1000 [CLIENTS=50 [CALLS_PER_MIN_PER_LAB=10]]]
 *   (PROVDESK_DATADIR for the catalogue) */
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

#include "pd_build_config.h"
#include "provdesk/catalogue.h"
#include "provdesk/labpbx.h"
#include "provdesk/live.h"
#include "provdesk/serve.h"
#include "provdesk/serve_server.h"
#include "provdesk/store.h"
#include "provdesk/util.h"

#define PER_LAB 200
#define SAMPLES 100

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* Child: nlabs traffic PBXs + 1 probe PBX; ports written to wfd; runs until rfd EOF. */
static void labs_child(int nlabs, double rate, int wfd, int rfd)
{
	pd_labpbx **labs = xcalloc((size_t)nlabs + 1, sizeof *labs);
	for (int i = 0; i <= nlabs; i++) {
		pd_labpbx_opts o = {.users = 10,
		                    .queues = 2,
		                    .secret = "bench",
		                    .seed = (uint64_t)i + 1,
		                    .call_rate = i < nlabs ? rate : 0,
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

/* Child: the daemon. */
static void daemon_child(const char *db, const char *conf)
{
	const char *lp = getenv("BENCH_SERVE_LOG"); /* the daemon's log lines, for a look */
	FILE *log = fopen(lp ? lp : "/dev/null", "w");
	pd_serve_opts o = {.db_path = db, .config_path = conf, .log = log};
	pd_serve *s;
	pd_err e = {0};
	if (pd_serve_open(&o, &s, &e) != PD_OK) {
		fprintf(stderr, "serve: %s\n", e.message);
		_exit(69);
	}
	pd_serve_handle_signals(s);
	pd_serve_run(s, &e);
	pd_serve_close(s);
	_exit(0);
}

/* /proc/PID: RSS in kB, CPU seconds (utime + stime). */
static long pid_rss_kb(pid_t pid)
{
	char p[64], line[256];
	snprintf(p, sizeof p, "/proc/%d/status", (int)pid);
	FILE *f = fopen(p, "r");
	long v = 0;
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "VmRSS:", 6))
			v = atol(line + 6);
	if (f)
		fclose(f);
	return v;
}

static double pid_cpu_s(pid_t pid)
{
	char p[64], buf[2048];
	snprintf(p, sizeof p, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(p, "r");
	size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = 0;
	char *q = strrchr(buf, ')');
	if (!q)
		return 0;
	unsigned long ut = 0, st = 0;
	/* after ")": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime
	 * stime */
	if (sscanf(q + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

typedef struct {
	int fd;
	pd_sp_reader r;
	bool snap_done;
	int64_t views;
	int want; /* -1: nothing awaited; else the pause state awaited */
	int64_t got_at_us;
} client_t;

static int64_t mono_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static int connect_unix(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Whether this probe view has PJSIP/1001 not ready. -1: not the probe. */
static int probe_paused(json_t *m, int64_t probe)
{
	if (json_integer_value(json_object_get(m, "customer")) != probe)
		return -1;
	json_t *ag = json_object_get(m, "agents");
	size_t i;
	json_t *a;
	json_array_foreach(ag, i, a)
	{
		const char *itf = json_string_value(json_array_get(a, 0));
		if (itf && !strcmp(itf, "PJSIP/1001"))
			return json_integer_value(json_array_get(a, 4)) == PD_AGENT_NOT_READY;
	}
	return 0;
}

/* Reads what is there; returns false when the client was closed. */
static bool client_pump(client_t *c, int64_t probe)
{
	char buf[65536];
	for (;;) {
		ssize_t n = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
		if (n == 0)
			return false;
		if (n < 0)
			break;
		pd_err e = {0};
		if (pd_sp_reader_feed(&c->r, buf, (size_t)n, &e) != PD_OK)
			return false;
		/* only whole lines of the probe customer are decoded */
		for (;;) {
			char *nl = c->r.len ? memchr(c->r.buf, '\n', c->r.len) : NULL;
			if (!nl)
				break;
			size_t len = (size_t)(nl - c->r.buf) + 1;
			char key[48];
			int kl = snprintf(key, sizeof key, "\"customer\":%lld,", (long long)probe);
			bool interesting = !c->snap_done || memmem(c->r.buf, len, key, (size_t)kl);
			if (interesting) {
				json_t *m = NULL;
				if (pd_sp_reader_next(&c->r, &m, &e) < 0)
					return false;
				const char *t = json_string_value(json_object_get(m, "t"));
				if (t && !strcmp(t, "snapshot_end"))
					c->snap_done = true;
				if (t && !strcmp(t, "view")) {
					c->views++;
					int p = probe_paused(m, probe);
					if (c->want >= 0 && p == c->want) {
						c->got_at_us = mono_us();
						c->want = -1;
					}
				}
				json_decref(m);
			} else {
				c->views++;
				memmove(c->r.buf, nl + 1, c->r.len - len);
				c->r.len -= len;
			}
		}
	}
	return true;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1000;
	int nclients = argc > 2 ? atoi(argv[2]) : 50;
	double rate = argc > 3 ? atof(argv[3]) : 10;
	if (n < 1)
		n = 1;
	if (nclients < 1)
		nclients = 1;
	int nlabs = (n + PER_LAB - 1) / PER_LAB;
	signal(SIGPIPE, SIG_IGN);
	int up[2], down[2];
	if (pipe(up) || pipe(down))
		return 71;
	pid_t lab_pid = fork();
	if (lab_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		close(up[0]);
		close(down[1]);
		labs_child(nlabs, rate, up[1], down[0]);
	}
	close(up[1]);
	close(down[0]);
	int *ports = xcalloc((size_t)nlabs + 1, sizeof *ports);
	for (int i = 0; i <= nlabs; i++)
		if (read(up[0], &ports[i], sizeof ports[i]) != sizeof ports[i])
			return 69;
	printf("machine: %ld cores; %d links to %d lab PBXs (%.0f calls/min each) + 1 probe "
	       "link; %d live clients\n",
	       sysconf(_SC_NPROCESSORS_ONLN), n, nlabs, rate, nclients);

	char dir[] = "/tmp/pd-bench-serve-XXXXXX";
	if (!mkdtemp(dir))
		return 73;
	char db[256], conf[256], cat_path[512];
	snprintf(db, sizeof db, "%s/bench.db", dir);
	snprintf(conf, sizeof conf, "%s/provdesk.conf", dir);
	FILE *cf = fopen(conf, "w");
	if (!cf)
		return 73;
	fputs("[serve]\nresync_interval = 0\n", cf);
	fclose(cf);
	const char *dd = getenv("PROVDESK_DATADIR");
	snprintf(cat_path, sizeof cat_path, "%s/catalogue.json", dd ? dd : PD_SOURCE_DATADIR);
	if (!dd)
		setenv("PROVDESK_DATADIR", PD_SOURCE_DATADIR, 1);
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
	int64_t probe = 0;
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
			probe = c.id;
		pd_pbx_free(&p);
		pd_customer_free(&c);
		pd_new_customer_free(&nc);
	}
	store_close(s);

	fflush(NULL);
	double t0 = now_s();
	pid_t dpid = fork();
	if (dpid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		close(down[1]); /* the labs end when the bench does */
		daemon_child(db, conf);
	}
	char *sp = pd_serve_socket_path(db, &e);
	if (!sp)
		return 70;
	/* one client watches until every link monitors */
	int wfd = -1;
	while ((wfd = connect_unix(sp)) < 0) {
		if (now_s() - t0 > 30)
			return 69;
		usleep(10000);
	}
	close(wfd);
	for (;;) {
		/* links up: the daemon's status counts links; monitoring: a live
		 * client's snapshot */
		client_t w = {.fd = connect_unix(sp), .want = -1};
		pd_sp_reader_init(&w.r, PD_SERVE_MAX_MSG);
		const char *h = "{\"t\":\"hello\",\"v\":1,\"client\":\"noc\",\"live\":true}\n";
		if (w.fd < 0 || send(w.fd, h, strlen(h), 0) < 0)
			return 69;
		int mon = 0;
		bool end = false;
		while (!end) {
			struct pollfd pf = {.fd = w.fd, .events = POLLIN};
			poll(&pf, 1, 1000);
			char buf[65536];
			ssize_t k = recv(w.fd, buf, sizeof buf, MSG_DONTWAIT);
			if (k == 0)
				return 69;
			if (k > 0)
				pd_sp_reader_feed(&w.r, buf, (size_t)k, &e);
			json_t *m;
			while (!end && pd_sp_reader_next(&w.r, &m, &e) > 0) {
				const char *t = json_string_value(json_object_get(m, "t"));
				end = !strcmp(t, "snapshot_end");
				mon += !strcmp(t, "view") &&
				       json_integer_value(json_object_get(m, "link")) ==
				           PD_LINK_MONITORING;
				json_decref(m);
			}
		}
		close(w.fd);
		pd_sp_reader_free(&w.r);
		if (mon == n + 1)
			break;
		if (now_s() - t0 > 300) {
			fprintf(stderr, "only %d links monitoring after 300 s\n", mon);
			return 75;
		}
		usleep(200000);
	}
	double t_up = now_s() - t0;
	long rss_links = pid_rss_kb(dpid);
	printf("daemon: all %d links monitoring %.1f s after start; RSS %ld kB (%.1f kB per "
	       "link)\n",
	       n + 1, t_up, rss_links, (double)rss_links / (n + 1));

	/* C clients attach; each one's time to its whole snapshot */
	client_t *cl = xcalloc((size_t)nclients, sizeof *cl);
	int64_t *attach = xcalloc((size_t)nclients, sizeof *attach);
	for (int i = 0; i < nclients; i++) {
		int64_t t1 = mono_us();
		cl[i].fd = connect_unix(sp);
		cl[i].want = -1;
		pd_sp_reader_init(&cl[i].r, PD_SERVE_MAX_MSG);
		const char *h = "{\"t\":\"hello\",\"v\":1,\"client\":\"console\",\"live\":true}\n";
		if (cl[i].fd < 0 || send(cl[i].fd, h, strlen(h), 0) < 0)
			return 69;
		while (!cl[i].snap_done) {
			struct pollfd pf = {.fd = cl[i].fd, .events = POLLIN};
			poll(&pf, 1, 1000);
			if (!client_pump(&cl[i], probe))
				return 69;
		}
		attach[i] = mono_us() - t1;
		/* the ones attached already keep reading meanwhile */
		for (int j = 0; j < i; j++)
			if (!client_pump(&cl[j], probe)) {
				fprintf(stderr, "client %d dropped while others attached\n", j);
				return 75;
			}
	}
	qsort(attach, (size_t)nclients, sizeof *attach, cmp_i64);
	printf("attach -> whole snapshot (%d views): median %.1f ms, max %.1f ms (%d clients one "
	       "after the other)\n",
	       n + 1, attach[nclients / 2] / 1000.0, attach[nclients - 1] / 1000.0, nclients);

	/* the probe */
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
	/* the login answered before the first action */
	char lbuf[4096];
	size_t lgot = 0;
	while (lgot < sizeof lbuf - 1) {
		ssize_t k = recv(fd, lbuf + lgot, sizeof lbuf - 1 - lgot, 0);
		if (k <= 0)
			return 69;
		lgot += (size_t)k;
		lbuf[lgot] = 0;
		if (strstr(lbuf, "Authentication accepted"))
			break;
	}
	double c0 = pid_cpu_s(dpid), w0 = now_s();
	int64_t *lat = xcalloc((size_t)SAMPLES * (size_t)nclients, sizeof *lat);
	size_t nl = 0;
	int64_t views0 = 0;
	for (int i = 0; i < nclients; i++)
		views0 += cl[i].views;
	struct pollfd *pf = xcalloc((size_t)nclients, sizeof *pf);
	char sink[4096];
	for (int k = 0; k < SAMPLES; k++) {
		int want = k % 2 == 0;
		for (int i = 0; i < nclients; i++)
			cl[i].want = want;
		char act[200];
		snprintf(act, sizeof act,
		         "Action: QueuePause\r\nInterface: PJSIP/1001\r\nPaused: %s\r\nReason: "
		         "Bench\r\n\r\n",
		         want ? "true" : "false");
		int64_t ts = mono_us();
		if (send(fd, act, strlen(act), 0) < 0)
			return 74;
		int waiting = nclients;
		while (waiting) {
			for (int i = 0; i < nclients; i++)
				pf[i] = (struct pollfd){.fd = cl[i].fd, .events = POLLIN};
			poll(pf, (nfds_t)nclients, 1000);
			waiting = 0;
			for (int i = 0; i < nclients; i++) {
				if ((pf[i].revents & (POLLIN | POLLHUP)) &&
				    !client_pump(&cl[i], probe)) {
					fprintf(stderr, "client %d dropped\n", i);
					return 75;
				}
				waiting += cl[i].want >= 0;
			}
			if (mono_us() - ts > 30000000) {
				ssize_t got = recv(fd, sink, sizeof sink - 1, MSG_DONTWAIT);
				sink[got > 0 ? got : 0] = 0;
				fprintf(
				    stderr,
				    "no news after 30 s (%d clients waiting, sample %d); the PBX "
				    "said: %s\n",
				    waiting, k, sink);
				return 75;
			}
		}
		for (int i = 0; i < nclients; i++)
			lat[nl++] = cl[i].got_at_us - ts;
		while (recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0)
			;
		/* 50 ms between samples, the clients reading meanwhile */
		int64_t until = mono_us() + 50000;
		while (mono_us() < until) {
			for (int i = 0; i < nclients; i++)
				pf[i] = (struct pollfd){.fd = cl[i].fd, .events = POLLIN};
			poll(pf, (nfds_t)nclients, 10);
			for (int i = 0; i < nclients; i++)
				if ((pf[i].revents & (POLLIN | POLLHUP)) &&
				    !client_pump(&cl[i], probe))
					return 75;
		}
	}
	double cpu = pid_cpu_s(dpid) - c0, wall = now_s() - w0;
	int64_t views1 = 0;
	for (int i = 0; i < nclients; i++)
		views1 += cl[i].views;
	qsort(lat, nl, sizeof *lat, cmp_i64);
	printf("daemon CPU with %d clients while the links carry calls: %.1f%% of one core (%.1f s "
	       "over %.1f s); %.0f view lines/s delivered in all (%.0f per client)\n",
	       nclients, 100.0 * cpu / wall, cpu, wall, (double)(views1 - views0) / wall,
	       (double)(views1 - views0) / wall / nclients);
	printf("daemon RSS with %d clients attached: %ld kB\n", nclients, pid_rss_kb(dpid));
	printf("event -> every client's state: median %.2f ms, p99 %.2f ms, max %.2f ms (%zu "
	       "samples: %d events x %d clients)\n",
	       lat[nl / 2] / 1000.0, lat[nl * 99 / 100] / 1000.0, lat[nl - 1] / 1000.0, nl, SAMPLES,
	       nclients);

	close(fd);
	for (int i = 0; i < nclients; i++) {
		close(cl[i].fd);
		pd_sp_reader_free(&cl[i].r);
	}
	kill(dpid, SIGTERM);
	waitpid(dpid, NULL, 0);
	close(down[1]);
	waitpid(lab_pid, NULL, 0);
	pd_catalogue_free(&cat);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	free(pf);
	free(lat);
	free(attach);
	free(cl);
	free(ports);
	free(sp);
	return 0;
}

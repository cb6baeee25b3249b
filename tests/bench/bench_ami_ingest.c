/* AMI ingest benchmark: the recorded Asterisk 22 session (3,199 events)
 * replayed REPEAT times over loopback into the AMI driver and the live state,
 * beside the floor (a C client that logs in and only recv()s into a 64 KiB
 * buffer, what `nc > /dev/null` does) and `nc` itself (netcat-openbsd, when
 * installed) on the same stream, then the same bytes through the npm package
 * asterisk-manager (Node.js) in the same run; prints events/s of each and the
 * ratios. nc, floor and driver alternate ROUNDS times (default 3); the
 * medians are compared.
 *
 *   bench_ami_ingest [REPEAT=50] [--rounds R] [--no-node] [--split] [--base-scan]
 *                    [--direct-reads] [--as-asterisk]
 *   bench_ami_ingest --host H --port P [--expect N] [--user U] [--secret S]
 *
 * With --host: any AMI server (for instance a replay of the recorded session
 * that serves each connection the same stream). The floor connects, logs in
 * and recv()s until N messages (counted by their blank line) or EOF; then the
 * AMI driver (the one the monitor runs) connects, logs in and ingests into a
 * pd_live until the parser has delivered N messages or the server closes.
 * Both timed from the connect; messages include responses.
 * --split: then the same comparison on the two halves of the stream, the
 * events the driver passes over (AMI_UNREAD_EVENTS) and the messages it
 * reads, each alone: where the driver's time goes against the floor's; and
 * each half in memory (parser, parser + model; with --memory-only, only
 * that).
 * --base-scan: the parser's baseline (SSE2) block scans even where the CPU
 * has the wide ones (ami_parser_wide_scan), to time one against the other.
 * The replay ignores the classes the driver logs in for (AMI_LOGIN_EVENTS):
 * the recording was made with Events: on, and the floor and the driver get
 * the same bytes. --as-asterisk: then the same comparison on what a real
 * Asterisk sends the driver's login (the answers, and the events of those
 * classes by their Privilege line), and the driver's time on it beside its
 * time on everything: the same PBX activity with and without the mask.
 * --direct-reads: each round also runs the driver with its link's reads in
 * the driver's turn (pd_tport_set_reader(-1, 0)) instead of on the reader
 * thread a busy link gets, to time one against the other.
 * --pin: the replay's sender and the driver's link reader on CPU 0, the
 * client (the driver's thread, the floor's, nc) on CPU 1: with three busy
 * threads on two cores the scheduler otherwise sometimes puts the reader
 * beside the driver, and the driver's time is then its placement's, not
 * its own work's. Each round prints the sender's and the link reader's CPU
 * beside the driver's; pinned, the driver's time cannot go below the
 * busier CPU's share (CPU 0: the sender and the reader, which on loopback
 * also does the receiving half of TCP), and the ratio to nc that bound
 * allows is printed beside the one measured.
 * Needs PROVDESK_FIXTURES (or runs from the source tree). The npm package is
 * installed with npm into $PROVDESK_BENCH_NPM_DIR (default /tmp/provdesk-bench-npm)
 * when missing; the Node part is skipped (and said so) if node/npm are absent.
 * Timing: from the first byte of the stream the server writes to the moment
 * the client closes its end after reading everything (EOF), measured by the
 * server the same way for both clients. */
#include <dirent.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

#include "provdesk/ami.h"
#include "provdesk/live.h"
#include "provdesk/pbx_driver.h"
#include "provdesk/pbx_transport.h"
#include "provdesk/util.h"

#include "pd_build_config.h"

#include "../../src/pbx/ami/ami_model.h"

typedef struct {
	int lfd, port;
	const char *body;
	size_t body_len;
	int repeat;
	bool answer_discovery; /* the C driver runs discovery first; node does not */
	double elapsed;
	uint64_t messages; /* the driver's parser delivered (sanity) */
	long rss_kb;       /* after the driver's run */
	double cpu;        /* the driver thread's CPU seconds */
	double floor_cpu;  /* the floor client's */
	double send_cpu;   /* the sender thread's, from the stream's first byte to EOF */
	double reader_cpu; /* the driver's link reader thread's (pd_tport_readers_cpu_ns) */
	bool reader;       /* the driver's link read on a thread of its own */
} server;

static bool pin; /* --pin */

/* Thread TID (0: the caller) on CPU cpu alone; cpu < 0: on every CPU. */
static void pin_tid(pid_t tid, int cpu)
{
	if (!pin)
		return;
	cpu_set_t cs;
	CPU_ZERO(&cs);
	for (int i = 0; i < CPU_SETSIZE; i++)
		if (cpu < 0 ? i < sysconf(_SC_NPROCESSORS_ONLN) : i == cpu)
			CPU_SET(i, &cs);
	sched_setaffinity(tid, sizeof cs, &cs);
}

/* The threads of this process named NAME (pd_thread_name) on CPU cpu;
 * whether one was found. */
static bool pin_named(const char *name, int cpu)
{
	bool found = false;
	DIR *dir = opendir("/proc/self/task");
	struct dirent *de;
	while (dir && (de = readdir(dir))) {
		char path[300], comm[32] = "";
		snprintf(path, sizeof path, "/proc/self/task/%s/comm", de->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof comm, f) && !strncmp(comm, name, strlen(name))) {
			pin_tid((pid_t)atoi(de->d_name), cpu);
			found = true;
		}
		fclose(f);
	}
	if (dir)
		closedir(dir);
	return found;
}

static void send_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

typedef struct {
	int fd;
	bool login, done_discovery;
	bool answer;
} client;

static void on_action(const ami_msg *m, void *ctx)
{
	client *c = ctx;
	if (m->kind != AMI_MSG_ACTION)
		return;
	const char *a = ami_type(m), *id = ami_get0(m, "ActionID");
	pd_buf b = {0};
	if (!strcasecmp(a, "Login")) {
		pd_buf_printf(
		    &b,
		    "Response: Success\r\nActionID: %s\r\nMessage: Authentication accepted\r\n\r\n",
		    id);
		c->login = true;
		if (!c->answer)
			c->done_discovery = true;
	} else if (c->answer) {
		const char *ev = !strcmp(a, "PJSIPShowEndpoints") ? "EndpointListComplete"
		                 : !strcmp(a, "QueueStatus")      ? "QueueStatusComplete"
		                                                  : "CoreShowChannelsComplete";
		pd_buf_printf(
		    &b,
		    "Response: Success\r\nActionID: %s\r\nEventList: start\r\nMessage: x\r\n\r\n"
		    "Event: %s\r\nActionID: %s\r\nEventList: Complete\r\nListItems: 0\r\n\r\n",
		    id, ev, id);
		if (!strcmp(a, "CoreShowChannels"))
			c->done_discovery = true;
	}
	if (b.len)
		send_all(c->fd, b.s, b.len);
	pd_buf_free(&b);
}

static void *serve(void *arg)
{
	server *s = arg;
	pd_thread_name("bench-sender");
	pin_tid(0, 0);
	int fd = accept(s->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	send_all(fd, "Asterisk Call Manager/11.0.0\r\n", 30);
	client c = {.fd = fd, .answer = s->answer_discovery};
	ami_parser *p = ami_parser_new(NULL, on_action, &c);
	char buf[4096];
	while (!c.done_discovery) {
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		if (n <= 0)
			break;
		ami_parser_feed(p, buf, (size_t)n);
	}
	ami_parser_free(p);
	double t0 = now_s(), c0 = thread_cpu_s();
	for (int i = 0; i < s->repeat; i++)
		send_all(fd, s->body, s->body_len);
	shutdown(fd, SHUT_WR); /* EOF: the client closes once it has read everything */
	while (recv(fd, buf, sizeof buf, 0) > 0)
		;
	s->elapsed = now_s() - t0;
	s->send_cpu = thread_cpu_s() - c0;
	close(fd);
	return NULL;
}

static int listen_any(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	bind(fd, (struct sockaddr *)&a, sizeof a);
	listen(fd, 4);
	socklen_t len = sizeof a;
	getsockname(fd, (struct sockaddr *)&a, &len);
	*port = ntohs(a.sin_port);
	return fd;
}

static void machine(void)
{
	struct utsname u;
	uname(&u);
	char model[256] = "?";
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "model name", 10)) {
			char *c = strchr(line, ':');
			snprintf(model, sizeof model, "%.200s", c ? c + 2 : line);
			model[strcspn(model, "\n")] = 0;
			break;
		}
	if (f)
		fclose(f);
	printf("machine: %s, %s, %ld cores\n", u.machine, model, sysconf(_SC_NPROCESSORS_ONLN));
}

static double run_driver(server *s, size_t *events_seen)
{
	s->lfd = listen_any(&s->port);
	s->answer_discovery = true;
	pthread_t t;
	pthread_create(&t, NULL, serve, s);
	pd_live *live = pd_live_new();
	const pd_driver_ops *ops = pd_driver_find("asterisk-ami");
	pd_drv_conf c = {.customer_id = 1,
	                 .host = "127.0.0.1",
	                 .port = s->port,
	                 .username = "b",
	                 .secret = "b",
	                 .sync_users = false,
	                 .monitor = true,
	                 .ping_interval_s = 60,
	                 .backoff_max_s = 60,
	                 .backoff_min_ms = 60000};
	pd_drv_host h = {.live = live};
	void *d;
	pd_err e;
	ops->create(&c, &h, &d, &e);
	size_t wakes = 0;
	uint64_t m0 = ami_parser_total_messages(), rc0 = pd_tport_readers_cpu_ns();
	double c0 = thread_cpu_s();
	s->reader = false;
	bool reader_pinned = false;
	pin_tid(0, 1);
	while (ops->state(d) != PD_LINK_RETRYING) {
		pd_drv_step(ops, d, 100);
		s->reader |= pd_tport_readers() > 0;
		if (pin && s->reader && !reader_pinned)
			reader_pinned = pin_named("pd-link-read", 0);
		wakes++;
	}
	s->cpu = thread_cpu_s() - c0;
	pin_tid(0, -1);
	pthread_join(t, NULL);
	s->messages = ami_parser_total_messages() - m0;
	s->rss_kb = rss_kb();
	pd_live_view v;
	pd_live_snapshot(live, 1, &v);
	*events_seen = v.n_users; /* sanity: users from the recording's EndpointList */
	pd_live_free_view(&v);
	ops->destroy(d);
	s->reader_cpu = (double)(pd_tport_readers_cpu_ns() - rc0) / 1e9; /* joined by now */
	pd_live_free(live);
	close(s->lfd);
	(void)wakes;
	return s->elapsed;
}

static double run_node(server *s, const char *npm_dir, const char *script, long *node_events)
{
	char cmd[2048];
	snprintf(cmd, sizeof cmd,
	         "test -d '%s/node_modules/asterisk-manager' || "
	         "(mkdir -p '%s' && cd '%s' && npm install --no-audit --no-fund "
	         "asterisk-manager >/dev/null 2>&1)",
	         npm_dir, npm_dir, npm_dir);
	if (system(cmd) != 0)
		return -1;
	s->lfd = listen_any(&s->port);
	s->answer_discovery = false;
	pthread_t t;
	pthread_create(&t, NULL, serve, s);
	snprintf(cmd, sizeof cmd, "node '%s' '%s/node_modules' %d b b", script, npm_dir, s->port);
	FILE *p = popen(cmd, "r");
	char line[256] = "";
	*node_events = -1;
	while (p && fgets(line, sizeof line, p))
		if (!strncmp(line, "node events ", 12))
			*node_events = atol(line + 12);
	if (p)
		pclose(p);
	pthread_join(t, NULL);
	close(s->lfd);
	return *node_events >= 0 ? s->elapsed : -1;
}

/* The first anchor itself: `nc` (netcat-openbsd) to /dev/null on
 * the same server, the login on its stdin. -1 when nc is not installed. */
static double run_nc(server *s)
{
	if (system("command -v nc >/dev/null 2>&1") != 0)
		return -1;
	s->lfd = listen_any(&s->port);
	s->answer_discovery = false;
	pthread_t t;
	pthread_create(&t, NULL, serve, s);
	char cmd[256];
	snprintf(cmd, sizeof cmd,
	         "printf 'Action: Login\\r\\nActionID: n1\\r\\nUsername: b\\r\\nSecret: "
	         "b\\r\\n\\r\\n' | %snc 127.0.0.1 %d >/dev/null",
	         pin ? "taskset -c 1 " : "", s->port);
	int rc = system(cmd);
	pthread_join(t, NULL);
	close(s->lfd);
	return rc == 0 ? s->elapsed : -1;
}

/* ---- in memory: the same bytes, no socket ---- */

typedef struct {
	ami_model *m;
	uint64_t n;
} mem_sink;

static void mem_msg(const ami_msg *m, void *ctx)
{
	mem_sink *k = ctx;
	k->n++;
	if (k->m)
		ami_model_apply(k->m, m, 1000);
}

/* CPU seconds to parse (and apply to a model when with_model) REPEAT
 * passes of the stream, in 64 KiB reads like the transport's; skip: the
 * events nothing reads are passed over, as the driver's parser does. *n:
 * the messages read (delivered or passed over). */
static double in_memory(const char *body, size_t len, int repeat, bool with_model, bool skip,
                        uint64_t *n)
{
	mem_sink k = {.m = with_model ? ami_model_new() : NULL};
	ami_parser_opts o = {0};
	if (skip)
		ami_skip_unread(&o);
	ami_parser *p = ami_parser_new(&o, mem_msg, &k);
	uint64_t n0 = ami_parser_total_messages();
	char *buf = xmalloc(65536);
	double c0 = thread_cpu_s();
	for (int r = 0; r < repeat; r++)
		for (size_t off = 0; off < len; off += 65536) {
			size_t c = len - off < 65536 ? len - off : 65536;
			memcpy(buf, body + off, c); /* the transport's read buffer */
			ami_parser_feed_rw(p, buf, c);
		}
	double dt = thread_cpu_s() - c0;
	*n = ami_parser_total_messages() - n0;
	free(buf);
	ami_parser_free(p);
	ami_model_free(k.m);
	return dt;
}

/* The floor client: log in, then recv() 64 KiB at a time and discard until
 * EOF (the server times it, like the others). */
static void *floor_client(void *arg)
{
	server *s = arg;
	pd_thread_name("bench-floor");
	pin_tid(0, 1);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_port = htons((uint16_t)s->port),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		close(fd);
		return NULL;
	}
	const char *login = "Action: Login\r\nActionID: f1\r\nUsername: b\r\nSecret: b\r\n\r\n";
	send_all(fd, login, strlen(login));
	static char buf[65536];
	double c0 = thread_cpu_s();
	while (recv(fd, buf, sizeof buf, 0) > 0)
		;
	s->floor_cpu = thread_cpu_s() - c0;
	close(fd);
	return NULL;
}

static double run_floor(server *s)
{
	s->lfd = listen_any(&s->port);
	s->answer_discovery = false;
	pthread_t t, c;
	pthread_create(&t, NULL, serve, s);
	pthread_create(&c, NULL, floor_client, s);
	pthread_join(c, NULL);
	pthread_join(t, NULL);
	close(s->lfd);
	return s->elapsed;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- --host mode: any AMI server ---- */

static int dial(const char *host, int port)
{
	char ps[16];
	snprintf(ps, sizeof ps, "%d", port);
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
	if (getaddrinfo(host, ps, &hints, &ai) != 0)
		return -1;
	int fd = -1;
	for (struct addrinfo *r = ai; r && fd < 0; r = r->ai_next) {
		fd = socket(r->ai_family, r->ai_socktype, r->ai_protocol);
		if (fd >= 0 && connect(fd, r->ai_addr, r->ai_addrlen) != 0) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(ai);
	return fd;
}

/* Messages end with a blank line; "\r\n\r\n" counted across reads. */
static double remote_floor(const char *host, int port, const char *user, const char *secret,
                           uint64_t expect, uint64_t *msgs, uint64_t *bytes)
{
	double t0 = now_s();
	int fd = dial(host, port);
	if (fd < 0)
		return -1;
	char login[512];
	int n = snprintf(login, sizeof login,
	                 "Action: Login\r\nActionID: f1\r\nUsername: %s\r\nSecret: %s\r\n"
	                 "Events: on\r\n\r\n",
	                 user, secret);
	send_all(fd, login, (size_t)n);
	static char buf[65536 + 3];
	size_t carry = 0;
	*msgs = *bytes = 0;
	for (;;) {
		ssize_t r = recv(fd, buf + carry, sizeof buf - 3, 0);
		if (r <= 0)
			break;
		*bytes += (uint64_t)r;
		size_t len = carry + (size_t)r;
		for (const char *q = buf; (q = memmem(q, len - (size_t)(q - buf), "\r\n\r\n", 4));
		     q += 4)
			++*msgs;
		if (expect && *msgs >= expect)
			break;
		carry = len < 3 ? len : 3;
		memmove(buf, buf + len - carry, carry);
	}
	double dt = now_s() - t0;
	close(fd);
	return dt;
}

static double remote_driver(const char *host, int port, const char *user, const char *secret,
                            uint64_t expect, uint64_t *msgs, long *rss)
{
	pd_live *live = pd_live_new();
	const pd_driver_ops *ops = pd_driver_find("asterisk-ami");
	pd_drv_conf c = {.customer_id = 1,
	                 .host = host,
	                 .port = port,
	                 .username = user,
	                 .secret = secret,
	                 .sync_users = false,
	                 .monitor = true,
	                 .ping_interval_s = 60,
	                 .backoff_max_s = 60,
	                 .backoff_min_ms = 60000};
	pd_drv_host h = {.live = live};
	void *d;
	pd_err e;
	uint64_t m0 = ami_parser_total_messages();
	double t0 = now_s();
	if (ops->create(&c, &h, &d, &e) != PD_OK) {
		fprintf(stderr, "bench_ami_ingest: %s\n", e.message);
		pd_live_free(live);
		return -1;
	}
	for (;;) {
		pd_drv_step(ops, d, 100);
		pd_link_state st = ops->state(d);
		*msgs = ami_parser_total_messages() - m0;
		if ((expect && *msgs >= expect) || st == PD_LINK_RETRYING ||
		    st == PD_LINK_AUTH_FAILED || st == PD_LINK_PROTOCOL_ERROR)
			break;
		if (now_s() - t0 > 600)
			break;
	}
	double dt = now_s() - t0;
	*rss = rss_kb();
	ops->destroy(d);
	pd_live_free(live);
	return dt;
}

static int run_remote(const char *host, int port, const char *user, const char *secret,
                      uint64_t expect)
{
	machine();
	printf("server: %s:%d, until %llu messages or EOF\n", host, port,
	       (unsigned long long)expect);
	long rss0 = rss_kb();
	uint64_t fm = 0, fb = 0, dm = 0;
	double tf = remote_floor(host, port, user, secret, expect, &fm, &fb);
	if (tf < 0) {
		fprintf(stderr, "bench_ami_ingest: cannot connect to %s:%d\n", host, port);
		return 69;
	}
	printf("floor (C recv-only loop): %.3f s, %llu messages, %.1f MB, %.0f messages/s\n", tf,
	       (unsigned long long)fm, fb / 1e6, fm / tf);
	long rss = 0;
	double td = remote_driver(host, port, user, secret, expect, &dm, &rss);
	if (td < 0)
		return 69;
	printf("provdesk AMI driver -> live state: %.3f s, %llu messages, %.0f messages/s; RSS "
	       "%ld kB -> %ld kB\n",
	       td, (unsigned long long)dm, dm / td, rss0, rss);
	printf("ratio provdesk/floor: %.2fx\n", (dm / td) / (fm / tf));
	return 0;
}

/* The messages of the stream keep() keeps, in order; *events counts their
 * events. */
typedef bool (*keep_fn)(const char *msg, size_t n, const void *ctx);

static char *filter_stream(const char *body, size_t len, keep_fn keep, const void *ctx,
                           size_t *out_len, size_t *events)
{
	char *out = xmalloc(len + 1);
	size_t n = 0;
	*events = 0;
	for (const char *q = body, *end = body + len; q < end;) {
		const char *e = strstr(q, "\r\n\r\n");
		e = e ? e + 4 : end;
		if (keep(q, (size_t)(e - q), ctx)) {
			memcpy(out + n, q, (size_t)(e - q));
			n += (size_t)(e - q);
			*events += !strncmp(q, "Event: ", 7);
		}
		q = e;
	}
	*out_len = n;
	return out;
}

/* One half of the stream: the events the driver passes over
 * (AMI_UNREAD_EVENTS), or everything else. */
typedef struct {
	bool unread;
	ami_parser_opts o; /* ami_skip_unread */
} half_of;

static bool keep_half(const char *msg, size_t n, const void *ctx)
{
	(void)n;
	const half_of *h = ctx;
	bool passed = false;
	if (!strncmp(msg, "Event: ", 7)) {
		ami_event ev = ami_event_of(msg + 7, strcspn(msg + 7, "\r\n"));
		passed = h->o.skip[ev / 64] >> (ev % 64) & 1;
	}
	return passed == h->unread;
}

/* ctx: the classes a session logged in for: what a real Asterisk sends it
 * (the answers, and the events of those classes by their Privilege line). */
static bool keep_classes(const char *msg, size_t n, const void *ctx)
{
	const char *pv = memmem(msg, n, "\r\nPrivilege: ", 13);
	return ami_class_in(pv ? pv + 13 : NULL, ctx);
}

/* Floor and driver alternated ROUNDS times on s's stream; prints the
 * medians and their ratio under the label; returns the driver's median. */
static double compare(server *s, int rounds, size_t events, const char *label)
{
	double *tf = xcalloc((size_t)rounds, sizeof *tf), *td = xcalloc((size_t)rounds, sizeof *td);
	size_t users = 0;
	for (int r = 0; r < rounds; r++) {
		tf[r] = run_floor(s);
		td[r] = run_driver(s, &users);
	}
	double mf = median(tf, rounds), md = median(td, rounds);
	double total = (double)(events * (size_t)s->repeat);
	printf("%s (%zu events, %.1f MB, median of %d): floor %.3f s, %.0f events/s; driver "
	       "%.3f s, %.0f events/s; ratio %.2fx\n",
	       label, events * (size_t)s->repeat, (double)s->body_len * s->repeat / 1e6, rounds, mf,
	       total / mf, md, total / md, mf / md);
	free(tf);
	free(td);
	return md;
}

int main(int argc, char **argv)
{
	int repeat = 50, rounds = 3;
	bool no_node = false, memory_only = false, no_memory = false, split = false,
	     base_scan = false, direct = false, as_asterisk = false;
	const char *host = NULL, *user = "b", *secret = "b";
	int port = 0;
	unsigned long long expect = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool more = i + 1 < argc;
		if (!strcmp(a, "--host") && more)
			host = argv[++i];
		else if (!strcmp(a, "--port") && more)
			port = atoi(argv[++i]);
		else if (!strcmp(a, "--expect") && more)
			expect = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(a, "--user") && more)
			user = argv[++i];
		else if (!strcmp(a, "--secret") && more)
			secret = argv[++i];
		else if (!strcmp(a, "--rounds") && more)
			rounds = atoi(argv[++i]);
		else if (!strcmp(a, "--no-node"))
			no_node = true;
		else if (!strcmp(a, "--no-memory"))
			no_memory = true;
		else if (!strcmp(a, "--split"))
			split = true;
		else if (!strcmp(a, "--base-scan"))
			base_scan = true;
		else if (!strcmp(a, "--direct-reads"))
			direct = true;
		else if (!strcmp(a, "--as-asterisk"))
			as_asterisk = true;
		else if (!strcmp(a, "--pin"))
			pin = true;
		else if (!strcmp(a, "--memory-only"))
			memory_only = no_node = true;
		else if (a[0] != '-')
			repeat = atoi(a);
		else {
			fprintf(stderr,
			        "usage: bench_ami_ingest [REPEAT] [--rounds R] [--no-node] "
			        "[--memory-only] [--no-memory] [--split] [--base-scan] "
			        "[--direct-reads] [--as-asterisk] [--pin]\n"
			        "       bench_ami_ingest --host H --port P [--expect N] [--user U] "
			        "[--secret S]\n");
			return 64;
		}
	}
	if (pin && sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		fprintf(stderr, "bench_ami_ingest: --pin needs two CPUs; not pinned\n");
		pin = false;
	}
	if (pin)
		printf("pinned: the sender and the link's reader on CPU 0, each client on CPU 1\n");
	bool wide = ami_parser_wide_scan(!base_scan);
	printf("parser's block scans: %s\n", wide ? "wide (AVX2, BMI, POPCNT)" : "baseline (SSE2)");
	if (host)
		return run_remote(host, port, user, secret, expect);
	if (repeat < 1)
		repeat = 1;
	if (rounds < 1)
		rounds = 1;
	const char *fx = getenv("PROVDESK_FIXTURES");
	char path[1024];
	snprintf(path, sizeof path, "%s/asterisk/ami-session-1.txt",
	         fx ? fx : PD_SOURCE_ROOT "/tests/fixtures");
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "bench_ami_ingest: cannot read %s\n", path);
		return 66;
	}
	fseek(f, 0, SEEK_END);
	size_t len = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	char *data = xmalloc(len + 1);
	if (fread(data, 1, len, f) != len)
		return 74;
	data[len] = 0;
	fclose(f);
	const char *mark = "Message: Authentication accepted\r\n\r\n";
	const char *body = strstr(data, mark) + strlen(mark);
	size_t body_len = len - (size_t)(body - data);
	size_t events = !strncmp(body, "Event: ", 7);
	for (const char *q = body; (q = strstr(q, "\nEvent: ")); q++)
		events++;
	machine();
	printf("stream: %s, %zu bytes, %zu events per pass, %d passes (%zu events, %.1f MB)\n",
	       path, body_len, events, repeat, events * (size_t)repeat,
	       (double)body_len * repeat / 1e6);

	server s = {.body = body, .body_len = body_len, .repeat = repeat};
	size_t users = 0;
	double total = (double)(events * (size_t)repeat);
	double *tf = xcalloc((size_t)rounds, sizeof *tf), *td = xcalloc((size_t)rounds, sizeof *td);
	double *tnc = xcalloc((size_t)rounds, sizeof *tnc);
	double *tdd = xcalloc((size_t)rounds, sizeof *tdd);
	/* pinned: the busier CPU's share of the driver's run (the sender and the
	 * link's reader on CPU 0, the driver on CPU 1), a floor under its time */
	double *busy = xcalloc((size_t)rounds, sizeof *busy);
	double *cpu0 = xcalloc((size_t)rounds, sizeof *cpu0);
	double *cpu1 = xcalloc((size_t)rounds, sizeof *cpu1);
	long rss0 = rss_kb();
	for (int r = 0; r < rounds && !memory_only; r++) {
		tnc[r] = run_nc(&s);
		if (tnc[r] > 0)
			printf(
			    "round %d: nc to /dev/null %.3f s, %.0f events/s, sender CPU %.3f s; ",
			    r + 1, tnc[r], total / tnc[r], s.send_cpu);
		tf[r] = run_floor(&s);
		printf("round %d: floor (C recv-only loop) %.3f s, %.0f events/s, CPU %.3f s",
		       r + 1, tf[r], total / tf[r], s.floor_cpu);
		td[r] = run_driver(&s, &users);
		printf("; provdesk driver %.3f s, %.0f events/s, CPU %.3f s (%llu messages parsed, "
		       "%zu users seen, RSS %ld kB, %s; sender CPU %.3f s, link reader CPU %.3f s)",
		       td[r], total / td[r], s.cpu, (unsigned long long)s.messages, users, s.rss_kb,
		       s.reader ? "reader thread" : "reads in the driver's turn", s.send_cpu,
		       s.reader_cpu);
		cpu0[r] = s.send_cpu + s.reader_cpu;
		cpu1[r] = s.cpu;
		busy[r] = cpu0[r] > cpu1[r] ? cpu0[r] : cpu1[r];
		if (direct) {
			pd_tport_set_reader(-1, 0);
			tdd[r] = run_driver(&s, &users);
			pd_tport_set_reader(1024 * 1024, -1);
			printf("; reads in the driver's turn %.3f s, CPU %.3f s", tdd[r], s.cpu);
		}
		printf("\n");
		fflush(stdout);
	}
	double mf = median(tf, rounds), tc = median(td, rounds);
	double rate_c = total / tc;
	if (!memory_only)
		printf("floor (C recv-only loop, median of %d): %.3f s, %.0f events/s\n", rounds,
		       mf, total / mf);
	if (!memory_only)
		printf("provdesk AMI driver -> live state (median of %d): %.3f s, %.0f events/s; "
		       "RSS %ld kB "
		       "before the runs\n",
		       rounds, tc, rate_c, rss0);
	if (!memory_only)
		printf("ratio provdesk/floor: %.2fx\n", mf / tc);
	if (!memory_only && direct)
		printf(
		    "driver with reads in the driver's turn (median of %d): %.3f s, ratio to the "
		    "floor %.2fx\n",
		    rounds, median(tdd, rounds), mf / median(tdd, rounds));
	double mn = median(tnc, rounds);
	if (!memory_only && mn > 0)
		printf(
		    "nc (netcat-openbsd) to /dev/null (median of %d): %.3f s, %.0f events/s; ratio "
		    "provdesk/nc: %.2fx\n",
		    rounds, mn, total / mn, mn / tc);
	else if (!memory_only)
		printf("nc to /dev/null: skipped (apt-get install netcat-openbsd)\n");
	if (!memory_only && pin && mn > 0)
		printf(
		    "pinned, CPU 0 (the sender + the link's reader) %.3f s, CPU 1 (the driver) "
		    "%.3f s (medians of %d): the driver's time cannot go below the busier one's, "
		    "%.3f s, so this placement allows at most %.2fx nc\n",
		    median(cpu0, rounds), median(cpu1, rounds), rounds, median(busy, rounds),
		    mn / median(busy, rounds));
	if (as_asterisk && !memory_only) {
		size_t sub_len, sub_events;
		char *sub = filter_stream(body, body_len, keep_classes, AMI_LOGIN_EVENTS, &sub_len,
		                          &sub_events);
		server h = {.body = sub, .body_len = sub_len, .repeat = repeat};
		double md = compare(
		    &h, rounds, sub_events,
		    "what Asterisk sends the driver's login (Events: " AMI_LOGIN_EVENTS ")");
		printf("the same PBX activity into the live state: %.3f s with the login's classes "
		       "(%.0f %% of the bytes), %.3f s with Events: on\n",
		       md, 100.0 * (double)sub_len / (double)body_len, tc);
		free(sub);
	}
	uint64_t na = 0, np = 0, nm = 0;
	double ca = 1e9, cp = 1e9, cm = 1e9;
	for (int r = 0; r < 3 && !no_memory;
	     r++) { /* the best of 3: the machine's noise is all upward */
		double w = in_memory(body, body_len, repeat, false, false, &na);
		double x = in_memory(body, body_len, repeat, false, true, &np);
		double y = in_memory(body, body_len, repeat, true, true, &nm);
		ca = w < ca ? w : ca;
		cp = x < cp ? x : cp;
		cm = y < cm ? y : cm;
	}
	if (!no_memory)
		printf("in memory (CPU, best of 3): parser delivering every message %.3f s, %.0f "
		       "events/s (%llu messages); parser passing over unread events %.3f s, %.0f "
		       "events/s (%llu); parser + model %.3f s, %.0f events/s (%llu)\n",
		       ca, total / ca, (unsigned long long)na, cp, total / cp,
		       (unsigned long long)np, cm, total / cm, (unsigned long long)nm);
	free(tf);
	free(td);
	free(tnc);
	free(tdd);
	free(busy);
	free(cpu0);
	free(cpu1);
	for (int half = 0; split && half < 2; half++) {
		size_t sub_len, sub_events;
		half_of hf = {.unread = half == 0};
		ami_skip_unread(&hf.o);
		char *sub = filter_stream(body, body_len, keep_half, &hf, &sub_len, &sub_events);
		server h = {.body = sub, .body_len = sub_len, .repeat = repeat};
		const char *label = half == 0 ? "events passed over only" : "messages read only";
		if (!memory_only)
			compare(&h, rounds, sub_events, label);
		double sp = 1e9, sm = 1e9;
		for (int r = 0; r < 3 && !no_memory; r++) {
			double x = in_memory(sub, sub_len, repeat, false, true, &np);
			double y = in_memory(sub, sub_len, repeat, true, true, &nm);
			sp = x < sp ? x : sp;
			sm = y < sm ? y : sm;
		}
		if (!no_memory)
			printf(
			    "%s in memory (CPU, best of 3): parser %.3f s, parser + model %.3f s\n",
			    label, sp, sm);
		free(sub);
	}
	if (no_node) {
		free(data);
		return 0;
	}

	const char *npm_dir = getenv("PROVDESK_BENCH_NPM_DIR");
	if (!npm_dir)
		npm_dir = "/tmp/provdesk-bench-npm";
	char script[1024];
	snprintf(script, sizeof script, "%s/tests/bench/ami_node_bench.js", PD_SOURCE_ROOT);
	long node_events = 0;
	double tn = run_node(&s, npm_dir, script, &node_events);
	if (tn < 0) {
		printf("node asterisk-manager: skipped (node or npm package unavailable)\n");
	} else {
		double rate_n = (double)(events * (size_t)repeat) / tn;
		printf("node asterisk-manager 0.2.0: %.3f s, %.0f events/s (%ld managerevent)\n",
		       tn, rate_n, node_events);
		printf("ratio provdesk/node: %.1fx\n", rate_c / rate_n);
	}
	free(data);
	return 0;
}

/* FreeSWITCH event-socket ingest benchmark (issue 13): the recorded
 * FreeSWITCH 1.10 session (tests/fixtures/freeswitch/esl-session-1.txt,
 * 1,037 text/event-plain events, 5.6 MB) replayed REPEAT times over loopback
 * TCP to three consumers, one after the other in the same run, on the same
 * bytes:
 *   (a) a recv-only floor: a C client that authenticates, subscribes, then
 *       reads 64 KiB at a time and discards (what `nc > /dev/null` does);
 *   (b) provdesk: the FreeSWITCH driver itself (pd_esl_driver over the shared
 *       transport and driver loop, pd_drv_step), i.e. the ESL parser and the
 *       ESL model publishing into a pd_live, as the monitor runs it;
 *   (c) the npm package modesl (Node.js), tests/bench/esl_node_bench.js,
 *       which authenticates, subscribes and counts text/event-plain events.
 * It also times, without a socket, the parser alone and the parser + model
 * on the same bytes in memory, to show where the time goes.
 *
 *   bench_esl_ingest [--repeat N] [N] [--no-node]      (default N = 20)
 *
 * The server: sends auth/request, accepts any `auth`, answers `event ...`
 * with +OK, answers the driver's discovery api commands (list_users, show
 * registrations as json, callcenter_config agent/tier list, status) with
 * the replies recorded in tests/fixtures/freeswitch/esl-commands-1.txt (the
 * channel and call snapshots with no rows: the session's calls start in the
 * stream), then writes the session's events REPEAT times followed by the
 * session's own disconnect notice and closes its side. Timing (wall): from
 * the first event byte the server writes to the moment the client closes its
 * end after reading everything, measured by the server the same way for all
 * three; CPU: the consumer's own CPU time over the same span.
 *
 * Needs PROVDESK_FIXTURES (or runs from the source tree). modesl is
 * installed with npm into $PROVDESK_BENCH_NPM_DIR (default
 * /tmp/provdesk-bench-npm) when missing; the Node part is skipped (and said
 * so) if node, npm or the package are unavailable. */
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

#include "../../src/pbx/esl/esl_model.h"
#include "provdesk/esl.h"
#include "provdesk/live.h"
#include "provdesk/pbx_driver.h"
#include "provdesk/util.h"

#include "pd_build_config.h"

/* ---- the recorded bytes ---- */

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *d = xmalloc((size_t)n + 1);
	if (n < 0 || fread(d, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(d);
		return NULL;
	}
	d[n] = 0;
	fclose(f);
	*len = (size_t)n;
	return d;
}

/* One ESL message of a recording: [start, end) and its Content-Type. */
typedef struct {
	size_t start, end;
	char type[48];
} raw_msg;

/* A plain framer, independent of the parser under test: headers up to an
 * empty line, then Content-Length bytes. Returns false at the end or on a
 * malformed recording. */
static bool next_raw(const char *s, size_t len, size_t *pos, raw_msg *m)
{
	size_t p = *pos;
	while (p < len && s[p] == '\n')
		p++;
	if (p >= len)
		return false;
	const char *hend = memmem(s + p, len - p, "\n\n", 2);
	if (!hend)
		return false;
	size_t body = (size_t)(hend - s) + 2, clen = 0;
	m->type[0] = 0;
	for (const char *l = s + p; l < hend;) {
		const char *nl = memchr(l, '\n', (size_t)(hend - l));
		if (!nl)
			nl = hend;
		if (!strncmp(l, "Content-Length: ", 16))
			clen = strtoul(l + 16, NULL, 10);
		else if (!strncmp(l, "Content-Type: ", 14))
			snprintf(m->type, sizeof m->type, "%.*s", (int)(nl - l - 14), l + 14);
		l = nl + 1;
	}
	if (body + clen > len)
		return false;
	m->start = p;
	m->end = body + clen;
	*pos = m->end;
	return true;
}

/* Recorded api replies by command ("api list_users" -> its raw message). */
typedef struct {
	char *cmd;
	const char *msg;
	size_t len;
} reply;

typedef struct {
	reply r[64];
	size_t n;
} reply_table;

/* esl-commands-1: the client's commands in order and the server's messages in
 * order (auth/request, then one reply per command while no events are
 * subscribed). Pairs every "api ..." before the first "event" command. */
static void load_replies(const char *srv, size_t srv_len, const char *cli, reply_table *t)
{
	size_t pos = 0;
	raw_msg m;
	if (!next_raw(srv, srv_len, &pos, &m)) /* auth/request */
		return;
	for (const char *c = cli; *c && t->n < 64;) {
		const char *e = strstr(c, "\n\n");
		if (!e)
			break;
		if (!strncmp(c, "event", 5))
			break;
		if (!next_raw(srv, srv_len, &pos, &m))
			break;
		if (!strncmp(c, "api ", 4)) {
			t->r[t->n].cmd = xstrndup(c, (size_t)(e - c));
			t->r[t->n].msg = srv + m.start;
			t->r[t->n].len = m.end - m.start;
			t->n++;
		}
		c = e + 2;
	}
}

/* ---- the replay server ---- */

typedef struct {
	int lfd;
	const char *stream; /* one pass of events */
	size_t stream_len;
	const char *trailer; /* the disconnect notice */
	size_t trailer_len;
	int repeat;
	const reply_table *replies;
	const char *start_after; /* the replay starts after answering this command */
	double elapsed;
	_Atomic bool started; /* read by the client thread */
} server;

static bool send_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
		if (w <= 0)
			return false;
		s += w;
		n -= (size_t)w;
	}
	return true;
}

static void send_api(int fd, const char *body)
{
	char b[256];
	int n = snprintf(b, sizeof b, "Content-Type: api/response\nContent-Length: %zu\n\n%s",
	                 strlen(body), body);
	send_all(fd, b, (size_t)n);
}

/* Answers one command; true when it is the one after which to replay. */
static bool answer(server *s, int fd, const char *c)
{
	if (!strncmp(c, "auth ", 5)) {
		const char *r = "Content-Type: command/reply\nReply-Text: +OK accepted\n\n";
		send_all(fd, r, strlen(r));
	} else if (!strncmp(c, "event ", 6)) {
		const char *r =
		    "Content-Type: command/reply\nReply-Text: +OK event listener enabled plain\n\n";
		send_all(fd, r, strlen(r));
	} else if (!strcmp(c, "api show channels as json") ||
	           !strcmp(c, "api show calls as json")) {
		send_api(fd, "{\"row_count\":0}\n");
	} else if (!strncmp(c, "api ", 4)) {
		size_t i = 0;
		while (i < s->replies->n && strcmp(s->replies->r[i].cmd, c))
			i++;
		if (i < s->replies->n)
			send_all(fd, s->replies->r[i].msg, s->replies->r[i].len);
		else
			send_api(fd, "-ERR no reply\n");
	} else {
		const char *r =
		    "Content-Type: command/reply\nReply-Text: -ERR command not found\n\n";
		send_all(fd, r, strlen(r));
	}
	return !strcmp(c, s->start_after) || (s->start_after[strlen(s->start_after) - 1] == ' ' &&
	                                      !strncmp(c, s->start_after, strlen(s->start_after)));
}

static void *serve(void *arg)
{
	server *s = arg;
	int fd = accept(s->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	send_all(fd, "Content-Type: auth/request\n\n", 28);
	char in[65536];
	size_t have = 0;
	bool go = false;
	while (!go) {
		ssize_t n = recv(fd, in + have, sizeof in - 1 - have, 0);
		if (n <= 0)
			break;
		have += (size_t)n;
		in[have] = 0;
		char *e;
		while (!go && (e = strstr(in, "\n\n"))) {
			*e = 0;
			go = answer(s, fd, in);
			size_t used = (size_t)(e + 2 - in);
			memmove(in, e + 2, have - used + 1);
			have -= used;
		}
		if (have == sizeof in - 1)
			break; /* a command longer than 64 KiB: not ours */
	}
	if (go) {
		s->started = true;
		double t0 = now_s();
		for (int i = 0; i < s->repeat; i++)
			if (!send_all(fd, s->stream, s->stream_len))
				break;
		send_all(fd, s->trailer, s->trailer_len);
		shutdown(fd, SHUT_WR); /* EOF: the client closes once it has read everything */
		while (recv(fd, in, sizeof in, 0) > 0)
			;
		s->elapsed = now_s() - t0;
	}
	close(fd);
	return NULL;
}

static int listen_any(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 4))
		return -1;
	socklen_t len = sizeof a;
	getsockname(fd, (struct sockaddr *)&a, &len);
	*port = ntohs(a.sin_port);
	return fd;
}

static bool server_start(server *s, const char *start_after, int *port, pthread_t *t)
{
	s->lfd = listen_any(port);
	if (s->lfd < 0)
		return false;
	s->start_after = start_after;
	s->started = false;
	s->elapsed = 0;
	return pthread_create(t, NULL, serve, s) == 0;
}

/* ---- the machine ---- */

static void machine(void)
{
	struct utsname u;
	uname(&u);
	char model[256] = "?", line[512], load[64] = "?";
	FILE *f = fopen("/proc/cpuinfo", "r");
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "model name", 10)) {
			char *c = strchr(line, ':');
			snprintf(model, sizeof model, "%.200s", c ? c + 2 : line);
			model[strcspn(model, "\n")] = 0;
			break;
		}
	if (f)
		fclose(f);
	f = fopen("/proc/loadavg", "r");
	if (f && fgets(load, sizeof load, f))
		load[strcspn(load, "\n")] = 0;
	if (f)
		fclose(f);
	printf("machine: %s, %s, %ld cores, Linux %s, load average %s\n", u.machine, model,
	       sysconf(_SC_NPROCESSORS_ONLN), u.release, load);
}

/* Resets VmHWM to the current RSS (Linux: clear_refs 5). */
static bool reset_peak_rss(void)
{
	FILE *f = fopen("/proc/self/clear_refs", "w");
	if (!f)
		return false;
	bool ok = fputs("5", f) >= 0;
	return fclose(f) == 0 && ok;
}

/* ---- (a) the recv-only floor ---- */

static bool floor_run(server *s, double *cpu, size_t *bytes)
{
	int port;
	pthread_t t;
	if (!server_start(s, "event ", &port, &t))
		return false;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_port = htons((uint16_t)port),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	bool ok = fd >= 0 && !connect(fd, (struct sockaddr *)&a, sizeof a);
	const char *cmd = "auth b\n\nevent plain ALL\n\n";
	ok = ok && send_all(fd, cmd, strlen(cmd));
	static char buf[65536];
	double c0 = thread_cpu_s();
	*bytes = 0;
	ssize_t n;
	while (ok && (n = recv(fd, buf, sizeof buf, 0)) > 0)
		*bytes += (size_t)n;
	*cpu = thread_cpu_s() - c0;
	if (fd >= 0)
		close(fd);
	if (!s->started)
		shutdown(s->lfd, SHUT_RDWR);
	pthread_join(t, NULL);
	close(s->lfd);
	return ok && s->started;
}

/* ---- (b) the provdesk driver ---- */

typedef struct {
	pd_live *live;
	double cpu_at_monitoring;
	bool monitoring;
	size_t users, agents; /* what discovery gave, when monitoring began */
} drv_watch;

static void on_link(void *ctx, int64_t customer_id, pd_link_state st, const char *text)
{
	drv_watch *w = ctx;
	(void)customer_id;
	(void)text;
	if (st == PD_LINK_MONITORING && !w->monitoring) {
		pd_live_view v;
		if (pd_live_snapshot(w->live, 1, &v) == PD_OK) {
			w->users = v.n_users;
			w->agents = v.n_agents;
			pd_live_free_view(&v);
		}
		w->monitoring = true;
		w->cpu_at_monitoring = thread_cpu_s();
	}
}

typedef struct {
	double cpu;
	long rss_before_kb, peak_kb;
	bool peak_reset;
	size_t users, agents;
	uint64_t bad;
	char last_error[sizeof((pd_live_view *)0)->last_error];
} drv_result;

static bool driver_run(server *s, drv_result *r)
{
	int port;
	pthread_t t;
	if (!server_start(s, "api status", &port, &t))
		return false;
	r->rss_before_kb = proc_kb("VmRSS");
	r->peak_reset = reset_peak_rss();
	pd_live *live = pd_live_new();
	drv_watch w = {.live = live};
	pd_drv_conf c = {.customer_id = 1,
	                 .host = "127.0.0.1",
	                 .port = port,
	                 .username = "",
	                 .secret = "bench-secret",
	                 .sync_users = false,
	                 .monitor = true,
	                 .ping_interval_s = 600,
	                 .backoff_max_s = 600,
	                 .backoff_min_ms = 600000};
	pd_drv_host h = {.ctx = &w, .live = live, .link_changed = on_link};
	const pd_driver_ops *ops = pd_driver_find("freeswitch-esl");
	void *d = NULL;
	pd_err e = {0};
	if (!ops || ops->create(&c, &h, &d, &e) != PD_OK) {
		fprintf(stderr, "bench_esl_ingest: driver: %s\n", e.message);
		shutdown(s->lfd, SHUT_RDWR);
		pthread_join(t, NULL);
		close(s->lfd);
		pd_live_free(live);
		return false;
	}
	int64_t deadline = pd_live_now_ms() + 30 * 60 * 1000;
	pd_link_state st;
	while ((st = ops->state(d)) != PD_LINK_RETRYING && st != PD_LINK_AUTH_FAILED &&
	       pd_live_now_ms() < deadline)
		pd_drv_step(ops, d, 100);
	r->cpu = w.monitoring ? thread_cpu_s() - w.cpu_at_monitoring : 0;
	r->peak_kb = proc_kb("VmHWM");
	if (!s->started) /* the driver never got that far: free the server */
		shutdown(s->lfd, SHUT_RDWR);
	pthread_join(t, NULL);
	r->users = w.users;
	r->agents = w.agents;
	pd_live_view v;
	if (pd_live_snapshot(live, 1, &v) == PD_OK) {
		r->bad = v.input.bad_fields;
		snprintf(r->last_error, sizeof r->last_error, "%s", v.last_error);
		pd_live_free_view(&v);
	}
	ops->destroy(d);
	pd_live_free(live);
	close(s->lfd);
	return w.monitoring && s->started && st == PD_LINK_RETRYING;
}

/* ---- in memory: the parser alone, the parser + model ---- */

typedef struct {
	esl_model *m;
	size_t events, errors, changed;
	int64_t now;
} mem_ctx;

static void mem_on_msg(const esl_msg *msg, void *ctx)
{
	mem_ctx *c = ctx;
	if (msg->kind == ESL_MSG_EVENT) {
		c->events++;
		if (c->m && esl_model_apply_event(c->m, msg, c->now))
			c->changed++;
	} else if (msg->kind == ESL_MSG_ERROR) {
		c->errors++;
	}
}

/* Feeds the stream REPEAT times in 64 KiB pieces, as the transport reads. */
static double mem_run(const char *stream, size_t len, int repeat, bool model, mem_ctx *c)
{
	memset(c, 0, sizeof *c);
	if (model)
		c->m = esl_model_new();
	esl_parser *p = esl_parser_new(NULL, mem_on_msg, c);
	double c0 = thread_cpu_s();
	for (int i = 0; i < repeat; i++)
		for (size_t off = 0; off < len; off += 65536) {
			c->now = pd_live_now_ms();
			esl_parser_feed(p, stream + off, len - off < 65536 ? len - off : 65536);
		}
	if (model) {
		pd_live_view v = {0};
		esl_model_view(c->m, pd_live_now_ms(), &v);
		pd_live_users_free(v.users, v.n_users);
		pd_live_calls_free(v.calls, v.n_calls);
		pd_live_agents_free(v.agents, v.n_agents);
	}
	double cpu = thread_cpu_s() - c0;
	esl_parser_free(p);
	esl_model_free(c->m);
	c->m = NULL;
	return cpu;
}

/* ---- (c) node modesl ---- */

typedef struct {
	long events;
	double cpu;
	long maxrss_kb;
	char version[32];
} node_result;

static bool node_run(server *s, const char *npm_dir, const char *script, node_result *r)
{
	char cmd[2048];
	snprintf(cmd, sizeof cmd,
	         "command -v node >/dev/null 2>&1 && "
	         "{ test -d '%s/node_modules/modesl' || "
	         "(mkdir -p '%s' && cd '%s' && npm install --no-audit --no-fund modesl "
	         ">/dev/null 2>&1); }",
	         npm_dir, npm_dir, npm_dir);
	if (system(cmd) != 0)
		return false;
	snprintf(cmd, sizeof cmd, "%s/node_modules/modesl/package.json", npm_dir);
	size_t plen;
	char *pj = slurp(cmd, &plen);
	const char *v = pj ? strstr(pj, "\"version\"") : NULL;
	snprintf(r->version, sizeof r->version, "?");
	if (v && (v = strchr(v + 9, '"')))
		snprintf(r->version, sizeof r->version, "%.*s", (int)strcspn(v + 1, "\""), v + 1);
	free(pj);
	int port;
	pthread_t t;
	if (!server_start(s, "event ", &port, &t))
		return false;
	snprintf(cmd, sizeof cmd, "node '%s' '%s/node_modules' %d bench-secret", script, npm_dir,
	         port);
	FILE *p = popen(cmd, "r");
	char line[256] = "";
	r->events = -1;
	while (p && fgets(line, sizeof line, p)) {
		long ev, cpu_us, rss;
		if (sscanf(line, "node events %ld cpu_us %ld maxrss_kb %ld", &ev, &cpu_us, &rss) ==
		    3) {
			r->events = ev;
			r->cpu = (double)cpu_us / 1e6;
			r->maxrss_kb = rss;
		}
	}
	if (p)
		pclose(p);
	if (!s->started) /* node never subscribed: free the server */
		shutdown(s->lfd, SHUT_RDWR);
	pthread_join(t, NULL);
	close(s->lfd);
	return r->events >= 0 && s->started;
}

/* ---- main ---- */

static void line(const char *who, double wall, double cpu, size_t events, double mb)
{
	printf("%-38s %7.3f s wall %10.0f events/s %7.1f MB/s", who, wall, (double)events / wall,
	       mb / wall);
	if (cpu > 0)
		printf(" | %6.3f s CPU %10.0f events/s", cpu, (double)events / cpu);
	printf("\n");
}

int main(int argc, char **argv)
{
	int repeat = 20;
	bool no_node = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
			repeat = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--no-node"))
			no_node = true;
		else if (argv[i][0] != '-')
			repeat = atoi(argv[i]);
		else {
			fprintf(stderr, "usage: bench_esl_ingest [--repeat N] [--no-node]\n");
			return 64;
		}
	}
	if (repeat < 1)
		repeat = 1;
	const char *fx = getenv("PROVDESK_FIXTURES");
	if (!fx)
		fx = PD_SOURCE_ROOT "/tests/fixtures";
	char path[1024], cpath[1024], spath[1024];
	snprintf(path, sizeof path, "%s/freeswitch/esl-session-1.txt", fx);
	snprintf(spath, sizeof spath, "%s/freeswitch/esl-commands-1.txt", fx);
	snprintf(cpath, sizeof cpath, "%s/freeswitch/esl-commands-1-client.txt", fx);
	size_t len, slen, clen;
	char *data = slurp(path, &len), *sdata = slurp(spath, &slen), *cdata = slurp(cpath, &clen);
	if (!data || !sdata || !cdata) {
		fprintf(stderr, "bench_esl_ingest: cannot read the fixtures in %s/freeswitch\n",
		        fx);
		return 66;
	}
	/* one pass = the session's events, in order; the trailer = its disconnect notice */
	char *stream = xmalloc(len);
	size_t stream_len = 0, pos = 0, events = 0, trailer_at = 0, trailer_len = 0;
	raw_msg m;
	while (next_raw(data, len, &pos, &m)) {
		size_t n = m.end - m.start;
		if (!strcmp(m.type, "text/event-plain")) {
			memcpy(stream + stream_len, data + m.start, n);
			stream_len += n;
			events++;
		} else if (!strcmp(m.type, "text/disconnect-notice")) {
			trailer_at = m.start;
			trailer_len = n;
		}
	}
	reply_table replies = {0};
	load_replies(sdata, slen, cdata, &replies);
	if (!events || !trailer_len || !replies.n) {
		fprintf(stderr, "bench_esl_ingest: unexpected fixtures in %s/freeswitch\n", fx);
		return 65;
	}
	size_t total = events * (size_t)repeat;
	double mb = (double)stream_len * repeat / 1e6;
	machine();
	printf("stream: %s: %zu text/event-plain events, %zu bytes per pass, %d passes "
	       "(%zu events, %.1f MB) + the disconnect notice\n",
	       path, events, stream_len, repeat, total, mb);

	server s = {.stream = stream,
	            .stream_len = stream_len,
	            .trailer = data + trailer_at,
	            .trailer_len = trailer_len,
	            .repeat = repeat,
	            .replies = &replies};

	/* (a) */
	double floor_cpu = 0;
	size_t floor_bytes = 0;
	double floor_wall = 0;
	if (floor_run(&s, &floor_cpu, &floor_bytes)) {
		floor_wall = s.elapsed;
		line("recv-only floor (C, 64 KiB recv)", floor_wall, floor_cpu, total, mb);
	} else {
		printf("recv-only floor: failed\n");
	}

	/* (b) */
	drv_result dr = {0};
	double ours_wall = 0;
	if (driver_run(&s, &dr)) {
		ours_wall = s.elapsed;
		line("provdesk ESL driver -> live state", ours_wall, dr.cpu, total, mb);
		printf("  peak RSS of the process during the run %ld kB (%ld kB before the driver "
		       "was created%s); discovery gave %zu users, %zu agents; %llu fields or "
		       "messages refused; link ended: %s\n",
		       dr.peak_kb, dr.rss_before_kb, dr.peak_reset ? "" : ", peak not reset",
		       dr.users, dr.agents, (unsigned long long)dr.bad, dr.last_error);
	} else {
		printf("provdesk ESL driver: failed (link ended: %s)\n", dr.last_error);
	}

	/* in memory, no socket */
	mem_ctx mc;
	double pcpu = mem_run(stream, stream_len, repeat, false, &mc);
	size_t perr = mc.errors, pev = mc.events;
	double mcpu = mem_run(stream, stream_len, repeat, true, &mc);
	printf("in memory (no socket), CPU: parser alone %.3f s, %.0f events/s, %.1f MB/s; "
	       "parser + model %.3f s, %.0f events/s (%zu events parsed, %zu errors)\n",
	       pcpu, (double)pev / pcpu, mb / pcpu, mcpu, (double)mc.events / mcpu, pev, perr);

	/* (c) */
	const char *npm_dir = getenv("PROVDESK_BENCH_NPM_DIR");
	if (!npm_dir)
		npm_dir = "/tmp/provdesk-bench-npm";
	char script[1024];
	snprintf(script, sizeof script, "%s/tests/bench/esl_node_bench.js", PD_SOURCE_ROOT);
	node_result nr = {0};
	double node_wall = 0;
	if (no_node) {
		printf("node modesl: not run (--no-node)\n");
	} else if (node_run(&s, npm_dir, script, &nr)) {
		node_wall = s.elapsed;
		char who[64];
		snprintf(who, sizeof who, "node modesl %s", nr.version);
		line(who, node_wall, nr.cpu, total, mb);
		printf("  %ld events counted by modesl (expected %zu); peak RSS of node %ld kB\n",
		       nr.events, total, nr.maxrss_kb);
	} else {
		printf("node modesl: skipped (node, npm or the npm package modesl unavailable: "
		       "`npm install modesl` into %s failed or the client did not run)\n",
		       npm_dir);
	}

	if (ours_wall > 0 && floor_wall > 0)
		printf("ratio provdesk/floor (wall): %.2fx of the floor's events/s\n",
		       floor_wall / ours_wall);
	if (ours_wall > 0 && node_wall > 0)
		printf("ratio provdesk/modesl (wall): %.1fx faster; (CPU): %.1fx\n",
		       node_wall / ours_wall, dr.cpu > 0 && nr.cpu > 0 ? nr.cpu / dr.cpu : 0);
	for (size_t i = 0; i < replies.n; i++)
		free(replies.r[i].cmd);
	free(stream);
	free(data);
	free(sdata);
	free(cdata);
	return 0;
}

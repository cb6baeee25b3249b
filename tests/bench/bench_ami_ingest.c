/* AMI ingest benchmark: the recorded Asterisk 22 session (3,199 events)
 * replayed REPEAT times over loopback into the AMI driver and the live state,
 * then the same bytes through the npm package asterisk-manager (Node.js) in
 * the same run; prints events/s of both and the ratio.
 *
 *   bench_ami_ingest [REPEAT=20]
 * Needs PROVDESK_FIXTURES (or runs from the source tree). The npm package is
 * installed with npm into $PROVDESK_BENCH_NPM_DIR (default /tmp/provdesk-bench-npm)
 * when missing; the Node part is skipped (and said so) if node/npm are absent.
 * Timing: from the first byte of the stream the server writes to the moment
 * the client closes its end after reading everything (EOF), measured by the
 * server the same way for both clients. */
#include <netinet/in.h>
#include <pthread.h>
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
#include "provdesk/util.h"

#include "pd_build_config.h"

typedef struct {
	int lfd, port;
	const char *body;
	size_t body_len;
	int repeat;
	bool answer_discovery; /* the C driver runs discovery first; node does not */
	double elapsed;
} server;

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
	double t0 = now_s();
	for (int i = 0; i < s->repeat; i++)
		send_all(fd, s->body, s->body_len);
	shutdown(fd, SHUT_WR); /* EOF: the client closes once it has read everything */
	while (recv(fd, buf, sizeof buf, 0) > 0)
		;
	s->elapsed = now_s() - t0;
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
	while (ops->state(d) != PD_LINK_RETRYING) {
		pd_drv_step(ops, d, 100);
		wakes++;
	}
	pthread_join(t, NULL);
	pd_live_view v;
	pd_live_snapshot(live, 1, &v);
	*events_seen = v.n_users; /* sanity: users from the recording's EndpointList */
	pd_live_free_view(&v);
	ops->destroy(d);
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

int main(int argc, char **argv)
{
	int repeat = argc > 1 ? atoi(argv[1]) : 20;
	if (repeat < 1)
		repeat = 1;
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
	double tc = run_driver(&s, &users);
	double rate_c = (double)(events * (size_t)repeat) / tc;
	printf("provdesk AMI driver -> live state: %.3f s, %.0f events/s (%zu users seen)\n", tc,
	       rate_c, users);

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

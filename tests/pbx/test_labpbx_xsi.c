/* The lab PBX's BroadWorks personality (src/pbx/lab/labpbx_xsi.c) over real
 * TCP, with a small HTTP client written here (blocking, deadlines) and the
 * repository's Xsi parser (include/provdesk/xsi.h) reading every byte the lab
 * writes: directory pages, the chunked event channel, subscriptions, acks,
 * heartbeats, refreshes, deletes, each fault, and bad HTTP requests. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../src/pbx/xsi/xsi_driver.h"
#include "../../src/pbx/xsi/xsi_model.h"
#include "provdesk/labpbx.h"
#include "provdesk/live.h"
#include "provdesk/util.h"
#include "provdesk/xsi.h"
#include "testlib.h"

#define USER "xsp-admin"
#define PW "s3cr3t-Xsi-Pw"
#define A "/com.broadsoft.xsi-actions/v2.0"
#define E "/com.broadsoft.xsi-events/v2.0"
#define C "/com.broadsoft.async/com.broadsoft.xsi-events/v2.0"

static int64_t deadline(int ms)
{
	return pd_live_now_ms() + (int64_t)ms * tl_slow();
}

static int connect_to(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- a keep-alive HTTP connection ---- */

typedef struct {
	int fd;
	pd_buf in;
	bool eof;
} conn;

typedef struct {
	int status;
	char head[8192];
	char *body;
	size_t blen;
} hresp;

static conn *conn_new(int port)
{
	conn *c = calloc(1, sizeof *c);
	c->fd = connect_to(port);
	cr_assert_geq(c->fd, 0, "connect to the lab on %d: %s", port, strerror(errno));
	return c;
}

static void conn_free(conn *c)
{
	if (!c)
		return;
	close(c->fd);
	pd_buf_free(&c->in);
	free(c);
}

/* Reads more into c->in until the deadline; false on timeout or EOF. */
static bool conn_more(conn *c, int64_t until)
{
	int64_t left = until - pd_live_now_ms();
	if (left <= 0 || c->eof)
		return false;
	struct pollfd pf = {.fd = c->fd, .events = POLLIN};
	if (poll(&pf, 1, (int)left) <= 0)
		return false;
	char buf[16384];
	ssize_t r = recv(c->fd, buf, sizeof buf, 0);
	if (r <= 0) {
		c->eof = true;
		return false;
	}
	pd_buf_addn(&c->in, buf, (size_t)r);
	return true;
}

static char *auth_header(const char *user, const char *pw)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *plain = xasprintf("%s:%s", user, pw);
	size_t n = strlen(plain);
	pd_buf b = {0};
	pd_buf_add(&b, "Authorization: Basic ");
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned char)plain[i] << 16;
		if (i + 1 < n)
			v |= (unsigned char)plain[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)plain[i + 2];
		pd_buf_addc(&b, t[(v >> 18) & 63]);
		pd_buf_addc(&b, t[(v >> 12) & 63]);
		pd_buf_addc(&b, i + 1 < n ? t[(v >> 6) & 63] : '=');
		pd_buf_addc(&b, i + 2 < n ? t[v & 63] : '=');
	}
	pd_buf_add(&b, "\r\n");
	free(plain);
	return pd_buf_steal(&b);
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

static void req_send(conn *c, const char *method, const char *path, const char *pw,
                     const char *body)
{
	pd_buf b = {0};
	pd_buf_printf(&b, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n", method, path);
	if (pw) {
		char *h = auth_header(USER, pw);
		pd_buf_add(&b, h);
		free(h);
	}
	if (body)
		pd_buf_printf(&b,
		              "Content-Type: application/xml; charset=UTF-8\r\n"
		              "Content-Length: %zu\r\n\r\n%s",
		              strlen(body), body);
	else
		pd_buf_add(&b, "Content-Length: 0\r\n\r\n");
	send_all(c->fd, b.s, b.len);
	pd_buf_free(&b);
}

/* Reads one Content-Length response. */
static bool resp_read(conn *c, hresp *r, int ms)
{
	int64_t until = deadline(ms);
	memset(r, 0, sizeof *r);
	char *end;
	while (!(end = c->in.s ? memmem(c->in.s, c->in.len, "\r\n\r\n", 4) : NULL))
		if (!conn_more(c, until))
			return false;
	size_t hl = (size_t)(end - c->in.s) + 4;
	snprintf(r->head, sizeof r->head, "%.*s", (int)hl, c->in.s);
	if (sscanf(r->head, "HTTP/1.1 %d", &r->status) != 1)
		return false;
	const char *cl = strcasestr(r->head, "\r\nContent-Length:");
	size_t n = cl ? (size_t)strtoul(cl + 17, NULL, 10) : 0;
	while (c->in.len < hl + n)
		if (!conn_more(c, until))
			return false;
	r->body = malloc(n + 1);
	memcpy(r->body, c->in.s + hl, n);
	r->body[n] = '\0';
	r->blen = n;
	memmove(c->in.s, c->in.s + hl + n, c->in.len - hl - n);
	c->in.len -= hl + n;
	return true;
}

static int req(conn *c, const char *method, const char *path, const char *pw, const char *body,
               char **body_out)
{
	req_send(c, method, path, pw, body);
	hresp r;
	cr_assert(resp_read(c, &r, 5000), "no answer to %s %s", method, path);
	if (body_out)
		*body_out = r.body;
	else
		free(r.body);
	return r.status;
}

/* ---- the event channel: chunked decoding into the Xsi parser ---- */

typedef struct {
	conn *c;
	xsi_parser *p;
	xsi_msg *m;
	size_t n;
	bool ended;      /* the last (0) chunk arrived */
	bool bad_chunks; /* chunk framing broken */
	size_t errors;
	int status;
	char channel_id[XSI_VALUE_MAX];
	size_t chunks, min_chunk;
} stream;

static void on_msg(const xsi_msg *m, void *ctx)
{
	stream *s = ctx;
	if (m->kind == XSI_MSG_ERROR) {
		s->errors++;
		return;
	}
	s->m = realloc(s->m, (s->n + 1) * sizeof *s->m);
	s->m[s->n] = *m;
	s->m[s->n].text = NULL;
	if (m->kind == XSI_MSG_CHANNEL)
		snprintf(s->channel_id, sizeof s->channel_id, "%s", m->channel_id);
	s->n++;
}

/* Decodes the whole chunks in s->c->in. */
static void decode(stream *s)
{
	conn *c = s->c;
	while (!s->ended && !s->bad_chunks) {
		char *crlf = c->in.s ? memmem(c->in.s, c->in.len, "\r\n", 2) : NULL;
		if (!crlf)
			return;
		char *endp;
		unsigned long n = strtoul(c->in.s, &endp, 16);
		if (endp == c->in.s || endp != crlf) {
			s->bad_chunks = true;
			return;
		}
		size_t hl = (size_t)(crlf - c->in.s) + 2;
		if (c->in.len < hl + n + 2)
			return;
		if (memcmp(c->in.s + hl + n, "\r\n", 2) != 0) {
			s->bad_chunks = true;
			return;
		}
		if (n == 0)
			s->ended = true;
		else {
			s->chunks++;
			if (!s->min_chunk || n < s->min_chunk)
				s->min_chunk = n;
			xsi_parser_feed(s->p, c->in.s + hl, n);
		}
		memmove(c->in.s, c->in.s + hl + n + 2, c->in.len - hl - n - 2);
		c->in.len -= hl + n + 2;
	}
}

/* A channel opened (asking an hour); its <Channel> document grants want_expires. */
static stream *stream_open_granted(int port, const char *set, int want_expires)
{
	stream *s = calloc(1, sizeof *s);
	s->c = conn_new(port);
	s->p = xsi_parser_new(NULL, on_msg, s);
	char *body = xasprintf("<Channel xmlns=\"http://schema.broadsoft.com/xsi\"><channelSetId>%s"
	                       "</channelSetId><priority>1</priority><weight>100</weight>"
	                       "<expires>3600</expires><applicationId>provdesk</applicationId>"
	                       "</Channel>",
	                       set);
	req_send(s->c, "POST", C "/channel", PW, body);
	free(body);
	int64_t until = deadline(5000);
	char *end;
	while (!(end = s->c->in.s ? memmem(s->c->in.s, s->c->in.len, "\r\n\r\n", 4) : NULL))
		cr_assert(conn_more(s->c, until), "no answer to POST channel");
	sscanf(s->c->in.s, "HTTP/1.1 %d", &s->status);
	cr_assert_eq(s->status, 200);
	cr_assert(memmem(s->c->in.s, (size_t)(end - s->c->in.s), "Transfer-Encoding: chunked", 26));
	size_t hl = (size_t)(end - s->c->in.s) + 4;
	memmove(s->c->in.s, s->c->in.s + hl, s->c->in.len - hl);
	s->c->in.len -= hl;
	decode(s);
	while (!s->channel_id[0]) {
		cr_assert(conn_more(s->c, until), "no <Channel> document");
		decode(s);
	}
	cr_assert_eq(s->errors, 0);
	cr_assert_eq(s->m[0].kind, XSI_MSG_CHANNEL);
	cr_assert_eq(s->m[0].expires, want_expires);
	return s;
}

static stream *stream_open(int port, const char *set)
{
	return stream_open_granted(port, set, 3600);
}

static void stream_free(stream *s)
{
	if (!s)
		return;
	xsi_parser_free(s->p);
	conn_free(s->c);
	free(s->m);
	free(s);
}

/* Pumps the stream until cond(s, arg) or the deadline. */
typedef bool (*cond_fn)(stream *s, const void *arg);

static bool pump_until(stream *s, cond_fn cond, const void *arg, int ms)
{
	int64_t until = deadline(ms);
	while (!cond(s, arg)) {
		if (!conn_more(s->c, until))
			return cond(s, arg);
		decode(s);
	}
	return true;
}

static bool has_event(stream *s, const void *arg)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->m[i].kind == XSI_MSG_EVENT && !strcmp(s->m[i].type_name, arg))
			return true;
	return false;
}

static size_t count_event(stream *s, const char *type, const char *target)
{
	size_t n = 0;
	for (size_t i = 0; i < s->n; i++)
		n += s->m[i].kind == XSI_MSG_EVENT && !strcmp(s->m[i].type_name, type) &&
		     (!target || !strcmp(s->m[i].target_id, target));
	return n;
}

static bool has_heartbeat(stream *s, const void *arg)
{
	(void)arg;
	for (size_t i = 0; i < s->n; i++)
		if (s->m[i].kind == XSI_MSG_HEARTBEAT)
			return true;
	return false;
}

static bool is_ended(stream *s, const void *arg)
{
	(void)arg;
	return s->ended || s->c->eof;
}

static bool is_fatal(stream *s, const void *arg)
{
	(void)arg;
	return s->errors > 0;
}

static char *subscribe(int port, const char *path, const char *pkg, const char *set, int *status)
{
	conn *c = conn_new(port);
	char *body = xasprintf("<Subscription xmlns=\"http://schema.broadsoft.com/xsi\"><event>%s"
	                       "</event><expires>3600</expires><channelSetId>%s</channelSetId>"
	                       "<applicationId>provdesk</applicationId></Subscription>",
	                       pkg, set);
	char *resp = NULL;
	*status = req(c, "POST", path, PW, body, &resp);
	free(body);
	conn_free(c);
	char *id = NULL;
	const char *a = strstr(resp, "<subscriptionId>"), *z = strstr(resp, "</subscriptionId>");
	if (*status == 200 && a && z)
		id = xasprintf("%.*s", (int)(z - a - 16), a + 16);
	free(resp);
	return id;
}

/* Acknowledges every event of s not yet acknowledged, on c. */
static void ack_all(stream *s, conn *c, size_t *done)
{
	for (; *done < s->n; (*done)++) {
		const xsi_msg *m = &s->m[*done];
		if (m->kind != XSI_MSG_EVENT || !m->event_id[0])
			continue;
		char *body = xasprintf("<EventResponse xmlns=\"http://schema.broadsoft.com/xsi\">"
		                       "<eventID>%s</eventID><statusCode>200</statusCode><reason>OK"
		                       "</reason></EventResponse>",
		                       m->event_id);
		cr_assert_eq(req(c, "POST", E "/channel/eventresponse", PW, body, NULL), 200);
		free(body);
	}
}

static pd_labpbx *lab_up_opts(pd_labpbx_opts o)
{
	o.platform = PD_LAB_BROADWORKS_XSI;
	o.username = USER;
	o.secret = PW;
	if (!o.users)
		o.users = 6;
	if (!o.ring_ms)
		o.ring_ms = 100;
	if (!o.talk_ms)
		o.talk_ms = 300;
	if (!o.hold_pct)
		o.hold_pct = -1;
	o.outbound_pct = -1;
	if (!o.wrapup_s)
		o.wrapup_s = -1;
	if (!o.fault_ms)
		o.fault_ms = 2000;
	pd_labpbx *l = NULL;
	pd_err e;
	pd_err_clear(&e);
	cr_assert_eq(labpbx_start(&o, &l, &e), PD_OK, "%s", e.message);
	return l;
}

static pd_labpbx *lab_up(void)
{
	return lab_up_opts((pd_labpbx_opts){0});
}

static pd_lab_xsi_counters counters(pd_labpbx *l)
{
	pd_lab_xsi_counters k;
	labpbx_xsi_counters(l, &k);
	return k;
}

/* ---- authentication ---- */

Test(labpbx_xsi, auth_refused)
{
	pd_labpbx *l = lab_up();
	conn *c = conn_new(labpbx_port(l));
	char *body = NULL;
	cr_assert_eq(
	    req(c, "GET", A "/enterprise/lab-ent/directories/Enterprise", NULL, NULL, &body), 401);
	cr_assert(strstr(body, "<ErrorInfo"), "%s", body);
	free(body);
	cr_assert_eq(
	    req(c, "GET", A "/enterprise/lab-ent/directories/Enterprise", "wrong", NULL, NULL),
	    401);
	/* the same connection still answers (keep-alive) */
	cr_assert_eq(req(c, "GET", A "/enterprise/lab-ent/directories/Enterprise", PW, NULL, NULL),
	             200);
	cr_assert_eq(counters(l).unauthorized, 2);
	conn_free(c);
	labpbx_stop(l);
}

/* ---- directory pages ---- */

/* Every page of base (which has a query already: "?…" or "?x=y"), results per page. */
static size_t read_dir(int port, const char *base, int results, xsi_dir_user **users,
                       long long *total)
{
	conn *c = conn_new(port);
	long long start = 1;
	size_t n = 0;
	*users = NULL;
	for (int pages = 0; start && pages < 50; pages++) {
		char path[512];
		snprintf(path, sizeof path, "%s%sstart=%lld&results=%d", base,
		         strchr(base, '?') ? "&" : "?", start, results);
		char *body = NULL;
		cr_assert_eq(req(c, "GET", path, PW, NULL, &body), 200, "%s", path);
		xsi_dir_page p;
		char err[256];
		cr_assert(xsi_dir_parse(body, strlen(body), NULL, 1000, &p, err, sizeof err),
		          "%s: %s", err, body);
		cr_assert_eq(p.bad_fields, 0);
		*total = p.total;
		*users = realloc(*users, (n + p.n_users) * sizeof **users);
		memcpy(*users + n, p.users, p.n_users * sizeof *p.users);
		n += p.n_users;
		start = xsi_dir_next_start(&p);
		xsi_dir_page_free(&p);
		free(body);
	}
	conn_free(c);
	return n;
}

Test(labpbx_xsi, directory_paging)
{
	pd_labpbx *l = lab_up_opts((pd_labpbx_opts){.users = 7, .queues = 2, .sites = 2});
	xsi_dir_user *u;
	long long total;
	size_t n =
	    read_dir(labpbx_port(l), A "/enterprise/lab-ent/directories/Enterprise", 3, &u, &total);
	cr_assert_eq(total, 9); /* 7 users and 2 call centers */
	cr_assert_eq(n, 9);
	cr_assert_str_eq(u[0].user_id, "1001@lab.example");
	cr_assert_str_eq(u[0].extension, "1001");
	cr_assert_str_eq(u[0].group_id, "group-1");
	cr_assert_str_eq(u[1].group_id, "group-2");
	cr_assert_str_eq(u[0].first_name, "Alice");
	cr_assert_str_eq(u[0].email, "alice.martin@lab.example");
	cr_assert_str_eq(u[6].email, ""); /* the lab's 7th user has no email */
	cr_assert_str_eq(u[7].user_id, "support@lab.example");
	cr_assert_str_eq(u[8].user_id, "sales@lab.example");
	free(u);
	/* group-2: users 1002, 1004, 1006 and the "sales" call center */
	n = read_dir(labpbx_port(l), A "/group/group-2/directories/Group?enterpriseId=lab-ent", 2,
	             &u, &total);
	cr_assert_eq(total, 4);
	cr_assert_eq(n, 4);
	cr_assert_str_eq(u[0].user_id, "1002@lab.example");
	cr_assert_str_eq(u[3].user_id, "sales@lab.example");
	free(u);
	/* beyond the end: an empty page with the total; unknown ids: 404 */
	conn *c = conn_new(labpbx_port(l));
	char *body = NULL;
	cr_assert_eq(
	    req(c, "GET", A "/enterprise/lab-ent/directories/Enterprise?start=50", PW, NULL, &body),
	    200);
	cr_assert(strstr(body, "<numberOfRecords>0</numberOfRecords>"), "%s", body);
	cr_assert(strstr(body, "<totalAvailableRecords>9</totalAvailableRecords>"), "%s", body);
	free(body);
	cr_assert_eq(req(c, "GET", A "/enterprise/other/directories/Enterprise", PW, NULL, &body),
	             404);
	cr_assert(strstr(body, "<ErrorInfo"), "%s", body);
	free(body);
	cr_assert_eq(req(c, "GET", A "/group/group-9/directories/Group?enterpriseId=lab-ent", PW,
	                 NULL, NULL),
	             404);
	cr_assert_eq(
	    req(c, "GET", A "/group/group-1/directories/Group?enterpriseId=nope", PW, NULL, NULL),
	    404);
	cr_assert_eq(
	    req(c, "GET", A "/enterprise/lab-ent/directories/Enterprise?start=0", PW, NULL, NULL),
	    400);
	cr_assert_eq(req(c, "POST", A "/enterprise/lab-ent/directories/Enterprise", PW, NULL, NULL),
	             405);
	conn_free(c);
	labpbx_stop(l);
}

/* ---- the channel, subscriptions, events, acks ---- */

Test(labpbx_xsi, queue_call_events_acked)
{
	pd_labpbx *l = lab_up_opts((pd_labpbx_opts){.wrapup_s = 1});
	int port = labpbx_port(l), st;
	stream *s = stream_open(port, "set-1");
	char *sub1 = subscribe(port, E "/enterprise/lab-ent", "Advanced Call", "set-1", &st);
	cr_assert_eq(st, 200);
	char *sub2 = subscribe(port, E "/enterprise/lab-ent", "Call Center Agent", "set-1", &st);
	cr_assert_eq(st, 200);
	cr_assert_eq(counters(l).subscriptions_live, 2);
	/* an enterprise subscription brings no initial state (an XSP sends one
	 * for a single user's only): each agent's is read */
	cr_assert_eq(counters(l).events_sent, 0);
	conn *ac = conn_new(port);
	char *state = NULL;
	cr_assert_eq(
	    req(ac, "GET", A "/user/1001%40lab.example/services/CallCenter", PW, NULL, &state),
	    200);
	cr_assert(strstr(state, "<agentACDState>Available</agentACDState>"), "%s", state);
	free(state);
	size_t acked = 0;
	labpbx_place_call(l, 0);
	cr_assert(pump_until(s, has_event, "CallReleasedEvent", 5000));
	int64_t until = deadline(8000);
	while (count_event(s, "CallReleasedEvent", NULL) < 2 && conn_more(s->c, until))
		decode(s);
	/* the queue's half and the agent's half; the agent's wrap-up ends */
	until = deadline(8000);
	size_t avail0 = count_event(s, "AgentStateEvent", NULL);
	while (count_event(s, "AgentStateEvent", NULL) < avail0 + 1 && conn_more(s->c, until))
		decode(s);
	ack_all(s, ac, &acked);
	cr_assert_eq(s->errors, 0);
	cr_assert_eq(count_event(s, "CallReceivedEvent", "support@lab.example"), 1);
	cr_assert_eq(count_event(s, "CallAnsweredEvent", "support@lab.example"), 1);
	cr_assert_eq(count_event(s, "CallReleasedEvent", "support@lab.example"), 1);
	cr_assert_eq(count_event(s, "CallReceivedEvent", NULL), 2);
	cr_assert_eq(count_event(s, "CallAnsweredEvent", NULL), 2);
	/* the halves share one extTrackingId; the queue's half has acdCallInfo */
	const xsi_msg *cc = NULL, *ag = NULL;
	for (size_t i = 0; i < s->n; i++)
		if (s->m[i].type == XSI_EV_CALL_RECEIVED)
			*(strcmp(s->m[i].target_id, "support@lab.example") ? &ag : &cc) = &s->m[i];
	cr_assert(cc && ag);
	cr_assert_str_eq(cc->ext_tracking_id, ag->ext_tracking_id);
	cr_assert_str_neq(cc->call_id, ag->call_id);
	cr_assert_str_eq(cc->acd_user_id, "support@lab.example");
	cr_assert_str_eq(cc->acd_name, "Support");
	cr_assert_str_eq(ag->acd_user_id, "support@lab.example");
	cr_assert_str_eq(ag->personality, "Terminator");
	cr_assert_str_eq(ag->state, "Alerting");
	cr_assert(ag->start_time > 0);
	cr_assert_str_eq(cc->channel_id, s->channel_id);
	cr_assert_str_eq(cc->subscription_id, sub1);
	/* wrap-up then available for the agent who took the call */
	bool wrap = false, avail_after = false;
	for (size_t i = 0; i < s->n; i++) {
		if (s->m[i].type != XSI_EV_AGENT_STATE || strcmp(s->m[i].target_id, ag->target_id))
			continue;
		if (!strcmp(s->m[i].agent_state, "Wrap-Up"))
			wrap = true;
		else if (wrap && !strcmp(s->m[i].agent_state, "Available"))
			avail_after = true;
		cr_assert_str_eq(s->m[i].subscription_id, sub2);
	}
	cr_assert(wrap && avail_after);
	/* every event acknowledged once: the lab counted them all */
	pd_lab_xsi_counters k = counters(l);
	cr_assert_eq(k.acks, k.events_sent, "%lld acks of %lld", (long long)k.acks,
	             (long long)k.events_sent);
	cr_assert_eq(k.channels_opened, 1);
	/* an ack for an unknown event is answered but not counted */
	cr_assert_eq(req(ac, "POST", E "/channel/eventresponse", PW,
	                 "<EventResponse xmlns=\"http://schema.broadsoft.com/xsi\"><eventID>nope"
	                 "</eventID></EventResponse>",
	                 NULL),
	             200);
	cr_assert_eq(counters(l).acks, k.acks);
	/* pause: Unavailable with the reason */
	labpbx_pause(l, "1003", true, "Lunch");
	bool unav = false;
	until = deadline(3000);
	while (!unav && conn_more(s->c, until)) {
		decode(s);
		for (size_t i = 0; i < s->n; i++)
			unav |= s->m[i].type == XSI_EV_AGENT_STATE &&
			        !strcmp(s->m[i].target_id, "1003@lab.example") &&
			        !strcmp(s->m[i].agent_state, "Unavailable") &&
			        !strcmp(s->m[i].unavailable_code, "Lunch");
	}
	cr_assert(unav);
	free(sub1);
	free(sub2);
	conn_free(ac);
	stream_free(s);
	labpbx_stop(l);
}

Test(labpbx_xsi, group_subscription_scoped)
{
	pd_labpbx *l = lab_up_opts((pd_labpbx_opts){.sites = 2, .queues = 2});
	int port = labpbx_port(l), st;
	stream *s = stream_open(port, "set-g");
	stream *other = stream_open(port, "set-other");
	char *sub =
	    subscribe(port, E "/group/group-2?enterpriseId=lab-ent", "Advanced Call", "set-g", &st);
	cr_assert_eq(st, 200);
	free(sub);
	/* queue 0 (support) and its agents are in group-1: nothing for group-2 */
	labpbx_place_call(l, 0);
	labpbx_place_call(l, 1);
	cr_assert(pump_until(s, has_event, "CallReleasedEvent", 5000));
	int64_t until = deadline(8000);
	while (count_event(s, "CallReleasedEvent", NULL) < 2 && conn_more(s->c, until))
		decode(s);
	for (size_t i = 0; i < s->n; i++)
		if (s->m[i].kind == XSI_MSG_EVENT) {
			cr_assert(!strcmp(s->m[i].target_id, "sales@lab.example") ||
			              !strcmp(s->m[i].target_id, "1002@lab.example") ||
			              !strcmp(s->m[i].target_id, "1004@lab.example") ||
			              !strcmp(s->m[i].target_id, "1006@lab.example"),
			          "event for %s", s->m[i].target_id);
			cr_assert_str_eq(s->m[i].acd_user_id[0] ? s->m[i].acd_user_id
			                                        : "sales@lab.example",
			                 "sales@lab.example");
		}
	/* no subscription for the other set: its channel got nothing */
	pump_until(other, has_event, "CallReceivedEvent", 200);
	cr_assert_eq(count_event(other, "CallReceivedEvent", NULL), 0);
	/* an unknown package, an unknown group */
	cr_assert_null(subscribe(port, E "/enterprise/lab-ent", "Basic Call", "set-g", &st));
	cr_assert_eq(st, 400);
	cr_assert_null(subscribe(port, E "/group/group-7?enterpriseId=lab-ent", "Advanced Call",
	                         "set-g", &st));
	cr_assert_eq(st, 404);
	stream_free(other);
	stream_free(s);
	labpbx_stop(l);
}

Test(labpbx_xsi, heartbeat_refresh_delete)
{
	pd_labpbx *l = lab_up();
	int port = labpbx_port(l), st;
	stream *s = stream_open(port, "set-h");
	char *sub = subscribe(port, E "/enterprise/lab-ent", "Advanced Call", "set-h", &st);
	conn *c = conn_new(port);
	char path[512];
	snprintf(path, sizeof path, E "/channel/%s/heartbeat", s->channel_id);
	cr_assert_eq(req(c, "PUT", path, PW, NULL, NULL), 200);
	cr_assert(pump_until(s, has_heartbeat, NULL, 3000));
	cr_assert_eq(counters(l).heartbeats, 1);
	cr_assert_eq(req(c, "PUT", E "/channel/nope/heartbeat", PW, NULL, NULL), 404);
	cr_assert_eq(req(c, "GET", path, PW, NULL, NULL), 405);
	/* refresh */
	snprintf(path, sizeof path, E "/channel/%s", s->channel_id);
	cr_assert_eq(
	    req(c, "PUT", path, PW,
	        "<Channel xmlns=\"http://schema.broadsoft.com/xsi\"><expires>3600</expires>"
	        "</Channel>",
	        NULL),
	    200);
	char spath[512];
	snprintf(spath, sizeof spath, E "/subscription/%s", sub);
	char *body = NULL;
	cr_assert_eq(req(c, "PUT", spath, PW,
	                 "<Subscription xmlns=\"http://schema.broadsoft.com/xsi\"><expires>3600"
	                 "</expires></Subscription>",
	                 &body),
	             200);
	cr_assert(strstr(body, sub), "%s", body);
	free(body);
	cr_assert_eq(req(c, "PUT", E "/subscription/nope", PW, "<Subscription/>", NULL), 404);
	/* whitespace around a value is read past; a value that is no number is 400 */
	cr_assert_eq(
	    req(c, "PUT", path, PW, "<Channel><expires>\n  1800 </expires></Channel>", NULL), 200);
	cr_assert_eq(req(c, "PUT", path, PW, "<Channel><expires>soon</expires></Channel>", NULL),
	             400);
	/* delete: the subscription, then the channel (its stream ends) */
	cr_assert_eq(req(c, "DELETE", spath, PW, NULL, NULL), 200);
	cr_assert_eq(counters(l).subscriptions_live, 0);
	cr_assert_eq(req(c, "DELETE", path, PW, NULL, NULL), 200);
	cr_assert(pump_until(s, is_ended, NULL, 3000));
	cr_assert_eq(counters(l).deletes, 2);
	cr_assert_eq(req(c, "PUT", path, PW, NULL, NULL), 404);
	cr_assert_eq(counters(l).channels_live, 0);
	free(sub);
	conn_free(c);
	stream_free(s);
	labpbx_stop(l);
}

/* ---- faults ---- */

Test(labpbx_xsi, fault_heartbeat_404)
{
	pd_labpbx *l = lab_up();
	int port = labpbx_port(l);
	stream *s = stream_open(port, "set-f");
	conn *c = conn_new(port);
	char path[512];
	snprintf(path, sizeof path, E "/channel/%s/heartbeat", s->channel_id);
	cr_assert_eq(req(c, "PUT", path, PW, NULL, NULL), 200);
	labpbx_inject(l, PD_LAB_FAULT_HEARTBEAT_404);
	int64_t until = deadline(3000);
	int st = 200;
	while (st == 200 && pd_live_now_ms() < until)
		st = req(c, "PUT", path, PW, NULL, NULL);
	cr_assert_eq(st, 404);
	conn_free(c);
	stream_free(s);
	labpbx_stop(l);
}

Test(labpbx_xsi, fault_channel_end)
{
	pd_labpbx *l = lab_up();
	stream *s = stream_open(labpbx_port(l), "set-e");
	labpbx_inject(l, PD_LAB_FAULT_CHANNEL_END);
	cr_assert(pump_until(s, has_event, "ChannelTerminatedEvent", 3000));
	cr_assert(pump_until(s, is_ended, NULL, 3000));
	cr_assert(s->ended, "the chunked stream ends with its last chunk");
	cr_assert_eq(s->errors, 0);
	cr_assert_eq(s->m[s->n - 1].type, XSI_EV_CHANNEL_TERMINATED);
	cr_assert_str_eq(s->m[s->n - 1].channel_id, s->channel_id);
	cr_assert_eq(counters(l).channels_ended, 1);
	stream_free(s);
	labpbx_stop(l);
}

Test(labpbx_xsi, fault_sub_end)
{
	pd_labpbx *l = lab_up();
	int port = labpbx_port(l), st;
	stream *s = stream_open(port, "set-s");
	char *sub = subscribe(port, E "/enterprise/lab-ent", "Advanced Call", "set-s", &st);
	labpbx_inject(l, PD_LAB_FAULT_SUB_END);
	cr_assert(pump_until(s, has_event, "SubscriptionTerminatedEvent", 3000));
	cr_assert_eq(s->m[s->n - 1].type, XSI_EV_SUBSCRIPTION_TERMINATED);
	cr_assert_str_eq(s->m[s->n - 1].subscription_id, sub);
	cr_assert_eq(counters(l).subscriptions_live, 0);
	free(sub);
	stream_free(s);
	labpbx_stop(l);
}

/* grant_expires_s: the <Channel> document, the subscription's answer and
 * the refreshes' answers grant at most that; a channel and a subscription
 * not refreshed again are ended at expiry (ChannelTerminatedEvent,
 * SubscriptionTerminatedEvent, the end of the stream), as an XSP does. */
Test(labpbx_xsi, short_grant_then_expiry_without_refresh)
{
	pd_labpbx *l = lab_up_opts((pd_labpbx_opts){.grant_expires_s = 2});
	int port = labpbx_port(l);
	stream *s = stream_open_granted(port, "set-x", 2);
	conn *c = conn_new(port);
	char *resp = NULL;
	cr_assert_eq(req(c, "POST", E "/enterprise/lab-ent", PW,
	                 "<Subscription xmlns=\"http://schema.broadsoft.com/xsi\"><event>Advanced "
	                 "Call</event><expires>3600</expires><channelSetId>set-x</channelSetId>"
	                 "<applicationId>provdesk</applicationId></Subscription>",
	                 &resp),
	             200);
	cr_assert(strstr(resp, "<expires>2</expires>"), "%s", resp);
	const char *a = strstr(resp, "<subscriptionId>"), *z = strstr(resp, "</subscriptionId>");
	cr_assert(a && z);
	char *sub = xasprintf("%.*s", (int)(z - a - 16), a + 16);
	free(resp);
	/* a shorter ask is granted as asked */
	char spath[512], path[512];
	snprintf(spath, sizeof spath, E "/subscription/%s", sub);
	resp = NULL;
	cr_assert_eq(req(c, "PUT", spath, PW,
	                 "<Subscription xmlns=\"http://schema.broadsoft.com/xsi\"><expires>1"
	                 "</expires></Subscription>",
	                 &resp),
	             200);
	cr_assert(strstr(resp, "<expires>1</expires>"), "%s", resp);
	free(resp);
	resp = NULL;
	cr_assert_eq(req(c, "PUT", spath, PW,
	                 "<Subscription xmlns=\"http://schema.broadsoft.com/xsi\"><expires>3600"
	                 "</expires></Subscription>",
	                 &resp),
	             200);
	cr_assert(strstr(resp, "<expires>2</expires>"), "%s", resp);
	free(resp);
	snprintf(path, sizeof path, E "/channel/%s", s->channel_id);
	cr_assert_eq(
	    req(c, "PUT", path, PW,
	        "<Channel xmlns=\"http://schema.broadsoft.com/xsi\"><expires>3600</expires>"
	        "</Channel>",
	        NULL),
	    200);
	cr_assert_eq(counters(l).refreshes, 3);
	/* a refresh refused is not counted */
	cr_assert_eq(req(c, "PUT", path, PW, "<Channel><expires>soon</expires></Channel>", NULL),
	             400);
	cr_assert_eq(counters(l).refreshes, 3);
	/* no more refreshes: both end within the 2 s granted */
	int64_t t0 = pd_live_now_ms();
	cr_assert(pump_until(s, has_event, "SubscriptionTerminatedEvent", 4000));
	cr_assert(pump_until(s, is_ended, NULL, 4000));
	cr_assert(has_event(s, "ChannelTerminatedEvent"));
	cr_assert_leq(pd_live_now_ms() - t0, 3500);
	pd_lab_xsi_counters k = counters(l);
	cr_assert_eq(k.channels_ended, 1);
	cr_assert_eq(k.subscriptions_live, 0);
	cr_assert_eq(k.channels_live, 0);
	/* gone: a late refresh is 404 */
	cr_assert_eq(
	    req(c, "PUT", spath, PW, "<Subscription><expires>2</expires></Subscription>", NULL),
	    404);
	cr_assert_eq(req(c, "PUT", path, PW, "<Channel><expires>2</expires></Channel>", NULL), 404);
	free(sub);
	conn_free(c);
	stream_free(s);
	labpbx_stop(l);
}

Test(labpbx_xsi, unacked_event_ends_channel)
{
	pd_labpbx *l = lab_up_opts((pd_labpbx_opts){.ack_timeout_ms = 300});
	int port = labpbx_port(l), st;
	stream *s = stream_open(port, "set-u");
	free(subscribe(port, E "/enterprise/lab-ent", "Advanced Call", "set-u", &st));
	labpbx_place_call(l, 0);
	cr_assert(pump_until(s, has_event, "CallReceivedEvent", 3000));
	cr_assert(pump_until(s, is_ended, NULL, 5000));
	cr_assert(has_event(s, "ChannelTerminatedEvent"));
	cr_assert_eq(counters(l).channels_ended, 1);
	cr_assert_eq(counters(l).acks, 0);
	stream_free(s);
	labpbx_stop(l);
}

Test(labpbx_xsi, acked_events_keep_channel)
{
	pd_labpbx *l = lab_up_opts((pd_labpbx_opts){.ack_timeout_ms = 500});
	int port = labpbx_port(l), st;
	stream *s = stream_open(port, "set-k");
	free(subscribe(port, E "/enterprise/lab-ent", "Advanced Call", "set-k", &st));
	conn *ac = conn_new(port);
	size_t acked = 0;
	labpbx_place_call(l, 0);
	int64_t until = deadline(4000);
	while (pd_live_now_ms() < until) {
		if (conn_more(s->c, pd_live_now_ms() + 100))
			decode(s);
		ack_all(s, ac, &acked);
	}
	cr_assert(!s->ended && !s->c->eof);
	cr_assert_eq(counters(l).channels_ended, 0);
	cr_assert(count_event(s, "CallReleasedEvent", NULL) >= 1);
	conn_free(ac);
	stream_free(s);
	labpbx_stop(l);
}

Test(labpbx_xsi, fault_secret_changed)
{
	pd_labpbx *l = lab_up();
	conn *c = conn_new(labpbx_port(l));
	const char *path = A "/enterprise/lab-ent/directories/Enterprise";
	cr_assert_eq(req(c, "GET", path, PW, NULL, NULL), 200);
	labpbx_set_secret(l, "new-Pw-2");
	cr_assert_eq(req(c, "GET", path, PW, NULL, NULL), 401);
	cr_assert_eq(req(c, "GET", path, "new-Pw-2", NULL, NULL), 200);
	conn_free(c);
	labpbx_stop(l);
}

Test(labpbx_xsi, fault_garbage)
{
	pd_labpbx *l = lab_up();
	stream *s = stream_open(labpbx_port(l), "set-x");
	labpbx_inject(l, PD_LAB_FAULT_GARBAGE);
	cr_assert(pump_until(s, is_fatal, NULL, 3000));
	cr_assert(!s->bad_chunks, "the garbage is inside the chunks, not in their framing");
	cr_assert(xsi_parser_fatal(s->p));
	stream_free(s);
	labpbx_stop(l);
}

Test(labpbx_xsi, fault_bytewise_still_parses)
{
	pd_labpbx *l = lab_up();
	int port = labpbx_port(l), st;
	stream *s = stream_open(port, "set-b");
	free(subscribe(port, E "/enterprise/lab-ent", "Advanced Call", "set-b", &st));
	conn *ac = conn_new(port);
	size_t acked = 0;
	labpbx_inject(l, PD_LAB_FAULT_BYTEWISE);
	size_t chunks0 = s->chunks;
	labpbx_place_call(l, 0);
	int64_t until = deadline(8000);
	while (count_event(s, "CallReleasedEvent", NULL) < 2 && pd_live_now_ms() < until) {
		if (conn_more(s->c, pd_live_now_ms() + 100))
			decode(s);
		ack_all(s, ac, &acked);
	}
	cr_assert_eq(count_event(s, "CallReleasedEvent", NULL), 2);
	cr_assert_eq(s->errors, 0);
	cr_assert(!s->bad_chunks);
	cr_assert(s->chunks - chunks0 > 6 * 20, "documents split into small chunks (%zu)",
	          s->chunks - chunks0);
	cr_assert_eq(s->min_chunk, 1);
	conn_free(ac);
	stream_free(s);
	labpbx_stop(l);
}

Test(labpbx_xsi, parse_fault_names)
{
	unsigned f;
	pd_err e;
	cr_assert_eq(labpbx_parse_faults("heartbeat-404,channel-end,sub-end", &f, &e), PD_OK);
	cr_assert_eq(f, PD_LAB_FAULT_XSI);
	cr_assert_eq(labpbx_parse_faults("xsi", &f, &e), PD_OK);
	cr_assert_eq(f,
	             PD_LAB_FAULT_HEARTBEAT_404 | PD_LAB_FAULT_CHANNEL_END | PD_LAB_FAULT_SUB_END);
	cr_assert_eq(labpbx_parse_faults("channel-stop", &f, &e), PD_E_USAGE);
}

/* ---- bad HTTP ---- */

static int raw_status(int port, const char *bytes, size_t n)
{
	conn *c = conn_new(port);
	send_all(c->fd, bytes, n);
	hresp r;
	int st = resp_read(c, &r, 5000) ? r.status : -1;
	if (st > 0)
		free(r.body);
	conn_free(c);
	return st;
}

Test(labpbx_xsi, bad_http_requests)
{
	pd_labpbx *l = lab_up();
	int port = labpbx_port(l);
	pd_buf big = {0};
	pd_buf_add(&big, "GET / HTTP/1.1\r\nX-Big: ");
	for (int i = 0; i < 10000; i++)
		pd_buf_addc(&big, 'a');
	pd_buf_add(&big, "\r\n\r\n");
	cr_assert_eq(raw_status(port, big.s, big.len), 431);
	pd_buf_free(&big);
	/* a header that never ends */
	pd_buf_add(&big, "GET / HTTP/1.1\r\nX-Big: ");
	for (int i = 0; i < 10000; i++)
		pd_buf_addc(&big, 'a');
	cr_assert_eq(raw_status(port, big.s, big.len), 431);
	pd_buf_free(&big);
	pd_buf_add(&big, "GET / HTTP/1.1\r\n");
	for (int i = 0; i < 100; i++)
		pd_buf_printf(&big, "X-%d: 1\r\n", i);
	pd_buf_add(&big, "\r\n");
	cr_assert_eq(raw_status(port, big.s, big.len), 431);
	pd_buf_free(&big);
	static const char *bad[] = {
	    "GARBAGE\r\n\r\n",
	    "GET /x\r\n\r\n",
	    "GET /x HTTP/9.9\r\n\r\n",
	    "get /x HTTP/1.1\r\n\r\n",
	    "GET  /x HTTP/1.1\r\n\r\n",
	    "GET x HTTP/1.1\r\n\r\n",
	    "GET /x HTTP/1.1\r\nno colon\r\n\r\n",
	    "POST /x HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
	    "POST /x HTTP/1.1\r\nContent-Length: 12abc\r\n\r\n",
	    "\x01\x02\x03\xff\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		cr_assert_eq(raw_status(port, bad[i], strlen(bad[i])), 400, "%s", bad[i]);
	static const char too_big[] = "POST /x HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n"
	                              "\r\n";
	cr_assert_eq(raw_status(port, too_big, strlen(too_big)), 413);
	static const char two_cl[] =
	    "POST /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n"
	    "\r\nab";
	cr_assert_eq(raw_status(port, two_cl, strlen(two_cl)), 400);
	static const char cl_te[] = "POST /x HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: "
	                            "chunked\r\n\r\n0\r\n\r\n";
	cr_assert_eq(raw_status(port, cl_te, strlen(cl_te)), 400);
	static const char gzip[] = "POST /x HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n";
	cr_assert_eq(raw_status(port, gzip, strlen(gzip)), 501);
	static const char bad_chunk[] = "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	                                "zz\r\nabc\r\n0\r\n\r\n";
	cr_assert_eq(raw_status(port, bad_chunk, strlen(bad_chunk)), 400);
	static const char huge_chunk[] = "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	                                 "7fffffff\r\nabc";
	cr_assert_eq(raw_status(port, huge_chunk, strlen(huge_chunk)), 413);
	static const char noauth[] = "GET " A "/enterprise/lab-ent/directories/Enterprise "
	                             "HTTP/1.1\r\n\r\n";
	cr_assert_eq(raw_status(port, noauth, strlen(noauth)), 401);
	static const char badauth[] = "GET / HTTP/1.1\r\nAuthorization: Basic !!!!\r\n\r\n";
	cr_assert_eq(raw_status(port, badauth, strlen(badauth)), 401);
	/* unknown paths and methods, with auth */
	conn *c = conn_new(port);
	cr_assert_eq(req(c, "GET", "/nope", PW, NULL, NULL), 404);
	cr_assert_eq(req(c, "GET", E "/channel/eventresponse", PW, NULL, NULL), 405);
	cr_assert_eq(req(c, "GET", C "/channel", PW, NULL, NULL), 405);
	cr_assert_eq(req(c, "POST", C "/channel", PW, "<Channel/>", NULL), 400);
	cr_assert_eq(req(c, "POST", E "/channel/eventresponse", PW, "<x/>", NULL), 400);
	cr_assert_eq(req(c, "POST", E "/enterprise/lab-ent", PW, "<Subscription/>", NULL), 400);
	/* the lab still serves */
	cr_assert_eq(req(c, "GET", A "/enterprise/lab-ent/directories/Enterprise", PW, NULL, NULL),
	             200);
	conn_free(c);
	labpbx_stop(l);
}

/* a request split into single bytes, and two requests in one write */
Test(labpbx_xsi, split_and_pipelined_requests)
{
	pd_labpbx *l = lab_up();
	conn *c = conn_new(labpbx_port(l));
	char *h = auth_header(USER, PW);
	char *one = xasprintf("GET " A "/enterprise/lab-ent/directories/Enterprise HTTP/1.1\r\n%s"
	                      "\r\n",
	                      h);
	for (size_t i = 0; one[i]; i++) {
		send_all(c->fd, one + i, 1);
		usleep(200);
	}
	hresp r;
	cr_assert(resp_read(c, &r, 5000));
	cr_assert_eq(r.status, 200);
	free(r.body);
	char *two = xasprintf("%s%s", one, one);
	send_all(c->fd, two, strlen(two));
	cr_assert(resp_read(c, &r, 5000));
	cr_assert_eq(r.status, 200);
	free(r.body);
	cr_assert(resp_read(c, &r, 5000));
	cr_assert_eq(r.status, 200);
	free(r.body);
	free(h);
	free(one);
	free(two);
	conn_free(c);
	labpbx_stop(l);
}

/* libcurl's uploads: a chunked body (no size known) with Expect: 100-continue */
Test(labpbx_xsi, chunked_request_body_and_continue)
{
	pd_labpbx *l = lab_up();
	int port = labpbx_port(l), st;
	stream *s = stream_open(port, "set-c");
	char *sub = subscribe(port, E "/enterprise/lab-ent", "Advanced Call", "set-c", &st);
	conn *c = conn_new(port);
	char *h = auth_header(USER, PW);
	char *head = xasprintf("PUT " E "/subscription/%s HTTP/1.1\r\n%sTransfer-Encoding: "
	                       "chunked\r\nExpect: 100-continue\r\n\r\n",
	                       sub, h);
	send_all(c->fd, head, strlen(head));
	int64_t until = deadline(3000);
	while (!(c->in.s && memmem(c->in.s, c->in.len, "\r\n\r\n", 4)))
		cr_assert(conn_more(c, until), "no 100 Continue");
	cr_assert(!strncmp(c->in.s, "HTTP/1.1 100 Continue\r\n\r\n", 25));
	c->in.len = 0;
	static const char *parts[] = {"<Subscription xmlns=\"x\"><expi",
	                              "res>60</expires></Subscri", "ption>"};
	pd_buf body = {0};
	for (size_t i = 0; i < 3; i++)
		pd_buf_printf(&body, "%zx;ext=1\r\n%s\r\n", strlen(parts[i]), parts[i]);
	pd_buf_add(&body, "0\r\nX-Trailer: 1\r\n\r\n");
	send_all(c->fd, body.s, body.len);
	pd_buf_free(&body);
	hresp r;
	cr_assert(resp_read(c, &r, 3000));
	cr_assert_eq(r.status, 200, "%s%s", r.head, r.body);
	cr_assert(strstr(r.body, "<expires>60</expires>"), "%s", r.body);
	free(r.body);
	free(head);
	free(h);
	free(sub);
	conn_free(c);
	stream_free(s);
	labpbx_stop(l);
}

/* drop: every connection closes, the channel with it */
Test(labpbx_xsi, fault_drop)
{
	pd_labpbx *l = lab_up();
	stream *s = stream_open(labpbx_port(l), "set-d");
	cr_assert_eq(counters(l).channels_live, 1);
	labpbx_inject(l, PD_LAB_FAULT_DROP);
	cr_assert(pump_until(s, is_ended, NULL, 3000));
	cr_assert(s->c->eof && !s->ended, "closed without the last chunk");
	int64_t until = deadline(3000);
	while (counters(l).channels_live && pd_live_now_ms() < until)
		usleep(10000);
	cr_assert_eq(counters(l).channels_live, 0);
	stream_free(s);
	labpbx_stop(l);
}

/* ---- TLS, read with libcurl against the self-signed certificate ---- */

static size_t curl_sink(char *p, size_t sz, size_t n, void *ud)
{
	pd_buf_addn(ud, p, sz * n);
	return sz * n;
}

static size_t curl_source(char *p, size_t sz, size_t n, void *ud)
{
	static const char body[] = "<Channel xmlns=\"http://schema.broadsoft.com/xsi\"/>";
	int *sent = ud;
	if (*sent || sz * n < sizeof body)
		return 0;
	*sent = 1;
	memcpy(p, body, sizeof body - 1);
	return sizeof body - 1;
}

Test(labpbx_xsi, tls_with_curl)
{
	char dir[] = "/tmp/pd-xsp-tls-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char cmd[1024];
	snprintf(cmd, sizeof cmd,
	         "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
	         "-days 2 -subj /CN=provdesk-lab -addext subjectAltName=IP:127.0.0.1 -keyout "
	         "%s/lab.key -out %s/lab.pem 2>%s/openssl.err",
	         dir, dir, dir);
	cr_assert_eq(system(cmd), 0, "openssl req failed");
	char cert[128], key[128];
	snprintf(cert, sizeof cert, "%s/lab.pem", dir);
	snprintf(key, sizeof key, "%s/lab.key", dir);
	pd_labpbx *l = lab_up_opts((pd_labpbx_opts){.tls_cert = cert, .tls_key = key});
	char url[256];
	snprintf(url, sizeof url,
	         "https://127.0.0.1:%d" A "/enterprise/lab-ent/directories/Enterprise?start=1"
	         "&results=500",
	         labpbx_port(l));
	CURL *cu = curl_easy_init();
	pd_buf body = {0};
	curl_easy_setopt(cu, CURLOPT_URL, url);
	curl_easy_setopt(cu, CURLOPT_CAINFO, cert);
	curl_easy_setopt(cu, CURLOPT_USERNAME, USER);
	curl_easy_setopt(cu, CURLOPT_PASSWORD, PW);
	curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, curl_sink);
	curl_easy_setopt(cu, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(cu, CURLOPT_TIMEOUT_MS, 10000L * tl_slow());
	CURLcode rc = curl_easy_perform(cu);
	cr_assert_eq(rc, CURLE_OK, "%s", curl_easy_strerror(rc));
	long code = 0;
	curl_easy_getinfo(cu, CURLINFO_RESPONSE_CODE, &code);
	cr_assert_eq(code, 200);
	xsi_dir_page p;
	char err[256];
	cr_assert(xsi_dir_parse(body.s, body.len, NULL, 1000, &p, err, sizeof err), "%s", err);
	cr_assert_eq(p.total, 8);
	xsi_dir_page_free(&p);
	/* the same handle again: the connection is reused */
	body.len = 0;
	cr_assert_eq(curl_easy_perform(cu), CURLE_OK);
	long conns = -1;
	curl_easy_getinfo(cu, CURLINFO_NUM_CONNECTS, &conns);
	cr_assert_eq(conns, 0, "keep-alive over TLS");
	/* a PUT as libcurl sends an upload of unknown size: chunked, Expect:
	 * 100-continue; the channel is unknown, so 404 proves it was read */
	snprintf(url, sizeof url, "https://127.0.0.1:%d" E "/channel/nope/heartbeat",
	         labpbx_port(l));
	curl_easy_setopt(cu, CURLOPT_URL, url);
	curl_easy_setopt(cu, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(cu, CURLOPT_READFUNCTION, curl_source);
	int sent = 0;
	curl_easy_setopt(cu, CURLOPT_READDATA, &sent);
	cr_assert_eq(curl_easy_perform(cu), CURLE_OK);
	curl_easy_getinfo(cu, CURLINFO_RESPONSE_CODE, &code);
	cr_assert_eq(code, 404);
	cr_assert(strstr(body.s, "<ErrorInfo"), "%s", body.s);
	curl_easy_cleanup(cu);
	pd_buf_free(&body);
	labpbx_stop(l);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

/* slow: 64 bytes per 100 ms; the documents still parse */
Test(labpbx_xsi, fault_slow_still_parses)
{
	pd_labpbx *l = lab_up();
	stream *s = stream_open(labpbx_port(l), "set-w");
	labpbx_inject(l, PD_LAB_FAULT_SLOW);
	labpbx_inject(l, PD_LAB_FAULT_CHANNEL_END);
	int64_t t0 = pd_live_now_ms();
	cr_assert(pump_until(s, is_ended, NULL, 5000));
	/* ChannelTerminatedEvent and the last chunk: over 300 bytes, 64 per 100 ms */
	cr_assert_geq(pd_live_now_ms() - t0, 300);
	cr_assert(s->ended);
	cr_assert_eq(s->errors, 0);
	cr_assert(has_event(s, "ChannelTerminatedEvent"));
	stream_free(s);
	labpbx_stop(l);
}

/* restart: every connection closes, the XSP forgets its subscriptions and
 * listens again after restart_ms */
Test(labpbx_xsi, fault_restart)
{
	pd_labpbx *l = lab_up_opts((pd_labpbx_opts){.restart_ms = 300});
	int port = labpbx_port(l), st;
	stream *s = stream_open(port, "set-r");
	free(subscribe(port, E "/enterprise/lab-ent", "Advanced Call", "set-r", &st));
	cr_assert_eq(counters(l).subscriptions_live, 1);
	labpbx_inject(l, PD_LAB_FAULT_RESTART);
	cr_assert(pump_until(s, is_ended, NULL, 3000));
	cr_assert_eq(counters(l).subscriptions_live, 0);
	/* the lab listens again: a request without auth is counted by this lab
	 * (not by another test's that took the port while it was free) */
	int64_t until = deadline(5000);
	bool back = false;
	while (!back && pd_live_now_ms() < until) {
		int fd = connect_to(port);
		if (fd < 0) {
			usleep(20000);
			continue;
		}
		conn *c = calloc(1, sizeof *c);
		c->fd = fd;
		req_send(c, "GET", "/", NULL, NULL);
		hresp r;
		if (resp_read(c, &r, 1000))
			free(r.body);
		conn_free(c);
		back = counters(l).unauthorized > 0;
		if (!back)
			usleep(20000);
	}
	cr_assert(back, "the lab listens again");
	stream *s2 = stream_open(port, "set-r");
	cr_assert_eq(counters(l).channels_opened, 2);
	stream_free(s2);
	stream_free(s);
	labpbx_stop(l);
}

/* a channel that is not read: the lab stops writing to it past its output
 * bound and keeps serving others (the unread events are never acknowledged,
 * so the channel ends) */
Test(labpbx_xsi, unread_channel_does_not_block)
{
	pd_labpbx *l = lab_up_opts((pd_labpbx_opts){.ack_timeout_ms = 500});
	int port = labpbx_port(l), st;
	stream *s = stream_open(port, "set-n");
	free(subscribe(port, E "/enterprise/lab-ent", "Advanced Call", "set-n", &st));
	for (int i = 0; i < 5; i++)
		labpbx_place_call(l, i % 2);
	conn *c = conn_new(port);
	cr_assert_eq(req(c, "GET", A "/enterprise/lab-ent/directories/Enterprise", PW, NULL, NULL),
	             200);
	int64_t until = deadline(5000);
	while (counters(l).channels_ended == 0 && pd_live_now_ms() < until)
		usleep(20000);
	cr_assert_eq(counters(l).channels_ended, 1);
	conn_free(c);
	stream_free(s);
	labpbx_stop(l);
}

/* an outbound call (CallOriginatedEvent, Originator) and a direct call (no
 * acdCallInfo): each a half of its own user */
Test(labpbx_xsi, outbound_and_direct_calls)
{
	pd_labpbx *l = lab_up();
	int port = labpbx_port(l), st;
	stream *s = stream_open(port, "set-o");
	free(subscribe(port, E "/enterprise/lab-ent", "Advanced Call", "set-o", &st));
	conn *ac = conn_new(port);
	size_t acked = 0;
	labpbx_place_call(l, -1);
	labpbx_place_call(l, -2);
	int64_t until = deadline(8000);
	while (count_event(s, "CallReleasedEvent", NULL) < 2 && pd_live_now_ms() < until) {
		if (conn_more(s->c, pd_live_now_ms() + 100))
			decode(s);
		ack_all(s, ac, &acked);
	}
	cr_assert_eq(s->errors, 0);
	cr_assert_eq(count_event(s, "CallOriginatedEvent", NULL), 1);
	cr_assert_eq(count_event(s, "CallReceivedEvent", NULL), 1);
	cr_assert_eq(count_event(s, "CallAnsweredEvent", NULL), 2);
	cr_assert_eq(count_event(s, "CallReleasedEvent", NULL), 2);
	for (size_t i = 0; i < s->n; i++) {
		const xsi_msg *m = &s->m[i];
		if (m->kind != XSI_MSG_EVENT)
			continue;
		cr_assert_str_eq(m->acd_user_id, "", "no queue on %s", m->type_name);
		if (m->type == XSI_EV_CALL_ORIGINATED) {
			cr_assert_str_eq(m->personality, "Originator");
			cr_assert(!strncmp(m->remote_number, "+3361", 5), "%s", m->remote_number);
		}
		if (m->type == XSI_EV_CALL_RECEIVED)
			cr_assert_str_eq(m->personality, "Terminator");
		cr_assert(strstr(m->target_id, "@lab.example"));
	}
	conn_free(ac);
	stream_free(s);
	labpbx_stop(l);
}

/* GET …/user/{id}/services/CallCenter: an agent's ACD state and code (no
 * subscription of a group brings them), a call center's own user no agent,
 * unknown users, other methods, a bad escape; a group administrator reads
 * its own group's agents only; the hostile option's answers by user index. */
Test(labpbx_xsi, agent_state_reads)
{
	pd_labpbx *l = lab_up_opts((pd_labpbx_opts){.sites = 2, .admin_group = "group-2"});
	labpbx_pause(l, "1002", true, "Lunch & <Break>");
	conn *c = conn_new(labpbx_port(l));
	char *body = NULL, v[XSI_VALUE_MAX];
	int64_t until = deadline(3000);
	int code;
	do { /* the pause is taken at the lab's next turn */
		free(body);
		body = NULL;
		code = req(c, "GET", A "/user/1002%40lab.example/services/CallCenter", PW, NULL,
		           &body);
	} while (code == 200 && !strstr(body, "Unavailable") && pd_live_now_ms() < until);
	cr_assert_eq(code, 200, "%s", body);
	cr_assert(xsi_value_of(body, strlen(body), "agentACDState", v, sizeof v));
	cr_assert_str_eq(v, "Unavailable");
	cr_assert(xsi_value_of(body, strlen(body), "agentUnavailableCode", v, sizeof v));
	cr_assert_str_eq(v, "Lunch & <Break>");
	free(body);
	cr_assert_eq(req(c, "GET", A "/user/1004@lab.example/services/CallCenter", PW, NULL, &body),
	             200, "unescaped as well");
	cr_assert(strstr(body, "<agentACDState>Available</agentACDState>"), "%s", body);
	cr_assert_null(strstr(body, "agentUnavailableCode"), "%s", body);
	free(body);
	/* 1001 is in group-1 */
	cr_assert_eq(
	    req(c, "GET", A "/user/1001%40lab.example/services/CallCenter", PW, NULL, NULL), 403);
	cr_assert_eq(
	    req(c, "GET", A "/user/sales%40lab.example/services/CallCenter", PW, NULL, &body), 400,
	    "the call center of group-2");
	cr_assert(strstr(body, "no Call Center agent service"), "%s", body);
	free(body);
	cr_assert_eq(
	    req(c, "GET", A "/user/9999%40lab.example/services/CallCenter", PW, NULL, NULL), 404);
	cr_assert_eq(req(c, "GET", A "/user/1002%40elsewhere/services/CallCenter", PW, NULL, NULL),
	             404);
	cr_assert_eq(req(c, "GET", A "/user/1002%4/services/CallCenter", PW, NULL, NULL), 400);
	cr_assert_eq(req(c, "GET", A "/user/1002%00x/services/CallCenter", PW, NULL, NULL), 400);
	cr_assert_eq(req(c, "PUT", A "/user/1002%40lab.example/services/CallCenter", PW,
	                 "<CallCenter/>", NULL),
	             405);
	cr_assert_eq(
	    req(c, "GET", A "/user/1002%40lab.example/services/CallCenter", "wrong", NULL, NULL),
	    401);
	cr_assert_eq(counters(l).state_reads >= 2, true);
	conn_free(c);
	labpbx_stop(l);
	/* hostile: by user index (1001 is 0) */
	l = lab_up_opts((pd_labpbx_opts){.users = 7, .xsi_bad_state_reads = true});
	c = conn_new(labpbx_port(l));
	static const struct {
		const char *ep;
		int code;
		bool well_formed;
	} want[] = {{"1001", 200, true}, {"1002", 200, false}, {"1003", 503, true},
	            {"1004", 200, true}, {"1005", 200, true},  {"1006", 403, true},
	            {"1007", 200, true}};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		char path[256];
		snprintf(path, sizeof path, A "/user/%s%%40lab.example/services/CallCenter",
		         want[i].ep);
		code = req(c, "GET", path, PW, NULL, &body);
		cr_assert_eq(code, want[i].code, "%s: %d", want[i].ep, code);
		bool ok = xsi_value_of(body, strlen(body), "agentACDState", v, sizeof v);
		cr_assert_eq(ok, want[i].well_formed && strlen(body) <= (4u << 20), "%s",
		             want[i].ep);
		if (!strcmp(want[i].ep, "1004"))
			cr_assert_str_eq(v, "Sign?In???");
		if (!strcmp(want[i].ep, "1005"))
			cr_assert_gt(strlen(body), 5u << 20, "the answer past 5 MiB");
		free(body);
	}
	conn_free(c);
	labpbx_stop(l);
}

/* GET …/user/{id}/calls and …/calls/{callId}: the call a lab started with
 * (calls_up) listed for its agent, read whole as a <Call> (Active, its
 * queue's acdCallInfo); a call not up is 404, the call centers' lists are
 * empty, other methods 405, a bad escape 400. */
Test(labpbx_xsi, call_reads)
{
	pd_labpbx *l = lab_up_opts((pd_labpbx_opts){.calls_up = 1, .talk_ms = 60000});
	conn *c = conn_new(labpbx_port(l));
	char *body = NULL, path[256], err[200];
	xsi_call_list cl = {0};
	int agent = -1;
	for (int i = 0; i < 6 && agent < 0; i++) {
		snprintf(path, sizeof path, A "/user/100%d%%40lab.example/calls", i + 1);
		cr_assert_eq(req(c, "GET", path, PW, NULL, &body), 200);
		cr_assert(xsi_calls_parse(body, strlen(body), NULL, 64, &cl, err, sizeof err), "%s",
		          err);
		if (cl.n)
			agent = i;
		else
			xsi_call_list_free(&cl);
		free(body);
	}
	cr_assert_geq(agent, 0, "no user lists the call up");
	cr_assert_eq(cl.n, 1);
	snprintf(path, sizeof path, A "/user/100%d%%40lab.example/calls/%s", agent + 1, cl.ids[0]);
	cr_assert_eq(req(c, "GET", path, PW, NULL, &body), 200);
	xsi_msg m;
	cr_assert(xsi_call_parse(body, strlen(body), NULL, &m, err, sizeof err), "%s: %s", err,
	          body);
	cr_assert_str_eq(m.call_id, cl.ids[0]);
	cr_assert_str_eq(m.state, "Active");
	cr_assert_str_eq(m.acd_name, "Support");
	cr_assert_gt(m.answer_time, 0);
	cr_assert_geq(m.answer_time, m.start_time);
	free(body);
	xsi_call_list_free(&cl);
	snprintf(path, sizeof path, A "/user/100%d%%40lab.example/calls/callhalf-none:1",
	         agent + 1);
	cr_assert_eq(req(c, "GET", path, PW, NULL, NULL), 404);
	cr_assert_eq(req(c, "GET", A "/user/support%40lab.example/calls", PW, NULL, &body), 200);
	cr_assert(xsi_calls_parse(body, strlen(body), NULL, 64, &cl, err, sizeof err), "%s", err);
	cr_assert_eq(cl.n, 0, "answered at once: not waiting in the queue");
	free(body);
	xsi_call_list_free(&cl);
	cr_assert_eq(req(c, "GET", A "/user/9999%40lab.example/calls", PW, NULL, NULL), 404);
	cr_assert_eq(req(c, "GET", A "/user/1001%4/calls", PW, NULL, NULL), 400);
	cr_assert_eq(req(c, "GET", A "/user/1001%40lab.example/calls/a%zz", PW, NULL, NULL), 400);
	cr_assert_eq(req(c, "DELETE", A "/user/1001%40lab.example/calls", PW, NULL, NULL), 405);
	cr_assert_eq(counters(l).call_reads, agent + 1 + 3,
	             "the lists, the call, the 404, the queue");
	conn_free(c);
	labpbx_stop(l);
}

/* a group administrator: its own group only, 403 elsewhere */
Test(labpbx_xsi, group_admin_forbidden_elsewhere)
{
	pd_labpbx *l = lab_up_opts((pd_labpbx_opts){.sites = 3, .admin_group = "group-2"});
	int port = labpbx_port(l), st;
	conn *c = conn_new(port);
	char *body = NULL;
	cr_assert_eq(req(c, "GET", A "/enterprise/lab-ent/directories/Enterprise", PW, NULL, &body),
	             403);
	cr_assert(strstr(body, "<ErrorInfo"), "%s", body);
	free(body);
	cr_assert_eq(req(c, "GET", A "/group/group-1/directories/Group?enterpriseId=lab-ent", PW,
	                 NULL, NULL),
	             403);
	cr_assert_eq(req(c, "GET", A "/group/group-2/directories/Group?enterpriseId=lab-ent", PW,
	                 NULL, NULL),
	             200);
	cr_assert_null(subscribe(port, E "/enterprise/lab-ent", "Advanced Call", "set-a", &st));
	cr_assert_eq(st, 403);
	cr_assert_null(subscribe(port, E "/group/group-3?enterpriseId=lab-ent", "Advanced Call",
	                         "set-a", &st));
	cr_assert_eq(st, 403);
	char *sub =
	    subscribe(port, E "/group/group-2?enterpriseId=lab-ent", "Advanced Call", "set-a", &st);
	cr_assert_eq(st, 200);
	free(sub);
	conn_free(c);
	labpbx_stop(l);
	/* a group the lab does not have */
	pd_labpbx_opts o = {
	    .platform = PD_LAB_BROADWORKS_XSI, .sites = 2, .admin_group = "group-3"};
	pd_err e;
	pd_err_clear(&e);
	cr_assert_eq(labpbx_start(&o, &l, &e), PD_E_USAGE);
	cr_assert_str_eq(e.field, "admin_group");
}

/* random bytes on many connections: answered 400 or 431 or dropped, and the
 * lab still serves */
Test(labpbx_xsi, random_bytes_do_not_break_the_lab)
{
	pd_labpbx *l = lab_up();
	int port = labpbx_port(l);
	uint64_t x = 88172645463325252ull;
	for (int i = 0; i < 60; i++) {
		int fd = connect_to(port);
		cr_assert_geq(fd, 0);
		char b[3000];
		size_t n = 1 + (size_t)(x % sizeof b);
		for (size_t k = 0; k < n; k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			b[k] = (char)(i % 3 == 0 ? "GET /\r\n: aA%"[x % 13] : (char)(x & 0xff));
		}
		send_all(fd, b, n);
		if (i % 2)
			send_all(fd, "\r\n\r\n", 4);
		close(fd);
	}
	conn *c = conn_new(port);
	cr_assert_eq(req(c, "GET", A "/enterprise/lab-ent/directories/Enterprise", PW, NULL, NULL),
	             200);
	conn_free(c);
	labpbx_stop(l);
}

/* The lab's stream read by the BroadWorks model (src/pbx/xsi/xsi_model.h)
 * as it arrives: a queue call is seen queued, ringing, connected, held,
 * connected again and ended, in queue "Support" with the directory's agent
 * name; the agent goes Ringing, On call, On hold, Wrap-up, Available. */
Test(labpbx_xsi, model_reads_the_lab)
{
	pd_labpbx *l = lab_up_opts((pd_labpbx_opts){.users = 3,
	                                            .queues = 1,
	                                            .wrapup_s = 1,
	                                            .hold_pct = 100,
	                                            .talk_ms = 1200,
	                                            .ring_ms = 300});
	int port = labpbx_port(l), st;
	xsi_model *m = xsi_model_new();
	conn *dc = conn_new(port);
	char *body = NULL;
	cr_assert_eq(req(dc, "GET",
	                 A "/enterprise/lab-ent/directories/Enterprise?start=1&results=500", PW,
	                 NULL, &body),
	             200);
	xsi_dir_page p;
	char err[256];
	cr_assert(xsi_dir_parse(body, strlen(body), NULL, 1000, &p, err, sizeof err), "%s", err);
	xsi_model_add_directory(m, &p);
	xsi_dir_page_free(&p);
	free(body);
	conn_free(dc);
	cr_assert_eq(xsi_model_user_count(m), 4);

	stream *s = stream_open(port, "set-m");
	free(subscribe(port, E "/enterprise/lab-ent", "Advanced Call", "set-m", &st));
	free(subscribe(port, E "/enterprise/lab-ent", "Call Center Agent", "set-m", &st));
	conn *ac = conn_new(port);
	/* the agents' states read as the driver does (none comes on subscribing) */
	for (size_t i = 0; i < xsi_model_user_count(m); i++) {
		char path[512], *cc = NULL, state[XSI_VALUE_MAX];
		char *id = curl_easy_escape(NULL, xsi_model_user_id(m, i), 0);
		snprintf(path, sizeof path, A "/user/%s/services/CallCenter", id);
		curl_free(id);
		int code = req(ac, "GET", path, PW, NULL, &cc);
		if (code == 200) {
			cr_assert(
			    xsi_value_of(cc, strlen(cc), "agentACDState", state, sizeof state));
			xsi_model_agent_read(m, xsi_model_user_id(m, i), state, "",
			                     xsi_model_mark(m), pd_live_now_ms());
		} else {
			cr_assert_eq(code, 400, "the call center's own user: %s", cc);
		}
		free(cc);
	}
	size_t acked = 0, applied = 0;
	bool call_seen[PD_CALL_ENDED + 1] = {0}, agent_seen[PD_AGENT_OFFLINE + 1] = {0};
	bool queue_ok = false, agent_named = false, back_available = false;
	labpbx_place_call(l, 0);
	int64_t until = deadline(10000);
	while (!back_available && pd_live_now_ms() < until) {
		if (conn_more(s->c, pd_live_now_ms() + 100))
			decode(s);
		ack_all(s, ac, &acked);
		int64_t now = pd_live_now_ms();
		for (; applied < s->n; applied++) { /* the view after each document */
			xsi_model_apply(m, &s->m[applied], now);
			pd_live_view v = {0};
			xsi_model_view(m, now, &v);
			for (size_t i = 0; i < v.n_calls; i++) {
				call_seen[v.calls[i].state] = true;
				queue_ok |=
				    v.calls[i].queue && !strcmp(v.calls[i].queue, "Support");
				agent_named |=
				    v.calls[i].agent && !strcmp(v.calls[i].agent, "Alice Martin");
			}
			for (size_t i = 0; i < v.n_agents; i++) {
				if (strcmp(v.agents[i].name, "Alice Martin") != 0)
					continue;
				if (agent_seen[PD_AGENT_WRAPUP] &&
				    v.agents[i].state == PD_AGENT_AVAILABLE)
					back_available = true;
				agent_seen[v.agents[i].state] = true;
			}
			pd_live_free_view(&v);
		}
	}
	cr_assert_eq(s->errors, 0);
	cr_assert(call_seen[PD_CALL_QUEUED] && call_seen[PD_CALL_RINGING] &&
	              call_seen[PD_CALL_CONNECTED] && call_seen[PD_CALL_HELD] &&
	              call_seen[PD_CALL_ENDED],
	          "queued %d ringing %d connected %d held %d ended %d", call_seen[PD_CALL_QUEUED],
	          call_seen[PD_CALL_RINGING], call_seen[PD_CALL_CONNECTED], call_seen[PD_CALL_HELD],
	          call_seen[PD_CALL_ENDED]);
	cr_assert(queue_ok && agent_named);
	cr_assert(agent_seen[PD_AGENT_AVAILABLE] && agent_seen[PD_AGENT_RINGING] &&
	          agent_seen[PD_AGENT_ON_CALL] && agent_seen[PD_AGENT_ON_HOLD] &&
	          agent_seen[PD_AGENT_WRAPUP] && back_available);
	xsi_model_free(m);
	conn_free(ac);
	stream_free(s);
	labpbx_stop(l);
}

/* two channels of one set: each event goes to one of them, the newest;
 * when it closes, the older one gets them again */
Test(labpbx_xsi, one_channel_of_a_set_gets_each_event)
{
	pd_labpbx *l = lab_up();
	int port = labpbx_port(l), st;
	stream *old = stream_open(port, "set-2ch");
	stream *neu = stream_open(port, "set-2ch");
	free(subscribe(port, E "/enterprise/lab-ent", "Advanced Call", "set-2ch", &st));
	labpbx_place_call(l, 0);
	cr_assert(pump_until(neu, has_event, "CallReceivedEvent", 3000));
	pump_until(old, has_event, "CallReceivedEvent", 200);
	cr_assert_eq(count_event(old, "CallReceivedEvent", NULL), 0);
	stream_free(neu);
	int64_t until = deadline(3000);
	while (counters(l).channels_live != 1 && pd_live_now_ms() < until)
		usleep(10000);
	cr_assert_eq(counters(l).channels_live, 1);
	labpbx_place_call(l, 1);
	cr_assert(pump_until(old, has_event, "CallReceivedEvent", 3000));
	stream_free(old);
	labpbx_stop(l);
}

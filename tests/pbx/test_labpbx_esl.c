/* The lab PBX's FreeSWITCH personality over real TCP, read with our ESL
 * parser (include/provdesk/esl.h): the bytes of auth/request, "-ERR invalid"
 * and the disconnect notice equal the recorded ones
 * (tests/fixtures/freeswitch/esl-auth-failed.txt), every api command a driver
 * needs answers in the recorded format (headers and JSON columns compared
 * with tests/fixtures/freeswitch/esl-commands-1.txt), events parse with no
 * error, a generated call gives CREATE -> ANSWER -> BRIDGE -> HANGUP_COMPLETE
 * with matching UUIDs, and every fault does what it says. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "provdesk/esl.h"
#include "provdesk/labpbx.h"
#include "provdesk/live.h"
#include "testlib.h"

#define PW "s3cr3t-Esl-Pw"

/* ---- a small ESL client: socket, parser, the messages copied out ---- */

typedef struct {
	char *name, *value;
} kv;

typedef struct {
	esl_kind kind;
	char *ctype, *reply, *job, *body;
	size_t blen;
	char *ev_name, *ev_sub;
	kv *ev;
	size_t nev;
} rmsg;

typedef struct {
	int fd;
	esl_parser *p;
	rmsg *m;
	size_t n, next;
	pd_buf raw; /* every byte received */
	bool closed;
	size_t errors;
} client;

static char *dupn(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	memcpy(d, s ? s : "", s ? n : 0);
	d[s ? n : 0] = '\0';
	return d;
}

static void on_msg(const esl_msg *m, void *ctx)
{
	client *c = ctx;
	if (m->kind == ESL_MSG_ERROR) {
		c->errors++;
		return;
	}
	c->m = realloc(c->m, (c->n + 1) * sizeof *c->m);
	rmsg *r = &c->m[c->n++];
	memset(r, 0, sizeof *r);
	r->kind = m->kind;
	r->ctype = strdup(m->content_type ? m->content_type : "");
	const char *rt = esl_get(m, "Reply-Text"), *job = esl_get(m, "Job-UUID");
	r->reply = rt ? strdup(rt) : NULL;
	r->job = job ? strdup(job) : NULL;
	r->body = dupn(m->body, m->body_len);
	r->blen = m->body ? m->body_len : 0;
	if (m->kind == ESL_MSG_EVENT) {
		r->ev_name = strdup(m->event_name ? m->event_name : "");
		r->ev_sub = m->event_subclass ? strdup(m->event_subclass) : NULL;
		r->ev = calloc(m->nev + 1, sizeof *r->ev);
		for (size_t i = 0; i < m->nev; i++)
			r->ev[i] = (kv){strdup(m->ev[i].name), strdup(m->ev[i].value)};
		r->nev = m->nev;
	}
}

static const char *ev_get(const rmsg *r, const char *name)
{
	for (size_t i = 0; i < r->nev; i++)
		if (!strcmp(r->ev[i].name, name))
			return r->ev[i].value;
	return NULL;
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

static client *cl_new(int port)
{
	client *c = calloc(1, sizeof *c);
	c->fd = connect_to(port);
	cr_assert_geq(c->fd, 0, "connect to the lab on %d: %s", port, strerror(errno));
	c->p = esl_parser_new(NULL, on_msg, c);
	return c;
}

static void cl_free(client *c)
{
	for (size_t i = 0; i < c->n; i++) {
		rmsg *r = &c->m[i];
		free(r->ctype), free(r->reply), free(r->job), free(r->body), free(r->ev_name);
		free(r->ev_sub);
		for (size_t k = 0; k < r->nev; k++)
			free(r->ev[k].name), free(r->ev[k].value);
		free(r->ev);
	}
	free(c->m);
	esl_parser_free(c->p);
	pd_buf_free(&c->raw);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

/* Reads what arrives within ms (returns at the first batch). */
static void cl_pump(client *c, int ms)
{
	if (c->closed)
		return;
	struct pollfd pf = {.fd = c->fd, .events = POLLIN};
	if (poll(&pf, 1, ms) <= 0)
		return;
	char buf[65536];
	ssize_t r = recv(c->fd, buf, sizeof buf, 0);
	if (r <= 0) {
		c->closed = true;
		return;
	}
	pd_buf_addn(&c->raw, buf, (size_t)r);
	esl_parser_feed(c->p, buf, (size_t)r);
}

static void cl_send(client *c, const char *cmd)
{
	pd_buf b = {0};
	pd_buf_printf(&b, "%s\n\n", cmd);
	cr_assert_eq(send(c->fd, b.s, b.len, MSG_NOSIGNAL), (ssize_t)b.len);
	pd_buf_free(&b);
}

/* The next message that is not an event, within the deadline. */
static rmsg *cl_reply(client *c)
{
	int64_t until = pd_live_now_ms() + 5000 * tl_slow();
	while (pd_live_now_ms() < until) {
		for (; c->next < c->n; c->next++)
			if (c->m[c->next].kind != ESL_MSG_EVENT)
				return &c->m[c->next++];
		cr_assert(!c->closed, "the lab closed the connection");
		cl_pump(c, 50);
	}
	cr_assert_fail("no reply within the deadline");
	return NULL;
}

static rmsg *cl_cmd(client *c, const char *cmd)
{
	cl_send(c, cmd);
	return cl_reply(c);
}

/* The first event (from index *from) named name (and with header k = v when
 * k), within the deadline; *from moves past it. */
static rmsg *cl_event(client *c, size_t *from, const char *name, const char *k, const char *v)
{
	int64_t until = pd_live_now_ms() + 8000 * tl_slow();
	while (pd_live_now_ms() < until) {
		for (; *from < c->n; (*from)++) {
			rmsg *r = &c->m[*from];
			if (r->kind != ESL_MSG_EVENT)
				continue;
			bool match =
			    !strcmp(r->ev_name, name) || (r->ev_sub && !strcmp(r->ev_sub, name));
			if (match && k) {
				const char *hv = ev_get(r, k);
				match = hv && !strcmp(hv, v);
			}
			if (match)
				return &c->m[(*from)++];
		}
		cr_assert(!c->closed, "the lab closed the connection");
		cl_pump(c, 50);
	}
	cr_assert_fail("no %s event (%s = %s) within the deadline", name, k ? k : "-", v ? v : "-");
	return NULL;
}

static void cl_auth(client *c, const char *pw)
{
	rmsg *r = cl_reply(c);
	cr_assert_eq(r->kind, ESL_MSG_AUTH_REQUEST);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "auth %s", pw);
	r = cl_cmd(c, cmd);
	cr_assert_eq(r->kind, ESL_MSG_COMMAND_REPLY);
	cr_assert_str_eq(r->reply, "+OK accepted");
}

static void wait_closed(client *c)
{
	int64_t until = pd_live_now_ms() + 5000 * tl_slow();
	while (!c->closed && pd_live_now_ms() < until)
		cl_pump(c, 50);
	cr_assert(c->closed, "the lab did not close the connection");
}

static pd_labpbx *lab_up_opts(pd_labpbx_opts o)
{
	o.platform = PD_LAB_FREESWITCH_ESL;
	o.secret = PW;
	if (!o.ring_ms)
		o.ring_ms = 150;
	if (!o.talk_ms)
		o.talk_ms = 300;
	if (!o.hold_pct)
		o.hold_pct = -1;
	o.outbound_pct = -1;
	o.wrapup_s = -1;
	if (!o.fault_ms)
		o.fault_ms = 500;
	o.restart_ms = 300;
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

/* ---- the recorded fixture ---- */

typedef struct {
	pd_buf first_lines; /* first line of every api/response body, one per line */
	json_t *json_keys;  /* "registrations"/"channels"/"calls" -> array of keys */
} recorded;

static void rec_msg(const esl_msg *m, void *ctx)
{
	recorded *r = ctx;
	if (m->kind != ESL_MSG_API_RESPONSE || !m->body)
		return;
	size_t n = strcspn(m->body, "\n");
	pd_buf_printf(&r->first_lines, "\n%.*s\n", (int)n, m->body);
	if (strncmp(m->body, "{\"row_count\"", 12) != 0)
		return;
	json_t *j = json_loads(m->body, 0, NULL);
	json_t *row = json_array_get(json_object_get(j, "rows"), 0);
	json_t *keys = json_array();
	const char *k;
	json_t *v;
	json_object_foreach(row, k, v) json_array_append_new(keys, json_string(k));
	const char *what = json_object_get(row, "reg_user")      ? "registrations"
	                   : json_object_get(row, "b_uuid")      ? "calls"
	                   : json_object_get(row, "application") ? "channels"
	                                                         : "other";
	json_object_set_new(r->json_keys, what, keys);
	json_decref(j);
}

static recorded *rec_load(void)
{
	recorded *r = calloc(1, sizeof *r);
	r->json_keys = json_object();
	size_t len;
	char *d = tl_slurp_fixture("freeswitch/esl-commands-1.txt", &len);
	cr_assert(d);
	esl_parser *p = esl_parser_new(NULL, rec_msg, r);
	esl_parser_feed(p, d, len);
	esl_parser_free(p);
	free(d);
	return r;
}

static void rec_free(recorded *r)
{
	pd_buf_free(&r->first_lines);
	json_decref(r->json_keys);
	free(r);
}

/* The body's first line is the first line of a recorded api/response. */
static void assert_recorded_header(recorded *rec, const rmsg *m)
{
	size_t n = strcspn(m->body, "\n");
	char *want = NULL;
	cr_assert(asprintf(&want, "\n%.*s\n", (int)n, m->body) > 0);
	cr_assert(strstr(rec->first_lines.s, want), "header line not as recorded: %s", want);
	free(want);
}

/* A JSON show: row_count a number, every value a string, the keys (in
 * order) those of the recording. */
static void assert_recorded_json(recorded *rec, const rmsg *m, const char *what, size_t min_rows)
{
	json_error_t je;
	json_t *j = json_loads(m->body, 0, &je);
	cr_assert(j, "not JSON: %s (%s)", je.text, m->body);
	json_t *rc = json_object_get(j, "row_count"), *rows = json_object_get(j, "rows");
	cr_assert(json_is_integer(rc));
	cr_assert_geq((size_t)json_integer_value(rc), min_rows, "%s: rows", what);
	cr_assert_eq(json_array_size(rows), (size_t)json_integer_value(rc));
	json_t *want = json_object_get(rec->json_keys, what);
	cr_assert(want, "no recorded %s", what);
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row)
	{
		const char *k;
		json_t *v;
		size_t n = 0;
		json_object_foreach(row, k, v)
		{
			cr_assert(json_is_string(v), "%s.%s is not a string", what, k);
			cr_assert_str_eq(k, json_string_value(json_array_get(want, n)),
			                 "%s: column %zu", what, n);
			n++;
		}
		cr_assert_eq(n, json_array_size(want), "%s: columns", what);
	}
	json_decref(j);
}

static bool ends_with(const rmsg *m, const char *tail)
{
	size_t n = strlen(tail);
	return m->blen >= n && !memcmp(m->body + m->blen - n, tail, n);
}

/* ---- session ---- */

Test(labpbx_esl, auth_refused_bytes_equal_the_recording)
{
	pd_labpbx *l = lab_up();
	client *c = cl_new(labpbx_port(l));
	size_t len;
	char *client_bytes = tl_slurp_fixture("freeswitch/esl-auth-failed-client.txt", &len);
	cr_assert(client_bytes);
	/* the recorded client sent "auth wrong-password\n\n" */
	cr_assert_eq(send(c->fd, client_bytes, len, MSG_NOSIGNAL), (ssize_t)len);
	wait_closed(c);
	char *want = tl_slurp_fixture("freeswitch/esl-auth-failed.txt", &len);
	cr_assert_eq(c->raw.len, len, "got %zu bytes: %.*s", c->raw.len, (int)c->raw.len, c->raw.s);
	cr_assert(!memcmp(c->raw.s, want, len), "bytes differ: %s", c->raw.s);
	cr_assert_eq(c->errors, 0);
	cr_assert_eq(labpbx_logins(l), 0);
	free(want);
	free(client_bytes);
	cl_free(c);
	labpbx_stop(l);
}

Test(labpbx_esl, auth_accepted_and_commands_before_auth_refused)
{
	pd_labpbx *l = lab_up();
	client *c = cl_new(labpbx_port(l));
	rmsg *r = cl_reply(c);
	cr_assert_eq(r->kind, ESL_MSG_AUTH_REQUEST);
	cr_assert_str_eq(c->raw.s, "Content-Type: auth/request\n\n");
	r = cl_cmd(c, "api status"); /* not yet */
	cr_assert_eq(r->kind, ESL_MSG_COMMAND_REPLY);
	cr_assert_str_eq(r->reply, "-ERR command not found");
	r = cl_cmd(c, "auth " PW);
	cr_assert_str_eq(r->reply, "+OK accepted");
	int64_t until = pd_live_now_ms() + 2000 * tl_slow();
	while (labpbx_sessions(l) != 1 && pd_live_now_ms() < until)
		cl_pump(c, 20);
	cr_assert_eq(labpbx_sessions(l), 1);
	cr_assert_eq(labpbx_logins(l), 1);
	/* exit: "+OK bye", then the disconnect notice as recorded, then close */
	size_t before = c->raw.len;
	cl_send(c, "exit");
	wait_closed(c);
	const char want[] = "Content-Type: command/reply\nReply-Text: +OK bye\n\n"
	                    "Content-Type: text/disconnect-notice\nContent-Length: 67\n\n"
	                    "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n";
	cr_assert_eq(c->raw.len - before, sizeof want - 1);
	cr_assert(!memcmp(c->raw.s + before, want, sizeof want - 1));
	size_t len;
	char *rec = tl_slurp_fixture("freeswitch/esl-session-1.txt", &len);
	cr_assert(len > sizeof want &&
	              !memcmp(rec + len - (sizeof want - 1), want, sizeof want - 1),
	          "the recorded session ends the same way");
	free(rec);
	cr_assert_eq(c->errors, 0);
	cl_free(c);
	labpbx_stop(l);
}

Test(labpbx_esl, bad_commands)
{
	pd_labpbx *l = lab_up();
	client *c = cl_new(labpbx_port(l));
	cl_auth(c, PW);
	rmsg *r = cl_cmd(c, "foo bar");
	cr_assert_str_eq(r->reply, "-ERR command not found");
	r = cl_cmd(c, "api");
	cr_assert_eq(r->kind, ESL_MSG_COMMAND_REPLY);
	cr_assert_str_eq(r->reply, "-ERR command not found");
	r = cl_cmd(c, "bgapi");
	cr_assert_str_eq(r->reply, "-ERR command not found");
	r = cl_cmd(c, "event plain NO_SUCH_EVENT");
	cr_assert_str_eq(r->reply, "-ERR no keywords supplied");
	r = cl_cmd(c, "event json CHANNEL_CREATE");
	cr_assert(!strncmp(r->reply, "-ERR", 4), "%s", r->reply);
	r = cl_cmd(c, "linger");
	cr_assert_str_eq(r->reply, "-ERR not controlling a session");
	/* an unknown name beside a valid one is ignored */
	r = cl_cmd(c, "event plain NO_SUCH_EVENT HEARTBEAT");
	cr_assert_str_eq(r->reply, "+OK event listener enabled plain");
	/* CRLF line ends are taken too */
	cr_assert_eq(send(c->fd, "api version\r\n\r\n", 15, MSG_NOSIGNAL), 15);
	r = cl_reply(c);
	cr_assert_str_eq(r->body, "FreeSWITCH Version 1.10.12-release~64bit ( 64bit)\n");
	/* api output for a user input with control bytes stays framed */
	r = cl_cmd(c, "api nosuch\x1b[2Jcmd");
	cr_assert_eq(r->kind, ESL_MSG_API_RESPONSE);
	cr_assert_eq(c->errors, 0);
	/* a command that never ends: the lab closes rather than buffer it */
	char *big = malloc(70000);
	memset(big, 'x', 70000);
	for (size_t off = 0; off < 70000;) {
		ssize_t w = send(c->fd, big + off, 70000 - off, MSG_NOSIGNAL);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	free(big);
	wait_closed(c);
	cl_free(c);
	labpbx_stop(l);
}

/* ---- api ---- */

Test(labpbx_esl, api_commands_answer_as_recorded)
{
	recorded *rec = rec_load();
	pd_labpbx *l = lab_up_opts((pd_labpbx_opts){.talk_ms = 60000});
	client *c = cl_new(labpbx_port(l));
	cl_auth(c, PW);

	rmsg *r = cl_cmd(c, "api status");
	cr_assert_eq(r->kind, ESL_MSG_API_RESPONSE);
	cr_assert(!strncmp(r->body, "UP 0 years, ", 12), "%s", r->body);
	cr_assert(strstr(r->body, "\nFreeSWITCH (Version 1.10.12-release  64bit) is ready\n"));
	cr_assert(ends_with(r, "Current Stack Size/Max 240K/8192K\n"));
	r = cl_cmd(c, "api version");
	cr_assert_str_eq(r->body, "FreeSWITCH Version 1.10.12-release~64bit ( 64bit)\n");

	/* list_users: the recorded header, one row per user, "\n+OK\n" */
	r = cl_cmd(c, "api list_users");
	assert_recorded_header(rec, r);
	cr_assert(ends_with(r, "\n\n+OK\n"));
	cr_assert(strstr(r->body,
	                 "\n1001|default|default|support|sofia/internal/sip:1001@127.0.0.1:"
	                 "5271;ob|support|Alice Martin|1001\n"),
	          "%s", r->body);
	cr_assert(strstr(r->body, "|Hélène Dubois|1008\n"), "raw UTF-8 names");
	cr_assert(strstr(r->body, "|Liam O'Brien|1012\n"), "apostrophes");
	cr_assert(strstr(r->body, "\n1010|default|default|sales|error/user_not_registered|"));
	size_t rows = 0;
	for (const char *p = r->body; (p = strchr(p, '\n')); p++)
		rows++;
	cr_assert_eq(rows, 1 + 20 + 1 + 1, "header, 20 users, empty line, +OK");
	r = cl_cmd(c, "api list_users group support");
	cr_assert(strstr(r->body, "|support|") && !strstr(r->body, "|sales|"));
	r = cl_cmd(c, "api list_users user 1003");
	cr_assert(strstr(r->body, "\n1003|") && !strstr(r->body, "\n1001|"));

	/* user_data: the email without a newline; none -> "-ERR no reply\n" */
	r = cl_cmd(c, "api user_data 1001@default param email");
	cr_assert_str_eq(r->body, "alice.martin@lab.example");
	r = cl_cmd(c, "api user_data 1008@default param email");
	cr_assert_str_eq(r->body, "helene.dubois@lab.example");
	r = cl_cmd(c, "api user_data 1007@default param email");
	cr_assert_str_eq(r->body, "-ERR no reply\n");
	r = cl_cmd(c, "api user_data 9999@default param email");
	cr_assert_str_eq(r->body, "-ERR no reply\n");
	r = cl_cmd(c, "api user_data 1008@default var effective_caller_id_name");
	cr_assert_str_eq(r->body, "Hélène Dubois");

	/* a call up, bridged, for the channel and call lists */
	cr_assert_str_eq(cl_cmd(c, "event plain CHANNEL_BRIDGE")->reply,
	                 "+OK event listener enabled plain");
	labpbx_place_call(l, 0);
	size_t from = 0;
	cl_event(c, &from, "CHANNEL_BRIDGE", NULL, NULL);

	r = cl_cmd(c, "api show registrations as json");
	assert_recorded_json(rec, r, "registrations", 18);
	r = cl_cmd(c, "api show registrations");
	assert_recorded_header(rec, r);
	cr_assert(ends_with(r, "\n\n18 total.\n"));
	r = cl_cmd(c, "api show registrations count");
	cr_assert_str_eq(r->body, "\n18 total.\n");
	r = cl_cmd(c, "api show channels as json");
	assert_recorded_json(rec, r, "channels", 2);
	r = cl_cmd(c, "api show channels");
	assert_recorded_header(rec, r);
	cr_assert(ends_with(r, "\n\n2 total.\n"));
	r = cl_cmd(c, "api show channels count");
	cr_assert_str_eq(r->body, "\n2 total.\n");
	r = cl_cmd(c, "api show calls as json");
	assert_recorded_json(rec, r, "calls", 1);
	r = cl_cmd(c, "api show calls");
	assert_recorded_header(rec, r);
	r = cl_cmd(c, "api show calls count");
	cr_assert_str_eq(r->body, "\n1 total.\n");

	/* mod_callcenter lists: the recorded headers, "+OK\n" last */
	const char *cc[] = {"api callcenter_config agent list",
	                    "api callcenter_config queue list",
	                    "api callcenter_config queue list agents support@default",
	                    "api callcenter_config queue list members support@default",
	                    "api callcenter_config queue list tiers support@default",
	                    "api callcenter_config tier list"};
	for (size_t i = 0; i < sizeof cc / sizeof cc[0]; i++) {
		r = cl_cmd(c, cc[i]);
		assert_recorded_header(rec, r);
		cr_assert(ends_with(r, "\n+OK\n"), "%s: %s", cc[i], r->body);
	}
	r = cl_cmd(c, "api callcenter_config agent list");
	cr_assert(strstr(r->body, "\n1001@default|single_box|"), "%s", r->body);
	cr_assert(strstr(r->body,
	                 "|callback|[leg_timeout=12]user/1001@default|Available|In a queue "
	                 "call|"),
	          "%s", r->body);
	cr_assert(strstr(r->body, "user/1010@default|Logged Out|Idle|"), "%s", r->body);
	r = cl_cmd(c, "api callcenter_config queue count members support@default");
	cr_assert_str_eq(r->body, "1\n");
	r = cl_cmd(c, "api callcenter_config queue list members support@default");
	cr_assert(strstr(r->body, "|1001@default|single_box|Answered|"), "%s", r->body);
	r = cl_cmd(c, "api callcenter_config agent get status 1003@default");
	cr_assert_str_eq(r->body, "Available");
	r = cl_cmd(c, "api callcenter_config agent set status 1003@default 'Lunch'");
	cr_assert_str_eq(r->body, "-ERR Invalid Agent Status!\n");
	r = cl_cmd(c, "api callcenter_config agent set status 1003@default 'On Break'");
	cr_assert_str_eq(r->body, "+OK\n");
	r = cl_cmd(c, "api callcenter_config agent get status 1003@default");
	cr_assert_str_eq(r->body, "On Break");
	r = cl_cmd(c,
	           "api callcenter_config agent set status 1003@default 'Available (On Demand)'");
	cr_assert_str_eq(r->body, "+OK\n");
	r = cl_cmd(c, "api callcenter_config agent get status 1003@default");
	cr_assert_str_eq(r->body, "Available (On Demand)");
	r = cl_cmd(c, "api callcenter_config agent set status 1003@default 'Logged Out'");
	r = cl_cmd(c, "api callcenter_config agent list");
	cr_assert(strstr(r->body, "user/1003@default|Logged Out|Idle|"), "%s", r->body);
	r = cl_cmd(c, "api callcenter_config agent set status 9999@default 'Available'");
	cr_assert_str_eq(r->body, "-ERR Invalid Agent!\n");

	r = cl_cmd(c, "api sofia status");
	assert_recorded_header(rec, r);
	cr_assert(ends_with(r, "3 profiles 0 aliases\n"));

	/* unknown: as recorded, byte for byte */
	size_t before = c->raw.len;
	r = cl_cmd(c, "api nosuchcmd");
	const char want[] = "Content-Type: api/response\nContent-Length: 34\n\n"
	                    "-ERR nosuchcmd Command not found!\n";
	cr_assert_eq(c->raw.len - before, sizeof want - 1);
	cr_assert(!memcmp(c->raw.s + before, want, sizeof want - 1));
	size_t len;
	char *fx = tl_slurp_fixture("freeswitch/esl-commands-1.txt", &len);
	cr_assert(memmem(fx, len, want, sizeof want - 1), "as in esl-commands-1.txt");
	free(fx);

	cr_assert_eq(c->errors, 0);
	cl_free(c);
	labpbx_stop(l);
	rec_free(rec);
}

Test(labpbx_esl, bgapi_reply_then_background_job)
{
	pd_labpbx *l = lab_up();
	client *c = cl_new(labpbx_port(l));
	cl_auth(c, PW);
	/* not subscribed: the reply only */
	rmsg *r = cl_cmd(c, "bgapi status");
	cr_assert(!strncmp(r->reply, "+OK Job-UUID: ", 14));
	cr_assert_str_eq(r->reply + 14, r->job);
	cr_assert_str_eq(cl_cmd(c, "event plain BACKGROUND_JOB")->reply,
	                 "+OK event listener enabled plain");
	r = cl_cmd(c, "bgapi show calls count");
	char *job = strdup(r->job);
	size_t from = 0;
	rmsg *e = cl_event(c, &from, "BACKGROUND_JOB", "Job-UUID", job);
	cr_assert_str_eq(ev_get(e, "Job-Command"), "show");
	cr_assert_str_eq(ev_get(e, "Job-Command-Arg"), "calls count");
	cr_assert_str_eq(e->body, "\n0 total.\n");
	r = cl_cmd(c, "bgapi nosuchcmd");
	free(job);
	job = strdup(r->job);
	e = cl_event(c, &from, "BACKGROUND_JOB", "Job-UUID", job);
	cr_assert_null(ev_get(e, "Job-Command-Arg"), "absent without arguments");
	cr_assert_str_eq(e->body, "-ERR nosuchcmd Command not found!\n");
	free(job);
	cr_assert_eq(c->errors, 0);
	cl_free(c);
	labpbx_stop(l);
}

Test(labpbx_esl, second_domain)
{
	pd_labpbx *l = lab_up_opts((pd_labpbx_opts){.sites = 2});
	client *c = cl_new(labpbx_port(l));
	cl_auth(c, PW);
	rmsg *r = cl_cmd(c, "api list_users");
	cr_assert(strstr(r->body, "\n1001|default|default|"), "%s", r->body);
	cr_assert(strstr(r->body, "\n1002|site-2|site-2|"), "%s", r->body);
	r = cl_cmd(c, "api list_users domain site-2");
	cr_assert(!strstr(r->body, "|default|"));
	r = cl_cmd(c, "api user_data 1002@site-2 param email");
	cr_assert_str_eq(r->body, "bob.dupont@lab.example");
	r = cl_cmd(c, "api user_data 1002@default param email");
	cr_assert_str_eq(r->body, "-ERR no reply\n");
	r = cl_cmd(c, "api show registrations as json");
	cr_assert(strstr(r->body, "\"realm\":\"site-2\""));
	cl_free(c);
	labpbx_stop(l);
}

/* A queued caller's leg is in mod_callcenter with its own queue (the driver's
 * snapshot reads the queue from application_data after every reconnect). */
Test(labpbx_esl, a_queued_leg_names_its_own_queue_in_show_channels)
{
	pd_labpbx *l = lab_up_opts((pd_labpbx_opts){.ring_ms = 60000});
	client *c = cl_new(labpbx_port(l));
	cl_auth(c, PW);
	cr_assert_str_eq(cl_cmd(c, "event plain CUSTOM callcenter::info")->reply,
	                 "+OK event listener enabled plain");
	labpbx_place_call(l, 1);
	size_t from = 0;
	rmsg *mqs = cl_event(c, &from, "callcenter::info", "CC-Action", "member-queue-start");
	cr_assert_str_eq(ev_get(mqs, "CC-Queue"), "sales@default");
	rmsg *r = cl_cmd(c, "api show channels as json");
	cr_assert(strstr(r->body,
	                 "\"application\":\"callcenter\",\"application_data\":\"sales@default\""),
	          "%s", r->body);
	cr_assert(!strstr(r->body, "support@default"), "%s", r->body);
	cl_free(c);
	labpbx_stop(l);
}

/* ---- events ---- */

static const char *const subscription =
    "event plain CHANNEL_CREATE CHANNEL_ANSWER CHANNEL_BRIDGE CHANNEL_UNBRIDGE CHANNEL_HOLD "
    "CHANNEL_UNHOLD CHANNEL_HANGUP_COMPLETE HEARTBEAT BACKGROUND_JOB CUSTOM callcenter::info "
    "sofia::register sofia::unregister";

Test(labpbx_esl, recorded_subscription_is_accepted)
{
	size_t len;
	char *rec = tl_slurp_fixture("freeswitch/esl-session-1-client.txt", &len);
	cr_assert(rec);
	char *line = NULL;
	cr_assert(asprintf(&line, "%s\n\n", subscription) > 0);
	cr_assert(strstr(rec, line), "the test subscribes as the recorded client did");
	free(line);
	free(rec);
}

Test(labpbx_esl, a_queue_call_gives_the_channel_and_callcenter_events)
{
	pd_labpbx *l = lab_up_opts((pd_labpbx_opts){.hold_pct = 100});
	client *c = cl_new(labpbx_port(l));
	cl_auth(c, PW);
	cr_assert_str_eq(cl_cmd(c, subscription)->reply, "+OK event listener enabled plain");
	labpbx_place_call(l, 0);
	size_t from = 0;
	rmsg *cr = cl_event(c, &from, "CHANNEL_CREATE", "Call-Direction", "inbound");
	char *caller = strdup(ev_get(cr, "Unique-ID"));
	cr_assert_str_eq(ev_get(cr, "Channel-Call-State"), "DOWN");
	cr_assert(!strncmp(ev_get(cr, "Channel-Name"), "sofia/carrier/+331555", 21));
	cr_assert_str_eq(ev_get(cr, "Caller-Caller-ID-Name"), "Customer 01");
	cr_assert_str_eq(ev_get(cr, "Caller-Destination-Number"), "support");
	rmsg *ans = cl_event(c, &from, "CHANNEL_ANSWER", "Unique-ID", caller);
	cr_assert_str_eq(ev_get(ans, "Answer-State"), "answered");
	size_t cc = 0;
	rmsg *mqs = cl_event(c, &cc, "callcenter::info", "CC-Action", "member-queue-start");
	cr_assert_str_eq(ev_get(mqs, "Event-Name"), "CUSTOM");
	cr_assert_str_eq(ev_get(mqs, "CC-Queue"), "support@default");
	cr_assert_str_eq(ev_get(mqs, "CC-Member-Session-UUID"), caller);
	cr_assert_str_eq(ev_get(mqs, "variable_cc_queue"), "support@default");
	/* the agent's phone rings: a second leg, Receiving, offering */
	rmsg *acr = cl_event(c, &from, "CHANNEL_CREATE", "Call-Direction", "outbound");
	char *agent_leg = strdup(ev_get(acr, "Unique-ID"));
	cr_assert_str_eq(ev_get(acr, "variable_cc_member_session_uuid"), caller);
	const char *agent = ev_get(acr, "variable_cc_agent");
	cr_assert(agent && strstr(agent, "@default"), "%s", agent ? agent : "(none)");
	char *agent_id = strdup(agent);
	cl_event(c, &cc, "callcenter::info", "CC-Agent-State", "Receiving");
	rmsg *off = cl_event(c, &cc, "callcenter::info", "CC-Action", "agent-offering");
	cr_assert_str_eq(ev_get(off, "CC-Agent"), agent_id);
	cr_assert_str_eq(ev_get(off, "CC-Agent-Type"), "callback");
	/* answered and bridged */
	cl_event(c, &from, "CHANNEL_ANSWER", "Unique-ID", agent_leg);
	rmsg *br = cl_event(c, &from, "CHANNEL_BRIDGE", "Unique-ID", caller);
	cr_assert_str_eq(ev_get(br, "Bridge-A-Unique-ID"), caller);
	cr_assert_str_eq(ev_get(br, "Bridge-B-Unique-ID"), agent_leg);
	cr_assert_str_eq(ev_get(br, "Other-Leg-Unique-ID"), agent_leg);
	cr_assert_str_eq(ev_get(br, "Other-Type"), "originatee");
	cl_event(c, &cc, "callcenter::info", "CC-Agent-State", "In a queue call");
	rmsg *bas = cl_event(c, &cc, "callcenter::info", "CC-Action", "bridge-agent-start");
	cr_assert_str_eq(ev_get(bas, "CC-Agent-UUID"), agent_leg);
	/* hold and unhold on the agent's leg */
	rmsg *h = cl_event(c, &from, "CHANNEL_HOLD", "Unique-ID", agent_leg);
	cr_assert_str_eq(ev_get(h, "Channel-Call-State"), "HELD");
	cr_assert_str_eq(ev_get(h, "Other-Leg-Unique-ID"), caller);
	h = cl_event(c, &from, "CHANNEL_UNHOLD", "Unique-ID", agent_leg);
	cr_assert_str_eq(ev_get(h, "Channel-Call-State"), "UNHELD");
	/* the end */
	rmsg *ub = cl_event(c, &from, "CHANNEL_UNBRIDGE", "Unique-ID", caller);
	cr_assert_str_eq(ev_get(ub, "Bridge-B-Unique-ID"), agent_leg);
	rmsg *hc1 = cl_event(c, &from, "CHANNEL_HANGUP_COMPLETE", NULL, NULL);
	size_t from2 = from;
	rmsg *hc2 = cl_event(c, &from2, "CHANNEL_HANGUP_COMPLETE", NULL, NULL);
	bool both = (!strcmp(ev_get(hc1, "Unique-ID"), caller) &&
	             !strcmp(ev_get(hc2, "Unique-ID"), agent_leg)) ||
	            (!strcmp(ev_get(hc1, "Unique-ID"), agent_leg) &&
	             !strcmp(ev_get(hc2, "Unique-ID"), caller));
	cr_assert(both, "both legs hang up");
	cr_assert_str_eq(ev_get(hc1, "Hangup-Cause"), "NORMAL_CLEARING");
	cr_assert_str_eq(ev_get(hc1, "Channel-Call-State"), "HANGUP");
	cr_assert_str_eq(ev_get(hc1, "variable_Event-Name"), "REQUEST_PARAMS");
	cr_assert_str_eq(ev_get(hc1, "Event-Name"), "CHANNEL_HANGUP_COMPLETE");
	rmsg *bae = cl_event(c, &cc, "callcenter::info", "CC-Action", "bridge-agent-end");
	cr_assert_str_eq(ev_get(bae, "CC-Hangup-Cause"), "SUCCESS");
	rmsg *mqe = cl_event(c, &cc, "callcenter::info", "CC-Action", "member-queue-end");
	cr_assert_str_eq(ev_get(mqe, "CC-Cause"), "Terminated");
	cl_event(c, &cc, "callcenter::info", "CC-Agent-State", "Waiting");
	/* order: CREATE -> ANSWER -> BRIDGE -> HANGUP_COMPLETE of the caller */
	long at_create = -1, at_answer = -1, at_bridge = -1, at_hangup = -1;
	for (size_t i = 0; i < c->n; i++) {
		rmsg *m = &c->m[i];
		if (m->kind != ESL_MSG_EVENT || !ev_get(m, "Unique-ID") ||
		    strcmp(ev_get(m, "Unique-ID"), caller))
			continue;
		long *slot = !strcmp(m->ev_name, "CHANNEL_CREATE")            ? &at_create
		             : !strcmp(m->ev_name, "CHANNEL_ANSWER")          ? &at_answer
		             : !strcmp(m->ev_name, "CHANNEL_BRIDGE")          ? &at_bridge
		             : !strcmp(m->ev_name, "CHANNEL_HANGUP_COMPLETE") ? &at_hangup
		                                                              : NULL;
		if (slot && *slot < 0)
			*slot = (long)i;
	}
	cr_assert(at_create >= 0 && at_create < at_answer && at_answer < at_bridge &&
	          at_bridge < at_hangup);
	cr_assert_eq(c->errors, 0, "every event parses");
	free(caller), free(agent_leg), free(agent_id);
	cl_free(c);
	labpbx_stop(l);
}

Test(labpbx_esl, an_outbound_call_and_agent_status_and_registrations)
{
	pd_labpbx *l = lab_up();
	client *c = cl_new(labpbx_port(l));
	cl_auth(c, PW);
	cr_assert_str_eq(cl_cmd(c, subscription)->reply, "+OK event listener enabled plain");
	labpbx_place_call(l, -1);
	size_t from = 0;
	rmsg *u = cl_event(c, &from, "CHANNEL_CREATE", "Call-Direction", "inbound");
	char *user_leg = strdup(ev_get(u, "Unique-ID"));
	cr_assert(!strncmp(ev_get(u, "Channel-Name"), "sofia/internal/", 15));
	rmsg *t = cl_event(c, &from, "CHANNEL_CREATE", "Call-Direction", "outbound");
	char *trunk = strdup(ev_get(t, "Unique-ID"));
	rmsg *br = cl_event(c, &from, "CHANNEL_BRIDGE", NULL, NULL);
	cr_assert_str_eq(ev_get(br, "Bridge-A-Unique-ID"), user_leg);
	cr_assert_str_eq(ev_get(br, "Bridge-B-Unique-ID"), trunk);
	cl_event(c, &from, "CHANNEL_HANGUP_COMPLETE", "Unique-ID", trunk);
	cl_event(c, &from, "CHANNEL_HANGUP_COMPLETE", "Unique-ID", user_leg);

	labpbx_pause(l, "1003", true, "Lunch");
	size_t cc = 0;
	rmsg *s = cl_event(c, &cc, "callcenter::info", "CC-Action", "agent-status-change");
	cr_assert_str_eq(ev_get(s, "CC-Agent"), "1003@default");
	cr_assert_str_eq(ev_get(s, "CC-Agent-Status"), "On Break");
	labpbx_pause(l, "1010", false, NULL); /* Logged Out -> Available */
	s = cl_event(c, &cc, "callcenter::info", "CC-Agent", "1010@default");
	cr_assert_str_eq(ev_get(s, "CC-Agent-Status"), "Available");

	labpbx_register(l, "1008", false);
	rmsg *r = cl_event(c, &from, "sofia::unregister", "from-user", "1008");
	cr_assert_str_eq(ev_get(r, "expires"), "0");
	cr_assert_str_eq(ev_get(r, "contact"), "\"Hélène Dubois\" <sip:1008@127.0.0.1:5278;ob>");
	rmsg *list = cl_cmd(c, "api list_users user 1008");
	cr_assert(strstr(list->body, "error/user_not_registered"));
	labpbx_register(l, "1008", true);
	r = cl_event(c, &from, "sofia::register", "from-user", "1008");
	cr_assert_str_eq(ev_get(r, "status"), "Registered(UDP)");
	cr_assert_str_eq(ev_get(r, "from-host"), "default");
	cr_assert_eq(c->errors, 0);
	/* noevents: nothing more */
	cr_assert_str_eq(cl_cmd(c, "noevents")->reply, "+OK no longer listening for events");
	size_t n = c->n;
	labpbx_pause(l, "1003", false, NULL);
	cr_assert_str_eq(cl_cmd(c, "api version")->body,
	                 "FreeSWITCH Version 1.10.12-release~64bit ( 64bit)\n");
	cr_assert_eq(c->n, n + 1, "only the reply after noevents");
	free(user_leg), free(trunk);
	cl_free(c);
	labpbx_stop(l);
}

Test(labpbx_esl, heartbeat)
{
	pd_labpbx *l = lab_up_opts((pd_labpbx_opts){.heartbeat_ms = 200});
	client *c = cl_new(labpbx_port(l));
	cl_auth(c, PW);
	cr_assert_str_eq(cl_cmd(c, "event plain HEARTBEAT")->reply,
	                 "+OK event listener enabled plain");
	size_t from = 0;
	rmsg *h = cl_event(c, &from, "HEARTBEAT", NULL, NULL);
	cr_assert_str_eq(ev_get(h, "Event-Info"), "System Ready");
	cr_assert(ev_get(h, "Up-Time") && ev_get(h, "Uptime-msec") && ev_get(h, "Session-Count"));
	cr_assert_str_eq(ev_get(h, "FreeSWITCH-IPv6"), "::1", "percent-decoded");
	const char *seq1 = ev_get(h, "Event-Sequence");
	long s1 = strtol(seq1, NULL, 10);
	h = cl_event(c, &from, "HEARTBEAT", NULL, NULL);
	cr_assert_gt(strtol(ev_get(h, "Event-Sequence"), NULL, 10), s1);
	cr_assert_eq(c->errors, 0);
	cl_free(c);
	labpbx_stop(l);
}

/* ---- faults ---- */

static client *subscribed(pd_labpbx *l)
{
	client *c = cl_new(labpbx_port(l));
	cl_auth(c, PW);
	cr_assert_str_eq(cl_cmd(c, subscription)->reply, "+OK event listener enabled plain");
	return c;
}

Test(labpbx_esl, fault_drop)
{
	pd_labpbx *l = lab_up();
	client *c = subscribed(l);
	labpbx_inject(l, PD_LAB_FAULT_DROP);
	wait_closed(c);
	cl_free(c);
	c = subscribed(l); /* still listening */
	cl_free(c);
	labpbx_stop(l);
}

Test(labpbx_esl, fault_half_open_stalls)
{
	pd_labpbx *l = lab_up();
	client *c = subscribed(l);
	labpbx_inject(l, PD_LAB_FAULT_HALF_OPEN);
	/* a second client proves the lab's loop ran the fault */
	client *d = subscribed(l);
	cl_free(d);
	cl_send(c, "api status");
	size_t n = c->n;
	int64_t until = pd_live_now_ms() + 600;
	while (pd_live_now_ms() < until)
		cl_pump(c, 50);
	cr_assert_eq(c->n, n, "no answer");
	cr_assert(!c->closed, "but the connection stays open");
	cl_free(c);
	labpbx_stop(l);
}

Test(labpbx_esl, fault_slow_and_bytewise_keep_the_framing)
{
	pd_labpbx *l = lab_up_opts((pd_labpbx_opts){.fault_ms = 3000});
	client *c = subscribed(l);
	labpbx_inject(l, PD_LAB_FAULT_SLOW);
	int64_t t0 = pd_live_now_ms();
	rmsg *r = cl_cmd(c, "api version");
	cr_assert_str_eq(r->body, "FreeSWITCH Version 1.10.12-release~64bit ( 64bit)\n");
	cr_assert_geq(pd_live_now_ms() - t0, 100, "95 bytes at 64 per 100 ms");
	labpbx_inject(l, PD_LAB_FAULT_BYTEWISE);
	r = cl_cmd(c, "api status");
	cr_assert(ends_with(r, "Current Stack Size/Max 240K/8192K\n"));
	cr_assert_eq(c->errors, 0);
	cl_free(c);
	labpbx_stop(l);
}

Test(labpbx_esl, fault_garbage_breaks_the_stream)
{
	pd_labpbx *l = lab_up();
	client *c = subscribed(l);
	labpbx_inject(l, PD_LAB_FAULT_GARBAGE);
	int64_t until = pd_live_now_ms() + 5000 * tl_slow();
	while (esl_parser_errors(c->p) == 0 && pd_live_now_ms() < until)
		cl_pump(c, 50);
	cr_assert_gt(esl_parser_errors(c->p), 0);
	cl_free(c);
	labpbx_stop(l);
}

Test(labpbx_esl, fault_restart)
{
	pd_labpbx *l = lab_up();
	int port = labpbx_port(l);
	client *c = subscribed(l);
	labpbx_inject(l, PD_LAB_FAULT_RESTART);
	wait_closed(c);
	rmsg *last = &c->m[c->n - 1];
	cr_assert_eq(last->kind, ESL_MSG_DISCONNECT, "as FreeSWITCH stopping");
	cr_assert_str_eq(last->body, "The system is being shut down.\n");
	size_t len;
	char *rec = tl_slurp_fixture("freeswitch/esl-errors-and-json.txt", &len);
	const char tail[] = "Content-Type: text/disconnect-notice\nContent-Length: 31\n\n"
	                    "The system is being shut down.\n";
	size_t n = sizeof tail - 1;
	cr_assert(!memcmp(rec + len - n, tail, n), "as recorded");
	cr_assert(c->raw.len >= n && !memcmp(c->raw.s + c->raw.len - n, tail, n));
	free(rec);
	cl_free(c);
	/* serving again after restart_ms (300 ms): a connection is greeted
	 * (one accepted while it restarts is closed without a word) */
	int64_t until = pd_live_now_ms() + 5000 * tl_slow();
	bool greeted = false;
	while (!greeted && pd_live_now_ms() < until) {
		int fd = connect_to(port);
		char buf[64] = "";
		if (fd >= 0) {
			struct pollfd pf = {.fd = fd, .events = POLLIN};
			if (poll(&pf, 1, 500) == 1 && recv(fd, buf, sizeof buf - 1, 0) > 0)
				greeted = strstr(buf, "auth/request") != NULL;
			close(fd);
		}
		if (!greeted)
			poll(NULL, 0, 50);
	}
	cr_assert(greeted, "the lab serves again after its restart");
	c = subscribed(l);
	cl_free(c);
	labpbx_stop(l);
}

Test(labpbx_esl, fault_flood)
{
	pd_labpbx *l = lab_up_opts((pd_labpbx_opts){.fault_ms = 3000});
	client *c = subscribed(l);
	labpbx_inject(l, PD_LAB_FAULT_FLOOD);
	int64_t until = pd_live_now_ms() + 5000 * tl_slow();
	size_t creates = 0, from = 0;
	while (creates < 1000 && pd_live_now_ms() < until) {
		cl_pump(c, 50);
		for (; from < c->n; from++)
			creates += c->m[from].kind == ESL_MSG_EVENT &&
			           !strcmp(c->m[from].ev_name, "CHANNEL_CREATE");
	}
	cr_assert_geq(creates, 1000, "CHANNEL_CREATE without hangups");
	cr_assert_eq(c->errors, 0);
	cl_free(c);
	labpbx_stop(l);
}

Test(labpbx_esl, fault_huge_event_is_skipped_and_the_stream_goes_on)
{
	pd_labpbx *l = lab_up();
	client *c = subscribed(l);
	labpbx_inject(l, PD_LAB_FAULT_HUGE);
	int64_t until = pd_live_now_ms() + 20000 * tl_slow();
	while (esl_parser_errors(c->p) == 0 && pd_live_now_ms() < until)
		cl_pump(c, 50);
	/* the reply comes after the 16 MB, which the parser skips unread */
	rmsg *r = cl_cmd(c, "api version");
	cr_assert_gt(c->raw.len, 16u * 1024 * 1024);
	cr_assert_eq(esl_parser_errors(c->p), 1, "one message above max_msg");
	cr_assert(!esl_parser_failed(c->p), "the framing holds");
	cr_assert_str_eq(r->body, "FreeSWITCH Version 1.10.12-release~64bit ( 64bit)\n");
	cr_assert_lt(esl_parser_memory(c->p), 1u << 20);
	cl_free(c);
	labpbx_stop(l);
}

Test(labpbx_esl, fault_ctrl_bytes_cost_their_messages_only)
{
	pd_labpbx *l = lab_up();
	client *c = subscribed(l);
	labpbx_inject(l, PD_LAB_FAULT_CTRL);
	int64_t until = pd_live_now_ms() + 5000 * tl_slow();
	while (esl_parser_errors(c->p) < 3 && pd_live_now_ms() < until)
		cl_pump(c, 50);
	cr_assert_eq(esl_parser_errors(c->p), 3, "encoded, raw, and in an outer header");
	cr_assert(!esl_parser_failed(c->p));
	rmsg *r = cl_cmd(c, "api version");
	cr_assert_str_eq(r->body, "FreeSWITCH Version 1.10.12-release~64bit ( 64bit)\n");
	for (size_t i = 0; i < c->n; i++)
		for (size_t k = 0; k < c->m[i].nev; k++)
			for (const char *p = c->m[i].ev[k].value; *p; p++)
				cr_assert(*p == '\t' || (unsigned char)*p >= 0x20,
				          "no control byte delivered");
	cl_free(c);
	labpbx_stop(l);
}

Test(labpbx_esl, fault_bidi_reaches_the_client_as_valid_utf8)
{
	pd_labpbx *l = lab_up();
	client *c = subscribed(l);
	labpbx_inject(l, PD_LAB_FAULT_BIDI);
	size_t from = 0;
	rmsg *e = cl_event(c, &from, "CHANNEL_CREATE", "Caller-Caller-ID-Name",
	                   "\xe2\x80\xaegro.live\xc2\x9b"
	                   "31m Bidi");
	cr_assert(strstr(ev_get(e, "Caller-Caller-ID-Name"), "\xe2\x80\xae"));
	cr_assert_eq(c->errors, 0);
	cl_free(c);
	labpbx_stop(l);
}

Test(labpbx_esl, asterisk_only_options_are_refused)
{
	pd_labpbx *l = NULL;
	pd_err e;
	pd_err_clear(&e);
	pd_labpbx_opts o = {.platform = PD_LAB_FREESWITCH_ESL, .legacy_sip = true};
	cr_assert_eq(labpbx_start(&o, &l, &e), PD_E_USAGE);
	cr_assert_str_eq(e.field, "platform");
	cr_assert_null(l);
}

Test(labpbx_esl, event_bytes_are_framed_and_encoded_as_recorded)
{
	pd_labpbx *l = lab_up();
	client *c = subscribed(l);
	size_t start = c->raw.len;
	labpbx_register(l, "1008", false); /* Hélène Dubois */
	labpbx_register(l, "1012", false); /* Liam O'Brien */
	size_t from = 0;
	cl_event(c, &from, "sofia::unregister", "from-user", "1008");
	cl_event(c, &from, "sofia::unregister", "from-user", "1012");
	char *raw = dupn(c->raw.s + start, c->raw.len - start);
	/* events: Content-Length first, then Content-Type, as recorded */
	cr_assert(!strncmp(raw, "Content-Length: ", 16), "%.40s", raw);
	cr_assert(strstr(raw, "\nContent-Type: text/event-plain\n\nEvent-Subclass: "
	                      "sofia%3A%3Aunregister\nEvent-Name: CUSTOM\nCore-UUID: "));
	/* UTF-8 byte by byte, upper-case hex, the apostrophe as it is: the
	 * recorded FreeSWITCH wrote these forms (esl-session-1.txt) */
	cr_assert(strstr(raw,
	                 "\ncontact: %22H%C3%A9l%C3%A8ne%20Dubois%22%20%3Csip%3A1008%40127.0.0.1"
	                 "%3A5278%3Bob%3E\n"),
	          "%s", raw);
	cr_assert(strstr(raw, "\neffective_caller_id_name: Liam%20O'Brien\n"), "%s", raw);
	size_t len;
	char *rec = tl_slurp_fixture("freeswitch/esl-session-1.txt", &len);
	cr_assert(strstr(rec,
	                 "\ncontact: %22H%C3%A9l%C3%A8ne%20Dubois%22%20%3Csip%3A1001%40127.0.0.1"
	                 "%3A5271%3Bob%3E\n"));
	cr_assert(strstr(rec, "\nCaller-Caller-ID-Name: Marc%20O'Brien\n"));
	/* the date forms */
	cr_assert(strstr(raw, "\nEvent-Date-GMT: "), "%s", raw);
	const char *gmt = strstr(raw, "\nEvent-Date-GMT: ") + 17;
	cr_assert(strstr(gmt, "%20GMT\n") && gmt[3] == ',' && !strncmp(gmt + 4, "%20", 3), "%.60s",
	          gmt);
	free(rec);
	free(raw);
	cr_assert_eq(c->errors, 0);
	cl_free(c);
	labpbx_stop(l);
}

/* The ESL parser against the recorded FreeSWITCH 1.10 traffic
 * (tests/fixtures/freeswitch/README.md): the README's counts, decoded values,
 * every split of the short recordings, a sample of splits of the 5.7 MB one
 * (all those inside percent-encoded UTF-8), 1-byte feeding, random chunkings;
 * then every error of bad input, the bounds, and the command writer. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provdesk/esl.h"
#include "testlib.h" /* tests/lib */

static char *slurp(const char *name, size_t *len)
{
	char rel[256];
	snprintf(rel, sizeof rel, "freeswitch/%s", name);
	char *b = tl_slurp_fixture(rel, len);
	cr_assert(b, "cannot read the fixture %s", rel);
	return b;
}

/* A small string -> count table. */
typedef struct {
	char k[96][64];
	size_t n[96];
	size_t len;
} tally;

static void bump(tally *t, const char *k)
{
	size_t i;
	for (i = 0; i < t->len; i++)
		if (!strcmp(t->k[i], k))
			break;
	if (i == t->len) {
		cr_assert_lt(t->len, 96);
		snprintf(t->k[i], sizeof t->k[i], "%s", k);
		t->len++;
	}
	t->n[i]++;
}

static size_t count(const tally *t, const char *k)
{
	for (size_t i = 0; i < t->len; i++)
		if (!strcmp(t->k[i], k))
			return t->n[i];
	return 0;
}

typedef struct {
	pd_buf out;     /* canonical text of every message (unless hash_only) */
	bool hash_only; /* the split loops compare a hash: text is too slow */
	bool no_pos;    /* segment parses: numbers and offsets restart */
	uint64_t h;
	size_t n_msgs, n_errors, n_fatal;
	char last_error[300];
	tally types, events, actions, causes, cc_causes;
	char own_jobs[8][40];
	size_t n_own_jobs, own_jobs_seen, var_event_name, json_events;
	uint64_t last_no, last_off;
	const char *data; /* the fixture, to check offsets */
} sink;

static void hash(sink *s, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		s->h = (s->h ^ b[i]) * 1099511628211ull;
	s->h = (s->h ^ 0xff) * 1099511628211ull; /* separator */
}

static void hash_msg(sink *s, const esl_msg *m)
{
	hash(s, &m->kind, sizeof m->kind);
	if (!s->no_pos) {
		hash(s, &m->msg_no, sizeof m->msg_no);
		hash(s, &m->offset, sizeof m->offset);
	}
	hash(s, m->content_type, strlen(m->content_type));
	for (size_t i = 0; i < m->nh; i++) {
		hash(s, m->h[i].name, m->h[i].name_len);
		hash(s, m->h[i].value, m->h[i].value_len);
	}
	for (size_t i = 0; i < m->nev; i++) {
		hash(s, m->ev[i].name, m->ev[i].name_len);
		hash(s, m->ev[i].value, m->ev[i].value_len);
	}
	if (m->body)
		hash(s, m->body, m->body_len);
	if (m->text)
		hash(s, m->text, strlen(m->text));
	hash(s, &m->fatal, 1);
	hash(s, &m->json, 1);
}

static void on_msg(const esl_msg *m, void *ctx)
{
	sink *s = ctx;
	s->n_msgs++;
	if (m->kind == ESL_MSG_ERROR) {
		s->n_errors++;
		s->n_fatal += m->fatal;
		snprintf(s->last_error, sizeof s->last_error, "%s", m->text);
	}
	if (s->hash_only) {
		hash_msg(s, m);
		return;
	}
	pd_buf_printf(&s->out, "#%d %s", (int)m->kind, m->content_type);
	if (m->text)
		pd_buf_printf(&s->out, "[%s]%s", m->text, m->fatal ? "!" : "");
	for (size_t i = 0; i < m->nh; i++) {
		cr_assert_eq(strlen(m->h[i].name), m->h[i].name_len);
		cr_assert_eq(strlen(m->h[i].value), m->h[i].value_len);
		pd_buf_printf(&s->out, "|%s=%s", m->h[i].name, m->h[i].value);
	}
	if (m->kind == ESL_MSG_EVENT) {
		pd_buf_printf(&s->out, " <%s%s%s>", m->event_name, m->event_subclass ? " " : "",
		              m->event_subclass ? m->event_subclass : "");
		for (size_t i = 0; i < m->nev; i++) {
			cr_assert_eq(strlen(m->ev[i].name), m->ev[i].name_len);
			cr_assert_eq(strlen(m->ev[i].value), m->ev[i].value_len);
			pd_buf_printf(&s->out, "|%s=%s", m->ev[i].name, m->ev[i].value);
		}
	}
	if (m->body) {
		cr_assert_eq(m->body[m->body_len], '\0');
		pd_buf_add(&s->out, "{");
		pd_buf_addn(&s->out, m->body, m->body_len);
		pd_buf_add(&s->out, "}");
	}
	pd_buf_addc(&s->out, '\n');
	bump(&s->types, m->kind == ESL_MSG_ERROR ? "error" : m->content_type);
	/* numbers run 1, 2, 3 (a message may give two errors: a bad line, then a
	 * bad length) and each message starts where the file has it */
	if (m->kind == ESL_MSG_ERROR)
		cr_assert(m->msg_no == s->last_no + 1 || m->msg_no == s->last_no);
	else
		cr_assert_eq(m->msg_no, s->last_no + 1);
	s->last_no = m->msg_no;
	if (s->data && m->kind != ESL_MSG_ERROR) {
		cr_assert(s->last_no == 1 || m->offset > s->last_off);
		cr_assert(!strncmp(s->data + m->offset, "Content-", 8), "message %llu at %llu",
		          (unsigned long long)m->msg_no, (unsigned long long)m->offset);
		s->last_off = m->offset;
	}
	if (m->kind == ESL_MSG_COMMAND_REPLY && esl_get(m, "Job-UUID") && s->n_own_jobs < 8)
		snprintf(s->own_jobs[s->n_own_jobs++], 40, "%s", esl_get(m, "Job-UUID"));
	if (m->kind != ESL_MSG_EVENT)
		return;
	s->json_events += m->json;
	char key[64];
	snprintf(key, sizeof key, "%s%s%s", m->event_name, m->event_subclass ? " " : "",
	         m->event_subclass ? m->event_subclass : "");
	bump(&s->events, key);
	if (esl_event_get(m, "variable_Event-Name"))
		s->var_event_name++;
	const char *a = esl_event_get(m, "CC-Action");
	if (a)
		bump(&s->actions, a);
	if (a && !strcmp(a, "member-queue-end"))
		bump(&s->cc_causes, esl_event_get0(m, "CC-Cause"));
	if (!strcmp(m->event_name, "CHANNEL_HANGUP_COMPLETE"))
		bump(&s->causes, esl_event_get0(m, "Hangup-Cause"));
	if (!strcmp(m->event_name, "BACKGROUND_JOB"))
		for (size_t i = 0; i < s->n_own_jobs; i++)
			if (!strcmp(s->own_jobs[i], esl_event_get0(m, "Job-UUID")))
				s->own_jobs_seen++;
}

static void sink_init(sink *s, bool hash_only)
{
	memset(s, 0, sizeof *s);
	s->hash_only = hash_only;
	s->h = 14695981039346656037ull;
}

static void sink_free(sink *s)
{
	pd_buf_free(&s->out);
}

static void parse_chunks(sink *s, const char *d, size_t len, const size_t *cuts, size_t ncuts,
                         const esl_parser_opts *o)
{
	esl_parser *p = esl_parser_new(o, on_msg, s);
	size_t at = 0;
	for (size_t i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : len;
		esl_parser_feed(p, d + at, end - at);
		at = end;
	}
	esl_parser_free(p);
}

static void one_shot(sink *s, const char *d, size_t len)
{
	sink_init(s, false);
	s->data = d;
	parse_chunks(s, d, len, NULL, 0, NULL);
}

static void hashed(sink *s, const char *d, size_t len, const size_t *cuts, size_t ncuts)
{
	sink_init(s, true);
	parse_chunks(s, d, len, cuts, ncuts, NULL);
}

/* Under valgrind (PD_TEST_SLOW, ~10-50x slower) the split tests take every
 * stride-th split: valgrind is there for memory errors, the release and ASan
 * runs check every split. */
static size_t stride(void)
{
	const char *v = getenv("PD_TEST_SLOW");
	return v && atoi(v) > 1 ? 16 : 1;
}

static void every_split(const char *name)
{
	size_t len;
	char *d = slurp(name, &len);
	sink ref;
	hashed(&ref, d, len, NULL, 0);
	cr_assert_eq(ref.n_errors, 0, "%s: %s", name, ref.last_error);
	for (size_t cut = 0; cut <= len; cut += stride()) {
		sink s;
		hashed(&s, d, len, &cut, 1);
		cr_assert_eq(s.n_msgs, ref.n_msgs, "%s split at %zu", name, cut);
		cr_assert_eq(s.h, ref.h, "%s split at %zu", name, cut);
	}
	free(d);
}

/* ---- the recordings ---- */

Test(esl_parser, session_counts_match_readme)
{
	size_t len;
	char *d = slurp("esl-session-1.txt", &len);
	sink s;
	one_shot(&s, d, len);
	cr_assert_eq(s.n_errors, 0, "%s", s.last_error);
	cr_assert_eq(s.n_msgs, 1050);
	cr_assert_eq(count(&s.types, "auth/request"), 1);
	cr_assert_eq(count(&s.types, "command/reply"), 5);
	cr_assert_eq(count(&s.types, "api/response"), 6);
	cr_assert_eq(count(&s.types, "text/event-plain"), 1037);
	cr_assert_eq(count(&s.types, "text/disconnect-notice"), 1);
	cr_assert_eq(s.types.len, 5);
	cr_assert_eq(s.json_events, 0);
	static const struct {
		const char *k;
		size_t n;
	} ev[] =
	    {
	        {"CUSTOM callcenter::info", 441},
	        {"CHANNEL_CREATE", 140},
	        {"CHANNEL_HANGUP_COMPLETE", 140},
	        {"CHANNEL_ANSWER", 131},
	        {"CUSTOM sofia::register", 50},
	        {"BACKGROUND_JOB", 49},
	        {"CHANNEL_BRIDGE", 36},
	        {"CHANNEL_UNBRIDGE", 36},
	        {"HEARTBEAT", 11},
	        {"CHANNEL_HOLD", 1},
	        {"CHANNEL_UNHOLD", 1},
	        {"CUSTOM sofia::unregister", 1},
	    },
	  act[] = {
	      {"agent-state-change", 123}, {"members-count", 94},    {"member-queue-start", 47},
	      {"member-queue-end", 47},    {"agent-offering", 44},   {"bridge-agent-start", 35},
	      {"bridge-agent-end", 35},    {"bridge-agent-fail", 9}, {"agent-status-change", 6},
	      {"agent-max-no-answer", 1},
	  };
	for (size_t i = 0; i < sizeof ev / sizeof ev[0]; i++)
		cr_expect_eq(count(&s.events, ev[i].k), ev[i].n, "%s: %zu", ev[i].k,
		             count(&s.events, ev[i].k));
	cr_assert_eq(s.events.len, sizeof ev / sizeof ev[0]);
	for (size_t i = 0; i < sizeof act / sizeof act[0]; i++)
		cr_expect_eq(count(&s.actions, act[i].k), act[i].n, "%s: %zu", act[i].k,
		             count(&s.actions, act[i].k));
	cr_assert_eq(s.actions.len, sizeof act / sizeof act[0]);
	/* 47 customers: 35 served, 12 abandoned */
	cr_assert_eq(count(&s.cc_causes, "Terminated"), 35);
	cr_assert_eq(count(&s.cc_causes, "Cancel"), 12);
	cr_assert_eq(count(&s.causes, "NORMAL_CLEARING"), 131);
	cr_assert_eq(count(&s.causes, "NO_ANSWER"), 5);
	cr_assert_eq(count(&s.causes, "ORIGINATOR_CANCEL"), 4);
	/* BACKGROUND_JOB is broadcast: 2 of the 49 answer this session's bgapi */
	cr_assert_eq(s.n_own_jobs, 2);
	cr_assert_eq(s.own_jobs_seen, 2);
	/* "variable_Event-Name: REQUEST_PARAMS" is a channel variable, never the name */
	cr_assert_eq(s.var_event_name, 200);
	cr_assert_eq(count(&s.events, "REQUEST_PARAMS"), 0);
	sink_free(&s);
	free(d);
}

typedef struct {
	size_t seen;
	size_t helene, obrien, jose, bgjob;
} values_ctx;

static void on_values(const esl_msg *m, void *ctx)
{
	values_ctx *v = ctx;
	cr_assert_neq(m->kind, ESL_MSG_ERROR, "%s", m->text);
	if (m->kind != ESL_MSG_EVENT)
		return;
	v->seen++;
	/* the first header is Event-Subclass for CUSTOM events, else Event-Name */
	cr_assert(!strcmp(m->ev[0].name, m->event_subclass ? "Event-Subclass" : "Event-Name"));
	cr_assert_str_eq(m->event_name, esl_event_get(m, "Event-Name"));
	cr_assert_null(esl_event_get(m, "event-name")); /* exact, case included */
	cr_assert_null(esl_event_get(m, "Event-Nam"));
	const char *name = esl_event_get0(m, "effective_caller_id_name");
	if (!strcmp(name, "Hélène Dubois"))
		v->helene++;
	if (!strcmp(name, "Marc O'Brien"))
		v->obrien++;
	if (!strcmp(esl_event_get0(m, "contact"), "\"José Álvarez\" <sip:1010@127.0.0.1:5280;ob>"))
		v->jose++;
	if (m->event_subclass && !strcmp(m->event_subclass, "sofia::register") &&
	    !strcmp(esl_event_get0(m, "from-user"), "1001")) {
		cr_assert_str_eq(esl_event_get0(m, "contact"),
		                 "\"Hélène Dubois\" <sip:1001@127.0.0.1:5271;ob>");
		cr_assert_str_eq(esl_event_get0(m, "FreeSWITCH-IPv6"), "fd00::2");
		cr_assert_str_eq(esl_event_get0(m, "user-agent"),
		                 "PJSUA v2.15.1 Linux-6.18.44/x86_64/glibc-2.36");
	}
	if (!strcmp(m->event_name, "BACKGROUND_JOB") &&
	    !strcmp(esl_event_get0(m, "Job-Command"), "status")) {
		cr_assert(m->body && m->body_len == strlen(m->body));
		cr_assert(!strncmp(m->body, "+OK UP 0 years", 14) ||
		              !strncmp(m->body, "UP 0 years", 10),
		          "%s", m->body);
		v->bgjob++;
	}
}

Test(esl_parser, session_decoded_values)
{
	size_t len;
	char *d = slurp("esl-session-1.txt", &len);
	values_ctx v = {0};
	esl_parser *p = esl_parser_new(NULL, on_values, &v);
	esl_parser_feed(p, d, len);
	esl_parser_free(p);
	cr_assert_eq(v.seen, 1037);
	cr_assert_gt(v.helene, 0);
	cr_assert_gt(v.obrien, 0);
	cr_assert_gt(v.jose, 0);
	cr_assert_eq(v.bgjob, 1);
	free(d);
}

Test(esl_parser, commands_replies_and_api_bodies)
{
	size_t len;
	char *d = slurp("esl-commands-1.txt", &len);
	sink s;
	one_shot(&s, d, len);
	cr_assert_eq(s.n_errors, 0, "%s", s.last_error);
	cr_assert_eq(s.n_msgs, 45);
	cr_assert_eq(count(&s.types, "auth/request"), 1);
	cr_assert_eq(count(&s.types, "command/reply"), 8);
	cr_assert_eq(count(&s.types, "api/response"), 32);
	cr_assert_eq(count(&s.types, "text/event-plain"), 3);
	cr_assert_eq(count(&s.types, "text/disconnect-notice"), 1);
	const char *o = s.out.s;
	/* user_data has no final newline: the next message follows at once */
	cr_assert(strstr(o, "#2 api/response|Content-Type=api/response|Content-Length=25"
	                    "{helene.dubois@example.com}\n"),
	          "%s", o);
	cr_assert(strstr(o, "|Content-Length=15{Hélène Dubois}\n"));
	cr_assert(strstr(o, "|Content-Length=14{-ERR no reply\n}\n"));
	cr_assert(strstr(o,
	                 "{userid|context|domain|group|contact|callgroup|effective_caller_id_name|"
	                 "effective_caller_id_number\n"));
	cr_assert(strstr(o, "|support|Jean-Luc D'Arcy|1005\n\n+OK\n}\n"));
	cr_assert(strstr(o, "{-ERR nosuchcmd Command not found!\n}\n"));
	cr_assert(strstr(o, "{Available}\n#2 api/response"));
	cr_assert(strstr(o, "{\n12 total.\n}\n"));
	/* a bare api gets a command/reply */
	cr_assert(strstr(o,
	                 "#1 command/reply|Content-Type=command/reply|Reply-Text=-ERR command not "
	                 "found\n"));
	/* BACKGROUND_JOB: event headers decoded, the inner body delivered */
	cr_assert(strstr(o, "|Job-Command=show|Job-Command-Arg=calls count|Content-Length=10{\n9 "
	                    "total.\n}\n"),
	          "%s", o);
	cr_assert(strstr(o, "|Job-Command=nosuchcmd|Content-Length=34{-ERR nosuchcmd Command not "
	                    "found!\n}\n"));
	cr_assert(strstr(o, "#5 text/disconnect-notice|Content-Type=text/disconnect-notice|Content-"
	                    "Length=67{Disconnected, goodbye.\nSee you at ClueCon! "
	                    "http://www.cluecon.com/\n}\n"));
	sink_free(&s);
	free(d);
}

Test(esl_parser, json_events_logs_and_errors)
{
	size_t len;
	char *d = slurp("esl-errors-and-json.txt", &len);
	sink s;
	one_shot(&s, d, len);
	cr_assert_eq(s.n_errors, 0, "%s", s.last_error);
	cr_assert_eq(s.n_msgs, 93);
	cr_assert_eq(count(&s.types, "auth/request"), 1);
	cr_assert_eq(count(&s.types, "command/reply"), 20);
	cr_assert_eq(count(&s.types, "text/event-json"), 42);
	cr_assert_eq(count(&s.types, "log/data"), 28);
	cr_assert_eq(count(&s.types, "api/response"), 1);
	cr_assert_eq(count(&s.types, "text/disconnect-notice"), 1);
	cr_assert_eq(s.json_events, 42);
	cr_assert_gt(count(&s.events, "CUSTOM callcenter::info"), 0);
	cr_assert_gt(count(&s.events, "CHANNEL_HANGUP_COMPLETE"), 0);
	const char *o = s.out.s;
	/* JSON string values as they are: SDP keeps its CRLF, the IPv6 its colons */
	cr_assert(strstr(o, " <CHANNEL_CREATE>|Event-Name=CHANNEL_CREATE|Core-UUID="));
	cr_assert(strstr(o, "|FreeSWITCH-IPv6=fd00::2|"));
	cr_assert(strstr(o, "|variable_rtp_local_sdp_str=v=0\r\no=FreeSWITCH "));
	cr_assert(strstr(o, "|Caller-Caller-ID-Name=Customer 90|"));
	/* log/data: Log-* headers, the log line as the body */
	cr_assert(
	    strstr(o, "#4 log/data|Content-Type=log/data|Content-Length=151|Log-Level=5|"
	              "Text-Channel=3|Log-File=switch_channel.c|Log-Func=switch_channel_set_"
	              "name|Log-Line=1142|User-Data=d6644e4f-2e40-4d90-9bea-ecd38ce6591b{2026-"
	              "12-02 22:28:28.003777 91.73% [NOTICE] switch_channel.c:1142 New Channel "));
	static const char *const replies[] = {
	    "-ERR no keywords supplied",
	    "-ERR command not found",
	    "-ERR invalid session id []",
	    "-ERR invalid syntax",
	    "+OK filter added. [Unique-ID]=[00000000-0000-0000-0000-000000000000]",
	    "+OK log level  [7]",
	    "+OK log level 6 [6]",
	    "-ERR not loging",
	    "-ERR not controlling a session",
	};
	for (size_t i = 0; i < sizeof replies / sizeof replies[0]; i++) {
		char want[200];
		snprintf(want, sizeof want, "|Reply-Text=%s\n", replies[i]);
		cr_assert(strstr(o, want), "%s", want);
	}
	cr_assert(strstr(o, "Content-Length=31{The system is being shut down.\n}\n"));
	sink_free(&s);
	free(d);
}

static void on_reply_kinds(const esl_msg *m, void *ctx)
{
	pd_buf *b = ctx;
	pd_buf_printf(b, "%d%s;", (int)m->kind,
	              m->kind == ESL_MSG_COMMAND_REPLY ? (esl_reply_ok(m) ? "+" : "-") : "");
}

Test(esl_parser, auth_failed)
{
	size_t len;
	char *d = slurp("esl-auth-failed.txt", &len);
	pd_buf b = {0};
	esl_parser *p = esl_parser_new(NULL, on_reply_kinds, &b);
	esl_parser_feed(p, d, len);
	esl_parser_free(p);
	cr_assert_str_eq(b.s, "0;1-;5;");
	b.len = 0;
	p = esl_parser_new(NULL, on_reply_kinds, &b);
	static const char accepted[] = "Content-Type: command/reply\nReply-Text: +OK accepted\n\n";
	esl_parser_feed(p, accepted, strlen(accepted));
	esl_parser_free(p);
	cr_assert_str_eq(b.s, "1+;");
	pd_buf_free(&b);
	sink s;
	one_shot(&s, d, len);
	cr_assert(strstr(s.out.s, "|Reply-Text=-ERR invalid\n"));
	sink_free(&s);
	free(d);
}

Test(esl_parser, short_fixtures_every_split, .timeout = 200)
{
	every_split("esl-auth-failed.txt");
	every_split("esl-commands-1.txt");
}

/* The parser is in the same state at every message boundary, so a message's
 * bytes parsed alone and cut at a point stand for the whole stream cut there
 * (numbers and offsets aside, checked by the whole-stream tests). */
static void seg_parse(sink *s, const char *d, size_t len, const size_t *cut)
{
	sink_init(s, true);
	s->no_pos = true;
	parse_chunks(s, d, len, cut, cut ? 1 : 0, NULL);
}

/* A cut in or right after a percent-escape of a non-ASCII byte
 * ("H%C3%A9l%C3%A8ne"), or inside a raw UTF-8 sequence. */
static bool utf8_cut(const char *d, size_t k)
{
	if (((unsigned char)d[k] & 0xC0) == 0x80)
		return true;
	for (size_t back = 1; back <= 3 && back <= k; back++)
		if (d[k - back] == '%' && strchr("89ABCDEFabcdef", d[k - back + 1]))
			return true;
	return false;
}

/* Every message cut at every `step`-th point and at every UTF-8 point;
 * returns the number of cuts. Inside a JSON body (jansson reads 35 MB/s, and
 * every cut re-reads a whole message) only every 16th cut is taken away from
 * its first and last 64 bytes: a cut there only changes how the body bytes are
 * gathered, and that copy is checked at every cut of the plain recordings. */
static size_t segments(const char *name, size_t step, size_t *n_utf8)
{
	size_t len;
	char *d = slurp(name, &len);
	sink whole;
	seg_parse(&whole, d, len, NULL);
	cr_assert_eq(whole.n_errors, 0);
	size_t msgs = 0, cuts = 0, start = 0;
	*n_utf8 = 0;
	while (start < len) {
		/* the next message starts after this one's headers and body */
		const char *hend = strstr(d + start, "\n\n");
		cr_assert(hend);
		const char *cl = NULL;
		for (const char *l = d + start; l < hend; l = strchr(l, '\n') + 1)
			if (!strncmp(l, "Content-Length: ", 16))
				cl = l + 16;
		size_t body = (size_t)(hend - d) + 2 - start;
		size_t end = (size_t)(hend - d) + 2 + (cl ? (size_t)atol(cl) : 0);
		bool json = memmem(d + start, body, "Content-Type: text/event-json\n", 30);
		sink ref;
		seg_parse(&ref, d + start, end - start, NULL);
		cr_assert_eq(ref.n_msgs, 1);
		for (size_t k = 0; k <= end - start; k++) {
			bool u = k < end - start && utf8_cut(d + start, k);
			size_t every = step;
			if (json && k > body + 64 && k + 64 < end - start)
				every = step * 16;
			if (k % every && !u)
				continue;
			sink s;
			seg_parse(&s, d + start, end - start, &k);
			cr_assert_eq(s.h, ref.h, "%s split at byte %zu", name, start + k);
			cr_assert_eq(s.n_msgs, 1, "%s split at byte %zu", name, start + k);
			cuts++;
			*n_utf8 += u;
		}
		msgs++;
		start = end;
	}
	cr_assert_eq(msgs, whole.n_msgs);
	free(d);
	return cuts;
}

Test(esl_parser, errors_and_json_splits_by_message, .timeout = 200)
{
	size_t n_utf8;
	size_t cuts = segments("esl-errors-and-json.txt", stride(), &n_utf8);
	cr_assert_geq(cuts * stride(), 283349 / 16);
}

Test(esl_parser, session_sampled_splits_by_message, .timeout = 200)
{
	size_t n_utf8;
	size_t cuts = segments("esl-session-1.txt", 61 * stride(), &n_utf8);
	cr_assert_gt(cuts, 5719971 / 61 / stride());
	/* three cuts in and after each of the 610 escapes of non-ASCII bytes
	 * ("H%C3%A9l%C3%A8ne", "Jos%C3%A9%20%C3%81lvarez") */
	cr_assert_geq(n_utf8, 3 * 610, "%zu", n_utf8);
}

Test(esl_parser, session_byte_by_byte_and_random_chunkings, .timeout = 200)
{
	size_t len;
	char *d = slurp("esl-session-1.txt", &len);
	sink ref;
	hashed(&ref, d, len, NULL, 0);
	size_t *cuts = malloc(sizeof *cuts * (len + 1));
	/* the first 64 KiB one byte at a time, then the rest at once */
	size_t n = 0;
	for (size_t i = 1; i <= 64 * 1024; i++)
		cuts[n++] = i;
	sink s;
	hashed(&s, d, len, cuts, n);
	cr_assert_eq(s.h, ref.h);
	cr_assert_eq(s.n_msgs, ref.n_msgs);
	/* whole-stream cuts: offsets and numbers included */
	srand(7);
	for (int i = 0; i < (stride() > 1 ? 3 : 40); i++) {
		size_t cut = (size_t)rand() % len;
		hashed(&s, d, len, &cut, 1);
		cr_assert_eq(s.h, ref.h, "split at %zu", cut);
	}
	for (int round = 0; round < (stride() > 1 ? 3 : 16); round++) {
		size_t cap = 1 + (size_t)(round < 2 ? 2 : rand() % 9000);
		size_t at = 0;
		n = 0;
		while (1) {
			at += 1 + (size_t)rand() % cap;
			if (at >= len)
				break;
			cuts[n++] = at;
		}
		hashed(&s, d, len, cuts, n);
		cr_assert_eq(s.h, ref.h, "random round %d", round);
		cr_assert_eq(s.n_msgs, ref.n_msgs, "random round %d", round);
	}
	free(cuts);
	free(d);
}

/* ---- bad input ---- */

/* Parse text in one piece and byte by byte (same result), return the text. */
static void parse_str_opts(sink *s, const char *text, size_t len, const esl_parser_opts *o)
{
	sink_init(s, false);
	parse_chunks(s, text, len, NULL, 0, o);
	sink b;
	sink_init(&b, false);
	size_t *cuts = malloc(sizeof *cuts * (len + 1));
	for (size_t i = 0; i + 1 < len; i++)
		cuts[i] = i + 1;
	parse_chunks(&b, text, len, cuts, len ? len - 1 : 0, o);
	free(cuts);
	cr_assert_str_eq(s->out.s ? s->out.s : "", b.out.s ? b.out.s : "");
	sink_free(&b);
}

static void parse_str(sink *s, const char *text)
{
	parse_str_opts(s, text, strlen(text), NULL);
}

#define OK_REPLY "Content-Type: command/reply\nReply-Text: +OK\n\n"

static char *event(const char *inner)
{
	return xasprintf("Content-Length: %zu\nContent-Type: text/event-plain\n\n%s", strlen(inner),
	                 inner);
}

/* One event-plain whose body is `inner`, then an OK reply: one error naming
 * `want`, and the reply still parsed. */
static void bad_event(const char *inner, const char *want)
{
	char *ev = event(inner);
	char *all = xasprintf("%s%s", ev, OK_REPLY);
	sink s;
	parse_str(&s, all);
	cr_assert_eq(s.n_errors, 1, "%s: %s", inner, s.out.s);
	cr_assert_eq(s.n_fatal, 0);
	cr_assert(strstr(s.last_error, want), "want \"%s\", got \"%s\"", want, s.last_error);
	cr_assert(strstr(s.out.s, "#7 text/event-plain[message 1, byte "), "%s", s.out.s);
	cr_assert(strstr(s.out.s, "\n#1 command/reply|Content-Type=command/reply|Reply-Text=+OK\n"),
	          "%s", s.out.s);
	cr_assert_eq(s.n_msgs, 2);
	sink_free(&s);
	free(ev);
	free(all);
}

Test(esl_parser, bad_percent_escapes)
{
	bad_event("Event-Name: X\nA: 100%\n\n", "invalid percent-escape \"%\" in the value of A");
	bad_event("Event-Name: X\nA: 100%4\n\n", "invalid percent-escape \"%4\" in the value of A");
	bad_event("Event-Name: X\nB: %G1x\n\n", "invalid percent-escape \"%G1\" in the value of B");
	bad_event("Event-Name: X\nB: %%41\n\n", "invalid percent-escape \"%%4\"");
	/* the byte offset is the '%' itself: 51 outer bytes + "Event-Name: X\nB: ab" */
	char *ev = event("Event-Name: X\nB: ab%zz\n\n");
	sink s;
	parse_str(&s, ev);
	cr_assert(strstr(s.last_error, "message 1, byte 70: invalid percent-escape"), "%s",
	          s.last_error);
	sink_free(&s);
	free(ev);
}

Test(esl_parser, bad_utf8_and_control_bytes_after_decoding)
{
	bad_event("Event-Name: X\nN: H%C3%28l\n\n", "invalid UTF-8 in the decoded value of N");
	bad_event("Event-Name: X\nN: %C0%AF\n\n", "invalid UTF-8");       /* overlong */
	bad_event("Event-Name: X\nN: %ED%A0%80\n\n", "invalid UTF-8");    /* surrogate */
	bad_event("Event-Name: X\nN: %F4%90%80%80\n\n", "invalid UTF-8"); /* > U+10FFFF */
	bad_event("Event-Name: X\nN: %C3\n\n", "invalid UTF-8");          /* cut short */
	bad_event("Event-Name: X\nN: a%00b\n\n", "a NUL byte in the decoded value of N");
	bad_event("Event-Name: X\nN: a%1Bb\n\n", "a control byte in the decoded value of N");
	bad_event("Event-Name: X\nN: a%7Fb\n\n", "a control byte");
	/* raw control bytes and raw invalid UTF-8 in an event header line */
	bad_event("Event-Name: X\nN: a\x01z\n\n", "control byte 0x01 in event header line 2");
	bad_event("Event-Name: X\nN: a\r\n\n", "control byte 0x0d in event header line 2");
	bad_event("Event-Name: X\nN: \xff\n\n", "invalid UTF-8 in the decoded value of N");
	bad_event("Event-Name: X\n\xc3: v\n\n", "event header line 2: invalid header name");
	/* TAB, CR and LF decoded are data (SDP) */
	char *ev = event("Event-Name: X\nN: a%09b%0D%0Ac\n\n");
	sink s;
	parse_str(&s, ev);
	cr_assert_eq(s.n_errors, 0, "%s", s.last_error);
	cr_assert(strstr(s.out.s, "|N=a\tb\r\nc\n"));
	sink_free(&s);
	free(ev);
}

Test(esl_parser, bad_event_framing)
{
	bad_event("Event-Name: X\nno colon\n\n", "event header line 2: expected \"Name: value\"");
	bad_event("Event-Name: X\n: v\n\n", "event header line 2: empty header name");
	bad_event("Event-Name: X\n A: v\n\n", "event header line 2: empty header name");
	bad_event("Event-Name: X\nA: v\n", "event headers not ended by an empty line");
	bad_event("Event-Name: X\nA: v", "event headers not ended by an empty line");
	bad_event("A: v\n\n", "event without Event-Name");
	bad_event("variable_Event-Name: X\n\n", "event without Event-Name");
	bad_event("Event-Name: X\n\nbody",
	          "4 bytes after the event headers and no event Content-Length");
	bad_event("Event-Name: X\nContent-Length: 5\n\nbody",
	          "event Content-Length \"5\" but 4 bytes follow");
	bad_event("Event-Name: X\nContent-Length: 3\n\nbody", "event Content-Length \"3\" but 4");
	bad_event("Event-Name: X\nContent-Length: x\n\nbody", "event Content-Length \"x\"");
	/* an inner body of the right length, without final newline */
	char *ev = event("Event-Subclass: a%3A%3Ab\nEvent-Name: CUSTOM\nvariable_Event-Name: "
	                 "NO\nContent-Length: 4\n\nbody");
	sink s;
	parse_str(&s, ev);
	cr_assert_eq(s.n_errors, 0, "%s", s.last_error);
	cr_assert(strstr(s.out.s, " <CUSTOM a::b>|Event-Subclass=a::b|Event-Name=CUSTOM|variable_"
	                          "Event-Name=NO|Content-Length=4{body}\n"),
	          "%s", s.out.s);
	sink_free(&s);
	free(ev);
}

static void bad_json(const char *json, const char *want)
{
	char *all = xasprintf("Content-Length: %zu\nContent-Type: text/event-json\n\n%s" OK_REPLY,
	                      strlen(json), json);
	sink s;
	parse_str(&s, all);
	cr_assert_eq(s.n_errors, 1, "%s: %s", json, s.out.s);
	cr_assert(strstr(s.last_error, want), "want \"%s\", got \"%s\"", want, s.last_error);
	cr_assert(strstr(s.out.s, "Reply-Text=+OK\n"));
	sink_free(&s);
	free(all);
}

Test(esl_parser, json_events)
{
	bad_json("{\"Event-Name\":\"X\"", "event JSON: ");
	bad_json("[\"Event-Name\"]", "event JSON is not an object");
	bad_json("{\"Event-Name\":\"X\",\"N\":5}", "the value of N is not a string");
	bad_json("{\"Event-Name\":\"X\",\"N\":[\"a\",1]}", "the value of N is not a string");
	bad_json("{\"Event-Name\":\"X\",\"N\":\"a\\u0000b\"}", "event JSON: ");
	bad_json("{\"Event-Name\":\"X\",\"N\":\"a\\u0007b\"}", "a control byte in the value of N");
	bad_json("{\"Event-Name\":\"X\",\"N\":\"\xff\"}", "event JSON: ");
	bad_json("{\"Event-Name\":\"X\",\"\":\"v\"}", "invalid header name");
	bad_json("{\"Event-Name\":\"X\",\"a:b\":\"v\"}", "invalid header name");
	bad_json("{\"N\":\"v\"}", "event without Event-Name");
	static const char ok[] =
	    "{\"Event-Name\":\"BACKGROUND_JOB\",\"Job-UUID\":\"u\",\"A\":"
	    "[\"x\",\"y z\"],\"N\":\"Hélène \\\"x\\\"\",\"_body\":\"+OK done\\n\"}";
	char *all =
	    xasprintf("Content-Length: %zu\nContent-Type: text/event-json\n\n%s", strlen(ok), ok);
	sink s;
	parse_str(&s, all);
	cr_assert_eq(s.n_errors, 0, "%s", s.last_error);
	cr_assert(strstr(s.out.s,
	                 "<BACKGROUND_JOB>|Event-Name=BACKGROUND_JOB|Job-UUID=u|A=ARRAY::x|:y "
	                 "z|N=Hélène \"x\"{+OK done\n}\n"),
	          "%s", s.out.s);
	sink_free(&s);
	free(all);
}

Test(esl_parser, bad_outer_header_lines_resync)
{
	/* a bad line: the rest of its block is skipped, then its body by length */
	sink s;
	parse_str(
	    &s,
	    "Content-Type: api/response\nno colon\nContent-Length: 12\n\nbody\n\nbody!\n" OK_REPLY);
	cr_assert_eq(s.n_errors, 1, "%s", s.out.s);
	cr_assert(strstr(s.out.s, "[message 1, byte 27: expected \"Name: value\", got no colon]"),
	          "%s", s.out.s);
	cr_assert(strstr(s.out.s, "#1 command/reply|Content-Type=command/reply|Reply-Text=+OK\n"));
	cr_assert_eq(s.n_msgs, 2);
	sink_free(&s);
	static const struct {
		const char *in, *want;
	} bad[] = {
	    {"Content-Type: command/reply\r\nReply-Text: +OK\r\n\n",
	     "CR before LF (ESL lines end with LF only)"},
	    {"Content-Type: command/reply\nReply-Text: +O\x01K\n\n", "control byte 0x01"},
	    {"Content-Type: command/reply\nReply-Text: \x7f\n\n", "control byte 0x7f"},
	    {"Content-Type: command/reply\nReply-Text: \xc3\x28\n\n", "invalid UTF-8"},
	    {": x\n\n", "empty header name"},
	    {"Content-Type : command/reply\n\n", "empty header name or one with a space"},
	    {"Reply-Text: +OK\n\n", "message 1, byte 0: no Content-Type"},
	    {"Content-Type: api/response\n\n", "api/response with no Content-Length"},
	    {"Content-Type: log/data\n\n", "log/data with no Content-Length"},
	    {"Content-Type: text/event-plain\n\n", "text/event-plain with no Content-Length"},
	    {"Content-Type: text/event-json\nContent-Length: 0\n\n", "with an empty body"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *all = xasprintf("%s%s", bad[i].in, OK_REPLY);
		parse_str(&s, all);
		cr_assert_eq(s.n_errors, 1, "%s: %s", bad[i].in, s.out.s);
		cr_assert_eq(s.n_fatal, 0);
		cr_assert(strstr(s.last_error, bad[i].want), "%zu: %s", i, s.last_error);
		cr_assert(strstr(s.out.s, "Reply-Text=+OK\n"), "%zu: %s", i, s.out.s);
		sink_free(&s);
		free(all);
	}
	/* unknown types are delivered raw; empty lines between messages ignored */
	parse_str(&s,
	          "\n\nContent-Type: text/rude-rejection\nContent-Length: 24\n\nAccess Denied, go "
	          "away.\n\n" OK_REPLY);
	cr_assert_eq(s.n_errors, 0, "%s", s.last_error);
	cr_assert(strstr(s.out.s, "#6 text/rude-rejection|Content-Type=text/rude-rejection|Content-"
	                          "Length=24{Access Denied, go away.\n}\n#1 "));
	sink_free(&s);
}

/* NUL bytes: refused in header lines (raw or decoded), kept in a raw body. */
Test(esl_parser, nul_bytes)
{
	static const char outer[] = "Content-Type: command/reply\nReply-Text: +O\0K\n\n" OK_REPLY;
	sink s;
	parse_str_opts(&s, outer, sizeof outer - 1, NULL);
	cr_assert_eq(s.n_errors, 1, "%s", s.out.s);
	cr_assert(strstr(s.last_error, "message 1, byte 28: control byte 0x00 in a header line"),
	          "%s", s.last_error);
	cr_assert(strstr(s.out.s, "Reply-Text=+OK\n"));
	sink_free(&s);
	static const char inner[] = "Content-Length: 22\nContent-Type: text/event-plain\n\n"
	                            "Event-Name: X\nN: a\0b\n\n" OK_REPLY;
	parse_str_opts(&s, inner, sizeof inner - 1, NULL);
	cr_assert_eq(s.n_errors, 1, "%s", s.out.s);
	cr_assert(strstr(s.last_error, "control byte 0x00 in event header line 2"), "%s",
	          s.last_error);
	cr_assert(strstr(s.out.s, "Reply-Text=+OK\n"));
	sink_free(&s);
	static const char body[] = "Content-Type: api/response\nContent-Length: 3\n\na\0b" OK_REPLY;
	parse_str_opts(&s, body, sizeof body - 1, NULL);
	cr_assert_eq(s.n_errors, 0, "%s", s.last_error);
	cr_assert_eq(s.n_msgs, 2);
	cr_assert(!memcmp(strstr(s.out.s, "{a"), "{a\0b}\n#1 ", 7));
	sink_free(&s);
}

Test(esl_parser, bad_content_length_is_fatal_until_reset)
{
	static const char *const bad[] = {
	    "Content-Length: 12x\nContent-Type: api/response\n\n",
	    "Content-Length: -1\nContent-Type: api/response\n\n",
	    "Content-Length: \nContent-Type: api/response\n\n",
	    "Content-Length:  5\nContent-Type: api/response\n\n",
	    "Content-Length: 99999999999999999999\nContent-Type: api/response\n\n",
	    "Content-Length: 5\nContent-Type: api/response\nContent-Length: 5\n\n",
	    "Content-Length: 5\x01\nContent-Type: api/response\n\n",
	    "Content-Length: 5\r\nContent-Type: api/response\n\n",
	    /* after a bad line, the length is still read, and still fatal if bad */
	    "Content-Type: api/response\nno colon\nContent-Length: x\n\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *all = xasprintf("%s%s", bad[i], OK_REPLY);
		sink s;
		parse_str(&s, all);
		cr_assert_eq(s.n_fatal, 1, "%zu: %s", i, s.out.s);
		cr_assert(strstr(s.last_error, "(framing lost: reconnect)"), "%s", s.last_error);
		cr_assert_null(strstr(s.out.s, "Reply-Text"), "%zu: %s", i, s.out.s);
		sink_free(&s);
		free(all);
	}
	sink s;
	sink_init(&s, false);
	esl_parser *p = esl_parser_new(NULL, on_msg, &s);
	esl_parser_feed(p, bad[0], strlen(bad[0]));
	cr_assert(esl_parser_failed(p));
	cr_assert(strstr(s.last_error, "message 1, byte 0: Content-Length \"12x\" is not a length"),
	          "%s", s.last_error);
	esl_parser_feed(p, OK_REPLY, strlen(OK_REPLY));
	cr_assert_eq(s.n_msgs, 1);
	esl_parser_reset(p);
	cr_assert(!esl_parser_failed(p));
	s.last_no = 0;
	esl_parser_feed(p, OK_REPLY, strlen(OK_REPLY));
	cr_assert_eq(s.n_msgs, 2);
	cr_assert(strstr(s.out.s, "Reply-Text=+OK\n"));
	cr_assert_eq(esl_parser_errors(p), 1);
	esl_parser_free(p);
	sink_free(&s);
}

/* A message of content type `ct` with an n-byte body (a line break every
 * 50 bytes), then `after`, in b (emptied first). */
static void body_of(pd_buf *b, const char *ct, int n, const char *after)
{
	char head[96];
	snprintf(head, sizeof head, "Content-Type: %s\nContent-Length: %d\n\n", ct, n);
	b->len = 0;
	pd_buf_add(b, head);
	for (int i = 0; i < n; i++)
		pd_buf_addc(b, i % 50 ? 'y' : '\n');
	pd_buf_add(b, after);
}

Test(esl_parser, bounds_lines_headers_and_size)
{
	esl_parser_opts o = {.max_line = 100, .max_headers = 4, .max_msg = 1000};
	pd_buf b = {0};
	/* a long line: reported, the block skipped, the body skipped by length */
	pd_buf_add(&b, "Content-Type: api/response\nContent-Length: 3\nX: ");
	for (int i = 0; i < 100000; i++)
		pd_buf_addc(&b, 'x');
	pd_buf_add(&b, "\n\nabc" OK_REPLY);
	sink s;
	parse_str_opts(&s, b.s, b.len, &o);
	cr_assert_eq(s.n_errors, 1, "%s", s.out.s);
	cr_assert(strstr(s.last_error, "message 1, byte 45: header line longer than 100 bytes"),
	          "%s", s.last_error);
	cr_assert(strstr(s.out.s, "Reply-Text=+OK\n"));
	sink_free(&s);
	/* a long Content-Length line: fatal */
	b.len = 0;
	pd_buf_add(&b, "Content-Length: ");
	for (int i = 0; i < 200; i++)
		pd_buf_addc(&b, '0');
	pd_buf_add(&b, "5\nContent-Type: api/response\n\nhello" OK_REPLY);
	parse_str_opts(&s, b.s, b.len, &o);
	cr_assert_eq(s.n_fatal, 1, "%s", s.out.s);
	sink_free(&s);
	/* too many headers, outer and in an event */
	parse_str_opts(&s, "Content-Type: command/reply\nA: 1\nB: 2\nC: 3\nD: 4\n\n" OK_REPLY,
	               strlen("Content-Type: command/reply\nA: 1\nB: 2\nC: 3\nD: 4\n\n" OK_REPLY),
	               &o);
	cr_assert_eq(s.n_errors, 1);
	cr_assert(strstr(s.last_error, "more than 4 header lines"));
	cr_assert(strstr(s.out.s, "Reply-Text=+OK\n"));
	sink_free(&s);
	char *ev = event("Event-Name: X\nA: 1\nB: 2\nC: 3\nD: 4\n\n");
	char *all = xasprintf("%s%s", ev, OK_REPLY);
	parse_str_opts(&s, all, strlen(all), &o);
	cr_assert_eq(s.n_errors, 1);
	cr_assert(strstr(s.last_error, "more than 4 event headers"), "%s", s.last_error);
	cr_assert(strstr(s.out.s, "Reply-Text=+OK\n"));
	sink_free(&s);
	free(ev);
	free(all);
	/* a body above max_msg: skipped unread, the next message parsed */
	body_of(&b, "api/response", 2000, OK_REPLY);
	parse_str_opts(&s, b.s, b.len, &o);
	cr_assert_eq(s.n_errors, 1);
	cr_assert(strstr(s.last_error, "api/response body of 2000 bytes is larger than 1000 bytes"),
	          "%s", s.last_error);
	/* the error says which reply it dropped: the driver's api call failed */
	cr_assert(strstr(s.out.s, "#7 api/response[message 1, byte 0: "), "%s", s.out.s);
	cr_assert(strstr(s.out.s, "Reply-Text=+OK\n"));
	cr_assert_eq(s.n_msgs, 2);
	sink_free(&s);
	/* with max_api above it, the same reply is taken whole; past max_api it
	 * is refused naming that bound; an event of that size is still refused
	 * at max_msg */
	esl_parser_opts oa = o;
	oa.max_api = 5000;
	parse_str_opts(&s, b.s, b.len, &oa);
	cr_assert_eq(s.n_errors, 0, "%s", s.last_error);
	cr_assert_eq(s.n_msgs, 2);
	cr_assert_gt(s.out.len, 2000, "the body was not handed over: %s", s.out.s);
	sink_free(&s);
	oa.max_api = 1900;
	parse_str_opts(&s, b.s, b.len, &oa);
	cr_assert(strstr(s.last_error, "api/response body of 2000 bytes is larger than 1900 bytes"),
	          "%s", s.last_error);
	sink_free(&s);
	oa.max_api = 5000;
	body_of(&b, "text/event-plain", 2000, OK_REPLY);
	parse_str_opts(&s, b.s, b.len, &oa);
	cr_assert(
	    strstr(s.last_error, "text/event-plain body of 2000 bytes is larger than 1000 bytes"),
	    "%s", s.last_error);
	cr_assert(strstr(s.out.s, "Reply-Text=+OK\n"));
	sink_free(&s);
	oa.max_api = 10; /* never below max_msg */
	body_of(&b, "api/response", 900, "");
	parse_str_opts(&s, b.s, b.len, &oa);
	cr_assert_eq(s.n_errors, 0, "%s", s.last_error);
	cr_assert_eq(s.n_msgs, 1);
	sink_free(&s);
	/* a header block above max_msg */
	b.len = 0;
	pd_buf_add(&b, "Content-Type: command/reply\n");
	for (int i = 0; i < 3; i++) {
		pd_buf_add(&b, "A: ");
		for (int j = 0; j < 90; j++)
			pd_buf_addc(&b, 'z');
		pd_buf_addc(&b, '\n');
	}
	pd_buf_add(&b, "\n" OK_REPLY);
	parse_str_opts(&s, b.s, b.len, &(esl_parser_opts){.max_line = 100, .max_msg = 200});
	cr_assert_eq(s.n_errors, 1);
	cr_assert(strstr(s.last_error, "header block larger than 200 bytes"), "%s", s.last_error);
	cr_assert(strstr(s.out.s, "Reply-Text=+OK\n"));
	sink_free(&s);
	pd_buf_free(&b);
}

/* ---- memory ---- */

typedef struct {
	const esl_parser *p;
	size_t events, max_mem, body_len;
} mem_ctx;

static void on_mem(const esl_msg *m, void *ctx)
{
	mem_ctx *c = ctx;
	cr_assert_neq(m->kind, ESL_MSG_ERROR, "%s", m->text);
	if (m->kind == ESL_MSG_EVENT) {
		c->events++;
		c->body_len = m->body_len;
		size_t mem = esl_parser_memory(c->p);
		if (mem > c->max_mem)
			c->max_mem = mem;
	}
}

static char *big_event(size_t target, size_t *len)
{
	pd_buf in = {0};
	pd_buf_add(&in, "Event-Name: CHANNEL_HANGUP_COMPLETE\n");
	for (int i = 0; in.len < target; i++) {
		pd_buf_printf(&in, "variable_v%d: ", i);
		for (int j = 0; j < 100; j++)
			pd_buf_add(&in, "H%C3%A9l%C3%A8ne%20Dubois%20");
		pd_buf_addc(&in, '\n');
	}
	pd_buf_add(&in, "Content-Length: 5\n\n+OK\n\n");
	char *ev = event(in.s);
	*len = strlen(ev);
	pd_buf_free(&in);
	return ev;
}

Test(esl_parser, one_large_event_keeps_no_memory)
{
	size_t len;
	char *big = big_event(1000 * 1000, &len); /* a 1 MB event fits the default 1 MiB */
	cr_assert_gt(len, 1000 * 1000);
	for (size_t chunk = 4096; chunk <= len; chunk = chunk == 4096 ? len : len + 1) {
		mem_ctx c = {0};
		esl_parser *p = esl_parser_new(NULL, on_mem, &c);
		c.p = p;
		size_t base = esl_parser_memory(p);
		for (size_t at = 0; at < len; at += chunk)
			esl_parser_feed(p, big + at, len - at < chunk ? len - at : chunk);
		cr_assert_eq(c.events, 1);
		cr_assert_eq(c.body_len, 5);
		cr_assert_gt(c.max_mem, 1000 * 1000); /* it was held while delivered */
		cr_assert_lt(c.max_mem, 4 * 1024 * 1024);
		/* and given back once done, with the next small message too */
		cr_assert_lt(esl_parser_memory(p), base + 70 * 1024, "%zu", esl_parser_memory(p));
		esl_parser_feed(p, OK_REPLY, strlen(OK_REPLY));
		cr_assert_lt(esl_parser_memory(p), base + 70 * 1024);
		/* a large message cut by a reconnect is given back by the reset */
		esl_parser_feed(p, big, len - 10);
		cr_assert_gt(esl_parser_memory(p), 1000 * 1000);
		esl_parser_reset(p);
		cr_assert_lt(esl_parser_memory(p), base + 70 * 1024);
		esl_parser_free(p);
	}
	free(big);
}

static void on_count(const esl_msg *m, void *ctx)
{
	(*(size_t *)ctx)++;
}

Test(esl_parser, memory_bounded_on_hostile_input)
{
	/* a 100 MB body announced, a 10 MB header line, 100k empty lines and
	 * 100k bad lines in a block: memory stays near max_line */
	esl_parser_opts o = {0};
	size_t msgs = 0;
	esl_parser *p = esl_parser_new(&o, on_count, &msgs);
	size_t base = esl_parser_memory(p), peak = 0;
	char chunk[4096];
	static const char head[] = "Content-Type: api/response\nContent-Length: 100000000\n\n";
	esl_parser_feed(p, head, strlen(head));
	memset(chunk, 'a', sizeof chunk);
	for (size_t sent = 0; sent < 100000000; sent += sizeof chunk) {
		size_t n = 100000000 - sent < sizeof chunk ? 100000000 - sent : sizeof chunk;
		esl_parser_feed(p, chunk, n);
		size_t m = esl_parser_memory(p);
		peak = m > peak ? m : peak;
	}
	cr_assert_eq(msgs, 1); /* the error */
	esl_parser_feed(p, "X: ", 3);
	for (int i = 0; i < 10 * 256; i++) {
		esl_parser_feed(p, chunk, sizeof chunk);
		size_t m = esl_parser_memory(p);
		peak = m > peak ? m : peak;
	}
	esl_parser_feed(p, "\n", 1);
	for (int i = 0; i < 100000; i++)
		esl_parser_feed(p, "bad line\n", 9);
	esl_parser_feed(p, "\n" OK_REPLY, 1 + strlen(OK_REPLY));
	cr_assert_eq(msgs, 3); /* two errors and the reply */
	cr_assert_eq(esl_parser_errors(p), 2);
	cr_assert_lt(peak, base + 64 * 1024 + 4096 + 1024, "%zu", peak);
	cr_assert_lt(esl_parser_memory(p), base + 70 * 1024);
	esl_parser_free(p);
}

/* ---- the writer ---- */

Test(esl_parser, writer_commands_and_injection)
{
	pd_buf b = {0};
	pd_err e = {0};
	cr_assert_eq(esl_put_auth(&b, "console-secret", &e), PD_OK);
	cr_assert_eq(
	    esl_put_event_plain(&b, "CHANNEL_CREATE HEARTBEAT CUSTOM callcenter::info", &e), PD_OK);
	cr_assert_eq(esl_put_api(&b, "show calls as json", &e), PD_OK);
	cr_assert_eq(esl_put_bgapi(&b, "status", &e), PD_OK);
	esl_put_exit(&b);
	cr_assert_str_eq(b.s, "auth console-secret\n\n"
	                      "event plain CHANNEL_CREATE HEARTBEAT CUSTOM callcenter::info\n\n"
	                      "api show calls as json\n\nbgapi status\n\nexit\n\n");
	size_t len = b.len;
	cr_assert_eq(esl_put_api(&b, "status\n\nexit", &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "command");
	cr_assert(strstr(e.message, "line break"));
	cr_assert_eq(esl_put_bgapi(&b, "status\rexit", &e), PD_E_INVALID);
	cr_assert_eq(esl_put_event_plain(&b, "ALL\n", &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "events");
	/* the password is refused without being repeated */
	cr_assert_eq(esl_put_auth(&b, "se\ncret", &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "password");
	cr_assert_null(strstr(e.message, "cret"));
	cr_assert_eq(esl_put_api(&b, "", &e), PD_E_INVALID);
	cr_assert_eq(esl_put_auth(&b, NULL, &e), PD_E_INVALID);
	cr_assert_eq(b.len, len);
	pd_buf_free(&b);
}

/* The AMI parser against the recorded Asterisk 22 traffic: every split of the
 * short fixtures, the first 64 KiB and every UTF-8 split of the long one,
 * random chunkings, the README's counts, legacy formats, garbage, 1 MB. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "provdesk/ami.h"
#include "testlib.h" /* tests/lib */

static char *slurp(const char *name, size_t *len)
{
	char rel[256];
	snprintf(rel, sizeof rel, "asterisk/%s", name);
	char *b = tl_slurp_fixture(rel, len);
	cr_assert(b, "cannot read the fixture %s", rel);
	return b;
}

/* Canonical text of every message: compared between chunkings. */
typedef struct {
	pd_buf out;
	size_t n_event_response_hdr;
	size_t n_msgs, n_events, n_responses, n_errors, n_banner;
	char types[128][40];
	size_t type_count[128];
	size_t n_types;
	char last_error[200];
	bool hash_only; /* the split loops compare a hash: formatting text is too slow */
	bool no_lines;  /* segment parses: line numbers restart in each segment */
	uint64_t h;
	uint64_t total; /* ami_parser_total_messages() during the parse */
} sink;

/* Set for a reference parse of a parser that passes over these events:
 * they are left out of the sink as that parser leaves them out. */
static const ami_parser_opts *drop_events;

static void hash(sink *s, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		s->h = (s->h ^ b[i]) * 1099511628211ull;
	s->h = (s->h ^ 0xff) * 1099511628211ull; /* separator */
}

static void on_msg(const ami_msg *m, void *ctx)
{
	sink *s = ctx;
	if (drop_events && m->kind == AMI_MSG_EVENT &&
	    drop_events->skip[ami_msg_event(m) / 64] >> (ami_msg_event(m) % 64) & 1)
		return;
	s->n_msgs++;
	if (s->hash_only) {
		hash(s, &m->kind, sizeof m->kind);
		if (!s->no_lines)
			hash(s, &m->line, sizeof m->line);
		if (m->text)
			hash(s, m->text, strlen(m->text));
		for (size_t i = 0; i < m->n; i++) {
			hash(s, m->f[i].key, m->f[i].key_len);
			hash(s, m->f[i].value, m->f[i].value_len);
		}
		if (m->body)
			hash(s, m->body, m->body_len);
		return;
	}
	/* the index agrees with a linear search, key by key */
	for (int k = 1; k < AMI_K__COUNT; k++) {
		const char *lin = NULL;
		for (size_t i = 0; i < m->n && !lin; i++)
			if (!strcasecmp(m->f[i].key, ami_key_name((ami_key)k)))
				lin = m->f[i].value;
		cr_assert_eq(ami_getk(m, (ami_key)k), lin, "key %s", ami_key_name((ami_key)k));
	}
	if (m->kind == AMI_MSG_EVENT)
		cr_assert_eq(ami_msg_event(m), ami_event_of(m->f[0].value, m->f[0].value_len));
	pd_buf_printf(&s->out, "#%d@%llu", (int)m->kind, (unsigned long long)m->line);
	if (m->text)
		pd_buf_printf(&s->out, "[%s]", m->text);
	for (size_t i = 0; i < m->n; i++) {
		cr_assert_eq(strlen(m->f[i].key), m->f[i].key_len);
		cr_assert_eq(strlen(m->f[i].value), m->f[i].value_len);
		pd_buf_printf(&s->out, "|%s=%s", m->f[i].key, m->f[i].value);
	}
	if (m->body)
		pd_buf_printf(&s->out, "{%s}", m->body);
	pd_buf_addc(&s->out, '\n');
	switch (m->kind) {
	case AMI_MSG_EVENT: {
		s->n_events++;
		if (ami_get(m, "Response"))
			s->n_event_response_hdr++;
		const char *t = ami_type(m);
		size_t i;
		for (i = 0; i < s->n_types; i++)
			if (!strcmp(s->types[i], t))
				break;
		if (i == s->n_types && i < 128) {
			snprintf(s->types[i], sizeof s->types[i], "%s", t);
			s->n_types++;
		}
		if (i < 128)
			s->type_count[i]++;
		break;
	}
	case AMI_MSG_RESPONSE:
		s->n_responses++;
		break;
	case AMI_MSG_ERROR:
		s->n_errors++;
		snprintf(s->last_error, sizeof s->last_error, "%s", m->text);
		break;
	case AMI_MSG_BANNER:
		s->n_banner++;
		break;
	default:
		break;
	}
}

static size_t type_count(const sink *s, const char *t)
{
	for (size_t i = 0; i < s->n_types; i++)
		if (!strcmp(s->types[i], t))
			return s->type_count[i];
	return 0;
}

static void sink_free(sink *s)
{
	pd_buf_free(&s->out);
}

static void parse_chunks_h(sink *s, const char *d, size_t len, const size_t *cuts, size_t ncuts,
                           const ami_parser_opts *o, bool hash_only)
{
	memset(s, 0, sizeof *s);
	s->hash_only = hash_only;
	s->h = 14695981039346656037ull;
	ami_parser_opts def = {.expect_banner = true};
	ami_parser *p = ami_parser_new(o ? o : &def, on_msg, s);
	uint64_t t0 = ami_parser_total_messages();
	size_t at = 0;
	for (size_t i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : len;
		ami_parser_feed(p, d + at, end - at);
		at = end;
	}
	s->total = ami_parser_total_messages() - t0;
	ami_parser_free(p);
}

static void parse_chunks(sink *s, const char *d, size_t len, const size_t *cuts, size_t ncuts,
                         const ami_parser_opts *o)
{
	parse_chunks_h(s, d, len, cuts, ncuts, o, false);
}

static void one_shot(sink *s, const char *d, size_t len)
{
	parse_chunks(s, d, len, NULL, 0, NULL);
}

static void all_two_splits(const char *name, size_t limit)
{
	size_t len;
	char *d = slurp(name, &len);
	if (limit && limit < len) {
		/* re-parsing 1.2 MB per split is too slow: cut the input at the first
		 * message boundary after the limit and split everywhere before it */
		char *end = strstr(d + limit, "\r\n\r\n");
		cr_assert(end);
		len = (size_t)(end - d) + 4;
	}
	sink ref, refh;
	one_shot(&ref, d, len);
	cr_assert_eq(ref.n_errors, 0, "%s: %s", name, ref.last_error);
	parse_chunks_h(&refh, d, len, NULL, 0, NULL, true);
	cr_assert_eq(refh.n_msgs, ref.n_msgs);
	for (size_t cut = 0; cut <= len; cut++) {
		sink s;
		parse_chunks_h(&s, d, len, &cut, 1, NULL, true);
		cr_assert_eq(s.n_msgs, ref.n_msgs, "%s split at %zu", name, cut);
		cr_assert_eq(s.h, refh.h, "%s split at %zu", name, cut);
	}
	sink_free(&ref);
	free(d);
}

Test(ami_parser, short_fixtures_every_split)
{
	all_two_splits("ami-auth-failed.txt", 0);
	all_two_splits("ami-errors-and-command.txt", 0);
	all_two_splits("ami-actions-1.txt", 0);
}

Test(ami_parser, session_counts_match_readme)
{
	size_t len;
	char *d = slurp("ami-session-1.txt", &len);
	sink s;
	one_shot(&s, d, len);
	cr_assert_eq(s.n_banner, 1);
	cr_assert_eq(s.n_errors, 0, "%s", s.last_error);
	/* The README's "78 responses" counts every "Response:" header: the replies
	 * to the 59 actions plus the 19 OriginateResponse events that carry one. */
	cr_assert_eq(s.n_responses, 59, "%zu", s.n_responses);
	cr_assert_eq(s.n_responses + s.n_event_response_hdr, 78);
	cr_assert_eq(s.n_events, 3199);
	static const struct {
		const char *t;
		size_t n;
	} want[] = {
	    {"AgentCalled", 24},
	    {"AgentComplete", 14},
	    {"AgentConnect", 14},
	    {"AgentRingNoAnswer", 1},
	    {"BridgeEnter", 30},
	    {"ContactStatus", 42},
	    {"CoreShowChannel", 47},
	    {"DeviceStateChange", 279},
	    {"DialBegin", 44},
	    {"EndpointList", 20},
	    {"Hangup", 62},
	    {"Newchannel", 62},
	    {"QueueCallerAbandon", 3},
	    {"QueueCallerJoin", 17},
	    {"QueueMember", 47},
	    {"QueueMemberPause", 9},
	    {"QueueParams", 8},
	    {"VarSet", 1381},
	    {"RTCPReceived", 67},
	    {"QueueMemberStatus", 94},
	    {"Newstate", 79},
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		cr_expect_eq(type_count(&s, want[i].t), want[i].n, "%s: %zu", want[i].t,
		             type_count(&s, want[i].t));
	cr_assert_eq(s.n_types, 61, "distinct event types %zu", s.n_types);
	sink_free(&s);
	free(d);
}

/* Under valgrind (PD_TEST_SLOW, ~10-50x slower) the exhaustive split tests
 * below take every stride-th split instead of all of them: valgrind is there
 * for memory errors, the release and ASan runs check every split. */
static size_t stride(void)
{
	const char *v = getenv("PD_TEST_SLOW");
	return v && atoi(v) > 1 ? 16 : 1;
}

/* Whole-prefix re-parses (line numbers included) are quadratic: 16 KiB here,
 * every split of the whole file below, by segment. */
Test(ami_parser, session_first_16k_every_split, .timeout = 110)
{
	all_two_splits("ami-session-1.txt", 16 * 1024 / stride());
}

/* Every one of the 1.2M split points of the long recording: the parser is in
 * the same state at every message boundary, so each message's bytes are
 * parsed alone, cut at every offset, and compared with the same bytes parsed
 * in one piece; the segments together must give the whole file's messages. */
static void seg_parse_o(sink *s, const char *d, size_t len, const size_t *cut, ami_parser_opts o)
{
	memset(s, 0, sizeof *s);
	s->hash_only = s->no_lines = true;
	s->h = 14695981039346656037ull;
	ami_parser *p = ami_parser_new(&o, on_msg, s);
	uint64_t t0 = ami_parser_total_messages();
	if (cut) {
		ami_parser_feed(p, d, *cut);
		ami_parser_feed(p, d + *cut, len - *cut);
	} else {
		ami_parser_feed(p, d, len);
	}
	s->total = ami_parser_total_messages() - t0;
	ami_parser_free(p);
}

static void seg_parse(sink *s, const char *d, size_t len, const size_t *cut, bool banner)
{
	seg_parse_o(s, d, len, cut, (ami_parser_opts){.expect_banner = banner});
}

Test(ami_parser, session_every_split_by_segment, .timeout = 110)
{
	size_t len;
	char *d = slurp("ami-session-1.txt", &len);
	sink whole;
	seg_parse(&whole, d, len, NULL, true);
	size_t msgs = 0, cuts = 0, start = 0, step = stride();
	while (start < len) {
		const char *e = strstr(d + start, "\r\n\r\n");
		size_t end = e ? (size_t)(e - d) + 4 : len;
		sink ref;
		seg_parse(&ref, d + start, end - start, NULL, start == 0);
		cr_assert_eq(ref.n_errors, 0);
		for (size_t k = 0; k <= end - start; k += step) {
			sink s;
			seg_parse(&s, d + start, end - start, &k, start == 0);
			cr_assert_eq(s.h, ref.h, "split at byte %zu", start + k);
			cr_assert_eq(s.n_msgs, ref.n_msgs, "split at byte %zu", start + k);
			cuts++;
		}
		msgs += ref.n_msgs;
		start = end;
	}
	cr_assert_eq(msgs, whole.n_msgs);
	cr_assert_geq(cuts * step, len);
	free(d);
}

Test(ami_parser, session_utf8_and_random_chunkings, .timeout = 110)
{
	size_t len;
	char *d = slurp("ami-session-1.txt", &len);
	sink text, ref;
	one_shot(&text, d, len);
	cr_assert(strstr(text.out.s, "Hélène Dubois"));
	sink_free(&text);
	parse_chunks_h(&ref, d, len, NULL, 0, NULL, true);
	size_t utf8_cuts = 0, candidates = 0, step = stride();
	for (size_t i = 1; i < len; i++) {
		if (((unsigned char)d[i] & 0xC0) != 0x80)
			continue; /* only cut inside a multi-byte sequence */
		if (candidates++ % step)
			continue;
		sink s;
		parse_chunks_h(&s, d, len, &i, 1, NULL, true);
		cr_assert_eq(s.h, ref.h, "utf-8 split at %zu", i);
		cr_assert_eq(s.n_msgs, ref.n_msgs);
		utf8_cuts++;
	}
	cr_assert_gt(utf8_cuts * step, 200); /* 122 "Hélène" and other accents */
	srand(42);
	size_t *cuts = malloc(sizeof *cuts * (len + 1));
	for (int round = 0; round < (step > 1 ? 4 : 20); round++) {
		size_t cap = 1 + (size_t)(round < 3 ? 0 : rand() % 4000);
		size_t n = 0, at = 0;
		while (1) {
			at += 1 + (size_t)rand() % cap;
			if (at >= len)
				break;
			cuts[n++] = at;
		}
		sink s;
		parse_chunks_h(&s, d, len, cuts, n, NULL, true);
		cr_assert_eq(s.h, ref.h, "random round %d", round);
		cr_assert_eq(s.n_msgs, ref.n_msgs, "random round %d", round);
	}
	free(cuts);
	free(d);
}

static void parse_str(sink *s, const char *text, bool banner)
{
	ami_parser_opts o = {.expect_banner = banner};
	parse_chunks(s, text, strlen(text), NULL, 0, &o);
}

Test(ami_parser, output_format_keeps_empty_repeated_and_leading_spaces)
{
	size_t len;
	char *d = slurp("ami-errors-and-command.txt", &len);
	sink s;
	one_shot(&s, d, len);
	cr_assert_eq(s.n_responses, 7);
	cr_assert(strstr(s.out.s, "|Output=|Output= Endpoint:  <Endpoint/CID"), "%s", s.out.s);
	cr_assert(strstr(s.out.s, "|Output=Objects found: 20|Output=\n"));
	cr_assert(strstr(s.out.s, "|Ping=Pong|Timestamp=1795732690.190538"));
	cr_assert(strstr(s.out.s, "[Asterisk Call Manager/11.0.0]"));
	sink_free(&s);
	free(d);
}

Test(ami_parser, legacy_follows_body)
{
	sink s;
	parse_str(&s,
	          "Response: Follows\r\nPrivilege: Command\r\nActionID: c-1\r\n"
	          "Name/username   Host  Dyn\r\n1001/1001  (Unspecified)  D\r\nKey: looks like a "
	          "header\r\n"
	          "--END COMMAND--\r\n\r\n"
	          "Response: Follows\nPrivilege: Command\nlast line--END COMMAND--\n\n"
	          "Event: X\n\n",
	          false);
	cr_assert_eq(s.n_errors, 0, "%s", s.last_error);
	cr_assert_eq(s.n_responses, 2);
	cr_assert(strstr(s.out.s,
	                 "|ActionID=c-1{Name/username   Host  Dyn\n1001/1001  (Unspecified)  D\n"
	                 "Key: looks like a header\n}"),
	          "%s", s.out.s);
	cr_assert(strstr(s.out.s, "|Privilege=Command{last line}"), "%s", s.out.s);
	cr_assert_eq(s.n_events, 1);
	sink_free(&s);
}

Test(ami_parser, bare_lf_and_crlf_give_the_same_messages)
{
	sink a, b;
	parse_str(&a, "Banner/1.0\r\nEvent: A\r\nK: v\r\n\r\n\r\nEvent: B\r\nEmpty:\r\n\r\n", true);
	parse_str(&b, "Banner/1.0\nEvent: A\nK: v\n\n\nEvent: B\nEmpty:\n\n", true);
	cr_assert_str_eq(a.out.s, b.out.s);
	cr_assert(strstr(a.out.s, "|Empty=\n"));
	sink_free(&a);
	sink_free(&b);
}

/* chan_sip's SIPshowpeer (Asterisk 13-16) has keys with inner spaces; a key
 * that starts or ends with a space is still refused. */
Test(ami_parser, keys_with_inner_spaces)
{
	sink s;
	parse_str(&s,
	          "Response: Success\r\nActionID: p-1\r\nCallgroup: \r\nNamed Callgroup: \r\n"
	          "Named Pickupgroup: 1,2\r\nContext: from-internal\r\n\r\n"
	          "Event: A\r\nBad :x\r\n\r\n",
	          false);
	cr_assert_eq(s.n_responses, 1);
	cr_assert(strstr(s.out.s, "|Named Callgroup=|Named Pickupgroup=1,2|Context=from-internal"),
	          "%s", s.out.s);
	cr_assert_eq(s.n_errors, 1, "%s", s.out.s);
	sink_free(&s);
}

Test(ami_parser, garbage_resyncs_at_blank_line)
{
	sink s;
	static const char g[] =
	    "Event: A\r\nno colon here\r\nK: v\r\n\r\nEvent: B\r\n\x01\x02\xff\x00zz\r\n"
	    "Event: junk\r\n\r\n Bad key: x\r\n\r\nEvent: C\r\nK: ok\r\n\r\n";
	parse_chunks(&s, g, sizeof g - 1, NULL, 0, &(ami_parser_opts){0});
	/* the binary line of event B is dropped (a bad field, not an error) */
	cr_assert_eq(s.n_errors, 2, "%zu errors: %s", s.n_errors, s.out.s);
	cr_assert_eq(s.n_events, 2);
	cr_assert(strstr(s.out.s, "line 2: expected \"Key: Value\", got no colon"), "%s", s.out.s);
	cr_assert(strstr(s.out.s, "|Event=B|Event=junk"), "%s", s.out.s);
	cr_assert(strstr(s.out.s, "|Event=C|K=ok"));
	sink_free(&s);
}

Test(ami_parser, overlong_line_bounded_and_resynced)
{
	ami_parser_opts o = {.max_line = 100};
	pd_buf b = {0};
	pd_buf_add(&b, "Event: A\r\nK: ");
	for (int i = 0; i < 100000; i++)
		pd_buf_addc(&b, 'x');
	pd_buf_add(&b, "\r\nMore: y\r\n\r\nEvent: B\r\n\r\n");
	/* one shot and byte by byte agree */
	sink s1, s2;
	parse_chunks(&s1, b.s, b.len, NULL, 0, &o);
	size_t *cuts = malloc(b.len * sizeof *cuts);
	for (size_t i = 0; i < b.len - 1; i++)
		cuts[i] = i + 1;
	parse_chunks(&s2, b.s, b.len, cuts, b.len - 1, &o);
	cr_assert_str_eq(s1.out.s, s2.out.s);
	cr_assert_eq(s1.n_errors, 1);
	cr_assert(strstr(s1.out.s, "line 2: longer than 100 bytes"), "%s", s1.out.s);
	cr_assert_eq(s1.n_events, 1);
	cr_assert(strstr(s1.out.s, "|Event=B"));
	free(cuts);
	pd_buf_free(&b);
	sink_free(&s1);
	sink_free(&s2);
}

Test(ami_parser, one_megabyte_list_reply)
{
	pd_buf b = {0};
	pd_buf_add(&b, "Response: Success\r\nActionID: big\r\nEventList: start\r\n\r\n");
	int items = 0;
	while (b.len < 1024 * 1024) {
		pd_buf_printf(&b,
		              "Event: EndpointList\r\nActionID: big\r\nObjectName: %d\r\n"
		              "DeviceState: Not in use\r\n\r\n",
		              100000 + items);
		items++;
	}
	pd_buf_printf(&b,
	              "Event: EndpointListComplete\r\nActionID: big\r\nEventList: Complete\r\n"
	              "ListItems: %d\r\n\r\n",
	              items);
	/* and one single 1 MB message (a Command with many Output lines) */
	pd_buf_add(&b, "Response: Success\r\nMessage: Command output follows\r\n");
	size_t start = b.len;
	while (b.len - start < 1024 * 1024)
		pd_buf_add(&b, "Output:  Endpoint:  1001/1001   Unavailable   0 of inf\r\n");
	pd_buf_add(&b, "\r\n");
	sink s;
	parse_chunks(&s, b.s, b.len, NULL, 0, &(ami_parser_opts){0});
	cr_assert_eq(s.n_errors, 0, "%s", s.last_error);
	cr_assert_eq(s.n_events, (size_t)items + 1);
	cr_assert_eq(s.n_responses, 2);
	/* a smaller max_msg refuses the big message but keeps going */
	sink t;
	parse_chunks(&t, b.s, b.len, NULL, 0, &(ami_parser_opts){.max_msg = 512 * 1024});
	cr_assert_eq(t.n_errors, 1);
	cr_assert_eq(t.n_events, (size_t)items + 1);
	pd_buf_free(&b);
	sink_free(&s);
	sink_free(&t);
}

Test(ami_parser, writer_never_injects_headers)
{
	pd_buf b = {0};
	cr_assert(ami_put(&b, "Action", "Login"));
	/* a line break anywhere in a value or key is refused: nothing written */
	cr_assert_not(ami_put(&b, "Secret", "x\r\nAction: Logoff"));
	cr_assert_not(ami_put(&b, "Username", "admin\n"));
	cr_assert_not(ami_put(&b, "Username", "ad\rmin"));
	cr_assert_not(ami_put(&b, "Bad\r\nKey", "v"));
	cr_assert_not(ami_putf(&b, "Secret", "%s", "a\nb"));
	cr_assert(ami_put(&b, "Username", NULL));
	ami_end(&b);
	cr_assert_str_eq(b.s, "Action: Login\r\nUsername: \r\n\r\n");
	pd_buf_free(&b);

	/* a value longer than the buffer's room: grown once, written whole */
	char v[1001];
	memset(v, 'v', 1000);
	v[1000] = '\0';
	cr_assert(ami_put(&b, "Variable", v));
	cr_assert_eq(b.len, strlen("Variable: ") + 1000 + 2);
	cr_assert_eq(strlen(b.s), b.len, "terminated");
	cr_assert(!strncmp(b.s, "Variable: vvv", 13) && !strcmp(b.s + b.len - 3, "v\r\n"));
	v[999] = '\n'; /* a break at the very end is refused too */
	cr_assert_not(ami_put(&b, "Variable", v));
	cr_assert_eq(b.len, strlen("Variable: ") + 1000 + 2, "nothing written");
	pd_buf_free(&b);
}

/* One stray control byte costs one field, never the message (or the link):
 * in a value it is replaced, a key holding one drops its line. */
Test(ami_parser, control_bytes_repair_or_drop_one_field)
{
	static const char g[] = "Event: Newchannel\r\nCallerIDName: Al\x1b[2Jice\x07\r\n"
	                        "Uniqueid: 1.1\r\nBa\x01d: x\r\nNul: a\x00"
	                        "b\r\nTab: a\tb\r\n"
	                        "\x01\x02\xff\r\nLinkedid: 1.1\r\n\r\n";
	sink s;
	ami_parser *p = NULL;
	memset(&s, 0, sizeof s);
	p = ami_parser_new(&(ami_parser_opts){0}, on_msg, &s);
	ami_parser_feed(p, g, sizeof g - 1);
	cr_assert_eq(s.n_errors, 0, "%s", s.out.s);
	cr_assert_eq(s.n_events, 1);
	cr_assert(
	    strstr(s.out.s, "|CallerIDName=Al?[2Jice?|Uniqueid=1.1|Nul=a?b|Tab=a\tb|Linkedid=1.1"),
	    "%s", s.out.s);
	cr_assert_eq(ami_parser_bad_fields(p), 4);
	ami_parser_free(p);
	sink_free(&s);
}

/* The default cap is 1 MiB: a 16 MB message is a protocol error (the
 * driver reconnects), and the parser goes on with the next message. */
Test(ami_parser, default_cap_refuses_a_16mb_message)
{
	pd_buf b = {0};
	pd_buf_add(&b, "Event: UserEvent\r\n");
	while (b.len < 16u * 1024 * 1024)
		pd_buf_add(&b,
		           "Variable: x=0123456789012345678901234567890123456789012345678901\r\n");
	pd_buf_add(&b, "\r\nEvent: After\r\n\r\n");
	sink s;
	parse_chunks(&s, b.s, b.len, NULL, 0, &(ami_parser_opts){0});
	cr_assert_eq(s.n_errors, 1);
	cr_assert(strstr(s.last_error, "larger than 1048576 bytes"), "%s", s.last_error);
	cr_assert_eq(s.n_events, 1);
	cr_assert(strstr(s.out.s, "|Event=After"));
	pd_buf_free(&b);
	sink_free(&s);
}

/* A near-cap message, then small ones: what the parser holds goes back
 * under a small bound (it kept the doubling's 32 MB for good before). */
Test(ami_parser, buffers_shrink_after_a_large_message)
{
	ami_parser_opts o = {.max_msg = 16u * 1024 * 1024};
	sink s;
	memset(&s, 0, sizeof s);
	s.hash_only = true;
	ami_parser *p = ami_parser_new(&o, on_msg, &s);
	pd_buf b = {0};
	/* 200,000 short lines, under the cap, fed in 64 KB reads as the driver does */
	pd_buf_add(&b, "Event: UserEvent\r\n");
	for (int i = 0; i < 200000; i++)
		pd_buf_printf(&b, "V%d: %d\r\n", i % 7, i);
	pd_buf_add(&b, "\r\n");
	for (size_t off = 0; off < b.len; off += 65536)
		ami_parser_feed(p, b.s + off, b.len - off < 65536 ? b.len - off : 65536);
	cr_assert_eq(s.n_msgs, 1);
	cr_assert_eq(ami_parser_errors(p), 0);
	static const char small[] = "Event: Newstate\r\nUniqueid: 1.2\r\nChannelState: 6\r\n\r\n";
	for (int i = 0; i < 100; i++)
		ami_parser_feed(p, small, sizeof small - 1);
	cr_assert_eq(s.n_msgs, 101);
	cr_assert_lt(ami_parser_capacity(p), 256u * 1024, "parser holds %zu bytes",
	             ami_parser_capacity(p));
	/* the same after a refused (oversize) message */
	ami_parser_free(p);
	o.max_msg = 1024 * 1024;
	memset(&s, 0, sizeof s);
	s.hash_only = true;
	p = ami_parser_new(&o, on_msg, &s);
	for (size_t off = 0; off < b.len; off += 65536)
		ami_parser_feed(p, b.s + off, b.len - off < 65536 ? b.len - off : 65536);
	ami_parser_feed(p, small, sizeof small - 1);
	cr_assert_eq(ami_parser_errors(p), 1);
	cr_assert_lt(ami_parser_capacity(p), 256u * 1024, "parser holds %zu bytes",
	             ami_parser_capacity(p));
	ami_parser_free(p);
	pd_buf_free(&b);
}

/* An idle link's parser holds nothing: after a message, after a large one,
 * and after one split across reads; the bytes of a split message are held
 * only until it ends (in-place parsing, docs/architecture.md "AMI ingest"). */
Test(ami_parser, holds_no_buffer_between_messages)
{
	sink s;
	memset(&s, 0, sizeof s);
	s.hash_only = true;
	size_t held0 = ami_parser_total_held();
	ami_parser *p =
	    ami_parser_new(&(ami_parser_opts){.max_msg = 16u * 1024 * 1024}, on_msg, &s);
	static const char small[] = "Event: Newstate\r\nUniqueid: 1.2\r\nChannelState: 6\r\n\r\n";
	ami_parser_feed(p, small, sizeof small - 1);
	cr_assert_eq(s.n_msgs, 1);
	cr_assert_eq(ami_parser_capacity(p), 0, "holds %zu bytes", ami_parser_capacity(p));
	/* split in two reads: held while split, nothing once it ends */
	ami_parser_feed(p, small, 20);
	cr_assert_gt(ami_parser_capacity(p), 0);
	cr_assert_eq(ami_parser_total_held(), held0 + ami_parser_capacity(p));
	ami_parser_feed(p, small + 20, sizeof small - 1 - 20);
	cr_assert_eq(s.n_msgs, 2);
	cr_assert_eq(ami_parser_capacity(p), 0, "holds %zu bytes", ami_parser_capacity(p));
	/* a 2.6 MB message of 200,000 fields in 64 KB reads, then small ones */
	pd_buf b = {0};
	pd_buf_add(&b, "Event: UserEvent\r\n");
	for (int i = 0; i < 200000; i++)
		pd_buf_printf(&b, "V%d: %d\r\n", i % 7, i);
	pd_buf_add(&b, "\r\n");
	size_t peak = 0;
	for (size_t off = 0; off < b.len; off += 65536) {
		ami_parser_feed(p, b.s + off, b.len - off < 65536 ? b.len - off : 65536);
		if (ami_parser_capacity(p) > peak)
			peak = ami_parser_capacity(p);
	}
	cr_assert_eq(s.n_msgs, 3);
	cr_assert_gt(peak, b.len, "the split message was held (%zu)", peak);
	cr_assert_eq(ami_parser_capacity(p), 0, "holds %zu bytes", ami_parser_capacity(p));
	ami_parser_feed(p, small, sizeof small - 1);
	cr_assert_eq(s.n_msgs, 4);
	cr_assert_eq(ami_parser_capacity(p), 0);
	/* a refused (oversize) one and a legacy Follows body leave nothing */
	static const char follows[] = "Response: Follows\r\nPrivilege: Command\r\nline one\r\n"
	                              "--END COMMAND--\r\n\r\n";
	ami_parser_feed(p, follows, 30);
	ami_parser_feed(p, follows + 30, sizeof follows - 1 - 30);
	cr_assert_eq(s.n_msgs, 5);
	cr_assert_eq(ami_parser_capacity(p), 0, "holds %zu bytes", ami_parser_capacity(p));
	ami_parser_free(p);
	cr_assert_eq(ami_parser_total_held(), held0);
	pd_buf_free(&b);
}

/* A name in UTF-8 (2-, 3- and 4-byte sequences) written one byte at a
 * time, as a slow PBX or a congested link delivers it: intact, with no
 * field repaired; the same bytes in place (feed_rw) in one read give the
 * same message. */
typedef struct {
	char name[128], num[32];
	size_t n;
} name_sink;

static void on_name(const ami_msg *m, void *ctx)
{
	name_sink *k = ctx;
	if (ami_msg_event(m) != AMI_EV_NEWCHANNEL)
		return;
	k->n++;
	snprintf(k->name, sizeof k->name, "%s", ami_getk(m, AMI_K_CALLERIDNAME));
	snprintf(k->num, sizeof k->num, "%s", ami_getk(m, AMI_K_CALLERIDNUM));
}

Test(ami_parser, utf8_name_intact_under_one_byte_writes)
{
	static const char name[] = "Zoë Ångström — 山田 太郎 🎧";
	pd_buf b = {0};
	pd_buf_printf(
	    &b,
	    "Event: Newchannel\r\nPrivilege: call,all\r\nChannel: PJSIP/1001-0000001\r\n"
	    "CallerIDNum: 1001\r\nCallerIDName: %s\r\nUniqueid: 1.1\r\nLinkedid: 1.1\r\n\r\n",
	    name);
	name_sink k = {0};
	ami_parser *p = ami_parser_new(NULL, on_name, &k);
	for (size_t i = 0; i < b.len; i++)
		ami_parser_feed(p, b.s + i, 1);
	cr_assert_eq(k.n, 1);
	cr_assert_str_eq(k.name, name);
	cr_assert_str_eq(k.num, "1001");
	cr_assert_eq(ami_parser_bad_fields(p), 0);
	cr_assert_eq(ami_parser_capacity(p), 0);
	char *rw = xstrdup(b.s);
	ami_parser_feed_rw(p, rw, b.len);
	cr_assert_eq(k.n, 2);
	cr_assert_str_eq(k.name, name);
	free(rw);
	ami_parser_free(p);
	pd_buf_free(&b);
}

typedef struct {
	ami_event ev;
	int n;
} ev_seen;

static void on_ev(const ami_msg *m, void *ctx)
{
	ev_seen *k = ctx;
	k->ev = ami_msg_event(m);
	k->n++;
}

/* The hash dispatch: every event name the model and the driver act on is
 * recognised, exactly as Asterisk spells it; anything else is unknown (other
 * case, a prefix, a longer name, empty). Keys: case-insensitive. */
Test(ami_parser, hashed_event_and_key_names)
{
	for (int e = 1; e < AMI_EV__COUNT; e++) {
		const char *n = ami_event_name((ami_event)e);
		cr_assert(n && *n, "event %d has a name", e);
		if (!n) /* what the compiler cannot see through cr_assert */
			n = "";
		cr_assert_eq(ami_event_of(n, strlen(n)), (ami_event)e, "%s", n);
		/* through the parser */
		char msg[128];
		snprintf(msg, sizeof msg, "Event: %s\r\nUniqueid: 1\r\n\r\n", n);
		ev_seen got = {0};
		ami_parser *p = ami_parser_new(NULL, on_ev, &got);
		ami_parser_feed(p, msg, strlen(msg));
		ami_parser_free(p);
		cr_assert_eq(got.n, 1);
		cr_assert_eq(got.ev, (ami_event)e, "%s", n);
		char up[64], pre[64], longer[80];
		snprintf(up, sizeof up, "%s", n);
		for (char *c = up; *c; c++)
			*c = (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
		snprintf(pre, sizeof pre, "%.*s", (int)strlen(n) - 1, n);
		snprintf(longer, sizeof longer, "%sX", n);
		if (strcmp(up, n)) /* names are case-sensitive ("CEL" is all capitals) */
			cr_assert_eq(ami_event_of(up, strlen(up)), AMI_EV_UNKNOWN, "%s", up);
		/* a prefix or a longer name is unknown unless it is itself one
		 * ("QueueMemberPause" is, "QueueMemberPaused" too) */
		cr_assert_str_eq(ami_event_name(ami_event_of(pre, strlen(pre))),
		                 ami_event_of(pre, strlen(pre)) ? pre : "", "%s", pre);
		cr_assert_str_eq(ami_event_name(ami_event_of(longer, strlen(longer))),
		                 ami_event_of(longer, strlen(longer)) ? longer : "", "%s", longer);
	}
	static const char *const unknown[] = {"",       "FullyBooted", "UserEvent", "Reload",
	                                      "varset", "newchannel",  "Hangup ",   "Hangu"};
	for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++)
		cr_assert_eq(ami_event_of(unknown[i], strlen(unknown[i])), AMI_EV_UNKNOWN, "%s",
		             unknown[i]);
	/* the names the model dispatches on (src/pbx/ami/ami_model.c) */
	static const char *const model[] = {"EndpointList",
	                                    "PeerEntry",
	                                    "EndpointDetail",
	                                    "VoicemailUserEntry",
	                                    "DeviceStateChange",
	                                    "QueueParams",
	                                    "QueueMember",
	                                    "QueueMemberStatus",
	                                    "QueueMemberAdded",
	                                    "QueueMemberPause",
	                                    "QueueMemberPaused",
	                                    "QueueMemberRemoved",
	                                    "QueueEntry",
	                                    "AgentCalled",
	                                    "AgentConnect",
	                                    "AgentComplete",
	                                    "AgentRingNoAnswer",
	                                    "Newchannel",
	                                    "Newstate",
	                                    "NewCallerid",
	                                    "Hangup",
	                                    "DialBegin",
	                                    "DialEnd",
	                                    "BridgeEnter",
	                                    "BridgeLeave",
	                                    "Hold",
	                                    "Unhold",
	                                    "QueueCallerJoin",
	                                    "QueueCallerLeave",
	                                    "QueueCallerAbandon",
	                                    "CoreShowChannel"};
	ami_parser_opts unread = {0};
	ami_skip_unread(&unread);
	for (size_t i = 0; i < sizeof model / sizeof *model; i++) {
		ami_event e = ami_event_of(model[i], strlen(model[i]));
		cr_assert_neq(e, AMI_EV_UNKNOWN, "%s", model[i]);
		cr_assert_str_eq(ami_event_name(e), model[i]);
		cr_assert_not(unread.skip[e / 64] >> (e % 64) & 1, "%s is read", model[i]);
	}
	static const char *const skipped[] = {"VarSet", "Newexten", "RTCPSent", "SuccessfulAuth",
	                                      "NewConnectedLine"};
	for (size_t i = 0; i < sizeof skipped / sizeof *skipped; i++) {
		ami_event e = ami_event_of(skipped[i], strlen(skipped[i]));
		cr_assert_neq(e, AMI_EV_UNKNOWN, "%s", skipped[i]);
		cr_assert(unread.skip[e / 64] >> (e % 64) & 1, "%s is not read", skipped[i]);
	}
	/* the driver's discovery waits for these by name */
	static const char *const completes[] = {
	    "EndpointListComplete", "PeerlistComplete",           "EndpointDetailComplete",
	    "QueueStatusComplete",  "VoicemailUserEntryComplete", "CoreShowChannelsComplete"};
	for (size_t i = 0; i < sizeof completes / sizeof *completes; i++) {
		ami_event e = ami_event_of(completes[i], strlen(completes[i]));
		cr_assert_not(unread.skip[e / 64] >> (e % 64) & 1, "%s", completes[i]);
	}
	for (int k = 1; k < AMI_K__COUNT; k++) {
		const char *n = ami_key_name((ami_key)k);
		char low[64], up[64];
		for (size_t i = 0; i <= strlen(n); i++) {
			low[i] = (char)(n[i] >= 'A' && n[i] <= 'Z' ? n[i] + 32 : n[i]);
			up[i] = (char)(n[i] >= 'a' && n[i] <= 'z' ? n[i] - 32 : n[i]);
		}
		cr_assert_eq(ami_key_of(n, strlen(n)), (ami_key)k, "%s", n);
		cr_assert_eq(ami_key_of(low, strlen(low)), (ami_key)k, "%s", low);
		cr_assert_eq(ami_key_of(up, strlen(up)), (ami_key)k, "%s", up);
		cr_assert_eq(ami_key_of(n, strlen(n) - 1), AMI_K_NONE, "%s-1", n);
	}
	static const char *const other_keys[] = {
	    "Privilege", "Uniqueid2", "Uniqueid@", "Queue`", "Uniqu", "ChannelStateDesc", ""};
	for (size_t i = 0; i < sizeof other_keys / sizeof *other_keys; i++)
		cr_assert_eq(ami_key_of(other_keys[i], strlen(other_keys[i])), AMI_K_NONE, "%s",
		             other_keys[i]);
}

/* ---- events passed over (ami_parser_opts.skip) ---- */

static ami_parser_opts unread_opts(bool banner)
{
	ami_parser_opts o = {.expect_banner = banner};
	ami_skip_unread(&o);
	return o;
}

/* A parser passing over the unread events delivers exactly what one that
 * reads them all delivers once they are left out (line numbers included),
 * and counts the same messages. */
static void expect_same_as_filtered(const char *d, size_t len, const size_t *cuts, size_t n,
                                    const sink *ref, const char *what)
{
	ami_parser_opts o = unread_opts(true);
	sink s;
	parse_chunks_h(&s, d, len, cuts, n, &o, true);
	cr_assert_eq(s.n_msgs, ref->n_msgs, "%s: %zu delivered, %zu expected", what, s.n_msgs,
	             ref->n_msgs);
	cr_assert_eq(s.h, ref->h, "%s", what);
	cr_assert_eq(s.total, ref->total, "%s: %llu counted, %llu expected", what,
	             (unsigned long long)s.total, (unsigned long long)ref->total);
}

static void filtered_ref(sink *ref, const char *d, size_t len)
{
	ami_parser_opts o = unread_opts(true);
	drop_events = &o;
	parse_chunks_h(ref, d, len, NULL, 0, NULL, true);
	drop_events = NULL;
}

Test(ami_parser, unread_events_passed_over_whole_session)
{
	size_t len;
	char *d = slurp("ami-session-1.txt", &len);
	sink all, ref;
	parse_chunks_h(&all, d, len, NULL, 0, NULL, true);
	filtered_ref(&ref, d, len);
	cr_assert_eq(ref.total, all.total);
	/* 2,086 of the 3,257 messages are events nothing reads (VarSet alone 1,381) */
	cr_assert_eq(all.n_msgs - ref.n_msgs, 2086, "%zu passed over", all.n_msgs - ref.n_msgs);
	expect_same_as_filtered(d, len, NULL, 0, &ref, "one piece");
	/* byte by byte, then random reads up to 4,000 bytes */
	size_t *cuts = malloc(sizeof *cuts * (len + 1));
	srand(7);
	for (int round = 0; round < 6; round++) {
		size_t cap = round == 0 ? 1 : 1 + (size_t)(rand() % 4000);
		size_t n = 0, at = 0;
		while ((at += 1 + (size_t)rand() % cap) < len)
			cuts[n++] = at;
		char what[64];
		snprintf(what, sizeof what, "reads of 1..%zu bytes", cap);
		expect_same_as_filtered(d, len, cuts, n, &ref, what);
	}
	free(cuts);
	free(d);
}

Test(ami_parser, unread_events_passed_over_every_split, .timeout = 110)
{
	size_t len;
	char *d = slurp("ami-session-1.txt", &len);
	/* every split of the first 16 KiB (line numbers compared) */
	size_t plen = (size_t)(strstr(d + 16 * 1024 / stride(), "\r\n\r\n") - d) + 4;
	sink ref;
	filtered_ref(&ref, d, plen);
	for (size_t cut = 0; cut <= plen; cut++) {
		char what[64];
		snprintf(what, sizeof what, "split at %zu", cut);
		expect_same_as_filtered(d, plen, &cut, 1, &ref, what);
	}
	/* every split of every message of the whole file, each parsed alone */
	size_t start = 0, step = stride(), cuts = 0;
	while (start < len) {
		const char *e = strstr(d + start, "\r\n\r\n");
		size_t end = e ? (size_t)(e - d) + 4 : len;
		ami_parser_opts o = unread_opts(start == 0);
		sink mref;
		drop_events = &o;
		seg_parse(&mref, d + start, end - start, NULL, start == 0);
		drop_events = NULL;
		for (size_t k = 0; k <= end - start; k += step) {
			sink s;
			seg_parse_o(&s, d + start, end - start, &k, o);
			cr_assert_eq(s.h, mref.h, "split at byte %zu", start + k);
			cr_assert_eq(s.n_msgs, mref.n_msgs, "split at byte %zu", start + k);
			cr_assert_eq(s.total, mref.total, "split at byte %zu", start + k);
			cuts++;
		}
		start = end;
	}
	cr_assert_geq(cuts * step, len);
	free(d);
}

/* The bounds hold in a message passed over: a line longer than max_line,
 * a message larger than max_msg, each one error naming its line, and the
 * next message is read; bare LF ends lines and messages as CRLF does. */
Test(ami_parser, unread_events_keep_the_bounds)
{
	ami_parser_opts o = unread_opts(false);
	o.max_line = 100;
	o.max_msg = 1000;
	pd_buf b = {0};
	pd_buf_add(&b, "Event: VarSet\r\nVariable: ");
	for (int i = 0; i < 5000; i++)
		pd_buf_addc(&b, 'x');
	pd_buf_add(&b, "\r\nValue: 1\r\n\r\nEvent: Hangup\r\nChannel: A\r\n\r\nEvent: VarSet\r\n");
	for (int i = 0; i < 40; i++)
		pd_buf_add(&b, "Variable: 0123456789012345678901234567890123456789\r\n");
	pd_buf_add(&b, "\r\nEvent: Newexten\nExten: 1\n\nEvent: Hangup\nChannel: B\n\n"
	               "Privilege: call,all\r\nEvent: VarSet\r\n\r\n");
	size_t *cuts = malloc(b.len * sizeof *cuts);
	for (size_t i = 0; i < b.len - 1; i++)
		cuts[i] = i + 1;
	sink s1, s2;
	parse_chunks(&s1, b.s, b.len, NULL, 0, &o);
	parse_chunks(&s2, b.s, b.len, cuts, b.len - 1, &o);
	cr_assert_str_eq(s1.out.s, s2.out.s);
	cr_assert_eq(s1.n_errors, 2, "%s", s1.out.s);
	cr_assert(strstr(s1.out.s, "#5@2[line 2: longer than 100 bytes]"), "%s", s1.out.s);
	cr_assert(strstr(s1.out.s, "message larger than 1000 bytes]"), "%s", s1.out.s);
	cr_assert(strstr(s1.out.s, "#2@5|Event=Hangup|Channel=A\n"), "%s", s1.out.s);
	cr_assert(strstr(s1.out.s, "|Event=Hangup|Channel=B\n"), "%s", s1.out.s);
	/* an Event line that is not the first: read, not passed over */
	cr_assert(strstr(s1.out.s, "|Privilege=call,all|Event=VarSet\n"), "%s", s1.out.s);
	cr_assert_eq(s1.n_events, 2, "%s", s1.out.s);
	cr_assert_eq(s1.total, s2.total);
	free(cuts);
	pd_buf_free(&b);
	sink_free(&s1);
	sink_free(&s2);
}

/* ---- the block path (whole lines taken from 64-byte bitmaps) against the
 * line-by-line path: byte-by-byte reads never give the block path 64 bytes,
 * whole reads give it everything. A generated stream of every case a line
 * can be (control bytes and a CR in values, keys with TAB, high bytes or
 * spaces at an end, no colon, empty keys, known keys in any case, lines
 * either side of 64 bytes, CRLF and bare LF, legacy bodies, skipped
 * events) must give the same messages, line numbers, errors and counts. */

static const char *const odd_lines[] = {
    "Event: Newchannel",
    "Event: VarSet",
    "Event: DeviceStateChange",
    "Response: Success",
    "Response: Follows",
    "Privilege: Command",
    "ActionID: 42",
    "Channel: PJSIP/1001-00000001",
    "CHANNEL: PJSIP/UPPER",
    "uniqueid: 1700000000.1",
    "Linkedid: 1700000000.1",
    "ConnectedLineName: <unknown>",
    "Variable: a=b",
    "Output: ",
    "Output:  Endpoint:  1001/1001",
    "Key:",
    "Ke\ty: tab in the key",
    "K\xc3\xa9y: high byte in the key",
    " Key: leading space",
    "Key : trailing space",
    "Named Callgroup: inner space",
    ": empty key",
    "no colon at all",
    "Key: a\rb (a CR inside)",
    "Key: \x1b[31mred\x1b[0m",
    "Key: del\x7f",
    "Ke\x1by: escape in the key",
    "\r",
    "Value: caf\xc3\xa9 \xe2\x82\xac",
    "--END COMMAND--",
    "text --END COMMAND--",
};

/* A line of exactly n bytes (before its end), a header. */
static void sized_line(pd_buf *b, size_t n)
{
	pd_buf_add(b, "Long: ");
	for (size_t i = 6; i < n; i++)
		pd_buf_addc(b, (char)('a' + i % 26));
}

static void odd_stream(pd_buf *b, unsigned seed, size_t lines)
{
	srand(seed);
	pd_buf_add(b, "Asterisk Call Manager/11.0.0\r\n");
	for (size_t i = 0; i < lines; i++) {
		int r = rand() % 100;
		if (r < 12) {
			/* a blank line, sometimes two */
		} else if (r < 22) {
			sized_line(b, 54 + (size_t)(rand() % 20)); /* around the 64-byte window */
		} else if (r < 24) {
			pd_buf_addc(b, '\0'); /* a NUL in a line */
			pd_buf_add(b, "Nul: x");
		} else {
			pd_buf_add(b,
			           odd_lines[rand() % (int)(sizeof odd_lines / sizeof *odd_lines)]);
		}
		pd_buf_add(b, rand() % 3 ? "\r\n" : "\n");
	}
	pd_buf_add(b, "\r\n");
}

static void parse_odd(sink *s, const pd_buf *b, size_t step, const ami_parser_opts *o,
                      uint64_t *bad, uint64_t *errors)
{
	memset(s, 0, sizeof *s);
	s->hash_only = true;
	s->h = 14695981039346656037ull;
	ami_parser *p = ami_parser_new(o, on_msg, s);
	for (size_t at = 0; at < b->len; at += step)
		ami_parser_feed(p, b->s + at, b->len - at < step ? b->len - at : step);
	*bad = ami_parser_bad_fields(p);
	*errors = ami_parser_errors(p);
	ami_parser_free(p);
}

Test(ami_parser, block_path_agrees_with_line_path)
{
	ami_parser_opts opts[5] = {{.expect_banner = true},
	                           {.expect_banner = true},
	                           {.expect_banner = true, .max_line = 60},
	                           {.expect_banner = true, .max_msg = 300},
	                           {.expect_banner = true, .max_line = 70, .max_msg = 2000}};
	ami_skip_unread(&opts[1]);
	ami_skip_unread(&opts[4]);
	for (unsigned seed = 1; seed <= 40; seed++) {
		pd_buf b = {0};
		odd_stream(&b, seed, 3000);
		for (size_t k = 0; k < sizeof opts / sizeof *opts; k++) {
			sink line, whole, chunked;
			uint64_t lb, le, wb, we, cb, ce;
			parse_odd(&line, &b, 1, &opts[k], &lb, &le);
			parse_odd(&whole, &b, b.len, &opts[k], &wb, &we);
			parse_odd(&chunked, &b, 97 + seed * 13, &opts[k], &cb, &ce);
			cr_assert_gt(line.n_msgs, 100, "seed %u opts %zu: %zu messages", seed, k,
			             line.n_msgs);
			cr_assert_eq(whole.n_msgs, line.n_msgs, "seed %u opts %zu", seed, k);
			cr_assert_eq(whole.h, line.h, "seed %u opts %zu", seed, k);
			cr_assert_eq(wb, lb, "seed %u opts %zu: bad fields %llu vs %llu", seed, k,
			             (unsigned long long)wb, (unsigned long long)lb);
			cr_assert_eq(we, le, "seed %u opts %zu: errors", seed, k);
			cr_assert_eq(chunked.h, line.h, "seed %u opts %zu (chunks)", seed, k);
			cr_assert_eq(cb, lb, "seed %u opts %zu (chunks)", seed, k);
			cr_assert_eq(ce, le, "seed %u opts %zu (chunks)", seed, k);
		}
		pd_buf_free(&b);
	}
}

/* The wide block scans (AVX2, BMI, POPCNT) and the baseline (SSE2) read the
 * same messages, line numbers, repaired fields and errors: the odd streams
 * and the recorded session, whole and in reads of odd sizes, with and
 * without the unread events passed over and with small bounds. */
Test(ami_parser, wide_scans_agree_with_baseline)
{
	if (!ami_parser_wide_scan(true))
		cr_skip_test("this CPU has no AVX2: only the baseline scans run here");
	ami_parser_opts opts[4] = {{.expect_banner = true},
	                           {.expect_banner = true},
	                           {.expect_banner = true, .max_line = 60},
	                           {.expect_banner = true, .max_line = 70, .max_msg = 2000}};
	ami_skip_unread(&opts[1]);
	ami_skip_unread(&opts[3]);
	size_t len;
	char *d = slurp("ami-session-1.txt", &len);
	for (unsigned seed = 0; seed <= 20; seed++) {
		pd_buf b = {0};
		if (seed)
			odd_stream(&b, seed, 3000);
		else
			pd_buf_addn(&b, d, len); /* the recorded session */
		for (size_t k = 0; k < sizeof opts / sizeof *opts; k++) {
			size_t steps[2] = {b.len, 1000 + seed * 7};
			for (size_t st = 0; st < 2; st++) {
				sink wide, base;
				uint64_t wb, we, bb, be;
				cr_assert(ami_parser_wide_scan(true));
				parse_odd(&wide, &b, steps[st], &opts[k], &wb, &we);
				cr_assert_not(ami_parser_wide_scan(false));
				parse_odd(&base, &b, steps[st], &opts[k], &bb, &be);
				cr_assert_gt(base.n_msgs, 100, "seed %u opts %zu", seed, k);
				cr_assert_eq(wide.n_msgs, base.n_msgs, "seed %u opts %zu step %zu",
				             seed, k, steps[st]);
				cr_assert_eq(wide.h, base.h, "seed %u opts %zu step %zu", seed, k,
				             steps[st]);
				cr_assert_eq(wb, bb, "seed %u opts %zu step %zu: bad fields", seed,
				             k, steps[st]);
				cr_assert_eq(we, be, "seed %u opts %zu step %zu: errors", seed, k,
				             steps[st]);
			}
		}
		pd_buf_free(&b);
	}
	free(d);
}

/* Runs of events passed over, between messages read: every place a blank
 * line can fall in a 64-byte block, lines across blocks and over max_line,
 * messages over max_msg, and the first lines the run leaves to the
 * ordinary path (a key in another case, no space after the colon: still
 * passed over; a trailing space, a name in another case, a CR inside:
 * read). Returns how many messages a parser must deliver. */
static size_t unread_runs(pd_buf *b, unsigned seed, size_t msgs)
{
	static const char *const passed[] = {"Event: VarSet", "Event: Newexten", "Event: RTCPSent",
	                                     "event: VarSet", "Event:VarSet",    "EVENT: Cdr"};
	static const char *const read[] = {"Event: VarSet ", "Event: varset", "Event: Hangup",
	                                   "Response: Success", "Event: VarSet\rX"};
	srand(seed);
	size_t n = 0;
	for (size_t i = 0; i < msgs; i++) {
		const char *eol = rand() % 4 ? "\r\n" : "\n";
		bool keep = rand() % 5 == 0;
		pd_buf_add(b, keep ? read[rand() % 5] : passed[rand() % 6]);
		pd_buf_add(b, eol);
		n += keep;
		int lines = keep ? rand() % 3 : rand() % 14;
		for (int l = 0; l < lines; l++) {
			size_t len = keep ? 1 + (size_t)(rand() % 40)
			                  : 1 + (size_t)(rand() % (rand() % 10 ? 60 : 110));
			pd_buf_add(b, "Variable: ");
			for (size_t k = 0; k < len; k++)
				pd_buf_addc(b, (char)('a' + (i + k) % 26));
			pd_buf_add(b, eol);
		}
		pd_buf_add(b, eol);
	}
	return n;
}

/* A run of skipped messages is passed in one block scan (skip_run); read
 * one byte at a time the parser never has 64 bytes and takes each line by
 * itself. Both, and every read size between, baseline and wide scans, give
 * the same messages, line numbers, errors and repaired fields. */
Test(ami_parser, runs_of_unread_events_agree_with_line_path)
{
	ami_parser_opts opts[3] = {{0}, {.max_line = 100}, {.max_line = 100, .max_msg = 600}};
	for (size_t k = 0; k < 3; k++)
		ami_skip_unread(&opts[k]);
	bool wide_cpu = ami_parser_wide_scan(true);
	for (unsigned seed = 1; seed <= 12; seed++) {
		pd_buf b = {0};
		size_t read = unread_runs(&b, seed, 2000);
		for (size_t k = 0; k < 3; k++) {
			sink line;
			uint64_t lb, le;
			parse_odd(&line, &b, 1, &opts[k], &lb, &le);
			/* the messages read, and one error for each bound passed */
			cr_assert_eq(line.n_msgs - le, read,
			             "seed %u opts %zu: %zu delivered, %zu expected", seed, k,
			             line.n_msgs - (size_t)le, read);
			cr_assert_eq(le > 0, k > 0, "seed %u opts %zu: %llu errors", seed, k,
			             (unsigned long long)le);
			size_t steps[] = {b.len, 64, 65, 127, 200 + seed, 4096};
			for (int w = 0; w <= (int)wide_cpu; w++) {
				ami_parser_wide_scan(w);
				for (size_t st = 0; st < sizeof steps / sizeof *steps; st++) {
					sink s;
					uint64_t sb, se;
					parse_odd(&s, &b, steps[st], &opts[k], &sb, &se);
					cr_assert_eq(s.n_msgs, line.n_msgs,
					             "seed %u opts %zu wide %d step %zu", seed, k,
					             w, steps[st]);
					cr_assert_eq(s.h, line.h,
					             "seed %u opts %zu wide %d step %zu", seed, k,
					             w, steps[st]);
					cr_assert_eq(
					    sb, lb, "seed %u opts %zu wide %d step %zu: bad fields",
					    seed, k, w, steps[st]);
					cr_assert_eq(se, le,
					             "seed %u opts %zu wide %d step %zu: errors",
					             seed, k, w, steps[st]);
				}
			}
			ami_parser_wide_scan(wide_cpu);
		}
		pd_buf_free(&b);
	}
}

/* docs/user-guide.md ("A busy Asterisk") lists the events provdesk passes
 * over, for the eventfilter lines of a PBX's manager.conf: exactly
 * AMI_UNREAD_EVENTS, each once (a missing one costs the PBX bandwidth, an
 * extra one would hide an event the live panels need). */
Test(ami_parser, user_guide_lists_exactly_the_unread_events)
{
	const char *root = getenv("PROVDESK_SOURCE_ROOT");
	cr_assert(root, "PROVDESK_SOURCE_ROOT is set by the test setup");
	char path[1024];
	snprintf(path, sizeof path, "%s/docs/user-guide.md", root);
	char *doc = tl_slurp(path, NULL);
	cr_assert(doc, "cannot read %s", path);
	const char *a = strstr(doc, "All the events provdesk passes over are");
	cr_assert(a, "the user guide's list of the events passed over is missing");
	const char *b = strstr(a, "Do not exclude");
	cr_assert(b);
	ami_parser_opts unread = {0}, seen = {0};
	ami_skip_unread(&unread);
	size_t listed = 0, want = 0;
	for (const char *q = a; (q = memchr(q, '`', (size_t)(b - q)));) {
		const char *e = memchr(q + 1, '`', (size_t)(b - q - 1));
		cr_assert(e, "an unclosed ` in the user guide's list");
		int n = (int)(e - q - 1);
		ami_event ev = ami_event_of(q + 1, (size_t)n);
		cr_assert(ev != AMI_EV_UNKNOWN && (unread.skip[ev / 64] >> (ev % 64) & 1),
		          "the user guide lists %.*s, which the driver reads", n, q + 1);
		cr_assert(!(seen.skip[ev / 64] >> (ev % 64) & 1), "%.*s is listed twice", n, q + 1);
		ami_skip_event(&seen, ev);
		listed++;
		q = e + 1;
	}
#define AMI_X_(id, name) want++;
	AMI_UNREAD_EVENTS(AMI_X_)
#undef AMI_X_
	cr_assert_eq(listed, want, "the user guide lists %zu of the %zu events passed over", listed,
	             want);
	free(doc);
}

/* An event's class is the first word of its Privilege value. */
Test(ami_parser, class_of_an_event_against_the_logins)
{
	cr_assert(ami_class_in("call,all", AMI_LOGIN_EVENTS));
	cr_assert(ami_class_in("agent,all", AMI_LOGIN_EVENTS));
	cr_assert(ami_class_in("Call", AMI_LOGIN_EVENTS)); /* the Status answer's */
	cr_assert(ami_class_in(NULL, AMI_LOGIN_EVENTS));   /* an answer: always */
	cr_assert_not(ami_class_in("dialplan,all", AMI_LOGIN_EVENTS));
	cr_assert_not(ami_class_in("callx,all", AMI_LOGIN_EVENTS));
	cr_assert_not(ami_class_in("cal,all", AMI_LOGIN_EVENTS));
	cr_assert_not(ami_class_in("", AMI_LOGIN_EVENTS));
	cr_assert_not(ami_class_in("", "call,,agent"));
	cr_assert_not(ami_class_in(",call", AMI_LOGIN_EVENTS));
	cr_assert_not(ami_class_in("call,all", ""));
	cr_assert(ami_class_in("agent\r\n", "call,agent,"));
}

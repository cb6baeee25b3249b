/* The Xsi XML layer on the documents of tests/fixtures/broadworks/ (see its
 * README: constructed from the public documentation, not recorded): the
 * stream's counts and fields, every split in two, 1-byte and random
 * chunkings, UTF-8 names cut inside a character; then the bounds, DOCTYPE
 * and entities refused, garbage, unknown documents; the directory pages. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/pbx/xsi/xsi_driver.h"
#include "provdesk/util.h"
#include "provdesk/xsi.h"
#include "testlib.h" /* tests/lib */

static char *slurp(const char *name, size_t *len)
{
	char rel[256];
	snprintf(rel, sizeof rel, "broadworks/%s", name);
	char *b = tl_slurp_fixture(rel, len);
	cr_assert(b, "cannot read the fixture %s", rel);
	return b;
}

/* Everything delivered, as one line per message, to compare chunkings. */
typedef struct {
	pd_buf log;
	size_t n, errors;
	xsi_msg first_error;
	char error_text[300];
	xsi_msg msgs[64];
} sink;

static void on_msg(const xsi_msg *m, void *ctx)
{
	sink *s = ctx;
	if (s->n < 64) {
		s->msgs[s->n] = *m;
		s->msgs[s->n].text = NULL;
	}
	s->n++;
	if (m->kind == XSI_MSG_ERROR) {
		if (!s->errors++)
			snprintf(s->error_text, sizeof s->error_text, "%s", m->text);
	}
	pd_buf_printf(&s->log, "%d|%s|%s|%lld|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%lld|%lld|%s\n",
	              m->kind, xsi_event_type_name(m->type), m->event_id, m->sequence, m->target_id,
	              m->call_id, m->ext_tracking_id, m->personality, m->state, m->remote_name,
	              m->remote_number, m->acd_name, m->agent_state, m->unavailable_code,
	              (long long)m->start_time, (long long)m->state_timestamp,
	              m->kind == XSI_MSG_ERROR ? m->text : "");
}

static void sink_free(sink *s)
{
	pd_buf_free(&s->log);
	memset(s, 0, sizeof *s);
}

/* Feeds buf in the chunks given by cut (NULL: whole); returns the stats. */
static xsi_parser_stats run(const char *buf, size_t len, const xsi_parser_opts *o, sink *s,
                            size_t (*cut)(size_t at, void *c), void *c)
{
	xsi_parser *p = xsi_parser_new(o, on_msg, s);
	for (size_t at = 0; at < len;) {
		size_t k = cut ? cut(at, c) : len;
		if (k > len - at)
			k = len - at;
		xsi_parser_feed(p, buf + at, k);
		at += k;
	}
	xsi_parser_stats st;
	xsi_parser_get_stats(p, &st);
	xsi_parser_free(p);
	return st;
}

Test(xsi_parser, queue_stream_counts_and_fields)
{
	size_t len;
	char *b = slurp("queue-call.xml", &len);
	sink s = {0};
	xsi_parser_stats st = run(b, len, NULL, &s, NULL, NULL);
	cr_assert_eq(st.documents, 17);
	cr_assert_eq(st.events, 14);
	cr_assert_eq(st.heartbeats, 2);
	cr_assert_eq(st.unknown, 1, "CallForwardingAlwaysEvent is counted, not an error");
	cr_assert_eq(s.errors, 0, "%s", s.error_text);
	cr_assert_eq(s.n, 17);
	cr_assert_eq(s.msgs[0].kind, XSI_MSG_CHANNEL);
	cr_assert_str_eq(s.msgs[0].channel_id, "a1b2c3d4-0000-4000-8000-00000000c0de");
	cr_assert_eq(s.msgs[0].expires, 3600);
	cr_assert_eq(s.msgs[1].kind, XSI_MSG_HEARTBEAT);
	const xsi_msg *a = &s.msgs[3];
	cr_assert_eq(a->type, XSI_EV_AGENT_STATE);
	cr_assert_str_eq(a->agent_state, "Available");
	cr_assert_eq(a->state_timestamp, 1794312000000LL);
	const xsi_msg *r = &s.msgs[4];
	cr_assert_eq(r->kind, XSI_MSG_EVENT);
	cr_assert_eq(r->type, XSI_EV_CALL_RECEIVED);
	cr_assert_str_eq(r->type_name, "CallReceivedEvent");
	cr_assert_str_eq(r->event_id, "ev-0003-6f1e");
	cr_assert_eq(r->sequence, 3);
	cr_assert_str_eq(r->subscription_id, "sub-ac-0001");
	cr_assert_str_eq(r->channel_id, "a1b2c3d4-0000-4000-8000-00000000c0de");
	cr_assert_str_eq(r->target_id, "cc-support@acme.example");
	cr_assert_str_eq(r->call_id, "callhalf-900:0");
	cr_assert_str_eq(r->ext_tracking_id, "7001:1");
	cr_assert_str_eq(r->personality, "Terminator");
	cr_assert_str_eq(r->state, "Alerting");
	cr_assert_str_eq(r->remote_name, "Jürgen Groß");
	cr_assert_str_eq(r->remote_number, "+33155550100", "tel: is stripped");
	cr_assert_str_eq(r->remote_call_type, "Network");
	cr_assert_str_eq(r->acd_user_id, "cc-support@acme.example");
	cr_assert_str_eq(r->acd_name, "Support");
	cr_assert_str_eq(r->acd_number, "+33155550000");
	cr_assert_eq(r->start_time, 1794312000000LL);
	cr_assert_eq(s.msgs[8].answer_time, 1794312009000LL);
	cr_assert_eq(s.msgs[9].type, XSI_EV_CALL_RELEASED);
	cr_assert_eq(s.msgs[9].release_time, 1794312009500LL);
	cr_assert_eq(s.msgs[14].type, XSI_EV_OTHER);
	cr_assert_str_eq(s.msgs[14].type_name, "CallForwardingAlwaysEvent");
	cr_assert_str_eq(s.msgs[14].event_id, "ev-0012-6f1e",
	                 "an unknown event still has its id for the ack");
	cr_assert_str_eq(s.msgs[15].unavailable_code, "Lunch");
	cr_assert_str_eq(s.msgs[16].agent_state, "Sign-Out");
	sink_free(&s);
	free(b);
}

Test(xsi_parser, newline_separated_stream_and_channel_end)
{
	size_t len;
	char *b = slurp("direct-call.xml", &len);
	sink s = {0};
	xsi_parser_stats st = run(b, len, NULL, &s, NULL, NULL);
	cr_assert_eq(s.errors, 0, "%s", s.error_text);
	cr_assert_eq(st.documents, 9);
	cr_assert_eq(s.msgs[1].type, XSI_EV_CALL_ORIGINATED);
	cr_assert_str_eq(s.msgs[1].remote_name, "Zoé Lefèvre");
	cr_assert_str_eq(s.msgs[1].remote_user_id, "zoe.lefevre@acme.example");
	cr_assert_str_eq(s.msgs[4].personality, "Originator");
	cr_assert_eq(s.msgs[4].type, XSI_EV_CALL_UPDATED);
	sink_free(&s);
	free(b);
	b = slurp("channel-end.xml", &len);
	sink e = {0};
	st = run(b, len, NULL, &e, NULL, NULL);
	cr_assert_eq(e.n, 2);
	cr_assert_eq(e.msgs[0].type, XSI_EV_SUBSCRIPTION_TERMINATED);
	cr_assert_eq(e.msgs[1].type, XSI_EV_CHANNEL_TERMINATED, "typed on the Event itself");
	cr_assert_str_eq(e.msgs[1].event_id, "");
	cr_assert_eq(st.unknown, 0);
	sink_free(&e);
	free(b);
}

static size_t cut_at(size_t at, void *c)
{
	size_t split = *(size_t *)c;
	return at < split ? split - at : (size_t)-1;
}

/* Every split in two gives what the whole stream gives. */
static void every_split(const char *name)
{
	size_t len;
	char *b = slurp(name, &len);
	sink whole = {0};
	run(b, len, NULL, &whole, NULL, NULL);
	size_t step = tl_slow() > 1 ? 7 : 1;
	for (size_t split = 1; split < len; split += step) {
		sink s = {0};
		run(b, len, NULL, &s, cut_at, &split);
		cr_assert_str_eq(s.log.s, whole.log.s, "%s split at %zu", name, split);
		sink_free(&s);
	}
	sink_free(&whole);
	free(b);
}

Test(xsi_parser, every_split_in_two)
{
	every_split("queue-call.xml");
	every_split("direct-call.xml");
	every_split("channel-end.xml");
}

static size_t one(size_t at, void *c)
{
	(void)at, (void)c;
	return 1;
}

static size_t random_cut(size_t at, void *c)
{
	(void)at;
	unsigned *seed = c;
	*seed = *seed * 1103515245u + 12345u;
	return 1 + (*seed >> 16) % 300;
}

Test(xsi_parser, one_byte_and_random_chunks)
{
	const char *names[] = {"queue-call.xml", "direct-call.xml", "channel-end.xml"};
	for (size_t f = 0; f < 3; f++) {
		size_t len;
		char *b = slurp(names[f], &len);
		sink whole = {0}, bytes = {0};
		run(b, len, NULL, &whole, NULL, NULL);
		run(b, len, NULL, &bytes, one, NULL);
		cr_assert_str_eq(bytes.log.s, whole.log.s, "%s fed 1 byte at a time", names[f]);
		for (unsigned seed = 1; seed <= 200; seed++) {
			sink s = {0};
			unsigned st = seed;
			run(b, len, NULL, &s, random_cut, &st);
			cr_assert_str_eq(s.log.s, whole.log.s, "%s seed %u", names[f], seed);
			sink_free(&s);
		}
		sink_free(&whole);
		sink_free(&bytes);
		free(b);
	}
}

/* Every cut inside a multi-byte character of a name keeps the name whole. */
Test(xsi_parser, utf8_names_split_inside_a_character)
{
	size_t len;
	char *b = slurp("queue-call.xml", &len);
	size_t cuts = 0;
	for (size_t i = 1; i < len; i++) {
		if (((unsigned char)b[i] & 0xC0) != 0x80)
			continue; /* only inside a character */
		sink s = {0};
		run(b, len, NULL, &s, cut_at, &i);
		cr_assert_eq(s.errors, 0);
		cr_assert_str_eq(s.msgs[4].remote_name, "Jürgen Groß", "cut at %zu", i);
		sink_free(&s);
		cuts++;
	}
	cr_assert_gt(cuts, 10);
	free(b);
}

static const char EVENT_HEAD[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<xsi:Event xsi1:type=\"xsi:SubscriptionEvent\" xmlns:xsi=\"http://schema.broadsoft.com/xsi\" "
    "xmlns:xsi1=\"http://www.w3.org/2001/XMLSchema-instance\"><xsi:eventID>e1</xsi:eventID>"
    "<xsi:targetId>u@x</xsi:targetId><xsi:eventData xsi1:type=\"xsi:CallReceivedEvent\">"
    "<xsi:call><xsi:callId>c1</xsi:callId><xsi:remoteParty><xsi:name>";
static const char EVENT_TAIL[] =
    "</xsi:name></xsi:remoteParty></xsi:call></xsi:eventData></xsi:Event>";
static const char HEARTBEAT[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
                                "<ChannelHeartBeat xmlns=\"http://schema.broadsoft.com/xsi\"/>";

static sink feed_text(const char *text, const xsi_parser_opts *o, xsi_parser_stats *st)
{
	sink s = {0};
	*st = run(text, strlen(text), o, &s, NULL, NULL);
	return s;
}

Test(xsi_parser, oversize_document_is_a_protocol_error)
{
	pd_buf b = {0};
	pd_buf_add(&b, HEARTBEAT);
	pd_buf_add(&b, EVENT_HEAD);
	for (int i = 0; i < 600; i++)
		pd_buf_add(&b, "0123456789");
	pd_buf_add(&b, EVENT_TAIL);
	pd_buf_add(&b, HEARTBEAT);
	xsi_parser_opts o = {.max_doc = 4096};
	xsi_parser_stats st;
	sink s = feed_text(b.s, &o, &st);
	cr_assert_eq(s.n, 2, "the heartbeat, then the error");
	cr_assert_eq(s.msgs[1].kind, XSI_MSG_ERROR);
	cr_assert(strstr(s.error_text, "larger than 4096"), "%s", s.error_text);
	cr_assert_eq(s.msgs[1].doc_no, 2);
	cr_assert_eq(st.heartbeats, 1, "nothing after a lost framing");
	sink_free(&s);
	/* the same document with the default bound (1 MiB) passes, its long name cut */
	sink ok = feed_text(b.s, NULL, &st);
	cr_assert_eq(ok.errors, 0, "%s", ok.error_text);
	cr_assert_eq(st.documents, 3);
	cr_assert_eq(strlen(ok.msgs[1].remote_name), XSI_VALUE_MAX - 1);
	cr_assert_gt(st.bad_fields, 0);
	sink_free(&ok);
	pd_buf_free(&b);
}

Test(xsi_parser, fatal_until_reset)
{
	sink s = {0};
	xsi_parser *p = xsi_parser_new(NULL, on_msg, &s);
	xsi_parser_feed(p, "garbage", 7);
	cr_assert(xsi_parser_fatal(p));
	cr_assert_eq(s.errors, 1);
	xsi_parser_feed(p, HEARTBEAT, strlen(HEARTBEAT));
	cr_assert_eq(s.n, 1, "ignored while fatal");
	xsi_parser_reset(p);
	cr_assert(!xsi_parser_fatal(p));
	xsi_parser_feed(p, HEARTBEAT, strlen(HEARTBEAT));
	cr_assert_eq(s.n, 2);
	cr_assert_eq(s.msgs[1].kind, XSI_MSG_HEARTBEAT);
	/* a reset in the middle of a document forgets it */
	xsi_parser_feed(p, EVENT_HEAD, strlen(EVENT_HEAD));
	xsi_parser_reset(p);
	xsi_parser_feed(p, HEARTBEAT, strlen(HEARTBEAT));
	cr_assert_eq(s.n, 3);
	cr_assert_eq(s.msgs[2].kind, XSI_MSG_HEARTBEAT);
	xsi_parser_free(p);
	sink_free(&s);
}

Test(xsi_parser, doctype_and_entities_refused)
{
	const char *bad[] = {
	    "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"b\">]><x>&a;</x>",
	    "<?xml version=\"1.0\"?><!DOCTYPE x SYSTEM \"file:///etc/passwd\"><x/>",
	    "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY % p SYSTEM \"http://e/x\"> %p;]><x/>",
	    ("<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b "
	     "\"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]><l>&b;</l>"),
	    "<?xml version=\"1.0\"?><x>&undeclared;</x>",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		xsi_parser_stats st;
		sink s = feed_text(bad[i], NULL, &st);
		cr_assert_eq(s.errors, 1, "case %zu", i);
		cr_assert_eq(st.documents, 0, "case %zu", i);
		if (i < 4)
			cr_assert(strstr(s.error_text, "DOCTYPE refused"), "case %zu: %s", i,
			          s.error_text);
		sink_free(&s);
	}
}

Test(xsi_parser, garbage_and_broken_documents)
{
	const char *bad[] = {
	    "HTTP/1.1 200 OK\r\n",                                   /* not XML */
	    "<?xml version=\"1.0\"?><a><b></a>",                     /* mismatched */
	    "<?xml version=\"1.0\"?><a>\xff\xfe</a>",                /* invalid UTF-8 */
	    "<?xml version=\"1.0\"?><a>\x01</a>",                    /* a control byte */
	    "<?xml version=\"1.0\"?><a/>junk",                       /* after a whole document */
	    "<?xml version=\"1.0\"?><a><?xml version=\"1.0\"?></a>", /* a declaration inside */
	    "<?xml version=\"1.0\"?><a b=\"1\" b=\"2\"/>",           /* duplicate attribute */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		xsi_parser_stats st;
		sink s = feed_text(bad[i], NULL, &st);
		cr_assert_eq(s.errors, 1, "case %zu: %zu errors", i, s.errors);
		cr_assert(strstr(s.error_text, "document"), "case %zu: %s", i, s.error_text);
		sink_free(&s);
	}
}

Test(xsi_parser, depth_and_element_bounds)
{
	pd_buf b = {0};
	pd_buf_add(&b, "<?xml version=\"1.0\"?>");
	for (int i = 0; i < 40; i++)
		pd_buf_add(&b, "<d>");
	for (int i = 0; i < 40; i++)
		pd_buf_add(&b, "</d>");
	xsi_parser_stats st;
	sink s = feed_text(b.s, NULL, &st);
	cr_assert(strstr(s.error_text, "nested too deep"), "%s", s.error_text);
	sink_free(&s);
	pd_buf_free(&b);
	pd_buf_add(&b, "<?xml version=\"1.0\"?><r>");
	for (int i = 0; i < 200; i++)
		pd_buf_add(&b, "<e/>");
	pd_buf_add(&b, "</r>");
	xsi_parser_opts o = {.max_elements = 100};
	s = feed_text(b.s, &o, &st);
	cr_assert(strstr(s.error_text, "too many elements"), "%s", s.error_text);
	sink_free(&s);
	pd_buf_free(&b);
}

Test(xsi_parser, unknown_documents_ignored_and_counted)
{
	pd_buf b = {0};
	pd_buf_add(&b, "<?xml version=\"1.0\"?><Foo xmlns=\"http://schema.broadsoft.com/xsi\"/>");
	pd_buf_add(
	    &b, "<?xml version=\"1.0\"?><Event xmlns=\"urn:other\"><eventID>x</eventID></Event>");
	pd_buf_add(&b, HEARTBEAT);
	xsi_parser_stats st;
	sink s = feed_text(b.s, NULL, &st);
	cr_assert_eq(s.errors, 0, "%s", s.error_text);
	cr_assert_eq(s.n, 1, "only the heartbeat is delivered");
	cr_assert_eq(st.unknown, 2, "a foreign root and a foreign namespace");
	cr_assert_eq(st.documents, 3);
	sink_free(&s);
	pd_buf_free(&b);
}

/* ---- directory pages ---- */

Test(xsi_dir, enterprise_paging)
{
	size_t len;
	char *b = slurp("directory-enterprise-1.xml", &len);
	xsi_dir_page p;
	char err[200] = "";
	cr_assert(xsi_dir_parse(b, len, NULL, 100, &p, err, sizeof err), "%s", err);
	cr_assert_eq(p.start_index, 1);
	cr_assert_eq(p.number_of_records, 3);
	cr_assert_eq(p.total, 5);
	cr_assert_eq(p.n_users, 3);
	cr_assert_eq(xsi_dir_next_start(&p), 4);
	cr_assert_str_eq(p.users[1].user_id, "zoe.lefevre@acme.example");
	cr_assert_str_eq(p.users[1].first_name, "Zoé");
	cr_assert_str_eq(p.users[1].last_name, "Lefèvre");
	cr_assert_str_eq(p.users[1].group_id, "support");
	cr_assert_str_eq(p.users[1].number, "+33155552002");
	cr_assert_str_eq(p.users[1].extension, "2002");
	cr_assert_str_eq(p.users[1].email, "zoe.lefevre@acme.example");
	cr_assert_str_eq(p.users[2].email, "");
	xsi_dir_page_free(&p);
	free(b);
	b = slurp("directory-enterprise-2.xml", &len);
	cr_assert(xsi_dir_parse(b, len, NULL, 100, &p, err, sizeof err), "%s", err);
	cr_assert_eq(p.start_index, 4);
	cr_assert_eq(p.n_users, 2);
	cr_assert_eq(xsi_dir_next_start(&p), 0, "the total is read");
	xsi_dir_page_free(&p);
	/* max_users: the rest refused and counted */
	cr_assert(xsi_dir_parse(b, len, NULL, 1, &p, err, sizeof err), "%s", err);
	cr_assert_eq(p.n_users, 1);
	cr_assert_eq(p.refused, 1);
	xsi_dir_page_free(&p);
	free(b);
}

Test(xsi_dir, group_page_in_latin1)
{
	size_t len;
	char *b = slurp("directory-group.xml", &len);
	xsi_dir_page p;
	char err[200] = "";
	cr_assert(xsi_dir_parse(b, len, NULL, 100, &p, err, sizeof err), "%s", err);
	cr_assert_eq(p.n_users, 3);
	cr_assert_str_eq(p.users[0].first_name, "Zoé", "ISO-8859-1 read as UTF-8");
	cr_assert_str_eq(p.users[1].last_name, "Groß");
	cr_assert_str_eq(p.users[0].group_id, "");
	xsi_dir_page_free(&p);
	free(b);
}

Test(xsi_dir, bad_pages)
{
	const char *bad[] = {
	    "",
	    "<?xml version=\"1.0\"?><Enterprise><numberOfRecords>1</numberOfRecords></Enterprise>",
	    ("<?xml version=\"1.0\"?><Other><startIndex>1</startIndex><numberOfRecords>0</"
	     "numberOfRecords><totalAvailableRecords>0</totalAvailableRecords></Other>"),
	    "<?xml version=\"1.0\"?><!DOCTYPE Group [<!ENTITY a \"x\">]><Group/>",
	    "<?xml version=\"1.0\"?><Group><startIndex>1</startIndex>",
	    "not xml",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		xsi_dir_page p;
		char err[200] = "";
		cr_assert(!xsi_dir_parse(bad[i], strlen(bad[i]), NULL, 100, &p, err, sizeof err),
		          "case %zu", i);
		cr_assert_eq(p.n_users, 0);
		cr_assert(strstr(err, "directory page"), "case %zu: %s", i, err);
		xsi_dir_page_free(&p);
	}
	/* a user without a userId is refused, the others kept */
	const char *page =
	    "<?xml version=\"1.0\"?><Group xmlns=\"http://schema.broadsoft.com/xsi\">"
	    "<startIndex>1</startIndex><numberOfRecords>2</numberOfRecords>"
	    "<totalAvailableRecords>2</totalAvailableRecords><groupDirectory>"
	    "<directoryDetails><firstName>No</firstName></directoryDetails>"
	    "<directoryDetails><userId>a@b</userId></directoryDetails>"
	    "</groupDirectory></Group>";
	xsi_dir_page p;
	char err[200];
	cr_assert(xsi_dir_parse(page, strlen(page), NULL, 100, &p, err, sizeof err), "%s", err);
	cr_assert_eq(p.n_users, 1);
	cr_assert_eq(p.refused, 1);
	xsi_dir_page_free(&p);
}

/* What the driver and the lab write into a document (an event id, a name). */
Test(xsi_parser, xml_escape)
{
	pd_buf b = {0};
	xsi_xml_escape(&b, "a&b<c>d\"e'f Zoé");
	xsi_xml_escape(&b, NULL);
	cr_assert_str_eq(b.s, "a&amp;b&lt;c&gt;d&quot;e'f Zoé");
	pd_buf_free(&b);
}

/* An agent's CallCenter answer as the driver reads it (xsi_value_of): the
 * state and the code; the first element of a name only (a call center's
 * <available> is not the agent's); false for what is not well-formed XML
 * or declares a DOCTYPE, true with "" for a document without it. */
Test(xsi_parser, callcenter_answer_read)
{
	size_t len;
	char *b = slurp("callcenter-agent.xml", &len);
	char v[XSI_VALUE_MAX];
	cr_assert(xsi_value_of(b, len, "agentACDState", v, sizeof v));
	cr_assert_str_eq(v, "Unavailable");
	cr_assert(xsi_value_of(b, len, "agentUnavailableCode", v, sizeof v));
	cr_assert_str_eq(v, "Lunch");
	cr_assert(xsi_value_of(b, len, "serviceUserId", v, sizeof v));
	cr_assert_str_eq(v, "cc-support@acme.example");
	cr_assert(xsi_value_of(b, len, "agentStateTimestamp", v, sizeof v));
	cr_assert_str_eq(v, "", "none: empty");
	/* cut anywhere: malformed */
	for (size_t cut = 1; cut < len - 2; cut += 97) {
		strcpy(v, "x");
		cr_assert(!xsi_value_of(b, cut, "agentACDState", v, sizeof v), "cut at %zu", cut);
		cr_assert_str_eq(v, "");
	}
	free(b);
	const char *doctype = "<?xml version=\"1.0\"?><!DOCTYPE C [<!ENTITY a \"Available\">]>"
	                      "<C><agentACDState>&a;</agentACDState></C>";
	cr_assert(!xsi_value_of(doctype, strlen(doctype), "agentACDState", v, sizeof v));
	cr_assert_str_eq(v, "");
	/* a tab, a newline and a bidi override: printable ASCII only, cut to fit */
	const char *odd = "<C><s>Sign&#x9;In\xe2\x80\xae&#xA;x</s></C>";
	cr_assert(xsi_value_of(odd, strlen(odd), "s", v, sizeof v));
	cr_assert_str_eq(v, "Sign?In????x");
	char small[5];
	cr_assert(xsi_value_of(odd, strlen(odd), "s", small, sizeof small));
	cr_assert_str_eq(small, "Sign");
	cr_assert(!xsi_value_of("", 0, "s", v, sizeof v));
}

/* The calls a user is in now (GET …/calls, then …/calls/{callId}): the
 * list's callIds, bounded; a <Call> as an event's call; bad answers refused
 * with what they are, nothing kept. */
Test(xsi_parser, call_list_and_call_answers)
{
	size_t len;
	char *b = slurp("calls-user.xml", &len);
	xsi_call_list cl;
	char err[200] = "";
	cr_assert(xsi_calls_parse(b, len, NULL, 64, &cl, err, sizeof err), "%s", err);
	cr_assert_eq(cl.n, 2);
	cr_assert_str_eq(cl.ids[0], "callhalf-722:1");
	cr_assert_str_eq(cl.ids[1], "callhalf-731:0");
	xsi_call_list_free(&cl);
	cr_assert(xsi_calls_parse(b, len, NULL, 1, &cl, err, sizeof err));
	cr_assert_eq(cl.n, 1);
	cr_assert_eq(cl.refused, 1, "past max_calls: refused, counted");
	xsi_call_list_free(&cl);
	free(b);
	b = slurp("call-agent-active.xml", &len);
	xsi_msg m;
	cr_assert(xsi_call_parse(b, len, NULL, &m, err, sizeof err), "%s", err);
	cr_assert_eq(m.kind, XSI_MSG_EVENT);
	cr_assert_eq(m.type, XSI_EV_CALL_UPDATED);
	cr_assert_str_eq(m.call_id, "callhalf-722:1");
	cr_assert_str_eq(m.ext_tracking_id, "7001:1");
	cr_assert_str_eq(m.personality, "Terminator");
	cr_assert_str_eq(m.state, "Active");
	cr_assert_str_eq(m.remote_name, "Jürgen Groß");
	cr_assert_str_eq(m.remote_number, "+33155550100");
	cr_assert_str_eq(m.acd_name, "Support");
	cr_assert_str_eq(m.acd_user_id, "cc-support@acme.example");
	cr_assert_eq(m.start_time, 1765100000000LL);
	cr_assert_eq(m.answer_time, 1765100004000LL);
	cr_assert_str_eq(m.target_id, "", "the caller knows whose");
	free(b);
	static const struct {
		const char *doc, *what;
	} bad[] = {
	    {"<Calls xmlns=\"" XSI_NS "\"><call><callId>x", "call list: "},
	    {"<Other/>", "call list: root <Other> is not Calls"},
	    {"<Enterprise/>", "call list: root <Enterprise> is not Calls"},
	    {"<?xml version=\"1.0\"?><!DOCTYPE Calls [<!ENTITY a \"x\">]><Calls/>", "call list: "},
	    {"<Call xmlns=\"" XSI_NS "\"><state>Active</state></Call>", "call: no callId"},
	    {"<Calls/>", "call: root <Calls> is not Call"},
	    {"<Call><callId>c</callId>", "call: "},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		bool list = !strncmp(bad[i].what, "call list", 9);
		bool ok = list ? xsi_calls_parse(bad[i].doc, strlen(bad[i].doc), NULL, 64, &cl, err,
		                                 sizeof err)
		               : xsi_call_parse(bad[i].doc, strlen(bad[i].doc), NULL, &m, err,
		                                sizeof err);
		cr_assert(!ok, "case %zu", i);
		cr_assert(strstr(err, bad[i].what), "case %zu: %s", i, err);
		if (list)
			cr_assert_eq(cl.n, 0);
		else
			cr_assert_str_eq(m.call_id, "");
	}
	/* the directory's two roots, said as such */
	xsi_dir_page pg;
	cr_assert(!xsi_dir_parse("<Calls/>", 8, NULL, 10, &pg, err, sizeof err));
	cr_assert_str_eq(err, "directory page: root <Calls> is not Enterprise or Group");
	/* an empty list, and one past the document bound */
	cr_assert(xsi_calls_parse("<Calls/>", 8, NULL, 64, &cl, err, sizeof err));
	cr_assert_eq(cl.n, 0);
	xsi_parser_opts small = {.max_doc = 16};
	const char *two = "<Calls><call><callId>a</callId></call></Calls>";
	cr_assert(!xsi_calls_parse(two, strlen(two), &small, 64, &cl, err, sizeof err));
	cr_assert(strstr(err, "larger than 16 bytes"), "%s", err);
}

/* The Xsi XML layer (include/provdesk/xsi.h; docs/architecture.md,
 * "BroadWorks Xsi"): the event channel's stream of XML documents through
 * expat, one parser per document, and the Xsi-Actions directory pages. */
#include <expat.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provdesk/i18n.h"
#include "provdesk/util.h"
#include "provdesk/xsi.h"

#define PATH_MAX_LEN 512

/* What one document's handlers collect (events and directory pages). */
typedef struct {
	XML_Parser xp;
	size_t max_depth, max_elements;
	size_t depth, elements;
	size_t path_len[XSI_DEFAULT_MAX_DEPTH * 4 + 1];
	char path[PATH_MAX_LEN]; /* local names below the root, "eventData/call/state" */
	char root[64];
	char text[XSI_VALUE_MAX * 4];
	size_t text_len;
	bool text_cut;
	bool root_done;
	XML_Index end_off, root_start_end;
	const char *refused; /* why the document was stopped (DOCTYPE, a bound) */
	uint64_t bad_fields;
	/* what is read */
	enum {
		DOC_EVENT,
		DOC_DIR,
		DOC_CALLS,
		DOC_CALL
	} kind; /* the channel's, or a whole answer */
	xsi_msg m;
	xsi_dir_page *page;
	xsi_dir_user cur;
	bool in_user;
	size_t max_users; /* DOC_DIR: users kept; DOC_CALLS: calls kept */
	xsi_call_list *calls;
} doc_state;

struct xsi_parser {
	xsi_parser_opts o;
	xsi_on_msg cb;
	void *ctx;
	doc_state d;
	bool in_doc, fatal;
	size_t doc_bytes;
	uint64_t doc_no, doc_start, offset;
	xsi_parser_stats st;
};

static size_t opt_or(size_t v, size_t def)
{
	return v ? v : def;
}

/* "http://schema.broadsoft.com/xsi eventID" -> "eventID" (expat's
 * namespace form: URI, space, local name); elements of another namespace
 * keep their URI so they match nothing. */
static const char *local_name(const char *n)
{
	const char *sp = strchr(n, ' ');
	if (!sp)
		return n;
	if ((size_t)(sp - n) == strlen(XSI_NS) && !strncmp(n, XSI_NS, (size_t)(sp - n)))
		return sp + 1;
	return n;
}

static void refuse(doc_state *d, const char *why)
{
	if (!d->refused)
		d->refused = why;
	XML_StopParser(d->xp, XML_FALSE);
}

static long long to_ll(const char *s)
{
	char *end;
	long long v = strtoll(s, &end, 10);
	return end == s ? -1 : v;
}

static xsi_event_type type_of(const char *t)
{
	static const struct {
		const char *name;
		xsi_event_type t;
	} map[] = {
	    {"CallReceivedEvent", XSI_EV_CALL_RECEIVED},
	    {"CallOriginatedEvent", XSI_EV_CALL_ORIGINATED},
	    {"CallAnsweredEvent", XSI_EV_CALL_ANSWERED},
	    {"CallHeldEvent", XSI_EV_CALL_HELD},
	    {"CallRetrievedEvent", XSI_EV_CALL_RETRIEVED},
	    {"CallTransferredEvent", XSI_EV_CALL_TRANSFERRED},
	    {"CallReleasedEvent", XSI_EV_CALL_RELEASED},
	    {"CallUpdatedEvent", XSI_EV_CALL_UPDATED},
	    {"AgentStateEvent", XSI_EV_AGENT_STATE},
	    {"SubscriptionTerminatedEvent", XSI_EV_SUBSCRIPTION_TERMINATED},
	    {"ChannelTerminatedEvent", XSI_EV_CHANNEL_TERMINATED},
	};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (!strcmp(map[i].name, t))
			return map[i].t;
	return XSI_EV_OTHER;
}

const char *xsi_event_type_name(xsi_event_type t)
{
	static const char *const names[] = {
	    "other",       "CallReceived",  "CallOriginated",         "CallAnswered",
	    "CallHeld",    "CallRetrieved", "CallTransferred",        "CallReleased",
	    "CallUpdated", "AgentState",    "SubscriptionTerminated", "ChannelTerminated"};
	return (size_t)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

/* The xsi1:type attribute ("xsi:CallReceivedEvent") without its prefix. */
static const char *xsi_type_attr(const XML_Char **atts)
{
	for (size_t i = 0; atts[i] && atts[i + 1]; i += 2)
		if (!strcmp(atts[i], "http://www.w3.org/2001/XMLSchema-instance type")) {
			const char *c = strrchr(atts[i + 1], ':');
			return c ? c + 1 : atts[i + 1];
		}
	return NULL;
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	doc_state *d = ud;
	if (d->refused)
		return;
	if (++d->elements > d->max_elements) {
		refuse(d, _("too many elements"));
		return;
	}
	if (d->depth >= d->max_depth) {
		refuse(d, _("elements nested too deep"));
		return;
	}
	const char *ln = local_name(name);
	const char *type = xsi_type_attr(atts);
	if (d->depth == 0) {
		pd_utf8_copy(d->root, sizeof d->root, ln, strlen(ln));
		d->root_start_end = XML_GetCurrentByteIndex(d->xp) + XML_GetCurrentByteCount(d->xp);
		if (type && d->kind == DOC_EVENT) {
			/* ChannelTerminatedEvent is typed on the Event itself */
			pd_utf8_copy(d->m.type_name, sizeof d->m.type_name, type, strlen(type));
			d->m.type = type_of(d->m.type_name);
		}
		d->path_len[0] = 0;
		d->path[0] = '\0';
	} else {
		size_t l = d->path_len[d->depth - 1], nl = strlen(ln);
		if (l + nl + 2 > sizeof d->path) {
			refuse(d, _("element names too long"));
			return;
		}
		if (l)
			d->path[l++] = '/';
		memcpy(d->path + l, ln, nl + 1);
		d->path_len[d->depth] = l + nl;
		if (d->kind == DOC_EVENT && type && !strcmp(d->path, "eventData")) {
			pd_utf8_copy(d->m.type_name, sizeof d->m.type_name, type, strlen(type));
			d->m.type = type_of(d->m.type_name);
		}
		if (d->kind == DOC_DIR && !strcmp(ln, "directoryDetails")) {
			memset(&d->cur, 0, sizeof d->cur);
			d->in_user = true;
		}
	}
	d->depth++;
	d->text_len = 0;
	d->text_cut = false;
}

/* The value just closed, for the path it had. */
static void set_event_field(doc_state *d, const char *path, const char *v, size_t n)
{
	static const struct {
		const char *path;
		size_t off, cap;
	} f[] = {
#define F(p, m) {p, offsetof(xsi_msg, m), sizeof(((xsi_msg *)0)->m)}
	    F("eventID", event_id),
	    F("subscriptionId", subscription_id),
	    F("channelId", channel_id),
	    F("targetId", target_id),
	    F("eventData/call/callId", call_id),
	    F("eventData/call/extTrackingId", ext_tracking_id),
	    F("eventData/call/personality", personality),
	    F("eventData/call/state", state),
	    F("eventData/call/remoteParty/name", remote_name),
	    F("eventData/call/remoteParty/userId", remote_user_id),
	    F("eventData/call/remoteParty/callType", remote_call_type),
	    F("eventData/call/acdCallInfo/acdUserId", acd_user_id),
	    F("eventData/call/acdCallInfo/acdName", acd_name),
	    F("eventData/call/acdCallInfo/acdNumber", acd_number),
	    F("eventData/agentStateInfo/state", agent_state),
	    F("eventData/agentStateInfo/unavailableCode", unavailable_code),
#undef F
	};
	xsi_msg *m = &d->m;
	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
		if (!strcmp(f[i].path, path)) {
			if (pd_utf8_copy((char *)m + f[i].off, f[i].cap, v, n))
				d->bad_fields++;
			return;
		}
	if (!strcmp(path, "sequenceNumber"))
		m->sequence = to_ll(v);
	else if (!strcmp(path, "expires"))
		m->expires = (int)(to_ll(v) < 0 || to_ll(v) > 1000000000 ? 0 : to_ll(v));
	else if (!strcmp(path, "eventData/call/remoteParty/address")) {
		const char *a = v;
		if (!strncmp(a, "tel:", 4) || !strncmp(a, "sip:", 4))
			a += 4;
		if (pd_utf8_copy(m->remote_number, sizeof m->remote_number, a, n - (size_t)(a - v)))
			d->bad_fields++;
	} else if (!strcmp(path, "eventData/call/startTime"))
		m->start_time = to_ll(v) > 0 ? to_ll(v) : 0;
	else if (!strcmp(path, "eventData/call/answerTime"))
		m->answer_time = to_ll(v) > 0 ? to_ll(v) : 0;
	else if (!strcmp(path, "eventData/call/heldTime"))
		m->held_time = to_ll(v) > 0 ? to_ll(v) : 0;
	else if (!strcmp(path, "eventData/call/releaseTime"))
		m->release_time = to_ll(v) > 0 ? to_ll(v) : 0;
	else if (!strcmp(path, "eventData/agentStateInfo/stateTimestamp/timestamp") ||
	         !strcmp(path, "eventData/agentStateInfo/stateTimestamp"))
		m->state_timestamp = to_ll(v) > 0 ? to_ll(v) : m->state_timestamp;
}

static void set_dir_field(doc_state *d, const char *ln, const char *v, size_t n)
{
	xsi_dir_page *p = d->page;
	if (d->depth == 1) { /* children of the root */
		if (!strcmp(ln, "startIndex"))
			p->start_index = to_ll(v);
		else if (!strcmp(ln, "numberOfRecords"))
			p->number_of_records = to_ll(v);
		else if (!strcmp(ln, "totalAvailableRecords"))
			p->total = to_ll(v);
		return;
	}
	if (!d->in_user)
		return;
	static const struct {
		const char *name;
		size_t off;
	} f[] = {
	    {"userId", offsetof(xsi_dir_user, user_id)},
	    {"firstName", offsetof(xsi_dir_user, first_name)},
	    {"lastName", offsetof(xsi_dir_user, last_name)},
	    {"groupId", offsetof(xsi_dir_user, group_id)},
	    {"number", offsetof(xsi_dir_user, number)},
	    {"extension", offsetof(xsi_dir_user, extension)},
	    {"emailAddress", offsetof(xsi_dir_user, email)},
	};
	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
		if (!strcmp(f[i].name, ln)) {
			if (pd_utf8_copy((char *)&d->cur + f[i].off, XSI_VALUE_MAX, v, n))
				d->bad_fields++;
			return;
		}
}

static void call_ref_add(doc_state *d, const char *v, size_t n)
{
	xsi_call_list *l = d->calls;
	if (!n || l->n >= d->max_users) {
		l->refused++;
		return;
	}
	l->ids = xrealloc(l->ids, (l->n + 1) * sizeof *l->ids);
	if (pd_utf8_copy(l->ids[l->n++], XSI_VALUE_MAX, v, n))
		d->bad_fields++;
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
	doc_state *d = ud;
	if (d->refused || d->depth == 0)
		return;
	d->depth--;
	const char *ln = local_name(name);
	if (d->depth == 0) {
		int cnt = XML_GetCurrentByteCount(d->xp);
		XML_Index idx = XML_GetCurrentByteIndex(d->xp);
		/* an empty root (<ChannelHeartBeat/>) ends with its start tag */
		d->end_off = cnt > 0 ? idx + cnt : d->root_start_end;
		d->root_done = true;
		if (d->kind == DOC_EVENT)
			XML_StopParser(d->xp, XML_FALSE);
		return;
	}
	if (d->text_cut)
		d->bad_fields++;
	d->text[d->text_len] = '\0';
	/* collapse the leading and trailing blanks of a token value */
	const char *v = d->text;
	size_t n = d->text_len;
	while (n && (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n'))
		v++, n--;
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r' || v[n - 1] == '\n'))
		n--;
	char val[sizeof d->text];
	memcpy(val, v, n);
	val[n] = '\0';
	if (d->kind == DOC_DIR) {
		set_dir_field(d, ln, val, n);
		if (!strcmp(ln, "directoryDetails") && d->in_user) {
			d->in_user = false;
			xsi_dir_page *p = d->page;
			if (!d->cur.user_id[0] || p->n_users >= d->max_users)
				p->refused++;
			else {
				p->users = xrealloc(p->users, (p->n_users + 1) * sizeof *p->users);
				p->users[p->n_users++] = d->cur;
			}
		}
	} else if (d->kind == DOC_CALLS) {
		if (!strcmp(d->path, "call/callId"))
			call_ref_add(d, val, n);
	} else if (d->kind == DOC_CALL) { /* a <Call>: the fields an event's call has */
		char path[sizeof d->path + 16];
		snprintf(path, sizeof path, "eventData/call/%s", d->path);
		set_event_field(d, path, val, n);
	} else {
		set_event_field(d, d->path, val, n);
	}
	d->path[d->path_len[d->depth - 1]] = '\0';
	d->text_len = 0;
	d->text_cut = false;
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
	doc_state *d = ud;
	if (d->refused || len <= 0)
		return;
	size_t room = sizeof d->text - 1 - d->text_len, n = (size_t)len;
	if (n > room) {
		n = room;
		d->text_cut = true;
	}
	memcpy(d->text + d->text_len, s, n);
	d->text_len += n;
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal)
{
	(void)name, (void)sysid, (void)pubid, (void)has_internal;
	refuse(ud, _("DOCTYPE refused"));
}

static void XMLCALL on_entity(void *ud, const XML_Char *name, int is_param, const XML_Char *value,
                              int value_len, const XML_Char *base, const XML_Char *sysid,
                              const XML_Char *pubid, const XML_Char *notation)
{
	(void)name, (void)is_param, (void)value, (void)value_len, (void)base, (void)sysid,
	    (void)pubid, (void)notation;
	refuse(ud, _("entity declaration refused"));
}

/* A fresh document: handlers set again (XML_ParserReset clears them). */
static void doc_begin(doc_state *d)
{
	XML_Parser xp = d->xp;
	int kind = d->kind;
	xsi_dir_page *page = d->page;
	xsi_call_list *calls = d->calls;
	size_t md = d->max_depth, me = d->max_elements, mu = d->max_users;
	memset(d, 0, sizeof *d);
	d->xp = xp;
	d->kind = kind;
	d->page = page;
	d->calls = calls;
	d->max_depth = md;
	d->max_elements = me;
	d->max_users = mu;
	d->m.sequence = -1;
	XML_SetUserData(xp, d);
	XML_SetElementHandler(xp, on_start, on_end);
	XML_SetCharacterDataHandler(xp, on_text);
	XML_SetStartDoctypeDeclHandler(xp, on_doctype);
	XML_SetEntityDeclHandler(xp, on_entity);
	XML_SetParamEntityParsing(xp, XML_PARAM_ENTITY_PARSING_NEVER);
#if XML_MAJOR_VERSION > 2 || (XML_MAJOR_VERSION == 2 && XML_MINOR_VERSION >= 6)
	/* a token cut by the chunking is parsed as soon as it is whole */
	XML_SetReparseDeferralEnabled(xp, XML_FALSE);
#endif
}

static XML_Parser new_expat(void)
{
	XML_Parser xp = XML_ParserCreateNS(NULL, ' ');
	if (!xp)
		abort(); /* out of memory, as xmalloc */
	return xp;
}

xsi_parser *xsi_parser_new(const xsi_parser_opts *o, xsi_on_msg cb, void *ctx)
{
	xsi_parser *p = xcalloc(1, sizeof *p);
	if (o)
		p->o = *o;
	p->o.max_doc = opt_or(p->o.max_doc, XSI_DEFAULT_MAX_DOC);
	if (p->o.max_doc > INT_MAX / 2) /* XML_Parse takes an int */
		p->o.max_doc = INT_MAX / 2;
	p->o.max_depth = opt_or(p->o.max_depth, XSI_DEFAULT_MAX_DEPTH);
	if (p->o.max_depth > XSI_DEFAULT_MAX_DEPTH * 4)
		p->o.max_depth = XSI_DEFAULT_MAX_DEPTH * 4;
	p->o.max_elements = opt_or(p->o.max_elements, XSI_DEFAULT_MAX_ELEMENTS);
	p->cb = cb;
	p->ctx = ctx;
	p->d.xp = new_expat();
	p->d.max_depth = p->o.max_depth;
	p->d.max_elements = p->o.max_elements;
	doc_begin(&p->d);
	return p;
}

void xsi_parser_free(xsi_parser *p)
{
	if (!p)
		return;
	XML_ParserFree(p->d.xp);
	free(p);
}

static void next_doc(xsi_parser *p)
{
	XML_ParserReset(p->d.xp, NULL);
	doc_begin(&p->d);
	p->in_doc = false;
	p->doc_bytes = 0;
}

void xsi_parser_reset(xsi_parser *p)
{
	next_doc(p);
	p->fatal = false;
}

bool xsi_parser_fatal(const xsi_parser *p)
{
	return p->fatal;
}

void xsi_parser_get_stats(const xsi_parser *p, xsi_parser_stats *out)
{
	*out = p->st;
}

static void fail(xsi_parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(xsi_parser *p, const char *fmt, ...)
{
	char text[300];
	va_list ap;
	va_start(ap, fmt);
	pd_vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	xsi_msg m = {.kind = XSI_MSG_ERROR,
	             .text = text,
	             .doc_no = p->doc_no,
	             .byte_offset = p->doc_start,
	             .sequence = -1};
	p->fatal = true;
	if (p->cb)
		p->cb(&m, p->ctx);
}

/* The document that just ended: delivered, or counted when foreign. */
static void deliver(xsi_parser *p)
{
	doc_state *d = &p->d;
	p->st.documents++;
	p->st.bad_fields += d->bad_fields;
	d->m.doc_no = p->doc_no;
	d->m.byte_offset = p->doc_start;
	if (!strcmp(d->root, "Channel"))
		d->m.kind = XSI_MSG_CHANNEL;
	else if (!strcmp(d->root, "ChannelHeartBeat")) {
		d->m.kind = XSI_MSG_HEARTBEAT;
		p->st.heartbeats++;
	} else if (!strcmp(d->root, "Event")) {
		d->m.kind = XSI_MSG_EVENT;
		p->st.events++;
		if (d->m.type == XSI_EV_OTHER)
			p->st.unknown++;
	} else {
		p->st.unknown++;
		return;
	}
	if (p->cb)
		p->cb(&d->m, p->ctx);
}

void xsi_parser_feed(xsi_parser *p, const char *buf, size_t n)
{
	p->st.bytes += n;
	while (n > 0 && !p->fatal) {
		if (!p->in_doc) {
			while (n > 0 &&
			       (*buf == ' ' || *buf == '\t' || *buf == '\r' || *buf == '\n'))
				buf++, n--, p->offset++;
			if (n == 0)
				return;
			p->in_doc = true;
			p->doc_no++;
			p->doc_start = p->offset;
			if (*buf != '<') {
				fail(p, _("document %llu at byte %llu: garbage between documents"),
				     (unsigned long long)p->doc_no,
				     (unsigned long long)p->doc_start);
				return;
			}
		}
		size_t k = n;
		if (k > p->o.max_doc - p->doc_bytes)
			k = p->o.max_doc - p->doc_bytes;
		if (k == 0) {
			fail(p, _("document %llu is larger than %zu bytes"),
			     (unsigned long long)p->doc_no, p->o.max_doc);
			return;
		}
		enum XML_Status st = XML_Parse(p->d.xp, buf, (int)k, XML_FALSE);
		doc_state *d = &p->d;
		if (d->refused) {
			fail(p, _("document %llu at byte %llu: %s"), (unsigned long long)p->doc_no,
			     (unsigned long long)p->doc_start, d->refused);
			return;
		}
		if (d->root_done) {
			size_t used = (size_t)d->end_off - p->doc_bytes;
			if (used > k) /* cannot happen: expat read no further than k */
				used = k;
			deliver(p);
			buf += used, n -= used, p->offset += used;
			next_doc(p);
			continue;
		}
		if (st == XML_STATUS_ERROR) {
			fail(p, _("document %llu at byte %llu: %s (line %lu, column %lu)"),
			     (unsigned long long)p->doc_no, (unsigned long long)p->doc_start,
			     XML_ErrorString(XML_GetErrorCode(d->xp)),
			     (unsigned long)XML_GetCurrentLineNumber(d->xp),
			     (unsigned long)XML_GetCurrentColumnNumber(d->xp));
			return;
		}
		p->doc_bytes += k;
		buf += k, n -= k, p->offset += k;
	}
}

/* ---- whole answers: directory pages, calls ---- */

/* One whole document of d's kind (d->page or d->calls set), bounded as the
 * channel's (o), its root one of roots ("A|B"); false with err (n bytes)
 * naming what (a directory page, a call list, a call). */
static bool parse_whole(doc_state *d, const char *xml, size_t len, const xsi_parser_opts *o,
                        size_t max_elements_times, const char *what, const char *roots, char *err,
                        size_t n)
{
	xsi_parser_opts op = o ? *o : (xsi_parser_opts){0};
	size_t max_doc = opt_or(op.max_doc, XSI_DEFAULT_MAX_DOC);
	if (max_doc > INT_MAX / 2) /* XML_Parse takes an int */
		max_doc = INT_MAX / 2;
	if (len > max_doc) {
		snprintf(err, n, _("%s larger than %zu bytes"), what, max_doc);
		return false;
	}
	d->xp = new_expat();
	d->max_depth = opt_or(op.max_depth, XSI_DEFAULT_MAX_DEPTH);
	if (d->max_depth > XSI_DEFAULT_MAX_DEPTH * 4)
		d->max_depth = XSI_DEFAULT_MAX_DEPTH * 4;
	d->max_elements = opt_or(op.max_elements, XSI_DEFAULT_MAX_ELEMENTS) * max_elements_times;
	doc_begin(d);
	bool ok = false;
	enum XML_Status st = XML_Parse(d->xp, xml, (int)len, XML_TRUE);
	size_t rl = strlen(d->root);
	const char *hit = rl ? strstr(roots, d->root) : NULL;
	bool root_ok = hit && (hit == roots || hit[-1] == '|') && (!hit[rl] || hit[rl] == '|');
	if (d->refused)
		snprintf(err, n, "%s: %s", what, d->refused);
	else if (st == XML_STATUS_ERROR)
		snprintf(err, n, _("%s: %s (line %lu, column %lu)"), what,
		         XML_ErrorString(XML_GetErrorCode(d->xp)),
		         (unsigned long)XML_GetCurrentLineNumber(d->xp),
		         (unsigned long)XML_GetCurrentColumnNumber(d->xp));
	else if (!root_ok) {
		pd_buf shown = {0}; /* "Enterprise or Group" */
		for (const char *r = roots; *r; r++) {
			if (*r == '|')
				pd_buf_add(&shown, _(" or "));
			else
				pd_buf_addc(&shown, *r);
		}
		snprintf(err, n, _("%s: root <%s> is not %s"), what, d->root, shown.s);
		pd_buf_free(&shown);
	} else
		ok = true;
	XML_ParserFree(d->xp);
	return ok;
}

bool xsi_dir_parse(const char *xml, size_t len, const xsi_parser_opts *o, size_t max_users,
                   xsi_dir_page *out, char *err, size_t n)
{
	memset(out, 0, sizeof *out);
	out->start_index = out->number_of_records = out->total = -1;
	doc_state *d = xcalloc(1, sizeof *d);
	d->kind = DOC_DIR;
	d->page = out;
	d->max_users = max_users;
	bool ok = parse_whole(d, xml, len, o, 16, _("directory page"), "Enterprise|Group", err, n);
	if (ok && (out->start_index < 1 || out->number_of_records < 0 || out->total < 0)) {
		snprintf(err, n,
		         _("directory page: startIndex, numberOfRecords or "
		           "totalAvailableRecords missing or negative"));
		ok = false;
	}
	out->bad_fields = d->bad_fields;
	free(d);
	if (!ok) {
		xsi_dir_page_free(out);
		out->start_index = out->number_of_records = out->total = -1;
	}
	return ok;
}

bool xsi_calls_parse(const char *xml, size_t len, const xsi_parser_opts *o, size_t max_calls,
                     xsi_call_list *out, char *err, size_t n)
{
	memset(out, 0, sizeof *out);
	doc_state *d = xcalloc(1, sizeof *d);
	d->kind = DOC_CALLS;
	d->calls = out;
	d->max_users = max_calls;
	bool ok = parse_whole(d, xml, len, o, 1, _("call list"), "Calls", err, n);
	out->bad_fields = d->bad_fields;
	free(d);
	if (!ok)
		xsi_call_list_free(out);
	return ok;
}

void xsi_call_list_free(xsi_call_list *l)
{
	free(l->ids);
	memset(l, 0, sizeof *l);
}

bool xsi_call_parse(const char *xml, size_t len, const xsi_parser_opts *o, xsi_msg *out, char *err,
                    size_t n)
{
	doc_state *d = xcalloc(1, sizeof *d);
	d->kind = DOC_CALL;
	bool ok = parse_whole(d, xml, len, o, 1, _("call"), "Call", err, n);
	if (ok && !d->m.call_id[0]) {
		snprintf(err, n, _("call: no callId"));
		ok = false;
	}
	*out = ok ? d->m : (xsi_msg){.sequence = -1};
	out->kind = XSI_MSG_EVENT;
	out->type = XSI_EV_CALL_UPDATED;
	snprintf(out->type_name, sizeof out->type_name, "Call");
	free(d);
	return ok;
}

void xsi_dir_page_free(xsi_dir_page *p)
{
	free(p->users);
	memset(p, 0, sizeof *p);
}

long long xsi_dir_next_start(const xsi_dir_page *p)
{
	if (p->number_of_records <= 0 || p->start_index < 1)
		return 0;
	long long next = p->start_index + p->number_of_records;
	return next > p->total ? 0 : next;
}

void xsi_xml_escape(pd_buf *b, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&':
			pd_buf_add(b, "&amp;");
			break;
		case '<':
			pd_buf_add(b, "&lt;");
			break;
		case '>':
			pd_buf_add(b, "&gt;");
			break;
		case '"':
			pd_buf_add(b, "&quot;");
			break;
		default:
			pd_buf_addc(b, *s);
		}
	}
}

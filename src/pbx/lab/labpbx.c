/* The lab PBX server: see include/provdesk/labpbx.h. One thread, one poll()
 * loop over the listening socket, the sessions and a control pipe. Messages
 * are written with the field names and order of the Asterisk 22 recording. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "labpbx_internal.h"
#include "labpbx_tmpl.h"
#include "provdesk/live.h"

static const char *first_names[] = {"Alice", "Bob",    "Carla",  "David",     "Emma",    "Farid",
                                    "Grace", "Hélène", "Ines",   "Jonas",     "Karin",   "Liam",
                                    "Maya",  "Noah",   "Olivia", "Paul",      "Quentin", "Rosa",
                                    "Samir", "Tara",   "Zoé",    "Françoise", "Jérôme",  "Chloé"};
static const char *last_names[] = {"Martin", "Dupont",  "Rossi",   "Cohen",  "Schmidt", "Haddad",
                                   "Lee",    "Dubois",  "Garcia",  "Weber",  "Larsen",  "O'Brien",
                                   "Patel",  "Fischer", "Novak",   "Moreau", "Leroy",   "Silva",
                                   "Benali", "Nguyen",  "Lefèvre", "Müller", "Gérard",  "Núñez"};

/* ---- output ---- */

static void sess_close(pd_labpbx *l, int i)
{
	session *s = l->s[i];
	if (s->logged_in)
		atomic_fetch_sub(&l->n_sessions, 1);
	if (s->xc)
		lab_xsi_close(l, s);
	ami_tls_free(s->tls);
	close(s->fd);
	ami_parser_free(s->p);
	pd_buf_free(&s->out);
	pd_buf_free(&s->in);
	free(s->mk);
	free(s);
	l->s[i] = l->s[--l->ns];
}

/* ---- actions ---- */

static void put_tmpl(pd_buf *b, const char *const t[][2], size_t n, const char *id,
                     const char *const subst[][2], size_t ns)
{
	for (size_t i = 0; i < n; i++) {
		const char *v = t[i][1];
		if (!strcmp(t[i][0], "ActionID"))
			v = id;
		for (size_t j = 0; j < ns; j++) /* first letters first: ~100 fields */
			if (t[i][0][0] == subst[j][0][0] && !strcmp(t[i][0], subst[j][0]))
				v = subst[j][1];
		ami_put(b, t[i][0], v);
	}
	ami_end(b);
}

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void resp(pd_buf *b, const char *r, const char *id, const char *msg)
{
	ami_put(b, "Response", r);
	ami_put(b, "ActionID", id);
	if (msg)
		ami_put(b, "Message", msg);
}

static void list_complete(pd_buf *b, const char *ev, const char *id, int n)
{
	ami_put(b, "Event", ev);
	ami_put(b, "ActionID", id);
	ami_put(b, "EventList", "Complete");
	ami_putf(b, "ListItems", "%d", n);
	ami_end(b);
}

static void act_endpoints(pd_labpbx *l, pd_buf *b, const char *id)
{
	resp(b, "Success", id, NULL);
	ami_put(b, "EventList", "start");
	ami_put(b, "Message", "A listing of Endpoints follows, presented as EndpointList events");
	ami_end(b);
	for (int i = 0; i < l->nu; i++) {
		luser *u = &l->u[i];
		ami_put(b, "Event", "EndpointList");
		ami_put(b, "ActionID", id);
		ami_put(b, "ObjectType", "endpoint");
		ami_put(b, "ObjectName", u->ep);
		ami_put(b, "Transport", "transport-udp");
		ami_put(b, "Aor", u->ep);
		ami_put(b, "Auths", u->ep);
		ami_put(b, "OutboundAuths", "");
		ami_putf(b, "Contacts", "%s/sip:%s@127.0.0.1:5070,", u->ep, u->ep);
		ami_put(b, "DeviceState", u->busy ? "In use" : "Not in use");
		ami_put(b, "ActiveChannels", u->busy ? "1" : "0");
		ami_end(b);
	}
	list_complete(b, "EndpointListComplete", id, l->nu);
}

/* VoicemailUsersList as app_voicemail answers it: a list ack, one
 * VoicemailUserEntry per mailbox with every field of the real event in its
 * order, then VoicemailUserEntryComplete. */
static void act_voicemail_users(pd_labpbx *l, pd_buf *b, const char *id)
{
	if (l->nu == 0) {
		resp(b, "Success", id, "There are no voicemail users currently defined.");
		ami_end(b);
		return;
	}
	resp(b, "Success", id, NULL);
	ami_put(b, "EventList", "start");
	ami_put(b, "Message", "Voicemail user list will follow");
	ami_end(b);
	for (int i = 0; i < l->nu; i++) {
		const luser *u = &l->u[i];
		const char *const f[][2] = {{"Event", "VoicemailUserEntry"},
		                            {"ActionID", id},
		                            {"VMContext", u->context},
		                            {"VoiceMailbox", u->ep},
		                            {"Fullname", u->name},
		                            {"Email", u->email},
		                            {"Pager", ""},
		                            {"ServerEmail", "asterisk"},
		                            {"FromString", ""},
		                            {"MailCommand", "/usr/sbin/sendmail -t"},
		                            {"Language", ""},
		                            {"TimeZone", ""},
		                            {"Callback", ""},
		                            {"Dialout", ""},
		                            {"UniqueID", ""},
		                            {"ExitContext", ""},
		                            {"SayDurationMinimum", "2"},
		                            {"SayEnvelope", "Yes"},
		                            {"SayCID", "No"},
		                            {"AttachMessage", *u->email ? "Yes" : "No"},
		                            {"AttachmentFormat", ""},
		                            {"DeleteMessage", "No"},
		                            {"VolumeGain", "0.00"},
		                            {"CanReview", "No"},
		                            {"CallOperator", "No"},
		                            {"MaxMessageCount", "100"},
		                            {"MaxMessageLength", "0"},
		                            {"NewMessageCount", "0"},
		                            {"OldMessageCount", "0"}};
		for (size_t k = 0; k < NELEM(f); k++)
			ami_put(b, f[k][0], f[k][1]);
		ami_end(b);
	}
	list_complete(b, "VoicemailUserEntryComplete", id, l->nu);
}

/* "Hélène Dubois" -> "helene.dubois@lab.example": the names' accented
 * letters folded to ASCII, apostrophes dropped, the space a dot. */
static char *lab_email(const char *name)
{
	static const char *const fold[][2] = {
	    {"é", "e"}, {"è", "e"}, {"ê", "e"}, {"ë", "e"}, {"à", "a"}, {"â", "a"},
	    {"ç", "c"}, {"î", "i"}, {"ï", "i"}, {"ô", "o"}, {"ö", "o"}, {"ù", "u"},
	    {"û", "u"}, {"ü", "u"}, {"ú", "u"}, {"ñ", "n"}, {"É", "e"}, {"Ç", "c"}};
	pd_buf b = {0};
	for (const char *p = name; *p;) {
		bool done = false;
		for (size_t k = 0; k < NELEM(fold) && !done; k++) {
			size_t n = strlen(fold[k][0]);
			if (!strncmp(p, fold[k][0], n)) {
				pd_buf_addn(&b, fold[k][1], 1);
				p += n;
				done = true;
			}
		}
		if (done)
			continue;
		if (*p == ' ')
			pd_buf_addn(&b, ".", 1);
		else if (*p != '\'' && (unsigned char)*p < 0x80)
			pd_buf_printf(&b, "%c", (char)tolower((unsigned char)*p));
		p++;
	}
	pd_buf_printf(&b, "@lab.example");
	return b.s;
}

static void act_endpoint(pd_labpbx *l, pd_buf *b, const char *id, const char *ep)
{
	luser *u = NULL;
	char *end = NULL;
	long idx = ep ? strtol(ep, &end, 10) - 1001 : -1;
	if (ep && *end == '\0' && idx >= 0 && idx < l->nu)
		u = &l->u[idx]; /* endpoints are 1001 + index */
	if (!u) {
		char m[128];
		snprintf(m, sizeof m, "Unable to retrieve endpoint %s", ep ? ep : "");
		resp(b, "Error", id, m);
		ami_end(b);
		return;
	}
	resp(b, "Success", id, NULL);
	ami_put(b, "EventList", "start");
	ami_put(b, "Message", "Following are Events for each object associated with the Endpoint");
	ami_end(b);
	char cid[160], pw[32];
	snprintf(cid, sizeof cid, "\"%s\" <%s>", u->name, u->ep);
	snprintf(pw, sizeof pw, "lab%s", u->ep);
	const char *const sub[][2] = {{"ObjectName", u->ep},
	                              {"Aors", u->ep},
	                              {"Context", u->context},
	                              {"Callerid", cid},
	                              {"Auth", u->ep},
	                              {"Aor", u->ep},
	                              {"DeviceState", u->busy ? "In use" : "Not in use"},
	                              {"ActiveChannels", u->busy ? "1" : "0"},
	                              {"EndpointName", u->ep},
	                              {"Username", u->ep},
	                              {"Password", pw}};
	put_tmpl(b, tmpl_endpoint_detail, NELEM(tmpl_endpoint_detail), id, sub, NELEM(sub));
	put_tmpl(b, tmpl_auth_detail, NELEM(tmpl_auth_detail), id, sub, NELEM(sub));
	const char *const tsub[][2] = {{"EndpointName", u->ep}};
	put_tmpl(b, tmpl_transport_detail, NELEM(tmpl_transport_detail), id, tsub, NELEM(tsub));
	put_tmpl(b, tmpl_aor_detail, NELEM(tmpl_aor_detail), id, sub, NELEM(sub));
	list_complete(b, "EndpointDetailComplete", id, 4);
}

/* ---- chan_sip (Asterisk 13-16), legacy_sip mode: the manager output of
 * chan_sip.c (_sip_show_peers_one, _sip_show_peer), field names and order
 * as Asterisk 13 writes them. ---- */

luser *lab_user_by_ep(pd_labpbx *l, const char *ep)
{
	char *end = NULL;
	long idx = ep && *ep ? strtol(ep, &end, 10) - 1001 : -1;
	if (ep && *ep && *end == '\0' && idx >= 0 && idx < l->nu && !strcmp(l->u[idx].ep, ep))
		return &l->u[idx]; /* endpoints are 1001 + index */
	return NULL;
}

/* Qualify status by index: ...8 never answered OPTIONS, ...9 went away. */
static const char *peer_status(const pd_labpbx *l, int i, char *buf, size_t n)
{
	if (i % 10 == 8)
		return "UNKNOWN";
	if (i % 10 == 9)
		return "UNREACHABLE";
	snprintf(buf, n, "OK (%d ms)", 3 + (int)((l->o.seed + (uint64_t)i * 7) % 20));
	return buf;
}

static void act_sip_peers(pd_labpbx *l, pd_buf *b, const char *id)
{
	resp(b, "Success", id, NULL);
	ami_put(b, "EventList", "start");
	ami_put(b, "Message", "Peer status list will follow");
	ami_end(b);
	for (int i = 0; i < l->nu; i++) {
		luser *u = &l->u[i];
		char st[32], ip[32];
		const char *status = peer_status(l, i, st, sizeof st);
		bool reg = i % 10 != 9; /* an unreachable peer's registration expired */
		snprintf(ip, sizeof ip, "127.0.%d.%d", 1 + i / 250 % 250, 1 + i % 250);
		ami_put(b, "Event", "PeerEntry");
		ami_put(b, "ActionID", id);
		ami_put(b, "Channeltype", "SIP");
		ami_put(b, "ObjectName", u->ep);
		ami_put(b, "ChanObjectType", "peer");
		ami_put(b, "IPaddress", reg ? ip : "-none-");
		ami_put(b, "IPport", reg ? "5060" : "0");
		ami_put(b, "Dynamic", "yes");
		ami_put(b, "AutoForcerport", "no");
		ami_put(b, "Forcerport", "yes");
		ami_put(b, "AutoComedia", "no");
		ami_put(b, "Comedia", "yes");
		ami_put(b, "VideoSupport", "no");
		ami_put(b, "TextSupport", "no");
		ami_put(b, "ACL", "no");
		ami_put(b, "Status", status);
		ami_put(b, "RealtimeDevice", "no");
		ami_put(b, "Description", "");
		ami_put(b, "Accountcode", "");
		ami_end(b);
	}
	list_complete(b, "PeerlistComplete", id, l->nu);
}

static void act_sip_show_peer(pd_labpbx *l, pd_buf *b, const char *id, const char *ep)
{
	if (!ep || !*ep) {
		resp(b, "Error", id, "Peer: <name> missing.");
		ami_end(b);
		return;
	}
	luser *u = lab_user_by_ep(l, ep);
	if (!u) {
		resp(b, "Error", id, "Peer not found");
		ami_end(b);
		return;
	}
	int i = (int)(u - l->u);
	char st[32], ip[32], cid[160];
	const char *status = peer_status(l, i, st, sizeof st);
	bool reg = i % 10 != 9;
	snprintf(ip, sizeof ip, "127.0.%d.%d", 1 + i / 250 % 250, 1 + i % 250);
	snprintf(cid, sizeof cid, "\"%s\" <%s>", u->name, u->ep);
	resp(b, "Success", id, NULL);
	ami_put(b, "Channeltype", "SIP");
	ami_put(b, "ObjectName", u->ep);
	ami_put(b, "ChanObjectType", "peer");
	ami_put(b, "SecretExist", "Y");
	ami_put(b, "RemoteSecretExist", "N");
	ami_put(b, "MD5SecretExist", "N");
	ami_put(b, "Context", u->context);
	ami_put(b, "Language", "en");
	ami_put(b, "ToneZone", "<Not set>");
	ami_put(b, "AMAflags", "Unknown");
	ami_put(b, "CID-CallingPres", "Presentation Allowed, Not Screened");
	ami_put(b, "Callgroup", "");
	ami_put(b, "Pickupgroup", "");
	ami_put(b, "Named Callgroup", "");
	ami_put(b, "Named Pickupgroup", "");
	ami_put(b, "MOHSuggest", "");
	ami_put(b, "VoiceMailbox", "");
	ami_put(b, "TransferMode", "open");
	ami_put(b, "LastMsgsSent", "-1");
	ami_put(b, "Maxforwards", "0");
	ami_put(b, "Call-limit", "2147483647");
	ami_put(b, "Busy-level", "0");
	ami_put(b, "MaxCallBR", "384 kbps");
	ami_put(b, "Dynamic", "Y");
	ami_put(b, "Callerid", cid);
	ami_put(b, "RegExpire", reg ? "3599 seconds" : "-1 seconds");
	ami_put(b, "SIP-AuthInsecure", "no");
	ami_put(b, "SIP-Forcerport", "Y");
	ami_put(b, "SIP-Comedia", "Y");
	ami_put(b, "ACL", "N");
	ami_put(b, "SIP-CanReinvite", "Y");
	ami_put(b, "SIP-DirectMedia", "Y");
	ami_put(b, "SIP-PromiscRedir", "N");
	ami_put(b, "SIP-UserPhone", "N");
	ami_put(b, "SIP-VideoSupport", "N");
	ami_put(b, "SIP-TextSupport", "N");
	ami_put(b, "SIP-T.38Support", "N");
	ami_put(b, "SIP-T.38EC", "Unknown");
	ami_put(b, "SIP-T.38MaxDtgrm", "4294967295");
	ami_put(b, "SIP-Sess-Timers", "Accept");
	ami_put(b, "SIP-Sess-Refresh", "uas");
	ami_put(b, "SIP-Sess-Expires", "1800");
	ami_put(b, "SIP-Sess-Min", "90");
	ami_put(b, "SIP-RTP-Engine", "asterisk");
	ami_put(b, "SIP-Encryption", "N");
	ami_put(b, "SIP-RTCP-Mux", "N");
	ami_put(b, "SIP-DTMFmode", "rfc2833");
	ami_put(b, "ToHost", "");
	ami_put(b, "Address-IP", reg ? ip : "(null)");
	ami_put(b, "Address-Port", reg ? "5060" : "0");
	ami_put(b, "Default-addr-IP", "(null)");
	ami_put(b, "Default-addr-port", "0");
	ami_put(b, "Default-Username", u->ep);
	ami_put(b, "Codecs", "(ulaw|alaw)");
	ami_put(b, "Status", status);
	ami_put(b, "SIP-Useragent", reg ? "Lab Phone 1.0" : "");
	char contact[96];
	snprintf(contact, sizeof contact, "sip:%s@%s:5060", u->ep, ip);
	ami_put(b, "Reg-Contact", reg ? contact : "");
	ami_put(b, "QualifyFreq", "60000 ms");
	ami_put(b, "Parkinglot", "");
	ami_put(b, "SIP-Use-Reason-Header", "N");
	ami_put(b, "Description", "");
	ami_end(b);
}

static void act_queue_status(pd_labpbx *l, pd_buf *b, const char *id, const char *only)
{
	resp(b, "Success", id, NULL);
	ami_put(b, "EventList", "start");
	ami_put(b, "Message", "Queue status will follow");
	ami_end(b);
	int items = 0;
	for (int q = 0; q < l->o.queues; q++) {
		if (only && *only && strcmp(only, l->qname[q]) != 0)
			continue;
		ami_put(b, "Event", "QueueParams");
		ami_put(b, "Queue", l->qname[q]);
		ami_put(b, "Max", "0");
		ami_put(b, "Strategy", q == 1 ? "ringall" : "rrmemory");
		ami_putf(b, "Calls", "%d", lab_waiting_in(l, q));
		ami_put(b, "Holdtime", "0");
		ami_put(b, "TalkTime", "0");
		ami_put(b, "Completed", "0");
		ami_put(b, "Abandoned", "0");
		ami_put(b, "ServiceLevel", "60");
		ami_put(b, "ServicelevelPerf", "0.0");
		ami_put(b, "ServicelevelPerf2", "0.0");
		ami_put(b, "Weight", "0");
		ami_put(b, "ActionID", id);
		ami_end(b);
		items++;
		for (int i = 0; i < l->nu; i++) {
			if (l->u[i].queue != q)
				continue;
			ami_put(b, "Event", "QueueMember");
			lab_member_fields(l, b, &l->u[i], true);
			ami_put(b, "ActionID", id);
			ami_end(b);
			items++;
		}
		int pos = 0;
		for (size_t i = 0; i < l->ncalls; i++) {
			lcall *c = &l->calls[i];
			if (c->q != q || (c->phase != P_WAIT && c->phase != P_RING))
				continue;
			ami_put(b, "Event", "QueueEntry");
			ami_put(b, "Queue", l->qname[q]);
			ami_putf(b, "Position", "%d", ++pos);
			ami_put(b, "Channel", c->chan);
			ami_put(b, "Uniqueid", c->uid);
			ami_put(b, "CallerIDNum", c->cid_num);
			ami_put(b, "CallerIDName", c->cid_name);
			ami_put(b, "ConnectedLineNum", c->cid_num);
			ami_put(b, "ConnectedLineName", c->cid_name);
			ami_putf(b, "Wait", "%lld", (long long)((l->now - c->join_at) / 1000));
			ami_put(b, "Priority", "0");
			ami_put(b, "ActionID", id);
			ami_end(b);
			items++;
		}
	}
	list_complete(b, "QueueStatusComplete", id, items);
}

static void show_channel(pd_labpbx *l, pd_buf *b, const char *id, const lcall *c,
                         const chan_info *ci, const char *app, const char *data)
{
	ami_put(b, "Event", "CoreShowChannel");
	ami_put(b, "ActionID", id);
	lab_put_chan(b, "", ci);
	ami_put(b, "Application", app);
	ami_put(b, "ApplicationData", data);
	int64_t s = (l->now - c->join_at) / 1000;
	ami_putf(b, "Duration", "%02lld:%02lld:%02lld", (long long)(s / 3600),
	         (long long)(s / 60 % 60), (long long)(s % 60));
	ami_put(b, "BridgeId", c->phase == P_TALK ? c->bridge : "");
	ami_end(b);
}

static void act_channels(pd_labpbx *l, pd_buf *b, const char *id)
{
	resp(b, "Success", id, NULL);
	ami_put(b, "EventList", "start");
	ami_put(b, "Message", "Channels will follow");
	ami_end(b);
	int n = 0;
	for (size_t i = 0; i < l->ncalls; i++) {
		lcall *c = &l->calls[i];
		if (c->phase == P_JOIN || c->phase == P_DONE)
			continue;
		if (c->direct) { /* Dial() from the trunk to the user's phone */
			char data[64];
			snprintf(data, sizeof data, "%s/%s,30", l->tech, l->u[c->agent].ep);
			chan_info ci = lab_caller_info(l, c, c->phase == P_RING ? 4 : 6);
			show_channel(l, b, id, c, &ci, "Dial", data);
			chan_info ai = lab_agent_info(l, c, c->phase == P_RING ? 5 : 6);
			show_channel(l, b, id, c, &ai, "AppDial", "(Outgoing Line)");
			n += 2;
			continue;
		}
		if (c->outbound) {
			char data[64];
			snprintf(data, sizeof data, "%s/trunk/%s", l->tech, c->dialed);
			chan_info ai = lab_agent_info(l, c, c->phase == P_RING ? 4 : 6);
			show_channel(l, b, id, c, &ai, "Dial", data);
			chan_info ci = lab_caller_info(l, c, c->phase == P_RING ? 5 : 6);
			show_channel(l, b, id, c, &ci, "AppDial", "(Outgoing Line)");
			n += 2;
			continue;
		}
		char data[64];
		snprintf(data, sizeof data, "%s,r,,,90", l->qname[c->q]);
		chan_info ci = lab_caller_info(l, c, 6);
		show_channel(l, b, id, c, &ci, "Queue", data);
		n++;
		if (c->agent >= 0) {
			chan_info ai = lab_agent_info(l, c, c->phase == P_RING ? 5 : 6);
			show_channel(l, b, id, c, &ai, "AppQueue", "(Outgoing Line)");
			n++;
		}
	}
	list_complete(b, "CoreShowChannelsComplete", id, n);
}

/* Asterisk's event classes, in the order of their bits (manager.h). */
static const char *const ev_classes[] = {"system", "call",     "log",       "verbose", "command",
                                         "agent",  "user",     "config",    "dtmf",    "reporting",
                                         "cdr",    "dialplan", "originate", "agi",     "cc",
                                         "aoc",    "test",     "security",  "message"};
#define N_CLASSES (sizeof ev_classes / sizeof *ev_classes)

static int class_bit(const char *name, size_t n)
{
	for (size_t i = 0; i < N_CLASSES; i++)
		if (strlen(ev_classes[i]) == n && !strncasecmp(ev_classes[i], name, n))
			return (int)i;
	return -1;
}

uint32_t lab_event_mask(const char *events)
{
	static const char *const yes[] = {"on", "yes", "true", "y", "t", "1"};
	static const char *const no[] = {"off", "no", "false", "n", "f", "0"};
	const uint32_t all = (1u << N_CLASSES) - 1;
	if (!events || !*events)
		return all;
	for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
		if (!strcasecmp(events, yes[i]))
			return all;
		if (!strcasecmp(events, no[i]))
			return 0;
	}
	if (strspn(events, "0123456789") == strlen(events))
		return (uint32_t)strtoul(events, NULL, 10) & all;
	uint32_t mask = 0;
	for (const char *w = events; *w;) {
		size_t n = strcspn(w, ",");
		int bit = class_bit(w, n);
		if (bit >= 0)
			mask |= 1u << bit;
		w += n + (w[n] == ',');
	}
	return mask;
}

bool lab_wants_event(const session *s, const char *ev, size_t n)
{
	static const char key[] = "\r\nPrivilege: ";
	const char *p = memmem(ev, n, key, sizeof key - 1);
	if (!p)
		return s->events;
	p += sizeof key - 1;
	size_t len = strcspn(p, ",\r");
	int bit = class_bit(p, len);
	return bit >= 0 ? (s->evmask >> bit & 1u) != 0 : s->events;
}

static void on_action(const ami_msg *m, void *ctx)
{
	session *s = ctx;
	pd_labpbx *l = s->lab;
	if (s->close_after || s->mute)
		return;
	if (m->kind == AMI_MSG_ERROR) {
		s->close_after = true; /* Asterisk drops a client sending junk */
		return;
	}
	const char *act = m->kind == AMI_MSG_ACTION ? ami_type(m) : "";
	const char *id = ami_get0(m, "ActionID");
	pd_buf b = {0};
	if (!strcasecmp(act, "Login")) {
		if (!strcmp(ami_get0(m, "Username"), l->o.username) &&
		    !strcmp(ami_get0(m, "Secret"), l->o.secret)) {
			resp(&b, "Success", id, "Authentication accepted");
			ami_end(&b);
			if (!s->logged_in)
				atomic_fetch_add(&l->n_sessions, 1);
			s->logged_in = true;
			s->evmask = lab_event_mask(ami_get(m, "Events"));
			s->events = s->evmask != 0;
			atomic_fetch_add(&l->logins, 1);
			if (s->evmask & 1u) { /* system */
				long long up = (long long)((l->now - l->boot_ms) / 1000);
				ami_put(&b, "Event", "FullyBooted");
				ami_put(&b, "Privilege", "system,all");
				ami_putf(&b, "Uptime", "%lld", up);
				ami_putf(&b, "LastReload", "%lld", up);
				ami_put(&b, "Status", "Fully Booted");
				ami_end(&b);
			}
		} else {
			resp(&b, "Error", id, "Authentication failed");
			ami_end(&b);
			s->close_after = true;
		}
	} else if (!s->logged_in) {
		resp(&b, "Error", id, "Missing action in request");
		ami_end(&b);
	} else if (!strcasecmp(act, "Ping")) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		resp(&b, "Success", id, NULL);
		ami_put(&b, "Ping", "Pong");
		ami_putf(&b, "Timestamp", "%lld.%06ld", (long long)ts.tv_sec, ts.tv_nsec / 1000);
		ami_end(&b);
	} else if (!l->o.legacy_sip && !strcasecmp(act, "PJSIPShowEndpoints")) {
		act_endpoints(l, &b, id);
	} else if (!l->o.legacy_sip && !strcasecmp(act, "PJSIPShowEndpoint")) {
		act_endpoint(l, &b, id, ami_get(m, "Endpoint"));
	} else if (l->o.legacy_sip && !strcasecmp(act, "SIPpeers")) {
		act_sip_peers(l, &b, id);
	} else if (l->o.legacy_sip && !strcasecmp(act, "SIPshowpeer")) {
		act_sip_show_peer(l, &b, id, ami_get(m, "Peer"));
	} else if (!l->o.no_voicemail && !strcasecmp(act, "VoicemailUsersList")) {
		act_voicemail_users(l, &b, id);
	} else if (!strcasecmp(act, "QueueStatus")) {
		act_queue_status(l, &b, id, ami_get(m, "Queue"));
	} else if (!strcasecmp(act, "CoreShowChannels")) {
		act_channels(l, &b, id);
	} else if (!strcasecmp(act, "CoreSettings")) {
		put_tmpl(&b, tmpl_core_settings, NELEM(tmpl_core_settings), id, NULL, 0);
	} else if (!strcasecmp(act, "QueuePause")) {
		const char *iface = ami_get0(m, "Interface");
		size_t tl = strlen(l->tech);
		bool found = false;
		for (int i = 0; i < l->nu; i++)
			found |= !strncmp(iface, l->tech, tl) && iface[tl] == '/' &&
			         !strcmp(iface + tl + 1, l->u[i].ep);
		if (!found) {
			resp(&b, "Error", id, "Interface not found");
			ami_end(&b);
		} else {
			resp(&b, "Success", id, "Interface paused successfully");
			ami_end(&b);
			lab_sess_send(s, b.s, b.len);
			pd_buf_free(&b);
			const char *p = ami_get0(m, "Paused");
			lab_do_pause(l, iface + tl + 1, !strcasecmp(p, "true") || !strcmp(p, "1"),
			             ami_get(m, "Reason"));
			return;
		}
	} else if (!strcasecmp(act, "Logoff")) {
		atomic_fetch_add(&l->logoffs, 1);
		resp(&b, "Goodbye", id, "Thanks for all the fish.");
		ami_end(&b);
		s->close_after = true;
	} else {
		char msg[200];
		pd_snprintf(msg, sizeof msg,
		            "Invalid/unknown command: %.60s. Use Action: ListCommands to show "
		            "available commands.",
		            act);
		resp(&b, "Error", id, msg);
		ami_end(&b);
	}
	lab_sess_send(s, b.s, b.len);
	pd_buf_free(&b);
}

/* ---- sockets ---- */

static int listen_on(pd_labpbx *l, pd_err *e)
{
	char port[16];
	snprintf(port, sizeof port, "%d", l->port);
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *ai = NULL;
	int rc = getaddrinfo(l->host, port, &hints, &ai);
	if (rc != 0) {
		pd_fail(e, PD_E_USAGE, "listen", "cannot resolve %s: %s", l->host,
		        gai_strerror(rc));
		return -1;
	}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 128) != 0) {
		pd_fail(e, PD_E_UNAVAILABLE, "listen", "cannot listen on %s:%d: %s", l->host,
		        l->port, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	getsockname(fd, (struct sockaddr *)&ss, &len);
	l->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
	                                         : ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

static void accept_all(pd_labpbx *l)
{
	while (1) {
		int fd = accept4(l->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (l->ns == MAX_SESSIONS) {
			close(fd);
			continue;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		session *s = xcalloc(1, sizeof *s);
		s->fd = fd;
		if (l->tls && !(s->tls = ami_tls_accept_new(l->tls, fd))) {
			close(fd);
			free(s);
			continue;
		}
		s->lab = l;
		l->s[l->ns++] = s;
		if (l->esl) {
			lab_esl_accept(l, s); /* auth/request */
			continue;
		}
		if (l->xsi) {
			lab_xsi_accept(l, s); /* an HTTP connection: the client speaks first */
			continue;
		}
		s->p = ami_parser_new(&(ami_parser_opts){.max_line = 4096, .max_msg = 65536},
		                      on_action, s);
		/* Asterisk 22 says 11.0.0; 13-16 said 2.10.x-5.0.x */
		const char *banner = l->o.legacy_sip ? "Asterisk Call Manager/2.10.6\r\n"
		                                     : "Asterisk Call Manager/11.0.0\r\n";
		lab_sess_send(s, banner, strlen(banner));
	}
}

/* Returns false when the session must be closed. */
static bool sess_flush(pd_labpbx *l, session *s)
{
	size_t n = lab_sess_ready(s);
	if (n == 0)
		return !s->close_after || s->ready < s->out.len;
	if (s->bytewise_until > l->now)
		n = 1;
	else if (s->slow_until > l->now) {
		if (s->next_slow_at > l->now)
			return true;
		n = n > 64 ? 64 : n;
		s->next_slow_at = l->now + 100;
	}
	ssize_t w = s->tls ? ami_tls_write(s->tls, s->out.s + s->off, n)
	                   : send(s->fd, s->out.s + s->off, n, MSG_NOSIGNAL);
	if (w < 0)
		return errno == EAGAIN || errno == EINTR;
	s->off += (size_t)w;
	if (s->off == s->out.len) {
		s->out.len = s->off = s->ready = 0;
		return !s->close_after;
	}
	return true;
}

static void inject(pd_labpbx *l, unsigned f)
{
	if (l->xsi)
		lab_xsi_inject(l, f); /* garbage goes inside the chunked stream */
	if ((f & PD_LAB_FAULT_GARBAGE) && !l->xsi) {
		char g[256];
		for (size_t i = 0; i < sizeof g; i++)
			g[i] = (char)(lab_rnd(l) & 0xff);
		for (int i = 0; i < l->ns; i++) {
			lab_sess_send(l->s[i], g, sizeof g);
			lab_sess_send(l->s[i], "\r\n\r\n", 4);
		}
	}
	for (int i = 0; i < l->ns; i++) {
		if (f & PD_LAB_FAULT_HALF_OPEN)
			l->s[i]->mute = true;
		if (f & PD_LAB_FAULT_SLOW)
			l->s[i]->slow_until = l->now + l->o.fault_ms;
		if (f & PD_LAB_FAULT_BYTEWISE)
			l->s[i]->bytewise_until = l->now + l->o.fault_ms;
	}
	lab_hostile_inject(l, f);
	if ((f & PD_LAB_FAULT_RESTART) && l->esl)
		lab_esl_shutdown(l); /* FreeSWITCH says so before it stops */
	if (f & (PD_LAB_FAULT_DROP | PD_LAB_FAULT_RESTART)) {
		while (l->ns)
			sess_close(l, 0);
	}
	if ((f & PD_LAB_FAULT_RESTART) && l->lfd >= 0) {
		close(l->lfd);
		l->lfd = -1;
		lab_calls_reset(l); /* a restarted PBX has no calls */
		l->restart_at = l->now + l->o.restart_ms;
	}
}

static void run_cmds(pd_labpbx *l)
{
	char b[64];
	while (read(l->ctl_r, b, sizeof b) > 0)
		;
	pthread_mutex_lock(&l->mu);
	cmd *c = l->cmds;
	size_t n = l->ncmds;
	l->cmds = NULL;
	l->ncmds = 0;
	pthread_mutex_unlock(&l->mu);
	for (size_t i = 0; i < n; i++) {
		if (c[i].kind == 0)
			inject(l, c[i].faults);
		else if (c[i].kind == 1)
			c[i].q == -2 ? (void)lab_call_direct(l)
			: c[i].q < 0 ? (void)lab_call_out(l)
			             : lab_call_new(l, c[i].q);
		else if (c[i].kind == 2)
			lab_do_pause(l, c[i].ep, c[i].paused, c[i].reason[0] ? c[i].reason : NULL);
		else if (l->esl)
			for (int k = 0; k < l->nu; k++)
				if (!strcmp(l->u[k].ep, c[i].ep))
					lab_esl_register(l, &l->u[k], c[i].paused);
	}
	free(c);
}

static void *lab_main(void *arg)
{
	pd_labpbx *l = arg;
	pd_thread_name("pd-lab-pbx");
	struct pollfd pf[MAX_SESSIONS + 2];
	while (1) {
		pthread_mutex_lock(&l->mu);
		bool stop = l->stop;
		pthread_mutex_unlock(&l->mu);
		if (stop)
			break;
		l->now = pd_live_now_ms();
		if (l->lfd < 0 && l->restart_at && l->now >= l->restart_at) {
			pd_err e;
			l->lfd = listen_on(l, &e);
			l->restart_at = l->lfd < 0 ? l->now + 500 : 0;
			l->boot_ms = l->now;
		}
		if (l->o.call_rate > 0 && l->now >= l->next_call_at) {
			if (l->next_call_at && l->lfd >= 0) {
				if (l->o.outbound_pct > 0 &&
				    (int)(lab_rnd(l) % 100) < l->o.outbound_pct)
					lab_call_out(l);
				else if (l->o.direct_pct > 0 &&
				         (int)(lab_rnd(l) % 100) < l->o.direct_pct)
					lab_call_direct(l);
				else
					lab_call_new(l, (int)(lab_rnd(l) % (uint64_t)l->o.queues));
			}
			double gap = -log(1.0 - lab_rnd01(l)) * 60000.0 / l->o.call_rate;
			l->next_call_at = l->now + (int64_t)gap + 1;
		}
		if (l->o.faults && l->now >= l->next_fault_at) {
			if (l->next_fault_at) {
				unsigned bits[13], nb = 0;
				for (int i = 0; i < 13; i++)
					if (l->o.faults & (1u << i))
						bits[nb++] = 1u << i;
				inject(l, bits[lab_rnd(l) % nb]);
			}
			l->next_fault_at = l->now + l->o.fault_period_ms;
		}
		lab_calls_run(l);
		int64_t esl_at = l->esl ? lab_esl_tick(l) : l->xsi ? lab_xsi_tick(l) : INT64_MAX;
		int nf = 0;
		pf[nf++] = (struct pollfd){.fd = l->ctl_r, .events = POLLIN};
		pf[nf++] = (struct pollfd){.fd = l->lfd, .events = POLLIN}; /* -1 is ignored */
		for (int i = 0; i < l->ns; i++) {
			session *s = l->s[i];
			lab_hostile_fill(l, s);
			short ev = s->mute ? 0 : POLLIN;
			bool held = s->slow_until > l->now && s->next_slow_at > l->now;
			if (lab_sess_ready(s) && !s->mute && !held)
				ev |= POLLOUT; /* a slowed session waits for its next slot */
			if (s->tls && ami_tls_wants_write(s->tls))
				ev |= POLLOUT;
			pf[nf++] = (struct pollfd){.fd = s->fd, .events = ev};
		}
		int64_t wake = l->now + 1000;
		if (esl_at < wake)
			wake = esl_at;
		for (size_t i = 0; i < l->ncalls; i++)
			if (l->calls[i].next_at < wake)
				wake = l->calls[i].next_at;
		for (int i = 0; i < l->ns; i++) {
			if (l->s[i]->slow_until > l->now && l->s[i]->next_slow_at < wake)
				wake = l->s[i]->next_slow_at;
			if (lab_sess_held_until(l->s[i]) < wake)
				wake = lab_sess_held_until(l->s[i]);
		}
		int timeout = wake <= l->now ? 0 : (int)(wake - l->now);
		if (poll(pf, (nfds_t)nf, timeout) < 0 && errno != EINTR)
			break;
		l->now = pd_live_now_ms();
		if (pf[0].revents)
			run_cmds(l);
		if (pf[1].revents && l->lfd >= 0)
			accept_all(l);
		/* sessions may have been closed by a fault: match fds again */
		for (int i = 0; i < l->ns; i++) {
			session *s = l->s[i];
			short re = 0;
			if (2 + i < nf && pf[2 + i].fd == s->fd) /* still in its slot */
				re = pf[2 + i].revents;
			else
				for (int k = 2; k < nf; k++)
					if (pf[k].fd == s->fd)
						re = pf[k].revents;
			bool keep = true;
			if (s->tls && !s->tls_done) {
				char why[300];
				int h = re ? ami_tls_handshake(s->tls, why, sizeof why) : 0;
				if (h < 0) {
					sess_close(l, i);
					i--;
					continue;
				}
				s->tls_done = h > 0;
				if (!s->tls_done)
					continue;
			}
			if (re & (POLLIN | POLLHUP | POLLERR) || ami_tls_pending(s->tls)) {
				char buf[8192];
				ssize_t r = s->tls ? ami_tls_read(s->tls, buf, sizeof buf)
				                   : recv(s->fd, buf, sizeof buf, 0);
				if (r > 0 && l->esl)
					lab_esl_feed(l, s, buf, (size_t)r);
				else if (r > 0 && l->xsi)
					lab_xsi_feed(l, s, buf, (size_t)r);
				else if (r > 0)
					ami_parser_feed(s->p, buf, (size_t)r);
				else if (r == 0 || (errno != EAGAIN && errno != EINTR))
					keep = false;
			}
			if (keep && !s->mute)
				keep = sess_flush(l, s);
			if (keep && s->out.len - s->off >= OUT_LIMIT)
				keep = false;
			if (!keep) {
				sess_close(l, i);
				i--;
			}
		}
	}
	while (l->ns)
		sess_close(l, 0);
	return NULL;
}

/* ---- public ---- */

pd_status labpbx_parse_faults(const char *list, unsigned *out, pd_err *e)
{
	static const struct {
		const char *name;
		unsigned bit;
	} names[] = {{"drop", PD_LAB_FAULT_DROP},
	             {"half-open", PD_LAB_FAULT_HALF_OPEN},
	             {"slow", PD_LAB_FAULT_SLOW},
	             {"bytewise", PD_LAB_FAULT_BYTEWISE},
	             {"garbage", PD_LAB_FAULT_GARBAGE},
	             {"restart", PD_LAB_FAULT_RESTART},
	             {"all", PD_LAB_FAULT_NETWORK},
	             {"flood", PD_LAB_FAULT_FLOOD},
	             {"huge", PD_LAB_FAULT_HUGE},
	             {"ctrl", PD_LAB_FAULT_CTRL},
	             {"bidi", PD_LAB_FAULT_BIDI},
	             {"hostile", PD_LAB_FAULT_HOSTILE},
	             {"heartbeat-404", PD_LAB_FAULT_HEARTBEAT_404},
	             {"channel-end", PD_LAB_FAULT_CHANNEL_END},
	             {"sub-end", PD_LAB_FAULT_SUB_END},
	             {"xsi", PD_LAB_FAULT_XSI}};
	*out = 0;
	char *dup = xstrdup(list ? list : ""), *save = NULL;
	for (char *t = strtok_r(dup, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
		size_t i;
		for (i = 0; i < NELEM(names); i++)
			if (!strcmp(t, names[i].name))
				break;
		if (i == NELEM(names)) {
			pd_status s =
			    pd_fail(e, PD_E_USAGE, "faults",
			            "unknown fault \"%s\" (drop, half-open, slow, bytewise, "
			            "garbage, restart, all; flood, huge, ctrl, bidi, hostile; "
			            "heartbeat-404, channel-end, sub-end, xsi)",
			            t);
			free(dup);
			return s;
		}
		*out |= names[i].bit;
	}
	free(dup);
	return PD_OK;
}

pd_status labpbx_start(const pd_labpbx_opts *o, pd_labpbx **out, pd_err *e)
{
	pd_labpbx *l = xcalloc(1, sizeof *l);
	l->o = *o;
	if (!l->o.username)
		l->o.username = "admin";
	if (!l->o.secret)
		l->o.secret = "lab-secret";
	if (l->o.users <= 0)
		l->o.users = 20;
	if (l->o.queues <= 0)
		l->o.queues = 2;
	if (l->o.sites <= 0)
		l->o.sites = 1;
	if (!l->o.seed)
		l->o.seed = 1;
	if (l->o.fault_period_ms <= 0)
		l->o.fault_period_ms = 30000;
	if (l->o.ring_ms <= 0)
		l->o.ring_ms = 2000;
	if (l->o.talk_ms <= 0)
		l->o.talk_ms = 30000;
	if (l->o.wrapup_s < 0)
		l->o.wrapup_s = 0;
	else if (!l->o.wrapup_s)
		l->o.wrapup_s = 5;
	if (l->o.restart_ms <= 0)
		l->o.restart_ms = 2000;
	if (l->o.hold_pct == 0)
		l->o.hold_pct = 20;
	if (l->o.outbound_pct == 0)
		l->o.outbound_pct = 25;
	if (l->o.fault_ms <= 0)
		l->o.fault_ms = 5000;
	if (l->o.users > 90000)
		return free(l), pd_fail(e, PD_E_USAGE, "users", "at most 90000 users");
	l->esl = l->o.platform == PD_LAB_FREESWITCH_ESL;
	l->xsi = l->o.platform == PD_LAB_BROADWORKS_XSI;
	if (l->xsi && (l->o.legacy_sip || l->o.no_voicemail)) {
		free(l);
		return pd_fail(e, PD_E_USAGE, "platform",
		               "--legacy-sip and --no-voicemail are Asterisk options; a "
		               "BroadWorks lab has none of them");
	}
	if (l->o.ack_timeout_ms <= 0)
		l->o.ack_timeout_ms = 10000;
	if (l->o.admin_group) {
		int sites = l->o.sites > 0 ? l->o.sites : 1, k = 0, n = 0;
		if (!l->xsi || sscanf(l->o.admin_group, "group-%d%n", &k, &n) != 1 ||
		    l->o.admin_group[n] || k < 1 || k > sites) {
			free(l);
			return pd_fail(
			    e, PD_E_USAGE, "admin_group",
			    "the group administrator's group must be one of the BroadWorks "
			    "lab's groups, group-1 to group-%d",
			    sites);
		}
	}
	if (l->esl && (l->o.legacy_sip || l->o.no_voicemail || l->o.direct_pct > 0 ||
	               (o->tls_cert && *o->tls_cert) || (o->tls_key && *o->tls_key))) {
		free(l);
		return pd_fail(e, PD_E_USAGE, "platform",
		               "--legacy-sip, --no-voicemail, --direct-pct and TLS are Asterisk "
		               "options; a FreeSWITCH lab has none of them");
	}
	if (l->o.heartbeat_ms <= 0)
		l->o.heartbeat_ms = 20000;
	if (l->o.reg_refresh_ms == 0)
		l->o.reg_refresh_ms = 60000;
	l->o.username = xstrdup(l->o.username);
	l->o.secret = xstrdup(l->o.secret);
	l->secret_now = xstrdup(l->o.secret);
	l->o.pause_in_call = o->pause_in_call ? xstrdup(o->pause_in_call) : NULL;
	l->o.admin_group = o->admin_group ? xstrdup(o->admin_group) : NULL;
	snprintf(l->host, sizeof l->host, "%s", o->listen_host ? o->listen_host : "127.0.0.1");
	l->tech = l->o.legacy_sip ? "SIP" : "PJSIP";
	l->lfd = l->ctl_r = l->ctl_w = -1;
	if ((o->tls_cert && *o->tls_cert) || (o->tls_key && *o->tls_key)) {
		if (!o->tls_cert || !*o->tls_cert || !o->tls_key || !*o->tls_key) {
			pd_status st = pd_fail(e, PD_E_USAGE, o->tls_cert ? "tls_key" : "tls_cert",
			                       "TLS needs both a certificate and a key file");
			labpbx_stop(l);
			return st;
		}
		pd_status st = ami_tls_server_new(o->tls_cert, o->tls_key, &l->tls, e);
		if (st != PD_OK) {
			labpbx_stop(l);
			return st;
		}
	}
	l->port = o->port;
	l->rng = l->o.seed * 0x9E3779B97F4A7C15ull + 1;
	l->now = l->boot_ms = pd_live_now_ms();
	l->epoch = (int64_t)time(NULL);
	l->nu = l->o.users;
	l->u = xcalloc((size_t)l->nu, sizeof *l->u);
	size_t nf = NELEM(first_names), nl = NELEM(last_names);
	for (int i = 0; i < l->nu; i++) {
		luser *u = &l->u[i];
		snprintf(u->ep, sizeof u->ep, "%d", 1001 + i);
		u->name = xasprintf("%s %s", first_names[(size_t)i % nf],
		                    last_names[((size_t)i + (size_t)i / nl) % nl]);
		u->email = i % 10 == 6 ? xstrdup("") : lab_email(u->name);
		u->context = l->o.sites == 1 ? xstrdup("from-internal")
		                             : xasprintf("site-%d", i % l->o.sites + 1);
		u->queue = i % l->o.queues;
		if (l->esl) {
			/* a FreeSWITCH domain per site; phones ending in 0 are not
			 * registered and their agents Logged Out */
			free(u->context);
			u->context = i % l->o.sites == 0 ? xstrdup("default")
			                                 : xasprintf("site-%d", i % l->o.sites + 1);
			u->unregistered = u->logged_out = i % 10 == 9;
		}
	}
	if (l->esl)
		lab_esl_new_uuid(l, l->core_uuid, sizeof l->core_uuid);
	l->qname = xcalloc((size_t)l->o.queues, sizeof *l->qname);
	for (int q = 0; q < l->o.queues; q++)
		l->qname[q] = q == 0   ? xstrdup("support")
		              : q == 1 ? xstrdup("sales")
		                       : xasprintf("queue-%d", q + 1);
	if (l->xsi)
		lab_xsi_init(l);
	int p[2];
	l->lfd = listen_on(l, e);
	if (l->lfd < 0 || pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) {
		if (l->lfd >= 0)
			close(l->lfd);
		l->lfd = -1;
		l->ctl_r = l->ctl_w = -1;
		l->thread = 0;
		pd_status st = e ? e->status : PD_E_UNAVAILABLE;
		labpbx_stop(l);
		return st ? st : PD_E_INTERNAL;
	}
	l->ctl_r = p[0];
	l->ctl_w = p[1];
	for (int i = 0; i < l->o.calls_up && i < 1000; i++)
		lab_call_up(l, i % l->o.queues);
	pthread_mutex_init(&l->mu, NULL);
	if (pthread_create(&l->thread, NULL, lab_main, l) != 0) {
		close(l->lfd);
		l->lfd = -1;
		l->thread = 0;
		labpbx_stop(l);
		return pd_fail(e, PD_E_INTERNAL, NULL, "cannot start the lab PBX thread");
	}
	*out = l;
	return PD_OK;
}

int labpbx_port(pd_labpbx *l)
{
	return l->port;
}

static void push(pd_labpbx *l, const cmd *c)
{
	pthread_mutex_lock(&l->mu);
	l->cmds = xrealloc(l->cmds, (l->ncmds + 1) * sizeof *l->cmds);
	l->cmds[l->ncmds++] = *c;
	pthread_mutex_unlock(&l->mu);
	ssize_t w = write(l->ctl_w, "c", 1);
	(void)w;
}

void labpbx_inject(pd_labpbx *l, unsigned faults)
{
	push(l, &(cmd){.kind = 0, .faults = faults});
}

void labpbx_place_call(pd_labpbx *l, int q)
{
	push(l, &(cmd){.kind = 1, .q = q});
}

void labpbx_pause(pd_labpbx *l, const char *endpoint, bool paused, const char *reason)
{
	cmd c = {.kind = 2, .paused = paused};
	snprintf(c.ep, sizeof c.ep, "%s", endpoint ? endpoint : "*");
	snprintf(c.reason, sizeof c.reason, "%s", reason ? reason : "");
	push(l, &c);
}

void labpbx_register(pd_labpbx *l, const char *endpoint, bool registered)
{
	cmd c = {.kind = 3, .paused = registered};
	snprintf(c.ep, sizeof c.ep, "%s", endpoint);
	push(l, &c);
}

int labpbx_sessions(pd_labpbx *l)
{
	return atomic_load(&l->n_sessions);
}

int labpbx_active_calls(pd_labpbx *l)
{
	return atomic_load(&l->n_calls);
}

int64_t labpbx_logins(pd_labpbx *l)
{
	return atomic_load(&l->logins);
}

int64_t labpbx_logoffs(pd_labpbx *l)
{
	return atomic_load(&l->logoffs);
}

int64_t labpbx_huge_sent(pd_labpbx *l)
{
	return atomic_load(&l->huge_sent);
}

int64_t labpbx_status_asked(pd_labpbx *l)
{
	return atomic_load(&l->status_asked);
}

int labpbx_commands_at_once(pd_labpbx *l)
{
	return atomic_load(&l->most_at_once);
}

void labpbx_set_secret(pd_labpbx *l, const char *secret)
{
	pthread_mutex_lock(&l->mu);
	pd_set_str(&l->secret_now, secret ? secret : "");
	pthread_mutex_unlock(&l->mu);
}

void labpbx_stop(pd_labpbx *l)
{
	if (!l)
		return;
	if (l->thread) {
		pthread_mutex_lock(&l->mu);
		l->stop = true;
		pthread_mutex_unlock(&l->mu);
		ssize_t w = write(l->ctl_w, "s", 1);
		(void)w;
		pthread_join(l->thread, NULL);
		pthread_mutex_destroy(&l->mu);
	}
	if (l->lfd >= 0)
		close(l->lfd);
	if (l->ctl_r >= 0) {
		close(l->ctl_r);
		close(l->ctl_w);
	}
	for (int i = 0; i < l->nu; i++) {
		free(l->u[i].name);
		free(l->u[i].email);
		free(l->u[i].context);
		free(l->u[i].reason);
	}
	free(l->u);
	for (int q = 0; l->qname && q < l->o.queues; q++)
		free(l->qname[q]);
	free(l->qname);
	free(l->calls);
	free(l->cmds);
	free((char *)l->o.username);
	free((char *)l->o.secret);
	free(l->secret_now);
	lab_xsi_free(l);
	free((char *)l->o.pause_in_call);
	free((char *)l->o.admin_group);
	ami_tls_server_free(l->tls);
	free(l);
}

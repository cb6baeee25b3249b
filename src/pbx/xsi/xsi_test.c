/* The BroadWorks driver's `test` operation (`provdesk pbx test`): each step
 * tried and named — name resolution, TCP connect, TLS (from libcurl's
 * CURLINFO_* times and its CURLcode), authentication (401/403), directory
 * (one page of the enterprise or group directory: how many users), event
 * channel (a channel opened, its <Channel> document read, the channel
 * deleted). One easy transfer per step, each bounded by STEP_MS and the
 * whole by timeout_ms. Nothing is synced or published; the password goes to
 * libcurl only and never into a step's text. Also the small XML reader the
 * driver shares (xsi_value_of). */
#include "provdesk/dl_curl.h"
#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "provdesk/catalogue.h"
#include "provdesk/i18n.h"
#include "provdesk/pbx_driver.h"
#include "provdesk/util.h"
#include "provdesk/xsi.h"
#include "xsi_driver.h"

#define STEP_MS 5000
#define PROBE_RESULTS 50

/* ---- xsi_value_of ---- */

typedef struct {
	XML_Parser xp;
	const char *want;
	int depth, in; /* in: the depth of the element read, 0 when none */
	char *out;
	size_t n, len;
	bool done;
} vstate;

static const char *local_of(const char *n)
{
	const char *s = strrchr(n, ' ');
	return s ? s + 1 : n;
}

static void XMLCALL v_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	(void)atts;
	vstate *v = ud;
	v->depth++;
	if (!v->done && !v->in && !strcmp(local_of(name), v->want))
		v->in = v->depth;
}

static void XMLCALL v_end(void *ud, const XML_Char *name)
{
	(void)name;
	vstate *v = ud;
	if (v->in == v->depth) {
		v->in = 0;
		v->done = true;
	}
	v->depth--;
}

static void XMLCALL v_text(void *ud, const XML_Char *s, int len)
{
	vstate *v = ud;
	if (!v->in || v->done)
		return;
	for (int i = 0; i < len && v->len + 1 < v->n; i++)
		v->out[v->len++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	v->out[v->len] = '\0';
}

static void XMLCALL v_doctype(void *ud, const XML_Char *name, const XML_Char *sys,
                              const XML_Char *pub, int internal)
{
	(void)name, (void)sys, (void)pub, (void)internal;
	XML_StopParser(((vstate *)ud)->xp, XML_FALSE); /* no entity is ever declared */
}

bool xsi_value_of(const char *xml, size_t len, const char *local, char *out, size_t n)
{
	if (!n)
		return false;
	out[0] = '\0';
	if (!xml || !len || len > XSI_BODY_MAX)
		return false;
	vstate v = {.want = local, .out = out, .n = n};
	v.xp = XML_ParserCreateNS(NULL, ' ');
	if (!v.xp)
		return false;
	XML_SetUserData(v.xp, &v);
	XML_SetElementHandler(v.xp, v_start, v_end);
	XML_SetCharacterDataHandler(v.xp, v_text);
	XML_SetStartDoctypeDeclHandler(v.xp, v_doctype);
	bool ok = XML_Parse(v.xp, xml, (int)len, XML_TRUE) == XML_STATUS_OK;
	if (!ok || !v.done)
		out[0] = '\0';
	XML_ParserFree(v.xp);
	return ok;
}

/* ---- the test op ---- */

typedef struct {
	pd_drv_probe pr;
	const pd_drv_conf *c;
	bool verify;
	char *ca;
	pd_masked secret; /* for pd_drv_scrub only */
	char base[600];   /* scheme://host:port */
	/* the transfer in progress */
	pd_buf body;
	bool over;
	xsi_parser *p;
	bool channel_seen;
	char channel_id[XSI_VALUE_MAX];
	char doc_error[160];
	long delete_code; /* the channel's DELETE: its HTTP status, 0 when none came */
} probe;

static size_t t_body(char *s, size_t sz, size_t n, void *ud)
{
	probe *t = ud;
	if (t->body.len + sz * n > XSI_BODY_MAX) {
		t->over = true;
		return 0;
	}
	pd_buf_addn(&t->body, s, sz * n);
	return sz * n;
}

static size_t t_discard(char *s, size_t sz, size_t n, void *ud)
{
	(void)s, (void)ud;
	return sz * n;
}

static void t_msg(const xsi_msg *m, void *ctx)
{
	probe *t = ctx;
	if (m->kind == XSI_MSG_CHANNEL && !t->channel_seen) {
		t->channel_seen = true;
		snprintf(t->channel_id, sizeof t->channel_id, "%s", m->channel_id);
	} else if (m->kind == XSI_MSG_ERROR && !t->doc_error[0]) {
		pd_utf8_copys(t->doc_error, sizeof t->doc_error, m->text ? m->text : "?");
	}
}

/* The channel's body: to the parser (a malformed one ends the transfer). */
static size_t t_chan(char *s, size_t sz, size_t n, void *ud)
{
	probe *t = ud;
	if (t->body.len + sz * n > XSI_BODY_MAX) {
		t->over = true;
		return 0;
	}
	pd_buf_addn(&t->body, s, sz * n); /* kept for an error answer */
	xsi_parser_feed(t->p, s, sz * n);
	return t->doc_error[0] ? 0 : sz * n;
}

/* What a request reached (which step a failure belongs to). */
typedef struct {
	char text[300]; /* libcurl's error, printable, the secret masked */
	char ip[64];
	bool resolved, connected, tls_done;
} reach;

/* A DELETE of the channel just read, on its own handle. */
static CURL *delete_of(probe *t)
{
	CURL *h = pd_curl_easy_init();
	if (!h)
		return NULL;
	char *id = pd_curl_easy_escape(NULL, t->channel_id, 0);
	char url[2048];
	snprintf(url, sizeof url, "%s" XSI_EVENTS "/channel/%s", t->base, id ? id : "");
	pd_curl_free(id);
	pd_curl_easy_setopt(h, CURLOPT_URL, url);
	pd_curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
	pd_curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	pd_curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	pd_curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	pd_curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)STEP_MS);
	pd_curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, t_discard);
	pd_curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	pd_curl_easy_setopt(h, CURLOPT_USERNAME, t->c->username ? t->c->username : "");
	pd_curl_easy_setopt(h, CURLOPT_PASSWORD, t->c->secret ? t->c->secret : "");
	if (t->c->tls) {
		pd_curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, t->verify ? 1L : 0L);
		pd_curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, t->verify ? 2L : 0L);
		if (t->ca)
			pd_curl_easy_setopt(h, CURLOPT_CAINFO, t->ca);
	}
	return h;
}

/* The channel, streamed until its <Channel> document came, then deleted
 * while the stream is still open (an XSP drops a channel whose stream
 * closes, so a DELETE after it would find none): both on one multi of its
 * own, bounded by ms. The DELETE's answer goes to t->delete_code. */
static CURLcode channel_run(probe *t, CURL *ch, long ms)
{
	CURLM *m = pd_curl_multi_init();
	if (!m)
		return CURLE_OUT_OF_MEMORY;
	pd_curl_multi_add_handle(m, ch);
	CURL *del = NULL;
	CURLcode rc = CURLE_OPERATION_TIMEDOUT;
	bool ch_done = false, del_done = false;
	int64_t until = pd_live_now_ms() + ms;
	t->delete_code = 0;
	while (pd_live_now_ms() < until && !del_done && !(ch_done && !del)) {
		int running;
		pd_curl_multi_perform(m, &running);
		CURLMsg *msg;
		int left;
		while ((msg = pd_curl_multi_info_read(m, &left))) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			if (msg->easy_handle == ch) {
				ch_done = true;
				rc = msg->data.result;
			} else if (msg->easy_handle == del) {
				del_done = true;
				if (msg->data.result == CURLE_OK)
					pd_curl_easy_getinfo(del, CURLINFO_RESPONSE_CODE,
					                     &t->delete_code);
			}
		}
		if (t->channel_seen && t->channel_id[0] && !del) {
			rc = CURLE_OK;
			if ((del = delete_of(t)))
				pd_curl_multi_add_handle(m, del);
			else
				break;
		}
		if (del_done || (ch_done && !del))
			break;
		int64_t left_ms = until - pd_live_now_ms();
		pd_curl_multi_poll(m, NULL, 0,
		                   left_ms > 100 ? 100 : (int)(left_ms > 0 ? left_ms : 0), NULL);
	}
	if (del) {
		pd_curl_multi_remove_handle(m, del);
		pd_curl_easy_cleanup(del);
	}
	pd_curl_multi_remove_handle(m, ch);
	pd_curl_multi_cleanup(m);
	return rc;
}

/* One request, waited for at most STEP_MS (and the overall limit). */
static CURLcode request(probe *t, const char *method, const char *path, const char *body,
                        bool channel, long *code, reach *r)
{
	pd_buf_free(&t->body);
	t->over = false;
	CURL *h = pd_curl_easy_init();
	if (!h) {
		memset(r, 0, sizeof *r);
		snprintf(r->text, sizeof r->text, "%s", _("libcurl could not make a transfer"));
		return CURLE_OUT_OF_MEMORY;
	}
	char url[2048], eb[CURL_ERROR_SIZE] = "";
	snprintf(url, sizeof url, "%s%s", t->base, path);
	int64_t left = t->pr.give_up - pd_live_now_ms();
	long ms = left < STEP_MS ? (long)(left > 1 ? left : 1) : STEP_MS;
	struct curl_slist *hd = pd_curl_slist_append(NULL, "Accept: application/xml");
	hd = pd_curl_slist_append(hd, "Expect:");
	if (body)
		hd = pd_curl_slist_append(hd, "Content-Type: application/xml; charset=UTF-8");
	pd_curl_easy_setopt(h, CURLOPT_URL, url);
	pd_curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
	pd_curl_easy_setopt(h, CURLOPT_ERRORBUFFER, eb);
	pd_curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	pd_curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	pd_curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	pd_curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, ms);
	pd_curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ms);
	pd_curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, channel ? t_chan : t_body);
	pd_curl_easy_setopt(h, CURLOPT_WRITEDATA, t);
	pd_curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	pd_curl_easy_setopt(h, CURLOPT_USERNAME, t->c->username ? t->c->username : "");
	pd_curl_easy_setopt(h, CURLOPT_PASSWORD, t->c->secret ? t->c->secret : "");
	if (t->c->tls) {
		pd_curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, t->verify ? 1L : 0L);
		pd_curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, t->verify ? 2L : 0L);
		if (t->ca)
			pd_curl_easy_setopt(h, CURLOPT_CAINFO, t->ca);
	}
	if (strcmp(method, "GET")) {
		if (strcmp(method, "POST"))
			pd_curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
		if (body)
			pd_curl_easy_setopt(h, CURLOPT_COPYPOSTFIELDS, body);
	}
	CURLcode rc;
	if (channel) {
		rc = channel_run(t, h, ms);
	} else {
		rc = pd_curl_easy_perform(h);
	}
	*code = 0;
	pd_curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, code);
	/* which step a failure belongs to: the times libcurl reached */
	curl_off_t connect = 0, app = 0;
	pd_curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &connect);
	pd_curl_easy_getinfo(h, CURLINFO_APPCONNECT_TIME_T, &app);
	char *ip = NULL;
	pd_curl_easy_getinfo(h, CURLINFO_PRIMARY_IP, &ip);
	memset(r, 0, sizeof *r);
	pd_utf8_copys(r->text, sizeof r->text, eb[0] ? eb : pd_curl_easy_strerror(rc));
	for (char *p = r->text; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
	pd_drv_scrub(&t->secret, r->text);
	snprintf(r->ip, sizeof r->ip, "%s", ip ? ip : "");
	r->connected = connect > 0;
	r->tls_done = app > 0;
	pd_curl_easy_cleanup(h);
	pd_curl_slist_free_all(hd);
	return rc;
}

/* The transport's steps from the first request's outcome: PD_OK when the
 * XSP was reached (an HTTP answer came). */
/* Name resolution and TCP connect on their own (libcurl counts a TLS
 * handshake into its connect): a connect-only transfer over plain TCP. */
static CURLcode tcp_probe(probe *t, reach *r)
{
	CURL *h = pd_curl_easy_init();
	memset(r, 0, sizeof *r);
	if (!h) {
		snprintf(r->text, sizeof r->text, "%s", _("libcurl could not make a transfer"));
		return CURLE_OUT_OF_MEMORY;
	}
	char url[700], eb[CURL_ERROR_SIZE] = "";
	const char *colon = strchr(t->base, ':'); /* after the scheme */
	snprintf(url, sizeof url, "http%s/", colon ? colon : "");
	int64_t left = t->pr.give_up - pd_live_now_ms();
	long ms = left < STEP_MS ? (long)(left > 1 ? left : 1) : STEP_MS;
	pd_curl_easy_setopt(h, CURLOPT_URL, url);
	pd_curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
	pd_curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	pd_curl_easy_setopt(h, CURLOPT_ERRORBUFFER, eb);
	pd_curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ms);
	pd_curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
	CURLcode rc = pd_curl_easy_perform(h);
	char *ip = NULL;
	pd_curl_easy_getinfo(h, CURLINFO_PRIMARY_IP, &ip);
	curl_off_t lookup = 0;
	pd_curl_easy_getinfo(h, CURLINFO_NAMELOOKUP_TIME_T, &lookup);
	r->resolved = rc != CURLE_COULDNT_RESOLVE_HOST &&
	              (lookup > 0 || rc == CURLE_OK || rc == CURLE_COULDNT_CONNECT);
	pd_utf8_copys(r->text, sizeof r->text, eb[0] ? eb : pd_curl_easy_strerror(rc));
	for (char *p = r->text; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
	snprintf(r->ip, sizeof r->ip, "%s", ip ? ip : "");
	r->connected = rc == CURLE_OK;
	pd_curl_easy_cleanup(h);
	return rc;
}

/* The transport's steps: resolve and connect from tcp_probe (rc0, r0), TLS
 * from the first request (rc, r). PD_OK when the XSP was reached. */
static pd_status transport_steps(probe *t, CURLcode rc0, const reach *r0, CURLcode rc,
                                 const reach *r)
{
	const pd_drv_conf *c = t->c;
	if (rc0 == CURLE_COULDNT_RESOLVE_HOST)
		return pd_drv_probe_fail(&t->pr, PD_E_UNAVAILABLE, N_("name resolution"), "%s: %s",
		                         c->host, r0->text);
	if (!r0->resolved)
		return pd_drv_probe_fail(&t->pr, PD_E_UNAVAILABLE, N_("name resolution"), "%s: %s",
		                         c->host, r0->text);
	pd_drv_probe_step(&t->pr, N_("name resolution"), true, "%s -> %s", c->host,
	                  r0->ip[0] ? r0->ip : _("resolved"));
	if (!r0->connected)
		return pd_drv_probe_fail(&t->pr, PD_E_UNAVAILABLE, N_("TCP connect"), "%s:%d: %s",
		                         c->host, c->port, r0->text);
	pd_drv_probe_step(&t->pr, N_("TCP connect"), true, "%s:%d", r0->ip, c->port);
	if (!c->tls && rc != CURLE_OK && !r->connected)
		return pd_drv_probe_fail(&t->pr, PD_E_UNAVAILABLE, N_("TCP connect"), "%s:%d: %s",
		                         r0->ip, c->port, r->text);
	if (c->tls) {
		if (rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_CERTPROBLEM ||
		    rc == CURLE_SSL_CRL_BADFILE)
			return pd_drv_probe_fail(&t->pr, PD_E_CONFIG, "TLS", "%s", r->text);
		if (!r->tls_done) {
			if (rc == CURLE_OPERATION_TIMEDOUT)
				return pd_drv_probe_fail(
				    &t->pr, PD_E_PROTOCOL, "TLS",
				    _("TLS: no handshake within %d s (is this a TLS port?)"),
				    STEP_MS / 1000);
			return pd_drv_probe_fail(&t->pr, PD_E_PROTOCOL, "TLS", "%s", r->text);
		}
		pd_drv_probe_step(
		    &t->pr, "TLS", true, _("handshake done, certificate %s%s%.200s"),
		    t->verify ? _("verified") : _("not verified (tls_verify is false)"),
		    t->verify && t->ca ? _(" against ") : "", t->verify && t->ca ? t->ca : "");
	}
	return PD_OK;
}

static pd_status run(probe *t)
{
	const pd_drv_conf *c = t->c;
	char *ent = NULL, *grp = NULL, *others = NULL;
	pd_err pe = {0};
	pd_status st;
	xsi_host hosts[XSI_MAX_HOSTS];
	int nh;
	if (pd_param_str(c->params_json, "enterprise_id", &ent, &pe) != PD_OK ||
	    pd_param_str(c->params_json, "group_id", &grp, &pe) != PD_OK ||
	    pd_param_str(c->params_json, "xsp_hosts", &others, &pe) != PD_OK ||
	    xsi_hosts_parse(others, hosts, XSI_MAX_HOSTS - 1, &nh, &pe) != PD_OK) {
		st = pd_drv_probe_fail(&t->pr, PD_E_CONFIG, N_("parameters"), "%.390s", pe.message);
		goto out;
	}
	if (!ent) {
		st = pd_drv_probe_fail(&t->pr, PD_E_CONFIG, N_("parameters"),
		                       _("enterprise_id is required for platform broadworks-xsi"));
		goto out;
	}
	if (!c->host || !*c->host || c->port <= 0 || c->port > 65535) {
		st = pd_drv_probe_fail(&t->pr, PD_E_CONFIG, N_("parameters"),
		                       _("the XSP host or port is not set"));
		goto out;
	}
	bool v6 = strchr(c->host, ':') != NULL;
	snprintf(t->base, sizeof t->base, "%s://%s%s%s:%d", c->tls ? "https" : "http",
	         v6 ? "[" : "", c->host, v6 ? "]" : "", c->port);
	char *ent_e = pd_curl_easy_escape(NULL, ent, 0),
	     *grp_e = grp ? pd_curl_easy_escape(NULL, grp, 0) : NULL;
	char path[1024];
	if (grp_e)
		snprintf(path, sizeof path,
		         XSI_ACTIONS
		         "/group/%s/directories/Group?enterpriseId=%s&start=1&results=%d",
		         grp_e, ent_e, PROBE_RESULTS);
	else
		snprintf(path, sizeof path,
		         XSI_ACTIONS "/enterprise/%s/directories/Enterprise?start=1&results=%d",
		         ent_e, PROBE_RESULTS);
	long code;
	reach r0, r;
	CURLcode rc0 = tcp_probe(t, &r0), rc = CURLE_COULDNT_CONNECT;
	if (r0.connected)
		rc = request(t, "GET", path, NULL, false, &code, &r);
	else
		memset(&r, 0, sizeof r);
	if ((st = transport_steps(t, rc0, &r0, rc, &r)) != PD_OK)
		goto out_e;
	if (rc != CURLE_OK && !code) {
		st = pd_drv_probe_fail(&t->pr, PD_E_PROTOCOL, N_("authentication"),
		                       _("no HTTP answer (is this an XSP? %s)"), r.text);
		goto out_e;
	}
	if (code == 401 || code == 403) {
		st = pd_drv_probe_fail(&t->pr, PD_E_AUTH, N_("authentication"),
		                       code == 401 ? _("HTTP 401: the administrator or password is "
		                                       "refused")
		                                   : _("HTTP 403: the administrator may not act on "
		                                       "this enterprise or group"));
		goto out_e;
	}
	pd_drv_probe_step(&t->pr, N_("authentication"), true, _("accepted (%s)"),
	                  c->username ? _("Basic, as the administrator") : "Basic");
	if (code == 404) {
		st = pd_drv_probe_fail(
		    &t->pr, PD_E_CONFIG, N_("directory"),
		    _("HTTP 404: no %s %s on this XSP (or not an Xsi-Actions URL)"),
		    grp ? _("group") : _("enterprise"), grp ? "group_id" : "enterprise_id");
		goto out_e;
	}
	if (rc != CURLE_OK || code != 200) {
		st = pd_drv_probe_fail(&t->pr, PD_E_PROTOCOL, N_("directory"), "HTTP %ld%s%s", code,
		                       rc != CURLE_OK ? ": " : "", rc != CURLE_OK ? r.text : "");
		goto out_e;
	}
	xsi_dir_page pg;
	char perr[200];
	if (!xsi_dir_parse(t->body.s ? t->body.s : "", t->body.len,
	                   &(xsi_parser_opts){.max_doc = XSI_BODY_MAX}, PROBE_RESULTS * 4, &pg,
	                   perr, sizeof perr)) {
		for (char *p = perr; *p; p++)
			if (*p < 0x20 || *p == 0x7f)
				*p = '?';
		st = pd_drv_probe_fail(&t->pr, PD_E_PROTOCOL, N_("directory"),
		                       _("the answer is not an Xsi directory: %s"), perr);
		goto out_e;
	}
	pd_drv_probe_step(&t->pr, N_("directory"), true, _("%lld users in %s %s"), pg.total,
	                  grp ? _("group") : _("enterprise"), grp ? "group_id" : "enterprise_id");
	xsi_dir_page_free(&pg);
	/* the event channel: opened, its <Channel> read, deleted */
	char body[512];
	snprintf(body, sizeof body,
	         "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Channel xmlns=\"" XSI_NS "\">"
	         "<channelSetId>provdesk-test-%ld</channelSetId><priority>1</priority>"
	         "<weight>100</weight><expires>60</expires><applicationId>provdesk"
	         "</applicationId></Channel>",
	         (long)getpid());
	t->p = xsi_parser_new(&(xsi_parser_opts){0}, t_msg, t);
	rc = request(t, "POST", XSI_ASYNC "/channel", body, true, &code, &r);
	if (!t->channel_seen || !t->channel_id[0]) {
		if (code == 401 || code == 403)
			st = pd_drv_probe_fail(
			    &t->pr, PD_E_AUTH, N_("event channel"),
			    _("HTTP %ld: the administrator may not open an event channel"), code);
		else if (code && code != 200)
			st = pd_drv_probe_fail(&t->pr, PD_E_PROTOCOL, N_("event channel"),
			                       "HTTP %ld", code);
		else if (t->doc_error[0]) {
			char d[160];
			pd_utf8_copys(d, sizeof d, t->doc_error);
			for (char *p = d; *p; p++)
				if (*p < 0x20 || *p == 0x7f)
					*p = '?';
			st = pd_drv_probe_fail(&t->pr, PD_E_PROTOCOL, N_("event channel"),
			                       _("not an Xsi event channel: %s"), d);
		} else
			st = pd_drv_probe_fail(&t->pr, PD_E_PROTOCOL, N_("event channel"),
			                       _("no <Channel> document within %d s (%s)"),
			                       STEP_MS / 1000, r.text);
		goto out_e;
	}
	char shown[80];
	pd_snprintf(shown, sizeof shown, "%.79s", t->channel_id);
	for (char *p = shown; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
	if (t->delete_code == 200)
		pd_drv_probe_step(&t->pr, N_("event channel"), true,
		                  _("channel %s opened and deleted"), shown);
	else
		pd_drv_probe_step(
		    &t->pr, N_("event channel"), true,
		    _("channel %s opened; its DELETE answered HTTP %ld (it expires by "
		      "itself)"),
		    shown, t->delete_code);
	st = PD_OK;
out_e:
	pd_curl_free(ent_e);
	pd_curl_free(grp_e);
out:
	free(ent);
	free(grp);
	free(others);
	return st;
}

pd_status xsi_test(const pd_drv_conf *c, int timeout_ms, pd_drv_test_result *out, pd_err *e)
{
	if (!pd_curl_load(e))
		return PD_E_UNAVAILABLE;
	probe t = {.c = c};
	pd_status st = pd_drv_probe_begin(&t.pr, c, timeout_ms, STEP_MS, out);
	if (st == PD_OK) {
		t.verify = t.pr.verify;
		t.ca = t.pr.ca;
		pd_masked_set(&t.secret, c->secret);
		st = run(&t);
		pd_masked_clear(&t.secret);
	}
	pd_buf_free(&t.body);
	xsi_parser_free(t.p);
	st = pd_drv_probe_end(&t.pr, st, e);
	return st;
}

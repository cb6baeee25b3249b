/* Cisco BroadWorks Xsi driver (platform key "broadworks-xsi";
 * docs/architecture.md, "BroadWorks Xsi"): HTTPS through libcurl's multi
 * interface, driven by the monitor's own poll() loop (no thread, no
 * blocking call but the bounded farewell of destroy).
 *   directory pages (Xsi-Actions, enterprise or group) -> sync users ->
 *   event channel (a never-ending chunked POST, fed to xsi_parser) ->
 *   <Channel> -> two subscriptions (Advanced Call, Call Center Agent) ->
 *   monitoring: each user's ACD state and calls read (GET …/services/
 *   CallCenter, …/calls, …/calls/{id}: a group or enterprise subscription
 *   brings no initial state), every event acknowledged, a heartbeat every
 *   15 s (or
 *   ping_interval when shorter), channel and subscriptions refreshed at
 *   3/4 of their expiry.
 * A ChannelTerminatedEvent, SubscriptionTerminatedEvent, the end of the
 * stream, a heartbeat or refresh answered 404, malformed XML or silence on
 * the channel tear it down; the link is rebuilt (a new channel set, new
 * subscriptions, the live model reset) after the shared backoff. A
 * transport failure or a 5xx moves to the next XSP of `host`, `xsp_hosts`.
 * 401/403: authentication failed, no retries until resync or an edit. The
 * secret goes to libcurl only (CURLOPT_PASSWORD, revealed for the call and
 * wiped) and every error text is scrubbed of it. */
#include "provdesk/dl_curl.h"
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "provdesk/i18n.h"
#include "provdesk/pbx_driver.h"
#include "provdesk/util.h"
#include "provdesk/xsi.h"
#include "xsi_driver.h"
#include "xsi_model.h"

#define STEP_TIMEOUT_MS 15000
#define CONNECT_TIMEOUT_MS 10000
#define RESULTS 500         /* directory page size asked (the XSP caps it) */
#define PAGE_MAX_USERS 2000 /* users kept from one page (a hostile one lists more) */
#define EXPIRES 3600        /* asked for the channel and the subscriptions */
#define MIN_EXPIRES 4       /* a shorter grant is taken as this (no refresh storm) */
/* Connections for the short requests beside the channel's: HTTP/1.1 has
 * one request on a connection at a time, and every event the channel
 * brings is acknowledged by a request of its own, so a burst (a shift's
 * agents signing in at once) is acknowledged at this many a round trip; an
 * XSP ends the channel of an event left unacknowledged for a few seconds.
 * The users' ACD states and calls read after subscribing share them,
 * behind the acknowledgements. A link keeps to NARROW_CONNECTIONS (the channel's and
 * two short ones, two requests in flight) until ACK_BURST requests wait:
 * an XSP serving a thousand small enterprises is not asked for nine
 * connections each. Those a burst opened are closed after two idle
 * minutes (libcurl's CURLOPT_MAXAGE_CONN). */
#define SHORT_CONNECTIONS 8
#define ACK_INFLIGHT_MAX (2 * SHORT_CONNECTIONS) /* acknowledgements sent at once */
#define NARROW_CONNECTIONS 3
#define ACK_BURST 64
/* Waiting to be sent, past which the channel is rebuilt: ACK_QUEUE_MIN
 * beyond the users the link may sync (max_users_per_link), since every
 * agent may change state at once, one event each (the queue grows as it
 * fills, and is let go when empty). */
#define ACK_QUEUE_MIN 4096
#define USER_CALLS_MAX 64 /* calls read of one user (a hostile XSP lists more) */
#define MAX_CONNECTIONS (1 + SHORT_CONNECTIONS) /* the channel's and the short ones */
/* Sockets libcurl tells of: two for each connection while it connects to
 * a host with IPv4 and IPv6 addresses (happy eyeballs), and the resolver's. */
#define MAX_SOCKS (2 * MAX_CONNECTIONS + 2)
_Static_assert(MAX_SOCKS <= PD_DRV_MAX_FDS, "the monitor polls PD_DRV_MAX_FDS a link");
#define FAREWELL_MS 1000           /* destroy waits this long for its DELETEs */
#define HEARTBEAT_WAIT_MIN_MS 5000 /* a heartbeat answer is awaited at least this long */
#define APP_ID "provdesk"

static const char *const PACKAGES[2] = {"Advanced Call", "Call Center Agent"};

enum dstate {
	D_WAIT,      /* waiting to retry (or auth failed) */
	D_DIRECTORY, /* reading the directory pages */
	D_CHANNEL,   /* the channel posted, waiting for <Channel> */
	D_SUBSCRIBE, /* the subscriptions posted */
	D_MONITORING,
	D_IDLE /* users only (monitor off): nothing open */
};

enum rkind {
	R_DIR,
	R_CHANNEL,
	R_SUB,
	R_STATE, /* a user's ACD state (Xsi-Actions) */
	R_CALLS, /* the calls a user is in now */
	R_CALL,  /* one of them */
	R_ACK,
	R_HEARTBEAT,
	R_REFRESH_CHANNEL,
	R_REFRESH_SUB,
	R_DELETE
};

typedef struct xsi_drv xsi_drv;

typedef struct req {
	xsi_drv *d;
	CURL *h;
	enum rkind kind;
	int sub;       /* R_SUB, R_REFRESH_SUB: which package */
	char *user;    /* R_STATE, R_CALLS, R_CALL: whose */
	char *call;    /* R_CALL: which */
	uint64_t mark; /* R_STATE, R_CALLS: xsi_model_mark() when sent; R_CALL: its list's */
	pd_buf body;   /* the response, at most XSI_BODY_MAX */
	bool over;     /* it was longer */
	struct curl_slist *hdrs;
	char errbuf[CURL_ERROR_SIZE];
	struct req *prev, *next;
} req;

typedef struct {
	curl_socket_t fd;
	int what; /* CURL_POLL_IN / OUT / INOUT */
} sock;

/* A call listed by a user's …/calls, to read. */
typedef struct {
	char *user, *call;
	uint64_t mark; /* the list's */
} call_ref;

struct xsi_drv {
	/* conf, masked secret, host, link state, failures, publishing, retries
	 * (include/provdesk/pbx_driver.h); l.t is NULL: libcurl is the transport */
	pd_drv_link l;
	enum dstate st;
	CURLM *m;
	sock socks[MAX_SOCKS];
	int nsocks;
	int64_t curl_at; /* libcurl's timer, INT64_MAX when none */
	req *reqs;       /* every transfer in the multi */
	xsi_parser *p;
	xsi_model *mo;
	char *ent_esc, *grp_esc; /* enterprise_id, group_id URL-escaped (grp NULL: none) */
	xsi_host hosts[XSI_MAX_HOSTS];
	int nhosts, cur;
	bool advance; /* the next attempt goes to the next XSP */
	bool verify;
	char *ca;
	int64_t deadline; /* the step in progress (waiting for <Channel>) */
	/* the directory */
	long long next_start;
	int pages;
	bool dir_busy, resyncing;
	/* the channel */
	req *chan;
	unsigned set_n;
	char set_id[64];
	char channel_id[XSI_VALUE_MAX];
	int chan_expires;
	bool subscribe_due;
	char sub_id[2][XSI_VALUE_MAX];
	int sub_expires[2];
	int subs_ok;
	int64_t hb_ms, hb_at, refresh_at, heard_at;
	int64_t hb_due; /* the heartbeat in flight unanswered by then: the XSP is gone */
	bool hb_inflight;
	/* acknowledgements */
	char **ackq; /* a ring of ack_cap, grown up to ack_max */
	size_t ack_h, ack_n, ack_cap, ack_max;
	int ack_inflight;
	bool wide; /* a backlog of ACK_BURST: ACK_INFLIGHT_MAX in flight */
	uint64_t acks_sent, acks_ok;
	/* what no subscription brings, read once monitoring in directory
	 * order: every user's ACD state (the agents fill in first), then each
	 * user's calls, each call listed read before the next list */
	size_t read_next, calls_next;
	int read_inflight;
	call_ref *callq; /* calls listed, not yet read: a FIFO from callq_h */
	size_t callq_h, callq_n, callq_cap;
	uint64_t reads_ok, reads_bad; /* answered with a CallCenter; failed, malformed or cut */
	uint64_t calls_read;          /* calls read and applied */
	bool closing;                 /* destroy: only the DELETEs count */
};
PD_DRV_LINK_FIRST(xsi_drv);

/* ---- helpers ---- */

static void view(void *p, int64_t now, pd_live_view *v)
{
	xsi_model_view(((xsi_drv *)p)->mo, now, v);
}

/* Printable ASCII of a text that may hold a peer's bytes (it reaches a terminal). */
static void ascii(char *dst, size_t n, const char *s)
{
	size_t o = 0;
	for (; s && *s && o + 1 < n; s++)
		dst[o++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
	if (n)
		dst[o] = '\0';
}

static void warning_update(xsi_drv *d)
{
	pd_drv_link_warning(&d->l, d->st == D_MONITORING || d->st == D_IDLE, N_("users or agents"),
	                    N_("fields or documents refused or repaired"));
}

static void input_check(xsi_drv *d, bool force)
{
	pd_model_stats ms;
	xsi_model_get_stats(d->mo, &ms);
	xsi_parser_stats ps;
	xsi_parser_get_stats(d->p, &ps);
	pd_live_input in = pd_model_input(&ms, ps.bad_fields + d->reads_bad);
	if (pd_drv_link_input(&d->l, &in, force) == PD_DRV_INPUT_WORDS)
		warning_update(d);
}

/* ---- the XSP list ---- */

pd_status xsi_hosts_parse(const char *list, xsi_host *out, int max, int *n, pd_err *e)
{
	*n = 0;
	char *norm = NULL;
	/* the rule is core's, the one the forms and the CLI check with */
	pd_status st = pd_check_host_list("xsp_hosts", list ? list : "", &norm, e);
	if (st != PD_OK)
		return st;
	for (char *item = norm, *next; item && *item; item = next) {
		next = strchr(item, ',');
		if (next)
			*next++ = '\0';
		if (*n >= max) {
			free(norm);
			return pd_fail(e, PD_E_INVALID, "xsp_hosts",
			               _("at most %d other XSP hosts"), max);
		}
		xsi_host *h = &out[(*n)++];
		h->port = 0;
		char *host = item, *port = NULL;
		if (item[0] == '[') { /* [v6addr] or [v6addr]:port */
			char *close = strchr(item, ']');
			*close = '\0';
			host = item + 1;
			port = close[1] == ':' ? close + 2 : NULL;
		} else if ((port = strchr(item, ':')) && !strchr(port + 1, ':')) {
			*port++ = '\0';
		} else {
			port = NULL; /* none, or an IPv6 address without brackets */
		}
		if (port)
			h->port = atoi(port);
		snprintf(h->host, sizeof h->host, "%s", host);
	}
	free(norm);
	return PD_OK;
}

/* ---- libcurl's sockets and timer ---- */

static int on_socket(CURL *h, curl_socket_t fd, int what, void *ud, void *sp)
{
	(void)h, (void)sp;
	xsi_drv *d = ud;
	int i;
	for (i = 0; i < d->nsocks && d->socks[i].fd != fd; i++)
		;
	if (what == CURL_POLL_REMOVE) {
		if (i < d->nsocks)
			d->socks[i] = d->socks[--d->nsocks];
		return 0;
	}
	if (i == d->nsocks) {
		if (d->nsocks == MAX_SOCKS)
			return 0; /* not polled: libcurl's timeouts still end it */
		d->nsocks++;
	}
	d->socks[i] = (sock){fd, what};
	return 0;
}

static int on_curl_timer(CURLM *m, long ms, void *ud)
{
	(void)m;
	xsi_drv *d = ud;
	d->curl_at = ms < 0 ? INT64_MAX : pd_live_now_ms() + ms;
	return 0;
}

/* A multi of its own for each connection attempt: a new link never reuses a
 * cached connection of the last one (a half-open XSP would hold it). */
static CURLM *multi_new(xsi_drv *d)
{
	CURLM *m = pd_curl_multi_init();
	if (!m)
		return NULL;
	pd_curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, on_socket);
	pd_curl_multi_setopt(m, CURLMOPT_SOCKETDATA, d);
	pd_curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, on_curl_timer);
	pd_curl_multi_setopt(m, CURLMOPT_TIMERDATA, d);
	pd_curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)NARROW_CONNECTIONS);
	/* the cache holds a burst's connections: smaller, each returning one
	 * would be closed and the next acknowledgement open another */
	pd_curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)MAX_CONNECTIONS);
	return m;
}

/* ---- transfers ---- */

static size_t body_write(char *p, size_t sz, size_t n, void *ud)
{
	req *r = ud;
	size_t len = sz * n;
	if (r->body.len + len > XSI_BODY_MAX) {
		r->over = true;
		return 0; /* ends the transfer (CURLE_WRITE_ERROR) */
	}
	pd_buf_addn(&r->body, p, len);
	return len;
}

static size_t chan_write(char *p, size_t sz, size_t n, void *ud)
{
	req *r = ud;
	xsi_drv *d = r->d;
	long code = 0;
	pd_curl_easy_getinfo(r->h, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200)
		return body_write(p, sz, n, ud); /* an error body: read when it ends */
	d->heard_at = d->l.now;
	xsi_parser_feed(d->p, p, sz * n);
	return d->l.fail ? 0 : sz * n;
}

static void url_of(const xsi_drv *d, const char *path, char *out, size_t n)
{
	const xsi_host *x = &d->hosts[d->cur];
	bool v6 = strchr(x->host, ':') != NULL;
	snprintf(out, n, "%s://%s%s%s:%d%s", d->l.c.tls ? "https" : "http", v6 ? "[" : "", x->host,
	         v6 ? "]" : "", x->port, path);
}

/* A transfer added to the multi: method GET, POST, PUT or DELETE; body
 * (XML) for POST and PUT. */
static req *req_start_t(xsi_drv *d, enum rkind kind, const char *method, const char *path,
                        const char *body, int64_t timeout_ms)
{
	CURL *h = pd_curl_easy_init();
	if (!h) {
		pd_drv_set_fail(&d->l, PD_LINK_RETRYING, N_("libcurl could not make a transfer"));
		return NULL;
	}
	req *r = xcalloc(1, sizeof *r);
	r->d = d;
	r->h = h;
	r->kind = kind;
	char url[2048];
	url_of(d, path, url, sizeof url);
	pd_curl_easy_setopt(h, CURLOPT_URL, url);
	pd_curl_easy_setopt(h, CURLOPT_PRIVATE, r);
	pd_curl_easy_setopt(h, CURLOPT_ERRORBUFFER, r->errbuf);
	pd_curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, kind == R_CHANNEL ? chan_write : body_write);
	pd_curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	pd_curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	pd_curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	pd_curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	pd_curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
	if (kind != R_CHANNEL)
		pd_curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	pd_curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	pd_curl_easy_setopt(h, CURLOPT_USERNAME, d->l.c.username ? d->l.c.username : "");
	char *sec = pd_masked_reveal(&d->l.secret);
	pd_curl_easy_setopt(h, CURLOPT_PASSWORD, sec); /* libcurl copies it */
	pd_secret_free(sec);
	if (d->l.c.tls) {
		pd_curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, d->verify ? 1L : 0L);
		pd_curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, d->verify ? 2L : 0L);
		if (d->ca)
			pd_curl_easy_setopt(h, CURLOPT_CAINFO, d->ca);
	}
	r->hdrs = pd_curl_slist_append(r->hdrs, "Accept: application/xml");
	r->hdrs = pd_curl_slist_append(r->hdrs, "Expect:");
	if (body)
		r->hdrs =
		    pd_curl_slist_append(r->hdrs, "Content-Type: application/xml; charset=UTF-8");
	pd_curl_easy_setopt(h, CURLOPT_HTTPHEADER, r->hdrs);
	if (strcmp(method, "GET")) {
		if (strcmp(method, "POST"))
			pd_curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
		if (body || strcmp(method, "DELETE"))
			pd_curl_easy_setopt(h, CURLOPT_COPYPOSTFIELDS, body ? body : "");
	}
	r->next = d->reqs;
	if (d->reqs)
		d->reqs->prev = r;
	d->reqs = r;
	pd_curl_multi_add_handle(d->m, h);
	return r;
}

static req *req_start(xsi_drv *d, enum rkind kind, const char *method, const char *path,
                      const char *body)
{
	return req_start_t(d, kind, method, path, body, STEP_TIMEOUT_MS);
}

static void req_free(xsi_drv *d, req *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		d->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	pd_curl_multi_remove_handle(d->m, r->h);
	pd_curl_easy_cleanup(r->h);
	pd_curl_slist_free_all(r->hdrs);
	pd_buf_free(&r->body);
	free(r->user);
	free(r->call);
	if (d->chan == r)
		d->chan = NULL;
	free(r);
}

static void reqs_clear(xsi_drv *d)
{
	while (d->reqs)
		req_free(d, d->reqs);
	d->ack_inflight = d->read_inflight = 0;
	d->hb_inflight = false;
}

static void acks_clear(xsi_drv *d)
{
	for (size_t i = 0; i < d->ack_n; i++)
		free(d->ackq[(d->ack_h + i) % d->ack_cap]);
	free(d->ackq);
	d->ackq = NULL;
	d->ack_h = d->ack_n = d->ack_cap = 0;
}

static void callq_clear(xsi_drv *d)
{
	for (size_t i = d->callq_h; i < d->callq_n; i++)
		free(d->callq[i].user), free(d->callq[i].call);
	free(d->callq);
	d->callq = NULL;
	d->callq_h = d->callq_n = d->callq_cap = 0;
}

/* Queues an event's id for its acknowledgement; false past ack_max. */
static bool ack_push(xsi_drv *d, const char *id)
{
	if (d->ack_n >= d->ack_max)
		return false;
	if (d->ack_n == d->ack_cap)
		d->ackq =
		    pd_ring_grow(d->ackq, sizeof *d->ackq, &d->ack_h, d->ack_n, &d->ack_cap, 16);
	d->ackq[(d->ack_h + d->ack_n++) % d->ack_cap] = xstrdup(id);
	return true;
}

/* The link goes down (pd_drv_link_down): every transfer ends; calls and
 * agents are unknown while it is; users stay. */
static void stop(void *p)
{
	xsi_drv *d = p;
	reqs_clear(d);
	acks_clear(d);
	callq_clear(d);
	/* its cached connections closed with it */
	CURLM *m = multi_new(d);
	if (m) {
		pd_curl_multi_cleanup(d->m);
		d->m = m;
		d->nsocks = 0;
		d->curl_at = INT64_MAX;
		d->wide = false; /* a new multi keeps to NARROW_CONNECTIONS */
	}
	d->st = D_WAIT;
	d->dir_busy = d->resyncing = d->subscribe_due = false;
	d->channel_id[0] = '\0';
	d->sub_id[0][0] = d->sub_id[1][0] = '\0';
	d->subs_ok = 0;
	d->deadline = INT64_MAX;
	xsi_parser_reset(d->p);
	xsi_model_reset_live(d->mo);
}

/* A failure of the transfer (not of the XSP's answer): the next attempt
 * tries the next XSP. */
static void fail_transport(xsi_drv *d, const req *r, CURLcode rc, const char *what)
{
	if (!d->l.fail)
		d->advance = true;
	char eb[CURL_ERROR_SIZE];
	ascii(eb, sizeof eb, r->errbuf[0] ? r->errbuf : pd_curl_easy_strerror(rc));
	pd_drv_set_fail(&d->l, PD_LINK_RETRYING, "%s: %s:%d: %s", what, d->hosts[d->cur].host,
	                d->hosts[d->cur].port, eb);
}

/* An HTTP answer other than 200. */
static void fail_http(xsi_drv *d, long code, const char *what)
{
	if (code == 401)
		pd_drv_set_fail(&d->l, PD_LINK_AUTH_FAILED,
		                N_("authentication failed (HTTP 401 to %s: check the administrator "
		                   "and password)"),
		                what);
	else if (code == 403)
		pd_drv_set_fail(
		    &d->l, PD_LINK_AUTH_FAILED,
		    N_("permission refused (HTTP 403 to %s: the administrator may not act "
		       "on this enterprise or group)"),
		    what);
	else {
		if (code >= 500 && !d->l.fail)
			d->advance = true;
		pd_drv_set_fail(
		    &d->l, code >= 500 || code == 404 ? PD_LINK_RETRYING : PD_LINK_PROTOCOL_ERROR,
		    N_("%s answered HTTP %ld"), what, code);
	}
}

/* ---- the directory ---- */

static void dir_get(xsi_drv *d)
{
	char path[1024];
	if (d->grp_esc)
		snprintf(path, sizeof path,
		         "%s/group/%s/directories/Group?enterpriseId=%s&start=%lld&results=%d",
		         XSI_ACTIONS, d->grp_esc, d->ent_esc, d->next_start, RESULTS);
	else
		snprintf(path, sizeof path,
		         "%s/enterprise/%s/directories/Enterprise?start=%lld&results=%d",
		         XSI_ACTIONS, d->ent_esc, d->next_start, RESULTS);
	d->dir_busy = true;
	req_start(d, R_DIR, "GET", path, NULL);
}

static void do_sync(xsi_drv *d)
{
	pd_synced_user *u;
	size_t n = xsi_model_synced_users(d->mo, &u);
	d->l.dirty = true;
	if (!d->l.c.sync_users || !d->l.h.sync_users)
		return;
	if (pd_drv_link_sync(&d->l, u, n, xsi_model_users_refused(d->mo)))
		warning_update(d);
}

static void open_channel(xsi_drv *d);

static void monitoring(xsi_drv *d, enum dstate st)
{
	d->st = st;
	d->deadline = INT64_MAX;
	pd_backoff_reset(&d->l.bo);
	d->l.dirty = true;
	pd_drv_publish_now(&d->l);
	pd_drv_link_state(&d->l, PD_LINK_MONITORING);
}

static void dir_done(xsi_drv *d)
{
	d->dir_busy = false;
	do_sync(d);
	if (d->resyncing) {
		d->resyncing = false;
		d->read_next = d->calls_next = 0; /* the new directory's users read again */
		pd_drv_link_state(&d->l, PD_LINK_MONITORING);
	} else if (d->l.c.monitor) {
		open_channel(d);
	} else {
		monitoring(d, D_IDLE);
	}
}

static void dir_page(xsi_drv *d, req *r)
{
	xsi_dir_page pg;
	char err[200];
	xsi_parser_opts po = {.max_doc = XSI_BODY_MAX};
	if (!xsi_dir_parse(r->body.s ? r->body.s : "", r->body.len, &po, PAGE_MAX_USERS, &pg, err,
	                   sizeof err)) {
		char why[200];
		ascii(why, sizeof why, err);
		pd_drv_set_fail(&d->l, PD_LINK_PROTOCOL_ERROR,
		                N_("the directory page is not Xsi: %s"), why);
		return;
	}
	xsi_model_add_directory(d->mo, &pg);
	long long nx = xsi_dir_next_start(&pg);
	d->pages++;
	long long want = pg.total > 0 ? (pg.total + RESULTS - 1) / RESULTS : 1;
	d->l.done = d->pages;
	d->l.total = (int)(want > d->pages ? (want < 1000000 ? want : 1000000) : d->pages);
	xsi_dir_page_free(&pg);
	d->l.dirty = true;
	/* a page must move forward; past the user cap the rest is not read
	 * (the directory is then not synced: pd_drv_sync_users) */
	if (nx > d->next_start && !xsi_model_users_refused(d->mo)) {
		d->next_start = nx;
		pd_drv_link_state(&d->l, PD_LINK_DISCOVERING);
		dir_get(d);
	} else {
		dir_done(d);
	}
}

/* ---- the channel and the subscriptions ---- */

static void open_channel(xsi_drv *d)
{
	/* a new channel set each time (and in each process): subscriptions of
	 * a lost channel (not deleted) never deliver to the new one twice */
	snprintf(d->set_id, sizeof d->set_id, "%s-%lld-%ld-%u", APP_ID,
	         (long long)d->l.c.customer_id, (long)getpid(), ++d->set_n);
	xsi_parser_reset(d->p);
	d->channel_id[0] = '\0';
	char body[512];
	snprintf(body, sizeof body,
	         "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Channel xmlns=\"" XSI_NS "\">"
	         "<channelSetId>%s</channelSetId><priority>1</priority><weight>100</weight>"
	         "<expires>%d</expires><applicationId>" APP_ID "</applicationId></Channel>",
	         d->set_id, EXPIRES);
	d->st = D_CHANNEL;
	d->deadline = d->l.now + STEP_TIMEOUT_MS;
	d->heard_at = d->l.now;
	d->chan = req_start(d, R_CHANNEL, "POST", XSI_ASYNC "/channel", body);
	pd_drv_link_state(&d->l, PD_LINK_LOGGING_IN);
}

static void subscribe(xsi_drv *d)
{
	char path[1024];
	if (d->grp_esc)
		snprintf(path, sizeof path, "%s/group/%s?enterpriseId=%s", XSI_EVENTS, d->grp_esc,
		         d->ent_esc);
	else
		snprintf(path, sizeof path, "%s/enterprise/%s", XSI_EVENTS, d->ent_esc);
	d->subs_ok = 0;
	for (int i = 0; i < 2; i++) {
		char body[512];
		snprintf(body, sizeof body,
		         "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Subscription xmlns=\"" XSI_NS
		         "\"><event>%s</event><expires>%d</expires><channelSetId>%s</channelSetId>"
		         "<applicationId>" APP_ID "</applicationId></Subscription>",
		         PACKAGES[i], EXPIRES, d->set_id);
		req *r = req_start(d, R_SUB, "POST", path, body);
		if (r)
			r->sub = i;
	}
}

static int64_t refresh_in(const xsi_drv *d)
{
	int e = d->chan_expires;
	for (int i = 0; i < 2; i++)
		if (d->sub_expires[i] > 0 && d->sub_expires[i] < e)
			e = d->sub_expires[i];
	if (e < MIN_EXPIRES)
		e = MIN_EXPIRES;
	return (int64_t)e * 750; /* 3/4 of it, in ms */
}

static void sub_done(xsi_drv *d, req *r)
{
	char id[XSI_VALUE_MAX], exp[32];
	xsi_value_of(r->body.s, r->body.len, "subscriptionId", id, sizeof id);
	xsi_value_of(r->body.s, r->body.len, "expires", exp, sizeof exp);
	if (!id[0]) {
		pd_drv_set_fail(&d->l, PD_LINK_PROTOCOL_ERROR,
		                N_("the %s subscription's answer has no subscriptionId"),
		                PACKAGES[r->sub]);
		return;
	}
	snprintf(d->sub_id[r->sub], sizeof d->sub_id[r->sub], "%s", id);
	char *end;
	long e = strtol(exp, &end, 10);
	d->sub_expires[r->sub] = *exp && !*end && e > 0 ? (int)(e < 86400 ? e : 86400) : EXPIRES;
	if (++d->subs_ok < 2)
		return;
	d->hb_at = d->l.now + d->hb_ms;
	d->heard_at = d->l.now;
	d->refresh_at = d->l.now + refresh_in(d);
	d->read_next = d->calls_next = 0;
	monitoring(d, D_MONITORING);
}

static char *esc(xsi_drv *d, const char *s)
{
	char *c = pd_curl_easy_escape(NULL, s, 0);
	char *r = xstrdup(c ? c : "");
	pd_curl_free(c);
	(void)d;
	return r;
}

static void heartbeat(xsi_drv *d)
{
	char *id = esc(d, d->channel_id);
	char path[1024];
	snprintf(path, sizeof path, "%s/channel/%s/heartbeat", XSI_EVENTS, id);
	free(id);
	/* unanswered by the next one (5 s at least): the XSP is gone */
	int64_t wait = d->hb_ms > HEARTBEAT_WAIT_MIN_MS ? d->hb_ms : HEARTBEAT_WAIT_MIN_MS;
	d->hb_inflight = req_start_t(d, R_HEARTBEAT, "PUT", path, NULL, wait) != NULL;
	/* our own timer too: libcurl's does not run while the request waits
	 * for a connection (the others held by a half-open XSP) */
	d->hb_due = d->l.now + wait;
}

static void refresh(xsi_drv *d)
{
	char path[1024], body[256];
	char *id = esc(d, d->channel_id);
	snprintf(path, sizeof path, "%s/channel/%s", XSI_EVENTS, id);
	free(id);
	snprintf(body, sizeof body,
	         "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Channel xmlns=\"" XSI_NS
	         "\"><expires>%d</expires></Channel>",
	         EXPIRES);
	req_start(d, R_REFRESH_CHANNEL, "PUT", path, body);
	for (int i = 0; i < 2; i++) {
		id = esc(d, d->sub_id[i]);
		snprintf(path, sizeof path, "%s/subscription/%s", XSI_EVENTS, id);
		free(id);
		snprintf(body, sizeof body,
		         "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Subscription xmlns=\"" XSI_NS
		         "\"><expires>%d</expires></Subscription>",
		         EXPIRES);
		req *r = req_start(d, R_REFRESH_SUB, "PUT", path, body);
		if (r)
			r->sub = i;
	}
	d->refresh_at = d->l.now + refresh_in(d);
}

/* Reads still to send: the calls listed, the users whose state or calls
 * are not read yet (none while the directory is read again: the list is
 * being rebuilt). */
static size_t reads_left(const xsi_drv *d)
{
	size_t n = xsi_model_user_count(d->mo);
	if (d->st != D_MONITORING)
		return 0;
	size_t users = 0;
	if (!d->dir_busy)
		users = (d->read_next < n ? n - d->read_next : 0) +
		        (d->calls_next < n ? n - d->calls_next : 0);
	return d->callq_n - d->callq_h + users;
}

static void ack_start(xsi_drv *d)
{
	char *id = d->ackq[d->ack_h];
	d->ackq[d->ack_h] = NULL;
	d->ack_h = (d->ack_h + 1) % d->ack_cap;
	d->ack_n--;
	pd_buf b = {0};
	pd_buf_add(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><EventResponse xmlns=\"" XSI_NS
	               "\"><eventID>");
	xsi_xml_escape(&b, id);
	pd_buf_add(&b, "</eventID><statusCode>200</statusCode><reason>OK</reason>"
	               "</EventResponse>");
	free(id);
	if (req_start(d, R_ACK, "POST", XSI_EVENTS "/channel/eventresponse", b.s)) {
		d->ack_inflight++;
		d->acks_sent++;
	}
	pd_buf_free(&b);
}

static req *read_one(xsi_drv *d, enum rkind kind, const char *user, const char *call, uint64_t mark)
{
	char *uid = esc(d, user), *cid = call ? esc(d, call) : NULL;
	char path[1024];
	if (kind == R_STATE)
		snprintf(path, sizeof path, "%s/user/%s/services/CallCenter", XSI_ACTIONS, uid);
	else
		snprintf(path, sizeof path, "%s/user/%s/calls%s%s", XSI_ACTIONS, uid,
		         cid ? "/" : "", cid ? cid : "");
	free(uid);
	free(cid);
	req *r = req_start(d, kind, "GET", path, NULL);
	if (r) {
		r->user = xstrdup(user);
		r->call = call ? xstrdup(call) : NULL;
		r->mark = mark;
		d->read_inflight++;
	}
	return r;
}

/* The next read: a call listed, else the next user's state, else the next
 * user's calls: 10,000 agents of an XSP 20 ms away fill in in 26 s, not
 * after both reads of every user. */
static void read_start(xsi_drv *d)
{
	if (d->callq_h < d->callq_n) {
		call_ref *c = &d->callq[d->callq_h++];
		read_one(d, R_CALL, c->user, c->call, c->mark);
		free(c->user), free(c->call);
		if (d->callq_h == d->callq_n)
			d->callq_h = d->callq_n = 0; /* emptied: filled from the start again */
		return;
	}
	bool state = d->read_next < xsi_model_user_count(d->mo);
	const char *user = xsi_model_user_id(d->mo, state ? d->read_next++ : d->calls_next++);
	read_one(d, state ? R_STATE : R_CALLS, user, NULL, xsi_model_mark(d->mo));
}

/* The short requests waiting: acknowledgements first (the XSP waits for
 * them), then the users' ACD states. */
static void short_send(xsi_drv *d)
{
	size_t reads = reads_left(d);
	size_t backlog = d->ack_n + (size_t)d->ack_inflight + reads + (size_t)d->read_inflight;
	bool wide = backlog >= ACK_BURST || (d->wide && (d->ack_n || reads));
	if (wide != d->wide) { /* a backlog opens the short connections until it is sent */
		d->wide = wide;
		pd_curl_multi_setopt(d->m, CURLMOPT_MAX_TOTAL_CONNECTIONS,
		                     (long)(wide ? MAX_CONNECTIONS : NARROW_CONNECTIONS));
	}
	int most = wide ? ACK_INFLIGHT_MAX : NARROW_CONNECTIONS - 1; /* one a short connection */
	while (d->ack_n && d->ack_inflight + d->read_inflight < most && !d->l.fail)
		ack_start(d);
	while (reads_left(d) && d->ack_inflight + d->read_inflight < most && !d->l.fail)
		read_start(d);
	if (!d->ack_n && d->ack_cap > 64)
		acks_clear(d); /* a burst's ring is let go */
}

/* A <Calls> answer: its calls queued for their reads. */
static bool calls_listed(xsi_drv *d, const req *r)
{
	xsi_call_list cl;
	char err[200];
	xsi_parser_opts po = {.max_doc = XSI_BODY_MAX};
	if (!xsi_calls_parse(r->body.s ? r->body.s : "", r->body.len, &po, USER_CALLS_MAX, &cl, err,
	                     sizeof err))
		return false;
	for (size_t i = 0; i < cl.n; i++) {
		if (d->callq_n == d->callq_cap) {
			d->callq_cap = d->callq_cap ? d->callq_cap * 2 : 16;
			d->callq = xrealloc(d->callq, d->callq_cap * sizeof *d->callq);
		}
		d->callq[d->callq_n++] = (call_ref){xstrdup(r->user), xstrdup(cl.ids[i]), r->mark};
	}
	d->reads_bad += cl.refused; /* past USER_CALLS_MAX, or no id: not shown, said */
	xsi_call_list_free(&cl);
	return true;
}

/* A <Call> answer: applied unless an event for its user came since its
 * list was read; a call up before starts at its startTime. */
static bool call_read(xsi_drv *d, const req *r)
{
	xsi_msg c;
	char err[200];
	xsi_parser_opts po = {.max_doc = XSI_BODY_MAX};
	if (!xsi_call_parse(r->body.s ? r->body.s : "", r->body.len, &po, &c, err, sizeof err))
		return false;
	int64_t start = 0;
	if (c.start_time > 0) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		int64_t ago = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - c.start_time;
		start = ago > 0 ? d->l.now - ago : d->l.now;
	}
	d->calls_read++;
	if (xsi_model_call_read(d->mo, r->user, &c, r->mark, start, d->l.now))
		d->l.dirty = true;
	return true;
}

/* A read answered. A user's ACD state: an agent's state, or no agent (no
 * Call Center service: 400, 404, or no agentACDState). Its calls: each
 * listed then read (404: none, or the call ended since listed). Anything
 * else (403: the administrator may not read it, 5xx, a transport failure,
 * malformed XML) leaves the agent or the call unknown until its next event,
 * counted with the documents refused: an account that may read no user's
 * service shows as a warning, not as a customer without agents. */
static void read_done(xsi_drv *d, req *r, CURLcode rc, long code)
{
	d->read_inflight--;
	if (rc == CURLE_OK && code == 401) {
		fail_http(d, code,
		          pd_msg_word(r->kind == R_STATE ? N_("an agent's state")
		                                         : N_("a user's calls")));
		return;
	}
	/* no agent service, not a user with calls, a call ended since listed */
	if (rc == CURLE_OK && (code == 400 || code == 404))
		return;
	if (rc != CURLE_OK || code != 200) {
		d->reads_bad++;
		return;
	}
	if (r->kind == R_CALLS || r->kind == R_CALL) {
		if (!(r->kind == R_CALLS ? calls_listed(d, r) : call_read(d, r)))
			d->reads_bad++;
		return;
	}
	char st[XSI_VALUE_MAX], why[XSI_VALUE_MAX];
	if (!xsi_value_of(r->body.s, r->body.len, "agentACDState", st, sizeof st)) {
		d->reads_bad++;
		return;
	}
	d->reads_ok++;
	if (!st[0])
		return;
	xsi_value_of(r->body.s, r->body.len, "agentUnavailableCode", why, sizeof why);
	if (xsi_model_agent_read(d->mo, r->user, st, why, r->mark, d->l.now))
		d->l.dirty = true;
}

/* A document of the channel (inside libcurl's write callback: nothing is
 * added to or removed from the multi here; pump does it after). */
static void on_msg(const xsi_msg *m, void *ctx)
{
	xsi_drv *d = ctx;
	if (d->l.fail || d->st == D_WAIT || d->closing)
		return;
	switch (m->kind) {
	case XSI_MSG_ERROR: {
		char t[160];
		ascii(t, sizeof t, m->text);
		pd_drv_set_fail(&d->l, PD_LINK_RETRYING,
		                N_("the event channel broke its framing: %s"), t);
		return;
	}
	case XSI_MSG_CHANNEL:
		if (d->st != D_CHANNEL || d->channel_id[0])
			return;
		if (!m->channel_id[0]) {
			pd_drv_set_fail(&d->l, PD_LINK_PROTOCOL_ERROR,
			                N_("the <Channel> document has no channelId"));
			return;
		}
		snprintf(d->channel_id, sizeof d->channel_id, "%s", m->channel_id);
		d->chan_expires =
		    m->expires > 0 ? (m->expires < 86400 ? m->expires : 86400) : EXPIRES;
		d->st = D_SUBSCRIBE;
		d->deadline = INT64_MAX;
		d->subscribe_due = true;
		return;
	case XSI_MSG_HEARTBEAT:
		return;
	case XSI_MSG_EVENT:
		break;
	}
	if (m->event_id[0] && !ack_push(d, m->event_id)) {
		pd_drv_set_fail(&d->l, PD_LINK_RETRYING,
		                N_("more than %zu events waiting for their acknowledgement"),
		                d->ack_max);
		return;
	}
	if (m->type == XSI_EV_CHANNEL_TERMINATED) {
		size_t waiting = d->ack_n + (size_t)d->ack_inflight;
		if (waiting >= ACK_BURST) /* most likely why: say it */
			pd_drv_set_fail(
			    &d->l, PD_LINK_RETRYING,
			    N_("the XSP ended the event channel (ChannelTerminatedEvent) "
			       "with %zu events still to acknowledge, %d a round trip"),
			    waiting, SHORT_CONNECTIONS);
		else
			pd_drv_set_fail(
			    &d->l, PD_LINK_RETRYING,
			    N_("the XSP ended the event channel (ChannelTerminatedEvent)"));
		return;
	}
	if (m->type == XSI_EV_SUBSCRIPTION_TERMINATED) {
		pd_drv_set_fail(&d->l, PD_LINK_RETRYING,
		                N_("the XSP ended a subscription (SubscriptionTerminatedEvent)"));
		return;
	}
	if (xsi_model_apply(d->mo, m, d->l.now))
		d->l.dirty = true;
}

/* A transfer ended (removed from the multi by the caller). */
static void req_done(xsi_drv *d, req *r, CURLcode rc)
{
	long code = 0;
	pd_curl_easy_getinfo(r->h, CURLINFO_RESPONSE_CODE, &code);
	if (d->closing)
		return;
	switch (r->kind) {
	case R_STATE:
	case R_CALLS:
	case R_CALL:
		read_done(d, r, rc, code);
		return;
	case R_ACK:
		d->ack_inflight--;
		if (rc == CURLE_OK && code == 401)
			fail_http(d, code, pd_msg_word(N_("an event acknowledgement")));
		else if (rc == CURLE_OK && code == 200)
			d->acks_ok++;
		/* else the XSP ends the channel when it misses it: rebuilt then */
		return;
	case R_DELETE:
		return;
	case R_CHANNEL:
		if (d->l.fail)
			return;
		if (rc == CURLE_OK && code == 200) {
			pd_drv_set_fail(&d->l, PD_LINK_RETRYING,
			                N_("the XSP ended the event channel (end of stream)"));
			return;
		}
		if (rc == CURLE_WRITE_ERROR && r->over) {
			pd_drv_set_fail(
			    &d->l, PD_LINK_PROTOCOL_ERROR,
			    N_("the event channel's error answer is larger than %d MiB"),
			    XSI_BODY_MAX >> 20);
			return;
		}
		if (rc != CURLE_OK && (code == 200 || !code)) {
			fail_transport(d, r, rc, pd_msg_word(N_("the event channel")));
			return;
		}
		fail_http(d, code, pd_msg_word(N_("the event channel")));
		return;
	default:
		break;
	}
	static const char *const what[] = {[R_DIR] = N_("the directory"),
	                                   [R_SUB] = N_("a subscription"),
	                                   [R_HEARTBEAT] = N_("the heartbeat"),
	                                   [R_REFRESH_CHANNEL] = N_("the channel refresh"),
	                                   [R_REFRESH_SUB] = N_("a subscription refresh")};
	if (r->kind == R_HEARTBEAT)
		d->hb_inflight = false;
	if (rc == CURLE_WRITE_ERROR && r->over) {
		pd_drv_set_fail(&d->l, PD_LINK_PROTOCOL_ERROR,
		                N_("%s's answer is larger than %d MiB"), pd_msg_word(what[r->kind]),
		                XSI_BODY_MAX >> 20);
		return;
	}
	if (rc != CURLE_OK) {
		fail_transport(d, r, rc, pd_msg_word(what[r->kind]));
		return;
	}
	if (code == 404 &&
	    (r->kind == R_HEARTBEAT || r->kind == R_REFRESH_CHANNEL || r->kind == R_REFRESH_SUB)) {
		pd_drv_set_fail(&d->l, PD_LINK_RETRYING, N_("%s answered 404: the channel is gone"),
		                pd_msg_word(what[r->kind]));
		return;
	}
	if (code == 404 && r->kind == R_DIR) {
		pd_drv_set_fail(
		    &d->l, PD_LINK_PROTOCOL_ERROR,
		    N_("the directory answered 404: no such %s (check enterprise_id%s)"),
		    pd_msg_word(d->grp_esc ? N_("group") : N_("enterprise")),
		    d->grp_esc ? pd_msg_word(N_(" and group_id")) : "");
		return;
	}
	if (code != 200) {
		fail_http(d, code, pd_msg_word(what[r->kind]));
		return;
	}
	switch (r->kind) {
	case R_DIR:
		dir_page(d, r);
		break;
	case R_SUB:
		sub_done(d, r);
		break;
	default:
		break; /* heartbeat, refreshes: nothing to read */
	}
}

/* After libcurl ran: the finished transfers, a noted failure, then what
 * the channel's documents asked for (subscriptions, acknowledgements). */
static void process(xsi_drv *d)
{
	CURLMsg *msg;
	int left;
	pd_drv_settle(&d->l);
	while ((msg = pd_curl_multi_info_read(d->m, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		CURLcode rc = msg->data.result;
		req *r = NULL;
		pd_curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		if (!r)
			continue;
		if (d->chan == r)
			d->chan = NULL;
		req_done(d, r, rc);
		req_free(d, r);
		pd_drv_settle(&d->l); /* may end every transfer (stop) */
	}
	if (d->closing)
		return;
	if (d->subscribe_due) {
		d->subscribe_due = false;
		subscribe(d);
	}
	short_send(d);
	pd_drv_settle(&d->l);
}

static void curl_run(xsi_drv *d, curl_socket_t fd, int mask)
{
	int running;
	pd_curl_multi_socket_action(d->m, fd, mask, &running);
	process(d);
}

/* ---- connecting ---- */

static void start_connect(xsi_drv *d)
{
	pd_drv_link_attempt(&d->l);
	if (d->advance && d->nhosts > 1)
		d->cur = (d->cur + 1) % d->nhosts;
	d->advance = false;
	reqs_clear(d);
	xsi_model_reset_users(d->mo);
	d->st = D_DIRECTORY;
	d->deadline = INT64_MAX;
	d->next_start = 1;
	d->pages = 0;
	d->l.done = d->l.total = 0;
	pd_drv_link_state(&d->l, PD_LINK_CONNECTING);
	dir_get(d);
	curl_run(d, CURL_SOCKET_TIMEOUT, 0);
}

/* ---- the ops ---- */

static pd_status xsi_create(const pd_drv_conf *c, const pd_drv_host *h, void **out, pd_err *e)
{
	pd_drv_params p;
	pd_status st = pd_drv_check(c, &p, e);
	if (st != PD_OK)
		return st;
	char *ent = NULL, *grp = NULL, *others = NULL;
	xsi_host hosts[XSI_MAX_HOSTS];
	int n = 0;
	if ((st = pd_param_str(c->params_json, "enterprise_id", &ent, e)) != PD_OK ||
	    (st = pd_param_str(c->params_json, "group_id", &grp, e)) != PD_OK ||
	    (st = pd_param_str(c->params_json, "xsp_hosts", &others, e)) != PD_OK)
		goto out;
	if (!ent || !*ent) {
		st = pd_fail(e, PD_E_INVALID, "enterprise_id",
		             _("enterprise_id is required for platform broadworks-xsi"));
		goto out;
	}
	snprintf(hosts[0].host, sizeof hosts[0].host, "%s", c->host);
	hosts[0].port = c->port;
	if ((st = xsi_hosts_parse(others, hosts + 1, XSI_MAX_HOSTS - 1, &n, e)) != PD_OK)
		goto out;
	xsi_drv *d = xcalloc(1, sizeof *d);
	int wrapup;
	if ((st = pd_drv_link_init(&d->l, c, h, NULL, STEP_TIMEOUT_MS, &wrapup, e)) != PD_OK) {
		free(d);
		goto out;
	}
	bool loaded = pd_curl_load(e);
	d->m = loaded ? multi_new(d) : NULL;
	if (!d->m) {
		pd_drv_link_free(&d->l);
		free(d);
		st = loaded ? pd_fail(e, PD_E_INTERNAL, "pbx", _("libcurl could not start"))
		            : PD_E_UNAVAILABLE;
		goto out;
	}
	d->nhosts = 1 + n;
	for (int i = 0; i < d->nhosts; i++) {
		d->hosts[i] = hosts[i];
		if (!d->hosts[i].port)
			d->hosts[i].port = c->port;
	}
	d->verify = p.tls_verify;
	d->ca = p.tls_ca_file;
	p.tls_ca_file = NULL;
	d->ent_esc = esc(d, ent);
	d->grp_esc = grp && *grp ? esc(d, grp) : NULL;
	d->l.drv = d;
	d->l.view = view;
	d->l.stop = stop;
	d->l.after_io = NULL;
	d->curl_at = INT64_MAX;
	d->deadline = INT64_MAX;
	/* every 15 s as Xsi asks, or more often when ping_interval is shorter */
	d->hb_ms = (int64_t)(c->ping_interval_s > 0 && c->ping_interval_s < XSI_HEARTBEAT_S
	                         ? c->ping_interval_s
	                         : XSI_HEARTBEAT_S) *
	           1000;
	xsi_parser_opts po = {.max_doc = c->max_message};
	d->p = xsi_parser_new(&po, on_msg, d);
	d->mo = xsi_model_new();
	pd_model_limits lim = pd_model_limits_of(c);
	xsi_model_set_limits(d->mo, &lim);
	d->ack_max = pd_model_limits_fill(&lim).max_users + ACK_QUEUE_MIN;
	d->l.now = pd_live_now_ms();
	start_connect(d);
	*out = d;
out:
	free(ent);
	free(grp);
	free(others);
	pd_drv_params_free(&p);
	return st;
}

/* One turn of the farewell's own poll (destroy only). */
static void farewell_turn(xsi_drv *d, int wait_ms)
{
	struct pollfd pf[MAX_SOCKS];
	int n = d->nsocks;
	for (int i = 0; i < n; i++)
		pf[i] = (struct pollfd){
		    .fd = d->socks[i].fd,
		    .events = (short)(((d->socks[i].what & CURL_POLL_IN) ? POLLIN : 0) |
		                      ((d->socks[i].what & CURL_POLL_OUT) ? POLLOUT : 0))};
	int64_t now = pd_live_now_ms();
	if (d->curl_at != INT64_MAX && d->curl_at - now < wait_ms)
		wait_ms = d->curl_at <= now ? 0 : (int)(d->curl_at - now);
	int r = poll(pf, (nfds_t)n, wait_ms);
	int running;
	for (int i = 0; r > 0 && i < n; i++) {
		if (!pf[i].revents)
			continue;
		int mask =
		    ((pf[i].revents & POLLIN) ? CURL_CSELECT_IN : 0) |
		    ((pf[i].revents & POLLOUT) ? CURL_CSELECT_OUT : 0) |
		    ((pf[i].revents & (POLLERR | POLLHUP | POLLNVAL)) ? CURL_CSELECT_ERR : 0);
		pd_curl_multi_socket_action(d->m, pf[i].fd, mask, &running);
	}
	if (d->curl_at <= pd_live_now_ms()) {
		d->curl_at = INT64_MAX;
		pd_curl_multi_socket_action(d->m, CURL_SOCKET_TIMEOUT, 0, &running);
	}
	process(d);
}

static bool deletes_left(const xsi_drv *d)
{
	for (const req *r = d->reqs; r; r = r->next)
		if (r->kind == R_DELETE)
			return true;
	return false;
}

/* The subscriptions and the channel deleted, waited for at most FAREWELL_MS. */
static void farewell(xsi_drv *d)
{
	d->closing = true;
	/* what was in flight ends; the stream stays open until the channel's
	 * DELETE (an XSP drops a channel whose stream closes) */
	for (req *r = d->reqs, *nx; r; r = nx) {
		nx = r->next;
		if (r != d->chan)
			req_free(d, r);
	}
	char path[1024];
	for (int i = 0; i < 2; i++) {
		if (!d->sub_id[i][0])
			continue;
		char *id = esc(d, d->sub_id[i]);
		snprintf(path, sizeof path, "%s/subscription/%s", XSI_EVENTS, id);
		free(id);
		req_start(d, R_DELETE, "DELETE", path, NULL);
	}
	char *id = esc(d, d->channel_id);
	snprintf(path, sizeof path, "%s/channel/%s", XSI_EVENTS, id);
	free(id);
	req_start(d, R_DELETE, "DELETE", path, NULL);
	int64_t until = pd_live_now_ms() + FAREWELL_MS;
	int running;
	pd_curl_multi_socket_action(d->m, CURL_SOCKET_TIMEOUT, 0, &running);
	process(d);
	for (int64_t now = pd_live_now_ms(); deletes_left(d) && now < until; now = pd_live_now_ms())
		farewell_turn(d, (int)(until - now));
}

static void xsi_destroy(void *p)
{
	xsi_drv *d = p;
	if (!d)
		return;
	if (d->st == D_MONITORING && d->channel_id[0])
		farewell(d);
	d->closing = true;
	reqs_clear(d);
	acks_clear(d);
	callq_clear(d);
	pd_curl_multi_cleanup(d->m);
	pd_drv_link_free(&d->l);
	xsi_parser_free(d->p);
	xsi_model_free(d->mo);
	free(d->ent_esc);
	free(d->grp_esc);
	free(d->ca);
	free(d);
}

static int xsi_pollfds(void *p, struct pollfd *pf, int max)
{
	xsi_drv *d = p;
	int n = 0;
	for (int i = 0; i < d->nsocks && n < max; i++)
		pf[n++] = (struct pollfd){
		    .fd = d->socks[i].fd,
		    .events = (short)(((d->socks[i].what & CURL_POLL_IN) ? POLLIN : 0) |
		                      ((d->socks[i].what & CURL_POLL_OUT) ? POLLOUT : 0))};
	return n;
}

static int64_t publish_gap(const xsi_drv *d)
{
	pd_model_stats ms;
	xsi_model_get_stats(d->mo, &ms);
	return pd_drv_publish_gap(d->st == D_MONITORING, xsi_model_user_count(d->mo) + ms.calls);
}

static void after_run(xsi_drv *d)
{
	input_check(d, false);
	pd_drv_publish(&d->l, publish_gap(d));
}

static void xsi_on_io(void *p, const struct pollfd *pf, int n, int64_t now)
{
	xsi_drv *d = p;
	d->l.now = now;
	for (int i = 0; i < n; i++) {
		if (!pf[i].revents)
			continue;
		int mask =
		    ((pf[i].revents & POLLIN) ? CURL_CSELECT_IN : 0) |
		    ((pf[i].revents & POLLOUT) ? CURL_CSELECT_OUT : 0) |
		    ((pf[i].revents & (POLLERR | POLLHUP | POLLNVAL)) ? CURL_CSELECT_ERR : 0);
		curl_run(d, pf[i].fd, mask);
	}
	after_run(d);
}

static int64_t xsi_next_deadline(void *p)
{
	xsi_drv *d = p;
	int64_t t = pd_drv_link_deadline(&d->l, xsi_model_next_deadline(d->mo), publish_gap(d),
	                                 d->st == D_WAIT);
	if (d->curl_at < t)
		t = d->curl_at;
	if (d->st != D_WAIT && d->deadline < t)
		t = d->deadline;
	if (d->st == D_MONITORING) {
		int64_t silent = d->heard_at + 3 * d->hb_ms + STEP_TIMEOUT_MS;
		if (!d->hb_inflight && d->hb_at < t)
			t = d->hb_at;
		if (d->hb_inflight && d->hb_due < t)
			t = d->hb_due;
		if (d->refresh_at < t)
			t = d->refresh_at;
		if (silent < t)
			t = silent;
	}
	return t;
}

static void xsi_on_timer(void *p, int64_t now)
{
	xsi_drv *d = p;
	d->l.now = now;
	if (xsi_model_tick(d->mo, now))
		d->l.dirty = true;
	if (d->curl_at <= now) {
		d->curl_at = INT64_MAX;
		curl_run(d, CURL_SOCKET_TIMEOUT, 0);
	}
	if (d->st == D_WAIT) {
		if (pd_drv_link_retry_due(&d->l, now))
			start_connect(d);
	} else if (now >= d->deadline) {
		pd_drv_link_down_msg(&d->l, PD_LINK_RETRYING,
		                     N_("no <Channel> document on the event channel within 15 s"));
	} else if (d->st == D_MONITORING) {
		if (d->hb_inflight && now >= d->hb_due) {
			d->advance = true; /* the XSP is not answering: try the next */
			pd_drv_link_down_msg(
			    &d->l, PD_LINK_RETRYING,
			    N_("the heartbeat was not answered within %lld s"),
			    (long long)((d->hb_ms > HEARTBEAT_WAIT_MIN_MS ? d->hb_ms
			                                                  : HEARTBEAT_WAIT_MIN_MS) /
			                1000));
		} else if (now >= d->heard_at + 3 * d->hb_ms + STEP_TIMEOUT_MS) {
			pd_drv_link_down_msg(&d->l, PD_LINK_RETRYING,
			                     N_("nothing on the event channel for %lld s"),
			                     (long long)((now - d->heard_at) / 1000));
		} else {
			if (now >= d->hb_at && !d->hb_inflight) {
				d->hb_at = now + d->hb_ms;
				heartbeat(d);
			}
			if (now >= d->refresh_at)
				refresh(d);
			curl_run(d, CURL_SOCKET_TIMEOUT, 0);
		}
	}
	after_run(d);
}

static void xsi_resync(void *p, int64_t now)
{
	xsi_drv *d = p;
	d->l.now = now;
	if ((d->st == D_MONITORING || d->st == D_IDLE) && !d->dir_busy) {
		d->resyncing = true;
		xsi_model_reset_users(d->mo);
		d->next_start = 1;
		d->pages = 0;
		d->l.done = d->l.total = 0;
		pd_drv_link_state(&d->l, PD_LINK_DISCOVERING);
		dir_get(d);
		curl_run(d, CURL_SOCKET_TIMEOUT, 0);
	} else if (d->st == D_WAIT) {
		pd_backoff_reset(&d->l.bo);
		start_connect(d);
	}
}

static pd_link_state xsi_state(void *p)
{
	xsi_drv *d = p;
	switch (d->st) {
	case D_WAIT:
		return d->l.wait_state;
	case D_DIRECTORY:
		return d->pages ? PD_LINK_DISCOVERING : PD_LINK_CONNECTING;
	case D_CHANNEL:
	case D_SUBSCRIBE:
		return PD_LINK_LOGGING_IN;
	default:
		return d->resyncing ? PD_LINK_DISCOVERING : PD_LINK_MONITORING;
	}
}

void xsi_driver_counters(void *p, xsi_driver_stats *out)
{
	const xsi_drv *d = p;
	*out = (xsi_driver_stats){.acks_sent = d->acks_sent,
	                          .acks_ok = d->acks_ok,
	                          .host_index = d->cur,
	                          .channel_sets = d->set_n,
	                          .state_reads = d->reads_ok,
	                          .reads_bad = d->reads_bad,
	                          .calls_read = d->calls_read};
}

const pd_driver_ops pd_xsi_driver = {
    .platform = "broadworks-xsi",
    .create = xsi_create,
    .test = xsi_test,
    .destroy = xsi_destroy,
    .pollfds = xsi_pollfds,
    .on_io = xsi_on_io,
    .next_deadline = xsi_next_deadline,
    .on_timer = xsi_on_timer,
    .resync = xsi_resync,
    .state = xsi_state,
    .last_sync = pd_drv_link_last_sync,
};

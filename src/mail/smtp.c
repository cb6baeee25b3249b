/* SMTP submission with libcurl. Driven through a private multi handle so an
 * exchange can be cancelled promptly (worker stop) without signals. Server
 * replies are captured from curl's debug stream to name them in errors; what
 * we send is only looked at for its command verb, since AUTH lines carry the
 * password. */
#include "mail_internal.h"

#include "provdesk/dl_curl.h"
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "provdesk/i18n.h"
#include "provdesk/util.h"

#define DEFAULT_CONNECT_TIMEOUT_MS 10000L
#define DEFAULT_TIMEOUT_MS 60000L
/* How often a running exchange looks at the cancel flag. */
#define CANCEL_POLL_MS 100

void pd_smtp_opts_init(pd_smtp_opts *o)
{
	memset(o, 0, sizeof *o);
	o->starttls = PD_STARTTLS_TRY;
	o->connect_timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
	o->timeout_ms = DEFAULT_TIMEOUT_MS;
	o->token_days = 7;
}

/* libcurl copies the password (CURLOPT_PASSWORD) and builds the AUTH
 * exchange in its own memory: every block it frees is wiped first, so
 * neither is left in the heap after a send (the handle is cleaned up after
 * each one). OpenSSL's own allocations are not covered (docs/architecture.md,
 * Secrets in memory). */
static void wiped_free(void *p)
{
	if (p) {
		explicit_bzero(p, malloc_usable_size(p));
		free(p);
	}
}

static void *wiped_realloc(void *p, size_t n)
{
	if (!p)
		return malloc(n);
	if (!n) {
		wiped_free(p);
		return NULL;
	}
	size_t old = malloc_usable_size(p);
	void *q = malloc(n);
	if (!q)
		return NULL;
	memcpy(q, p, old < n ? old : n);
	wiped_free(p);
	return q;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
	pd_curl_global_init_mem(CURL_GLOBAL_DEFAULT, malloc, wiped_free, wiped_realloc, strdup,
	                        calloc);
}

/* "scheme://host[:port]" — what an error may show of the URL. */
static pd_status url_display(const char *url, char **out, pd_err *e)
{
	*out = NULL;
	if (!url || !*url)
		return pd_fail(e, PD_E_CONFIG, "smtp.url", _("smtp.url is not set"));
	if (!pd_curl_load(e)) /* the first call of libcurl: it is opened here */
		return PD_E_UNAVAILABLE;
	CURLU *u = pd_curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *password = NULL;
	pd_status st = PD_OK;
	if (pd_curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    pd_curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    pd_curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		/* Do not echo the URL: it may hold credentials. */
		st = pd_fail(e, PD_E_CONFIG, "smtp.url",
		             _("smtp.url is not a valid URL (expected smtp://host:port or "
		               "smtps://host:port)"));
		goto out;
	}
	if (strcasecmp(scheme, "smtp") != 0 && strcasecmp(scheme, "smtps") != 0) {
		st = pd_fail(e, PD_E_CONFIG, "smtp.url",
		             _("smtp.url scheme \"%s\" is not supported: use smtp:// or smtps://"),
		             scheme);
		goto out;
	}
	if (pd_curl_url_get(u, CURLUPART_PASSWORD, &password, 0) == CURLUE_OK && password) {
		st = pd_fail(e, PD_E_CONFIG, "smtp.url",
		             _("smtp.url must not contain a password: use smtp.username and "
		               "smtp.password_file"));
		goto out;
	}
	pd_curl_url_get(u, CURLUPART_PORT, &port, 0);
	*out =
	    port ? xasprintf("%s://%s:%s", scheme, host, port) : xasprintf("%s://%s", scheme, host);
out:
	pd_curl_free(scheme);
	pd_curl_free(host);
	pd_curl_free(port);
	pd_curl_free(password);
	pd_curl_url_cleanup(u);
	return st;
}

pd_status pd_smtp_opts_check(const pd_smtp_opts *o, pd_err *e)
{
	char *disp, *name, *addr;
	pd_status st = url_display(o->url, &disp, e);
	if (st != PD_OK)
		return st;
	free(disp);
	st = pd_mail_parse_from(o->from, &name, &addr, e);
	if (st != PD_OK)
		return st;
	free(name);
	free(addr);
	if (o->starttls < PD_STARTTLS_OFF || o->starttls > PD_STARTTLS_REQUIRED)
		return pd_fail(e, PD_E_CONFIG, "smtp.starttls",
		               _("smtp.starttls must be off, try or required"));
	return PD_OK;
}

/* ---- scrubbing ---- */

static void replace_all(char *msg, size_t cap, const char *needle, const char *with)
{
	size_t nl = strlen(needle), wl = strlen(with);
	if (!nl)
		return;
	char *p = msg;
	while ((p = strstr(p, needle))) {
		size_t tail = strlen(p + nl);
		size_t pos = (size_t)(p - msg);
		if (pos + wl + tail + 1 > cap)
			tail = cap > pos + wl + 1 ? cap - pos - wl - 1 : 0;
		if (pos + wl + 1 > cap) {
			*p = '\0';
			return;
		}
		memmove(p + wl, p + nl, tail);
		memcpy(p, with, wl);
		p[wl + tail] = '\0';
		p += wl;
	}
}

void pd_mail_scrub(char *msg, size_t cap, const char *username, const char *password)
{
	if (!password || !*password)
		return;
	replace_all(msg, cap, password, "********");
	/* buffers sized first (no block moved with the password in it) and
	 * wiped after */
	size_t room = (strlen(password) + (username ? strlen(username) : 0) + 3) * 2 + 16;
	pd_buf b = {0};
	pd_buf_reserve(&b, room);
	pd_mail_base64(&b, (const unsigned char *)password, strlen(password));
	if (b.s)
		replace_all(msg, cap, b.s, "********");
	pd_buf_wipe_free(&b);
	pd_buf_reserve(&b, room);
	/* AUTH PLAIN: base64("\0user\0password"). */
	pd_buf raw = {0};
	pd_buf_reserve(&raw, room);
	pd_buf_addc(&raw, '\0');
	pd_buf_add(&raw, username ? username : "");
	pd_buf_addc(&raw, '\0');
	pd_buf_add(&raw, password);
	pd_mail_base64(&b, (const unsigned char *)raw.s, raw.len);
	if (b.s)
		replace_all(msg, cap, b.s, "********");
	pd_buf_wipe_free(&b);
	pd_buf_wipe_free(&raw);
}

/* ---- the exchange ---- */

typedef struct {
	const char *data;
	size_t len, pos;
	pd_smtp_stage stage;
	bool quitting;      /* QUIT sent: its "221 Bye" is not the answer to show */
	curl_socket_t sock; /* to cut the link on cancel */
	char reply[320];    /* last complete server reply line */
	char partial[320];  /* incoming line not yet ended */
	const atomic_bool *cancel;
} exchange;

/* libcurl waits for the reply to the end of DATA inside one
 * curl_multi_perform call (its SMTP "done" phase blocks), so the loop below
 * cannot see the cancel flag then; the progress callback, which libcurl calls
 * about every second while it waits, can. */
static int progress_cb(void *userp, curl_off_t dlt, curl_off_t dln, curl_off_t ult, curl_off_t uln)
{
	(void)dlt, (void)dln, (void)ult, (void)uln;
	const exchange *x = userp;
	if (!x->cancel || !atomic_load(x->cancel))
		return 0;
	/* cut the link too: closing it would otherwise send QUIT and wait up
	 * to two minutes for the reply */
	if (x->sock != CURL_SOCKET_BAD)
		shutdown(x->sock, SHUT_RDWR);
	return 1;
}

static size_t read_cb(char *buf, size_t size, size_t nitems, void *userp)
{
	exchange *x = userp;
	size_t n = size * nitems, left = x->len - x->pos;
	if (n > left)
		n = left;
	memcpy(buf, x->data + x->pos, n);
	x->pos += n;
	return n;
}

static int sockopt_cb(void *userp, curl_socket_t fd, curlsocktype purpose)
{
	(void)purpose;
	((exchange *)userp)->sock = fd;
	return CURL_SOCKOPT_OK;
}

static int closesocket_cb(void *userp, curl_socket_t fd)
{
	exchange *x = userp;
	if (x->sock == fd)
		x->sock = CURL_SOCKET_BAD;
	return close(fd);
}

static void note_reply_line(exchange *x, const char *line, size_t n)
{
	if (x->quitting)
		return;
	while (n && (line[n - 1] == '\r' || line[n - 1] == '\n'))
		n--;
	if (n < 3 || line[0] < '2' || line[0] > '5')
		return;
	if (n >= sizeof x->reply)
		n = sizeof x->reply - 1;
	memcpy(x->reply, line, n);
	x->reply[n] = '\0';
	for (char *p = x->reply; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
}

static int debug_cb(CURL *h, curl_infotype type, char *data, size_t size, void *userp)
{
	(void)h;
	exchange *x = userp;
	if (type == CURLINFO_HEADER_IN) {
		/* Lines may arrive split or several at once. */
		size_t i = 0;
		while (i < size) {
			char *nl = memchr(data + i, '\n', size - i);
			size_t n = nl ? (size_t)(nl - (data + i)) + 1 : size - i;
			size_t have = strlen(x->partial);
			size_t take =
			    n < sizeof x->partial - 1 - have ? n : sizeof x->partial - 1 - have;
			memcpy(x->partial + have, data + i, take);
			x->partial[have + take] = '\0';
			if (nl) {
				note_reply_line(x, x->partial, strlen(x->partial));
				x->partial[0] = '\0';
			}
			i += n;
		}
	} else if (type == CURLINFO_HEADER_OUT) {
		if (size >= 4 && strncasecmp(data, "QUIT", 4) == 0)
			x->quitting = true;
		/* Only the verb: the rest of an AUTH line is a secret. */
		static const struct {
			const char *verb;
			pd_smtp_stage stage;
		} verbs[] = {
		    {"EHLO", PD_SMTP_STAGE_CONNECT},     {"HELO", PD_SMTP_STAGE_CONNECT},
		    {"STARTTLS", PD_SMTP_STAGE_CONNECT}, {"AUTH", PD_SMTP_STAGE_AUTH},
		    {"MAIL", PD_SMTP_STAGE_MAIL},        {"RCPT", PD_SMTP_STAGE_RCPT},
		    {"DATA", PD_SMTP_STAGE_DATA},
		};
		for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
			size_t vl = strlen(verbs[i].verb);
			if (size >= vl && strncasecmp(data, verbs[i].verb, vl) == 0 &&
			    (size == vl || data[vl] == ' ' || data[vl] == '\r')) {
				x->stage = verbs[i].stage;
				break;
			}
		}
	}
	return 0;
}

static const char *stage_what(pd_smtp_stage s)
{
	switch (s) {
	case PD_SMTP_STAGE_AUTH:
		return _("login");
	case PD_SMTP_STAGE_MAIL:
		return _("sender (MAIL FROM)");
	case PD_SMTP_STAGE_RCPT:
		return _("recipient");
	case PD_SMTP_STAGE_DATA:
		return _("message");
	default:
		return _("connection");
	}
}

/* Status and wording for a failed exchange. */
static pd_status classify(CURLcode rc, int code, bool cancelled, const exchange *x,
                          const char *errbuf, const char **field, char *what, size_t wcap)
{
	const char *stage = stage_what(x->stage);
	*field = NULL;
	if (cancelled) {
		snprintf(what, wcap, "%s", _("delivery interrupted (stopping)"));
		return PD_E_TEMPFAIL;
	}
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		snprintf(what, wcap, "%s", _("cannot resolve the server name"));
		return PD_E_UNAVAILABLE;
	case CURLE_COULDNT_CONNECT:
		pd_snprintf(what, wcap, _("cannot connect (%.200s)"),
		            errbuf[0] ? errbuf : _("refused"));
		return PD_E_UNAVAILABLE;
	case CURLE_OPERATION_TIMEDOUT:
		snprintf(what, wcap, _("timed out during the %s"), stage);
		return PD_E_TEMPFAIL;
	case CURLE_LOGIN_DENIED:
	case CURLE_AUTH_ERROR:
		*field = "smtp.username";
		snprintf(what, wcap, "%s", _("login refused"));
		return PD_E_AUTH;
	case CURLE_USE_SSL_FAILED:
		*field = "smtp.starttls";
		snprintf(what, wcap, "%s",
		         _("the server does not offer STARTTLS and smtp.starttls is required"));
		return PD_E_UNAVAILABLE;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
		pd_snprintf(what, wcap, _("TLS failed (%.200s)"),
		            errbuf[0] ? errbuf : pd_curl_easy_strerror(rc));
		return PD_E_UNAVAILABLE;
	default:
		break;
	}
	if (code == 530 || code == 534 || code == 535 || code == 538) {
		*field = "smtp.username";
		snprintf(what, wcap, _("%s refused: authentication required or refused"), stage);
		return PD_E_AUTH;
	}
	if (code >= 500 && code < 600) {
		if (x->stage == PD_SMTP_STAGE_CONNECT) {
			snprintf(what, wcap, "%s", _("the server refused the session"));
			return PD_E_UNAVAILABLE;
		}
		if (x->stage == PD_SMTP_STAGE_MAIL)
			*field = "smtp.from";
		else if (x->stage == PD_SMTP_STAGE_RCPT)
			*field = "to";
		snprintf(what, wcap, _("%s refused"), stage);
		return PD_E_INVALID;
	}
	if (code >= 400 && code < 500) {
		snprintf(what, wcap, _("%s temporarily refused"), stage);
		return PD_E_TEMPFAIL;
	}
	if (rc == CURLE_WEIRD_SERVER_REPLY || rc == CURLE_FTP_WEIRD_SERVER_REPLY) {
		snprintf(what, wcap, _("unexpected reply during the %s"), stage);
		return PD_E_PROTOCOL;
	}
	pd_snprintf(what, wcap, _("connection lost during the %s (%.200s)"), stage,
	            errbuf[0] ? errbuf : pd_curl_easy_strerror(rc));
	return PD_E_TEMPFAIL;
}

pd_status pd_smtp_send_msg(const pd_smtp_opts *o, const pd_mail_message *m, pd_smtp_result *res,
                           pd_err *e)
{
	pd_smtp_result dummy;
	if (!res)
		res = &dummy;
	res->stage = PD_SMTP_STAGE_NONE;
	res->smtp_code = 0;

	char *disp = NULL, *name = NULL, *addr = NULL, *text = NULL;
	pd_status st = url_display(o->url, &disp, e);
	if (st != PD_OK)
		return st;
	if ((st = pd_mail_parse_from(o->from, &name, &addr, e)) != PD_OK ||
	    (st = pd_mail_render(o->from, m, &text, e)) != PD_OK) {
		free(disp);
		free(name);
		free(addr);
		return st;
	}
	pthread_once(&curl_once, curl_init_once);

	exchange x = {.data = text,
	              .len = strlen(text),
	              .stage = PD_SMTP_STAGE_CONNECT,
	              .sock = CURL_SOCKET_BAD};
	char errbuf[CURL_ERROR_SIZE] = "";
	char *mail_from = xasprintf("<%s>", addr);
	char *rcpt_s = xasprintf("<%s>", m->to);
	struct curl_slist *rcpt = pd_curl_slist_append(NULL, rcpt_s);
	CURL *h = pd_curl_easy_init();
	CURLM *multi = pd_curl_multi_init();
	if (!h || !multi || !rcpt) {
		st = pd_fail(e, PD_E_INTERNAL, NULL, _("%s: cannot initialise libcurl"), disp);
		goto out;
	}
	pd_curl_easy_setopt(h, CURLOPT_URL, o->url);
	pd_curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	pd_curl_easy_setopt(h, CURLOPT_MAIL_FROM, mail_from);
	pd_curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
	pd_curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	pd_curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
	pd_curl_easy_setopt(h, CURLOPT_READDATA, &x);
	pd_curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)x.len);
	pd_curl_easy_setopt(h, CURLOPT_USE_SSL,
	                    o->starttls == PD_STARTTLS_REQUIRED ? (long)CURLUSESSL_ALL
	                    : o->starttls == PD_STARTTLS_TRY    ? (long)CURLUSESSL_TRY
	                                                        : (long)CURLUSESSL_NONE);
	if (o->username && *o->username) {
		pd_curl_easy_setopt(h, CURLOPT_USERNAME, o->username);
		pd_curl_easy_setopt(h, CURLOPT_PASSWORD, o->password ? o->password : "");
	}
	if (o->ca_file && *o->ca_file)
		pd_curl_easy_setopt(h, CURLOPT_CAINFO, o->ca_file);
	pd_curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
	                    o->connect_timeout_ms > 0 ? o->connect_timeout_ms
	                                              : DEFAULT_CONNECT_TIMEOUT_MS);
	pd_curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
	                    o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS);
	pd_curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	pd_curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	/* VERBOSE only feeds debug_cb; nothing is printed. */
	pd_curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
	pd_curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, debug_cb);
	pd_curl_easy_setopt(h, CURLOPT_DEBUGDATA, &x);
	x.cancel = o->cancel;
	pd_curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	pd_curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, progress_cb);
	pd_curl_easy_setopt(h, CURLOPT_XFERINFODATA, &x);
	pd_curl_easy_setopt(h, CURLOPT_SOCKOPTFUNCTION, sockopt_cb);
	pd_curl_easy_setopt(h, CURLOPT_SOCKOPTDATA, &x);
	pd_curl_easy_setopt(h, CURLOPT_CLOSESOCKETFUNCTION, closesocket_cb);
	pd_curl_easy_setopt(h, CURLOPT_CLOSESOCKETDATA, &x);
	pd_curl_multi_add_handle(multi, h);

	bool cancelled = false;
	int running = 1;
	while (running) {
		if (pd_curl_multi_perform(multi, &running) != CURLM_OK)
			break;
		if (!running)
			break;
		if (o->cancel && atomic_load(o->cancel)) {
			cancelled = true;
			/* Otherwise removing the handle sends QUIT and waits for the
			 * reply, up to the whole timeout. */
			if (x.sock != CURL_SOCKET_BAD)
				shutdown(x.sock, SHUT_RDWR);
			break;
		}
		pd_curl_multi_poll(multi, NULL, 0, CANCEL_POLL_MS, NULL);
	}
	CURLcode rc = CURLE_ABORTED_BY_CALLBACK;
	int left;
	CURLMsg *msg;
	while ((msg = pd_curl_multi_info_read(multi, &left)))
		if (msg->msg == CURLMSG_DONE && msg->easy_handle == h)
			rc = msg->data.result;
	/* stopped by progress_cb (inside curl_multi_perform) */
	if (rc == CURLE_ABORTED_BY_CALLBACK && o->cancel && atomic_load(o->cancel))
		cancelled = true;
	long code = 0;
	pd_curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	res->smtp_code = (int)code;
	if (!cancelled && rc == CURLE_OK) {
		st = PD_OK;
		goto out;
	}
	res->stage = x.stage;
	const char *field;
	char what[256];
	st = classify(rc, (int)code, cancelled, &x, errbuf, &field, what, sizeof what);
	if (x.reply[0] && code >= 400)
		pd_fail(e, st, field, "%s: %s: %s", disp, what, x.reply);
	else
		pd_fail(e, st, field, "%s: %s", disp, what);
	if (e)
		pd_mail_scrub(e->message, sizeof e->message, o->username, o->password);
out:
	if (multi && h)
		pd_curl_multi_remove_handle(multi, h);
	if (h)
		pd_curl_easy_cleanup(h);
	if (multi)
		pd_curl_multi_cleanup(multi);
	pd_curl_slist_free_all(rcpt);
	free(mail_from);
	free(rcpt_s);
	free(text);
	free(disp);
	free(name);
	free(addr);
	return st;
}

pd_status pd_smtp_send(const pd_smtp_opts *o, const char *to, const char *subject, const char *body,
                       pd_err *e)
{
	pd_mail_message m = {.to = to, .subject = subject, .body = body};
	return pd_smtp_send_msg(o, &m, NULL, e);
}

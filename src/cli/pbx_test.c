/* provdesk pbx test CUSTOMER: try each step and say exactly which failed:
 * name resolution, TCP connect, banner, authentication, permissions (exit
 * 69/76/77). */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli_internal.h"
#include "provdesk/ami.h"
#include "provdesk/live.h"
#include "provdesk/pbx_driver.h"
#include "provdesk/util.h"

static const char help_test[] =
    "Usage: provdesk pbx test CUSTOMER [--json]\n"
    "Tries name resolution, TCP connect, banner, authentication and permissions.\n";

/* Blocking, step by step, with timeouts. */
typedef struct {
	int fd;
	ami_tls *tls; /* when the connection uses TLS */
	ami_parser *p;
	bool banner;
	char banner_text[128];
	char want_id[32];
	bool got;
	char response[32], message[256];
} probe;

static void probe_msg(const ami_msg *m, void *ctx)
{
	probe *t = ctx;
	if (m->kind == AMI_MSG_BANNER) {
		t->banner = true;
		snprintf(t->banner_text, sizeof t->banner_text, "%s", m->text);
	} else if (m->kind == AMI_MSG_RESPONSE && !t->got) {
		const char *id = ami_get0(m, "ActionID");
		if (!strcmp(id, t->want_id)) {
			t->got = true;
			snprintf(t->response, sizeof t->response, "%s", ami_get0(m, "Response"));
			snprintf(t->message, sizeof t->message, "%s", ami_get0(m, "Message"));
		}
	}
}

/* Read until cond or timeout; false on timeout/EOF. */
static bool probe_wait(probe *t, bool *flag, int ms)
{
	int64_t until = pd_live_now_ms() + ms;
	char buf[8192];
	while (!*flag) {
		int64_t left = until - pd_live_now_ms();
		if (left <= 0)
			return false;
		struct pollfd pf = {.fd = t->fd,
		                    .events = ami_tls_wants_write(t->tls) ? POLLOUT : POLLIN};
		if (!ami_tls_pending(t->tls) && poll(&pf, 1, (int)left) <= 0)
			continue;
		ssize_t r = t->tls ? ami_tls_read(t->tls, buf, sizeof buf)
		                   : recv(t->fd, buf, sizeof buf, 0);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r <= 0)
			return false;
		ami_parser_feed(t->p, buf, (size_t)r);
	}
	return true;
}

static bool probe_action(probe *t, const char *action, const char *id, const char *k1,
                         const char *v1, const char *k2, const char *v2)
{
	pd_buf b = {0};
	ami_put(&b, "Action", action);
	ami_put(&b, "ActionID", id);
	if (k1)
		ami_put(&b, k1, v1);
	if (k2)
		ami_put(&b, k2, v2);
	if (!strcmp(action, "Login"))
		ami_put(&b, "Events", "off");
	ami_end(&b);
	snprintf(t->want_id, sizeof t->want_id, "%s", id);
	t->got = false;
	bool ok = true;
	for (size_t off = 0; ok && off < b.len;) {
		ssize_t w = t->tls ? ami_tls_write(t->tls, b.s + off, b.len - off)
		                   : send(t->fd, b.s + off, b.len - off, MSG_NOSIGNAL);
		if (w > 0) {
			off += (size_t)w;
			continue;
		}
		struct pollfd pf = {.fd = t->fd, .events = POLLOUT};
		if (t->tls && !ami_tls_wants_write(t->tls))
			pf.events = POLLIN;
		ok = w < 0 && (errno == EAGAIN || errno == EINTR) && poll(&pf, 1, 5000) > 0;
	}
	pd_buf_free(&b);
	return ok && probe_wait(t, &t->got, 5000);
}

typedef struct {
	pd_cli *c;
	json_t *steps;
} report;

static void step(report *r, const char *name, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void step(report *r, const char *name, bool ok, const char *fmt, ...)
{
	char detail[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	if (r->c->json) {
		json_t *o = json_object();
		json_object_set_new(o, "step", json_string(name));
		json_object_set_new(o, "ok", json_boolean(ok));
		json_object_set_new(o, "detail", json_string(detail));
		json_array_append_new(r->steps, o);
	} else {
		printf("%s %-16s %s\n", ok ? "ok  " : "FAIL", name, detail);
	}
}

static int run_test(pd_cli *c, const pd_pbx *p, report *r, const char **failed, pd_status *fst,
                    char *why, size_t whyn)
{
	*failed = NULL;
#define FAIL(stepname, status, ...)                                                                \
	do {                                                                                       \
		snprintf(why, whyn, __VA_ARGS__);                                                  \
		step(r, stepname, false, "%s", why);                                               \
		*failed = stepname;                                                                \
		*fst = status;                                                                     \
		goto out;                                                                          \
	} while (0)
	probe t = {.fd = -1};
	char ca_used[256] = "";
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
	char port[16];
	snprintf(port, sizeof port, "%d", p->port);
	if (strcmp(p->platform, "asterisk-ami") != 0)
		FAIL("platform", PD_E_UNAVAILABLE, "platform %s is not supported yet", p->platform);
	int rc = getaddrinfo(p->host, port, &hints, &ai);
	if (rc != 0)
		FAIL("name resolution", PD_E_UNAVAILABLE, "cannot resolve %s: %s", p->host,
		     gai_strerror(rc));
	char addr[NI_MAXHOST] = "";
	getnameinfo(ai->ai_addr, ai->ai_addrlen, addr, sizeof addr, NULL, 0, NI_NUMERICHOST);
	step(r, "name resolution", true, "%s -> %s", p->host, addr);
	int err = ECONNREFUSED;
	for (struct addrinfo *a = ai; a && t.fd < 0; a = a->ai_next) {
		int fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (connect(fd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
			err = errno;
			close(fd);
			continue;
		}
		struct pollfd pf = {.fd = fd, .events = POLLOUT};
		if (poll(&pf, 1, 5000) <= 0) {
			err = ETIMEDOUT;
			close(fd);
			continue;
		}
		socklen_t len = sizeof err;
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) {
			close(fd);
			continue;
		}
		t.fd = fd;
	}
	if (t.fd < 0)
		FAIL("TCP connect", PD_E_UNAVAILABLE, "%s:%d: %s", p->host, p->port, strerror(err));
	step(r, "TCP connect", true, "%s:%d", addr, p->port);
	if (p->tls) {
		/* read as the driver reads them: typed or as typed ("false") */
		bool verify = true;
		char *ca = NULL;
		pd_err te = {0};
		if (pd_param_bool(p->params_json, "tls_verify", true, &verify, &te) != PD_OK ||
		    pd_param_str(p->params_json, "tls_ca_file", &ca, &te) != PD_OK)
			FAIL("TLS", PD_E_CONFIG, "%.300s", te.message);
		snprintf(ca_used, sizeof ca_used, "%s", ca ? ca : "");
		pd_status ts = ami_tls_client_new(t.fd, p->host, verify, ca, &t.tls, &te);
		free(ca);
		if (ts != PD_OK)
			FAIL("TLS", PD_E_CONFIG, "%.300s", te.message);
		int64_t until = pd_live_now_ms() + 5000;
		int h;
		char hwhy[300];
		while ((h = ami_tls_handshake(t.tls, hwhy, sizeof hwhy)) == 0) {
			int64_t left = until - pd_live_now_ms();
			struct pollfd pf = {
			    .fd = t.fd, .events = ami_tls_wants_write(t.tls) ? POLLOUT : POLLIN};
			if (left <= 0 || poll(&pf, 1, (int)left) < 0) {
				snprintf(hwhy, sizeof hwhy,
				         "TLS: no handshake within 5 s (is this a TLS port?)");
				h = -1;
				break;
			}
		}
		if (h < 0)
			FAIL("TLS", PD_E_PROTOCOL, "%s", hwhy);
		step(r, "TLS", true, "handshake done, certificate %s%s%.200s",
		     verify ? "verified" : "not verified (tls_verify is false)",
		     verify && *ca_used ? " against " : "", verify ? ca_used : "");
	}
	t.p = ami_parser_new(&(ami_parser_opts){.expect_banner = true}, probe_msg, &t);
	if (!probe_wait(&t, &t.banner, 5000))
		FAIL("banner", PD_E_PROTOCOL, "no banner within 5 s (is this an AMI port?)");
	if (!strstr(t.banner_text, "Call Manager/"))
		FAIL("banner", PD_E_PROTOCOL, "unexpected banner \"%.60s\"", t.banner_text);
	step(r, "banner", true, "%s", t.banner_text);
	if (!probe_action(&t, "Login", "test-1", "Username", p->username ? p->username : "",
	                  "Secret", p->secret ? p->secret : ""))
		FAIL("authentication", PD_E_PROTOCOL, "no answer to Login (connection closed?)");
	if (strcasecmp(t.response, "Success") != 0)
		FAIL("authentication", PD_E_AUTH, "%s (user %s)",
		     t.message[0] ? t.message : t.response, p->username ? p->username : "");
	step(r, "authentication", true, "logged in as %s", p->username);
	/* an Asterisk 13-16 without chan_pjsip answers "Invalid/unknown command":
	 * users are then discovered with chan_sip's SIPpeers, so that is tried */
	const char *actions[] = {"PJSIPShowEndpoints", "QueueStatus", "CoreShowChannels"};
	pd_buf denied = {0};
	for (size_t i = 0; i < 3; i++) {
		char id[16];
		snprintf(id, sizeof id, "test-%zu", i + 2);
		if (!probe_action(&t, actions[i], id, NULL, NULL, NULL, NULL)) {
			pd_buf_free(&denied);
			FAIL("permissions", PD_E_PROTOCOL, "no answer to %s", actions[i]);
		}
		if (i == 0 && strcasestr(t.message, "Invalid/unknown command")) {
			actions[0] = "SIPpeers (chan_sip)";
			if (!probe_action(&t, "SIPpeers", "test-5", NULL, NULL, NULL, NULL)) {
				pd_buf_free(&denied);
				FAIL("permissions", PD_E_PROTOCOL, "no answer to SIPpeers");
			}
			if (strcasestr(t.message, "Invalid/unknown command")) {
				pd_buf_free(&denied);
				FAIL(
				    "permissions", PD_E_PROTOCOL,
				    "neither PJSIPShowEndpoints nor SIPpeers is known: no PJSIP or "
				    "SIP channel driver to discover users from");
			}
		}
		if (strcasestr(t.message, "Permission denied"))
			pd_buf_printf(&denied, "%s%s", denied.len ? ", " : "", actions[i]);
	}
	if (denied.len) {
		char list[200];
		snprintf(list, sizeof list, "%s", denied.s);
		pd_buf_free(&denied);
		FAIL("permissions", PD_E_AUTH,
		     "the AMI user may not run %s (needs read/write system,call,agent,reporting)",
		     list);
	}
	step(r, "permissions", true, "%s, %s, %s allowed", actions[0], actions[1], actions[2]);
	probe_action(&t, "Logoff", "test-9", NULL, NULL, NULL, NULL);
out:
	if (ai)
		freeaddrinfo(ai);
	ami_tls_free(t.tls);
	if (t.fd >= 0)
		close(t.fd);
	ami_parser_free(t.p);
	(void)c;
	return *failed ? 1 : 0;
#undef FAIL
}

int pd_cli_pbx_test_cmd(pd_cli *c, int argc, char **argv)
{
	const char *pos[1];
	int np = 0;
	int rc = pd_cli_parse(c, "pbx test", argc, argv, NULL, pos, 1, 1, &np, help_test);
	if (rc != PD_CLI_CONTINUE)
		return rc;
	pd_customer cu;
	pd_pbx p;
	if ((rc = pd_cli_pbx_load(c, pos[0], true, &cu, &p)) != PD_CLI_CONTINUE)
		return rc;
	report r = {c, json_array()};
	const char *failed;
	pd_status fst = PD_OK;
	char why[400] = "";
	run_test(c, &p, &r, &failed, &fst, why, sizeof why);
	if (failed) {
		pd_err e;
		pd_err_clear(&e);
		pd_fail(&e, fst, "pbx", "%s failed: %s", failed, why);
		if (c->json) {
			json_t *o = json_object();
			json_object_set_new(o, "ok", json_false());
			json_object_set_new(o, "failed_step", json_string(failed));
			json_object_set_new(o, "steps", r.steps);
			json_t *er = json_object();
			json_object_set_new(er, "code", json_string(pd_status_code(fst)));
			json_object_set_new(er, "field", json_string("pbx"));
			json_object_set_new(er, "message", json_string(e.message));
			json_object_set_new(o, "error", er);
			pd_cli_print_json(c, o);
			pd_cli_json_error(fst, "pbx", 0, e.message, false);
			rc = pd_status_exit_code(fst);
		} else {
			json_decref(r.steps);
			rc = pd_cli_fail(c, &e);
		}
	} else {
		if (c->json) {
			json_t *o = json_object();
			json_object_set_new(o, "ok", json_true());
			json_object_set_new(o, "steps", r.steps);
			pd_cli_print_json(c, o);
		} else {
			json_decref(r.steps);
			printf("All checks passed.\n");
		}
		rc = 0;
	}
	pd_customer_free(&cu);
	if (p.secret)
		memset(p.secret, 0, strlen(p.secret));
	pd_pbx_free(&p);
	return rc;
}

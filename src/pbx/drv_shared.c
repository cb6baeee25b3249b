/* What every driver shares (include/provdesk/pbx_driver.h, "what every
 * driver shares"; docs/architecture.md, "PBX layer"): the start of create,
 * the transport's steps of a `test` op, the model caps and counters, and
 * the sync of a discovered directory. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provdesk/catalogue.h"
#include "provdesk/i18n.h"
#include "provdesk/pbx_driver.h"
#include "provdesk/pbx_transport.h"
#include "provdesk/util.h"

/* ---- create ---- */

pd_status pd_drv_check(const pd_drv_conf *c, pd_drv_params *p, pd_err *e)
{
	memset(p, 0, sizeof *p);
	if (!c->host || !*c->host)
		return pd_fail(e, PD_E_INVALID, "host", _("the PBX host is empty"));
	if (c->port <= 0 || c->port > 65535)
		return pd_fail(e, PD_E_INVALID, "port", _("port %d is not between 1 and 65535"),
		               c->port);
	/* The core stores these typed (true, 5) but a row may hold what a person
	 * typed ("false", "5"): both are read alike. A value that is neither is
	 * refused naming the field rather than guessed (tls_verify would then
	 * silently verify, or not). Bounds as in the catalogue's wrapup_time. */
	long long wrapup;
	pd_status st;
	if ((st = pd_param_bool(c->params_json, "tls_verify", true, &p->tls_verify, e)) != PD_OK ||
	    (st = pd_param_int(c->params_json, "wrapup_time", 0, 3600, 0, &wrapup, e)) != PD_OK ||
	    (st = pd_param_str(c->params_json, "tls_ca_file", &p->tls_ca_file, e)) != PD_OK) {
		pd_drv_params_free(p);
		return st;
	}
	p->wrapup_s = (int)wrapup;
	return PD_OK;
}

void pd_drv_params_free(pd_drv_params *p)
{
	free(p->tls_ca_file);
	p->tls_ca_file = NULL;
}

void pd_drv_conf_copy(const pd_drv_conf *c, pd_drv_conf *copy, pd_masked *secret)
{
	*copy = *c;
	copy->host = xstrdup(c->host);
	copy->username = xstrdup(c->username ? c->username : "");
	copy->secret =
	    NULL; /* kept masked in *secret (docs/architecture.md, "Secrets in memory") */
	pd_masked_set(secret, c->secret);
	copy->params_json = xstrdup(c->params_json);
}

static void backoff_of(pd_backoff *bo, const pd_drv_conf *c)
{
	pd_backoff_init(bo, c->backoff_min_ms,
	                (int64_t)(c->backoff_max_s > 0 ? c->backoff_max_s : 60) * 1000, 0);
}

pd_status pd_drv_setup(const pd_drv_conf *c, const pd_tport_cb *cb, int step_timeout_ms,
                       pd_drv_conf *copy, pd_masked *secret, pd_tport **t, pd_backoff *bo,
                       int *wrapup_s, pd_err *e)
{
	pd_drv_params p;
	pd_status st = pd_drv_check(c, &p, e);
	if (st != PD_OK)
		return st;
	*t = pd_tport_new(&(pd_tport_conf){.host = c->host,
	                                   .port = c->port,
	                                   .tls = c->tls,
	                                   .tls_verify = p.tls_verify,
	                                   .tls_ca_file = p.tls_ca_file,
	                                   .step_timeout_ms = step_timeout_ms},
	                  cb);
	pd_drv_params_free(&p);
	backoff_of(bo, c);
	pd_drv_conf_copy(c, copy, secret);
	*wrapup_s = p.wrapup_s;
	return PD_OK;
}

void pd_drv_conf_free(pd_drv_conf *c, pd_masked *secret)
{
	free((char *)c->host);
	free((char *)c->username);
	free((char *)c->params_json);
	c->host = c->username = c->params_json = NULL;
	pd_masked_clear(secret);
}

void pd_drv_scrub(const pd_masked *secret, char *s)
{
	if (secret->len < 3)
		return; /* masking 1-2 chars would garble ordinary words */
	char *sec = pd_masked_reveal(secret);
	char *hit;
	while ((hit = strstr(s, sec)))
		memset(hit, '*', secret->len);
	pd_secret_free(sec);
}

/* ---- the link ---- */

pd_status pd_drv_link_init(pd_drv_link *l, const pd_drv_conf *c, const pd_drv_host *h,
                           const pd_tport_cb *cb, int step_timeout_ms, int *wrapup_s, pd_err *e)
{
	memset(l, 0, sizeof *l);
	pd_status st;
	if (cb) {
		st = pd_drv_setup(c, cb, step_timeout_ms, &l->c, &l->secret, &l->t, &l->bo,
		                  wrapup_s, e);
	} else {
		pd_drv_params p;
		st = pd_drv_check(c, &p, e);
		if (st == PD_OK) {
			pd_drv_params_free(&p);
			backoff_of(&l->bo, c);
			pd_drv_conf_copy(c, &l->c, &l->secret);
			*wrapup_s = p.wrapup_s;
		}
	}
	if (st != PD_OK)
		return st;
	l->h = *h;
	return PD_OK;
}

void pd_drv_link_free(pd_drv_link *l)
{
	pd_tport_free(l->t);
	l->t = NULL;
	free(l->fail);
	l->fail = NULL;
	free(l->sync_note);
	l->sync_note = NULL;
	free(l->warning);
	l->warning = NULL;
	pd_drv_conf_free(&l->c, &l->secret);
}

void pd_drv_link_set(pd_drv_link *l, pd_link_state st, const char *err)
{
	if (st == l->published && st == PD_LINK_DISCOVERING && l->pub_done == l->done &&
	    l->pub_total == l->total)
		return;
	l->published = st;
	l->pub_done = l->done;
	l->pub_total = l->total;
	/* pd_live first: a host's link_changed may read the error there (the
	 * wizard's discovery shows the driver's own reason) */
	pd_live_set_link(l->h.live, l->c.customer_id, st, l->pub_done, l->pub_total, l->retry_at,
	                 err);
	if (l->h.link_changed) {
		char text[256];
		pd_live_status_text(st, l->pub_done, l->pub_total, l->retry_at, err, l->now, text,
		                    sizeof text);
		l->h.link_changed(l->h.ctx, l->c.customer_id, st, text);
	}
}

void pd_drv_link_state(pd_drv_link *l, pd_link_state st)
{
	pd_drv_link_set(l, st,
	                st == PD_LINK_MONITORING ? (l->warning ? l->warning : "") : l->last_error);
}

void pd_drv_link_warning(pd_drv_link *l, bool monitoring, const char *other, const char *bad)
{
	pd_buf w = {0};
	pd_msg_list_add(&w, l->sync_note);
	pd_model_input_warning(&w, &l->input, &l->c, other, bad);
	bool same = w.len ? l->warning && !strcmp(l->warning, w.s) : !l->warning;
	if (!same) {
		free(l->warning);
		l->warning = w.len ? xstrdup(w.s) : NULL;
	}
	pd_buf_free(&w);
	if (!same && monitoring) {
		l->published = (pd_link_state)-1; /* the text changed: say it */
		pd_drv_link_state(l, PD_LINK_MONITORING);
	}
}

void pd_drv_publish_now(pd_drv_link *l)
{
	if (!l->dirty)
		return;
	l->dirty = false;
	l->published_at = l->now;
	pd_live_view v = {0};
	l->view(l->drv, l->now, &v);
	v.input = l->input;
	pd_live_publish(l->h.live, l->c.customer_id, &v);
}

void pd_drv_publish(pd_drv_link *l, int64_t gap_ms)
{
	if (l->dirty && l->now - l->published_at >= gap_ms)
		pd_drv_publish_now(l);
}

bool pd_drv_link_sync(pd_drv_link *l, const pd_synced_user *u, size_t n, size_t refused)
{
	char why[200] = "";
	pd_sync_result r;
	pd_drv_sync_outcome o = pd_drv_sync_users(&l->c, &l->h, u, n, refused, &r, why, sizeof why);
	if (o == PD_DRV_SYNC_OFF)
		return false;
	if (o == PD_DRV_SYNC_DONE) {
		l->last = r;
		l->have_last = true;
	} else if (o == PD_DRV_SYNC_FAILED) {
		pd_utf8_copy(l->last_error, sizeof l->last_error, why, strlen(why));
	}
	return pd_drv_link_note(l, why);
}

bool pd_drv_link_note(pd_drv_link *l, const char *why)
{
	if (!why || !*why)
		why = NULL;
	if (why && l->sync_note ? !strcmp(why, l->sync_note) : why == l->sync_note)
		return false;
	free(l->sync_note);
	l->sync_note = why ? xstrdup(why) : NULL;
	return true;
}

/* Field by field: the struct's padding is not part of its value. */
static bool same_input(const pd_live_input *a, const pd_live_input *b)
{
	return a->dropped_calls == b->dropped_calls && a->dropped_channels == b->dropped_channels &&
	       a->aged_out == b->aged_out && a->stale_channels == b->stale_channels &&
	       a->bad_fields == b->bad_fields && a->dropped_other == b->dropped_other &&
	       a->calls == b->calls && a->channels == b->channels && a->capped == b->capped;
}

int pd_drv_link_input(pd_drv_link *l, const pd_live_input *in, bool force)
{
	if (same_input(in, &l->input)) {
		l->input_pending = false;
		return 0;
	}
	if (!force && l->now - l->input_at < PD_DRV_INPUT_MS) {
		l->input_pending = true;
		return 0;
	}
	l->input_pending = false;
	l->input_at = l->now;
	bool words = in->dropped_calls != l->input.dropped_calls ||
	             in->dropped_channels != l->input.dropped_channels ||
	             in->aged_out != l->input.aged_out || in->bad_fields != l->input.bad_fields ||
	             in->dropped_other != l->input.dropped_other || in->capped != l->input.capped;
	l->input = *in;
	l->dirty = true;
	return words ? PD_DRV_INPUT_WORDS : PD_DRV_INPUT_COUNTS;
}

int64_t pd_drv_publish_gap(bool monitoring, size_t items)
{
	if (!monitoring) { /* discovery: 50 ms, 1 ms per 50 items beyond 2,500 */
		int64_t d = (int64_t)(items / 50);
		return d > PD_DRV_PUBLISH_MS ? d : PD_DRV_PUBLISH_MS;
	}
	int64_t g = (int64_t)(items / 500);
	return g > PD_DRV_PUBLISH_MS ? PD_DRV_PUBLISH_MS : g;
}

int64_t pd_drv_link_deadline(const pd_drv_link *l, int64_t t, int64_t gap_ms, bool waiting)
{
	if (l->input_pending && l->input_at + PD_DRV_INPUT_MS < t)
		t = l->input_at + PD_DRV_INPUT_MS;
	if (l->dirty && l->published_at + gap_ms < t)
		t = l->published_at + gap_ms;
	if (waiting && !l->auth_failed && l->retry_at < t)
		t = l->retry_at;
	return t;
}

void pd_drv_link_attempt(pd_drv_link *l)
{
	l->auth_failed = false;
	l->published = (pd_link_state)-1;
}

bool pd_drv_link_retry_due(const pd_drv_link *l, int64_t now)
{
	return !l->auth_failed && now >= l->retry_at;
}

void pd_drv_link_tport_failed(pd_drv_link *l, pd_tport_fail what, const char *why, bool logging_in)
{
	pd_drv_set_fail(l, PD_LINK_RETRYING,
	                what == PD_TPORT_E_EOF && logging_in ? N_("%s during login") : "%s", why);
	pd_drv_settle(l);
}

void pd_drv_set_fail(pd_drv_link *l, pd_link_state as, const char *msgid, ...)
{
	if (l->fail)
		return;
	char buf[400];
	va_list ap;
	va_start(ap, msgid);
	pd_vmsg(buf, sizeof buf, msgid, ap);
	va_end(ap);
	l->fail_as = as;
	l->fail = xstrdup(buf);
}

void pd_drv_settle(pd_drv_link *l)
{
	if (!l->fail)
		return;
	char *f = l->fail;
	pd_link_state as = l->fail_as;
	l->fail = NULL;
	l->fail_as = PD_LINK_RETRYING;
	pd_drv_link_down(
	    l, f,
	    as == PD_LINK_AUTH_FAILED || as == PD_LINK_PROTOCOL_ERROR ? as : PD_LINK_RETRYING);
	free(f);
}

void pd_drv_link_down_msg(pd_drv_link *l, pd_link_state st, const char *msgid, ...)
{
	char why[400];
	va_list ap;
	va_start(ap, msgid);
	pd_vmsg(why, sizeof why, msgid, ap);
	va_end(ap);
	pd_drv_link_down(l, why, st);
}

void pd_drv_link_down(pd_drv_link *l, const char *why, pd_link_state st)
{
	l->stop(l->drv);
	pd_utf8_copy(l->last_error, sizeof l->last_error, why, strlen(why));
	pd_drv_scrub(&l->secret, l->last_error);
	l->wait_state = st;
	l->dirty = true;
	if (st == PD_LINK_AUTH_FAILED) {
		/* no retries follow: calls and agents are unknown until the
		 * connection is edited, so they are cleared rather than left as
		 * the last link (or the driver this one replaced) saw them */
		l->auth_failed = true;
		l->retry_at = 0;
		pd_drv_publish_now(l);
		pd_drv_link_set(l, st, l->last_error);
		return;
	}
	/* capped, doubling, jittered so many links do not redial in step */
	l->retry_at = l->now + pd_backoff_next(&l->bo);
	/* calls/agents are unknown while the link is down; users stay. The
	 * state goes first: pd_live then keeps the last full view, marked
	 * stale, and holds this reduced one back until the link is up again */
	pd_drv_link_set(l, st, l->last_error);
	pd_drv_publish_now(l);
}

int pd_drv_link_pollfds(void *drv, struct pollfd *p, int max)
{
	return pd_tport_pollfds(((pd_drv_link *)drv)->t, p, max);
}

void pd_drv_link_on_io(void *drv, const struct pollfd *p, int n, int64_t now_ms)
{
	pd_drv_link *l = drv;
	l->now = now_ms;
	for (int i = 0; i < n; i++) {
		if (!p[i].revents)
			continue;
		pd_tport_on_io(l->t, &p[i], now_ms);
		l->after_io(l->drv);
	}
}

bool pd_drv_link_last_sync(void *drv, pd_sync_result *res)
{
	const pd_drv_link *l = drv;
	if (l->have_last)
		*res = l->last;
	return l->have_last;
}

/* ---- model caps and counters ---- */

pd_model_limits pd_model_limits_fill(const pd_model_limits *l)
{
	pd_model_limits r = l ? *l : (pd_model_limits){0};
	if (!r.max_calls)
		r.max_calls = PD_MODEL_DEFAULT_MAX_CALLS;
	if (!r.max_channels)
		r.max_channels = PD_MODEL_DEFAULT_MAX_CHANNELS;
	if (r.max_call_age_ms <= 0)
		r.max_call_age_ms = PD_MODEL_DEFAULT_MAX_CALL_AGE_MS;
	if (!r.max_users)
		r.max_users = PD_MODEL_DEFAULT_MAX_USERS;
	return r;
}

pd_model_limits pd_model_limits_of(const pd_drv_conf *c)
{
	return (pd_model_limits){.max_calls = (size_t)(c->max_calls > 0 ? c->max_calls : 0),
	                         .max_channels =
	                             (size_t)(c->max_channels > 0 ? c->max_channels : 0),
	                         .max_call_age_ms = c->max_call_age_ms,
	                         .max_users = (size_t)(c->max_users > 0 ? c->max_users : 0)};
}

pd_live_input pd_model_input(const pd_model_stats *ms, uint64_t parser_bad_fields)
{
	return (pd_live_input){
	    .dropped_calls = ms->dropped_calls,
	    .dropped_channels = ms->dropped_channels,
	    .aged_out = ms->aged_out,
	    .stale_channels = ms->stale_channels,
	    .bad_fields = ms->bad_fields + parser_bad_fields,
	    .dropped_other = ms->dropped_other,
	    .calls = (int64_t)ms->calls,
	    .channels = (int64_t)ms->channels,
	    .capped = ms->calls_full || ms->channels_full,
	};
}

void pd_model_input_warning(pd_buf *w, const pd_live_input *in, const pd_drv_conf *c,
                            const char *other, const char *bad)
{
	char m[300];
	if (in->dropped_calls || in->dropped_channels) {
		pd_msg(m, sizeof m,
		       N_("%s: %llu calls, %llu channels dropped (max_calls_per_link %d, "
		          "max_channels_per_link %d)"),
		       pd_msg_word(in->capped ? N_("input capped") : N_("input was capped")),
		       (unsigned long long)in->dropped_calls,
		       (unsigned long long)in->dropped_channels,
		       c->max_calls > 0 ? c->max_calls : PD_MODEL_DEFAULT_MAX_CALLS,
		       c->max_channels > 0 ? c->max_channels : PD_MODEL_DEFAULT_MAX_CHANNELS);
		pd_msg_list_add(w, m);
	}
	if (in->dropped_other) {
		pd_msg(m, sizeof m, N_("%llu %s dropped"), (unsigned long long)in->dropped_other,
		       pd_msg_word(other));
		pd_msg_list_add(w, m);
	}
	if (in->bad_fields) {
		pd_msg(m, sizeof m, "%llu %s", (unsigned long long)in->bad_fields,
		       pd_msg_word(bad));
		pd_msg_list_add(w, m);
	}
	if (in->aged_out) {
		pd_msg(m, sizeof m, N_("%llu calls aged out"), (unsigned long long)in->aged_out);
		pd_msg_list_add(w, m);
	}
}

/* ---- the sync ---- */

pd_drv_sync_outcome pd_drv_sync_users(const pd_drv_conf *c, const pd_drv_host *h,
                                      const pd_synced_user *u, size_t n, size_t refused,
                                      pd_sync_result *res, char *why, size_t whyn)
{
	if (!c->sync_users || !h->sync_users)
		return PD_DRV_SYNC_OFF;
	if (refused) {
		/* a directory cut short would read as users removed */
		pd_msg(why, whyn,
		       N_("not synced: the PBX lists more than %zu users (max_users_per_link); %zu "
		          "more refused"),
		       n, refused);
		return PD_DRV_SYNC_REFUSED;
	}
	pd_err e = {0};
	pd_sync_result r = {0};
	if (h->sync_users(h->ctx, c->customer_id, u, n, c->auto_provision, &r, &e) != PD_OK) {
		pd_msg(why, whyn, N_("sync not saved: %.150s"), e.message);
		return PD_DRV_SYNC_FAILED;
	}
	*res = r;
	if (whyn)
		why[0] = '\0';
	return PD_DRV_SYNC_DONE;
}

/* ---- a test op's transport steps ---- */

void pd_drv_probe_step(pd_drv_probe *pr, const char *name, bool ok, const char *fmt, ...)
{
	pd_drv_test_result *r = pr->out;
	if (r->n_steps >= PD_DRV_TEST_MAX_STEPS)
		return;
	pd_drv_test_step *s = &r->steps[r->n_steps];
	snprintf(s->name, sizeof s->name, "%s", name);
	s->ok = ok;
	char raw[sizeof s->detail];
	va_list ap;
	va_start(ap, fmt);
	pd_vsnprintf(raw, sizeof raw, fmt, ap);
	va_end(ap);
	/* it may quote the PBX (a banner, a refusal): shown on terminals and
	 * sent as JSON, so unsafe bytes become visible escapes, whole code
	 * points kept */
	pd_buf b = {0};
	pd_term_escape(&b, raw, strlen(raw), false);
	pd_utf8_copy(s->detail, sizeof s->detail, b.s, b.len);
	pd_buf_free(&b);
	if (!ok && r->failed < 0)
		r->failed = r->n_steps;
	r->n_steps++;
}

pd_status pd_drv_probe_fail(pd_drv_probe *pr, pd_status st, const char *name, const char *fmt, ...)
{
	snprintf(pr->step, sizeof pr->step, "%s", name);
	char detail[sizeof pr->out->steps[0].detail];
	va_list ap;
	va_start(ap, fmt);
	pd_vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	pd_drv_probe_step(pr, name, false, "%s", detail);
	return st;
}

static void tp_open(void *ctx)
{
	((pd_drv_probe *)ctx)->opened = true;
}

static bool tp_data(void *ctx, char *buf, size_t n)
{
	pd_drv_probe *pr = ctx;
	pr->on_data(pr->ctx, buf, n);
	return true;
}

static void tp_fail(void *ctx, pd_tport_fail what, const char *why)
{
	pd_drv_probe *pr = ctx;
	pr->failed = true;
	pr->what = what;
	pd_msg_text(why, pr->why, sizeof pr->why); /* the probe's reader is this process */
}

bool pd_drv_probe_wait(pd_drv_probe *pr, const bool *flag)
{
	int64_t until = pd_live_now_ms() + pr->step_ms;
	if (until > pr->give_up)
		until = pr->give_up;
	for (;;) {
		if (*flag)
			return true;
		int64_t now = pd_live_now_ms();
		if (pr->failed || (pr->stop && pr->stop(pr->ctx)) || now >= until)
			return false;
		pd_tport_step(pr->t, (int)(until - now));
	}
}

void pd_drv_probe_send(pd_drv_probe *pr, pd_buf *b)
{
	pd_tport_send(pr->t, b->s, b->len);
	if (b->s)
		memset(b->s, 0, b->len); /* it may hold the secret */
	pd_buf_free(b);
	pd_tport_flush(pr->t);
}

/* The transport did not open: which step, and what kind of failure. */
static pd_status open_failed(pd_drv_probe *pr)
{
	const pd_drv_conf *c = pr->c;
	char addr[64];
	pd_tport_peer(pr->t, addr, sizeof addr);
	pd_tport_phase ph = pr->failed ? pd_tport_failed_phase(pr->t) : pd_tport_get_phase(pr->t);
	if (!pr->failed) /* the overall limit came first */
		snprintf(pr->why, sizeof pr->why, _("timed out during %s"),
		         pd_tport_phase_name(ph));
	if (ph == PD_TPORT_RESOLVING)
		return pd_drv_probe_fail(pr, PD_E_UNAVAILABLE, N_("name resolution"), "%s",
		                         pr->why);
	pd_drv_probe_step(pr, N_("name resolution"), true, "%s -> %s", c->host, addr);
	if (ph == PD_TPORT_CONNECTING) {
		if (pr->failed && pr->what == PD_TPORT_E_CONNECT)
			return pd_drv_probe_fail(pr, PD_E_UNAVAILABLE, N_("TCP connect"),
			                         "%s:%d: %s", c->host, c->port,
			                         strerror(pd_tport_errno(pr->t)));
		return pd_drv_probe_fail(pr, PD_E_UNAVAILABLE, N_("TCP connect"), "%s", pr->why);
	}
	pd_drv_probe_step(pr, N_("TCP connect"), true, "%s:%d", addr, c->port);
	if (pr->failed && pr->what == PD_TPORT_E_SETUP)
		return pd_drv_probe_fail(pr, PD_E_CONFIG, "TLS", "%s", pr->why);
	if (!pr->failed || pr->what == PD_TPORT_E_TIMEOUT)
		return pd_drv_probe_fail(pr, PD_E_PROTOCOL, "TLS",
		                         _("TLS: no handshake within %d s (is this a TLS port?)"),
		                         pr->step_ms / 1000);
	return pd_drv_probe_fail(pr, PD_E_PROTOCOL, "TLS", "%s", pr->why);
}

pd_status pd_drv_probe_begin(pd_drv_probe *pr, const pd_drv_conf *c, int timeout_ms, int step_ms,
                             pd_drv_test_result *out)
{
	memset(out, 0, sizeof *out);
	out->failed = -1;
	pr->out = out;
	pr->c = c;
	pr->step_ms = step_ms;
	/* read as the drivers read them: typed or as typed ("false") */
	pr->verify = true;
	pd_err pe = {0};
	if (pd_param_bool(c->params_json, "tls_verify", true, &pr->verify, &pe) != PD_OK ||
	    pd_param_str(c->params_json, "tls_ca_file", &pr->ca, &pe) != PD_OK)
		return pd_drv_probe_fail(pr, PD_E_CONFIG, N_("parameters"), "%.390s", pe.message);
	pr->give_up = pd_live_now_ms() + (timeout_ms > 0 ? timeout_ms : 30000);
	return PD_OK;
}

pd_status pd_drv_probe_open(pd_drv_probe *pr, const pd_drv_conf *c, int timeout_ms, int step_ms,
                            pd_drv_test_result *out)
{
	pd_status st = pd_drv_probe_begin(pr, c, timeout_ms, step_ms, out);
	if (st != PD_OK)
		return st;
	pr->t = pd_tport_new(
	    &(pd_tport_conf){.host = c->host,
	                     .port = c->port,
	                     .tls = c->tls,
	                     .tls_verify = pr->verify,
	                     .tls_ca_file = pr->ca,
	                     .step_timeout_ms = step_ms},
	    &(pd_tport_cb){.ctx = pr, .on_open = tp_open, .on_data = tp_data, .on_fail = tp_fail});
	pd_tport_open(pr->t, pd_live_now_ms());
	if (!pd_drv_probe_wait(pr, &pr->opened))
		return open_failed(pr);
	char addr[64];
	pd_tport_peer(pr->t, addr, sizeof addr);
	pd_drv_probe_step(pr, N_("name resolution"), true, "%s -> %s", c->host, addr);
	pd_drv_probe_step(pr, N_("TCP connect"), true, "%s:%d", addr, c->port);
	if (c->tls)
		pd_drv_probe_step(
		    pr, "TLS", true, _("handshake done, certificate %s%s%.200s"),
		    pr->verify ? _("verified") : _("not verified (tls_verify is false)"),
		    pr->verify && pr->ca ? _(" against ") : "", pr->verify && pr->ca ? pr->ca : "");
	return PD_OK;
}

pd_status pd_drv_probe_end(pd_drv_probe *pr, pd_status st, pd_err *e)
{
	pd_tport_free(pr->t);
	pr->t = NULL;
	free(pr->ca);
	pr->ca = NULL;
	if (st == PD_OK)
		return PD_OK;
	const pd_drv_test_result *r = pr->out;
	return pd_fail(e, st, "pbx", _("%s failed: %s"), _(pr->step),
	               r->failed >= 0 ? r->steps[r->failed].detail : "");
}

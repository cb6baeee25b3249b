/* Step 4's "discover the PBX users" (F9): before the customer exists, run the
 * platform's own driver once against the connection typed in step 3, in a
 * short-lived thread (pd_drv_run, the one driver loop), until its first user
 * discovery (or an error, or 10 s). It writes nothing: the real sync is the
 * monitor's, after creation. The thread never touches curses; it wakes the
 * UI loop through ui_app_wake and the wizard collects the result in on_data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provdesk/config.h"
#include "provdesk/pbx_driver.h"
#include "wizard_internal.h"

#define PROBE_TIMEOUT_MS 10000

struct wiz_probe {
	struct ui_app *app;
	const pd_driver_ops *ops;
	pd_pbx pbx; /* our copy: the thread reads it */
	pthread_t th;
	pthread_mutex_t mu;
	bool cancel, done, got;
	char error[256];
	pd_synced_user *users;
	size_t n;
	pd_live *live; /* the thread's own: the driver's last error, for on_link */
};

static void users_free(pd_synced_user *u, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free((char *)u[i].endpoint);
		free((char *)u[i].display_name);
		free((char *)u[i].email);
		free((char *)u[i].sub_account);
		free((char *)u[i].device_state);
	}
	free(u);
}

static pd_status on_sync(void *ctx, int64_t customer_id, const pd_synced_user *u, size_t n,
                         bool auto_provision, pd_sync_result *res, pd_err *e)
{
	struct wiz_probe *pr = ctx;
	(void)customer_id;
	(void)auto_provision;
	(void)e;
	pd_synced_user *copy = xcalloc(n ? n : 1, sizeof *copy);
	for (size_t i = 0; i < n; i++) {
		copy[i].endpoint = xstrdup(u[i].endpoint);
		copy[i].display_name = xstrdup(u[i].display_name);
		copy[i].email = xstrdup(u[i].email);
		copy[i].sub_account = xstrdup(u[i].sub_account);
	}
	pthread_mutex_lock(&pr->mu);
	users_free(pr->users, pr->n);
	pr->users = copy;
	pr->n = n;
	pr->got = true;
	pthread_mutex_unlock(&pr->mu);
	memset(res, 0, sizeof *res);
	res->added = (int)n;
	return PD_OK;
}

static void on_link(void *ctx, int64_t customer_id, pd_link_state st, const char *text)
{
	struct wiz_probe *pr = ctx;
	(void)customer_id;
	if (st != PD_LINK_AUTH_FAILED && !pd_link_state_retries(st))
		return;
	/* the driver's own reason ("the directory answered 404: no such
	 * enterprise…"), not the monitor's "retrying in 2s (…)": the discovery
	 * stops at the first failure, nothing retries */
	pd_live_view v = {0};
	bool own = pr->live && pd_live_snapshot(pr->live, 0, &v) == PD_OK && v.last_error[0];
	char e[256];
	const char *why = own ? pd_msg_text(v.last_error, e, sizeof e) : text;
	pthread_mutex_lock(&pr->mu);
	/* a platform without a user name (FreeSWITCH: a password only) */
	const char *refused = pr->pbx.username && *pr->pbx.username
	                          ? _("the PBX refused the user name or secret")
	                          : _("the PBX refused the password");
	if (!pr->error[0])
		pd_utf8_copys(pr->error, sizeof pr->error,
		              st == PD_LINK_AUTH_FAILED ? refused
		              : why && *why             ? why
		                                        : _("cannot reach the PBX"));
	pthread_mutex_unlock(&pr->mu);
	pd_live_free_view(&v);
}

static bool finished(void *ctx)
{
	struct wiz_probe *pr = ctx;
	pthread_mutex_lock(&pr->mu);
	bool f = pr->cancel || pr->got || pr->error[0];
	pthread_mutex_unlock(&pr->mu);
	return f;
}

static void *probe_main(void *arg)
{
	struct wiz_probe *pr = arg;
	pd_thread_name("pd-wiz-probe");
	pd_live *live = pd_live_new();
	pr->live = live;
	pd_drv_conf c = {
	    .customer_id = 0,
	    .host = pr->pbx.host,
	    .port = pr->pbx.port,
	    .tls = pr->pbx.tls,
	    .username = pr->pbx.username,
	    .secret = pr->pbx.secret,
	    .params_json = pr->pbx.params_json,
	    .sync_users = true,
	    .monitor = false,
	    .ping_interval_s = PD_PBX_PING_INTERVAL_DEFAULT,
	    .backoff_max_s = 5,
	};
	pd_drv_host h = {.ctx = pr, .live = live, .sync_users = on_sync, .link_changed = on_link};
	void *d = NULL;
	pd_err e = {0};
	if (pr->ops->create(&c, &h, &d, &e) != PD_OK) {
		pthread_mutex_lock(&pr->mu);
		pd_snprintf(pr->error, sizeof pr->error, "%.250s", e.message);
		pthread_mutex_unlock(&pr->mu);
	} else {
		/* turns of at most 100 ms: also how soon a cancel is seen */
		if (!pd_drv_run(pr->ops, d, pd_live_now_ms() + PROBE_TIMEOUT_MS, 100, finished,
		                pr)) {
			pthread_mutex_lock(&pr->mu);
			pd_snprintf(pr->error, sizeof pr->error,
			            _("no user list from the PBX within %d s"),
			            PROBE_TIMEOUT_MS / 1000);
			pthread_mutex_unlock(&pr->mu);
		}
		pr->ops->destroy(d);
	}
	pd_live_free(live);
	pthread_mutex_lock(&pr->mu);
	pr->done = true;
	bool cancelled = pr->cancel;
	pthread_mutex_unlock(&pr->mu);
	if (!cancelled)
		ui_app_wake(pr->app);
	return NULL;
}

struct wiz_probe *wiz_probe_start(struct ui_app *app, const pd_pbx *p, pd_err *e)
{
	const pd_driver_ops *ops = pd_driver_find(p->platform);
	if (!ops) {
		pd_fail(
		    e, PD_E_UNAVAILABLE, "platform",
		    _("no driver for %s in this version: its users are discovered once it has one"),
		    p->platform);
		return NULL;
	}
	struct wiz_probe *pr = xcalloc(1, sizeof *pr);
	pr->app = app;
	pr->ops = ops;
	pr->pbx.platform = xstrdup(p->platform);
	pr->pbx.host = xstrdup(p->host);
	pr->pbx.port = p->port;
	pr->pbx.tls = p->tls;
	pr->pbx.username = xstrdup(p->username);
	pr->pbx.secret = xstrdup(p->secret);
	pr->pbx.params_json = xstrdup(p->params_json);
	pthread_mutex_init(&pr->mu, NULL);
	if (pthread_create(&pr->th, NULL, probe_main, pr) != 0) {
		pd_fail(e, PD_E_INTERNAL, NULL, _("cannot start the discovery thread"));
		pthread_mutex_destroy(&pr->mu);
		pd_pbx_free(&pr->pbx);
		free(pr);
		return NULL;
	}
	return pr;
}

bool wiz_probe_take(struct wiz_probe *pr, pd_synced_user **users, size_t *n, char *error,
                    size_t cap)
{
	pthread_mutex_lock(&pr->mu);
	bool done = pr->done;
	if (done) {
		*users = pr->users;
		*n = pr->n;
		pr->users = NULL;
		pr->n = 0;
		pd_utf8_copys(error, cap, pr->got ? "" : pr->error);
	}
	pthread_mutex_unlock(&pr->mu);
	return done;
}

void wiz_probe_users_free(pd_synced_user *u, size_t n)
{
	users_free(u, n);
}

void wiz_probe_stop(struct wiz_probe *pr)
{
	if (!pr)
		return;
	pthread_mutex_lock(&pr->mu);
	pr->cancel = true;
	pthread_mutex_unlock(&pr->mu);
	pthread_join(pr->th, NULL);
	pthread_mutex_destroy(&pr->mu);
	users_free(pr->users, pr->n);
	if (pr->pbx.secret)
		memset(pr->pbx.secret, 0, strlen(pr->pbx.secret));
	pd_pbx_free(&pr->pbx);
	free(pr);
}

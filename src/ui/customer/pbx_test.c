/* "Test connection" in the PBX form (issue 14): the platform driver's `test`
 * operation, the one `provdesk pbx test` runs (src/cli/pbx_test.c), on the
 * connection as typed, before it is saved. It runs in a thread of its own so
 * the console never waits for a PBX; the thread never touches curses and
 * wakes the UI loop when it is done. Esc leaves at once: the thread is left
 * to end by the driver's own deadline and then frees what it holds. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "customer/customer.h"
#include "provdesk/pbx_driver.h"

#define TEST_TIMEOUT_MS 15000

struct pbx_probe {
	pthread_mutex_t mu;
	struct ui_app *app; /* NULL once the screen left: nobody to wake */
	bool done;
	const pd_driver_ops *ops;
	char *platform, *host, *username, *secret, *params_json;
	int port;
	bool tls;
	pd_drv_test_result res;
	pd_status st;
	char err[600];
};

static void probe_free(struct pbx_probe *p)
{
	if (p->secret)
		memset(p->secret, 0, strlen(p->secret));
	free(p->platform);
	free(p->host);
	free(p->username);
	free(p->secret);
	free(p->params_json);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

static void *probe_main(void *arg)
{
	struct pbx_probe *p = arg;
	pd_thread_name("pd-pbx-test");
	pd_drv_conf dc = {.host = p->host,
	                  .port = p->port,
	                  .tls = p->tls,
	                  .username = p->username,
	                  .secret = p->secret,
	                  .params_json = p->params_json};
	static const pd_drv_test_result empty = {.failed = -1};
	pd_drv_test_result *res = xcalloc(1, sizeof *res);
	*res = empty;
	pd_err e;
	pd_err_clear(&e);
	pd_status st = p->ops->test(&dc, TEST_TIMEOUT_MS, res, &e);
	pthread_mutex_lock(&p->mu);
	struct ui_app *app = p->app;
	p->res = *res;
	p->st = st;
	pd_utf8_copys(p->err, sizeof p->err, st == PD_OK ? "" : e.message);
	p->done = true;
	if (app)
		ui_app_wake(app); /* under the lock: the screen cannot leave meanwhile */
	pthread_mutex_unlock(&p->mu);
	free(res);
	if (!app)
		probe_free(p);
	return NULL;
}

struct test_screen {
	struct pbx_probe *p;
	bool shown_done;
	int64_t started_ms;
	char target[300];
};

static pd_status ts_create(struct ui_screen *s, void *arg, pd_err *e)
{
	const pd_pbx *pbx = arg;
	const pd_driver_ops *ops = pd_driver_find(pbx->platform);
	if (!ops || !ops->test)
		return pd_fail(e, PD_E_UNAVAILABLE, "platform",
		               _("testing a %s connection is not supported yet"), pbx->platform);
	struct pbx_probe *p = xcalloc(1, sizeof *p);
	pthread_mutex_init(&p->mu, NULL);
	p->app = s->app;
	p->ops = ops;
	p->platform = xstrdup(pbx->platform);
	p->host = xstrdup(pbx->host ? pbx->host : "");
	p->username = pbx->username ? xstrdup(pbx->username) : NULL;
	p->secret = pbx->secret ? xstrdup(pbx->secret) : NULL;
	p->params_json = pbx->params_json ? xstrdup(pbx->params_json) : NULL;
	p->port = pbx->port;
	p->tls = pbx->tls;
	struct test_screen *t = xcalloc(1, sizeof *t);
	t->p = p;
	t->started_ms = pd_live_now_ms();
	pd_snprintf(t->target, sizeof t->target, "%s:%d%s", p->host, p->port,
	            p->tls ? _(" (TLS)") : "");
	pthread_t th;
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	int rc = pthread_create(&th, &at, probe_main, p);
	pthread_attr_destroy(&at);
	if (rc != 0) {
		probe_free(p);
		free(t);
		return pd_fail(e, PD_E_INTERNAL, NULL, _("cannot start the test"));
	}
	s->priv = t;
	s->ticks = true; /* the elapsed seconds while it runs */
	return PD_OK;
}

static void ts_destroy(struct ui_screen *s)
{
	struct test_screen *t = s->priv;
	struct pbx_probe *p = t->p;
	pthread_mutex_lock(&p->mu);
	bool done = p->done;
	p->app = NULL; /* a test still running frees itself when it ends */
	pthread_mutex_unlock(&p->mu);
	if (done)
		probe_free(p);
	free(t);
}

static void ts_layout(struct ui_screen *s)
{
	int h = PD_DRV_TEST_MAX_STEPS + 7, w = s->w - 4;
	if (h > s->h - 2)
		h = s->h - 2;
	if (w > 100)
		w = 100;
	ui_screen_window(s, s->y + (s->h - h) / 2, s->x + (s->w - w) / 2, h, w);
}

static void ts_draw(struct ui_screen *s)
{
	struct test_screen *t = s->priv;
	struct pbx_probe *p = t->p;
	WINDOW *w = s->win;
	int h, width;
	getmaxyx(w, h, width);
	attr_t n = ui_role(UI_R_DIALOG);
	for (int y = 0; y < h; y++)
		ui_fill(w, y, 0, width, n);
	ui_box(w, _("Test connection"));
	char *line = xasprintf("%s %s", p->platform, t->target);
	ui_put(w, 1, 2, width - 4, line, n | A_BOLD, false);
	free(line);
	pthread_mutex_lock(&p->mu);
	bool done = p->done;
	pthread_mutex_unlock(&p->mu);
	/* once done the thread writes nothing more: read without the lock */
	if (!done) {
		long secs = (long)((pd_live_now_ms() - t->started_ms) / 1000);
		char *run = xasprintf(_("Testing… %lds (Esc cancels; nothing is saved)"), secs);
		ui_put(w, 3, 2, width - 4, run, n, false);
		free(run);
		return;
	}
	int y = 3;
	for (int i = 0; i < p->res.n_steps && y < h - 3; i++, y++) {
		const pd_drv_test_step *st = &p->res.steps[i];
		/* TRANSLATORS: a check that passed, beside "FAIL" (five columns at most) */
		ui_put(w, y, 2, 5, st->ok ? _("ok") : _("FAIL"),
		       ui_role(st->ok ? UI_R_STATUS_OK : UI_R_STATUS_ERROR) | A_BOLD, true);
		ui_put(w, y, 7, 16, pd_tr(st->name), n, true); /* N_() in the drivers */
		ui_put(w, y, 24, width - 26, st->detail, n, false);
	}
	y++;
	if (p->st == PD_OK)
		ui_put(w, y, 2, width - 4, _("All checks passed. Enter or Esc closes."),
		       ui_role(UI_R_STATUS_OK) | A_BOLD, false);
	else
		ui_put(w, y, 2, width - 4, p->err, ui_role(UI_R_STATUS_ERROR) | A_BOLD, false);
}

static int ts_key(struct ui_screen *s, const struct ui_event *ev)
{
	(void)s;
	if (ev->action == UI_A_BACK || ev->action == UI_A_OPEN)
		return UI_HANDLED | UI_CLOSE;
	if (ev->action == UI_A_QUIT)
		return 0;
	return UI_HANDLED; /* a dialog: nothing reaches the form below */
}

static int ts_tick(struct ui_screen *s)
{
	struct test_screen *t = s->priv;
	if (t->shown_done)
		return 0;
	pthread_mutex_lock(&t->p->mu);
	t->shown_done = t->p->done;
	pthread_mutex_unlock(&t->p->mu);
	if (t->shown_done)
		s->ticks = false;
	return UI_REDRAW;
}

static int ts_data(struct ui_screen *s)
{
	return ts_tick(s); /* the thread's wake */
}

const struct ui_screen_ops ui_pbx_test_ops = {
    .name = "test-connection",
    .context = UI_CTX_GENERIC,
    .overlay = true,
    .create = ts_create,
    .destroy = ts_destroy,
    .layout = ts_layout,
    .draw = ts_draw,
    .handle_key = ts_key,
    .on_tick = ts_tick,
    .on_data = ts_data,
    .fkeys = N_("Enter|Close|Esc|Cancel"),
};

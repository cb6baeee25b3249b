/* provdesk pbx resync CUSTOMER: connect now, discover and sync users, print
 * "N new, M updated, K removed, L linked" (a disabled connection or
 * sync_users off is refused unless --force). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_internal.h"
#include "provdesk/live.h"
#include "provdesk/pbx_driver.h"
#include "provdesk/util.h"

static const char help_resync[] =
    "Usage: provdesk pbx resync CUSTOMER [--force] [--json]\n"
    "Connects now, discovers the PBX users (and their mailboxes' emails) and syncs them:\n"
    "\"N new, M updated, K removed, L linked\" (links to console users with the same\n"
    "email, else the same extension). A disabled connection, or one with user sync off,\n"
    "is refused (exit 78) unless --force is given.\n";
/* The real driver, driven by pd_drv_run. */
typedef struct {
	pd_store *store;
} resync_ctx;

typedef struct {
	const pd_driver_ops *ops;
	void *d;
	pd_live *live;
	int64_t cid;
	pd_progress prog;
	bool phased;
} run_ctx;

/* Until the link monitors (the sync is done) or fails; on a terminal, the
 * discovery's progress on one line. */
static bool settled(void *ctx)
{
	run_ctx *r = ctx;
	pd_link_state st = r->ops->state(r->d);
	/* a failure waits for a retry (retrying, protocol-error) or for an edit */
	if (st == PD_LINK_MONITORING || st == PD_LINK_AUTH_FAILED || pd_link_state_retries(st))
		return true;
	pd_live_view v;
	if (r->prog.on && pd_live_snapshot(r->live, r->cid, &v) == PD_OK) {
		if (v.link == PD_LINK_DISCOVERING && v.sync_total > 0) {
			if (!r->phased || r->prog.total != (uint64_t)v.sync_total) {
				pd_progress_phase(&r->prog, "discovering", (uint64_t)v.sync_total);
				r->phased = true;
			}
			pd_progress_set(&r->prog, (uint64_t)(v.sync_done > 0 ? v.sync_done : 0));
		}
		pd_live_free_view(&v);
	}
	return false;
}

static pd_status rs_sync(void *ctx, int64_t cid, const pd_synced_user *u, size_t n, bool ap,
                         pd_sync_result *res, pd_err *e)
{
	resync_ctx *r = ctx;
	return store_sync_users(r->store, cid, u, n, ap, res, e);
}

int pd_cli_pbx_resync_cmd(pd_cli *c, int argc, char **argv)
{
	const char *pos[1];
	int np = 0;
	bool force = false;
	const pd_opt opts[] = {{"force", PD_OPT_FLAG, NULL, &force}, {NULL, 0, NULL, NULL}};
	int rc = pd_cli_parse(c, "pbx resync", argc, argv, opts, pos, 1, 1, &np, help_resync);
	if (rc != PD_CLI_CONTINUE)
		return rc;
	pd_customer cu;
	pd_pbx p;
	if ((rc = pd_cli_pbx_load(c, pos[0], true, &cu, &p)) != PD_CLI_CONTINUE)
		return rc;
	const pd_driver_ops *ops = pd_driver_find(p.platform);
	/* the connection's own switches are honoured: a disabled PBX is not
	 * dialled and a customer whose users are not synced keeps its list,
	 * unless the person asks for it explicitly */
	if (!force && (!p.enabled || !p.sync_users)) {
		rc =
		    !p.enabled
		        ? pd_cli_failf(c, PD_E_CONFIG, "enabled",
		                       "the PBX connection of \"%s\" is disabled: enable it with "
		                       "\"provdesk pbx enable\", or resync once with --force",
		                       cu.name)
		        : pd_cli_failf(c, PD_E_CONFIG, "sync_users",
		                       "user sync is off for \"%s\" (sync_users = off): turn it on "
		                       "with \"provdesk pbx update --sync\", or resync once with "
		                       "--force",
		                       cu.name);
		pd_customer_free(&cu);
		pd_pbx_free(&p);
		return rc;
	}
	if (!ops) {
		rc = pd_cli_failf(c, PD_E_UNAVAILABLE, "platform",
		                  "platform %s is not supported yet", p.platform);
		pd_customer_free(&cu);
		pd_pbx_free(&p);
		return rc;
	}
	pd_live *live = pd_live_new();
	resync_ctx rx = {c->store};
	pd_drv_conf dc = {.customer_id = cu.id,
	                  .host = p.host,
	                  .port = p.port,
	                  .tls = p.tls,
	                  .username = p.username,
	                  .secret = p.secret,
	                  .params_json = p.params_json,
	                  .sync_users = true,
	                  .monitor = false,
	                  .auto_provision = p.auto_provision,
	                  .ping_interval_s = PD_PBX_PING_INTERVAL_DEFAULT,
	                  .backoff_max_s = 1,
	                  .max_calls = c->cfg.pbx_max_calls,
	                  .max_channels = c->cfg.pbx_max_channels,
	                  .max_users = c->cfg.pbx_max_users,
	                  .max_message = (size_t)c->cfg.pbx_max_message_kb * 1024};
	pd_drv_host h = {.ctx = &rx, .live = live, .sync_users = rs_sync};
	pd_err e;
	pd_err_clear(&e);
	void *d = NULL;
	if (ops->create(&dc, &h, &d, &e) != PD_OK) {
		pd_live_free(live);
		pd_customer_free(&cu);
		pd_pbx_free(&p);
		return pd_cli_fail(c, &e);
	}
	run_ctx run = {.ops = ops, .d = d, .live = live, .cid = cu.id};
	pd_progress_begin(&run.prog, c, "resync", "endpoints");
	pd_drv_run(ops, d, pd_live_now_ms() + 60000, 200, settled, &run);
	pd_progress_end(&run.prog);
	pd_link_state st = ops->state(d);
	pd_sync_result r = {0};
	bool synced = ops->last_sync(d, &r);
	pd_live_view v = {0};
	pd_live_snapshot(live, cu.id, &v);
	if (!synced) {
		const char *why = v.last_error[0] ? v.last_error : "timed out";
		pd_status fs = pd_link_state_outcome(st);
		rc = pd_cli_failf(c, fs == PD_OK ? PD_E_UNAVAILABLE : fs, "pbx",
		                  "resync of \"%s\" failed: %s", cu.name, why);
	} else if (c->json) {
		json_t *o = json_object();
		json_object_set_new(o, "customer", json_string(cu.name));
		json_object_set_new(o, "added", json_integer(r.added));
		json_object_set_new(o, "updated", json_integer(r.updated));
		json_object_set_new(o, "removed", json_integer(r.removed));
		json_object_set_new(o, "linked", json_integer(r.linked));
		json_object_set_new(o, "unchanged", json_integer(r.unchanged));
		json_object_set_new(o, "sub_accounts_added", json_integer(r.sub_accounts_added));
		pd_cli_print_json(c, o);
		rc = 0;
	} else {
		printf("%d new, %d updated, %d removed, %d linked\n", r.added, r.updated, r.removed,
		       r.linked);
		if (r.sub_accounts_added)
			printf("%d sub-accounts added\n", r.sub_accounts_added);
		rc = 0;
	}
	pd_live_free_view(&v);
	ops->destroy(d);
	pd_live_free(live);
	pd_customer_free(&cu);
	pd_pbx_free(&p);
	return rc;
}

/* provdesk pbx resync CUSTOMER: connect now, discover and sync users, print
 * "N new, M updated, K removed, L linked" (a disabled connection or
 * sync_users off is refused unless --force). */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attach.h"
#include "cli_internal.h"
#include "provdesk/i18n.h"
#include "provdesk/live.h"
#include "provdesk/pbx_driver.h"
#include "provdesk/util.h"

static const char help_resync[] =
    N_("Usage: provdesk pbx resync CUSTOMER [--force] [--json]\n"
       "Discovers the PBX users (and their mailboxes' emails) now and syncs them:\n"
       "\"N new, M updated, K removed, L linked\" (links to console users with the same\n"
       "email, else the same extension). The host's monitor (provdesk serve, started when\n"
       "none runs) does it on its own link to the PBX. A disabled connection, or one with\n"
       "user sync off, is refused (exit 78) unless --force is given: then this command\n"
       "connects once by itself.\n");
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

static void print_result(pd_cli *c, const pd_customer *cu, const pd_sync_result *r)
{
	if (c->json) {
		json_t *o = json_object();
		json_object_set_new(o, "customer", json_string(cu->name));
		json_object_set_new(o, "added", json_integer(r->added));
		json_object_set_new(o, "updated", json_integer(r->updated));
		json_object_set_new(o, "removed", json_integer(r->removed));
		json_object_set_new(o, "linked", json_integer(r->linked));
		json_object_set_new(o, "unchanged", json_integer(r->unchanged));
		json_object_set_new(o, "sub_accounts_added", json_integer(r->sub_accounts_added));
		pd_cli_print_json(c, o);
	} else {
		printf(_("%d new, %d updated, %d removed, %d linked\n"), r->added, r->updated,
		       r->removed, r->linked);
		if (r->sub_accounts_added)
			/* the English says "sub-accounts" for one too; a language may not */
			printf(P_("%d sub-accounts added\n", "%d sub-accounts added\n",
			          (unsigned long)r->sub_accounts_added),
			       r->sub_accounts_added);
	}
}

/* An enabled connection with sync on is the monitor's link: it resyncs on
 * it (no second login to the PBX) and this command waits for that
 * customer's next sync. The exit code comes from the link's state, as for
 * the one-shot run. */
#define RESYNC_WAIT_MS 60000
static int resync_via_monitor(pd_cli *c, const pd_customer *cu)
{
	pd_err e;
	pd_err_clear(&e);
	pd_live *live = pd_live_new();
	pd_serve_client *cl = pd_cli_attach(c, live, true, 30000, &e);
	if (!cl) {
		pd_live_free(live);
		return pd_cli_failf(c, PD_E_UNAVAILABLE, "pbx", _("resync of \"%s\": %s"), cu->name,
		                    e.message);
	}
	json_t *args = json_pack("{s:I}", "customer", (json_int_t)cu->id);
	json_t *rep = NULL;
	pd_status st = pd_serve_client_request(cl, "resync", args, &rep, 10000, &e);
	json_decref(args);
	/* a daemon this command started has made its first discovery for it
	 * (done by now, or under way): that sync is the answer, also when the
	 * discovery this request asked for has come after it (its users are
	 * then unchanged) before this command looked */
	bool spawned = pd_serve_client_spawned(cl);
	int64_t seq0 = spawned ? 0 : json_integer_value(json_object_get(rep, "seq"));
	json_decref(rep);
	int rc = 0;
	if (st != PD_OK) {
		rc = pd_cli_failf(c, st, "pbx", _("resync of \"%s\": %s"), cu->name, e.message);
		goto out;
	}
	pd_progress prog;
	pd_progress_begin(&prog, c, "resync", "endpoints");
	bool phased = false, saw_sync = false, synced = false;
	int64_t attaches = pd_serve_client_attaches(cl);
	int64_t started = pd_live_now_ms(), deadline = started + RESYNC_WAIT_MS;
	int64_t first_since = 0, listed_at = 0;
	pd_link_state first_link = PD_LINK_DISABLED;
	pd_sync_result r = {0};
	pd_live_view v = {0};
	const char *lost = NULL;
	for (;;) {
		int64_t seq = 0;
		if ((spawned ? pd_serve_client_first_sync(cl, cu->id, &r, &seq)
		             : pd_serve_client_last_sync(cl, cu->id, &r, &seq)) &&
		    seq > seq0) {
			synced = true;
			break;
		}
		if (!pd_serve_client_attached(cl) || pd_serve_client_attaches(cl) != attaches) {
			lost =
			    _(PD_SERVE_LOST_TEXT); /* a new monitor would not know of the request */
			break;
		}
		pd_live_free_view(&v);
		memset(&v, 0, sizeof v);
		bool known = pd_live_snapshot(live, cu->id, &v) == PD_OK;
		if (known && v.link == PD_LINK_DISCOVERING) {
			saw_sync = true;
			if (prog.on && v.sync_total > 0) {
				if (!phased || prog.total != (uint64_t)v.sync_total) {
					pd_progress_phase(&prog, "discovering",
					                  (uint64_t)v.sync_total);
					phased = true;
				}
				pd_progress_set(&prog,
				                (uint64_t)(v.sync_done > 0 ? v.sync_done : 0));
			}
		}
		/* the state the monitor had when asked may be an old one (an auth
		 * failure it now retries, a connection enabled a moment ago that
		 * it reloads within a second): a final state counts once the link
		 * moved, or after a while */
		if (known && !first_since) {
			first_since = v.link_since_ms;
			first_link = v.link;
		}
		bool moved = known && (v.link_since_ms != first_since || v.link != first_link);
		bool settled_wait = pd_live_now_ms() - started > 10000;
		/* back to monitoring since asked, or monitoring under a daemon this
		 * command started: a link that syncs gets there only through a
		 * discovery, however fast it went between two looks */
		if (known && v.link == PD_LINK_MONITORING && (moved || spawned))
			saw_sync = true;
		/* a failure waits for a retry or for an edit, as the one-shot run;
		 * one since asked (the monitor redials a waiting link at once) is
		 * the answer, not a reason to wait out the deadline */
		if (known && (moved || settled_wait) &&
		    (v.link == PD_LINK_AUTH_FAILED || v.link == PD_LINK_CONFIG_ERROR ||
		     v.link == PD_LINK_UNSUPPORTED || v.link == PD_LINK_DISABLED ||
		     pd_link_state_retries(v.link)))
			break;
		/* discovered, back to monitoring, and no sync came: the users were
		 * listed but not stored (the [pbx] max_users_per_link refusal says
		 * why in the link's last error) */
		if (known && saw_sync && v.link == PD_LINK_MONITORING) {
			if (!listed_at)
				listed_at = pd_live_now_ms();
			else if (pd_live_now_ms() - listed_at > 3000)
				break;
		}
		if (pd_live_now_ms() >= deadline)
			break;
		poll(NULL, 0, 100);
	}
	pd_progress_end(&prog);
	if (synced) {
		print_result(c, cu, &r);
	} else if (lost) {
		rc = pd_cli_failf(c, PD_E_UNAVAILABLE, "pbx", _("resync of \"%s\" failed: %s"),
		                  cu->name, lost);
	} else {
		char err_text[PD_MSG_TEXT_MAX];
		const char *why = v.last_error[0]
		                      ? pd_msg_text(v.last_error, err_text, sizeof err_text)
		                      : _("timed out");
		pd_status fs = v.customer_id ? pd_link_state_outcome(v.link) : PD_E_UNAVAILABLE;
		rc = pd_cli_failf(c, fs == PD_OK ? PD_E_UNAVAILABLE : fs, "pbx",
		                  _("resync of \"%s\" failed: %s"), cu->name, why);
	}
	pd_live_free_view(&v);
out:
	pd_serve_client_stop(cl);
	pd_live_free(live);
	return rc;
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
		                       _("the PBX connection of \"%s\" is disabled: enable it with "
		                         "\"provdesk pbx enable\", or resync once with --force"),
		                       cu.name)
		        : pd_cli_failf(
		              c, PD_E_CONFIG, "sync_users",
		              _("user sync is off for \"%s\" (sync_users = off): turn it on "
		                "with \"provdesk pbx update --sync\", or resync once with "
		                "--force"),
		              cu.name);
		pd_customer_free(&cu);
		pd_pbx_free(&p);
		return rc;
	}
	if (!ops) {
		rc = pd_cli_failf(c, PD_E_UNAVAILABLE, "platform",
		                  _("platform %s is not supported yet"), p.platform);
		pd_customer_free(&cu);
		pd_pbx_free(&p);
		return rc;
	}
	if (p.enabled && p.sync_users) {
		rc = resync_via_monitor(c, &cu);
		pd_customer_free(&cu);
		pd_pbx_free(&p);
		return rc;
	}
	/* --force on a connection the monitor does not sync: one run here */
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
		char err_text[PD_MSG_TEXT_MAX];
		const char *why = v.last_error[0]
		                      ? pd_msg_text(v.last_error, err_text, sizeof err_text)
		                      : _("timed out");
		pd_status fs = pd_link_state_outcome(st);
		rc = pd_cli_failf(c, fs == PD_OK ? PD_E_UNAVAILABLE : fs, "pbx",
		                  _("resync of \"%s\" failed: %s"), cu.name, why);
	} else {
		print_result(c, &cu, &r);
		rc = 0;
	}
	pd_live_free_view(&v);
	ops->destroy(d);
	pd_live_free(live);
	pd_customer_free(&cu);
	pd_pbx_free(&p);
	return rc;
}

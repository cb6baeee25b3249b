/* provdesk outbox list|retry|cancel|send: the invitation emails. */
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attach.h"
#include "cli_internal.h"
#include "provdesk/i18n.h"
#include "provdesk/live.h"
#include "provdesk/mail.h"
#include "provdesk/util.h"

static const char help_outbox[] =
    N_("Usage: provdesk outbox list [CUSTOMER] [--json]\n"
       "       provdesk outbox retry [ID | --all] [--send] [--json]\n"
       "       provdesk outbox cancel ID [--json]\n"
       "       provdesk outbox send [--timeout SECONDS] [--json]\n"
       "  list   invitation emails with their state: queued, waiting for retry (a\n"
       "         temporary failure), sent, failed for good (refused by the server, never\n"
       "         retried by itself), cancelled (the user was removed)\n"
       "  retry  put a failed (or sent: resend) message back in the queue; --all: every\n"
       "         failed one; --send: deliver the due messages now through [smtp]\n"
       "  cancel a queued message is not sent (it stays listed as cancelled, with an\n"
       "         audit row); a message that is not queued is refused (exit 65)\n"
       "  send   deliver the due messages now. Exit 65 when a message was refused for\n"
       "         good (bad recipient, 5xx), 75 when some wait for a retry, 69 when SMTP\n"
       "         is unavailable, 77 when the server refused the login. --timeout: stop\n"
       "         after SECONDS (1-86400) whatever the server does; what is not sent stays\n"
       "         queued, exit 75\n");

/* What the list shows for a message: JSON key, then the words of the table. */
static const char *outcome_key(const pd_outbox *m)
{
	switch (m->state) {
	case PD_INVITE_QUEUED:
		return m->attempts ? "waiting_for_retry" : "queued";
	case PD_INVITE_SENT:
		return "sent";
	case PD_INVITE_FAILED:
		return "failed_for_good";
	case PD_INVITE_CANCELLED:
		return "cancelled";
	case PD_INVITE_NONE:
		break;
	}
	return "unknown";
}

static void outcome_text(const pd_outbox *m, char out[64])
{
	char t[32];
	switch (m->state) {
	case PD_INVITE_QUEUED:
		if (m->attempts) {
			pd_fmt_time(m->next_attempt_at, t);
			snprintf(out, 64, _("retry at %s"), t);
		} else
			snprintf(out, 64, "queued");
		return;
	case PD_INVITE_FAILED:
		snprintf(out, 64, _("failed for good"));
		return;
	default:
		snprintf(out, 64, "%s", pd_invite_state_name(m->state));
	}
}

static int outbox_list(pd_cli *c, int argc, char **argv)
{
	const char *pos[1] = {NULL};
	int np = 0;
	int rc = pd_cli_parse(c, "outbox list", argc, argv, NULL, pos, 0, 1, &np, help_outbox);
	if (rc != PD_CLI_CONTINUE)
		return rc;
	pd_err e;
	pd_err_clear(&e);
	int64_t cid;
	if (pd_cli_customer_id(c, np ? pos[0] : NULL, &cid, &e) != PD_OK)
		return pd_cli_fail(c, &e);
	pd_outbox *v = NULL;
	size_t n = 0;
	if (store_outbox_list(c->store, cid, &v, &n, &e) != PD_OK)
		return pd_cli_fail(c, &e);
	if (c->json) {
		json_t *a = json_array();
		for (size_t i = 0; i < n; i++) {
			json_t *o = json_object();
			json_object_set_new(o, "id", json_integer(v[i].id));
			json_object_set_new(o, "customer_id", json_integer(v[i].customer_id));
			json_object_set_new(o, "user_id", json_integer(v[i].user_id));
			json_object_set_new(o, "to", pd_json_str(v[i].to_addr));
			json_object_set_new(o, "subject", pd_json_str(v[i].subject));
			json_object_set_new(o, "state",
			                    json_string(pd_invite_state_name(v[i].state)));
			json_object_set_new(o, "attempts", json_integer(v[i].attempts));
			json_object_set_new(o, "next_attempt_at",
			                    pd_json_time(v[i].next_attempt_at));
			json_object_set_new(o, "created_at", pd_json_time(v[i].created_at));
			json_object_set_new(o, "sent_at", pd_json_time(v[i].sent_at));
			json_object_set_new(o, "last_error", pd_json_str(v[i].last_error));
			json_object_set_new(o, "outcome", json_string(outcome_key(&v[i])));
			json_object_set_new(o, "invited_by", pd_json_str(v[i].invited_by));
			json_array_append_new(a, o);
		}
		pd_cli_print_json(c, a);
	} else if (n) {
		static const char *const heads[] = {N_("ID"),        N_("TO"),      N_("STATE"),
		                                    N_("ATTEMPTS"),  N_("CREATED"), N_("SENT"),
		                                    N_("LAST ERROR")};
		static const bool right[] = {true, false, false, true, false, false, false};
		pd_table t;
		pd_table_init(&t, 7, heads, right);
		for (size_t i = 0; i < n; i++) {
			char id[24], att[16], cr[32], se[32], state[64];
			outcome_text(&v[i], state);
			snprintf(id, sizeof id, "%lld", (long long)v[i].id);
			snprintf(att, sizeof att, "%d", v[i].attempts);
			pd_fmt_time(v[i].created_at, cr);
			pd_fmt_time(v[i].sent_at, se);
			const char *cells[7] = {id, v[i].to_addr, state,          att,
			                        cr, se,           v[i].last_error};
			pd_table_row(&t, cells);
		}
		pd_table_print(&t, stdout);
		pd_table_free(&t);
	} else
		fprintf(stderr, _("the outbox is empty\n"));
	pd_outboxes_free(v, n);
	return 0;
}

/* --timeout: a thread that raises the delivery's cancel flag at the
 * deadline; the exchange in progress stops within about a second and its
 * message stays queued as it was. It polls the monotonic clock in steps of
 * 100 ms rather than waiting on a condition variable with an absolute time,
 * which libfaketime (the date tests) moves. */
typedef struct {
	atomic_bool done, cancel;
	int64_t deadline_ms; /* CLOCK_MONOTONIC */
} deadline_timer;

static void *deadline_main(void *arg)
{
	deadline_timer *t = arg;
	pd_thread_name("pd-deadline");
	while (!atomic_load(&t->done)) {
		int64_t left = t->deadline_ms - pd_live_now_ms();
		if (left <= 0) {
			atomic_store(&t->cancel, true);
			break;
		}
		poll(NULL, 0, left < 100 ? (int)left : 100);
	}
	return NULL;
}

static int delivered(pd_cli *c, int retried, const pd_outbox_report *rp, bool expired,
                     long timeout_s);
static int deliver_by_monitor(pd_cli *c, int retried, long timeout_s, bool *asked);

/* Deliver the due messages through [smtp]; timeout_s > 0 bounds the whole run.
 * A monitor running for this database sends them (its worker delivers this
 * outbox): it is asked to, and the messages are followed to their outcome. */
static int deliver(pd_cli *c, int retried, long timeout_s)
{
	bool asked = false;
	int mrc = deliver_by_monitor(c, retried, timeout_s, &asked);
	if (asked)
		return mrc;
	pd_err e;
	pd_err_clear(&e);
	pd_smtp_opts o;
	pd_smtp_opts_init(&o);
	char *pw = NULL;
	if (pd_smtp_opts_from_config(&c->cfg, &o, &pw, &e) != PD_OK)
		return pd_cli_fail(c, &e);
	pd_outbox_report r;
	memset(&r, 0, sizeof r);
	deadline_timer t;
	atomic_init(&t.done, false);
	atomic_init(&t.cancel, false);
	pthread_t th;
	bool timed = false;
	if (timeout_s > 0) {
		t.deadline_ms = pd_live_now_ms() + (int64_t)timeout_s * 1000;
		o.cancel = &t.cancel;
		timed = pthread_create(&th, NULL, deadline_main, &t) == 0;
		if (!timed)
			o.cancel = NULL;
	}
	pd_status st = pd_outbox_deliver_due(c->store, &o, pd_now(), 0, &r, &e);
	bool expired = false;
	if (timed) {
		atomic_store(&t.done, true);
		pthread_join(th, NULL);
		expired = atomic_load(&t.cancel);
	}
	if (pw) {
		memset(pw, 0, strlen(pw));
		free(pw);
	}
	if (st != PD_OK)
		return pd_cli_fail(c, &e);
	return delivered(c, retried, &r, expired, timeout_s);
}

/* What a delivery did (here or by the monitor), as text or JSON; the exit
 * code from it. */
static int delivered(pd_cli *c, int retried, const pd_outbox_report *rp, bool expired,
                     long timeout_s)
{
	const pd_outbox_report r = *rp;
	int rc = 0;
	if (r.not_configured)
		rc = pd_cli_failf(
		    c, PD_E_UNAVAILABLE, "smtp.url",
		    _("no SMTP server configured ([smtp] url); the invitations wait in "
		      "the outbox"));
	else if (r.busy_elsewhere)
		rc = pd_cli_failf(
		    c, PD_E_TEMPFAIL, NULL,
		    _("another provdesk process is delivering this outbox; try later"));
	else if (r.server_status != PD_OK)
		rc = pd_cli_failf(c, r.server_status, "smtp", "%s", r.server_error);
	else if (expired)
		rc = pd_cli_failf(c, PD_E_TEMPFAIL, "timeout",
		                  _("--timeout %ld s reached: %d sent; the messages not sent stay "
		                    "queued"),
		                  timeout_s, r.sent);
	if (rc)
		return rc;
	/* A refusal for good needs a person (fix the address, then retry):
	 * it wins over "try later", which the worker does by itself. */
	pd_status outcome = r.failed ? PD_E_INVALID : r.retry_later ? PD_E_TEMPFAIL : PD_OK;
	if (c->json) {
		json_t *o2 = json_object();
		if (retried >= 0)
			json_object_set_new(o2, "requeued", json_integer(retried));
		json_object_set_new(o2, "attempted", json_integer(r.attempted));
		json_object_set_new(o2, "sent", json_integer(r.sent));
		json_object_set_new(o2, "retry_later", json_integer(r.retry_later));
		json_object_set_new(o2, "failed", json_integer(r.failed));
		json_object_set_new(o2, "cancelled", json_integer(r.cancelled));
		json_object_set_new(o2, "failed_error",
		                    r.failed ? json_string(r.failed_error) : json_null());
		json_object_set_new(o2, "retry_error",
		                    r.retry_later ? json_string(r.retry_error) : json_null());
		pd_cli_print_json(c, o2);
	} else {
		printf(_("%d sent, %d to retry later, %d failed for good"), r.sent, r.retry_later,
		       r.failed);
		if (r.cancelled)
			printf(_(", %d cancelled (user removed)"), r.cancelled);
		printf("\n");
	}
	if (r.failed)
		fprintf(
		    stderr,
		    _("provdesk: %d invitation%s refused for good by the SMTP server, not retried "
		      "(%s); correct the address, then 'provdesk outbox retry ID'\n"),
		    r.failed, r.failed == 1 ? "" : "s", r.failed_error);
	if (r.retry_later)
		fprintf(
		    stderr,
		    _("provdesk: %d invitation%s waiting for a retry, sent later by itself (%s)\n"),
		    r.retry_later, r.retry_later == 1 ? "" : "s", r.retry_error);
	return pd_status_exit_code(outcome);
}

/* The messages due now, as they were when the monitor was asked. */
typedef struct {
	int64_t id;
	int attempts;
	bool done;
} due_msg;

#define MONITOR_SEND_WAIT_S 120 /* without --timeout */
#define MONITOR_SEND_QUIET_MS 3000

static int deliver_by_monitor(pd_cli *c, int retried, long timeout_s, bool *asked)
{
	*asked = false;
	pd_err e;
	pd_err_clear(&e);
	pd_smtp_opts o;
	pd_smtp_opts_init(&o);
	char *pw = NULL;
	/* a bad or missing [smtp] is said here, as without a monitor */
	if (pd_smtp_opts_from_config(&c->cfg, &o, &pw, &e) != PD_OK || !c->cfg.smtp_url ||
	    !*c->cfg.smtp_url) {
		pd_secret_free(pw);
		return 0;
	}
	pd_secret_free(pw);
	pd_serve_client *cl = pd_cli_attach(c, NULL, false, 5000, &e);
	if (!cl)
		return 0; /* none runs: this command sends */
	*asked = true;
	pd_outbox *v = NULL;
	size_t n = 0;
	if (store_outbox_list(c->store, 0, &v, &n, &e) != PD_OK) {
		pd_serve_client_stop(cl);
		return pd_cli_fail(c, &e);
	}
	int64_t now = pd_now();
	due_msg *due = xcalloc(n ? n : 1, sizeof *due);
	size_t nd = 0;
	for (size_t i = 0; i < n; i++)
		if (v[i].state == PD_INVITE_QUEUED && v[i].next_attempt_at <= now)
			due[nd++] = (due_msg){v[i].id, v[i].attempts, false};
	pd_outboxes_free(v, n);
	json_t *rep = NULL;
	pd_status st = pd_serve_client_request(cl, "outbox_send", NULL, &rep, 10000, &e);
	json_decref(rep);
	pd_serve_client_stop(cl);
	pd_outbox_report r;
	memset(&r, 0, sizeof r);
	if (st == PD_E_CONFIG) { /* the monitor's configuration has no [smtp] */
		free(due);
		return pd_cli_failf(
		    c, PD_E_UNAVAILABLE, "smtp.url",
		    _("the running monitor has no SMTP server configured ([smtp] url; "
		      "reload it with SIGHUP); the invitations wait in the outbox"));
	}
	if (st != PD_OK) {
		free(due);
		return pd_cli_failf(c, st, NULL, _("outbox send: the monitor: %s"), e.message);
	}
	/* follow each due message to its outcome: sent, failed, cancelled, or
	 * tried and waiting for a retry (a server failure stops the monitor's
	 * round: the others stay as they were, counted as waiting) */
	int64_t deadline =
	    pd_live_now_ms() + (timeout_s > 0 ? timeout_s : MONITOR_SEND_WAIT_S) * 1000;
	int64_t last_change = pd_live_now_ms();
	size_t left = nd;
	bool expired = false;
	while (left) {
		if (store_outbox_list(c->store, 0, &v, &n, &e) != PD_OK) {
			free(due);
			return pd_cli_fail(c, &e);
		}
		for (size_t i = 0; i < nd; i++) {
			if (due[i].done)
				continue;
			const pd_outbox *m = NULL;
			for (size_t j = 0; j < n && !m; j++)
				if (v[j].id == due[i].id)
					m = &v[j];
			bool fin = true;
			if (!m || m->state == PD_INVITE_CANCELLED)
				r.cancelled++;
			else if (m->state == PD_INVITE_SENT)
				r.sent++;
			else if (m->state == PD_INVITE_FAILED) {
				r.failed++;
				if (!r.failed_error[0])
					snprintf(r.failed_error, sizeof r.failed_error,
					         "#%lld to %s: %s", (long long)m->id,
					         m->to_addr ? m->to_addr : "",
					         m->last_error ? m->last_error : "");
			} else if (m->attempts > due[i].attempts) {
				r.retry_later++;
				if (!r.retry_error[0])
					snprintf(r.retry_error, sizeof r.retry_error,
					         "#%lld to %s: %s", (long long)m->id,
					         m->to_addr ? m->to_addr : "",
					         m->last_error ? m->last_error : "");
			} else
				fin = false;
			if (fin) {
				due[i].done = true;
				left--;
				last_change = pd_live_now_ms();
				r.attempted += m && m->state != PD_INVITE_CANCELLED;
			}
		}
		pd_outboxes_free(v, n);
		if (!left)
			break;
		int64_t t = pd_live_now_ms();
		if (r.retry_later && t - last_change > MONITOR_SEND_QUIET_MS) {
			r.retry_later += (int)left; /* the round stopped on a server failure */
			break;
		}
		if (t >= deadline) {
			expired = timeout_s > 0;
			if (!expired)
				r.retry_later += (int)left;
			break;
		}
		poll(NULL, 0, 200);
	}
	free(due);
	if (r.retry_later && !r.retry_error[0])
		snprintf(r.retry_error, sizeof r.retry_error, _("not sent by the monitor yet"));
	return delivered(c, retried, &r, expired, timeout_s);
}

static int outbox_retry(pd_cli *c, int argc, char **argv)
{
	bool all = false, send = false;
	const pd_opt opts[] = {
	    {"all", PD_OPT_FLAG, NULL, &all},
	    {"send", PD_OPT_FLAG, NULL, &send},
	    {NULL, 0, NULL, NULL},
	};
	const char *pos[1] = {NULL};
	int np = 0;
	int rc = pd_cli_parse(c, "outbox retry", argc, argv, opts, pos, 0, 1, &np, help_outbox);
	if (rc != PD_CLI_CONTINUE)
		return rc;
	if (np && all)
		return pd_cli_usage(c, _("outbox retry: give an ID or --all, not both"));
	if (!np && !all)
		return pd_cli_usage(c, _("outbox retry: give a message ID or --all"));
	long id = 0;
	if (np && !pd_cli_int(c, "ID", pos[0], 1, LONG_MAX, &id))
		return pd_status_exit_code(PD_E_USAGE);
	pd_err e;
	pd_err_clear(&e);
	pd_store *s = pd_cli_store(c, &e);
	if (!s)
		return pd_cli_fail(c, &e);
	int count = 0;
	if (store_outbox_retry(s, id, &c->actor, &count, &e) != PD_OK)
		return pd_cli_fail(c, &e);
	if (!c->json)
		printf(_("%d message%s queued again.\n"), count, count == 1 ? "" : "s");
	if (send)
		return deliver(c, count, 0); /* its JSON counts the requeued ones */
	if (c->json) {
		json_t *o = json_object();
		json_object_set_new(o, "requeued", json_integer(count));
		pd_cli_print_json(c, o);
	}
	return 0;
}

static int outbox_cancel(pd_cli *c, int argc, char **argv)
{
	const char *pos[1] = {NULL};
	int np = 0;
	int rc = pd_cli_parse(c, "outbox cancel", argc, argv, NULL, pos, 1, 1, &np, help_outbox);
	if (rc != PD_CLI_CONTINUE)
		return rc;
	long id = 0;
	if (!pd_cli_int(c, "ID", pos[0], 1, LONG_MAX, &id))
		return pd_status_exit_code(PD_E_USAGE);
	pd_err e;
	pd_err_clear(&e);
	pd_store *s = pd_cli_store(c, &e);
	if (!s)
		return pd_cli_fail(c, &e);
	/* the console's outbox screen cancels through the same store function */
	if (store_outbox_cancel_by(s, id, &c->actor, &e) != PD_OK)
		return pd_cli_fail(c, &e);
	if (c->json) {
		json_t *o = json_object();
		json_object_set_new(o, "cancelled", json_integer(id));
		pd_cli_print_json(c, o);
	} else
		printf(_("Message %ld cancelled.\n"), id);
	return 0;
}

static int outbox_send(pd_cli *c, int argc, char **argv)
{
	const char *timeout_s = NULL;
	const pd_opt opts[] = {{"timeout", PD_OPT_VAL, &timeout_s, NULL}, {NULL, 0, NULL, NULL}};
	int rc = pd_cli_parse(c, "outbox send", argc, argv, opts, NULL, 0, 0, NULL, help_outbox);
	if (rc != PD_CLI_CONTINUE)
		return rc;
	long timeout = 0;
	if (timeout_s && !pd_cli_int(c, "--timeout", timeout_s, 1, 86400, &timeout))
		return pd_status_exit_code(PD_E_USAGE);
	pd_err e;
	pd_err_clear(&e);
	if (!pd_cli_store(c, &e))
		return pd_cli_fail(c, &e);
	return deliver(c, -1, timeout);
}

const pd_subcmd pd_cli_outbox_subs[] = {
    {"list", outbox_list},
    {"retry", outbox_retry},
    {"cancel", outbox_cancel},
    {"send", outbox_send},
    {NULL, NULL},
};

int pd_cli_outbox_cmd(pd_cli *c, int argc, char **argv)
{
	return pd_cli_group(c, "outbox", pd_cli_outbox_subs, argc, argv, help_outbox);
}

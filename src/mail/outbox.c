/* Outbox delivery: one round sends the due invitations one by one and
 * records each outcome in the store. Failures caused by the server (down,
 * auth, timeout) end the round, so one dead server costs one attempt per
 * round rather than one per message. */
#include "mail_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool server_side(pd_status st, pd_smtp_stage stage)
{
	switch (st) {
	case PD_E_INVALID:
		/* A bad sender address refuses every message, not this one. */
		return stage == PD_SMTP_STAGE_MAIL;
	case PD_E_TEMPFAIL:
		/* Greylisting of one recipient is about that message only. */
		return stage != PD_SMTP_STAGE_RCPT;
	default:
		return true;
	}
}

/* store_outbox_next_due orders by next_attempt_at, so asking "due at the
 * end of time" gives the earliest retry without reading the whole table. */
static pd_status find_next_due(pd_store *s, int64_t *next, pd_err *e)
{
	pd_outbox m = {0};
	pd_err le = {0};
	*next = 0;
	pd_status st = store_outbox_next_due(s, INT64_MAX, &m, &le);
	if (st == PD_E_NOTFOUND)
		return PD_OK;
	if (st != PD_OK) {
		if (e)
			*e = le;
		return st;
	}
	*next = m.next_attempt_at;
	pd_outbox_free(&m);
	return PD_OK;
}

pd_status pd_outbox_deliver_due(pd_store *s, const pd_smtp_opts *o, int64_t now, int max,
				pd_outbox_report *r, pd_err *e)
{
	memset(r, 0, sizeof *r);
	if (!o || !o->url || !*o->url) {
		r->not_configured = true;
		return find_next_due(s, &r->next_due, e);
	}
	pd_status st = pd_smtp_opts_check(o, e);
	if (st != PD_OK)
		return st;
	/* Several consoles may share one database: only one delivers at a
	 * time, or each would send the same invitation. -2 (no lock possible):
	 * deliver anyway, a duplicate invitation being better than none. */
	int lock = store_lock_file(s, "outbox");
	if (lock == -1) {
		r->busy_elsewhere = true;
		return find_next_due(s, &r->next_due, e);
	}

	while (max <= 0 || r->attempted < max) {
		if (o->cancel && atomic_load(o->cancel))
			break;
		pd_outbox m = {0};
		pd_err le = {0};
		st = store_outbox_next_due(s, now, &m, &le);
		if (st == PD_E_NOTFOUND) {
			st = PD_OK;
			break;
		}
		if (st != PD_OK) {
			if (e)
				*e = le;
			break;
		}
		r->attempted++;
		char mid[128];
		/* Stable per message, so a resend after a crash reads as the same mail. */
		const char *at = o->from ? strrchr(o->from, '@') : NULL;
		char dom[64];
		snprintf(dom, sizeof dom, "%s", at ? at + 1 : "provdesk.invalid");
		dom[strcspn(dom, ">")] = '\0';
		snprintf(mid, sizeof mid, "<provdesk-outbox-%lld-%lld@%s>", (long long)m.id,
			 (long long)m.created_at, dom);
		pd_mail_message msg = {.to = m.to_addr, .subject = m.subject, .body = m.body,
				       .message_id = mid};
		pd_smtp_result res;
		pd_err se = {0};
		pd_status ss = pd_smtp_send_msg(o, &msg, &res, &se);
		if (ss == PD_OK) {
			st = store_outbox_mark_sent(s, m.id, pd_now(), e);
			pd_outbox_free(&m);
			if (st != PD_OK)
				break;
			r->sent++;
			continue;
		}
		if (o->cancel && atomic_load(o->cancel)) {
			/* Stopping, not failing: leave it queued as it was. */
			pd_outbox_free(&m);
			break;
		}
		bool server = server_side(ss, res.stage);
		int attempts = m.attempts + 1;
		bool permanent = !server && (ss == PD_E_INVALID || attempts >= PD_OUTBOX_MAX_ATTEMPTS);
		if (server && attempts >= PD_OUTBOX_MAX_ATTEMPTS)
			permanent = true;
		int64_t next = now + pd_outbox_backoff(attempts, arc4random());
		st = store_outbox_mark_failed(s, m.id, se.message, next, permanent, e);
		pd_outbox_free(&m);
		if (st != PD_OK)
			break;
		if (permanent)
			r->failed++;
		else
			r->retry_later++;
		if (server) {
			r->server_status = ss;
			r->server_retry_at = next;
			snprintf(r->server_error, sizeof r->server_error, "%s", se.message);
			break;
		}
	}
	if (lock >= 0)
		close(lock);
	if (st != PD_OK)
		return st;
	return find_next_due(s, &r->next_due, e);
}

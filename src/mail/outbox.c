/* Outbox delivery: one round sends the due invitations one by one and
 * records each outcome in the store. Failures caused by the server (down,
 * auth, timeout) end the round, so one dead server costs one attempt per
 * round rather than one per message. */
#include "mail_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "provdesk/dl_ssl.h"

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

void pd_invite_token_new(char token[65])
{
	unsigned char raw[32];
	arc4random_buf(raw, sizeof raw);
	for (size_t i = 0; i < sizeof raw; i++)
		snprintf(token + 2 * i, 3, "%02x", raw[i]);
	explicit_bzero(raw, sizeof raw);
}

void pd_invite_token_hash(const char *token, char hash[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	pd_ssl_need();
	if (!EVP_Digest(token, strlen(token), md, &n, EVP_sha256(), NULL))
		abort(); /* only on allocation failure, as xmalloc */
	for (unsigned int i = 0; i < n && i < 32; i++)
		snprintf(hash + 2 * i, 3, "%02x", md[i]);
}

/* The invitation as it goes out now: rendered from the user and customer as
 * they are at this moment (an email changed after queueing is the one
 * mailed), with a fresh token when an activation URL is configured. */
typedef struct {
	pd_invitation mail;
	char *kept_body; /* the body without the token, for the outbox row */
	char hash[65];
	bool has_token;
	int64_t expires;
	const char *cancel; /* non-NULL: never send it, for this reason */
} fresh_mail;

static pd_status render_now(pd_store *s, const pd_smtp_opts *o, const pd_outbox *m, fresh_mail *f,
                            pd_err *e)
{
	memset(f, 0, sizeof *f);
	if (!m->user_id) {
		f->cancel = "user removed before it was sent";
		return PD_OK;
	}
	pd_err le = {0};
	pd_user u;
	pd_status st = store_user_get(s, m->user_id, &u, &le);
	if (st == PD_E_NOTFOUND) {
		f->cancel = "user removed before it was sent";
		return PD_OK;
	}
	if (st != PD_OK) {
		if (e)
			*e = le;
		return st;
	}
	pd_customer c;
	if ((st = store_customer_get(s, u.customer_id, &c, &le)) != PD_OK) {
		pd_user_free(&u);
		if (e)
			*e = le;
		return st;
	}
	if (u.synced || !u.email || !*u.email)
		f->cancel = "the user has no email any more";
	else if (c.deleted_at)
		f->cancel = "customer deleted before it was sent";
	if (!f->cancel) {
		pd_invitation_ctx x = {.inviter = m->invited_by};
		char *link = NULL, *shown = NULL;
		if (o->activation_url && *o->activation_url) {
			char tok[65];
			pd_invite_token_new(tok);
			pd_invite_token_hash(tok, f->hash);
			f->has_token = true;
			f->expires =
			    pd_now() + (int64_t)(o->token_days > 0 ? o->token_days : 7) * 86400;
			link = pd_invitation_link(o->activation_url, tok);
			shown = pd_invitation_link(o->activation_url, "[token-not-kept]");
			explicit_bzero(tok, sizeof tok);
			x.link_expires = f->expires;
		}
		x.link = link;
		pd_invitation_render_ctx(&c, &u, &x, &f->mail);
		if (link) {
			pd_invitation kept;
			x.link = shown;
			pd_invitation_render_ctx(&c, &u, &x, &kept);
			f->kept_body = kept.body;
			kept.body = NULL;
			pd_invitation_free(&kept);
			explicit_bzero(link, strlen(link));
		} else {
			f->kept_body = xstrdup(f->mail.body);
		}
		free(link);
		free(shown);
	}
	pd_customer_free(&c);
	pd_user_free(&u);
	return PD_OK;
}

static void fresh_free(fresh_mail *f)
{
	if (f->mail.body)
		explicit_bzero(f->mail.body, strlen(f->mail.body));
	pd_invitation_free(&f->mail);
	free(f->kept_body);
	f->kept_body = NULL;
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
	 * time, or each would send the same invitation. No lock possible
	 * (PD_E_UNAVAILABLE): deliver anyway, a duplicate invitation being
	 * better than none. */
	int lock = -1;
	if (store_lock_file(s, "outbox", &lock, NULL) == PD_E_TEMPFAIL) {
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
		fresh_mail f;
		if ((st = render_now(s, o, &m, &f, e)) != PD_OK) {
			pd_outbox_free(&m);
			break;
		}
		if (f.cancel) {
			st = store_outbox_cancel(s, m.id, f.cancel, e);
			pd_outbox_free(&m);
			fresh_free(&f);
			if (st != PD_OK)
				break;
			r->cancelled++;
			continue;
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
		pd_mail_message msg = {.to = f.mail.to,
		                       .subject = f.mail.subject,
		                       .body = f.mail.body,
		                       .message_id = mid};
		pd_smtp_result res;
		pd_err se = {0};
		pd_status ss = pd_smtp_send_msg(o, &msg, &res, &se);
		if (ss == PD_OK) {
			pd_outbox_sent sent = {.to = f.mail.to,
			                       .subject = f.mail.subject,
			                       .body = f.kept_body,
			                       .token_hash = f.has_token ? f.hash : NULL,
			                       .token_expires = f.expires};
			st = store_outbox_mark_sent_as(s, m.id, pd_now(), &sent, e);
			pd_outbox_free(&m);
			fresh_free(&f);
			if (st != PD_OK)
				break;
			r->sent++;
			continue;
		}
		if (o->cancel && atomic_load(o->cancel)) {
			/* Stopping, not failing: leave it queued as it was. */
			pd_outbox_free(&m);
			fresh_free(&f);
			break;
		}
		bool server = server_side(ss, res.stage);
		int attempts = m.attempts + 1;
		bool permanent =
		    !server && (ss == PD_E_INVALID || attempts >= PD_OUTBOX_MAX_ATTEMPTS);
		if (server && attempts >= PD_OUTBOX_MAX_ATTEMPTS)
			permanent = true;
		int64_t next = now + pd_outbox_backoff(attempts, arc4random());
		st = store_outbox_mark_failed(s, m.id, se.message, next, permanent, e);
		char *which = permanent ? r->failed_error : r->retry_error;
		if (!*which)
			snprintf(which, sizeof r->failed_error, "#%lld to %s: %s", (long long)m.id,
			         f.mail.to ? f.mail.to : "", se.message);
		pd_outbox_free(&m);
		fresh_free(&f);
		if (st != PD_OK)
			break;
		if (permanent)
			r->failed++;
		else
			r->retry_later++;
		if (server) {
			r->server_status = ss;
			r->server_retry_at = next;
			pd_utf8_copys(r->server_error, sizeof r->server_error, se.message);
			break;
		}
	}
	if (lock >= 0)
		close(lock);
	if (st != PD_OK)
		return st;
	return find_next_due(s, &r->next_due, e);
}

/* The invitation email of the primary user (docs/user-guide.md, Invitations and the outbox).
 * Rendered in core so the store can queue it in the same transaction as the customer. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "provdesk/model.h"

/* Names are validated (no control characters), but the subject is a mail
 * header: never let a line break through whatever the caller passed. */
static char *header_safe(const char *s)
{
	char *t = xstrdup(s ? s : "");
	for (char *p = t; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	return t;
}

static const char *role_label(const char *role)
{
	if (!role)
		return NULL;
	if (!strcmp(role, PD_ROLE_ADMIN))
		return "Customer Administrator";
	if (!strcmp(role, "supervisor"))
		return "Supervisor";
	if (!strcmp(role, "agent"))
		return "Agent";
	if (!strcmp(role, "reporting"))
		return "Reporting";
	return role;
}

void pd_invitation_render(const pd_customer *c, const pd_user *u, pd_invitation *out)
{
	pd_invitation_render_ctx(c, u, NULL, out);
}

void pd_invitation_render_ctx(const pd_customer *c, const pd_user *u, const pd_invitation_ctx *x,
                              pd_invitation *out)
{
	memset(out, 0, sizeof *out);
	const char *cname = c->name ? c->name : "";
	const char *uname = u->display_name && *u->display_name ? u->display_name : "there";
	const char *email = u->email ? u->email : "";
	const char *role = role_label(u->primary && !u->role ? PD_ROLE_ADMIN : u->role);
	const char *inviter = x && x->inviter && *x->inviter ? x->inviter : NULL;
	const char *link = x && x->link && *x->link ? x->link : NULL;

	char *safe = header_safe(cname);
	out->to = xstrdup(email);
	out->subject =
	    xasprintf("Invitation: your %s account on the contact-centre platform", safe);
	free(safe);

	pd_buf b = {0};
	pd_buf_printf(&b, "Hello %s,\n\n", uname);
	if (inviter)
		pd_buf_printf(&b,
		              "%s, of your reseller's support team, has invited you to the "
		              "call-analytics and contact-centre platform for the customer %s",
		              inviter, cname);
	else
		pd_buf_printf(&b,
		              "You have been invited to the call-analytics and contact-centre "
		              "platform for the customer %s",
		              cname);
	if (role)
		pd_buf_printf(&b, ", with the role %s", role);
	pd_buf_add(&b, ".\n\n");
	if (link) {
		char when[64] = "";
		time_t t = (time_t)x->link_expires;
		struct tm tm;
		if (x->link_expires > 0 && gmtime_r(&t, &tm))
			strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm);
		pd_buf_add(&b, "To activate your account and choose your password, open this link");
		if (*when)
			pd_buf_printf(&b, " (it works once, until %s)", when);
		pd_buf_printf(&b, ":\n\n  %s\n\n", link);
	} else {
		pd_buf_add(&b,
		           "This email carries no activation link: your reseller has not "
		           "configured the platform's sign-in address yet. Please ask your "
		           "reseller's support team to send the invitation again; do not try to "
		           "sign in before you receive it.\n\n");
	}
	pd_buf_printf(&b, "Your sign-in email: %s\n", email);
	if (u->extension && *u->extension)
		pd_buf_printf(&b, "Your extension:     %s\n", u->extension);
	pd_buf_printf(&b, "Customer tenant id: %s\n\n", c->tenant_id);
	pd_buf_printf(&b,
	              "Important: use this same email address (%s) for your user on your PBX. "
	              "The platform links the users it finds on the PBX to platform users by "
	              "their email address, so your calls and agent status are attributed to "
	              "you only when both match.\n\n",
	              email);
	if (role && !strcmp(role, "Customer Administrator"))
		pd_buf_add(&b,
		           "As Customer Administrator you can invite and manage the other users "
		           "of your organisation.\n\n");
	pd_buf_add(&b, "If you did not expect this message, please tell your reseller's support "
	               "team.\n\n-- \nReseller Support\n");
	out->body = pd_buf_steal(&b);
}

char *pd_invitation_link(const char *base, const char *token)
{
	return xasprintf("%s%ctoken=%s", base, strchr(base, '?') ? '&' : '?', token);
}

pd_status pd_check_activation_url(const char *v, pd_err *e)
{
	static const char field[] = "invitations.activation_url";
	const char *host = !strncmp(v, "https://", 8)  ? v + 8
	                   : !strncmp(v, "http://", 7) ? v + 7
	                                               : NULL;
	if (!host)
		return pd_fail(e, PD_E_CONFIG, field,
		               "'%.200s' must start with https:// (or http://)", v);
	if (!*host || *host == '/' || *host == '?' || *host == ':')
		return pd_fail(e, PD_E_CONFIG, field, "'%.200s' has no host", v);
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p <= 0x20 || *p == 0x7f)
			return pd_fail(e, PD_E_CONFIG, field,
			               "'%.200s' contains a space or a control character", v);
	if (strchr(v, '#'))
		return pd_fail(e, PD_E_CONFIG, field,
		               "'%.200s' has a #fragment: the token is added as a query parameter, "
		               "which must come before it",
		               v);
	return PD_OK;
}

void pd_invitation_free(pd_invitation *i)
{
	if (!i)
		return;
	free(i->to);
	free(i->subject);
	free(i->body);
	i->to = i->subject = i->body = NULL;
}

/* The invitation email of the primary user (SPEC §2, §6). Rendered in core
 * so the store can queue it in the same transaction as the customer. */
#include <stdlib.h>
#include <string.h>

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
	memset(out, 0, sizeof *out);
	const char *cname = c->name ? c->name : "";
	const char *uname = u->display_name && *u->display_name ? u->display_name : "there";
	const char *email = u->email ? u->email : "";
	const char *role = role_label(u->primary && !u->role ? PD_ROLE_ADMIN : u->role);

	char *safe = header_safe(cname);
	out->to = xstrdup(email);
	out->subject =
	    xasprintf("Invitation: your %s account on the contact-centre platform", safe);
	free(safe);

	pd_buf b = {0};
	pd_buf_printf(&b, "Hello %s,\n\n", uname);
	pd_buf_printf(&b,
	              "An account has been created for you on the call-analytics and "
	              "contact-centre platform for %s",
	              cname);
	if (role)
		pd_buf_printf(&b, ", with the role %s", role);
	pd_buf_add(&b, ".\n\n");
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

void pd_invitation_free(pd_invitation *i)
{
	if (!i)
		return;
	free(i->to);
	free(i->subject);
	free(i->body);
	i->to = i->subject = i->body = NULL;
}

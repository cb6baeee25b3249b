/* [smtp] of provdesk.conf to sender options. Kept apart from smtp.c so a
 * program that only sends does not need the config reader. */
#include "mail_internal.h"
#include "provdesk/i18n.h"

#include <stdio.h>

pd_status pd_smtp_opts_from_config(const pd_config *c, pd_smtp_opts *o, char **password_owned,
                                   pd_err *e)
{
	pd_smtp_opts_init(o);
	*password_owned = NULL;
	o->url = c->smtp_url;
	o->starttls = c->smtp_starttls;
	o->from = c->smtp_from;
	o->username = c->smtp_username;
	o->activation_url = c->invite_activation_url;
	o->token_days = c->invite_token_days > 0 ? c->invite_token_days : 7;
	if (!c->smtp_url || !*c->smtp_url)
		return PD_OK; /* offline: invitations wait in the outbox */
	pd_status st = pd_smtp_opts_check(o, e);
	if (st != PD_OK)
		return st;
	bool has_user = c->smtp_username && *c->smtp_username;
	bool has_pwfile = c->smtp_password_file && *c->smtp_password_file;
	if (has_user && !has_pwfile)
		return pd_fail(e, PD_E_CONFIG, "smtp.password_file",
		               _("smtp.username is set but smtp.password_file is not"));
	if (has_pwfile && !has_user)
		return pd_fail(e, PD_E_CONFIG, "smtp.username",
		               _("smtp.password_file is set but smtp.username is not"));
	if (has_pwfile) {
		pd_err pe = {0};
		char *pw = pd_config_smtp_password(c, &pe);
		if (!pw) {
			if (pe.status != PD_OK) {
				if (e)
					*e = pe;
				if (e && !e->field[0])
					snprintf(e->field, sizeof e->field, "smtp.password_file");
				return pe.status;
			}
			pw = xstrdup("");
		}
		*password_owned = pw;
		o->password = pw;
	}
	return PD_OK;
}

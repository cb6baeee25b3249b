/* The invitation email of the primary user (docs/user-guide.md, Invitations and the outbox).
 * Rendered in core so the store can queue it in the same transaction as the customer. */
#include <stdbool.h>
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

/* The invitation's text in each language it is written in, chosen by the
 * customer's locale (docs/user-guide.md, "Language and locale"): the
 * customer's own language, not the support engineer's, so not gettext. Each
 * "%s" of a text is filled, in order, by fill() (not printf: the texts are
 * data, and user text never becomes a format). */
typedef struct {
	const char *subject;      /* customer name */
	const char *hello;        /* display name */
	const char *hello_anon;   /* no display name */
	const char *invited_by;   /* inviter, customer name */
	const char *invited;      /* customer name */
	const char *with_role;    /* role label */
	const char *open_link;    /* (no argument) */
	const char *until;        /* expiry date */
	bool french_date;         /* 17/11/2026 à 12:00 UTC, else 2026-11-17 12:00 UTC */
	const char *link_line;    /* link */
	const char *no_link;      /* (no argument) */
	const char *signin_email; /* email */
	const char *extension;    /* extension */
	const char *tenant;       /* tenant id */
	const char *same_email;   /* email */
	const char *admin_can;    /* (no argument) */
	const char *footer;       /* (no argument) */
	const char *role_admin, *role_supervisor, *role_agent, *role_reporting;
} invite_text;

static const invite_text text_en = {
    .subject = "Invitation: your %s account on the contact-centre platform",
    .hello = "Hello %s,\n\n",
    .hello_anon = "Hello there,\n\n",
    .invited_by = "%s, of your reseller's support team, has invited you to the "
                  "call-analytics and contact-centre platform for the customer %s",
    .invited = "You have been invited to the call-analytics and contact-centre "
               "platform for the customer %s",
    .with_role = ", with the role %s",
    .open_link = "To activate your account and choose your password, open this link",
    .until = " (it works once, until %s)",
    .french_date = false,
    .link_line = ":\n\n  %s\n\n",
    .no_link = "This email carries no activation link: your reseller has not "
               "configured the platform's sign-in address yet. Please ask your "
               "reseller's support team to send the invitation again; do not try to "
               "sign in before you receive it.\n\n",
    .signin_email = "Your sign-in email: %s\n",
    .extension = "Your extension:     %s\n",
    .tenant = "Customer tenant id: %s\n\n",
    .same_email = "Important: use this same email address (%s) for your user on your PBX. "
                  "The platform links the users it finds on the PBX to platform users by "
                  "their email address, so your calls and agent status are attributed to "
                  "you only when both match.\n\n",
    .admin_can = "As Customer Administrator you can invite and manage the other users "
                 "of your organisation.\n\n",
    .footer = "If you did not expect this message, please tell your reseller's support "
              "team.\n\n-- \nReseller Support\n",
    .role_admin = "Customer Administrator",
    .role_supervisor = "Supervisor",
    .role_agent = "Agent",
    .role_reporting = "Reporting",
};

static const invite_text text_fr = {
    .subject = "Invitation : votre compte %s sur la plateforme de centre de contacts",
    .hello = "Bonjour %s,\n\n",
    .hello_anon = "Bonjour,\n\n",
    .invited_by = "%s, de l'équipe support de votre revendeur, vous a invité(e) sur la "
                  "plateforme d'analyse d'appels et de centre de contacts pour le client %s",
    .invited = "Vous avez été invité(e) sur la plateforme d'analyse d'appels et de centre "
               "de contacts pour le client %s",
    .with_role = ", avec le rôle %s",
    .open_link = "Pour activer votre compte et choisir votre mot de passe, ouvrez ce lien",
    .until = " (valable une seule fois, jusqu'au %s)",
    .french_date = true,
    .link_line = " :\n\n  %s\n\n",
    .no_link = "Ce message ne contient pas de lien d'activation : votre revendeur n'a pas "
               "encore configuré l'adresse de connexion de la plateforme. Merci de demander "
               "à l'équipe support de votre revendeur de renvoyer l'invitation, et de ne pas "
               "essayer de vous connecter avant de l'avoir reçue.\n\n",
    .signin_email = "Votre e-mail de connexion : %s\n",
    .extension = "Votre poste :               %s\n",
    .tenant = "Identifiant client :        %s\n\n",
    .same_email = "Important : utilisez cette même adresse e-mail (%s) pour votre "
                  "utilisateur sur votre PBX. La plateforme relie les utilisateurs qu'elle "
                  "trouve sur le PBX aux utilisateurs de la plateforme par leur adresse "
                  "e-mail : vos appels et votre statut d'agent ne vous sont attribués que si "
                  "les deux correspondent.\n\n",
    .admin_can = "En tant qu'administrateur client, vous pouvez inviter et gérer les autres "
                 "utilisateurs de votre organisation.\n\n",
    .footer = "Si vous n'attendiez pas ce message, merci de prévenir l'équipe support de "
              "votre revendeur.\n\n-- \nSupport revendeur\n",
    .role_admin = "administrateur client",
    .role_supervisor = "superviseur",
    .role_agent = "agent",
    .role_reporting = "consultation des rapports",
};

/* French for a customer whose locale's language is French (fr_FR, fr_BE,
 * fr_CH, …); English otherwise, and when the locale is not set. */
static const invite_text *text_for(const char *locale)
{
	if (locale && !strncmp(locale, "fr", 2) && (locale[2] == '_' || !locale[2]))
		return &text_fr;
	return &text_en;
}

static const char *role_label(const invite_text *t, const char *role)
{
	if (!role)
		return NULL;
	if (!strcmp(role, PD_ROLE_ADMIN))
		return t->role_admin;
	if (!strcmp(role, "supervisor"))
		return t->role_supervisor;
	if (!strcmp(role, "agent"))
		return t->role_agent;
	if (!strcmp(role, "reporting"))
		return t->role_reporting;
	return role;
}

/* Appends tmpl with its first "%s" replaced by a and its second by b. */
static void fill(pd_buf *b, const char *tmpl, const char *a, const char *bb)
{
	const char *args[2] = {a, bb};
	int n = 0;
	for (const char *p = tmpl; *p;) {
		const char *q = strstr(p, "%s");
		if (!q) {
			pd_buf_add(b, p);
			break;
		}
		pd_buf_addn(b, p, (size_t)(q - p));
		pd_buf_add(b, n < 2 && args[n] ? args[n] : "");
		n++;
		p = q + 2;
	}
}

void pd_invitation_render(const pd_customer *c, const pd_user *u, pd_invitation *out)
{
	pd_invitation_render_ctx(c, u, NULL, out);
}

void pd_invitation_render_ctx(const pd_customer *c, const pd_user *u, const pd_invitation_ctx *x,
                              pd_invitation *out)
{
	memset(out, 0, sizeof *out);
	const invite_text *t = text_for(c->locale);
	const char *cname = c->name ? c->name : "";
	const char *uname = u->display_name && *u->display_name ? u->display_name : NULL;
	const char *email = u->email ? u->email : "";
	const char *role_key = u->primary && !u->role ? PD_ROLE_ADMIN : u->role;
	const char *role = role_label(t, role_key);
	const char *inviter = x && x->inviter && *x->inviter ? x->inviter : NULL;
	const char *link = x && x->link && *x->link ? x->link : NULL;

	char *safe = header_safe(cname);
	out->to = xstrdup(email);
	pd_buf b = {0};
	fill(&b, t->subject, safe, NULL);
	out->subject = pd_buf_steal(&b);
	free(safe);

	if (uname)
		fill(&b, t->hello, uname, NULL);
	else
		pd_buf_add(&b, t->hello_anon);
	if (inviter)
		fill(&b, t->invited_by, inviter, cname);
	else
		fill(&b, t->invited, cname, NULL);
	if (role)
		fill(&b, t->with_role, role, NULL);
	pd_buf_add(&b, ".\n\n");
	if (link) {
		char when[64] = "";
		time_t tt = (time_t)x->link_expires;
		struct tm tm;
		if (x->link_expires > 0 && gmtime_r(&tt, &tm)) {
			if (t->french_date)
				strftime(when, sizeof when, "%d/%m/%Y à %H:%M UTC", &tm);
			else
				strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm);
		}
		pd_buf_add(&b, t->open_link);
		if (*when)
			fill(&b, t->until, when, NULL);
		fill(&b, t->link_line, link, NULL);
	} else {
		pd_buf_add(&b, t->no_link);
	}
	fill(&b, t->signin_email, email, NULL);
	if (u->extension && *u->extension)
		fill(&b, t->extension, u->extension, NULL);
	fill(&b, t->tenant, c->tenant_id, NULL);
	fill(&b, t->same_email, email, NULL);
	if (role_key && !strcmp(role_key, PD_ROLE_ADMIN))
		pd_buf_add(&b, t->admin_can);
	pd_buf_add(&b, t->footer);
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

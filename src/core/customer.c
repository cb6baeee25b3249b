/* Customer and user records: status, copies, whole-record checks and the
 * creation bundle shared by the wizard, the command line and the import. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provdesk/i18n.h"
#include "provdesk/model.h"

static const char *const status_names[] = {
#define PD_X(e, s) s,
    PD_CUSTOMER_STATUS_LIST(PD_X)
#undef PD_X
};
#define N_STATUS (sizeof status_names / sizeof status_names[0])

const char *pd_customer_status_name(pd_customer_status s)
{
	return (unsigned)s < N_STATUS ? status_names[s] : "unknown";
}

bool pd_customer_status_parse(const char *s, pd_customer_status *out)
{
	for (size_t i = 0; s && i < N_STATUS; i++)
		if (!strcmp(s, status_names[i])) {
			*out = (pd_customer_status)i;
			return true;
		}
	return false;
}

pd_customer_status pd_customer_status_of(const pd_customer *c, pd_day today)
{
	if (c->deleted_at)
		return PD_CS_DELETED;
	if (c->disabled)
		return PD_CS_DISABLED;
	if (c->trial && !c->trial_converted)
		return today > c->trial_end ? PD_CS_TRIAL_EXPIRED : PD_CS_TRIAL;
	return PD_CS_ACTIVE;
}

int pd_customer_trial_days_left(const pd_customer *c, pd_day today)
{
	if (!c->trial)
		return 0;
	return (int)(c->trial_end - today);
}

void pd_internal_warning(const char *name, int64_t used, int limit, char *out, size_t n)
{
	int64_t left = (int64_t)limit - used;
	if (left < 0)
		left = 0;
	pd_snprintf(out, n,
	            _("\"%.100s\" is an internal system: for the reseller's internal use only, it "
	              "will not be billed. %lld of %d internal system%s left "
	              "([customers] internal_systems_limit)."),
	            name ? name : "", (long long)left, limit, limit == 1 ? "" : "s");
}

const char *pd_customer_billing_id(const pd_customer *c)
{
	return c->reference && *c->reference ? c->reference : c->tenant_id;
}

void pd_customer_free(pd_customer *c)
{
	if (!c)
		return;
	free(c->name);
	free(c->product_type);
	free(c->reference);
	free(c->time_zone);
	free(c->locale);
	free(c->notes);
	c->name = c->product_type = c->reference = c->time_zone = c->locale = c->notes = NULL;
}

void pd_customer_copy(pd_customer *dst, const pd_customer *src)
{
	if (dst == src)
		return;
	*dst = *src;
	dst->name = xstrdup(src->name);
	dst->product_type = xstrdup(src->product_type);
	dst->reference = xstrdup(src->reference);
	dst->time_zone = xstrdup(src->time_zone);
	dst->locale = xstrdup(src->locale);
	dst->notes = xstrdup(src->notes);
}

/* Replace *p by its trimmed copy; empty optional text becomes NULL. */
static void trim_field(char **p, bool empty_to_null)
{
	if (!*p)
		return;
	char *t = pd_trim(*p);
	free(*p);
	if (empty_to_null && !*t) {
		free(t);
		t = NULL;
	}
	*p = t;
}

/* Notes keep their inner layout: only trailing whitespace and leading blank
 * lines go. */
static void trim_notes(char **p)
{
	trim_field(p, true);
}

pd_status pd_customer_check(const pd_catalogue *cat, const pd_geo *g, pd_customer *c, pd_err *e)
{
	char *name = NULL;
	pd_status st = pd_check_name(c->name, &name, e);
	if (st != PD_OK)
		return st;
	free(c->name);
	c->name = name;

	char cc[3];
	char *country_in = c->country[0] ? xstrndup(c->country, 2) : NULL;
	st = pd_check_country(g, country_in, cc, e);
	free(country_in);
	if (st != PD_OK)
		return st;
	memcpy(c->country, cc, 3);

	if (c->product_type)
		trim_field(&c->product_type, false);
	st = pd_check_product_type(cat, c->product_type, c->country, e);
	if (st != PD_OK)
		return st;

	trim_field(&c->reference, true);
	if ((st = pd_check_reference(c->reference, e)) != PD_OK)
		return st;
	trim_notes(&c->notes);
	if ((st = pd_check_notes(c->notes, e)) != PD_OK)
		return st;

	trim_field(&c->time_zone, true);
	char *tz = NULL;
	st = pd_check_time_zone(g, c->country, c->time_zone, &tz, e);
	if (st != PD_OK)
		return st;
	free(c->time_zone);
	c->time_zone = tz;

	trim_field(&c->locale, true);
	char *loc = NULL;
	st = pd_check_locale(g, c->country, c->locale, &loc, e);
	if (st != PD_OK)
		return st;
	free(c->locale);
	c->locale = loc;

	if (c->trial) {
		if (c->trial_end < c->trial_start) {
			char a[11], b[11];
			pd_day_format(c->trial_start, a);
			pd_day_format(c->trial_end, b);
			return pd_fail(e, PD_E_INVALID, "trial_end",
			               _("the trial ends (%s) before it starts (%s)"), b, a);
		}
		/* A converted trial is history; only a running one needs the
		 * product type to allow trials. */
		if (!c->trial_converted) {
			st = pd_check_trial(cat, c->product_type, c->trial_start, c->trial_end, e);
			if (st != PD_OK)
				return st;
		}
	}
	return PD_OK;
}

/* ---- users ---- */

static const char *const invite_names[] = {"none", "queued", "sent", "failed", "cancelled"};

const char *pd_invite_state_name(pd_invite_state s)
{
	return (unsigned)s < sizeof invite_names / sizeof invite_names[0] ? invite_names[s]
	                                                                  : "unknown";
}

const char *pd_invite_state_label(pd_invite_state s)
{
	switch (s) {
	case PD_INVITE_NONE:
		return _("none");
	case PD_INVITE_QUEUED:
		return _("queued");
	case PD_INVITE_SENT:
		return _("sent");
	case PD_INVITE_FAILED:
		return _("failed");
	case PD_INVITE_CANCELLED:
		return _("cancelled");
	}
	return pd_invite_state_name(s);
}

void pd_user_free(pd_user *u)
{
	if (!u)
		return;
	free(u->display_name);
	free(u->email);
	free(u->extension);
	free(u->role);
	free(u->endpoint);
	free(u->sub_account);
	free(u->device_state);
	u->display_name = u->email = u->extension = u->role = NULL;
	u->endpoint = u->sub_account = u->device_state = NULL;
}

/* Field names are prefixed for the creation bundle ("admin_email",
 * "users[1].email") so the message points at the right input. */
static pd_status user_check_fields(const pd_catalogue *cat, pd_user *u, const char *f_name,
                                   const char *f_email, const char *f_ext, const char *f_role,
                                   pd_err *e)
{
	pd_status st;
	char *dn = NULL;
	if (u->display_name || !u->synced) {
		if ((st = pd_check_display_name(u->display_name, f_name, e)) != PD_OK)
			return st;
		dn = pd_trim(u->display_name);
		free(u->display_name);
		u->display_name = dn;
	}
	trim_field(&u->email, true);
	if (u->email || !u->synced)
		if ((st = pd_check_email(u->email, f_email, e)) != PD_OK)
			return st;
	trim_field(&u->extension, true);
	if ((st = pd_check_extension(u->extension, f_ext, e)) != PD_OK)
		return st;
	trim_field(&u->role, true);
	if (u->role && !pd_catalogue_role(cat, u->role)) {
		pd_buf b = {0};
		for (size_t i = 0; i < cat->n_roles; i++)
			pd_buf_printf(&b, "%s%s", i ? ", " : "", cat->roles[i].key);
		pd_fail(e, PD_E_INVALID, f_role, _("unknown role '%.60s' (known: %s)"), u->role,
		        b.s ? b.s : "none");
		pd_buf_free(&b);
		return PD_E_INVALID;
	}
	return PD_OK;
}

pd_status pd_user_check(const pd_catalogue *cat, pd_user *u, pd_err *e)
{
	return user_check_fields(cat, u, "display_name", "email", "extension", "role", e);
}

/* ---- creation bundle ---- */

void pd_new_customer_free(pd_new_customer *n)
{
	if (!n)
		return;
	pd_customer_free(&n->customer);
	pd_user_free(&n->admin);
	for (size_t i = 0; i < n->n_users; i++)
		pd_user_free(&n->users[i]);
	free(n->users);
	n->users = NULL;
	n->n_users = 0;
	for (size_t i = 0; i < n->n_synced; i++)
		pd_user_free(&n->synced[i]);
	free(n->synced);
	n->synced = NULL;
	n->n_synced = 0;
	if (n->pbx) {
		pd_pbx_free(n->pbx);
		free(n->pbx);
		n->pbx = NULL;
	}
}

static bool same_email(const char *a, const char *b)
{
	if (!a || !b)
		return false;
	char *x = pd_fold_key(a), *y = pd_fold_key(b);
	bool same = x && y && !strcmp(x, y);
	free(x);
	free(y);
	return same;
}

pd_status pd_check_email_free(const char *email, const char *primary_email,
                              const char *const *earlier, size_t n, const char *field, pd_err *e)
{
	if (same_email(email, primary_email))
		return pd_fail(e, PD_E_INVALID, field,
		               _("email %.254s is already used by the primary user"), email);
	for (size_t j = 0; j < n; j++)
		if (same_email(email, earlier[j]))
			return pd_fail(
			    e, PD_E_INVALID, field,
			    _("email %.254s is already used by another user of this customer"),
			    email);
	return PD_OK;
}

/* The PBX's own users, as a discovery gave them: their text is the PBX's
 * (not held to the console's rules, as the sync does not), but it must be
 * text, and the role is ours to check. */
static pd_status synced_check(const pd_catalogue *cat, pd_new_customer *n, pd_err *e)
{
	if (n->n_synced && (!n->pbx || !n->pbx->sync_users))
		return pd_fail(e, PD_E_INVALID, "synced_users",
		               _("users found on the PBX need a PBX connection that syncs users"));
	for (size_t i = 0; i < n->n_synced; i++) {
		pd_user *u = &n->synced[i];
		char fn[48];
		u->primary = false;
		u->synced = true;
		trim_field(&u->endpoint, true);
		snprintf(fn, sizeof fn, "synced_users[%zu].endpoint", i);
		if (!u->endpoint)
			return pd_fail(e, PD_E_INVALID, fn, _("a PBX user has no endpoint id"));
		const char *text[] = {u->endpoint, u->display_name, u->email, u->sub_account};
		for (size_t k = 0; k < 4; k++)
			if (text[k] &&
			    (!pd_utf8_valid(text[k], strlen(text[k])) || strlen(text[k]) > 1024))
				return pd_fail(e, PD_E_INVALID, fn,
				               _("PBX user %.64s has a field that is not valid "
				                 "UTF-8 text"),
				               pd_utf8_valid(u->endpoint, strlen(u->endpoint))
				                   ? u->endpoint
				                   : "?");
		for (size_t j = 0; j < i; j++)
			if (!strcmp(n->synced[j].endpoint, u->endpoint))
				return pd_fail(e, PD_E_INVALID, fn,
				               _("endpoint %.64s is listed twice"), u->endpoint);
		trim_field(&u->email, true);
		trim_field(&u->role, true);
		snprintf(fn, sizeof fn, "synced_users[%zu].role", i);
		if (u->role && !pd_catalogue_role(cat, u->role))
			return pd_fail(e, PD_E_INVALID, fn, _("unknown role '%.60s'"), u->role);
	}
	return PD_OK;
}

pd_status pd_check_trial_days(int days, pd_err *e)
{
	if (days < 0 || days > 365)
		return pd_fail(e, PD_E_INVALID, "trial_days",
		               _("trial length must be between 1 and 365 days (got %d)"), days);
	return PD_OK;
}

pd_status pd_new_customer_check(const pd_catalogue *cat, const pd_geo *g, pd_new_customer *n,
                                pd_day today, pd_err *e)
{
	pd_customer *c = &n->customer;
	pd_status st;
	if ((st = pd_check_trial_days(n->trial_days, e)) != PD_OK)
		return st;
	c->trial = n->trial_days > 0;
	c->trial_converted = false;
	if (c->trial) {
		c->trial_start = today;
		c->trial_end = today + n->trial_days - 1;
	} else {
		c->trial_start = c->trial_end = 0;
	}
	if ((st = pd_customer_check(cat, g, c, e)) != PD_OK)
		return st;

	/* The primary user is always the Customer Administrator. */
	n->admin.primary = true;
	n->admin.synced = false;
	pd_set_str(&n->admin.role, PD_ROLE_ADMIN);
	st = user_check_fields(cat, &n->admin, "admin_name", "admin_email", "admin_extension",
	                       "admin_role", e);
	if (st != PD_OK)
		return st;

	for (size_t i = 0; i < n->n_users; i++) {
		pd_user *u = &n->users[i];
		char fn[4][48];
		snprintf(fn[0], sizeof fn[0], "users[%zu].display_name", i);
		snprintf(fn[1], sizeof fn[1], "users[%zu].email", i);
		snprintf(fn[2], sizeof fn[2], "users[%zu].extension", i);
		snprintf(fn[3], sizeof fn[3], "users[%zu].role", i);
		u->primary = false;
		u->synced = false;
		if ((st = user_check_fields(cat, u, fn[0], fn[1], fn[2], fn[3], e)) != PD_OK)
			return st;
		const char **earlier = xcalloc(i ? i : 1, sizeof *earlier);
		for (size_t j = 0; j < i; j++)
			earlier[j] = n->users[j].email;
		st = pd_check_email_free(u->email, n->admin.email, earlier, i, fn[1], e);
		free(earlier);
		if (st != PD_OK)
			return st;
	}

	if ((st = synced_check(cat, n, e)) != PD_OK)
		return st;
	if (n->pbx) {
		if ((st = pd_pbx_check(cat, n->pbx, e)) != PD_OK)
			return st;
		const pd_product_type *p = pd_catalogue_product(cat, c->product_type);
		if (!pd_product_allows_platform(p, n->pbx->platform)) {
			pd_buf b = {0};
			for (size_t i = 0; i < p->n_platforms; i++)
				pd_buf_printf(&b, "%s%s", i ? ", " : "", p->platforms[i]);
			pd_fail(
			    e, PD_E_INVALID, "platform",
			    _("product type '%s' does not support PBX platform '%s' (allowed: %s)"),
			    p->key, n->pbx->platform, b.s ? b.s : "none");
			pd_buf_free(&b);
			return PD_E_INVALID;
		}
	}
	return PD_OK;
}

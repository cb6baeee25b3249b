/* Field rules of the entities of include/provdesk/model.h. Each check names the offending field in
 * pd_err so the console can show the message beside the field and the command line can print it as
 * {"error":{"field":…}}. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "provdesk/i18n.h"
#include "provdesk/model.h"

/* Walks valid UTF-8 text; returns false at the first disallowed code point.
 * allow_lines permits \n, \r and \t (notes). */
static bool no_controls(const char *s, bool allow_lines)
{
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
	while (*p) {
		utf8proc_int32_t cp;
		utf8proc_ssize_t k = utf8proc_iterate(p, -1, &cp);
		if (k <= 0)
			return false;
		if (allow_lines && (cp == '\n' || cp == '\r' || cp == '\t')) {
			p += k;
			continue;
		}
		/* Bidirectional overrides and isolates would let a name reorder
		 * what is drawn after it in the grid and in billing outputs. */
		if (pd_cp_unsafe((uint32_t)cp))
			return false;
		p += k;
	}
	return true;
}

/* Shared by names and display names: trimmed, 1..max code points. */
static pd_status check_text_required(const char *in, const char *field, const char *what,
                                     size_t max, char **normalized, pd_err *e)
{
	if (!in)
		return pd_fail(e, PD_E_INVALID, field, _("%s is required"), what);
	if (!pd_utf8_valid(in, strlen(in)))
		return pd_fail(e, PD_E_INVALID, field, _("%s is not valid UTF-8 text"), what);
	char *t = pd_trim(in);
	if (!*t) {
		free(t);
		return pd_fail(e, PD_E_INVALID, field,
		               _("%s is required (it is empty or only spaces)"), what);
	}
	size_t n = pd_utf8_chars(t);
	if (n > max) {
		free(t);
		return pd_fail(e, PD_E_INVALID, field,
		               _("%s is too long: %zu characters, at most %zu"), what, n, max);
	}
	if (!no_controls(t, false)) {
		free(t);
		return pd_fail(e, PD_E_INVALID, field,
		               _("%s must not contain control characters (tabs, line breaks, "
		                 "direction overrides…)"),
		               what);
	}
	if (normalized)
		*normalized = t;
	else
		free(t);
	return PD_OK;
}

pd_status pd_check_name(const char *in, char **normalized, pd_err *e)
{
	return check_text_required(in, "name", "name", PD_NAME_MAX, normalized, e);
}

pd_status pd_check_display_name(const char *in, const char *field, pd_err *e)
{
	return check_text_required(in, field ? field : "display_name", _("display name"),
	                           PD_DISPLAY_NAME_MAX, NULL, e);
}

pd_status pd_check_text(const char *in, const char *field, size_t max, bool allow_lines, pd_err *e)
{
	if (!in || !*in)
		return PD_OK;
	if (!pd_utf8_valid(in, strlen(in)))
		return pd_fail(e, PD_E_INVALID, field, _("%s is not valid UTF-8 text"), field);
	size_t n = pd_utf8_chars(in);
	if (n > max)
		return pd_fail(e, PD_E_INVALID, field,
		               _("%s is too long: %zu characters, at most %zu"), field, n, max);
	if (!no_controls(in, allow_lines))
		return pd_fail(e, PD_E_INVALID, field,
		               _("%s must not contain control characters%s"), field,
		               allow_lines ? "" : _(" (tabs, line breaks…)"));
	return PD_OK;
}

pd_status pd_check_reference(const char *in, pd_err *e)
{
	return pd_check_text(in, "reference", PD_REFERENCE_MAX, false, e);
}

pd_status pd_check_notes(const char *in, pd_err *e)
{
	return pd_check_text(in, "notes", PD_NOTES_MAX, true, e);
}

static bool folded_equal(const char *a, const char *b)
{
	char *ka = pd_fold_key(a ? a : ""), *kb = pd_fold_key(b ? b : "");
	bool eq = ka && kb && !strcmp(ka, kb);
	free(ka);
	free(kb);
	return eq;
}

const pd_country *pd_country_from_text(const pd_geo *g, const char *text, size_t *n_matches)
{
	if (n_matches)
		*n_matches = 0;
	if (!g || !text)
		return NULL;
	char *t = pd_trim(text);
	const pd_country *found = NULL;
	size_t len = strlen(t);
	/* "Allemagne / Germany (DE)": the form the wizard's picker writes back */
	if (len >= 4 && t[len - 1] == ')' && t[len - 4] == '(') {
		char code[3] = {t[len - 3], t[len - 2], 0};
		found = pd_geo_country(g, code);
	}
	if (!found && len == 2)
		found = pd_geo_country(g, t);
	if (!found && *t) {
		const pd_country *m[16];
		size_t n = pd_geo_search(g, t, m, sizeof m / sizeof *m);
		if (n_matches)
			*n_matches = n;
		for (size_t i = 0; i < n && !found; i++)
			if (folded_equal(m[i]->name_en, t) || folded_equal(m[i]->name_fr, t))
				found = m[i];
		if (!found && n == 1)
			found = m[0];
	}
	free(t);
	return found;
}

pd_status pd_check_country(const pd_geo *g, const char *in, char out[3], pd_err *e)
{
	char *t = pd_trim(in ? in : "");
	if (!*t) {
		free(t);
		return pd_fail(e, PD_E_INVALID, "country", _("country is required"));
	}
	size_t n = 0;
	const pd_country *c = pd_country_from_text(g, t, &n);
	if (!c && n > 1) {
		const pd_country *found[6];
		size_t k = pd_geo_search(g, t, found, sizeof found / sizeof *found);
		pd_buf b = {0};
		for (size_t i = 0; i < k && i < 5; i++)
			pd_buf_printf(&b, "%s%s (%s)", i ? ", " : "", found[i]->name_en,
			              found[i]->code);
		if (n > 5)
			pd_buf_add(&b, ", …");
		pd_fail(e, PD_E_INVALID, "country",
		        _("'%.40s' matches several countries: %s; give the ISO code"), t, b.s);
		pd_buf_free(&b);
		free(t);
		return PD_E_INVALID;
	}
	if (!c) {
		pd_fail(e, PD_E_INVALID, "country",
		        _("unknown country '%.40s' (use an ISO 3166-1 alpha-2 code such as FR, "
		          "or the country's English or French name)"),
		        t);
		free(t);
		return PD_E_INVALID;
	}
	free(t);
	memcpy(out, c->code, 3);
	return PD_OK;
}

pd_status pd_check_time_zone(const pd_geo *g, const char *country, const char *tz, char **out,
                             pd_err *e)
{
	if (!tz || !*tz) {
		const pd_country *c = country ? pd_geo_country(g, country) : NULL;
		if (!c)
			return pd_fail(e, PD_E_INVALID, "time_zone",
			               _("time zone is required when the country is unknown"));
		/* A few territories (e.g. Bouvet Island) have no zone of their own. */
		*out = xstrdup(c->n_zones ? c->zones[0] : "UTC");
		return PD_OK;
	}
	if (!pd_geo_zone_valid(g, tz))
		return pd_fail(
		    e, PD_E_INVALID, "time_zone",
		    _("unknown time zone '%.60s' (use an IANA name such as Europe/Paris)"), tz);
	*out = xstrdup(tz);
	return PD_OK;
}

static void list_keys(pd_buf *b, const pd_catalogue *cat)
{
	for (size_t i = 0; i < cat->n_types; i++)
		pd_buf_printf(b, "%s%s", i ? ", " : "", cat->types[i].key);
}

pd_status pd_check_product_type(const pd_catalogue *cat, const char *key, const char *country,
                                pd_err *e)
{
	if (!key || !*key)
		return pd_fail(e, PD_E_INVALID, "product_type", _("product type is required"));
	const pd_product_type *p = pd_catalogue_product(cat, key);
	if (!p) {
		pd_buf b = {0};
		list_keys(&b, cat);
		pd_fail(e, PD_E_INVALID, "product_type",
		        _("unknown product type '%.60s' (known: %s)"), key, b.s ? b.s : "none");
		pd_buf_free(&b);
		return PD_E_INVALID;
	}
	if (country && *country && !pd_product_sold_in(p, country)) {
		pd_buf b = {0};
		for (size_t i = 0; i < p->n_countries; i++)
			pd_buf_printf(&b, "%s%s", i ? ", " : "", p->countries[i]);
		pd_fail(e, PD_E_INVALID, "product_type",
		        _("product type '%s' is not sold in %.2s (sold in: %s)"), key, country,
		        b.s ? b.s : "");
		pd_buf_free(&b);
		return PD_E_INVALID;
	}
	return PD_OK;
}

/* "39.00 EUR" */
static void money(pd_buf *b, int64_t cents, const char *currency)
{
	const char *sign = cents < 0 ? "-" : "";
	int64_t a = cents < 0 ? -cents : cents;
	pd_buf_printf(b, "%s%lld.%02lld %s", sign, (long long)(a / 100), (long long)(a % 100),
	              currency ? currency : "");
}

pd_status pd_check_product_change(const pd_catalogue *cat, const char *old_key, const char *new_key,
                                  char **impact, pd_err *e)
{
	if (impact)
		*impact = NULL;
	pd_status st = pd_check_product_type(cat, new_key, NULL, e);
	if (st != PD_OK)
		return st;
	if (old_key && !strcmp(old_key, new_key))
		return PD_OK;
	const pd_product_type *o = old_key ? pd_catalogue_product(cat, old_key) : NULL;
	const pd_product_type *n = pd_catalogue_product(cat, new_key);
	if (o && o->locked_after_assignment)
		return pd_fail(
		    e, PD_E_INVALID, "product_type",
		    _("product type '%s' is locked after assignment: it cannot be changed "
		      "to '%s'"),
		    o->key, n->key);
	if (!impact)
		return PD_OK;
	pd_buf b = {0};
	pd_buf_printf(&b, _("Licensing impact: product type changes from %s to %s (%s)."),
	              o ? o->name : (old_key ? old_key : "none"), n->name, n->key);
	pd_buf_add(&b, _(" Price per licensed user per month: "));
	if (o)
		money(&b, o->price_cents, o->currency);
	else
		pd_buf_add(&b, "unknown");
	pd_buf_add(&b, " -> ");
	money(&b, n->price_cents, n->currency);
	if (o && (!o->currency || !n->currency || !strcmp(o->currency, n->currency))) {
		pd_buf_add(&b, " (");
		int64_t d = n->price_cents - o->price_cents;
		if (d >= 0)
			pd_buf_addc(&b, '+');
		money(&b, d, n->currency);
		pd_buf_add(&b, _(" per user)"));
	}
	pd_buf_add(
	    &b, _(". It applies to every licensed user from the next billing period, pro rata."));
	if (o && o->trial_allowed && !n->trial_allowed)
		pd_buf_add(&b, _(" The new product type does not allow trials."));
	if (n->locked_after_assignment)
		pd_buf_printf(&b,
		              _(" Warning: %s is locked after assignment; once changed, the "
		                "product type can never be changed again."),
		              n->key);
	*impact = pd_buf_steal(&b);
	return PD_OK;
}

static bool atext(unsigned char c)
{
	return isalnum(c) || strchr("!#$%&'*+/=?^_`{|}~-", c);
}

pd_status pd_check_email(const char *in, const char *field, pd_err *e)
{
	const char *f = field ? field : "email";
	if (!in || !*in)
		return pd_fail(e, PD_E_INVALID, f, _("email address is required"));
	size_t len = strlen(in);
	if (len > PD_EMAIL_MAX)
		return pd_fail(e, PD_E_INVALID, f,
		               _("email address is too long: %zu characters, at most %d"), len,
		               PD_EMAIL_MAX);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c == ' ' || c == '\t')
			return pd_fail(e, PD_E_INVALID, f,
			               _("email address must not contain spaces"));
		if (c < 0x20 || c == 0x7f)
			return pd_fail(e, PD_E_INVALID, f,
			               _("email address must not contain control characters"));
		if (c >= 0x80)
			return pd_fail(e, PD_E_INVALID, f,
			               _("email address must use ASCII characters only"));
	}
	const char *at = strchr(in, '@');
	if (!at)
		return pd_fail(
		    e, PD_E_INVALID, f,
		    _("'%.80s' is not an email address: it has no @ (expected name@example.com)"),
		    in);
	if (strchr(at + 1, '@'))
		return pd_fail(e, PD_E_INVALID, f, _("email address must contain exactly one @"));
	size_t local = (size_t)(at - in);
	if (local == 0)
		return pd_fail(e, PD_E_INVALID, f, _("email address has nothing before the @"));
	if (local > 64)
		return pd_fail(e, PD_E_INVALID, f,
		               _("the part before the @ is too long: %zu characters, at most 64"),
		               local);
	for (size_t i = 0; i < local; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c == '.') {
			if (i == 0 || i == local - 1 || in[i + 1] == '.')
				return pd_fail(e, PD_E_INVALID, f,
				               _("the part before the @ has a misplaced dot"));
		} else if (!atext(c)) {
			return pd_fail(
			    e, PD_E_INVALID, f,
			    _("the part before the @ contains '%c', which is not allowed"), c);
		}
	}
	const char *d = at + 1;
	size_t dlen = strlen(d);
	if (dlen == 0)
		return pd_fail(e, PD_E_INVALID, f, _("email address has no domain after the @"));
	if (dlen > 253)
		return pd_fail(e, PD_E_INVALID, f, _("email domain is too long"));
	int labels = 0;
	const char *lab = d, *last = d;
	for (;;) {
		const char *dot = strchr(lab, '.');
		size_t n = dot ? (size_t)(dot - lab) : strlen(lab);
		if (n == 0 || n > 63)
			return pd_fail(
			    e, PD_E_INVALID, f,
			    _("email domain '%.80s' is not valid (empty or over-long label)"), d);
		for (size_t i = 0; i < n; i++)
			if (!isalnum((unsigned char)lab[i]) && lab[i] != '-')
				return pd_fail(
				    e, PD_E_INVALID, f,
				    _("email domain '%.80s' contains '%c', which is not allowed"),
				    d, lab[i]);
		if (lab[0] == '-' || lab[n - 1] == '-')
			return pd_fail(
			    e, PD_E_INVALID, f,
			    _("email domain '%.80s' has a label starting or ending with '-'"), d);
		labels++;
		last = lab;
		if (!dot)
			break;
		lab = dot + 1;
	}
	if (labels < 2)
		return pd_fail(
		    e, PD_E_INVALID, f,
		    _("email domain '%.80s' needs a top-level domain (e.g. example.com)"), d);
	/* The top-level domain is letters, or an IDN A-label (xn--…). */
	bool tld_ok = strlen(last) >= 2;
	if (strncmp(last, "xn--", 4) != 0)
		for (const char *p = last; *p; p++)
			tld_ok = tld_ok && isalpha((unsigned char)*p);
	if (!tld_ok)
		return pd_fail(e, PD_E_INVALID, f,
		               _("email domain '%.80s' has an invalid top-level domain"), d);
	return PD_OK;
}

pd_status pd_check_extension(const char *in, const char *field, pd_err *e)
{
	const char *f = field ? field : "extension";
	if (!in || !*in)
		return PD_OK;
	size_t n = strlen(in);
	if (n > PD_EXTENSION_MAX)
		return pd_fail(e, PD_E_INVALID, f,
		               _("extension is too long: %zu characters, at most %d"), n,
		               PD_EXTENSION_MAX);
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)in[i]) && in[i] != '*' && in[i] != '#')
			return pd_fail(e, PD_E_INVALID, f,
			               _("extension '%.32s' may contain only digits, * and #"), in);
	return PD_OK;
}

pd_status pd_check_trial(const pd_catalogue *cat, const char *product_type, pd_day start,
                         pd_day end, pd_err *e)
{
	pd_status st = pd_check_product_type(cat, product_type, NULL, e);
	if (st != PD_OK)
		return st;
	const pd_product_type *p = pd_catalogue_product(cat, product_type);
	if (!p->trial_allowed)
		return pd_fail(e, PD_E_INVALID, "trial",
		               _("product type '%s' does not allow trials"), p->key);
	if (end < start) {
		char a[11], b[11];
		pd_day_format(start, a);
		pd_day_format(end, b);
		return pd_fail(e, PD_E_INVALID, "trial_end",
		               _("the trial ends (%s) before it starts (%s)"), b, a);
	}
	return PD_OK;
}

pd_status pd_update_country_zone(const pd_geo *g, const pd_customer *cur, const char *country,
                                 const char *tz, pd_customer *upd, pd_err *e)
{
	pd_status st = PD_OK;
	if (country)
		st = pd_check_country(g, country, upd->country, e);
	if (st != PD_OK || (!tz && strcmp(upd->country, cur->country) == 0))
		return st;
	/* a new country without a zone keeps the zone when it belongs to that
	 * country, else takes the country's default */
	const pd_country *co = pd_geo_country(g, upd->country);
	const char *want = tz;
	if (!want && co && cur->time_zone && pd_country_has_zone(co, cur->time_zone))
		want = cur->time_zone;
	char *z = NULL;
	st = pd_check_time_zone(g, upd->country, want, &z, e);
	if (st == PD_OK) {
		free(upd->time_zone);
		upd->time_zone = z;
	}
	return st;
}

pd_status pd_check_locale(const pd_geo *g, const char *country, const char *in, char **out,
                          pd_err *e)
{
	if (!in || !*in) {
		*out = xstrdup(pd_geo_default_locale(g, country));
		return PD_OK;
	}
	char name[8];
	if (!pd_locale_normalize(in, name))
		return pd_fail(e, PD_E_INVALID, "locale",
		               _("'%.40s' is not a locale (language_TERRITORY, such as fr_FR)"),
		               in);
	if (!pd_geo_locale_supported(g, name))
		return pd_fail(e, PD_E_INVALID, "locale",
		               _("%s is not a supported locale on this system (see "
		                 "/usr/share/i18n/SUPPORTED)"),
		               name);
	*out = xstrdup(name);
	return PD_OK;
}

pd_status pd_update_locale(const pd_geo *g, const pd_customer *cur, const char *in,
                           pd_customer *upd, pd_err *e)
{
	const char *want = in;
	if (!want) {
		if (!strcmp(upd->country, cur->country))
			return PD_OK;
		/* a hand-chosen locale stays; the old country's default follows
		 * the country */
		if (cur->locale && *cur->locale &&
		    strcmp(cur->locale, pd_geo_default_locale(g, cur->country)) != 0)
			return PD_OK;
	}
	char *l = NULL;
	pd_status st = pd_check_locale(g, upd->country, want, &l, e);
	if (st == PD_OK) {
		free(upd->locale);
		upd->locale = l;
	}
	return st;
}

/* model.h: every field rule, the whole-record checks and the creation
 * bundle, against the shipped catalogue and the system's country data. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#define PD_TEST_WITH_CATALOGUE
#include "helpers.h"
#include "provdesk/model.h"

static const pd_geo *geo;

static void setup(void)
{
	cat_setup();
	pd_err e = {0};
	cr_assert_eq(pd_geo_get(&geo, &e), PD_OK, "%s", e.message);
}

TestSuite(name, .init = setup, .fini = cat_teardown);
TestSuite(email, .init = setup, .fini = cat_teardown);
TestSuite(fields, .init = setup, .fini = cat_teardown);
TestSuite(product, .init = setup, .fini = cat_teardown);
TestSuite(trial, .init = setup, .fini = cat_teardown);
TestSuite(customer, .init = setup, .fini = cat_teardown);
TestSuite(newcust, .init = setup, .fini = cat_teardown);
TestSuite(pbx, .init = setup, .fini = cat_teardown);

static char *repeat(const char *unit, int n)
{
	pd_buf b = {0};
	for (int i = 0; i < n; i++)
		pd_buf_add(&b, unit);
	return pd_buf_steal(&b);
}

/* ---- names ---- */

Test(name, trimmed_on_success)
{
	char *out = NULL;
	pd_err e = {0};
	cr_assert_eq(pd_check_name("  Société Générale \t", &out, &e), PD_OK, "%s", e.message);
	cr_assert_str_eq(out, "Société Générale");
	free(out);
	cr_assert_eq(pd_check_name("X", NULL, &e), PD_OK);
}

Test(name, empty_and_whitespace_only)
{
	const char *bad[] = {"", " ", "\t\t", "  \xC2\xA0 ", "\xE3\x80\x80"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		pd_err e = {0};
		char *out = NULL;
		cr_assert_eq(pd_check_name(bad[i], &out, &e), PD_E_INVALID, "accepted '%s'",
		             bad[i]);
		cr_assert_null(out);
		cr_assert_str_eq(e.field, "name");
		assert_contains(e.message, "required");
	}
	pd_err e = {0};
	cr_assert_eq(pd_check_name(NULL, NULL, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "name");
}

Test(name, length_counts_code_points)
{
	pd_err e = {0};
	char *a100 = repeat("é", 100); /* 200 bytes, 100 characters: fine */
	cr_assert_eq(pd_check_name(a100, NULL, &e), PD_OK, "%s", e.message);
	char *a101 = repeat("a", 101);
	cr_assert_eq(pd_check_name(a101, NULL, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "name");
	assert_contains(e.message, "101");
	assert_contains(e.message, "100");
	char *e101 = repeat("é", 101);
	cr_assert_eq(pd_check_name(e101, NULL, &e), PD_E_INVALID);
	/* Spaces around do not count. */
	char *padded = xasprintf("   %s   ", a100);
	cr_assert_eq(pd_check_name(padded, NULL, &e), PD_OK);
	free(a100);
	free(a101);
	free(e101);
	free(padded);
}

Test(name, invalid_utf8_and_controls)
{
	pd_err e = {0};
	cr_assert_eq(pd_check_name("Acme\xC3", NULL, &e), PD_E_INVALID);
	assert_contains(e.message, "UTF-8");
	cr_assert_eq(pd_check_name("Acme\nCorp", NULL, &e), PD_E_INVALID);
	assert_contains(e.message, "control");
	cr_assert_eq(pd_check_name("Acme\x1b[31mCorp", NULL, &e), PD_E_INVALID, "escape sequence");
	cr_assert_eq(pd_check_name("Acme\xC2\x85"
	                           "Corp",
	                           NULL, &e),
	             PD_E_INVALID, "C1 control");
	/* U+202E RIGHT-TO-LEFT OVERRIDE would reorder the rest of a grid row. */
	cr_assert_eq(pd_check_name("Acme \xE2\x80\xAE"
	                           "gnp.exe",
	                           NULL, &e),
	             PD_E_INVALID);
	cr_assert_str_eq(e.field, "name");
	cr_assert_eq(pd_check_name("\xE2\x81\xA6x\xE2\x81\xA9", NULL, &e), PD_E_INVALID,
	             "isolates");
	cr_assert_eq(pd_check_name("שלום Acme", NULL, &e), PD_OK,
	             "right-to-left text itself is fine");
}

Test(name, accented_duplicates_share_fold_key)
{
	char *a = pd_fold_key("Société Générale"), *b = pd_fold_key("SOCIETE GENERALE");
	cr_assert_str_eq(a, b);
	free(a);
	free(b);
}

Test(name, display_name)
{
	pd_err e = {0};
	cr_assert_eq(pd_check_display_name("Hélène Dupré", "admin_name", &e), PD_OK);
	cr_assert_eq(pd_check_display_name("  ", "admin_name", &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "admin_name");
	cr_assert_eq(pd_check_display_name(NULL, NULL, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "display_name");
}

/* ---- email ---- */

Test(email, good_addresses)
{
	const char *good[] = {"anne@example.com",
	                      "a.b-c+tag@mail.example.co.uk",
	                      "x@sub-domain.example.org",
	                      "O'Brien@example.ie",
	                      "user_1@xn--bcher-kva.example",
	                      "a@b.fr",
	                      "very.common@example.museum",
	                      "!#$%&'*+/=?^_`{|}~-@example.com"};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		pd_err e = {0};
		cr_assert_eq(pd_check_email(good[i], "email", &e), PD_OK, "refused '%s': %s",
		             good[i], e.message);
	}
}

Test(email, bad_addresses)
{
	const char *bad[] = {
	    "",                       /* empty */
	    "plainaddress",           /* no @ */
	    "@example.com",           /* no local part */
	    "anne@",                  /* no domain */
	    "anne@@example.com",      /* two @ */
	    "anne@b@example.com",     /* two @ */
	    "anne smith@example.com", /* space */
	    "anne@example",           /* no TLD */
	    "anne@example.c",         /* one-letter TLD */
	    "anne@example.123",       /* numeric TLD */
	    ".anne@example.com",      /* leading dot */
	    "anne.@example.com",      /* trailing dot */
	    "an..ne@example.com",     /* double dot */
	    "anne@-example.com",      /* label starts with - */
	    "anne@example-.com",      /* label ends with - */
	    "anne@exa_mple.com",      /* underscore in domain */
	    "anne@example..com",      /* empty label */
	    "anne@.example.com",      /* empty first label */
	    "anne(x)@example.com",    /* comment characters */
	    "anné@example.com",       /* non-ASCII */
	    "anne@example.com\n",     /* control */
	    "\"anne\"@example.com",   /* quoted local part */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		pd_err e = {0};
		cr_assert_eq(pd_check_email(bad[i], "admin_email", &e), PD_E_INVALID,
		             "accepted '%s'", bad[i]);
		cr_assert_str_eq(e.field, "admin_email");
		cr_assert_neq(e.message[0], 0);
	}
}

Test(email, lengths)
{
	pd_err e = {0};
	char *local65 = repeat("a", 65);
	char *addr = xasprintf("%s@example.com", local65);
	cr_assert_eq(pd_check_email(addr, NULL, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "email");
	free(addr);
	char *label64 = repeat("b", 64);
	addr = xasprintf("a@%s.com", label64);
	cr_assert_eq(pd_check_email(addr, NULL, &e), PD_E_INVALID);
	free(addr);
	char *l60 = repeat("c", 60);
	addr = xasprintf("a@%s.%s.%s.%s.%s.com", l60, l60, l60, l60, l60); /* 310 > 254 */
	cr_assert_eq(pd_check_email(addr, NULL, &e), PD_E_INVALID);
	assert_contains(e.message, "too long");
	free(addr);
	free(local65);
	free(label64);
	free(l60);
}

/* ---- other fields ---- */

Test(fields, extension)
{
	pd_err e = {0};
	cr_assert_eq(pd_check_extension(NULL, NULL, &e), PD_OK);
	cr_assert_eq(pd_check_extension("", NULL, &e), PD_OK);
	cr_assert_eq(pd_check_extension("1001", NULL, &e), PD_OK);
	cr_assert_eq(pd_check_extension("*72#", NULL, &e), PD_OK);
	cr_assert_eq(pd_check_extension("10a1", "admin_extension", &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "admin_extension");
	cr_assert_eq(pd_check_extension("+33 1", NULL, &e), PD_E_INVALID);
	char *l33 = repeat("1", 33);
	cr_assert_eq(pd_check_extension(l33, NULL, &e), PD_E_INVALID);
	free(l33);
}

Test(fields, reference_and_notes)
{
	pd_err e = {0};
	cr_assert_eq(pd_check_reference(NULL, &e), PD_OK);
	cr_assert_eq(pd_check_reference("ERP-00042", &e), PD_OK);
	char *r65 = repeat("r", 65), *r64 = repeat("é", 64);
	cr_assert_eq(pd_check_reference(r65, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "reference");
	cr_assert_eq(pd_check_reference(r64, &e), PD_OK);
	cr_assert_eq(pd_check_reference("a\tb", &e), PD_E_INVALID);
	cr_assert_eq(pd_check_notes("line one\nline two\n\ttabbed", &e), PD_OK);
	char *n4001 = repeat("n", 4001), *n4000 = repeat("ñ", 4000);
	cr_assert_eq(pd_check_notes(n4001, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "notes");
	cr_assert_eq(pd_check_notes(n4000, &e), PD_OK);
	cr_assert_eq(pd_check_notes("bell\a", &e), PD_E_INVALID);
	cr_assert_eq(pd_check_notes("bad \xFF", &e), PD_E_INVALID);
	free(r65);
	free(r64);
	free(n4001);
	free(n4000);
}

Test(fields, country)
{
	pd_err e = {0};
	char cc[3];
	cr_assert_eq(pd_check_country(geo, "fr", cc, &e), PD_OK);
	cr_assert_str_eq(cc, "FR");
	cr_assert_eq(pd_check_country(geo, "Allemagne", cc, &e), PD_OK);
	cr_assert_str_eq(cc, "DE");
	cr_assert_eq(pd_check_country(geo, "germany", cc, &e), PD_OK);
	cr_assert_str_eq(cc, "DE");
	const char *bad[] = {"XX", "", "F", "FRA", "Atlantis", "  "};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cr_assert_eq(pd_check_country(geo, bad[i], cc, &e), PD_E_INVALID, "accepted '%s'",
		             bad[i]);
		cr_assert_str_eq(e.field, "country");
	}
	cr_assert_eq(pd_check_country(geo, NULL, cc, &e), PD_E_INVALID);
}

/* One rule for the command line, the import, the wizard and the edit forms. */
Test(fields, country_from_text)
{
	pd_err e = {0};
	char cc[3];
	size_t n = 99;
	const struct {
		const char *in, *code;
	} ok[] = {
	    {" fr ", "FR"},         {"Allemagne / Germany (DE)", "DE"},
	    {"allem", "DE"},        {"ALLEMAGNE", "DE"},
	    {"Germany (DE)", "DE"}, {"  germany\t", "DE"},
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		const pd_country *c = pd_country_from_text(geo, ok[i].in, NULL);
		cr_assert(c, "'%s' not resolved", ok[i].in);
		cr_assert_str_eq(c->code, ok[i].code, "'%s'", ok[i].in);
		cr_assert_eq(pd_check_country(geo, ok[i].in, cc, &e), PD_OK, "'%s'", ok[i].in);
		cr_assert_str_eq(cc, ok[i].code);
	}
	/* several matches: none chosen, the count told, the check names them */
	cr_assert_null(pd_country_from_text(geo, "fra", &n));
	cr_assert_gt(n, 1);
	cr_assert_eq(pd_check_country(geo, "fra", cc, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "country");
	cr_assert(strstr(e.message, "several countries"), "%s", e.message);
	cr_assert(strstr(e.message, "(FR)"), "%s", e.message);
	/* nothing matches */
	cr_assert_null(pd_country_from_text(geo, "Atlantis", &n));
	cr_assert_eq(n, 0);
	cr_assert_eq(pd_check_country(geo, "Atlantis", cc, &e), PD_E_INVALID);
	cr_assert(strstr(e.message, "unknown country"), "%s", e.message);
	/* the picker's form with a code that is not one is not trusted */
	cr_assert_null(pd_country_from_text(geo, "Nowhere (QQ)", &n));
	cr_assert_null(pd_country_from_text(geo, NULL, &n));
	cr_assert_null(pd_country_from_text(geo, "", &n));
}

Test(fields, time_zone)
{
	pd_err e = {0};
	char *tz = NULL;
	cr_assert_eq(pd_check_time_zone(geo, "FR", NULL, &tz, &e), PD_OK);
	cr_assert_str_eq(tz, "Europe/Paris");
	free(tz);
	cr_assert_eq(pd_check_time_zone(geo, "US", "", &tz, &e), PD_OK);
	cr_assert_str_eq(tz, "America/New_York");
	free(tz);
	cr_assert_eq(pd_check_time_zone(geo, "US", "America/Denver", &tz, &e), PD_OK);
	cr_assert_str_eq(tz, "America/Denver");
	free(tz);
	tz = NULL;
	cr_assert_eq(pd_check_time_zone(geo, "FR", "Europe/Pariss", &tz, &e), PD_E_INVALID);
	cr_assert_null(tz);
	cr_assert_str_eq(e.field, "time_zone");
	assert_contains(e.message, "Europe/Pariss");
	cr_assert_eq(pd_check_time_zone(geo, "XX", NULL, &tz, &e), PD_E_INVALID);
}

/* A customer's locale: the country's default when none is given; a
 * supported one in any usual spelling; anything else refused on "locale"
 * (the system's list, or the built-in defaults without one, both have these). */
Test(fields, locale)
{
	pd_err e = {0};
	char *l = NULL;
	cr_assert_eq(pd_check_locale(geo, "FR", NULL, &l, &e), PD_OK);
	cr_assert_str_eq(l, "fr_FR");
	free(l);
	cr_assert_eq(pd_check_locale(geo, "CH", "", &l, &e), PD_OK);
	cr_assert_str_eq(l, "de_CH");
	free(l);
	cr_assert_eq(pd_check_locale(geo, "BE", "", &l, &e), PD_OK);
	cr_assert_str_eq(l, "fr_BE");
	free(l);
	cr_assert_eq(pd_check_locale(geo, "FR", "fr-fr", &l, &e), PD_OK);
	cr_assert_str_eq(l, "fr_FR");
	free(l);
	cr_assert_eq(pd_check_locale(geo, "FR", "en_GB.UTF-8", &l, &e), PD_OK);
	cr_assert_str_eq(l, "en_GB");
	free(l);
	const char *bad[] = {"fr",     "xx_YY",  "fr_FR@euro", "../etc",
	                     "fr_FRA", "fr_FR.", "é_FR",       "fr_FR.UTF-8; rm"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		l = NULL;
		pd_err_clear(&e);
		cr_assert_eq(pd_check_locale(geo, "FR", bad[i], &l, &e), PD_E_INVALID, "%s",
		             bad[i]);
		cr_assert_null(l);
		cr_assert_str_eq(e.field, "locale", "%s", bad[i]);
	}
	assert_contains(e.message, "not a locale");
	cr_assert_eq(pd_check_locale(geo, "FR", "xx_YY", &l, &e), PD_E_INVALID);
	assert_contains(e.message, "xx_YY");
	assert_contains(e.message, "not a supported locale");
}

/* A change of country moves the old country's default locale to the new
 * country's; a locale chosen by hand stays; a given one is checked. */
Test(fields, update_locale)
{
	pd_err e = {0};
	pd_customer cur = {0}, upd = {0};
	memcpy(cur.country, "FR", 3);
	cur.locale = xstrdup("fr_FR");
	pd_customer_copy(&upd, &cur);
	cr_assert_eq(pd_update_locale(geo, &cur, NULL, &upd, &e), PD_OK);
	cr_assert_str_eq(upd.locale, "fr_FR", "same country: unchanged");
	memcpy(upd.country, "DE", 3);
	cr_assert_eq(pd_update_locale(geo, &cur, NULL, &upd, &e), PD_OK);
	cr_assert_str_eq(upd.locale, "de_DE", "the default follows the country");
	pd_set_str(&cur.locale, "en_GB");
	pd_set_str(&upd.locale, "en_GB");
	cr_assert_eq(pd_update_locale(geo, &cur, NULL, &upd, &e), PD_OK);
	cr_assert_str_eq(upd.locale, "en_GB", "a chosen locale stays");
	cr_assert_eq(pd_update_locale(geo, &cur, "fr_CH", &upd, &e), PD_OK);
	cr_assert_str_eq(upd.locale, "fr_CH");
	cr_assert_eq(pd_update_locale(geo, &cur, "klingon", &upd, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "locale");
	cr_assert_str_eq(upd.locale, "fr_CH", "a refused value changes nothing");
	pd_customer_free(&cur);
	pd_customer_free(&upd);
}

/* ---- product types ---- */

Test(product, unknown_type_lists_known)
{
	pd_err e = {0};
	cr_assert_eq(pd_check_product_type(&cat, "analytics-ultra", "FR", &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "product_type");
	assert_contains(e.message, "analytics-ultra");
	assert_contains(e.message, "analytics-pro");
	cr_assert_eq(pd_check_product_type(&cat, "", "FR", &e), PD_E_INVALID);
	cr_assert_eq(pd_check_product_type(&cat, NULL, "FR", &e), PD_E_INVALID);
	cr_assert_eq(pd_check_product_type(&cat, "analytics-pro", "FR", &e), PD_OK);
}

Test(product, sold_only_in_some_countries)
{
	pd_err e = {0};
	cr_assert_eq(pd_check_product_type(&cat, "compliance-recording", "BE", &e), PD_OK);
	cr_assert_eq(pd_check_product_type(&cat, "compliance-recording", "DE", &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "product_type");
	assert_contains(e.message, "not sold in DE");
	assert_contains(e.message, "FR, BE, CH, LU, MC");
}

Test(product, locked_change_refused)
{
	pd_err e = {0};
	char *impact = (char *)"sentinel";
	cr_assert_eq(
	    pd_check_product_change(&cat, "contact-centre-plus", "contact-centre", &impact, &e),
	    PD_E_INVALID);
	cr_assert_null(impact);
	cr_assert_str_eq(e.field, "product_type");
	assert_contains(e.message, "contact-centre-plus");
	assert_contains(e.message, "locked");
}

Test(product, unlocked_change_states_impact)
{
	pd_err e = {0};
	char *impact = NULL;
	cr_assert_eq(pd_check_product_change(&cat, "analytics-pro", "contact-centre", &impact, &e),
	             PD_OK, "%s", e.message);
	cr_assert_not_null(impact);
	assert_contains(impact, "19.00 EUR");
	assert_contains(impact, "39.00 EUR");
	assert_contains(impact, "+20.00 EUR");
	assert_contains(impact, "per licensed user");
	free(impact);
	cr_assert_eq(
	    pd_check_product_change(&cat, "contact-centre", "analytics-essentials", &impact, &e),
	    PD_OK);
	assert_contains(impact, "-30.00 EUR");
	free(impact);
	/* To a locked type: allowed once, with a warning. */
	cr_assert_eq(
	    pd_check_product_change(&cat, "analytics-pro", "contact-centre-plus", &impact, &e),
	    PD_OK);
	assert_contains(impact, "can never be changed again");
	assert_contains(impact, "does not allow trials");
	free(impact);
	/* Same type: nothing to confirm. */
	cr_assert_eq(pd_check_product_change(&cat, "contact-centre-plus", "contact-centre-plus",
	                                     &impact, &e),
	             PD_OK);
	cr_assert_null(impact);
	cr_assert_eq(pd_check_product_change(&cat, "analytics-pro", "nope", &impact, &e),
	             PD_E_INVALID);
	cr_assert_str_eq(e.field, "product_type");
}

/* ---- trials ---- */

static pd_day day(const char *s)
{
	pd_day d;
	cr_assert(pd_day_parse(s, &d), "bad date in test: %s", s);
	return d;
}

Test(trial, allowed_only_if_product_allows)
{
	pd_err e = {0};
	cr_assert_eq(
	    pd_check_trial(&cat, "analytics-pro", day("2026-01-01"), day("2026-01-30"), &e), PD_OK);
	cr_assert_eq(
	    pd_check_trial(&cat, "contact-centre-plus", day("2026-01-01"), day("2026-01-30"), &e),
	    PD_E_INVALID);
	cr_assert_str_eq(e.field, "trial");
	assert_contains(e.message, "does not allow trials");
}

Test(trial, end_before_start)
{
	pd_err e = {0};
	cr_assert_eq(
	    pd_check_trial(&cat, "analytics-pro", day("2026-02-10"), day("2026-02-09"), &e),
	    PD_E_INVALID);
	cr_assert_str_eq(e.field, "trial_end");
	assert_contains(e.message, "2026-02-09");
	assert_contains(e.message, "2026-02-10");
	cr_assert_eq(
	    pd_check_trial(&cat, "analytics-pro", day("2026-02-10"), day("2026-02-10"), &e), PD_OK,
	    "a one-day trial is fine");
}

/* ---- customer record ---- */

static pd_customer base_customer(void)
{
	pd_customer c = {0};
	c.name = xstrdup("  Société Générale  ");
	c.product_type = xstrdup("analytics-pro");
	memcpy(c.country, "fr", 3);
	c.reference = xstrdup("  ");
	c.notes = xstrdup("Key account.\nCall before 10:00.\n\n");
	strcpy(c.tenant_id, "6f1c2a52-8d4e-4c1b-9f00-0123456789ab");
	return c;
}

Test(customer, check_normalizes)
{
	pd_customer c = base_customer();
	pd_err e = {0};
	cr_assert_eq(pd_customer_check(&cat, geo, &c, &e), PD_OK, "%s", e.message);
	cr_assert_str_eq(c.name, "Société Générale");
	cr_assert_str_eq(c.country, "FR");
	cr_assert_str_eq(c.time_zone, "Europe/Paris");
	cr_assert_null(c.reference, "blank reference becomes none");
	cr_assert_str_eq(c.notes, "Key account.\nCall before 10:00.");
	cr_assert_str_eq(pd_customer_billing_id(&c), c.tenant_id);
	pd_customer_free(&c);
}

Test(customer, check_reports_first_bad_field)
{
	pd_err e = {0};
	pd_customer c = base_customer();
	pd_set_str(&c.product_type, "compliance-recording");
	memcpy(c.country, "DE", 3);
	cr_assert_eq(pd_customer_check(&cat, geo, &c, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "product_type");
	memcpy(c.country, "ZZ", 3);
	cr_assert_eq(pd_customer_check(&cat, geo, &c, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "country");
	c.country[0] = 0;
	cr_assert_eq(pd_customer_check(&cat, geo, &c, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "country");
	memcpy(c.country, "BE", 3);
	pd_set_str(&c.time_zone, "Europe/Nowhere");
	cr_assert_eq(pd_customer_check(&cat, geo, &c, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "time_zone");
	pd_set_str(&c.time_zone, "Europe/Brussels");
	cr_assert_eq(pd_customer_check(&cat, geo, &c, &e), PD_OK, "%s", e.message);
	pd_set_str(&c.name, " ");
	cr_assert_eq(pd_customer_check(&cat, geo, &c, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "name");
	pd_customer_free(&c);
}

Test(customer, trial_rules_in_record)
{
	pd_err e = {0};
	pd_customer c = base_customer();
	c.trial = true;
	c.trial_start = day("2026-03-01");
	c.trial_end = day("2026-02-01");
	cr_assert_eq(pd_customer_check(&cat, geo, &c, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "trial_end");
	c.trial_end = day("2026-03-30");
	pd_set_str(&c.product_type, "contact-centre-plus");
	cr_assert_eq(pd_customer_check(&cat, geo, &c, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "trial");
	c.trial_converted = true; /* history of a converted trial is fine */
	cr_assert_eq(pd_customer_check(&cat, geo, &c, &e), PD_OK, "%s", e.message);
	pd_customer_free(&c);
}

Test(customer, status_precedence)
{
	pd_customer c = {0};
	pd_day today = day("2026-03-15");
	cr_assert_eq(pd_customer_status_of(&c, today), PD_CS_ACTIVE);
	c.trial = true;
	c.trial_start = day("2026-03-01");
	c.trial_end = day("2026-03-15");
	cr_assert_eq(pd_customer_status_of(&c, today), PD_CS_TRIAL, "last day is still trial");
	cr_assert_eq(pd_customer_trial_days_left(&c, today), 0);
	cr_assert_eq(pd_customer_trial_days_left(&c, today - 7), 7);
	cr_assert_eq(pd_customer_status_of(&c, today + 1), PD_CS_TRIAL_EXPIRED);
	cr_assert_eq(pd_customer_trial_days_left(&c, today + 3), -3);
	c.trial_converted = true;
	cr_assert_eq(pd_customer_status_of(&c, today + 1), PD_CS_ACTIVE);
	c.trial_converted = false;
	c.disabled = true;
	cr_assert_eq(pd_customer_status_of(&c, today), PD_CS_DISABLED);
	c.deleted_at = 1;
	cr_assert_eq(pd_customer_status_of(&c, today), PD_CS_DELETED);
	cr_assert_str_eq(pd_customer_status_name(PD_CS_TRIAL_EXPIRED), "trial-expired");
	pd_customer_status s;
	cr_assert(pd_customer_status_parse("disabled", &s));
	cr_assert_eq(s, PD_CS_DISABLED);
	cr_assert_not(pd_customer_status_parse("gone", &s));
}

Test(customer, copy_is_deep)
{
	pd_customer a = base_customer(), b;
	pd_customer_copy(&b, &a);
	cr_assert_neq(a.name, b.name);
	cr_assert_str_eq(a.name, b.name);
	cr_assert_str_eq(a.tenant_id, b.tenant_id);
	pd_customer_free(&a);
	cr_assert_str_eq(b.notes, "Key account.\nCall before 10:00.\n\n");
	pd_customer_free(&b);
}

/* ---- creation bundle ---- */

static pd_new_customer base_new(void)
{
	pd_new_customer n = {0};
	n.customer = base_customer();
	n.admin.display_name = xstrdup(" Hélène Dupré ");
	n.admin.email = xstrdup(" helene@sg.example ");
	n.admin.role = xstrdup("agent"); /* forced to customer-admin */
	return n;
}

Test(newcust, admin_forced_and_trial_dates)
{
	pd_new_customer n = base_new();
	n.trial_days = 30;
	pd_err e = {0};
	pd_day today = day("2026-04-10");
	cr_assert_eq(pd_new_customer_check(&cat, geo, &n, today, &e), PD_OK, "%s", e.message);
	cr_assert_str_eq(n.admin.role, "customer-admin");
	cr_assert(n.admin.primary);
	cr_assert_str_eq(n.admin.display_name, "Hélène Dupré");
	cr_assert_str_eq(n.admin.email, "helene@sg.example");
	cr_assert(n.customer.trial);
	cr_assert_eq(n.customer.trial_start, today);
	cr_assert_eq(n.customer.trial_end, day("2026-05-09"), "30 days including today");
	pd_new_customer_free(&n);
}

Test(newcust, bad_admin_fields_named)
{
	pd_err e = {0};
	pd_new_customer n = base_new();
	pd_set_str(&n.admin.email, "helene-at-sg");
	cr_assert_eq(pd_new_customer_check(&cat, geo, &n, 20000, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "admin_email");
	pd_set_str(&n.admin.email, "h@sg.example");
	pd_set_str(&n.admin.display_name, "");
	cr_assert_eq(pd_new_customer_check(&cat, geo, &n, 20000, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "admin_name");
	pd_set_str(&n.admin.display_name, "H");
	pd_set_str(&n.admin.extension, "ext 12");
	cr_assert_eq(pd_new_customer_check(&cat, geo, &n, 20000, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "admin_extension");
	pd_set_str(&n.admin.extension, "12");
	pd_set_str(&n.admin.email, NULL);
	cr_assert_eq(pd_new_customer_check(&cat, geo, &n, 20000, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "admin_email");
	pd_new_customer_free(&n);
}

Test(newcust, trial_on_forbidding_type)
{
	pd_err e = {0};
	pd_new_customer n = base_new();
	pd_set_str(&n.customer.product_type, "contact-centre-plus");
	n.trial_days = 14;
	cr_assert_eq(pd_new_customer_check(&cat, geo, &n, 20000, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "trial");
	n.trial_days = -1;
	cr_assert_eq(pd_new_customer_check(&cat, geo, &n, 20000, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "trial_days");
	n.trial_days = 0;
	cr_assert_eq(pd_new_customer_check(&cat, geo, &n, 20000, &e), PD_OK, "%s", e.message);
	cr_assert_not(n.customer.trial);
	pd_new_customer_free(&n);
}

Test(newcust, duplicate_emails_among_users)
{
	pd_err e = {0};
	pd_new_customer n = base_new();
	n.n_users = 2;
	n.users = xcalloc(2, sizeof *n.users);
	n.users[0].display_name = xstrdup("Paul");
	n.users[0].email = xstrdup("paul@sg.example");
	n.users[0].role = xstrdup("supervisor");
	n.users[1].display_name = xstrdup("Paula");
	n.users[1].email = xstrdup("PAUL@sg.example");
	n.users[1].role = xstrdup("agent");
	cr_assert_eq(pd_new_customer_check(&cat, geo, &n, 20000, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "users[1].email");
	pd_set_str(&n.users[1].email, "Helene@SG.example");
	cr_assert_eq(pd_new_customer_check(&cat, geo, &n, 20000, &e), PD_E_INVALID);
	assert_contains(e.message, "primary user");
	pd_set_str(&n.users[1].email, "paula@sg.example");
	pd_set_str(&n.users[1].role, "janitor");
	cr_assert_eq(pd_new_customer_check(&cat, geo, &n, 20000, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "users[1].role");
	assert_contains(e.message, "janitor");
	pd_set_str(&n.users[1].role, NULL); /* no role: kept, no access */
	cr_assert_eq(pd_new_customer_check(&cat, geo, &n, 20000, &e), PD_OK, "%s", e.message);
	pd_new_customer_free(&n);
}

Test(newcust, pbx_platform_must_be_allowed_by_product)
{
	pd_err e = {0};
	pd_new_customer n = base_new();
	pd_set_str(&n.customer.product_type, "compliance-recording");
	n.pbx = xcalloc(1, sizeof *n.pbx);
	n.pbx->platform = xstrdup("broadworks-xsi");
	n.pbx->host = xstrdup("xsi.example.net");
	n.pbx->username = xstrdup("admin");
	n.pbx->params_json = xstrdup("{\"enterprise_id\": \"ent1\"}");
	cr_assert_eq(pd_new_customer_check(&cat, geo, &n, 20000, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "platform");
	assert_contains(e.message, "asterisk-ami");
	pd_new_customer_free(&n);
}

Test(newcust, user_check_synced)
{
	pd_err e = {0};
	pd_user u = {0};
	u.synced = true;
	u.endpoint = xstrdup("1001");
	cr_assert_eq(pd_user_check(&cat, &u, &e), PD_OK, "synced users may lack name and email");
	u.synced = false;
	cr_assert_eq(pd_user_check(&cat, &u, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "display_name");
	pd_user_free(&u);
	cr_assert_str_eq(pd_invite_state_name(PD_INVITE_QUEUED), "queued");
}

/* ---- PBX records ---- */

static pd_pbx ami(void)
{
	pd_pbx p = {0};
	p.platform = xstrdup("asterisk-ami");
	p.host = xstrdup(" pbx.example.net ");
	p.username = xstrdup("provdesk");
	p.secret = xstrdup("s3cret");
	p.enabled = true;
	return p;
}

Test(pbx, defaults_and_checks)
{
	pd_err e = {0};
	pd_pbx p = ami();
	cr_assert_eq(pd_pbx_check(&cat, &p, &e), PD_OK, "%s", e.message);
	cr_assert_eq(p.port, 5038, "default port from the catalogue");
	cr_assert_str_eq(p.host, "pbx.example.net");
	p.port = 70000;
	cr_assert_eq(pd_pbx_check(&cat, &p, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "port");
	p.port = 5038;
	pd_set_str(&p.host, "pbx example");
	cr_assert_eq(pd_pbx_check(&cat, &p, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "host");
	pd_set_str(&p.host, "");
	cr_assert_eq(pd_pbx_check(&cat, &p, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "host");
	pd_set_str(&p.host, "::1");
	cr_assert_eq(pd_pbx_check(&cat, &p, &e), PD_OK, "IPv6 literal: %s", e.message);
	pd_set_str(&p.secret, "abc\r\nAction: Originate");
	cr_assert_eq(pd_pbx_check(&cat, &p, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "secret");
	cr_assert_null(strstr(e.message, "abc"), "the secret is never echoed");
	pd_set_str(&p.secret, "ok");
	pd_set_str(&p.username, NULL);
	cr_assert_eq(pd_pbx_check(&cat, &p, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "username");
	pd_set_str(&p.username, "u");
	pd_set_str(&p.platform, "avaya");
	cr_assert_eq(pd_pbx_check(&cat, &p, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "platform");
	pd_pbx_free(&p);
}

Test(pbx, unsupported_platform_only_disabled)
{
	pd_err e = {0};
	pd_pbx p = {0};
	p.platform = xstrdup("broadworks-xsi");
	p.host = xstrdup("xsi.example.net");
	p.username = xstrdup("admin");
	p.enabled = true;
	cr_assert_eq(pd_pbx_check(&cat, &p, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "enterprise_id", "required extra field: %s", e.message);
	p.params_json = xstrdup("{\"enterprise_id\": \"ent1\", \"group_id\": \"g1\"}");
	cr_assert_eq(pd_pbx_check(&cat, &p, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "enabled");
	p.enabled = false;
	cr_assert_eq(pd_pbx_check(&cat, &p, &e), PD_OK, "%s", e.message);
	cr_assert_eq(p.port, 443);
	pd_set_str(&p.params_json, "{\"secret\": \"x\"}");
	cr_assert_eq(pd_pbx_check(&cat, &p, &e), PD_E_INVALID, "secrets never go in params");
	pd_set_str(&p.params_json, "{\"colour\": 1}");
	cr_assert_eq(pd_pbx_check(&cat, &p, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "colour");
	pd_set_str(&p.params_json, "[1]");
	cr_assert_eq(pd_pbx_check(&cat, &p, &e), PD_E_INVALID);
	pd_pbx_free(&p);
}

Test(pbx, template_apply)
{
	pd_err e = {0};
	pd_template t = {0};
	t.name = xstrdup(" Lab AMI ");
	t.platform = xstrdup("asterisk-ami");
	t.host = xstrdup("lab.example.net");
	t.username = xstrdup("admin");
	t.tls = true;
	cr_assert_eq(pd_template_check(&cat, &t, &e), PD_OK, "%s", e.message);
	cr_assert_str_eq(t.name, "Lab AMI");
	cr_assert_eq(t.port, 5038);
	pd_pbx p = {0};
	p.secret = xstrdup("x");
	pd_pbx_apply_template(&p, &t);
	cr_assert_str_eq(p.platform, "asterisk-ami");
	cr_assert_str_eq(p.host, "lab.example.net");
	cr_assert_str_eq(p.username, "admin");
	cr_assert_str_eq(p.template_name, "Lab AMI");
	cr_assert_eq(p.port, 5038);
	cr_assert(p.tls);
	cr_assert_eq(pd_pbx_check(&cat, &p, &e), PD_OK, "%s", e.message);
	pd_pbx_free(&p);
	/* Explicit values win. */
	pd_pbx q = {0};
	q.host = xstrdup("other.example.net");
	q.port = 15038;
	pd_pbx_apply_template(&q, &t);
	cr_assert_str_eq(q.host, "other.example.net");
	cr_assert_eq(q.port, 15038);
	cr_assert_not(q.tls);
	pd_pbx_free(&q);
	pd_set_str(&t.platform, "nope");
	cr_assert_eq(pd_template_check(&cat, &t, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "platform");
	pd_set_str(&t.name, "");
	cr_assert_eq(pd_template_check(&cat, &t, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "name");
	pd_template_free(&t);
}

Test(pbx, template_params_merge)
{
	pd_template t = {0};
	t.name = xstrdup("BW");
	t.platform = xstrdup("broadworks-xsi");
	t.params_json = xstrdup("{\"enterprise_id\":\"ent\",\"group_id\":\"g-default\"}");
	pd_pbx p = {0};
	p.params_json = xstrdup("{\"group_id\":\"g-mine\"}");
	pd_pbx_apply_template(&p, &t);
	cr_assert_str_eq(p.params_json, "{\"enterprise_id\":\"ent\",\"group_id\":\"g-mine\"}");
	pd_pbx_free(&p);
	pd_template_free(&t);
}

Test(model, internal_warning_says_unbilled_and_how_many_are_left)
{
	char buf[400];
	pd_internal_warning("Lab Interne", 1, 1, buf, sizeof buf);
	cr_assert(strstr(buf, "\"Lab Interne\" is an internal system"), "%s", buf);
	cr_assert(strstr(buf, "internal use only"), "%s", buf);
	cr_assert(strstr(buf, "will not be billed"), "%s", buf);
	cr_assert(strstr(buf, "0 of 1 internal system left"), "%s", buf);
	pd_internal_warning("Lab", 2, 5, buf, sizeof buf);
	cr_assert(strstr(buf, "3 of 5 internal systems left"), "%s", buf);
	pd_internal_warning("Lab", 7, 5, buf, sizeof buf);
	cr_assert(strstr(buf, "0 of 5 internal systems left"), "never negative: %s", buf);
}

/* A new customer's emails are its own: one rule for pd_new_customer_check
 * and the wizard. */
Test(fields, email_free)
{
	pd_err e = {0};
	const char *earlier[] = {"ann@x.example", NULL, "Zoé@X.example"};
	cr_assert_eq(pd_check_email_free("new@x.example", "boss@x.example", earlier, 3,
	                                 "users[3].email", &e),
	             PD_OK);
	cr_assert_eq(pd_check_email_free("BOSS@x.example", "boss@x.example", earlier, 3,
	                                 "users[3].email", &e),
	             PD_E_INVALID);
	cr_assert_str_eq(e.field, "users[3].email");
	cr_assert(strstr(e.message, "primary user"), "%s", e.message);
	cr_assert_eq(pd_check_email_free("zoe@x.example", "boss@x.example", earlier, 3,
	                                 "users[3].email", &e),
	             PD_E_INVALID);
	cr_assert(strstr(e.message, "another user"), "%s", e.message);
	/* only the earlier ones count */
	cr_assert_eq(pd_check_email_free("zoe@x.example", NULL, earlier, 2, "f", &e), PD_OK);
}

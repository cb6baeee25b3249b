/* geo.h: countries from iso-codes with French names from its .mo, zones from
 * tzdata; search behaviour; missing and corrupt system files. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "helpers.h"
#include "provdesk/geo.h"

static const pd_geo *geo(void)
{
	const pd_geo *g;
	pd_err e = {0};
	cr_assert_eq(pd_geo_get(&g, &e), PD_OK, "%s", e.message);
	return g;
}

Test(geo, loads_all_countries_with_french_names)
{
	const pd_geo *g = geo();
	cr_assert_geq(pd_geo_count(g), 240);
	const pd_country *de = pd_geo_country(g, "de");
	cr_assert_not_null(de);
	cr_assert_str_eq(de->code, "DE");
	cr_assert_str_eq(de->name_en, "Germany");
	cr_assert_str_eq(de->name_fr, "Allemagne");
	const pd_country *us = pd_geo_country(g, "US");
	cr_assert_str_eq(us->name_fr, "États-Unis");
	cr_assert_null(pd_geo_country(g, "XX"));
	cr_assert_null(pd_geo_country(g, "FRA"));
	cr_assert_null(pd_geo_country(g, ""));
}

/* The catalogue's cheap check (the codes read as text, no names or zones)
 * says yes exactly for the codes the whole list has, in any case. */
Test(geo, code_known_agrees_with_the_whole_list)
{
	const pd_geo *g = geo();
	size_t yes = 0;
	for (char a = 'A'; a <= 'Z'; a++)
		for (char b = 'A'; b <= 'Z'; b++) {
			char up[3] = {a, b, 0}, lo[3] = {(char)(a | 0x20), (char)(b | 0x20), 0};
			bool whole = pd_geo_country(g, up) != NULL;
			cr_assert_eq(pd_geo_code_known(up), whole ? 1 : 0, "%s", up);
			cr_assert_eq(pd_geo_code_known(lo), whole ? 1 : 0, "%s", lo);
			yes += whole;
		}
	cr_assert_eq(yes, pd_geo_count(g));
	cr_assert_eq(pd_geo_code_known("FRA"), 0);
	cr_assert_eq(pd_geo_code_known("F"), 0);
	cr_assert_eq(pd_geo_code_known("1A"), 0);
	cr_assert_eq(pd_geo_code_known(NULL), 0);
}

/* the code table (issue 19) finds what a scan of every country finds */
Test(geo, code_table_matches_a_scan)
{
	const pd_geo *g = geo();
	char code[3] = {0};
	for (int a = 0; a < 26; a++)
		for (int b = 0; b < 26; b++) {
			const pd_country *want = NULL;
			code[0] = (char)('A' + a);
			code[1] = (char)('A' + b);
			for (size_t i = 0; i < pd_geo_count(g) && !want; i++)
				if (!strcmp(pd_geo_at(g, i)->code, code))
					want = pd_geo_at(g, i);
			cr_assert_eq(pd_geo_country(g, code), want, "%s", code);
			code[0] = (char)('a' + a);
			cr_assert_eq(pd_geo_country(g, code), want, "%s", code);
		}
	cr_assert_null(pd_geo_country(g, "F1"));
	cr_assert_null(pd_geo_country(g, "\xC3\xA9"));
	cr_assert_null(pd_geo_country(g, "@R"));
}

Test(geo, sorted_by_english_name)
{
	const pd_geo *g = geo();
	for (size_t i = 1; i < pd_geo_count(g); i++) {
		char *a = pd_fold_key(pd_geo_at(g, i - 1)->name_en);
		char *b = pd_fold_key(pd_geo_at(g, i)->name_en);
		cr_assert_leq(strcmp(a, b), 0, "%s before %s", a, b);
		free(a);
		free(b);
	}
	cr_assert_null(pd_geo_at(g, pd_geo_count(g)));
}

Test(geo, zones_first_is_default)
{
	const pd_geo *g = geo();
	const pd_country *fr = pd_geo_country(g, "FR");
	cr_assert_eq(fr->n_zones, 1);
	cr_assert_str_eq(fr->zones[0], "Europe/Paris");
	const pd_country *us = pd_geo_country(g, "US");
	cr_assert_gt(us->n_zones, 10);
	cr_assert_str_eq(us->zones[0], "America/New_York");
	cr_assert(pd_country_has_zone(us, "America/Los_Angeles"));
	cr_assert_not(pd_country_has_zone(us, "Europe/Paris"));
	/* Where zone.tab's first zone is where few people live. */
	const pd_country *au = pd_geo_country(g, "AU");
	cr_assert_str_eq(au->zones[0], "Australia/Sydney");
	cr_assert(pd_country_has_zone(au, "Australia/Lord_Howe"), "the others stay listed");
	cr_assert_str_eq(pd_geo_country(g, "RU")->zones[0], "Europe/Moscow");
	const char *ua = pd_geo_country(g, "UA")->zones[0];
	cr_assert(!strcmp(ua, "Europe/Kyiv") || !strcmp(ua, "Europe/Kiev"), "UA: %s", ua);
	cr_assert_str_eq(pd_geo_country(g, "BR")->zones[0], "America/Sao_Paulo");
}

Test(geo, zone_validity)
{
	const pd_geo *g = geo();
	cr_assert(pd_geo_zone_valid(g, "Europe/Paris"));
	cr_assert(pd_geo_zone_valid(g, "UTC"), "UTC is a tzdata zone outside zone.tab");
	cr_assert(pd_geo_zone_valid(g, "Europe/Kiev"), "backward link");
	cr_assert_not(pd_geo_zone_valid(g, "Mars/Olympus_Mons"));
	cr_assert_not(pd_geo_zone_valid(g, "../../etc/passwd"));
	cr_assert_not(pd_geo_zone_valid(g, "/etc/passwd"));
	cr_assert_not(pd_geo_zone_valid(g, "zone.tab"), "a data file is not a zone");
	cr_assert_not(pd_geo_zone_valid(g, ""));
	cr_assert_not(pd_geo_zone_valid(g, "Europe"), "a directory is not a zone");
}

static size_t search(const char *q, const pd_country **out, size_t max)
{
	return pd_geo_search(geo(), q, out, max);
}

Test(search, french_prefix_allem)
{
	const pd_country *o[10];
	size_t n = search("allem", o, 10);
	cr_assert_geq(n, 1);
	cr_assert_str_eq(o[0]->code, "DE");
	n = search("Allemagne", o, 10);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(o[0]->code, "DE");
}

Test(search, english_germ_and_germany)
{
	const pd_country *o[10];
	cr_assert_geq(search("germ", o, 10), 1);
	cr_assert_str_eq(o[0]->code, "DE");
	cr_assert_eq(search("GERMANY", o, 10), 1);
	cr_assert_str_eq(o[0]->code, "DE");
}

Test(search, accent_insensitive_etats)
{
	const pd_country *o[10];
	size_t n = search("etats", o, 10);
	cr_assert_geq(n, 1);
	cr_assert_str_eq(o[0]->code, "US");
	n = search("états", o, 10);
	cr_assert_geq(n, 1);
	cr_assert_str_eq(o[0]->code, "US");
	n = search("ÉTATS-UNIS", o, 10);
	cr_assert_geq(n, 1);
	cr_assert_str_eq(o[0]->code, "US");
}

Test(search, exact_code_first)
{
	const pd_country *o[10];
	size_t n = search("fr", o, 10);
	cr_assert_gt(n, 1, "fr also matches French Guiana, Africa…");
	cr_assert_str_eq(o[0]->code, "FR");
	n = search("us", o, 10);
	cr_assert_str_eq(o[0]->code, "US");
	n = search("ch", o, 10);
	cr_assert_str_eq(o[0]->code, "CH");
	cr_assert_str_eq(o[0]->name_fr, "Suisse");
}

Test(search, substring_and_limits)
{
	const pd_country *o[3];
	cr_assert_eq(search("land", o, 3), 3, "max is honoured");
	const pd_country *all[400];
	cr_assert_eq(pd_geo_search(geo(), "", all, 400), pd_geo_count(geo()),
	             "empty query lists all");
	cr_assert_eq(search("zzzzqq", o, 3), 0);
	cr_assert_eq(search("\xFF\xFE", o, 3), 0, "invalid UTF-8 finds nothing");
	const pd_country *k[10];
	size_t n = search("korea", k, 10);
	cr_assert_eq(n, 2);
	n = search("coree du sud", k, 10);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(k[0]->code, "KR");
	n = search("Republic of Korea", k, 10);
	cr_assert_geq(n, 1, "formal name");
	n = search("federal republic of germany", k, 10);
	cr_assert_eq(n, 1, "official name");
	cr_assert_str_eq(k[0]->code, "DE");
}

static void *get_geo(void *arg)
{
	const pd_geo *g = NULL;
	pd_err e = {0};
	pd_geo_get(&g, &e);
	*(const pd_geo **)arg = g;
	return NULL;
}

Test(geo, loaded_once_across_threads)
{
	pthread_t t[8];
	const pd_geo *got[8];
	for (int i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, get_geo, &got[i]);
	for (int i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 8; i++) {
		cr_assert_not_null(got[i]);
		cr_assert_eq(got[i], got[0], "one shared instance");
	}
	cr_assert_eq(geo(), got[0]);
}

/* ---- bad system files ---- */

typedef struct {
	char *root, *iso, *loc, *zi;
} fake_dirs;

/* A minimal, valid set of files in a temp dir; each test then breaks one. */
static fake_dirs fake(void)
{
	fake_dirs d;
	d.root = tmp_dir();
	d.iso = xasprintf("%s/iso", d.root);
	d.loc = xasprintf("%s/locale", d.root);
	d.zi = xasprintf("%s/zoneinfo", d.root);
	char *cmd =
	    xasprintf("mkdir -p %s/json %s/fr/LC_MESSAGES %s && "
	              "cp /usr/share/locale/fr/LC_MESSAGES/iso_3166-1.mo %s/fr/LC_MESSAGES/",
	              d.iso, d.loc, d.zi, d.loc);
	cr_assert_eq(system(cmd), 0);
	free(cmd);
	char *jdir = xasprintf("%s/json", d.iso);
	free(write_file(jdir, "iso_3166-1.json",
	                "{\"3166-1\": [{\"alpha_2\": \"FR\", \"name\": \"France\"},\n"
	                "{\"alpha_2\": \"DE\", \"name\": \"Germany\"}]}\n"));
	free(jdir);
	free(write_file(
	    d.zi, "zone.tab",
	    "# comment\nFR\t+4852+00220\tEurope/Paris\nDE\t+5230+01322\tEurope/Berlin\n"));
	return d;
}

static void fake_free(fake_dirs *d)
{
	free(d->iso);
	free(d->loc);
	free(d->zi);
	rm_tree(d->root);
}

Test(geo_bad, minimal_fake_loads)
{
	fake_dirs d = fake();
	pd_geo *g = NULL;
	pd_err e = {0};
	cr_assert_eq(pd_geo_load(d.iso, d.loc, d.zi, &g, &e), PD_OK, "%s", e.message);
	cr_assert_eq(pd_geo_count(g), 2);
	cr_assert_str_eq(pd_geo_country(g, "DE")->name_fr, "Allemagne");
	cr_assert_str_eq(pd_geo_country(g, "DE")->zones[0], "Europe/Berlin");
	cr_assert(pd_geo_zone_valid(g, "Europe/Paris"));
	pd_geo_free(g);
	fake_free(&d);
}

Test(geo_bad, missing_iso_codes_names_the_file)
{
	fake_dirs d = fake();
	pd_geo *g = NULL;
	pd_err e = {0};
	char *bogus = xasprintf("%s/none", d.root);
	cr_assert_eq(pd_geo_load(bogus, d.loc, d.zi, &g, &e), PD_E_NOINPUT);
	cr_assert_null(g);
	assert_contains(e.message, "/none/json/iso_3166-1.json");
	free(bogus);
	fake_free(&d);
}

Test(geo_bad, corrupt_json_names_file_and_line)
{
	fake_dirs d = fake();
	char *jdir = xasprintf("%s/json", d.iso);
	free(write_file(jdir, "iso_3166-1.json", "{\"3166-1\": [\n{\"alpha_2\": \"FR\",,}\n]}"));
	free(jdir);
	pd_geo *g = NULL;
	pd_err e = {0};
	cr_assert_eq(pd_geo_load(d.iso, d.loc, d.zi, &g, &e), PD_E_CONFIG);
	assert_contains(e.message, "iso_3166-1.json:2:");
	cr_assert_eq(e.line, 2);
	fake_free(&d);
}

Test(geo_bad, json_without_country_array)
{
	fake_dirs d = fake();
	char *jdir = xasprintf("%s/json", d.iso);
	free(write_file(jdir, "iso_3166-1.json", "{\"countries\": []}"));
	free(jdir);
	pd_geo *g = NULL;
	pd_err e = {0};
	cr_assert_eq(pd_geo_load(d.iso, d.loc, d.zi, &g, &e), PD_E_CONFIG);
	assert_contains(e.message, "iso_3166-1.json");
	assert_contains(e.message, "3166-1");
	fake_free(&d);
}

Test(geo_bad, corrupt_mo_file)
{
	fake_dirs d = fake();
	char *mdir = xasprintf("%s/fr/LC_MESSAGES", d.loc);
	free(write_file(mdir, "iso_3166-1.mo", "this is not a gettext catalogue at all"));
	pd_geo *g = NULL;
	pd_err e = {0};
	cr_assert_eq(pd_geo_load(d.iso, d.loc, d.zi, &g, &e), PD_E_CONFIG);
	assert_contains(e.message, "iso_3166-1.mo");
	/* Valid magic but a string table pointing outside the file. */
	unsigned char hdr[28] = {0xde, 0x12, 0x04, 0x95, 0, 0, 0, 0, 5, 0, 0, 0, 28, 0,
	                         0,    0,    0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0,  0};
	char *p = xasprintf("%s/iso_3166-1.mo", mdir);
	FILE *f = fopen(p, "wb");
	fwrite(hdr, 1, sizeof hdr, f);
	fclose(f);
	cr_assert_eq(pd_geo_load(d.iso, d.loc, d.zi, &g, &e), PD_E_CONFIG);
	assert_contains(e.message, "not a valid gettext .mo file");
	free(p);
	free(mdir);
	fake_free(&d);
}

Test(geo_bad, missing_zone_tab_and_bad_line)
{
	fake_dirs d = fake();
	pd_geo *g = NULL;
	pd_err e = {0};
	char *z = xasprintf("%s/zone.tab", d.zi);
	unlink(z);
	cr_assert_eq(pd_geo_load(d.iso, d.loc, d.zi, &g, &e), PD_E_NOINPUT);
	assert_contains(e.message, "zone.tab");
	free(write_file(d.zi, "zone.tab", "FR\t+4852+00220\tEurope/Paris\ngarbage line\n"));
	cr_assert_eq(pd_geo_load(d.iso, d.loc, d.zi, &g, &e), PD_E_CONFIG);
	assert_contains(e.message, "zone.tab:2:");
	cr_assert_eq(e.line, 2);
	free(z);
	fake_free(&d);
}

Test(geo_bad, env_override_reaches_pd_geo_get)
{
	fake_dirs d = fake();
	char *bogus = xasprintf("%s/nothing-here", d.root);
	setenv("PROVDESK_ZONEINFO_DIR", bogus, 1);
	const pd_geo *g;
	pd_err e = {0};
	cr_assert_eq(pd_geo_get(&g, &e), PD_E_NOINPUT);
	assert_contains(e.message, "nothing-here/zone.tab");
	/* The failure is remembered, not retried half-way by another thread. */
	pd_err e2 = {0};
	cr_assert_eq(pd_geo_get(&g, &e2), PD_E_NOINPUT);
	cr_assert_str_eq(e.message, e2.message);
	free(bogus);
	fake_free(&d);
}

/* The supported locales: glibc's SUPPORTED read once as "ll_CC" (codesets
 * and modifiers dropped, duplicates merged, junk lines skipped, en_US always
 * there), and a country's default: the usual one when supported, else the
 * country's first, else en_US. */
Test(geo_locales, from_the_supported_file)
{
	fake_dirs d = fake();
	char *f = write_file(d.root, "SUPPORTED",
	                     "pt_BR.UTF-8 UTF-8\nde_BE.UTF-8 UTF-8\nde_CH.UTF-8 UTF-8\n"
	                     "fr_BE.UTF-8 UTF-8\nfr_BE@euro ISO-8859-15\nfr_FR.UTF-8 UTF-8\n"
	                     "fr_FR ISO-8859-1\nnl_BE UTF-8\ngarbage\n\n../../x UTF-8\n"
	                     "ca_ES@valencia UTF-8\n");
	setenv("PROVDESK_SUPPORTED_LOCALES", f, 1);
	pd_geo *g = NULL;
	pd_err e = {0};
	cr_assert_eq(pd_geo_load(d.iso, d.loc, d.zi, &g, &e), PD_OK, "%s", e.message);
	unsetenv("PROVDESK_SUPPORTED_LOCALES");
	const char *want[] = {"de_BE", "de_CH", "en_US", "fr_BE", "fr_FR", "nl_BE", "pt_BR"};
	cr_assert_eq(pd_geo_locale_count(g), 7);
	for (size_t i = 0; i < 7; i++)
		cr_assert_str_eq(pd_geo_locale_at(g, i), want[i]);
	cr_assert_null(pd_geo_locale_at(g, 7));
	cr_assert(pd_geo_locale_supported(g, "fr_BE"));
	cr_assert_not(pd_geo_locale_supported(g, "ca_ES"));
	cr_assert_str_eq(pd_geo_default_locale(g, "FR"), "fr_FR");
	cr_assert_str_eq(pd_geo_default_locale(g, "be"), "fr_BE", "the usual one, not de_BE");
	cr_assert_str_eq(pd_geo_default_locale(g, "CH"), "de_CH");
	cr_assert_str_eq(pd_geo_default_locale(g, "BR"), "pt_BR", "the country's first");
	cr_assert_str_eq(pd_geo_default_locale(g, "GB"), "en_US", "en_GB is not supported");
	cr_assert_str_eq(pd_geo_default_locale(g, "AQ"), "en_US");
	cr_assert_str_eq(pd_geo_default_locale(g, NULL), "en_US");
	cr_assert_str_eq(pd_geo_default_locale(g, "FRA"), "en_US");
	pd_geo_free(g);
	free(f);
	fake_free(&d);
}

Test(geo_locales, without_the_file_the_usual_ones)
{
	fake_dirs d = fake();
	char *none = xasprintf("%s/no-such-file", d.root);
	setenv("PROVDESK_SUPPORTED_LOCALES", none, 1);
	pd_geo *g = NULL;
	pd_err e = {0};
	cr_assert_eq(pd_geo_load(d.iso, d.loc, d.zi, &g, &e), PD_OK, "%s", e.message);
	unsetenv("PROVDESK_SUPPORTED_LOCALES");
	cr_assert_geq(pd_geo_locale_count(g), 10);
	const char *pairs[][2] = {{"FR", "fr_FR"}, {"BE", "fr_BE"}, {"CH", "de_CH"},
	                          {"GB", "en_GB"}, {"US", "en_US"}, {"DE", "de_DE"},
	                          {"ES", "es_ES"}, {"IT", "it_IT"}, {"JP", "en_US"}};
	for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
		cr_assert_str_eq(pd_geo_default_locale(g, pairs[i][0]), pairs[i][1], "%s",
		                 pairs[i][0]);
	pd_geo_free(g);
	free(none);
	fake_free(&d);
}

Test(geo_locales, normalize)
{
	char out[8];
	cr_assert(pd_locale_normalize("fr_FR.UTF-8", out));
	cr_assert_str_eq(out, "fr_FR");
	cr_assert(pd_locale_normalize("FR-be", out));
	cr_assert_str_eq(out, "fr_BE");
	cr_assert(pd_locale_normalize("ast_ES.utf8", out));
	cr_assert_str_eq(out, "ast_ES");
	const char *bad[] = {"",
	                     "f_FR",
	                     "fren_FR",
	                     "fr_F",
	                     "fr_FR@euro",
	                     "fr_FR.",
	                     "fr_FR.UTF 8",
	                     "fr__FR",
	                     "fr_FR.UTF-8-UTF-8-UTF-8-x"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_assert_not(pd_locale_normalize(bad[i], out), "%s", bad[i]);
	cr_assert_not(pd_locale_normalize(NULL, out));
}

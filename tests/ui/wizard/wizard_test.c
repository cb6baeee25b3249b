/* The wizard's pure parts against the real catalogue, real geo data and a
 * real SQLite file: drafts (never the secret), per-field validation through
 * the core rules, the fields each step shows, the choices, and the record
 * handed to store_customer_create. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "provdesk/store.h"
#include "src/ui/wizard/wizard_state.h"
#include "testlib.h" /* tests/lib */

static char dir[128], db[256];
static pd_catalogue cat;
static const pd_geo *geo;
static pd_store *st;
static pd_wiz_ctx ctx;
static pd_wiz w;

static void setup(void)
{
	char *d = tl_tmpdir("pd-wiz");
	cr_assert_not_null(d);
	snprintf(dir, sizeof dir, "%s", d);
	free(d);
	snprintf(db, sizeof db, "%s/provdesk.db", dir);
	char *path = tl_data_path("catalogue.json");
	pd_err e = {0};
	cr_assert_eq(pd_catalogue_load(path, &cat, &e), PD_OK, "%s", e.message);
	free(path);
	cr_assert_eq(pd_geo_get(&geo, &e), PD_OK, "%s", e.message);
	pd_store_opts o = {.catalogue = &cat, .internal_systems_limit = 1, .busy_timeout_ms = 5000};
	cr_assert_eq(store_open(db, &o, &st, &e), PD_OK, "%s", e.message);
	ctx = (pd_wiz_ctx){
	    .cat = &cat, .geo = geo, .store = st, .today = 20000, .trial_default_days = 30};
	pd_wiz_init(&w);
}

static void teardown(void)
{
	pd_wiz_free(&w);
	store_close(st);
	pd_catalogue_free(&cat);
	tl_rmrf(dir);
}

TestSuite(wizard, .init = setup, .fini = teardown);

static void set(const char *k, const char *v)
{
	pd_wiz_set(&w, k, v);
	pd_wiz_changed(&ctx, &w, k);
}

/* A complete valid wizard: France, Analytics Pro, Asterisk, one extra user. */
static void fill_valid(void)
{
	set("name", "Société Générale Démo");
	set("country", "france");
	set("product_type", "analytics-pro");
	set("reference", "R-42");
	set("notes", "line one\nline two");
	set("trial", "1");
	set("admin_name", "Hélène Dupré");
	set("admin_email", "helene@example.fr");
	set("admin_extension", "1001");
	set("platform", "asterisk-ami");
	set("host", "pbx.example.fr");
	set("username", "provdesk");
	set("secret", "s3cr3t-never-stored");
	size_t i = pd_wiz_user_add(&w);
	cr_assert_eq(i, 0);
	set("users[0].display_name", "Paul Agent");
	set("users[0].email", "paul@example.fr");
	set("users[0].role", "supervisor");
}

static const char *err_of(const char *key)
{
	static char msg[256];
	return pd_wiz_check_field(&ctx, &w, key, msg, sizeof msg) ? NULL : msg;
}

Test(wizard, valid_wizard_has_no_error_in_any_step)
{
	fill_valid();
	pd_wiz_errors er = {0};
	for (int s = PD_WIZ_CUSTOMER; s < PD_WIZ_SUMMARY; s++)
		cr_expect_eq(pd_wiz_check_step(&ctx, &w, (pd_wiz_step)s, &er), 0, "step %d: %s", s,
		             er.n ? er.v[0].message : "");
	pd_wiz_errors_free(&er);
	cr_expect_str_eq(w.country, "FR");
	cr_expect_str_eq(w.time_zone, "Europe/Paris");
	cr_expect_str_eq(w.country_text, "France (FR)");
	/* default trial: 30 days, inclusive */
	cr_expect_str_eq(w.trial_end, "2024-11-02");
}

Test(wizard, draft_round_trip_keeps_everything_but_the_secret)
{
	fill_valid();
	w.step = PD_WIZ_PBX;
	pd_set_str(&w.focus, "host");
	char *json = pd_wiz_draft_to_json(&w);
	cr_assert_null(strstr(json, "s3cr3t"), "secret in the draft: %s", json);
	pd_wiz back;
	pd_wiz_init(&back);
	pd_err e = {0};
	cr_assert_eq(pd_wiz_draft_from_json(json, &back, &e), PD_OK, "%s", e.message);
	free(json);
	cr_expect_eq(back.step, PD_WIZ_PBX);
	cr_expect_str_eq(back.focus, "host");
	cr_expect_str_eq(back.locale_auto, "fr_FR", "the locale still follows the country");
	static const char *keys[] = {"name",
	                             "country",
	                             "product_type",
	                             "reference",
	                             "notes",
	                             "trial",
	                             "trial_end",
	                             "time_zone",
	                             "locale",
	                             "admin_name",
	                             "admin_email",
	                             "admin_extension",
	                             "platform",
	                             "host",
	                             "port",
	                             "username",
	                             "sync_users",
	                             "monitor",
	                             "users[0].display_name",
	                             "users[0].email",
	                             "users[0].role"};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		cr_expect_str_eq(pd_wiz_get(&back, keys[i]), pd_wiz_get(&w, keys[i]), "%s",
		                 keys[i]);
	cr_expect_str_eq(back.country, "FR");
	cr_expect_str_eq(pd_wiz_get(&back, "secret"), "");
	cr_expect(back.had_secret, "the resume must ask for the secret again");
	/* on resume the secret is required again, with a message that says why */
	pd_wiz_changed(&ctx, &back, "platform");
	char msg[256];
	cr_expect_not(pd_wiz_check_field(&ctx, &back, "secret", msg, sizeof msg));
	cr_expect(strstr(msg, "again") != NULL, "%s", msg);
	pd_wiz_set(&back, "secret", "typed again");
	cr_expect_not(back.had_secret);
	pd_wiz_free(&back);
}

/* The wizard's keys are core's field names now; a draft saved under the old
 * keys still resumes on the field it was on, translated once when read. */
Test(wizard, draft_with_old_field_names_resumes_on_its_field)
{
	fill_valid();
	pd_wiz_user_add(&w);
	static const struct {
		const char *old, *now;
	} keys[] = {
	    {"admin.display_name", "admin_name"},
	    {"admin.email", "admin_email"},
	    {"admin.extension", "admin_extension"},
	    {"admin.role", "admin_role"},
	    {"users.1.email", "users[1].email"},
	    {"users.0.display_name", "users[0].display_name"},
	    {"found.2.role", "synced_users[2].role"},
	    {"pbx.f.host", "host"},
	    {"pbx.f.enterprise_id", "enterprise_id"},
	    {"pbx.platform", "platform"},
	    {"pbx.template", "template"},
	    {"pbx.create_disabled", "enabled"},
	    {"pbx.sync_users", "sync_users"},
	    {"pbx.auto_provision", "auto_provision"},
	    /* unchanged keys and anything else are kept as they are */
	    {"host", "host"},
	    {"name", "name"},
	    {"users.x.email", "users.x.email"},
	};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		pd_set_str(&w.focus, keys[i].old);
		char *json = pd_wiz_draft_to_json(&w);
		pd_wiz back;
		pd_wiz_init(&back);
		pd_err e = {0};
		cr_assert_eq(pd_wiz_draft_from_json(json, &back, &e), PD_OK, "%s", e.message);
		free(json);
		cr_expect_str_eq(back.focus, keys[i].now, "%s", keys[i].old);
		pd_wiz_free(&back);
	}
	/* and the new names address the same values */
	pd_wiz_set(&w, "users[1].email", "paul@example.fr");
	cr_expect_str_eq(w.users[1].email, "paul@example.fr");
	cr_expect_str_eq(pd_wiz_get(&w, "admin_email"), w.admin.email);
	cr_expect_null(pd_wiz_get(&w, "admin.email"), "the old key is not a key any more");
}

Test(wizard, bad_drafts_are_refused_naming_the_key)
{
	pd_err e = {0};
	cr_expect_eq(pd_wiz_draft_from_json("{not json", &w, &e), PD_E_INVALID);
	cr_expect(strstr(e.message, "not valid JSON") != NULL, "%s", e.message);
	cr_expect_eq(pd_wiz_draft_from_json("{\"format\":\"other\"}", &w, &e), PD_E_INVALID);
	cr_expect_eq(
	    pd_wiz_draft_from_json("{\"format\":\"provdesk-wizard-draft\",\"version\":99}", &w, &e),
	    PD_E_INVALID);
	cr_expect(strstr(e.message, "newer") != NULL, "%s", e.message);
	cr_expect_eq(pd_wiz_draft_from_json("{\"format\":\"provdesk-wizard-draft\",\"version\":1,"
	                                    "\"customer\":{\"name\":42}}",
	                                    &w, &e),
	             PD_E_INVALID);
	cr_expect(strstr(e.message, "customer.name") != NULL, "%s", e.message);
	cr_expect_eq(pd_wiz_draft_from_json("{\"format\":\"provdesk-wizard-draft\",\"version\":1,"
	                                    "\"step\":\"nowhere\"}",
	                                    &w, &e),
	             PD_E_INVALID);
	cr_expect_str_eq(e.field, "step");
	cr_expect_eq(pd_wiz_draft_from_json("{\"format\":\"provdesk-wizard-draft\",\"version\":1,"
	                                    "\"pbx\":{\"sync_users\":\"yes\"}}",
	                                    &w, &e),
	             PD_E_INVALID);
	cr_expect(strstr(e.message, "sync_users") != NULL, "%s", e.message);
	/* a refused draft leaves the state as it was */
	cr_expect_str_eq(w.name, "");
}

Test(wizard, drafts_are_stored_per_os_user_and_deleted)
{
	fill_valid();
	w.step = PD_WIZ_ROLES;
	pd_err e = {0};
	cr_assert_eq(pd_wiz_draft_save(st, &w, &e), PD_OK, "%s", e.message);
	pd_wiz back;
	pd_wiz_init(&back);
	int64_t at = 0;
	cr_assert_eq(pd_wiz_draft_load(st, &back, &at, &e), PD_OK, "%s", e.message);
	cr_expect_gt(at, 0);
	cr_expect_eq(back.step, PD_WIZ_ROLES);
	cr_expect_str_eq(back.name, "Société Générale Démo");
	cr_expect_eq(back.n_users, 1);
	pd_wiz_free(&back);
	cr_assert_eq(pd_wiz_draft_delete(st, &e), PD_OK);
	pd_wiz_init(&back);
	cr_expect_eq(pd_wiz_draft_load(st, &back, &at, &e), PD_E_NOTFOUND);
	pd_wiz_free(&back);
	/* a draft is never a customer */
	int64_t n = -1;
	pd_query q = {.today = 20000};
	cr_assert_eq(store_customer_count(st, &q, &n, &e), PD_OK);
	cr_expect_eq(n, 0);
}

Test(wizard, every_customer_field_error_is_reported_on_its_field)
{
	cr_expect_not_null(err_of("name"));
	cr_expect_not_null(err_of("country"));
	cr_expect_not_null(err_of("product_type"));
	set("country", "zzzzqq");
	cr_expect(strstr(err_of("country"), "no country") != NULL);
	set("country", "allem");
	cr_expect_null(err_of("country"));
	cr_expect_str_eq(w.country, "DE");
	cr_expect_str_eq(w.country_text, "Allemagne / Germany (DE)");
	/* sold only in French-speaking countries */
	set("product_type", "compliance-recording");
	cr_expect_not_null(err_of("product_type"));
	set("country", "Belgique");
	cr_expect_str_eq(w.country, "BE");
	cr_expect_null(err_of("product_type"));
	char ref[80];
	memset(ref, 'x', 70);
	ref[70] = 0;
	set("reference", ref);
	cr_expect_not_null(err_of("reference"));
	/* trial: not offered by this type, and a date that is not a date */
	pd_wiz_field f[PD_WIZ_FIELDS_MAX];
	size_t nf = pd_wiz_fields(&ctx, &w, PD_WIZ_CUSTOMER, f, PD_WIZ_FIELDS_MAX);
	for (size_t i = 0; i < nf; i++)
		cr_expect_str_neq(f[i].key, "trial");
	set("product_type", "analytics-pro");
	set("trial", "1");
	set("trial_end", "31/12/2024");
	cr_expect(strstr(err_of("trial_end"), "YYYY-MM-DD") != NULL);
	set("trial_end", "2020-01-01");
	cr_expect_not_null(err_of("trial_end"));
}

Test(wizard, name_uniqueness_asks_the_store_case_and_accent_blind)
{
	fill_valid();
	pd_new_customer n;
	char bad[48];
	pd_err e = {0};
	cr_assert_eq(pd_wiz_build(&ctx, &w, &n, bad, &e), PD_OK, "%s (%s)", e.message, bad);
	pd_customer out = {0};
	pd_actor a = {"tester", ""};
	cr_assert_eq(store_customer_create(st, &n, &a, &out, &e), PD_OK, "%s", e.message);
	pd_new_customer_free(&n);
	pd_customer_free(&out);
	set("name", "  SOCIETE GENERALE DEMO ");
	const char *m = err_of("name");
	cr_assert_not_null(m);
	cr_expect(strstr(m, "already") != NULL, "%s", m);
	set("name", "Another one");
	cr_expect_null(err_of("name"));
}

Test(wizard, users_and_roles_errors)
{
	fill_valid();
	set("admin_email", "not-an-email");
	cr_expect_not_null(err_of("admin_email"));
	set("admin_email", "helene@example.fr");
	set("admin_extension", "12a");
	cr_expect_not_null(err_of("admin_extension"));
	set("admin_extension", "");
	cr_expect_null(err_of("admin_extension"));
	set("users[0].email", "HELENE@example.fr");
	cr_expect(strstr(err_of("users[0].email"), "primary") != NULL);
	pd_wiz_user_add(&w);
	set("users[1].display_name", "Other");
	set("users[1].email", "paul@example.fr");
	set("users[0].email", "paul@example.fr");
	cr_expect(strstr(err_of("users[1].email"), "another user") != NULL);
	set("users[1].role", "no-such-role");
	cr_expect_not_null(err_of("users[1].role"));
	pd_wiz_errors er = {0};
	cr_expect_eq(pd_wiz_check_step(&ctx, &w, PD_WIZ_ROLES, &er), 2);
	cr_expect_not_null(pd_wiz_errors_find(&er, "users[1].email"));
	cr_expect_not_null(pd_wiz_errors_find(&er, "users[1].role"));
	pd_wiz_user_remove(&w, 1);
	cr_expect_eq(pd_wiz_check_step(&ctx, &w, PD_WIZ_ROLES, &er), 0);
	cr_expect_eq(er.n, 0, "old errors of the step are forgotten");
	pd_wiz_errors_free(&er);
}

Test(wizard, pbx_step_fields_and_errors)
{
	fill_valid();
	pd_wiz_field f[PD_WIZ_FIELDS_MAX];
	size_t nf = pd_wiz_fields(&ctx, &w, PD_WIZ_PBX, f, PD_WIZ_FIELDS_MAX);
	bool secret = false, port = false, auto_p = false;
	for (size_t i = 0; i < nf; i++) {
		secret |= !strcmp(f[i].key, "secret") && f[i].kind == PD_WF_SECRET;
		port |= !strcmp(f[i].key, "port");
		auto_p |= !strcmp(f[i].key, "auto_provision") && strstr(f[i].note, "only") != NULL;
	}
	cr_expect(secret && port && auto_p);
	cr_expect_str_eq(pd_wiz_get(&w, "port"), "5038", "catalogue default");
	set("port", "99999");
	cr_expect_not_null(err_of("port"));
	set("port", "5038");
	set("host", "bad host!");
	cr_expect_not_null(err_of("host"));
	set("host", "");
	cr_expect_not_null(err_of("host"));
	set("host", "pbx.example.fr");
	set("secret", "");
	cr_expect_not_null(err_of("secret"));
	set("secret", "x");
	/* a platform without a driver must be created disabled */
	set("platform", "broadworks-xsi");
	set("enterprise_id", "ENT1");
	cr_expect_str_eq(pd_wiz_get(&w, "port"), "443", "the new platform's default port");
	cr_expect_str_eq(pd_wiz_get(&w, "tls"), "1");
	pd_wiz_errors er = {0};
	cr_expect_eq(pd_wiz_check_step(&ctx, &w, PD_WIZ_PBX, &er), 1);
	cr_expect_not_null(pd_wiz_errors_find(&er, "enabled"), "core's field: the toggle");
	cr_expect_str_eq(pd_wiz_get(&w, "enabled"), "1", "not created disabled yet");
	set("enabled", "0"); /* ticks "Create disabled" */
	cr_expect(w.create_disabled);
	cr_expect_eq(pd_wiz_check_step(&ctx, &w, PD_WIZ_PBX, &er), 0);
	/* "no PBX yet": nothing of step 3 is asked */
	set("host", "");
	set("no_pbx", "1");
	cr_expect_eq(pd_wiz_check_step(&ctx, &w, PD_WIZ_PBX, &er), 0);
	cr_expect_eq(pd_wiz_fields(&ctx, &w, PD_WIZ_PBX, f, PD_WIZ_FIELDS_MAX), 1);
	pd_wiz_errors_free(&er);
}

Test(wizard, product_types_follow_country_and_platform)
{
	set("country", "Allemagne");
	set("platform", "freeswitch-esl");
	pd_wiz_choices ch;
	pd_wiz_choices_get(&ctx, &w, "product_type", &ch);
	bool essentials = false, compliance = false, cc = false;
	for (size_t i = 0; i < ch.n; i++) {
		essentials |= !strcmp(ch.values[i], "analytics-essentials");
		compliance |= !strcmp(ch.values[i], "compliance-recording");
		cc |= !strcmp(ch.values[i], "contact-centre");
	}
	pd_wiz_choices_free(&ch);
	cr_expect(essentials);
	cr_expect_not(compliance, "not sold in Germany");
	cr_expect_not(cc, "not allowed with FreeSWITCH");
	set("product_type", "contact-centre");
	cr_expect_not_null(err_of("product_type"));
	cr_expect_not_null(err_of("platform"));
	/* a country with several zones asks for one */
	set("country", "États-Unis");
	cr_expect_str_eq(w.country, "US");
	pd_wiz_field f[PD_WIZ_FIELDS_MAX];
	size_t nf = pd_wiz_fields(&ctx, &w, PD_WIZ_CUSTOMER, f, PD_WIZ_FIELDS_MAX);
	bool tz = false;
	for (size_t i = 0; i < nf; i++)
		tz |= !strcmp(f[i].key, "time_zone");
	cr_expect(tz);
	pd_wiz_choices_get(&ctx, &w, "time_zone", &ch);
	cr_expect_gt(ch.n, 5);
	pd_wiz_choices_free(&ch);
	set("time_zone", "Nowhere/Atlantis");
	cr_expect_not_null(err_of("time_zone"));
	set("time_zone", "America/Chicago");
	cr_expect_null(err_of("time_zone"));
}

Test(wizard, template_fills_the_platform_and_its_fields)
{
	pd_template t = {.name = "lab",
	                 .platform = "asterisk-ami",
	                 .host = "10.0.0.5",
	                 .port = 5039,
	                 .tls = true,
	                 .username = "admin"};
	ctx.templates = &t;
	ctx.n_templates = 1;
	set("template", "lab");
	cr_expect_str_eq(w.platform, "asterisk-ami");
	cr_expect_str_eq(pd_wiz_get(&w, "host"), "10.0.0.5");
	cr_expect_str_eq(pd_wiz_get(&w, "port"), "5039");
	cr_expect_str_eq(pd_wiz_get(&w, "tls"), "1");
	cr_expect_str_eq(pd_wiz_get(&w, "username"), "admin");
}

/* The locale follows the country until one is chosen by hand (as in the
 * edit form); its choices are the country's own locales, the default first;
 * the record handed to the store carries it. */
Test(wizard, locale_follows_the_country_until_chosen_by_hand)
{
	fill_valid();
	cr_expect_str_eq(w.locale, "fr_FR");
	set("country", "Suisse");
	cr_expect_str_eq(w.locale, "de_CH", "the default followed the country");
	pd_wiz_field f[PD_WIZ_FIELDS_MAX];
	size_t nf = pd_wiz_fields(&ctx, &w, PD_WIZ_CUSTOMER, f, PD_WIZ_FIELDS_MAX);
	bool shown = false;
	for (size_t i = 0; i < nf; i++)
		shown |= !strcmp(f[i].key, "locale");
	cr_expect(shown, "step 1 shows the locale");
	pd_wiz_choices ch;
	pd_wiz_choices_get(&ctx, &w, "locale", &ch);
	cr_assert_gt(ch.n, 2);
	cr_expect_str_eq(ch.values[0], "de_CH");
	bool fr_ch = false;
	for (size_t i = 0; i < ch.n; i++)
		fr_ch |= !strcmp(ch.values[i], "fr_CH");
	cr_expect(fr_ch, "the country's other locales are offered");
	pd_wiz_choices_free(&ch);
	set("locale", "fr_CH");
	cr_expect_null(err_of("locale"));
	set("country", "Belgique");
	cr_expect_str_eq(w.locale, "fr_CH", "a locale chosen by hand stays");
	set("locale", "xx_YY");
	cr_expect_not_null(err_of("locale"));
	set("locale", "nl_BE");
	pd_new_customer n;
	char bad[48];
	pd_err e = {0};
	cr_assert_eq(pd_wiz_build(&ctx, &w, &n, bad, &e), PD_OK, "%s", e.message);
	cr_expect_str_eq(n.customer.locale, "nl_BE");
	pd_new_customer_free(&n);
}

/* A draft saved before the wizard asked for the locale resumes with its
 * country's default, which then follows the country. */
Test(wizard, draft_without_a_locale_resumes_with_the_countrys)
{
	set("country", "Suisse");
	char *json = pd_wiz_draft_to_json(&w);
	json_t *root = json_loads(json, 0, NULL);
	free(json);
	cr_assert_not_null(root);
	json_object_del(json_object_get(root, "customer"), "locale");
	json_object_del(json_object_get(root, "customer"), "locale_auto");
	json = json_dumps(root, 0);
	json_decref(root);
	pd_wiz old;
	pd_wiz_init(&old);
	pd_err e = {0};
	cr_assert_eq(pd_wiz_draft_from_json(json, &old, &e), PD_OK, "%s", e.message);
	free(json);
	cr_assert_str_eq(old.locale, "");
	pd_wiz_resumed(&ctx, &old);
	cr_expect_str_eq(old.locale, "de_CH");
	pd_wiz_set(&old, "country", "France");
	pd_wiz_changed(&ctx, &old, "country");
	cr_expect_str_eq(old.locale, "fr_FR", "it follows the country");
	pd_wiz_free(&old);
}

Test(wizard, build_gives_the_store_the_whole_record)
{
	fill_valid();
	set("auto_provision", "1");
	pd_new_customer n;
	char bad[48];
	pd_err e = {0};
	cr_assert_eq(pd_wiz_build(&ctx, &w, &n, bad, &e), PD_OK, "%s", e.message);
	cr_expect_str_eq(n.customer.name, "Société Générale Démo");
	cr_expect_str_eq(n.customer.country, "FR");
	cr_expect_eq(n.trial_days, 30);
	cr_expect_str_eq(n.admin.role, "customer-admin");
	cr_expect_eq(n.n_users, 1);
	cr_expect_str_eq(n.users[0].role, "supervisor");
	cr_assert_not_null(n.pbx);
	cr_expect_str_eq(n.pbx->secret, "s3cr3t-never-stored");
	cr_expect_eq(n.pbx->port, 5038);
	cr_expect(n.pbx->auto_provision && n.pbx->sync_users && n.pbx->monitor && n.pbx->enabled);
	pd_new_customer_free(&n);
	/* a rule broken after the steps were checked names the wizard key */
	set("admin_email", "x");
	cr_expect_eq(pd_wiz_build(&ctx, &w, &n, bad, &e), PD_E_INVALID);
	cr_expect_str_eq(bad, "admin_email");
	pd_new_customer_free(&n);
}

/* Step 4: users found on the PBX get roles before the customer exists; the
 * roles are drafted, handed to the store with the record, survive a second
 * discovery, and are forgotten when step 3 names another PBX. */
Test(wizard, discovered_pbx_users_get_roles_drafted_and_built)
{
	fill_valid();
	pd_synced_user u[2] = {
	    {.endpoint = "1001",
	     .display_name = "Alice Martin",
	     .email = "HELENE@example.fr",
	     .sub_account = "sales"},
	    {.endpoint = "1002", .display_name = "Bob Dupont"},
	};
	pd_wiz_found_set(&w, u, 2, "2 users found on the PBX");
	pd_wiz_field f[PD_WIZ_FIELDS_MAX];
	size_t nf = pd_wiz_fields(&ctx, &w, PD_WIZ_ROLES, f, PD_WIZ_FIELDS_MAX);
	int found = 0;
	bool note = false;
	for (size_t i = 0; i < nf; i++) {
		if (!strncmp(f[i].key, "synced_users[", 13)) {
			found++;
			cr_expect_eq(f[i].kind, PD_WF_CHOICE, "%s is a role choice", f[i].key);
		}
		note |= !strcmp(f[i].note, "2 users found on the PBX");
	}
	cr_expect_eq(found, 2);
	cr_expect(note);
	cr_expect_str_eq(f[nf - 1 - 4].label, "1002 Bob Dupont", "the user's own line");
	cr_expect_str_eq(pd_wiz_get(&w, "synced_users[0].role"), "", "no role until one is given");
	pd_wiz_choices ch;
	pd_wiz_choices_get(&ctx, &w, "synced_users[1].role", &ch);
	cr_expect_gt(ch.n, 2);
	cr_expect_str_eq(ch.values[0], "", "no role = no access is offered");
	pd_wiz_choices_free(&ch);
	set("synced_users[1].role", "supervisor");
	char *d = pd_wiz_display(&ctx, &w, "synced_users[1].role");
	cr_expect_str_eq(d, "Supervisor");
	free(d);

	/* drafted with its role (nothing of it is secret) and read back */
	char *json = pd_wiz_draft_to_json(&w);
	cr_expect_not_null(strstr(json, "Bob Dupont"), "%s", json);
	pd_wiz back;
	pd_wiz_init(&back);
	pd_err e = {0};
	cr_assert_eq(pd_wiz_draft_from_json(json, &back, &e), PD_OK, "%s", e.message);
	cr_expect_eq(back.n_found, 2);
	cr_expect_str_eq(pd_wiz_get(&back, "synced_users[1].role"), "supervisor");
	cr_expect_str_eq(back.found[0].sub_account, "sales");
	cr_expect_not_null(strstr(back.found_status, "F9"), "%s", back.found_status);
	cr_expect_str_eq(back.found_for, w.found_for, "the PBX they were found on");
	pd_wiz_changed(&ctx, &back, "platform"); /* what opening the wizard does */
	cr_expect(pd_wiz_found_used(&back), "a resumed draft keeps its PBX users");
	pd_wiz_free(&back);
	free(json);

	/* the record: the found users as synced users with their roles */
	pd_new_customer n;
	char bad[48];
	cr_assert_eq(pd_wiz_build(&ctx, &w, &n, bad, &e), PD_OK, "%s", e.message);
	cr_assert_eq(n.n_synced, 2);
	cr_expect_str_eq(n.synced[1].endpoint, "1002");
	cr_expect_str_eq(n.synced[1].role, "supervisor");
	cr_expect_null(n.synced[0].role);
	cr_expect_str_eq(n.synced[0].sub_account, "sales");
	cr_expect(n.synced[0].synced);
	pd_new_customer_free(&n);

	/* a second discovery keeps the roles of the users found again */
	pd_synced_user again[2] = {{.endpoint = "1002", .display_name = "Bob D."},
	                           {.endpoint = "1003", .display_name = "Carla"}};
	pd_wiz_found_set(&w, again, 2, "again");
	cr_expect_str_eq(pd_wiz_get(&w, "synced_users[0].role"), "supervisor");
	cr_expect_str_eq(pd_wiz_get(&w, "synced_users[1].role"), "");

	/* no sync: they are not created (nor shown) */
	set("sync_users", "0");
	cr_assert_eq(pd_wiz_build(&ctx, &w, &n, bad, &e), PD_OK, "%s", e.message);
	cr_expect_eq(n.n_synced, 0);
	pd_new_customer_free(&n);
	nf = pd_wiz_fields(&ctx, &w, PD_WIZ_ROLES, f, PD_WIZ_FIELDS_MAX);
	for (size_t i = 0; i < nf; i++)
		cr_expect(strncmp(f[i].key, "synced_users[", 13), "%s shown without sync",
		          f[i].key);
	set("sync_users", "1");

	/* another host in step 3: the list was another PBX's, not created nor shown */
	set("platform", "asterisk-ami"); /* left unchanged: still that PBX */
	cr_expect(pd_wiz_found_used(&w));
	set("host", "other.example.fr");
	cr_expect(pd_wiz_found_stale(&w));
	cr_assert_eq(pd_wiz_build(&ctx, &w, &n, bad, &e), PD_OK, "%s", e.message);
	cr_expect_eq(n.n_synced, 0);
	pd_new_customer_free(&n);
	nf = pd_wiz_fields(&ctx, &w, PD_WIZ_ROLES, f, PD_WIZ_FIELDS_MAX);
	bool says = false;
	for (size_t i = 0; i < nf; i++) {
		cr_expect(strncmp(f[i].key, "synced_users[", 13), "%s shown for another PBX",
		          f[i].key);
		says |= strstr(f[i].note, "The PBX changed in step 3") != NULL;
	}
	cr_expect(says, "step 4 says why the list is gone");
	set("host", "pbx.example.fr"); /* back to the PBX they were found on */
	cr_expect(pd_wiz_found_used(&w));
	cr_expect_str_eq(pd_wiz_get(&w, "synced_users[0].role"), "supervisor");
}

/* A long accented name in a user's line of the roles step is cut to the
 * label's 34 bytes between two characters: no half character (shown as a
 * stray byte) at its end. */
Test(wizard, long_accented_user_name_cut_between_characters)
{
	fill_valid();
	pd_synced_user u[1] = {
	    {.endpoint = "1003", .display_name = "Marie-Thérèse Dupont de Latour Évrard"}};
	pd_wiz_found_set(&w, u, 1, "1 user found on the PBX");
	pd_wiz_field f[PD_WIZ_FIELDS_MAX];
	size_t nf = pd_wiz_fields(&ctx, &w, PD_WIZ_ROLES, f, PD_WIZ_FIELDS_MAX);
	const char *label = NULL;
	for (size_t i = 0; i < nf; i++)
		if (!strcmp(f[i].key, "synced_users[0].role"))
			label = f[i].label;
	cr_assert(label, "the user's line is there");
	/* the name's 34th byte is the first of É's two */
	cr_expect_str_eq(label, "1003 Marie-Thérèse Dupont de Latour ");
	cr_expect(pd_utf8_valid(label, strlen(label)));
}

/* A BroadWorks directory is the enterprise's or one group's: users found in
 * group-2 are not the enterprise's, on the same XSP host and port. */
Test(wizard, broadworks_found_users_stale_when_the_group_or_enterprise_changes)
{
	fill_valid();
	set("platform", "broadworks-xsi");
	set("host", "xsp1.example.net");
	set("enterprise_id", "lab-ent");
	set("group_id", "group-2");
	pd_synced_user u[1] = {{.endpoint = "1002@lab.example",
	                        .display_name = "Bob Dupont",
	                        .sub_account = "group-2"}};
	pd_wiz_found_set(&w, u, 1, "1 user found on the PBX");
	cr_expect(!pd_wiz_found_stale(&w));
	set("group_id", ""); /* the whole enterprise now */
	cr_expect(pd_wiz_found_stale(&w), "another group: another list");
	set("group_id", "group-2");
	cr_expect(!pd_wiz_found_stale(&w), "back to the group they were found in");
	set("enterprise_id", "other-ent");
	cr_expect(pd_wiz_found_stale(&w), "another enterprise: another list");
}

Test(wizard, bad_found_users_in_a_draft_are_refused_naming_the_key)
{
	static const char *const bad[] = {
	    "{\"format\":\"provdesk-wizard-draft\",\"version\":1,\"found\":{}}",
	    "{\"format\":\"provdesk-wizard-draft\",\"version\":1,\"found\":[1]}",
	    "{\"format\":\"provdesk-wizard-draft\",\"version\":1,\"found\":[{\"role\":\"agent\"}]}",
	    "{\"format\":\"provdesk-wizard-draft\",\"version\":1,\"found\":[{\"endpoint\":7}]}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		pd_err e = {0};
		cr_expect_eq(pd_wiz_draft_from_json(bad[i], &w, &e), PD_E_INVALID, "%s", bad[i]);
		cr_expect(!strcmp(e.field, "found") || !strcmp(e.field, "endpoint"), "%s: %s",
		          bad[i], e.field);
		cr_expect_not_null(strstr(e.message, "found"), "%s", e.message);
	}
}

/* The wizard's keys are core's field names: a core or store error names a
 * field the wizard shows as is, and one it has no place for is not taken
 * for a field. */
Test(wizard, core_field_names_are_the_wizard_keys)
{
	fill_valid();
	set("trial", "1");
	static const char *const shown[] = {
	    "name",        "admin_email",   "admin_name", "users[0].role", "host",
	    "port",        "secret",        "username",   "platform",      "template",
	    "enabled",     "sync_users",    "trial_end",  "country",       "tls_verify",
	    "wrapup_time", "auto_provision"};
	for (size_t i = 0; i < sizeof shown / sizeof shown[0]; i++)
		cr_expect(pd_wiz_has_field(&ctx, &w, shown[i]), "%s", shown[i]);
	static const char *const not_shown[] = {
	    "trial_days",     "customer",      "email",       "",
	    "users[5].email", "enterprise_id", "note.synced", "pbx.f.host"};
	for (size_t i = 0; i < sizeof not_shown / sizeof not_shown[0]; i++)
		cr_expect_not(pd_wiz_has_field(&ctx, &w, not_shown[i]), "%s", not_shown[i]);
	/* a core PBX error lands on the field core names */
	set("host", "bad host!");
	pd_wiz_errors er = {0};
	cr_expect_gt(pd_wiz_check_step(&ctx, &w, PD_WIZ_PBX, &er), 0);
	cr_expect_not_null(pd_wiz_errors_find(&er, "host"));
	pd_wiz_errors_free(&er);
	/* core's trial length rule, on the date field */
	set("trial_end", "2030-01-01");
	cr_expect_not_null(err_of("trial_end"));
	cr_expect(strstr(err_of("trial_end"), "365") != NULL, "%s", err_of("trial_end"));
}

/* A platform's field the wizard could not show under its catalogue key
 * (the key is one of the wizard's own) would be lost: none in the catalogue. */
Test(wizard, catalogue_field_keys_are_free_in_the_wizard)
{
	for (size_t p = 0; p < cat.n_platforms; p++)
		for (size_t i = 0; i < cat.platforms[p].n_fields; i++)
			cr_expect(pd_wiz_is_param_key(cat.platforms[p].fields[i].key), "%s: %s",
			          cat.platforms[p].key, cat.platforms[p].fields[i].key);
}

/* A draft saved by the build before the wizard took core's names (the JSON
 * below is what it wrote, focus "pbx.f.port" included) resumes with every
 * value, on the field it was on, under the new keys. */
Test(wizard, old_format_draft_resumes_with_its_values)
{
	static const char old[] =
	    "{\"admin\":{\"display_name\":\"Hélène Dupré\",\"email\":\"helene@example.fr\","
	    "\"extension\":\"1001\"},\"customer\":{\"country\":\"FR\",\"country_text\":\"France "
	    "(FR)\",\"name\":\"Société Générale Démo\",\"notes\":\"first line\\nsecond\","
	    "\"product_type\":\"analytics-pro\",\"reference\":\"R-42\",\"time_zone\":\"Europe/"
	    "Paris\",\"trial\":true,\"trial_end\":\"2024-11-02\"},\"focus\":\"pbx.f.port\","
	    "\"format\":\"provdesk-wizard-draft\",\"found\":[],\"found_for\":\"\",\"pbx\":{"
	    "\"auto_provision\":false,\"create_disabled\":true,\"had_secret\":true,\"monitor\":"
	    "true,\"no_pbx\":false,\"params\":{\"host\":\"pbx.example.fr\",\"port\":\"5039\","
	    "\"tls\":\"0\",\"tls_ca_file\":\"\",\"tls_verify\":\"1\",\"username\":\"provdesk\","
	    "\"wrapup_time\":\"15\"},\"platform\":\"asterisk-ami\",\"sync_users\":true,"
	    "\"template\":\"\"},\"step\":\"pbx\",\"users\":[{\"display_name\":\"Paul Agent\","
	    "\"email\":\"paul@example.fr\",\"extension\":\"\",\"role\":\"supervisor\"}],"
	    "\"version\":1}";
	pd_actor a;
	pd_actor_current(&a);
	pd_err e = {0};
	cr_assert_eq(store_draft_save(st, a.user, old, &e), PD_OK, "%s", e.message);
	int64_t at = 0;
	cr_assert_eq(pd_wiz_draft_load(st, &w, &at, &e), PD_OK, "%s", e.message);
	pd_wiz_changed(&ctx, &w, "platform"); /* as the wizard does on resume */
	cr_expect_eq(w.step, PD_WIZ_PBX);
	cr_expect_str_eq(w.focus, "port", "the focus under its new key");
	static const char *const want[][2] = {
	    {"name", "Société Générale Démo"},
	    {"country", "France (FR)"},
	    {"notes", "first line\nsecond"},
	    {"trial", "1"},
	    {"trial_end", "2024-11-02"},
	    {"admin_name", "Hélène Dupré"},
	    {"admin_email", "helene@example.fr"},
	    {"admin_extension", "1001"},
	    {"platform", "asterisk-ami"},
	    {"host", "pbx.example.fr"},
	    {"port", "5039"},
	    {"username", "provdesk"},
	    {"wrapup_time", "15"},
	    {"tls_verify", "1"},
	    {"enabled", "0"}, /* it was to be created disabled */
	    {"sync_users", "1"},
	    {"monitor", "1"},
	    {"auto_provision", "0"},
	    {"secret", ""},
	    {"users[0].display_name", "Paul Agent"},
	    {"users[0].role", "supervisor"},
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		cr_expect_str_eq(pd_wiz_get(&w, want[i][0]), want[i][1], "%s", want[i][0]);
	cr_expect(w.create_disabled);
	cr_expect(w.had_secret);
	/* the resumed PBX step shows those fields and asks for the secret again */
	char msg[256];
	cr_expect(pd_wiz_check_field(&ctx, &w, "port", msg, sizeof msg), "%s", msg);
	cr_expect_not(pd_wiz_check_field(&ctx, &w, "secret", msg, sizeof msg));
	cr_expect(strstr(msg, "again") != NULL, "%s", msg);
	cr_expect(pd_wiz_has_field(&ctx, &w, w.focus));
}

/* Step 3 with BroadWorks (issue 16): the catalogue's fields in its order and
 * labels (Xsi host, port 443, TLS on, Administrator, Password masked,
 * Enterprise id required, Group id, Other XSP hosts), each required one
 * refused naming it, a bad XSP host list refused naming xsp_hosts, and the
 * record built with enterprise_id/group_id/xsp_hosts in params_json. Created
 * disabled, so it holds whether or not the Xsi driver is registered. */
Test(wizard, broadworks_step3_fields_checked_and_built)
{
	fill_valid();
	set("product_type", "contact-centre");
	set("platform", "broadworks-xsi");
	pd_wiz_field f[PD_WIZ_FIELDS_MAX];
	size_t nf = pd_wiz_fields(&ctx, &w, PD_WIZ_PBX, f, PD_WIZ_FIELDS_MAX);
	static const struct {
		const char *key, *label;
		pd_wiz_kind kind;
		bool required;
	} want[] = {
	    {"host", "Xsi host", PD_WF_TEXT, true},
	    {"port", "Port", PD_WF_TEXT, true},
	    {"tls", "TLS", PD_WF_TOGGLE, false},
	    {"username", "Administrator", PD_WF_TEXT, true},
	    {"secret", "Password", PD_WF_SECRET, true},
	    {"enterprise_id", "Enterprise id", PD_WF_TEXT, true},
	    {"group_id", "Group id", PD_WF_TEXT, false},
	    {"xsp_hosts", "Other XSP hosts", PD_WF_TEXT, false},
	    {"tls_verify", "Verify TLS cert", PD_WF_TOGGLE, false},
	    {"tls_ca_file", "TLS CA file", PD_WF_TEXT, false},
	};
	size_t at = 0;
	for (size_t i = 0; i < nf && at < sizeof want / sizeof want[0]; i++) {
		if (strcmp(f[i].key, want[at].key))
			continue;
		cr_expect_str_eq(f[i].label, want[at].label);
		cr_expect_eq(f[i].kind, want[at].kind, "%s", f[i].key);
		cr_expect_eq(f[i].required, want[at].required, "%s", f[i].key);
		at++;
	}
	cr_assert_eq(at, sizeof want / sizeof want[0],
	             "fields in the catalogue's order (%zu found)", at);
	for (size_t i = 0; i < nf; i++)
		cr_expect(strcmp(f[i].key, "wrapup_time"), "no Asterisk field: %s", f[i].key);
	cr_expect_str_eq(pd_wiz_get(&w, "port"), "443");
	cr_expect_str_eq(pd_wiz_get(&w, "tls"), "1", "TLS on by default");
	/* each required field, and the bad inputs, named */
	set("enabled", "0");
	set("host", "xsp1.example.net");
	set("username", "admin@lab-ent");
	set("secret", "Xsi-S3cret");
	cr_expect_not_null(err_of("enterprise_id"), "required");
	pd_wiz_errors er = {0};
	cr_expect_eq(pd_wiz_check_step(&ctx, &w, PD_WIZ_PBX, &er), 1);
	const char *em = pd_wiz_errors_find(&er, "enterprise_id");
	cr_assert_not_null(em);
	cr_expect(strstr(em, "required") != NULL, "shown under Enterprise id: %s", em);
	set("enterprise_id", "lab-ent");
	set("host", "");
	cr_expect_not_null(err_of("host"), "an empty host");
	set("host", "xsp1.example.net");
	set("username", "");
	cr_expect_not_null(err_of("username"), "the administrator is required");
	set("username", "admin@lab-ent");
	/* shown under the field xsp_hosts, saying why */
	static const char *const bad[][2] = {{"xsp2.example.net:99999", "1 to 65535"},
	                                     {"a.example,,b.example", "empty entry"},
	                                     {"https://xsp2", "is a URL"}};
	for (size_t i = 0; i < 3; i++) {
		set("xsp_hosts", bad[i][0]);
		const char *m = err_of("xsp_hosts");
		cr_expect_not_null(m, "%s", bad[i][0]);
		if (m)
			cr_expect(strstr(m, bad[i][1]) != NULL, "%s", m);
	}
	set("xsp_hosts", "xsp2.example.net:8443, xsp3.example.net");
	set("group_id", "group-1");
	cr_expect_null(err_of("xsp_hosts"));
	cr_expect_eq(pd_wiz_check_step(&ctx, &w, PD_WIZ_PBX, &er), 0, "%s",
	             er.n ? er.v[0].message : "");
	pd_wiz_errors_free(&er);
	/* the record */
	pd_new_customer n;
	char badkey[48];
	pd_err e = {0};
	cr_assert_eq(pd_wiz_build(&ctx, &w, &n, badkey, &e), PD_OK, "%s", e.message);
	cr_assert_not_null(n.pbx);
	cr_expect_str_eq(n.pbx->platform, "broadworks-xsi");
	cr_expect_str_eq(n.pbx->host, "xsp1.example.net");
	cr_expect_eq(n.pbx->port, 443);
	cr_expect(n.pbx->tls);
	cr_expect_str_eq(n.pbx->username, "admin@lab-ent");
	cr_expect_str_eq(n.pbx->secret, "Xsi-S3cret");
	cr_expect_not(n.pbx->enabled);
	cr_expect_str_eq(n.pbx->params_json,
	                 "{\"enterprise_id\":\"lab-ent\",\"group_id\":\"group-1\","
	                 "\"tls_verify\":true,"
	                 "\"xsp_hosts\":\"xsp2.example.net:8443,xsp3.example.net\"}");
	pd_new_customer_free(&n);
	/* the draft keeps the fields, never the password */
	char *json = pd_wiz_draft_to_json(&w);
	cr_expect(strstr(json, "xsp2.example.net:8443") && strstr(json, "lab-ent"));
	cr_expect_null(strstr(json, "Xsi-S3cret"));
	free(json);
}

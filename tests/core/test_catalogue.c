/* catalogue.h: the shipped data/catalogue.json and strict checking of bad
 * catalogue files (each error names the file, the line and the key path). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "provdesk/catalogue.h"

static pd_catalogue shipped(void)
{
	pd_catalogue c;
	pd_err e = {0};
	cr_assert_eq(pd_catalogue_load_default(NULL, &c, &e), PD_OK, "%s", e.message);
	return c;
}

Test(catalogue, shipped_file_is_complete)
{
	pd_catalogue c = shipped();
	cr_assert_geq(c.n_types, 5);
	cr_assert_eq(c.n_roles, 4);
	cr_assert_eq(c.n_platforms, 3);
	assert_contains(c.path, "catalogue.json");

	const pd_product_type *plus = pd_catalogue_product(&c, "contact-centre-plus");
	cr_assert_not_null(plus);
	cr_assert(plus->locked_after_assignment);
	cr_assert_not(plus->trial_allowed);
	const pd_product_type *pro = pd_catalogue_product(&c, "analytics-pro");
	cr_assert(pro->trial_allowed);
	cr_assert_not(pro->locked_after_assignment);
	cr_assert_eq(pro->price_cents, 1900);
	cr_assert_str_eq(pro->currency, "EUR");
	assert_contains(pro->features_json, "\"live_wallboard\":true");

	const pd_product_type *rec = pd_catalogue_product(&c, "compliance-recording");
	cr_assert(pd_product_sold_in(rec, "FR"));
	cr_assert(pd_product_sold_in(rec, "lu"));
	cr_assert_not(pd_product_sold_in(rec, "DE"));
	cr_assert(pd_product_sold_in(pro, "DE"), "no country list = sold everywhere");
	cr_assert(pd_product_allows_platform(rec, "asterisk-ami"));
	cr_assert_not(pd_product_allows_platform(rec, "broadworks-xsi"));
	cr_assert_null(pd_catalogue_product(&c, "nope"));

	const pd_role *admin = pd_catalogue_role(&c, PD_ROLE_ADMIN);
	cr_assert_str_eq(admin->name, "Customer Administrator");
	cr_assert(admin->manages_users);
	cr_assert_not(pd_catalogue_role(&c, "agent")->manages_users);
	cr_assert_not_null(pd_catalogue_role(&c, "supervisor"));
	cr_assert_not_null(pd_catalogue_role(&c, "reporting"));

	const pd_platform *ami = pd_catalogue_platform(&c, "asterisk-ami");
	cr_assert(ami->supported);
	cr_assert(ami->has_sub_accounts);
	cr_assert_str_eq(ami->sub_account_label, "dialplan context");
	bool port_ok = false, secret_ok = false;
	for (size_t i = 0; i < ami->n_fields; i++) {
		if (!strcmp(ami->fields[i].key, "port"))
			port_ok = !strcmp(ami->fields[i].default_value, "5038");
		if (!strcmp(ami->fields[i].key, "secret"))
			secret_ok = ami->fields[i].secret && ami->fields[i].required;
	}
	cr_assert(port_ok && secret_ok);
	const pd_platform *bw = pd_catalogue_platform(&c, "broadworks-xsi");
	cr_assert_not(bw->supported);
	cr_assert_str_eq(bw->sub_account_label, "group");
	pd_catalogue_free(&c);
}

Test(catalogue, config_dir_overrides_data_dir)
{
	char *dir = tmp_dir();
	free(write_file(
	    dir, "catalogue.json",
	    "{\"platforms\": [{\"key\": \"asterisk-ami\", \"name\": \"A\", \"supported\": "
	    "true, \"fields\": []}],\n"
	    "\"roles\": [{\"key\": \"customer-admin\", \"name\": \"Admin\", "
	    "\"manages_users\": true}],\n"
	    "\"product_types\": [{\"key\": \"only-one\", \"name\": \"Only\", "
	    "\"locked_after_assignment\": false, \"trial_allowed\": false, "
	    "\"price_cents\": 0, \"platforms\": [\"asterisk-ami\"]}]}\n"));
	pd_catalogue c;
	pd_err e = {0};
	cr_assert_eq(pd_catalogue_load_default(dir, &c, &e), PD_OK, "%s", e.message);
	cr_assert_eq(c.n_types, 1);
	cr_assert_str_eq(c.types[0].key, "only-one");
	cr_assert_str_eq(c.types[0].features_json, "{}");
	assert_contains(c.path, dir);
	pd_catalogue_free(&c);
	rm_tree(dir);
}

/* A valid catalogue, one line per element so that line numbers are known;
 * tests substitute one line to break it. */
static const char *good_lines[] = {
    "{",                                                                               /* 1 */
    "  \"version\": 1,",                                                               /* 2 */
    "  \"platforms\": [",                                                              /* 3 */
    "    {\"key\": \"asterisk-ami\", \"name\": \"Asterisk\", \"supported\": true,",    /* 4 */
    "     \"sub_accounts\": \"dialplan context\", \"fields\": [",                      /* 5 */
    "       {\"key\": \"port\", \"label\": \"Port\", \"default\": 5038}]}",            /* 6 */
    "  ],",                                                                            /* 7 */
    "  \"roles\": [",                                                                  /* 8 */
    "    {\"key\": \"customer-admin\", \"name\": \"Admin\", \"manages_users\": true}", /* 9 */
    "  ],",                                                                            /* 10 */
    "  \"product_types\": [",                                                          /* 11 */
    "    {\"key\": \"a\", \"name\": \"A\", \"locked_after_assignment\": false,",       /* 12 */
    "     \"trial_allowed\": true, \"price_cents\": 100,",                             /* 13 */
    "     \"platforms\": [\"asterisk-ami\"]},",                                        /* 14 */
    "    {\"key\": \"b\", \"name\": \"B\", \"locked_after_assignment\": true,",        /* 15 */
    "     \"trial_allowed\": false, \"price_cents\": 200,",                            /* 16 */
    "     \"platforms\": [\"asterisk-ami\"], \"countries\": [\"FR\"]},",               /* 17 */
    "    {\"key\": \"c\", \"name\": \"C\", \"locked_after_assignment\": false,",       /* 18 */
    "     \"trial_allowed\": false, \"price_cents\": 300,",                            /* 19 */
    "     \"platforms\": [\"asterisk-ami\"]}",                                         /* 20 */
    "  ]",                                                                             /* 21 */
    "}",                                                                               /* 22 */
};
#define N_GOOD (sizeof good_lines / sizeof good_lines[0])

/* Loads the good catalogue with line `lineno` (1-based) replaced by `repl`
 * (NULL = unchanged). Returns the status; *e receives the error. */
static pd_status load_with(int lineno, const char *repl, pd_err *e, char **path_out)
{
	pd_buf b = {0};
	for (size_t i = 0; i < N_GOOD; i++) {
		pd_buf_add(&b, (int)i + 1 == lineno ? repl : good_lines[i]);
		pd_buf_addc(&b, '\n');
	}
	char *dir = tmp_dir();
	char *path = write_file(dir, "catalogue.json", b.s);
	pd_buf_free(&b);
	pd_catalogue c;
	pd_status st = pd_catalogue_load(path, &c, e);
	if (st == PD_OK)
		pd_catalogue_free(&c);
	if (path_out)
		*path_out = path;
	else
		free(path);
	rm_tree(dir);
	return st;
}

/* Checks file:line: key in the message and the field. */
static void expect_error(int lineno, const char *repl, int want_line, const char *keypath,
                         const char *words)
{
	pd_err e = {0};
	char *path = NULL;
	cr_assert_eq(load_with(lineno, repl, &e, &path), PD_E_CONFIG, "accepted: %s", repl);
	char *prefix = xasprintf("%s:%d: ", path, want_line);
	assert_contains(e.message, prefix);
	cr_assert_eq(e.line, want_line, "line %d, message: %s", e.line, e.message);
	if (keypath) {
		cr_assert_str_eq(e.field, keypath);
		assert_contains(e.message, keypath);
	}
	if (words)
		assert_contains(e.message, words);
	free(prefix);
	free(path);
}

Test(catalogue_bad, good_template_loads)
{
	pd_err e = {0};
	cr_assert_eq(load_with(0, NULL, &e, NULL), PD_OK, "%s", e.message);
}

Test(catalogue_bad, missing_file)
{
	pd_catalogue c;
	pd_err e = {0};
	cr_assert_eq(pd_catalogue_load("/nonexistent/catalogue.json", &c, &e), PD_E_NOINPUT);
	assert_contains(e.message, "/nonexistent/catalogue.json");
}

Test(catalogue_bad, invalid_json_gives_line)
{
	expect_error(13, "     \"trial_allowed\": true \"price_cents\": 100,", 13, NULL,
	             "invalid JSON");
}

Test(catalogue_bad, truncated_file)
{
	char *dir = tmp_dir();
	char *path = write_file(dir, "catalogue.json", "{\n  \"roles\": [\n");
	pd_catalogue c;
	pd_err e = {0};
	cr_assert_eq(pd_catalogue_load(path, &c, &e), PD_E_CONFIG);
	assert_contains(e.message, path);
	assert_contains(e.message, "invalid JSON");
	free(path);
	rm_tree(dir);
}

Test(catalogue_bad, duplicate_key_rejected)
{
	expect_error(13, "     \"trial_allowed\": true, \"price_cents\": 100, \"price_cents\": 5,",
	             13, NULL, "duplicate");
}

Test(catalogue_bad, unknown_key_names_path_and_line)
{
	expect_error(19,
	             "     \"trial_allowed\": false, \"price_cents\": 300, \"colour\": \"red\",",
	             19, "product_types[2].colour", "unknown key");
}

Test(catalogue_bad, unknown_top_level_key)
{
	expect_error(2, "  \"version\": 1, \"extras\": {},", 2, "extras", "unknown key");
}

Test(catalogue_bad, missing_required_key)
{
	/* price_cents gone from product b: reported at the product's line. */
	expect_error(16, "     \"trial_allowed\": false,", 15, "product_types[1]", "price_cents");
}

Test(catalogue_bad, wrong_type)
{
	expect_error(16, "     \"trial_allowed\": \"no\", \"price_cents\": 200,", 16,
	             "product_types[1].trial_allowed", "true or false");
	expect_error(19, "     \"trial_allowed\": false, \"price_cents\": \"300\",", 19,
	             "product_types[2].price_cents", "integer");
	expect_error(19, "     \"trial_allowed\": false, \"price_cents\": 3.5,", 19,
	             "product_types[2].price_cents", "integer");
}

Test(catalogue_bad, negative_price)
{
	expect_error(19, "     \"trial_allowed\": false, \"price_cents\": -300,", 19,
	             "product_types[2].price_cents", "negative");
}

Test(catalogue_bad, unknown_platform_reference)
{
	expect_error(14, "     \"platforms\": [\"asterisk-ami\", \"avaya\"]},", 14,
	             "product_types[0].platforms[1]", "avaya");
	expect_error(14, "     \"platforms\": []},", 14, "product_types[0].platforms",
	             "at least one");
}

Test(catalogue_bad, bad_country_codes)
{
	expect_error(17,
	             "     \"platforms\": [\"asterisk-ami\"], \"countries\": [\"FR\", \"XX\"]},",
	             17, "product_types[1].countries[1]", "XX");
	expect_error(17, "     \"platforms\": [\"asterisk-ami\"], \"countries\": [\"fra\"]},", 17,
	             "product_types[1].countries[0]", "ISO 3166-1");
}

Test(catalogue_bad, duplicate_product_type_key)
{
	expect_error(18,
	             "    {\"key\": \"a\", \"name\": \"C\", \"locked_after_assignment\": false,",
	             18, "product_types[2].key", "duplicate product type");
}

Test(catalogue_bad, bad_key_and_empty_name)
{
	expect_error(
	    18, "    {\"key\": \"Bad Key\", \"name\": \"C\", \"locked_after_assignment\": false,",
	    18, "product_types[2].key", "not a valid key");
	expect_error(18, "    {\"key\": \"c\", \"name\": \"\", \"locked_after_assignment\": false,",
	             18, "product_types[2].name", "empty");
}

/* Catalogue text follows the rules of every other text field: no control
 * character or direction override, names of at most 100 characters. */
Test(catalogue_bad, names_with_controls_or_too_long)
{
	expect_error(18,
	             "    {\"key\": \"c\", \"name\": \"C\\u001b[31mred\", "
	             "\"locked_after_assignment\": false,",
	             18, "product_types[2].name", "control characters");
	expect_error(18,
	             "    {\"key\": \"c\", \"name\": \"C\\u0085\", "
	             "\"locked_after_assignment\": false,",
	             18, "product_types[2].name", "control characters");
	expect_error(18,
	             "    {\"key\": \"c\", \"name\": \"evil\\u202etxt.exe\", "
	             "\"locked_after_assignment\": false,",
	             18, "product_types[2].name", "control characters");
	char *longname = xasprintf("    {\"key\": \"c\", \"name\": \"%0101d\", "
	                           "\"locked_after_assignment\": false,",
	                           0);
	expect_error(18, longname, 18, "product_types[2].name", "too long: 101 characters");
	free(longname);
}

Test(catalogue_bad, admin_role_required)
{
	expect_error(9, "    {\"key\": \"boss\", \"name\": \"Admin\", \"manages_users\": true}", 8,
	             "roles", "customer-admin");
}

Test(catalogue_bad, platform_field_problems)
{
	expect_error(6, "       {\"key\": \"port\", \"label\": \"Port\", \"default\": 70000}]}", 6,
	             "platforms[0].fields[0].default", "65535");
	expect_error(6, "       {\"key\": \"port\", \"label\": \"Port\", \"default\": [1]}]}", 6,
	             "platforms[0].fields[0].default", "not an array");
	expect_error(4, "    {\"key\": \"asterisk-ami\", \"name\": \"Asterisk\", \"supported\": 1,",
	             4, "platforms[0].supported", "true or false");
}

/* "type", "min", "max" and "default" must agree, so the wizard never
 * pre-fills a value the core would then refuse. */
Test(catalogue_bad, platform_field_types)
{
#define F6(rest) "       {\"key\": \"x\", \"label\": \"X\", " rest "}]}"
	expect_error(6, F6("\"type\": \"date\""), 6, "platforms[0].fields[0].type", "\"bool\"");
	expect_error(6, F6("\"type\": true"), 6, "platforms[0].fields[0].type", "\"path\"");
	expect_error(6, F6("\"type\": \"bool\", \"default\": \"yes\""), 6,
	             "platforms[0].fields[0].default", "true or false");
	expect_error(6, F6("\"type\": \"int\", \"min\": 0, \"max\": 10, \"default\": 11"), 6,
	             "platforms[0].fields[0].default", "0..10");
	expect_error(6, F6("\"type\": \"int\", \"default\": \"5\""), 6,
	             "platforms[0].fields[0].default", "integer");
	expect_error(6, F6("\"type\": \"int\", \"min\": 5, \"max\": 1"), 6,
	             "platforms[0].fields[0].min", "greater than max");
	expect_error(6, F6("\"type\": \"int\", \"min\": \"0\""), 6, "platforms[0].fields[0].min",
	             "integer");
	expect_error(6, F6("\"type\": \"text\", \"max\": 3"), 6, "platforms[0].fields[0].max",
	             "only a field of type \"int\"");
	expect_error(6, F6("\"default\": true, \"max\": 3"), 6, "platforms[0].fields[0].max",
	             "only a field of type \"int\"");
	expect_error(6, F6("\"type\": \"path\", \"default\": \"ca.pem\""), 6,
	             "platforms[0].fields[0].default", "absolute path");
	expect_error(6, F6("\"type\": \"bool\", \"secret\": true"), 6,
	             "platforms[0].fields[0].type", "secret");
	expect_error(6, F6("\"kind\": \"bool\""), 6, "platforms[0].fields[0].kind", "unknown key");
	/* and the good forms load */
	pd_err e = {0};
	cr_assert_eq(load_with(6,
	                       F6("\"type\": \"int\", \"min\": 0, \"max\": 3600, \"default\": 0"),
	                       &e, NULL),
	             PD_OK, "%s", e.message);
	cr_assert_eq(
	    load_with(6, F6("\"type\": \"path\", \"default\": \"/etc/ssl/ca.pem\""), &e, NULL),
	    PD_OK, "%s", e.message);
	cr_assert_eq(load_with(6, F6("\"type\": \"bool\", \"default\": false"), &e, NULL), PD_OK,
	             "%s", e.message);
#undef F6
}

Test(catalogue_bad, not_an_object)
{
	char *dir = tmp_dir();
	char *path = write_file(dir, "catalogue.json", "[1, 2]\n");
	pd_catalogue c;
	pd_err e = {0};
	cr_assert_eq(pd_catalogue_load(path, &c, &e), PD_E_CONFIG);
	assert_contains(e.message, path);
	assert_contains(e.message, "JSON object");
	free(path);
	rm_tree(dir);
}

Test(catalogue_bad, from_buffer_names_the_given_name)
{
	const char text[] = "{\n \"roles\": 5\n}";
	pd_catalogue c;
	pd_err e = {0};
	cr_assert_eq(pd_catalogue_load_buffer("override.json", text, sizeof text - 1, &c, &e),
	             PD_E_CONFIG);
	assert_contains(e.message, "override.json:");
	/* Embedded NUL bytes are not JSON. */
	const char nul[] = "{\"roles\": \0 []}";
	cr_assert_eq(pd_catalogue_load_buffer("nul.json", nul, sizeof nul - 1, &c, &e),
	             PD_E_CONFIG);
}

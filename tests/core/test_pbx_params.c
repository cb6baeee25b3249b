/* Typed platform parameters (catalogue "type"): pd_pbx_check and
 * pd_template_check refuse bad tls_verify / wrapup_time / tls_ca_file values
 * naming the field, and store good ones typed, whatever form they were typed
 * in; pd_param_* read stored values the way the AMI driver and 'pbx test' do.
 * Against the shipped catalogue. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#define PD_TEST_WITH_CATALOGUE
#include "helpers.h"
#include "provdesk/model.h"

TestSuite(params, .init = cat_setup, .fini = cat_teardown);

static pd_pbx ami(const char *params)
{
	pd_pbx p = {0};
	p.platform = xstrdup("asterisk-ami");
	p.host = xstrdup("pbx.example.net");
	p.username = xstrdup("admin");
	p.secret = xstrdup("s3cret");
	p.enabled = true;
	p.params_json = params ? xstrdup(params) : NULL;
	return p;
}

/* Checks `params` and returns the stored params_json (caller frees). */
static char *stored(const char *params)
{
	pd_err e = {0};
	pd_pbx p = ami(params);
	cr_assert_eq(pd_pbx_check(&cat, &p, &e), PD_OK, "%s refused: %s", params, e.message);
	char *s = xstrdup(p.params_json ? p.params_json : "");
	pd_pbx_free(&p);
	return s;
}

/* `params` must be refused with e.field == field and a message naming it
 * and containing `words`. */
static void refused(const char *params, const char *field, const char *words)
{
	pd_err e = {0};
	pd_pbx p = ami(params);
	cr_assert_eq(pd_pbx_check(&cat, &p, &e), PD_E_INVALID, "accepted: %s", params);
	cr_assert_str_eq(e.field, field, "%s: field %s (%s)", params, e.field, e.message);
	assert_contains(e.message, field);
	if (words)
		assert_contains(e.message, words);
	cr_assert_str_eq(p.params_json, params, "a refused value must not be rewritten");
	pd_pbx_free(&p);
}

static void stored_is(const char *params, const char *want)
{
	char *s = stored(params);
	cr_assert_str_eq(s, want, "%s stored as %s", params, s);
	free(s);
}

Test(params, shipped_asterisk_fields_are_typed)
{
	const pd_platform *pl = pd_catalogue_platform(&cat, "asterisk-ami");
	const pd_platform_field *v = pd_platform_field_get(pl, "tls_verify");
	const pd_platform_field *ca = pd_platform_field_get(pl, "tls_ca_file");
	const pd_platform_field *w = pd_platform_field_get(pl, "wrapup_time");
	cr_assert(v && ca && w);
	cr_assert_eq(v->type, PD_FIELD_BOOL);
	cr_assert_str_eq(v->default_value, "true");
	cr_assert_not(v->required);
	cr_assert_eq(ca->type, PD_FIELD_PATH);
	cr_assert_null(ca->default_value);
	cr_assert_eq(w->type, PD_FIELD_INT);
	cr_assert_str_eq(w->default_value, "0", "the driver's wrap-up default today");
	cr_assert_eq(w->min, 0);
	cr_assert_eq(w->max, 3600);
	/* the core fields keep their inferred types */
	cr_assert_eq(pd_platform_field_get(pl, "tls")->type, PD_FIELD_BOOL);
	cr_assert_eq(pd_platform_field_get(pl, "port")->type, PD_FIELD_INT);
	cr_assert_eq(pd_platform_field_get(pl, "host")->type, PD_FIELD_TEXT);
	cr_assert_null(
	    pd_platform_field_get(pd_catalogue_platform(&cat, "broadworks-xsi"), "wrapup_time"),
	    "BroadWorks agents report their own wrap-up");
	cr_assert_eq(
	    pd_platform_field_get(pd_catalogue_platform(&cat, "broadworks-xsi"), "tls_ca_file")
	        ->type,
	    PD_FIELD_PATH, "an XSP with a private CA");
}

Test(params, typed_forms_stored_typed)
{
	/* the wizard's toggles ("1"/"0"), the CLI's words, JSON itself */
	stored_is("{\"tls_verify\":\"false\"}", "{\"tls_verify\":false}");
	stored_is("{\"tls_verify\":\"0\"}", "{\"tls_verify\":false}");
	stored_is("{\"tls_verify\":\" No \"}", "{\"tls_verify\":false}");
	stored_is("{\"tls_verify\":\"OFF\"}", "{\"tls_verify\":false}");
	stored_is("{\"tls_verify\":\"yes\"}", "{\"tls_verify\":true}");
	stored_is("{\"tls_verify\":\"1\"}", "{\"tls_verify\":true}");
	stored_is("{\"tls_verify\":0}", "{\"tls_verify\":false}");
	stored_is("{\"wrapup_time\":\"5\"}", "{\"wrapup_time\":5}");
	stored_is("{\"wrapup_time\":\" 3600 \"}", "{\"wrapup_time\":3600}");
	stored_is("{\"wrapup_time\":\"0\"}", "{\"wrapup_time\":0}");
	stored_is("{\"tls_ca_file\":\"  /etc/lab/ca.pem \"}",
	          "{\"tls_ca_file\":\"/etc/lab/ca.pem\"}");
	stored_is("{\"wrapup_time\":\"12\",\"tls_verify\":\"no\",\"tls_ca_file\":\"/ca.pem\"}",
	          "{\"tls_ca_file\":\"/ca.pem\",\"tls_verify\":false,\"wrapup_time\":12}");
	/* already typed: the text is left exactly as it was (no audit noise) */
	stored_is("{\"tls_verify\": false, \"wrapup_time\": 7}",
	          "{\"tls_verify\": false, \"wrapup_time\": 7}");
	stored_is(NULL, "");
}

Test(params, bad_tls_verify_refused)
{
	refused("{\"tls_verify\":\"maybe\"}", "tls_verify", "'maybe'");
	refused("{\"tls_verify\":\"\"}", "tls_verify", "true or false");
	refused("{\"tls_verify\":2}", "tls_verify", "true or false");
	refused("{\"tls_verify\":1.5}", "tls_verify", "true or false");
	refused("{\"tls_verify\":\"truee\"}", "tls_verify", "yes/no");
	refused("{\"tls_verify\":null}", "tls_verify", NULL);
}

Test(params, bad_wrapup_time_refused)
{
	refused("{\"wrapup_time\":-1}", "wrapup_time", "from 0 to 3600");
	refused("{\"wrapup_time\":3601}", "wrapup_time", "'3601'");
	refused("{\"wrapup_time\":\"5s\"}", "wrapup_time", "whole number");
	refused("{\"wrapup_time\":\"\"}", "wrapup_time", "whole number");
	refused("{\"wrapup_time\":\"-\"}", "wrapup_time", NULL);
	refused("{\"wrapup_time\":\"99999999999999999999\"}", "wrapup_time", NULL);
	refused("{\"wrapup_time\":2.5}", "wrapup_time", NULL);
	refused("{\"wrapup_time\":true}", "wrapup_time", NULL);
}

Test(params, bad_tls_ca_file_refused)
{
	refused("{\"tls_ca_file\":\"\"}", "tls_ca_file", "empty");
	refused("{\"tls_ca_file\":\"   \"}", "tls_ca_file", "empty");
	refused("{\"tls_ca_file\":\"lab/ca.pem\"}", "tls_ca_file", "absolute path");
	refused("{\"tls_ca_file\":5}", "tls_ca_file", "path");
	refused("{\"tls_ca_file\":\"/a\\nb.pem\"}", "tls_ca_file", "control");
	char *big = xmalloc(5000);
	memset(big, 'a', 4999);
	big[0] = '/';
	big[4999] = 0;
	char *json = xasprintf("{\"tls_ca_file\":\"%s\"}", big);
	refused(json, "tls_ca_file", "too long");
	free(json);
	free(big);
}

Test(params, not_a_field_of_the_platform)
{
	pd_err e = {0};
	pd_pbx p = {0};
	p.platform = xstrdup("broadworks-xsi");
	p.host = xstrdup("xsi.example.net");
	p.username = xstrdup("admin");
	p.params_json = xstrdup("{\"enterprise_id\":\"ent\",\"wrapup_time\":5}");
	cr_assert_eq(pd_pbx_check(&cat, &p, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "wrapup_time");
	assert_contains(e.message, "broadworks-xsi");
	pd_pbx_free(&p);
}

Test(params, templates_share_the_rule)
{
	pd_err e = {0};
	pd_template t = {0};
	t.name = xstrdup("Lab TLS");
	t.platform = xstrdup("asterisk-ami");
	t.tls = true;
	t.params_json = xstrdup("{\"tls_verify\":\"no\",\"wrapup_time\":\"9\"}");
	cr_assert_eq(pd_template_check(&cat, &t, &e), PD_OK, "%s", e.message);
	cr_assert_str_eq(t.params_json, "{\"tls_verify\":false,\"wrapup_time\":9}");
	/* a connection made from it stores the template's values typed */
	pd_pbx p = {0};
	p.secret = xstrdup("x");
	p.host = xstrdup("lab.example.net");
	p.username = xstrdup("admin");
	p.params_json = xstrdup("{\"wrapup_time\":\"4\"}");
	pd_pbx_apply_template(&p, &t);
	cr_assert_eq(pd_pbx_check(&cat, &p, &e), PD_OK, "%s", e.message);
	cr_assert_str_eq(p.params_json, "{\"tls_verify\":false,\"wrapup_time\":4}",
	                 "the connection's own value wins");
	pd_pbx_free(&p);
	pd_set_str(&t.params_json, "{\"wrapup_time\":\"an hour\"}");
	cr_assert_eq(pd_template_check(&cat, &t, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "wrapup_time");
	pd_set_str(&t.params_json, "{\"tls_ca_file\":\"ca.pem\"}");
	cr_assert_eq(pd_template_check(&cat, &t, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "tls_ca_file");
	pd_template_free(&t);
}

Test(params, parse_bool_words)
{
	static const struct {
		const char *s;
		bool ok, v;
	} cases[] = {
	    {"true", true, true},   {"TRUE", true, true},
	    {"yes", true, true},    {"On", true, true},
	    {"1", true, true},      {" yes\t", true, true},
	    {"false", true, false}, {"No", true, false},
	    {"off", true, false},   {"0", true, false},
	    {"", false, false},     {"y", false, false},
	    {"2", false, false},    {"yes please", false, false},
	    {"10", false, false},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		bool v = !cases[i].v;
		cr_assert_eq(pd_parse_bool(cases[i].s, &v), cases[i].ok, "'%s'", cases[i].s);
		if (cases[i].ok)
			cr_assert_eq(v, cases[i].v, "'%s'", cases[i].s);
	}
	bool v;
	cr_assert_not(pd_parse_bool(NULL, &v));
}

Test(params, readers_take_both_forms)
{
	pd_err e = {0};
	bool b = false;
	long long n = -1;
	char *s = (char *)"unset";
	/* absent: the default */
	cr_assert_eq(pd_param_bool(NULL, "tls_verify", true, &b, &e), PD_OK);
	cr_assert(b);
	cr_assert_eq(pd_param_bool("{}", "tls_verify", true, &b, &e), PD_OK);
	cr_assert(b);
	cr_assert_eq(pd_param_int("", "wrapup_time", 0, 3600, 0, &n, &e), PD_OK);
	cr_assert_eq(n, 0);
	cr_assert_eq(pd_param_str("{}", "tls_ca_file", &s, &e), PD_OK);
	cr_assert_null(s);
	/* typed and as typed */
	cr_assert_eq(pd_param_bool("{\"tls_verify\":false}", "tls_verify", true, &b, &e), PD_OK);
	cr_assert_not(b);
	cr_assert_eq(pd_param_bool("{\"tls_verify\":\"false\"}", "tls_verify", true, &b, &e),
	             PD_OK);
	cr_assert_not(b);
	cr_assert_eq(pd_param_bool("{\"tls_verify\":\"0\"}", "tls_verify", true, &b, &e), PD_OK);
	cr_assert_not(b);
	cr_assert_eq(pd_param_int("{\"wrapup_time\":\"5\"}", "wrapup_time", 0, 3600, 0, &n, &e),
	             PD_OK);
	cr_assert_eq(n, 5);
	cr_assert_eq(pd_param_int("{\"wrapup_time\":7}", "wrapup_time", 0, 3600, 0, &n, &e), PD_OK);
	cr_assert_eq(n, 7);
	cr_assert_eq(pd_param_str("{\"tls_ca_file\":\"/ca.pem\"}", "tls_ca_file", &s, &e), PD_OK);
	cr_assert_str_eq(s, "/ca.pem");
	free(s);
	/* bad: refused naming the key, the default left in *out */
	cr_assert_eq(pd_param_bool("{\"tls_verify\":\"maybe\"}", "tls_verify", true, &b, &e),
	             PD_E_INVALID);
	cr_assert_str_eq(e.field, "tls_verify");
	cr_assert(b);
	cr_assert_eq(pd_param_int("{\"wrapup_time\":\"-3\"}", "wrapup_time", 0, 3600, 0, &n, &e),
	             PD_E_INVALID);
	cr_assert_str_eq(e.field, "wrapup_time");
	assert_contains(e.message, "0 to 3600");
	cr_assert_eq(n, 0);
	cr_assert_eq(pd_param_str("{\"tls_ca_file\":[]}", "tls_ca_file", &s, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "tls_ca_file");
	cr_assert_eq(pd_param_bool("{not json", "tls_verify", true, &b, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "params");
	cr_assert_eq(pd_param_int("[1]", "wrapup_time", 0, 3600, 0, &n, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "params");
}

/* Control characters in any field that goes on the wire are refused by the
 * core rule (so the CLI, the wizard, the customer view and templates all
 * refuse them), naming the field and the character, never echoing the value. */
static void wire_refused(const char *host, const char *user, const char *secret, const char *field,
                         const char *what)
{
	pd_err e = {0};
	pd_pbx p = ami(NULL);
	if (host)
		pd_set_str(&p.host, host);
	if (user)
		pd_set_str(&p.username, user);
	if (secret)
		pd_set_str(&p.secret, secret);
	cr_assert_eq(pd_pbx_check(&cat, &p, &e), PD_E_INVALID, "accepted %s with %s", field, what);
	cr_assert_str_eq(e.field, field, "%s", e.message);
	assert_contains(e.message, "control characters");
	assert_contains(e.message, what);
	for (const char *c = e.message; *c; c++)
		cr_assert((unsigned char)*c >= 0x20 && *c != 0x7f, "raw control byte in: %s",
		          e.message);
	cr_assert_null(strstr(e.message, "s3cr"), "the value is echoed: %s", e.message);
	pd_pbx_free(&p);
}

Test(params, control_characters_refused_on_the_wire)
{
	wire_refused(NULL, "adm\x1b[31min", NULL, "username", "ESC");
	wire_refused(NULL, "adm\ain", NULL, "username", "0x07");
	wire_refused(NULL, "admin\r\nAction: Originate", NULL, "username", "line break");
	wire_refused(NULL, "ad\nmin", NULL, "username", "line break");
	wire_refused(NULL,
	             "\xe2\x80\xae"
	             "nimda",
	             NULL, "username", "U+202E");
	wire_refused(NULL, "ad\xe2\x81\xa6min", NULL, "username", "U+2066");
	wire_refused(NULL, "ad\xc2\x9bmin", NULL, "username", "U+009B");
	wire_refused(NULL, NULL, "s3cr\r\nAction: Logoff", "secret", "line break");
	wire_refused(NULL, NULL,
	             "s3cr\x1b"
	             "et",
	             "secret", "ESC");
	wire_refused("pbx\x1b.example.net", NULL, NULL, "host", "ESC");
	wire_refused("pbx.exam\r\nple.net", NULL, NULL, "host", "line break");
	/* ordinary accented text and other punctuation stay fine */
	pd_err e = {0};
	pd_pbx p = ami(NULL);
	pd_set_str(&p.username, "opérateur-1");
	pd_set_str(&p.secret, "p@ss wörd!«»");
	cr_assert_eq(pd_pbx_check(&cat, &p, &e), PD_OK, "%s", e.message);
	pd_pbx_free(&p);
}

Test(params, control_characters_refused_in_templates_and_text_params)
{
	pd_err e = {0};
	pd_template t = {0};
	t.name = xstrdup("Evil");
	t.platform = xstrdup("asterisk-ami");
	t.username = xstrdup("admin\x07");
	cr_assert_eq(pd_template_check(&cat, &t, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "username");
	pd_set_str(&t.username, "admin");
	pd_set_str(&t.host, "lab\n.example.net");
	cr_assert_eq(pd_template_check(&cat, &t, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "host");
	pd_template_free(&t);
	/* a text parameter (BroadWorks' enterprise id) and a parameter's key */
	pd_pbx p = {0};
	p.platform = xstrdup("broadworks-xsi");
	p.host = xstrdup("xsi.example.net");
	p.username = xstrdup("admin");
	p.secret = xstrdup("x");
	p.params_json = xstrdup("{\"enterprise_id\":\"ent\\r\\nX-Evil: 1\"}");
	cr_assert_eq(pd_pbx_check(&cat, &p, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "enterprise_id", "%s", e.message);
	assert_contains(e.message, "control characters");
	pd_set_str(&p.params_json, "{\"enterprise_id\":\"ent-1\"}");
	cr_assert_eq(pd_pbx_check(&cat, &p, &e), PD_OK, "%s", e.message);
	pd_set_str(&p.params_json, "{\"wrap\\u001b[2Jup\":1}");
	cr_assert_eq(pd_pbx_check(&cat, &p, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "params", "%s", e.message);
	for (const char *c = e.message; *c; c++)
		cr_assert((unsigned char)*c >= 0x20, "raw control byte in: %s", e.message);
	pd_pbx_free(&p);
}

/* broadworks-xsi's xsp_hosts ("Other XSP hosts"): host[:port],host[:port],
 * stored without blanks around entries; each bad entry refused naming the
 * field xsp_hosts and the entry. */
static pd_status xsi_check(const char *params, pd_pbx *out, pd_err *e)
{
	*out = (pd_pbx){0};
	out->platform = xstrdup("broadworks-xsi");
	out->host = xstrdup("xsp1.example.net");
	out->username = xstrdup("admin@ent");
	out->params_json = xstrdup(params);
	return pd_pbx_check(&cat, out, e);
}

Test(params, xsp_hosts_list)
{
	static const struct {
		const char *in, *stored;
	} good[] = {
	    {"{\"enterprise_id\":\"ent\",\"xsp_hosts\":\"xsp2.example.net\"}",
	     "{\"enterprise_id\":\"ent\",\"xsp_hosts\":\"xsp2.example.net\"}"},
	    {"{\"enterprise_id\":\"ent\",\"xsp_hosts\":\" xsp2.example.net:8443 , 10.0.0.7 \"}",
	     "{\"enterprise_id\":\"ent\",\"xsp_hosts\":\"xsp2.example.net:8443,10.0.0.7\"}"},
	    {"{\"enterprise_id\":\"ent\",\"xsp_hosts\":\"[2001:db8::1]:443,2001:db8::2\"}",
	     "{\"enterprise_id\":\"ent\",\"xsp_hosts\":\"[2001:db8::1]:443,2001:db8::2\"}"},
	    {"{\"enterprise_id\":\"ent\",\"xsp_hosts\":\"\"}",
	     "{\"enterprise_id\":\"ent\",\"xsp_hosts\":\"\"}"},
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		pd_pbx p;
		pd_err e = {0};
		cr_assert_eq(xsi_check(good[i].in, &p, &e), PD_OK, "%s: %s", good[i].in, e.message);
		cr_assert_str_eq(p.params_json, good[i].stored);
		pd_pbx_free(&p);
	}
	static const struct {
		const char *value, *words;
	} bad[] = {
	    {"xsp2.example.net,,xsp3.example.net", "empty entry"},
	    {",xsp2.example.net", "empty entry"},
	    {"xsp2.example.net:",
	     "the port must be a whole number from 1 to 65535 (in 'xsp2.example.net:')"},
	    {"xsp2.example.net:0", "from 1 to 65535"},
	    {"xsp2.example.net:70000", "from 1 to 65535"},
	    {"xsp2.example.net:44x", "from 1 to 65535"},
	    {"xsp 2.example.net", "contains ' '"},
	    {"-xsp2.example.net", "not a valid host name"},
	    {":443", "not a valid host name"},
	    {"[2001:db8::1", "brackets"},
	    {"[xsp2.example.net]:443", "brackets are for an IPv6 address"},
	    {"https://xsp2.example.net", "is a URL"},
	    {"xsp2.example.net/xsi", "contains '/'"},
	    {"a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q", "at most 16 hosts"},
	    {"xsp2.example.net\\u001b[2J", "control characters"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *json =
		    xasprintf("{\"enterprise_id\":\"ent\",\"xsp_hosts\":\"%s\"}", bad[i].value);
		pd_pbx p;
		pd_err e = {0};
		cr_assert_eq(xsi_check(json, &p, &e), PD_E_INVALID, "accepted: %s", bad[i].value);
		cr_assert_str_eq(e.field, "xsp_hosts", "%s: %s", bad[i].value, e.message);
		assert_contains(e.message, "xsp_hosts");
		assert_contains(e.message, bad[i].words);
		cr_assert_str_eq(p.params_json, json, "a refused value must not be rewritten");
		pd_pbx_free(&p);
		free(json);
	}
	/* a number is not a list; templates share the rule */
	pd_pbx p;
	pd_err e = {0};
	cr_assert_eq(xsi_check("{\"enterprise_id\":\"ent\",\"xsp_hosts\":5}", &p, &e),
	             PD_E_INVALID);
	cr_assert_str_eq(e.field, "xsp_hosts");
	pd_pbx_free(&p);
	pd_template t = {.name = xstrdup("Xsi"), .platform = xstrdup("broadworks-xsi")};
	t.params_json = xstrdup("{\"xsp_hosts\":\"a.example:1,b.example:99999\"}");
	cr_assert_eq(pd_template_check(&cat, &t, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "xsp_hosts");
	pd_template_free(&t);
	/* the check alone, for the driver */
	char *norm;
	cr_assert_eq(pd_check_host_list("xsp_hosts", "a.example , b.example:8443", &norm, &e),
	             PD_OK);
	cr_assert_str_eq(norm, "a.example,b.example:8443");
	free(norm);
	cr_assert(pd_field_is_host_list("xsp_hosts"));
	cr_assert_not(pd_field_is_host_list("host"));
	cr_assert_not(pd_field_is_host_list("_hosts"));
}

Test(params, broadworks_required_fields_named)
{
	pd_pbx p;
	pd_err e = {0};
	cr_assert_eq(xsi_check("{\"group_id\":\"grp\"}", &p, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "enterprise_id");
	assert_contains(e.message, "Enterprise id is required");
	pd_pbx_free(&p);
	cr_assert_eq(xsi_check("{\"enterprise_id\":\"\"}", &p, &e), PD_E_INVALID,
	             "an empty enterprise id is none");
	cr_assert_str_eq(e.field, "enterprise_id");
	pd_pbx_free(&p);
	cr_assert_eq(xsi_check("{\"enterprise_id\":\"ent\"}", &p, &e), PD_OK, "%s", e.message);
	cr_assert_eq(p.port, 443, "the catalogue's default port");
	pd_set_str(&p.host, "  ");
	cr_assert_eq(pd_pbx_check(&cat, &p, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "host");
	pd_pbx_free(&p);
}

/* provdesk pbx add|show|update|enable|disable|remove (the connection record)
 * and provdesk template ... (PBX templates). The live commands are in
 * pbx_status.c, pbx_resync.c and pbx_test.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_internal.h"
#include "provdesk/i18n.h"
#include "provdesk/util.h"

static const char help_group[] =
    N_("Usage: provdesk pbx add|show|update|enable|disable|remove|status|resync|test CUSTOMER ...\n"
       "  add CUSTOMER (--template NAME | --platform KEY --host HOST --port PORT --username USER)\n"
       "      [--secret-file FILE | --secret-env VAR] [--tls] [FIELDS] [--disabled] [--no-sync]\n"
       "      [--no-monitor] [--auto-provision-sub-accounts] [--json]\n"
       "  show CUSTOMER [--json]             the connection (never its secret)\n"
       "  update CUSTOMER [--host H] [--port P] [--username U] [--tls|--no-tls] [FIELDS]\n"
       "      [--secret-file FILE | --secret-env VAR | --prompt-secret] [--sync|--no-sync]\n"
       "      [--monitor|--no-monitor] [--expect-version N] [--json]\n"
       "  enable|disable CUSTOMER [--json]   connect or stop connecting\n"
       "  remove CUSTOMER [--json]           delete the connection record\n"
       "  status|resync|test CUSTOMER [--json]  the live link (PBX layer)\n"
       "FIELDS: the platform's other fields from the catalogue, as --param KEY=VALUE\n"
       "      (repeatable) or --KEY VALUE ('provdesk pbx add --help' lists them).\n"
       "A secret is never taken on the command line: --secret-file, --secret-env, or a\n"
       "prompt without echo when standard input is a terminal.\n");

static const char help_add[] = N_(
    "Usage: provdesk pbx add CUSTOMER (--template NAME | --platform KEY --host HOST --port PORT\n"
    "         --username USER) [--secret-file FILE | --secret-env VAR] [--tls] [--disabled]\n"
    "         [--param KEY=VALUE]... [--FIELD VALUE]... [--no-sync] [--no-monitor]\n"
    "         [--auto-provision-sub-accounts] [--json]\n"
    "Create the customer's PBX connection. Options given with --template override the\n"
    "template's values. Without --secret-file/--secret-env the secret is asked for on the\n"
    "terminal (no echo). --auto-provision-sub-accounts can only be set here. A platform\n"
    "without a driver yet is added --disabled.\n");
static const char help_show[] =
    N_("Usage: provdesk pbx show CUSTOMER [--json]\n"
       "Show the PBX connection of a customer (the secret is never shown).\n");
static const char help_update[] =
    N_("Usage: provdesk pbx update CUSTOMER [--host H] [--port P] [--username U] [--tls|--no-tls]\n"
       "         [--param KEY=VALUE]... [--FIELD VALUE]...\n"
       "         [--secret-file FILE | --secret-env VAR | --prompt-secret] [--sync|--no-sync]\n"
       "         [--monitor|--no-monitor] [--expect-version N] [--json]\n"
       "Change the PBX connection; the stored secret is kept unless a new one is given.\n"
       "The fields are those of the connection's platform.\n");
static const char help_enable[] = N_("Usage: provdesk pbx enable|disable CUSTOMER [--json]\n");
static const char help_remove[] = N_("Usage: provdesk pbx remove CUSTOMER [--json]\n");

static const char help_tgroup[] =
    N_("Usage: provdesk template list|show|add|update|delete ...\n"
       "  list [--json]\n"
       "  show NAME [--json]\n"
       "  add NAME --platform KEY [--host HOST] [--port PORT] [--username USER] [--tls]\n"
       "      [--param KEY=VALUE]... [--FIELD VALUE]... [--json]\n"
       "  update NAME [--platform KEY] [--host HOST] [--port PORT] [--username USER]\n"
       "      [--tls|--no-tls] [--param KEY=VALUE]... [--FIELD VALUE]... [--expect-version N]\n"
       "      [--json]\n"
       "  delete NAME [--json]\n"
       "PBX templates hold a platform and defaults so that 'pbx add --template' asks for\n"
       "little. Templates never hold secrets.\n");

/* The platform's catalogue fields say whether a secret is required. */
static bool secret_required(const pd_catalogue *cat, const char *platform)
{
	const pd_platform *pl = platform ? pd_catalogue_platform(cat, platform) : NULL;
	for (size_t i = 0; pl && i < pl->n_fields; i++)
		if (pl->fields[i].secret && pl->fields[i].required)
			return true;
	return false;
}

/* The platform's other fields (params_json) as text lines: the stored value,
 * else the catalogue default, so what the driver will use is visible. */
static void print_params(const pd_catalogue *cat, const char *platform, const char *params_json,
                         int width)
{
	const pd_platform *pl = platform ? pd_catalogue_platform(cat, platform) : NULL;
	json_t *o = params_json && *params_json ? json_loads(params_json, 0, NULL) : NULL;
	for (size_t i = 0; pl && i < pl->n_fields; i++) {
		const pd_platform_field *f = &pl->fields[i];
		if (f->secret || !strcmp(f->key, "host") || !strcmp(f->key, "port") ||
		    !strcmp(f->key, "tls") || !strcmp(f->key, "username"))
			continue;
		json_t *v = json_is_object(o) ? json_object_get(o, f->key) : NULL;
		char key[64];
		snprintf(key, sizeof key, "%s:", f->key);
		if (json_is_boolean(v))
			printf("%-*s %s\n", width, key, json_is_true(v) ? _("yes") : _("no"));
		else if (json_is_integer(v))
			printf("%-*s %lld\n", width, key, (long long)json_integer_value(v));
		else if (json_is_string(v))
			printf("%-*s %s\n", width, key, json_string_value(v));
		else if (f->default_value && f->type == PD_FIELD_BOOL)
			printf(_("%-*s %s (default)\n"), width, key,
			       strcmp(f->default_value, "true") ? _("no") : _("yes"));
		else if (f->default_value)
			printf(_("%-*s %s (default)\n"), width, key, f->default_value);
		else
			printf(_("%-*s (none)\n"), width, key);
	}
	json_decref(o);
}

/* pd_pbx_free with the secret wiped first: it should not linger in the heap. */
static void pbx_free_wiped(pd_pbx *p)
{
	if (p->secret) {
		memset(p->secret, 0, strlen(p->secret));
		free(p->secret);
		p->secret = NULL;
	}
	pd_pbx_free(p);
}

/* Whether a secret is stored, without keeping it: read, wiped, freed. */
static bool secret_stored(pd_cli *c, int64_t customer_id)
{
	pd_err e;
	pd_err_clear(&e);
	pd_pbx p;
	memset(&p, 0, sizeof p);
	if (store_pbx_get(c->store, customer_id, true, &p, &e) != PD_OK)
		return false;
	bool has = p.secret && *p.secret;
	pbx_free_wiped(&p);
	return has;
}

/* A label padded to width columns by its width on screen, not its bytes (a
 * French label has accents). */
static void kv(int width, const char *k, const char *v)
{
	int w = pd_utf8_width(k);
	printf("%s%*s %s\n", k, w < width ? width - w : 0, "", v ? v : "");
}

static void kv_int(int width, const char *k, long long v)
{
	char b[32];
	snprintf(b, sizeof b, "%lld", v);
	kv(width, k, b);
}

/* headline: NULL, or the line said first ("Added PBX connection."). */
static int print_pbx(pd_cli *c, int64_t customer_id, const char *headline)
{
	pd_err e;
	pd_err_clear(&e);
	pd_pbx p;
	pd_pbx_status st;
	bool has_st;
	if (pd_cli_pbx_get(c, customer_id, &p, &st, &has_st, &e) != PD_OK)
		return pd_cli_fail(c, &e);
	bool has_secret = secret_stored(c, customer_id);
	if (c->json) {
		json_t *o = pd_json_pbx(&p);
		json_object_set_new(o, "secret_set", json_boolean(has_secret));
		pd_cli_field_values fv = {
		    .host = p.host,
		    .username = p.username,
		    .params_json = p.params_json,
		    .port = p.port,
		    .tls = p.tls,
		    .secret_set = has_secret,
		};
		json_object_set_new(o, "fields", pd_cli_fields_json(&c->cat, p.platform, &fv));
		pd_json_pbx_state(o, &p, has_st ? &st : NULL);
		pd_cli_print_json(c, o);
	} else {
		if (headline)
			printf("%s\n", headline);
		kv(17, _("Platform:"), p.platform);
		kv(17, _("Template:"), p.template_name);
		kv(17, _("Host:"), p.host);
		kv_int(17, _("Port:"), p.port);
		kv(17, _("TLS:"), p.tls ? _("yes") : _("no"));
		kv(17, _("Username:"), p.username);
		kv(17, _("Secret:"), has_secret ? _("(set; never shown)") : _("(none)"));
		print_params(&c->cat, p.platform, p.params_json, 17);
		kv(17, _("Enabled:"), p.enabled ? _("yes") : _("no"));
		kv(17, _("Sync users:"), p.sync_users ? _("yes") : _("no"));
		kv(17, _("Monitor:"), p.monitor ? _("yes") : _("no"));
		kv(17, _("Auto-provision:"), p.auto_provision ? _("yes (sub-accounts)") : _("no"));
		kv_int(17, _("Version:"), (long long)p.version);
		if (has_st) {
			char err_text[PD_MSG_TEXT_MAX], state[200];
			char *line =
			    xasprintf("%s%s%s", pd_msg_text(st.state, state, sizeof state),
			              st.last_error ? " — " : "",
			              pd_msg_text(st.last_error, err_text, sizeof err_text));
			kv(17, _("Status:"), line);
			free(line);
		} else {
			kv(17, _("Status:"), p.enabled ? _("not monitored yet") : _("disabled"));
		}
	}
	pd_pbx_free(&p);
	if (has_st)
		pd_pbx_status_free(&st);
	return 0;
}

static bool parse_port(pd_cli *c, const char *s, int *out)
{
	long v;
	if (!pd_cli_int(c, "--port", s, 1, 65535, &v))
		return false;
	*out = (int)v;
	return true;
}

/* A port from --param port (an explicit --port is checked while parsing). */
static pd_status column_port(const pd_cli_columns *col, int *out, pd_err *e)
{
	char *end;
	long v = col->port && *col->port ? strtol(col->port, &end, 10) : 0;
	if (!col->port)
		return PD_OK;
	if (!*col->port || *end || v < 1 || v > 65535)
		return pd_fail(e, PD_E_USAGE, "port",
		               _("%s: expected a whole number from 1 to 65535, got '%.40s'"),
		               col->port_opt, col->port);
	*out = (int)v;
	return PD_OK;
}

static int add_run(pd_cli *c, int argc, char **argv, pd_cli_params *ps)
{
	const char *tmpl = NULL, *platform = NULL, *host = NULL, *port_s = NULL, *user = NULL,
	           *sfile = NULL, *senv = NULL;
	bool tls = false, disabled = false, no_sync = false, no_monitor = false, autop = false;
	const pd_opt opts[] = {
	    {"template", PD_OPT_VAL, &tmpl, NULL},
	    {"platform", PD_OPT_VAL, &platform, NULL},
	    {"host", PD_OPT_VAL, &host, NULL},
	    {"port", PD_OPT_VAL, &port_s, NULL},
	    {"username", PD_OPT_VAL, &user, NULL},
	    {"secret-file", PD_OPT_VAL, &sfile, NULL},
	    {"secret-env", PD_OPT_VAL, &senv, NULL},
	    {"tls", PD_OPT_FLAG, NULL, &tls},
	    {"disabled", PD_OPT_FLAG, NULL, &disabled},
	    {"no-sync", PD_OPT_FLAG, NULL, &no_sync},
	    {"no-monitor", PD_OPT_FLAG, NULL, &no_monitor},
	    {"auto-provision-sub-accounts", PD_OPT_FLAG, NULL, &autop},
	    {NULL, 0, NULL, NULL},
	};
	const char *pos[1];
	int rc = pd_cli_parse_params(c, "pbx add", argc, argv, opts, ps, pos, 1, 1, NULL, help_add);
	if (rc != PD_CLI_CONTINUE)
		return rc;
	if (!tmpl && !platform)
		return pd_cli_usage_field(
		    c, "platform",
		    _("pbx add: give --template NAME, or --platform KEY --host HOST "
		      "--port PORT --username USER"));
	if (sfile && senv)
		return pd_cli_usage_field(
		    c, "secret", _("pbx add: give --secret-file or --secret-env, not both"));
	int port = 0;
	if (port_s && !parse_port(c, port_s, &port))
		return pd_status_exit_code(PD_E_USAGE);
	pd_cli_columns col = {
	    .host = host,
	    .port = port_s,
	    .username = user,
	    .tls = tls ? 1 : -1,
	    .host_opt = "--host",
	    .port_opt = "--port",
	    .username_opt = "--username",
	};
	pd_err e;
	pd_err_clear(&e);
	pd_customer cu;
	if (pd_cli_customer(c, pos[0], &cu, &e) != PD_OK)
		return pd_cli_fail(c, &e);
	pd_pbx p;
	memset(&p, 0, sizeof p);
	pd_status st = PD_OK;
	bool tmpl_tls = false;
	if (tmpl) {
		pd_template t;
		memset(&t, 0, sizeof t);
		st = store_template_get(c->store, tmpl, &t, &e);
		if (st != PD_OK && !e.field[0])
			snprintf(e.field, sizeof e.field, "template");
		if (st == PD_OK) {
			pd_pbx_apply_template(&p, &t);
			if (!p.template_name)
				p.template_name = xstrdup(t.name);
			tmpl_tls = t.tls;
			pd_template_free(&t);
		}
	}
	if (platform)
		pd_set_str(&p.platform, platform);
	if (st == PD_OK)
		st = pd_cli_params_apply(&c->cat, ps, p.platform, &col, &p.params_json, &e);
	if (st == PD_OK)
		st = column_port(&col, &port, &e);
	if (col.host)
		pd_set_str(&p.host, col.host);
	if (col.username)
		pd_set_str(&p.username, col.username);
	if (port)
		p.port = port;
	p.customer_id = cu.id;
	p.tls = col.tls >= 0 ? col.tls : tmpl_tls;
	if (col.tls < 0 && !tmpl && p.platform) {
		/* neither --tls nor --no-tls: the platform's default, as the wizard
		 * (broadworks-xsi: TLS on, port 443) */
		const pd_platform_field *ft =
		    pd_platform_field_get(pd_catalogue_platform(&c->cat, p.platform), "tls");
		bool def;
		if (ft && ft->default_value && pd_parse_bool(ft->default_value, &def))
			p.tls = def;
	}
	p.enabled = !disabled;
	p.sync_users = !no_sync;
	p.monitor = !no_monitor;
	p.auto_provision = autop;
	if (st == PD_OK && p.platform) {
		const pd_product_type *pt = pd_catalogue_product(&c->cat, cu.product_type);
		if (pt && !pd_product_allows_platform(pt, p.platform))
			st = pd_fail(&e, PD_E_INVALID, "platform",
			             _("product type %s does not allow the PBX platform '%s'"),
			             cu.product_type, p.platform);
	}
	if (st == PD_OK)
		st = pd_cli_read_secret(sfile, senv, _("PBX secret: "), &p.secret, &e);
	/* A disabled link may wait for its secret (offline lab provisioning);
	 * an enabled one would only fail to log in. */
	if (st == PD_OK && !p.secret && p.enabled && secret_required(&c->cat, p.platform))
		st = pd_fail(&e, PD_E_INVALID, "secret",
		             _("the %s platform needs a secret: give --secret-file FILE or "
		               "--secret-env VAR, run on a terminal to be prompted, or add the "
		               "connection --disabled and set it later with 'pbx update'"),
		             p.platform);
	if (st == PD_OK)
		st = pd_pbx_check(&c->cat, &p, &e);
	if (st == PD_OK)
		st = store_pbx_add(c->store, cu.id, &p, &c->actor, &e);
	pbx_free_wiped(&p);
	int64_t id = cu.id;
	pd_customer_free(&cu);
	if (st != PD_OK)
		return pd_cli_fail(c, &e);
	return print_pbx(c, id, _("Added PBX connection."));
}

static int cmd_add(pd_cli *c, int argc, char **argv)
{
	pd_cli_params ps = {0};
	int rc = add_run(c, argc, argv, &ps);
	pd_cli_params_free(&ps);
	return rc;
}

static int cmd_show(pd_cli *c, int argc, char **argv)
{
	const char *pos[1];
	int rc = pd_cli_parse(c, "pbx show", argc, argv, NULL, pos, 1, 1, NULL, help_show);
	if (rc != PD_CLI_CONTINUE)
		return rc;
	pd_err e;
	pd_err_clear(&e);
	int64_t id;
	if (pd_cli_customer_id(c, pos[0], &id, &e) != PD_OK)
		return pd_cli_fail(c, &e);
	return print_pbx(c, id, NULL);
}

static int update_run(pd_cli *c, int argc, char **argv, pd_cli_params *ps)
{
	const char *host = NULL, *port_s = NULL, *user = NULL, *sfile = NULL, *senv = NULL,
	           *ver_s = NULL;
	bool tls = false, no_tls = false, sync = false, no_sync = false, mon = false,
	     no_mon = false, prompt = false, autop = false;
	const pd_opt opts[] = {
	    {"host", PD_OPT_VAL, &host, NULL},
	    {"port", PD_OPT_VAL, &port_s, NULL},
	    {"username", PD_OPT_VAL, &user, NULL},
	    {"secret-file", PD_OPT_VAL, &sfile, NULL},
	    {"secret-env", PD_OPT_VAL, &senv, NULL},
	    {"prompt-secret", PD_OPT_FLAG, NULL, &prompt},
	    {"tls", PD_OPT_FLAG, NULL, &tls},
	    {"no-tls", PD_OPT_FLAG, NULL, &no_tls},
	    {"sync", PD_OPT_FLAG, NULL, &sync},
	    {"no-sync", PD_OPT_FLAG, NULL, &no_sync},
	    {"monitor", PD_OPT_FLAG, NULL, &mon},
	    {"no-monitor", PD_OPT_FLAG, NULL, &no_mon},
	    {"auto-provision-sub-accounts", PD_OPT_FLAG, NULL, &autop},
	    {"expect-version", PD_OPT_VAL, &ver_s, NULL},
	    {NULL, 0, NULL, NULL},
	};
	const char *pos[1];
	int rc = pd_cli_parse_params(c, "pbx update", argc, argv, opts, ps, pos, 1, 1, NULL,
	                             help_update);
	if (rc != PD_CLI_CONTINUE)
		return rc;
	if ((tls && no_tls) || (sync && no_sync) || (mon && no_mon))
		return pd_cli_usage(c, _("pbx update: conflicting options"));
	if (autop)
		return pd_cli_failf(c, PD_E_INVALID, "auto_provision_sub_accounts",
		                    _("can only be set when the connection is created (remove and "
		                      "add the connection to change it)"));
	if ((sfile != NULL) + (senv != NULL) + prompt > 1)
		return pd_cli_usage_field(c, "secret",
		                          _("pbx update: give one of --secret-file, --secret-env, "
		                            "--prompt-secret"));
	int port = 0;
	if (port_s && !parse_port(c, port_s, &port))
		return pd_status_exit_code(PD_E_USAGE);
	long ver = 0;
	if (ver_s && !pd_cli_int(c, "--expect-version", ver_s, 1, INT32_MAX, &ver))
		return pd_status_exit_code(PD_E_USAGE);
	pd_cli_columns col = {
	    .host = host,
	    .port = port_s,
	    .username = user,
	    .tls = tls || no_tls ? tls : -1,
	    .host_opt = "--host",
	    .port_opt = "--port",
	    .username_opt = "--username",
	};
	pd_err e;
	pd_err_clear(&e);
	int64_t id;
	if (pd_cli_customer_id(c, pos[0], &id, &e) != PD_OK)
		return pd_cli_fail(c, &e);
	pd_pbx p;
	memset(&p, 0, sizeof p);
	pd_status st = store_pbx_get(c->store, id, false, &p, &e);
	if (st == PD_OK) {
		free(p.secret);
		p.secret = NULL;
		if (ver)
			p.version = ver;
		st = pd_cli_params_apply(&c->cat, ps, p.platform, &col, &p.params_json, &e);
	}
	if (st == PD_OK)
		st = column_port(&col, &port, &e);
	if (st == PD_OK) {
		if (col.host)
			pd_set_str(&p.host, col.host);
		if (col.username)
			pd_set_str(&p.username, col.username);
		if (port)
			p.port = port;
		if (col.tls >= 0)
			p.tls = col.tls;
		if (sync || no_sync)
			p.sync_users = sync;
		if (mon || no_mon)
			p.monitor = mon;
		if (sfile || senv || prompt) {
			if (prompt && !isatty(0))
				st = pd_fail(
				    &e, PD_E_USAGE, "secret",
				    _("--prompt-secret needs a terminal on standard input"));
			else
				st = pd_cli_read_secret(sfile, senv, _("New PBX secret: "),
				                        &p.secret, &e);
		}
	}
	if (st == PD_OK)
		st = pd_pbx_check(&c->cat, &p, &e);
	if (st == PD_OK)
		st = store_pbx_update(c->store, &p, &c->actor, &e);
	pbx_free_wiped(&p);
	if (st != PD_OK)
		return pd_cli_fail(c, &e);
	return print_pbx(c, id, _("Updated PBX connection."));
}

static int cmd_update(pd_cli *c, int argc, char **argv)
{
	pd_cli_params ps = {0};
	int rc = update_run(c, argc, argv, &ps);
	pd_cli_params_free(&ps);
	return rc;
}

static int enable_action(pd_cli *c, int argc, char **argv, int action)
{
	static const char *const names[] = {"pbx enable", "pbx disable", "pbx remove"};
	const char *pos[1];
	int rc = pd_cli_parse(c, names[action], argc, argv, NULL, pos, 1, 1, NULL,
	                      action == 2 ? help_remove : help_enable);
	if (rc != PD_CLI_CONTINUE)
		return rc;
	pd_err e;
	pd_err_clear(&e);
	pd_customer cu;
	if (pd_cli_customer(c, pos[0], &cu, &e) != PD_OK)
		return pd_cli_fail(c, &e);
	int64_t id = cu.id;
	char *name = xstrdup(cu.name);
	pd_customer_free(&cu);
	if (action == 0) {
		pd_pbx p;
		memset(&p, 0, sizeof p);
		if (store_pbx_get(c->store, id, false, &p, &e) != PD_OK) {
			free(name);
			return pd_cli_fail(c, &e);
		}
		bool need = secret_required(&c->cat, p.platform) && !secret_stored(c, id);
		pd_pbx_free(&p);
		if (need) {
			free(name);
			return pd_cli_failf(
			    c, PD_E_INVALID, "secret",
			    _("no secret is stored for this connection; set one with "
			      "'pbx update CUSTOMER --secret-file FILE' (or --secret-env, "
			      "--prompt-secret) before enabling it"));
		}
	}
	pd_status st = action == 2
	                   ? store_pbx_remove(c->store, id, &c->actor, &e)
	                   : store_pbx_set_enabled(c->store, id, action == 0, &c->actor, &e);
	if (st != PD_OK) {
		free(name);
		return pd_cli_fail(c, &e);
	}
	if (action == 2) {
		if (c->json) {
			json_t *o = json_object();
			json_object_set_new(o, "customer", json_string(name));
			json_object_set_new(o, "removed", json_true());
			pd_cli_print_json(c, o);
		} else
			printf(_("Removed the PBX connection of %s.\n"), name);
		free(name);
		return 0;
	}
	free(name);
	return print_pbx(
	    c, id, action == 0 ? _("Enabled PBX connection.") : _("Disabled PBX connection."));
}

static int cmd_enable(pd_cli *c, int argc, char **argv)
{
	return enable_action(c, argc, argv, 0);
}
static int cmd_disable(pd_cli *c, int argc, char **argv)
{
	return enable_action(c, argc, argv, 1);
}
static int cmd_remove(pd_cli *c, int argc, char **argv)
{
	return enable_action(c, argc, argv, 2);
}

const pd_subcmd pd_cli_pbx_subs[] = {
    {"add", cmd_add},
    {"show", cmd_show},
    {"update", cmd_update},
    {"enable", cmd_enable},
    {"disable", cmd_disable},
    {"remove", cmd_remove},
    {"status", pd_cli_pbx_status_cmd},
    {"resync", pd_cli_pbx_resync_cmd},
    {"test", pd_cli_pbx_test_cmd},
    {NULL, NULL},
};

int pd_cli_pbx_cmd(pd_cli *c, int argc, char **argv)
{
	return pd_cli_group(c, "pbx", pd_cli_pbx_subs, argc, argv, help_group);
}

/* ---- templates ---- */

static void template_text(const pd_catalogue *cat, const pd_template *t)
{
	/* 10 columns, or the widest translated label's */
	const char *labels[] = {_("Name:"), _("Platform:"), _("Host:"),   _("Port:"),
	                        _("TLS:"),  _("Username:"), _("Version:")};
	int w = 10;
	for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++)
		if (pd_utf8_width(labels[i]) > w)
			w = pd_utf8_width(labels[i]);
	kv(w, labels[0], t->name);
	kv(w, labels[1], t->platform);
	kv(w, labels[2], t->host);
	kv_int(w, labels[3], t->port);
	kv(w, labels[4], t->tls ? _("yes") : _("no"));
	kv(w, labels[5], t->username);
	print_params(cat, t->platform, t->params_json, w);
	kv_int(w, labels[6], (long long)t->version);
}

/* done: 0 says nothing first, 1 "Added template", 2 "Updated template". */
static int tmpl_print(pd_cli *c, const char *name, int done)
{
	pd_err e;
	pd_err_clear(&e);
	pd_template t;
	memset(&t, 0, sizeof t);
	if (store_template_get(c->store, name, &t, &e) != PD_OK)
		return pd_cli_fail(c, &e);
	if (c->json) {
		json_t *o = pd_json_template(&t);
		pd_cli_field_values fv = {
		    .host = t.host,
		    .username = t.username,
		    .params_json = t.params_json,
		    .port = t.port,
		    .tls = t.tls,
		};
		json_object_set_new(o, "fields", pd_cli_fields_json(&c->cat, t.platform, &fv));
		pd_cli_print_json(c, o);
	} else {
		if (done == 1)
			printf(_("Added template %s.\n"), t.name);
		else if (done == 2)
			printf(_("Updated template %s.\n"), t.name);
		template_text(&c->cat, &t);
	}
	pd_template_free(&t);
	return 0;
}

static int tmpl_list(pd_cli *c, int argc, char **argv)
{
	int rc = pd_cli_parse(c, "template list", argc, argv, NULL, NULL, 0, 0, NULL, help_tgroup);
	if (rc != PD_CLI_CONTINUE)
		return rc;
	pd_err e;
	pd_err_clear(&e);
	pd_store *s = pd_cli_store(c, &e);
	pd_template *v = NULL;
	size_t n = 0;
	if (!s || store_template_list(s, &v, &n, &e) != PD_OK)
		return pd_cli_fail(c, &e);
	if (c->json) {
		json_t *a = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(a, pd_json_template(&v[i]));
		pd_cli_print_json(c, a);
	} else if (n) {
		static const char *const heads[] = {"NAME", "PLATFORM", "HOST",
		                                    "PORT", "TLS",      "USERNAME"};
		static const bool right[] = {false, false, false, true, false, false};
		pd_table t;
		pd_table_init(&t, 6, heads, right);
		for (size_t i = 0; i < n; i++) {
			char port[16];
			snprintf(port, sizeof port, "%d", v[i].port);
			const char *cells[6] = {v[i].name, v[i].platform,           v[i].host,
			                        port,      v[i].tls ? "yes" : "no", v[i].username};
			pd_table_row(&t, cells);
		}
		pd_table_print(&t, stdout);
		pd_table_free(&t);
	} else
		fputs(_("no templates\n"), stderr);
	for (size_t i = 0; i < n; i++)
		pd_template_free(&v[i]);
	free(v);
	return 0;
}

static int tmpl_show(pd_cli *c, int argc, char **argv)
{
	const char *pos[1];
	int rc = pd_cli_parse(c, "template show", argc, argv, NULL, pos, 1, 1, NULL, help_tgroup);
	if (rc != PD_CLI_CONTINUE)
		return rc;
	pd_err e;
	pd_err_clear(&e);
	if (!pd_cli_store(c, &e))
		return pd_cli_fail(c, &e);
	return tmpl_print(c, pos[0], 0);
}

static int tmpl_run(pd_cli *c, int argc, char **argv, bool add, pd_cli_params *ps)
{
	const char *platform = NULL, *host = NULL, *port_s = NULL, *user = NULL, *ver_s = NULL;
	bool tls = false, no_tls = false;
	const pd_opt opts[] = {
	    {"platform", PD_OPT_VAL, &platform, NULL},
	    {"host", PD_OPT_VAL, &host, NULL},
	    {"port", PD_OPT_VAL, &port_s, NULL},
	    {"username", PD_OPT_VAL, &user, NULL},
	    {"tls", PD_OPT_FLAG, NULL, &tls},
	    {"no-tls", PD_OPT_FLAG, NULL, &no_tls},
	    {"expect-version", PD_OPT_VAL, &ver_s, NULL},
	    {NULL, 0, NULL, NULL},
	};
	const char *pos[1];
	int rc = pd_cli_parse_params(c, add ? "template add" : "template update", argc, argv, opts,
	                             ps, pos, 1, 1, NULL, help_tgroup);
	if (rc != PD_CLI_CONTINUE)
		return rc;
	if (add && !platform)
		return pd_cli_usage_field(c, "platform", _("template add: missing --platform"));
	if (tls && no_tls)
		return pd_cli_usage(c, _("template update: --tls and --no-tls conflict"));
	int port = 0;
	if (port_s && !parse_port(c, port_s, &port))
		return pd_status_exit_code(PD_E_USAGE);
	long ver = 0;
	if (ver_s && !pd_cli_int(c, "--expect-version", ver_s, 1, INT32_MAX, &ver))
		return pd_status_exit_code(PD_E_USAGE);
	pd_cli_columns col = {
	    .host = host,
	    .port = port_s,
	    .username = user,
	    .tls = tls || no_tls ? tls : -1,
	    .host_opt = "--host",
	    .port_opt = "--port",
	    .username_opt = "--username",
	};
	pd_err e;
	pd_err_clear(&e);
	pd_store *s = pd_cli_store(c, &e);
	if (!s)
		return pd_cli_fail(c, &e);
	pd_template t;
	memset(&t, 0, sizeof t);
	pd_status st = store_template_get(s, pos[0], &t, &e);
	if (add && st == PD_OK) {
		pd_template_free(&t);
		return pd_cli_failf(
		    c, PD_E_INVALID, "name",
		    _("a template named '%s' already exists (use 'template update')"), pos[0]);
	}
	if (add) {
		memset(&t, 0, sizeof t);
		pd_err_clear(&e);
		t.name = xstrdup(pos[0]);
		st = PD_OK;
	} else if (st != PD_OK) {
		return pd_cli_fail(c, &e);
	}
	if (ver)
		t.version = ver;
	if (platform)
		pd_set_str(&t.platform, platform);
	st = pd_cli_params_apply(&c->cat, ps, t.platform, &col, &t.params_json, &e);
	if (st == PD_OK)
		st = column_port(&col, &port, &e);
	if (col.host)
		pd_set_str(&t.host, *col.host ? col.host : NULL);
	if (col.username)
		pd_set_str(&t.username, *col.username ? col.username : NULL);
	if (port)
		t.port = port;
	if (col.tls >= 0)
		t.tls = col.tls;
	if (st == PD_OK)
		st = pd_template_check(&c->cat, &t, &e);
	if (st == PD_OK)
		st = store_template_save(s, &t, &c->actor, &e);
	char *name = xstrdup(t.name);
	pd_template_free(&t);
	rc = st == PD_OK ? tmpl_print(c, name, add ? 1 : 2) : pd_cli_fail(c, &e);
	free(name);
	return rc;
}

static int tmpl_save(pd_cli *c, int argc, char **argv, bool add)
{
	pd_cli_params ps = {0};
	int rc = tmpl_run(c, argc, argv, add, &ps);
	pd_cli_params_free(&ps);
	return rc;
}

static int tmpl_add(pd_cli *c, int argc, char **argv)
{
	return tmpl_save(c, argc, argv, true);
}
static int tmpl_update(pd_cli *c, int argc, char **argv)
{
	return tmpl_save(c, argc, argv, false);
}

static int tmpl_delete(pd_cli *c, int argc, char **argv)
{
	const char *pos[1];
	int rc = pd_cli_parse(c, "template delete", argc, argv, NULL, pos, 1, 1, NULL, help_tgroup);
	if (rc != PD_CLI_CONTINUE)
		return rc;
	pd_err e;
	pd_err_clear(&e);
	pd_store *s = pd_cli_store(c, &e);
	if (!s || store_template_delete(s, pos[0], &c->actor, &e) != PD_OK)
		return pd_cli_fail(c, &e);
	if (c->json) {
		json_t *o = json_object();
		json_object_set_new(o, "name", json_string(pos[0]));
		json_object_set_new(o, "deleted", json_true());
		pd_cli_print_json(c, o);
	} else
		printf(_("Deleted template %s.\n"), pos[0]);
	return 0;
}

const pd_subcmd pd_cli_template_subs[] = {
    {"list", tmpl_list},     {"show", tmpl_show},     {"add", tmpl_add},
    {"update", tmpl_update}, {"delete", tmpl_delete}, {NULL, NULL},
};

int pd_cli_template_cmd(pd_cli *c, int argc, char **argv)
{
	return pd_cli_group(c, "template", pd_cli_template_subs, argc, argv, help_tgroup);
}

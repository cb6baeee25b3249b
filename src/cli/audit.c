/* provdesk audit: the audit log, as text, CSV or JSON. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_internal.h"
#include "csv.h"
#include "provdesk/i18n.h"
#include "provdesk/util.h"

static const char help_audit[] =
    N_("Usage: provdesk audit [CUSTOMER] [--limit N] [--format text|csv|json] [--output FILE] "
       "[--json]\n"
       "The audit log, newest first: who (OS user and SSH client), when, what, old → new.\n"
       "Secrets never appear (shown as \"(changed)\"). --format csv exports it.\n");

int pd_cli_audit_cmd(pd_cli *c, int argc, char **argv)
{
	const char *limit_s = NULL, *format = NULL, *output = NULL;
	const pd_opt opts[] = {
	    {"limit", PD_OPT_VAL, &limit_s, NULL},
	    {"format", PD_OPT_VAL, &format, NULL},
	    {"output", PD_OPT_VAL, &output, NULL},
	    {NULL, 0, NULL, NULL},
	};
	const char *pos[1] = {NULL};
	int np = 0;
	int rc = pd_cli_parse(c, "audit", argc, argv, opts, pos, 0, 1, &np, help_audit);
	if (rc != PD_CLI_CONTINUE)
		return rc;
	long limit = 0;
	if (limit_s && !pd_cli_int(c, "--limit", limit_s, 1, 100000000L, &limit))
		return pd_status_exit_code(PD_E_USAGE);
	int fmt = c->json ? 2 : 0;
	if (format) {
		if (strcmp(format, "text") == 0)
			fmt = 0;
		else if (strcmp(format, "csv") == 0)
			fmt = 1;
		else if (strcmp(format, "json") == 0)
			fmt = 2;
		else
			return pd_cli_usage_field(
			    c, "format", _("--format: expected text, csv or json, got '%s'"),
			    format);
	}
	pd_err e;
	pd_err_clear(&e);
	int64_t cid;
	if (pd_cli_customer_id(c, np ? pos[0] : NULL, &cid, &e) != PD_OK)
		return pd_cli_fail(c, &e);
	pd_audit *v = NULL;
	size_t n = 0;
	if (store_audit_list(c->store, cid, (size_t)limit, &v, &n, &e) != PD_OK)
		return pd_cli_fail(c, &e);
	FILE *out = stdout;
	char *tmp = NULL;
	if (output) {
		tmp = xasprintf("%s.tmp%ld", output, (long)getpid());
		out = fopen(tmp, "w");
		if (!out) {
			pd_audits_free(v, n);
			rc = pd_cli_failf(c, PD_E_CANTCREATE, "output", _("cannot create %s: %m"),
			                  output);
			free(tmp);
			return rc;
		}
	}
	if (fmt == 2) {
		json_t *a = json_array();
		for (size_t i = 0; i < n; i++) {
			json_t *o = json_object();
			json_object_set_new(o, "id", json_integer(v[i].id));
			json_object_set_new(o, "at", pd_json_time(v[i].at));
			json_object_set_new(o, "actor", pd_json_str(v[i].actor));
			json_object_set_new(o, "client", pd_json_str(v[i].client));
			json_object_set_new(o, "customer_id",
			                    v[i].customer_id ? json_integer(v[i].customer_id)
			                                     : json_null());
			json_object_set_new(o, "object", pd_json_str(v[i].object));
			json_object_set_new(o, "action", pd_json_str(v[i].action));
			json_object_set_new(o, "detail", pd_json_str(v[i].detail));
			json_array_append_new(a, o);
		}
		json_dumpf(a, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', out);
		json_decref(a);
	} else if (fmt == 1) {
		static const char *const heads[] = {"id",          "at",     "actor",  "client",
		                                    "customer_id", "object", "action", "detail"};
		pd_csv_write_row(out, heads, 8);
		for (size_t i = 0; i < n; i++) {
			char id[24], at[32], cu[24];
			snprintf(id, sizeof id, "%lld", (long long)v[i].id);
			pd_fmt_time(v[i].at, at);
			snprintf(cu, sizeof cu, "%lld", (long long)v[i].customer_id);
			const char *cells[8] = {id,
			                        at,
			                        v[i].actor,
			                        v[i].client,
			                        v[i].customer_id ? cu : "",
			                        v[i].object,
			                        v[i].action,
			                        v[i].detail};
			pd_csv_write_row(out, cells, 8);
		}
	} else {
		static const char *const heads[] = {N_("WHEN"),   N_("WHO"),    N_("CUSTOMER"),
		                                    N_("OBJECT"), N_("ACTION"), N_("DETAIL")};
		pd_table t;
		pd_table_init(&t, 6, heads, NULL);
		for (size_t i = 0; i < n; i++) {
			char at[32], who[160], cu[24];
			pd_fmt_time(v[i].at, at);
			snprintf(who, sizeof who, "%s%s%s", v[i].actor ? v[i].actor : "",
			         v[i].client && *v[i].client ? "@" : "",
			         v[i].client ? v[i].client : "");
			snprintf(cu, sizeof cu, "#%lld", (long long)v[i].customer_id);
			const char *cells[6] = {
			    at,          who,         v[i].customer_id ? cu : "",
			    v[i].object, v[i].action, v[i].detail};
			pd_table_row(&t, cells);
		}
		if (n)
			pd_table_print(&t, out);
		else
			fprintf(stderr, _("no audit entries\n"));
		pd_table_free(&t);
	}
	pd_audits_free(v, n);
	if (output) {
		bool bad = fflush(out) != 0 || ferror(out);
		bad |= fclose(out) != 0;
		if (bad || rename(tmp, output) != 0) {
			unlink(tmp);
			free(tmp);
			return pd_cli_failf(c, PD_E_CANTCREATE, "output", _("cannot write %s"),
			                    output);
		}
		free(tmp);
	}
	return 0;
}

/* provdesk catalogue, provdesk audit, provdesk outbox list|retry|send. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_internal.h"
#include "csv.h"
#include "provdesk/mail.h"
#include "provdesk/util.h"

/* ---- catalogue ---- */

static const char help_catalogue[] =
    "Usage: provdesk catalogue [product-types|roles|platforms|countries] [--json]\n"
    "Show the catalogue: product types (tenant profiles), roles, PBX platforms and the\n"
    "countries with their time zones. Without a section, all of them.\n";

static json_t *strv_json(char **v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static char *strv_join(char **v, size_t n, const char *empty)
{
	if (!n)
		return xstrdup(empty);
	pd_buf b = {0};
	for (size_t i = 0; i < n; i++)
		pd_buf_printf(&b, "%s%s", i ? "," : "", v[i]);
	return pd_buf_steal(&b);
}

int pd_cli_catalogue_cmd(pd_cli *c, int argc, char **argv)
{
	const char *pos[1] = {NULL};
	int np = 0;
	int rc = pd_cli_parse(c, "catalogue", argc, argv, NULL, pos, 0, 1, &np, help_catalogue);
	if (rc != PD_CLI_CONTINUE)
		return rc;
	static const char *const sections[] = {"product-types", "roles", "platforms", "countries"};
	bool want[4] = {true, true, true, true};
	if (np) {
		int k = -1;
		for (int i = 0; i < 4; i++)
			if (strcmp(pos[0], sections[i]) == 0)
				k = i;
		if (k < 0)
			return pd_cli_usage(
			    c,
			    "catalogue: unknown section '%s' (product-types, roles, "
			    "platforms or countries)",
			    pos[0]);
		for (int i = 0; i < 4; i++)
			want[i] = i == k;
	}
	pd_err e;
	pd_err_clear(&e);
	const pd_geo *g = NULL;
	if (want[3] && pd_cli_geo(&g, &e) != PD_OK)
		return pd_cli_fail(c, &e);
	const pd_catalogue *cat = &c->cat;
	if (c->json) {
		json_t *doc = json_object();
		if (want[0]) {
			json_t *a = json_array();
			for (size_t i = 0; i < cat->n_types; i++) {
				const pd_product_type *p = &cat->types[i];
				json_t *o = json_object();
				json_object_set_new(o, "key", json_string(p->key));
				json_object_set_new(o, "name", pd_json_str(p->name));
				json_object_set_new(o, "description", pd_json_str(p->description));
				json_t *f =
				    p->features_json ? json_loads(p->features_json, 0, NULL) : NULL;
				json_object_set_new(o, "features", f ? f : json_object());
				json_object_set_new(o, "locked_after_assignment",
				                    json_boolean(p->locked_after_assignment));
				json_object_set_new(o, "trial_allowed",
				                    json_boolean(p->trial_allowed));
				json_object_set_new(o, "price_cents", json_integer(p->price_cents));
				json_object_set_new(o, "currency", pd_json_str(p->currency));
				json_object_set_new(o, "platforms",
				                    strv_json(p->platforms, p->n_platforms));
				json_object_set_new(o, "countries",
				                    strv_json(p->countries, p->n_countries));
				json_array_append_new(a, o);
			}
			json_object_set_new(doc, "product_types", a);
		}
		if (want[1]) {
			json_t *a = json_array();
			for (size_t i = 0; i < cat->n_roles; i++) {
				json_t *o = json_object();
				json_object_set_new(o, "key", json_string(cat->roles[i].key));
				json_object_set_new(o, "name", pd_json_str(cat->roles[i].name));
				json_object_set_new(o, "description",
				                    pd_json_str(cat->roles[i].description));
				json_object_set_new(o, "manages_users",
				                    json_boolean(cat->roles[i].manages_users));
				json_array_append_new(a, o);
			}
			json_object_set_new(doc, "roles", a);
		}
		if (want[2]) {
			json_t *a = json_array();
			for (size_t i = 0; i < cat->n_platforms; i++) {
				const pd_platform *p = &cat->platforms[i];
				json_t *o = json_object();
				json_object_set_new(o, "key", json_string(p->key));
				json_object_set_new(o, "name", pd_json_str(p->name));
				json_object_set_new(o, "supported", json_boolean(p->supported));
				json_object_set_new(o, "has_sub_accounts",
				                    json_boolean(p->has_sub_accounts));
				json_object_set_new(o, "sub_account_label",
				                    pd_json_str(p->sub_account_label));
				json_t *fa = json_array();
				for (size_t j = 0; j < p->n_fields; j++) {
					json_t *f = json_object();
					json_object_set_new(f, "key",
					                    json_string(p->fields[j].key));
					json_object_set_new(f, "label",
					                    pd_json_str(p->fields[j].label));
					json_object_set_new(f, "required",
					                    json_boolean(p->fields[j].required));
					json_object_set_new(f, "secret",
					                    json_boolean(p->fields[j].secret));
					json_object_set_new(
					    f, "default", pd_json_str(p->fields[j].default_value));
					static const char *const types[] = {
					    [PD_FIELD_TEXT] = "text", [PD_FIELD_BOOL] = "bool",
					    [PD_FIELD_INT] = "int", [PD_FIELD_PATH] = "path"};
					json_object_set_new(f, "type",
					                    json_string(types[p->fields[j].type]));
					if (p->fields[j].type == PD_FIELD_INT) {
						json_object_set_new(f, "min",
						                    json_integer(p->fields[j].min));
						json_object_set_new(f, "max",
						                    json_integer(p->fields[j].max));
					}
					json_array_append_new(fa, f);
				}
				json_object_set_new(o, "fields", fa);
				json_array_append_new(a, o);
			}
			json_object_set_new(doc, "platforms", a);
		}
		if (want[3]) {
			json_t *a = json_array();
			for (size_t i = 0; i < pd_geo_count(g); i++) {
				const pd_country *co = pd_geo_at(g, i);
				json_t *o = json_object();
				json_object_set_new(o, "code", json_string(co->code));
				json_object_set_new(o, "name_en", pd_json_str(co->name_en));
				json_object_set_new(o, "name_fr", pd_json_str(co->name_fr));
				json_object_set_new(o, "time_zones",
				                    strv_json(co->zones, co->n_zones));
				json_array_append_new(a, o);
			}
			json_object_set_new(doc, "countries", a);
		}
		pd_cli_print_json(c, doc);
		return 0;
	}
	bool first = true;
	if (want[0]) {
		printf("Product types:\n");
		static const char *const heads[] = {"KEY",   "NAME",      "LOCKED",   "TRIAL",
		                                    "PRICE", "PLATFORMS", "COUNTRIES"};
		static const bool right[] = {false, false, false, false, true, false, false};
		pd_table t;
		pd_table_init(&t, 7, heads, right);
		for (size_t i = 0; i < cat->n_types; i++) {
			const pd_product_type *p = &cat->types[i];
			char price[64], m[32];
			pd_fmt_money(p->price_cents, m);
			snprintf(price, sizeof price, "%s %s/user/month", m,
			         p->currency ? p->currency : "");
			char *pl = strv_join(p->platforms, p->n_platforms, "-");
			char *co = strv_join(p->countries, p->n_countries, "all");
			const char *cells[7] = {p->key,
			                        p->name,
			                        p->locked_after_assignment ? "yes" : "no",
			                        p->trial_allowed ? "yes" : "no",
			                        price,
			                        pl,
			                        co};
			pd_table_row(&t, cells);
			free(pl);
			free(co);
		}
		pd_table_print(&t, stdout);
		pd_table_free(&t);
		first = false;
	}
	if (want[1]) {
		printf("%sRoles:\n", first ? "" : "\n");
		static const char *const heads[] = {"KEY", "NAME", "MANAGES USERS", "DESCRIPTION"};
		pd_table t;
		pd_table_init(&t, 4, heads, NULL);
		for (size_t i = 0; i < cat->n_roles; i++) {
			const char *cells[4] = {cat->roles[i].key, cat->roles[i].name,
			                        cat->roles[i].manages_users ? "yes" : "no",
			                        cat->roles[i].description};
			pd_table_row(&t, cells);
		}
		pd_table_print(&t, stdout);
		pd_table_free(&t);
		first = false;
	}
	if (want[2]) {
		printf("%sPBX platforms:\n", first ? "" : "\n");
		static const char *const heads[] = {"KEY", "NAME", "SUPPORTED", "SUB-ACCOUNTS",
		                                    "FIELDS"};
		pd_table t;
		pd_table_init(&t, 5, heads, NULL);
		for (size_t i = 0; i < cat->n_platforms; i++) {
			const pd_platform *p = &cat->platforms[i];
			pd_buf b = {0};
			for (size_t j = 0; j < p->n_fields; j++)
				pd_buf_printf(&b, "%s%s%s", j ? "," : "", p->fields[j].key,
				              p->fields[j].required ? "*" : "");
			char *fl = pd_buf_steal(&b);
			const char *cells[5] = {p->key, p->name, p->supported ? "yes" : "no",
			                        p->has_sub_accounts ? p->sub_account_label : "no",
			                        fl};
			pd_table_row(&t, cells);
			free(fl);
		}
		pd_table_print(&t, stdout);
		pd_table_free(&t);
		first = false;
	}
	if (want[3]) {
		printf("%sCountries:\n", first ? "" : "\n");
		static const char *const heads[] = {"CODE", "ENGLISH", "FRENCH", "TIME ZONES"};
		pd_table t;
		pd_table_init(&t, 4, heads, NULL);
		for (size_t i = 0; i < pd_geo_count(g); i++) {
			const pd_country *co = pd_geo_at(g, i);
			char *z = strv_join(co->zones, co->n_zones, "-");
			const char *cells[4] = {co->code, co->name_en, co->name_fr, z};
			pd_table_row(&t, cells);
			free(z);
		}
		pd_table_print(&t, stdout);
		pd_table_free(&t);
	}
	return 0;
}

/* ---- audit ---- */

static const char help_audit[] =
    "Usage: provdesk audit [CUSTOMER] [--limit N] [--format text|csv|json] [--output FILE] "
    "[--json]\n"
    "The audit log, newest first: who (OS user and SSH client), when, what, old → new.\n"
    "Secrets never appear (shown as \"(changed)\"). --format csv exports it.\n";

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
		return 64;
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
			    c, "format", "--format: expected text, csv or json, got '%s'", format);
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
			rc = pd_cli_failf(c, PD_E_CANTCREATE, "output", "cannot create %s: %m",
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
		static const char *const heads[] = {"WHEN",   "WHO",    "CUSTOMER",
		                                    "OBJECT", "ACTION", "DETAIL"};
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
			fprintf(stderr, "no audit entries\n");
		pd_table_free(&t);
	}
	pd_audits_free(v, n);
	if (output) {
		bool bad = fflush(out) != 0 || ferror(out);
		bad |= fclose(out) != 0;
		if (bad || rename(tmp, output) != 0) {
			unlink(tmp);
			free(tmp);
			return pd_cli_failf(c, PD_E_CANTCREATE, "output", "cannot write %s",
			                    output);
		}
		free(tmp);
	}
	return 0;
}

/* ---- outbox ---- */

static const char help_outbox[] =
    "Usage: provdesk outbox list [CUSTOMER] [--json]\n"
    "       provdesk outbox retry [ID | --all] [--send] [--json]\n"
    "       provdesk outbox send [--json]\n"
    "  list   invitation emails with their state: queued, waiting for retry (a\n"
    "         temporary failure), sent, failed for good (refused by the server, never\n"
    "         retried by itself), cancelled (the user was removed)\n"
    "  retry  put a failed (or sent: resend) message back in the queue; --all: every\n"
    "         failed one; --send: deliver the due messages now through [smtp]\n"
    "  send   deliver the due messages now. Exit 65 when a message was refused for\n"
    "         good (bad recipient, 5xx), 75 when some wait for a retry, 69 when SMTP\n"
    "         is unavailable, 77 when the server refused the login\n";

/* What the list shows for a message: JSON key, then the words of the table. */
static const char *outcome_key(const pd_outbox *m)
{
	switch (m->state) {
	case PD_INVITE_QUEUED:
		return m->attempts ? "waiting_for_retry" : "queued";
	case PD_INVITE_SENT:
		return "sent";
	case PD_INVITE_FAILED:
		return "failed_for_good";
	case PD_INVITE_CANCELLED:
		return "cancelled";
	case PD_INVITE_NONE:
		break;
	}
	return "unknown";
}

static void outcome_text(const pd_outbox *m, char out[64])
{
	char t[32];
	switch (m->state) {
	case PD_INVITE_QUEUED:
		if (m->attempts) {
			pd_fmt_time(m->next_attempt_at, t);
			snprintf(out, 64, "retry at %s", t);
		} else
			snprintf(out, 64, "queued");
		return;
	case PD_INVITE_FAILED:
		snprintf(out, 64, "failed for good");
		return;
	default:
		snprintf(out, 64, "%s", pd_invite_state_name(m->state));
	}
}

static int outbox_list(pd_cli *c, int argc, char **argv)
{
	const char *pos[1] = {NULL};
	int np = 0;
	int rc = pd_cli_parse(c, "outbox list", argc, argv, NULL, pos, 0, 1, &np, help_outbox);
	if (rc != PD_CLI_CONTINUE)
		return rc;
	pd_err e;
	pd_err_clear(&e);
	int64_t cid;
	if (pd_cli_customer_id(c, np ? pos[0] : NULL, &cid, &e) != PD_OK)
		return pd_cli_fail(c, &e);
	pd_outbox *v = NULL;
	size_t n = 0;
	if (store_outbox_list(c->store, cid, &v, &n, &e) != PD_OK)
		return pd_cli_fail(c, &e);
	if (c->json) {
		json_t *a = json_array();
		for (size_t i = 0; i < n; i++) {
			json_t *o = json_object();
			json_object_set_new(o, "id", json_integer(v[i].id));
			json_object_set_new(o, "customer_id", json_integer(v[i].customer_id));
			json_object_set_new(o, "user_id", json_integer(v[i].user_id));
			json_object_set_new(o, "to", pd_json_str(v[i].to_addr));
			json_object_set_new(o, "subject", pd_json_str(v[i].subject));
			json_object_set_new(o, "state",
			                    json_string(pd_invite_state_name(v[i].state)));
			json_object_set_new(o, "attempts", json_integer(v[i].attempts));
			json_object_set_new(o, "next_attempt_at",
			                    pd_json_time(v[i].next_attempt_at));
			json_object_set_new(o, "created_at", pd_json_time(v[i].created_at));
			json_object_set_new(o, "sent_at", pd_json_time(v[i].sent_at));
			json_object_set_new(o, "last_error", pd_json_str(v[i].last_error));
			json_object_set_new(o, "outcome", json_string(outcome_key(&v[i])));
			json_object_set_new(o, "invited_by", pd_json_str(v[i].invited_by));
			json_array_append_new(a, o);
		}
		pd_cli_print_json(c, a);
	} else if (n) {
		static const char *const heads[] = {"ID",      "TO",   "STATE",     "ATTEMPTS",
		                                    "CREATED", "SENT", "LAST ERROR"};
		static const bool right[] = {true, false, false, true, false, false, false};
		pd_table t;
		pd_table_init(&t, 7, heads, right);
		for (size_t i = 0; i < n; i++) {
			char id[24], att[16], cr[32], se[32], state[64];
			outcome_text(&v[i], state);
			snprintf(id, sizeof id, "%lld", (long long)v[i].id);
			snprintf(att, sizeof att, "%d", v[i].attempts);
			pd_fmt_time(v[i].created_at, cr);
			pd_fmt_time(v[i].sent_at, se);
			const char *cells[7] = {
			    id, v[i].to_addr, state, att, cr,
			    se, v[i].last_error};
			pd_table_row(&t, cells);
		}
		pd_table_print(&t, stdout);
		pd_table_free(&t);
	} else
		fprintf(stderr, "the outbox is empty\n");
	pd_outboxes_free(v, n);
	return 0;
}

/* Deliver the due messages through [smtp]. */
static int deliver(pd_cli *c, int retried)
{
	pd_err e;
	pd_err_clear(&e);
	pd_smtp_opts o;
	pd_smtp_opts_init(&o);
	char *pw = NULL;
	if (pd_smtp_opts_from_config(&c->cfg, &o, &pw, &e) != PD_OK)
		return pd_cli_fail(c, &e);
	pd_outbox_report r;
	memset(&r, 0, sizeof r);
	pd_status st = pd_outbox_deliver_due(c->store, &o, pd_now(), 0, &r, &e);
	if (pw) {
		memset(pw, 0, strlen(pw));
		free(pw);
	}
	if (st != PD_OK)
		return pd_cli_fail(c, &e);
	int rc = 0;
	if (r.not_configured)
		rc = pd_cli_failf(c, PD_E_UNAVAILABLE, "smtp.url",
		                  "no SMTP server configured ([smtp] url); the invitations wait in "
		                  "the outbox");
	else if (r.busy_elsewhere)
		rc = pd_cli_failf(c, PD_E_TEMPFAIL, NULL,
		                  "another provdesk process is delivering this outbox; try later");
	else if (r.server_status != PD_OK)
		rc = pd_cli_failf(c, r.server_status, "smtp", "%s", r.server_error);
	if (rc)
		return rc;
	/* A refusal for good needs a person (fix the address, then retry):
	 * it wins over "try later", which the worker does by itself. */
	pd_status outcome = r.failed ? PD_E_INVALID : r.retry_later ? PD_E_TEMPFAIL : PD_OK;
	if (c->json) {
		json_t *o2 = json_object();
		if (retried >= 0)
			json_object_set_new(o2, "requeued", json_integer(retried));
		json_object_set_new(o2, "attempted", json_integer(r.attempted));
		json_object_set_new(o2, "sent", json_integer(r.sent));
		json_object_set_new(o2, "retry_later", json_integer(r.retry_later));
		json_object_set_new(o2, "failed", json_integer(r.failed));
		json_object_set_new(o2, "cancelled", json_integer(r.cancelled));
		json_object_set_new(o2, "failed_error",
		                    r.failed ? json_string(r.failed_error) : json_null());
		json_object_set_new(o2, "retry_error",
		                    r.retry_later ? json_string(r.retry_error) : json_null());
		pd_cli_print_json(c, o2);
	} else {
		printf("%d sent, %d to retry later, %d failed for good", r.sent, r.retry_later,
		       r.failed);
		if (r.cancelled)
			printf(", %d cancelled (user removed)", r.cancelled);
		printf("\n");
	}
	if (r.failed)
		fprintf(stderr,
		        "provdesk: %d invitation%s refused for good by the SMTP server, not retried "
		        "(%s); correct the address, then 'provdesk outbox retry ID'\n",
		        r.failed, r.failed == 1 ? "" : "s", r.failed_error);
	if (r.retry_later)
		fprintf(stderr,
		        "provdesk: %d invitation%s waiting for a retry, sent later by itself (%s)\n",
		        r.retry_later, r.retry_later == 1 ? "" : "s", r.retry_error);
	return pd_status_exit_code(outcome);
}

static int outbox_retry(pd_cli *c, int argc, char **argv)
{
	bool all = false, send = false;
	const pd_opt opts[] = {
	    {"all", PD_OPT_FLAG, NULL, &all},
	    {"send", PD_OPT_FLAG, NULL, &send},
	    {NULL, 0, NULL, NULL},
	};
	const char *pos[1] = {NULL};
	int np = 0;
	int rc = pd_cli_parse(c, "outbox retry", argc, argv, opts, pos, 0, 1, &np, help_outbox);
	if (rc != PD_CLI_CONTINUE)
		return rc;
	if (np && all)
		return pd_cli_usage(c, "outbox retry: give an ID or --all, not both");
	if (!np && !all)
		return pd_cli_usage(c, "outbox retry: give a message ID or --all");
	long id = 0;
	if (np && !pd_cli_int(c, "ID", pos[0], 1, LONG_MAX, &id))
		return 64;
	pd_err e;
	pd_err_clear(&e);
	pd_store *s = pd_cli_store(c, &e);
	if (!s)
		return pd_cli_fail(c, &e);
	int count = 0;
	if (store_outbox_retry(s, id, &c->actor, &count, &e) != PD_OK)
		return pd_cli_fail(c, &e);
	if (!c->json)
		printf("%d message%s queued again.\n", count, count == 1 ? "" : "s");
	if (send)
		return deliver(c, count); /* its JSON counts the requeued ones */
	if (c->json) {
		json_t *o = json_object();
		json_object_set_new(o, "requeued", json_integer(count));
		pd_cli_print_json(c, o);
	}
	return 0;
}

static int outbox_send(pd_cli *c, int argc, char **argv)
{
	int rc = pd_cli_parse(c, "outbox send", argc, argv, NULL, NULL, 0, 0, NULL, help_outbox);
	if (rc != PD_CLI_CONTINUE)
		return rc;
	pd_err e;
	pd_err_clear(&e);
	if (!pd_cli_store(c, &e))
		return pd_cli_fail(c, &e);
	return deliver(c, -1);
}

const pd_subcmd pd_cli_outbox_subs[] = {
    {"list", outbox_list},
    {"retry", outbox_retry},
    {"send", outbox_send},
    {NULL, NULL},
};

int pd_cli_outbox_cmd(pd_cli *c, int argc, char **argv)
{
	return pd_cli_group(c, "outbox", pd_cli_outbox_subs, argc, argv, help_outbox);
}

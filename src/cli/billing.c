/* provdesk billing export --period YYYY-MM [--format csv|json] [--output FILE]
 * (docs/provdesk.1, Billing). The lines are computed by core/store; this file only writes
 * them. --output is written to a temporary file renamed at the end, so a
 * failed export never leaves a truncated file behind. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_internal.h"
#include "csv.h"
#include "provdesk/util.h"

static const char help_billing[] =
    "Usage: provdesk billing export --period YYYY-MM [--format csv|json] [--output FILE]\n"
    "Bills the month day by day from what was in force each day (product type, trial,\n"
    "internal flag, creation, deletion), so a later change never re-prices a past month.\n"
    "One line per customer and product type in force: billing id (reference, else\n"
    "tenant id), customer name, product type, licensed users, active days, unit price,\n"
    "amount (pro rata of the billed days), flags (\"internal / zero-rated\", \"trial\",\n"
    "\"disabled\", each with its dates when it covers part of the line; \"deleted DATE\"),\n"
    "and the line's first day, last day and billed days. Trial and internal days are\n"
    "zero-rated; a converted trial is billed from its conversion day.\n"
    "  --format csv   RFC 4180 CSV, UTF-8, CRLF line ends (default); a text cell that\n"
    "                 starts with = + - @, tab or CR gets a leading ' (no formulas)\n"
    "  --format json  one JSON document, values exact (also --json)\n"
    "  --output FILE  write to FILE (atomically) instead of standard output\n";

typedef struct {
	pd_cli *c;
	FILE *out;
	bool json;
	json_t *lines;
	json_t *totals; /* currency -> cents */
	char period[8];
	size_t n;
	pd_progress prog;
} export_ctx;

/* snprintf is a third of an export's CPU at 100,000 lines: the numbers
 * are written by hand (same text as "%lld" and pd_fmt_money). */
static void fmt_int(int64_t v, char out[24])
{
	char tmp[24];
	int n = 0;
	uint64_t a = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	do
		tmp[n++] = (char)('0' + a % 10);
	while ((a /= 10) && n < 23);
	int o = 0;
	if (v < 0)
		out[o++] = '-';
	while (n)
		out[o++] = tmp[--n];
	out[o] = 0;
}

static void fmt_money(int64_t cents, char out[32])
{
	uint64_t a = cents < 0 ? 0 - (uint64_t)cents : (uint64_t)cents;
	char *p = out;
	if (cents < 0)
		*p++ = '-';
	fmt_int((int64_t)(a / 100), p);
	p += strlen(p);
	*p++ = '.';
	*p++ = (char)('0' + a % 100 / 10);
	*p++ = (char)('0' + a % 10);
	*p = 0;
}

static pd_status write_line(const pd_billing_line *l, void *vctx, pd_err *e)
{
	export_ctx *x = vctx;
	const char *cur = l->currency ? l->currency : "";
	char d1[11], d2[11];
	pd_day_format(l->first_day, d1);
	pd_day_format(l->last_day, d2);
	char price[32], amount[32];
	fmt_money(l->unit_price_cents, price);
	fmt_money(l->amount_cents, amount);
	x->n++;
	pd_progress_set(&x->prog, x->n);
	json_t *tot = json_object_get(x->totals, cur);
	json_object_set_new(x->totals, cur,
	                    json_integer((tot ? json_integer_value(tot) : 0) + l->amount_cents));
	if (x->json) {
		json_t *o = json_object();
		json_object_set_new(o, "billing_id", pd_json_str(l->billing_id));
		json_object_set_new(o, "customer_name", pd_json_str(l->customer_name));
		json_object_set_new(o, "product_type", pd_json_str(l->product_type));
		json_object_set_new(o, "licensed_users", json_integer(l->licensed_users));
		json_object_set_new(o, "active_days", json_integer(l->active_days));
		json_object_set_new(o, "period_days", json_integer(l->period_days));
		json_object_set_new(o, "unit_price", json_string(price));
		json_object_set_new(o, "amount", json_string(amount));
		json_object_set_new(o, "currency", json_string(cur));
		json_object_set_new(o, "first_day", json_string(d1));
		json_object_set_new(o, "last_day", json_string(d2));
		json_object_set_new(o, "billed_days", json_integer(l->billed_days));
		json_t *flags = json_array();
		/* "a; b" -> ["a", "b"] */
		for (const char *p = l->flags ? l->flags : ""; *p;) {
			const char *sep = strstr(p, "; ");
			size_t n = sep ? (size_t)(sep - p) : strlen(p);
			if (n)
				json_array_append_new(flags, json_stringn(p, n));
			p += n + (sep ? 2 : 0);
		}
		json_object_set_new(o, "flags", flags);
		json_array_append_new(x->lines, o);
		return PD_OK;
	}
	char users[24], ad[24], pdays[24], bd[24];
	fmt_int(l->licensed_users, users);
	fmt_int(l->active_days, ad);
	fmt_int(l->period_days, pdays);
	fmt_int(l->billed_days, bd);
	/* New columns go after the old ones: scripts read them by position. */
	const char *cells[] = {x->period,
	                       l->billing_id,
	                       l->customer_name,
	                       l->product_type,
	                       users,
	                       ad,
	                       pdays,
	                       price,
	                       amount,
	                       cur,
	                       l->flags,
	                       d1,
	                       d2,
	                       bd};
	pd_csv_write_row(x->out, cells, sizeof cells / sizeof cells[0]);
	if (ferror(x->out))
		return pd_fail(e, PD_E_CANTCREATE, "output", "write error: %s", strerror(errno));
	return PD_OK;
}

static int cmd_export(pd_cli *c, int argc, char **argv)
{
	const char *period = NULL, *format = NULL, *output = NULL;
	const pd_opt opts[] = {
	    {"period", PD_OPT_VAL, &period, NULL},
	    {"format", PD_OPT_VAL, &format, NULL},
	    {"output", PD_OPT_VAL, &output, NULL},
	    {NULL, 0, NULL, NULL},
	};
	int rc =
	    pd_cli_parse(c, "billing export", argc, argv, opts, NULL, 0, 0, NULL, help_billing);
	if (rc != PD_CLI_CONTINUE)
		return rc;
	if (!period)
		return pd_cli_usage_field(c, "period", "billing export: missing --period YYYY-MM");
	pd_day first;
	int ndays;
	if (!pd_period_parse(period, &first, &ndays))
		return pd_cli_usage_field(
		    c, "period",
		    "--period: expected a month as YYYY-MM (e.g. 2026-11), got "
		    "'%s'",
		    period);
	bool json = c->json;
	if (format) {
		if (strcmp(format, "json") == 0)
			json = true;
		else if (strcmp(format, "csv") == 0) {
			if (c->json)
				return pd_cli_usage_field(c, "format",
				                          "billing export: --json and --format csv "
				                          "conflict");
			json = false;
		} else
			return pd_cli_usage_field(
			    c, "format", "--format: expected csv or json, got '%s'", format);
	}
	if (output && !*output)
		return pd_cli_usage_field(c, "output", "--output: empty file name");
	pd_err e;
	pd_err_clear(&e);
	pd_store *s = pd_cli_store(c, &e);
	if (!s)
		return pd_cli_fail(c, &e);
	export_ctx x = {.c = c, .out = stdout, .json = json};
	snprintf(x.period, sizeof x.period, "%.7s", period);
	x.lines = json_array();
	x.totals = json_object();
	char *tmp = NULL;
	if (output) {
		tmp = xasprintf("%s.tmp.XXXXXX", output);
		int fd = mkstemp(tmp);
		if (fd >= 0) {
			/* mkstemp makes 0600; an export is an ordinary file */
			mode_t um = umask(0);
			umask(um);
			if (fchmod(fd, 0666 & ~um) != 0) {
				/* keeps 0600: stricter, still usable */
			}
		}
		if (fd < 0 || !(x.out = fdopen(fd, "w"))) {
			int err = errno;
			if (fd >= 0)
				close(fd);
			free(tmp);
			json_decref(x.lines);
			json_decref(x.totals);
			return pd_cli_failf(c, PD_E_CANTCREATE, "output", "cannot create %s: %s",
			                    output, strerror(err));
		}
	}
	if (!json) {
		static const char *const heads[] = {
		    "period",      "billing_id",  "customer_name", "product_type", "licensed_users",
		    "active_days", "period_days", "unit_price",    "amount",       "currency",
		    "flags",       "first_day",   "last_day",      "billed_days"};
		pd_csv_write_row(x.out, heads, sizeof heads / sizeof heads[0]);
	}
	pd_progress_begin(&x.prog, c, "billing export", "lines");
	if (x.out == stdout && isatty(STDOUT_FILENO))
		x.prog.on = false; /* the lines themselves go to this terminal */
	pd_progress_phase(&x.prog, "", 0);
	pd_status st = store_billing_export(s, first, ndays, write_line, &x, &e);
	pd_progress_end(&x.prog);
	if (st == PD_OK && json) {
		json_t *doc = json_object();
		char d1[11], d2[11];
		pd_day_format(first, d1);
		pd_day_format(first + ndays - 1, d2);
		json_object_set_new(doc, "period", json_string(x.period));
		json_object_set_new(doc, "first_day", json_string(d1));
		json_object_set_new(doc, "last_day", json_string(d2));
		json_object_set_new(doc, "count", json_integer((json_int_t)x.n));
		json_t *tot = json_object();
		const char *k;
		json_t *v;
		json_object_foreach(x.totals, k, v)
		{
			char m[32];
			pd_fmt_money(json_integer_value(v), m);
			json_object_set_new(tot, k, json_string(m));
		}
		json_object_set_new(doc, "totals", tot);
		json_object_set(doc, "lines", x.lines);
		json_dumpf(doc, x.out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', x.out);
		json_decref(doc);
	}
	json_decref(x.lines);
	json_decref(x.totals);
	if (output) {
		bool bad = fflush(x.out) != 0 || ferror(x.out) || fsync(fileno(x.out)) != 0;
		int err = errno;
		bad |= fclose(x.out) != 0;
		if (st == PD_OK && bad)
			st = pd_fail(&e, PD_E_CANTCREATE, "output", "cannot write %s: %s", output,
			             strerror(err));
		if (st == PD_OK && rename(tmp, output) != 0)
			st = pd_fail(&e, PD_E_CANTCREATE, "output", "cannot create %s: %s", output,
			             strerror(errno));
		if (st != PD_OK)
			unlink(tmp);
		free(tmp);
	}
	if (st != PD_OK)
		return pd_cli_fail(c, &e);
	if (output && !c->json)
		fprintf(stderr, "%zu billing line%s written to %s\n", x.n, x.n == 1 ? "" : "s",
		        output);
	return 0;
}

const pd_subcmd pd_cli_billing_subs[] = {{"export", cmd_export}, {NULL, NULL}};

int pd_cli_billing_cmd(pd_cli *c, int argc, char **argv)
{
	return pd_cli_group(c, "billing", pd_cli_billing_subs, argc, argv, help_billing);
}

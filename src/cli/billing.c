/* provdesk billing export --period YYYY-MM [--format csv|json] [--locale-format]
 * [--output FILE]
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
#include "provdesk/i18n.h"
#include "provdesk/util.h"

static const char help_billing[] =
    N_("Usage: provdesk billing export --period YYYY-MM [--format csv|json] [--locale-format]\n"
       "         [--output FILE]\n"
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
       "  --locale-format  CSV for people: unit price and amount written as each\n"
       "                 customer's locale writes them (1 234,50 for fr_FR, 1,234.50\n"
       "                 for en_GB); without it, 1234.50 for every customer\n"
       "  --output FILE  write to FILE (atomically) instead of standard output\n");

typedef struct {
	pd_billing_writer w;
	pd_progress prog;
} export_ctx;

static pd_status write_line(const pd_billing_line *l, void *vctx, pd_err *e)
{
	export_ctx *x = vctx;
	pd_status st = pd_billing_writer_line(l, &x->w, e);
	pd_progress_set(&x->prog, x->w.n);
	return st;
}

static int cmd_export(pd_cli *c, int argc, char **argv)
{
	const char *period = NULL, *format = NULL, *output = NULL;
	bool locale_format = false;
	const pd_opt opts[] = {
	    {"period", PD_OPT_VAL, &period, NULL},
	    {"locale-format", PD_OPT_FLAG, NULL, &locale_format},
	    {"format", PD_OPT_VAL, &format, NULL},
	    {"output", PD_OPT_VAL, &output, NULL},
	    {NULL, 0, NULL, NULL},
	};
	int rc =
	    pd_cli_parse(c, "billing export", argc, argv, opts, NULL, 0, 0, NULL, help_billing);
	if (rc != PD_CLI_CONTINUE)
		return rc;
	if (!period)
		return pd_cli_usage_field(c, "period",
		                          _("billing export: missing --period YYYY-MM"));
	pd_day first;
	int ndays;
	if (!pd_period_parse(period, &first, &ndays))
		return pd_cli_usage_field(
		    c, "period",
		    _("--period: expected a month as YYYY-MM (e.g. 2026-11), got "
		      "'%s'"),
		    period);
	bool json = c->json;
	if (format) {
		if (strcmp(format, "json") == 0)
			json = true;
		else if (strcmp(format, "csv") == 0) {
			if (c->json)
				return pd_cli_usage_field(
				    c, "format",
				    _("billing export: --json and --format csv "
				      "conflict"));
			json = false;
		} else
			return pd_cli_usage_field(
			    c, "format", _("--format: expected csv or json, got '%s'"), format);
	}
	if (output && !*output)
		return pd_cli_usage_field(c, "output", _("--output: empty file name"));
	if (locale_format && json)
		return pd_cli_usage_field(
		    c, "locale_format",
		    _("billing export: --locale-format is for CSV; JSON values "
		      "stay exact"));
	pd_err e;
	pd_err_clear(&e);
	pd_store *s = pd_cli_store(c, &e);
	if (!s)
		return pd_cli_fail(c, &e);
	export_ctx x;
	memset(&x, 0, sizeof x);
	FILE *out = stdout;
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
		if (fd < 0 || !(out = fdopen(fd, "w"))) {
			int err = errno;
			if (fd >= 0)
				close(fd);
			free(tmp);
			return pd_cli_failf(c, PD_E_CANTCREATE, "output", _("cannot create %s: %s"),
			                    output, strerror(err));
		}
	}
	pd_billing_writer_begin(&x.w, out, json, period);
	x.w.locale_format = locale_format;
	pd_progress_begin(&x.prog, c, "billing export", "lines");
	if (out == stdout && isatty(STDOUT_FILENO))
		x.prog.on = false; /* the lines themselves go to this terminal */
	pd_progress_phase(&x.prog, "", 0);
	pd_status st = store_billing_export(s, first, ndays, write_line, &x, &e);
	pd_progress_end(&x.prog);
	if (st == PD_OK)
		pd_billing_writer_end(&x.w, first, ndays);
	pd_billing_writer_free(&x.w);
	if (output) {
		bool bad = fflush(out) != 0 || ferror(out) || fsync(fileno(out)) != 0;
		int err = errno;
		bad |= fclose(out) != 0;
		if (st == PD_OK && bad)
			st = pd_fail(&e, PD_E_CANTCREATE, "output", _("cannot write %s: %s"),
			             output, strerror(err));
		if (st == PD_OK && rename(tmp, output) != 0)
			st = pd_fail(&e, PD_E_CANTCREATE, "output", _("cannot create %s: %s"),
			             output, strerror(errno));
		if (st != PD_OK)
			unlink(tmp);
		free(tmp);
	}
	if (st != PD_OK)
		return pd_cli_fail(c, &e);
	if (output && !c->json)
		fprintf(stderr, _("%zu billing line%s written to %s\n"), x.w.n,
		        x.w.n == 1 ? "" : "s", output);
	return 0;
}

const pd_subcmd pd_cli_billing_subs[] = {{"export", cmd_export}, {NULL, NULL}};

int pd_cli_billing_cmd(pd_cli *c, int argc, char **argv)
{
	return pd_cli_group(c, "billing", pd_cli_billing_subs, argc, argv, help_billing);
}

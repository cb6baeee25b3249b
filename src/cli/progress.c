/* Progress of long work on a terminal (import, billing export, pbx resync):
 * one line on standard error, redrawn at most 10 times a second —
 * "importing: checking 12,345/100,000 rows  12%  8,120/s  0:11 left" — and
 * cleared at the end. Silent when standard error is not a terminal or with
 * --json, so logs and scripts never see it. It writes to the file
 * descriptor itself: the line is our own text (a label and numbers), and
 * its carriage return must reach the terminal, which the sanitising
 * standard error stream (term.c) would show as an escape. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli_internal.h"
#include "provdesk/i18n.h"
#include "provdesk/live.h"

/* 12345 -> "12,345" */
static void grouped(uint64_t v, char out[32])
{
	char tmp[32];
	int n = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
	int o = 0;
	for (int i = 0; i < n; i++) {
		if (i && (n - i) % 3 == 0)
			out[o++] = ',';
		out[o++] = tmp[i];
	}
	out[o] = 0;
}

void pd_progress_begin(pd_progress *p, const pd_cli *c, const char *label, const char *unit)
{
	memset(p, 0, sizeof *p);
	p->on = !c->json && isatty(STDERR_FILENO);
	snprintf(p->label, sizeof p->label, "%s", label);
	snprintf(p->unit, sizeof p->unit, "%s", unit);
	p->start_ms = p->phase_ms = pd_live_now_ms();
	p->last_ms = -1000;
}

void pd_progress_phase(pd_progress *p, const char *phase, uint64_t total)
{
	snprintf(p->phase, sizeof p->phase, "%s", phase);
	p->total = total;
	p->phase_ms = pd_live_now_ms();
	p->last_ms = -1000;
	pd_progress_set(p, 0);
}

static void draw(pd_progress *p, uint64_t done, int64_t now)
{
	char line[200], d[32], t[32];
	grouped(done, d);
	int n = snprintf(line, sizeof line, "\r%s: %s%s%s", p->label, p->phase,
	                 p->phase[0] ? " " : "", d);
	if (p->total) {
		grouped(p->total, t);
		n += snprintf(line + n, sizeof line - (size_t)n, "/%s %s  %3d%%", t, p->unit,
		              (int)(done * 100 / p->total));
	} else
		n += snprintf(line + n, sizeof line - (size_t)n, " %s", p->unit);
	double secs = (double)(now - p->phase_ms) / 1000.0;
	if (secs >= 0.5 && done) {
		double rate = (double)done / secs;
		char r[32];
		grouped((uint64_t)rate, r);
		n += snprintf(line + n, sizeof line - (size_t)n, "  %s/s", r);
		if (p->total > done && rate > 0) {
			long left = (long)((double)(p->total - done) / rate + 0.5);
			n += snprintf(line + n, sizeof line - (size_t)n, _("  %ld:%02ld left"),
			              left / 60, left % 60);
		}
	}
	/* clear what a longer line before left */
	n += snprintf(line + n, sizeof line - (size_t)n, "\033[K");
	(void)pd_cli_write_all(STDERR_FILENO, line,
	                       (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
	p->drawn = true;
}

void pd_progress_set(pd_progress *p, uint64_t done)
{
	if (!p->on)
		return;
	int64_t now = pd_live_now_ms();
	if (now - p->last_ms < 100 && (!p->total || done < p->total))
		return;
	p->last_ms = now;
	draw(p, done, now);
}

void pd_progress_end(pd_progress *p)
{
	if (p->on && p->drawn)
		(void)pd_cli_write_all(STDERR_FILENO, "\r\033[K", 4);
	p->on = false;
}

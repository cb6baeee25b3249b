/* Output helpers: aligned tables measured in terminal cells (UTF-8 names such
 * as "Société Générale" line up), and the JSON form of every entity with the
 * snake_case names of include/provdesk/model.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_internal.h"
#include "provdesk/i18n.h"
#include "provdesk/live.h"
#include "provdesk/util.h"

void pd_table_init(pd_table *t, size_t ncols, const char *const *heads, const bool *right)
{
	memset(t, 0, sizeof *t);
	t->ncols = ncols;
	t->heads = xcalloc(ncols, sizeof *t->heads);
	t->right = xcalloc(ncols, sizeof *t->right);
	for (size_t i = 0; i < ncols; i++) {
		t->heads[i] = _(heads[i]); /* N_() in the callers' tables */
		t->right[i] = right ? right[i] : false;
	}
}

/* A cell is one line of safe text: line breaks and tabs (notes) become
 * spaces, and every other control, direction override or invalid byte a
 * visible escape (pd_term_escape), whether the table goes to a terminal or
 * a file that is shown later. */
static char *clean_cell(const char *s)
{
	char *r = xstrdup(s ? s : "");
	for (char *p = r; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	pd_buf b = {0};
	pd_term_escape(&b, r, strlen(r), false);
	free(r);
	return b.s ? b.s : xstrdup("");
}

void pd_table_row(pd_table *t, const char *const *cells)
{
	if (t->nrows == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->cells = xrealloc(t->cells, t->cap * t->ncols * sizeof *t->cells);
	}
	for (size_t i = 0; i < t->ncols; i++)
		t->cells[t->nrows * t->ncols + i] = clean_cell(cells[i]);
	t->nrows++;
}

static void pad(FILE *out, int n)
{
	for (; n > 0; n--)
		fputc(' ', out);
}

void pd_table_print(const pd_table *t, FILE *out)
{
	int *w = xcalloc(t->ncols, sizeof *w);
	for (size_t i = 0; i < t->ncols; i++)
		w[i] = pd_utf8_width(t->heads[i]);
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t i = 0; i < t->ncols; i++) {
			int cw = pd_utf8_width(t->cells[r * t->ncols + i]);
			if (cw > w[i])
				w[i] = cw;
		}
	for (size_t r = 0; r <= t->nrows; r++) {
		for (size_t i = 0; i < t->ncols; i++) {
			const char *s = r == 0 ? t->heads[i] : t->cells[(r - 1) * t->ncols + i];
			int gap = w[i] - pd_utf8_width(s);
			bool last = i + 1 == t->ncols;
			if (t->right[i])
				pad(out, gap);
			fputs(s, out);
			if (!last) {
				if (!t->right[i])
					pad(out, gap);
				fputs("  ", out);
			}
		}
		fputc('\n', out);
	}
	free(w);
}

void pd_table_free(pd_table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->heads);
	free(t->right);
	memset(t, 0, sizeof *t);
}

/* The statuses' names as text mode shows them (pd_customer_status_name:
 * the same words, untranslated, in --json). */
static const char *const status_words[] = {N_("active"), N_("trial"), N_("trial-expired"),
                                           N_("disabled"), N_("deleted")};

void pd_cli_status_fmt(pd_customer_status st, int days_left, char *out, size_t n)
{
	(void)status_words;
	if (st == PD_CS_TRIAL)
		snprintf(out, n, P_("trial (%d day left)", "trial (%d days left)", days_left),
		         days_left);
	else
		snprintf(out, n, "%s", _(pd_customer_status_name(st)));
}

void pd_cli_status_text(const pd_customer *c, pd_day today, char *out, size_t n)
{
	pd_customer_status st = pd_customer_status_of(c, today);
	pd_cli_status_fmt(st, st == PD_CS_TRIAL ? pd_customer_trial_days_left(c, today) : 0, out,
	                  n);
}

void pd_table_users(pd_table *t, const pd_catalogue *cat, const pd_user *u, size_t n, bool device)
{
	static const char *const heads[] = {N_("ID"),        N_("NAME"),  N_("EMAIL"),
	                                    N_("EXTENSION"), N_("ROLE"),  N_("INVITATION"),
	                                    N_("SOURCE"),    N_("DEVICE")};
	static const bool right[] = {true, false, false, false, false, false, false, false};
	pd_table_init(t, device ? 8 : 7, heads, right);
	for (size_t i = 0; i < n; i++) {
		char id[24];
		snprintf(id, sizeof id, "#%lld", (long long)u[i].id);
		const pd_role *r = u[i].role ? pd_catalogue_role(cat, u[i].role) : NULL;
		const char *cells[8] = {
		    id,
		    u[i].display_name,
		    u[i].email,
		    u[i].extension ? u[i].extension : u[i].endpoint,
		    r ? pd_catalogue_text(r->name) : (u[i].role ? u[i].role : _("(none)")),
		    pd_invite_state_label(u[i].invite),
		    u[i].synced ? _("pbx") : (u[i].primary ? _("primary") : _("console")),
		    pd_device_state_label(u[i].device_state),
		};
		pd_table_row(t, cells);
	}
}

void pd_cli_users_free(pd_user *u, size_t n)
{
	for (size_t i = 0; i < n; i++)
		pd_user_free(&u[i]);
	free(u);
}

/* SPEC §7: one billing line per customer for a YYYY-MM period.
 *
 * Rules (documented here because scripts and accountants depend on them):
 * - active days = the days of the period from the creation day up to and
 *   INCLUDING the deletion day ("billed up to their deletion day"); a
 *   customer deleted before the period, or created after it, gets no line;
 * - amount = licensed users × unit price × billable days / days in period,
 *   rounded half up to the cent; billable days = active days, minus the days
 *   covered by a converted trial (flag "trial until YYYY-MM-DD");
 * - a trial that was not converted (running or expired) bills 0, flag "trial";
 * - an internal system bills 0, flag "internal / zero-rated";
 * - a disabled customer is still billed (the licences exist), flag "disabled";
 * - a deleted customer gets the flag "deleted YYYY-MM-DD". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provdesk/model.h"

static pd_day day_of(int64_t unix_seconds)
{
	int64_t d = unix_seconds / 86400;
	if (unix_seconds < 0 && unix_seconds % 86400)
		d--;
	return (pd_day)d;
}

static void flag(pd_buf *b, const char *f)
{
	if (b->len)
		pd_buf_add(b, "; ");
	pd_buf_add(b, f);
}

/* users × price × days / ndays, half up, without overflow for any sane input. */
static int64_t pro_rata(int64_t users, int64_t price, int days, int ndays)
{
	if (users <= 0 || price <= 0 || days <= 0 || ndays <= 0)
		return 0;
	__int128 num = (__int128)users * price * days;
	__int128 r = (2 * num + ndays) / (2 * (__int128)ndays);
	return r > INT64_MAX ? INT64_MAX : (int64_t)r;
}

bool pd_billing_line_for(const pd_catalogue *cat, const pd_customer *c, int64_t licensed_users,
                         pd_day period_first, int period_days, pd_billing_line *out)
{
	memset(out, 0, sizeof *out);
	if (period_days <= 0)
		return false;
	pd_day last = period_first + period_days - 1;
	pd_day start = period_first, end = last;
	if (c->created_at) {
		pd_day cd = day_of(c->created_at);
		if (cd > start)
			start = cd;
	}
	pd_day deleted = -1;
	if (c->deleted_at) {
		deleted = day_of(c->deleted_at);
		if (deleted < end)
			end = deleted;
	}
	if (end < start)
		return false;
	int active = (int)(end - start + 1);
	int billable = active;

	const pd_product_type *p = pd_catalogue_product(cat, c->product_type);
	pd_buf flags = {0};
	if (c->internal_system) {
		billable = 0;
		flag(&flags, "internal / zero-rated");
	}
	if (c->trial && !c->trial_converted) {
		billable = 0;
		flag(&flags, "trial");
	} else if (c->trial && c->trial_converted) {
		pd_day ts = c->trial_start > start ? c->trial_start : start;
		pd_day te = c->trial_end < end ? c->trial_end : end;
		if (te >= ts) {
			if (billable > 0)
				billable -= (int)(te - ts + 1);
			char d[11], f[32];
			pd_day_format(c->trial_end, d);
			snprintf(f, sizeof f, "trial until %s", d);
			flag(&flags, f);
		}
	}
	if (c->disabled)
		flag(&flags, "disabled");
	if (deleted >= 0) {
		char d[11], f[32];
		pd_day_format(deleted, d);
		snprintf(f, sizeof f, "deleted %s", d);
		flag(&flags, f);
	}
	if (!p)
		flag(&flags, "unknown product type");

	out->billing_id = xstrdup(pd_customer_billing_id(c));
	out->customer_name = xstrdup(c->name ? c->name : "");
	out->product_type = xstrdup(c->product_type ? c->product_type : "");
	out->licensed_users = licensed_users < 0 ? 0 : licensed_users;
	out->active_days = active;
	out->period_days = period_days;
	out->unit_price_cents = p ? p->price_cents : 0;
	out->amount_cents = pro_rata(out->licensed_users, out->unit_price_cents,
	                             billable < 0 ? 0 : billable, period_days);
	out->flags = pd_buf_steal(&flags);
	return true;
}

void pd_billing_line_free(pd_billing_line *l)
{
	if (!l)
		return;
	free(l->billing_id);
	free(l->customer_name);
	free(l->product_type);
	free(l->flags);
	l->billing_id = l->customer_name = l->product_type = l->flags = NULL;
}

/* Billing lines (docs/user-guide.md, Billing export) for a YYYY-MM period, day by day from a
 * customer's effective-dated history (the rules are listed with
 * pd_billing_lines_for in include/provdesk/model.h; scripts and
 * accountants depend on them). Pure: the store reads the history, the
 * command line writes the lines. */
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

/* Days of [from, to] (indexes into the period) where want[i] holds, as
 * "flag" when all of them, else "flag D1 to D2, D3 to D4". */
static void range_flag(pd_buf *flags, const char *name, const bool *want, int from, int to,
                       pd_day first)
{
	int n = 0;
	for (int i = from; i <= to; i++)
		n += want[i];
	if (!n)
		return;
	if (n == to - from + 1) {
		flag(flags, name);
		return;
	}
	pd_buf f = {0};
	pd_buf_add(&f, name);
	bool firstr = true;
	for (int i = from; i <= to; i++) {
		if (!want[i])
			continue;
		int j = i;
		while (j < to && want[j + 1])
			j++;
		char d1[11], d2[11];
		pd_day_format(first + i, d1);
		pd_day_format(first + j, d2);
		pd_buf_printf(&f, "%s%s to %s", firstr ? " " : ", ", d1, d2);
		firstr = false;
		i = j;
	}
	flag(flags, f.s);
	pd_buf_free(&f);
}

#define PD_BILLING_MAX_DAYS 366

/* The day a history row takes effect: its own, or its predecessor's when
 * it is timed before it. */
static pd_day eff_day(const pd_billing_state *h, int64_t last_at)
{
	return day_of(h->at > last_at ? h->at : last_at);
}

static void take(const pd_billing_state *h, size_t *j, long *cur, int64_t *last_at)
{
	if (h[*j].at > *last_at)
		*last_at = h[*j].at;
	*cur = (long)(*j)++;
}

pd_status pd_billing_lines_for(const pd_catalogue *cat, const pd_customer *c,
                               int64_t licensed_users, const pd_billing_state *h, size_t nh,
                               pd_day period_first, int period_days, pd_billing_line_fn fn,
                               void *ctx, pd_err *e)
{
	if (period_days <= 0 || period_days > PD_BILLING_MAX_DAYS)
		return pd_fail(e, PD_E_INVALID, "period",
		               "a billing period has 1 to %d days (got %d)", PD_BILLING_MAX_DAYS,
		               period_days);
	/* The state billed on each day (-1: none) and whether the day ended
	 * with the customer deleted. */
	int st[PD_BILLING_MAX_DAYS];
	bool ends_deleted[PD_BILLING_MAX_DAYS];
	size_t j = 0;
	long cur = -1;
	/* A row timed before the one it follows (a clock set back) takes
	 * effect with it, so the last row is always the state in force. */
	int64_t last_at = INT64_MIN;
	while (j < nh && eff_day(&h[j], last_at) < period_first)
		take(h, &j, &cur, &last_at);
	for (int i = 0; i < period_days; i++) {
		pd_day d = period_first + i;
		long cand = cur >= 0 && !h[cur].deleted ? cur : -1;
		while (j < nh && eff_day(&h[j], last_at) <= d) {
			take(h, &j, &cur, &last_at);
			if (!h[cur].deleted)
				cand = cur;
		}
		st[i] = (int)cand;
		ends_deleted[i] = cur >= 0 && h[cur].deleted;
	}
	bool internal[PD_BILLING_MAX_DAYS], trial[PD_BILLING_MAX_DAYS],
	    disabled[PD_BILLING_MAX_DAYS];
	for (int i = 0; i < period_days; i++) {
		const pd_billing_state *s = st[i] >= 0 ? &h[st[i]] : NULL;
		internal[i] = s && s->internal_system;
		trial[i] = s && s->trial && !s->trial_converted;
		disabled[i] = s && s->disabled;
	}
	int64_t users = licensed_users < 0 ? 0 : licensed_users;
	const char *billing_id = pd_customer_billing_id(c);
	for (int i = 0; i < period_days;) {
		if (st[i] < 0) {
			i++;
			continue;
		}
		const char *pt = h[st[i]].product_type ? h[st[i]].product_type : "";
		int k = i;
		while (
		    k + 1 < period_days && st[k + 1] >= 0 &&
		    (st[k + 1] == st[k] ||
		     strcmp(h[st[k + 1]].product_type ? h[st[k + 1]].product_type : "", pt) == 0))
			k++;
		int billed = 0;
		for (int d = i; d <= k; d++)
			billed += !internal[d] && !trial[d];
		const pd_product_type *p = pd_catalogue_product(cat, pt);
		const pd_billing_state *last = &h[st[k]];
		bool known = p || last->has_price;
		int64_t price = p ? p->price_cents : last->has_price ? last->price_cents : 0;
		const char *cur_s = p ? p->currency : last->has_price ? last->currency : NULL;

		pd_buf flags = {0};
		range_flag(&flags, "internal / zero-rated", internal, i, k, period_first);
		range_flag(&flags, "trial", trial, i, k, period_first);
		range_flag(&flags, "disabled", disabled, i, k, period_first);
		if (ends_deleted[k]) {
			char d[11], f[32];
			pd_day_format(period_first + k, d);
			snprintf(f, sizeof f, "deleted %s", d);
			flag(&flags, f);
		}
		if (!known)
			flag(&flags, "unknown product type");

		pd_billing_line l = {0};
		l.billing_id = billing_id;
		l.customer_name = c->name ? c->name : "";
		l.product_type = pt;
		l.currency = cur_s ? cur_s : "";
		l.first_day = period_first + i;
		l.last_day = period_first + k;
		l.licensed_users = users;
		l.active_days = k - i + 1;
		l.billed_days = billed;
		l.period_days = period_days;
		l.unit_price_cents = price;
		l.amount_cents = pro_rata(users, price, billed, period_days);
		l.flags = flags.s ? flags.s : "";
		pd_status r = fn(&l, ctx, e);
		pd_buf_free(&flags);
		if (r != PD_OK)
			return r;
		i = k + 1;
	}
	return PD_OK;
}

/* Billing lines (docs/user-guide.md, Billing export) for a YYYY-MM period, day by day from a
 * customer's effective-dated history (the rules are listed with
 * pd_billing_lines_for in include/provdesk/model.h; scripts and
 * accountants depend on them). Pure: the store reads the history, the
 * command line writes the lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provdesk/catalogue.h"
#include "provdesk/i18n.h"
#include "provdesk/model.h"
#include "provdesk/util.h"

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

/* For each day of the period, the index of the timed row (`at` its first
 * member) in force at the end of that day, -1 before the first: rows in
 * the order they were written, one timed before its predecessor taking
 * effect with it. */
static void in_force(const void *base, size_t n, size_t size, pd_day first, int ndays, int *out)
{
	size_t j = 0;
	long cur = -1;
	int64_t last_at = INT64_MIN;
	for (int i = 0; i < ndays; i++) {
		while (j < n) {
			int64_t at;
			memcpy(&at, (const char *)base + j * size, sizeof at);
			if (at > last_at)
				last_at = at;
			else
				at = last_at;
			if (at >= ((int64_t)first + i + 1) * 86400)
				break;
			cur = (long)j++;
		}
		out[i] = (int)cur;
	}
}

/* The rows of product type pt in p (sorted by type): [*lo, *hi). */
static void price_range(const pd_billing_price *p, size_t np, const char *pt, size_t *lo,
                        size_t *hi)
{
	size_t a = 0, b = np;
	while (a < b) {
		size_t m = a + (b - a) / 2;
		if (strcmp(p[m].product_type ? p[m].product_type : "", pt) < 0)
			a = m + 1;
		else
			b = m;
	}
	*lo = a;
	while (b < np && !strcmp(p[b].product_type ? p[b].product_type : "", pt))
		b++;
	*hi = b < a ? a : b;
}

static bool same_price(const pd_billing_price *a, const pd_billing_price *b)
{
	if (!a || !b)
		return a == b;
	return a->price_cents == b->price_cents &&
	       !strcmp(a->currency ? a->currency : "", b->currency ? b->currency : "");
}

pd_status pd_billing_lines_dated(const pd_customer *c, const pd_billing_state *h, size_t nh,
                                 const pd_billing_users *u, size_t nu, const pd_billing_price *p,
                                 size_t np, pd_day period_first, int period_days,
                                 pd_billing_line_fn fn, void *ctx, pd_err *e)
{
	if (period_days <= 0 || period_days > PD_BILLING_MAX_DAYS)
		return pd_fail(e, PD_E_INVALID, "period",
		               _("a billing period has 1 to %d days (got %d)"), PD_BILLING_MAX_DAYS,
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
	/* The licensed users of each day. The first count also covers the days
	 * before it: it is written with the customer's creation, in the same
	 * transaction, and a running clock may have passed midnight since. */
	int ui[PD_BILLING_MAX_DAYS];
	int64_t users[PD_BILLING_MAX_DAYS];
	in_force(u, nu, sizeof *u, period_first, period_days, ui);
	for (int i = 0; i < period_days; i++) {
		int64_t n = ui[i] >= 0 ? u[ui[i]].users : nu ? u[0].users : 0;
		users[i] = n > 0 ? n : 0;
	}
	/* The price of each day, for its product type (NULL: none known). */
	const pd_billing_price *price[PD_BILLING_MAX_DAYS];
	int pi[PD_BILLING_MAX_DAYS];
	for (int i = 0; i < period_days;) {
		if (st[i] < 0) {
			price[i++] = NULL;
			continue;
		}
		const char *pt = h[st[i]].product_type ? h[st[i]].product_type : "";
		int k = i;
		while (k + 1 < period_days && st[k + 1] >= 0 &&
		       !strcmp(h[st[k + 1]].product_type ? h[st[k + 1]].product_type : "", pt))
			k++;
		size_t lo, hi;
		price_range(p, np, pt, &lo, &hi);
		in_force(p + lo, hi - lo, sizeof *p, period_first, period_days, pi);
		for (int d = i; d <= k; d++)
			price[d] = hi == lo ? NULL : &p[lo + (pi[d] >= 0 ? (size_t)pi[d] : 0)];
		i = k + 1;
	}
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
		     strcmp(h[st[k + 1]].product_type ? h[st[k + 1]].product_type : "", pt) == 0) &&
		    users[k + 1] == users[i] && same_price(price[k + 1], price[i]))
			k++;
		int billed = 0;
		for (int d = i; d <= k; d++)
			billed += !internal[d] && !trial[d];
		const pd_billing_price *pr = price[i];
		int64_t unit = pr ? pr->price_cents : 0;

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
		if (!pr)
			flag(&flags, _("unknown product type"));

		pd_billing_line l = {0};
		l.billing_id = billing_id;
		l.customer_name = c->name ? c->name : "";
		l.locale = c->locale;
		l.product_type = pt;
		l.currency = pr && pr->currency ? pr->currency : "";
		l.first_day = period_first + i;
		l.last_day = period_first + k;
		l.licensed_users = users[i];
		l.active_days = k - i + 1;
		l.billed_days = billed;
		l.period_days = period_days;
		l.unit_price_cents = unit;
		l.amount_cents = pro_rata(users[i], unit, billed, period_days);
		l.flags = flags.s ? flags.s : "";
		pd_status r = fn(&l, ctx, e);
		pd_buf_free(&flags);
		if (r != PD_OK)
			return r;
		i = k + 1;
	}
	return PD_OK;
}

static int price_cmp(const void *va, const void *vb)
{
	const pd_billing_price *a = va, *b = vb;
	return strcmp(a->product_type, b->product_type);
}

pd_status pd_billing_lines_for(const pd_catalogue *cat, const pd_customer *c,
                               int64_t licensed_users, const pd_billing_state *h, size_t nh,
                               pd_day period_first, int period_days, pd_billing_line_fn fn,
                               void *ctx, pd_err *e)
{
	pd_billing_users u = {INT64_MIN, licensed_users};
	size_t np = cat ? cat->n_types : 0;
	pd_billing_price *p = xcalloc(np ? np : 1, sizeof *p);
	for (size_t i = 0; i < np; i++) {
		p[i].at = INT64_MIN;
		p[i].product_type = cat->types[i].key ? cat->types[i].key : "";
		p[i].price_cents = cat->types[i].price_cents;
		p[i].currency = cat->types[i].currency;
	}
	qsort(p, np, sizeof *p, price_cmp);
	pd_status r =
	    pd_billing_lines_dated(c, h, nh, &u, 1, p, np, period_first, period_days, fn, ctx, e);
	free(p);
	return r;
}

/* Decimal mark and thousands separator by language, then the territories
 * that differ from their language (the conventions of glibc's locale data). */
static void number_marks(const char *locale, const char **dec, const char **grp)
{
	static const struct {
		const char *prefix, *dec, *grp;
	} marks[] = {
	    {"de_CH", ".", "\u2019"}, {"fr_CH", ".", "\u2019"}, {"it_CH", ".", "\u2019"},
	    {"de_LI", ".", "\u2019"}, {"pt_BR", ",", "."},      {"es_MX", ".", ","},
	    {"es_US", ".", ","},      {"fr_", ",", "\u202f"},   {"de_", ",", "."},
	    {"es_", ",", "."},        {"it_", ",", "."},        {"nl_", ",", "."},
	    {"pt_", ",", "\u00a0"},   {"da_", ",", "."},        {"sv_", ",", "\u00a0"},
	    {"fi_", ",", "\u00a0"},   {"nb_", ",", "\u00a0"},   {"pl_", ",", "\u00a0"},
	    {"cs_", ",", "\u00a0"},   {"ru_", ",", "\u00a0"},   {"tr_", ",", "."},
	    {"el_", ",", "."},
	};
	*dec = ".";
	*grp = ",";
	for (size_t i = 0; locale && i < sizeof marks / sizeof marks[0]; i++)
		if (!strncmp(locale, marks[i].prefix, strlen(marks[i].prefix))) {
			*dec = marks[i].dec;
			*grp = marks[i].grp;
			return;
		}
}

void pd_format_amount_locale(int64_t cents, const char *locale, char out[48])
{
	const char *dec, *grp;
	number_marks(locale, &dec, &grp);
	uint64_t a = cents < 0 ? 0 - (uint64_t)cents : (uint64_t)cents;
	char digits[24];
	snprintf(digits, sizeof digits, "%llu", (unsigned long long)(a / 100));
	size_t nd = strlen(digits), o = 0;
	if (cents < 0)
		out[o++] = '-';
	for (size_t i = 0; i < nd; i++) {
		if (i && (nd - i) % 3 == 0) {
			memcpy(out + o, grp, strlen(grp));
			o += strlen(grp);
		}
		out[o++] = digits[i];
	}
	memcpy(out + o, dec, strlen(dec));
	o += strlen(dec);
	out[o++] = (char)('0' + a % 100 / 10);
	out[o++] = (char)('0' + a % 10);
	out[o] = '\0';
}

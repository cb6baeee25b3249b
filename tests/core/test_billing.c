/* Billing lines (exact cents) and the invitation text. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#define PD_TEST_WITH_CATALOGUE
#include "helpers.h"
#include "provdesk/model.h"

TestSuite(billing, .init = cat_setup, .fini = cat_teardown);
TestSuite(invitation, .init = cat_setup, .fini = cat_teardown);

static pd_day day(const char *s)
{
	pd_day d;
	cr_assert(pd_day_parse(s, &d), "bad date in test: %s", s);
	return d;
}

/* Unix seconds at hh:00 UTC of a day. */
static int64_t at(const char *s, int hour)
{
	return (int64_t)day(s) * 86400 + hour * 3600;
}

static pd_customer cust(const char *product)
{
	pd_customer c = {0};
	strcpy(c.tenant_id, "0b7f3e1c-2a4d-4e5f-8a9b-112233445566");
	c.name = xstrdup("Acme Télécom");
	c.product_type = xstrdup(product);
	memcpy(c.country, "FR", 3);
	c.created_at = at("2025-06-01", 9);
	return c;
}

/* A history under construction: each change copies the last state. */
typedef struct {
	pd_billing_state v[16];
	size_t n;
} hist;

static pd_billing_state *hist_add(hist *h, int64_t when)
{
	cr_assert(h->n < 16);
	pd_billing_state *s = &h->v[h->n];
	if (h->n)
		*s = h->v[h->n - 1];
	s->at = when;
	h->n++;
	return s;
}

static hist created(const char *product, int64_t when)
{
	hist h = {0};
	hist_add(&h, when)->product_type = product;
	return h;
}

typedef struct {
	pd_billing_line v[16];
	size_t n;
} lines;

static pd_status collect(const pd_billing_line *l, void *ctx, pd_err *e)
{
	(void)e;
	lines *x = ctx;
	cr_assert(x->n < 16);
	pd_billing_line *d = &x->v[x->n++];
	*d = *l;
	d->billing_id = xstrdup(l->billing_id);
	d->customer_name = xstrdup(l->customer_name);
	d->product_type = xstrdup(l->product_type);
	d->currency = xstrdup(l->currency);
	d->flags = xstrdup(l->flags);
	return PD_OK;
}

static lines bill_on(const pd_catalogue *k, const pd_customer *c, int64_t users, const hist *h,
                     const char *period)
{
	pd_day first;
	int n;
	cr_assert(pd_period_parse(period, &first, &n));
	lines x = {0};
	pd_err e = {0};
	cr_assert_eq(pd_billing_lines_for(k, c, users, h->v, h->n, first, n, collect, &x, &e),
	             PD_OK, "%s", e.message);
	return x;
}

static lines bill(const pd_customer *c, int64_t users, const hist *h, const char *period)
{
	return bill_on(&cat, c, users, h, period);
}

static void lines_free(lines *x)
{
	for (size_t i = 0; i < x->n; i++) {
		pd_billing_line *l = &x->v[i];
		free((char *)l->billing_id);
		free((char *)l->customer_name);
		free((char *)l->product_type);
		free((char *)l->currency);
		free((char *)l->flags);
	}
	x->n = 0;
}

static void assert_days(const pd_billing_line *l, const char *d1, const char *d2)
{
	char a[11], b[11];
	pd_day_format(l->first_day, a);
	pd_day_format(l->last_day, b);
	cr_assert_str_eq(a, d1);
	cr_assert_str_eq(b, d2);
}

Test(billing, full_month)
{
	pd_customer c = cust("analytics-pro");
	hist h = created("analytics-pro", c.created_at);
	lines x = bill(&c, 10, &h, "2026-02");
	cr_assert_eq(x.n, 1);
	pd_billing_line *l = &x.v[0];
	cr_assert_str_eq(l->billing_id, c.tenant_id, "no reference: tenant id");
	cr_assert_str_eq(l->customer_name, "Acme Télécom");
	cr_assert_str_eq(l->product_type, "analytics-pro");
	cr_assert_str_eq(l->currency, "EUR");
	cr_assert_eq(l->licensed_users, 10);
	cr_assert_eq(l->active_days, 28);
	cr_assert_eq(l->billed_days, 28);
	cr_assert_eq(l->period_days, 28);
	assert_days(l, "2026-02-01", "2026-02-28");
	cr_assert_eq(l->unit_price_cents, 1900);
	cr_assert_eq(l->amount_cents, 19000);
	cr_assert_str_eq(l->flags, "");
	lines_free(&x);
	pd_customer_free(&c);
}

Test(billing, pro_rata_from_creation_day)
{
	pd_customer c = cust("analytics-pro");
	pd_set_str(&c.reference, "ERP-42");
	hist h = created("analytics-pro", at("2026-02-15", 23));
	lines x = bill(&c, 10, &h, "2026-02");
	cr_assert_eq(x.n, 1);
	cr_assert_str_eq(x.v[0].billing_id, "ERP-42");
	cr_assert_eq(x.v[0].active_days, 14);
	assert_days(&x.v[0], "2026-02-15", "2026-02-28");
	cr_assert_eq(x.v[0].amount_cents, 9500); /* 10 × 19.00 × 14/28 */
	lines_free(&x);
	/* Created after the period: no line. */
	x = bill(&c, 10, &h, "2026-01");
	cr_assert_eq(x.n, 0);
	pd_customer_free(&c);
}

Test(billing, rounds_half_up_to_the_cent)
{
	pd_customer c = cust("contact-centre");
	hist h = created("contact-centre", at("2026-03-11", 0));
	lines x = bill(&c, 3, &h, "2026-03");
	cr_assert_eq(x.v[0].active_days, 21);
	/* 3 × 3900 × 21 / 31 = 7925.806… -> 7926 */
	cr_assert_eq(x.v[0].amount_cents, 7926);
	lines_free(&x);
	x = bill(&c, 1, &h, "2026-03");
	/* 3900 × 21 / 31 = 2641.935… -> 2642 */
	cr_assert_eq(x.v[0].amount_cents, 2642);
	lines_free(&x);
	pd_customer_free(&c);
}

Test(billing, exact_half_goes_up)
{
	char *dir = tmp_dir();
	char *p = write_file(dir, "catalogue.json",
	                     "{\"platforms\": [{\"key\": \"asterisk-ami\", \"name\": \"A\", "
	                     "\"supported\": true, \"fields\": []}],\n"
	                     "\"roles\": [{\"key\": \"customer-admin\", \"name\": \"Admin\", "
	                     "\"manages_users\": true}],\n"
	                     "\"product_types\": [{\"key\": \"penny\", \"name\": \"Penny\", "
	                     "\"locked_after_assignment\": false, \"trial_allowed\": false, "
	                     "\"price_cents\": 1, \"platforms\": [\"asterisk-ami\"]}]}\n");
	pd_catalogue small;
	pd_err e = {0};
	cr_assert_eq(pd_catalogue_load(p, &small, &e), PD_OK, "%s", e.message);
	pd_customer c = cust("penny");
	hist h = created("penny", at("2026-02-15", 0));
	lines x = bill_on(&small, &c, 1, &h, "2026-02");
	cr_assert_eq(x.v[0].amount_cents, 1, "0.5 cent rounds up"); /* 1 × 1 × 14/28 */
	lines_free(&x);
	h = created("penny", at("2026-02-22", 0));
	x = bill_on(&small, &c, 1, &h, "2026-02");
	cr_assert_eq(x.v[0].amount_cents, 0, "0.25 cent rounds down"); /* 7/28 */
	lines_free(&x);
	pd_customer_free(&c);
	pd_catalogue_free(&small);
	free(p);
	rm_tree(dir);
}

Test(billing, internal_zero_rated)
{
	pd_customer c = cust("contact-centre");
	hist h = created("contact-centre", c.created_at);
	h.v[0].internal_system = true;
	lines x = bill(&c, 25, &h, "2026-02");
	cr_assert_eq(x.n, 1);
	cr_assert_eq(x.v[0].amount_cents, 0);
	cr_assert_eq(x.v[0].unit_price_cents, 3900, "the price is still shown");
	cr_assert_eq(x.v[0].active_days, 28);
	cr_assert_eq(x.v[0].billed_days, 0);
	cr_assert_str_eq(x.v[0].flags, "internal / zero-rated");
	lines_free(&x);
	pd_customer_free(&c);
}

/* Marked internal on the 16th: the 1st-15th are billed, the rest is
 * zero-rated and the flag says from when (was: the whole month at 0). */
Test(billing, internal_marked_mid_month_zero_rates_from_that_day)
{
	pd_customer c = cust("contact-centre");
	hist h = created("contact-centre", c.created_at);
	hist_add(&h, at("2026-10-16", 9))->internal_system = true;
	lines x = bill(&c, 2, &h, "2026-10");
	cr_assert_eq(x.n, 1);
	cr_assert_eq(x.v[0].active_days, 31);
	cr_assert_eq(x.v[0].billed_days, 15);
	cr_assert_eq(x.v[0].amount_cents, 3774); /* 2 × 3900 × 15/31 = 3774.19 */
	cr_assert_str_eq(x.v[0].flags, "internal / zero-rated 2026-10-16 to 2026-10-31");
	lines_free(&x);
	/* September, before the change, is billed in full. */
	x = bill(&c, 2, &h, "2026-09");
	cr_assert_eq(x.v[0].amount_cents, 7800);
	cr_assert_str_eq(x.v[0].flags, "");
	lines_free(&x);
	pd_customer_free(&c);
}

Test(billing, trial_at_zero)
{
	pd_customer c = cust("analytics-pro");
	hist h = created("analytics-pro", at("2026-02-10", 8));
	h.v[0].trial = true;
	h.v[0].trial_start = day("2026-02-10");
	h.v[0].trial_end = day("2026-03-11");
	lines x = bill(&c, 5, &h, "2026-02");
	cr_assert_eq(x.n, 1);
	cr_assert_eq(x.v[0].amount_cents, 0);
	cr_assert_eq(x.v[0].active_days, 19);
	cr_assert_eq(x.v[0].billed_days, 0);
	cr_assert_str_eq(x.v[0].flags, "trial");
	lines_free(&x);
	/* Still not converted after it ended (trial-expired): still not billed. */
	x = bill(&c, 5, &h, "2026-04");
	cr_assert_eq(x.v[0].amount_cents, 0);
	cr_assert_str_eq(x.v[0].flags, "trial");
	lines_free(&x);
	pd_customer_free(&c);
}

/* Converted on 16 October, trial running to 14 November: billed from the
 * 16th (16 days), not "1 day after the trial's original end". */
Test(billing, converted_trial_billed_from_conversion_day)
{
	pd_customer c = cust("analytics-pro");
	hist h = created("analytics-pro", at("2026-10-01", 8));
	h.v[0].trial = true;
	h.v[0].trial_start = day("2026-10-01");
	h.v[0].trial_end = day("2026-11-14");
	hist_add(&h, at("2026-10-16", 15))->trial_converted = true;
	lines x = bill(&c, 10, &h, "2026-10");
	cr_assert_eq(x.n, 1);
	cr_assert_eq(x.v[0].active_days, 31);
	cr_assert_eq(x.v[0].billed_days, 16);
	cr_assert_eq(x.v[0].amount_cents, 9806); /* 10 × 1900 × 16/31 = 9806.45 */
	cr_assert_str_eq(x.v[0].flags, "trial 2026-10-01 to 2026-10-15");
	lines_free(&x);
	x = bill(&c, 10, &h, "2026-11");
	cr_assert_eq(x.v[0].amount_cents, 19000, "paid all November");
	cr_assert_str_eq(x.v[0].flags, "");
	lines_free(&x);
	pd_customer_free(&c);
}

/* Moved from essentials to pro on 10 December: October stays essentials;
 * December has one line per product type with its days. */
Test(billing, product_type_change_keeps_past_months_and_splits_the_month)
{
	pd_customer c = cust("analytics-pro");
	hist h = created("analytics-essentials", at("2026-09-03", 10));
	hist_add(&h, at("2026-12-10", 11))->product_type = "analytics-pro";
	lines x = bill(&c, 1, &h, "2026-10");
	cr_assert_eq(x.n, 1);
	cr_assert_str_eq(x.v[0].product_type, "analytics-essentials");
	cr_assert_eq(x.v[0].amount_cents, 900);
	lines_free(&x);
	x = bill(&c, 1, &h, "2026-12");
	cr_assert_eq(x.n, 2);
	cr_assert_str_eq(x.v[0].product_type, "analytics-essentials");
	assert_days(&x.v[0], "2026-12-01", "2026-12-09");
	cr_assert_eq(x.v[0].active_days, 9);
	cr_assert_eq(x.v[0].amount_cents, 261); /* 900 × 9/31 = 261.29 */
	cr_assert_str_eq(x.v[1].product_type, "analytics-pro");
	assert_days(&x.v[1], "2026-12-10", "2026-12-31");
	cr_assert_eq(x.v[1].active_days, 22);
	cr_assert_eq(x.v[1].amount_cents, 1348); /* 1900 × 22/31 = 1348.39 */
	lines_free(&x);
	pd_customer_free(&c);
}

/* Two changes on one day: the last one is what that day is billed at. */
Test(billing, last_change_of_a_day_wins)
{
	pd_customer c = cust("analytics-pro");
	hist h = created("analytics-essentials", at("2026-09-03", 10));
	hist_add(&h, at("2026-10-05", 9))->product_type = "contact-centre";
	hist_add(&h, at("2026-10-05", 17))->product_type = "analytics-pro";
	lines x = bill(&c, 1, &h, "2026-10");
	cr_assert_eq(x.n, 2);
	assert_days(&x.v[0], "2026-10-01", "2026-10-04");
	cr_assert_str_eq(x.v[1].product_type, "analytics-pro");
	assert_days(&x.v[1], "2026-10-05", "2026-10-31");
	lines_free(&x);
	pd_customer_free(&c);
}

/* A change timed before the previous one (a clock set back) takes effect
 * with it: the last change made is always the state in force. */
Test(billing, change_timed_before_the_previous_one_takes_effect_with_it)
{
	pd_customer c = cust("analytics-pro");
	hist h = created("analytics-essentials", at("2026-11-10", 12));
	hist_add(&h, at("2026-10-16", 12))->product_type = "analytics-pro";
	lines x = bill(&c, 1, &h, "2026-10");
	cr_assert_eq(x.n, 0, "nothing existed in October");
	x = bill(&c, 1, &h, "2026-11");
	cr_assert_eq(x.n, 1);
	cr_assert_str_eq(x.v[0].product_type, "analytics-pro");
	assert_days(&x.v[0], "2026-11-10", "2026-11-30");
	lines_free(&x);
	pd_customer_free(&c);
}

Test(billing, deleted_billed_up_to_deletion_day)
{
	pd_customer c = cust("analytics-pro");
	hist h = created("analytics-pro", c.created_at);
	hist_add(&h, at("2026-02-10", 12))->deleted = true;
	lines x = bill(&c, 10, &h, "2026-02");
	cr_assert_eq(x.n, 1);
	cr_assert_eq(x.v[0].active_days, 10, "1st to 10th inclusive");
	assert_days(&x.v[0], "2026-02-01", "2026-02-10");
	cr_assert_eq(x.v[0].amount_cents, 6786); /* 10 × 1900 × 10/28 = 6785.71 */
	cr_assert_str_eq(x.v[0].flags, "deleted 2026-02-10");
	lines_free(&x);
	/* Deleted before the period: no line at all. */
	x = bill(&c, 10, &h, "2026-03");
	cr_assert_eq(x.n, 0);
	/* Restored on the 20th: billed again from then, a line of its own. */
	hist_add(&h, at("2026-02-20", 8))->deleted = false;
	x = bill(&c, 10, &h, "2026-02");
	cr_assert_eq(x.n, 2);
	assert_days(&x.v[1], "2026-02-20", "2026-02-28");
	cr_assert_str_eq(x.v[1].flags, "");
	lines_free(&x);
	pd_customer_free(&c);
}

Test(billing, created_and_deleted_the_same_day_bills_that_day)
{
	pd_customer c = cust("analytics-pro");
	hist h = created("analytics-pro", at("2026-02-10", 9));
	hist_add(&h, at("2026-02-10", 10))->deleted = true;
	lines x = bill(&c, 28, &h, "2026-02");
	cr_assert_eq(x.n, 1);
	cr_assert_eq(x.v[0].active_days, 1);
	cr_assert_eq(x.v[0].amount_cents, 1900);
	cr_assert_str_eq(x.v[0].flags, "deleted 2026-02-10");
	lines_free(&x);
	pd_customer_free(&c);
}

Test(billing, flags_combine)
{
	pd_customer c = cust("analytics-essentials");
	hist h = created("analytics-essentials", c.created_at);
	h.v[0].internal_system = true;
	h.v[0].disabled = true;
	hist_add(&h, at("2026-02-03", 1))->deleted = true;
	lines x = bill(&c, 2, &h, "2026-02");
	cr_assert_eq(x.v[0].amount_cents, 0);
	cr_assert_str_eq(x.v[0].flags, "internal / zero-rated; disabled; deleted 2026-02-03");
	lines_free(&x);
	pd_customer_free(&c);
}

Test(billing, disabled_still_billed)
{
	pd_customer c = cust("analytics-essentials");
	hist h = created("analytics-essentials", c.created_at);
	hist_add(&h, at("2026-02-15", 1))->disabled = true;
	lines x = bill(&c, 4, &h, "2026-02");
	cr_assert_eq(x.v[0].amount_cents, 3600);
	cr_assert_str_eq(x.v[0].flags, "disabled 2026-02-15 to 2026-02-28");
	lines_free(&x);
	pd_customer_free(&c);
}

static lines bill_dated(const pd_customer *c, const hist *h, const pd_billing_users *u, size_t nu,
                        const pd_billing_price *p, size_t np, const char *period)
{
	pd_day first;
	int n;
	cr_assert(pd_period_parse(period, &first, &n));
	lines x = {0};
	pd_err e = {0};
	cr_assert_eq(pd_billing_lines_dated(c, h->v, h->n, u, nu, p, np, first, n, collect, &x, &e),
	             PD_OK, "%s", e.message);
	return x;
}

/* A type without a price is flagged; with one (a type gone from the
 * catalogue keeps its price rows) it is billed at it. */
Test(billing, product_type_without_a_price_is_flagged)
{
	pd_customer c = cust("analytics-pro");
	hist h = created("legacy-basic", c.created_at);
	lines x = bill(&c, 1, &h, "2026-02");
	cr_assert_eq(x.v[0].amount_cents, 0);
	cr_assert_str_eq(x.v[0].flags, "unknown product type");
	lines_free(&x);
	pd_billing_users u = {c.created_at, 1};
	pd_billing_price p = {0, "legacy-basic", 500, "EUR"};
	x = bill_dated(&c, &h, &u, 1, &p, 1, "2026-02");
	cr_assert_eq(x.v[0].amount_cents, 500);
	cr_assert_str_eq(x.v[0].currency, "EUR");
	cr_assert_str_eq(x.v[0].flags, "");
	lines_free(&x);
	pd_customer_free(&c);
}

/* Each day is billed with the count in force that day (the last of the
 * day): a line per run of the same count, users x price constant on it. */
Test(billing, licensed_users_day_by_day_split_the_line)
{
	pd_customer c = cust("analytics-pro");
	hist h = created("analytics-pro", c.created_at);
	pd_billing_users u[] = {
	    {c.created_at, 2},
	    {at("2026-02-10", 9), 3},  /* a user added on the 10th */
	    {at("2026-02-10", 17), 4}, /* and another: the day's last count */
	    {at("2026-02-20", 8), 1},  /* users removed on the 20th */
	};
	pd_billing_price p = {0, "analytics-pro", 1900, "EUR"};
	lines x = bill_dated(&c, &h, u, 4, &p, 1, "2026-02");
	cr_assert_eq(x.n, 3);
	cr_assert_eq(x.v[0].licensed_users, 2);
	cr_assert_eq(x.v[0].first_day, day("2026-02-01"));
	cr_assert_eq(x.v[0].last_day, day("2026-02-09"));
	cr_assert_eq(x.v[0].amount_cents, 1221); /* 2 x 19.00 x 9 / 28 = 12.214 */
	cr_assert_eq(x.v[1].licensed_users, 4);
	cr_assert_eq(x.v[1].first_day, day("2026-02-10"));
	cr_assert_eq(x.v[1].last_day, day("2026-02-19"));
	cr_assert_eq(x.v[1].amount_cents, 2714); /* 4 x 19.00 x 10 / 28 = 27.142 */
	cr_assert_eq(x.v[2].licensed_users, 1);
	cr_assert_eq(x.v[2].first_day, day("2026-02-20"));
	cr_assert_eq(x.v[2].active_days, 9);
	cr_assert_eq(x.v[2].amount_cents, 611); /* 1 x 19.00 x 9 / 28 = 6.107 */
	lines_free(&x);
	/* the month before the changes: one line at the first count */
	x = bill_dated(&c, &h, u, 4, &p, 1, "2026-01");
	cr_assert_eq(x.n, 1);
	cr_assert_eq(x.v[0].licensed_users, 2);
	cr_assert_eq(x.v[0].amount_cents, 3800);
	lines_free(&x);
	/* before the first count (written with the creation, whose clock may
	 * have passed midnight meanwhile): the first count; none: 0 users */
	x = bill_dated(&c, &h, u + 3, 1, &p, 1, "2026-01");
	cr_assert_eq(x.v[0].licensed_users, 1);
	cr_assert_eq(x.v[0].amount_cents, 1900);
	lines_free(&x);
	x = bill_dated(&c, &h, u, 0, &p, 1, "2026-01");
	cr_assert_eq(x.v[0].licensed_users, 0);
	cr_assert_eq(x.v[0].amount_cents, 0);
	lines_free(&x);
	pd_customer_free(&c);
}

/* Each day is billed at the price of its product type in force that day;
 * a type's first price also covers the days before it was recorded, and
 * setting the same price again does not split the line. */
Test(billing, prices_day_by_day_split_the_line)
{
	pd_customer c = cust("analytics-essentials");
	hist h = created("analytics-essentials", c.created_at);
	hist_add(&h, at("2026-03-20", 10))->product_type = "analytics-pro";
	pd_billing_users u = {c.created_at, 3};
	pd_billing_price p[] = {
	    {at("2026-03-01", 12), "analytics-essentials", 900, "EUR"},
	    {at("2026-03-11", 8), "analytics-essentials", 1000, "EUR"},
	    {at("2026-03-15", 8), "analytics-essentials", 1000, "EUR"},
	    {at("2026-03-25", 8), "analytics-essentials", 1200, "EUR"}, /* after the move */
	    {at("2026-03-02", 8), "analytics-pro", 1900, "EUR"},
	    {at("2026-03-31", 23), "analytics-pro", 2500, "EUR"},
	};
	lines x = bill_dated(&c, &h, &u, 1, p, 6, "2026-03");
	cr_assert_eq(x.n, 4);
	cr_assert_str_eq(x.v[0].product_type, "analytics-essentials");
	cr_assert_eq(x.v[0].unit_price_cents, 900);
	cr_assert_eq(x.v[0].last_day, day("2026-03-10"));
	cr_assert_eq(x.v[0].amount_cents, 871); /* 3 x 9.00 x 10 / 31 = 8.709 */
	cr_assert_eq(x.v[1].unit_price_cents, 1000);
	cr_assert_eq(x.v[1].first_day, day("2026-03-11"));
	cr_assert_eq(x.v[1].last_day, day("2026-03-19"));
	cr_assert_eq(x.v[1].amount_cents, 871); /* 3 x 10.00 x 9 / 31 = 8.709 */
	cr_assert_str_eq(x.v[2].product_type, "analytics-pro");
	cr_assert_eq(x.v[2].unit_price_cents, 1900);
	cr_assert_eq(x.v[2].last_day, day("2026-03-30"));
	cr_assert_eq(x.v[2].amount_cents, 2023); /* 3 x 19.00 x 11 / 31 = 20.226 */
	cr_assert_eq(x.v[3].unit_price_cents, 2500);
	cr_assert_eq(x.v[3].active_days, 1);
	lines_free(&x);
	/* February: before any recorded price, the first one */
	x = bill_dated(&c, &h, &u, 1, p, 6, "2026-02");
	cr_assert_eq(x.n, 1);
	cr_assert_eq(x.v[0].unit_price_cents, 900);
	cr_assert_eq(x.v[0].amount_cents, 2700);
	lines_free(&x);
	pd_customer_free(&c);
}

/* A count or a price timed before its predecessor (a clock set back)
 * takes effect with it. */
Test(billing, users_and_prices_timed_back_take_effect_with_their_predecessor)
{
	pd_customer c = cust("analytics-pro");
	hist h = created("analytics-pro", c.created_at);
	pd_billing_users u[] = {{at("2026-02-10", 9), 2}, {at("2026-02-05", 9), 5}};
	pd_billing_price p[] = {{0, "analytics-pro", 1900, "EUR"},
	                        {at("2026-02-15", 9), "analytics-pro", 2800, "EUR"},
	                        {at("2026-02-01", 9), "analytics-pro", 1400, "EUR"}};
	lines x = bill_dated(&c, &h, u, 2, p, 3, "2026-02");
	cr_assert_eq(x.n, 3);
	cr_assert_eq(x.v[0].licensed_users, 2); /* before the 10th: the first count */
	cr_assert_eq(x.v[0].last_day, day("2026-02-09"));
	cr_assert_eq(x.v[1].licensed_users, 5, "the 5 takes effect with the 2 it follows");
	cr_assert_eq(x.v[1].unit_price_cents, 1900);
	cr_assert_eq(x.v[1].last_day, day("2026-02-14"));
	cr_assert_eq(x.v[2].unit_price_cents, 1400);
	lines_free(&x);
	pd_customer_free(&c);
}

Test(billing, zero_or_negative_users)
{
	pd_customer c = cust("analytics-pro");
	hist h = created("analytics-pro", c.created_at);
	lines x = bill(&c, 0, &h, "2026-02");
	cr_assert_eq(x.n, 1, "a customer without users still gets a line");
	cr_assert_eq(x.v[0].amount_cents, 0);
	lines_free(&x);
	x = bill(&c, -3, &h, "2026-02");
	cr_assert_eq(x.v[0].licensed_users, 0);
	cr_assert_eq(x.v[0].amount_cents, 0);
	lines_free(&x);
	pd_customer_free(&c);
}

Test(billing, bad_period_length_is_refused)
{
	pd_customer c = cust("analytics-pro");
	hist h = created("analytics-pro", c.created_at);
	pd_err e = {0};
	lines x = {0};
	cr_assert_eq(
	    pd_billing_lines_for(&cat, &c, 1, h.v, h.n, day("2026-02-01"), 0, collect, &x, &e),
	    PD_E_INVALID);
	cr_assert_str_eq(e.field, "period");
	cr_assert_eq(
	    pd_billing_lines_for(&cat, &c, 1, h.v, h.n, day("2026-02-01"), 367, collect, &x, &e),
	    PD_E_INVALID);
	pd_customer_free(&c);
}

/* `billing export --locale-format`: amounts as a reader of the locale
 * writes them, the same on every system. */
Test(billing_format, amounts_by_locale)
{
	const struct {
		int64_t cents;
		const char *locale, *want;
	} cases[] = {
	    {123456789, "fr_FR", "1\u202f234\u202f567,89"},
	    {123456789, "de_DE", "1.234.567,89"},
	    {123456789, "de_CH", "1\u2019234\u2019567.89"},
	    {123456789, "en_GB", "1,234,567.89"},
	    {123456789, NULL, "1,234,567.89"},
	    {123456789, "xx_YY", "1,234,567.89"},
	    {-1900, "fr_BE", "-19,00"},
	    {5, "fr_FR", "0,05"},
	    {100000, "pt_BR", "1.000,00"},
	    {INT64_MIN, "de_DE", "-92.233.720.368.547.758,08"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char out[48];
		pd_format_amount_locale(cases[i].cents, cases[i].locale, out);
		cr_assert_str_eq(out, cases[i].want, "%s",
		                 cases[i].locale ? cases[i].locale : "NULL");
	}
}

/* ---- invitation ---- */

/* A customer whose locale's language is French gets the French text, in
 * every variant (no name, no link, an agent's role); English otherwise. */
Test(invitation, french_for_a_french_locale)
{
	const char *fr[] = {"fr_FR", "fr_BE", "fr_CH", "fr"};
	const char *en[] = {"en_GB", "de_DE", "fra_XX", NULL};
	pd_user u = {0};
	u.email = xstrdup("anon@acme.example");
	u.role = xstrdup("agent");
	for (size_t i = 0; i < 4; i++) {
		pd_customer c = cust("analytics-pro");
		c.locale = xstrdup(fr[i]);
		pd_invitation inv;
		pd_invitation_render(&c, &u, &inv);
		assert_contains(inv.subject, "Invitation : votre compte Acme Télécom");
		assert_contains(inv.body, "Bonjour,\n");
		assert_contains(inv.body, "Vous avez été invité(e)");
		assert_contains(inv.body, "pour le client Acme Télécom, avec le rôle agent.");
		assert_contains(inv.body, "ne contient pas de lien d'activation");
		cr_assert_null(strstr(inv.body, "administrateur client, vous pouvez"), "agent");
		pd_invitation_free(&inv);
		pd_customer_free(&c);
	}
	for (size_t i = 0; i < 4; i++) {
		pd_customer c = cust("analytics-pro");
		c.locale = en[i] ? xstrdup(en[i]) : NULL;
		pd_invitation inv;
		pd_invitation_render(&c, &u, &inv);
		assert_contains(inv.subject, "Invitation: your Acme Télécom account");
		assert_contains(inv.body, "Hello there,\n");
		pd_invitation_free(&inv);
		pd_customer_free(&c);
	}
	/* a link with its expiry, as a French reader writes a date */
	pd_customer c = cust("analytics-pro");
	c.locale = xstrdup("fr_FR");
	pd_invitation_ctx x = {.inviter = "alice",
	                       .link = "https://app.example.com/a?token=T",
	                       .link_expires = 1794312000}; /* 2026-11-10 12:00 UTC */
	pd_invitation inv;
	pd_invitation_render_ctx(&c, &u, &x, &inv);
	assert_contains(inv.body, "alice, de l'équipe support de votre revendeur");
	assert_contains(inv.body, "ouvrez ce lien (valable une seule fois, jusqu'au 10/11/2026 à "
	                          "12:00 UTC) :\n\n  https://app.example.com/a?token=T\n");
	pd_invitation_free(&inv);
	pd_customer_free(&c);
	pd_user_free(&u);
}

Test(invitation, english_text_with_names_and_email_note)
{
	pd_customer c = cust("analytics-pro");
	pd_user u = {0};
	u.display_name = xstrdup("Hélène Dupré");
	u.email = xstrdup("helene@acme.example");
	u.role = xstrdup(PD_ROLE_ADMIN);
	u.primary = true;
	u.extension = xstrdup("1001");
	pd_invitation inv;
	pd_invitation_render(&c, &u, &inv);
	cr_assert_str_eq(inv.to, "helene@acme.example");
	assert_contains(inv.subject, "Acme Télécom");
	cr_assert_null(strchr(inv.subject, '\n'));
	assert_contains(inv.body, "Hello Hélène Dupré,");
	assert_contains(inv.body, "Acme Télécom");
	assert_contains(inv.body, "Customer Administrator");
	assert_contains(inv.body, "use this same email address (helene@acme.example)");
	assert_contains(inv.body, "PBX");
	assert_contains(inv.body, "1001");
	assert_contains(inv.body, c.tenant_id);
	pd_invitation_free(&inv);
	pd_user_free(&u);
	pd_customer_free(&c);
}

Test(invitation, subject_never_carries_a_line_break)
{
	pd_customer c = cust("analytics-pro");
	pd_set_str(&c.name, "Evil\r\nBcc: victim@example.com");
	pd_user u = {0};
	u.display_name = xstrdup("X");
	u.email = xstrdup("x@example.com");
	pd_invitation inv;
	pd_invitation_render(&c, &u, &inv);
	cr_assert_null(strpbrk(inv.subject, "\r\n"));
	pd_invitation_free(&inv);
	pd_user_free(&u);
	pd_customer_free(&c);
}

Test(invitation, carries_the_activation_link_the_inviter_and_the_customer)
{
	pd_customer c = cust("analytics-pro");
	pd_user u = {0};
	u.display_name = xstrdup("Hélène Dupré");
	u.email = xstrdup("helene@acme.example");
	u.role = xstrdup("agent");
	char *link = pd_invitation_link("https://app.example.com/activate", "abc123");
	cr_assert_str_eq(link, "https://app.example.com/activate?token=abc123");
	char *link2 = pd_invitation_link("https://app.example.com/activate?lang=fr", "abc123");
	cr_assert_str_eq(link2, "https://app.example.com/activate?lang=fr&token=abc123");
	pd_invitation_ctx x = {
	    .inviter = "alice", .link = link, .link_expires = at("2026-11-17", 12)};
	pd_invitation inv;
	pd_invitation_render_ctx(&c, &u, &x, &inv);
	assert_contains(inv.body, "alice, of your reseller's support team, has invited you");
	assert_contains(inv.body, "for the customer Acme Télécom");
	assert_contains(inv.body, "\n  https://app.example.com/activate?token=abc123\n");
	assert_contains(inv.body, "until 2026-11-17 12:00 UTC");
	cr_assert_null(strstr(inv.body, "no activation link"));
	pd_invitation_free(&inv);
	free(link);
	free(link2);
	pd_user_free(&u);
	pd_customer_free(&c);
}

Test(invitation, without_an_activation_url_it_says_there_is_no_link)
{
	pd_customer c = cust("analytics-pro");
	pd_user u = {0};
	u.display_name = xstrdup("X");
	u.email = xstrdup("x@example.com");
	pd_invitation_ctx x = {.inviter = "bob"};
	pd_invitation inv;
	pd_invitation_render_ctx(&c, &u, &x, &inv);
	assert_contains(inv.body, "This email carries no activation link");
	assert_contains(inv.body, "bob, of your reseller's support team");
	cr_assert_null(strstr(inv.body, "http"), "no broken link: %s", inv.body);
	pd_invitation_free(&inv);
	pd_user_free(&u);
	pd_customer_free(&c);
}

/* SPEC §7 billing lines (exact cents) and the invitation text. */
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

static pd_billing_line bill(const pd_customer *c, int64_t users, const char *period, bool *has)
{
	pd_day first;
	int n;
	cr_assert(pd_period_parse(period, &first, &n));
	pd_billing_line l;
	*has = pd_billing_line_for(&cat, c, users, first, n, &l);
	return l;
}

Test(billing, full_month)
{
	pd_customer c = cust("analytics-pro");
	bool has;
	pd_billing_line l = bill(&c, 10, "2026-02", &has);
	cr_assert(has);
	cr_assert_str_eq(l.billing_id, c.tenant_id, "no reference: tenant id");
	cr_assert_str_eq(l.customer_name, "Acme Télécom");
	cr_assert_str_eq(l.product_type, "analytics-pro");
	cr_assert_eq(l.licensed_users, 10);
	cr_assert_eq(l.active_days, 28);
	cr_assert_eq(l.period_days, 28);
	cr_assert_eq(l.unit_price_cents, 1900);
	cr_assert_eq(l.amount_cents, 19000);
	cr_assert_str_eq(l.flags, "");
	pd_billing_line_free(&l);
	pd_customer_free(&c);
}

Test(billing, pro_rata_from_creation_day)
{
	pd_customer c = cust("analytics-pro");
	c.created_at = at("2026-02-15", 23);
	pd_set_str(&c.reference, "ERP-42");
	bool has;
	pd_billing_line l = bill(&c, 10, "2026-02", &has);
	cr_assert(has);
	cr_assert_str_eq(l.billing_id, "ERP-42");
	cr_assert_eq(l.active_days, 14);
	cr_assert_eq(l.amount_cents, 9500); /* 10 × 19.00 × 14/28 */
	pd_billing_line_free(&l);
	pd_customer_free(&c);
}

Test(billing, rounds_half_up_to_the_cent)
{
	pd_customer c = cust("contact-centre");
	c.created_at = at("2026-03-11", 0);
	bool has;
	pd_billing_line l = bill(&c, 3, "2026-03", &has);
	cr_assert_eq(l.active_days, 21);
	/* 3 × 3900 × 21 / 31 = 7925.806… -> 7926 */
	cr_assert_eq(l.amount_cents, 7926);
	pd_billing_line_free(&l);
	l = bill(&c, 1, "2026-03", &has);
	/* 3900 × 21 / 31 = 2641.935… -> 2642 */
	cr_assert_eq(l.amount_cents, 2642);
	pd_billing_line_free(&l);
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
	c.created_at = at("2026-02-15", 0);
	pd_billing_line l;
	cr_assert(pd_billing_line_for(&small, &c, 1, day("2026-02-01"), 28, &l));
	cr_assert_eq(l.amount_cents, 1, "0.5 cent rounds up"); /* 1 × 1 × 14/28 */
	pd_billing_line_free(&l);
	c.created_at = at("2026-02-22", 0);
	cr_assert(pd_billing_line_for(&small, &c, 1, day("2026-02-01"), 28, &l));
	cr_assert_eq(l.amount_cents, 0, "0.25 cent rounds down"); /* 7/28 */
	pd_billing_line_free(&l);
	pd_customer_free(&c);
	pd_catalogue_free(&small);
	free(p);
	rm_tree(dir);
}

Test(billing, internal_zero_rated)
{
	pd_customer c = cust("contact-centre");
	c.internal_system = true;
	bool has;
	pd_billing_line l = bill(&c, 25, "2026-02", &has);
	cr_assert(has);
	cr_assert_eq(l.amount_cents, 0);
	cr_assert_eq(l.unit_price_cents, 3900, "the price is still shown");
	cr_assert_eq(l.active_days, 28);
	cr_assert_str_eq(l.flags, "internal / zero-rated");
	pd_billing_line_free(&l);
	pd_customer_free(&c);
}

Test(billing, trial_at_zero)
{
	pd_customer c = cust("analytics-pro");
	c.created_at = at("2026-02-10", 8);
	c.trial = true;
	c.trial_start = day("2026-02-10");
	c.trial_end = day("2026-03-11");
	bool has;
	pd_billing_line l = bill(&c, 5, "2026-02", &has);
	cr_assert(has);
	cr_assert_eq(l.amount_cents, 0);
	cr_assert_eq(l.active_days, 19);
	cr_assert_str_eq(l.flags, "trial");
	pd_billing_line_free(&l);
	/* Still not converted after it ended (trial-expired): still not billed. */
	l = bill(&c, 5, "2026-04", &has);
	cr_assert(has);
	cr_assert_eq(l.amount_cents, 0);
	cr_assert_str_eq(l.flags, "trial");
	pd_billing_line_free(&l);
	pd_customer_free(&c);
}

Test(billing, converted_trial_billed_after_trial_days)
{
	pd_customer c = cust("analytics-pro");
	c.created_at = at("2026-01-20", 8);
	c.trial = true;
	c.trial_converted = true;
	c.trial_start = day("2026-01-20");
	c.trial_end = day("2026-02-07");
	bool has;
	pd_billing_line l = bill(&c, 10, "2026-02", &has);
	cr_assert_eq(l.active_days, 28);
	cr_assert_eq(l.amount_cents, 14250); /* 10 × 19.00 × 21/28 */
	cr_assert_str_eq(l.flags, "trial until 2026-02-07");
	pd_billing_line_free(&l);
	l = bill(&c, 10, "2026-03", &has);
	cr_assert_eq(l.amount_cents, 19000);
	cr_assert_str_eq(l.flags, "");
	pd_billing_line_free(&l);
	pd_customer_free(&c);
}

Test(billing, deleted_billed_up_to_deletion_day)
{
	pd_customer c = cust("analytics-pro");
	c.deleted_at = at("2026-02-10", 12);
	bool has;
	pd_billing_line l = bill(&c, 10, "2026-02", &has);
	cr_assert(has);
	cr_assert_eq(l.active_days, 10, "1st to 10th inclusive");
	cr_assert_eq(l.amount_cents, 6786); /* 10 × 1900 × 10/28 = 6785.71 */
	cr_assert_str_eq(l.flags, "deleted 2026-02-10");
	pd_billing_line_free(&l);
	/* Deleted before the period, or created after it: no line at all. */
	l = bill(&c, 10, "2026-03", &has);
	cr_assert_not(has);
	c.deleted_at = 0;
	c.created_at = at("2026-04-01", 0);
	l = bill(&c, 10, "2026-03", &has);
	cr_assert_not(has);
	pd_customer_free(&c);
}

Test(billing, flags_combine)
{
	pd_customer c = cust("analytics-essentials");
	c.internal_system = true;
	c.disabled = true;
	c.deleted_at = at("2026-02-03", 1);
	bool has;
	pd_billing_line l = bill(&c, 2, "2026-02", &has);
	cr_assert_eq(l.amount_cents, 0);
	cr_assert_str_eq(l.flags, "internal / zero-rated; disabled; deleted 2026-02-03");
	pd_billing_line_free(&l);
	pd_customer_free(&c);
}

Test(billing, disabled_still_billed)
{
	pd_customer c = cust("analytics-essentials");
	c.disabled = true;
	bool has;
	pd_billing_line l = bill(&c, 4, "2026-02", &has);
	cr_assert_eq(l.amount_cents, 3600);
	cr_assert_str_eq(l.flags, "disabled");
	pd_billing_line_free(&l);
	pd_customer_free(&c);
}

Test(billing, zero_or_negative_users)
{
	pd_customer c = cust("analytics-pro");
	bool has;
	pd_billing_line l = bill(&c, 0, "2026-02", &has);
	cr_assert(has, "a customer without users still gets a line");
	cr_assert_eq(l.amount_cents, 0);
	pd_billing_line_free(&l);
	l = bill(&c, -3, "2026-02", &has);
	cr_assert_eq(l.licensed_users, 0);
	cr_assert_eq(l.amount_cents, 0);
	pd_billing_line_free(&l);
	pd_customer_free(&c);
}

/* ---- invitation ---- */

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
	pd_invitation_ctx x = {.inviter = "alice", .link = link, .link_expires = at("2026-11-17", 12)};
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

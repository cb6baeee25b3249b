/* Link states: one table gives the enum, the stable key (stored, JSON) and
 * the label; keys parse back, unknown keys and values are refused. */
#include <criterion/criterion.h>
#include <string.h>

#include "provdesk/link_state.h"

Test(link_state, every_key_parses_back_and_is_unique)
{
	for (int i = 0; i < PD_LINK_N_STATES; i++) {
		const char *k = pd_link_state_name((pd_link_state)i);
		pd_link_state back = PD_LINK_N_STATES;
		cr_assert(pd_link_state_parse(k, &back), "%s", k);
		cr_assert_eq(back, (pd_link_state)i);
		cr_assert_neq(strcmp(pd_link_state_label((pd_link_state)i), "?"), 0);
		/* keys are lower-case words joined by '-' (they are stored and scripted) */
		for (const char *p = k; *p; p++)
			cr_assert((*p >= 'a' && *p <= 'z') || *p == '-', "%s", k);
		for (int j = 0; j < i; j++)
			cr_assert_neq(strcmp(k, pd_link_state_name((pd_link_state)j)), 0);
	}
}

Test(link_state, stable_keys)
{
	/* stored in pbx_status.link (migration 9 checks this list) and shown in
	 * pbx status --json: changing one needs a migration */
	cr_assert_str_eq(pd_link_state_name(PD_LINK_DISABLED), "disabled");
	cr_assert_str_eq(pd_link_state_name(PD_LINK_LOGGING_IN), "logging-in");
	cr_assert_str_eq(pd_link_state_name(PD_LINK_DISCOVERING), "discovering");
	cr_assert_str_eq(pd_link_state_name(PD_LINK_AUTH_FAILED), "auth-failed");
	cr_assert_str_eq(pd_link_state_name(PD_LINK_PROTOCOL_ERROR), "protocol-error");
	cr_assert_str_eq(pd_link_state_label(PD_LINK_AUTH_FAILED), "auth failed");
}

Test(link_state, unknown_keys_and_values_refused)
{
	pd_link_state s = PD_LINK_MONITORING;
	const char *bad[] = {"",   "Monitoring", "auth failed", "retrying in 8s",
	                     "up", "monitoring "};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_assert(!pd_link_state_parse(bad[i], &s), "'%s'", bad[i]);
	cr_assert(!pd_link_state_parse(NULL, &s));
	cr_assert_eq(s, PD_LINK_MONITORING, "untouched on failure");
	cr_assert_str_eq(pd_link_state_name(PD_LINK_N_STATES), "?");
	cr_assert_str_eq(pd_link_state_name((pd_link_state)-1), "?");
	cr_assert_str_eq(pd_link_state_label(PD_LINK_N_STATES), "?");
}

Test(link_state, retries_are_retrying_and_protocol_error)
{
	for (int i = 0; i < PD_LINK_N_STATES; i++)
		cr_assert_eq(pd_link_state_retries((pd_link_state)i),
		             i == PD_LINK_RETRYING || i == PD_LINK_PROTOCOL_ERROR);
}

/* provdesk pbx status CUSTOMER: the status row the monitor writes (any
 * console, any process). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_internal.h"
#include "provdesk/live.h"
#include "provdesk/util.h"

static const char help_status[] =
    "Usage: provdesk pbx status CUSTOMER [--check] [--json]\n"
    "Shows the live PBX state written by the running monitor, with its age. A state\n"
    "no running monitor stands behind reads \"not monitored (last known: STATE, AGE)\".\n"
    "With --check the exit status says it too: 0 monitoring, 69 connecting/retrying/\n"
    "not monitored, 76 protocol error, 77 authentication failed, 78 disabled or refused\n"
    "parameters.\n";

int pd_cli_pbx_status_cmd(pd_cli *c, int argc, char **argv)
{
	const char *pos[1];
	int np = 0;
	bool check = false;
	const pd_opt opts[] = {{"check", PD_OPT_FLAG, NULL, &check}, {NULL, 0, NULL, NULL}};
	int rc = pd_cli_parse(c, "pbx status", argc, argv, opts, pos, 1, 1, &np, help_status);
	if (rc != PD_CLI_CONTINUE)
		return rc;
	pd_customer cu;
	pd_pbx p;
	if ((rc = pd_cli_pbx_load(c, pos[0], false, &cu, &p)) != PD_CLI_CONTINUE)
		return rc;
	pd_err e;
	pd_err_clear(&e);
	pd_pbx_status st = {0};
	pd_status s = store_pbx_status_get(c->store, cu.id, &st, &e);
	if (s != PD_OK && s != PD_E_NOTFOUND) {
		pd_customer_free(&cu);
		pd_pbx_free(&p);
		return pd_cli_fail(c, &e);
	}
	int64_t now = pd_now();
	pd_pbx_now pn;
	pd_pbx_status_now(&p, &st, s == PD_OK, now, &pn);
	bool known = pn.known;
	const char *state = pn.status;
	pd_status outcome = pn.outcome;
	if (c->json) {
		json_t *o = pd_json_pbx_status(&cu, &p, s == PD_OK ? &st : NULL);
		pd_cli_print_json(c, o);
	} else {
		printf("Customer:     %s\n", cu.name);
		printf("PBX:          %s:%d (%s)\n", p.host ? p.host : "", p.port,
		       p.enabled ? "enabled" : "disabled");
		printf("State:        %s\n", state);
		if (known && st.last_error && *st.last_error)
			printf("Last error:   %s\n", st.last_error);
		if (known) {
			char since[32], age[48];
			pd_fmt_time(st.since ? st.since : st.updated_at, since);
			pd_age_text(st.since ? st.since : st.updated_at, now, age, sizeof age);
			printf("Since:        %s (%s)\n", since, age);
		}
		if (known && pn.fresh) { /* a stale row's figures are not live ones */
			printf("Live calls:   %lld\n", (long long)st.live_calls);
			printf("Agents:       %lld available / %lld logged on\n",
			       (long long)st.agents_available, (long long)st.agents_logged_on);
		}
		if (known) {
			char age[48];
			pd_age_text(st.updated_at, now, age, sizeof age);
			printf("Updated:      %s%s\n", age,
			       pn.fresh ? "" : " (no monitor running since)");
		}
	}
	pd_pbx_status_free(&st);
	pd_customer_free(&cu);
	pd_pbx_free(&p);
	return check ? pd_status_exit_code(outcome) : 0;
}

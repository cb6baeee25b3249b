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
    "Shows the live PBX state written by the running monitor. With --check the exit\n"
    "status says it too: 0 monitoring, 69 connecting/retrying/not monitored, 76 protocol\n"
    "error, 77 authentication failed, 78 disabled or refused parameters.\n";

/* One table: a link state as the outcome of a command. The states on the
 * way up (connecting, logging in, discovering) are "not there yet": a
 * command that gave up waiting for them failed as unavailable. */
pd_status pd_cli_link_status(pd_link_state st)
{
	static const pd_status map[PD_LINK_N_STATES] = {
	    [PD_LINK_DISABLED] = PD_E_CONFIG,
	    [PD_LINK_CONNECTING] = PD_E_UNAVAILABLE,
	    [PD_LINK_LOGGING_IN] = PD_E_UNAVAILABLE,
	    [PD_LINK_DISCOVERING] = PD_E_UNAVAILABLE,
	    [PD_LINK_MONITORING] = PD_OK,
	    [PD_LINK_RETRYING] = PD_E_UNAVAILABLE,
	    [PD_LINK_AUTH_FAILED] = PD_E_AUTH,
	    [PD_LINK_PROTOCOL_ERROR] = PD_E_PROTOCOL,
	    [PD_LINK_UNSUPPORTED] = PD_E_UNAVAILABLE,
	    [PD_LINK_CONFIG_ERROR] = PD_E_CONFIG,
	};
	return (unsigned)st < PD_LINK_N_STATES ? map[st] : PD_E_INTERNAL;
}

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
	bool known = s == PD_OK && st.state;
	const char *state = known       ? st.state
	                    : p.enabled ? "not monitored (no console running)"
	                                : "disabled";
	pd_status outcome = known       ? pd_cli_link_status(st.link)
	                    : p.enabled ? PD_E_UNAVAILABLE
	                                : pd_cli_link_status(PD_LINK_DISABLED);
	if (c->json) {
		json_t *o = pd_json_pbx_status(&cu, &p, known ? &st : NULL);
		pd_cli_print_json(c, o);
	} else {
		printf("Customer:     %s\n", cu.name);
		printf("PBX:          %s:%d (%s)\n", p.host ? p.host : "", p.port,
		       p.enabled ? "enabled" : "disabled");
		printf("State:        %s\n", state);
		if (known && st.last_error && *st.last_error)
			printf("Last error:   %s\n", st.last_error);
		if (known) {
			printf("Live calls:   %lld\n", (long long)st.live_calls);
			printf("Agents:       %lld available / %lld logged on\n",
			       (long long)st.agents_available, (long long)st.agents_logged_on);
			printf("Updated:      %llds ago\n", (long long)(pd_now() - st.updated_at));
		}
	}
	pd_pbx_status_free(&st);
	pd_customer_free(&cu);
	pd_pbx_free(&p);
	return check ? pd_status_exit_code(outcome) : 0;
}

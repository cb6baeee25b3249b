/* provdesk pbx status CUSTOMER: the status row the monitor writes (any
 * console, any process). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_internal.h"
#include "provdesk/live.h"
#include "provdesk/util.h"

static const char help_status[] = "Usage: provdesk pbx status CUSTOMER [--json]\n"
                                  "Shows the live PBX state written by the running monitor.\n";
int pd_cli_pbx_status_cmd(pd_cli *c, int argc, char **argv)
{
	const char *pos[1];
	int np = 0;
	int rc = pd_cli_parse(c, "pbx status", argc, argv, NULL, pos, 1, 1, &np, help_status);
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
	if (c->json) {
		json_t *o = json_object();
		json_object_set_new(o, "customer", json_string(cu.name));
		json_object_set_new(o, "tenant_id", json_string(cu.tenant_id));
		json_object_set_new(o, "enabled", json_boolean(p.enabled));
		json_object_set_new(o, "state", json_string(state));
		json_object_set_new(o, "last_error",
		                    known && st.last_error ? json_string(st.last_error)
		                                           : json_null());
		json_object_set_new(o, "updated_at",
		                    known ? pd_json_time(st.updated_at) : json_null());
		json_object_set_new(o, "live_calls", json_integer(known ? st.live_calls : 0));
		json_object_set_new(o, "agents_available",
		                    json_integer(known ? st.agents_available : 0));
		json_object_set_new(o, "agents_logged_on",
		                    json_integer(known ? st.agents_logged_on : 0));
		/* what the link is dialled with besides host:port: a TLS failure in
		 * last_error reads next to tls_verify / tls_ca_file */
		json_object_set_new(o, "tls", json_boolean(p.tls));
		json_t *pj =
		    p.params_json && *p.params_json ? json_loads(p.params_json, 0, NULL) : NULL;
		json_object_set_new(o, "params", json_is_object(pj) ? pj : json_object());
		if (pj && !json_is_object(pj))
			json_decref(pj);
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
	return 0;
}

/* The live panels' agents in name order (ui_live_sort_agents): whatever
 * order the PBX gave them in (a BroadWorks link reads its agents' states
 * over several connections, so they arrive as the answers do), case and
 * accents aside, the interface where there is no name and between equal
 * names; every field moves with its agent. */
#include <criterion/criterion.h>

#include "provdesk/util.h"
#include "src/ui/live/services.h"

static pd_live_agent agent(const char *name, const char *iface, pd_agent_state st)
{
	return (pd_live_agent){.interface = xstrdup(iface),
	                       .name = name ? xstrdup(name) : NULL,
	                       .queues = xstrdup("support"),
	                       .state = st,
	                       .since_ms = (int64_t)strlen(iface)};
}

Test(live_order, agents_by_folded_name_then_interface)
{
	pd_live_view v = {0};
	v.n_agents = 7;
	v.agents = xcalloc(v.n_agents, sizeof *v.agents);
	v.agents[0] = agent("Samir Benali", "1019@lab.example", PD_AGENT_AVAILABLE);
	v.agents[1] = agent("Émile Zola", "PJSIP/1003", PD_AGENT_ON_CALL);
	v.agents[2] = agent("david Cohen", "PJSIP/1002", PD_AGENT_AVAILABLE);
	v.agents[3] = agent(NULL, "PJSIP/1000", PD_AGENT_LOGGED_OFF);
	v.agents[4] = agent("Farid", "PJSIP/1009", PD_AGENT_NOT_READY);
	v.agents[5] = agent("FARID", "PJSIP/1004", PD_AGENT_RINGING);
	v.agents[6] = agent("Rosa Silva", "1018@lab.example", PD_AGENT_WRAPUP);
	ui_live_sort_agents(&v);
	static const char *const want[] = {"PJSIP/1002",      "PJSIP/1003", "PJSIP/1004",
	                                   "PJSIP/1009",      "PJSIP/1000", "1018@lab.example",
	                                   "1019@lab.example"};
	static const pd_agent_state st[] = {
	    PD_AGENT_AVAILABLE,  PD_AGENT_ON_CALL, PD_AGENT_RINGING,  PD_AGENT_NOT_READY,
	    PD_AGENT_LOGGED_OFF, PD_AGENT_WRAPUP,  PD_AGENT_AVAILABLE};
	cr_assert_eq(v.n_agents, 7);
	for (size_t i = 0; i < v.n_agents; i++) {
		cr_assert_str_eq(v.agents[i].interface, want[i], "row %zu: %s", i,
		                 v.agents[i].interface);
		cr_assert_eq(v.agents[i].state, st[i], "row %zu", i);
		cr_assert_eq(v.agents[i].since_ms, (int64_t)strlen(want[i]));
		cr_assert_str_eq(v.agents[i].queues, "support");
	}
	pd_live_free_view(&v);
}

Test(live_order, one_agent_or_none_unchanged)
{
	pd_live_view v = {0};
	ui_live_sort_agents(&v);
	cr_assert_null(v.agents);
	v.n_agents = 1;
	v.agents = xcalloc(1, sizeof *v.agents);
	v.agents[0] = agent(NULL, "PJSIP/1", PD_AGENT_AVAILABLE);
	pd_live_agent *was = v.agents;
	ui_live_sort_agents(&v);
	cr_assert_eq(v.agents, was);
	cr_assert_str_eq(v.agents[0].interface, "PJSIP/1");
	pd_live_free_view(&v);
}

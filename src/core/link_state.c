/* PBX link states: see include/provdesk/link_state.h. */
#include "provdesk/link_state.h"

#include <string.h>

static const char *const keys[] = {
#define PD_X_LINK(e, key, label) [e] = key,
    PD_LINK_STATE_LIST(PD_X_LINK)
#undef PD_X_LINK
};

static const char *const labels[] = {
#define PD_X_LINK(e, key, label) [e] = label,
    PD_LINK_STATE_LIST(PD_X_LINK)
#undef PD_X_LINK
};

const char *pd_link_state_name(pd_link_state s)
{
	return (unsigned)s < PD_LINK_N_STATES ? keys[s] : "?";
}

const char *pd_link_state_label(pd_link_state s)
{
	return (unsigned)s < PD_LINK_N_STATES ? _(labels[s]) : "?";
}

const char *pd_link_state_msgid(pd_link_state s)
{
	return (unsigned)s < PD_LINK_N_STATES ? labels[s] : "?";
}

bool pd_link_state_parse(const char *key, pd_link_state *out)
{
	for (int i = 0; key && i < PD_LINK_N_STATES; i++)
		if (strcmp(keys[i], key) == 0) {
			*out = (pd_link_state)i;
			return true;
		}
	return false;
}

bool pd_link_state_retries(pd_link_state s)
{
	return s == PD_LINK_RETRYING || s == PD_LINK_PROTOCOL_ERROR;
}

/* The grid's PBX, calls and agents columns for one row: this console's
 * monitor's live figures when it knows the customer, else the PBX state the
 * monitor of any console stored in the database. */
#include <stdio.h>
#include <string.h>

#include "services.h"
#include "ui_internal.h"

void ui_live_for_row(struct ui_app *app, const pd_row *r, struct ui_live_cols *out)
{
	if (ui_live_row(app, r, out)) /* this console's monitor knows it: live figures */
		return;
	memset(out, 0, sizeof *out);
	out->pbx_role = UI_R_GRID_ROW;
	/* the state some console's monitor stored; calls and agents are known
	 * only to a monitor running here */
	if (r->pbx_state && *r->pbx_state) {
		snprintf(out->pbx, sizeof out->pbx, "%s", r->pbx_state);
		/* coloured by the stored state key, never by the text */
		if (r->pbx_link_known)
			out->pbx_role = ui_live_link_role(r->pbx_link);
	} else {
		snprintf(out->pbx, sizeof out->pbx, "—");
	}
	snprintf(out->calls, sizeof out->calls, "—");
	snprintf(out->agents, sizeof out->agents, "—");
}

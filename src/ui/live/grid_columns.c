/* The grid's PBX, calls and agents columns for one row: this console's
 * monitor's live figures when it knows the customer, else the PBX state the
 * monitor of any console stored in the database, with its age, or the last
 * known state marked "not monitored" when no running monitor stands behind
 * it (pd_pbx_status_fresh). */
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
	/* the state some monitor stored, with its age; calls and agents are
	 * known only to a monitor running here */
	if (r->pbx_state && *r->pbx_state) {
		int64_t now = pd_now();
		bool fresh = pd_row_pbx_text(r, now, out->pbx, sizeof out->pbx);
		if (fresh || !r->pbx_link_known || !r->pbx_updated_at) {
			/* coloured by the stored state key, never by the text */
			if (r->pbx_link_known)
				out->pbx_role = ui_live_link_role(r->pbx_link);
			if (r->pbx_link_known)
				pd_utf8_copys(out->pbx_mid, sizeof out->pbx_mid,
				              pd_link_state_label(r->pbx_link));
		} else {
			/* no running monitor stands behind it: the last known state,
			 * dim; the grid takes the longest form that fits */
			char age[16]; /* "12 min ago" */
			pd_age_text(r->pbx_updated_at, now, age, sizeof age);
			pd_snprintf(out->pbx, sizeof out->pbx, _("not monitored (%.14s, %.15s)"),
			            pd_link_state_label(r->pbx_link), age);
			pd_snprintf(out->pbx_mid, sizeof out->pbx_mid, _("not monitored, %.15s"),
			            age);
			pd_utf8_copys(out->pbx_short, sizeof out->pbx_short, _("stale"));
			out->pbx_role = ui_live_link_role(PD_LINK_DISABLED);
		}
	} else {
		pd_snprintf(out->pbx, sizeof out->pbx, "—");
	}
	pd_snprintf(out->calls, sizeof out->calls, "—");
	pd_snprintf(out->agents, sizeof out->agents, "—");
}

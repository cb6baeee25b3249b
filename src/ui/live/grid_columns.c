/* Small helpers shared by the screens, and the one place the grid reads
 * PBX/live figures from (to be wired to live.h by the PBX work). */
#include <stdio.h>
#include <string.h>

#include "ui_internal.h"
#include "services.h"

void ui_live_for_row(struct ui_app *app, const pd_row *r, struct ui_live_cols *out)
{
	if (ui_live_row(app, r, out)) /* this console's monitor knows it: live figures */
		return;
	memset(out, 0, sizeof *out);
	out->pbx_role = UI_R_GRID_ROW;
	/* the monitor stores its state in the database for every console; the
	 * live calls/agents come from live.h once the monitor runs here */
	if (r->pbx_state && *r->pbx_state) {
		snprintf(out->pbx, sizeof out->pbx, "%s", r->pbx_state);
		if (strstr(r->pbx_state, "auth") || strstr(r->pbx_state, "retrying"))
			out->pbx_role = UI_R_STATUS_ERROR;
		else if (strcmp(r->pbx_state, "monitoring") == 0)
			out->pbx_role = UI_R_STATUS_OK;
		else if (strcmp(r->pbx_state, "disabled") == 0)
			out->pbx_role = UI_R_GRID_DIM;
	} else {
		snprintf(out->pbx, sizeof out->pbx, "—");
	}
	snprintf(out->calls, sizeof out->calls, "—");
	snprintf(out->agents, sizeof out->agents, "—");
}

void ui_status_counts(struct ui_app *app, char *buf, size_t n)
{
	(void)app;
	if (n)
		buf[0] = 0;
}

const char *ui_product_name(const struct ui_app *app, const char *key)
{
	const pd_product_type *p = key && app->cat ? pd_catalogue_product(app->cat, key) : NULL;
	return p && p->name ? p->name : key ? key : "";
}

const char *ui_country_name(const struct ui_app *app, const char *code)
{
	const pd_country *c = app->geo && code ? pd_geo_country(app->geo, code) : NULL;
	return c ? c->name_en : code ? code : "";
}

int ui_list_move(size_t *sel, size_t n, size_t page, enum ui_action action)
{
	switch (action) {
	case UI_A_UP:
		if (*sel)
			(*sel)--;
		return UI_HANDLED | UI_REDRAW;
	case UI_A_DOWN:
		if (*sel + 1 < n)
			(*sel)++;
		return UI_HANDLED | UI_REDRAW;
	case UI_A_PAGE_UP:
		*sel = *sel > page ? *sel - page : 0;
		return UI_HANDLED | UI_REDRAW;
	case UI_A_PAGE_DOWN:
		*sel = n && *sel + page < n ? *sel + page : n ? n - 1 : 0;
		return UI_HANDLED | UI_REDRAW;
	case UI_A_HOME:
		*sel = 0;
		return UI_HANDLED | UI_REDRAW;
	case UI_A_END:
		*sel = n ? n - 1 : 0;
		return UI_HANDLED | UI_REDRAW;
	default:
		return 0;
	}
}

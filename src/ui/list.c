/* Moving the selection of a list screen (the customer view's tabs, the live
 * panels) with the movement actions of the key table. */
#include <stddef.h>

#include "ui_internal.h"

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

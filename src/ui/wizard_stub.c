/* Placeholder for the creation wizard (issue 4). The wizard replaces this
 * file with its own definition of ui_wizard_open (remove this file from
 * ui_src in src/ui/meson.build when adding wizard.c). */
#include "ui_internal.h"

int ui_wizard_open(struct ui_app *app)
{
	ui_dialog_message(app, "+ Create New Customer",
			  "The creation wizard is not available in this build yet.\n"
			  "Use the command line meanwhile:\n"
			  "provdesk customer create --name … --product-type … --country … "
			  "--admin-name … --admin-email …");
	return 0;
}

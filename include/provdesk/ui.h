/* The console. Only src/ui includes curses; this is its whole public face. */
#ifndef PROVDESK_UI_H
#define PROVDESK_UI_H

#include <stdbool.h>

#include "provdesk/catalogue.h"
#include "provdesk/config.h"

typedef struct {
	const pd_config *cfg;
	const pd_catalogue *cat;
	const char *db_path;
	const char *config_path; /* --config or NULL: given to a monitor the console starts */
	const char *theme;       /* --theme, else cfg->ui_theme */
	bool noc;                /* read-only wall display */
	bool no_mouse;           /* --no-mouse (else cfg->ui_mouse) */
	bool demo;               /* a lab PBX was started for the demo database */
} pd_ui_opts;

/* Runs the console until the user quits; returns a sysexits code. The
 * terminal is restored on every exit path. */
int pd_ui_run(const pd_ui_opts *o);

#endif

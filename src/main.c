/* provdesk: argument parsing and dispatch. A command goes to the command
 * line (src/cli); no command opens the console (src/ui). */
#include <locale.h>
#include <stdio.h>

#include "provdesk/cli.h"
#include "provdesk/ui.h"

/* --demo: the lab PBX (SPEC §5) started in the background with a demo
 * database, so that the console shows live calls at once. The lab PBX is the
 * PBX layer's; this is the one place that starts it for the console. */
static int demo_start(pd_cli *c, pd_ui_opts *o)
{
	(void)c;
	(void)o;
	fprintf(stderr, "provdesk: --demo: the lab PBX is not available in this build\n");
	return 69;
}

int main(int argc, char **argv)
{
	/* The console needs the user's locale for wide characters; the command
	 * line only prints UTF-8 it was given or read from the database. */
	setlocale(LC_ALL, "");
	pd_cli_globals g;
	int rc = pd_cli_parse_globals(argc, argv, &g);
	if (rc >= 0)
		return rc;
	pd_cli c;
	pd_cli_init(&c, &g);
	if (g.argi < argc) {
		if (g.noc || g.demo) {
			fprintf(stderr, "provdesk: %s opens the console and takes no command\n",
				g.noc ? "--noc" : "--demo");
			return 64;
		}
		rc = pd_cli_run(&c, argc - g.argi, argv + g.argi);
		pd_cli_free(&c);
		if (fflush(stdout) != 0 || ferror(stdout)) {
			perror("provdesk: standard output");
			if (rc == 0)
				rc = 74;
		}
		return rc;
	}
	rc = pd_cli_load(&c);
	if (rc) {
		pd_cli_free(&c);
		return rc;
	}
	pd_ui_opts o = {
		.cfg = &c.cfg,
		.cat = &c.cat,
		.db_path = c.db_path,
		.theme = g.theme ? g.theme : c.cfg.ui_theme,
		.noc = g.noc,
		.demo = false,
	};
	if (g.demo) {
		rc = demo_start(&c, &o);
		if (rc) {
			pd_cli_free(&c);
			return rc;
		}
	}
	rc = pd_ui_run(&o);
	pd_cli_free(&c);
	return rc;
}

/* provdesk: argument parsing and dispatch. A command goes to the command
 * line (src/cli); no command opens the console (src/ui). */
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "provdesk/cli.h"
#include "provdesk/i18n.h"
#include "provdesk/labpbx.h"
#include "provdesk/ui.h"
#include "provdesk/util.h"

#define DEMO_USER "admin"
#define DEMO_SECRET "lab-secret"

/* --demo: three lab PBXs (docs/user-guide.md, The lab PBX) started in the background (each on
 * its own thread) with a demo database, so that the console shows live calls at once on every
 * platform: an Asterisk (AMI) lab, a FreeSWITCH (event socket) lab with two domains and a
 * BroadWorks (Xsi) lab XSP with two groups, indexed by pd_lab_platform. */
#define DEMO_LABS 3
static const char *const demo_lab_names[DEMO_LABS] = {"Asterisk", "FreeSWITCH", "BroadWorks"};
static int demo_lab(pd_lab_platform platform, uint64_t seed, pd_labpbx **lab)
{
	pd_labpbx_opts lo = {
	    .platform = platform,
	    .listen_host = "127.0.0.1",
	    .port = 0, /* any free port: several demos may run at once */
	    .username = DEMO_USER,
	    .secret = DEMO_SECRET,
	    .users = 20,
	    .queues = 2,
	    .sites = 2,
	    .call_rate = 20, /* a call every ~3 s: a newcomer sees calls at once */
	    .seed = seed,
	};
	pd_err e;
	pd_err_clear(&e);
	if (labpbx_start(&lo, lab, &e) != PD_OK) {
		*lab = NULL;
		fprintf(stderr, "provdesk: --demo: cannot start the %s lab PBX: %s\n",
		        demo_lab_names[platform], e.message);
		return pd_status_exit_code(e.status ? e.status : PD_E_UNAVAILABLE);
	}
	return 0;
}

static int demo_start(pd_cli *c, pd_ui_opts *o, pd_labpbx *labs[DEMO_LABS])
{
	for (int i = 0; i < DEMO_LABS; i++) {
		int rc = demo_lab((pd_lab_platform)i, (uint64_t)i + 1, &labs[i]);
		if (rc)
			return rc;
	}
	pd_cli_demo_ports ports = {.ami = labpbx_port(labs[PD_LAB_ASTERISK_AMI]),
	                           .esl = labpbx_port(labs[PD_LAB_FREESWITCH_ESL]),
	                           .xsi = labpbx_port(labs[PD_LAB_BROADWORKS_XSI])};
	pd_err e;
	pd_err_clear(&e);
	if (pd_cli_demo_seed(c, "127.0.0.1", &ports, DEMO_USER, DEMO_SECRET, &e) != PD_OK) {
		fprintf(stderr, "provdesk: --demo: %s: %s%s%s\n", c->db_path, e.field,
		        e.field[0] ? ": " : "", e.message);
		return pd_status_exit_code(e.status ? e.status : PD_E_INTERNAL);
	}
	/* the console opens its own connection */
	store_close(c->store);
	c->store = NULL;
	o->demo = true;
	return 0;
}

/* A core dump of the console would hold the SMTP and PBX secrets it has
 * read: none is written, and the process cannot be dumped or attached by
 * another user, unless --core-dumps asks for them (debugging). Under
 * AddressSanitizer the process stays dumpable: its leak checker attaches to
 * the process with ptrace (docs/architecture.md, Secrets). */
static void no_core_dumps(void)
{
	struct rlimit rl = {0, 0};
	(void)setrlimit(RLIMIT_CORE, &rl);
#if !defined(__SANITIZE_ADDRESS__)
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#endif
}

int main(int argc, char **argv)
{
	/* The user's locale: wide characters for the console, and the language
	 * of what the console and the command line say (include/provdesk/i18n.h). */
	pd_i18n_init();
	pd_cli_guard_stderr();
	pd_cli_globals g;
	int rc = pd_cli_parse_globals(argc, argv, &g);
	if (rc >= 0)
		return rc;
	if (!g.core_dumps)
		no_core_dumps();
	pd_fd_limit_raise();  /* a link or two per PBX: more than 1,024 files */
	store_process_init(); /* before any thread or database */
	pd_cli c;
	pd_cli_init(&c, &g);
	pd_err ce;
	pd_err_clear(&ce);
	if (pd_clock_check(&ce) != PD_OK) {
		if (c.json)
			return pd_cli_fail(&c, &ce);
		fprintf(stderr, "provdesk: %s\n", ce.message);
		return pd_status_exit_code(ce.status);
	}
	if (g.argi < argc) {
		if (g.noc || g.demo)
			return pd_cli_usage(&c, "%s opens the console and takes no command",
			                    g.noc ? "--noc" : "--demo");
		pd_cli_guard_stdout(c.json);
		rc = pd_cli_run(&c, argc - g.argi, argv + g.argi);
		pd_cli_free(&c);
		if (fflush(stdout) != 0 || ferror(stdout)) {
			perror("provdesk: standard output");
			if (rc == 0)
				rc = pd_status_exit_code(PD_E_IO);
		}
		return rc;
	}
	if (g.json)
		return pd_cli_usage(&c, "--json needs a command (the console has no JSON output); "
		                        "try 'provdesk --help'");
	if (g.demo && !g.db_path)
		c.db_path = c.db_owned = pd_cli_demo_db_path();
	rc = pd_cli_load(&c);
	if (rc) {
		pd_cli_free(&c);
		return rc;
	}
	pd_ui_opts o = {
	    .cfg = &c.cfg,
	    .cat = &c.cat,
	    .db_path = c.db_path,
	    .config_path = c.config_path,
	    .theme = g.theme ? g.theme : c.cfg.ui_theme,
	    .noc = g.noc,
	    .no_mouse = g.no_mouse,
	    .demo = false,
	};
	pd_labpbx *labs[DEMO_LABS] = {NULL};
	if (g.demo)
		rc = demo_start(&c, &o, labs);
	if (rc == 0)
		rc = pd_ui_run(&o);
	for (int i = DEMO_LABS - 1; i >= 0; i--)
		labpbx_stop(labs[i]);
	pd_cli_free(&c);
	return rc;
}

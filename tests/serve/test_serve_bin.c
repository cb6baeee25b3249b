/* `provdesk serve` as the built binary (its path in $PROVDESK_BIN): one per
 * database (a second exits 75 naming the pid), --detach returns once the
 * socket accepts, --status and --stop, SIGTERM closes the PBX links with a
 * goodbye, and an invitation reaches a real aiosmtpd with no console ever
 * opened. */
#include "../store/fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "../mail/mail_fixture.h"
#include "provdesk/labpbx.h"
#include "provdesk/live.h"
#include "provdesk/serve.h"
#include "provdesk/serve_server.h"
#include "provdesk/util.h"

#define SECRET "Serve-Bin-S3cret"

static char conf[600];

static void setup(void)
{
	fx_setup(); /* the daemon creates the database */
	snprintf(conf, sizeof conf, "%s/provdesk.conf", fx_dir);
	mt_write_file(conf, "[serve]\nresync_interval = 0\n");
	setenv("PROVDESK_TODAY", "2026-11-10", 1);
}

static void teardown(void)
{
	/* a daemon a failed test left behind */
	pid_t pid = 0;
	pd_err e = {0};
	if (pd_serve_running(fx_db, &pid, &e) == PD_OK && pid > 0)
		kill(pid, SIGKILL);
	fx_teardown();
}

TestSuite(serve_bin, .init = setup, .fini = teardown, .timeout = 120);

static const char *bin(void)
{
	const char *b = getenv("PROVDESK_BIN");
	cr_assert(b && *b, "PROVDESK_BIN is not set (tests/serve/meson.build)");
	return b;
}

/* provdesk --db DB --config CONF ARGS...; stderr into *err (may be NULL).
 * With wait false, the pid (stdout/stderr to DIR/serve.out). */
static pid_t spawn(const char *const *args, const char *out_name)
{
	fflush(NULL);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		char *out = xasprintf("%s/%s", fx_dir, out_name);
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		const char *argv[32] = {bin(), "--db", fx_db, "--config", conf};
		int n = 5;
		for (int i = 0; args[i] && n < 31; i++)
			argv[n++] = args[i];
		argv[n] = NULL;
		execv(bin(), (char *const *)argv);
		_exit(127);
	}
	return pid;
}

static int wait_exit(pid_t pid, int ms)
{
	int64_t until = pd_live_now_ms() + (int64_t)ms * tl_slow();
	int st = 0;
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		if (pd_live_now_ms() > until) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			cr_assert_fail("provdesk did not exit in time");
		}
		poll(NULL, 0, 20);
	}
}

static int run(const char *const *args, const char *out_name)
{
	return wait_exit(spawn(args, out_name), 30000);
}

static char *output(const char *out_name)
{
	char *p = xasprintf("%s/%s", fx_dir, out_name);
	char *t = tl_slurp(p, NULL);
	free(p);
	return t ? t : xstrdup("");
}

static bool log_has(const char *out_name, const char *what)
{
	char *t = output(out_name);
	bool has = strstr(t, what) != NULL;
	free(t);
	return has;
}

#define WAIT_FOR(cond, ms, ...) TL_UNTIL(cond, ms, poll(NULL, 0, 20), __VA_ARGS__)

static bool socket_exists(void)
{
	pd_err e = {0};
	char *p = pd_serve_socket_path(fx_db, &e);
	bool ok = p && access(p, F_OK) == 0;
	free(p);
	return ok;
}

Test(serve_bin, detach_status_second_refused_stop)
{
	const char *status[] = {"serve", "--status", NULL};
	cr_assert_eq(run(status, "s0.out"), 69, "nothing runs yet");
	const char *det[] = {"serve", "--detach", NULL};
	cr_assert_eq(run(det, "d.out"), 0, "%s", output("d.out"));
	cr_assert(socket_exists(), "--detach returned before the socket was there");
	cr_assert_eq(run(status, "s1.out"), 0, "%s", output("s1.out"));
	char *st = output("s1.out");
	cr_assert(strstr(st, "running: pid "), "%s", st);
	long pid = strtol(strstr(st, "pid ") + 4, NULL, 10);
	free(st);
	cr_assert_gt(pid, 0);
	/* one per database: the second says who holds it */
	const char *fg[] = {"serve", NULL};
	cr_assert_eq(run(fg, "second.out"), 75);
	char *err = output("second.out");
	char want[40];
	snprintf(want, sizeof want, "(pid %ld)", pid);
	cr_assert(strstr(err, want) && strstr(err, "already runs"), "%s", err);
	free(err);
	const char *stop[] = {"serve", "--stop", NULL};
	cr_assert_eq(run(stop, "stop.out"), 0, "%s", output("stop.out"));
	/* the lock goes just before the process ends */
	WAIT_FOR(kill((pid_t)pid, 0) == -1, 5000, "the daemon is still there");
	cr_assert(!socket_exists(), "its socket is removed");
	cr_assert_eq(run(stop, "stop2.out"), 69, "nothing to stop");
	cr_assert_eq(run(status, "s2.out"), 69);
	char *log = output("sub/provdesk.db.serve.log");
	cr_assert(strstr(log, "provdesk serve: pid ") && strstr(log, "stopped"), "%s", log);
	free(log);
}

Test(serve_bin, usage_errors)
{
	const char *a[] = {"serve", "--stop", "--status", NULL};
	cr_assert_eq(run(a, "u1.out"), 64);
	const char *b[] = {"serve", "--stop", "--detach", NULL};
	cr_assert_eq(run(b, "u2.out"), 64);
	const char *c[] = {"serve", "extra", NULL};
	cr_assert_eq(run(c, "u3.out"), 64);
	const char *d[] = {"serve", "--nope", NULL};
	cr_assert_eq(run(d, "u4.out"), 64);
	mt_write_file(conf, "[serve]\nidle_exit = never\n");
	const char *e[] = {"serve", NULL};
	cr_assert_eq(run(e, "u5.out"), 78, "a bad configuration");
	char *out = output("u5.out");
	cr_assert(strstr(out, "idle_exit"), "%s", out);
	free(out);
}

/* SIGTERM: the links say goodbye (AMI Logoff) and close, the socket goes,
 * exit 0. */
Test(serve_bin, sigterm_closes_the_links)
{
	pd_labpbx_opts lo = {.users = 10, .username = "admin", .secret = SECRET};
	pd_labpbx *l;
	pd_err e = {0};
	cr_assert_eq(labpbx_start(&lo, &l, &e), PD_OK, "%s", e.message);
	fx_s = fx_open();
	int64_t cid = fx_create("Goodbye SA");
	fx_add_ami_pbx(cid, labpbx_port(l), SECRET);
	/* started from a shell with few open files allowed (this test's
	 * process ends with the test) */
	struct rlimit rl;
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &(struct rlimit){64, rl.rlim_max}), 0);
	const char *fg[] = {"serve", NULL};
	pid_t pid = spawn(fg, "fg.out");
	WAIT_FOR(labpbx_sessions(l) == 1, 15000, "the daemon never logged in: %s",
	         output("fg.out"));
	/* logged in is not yet monitoring: the link is stopped once it is */
	WAIT_FOR(log_has("fg.out", "monitoring"), 15000, "the link never reached monitoring");
	/* a link or two per PBX: the daemon took all the open files it may */
	char lp[64];
	snprintf(lp, sizeof lp, "/proc/%ld/limits", (long)pid);
	char *lim = tl_slurp(lp, NULL);
	cr_assert_not_null(lim);
	const char *mo = strstr(lim, "Max open files");
	cr_assert_not_null(mo, "%s", lim);
	char soft[32], hard[32];
	cr_assert_eq(sscanf(mo + strlen("Max open files"), "%31s %31s", soft, hard), 2);
	long want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > (rlim_t)1 << 20
	                ? 1L << 20
	                : (long)rl.rlim_max;
	cr_assert_eq(strtol(soft, NULL, 10), want, "soft %s, hard %s", soft, hard);
	free(lim);
	cr_assert_eq(kill(pid, SIGTERM), 0);
	cr_assert_eq(wait_exit(pid, 15000), 0, "%s", output("fg.out"));
	WAIT_FOR(labpbx_sessions(l) == 0, 5000, "the lab still has a session");
	cr_assert_eq(labpbx_logoffs(l), 1, "no AMI Logoff before the close");
	cr_assert_eq(labpbx_logins(l), 1);
	cr_assert(!socket_exists());
	char *log = output("fg.out");
	cr_assert(strstr(log, "monitoring") && strstr(log, "stopped"), "%s", log);
	cr_assert_null(strstr(log, SECRET), "the secret reached the log");
	free(log);
	labpbx_stop(l);
}

/* A link's last error is kept untranslated with its arguments: the daemon
 * logs it in its own language, and a reader in another (the CLI here; the
 * console the same way, through the serve protocol) shows all of it in its
 * own, the system error too. */
Test(serve_bin, a_link_error_reads_in_each_readers_language)
{
	if (!setlocale(LC_ALL, "fr_FR.UTF-8"))
		cr_skip_test("fr_FR.UTF-8 is not generated (.ci/deps --test makes it)");
	char refused_fr[200];
	pd_utf8_copys(refused_fr, sizeof refused_fr, strerror(ECONNREFUSED));
	setlocale(LC_ALL, "C.UTF-8");
	int port = tl_free_port(); /* nothing listens there */
	fx_s = fx_open();
	int64_t cid = fx_create("Babel SARL");
	fx_add_ami_pbx(cid, port, SECRET);
	unsetenv("LANGUAGE");
	setenv("LC_ALL", "C.UTF-8", 1); /* the daemon speaks English */
	const char *fg[] = {"serve", NULL};
	pid_t pid = spawn(fg, "fg.out");
	char en[200];
	snprintf(en, sizeof en, "TCP connect to 127.0.0.1:%d: Connection refused", port);
	WAIT_FOR(log_has("fg.out", en), 15000, "the daemon's log: %s", output("fg.out"));
	setenv("LC_ALL", "fr_FR.UTF-8", 1); /* a French reader */
	const char *status[] = {"pbx", "status", "Babel SARL", NULL};
	run(status, "fr.out");
	char fr[300];
	snprintf(fr, sizeof fr, "connexion TCP à 127.0.0.1:%d : %s", port, refused_fr);
	char *out = output("fr.out");
	cr_assert(strstr(out, fr), "want \"%s\" in:\n%s", fr, out);
	cr_assert_null(strstr(out, "TCP connect to"), "English left in:\n%s", out);
	free(out);
	setenv("LC_ALL", "C.UTF-8", 1); /* and an English one, from the same bytes */
	run(status, "en.out");
	out = output("en.out");
	cr_assert(strstr(out, en), "want \"%s\" in:\n%s", en, out);
	free(out);
	cr_assert_eq(kill(pid, SIGTERM), 0);
	cr_assert_eq(wait_exit(pid, 15000), 0, "%s", output("fg.out"));
}

/* The state a monitor stores ("retrying in 8s") is kept the same way: a
 * French reader of what an English daemon wrote reads it in French once
 * the daemon is gone (pbx status, pbx show, customer show), an English one
 * in English; and the words the store puts in for a connection no monitor
 * wrote are the reader's too. */
Test(serve_bin, a_stored_state_reads_in_each_readers_language)
{
	if (!setlocale(LC_ALL, "fr_FR.UTF-8"))
		cr_skip_test("fr_FR.UTF-8 is not generated (.ci/deps --test makes it)");
	setlocale(LC_ALL, "C.UTF-8");
	fx_s = fx_open();
	int64_t cid = fx_create("Babel SARL");
	fx_add_ami_pbx(cid, tl_free_port(), SECRET); /* nothing listens there */
	int64_t idle = fx_create("Calme SARL");
	fx_add_ami_pbx(idle, tl_free_port(), SECRET);
	cr_assert_eq(store_pbx_set_enabled(fx_s, idle, false, &fx_alice, NULL), PD_OK);
	unsetenv("LANGUAGE");
	setenv("LC_ALL", "C.UTF-8", 1); /* the daemon speaks English */
	const char *fg[] = {"serve", NULL};
	pid_t pid = spawn(fg, "fg.out");
	pd_pbx_status st = {0};
	WAIT_FOR(store_pbx_status_get(fx_s, cid, &st, NULL) == PD_OK && st.link == PD_LINK_RETRYING,
	         15000, "no retrying state stored: %s", output("fg.out"));
	pd_pbx_status_free(&st);
	cr_assert_eq(kill(pid, SIGTERM), 0);
	cr_assert_eq(wait_exit(pid, 15000), 0, "%s", output("fg.out"));
	setenv("LC_ALL", "fr_FR.UTF-8", 1); /* a French reader */
	const char *const reads[][5] = {{"pbx", "status", "Babel SARL", NULL},
	                                {"pbx", "show", "Babel SARL", NULL},
	                                {"customer", "show", "Babel SARL", NULL}};
	for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++) {
		run(reads[i], "fr.out");
		char *out = output("fr.out");
		cr_assert(strstr(out, "nouvel essai dans "), "%s %s: want French in:\n%s",
		          reads[i][0], reads[i][1], out);
		cr_assert_null(strstr(out, "retrying"), "English left in:\n%s", out);
		cr_assert_null(strpbrk(out, "\x1c\x1d\x1e\x1f"), "a mark byte shown:\n%s", out);
		free(out);
	}
	const char *list[] = {"customer", "list", NULL};
	run(list, "list.out");
	char *out = output("list.out");
	cr_assert(strstr(out, "désactivé"), "the disabled connection, in French:\n%s", out);
	cr_assert_null(strstr(out, "disabled"), "English left in:\n%s", out);
	free(out);
	setenv("LC_ALL", "C.UTF-8", 1); /* and an English one, from the same bytes */
	run(reads[0], "en.out");
	out = output("en.out");
	cr_assert(strstr(out, "Last known:   retrying in "), "want English in:\n%s", out);
	free(out);
}

/* `customer create` queues the invitation; the daemon (no console, no
 * `outbox send`) delivers it. */
Test(serve_bin, invitation_delivered_without_a_console)
{
	mt_sink sink;
	cr_assert(mt_sink_start(&sink, fx_dir, 0, NULL, NULL), "aiosmtpd did not start");
	char text[400];
	snprintf(text, sizeof text,
	         "[serve]\nresync_interval = 0\n[smtp]\nurl = %s\nstarttls = off\n", sink.url);
	mt_write_file(conf, text);
	const char *fg[] = {"serve", NULL};
	pid_t pid = spawn(fg, "fg.out");
	WAIT_FOR(socket_exists(), 15000, "the daemon did not start: %s", output("fg.out"));
	const char *create[] = {"customer",
	                        "create",
	                        "--name",
	                        "Lettre SA",
	                        "--product-type",
	                        "analytics-pro",
	                        "--country",
	                        "FR",
	                        "--admin-name",
	                        "Léa Martin",
	                        "--admin-email",
	                        "lea@lettre.example",
	                        NULL};
	cr_assert_eq(run(create, "create.out"), 0, "%s", output("create.out"));
	cr_assert(mt_wait_mail_count(&sink, 1, 30000 * tl_slow()), "no mail delivered: %s",
	          output("fg.out"));
	json_t *m = mt_mail_get(&sink, 0);
	cr_assert_not_null(m);
	const char *to = json_string_value(json_object_get(m, "to"));
	cr_assert(to && strstr(to, "lea@lettre.example"), "to: %s", to ? to : "(none)");
	json_decref(m);
	kill(pid, SIGTERM);
	cr_assert_eq(wait_exit(pid, 15000), 0);
	char *log = output("fg.out");
	cr_assert(strstr(log, "outbox: 1 sent"), "%s", log);
	free(log);
	mt_sink_stop(&sink);
}

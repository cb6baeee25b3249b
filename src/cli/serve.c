/* provdesk serve: the per-host daemon of a database (docs/provdesk.1, serve;
 * docs/architecture.md, "provdesk serve"). The daemon itself is
 * src/serve/server.c; this is its command line: foreground, --detach,
 * --stop and --status. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli_internal.h"
#include "provdesk/i18n.h"
#include "provdesk/live.h"
#include "provdesk/paths.h"
#include "provdesk/serve.h"
#include "provdesk/serve_server.h"
#include "provdesk/util.h"

#define STOP_WAIT_MS 10000
#define STATUS_WAIT_MS 3000

static const char help_serve[] = N_(
    "Usage: provdesk [--db PATH] [--config PATH] serve [--listen ADDR:PORT] [--detach] [--auto]\n"
    "       provdesk [--db PATH] serve --stop | --status [--json]\n"
    "Runs the one monitor of the database: every PBX link of the enabled customers,\n"
    "the outbox sender, trial expiry and the scheduled resync ([serve] resync_interval).\n"
    "Consoles, NOC screens and commands attach to it over a Unix socket beside the\n"
    "database. One per database: a second one exits 75 naming the pid that runs.\n"
    "Logs one line per event to standard error. SIGTERM or SIGINT closes the links\n"
    "and stops; SIGHUP reads the configuration again (a bad one is refused, the\n"
    "one in force stays).\n"
    "  --listen ADDR:PORT  serve the HTTP API there ([api] listen in provdesk.conf;\n"
    "            HTTPS with [api] cert and key, plain HTTP only on loopback with\n"
    "            [api] allow_plain = yes)\n"
    "  --detach  run in the background (logs appended to DATABASE.serve.log); returns\n"
    "            once the socket accepts\n"
    "  --auto    exit [serve] idle_exit seconds after the last client left, when\n"
    "            nothing is to be sent (consoles start the daemon so)\n"
    "  --stop    stop the running daemon (waits up to 10 s); exit 69 when none runs\n"
    "  --status  whether one runs: pid, since, clients, links; exit 69 when none\n");

/* ---- --status: one request over the socket ---- */

static int connect_socket(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof sa.sun_path)
		return -1;
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool send_json(int fd, json_t *j)
{
	size_t n = 0;
	char *line = pd_sp_encode(j, &n);
	json_decref(j);
	bool ok = line && send(fd, line, n, MSG_NOSIGNAL) == (ssize_t)n;
	free(line);
	return ok;
}

/* The next message, within the deadline; NULL on end, error or timeout. */
static json_t *recv_json(int fd, pd_sp_reader *r, int64_t deadline)
{
	for (;;) {
		json_t *m = NULL;
		pd_err e = {0};
		int k = pd_sp_reader_next(r, &m, &e);
		if (k != 0)
			return k > 0 ? m : NULL;
		int64_t left = deadline - pd_live_now_ms();
		if (left <= 0)
			return NULL;
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		if (poll(&pf, 1, (int)left) <= 0)
			return NULL;
		char buf[8192];
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		if (n <= 0 || pd_sp_reader_feed(r, buf, (size_t)n, &e) != PD_OK)
			return NULL;
	}
}

/* The daemon's "status" reply, or NULL. */
static json_t *ask_status(const char *db_path)
{
	pd_err e = {0};
	char *sp = pd_serve_socket_path(db_path, &e);
	int fd = sp ? connect_socket(sp) : -1;
	free(sp);
	if (fd < 0)
		return NULL;
	pd_sp_reader r;
	pd_sp_reader_init(&r, PD_SERVE_MAX_MSG);
	int64_t deadline = pd_live_now_ms() + STATUS_WAIT_MS;
	json_t *reply = NULL;
	if (send_json(fd, json_pack("{s:s,s:i,s:s,s:b}", "t", "hello", "v", PD_SERVE_PROTO,
	                            "client", "cli", "live", 0))) {
		json_t *h = recv_json(fd, &r, deadline);
		bool hello = h && !strcmp(json_string_value(json_object_get(h, "t")), "hello");
		json_decref(h);
		if (hello &&
		    send_json(fd, json_pack("{s:s,s:i,s:s}", "t", "req", "id", 1, "op", "status")))
			reply = recv_json(fd, &r, deadline);
	}
	pd_sp_reader_free(&r);
	close(fd);
	if (reply && !json_is_true(json_object_get(reply, "ok"))) {
		json_decref(reply);
		reply = NULL;
	}
	return reply;
}

static int serve_status(pd_cli *c)
{
	pid_t pid = 0;
	pd_err e = {0};
	if (pd_serve_running(c->db_path, &pid, &e) != PD_OK) {
		if (c->json) {
			json_t *o = json_pack("{s:b,s:s}", "running", 0, "database", c->db_path);
			pd_cli_print_json(c, o);
		} else
			printf(_("not running: no provdesk serve for %s\n"), c->db_path);
		return pd_status_exit_code(PD_E_UNAVAILABLE);
	}
	json_t *st = ask_status(c->db_path);
	json_int_t since = st ? json_integer_value(json_object_get(st, "since")) : 0;
	json_int_t clients = st ? json_integer_value(json_object_get(st, "clients")) : -1;
	json_int_t links = st ? json_integer_value(json_object_get(st, "links")) : -1;
	if (c->json) {
		json_t *o = json_pack("{s:b,s:s,s:I}", "running", 1, "database", c->db_path, "pid",
		                      (json_int_t)pid);
		if (st) {
			json_object_set_new(o, "since", pd_json_time(since));
			json_object_set_new(o, "clients", json_integer(clients));
			json_object_set_new(o, "links", json_integer(links));
		}
		pd_cli_print_json(c, o);
	} else if (st) {
		char at[32];
		pd_fmt_time(since, at);
		printf(_("running: pid %ld since %s, %lld clients, %lld links (%s)\n"), (long)pid,
		       at, (long long)clients, (long long)links, c->db_path);
	} else {
		printf(_("running: pid %ld (%s); its socket does not answer\n"), (long)pid,
		       c->db_path);
	}
	json_decref(st);
	return 0;
}

static int serve_stop(pd_cli *c)
{
	pid_t pid = 0;
	pd_err e = {0};
	if (pd_serve_running(c->db_path, &pid, &e) != PD_OK)
		return pd_cli_fail(c, &e);
	if (pid <= 0)
		return pd_cli_failf(c, PD_E_TEMPFAIL, NULL,
		                    _("provdesk serve for %s is starting; try again"), c->db_path);
	if (kill(pid, SIGTERM) != 0)
		return pd_cli_failf(c, errno == EPERM ? PD_E_AUTH : PD_E_UNAVAILABLE, NULL,
		                    _("cannot stop pid %ld: %s"), (long)pid, strerror(errno));
	int64_t until = pd_live_now_ms() + STOP_WAIT_MS;
	while (pd_serve_running(c->db_path, &(pid_t){0}, &e) == PD_OK) {
		if (pd_live_now_ms() > until)
			return pd_cli_failf(c, PD_E_TEMPFAIL, NULL,
			                    _("provdesk serve (pid %ld) did not stop within %d s"),
			                    (long)pid, STOP_WAIT_MS / 1000);
		struct timespec ts = {0, 50 * 1000000L};
		nanosleep(&ts, NULL);
	}
	if (!c->json)
		fprintf(stderr, _("provdesk serve (pid %ld) stopped\n"), (long)pid);
	else
		pd_cli_print_json(c, json_pack("{s:b,s:I}", "stopped", 1, "pid", (json_int_t)pid));
	return 0;
}

/* ---- the daemon ---- */

static int run_daemon(pd_cli *c, bool auto_exit, const char *listen, int ready_fd)
{
	pd_serve_opts o = {
	    .db_path = c->db_path,
	    .config_path = c->config_path,
	    .auto_exit = auto_exit,
	    .api_listen = listen,
	};
	pd_serve *s = NULL;
	pd_err e = {0};
	pd_status st = pd_serve_open(&o, &s, &e);
	if (ready_fd >= 0) {
		/* the parent's answer: a status byte, then the message */
		char buf[600];
		buf[0] = (char)st;
		int n = snprintf(buf + 1, sizeof buf - 1, "%s", st == PD_OK ? "" : e.message);
		ssize_t w = write(ready_fd, buf, (size_t)n + 1);
		(void)w;
		close(ready_fd);
	}
	if (st != PD_OK) {
		if (ready_fd >= 0)
			return pd_status_exit_code(st);
		return pd_cli_fail(c, &e);
	}
	pd_serve_handle_signals(s);
	st = pd_serve_run(s, &e);
	pd_serve_close(s);
	if (st != PD_OK && ready_fd < 0)
		return pd_cli_fail(c, &e);
	return pd_status_exit_code(st);
}

/* fork, setsid, fork: the daemon has no terminal; this process returns once
 * the socket accepts (or with the daemon's error). */
static int detach(pd_cli *c, bool auto_exit, const char *listen)
{
	char *log_path = xasprintf("%s.serve.log", c->db_path);
	/* a new database: its directory, for the log (the daemon makes it too) */
	char *dir = xstrdup(c->db_path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		if (access(dir, F_OK) != 0)
			pd_mkdir_p(dir, 0700);
	}
	free(dir);
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0) {
		free(log_path);
		return pd_cli_failf(c, PD_E_INTERNAL, NULL, "pipe: %s", strerror(errno));
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		free(log_path);
		return pd_cli_failf(c, PD_E_INTERNAL, NULL, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		close(p[0]);
		setsid();
		pid_t pid2 = fork();
		if (pid2 != 0) {
			free(log_path);
			_exit(pid2 < 0 ? pd_status_exit_code(PD_E_INTERNAL) : 0);
		}
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
		int logfd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		free(log_path); /* the daemon runs for days: nothing of the parent's held */
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
		}
		if (logfd >= 0)
			dup2(logfd, 2);
		else if (nul >= 0)
			dup2(nul, 2);
		if (chdir("/") != 0) {
			/* nothing: the paths are absolute or stay as given */
		}
		/* the daemon writes its log lines to stderr, now the file */
		_exit(run_daemon(c, auto_exit, listen, p[1]));
	}
	close(p[1]);
	int status;
	waitpid(pid, &status, 0);
	char buf[600];
	ssize_t n;
	do
		n = read(p[0], buf, sizeof buf - 1);
	while (n < 0 && errno == EINTR);
	close(p[0]);
	if (n <= 0) {
		int rc = pd_cli_failf(c, PD_E_INTERNAL, NULL,
		                      _("provdesk serve did not start (see %s)"), log_path);
		free(log_path);
		return rc;
	}
	free(log_path);
	buf[n] = 0;
	pd_status st = (pd_status)(unsigned char)buf[0];
	if (st != PD_OK) {
		pd_err e = {0};
		pd_fail(&e, st < PD_STATUS__COUNT ? st : PD_E_INTERNAL, NULL, "%s", buf + 1);
		return pd_cli_fail(c, &e);
	}
	return 0;
}

int pd_cli_serve(pd_cli *c, int argc, char **argv)
{
	bool det = false, aut = false, stop = false, status = false;
	const char *listen = NULL;
	const pd_opt opts[] = {
	    {"listen", PD_OPT_VAL, &listen, NULL},  {"detach", PD_OPT_FLAG, NULL, &det},
	    {"auto", PD_OPT_FLAG, NULL, &aut},      {"stop", PD_OPT_FLAG, NULL, &stop},
	    {"status", PD_OPT_FLAG, NULL, &status}, {NULL, 0, NULL, NULL},
	};
	const char *pos[1] = {NULL};
	int np = 0;
	int rc = pd_cli_parse(c, "serve", argc, argv, opts, pos, 0, 0, &np, help_serve);
	if (rc != PD_CLI_CONTINUE)
		return rc;
	if (stop + status > 1 || ((stop || status) && (det || aut || listen)))
		return pd_cli_usage(c, _("serve: --stop and --status go alone; try 'provdesk serve "
		                         "--help'"));
	if (status)
		return serve_status(c);
	if (stop)
		return serve_stop(c);
	if (det)
		return detach(c, aut, listen);
	signal(SIGPIPE, SIG_IGN);
	return run_daemon(c, aut, listen, -1);
}

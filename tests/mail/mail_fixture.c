#include "mail_fixture.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pd_build_config.h"

#define PYTHON "/usr/bin/python3"

/* The environment of `meson test` names the source root; the valgrind
 * setup does not, so fall back to the one configured at build time. */
static const char *source_root(void)
{
	const char *r = getenv("PROVDESK_SOURCE_ROOT");
	return r && *r ? r : PD_SOURCE_ROOT;
}

static bool port_accepts(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_port = htons((uint16_t)port),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
	close(fd);
	return ok;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static bool spawn(mt_sink *s, const char *dir, char *const argv[])
{
	char log[600];
	snprintf(log, sizeof log, "%s/smtp-%d.log", dir, s->port);
	pid_t pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		/* The mail server is a peer with its own clock: a suite run under
		 * faketime (CI's awkward-date pass) must not fake python's asyncio. */
		const char *pre = getenv("LD_PRELOAD");
		if (pre && strstr(pre, "faketime"))
			unsetenv("LD_PRELOAD");
		execv(PYTHON, argv);
		_exit(127);
	}
	s->pid = pid;
	/* Ready after about 0.4 s (docs/architecture.md, Testing notes); allow a loaded machine 15
	 * s. */
	for (int i = 0; i < 300; i++) {
		if (port_accepts(s->port))
			return true;
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			s->pid = 0;
			return false;
		}
		sleep_ms(50);
	}
	mt_sink_stop(s);
	return false;
}

static void sink_init(mt_sink *s, const char *dir, int port)
{
	memset(s, 0, sizeof *s);
	s->port = port ? port : tl_free_port();
	snprintf(s->maildir, sizeof s->maildir, "%s/maildir", dir);
	snprintf(s->url, sizeof s->url, "smtp://127.0.0.1:%d", s->port);
}

bool mt_sink_start(mt_sink *s, const char *dir, int port, const char *user,
                   const char *password_file)
{
	sink_init(s, dir, port);
	char listen[64], script[1024];
	snprintf(listen, sizeof listen, "127.0.0.1:%d", s->port);
	if (!user) {
		char *argv[] = {PYTHON,     "-m",   "aiosmtpd", "-n",
		                "-l",       listen, "-c",       "aiosmtpd.handlers.Mailbox",
		                s->maildir, NULL};
		return spawn(s, dir, argv);
	}
	snprintf(script, sizeof script, "%s/tests/mail/smtp_server.py", source_root());
	char ports[16];
	snprintf(ports, sizeof ports, "%d", s->port);
	char *argv[] = {PYTHON,
	                script,
	                ports,
	                s->maildir,
	                "--user",
	                (char *)user,
	                "--password-file",
	                (char *)password_file,
	                NULL};
	return spawn(s, dir, argv);
}

bool mt_sink_start_script(mt_sink *s, const char *dir, int port)
{
	sink_init(s, dir, port);
	char script[1024], portn[16];
	snprintf(script, sizeof script, "%s/tests/mail/smtp_server.py", source_root());
	snprintf(portn, sizeof portn, "%d", s->port);
	char *argv[] = {PYTHON, script, portn, s->maildir, NULL};
	return spawn(s, dir, argv);
}

bool mt_sink_start_tls(mt_sink *s, const char *dir, const char *cert, const char *key,
                       bool implicit)
{
	sink_init(s, dir, 0);
	if (implicit)
		snprintf(s->url, sizeof s->url, "smtps://127.0.0.1:%d", s->port);
	char listen[64];
	snprintf(listen, sizeof listen, "127.0.0.1:%d", s->port);
	char *argv[] = {PYTHON,
	                "-m",
	                "aiosmtpd",
	                "-n",
	                "-l",
	                listen,
	                "-c",
	                "aiosmtpd.handlers.Mailbox",
	                implicit ? "--smtpscert" : "--tlscert",
	                (char *)cert,
	                implicit ? "--smtpskey" : "--tlskey",
	                (char *)key,
	                s->maildir,
	                NULL};
	/* aiosmtpd takes the handler arguments last, after the options. */
	return spawn(s, dir, argv);
}

bool mt_make_cert(const char *dir)
{
	char cmd[2048];
	snprintf(cmd, sizeof cmd,
	         "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
	         " -keyout '%s/key.pem' -out '%s/cert.pem' -days 2 -subj /CN=127.0.0.1"
	         " -addext subjectAltName=IP:127.0.0.1 >'%s/openssl.log' 2>&1",
	         dir, dir, dir);
	return system(cmd) == 0;
}

void mt_sink_stop(mt_sink *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		int st;
		/* Give it 3 s to stop cleanly, then make sure. */
		for (int i = 0; i < 60; i++) {
			if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
				s->pid = 0;
				return;
			}
			sleep_ms(50);
		}
		kill(s->pid, SIGKILL);
		waitpid(s->pid, &st, 0);
		s->pid = 0;
	}
}

/* Arrival order of the sink's maildir names, "SECONDS.MMICROSP<pid>Q<count>.host":
 * the seconds, then the server's delivery counter (the microseconds are not
 * zero-padded, so the names do not sort as text within one second). */
static void name_key(const char *n, long long *sec, long long *q)
{
	*sec = strtoll(n, NULL, 10);
	const char *p = strchr(n, 'Q');
	*q = p ? strtoll(p + 1, NULL, 10) : 0;
}

static int name_cmp(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	long long xs, xq, ys, yq;
	name_key(x, &xs, &xq);
	name_key(y, &ys, &yq);
	if (xs != ys)
		return xs < ys ? -1 : 1;
	if (xq != yq)
		return xq < yq ? -1 : 1;
	return strcmp(x, y);
}

/* Sorted names of the files in maildir/new; caller frees. */
static char **list_new(const mt_sink *s, int *n)
{
	char path[600];
	snprintf(path, sizeof path, "%s/new", s->maildir);
	*n = 0;
	DIR *d = opendir(path);
	if (!d)
		return NULL;
	char **v = NULL;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		v = realloc(v, sizeof *v * (size_t)(*n + 1));
		v[(*n)++] = strdup(de->d_name);
	}
	closedir(d);
	if (v)
		qsort(v, (size_t)*n, sizeof *v, name_cmp);
	return v;
}

int mt_mail_count(const mt_sink *s)
{
	int n;
	char **v = list_new(s, &n);
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return n;
}

bool mt_wait_mail_count(const mt_sink *s, int n, int timeout_ms)
{
	for (int t = 0; t <= timeout_ms; t += 20) {
		if (mt_mail_count(s) >= n)
			return true;
		sleep_ms(20);
	}
	return false;
}

json_t *mt_mail_get(const mt_sink *s, int i)
{
	int n;
	char **v = list_new(s, &n);
	json_t *j = NULL;
	if (i < n) {
		char cmd[2048];
		snprintf(cmd, sizeof cmd, PYTHON " '%s/tests/mail/decode_mail.py' '%s/new/%s'",
		         source_root(), s->maildir, v[i]);
		FILE *p = popen(cmd, "r");
		if (p) {
			json_error_t err;
			j = json_loadf(p, 0, &err);
			pclose(p);
		}
	}
	for (int k = 0; k < n; k++)
		free(v[k]);
	free(v);
	return j;
}

int mt_silent_listener(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof a;
	if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 8) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &l) != 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

void mt_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

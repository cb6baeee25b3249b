/* bench_api: the HTTP API beside the command line doing the same work, in the
 * same run, on N customers (default 100,000):
 *
 *   build-x/tests/bench/bench_api build-x/provdesk build-x/tests/api/api_serve [N [M]]
 *
 * 1. M creates (default 500), every rule checked, one transaction each:
 *    POST /v1/customers on one kept-alive connection, against M runs of
 *    `provdesk customer create` (a process each, as a script would);
 * 2. the database filled to N customers with `provdesk import`;
 * 3. GET /v1/customers?limit=50 with 50 filters and sorts, and the next page
 *    by cursor: median and p99, against `customer list --limit 50 --json`.
 * The API runs in api_serve (tests/api/api_serve.c) on a loopback port. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"

extern char **environ;

static int run(char *const argv[], const char *out)
{
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, out ? out : "/dev/null",
	                                 O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	pid_t pid;
	int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		return -1;
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void stats(const char *what, double *v, size_t n)
{
	qsort(v, n, sizeof *v, cmp_double);
	printf("%-44s median %7.2f ms   p99 %7.2f ms   (%zu)\n", what, v[n / 2] * 1e3,
	       v[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1] * 1e3, n);
}

typedef struct {
	char *s;
	size_t n;
} buf;

static size_t on_data(char *p, size_t sz, size_t nm, void *ud)
{
	buf *b = ud;
	size_t k = sz * nm;
	char *t = realloc(b->s, b->n + k + 1);
	if (!t)
		return 0;
	b->s = t;
	memcpy(b->s + b->n, p, k);
	b->n += k;
	b->s[b->n] = 0;
	return k;
}

/* One request on the kept-alive handle; the HTTP status, body in *b. */
static long http(CURL *c, struct curl_slist *h, const char *url, const char *post, buf *b)
{
	b->n = 0;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	if (post)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
	else
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	long st = 0;
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
	return st;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s PATH/TO/provdesk PATH/TO/api_serve [N [M]]\n", argv[0]);
		return 64;
	}
	const char *exe = argv[1], *serve = argv[2];
	long n = argc > 3 ? strtol(argv[3], NULL, 10) : 100000;
	long m = argc > 4 ? strtol(argv[4], NULL, 10) : 500;
	setvbuf(stdout, NULL, _IOLBF, 0);
	setenv("LANG", "C.UTF-8", 1);
	char dir[] = "/tmp/bench_api.XXXXXX";
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	char db[256], conf[256], csv[256], tokf[256], portf[256];
	snprintf(db, sizeof db, "%s/provdesk.db", dir);
	snprintf(conf, sizeof conf, "%s/provdesk.conf", dir);
	snprintf(csv, sizeof csv, "%s/c.csv", dir);
	snprintf(tokf, sizeof tokf, "%s/token", dir);
	snprintf(portf, sizeof portf, "%s/port", dir);
	FILE *f = fopen(conf, "w");
	if (f)
		fclose(f);
	char *tok_argv[] = {(char *)exe, "--db",   db,      "--config", conf,        "api-token",
	                    "create",    "--name", "bench", "--scope",  "provision", NULL};
	if (run(tok_argv, tokf) != 0) {
		fprintf(stderr, "bench_api: api-token create failed\n");
		return 1;
	}
	char token[128] = "";
	f = fopen(tokf, "r");
	if (!f || !fgets(token, sizeof token, f))
		return 1;
	fclose(f);
	token[strcspn(token, "\n")] = 0;

	/* the API */
	pid_t spid;
	char *srv_argv[] = {(char *)serve, "--db",          db,       "--listen",
	                    "127.0.0.1:0", "--allow-plain", "--rate", "100000000",
	                    "--burst",     "100000000",     NULL};
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, portf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (posix_spawn(&spid, serve, &fa, NULL, srv_argv, environ) != 0) {
		fprintf(stderr, "bench_api: cannot start %s\n", serve);
		return 1;
	}
	posix_spawn_file_actions_destroy(&fa);
	int port = 0;
	for (double t0 = now_s(); !port && now_s() - t0 < 20; usleep(20000)) {
		f = fopen(portf, "r");
		if (f && fscanf(f, "port %d", &port) != 1)
			port = 0;
		if (f)
			fclose(f);
	}
	if (!port) {
		fprintf(stderr, "bench_api: the API did not start\n");
		kill(spid, SIGTERM);
		return 1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	CURL *c = curl_easy_init();
	char auth[200];
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
	struct curl_slist *h = curl_slist_append(NULL, auth);
	h = curl_slist_append(h, "Content-Type: application/json");
	buf b = {0};
	char url[512], body[512];

	/* 1. creates */
	double t0 = now_s();
	long ok = 0;
	for (long i = 0; i < m; i++) {
		snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/customers", port);
		snprintf(
		    body, sizeof body,
		    "{\"name\": \"Api %06ld\", \"product_type\": \"analytics-pro\", \"country\": "
		    "\"FR\", \"admin_name\": \"A\", \"admin_email\": \"a%ld@api.example\"}",
		    i, i);
		ok += http(c, h, url, body, &b) == 201;
	}
	double t_api = now_s() - t0;
	t0 = now_s();
	long ok_cli = 0;
	for (long i = 0; i < m; i++) {
		char name[64], mail[64];
		snprintf(name, sizeof name, "Cli %06ld", i);
		snprintf(mail, sizeof mail, "a%ld@cli.example", i);
		char *cv[] = {
		    (char *)exe,     "--db",      db,       "--config",     conf,
		    "customer",      "create",    "--name", name,           "--product-type",
		    "analytics-pro", "--country", "FR",     "--admin-name", "A",
		    "--admin-email", mail,        NULL};
		ok_cli += run(cv, NULL) == 0;
	}
	double t_cli = now_s() - t0;
	printf("create, every rule, one transaction each:\n");
	printf("  API  POST /v1/customers      %ld/%ld in %.2f s: %.0f creates/s\n", ok, m, t_api,
	       (double)m / t_api);
	printf("  CLI  customer create (a process each) %ld/%ld in %.2f s: %.0f creates/s\n",
	       ok_cli, m, t_cli, (double)m / t_cli);

	/* 2. fill to n */
	f = fopen(csv, "w");
	if (!f)
		return 1;
	fputs("name,product_type,country,reference,notes,time_zone,trial_days,internal,admin_name,"
	      "admin_email,admin_extension\n",
	      f);
	for (long i = 0; i < n - 2 * m; i++)
		fprintf(f,
		        "\"Client %06ld, Société\",analytics-pro,FR,REF-%06ld,,,,,Admin,"
		        "a%ld@c%ld.example,\n",
		        i, i, i, i);
	fclose(f);
	char *imp[] = {(char *)exe, "--db", db, "--config", conf, "import", csv, NULL};
	t0 = now_s();
	if (run(imp, NULL) != 0) {
		fprintf(stderr, "bench_api: import failed\n");
		kill(spid, SIGTERM);
		return 1;
	}
	printf("filled to %ld customers (import) in %.1f s\n", n, now_s() - t0);

	/* 3. list */
	static const char *const filters[] = {"", "client 0", "REF-0123", "société", "99", "api"};
	static const char *const sorts[] = {"name", "-created", "reference", "country", "-users"};
	enum { R = 50 };
	double api_t[2 * R], cli_t[R], worst = 0;
	char worst_url[600] = "";
	size_t na = 0;
	for (int i = 0; i < R; i++) {
		char *fe = curl_easy_escape(c, filters[i % 6], 0);
		snprintf(url, sizeof url,
		         "http://127.0.0.1:%d/v1/customers?limit=50&filter=%s&sort=%s", port, fe,
		         sorts[i % 5]);
		curl_free(fe);
		t0 = now_s();
		long st = http(c, h, url, NULL, &b);
		api_t[na++] = now_s() - t0;
		if (api_t[na - 1] > worst) {
			worst = api_t[na - 1];
			snprintf(worst_url, sizeof worst_url, "%s", url);
		}
		char *cur = st == 200 && b.s ? strstr(b.s, "\"next_cursor\": \"") : NULL;
		if (cur) {
			cur += 16;
			*strchr(cur, '"') = 0;
			char next[600];
			snprintf(next, sizeof next, "%s&cursor=%s", url, cur);
			t0 = now_s();
			http(c, h, next, NULL, &b);
			api_t[na++] = now_s() - t0;
			if (api_t[na - 1] > worst) {
				worst = api_t[na - 1];
				snprintf(worst_url, sizeof worst_url, "%s", next);
			}
		}
		char *lv[] = {(char *)exe,
		              "--db",
		              db,
		              "--config",
		              conf,
		              "customer",
		              "list",
		              "--limit",
		              "50",
		              "--filter",
		              (char *)filters[i % 6],
		              "--json",
		              NULL};
		t0 = now_s();
		run(lv, NULL);
		cli_t[i] = now_s() - t0;
	}
	printf("list, 50 a page, at %ld customers:\n", n);
	stats("  API  GET /v1/customers (and next page)", api_t, na);
	stats("  CLI  customer list --limit 50 --json", cli_t, R);
	printf("  slowest API request: %.2f ms %s\n", worst * 1e3, strchr(worst_url + 7, '/'));

	kill(spid, SIGTERM);
	waitpid(spid, NULL, 0);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	free(b.s);
	char *rm[] = {"rm", "-rf", dir, NULL};
	run(rm, NULL);
	return 0;
}

/* bench_cli: the command line on 100,000 customers, driving the real binary.
 *
 *   build-x/tests/bench/bench_cli build-x/provdesk [N]
 *
 * 1. import of N customers from a generated CSV with every rule checked,
 *    against the same file through the sqlite3 shell's `.import` into a bare
 *    table, in the same run (ratio printed);
 * 2. `customer list --filter` with 50 different substrings of names and
 *    references: median and p99 wall time per command;
 * 3. `billing export` of the N customers (CSV and JSON).
 * Prints the machine first. Needs the sqlite3 shell on PATH. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

extern char **environ;

/* CPU time (user + system) of the last run(): comparable even when other
 * work shares the machine, unlike the wall time. */
static double last_cpu;

/* Runs argv with stdout to `out` (NULL: /dev/null) and stdin from `in`
 * (NULL: /dev/null); returns the exit status, or -1. */
static int run(char *const argv[], const char *in, const char *out)
{
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, in ? in : "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, out ? out : "/dev/null",
	                                 O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	pid_t pid;
	int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		fprintf(stderr, "bench_cli: cannot run %s: %s\n", argv[0], strerror(rc));
		return -1;
	}
	int st;
	struct rusage ru;
	while (wait4(pid, &st, 0, &ru) < 0 && errno == EINTR)
		;
	last_cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void machine(void)
{
	struct utsname u;
	uname(&u);
	char model[256] = "unknown";
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, "model name", 10) == 0) {
			char *p = strchr(line, ':');
			if (p) {
				snprintf(model, sizeof model, "%s", p + 2);
				model[strcspn(model, "\n")] = 0;
			}
			break;
		}
	if (f)
		fclose(f);
	printf("machine: %s %s, %s, %ld cores online\n", u.sysname, u.machine, model,
	       sysconf(_SC_NPROCESSORS_ONLN));
	f = fopen("/proc/loadavg", "r");
	if (f && fgets(line, sizeof line, f))
		printf("load average at start: %s", line);
	if (f)
		fclose(f);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static const char *const countries[] = {"FR", "DE", "BE", "ES", "IT", "GB", "US", "CH", "NL", "PT"};
static const char *const products[] = {"analytics-essentials", "analytics-pro", "contact-centre"};

static void gen_csv(const char *path, long n)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(1);
	}
	fputs("name,product_type,country,reference,notes,time_zone,trial_days,internal,admin_name,"
	      "admin_email,admin_extension\n",
	      f);
	for (long i = 0; i < n; i++)
		fprintf(f,
		        "\"Client %06ld, Société %s\",%s,%s,REF-%06ld,\"note %ld\",,%s,,Admin %ld,"
		        "admin%ld@client%ld.example,%ld\n",
		        i, i % 7 == 0 ? "Générale" : "Anonyme", products[i % 3], countries[i % 10],
		        i, i, i % 5 == 0 ? "30" : "", i, i, i, 1000 + i % 9000);
	fclose(f);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s PATH/TO/provdesk [N]\n", argv[0]);
		return 64;
	}
	const char *exe = argv[1];
	long n = argc > 2 ? strtol(argv[2], NULL, 10) : 100000;
	setvbuf(stdout, NULL, _IOLBF, 0); /* figures appear as they come */
	setenv("LANG", "C.UTF-8", 1);
	setenv("LC_ALL", "C.UTF-8", 1);
	machine();
	char dir[] = "/tmp/bench_cli.XXXXXX";
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	char csv[256], db[256], bare[256], conf[256], out[256], period[8];
	snprintf(csv, sizeof csv, "%s/customers.csv", dir);
	snprintf(db, sizeof db, "%s/provdesk.db", dir);
	snprintf(bare, sizeof bare, "%s/bare.db", dir);
	snprintf(conf, sizeof conf, "%s/provdesk.conf", dir);
	snprintf(out, sizeof out, "%s/billing.csv", dir);
	FILE *cf = fopen(conf, "w");
	if (cf)
		fclose(cf);
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(period, sizeof period, "%Y-%m", &tm);

	gen_csv(csv, n);
	struct stat sb;
	stat(csv, &sb);
	printf("input: %ld customers, %.1f MB CSV\n", n, (double)sb.st_size / 1e6);

	/* 1. import vs sqlite3 .import; first the checks alone (--dry-run) */
	double t0 = now_s();
	char *dry[] = {(char *)exe, "--db", db, "--config", conf, "import", csv, "--dry-run", NULL};
	int drc = run(dry, NULL, NULL);
	double t_dry = now_s() - t0, c_dry = last_cpu;
	t0 = now_s();
	char *imp[] = {(char *)exe, "--db", db, "--config", conf, "import", csv, NULL};
	int rc = run(imp, NULL, NULL);
	double t_imp = now_s() - t0, c_imp = last_cpu;
	if (rc != 0) {
		fprintf(stderr, "bench_cli: import failed (exit %d)\n", rc);
		return 1;
	}
	char dot[512];
	snprintf(dot, sizeof dot, ".import --csv %s bare", csv);
	char *sq[] = {"sqlite3", bare, dot, NULL};
	t0 = now_s();
	rc = run(sq, NULL, NULL);
	double t_sq = now_s() - t0, c_sq = last_cpu;
	if (rc != 0)
		fprintf(stderr, "bench_cli: sqlite3 .import failed (exit %d)\n", rc);
	printf("import %ld rows, every rule checked: %.2f s (%.0f rows/s)\n", n, t_imp,
	       (double)n / t_imp);
	printf("import --dry-run (every rule, no writes): %.2f s, CPU %.2f s%s\n", t_dry, c_dry,
	       drc ? " (FAILED)" : "");
	printf("sqlite3 .import into a bare table:  %.2f s (%.0f rows/s)\n", t_sq,
	       (double)n / t_sq);
	printf("ratio provdesk/sqlite3: %.1fx wall; CPU time %.2f s vs %.2f s: %.1fx\n",
	       t_imp / t_sq, c_imp, c_sq, c_imp / c_sq);

	/* 2. customer list --filter */
	enum { RUNS = 50 };
	double v[RUNS];
	for (int i = 0; i < RUNS; i++) {
		char filter[64];
		switch (i % 4) {
		case 0:
			snprintf(filter, sizeof filter, "Client %04ld",
			         (long)(i * 1777) % (n / 100 + 1));
			break;
		case 1:
			snprintf(filter, sizeof filter, "REF-%05ld",
			         (long)(i * 3571) % (n / 10 + 1));
			break;
		case 2:
			snprintf(filter, sizeof filter, "%06ld", (long)(i * 7919) % n);
			break;
		default:
			snprintf(filter, sizeof filter, "ref-0%02d", i);
			break; /* case-folded */
		}
		char *ls[] = {(char *)exe, "--db", db,         "--config", conf,
		              "customer",  "list", "--filter", filter,     NULL};
		t0 = now_s();
		rc = run(ls, NULL, NULL);
		v[i] = now_s() - t0;
		if (rc != 0)
			fprintf(stderr, "bench_cli: list --filter '%s' failed (exit %d)\n", filter,
			        rc);
	}
	qsort(v, RUNS, sizeof v[0], cmp_double);
	printf("customer list --filter (%d runs, different substrings, whole command): median "
	       "%.1f ms, p99 %.1f ms, min %.1f ms\n",
	       RUNS, v[RUNS / 2] * 1e3, v[(RUNS * 99) / 100] * 1e3, v[0] * 1e3);

	/* 3. billing export */
	char *bx[] = {(char *)exe, "--db",     db,     "--config", conf, "billing",
	              "export",    "--period", period, "--output", out,  NULL};
	t0 = now_s();
	rc = run(bx, NULL, NULL);
	double t_b = now_s() - t0;
	stat(out, &sb);
	printf("billing export --period %s (%ld customers, CSV): %.2f s, %.1f MB%s\n", period, n,
	       t_b, (double)sb.st_size / 1e6, rc ? " (FAILED)" : "");
	char *bj[] = {(char *)exe, "--db",     db,     "--config", conf,   "billing",
	              "export",    "--period", period, "--format", "json", NULL};
	t0 = now_s();
	rc = run(bj, NULL, NULL);
	printf("billing export --format json: %.2f s%s\n", now_s() - t0, rc ? " (FAILED)" : "");

	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_cli: could not remove %s\n", dir);
	return 0;
}

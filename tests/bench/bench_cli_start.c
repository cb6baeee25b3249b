/* bench_cli_start: the start-up of a short command (issue 19 item 4):
 * `customer list --filter` with selective filters against an existing
 * database, interleaved with its anchor `provdesk --version` (the process
 * start and dynamic linking alone), wall and CPU time (user + system) of
 * each whole command.
 *
 *   bench_cli_start PATH/TO/provdesk PATH/TO/DB [RUNS=100]
 *
 * The database is read, never written (any imported one: bench_cli keeps
 * none, so `provdesk import` a generated CSV first; docs/performance.md).
 * Filters: 5-digit numbers and "r-NNNN" references, a few rows each. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"

static double last_cpu;

static int run(char *const argv[])
{
	return bench_spawn("bench_cli_start", argv, NULL, NULL, &last_cpu);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void report(const char *what, double *wall, double *cpu, int n)
{
	qsort(wall, (size_t)n, sizeof *wall, cmp_double);
	qsort(cpu, (size_t)n, sizeof *cpu, cmp_double);
	int p99 = n * 99 / 100;
	printf("  %-28s wall median %6.2f ms  p99 %6.2f ms | CPU median %6.2f ms  p99 %6.2f ms\n",
	       what, wall[n / 2] * 1e3, wall[p99] * 1e3, cpu[n / 2] * 1e3, cpu[p99] * 1e3);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s PATH/TO/provdesk PATH/TO/DB [RUNS]\n", argv[0]);
		return 64;
	}
	int runs = argc > 3 ? atoi(argv[3]) : 100;
	if (runs < 2)
		runs = 2;
	setenv("LANG", "C.UTF-8", 1);
	setenv("LC_ALL", "C.UTF-8", 1);
	struct utsname u;
	uname(&u);
	char line[256] = "?";
	FILE *f = fopen("/proc/loadavg", "r");
	if (f && fgets(line, sizeof line, f))
		line[strcspn(line, "\n")] = 0;
	if (f)
		fclose(f);
	printf("machine: %s %s, %ld cores online, load %s\n", u.sysname, u.machine,
	       sysconf(_SC_NPROCESSORS_ONLN), line);
	char conf[] = "/tmp/bench_cli_start.XXXXXX";
	int fd = mkstemp(conf);
	if (fd < 0)
		return 73;
	close(fd);
	double *lw = calloc((size_t)runs, sizeof *lw), *lc = calloc((size_t)runs, sizeof *lc);
	double *vw = calloc((size_t)runs, sizeof *vw), *vc = calloc((size_t)runs, sizeof *vc);
	if (!lw || !lc || !vw || !vc)
		return 71;
	int failed = 0;
	for (int i = 0; i < runs; i++) {
		char filter[32];
		if (i % 2)
			snprintf(filter, sizeof filter, "%05d", (i * 7919) % 100000);
		else
			snprintf(filter, sizeof filter, "r-%04d", (i * 31) % 5000);
		char *ver[] = {argv[1], "--version", NULL};
		double t0 = now_s();
		failed += run(ver) != 0;
		vw[i] = now_s() - t0;
		vc[i] = last_cpu;
		char *ls[] = {argv[1],    "--db", argv[2],    "--config", conf,
		              "customer", "list", "--filter", filter,     NULL};
		t0 = now_s();
		failed += run(ls) != 0;
		lw[i] = now_s() - t0;
		lc[i] = last_cpu;
	}
	printf("bench_cli_start: %d runs each, interleaved\n", runs);
	report("provdesk --version (anchor)", vw, vc, runs);
	report("customer list --filter", lw, lc, runs);
	if (failed)
		printf("  %d runs FAILED\n", failed);
	unlink(conf);
	free(lw);
	free(lc);
	free(vw);
	free(vc);
	return failed ? 1 : 0;
}

/* What the benchmarks share (the programs of tests/bench): clocks and this process's
 * memory. Header-only: each benchmark is one program. */
#ifndef PROVDESK_BENCH_UTIL_H
#define PROVDESK_BENCH_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Monotonic seconds. */
static inline double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* This thread's CPU seconds. */
static inline double thread_cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* kB from /proc/self/status ("VmRSS", "VmHWM"), 0 when unknown. */
static inline long proc_kb(const char *key)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = 0;
	size_t k = strlen(key);
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, key, k) && line[k] == ':')
			v = atol(line + k + 1);
	if (f)
		fclose(f);
	return v;
}

static inline long rss_kb(void)
{
	return proc_kb("VmRSS");
}

#endif

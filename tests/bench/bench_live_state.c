/* The live state (src/pbx/live.c) holding N customers (default 100,000, the
 * size the console is built for): the CPU per publish, per set_link, per
 * summary (a grid row or NOC tile) and per remove, each averaged over N
 * calls in a shuffled order. bench_live_state [N] */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench_util.h"
#include "provdesk/link_state.h"
#include "provdesk/live.h"
#include "provdesk/util.h"

static void publish(pd_live *l, int64_t cid)
{
	pd_live_view v = {0};
	v.n_users = 1;
	v.users = xcalloc(1, sizeof *v.users);
	v.users[0].endpoint = xstrdup("1001");
	pd_live_publish(l, cid, &v);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000;
	if (n < 1) {
		fprintf(stderr, "usage: bench_live_state [N >= 1]\n");
		return 2;
	}
	int64_t *id = xcalloc((size_t)n, sizeof *id);
	for (long i = 0; i < n; i++)
		id[i] = i * 3 + 17;
	srand(19);
	for (long i = n - 1; i > 0; i--) {
		long j = rand() % (i + 1);
		int64_t t = id[i];
		id[i] = id[j];
		id[j] = t;
	}
	printf("machine: %ld cores; %ld customers in the live state\n",
	       sysconf(_SC_NPROCESSORS_ONLN), n);
	pd_live *l = pd_live_new();
	double t0 = thread_cpu_s();
	for (long i = 0; i < n; i++)
		publish(l, id[i]);
	double first = thread_cpu_s() - t0;
	t0 = thread_cpu_s();
	for (long i = n - 1; i >= 0; i--)
		publish(l, id[i]);
	double again = thread_cpu_s() - t0;
	t0 = thread_cpu_s();
	for (long i = 0; i < n; i++)
		pd_live_set_link(l, id[(i * 7) % n], PD_LINK_MONITORING, 1, 1, 0, "");
	double link = thread_cpu_s() - t0;
	t0 = thread_cpu_s();
	long found = 0;
	for (long i = 0; i < n; i++) {
		pd_live_summary s;
		found += pd_live_summary_get(l, id[(i * 13) % n], &s);
	}
	double summary = thread_cpu_s() - t0;
	t0 = thread_cpu_s();
	for (long i = 0; i < n; i++)
		pd_live_remove(l, id[i]);
	double removed = thread_cpu_s() - t0;
	double us = 1e6 / (double)n;
	printf("first publish (adds the customer): %.2f us each\n", first * us);
	printf("publish: %.2f us each\n", again * us);
	printf("set_link: %.2f us each\n", link * us);
	printf("summary_get: %.2f us each (%ld found)\n", summary * us, found);
	printf("remove: %.2f us each\n", removed * us);
	pd_live_free(l);
	free(id);
	return found == n ? 0 : 1;
}

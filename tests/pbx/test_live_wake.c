/* pd_live's wake pipe (src/pbx/live.c, pd_live_wake_drain; docs/architecture.md,
 * "Threads and data flow"): wakes are coalesced to one pending byte, and a
 * drain re-arms them. A writer thread changes the live state without pause
 * while this thread waits on the wake fd and drains it, many times over: after
 * every drain a later change must make the fd readable again. With the flag
 * cleared before the pipe is read (the old order), a change landing between
 * the two steps left the flag set and the pipe empty, and no change woke the
 * reader again: the wait below then runs out. */
#include <criterion/criterion.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>

#include "provdesk/live.h"

static atomic_bool stop;
static atomic_long changes;

static void *writer(void *arg)
{
	pd_live *l = arg;
	long i = 0;
	while (!atomic_load(&stop)) {
		pd_live_set_link(l, 1 + (i % 3), (i & 1) ? PD_LINK_MONITORING : PD_LINK_CONNECTING,
		                 0, 0, 0, NULL);
		atomic_fetch_add(&changes, 1);
		i++;
	}
	return NULL;
}

Test(live_wake, every_change_after_a_drain_wakes_the_reader)
{
	pd_live *l = pd_live_new();
	int fd = pd_live_wake_fd(l);
	cr_assert_geq(fd, 0);
	atomic_store(&stop, false);
	pthread_t t[2]; /* two writers: more changes land inside a drain */
	for (int i = 0; i < 2; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, writer, l), 0);
	/* drains for 8 s (a reversed order failed within 2 s in six runs of six) */
	int64_t until = pd_live_now_ms() + 8000;
	long drains = 0, lost_at = -1;
	while (drains < 2000000 && pd_live_now_ms() < until) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		/* the writer never pauses: a readable fd is due within moments;
		 * 2 s covers a loaded machine, and a lost wake never comes back */
		if (poll(&p, 1, 2000) != 1) {
			lost_at = drains;
			break;
		}
		pd_live_wake_drain(l);
		drains++;
	}
	atomic_store(&stop, true);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	cr_assert_eq(lost_at, -1,
	             "the writer kept changing the state, yet no wake came after drain %ld "
	             "(%ld changes)",
	             lost_at, atomic_load(&changes));
	cr_assert_gt(drains, 1000, "only %ld drains ran", drains);
	pd_live_free(l);
}

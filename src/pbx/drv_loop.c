/* One loop for one driver instance: see include/provdesk/pbx_driver.h. */
#include <poll.h>

#include "provdesk/pbx_driver.h"

void pd_drv_io(const pd_driver_ops *ops, void *drv, const struct pollfd *p, int n, int64_t now)
{
	for (int i = 0; i < n; i++) {
		if (p[i].revents) {
			ops->on_io(drv, p, n, now);
			return;
		}
	}
}

void pd_drv_timer(const pd_driver_ops *ops, void *drv, int64_t now)
{
	if (ops->next_deadline(drv) <= now)
		ops->on_timer(drv, now);
}

void pd_drv_step(const pd_driver_ops *ops, void *drv, int max_ms)
{
	struct pollfd pf[PD_DRV_MAX_FDS];
	int n = ops->pollfds(drv, pf, PD_DRV_MAX_FDS);
	int64_t now = pd_live_now_ms(), dl = ops->next_deadline(drv);
	int wait = max_ms < 0 ? 0 : max_ms;
	if (dl != INT64_MAX && dl - now < wait)
		wait = dl <= now ? 0 : (int)(dl - now);
	int r = poll(pf, (nfds_t)n, wait);
	now = pd_live_now_ms();
	if (r > 0)
		pd_drv_io(ops, drv, pf, n, now);
	pd_drv_timer(ops, drv, now);
}

bool pd_drv_run(const pd_driver_ops *ops, void *drv, int64_t deadline_ms, int turn_ms,
                bool (*done)(void *ctx), void *ctx)
{
	for (;;) {
		if (done(ctx))
			return true;
		int64_t now = pd_live_now_ms();
		if (now >= deadline_ms)
			return false;
		int wait = turn_ms;
		if (deadline_ms - now < wait)
			wait = (int)(deadline_ms - now);
		pd_drv_step(ops, drv, wait);
	}
}

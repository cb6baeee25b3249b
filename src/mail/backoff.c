/* Retry delays of the outbox: apart from outbox.c so it is testable without
 * a store. */
#include "provdesk/mail.h"

int64_t pd_outbox_backoff(int attempts, uint32_t rnd)
{
	if (attempts < 1)
		attempts = 1;
	int64_t d = PD_OUTBOX_BACKOFF_FIRST;
	for (int i = 1; i < attempts && d < PD_OUTBOX_BACKOFF_MAX; i++)
		d *= 2;
	if (d > PD_OUTBOX_BACKOFF_MAX)
		d = PD_OUTBOX_BACKOFF_MAX;
	/* Jitter spreads the retries of several consoles that failed together. */
	return d - (int64_t)(rnd % (uint32_t)(d / 10 + 1));
}

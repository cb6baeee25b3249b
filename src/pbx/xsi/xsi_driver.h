/* Internal to src/pbx/xsi: what the BroadWorks driver (xsi_driver.c) and
 * its `test` op (xsi_test.c) share, and the counters the lab tests read
 * (docs/architecture.md, "BroadWorks Xsi"). */
#ifndef PROVDESK_PBX_XSI_DRIVER_H
#define PROVDESK_PBX_XSI_DRIVER_H

#include <stddef.h>
#include <stdint.h>

#include "provdesk/error.h"
#include "provdesk/model.h"
#include "provdesk/pbx_driver.h"

/* The root paths of the Xsi interfaces. */
#define XSI_ACTIONS "/com.broadsoft.xsi-actions/v2.0"
#define XSI_EVENTS "/com.broadsoft.xsi-events/v2.0"
#define XSI_ASYNC "/com.broadsoft.async/com.broadsoft.xsi-events/v2.0" /* the channel */

#define XSI_BODY_MAX (4 << 20)               /* bytes of one answer (a directory page, an error) */
#define XSI_MAX_HOSTS (PD_HOST_LIST_MAX + 1) /* host and the xsp_hosts */
#define XSI_HEARTBEAT_S 15                   /* the heartbeat when ping_interval is not set */

typedef struct {
	char host[256];
	int port; /* 0: the connection's port */
} xsi_host;

/* "host[:port],host[:port]" ([v6addr]:port for IPv6) into out (at most
 * max), checked by core's pd_check_host_list; a bad entry is PD_E_INVALID
 * naming field "xsp_hosts". NULL or blank: none. */
pd_status xsi_hosts_parse(const char *list, xsi_host *out, int max, int *n, pd_err *e);

/* The text of the first element named `local` (any namespace) of a small
 * XML answer (a Subscription, a CallCenter, an ErrorInfo), printable ASCII,
 * "" when none or the document is malformed or declares a DOCTYPE. False
 * when it is malformed (or empty, or declares a DOCTYPE). */
bool xsi_value_of(const char *xml, size_t len, const char *local, char *out, size_t n);

pd_status xsi_test(const pd_drv_conf *c, int timeout_ms, pd_drv_test_result *out, pd_err *e);

/* What the lab tests read from a driver instance of pd_xsi_driver. */
typedef struct {
	uint64_t acks_sent, acks_ok; /* event acknowledgements sent, answered 200 */
	int host_index;              /* 0 = host, then xsp_hosts in order */
	unsigned channel_sets;       /* channels opened (each its own channel set) */
	uint64_t state_reads;        /* users' ACD states answered with a CallCenter */
	uint64_t reads_bad;  /* reads (states, call lists, calls) failed, malformed or cut */
	uint64_t calls_read; /* calls up when subscribing, read and applied */
} xsi_driver_stats;
void xsi_driver_counters(void *drv, xsi_driver_stats *out);

#endif

/* libmicrohttpd, opened on first use (include/provdesk/dl.h): the functions
 * of <microhttpd.h> the HTTP API calls, with their signatures, as pd_mhd_*.
 * The API server calls pd_mhd_load before any other, so that a missing
 * library is a clear error; until then the others answer NULL or MHD_NO. */
#ifndef PROVDESK_DL_MHD_H
#define PROVDESK_DL_MHD_H

#include <microhttpd.h>
#include <stdbool.h>

#include "provdesk/error.h"

bool pd_mhd_load(pd_err *e);

struct MHD_Daemon *pd_mhd_start_daemon(unsigned int flags, uint16_t port,
                                       MHD_AcceptPolicyCallback apc, void *apc_cls,
                                       MHD_AccessHandlerCallback dh, void *dh_cls, ...);
void pd_mhd_stop_daemon(struct MHD_Daemon *d);
MHD_socket pd_mhd_quiesce_daemon(struct MHD_Daemon *d);
const union MHD_DaemonInfo *pd_mhd_get_daemon_info(struct MHD_Daemon *d,
                                                   enum MHD_DaemonInfoType type);
enum MHD_Result pd_mhd_is_feature_supported(enum MHD_FEATURE feature);
const union MHD_ConnectionInfo *pd_mhd_get_connection_info(struct MHD_Connection *c,
                                                           enum MHD_ConnectionInfoType type);
int pd_mhd_get_connection_values(struct MHD_Connection *c, enum MHD_ValueKind kind,
                                 MHD_KeyValueIterator it, void *it_cls);
const char *pd_mhd_lookup_connection_value(struct MHD_Connection *c, enum MHD_ValueKind kind,
                                           const char *key);
enum MHD_Result pd_mhd_queue_response(struct MHD_Connection *c, unsigned int status,
                                      struct MHD_Response *r);
void pd_mhd_suspend_connection(struct MHD_Connection *c);
void pd_mhd_resume_connection(struct MHD_Connection *c);
struct MHD_Response *pd_mhd_create_response_from_buffer(size_t size, void *buffer,
                                                        enum MHD_ResponseMemoryMode mode);
struct MHD_Response *pd_mhd_create_response_from_callback(uint64_t size, size_t block_size,
                                                          MHD_ContentReaderCallback crc,
                                                          void *crc_cls,
                                                          MHD_ContentReaderFreeCallback crfc);
void pd_mhd_destroy_response(struct MHD_Response *r);
enum MHD_Result pd_mhd_add_response_header(struct MHD_Response *r, const char *header,
                                           const char *content);

#endif

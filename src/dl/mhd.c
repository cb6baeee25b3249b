/* libmicrohttpd, opened on first use (include/provdesk/dl_mhd.h). */
#include "provdesk/dl_mhd.h"

#include <stdarg.h>

#include "provdesk/dl.h"

#define MHD_FUNCTIONS(X)                                                                           \
	X(START_DAEMON_VA, MHD_start_daemon_va)                                                    \
	X(STOP_DAEMON, MHD_stop_daemon)                                                            \
	X(QUIESCE_DAEMON, MHD_quiesce_daemon)                                                      \
	X(GET_DAEMON_INFO, MHD_get_daemon_info)                                                    \
	X(IS_FEATURE_SUPPORTED, MHD_is_feature_supported)                                          \
	X(GET_CONNECTION_INFO, MHD_get_connection_info)                                            \
	X(GET_CONNECTION_VALUES, MHD_get_connection_values)                                        \
	X(LOOKUP_CONNECTION_VALUE, MHD_lookup_connection_value)                                    \
	X(QUEUE_RESPONSE, MHD_queue_response)                                                      \
	X(SUSPEND_CONNECTION, MHD_suspend_connection)                                              \
	X(RESUME_CONNECTION, MHD_resume_connection)                                                \
	X(CREATE_RESPONSE_FROM_BUFFER, MHD_create_response_from_buffer)                            \
	X(CREATE_RESPONSE_FROM_CALLBACK, MHD_create_response_from_callback)                        \
	X(DESTROY_RESPONSE, MHD_destroy_response)                                                  \
	X(ADD_RESPONSE_HEADER, MHD_add_response_header)

enum {
#define X_ENUM(id, name) F_##id,
	MHD_FUNCTIONS(X_ENUM)
#undef X_ENUM
	    N_FUNCTIONS
};

static const char *const names[N_FUNCTIONS] = {
#define X_NAME(id, name) [F_##id] = #name,
    MHD_FUNCTIONS(X_NAME)
#undef X_NAME
};

static void *fns[N_FUNCTIONS];
static pd_dl_lib lib = {
    .soname = "libmicrohttpd.so.12", .names = names, .fns = fns, .n = N_FUNCTIONS};

bool pd_mhd_load(pd_err *e)
{
	return pd_dl_load(&lib, e);
}

static bool up(void)
{
	return pd_dl_load(&lib, NULL);
}

/* the function `id` of libmicrohttpd, with the signature `type` */
#define FN(id, type) ((type)fns[F_##id])

struct MHD_Daemon *pd_mhd_start_daemon(unsigned int flags, uint16_t port,
                                       MHD_AcceptPolicyCallback apc, void *apc_cls,
                                       MHD_AccessHandlerCallback dh, void *dh_cls, ...)
{
	if (!up())
		return NULL;
	va_list ap;
	va_start(ap, dh_cls);
	struct MHD_Daemon *d =
	    FN(START_DAEMON_VA,
	       struct MHD_Daemon * (*)(unsigned int, uint16_t, MHD_AcceptPolicyCallback, void *,
	                               MHD_AccessHandlerCallback, void *,
	                               va_list))(flags, port, apc, apc_cls, dh, dh_cls, ap);
	va_end(ap);
	return d;
}

void pd_mhd_stop_daemon(struct MHD_Daemon *d)
{
	if (d && up())
		FN(STOP_DAEMON, void (*)(struct MHD_Daemon *))(d);
}

MHD_socket pd_mhd_quiesce_daemon(struct MHD_Daemon *d)
{
	return up() ? FN(QUIESCE_DAEMON, MHD_socket(*)(struct MHD_Daemon *))(d)
	            : MHD_INVALID_SOCKET;
}

const union MHD_DaemonInfo *pd_mhd_get_daemon_info(struct MHD_Daemon *d,
                                                   enum MHD_DaemonInfoType type)
{
	return up() ? FN(GET_DAEMON_INFO,
	                 const union MHD_DaemonInfo *(*)(struct MHD_Daemon *,
	                                                 enum MHD_DaemonInfoType, ...))(d, type)
	            : NULL;
}

enum MHD_Result pd_mhd_is_feature_supported(enum MHD_FEATURE feature)
{
	return up() ? FN(IS_FEATURE_SUPPORTED, enum MHD_Result(*)(enum MHD_FEATURE))(feature)
	            : MHD_NO;
}

const union MHD_ConnectionInfo *pd_mhd_get_connection_info(struct MHD_Connection *c,
                                                           enum MHD_ConnectionInfoType type)
{
	return up() ? FN(GET_CONNECTION_INFO,
	                 const union MHD_ConnectionInfo *(*)(struct MHD_Connection *,
	                                                     enum MHD_ConnectionInfoType,
	                                                     ...))(c, type)
	            : NULL;
}

int pd_mhd_get_connection_values(struct MHD_Connection *c, enum MHD_ValueKind kind,
                                 MHD_KeyValueIterator it, void *it_cls)
{
	return up() ? FN(GET_CONNECTION_VALUES, int (*)(struct MHD_Connection *, enum MHD_ValueKind,
	                                                MHD_KeyValueIterator, void *))(c, kind, it,
	                                                                               it_cls)
	            : -1;
}

const char *pd_mhd_lookup_connection_value(struct MHD_Connection *c, enum MHD_ValueKind kind,
                                           const char *key)
{
	return up() ? FN(LOOKUP_CONNECTION_VALUE,
	                 const char *(*)(struct MHD_Connection *, enum MHD_ValueKind,
	                                 const char *))(c, kind, key)
	            : NULL;
}

enum MHD_Result pd_mhd_queue_response(struct MHD_Connection *c, unsigned int status,
                                      struct MHD_Response *r)
{
	return up() ? FN(QUEUE_RESPONSE, enum MHD_Result(*)(struct MHD_Connection *, unsigned int,
	                                                    struct MHD_Response *))(c, status, r)
	            : MHD_NO;
}

void pd_mhd_suspend_connection(struct MHD_Connection *c)
{
	if (up())
		FN(SUSPEND_CONNECTION, void (*)(struct MHD_Connection *))(c);
}

void pd_mhd_resume_connection(struct MHD_Connection *c)
{
	if (up())
		FN(RESUME_CONNECTION, void (*)(struct MHD_Connection *))(c);
}

struct MHD_Response *pd_mhd_create_response_from_buffer(size_t size, void *buffer,
                                                        enum MHD_ResponseMemoryMode mode)
{
	return up() ? FN(CREATE_RESPONSE_FROM_BUFFER,
	                 struct MHD_Response *
	                     (*)(size_t, void *, enum MHD_ResponseMemoryMode))(size, buffer, mode)
	            : NULL;
}

struct MHD_Response *pd_mhd_create_response_from_callback(uint64_t size, size_t block_size,
                                                          MHD_ContentReaderCallback crc,
                                                          void *crc_cls,
                                                          MHD_ContentReaderFreeCallback crfc)
{
	return up() ? FN(CREATE_RESPONSE_FROM_CALLBACK,
	                 struct MHD_Response * (*)(uint64_t, size_t, MHD_ContentReaderCallback,
	                                           void *, MHD_ContentReaderFreeCallback))(
	                  size, block_size, crc, crc_cls, crfc)
	            : NULL;
}

void pd_mhd_destroy_response(struct MHD_Response *r)
{
	if (r && up())
		FN(DESTROY_RESPONSE, void (*)(struct MHD_Response *))(r);
}

enum MHD_Result pd_mhd_add_response_header(struct MHD_Response *r, const char *header,
                                           const char *content)
{
	return up()
	           ? FN(ADD_RESPONSE_HEADER, enum MHD_Result(*)(struct MHD_Response *, const char *,
	                                                        const char *))(r, header, content)
	           : MHD_NO;
}

/* Status codes and the error struct every layer fills.
 * One X-macro list gives the enum, the sysexits-style exit code (docs/provdesk.1, EXIT STATUS)
 * and a default message, so a status is defined in exactly one place. */
#ifndef PROVDESK_ERROR_H
#define PROVDESK_ERROR_H

#include <stdarg.h>

/*        name               exit  default message */
#define PD_STATUS_LIST(X)                                                                          \
	X(PD_OK, 0, "success")                                                                     \
	X(PD_E_USAGE, 64, "usage error")                                                           \
	X(PD_E_INVALID, 65, "invalid data")                                                        \
	X(PD_E_NOTFOUND, 66, "not found")                                                          \
	X(PD_E_NOINPUT, 66, "cannot read input")                                                   \
	X(PD_E_UNAVAILABLE, 69, "service unavailable")                                             \
	X(PD_E_INTERNAL, 70, "internal error")                                                     \
	X(PD_E_CANTCREATE, 73, "cannot create output")                                             \
	X(PD_E_IO, 74, "input/output error")                                                       \
	X(PD_E_CONFLICT, 75, "changed by someone else; retry")                                     \
	X(PD_E_TEMPFAIL, 75, "temporary failure; retry")                                           \
	X(PD_E_PROTOCOL, 76, "protocol error from peer")                                           \
	X(PD_E_AUTH, 77, "permission or authentication refused")                                   \
	X(PD_E_CONFIG, 78, "configuration error")

typedef enum {
#define PD_X_ENUM(name, code, msg) name,
	PD_STATUS_LIST(PD_X_ENUM)
#undef PD_X_ENUM
	    PD_STATUS__COUNT
} pd_status;

/* Filled by the function that fails; the caller shows it.
 * `field` names the offending field (snake_case, as the struct members of include/provdesk/model.h)
 * or is empty; `line` is a 1-based line number for file/CSV input, 0 when not relevant. */
typedef struct pd_err {
	pd_status status;
	int line;
	char field[64];
	char message[512];
} pd_err;

/* Fill *e (if non-NULL) and return `status`. `field` may be NULL. */
pd_status pd_fail(pd_err *e, pd_status status, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
pd_status pd_vfail(pd_err *e, pd_status status, const char *field, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
/* Same, with a line number (files, CSV rows). */
pd_status pd_fail_line(pd_err *e, pd_status status, int line, const char *field, const char *fmt,
                       ...) __attribute__((format(printf, 5, 6)));
void pd_err_clear(pd_err *e);

int pd_status_exit_code(pd_status s);
const char *pd_status_name(pd_status s);    /* "PD_E_INVALID" */
const char *pd_status_code(pd_status s);    /* "invalid" : JSON error code */
const char *pd_status_message(pd_status s); /* default text */

#endif

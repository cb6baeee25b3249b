#include "provdesk/error.h"
#include "provdesk/util.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	int exit_code;
	const char *message;
} status_table[] = {
#define PD_X_ROW(name, code, msg) {#name, code, msg},
    PD_STATUS_LIST(PD_X_ROW)
#undef PD_X_ROW
};

static pd_status clamp(pd_status s)
{
	return (unsigned)s < PD_STATUS__COUNT ? s : PD_E_INTERNAL;
}

/* A message quotes values cut to a length ('%.60s', between two characters:
 * pd_vsnprintf) or not UTF-8 at all (a command-line argument): it is kept
 * valid UTF-8, each stray byte as a visible \xNN, since jansson refuses
 * anything else (the --json error had no message then). */
static void valid_message(pd_err *e)
{
	size_t n = strlen(e->message);
	if (pd_utf8_valid(e->message, n))
		return;
	pd_buf b = {0};
	pd_term_escape(&b, e->message, n, true);
	pd_utf8_copy(e->message, sizeof e->message, b.s, b.len);
	pd_buf_free(&b);
}

pd_status pd_vfail(pd_err *e, pd_status status, const char *field, const char *fmt, va_list ap)
{
	if (!e)
		return status;
	e->status = status;
	e->line = 0;
	pd_utf8_copys(e->field, sizeof e->field, field ? field : "");
	if (fmt) {
		pd_vsnprintf(e->message, sizeof e->message, fmt, ap);
		valid_message(e);
	} else
		snprintf(e->message, sizeof e->message, "%s", pd_status_message(status));
	return status;
}

pd_status pd_fail(pd_err *e, pd_status status, const char *field, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	pd_vfail(e, status, field, fmt, ap);
	va_end(ap);
	return status;
}

pd_status pd_fail_line(pd_err *e, pd_status status, int line, const char *field, const char *fmt,
                       ...)
{
	va_list ap;
	va_start(ap, fmt);
	pd_vfail(e, status, field, fmt, ap);
	va_end(ap);
	if (e)
		e->line = line;
	return status;
}

void pd_err_clear(pd_err *e)
{
	if (e)
		memset(e, 0, sizeof *e);
}

int pd_status_exit_code(pd_status s)
{
	return status_table[clamp(s)].exit_code;
}

const char *pd_status_name(pd_status s)
{
	return status_table[clamp(s)].name;
}

/* "PD_E_INVALID" -> "invalid", "PD_OK" -> "ok": the JSON error code.
 * Built once: the monitor and outbox threads report errors too. */
static char status_codes[PD_STATUS__COUNT][32];
static pthread_once_t status_codes_once = PTHREAD_ONCE_INIT;

static void status_codes_init(void)
{
	for (int i = 0; i < PD_STATUS__COUNT; i++) {
		const char *n = status_table[i].name;
		n += strncmp(n, "PD_E_", 5) == 0 ? 5 : 3;
		size_t j = 0;
		for (; n[j] && j < sizeof status_codes[i] - 1; j++)
			status_codes[i][j] = (char)(n[j] >= 'A' && n[j] <= 'Z' ? n[j] + 32 : n[j]);
		status_codes[i][j] = 0;
	}
}

const char *pd_status_code(pd_status s)
{
	pthread_once(&status_codes_once, status_codes_init);
	return status_codes[clamp(s)];
}

const char *pd_status_message(pd_status s)
{
	return status_table[clamp(s)].message;
}

/* OpenSSL opened on first use (include/provdesk/dl_ssl.h). */
#define PD_DL_SSL_IMPL
#include "provdesk/dl_ssl.h"

#include <stdio.h>
#include <stdlib.h>

#include "provdesk/dl.h"

void *pd_ssl_fn[PD_SSL__COUNT];

static const char *const names[PD_SSL__COUNT] = {
#define X_NAME(name) [PD_SSL_##name] = #name,
    PD_SSL_FUNCTIONS(X_NAME)
#undef X_NAME
};

/* libssl's handle also finds libcrypto's symbols (its dependency). */
static pd_dl_lib lib = {
    .soname = "libssl.so.3", .names = names, .fns = pd_ssl_fn, .n = PD_SSL__COUNT};

bool pd_ssl_load(pd_err *e)
{
	return pd_dl_load(&lib, e);
}

void pd_ssl_need(void)
{
	pd_err e = {0};
	if (pd_dl_load(&lib, &e))
		return;
	fprintf(stderr, "provdesk: %s\n", e.message);
	exit(PD_E_UNAVAILABLE);
}

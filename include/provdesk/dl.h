/* Libraries loaded on first use (docs/architecture.md, "Start-up").
 *
 * libcurl (SMTP, BroadWorks Xsi) and libmicrohttpd (the HTTP API) bring
 * some forty shared libraries with them (GnuTLS, Kerberos, LDAP, RTMP…);
 * linked at start-up, the dynamic loader spent ~2.8 ms on them in every
 * command, also those that never send a mail or serve HTTP. They are
 * opened with dlopen the first time a function of theirs is called, through
 * the pd_curl_* (include/provdesk/dl_curl.h) and pd_MHD_*
 * (include/provdesk/dl_mhd.h) functions, which have the signatures of the
 * libraries' own. The Debian package depends on both (debian/control).
 */
#ifndef PROVDESK_DL_H
#define PROVDESK_DL_H

#include <stdbool.h>
#include <stddef.h>

#include "provdesk/error.h"

/* One library opened once: `names[i]`'s address lands in `fns[i]`. */
typedef struct pd_dl_lib {
	const char *soname;       /* "libcurl.so.4" */
	const char *const *names; /* the symbols, n of them */
	void **fns;               /* where their addresses go */
	size_t n;
	bool tried, ok;
	char why[256]; /* dlerror() when it failed */
} pd_dl_lib;

/* Open `lib` unless it was (thread-safe; the first call does the work).
 * False, with an error naming the library and the loader's reason, when it
 * or one of its symbols is missing; the later calls answer the same. */
bool pd_dl_load(pd_dl_lib *lib, pd_err *e);

#endif

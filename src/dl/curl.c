/* libcurl, opened on first use (include/provdesk/dl_curl.h). */
#include "provdesk/dl_curl.h"

#include <stdarg.h>

#include "provdesk/dl.h"

#define CURL_FUNCTIONS(X)                                                                          \
	X(GLOBAL_INIT_MEM, curl_global_init_mem)                                                   \
	X(EASY_INIT, curl_easy_init)                                                               \
	X(EASY_CLEANUP, curl_easy_cleanup)                                                         \
	X(EASY_SETOPT, curl_easy_setopt)                                                           \
	X(EASY_GETINFO, curl_easy_getinfo)                                                         \
	X(EASY_PERFORM, curl_easy_perform)                                                         \
	X(EASY_STRERROR, curl_easy_strerror)                                                       \
	X(EASY_ESCAPE, curl_easy_escape)                                                           \
	X(FREE, curl_free)                                                                         \
	X(MULTI_INIT, curl_multi_init)                                                             \
	X(MULTI_CLEANUP, curl_multi_cleanup)                                                       \
	X(MULTI_SETOPT, curl_multi_setopt)                                                         \
	X(MULTI_ADD_HANDLE, curl_multi_add_handle)                                                 \
	X(MULTI_REMOVE_HANDLE, curl_multi_remove_handle)                                           \
	X(MULTI_PERFORM, curl_multi_perform)                                                       \
	X(MULTI_POLL, curl_multi_poll)                                                             \
	X(MULTI_SOCKET_ACTION, curl_multi_socket_action)                                           \
	X(MULTI_INFO_READ, curl_multi_info_read)                                                   \
	X(SLIST_APPEND, curl_slist_append)                                                         \
	X(SLIST_FREE_ALL, curl_slist_free_all)                                                     \
	X(URL, curl_url)                                                                           \
	X(URL_CLEANUP, curl_url_cleanup)                                                           \
	X(URL_GET, curl_url_get)                                                                   \
	X(URL_SET, curl_url_set)

enum {
#define X_ENUM(id, name) F_##id,
	CURL_FUNCTIONS(X_ENUM)
#undef X_ENUM
	    N_FUNCTIONS
};

static const char *const names[N_FUNCTIONS] = {
#define X_NAME(id, name) [F_##id] = #name,
    CURL_FUNCTIONS(X_NAME)
#undef X_NAME
};

static void *fns[N_FUNCTIONS];
static pd_dl_lib lib = {.soname = "libcurl.so.4", .names = names, .fns = fns, .n = N_FUNCTIONS};

bool pd_curl_load(pd_err *e)
{
	return pd_dl_load(&lib, e);
}

static bool up(void)
{
	return pd_dl_load(&lib, NULL);
}

/* the function `id` of libcurl, with the signature `type` */
#define FN(id, type) ((type)fns[F_##id])

CURLcode pd_curl_global_init_mem(long flags, curl_malloc_callback m, curl_free_callback f,
                                 curl_realloc_callback r, curl_strdup_callback s,
                                 curl_calloc_callback c)
{
	if (!up())
		return CURLE_FAILED_INIT;
	return FN(GLOBAL_INIT_MEM,
	          CURLcode(*)(long, curl_malloc_callback, curl_free_callback, curl_realloc_callback,
	                      curl_strdup_callback, curl_calloc_callback))(flags, m, f, r, s, c);
}

CURL *pd_curl_easy_init(void)
{
	return up() ? FN(EASY_INIT, CURL * (*)(void))() : NULL;
}

void pd_curl_easy_cleanup(CURL *h)
{
	if (h && up())
		FN(EASY_CLEANUP, void (*)(CURL *))(h);
}

/* A setopt's one argument passed on as the type its option number says
 * (the CURLOPTTYPE_* ranges, 10000 wide), as libcurl reads it. */
#define FORWARD_OPTION(f, obj, option, ap)                                                         \
	((option) / 10000 * 10000 == CURLOPTTYPE_LONG ? (f)((obj), (option), va_arg((ap), long))   \
	 : (option) / 10000 * 10000 == CURLOPTTYPE_FUNCTIONPOINT                                   \
	     ? (f)((obj), (option), va_arg((ap), void (*)(void)))                                  \
	 : (option) / 10000 * 10000 == CURLOPTTYPE_OFF_T                                           \
	     ? (f)((obj), (option), va_arg((ap), curl_off_t))                                      \
	     : (f)((obj), (option), va_arg((ap), void *)))

CURLcode pd_curl_easy_setopt(CURL *h, CURLoption option, ...)
{
	if (!up())
		return CURLE_FAILED_INIT;
	CURLcode (*f)(CURL *, CURLoption, ...) =
	    FN(EASY_SETOPT, CURLcode(*)(CURL *, CURLoption, ...));
	va_list ap;
	va_start(ap, option);
	CURLcode r = FORWARD_OPTION(f, h, option, ap);
	va_end(ap);
	return r;
}

CURLcode pd_curl_easy_getinfo(CURL *h, CURLINFO info, ...)
{
	if (!up())
		return CURLE_FAILED_INIT;
	va_list ap;
	va_start(ap, info);
	void *out = va_arg(ap, void *); /* every CURLINFO_* answers through a pointer */
	va_end(ap);
	return FN(EASY_GETINFO, CURLcode(*)(CURL *, CURLINFO, ...))(h, info, out);
}

CURLcode pd_curl_easy_perform(CURL *h)
{
	return up() ? FN(EASY_PERFORM, CURLcode(*)(CURL *))(h) : CURLE_FAILED_INIT;
}

const char *pd_curl_easy_strerror(CURLcode code)
{
	return up() ? FN(EASY_STRERROR, const char *(*)(CURLcode))(code) : lib.why;
}

char *pd_curl_easy_escape(CURL *h, const char *s, int len)
{
	return up() ? FN(EASY_ESCAPE, char *(*)(CURL *, const char *, int))(h, s, len) : NULL;
}

void pd_curl_free(void *p)
{
	if (p && up())
		FN(FREE, void (*)(void *))(p);
}

CURLM *pd_curl_multi_init(void)
{
	return up() ? FN(MULTI_INIT, CURLM * (*)(void))() : NULL;
}

CURLMcode pd_curl_multi_cleanup(CURLM *m)
{
	return m && up() ? FN(MULTI_CLEANUP, CURLMcode(*)(CURLM *))(m) : CURLM_BAD_HANDLE;
}

CURLMcode pd_curl_multi_setopt(CURLM *m, CURLMoption option, ...)
{
	if (!up())
		return CURLM_BAD_HANDLE;
	CURLMcode (*f)(CURLM *, CURLMoption, ...) =
	    FN(MULTI_SETOPT, CURLMcode(*)(CURLM *, CURLMoption, ...));
	va_list ap;
	va_start(ap, option);
	CURLMcode r = FORWARD_OPTION(f, m, option, ap);
	va_end(ap);
	return r;
}

CURLMcode pd_curl_multi_add_handle(CURLM *m, CURL *h)
{
	return up() ? FN(MULTI_ADD_HANDLE, CURLMcode(*)(CURLM *, CURL *))(m, h) : CURLM_BAD_HANDLE;
}

CURLMcode pd_curl_multi_remove_handle(CURLM *m, CURL *h)
{
	return up() ? FN(MULTI_REMOVE_HANDLE, CURLMcode(*)(CURLM *, CURL *))(m, h)
	            : CURLM_BAD_HANDLE;
}

CURLMcode pd_curl_multi_perform(CURLM *m, int *running)
{
	return up() ? FN(MULTI_PERFORM, CURLMcode(*)(CURLM *, int *))(m, running)
	            : CURLM_BAD_HANDLE;
}

CURLMcode pd_curl_multi_poll(CURLM *m, struct curl_waitfd extra[], unsigned int n, int timeout_ms,
                             int *numfds)
{
	return up() ? FN(MULTI_POLL, CURLMcode(*)(CURLM *, struct curl_waitfd *, unsigned int, int,
	                                          int *))(m, extra, n, timeout_ms, numfds)
	            : CURLM_BAD_HANDLE;
}

CURLMcode pd_curl_multi_socket_action(CURLM *m, curl_socket_t s, int ev_bitmask, int *running)
{
	return up() ? FN(MULTI_SOCKET_ACTION, CURLMcode(*)(CURLM *, curl_socket_t, int, int *))(
	                  m, s, ev_bitmask, running)
	            : CURLM_BAD_HANDLE;
}

CURLMsg *pd_curl_multi_info_read(CURLM *m, int *msgs_in_queue)
{
	return up() ? FN(MULTI_INFO_READ, CURLMsg * (*)(CURLM *, int *))(m, msgs_in_queue) : NULL;
}

struct curl_slist *pd_curl_slist_append(struct curl_slist *list, const char *s)
{
	return up() ? FN(SLIST_APPEND,
	                 struct curl_slist * (*)(struct curl_slist *, const char *))(list, s)
	            : NULL;
}

void pd_curl_slist_free_all(struct curl_slist *list)
{
	if (list && up())
		FN(SLIST_FREE_ALL, void (*)(struct curl_slist *))(list);
}

CURLU *pd_curl_url(void)
{
	return up() ? FN(URL, CURLU * (*)(void))() : NULL;
}

void pd_curl_url_cleanup(CURLU *u)
{
	if (u && up())
		FN(URL_CLEANUP, void (*)(CURLU *))(u);
}

CURLUcode pd_curl_url_get(const CURLU *u, CURLUPart part, char **out, unsigned int flags)
{
	return up() ? FN(URL_GET, CURLUcode(*)(const CURLU *, CURLUPart, char **, unsigned int))(
	                  u, part, out, flags)
	            : CURLUE_OUT_OF_MEMORY;
}

CURLUcode pd_curl_url_set(CURLU *u, CURLUPart part, const char *in, unsigned int flags)
{
	return up() ? FN(URL_SET, CURLUcode(*)(CURLU *, CURLUPart, const char *, unsigned int))(
	                  u, part, in, flags)
	            : CURLUE_OUT_OF_MEMORY;
}

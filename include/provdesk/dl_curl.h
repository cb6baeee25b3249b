/* libcurl, opened on first use (include/provdesk/dl.h): the functions of
 * <curl/curl.h> that provdesk calls, with their signatures, as pd_curl_*.
 * Until the library could be opened, the *_init functions, pd_curl_url and
 * pd_curl_slist_append answer NULL and the others a "failed init" code;
 * pd_curl_load says why. */
#ifndef PROVDESK_DL_CURL_H
#define PROVDESK_DL_CURL_H

#include <curl/curl.h>
#include <stdbool.h>

#include "provdesk/error.h"

/* Open libcurl now; false, with the reason in *e, when it cannot be. */
bool pd_curl_load(pd_err *e);

CURLcode pd_curl_global_init_mem(long flags, curl_malloc_callback m, curl_free_callback f,
                                 curl_realloc_callback r, curl_strdup_callback s,
                                 curl_calloc_callback c);
CURL *pd_curl_easy_init(void);
void pd_curl_easy_cleanup(CURL *h);
CURLcode pd_curl_easy_setopt(CURL *h, CURLoption option, ...);
CURLcode pd_curl_easy_getinfo(CURL *h, CURLINFO info, ...);
CURLcode pd_curl_easy_perform(CURL *h);
const char *pd_curl_easy_strerror(CURLcode code);
char *pd_curl_easy_escape(CURL *h, const char *s, int len);
void pd_curl_free(void *p);
CURLM *pd_curl_multi_init(void);
CURLMcode pd_curl_multi_cleanup(CURLM *m);
CURLMcode pd_curl_multi_setopt(CURLM *m, CURLMoption option, ...);
CURLMcode pd_curl_multi_add_handle(CURLM *m, CURL *h);
CURLMcode pd_curl_multi_remove_handle(CURLM *m, CURL *h);
CURLMcode pd_curl_multi_perform(CURLM *m, int *running);
CURLMcode pd_curl_multi_poll(CURLM *m, struct curl_waitfd extra[], unsigned int n, int timeout_ms,
                             int *numfds);
CURLMcode pd_curl_multi_socket_action(CURLM *m, curl_socket_t s, int ev_bitmask, int *running);
CURLMsg *pd_curl_multi_info_read(CURLM *m, int *msgs_in_queue);
struct curl_slist *pd_curl_slist_append(struct curl_slist *list, const char *s);
void pd_curl_slist_free_all(struct curl_slist *list);
CURLU *pd_curl_url(void);
void pd_curl_url_cleanup(CURLU *u);
CURLUcode pd_curl_url_get(const CURLU *u, CURLUPart part, char **out, unsigned int flags);
CURLUcode pd_curl_url_set(CURLU *u, CURLUPart part, const char *in, unsigned int flags);

#endif

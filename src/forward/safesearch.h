/* safesearch.h — forced safe search for policies that ask for it.  The
 * search and video sites publish host names that always filter
 * (forcesafesearch.google.com, strict.bing.com, safe.duckduckgo.com,
 * restrict.youtube.com); a request for the usual name is sent to that one.
 * YouTube also honours a request header on plain http. */
#ifndef GH_SAFESEARCH_H
#define GH_SAFESEARCH_H

#include <stddef.h>

/* The host to connect to instead of host, or NULL to leave it. */
const char *safesearch_host(const char *host, size_t len);

/* 1 when host is one of YouTube's, which take "YouTube-Restrict: Strict". */
int safesearch_is_youtube(const char *host, size_t len);

#endif

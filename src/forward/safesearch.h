/* safesearch.h — forced safe search for policies that ask for it.  The
 * search and video sites publish host names that always filter
 * (forcesafesearch.google.com, strict.bing.com, safe.duckduckgo.com,
 * restrict.youtube.com); a request for the usual name is sent to that one.
 * YouTube also honours a request header on plain http. */
#ifndef GH_SAFESEARCH_H
#define GH_SAFESEARCH_H

#include <stddef.h>

/* The host to connect to instead of host (in hostname.h's normal form), or
 * NULL to leave it: every Google search domain (google.<country> and
 * www.google.<country>), YouTube's hosts, Bing's and DuckDuckGo's.  The
 * table and its sources are in safesearch.c. */
const char *safesearch_host(const char *host, size_t len);

/* 1 when host (normal form) is one of YouTube's, which take
 * "YouTube-Restrict: Strict". */
int safesearch_is_youtube(const char *host, size_t len);

#endif

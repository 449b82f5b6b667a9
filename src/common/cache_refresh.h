/* cache_refresh.h — refreshing stored objects in the background
 * (stale-while-revalidate, RFC 5861): a thread of its own replays the
 * request an object was fetched with, conditionally, to the address that
 * answered it, and files what comes back (a 304 freshens the stored head,
 * a new response replaces the object).  Workers only enqueue. */
#ifndef GH_CACHE_REFRESH_H
#define GH_CACHE_REFRESH_H

#include <stddef.h>

/* Asks for the object under key[0..len) (primary key keylen bytes long) to
 * be refreshed, unless a fetch of it is under way.  Never blocks. */
void cache_refresh(const char *key, size_t len, size_t keylen);

#endif

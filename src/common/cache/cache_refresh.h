/* cache_refresh.h — refreshing stored objects in the background
 * (stale-while-revalidate, RFC 5861): a thread of its own sends the request
 * that triggered the refresh, made conditional on the stored object's
 * validators, to the address that answered the object's fill, and files what
 * comes back (a 304 freshens the stored head, a new response replaces the
 * object).  Workers only enqueue. */
#ifndef GH_CACHE_REFRESH_H
#define GH_CACHE_REFRESH_H

#include "cache_policy.h"

#include <stddef.h>

/* One refresh to make; everything is copied. */
struct cache_refresh_req {
    const char *key;          /* the object's full key (primary, or primary '\n' secondary) */
    size_t len, keylen;       /* its length, and its primary part's */
    const char *addr;         /* "ip:port" to send the request to */
    const char *head;         /* the request head, without validators */
    size_t head_len;
    const struct cache_opts *opts;  /* how a new response is judged */
    const char *const *targets;     /* the RFC 9213 target list */
    unsigned ntargets;
    enum cache_class cls;           /* the profile's word on the URL */
};

/* Asks for the refresh, unless one of that object is queued already.
 * Never blocks. */
void cache_refresh(const struct cache_refresh_req *rr);

#endif

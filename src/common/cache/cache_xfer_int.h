/* cache_xfer_int.h — one exchange's dealings with the cache, shared by
 * cache_xfer.c (lookup, fill, revalidation), cache_answer.c (answering
 * from a stored object) and cache_recipe.c (fetching it again without a
 * client).  Not an interface for anyone else. */
#ifndef GH_CACHE_XFER_INT_H
#define GH_CACHE_XFER_INT_H

#include "cache.h"
#include "cache_head.h"
#include "cache_key.h"
#include "cache_policy.h"
#include "cache_store.h"

#define CACHE_STATUS_NAME "gatehouse"
#define CACHE_FULL_KEY_MAX (CACHE_KEY_MAX + 4096) /* primary key, '\n', secondary key */

enum xfer_mode {
    X_INVALIDATE, /* an unsafe method: its success invalidates the target */
    X_PASS,       /* forwarded, nothing stored */
    X_WAIT,       /* queued behind another request's fill */
    X_FILL,       /* forwarded; the response may be stored */
    X_REVALIDATE, /* a conditional request for a stored object */
};

struct cache_xfer {
    enum xfer_mode mode;
    const struct cache_rules *rules; /* the configuration generation's; NULL after the head */
    struct cache_opts opts;
    struct cache_req_info rq;
    int64_t request_time;
    uint64_t wait_until;      /* X_WAIT: then forward uncached (ms) */
    uint64_t max_object;
    unsigned claimed : 1;     /* holds the fill claim on the primary key */
    unsigned edits_mark;      /* request edits made before the cache's decision */
    enum cache_fwd fwd;       /* why it was forwarded (Cache-Status) */
    const char *detail;
    struct cache_ref *stored; /* the object answered from, or revalidated */
    struct cache_verdict v;
    /* a fill */
    struct cache_obj *fill;
    char *fill_vary;          /* its normalised Vary list, NULL: none */
    size_t fill_cap;
    char *synth;              /* a head made for this answer (206, 304), NULL: none */
    struct http_head tmp;     /* a stored head, parsed */
    size_t keylen;            /* the primary key */
    size_t fkeylen;           /* the full key: primary, or primary '\n' secondary */
    char key[CACHE_FULL_KEY_MAX];
};

/* Answers ex from the stored object r (the reference is taken) with the
 * Cache-Status of cx (cache_add_status's arguments); a Range, a HEAD or the client's own conditional are
 * honoured.  The exchange is decided (a local answer) afterwards.  Returns
 * 0, deciding nothing, when a disk object's file cannot be opened. */
int cache_answer(struct exchange *ex, struct cache_xfer *cx, struct cache_ref *r, int fwd_status,
                 int stored, int hit);

/* Adds the Cache-Status field describing cx (and fwd_status, stored). */
void cache_add_status(struct exchange *ex, const struct cache_xfer *cx, int fwd_status,
                      int stored, int hit);

/* The front-end profile's class of the request's URL (cx->rules' classify). */
enum cache_class cache_url_class(const struct exchange *ex, const struct cache_xfer *cx);

/* The recipe to keep with an object filled by ex (cache_store.h): the
 * upstream's address, the head sent there without validators, and the
 * request edits made from edits_mark on (after the cache's decision).
 * NULL for upstreams spoken to over TLS or with a PROXY header.  Malloc'd.
 * (In cache_recipe.c.) */
char *cache_recipe(const struct exchange *ex, unsigned edits_mark);

/* ex is answered from the stale object o while it is revalidated in the
 * background: asks cache_refresh for it with ex's own request (its target,
 * its fields as edited so far, the recipe's later edits replayed), less
 * its conditionals and range, as a GET, to the recipe's address.  Nothing
 * when o has no recipe or the request has a body.  ex's edits are as they
 * were afterwards.  (In cache_recipe.c.) */
void cache_refresh_as(struct exchange *ex, const struct cache_xfer *cx, const struct cache_obj *o);

#endif

/* cache.h — the shared HTTP cache as front-ends see it: the store's
 * settings (the top-level `cache` section), the rules a route or a policy
 * applies (its own `cache` group), and the one call a front-end makes
 * before forwarding a request.
 *
 * The store (cache_store.c) is one per process, shared by every worker and
 * kept across reloads; the request flow (cache_xfer.c) serves hits, collapses
 * concurrent misses into one fetch, revalidates, and fills objects from the
 * responses the core relays.  The RFC 9111 rules are in cache_policy.h. */
#ifndef GH_CACHE_H
#define GH_CACHE_H

#include "acl.h"
#include "cache_policy.h"

#include <libconfig.h>
#include <stdint.h>

struct exchange;

/* The top-level `cache` section. */
struct cache_conf {
    uint64_t memory_bytes;     /* memory tier size; 0: no cache at all */
    uint64_t max_object_bytes; /* larger responses are relayed, not stored */
    uint32_t lock_ms;          /* a collapsed request waits this long for the fill */
    struct acl *purge_allow;   /* who may send PURGE */
    int64_t heuristic_percent; /* of (Date - Last-Modified) */
    int64_t heuristic_max;     /* cap of a heuristic lifetime, seconds */
    char *disk_dir;            /* the disk tier's directory, NULL: memory only */
    uint64_t disk_bytes;       /* its size limit */
};

/* Parses the section g (may be NULL: defaults); returns 0 or -1 with err. */
int cache_conf_load(struct cache_conf *c, const config_setting_t *g, char *err, size_t errlen);
void cache_conf_free(struct cache_conf *c);

/* A route's or a policy's use of the cache. */
struct cache_rules {
    int enabled;
    int include_query;     /* the key keeps the query (default yes) */
    int64_t ttl;           /* lifetime of responses without freshness, -1: none */
    char **bypass_cookies; /* a request carrying one of these cookies bypasses */
    unsigned nbypass;
    /* set by the front-end's profile (forward: apt.c): classifies a request's
     * path (NULL: all default) */
    enum cache_class (*classify)(const char *path, size_t len);
    int64_t stale_if_unreachable; /* seconds a stale copy may answer an origin that cannot
                                   * be reached or fails; -1: not set (the front-end's
                                   * profile may choose, else CACHE_STALE_DEFAULT) */
    char **targeted;              /* RFC 9213 target list, in precedence order (routes only) */
    unsigned ntargeted;
};

/* stale_if_unreachable when nothing sets it: a day. */
#define CACHE_STALE_DEFAULT 86400

/* Parses the setting s: `cache = true`, or a group { enabled, key_query,
 * ttl, bypass_cookies, stale_if_unreachable }; with `targets` (a reverse
 * route) also { targeted_field }, its RFC 9213 target list: a name or a
 * list of names, default "CDN-Cache-Control" (a forward proxy is no site's
 * CDN, so a policy passes 0).  `own_keys` (NULL-terminated, or NULL) are
 * keys of the same group that the caller reads itself, such as a
 * front-end's profile; any other key is refused.  A missing s leaves
 * caching off.  Returns 0 or -1 with err. */
int cache_rules_load(struct cache_rules *r, const config_setting_t *s, int targets,
                     const char *const *own_keys, char *err, size_t errlen);
void cache_rules_free(struct cache_rules *r);

enum cache_outcome {
    CACHE_FORWARD,  /* go on: forward the request (the cache watches the answer) */
    CACHE_ANSWERED, /* answered from the cache (or a PURGE): decided */
    CACHE_WAIT,     /* another request is fetching the object: the exchange
                     * is queued (exchange_queue); ask again from frontend.resume */
};

/* Called by a front-end once it knows the request goes upstream and which
 * rules apply (NULL or disabled: only PURGE and invalidation by unsafe
 * methods are handled).  Anything but CACHE_FORWARD means the exchange is
 * decided (answered or queued).  Call it again after CACHE_WAIT.  Header
 * edits made before the call apply to hits too (response edits) and to the
 * request forwarded on a miss. */
enum cache_outcome cache_request(struct exchange *ex, const struct cache_rules *r);

/* The front-end found no server to send the request to (every server of
 * the pools is down): answers with the stored stale copy instead, when the
 * response and the rules allow it (as for an origin that cannot be
 * reached).  Returns 1 when it did: the exchange is decided. */
int cache_answer_unreachable(struct exchange *ex, const char *why);

/* Whether the exchange is waiting on another's fill (for frontend.resume). */
int cache_waiting(const struct exchange *ex);

/* Before a waiting exchange is decided again from the start: forgets the
 * header edits and target made the first time (they would be doubled). */
void cache_wait_restart(struct exchange *ex);

/* The store's counters, for status pages. */
struct cache_store_stats {
    uint64_t hits, misses, entries, bytes, limit, fills;
    uint64_t disk_entries, disk_bytes, disk_limit;
};
void cache_store_stats(struct cache_store_stats *st);

#endif

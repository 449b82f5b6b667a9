/* cache_store.h — the process's one cache store: stored objects in a
 * memory tier (S3-FIFO, cache_s3fifo.h), shared by every worker and kept
 * across reloads, and the table of fills in progress that collapses
 * concurrent misses for one key into one upstream request.
 *
 * An object is a stored head, its RFC 9111 facts (cache_meta) and a body.
 * A response that varies is filed twice: a marker under the primary key
 * naming the Vary list, and the object under the primary key, a newline
 * and the request's secondary key (cache_key.h). */
#ifndef GH_CACHE_STORE_H
#define GH_CACHE_STORE_H

#include "cache_policy.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct cache_conf;

/* A body, shared by the versions of an object a 304 freshens: in memory
 * (data), or in a file of the disk tier (path: bytes [off, off + len)),
 * which is unlinked when the last reference goes. */
struct cache_body {
    atomic_int refs;
    size_t len;
    char *path;
    uint64_t off;
    char data[];
};

struct cache_obj {
    char *head;               /* the stored head (cache_head_for_storage), NUL-terminated */
    size_t head_len;
    struct cache_meta meta;
    char *vary;               /* a marker's normalised Vary list; NULL for an object */
    struct cache_body *body;  /* NULL for a marker */
    /* how to fetch it again in the background (stale-while-revalidate):
     * "address\n" and the request head sent upstream, without
     * conditionals; NULL when it cannot be (TLS or PROXY upstreams) */
    char *recipe;
    int64_t override_ttl;     /* the route's TTL override when it was stored */
};

/* A reference to a stored object, from cache_store_get. */
struct cache_ref;

/* Creates the store on first use and follows the configured limits (and
 * starts the disk tier when a directory is configured). */
void cache_store_configure(const struct cache_conf *c);
/* Whether a store exists (a `cache` section with memory set was loaded). */
int cache_store_ready(void);

/* Looks key up; NULL on a miss.  The reference must be released. */
struct cache_ref *cache_store_get(const char *key, size_t len);
const struct cache_obj *cache_ref_obj(const struct cache_ref *r);
void cache_ref_release(struct cache_ref *r);

/* Files o (taken, whatever happens) under key, replacing what was there,
 * in memory and (written in the background) on disk. */
void cache_store_put(const char *key, size_t len, struct cache_obj *o);
/* The same in memory only (an object read back from disk). */
void cache_store_put_memory(const char *key, size_t len, struct cache_obj *o);

/* Removes key and, when it is a primary key, every variant filed under it.
 * Returns the number of entries removed. */
size_t cache_store_remove(const char *key, size_t len);
/* Removes every entry whose key starts with prefix[0..len). */
size_t cache_store_remove_prefix(const char *prefix, size_t len);

/* Adds Content-Length (the body's length) to a head that has none: a body
 * that came chunked or delimited by the close is stored whole. */
void cache_store_fix_length(struct cache_obj *o);

struct cache_obj *cache_obj_new(char *head, size_t head_len, const struct cache_meta *m,
                                struct cache_body *body);
void cache_obj_free(struct cache_obj *o);
struct cache_body *cache_body_new(size_t cap);
struct cache_body *cache_body_ref(struct cache_body *b);
void cache_body_unref(struct cache_body *b);

/* ---- collapsed forwarding ---- */

enum cache_claim {
    CACHE_CLAIMED, /* the caller fetches key, and must cache_fill_done it */
    CACHE_BUSY,    /* another request is fetching it: wait and look again */
    CACHE_PASS,    /* a fetch just ended without storing: fetch uncached */
};

enum cache_claim cache_fill_claim(const char *key, size_t len);
/* The fetch ended: stored (waiters look again and hit) or not (waiters
 * fetch for themselves for a moment instead of queueing one by one). */
void cache_fill_done(const char *key, size_t len, int stored);

#endif

/* balance.h — choosing a server of a pool.
 *
 * One small interface, one file per algorithm family:
 *   balance_rr.c    smooth weighted round-robin ("round_robin")
 *   balance_conn.c  weighted least-connections ("least_conn") and power of
 *                   two random choices ("p2c")
 *   balance_hash.c  consistent hashing on a ring with virtual nodes ("hash")
 *
 * An algorithm sees the pool's servers through pool_usable() and
 * pool_weight() (pool.h) and never looks at health or limits itself, so
 * every algorithm skips a down, full or already-tried server the same way.
 * Picks run concurrently on every worker: state an algorithm mutates is
 * guarded by its own lock or atomics. */
#ifndef GH_BALANCE_H
#define GH_BALANCE_H

#include <stddef.h>
#include <stdint.h>

struct pool;

/* What one pick may look at. */
struct pick {
    uint64_t now;          /* monotonic ms, for slow start */
    uint64_t key;          /* hash of the request's key (hash balancing) */
    int has_key;           /* 0: the request has no key; hash falls back to p2c */
    uint32_t rnd;          /* a fresh random number from the caller */
    const uint8_t *skip;   /* per server, 1: already tried for this request (may be NULL) */
    int backup;            /* pick among the backup servers instead of the primaries */
    int prefer;            /* 1 + a server to take when usable (a sticky cookie), 0: none */
};

struct balancer {
    const char *name;
    /* Per-pool state built once the pool's servers are known (the ring, the
     * round-robin's current weights); may return NULL when it needs none. */
    void *(*init)(const struct pool *p);
    void (*free)(void *state);
    /* The index of the chosen server, or -1 when no usable server is left. */
    int (*pick)(const struct pool *p, void *state, const struct pick *pk);
};

extern const struct balancer balance_round_robin;
extern const struct balancer balance_least_conn;
extern const struct balancer balance_p2c;
extern const struct balancer balance_hash;

/* The algorithm named in the configuration, or NULL. */
const struct balancer *balancer_find(const char *name);

/* A 64-bit hash of bytes (keys and ring points). */
uint64_t balance_hash_bytes(const void *data, size_t len);

#endif

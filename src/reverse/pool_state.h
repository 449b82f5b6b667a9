/* pool_state.h — what the pools learn at run time, kept apart from the
 * configuration so that a reload keeps it: each server's health verdict
 * (active checks, passive ejection), its requests in flight (max_conns),
 * its counters, and each pool's queue.
 *
 * A process-wide table hands out one reference-counted state per pool name
 * and per server (pool name, address, and which of the pool's servers with
 * that address it is).  Every configuration generation that names the same
 * server shares its state: a generation takes its references when it is
 * loaded and drops them when it is freed, so a server whose address
 * changed, or a renamed pool, starts afresh, and a server removed from the
 * configuration is forgotten once the last generation naming it is gone. */
#ifndef GH_POOL_STATE_H
#define GH_POOL_STATE_H

#include "health.h"
#include "metrics.h"

#include <pthread.h>
#include <stdatomic.h>

/* A server's run-time state.  The atomics are read and written by every
 * worker without a lock; `lock` guards h and checked_by. */
struct server_state {
    atomic_uint active;      /* requests in flight to it, all workers, all generations */
    atomic_uint_least64_t requests, failures;
    atomic_uint_least64_t ejections;  /* passive ejections (max_fails) */
    struct metric_hist *latency;      /* the answers' durations (metrics.h), NULL: not counted */
    atomic_int usable_cache; /* health_usable() as last published (for readers) */
    pthread_mutex_t lock;
    struct health h;
    /* The pool (of the generation activated last) whose active checks
     * judge the server, NULL when none does: an older generation's checker,
     * still running until that generation is freed, is not heard. */
    const void *checked_by;
};

/* A pool's run-time state. */
struct pool_state {
    atomic_uint queued; /* exchanges waiting for a server, all workers, all generations */
    atomic_uint_least64_t retries; /* requests sent to another server after a failure */
};

/* The state of the nth server (from 0) of pool `pool` whose address is
 * `label`: the one a living generation holds, else a new one (up, nothing
 * in flight, counters at 0).  Never NULL.  Thread-safe. */
struct server_state *pool_state_server(const char *pool, const char *label, unsigned nth);
/* The state of pool `pool`, held or new (nothing queued). */
struct pool_state *pool_state_pool(const char *pool);

/* Drop a reference taken above; the last one frees the state.  Safe with
 * NULL, from any thread. */
void pool_state_server_put(struct server_state *st);
void pool_state_pool_put(struct pool_state *st);

/* States held now (tests). */
unsigned pool_state_count(void);

/* Calls fn for every server state held (pool name, address, nth) and pfn
 * for every pool state, under the table's lock: neither may call back
 * into this module. */
void pool_state_each(void (*fn)(void *arg, const char *pool, const char *label, unsigned nth,
                                struct server_state *st),
                     void (*pfn)(void *arg, const char *pool, struct pool_state *st), void *arg);

#endif

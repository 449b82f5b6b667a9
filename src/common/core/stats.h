/* stats.h — the process's counters, summed over workers when read.
 * Each worker counts in its own struct (atomics, relaxed: no contention);
 * the status page and benchmarks read the sums. */
#ifndef GH_STATS_H
#define GH_STATS_H

#include <stdatomic.h>
#include <stdint.h>

struct worker_stats {
    atomic_ullong accepted;
    atomic_ullong exchanges;
    atomic_ullong upstream_connects;
    atomic_ullong upstream_reuses;
    atomic_uint active;
};

struct stats_total {
    unsigned workers;
    uint64_t uptime_s;
    uint64_t accepted, exchanges, upstream_connects, upstream_reuses, active;
};

/* Adds a worker's counters to the sums (at worker creation, main thread). */
void stats_register(struct worker_stats *ws);

/* Sums every registered worker's counters. */
void stats_snapshot(struct stats_total *t);

#endif

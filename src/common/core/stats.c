/* stats.c — the registry of per-worker counters (see stats.h). */
#include "stats.h"
#include "util.h"

#define STATS_MAX_WORKERS 256

static struct worker_stats *registered[STATS_MAX_WORKERS];
static atomic_uint nregistered;
static uint64_t started_ms;

void stats_register(struct worker_stats *ws)
{
    unsigned i = atomic_load(&nregistered);

    if (i == 0)
        started_ms = gh_now_ms();
    if (i < STATS_MAX_WORKERS) {
        registered[i] = ws;
        atomic_store(&nregistered, i + 1);
    }
}

void stats_snapshot(struct stats_total *t)
{
    unsigned n = atomic_load(&nregistered);

    memset(t, 0, sizeof(*t));
    t->workers = n;
    t->uptime_s = (gh_now_ms() - started_ms) / 1000u;
    for (unsigned i = 0; i < n; i++) {
        struct worker_stats *w = registered[i];
        t->accepted += atomic_load_explicit(&w->accepted, memory_order_relaxed);
        t->exchanges += atomic_load_explicit(&w->exchanges, memory_order_relaxed);
        t->upstream_connects += atomic_load_explicit(&w->upstream_connects, memory_order_relaxed);
        t->upstream_reuses += atomic_load_explicit(&w->upstream_reuses, memory_order_relaxed);
        t->active += atomic_load_explicit(&w->active, memory_order_relaxed);
    }
}

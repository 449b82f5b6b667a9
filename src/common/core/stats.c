/* stats.c — the registry of per-worker counters (see stats.h). */
#include "stats.h"
#include "util.h"

#define STATS_MAX_WORKERS 256

const char *const stats_h2_abuse_names[H2_ABUSE_KINDS] = {
    "rapid_reset", "continuation_flood", "hpack_bomb",   "settings_flood",  "ping_flood",
    "priority_flood", "empty_frames", "window_stall", "slow_read", "settings_timeout",
};

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
        t->h2_conns += atomic_load_explicit(&w->h2_conns, memory_order_relaxed);
        t->h2_active += atomic_load_explicit(&w->h2_active, memory_order_relaxed);
        t->h2_streams += atomic_load_explicit(&w->h2_streams, memory_order_relaxed);
        t->h2_malformed += atomic_load_explicit(&w->h2_malformed, memory_order_relaxed);
        for (int k = 0; k < H2_ABUSE_KINDS; k++)
            t->h2_abuse[k] += atomic_load_explicit(&w->h2_abuse[k], memory_order_relaxed);
        t->h2up_conns += atomic_load_explicit(&w->h2up_conns, memory_order_relaxed);
        t->h2up_open += atomic_load_explicit(&w->h2up_open, memory_order_relaxed);
        t->h2up_streams += atomic_load_explicit(&w->h2up_streams, memory_order_relaxed);
    }
}

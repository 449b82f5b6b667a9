/* stats.h — the process's counters, summed over workers when read.
 * Each worker counts in its own struct (atomics, relaxed: no contention);
 * the status page and benchmarks read the sums. */
#ifndef GH_STATS_H
#define GH_STATS_H

#include <stdatomic.h>
#include <stdint.h>

/* The abuse of HTTP/2 that h2_session.c catches, each counted apart (and
 * logged); stats_h2_abuse_names[] names them for the status page. */
enum stats_h2_abuse {
    H2_RAPID_RESET,        /* RST_STREAM past reset_budget (CVE-2023-44487) */
    H2_CONTINUATION_FLOOD, /* a header block past max_continuations, or too large */
    H2_HPACK_BOMB,         /* a header block decoding to far more than the list limit */
    H2_SETTINGS_FLOOD,     /* SETTINGS frames past flood_budget */
    H2_PING_FLOOD,         /* PING frames past flood_budget, or their ACKs piling up */
    H2_PRIORITY_FLOOD,     /* PRIORITY frames past flood_budget */
    H2_EMPTY_FRAMES,       /* empty DATA or HEADERS without END_STREAM past flood_budget */
    H2_WINDOW_STALL,       /* a window held at zero with data waiting past timeouts.send */
    H2_SLOW_READ,          /* the socket took none of our bytes for timeouts.send */
    H2_SETTINGS_TIMEOUT,   /* no SETTINGS ACK within settings_timeout */
    H2_ABUSE_KINDS
};
extern const char *const stats_h2_abuse_names[H2_ABUSE_KINDS];

struct worker_stats {
    atomic_ullong accepted;
    atomic_ullong exchanges;
    atomic_ullong upstream_connects;
    atomic_ullong upstream_reuses;
    atomic_uint active;
    /* HTTP/2 clients */
    atomic_ullong h2_conns;     /* connections that spoke it */
    atomic_uint h2_active;      /* of them, open now */
    atomic_ullong h2_streams;   /* streams that carried a request */
    atomic_ullong h2_malformed; /* streams refused as malformed (stream errors) */
    atomic_ullong h2_abuse[H2_ABUSE_KINDS];
    /* HTTP/2 to upstreams (h2_link.c) */
    atomic_ullong h2up_conns;   /* connections made */
    atomic_uint h2up_open;      /* of them, open now */
    atomic_ullong h2up_streams; /* streams asked for on them */
};

struct stats_total {
    unsigned workers;
    uint64_t uptime_s;
    uint64_t accepted, exchanges, upstream_connects, upstream_reuses, active;
    uint64_t h2_conns, h2_active, h2_streams, h2_malformed, h2_abuse[H2_ABUSE_KINDS];
    uint64_t h2up_conns, h2up_open, h2up_streams;
};

/* Adds a worker's counters to the sums (at worker creation, main thread). */
void stats_register(struct worker_stats *ws);

/* Sums every registered worker's counters. */
void stats_snapshot(struct stats_total *t);

#endif

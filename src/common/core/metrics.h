/* metrics.h — the process's metrics, written in Prometheus's text
 * exposition format (version 0.0.4) by hand: Debian has no C client.
 *
 * Two kinds of source feed one scrape:
 *   - registered series: counters and histograms any module creates by
 *     family name and labels (metrics_counter, metrics_hist), kept for the
 *     life of the process and counted lock-free: each has METRICS_SHARDS
 *     cells on cache lines of their own, a worker adds to its own cell
 *     (metrics_set_shard), a scrape sums them;
 *   - collectors: functions called at scrape time that write whole
 *     families from state they own (pools, the cache, the process), with
 *     metrics_family / metrics_sample / metrics_write_hist.
 * Names follow Prometheus's conventions: `gatehouse_` prefix, base units
 * (seconds, bytes), `_total` on counters. */
#ifndef GH_METRICS_H
#define GH_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct text; /* util.h */

#define METRICS_SHARDS 8
/* Upper bounds of the latency buckets, in seconds (+Inf is implied). */
#define METRICS_BUCKETS 12
extern const double metrics_bucket_bounds[METRICS_BUCKETS];

/* A counter: one cell per shard, each on its own cache line. */
struct metric_counter {
    struct {
        _Alignas(64) atomic_ullong v;
    } cell[METRICS_SHARDS];
};

/* A histogram of durations: per shard, the bucket counts (not cumulative:
 * the writer accumulates), the count and the sum in microseconds. */
struct metric_hist {
    struct {
        _Alignas(64) atomic_ullong b[METRICS_BUCKETS + 1];
        atomic_ullong count, sum_us;
    } cell[METRICS_SHARDS];
};

/* The calling thread counts in cell (n % METRICS_SHARDS) from now on (a
 * worker calls it with its id; other threads use cell 0). */
void metrics_set_shard(unsigned n);

/* The series of family `name` (a counter, `help` its HELP text) with these
 * labels (`key="value",...` as metrics_labels writes them, "" none):
 * created at the first call, the same pointer at every later call with the
 * same name and labels.  Never freed.  Thread-safe; finding an existing
 * series takes no lock, so it may be called per request.  NULL (count
 * nothing) past 4096 series, or when the name is another type's. */
struct metric_counter *metrics_counter(const char *name, const char *help, const char *labels);
/* The same for a histogram of durations (seconds). */
struct metric_hist *metrics_hist(const char *name, const char *help, const char *labels);

/* Adds n to a counter (relaxed, lock-free).  NULL is a no-op. */
static inline void metric_add(struct metric_counter *m, uint64_t n)
{
    extern __thread unsigned metrics_shard;
    if (m)
        atomic_fetch_add_explicit(&m->cell[metrics_shard].v, n, memory_order_relaxed);
}
static inline void metric_inc(struct metric_counter *m)
{
    metric_add(m, 1);
}
/* The counter's value now, summed over its cells. */
uint64_t metric_value(const struct metric_counter *m);

/* Records one duration of `us` microseconds.  NULL is a no-op. */
void metric_observe(struct metric_hist *h, uint64_t us);

/* Writes `key="value"` pairs for the NULL-terminated key, value, ...
 * arguments into dst, escaping values (\\, \", \n); returns dst. */
char *metrics_labels(char *dst, size_t cap, ...) __attribute__((sentinel));

/* ---- the scrape ---- */

/* A growing text buffer a scrape writes into. */
/* Appends formatted text. */
void metrics_printf(struct text *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A family's HELP and TYPE lines ("counter", "gauge", "histogram"). */
void metrics_family(struct text *o, const char *name, const char *type, const char *help);
/* One sample: `name{labels} value` (labels "" or NULL: none). */
void metrics_sample(struct text *o, const char *name, const char *labels, double v);
/* A histogram's _bucket, _sum and _count samples (family line written by
 * the caller). */
void metrics_write_hist(struct text *o, const char *name, const char *labels,
                        const struct metric_hist *h);
/* A histogram's bucket counts summed over its cells (not cumulative; the
 * last is past the last bound). */
void metric_hist_buckets(const struct metric_hist *h, uint64_t b[METRICS_BUCKETS + 1]);
/* Quantile q (0..1), in seconds, of such bucket counts (or the difference
 * of two readings), interpolated inside its bucket; 0 when empty. */
double metrics_quantile(const uint64_t b[METRICS_BUCKETS + 1], double q);

/* A collector: writes whole families at each scrape.  `arg` is handed
 * back.  Registered for the life of the process. */
void metrics_add_collector(void (*fn)(struct text *o, void *arg), void *arg);

/* Writes every registered series and runs every collector; the caller
 * frees o->p. */
void metrics_write(struct text *o);

#endif

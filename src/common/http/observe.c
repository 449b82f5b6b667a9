/* observe.c — the core's traffic counters (see observe.h). */
#include "observe.h"
#include "cache.h"
#include "exchange_int.h"
#include "metrics.h"
#include "util.h"

#include <pthread.h>

static struct metric_hist total_hist;
static atomic_ullong total_requests, total_errors;

/* Listeners seen, for the gauge of open connections: accepted minus
 * closed, per name.  Bounded: names past the table are not shown. */
#define LISTENERS_MAX 256
static struct {
    char name[64];
    struct metric_counter *opened, *closed;
} seen[LISTENERS_MAX];
static atomic_uint nseen;
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;

static void note_listener(const char *lname, struct metric_counter *opened,
                          struct metric_counter *closed)
{
    unsigned n = atomic_load(&nseen);

    for (unsigned i = 0; i < n; i++)
        if (strcmp(seen[i].name, lname) == 0)
            return;
    pthread_mutex_lock(&seen_lock);
    n = atomic_load(&nseen);
    for (unsigned i = 0; i < n; i++)
        if (strcmp(seen[i].name, lname) == 0)
            goto out;
    if (n < LISTENERS_MAX) {
        gh_fmt(seen[n].name, sizeof(seen[n].name), "%s", lname);
        seen[n].opened = opened;
        seen[n].closed = closed;
        atomic_store(&nseen, n + 1);
    }
out:
    pthread_mutex_unlock(&seen_lock);
}

void observe_conn(const char *lname, int delta)
{
    char l[128];
    struct metric_counter *opened, *closed;

    metrics_labels(l, sizeof(l), "listener", lname, NULL);
    opened = metrics_counter("gatehouse_connections_accepted_total",
                             "Client connections accepted.", l);
    closed = metrics_counter("gatehouse_connections_closed_total", "Client connections closed.", l);
    if (delta > 0) {
        note_listener(lname, opened, closed);
        metric_inc(opened);
    } else {
        metric_inc(closed);
    }
}

void observe_tls(const char *lname, int ok, int resumed)
{
    char l[160];

    metrics_labels(l, sizeof(l), "listener", lname, "result",
                   !ok ? "failed" : resumed ? "resumed" : "full", NULL);
    metric_inc(metrics_counter("gatehouse_tls_handshakes_total",
                               "TLS handshakes with clients, by result (full, resumed, failed).", l));
}

/* The series an exchange adds to, for one (listener, status class,
 * protocol), resolved once per thread: building the labels and finding
 * the series cost more than the counting, at every request. */
struct exchange_series {
    char lname[64], proto[16];
    int cls;
    struct metric_counter *requests, *in, *out, *spliced;
    struct metric_counter *upstream[2]; /* went to an upstream over HTTP/1.1, h2 */
    struct metric_hist *duration;
};
#define SERIES_CACHED 16
static __thread struct exchange_series series_cache[SERIES_CACHED];
static __thread unsigned series_cached, series_next;

/* Finds (or creates) the series of e's listener, class and protocol. */
static void resolve(struct exchange_series *e, const char *lname, int cls, const char *proto)
{
    static const char *const classes[] = {"none", "1xx", "2xx", "3xx", "4xx", "5xx"};
    char l[256];

    metrics_labels(l, sizeof(l), "listener", lname, "code_class", classes[cls], "proto", proto, NULL);
    e->requests = metrics_counter("gatehouse_requests_total",
                                  "Requests answered, by listener, status class and protocol.", l);
    for (int h2 = 0; h2 < 2; h2++) {
        metrics_labels(l, sizeof(l), "listener", lname, "proto", h2 ? "h2" : "http/1.1", NULL);
        e->upstream[h2] = metrics_counter("gatehouse_upstream_requests_total",
                                          "Requests that went to an upstream, by listener and the "
                                          "upstream's protocol.",
                                          l);
    }
    metrics_labels(l, sizeof(l), "listener", lname, NULL);
    e->in = metrics_counter("gatehouse_received_bytes_total",
                            "Bytes received from clients, heads and bodies.", l);
    e->out = metrics_counter("gatehouse_sent_bytes_total", "Bytes sent to clients, heads and bodies.", l);
    e->spliced = metrics_counter("gatehouse_spliced_bytes_total",
                                 "Body bytes relayed socket to socket with splice(2), both ways, "
                                 "never copied into the proxy's memory.",
                                 l);
    e->duration = metrics_hist("gatehouse_request_duration_seconds",
                               "Time from a request's head to the end of its answer.", l);
}

/* The cached series of (lname, cls, proto), resolved into a new (or the
 * oldest) entry when missing; *tmp is filled and returned for names too
 * long to cache. */
static struct exchange_series *series_of(const char *lname, int cls, const char *proto,
                                         struct exchange_series *tmp)
{
    struct exchange_series *e;

    for (unsigned i = 0; i < series_cached; i++) {
        e = &series_cache[i];
        if (e->cls == cls && strcmp(e->lname, lname) == 0 && strcmp(e->proto, proto) == 0)
            return e;
    }
    if (strlen(lname) >= sizeof(e->lname) || strlen(proto) >= sizeof(e->proto)) {
        resolve(tmp, lname, cls, proto);
        return tmp;
    }
    e = &series_cache[series_cached < SERIES_CACHED ? series_cached++ : series_next++ % SERIES_CACHED];
    gh_fmt(e->lname, sizeof(e->lname), "%s", lname);
    gh_fmt(e->proto, sizeof(e->proto), "%s", proto);
    e->cls = cls;
    resolve(e, lname, cls, proto);
    return e;
}

void observe_exchange(const struct exchange *ex, const char *proto)
{
    const char *lname = ex->lst ? ex->lst->name : "-";
    int st = ex->status, cls = st >= 100 && st < 600 ? st / 100 : 0;
    uint64_t us = (gh_now_ms() - ex->start_ms) * 1000u;
    struct exchange_series tmp, *e = series_of(lname, cls, proto, &tmp);

    metric_inc(e->requests);
    if (ex->up_addr[0])
        metric_inc(e->upstream[ex->up_h2_streams ? 1 : 0]);
    metric_add(e->in, ex->bytes_in);
    metric_add(e->out, ex->bytes_out);
    metric_add(e->spliced, ex->reqb.spliced + ex->respb.spliced);
    metric_observe(e->duration, us);
    metric_observe(&total_hist, us);
    atomic_fetch_add_explicit(&total_requests, 1, memory_order_relaxed);
    if (st >= 500)
        atomic_fetch_add_explicit(&total_errors, 1, memory_order_relaxed);
}

void observe_totals(struct observe_totals *t)
{
    t->requests = atomic_load_explicit(&total_requests, memory_order_relaxed);
    t->errors = atomic_load_explicit(&total_errors, memory_order_relaxed);
    t->duration = &total_hist;
}

static void collect_open(struct text *o, void *arg)
{
    unsigned n = atomic_load(&nseen);
    char l[128];

    (void)arg;
    metrics_family(o, "gatehouse_connections_open", "gauge", "Client connections open now.");
    for (unsigned i = 0; i < n; i++) {
        uint64_t a = metric_value(seen[i].opened), c = metric_value(seen[i].closed);
        metrics_sample(o, "gatehouse_connections_open",
                       metrics_labels(l, sizeof(l), "listener", seen[i].name, NULL),
                       (double)(a > c ? a - c : 0));
    }
}

/* The store, per tier: objects, bytes and the limit; lookups by result. */
static void collect_cache(struct text *o, void *arg)
{
    struct cache_store_stats cs;

    (void)arg;
    cache_store_stats(&cs);
    metrics_family(o, "gatehouse_cache_objects", "gauge", "Objects stored, by tier.");
    metrics_sample(o, "gatehouse_cache_objects", "tier=\"memory\"", (double)cs.entries);
    metrics_sample(o, "gatehouse_cache_objects", "tier=\"disk\"", (double)cs.disk_entries);
    metrics_family(o, "gatehouse_cache_bytes", "gauge", "Bytes stored, by tier.");
    metrics_sample(o, "gatehouse_cache_bytes", "tier=\"memory\"", (double)cs.bytes);
    metrics_sample(o, "gatehouse_cache_bytes", "tier=\"disk\"", (double)cs.disk_bytes);
    metrics_family(o, "gatehouse_cache_limit_bytes", "gauge", "The size limit, by tier.");
    metrics_sample(o, "gatehouse_cache_limit_bytes", "tier=\"memory\"", (double)cs.limit);
    metrics_sample(o, "gatehouse_cache_limit_bytes", "tier=\"disk\"", (double)cs.disk_limit);
    metrics_family(o, "gatehouse_cache_lookups_total", "counter",
                   "Lookups in the store, by result (hit, miss).");
    metrics_sample(o, "gatehouse_cache_lookups_total", "result=\"hit\"", (double)cs.hits);
    metrics_sample(o, "gatehouse_cache_lookups_total", "result=\"miss\"", (double)cs.misses);
}

void observe_init(void)
{
    metrics_add_collector(collect_open, NULL);
    metrics_add_collector(collect_cache, NULL);
}

/* dashboard.c — the ring of samples behind the dashboard, its sampling
 * thread and its JSON (see dashboard.h). */
#include "dashboard.h"
#include "cache.h"
#include "metrics.h"
#include "observe.h"
#include "top.h"
#include "util.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

struct sample {
    uint64_t seq;
    uint64_t t;           /* wall clock, ms */
    uint64_t requests;    /* total so far */
    float rps, eps;       /* requests and 5xx answers per second */
    float p50, p90, p99;  /* latency of the second's requests, seconds */
    float hit;            /* cache hit ratio of the second, -1: no lookup */
    uint16_t up, servers; /* servers taking traffic, servers known */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct sample ring[DASHBOARD_SAMPLES];
static uint64_t seq; /* of the newest sample; ring[seq % N] */
static void (*health_each)(dashboard_server_cb cb, void *cbarg);

/* The previous reading, for the differences. */
static struct {
    uint64_t t, requests, errors, hits, misses;
    uint64_t b[METRICS_BUCKETS + 1];
} prev;

static pthread_t thread;
static int running, stop_fd[2] = {-1, -1};

void dashboard_set_health(void (*each)(dashboard_server_cb cb, void *cbarg))
{
    pthread_mutex_lock(&lock);
    health_each = each;
    pthread_mutex_unlock(&lock);
}

static void count_up(void *arg, const char *pool, const char *server, int up)
{
    struct sample *s = arg;

    (void)pool;
    (void)server;
    s->servers++;
    s->up += up ? 1 : 0;
}

void dashboard_sample(void)
{
    struct observe_totals tot;
    struct cache_store_stats cs;
    uint64_t b[METRICS_BUCKETS + 1], d[METRICS_BUCKETS + 1], now = gh_wall_us() / 1000u;
    struct sample s = {0};
    double secs;

    observe_totals(&tot);
    cache_store_stats(&cs);
    metric_hist_buckets(tot.duration, b);
    pthread_mutex_lock(&lock);
    secs = prev.t && now > prev.t ? (double)(now - prev.t) / 1000.0 : 1.0;
    for (unsigned k = 0; k <= METRICS_BUCKETS; k++)
        d[k] = b[k] - prev.b[k];
    s.seq = ++seq;
    s.t = now;
    s.requests = tot.requests;
    s.rps = (float)((double)(tot.requests - prev.requests) / secs);
    s.eps = (float)((double)(tot.errors - prev.errors) / secs);
    s.p50 = (float)metrics_quantile(d, 0.5);
    s.p90 = (float)metrics_quantile(d, 0.9);
    s.p99 = (float)metrics_quantile(d, 0.99);
    uint64_t lookups = (cs.hits - prev.hits) + (cs.misses - prev.misses);
    s.hit = lookups ? (float)((double)(cs.hits - prev.hits) / (double)lookups) : -1.0f;
    if (health_each)
        health_each(count_up, &s);
    ring[s.seq % DASHBOARD_SAMPLES] = s;
    prev.t = now;
    prev.requests = tot.requests;
    prev.errors = tot.errors;
    prev.hits = cs.hits;
    prev.misses = cs.misses;
    memcpy(prev.b, b, sizeof(b));
    pthread_mutex_unlock(&lock);
}

static void *sampler(void *arg)
{
    struct pollfd p = {.fd = stop_fd[0], .events = POLLIN};

    (void)arg;
    for (;;) {
        int wait = (int)(1000 - (gh_wall_us() / 1000u) % 1000); /* on the second */
        if (poll(&p, 1, wait) != 0)
            return NULL;
        dashboard_sample();
    }
}

void dashboard_start(void)
{
    if (running || pipe2(stop_fd, O_CLOEXEC) < 0)
        return;
    dashboard_sample(); /* the baseline */
    if (pthread_create(&thread, NULL, sampler, NULL) == 0)
        running = 1;
}

void dashboard_stop(void)
{
    if (!running)
        return;
    if (write(stop_fd[1], "x", 1) < 0) {
        /* the thread then runs until exit */
    }
    pthread_join(thread, NULL);
    running = 0;
    close(stop_fd[0]);
    close(stop_fd[1]);
}

/* ---- JSON ---- */

struct json_walk {
    struct text *o;
    int n;
};

static void put_server(void *arg, const char *pool, const char *server, int up)
{
    struct json_walk *w = arg;

    metrics_printf(w->o, "%s{\"pool\":", w->n++ ? "," : "");
    text_json_str(w->o, pool);
    metrics_printf(w->o, ",\"server\":");
    text_json_str(w->o, server);
    metrics_printf(w->o, ",\"up\":%s}", up ? "true" : "false");
}

static void put_top(void *arg, const char *title, const char *unit, const struct top_row *rows,
                    unsigned nrows)
{
    struct json_walk *w = arg;

    metrics_printf(w->o, "%s{\"title\":", w->n++ ? "," : "");
    text_json_str(w->o, title);
    metrics_printf(w->o, ",\"unit\":");
    text_json_str(w->o, unit);
    metrics_printf(w->o, ",\"rows\":[");
    for (unsigned i = 0; i < nrows; i++) {
        metrics_printf(w->o, "%s[", i ? "," : "");
        text_json_str(w->o, rows[i].key);
        metrics_printf(w->o, ",%llu]", (unsigned long long)rows[i].v);
    }
    metrics_printf(w->o, "]}");
}

void dashboard_json(struct text *o, uint64_t since)
{
    struct json_walk w = {o, 0};
    uint64_t first;

    pthread_mutex_lock(&lock);
    first = seq >= DASHBOARD_SAMPLES ? seq - DASHBOARD_SAMPLES + 1 : 1;
    if (since + 1 > first)
        first = since + 1;
    metrics_printf(o, "{\"interval\":1,\"capacity\":%u,\"seq\":%llu,\"samples\":[",
                   DASHBOARD_SAMPLES, (unsigned long long)seq);
    for (uint64_t i = first; i <= seq; i++) {
        const struct sample *s = &ring[i % DASHBOARD_SAMPLES];
        metrics_printf(o, "%s[%llu,%llu,%llu,%.3f,%.3f,%.6f,%.6f,%.6f,%.4f,%u,%u]",
                       i == first ? "" : ",", (unsigned long long)s->seq, (unsigned long long)s->t,
                       (unsigned long long)s->requests, s->rps, s->eps, s->p50, s->p90, s->p99,
                       s->hit, s->up, s->servers);
    }
    metrics_printf(o, "],\"servers\":[");
    if (health_each)
        health_each(put_server, &w);
    pthread_mutex_unlock(&lock);
    w.n = 0;
    metrics_printf(o, "],\"tops\":[");
    top_each(10, put_top, &w);
    metrics_printf(o, "]}\n");
}

/* pool_metrics.c — the pools' families for /metrics and their health for
 * the dashboard (see pool_metrics.h). */
#include "pool_metrics.h"
#include "dashboard.h"
#include "metrics.h"
#include "pool_state.h"
#include "util.h"

#include <stdio.h>

struct scrape {
    struct text *o;
    int family; /* which family this walk writes */
    uint64_t now;
};

/* The `server` label: the address, "#2" after it for a second server of
 * the pool with that address. */
static void server_name(char *dst, size_t cap, const char *label, unsigned nth)
{
    if (nth)
        gh_fmt(dst, cap, "%s#%u", label, nth + 1);
    else
        gh_fmt(dst, cap, "%s", label);
}

static const struct {
    const char *name, *type, *help;
} server_families[] = {
    {"gatehouse_server_up", "gauge", "Whether the server takes requests (1) or is down or ejected (0)."},
    {"gatehouse_server_in_flight", "gauge", "Requests in flight to the server."},
    {"gatehouse_server_requests_total", "counter", "Requests sent to the server."},
    {"gatehouse_server_failures_total", "counter",
     "Requests to the server that failed (connect refused or timed out, 502, 504)."},
    {"gatehouse_server_ejections_total", "counter", "Times the server was ejected after failed requests."},
};

static void one_server(void *arg, const char *pool, const char *label, unsigned nth,
                       struct server_state *st)
{
    struct scrape *s = arg;
    char server[300], l[600];
    double v = 0;

    server_name(server, sizeof(server), label, nth);
    metrics_labels(l, sizeof(l), "pool", pool, "server", server, NULL);
    switch (s->family) {
    case 0:
        pthread_mutex_lock(&st->lock);
        v = st->h.up && health_usable(&st->h, s->now);
        pthread_mutex_unlock(&st->lock);
        break;
    case 1: v = atomic_load(&st->active); break;
    case 2: v = (double)atomic_load(&st->requests); break;
    case 3: v = (double)atomic_load(&st->failures); break;
    case 4: v = (double)atomic_load(&st->ejections); break;
    }
    metrics_sample(s->o, server_families[s->family].name, l, v);
}

static void one_pool(void *arg, const char *pool, struct pool_state *st)
{
    struct scrape *s = arg;
    char l[300];

    metrics_labels(l, sizeof(l), "pool", pool, NULL);
    if (s->family == 0)
        metrics_sample(s->o, "gatehouse_pool_queued", l, atomic_load(&st->queued));
    else
        metrics_sample(s->o, "gatehouse_pool_retries_total", l, (double)atomic_load(&st->retries));
}

static void collect(struct text *o, void *arg)
{
    struct scrape s = {o, 0, gh_now_ms()};

    (void)arg;
    for (s.family = 0; s.family < (int)GH_ARRAY_LEN(server_families); s.family++) {
        metrics_family(o, server_families[s.family].name, server_families[s.family].type,
                       server_families[s.family].help);
        pool_state_each(one_server, NULL, &s);
    }
    s.family = 0;
    metrics_family(o, "gatehouse_pool_queued", "gauge", "Requests waiting in the pool's queue.");
    pool_state_each(NULL, one_pool, &s);
    s.family = 1;
    metrics_family(o, "gatehouse_pool_retries_total", "counter",
                   "Requests tried again on another server of the pool.");
    pool_state_each(NULL, one_pool, &s);
}

struct health_walk {
    dashboard_server_cb cb;
    void *cbarg;
    uint64_t now;
};

static void health_one(void *arg, const char *pool, const char *label, unsigned nth,
                       struct server_state *st)
{
    struct health_walk *w = arg;
    char server[300];
    int up;

    server_name(server, sizeof(server), label, nth);
    pthread_mutex_lock(&st->lock);
    up = st->h.up && health_usable(&st->h, w->now);
    pthread_mutex_unlock(&st->lock);
    w->cb(w->cbarg, pool, server, up);
}

static void health_each(dashboard_server_cb cb, void *cbarg)
{
    struct health_walk w = {cb, cbarg, gh_now_ms()};

    pool_state_each(health_one, NULL, &w);
}

void pool_metrics_init(void)
{
    static int done;

    if (done)
        return;
    done = 1;
    metrics_add_collector(collect, NULL);
    dashboard_set_health(health_each);
}

/* checker.c — the health-check thread (see checker.h): when to check which
 * server, where its name points now, what counts as a good answer, and the
 * log line when a verdict changes.  Owns its thread, loop and resolver and
 * one target per checked server; the pools and their health verdicts belong
 * to pool.c, the probing to probe.c. */
#include "checker.h"
#include "buf.h"
#include "log.h"
#include "loop.h"
#include "pool.h"
#include "probe.h"
#include "resolver.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* One checked server.  Owned by the checker; only its thread touches it. */
struct target {
    struct checker *c;
    struct pool *p;
    unsigned i;                                       /* the server's index in p */
    struct timer timer;                               /* the next check */
    struct resolve_req *rq;                           /* the lookup in flight, if any */
    struct probe *pr;                                 /* the probe in flight, if any */
    char *host_field;                                 /* the Host field of HTTP checks */
    uint64_t started;                                 /* when the current check began (loop ms) */
    uint64_t deadline;                                /* when its probing must be over */
    struct sockaddr_storage addrs[RESOLVE_MAX_ADDRS]; /* the name's addresses now */
    unsigned naddrs, next;                            /* how many, and the next one to try */
};

/* Owned by whoever started it (the reverse front-end's state). */
struct checker {
    pthread_t thread;
    struct loop *loop;
    struct resolver *res; /* NULL if c-ares failed: names then fail their checks */
    struct ioh wake;      /* eventfd written by checker_stop() */
    struct target *t;
    unsigned n;
};

/* The next check of t: an interval after this one began, and never two at
 * once (a timeout longer than the interval delays the next). */
static void schedule(struct target *t)
{
    uint64_t now = loop_now(t->c->loop), at = t->started + t->p->check.interval_ms;

    loop_timer_at(t->c->loop, &t->timer, at > now ? at : now);
}

static void log_change(const struct target *t, int ok, const char *why)
{
    const struct pool *p = t->p;
    const char *label = p->servers[t->i].label;

    /* Both at warn: an operator who sees one should see the other. */
    if (ok)
        log_warn("pool '%s' server %s is UP again (%u good check%s)", p->name, label, p->hc.rise,
                 p->hc.rise == 1 ? "" : "s");
    else
        log_warn("pool '%s' server %s is DOWN (%u failed check%s: %s)", p->name, label, p->hc.fall,
                 p->hc.fall == 1 ? "" : "s", why);
}

/* A check is over: hands its result to the pool and plans the next.  Once
 * a newer generation checks the server (a reload), this generation's
 * checker, which lives until the generation is freed, stops checking it. */
static void conclude(struct target *t, int ok, const char *why)
{
    int rc = pool_check_result(t->p, t->i, ok, loop_now(t->c->loop));

    if (rc < 0)
        return;
    if (!ok)
        log_debug("pool '%s' server %s: health check failed: %s", t->p->name,
                  t->p->servers[t->i].label, why);
    if (rc)
        log_change(t, ok, why);
    schedule(t);
}

static void try_next(struct target *t);

static void on_probe(void *arg, int status, const char *error)
{
    struct target *t = arg;
    const struct check_conf *cc = &t->p->check;
    char why[32];

    t->pr = NULL;
    if (error) {
        /* like the core, which fails over to a name's next address */
        if (probe_error_before_connect(error) && t->next < t->naddrs)
            try_next(t);
        else
            conclude(t, 0, error);
        return;
    }
    if (cc->http && (status < cc->status_lo || status > cc->status_hi)) {
        gh_fmt(why, sizeof(why), "status %d", status);
        conclude(t, 0, why);
        return;
    }
    conclude(t, 1, NULL);
}

/* Probes the check's next address with what is left of its time. */
static void try_next(struct target *t)
{
    const struct check_conf *cc = &t->p->check;
    uint64_t now = loop_now(t->c->loop);
    struct probe_req req = {
        .addr = &t->addrs[t->next++],
        .http = cc->http,
        .path = cc->path,
        .host = t->host_field,
        .tls = t->p->tls,
        .h2 = cc->h2,
        .timeout_ms = t->deadline > now ? (uint32_t)(t->deadline - now) : 0,
    };

    if (!req.timeout_ms) {
        conclude(t, 0, "timed out");
        return;
    }
    t->pr = probe_start(t->c->loop, &req, on_probe, t);
}

/* May run inside resolver_lookup() (an IP literal, a cached name). */
static void on_resolved(void *arg, const struct sockaddr_storage *addrs, unsigned n,
                        const char *error)
{
    struct target *t = arg;

    t->rq = NULL;
    if (n == 0) {
        conclude(t, 0, error ? error : "cannot resolve");
        return;
    }
    memcpy(t->addrs, addrs, n * sizeof(*addrs));
    t->naddrs = n;
    t->next = 0;
    /* the timeout covers connect, request and answer; DNS has its own */
    t->deadline = loop_now(t->c->loop) + t->p->check.timeout_ms;
    try_next(t);
}

/* Time for a check: where does the name point now? (The resolver answers
 * from its cache for the record's TTL, so an address follows DNS.) */
static void on_timer(struct timer *tm)
{
    struct target *t = (struct target *)((char *)tm - offsetof(struct target, timer));
    const struct server *sv = &t->p->servers[t->i];

    t->started = loop_now(t->c->loop);
    t->rq = resolver_lookup(t->c->res, sv->host, sv->port, on_resolved, t);
}

static void on_wake(struct ioh *h, uint32_t events)
{
    struct checker *c = (struct checker *)((char *)h - offsetof(struct checker, wake));
    uint64_t v;

    GH_UNUSED(events);
    if (read(h->fd, &v, sizeof(v)) < 0) {
        /* spurious: the stop request is all there is to read */
    }
    loop_stop(c->loop);
}

static void *run(void *arg)
{
    struct checker *c = arg;

    loop_run(c->loop);
    for (unsigned k = 0; k < c->n; k++) {
        struct target *t = &c->t[k];
        loop_timer_cancel(c->loop, &t->timer);
        resolver_cancel(t->rq);
        probe_cancel(t->pr);
        t->rq = NULL;
        t->pr = NULL;
    }
    resolver_free(c->res); /* on the thread whose loop watches its sockets */
    c->res = NULL;
    loop_flush(c->loop);
    buf_trim(); /* an HTTP/2 probe's buffers */
    return NULL;
}

static int checked(const struct pool *p, unsigned i)
{
    return p->check.enabled && !p->servers[i].root;
}

static unsigned count_targets(const struct pool_set *ps, unsigned *npools)
{
    unsigned n = 0;

    *npools = 0;
    for (unsigned k = 0; k < ps->n; k++) {
        unsigned before = n;
        for (unsigned i = 0; i < ps->p[k].nservers; i++)
            n += (unsigned)checked(&ps->p[k], i);
        *npools += n > before;
    }
    return n;
}

/* One target per checked server, the first checks of a pool spread evenly
 * over its interval. */
static void add_targets(struct checker *c, struct pool_set *ps)
{
    for (unsigned k = 0; k < ps->n; k++) {
        struct pool *p = &ps->p[k];
        unsigned m = 0, j = 0;

        for (unsigned i = 0; i < p->nservers; i++)
            m += (unsigned)checked(p, i);
        for (unsigned i = 0; i < p->nservers; i++) {
            struct target *t;
            if (!checked(p, i))
                continue;
            t = &c->t[c->n++];
            t->c = c;
            t->p = p;
            t->i = i;
            t->timer.on_fire = on_timer;
            t->host_field = xstrdup(p->check.host ? p->check.host : p->servers[i].label);
            loop_timer_set(c->loop, &t->timer, (uint64_t)p->check.interval_ms * j++ / m);
        }
    }
}

static void free_checker(struct checker *c)
{
    for (unsigned k = 0; k < c->n; k++)
        free(c->t[k].host_field);
    free(c->t);
    resolver_free(c->res); /* still here only if the thread never ran */
    if (c->wake.fd >= 0)
        close(c->wake.fd);
    loop_free(c->loop);
    free(c);
}

/* Creates the thread with every asynchronous signal blocked, whatever the
 * caller's mask: the main thread's signalfd must get them all. */
static int spawn(struct checker *c)
{
    sigset_t all, old;
    int e;

    sigfillset(&all);
    sigdelset(&all, SIGSEGV);
    sigdelset(&all, SIGBUS);
    sigdelset(&all, SIGFPE);
    sigdelset(&all, SIGILL);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    e = pthread_create(&c->thread, NULL, run, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e == 0)
        pthread_setname_np(c->thread, "gh-health");
    return e;
}

struct checker *checker_start(struct pool_set *ps, const struct resolver_conf *dns)
{
    struct checker *c;
    unsigned npools, n = ps ? count_targets(ps, &npools) : 0;
    int e;

    if (!n)
        return NULL;
    c = xcalloc(1, sizeof(*c));
    c->loop = loop_new();
    c->res = resolver_new(c->loop, dns);
    c->t = xcalloc(n, sizeof(*c->t));
    c->wake.on_event = on_wake;
    c->wake.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (c->wake.fd < 0 || loop_add_reader(c->loop, &c->wake) < 0) {
        log_error("health checks not started: eventfd: %s", strerror(errno));
        free_checker(c);
        return NULL;
    }
    add_targets(c, ps);
    e = spawn(c);
    if (e) {
        log_error("health checks not started: cannot create a thread: %s", strerror(e));
        free_checker(c);
        return NULL;
    }
    log_info("health checks: %u server%s in %u pool%s", n, n == 1 ? "" : "s", npools,
             npools == 1 ? "" : "s");
    return c;
}

void checker_stop(struct checker *c)
{
    uint64_t one = 1;

    if (!c)
        return;
    if (write(c->wake.fd, &one, sizeof(one)) < 0) {
        /* the counter is saturated: the thread wakes anyway */
    }
    pthread_join(c->thread, NULL);
    free_checker(c);
}

/* worker.c — worker threads (see worker.h): the loop, accepting, the mailbox
 * from the main thread, and stopping.  Owns the worker's listening sockets,
 * its pool and its resolver; connections own themselves (conn.c). */
#include "worker.h"
#include "metrics.h"
#include "buf.h"
#include "log.h"
#include "resolver.h"
#include "conn.h"
#include "connlimit.h"
#include "exchange_int.h"
#include "fleet.h"
#include "upstream.h"
#include "h2_link.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define ACCEPT_BATCH 64

static void on_accept(struct ioh *h, uint32_t events)
{
    struct wlistener *l = (struct wlistener *)h;
    struct worker *w = l->w;
    const struct listener_conf *lc = config_listener(w->cfg, l->name);
    /* a PROXY header names the client later: conn.c counts it then */
    const struct conn_limits *limits = lc && !lc->proxy_protocol ? lc->conns : NULL;

    GH_UNUSED(events);
    for (int i = 0; i < ACCEPT_BATCH && !w->draining; i++) {
        struct sockaddr_storage peer;
        socklen_t len = sizeof(peer);
        uint64_t key = 0;
        struct conn *c;
        int fd = accept4(h->fd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE)
                log_error("accept on %s: %s", l->addr, strerror(errno));
            return;
        }
        if (limits && !connlimit_admit(limits, &peer, &key)) {
            close(fd); /* over its limit: closed before it costs anything more */
            continue;
        }
        c = conn_new(w, fd, &peer, l->name);
        if (limits && c)
            conn_counted(c, key);
        else if (limits)
            connlimit_release(key);
    }
}

static void remove_listener(struct worker *w, unsigned i)
{
    loop_del(w->loop, &w->ls[i]->io);
    close(w->ls[i]->io.fd);
    free(w->ls[i]);
    w->ls[i] = w->ls[--w->nls];
}

static void apply_update(struct worker *w, struct worker_update *u)
{
    unsigned i, j;
    int reload;

    /* Sockets that stay get their (possibly new) listener name; the others close. */
    for (i = 0; i < w->nls;) {
        for (j = 0; j < u->nsocks && u->socks[j].fd != w->ls[i]->io.fd; j++)
            ;
        if (j == u->nsocks) {
            remove_listener(w, i);
            continue;
        }
        gh_fmt(w->ls[i]->name, sizeof(w->ls[i]->name), "%s", u->socks[j].name);
        u->socks[j].fd = -1; /* handled */
        i++;
    }
    for (j = 0; j < u->nsocks; j++) {
        struct wlistener *l;
        if (u->socks[j].fd < 0)
            continue;
        l = xcalloc(1, sizeof(*l));
        l->io.fd = u->socks[j].fd;
        l->io.on_event = on_accept;
        l->w = w;
        gh_fmt(l->name, sizeof(l->name), "%s", u->socks[j].name);
        gh_fmt(l->addr, sizeof(l->addr), "%s", u->socks[j].addr);
        if (loop_add_reader(w->loop, &l->io) < 0) {
            log_error("worker %u: cannot watch %s: %s", w->id, l->addr, strerror(errno));
            close(l->io.fd);
            free(l);
            continue;
        }
        w->ls = xrealloc(w->ls, (w->nls + 1) * sizeof(*w->ls));
        w->ls[w->nls++] = l;
    }
    if (w->cfg)
        config_unref(w->cfg);
    reload = w->cfg != NULL;
    w->cfg = u->cfg;
    free(u);
    if (reload) /* HTTP/2 clients are told to come back on a new connection */
        conn_reload_all(w);
    if (reload)
        fleet_configure(w->cfg);
    if (!w->resolver)
        w->resolver = resolver_new(w->loop, &w->cfg->dns);
    else
        resolver_configure(w->resolver, &w->cfg->dns);
}

static void begin_drain(struct worker *w, int how)
{
    if (!w->draining) {
        w->draining = 1;
        while (w->nls)
            remove_listener(w, 0);
    }
    conn_drain_all(w, how >= 2);
}

static void on_wake(struct ioh *h, uint32_t events)
{
    struct worker *w = (struct worker *)((char *)h - offsetof(struct worker, wake));
    uint64_t v;
    struct worker_update *u;
    int stop;

    GH_UNUSED(events);
    if (read(h->fd, &v, sizeof(v)) < 0) {
        /* spurious: nothing pending */
    }
    pthread_mutex_lock(&w->mx);
    u = w->pending;
    w->pending = NULL;
    stop = w->stop;
    pthread_mutex_unlock(&w->mx);
    if (u)
        apply_update(w, u);
    if (stop)
        begin_drain(w, stop);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;

    metrics_set_shard(w->id);
    fleet_attach(w->loop, w->cfg, w->id);
    loop_run(w->loop);
    fleet_detach();
    h2_link_close_all();
    upstream_pool_free(w->pool);
    w->pool = NULL;
    resolver_free(w->resolver);
    w->resolver = NULL;
    loop_flush(w->loop);
    buf_trim();
    exchange_trim();
    atomic_store(&w->exited, 1);
    return NULL;
}

struct worker *worker_new(unsigned id)
{
    struct worker *w = xcalloc(1, sizeof(*w));

    w->id = id;
    w->loop = loop_new();
    pthread_mutex_init(&w->mx, NULL);
    w->wake.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    w->wake.on_event = on_wake;
    if (w->wake.fd < 0 || loop_add_reader(w->loop, &w->wake) < 0)
        log_fatal("worker %u: eventfd: %s", id, strerror(errno));
    w->pool = upstream_pool_new(w);
    stats_register(&w->stats);
    return w;
}

int worker_start(struct worker *w, struct worker_update *u)
{
    apply_update(w, u);
    return pthread_create(&w->thread, NULL, worker_main, w) == 0 ? GH_OK : GH_ERROR;
}

static void poke(struct worker *w)
{
    uint64_t one = 1;
    if (write(w->wake.fd, &one, sizeof(one)) < 0) {
        /* the counter is saturated: the worker wakes anyway */
    }
}

void worker_update(struct worker *w, struct worker_update *u)
{
    struct worker_update *old;

    pthread_mutex_lock(&w->mx);
    old = w->pending;
    w->pending = u;
    pthread_mutex_unlock(&w->mx);
    if (old) { /* superseded before the worker saw it: its sockets stay listed in u */
        config_unref(old->cfg);
        free(old);
    }
    poke(w);
}

void worker_stop(struct worker *w, int how)
{
    pthread_mutex_lock(&w->mx);
    if (how > w->stop)
        w->stop = how;
    pthread_mutex_unlock(&w->mx);
    poke(w);
}

void worker_free(struct worker *w)
{
    if (!w)
        return;
    pthread_join(w->thread, NULL);
    if (w->pending) {
        config_unref(w->pending->cfg);
        free(w->pending);
    }
    for (unsigned i = 0; i < w->nls; i++) {
        close(w->ls[i]->io.fd);
        free(w->ls[i]);
    }
    free(w->ls);
    if (w->cfg)
        config_unref(w->cfg);
    close(w->wake.fd);
    loop_free(w->loop);
    pthread_mutex_destroy(&w->mx);
    free(w);
}

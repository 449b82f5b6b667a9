/* upstream.c — upstream connections and the per-worker idle pool (upstream.h).
 * Owns idle connections; an owned connection belongs to its exchange, which
 * gives it back with upstream_release(). */
#include "upstream.h"
#include "log.h"
#include "relay.h"
#include "tls.h"
#include "util.h"
#include "worker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#define POOL_BUCKETS 256
#define POOL_MAX_IDLE 4096

struct upstream_pool {
    struct worker *w;
    struct upconn *bucket[POOL_BUCKETS]; /* idle connections by key hash */
    unsigned idle;
};

static unsigned key_hash(const char *k)
{
    unsigned h = 2166136261u;
    for (; *k; k++)
        h = (h ^ (unsigned char)*k) * 16777619u;
    return h % POOL_BUCKETS;
}

struct upstream_pool *upstream_pool_new(struct worker *w)
{
    struct upstream_pool *p = xcalloc(1, sizeof(*p));
    p->w = w;
    return p;
}

static void free_conn(void *arg)
{
    struct upconn *u = arg;
    buf_put(u->in);
    buf_put(u->out);
    free(u);
}

static void close_conn(struct upconn *u)
{
    if (u->closed)
        return;
    u->closed = 1;
    loop_timer_cancel(u->w->loop, &u->idle);
    loop_del(u->w->loop, &u->io);
    tls_io_detach(u->io.fd);
    close(u->io.fd);
    u->io.fd = -1;
    loop_defer(u->w->loop, free_conn, u);
}

static void unlink_idle(struct upstream_pool *p, struct upconn *u)
{
    unsigned b = key_hash(u->key);

    if (u->prev)
        u->prev->next = u->next;
    else
        p->bucket[b] = u->next;
    if (u->next)
        u->next->prev = u->prev;
    u->next = u->prev = NULL;
    loop_timer_cancel(u->w->loop, &u->idle);
    p->idle--;
}

void upstream_pool_free(struct upstream_pool *p)
{
    if (!p)
        return;
    for (unsigned b = 0; b < POOL_BUCKETS; b++)
        while (p->bucket[b]) {
            struct upconn *u = p->bucket[b];
            unlink_idle(p, u);
            close_conn(u);
        }
    free(p);
}

/* Whether an idle connection that became readable is finished: a plain
 * one has nothing to say, so any byte or the end means it is; a TLS one
 * may only have received a session ticket, which reading consumes. */
static int idle_finished(struct upconn *u)
{
    char c;
    ssize_t n;

    if (tls_io_ssl(u->io.fd)) {
        n = io_read(u->io.fd, &c, 1);
        return !(n < 0 && errno == EAGAIN);
    }
    n = recv(u->io.fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
}

/* An idle connection has nothing to say: any event but a TLS session
 * ticket means it is finished. */
static void on_idle_event(struct upconn *u, uint32_t events)
{
    if ((events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) || ((events & EPOLLIN) && idle_finished(u))) {
        unlink_idle(u->w->pool, u);
        close_conn(u);
    }
}

static void on_io(struct ioh *h, uint32_t events)
{
    struct upconn *u = (struct upconn *)h;

    if (u->closed)
        return;
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        u->readable = GH_MAX(u->readable, relay_ready(events));
    if (events & EPOLLOUT)
        u->writable = 1;
    if (u->owner)
        u->on_event(u->owner, u, events);
    else
        on_idle_event(u, events);
}

static void on_idle_timeout(struct timer *t)
{
    struct upconn *u = (struct upconn *)((char *)t - offsetof(struct upconn, idle));
    unlink_idle(u->w->pool, u);
    close_conn(u);
}

struct upconn *upstream_take(struct upstream_pool *p, const char *key)
{
    for (struct upconn *u = p->bucket[key_hash(key)]; u; u = u->next)
        if (strcmp(u->key, key) == 0) {
            unlink_idle(p, u);
            u->uses++;
            return u;
        }
    return NULL;
}

void upstream_addr_text(const struct sockaddr_storage *ss, char *dst, size_t cap)
{
    char ip[INET6_ADDRSTRLEN] = "?";

    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
        gh_fmt(dst, cap, "[%s]:%u", ip, ntohs(s6->sin6_port));
    } else {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
        gh_fmt(dst, cap, "%s:%u", ip, ntohs(s4->sin_port));
    }
}

struct upconn *upstream_connect(struct worker *w, const struct sockaddr_storage *ss,
                                const char *key)
{
    return upstream_connect_from(w, ss, key, NULL);
}

struct upconn *upstream_connect_from(struct worker *w, const struct sockaddr_storage *ss,
                                     const char *key, const struct sockaddr_storage *src)
{
    socklen_t len = ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                               : sizeof(struct sockaddr_in);
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1, e;
    struct upconn *u;

    if (fd < 0)
        return NULL;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (src && src->ss_family == ss->ss_family) {
        /* any port: only the address says who we are */
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
        if (bind(fd, (const struct sockaddr *)src, len) < 0) {
            e = errno;
            close(fd);
            errno = e;
            return NULL;
        }
    }
    if (connect(fd, (const struct sockaddr *)ss, len) < 0 && errno != EINPROGRESS) {
        e = errno;
        close(fd);
        errno = e;
        return NULL;
    }
    u = xcalloc(1, sizeof(*u));
    u->io.fd = fd;
    u->io.on_event = on_io;
    u->w = w;
    u->uses = 1;
    u->idle.on_fire = on_idle_timeout;
    gh_fmt(u->key, sizeof(u->key), "%s", key);
    upstream_addr_text(ss, u->addr_text, sizeof(u->addr_text));
    if (loop_add(w->loop, &u->io) < 0) {
        e = errno;
        close(fd);
        free(u);
        errno = e;
        return NULL;
    }
    atomic_fetch_add_explicit(&w->stats.upstream_connects, 1, memory_order_relaxed);
    return u;
}

struct upconn *upstream_adopt(struct worker *w, int fd, const char *key, const char *addr_text)
{
    struct upconn *u = xcalloc(1, sizeof(*u));

    u->io.fd = fd;
    u->io.on_event = on_io;
    u->w = w;
    u->uses = 1;
    u->idle.on_fire = on_idle_timeout;
    gh_fmt(u->key, sizeof(u->key), "%s", key);
    gh_fmt(u->addr_text, sizeof(u->addr_text), "%s", addr_text);
    if (loop_add(w->loop, &u->io) < 0) {
        free(u);
        return NULL;
    }
    return u;
}

int upstream_connect_result(struct upconn *u)
{
    int err = 0;
    socklen_t len = sizeof(err);

    if (getsockopt(u->io.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        return errno;
    return err;
}

void upstream_own(struct upconn *u, void *owner,
                  void (*on_event)(void *owner, struct upconn *u, uint32_t events))
{
    u->owner = owner;
    u->on_event = on_event;
}

void upstream_release(struct upstream_pool *p, struct upconn *u, int reuse, uint32_t idle_ms)
{
    unsigned b;

    u->owner = NULL;
    u->on_event = NULL;
    if (!reuse || u->eof || idle_ms == 0 || p->idle >= POOL_MAX_IDLE || (u->in && buf_len(u->in)) ||
        (u->out && buf_len(u->out)) || !u->connected) {
        close_conn(u);
        return;
    }
    buf_put(u->in);
    buf_put(u->out);
    u->in = u->out = NULL;
    b = key_hash(u->key);
    u->prev = NULL;
    u->next = p->bucket[b];
    if (u->next)
        u->next->prev = u;
    p->bucket[b] = u;
    p->idle++;
    loop_timer_set(u->w->loop, &u->idle, idle_ms);
    /* The server may have closed while we were finishing: check now, since
     * the edge for it may already have passed. */
    if (u->readable) {
        if (idle_finished(u)) {
            unlink_idle(p, u);
            close_conn(u);
        } else {
            u->readable = 0;
        }
    }
}

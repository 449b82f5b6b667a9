/* resolver.c — c-ares driven by a worker's epoll loop (see resolver.h).
 * Owns the c-ares channel, the loop registrations of its sockets and the
 * pending requests; the addresses it returns are copied to the caller. */
#include "resolver.h"
#include "config.h"
#include "log.h"
#include "loop.h"
#include "util.h"

#include <arpa/inet.h>
#include <ares.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/epoll.h>

#define RES_MAX_SOCKS 16
#define CACHE_BUCKETS 1024
#define CACHE_MAX 8192

/* A cached answer (addresses with port 0) or failure (n == 0). */
struct dns_entry {
    char host[256];
    struct sockaddr_storage addrs[RESOLVE_MAX_ADDRS];
    unsigned n;
    const char *error;
    uint64_t expires;           /* loop ms */
    struct dns_entry *next;
};

struct rsock {
    struct ioh io;          /* fd -1 when unused */
    struct resolver *r;
    uint32_t events;
};

struct resolve_req {
    struct resolver *r;
    resolve_cb cb;          /* NULL once cancelled */
    void *arg;
    uint16_t port;
    char host[256];         /* for the cache */
    uint8_t starting;       /* inside ares_getaddrinfo(): the caller has no handle yet */
    uint8_t finished;
};

struct resolver {
    struct loop *loop;
    ares_channel ch;
    struct rsock socks[RES_MAX_SOCKS];
    struct timer timer;
    int freeing;
    char *servers;          /* the name servers applied, NULL: resolv.conf */
    uint32_t max_ttl, negative_ttl;
    struct dns_entry *cache[CACHE_BUCKETS];
    unsigned cached;
};

static unsigned host_hash(const char *h)
{
    unsigned x = 2166136261u;
    for (; *h; h++)
        x = (x ^ (unsigned char)(*h | 0x20)) * 16777619u;
    return x % CACHE_BUCKETS;
}

static void cache_clear(struct resolver *r)
{
    for (unsigned b = 0; b < CACHE_BUCKETS; b++)
        while (r->cache[b]) {
            struct dns_entry *e = r->cache[b];
            r->cache[b] = e->next;
            free(e);
        }
    r->cached = 0;
}

/* The live entry for host, dropping expired ones met on the way. */
static struct dns_entry *cache_find(struct resolver *r, const char *host)
{
    struct dns_entry **pp = &r->cache[host_hash(host)];
    uint64_t now = loop_now(r->loop);

    while (*pp) {
        struct dns_entry *e = *pp;
        if (e->expires <= now) {
            *pp = e->next;
            free(e);
            r->cached--;
            continue;
        }
        if (strcasecmp(e->host, host) == 0)
            return e;
        pp = &e->next;
    }
    return NULL;
}

static void cache_put(struct resolver *r, const char *host, const struct sockaddr_storage *addrs,
                      unsigned n, const char *error, uint32_t ttl)
{
    struct dns_entry *e;
    unsigned b = host_hash(host);

    if (ttl == 0 || cache_find(r, host))
        return;
    if (r->cached >= CACHE_MAX)
        cache_clear(r); /* crude, bounded: a flood of names cannot grow it */
    e = xcalloc(1, sizeof(*e));
    gh_fmt(e->host, sizeof(e->host), "%s", host);
    memcpy(e->addrs, addrs, n * sizeof(*addrs));
    e->n = n;
    e->error = error;
    e->expires = loop_now(r->loop) + (uint64_t)ttl * 1000u;
    e->next = r->cache[b];
    r->cache[b] = e;
    r->cached++;
}

static void set_port(struct sockaddr_storage *ss, uint16_t port)
{
    if (ss->ss_family == AF_INET)
        ((struct sockaddr_in *)ss)->sin_port = htons(port);
    else
        ((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

static pthread_once_t ares_once = PTHREAD_ONCE_INIT;

static void ares_global_init(void)
{
    ares_library_init(ARES_LIB_INIT_ALL);
}

static void arm_timer(struct resolver *r)
{
    struct timeval tv, *tvp = ares_timeout(r->ch, NULL, &tv);

    if (tvp)
        loop_timer_set(r->loop, &r->timer, (uint64_t)tvp->tv_sec * 1000u + (uint64_t)tvp->tv_usec / 1000u + 1);
    else
        loop_timer_cancel(r->loop, &r->timer);
}

static void on_sock(struct ioh *h, uint32_t events)
{
    struct rsock *s = (struct rsock *)h;
    struct resolver *r = s->r;
    int fd = h->fd;

    ares_process_fd(r->ch, (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) ? fd : ARES_SOCKET_BAD,
                    (events & EPOLLOUT) ? fd : ARES_SOCKET_BAD);
    arm_timer(r);
}

static void on_timer(struct timer *t)
{
    struct resolver *r = (struct resolver *)((char *)t - offsetof(struct resolver, timer));

    ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    arm_timer(r);
}

/* c-ares tells which sockets it wants watched, and for what. */
static void sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
    struct resolver *r = data;
    struct rsock *s = NULL, *free_slot = NULL;
    uint32_t ev = (readable ? EPOLLIN : 0) | (writable ? EPOLLOUT : 0);

    for (int i = 0; i < RES_MAX_SOCKS; i++) {
        if (r->socks[i].io.fd == fd)
            s = &r->socks[i];
        else if (r->socks[i].io.fd < 0 && !free_slot)
            free_slot = &r->socks[i];
    }
    if (!ev) {
        if (s) {
            loop_del(r->loop, &s->io);
            s->io.fd = -1;
        }
        return;
    }
    if (!s) {
        if (!free_slot) {
            log_error("resolver: more than %d DNS sockets", RES_MAX_SOCKS);
            return;
        }
        s = free_slot;
        s->io.fd = fd;
        s->events = 0;
    }
    if (loop_watch(r->loop, &s->io, ev, s->events != 0) < 0)
        log_error("resolver: cannot watch DNS socket");
    s->events = ev;
}

struct resolver *resolver_new(struct loop *l, const struct resolver_conf *conf)
{
    struct resolver *r = xcalloc(1, sizeof(*r));
    struct ares_options o;
    int st;

    pthread_once(&ares_once, ares_global_init);
    memset(&o, 0, sizeof(o));
    o.sock_state_cb = sock_state;
    o.sock_state_cb_data = r;
    o.timeout = (int)conf->timeout;
    o.tries = (int)conf->attempts;
    for (int i = 0; i < RES_MAX_SOCKS; i++) {
        r->socks[i].io.fd = -1;
        r->socks[i].io.on_event = on_sock;
        r->socks[i].r = r;
    }
    r->loop = l;
    r->timer.on_fire = on_timer;
    st = ares_init_options(&r->ch, &o, ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
    if (st != ARES_SUCCESS) {
        log_error("resolver: %s", ares_strerror(st));
        free(r);
        return NULL;
    }
    resolver_configure(r, conf);
    return r;
}

void resolver_configure(struct resolver *r, const struct resolver_conf *conf)
{
    const char *want = conf->nameservers;

    r->max_ttl = conf->cache_max_ttl;
    r->negative_ttl = conf->negative_ttl;
    if ((!want && !r->servers) || (want && r->servers && strcmp(want, r->servers) == 0))
        return;
    if (want) {
        int st = ares_set_servers_ports_csv(r->ch, want);
        if (st != ARES_SUCCESS) {
            log_error("resolver: cannot use name servers %s: %s", want, ares_strerror(st));
            return;
        }
    }
    /* (going back to resolv.conf needs a restart: c-ares reads it at init) */
    free(r->servers);
    r->servers = want ? xstrdup(want) : NULL;
    cache_clear(r); /* other servers, other answers */
}

void resolver_free(struct resolver *r)
{
    if (!r)
        return;
    r->freeing = 1;
    ares_destroy(r->ch); /* calls pending callbacks with ARES_EDESTRUCTION */
    loop_timer_cancel(r->loop, &r->timer);
    cache_clear(r);
    free(r->servers);
    free(r);
}

int resolver_literal(const char *host, uint16_t port, struct sockaddr_storage *ss)
{
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

    memset(ss, 0, sizeof(*ss));
    if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        return 1;
    }
    if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        return 1;
    }
    return 0;
}

static void on_result(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
    struct resolve_req *q = arg;
    struct sockaddr_storage addrs[RESOLVE_MAX_ADDRS];
    unsigned n = 0;

    GH_UNUSED(timeouts);
    if (!q->r->freeing) {
        struct resolver *r = q->r;
        uint32_t ttl = r->max_ttl;
        const char *why = NULL;
        if (status == ARES_SUCCESS && res) {
            for (struct ares_addrinfo_node *a = res->nodes; a && n < RESOLVE_MAX_ADDRS; a = a->ai_next) {
                if (a->ai_family != AF_INET && a->ai_family != AF_INET6)
                    continue;
                memset(&addrs[n], 0, sizeof(addrs[n]));
                memcpy(&addrs[n], a->ai_addr, a->ai_addrlen);
                /* the record with the shortest life decides (at least 1 s:
                 * /etc/hosts answers carry no TTL) */
                ttl = GH_MIN(ttl, (uint32_t)GH_MAX(a->ai_ttl, 1));
                n++;
            }
        }
        if (!n) {
            int nx = status == ARES_ENOTFOUND || status == ARES_ENODATA;
            why = nx                        ? "unknown host"
                  : status == ARES_ETIMEOUT ? "DNS timeout"
                  : status == ARES_SUCCESS  ? "no usable address"
                                            : "DNS failure";
            ttl = nx ? r->negative_ttl : 0; /* a timeout is not an answer */
        }
        cache_put(r, q->host, addrs, n, why, ttl);
        for (unsigned i = 0; i < n; i++)
            set_port(&addrs[i], q->port);
        if (q->cb)
            q->cb(q->arg, addrs, n, why);
    }
    if (res)
        ares_freeaddrinfo(res);
    if (q->starting)
        q->finished = 1; /* answered at once (e.g. /etc/hosts): lookup frees it */
    else
        free(q);
}

struct resolve_req *resolver_lookup(struct resolver *r, const char *host, uint16_t port,
                                    resolve_cb cb, void *arg)
{
    struct sockaddr_storage ss;
    struct ares_addrinfo_hints hints;
    struct resolve_req *q;

    if (resolver_literal(host, port, &ss)) {
        cb(arg, &ss, 1, NULL);
        return NULL;
    }
    if (!r) {
        cb(arg, NULL, 0, "resolver unavailable");
        return NULL;
    }
    struct dns_entry *e = cache_find(r, host);
    if (e) {
        struct sockaddr_storage addrs[RESOLVE_MAX_ADDRS];
        memcpy(addrs, e->addrs, e->n * sizeof(*addrs));
        for (unsigned i = 0; i < e->n; i++)
            set_port(&addrs[i], port);
        cb(arg, addrs, e->n, e->error);
        return NULL;
    }
    q = xcalloc(1, sizeof(*q));
    gh_fmt(q->host, sizeof(q->host), "%s", host);
    q->r = r;
    q->cb = cb;
    q->arg = arg;
    q->port = port;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    q->starting = 1;
    ares_getaddrinfo(r->ch, host, NULL, &hints, on_result, q);
    q->starting = 0;
    if (q->finished) {
        free(q);
        return NULL;
    }
    arm_timer(r);
    return q;
}

void resolver_cancel(struct resolve_req *q)
{
    if (q)
        q->cb = NULL;
}

/* resolver.c — c-ares driven by a worker's epoll loop (see resolver.h).
 * Owns the c-ares channel, the loop registrations of its sockets and the
 * pending requests; the addresses it returns are copied to the caller. */
#include "resolver.h"
#include "log.h"
#include "loop.h"
#include "util.h"

#include <arpa/inet.h>
#include <ares.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/epoll.h>

#define RES_MAX_SOCKS 16

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
    uint8_t starting;       /* inside ares_getaddrinfo(): the caller has no handle yet */
    uint8_t finished;
};

struct resolver {
    struct loop *loop;
    ares_channel ch;
    struct rsock socks[RES_MAX_SOCKS];
    struct timer timer;
    int freeing;
};

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

struct resolver *resolver_new(struct loop *l)
{
    struct resolver *r = xcalloc(1, sizeof(*r));
    struct ares_options o;
    int st;

    pthread_once(&ares_once, ares_global_init);
    memset(&o, 0, sizeof(o));
    o.sock_state_cb = sock_state;
    o.sock_state_cb_data = r;
    o.timeout = 2000;
    o.tries = 2;
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
    return r;
}

void resolver_free(struct resolver *r)
{
    if (!r)
        return;
    r->freeing = 1;
    ares_destroy(r->ch); /* calls pending callbacks with ARES_EDESTRUCTION */
    loop_timer_cancel(r->loop, &r->timer);
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
    if (q->cb && !q->r->freeing) {
        if (status == ARES_SUCCESS && res) {
            for (struct ares_addrinfo_node *a = res->nodes; a && n < RESOLVE_MAX_ADDRS; a = a->ai_next) {
                if (a->ai_family != AF_INET && a->ai_family != AF_INET6)
                    continue;
                memset(&addrs[n], 0, sizeof(addrs[n]));
                memcpy(&addrs[n], a->ai_addr, a->ai_addrlen);
                if (a->ai_family == AF_INET)
                    ((struct sockaddr_in *)&addrs[n])->sin_port = htons(q->port);
                else
                    ((struct sockaddr_in6 *)&addrs[n])->sin6_port = htons(q->port);
                n++;
            }
        }
        const char *why = NULL;
        if (!n)
            why = (status == ARES_ENOTFOUND || status == ARES_ENODATA) ? "unknown host"
                  : status == ARES_ETIMEOUT                           ? "DNS timeout"
                  : status == ARES_SUCCESS                            ? "no usable address"
                                                                      : ares_strerror(status);
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
    q = xcalloc(1, sizeof(*q));
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

/* h2_link.c — a worker's HTTP/2 connections to upstream servers (see
 * h2_link.h): connecting (TLS with ALPN "h2", or h2c), the session's
 * bytes both ways, and each stream's bytes to and from the exchange's end
 * of its socket pair.  Owns the links, their pipes and sessions. */
#include "h2_link.h"
#include "config.h"
#include "h2_upstream.h"
#include "log.h"
#include "relay.h"
#include "tls.h"
#include "util.h"
#include "worker.h"

#include <errno.h>
#include <openssl/ssl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

struct h2link;

/* One stream's bridge: our end of the exchange's socket pair. */
struct h2pipe {
    struct ioh io;
    struct h2link *l;
    struct h2up_stream *st; /* NULL until the link has room */
    struct buf *in;         /* request bytes read, not taken yet */
    struct buf *out;        /* answer bytes to write */
    uint8_t eof, closed;
    uint8_t readable;       /* the end may hold bytes: set by its (edge-triggered)
                             * events, cleared when a read finds none; a link
                             * pumps all its pipes at each event, and reading
                             * every idle one cost half its CPU */
    struct h2pipe *next;
};

struct h2link {
    struct worker *w;
    struct gh_config *cfg;  /* a reference: the generation `tls` belongs to */
    struct upconn *u;
    struct h2up *s;
    struct tls_client *tls;
    char host[256];
    struct buf *rin, *rout;
    struct timer timer;     /* the connect deadline, then the idle one */
    uint64_t started, idle_since;
    uint8_t connected, ready, dead;
    unsigned max_streams, npipes;
    struct h2pipe *pipes;
    struct h2link *next;
};

static __thread struct h2link *links;

static void drive(struct h2link *l);

/* ---- pipes ---- */

static void pipe_free(void *arg)
{
    struct h2pipe *p = arg;
    buf_put(p->in);
    buf_put(p->out);
    free(p);
}

/* Closes our end: the exchange reads what was written, then the end. */
static void pipe_close(struct h2pipe *p)
{
    if (p->closed)
        return;
    p->closed = 1;
    if (p->st)
        h2up_stream_release(p->st);
    p->st = NULL;
    loop_del(p->l->w->loop, &p->io);
    close(p->io.fd);
}

static void on_pipe(struct ioh *h, uint32_t events)
{
    struct h2pipe *p = (struct h2pipe *)h;
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        p->readable = 1;
    if (!p->closed)
        drive(p->l);
}

/* Request bytes from the exchange into the stream. */
static void pump_in(struct h2pipe *p)
{
    const char *why = NULL;
    ssize_t n;
    long k;

    for (;;) {
        buf_compact(p->in);
        if (!p->eof && p->readable && buf_room(p->in)) {
            n = read(p->io.fd, buf_tail(p->in), buf_room(p->in));
            if (n > 0)
                p->in->end += (uint32_t)n;
            else if (n < 0 && errno == EAGAIN)
                p->readable = 0;
            else if (n == 0 || errno != EINTR)
                p->eof = 1;
        }
        if (!p->st || !buf_len(p->in))
            return;
        k = h2up_stream_write(p->st, buf_head(p->in), buf_len(p->in), &why);
        if (k < 0) {
            log_info("HTTP/2 upstream: a request cannot go: %s", why ? why : "?");
            pipe_close(p);
            return;
        }
        buf_consume(p->in, (size_t)k);
        if (k == 0 || p->eof)
            return;
    }
}

/* The stream's answer to the exchange; the pipe closes once it is all
 * out, or once the stream closed without finishing. */
static void pump_out(struct h2pipe *p)
{
    ssize_t n;

    while (p->st) {
        h2up_stream_read(p->st, p->out);
        if (!buf_len(p->out))
            break;
        n = write(p->io.fd, buf_head(p->out), buf_len(p->out));
        if (n <= 0)
            break;
        buf_consume(p->out, (size_t)n);
        buf_compact(p->out);
    }
    if (buf_len(p->out))
        return;
    if (!p->st || h2up_stream_done(p->st) || p->st->closed ||
        (p->eof && !p->st->id && !buf_len(p->in)))
        pipe_close(p);
}

/* ---- the link ---- */

static void link_fail(struct h2link *l, const char *why)
{
    if (l->dead)
        return;
    l->dead = 1;
    if (l->npipes || !h2up_greeted(l->s))
        log_info("HTTP/2 upstream %s (%s): %s", l->u->key, l->u->addr_text, why);
    else
        log_debug("HTTP/2 upstream %s (%s): %s", l->u->key, l->u->addr_text, why);
    h2up_fail(l->s, why);
}

/* Connecting, then TLS: GH_OK once the session may speak. */
static int link_ready(struct h2link *l)
{
    int fd = l->u->io.fd, want_write, err;
    const char *why = NULL;

    if (!l->connected) {
        if (!l->u->writable && l->u->readable != READY_END)
            return GH_AGAIN;
        if ((err = upstream_connect_result(l->u)) != 0) {
            link_fail(l, err == ECONNREFUSED ? "connection refused" : "connect failed");
            return GH_ERROR;
        }
        l->connected = l->u->connected = 1;
        if (l->tls) {
            SSL *ssl = tls_client_ssl(l->tls, l->host);
            if (!ssl) {
                link_fail(l, "cannot start TLS");
                return GH_ERROR;
            }
            SSL_set_alpn_protos(ssl, (const unsigned char *)"\x02h2", 3);
            tls_io_attach(fd, ssl);
        }
    }
    if (l->tls) {
        int rc = tls_io_handshake(fd, &want_write, &why);
        if (rc != GH_OK) {
            if (rc == GH_ERROR)
                link_fail(l, why ? why : "TLS handshake failed");
            return rc;
        }
        if (!tls_io_alpn_is(fd, "h2")) {
            link_fail(l, "the server did not agree to h2 by ALPN");
            return GH_ERROR;
        }
    }
    l->ready = 1;
    return GH_OK;
}

/* The session's bytes both ways. */
static void link_io(struct h2link *l)
{
    struct upconn *u = l->u;
    ssize_t n;

    while (u->readable && !l->dead) {
        buf_compact(l->rin);
        n = io_read(u->io.fd, buf_tail(l->rin), buf_room(l->rin));
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            u->readable = 0;
        } else if (n <= 0) {
            link_fail(l, n == 0 ? "the server closed the connection" : "read error");
        } else {
            l->rin->end += (uint32_t)n;
            if (h2up_recv(l->s, buf_head(l->rin), buf_len(l->rin)) != GH_OK)
                link_fail(l, h2up_error(l->s));
            buf_consume(l->rin, buf_len(l->rin));
        }
    }
}

static void link_flush(struct h2link *l)
{
    struct upconn *u = l->u;
    ssize_t n;
    int rc;

    do {
        buf_compact(l->rout);
        rc = h2up_send(l->s, l->rout);
        if (rc == GH_ERROR)
            link_fail(l, h2up_error(l->s));
        while (buf_len(l->rout) && u->writable) {
            n = io_write(u->io.fd, buf_head(l->rout), buf_len(l->rout));
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                u->writable = 0;
            else if (n <= 0) {
                link_fail(l, "write error");
                return;
            } else
                buf_consume(l->rout, (size_t)n);
        }
    } while (rc == GH_AGAIN && !buf_len(l->rout) && !l->dead);
}

static void link_free(struct h2link *l)
{
    struct h2link **pp;

    for (pp = &links; *pp && *pp != l; pp = &(*pp)->next)
        ;
    if (*pp)
        *pp = l->next;
    while (l->pipes) {
        struct h2pipe *p = l->pipes;
        l->pipes = p->next;
        pipe_close(p);
        loop_defer(l->w->loop, pipe_free, p);
    }
    loop_timer_cancel(l->w->loop, &l->timer);
    atomic_fetch_sub_explicit(&l->w->stats.h2up_open, 1, memory_order_relaxed);
    upstream_release(l->w->pool, l->u, 0, 0);
    h2up_free(l->s);
    buf_put(l->rin);
    buf_put(l->rout);
    config_unref(l->cfg);
    free(l);
}

/* Every pipe's bytes both ways, once. */
static void pump_all(struct h2link *l)
{
    struct h2pipe **pp, *p;

    for (pp = &l->pipes; (p = *pp);) {
        if (!p->closed && !p->st && !l->dead && h2up_can_open(l->s))
            p->st = h2up_open(l->s, p);
        if (!p->closed) {
            pump_in(p);
            if (p->eof) /* the exchange let go */
                pipe_close(p);
            if (!p->closed && (p->st || l->dead))
                pump_out(p);
        }
        if (p->closed) {
            *pp = p->next;
            l->npipes--;
            loop_defer(l->w->loop, pipe_free, p);
        } else {
            pp = &p->next;
        }
    }
}

/* The link's one deadline: the server's SETTINGS within the connect
 * timeout (the TCP connect and TLS handshake included), then, while it
 * carries no stream, the upstream keep-alive timeout.  A link carrying
 * streams waits on theirs: each exchange keeps its own deadlines. */
static void arm(struct h2link *l)
{
    const struct timeouts *to = &l->cfg->to;
    uint64_t now = loop_now(l->w->loop);

    if (l->dead)
        return;
    if (!h2up_greeted(l->s)) {
        if (!loop_timer_armed(&l->timer))
            loop_timer_at(l->w->loop, &l->timer, l->started + to->upstream_connect);
        return;
    }
    if (l->npipes) {
        l->idle_since = 0;
        loop_timer_cancel(l->w->loop, &l->timer);
        return;
    }
    if (!l->idle_since)
        l->idle_since = now;
    loop_timer_at(l->w->loop, &l->timer, l->idle_since + to->upstream_keepalive);
}

static void on_timer(struct timer *t)
{
    struct h2link *l = (struct h2link *)((char *)t - offsetof(struct h2link, timer));

    if (l->dead)
        return;
    if (!h2up_greeted(l->s))
        link_fail(l, l->connected ? "connect timed out: no SETTINGS from the server"
                                  : "connect timed out");
    else if (!l->npipes)
        link_fail(l, "idle past the upstream keep-alive timeout");
    drive(l);
}

static void drive(struct h2link *l)
{
    int again = 1;

    if (!l->ready && !l->dead && link_ready(l) == GH_AGAIN) {
        arm(l);
        return;
    }
    if (!l->dead)
        link_io(l);
    /* a stream the session served (its request body went, so its buffer
     * has room; its answer came), or one freed (a waiting pipe may now
     * open one), gets another pass: nothing else would wake them */
    for (int round = 0; again && round < 1000; round++) {
        pump_all(l);
        if (!l->dead)
            link_flush(l);
        unsigned before = h2up_nstreams(l->s);
        again = 0;
        while (h2up_next(l->s))
            again = 1;
        if (h2up_nstreams(l->s) < before)
            again = 1; /* streams released were freed: room for a waiting pipe */
    }
    if (!l->dead && !h2up_alive(l->s))
        link_fail(l, "the server said GOAWAY"); /* and the streams it took are done */
    arm(l);
    if (l->dead && !l->pipes)
        link_free(l);
}

static void on_link(void *owner, struct upconn *u, uint32_t events)
{
    (void)u, (void)events;
    drive(owner);
}

static struct h2link *link_new(struct worker *w, const struct h2_link_want *want)
{
    struct h2link *l = xcalloc(1, sizeof(*l));

    l->u = upstream_connect(w, want->addr, want->key);
    l->s = l->u ? h2up_new(want->max_streams, want->tls != NULL, &w->cfg->limits) : NULL;
    l->rin = buf_get();
    l->rout = buf_get();
    if (!l->u || !l->s || !l->rin || !l->rout) {
        if (l->u)
            upstream_release(w->pool, l->u, 0, 0);
        h2up_free(l->s);
        buf_put(l->rin);
        buf_put(l->rout);
        free(l);
        return NULL;
    }
    l->w = w;
    l->cfg = config_ref(want->cfg);
    l->tls = want->tls;
    l->started = loop_now(w->loop);
    l->timer.on_fire = on_timer;
    atomic_fetch_add_explicit(&w->stats.h2up_conns, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&w->stats.h2up_open, 1, memory_order_relaxed);
    l->max_streams = want->max_streams;
    gh_fmt(l->host, sizeof(l->host), "%s", want->host);
    upstream_own(l->u, l, on_link);
    l->next = links;
    links = l;
    arm(l);
    return l;
}

/* A link to the destination with room, a new one, or the least busy. */
static struct h2link *pick(struct worker *w, const struct h2_link_want *want)
{
    struct h2link *best = NULL;
    unsigned n = 0;

    for (struct h2link *l = links; l; l = l->next) {
        if (l->dead || l->w != w || strcmp(l->u->key, want->key) != 0 ||
            (l->ready && !h2up_usable(l->s)))
            continue; /* a link after GOAWAY takes no more */
        n++;
        if (!best || l->npipes < best->npipes)
            best = l;
    }
    if (best && best->npipes < best->max_streams && (!best->ready || h2up_can_open(best->s)))
        return best;
    if (n < want->max_conns || !best)
        return link_new(w, want);
    return best;
}

struct upconn *h2_link_stream(struct worker *w, const struct h2_link_want *want)
{
    int fds[2];
    struct h2link *l = pick(w, want);
    struct h2pipe *p;
    struct upconn *u;

    if (!l)
        return NULL;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) < 0)
        return NULL;
    p = xcalloc(1, sizeof(*p));
    p->io.fd = fds[1];
    p->io.on_event = on_pipe;
    p->readable = 1;
    p->l = l;
    p->in = buf_get();
    p->out = buf_get();
    u = upstream_adopt(w, fds[0], "h2 stream", l->u->addr_text);
    if (!u || loop_add(w->loop, &p->io) < 0) {
        if (u)
            upstream_release(w->pool, u, 0, 0);
        else
            close(fds[0]);
        close(fds[1]);
        pipe_free(p);
        return NULL;
    }
    p->next = l->pipes;
    l->pipes = p;
    l->npipes++;
    atomic_fetch_add_explicit(&w->stats.h2up_streams, 1, memory_order_relaxed);
    arm(l); /* no longer idle */
    return u;
}

void h2_link_close_all(void)
{
    while (links) {
        links->dead = 1;
        h2up_fail(links->s, "the worker stops");
        link_free(links);
    }
}

unsigned h2_link_count(unsigned *streams)
{
    unsigned n = 0, s = 0;

    for (struct h2link *l = links; l; l = l->next, n++)
        s += l->npipes;
    if (streams)
        *streams = s;
    return n;
}

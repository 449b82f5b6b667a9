/* connect.c — a session reaching its upstream (see session.h): a pooled
 * connection or DNS then a non-blocking connect over the addresses in
 * turn, the PROXY header and TLS handshake a pool may ask for, and another
 * server when the front-end names one after a failure.  Split out of
 * session.c, whose state machine calls session_connect() and gets the
 * session back in S_PROXY or S_TUNNEL, or answered. */
#include "log.h"
#include "proxyproto.h"
#include "relay.h"
#include "session.h"
#include "tls.h"
#include "tunnel.h"
#include "util.h"
#include "worker.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/socket.h>

static int upstream_handshake(struct session *s);

static void on_upstream(void *owner, struct upconn *u, uint32_t events);

int session_try_other(struct session *s, int sent, const char *why)
{
    struct exchange *ex = session_ex(s);
    const struct frontend *fe = ex->lst ? ex->lst->fe : NULL;

    if (!fe || !fe->upstream_failed || ex->decision != DECIDE_FORWARD || ex->handshake ||
        ex->reqb.moved > 0 || ex->resp_head_done)
        return 0;
    ex->decision = DECIDE_NONE;
    if (!fe->upstream_failed(ex, sent, why) || ex->decision != DECIDE_FORWARD) {
        ex->decision = DECIDE_FORWARD; /* the caller answers the failure */
        return 0;
    }
    if (ex->up) {
        upstream_release(s->w->pool, ex->up, 0, 0);
        ex->up = NULL;
    }
    resolver_cancel(ex->rq);
    ex->rq = NULL;
    log_debug("retrying on %s after: %s", ex->key, why);
    ex->naddrs = ex->addr_next = 0;
    ex->retried = ex->up_reused = 0;
    ex->req_head_sent = ex->req_done = 0;
    ex->uphead_sent = 0;
    s->state = S_RESOLVE;
    s->last_io = loop_now(s->w->loop);
    session_arm(s);
    session_connect(s);
    return 1;
}

static void on_resolved(void *arg, const struct sockaddr_storage *addrs, unsigned n,
                        const char *error)
{
    struct session *s = arg;
    struct exchange *ex = session_ex(s);

    ex->rq = NULL;
    if (n == 0) {
        if (session_try_other(s, 0, error ? error : "cannot resolve the upstream host"))
            return;
        /* the page names the host the client asked for */
        session_answer_error(s, 502, error ? error : "cannot resolve the upstream host", ex->host);
        session_drive(s);
        return;
    }
    memcpy(ex->addrs, addrs, n * sizeof(*addrs));
    ex->naddrs = n;
    ex->addr_next = 0;
    session_connect(s);
}

/* Announces the client on a fresh upstream connection.  The header is the
 * first thing written to an empty socket buffer, so it goes at once. */
static int send_proxy_header(struct session *s)
{
    struct exchange *ex = session_ex(s);
    char hdr[PROXYPROTO_MAX];
    size_t n;

    if (!s->has_local) {
        socklen_t len = sizeof(s->local);
        if (getsockname(s->io.fd, (struct sockaddr *)&s->local, &len) < 0)
            return -1;
        s->has_local = 1;
    }
    n = proxyproto_write(ex->proxy_header, &s->peer, &s->local, hdr, sizeof(hdr));
    return n && send(ex->up->io.fd, hdr, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

/* TLS towards the upstream: starts or continues the handshake.  Returns
 * 1 when done, 0 to wait (in S_CONNECT), -1 when the exchange moved on. */
static int upstream_handshake(struct session *s)
{
    struct exchange *ex = session_ex(s);
    int fd = ex->up->io.fd, want_write, rc;
    const char *why = NULL;

    if (!tls_io_ssl(fd)) {
        SSL *ssl = tls_client_ssl(ex->up_tls, ex->host);
        if (!ssl) {
            session_answer_error(s, 502, "cannot start TLS to the upstream", NULL);
            session_drive(s);
            return -1;
        }
        tls_io_attach(fd, ssl);
    }
    rc = tls_io_handshake(fd, &want_write, &why);
    if (rc == GH_AGAIN) {
        s->state = S_CONNECT; /* the upstream's next event goes on */
        ex->up_handshaking = 1;
        return 0;
    }
    ex->up_handshaking = 0;
    if (rc == GH_ERROR) {
        log_info("TLS to %s (%s): %s", ex->key, ex->up->addr_text, why);
        if (session_try_other(s, 0, why))
            return -1;
        upstream_release(s->w->pool, ex->up, 0, 0);
        ex->up = NULL;
        session_answer_error(s, 502, why, NULL);
        session_drive(s);
        return -1;
    }
    return 1;
}

/* The upstream connection is ready: stream the exchange. */
static void begin_proxy(struct session *s)
{
    struct exchange *ex = session_ex(s);

    ex->up->connected = 1;
    ex->uphead_sent = 0;
    gh_fmt(ex->up_addr, sizeof(ex->up_addr), "%s", ex->up->addr_text);
    if (ex->proxy_header && !ex->up_reused && !ex->up_greeted && send_proxy_header(s) < 0) {
        if (session_try_other(s, 0, "upstream write failed"))
            return;
        session_answer_error(s, 502, "upstream write failed", NULL);
        session_drive(s);
        return;
    }
    ex->up_greeted = 1;
    if (ex->up_tls && !ex->up_reused) {
        int rc = upstream_handshake(s);
        if (rc <= 0)
            return; /* waiting, or answered */
    }
    if (ex->decision == DECIDE_TUNNEL && !ex->handshake) {
        static const char established[] = "HTTP/1.1 200 Connection established\r\n\r\n";
        if (!s->out)
            s->out = buf_get();
        buf_append(s->out, established, sizeof(established) - 1);
        ex->status = 200;
        tunnel_begin(s);
        return;
    }
    s->state = S_PROXY;
    s->last_io = loop_now(s->w->loop);
    session_arm(s);
    session_drive(s);
}

void session_connect(struct session *s)
{
    struct exchange *ex = session_ex(s);
    struct worker *w = s->w;

    /* A pooled connection to the same destination first. */
    if (!ex->up && !ex->retried && ex->naddrs == 0 && ex->decision == DECIDE_FORWARD) {
        ex->up = upstream_take(w->pool, ex->key);
        if (ex->up) {
            ex->up_reused = 1;
            atomic_fetch_add_explicit(&w->stats.upstream_reuses, 1, memory_order_relaxed);
            upstream_own(ex->up, s, on_upstream);
            goto connected;
        }
    }
    if (ex->naddrs == 0) {
        s->state = S_RESOLVE;
        ex->rq = resolver_lookup(w->resolver, ex->host, ex->port, on_resolved, s);
        return; /* on_resolved may already have run */
    }
    while (ex->addr_next < ex->naddrs) {
        ex->up = upstream_connect(w, &ex->addrs[ex->addr_next++], ex->key);
        if (ex->up)
            break;
    }
    if (!ex->up) {
        if (session_try_other(s, 0, "upstream connect failed"))
            return;
        session_answer_error(s, 502, "upstream connect failed", NULL);
        session_drive(s);
        return;
    }
    ex->up_reused = 0;
    ex->up_greeted = 0;
    upstream_own(ex->up, s, on_upstream);
    s->state = S_CONNECT;
    s->last_io = loop_now(w->loop);
    session_arm(s);
    return;

connected:
    ex->up->writable = 1;
    begin_proxy(s);
}

static void connect_done(struct session *s)
{
    struct exchange *ex = session_ex(s);
    int err = upstream_connect_result(ex->up);

    if (err) {
        log_debug("connect %s (%s): %s", ex->key, ex->up->addr_text, strerror(err));
        upstream_release(s->w->pool, ex->up, 0, 0);
        ex->up = NULL;
        if (ex->addr_next < ex->naddrs) {
            session_connect(s);
            return;
        }
        if (session_try_other(s, 0, err == ECONNREFUSED ? "upstream connection refused"
                                                        : "upstream connect failed"))
            return;
        session_answer_error(s, 502, err == ECONNREFUSED ? "upstream connection refused"
                                                 : "upstream connect failed", NULL);
        session_drive(s);
        return;
    }
    begin_proxy(s);
}

static void on_upstream(void *owner, struct upconn *u, uint32_t events)
{
    struct session *s = owner;

    if (events & (EPOLLRDHUP | EPOLLHUP))
        u->readable = READY_END; /* read() will report the EOF */
    if (s->state == S_CONNECT && session_ex(s)->up_handshaking)
        begin_proxy(s);
    else if (s->state == S_CONNECT && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
        connect_done(s);
    else
        session_drive(s);
}

/* exchange_drive.c — the exchange's state machine (the states are
 * described once, in exchange_int.h).  exchange_drive() is the one
 * function that changes an exchange's state; beside it is what it alone
 * does: deciding with the front-end, the worker's queue of exchanges
 * waiting for a free server, trying another server or answering a
 * failure, and ending an exchange.  Each state's work is elsewhere and
 * answers GH_OK / GH_AGAIN / GH_DONE / GH_ERROR: reaching the upstream in
 * connect.c, the proxied exchange in proxy.c, the tunnel in tunnel.c, the
 * client's side in the connection's protocol (h1.c).  The events of the
 * upstream socket, of DNS, of the exchange's timer and of the queue land
 * here: they record what happened and call the driver; the client's come
 * through its connection (conn.c, h1.c). */
#include "cache_xfer.h"
#include "connect.h"
#include "exchange_int.h"
#include "ops.h"
#include "log.h"
#include "proxy.h"
#include "relay.h"
#include "tls.h"
#include "tunnel.h"
#include "util.h"
#include "worker.h"

#include <sys/epoll.h>

#define DISCARD_MAX (1u << 20) /* request body read away to keep a connection */
#define QUEUE_POLL_MS 10       /* a queued exchange looks again this often */

static void queue_remove(struct exchange *ex);

/* ---- deadlines ---- */

static uint64_t deadline(const struct exchange *ex)
{
    const struct timeouts *t = &ex->conn->w->cfg->to;

    switch (ex->state) {
    case X_RESOLVE:
    case X_CONNECT:
    case X_UP_TLS: return ex->last_io + t->upstream_connect;
    case X_PARENT_CONNECT:
    case X_PROXY:
        if (!ex->req_done && ex->req_head_sent)
            return ex->last_io + GH_MAX(t->client_body, t->upstream_read);
        return ex->last_io + t->upstream_read;
    case X_LOCAL:
        if (ex->answer_at > ex->last_io)
            return ex->answer_at; /* a held-back answer */
        return ex->last_io + t->send;
    case X_TUNNEL:
        if (ex->inspect_hello)
            return ex->hello_until;
        return ex->last_io + t->tunnel;
    case X_QUEUED: return GH_MIN(ex->queue_until, loop_now(ex->conn->w->loop) + QUEUE_POLL_MS);
    case X_HELD: return ex->hold_until;
    default: return UINT64_MAX;
    }
}

/* Activity moves a deadline later without touching the timer: when it
 * fires early, it is set again for the deadline as it stands then. */
static void on_timer(struct timer *t)
{
    struct exchange *ex = (struct exchange *)((char *)t - offsetof(struct exchange, timer));
    uint64_t d = deadline(ex);

    if (ex->state == X_QUEUED) {
        ex->queue_ready = 1;
    } else if (d > loop_now(ex->conn->w->loop)) {
        loop_timer_at(ex->conn->w->loop, t, d);
        return;
    } else {
        ex->expired = 1;
    }
    exchange_drive(ex);
}

/* A waiting state's deadline passed: the failure it calls for, as a step
 * would report it. */
static int expired(struct exchange *ex)
{
    switch (ex->state) {
    case X_RESOLVE:
    case X_CONNECT:
    case X_UP_TLS:
        ex->why = "upstream connect timeout";
        return exchange_fail_upstream(ex, 504, "upstream connect timed out",
                                      RETRY_ADDR | RETRY_OTHER, 0);
    case X_PARENT_CONNECT:
    case X_PROXY:
        if (!ex->resp_head_done && !client_pending(ex))
            return exchange_fail(ex, 504, "upstream response timed out");
        return exchange_fail(ex, 0,
                             ex->req_done ? "upstream idle timeout" : "client body idle timeout");
    case X_TUNNEL:
        if (ex->inspect_hello)
            return tunnel_hello_expired(ex);
        return exchange_fail(ex, 0, "tunnel idle timeout");
    default: /* X_LOCAL */ return exchange_fail(ex, 0, "client send timeout");
    }
}

/* ---- deciding ---- */

/* Runs the core's rules and the front-end on a complete request head. */
static void decide(struct exchange *ex)
{
    struct conn *c = ex->conn;
    const struct listener_conf *l;

    ex->cfg = config_ref(c->w->cfg);
    l = config_listener(ex->cfg, c->lname);
    ex->lst = l;
    exchange_note_request(ex);
    if (!l) {
        ex->client_close = 1;
        exchange_error(ex, 503, "listener removed by reload");
    } else if ((ex->max_body = ex->cfg->max_body) && ex->req.framing == HTTP_BODY_LENGTH &&
               ex->req.content_length > ex->cfg->max_body) {
        ex->client_close = 1;
        exchange_error(ex, 413, "request body larger than max_body_bytes");
    } else if (ops_serve(ex)) {
        /* an operator's page: metrics or the dashboard */
    } else if (!exchange_preflight(ex)) {
        if (l->tls && tls_server_subject_field(l->tls)) {
            /* only a certificate we verified names the client, never a field it sent */
            char subject[512];
            size_t n = tls_io_peer_subject(c->io.fd, subject, sizeof(subject));
            exchange_remove_field(ex, tls_server_subject_field(l->tls));
            if (n)
                exchange_add_field(ex, tls_server_subject_field(l->tls), subject, n);
        }
        l->fe->handle(ex);
        if (ex->decision == DECIDE_NONE)
            exchange_error(ex, 500, "front-end made no decision");
    }
}

/* Whether the body bytes that came with the head (or before the decision)
 * break the body's framing: then nothing of the request may go upstream,
 * where a server that reads the framing its own way could take the rest
 * for a request of its own.  What comes later is checked as it streams.
 * Returns why (a static string), or NULL when they are fine. */
static const char *early_body_bad(struct exchange *ex)
{
    struct buf *in = *ex->cin;
    uint32_t head = ex->req.head_len;
    const char *why = NULL;

    if (buf_len(in) <= head ||
        body_check_ahead(&ex->reqb, buf_head(in) + head, buf_len(in) - head, &why) == 0)
        return NULL;
    ex->client_close = 1;
    return why;
}

static void queue_add(struct exchange *ex)
{
    struct worker *w = ex->conn->w;

    ex->queued = 1;
    ex->qnext = NULL;
    ex->qprev = w->qtail;
    if (w->qtail)
        w->qtail->qnext = ex;
    else
        w->qhead = ex;
    w->qtail = ex;
}

/* Acts on the front-end's decision.  Returns the state it leads to:
 * X_QUEUED, X_LOCAL, or X_UPSTREAM (forwarding, or a tunnel). */
static enum exchange_state decided(struct exchange *ex)
{
    const char *why;
    int expect;

    if (ex->unanswered) { /* closed unanswered: nothing of it is read further */
        ex->end = END_CLOSE;
        return X_DONE;
    }
    if (ex->decision == DECIDE_QUEUE) {
        if (ex->lst->fe->resume) {
            queue_add(ex);
            return X_QUEUED; /* the head stays in the buffer until decided */
        }
        ex->decision = DECIDE_NONE;
        exchange_error(ex, 500, "front-end cannot queue");
    }
    if (ex->decision == DECIDE_FORWARD && (why = early_body_bad(ex)) != NULL) {
        ex->decision = DECIDE_NONE; /* the decision to forward is void */
        exchange_error(ex, 400, why);
    }
    /* Forwarding with "Expect: 100-continue": we answer "100 Continue"
     * ourselves (below) so the client sends the body while we connect; the
     * upstream never sees the expectation. */
    expect = ex->decision == DECIDE_FORWARD && (ex->req.flags & HTTP_F_EXPECT_CONTINUE) &&
             ex->req.framing != HTTP_BODY_NONE && ex->req.minor_version >= 1;
    if (expect)
        exchange_remove_field(ex, "expect");
    if (ex->decision == DECIDE_FORWARD || ex->parent_tunnel) {
        int fall = 0;
        ex->uphead = buf_get();
        if (ex->peer_hop) {
            /* the head as any other upstream would get it, should the
             * peer fail (exchange_forward_peer) */
            ex->peer_hop = 0;
            ex->fallhead = buf_get();
            fall = exchange_write_request_head(ex, ex->fallhead);
            ex->peer_hop = 1;
        }
        if (fall < 0 || exchange_write_request_head(ex, ex->uphead) < 0) {
            ex->decision = DECIDE_NONE;
            exchange_error(ex, 431, "request head too large to forward");
        }
    }
    /* The head has been read, decided and copied: what follows in the
     * buffer is the body, or the next request. */
    buf_consume(*ex->cin, ex->req.head_len);
    if (ex->decision == DECIDE_LOCAL)
        return X_LOCAL;
    if (ex->decision == DECIDE_TUNNEL && !ex->parent_tunnel)
        return X_UPSTREAM;
    if (expect && ex->decision == DECIDE_FORWARD) {
        buf_append(client_out(ex), "HTTP/1.1 100 Continue\r\n\r\n", 25);
        ex->sent_100 = 1;
    }
    return X_UPSTREAM;
}

/* ---- the queue of exchanges waiting for a free server ---- */

static void queue_remove(struct exchange *ex)
{
    struct worker *w = ex->conn->w;

    if (ex->qprev)
        ex->qprev->qnext = ex->qnext;
    else if (w->qhead == ex)
        w->qhead = ex->qnext;
    if (ex->qnext)
        ex->qnext->qprev = ex->qprev;
    else if (w->qtail == ex)
        w->qtail = ex->qprev;
    ex->qprev = ex->qnext = NULL;
    ex->queued = 0;
}

/* A queued exchange tries again: it keeps its place when it must wait on
 * (X_QUEUED), and gets a 503 once its time is up. */
static enum exchange_state queue_try(struct exchange *ex)
{
    ex->decision = DECIDE_NONE;
    if (loop_now(ex->conn->w->loop) >= ex->queue_until)
        exchange_error(ex, 503, "no server became free in time (queue timeout)");
    else
        ex->lst->fe->resume(ex);
    if (ex->decision == DECIDE_NONE || ex->decision == DECIDE_QUEUE) {
        ex->decision = DECIDE_QUEUE;
        return X_QUEUED;
    }
    queue_remove(ex);
    return decided(ex);
}

static void queue_wake(void *arg)
{
    struct worker *w = arg;
    struct exchange *ex = w->qhead, *next;

    w->qwake = 0;
    for (; ex; ex = next) {
        next = ex->qnext;
        ex->queue_ready = 1;
        exchange_drive(ex);
    }
}

/* An exchange ended and may have freed a server: the queue looks again
 * once this loop iteration is over. */
static void queue_kick(struct worker *w)
{
    if (w->qhead && !w->qwake) {
        w->qwake = 1;
        loop_defer(w->loop, queue_wake, w);
    }
}

/* ---- failures ---- */

/* The front-end may name another server after a failure
 * (frontend.upstream_failed).  Returns 1 when it did: the exchange reaches
 * for it from the start. */
static int try_other(struct exchange *ex)
{
    const struct frontend *fe = ex->lst ? ex->lst->fe : NULL;

    if (!fe || !fe->upstream_failed || ex->decision != DECIDE_FORWARD || ex->parent_tunnel ||
        ex->reqb.moved > 0 || ex->resp_head_done)
        return 0;
    ex->decision = DECIDE_NONE;
    if (ex->fallhead) { /* a peer failed: whatever comes next gets the plain head */
        buf_put(ex->uphead);
        ex->uphead = ex->fallhead;
        ex->fallhead = NULL;
        ex->peer_hop = ex->has_src = 0;
    }
    if (!fe->upstream_failed(ex, ex->fail.sent, ex->fail.why) || ex->decision != DECIDE_FORWARD) {
        ex->decision = DECIDE_FORWARD; /* the failure is answered */
        return 0;
    }
    log_debug("retrying on %s after: %s", ex->key, ex->fail.why);
    ex->naddrs = ex->addr_next = 0;
    ex->retried = ex->up_reused = 0;
    ex->req_head_sent = ex->req_done = 0;
    ex->uphead_sent = 0;
    return 1;
}

/* Whether a pooled connection that failed may be replaced by a fresh one
 * to the same server: it died before anything of the answer came and
 * before any of the request body went, and only once. */
static int fresh_ok(const struct exchange *ex)
{
    return (ex->fail.retry & RETRY_FRESH) && ex->up_reused && !ex->retried && ex->reqb.moved == 0 &&
           !ex->resp_head_done && !(ex->up && ex->up->in && buf_len(ex->up->in));
}

/* A step failed (ex->fail).  The one place where a failure is handled:
 * the client connection closes when nothing can be answered any more (no
 * status, or the response head has gone); an upstream that failed before
 * answering is tried again as the failure allows (its next address, a
 * fresh connection instead of a dead pooled one, another server the
 * front-end names); otherwise the failure is answered (502, 504, 400,
 * 413...), from the cache's stale copy when there is one, and, once the
 * request has begun to go upstream, the connection closes after it.
 * Returns the state that follows. */
static enum exchange_state failed(struct exchange *ex)
{
    struct exchange_fail *f = &ex->fail;
    struct worker *w = ex->conn->w;
    int fresh = fresh_ok(ex);

    if (!f->status || ex->resp_head_done) {
        if (f->why && !ex->why)
            ex->why = f->why;
        ex->end = END_CLOSE;
        return X_DONE;
    }
    if (ex->up) {
        upstream_release(w->pool, ex->up, 0, 0);
        ex->up = NULL;
    }
    resolver_cancel(ex->rq);
    ex->rq = NULL;
    if ((f->retry & RETRY_ADDR) && ex->addr_next < ex->naddrs)
        return X_UPSTREAM;
    if (fresh) {
        ex->retried = 1;
        ex->req_head_sent = ex->req_done = 0;
        return X_UPSTREAM;
    }
    if ((f->retry & RETRY_OTHER) && try_other(ex))
        return X_UPSTREAM;
    if (ex->state == X_PROXY || ex->state == X_PARENT_CONNECT)
        ex->client_close = 1; /* the rest of the request stays unread */
    ex->decision = DECIDE_NONE;
    if (!(ex->cx && f->status >= 500 && cache_serve_stale(ex, f->status, f->why)))
        exchange_error_detail(ex, f->status, f->why, f->detail);
    return X_LOCAL;
}

/* ---- ending ---- */

/* The exchange is over: its upstream goes back to the pool (a clean
 * answer) or closes, the front-end and the log hear of it, the queue
 * looks again, and its protocol takes it back. */
static void end(struct exchange *ex)
{
    struct worker *w = ex->conn->w;

    if (ex->queued)
        queue_remove(ex);
    if (ex->up) {
        int reuse = ex->end == END_DONE && ex->resp_done && ex->req_done &&
                    ex->resp.framing != HTTP_BODY_CLOSE && !(ex->resp.flags & HTTP_F_CONN_CLOSE) &&
                    (ex->resp.minor_version >= 1 || (ex->resp.flags & HTTP_F_CONN_KEEPALIVE));
        upstream_release(w->pool, ex->up, reuse, w->cfg->to.upstream_keepalive);
        ex->up = NULL;
    }
    resolver_cancel(ex->rq);
    ex->rq = NULL;
    loop_timer_cancel(w->loop, &ex->timer);
    if (loop_timer_armed(&ex->meter_timer))
        loop_timer_cancel(w->loop, &ex->meter_timer);
    if (ex->cfg) {
        exchange_end(ex);
        config_unref(ex->cfg);
        ex->cfg = NULL;
    }
    queue_kick(w);
    if (ex->end == END_DONE)
        atomic_fetch_add_explicit(&w->stats.exchanges, 1, memory_order_relaxed);
    ex->conn->proto->ended(ex);
}

/* ---- X_LOCAL ---- */

/* Writes our own answer, then reads a small request body away so the
 * connection can be reused.  Returns GH_DONE when both are over, GH_AGAIN,
 * GH_ERROR. */
static int local_step(struct exchange *ex)
{
    int rc;

    if (ex->answer_at) {
        if (loop_now(ex->conn->w->loop) < ex->answer_at)
            return GH_AGAIN;
        ex->answer_at = 0;
        ex->last_io = loop_now(ex->conn->w->loop);
    }
    rc = client_send_local(ex);
    if (rc == GH_ERROR)
        return rc;
    if (!ex->client_close && !ex->reqb.done) {
        int body = client_recv_body(ex, -1, NULL);
        if (body == GH_ERROR || ex->reqb.moved > DISCARD_MAX)
            ex->client_close = 1;
    } else if (ex->reqb.in_done) {
        ex->reqb.done = 1;
    }
    return rc == GH_OK && (ex->reqb.done || ex->client_close) ? GH_DONE : GH_AGAIN;
}

/* ---- the driver ---- */

/* The state after X_CONNECTED and X_UP_TLS: the connection is ready. */
static enum exchange_state connected(const struct exchange *ex)
{
    if (ex->parent_tunnel)
        return X_PARENT_CONNECT;
    return ex->decision == DECIDE_TUNNEL ? X_TUNNEL : X_PROXY;
}

void exchange_drive(struct exchange *ex)
{
    enum exchange_state next;
    int rc;

    if (ex->driving) {
        ex->redrive = 1;
        return;
    }
    ex->driving = 1;
    for (;;) {
        ex->redrive = 0;
        rc = GH_AGAIN;
        next = ex->state;
        if (ex->aborted) {
            rc = exchange_fail(ex, 0, NULL);
        } else if (ex->expired && ex->state == X_HELD) {
            ex->expired = 0;
            next = decided(ex); /* its turn came */
        } else if (ex->expired && ex->state != X_LOCAL) {
            ex->expired = 0;
            rc = expired(ex);
        } else {
            switch (ex->state) {
            case X_NONE: /* begins: a request to decide, or one answered already */
                next = ex->decision == DECIDE_LOCAL ? X_LOCAL : X_DECIDE;
                break;
            case X_DECIDE:
                decide(ex);
                next = ex->hold_until && !ex->unanswered ? X_HELD : decided(ex);
                break;
            case X_HELD: /* its timer found hold_until passed (expired) */
                break;
            case X_QUEUED:
                if (ex->queue_ready) {
                    ex->queue_ready = 0;
                    next = queue_try(ex);
                    ex->rearm = 1; /* the next look, or the next state's deadline */
                }
                break;
            case X_UPSTREAM:
                if (connect_pooled(ex)) {
                    next = X_CONNECTED;
                } else if (!ex->naddrs) {
                    connect_resolve(ex); /* the answer may be in already */
                    next = X_RESOLVE;
                } else if ((rc = connect_next(ex)) == GH_AGAIN) {
                    next = X_CONNECT;
                }
                break;
            case X_RESOLVE:
                if ((rc = connect_resolved(ex)) == GH_OK)
                    next = X_UPSTREAM;
                break;
            case X_CONNECT:
                if ((rc = connect_finish(ex)) == GH_OK)
                    next = X_CONNECTED;
                break;
            case X_CONNECTED:
                if ((rc = connect_greet(ex)) == GH_OK)
                    next = ex->up_tls && !ex->up_reused && !ex->up_h2_streams ? X_UP_TLS
                                                                           : connected(ex);
                break;
            case X_UP_TLS:
                if ((rc = connect_tls(ex)) == GH_OK)
                    next = connected(ex);
                break;
            case X_PARENT_CONNECT:
                if ((rc = proxy_parent_connect(ex)) == GH_OK)
                    next = X_TUNNEL;
                break;
            case X_PROXY: /* GH_OK: answered locally instead, or switched protocols */
                if ((rc = proxy_step(ex)) == GH_OK)
                    next = ex->decision == DECIDE_LOCAL ? X_LOCAL : X_TUNNEL;
                break;
            case X_TUNNEL: rc = tunnel_step(ex); break;
            case X_LOCAL:
                if (ex->expired && !ex->answer_at)
                    rc = exchange_fail(ex, 0, "client send timeout");
                else
                    rc = local_step(ex); /* also when a held-back answer's time came */
                ex->expired = 0;
                break;
            case X_DONE: break;
            }
        }
        if (rc == GH_ERROR)
            next = failed(ex);
        if (rc == GH_DONE) { /* answered; a tunnel's end is its connection's */
            ex->end = ex->refused ? END_SHUT : ex->state == X_TUNNEL ? END_CLOSE : END_DONE;
            next = X_DONE;
        }
        if (next == X_DONE) {
            ex->state = X_DONE;
            ex->driving = 0;
            end(ex); /* its protocol takes it back: it is not touched again */
            return;
        }
        if (next != ex->state) {
            /* the connect and the TLS handshake share one deadline */
            if (next != X_CONNECTED && next != X_UP_TLS)
                ex->last_io = loop_now(ex->conn->w->loop);
            ex->state = next;
            ex->expired = 0;
            ex->rearm = 1;
        } else if (!ex->redrive) {
            break;
        }
    }
    if (ex->rearm) {
        ex->rearm = 0;
        loop_timer_at(ex->conn->w->loop, &ex->timer, deadline(ex));
    }
    ex->driving = 0;
}

void exchange_start(struct exchange *ex)
{
    ex->timer.on_fire = on_timer;
    exchange_drive(ex);
}

void exchange_abort(struct exchange *ex, const char *why)
{
    if (why && !ex->why)
        ex->why = why;
    ex->aborted = 1;
    exchange_drive(ex);
}

/* ---- events ---- */

void exchange_on_upstream(void *owner, struct upconn *u, uint32_t events)
{
    if (events & (EPOLLRDHUP | EPOLLHUP))
        u->readable = READY_END; /* read() will report the EOF */
    exchange_drive(owner);
}

void exchange_on_resolved(void *arg, const struct sockaddr_storage *addrs, unsigned n,
                          const char *error)
{
    struct exchange *ex = arg;

    ex->rq = NULL;
    if (n) {
        memcpy(ex->addrs, addrs, n * sizeof(*addrs));
        ex->naddrs = n;
        ex->addr_next = 0;
    } else {
        ex->dns_error = error;
    }
    exchange_drive(ex);
}

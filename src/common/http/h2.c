/* h2.c — HTTP/2 on a client connection (see h2.h): the session made when
 * the connection starts speaking it, the passes that read the socket into
 * the session, serve the streams it hands out (starting and driving their
 * exchanges) and write its frames, the connection's deadlines (idle, a
 * client that reads nothing, the session's own), draining with GOAWAY,
 * and the counters and log lines of abuse.  Owns the struct h2conn and
 * the session; the socket and its buffers are the connection's (c->in
 * holds what was read, c->out the frames to write, a big buffer while
 * bytes wait), each exchange's client side is h2_exchange.c's. */
#include "h2.h"
#include "exchange_int.h"
#include "h2_int.h"
#include "log.h"
#include "relay.h"
#include "tls.h"
#include "util.h"
#include "worker.h"

#include <stdlib.h>

/* ---- what the session reports ---- */

static void on_abuse(void *owner, enum stats_h2_abuse kind, const char *detail)
{
    struct h2conn *h = owner;
    struct conn *c = h->c;

    atomic_fetch_add_explicit(&c->w->stats.h2_abuse[kind], 1, memory_order_relaxed);
    log_warn("listener %s: %s: HTTP/2 %s: %s", c->lname, c->peer_text, stats_h2_abuse_names[kind],
             detail);
}

static void on_malformed(void *owner, int32_t id, const char *why)
{
    struct h2conn *h = owner;
    struct conn *c = h->c;

    atomic_fetch_add_explicit(&c->w->stats.h2_malformed, 1, memory_order_relaxed);
    log_info("listener %s: %s: HTTP/2 stream %d refused: %s", c->lname, c->peer_text, (int)id,
             why);
}

static const struct h2_session_hooks hooks = {on_abuse, on_malformed};

/* ---- a pass: read, serve, write ---- */

/* Feeds what the client sent to the session.  Returns 1 when bytes came. */
static int read_in(struct h2conn *h)
{
    struct conn *c = h->c;
    int did = 0;

    for (;;) {
        if (c->in && buf_len(c->in)) {
            uint64_t now = loop_now(c->w->loop);
            c->last_io = now;
            if (h2_session_recv(h->s, buf_head(c->in), buf_len(c->in), now) != GH_OK)
                h->fatal = h->stop_read = 1;
            buf_consume(c->in, buf_len(c->in));
            did = 1;
        }
        if (h->stop_read || !c->readable)
            break;
        ssize_t n = relay_fill(&c->in, c->io.fd, &c->readable);
        if (n == GH_AGAIN)
            break;
        if (n <= 0) { /* the client's end: no more requests */
            c->peer_eof = 1;
            h->stop_read = 1;
            break;
        }
    }
    relay_drop_empty(&c->in);
    return did;
}

/* Serves the streams the session hands out: starts the exchange of a
 * complete request, drives those with news, ends those the client reset.
 * Returns 1 when it served any. */
static int serve(struct h2conn *h)
{
    struct conn *c = h->c;
    struct h2_stream *st;
    int did = 0;

    while (c->state != C_CLOSED && (st = h2_session_next(h->s)) != NULL) {
        struct exchange *ex = st->user;
        did = 1;
        if (!ex) {
            if (st->head_done && !st->closed)
                h2_begin(h, st);
        } else if (st->closed && !st->body_end) {
            exchange_abort(ex, st->error_code == NGHTTP2_CANCEL     ? "client cancelled the stream"
                               : st->error_code == NGHTTP2_NO_ERROR ? "client closed the stream"
                                                                    : "stream reset");
        } else {
            exchange_drive(ex);
        }
    }
    return did;
}

/* Writes the session's frames: what waits in c->out, then more as the
 * socket takes it.  Returns 1 after progress, 0, or GH_ERROR (the socket
 * failed). */
static int write_out(struct h2conn *h)
{
    struct conn *c = h->c;
    int did = 0, rc;

    for (;;) {
        if (c->out && buf_len(c->out)) {
            ssize_t n;
            if (!c->writable)
                break;
            n = buf_write_fd(c->out, c->io.fd);
            if (n == GH_AGAIN) {
                c->writable = 0;
                break;
            }
            if (n <= 0) /* 0: TLS says the peer is gone (io_write) */
                return GH_ERROR;
            h->last_write = loop_now(c->w->loop);
            did = 1;
            continue;
        }
        if (!c->out)
            c->out = buf_get_big();
        rc = h2_session_send(h->s, c->out);
        if (rc == GH_ERROR)
            h->fatal = h->stop_read = 1;
        if (!buf_len(c->out))
            break;
        if (!did)
            h->last_write = loop_now(c->w->loop); /* bytes wait from now on */
        did = 1;
    }
    relay_drop_empty(&c->out);
    return did;
}

/* After a pass: the connection ends when the session is over (both
 * sides' GOAWAY, or a failure) and its last frames went, or when the
 * client closed and nothing is left to answer; otherwise its timer is set
 * for the next deadline. */
static void settle(struct h2conn *h)
{
    struct conn *c = h->c;
    unsigned n = h2_session_nstreams(h->s);
    int pending = c->out && buf_len(c->out);

    if (!n && !h->idle_since)
        h->idle_since = loop_now(c->w->loop);
    else if (n)
        h->idle_since = 0;
    if (!pending && c->peer_eof && (!n || h->fatal)) {
        conn_close(c, "client closed the connection");
        return;
    }
    if (!pending && (h->fatal || !h2_session_alive(h->s))) {
        if (h2_session_error(h->s))
            log_debug("listener %s: %s: HTTP/2 connection ends: %s", c->lname, c->peer_text,
                      h2_session_error(h->s));
        conn_linger(c, c->tls, 1); /* close_notify, then read away what still comes */
        return;
    }
    conn_arm(c);
}

static void h2_drive(struct conn *c)
{
    struct h2conn *h = c->proto_state;
    int progress;

    if (c->state == C_IDLE)
        conn_busy(c);
    h->driving = 1;
    do {
        progress = read_in(h);
        progress |= serve(h);
        if (c->state == C_CLOSED)
            return;
        int w = write_out(h);
        if (w == GH_ERROR) {
            conn_close(c, "client write failed");
            return;
        }
        progress |= w;
        progress |= serve(h); /* the frames made room in streams' buffers */
        if (c->state == C_CLOSED)
            return;
    } while (progress);
    h->driving = 0;
    settle(h);
}

static void kick_now(void *arg)
{
    struct conn *c = arg;

    if (c->state == C_CLOSED)
        return;
    ((struct h2conn *)c->proto_state)->kicked = 0;
    conn_drive(c);
}

void h2_kick(struct h2conn *h)
{
    if (h->driving || h->kicked)
        return;
    h->kicked = 1;
    loop_defer(h->c->w->loop, kick_now, h->c);
}

/* ---- the connection's calls ---- */

static void h2_start(struct conn *c)
{
    const struct gh_config *cfg = c->w->cfg;
    struct h2conn *h = xcalloc(1, sizeof(*h));
    struct h2_limits lim = {
        .max_streams = cfg->h2.max_streams,
        .stream_window = cfg->h2.stream_window,
        .max_continuations = cfg->h2.max_continuations,
        .max_head = cfg->limits.max_head,
        .max_fields = cfg->limits.max_fields,
        .reset_budget = cfg->h2.reset_budget,
        .flood_budget = cfg->h2.flood_budget,
        .settings_timeout = cfg->h2.settings_timeout,
        .send_timeout = cfg->to.send,
    };

    h->c = c;
    h->s = h2_session_new(&lim, &hooks, h, NULL, loop_now(c->w->loop));
    h->idle_since = loop_now(c->w->loop);
    c->proto_state = h;
    atomic_fetch_add_explicit(&c->w->stats.h2_conns, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->w->stats.h2_active, 1, memory_order_relaxed);
    if (c->w->draining)
        h2_session_shutdown(h->s, 0);
}

static uint64_t h2_deadline(const struct conn *c)
{
    const struct h2conn *h = c->proto_state;
    const struct gh_config *cfg = c->w->cfg;
    uint64_t d = h2_session_deadline(h->s);

    if (c->out && buf_len(c->out))
        d = GH_MIN(d, h->last_write + cfg->to.send);
    if (h->idle_since)
        d = GH_MIN(d, h->idle_since + cfg->h2.idle_timeout);
    return d;
}

/* A deadline passed: a client that read nothing for timeouts.send goes
 * at once; an idle connection gets GOAWAY; the session acts on its own. */
static void h2_expired(struct conn *c)
{
    struct h2conn *h = c->proto_state;
    const struct gh_config *cfg = c->w->cfg;
    uint64_t now = loop_now(c->w->loop);

    if (c->out && buf_len(c->out) && now >= h->last_write + cfg->to.send) {
        on_abuse(h, H2_SLOW_READ, "the client read nothing within timeouts.send; closed");
        conn_close(c, "client read nothing in time");
        return;
    }
    if (h->idle_since && now >= h->idle_since + cfg->h2.idle_timeout)
        h2_session_shutdown(h->s, 1);
    h2_session_expire(h->s, now);
    conn_drive(c);
}

static void h2_abort(struct conn *c, const char *why)
{
    struct h2conn *h = c->proto_state;

    if (!h)
        return;
    for (struct h2_stream *st = h2_session_streams(h->s); st; st = st->next)
        if (st->user)
            exchange_abort(st->user, why); /* h2_ended lets go of it */
    h2_session_free(h->s);
    atomic_fetch_sub_explicit(&c->w->stats.h2_active, 1, memory_order_relaxed);
    free(h);
    c->proto_state = NULL;
}

/* Reload or shutdown: GOAWAY, a round trip after a shutdown notice; the
 * streams in flight finish and the connection ends (timeouts.drain bounds
 * it at shutdown). */
static void h2_drain(struct conn *c)
{
    struct h2conn *h = c->proto_state;

    h2_session_shutdown(h->s, 0);
    conn_drive(c);
}

const struct proto h2_proto = {
    .name = "h2",
    .version = " HTTP/2.0",
    .start = h2_start,
    .drive = h2_drive,
    .deadline = h2_deadline,
    .expired = h2_expired,
    .abort = h2_abort,
    .drain = h2_drain,
    .flush = h2_flush,
    .recv_body = h2_recv_body,
    .send_body = h2_send_body,
    .send_local = h2_send_local,
    .client_ended = h2_client_ended,
    .raw = h2_raw,
    .ended = h2_ended,
};

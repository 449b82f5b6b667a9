/* session.c — the client connection's state machine (see session.h).
 *
 * One function, session_drive(), advances a session as far as its sockets
 * allow; every event (client, upstream, DNS, timer) lands there.  Owns the
 * session, its buffers and its exchange's upstream connection while in use;
 * the front-end only decides (exchange.h).  Reaching the upstream (S_RESOLVE,
 * S_CONNECT) lives in connect.c, the S_PROXY state's work in proxy.c, the
 * S_TUNNEL state's in tunnel.c. */
#include "session.h"
#include "cache_xfer.h"
#include "log.h"
#include "proxyproto.h"
#include "tls.h"
#include "relay.h"
#include "tunnel.h"
#include "util.h"
#include "worker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/uio.h>
#include <sys/socket.h>
#include <unistd.h>

#define LINGER_MS 2000
#define DISCARD_MAX (1u << 20)
#define QUEUE_POLL_MS 10 /* a queued exchange looks again this often */

static void proceed(struct session *s);
static void queue_remove(struct session *s);
static void queue_try(struct session *s);
static void queue_kick(struct worker *w);
static void set_peer(struct session *s, const struct sockaddr_storage *peer);


/* ---- timers ---- */

static uint64_t deadline(const struct session *s)
{
    const struct timeouts *t = &s->w->cfg->to;
    const struct exchange *ex = s->ex; /* NULL only in S_READ_HEAD */

    switch (s->state) {
    case S_ACCEPT:
        return s->head_start + s->accept_ms;
    case S_READ_HEAD:
        if (s->in && buf_len(s->in))
            return s->head_start + t->client_header;
        return s->last_io + (s->nexchanges ? t->keepalive : t->client_header);
    case S_RESOLVE:
    case S_CONNECT:
        return s->last_io + t->upstream_connect;
    case S_PROXY:
        if (!ex->req_done && ex->req_head_sent)
            return s->last_io + GH_MAX(t->client_body, t->upstream_read);
        return s->last_io + t->upstream_read;
    case S_LOCAL:
        if (ex->answer_at > s->last_io)
            return ex->answer_at; /* a held-back answer */
        return s->last_io + t->send;
    case S_TUNNEL:
        if (ex->inspect_hello)
            return ex->hello_until;
        return s->last_io + t->tunnel;
    case S_LINGER:
        return s->last_io + LINGER_MS;
    case S_QUEUED:
        return GH_MIN(ex->queue_until, loop_now(s->w->loop) + QUEUE_POLL_MS);
    default:
        return UINT64_MAX;
    }
}

void session_arm(struct session *s)
{
    if (s->state != S_CLOSED)
        loop_timer_at(s->w->loop, &s->timer, deadline(s));
}

static void on_timer(struct timer *t)
{
    struct session *s = (struct session *)((char *)t - offsetof(struct session, timer));
    struct exchange *ex = s->ex; /* NULL only in S_READ_HEAD with nothing buffered */
    uint64_t now = loop_now(s->w->loop), d = deadline(s);

    if (d > now && s->state != S_QUEUED) {
        loop_timer_at(s->w->loop, t, d);
        return;
    }
    switch (s->state) {
    case S_ACCEPT:
        log_info("listener %s: %s: %s", s->lname, s->peer_text,
                 s->await_proxy ? "no PROXY protocol header in time" : "TLS handshake timed out");
        session_close(s, NULL);
        return;
    case S_READ_HEAD:
        if (s->in && buf_len(s->in)) {
            ex->start_ms = s->head_start;
            gh_fmt(ex->log_req, sizeof(ex->log_req), "-");
            ex->cfg = config_ref(s->w->cfg);
            ex->client_close = 1;
            exchange_error(ex, 408, "client sent no complete request head in time");
            s->state = S_LOCAL;
            session_drive(s);
        } else {
            session_close(s, NULL);
        }
        return;
    case S_RESOLVE:
    case S_CONNECT:
        ex->why = "upstream connect timeout";
        if (ex->up) {
            upstream_release(s->w->pool, ex->up, 0, 0);
            ex->up = NULL;
        }
        resolver_cancel(ex->rq);
        ex->rq = NULL;
        if (ex->addr_next < ex->naddrs) {
            session_connect(s);
            return;
        }
        if (session_try_other(s, 0, "upstream connect timed out"))
            return;
        session_answer_error(s, 504, "upstream connect timed out", NULL);
        session_drive(s);
        return;
    case S_PROXY:
        if (!ex->resp_head_done && !(s->out && buf_len(s->out))) {
            upstream_release(s->w->pool, ex->up, 0, 0);
            ex->up = NULL;
            ex->client_close = 1;
            session_answer_error(s, 504, "upstream response timed out", NULL);
            session_drive(s);
            return;
        }
        session_close(s, ex->req_done ? "upstream idle timeout" : "client body idle timeout");
        return;
    case S_TUNNEL:
        if (ex->inspect_hello) {
            tunnel_hello_expired(s);
            return;
        }
        session_close(s, "tunnel idle timeout");
        return;
    case S_QUEUED:
        queue_try(s);
        return;
    case S_LOCAL:
        if (ex->answer_at) { /* the held-back answer may go now */
            session_drive(s);
            return;
        }
        session_close(s, "client send timeout");
        return;
    default:
        session_close(s, s->state == S_LOCAL ? "client send timeout" : NULL);
        return;
    }
}

/* Turns the exchange into a local error answer (the decision to forward
 * is void).  The caller drives the session on. */
void session_answer_error(struct session *s, int status, const char *why, const char *detail)
{
    struct exchange *ex = session_ex(s);

    ex->decision = DECIDE_NONE;
    if (!(ex->cx && status >= 500 && cache_serve_stale(ex, status, why)))
        exchange_error_detail(ex, status, why, detail);
    s->state = S_LOCAL;
    s->last_io = loop_now(s->w->loop);
    session_arm(s);
}

/* ---- life and death ---- */

void session_linger(struct session *s)
{
    struct exchange *ex = s->ex;
    SSL *ssl = tls_io_ssl(s->io.fd);

    if (s->state == S_CLOSED)
        return;
    if (ex && ex->up) {
        upstream_release(s->w->pool, ex->up, 0, 0);
        ex->up = NULL;
    }
    if (ssl)
        SSL_shutdown(ssl);
    shutdown(s->io.fd, SHUT_WR);
    s->state = S_LINGER;
    s->last_io = loop_now(s->w->loop);
    session_arm(s);
}

static void free_session(void *arg)
{
    struct session *s = arg;

    buf_put(s->in);
    buf_put(s->out);
    exchange_put(s->ex);
    free(s);
}

void session_close(struct session *s, const char *why)
{
    struct worker *w = s->w;
    struct exchange *ex = s->ex; /* NULL: idle, nothing to end */

    if (s->state == S_CLOSED)
        return;
    if (s->state == S_QUEUED)
        queue_remove(s);
    if (ex) {
        if (why && !ex->why)
            ex->why = why;
        if (ex->cfg) {
            exchange_end(ex);
            config_unref(ex->cfg);
            ex->cfg = NULL;
        }
        resolver_cancel(ex->rq);
        ex->rq = NULL;
        if (ex->up) {
            upstream_release(w->pool, ex->up, 0, 0);
            ex->up = NULL;
        }
    }
    s->state = S_CLOSED;
    loop_timer_cancel(w->loop, &s->timer);
    loop_del(w->loop, &s->io);
    tls_io_detach(s->io.fd);
    close(s->io.fd);
    s->io.fd = -1;
    if (s->prev)
        s->prev->next = s->next;
    else
        w->sessions = s->next;
    if (s->next)
        s->next->prev = s->prev;
    atomic_fetch_sub_explicit(&w->stats.active, 1, memory_order_relaxed);
    loop_defer(w->loop, free_session, s);
    queue_kick(w);
    if (w->draining && !w->sessions)
        loop_stop(w->loop);
}

/* The exchange is over: log it and wait for the next request, or close. */
void session_finish(struct session *s)
{
    struct exchange *ex = session_ex(s);
    struct worker *w = s->w;

    if (ex->up) {
        int reuse = ex->resp_done && ex->req_done && ex->resp.framing != HTTP_BODY_CLOSE &&
                    !(ex->resp.flags & HTTP_F_CONN_CLOSE) &&
                    (ex->resp.minor_version >= 1 || (ex->resp.flags & HTTP_F_CONN_KEEPALIVE));
        upstream_release(w->pool, ex->up, reuse, w->cfg->to.upstream_keepalive);
        ex->up = NULL;
    }
    exchange_end(ex);
    config_unref(ex->cfg);
    ex->cfg = NULL;
    queue_kick(w);
    atomic_fetch_add_explicit(&w->stats.exchanges, 1, memory_order_relaxed);
    if (ex->client_close || w->draining || s->peer_eof) {
        /* Unread request bytes: close gently so the answer is not lost to a
         * RST.  TLS: close_notify first, whatever else, and only then the
         * half-close, which no TLS record could follow (S_LINGER). */
        int unread = s->state == S_LOCAL && ex->decision == DECIDE_LOCAL && !ex->reqb.done;
        if (unread || s->tls) {
            s->state = S_LINGER;
            s->notify = s->tls;
            s->discard = (uint8_t)unread;
            s->last_io = loop_now(w->loop);
            session_arm(s);
            return; /* the driver goes on in drive_linger */
        }
        session_close(s, NULL);
        return;
    }
    s->state = S_READ_HEAD;
    s->nexchanges++;
    s->last_io = loop_now(w->loop);
    relay_drop_empty(&s->out);
    if (s->in && buf_len(s->in)) {
        s->head_start = s->last_io; /* a pipelined request is already here */
        exchange_reset(ex);
    } else { /* idle: the buffer and the exchange go back until bytes come */
        relay_drop_empty(&s->in);
        exchange_put(ex);
        s->ex = NULL;
    }
    session_arm(s);
}

/* ---- reading a request head ---- */

static int client_wants_close(const struct http_head *r)
{
    if (r->flags & HTTP_F_CONN_CLOSE)
        return 1;
    return r->minor_version == 0 && !(r->flags & HTTP_F_CONN_KEEPALIVE);
}

/* Runs the front-end on a complete head. */
static void decide(struct session *s)
{
    struct exchange *ex = session_ex(s);
    struct worker *w = s->w;
    const struct listener_conf *l;

    ex->cfg = config_ref(w->cfg);
    l = config_listener(ex->cfg, s->lname);
    ex->lst = l;
    exchange_note_request(ex);
    ex->client_close = client_wants_close(&ex->req);
    body_init(&ex->reqb, ex->req.framing, ex->req.content_length,
              ex->req.framing == HTTP_BODY_CHUNKED);
    if (!l) {
        ex->client_close = 1;
        exchange_error(ex, 503, "listener removed by reload");
    } else if ((ex->max_body = ex->cfg->max_body) && ex->req.framing == HTTP_BODY_LENGTH &&
               ex->req.content_length > ex->cfg->max_body) {
        ex->client_close = 1;
        exchange_error(ex, 413, "request body larger than max_body_bytes");
    } else if (!exchange_preflight(ex)) {
        if (l->tls && tls_server_subject_field(l->tls)) {
            /* only a certificate we verified names the client, never a field it sent */
            char subject[512];
            size_t n = tls_io_peer_subject(s->io.fd, subject, sizeof(subject));
            exchange_remove_field(ex, tls_server_subject_field(l->tls));
            if (n)
                exchange_add_field(ex, tls_server_subject_field(l->tls), subject, n);
        }
        l->fe->handle(ex);
        if (ex->decision == DECIDE_NONE)
            exchange_error(ex, 500, "front-end made no decision");
    }
    proceed(s);
}

/* ---- the queue of exchanges waiting for a free server ---- */

static void queue_add(struct session *s)
{
    struct worker *w = s->w;

    s->state = S_QUEUED;
    s->qnext = NULL;
    s->qprev = w->qtail;
    if (w->qtail)
        w->qtail->qnext = s;
    else
        w->qhead = s;
    w->qtail = s;
    session_arm(s);
}

static void queue_remove(struct session *s)
{
    struct worker *w = s->w;

    if (s->qprev)
        s->qprev->qnext = s->qnext;
    else if (w->qhead == s)
        w->qhead = s->qnext;
    if (s->qnext)
        s->qnext->qprev = s->qprev;
    else if (w->qtail == s)
        w->qtail = s->qprev;
    s->qprev = s->qnext = NULL;
}

/* A queued exchange tries again; it keeps its place when it must wait on,
 * and gets a 503 once its time is up. */
static void queue_try(struct session *s)
{
    struct exchange *ex = session_ex(s);

    ex->decision = DECIDE_NONE;
    if (loop_now(s->w->loop) >= ex->queue_until)
        exchange_error(ex, 503, "no server became free in time (queue timeout)");
    else
        ex->lst->fe->resume(ex);
    if (ex->decision == DECIDE_NONE || ex->decision == DECIDE_QUEUE) {
        ex->decision = DECIDE_QUEUE;
        session_arm(s);
        return;
    }
    queue_remove(s);
    proceed(s);
    session_drive(s);
}

static void queue_wake(void *arg)
{
    struct worker *w = arg;
    struct session *s = w->qhead, *next;

    w->qwake = 0;
    for (; s; s = next) {
        next = s->qnext;
        queue_try(s);
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

/* Whether the body bytes that came with the head (or before the decision)
 * break the body's framing: then nothing of the request may go upstream,
 * where a server that reads the framing its own way could take the rest
 * for a request of its own.  What comes later is checked as it streams.
 * Returns why (a static string), or NULL when they are fine. */
static const char *early_body_bad(struct session *s)
{
    struct exchange *ex = session_ex(s);
    uint32_t head = ex->req.head_len;
    const char *why = NULL;

    if (buf_len(s->in) <= head ||
        body_check_ahead(&ex->reqb, buf_head(s->in) + head, buf_len(s->in) - head, &why) == 0)
        return NULL;
    ex->client_close = 1;
    return why;
}

/* Acts on the front-end's decision: queue, answer, or connect. */
static void proceed(struct session *s)
{
    struct exchange *ex = session_ex(s);
    struct worker *w = s->w;
    const char *why;

    if (ex->decision == DECIDE_QUEUE) {
        if (ex->lst->fe->resume) {
            queue_add(s);
            return; /* the head stays in the buffer until decided */
        }
        ex->decision = DECIDE_NONE;
        exchange_error(ex, 500, "front-end cannot queue");
    }
    if (ex->decision == DECIDE_FORWARD && (why = early_body_bad(s)) != NULL) {
        ex->decision = DECIDE_NONE; /* the decision to forward is void */
        exchange_error(ex, 400, why);
    }
    if (ex->decision == DECIDE_FORWARD || ex->handshake) {
        ex->uphead = buf_get();
        if (exchange_write_request_head(ex, ex->uphead) < 0) {
            ex->decision = DECIDE_NONE;
            exchange_error(ex, 431, "request head too large to forward");
        }
    }
    /* The head has been read, decided and copied: what follows in the
     * buffer is the body, or the next request. */
    buf_consume(s->in, ex->req.head_len);
    if (ex->decision == DECIDE_LOCAL) {
        s->state = S_LOCAL;
        s->last_io = loop_now(w->loop);
        session_arm(s);
        return;
    }
    if (ex->decision == DECIDE_TUNNEL && !ex->handshake) {
        s->state = S_RESOLVE;
        s->last_io = loop_now(w->loop);
        session_arm(s);
        session_connect(s);
        return;
    }
    /* Forwarding: answer "100 Continue" ourselves so the client sends the body
     * while we connect; the upstream never sees the expectation. */
    if ((ex->req.flags & HTTP_F_EXPECT_CONTINUE) && ex->req.framing != HTTP_BODY_NONE &&
        ex->req.minor_version >= 1) {
        if (!s->out)
            s->out = buf_get();
        buf_append(s->out, "HTTP/1.1 100 Continue\r\n\r\n", 25);
        ex->sent_100 = 1;
        exchange_remove_field(ex, "expect");
    }
    s->state = S_RESOLVE;
    s->last_io = loop_now(w->loop);
    session_arm(s);
    session_connect(s);
}

/* Reads a PROXY header without taking a byte past it (what follows may be
 * a TLS ClientHello for OpenSSL to read).  Returns 1 when done, 0 to wait,
 * -1 when the session was closed. */
static int read_proxy_header(struct session *s)
{
    char hdr[PROXYPROTO_MAX];
    struct sockaddr_storage src, dst;
    int local = 0, rc;
    ssize_t n = recv(s->io.fd, hdr, sizeof(hdr), MSG_PEEK);

    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return 0;
    rc = n > 0 ? proxyproto_parse(hdr, (size_t)n, &src, &dst, &local) : -1;
    if (rc == 0 && n < (ssize_t)sizeof(hdr))
        return 0; /* the rest of the header is on its way */
    if (rc <= 0 || recv(s->io.fd, hdr, (size_t)rc, 0) != rc) {
        log_warn("listener %s: %s sent no valid PROXY protocol header; closed", s->lname,
                 s->peer_text);
        session_close(s, NULL);
        return -1;
    }
    if (!local) {
        set_peer(s, &src);
        s->local = dst;
        s->has_local = 1;
    }
    s->await_proxy = 0;
    return 1;
}

/* A new connection: its PROXY header, then its TLS handshake, as the
 * listener asks; then it reads requests. */
static void drive_accept(struct session *s)
{
    int want_write;
    const char *why = NULL;

    if (s->await_proxy && read_proxy_header(s) <= 0)
        return;
    if (s->tls) {
        int rc = tls_io_handshake(s->io.fd, &want_write, &why);
        if (rc == GH_AGAIN)
            return; /* the socket's next event drives it on */
        if (rc == GH_ERROR) {
            log_info("listener %s: %s: %s", s->lname, s->peer_text, why);
            session_close(s, NULL);
            return;
        }
    }
    s->state = S_READ_HEAD;
    s->readable = 1; /* OpenSSL may hold the first request already */
    s->last_io = loop_now(s->w->loop);
    session_arm(s);
}

/* Returns 1 when a head was parsed and handled, 0 to wait. */
static int read_head(struct session *s)
{
    const struct http1_limits *lim = &s->w->cfg->limits;
    struct exchange *ex;
    int rc;

    for (;;) {
        if (s->in && buf_len(s->in)) {
            ex = session_ex(s);
            buf_compact(s->in);
            rc = http1_parse_request(buf_head(s->in), buf_len(s->in), lim, &ex->req);
            if (rc > 0) {
                ex->start_ms = s->head_start;
                ex->bytes_in += (uint64_t)rc;
                decide(s);
                return 1;
            }
            if (rc == HTTP1_ERROR || buf_room(s->in) == 0) {
                ex->start_ms = s->head_start;
                ex->cfg = config_ref(s->w->cfg);
                ex->lst = config_listener(ex->cfg, s->lname);
                gh_fmt(ex->log_req, sizeof(ex->log_req), "-");
                ex->client_close = 1;
                if (rc == HTTP1_ERROR)
                    exchange_error(ex, ex->req.error_status ? ex->req.error_status : 400,
                                   ex->req.error ? ex->req.error : "malformed request");
                else
                    exchange_error(ex, 431, "request head too large");
                ex->reqb.done = 0;
                s->state = S_LOCAL;
                s->last_io = loop_now(s->w->loop);
                session_arm(s);
                return 1;
            }
        }
        if (!s->readable)
            return 0;
        size_t had = s->in ? buf_len(s->in) : 0;
        ssize_t n = relay_fill(&s->in, s->io.fd, &s->readable);
        if (n == GH_AGAIN) {
            relay_drop_empty(&s->in);
            return 0;
        }
        if (n <= 0) {
            /* EOF or error between requests is a normal end. */
            session_close(s, had ? "client closed mid-head" : NULL);
            return 0;
        }
        if (had == 0) {
            s->head_start = loop_now(s->w->loop);
            session_arm(s);
        }
        s->last_io = loop_now(s->w->loop);
    }
}

int session_flush(struct session *s)
{
    while (s->out && buf_len(s->out)) {
        ssize_t n;
        if (!s->writable)
            return 0;
        n = buf_write_fd(s->out, s->io.fd);
        if (n == GH_AGAIN) {
            s->writable = 0;
            return 0;
        }
        if (n < 0) {
            session_close(s, "client write failed");
            return -1;
        }
        session_ex(s)->bytes_out += (uint64_t)n;
        s->last_io = loop_now(s->w->loop);
    }
    return 1;
}

int session_pump(struct session *s, struct body *b, struct buf **src, int src_fd,
                uint8_t *src_readable, int *src_eof, int dst_fd, uint8_t *dst_writable,
                uint64_t *counted_in)
{
    int active = 0;
    int rc = relay_pump(b, src, src_fd, src_readable, src_eof, dst_fd, dst_writable, counted_in,
                        &active);

    if (active)
        s->last_io = loop_now(s->w->loop);
    return rc;
}

/* ---- local answers ---- */

/* Writes what is pending in s->out and a borrowed body (a cached
 * object's memory) together, with one writev.  Returns 1 when both are
 * out, 0 to wait for the socket, -1 when the session was closed. */
static int write_borrowed(struct session *s)
{
    struct exchange *ex = session_ex(s);

    while (ex->local_mem_off < ex->local_mem_len) {
        struct iovec iov[2];
        int n = 0;
        size_t head = s->out ? buf_len(s->out) : 0;
        ssize_t w;

        if (!s->writable)
            return 0;
        if (head)
            iov[n++] = (struct iovec){buf_head(s->out), head};
        iov[n++] = (struct iovec){ex->local_mem + ex->local_mem_off,
                                  ex->local_mem_len - ex->local_mem_off};
        w = io_writev(s->io.fd, iov, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            s->writable = 0;
            return 0;
        }
        if (w < 0) {
            session_close(s, "client write failed");
            return -1;
        }
        session_ex(s)->bytes_out += (uint64_t)w;
        s->last_io = loop_now(s->w->loop);
        if ((size_t)w < head) {
            buf_consume(s->out, (size_t)w);
            continue;
        }
        if (head)
            buf_consume(s->out, head);
        ex->local_mem_off += (size_t)w - head;
    }
    return 1;
}

/* Sends the next piece of a file body: sendfile(2) to a plain socket,
 * read and write through s->out under TLS.  Returns 1 after progress, 0 to
 * wait for the socket, -1 when the session was closed. */
static int send_file_part(struct session *s)
{
    struct exchange *ex = session_ex(s);
    ssize_t n;

    if (!s->tls) {
        if (!s->writable)
            return 0;
        n = sendfile(s->io.fd, ex->local_fd, NULL, (size_t)GH_MIN(ex->local_left, 1u << 20));
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            s->writable = 0;
            return 0;
        }
        if (n < 0 && errno == EINTR)
            return 1;
        if (n <= 0) {
            session_close(s, n == 0 ? "file shrank while being sent" : "client write failed");
            return -1;
        }
        ex->bytes_out += (uint64_t)n;
        s->last_io = loop_now(s->w->loop);
    } else {
        buf_compact(s->out);
        n = read(ex->local_fd, buf_tail(s->out),
                 (size_t)GH_MIN((uint64_t)buf_room(s->out), ex->local_left));
        if (n <= 0) {
            session_close(s, "static file read failed");
            return -1;
        }
        s->out->end += (uint32_t)n;
    }
    ex->local_left -= (uint64_t)n;
    return 1;
}

static void drive_local(struct session *s)
{
    struct exchange *ex = session_ex(s);
    int peer_eof = s->peer_eof;

    if (ex->answer_at) {
        if (loop_now(s->w->loop) < ex->answer_at) {
            session_arm(s);
            return;
        }
        ex->answer_at = 0;
        s->last_io = loop_now(s->w->loop);
    }

    for (;;) {
        int rc;

        if (ex->local_borrowed && ex->local_mem_off < ex->local_mem_len) {
            if (write_borrowed(s) <= 0)
                return;
            continue;
        }
        rc = session_flush(s);
        if (rc < 0)
            return;
        if (rc == 1 && ex->local_mem && ex->local_mem_off < ex->local_mem_len) {
            ex->local_mem_off += buf_append(s->out, ex->local_mem + ex->local_mem_off,
                                            ex->local_mem_len - ex->local_mem_off);
            continue;
        }
        if (rc == 1 && ex->local_fd >= 0 && ex->local_left > 0) {
            rc = send_file_part(s);
            if (rc < 0)
                return;
            if (rc == 0)
                break;
            continue;
        }
        break;
    }
    /* Discard a small request body so the connection can be reused. */
    if (!ex->client_close && !ex->reqb.done) {
        int rc = session_pump(s, &ex->reqb, &s->in, s->io.fd, &s->readable, &peer_eof, -1, NULL,
                      &ex->bytes_in);
        s->peer_eof = (uint8_t)peer_eof;
        if (rc == GH_ERROR || ex->reqb.moved > DISCARD_MAX)
            ex->client_close = 1;
    } else if (ex->reqb.in_done) {
        ex->reqb.done = 1;
    }
    if (s->out && buf_len(s->out) == 0 && (!ex->local_mem || ex->local_mem_off == ex->local_mem_len) &&
        ex->local_left == 0 && (ex->reqb.done || ex->client_close))
        session_finish(s);
}

static void drive_linger(struct session *s)
{
    char junk[4096];

    if (s->notify) {
        int rc = tls_io_close_notify(s->io.fd);
        if (rc == GH_AGAIN) { /* OpenSSL holds it until the socket takes it */
            s->writable = 0;
            return;
        }
        s->notify = 0;
        if (rc == GH_ERROR || !s->discard) {
            session_close(s, NULL);
            return;
        }
        s->last_io = loop_now(s->w->loop);
        session_arm(s);
    }
    if (s->discard == 1) {
        shutdown(s->io.fd, SHUT_WR);
        s->discard = 2;
    }
    for (;;) {
        ssize_t n = io_read(s->io.fd, junk, sizeof(junk));
        if (n > 0)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        session_close(s, NULL);
        return;
    }
}

/* ---- the driver ---- */

void session_drive(struct session *s)
{
    for (;;) {
        enum session_state before = s->state;

        switch (s->state) {
        case S_ACCEPT:
            drive_accept(s);
            break;
        case S_READ_HEAD:
            if (!read_head(s))
                return;
            break;
        case S_RESOLVE:
        case S_CONNECT:
        case S_QUEUED:
            return;
        case S_PROXY:
            proxy_drive(s);
            break;
        case S_LOCAL:
            drive_local(s);
            break;
        case S_TUNNEL:
            tunnel_drive(s); /* may refuse the tunnel: S_LINGER */
            break;
        case S_LINGER:
            drive_linger(s);
            return;
        case S_CLOSED:
            return;
        }
        if (s->state == before)
            return;
    }
}

static void on_client(struct ioh *h, uint32_t events)
{
    struct session *s = (struct session *)h;

    if (s->state == S_CLOSED)
        return;
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        s->readable = GH_MAX(s->readable, relay_ready(events));
    if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
        s->writable = 1;
    session_drive(s);
}

static void set_peer(struct session *s, const struct sockaddr_storage *peer)
{
    s->peer = *peer;
    if (peer->ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)peer)->sin6_addr, s->peer_text,
                  sizeof(s->peer_text));
    else
        inet_ntop(AF_INET, &((const struct sockaddr_in *)peer)->sin_addr, s->peer_text,
                  sizeof(s->peer_text));
}

void session_new(struct worker *w, int fd, const struct sockaddr_storage *peer, const char *lname)
{
    struct session *s = xcalloc(1, sizeof(*s));
    const struct listener_conf *l = config_listener(w->cfg, lname);
    int one = 1;

    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    s->io.fd = fd;
    s->io.on_event = on_client;
    s->w = w;
    set_peer(s, peer);
    s->await_proxy = l && l->proxy_protocol;
    gh_fmt(s->lname, sizeof(s->lname), "%s", lname);
    if (l && l->tls) {
        SSL *ssl = tls_server_ssl(l->tls);
        if (!ssl) {
            log_error("listener %s: cannot start TLS for %s", lname, s->peer_text);
            close(fd);
            free(s);
            return;
        }
        tls_io_attach(fd, ssl);
        s->tls = 1;
    }
    s->timer.on_fire = on_timer;
    s->ex = exchange_get(s);
    s->state = s->await_proxy || s->tls ? S_ACCEPT : S_READ_HEAD;
    s->last_io = s->head_start = loop_now(w->loop);
    s->accept_ms = s->tls ? tls_server_handshake_timeout(l->tls) : w->cfg->to.client_header;
    if (loop_add(w->loop, &s->io) < 0) {
        log_error("cannot watch client socket: %s", strerror(errno));
        tls_io_detach(fd);
        close(fd);
        free(s);
        return;
    }
    s->next = w->sessions;
    if (s->next)
        s->next->prev = s;
    w->sessions = s;
    atomic_fetch_add_explicit(&w->stats.active, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&w->stats.accepted, 1, memory_order_relaxed);
    session_arm(s);
}

void session_drain_all(struct worker *w, int now)
{
    struct session *s = w->sessions, *next;

    for (; s; s = next) {
        next = s->next;
        if (now || (s->state == S_READ_HEAD && !(s->in && buf_len(s->in))))
            session_close(s, now ? "shutdown" : NULL);
    }
    if (!w->sessions)
        loop_stop(w->loop);
}

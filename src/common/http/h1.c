/* h1.c — HTTP/1 on a client connection (see h1.h).  Owns the exchange
 * under way on its connection (conn->proto_state) from the first byte of
 * its head until it ends: takes it, parses the head into it, starts it,
 * gives it back.  The connection's buffers and socket are the connection's;
 * what an exchange does is the driver's (exchange_drive.c). */
#include "h1.h"
#include "exchange_int.h"
#include "h2.h"
#include "relay.h"
#include "tls.h"
#include "util.h"
#include "worker.h"

#include <errno.h>
#include <sys/sendfile.h>
#include <sys/uio.h>
#include <unistd.h>

/* The exchange on connection c: under way, or reading its head. */
static struct exchange *cur(const struct conn *c)
{
    return c->proto_state;
}

/* The exchange to read a head into: the one begun reading, or a new one. */
static struct exchange *take(struct conn *c)
{
    struct exchange *ex = cur(c);

    if (!ex) {
        ex = exchange_get(c);
        ex->cin = &c->in;
        ex->cout = &c->out;
        c->proto_state = ex;
    }
    return ex;
}

/* ---- reading a request head ---- */

static int client_wants_close(const struct http_head *r)
{
    if (r->flags & HTTP_F_CONN_CLOSE)
        return 1;
    return r->minor_version == 0 && !(r->flags & HTTP_F_CONN_KEEPALIVE);
}

/* A request head of head_len bytes is parsed: its exchange begins. */
static void begin(struct conn *c, struct exchange *ex, int head_len)
{
    ex->start_ms = c->head_start;
    ex->bytes_in += (uint64_t)head_len;
    ex->client_close = client_wants_close(&ex->req);
    body_init(&ex->reqb, ex->req.framing, ex->req.content_length,
              ex->req.framing == HTTP_BODY_CHUNKED);
    conn_busy(c);
    exchange_start(ex);
}

/* A request that cannot be read (malformed, too large) is answered and the
 * connection closed after it. */
static void refuse(struct conn *c, struct exchange *ex, int status, const char *why)
{
    ex->start_ms = c->head_start;
    ex->cfg = config_ref(c->w->cfg);
    ex->lst = config_listener(ex->cfg, c->lname);
    gh_fmt(ex->log_req, sizeof(ex->log_req), "-");
    ex->client_close = 1;
    exchange_error(ex, status, why);
    ex->reqb.done = 0;
    conn_busy(c);
    exchange_start(ex);
}

/* An intercepted TLS connection (h1 reads no request from it): its
 * exchange begins with the ClientHello read, or with why it was not. */
static void begin_hello(struct conn *c, struct exchange *ex)
{
    ex->start_ms = c->head_start;
    ex->client_close = 1; /* the connection is this exchange's alone */
    conn_busy(c);
    exchange_start(ex);
}

/* Whether the connection's first bytes are to be read as a ClientHello:
 * an intercepted connection that begins with a TLS handshake record (any
 * other is read as HTTP). */
static int tls_first(const struct conn *c, struct exchange *ex)
{
    if (ex->intercept_tls)
        return 1;
    if (!c->intercepted || c->nexchanges || (unsigned char)buf_head(c->in)[0] != 0x16)
        return 0;
    ex->intercept_tls = 1;
    sni_init(&ex->hello);
    return 1;
}

/* Reads the hello as far as the bytes go (sni.c), the buffer grown for a
 * large one.  Returns 1 when the exchange began. */
static int read_hello(struct conn *c, struct exchange *ex)
{
    if (sni_parse(&ex->hello, (const unsigned char *)buf_head(c->in), buf_len(c->in)) ==
        SNI_PARTIAL) {
        relay_grow(&c->in, SNI_READ_MAX);
        return 0;
    }
    begin_hello(c, ex);
    return 1;
}

/* C_IDLE: reads and parses a request head, and begins its exchange. */
/* Whether the first bytes on a connection are (so far) HTTP/2's preface
 * and its listener takes HTTP/2 with prior knowledge (h2c): 1 yes, 0 no,
 * GH_AGAIN too few bytes to tell.  "PRI * HTTP/2.0" never begins an
 * HTTP/1 request that could be served (its version gets 505). */
static int h2_preface(const struct conn *c)
{
    static const char pri[] = "PRI * HTTP/2.0\r\n";
    size_t n = GH_MIN(buf_len(c->in), sizeof(pri) - 1);
    const struct listener_conf *l;

    if (c->nexchanges || c->proto_state || memcmp(buf_head(c->in), pri, n) != 0)
        return 0;
    l = config_listener(c->w->cfg, c->lname);
    if (!l || !l->h2c)
        return 0;
    return n == sizeof(pri) - 1 ? 1 : GH_AGAIN;
}

/* C_IDLE: reads and parses a request head, and begins its exchange; or
 * hands a plain connection that opens with HTTP/2's preface to HTTP/2. */
static void read_head(struct conn *c)
{
    const struct http1_limits *lim = &c->w->cfg->limits;
    struct exchange *ex;
    int rc;

    for (;;) {
        if (c->in && buf_len(c->in) && c->intercepted && tls_first(c, take(c))) {
            if (read_hello(c, cur(c)))
                return;
        } else if (c->in && buf_len(c->in) && (rc = h2_preface(c)) != 0) {
            if (rc == 1) {
                conn_speak(c, &h2_proto);
                return;
            }
        } else if (c->in && buf_len(c->in)) {
            ex = take(c);
            buf_compact(c->in);
            rc = http1_parse_request(buf_head(c->in), buf_len(c->in), lim, &ex->req);
            if (rc > 0) {
                begin(c, ex, rc);
                return;
            }
            if (rc == HTTP1_ERROR) {
                refuse(c, ex, ex->req.error_status ? ex->req.error_status : 400,
                       ex->req.error ? ex->req.error : "malformed request");
                return;
            }
            if (buf_room(c->in) == 0) {
                refuse(c, ex, 431, "request head too large");
                return;
            }
        }
        if (!c->readable)
            return;
        size_t had = c->in ? buf_len(c->in) : 0;
        ssize_t n = relay_fill(&c->in, c->io.fd, &c->readable);
        if (n == GH_AGAIN) {
            relay_drop_empty(&c->in);
            return;
        }
        if (n <= 0 && had && cur(c) && cur(c)->intercept_tls) {
            cur(c)->hello.result = SNI_MALFORMED; /* judged, and logged, as a CONNECT's */
            cur(c)->hello.why = "ClientHello cut short";
            c->peer_eof = 1;
            begin_hello(c, cur(c));
            return;
        }
        if (n <= 0) {
            /* EOF or error between requests is a normal end. */
            conn_close(c, had ? "client closed mid-head" : NULL);
            return;
        }
        if (had == 0) {
            c->head_start = loop_now(c->w->loop);
            conn_arm(c);
        }
        c->last_io = loop_now(c->w->loop);
    }
}

/* ---- the connection's calls ---- */

static void h1_drive(struct conn *c)
{
    if (c->state == C_BUSY)
        exchange_drive(cur(c));
    else
        read_head(c);
}

/* Part of a head came, not all of it, in time: 408, and the connection
 * closes after it. */
static void h1_expired(struct conn *c)
{
    struct exchange *ex = take(c);

    if (ex->intercept_tls) {
        ex->hello.result = SNI_TIMEOUT;
        ex->hello.why = "no ClientHello in time";
        begin_hello(c, ex);
        return;
    }
    ex->start_ms = c->head_start;
    gh_fmt(ex->log_req, sizeof(ex->log_req), "-");
    ex->cfg = config_ref(c->w->cfg);
    ex->client_close = 1;
    exchange_error(ex, 408, "client sent no complete request head in time");
    conn_busy(c);
    exchange_start(ex);
}

static void h1_abort(struct conn *c, const char *why)
{
    struct exchange *ex = cur(c);

    if (!ex)
        return;
    if (ex->state == X_NONE) { /* reading its head: nothing to end */
        c->proto_state = NULL;
        exchange_put(ex);
        return;
    }
    exchange_abort(ex, why); /* h1_ended gives it back */
}

/* The exchange ended: the connection carries the next request, or ends.
 * An answer that leaves request bytes unread, or one over TLS, ends
 * gently (conn_linger): close_notify first, then the half-close, which no
 * TLS record could follow. */
static void h1_ended(struct exchange *ex)
{
    struct conn *c = ex->conn;
    enum exchange_end end = ex->end;
    int unread = ex->decision == DECIDE_LOCAL && !ex->reqb.done;
    int keep = !ex->client_close && !c->w->draining && !c->peer_eof;

    c->proto_state = NULL;
    exchange_put(ex);
    if (c->state == C_CLOSED) /* its connection's close ended it */
        return;
    if (end == END_CLOSE)
        conn_close(c, NULL);
    else if (end == END_SHUT)
        conn_shut(c);
    else if (keep)
        conn_idle(c);
    else if (unread || c->tls)
        conn_linger(c, c->tls, unread);
    else
        conn_close(c, NULL);
}

/* ---- an exchange's client side ---- */

static int h1_flush(struct exchange *ex)
{
    struct conn *c = ex->conn;

    while (c->out && buf_len(c->out)) {
        ssize_t n;
        if (!c->writable)
            return GH_AGAIN;
        n = buf_write_fd(c->out, c->io.fd);
        if (n == GH_AGAIN) {
            c->writable = 0;
            return GH_AGAIN;
        }
        if (n < 0)
            return exchange_fail(ex, 0, "client write failed");
        ex->bytes_out += (uint64_t)n;
        ex->last_io = loop_now(c->w->loop);
    }
    return GH_OK;
}

static int h1_recv_body(struct exchange *ex, int fd, uint8_t *writable)
{
    struct conn *c = ex->conn;
    int eof = c->peer_eof, active = 0, rc;

    if (ex->up_h2_streams && ex->reqb.in == HTTP_BODY_CHUNKED && !ex->reqb.trailers_in) {
        ex->reqb.trailers_in = &ex->req_trailers; /* HTTP/2 carries them (h2_upstream.c) */
        ex->reqb.trailers_relay = 1;
    }
    rc = relay_pump(&ex->reqb, &c->in, c->io.fd, &c->readable, &eof, fd, writable, &ex->bytes_in,
                    &active);

    c->peer_eof = (uint8_t)eof;
    if (active)
        ex->last_io = loop_now(c->w->loop);
    return rc;
}

static int h1_send_body(struct exchange *ex, struct upconn *u)
{
    struct conn *c = ex->conn;
    int eof = u->eof, active = 0;
    int rc = relay_pump(&ex->respb, &u->in, u->io.fd, &u->readable, &eof, c->io.fd, &c->writable,
                        NULL, &active);

    u->eof = (uint8_t)eof;
    if (active)
        ex->last_io = loop_now(c->w->loop);
    return rc;
}

/* Writes what is pending in c->out and a borrowed body (a cached
 * object's memory) together, with one writev.  Returns GH_OK when both
 * are out, GH_AGAIN, GH_ERROR. */
static int write_borrowed(struct exchange *ex)
{
    struct conn *c = ex->conn;

    while (ex->local_mem_off < ex->local_mem_len) {
        struct iovec iov[2];
        int n = 0;
        size_t head = c->out ? buf_len(c->out) : 0;
        ssize_t w;

        if (!c->writable)
            return GH_AGAIN;
        if (head)
            iov[n++] = (struct iovec){buf_head(c->out), head};
        iov[n++] = (struct iovec){ex->local_mem + ex->local_mem_off,
                                  ex->local_mem_len - ex->local_mem_off};
        w = io_writev(c->io.fd, iov, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            c->writable = 0;
            return GH_AGAIN;
        }
        if (w < 0)
            return exchange_fail(ex, 0, "client write failed");
        ex->bytes_out += (uint64_t)w;
        ex->last_io = loop_now(c->w->loop);
        if ((size_t)w < head) {
            buf_consume(c->out, (size_t)w);
            continue;
        }
        if (head)
            buf_consume(c->out, head);
        ex->local_mem_off += (size_t)w - head;
    }
    return GH_OK;
}

/* Sends the next piece of a file body: sendfile(2) to a plain socket,
 * read and write through c->out under TLS.  Returns GH_OK after progress,
 * GH_AGAIN, GH_ERROR. */
static int send_file_part(struct exchange *ex)
{
    struct conn *c = ex->conn;
    ssize_t n;

    if (!c->tls) {
        if (!c->writable)
            return GH_AGAIN;
        n = sendfile(c->io.fd, ex->local_fd, NULL, (size_t)GH_MIN(ex->local_left, 1u << 20));
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            c->writable = 0;
            return GH_AGAIN;
        }
        if (n < 0 && errno == EINTR)
            return GH_OK;
        if (n <= 0)
            return exchange_fail(ex, 0,
                                 n == 0 ? "file shrank while being sent" : "client write failed");
        ex->bytes_out += (uint64_t)n;
        ex->last_io = loop_now(c->w->loop);
    } else {
        buf_compact(c->out);
        n = read(ex->local_fd, buf_tail(c->out),
                 (size_t)GH_MIN((uint64_t)buf_room(c->out), ex->local_left));
        if (n <= 0)
            return exchange_fail(ex, 0, "static file read failed");
        c->out->end += (uint32_t)n;
    }
    ex->local_left -= (uint64_t)n;
    return GH_OK;
}

static int h1_send_local(struct exchange *ex)
{
    struct conn *c = ex->conn;
    int rc;

    for (;;) {
        if (ex->local_borrowed && ex->local_mem_off < ex->local_mem_len) {
            rc = write_borrowed(ex);
            if (rc != GH_OK)
                return rc;
            continue;
        }
        rc = h1_flush(ex);
        if (rc != GH_OK)
            return rc;
        if (ex->local_mem && ex->local_mem_off < ex->local_mem_len) {
            ex->local_mem_off += buf_append(c->out, ex->local_mem + ex->local_mem_off,
                                            ex->local_mem_len - ex->local_mem_off);
            continue;
        }
        if (ex->local_fd >= 0 && ex->local_left > 0) {
            rc = send_file_part(ex);
            if (rc != GH_OK)
                return rc;
            continue;
        }
        return c->out ? GH_OK : GH_AGAIN; /* an answer always has its head there */
    }
}

static int h1_client_ended(const struct exchange *ex)
{
    return ex->conn->peer_eof;
}

static int h1_raw(struct exchange *ex, struct client_raw *r)
{
    struct conn *c = ex->conn;

    *r = (struct client_raw){c->io.fd, &c->in, &c->readable, &c->writable, &c->peer_eof};
    return GH_OK;
}

const struct proto h1_proto = {
    .name = "http/1.1",
    .version = NULL, /* the request's own: HTTP/1.0 or HTTP/1.1 */
    .drive = h1_drive,
    .expired = h1_expired,
    .abort = h1_abort,
    .flush = h1_flush,
    .recv_body = h1_recv_body,
    .send_body = h1_send_body,
    .send_local = h1_send_local,
    .client_ended = h1_client_ended,
    .raw = h1_raw,
    .ended = h1_ended,
};

/* proxy.c — a session in S_PROXY: the request head and body to the
 * upstream, the response head checked, rewritten and relayed, the response
 * body streamed back; retries on a pooled connection that died unused, and
 * failures turned into local answers.  Owns nothing: the session, its
 * buffers and its upstream connection carry all the state. */
#include "cache_xfer.h"
#include "log.h"
#include "relay.h"
#include "session.h"
#include "tls.h"
#include "tunnel.h"
#include "util.h"
#include "worker.h"

#include <errno.h>
#include <sys/socket.h>


/* An upstream connection that was idle in the pool died before answering:
 * try once more on a fresh connection if nothing of the body was sent. */
static int retry_fresh(struct session *s)
{
    struct exchange *ex = session_ex(s);

    if (!ex->up_reused || ex->retried || ex->reqb.moved > 0 || ex->resp_head_done ||
        (ex->up->in && buf_len(ex->up->in)))
        return 0;
    upstream_release(s->w->pool, ex->up, 0, 0);
    ex->up = NULL;
    ex->retried = 1;
    ex->req_head_sent = 0;
    ex->req_done = 0;
    s->state = S_RESOLVE;
    session_connect(s);
    return 1;
}

static void proxy_fail(struct session *s, int status, const char *why)
{
    struct exchange *ex = session_ex(s);

    upstream_release(s->w->pool, ex->up, 0, 0);
    ex->up = NULL;
    if (!ex->resp_head_done) {
        ex->client_close = 1;
        session_answer_error(s, status, why, NULL);
        session_drive(s);
        return;
    }
    session_close(s, why);
}

/* The upstream's answer is replaced by a local one (the front-end refused
 * it, or the cache answered): the upstream connection, mid-response, is
 * closed, and the client's too if its request was not read to the end. */
static void answer_locally(struct session *s)
{
    struct exchange *ex = session_ex(s);

    upstream_release(s->w->pool, ex->up, 0, 0);
    ex->up = NULL;
    if (!ex->req_done)
        ex->client_close = 1;
    s->state = S_LOCAL;
    s->last_io = loop_now(s->w->loop);
    session_arm(s);
}

/* An interim (1xx, not 101) response of `len` bytes at the head of the
 * upstream buffer.  RFC 9110 15.2: a proxy forwards them, except to an
 * HTTP/1.0 client, which must get none.  Also kept back: a 100 after the
 * one the client has had (gatehouse answers Expect: 100-continue itself),
 * and anything before a parent proxy's answer to CONNECT.  Never a final
 * response: neither the front-end nor the cache sees it.  Returns 1 when
 * it was taken, 0 to wait until the client takes what is queued for it
 * (so a flood of 1xx is held back by the client's pace), -1 when the
 * session moved on. */
static int relay_interim(struct session *s, size_t len)
{
    struct exchange *ex = session_ex(s);
    int rc;

    if (ex->req.minor_version >= 1 && !ex->handshake && !(ex->resp.status == 100 && ex->sent_100)) {
        if (!s->out)
            s->out = buf_get();
        if (buf_len(s->out) && (rc = session_flush(s)) <= 0)
            return rc;
        if (exchange_write_interim_head(ex, s->out) < 0) {
            buf_consume(s->out, buf_len(s->out)); /* it was empty: drop the part written */
            proxy_fail(s, 502, "upstream interim response too large");
            return -1;
        }
        ex->sent_100 |= ex->resp.status == 100;
    }
    buf_consume(ex->up->in, len);
    return 1;
}

/* Reads and parses the response head.  Returns 1 on progress, 0 to wait,
 * -1 when the session moved on (failed, retried). */
static int read_response_head(struct session *s)
{
    struct exchange *ex = session_ex(s);
    struct upconn *u = ex->up;
    int rc;

    for (;;) {
        if (u->in && buf_len(u->in)) {
            rc = http1_parse_response(buf_head(u->in), buf_len(u->in), &s->w->cfg->limits,
                                      ex->req.method.len == 4 &&
                                          memcmp(exchange_base(ex) + ex->req.method.off, "HEAD", 4) == 0,
                                      &ex->resp);
            if (rc == HTTP1_ERROR || (rc == HTTP1_PARTIAL && buf_room(u->in) == 0 && u->in->start == 0)) {
                proxy_fail(s, 502, rc == HTTP1_ERROR ? "invalid response from upstream"
                                                     : "upstream response head too large");
                return -1;
            }
            if (rc > 0) {
                if (ex->resp.status < 200) {
                    if (ex->resp.status == 101) {
                        if (!ex->upgrade) {
                            proxy_fail(s, 502, "upstream switched protocols unasked");
                            return -1;
                        }
                        ex->status = 101;
                        if (!s->out)
                            s->out = buf_get();
                        if (exchange_write_switch_head(ex, s->out) < 0) {
                            proxy_fail(s, 502, "upstream response head too large");
                            return -1;
                        }
                        buf_consume(u->in, (size_t)rc);
                        buf_put(ex->uphead);
                        ex->uphead = NULL;
                        tunnel_begin(s);
                        return -1;
                    }
                    rc = relay_interim(s, (size_t)rc);
                    if (rc <= 0)
                        return rc;
                    continue;
                }
                if (ex->handshake) {
                    /* the parent proxy's answer to our CONNECT */
                    static const char established[] =
                        "HTTP/1.1 200 Connection established\r\n\r\n";
                    if (ex->resp.status / 100 != 2) {
                        proxy_fail(s, 502, "the parent proxy refused the tunnel");
                        return -1;
                    }
                    buf_consume(u->in, (size_t)rc);
                    buf_put(ex->uphead);
                    ex->uphead = NULL;
                    if (!s->out)
                        s->out = buf_get();
                    buf_append(s->out, established, sizeof(established) - 1);
                    ex->status = 200;
                    tunnel_begin(s);
                    return -1;
                }
                if (ex->lst->fe->response) {
                    /* the front-end may refuse what the upstream sent */
                    ex->decision = DECIDE_NONE;
                    ex->lst->fe->response(ex);
                    if (ex->decision == DECIDE_LOCAL) {
                        answer_locally(s);
                        return -1;
                    }
                    ex->decision = DECIDE_FORWARD;
                }
                if (ex->cx && cache_response_head(ex)) {
                    /* answered from the cache (a 304 merged, a stale copy
                     * for a failing origin): the upstream's answer is dropped */
                    answer_locally(s);
                    return -1;
                }
                ex->status = ex->resp.status;
                if (!s->out)
                    s->out = buf_get();
                if (exchange_write_response_head(ex, s->out,
                                                 ex->client_close || !ex->req_done ||
                                                     s->w->draining) < 0) {
                    proxy_fail(s, 502, "upstream response head too large");
                    return -1;
                }
                if (ex->cx)
                    cache_body_begin(ex);
                ex->respb.prefix = s->out; /* the head leaves with the first body bytes */
                buf_consume(u->in, (size_t)rc);
                ex->resp_head_done = 1;
                buf_put(ex->uphead);
                ex->uphead = NULL;
                return 1;
            }
        }
        if (!u->readable)
            return 0;
        ssize_t n = relay_fill(&u->in, u->io.fd, &u->readable);
        if (n == GH_AGAIN)
            return 0;
        if (n <= 0) {
            u->eof = 1;
            if (retry_fresh(s))
                return -1;
            if (!(u->in && buf_len(u->in)) &&
                session_try_other(s, 1, n == 0 ? "upstream closed before responding"
                                               : "upstream read error"))
                return -1;
            proxy_fail(s, 502, n == 0 ? "upstream closed before responding" : "upstream read error");
            return -1;
        }
        s->last_io = loop_now(s->w->loop);
    }
}

void proxy_drive(struct session *s)
{
    struct exchange *ex = session_ex(s);
    int progress = 1, rc;

    while (progress && s->state == S_PROXY) {
        struct upconn *u = ex->up;
        int up_eof = u->eof, peer_eof = s->peer_eof;
        progress = 0;

        /* 1. the request head */
        if (!ex->req_head_sent) {
            while (ex->uphead_sent < buf_len(ex->uphead) && u->writable) {
                ssize_t n = io_write(u->io.fd, buf_head(ex->uphead) + ex->uphead_sent,
                                     buf_len(ex->uphead) - ex->uphead_sent);
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                    u->writable = 0;
                } else if (n < 0 && errno != EINTR) {
                    if (retry_fresh(s) || session_try_other(s, ex->uphead_sent > 0,
                                                            "upstream write failed"))
                        return;
                    proxy_fail(s, 502, "upstream write failed");
                    return;
                } else if (n > 0) {
                    ex->uphead_sent += (uint32_t)n;
                    progress = 1;
                }
            }
            if (ex->uphead_sent == buf_len(ex->uphead)) {
                ex->req_head_sent = 1;
                if (ex->reqb.in_done)
                    ex->req_done = 1;
            }
        }
        /* 2. the request body */
        if (ex->req_head_sent && !ex->req_done) {
            rc = session_pump(s, &ex->reqb, &s->in, s->io.fd, &s->readable, &peer_eof, u->io.fd,
                      &u->writable, &ex->bytes_in);
            s->peer_eof = (uint8_t)peer_eof;
            if (rc == GH_ERROR) {
                if (ex->reqb.error && strcmp(ex->reqb.error, "write failed") == 0)
                    proxy_fail(s, 502, "upstream write failed");
                else {
                    ex->client_close = 1;
                    proxy_fail(s, 400, ex->reqb.error ? ex->reqb.error : "bad request body");
                }
                return;
            }
            if (rc == GH_DONE)
                ex->req_done = 1;
            if (rc != GH_AGAIN)
                progress = 1;
            if (ex->max_body && ex->reqb.moved > ex->max_body) {
                proxy_fail(s, 413, "request body larger than max_body_bytes");
                return;
            }
        }
        /* 3. the response head */
        if (!ex->resp_head_done) {
            rc = read_response_head(s);
            if (rc < 0)
                return;
            if (rc)
                progress = 1;
        }
        /* 4. heads (ours, an interim 100) to the client; the response's
         * own head goes with its body (respb.prefix) */
        rc = ex->respb.prefix ? 1 : session_flush(s);
        if (rc < 0)
            return;
        /* 5. the response body */
        if (ex->resp_head_done && rc == 1 && !ex->resp_done) {
            uint64_t out_before = ex->respb.moved, pre_before = ex->respb.prefix_out;
            rc = session_pump(s, &ex->respb, &u->in, u->io.fd, &u->readable, &up_eof, s->io.fd,
                      &s->writable, NULL);
            u->eof = (uint8_t)up_eof;
            ex->resp_body_bytes += ex->respb.moved - out_before;
            ex->bytes_out += ex->respb.moved - out_before + (ex->respb.prefix_out - pre_before);
            if (rc == GH_ERROR) {
                session_close(s, ex->respb.error && strcmp(ex->respb.error, "write failed") == 0
                                     ? "client write failed"
                                     : ex->respb.error);
                return;
            }
            if (rc != GH_AGAIN)
                progress = 1;
            if (rc == GH_DONE)
                ex->resp_done = 1;
        }
        if (ex->resp_done) {
            if (!ex->req_done)
                ex->client_close = 1;
            session_finish(s);
            return;
        }
        if (s->peer_eof && !ex->req_done) {
            session_close(s, "client closed mid-request");
            return;
        }
    }
}


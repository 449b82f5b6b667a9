/* proxy.c — an exchange talking HTTP to its upstream (see proxy.h): the
 * request head and body to the upstream, interim answers passed on, the
 * response head checked, shown to the front-end and the cache, rewritten
 * and relayed with its body; a parent proxy's answer to our CONNECT.
 * Owns nothing: the exchange, its upstream connection and its client side
 * carry all the state. */
#include "proxy.h"
#include "cache_xfer.h"
#include "exchange_int.h"
#include "meter.h"
#include "relay.h"
#include "tls.h"
#include "util.h"
#include "worker.h"

#include <errno.h>

/* ---- the request ---- */

/* Writes the request head (kept in ex->uphead for a retry).  Returns GH_OK
 * when bytes went, GH_AGAIN when none could, GH_ERROR when the upstream
 * refused them. */
static int send_head(struct exchange *ex)
{
    struct upconn *u = ex->up;
    int rc = GH_AGAIN;

    while (ex->uphead_sent < buf_len(ex->uphead) && u->writable) {
        ssize_t n = io_write(u->io.fd, buf_head(ex->uphead) + ex->uphead_sent,
                             buf_len(ex->uphead) - ex->uphead_sent);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            u->writable = 0;
        } else if (n < 0 && errno != EINTR) {
            return exchange_fail_upstream(ex, 502, "upstream write failed",
                                          RETRY_FRESH | RETRY_OTHER, ex->uphead_sent > 0);
        } else if (n > 0) {
            ex->uphead_sent += (uint32_t)n;
            rc = GH_OK;
        }
    }
    if (ex->uphead_sent == buf_len(ex->uphead)) {
        ex->req_head_sent = 1;
        if (ex->reqb.in_done)
            ex->req_done = 1;
    }
    return rc;
}

/* Moves the request body up, within its limit.  Returns GH_DONE, GH_OK
 * after progress, GH_AGAIN, GH_ERROR. */
static int send_body(struct exchange *ex)
{
    uint64_t granted = 0;
    int rc;

    if (ex->meter) {
        if (meter_grant(ex, METER_UP, &granted) == GH_ERROR)
            return GH_ERROR;
        ex->reqb.metered = 1;
        ex->reqb.allow = granted;
    }
    /* socket to socket when nothing transforms it (relay.h); not under
     * max_body_bytes, which is checked between pumps: a pipeful could
     * overshoot it */
    ex->reqb.splice = !ex->max_body;
    rc = client_recv_body(ex, ex->up->io.fd, &ex->up->writable);
    if (ex->meter) {
        meter_charge(ex, METER_UP, granted, ex->reqb.allow);
        ex->reqb.metered = 0;
    }

    if (rc == GH_ERROR) {
        if (ex->reqb.error && strcmp(ex->reqb.error, "write failed") == 0)
            return exchange_fail(ex, 502, "upstream write failed");
        ex->client_close = 1;
        return exchange_fail(ex, 400, ex->reqb.error ? ex->reqb.error : "bad request body");
    }
    if (rc == GH_DONE)
        ex->req_done = 1;
    if (ex->max_body && ex->reqb.moved > ex->max_body)
        return exchange_fail(ex, 413, "request body larger than max_body_bytes");
    return rc;
}

/* The head and the body of the request, as far as they go.  Returns
 * GH_OK after progress, GH_AGAIN, GH_ERROR. */
static int send_request(struct exchange *ex)
{
    int progress = GH_AGAIN, rc;

    if (!ex->req_head_sent) {
        rc = send_head(ex);
        if (rc == GH_ERROR)
            return rc;
        if (rc == GH_OK)
            progress = GH_OK;
    }
    if (ex->req_head_sent && !ex->req_done) {
        rc = send_body(ex);
        if (rc == GH_ERROR)
            return rc;
        if (rc != GH_AGAIN)
            progress = GH_OK;
    }
    return progress;
}

/* ---- the response head ---- */

/* An interim (1xx, not 101) response of `len` bytes at the head of the
 * upstream buffer.  RFC 9110 15.2: a proxy forwards them, except to an
 * HTTP/1.0 client, which must get none.  Also kept back: a 100 after the
 * one the client has had (gatehouse answers Expect: 100-continue itself),
 * and anything before a parent proxy's answer to CONNECT.  Never a final
 * response: neither the front-end nor the cache sees it.  Returns GH_OK
 * when it was taken, GH_AGAIN to wait until the client takes what is
 * queued for it (so a flood of 1xx is held back by the client's pace),
 * GH_ERROR. */
static int relay_interim(struct exchange *ex, size_t len)
{
    int rc;

    if (ex->req.minor_version >= 1 && !ex->parent_tunnel &&
        !(ex->resp.status == 100 && ex->sent_100)) {
        struct buf *out = client_out(ex);
        if (buf_len(out) && (rc = client_flush(ex)) != GH_OK)
            return rc;
        if (exchange_write_interim_head(ex, out) < 0) {
            buf_consume(out, buf_len(out)); /* it was empty: drop the part written */
            return exchange_fail(ex, 502, "upstream interim response too large");
        }
        ex->sent_100 |= ex->resp.status == 100;
    }
    buf_consume(ex->up->in, len);
    return GH_OK;
}

/* Reads the upstream's answer until a final head, or a 101, is parsed in
 * ex->resp; interim heads on the way are passed on or dropped.  Returns
 * GH_OK with the head's length in *len, GH_AGAIN, or GH_ERROR. */
static int read_head(struct exchange *ex, size_t *len)
{
    struct upconn *u = ex->up;
    int rc;

    for (;;) {
        if (u->in && buf_len(u->in)) {
            rc = http1_parse_response(
                buf_head(u->in), buf_len(u->in), &ex->conn->w->cfg->limits, ex->req_is_head,
                &ex->resp);
            if (rc == HTTP1_ERROR)
                return exchange_fail(ex, 502, "invalid response from upstream");
            if (rc == HTTP1_PARTIAL && buf_room(u->in) == 0 && u->in->start == 0)
                return exchange_fail(ex, 502, "upstream response head too large");
            if (rc > 0 && (ex->resp.status >= 200 || ex->resp.status == 101)) {
                *len = (size_t)rc;
                return GH_OK;
            }
            if (rc > 0) {
                rc = relay_interim(ex, (size_t)rc);
                if (rc != GH_OK)
                    return rc;
                continue;
            }
        }
        if (!u->readable)
            return GH_AGAIN;
        ssize_t n = relay_fill(&u->in, u->io.fd, &u->readable);
        if (n == GH_AGAIN)
            return GH_AGAIN;
        if (n <= 0) {
            /* a pooled connection that died unused may be replaced; another
             * server only when no byte of an answer came */
            u->eof = 1;
            return exchange_fail_upstream(
                ex, 502, n == 0 ? "upstream closed before responding" : "upstream read error",
                RETRY_FRESH | (u->in && buf_len(u->in) ? 0 : RETRY_OTHER), 1);
        }
        ex->last_io = loop_now(ex->conn->w->loop);
    }
}

/* The answer's head of `len` bytes is used: it leaves the upstream buffer
 * and the request head we kept for a retry goes. */
static void head_taken(struct exchange *ex, size_t len)
{
    buf_consume(ex->up->in, len);
    buf_put(ex->uphead);
    ex->uphead = NULL;
}

/* A 101: the client gets the switch head; the exchange becomes a tunnel. */
static int switched(struct exchange *ex, size_t len)
{
    if (!ex->upgrade)
        return exchange_fail(ex, 502, "upstream switched protocols unasked");
    ex->status = 101;
    if (exchange_write_switch_head(ex, client_out(ex)) < 0)
        return exchange_fail(ex, 502, "upstream response head too large");
    head_taken(ex, len);
    return GH_OK;
}

/* The upstream's answer is replaced by a local one (the front-end refused
 * it, or the cache answered): the upstream connection, mid-response, is
 * closed, and the client's too if its request was not read to the end. */
static int answered_locally(struct exchange *ex)
{
    upstream_release(ex->conn->w->pool, ex->up, 0, 0);
    ex->up = NULL;
    ex->zalg = ex->zdecode = ex->zvary = 0; /* a stored answer is sent as stored */
    if (!ex->req_done)
        ex->client_close = 1;
    ex->decision = DECIDE_LOCAL;
    return GH_OK;
}

/* A final response head of `len` bytes: the front-end and the cache see
 * it, then it is rewritten for the client, to leave with the first bytes
 * of its body.  Returns GH_DONE when the body is to be relayed, GH_OK
 * when the exchange moves on (a local answer, a 101), GH_ERROR. */
static int take_head(struct exchange *ex, size_t len)
{
    struct buf *out;

    if (ex->resp.status == 101)
        return switched(ex, len);
    if (ex->lst->fe->response) {
        /* the front-end may refuse what the upstream sent */
        ex->decision = DECIDE_NONE;
        ex->lst->fe->response(ex);
        if (ex->decision == DECIDE_LOCAL)
            return answered_locally(ex);
        ex->decision = DECIDE_FORWARD;
    }
    exchange_compress_response(ex); /* before the cache, which stores what the client gets */
    if (ex->cx && cache_response_head(ex)) /* a 304 merged, a stale copy for a failing origin */
        return answered_locally(ex);
    ex->status = ex->resp.status;
    out = client_out(ex);
    if (exchange_write_response_head(
            ex, out, ex->client_close || !ex->req_done || ex->conn->w->draining) < 0)
        return exchange_fail(ex, 502, "upstream response head too large");
    if (ex->cx)
        cache_body_begin(ex);
    ex->respb.prefix = out; /* the head leaves with the first body bytes */
    head_taken(ex, len);
    ex->resp_head_done = 1;
    return GH_DONE;
}

/* ---- the steps ---- */

int proxy_parent_connect(struct exchange *ex)
{
    int progress = GH_OK, rc;
    size_t len;

    while (progress == GH_OK) {
        progress = send_request(ex); /* our CONNECT */
        if (progress == GH_ERROR)
            return GH_ERROR;
        rc = read_head(ex, &len);
        if (rc == GH_ERROR)
            return rc;
        if (rc == GH_OK) {
            if (ex->resp.status == 101)
                return switched(ex, len);
            if (ex->resp.status / 100 != 2)
                return exchange_fail(ex, 502, "the parent proxy refused the tunnel");
            head_taken(ex, len); /* the client gets its 200 as the tunnel opens */
            return GH_OK;
        }
        if (client_flush(ex) == GH_ERROR) /* an interim 100 of ours */
            return GH_ERROR;
        if (client_ended(ex) && !ex->req_done)
            return exchange_fail(ex, 0, "client closed mid-request");
    }
    return GH_AGAIN;
}

/* Relays the response body.  Returns GH_DONE, GH_OK after progress,
 * GH_AGAIN, GH_ERROR. */
static int relay_body(struct exchange *ex)
{
    uint64_t out_before = ex->respb.moved, pre_before = ex->respb.prefix_out, granted = 0;
    uint64_t z_before = ex->respb.zout;
    int rc;

    if (ex->meter) {
        if (meter_grant(ex, METER_DOWN, &granted) == GH_ERROR)
            return GH_ERROR;
        ex->respb.metered = 1;
        ex->respb.allow = granted;
    }
    rc = client_send_body(ex, ex->up);
    if (ex->meter) {
        meter_charge(ex, METER_DOWN, granted, ex->respb.allow);
        ex->respb.metered = 0;
    }
    ex->resp_body_bytes += ex->respb.moved - out_before;
    /* to the client: the encoded bytes when there is an encoder */
    ex->bytes_out += (ex->respb.z ? ex->respb.zout - z_before : ex->respb.moved - out_before) +
                     (ex->respb.prefix_out - pre_before);
    if (rc == GH_ERROR)
        return exchange_fail(ex, 0,
                             ex->respb.error && strcmp(ex->respb.error, "write failed") == 0
                                 ? "client write failed"
                                 : ex->respb.error);
    if (rc == GH_DONE)
        ex->resp_done = 1;
    return rc;
}

int proxy_step(struct exchange *ex)
{
    int progress = GH_OK, rc;
    size_t len;

    while (progress == GH_OK) {
        /* 1, 2: the request head and body */
        progress = send_request(ex);
        if (progress == GH_ERROR)
            return GH_ERROR;
        /* 3: the response head */
        if (!ex->resp_head_done) {
            rc = read_head(ex, &len);
            if (rc == GH_OK)
                rc = take_head(ex, len);
            if (rc == GH_ERROR || rc == GH_OK)
                return rc;
            if (rc == GH_DONE)
                progress = GH_OK;
        }
        /* 4: heads (ours, an interim 100) to the client; the response's
         * own head goes with its body (respb.prefix) */
        rc = ex->respb.prefix ? GH_OK : client_flush(ex);
        if (rc == GH_ERROR)
            return rc;
        /* 5: the response body */
        if (ex->resp_head_done && rc == GH_OK && !ex->resp_done) {
            rc = relay_body(ex);
            if (rc == GH_ERROR)
                return rc;
            if (rc != GH_AGAIN)
                progress = GH_OK;
        }
        if (ex->resp_done) {
            if (!ex->req_done)
                ex->client_close = 1;
            return GH_DONE;
        }
        if (client_ended(ex) && !ex->req_done)
            return exchange_fail(ex, 0, "client closed mid-request");
    }
    return GH_AGAIN;
}

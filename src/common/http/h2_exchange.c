/* h2_exchange.c — an exchange's client side over HTTP/2 (the proto hooks
 * of conn.h, for h2.c's h2_proto): the exchange of a request stream
 * begun, its request head parsed by http1.c like any client's, its body
 * taken from the stream's DATA (each byte that goes upstream opening the
 * client's window by one), and its answers, written by the core in
 * HTTP/1 form into the stream's buffer, handed to nghttp2 (heads as
 * HEADERS, bodies as DATA as the windows allow, trailers last).  Owns
 * nothing: the stream is h2_session.c's, the exchange the driver's. */
#include "exchange_int.h"
#include "h2_int.h"
#include "relay.h"
#include "util.h"
#include "worker.h"

#include <unistd.h>

static struct h2_stream *stream(const struct exchange *ex)
{
    return ex->client_stream;
}

/* ---- beginning ---- */

/* A request that cannot go on (refused by the translation, or by the
 * HTTP/1 rules) is answered on its stream. */
static void refuse(struct exchange *ex, int status, const char *why)
{
    ex->cfg = config_ref(ex->conn->w->cfg);
    ex->lst = config_listener(ex->cfg, ex->conn->lname);
    gh_fmt(ex->log_req, sizeof(ex->log_req), "-");
    ex->client_close = 1; /* its body, if one comes, is not read: the stream is reset */
    exchange_error(ex, status, why);
    ex->reqb.done = 0;
}

void h2_begin(struct h2conn *h, struct h2_stream *st)
{
    struct conn *c = h->c;
    struct exchange *ex = exchange_get(c);
    const struct http_head *r = &ex->req;
    int rc = HTTP1_ERROR;

    ex->cin = &st->head;
    ex->cout = &st->out;
    ex->client_stream = st;
    st->user = ex;
    ex->start_ms = st->start_ms;
    ex->bytes_in = st->bytes_in;
    atomic_fetch_add_explicit(&c->w->stats.h2_streams, 1, memory_order_relaxed);
    if (!st->refuse && st->head)
        rc = http1_parse_request(buf_head(st->head), buf_len(st->head), &c->w->cfg->limits,
                                 &ex->req);
    if (st->refuse)
        refuse(ex, st->refuse, st->refuse_why);
    else if (rc <= 0)
        refuse(ex, r->error_status ? r->error_status : 400,
               r->error ? r->error : "malformed request");
    else if (r->framing == HTTP_BODY_LENGTH)
        body_init(&ex->reqb, HTTP_BODY_LENGTH, r->content_length, 0);
    else if (r->framing == HTTP_BODY_CHUNKED) /* DATA to the end of the stream, chunked on */
        body_init(&ex->reqb, HTTP_BODY_CLOSE, 0, 1);
    else
        body_init(&ex->reqb, HTTP_BODY_NONE, 0, 0);
    ex->te_trailers = st->te_trailers;
    exchange_start(ex);
}

/* ---- the client side ---- */

/* Interim heads (a 100 Continue, a 103) go as HEADERS; a final head waits
 * for send_body or send_local. */
int h2_flush(struct exchange *ex)
{
    struct h2_stream *st = stream(ex);

    if (!st->out || !buf_len(st->out) || st->resp_final)
        return GH_OK;
    if (h2_stream_interim(st) == GH_ERROR)
        return exchange_fail(ex, 0, "an interim head cannot go over HTTP/2");
    h2_kick(ex->conn->proto_state);
    return GH_OK;
}

int h2_recv_body(struct exchange *ex, int fd, uint8_t *writable)
{
    struct h2_stream *st = stream(ex);
    struct buf none = {0}, *src = st->body ? st->body : &none;
    size_t had = buf_len(src), taken;
    int blocked = 0, rc;
    unsigned hold;

    if (st->trailers && !ex->req_trailers) { /* they came with END_STREAM */
        ex->req_trailers = st->trailers;
        st->trailers = NULL;
    }
    ex->reqb.trailers_out = ex->req_trailers;
    ex->bytes_in = st->bytes_in;
    if (fd >= 0 && writable && !*writable && !ex->reqb.in_done && had)
        return GH_AGAIN;
    /* A body with a content-length keeps its last byte until END_STREAM
     * says the DATA matched: an upstream never gets a whole request whose
     * client then sent more (nghttp2 resets that stream) */
    hold = ex->reqb.in == HTTP_BODY_LENGTH && !st->in_end && ex->reqb.left && had >= ex->reqb.left;
    src->end -= hold;
    rc = body_pump(&ex->reqb, src, st->in_end, fd, &blocked);
    src->end += hold;
    taken = had - buf_len(src);
    if (taken) {
        h2_stream_consume(st, taken); /* the window opens as the body goes */
        ex->last_io = loop_now(ex->conn->w->loop);
        h2_kick(ex->conn->proto_state);
    }
    if (st->body && !buf_len(st->body)) {
        buf_put(st->body);
        st->body = NULL;
    }
    if (blocked && writable)
        *writable = 0;
    if (rc == GH_DONE || rc == GH_ERROR)
        return rc;
    return taken ? GH_OK : GH_AGAIN;
}

/* The response head (in st->out, as the body's prefix) goes as HEADERS;
 * the body is decoded from the upstream into st->out (no chunking: HTTP/2
 * frames it), its trailers kept; the exchange is done once the whole body
 * is in st->out, which the stream sends on by itself. */
int h2_send_body(struct exchange *ex, struct upconn *u)
{
    struct h2_stream *st = stream(ex);
    struct h2conn *h = ex->conn->proto_state;
    int eof = u->eof, active = 0, rc;
    uint8_t room = 1;

    if (!st->resp_final) {
        size_t head = st->out ? buf_len(st->out) : 0;
        ex->respb.prefix = NULL;
        ex->respb.chunk_out = 0;
        ex->respb.trailers_in = &ex->resp_trailers;
        if (h2_stream_respond(st, ex->req_is_head, !ex->respb.in_done) != GH_OK) {
            ex->respb.error = "response head cannot go over HTTP/2";
            return GH_ERROR;
        }
        ex->bytes_out += head;
        ex->respb.sink = st->out ? st->out : (st->out = buf_get());
        h2_kick(h);
    }
    rc = relay_pump(&ex->respb, &u->in, u->io.fd, &u->readable, &eof, -1, &room, NULL, &active);
    u->eof = (uint8_t)eof;
    if (active) {
        ex->last_io = loop_now(ex->conn->w->loop);
        h2_stream_more(st);
        h2_kick(h);
    }
    if (rc == GH_DONE) {
        h2_stream_end(st, ex->resp_trailers);
        h2_kick(h);
    }
    return rc;
}

/* Moves what it can of a local body (memory, a file) into st->out.
 * Returns 1 once all of it is there. */
static int fill_local(struct exchange *ex, struct h2_stream *st)
{
    for (;;) {
        size_t room;
        if (buf_room(st->out) < BUF_SIZE / 4)
            buf_compact(st->out);
        room = buf_room(st->out);
        if (ex->local_mem && ex->local_mem_off < ex->local_mem_len) {
            if (!room)
                return 0;
            ex->local_mem_off += buf_append(st->out, ex->local_mem + ex->local_mem_off,
                                            ex->local_mem_len - ex->local_mem_off);
        } else if (ex->local_fd >= 0 && ex->local_left > 0) {
            ssize_t n;
            if (!room)
                return 0;
            n = read(ex->local_fd, buf_tail(st->out), (size_t)GH_MIN((uint64_t)room, ex->local_left));
            if (n <= 0) {
                ex->local_left = 0;
                return -1;
            }
            st->out->end += (uint32_t)n;
            ex->local_left -= (uint64_t)n;
        } else {
            return 1;
        }
    }
}

int h2_send_local(struct exchange *ex)
{
    struct h2_stream *st = stream(ex);
    struct h2conn *h = ex->conn->proto_state;
    size_t before;
    int rc;

    if (!st->resp_final) {
        int more = (ex->local_mem && ex->local_mem_off < ex->local_mem_len) ||
                   (ex->local_fd >= 0 && ex->local_left > 0);
        size_t head = st->out ? buf_len(st->out) : 0;
        if (h2_stream_respond(st, ex->req_is_head, more) != GH_OK)
            return exchange_fail(ex, 0, "answer head cannot go over HTTP/2");
        ex->bytes_out += head - (st->out ? buf_len(st->out) : 0);
        h2_kick(h);
    }
    if (!st->body_end) {
        if (!st->out)
            st->out = buf_get();
        before = buf_len(st->out);
        rc = fill_local(ex, st);
        if (rc < 0)
            return exchange_fail(ex, 0, "static file read failed");
        ex->bytes_out += buf_len(st->out) - before;
        if (rc == 1)
            h2_stream_end(st, NULL);
        if (buf_len(st->out) != before || rc == 1) {
            ex->last_io = loop_now(ex->conn->w->loop);
            h2_stream_more(st);
            h2_kick(h);
        }
        if (!st->body_end)
            return GH_AGAIN;
    }
    if (!ex->reqb.done) /* the rest of the request is not read: the stream is reset after */
        ex->client_close = 1;
    return GH_OK;
}

int h2_client_ended(const struct exchange *ex)
{
    const struct h2_stream *st = stream(ex);

    return st->closed || (ex->conn->peer_eof && !st->in_end);
}

/* A stream is no byte stream of its own here: no tunnels over HTTP/2. */
int h2_raw(struct exchange *ex, struct client_raw *r)
{
    GH_UNUSED(ex);
    GH_UNUSED(r);
    return GH_ERROR;
}

/* The exchange is over: its stream goes on alone (sending what st->out
 * holds), or is reset when the answer was cut short. */
void h2_ended(struct exchange *ex)
{
    struct h2_stream *st = stream(ex);
    struct conn *c = ex->conn;
    enum exchange_end end = ex->end;

    ex->client_stream = NULL;
    exchange_put(ex);
    st->user = NULL;
    if (c->state == C_CLOSED) /* its connection's end: the session frees the stream */
        return;
    if (end != END_DONE || !st->body_end)
        h2_stream_reset(st, NGHTTP2_INTERNAL_ERROR);
    h2_stream_release(st);
    h2_kick(c->proto_state);
}

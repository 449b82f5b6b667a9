/* h2_session.c — HTTP/2 for one client connection on libnghttp2 (see
 * h2_session.h): the session, its callbacks, the streams and the guards.
 * Owns the nghttp2 session and the stream structs with their buffers;
 * the bytes to and from the socket, and the exchanges, are its owner's
 * (h2.c).  nghttp2's callbacks only record and queue: nothing outside
 * this file runs inside them but the owner's `abuse` and `malformed`. */
#include "h2_session.h"
#include "h2_conf.h"
#include "util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define RESET_WINDOW_MS H2_BUDGET_WINDOW_MS
#define FINAL_GOAWAY_MS 1000u /* a shutdown notice's PING left unanswered that long */
#define BOMB_FACTOR 4u        /* a header block past this many times the limit is abuse */
static const uint8_t drain_ping[8] = "gh-drain";

/* Events of one kind counted over a window of H2_BUDGET_WINDOW_MS. */
struct budget {
    uint64_t since;
    uint32_t n;
};

struct h2_session {
    nghttp2_session *ng;
    struct h2_limits lim;
    const struct h2_session_hooks *hooks;
    void *owner;
    uint64_t now;
    struct buf *out;                  /* h2_session_send's destination while it runs */
    uint8_t out_full;                 /* a callback found it full */
    struct h2_stream *streams;        /* alive */
    unsigned nstreams;
    struct h2_stream *qhead, *qtail;  /* for the owner's attention */
    struct budget resets, settings, pings, priorities, empties;
    uint32_t continuations;           /* CONTINUATIONs in the header block being read */
    uint64_t block_bytes;             /* its bytes on the wire */
    uint64_t settings_sent;           /* our SETTINGS await their ACK since; 0 acked */
    uint64_t stall_since;             /* the connection's window at zero with data waiting */
    uint8_t shutdown;                 /* 1: notice sent, PING out; 2: final GOAWAY */
    uint64_t final_at;                /* shutdown 1: the final GOAWAY goes by then */
    const char *error;
};

static nghttp2_session_callbacks *callbacks;
static pthread_once_t callbacks_once = PTHREAD_ONCE_INIT;

/* ---- streams ---- */

static void enqueue(struct h2_session *s, struct h2_stream *st)
{
    if (st->queued)
        return;
    st->queued = 1;
    st->qnext = NULL;
    if (s->qtail)
        s->qtail->qnext = st;
    else
        s->qhead = st;
    s->qtail = st;
}

static struct h2_stream *stream_of(struct h2_session *s, int32_t id)
{
    return id > 0 ? nghttp2_session_get_stream_user_data(s->ng, id) : NULL;
}

static void free_stream(struct h2_session *s, struct h2_stream *st)
{
    if (st->prev)
        st->prev->next = st->next;
    else
        s->streams = st->next;
    if (st->next)
        st->next->prev = st->prev;
    s->nstreams--;
    if (!st->closed)
        nghttp2_session_set_stream_user_data(s->ng, st->id, NULL);
    h2_reqhead_clear(&st->rh);
    buf_put(st->rh.out);
    buf_put(st->head);
    buf_put(st->body);
    buf_put(st->out);
    buf_put(st->trailers);
    buf_put(st->resp_trailers);
    free(st);
}

/* ---- guards ---- */

/* One more event of a kind: whether it goes past the budget. */
static int over(struct h2_session *s, struct budget *b, uint32_t budget)
{
    if (s->now - b->since >= RESET_WINDOW_MS) {
        b->since = s->now;
        b->n = 0;
    }
    return ++b->n > budget;
}

/* Abuse: counted and logged by the owner, and the connection ends with
 * GOAWAY(ENHANCE_YOUR_CALM).  Returns what stops nghttp2 reading on. */
static int trip(struct h2_session *s, enum stats_h2_abuse kind, const char *detail)
{
    s->hooks->abuse(s->owner, kind, detail);
    nghttp2_session_terminate_session(s->ng, NGHTTP2_ENHANCE_YOUR_CALM);
    if (!s->error)
        s->error = detail;
    return NGHTTP2_ERR_CALLBACK_FAILURE;
}

/* A malformed request: the stream is reset (PROTOCOL_ERROR) and nothing
 * of it goes anywhere. */
static int malformed(struct h2_session *s, struct h2_stream *st, const char *why)
{
    s->hooks->malformed(s->owner, st->id, why);
    nghttp2_submit_rst_stream(s->ng, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_PROTOCOL_ERROR);
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
}

/* Frame headers, before their payload: what the budgets count. */
static int on_begin_frame(nghttp2_session *ng, const nghttp2_frame_hd *hd, void *ud)
{
    struct h2_session *s = ud;
    const struct h2_limits *l = &s->lim;
    int empty = hd->length == 0 && !(hd->flags & NGHTTP2_FLAG_END_STREAM);

    GH_UNUSED(ng);
    switch (hd->type) {
    case NGHTTP2_HEADERS:
        s->continuations = 0;
        s->block_bytes = hd->length;
        if (empty && over(s, &s->empties, l->flood_budget))
            return trip(s, H2_EMPTY_FRAMES, "empty HEADERS frames past flood_budget");
        break;
    case NGHTTP2_CONTINUATION:
        s->block_bytes += hd->length;
        if (++s->continuations > l->max_continuations)
            return trip(s, H2_CONTINUATION_FLOOD,
                        "more CONTINUATION frames after one HEADERS than max_continuations");
        if (s->block_bytes > (uint64_t)BOMB_FACTOR * l->max_head)
            return trip(s, H2_CONTINUATION_FLOOD,
                        "a header block over 4 times max_header_bytes");
        break;
    case NGHTTP2_DATA:
        if (empty && over(s, &s->empties, l->flood_budget))
            return trip(s, H2_EMPTY_FRAMES, "empty DATA frames past flood_budget");
        break;
    case NGHTTP2_SETTINGS:
        if (!(hd->flags & NGHTTP2_FLAG_ACK) && over(s, &s->settings, l->flood_budget))
            return trip(s, H2_SETTINGS_FLOOD, "SETTINGS frames past flood_budget");
        break;
    case NGHTTP2_PING:
        if (!(hd->flags & NGHTTP2_FLAG_ACK) && over(s, &s->pings, l->flood_budget))
            return trip(s, H2_PING_FLOOD, "PING frames past flood_budget");
        break;
    case NGHTTP2_PRIORITY:
        if (over(s, &s->priorities, l->flood_budget))
            return trip(s, H2_PRIORITY_FLOOD, "PRIORITY frames past flood_budget");
        break;
    case NGHTTP2_RST_STREAM:
        if (over(s, &s->resets, l->reset_budget))
            return trip(s, H2_RAPID_RESET, "RST_STREAM frames past reset_budget (rapid reset)");
        break;
    }
    return 0;
}

/* ---- requests ---- */

static int on_begin_headers(nghttp2_session *ng, const nghttp2_frame *frame, void *ud)
{
    struct h2_session *s = ud;
    struct h2_stream *st;

    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    st = xcalloc(1, sizeof(*st));
    st->id = frame->hd.stream_id;
    st->s = s;
    st->start_ms = s->now;
    st->next = s->streams;
    if (st->next)
        st->next->prev = st;
    s->streams = st;
    s->nstreams++;
    nghttp2_session_set_stream_user_data(ng, st->id, st);
    return 0;
}

static int on_header(nghttp2_session *ng, const nghttp2_frame *frame, nghttp2_rcbuf *name,
                     nghttp2_rcbuf *value, uint8_t flags, void *ud)
{
    struct h2_session *s = ud;
    struct h2_stream *st = stream_of(s, frame->hd.stream_id);
    const char *why;
    int rc = 0;

    GH_UNUSED(ng);
    GH_UNUSED(flags);
    if (!st || frame->hd.type != NGHTTP2_HEADERS)
        return 0;
    if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
        rc = h2_reqhead_field(&st->rh, name, value);
        why = st->rh.error;
    } else { /* trailers */
        nghttp2_vec n = nghttp2_rcbuf_get_buf(name), v = nghttp2_rcbuf_get_buf(value);
        st->rh.decoded += (uint32_t)(n.len + v.len);
        rc = h2_trailer_field(&st->trailers, n.base, n.len, v.base, v.len, &why);
    }
    if (st->rh.decoded > BOMB_FACTOR * s->lim.max_head)
        return trip(s, H2_HPACK_BOMB, "a header block decoding to over 4 times max_header_bytes");
    return rc < 0 ? malformed(s, st, why) : 0;
}

/* A field nghttp2 finds invalid (a control byte or edge whitespace in a
 * value, a bad name) would be dropped silently: it is a stream error. */
static int on_invalid_header(nghttp2_session *ng, const nghttp2_frame *frame, nghttp2_rcbuf *name,
                             nghttp2_rcbuf *value, uint8_t flags, void *ud)
{
    struct h2_session *s = ud;
    struct h2_stream *st = stream_of(s, frame->hd.stream_id);

    GH_UNUSED(ng);
    GH_UNUSED(name);
    GH_UNUSED(value);
    GH_UNUSED(flags);
    if (!st)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    return malformed(s, st, "an invalid field name or value (RFC 9113 8.2.1)");
}

/* nghttp2 reset a stream itself for its HTTP rules (pseudo-fields,
 * connection-specific fields, content-length against DATA): counted. */
static int on_invalid_frame(nghttp2_session *ng, const nghttp2_frame *frame, int lib_error,
                            void *ud)
{
    struct h2_session *s = ud;

    GH_UNUSED(ng);
    if (lib_error == NGHTTP2_ERR_HTTP_HEADER)
        s->hooks->malformed(s->owner, frame->hd.stream_id, "a field against HTTP/2's rules");
    else if (lib_error == NGHTTP2_ERR_HTTP_MESSAGING)
        s->hooks->malformed(s->owner, frame->hd.stream_id,
                            "a request against HTTP/2's rules (pseudo-fields, content-length)");
    return 0;
}

/* The request's fields are in: its HTTP/1.1 head is complete. */
static int request_done(struct h2_session *s, struct h2_stream *st, int end_stream)
{
    if (h2_reqhead_end(&st->rh, !end_stream) < 0)
        return malformed(s, st, st->rh.error);
    st->te_trailers = st->rh.te_trailers;
    if (st->rh.connect) {
        st->refuse = 501;
        st->refuse_why = "CONNECT over HTTP/2 is not supported";
    } else if (st->rh.overflow) {
        st->refuse = 431;
        st->refuse_why = "request head too large";
    }
    st->head = st->rh.out;
    st->rh.out = NULL;
    h2_reqhead_clear(&st->rh);
    st->head_done = 1;
    enqueue(s, st);
    return 0;
}

static int on_frame_recv(nghttp2_session *ng, const nghttp2_frame *frame, void *ud)
{
    struct h2_session *s = ud;
    struct h2_stream *st = stream_of(s, frame->hd.stream_id);
    int end = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;

    GH_UNUSED(ng);
    switch (frame->hd.type) {
    case NGHTTP2_HEADERS:
        if (!st)
            break;
        st->bytes_in += s->block_bytes;
        if (frame->headers.cat == NGHTTP2_HCAT_REQUEST && request_done(s, st, end) != 0)
            return 0; /* reset: the stream closes */
        break;
    case NGHTTP2_SETTINGS:
        if (frame->hd.flags & NGHTTP2_FLAG_ACK)
            s->settings_sent = 0;
        break;
    case NGHTTP2_PING:
        if ((frame->hd.flags & NGHTTP2_FLAG_ACK) && s->shutdown == 1 &&
            memcmp(frame->ping.opaque_data, drain_ping, 8) == 0)
            h2_session_shutdown(s, 1);
        break;
    }
    if (st && end && (frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA)) {
        st->in_end = 1;
        enqueue(s, st);
    }
    return 0;
}

/* Request DATA: into the stream's buffer, within its window.  The
 * connection's window opens at once (the bytes are held per stream, each
 * bounded by its own window); the stream's as they go upstream. */
static int on_data(nghttp2_session *ng, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
                   void *ud)
{
    struct h2_session *s = ud;
    struct h2_stream *st = stream_of(s, id);

    GH_UNUSED(flags);
    nghttp2_session_consume_connection(ng, len);
    if (!st || st->released || st->refuse || !st->head_done) {
        nghttp2_session_consume_stream(ng, id, len); /* read away */
        return 0;
    }
    st->bytes_in += len;
    if (!st->body)
        st->body = s->lim.stream_window > BUF_SIZE ? buf_get_big() : buf_get();
    if (buf_room(st->body) < len)
        buf_compact(st->body);
    if (buf_room(st->body) < len) { /* past its window: nghttp2 would have refused it */
        nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, id, NGHTTP2_FLOW_CONTROL_ERROR);
        return 0;
    }
    buf_append(st->body, data, len);
    enqueue(s, st);
    return 0;
}

static int on_stream_close(nghttp2_session *ng, int32_t id, uint32_t code, void *ud)
{
    struct h2_session *s = ud;
    struct h2_stream *st = stream_of(s, id);

    GH_UNUSED(ng);
    if (!st)
        return 0;
    st->closed = 1;
    st->error_code = code;
    if (st->user || st->queued)
        enqueue(s, st);
    else
        free_stream(s, st);
    return 0;
}

/* ---- sending ---- */

static ssize_t on_send(nghttp2_session *ng, const uint8_t *data, size_t len, int flags, void *ud)
{
    struct h2_session *s = ud;
    size_t n;

    GH_UNUSED(ng);
    GH_UNUSED(flags);
    if (buf_room(s->out) < len)
        buf_compact(s->out);
    n = buf_append(s->out, data, len);
    if (n == 0) {
        s->out_full = 1;
        return NGHTTP2_ERR_WOULDBLOCK;
    }
    return (ssize_t)n;
}

/* A DATA frame, its bytes taken straight from the stream's response
 * buffer (NGHTTP2_DATA_FLAG_NO_COPY): one copy, into the output. */
static int on_send_data(nghttp2_session *ng, nghttp2_frame *frame, const uint8_t *framehd,
                        size_t len, nghttp2_data_source *source, void *ud)
{
    struct h2_session *s = ud;
    struct h2_stream *st = source->ptr;

    GH_UNUSED(ng);
    GH_UNUSED(frame);
    if (buf_room(s->out) < 9 + len)
        buf_compact(s->out);
    if (buf_room(s->out) < 9 + len) {
        s->out_full = 1;
        return NGHTTP2_ERR_WOULDBLOCK;
    }
    buf_append(s->out, framehd, 9);
    if (len) {
        buf_append(s->out, buf_head(st->out), len);
        buf_consume(st->out, len);
    }
    enqueue(s, st); /* room in its buffer */
    return 0;
}

/* The data provider: how much of the response buffer goes in the next
 * DATA frame (nghttp2 asks only within the client's windows); nothing
 * yet defers the stream until h2_stream_more. */
static ssize_t read_body(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t len,
                         uint32_t *flags, nghttp2_data_source *source, void *ud)
{
    struct h2_session *s = ud;
    struct h2_stream *st = source->ptr;
    size_t avail = st->out ? buf_len(st->out) : 0, n = GH_MIN(len, avail);
    nghttp2_nv nv[64];
    size_t k;

    GH_UNUSED(buf);
    if (n == 0 && !st->body_end) {
        st->deferred = 1;
        return NGHTTP2_ERR_DEFERRED;
    }
    *flags |= NGHTTP2_DATA_FLAG_NO_COPY;
    if (n == avail && st->body_end) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        st->eof_sent = 1;
        enqueue(s, st);
        if (st->resp_trailers && (k = h2_trailers_nv(st->resp_trailers, nv, 64)) > 0 &&
            nghttp2_submit_trailer(ng, id, nv, k) == 0)
            *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
    }
    return (ssize_t)n;
}

static int on_frame_send(nghttp2_session *ng, const nghttp2_frame *frame, void *ud)
{
    struct h2_session *s = ud;
    struct h2_stream *st;

    if (!(frame->hd.flags & NGHTTP2_FLAG_END_STREAM) ||
        (frame->hd.type != NGHTTP2_DATA && frame->hd.type != NGHTTP2_HEADERS) ||
        !(st = stream_of(s, frame->hd.stream_id)))
        return 0;
    st->end_sent = 1;
    if (st->rst_after_end) /* the response is whole: the client may stop sending */
        nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_NO_ERROR);
    return 0;
}

static void callbacks_init(void)
{
    nghttp2_session_callbacks *cb;

    if (nghttp2_session_callbacks_new(&cb) != 0)
        abort();
    nghttp2_session_callbacks_set_send_callback(cb, on_send);
    nghttp2_session_callbacks_set_send_data_callback(cb, on_send_data);
    nghttp2_session_callbacks_set_on_begin_frame_callback(cb, on_begin_frame);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback2(cb, on_header);
    nghttp2_session_callbacks_set_on_invalid_header_callback2(cb, on_invalid_header);
    nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cb, on_invalid_frame);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_frame_send);
    callbacks = cb;
}

/* ---- the session ---- */

struct h2_session *h2_session_new(const struct h2_limits *lim, const struct h2_session_hooks *hooks,
                                  void *owner, nghttp2_mem *mem, uint64_t now)
{
    struct h2_session *s = xcalloc(1, sizeof(*s));
    nghttp2_option *opt;
    uint32_t conn_window = (uint32_t)GH_MIN((uint64_t)GH_MIN(lim->max_streams, 16u) *
                                                lim->stream_window,
                                            (uint64_t)NGHTTP2_MAX_WINDOW_SIZE);
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, lim->max_streams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, lim->stream_window},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, lim->max_head},
    };

    pthread_once(&callbacks_once, callbacks_init);
    s->lim = *lim;
    s->hooks = hooks;
    s->owner = owner;
    s->now = now;
    if (nghttp2_option_new(&opt) != 0)
        abort();
    /* windows open as the owner takes bodies (h2_stream_consume) */
    nghttp2_option_set_no_auto_window_update(opt, 1);
    nghttp2_option_set_no_closed_streams(opt, 1);
    /* nghttp2's own limits stay as a backstop behind the budgets above,
     * which name what tripped them */
    nghttp2_option_set_max_continuations(opt, lim->max_continuations + 1);
    nghttp2_option_set_stream_reset_rate_limit(opt, 2 * (uint64_t)lim->reset_budget + 10,
                                               lim->reset_budget);
    if (nghttp2_session_server_new3(&s->ng, callbacks, s, opt, mem) != 0)
        abort();
    nghttp2_option_del(opt);
    nghttp2_submit_settings(s->ng, NGHTTP2_FLAG_NONE, iv, GH_ARRAY_LEN(iv));
    if (conn_window > NGHTTP2_INITIAL_CONNECTION_WINDOW_SIZE)
        nghttp2_session_set_local_window_size(s->ng, NGHTTP2_FLAG_NONE, 0, (int32_t)conn_window);
    s->settings_sent = now ? now : 1;
    return s;
}

void h2_session_free(struct h2_session *s)
{
    if (!s)
        return;
    while (s->streams)
        free_stream(s, s->streams);
    nghttp2_session_del(s->ng);
    free(s);
}

int h2_session_recv(struct h2_session *s, const char *p, size_t n, uint64_t now)
{
    ssize_t rv;

    s->now = now;
    rv = nghttp2_session_mem_recv(s->ng, (const uint8_t *)p, n);
    if (rv >= 0)
        return GH_OK;
    if (rv == NGHTTP2_ERR_FLOODED)
        s->hooks->abuse(s->owner, H2_PING_FLOOD, "PING and SETTINGS ACKs pile up unread");
    if (!s->error)
        s->error = rv == NGHTTP2_ERR_BAD_CLIENT_MAGIC ? "not HTTP/2 (no client preface)"
                   : rv == NGHTTP2_ERR_FLOODED        ? "ACKs pile up unread"
                                                      : nghttp2_strerror((int)rv);
    return GH_ERROR;
}

/* After a send: which windows hold data back at zero, and since when. */
static void watch_windows(struct h2_session *s)
{
    int waiting = 0;

    for (struct h2_stream *st = s->streams; st; st = st->next) {
        int w = st->resp_final && !st->eof_sent && !st->closed && st->out && buf_len(st->out);
        waiting |= w;
        if (w && nghttp2_session_get_stream_remote_window_size(s->ng, st->id) <= 0) {
            if (!st->stall_since)
                st->stall_since = s->now;
        } else {
            st->stall_since = 0;
        }
    }
    if (waiting && nghttp2_session_get_remote_window_size(s->ng) <= 0) {
        if (!s->stall_since)
            s->stall_since = s->now;
    } else {
        s->stall_since = 0;
    }
}

int h2_session_send(struct h2_session *s, struct buf *out)
{
    int rv;

    s->out = out;
    s->out_full = 0;
    rv = nghttp2_session_send(s->ng);
    s->out = NULL;
    if (rv != 0) {
        if (!s->error)
            s->error = nghttp2_strerror(rv);
        return GH_ERROR;
    }
    watch_windows(s);
    return s->out_full ? GH_AGAIN : GH_OK;
}

struct h2_stream *h2_session_next(struct h2_session *s)
{
    struct h2_stream *st;

    while ((st = s->qhead) != NULL) {
        s->qhead = st->qnext;
        if (!s->qhead)
            s->qtail = NULL;
        st->queued = 0;
        if (st->closed && !st->user) {
            free_stream(s, st); /* closed before its owner took it, or after */
            continue;
        }
        if (st->released)
            continue;
        return st;
    }
    return NULL;
}

struct h2_stream *h2_session_streams(const struct h2_session *s)
{
    return s->streams;
}

unsigned h2_session_nstreams(const struct h2_session *s)
{
    return s->nstreams;
}

int h2_session_alive(const struct h2_session *s)
{
    return nghttp2_session_want_read(s->ng) || nghttp2_session_want_write(s->ng);
}

const char *h2_session_error(const struct h2_session *s)
{
    return s->error;
}

void h2_session_shutdown(struct h2_session *s, int now_final)
{
    if (s->shutdown >= 2)
        return;
    if (now_final || s->shutdown == 1) {
        nghttp2_submit_goaway(s->ng, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(s->ng),
                              NGHTTP2_NO_ERROR, NULL, 0);
        s->shutdown = 2;
        return;
    }
    /* GOAWAY(2^31-1) first, then the real one a round trip later, so that
     * requests already on their way are not refused (RFC 9113 6.8) */
    nghttp2_submit_shutdown_notice(s->ng);
    nghttp2_submit_ping(s->ng, NGHTTP2_FLAG_NONE, drain_ping);
    s->shutdown = 1;
    s->final_at = s->now + FINAL_GOAWAY_MS;
}

uint64_t h2_session_deadline(const struct h2_session *s)
{
    uint64_t d = UINT64_MAX;

    if (s->settings_sent)
        d = s->settings_sent + s->lim.settings_timeout;
    if (s->shutdown == 1)
        d = GH_MIN(d, s->final_at);
    if (s->stall_since)
        d = GH_MIN(d, s->stall_since + s->lim.send_timeout);
    for (const struct h2_stream *st = s->streams; st; st = st->next)
        if (st->stall_since)
            d = GH_MIN(d, st->stall_since + s->lim.send_timeout);
    return d;
}

void h2_session_expire(struct h2_session *s, uint64_t now)
{
    s->now = now;
    if (s->settings_sent && now >= s->settings_sent + s->lim.settings_timeout) {
        s->settings_sent = 0;
        s->hooks->abuse(s->owner, H2_SETTINGS_TIMEOUT, "no SETTINGS ACK within settings_timeout");
        nghttp2_session_terminate_session(s->ng, NGHTTP2_SETTINGS_TIMEOUT);
        s->error = "no SETTINGS ACK in time";
        return;
    }
    if (s->stall_since && now >= s->stall_since + s->lim.send_timeout) {
        s->stall_since = 0;
        s->hooks->abuse(s->owner, H2_WINDOW_STALL,
                        "the connection's window stayed at zero with data waiting");
        nghttp2_session_terminate_session(s->ng, NGHTTP2_ENHANCE_YOUR_CALM);
        s->error = "connection window held at zero";
        return;
    }
    for (struct h2_stream *st = s->streams; st; st = st->next)
        if (st->stall_since && now >= st->stall_since + s->lim.send_timeout) {
            st->stall_since = 0;
            s->hooks->abuse(s->owner, H2_WINDOW_STALL,
                            "a stream's window stayed at zero with data waiting; reset");
            h2_stream_reset(st, NGHTTP2_CANCEL);
        }
    if (s->shutdown == 1 && now >= s->final_at)
        h2_session_shutdown(s, 1);
}

/* ---- a stream, for its owner ---- */

/* Submits the heads at the start of st->out: interim ones, and the final
 * one unless `interim_only`. */
static int submit_heads(struct h2_stream *st, int req_is_head, int more, int interim_only)
{
    nghttp2_nv nv[HTTP1_MAX_HEADERS + 1];
    nghttp2_data_provider prd = {.source.ptr = st, .read_callback = read_body};
    char status[4];
    size_t n;
    int code, len, body;

    while (!st->resp_final && st->out && buf_len(st->out)) {
        len = h2_resphead_nv(buf_head(st->out), buf_len(st->out), req_is_head, nv,
                             GH_ARRAY_LEN(nv), &n, &code, status);
        if (len <= 0 || code == 101)
            return GH_ERROR; /* the core writes heads whole; never a 101 over HTTP/2 */
        if (code >= 200 && interim_only)
            return GH_AGAIN;
        if (code < 200) {
            if (nghttp2_submit_headers(st->s->ng, NGHTTP2_FLAG_NONE, st->id, NULL, nv, n, NULL) <
                0)
                return GH_ERROR;
            buf_consume(st->out, (size_t)len);
            continue;
        }
        buf_consume(st->out, (size_t)len);
        body = buf_len(st->out) > 0 || more;
        if (nghttp2_submit_response(st->s->ng, st->id, nv, n, body ? &prd : NULL) != 0)
            return GH_ERROR;
        st->resp_final = 1;
        if (!body)
            st->body_end = st->eof_sent = 1;
    }
    return st->resp_final ? GH_OK : GH_AGAIN;
}

int h2_stream_respond(struct h2_stream *st, int req_is_head, int more)
{
    if (st->closed)
        return GH_ERROR;
    return submit_heads(st, req_is_head, more, 0);
}

int h2_stream_interim(struct h2_stream *st)
{
    if (st->closed)
        return GH_ERROR;
    return submit_heads(st, 0, 0, 1);
}

void h2_stream_more(struct h2_stream *st)
{
    if (st->deferred && !st->closed) {
        st->deferred = 0;
        nghttp2_session_resume_data(st->s->ng, st->id);
    }
}

void h2_stream_end(struct h2_stream *st, const struct buf *trailers)
{
    if (st->body_end)
        return;
    st->body_end = 1;
    if (trailers && buf_len(trailers)) {
        st->resp_trailers = buf_get();
        buf_append(st->resp_trailers, buf_head(trailers), buf_len(trailers));
    }
    h2_stream_more(st);
}

void h2_stream_consume(struct h2_stream *st, size_t n)
{
    if (n && !st->closed)
        nghttp2_session_consume_stream(st->s->ng, st->id, n);
}

void h2_stream_reset(struct h2_stream *st, uint32_t code)
{
    if (!st->closed)
        nghttp2_submit_rst_stream(st->s->ng, NGHTTP2_FLAG_NONE, st->id, code);
}

void h2_stream_release(struct h2_stream *st)
{
    struct h2_session *s = st->s;

    st->user = NULL;
    st->released = 1;
    if (st->body) {
        h2_stream_consume(st, buf_len(st->body));
        buf_put(st->body);
        st->body = NULL;
    }
    if (st->closed) {
        if (!st->queued)
            free_stream(s, st);
        return;
    }
    if (!st->in_end) {
        if (st->end_sent)
            nghttp2_submit_rst_stream(s->ng, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_NO_ERROR);
        else
            st->rst_after_end = 1;
    }
}

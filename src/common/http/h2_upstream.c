/* h2_upstream.c — HTTP/2 client sessions towards upstreams (see
 * h2_upstream.h): HTTP/1.1 request bytes to HEADERS and DATA, a stream's
 * response back to HTTP/1.1 bytes, trailers in the last chunk.  Owns the
 * nghttp2 session and its streams with their buffers; the socket is its
 * owner's.  nghttp2's callbacks only record and queue. */
#include "h2_upstream.h"
#include "util.h"

#include <nghttp2/nghttp2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define STREAM_WINDOW 65535u /* below a big buffer's size: the body never overflows it */
#define MAX_NV 128u

struct h2up {
    nghttp2_session *ng;
    struct http1_limits lim;
    uint32_t max_streams;
    uint8_t tls;
    struct buf *out; /* h2up_send's destination while it runs */
    struct h2up_stream *streams;
    unsigned nstreams;
    struct h2up_stream *qhead, *qtail;
    const char *error;
    uint8_t greeted; /* the server's SETTINGS came */
    struct http_head scratch; /* a request head being translated */
};

static nghttp2_session_callbacks *callbacks;
static pthread_once_t callbacks_once = PTHREAD_ONCE_INIT;

/* ---- streams ---- */

static void enqueue(struct h2up *s, struct h2up_stream *st)
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

static void stream_free(struct h2up *s, struct h2up_stream *st)
{
    if (st->prev)
        st->prev->next = st->next;
    else
        s->streams = st->next;
    if (st->next)
        st->next->prev = st->prev;
    s->nstreams--;
    buf_put(st->req);
    buf_put(st->req_trailers);
    buf_put(st->head);
    buf_put(st->data);
    buf_put(st->trailers);
    free(st);
}

static void stream_closed(struct h2up_stream *st, uint32_t code)
{
    if (st->closed)
        return;
    st->closed = 1;
    st->error_code = code;
    st->refused = code == NGHTTP2_REFUSED_STREAM;
    enqueue(st->s, st);
}

static struct h2up_stream *stream_of(nghttp2_session *ng, int32_t id)
{
    return id > 0 ? nghttp2_session_get_stream_user_data(ng, id) : NULL;
}

/* ---- nghttp2's callbacks ---- */

static ssize_t on_send(nghttp2_session *ng, const uint8_t *p, size_t n, int flags, void *arg)
{
    struct h2up *s = arg;
    size_t room = s->out ? buf_room(s->out) : 0;

    (void)ng, (void)flags;
    if (room == 0)
        return NGHTTP2_ERR_WOULDBLOCK;
    return (ssize_t)buf_append(s->out, p, n < room ? n : room);
}

static int on_begin_headers(nghttp2_session *ng, const nghttp2_frame *f, void *arg)
{
    struct h2up_stream *st = stream_of(ng, f->hd.stream_id);

    (void)arg;
    if (st)
        st->in_trailers = st->final;
    return 0;
}

/* Appends "name: value\r\n" to *b (taken when NULL); 0, or -1 when full. */
static int add_line(struct buf **b, const uint8_t *name, size_t nlen, const uint8_t *value,
                    size_t vlen)
{
    if (!*b && !(*b = buf_get()))
        return -1;
    if (buf_room(*b) < nlen + vlen + 4)
        return -1;
    buf_append(*b, name, nlen);
    buf_append(*b, ": ", 2);
    buf_append(*b, value, vlen);
    buf_append(*b, "\r\n", 2);
    return 0;
}

static int on_header(nghttp2_session *ng, const nghttp2_frame *f, const uint8_t *name, size_t nlen,
                     const uint8_t *value, size_t vlen, uint8_t flags, void *arg)
{
    struct h2up_stream *st = stream_of(ng, f->hd.stream_id);
    char line[32];
    int n;

    (void)flags, (void)arg;
    if (!st || f->hd.type != NGHTTP2_HEADERS)
        return 0;
    if (st->in_trailers)
        return add_line(&st->trailers, name, nlen, value, vlen)
                   ? NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE
                   : 0;
    if (nlen == 7 && memcmp(name, ":status", 7) == 0) {
        n = snprintf(line, sizeof(line), "HTTP/1.1 %.*s \r\n", (int)(vlen < 3 ? vlen : 3),
                     (const char *)value);
        st->status = atoi(line + 9);
        if (!st->head && !(st->head = buf_get()))
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        if (buf_room(st->head) < (size_t)n)
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        buf_append(st->head, line, (size_t)n);
        st->chunked = 1; /* until a content-length says otherwise */
        return 0;
    }
    if (name[0] == ':')
        return 0;
    if (nlen == 14 && memcmp(name, "content-length", 14) == 0)
        st->chunked = 0;
    if ((f->hd.flags & NGHTTP2_FLAG_END_STREAM) && nlen > 5 && memcmp(name, "grpc-", 5) == 0)
        /* gRPC's Trailers-Only answer: its status goes where a client
         * looks for it, in the trailers after the head */
        return add_line(&st->trailers, name, nlen, value, vlen)
                   ? NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE
                   : 0;
    return add_line(&st->head, name, nlen, value, vlen) ? NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE : 0;
}

/* The response's head block is whole: an interim one ends here; the
 * final one says how its body is read out. */
static void head_done(struct h2up_stream *st)
{
    int final = st->status >= 200 || st->status == 101;

    if (final) {
        if (st->is_head || st->status == 204 || st->status == 304 || st->status < 200)
            st->chunked = 0;
        if (st->chunked && buf_room(st->head) >= 28)
            buf_append(st->head, "transfer-encoding: chunked\r\n", 28);
        st->final = 1;
    }
    if (buf_room(st->head) >= 2)
        buf_append(st->head, "\r\n", 2);
    if (!final)
        st->status = 0;
}

static int on_frame_recv(nghttp2_session *ng, const nghttp2_frame *f, void *arg)
{
    struct h2up_stream *st = stream_of(ng, f->hd.stream_id);

    if (f->hd.type == NGHTTP2_SETTINGS && !(f->hd.flags & NGHTTP2_FLAG_ACK))
        ((struct h2up *)arg)->greeted = 1;
    if (!st)
        return 0;
    if (f->hd.type == NGHTTP2_HEADERS && !st->in_trailers)
        head_done(st);
    if ((f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA) &&
        (f->hd.flags & NGHTTP2_FLAG_END_STREAM))
        st->resp_end = 1;
    enqueue(st->s, st);
    return 0;
}

static int on_data(nghttp2_session *ng, uint8_t flags, int32_t id, const uint8_t *p, size_t n,
                   void *arg)
{
    struct h2up_stream *st = stream_of(ng, id);

    (void)flags, (void)arg;
    if (!st) {
        nghttp2_session_consume(ng, id, n);
        return 0;
    }
    if (!st->data && !(st->data = buf_get_big()))
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    if (buf_room(st->data) < n)
        buf_compact(st->data);
    if (buf_room(st->data) < n) /* the window forbids it */
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    buf_append(st->data, p, n);
    return 0;
}

static int on_close(nghttp2_session *ng, int32_t id, uint32_t code, void *arg)
{
    struct h2up_stream *st = stream_of(ng, id);

    (void)arg;
    if (st)
        stream_closed(st, code);
    return 0;
}

/* A request the session could not start (a GOAWAY came first): the
 * server never saw it. */
static int on_not_send(nghttp2_session *ng, const nghttp2_frame *f, int err, void *arg)
{
    struct h2up *s = arg;

    (void)ng, (void)err;
    if (f->hd.type != NGHTTP2_HEADERS)
        return 0;
    for (struct h2up_stream *st = s->streams; st; st = st->next)
        if (st->id == f->hd.stream_id)
            stream_closed(st, NGHTTP2_REFUSED_STREAM);
    return 0;
}

static void make_callbacks(void)
{
    if (nghttp2_session_callbacks_new(&callbacks) != 0)
        abort();
    nghttp2_session_callbacks_set_send_callback(callbacks, on_send);
    nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(callbacks, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, on_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, on_close);
    nghttp2_session_callbacks_set_on_frame_not_send_callback(callbacks, on_not_send);
}

/* ---- the session ---- */

struct h2up *h2up_new(uint32_t max_streams, int tls, const struct http1_limits *lim)
{
    struct h2up *s = calloc(1, sizeof(*s));
    nghttp2_option *opt = NULL;
    nghttp2_settings_entry set[] = {
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, STREAM_WINDOW},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, lim->max_head},
    };
    uint64_t conn_window = (uint64_t)STREAM_WINDOW * (max_streams ? max_streams : 1);

    pthread_once(&callbacks_once, make_callbacks);
    if (!s || nghttp2_option_new(&opt) != 0)
        goto fail;
    nghttp2_option_set_no_auto_window_update(opt, 1);
    if (nghttp2_session_client_new2(&s->ng, callbacks, s, opt) != 0)
        goto fail;
    nghttp2_option_del(opt);
    opt = NULL;
    s->lim = *lim;
    s->max_streams = max_streams ? max_streams : 1;
    s->tls = tls ? 1 : 0;
    if (conn_window > 0x7fffffffu)
        conn_window = 0x7fffffffu;
    if (nghttp2_submit_settings(s->ng, NGHTTP2_FLAG_NONE, set, 3) != 0 ||
        nghttp2_session_set_local_window_size(s->ng, NGHTTP2_FLAG_NONE, 0, (int32_t)conn_window) !=
            0)
        goto fail;
    return s;
fail:
    if (opt)
        nghttp2_option_del(opt);
    h2up_free(s);
    return NULL;
}

void h2up_free(struct h2up *s)
{
    if (!s)
        return;
    if (s->ng)
        nghttp2_session_del(s->ng); /* first: it calls nothing back as it goes */
    while (s->streams)
        stream_free(s, s->streams);
    free(s);
}

void h2up_fail(struct h2up *s, const char *why)
{
    if (!s->error)
        s->error = why;
    for (struct h2up_stream *st = s->streams; st; st = st->next)
        stream_closed(st, NGHTTP2_INTERNAL_ERROR);
}

int h2up_recv(struct h2up *s, const char *p, size_t n)
{
    ssize_t rc;

    if (s->error)
        return GH_ERROR;
    rc = nghttp2_session_mem_recv(s->ng, (const uint8_t *)p, n);
    if (rc < 0) {
        h2up_fail(s, nghttp2_strerror((int)rc));
        return GH_ERROR;
    }
    return GH_OK;
}

int h2up_send(struct h2up *s, struct buf *out)
{
    int rc;

    s->out = out;
    rc = nghttp2_session_send(s->ng);
    s->out = NULL;
    if (rc != 0) {
        h2up_fail(s, nghttp2_strerror(rc));
        return GH_ERROR;
    }
    return nghttp2_session_want_write(s->ng) ? GH_AGAIN : GH_OK;
}

int h2up_can_open(const struct h2up *s)
{
    uint32_t peer =
        nghttp2_session_get_remote_settings(s->ng, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
    uint32_t max = peer < s->max_streams ? peer : s->max_streams;

    return !s->error && s->nstreams < max && nghttp2_session_check_request_allowed(s->ng);
}

int h2up_usable(const struct h2up *s)
{
    return !s->error && nghttp2_session_check_request_allowed(s->ng);
}

unsigned h2up_nstreams(const struct h2up *s)
{
    return s->nstreams;
}

int h2up_alive(const struct h2up *s)
{
    return s->nstreams > 0 || (!s->error && nghttp2_session_check_request_allowed(s->ng));
}

int h2up_greeted(const struct h2up *s)
{
    return s->greeted;
}

const char *h2up_error(const struct h2up *s)
{
    return s->error;
}

struct h2up_stream *h2up_open(struct h2up *s, void *user)
{
    struct h2up_stream *st;

    if (!h2up_can_open(s) || !(st = calloc(1, sizeof(*st))))
        return NULL;
    st->s = s;
    st->user = user;
    st->next = s->streams;
    if (s->streams)
        s->streams->prev = st;
    s->streams = st;
    s->nstreams++;
    return st;
}

struct h2up_stream *h2up_next(struct h2up *s)
{
    struct h2up_stream *st;

    while ((st = s->qhead)) {
        s->qhead = st->qnext;
        if (!s->qhead)
            s->qtail = NULL;
        st->queued = 0;
        if (st->released && st->closed) {
            stream_free(s, st);
            continue;
        }
        if (!st->released)
            return st;
    }
    return NULL;
}

/* ---- a stream's request ---- */

static int hop_field(const char *n, size_t len);

/* Whether [p, e) is a field name (RFC 9110's token). */
static int token(const char *p, const char *e)
{
    for (; p < e; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p && strchr("!#$%&'*+-.^_`|~", *p))))
            return 0;
    return 1;
}

/* The request's trailer lines as a HEADERS frame ending the stream: names
 * lower-cased, fields HTTP/2 does not carry and malformed lines left out
 * (the decoder bounded their size).  Returns how many fields went. */
static int submit_trailers(struct h2up_stream *st)
{
    nghttp2_nv nv[MAX_NV];
    char *t = st->req_trailers ? buf_head(st->req_trailers) : NULL;
    size_t len = st->req_trailers ? buf_len(st->req_trailers) : 0, n = 0;

    for (size_t at = 0; at < len && n < MAX_NV;) {
        char *line = t + at, *eol = memchr(line, '\n', len - at), *colon, *v, *ve;
        if (!eol)
            break;
        at = (size_t)(eol - t) + 1;
        ve = eol > line && eol[-1] == '\r' ? eol - 1 : eol;
        colon = memchr(line, ':', (size_t)(ve - line));
        if (!colon || colon == line || memchr(line, '\0', (size_t)(ve - line)))
            continue;
        if (!token(line, colon))
            continue;
        for (char *c = line; c < colon; c++)
            *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
        if (hop_field(line, (size_t)(colon - line)) ||
            ((size_t)(colon - line) == 14 && memcmp(line, "content-length", 14) == 0))
            continue;
        for (v = colon + 1; v < ve && (*v == ' ' || *v == '\t'); v++)
            ;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        nv[n++] = (nghttp2_nv){(uint8_t *)line, (uint8_t *)v, (size_t)(colon - line),
                               (size_t)(ve - v), NGHTTP2_NV_FLAG_NONE};
    }
    if (!n || nghttp2_submit_trailer(st->s->ng, st->id, nv, n) != 0)
        return 0;
    return (int)n;
}

static ssize_t read_body(nghttp2_session *ng, int32_t id, uint8_t *p, size_t len, uint32_t *flags,
                         nghttp2_data_source *src, void *arg)
{
    struct h2up_stream *st = src->ptr;
    size_t n = buf_len(st->req) < len ? buf_len(st->req) : len;

    (void)ng, (void)id, (void)arg;
    if (n) {
        memcpy(p, buf_head(st->req), n);
        buf_consume(st->req, n);
        enqueue(st->s, st); /* room for more of the body */
    }
    if (st->req_end && buf_len(st->req) == 0) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        st->req_sent = 1;
        if (submit_trailers(st) > 0)
            *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM; /* the trailers' HEADERS ends it */
    } else if (n == 0) {
        st->deferred = 1;
        return NGHTTP2_ERR_DEFERRED;
    }
    return (ssize_t)n;
}

/* A field HTTP/2 does not carry (RFC 9113 8.2.2), or one said otherwise. */
static int hop_field(const char *n, size_t len)
{
    static const char *const hop[] = {
        "host",    "connection", "keep-alive", "proxy-connection", "transfer-encoding",
        "upgrade", "te"};
    for (size_t i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
        if (strlen(hop[i]) == len && strncasecmp(n, hop[i], len) == 0)
            return 1;
    return 0;
}

static nghttp2_nv nv_of(const char *name, size_t nlen, const char *value, size_t vlen)
{
    nghttp2_nv nv = {(uint8_t *)name, (uint8_t *)value, nlen, vlen, NGHTTP2_NV_FLAG_NONE};
    return nv;
}

#define AT(h, p, sl) ((p) + (sl).off)

/* The fields of a parsed request head h (in p) as HTTP/2's, names
 * lower-cased into lc; returns how many, or -1 with *why. */
static int request_nv(struct h2up *s, const char *p, const struct http_head *h, nghttp2_nv *nv,
                      char *lc, const char **why)
{
    size_t n = 0, at = 0;
    struct http_slice auth = h->authority,
                      path = h->form == HTTP_TARGET_ABSOLUTE ? h->path : h->target;

    for (unsigned i = 0; i < h->nfields; i++)
        if (h->fields[i].name.len == 4 && strncasecmp(AT(h, p, h->fields[i].name), "host", 4) == 0)
            auth = h->fields[i].value;
    if (!auth.len) {
        *why = "no authority for an HTTP/2 request";
        return -1;
    }
    nv[n++] = nv_of(":method", 7, AT(h, p, h->method), h->method.len);
    nv[n++] = nv_of(":scheme", 7, s->tls ? "https" : "http", s->tls ? 5 : 4);
    nv[n++] = nv_of(":authority", 10, AT(h, p, auth), auth.len);
    if (h->form == HTTP_TARGET_ASTERISK)
        nv[n++] = nv_of(":path", 5, "*", 1);
    else if (!path.len || AT(h, p, path)[0] != '/') {
        nv[n++] = nv_of(":path", 5, "/", 1); /* "/" then a "?q" is not one field: refuse it */
        if (path.len) {
            *why = "a query without a path";
            return -1;
        }
    } else
        nv[n++] = nv_of(":path", 5, AT(h, p, path), path.len);
    for (unsigned i = 0; i < h->nfields && n < MAX_NV; i++) {
        const struct http_field *f = &h->fields[i];
        const char *name = AT(h, p, f->name), *value = AT(h, p, f->value);
        if (hop_field(name, f->name.len) &&
            !(f->name.len == 2 && f->value.len == 8 && strncasecmp(value, "trailers", 8) == 0))
            continue; /* te: trailers is the one te HTTP/2 carries */
        for (size_t k = 0; k < f->name.len; k++)
            lc[at + k] = (char)((name[k] >= 'A' && name[k] <= 'Z') ? name[k] + 32 : name[k]);
        nv[n++] = nv_of(lc + at, f->name.len, value, f->value.len);
        at += f->name.len;
    }
    return (int)n;
}

/* Submits the request head at p[0..n).  Returns its length, 0 when it is
 * not whole yet, -1 with *why. */
static long submit_head(struct h2up_stream *st, const char *p, size_t n, const char **why)
{
    struct h2up *s = st->s;
    struct http_head *h = &s->scratch;
    nghttp2_nv nv[MAX_NV + 4];
    nghttp2_data_provider dp = {.source.ptr = st, .read_callback = read_body};
    char *lc;
    int rc = http1_parse_request(p, n, &s->lim, h), nnv;
    int32_t id;

    if (rc == HTTP1_PARTIAL)
        return 0;
    if (rc < 0 || h->form == HTTP_TARGET_AUTHORITY) {
        *why = rc < 0 ? h->error : "CONNECT over HTTP/2 to an upstream";
        return -1;
    }
    if (!(lc = malloc((size_t)rc)))
        return *why = "out of memory", -1;
    nnv = request_nv(s, p, h, nv, lc, why);
    st->req_framing = h->framing == HTTP_BODY_CHUNKED                       ? HTTP_BODY_CHUNKED
                      : h->framing == HTTP_BODY_LENGTH && h->content_length ? HTTP_BODY_LENGTH
                                                                            : HTTP_BODY_NONE;
    st->req_left = h->content_length;
    st->req_end = st->req_framing == HTTP_BODY_NONE;
    st->is_head = h->method.len == 4 && memcmp(p + h->method.off, "HEAD", 4) == 0;
    id = nnv < 0
             ? -1
             : nghttp2_submit_request(s->ng, NULL, nv, (size_t)nnv, st->req_end ? NULL : &dp, st);
    free(lc);
    if (nnv < 0)
        return -1;
    if (id < 0) {
        *why = nghttp2_strerror(id);
        return -1;
    }
    st->id = id;
    st->req_sent = st->req_end;
    return rc;
}

/* The last n bytes the chunked decoder consumed were trailer lines (at
 * most HTTP1_CHUNK_MAX_TRAILERS in all, their final CRLF included). */
static int keep_trailers(struct h2up_stream *st, const char *p, size_t n)
{
    if (!st->req_trailers && !(st->req_trailers = buf_get()))
        return -1;
    if (buf_room(st->req_trailers) < n)
        return -1;
    buf_append(st->req_trailers, p, n);
    return 0;
}

/* Takes request body bytes into st->req, framing stripped.  Returns the
 * bytes taken, or -1 with *why. */
static long take_body(struct h2up_stream *st, const char *p, size_t n, const char **why)
{
    size_t i = 0, k;

    if (!st->req && !(st->req = buf_get()))
        return *why = "out of memory", -1;
    buf_compact(st->req);
    while (i < n && !st->req_end) {
        if (st->req_framing == HTTP_BODY_LENGTH) {
            k = n - i < st->req_left ? n - i : (size_t)st->req_left;
            k = k < buf_room(st->req) ? k : buf_room(st->req);
            if (!k)
                break;
            buf_append(st->req, p + i, k);
            i += k;
            st->req_left -= k;
            st->req_end = st->req_left == 0;
        } else if (st->ck.state == CHUNK_DATA && st->ck.remaining) {
            k = n - i < st->ck.remaining ? n - i : (size_t)st->ck.remaining;
            k = k < buf_room(st->req) ? k : buf_room(st->req);
            if (!k)
                break;
            buf_append(st->req, p + i, k);
            http1_chunked_data(&st->ck, k);
            i += k;
        } else {
            uint32_t had = st->ck.trailer_len;
            long f = http1_chunked_parse(&st->ck, p + i, n - i);
            if (f < 0)
                return *why = st->ck.error, -1;
            i += (size_t)f;
            if (st->ck.trailer_len > had && keep_trailers(st, p + i - (st->ck.trailer_len - had),
                                                          st->ck.trailer_len - had) < 0)
                return *why = "out of memory", -1;
            st->req_end = st->ck.state == CHUNK_DONE;
            if (f == 0 && st->ck.state != CHUNK_DATA)
                break;
        }
    }
    if (st->deferred && (buf_len(st->req) || st->req_end)) {
        st->deferred = 0;
        nghttp2_session_resume_data(st->s->ng, st->id);
    }
    return (long)i;
}

long h2up_stream_write(struct h2up_stream *st, const char *p, size_t n, const char **why)
{
    long head = 0, body;

    if (st->closed) {
        *why = "upstream stream closed";
        return -1;
    }
    if (!st->id) {
        head = submit_head(st, p, n, why);
        if (head <= 0) {
            if (head == 0 && n >= st->s->lim.max_head)
                return *why = "request head too large", -1;
            return head;
        }
    }
    if (st->req_end)
        return head;
    body = take_body(st, p + head, n - (size_t)head, why);
    if (body < 0) {
        h2up_stream_reset(st);
        return -1;
    }
    return head + body;
}

/* ---- a stream's response ---- */

/* Moves up to n bytes of src to dst; returns how many. */
static size_t move(struct buf *src, struct buf *dst, size_t n)
{
    n = n < buf_len(src) ? n : buf_len(src);
    n = n < buf_room(dst) ? n : buf_room(dst);
    buf_append(dst, buf_head(src), n);
    buf_consume(src, n);
    return n;
}

/* The body read so far, as one chunk when chunked. */
static size_t read_data(struct h2up_stream *st, struct buf *dst)
{
    char hdr[24];
    size_t k = SIZE_MAX, room = buf_room(dst);
    int h = 0;

    if (st->chunked) {
        if (room <= sizeof(hdr) + 2)
            return 0;
        k = buf_len(st->data) < room - sizeof(hdr) - 2 ? buf_len(st->data) : room - sizeof(hdr) - 2;
        h = snprintf(hdr, sizeof(hdr), "%zx\r\n", k);
        buf_append(dst, hdr, (size_t)h);
    }
    k = move(st->data, dst, st->chunked ? k : SIZE_MAX);
    if (st->chunked)
        buf_append(dst, "\r\n", 2);
    nghttp2_session_consume(st->s->ng, st->id, k); /* the window opens */
    return k + (size_t)h + (st->chunked ? 2 : 0);
}

size_t h2up_stream_read(struct h2up_stream *st, struct buf *dst)
{
    size_t moved = 0, tl;

    buf_compact(dst);
    if (st->head && buf_len(st->head)) {
        moved += move(st->head, dst, SIZE_MAX);
        if (buf_len(st->head))
            return moved;
    }
    if (!st->final)
        return moved;
    if (st->data && buf_len(st->data))
        moved += read_data(st, dst);
    if (st->resp_end && !st->last_out && !(st->data && buf_len(st->data))) {
        tl = st->trailers ? buf_len(st->trailers) : 0;
        if (!st->chunked) {
            st->last_out = 1;
        } else if (buf_room(dst) >= tl + 5) {
            buf_append(dst, "0\r\n", 3);
            if (tl)
                buf_append(dst, buf_head(st->trailers), tl);
            buf_append(dst, "\r\n", 2);
            moved += tl + 5;
            st->last_out = 1;
        }
    }
    return moved;
}

int h2up_stream_done(const struct h2up_stream *st)
{
    return st->last_out;
}

void h2up_stream_reset(struct h2up_stream *st)
{
    if (!st->closed && st->id)
        nghttp2_submit_rst_stream(st->s->ng, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_CANCEL);
}

void h2up_stream_release(struct h2up_stream *st)
{
    st->user = NULL;
    st->released = 1;
    if (!st->id)
        st->closed = 1; /* never sent: nothing to wait for */
    else
        h2up_stream_reset(st);
    if (st->closed)
        enqueue(st->s, st);
}

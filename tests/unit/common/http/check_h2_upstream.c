/* check_h2_upstream.c — the HTTP/2 client session towards upstreams,
 * against a server session of libnghttp2's in memory: what the server
 * receives for an HTTP/1.1 request (pseudo-fields, no connection-specific
 * fields, te: trailers, the body unframed, a chunked body's trailers as
 * the last HEADERS), the HTTP/1.1 response read
 * back (chunked with trailers, or raw with a Content-Length), a body far
 * larger than the windows, streams refused by RST_STREAM and by GOAWAY,
 * and the stream cap. */
#include "h2_upstream.h"
#include "suites.h"
#include "util.h"

#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the server ---- */

struct srv {
    nghttp2_session *ng;
    char method[16], path[64], auth[64], scheme[8], te[16], fields[512];
    char body[4096];
    size_t body_len;
    int ended;        /* the request's END_STREAM came */
    int refuse;       /* answer with RST_STREAM(REFUSED_STREAM) */
    int with_cl;      /* the answer has a content-length */
    int only_head;    /* gRPC's Trailers-Only: one HEADERS ending the stream */
    size_t resp_size; /* bytes of the answer's body */
    size_t resp_sent;
    uint8_t wire[1 << 20];
    size_t wire_len; /* frames for the client */
};

static ssize_t srv_send(nghttp2_session *ng, const uint8_t *p, size_t n, int fl, void *arg)
{
    struct srv *v = arg;
    (void)ng, (void)fl;
    ck_assert_uint_le(v->wire_len + n, sizeof(v->wire));
    memcpy(v->wire + v->wire_len, p, n);
    v->wire_len += n;
    return (ssize_t)n;
}

static void copy(char *dst, size_t cap, const uint8_t *p, size_t n)
{
    snprintf(dst, cap, "%.*s", (int)n, (const char *)p);
}

static int srv_header(nghttp2_session *ng, const nghttp2_frame *f, const uint8_t *name, size_t nl,
                      const uint8_t *value, size_t vl, uint8_t fl, void *arg)
{
    struct srv *v = arg;
    (void)ng, (void)f, (void)fl;
    if (nl == 7 && !memcmp(name, ":method", 7))
        copy(v->method, sizeof(v->method), value, vl);
    else if (nl == 5 && !memcmp(name, ":path", 5))
        copy(v->path, sizeof(v->path), value, vl);
    else if (nl == 10 && !memcmp(name, ":authority", 10))
        copy(v->auth, sizeof(v->auth), value, vl);
    else if (nl == 7 && !memcmp(name, ":scheme", 7))
        copy(v->scheme, sizeof(v->scheme), value, vl);
    else if (nl == 2 && !memcmp(name, "te", 2))
        copy(v->te, sizeof(v->te), value, vl);
    else {
        size_t at = strlen(v->fields);
        snprintf(v->fields + at, sizeof(v->fields) - at, "%.*s;", (int)nl, (const char *)name);
    }
    return 0;
}

static int srv_data(nghttp2_session *ng, uint8_t fl, int32_t id, const uint8_t *p, size_t n,
                    void *arg)
{
    struct srv *v = arg;
    (void)ng, (void)fl, (void)id;
    ck_assert_uint_le(v->body_len + n, sizeof(v->body));
    memcpy(v->body + v->body_len, p, n);
    v->body_len += n;
    return 0;
}

static ssize_t srv_body(nghttp2_session *ng, int32_t id, uint8_t *p, size_t len, uint32_t *flags,
                        nghttp2_data_source *src, void *arg)
{
    struct srv *v = arg;
    size_t n = v->resp_size - v->resp_sent < len ? v->resp_size - v->resp_sent : len;
    (void)src;
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)('a' + (v->resp_sent + i) % 26);
    v->resp_sent += n;
    if (v->resp_sent == v->resp_size) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        if (!v->with_cl) {
            nghttp2_nv tr[] = {{(uint8_t *)"grpc-status", (uint8_t *)"0", 11, 1, 0},
                               {(uint8_t *)"grpc-message", (uint8_t *)"fine", 12, 4, 0}};
            *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
            nghttp2_submit_trailer(ng, id, tr, 2);
        }
    }
    return (ssize_t)n;
}

static int srv_frame(nghttp2_session *ng, const nghttp2_frame *f, void *arg)
{
    struct srv *v = arg;
    char cl[24];
    nghttp2_nv nv[] = {{(uint8_t *)":status", (uint8_t *)"200", 7, 3, 0},
                       {(uint8_t *)"content-type", (uint8_t *)"application/grpc", 12, 16, 0},
                       {(uint8_t *)"content-length", (uint8_t *)cl, 14, 0, 0}};
    nghttp2_data_provider dp = {.read_callback = srv_body};

    if (!(f->hd.flags & NGHTTP2_FLAG_END_STREAM) ||
        (f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA))
        return 0;
    v->ended = 1;
    if (v->refuse)
        return nghttp2_submit_rst_stream(ng, 0, f->hd.stream_id, NGHTTP2_REFUSED_STREAM);
    if (v->only_head) {
        nghttp2_nv th[] = {{(uint8_t *)":status", (uint8_t *)"200", 7, 3, 0},
                           {(uint8_t *)"content-type", (uint8_t *)"application/grpc", 12, 16, 0},
                           {(uint8_t *)"grpc-status", (uint8_t *)"9", 11, 1, 0},
                           {(uint8_t *)"grpc-message", (uint8_t *)"no", 12, 2, 0}};
        return nghttp2_submit_headers(ng, NGHTTP2_FLAG_END_STREAM, f->hd.stream_id, NULL, th, 4,
                                      NULL);
    }
    nv[2].valuelen = (size_t)snprintf(cl, sizeof(cl), "%zu", v->resp_size);
    return nghttp2_submit_response(ng, f->hd.stream_id, nv, v->with_cl ? 3 : 2, &dp);
}

static void srv_init(struct srv *v)
{
    nghttp2_session_callbacks *cb;

    memset(v, 0, sizeof(*v));
    ck_assert_int_eq(nghttp2_session_callbacks_new(&cb), 0);
    nghttp2_session_callbacks_set_send_callback(cb, srv_send);
    nghttp2_session_callbacks_set_on_header_callback(cb, srv_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, srv_data);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, srv_frame);
    ck_assert_int_eq(nghttp2_session_server_new(&v->ng, cb, v), 0);
    nghttp2_session_callbacks_del(cb);
    nghttp2_settings_entry set[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100}};
    ck_assert_int_eq(nghttp2_submit_settings(v->ng, 0, set, 1), 0);
}

static const struct http1_limits lim = {8192, 16384, 100, 0};

/* Frames both ways until neither side has more to say. */
static void pump(struct h2up *c, struct srv *v)
{
    struct buf *out = buf_get();
    for (int round = 0; round < 1000; round++) {
        int moved = 0;
        buf_compact(out);
        ck_assert_int_ne(h2up_send(c, out), GH_ERROR);
        if (buf_len(out)) {
            ck_assert_int_eq(
                nghttp2_session_mem_recv(v->ng, (uint8_t *)buf_head(out), buf_len(out)),
                (ssize_t)buf_len(out));
            buf_consume(out, buf_len(out));
            moved = 1;
        }
        ck_assert_int_eq(nghttp2_session_send(v->ng), 0);
        if (v->wire_len) {
            ck_assert_int_ne(h2up_recv(c, (char *)v->wire, v->wire_len), GH_ERROR);
            v->wire_len = 0;
            moved = 1;
        }
        if (!moved)
            break;
    }
    buf_put(out);
}

/* Reads the stream's answer out (dst's room at most `step` a time, the
 * frames pumped between reads) into all[] until done. */
static size_t read_all(struct h2up *c, struct srv *v, struct h2up_stream *st, char *all, size_t cap)
{
    size_t len = 0;
    for (int i = 0; i < 10000 && !h2up_stream_done(st); i++) {
        struct buf *b = buf_get();
        size_t n = h2up_stream_read(st, b);
        ck_assert_uint_le(len + n, cap);
        memcpy(all + len, buf_head(b), n);
        len += n;
        buf_put(b);
        pump(c, v);
    }
    ck_assert(h2up_stream_done(st));
    return len;
}

START_TEST(get_with_trailers)
{
    static const char req[] = "GET /svc/Echo?x=1 HTTP/1.1\r\nHost: up.example:8443\r\n"
                              "Connection: keep-alive\r\nTE: trailers\r\nX-Thing: 1\r\n\r\n";
    static const char want[] = "HTTP/1.1 200 \r\ncontent-type: application/grpc\r\n"
                               "transfer-encoding: chunked\r\n\r\n5\r\nabcde\r\n0\r\n"
                               "grpc-status: 0\r\ngrpc-message: fine\r\n\r\n";
    struct srv v;
    struct h2up *c = h2up_new(10, 1, &lim);
    const char *why = NULL;
    char all[512];

    srv_init(&v);
    v.resp_size = 5;
    struct h2up_stream *st = h2up_open(c, &v);
    ck_assert_ptr_nonnull(st);
    ck_assert_int_eq(h2up_stream_write(st, req, 20, &why), 0); /* not whole yet */
    ck_assert_int_eq(h2up_stream_write(st, req, sizeof(req) - 1, &why), (long)sizeof(req) - 1);
    pump(c, &v);
    ck_assert_str_eq(v.method, "GET");
    ck_assert_str_eq(v.path, "/svc/Echo?x=1");
    ck_assert_str_eq(v.auth, "up.example:8443");
    ck_assert_str_eq(v.scheme, "https");
    ck_assert_str_eq(v.te, "trailers");
    ck_assert_str_eq(v.fields, "x-thing;"); /* no host, no connection */
    ck_assert(v.ended);
    ck_assert_ptr_eq(h2up_next(c), st);
    size_t n = read_all(c, &v, st, all, sizeof(all));
    ck_assert_uint_eq(n, sizeof(want) - 1);
    ck_assert(memcmp(all, want, n) == 0);
    ck_assert_int_eq(st->status, 200);
    h2up_stream_release(st);
    pump(c, &v);
    while (h2up_next(c))
        ;
    ck_assert_uint_eq(h2up_nstreams(c), 0);
    h2up_free(c);
    nghttp2_session_del(v.ng);
}
END_TEST

START_TEST(trailers_only)
{
    static const char req[] = "POST /gh.Echo/Unary HTTP/1.1\r\nHost: g\r\nContent-Length: 2\r\n"
                              "TE: trailers\r\n\r\nab";
    static const char want[] = "HTTP/1.1 200 \r\ncontent-type: application/grpc\r\n"
                               "transfer-encoding: chunked\r\n\r\n0\r\n"
                               "grpc-status: 9\r\ngrpc-message: no\r\n\r\n";
    struct srv v;
    struct h2up *c = h2up_new(10, 0, &lim);
    const char *why = NULL;
    char all[512];

    srv_init(&v);
    v.only_head = 1;
    struct h2up_stream *st = h2up_open(c, NULL);
    ck_assert_int_eq(h2up_stream_write(st, req, sizeof(req) - 1, &why), (long)sizeof(req) - 1);
    pump(c, &v);
    ck_assert_uint_eq(v.body_len, 2);
    size_t n = read_all(c, &v, st, all, sizeof(all));
    ck_assert_uint_eq(n, sizeof(want) - 1);
    ck_assert(memcmp(all, want, n) == 0);
    h2up_stream_release(st);
    h2up_free(c);
    nghttp2_session_del(v.ng);
}
END_TEST

START_TEST(post_chunked_big_answer)
{
    static const char req[] = "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "3\r\nabc\r\n3;ext=1\r\ndef\r\n0\r\nX-T: 1\r\n"
                              "Connection: x\r\nContent-Length: 6\r\nGrpc-Status:  0 \r\n\r\n";
    struct srv v;
    struct h2up *c = h2up_new(10, 0, &lim);
    const char *why = NULL;
    static char all[300000];

    srv_init(&v);
    v.with_cl = 1;
    v.resp_size = 200000; /* past the stream's and the connection's first windows */
    struct h2up_stream *st = h2up_open(c, NULL);
    ck_assert_int_eq(h2up_stream_write(st, req, 40, &why), 0);
    ck_assert_int_eq(h2up_stream_write(st, req, sizeof(req) - 1, &why), (long)sizeof(req) - 1);
    pump(c, &v);
    ck_assert_str_eq(v.scheme, "http");
    ck_assert_uint_eq(v.body_len, 6);
    ck_assert(memcmp(v.body, "abcdef", 6) == 0);
    ck_assert(v.ended);
    /* the trailers came as HEADERS after the DATA, lower-cased, without
     * the fields HTTP/2 does not carry */
    ck_assert_str_eq(v.fields, "x-t;grpc-status;");
    size_t n = read_all(c, &v, st, all, sizeof(all));
    char *body = strstr(all, "\r\n\r\n");
    ck_assert_ptr_nonnull(body);
    ck_assert_ptr_nonnull(strstr(all, "content-length: 200000\r\n"));
    ck_assert_ptr_null(strstr(all, "transfer-encoding"));
    body += 4;
    ck_assert_uint_eq(n - (size_t)(body - all), 200000);
    for (size_t i = 0; i < 200000; i++)
        ck_assert_int_eq(body[i], 'a' + (int)(i % 26));
    h2up_stream_release(st);
    h2up_free(c);
    nghttp2_session_del(v.ng);
}
END_TEST

/* A big answer without a Content-Length, read out in 16 KiB pieces:
 * chunks whose sizes say what they carry, then the trailers. */
START_TEST(chunked_big_answer)
{
    static const char req[] = "GET /big HTTP/1.1\r\nHost: a\r\n\r\n";
    static char all[300000], body[250000];
    struct srv v;
    struct h2up *c = h2up_new(10, 0, &lim);
    const char *why = NULL;
    size_t blen = 0;

    srv_init(&v);
    v.resp_size = 200000;
    struct h2up_stream *st = h2up_open(c, NULL);
    ck_assert_int_gt(h2up_stream_write(st, req, sizeof(req) - 1, &why), 0);
    pump(c, &v);
    size_t n = read_all(c, &v, st, all, sizeof(all) - 1);
    all[n] = '\0';
    char *p = strstr(all, "\r\n\r\n");
    ck_assert_ptr_nonnull(p);
    for (p += 4;;) {
        char *end;
        unsigned long k = strtoul(p, &end, 16);
        ck_assert(end[0] == '\r' && end[1] == '\n');
        p = end + 2;
        if (k == 0)
            break;
        ck_assert_uint_le(blen + k, sizeof(body));
        memcpy(body + blen, p, k);
        blen += k;
        p += k;
        ck_assert(p[0] == '\r' && p[1] == '\n');
        p += 2;
    }
    ck_assert_str_eq(p, "grpc-status: 0\r\ngrpc-message: fine\r\n\r\n");
    ck_assert_uint_eq(blen, 200000);
    for (size_t i = 0; i < blen; i++)
        ck_assert_int_eq(body[i], 'a' + (int)(i % 26));
    h2up_stream_release(st);
    h2up_free(c);
    nghttp2_session_del(v.ng);
}
END_TEST

START_TEST(refused_and_goaway)
{
    static const char req[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    struct srv v;
    struct h2up *c = h2up_new(10, 0, &lim);
    const char *why = NULL;

    srv_init(&v);
    v.refuse = 1;
    struct h2up_stream *st = h2up_open(c, NULL);
    ck_assert_int_gt(h2up_stream_write(st, req, sizeof(req) - 1, &why), 0);
    pump(c, &v);
    ck_assert_ptr_eq(h2up_next(c), st);
    ck_assert(st->closed && st->refused);
    ck_assert_int_eq(st->error_code, NGHTTP2_REFUSED_STREAM);
    h2up_stream_release(st);
    ck_assert_ptr_null(h2up_next(c));

    /* GOAWAY saying nothing past stream 1 was seen: stream 3 is refused,
     * and nothing more may be opened */
    st = h2up_open(c, NULL);
    ck_assert_int_gt(h2up_stream_write(st, req, sizeof(req) - 1, &why), 0);
    ck_assert_int_eq(nghttp2_submit_goaway(v.ng, 0, 1, NGHTTP2_NO_ERROR, NULL, 0), 0);
    ck_assert_int_eq(nghttp2_session_send(v.ng), 0);
    ck_assert_int_ne(h2up_recv(c, (char *)v.wire, v.wire_len), GH_ERROR);
    v.wire_len = 0;
    struct buf *out = buf_get();
    ck_assert_int_ne(h2up_send(c, out), GH_ERROR);
    buf_put(out);
    ck_assert_ptr_eq(h2up_next(c), st);
    ck_assert(st->closed && st->refused);
    ck_assert(!h2up_can_open(c));
    h2up_stream_release(st);
    ck_assert_ptr_null(h2up_next(c));
    ck_assert(!h2up_alive(c));
    h2up_free(c);
    nghttp2_session_del(v.ng);
}
END_TEST

START_TEST(stream_cap_and_failure)
{
    static const char req[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    struct h2up *c = h2up_new(2, 0, &lim);
    const char *why = NULL;

    struct h2up_stream *a = h2up_open(c, NULL), *b = h2up_open(c, NULL);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert(!h2up_can_open(c));
    ck_assert_ptr_null(h2up_open(c, NULL));
    ck_assert_int_gt(h2up_stream_write(a, req, sizeof(req) - 1, &why), 0);
    ck_assert_int_eq(h2up_stream_write(b, "CONNECT a:1 HTTP/1.1\r\nHost: a:1\r\n\r\n", 35, &why),
                     -1);
    ck_assert_ptr_nonnull(why);
    h2up_fail(c, "upstream closed");
    ck_assert_str_eq(h2up_error(c), "upstream closed");
    ck_assert(a->closed && !a->refused);
    ck_assert_int_eq(h2up_recv(c, "x", 1), GH_ERROR);
    h2up_stream_release(a);
    h2up_stream_release(b);
    while (h2up_next(c))
        ;
    ck_assert_uint_eq(h2up_nstreams(c), 0);
    ck_assert(!h2up_alive(c));
    h2up_free(c);
}
END_TEST

Suite *h2_upstream_suite(void)
{
    Suite *s = suite_create("h2_upstream");
    TCase *tc = tcase_create("h2_upstream");
    tcase_add_test(tc, get_with_trailers);
    tcase_add_test(tc, trailers_only);
    tcase_add_test(tc, post_chunked_big_answer);
    tcase_add_test(tc, chunked_big_answer);
    tcase_add_test(tc, refused_and_goaway);
    tcase_add_test(tc, stream_cap_and_failure);
    suite_add_tcase(s, tc);
    return s;
}

/* check_proxy.c — both modes end to end over real sockets: what the client
 * gets, what the origin receives, and what the access log says. */
#include "common.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct rig rig;

/* ---- the origin ---- */

/* One interim response as the origin sends it: with a hop-by-hop field
 * that its Connection names and a Keep-Alive, a 103 with two Link fields. */
static void send_interim(struct origin_reply *re, int code)
{
    char one[512];
    int n = snprintf(one, sizeof(one),
                     "HTTP/1.1 %d %s\r\nServer: gh-origin\r\nConnection: X-Hop\r\n"
                     "X-Hop: secret\r\nKeep-Alive: timeout=5\r\n%s\r\n",
                     code,
                     code == 100   ? "Continue"
                     : code == 102 ? "Processing"
                                   : "Early Hints",
                     code == 103 ? "Link: </style.css>; rel=preload; as=style\r\n"
                                   "Link: </app.js>; rel=preload; as=script\r\n"
                                 : "");

    origin_send(re, one, (size_t)n);
}

/* /interim?codes=103,100,102[&repeat=R][&cc=V]: the interim responses named
 * in codes, in order (all of them R times over), then 200 "interim done
 * bytes=N\n" (N: the request body's bytes), with Cache-Control: V when cc
 * is given. */
static void interim(const struct origin_request *rq, struct origin_reply *re)
{
    char codes[128], v[256], *save = NULL;
    long repeat = origin_query(rq, "repeat", 0, v, sizeof(v)) == 0 ? atol(v) : 1;
    int code[16], n = 0;

    if (origin_query(rq, "codes", 0, codes, sizeof(codes)) < 0)
        codes[0] = '\0';
    for (char *t = strtok_r(codes, ",", &save); t && n < 16; t = strtok_r(NULL, ",", &save))
        code[n++] = atoi(t);
    for (long k = 0; k < repeat; k++)
        for (int i = 0; i < n; i++)
            send_interim(re, code[i]);
    origin_bare(re);
    origin_add(re, "Server: gh-origin");
    origin_add(re, "X-Origin: %s", rq->name);
    if (origin_query(rq, "cc", 0, v, sizeof(v)) == 0)
        origin_add(re, "Cache-Control: %s", v);
    origin_text(re, "interim done bytes=%" PRIu64 "\n", rq->body_len);
}

/* The origin behind both listeners.  Its bodies of N bytes are the
 * pattern 'a' + i % 26, whose sum tc_pattern_sum knows. */
static void answer(const struct origin_request *rq, struct origin_reply *re)
{
    uint64_t n;

    if (strcmp(rq->path, "/hello") == 0) {
        origin_text(re, "hello from %s\n", rq->name);
    } else if (strcmp(rq->path, "/headers") == 0) { /* what reached the origin */
        origin_body(re, "text/plain", rq->head, rq->head_len);
    } else if (strcmp(rq->path, "/sink") == 0) { /* what the body was */
        origin_text(re, "bytes=%" PRIu64 " sum=%" PRIu64 "\n", rq->body_len, rq->body_sum);
    } else if (origin_path_num(rq, "/bytes/", &n)) { /* N bytes, Content-Length */
        origin_pattern(re, n);
    } else if (origin_path_num(rq, "/chunked/", &n)) {
        origin_pattern(re, n);
        origin_chunked(re);
    } else if (origin_path_num(rq, "/close/", &n)) { /* delimited by the close */
        origin_pattern(re, n);
        origin_until_close(re);
    } else if (origin_path_num(rq, "/truncate/", &n)) { /* dies halfway */
        origin_pattern(re, n);
        origin_cut(re, n / 2);
    } else if (strcmp(rq->path, "/interim") == 0) {
        interim(rq, re);
    } else {
        origin_status(re, 404);
        origin_text(re, "not found\n");
    }
}

/* A gatehouse with a forward and a reverse listener, the origin as the
 * reverse listener's only server. */
static void up(void) { rig_up_gateway_and_site(&rig, answer); }

static void down(void) { rig_down(&rig); }

static int header_is(const struct tc_response *r, const char *name, const char *want)
{
    size_t n;
    const char *v = tc_header(r, name, &n);
    return v && n == strlen(want) && memcmp(v, want, n) == 0;
}

static void get(int port, const char *target, const char *extra, struct tc_response *r)
{
    char req[1024];
    int fd = tc_connect("127.0.0.1", port);

    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: example.test\r\n%s\r\n", target,
             extra ? extra : "");
    rig_exchange(fd, req, r);
    tc_close(fd);
}

START_TEST(reverse_serves_origin)
{
    struct tc_response r = {0};

    get(rig.rev, "/hello", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "hello from o1\n");
    ck_assert(header_is(&r, "Via", "1.1 gatehouse"));
    ck_assert_int_eq(th_log_lines(rig.g.access, 1, "\"GET /hello HTTP/1.1\" 200 14",
                                  "listener=site mode=reverse", NULL), 1);
    tc_response_free(&r);
}
END_TEST

START_TEST(forward_rewrites_and_strips)
{
    struct tc_response r = {0};
    char target[128], host[64];

    snprintf(target, sizeof(target), "http://127.0.0.1:%d/headers", rig.o.port);
    snprintf(host, sizeof(host), "Host: 127.0.0.1:%d\r\n", rig.o.port);
    get(rig.fwd, target,
        "Proxy-Connection: keep-alive\r\nConnection: x-secret\r\nX-Secret: 1\r\n"
        "Keep-Alive: 300\r\nX-Kept: yes\r\n",
        &r);
    ck_assert_int_eq(r.status, 200);
    /* the origin got origin-form, the URL's authority as Host, and no hop-by-hop fields */
    ck_assert_msg(strncmp(r.body, "GET /headers HTTP/1.1\r\n", 23) == 0, "origin got: %s", r.body);
    ck_assert_ptr_nonnull(strstr(r.body, host));
    ck_assert_ptr_null(strstr(r.body, "example.test"));
    ck_assert_ptr_nonnull(strstr(r.body, "X-Kept: yes\r\n"));
    ck_assert_ptr_nonnull(strstr(r.body, "Via: 1.1 gatehouse\r\n"));
    ck_assert_ptr_null(strstr(r.body, "Proxy-Connection"));
    ck_assert_ptr_null(strstr(r.body, "X-Secret"));
    ck_assert_ptr_null(strstr(r.body, "Keep-Alive"));
    ck_assert_int_eq(th_log_lines(rig.g.access, 1, "\"GET http://127.0.0.1:", "listener=gw mode=forward",
                                  " 200 ", NULL), 1);
    tc_response_free(&r);
}
END_TEST

/* A field named in any of several Connection fields is dropped: in the
 * second of two, and after seventeen other names in one field (past the
 * sixteen names the head writer keeps, where it looks them up again). */
START_TEST(forward_strips_every_connection_listed)
{
    char target[128], extra[512];

    snprintf(target, sizeof(target), "http://127.0.0.1:%d/headers", rig.o.port);
    for (int many = 0; many <= 1; many++) {
        struct tc_response r = {0};
        size_t n = 0;

        n += (size_t)snprintf(extra + n, sizeof(extra) - n, "Connection: ");
        for (int i = 1; many && i <= 17; i++)
            n += (size_t)snprintf(extra + n, sizeof(extra) - n, "t%d, ", i);
        snprintf(extra + n, sizeof(extra) - n,
                 "X-C1\r\nX-C1: 1\r\nConnection: x-c2\r\nX-C2: 2\r\nX-Kept: yes\r\nX-C: 3\r\n");
        get(rig.fwd, target, extra, &r);
        ck_assert_int_eq(r.status, 200);
        ck_assert_ptr_nonnull(strstr(r.body, "X-Kept: yes\r\n"));
        ck_assert_ptr_nonnull(strstr(r.body, "X-C: 3\r\n"));
        ck_assert_msg(strstr(r.body, "X-C1") == NULL && strstr(r.body, "X-C2") == NULL, "origin got: %s", r.body);
        ck_assert_msg(strstr(r.body, "t17") == NULL, "origin got: %s", r.body);
        tc_response_free(&r);
    }
}
END_TEST

/* Three requests on one client connection reach the origin on one
 * upstream connection: keep-alive on both sides. */
static void keepalive_through(int port, const char *target)
{
    int fd = tc_connect("127.0.0.1", port);
    char req[512], first_id[32] = "";

    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: example.test\r\n\r\n", target);
    for (int i = 1; i <= 3; i++) {
        struct tc_response r = {0};
        size_t n;
        const char *id, *count;
        char want[16];

        rig_exchange(fd, req, &r);
        ck_assert_int_eq(r.status, 200);
        ck_assert_int_eq(r.closed, 0);
        id = tc_header(&r, "X-Conn-Id", &n);
        ck_assert_ptr_nonnull(id);
        if (i == 1)
            snprintf(first_id, sizeof(first_id), "%.*s", (int)n, id);
        ck_assert(header_is(&r, "X-Conn-Id", first_id));
        count = tc_header(&r, "X-Conn-Requests", &n);
        snprintf(want, sizeof(want), "%d", i);
        ck_assert_msg(count && n == strlen(want) && memcmp(count, want, n) == 0,
                      "request %d was the origin connection's request %.*s", i, (int)n, count);
        tc_response_free(&r);
    }
    tc_close(fd);
}

START_TEST(keepalive_reverse)
{
    keepalive_through(rig.rev, "/hello");
}
END_TEST

START_TEST(keepalive_forward)
{
    char target[128];

    snprintf(target, sizeof(target), "http://127.0.0.1:%d/hello", rig.o.port);
    keepalive_through(rig.fwd, target);
}
END_TEST

START_TEST(pipelined_in_order)
{
    int fd = tc_connect("127.0.0.1", rig.rev);
    const char *req = "GET /bytes/5 HTTP/1.1\r\nHost: a\r\n\r\n"
                      "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n"
                      "HEAD /bytes/7 HTTP/1.1\r\nHost: a\r\n\r\n";
    struct tc_response r = {0};

    ck_assert_int_eq(tc_send_all(fd, req, strlen(req)), 0);
    ck_assert_int_eq(tc_read_response(fd, 0, &r), 0);
    ck_assert_str_eq(r.body, "abcde");
    tc_response_free(&r);
    ck_assert_int_eq(tc_read_response(fd, 0, &r), 0);
    ck_assert_str_eq(r.body, "hello from o1\n");
    tc_response_free(&r);
    ck_assert_int_eq(tc_read_response(fd, 1, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert(header_is(&r, "Content-Length", "7"));
    ck_assert_int_eq(r.body_len, 0);
    tc_response_free(&r);
    tc_close(fd);
}
END_TEST

/* A HEAD whose answer has a Content-Length but no body, followed at once
 * by another request on the same connection: both are answered, in
 * order, in both modes (the HEAD's head must not wait for 7 body bytes). */
START_TEST(head_then_pipelined)
{
    for (int fwd = 0; fwd < 2; fwd++) {
        char req[512];
        int fd = tc_connect("127.0.0.1", fwd ? rig.fwd : rig.rev);
        struct tc_response r = {0};

        if (fwd)
            snprintf(req, sizeof(req),
                     "HEAD http://127.0.0.1:%d/bytes/7 HTTP/1.1\r\nHost: a\r\n\r\n"
                     "GET http://127.0.0.1:%d/hello HTTP/1.1\r\nHost: a\r\n\r\n",
                     rig.o.port, rig.o.port);
        else
            snprintf(req, sizeof(req), "HEAD /bytes/7 HTTP/1.1\r\nHost: a\r\n\r\n"
                                       "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
        ck_assert_int_eq(tc_send_all(fd, req, strlen(req)), 0);
        ck_assert_int_eq(tc_read_response(fd, 1, &r), 0);
        ck_assert_int_eq(r.status, 200);
        ck_assert(header_is(&r, "Content-Length", "7"));
        ck_assert_int_eq(r.body_len, 0);
        tc_response_free(&r);
        ck_assert_int_eq(tc_read_response(fd, 0, &r), 0);
        ck_assert_int_eq(r.status, 200);
        ck_assert_str_eq(r.body, "hello from o1\n");
        tc_response_free(&r);
        tc_close(fd);
    }
    ck_assert_int_eq(th_log_lines(rig.g.access, 0, "\"HEAD ", "why=body truncated", NULL), 0);
}
END_TEST

/* Gatehouse answers "Expect: 100-continue" itself, so the origin never
 * sees the expectation (it would wait for a 100 of its own to go out, or
 * answer 417). */
START_TEST(expect_not_forwarded)
{
    char raw[512], buf[8192];

    for (int fwd = 0; fwd < 2; fwd++) {
        int fd = tc_connect("127.0.0.1", fwd ? rig.fwd : rig.rev);
        size_t got = 0;
        ssize_t n;

        if (fwd)
            snprintf(raw, sizeof(raw),
                     "POST http://127.0.0.1:%d/headers HTTP/1.1\r\nHost: example.test\r\n"
                     "Content-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
                     rig.o.port);
        else
            snprintf(raw, sizeof(raw),
                     "POST /headers HTTP/1.1\r\nHost: example.test\r\nContent-Length: 5\r\n"
                     "Expect: 100-continue\r\nConnection: close\r\n\r\n");
        ck_assert_int_eq(tc_send_all(fd, raw, strlen(raw)), 0);
        while (got < 25 && (n = read(fd, buf + got, 25 - got)) > 0)
            got += (size_t)n;
        buf[got] = '\0';
        ck_assert_str_eq(buf, "HTTP/1.1 100 Continue\r\n\r\n");
        ck_assert_int_eq(tc_send_all(fd, "hello", 5), 0);
        got = 0;
        while (got < sizeof(buf) - 1 && (n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
            got += (size_t)n;
        buf[got] = '\0';
        tc_close(fd);
        ck_assert_msg(strstr(buf, "HTTP/1.1 200 OK\r\n") && strstr(buf, "POST /headers HTTP/1.1\r\n"),
                      "got:\n%s", buf);
        ck_assert_msg(!strcasestr(buf, "\r\nexpect:"), "the origin saw the expectation:\n%s", buf);
    }
}
END_TEST

START_TEST(chunked_upload_and_download)
{
    int fd = tc_connect("127.0.0.1", rig.rev);
    const char *up = "POST /sink HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "5\r\nhello\r\n1;ext=1\r\n \r\n6\r\nworld!\r\n0\r\nX-Trailer: t\r\n\r\n";
    struct tc_response r = {0};
    char want[64];

    rig_exchange(fd, up, &r);
    ck_assert_int_eq(r.status, 200);
    /* "hello", " ", "world!": 12 bytes summing to 532 + 32 + 585 */
    ck_assert_str_eq(r.body, "bytes=12 sum=1149\n");
    tc_response_free(&r);

    rig_exchange(fd, "GET /chunked/300000 HTTP/1.1\r\nHost: a\r\n\r\n", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert(header_is(&r, "Transfer-Encoding", "chunked"));
    ck_assert_int_eq(r.body_len, 300000);
    ck_assert_int_eq(r.body_sum, tc_pattern_sum(300000));
    tc_response_free(&r);

    /* a close-delimited origin body reaches an HTTP/1.1 client chunked, and the
     * client connection survives */
    rig_exchange(fd, "GET /close/70000 HTTP/1.1\r\nHost: a\r\n\r\n", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert(header_is(&r, "Transfer-Encoding", "chunked"));
    ck_assert_int_eq(r.body_len, 70000);
    ck_assert_int_eq(r.closed, 0);
    tc_response_free(&r);
    snprintf(want, sizeof(want), "hello from o1\n");
    rig_exchange(fd, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n", &r);
    ck_assert_str_eq(r.body, want);
    tc_response_free(&r);
    tc_close(fd);
}
END_TEST

#define BIG (200ull * 1024 * 1024)

static void big_download(int port, const char *target)
{
    int fd = tc_connect("127.0.0.1", port);
    char req[256];
    struct tc_response r = {0};

    r.discard_body = 1;
    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: a\r\n\r\n", target);
    rig_exchange(fd, req, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(r.body_len, BIG);
    ck_assert_uint_eq(r.body_sum, tc_pattern_sum(BIG));
    tc_response_free(&r);
    tc_close(fd);
}

START_TEST(big_bodies_stream_in_bounded_memory)
{
    char target[128], head[256], buf[65536];
    int fd;
    struct tc_response r = {0};
    long peak;
    uint64_t left = BIG, sum = 0;

    snprintf(target, sizeof(target), "/bytes/%llu", BIG);
    big_download(rig.rev, target);
    snprintf(target, sizeof(target), "http://127.0.0.1:%d/bytes/%llu", rig.o.port, BIG);
    big_download(rig.fwd, target);
    /* and 200 MB up, through the reverse listener */
    fd = tc_connect("127.0.0.1", rig.rev);
    snprintf(head, sizeof(head), "POST /sink HTTP/1.1\r\nHost: a\r\nContent-Length: %llu\r\n\r\n", BIG);
    ck_assert_int_eq(tc_send_all(fd, head, strlen(head)), 0);
    memset(buf, 'z', sizeof(buf));
    while (left) {
        size_t n = left < sizeof(buf) ? (size_t)left : sizeof(buf);
        ck_assert_int_eq(tc_send_all(fd, buf, n), 0);
        sum += (uint64_t)n * 'z';
        left -= n;
    }
    ck_assert_int_eq(tc_read_response(fd, 0, &r), 0);
    snprintf(head, sizeof(head), "bytes=%llu sum=%llu\n", BIG, (unsigned long long)sum);
    ck_assert_str_eq(r.body, head);
    tc_response_free(&r);
    tc_close(fd);
    peak = th_peak_rss_kb(rig.g.pid);
    ck_assert_msg(peak > 0 && peak < 50 * 1024, "gatehouse peak RSS %ld KiB", peak);
}
END_TEST

START_TEST(origin_dies_mid_response)
{
    int fd = tc_connect("127.0.0.1", rig.rev);
    struct tc_response r = {0};

    rig_exchange(fd, "GET /truncate/100000 HTTP/1.1\r\nHost: a\r\n\r\n", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(r.truncated, 1);
    ck_assert_uint_lt(r.body_len, 100000);
    tc_response_free(&r);
    tc_close(fd);
    ck_assert_int_eq(th_log_lines(rig.g.access, 1, "GET /truncate/100000", "why=body truncated",
                                  NULL), 1);
}
END_TEST

START_TEST(unreachable_origin_is_502)
{
    char target[128];
    struct tc_response r = {0};
    int dead = th_free_port();

    snprintf(target, sizeof(target), "http://127.0.0.1:%d/", dead);
    get(rig.fwd, target, NULL, &r);
    ck_assert_int_eq(r.status, 502);
    tc_response_free(&r);
    ck_assert_int_eq(th_log_lines(rig.g.access, 1, "\" 502 ", "why=upstream connection refused",
                                  NULL), 1);
}
END_TEST

START_TEST(smuggling_attempt_is_400)
{
    int fd = tc_connect("127.0.0.1", rig.rev);
    struct tc_response r = {0};

    rig_exchange(fd,
                 "POST /sink HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                 &r);
    ck_assert_int_eq(r.status, 400);
    ck_assert_int_eq(r.closed, 1);
    tc_response_free(&r);
    tc_close(fd);
    /* the origin never saw it */
    ck_assert_int_eq(th_log_lines(rig.o.log, 0, "/sink", NULL), 0);
    ck_assert_int_eq(th_log_lines(rig.g.access, 1, "\" 400 ", "listener=site", NULL), 1);
}
END_TEST

/* A chunked body whose framing is broken within the bytes that came with
 * the head reaches no origin, in either mode: the origin's log shows only
 * the /hello asked afterwards (which it logs after anything sent before). */
START_TEST(bad_chunked_body_reaches_no_origin)
{
    struct tc_response r = {0};
    char raw[512];
    int ports[2] = {rig.rev, rig.fwd};

    for (int m = 0; m < 2; m++) {
        int fd = tc_connect("127.0.0.1", ports[m]);
        if (m == 0)
            snprintf(raw, sizeof(raw), "POST /sink?bad HTTP/1.1\r\nHost: a\r\n");
        else
            snprintf(raw, sizeof(raw), "POST http://127.0.0.1:%d/sink?bad HTTP/1.1\r\nHost: a\r\n",
                     rig.o.port);
        strcat(raw, "Transfer-Encoding: chunked\r\n\r\n4\r\nabcdXX\r\n0\r\n\r\n");
        rig_exchange(fd, raw, &r);
        ck_assert_int_eq(r.status, 400);
        ck_assert_int_eq(r.closed, 1);
        tc_response_free(&r);
        tc_close(fd);
        if (m == 0)
            get(rig.rev, "/hello", NULL, &r);
        else {
            snprintf(raw, sizeof(raw), "http://127.0.0.1:%d/hello", rig.o.port);
            get(rig.fwd, raw, NULL, &r);
        }
        ck_assert_int_eq(r.status, 200);
        tc_response_free(&r);
        ck_assert_int_ge(th_log_lines(rig.o.log, m + 1, "/hello", NULL), m + 1);
        ck_assert_int_eq(th_log_lines(rig.o.log, 0, "/sink", NULL), 0);
    }
    ck_assert_int_eq(th_log_lines(rig.g.access, 2, "\" 400 ", "why=missing CRLF after chunk data",
                                  NULL), 2);
}
END_TEST

/* ---- interim (1xx) responses ---- */

/* Sends raw on a new connection to port and reads until the server closes
 * (raw asks for Connection: close).  Returns the bytes read into buf
 * (NUL-terminated). */
static size_t raw_until_close(int port, const char *raw, char *buf, size_t cap)
{
    int fd = tc_connect("127.0.0.1", port);
    size_t got = 0;
    ssize_t n;

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(tc_send_all(fd, raw, strlen(raw)), 0);
    while (got < cap - 1 && (n = read(fd, buf + got, cap - 1 - got)) > 0)
        got += (size_t)n;
    buf[got] = '\0';
    tc_close(fd);
    return got;
}

/* The request line's target for /interim in either mode. */
static void interim_target(int forward, const char *query, char *dst, size_t cap)
{
    if (forward)
        snprintf(dst, cap, "http://127.0.0.1:%d/interim?%s", rig.o.port, query);
    else
        snprintf(dst, cap, "/interim?%s", query);
}

/* 103, 100 and 102 from the origin reach the client in order, before the
 * final response, in both modes: hop-by-hop fields (Connection, what it
 * names, Keep-Alive) removed, Via added, and in reverse mode Server hidden
 * as on any response. */
START_TEST(interim_responses_relayed)
{
    static const char *want[2] = {
        "HTTP/1.1 103 Early Hints\r\n"
        "Link: </style.css>; rel=preload; as=style\r\nLink: </app.js>; rel=preload; as=script\r\n"
        "Via: 1.1 gatehouse\r\n\r\n"
        "HTTP/1.1 100 Continue\r\nVia: 1.1 gatehouse\r\n\r\n"
        "HTTP/1.1 102 Processing\r\nVia: 1.1 gatehouse\r\n\r\n"
        "HTTP/1.1 103 Early Hints\r\n"
        "Link: </style.css>; rel=preload; as=style\r\nLink: </app.js>; rel=preload; as=script\r\n"
        "Via: 1.1 gatehouse\r\n\r\n"
        "HTTP/1.1 200 OK\r\n",
        "HTTP/1.1 103 Early Hints\r\nServer: gh-origin\r\n"
        "Link: </style.css>; rel=preload; as=style\r\nLink: </app.js>; rel=preload; as=script\r\n"
        "Via: 1.1 gatehouse\r\n\r\n"
        "HTTP/1.1 100 Continue\r\nServer: gh-origin\r\nVia: 1.1 gatehouse\r\n\r\n"
        "HTTP/1.1 102 Processing\r\nServer: gh-origin\r\nVia: 1.1 gatehouse\r\n\r\n"
        "HTTP/1.1 103 Early Hints\r\nServer: gh-origin\r\n"
        "Link: </style.css>; rel=preload; as=style\r\nLink: </app.js>; rel=preload; as=script\r\n"
        "Via: 1.1 gatehouse\r\n\r\n"
        "HTTP/1.1 200 OK\r\n",
    };
    char target[256], raw[512], buf[8192];

    for (int fwd = 0; fwd < 2; fwd++) {
        interim_target(fwd, "codes=103,100,102,103", target, sizeof(target));
        snprintf(raw, sizeof(raw), "GET %s HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n",
                 target);
        raw_until_close(fwd ? rig.fwd : rig.rev, raw, buf, sizeof(buf));
        ck_assert_msg(strncmp(buf, want[fwd], strlen(want[fwd])) == 0, "%s mode got:\n%s",
                      fwd ? "forward" : "reverse", buf);
        ck_assert_msg(strstr(buf, "\r\n\r\ninterim done bytes=0\n"), "%s", buf);
        ck_assert_ptr_null(strstr(buf, "X-Hop"));
        ck_assert_ptr_null(strstr(buf, "Keep-Alive"));
    }
    /* the access log has the final status */
    ck_assert_int_eq(th_log_lines(rig.g.access, 2, "/interim?codes=103,100,102,103 HTTP/1.1\" 200 ",
                                  NULL), 2);
}
END_TEST

/* An HTTP/1.0 client gets no 1xx at all (RFC 9110 15.2), only the final
 * response; and a keep-alive connection goes on after interim responses. */
START_TEST(interim_not_to_http10_and_keepalive)
{
    char target[256], raw[512], buf[8192];
    struct tc_response r = {0};

    for (int fwd = 0; fwd < 2; fwd++) {
        interim_target(fwd, "codes=103,100,102", target, sizeof(target));
        snprintf(raw, sizeof(raw), "GET %s HTTP/1.0\r\nHost: example.test\r\n\r\n", target);
        raw_until_close(fwd ? rig.fwd : rig.rev, raw, buf, sizeof(buf));
        ck_assert_msg(strncmp(buf, "HTTP/1.1 200 OK\r\n", 17) == 0, "got:\n%s", buf);
        ck_assert_ptr_null(strstr(buf, " 103 "));
        ck_assert_ptr_null(strstr(buf, " 100 "));
        ck_assert_msg(strstr(buf, "\r\n\r\ninterim done bytes=0\n"), "%s", buf);
    }
    /* three exchanges on one connection, each with interim responses */
    int fd = tc_connect("127.0.0.1", rig.rev);
    for (int k = 0; k < 3; k++) {
        rig_exchange(fd, "GET /interim?codes=103,102 HTTP/1.1\r\nHost: example.test\r\n\r\n", &r);
        ck_assert_int_eq(r.status, 200);
        ck_assert_str_eq(r.body, "interim done bytes=0\n");
        ck_assert_int_eq(r.closed, 0);
        tc_response_free(&r);
    }
    tc_close(fd);
}
END_TEST

/* Gatehouse answers "Expect: 100-continue" itself; the origin's own 100
 * then makes no second one, while its other interim responses go on.  A
 * request without the expectation gets the origin's 100 as it is. */
START_TEST(interim_100_not_doubled)
{
    char target[256], raw[512], buf[8192];
    size_t got = 0;
    ssize_t n;

    for (int fwd = 0; fwd < 2; fwd++) {
        int fd = tc_connect("127.0.0.1", fwd ? rig.fwd : rig.rev);
        interim_target(fwd, "codes=100,103,100", target, sizeof(target));
        snprintf(raw, sizeof(raw),
                 "POST %s HTTP/1.1\r\nHost: example.test\r\nContent-Length: 5\r\n"
                 "Expect: 100-continue\r\nConnection: close\r\n\r\n",
                 target);
        ck_assert_int_eq(tc_send_all(fd, raw, strlen(raw)), 0);
        got = 0;
        while (got < 25 && (n = read(fd, buf + got, 25 - got)) > 0) /* our own 100 first */
            got += (size_t)n;
        buf[got] = '\0';
        ck_assert_str_eq(buf, "HTTP/1.1 100 Continue\r\n\r\n");
        ck_assert_int_eq(tc_send_all(fd, "hello", 5), 0);
        got = 0;
        while (got < sizeof(buf) - 1 && (n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
            got += (size_t)n;
        buf[got] = '\0';
        tc_close(fd);
        ck_assert_msg(strncmp(buf, "HTTP/1.1 103 Early Hints\r\n", 26) == 0, "got:\n%s", buf);
        ck_assert_msg(!strstr(buf, " 100 Continue"), "a second 100:\n%s", buf);
        ck_assert_msg(strstr(buf, "HTTP/1.1 200 OK\r\n") && strstr(buf, "\r\n\r\ninterim done bytes=5\n"),
                      "%s", buf);
    }
    /* no expectation: the origin's 100 is the only one */
    snprintf(raw, sizeof(raw),
             "POST /interim?codes=100 HTTP/1.1\r\nHost: example.test\r\nContent-Length: 5\r\n"
             "Connection: close\r\n\r\nhello");
    raw_until_close(rig.rev, raw, buf, sizeof(buf));
    ck_assert_msg(strncmp(buf, "HTTP/1.1 100 Continue\r\nVia: 1.1 gatehouse\r\n\r\nHTTP/1.1 200 OK\r\n", 62) == 0,
                  "got:\n%s", buf);
    ck_assert_msg(strstr(buf, "interim done bytes=5\n"), "%s", buf);
}
END_TEST

/* A long run of interim responses (a slow WebDAV server's 102s, an
 * origin that floods): every one arrives, in order, then the final one.
 * Far more than a buffer holds, so gatehouse must wait for the client. */
START_TEST(interim_flood_in_order)
{
    enum { N = 20000 };
    static char buf[4 << 20];
    char raw[512];
    size_t len;
    const char *p, *end;
    unsigned seen = 0;

    snprintf(raw, sizeof(raw),
             "GET http://127.0.0.1:%d/interim?codes=102&repeat=%d HTTP/1.1\r\nHost: a\r\n"
             "Connection: close\r\n\r\n",
             rig.o.port, N);
    len = raw_until_close(rig.fwd, raw, buf, sizeof(buf));
    end = buf + len;
    for (p = buf; (size_t)(end - p) >= 17 && memcmp(p, "HTTP/1.1 102 ", 13) == 0; seen++) {
        const char *e = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
        ck_assert_ptr_nonnull(e);
        p = e + 4;
    }
    ck_assert_uint_eq(seen, N);
    ck_assert_msg((size_t)(end - p) > 17 && memcmp(p, "HTTP/1.1 200 OK\r\n", 17) == 0, "after %u: %.200s",
                  seen, p);
    ck_assert_msg(strstr(p, "interim done bytes=0\n"), "%.300s", p);
}
END_TEST

/* A cached route: the final response is stored and served again, and the
 * 103 that came before it is neither stored nor replayed, nor taken for
 * the response. */
START_TEST(interim_never_cached)
{
    struct th_gatehouse g;
    char conf[2048], buf[8192], raw[256];
    int port = th_free_port();

    snprintf(conf, sizeof(conf),
             "log = { access = \"@ACCESS@\"; };\n"
             "listeners = ( { name = \"site\"; mode = \"reverse\"; listen = \"127.0.0.1:%d\"; routes = \"r\"; } );\n"
             "pools = { app = { servers = ( { address = \"127.0.0.1:%d\"; } ); }; };\n"
             "routes = { r = ( { pool = \"app\"; cache = true; } ); };\n",
             port, rig.o.port);
    ck_assert_int_eq(th_gatehouse_start(&g, conf), 0);
    snprintf(raw, sizeof(raw), "GET /interim?codes=103&cc=max-age%%3D60 HTTP/1.1\r\nHost: c.test\r\n"
                               "Connection: close\r\n\r\n");
    raw_until_close(port, raw, buf, sizeof(buf));
    ck_assert_msg(strncmp(buf, "HTTP/1.1 103 Early Hints\r\n", 26) == 0, "got:\n%s", buf);
    ck_assert_msg(strstr(buf, "HTTP/1.1 200 OK\r\n") && strstr(buf, "stored") &&
                      strstr(buf, "interim done bytes=0\n"),
                  "%s", buf);
    raw_until_close(port, raw, buf, sizeof(buf));
    ck_assert_msg(strncmp(buf, "HTTP/1.1 200 OK\r\n", 17) == 0, "got:\n%s", buf);
    ck_assert_msg(strstr(buf, "Cache-Status: gatehouse; hit") && strstr(buf, "interim done bytes=0\n") &&
                      !strstr(buf, "103") && !strstr(buf, "Link:"),
                  "%s", buf);
    ck_assert_int_eq(th_log_lines(rig.o.log, 0, "/interim?codes=103&cc", NULL), 1);
    ck_assert_int_eq(th_gatehouse_stop(&g, SIGTERM, 10000), 0);
    ck_assert_msg(th_log_lines(g.errlog, 0, "Sanitizer", NULL) == 0 &&
                      th_log_lines(g.errlog, 0, "runtime error:", NULL) == 0,
                  "sanitizer report in %s", g.errlog);
    th_sh(NULL, 0, "rm -rf %s", g.dir);
}
END_TEST

/* Asked about itself, the forward proxy answers with its own pages. */
START_TEST(forward_serves_its_own_pages)
{
    struct tc_response r = {0};
    char want[64];

    get(rig.fwd, "/", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "<h1>gatehouse "));
    ck_assert_ptr_nonnull(strstr(r.body, "upstream connections reused"));
    tc_response_free(&r);
    get(rig.fwd, "/proxy.pac", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert(header_is(&r, "Content-Type", "application/x-ns-proxy-autoconfig"));
    /* the PAC names the proxy as the client reached it (its Host field) */
    snprintf(want, sizeof(want), "return \"PROXY example.test\";");
    ck_assert_msg(strstr(r.body, "function FindProxyForURL(url, host)") && strstr(r.body, want),
                  "pac: %s", r.body);
    tc_response_free(&r);
    get(rig.fwd, "/wpad.dat", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    tc_response_free(&r);
    get(rig.fwd, "/elsewhere", NULL, &r);
    ck_assert_int_eq(r.status, 404);
    tc_response_free(&r);
}
END_TEST

/* A name goes through the resolver (c-ares reads /etc/hosts); "localhost"
 * may also give ::1, where nothing listens: the next address is tried. */
START_TEST(forward_resolves_names)
{
    char target[128];
    struct tc_response r = {0};

    snprintf(target, sizeof(target), "http://localhost:%d/hello", rig.o.port);
    get(rig.fwd, target, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "hello from o1\n");
    tc_response_free(&r);
}
END_TEST

START_TEST(privileges_are_dropped)
{
    char out[256];

    if (geteuid() != 0)
        return; /* nothing to drop */
    th_sh(out, sizeof(out), "awk '/^Uid:/ {print $2}' /proc/%d/status", (int)rig.g.pid);
    ck_assert_msg(atoi(out) != 0, "gatehouse still runs as uid %s", out);
}
END_TEST

Suite *proxy_suite(void)
{
    Suite *s = suite_create("proxy");
    TCase *tc = tcase_create("both modes");

    tcase_add_checked_fixture(tc, up, down);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, reverse_serves_origin);
    tcase_add_test(tc, forward_rewrites_and_strips);
    tcase_add_test(tc, forward_strips_every_connection_listed);
    tcase_add_test(tc, keepalive_reverse);
    tcase_add_test(tc, keepalive_forward);
    tcase_add_test(tc, pipelined_in_order);
    tcase_add_test(tc, head_then_pipelined);
    tcase_add_test(tc, expect_not_forwarded);
    tcase_add_test(tc, chunked_upload_and_download);
    tcase_add_test(tc, big_bodies_stream_in_bounded_memory);
    tcase_add_test(tc, origin_dies_mid_response);
    tcase_add_test(tc, unreachable_origin_is_502);
    tcase_add_test(tc, smuggling_attempt_is_400);
    tcase_add_test(tc, bad_chunked_body_reaches_no_origin);
    tcase_add_test(tc, interim_responses_relayed);
    tcase_add_test(tc, interim_not_to_http10_and_keepalive);
    tcase_add_test(tc, interim_100_not_doubled);
    tcase_add_test(tc, interim_never_cached);
    tcase_add_test(tc, interim_flood_in_order);
    tcase_add_test(tc, forward_serves_its_own_pages);
    tcase_add_test(tc, forward_resolves_names);
    tcase_add_test(tc, privileges_are_dropped);
    suite_add_tcase(s, tc);
    return s;
}

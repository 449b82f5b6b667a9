/* check_proxy.c — both modes end to end over real sockets: what the client
 * gets, what the origin receives, and what the access log says. */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct rig rig;

static void up(void) { rig_up(&rig); }
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
    tcase_add_test(tc, keepalive_reverse);
    tcase_add_test(tc, keepalive_forward);
    tcase_add_test(tc, pipelined_in_order);
    tcase_add_test(tc, chunked_upload_and_download);
    tcase_add_test(tc, big_bodies_stream_in_bounded_memory);
    tcase_add_test(tc, origin_dies_mid_response);
    tcase_add_test(tc, unreachable_origin_is_502);
    tcase_add_test(tc, smuggling_attempt_is_400);
    tcase_add_test(tc, bad_chunked_body_reaches_no_origin);
    tcase_add_test(tc, forward_serves_its_own_pages);
    tcase_add_test(tc, forward_resolves_names);
    tcase_add_test(tc, privileges_are_dropped);
    suite_add_tcase(s, tc);
    return s;
}

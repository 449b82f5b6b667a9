/* check_splice.c — bodies that move socket to socket through a pipe
 * (splice(2), issue 22): responses of 0 B to 10 MB and chunked ones with
 * odd chunk sizes arrive byte for byte, to a fast reader and to one that
 * reads slowly; request bodies (Content-Length and chunked) reach the
 * origin whole, and the next request on the connection after them works;
 * a client or an origin that stops mid-body leaves the proxy serving.
 * /metrics' gatehouse_spliced_bytes_total shows that the pipe was
 * used, and that it was not when the body was compressed or cached. */
#include "common.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct origin org;
static struct th_gatehouse gh;
static int site;

/* Chunk sizes of /big-chunks: large ones, which the pipe takes, between
 * odd small ones. */
static const size_t big_sizes[] = {1048576, 1, 300001, 7, 2000003, 3};
#define BIG_TOTAL (1048576 + 1 + 300001 + 7 + 2000003 + 3)

/* A chunked answer written byte by byte (origin_raw), the data the
 * pattern, in chunks of big_sizes. */
static void big_chunks(struct origin_reply *re)
{
    static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                               "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    char *p = malloc(BIG_TOTAL + 1024), *at = p;
    size_t i = 0;

    if (!p)
        abort();
    at += sprintf(at, "%s", head);
    for (size_t k = 0; k < sizeof(big_sizes) / sizeof(big_sizes[0]); k++) {
        at += sprintf(at, "%zx\r\n", big_sizes[k]);
        for (size_t j = 0; j < big_sizes[k]; j++, i++)
            *at++ = (char)('a' + i % 26);
        at += sprintf(at, "\r\n");
    }
    at += sprintf(at, "0\r\n\r\n");
    origin_raw(re, p, (size_t)(at - p));
    free(p);
}

/* /big-chunks: see above; /n/N: N pattern bytes; /t/N: the same as text/plain (compressible);
 * /c/N: chunked (sizes 1, 7, 4096, 65536 in turn); /cut/N: announces N,
 * sends N/2 and closes; /cache/N: cacheable; /sink: the request body's
 * length and sum. */
static void answer(const struct origin_request *rq, struct origin_reply *re)
{
    uint64_t n;

    if (strcmp(rq->path, "/sink") == 0) {
        origin_text(re, "bytes=%" PRIu64 " sum=%" PRIu64 "\n", rq->body_len, rq->body_sum);
    } else if (origin_path_num(rq, "/n/", &n)) {
        origin_pattern(re, n);
    } else if (origin_path_num(rq, "/t/", &n)) {
        origin_body(re, "text/plain", "", 0);
        origin_pattern(re, n);
    } else if (origin_path_num(rq, "/c/", &n)) {
        origin_pattern(re, n);
        origin_chunked(re);
    } else if (strcmp(rq->path, "/big-chunks") == 0) {
        big_chunks(re);
    } else if (origin_path_num(rq, "/cut/", &n)) {
        origin_pattern(re, n);
        origin_cut(re, n / 2);
    } else if (origin_path_num(rq, "/cache/", &n)) {
        origin_add(re, "Cache-Control: max-age=300");
        origin_pattern(re, n);
    } else {
        origin_status(re, 404);
        origin_text(re, "not found\n");
    }
}

static void rig_start(void)
{
    char conf[2048];

    if (origin_start(&org, "splice", answer) < 0)
        abort();
    site = th_free_port();
    snprintf(conf, sizeof(conf),
             "log = { access = \"@ACCESS@\"; };\n"
             "listeners = ( { name = \"site\"; mode = \"reverse\"; listen = \"127.0.0.1:%d\";\n"
             "                routes = \"r\"; metrics_path = \"/metrics\"; } );\n"
             "cache = { memory_mb = 16; };\n"
             "pools = { app = { servers = ( { address = \"127.0.0.1:%d\"; } ); }; };\n"
             "routes = { r = (\n"
             "  { host = \"z.test\"; pool = \"app\"; compress = { min_length = 0; }; },\n"
             "  { host = \"cache.test\"; pool = \"app\"; cache = true; },\n"
             "  { path = \"/\"; pool = \"app\"; } ); };\n",
             site, org.port);
    if (th_gatehouse_start(&gh, conf) < 0)
        abort();
}

static void rig_stop(void)
{
    rig_origin_stop(&org);
    rig_stop_clean(&gh);
}

/* gatehouse_spliced_bytes_total{listener="site"} now (0 before the
 * first exchange has ended, which creates the series). */
static uint64_t spliced(void)
{
    static const char name[] = "\ngatehouse_spliced_bytes_total{listener=\"site\"} ";
    struct tc_response r = {0};
    const char *p;
    uint64_t v;

    ck_assert_int_ge(tc_request("127.0.0.1", site,
                                "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &r),
                     0);
    ck_assert_int_eq(r.status, 200);
    p = strstr(r.body, name);
    v = p ? strtoull(p + sizeof(name) - 1, NULL, 10) : 0;
    tc_response_free(&r);
    return v;
}

/* Sends the string s on fd. */
static int send_str(int fd, const char *s)
{
    return tc_send_all(fd, s, strlen(s));
}

/* Whether p[0..n) is the origin's pattern ('a' + i % 26) byte for byte. */
static int is_pattern(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (char)('a' + i % 26))
            return 0;
    return 1;
}

/* GET path (Host: host) on fd; the answer must be 200 with n pattern bytes. */
static void get_exact(int fd, const char *host, const char *path, size_t n)
{
    char raw[256];
    struct tc_response r = {0};

    snprintf(raw, sizeof(raw), "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, host);
    ck_assert_int_eq(tc_send_all(fd, raw, strlen(raw)), 0);
    ck_assert_int_eq(tc_read_response(fd, 0, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(r.truncated, 0);
    ck_assert_uint_eq(r.body_len, n);
    ck_assert_msg(is_pattern(r.body, r.body_len), "%s: the bytes differ from the origin's", path);
    tc_response_free(&r);
}

START_TEST(content_length_bodies_cross_exact_and_through_the_pipe)
{
    static const size_t sizes[] = {0, 1, 65536, 1048576, 10485760};
    uint64_t before = spliced(), after;
    int fd = tc_connect("127.0.0.1", site);
    char path[64];

    ck_assert_int_ge(fd, 0);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) { /* one keep-alive connection */
        snprintf(path, sizeof(path), "/n/%zu", sizes[i]);
        get_exact(fd, "site.test", path, sizes[i]);
    }
    get_exact(fd, "site.test", "/n/100", 100); /* the connection goes on after them */
    tc_close(fd);
    after = spliced();
    /* most of the 10 MB and the 1 MB went through the pipe (the first
     * read takes the head and up to a buffer of the body) */
    ck_assert_uint_ge(after - before, 10485760u);
    ck_assert_uint_le(after - before, 1u + 65536u + 1048576u + 10485760u + 100u);
}
END_TEST

START_TEST(chunked_bodies_cross_exact_with_their_framing_parsed)
{
    uint64_t before = spliced(), after;
    struct tc_response r = {0};
    int fd = tc_connect("127.0.0.1", site);

    ck_assert_int_ge(fd, 0);
    /* chunks of 1, 7, 4096 and 65536 bytes in turn, re-chunked to an
     * HTTP/1.1 client */
    ck_assert_int_eq(send_str(fd, "GET /c/3000001 HTTP/1.1\r\nHost: s\r\n\r\n"), 0);
    ck_assert_int_eq(tc_read_response(fd, 0, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(r.chunked, 1);
    ck_assert_int_eq(r.truncated, 0);
    ck_assert_uint_eq(r.body_len, 3000001);
    ck_assert(is_pattern(r.body, r.body_len));
    tc_response_free(&r);
    get_exact(fd, "s", "/c/12345", 12345); /* and the next one on the same connection */
    tc_close(fd);

    /* chunks of a megabyte and more between odd small ones: the pipe
     * takes the large ones' data, to HTTP/1.1 (re-chunked) and to
     * HTTP/1.0 (unframed, delimited by the close) */
    for (int minor = 1; minor >= 0; minor--) {
        char raw[96];
        before = spliced();
        snprintf(raw, sizeof(raw), "GET /big-chunks HTTP/1.%d\r\nHost: s\r\n\r\n", minor);
        ck_assert_int_ge(tc_request("127.0.0.1", site, raw, &r), 0);
        ck_assert_int_eq(r.status, 200);
        ck_assert_int_eq(r.chunked, minor);
        ck_assert_int_eq(r.truncated, 0);
        ck_assert_uint_eq(r.body_len, BIG_TOTAL);
        ck_assert(is_pattern(r.body, r.body_len));
        tc_response_free(&r);
        after = spliced();
        ck_assert_uint_gt(after - before, 3000000u);
    }
    /* an HTTP/1.0 client, small chunks */
    ck_assert_int_ge(tc_request("127.0.0.1", site, "GET /c/2000000 HTTP/1.0\r\nHost: s\r\n\r\n", &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(r.chunked, 0);
    ck_assert_uint_eq(r.body_len, 2000000);
    ck_assert(is_pattern(r.body, r.body_len));
    tc_response_free(&r);
}
END_TEST

START_TEST(pipelined_requests_after_spliced_bodies)
{
    static const char two[] = "GET /n/2000000 HTTP/1.1\r\nHost: s\r\n\r\n"
                              "GET /c/1500000 HTTP/1.1\r\nHost: s\r\n\r\n"
                              "GET /n/7 HTTP/1.1\r\nHost: s\r\n\r\n";
    static const size_t want[] = {2000000, 1500000, 7};
    struct tc_response r = {0};
    int fd = tc_connect("127.0.0.1", site);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(tc_send_all(fd, two, sizeof(two) - 1), 0);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(tc_read_response(fd, 0, &r), 0);
        ck_assert_int_eq(r.status, 200);
        ck_assert_uint_eq(r.body_len, want[i]);
        ck_assert(is_pattern(r.body, r.body_len));
        tc_response_free(&r);
    }
    tc_close(fd);
}
END_TEST

/* Sends n pattern bytes on fd, as chunks of the sizes in `sizes` in turn
 * when chunked. */
static void send_pattern(int fd, size_t n, int chunked)
{
    static const size_t sizes[] = {1, 70001, 3, 16384, 99999, 5};
    char *p = malloc(n + 1);
    size_t at = 0, k = 0;
    char line[32];

    ck_assert_ptr_nonnull(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (char)('a' + i % 26);
    while (at < n) {
        size_t len = chunked ? (sizes[k % 6] < n - at ? sizes[k % 6] : n - at) : n - at;
        k++;
        if (chunked) {
            snprintf(line, sizeof(line), "%zx\r\n", len);
            ck_assert_int_eq(tc_send_all(fd, line, strlen(line)), 0);
        }
        ck_assert_int_eq(tc_send_all(fd, p + at, len), 0);
        if (chunked)
            ck_assert_int_eq(send_str(fd, "\r\n"), 0);
        at += len;
    }
    if (chunked)
        ck_assert_int_eq(send_str(fd, "0\r\n\r\n"), 0);
    free(p);
}

/* The origin's "bytes= sum=" answer on fd must say n pattern bytes. */
static void sink_says(int fd, size_t n)
{
    struct tc_response r = {0};
    char want[96];

    ck_assert_int_eq(tc_read_response(fd, 0, &r), 0);
    ck_assert_int_eq(r.status, 200);
    snprintf(want, sizeof(want), "bytes=%zu sum=%" PRIu64 "\n", n, tc_pattern_sum(n));
    ck_assert_str_eq(r.body, want);
    tc_response_free(&r);
}

START_TEST(request_bodies_reach_the_origin_whole)
{
    uint64_t before = spliced();
    char head[128];
    int fd = tc_connect("127.0.0.1", site);

    ck_assert_int_ge(fd, 0);
    snprintf(head, sizeof(head), "POST /sink HTTP/1.1\r\nHost: s\r\nContent-Length: %d\r\n\r\n", 10485760);
    ck_assert_int_eq(tc_send_all(fd, head, strlen(head)), 0);
    send_pattern(fd, 10485760, 0);
    sink_says(fd, 10485760);
    /* chunked, odd sizes, on the same connection */
    snprintf(head, sizeof(head), "POST /sink HTTP/1.1\r\nHost: s\r\nTransfer-Encoding: chunked\r\n\r\n");
    ck_assert_int_eq(tc_send_all(fd, head, strlen(head)), 0);
    send_pattern(fd, 1000003, 1);
    sink_says(fd, 1000003);
    /* a body then the next request in the same write */
    ck_assert_int_eq(send_str(fd, "POST /sink HTTP/1.1\r\nHost: s\r\nContent-Length: 1\r\n\r\nx"
                                     "GET /n/3 HTTP/1.1\r\nHost: s\r\n\r\n"), 0);
    {
        struct tc_response r = {0};
        ck_assert_int_eq(tc_read_response(fd, 0, &r), 0);
        ck_assert_str_eq(r.body, "bytes=1 sum=120\n");
        tc_response_free(&r);
        ck_assert_int_eq(tc_read_response(fd, 0, &r), 0);
        ck_assert_uint_eq(r.body_len, 3);
        ck_assert(is_pattern(r.body, 3));
        tc_response_free(&r);
    }
    get_exact(fd, "s", "/n/5", 5);
    tc_close(fd);
    ck_assert_uint_ge(spliced() - before, 5000000u);
}
END_TEST

START_TEST(a_slow_reader_gets_every_byte)
{
    int fd = tc_connect("127.0.0.1", site), small = 4096;
    char *got = malloc(4 << 20), buf[8192], *body;
    size_t len = 0, want = 3 << 20;
    struct timespec pause = {0, 2000000};

    ck_assert_int_ge(fd, 0);
    ck_assert_ptr_nonnull(got);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    ck_assert_int_eq(send_str(fd, "GET /n/3145728 HTTP/1.1\r\nHost: s\r\nConnection: close\r\n\r\n"), 0);
    /* 8 KB at a time with a pause after every 64 KB: bounded by the
     * socket's 10 s timeout per read and by the size */
    for (int i = 0; len < want + 4096 && i < 100000; i++) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0)
            break;
        memcpy(got + len, buf, (size_t)n);
        len += (size_t)n;
        if (i % 8 == 0)
            nanosleep(&pause, NULL);
    }
    close(fd);
    got[len] = 0;
    body = strstr(got, "\r\n\r\n");
    ck_assert_ptr_nonnull(body);
    body += 4;
    ck_assert_uint_eq(len - (size_t)(body - got), want);
    ck_assert(is_pattern(body, want));
    free(got);
}
END_TEST

START_TEST(peers_that_stop_mid_body)
{
    struct tc_response r = {0};
    char buf[65536];
    int fd;

    /* the origin dies halfway: the client sees the body cut short */
    ck_assert_int_eq(tc_request("127.0.0.1", site, "GET /cut/4000000 HTTP/1.1\r\nHost: s\r\n\r\n", &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(r.truncated, 1);
    ck_assert_uint_lt(r.body_len, 4000000);
    ck_assert(is_pattern(r.body, r.body_len));
    tc_response_free(&r);

    /* the client reads a little of 10 MB, then goes */
    fd = tc_connect("127.0.0.1", site);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(send_str(fd, "GET /n/10485760 HTTP/1.1\r\nHost: s\r\n\r\n"), 0);
    ck_assert_int_gt(read(fd, buf, sizeof(buf)), 0);
    tc_close(fd);

    /* the client sends half a body, then goes */
    fd = tc_connect("127.0.0.1", site);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(send_str(fd, "POST /sink HTTP/1.1\r\nHost: s\r\nContent-Length: 4000000\r\n\r\n"), 0);
    send_pattern(fd, 2000000, 0);
    tc_close(fd);

    /* and the proxy goes on serving */
    fd = tc_connect("127.0.0.1", site);
    ck_assert_int_ge(fd, 0);
    get_exact(fd, "s", "/n/2000000", 2000000);
    tc_close(fd);
}
END_TEST

START_TEST(no_pipe_when_the_body_is_compressed_or_cached)
{
    uint64_t before = spliced();
    struct tc_response r = {0};

    /* compressed: the body passes through the encoder */
    ck_assert_int_ge(tc_request("127.0.0.1", site,
                                "GET /t/2000000 HTTP/1.1\r\nHost: z.test\r\nAccept-Encoding: gzip\r\n"
                                "Connection: close\r\n\r\n", &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(tc_header(&r, "Content-Encoding", NULL));
    tc_response_free(&r);
    /* filling the cache: the tee sees every byte; then a hit from memory */
    for (int i = 0; i < 2; i++) {
        int fd = tc_connect("127.0.0.1", site);
        ck_assert_int_ge(fd, 0);
        get_exact(fd, "cache.test", "/cache/2000000", 2000000);
        tc_close(fd);
    }
    ck_assert_uint_eq(spliced() - before, 0);
    /* the same object, uncompressed and uncached, does go through it */
    ck_assert_int_ge(tc_request("127.0.0.1", site,
                                "GET /t/2000000 HTTP/1.1\r\nHost: s\r\nConnection: close\r\n\r\n", &r), 0);
    ck_assert_uint_eq(r.body_len, 2000000);
    ck_assert(is_pattern(r.body, r.body_len));
    tc_response_free(&r);
    ck_assert_uint_gt(spliced() - before, 1000000u);
}
END_TEST

Suite *splice_suite(void)
{
    Suite *s = suite_create("splice");
    TCase *tc = tcase_create("splice");

    tcase_add_unchecked_fixture(tc, rig_start, rig_stop);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, content_length_bodies_cross_exact_and_through_the_pipe);
    tcase_add_test(tc, chunked_bodies_cross_exact_with_their_framing_parsed);
    tcase_add_test(tc, pipelined_requests_after_spliced_bodies);
    tcase_add_test(tc, request_bodies_reach_the_origin_whole);
    tcase_add_test(tc, a_slow_reader_gets_every_byte);
    tcase_add_test(tc, peers_that_stop_mid_body);
    tcase_add_test(tc, no_pipe_when_the_body_is_compressed_or_cached);
    suite_add_tcase(s, tc);
    return s;
}

/* check_limits.c — the limits and timeouts a client or an origin cannot
 * push past: line, head and body sizes, slowloris, idle keep-alive, a slow
 * origin, pipelining past an unread body, and ten thousand idle clients. */
#include "common.h"

#include <dirent.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static struct origin origin;
static struct th_gatehouse gh;
static int port;

/* The origin behind the site: /hold answers only when /release is asked
 * of the origin itself (or after a minute). */
static void answer(const struct origin_request *rq, struct origin_reply *re)
{
    if (origin_hold_paths(rq, re))
        return;
    if (strcmp(rq->path, "/hello") == 0) {
        origin_text(re, "hello from %s\n", rq->name);
    } else if (strcmp(rq->path, "/sink") == 0) { /* the body's length and sum */
        origin_text(re, "bytes=%" PRIu64 " sum=%" PRIu64 "\n", rq->body_len, rq->body_sum);
    } else {
        origin_status(re, 404);
        origin_text(re, "not found\n");
    }
}

static void rig_start(void)
{
    char conf[2048];
    struct rlimit rl = {65536, 65536};

    /* room for ten thousand clients here and in the gatehouse we start */
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
        getrlimit(RLIMIT_NOFILE, &rl);
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (origin_start(&origin, "lim", answer) < 0)
        abort();
    port = th_free_port();
    snprintf(conf, sizeof(conf),
             "workers = 2;\nlog = { access = \"@ACCESS@\"; };\n"
             "http = { max_request_line = 1024; max_header_bytes = 4096; max_headers = 20;\n"
             "         max_body_bytes = 1000; };\n"
             "timeouts = { client_header = 1.5; keepalive = 8; upstream_read = 1.5; };\n"
             "listeners = ( { name = \"site\"; mode = \"reverse\"; listen = \"127.0.0.1:%d\"; routes = \"r\"; } );\n"
             "pools = { app = { servers = ( { address = \"127.0.0.1:%d\"; } ); };\n"
             "          files = { servers = ( { static = \"@DIR@\"; } ); }; };\n"
             "routes = { r = ( { path = \"/\"; pool = \"app\"; }, { path = \"/files/\"; pool = \"files\"; } ); };\n",
             port, origin.port);
    if (th_gatehouse_start(&gh, conf) < 0)
        abort();
}

static void rig_stop(void)
{
    rig_stop_clean(&gh);
    rig_origin_stop(&origin);
}

static int status_of(const char *raw, size_t len, int *closed)
{
    struct tc_response r = {0};
    int fd = tc_connect("127.0.0.1", port), st;

    ck_assert_int_eq(tc_send_all(fd, raw, len), 0);
    ck_assert_int_eq(tc_read_response(fd, 0, &r), 0);
    st = r.status;
    if (closed)
        *closed = r.closed;
    tc_response_free(&r);
    tc_close(fd);
    return st;
}

START_TEST(long_request_line_is_414)
{
    char req[3000];
    int n = snprintf(req, sizeof(req), "GET /");

    memset(req + n, 'a', 2000);
    n += 2000;
    n += snprintf(req + n, sizeof(req) - (size_t)n, " HTTP/1.1\r\nHost: a\r\n\r\n");
    ck_assert_int_eq(status_of(req, (size_t)n, NULL), 414);
}
END_TEST

START_TEST(too_many_fields_is_431)
{
    char req[2048];
    int n = snprintf(req, sizeof(req), "GET /hello HTTP/1.1\r\nHost: a\r\n");

    for (int i = 0; i < 25; i++)
        n += snprintf(req + n, sizeof(req) - (size_t)n, "X-F%d: %d\r\n", i, i);
    n += snprintf(req + n, sizeof(req) - (size_t)n, "\r\n");
    ck_assert_int_eq(status_of(req, (size_t)n, NULL), 431);
}
END_TEST

START_TEST(head_too_large_is_431)
{
    char req[8192];
    int n = snprintf(req, sizeof(req), "GET /hello HTTP/1.1\r\nHost: a\r\nX-Big: ");

    memset(req + n, 'b', 5000);
    n += 5000;
    n += snprintf(req + n, sizeof(req) - (size_t)n, "\r\n\r\n");
    ck_assert_int_eq(status_of(req, (size_t)n, NULL), 431);
}
END_TEST

START_TEST(body_too_large_is_413)
{
    const char *req = "POST /sink HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n";
    int before = th_log_lines(origin.log, 0, "/sink", NULL), closed = 0;

    ck_assert_int_eq(status_of(req, strlen(req), &closed), 413);
    ck_assert_int_eq(closed, 1);
    ck_assert_int_eq(th_log_lines(origin.log, 0, "/sink", NULL), before);
}
END_TEST

/* One byte every 200 ms never completes a head in time: 408, while two
 * hundred ordinary clients are served meanwhile. */
START_TEST(slowloris_gets_408_while_others_are_served)
{
    const char *slow = "GET /hello HTTP/1.1\r\nHost: a\r\nX-Slow: 1\r\nX-Slower: 2\r\n\r\n";
    int fd = tc_connect("127.0.0.1", port), served = 0;
    struct tc_response r = {0};
    pid_t dripper = fork();

    if (dripper == 0) {
        for (size_t i = 0; slow[i]; i++) {
            if (send(fd, slow + i, 1, MSG_NOSIGNAL) != 1)
                _exit(0);
            th_sleep_ms(200);
        }
        _exit(0);
    }
    for (int i = 0; i < 200; i++) {
        struct tc_response ok = {0};
        int c = tc_connect("127.0.0.1", port);
        rig_exchange(c, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n", &ok);
        served += ok.status == 200;
        tc_response_free(&ok);
        tc_close(c);
    }
    ck_assert_int_eq(served, 200);
    ck_assert_int_eq(tc_read_response(fd, 0, &r), 0);
    ck_assert_int_eq(r.status, 408);
    ck_assert_int_eq(r.closed, 1);
    tc_response_free(&r);
    kill(dripper, SIGKILL);
    waitpid(dripper, NULL, 0);
    tc_close(fd);
    ck_assert_int_eq(th_log_lines(gh.access, 1, "\" 408 ", "why=client sent no complete request head in time",
                                  NULL), 1);
}
END_TEST

/* A locally refused request's body is read and dropped, so the pipelined
 * request after it is parsed at the right place. */
START_TEST(pipelined_after_unread_body)
{
    const char *req = "POST /files/x HTTP/1.1\r\nHost: a\r\nContent-Length: 32\r\n\r\n"
                      "GET /admin HTTP/1.1\r\nHost: a\r\n\r\n"
                      "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n";
    int fd = tc_connect("127.0.0.1", port);
    struct tc_response r = {0};

    ck_assert_int_eq(tc_send_all(fd, req, strlen(req)), 0);
    ck_assert_int_eq(tc_read_response(fd, 0, &r), 0);
    ck_assert_int_eq(r.status, 405);
    tc_response_free(&r);
    ck_assert_int_eq(tc_read_response(fd, 0, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "hello from lim\n");
    tc_response_free(&r);
    tc_close(fd);
    ck_assert_int_eq(th_log_lines(origin.log, 0, "/admin", NULL), 0);
}
END_TEST

START_TEST(http10_keepalive)
{
    int fd = tc_connect("127.0.0.1", port);
    struct tc_response r = {0};
    size_t n;
    const char *conn;

    for (int i = 0; i < 2; i++) {
        rig_exchange(fd, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &r);
        ck_assert_int_eq(r.status, 200);
        conn = tc_header(&r, "Connection", &n);
        ck_assert_msg(conn && n == 10 && strncasecmp(conn, "keep-alive", 10) == 0, "no keep-alive");
        tc_response_free(&r);
    }
    rig_exchange(fd, "GET /hello HTTP/1.0\r\n\r\n", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(r.closed, 1);
    tc_response_free(&r);
    tc_close(fd);
}
END_TEST

/* An origin that holds its answer past upstream_read (1.5 s). */
START_TEST(slow_origin_is_504)
{
    const char *req = "GET /hold HTTP/1.1\r\nHost: a\r\n\r\n";
    struct tc_response r = {0};
    int fd;

    ck_assert_int_eq(status_of(req, strlen(req), NULL), 504);
    ck_assert_int_eq(
        th_log_lines(gh.access, 1, "/hold", "\" 504 ", "why=upstream response timed out", NULL), 1);
    fd = tc_connect("127.0.0.1", origin.port);
    rig_exchange(fd, "GET /release HTTP/1.1\r\nHost: o\r\n\r\n", &r);
    tc_response_free(&r);
    tc_close(fd);
}
END_TEST

START_TEST(expect_continue_is_answered)
{
    const char *head = "POST /sink HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n";
    const char *interim = "HTTP/1.1 100 Continue\r\n\r\n";
    char got[64] = "";
    int fd = tc_connect("127.0.0.1", port);
    struct tc_response r = {0};
    size_t have = 0;

    ck_assert_int_eq(tc_send_all(fd, head, strlen(head)), 0);
    while (have < strlen(interim)) {
        ssize_t k = recv(fd, got + have, strlen(interim) - have, 0);
        ck_assert_int_gt(k, 0);
        have += (size_t)k;
    }
    ck_assert_str_eq(got, interim);
    ck_assert_int_eq(tc_send_all(fd, "hello", 5), 0);
    ck_assert_int_eq(tc_read_response(fd, 0, &r), 0);
    ck_assert_str_eq(r.body, "bytes=5 sum=532\n");
    tc_response_free(&r);
    tc_close(fd);
}
END_TEST

START_TEST(idle_keepalive_is_closed)
{
    int fd = tc_connect("127.0.0.1", port);
    struct tc_response r = {0};
    char c;

    rig_exchange(fd, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n", &r);
    tc_response_free(&r);
    /* the server closes after timeouts.keepalive; the client's 10 s receive
     * timeout bounds the wait */
    ck_assert_int_eq(recv(fd, &c, 1, 0), 0);
    tc_close(fd);
}
END_TEST

static int fd_count(pid_t pid)
{
    char path[64];
    int n = 0;
    DIR *d;

    snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    d = opendir(path);
    if (!d)
        return -1;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* Ten thousand clients, each after one exchange, sit idle until the
 * keep-alive timeout closes them; the daemon keeps no descriptor, and a
 * second round costs no more memory than the first. */
static long idle_round(int count, int *held_fds)
{
    int *fds = calloc((size_t)count, sizeof(int)), base = fd_count(gh.pid), open_now = 0;
    const char *req = "GET /files/none HTTP/1.1\r\nHost: a\r\n\r\n";
    long rss;

    for (int i = 0; i < count; i++) {
        struct tc_response r = {0};
        fds[i] = tc_connect("127.0.0.1", port);
        ck_assert_msg(fds[i] >= 0, "connection %d refused", i);
        rig_exchange(fds[i], req, &r);
        ck_assert_int_eq(r.status, 404);
        tc_response_free(&r);
    }
    *held_fds = fd_count(gh.pid) - base;
    rss = th_rss_kb(gh.pid);
    for (int tries = 0; tries < 200; tries++) {
        open_now = fd_count(gh.pid);
        if (open_now <= base)
            break;
        th_sleep_ms(100);
    }
    ck_assert_msg(open_now <= base, "%d descriptors left open", open_now - base);
    for (int i = 0; i < count; i++)
        tc_close(fds[i]);
    free(fds);
    return rss;
}

START_TEST(ten_thousand_idle_connections)
{
    int held1, held2;
    long rss1 = idle_round(10000, &held1), rss2 = idle_round(10000, &held2);

    const char *sanitized = getenv("GH_SANITIZED");

    ck_assert_msg(held1 >= 10000 && held2 >= 10000, "held %d and %d", held1, held2);
    /* ASan's quarantine keeps freed memory on purpose: compare only plain builds */
    if (!sanitized || !*sanitized)
        ck_assert_msg(rss2 <= rss1 + 4096, "RSS grew from %ld to %ld KiB", rss1, rss2);
}
END_TEST

Suite *limits_suite(void)
{
    Suite *s = suite_create("limits");
    TCase *tc = tcase_create("limits");

    tcase_add_unchecked_fixture(tc, rig_start, rig_stop);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, long_request_line_is_414);
    tcase_add_test(tc, too_many_fields_is_431);
    tcase_add_test(tc, head_too_large_is_431);
    tcase_add_test(tc, body_too_large_is_413);
    tcase_add_test(tc, slowloris_gets_408_while_others_are_served);
    tcase_add_test(tc, pipelined_after_unread_body);
    tcase_add_test(tc, http10_keepalive);
    tcase_add_test(tc, slow_origin_is_504);
    tcase_add_test(tc, expect_continue_is_answered);
    tcase_add_test(tc, idle_keepalive_is_closed);
    tcase_add_test(tc, ten_thousand_idle_connections);
    suite_add_tcase(s, tc);
    return s;
}

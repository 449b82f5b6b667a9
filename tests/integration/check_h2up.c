/* check_h2up.c — HTTP/2 towards a pool's servers (protocol = "h2"), with
 * real clients (curl --http2, h2load) at the TLS front door.  The HTTP/2
 * upstreams are Gatehouse's own HTTP/2 listeners (h2c, and TLS by ALPN)
 * in front of an origin of tests/support/origin.h, so each request shows
 * twice in the access log: at the front (upstream_proto=h2) and at the
 * back, where it arrived as HTTP/2.0.  A gRPC echo service of Debian's
 * python3-grpcio (tests/support/grpc_echo.py) sits behind an h2c pool:
 * unary, server-streaming and bidirectional calls through the TLS front
 * door, grpc-status carried in the trailers, a failing call's status and
 * message arriving. */
#include "common.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static struct origin o1;
static struct th_gatehouse gh;
static int p_front, p_h2c, p_h2tls, p_grpc, p_dead;
static pid_t grpc_pid;
static char certs[64], grpc_log[96];
static char conf_text[6144];

/* /hello, /headers (the head as it arrived), /sink (the body's length and
 * sum), /bytes/N (N bytes of 'a' + i % 26). */
static void answer(const struct origin_request *rq, struct origin_reply *re)
{
    uint64_t n;

    if (strcmp(rq->path, "/hello") == 0) {
        origin_text(re, "hello from %s\n", rq->name);
    } else if (strcmp(rq->path, "/headers") == 0) {
        origin_body(re, "text/plain", rq->head, rq->head_len);
    } else if (strcmp(rq->path, "/sink") == 0) {
        origin_text(re, "bytes=%" PRIu64 " sum=%" PRIu64 "\n", rq->body_len, rq->body_sum);
    } else if (strcmp(rq->path, "/slow") == 0) {
        sleep(1);
        origin_text(re, "slow hello\n");
    } else if (strncmp(rq->path, "/hc-", 4) == 0) { /* health checks */
        origin_text(re, "ok\n");
    } else if (origin_path_num(rq, "/bytes/", &n)) {
        origin_pattern(re, n);
    } else {
        origin_status(re, 404);
        origin_text(re, "not found\n");
    }
}

static void write_conf(void)
{
    snprintf(
        conf_text, sizeof(conf_text),
        "log = { access = \"@ACCESS@\"; level = \"info\"; };\n"
        "listeners = (\n"
        "  { name = \"front\"; mode = \"reverse\"; listen = \"127.0.0.1:%d\"; routes = \"front\";\n"
        "    " RIG_TLS_A_RSA " },\n"
        "  { name = \"back_h2c\"; mode = \"reverse\"; listen = \"127.0.0.1:%d\"; routes = \"back\";\n"
        "    h2c = true; },\n"
        "  { name = \"back_tls\"; mode = \"reverse\"; listen = \"127.0.0.1:%d\"; routes = \"back\";\n"
        "    " RIG_TLS_A_RSA " }\n"
        ");\n"
        "pools = {\n"
        "  o = { servers = ( { address = \"127.0.0.1:%d\"; } ); };\n"
        "  up_h2c = { protocol = \"h2\"; h2_max_streams = 8; h2_connections = 2;\n"
        "             health_check = { type = \"http\"; path = \"/hc-h2c\"; interval = 0.2; };\n"
        "             servers = ( { address = \"127.0.0.1:%d\"; } ); };\n"
        "  up_tls = { protocol = \"h2\"; tls = { ca_file = \"%s/ca.pem\"; server_name = \"a.test\"; };\n"
        "             health_check = { type = \"http\"; path = \"/hc-tls\"; interval = 0.2; };\n"
        "             servers = ( { address = \"127.0.0.1:%d\"; } ); };\n"
        "  grpc = { protocol = \"h2\"; servers = ( { address = \"127.0.0.1:%d\"; } ); };\n"
        "  h1only = { health_check = { type = \"http\"; path = \"/hc-h1\"; interval = 0.2;\n"
        "                              protocol = \"h2\"; fall = 1; };\n"
        "             servers = ( { address = \"127.0.0.1:%d\"; } ); };\n"
        "  one = { protocol = \"h2\"; h2_connections = 1; retries = 0;\n"
        "          servers = ( { address = \"127.0.0.1:%d\"; } ); };\n"
        "  dead = { protocol = \"h2\"; retries = 0;\n"
        "           servers = ( { address = \"127.0.0.1:%d\"; } ); };\n"
        "};\n"
        "routes = {\n"
        "  front = ( { host = \"c.wild.test\"; pool = \"up_h2c\"; },\n"
        "            { host = \"t.wild.test\"; pool = \"up_tls\"; },\n"
        "            { host = \"g.wild.test\"; pool = \"grpc\"; },\n"
        "            { host = \"d.wild.test\"; pool = \"dead\"; },\n"
        "            { host = \"h.wild.test\"; pool = \"h1only\"; },\n"
        "            { host = \"one.wild.test\"; pool = \"one\"; },\n"
        "            { host = \"*\"; pool = \"up_h2c\"; } );\n"
        "  back = ( { host = \"*\"; pool = \"o\"; } );\n"
        "};\n",
        p_front, certs, certs, certs, p_h2c, p_h2tls, certs, certs, certs, o1.port, p_h2c, certs,
        p_h2tls, p_grpc, o1.port, p_h2c, p_dead);
}

static void rig_start(void)
{
    char out[512], port[16];

    snprintf(certs, sizeof(certs), "/tmp/gh-h2upcerts-%d", (int)getpid());
    if (th_sh(out, sizeof(out), "sh tests/support/make-certs.sh %s 2>&1", certs) != 0) {
        fprintf(stderr, "cannot make the test certificates: %s\n", out);
        abort();
    }
    if (origin_start(&o1, "one", answer) < 0)
        abort();
    p_front = th_free_port();
    p_h2c = th_free_port();
    p_h2tls = th_free_port();
    p_grpc = th_free_port();
    p_dead = th_free_port(); /* nothing listens there */
    snprintf(grpc_log, sizeof(grpc_log), "%s/grpc.log", certs);
    snprintf(port, sizeof(port), "%d", p_grpc);
    grpc_pid =
        th_spawn(grpc_log, (char *const[]){"/usr/bin/python3", "-u", "tests/support/grpc_echo.py",
                                           "serve", port, NULL});
    if (grpc_pid <= 0 || th_wait_port(p_grpc) != 0) {
        fprintf(stderr, "the gRPC echo service did not start\n");
        abort();
    }
    write_conf();
    if (th_gatehouse_start(&gh, conf_text) < 0)
        abort();
}

static void rig_stop(void)
{
    rig_stop_clean(&gh);
    rig_origin_stop(&o1);
    th_reap(grpc_pid);
    th_sh(NULL, 0, "rm -rf %s", certs);
}

/* curl over HTTP/2 and TLS to the front door as `host`: "<body>\n<version> <status>". */
static int curl2(char *out, size_t cap, const char *host, const char *path, const char *extra)
{
    return th_sh(out, cap,
                 "curl -s --max-time 20 --http2 --cacert %s/ca.pem --resolve %s:%d:127.0.0.1 "
                 "-w '\\n%%{http_version} %%{http_code}' %s https://%s:%d%s",
                 certs, host, p_front, extra ? extra : "", host, p_front, path);
}

START_TEST(h2c_upstream)
{
    char out[8192];

    ck_assert_int_eq(curl2(out, sizeof(out), "c.wild.test", "/hello", NULL), 0);
    ck_assert_msg(strstr(out, "hello from one\n\n2 200"), "%s", out);
    /* at the front: to the upstream over h2; at the back: it came as HTTP/2 */
    ck_assert(th_log_lines(gh.access, 1, "\"GET /hello HTTP/2.0\" 200", "listener=front",
                           "upstream_proto=h2", NULL));
    ck_assert(th_log_lines(gh.access, 1, "\"GET /hello HTTP/2.0\" 200", "listener=back_h2c",
                           "proto=h2 upstream_proto=http/1.1", NULL));
    /* an HTTP/1.1 client too; the head arrives with its fields, Host as :authority */
    ck_assert_int_eq(
        curl2(out, sizeof(out), "c.wild.test", "/headers", "--http1.1 -H 'X-Mark: m1'"), 0);
    ck_assert_msg(strstr(out, "GET /headers HTTP/1.1\r\n") && strstr(out, "host: c.wild.test") &&
                      strstr(out, "x-mark: m1\r\n") && strstr(out, "\n1.1 200"),
                  "%s", out);
}
END_TEST

START_TEST(tls_upstream_by_alpn)
{
    char out[8192];

    ck_assert_int_eq(curl2(out, sizeof(out), "t.wild.test", "/hello", NULL), 0);
    ck_assert_msg(strstr(out, "hello from one\n\n2 200"), "%s", out);
    ck_assert(th_log_lines(gh.access, 1, "\"GET /hello HTTP/2.0\" 200", "listener=back_tls",
                           "proto=h2", NULL));
    ck_assert(th_log_lines(gh.access, 1, "\"GET /hello HTTP/2.0\" 200", "listener=front",
                           "upstream_proto=h2", NULL) >= 1);
}
END_TEST

START_TEST(bodies_both_ways)
{
    char out[8192];

    /* 300 KB up, by the file's bytes; the origin reports length and sum */
    ck_assert_int_eq(
        th_sh(out, sizeof(out), "head -c 300000 /dev/zero | tr '\\0' 'x' > %s/up.bin", certs), 0);
    char extra[160];
    snprintf(extra, sizeof(extra), "--data-binary @%s/up.bin", certs);
    ck_assert_int_eq(curl2(out, sizeof(out), "c.wild.test", "/sink", extra), 0);
    ck_assert_msg(strstr(out, "bytes=300000 sum=36000000\n"), "%s", out); /* 'x' is 120 */
    /* 3 MB down, past every window */
    ck_assert_int_eq(
        th_sh(out, sizeof(out),
              "curl -s --max-time 20 --http2 --cacert %s/ca.pem --resolve "
              "c.wild.test:%d:127.0.0.1 https://c.wild.test:%d/bytes/3000000 | md5sum; "
              "curl -s --max-time 20 http://127.0.0.1:%d/bytes/3000000 | md5sum",
              certs, p_front, p_front, o1.port),
        0);
    ck_assert_msg(strlen(out) > 66 && memcmp(out, out + strlen(out) / 2, 32) == 0, "%s", out);
}
END_TEST

START_TEST(streams_multiplexed)
{
    char out[8192];

    /* 400 requests, 40 at a time over 4 client connections, to a pool of
     * at most 2 connections of 8 streams each */
    ck_assert_int_eq(th_sh(out, sizeof(out),
                           "h2load -n 400 -c 4 -m 10 https://127.0.0.1:%d/hello "
                           "2>&1 | grep -E '^requests:|^status codes:'",
                           p_front),
                     0);
    ck_assert_msg(strstr(out, "400 succeeded, 0 failed") && strstr(out, "400 2xx"), "%s", out);
    ck_assert_int_ge(
        th_log_lines(gh.access, 400, "\"GET /hello HTTP/2.0\" 200", "listener=back_h2c", NULL),
        400);
}
END_TEST

START_TEST(server_down)
{
    char out[8192];

    ck_assert_int_eq(curl2(out, sizeof(out), "d.wild.test", "/hello", NULL), 0);
    ck_assert_msg(strstr(out, "\n2 502"), "%s", out);
    ck_assert(th_log_lines(gh.access, 1, "\"GET /hello HTTP/2.0\" 502", "listener=front", NULL));
}
END_TEST

/* The gRPC client through the TLS front door as g.wild.test. */
static int grpc(char *out, size_t cap, const char *kind, const char *arg)
{
    return th_sh(
        out, cap,
        "/usr/bin/python3 tests/support/grpc_echo.py call 127.0.0.1:%d %s/ca.pem g.wild.test "
        "%s %s 2>>%s/grpc-client.log", /* grpc's own warnings aside */
        p_front, certs, kind, arg, certs);
}

START_TEST(grpc_calls)
{
    char out[8192];

    ck_assert_int_eq(grpc(out, sizeof(out), "unary", "hi"), 0);
    ck_assert_msg(strcmp(out, "unary hi\n") == 0, "%s", out);
    ck_assert_int_eq(grpc(out, sizeof(out), "stream", "5"), 0);
    ck_assert_msg(strcmp(out, "item 0\nitem 1\nitem 2\nitem 3\nitem 4\n") == 0, "%s", out);
    ck_assert_int_eq(grpc(out, sizeof(out), "bidi", "3"), 0);
    ck_assert_msg(strcmp(out, "echo 0\necho 1\necho 2\n") == 0, "%s", out);
    /* a failing call: its grpc-status and grpc-message came in the trailers */
    ck_assert_int_eq(grpc(out, sizeof(out), "fail", "x"), 0);
    ck_assert_msg(strcmp(out, "status FAILED_PRECONDITION message refused: fail x\n") == 0, "%s",
                  out);
    ck_assert(th_log_lines(gh.access, 1, "\"POST /gh.Echo/Unary HTTP/2.0\" 200", "listener=front",
                           "upstream_proto=h2", NULL));
}
END_TEST

START_TEST(health_checks_over_h2)
{
    char out[8192];
    int i;

    /* an HTTP check of an h2 pool is a GET on an HTTP/2 stream, h2c and TLS */
    ck_assert(th_log_lines(gh.access, 1, "\"GET /hc-h2c HTTP/2.0\" 200", "listener=back_h2c",
                           "gatehouse-health", NULL));
    ck_assert(th_log_lines(gh.access, 1, "\"GET /hc-tls HTTP/2.0\" 200", "listener=back_tls",
                           "gatehouse-health", NULL));
    /* health_check.protocol = "h2" against a server of HTTP/1.1 alone: it
     * fails, the server is down, and the pool answers 503 */
    for (i = 0; i < 50; i++) {
        ck_assert_int_eq(curl2(out, sizeof(out), "h.wild.test", "/hello", NULL), 0);
        if (strstr(out, "\n2 503"))
            break;
        usleep(100 * 1000);
    }
    ck_assert_msg(i < 50, "%s", out);
}
END_TEST

/* A reload makes the HTTP/2 upstream (a listener of the same daemon) say
 * GOAWAY: the stream in flight finishes, and the next request goes on a
 * new connection, though the pool allows one (h2_connections = 1). */
START_TEST(goaway_from_upstream)
{
    char out[8192], log[160], url[128], ca[96], res[96];
    int status = -1;
    pid_t pid;

    snprintf(log, sizeof(log), "%s/slow.out", certs);
    snprintf(url, sizeof(url), "https://one.wild.test:%d/slow", p_front);
    snprintf(ca, sizeof(ca), "%s/ca.pem", certs);
    snprintf(res, sizeof(res), "one.wild.test:%d:127.0.0.1", p_front);
    pid = th_spawn(log, (char *const[]){"curl", "-s", "--max-time", "20", "--http2", "--cacert", ca,
                                        "--resolve", res, url, NULL});
    ck_assert_int_gt(pid, 0);
    ck_assert(th_log_lines(o1.log, 1, "GET /slow", NULL));
    ck_assert_int_eq(th_gatehouse_reload(&gh, conf_text), 0);
    ck_assert_int_eq(curl2(out, sizeof(out), "one.wild.test", "/hello", NULL), 0);
    ck_assert_msg(strstr(out, "hello from one\n\n2 200"), "%s", out);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    th_sh(out, sizeof(out), "cat %s", log);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0 && strcmp(out, "slow hello\n") == 0,
                  "%s", out);
    ck_assert(th_log_lines(gh.access, 1, "\"GET /slow HTTP/2.0\" 200", "listener=front",
                           "upstream_proto=h2", NULL));
}
END_TEST

START_TEST(config_checked)
{
    static const struct {
        const char *pool, *expect;
    } cases[] = {
        {"protocol = \"h3\";", "protocol 'h3' (want \"http/1.1\" or \"h2\")"},
        {"protocol = \"h2\"; proxy_protocol = 1;", "proxy_protocol cannot go with protocol"},
        {"protocol = \"h2\"; h2_max_streams = 0;", "h2_max_streams"},
        {"protocol = \"h2\"; h2_connections = 100;", "h2_connections"},
        {"protocol = \"h2\"; h2_max_streams = 50; h2_connections = 4;", NULL},
        {"health_check = { type = \"http\"; protocol = \"spdy\"; };",
         "health_check protocol 'spdy'"},
        {"health_check = { type = \"http\"; protocol = \"h2\"; };", NULL},
    };
    char out[2048], conf[1024];

    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(conf, sizeof(conf),
                 "listeners = ( { name = \"t\"; mode = \"reverse\"; listen = \"127.0.0.1:1\"; "
                 "routes = \"r\"; } );\n"
                 "pools = { o = { %s\n servers = ( { address = \"127.0.0.1:2\"; } ); }; };\n"
                 "routes = { r = ( { pool = \"o\"; } ); };\n",
                 cases[i].pool);
        int rc = th_gatehouse_check(conf, out, sizeof(out));
        if (!cases[i].expect) {
            ck_assert_msg(rc == 0, "case %u refused: %s", i, out);
            continue;
        }
        ck_assert_msg(rc != 0 && strstr(out, cases[i].expect) && strstr(out, ".conf:"),
                      "case %u: -t said: %s", i, out);
    }
}
END_TEST

Suite *h2up_suite(void)
{
    Suite *s = suite_create("h2up");
    TCase *tc = tcase_create("h2up");
    tcase_add_unchecked_fixture(tc, rig_start, rig_stop);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, h2c_upstream);
    tcase_add_test(tc, tls_upstream_by_alpn);
    tcase_add_test(tc, bodies_both_ways);
    tcase_add_test(tc, streams_multiplexed);
    tcase_add_test(tc, server_down);
    tcase_add_test(tc, grpc_calls);
    tcase_add_test(tc, health_checks_over_h2);
    tcase_add_test(tc, goaway_from_upstream);
    tcase_add_test(tc, config_checked);
    suite_add_tcase(s, tc);
    return s;
}

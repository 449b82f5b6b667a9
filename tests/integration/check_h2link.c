/* check_h2link.c — the connections of HTTP/2 pools (h2_link.c) as a user
 * sees them: a server that takes the TCP connection but never speaks
 * HTTP/2 fails the exchange within timeouts.upstream_connect and the
 * request is retried on the pool's other server; an idle connection is
 * closed after timeouts.upstream_keepalive; a reload with a stream in
 * flight and idle connections (old connections keep their generation,
 * whose TLS client settings they use, until they close: run it under
 * ASan); a chunked request's trailers from an HTTP/1.1 client reach the
 * origin through an h2 pool; the upstream protocol on the status page
 * and in /metrics.  The HTTP/2 servers are Gatehouse's own h2c and TLS
 * listeners before an origin of tests/support/origin.h.
 *
 * And the "Done when": headless Chromium loads the demo page
 * (www/) from a TLS reverse listener, and the access log shows the page
 * and its assets served over HTTP/2. */
#include "common.h"

#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static struct origin o1;
static struct th_gatehouse gh;
static int p_front, p_plain, p_h2c, p_h2tls, p_mute, mute_fd = -1;
static char certs[64], www[4096];
static char conf_text[6144];

/* /hello, /slow (answers after a second), /trailers (the trailer lines
 * the origin received). */
static void answer(const struct origin_request *rq, struct origin_reply *re)
{
    if (strcmp(rq->path, "/hello") == 0) {
        origin_text(re, "hello from %s\n", rq->name);
    } else if (strcmp(rq->path, "/slow") == 0) {
        sleep(1);
        origin_text(re, "slow hello\n");
    } else if (strcmp(rq->path, "/trailers") == 0) {
        origin_text(re, "body=%s\ntrailers:\n%s", rq->body, rq->trailers);
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
        "timeouts = { upstream_connect = 1; upstream_keepalive = 1; };\n"
        "listeners = (\n"
        "  { name = \"front\"; mode = \"reverse\"; listen = \"127.0.0.1:%d\"; routes = \"front\";\n"
        "    " RIG_TLS_A_RSA " },\n"
        "  { name = \"plain\"; mode = \"reverse\"; listen = \"127.0.0.1:%d\"; routes = \"front\";\n"
        "    status_path = \"/.gatehouse/status\"; metrics_path = \"/metrics\"; },\n"
        "  { name = \"back_h2c\"; mode = \"reverse\"; listen = \"127.0.0.1:%d\"; routes = \"back\";\n"
        "    h2c = true; },\n"
        "  { name = \"back_tls\"; mode = \"reverse\"; listen = \"127.0.0.1:%d\"; routes = \"back\";\n"
        "    " RIG_TLS_A_RSA " }\n"
        ");\n"
        "pools = {\n"
        "  o = { servers = ( { address = \"127.0.0.1:%d\"; } ); };\n"
        "  pair = { protocol = \"h2\"; retries = 1;\n"
        "           servers = ( { address = \"127.0.0.1:%d\"; }, { address = \"127.0.0.1:%d\"; } ); };\n"
        "  c = { protocol = \"h2\"; servers = ( { address = \"127.0.0.1:%d\"; } ); };\n"
        "  t = { protocol = \"h2\"; tls = { ca_file = \"%s/ca.pem\"; server_name = \"a.test\"; };\n"
        "        servers = ( { address = \"127.0.0.1:%d\"; } ); };\n"
        "  www = { servers = ( { static = \"%s\"; } ); };\n"
        "};\n"
        "routes = {\n"
        "  front = ( { host = \"pair.wild.test\"; pool = \"pair\"; },\n"
        "            { host = \"c.wild.test\"; pool = \"c\"; },\n"
        "            { host = \"t.wild.test\"; pool = \"t\"; },\n"
        "            { host = \"*\"; pool = \"www\"; } );\n"
        "  back = ( { host = \"*\"; pool = \"o\"; } );\n"
        "};\n",
        p_front, certs, certs, certs, p_plain, p_h2c, p_h2tls, certs, certs, certs, o1.port, p_mute,
        p_h2c, p_h2c, certs, p_h2tls, www);
}

/* A server that takes connections (the kernel completes them into the
 * backlog) and never says a word. */
static int mute_listen(int *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 128) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0)
        return -1;
    *port = ntohs(a.sin_port);
    return fd;
}

static void rig_start(void)
{
    char out[512];

    snprintf(certs, sizeof(certs), "/tmp/gh-h2linkcerts-%d", (int)getpid());
    if (th_sh(out, sizeof(out), "sh tests/support/make-certs.sh %s 2>&1", certs) != 0) {
        fprintf(stderr, "cannot make the test certificates: %s\n", out);
        abort();
    }
    if (!realpath("www", www) || origin_start(&o1, "one", answer) < 0 ||
        (mute_fd = mute_listen(&p_mute)) < 0)
        abort();
    p_front = th_free_port();
    p_plain = th_free_port();
    p_h2c = th_free_port();
    p_h2tls = th_free_port();
    write_conf();
    if (th_gatehouse_start(&gh, conf_text) < 0)
        abort();
}

static void rig_stop(void)
{
    rig_stop_clean(&gh);
    rig_origin_stop(&o1);
    close(mute_fd);
    th_sh(NULL, 0, "rm -rf %s", certs);
}

/* curl over HTTP/2 and TLS to the front door as `host`: "<body>\n<version> <status>". */
static int curl2(char *out, size_t cap, const char *host, const char *path)
{
    return th_sh(out, cap,
                 "curl -s --max-time 20 --http2 --cacert %s/ca.pem --resolve %s:%d:127.0.0.1 "
                 "-w '\\n%%{http_version} %%{http_code}' https://%s:%d%s",
                 certs, host, p_front, host, p_front, path);
}

/* The status page's count of HTTP/2 connections to upstreams open now. */
/* The status page's http2.upstream counter `key` ("connections": made
 * so far, "open": open now), or -1. */
static long upstream_count(const char *key)
{
    char out[16384], *p;

    if (th_sh(out, sizeof(out), "curl -s --max-time 10 http://127.0.0.1:%d/.gatehouse/status",
              p_plain) != 0 ||
        !(p = strstr(out, "\"upstream\":{")) || !(p = strstr(p, key)))
        return -1;
    return strtol(p + strlen(key), NULL, 10);
}

static long upstream_open(void)
{
    return upstream_count("\"open\":");
}

/* TCP connections established to the HTTP/2 listeners (the pools'
 * servers), as the kernel lists them. */
static long conns_to_servers(void)
{
    char out[64];

    if (th_sh(out, sizeof(out),
              "awk 'NR > 1 && $4 == \"01\" { split($3, a, \":\"); "
              "if (a[2] == \"%04X\" || a[2] == \"%04X\") n++ } END { print n + 0 }' "
              "/proc/net/tcp",
              p_h2c, p_h2tls) != 0)
        return -1;
    return strtol(out, NULL, 10);
}

/* Waits (up to 10 s, in 100 ms steps) for every upstream HTTP/2
 * connection to be closed, by the status page and by the kernel's list;
 * returns the larger count last seen. */
static long wait_none_open(void)
{
    long n = -1, k = -1;

    for (int i = 0; i < 100 && ((n = upstream_open()) != 0 || (k = conns_to_servers()) != 0); i++)
        th_sleep_ms(100);
    return n > k ? n : k;
}

/* The first server of `pair` accepts TCP and never answers the preface:
 * each request it gets fails within the connect timeout (1 s, before the
 * exchange's own 60 s read timeout) and is retried on the second. */
START_TEST(silent_server_times_out_and_is_retried)
{
    char out[8192];

    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(curl2(out, sizeof(out), "pair.wild.test", "/hello"), 0);
        ck_assert_msg(strstr(out, "hello from one\n\n2 200"), "request %d: %s", i, out);
    }
    ck_assert(th_log_lines(gh.errlog, 1, "HTTP/2 upstream", "connect timed out: no SETTINGS", NULL));
    ck_assert(th_log_lines(gh.access, 4, "\"GET /hello HTTP/2.0\" 200", "listener=front",
                           "upstream_proto=h2", NULL));
}
END_TEST

/* A connection to an h2 pool's server is kept while it carries streams
 * or is idle for less than upstream_keepalive, then closed. */
START_TEST(idle_connection_closed)
{
    char out[8192];

    ck_assert_int_eq(curl2(out, sizeof(out), "c.wild.test", "/hello"), 0);
    ck_assert_msg(strstr(out, "hello from one\n\n2 200"), "%s", out);
    /* made (whether it is still open now depends on how long the steps
     * above took: the idle time is 1 s), then closed */
    ck_assert_int_ge(upstream_count("\"connections\":"), 1);
    ck_assert_int_eq(wait_none_open(), 0);
    /* and the next request makes a new one */
    ck_assert_int_eq(curl2(out, sizeof(out), "t.wild.test", "/hello"), 0);
    ck_assert_msg(strstr(out, "hello from one\n\n2 200"), "%s", out);
    ck_assert_int_eq(wait_none_open(), 0);
}
END_TEST

/* A reload while a stream is in flight on a TLS pool's connection and
 * another pool's connection is idle: the stream finishes, new requests go
 * on the new generation's connections, the old ones close when idle, and
 * (under ASan) nothing of the old generation is used after it is freed. */
START_TEST(reload_with_links_busy_and_idle)
{
    char out[8192], log[160], url[128], ca[96], res[96];
    int status = -1;
    pid_t pid;

    ck_assert_int_eq(curl2(out, sizeof(out), "c.wild.test", "/hello"), 0);
    ck_assert_msg(strstr(out, "\n2 200"), "%s", out);
    snprintf(log, sizeof(log), "%s/slow.out", certs);
    snprintf(url, sizeof(url), "https://t.wild.test:%d/slow", p_front);
    snprintf(ca, sizeof(ca), "%s/ca.pem", certs);
    snprintf(res, sizeof(res), "t.wild.test:%d:127.0.0.1", p_front);
    pid = th_spawn(log, (char *const[]){"curl", "-s", "--max-time", "20", "--http2", "--cacert", ca,
                                        "--resolve", res, url, NULL});
    ck_assert_int_gt(pid, 0);
    ck_assert(th_log_lines(o1.log, 1, "GET /slow", NULL));
    ck_assert_int_eq(th_gatehouse_reload(&gh, conf_text), 0);
    ck_assert_int_eq(curl2(out, sizeof(out), "t.wild.test", "/hello"), 0);
    ck_assert_msg(strstr(out, "hello from one\n\n2 200"), "%s", out);
    ck_assert_int_eq(curl2(out, sizeof(out), "c.wild.test", "/hello"), 0);
    ck_assert_msg(strstr(out, "hello from one\n\n2 200"), "%s", out);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    th_sh(out, sizeof(out), "cat %s", log);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0 && strcmp(out, "slow hello\n") == 0,
                  "%s", out);
    /* a second reload with every connection idle, then more traffic */
    ck_assert_int_eq(th_gatehouse_reload(&gh, conf_text), 0);
    ck_assert_int_eq(curl2(out, sizeof(out), "t.wild.test", "/hello"), 0);
    ck_assert_msg(strstr(out, "\n2 200"), "%s", out);
    ck_assert_int_eq(wait_none_open(), 0);
    ck_assert_int_eq(curl2(out, sizeof(out), "t.wild.test", "/hello"), 0);
    ck_assert_msg(strstr(out, "\n2 200"), "%s", out);
}
END_TEST

/* A chunked request with trailers from an HTTP/1.1 client, to an h2
 * pool: the trailers go as HEADERS after the DATA, and reach the origin
 * (behind the h2c listener, in the last chunk); fields HTTP/2 does not
 * carry are left out. */
START_TEST(request_trailers_go_upstream)
{
    char out[8192];
    struct tc_response r = {0};
    int fd = tc_connect("127.0.0.1", p_plain);

    rig_exchange(fd,
                 "POST /trailers HTTP/1.1\r\nHost: c.wild.test\r\nTransfer-Encoding: chunked\r\n"
                 "TE: trailers\r\nTrailer: X-Checksum\r\n\r\n"
                 "5\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: abc123\r\nX-Count: 2\r\n"
                 "Connection: close\r\n\r\n",
                 &r);
    ck_assert_int_eq(r.status, 200);
    snprintf(out, sizeof(out), "%.*s", (int)r.body_len, r.body);
    ck_assert_msg(strstr(out, "body=hello world\n") &&
                      strstr(out, "trailers:\n") && strstr(out, "x-checksum: abc123\n") &&
                      strstr(out, "x-count: 2\n") && !strstr(out, "onnection"),
                  "%s", out);
    tc_response_free(&r);
    close(fd);
    ck_assert(th_log_lines(gh.access, 1, "\"POST /trailers HTTP/1.1\" 200", "listener=plain",
                           "upstream_proto=h2", NULL));
}
END_TEST

/* The upstream's protocol: the pool's on the status page, the requests'
 * in /metrics (gatehouse_upstream_requests_total, by listener and proto). */
START_TEST(upstream_protocol_shown)
{
    static char out[262144];

    ck_assert_int_eq(curl2(out, sizeof(out), "c.wild.test", "/hello"), 0);
    ck_assert_int_eq(th_sh(out, sizeof(out), "curl -s --max-time 10 http://127.0.0.1:%d/hello",
                           p_plain),
                     0); /* the static pool: not an upstream */
    ck_assert_int_eq(
        th_sh(out, sizeof(out), "curl -s --max-time 10 http://127.0.0.1:%d/.gatehouse/status", p_plain),
        0);
    ck_assert_msg(strstr(out, "{\"name\":\"c\",") && strstr(out, "],\"protocol\":\"h2\"}") &&
                      strstr(out, "],\"protocol\":\"http/1.1\"}") &&
                      strstr(out, "\"upstream\":{\"connections\":"),
                  "%s", out);
    ck_assert_int_eq(th_sh(out, sizeof(out), "curl -s --max-time 10 http://127.0.0.1:%d/metrics",
                           p_plain),
                     0);
    ck_assert_msg(strstr(out, "gatehouse_upstream_requests_total{listener=\"front\",proto=\"h2\"}") &&
                      strstr(out, "gatehouse_upstream_requests_total{listener=\"back_h2c\","
                                  "proto=\"http/1.1\"}"),
                  "%s", out);
}
END_TEST

/* The "Done when": a browser loads the demo page over HTTP/2. */
START_TEST(chromium_loads_the_demo_page_over_h2)
{
    static char out[65536];

    ck_assert_int_eq(th_sh(out, sizeof(out),
                           "timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic "
                           "--no-first-run --disable-background-networking --disable-component-update "
                           "--disable-sync --ignore-certificate-errors --user-data-dir=%s/chromium "
                           "--virtual-time-budget=4000 --dump-dom 'https://127.0.0.1:%d/' 2>/dev/null",
                           certs, p_front),
                     0);
    ck_assert_msg(strstr(out, "Gatehouse is running"), "page: %.300s", out);
    ck_assert_int_eq(th_log_lines(gh.access, 1, "\"GET / HTTP/2.0\" 200", "listener=front",
                                  "HeadlessChrome", " proto=h2", NULL),
                     1);
    ck_assert_int_eq(th_log_lines(gh.access, 1, "\"GET /style.css HTTP/2.0\" 200", "listener=front",
                                  "HeadlessChrome", " proto=h2", NULL),
                     1);
    ck_assert_int_eq(th_log_lines(gh.access, 1, "\"GET /gatehouse.svg HTTP/2.0\" 200",
                                  "listener=front", "HeadlessChrome", " proto=h2", NULL),
                     1);
}
END_TEST

Suite *h2link_suite(void)
{
    Suite *s = suite_create("h2link");
    TCase *tc = tcase_create("h2link");
    tcase_add_unchecked_fixture(tc, rig_start, rig_stop);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, silent_server_times_out_and_is_retried);
    tcase_add_test(tc, idle_connection_closed);
    tcase_add_test(tc, reload_with_links_busy_and_idle);
    tcase_add_test(tc, request_trailers_go_upstream);
    tcase_add_test(tc, upstream_protocol_shown);
    tcase_add_test(tc, chromium_loads_the_demo_page_over_h2);
    suite_add_tcase(s, tc);
    return s;
}

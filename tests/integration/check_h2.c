/* check_h2.c — HTTP/2 at the front door of reverse listeners, with real
 * clients: curl --http2, nghttp and h2load (nghttp2-client), and the
 * frame-level client tests/support/h2client.py (python3-h2, its own
 * validation off) for what browsers never send: malformed fields, every
 * denial-of-service class, windows held at zero, a client that reads
 * nothing.  Each assertion is what a user sees: the status, the bytes,
 * what reached the origin (for a refused request: nothing), the log line
 * and the status page's counters. */
#include "common.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static struct origin o1;
static struct th_gatehouse gh;
static int p_tls, p_h2c, p_plain, p_h1tls;
static char certs[64];
static char conf_text[4096];

/* /hello, /headers (the head as it arrived), /sink (the body's length and
 * sum), /bytes/N (N bytes of 'a' + i % 26), /slow (hello after 1 s). */
static void answer(const struct origin_request *rq, struct origin_reply *re)
{
    uint64_t n;

    if (strcmp(rq->path, "/hello") == 0) {
        origin_text(re, "hello from %s\n", rq->name);
    } else if (strcmp(rq->path, "/headers") == 0) {
        origin_body(re, "text/plain", rq->head, rq->head_len);
    } else if (strcmp(rq->path, "/sink") == 0) {
        origin_text(re, "bytes=%" PRIu64 " sum=%" PRIu64 "\n", rq->body_len, rq->body_sum);
    } else if (origin_path_num(rq, "/bytes/", &n)) {
        origin_pattern(re, n);
    } else if (strncmp(rq->path, "/cl-", 4) == 0) { /* a request handled, in the log */
        origin_log(rq, "handled %s", rq->path);
        origin_text(re, "handled\n");
    } else if (strcmp(rq->path, "/cached") == 0) { /* once, then from the cache */
        origin_add(re, "Cache-Control: max-age=60");
        origin_text(re, "cacheable\n");
    } else if (strcmp(rq->path, "/page") == 0) { /* 100 KB of HTML: compressible */
        static char page[100 * 1024];
        size_t len = 0;
        for (int i = 0; len + 64 < sizeof(page); i++)
            len += (size_t)snprintf(page + len, sizeof(page) - len, "<p>line %d of the page</p>\n",
                                    i);
        origin_body(re, "text/html", page, len);
    } else if (strcmp(rq->path, "/slow") == 0) {
        sleep(1);
        origin_text(re, "slow hello\n");
    } else {
        origin_status(re, 404);
        origin_text(re, "not found\n");
    }
}

static void write_conf(void)
{
    snprintf(conf_text, sizeof(conf_text),
             "log = { access = \"@ACCESS@\"; level = \"info\"; };\n"
             "timeouts = { send = 1; drain = 10; };\n"
             "http2 = { max_concurrent_streams = 16; reset_budget = 50; flood_budget = 100;\n"
             "          max_continuations = 4; };\n"
             "listeners = (\n"
             "  { name = \"tls\"; mode = \"reverse\"; listen = \"127.0.0.1:%d\"; routes = \"r\";\n"
             "    " RIG_TLS_A_RSA " },\n"
             "  { name = \"h1tls\"; mode = \"reverse\"; listen = \"127.0.0.1:%d\"; routes = \"r\";\n"
             "    http2 = false;\n"
             "    " RIG_TLS_A_RSA " },\n"
             "  { name = \"h2c\"; mode = \"reverse\"; listen = \"127.0.0.1:%d\"; routes = \"r\";\n"
             "    h2c = true; status_path = \"/.gatehouse/status\"; },\n"
             "  { name = \"plain\"; mode = \"reverse\"; listen = \"127.0.0.1:%d\"; routes = \"r\"; }\n"
             ");\n"
             "pools = { o = { servers = ( { address = \"127.0.0.1:%d\"; } ); }; };\n"
             "routes = { r = ( { host = \"*\"; pool = \"o\"; },\n"
             "                 { host = \"old.test\"; redirect = \"https://new.example/\"; redirect_code = 301; },\n"
             "                 { host = \"a.test\"; path = \"/cached\"; pool = \"o\"; cache = true; },\n"
             "                 { host = \"a.test\"; path = \"/page\"; pool = \"o\"; compress = true; } ); };\n"
             "cache = { memory_mb = 8; };\n",
             p_tls, certs, certs, certs, p_h1tls, certs, certs, certs, p_h2c, p_plain, o1.port);
}

static void rig_start(void)
{
    char out[512];

    snprintf(certs, sizeof(certs), "/tmp/gh-h2certs-%d", (int)getpid());
    if (th_sh(out, sizeof(out), "sh tests/support/make-certs.sh %s 2>&1", certs) != 0) {
        fprintf(stderr, "cannot make the test certificates: %s\n", out);
        abort();
    }
    if (origin_start(&o1, "one", answer) < 0)
        abort();
    p_tls = th_free_port();
    p_h1tls = th_free_port();
    p_h2c = th_free_port();
    p_plain = th_free_port();
    write_conf();
    if (th_gatehouse_start(&gh, conf_text) < 0)
        abort();
}

static void rig_stop(void)
{
    rig_stop_clean(&gh);
    rig_origin_stop(&o1);
    th_sh(NULL, 0, "rm -rf %s", certs);
}

/* The frame client against the TLS listener: its output in out. */
static int h2c(char *out, size_t cap, const char *args)
{
    return th_sh(out, cap, "/usr/bin/python3 tests/support/h2client.py --port %d --tls %s 2>&1",
                 p_tls, args);
}

/* curl over HTTP/2 and TLS to a.test: "<version> <status>\n<body>". */
static int curl2(char *out, size_t cap, int port, const char *path, const char *extra)
{
    return th_sh(out, cap,
                 "curl -s --max-time 10 --http2 --cacert %s/ca.pem --resolve a.test:%d:127.0.0.1 "
                 "-w '\\n%%{http_version} %%{http_code}' %s https://a.test:%d%s",
                 certs, port, extra ? extra : "", port, path);
}

/* One counter of the status page's "http2" object. */
static long h2_counter(const char *name)
{
    char out[4096], key[64], *p;

    th_sh(out, sizeof(out), "curl -s --max-time 5 http://127.0.0.1:%d/.gatehouse/status", p_h2c);
    snprintf(key, sizeof(key), "\"%s\":", name);
    p = strstr(out, "\"http2\":");
    p = p ? strstr(p, key) : NULL;
    ck_assert_msg(p != NULL, "no %s in the status page: %s", name, out);
    return strtol(p + strlen(key), NULL, 10);
}

/* How many lines of the origin's log hold `what` (a request line's " /path",
 * or the handler's "handled /path"). */
static int origin_saw(const char *what)
{
    char out[64];

    th_sh(out, sizeof(out), "grep -cF -- '%s' %s", what, o1.log);
    return atoi(out);
}

/* Occurrences of needle in s. */
static int count(const char *s, const char *needle)
{
    int n = 0;

    for (const char *p = s; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/* ---- negotiation ---- */

START_TEST(alpn_h2_over_tls)
{
    char out[4096];

    ck_assert_int_eq(curl2(out, sizeof(out), p_tls, "/hello", NULL), 0);
    ck_assert_msg(strstr(out, "hello from one\n\n2 200"), "%s", out);
    ck_assert(th_log_lines(gh.access, 1, "\"GET /hello HTTP/2.0\" 200", "listener=tls",
                           "proto=h2 upstream_proto=http/1.1", NULL));
    /* the same listener still speaks HTTP/1.1 to who asks */
    ck_assert_int_eq(curl2(out, sizeof(out), p_tls, "/hello", "--http1.1"), 0);
    ck_assert_msg(strstr(out, "hello from one\n\n1.1 200"), "%s", out);
    ck_assert(th_log_lines(gh.access, 1, "\"GET /hello HTTP/1.1\" 200", "listener=tls",
                           "proto=http/1.1 upstream_proto=http/1.1", NULL));
    /* http2 = false: ALPN offers http/1.1 only */
    ck_assert_int_eq(curl2(out, sizeof(out), p_h1tls, "/hello", NULL), 0);
    ck_assert_msg(strstr(out, "hello from one\n\n1.1 200"), "%s", out);
}
END_TEST

START_TEST(h2c_prior_knowledge_opt_in)
{
    char out[4096];

    ck_assert_int_eq(th_sh(out, sizeof(out),
                           "curl -s --max-time 10 --http2-prior-knowledge -w '\\n%%{http_version}' "
                           "http://127.0.0.1:%d/hello",
                           p_h2c),
                     0);
    ck_assert_msg(strstr(out, "hello from one\n\n2"), "%s", out);
    /* HTTP/1.1 on the same listener */
    th_sh(out, sizeof(out), "curl -s --max-time 10 -w '\\n%%{http_version}' http://127.0.0.1:%d/hello",
          p_h2c);
    ck_assert_msg(strstr(out, "hello from one\n\n1.1"), "%s", out);
    /* a plain listener without h2c does not speak it */
    ck_assert_int_ne(th_sh(out, sizeof(out),
                           "curl -s --max-time 10 --http2-prior-knowledge http://127.0.0.1:%d/hello",
                           p_plain),
                     0);
    ck_assert_msg(!strstr(out, "hello from one"), "%s", out);
}
END_TEST

/* `alpn` names only what the listener speaks; h2c and http2 where they fit. */
START_TEST(config_checked)
{
    static const struct {
        const char *listener, *tls, *expect;
    } cases[] = {
        {"http2 = false;", "alpn = [ \"h2\" ];", "this listener does not speak 'h2'"},
        {"", "alpn = [ \"h2\", \"http/1.1\" ];", NULL},
        {"h2c = true;", "", "'h2c' is for plain listeners"},
        {"mode = \"forward\";", "", "HTTP/2 is for reverse listeners"},
    };
    char out[2048], conf[1024];

    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int fwd = strstr(cases[i].listener, "forward") != NULL;
        snprintf(conf, sizeof(conf),
                 "listeners = ( { name = \"t\"; %s listen = \"127.0.0.1:1\"; %s\n"
                 "  %s\n"
                 "  tls = { certificates = ( { cert = \"%s/a-rsa.pem\"; key = \"%s/a-rsa.key\"; } );\n"
                 "          %s }; } );\n"
                 "pools = { o = { servers = ( { address = \"127.0.0.1:2\"; } ); }; };\n"
                 "routes = { r = ( { pool = \"o\"; } ); };\n",
                 fwd ? "" : "mode = \"reverse\";", fwd ? "http2 = true;" : "routes = \"r\";",
                 cases[i].listener, certs, certs, cases[i].tls);
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

/* ---- translation to HTTP/1.1 ---- */

START_TEST(head_translated)
{
    char out[8192];

    h2c(out, sizeof(out),
        "--show 4000 request --path /headers -H cookie=a=1 -H cookie=b=2 -H te=trailers "
        "-H x-case=Mixed");
    ck_assert_msg(strstr(out, "STATUS 1 200"), "%s", out);
    ck_assert_msg(strstr(out, "GET /headers HTTP/1.1"), "%s", out);
    ck_assert_msg(strstr(out, "Host: a.test"), "%s", out);
    ck_assert_msg(strstr(out, "ookie: a=1; b=2"), "%s", out);
    ck_assert_msg(strstr(out, "x-case: Mixed"), "%s", out);
    /* a redirect route answers over HTTP/2 like over HTTP/1 */
    h2c(out, sizeof(out), "--authority old.test request --path /x");
    ck_assert_msg(strstr(out, "STATUS 1 301"), "%s", out);
}
END_TEST

/* What HTTP/1.1 cannot carry is a stream error that reaches no origin. */
START_TEST(malformed_fields_refused)
{
    static const char *const cases[] = {
        "-H 'x-a=v\\r\\nInjected: 1'", "-H 'x-a=v\\nInjected: 1'", "-H 'x-a=v\\x00w'",
        "-H 'x-a=v\\rw'",              "-H 'X-Upper=1'",           "-H 'x\\r\\ny=1'",
        "-H 'x y=1'",                  "-H 'connection=close'",    "-H 'keep-alive=1'",
        "-H 'transfer-encoding=chunked'", "-H 'te=gzip'",          "-H 'upgrade=websocket'",
        "-H 'proxy-connection=close'", "-H ':path=/again'",        "-H ':foo=bar'",
        "-H 'host=other.test'",        "-H ' x=1'",                "-H 'x-a= v'",
    };
    char out[2048], args[256], path[64];

    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(path, sizeof(path), "/smuggle-%u", i);
        snprintf(args, sizeof(args), "request --path %s %s", path, cases[i]);
        h2c(out, sizeof(out), args);
        ck_assert_msg(strstr(out, "RST 1 PROTOCOL_ERROR"), "case %u (%s): %s", i, cases[i], out);
        ck_assert_msg(!strstr(out, "STATUS"), "case %u: %s", i, out);
    }
    /* a content-length the DATA does not match: the upstream may have had
     * the head, never a whole request (the last byte waits for END_STREAM) */
    h2c(out, sizeof(out), "request --path /cl-short --method POST --body 10 -H content-length=20");
    ck_assert_msg(strstr(out, "RST 1 PROTOCOL_ERROR") && !strstr(out, "STATUS"), "%s", out);
    h2c(out, sizeof(out), "request --path /cl-long --method POST --body 30 -H content-length=20");
    ck_assert_msg(strstr(out, "RST 1 PROTOCOL_ERROR") && !strstr(out, "STATUS"), "%s", out);
    h2c(out, sizeof(out), "request --path /cl-exact --method POST --body 20 -H content-length=20");
    ck_assert_msg(strstr(out, "BODY 1 8 handled"), "%s", out);
    /* nothing of them reached the origin; a good request after them does */
    h2c(out, sizeof(out), "request --path /hello");
    ck_assert_msg(strstr(out, "BODY 1 15 hello from one"), "%s", out);
    ck_assert_int_eq(origin_saw(" /smuggle"), 0);
    ck_assert_int_eq(origin_saw("handled /cl-short"), 0);
    ck_assert_int_eq(origin_saw("handled /cl-long"), 0);
    ck_assert_int_eq(origin_saw("handled /cl-exact"), 1);
    ck_assert(th_log_lines(gh.errlog, 1, "HTTP/2 stream 1 refused", NULL));
    ck_assert_int_ge(h2_counter("malformed"), 20);
}
END_TEST

/* The sum of n bytes of the pattern 'a' + i % 26. */
static uint64_t pattern_sum(uint64_t n)
{
    uint64_t s = 0;

    for (uint64_t i = 0; i < n; i++)
        s += 97 + i % 26;
    return s;
}

START_TEST(request_bodies_streamed)
{
    char out[2048], want[128];

    /* 1 MB with a content-length, then without one (chunked upstream):
     * more than the stream's window, so it flows only as it goes upstream */
    snprintf(want, sizeof(want), "bytes=1000000 sum=%" PRIu64, pattern_sum(1000000));
    h2c(out, sizeof(out), "request --path /sink --method POST --body 1000000 -H content-length=1000000");
    ck_assert_msg(strstr(out, want), "%s", out);
    h2c(out, sizeof(out), "request --path /sink --method POST --body 1000000");
    ck_assert_msg(strstr(out, want), "%s", out);
    /* curl's upload over TLS and h2c */
    char arg[128];
    th_sh(out, sizeof(out), "head -c 300000 /dev/zero > %s/zero", certs);
    snprintf(arg, sizeof(arg), "--data-binary @%s/zero", certs);
    curl2(out, sizeof(out), p_tls, "/sink", arg);
    ck_assert_msg(strstr(out, "bytes=300000 sum=0\n\n2 200"), "%s", out);
}
END_TEST

/* Responses larger than every window, many streams at once. */
START_TEST(responses_and_streams)
{
    char out[8192];

    ck_assert_int_eq(th_sh(out, sizeof(out),
                           "curl -s --max-time 10 --http2 --cacert %s/ca.pem --resolve "
                           "a.test:%d:127.0.0.1 https://a.test:%d/bytes/3000000 | md5sum",
                           certs, p_tls, p_tls),
                     0);
    char want[8192];
    th_sh(want, sizeof(want),
          "/usr/bin/python3 -c \"import sys; sys.stdout.buffer.write(bytes(97 + i %% 26 for i in "
          "range(3000000)))\" | md5sum");
    ck_assert_str_eq(out, want);
    /* nghttp: 16 streams (max_concurrent_streams) on one connection, each whole */
    th_sh(out, sizeof(out),
          "nghttp -n -s https://127.0.0.1:%d/bytes/100000 $(for i in $(seq 2 16); do printf "
          "'https://127.0.0.1:%d/bytes/%%d ' $((i * 1000)); done) 2>&1 | grep -c ' 200 '",
          p_tls, p_tls);
    ck_assert_int_eq(atoi(out), 16);
    /* h2load: 2000 requests, 2 clients, 10 streams each */
    th_sh(out, sizeof(out), "h2load -n 2000 -c 2 -m 10 https://127.0.0.1:%d/hello 2>&1", p_tls);
    ck_assert_msg(strstr(out, "2000 succeeded, 0 failed, 0 errored"), "%s", out);
    ck_assert_msg(strstr(out, "status codes: 2000 2xx"), "%s", out);
}
END_TEST

/* The cache serves HTTP/2 clients like any: the second GET is a hit. */
START_TEST(cache_hit_over_h2)
{
    char out[4096];

    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(curl2(out, sizeof(out), p_tls, "/cached", "-D -"), 0);
        ck_assert_msg(strstr(out, "cacheable\n\n2 200"), "%s", out);
    }
    ck_assert_msg(strstr(out, "cache-status: gatehouse; hit"), "%s", out);
    ck_assert_int_eq(origin_saw("GET /cached"), 1);
}
END_TEST

/* A compressed answer goes over HTTP/2 as DATA frames (no chunked
 * framing, no Content-Length), and decodes to the origin's bytes. */
START_TEST(compressed_over_h2)
{
    char out[4096], direct[128], via[128];

    ck_assert_int_eq(curl2(out, sizeof(out), p_tls, "/page",
                           "-H 'Accept-Encoding: gzip' -o /dev/null -D -"),
                     0);
    ck_assert_msg(strstr(out, "content-encoding: gzip") && strstr(out, "vary: Accept-Encoding") &&
                      !strstr(out, "content-length") && !strstr(out, "transfer-encoding") &&
                      strstr(out, "\n2 200"),
                  "%s", out);
    ck_assert_int_eq(th_sh(direct, sizeof(direct),
                           "curl -s --max-time 10 http://127.0.0.1:%d/page | md5sum", o1.port),
                     0);
    ck_assert_int_eq(th_sh(via, sizeof(via),
                           "curl -s --max-time 10 --http2 --cacert %s/ca.pem "
                           "--resolve a.test:%d:127.0.0.1 -H 'Accept-Encoding: gzip' "
                           "https://a.test:%d/page | gzip -d | md5sum",
                           certs, p_tls, p_tls),
                     0);
    ck_assert_str_eq(via, direct);
    ck_assert_int_ge(th_log_lines(gh.access, 1, "\"GET /page HTTP/2.0\" 200", "proto=h2",
                                  "enc=gzip zin=", NULL),
                     1);
}
END_TEST

/* ---- flow control ---- */

/* A stream whose window the client never opens stalls alone: another
 * stream on the same connection is answered; after timeouts.send the
 * stalled stream is reset (CANCEL), counted and logged. */
START_TEST(stalled_stream_alone)
{
    char out[4096];
    long before = h2_counter("window_stall");

    h2c(out, sizeof(out), "stall /bytes/1000000");
    ck_assert_msg(strstr(out, "STALLED 65535"), "%s", out);
    ck_assert_msg(strstr(out, "BODY 3 15 hello from one"), "%s", out);
    ck_assert_msg(strstr(out, "RST 1 CANCEL"), "%s", out);
    ck_assert_int_gt(h2_counter("window_stall"), before);
    ck_assert(th_log_lines(gh.errlog, 1, "HTTP/2 window_stall", NULL));
}
END_TEST

/* The connection's window held at zero: the connection goes. */
START_TEST(zero_window_connection)
{
    char out[4096];
    long before = h2_counter("window_stall");

    h2c(out, sizeof(out), "hold /bytes/1000000 3");
    ck_assert_msg(strstr(out, "GOAWAY ENHANCE_YOUR_CALM"), "%s", out);
    ck_assert_int_gt(h2_counter("window_stall"), before);
}
END_TEST

/* A client that reads nothing at all (its TCP window shut) is closed. */
START_TEST(slow_read_closed)
{
    char out[4096];
    long before = h2_counter("slow_read");

    h2c(out, sizeof(out), "--timeout 20 noread /bytes/100000000 4");
    ck_assert_msg(strstr(out, "EOF"), "%s", out);
    ck_assert_int_gt(h2_counter("slow_read"), before);
    ck_assert(th_log_lines(gh.errlog, 1, "HTTP/2 slow_read", NULL));
}
END_TEST

/* Clients that say close_notify and leave while their answer is still
 * being written: the worker lets them go and serves the next one. */
START_TEST(abandoned_connections)
{
    char out[4096];

    for (int i = 0; i < 6; i++) {
        h2c(out, sizeof(out), "abandon /bytes/4000000");
        ck_assert_msg(strstr(out, "CLOSED"), "%s", out);
        ck_assert_int_eq(curl2(out, sizeof(out), p_tls, "/hello", NULL), 0);
        ck_assert_msg(strstr(out, "hello from one\n\n2 200"), "%s", out);
    }
}
END_TEST

/* ---- limits ---- */

START_TEST(limits)
{
    char out[4096];

    /* the SETTINGS Gatehouse sends */
    th_sh(out, sizeof(out), "nghttp -nv https://127.0.0.1:%d/hello 2>&1 | grep -A5 'recv SETTINGS' | head -6",
          p_tls);
    ck_assert_msg(strstr(out, "SETTINGS_MAX_CONCURRENT_STREAMS(0x03):16"), "%s", out);
    ck_assert_msg(strstr(out, "SETTINGS_MAX_HEADER_LIST_SIZE(0x06):16384"), "%s", out);
    /* 20 slow requests at once where 16 may be open: 16 answered, 4 refused */
    h2c(out, sizeof(out), "streams 20 /slow");
    ck_assert_msg(count(out, "BODY ") == 16 && count(out, "REFUSED_STREAM") == 4, "%s", out);
    /* a head over max_header_bytes gets 431, as over HTTP/1 */
    h2c(out, sizeof(out), "request --path /toolarge --big 17000");
    ck_assert_msg(strstr(out, "STATUS 1 431"), "%.300s", out);
    ck_assert_int_eq(origin_saw(" /toolarge"), 0);
}
END_TEST

/* ---- abuse ---- */

/* Each class: GOAWAY(ENHANCE_YOUR_CALM), a counter, a log line. */
START_TEST(abuse_classes)
{
    static const struct {
        const char *args, *counter, *log;
    } cases[] = {
        {"rapid-reset 200", "rapid_reset", "HTTP/2 rapid_reset"},
        {"continuation 50", "continuation_flood", "HTTP/2 continuation_flood"},
        {"hpack-bomb 40", "hpack_bomb", "HTTP/2 hpack_bomb"},
        {"flood settings 300", "settings_flood", "HTTP/2 settings_flood"},
        {"flood ping 300", "ping_flood", "HTTP/2 ping_flood"},
        {"flood priority 300", "priority_flood", "HTTP/2 priority_flood"},
        {"flood empty-data 300", "empty_frames", "HTTP/2 empty_frames"},
    };
    char out[4096];

    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        long before = h2_counter(cases[i].counter);
        h2c(out, sizeof(out), cases[i].args);
        ck_assert_msg(strstr(out, "GOAWAY ENHANCE_YOUR_CALM"), "%s: %s", cases[i].args, out);
        ck_assert_int_eq(h2_counter(cases[i].counter), before + 1);
        ck_assert(th_log_lines(gh.errlog, 1, cases[i].log, NULL));
    }
    /* a well-behaved client still gets its page */
    h2c(out, sizeof(out), "request --path /hello");
    ck_assert_msg(strstr(out, "BODY 1 15 hello from one"), "%s", out);
}
END_TEST

/* ---- lifecycle ---- */

/* Waits up to 15 s for a spawned process; its exit status or -1. */
static int wait_exit(pid_t pid)
{
    int status;

    for (int i = 0; i < 1500; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        th_sleep_ms(10);
    }
    th_reap(pid);
    return -1;
}

/* A reload sends GOAWAY; the stream in flight finishes; the connection
 * ends. */
START_TEST(reload_goaway)
{
    char log[128], port[16], out[4096];
    pid_t pid;

    snprintf(log, sizeof(log), "/tmp/gh-h2drain-%d.log", (int)getpid());
    snprintf(port, sizeof(port), "%d", p_tls);
    pid = th_spawn(log, (char *const[]){"/usr/bin/python3", "tests/support/h2client.py", "--port",
                                        port, "--tls", "drain", "/slow?reload", NULL});
    ck_assert_int_gt(pid, 0);
    ck_assert(th_log_lines(o1.log, 1, "GET /slow?reload", NULL));
    ck_assert_int_eq(th_gatehouse_reload(&gh, conf_text), 0);
    int rc = wait_exit(pid);
    th_sh(out, sizeof(out), "cat %s; rm -f %s", log, log);
    ck_assert_msg(rc == 0, "%s", out);
    ck_assert_msg(strstr(out, "GOAWAY NO_ERROR 1"), "%s", out);
    ck_assert_msg(strstr(out, "STATUS 1 200") && strstr(out, "BODY 1 11 slow hello"), "%s", out);
    ck_assert_msg(strstr(out, "EOF"), "%s", out);
}
END_TEST

/* SIGTERM: the same, then the daemon exits (a gatehouse of its own). */
START_TEST(sigterm_goaway)
{
    struct th_gatehouse g2;
    char log[128], port[16], out[4096], conf[4096];
    int p = th_free_port();
    pid_t pid;

    snprintf(conf, sizeof(conf),
             "listeners = ( { name = \"c\"; mode = \"reverse\"; listen = \"127.0.0.1:%d\"; "
             "routes = \"r\"; h2c = true; } );\n"
             "pools = { o = { servers = ( { address = \"127.0.0.1:%d\"; } ); }; };\n"
             "routes = { r = ( { pool = \"o\"; } ); };\n",
             p, o1.port);
    ck_assert_int_eq(th_gatehouse_start(&g2, conf), 0);
    snprintf(log, sizeof(log), "/tmp/gh-h2term-%d.log", (int)getpid());
    snprintf(port, sizeof(port), "%d", p);
    pid = th_spawn(log, (char *const[]){"/usr/bin/python3", "tests/support/h2client.py", "--port",
                                        port, "drain", "/slow?term", NULL});
    ck_assert_int_gt(pid, 0);
    ck_assert(th_log_lines(o1.log, 1, "GET /slow?term", NULL));
    ck_assert_int_eq(th_gatehouse_stop(&g2, SIGTERM, 10000), 0);
    int rc = wait_exit(pid);
    th_sh(out, sizeof(out), "cat %s; rm -f %s", log, log);
    ck_assert_msg(rc == 0, "%s", out);
    ck_assert_msg(strstr(out, "GOAWAY NO_ERROR 1"), "%s", out);
    ck_assert_msg(strstr(out, "BODY 1 11 slow hello"), "%s", out);
    th_sh(NULL, 0, "rm -rf %s", g2.dir);
}
END_TEST

/* idle_timeout and settings_timeout (a gatehouse of its own, short ones):
 * an idle connection gets GOAWAY and ends; a client that never
 * acknowledges the SETTINGS gets GOAWAY(SETTINGS_TIMEOUT), counted. */
START_TEST(idle_and_settings_timeouts)
{
    struct th_gatehouse g2;
    char out[4096], conf[2048];
    int p = th_free_port();

    snprintf(conf, sizeof(conf),
             "http2 = { idle_timeout = 0.5; settings_timeout = 0.5; };\n"
             "listeners = ( { name = \"c\"; mode = \"reverse\"; listen = \"127.0.0.1:%d\"; "
             "routes = \"r\"; h2c = true; } );\n"
             "pools = { o = { servers = ( { address = \"127.0.0.1:%d\"; } ); }; };\n"
             "routes = { r = ( { pool = \"o\"; } ); };\n",
             p, o1.port);
    ck_assert_int_eq(th_gatehouse_start(&g2, conf), 0);
    th_sh(out, sizeof(out), "/usr/bin/python3 tests/support/h2client.py --port %d drain /hello 2>&1",
          p);
    ck_assert_msg(strstr(out, "BODY 1 15 hello from one\nGOAWAY NO_ERROR 1\nEOF"), "%s", out);
    th_sh(out, sizeof(out),
          "/usr/bin/python3 tests/support/h2client.py --port %d noread /hello 2 2>&1", p);
    ck_assert_msg(strstr(out, "EOF"), "%s", out);
    ck_assert(th_log_lines(g2.errlog, 1, "HTTP/2 settings_timeout", NULL));
    ck_assert_int_eq(th_gatehouse_stop(&g2, SIGTERM, 10000), 0);
    th_sh(NULL, 0, "rm -rf %s", g2.dir);
}
END_TEST

Suite *h2_suite(void)
{
    Suite *s = suite_create("h2");
    TCase *tc = tcase_create("h2");

    tcase_add_unchecked_fixture(tc, rig_start, rig_stop);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, alpn_h2_over_tls);
    tcase_add_test(tc, h2c_prior_knowledge_opt_in);
    tcase_add_test(tc, config_checked);
    tcase_add_test(tc, head_translated);
    tcase_add_test(tc, malformed_fields_refused);
    tcase_add_test(tc, request_bodies_streamed);
    tcase_add_test(tc, responses_and_streams);
    tcase_add_test(tc, cache_hit_over_h2);
    tcase_add_test(tc, compressed_over_h2);
    tcase_add_test(tc, stalled_stream_alone);
    tcase_add_test(tc, zero_window_connection);
    tcase_add_test(tc, slow_read_closed);
    tcase_add_test(tc, abandoned_connections);
    tcase_add_test(tc, limits);
    tcase_add_test(tc, abuse_classes);
    tcase_add_test(tc, reload_goaway);
    tcase_add_test(tc, sigterm_goaway);
    tcase_add_test(tc, idle_and_settings_timeouts);
    suite_add_tcase(s, tc);
    return s;
}

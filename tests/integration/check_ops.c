/* check_ops.c — what monitoring and reports see: /metrics read by
 * Prometheus's own promtool and holding the counts of known traffic
 * (requests, bytes, servers, forward decisions and logins, TLS
 * resumptions, cache answers and objects); the
 * dashboard loaded by a headless Chromium, shown in a screenshot, its
 * charts' data moving while traffic runs; and the squid-format access log
 * turned into a report by SARG. */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct origin org;
static struct th_gatehouse gh;
static int site, gw, tls, closed_port;

static void answer(const struct origin_request *rq, struct origin_reply *re)
{
    if (strcmp(rq->path, "/cached") == 0) {
        origin_add(re, "Cache-Control: max-age=300");
        origin_text(re, "kept\n");
    } else if (strncmp(rq->path, "/ok", 3) == 0) {
        origin_text(re, "ok\n");
    } else if (strcmp(rq->path, "/boom") == 0) {
        origin_status(re, 500);
        origin_text(re, "boom\n");
    } else {
        origin_status(re, 404);
        origin_text(re, "not found\n");
    }
}

static void rig_start(void)
{
    char conf[4096], out[512];

    if (origin_start(&org, "ops", answer) < 0)
        abort();
    site = th_free_port();
    gw = th_free_port();
    closed_port = th_free_port();
    tls = th_free_port();
    /* a filter list with one category, a password file with alice, and a
     * certificate for the TLS listener */
    if (th_sh(out, sizeof(out), "mkdir -p /tmp/gh-ops-lists && echo blocked.test > "
                                "/tmp/gh-ops-lists/games && htpasswd -cbB /tmp/gh-ops-lists/users "
                                "alice wonderland 2>&1 && cd /tmp/gh-ops-lists && openssl req -x509 "
                                "-newkey rsa:2048 -nodes -days 2 -subj /CN=localhost -keyout site.key "
                                "-out site.pem 2>&1 && chmod -R a+rX /tmp/gh-ops-lists") != 0)
        abort();
    snprintf(conf, sizeof(conf),
             "log = { access = \"@ACCESS@\"; format = \"squid\"; };\n"
             "listeners = (\n"
             "  { name = \"site\"; mode = \"reverse\"; listen = \"127.0.0.1:%d\"; routes = \"r\";\n"
             "    metrics_path = \"/metrics\"; dashboard_path = \"/dash\"; },\n"
             "  { name = \"gw\"; mode = \"forward\"; listen = \"127.0.0.1:%d\"; policy = \"school\";\n"
             "    metrics_path = \"/metrics\"; metrics_allow = [ \"10.0.0.0/8\" ]; },\n"
             "  { name = \"tls\"; mode = \"reverse\"; listen = \"127.0.0.1:%d\"; routes = \"c\";\n"
             "    tls = { certificates = ( { cert = \"/tmp/gh-ops-lists/site.pem\";\n"
             "                               key = \"/tmp/gh-ops-lists/site.key\"; } ); }; }\n"
             ");\n"
             "cache = { memory_mb = 8; };\n"
             "lists = { games = { path = \"/tmp/gh-ops-lists/games\"; format = \"domains\"; }; };\n"
             "policies = { school = { auth = { file = \"/tmp/gh-ops-lists/users\"; };\n"
             "                        filter = ( { block = [ \"games\" ]; } ); }; };\n"
             "pools = { app = { servers = ( { address = \"127.0.0.1:%d\"; },\n"
             "                              { address = \"127.0.0.1:%d\"; backup = true; } ); }; };\n"
             "routes = { r = ( { path = \"/\"; pool = \"app\"; } );\n"
             "           c = ( { path = \"/\"; pool = \"app\"; cache = true; } ); };\n",
             site, gw, tls, org.port, closed_port);
    if (th_gatehouse_start(&gh, conf) < 0)
        abort();
}

static void rig_stop(void)
{
    rig_origin_stop(&org);
    rig_stop_clean(&gh);
    th_sh(NULL, 0, "rm -rf /tmp/gh-ops-lists");
}

/* Sends n GETs of path to the site listener; each must get `status`. */
static void gets(int n, const char *path, int status)
{
    char raw[256];
    struct tc_response r = {0};

    snprintf(raw, sizeof(raw), "GET %s HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n",
             path);
    for (int i = 0; i < n; i++) {
        ck_assert_int_ge(tc_request("127.0.0.1", site, raw, &r), 0);
        ck_assert_int_eq(r.status, status);
        tc_response_free(&r);
    }
}

/* The value of the sample `series` (name and labels exactly as written)
 * in text, or -1 when absent. */
static double sample(const char *text, const char *series)
{
    size_t n = strlen(series);

    for (const char *p = text; (p = strstr(p, series)); p += n)
        if ((p == text || p[-1] == '\n') && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    return -1;
}

/* Scrapes /metrics from the site listener into body (malloc'd). */
static char *scrape(void)
{
    struct tc_response r = {0};
    char *body;

    ck_assert_int_ge(tc_request("127.0.0.1", site,
                                "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &r),
                     0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.head, "text/plain; version=0.0.4"));
    body = r.body;
    r.body = NULL;
    return body;
}

START_TEST(metrics_pass_promtool_and_count_known_traffic)
{
    static char out[8192];
    char path[256], *m0, *m;
    FILE *f;
    struct tc_response r = {0};

    m0 = scrape();
    gets(7, "/ok", 200);
    gets(2, "/missing", 404);
    gets(3, "/boom", 500);
    /* the forward side: a blocked host with alice's credentials, and one
     * without credentials */
    ck_assert_int_ge(tc_request("127.0.0.1", gw,
                                "GET http://blocked.test/ HTTP/1.1\r\nHost: blocked.test\r\n"
                                "Proxy-Authorization: Basic YWxpY2U6d29uZGVybGFuZA==\r\n"
                                "Connection: close\r\n\r\n",
                                &r),
                     0);
    ck_assert_int_eq(r.status, 403);
    tc_response_free(&r);
    ck_assert_int_ge(tc_request("127.0.0.1", gw,
                                "GET http://x.test/ HTTP/1.1\r\nHost: x.test\r\nConnection: close\r\n\r\n",
                                &r),
                     0);
    ck_assert_int_eq(r.status, 407);
    tc_response_free(&r);
    /* metrics_allow: loopback is not in 10/8 on the gateway */
    ck_assert_int_ge(tc_request("127.0.0.1", gw, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &r), 0);
    ck_assert_int_eq(r.status, 403);
    tc_response_free(&r);

    /* a client has its response before the daemon ends the exchange; the
     * counts are made just before the access log's line, so wait for the
     * lines (bounded) rather than for a moment */
    ck_assert_int_eq(th_log_lines(gh.access, 7, " TCP_MISS/200 ", " GET /ok ", NULL), 7);
    ck_assert_int_eq(th_log_lines(gh.access, 2, "/404 ", " GET /missing ", NULL), 2);
    ck_assert_int_eq(th_log_lines(gh.access, 3, "/500 ", " GET /boom ", NULL), 3);
    ck_assert_int_eq(th_log_lines(gh.access, 1, "/403 ", " GET http://blocked.test/ ", NULL), 1);
    ck_assert_int_eq(th_log_lines(gh.access, 1, "/407 ", " GET http://x.test/ ", NULL), 1);
    ck_assert_int_eq(th_log_lines(gh.access, 1, "/403 ", " GET /metrics ", NULL), 1);
    ck_assert_int_eq(th_log_lines(gh.access, 1, "/200 ", " GET /metrics ", NULL), 1);
    m = scrape();
    snprintf(path, sizeof(path), "%s/metrics.txt", gh.dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(m, f);
    fclose(f);
    ck_assert_msg(th_sh(out, sizeof(out), "promtool check metrics < %s 2>&1", path) == 0,
                  "promtool: %s", out);

#define DELTA(series) (sample(m, series) - (sample(m0, series) < 0 ? 0 : sample(m0, series)))
    ck_assert_double_eq(DELTA("gatehouse_requests_total{listener=\"site\",code_class=\"2xx\",proto=\"http/1.1\"}"), 8); /* 7 + the first scrape */
    ck_assert_double_eq(DELTA("gatehouse_requests_total{listener=\"site\",code_class=\"4xx\",proto=\"http/1.1\"}"), 2);
    ck_assert_double_eq(DELTA("gatehouse_requests_total{listener=\"site\",code_class=\"5xx\",proto=\"http/1.1\"}"), 3);
    ck_assert_double_eq(DELTA("gatehouse_requests_total{listener=\"gw\",code_class=\"4xx\",proto=\"http/1.1\"}"), 3);
    ck_assert_double_eq(sample(m, "gatehouse_forward_decisions_total{policy=\"school\",decision=\"block\",list=\"games\"}"), 1);
    ck_assert_double_eq(sample(m, "gatehouse_forward_auth_total{policy=\"school\",result=\"ok\"}"), 1);
    ck_assert_double_eq(sample(m, "gatehouse_forward_auth_total{policy=\"school\",result=\"missing\"}"), 1);
    snprintf(path, sizeof(path), "{pool=\"app\",server=\"127.0.0.1:%d\"}", org.port);
    char series[512];
    snprintf(series, sizeof(series), "gatehouse_server_requests_total%s", path);
    ck_assert_double_eq(sample(m, series), 12);
    snprintf(series, sizeof(series), "gatehouse_server_up%s", path);
    ck_assert_double_eq(sample(m, series), 1);
    snprintf(series, sizeof(series), "gatehouse_upstream_response_seconds_count%s", path);
    ck_assert_double_eq(sample(m, series), 12);
    snprintf(series, sizeof(series), "gatehouse_upstream_response_seconds_bucket{pool=\"app\",server=\"127.0.0.1:%d\",le=\"+Inf\"}", org.port);
    ck_assert_double_eq(sample(m, series), 12);
    snprintf(series, sizeof(series), "gatehouse_server_requests_total{pool=\"app\",server=\"127.0.0.1:%d\"}", closed_port);
    ck_assert_double_eq(sample(m, series), 0);
    ck_assert_double_gt(sample(m, "process_resident_memory_bytes"), 1e6);
    ck_assert_double_gt(sample(m, "process_open_fds"), 3);
    ck_assert_double_eq(sample(m, "gatehouse_config_last_reload_successful"), 1);
    ck_assert_double_ge(DELTA("gatehouse_sent_bytes_total{listener=\"site\"}"), 12 * 3);
    free(m0);
    free(m);
    /* the connections close just after their lines: soon only a scrape's
     * own is open (waits at most 5 s) */
    double conns = -1;
    for (int i = 0; i < 50 && conns != 1; i++) {
        m = scrape();
        conns = sample(m, "gatehouse_connections_open{listener=\"site\"}");
        free(m);
        if (conns != 1)
            th_sleep_ms(100);
    }
    ck_assert_double_eq(conns, 1);
}
END_TEST

/* The dashboard's data as Chromium renders it: the page's body carries
 * the newest sample's request count and each chart its number of points. */
static int dashboard_dom(char *out, size_t cap)
{
    return th_sh(out, cap,
                 "timeout 60 chromium --headless --no-sandbox --disable-gpu --no-first-run --no-proxy-server "
                 "--disable-background-networking --disable-component-update --disable-sync "
                 "--user-data-dir=%s/chromium --virtual-time-budget=4000 --dump-dom "
                 "http://127.0.0.1:%d/dash 2>/dev/null",
                 gh.dir, site);
}

static long attr(const char *dom, const char *name)
{
    const char *p = strstr(dom, name);

    return p ? strtol(p + strlen(name) + 2, NULL, 10) : -1; /* name="N" */
}

START_TEST(dashboard_in_chromium_moves_with_traffic)
{
    static char dom[65536], out[4096];
    char png[256];

    /* the page as Chromium renders it, after its first poll */
    ck_assert_int_eq(dashboard_dom(dom, sizeof(dom)), 0);
    ck_assert_msg(attr(dom, "data-requests") >= 0, "no data in the page: %.2000s", dom);
    ck_assert_ptr_nonnull(strstr(dom, "<polyline"));
    ck_assert_ptr_nonnull(strstr(dom, "127.0.0.1:")); /* the servers' table */
    /* nothing from elsewhere: every src/href is inline or relative */
    ck_assert_ptr_null(strstr(dom, "src=\"http"));
    ck_assert_ptr_null(strstr(dom, "href=\"http"));
    /* live: one page stays open (driven over DevTools), 20 requests go
     * through the site, and the page's own polls show them; it waits for
     * that (bounded), so the sampler's second does not decide the outcome */
    snprintf(png, sizeof(png), "%s/dashboard.png", gh.dir);
    ck_assert_msg(th_sh(out, sizeof(out),
                        "/usr/bin/python3 tests/support/dash-live.py http://127.0.0.1:%d/dash "
                        "http://127.0.0.1:%d/ok 20 %s/chromium-live %s 2>&1",
                        site, site, gh.dir, png) == 0,
                  "dash-live: %s", out);
    ck_assert_msg(strstr(out, "\"chart_changed\": true") != NULL, "the chart did not change: %s", out);
    long r1 = attr(strstr(out, "\"before\""), "\"requests\"");
    long r2 = attr(strstr(out, "\"after\""), "\"requests\"");
    ck_assert_msg(r1 >= 0 && r2 >= r1 + 20, "the page's count went from %ld to %ld", r1, r2);
    /* never reloaded: one navigation, and the mark left on the window kept */
    ck_assert_msg(strstr(out, "\"navigations\": 1, \"marker\": 1") != NULL, "reloaded: %s", out);
    ck_assert_int_eq(th_sh(out, sizeof(out), "stat -c %%s %s", png), 0);
    ck_assert_msg(atol(out) > 10000, "screenshot of %s bytes", out);
    if (getenv("GH_KEEP_SCREENSHOT"))
        th_sh(NULL, 0, "cp %s %s", png, getenv("GH_KEEP_SCREENSHOT"));
}
END_TEST

START_TEST(squid_log_makes_a_sarg_report)
{
    static char out[4096];
    struct tc_response r = {0};

    gets(3, "/ok", 200);
    ck_assert_int_ge(tc_request("127.0.0.1", gw,
                                "GET http://blocked.test/page HTTP/1.1\r\nHost: blocked.test\r\n"
                                "Proxy-Authorization: Basic YWxpY2U6d29uZGVybGFuZA==\r\n"
                                "Connection: close\r\n\r\n",
                                &r),
                     0);
    ck_assert_int_eq(r.status, 403);
    tc_response_free(&r);
    /* the lines as Squid writes them */
    ck_assert_int_ge(th_log_lines(gh.access, 3, " TCP_MISS/200 ", " GET /ok - HIER_DIRECT/127.0.0.1 text/plain", NULL), 3);
    ck_assert_int_eq(th_log_lines(gh.access, 1, " TCP_DENIED/403 ", " GET http://blocked.test/page alice HIER_NONE/- text/html", NULL), 1);
    ck_assert_int_eq(th_sh(out, sizeof(out),
                           "cd %s && mkdir -p sarg && printf 'output_dir %s/sarg\\nresolve_ip no\\n"
                           "overwrite_report yes\\n' > sarg.conf && sarg -f sarg.conf -l %s -o %s/sarg 2>&1",
                           gh.dir, gh.dir, gh.access, gh.dir),
                     0);
    ck_assert_msg(strstr(out, "Successful report generated") != NULL, "sarg: %s", out);
    ck_assert_int_eq(th_sh(out, sizeof(out), "grep -l blocked.test %s/sarg/*/denied.html && ls %s/sarg/*/alice",
                           gh.dir, gh.dir), 0);
}
END_TEST

/* TLS handshakes (full and resumed) and the cache's answers, counted as
 * a client made them: one curl opens two connections to the TLS listener
 * (the second resumes the first's session) and fetches a cacheable page
 * twice: a miss, then a hit. */
START_TEST(metrics_count_tls_resumptions_and_cache_answers)
{
    static char out[4096];
    char *m0, *m;

    m0 = scrape();
    ck_assert_msg(th_sh(out, sizeof(out),
                        "curl -sk --http1.1 --noproxy '*' --resolve localhost:%d:127.0.0.1 "
                        "-H 'Connection: close' "
                        "-o /dev/null -o /dev/null -w '%%{http_code} %%{num_connects}\\n' "
                        "https://localhost:%d/cached https://localhost:%d/cached 2>&1",
                        tls, tls, tls) == 0,
                  "curl: %s", out);
    ck_assert_str_eq(out, "200 1\n200 1\n"); /* two connections */
    ck_assert_int_eq(th_log_lines(gh.access, 2, "/200 ", " GET /cached ", NULL), 2);
    m = scrape();
    ck_assert_double_eq(DELTA("gatehouse_tls_handshakes_total{listener=\"tls\",result=\"full\"}"), 1);
    ck_assert_double_eq(DELTA("gatehouse_tls_handshakes_total{listener=\"tls\",result=\"resumed\"}"), 1);
    ck_assert_double_eq(DELTA("gatehouse_cache_answers_total{result=\"miss\"}"), 1);
    ck_assert_double_eq(DELTA("gatehouse_cache_answers_total{result=\"hit\"}"), 1);
    ck_assert_double_eq(sample(m, "gatehouse_cache_objects{tier=\"memory\"}"), 1);
    ck_assert_double_gt(sample(m, "gatehouse_cache_bytes{tier=\"memory\"}"), 0);
    ck_assert_double_eq(sample(m, "gatehouse_cache_limit_bytes{tier=\"memory\"}"), 8 << 20);
    ck_assert_double_eq(DELTA("gatehouse_requests_total{listener=\"tls\",code_class=\"2xx\",proto=\"http/1.1\"}"), 2);
    free(m0);
    free(m);
}
END_TEST

Suite *ops_suite(void)
{
    Suite *s = suite_create("ops");
    TCase *tc = tcase_create("ops");

    tcase_add_unchecked_fixture(tc, rig_start, rig_stop);
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, metrics_pass_promtool_and_count_known_traffic);
    tcase_add_test(tc, dashboard_in_chromium_moves_with_traffic);
    tcase_add_test(tc, squid_log_makes_a_sarg_report);
    tcase_add_test(tc, metrics_count_tls_resumptions_and_cache_answers);
    suite_add_tcase(s, tc);
    return s;
}

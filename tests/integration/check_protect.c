/* check_protect.c — the protections of issue 18 in the reverse mode, as
 * a client sees them: request rate limits (429 with the RateLimit fields,
 * one flooding client among 50 quiet ones, a limit shared by two workers,
 * IPv6 clients grouped by /64, the delay mode), connection limits at
 * accept, deny and allow rules by each criterion (a 100,000-line network
 * file among them; a bad line reported as file:line), bans and their
 * expiry, a ban lifted by hand, and the counters and the access log's
 * why= for each decision; in the forward mode a listener's deny list and
 * a policy's rate limit, bandwidth limits on a 20 MB download, a 20 MB
 * CONNECT tunnel and an upload (each within 10% of its rate), and a daily
 * quota that survives a restart.  Clients are told apart by
 * X-Forwarded-For from the trusted 127.0.0.1, or by their source address
 * (127.0.0.N). */
#include "common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static struct origin origin;
static struct th_gatehouse gh;
static int site, waf, conns, fwd, guarded;
static char dir[128], mmdb[160];

static void answer(const struct origin_request *rq, struct origin_reply *re)
{
    char n[32];

    if (strcmp(rq->path, "/big") == 0 && origin_query(rq, "n", 0, n, sizeof(n)) == 0) {
        origin_pattern(re, strtoull(n, NULL, 10));
    } else if (strcmp(rq->path, "/sink") == 0) {
        origin_text(re, "bytes=%llu\n", (unsigned long long)rq->body_len);
    } else if (strcmp(rq->path, "/missing") == 0) {
        origin_status(re, 404);
        origin_text(re, "not found\n");
    } else {
        origin_text(re, "hello from %s\n", rq->name);
    }
}

static void must(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "protect rig: %s failed\n", what);
        abort();
    }
}

static const char *const deny_conf =
    "deny_rules = {\n"
    "  waf = (\n"
    "    { name = \"office\"; action = \"allow\"; networks = [ \"192.0.2.0/24\" ]; },\n"
    "    { name = \"no_delete\"; method = [ \"DELETE\", \"PATCH\" ]; },\n"
    "    { name = \"admin\"; path_prefix = \"/admin/\"; },\n"
    "    { name = \"php\"; path = \"\\\\.php$\"; },\n"
    "    { name = \"sqli\"; query = \"(?i)union.+select\"; },\n"
    "    { name = \"evil\"; header = \"X-Evil\"; },\n"
    "    { name = \"debug\"; header = \"X-Mode\"; value = \"^debug\"; },\n"
    "    { name = \"sqlmap\"; user_agent = \"sqlmap\"; },\n"
    "    { name = \"badhost\"; host = \"bad.test\"; },\n"
    "    { name = \"japan\"; country = [ \"JP\" ]; },\n"
    "    { name = \"europe\"; continent = [ \"EU\" ]; },\n"
    "    { name = \"blocklist\"; networks_file = \"%s/block.txt\"; },\n"
    "    { name = \"drop\"; action = \"close\"; path_prefix = \"/drop/\"; }\n"
    "  );\n"
    "};\n";

static void rig_start(void)
{
    char conf[8192], out[512], rules[2048];

    strcpy(dir, "/tmp/gh-protect-XXXXXX");
    must(mkdtemp(dir) != NULL, "mkdtemp");
    chmod(dir, 0755);
    snprintf(mmdb, sizeof(mmdb), "%s/geo.mmdb", dir);
    must(th_sh(out, sizeof(out), "perl tests/support/make-geo-mmdb.pl %s 2>&1", mmdb) == 0,
         "geo database");
    /* 100,000 networks: 10.0.0.0/32 ... as /32s and /24s, and the one the
     * test is denied by, 198.18.7.0/24, as the last line */
    must(th_sh(out, sizeof(out),
               "/usr/bin/python3 -c 'import sys\n"
               "for i in range(99999):\n"
               "    a = 10 << 24 | i * 7\n"
               "    print(\"# a comment\" if i %% 5000 == 0 else \"%%d.%%d.%%d.%%d/%%d\" %% "
               "(a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255, 32 if i %% 2 else 24))\n"
               "print(\"198.18.7.0/24\")' > %s/block.txt && wc -l < %s/block.txt",
               dir, dir) == 0 && atoi(out) == 100000,
         "block list");
    snprintf(rules, sizeof(rules), deny_conf, dir);
    must(origin_start(&origin, "o", answer) == 0, "origin");
    site = th_free_port();
    waf = th_free_port();
    conns = th_free_port();
    fwd = th_free_port();
    guarded = th_free_port();
    snprintf(
        conf, sizeof(conf),
        "workers = 2;\n"
        "log = { access = \"@ACCESS@\"; };\n"
        "geo = { database = \"%s\"; };\n"
        "rate_limits = {\n"
        "  flood = { rate = 20; per = 3600; };\n"
        "  shared = { rate = 200; per = 86400; key = \"header:X-Key\"; headers = true; };\n"
        "  v6 = { rate = 3; per = 3600; };\n"
        "  spaced = { rate = 5; per = 1; burst = 1; action = \"delay\"; max_delay = 10; };\n"
        "};\n"
        "%s"
        "bans = {\n"
        "  scanner = { events = [ \"4xx\" ]; count = 3; within = 60; duration = 2; };\n"
        "  lifted = { events = [ \"4xx\" ]; count = 2; within = 60; duration = 600; };\n"
        "};\n"
        "listeners = (\n"
        "  { name = \"site\"; mode = \"reverse\"; listen = \"127.0.0.1:%d\"; routes = \"r\";\n"
        "    trusted_proxies = [ \"127.0.0.1/32\" ]; status_path = \"/.gh/status\";\n"
        "    metrics_path = \"/metrics\"; },\n"
        "  { name = \"waf\"; mode = \"reverse\"; listen = \"127.0.0.1:%d\"; routes = \"any\";\n"
        "    trusted_proxies = [ \"127.0.0.1/32\" ]; deny_rules = [ \"waf\" ]; },\n"
        "  { name = \"conns\"; mode = \"reverse\"; listen = \"0.0.0.0:%d\"; routes = \"any\";\n"
        "    connection_limits = { concurrent = 4; rate = 100; burst = 100; }; },\n"
        "  { name = \"fwd\"; mode = \"forward\"; listen = \"127.0.0.1:%d\"; policy = \"school\"; },\n"
        "  { name = \"guarded\"; mode = \"forward\"; listen = \"127.0.0.1:%d\"; policy = \"guarded\";\n"
        "    deny_rules = [ \"waf\" ]; }\n"
        ");\n"
        "policies = {\n"
        "  school = { connect_ports = ( \"1024-65535\" );\n"
        "             bandwidth = { rate = 4000000; up_rate = 2000000; burst = 200000; }; };\n"
        "  guarded = { rate_limits = [ \"v6\" ]; };\n"
        "};\n"
        "pools = { app = { servers = ( { address = \"127.0.0.1:%d\"; } ); }; };\n"
        "routes = {\n"
        "  r = ( { host = \"flood.test\"; pool = \"app\"; rate_limits = [ \"flood\" ]; },\n"
        "        { host = \"shared.test\"; pool = \"app\"; rate_limits = [ \"shared\" ]; },\n"
        "        { host = \"v6.test\"; pool = \"app\"; rate_limits = [ \"v6\" ]; },\n"
        "        { host = \"spaced.test\"; pool = \"app\"; rate_limits = [ \"spaced\" ]; },\n"
        "        { host = \"ban.test\"; pool = \"app\"; bans = [ \"scanner\" ]; },\n"
        "        { host = \"lift.test\"; pool = \"app\"; bans = [ \"lifted\" ]; } );\n"
        "  any = ( { pool = \"app\"; } );\n"
        "};\n",
        mmdb, rules, site, waf, conns, fwd, guarded, origin.port);
    if (th_gatehouse_start(&gh, conf) != 0) {
        th_sh(out, sizeof(out), "tail -c 400 %s >&2", gh.errlog);
        rig_origin_stop(&origin);
        must(0, "gatehouse");
    }
}

static void rig_stop(void)
{
    rig_stop_clean(&gh);
    rig_origin_stop(&origin);
    th_sh(NULL, 0, "rm -rf %s", dir);
}

/* One request to port for host from the client `from` (X-Forwarded-For;
 * NULL: none) with extra fields; returns the status (r freed unless
 * keep). */
static int ask(int port, const char *method, const char *host, const char *path,
               const char *from, const char *extra, struct tc_response *r)
{
    char req[2048];
    struct tc_response mine = {0};
    int st;

    snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: %s\r\n%s%s%s%sConnection: close\r\n\r\n",
             method, path, host, from ? "X-Forwarded-For: " : "", from ? from : "",
             from ? "\r\n" : "", extra ? extra : "");
    if (tc_request("127.0.0.1", port, req, r ? r : &mine) < 0)
        st = -1;
    else
        st = r ? r->status : mine.status;
    tc_response_free(&mine);
    return st;
}

/* The status document's counter `counter` of `name` in `kind`
 * ("rate_limits", "flood", "limited"), or -1. */
static long counter(const char *kind, const char *name, const char *ctr)
{
    struct tc_response r = {0};
    char needle[160];
    const char *p;
    long v = -1;

    ck_assert_int_eq(ask(site, "GET", "x", "/.gh/status", NULL, NULL, &r), 200);
    snprintf(needle, sizeof(needle), "\"%s\":{", kind);
    if ((p = strstr(r.body, needle))) {
        snprintf(needle, sizeof(needle), "\"%s\":{", name);
        if ((p = strstr(p, needle))) {
            p += strlen(needle);
            snprintf(needle, sizeof(needle), "\"%s\":", ctr);
            if ((p = strstr(p, needle)))
                v = atol(p + strlen(needle));
        }
    }
    tc_response_free(&r);
    return v;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- rate limits ---- */

struct crowd {
    int port;
    const char *host;
    char from[64];
    char extra[128];
    int requests;
    int ok, limited, other;
};

static void *crowd_run(void *arg)
{
    struct crowd *c = arg;

    for (int i = 0; i < c->requests; i++) {
        int st = ask(c->port, "GET", c->host, "/hello", c->from[0] ? c->from : NULL,
                     c->extra[0] ? c->extra : NULL, NULL);
        if (st == 200)
            c->ok++;
        else if (st == 429)
            c->limited++;
        else
            c->other++;
    }
    return NULL;
}

/* One client floods flood.test (20 an hour) while 50 others ask 5 times
 * each: the flood gets 429s, the others not one error. */
START_TEST(flood_gets_429_others_unharmed)
{
    struct crowd c[51];
    pthread_t t[51];
    struct tc_response r = {0};
    size_t n;

    memset(c, 0, sizeof(c));
    for (int i = 0; i < 51; i++) {
        c[i].port = site;
        c[i].host = "flood.test";
        c[i].requests = i ? 5 : 120;
        snprintf(c[i].from, sizeof(c[i].from), i ? "198.51.100.%d" : "203.0.113.66", i);
        ck_assert_int_eq(pthread_create(&t[i], NULL, crowd_run, &c[i]), 0);
    }
    for (int i = 0; i < 51; i++)
        pthread_join(t[i], NULL);
    for (int i = 1; i < 51; i++)
        ck_assert_msg(c[i].ok == 5 && !c[i].limited && !c[i].other,
                      "client %d: %d ok, %d limited, %d other", i, c[i].ok, c[i].limited,
                      c[i].other);
    ck_assert_int_eq(c[0].other, 0);
    ck_assert_int_eq(c[0].ok, 20); /* the burst; an hour's rate refills nothing meanwhile */
    ck_assert_int_eq(c[0].limited, 100);
    /* the answer a limited client reads */
    ck_assert_int_eq(ask(site, "GET", "flood.test", "/hello", "203.0.113.66", NULL, &r), 429);
    ck_assert_ptr_nonnull(tc_header(&r, "Retry-After", &n));
    ck_assert_ptr_nonnull(tc_header(&r, "RateLimit-Policy", &n));
    ck_assert_ptr_nonnull(tc_header(&r, "RateLimit", &n));
    ck_assert_ptr_nonnull(strstr(r.body, "rate limit exceeded: flood"));
    tc_response_free(&r);
    ck_assert_int_eq(counter("rate_limits", "flood", "limited"), 101);
    ck_assert_int_eq(counter("rate_limits", "flood", "allowed"), 20 + 250);
    /* the same cells in /metrics */
    ck_assert_int_eq(ask(site, "GET", "flood.test", "/metrics", NULL, NULL, &r), 200);
    ck_assert_msg(strstr(r.body, "\ngatehouse_ratelimit_decisions_total{rule=\"flood\",result=\""
                                 "limited\"} 101\n") != NULL &&
                      strstr(r.body, "\ngatehouse_ratelimit_decisions_total{rule=\"flood\","
                                     "result=\"allowed\"} 270\n") != NULL,
                  "%s", r.body);
    tc_response_free(&r);
    ck_assert_int_ge(th_log_lines(gh.access, 101, "\" 429 ",
                                  "filter=ratelimit:flood", "why=rate limit exceeded: flood", NULL),
                     101);
}
END_TEST

/* 8 clients on new connections each (both workers take them) share one
 * key's 200 requests a day: 200 pass, within 5%, by the daemon's counters
 * as by the answers. */
START_TEST(limit_holds_across_two_workers)
{
    struct crowd c[8];
    pthread_t t[8];
    int ok = 0, limited = 0;
    long allowed, refused;

    memset(c, 0, sizeof(c));
    for (int i = 0; i < 8; i++) {
        c[i].port = site;
        c[i].host = "shared.test";
        c[i].requests = 50;
        snprintf(c[i].extra, sizeof(c[i].extra), "X-Key: team-a\r\n");
        ck_assert_int_eq(pthread_create(&t[i], NULL, crowd_run, &c[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        ok += c[i].ok;
        limited += c[i].limited;
        ck_assert_int_eq(c[i].other, 0);
    }
    allowed = counter("rate_limits", "shared", "allowed");
    refused = counter("rate_limits", "shared", "limited");
    ck_assert_int_eq(ok + limited, 400);
    ck_assert_msg(allowed >= 190 && allowed <= 210, "%ld allowed of 200", allowed);
    ck_assert_int_eq(allowed, ok);
    ck_assert_int_eq(refused, limited);
}
END_TEST

/* headers = true: the answers let through carry the fields too. */
START_TEST(allowed_answers_carry_the_fields)
{
    struct tc_response r = {0};
    size_t n;
    const char *v;

    ck_assert_int_eq(ask(site, "GET", "shared.test", "/hello", NULL, "X-Key: team-b\r\n", &r), 200);
    v = tc_header(&r, "RateLimit", &n);
    ck_assert_ptr_nonnull(v);
    ck_assert_msg(memmem(v, n, "r=199", 5), "RateLimit: %.*s", (int)n, v);
    ck_assert_ptr_nonnull(tc_header(&r, "RateLimit-Policy", &n));
    tc_response_free(&r);
}
END_TEST

/* Clients in one /64 share a bucket; the next /64 has its own. */
START_TEST(ipv6_clients_in_a_64_share)
{
    ck_assert_int_eq(ask(site, "GET", "v6.test", "/hello", "2001:db8:1:2::1", NULL, NULL), 200);
    ck_assert_int_eq(ask(site, "GET", "v6.test", "/hello", "2001:db8:1:2:aaaa::7", NULL, NULL),
                     200);
    ck_assert_int_eq(ask(site, "GET", "v6.test", "/hello", "2001:db8:1:2:ffff:ffff:ffff:ffff",
                         NULL, NULL),
                     200);
    ck_assert_int_eq(ask(site, "GET", "v6.test", "/hello", "2001:db8:1:2::99", NULL, NULL), 429);
    ck_assert_int_eq(ask(site, "GET", "v6.test", "/hello", "2001:db8:1:3::1", NULL, NULL), 200);
    ck_assert_int_eq(ask(site, "GET", "v6.test", "/hello", "198.51.100.200", NULL, NULL), 200);
}
END_TEST

/* 5 a second, a burst of 1, delayed rather than refused: 6 requests in a
 * row take at least the 5 intervals of 200 ms, and none is refused. */
START_TEST(delay_mode_spaces_requests)
{
    double t0 = now_s(), took;
    long delayed;

    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(ask(site, "GET", "spaced.test", "/hello", "198.51.100.150", NULL, NULL),
                         200);
    took = now_s() - t0;
    ck_assert_msg(took >= 0.95 && took < 10, "6 requests at 5/s took %.3f s", took);
    delayed = counter("rate_limits", "spaced", "delayed");
    ck_assert_msg(delayed >= 1 && delayed <= 5, "%ld delayed", delayed);
    ck_assert_int_eq(counter("rate_limits", "spaced", "limited"), 0);
}
END_TEST

/* ---- deny rules ---- */

/* Each criterion denies with 403, a page naming the rule, the counter
 * and the log's filter= and why=. */
START_TEST(deny_by_each_criterion)
{
    static const struct {
        const char *method, *host, *path, *from, *extra, *rule;
    } c[] = {
        {"DELETE", "site.test", "/", NULL, NULL, "no_delete"},
        {"GET", "site.test", "/admin/users", NULL, NULL, "admin"},
        {"GET", "site.test", "/x/../admin/./users", NULL, NULL, "admin"}, /* the normal form */
        {"GET", "site.test", "/%61dmin/", NULL, NULL, "admin"},
        {"GET", "site.test", "/index.php", NULL, NULL, "php"},
        {"GET", "site.test", "/q?id=1+UNION+SELECT+1", NULL, NULL, "sqli"},
        {"GET", "site.test", "/", NULL, "X-Evil: 1\r\n", "evil"},
        {"GET", "site.test", "/", NULL, "X-Mode: debug-all\r\n", "debug"},
        {"GET", "site.test", "/", NULL, "User-Agent: sqlmap/1.7\r\n", "sqlmap"},
        {"GET", "www.bad.test", "/", NULL, NULL, "badhost"},
        {"GET", "site.test", "/", "127.0.0.4", NULL, "japan"},
        {"GET", "site.test", "/", "127.0.0.2", NULL, "europe"},
        {"GET", "site.test", "/", "198.18.7.77", NULL, "blocklist"},
        {"GET", "site.test", "/", "10.0.0.7", NULL, "blocklist"},  /* line 2: a /32 */
        {"GET", "site.test", "/", "10.0.0.200", NULL, "blocklist"}, /* line 3: a /24 */
    };
    struct tc_response r = {0};
    char why[96], logged[128];

    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        ck_assert_msg(ask(waf, c[i].method, c[i].host, c[i].path, c[i].from, c[i].extra, &r) == 403,
                      "case %zu (%s): %d", i, c[i].rule, r.status);
        snprintf(why, sizeof(why), "denied by rule %s", c[i].rule);
        ck_assert_msg(strstr(r.body, why), "case %zu: %s", i, r.body);
        tc_response_free(&r);
        snprintf(logged, sizeof(logged), "why=%s", why);
        ck_assert_int_ge(th_log_lines(gh.access, 1, logged, NULL), 1);
    }
    ck_assert_int_ge(counter("deny_rules", "admin", "denied"), 3);
    ck_assert_int_ge(counter("deny_rules", "blocklist", "denied"), 3);
    /* near misses pass */
    ck_assert_int_eq(ask(waf, "GET", "site.test", "/administrator", NULL, NULL, NULL), 200);
    ck_assert_int_eq(ask(waf, "GET", "site.test", "/index.php5", NULL, NULL, NULL), 200);
    ck_assert_int_eq(ask(waf, "GET", "site.test", "/q?union=1", NULL, NULL, NULL), 200);
    ck_assert_int_eq(ask(waf, "GET", "site.test", "/", NULL, "X-Mode: release\r\n", NULL), 200);
    ck_assert_int_eq(ask(waf, "GET", "notbad.test", "/", NULL, NULL, NULL), 200);
    ck_assert_int_eq(ask(waf, "GET", "site.test", "/", "127.0.0.3", NULL, NULL), 200); /* US */
    ck_assert_int_eq(ask(waf, "GET", "site.test", "/", "10.200.0.1", NULL, NULL), 200);
    ck_assert_int_eq(ask(waf, "GET", "site.test", "/", "198.18.8.1", NULL, NULL), 200);
}
END_TEST

/* An allow rule wins: the office may see /admin/ with sqlmap's agent. */
START_TEST(allow_rule_wins)
{
    ck_assert_int_eq(ask(waf, "GET", "site.test", "/admin/", "192.0.2.44",
                         "User-Agent: sqlmap\r\n", NULL),
                     200);
    ck_assert_int_ge(counter("deny_rules", "office", "allowed"), 1);
    ck_assert_int_ge(th_log_lines(gh.access, 1, "\" 200 ", "filter=allow:office", NULL), 1);
}
END_TEST

/* action = "close": no answer at all. */
START_TEST(close_rule_closes)
{
    struct tc_response r = {0};
    int fd = tc_connect("127.0.0.1", waf);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(tc_send_all(fd, "GET /drop/x HTTP/1.1\r\nHost: a\r\n\r\n", 34), 0);
    ck_assert_int_eq(tc_read_response(fd, 0, &r), -1);
    ck_assert(r.closed);
    tc_response_free(&r);
    tc_close(fd);
    ck_assert_int_ge(counter("deny_rules", "drop", "closed"), 1);
}
END_TEST

/* A bad line of a network file is named as file:line by gatehouse -t. */
START_TEST(bad_network_line_is_file_line)
{
    char conf[2048], out[2048], want[256];

    th_sh(NULL, 0,
          "printf '# office\\n10.1.0.0/16\\n10.2.0.0/33\\n' > %s/bad.txt", dir);
    snprintf(conf, sizeof(conf),
             "deny_rules = { w = ( { networks_file = \"%s/bad.txt\"; } ); };\n"
             "listeners = ( { name = \"a\"; mode = \"reverse\"; listen = \"127.0.0.1:%d\";\n"
             "                routes = \"r\"; deny_rules = [ \"w\" ]; } );\n"
             "pools = { p = { servers = ( { address = \"127.0.0.1:1\"; } ); }; };\n"
             "routes = { r = ( { pool = \"p\"; } ); };\n",
             dir, th_free_port());
    ck_assert_int_ne(th_gatehouse_check(conf, out, sizeof(out)), 0);
    snprintf(want, sizeof(want), "%s/bad.txt:3:", dir);
    ck_assert_msg(strstr(out, want), "gatehouse -t said: %s", out);
}
END_TEST

/* ---- bans ---- */

/* 3 answers in 4xx within a minute ban the client for 2 s: it is told
 * so (403, Retry-After), the status page lists it, others pass, and the
 * ban runs out. */
START_TEST(ban_and_expiry)
{
    struct tc_response r = {0};
    size_t n;
    int i;

    for (i = 0; i < 3; i++)
        ck_assert_int_eq(ask(site, "GET", "ban.test", "/missing", "198.51.100.99", NULL, NULL),
                         404);
    ck_assert_int_eq(ask(site, "GET", "ban.test", "/hello", "198.51.100.99", NULL, &r), 403);
    ck_assert_ptr_nonnull(tc_header(&r, "Retry-After", &n));
    ck_assert_ptr_nonnull(strstr(r.body, "banned by scanner"));
    tc_response_free(&r);
    ck_assert_int_eq(ask(site, "GET", "ban.test", "/hello", "198.51.100.98", NULL, NULL), 200);
    ck_assert_int_eq(ask(site, "GET", "x", "/.gh/status", NULL, NULL, &r), 200);
    ck_assert_msg(strstr(r.body, "{\"rule\":\"scanner\",\"key\":\"198.51.100.99\""), "%s", r.body);
    tc_response_free(&r);
    ck_assert_int_eq(counter("bans", "scanner", "bans"), 1);
    ck_assert_int_ge(th_log_lines(gh.access, 1, "\" 403 ", "filter=ban:scanner",
                                  "why=banned by scanner", NULL),
                     1);
    ck_assert_int_ge(th_log_lines(gh.errlog, 1, "ban scanner: 198.51.100.99 banned for 2 s", NULL),
                     1);
    /* it runs out: wait up to 6 s for the 2 s ban */
    for (i = 0; i < 60; i++) {
        if (ask(site, "GET", "ban.test", "/hello", "198.51.100.99", NULL, NULL) == 200)
            break;
        th_sleep_ms(100);
    }
    ck_assert_msg(i < 60, "the ban did not run out");
    ck_assert_msg(i >= 5, "the ban ran out after %d tries", i); /* it held for a while */
}
END_TEST

/* A ban of 10 minutes lifted by hand: DELETE on the status page. */
START_TEST(ban_lifted_by_hand)
{
    struct tc_response r = {0};

    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(ask(site, "GET", "lift.test", "/missing", "198.51.100.77", NULL, NULL),
                         404);
    ck_assert_int_eq(ask(site, "GET", "lift.test", "/hello", "198.51.100.77", NULL, NULL), 403);
    ck_assert_int_eq(ask(site, "DELETE", "x", "/.gh/status?ban=198.51.100.77", NULL, NULL, &r),
                     200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"lifted\":1"));
    tc_response_free(&r);
    ck_assert_int_eq(ask(site, "GET", "lift.test", "/hello", "198.51.100.77", NULL, NULL), 200);
    ck_assert_int_ge(counter("bans", "lifted", "lifted"), 1);
}
END_TEST

/* ---- connection limits ---- */

/* A socket to the conns listener from 127.0.0.<from>; -1 when refused. */
static int connect_from(int from, int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    struct timeval tv = {5, 0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    char src[32];

    snprintf(src, sizeof(src), "127.0.0.%d", from);
    inet_pton(AF_INET, src, &a.sin_addr);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* A GET on fd: 1 when it got a 200, 0 when the connection was closed. */
static int get_on(int fd)
{
    static const char req[] = "GET /hello HTTP/1.1\r\nHost: c\r\nConnection: close\r\n\r\n";
    char buf[4096];
    size_t got = 0;
    ssize_t n;

    if (send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) < 0)
        return 0;
    while (got < sizeof(buf) - 1 && (n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0)) > 0)
        got += (size_t)n;
    buf[got] = '\0';
    return strncmp(buf, "HTTP/1.1 200", 12) == 0;
}

/* 4 open at once per address: the 5th from 127.0.0.2 is closed, while
 * 127.0.0.3 is served. */
START_TEST(concurrent_connections_per_address)
{
    int held[4], fd;

    for (int i = 0; i < 4; i++) {
        held[i] = connect_from(2, conns);
        ck_assert_int_ge(held[i], 0);
    }
    th_sleep_ms(200); /* the workers accepted the 4 */
    fd = connect_from(2, conns);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(get_on(fd), 0);
    close(fd);
    fd = connect_from(3, conns);
    ck_assert_int_eq(get_on(fd), 1);
    close(fd);
    /* one of the 4 closes: the address may open one again */
    close(held[0]);
    th_sleep_ms(200);
    fd = connect_from(2, conns);
    ck_assert_int_eq(get_on(fd), 1);
    close(fd);
    for (int i = 1; i < 4; i++)
        close(held[i]);
    ck_assert_int_ge(counter("connections", "conns", "refused_concurrent"), 1);
}
END_TEST

struct flood {
    int from, tries, refused;
};

static void *conn_flood(void *arg)
{
    struct flood *f = arg;
    int fd[16];

    for (int round = 0; round < f->tries / 16; round++) {
        for (int i = 0; i < 16; i++)
            fd[i] = connect_from(f->from, conns);
        for (int i = 0; i < 16; i++)
            if (fd[i] >= 0)
                close(fd[i]);
    }
    return NULL;
}

/* 400 connections from 127.0.0.5 in a hurry (over its 100 a second and
 * its 4 at once) while 127.0.0.6 asks 30 times: every one of those is
 * answered. */
START_TEST(connection_flood_leaves_others_alone)
{
    struct flood f = {5, 400, 0};
    pthread_t t;
    int ok = 0;
    long before = counter("connections", "conns", "refused_rate") +
                  counter("connections", "conns", "refused_concurrent");

    ck_assert_int_eq(pthread_create(&t, NULL, conn_flood, &f), 0);
    for (int i = 0; i < 30; i++) {
        int fd = connect_from(6, conns);
        ok += fd >= 0 && get_on(fd);
        if (fd >= 0)
            close(fd);
    }
    pthread_join(t, NULL);
    ck_assert_int_eq(ok, 30);
    ck_assert_int_ge(counter("connections", "conns", "refused_rate") +
                         counter("connections", "conns", "refused_concurrent"),
                     before + 100);
}
END_TEST

/* ---- the forward mode ---- */

/* The forward mode judges the same rules: a listener's deny list, a
 * policy's rate limit. */
START_TEST(forward_deny_and_limit)
{
    char out[256];

    th_sh(out, sizeof(out),
          "curl -s -o /dev/null -w '%%{http_code}' -x http://127.0.0.1:%d "
          "http://127.0.0.1:%d/admin/x",
          guarded, origin.port);
    ck_assert_str_eq(out, "403");
    for (int i = 0; i < 4; i++) {
        th_sh(out, sizeof(out),
              "curl -s -o /dev/null -w '%%{http_code}' --interface 127.0.0.31 "
              "-x http://127.0.0.1:%d http://127.0.0.1:%d/hello",
              guarded, origin.port);
        ck_assert_str_eq(out, i < 3 ? "200" : "429");
    }
    ck_assert_int_ge(th_log_lines(gh.access, 1, "listener=guarded", "mode=forward", "\" 403 ",
                                  "why=denied by rule admin", NULL),
                     1);
}
END_TEST

/* curl through the school policy: bytes, seconds. */
static void fetch(const char *how, double *secs, unsigned long long *bytes)
{
    char out[256];

    ck_assert_int_eq(th_sh(out, sizeof(out),
                           "curl -s -o /dev/null -w '%%{size_download} %%{size_upload} "
                           "%%{time_total}' --interface 127.0.0.41 -x http://127.0.0.1:%d %s",
                           fwd, how),
                     0);
    unsigned long long down, up;
    ck_assert_int_eq(sscanf(out, "%llu %llu %lf", &down, &up, secs), 3);
    *bytes = down > up ? down : up;
}

/* The time rate and burst give n bytes: all but the burst at the rate. */
static void within_10_percent(double secs, unsigned long long n, double rate, double burst)
{
    double want = ((double)n - burst) / rate;

    ck_assert_msg(secs >= want * 0.9 && secs <= want * 1.1,
                  "%llu bytes at %.0f/s took %.3f s, not %.3f s within 10%%", n, rate, secs, want);
}

/* 20 MB at 4 MB/s, as a plain download. */
START_TEST(download_held_to_bandwidth)
{
    char how[128];
    double secs;
    unsigned long long n;
    long before = counter("bandwidth", "school", "bytes_down");

    snprintf(how, sizeof(how), "http://127.0.0.1:%d/big?n=20000000", origin.port);
    fetch(how, &secs, &n);
    ck_assert_uint_eq(n, 20000000);
    within_10_percent(secs, n, 4e6, 2e5);
    /* what came with the response's head is not metered: a buffer at most */
    ck_assert_int_ge(counter("bandwidth", "school", "bytes_down") - before, 20000000 - 65536);
    ck_assert_int_gt(counter("bandwidth", "school", "waits"), 0);
}
END_TEST

/* The same through a CONNECT tunnel. */
START_TEST(tunnel_held_to_bandwidth)
{
    char how[160];
    double secs;
    unsigned long long n;

    snprintf(how, sizeof(how), "--proxytunnel http://127.0.0.1:%d/big?n=20000000", origin.port);
    fetch(how, &secs, &n);
    ck_assert_uint_eq(n, 20000000);
    within_10_percent(secs, n, 4e6, 2e5);
    ck_assert_int_ge(th_log_lines(gh.access, 1, "\"CONNECT 127.0.0.1:", "\" 200 ",
                                  "listener=fwd", NULL),
                     1);
}
END_TEST

/* An upload at its own rate, 2 MB/s. */
START_TEST(upload_held_to_bandwidth)
{
    char how[256];
    double secs;
    unsigned long long n;

    th_sh(NULL, 0, "head -c 6000000 /dev/zero > %s/up.bin", dir);
    snprintf(how, sizeof(how), "-T %s/up.bin http://127.0.0.1:%d/sink", dir, origin.port);
    fetch(how, &secs, &n);
    ck_assert_uint_eq(n, 6000000);
    within_10_percent(secs, n, 2e6, 2e5);
    ck_assert_int_ge(counter("bandwidth", "school", "bytes_up"), 6000000 - 65536);
}
END_TEST

/* ---- daily quotas ---- */

/* curl as user through port: the status, and the body's bytes. */
static int as_user(int port, const char *user, const char *pw, unsigned n, unsigned long long *got)
{
    char out[256];
    int st = 0;

    th_sh(out, sizeof(out),
          "curl -s -o %s/body -w '%%{http_code} %%{size_download}' -x 'http://%s:%s@127.0.0.1:%d' "
          "'http://127.0.0.1:%d/big?n=%u'",
          dir, user, pw, port, origin.port, n);
    ck_assert_int_eq(sscanf(out, "%d %llu", &st, got), 2);
    return st;
}

/* A million bytes a day for each user: alice's third 600 KB is refused
 * with the page, bob is not; after a restart alice still is. */
START_TEST(quota_survives_a_restart)
{
    struct th_gatehouse q;
    char conf[2048], out[512], body[4096] = "";
    unsigned long long got;
    int port = th_free_port();
    FILE *f;

    ck_assert_int_eq(th_sh(out, sizeof(out),
                           "htpasswd -cbB %s/users alice wonderland 2>&1 && "
                           "htpasswd -bB %s/users bob builder 2>&1 && chmod 644 %s/users && "
                           "mkdir -p %s/state && chmod 777 %s/state",
                           dir, dir, dir, dir, dir),
                     0);
    snprintf(conf, sizeof(conf),
             "log = { access = \"@ACCESS@\"; };\n"
             "listeners = ( { name = \"q\"; mode = \"forward\"; listen = \"127.0.0.1:%d\";\n"
             "                policy = \"metered\"; } );\n"
             "policies = { metered = { auth = { file = \"%s/users\"; };\n"
             "                         quota = { daily = 1000000; file = \"%s/state/quota\"; }; }; };\n",
             port, dir, dir);
    ck_assert_int_eq(th_gatehouse_start(&q, conf), 0);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(as_user(port, "alice", "wonderland", 600000, &got), 200);
        ck_assert_uint_eq(got, 600000);
        /* the day is counted when the exchange ends, just before its log line */
        ck_assert_int_eq(th_log_lines(q.access, i + 1, "alice", "\" 200 ", NULL), i + 1);
    }
    ck_assert_int_eq(as_user(port, "alice", "wonderland", 1000, &got), 403);
    th_sh(body, sizeof(body), "cat %s/body", dir);
    ck_assert_msg(strstr(body, "Daily quota used up") && strstr(body, "today's 1 MB"), "%s", body);
    ck_assert_int_eq(th_log_lines(q.access, 1, "alice", "\" 403 ", "filter=quota:metered",
                                  "why=daily quota used up", NULL),
                     1);
    ck_assert_int_eq(as_user(port, "bob", "builder", 1000, &got), 200);
    ck_assert_int_eq(th_log_lines(q.access, 1, "bob", "\" 200 ", NULL), 1);
    ck_assert_int_eq(th_gatehouse_stop(&q, SIGTERM, 10000), 0);

    ck_assert_int_eq(th_gatehouse_start(&q, conf), 0);
    ck_assert_int_eq(as_user(port, "alice", "wonderland", 1000, &got), 403);
    ck_assert_int_eq(as_user(port, "bob", "builder", 1000, &got), 200);
    ck_assert_int_eq(th_log_lines(q.access, 1, "bob", "\" 200 ", NULL), 1);
    rig_stop_clean(&q);
    /* the file: one line a user after the restart's rewrite, then bob's */
    snprintf(out, sizeof(out), "%s/state/quota", dir);
    f = fopen(out, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_gt(fread(body, 1, sizeof(body) - 1, f), 0);
    fclose(f);
    ck_assert_msg(strstr(body, " alice ") && strstr(body, " bob "), "%s", body);
}
END_TEST

/* A quota needs users to count. */
START_TEST(quota_without_auth_is_refused)
{
    char out[1024];

    ck_assert_int_ne(th_gatehouse_check(
                         "listeners = ( { name = \"q\"; mode = \"forward\"; listen = "
                         "\"127.0.0.1:1\"; policy = \"p\"; } );\n"
                         "policies = { p = { quota = { daily = 1000; file = \"/tmp/q\"; }; }; };\n",
                         out, sizeof(out)),
                     0);
    ck_assert_msg(strstr(out, ":2: policy 'p': a 'quota' counts users and needs 'auth'"), "%s", out);
}
END_TEST

Suite *protect_suite(void)
{
    Suite *s = suite_create("protect");
    TCase *tc = tcase_create("protect");

    tcase_add_unchecked_fixture(tc, rig_start, rig_stop);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, flood_gets_429_others_unharmed);
    tcase_add_test(tc, limit_holds_across_two_workers);
    tcase_add_test(tc, allowed_answers_carry_the_fields);
    tcase_add_test(tc, ipv6_clients_in_a_64_share);
    tcase_add_test(tc, delay_mode_spaces_requests);
    tcase_add_test(tc, deny_by_each_criterion);
    tcase_add_test(tc, allow_rule_wins);
    tcase_add_test(tc, close_rule_closes);
    tcase_add_test(tc, bad_network_line_is_file_line);
    tcase_add_test(tc, ban_and_expiry);
    tcase_add_test(tc, ban_lifted_by_hand);
    tcase_add_test(tc, concurrent_connections_per_address);
    tcase_add_test(tc, connection_flood_leaves_others_alone);
    tcase_add_test(tc, forward_deny_and_limit);
    tcase_add_test(tc, download_held_to_bandwidth);
    tcase_add_test(tc, tunnel_held_to_bandwidth);
    tcase_add_test(tc, upload_held_to_bandwidth);
    tcase_add_test(tc, quota_survives_a_restart);
    tcase_add_test(tc, quota_without_auth_is_refused);
    suite_add_tcase(s, tc);
    return s;
}

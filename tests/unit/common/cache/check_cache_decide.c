/* check_cache_decide.c — how a stored response answers a request
 * (cache_decide): each request and response directive's effect on fresh,
 * stale, stale-while-revalidate, stale-if-error and revalidation.  Part of
 * the "cache" suite (check_cache.c). */
#include "cache_policy.h"
#include "suites.h"

#include <stdio.h>
#include <string.h>

void cache_decide_tcases(Suite *s);

#define T 784111777LL

static const struct http1_limits lim = {8192, 65536, 100, 0};
static struct http_head qh, rh;

static const char *const use_names[] = {"FRESH", "STALE", "STALE_REVALIDATE", "REVALIDATE"};

/* A response with Cache-Control `rcc` received at T (no Date: age 0 then),
 * asked `age` seconds later by a request with Cache-Control `qcc` (NULL:
 * none). */
static const struct {
    const char *rcc, *qcc;
    int64_t age;
    enum cache_use use;
    int sie; /* stale_if_error */
} decisions[] = {
    /* plain freshness */
    {"max-age=100", NULL, 10, CACHE_USE_FRESH, 1},
    {"max-age=100", NULL, 99, CACHE_USE_FRESH, 1},
    {"max-age=100", NULL, 100, CACHE_USE_REVALIDATE, 0},
    {"max-age=100", NULL, 500, CACHE_USE_REVALIDATE, 0},
    {"max-age=abc", NULL, 0, CACHE_USE_REVALIDATE, 0},
    /* no-cache: revalidate even when fresh */
    {"max-age=100, no-cache", NULL, 10, CACHE_USE_REVALIDATE, 0},
    {"max-age=100, no-cache=\"Set-Cookie\"", NULL, 10, CACHE_USE_REVALIDATE, 0},
    {"max-age=100", "no-cache", 10, CACHE_USE_REVALIDATE, 1},
    /* request max-age and min-fresh */
    {"max-age=100", "max-age=20", 10, CACHE_USE_FRESH, 1},
    {"max-age=100", "max-age=5", 10, CACHE_USE_REVALIDATE, 1},
    {"max-age=100", "max-age=0", 10, CACHE_USE_REVALIDATE, 1},
    {"max-age=100", "min-fresh=50", 60, CACHE_USE_REVALIDATE, 1},
    {"max-age=100", "min-fresh=30", 60, CACHE_USE_FRESH, 1},
    /* immutable: a reload (max-age=0) does not revalidate while fresh, a
     * forced one (no-cache) does, and once stale it is like any other */
    {"max-age=100, immutable", "max-age=0", 10, CACHE_USE_FRESH, 1},
    {"max-age=100, immutable", "no-cache", 10, CACHE_USE_REVALIDATE, 1},
    {"max-age=100, immutable", "max-age=0", 150, CACHE_USE_REVALIDATE, 0},
    /* max-stale */
    {"max-age=100", "max-stale=20", 110, CACHE_USE_STALE, 0},
    {"max-age=100", "max-stale=20", 130, CACHE_USE_REVALIDATE, 0},
    {"max-age=100", "max-stale", 100000, CACHE_USE_STALE, 0},
    {"max-age=100", "max-stale=20, max-age=50", 110, CACHE_USE_REVALIDATE, 0},
    /* must-revalidate, proxy-revalidate and s-maxage forbid stale use */
    {"max-age=100, must-revalidate", "max-stale", 110, CACHE_USE_REVALIDATE, 0},
    {"max-age=100, proxy-revalidate", "max-stale", 110, CACHE_USE_REVALIDATE, 0},
    {"s-maxage=100", "max-stale", 110, CACHE_USE_REVALIDATE, 0},
    {"max-age=100, must-revalidate", NULL, 10, CACHE_USE_FRESH, 1},
    /* stale-while-revalidate */
    {"max-age=100, stale-while-revalidate=30", NULL, 110, CACHE_USE_STALE_REVALIDATE, 0},
    {"max-age=100, stale-while-revalidate=30", NULL, 130, CACHE_USE_STALE_REVALIDATE, 0},
    {"max-age=100, stale-while-revalidate=30", NULL, 140, CACHE_USE_REVALIDATE, 0},
    {"max-age=100, stale-while-revalidate=30, must-revalidate", NULL, 110, CACHE_USE_REVALIDATE, 0},
    {"max-age=100, stale-while-revalidate=30", "no-cache", 110, CACHE_USE_REVALIDATE, 0},
    /* stale-if-error: revalidate, but a failing origin may be papered over */
    {"max-age=100, stale-if-error=60", NULL, 140, CACHE_USE_REVALIDATE, 1},
    {"max-age=100, stale-if-error=60", NULL, 170, CACHE_USE_REVALIDATE, 0},
    {"max-age=100, stale-if-error=60, must-revalidate", NULL, 140, CACHE_USE_REVALIDATE, 0},
    {"max-age=100, stale-if-error=60, no-cache", NULL, 10, CACHE_USE_REVALIDATE, 0},
    {"max-age=100", "stale-if-error=60", 140, CACHE_USE_REVALIDATE, 1},
};

START_TEST(decides)
{
    char req[256], resp[256];
    struct cache_req_info rq;
    struct cache_meta m;
    struct cache_opts o;
    struct cache_verdict v;
    enum cache_use use;

    snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: a\r\n%s%s%s\r\n",
             decisions[_i].qcc ? "Cache-Control: " : "", decisions[_i].qcc ? decisions[_i].qcc : "",
             decisions[_i].qcc ? "\r\n" : "");
    snprintf(resp, sizeof(resp), "HTTP/1.1 200 OK\r\nCache-Control: %s\r\nETag: \"1\"\r\n\r\n",
             decisions[_i].rcc);
    ck_assert_int_gt(http1_parse_request(req, strlen(req), &lim, &qh), 0);
    ck_assert_int_gt(http1_parse_response(resp, strlen(resp), &lim, 0, &rh), 0);
    cache_req_parse(&rq, &qh, req);
    cache_meta_parse(&m, &rh, resp, T, T);
    cache_opts_default(&o);
    use = cache_decide(&rq, &m, &o, T + decisions[_i].age, &v);
    ck_assert_msg(use == decisions[_i].use && v.use == use,
                  "case %d (%s | %s, age %lld): %s, want %s", _i, decisions[_i].rcc,
                  decisions[_i].qcc ? decisions[_i].qcc : "-", (long long)decisions[_i].age,
                  use_names[use], use_names[decisions[_i].use]);
    ck_assert_msg(v.stale_if_error == decisions[_i].sie, "case %d: stale_if_error %d", _i,
                  v.stale_if_error);
    ck_assert_int_eq(v.age, decisions[_i].age);
    ck_assert_int_eq(v.ttl, v.lifetime - v.age);
}
END_TEST

START_TEST(verdict_numbers)
{
    static const char resp[] =
        "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nAge: 30\r\n"
        "Cache-Control: max-age=100\r\n\r\n";
    static const char req[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    struct cache_req_info rq;
    struct cache_meta m;
    struct cache_opts o;
    struct cache_verdict v;

    ck_assert_int_gt(http1_parse_request(req, strlen(req), &lim, &qh), 0);
    ck_assert_int_gt(http1_parse_response(resp, strlen(resp), &lim, 0, &rh), 0);
    cache_req_parse(&rq, &qh, req);
    cache_meta_parse(&m, &rh, resp, T, T + 1);
    cache_opts_default(&o);
    /* corrected initial age max(1, 30 + 1) = 31; 40 s resident: 71 */
    ck_assert_int_eq(cache_decide(&rq, &m, &o, T + 41, &v), CACHE_USE_FRESH);
    ck_assert_int_eq(v.age, 71);
    ck_assert_int_eq(v.lifetime, 100);
    ck_assert_int_eq(v.ttl, 29);
    ck_assert_int_eq(cache_decide(&rq, &m, &o, T + 80, &v), CACHE_USE_REVALIDATE);
    ck_assert_int_eq(v.ttl, -10);
}
END_TEST

START_TEST(heuristic_decisions)
{
    static const char req[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    static const char fresh[] =
        "HTTP/1.1 200 OK\r\nLast-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n";
    static const char nocache[] = "HTTP/1.1 200 OK\r\nCache-Control: no-cache\r\n"
                                  "Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n";
    struct cache_req_info rq;
    struct cache_meta m;
    struct cache_opts o;
    struct cache_verdict v;

    cache_opts_default(&o);
    ck_assert_int_gt(http1_parse_request(req, strlen(req), &lim, &qh), 0);
    cache_req_parse(&rq, &qh, req);
    /* received 100000 s after Last-Modified: 10000 s of heuristic freshness */
    ck_assert_int_gt(http1_parse_response(fresh, strlen(fresh), &lim, 0, &rh), 0);
    cache_meta_parse(&m, &rh, fresh, T + 100000, T + 100000);
    ck_assert_int_eq(cache_decide(&rq, &m, &o, T + 100000 + 9999, &v), CACHE_USE_FRESH);
    ck_assert_int_eq(v.heuristic, 1);
    ck_assert_int_eq(cache_decide(&rq, &m, &o, T + 100000 + 10000, &v), CACHE_USE_REVALIDATE);
    /* no-cache forbids using that freshness */
    ck_assert_int_gt(http1_parse_response(nocache, strlen(nocache), &lim, 0, &rh), 0);
    cache_meta_parse(&m, &rh, nocache, T + 100000, T + 100000);
    ck_assert_int_eq(cache_decide(&rq, &m, &o, T + 100001, &v), CACHE_USE_REVALIDATE);
}
END_TEST

START_TEST(apt_stale_if_error)
{
    static const char req[] = "GET /dists/stable/InRelease HTTP/1.1\r\nHost: deb\r\n\r\n";
    static const char resp[] =
        "HTTP/1.1 200 OK\r\nCache-Control: max-age=0\r\nETag: \"r1\"\r\n\r\n";
    struct cache_req_info rq;
    struct cache_meta m;
    struct cache_opts o;
    struct cache_verdict v;

    cache_opts_default(&o);
    ck_assert_int_gt(http1_parse_request(req, strlen(req), &lim, &qh), 0);
    ck_assert_int_gt(http1_parse_response(resp, strlen(resp), &lim, 0, &rh), 0);
    cache_req_parse(&rq, &qh, req);
    cache_meta_parse(&m, &rh, resp, T, T);
    ck_assert_int_eq(cache_decide(&rq, &m, &o, T + 3600, &v), CACHE_USE_REVALIDATE);
    ck_assert_int_eq(v.stale_if_error, 0);
    o.stale_if_unreachable = 7 * 86400; /* the mirror may be down for a week */
    ck_assert_int_eq(cache_decide(&rq, &m, &o, T + 3600, &v), CACHE_USE_REVALIDATE);
    ck_assert_int_eq(v.stale_if_error, 1);
    ck_assert_int_eq(cache_decide(&rq, &m, &o, T + 8 * 86400, &v), CACHE_USE_REVALIDATE);
    ck_assert_int_eq(v.stale_if_error, 0);
}
END_TEST

START_TEST(request_facts)
{
    static const char r1[] =
        "GET / HTTP/1.1\r\nHost: a\r\nAuthorization: x\r\nIf-None-Match: \"1\"\r\n"
        "Range: bytes=0-1\r\nCache-Control: only-if-cached\r\n\r\n";
    static const char r2[] = "DELETE /x HTTP/1.1\r\nHost: a\r\n\r\n";
    static const char r3[] = "TRACE / HTTP/1.1\r\nHost: a\r\n\r\n";
    struct cache_req_info rq;

    ck_assert_int_gt(http1_parse_request(r1, strlen(r1), &lim, &qh), 0);
    cache_req_parse(&rq, &qh, r1);
    ck_assert_int_eq(rq.method, CACHE_M_GET);
    ck_assert(rq.has_authorization && rq.has_conditional && rq.has_range);
    ck_assert_uint_eq(rq.cc.flags, CACHE_CC_ONLY_IF_CACHED);
    ck_assert_int_gt(http1_parse_request(r2, strlen(r2), &lim, &qh), 0);
    cache_req_parse(&rq, &qh, r2);
    ck_assert_int_eq(rq.method, CACHE_M_UNSAFE);
    ck_assert(!rq.has_authorization && !rq.has_conditional && !rq.has_range);
    ck_assert_int_gt(http1_parse_request(r3, strlen(r3), &lim, &qh), 0);
    cache_req_parse(&rq, &qh, r3);
    ck_assert_int_eq(rq.method, CACHE_M_SAFE);
}
END_TEST

void cache_decide_tcases(Suite *s)
{
    TCase *tc = tcase_create("decide");

    tcase_add_loop_test(tc, decides, 0, (int)(sizeof(decisions) / sizeof(decisions[0])));
    tcase_add_test(tc, verdict_numbers);
    tcase_add_test(tc, heuristic_decisions);
    tcase_add_test(tc, apt_stale_if_error);
    tcase_add_test(tc, request_facts);
    suite_add_tcase(s, tc);
}

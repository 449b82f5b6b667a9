/* check_cache.c — RFC 9111 semantics of the shared cache (cache_policy):
 * Cache-Control parsing, the three HTTP-date formats, age and freshness
 * arithmetic, heuristic freshness, storability and the serve/revalidate
 * decision.  Keys, Vary, invalidation and heads are in check_cache_key.c,
 * whose cases join this suite. */
#include "cache_policy.h"
#include "suites.h"

#include <stdio.h>
#include <string.h>

/* Defined in check_cache_key.c. */
void cache_key_tcases(Suite *s);

/* Sun, 06 Nov 1994 08:49:37 GMT, the RFCs' example date. */
#define T 784111777LL
/* A "now" in 2026 for two-digit years. */
#define NOW_2026 1780000000LL

static const struct http1_limits lim = {8192, 65536, 100, 0};

static void parse_req(struct http_head *h, const char *text)
{
    int r = http1_parse_request(text, strlen(text), &lim, h);

    ck_assert_msg(r > 0, "request did not parse (%d): %s", r, text);
}

static void parse_resp(struct http_head *h, const char *text)
{
    int r = http1_parse_response(text, strlen(text), &lim, 0, h);

    ck_assert_msg(r > 0, "response did not parse (%d): %s", r, text);
}

/* Request and response facts from texts; times are T-based. */
static struct http_head qh, rh;

static void facts(const char *req, const char *resp, struct cache_req_info *rq,
                  struct cache_meta *m, int64_t req_time, int64_t resp_time)
{
    parse_req(&qh, req);
    cache_req_parse(rq, &qh, req);
    parse_resp(&rh, resp);
    cache_meta_parse(m, &rh, resp, req_time, resp_time);
}

/* ---- Cache-Control ---- */

static const struct {
    const char *v;
    unsigned flags;
    int64_t max_age, s_maxage, swr, sie, max_stale, min_fresh;
} ccs[] = {
    {"max-age=60", 0, 60, -1, -1, -1, -1, -1},
    {"MAX-AGE=60", 0, 60, -1, -1, -1, -1, -1},
    {"  max-age = 60 ,  public ", CACHE_CC_PUBLIC, 60, -1, -1, -1, -1, -1},
    {"max-age=\"60\"", 0, 60, -1, -1, -1, -1, -1},
    {"max-age=60, max-age=10", 0, 60, -1, -1, -1, -1, -1},
    {"max-age=abc", CACHE_CC_INVALID, 0, -1, -1, -1, -1, -1},
    {"max-age=", CACHE_CC_INVALID, 0, -1, -1, -1, -1, -1},
    {"max-age=-5", CACHE_CC_INVALID, 0, -1, -1, -1, -1, -1},
    {"max-age=99999999999999999999999", 0, CACHE_DELTA_MAX, -1, -1, -1, -1, -1},
    {"s-maxage=5, no-cache=\"set-cookie, max-age=9\", private",
     CACHE_CC_NO_CACHE | CACHE_CC_PRIVATE, -1, 5, -1, -1, -1, -1},
    {"private=\"x\"", CACHE_CC_PRIVATE, -1, -1, -1, -1, -1, -1},
    {"No-Store", CACHE_CC_NO_STORE, -1, -1, -1, -1, -1, -1},
    {"must-revalidate,proxy-revalidate,immutable,no-transform,must-understand",
     CACHE_CC_MUST_REVALIDATE | CACHE_CC_PROXY_REVALIDATE | CACHE_CC_IMMUTABLE |
         CACHE_CC_NO_TRANSFORM | CACHE_CC_MUST_UNDERSTAND,
     -1, -1, -1, -1, -1, -1},
    {"stale-while-revalidate=30, stale-if-error=600", 0, -1, -1, 30, 600, -1, -1},
    {"stale-if-error=x, stale-while-revalidate", 0, -1, -1, -1, -1, -1, -1},
    {"max-stale", 0, -1, -1, -1, -1, CACHE_DELTA_MAX, -1},
    {"max-stale=10, min-fresh=5, only-if-cached", CACHE_CC_ONLY_IF_CACHED, -1, -1, -1, -1, 10, 5},
    {"foo=bar, max-age=5, baz", 0, 5, -1, -1, -1, -1, -1},
    {",, ,max-age=7,,", 0, 7, -1, -1, -1, -1, -1},
    {"", 0, -1, -1, -1, -1, -1, -1},
};

START_TEST(cc_parses)
{
    struct cache_control cc;

    cache_cc_init(&cc);
    cache_cc_parse_value(ccs[_i].v, strlen(ccs[_i].v), &cc);
    ck_assert_msg(cc.flags == ccs[_i].flags, "%s: flags %#x", ccs[_i].v, cc.flags);
    ck_assert_int_eq(cc.max_age, ccs[_i].max_age);
    ck_assert_int_eq(cc.s_maxage, ccs[_i].s_maxage);
    ck_assert_int_eq(cc.stale_while_revalidate, ccs[_i].swr);
    ck_assert_int_eq(cc.stale_if_error, ccs[_i].sie);
    ck_assert_int_eq(cc.max_stale, ccs[_i].max_stale);
    ck_assert_int_eq(cc.min_fresh, ccs[_i].min_fresh);
}
END_TEST

START_TEST(cc_fields_combine)
{
    static const char r[] = "HTTP/1.1 200 OK\r\nCache-Control: max-age=5\r\nContent-Length: 0\r\n"
                            "cache-control: no-cache, max-age=9\r\n\r\n";
    struct cache_control cc;

    parse_resp(&rh, r);
    cache_cc_parse(&rh, r, &cc);
    ck_assert_int_eq(cc.max_age, 5);
    ck_assert_uint_eq(cc.flags, CACHE_CC_NO_CACHE);
}
END_TEST

START_TEST(pragma_no_cache)
{
    struct cache_req_info rq;

    parse_req(&qh, "GET / HTTP/1.0\r\nPragma: no-cache\r\n\r\n");
    cache_req_parse(&rq, &qh, "GET / HTTP/1.0\r\nPragma: no-cache\r\n\r\n");
    ck_assert_uint_eq(rq.cc.flags, CACHE_CC_NO_CACHE);
    /* with a Cache-Control, Pragma is ignored */
    parse_req(&qh, "GET / HTTP/1.0\r\nPragma: no-cache\r\nCache-Control: max-age=5\r\n\r\n");
    cache_req_parse(&rq, &qh,
                    "GET / HTTP/1.0\r\nPragma: no-cache\r\nCache-Control: max-age=5\r\n\r\n");
    ck_assert_uint_eq(rq.cc.flags, 0);
    ck_assert_int_eq(rq.cc.max_age, 5);
}
END_TEST

/* ---- dates ---- */

static const struct {
    const char *s;
    int64_t t; /* CACHE_UNSET: invalid */
} dates[] = {
    {"Sun, 06 Nov 1994 08:49:37 GMT", T},
    {"Sunday, 06-Nov-94 08:49:37 GMT", T},
    {"Sun Nov  6 08:49:37 1994", T},
    {"Sun Nov 06 08:49:37 1994", T},
    {"sun, 06 NOV 1994 08:49:37 GMT", T},
    {"Thu, 01 Jan 1970 00:00:00 GMT", 0},
    {"Thu, 29 Feb 2024 00:00:00 GMT", 1709164800},
    {"Fri, 31 Dec 1999 23:59:59 GMT", 946684799},
    {"Wed, 31 Dec 1969 23:59:59 GMT", 0},
    {"Friday, 01-Jan-30 00:00:00 GMT", 1893456000},
    {"Tuesday, 01-Jan-80 00:00:00 GMT", 315532800},
    {"0", CACHE_UNSET},
    {"", CACHE_UNSET},
    {"-1", CACHE_UNSET},
    {"Sun, 06 Nov 1994 08:49:37 UTC", CACHE_UNSET},
    {"Sun, 06 Nov 1994 08:49:37", CACHE_UNSET},
    {"Sun, 6 Nov 1994 08:49:37 GMT", CACHE_UNSET},
    {"Sun, 31 Feb 1994 08:49:37 GMT", CACHE_UNSET},
    {"Wed, 29 Feb 2023 00:00:00 GMT", CACHE_UNSET},
    {"Sun, 06 Nov 1994 24:00:00 GMT", CACHE_UNSET},
    {"Sun, 06 Nov 1994 08:60:00 GMT", CACHE_UNSET},
    {"Xyz, 06 Nov 1994 08:49:37 GMT", CACHE_UNSET},
    {"Sun, 06 Foo 1994 08:49:37 GMT", CACHE_UNSET},
    {"Sun, 06 Nov 19x4 08:49:37 GMT", CACHE_UNSET},
    {"Sunday, 06-Nov-1994 08:49:37 GMT", CACHE_UNSET},
    {"Sundae, 06-Nov-94 08:49:37 GMT", CACHE_UNSET},
    {"Sun Nov  6 08:49:37 94", CACHE_UNSET},
    {"Sun Nov 6  08:49:37 1994", CACHE_UNSET},
    {"Sun, 06 Nov 1994 08:49:37 GMT ", CACHE_UNSET},
};

START_TEST(date_formats)
{
    int64_t t = cache_http_date(dates[_i].s, strlen(dates[_i].s), NOW_2026);

    ck_assert_msg(t == dates[_i].t, "\"%s\" gave %lld, want %lld", dates[_i].s, (long long)t,
                  (long long)dates[_i].t);
}
END_TEST

START_TEST(date_two_digit_year)
{
    static const char s[] = "Thursday, 01-Jan-70 00:00:00 GMT";

    /* seen from 2026, "70" is 2070 (not more than 50 years ahead) */
    ck_assert_int_eq(cache_http_date(s, strlen(s), NOW_2026), 3155760000LL);
    /* seen from 1994, 2070 would be 76 years ahead: 1970 */
    ck_assert_int_eq(cache_http_date(s, strlen(s), T), 0);
}
END_TEST

START_TEST(date_format_round_trip)
{
    char out[30];
    int64_t t;

    ck_assert_uint_eq(cache_http_date_format(T, out), 29);
    ck_assert_str_eq(out, "Sun, 06 Nov 1994 08:49:37 GMT");
    cache_http_date_format(0, out);
    ck_assert_str_eq(out, "Thu, 01 Jan 1970 00:00:00 GMT");
    for (t = 0; t < 5000000000LL; t += 86399 * 37 + 1234) {
        cache_http_date_format(t, out);
        ck_assert_int_eq(cache_http_date(out, 29, NOW_2026), t);
    }
}
END_TEST

/* ---- age (RFC 9111 section 4.2.3) ---- */

START_TEST(age_worked)
{
    struct cache_req_info rq;
    struct cache_meta m;

    /* Date T, request sent at T+2, response at T+4 carrying Age: 5:
     * apparent_age = 4, response_delay = 2, corrected_age_value = 7,
     * corrected_initial_age = max(4, 7) = 7; at T+14 resident_time = 10. */
    facts("GET / HTTP/1.1\r\nHost: a\r\n\r\n",
          "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nAge: 5\r\n\r\n", &rq, &m,
          T + 2, T + 4);
    ck_assert_int_eq(m.date, T);
    ck_assert_int_eq(m.age, 5);
    ck_assert_int_eq(cache_current_age(&m, T + 4), 7);
    ck_assert_int_eq(cache_current_age(&m, T + 14), 17);

    /* the apparent age wins: Date 100 s before the response, no Age */
    facts("GET / HTTP/1.1\r\nHost: a\r\n\r\n",
          "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n", &rq, &m, T + 99,
          T + 100);
    ck_assert_int_eq(cache_current_age(&m, T + 100), 100);
    ck_assert_int_eq(cache_current_age(&m, T + 130), 130);

    /* a Date in the future (origin clock ahead): apparent age 0 */
    facts("GET / HTTP/1.1\r\nHost: a\r\n\r\n",
          "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n", &rq, &m, T - 60,
          T - 59);
    ck_assert_int_eq(cache_current_age(&m, T - 59), 1);

    /* no Date: the response time stands in; an invalid Age is ignored, a
     * list Age uses its first member, an enormous one is capped */
    facts("GET / HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 200 OK\r\nAge: abc\r\n\r\n", &rq, &m, T,
          T);
    ck_assert_int_eq(m.age, CACHE_UNSET);
    ck_assert_int_eq(cache_current_age(&m, T + 3), 3);
    facts("GET / HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 200 OK\r\nAge: 10, 20\r\n\r\n", &rq, &m, T,
          T);
    ck_assert_int_eq(cache_current_age(&m, T), 10);
    facts("GET / HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 200 OK\r\nAge: 99999999999999\r\n\r\n",
          &rq, &m, T, T);
    ck_assert_int_eq(m.age, CACHE_DELTA_MAX);
}
END_TEST

/* ---- freshness lifetime (section 4.2.1, 4.2.2) ---- */

static int64_t lifetime_of(const char *resp, int64_t resp_time, const struct cache_opts *o,
                           int *heur)
{
    struct cache_req_info rq;
    struct cache_meta m;

    facts("GET / HTTP/1.1\r\nHost: a\r\n\r\n", resp, &rq, &m, resp_time, resp_time);
    return cache_freshness_lifetime(&m, o, heur);
}

START_TEST(lifetime_explicit)
{
    struct cache_opts o;
    int h;

    cache_opts_default(&o);
    ck_assert_int_eq(
        lifetime_of("HTTP/1.1 200 OK\r\nCache-Control: max-age=60, s-maxage=30\r\n\r\n", T, &o, &h),
        30);
    ck_assert_int_eq(
        lifetime_of("HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
                    "Expires: Sun, 06 Nov 1994 09:06:17 GMT\r\nCache-Control: max-age=60\r\n\r\n",
                    T, &o, &h),
        60);
    /* Expires - Date = 1000 s */
    ck_assert_int_eq(lifetime_of("HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
                                 "Expires: Sun, 06 Nov 1994 09:06:17 GMT\r\n\r\n",
                                 T + 50, &o, &h),
                     1000);
    ck_assert_int_eq(h, 0);
    /* no Date: Expires - response time */
    ck_assert_int_eq(
        lifetime_of("HTTP/1.1 200 OK\r\nExpires: Sun, 06 Nov 1994 09:06:17 GMT\r\n\r\n", T + 10, &o,
                    &h),
        990);
    /* Expires before Date; invalid Expires ("0") is in the past */
    ck_assert_int_eq(lifetime_of("HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 09:06:17 GMT\r\n"
                                 "Expires: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n",
                                 T, &o, &h),
                     0);
    ck_assert_int_eq(
        lifetime_of(
            "HTTP/1.1 200 OK\r\nExpires: 0\r\nLast-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n",
            T + 100000, &o, &h),
        0);
    ck_assert_int_eq(h, 0);
    /* max-age=0 is explicit: no heuristic either */
    ck_assert_int_eq(lifetime_of("HTTP/1.1 200 OK\r\nCache-Control: max-age=0\r\n"
                                 "Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n",
                                 T + 100000, &o, &h),
                     0);
}
END_TEST

START_TEST(lifetime_heuristic)
{
    static const char lm[] = "Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n";
    struct cache_opts o;
    char r[256];
    int h;

    cache_opts_default(&o);
    /* 10% of 100000 s since Last-Modified (Date absent: response time) */
    snprintf(r, sizeof(r), "HTTP/1.1 200 OK\r\n%s\r\n", lm);
    ck_assert_int_eq(lifetime_of(r, T + 100000, &o, &h), 10000);
    ck_assert_int_eq(h, 1);
    /* capped at a day, or at the configured cap; percent configurable */
    ck_assert_int_eq(lifetime_of(r, T + 10 * 86400, &o, &h), 86400);
    o.heuristic_max = 3600;
    ck_assert_int_eq(lifetime_of(r, T + 100000, &o, &h), 3600);
    cache_opts_default(&o);
    o.heuristic_percent = 5;
    ck_assert_int_eq(lifetime_of(r, T + 100000, &o, &h), 5000);
    cache_opts_default(&o);
    /* 404 is heuristically cacheable, 302 and 500 are not ... */
    snprintf(r, sizeof(r), "HTTP/1.1 404 Not Found\r\n%s\r\n", lm);
    ck_assert_int_eq(lifetime_of(r, T + 100000, &o, &h), 10000);
    snprintf(r, sizeof(r), "HTTP/1.1 302 Found\r\n%s\r\n", lm);
    ck_assert_int_eq(lifetime_of(r, T + 100000, &o, &h), 0);
    ck_assert_int_eq(h, 0);
    snprintf(r, sizeof(r), "HTTP/1.1 500 Oops\r\n%s\r\n", lm);
    ck_assert_int_eq(lifetime_of(r, T + 100000, &o, &h), 0);
    /* ... unless marked public */
    snprintf(r, sizeof(r), "HTTP/1.1 302 Found\r\nCache-Control: public\r\n%s\r\n", lm);
    ck_assert_int_eq(lifetime_of(r, T + 100000, &o, &h), 10000);
    /* Last-Modified after Date: nothing */
    ck_assert_int_eq(lifetime_of("HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
                                 "Last-Modified: Sun, 06 Nov 1994 09:49:37 GMT\r\n\r\n",
                                 T, &o, &h),
                     0);
}
END_TEST

START_TEST(lifetime_override)
{
    struct cache_opts o;
    int h;

    cache_opts_default(&o);
    ck_assert_int_eq(lifetime_of("HTTP/1.1 200 OK\r\n\r\n", T, &o, &h), 0);
    o.override_ttl = 120;
    ck_assert_int_eq(lifetime_of("HTTP/1.1 200 OK\r\n\r\n", T, &o, &h), 120);
    ck_assert_int_eq(
        lifetime_of("HTTP/1.1 200 OK\r\nLast-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n",
                    T + 100000, &o, &h),
        120);
    ck_assert_int_eq(h, 0);
    ck_assert_int_eq(lifetime_of("HTTP/1.1 200 OK\r\nCache-Control: max-age=5\r\n\r\n", T, &o, &h),
                     5);
    ck_assert_int_eq(lifetime_of("HTTP/1.1 500 Oops\r\n\r\n", T, &o, &h), 0);
}
END_TEST

/* ---- storability (section 3) ---- */

static const struct {
    const char *req, *resp;
    const char *why; /* NULL: storable */
} stores[] = {
    {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\n\r\n",
     NULL},
    {"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\n\r\n",
     NULL},
    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
     "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\n\r\n", "method"},
    {"OPTIONS / HTTP/1.1\r\nHost: a\r\n\r\n",
     "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\n\r\n", "method"},
    {"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
     "HTTP/1.1 206 Partial\r\nCache-Control: max-age=60\r\n\r\n", "status"},
    {"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
     "HTTP/1.1 304 Not Modified\r\nCache-Control: max-age=60\r\n\r\n", "status"},
    {"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
     "HTTP/1.1 414 Too Long\r\nCache-Control: max-age=60\r\n\r\n", "oversized-request"},
    {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 431 Too Large\r\nCache-Control: public\r\n\r\n",
     "oversized-request"},
    /* interim responses are never stored */
    {"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
     "HTTP/1.1 103 Early Hints\r\nCache-Control: public, max-age=60\r\n\r\n", "status"},
    {"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
     "HTTP/1.1 100 Continue\r\nCache-Control: public, max-age=60\r\n\r\n", "status"},
    {"GET / HTTP/1.1\r\nHost: a\r\nCache-Control: no-store\r\n\r\n",
     "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\n\r\n", "no-store"},
    {"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
     "HTTP/1.1 200 OK\r\nCache-Control: max-age=60, no-store\r\n\r\n", "no-store"},
    {"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
     "HTTP/1.1 200 OK\r\nCache-Control: private, max-age=60\r\n\r\n", "private"},
    {"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
     "HTTP/1.1 200 OK\r\nCache-Control: private=\"Set-Cookie\", max-age=60\r\n\r\n", "private"},
    {"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
     "HTTP/1.1 299 New\r\nCache-Control: max-age=60, must-understand\r\n\r\n", "must-understand"},
    {"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
     "HTTP/1.1 200 OK\r\nCache-Control: max-age=60, must-understand\r\n\r\n", NULL},
    {"GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Basic eDp5\r\n\r\n",
     "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\n\r\n", "authorization"},
    {"GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Basic eDp5\r\n\r\n",
     "HTTP/1.1 200 OK\r\nCache-Control: max-age=60, public\r\n\r\n", NULL},
    {"GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Basic eDp5\r\n\r\n",
     "HTTP/1.1 200 OK\r\nCache-Control: s-maxage=60\r\n\r\n", NULL},
    {"GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Basic eDp5\r\n\r\n",
     "HTTP/1.1 200 OK\r\nCache-Control: max-age=60, must-revalidate\r\n\r\n", NULL},
    {"GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Basic eDp5\r\n\r\n",
     "HTTP/1.1 200 OK\r\nCache-Control: s-maxage=60, private\r\n\r\n", "private"},
    {"GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Basic eDp5\r\n\r\n",
     "HTTP/1.1 200 OK\r\nCache-Control: proxy-revalidate, max-age=60\r\n\r\n", "authorization"},
    {"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
     "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nVary: *\r\n\r\n", "vary-star"},
    {"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
     "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nSet-Cookie: s=1\r\n\r\n", "set-cookie"},
    {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 302 Found\r\nLocation: /x\r\n\r\n",
     "no-freshness"},
    {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 307 Temporary\r\nETag: \"1\"\r\n\r\n",
     "no-freshness"},
    {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 302 Found\r\nCache-Control: max-age=60\r\n\r\n",
     NULL},
    {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 500 Oops\r\nCache-Control: max-age=5\r\n\r\n",
     NULL},
    {"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
     "HTTP/1.1 500 Oops\r\nCache-Control: public\r\nLast-Modified: Sat, 05 Nov 1994 08:49:37 GMT\r\n\r\n",
     NULL},
    {"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
     "HTTP/1.1 404 Not Found\r\nLast-Modified: Sat, 05 Nov 1994 08:49:37 GMT\r\n\r\n", NULL},
    {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 200 OK\r\nETag: \"v1\"\r\n\r\n", NULL},
    {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n",
     "zero-ttl"},
    {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 200 OK\r\nCache-Control: max-age=0\r\n\r\n",
     "zero-ttl"},
    {"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
     "HTTP/1.1 200 OK\r\nCache-Control: max-age=0, stale-if-error=60\r\n\r\n", NULL},
    {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 200 OK\r\nExpires: 0\r\nETag: \"x\"\r\n\r\n",
     NULL},
    {"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
     "HTTP/1.1 200 OK\r\nCache-Control: no-cache\r\nETag: \"x\"\r\n\r\n", NULL},
};

START_TEST(storable_matrix)
{
    struct cache_req_info rq;
    struct cache_meta m;
    struct cache_opts o;
    const char *why = "unset";
    int ok;

    cache_opts_default(&o);
    facts(stores[_i].req, stores[_i].resp, &rq, &m, T + 100000, T + 100000);
    ok = cache_storable(&rq, &m, &o, &why);
    if (!stores[_i].why)
        ck_assert_msg(ok && why == NULL, "case %d refused: %s", _i, why ? why : "?");
    else
        ck_assert_msg(!ok && why && strcmp(why, stores[_i].why) == 0, "case %d: got %s, want %s",
                      _i, ok ? "storable" : why, stores[_i].why);
}
END_TEST

START_TEST(storable_options)
{
    static const char get[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    struct cache_req_info rq;
    struct cache_meta m;
    struct cache_opts o;
    const char *why;

    cache_opts_default(&o);
    facts(get, "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nSet-Cookie: s=1\r\n\r\n", &rq, &m,
          T, T);
    o.store_set_cookie = 1;
    ck_assert_int_eq(cache_storable(&rq, &m, &o, &why), 1);
    cache_opts_default(&o);
    /* the TTL override lends a lifetime ... */
    facts(get, "HTTP/1.1 200 OK\r\n\r\n", &rq, &m, T, T);
    ck_assert_int_eq(cache_storable(&rq, &m, &o, &why), 0);
    ck_assert_int_eq(cache_storable_with_ttl_override(&rq, &m, &o, 60, &why), 1);
    /* ... but not storability */
    facts(get, "HTTP/1.1 200 OK\r\nCache-Control: private\r\n\r\n", &rq, &m, T, T);
    ck_assert_int_eq(cache_storable_with_ttl_override(&rq, &m, &o, 60, &why), 0);
    ck_assert_str_eq(why, "private");
    facts(get, "HTTP/1.1 302 Found\r\n\r\n", &rq, &m, T, T);
    ck_assert_int_eq(cache_storable_with_ttl_override(&rq, &m, &o, 60, &why), 0);
    ck_assert_str_eq(why, "no-freshness");
    facts("GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer x\r\n\r\n", "HTTP/1.1 200 OK\r\n\r\n",
          &rq, &m, T, T);
    ck_assert_int_eq(cache_storable_with_ttl_override(&rq, &m, &o, 60, &why), 0);
    ck_assert_str_eq(why, "authorization");
    /* a window for an unreachable origin does not make a response with
     * nothing to revalidate worth storing */
    facts(get, "HTTP/1.1 200 OK\r\nCache-Control: max-age=0\r\n\r\n", &rq, &m, T, T);
    o.stale_if_unreachable = 86400;
    ck_assert_int_eq(cache_storable(&rq, &m, &o, &why), 0);
    ck_assert_str_eq(why, "zero-ttl");
    cache_opts_default(&o);
    /* a bypass cookie: only what says public; Authorization alone does not
     * ask that much (RFC 9111 3.5) */
    facts("GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer x\r\n\r\n",
          "HTTP/1.1 200 OK\r\nCache-Control: s-maxage=60\r\n\r\n", &rq, &m, T, T);
    ck_assert_int_eq(cache_storable(&rq, &m, &o, &why), 1);
    o.public_only = 1;
    ck_assert_int_eq(cache_storable(&rq, &m, &o, &why), 0);
    ck_assert_str_eq(why, "bypass-cookie");
    facts(get, "HTTP/1.1 200 OK\r\nCache-Control: public, max-age=60\r\n\r\n", &rq, &m, T, T);
    ck_assert_int_eq(cache_storable(&rq, &m, &o, &why), 1);
}
END_TEST

void cache_decide_tcases(Suite *s);
void cache_targeted_tcases(Suite *s);

Suite *cache_suite(void)
{
    Suite *s = suite_create("cache");
    TCase *tc = tcase_create("cache-control");

    tcase_add_loop_test(tc, cc_parses, 0, (int)(sizeof(ccs) / sizeof(ccs[0])));
    tcase_add_test(tc, cc_fields_combine);
    tcase_add_test(tc, pragma_no_cache);
    suite_add_tcase(s, tc);

    tc = tcase_create("dates");
    tcase_add_loop_test(tc, date_formats, 0, (int)(sizeof(dates) / sizeof(dates[0])));
    tcase_add_test(tc, date_two_digit_year);
    tcase_add_test(tc, date_format_round_trip);
    suite_add_tcase(s, tc);

    tc = tcase_create("freshness");
    tcase_add_test(tc, age_worked);
    tcase_add_test(tc, lifetime_explicit);
    tcase_add_test(tc, lifetime_heuristic);
    tcase_add_test(tc, lifetime_override);
    suite_add_tcase(s, tc);

    tc = tcase_create("storable");
    tcase_add_loop_test(tc, storable_matrix, 0, (int)(sizeof(stores) / sizeof(stores[0])));
    tcase_add_test(tc, storable_options);
    suite_add_tcase(s, tc);

    cache_decide_tcases(s);
    cache_targeted_tcases(s);
    cache_key_tcases(s);
    return s;
}

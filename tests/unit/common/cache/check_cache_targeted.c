/* check_cache_targeted.c — RFC 9213 targeted fields: the Dictionary
 * Structured Field parser as cache directives (valid and invalid values,
 * fed whole), the choice of the first valid field of a target list, and
 * its precedence over Cache-Control and Expires in what the cache decides.
 * Part of the "cache" suite (check_cache.c). */
#include "cache_targeted.h"
#include "suites.h"

#include "cache.h"

#include <libconfig.h>
#include <stdio.h>
#include <string.h>

void cache_targeted_tcases(Suite *s);

#define T 784111777LL
#define U CACHE_UNSET

static const struct http1_limits lim = {8192, 65536, 100, 0};
static struct http_head rh, qh;

/* A value, whether it is a valid non-empty Dictionary, and what it says. */
static const struct {
    const char *v;
    int valid;
    unsigned flags;
    int64_t max_age, s_maxage, swr, sie;
} values[] = {
    {"max-age=60", 1, 0, 60, U, U, U},
    {"  max-age=60  ", 1, 0, 60, U, U, U},
    {"max-age=60, s-maxage=120", 1, 0, 60, 120, U, U},
    {"max-age=60,s-maxage=120", 1, 0, 60, 120, U, U},
    {"max-age=60 ,\ts-maxage=120", 1, 0, 60, 120, U, U},
    {"no-store", 1, CACHE_CC_NO_STORE, U, U, U, U},
    {"no-store=?1", 1, CACHE_CC_NO_STORE, U, U, U, U},
    {"no-store=?0", 1, 0, U, U, U, U},
    {"private, public", 1, CACHE_CC_PRIVATE | CACHE_CC_PUBLIC, U, U, U, U},
    {"no-cache=\"set-cookie\"", 1, CACHE_CC_NO_CACHE, U, U, U, U},
    {"private=\"x\"", 1, CACHE_CC_PRIVATE, U, U, U, U},
    {"must-revalidate, proxy-revalidate, immutable", 1,
     CACHE_CC_MUST_REVALIDATE | CACHE_CC_PROXY_REVALIDATE | CACHE_CC_IMMUTABLE, U, U, U, U},
    {"stale-while-revalidate=30, stale-if-error=600", 1, 0, U, U, 30, 600},
    /* a value of another type leaves the directive out (RFC 9213 2.1:
     * "SHOULD NOT consume values that violate these inferred constraints") */
    {"max-age=1.5", 1, 0, U, U, U, U},
    {"max-age=-1", 1, 0, U, U, U, U},
    {"max-age=\"60\"", 1, 0, U, U, U, U},
    {"max-age=sixty", 1, 0, U, U, U, U},
    {"max-age", 1, 0, U, U, U, U},
    {"no-store=1", 1, 0, U, U, U, U},
    {"no-store=nope", 1, 0, U, U, U, U},
    /* a later member of a key replaces the earlier (a Dictionary's rule) */
    {"max-age=60, max-age=30", 1, 0, 30, U, U, U},
    {"no-store, no-store=?0", 1, 0, U, U, U, U},
    {"max-age=60, max-age=x", 1, 0, U, U, U, U},
    /* parameters and other value types are understood and ignored */
    {"max-age=60;a=1;b, none", 1, 0, 60, U, U, U},
    {"none", 1, 0, U, U, U, U},
    {"x=(1 2 \"three\" tok);p=?0, max-age=5", 1, 0, 5, U, U, U},
    {"x=:aGk=:, y=tok/en:1, z=-3.250, max-age=7", 1, 0, 7, U, U, U},
    {"*odd=1, max-age=9", 1, 0, 9, U, U, U},
    {"max-age=999999999999999", 1, 0, CACHE_DELTA_MAX, U, U, U},
    /* empty, or not a Dictionary: ignored */
    {"", 0, 0, U, U, U, U},
    {"   ", 0, 0, U, U, U, U},
    {"Max-Age=60", 0, 0, U, U, U, U},
    {"max-age=60,", 0, 0, U, U, U, U},
    {"max-age=60,,s-maxage=1", 0, 0, U, U, U, U},
    {", max-age=60", 0, 0, U, U, U, U},
    {"max-age=60 s-maxage=1", 0, 0, U, U, U, U},
    {"max-age = 60", 0, 0, U, U, U, U},
    {"max-age=1234567890123456", 0, 0, U, U, U, U},
    {"x=1.2345", 0, 0, U, U, U, U},
    {"x=1.", 0, 0, U, U, U, U},
    {"x=1234567890123.1", 0, 0, U, U, U, U},
    {"x=\"open", 0, 0, U, U, U, U},
    {"x=\"bad\\escape\"", 0, 0, U, U, U, U},
    {"x=\"tab\there\"", 0, 0, U, U, U, U},
    {"x=:not base64!:", 0, 0, U, U, U, U},
    {"x=?2", 0, 0, U, U, U, U},
    {"x=(1 2", 0, 0, U, U, U, U},
    {"x=(1,2)", 0, 0, U, U, U, U},
    {"x=@12", 0, 0, U, U, U, U},
    {"max-age=60;", 0, 0, U, U, U, U},
    {"max-age=60;P=1", 0, 0, U, U, U, U},
    {"ma\xc3\xa9=1", 0, 0, U, U, U, U},
};

START_TEST(dictionary_values)
{
    struct cache_control cc;
    int valid = cache_targeted_parse_value(values[_i].v, strlen(values[_i].v), &cc);

    ck_assert_msg(valid == values[_i].valid, "case %d \"%s\": valid %d", _i, values[_i].v, valid);
    if (!valid)
        return;
    ck_assert_msg(cc.flags == values[_i].flags, "case %d: flags %#x", _i, cc.flags);
    ck_assert_int_eq(cc.max_age, values[_i].max_age);
    ck_assert_int_eq(cc.s_maxage, values[_i].s_maxage);
    ck_assert_int_eq(cc.stale_while_revalidate, values[_i].swr);
    ck_assert_int_eq(cc.stale_if_error, values[_i].sie);
}
END_TEST

static void parse_resp(const char *r)
{
    ck_assert_int_gt(http1_parse_response(r, strlen(r), &lim, 0, &rh), 0);
}

START_TEST(first_valid_of_the_list)
{
    static const char *const list[] = {"Gatehouse-Cache-Control", "CDN-Cache-Control"};
    struct cache_control cc;
    static const char r1[] = "HTTP/1.1 200 OK\r\nCDN-Cache-Control: max-age=1\r\n"
                             "gatehouse-cache-control: max-age=2\r\n\r\n";
    static const char r2[] = "HTTP/1.1 200 OK\r\nCDN-Cache-Control: max-age=1\r\n"
                             "Gatehouse-Cache-Control: Max-Age=2\r\n\r\n";
    static const char r3[] = "HTTP/1.1 200 OK\r\nCDN-Cache-Control: max-age=1\r\n"
                             "Gatehouse-Cache-Control:\r\nGatehouse-Cache-Control: private\r\n\r\n";
    static const char r4[] = "HTTP/1.1 200 OK\r\nCache-Control: max-age=1\r\n\r\n";
    static const char r5[] = "HTTP/1.1 200 OK\r\nCDN-Cache-Control: max-age=1\r\n"
                             "CDN-Cache-Control: no-store=?0, s-maxage=4\r\n\r\n";

    parse_resp(r1);
    ck_assert_int_eq(cache_targeted_parse(&rh, r1, list, 2, &cc), 0);
    ck_assert_int_eq(cc.max_age, 2);
    /* an invalid first choice falls to the next */
    parse_resp(r2);
    ck_assert_int_eq(cache_targeted_parse(&rh, r2, list, 2, &cc), 1);
    ck_assert_int_eq(cc.max_age, 1);
    /* an empty line adds nothing; lines make one Dictionary */
    parse_resp(r3);
    ck_assert_int_eq(cache_targeted_parse(&rh, r3, list, 2, &cc), 0);
    ck_assert_uint_eq(cc.flags, CACHE_CC_PRIVATE);
    parse_resp(r5);
    ck_assert_int_eq(cache_targeted_parse(&rh, r5, list + 1, 1, &cc), 0);
    ck_assert_int_eq(cc.max_age, 1);
    ck_assert_int_eq(cc.s_maxage, 4);
    /* none there: nothing, and an empty list honours nothing */
    parse_resp(r4);
    ck_assert_int_eq(cache_targeted_parse(&rh, r4, list, 2, &cc), -1);
    parse_resp(r1);
    ck_assert_int_eq(cache_targeted_parse(&rh, r1, list, 0, &cc), -1);
}
END_TEST

/* A response judged with the target list [CDN-Cache-Control] at T, asked
 * `age` seconds later by a plain GET: what the cache may do with it. */
static const struct {
    const char *fields;
    int storable;
    int64_t age;
    enum cache_use use;
    int sie;
} judged[] = {
    /* the targeted field wins both ways */
    {"Cache-Control: no-store\r\nCDN-Cache-Control: max-age=60\r\n", 1, 10, CACHE_USE_FRESH, 1},
    {"Cache-Control: max-age=60\r\nCDN-Cache-Control: no-store\r\n", 0, 0, CACHE_USE_FRESH, 0},
    {"Cache-Control: max-age=60\r\nCDN-Cache-Control: private\r\n", 0, 0, CACHE_USE_FRESH, 0},
    {"Cache-Control: max-age=5\r\nCDN-Cache-Control: max-age=600\r\n", 1, 100, CACHE_USE_FRESH, 1},
    {"Cache-Control: max-age=600\r\nCDN-Cache-Control: max-age=5\r\nETag: \"x\"\r\n", 1, 100,
     CACHE_USE_REVALIDATE, 1},
    /* Expires is ignored with it */
    {"Expires: Thu, 01 Jan 1970 00:00:00 GMT\r\nCDN-Cache-Control: max-age=60\r\n", 1, 10,
     CACHE_USE_FRESH, 1},
    /* its must-revalidate forbids stale use, Cache-Control's does not count */
    {"Cache-Control: max-age=5\r\nCDN-Cache-Control: max-age=5, must-revalidate\r\nETag: \"x\"\r\n",
     1, 100, CACHE_USE_REVALIDATE, 0},
    {"Cache-Control: max-age=5, must-revalidate\r\nCDN-Cache-Control: max-age=5\r\nETag: \"x\"\r\n",
     1, 100, CACHE_USE_REVALIDATE, 1},
    {"CDN-Cache-Control: max-age=5, stale-while-revalidate=60\r\nETag: \"x\"\r\n", 1, 30,
     CACHE_USE_STALE_REVALIDATE, 1},
    /* invalid: Cache-Control and Expires decide */
    {"Cache-Control: no-store\r\nCDN-Cache-Control: max-age=60,\r\n", 0, 0, CACHE_USE_FRESH, 0},
    {"Cache-Control: max-age=60\r\nCDN-Cache-Control: \r\n", 1, 10, CACHE_USE_FRESH, 1},
};

START_TEST(judged_with_targets)
{
    static const char *const list[] = {"CDN-Cache-Control"};
    static const char req[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    char resp[512];
    struct cache_req_info rq;
    struct cache_meta m;
    struct cache_opts o;
    struct cache_verdict v;
    const char *why;

    snprintf(resp, sizeof(resp), "HTTP/1.1 200 OK\r\n%s\r\n", judged[_i].fields);
    parse_resp(resp);
    ck_assert_int_gt(http1_parse_request(req, strlen(req), &lim, &qh), 0);
    cache_req_parse(&rq, &qh, req);
    cache_opts_default(&o);
    o.stale_if_unreachable = 86400; /* sie: a stale copy may stand in for an absent origin */
    cache_meta_judge(&m, &rh, resp, T, T, list, 1, CACHE_CLASS_DEFAULT);
    ck_assert_msg(cache_storable(&rq, &m, &o, &why) == judged[_i].storable, "case %d: storable? %s",
                  _i, why ? why : "yes");
    if (!judged[_i].storable)
        return;
    ck_assert_msg(cache_decide(&rq, &m, &o, T + judged[_i].age, &v) == judged[_i].use,
                  "case %d: use %d", _i, v.use);
    ck_assert_msg(v.stale_if_error == judged[_i].sie || judged[_i].use != CACHE_USE_REVALIDATE,
                  "case %d: stale_if_error %d", _i, v.stale_if_error);
}
END_TEST

START_TEST(forward_mode_honours_none)
{
    static const char resp[] = "HTTP/1.1 200 OK\r\nCache-Control: no-store\r\n"
                               "CDN-Cache-Control: max-age=60\r\n\r\n";
    struct cache_meta m;

    parse_resp(resp);
    ck_assert_int_eq(cache_meta_judge(&m, &rh, resp, T, T, NULL, 0, CACHE_CLASS_DEFAULT), 0);
    ck_assert_uint_eq(m.cc.flags, CACHE_CC_NO_STORE);
    ck_assert_int_eq(m.cc.max_age, CACHE_UNSET);
}
END_TEST

/* A route's (forward = 0: it reads a target list) or a policy's rules
 * from `cache = ...;`: the target list joined with ',' into out, or the
 * error. */
static int load(const char *text, int forward, char *out, size_t cap)
{
    struct cache_rules r;
    config_t c;
    int rc;

    config_init(&c);
    ck_assert_int_eq(config_read_string(&c, text), CONFIG_TRUE);
    rc = cache_rules_load(&r, config_lookup(&c, "cache"), !forward, NULL, out, cap);
    if (rc == 0) {
        out[0] = '\0';
        for (unsigned i = 0; i < r.ntargeted; i++)
            snprintf(out + strlen(out), cap - strlen(out), "%s%s", i ? "," : "", r.targeted[i]);
    }
    cache_rules_free(&r);
    config_destroy(&c);
    return rc;
}

START_TEST(target_list_settings)
{
    char out[256];

    ck_assert_int_eq(load("cache = true;", 0, out, sizeof(out)), 0);
    ck_assert_str_eq(out, "CDN-Cache-Control");
    ck_assert_int_eq(load("cache = { ttl = 5; };", 0, out, sizeof(out)), 0);
    ck_assert_str_eq(out, "CDN-Cache-Control");
    ck_assert_int_eq(
        load("cache = { targeted_field = \"Gatehouse-Cache-Control\"; };", 0, out, sizeof(out)), 0);
    ck_assert_str_eq(out, "Gatehouse-Cache-Control");
    ck_assert_int_eq(
        load("cache = { targeted_field = [ \"A-Cache-Control\", \"CDN-Cache-Control\" ]; };", 0,
             out, sizeof(out)),
        0);
    ck_assert_str_eq(out, "A-Cache-Control,CDN-Cache-Control");
    ck_assert_int_eq(load("cache = { targeted_field = [ ]; };", 0, out, sizeof(out)), 0);
    ck_assert_str_eq(out, "");
    /* a forward policy honours none, and may not ask to */
    ck_assert_int_eq(load("cache = true;", 1, out, sizeof(out)), 0);
    ck_assert_str_eq(out, "");
    ck_assert_int_eq(
        load("cache = { targeted_field = \"CDN-Cache-Control\"; };", 1, out, sizeof(out)), -1);
    ck_assert_msg(strstr(out, "targeted_field"), "%s", out);
    /* names are field names; nine are too many */
    ck_assert_int_eq(load("cache = { targeted_field = \"CDN Cache\"; };", 0, out, sizeof(out)), -1);
    ck_assert_msg(strstr(out, "targeted_field"), "%s", out);
    ck_assert_int_eq(load("cache = { targeted_field = \"\"; };", 0, out, sizeof(out)), -1);
    ck_assert_int_eq(load("cache = { targeted_field = [ \"a\", \"b\", \"c\", \"d\", \"e\", \"f\", "
                          "\"g\", \"h\", \"i\" ]; };",
                          0, out, sizeof(out)),
                     -1);
    ck_assert_int_eq(load("cache = { targeted_field = 3; };", 0, out, sizeof(out)), -1);
}
END_TEST

void cache_targeted_tcases(Suite *s)
{
    TCase *tc = tcase_create("targeted");

    tcase_add_loop_test(tc, dictionary_values, 0, (int)(sizeof(values) / sizeof(values[0])));
    tcase_add_test(tc, first_valid_of_the_list);
    tcase_add_loop_test(tc, judged_with_targets, 0, (int)(sizeof(judged) / sizeof(judged[0])));
    tcase_add_test(tc, forward_mode_honours_none);
    tcase_add_test(tc, target_list_settings);
    suite_add_tcase(s, tc);
}

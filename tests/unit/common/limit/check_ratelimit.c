/* check_ratelimit.c — the token bucket's burst, refill and delays, the
 * sliding window's estimate, and the RateLimit fields as a client reads
 * them, on a clock the test moves. */
#include "ratelimit.h"
#include "suites.h"

#include <check.h>
#include <string.h>

#define MS 1000ull
#define S 1000000ull
#define T0 (1000 * S) /* any monotonic start */

START_TEST(bucket_burst_then_rate)
{
    struct rate_rule r = {.rate = 10, .burst = 5, .per_us = S};
    struct rate_verdict v;
    uint64_t st[2] = {0, 0};

    for (int i = 0; i < 5; i++) {
        rate_check(&r, st, T0, &v);
        ck_assert_int_eq(v.allowed, 1);
        ck_assert_uint_eq(v.remaining, (unsigned)(4 - i));
        ck_assert_uint_eq(v.delay_us, 0);
    }
    rate_check(&r, st, T0, &v);
    ck_assert_int_eq(v.allowed, 0);
    ck_assert_uint_eq(v.retry_us, 100 * MS);
    rate_check(&r, st, T0 + 99 * MS, &v);
    ck_assert_int_eq(v.allowed, 0);
    ck_assert_uint_eq(v.retry_us, 1 * MS);
    rate_check(&r, st, T0 + 100 * MS, &v);
    ck_assert_int_eq(v.allowed, 1);
    ck_assert_uint_eq(v.remaining, 0);
    /* a quiet second fills the bucket again, and no more */
    for (int i = 0; i < 5; i++) {
        rate_check(&r, st, T0 + 5 * S, &v);
        ck_assert_int_eq(v.allowed, 1);
    }
    rate_check(&r, st, T0 + 5 * S, &v);
    ck_assert_int_eq(v.allowed, 0);
}
END_TEST

/* The delay action spaces requests one interval apart, up to max_delay. */
START_TEST(bucket_delays_in_turn)
{
    struct rate_rule r = {.rate = 10, .burst = 1, .per_us = S, .max_delay_us = S};
    struct rate_verdict v;
    uint64_t st[2] = {0, 0};

    for (int i = 0; i <= 10; i++) {
        rate_check(&r, st, T0, &v);
        ck_assert_int_eq(v.allowed, 1);
        ck_assert_uint_eq(v.delay_us, (uint64_t)i * 100 * MS);
    }
    rate_check(&r, st, T0, &v);
    ck_assert_int_eq(v.allowed, 0);
    ck_assert_uint_eq(v.retry_us, 100 * MS);
}
END_TEST

START_TEST(sliding_window_estimate)
{
    struct rate_rule r = {.rate = 4, .per_us = S, .sliding = 1};
    struct rate_verdict v;
    uint64_t st[2] = {0, 0};

    for (int i = 0; i < 4; i++) {
        rate_check(&r, st, T0 + 100 * MS, &v);
        ck_assert_int_eq(v.allowed, 1);
        ck_assert_uint_eq(v.remaining, (unsigned)(3 - i));
        ck_assert_uint_eq(v.reset_us, 900 * MS);
    }
    rate_check(&r, st, T0 + 200 * MS, &v);
    ck_assert_int_eq(v.allowed, 0);
    /* the next window, a quarter in: 4 * 3/4 = 3 still count, room for one */
    rate_check(&r, st, T0 + S + 250 * MS, &v);
    ck_assert_int_eq(v.allowed, 1);
    rate_check(&r, st, T0 + S + 250 * MS, &v);
    ck_assert_int_eq(v.allowed, 0);
    ck_assert_uint_eq(v.retry_us, 250 * MS); /* at half way 4 * 1/2 + 1 = 3 */
    rate_check(&r, st, T0 + S + 500 * MS, &v);
    ck_assert_int_eq(v.allowed, 1);
    /* two windows later nothing of these counts */
    for (int i = 0; i < 4; i++) {
        rate_check(&r, st, T0 + 3 * S, &v);
        ck_assert_int_eq(v.allowed, 1);
    }
}
END_TEST

START_TEST(fields_for_a_client)
{
    struct rate_rule r = {.rate = 10, .burst = 20, .per_us = S};
    struct rate_verdict ok = {.allowed = 1, .remaining = 7, .reset_us = 1300 * MS};
    struct rate_verdict no = {.allowed = 0, .retry_us = 200 * MS};
    char buf[512];

    rate_fields(buf, sizeof(buf), 0, "per_ip", &r, &ok);
    ck_assert_str_eq(buf, "RateLimit-Policy: \"per_ip\";q=20;w=2\r\n"
                          "RateLimit: \"per_ip\";r=7;t=2\r\n");
    rate_fields(buf, sizeof(buf), 0, "per_ip", &r, &no);
    ck_assert_str_eq(buf, "RateLimit-Policy: \"per_ip\";q=20;w=2\r\n"
                          "RateLimit: \"per_ip\";r=0;t=1\r\n"
                          "Retry-After: 1\r\n");
    r = (struct rate_rule){.rate = 100, .per_us = 60 * S, .sliding = 1};
    no.retry_us = 30 * S + 1;
    rate_fields(buf, sizeof(buf), 0, "api", &r, &no);
    ck_assert_str_eq(buf, "RateLimit-Policy: \"api\";q=100;w=60\r\n"
                          "RateLimit: \"api\";r=0;t=31\r\n"
                          "Retry-After: 31\r\n");
}
END_TEST

Suite *ratelimit_suite(void)
{
    Suite *s = suite_create("ratelimit");
    TCase *tc = tcase_create("ratelimit");

    tcase_add_test(tc, bucket_burst_then_rate);
    tcase_add_test(tc, bucket_delays_in_turn);
    tcase_add_test(tc, sliding_window_estimate);
    tcase_add_test(tc, fields_for_a_client);
    suite_add_tcase(s, tc);
    return s;
}

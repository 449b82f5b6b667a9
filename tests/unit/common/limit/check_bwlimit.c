/* check_bwlimit.c — the byte buckets of the bandwidth limits: a full
 * bucket grants its burst, then bytes come at the rate, a nearly empty one
 * makes the asker wait for a useful slice rather than a trickle, and a
 * bucket left alone refills to its burst and no further. */
#include "bwlimit.h"
#include "suites.h"

#include <check.h>

#define MS 1000000ull
#define S 1000000000ull
#define T0 (1000 * S)

START_TEST(full_bucket_grants_its_burst)
{
    uint64_t wait;

    ck_assert_uint_eq(bw_available(0, 1000000, 100000, T0, 1 << 20, &wait), 100000);
    ck_assert_uint_eq(wait, 0);
    ck_assert_uint_eq(bw_available(0, 1000000, 100000, T0, 500, &wait), 500);
}
END_TEST

START_TEST(then_bytes_come_at_the_rate)
{
    uint64_t tat = bw_charge(0, 1000000, T0, 100000), wait; /* the burst taken */

    ck_assert_uint_eq(tat, T0 + 100 * MS);
    ck_assert_uint_eq(bw_available(tat, 1000000, 100000, T0, 1 << 20, &wait), 0);
    /* a useful slice, an eighth of the burst: 12,500 bytes, 12.5 ms */
    ck_assert_uint_eq(wait, 12500000);
    ck_assert_uint_eq(bw_available(tat, 1000000, 100000, T0 + 50 * MS, 1 << 20, &wait), 50000);
    /* taking them moves the arrival time by their cost */
    tat = bw_charge(tat, 1000000, T0 + 50 * MS, 50000);
    ck_assert_uint_eq(tat, T0 + 150 * MS);
}
END_TEST

START_TEST(refills_to_the_burst_only)
{
    uint64_t tat = bw_charge(0, 1000000, T0, 100000), wait;

    ck_assert_uint_eq(bw_available(tat, 1000000, 100000, T0 + 60 * S, 1 << 20, &wait), 100000);
    /* a charge after idling starts from now, not from the past */
    ck_assert_uint_eq(bw_charge(tat, 1000000, T0 + 60 * S, 1000), T0 + 60 * S + 1 * MS);
}
END_TEST

START_TEST(a_million_bytes_take_a_second)
{
    uint64_t tat = 0, now = T0, got = 0, wait;

    while (got < 1000000 + 100000) { /* the burst and a second's worth */
        uint64_t g = bw_available(tat, 1000000, 100000, now, 65536, &wait);
        if (!g) {
            ck_assert_uint_gt(wait, 0);
            now += wait;
            continue;
        }
        tat = bw_charge(tat, 1000000, now, g);
        got += g;
    }
    ck_assert_uint_ge(now - T0, 990 * MS);
    ck_assert_uint_le(now - T0, 1010 * MS);
}
END_TEST

Suite *bwlimit_suite(void)
{
    Suite *s = suite_create("bwlimit");
    TCase *tc = tcase_create("bwlimit");

    tcase_add_test(tc, full_bucket_grants_its_burst);
    tcase_add_test(tc, then_bytes_come_at_the_rate);
    tcase_add_test(tc, refills_to_the_burst_only);
    tcase_add_test(tc, a_million_bytes_take_a_second);
    suite_add_tcase(s, tc);
    return s;
}

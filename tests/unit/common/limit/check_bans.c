/* check_bans.c — the table of bans in force (bans.h) as the fleet fills
 * it: a ban made elsewhere lasts from when it was made, not from when it
 * was heard; a ban heard again keeps its later end; and a lift lifts only
 * the bans made before it, so a lift read late from the fleet's journal
 * never undoes a ban made after it.  Times are the callers' (monotonic
 * ms), so no clock is read. */
#include "bans.h"
#include "suites.h"

#include <check.h>

#define NOW 1000000u

START_TEST(a_ban_from_elsewhere_counts_from_when_it_was_made)
{
    bans_put(1, "scan", "192.0.2.1", NOW, 60000, 20000);
    ck_assert_uint_eq(bans_check(1, NOW), 40000);
    /* one that is over by the time it is heard is not put at all */
    bans_put(2, "scan", "192.0.2.2", NOW, 60000, 60000);
    ck_assert_uint_eq(bans_check(2, NOW), 0);
}
END_TEST

START_TEST(a_ban_heard_again_keeps_its_later_end)
{
    bans_put(3, "scan", "192.0.2.3", NOW, 60000, 0);
    bans_put(3, "scan", "192.0.2.3", NOW, 60000, 50000); /* the same, from the journal */
    ck_assert_uint_eq(bans_check(3, NOW), 60000);
}
END_TEST

START_TEST(a_lift_spares_the_bans_made_after_it)
{
    bans_put(4, "scan", "192.0.2.4", NOW, 60000, 0);
    bans_put(5, "scan", "192.0.2.5", NOW, 60000, 30000);
    /* a lift of everything made 10 s ago: the first ban came after it */
    ck_assert_uint_eq(bans_lift("*", NOW, NOW - 10000), 1);
    ck_assert_uint_eq(bans_check(4, NOW), 60000);
    ck_assert_uint_eq(bans_check(5, NOW), 0);
    /* a lift made now, by text */
    ck_assert_uint_eq(bans_lift("192.0.2.9", NOW, NOW), 0);
    ck_assert_uint_eq(bans_lift("192.0.2.4", NOW, NOW), 1);
    ck_assert_uint_eq(bans_check(4, NOW), 0);
}
END_TEST

/* The journal's order, replayed: a ban, its lift, then a new ban of the
 * same key; what stays is the new ban. */
START_TEST(a_replay_in_order_ends_as_the_fleet_did)
{
    bans_put(6, "scan", "192.0.2.6", NOW, 60000, 30000);
    ck_assert_uint_eq(bans_lift("192.0.2.6", NOW, NOW - 20000), 1);
    ck_assert_uint_eq(bans_check(6, NOW), 0);
    bans_put(6, "scan", "192.0.2.6", NOW, 60000, 10000);
    ck_assert_uint_eq(bans_lift("192.0.2.6", NOW, NOW - 20000), 0); /* heard twice */
    ck_assert_uint_eq(bans_check(6, NOW), 50000);
}
END_TEST

Suite *bans_suite(void)
{
    Suite *s = suite_create("bans");
    TCase *tc = tcase_create("bans");

    tcase_add_test(tc, a_ban_from_elsewhere_counts_from_when_it_was_made);
    tcase_add_test(tc, a_ban_heard_again_keeps_its_later_end);
    tcase_add_test(tc, a_lift_spares_the_bans_made_after_it);
    tcase_add_test(tc, a_replay_in_order_ends_as_the_fleet_did);
    suite_add_tcase(s, tc);
    return s;
}

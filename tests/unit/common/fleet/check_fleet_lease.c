/* check_fleet_lease.c — the arithmetic of a rate limit leased across a
 * fleet (fleet_lease.h): the block's size as the window fills, what an
 * INCRBY's total grants, one node's requests against its tokens and its
 * debt, a new window and a late answer, and three nodes sharing one
 * counter (a Redis the test keeps) with answers that come back at once or
 * several requests later, held to the budget. */
#include "fleet_lease.h"
#include "suites.h"

#include <check.h>
#include <string.h>

START_TEST(block_shrinks_as_the_window_fills)
{
    ck_assert_uint_eq(fleet_lease_block(1000, 0, 64), 62);   /* a sixteenth of what is left */
    ck_assert_uint_eq(fleet_lease_block(1000, 900, 64), 6);
    ck_assert_uint_eq(fleet_lease_block(1000, 990, 64), 1);  /* never less than one */
    ck_assert_uint_eq(fleet_lease_block(1000, 1000, 64), 0); /* nothing left */
    ck_assert_uint_eq(fleet_lease_block(1000, 1200, 64), 0);
    ck_assert_uint_eq(fleet_lease_block(1000000, 0, 64), 64); /* at most max_block */
    ck_assert_uint_eq(fleet_lease_block(5, 0, 64), 1);
}
END_TEST

START_TEST(granted_by_the_total)
{
    ck_assert_uint_eq(fleet_lease_granted(10, 50, 100), 10);  /* within the budget */
    ck_assert_uint_eq(fleet_lease_granted(10, 100, 100), 10); /* exactly to it */
    ck_assert_uint_eq(fleet_lease_granted(10, 105, 100), 5);  /* across it: the part below */
    ck_assert_uint_eq(fleet_lease_granted(10, 110, 100), 0);  /* from it on */
    ck_assert_uint_eq(fleet_lease_granted(10, 500, 100), 0);
}
END_TEST

START_TEST(one_node_spends_its_block_and_asks_ahead)
{
    uint64_t v[2] = {0, 0};
    struct lease_take t;
    unsigned asks = 0;

    /* the window's first request: no tokens yet, let through as a debt,
     * and a block (100 / 16 = 6) plus the debt asked for */
    fleet_lease_take(v, 7, 100, 64, &t);
    ck_assert_int_eq(t.allowed, 1);
    ck_assert_uint_eq(t.ask, 7);
    /* while the answer is on its way: more debt, up to one block, then refused */
    for (int i = 0; i < 5; i++) {
        fleet_lease_take(v, 7, 100, 64, &t);
        ck_assert_int_eq(t.allowed, 1);
        ck_assert_uint_eq(t.ask, 0);
    }
    fleet_lease_take(v, 7, 100, 64, &t);
    ck_assert_int_eq(t.allowed, 0);
    /* the answer: 7 granted pay the debt of 6, one token is left */
    fleet_lease_apply(v, 7, 7, 1, 7, 100);
    fleet_lease_take(v, 7, 100, 64, &t);
    ck_assert_int_eq(t.allowed, 1);
    ck_assert_uint_eq(t.ask, 5); /* below half a block: the next one, (100-7)/16 */
    fleet_lease_apply(v, 7, 5, 1, 12, 100);
    ck_assert_uint_eq(v[1] & 0xffffffffu, 5);
    ck_assert_uint_eq(v[1] >> 32, 12);
    /* spending them asks again before they run out */
    for (int i = 0; i < 5; i++) {
        fleet_lease_take(v, 7, 100, 64, &t);
        ck_assert_int_eq(t.allowed, 1);
        asks += t.ask > 0;
    }
    ck_assert_uint_eq(asks, 1);
}
END_TEST

START_TEST(full_fleet_refuses)
{
    uint64_t v[2] = {0, 0};
    struct lease_take t;

    fleet_lease_take(v, 1, 100, 64, &t);
    ck_assert_uint_eq(t.ask, 7);
    fleet_lease_apply(v, 1, 7, 1, 103, 100); /* others took the rest: 4 of 7 granted */
    ck_assert_uint_eq(v[1] & 0xffffffffu, 3); /* 4 less the debt of 1 */
    for (int i = 0; i < 3; i++) {
        fleet_lease_take(v, 1, 100, 64, &t);
        ck_assert_int_eq(t.allowed, 1);
        ck_assert_uint_eq(t.ask, 0); /* the fleet is full: nothing to ask for */
    }
    fleet_lease_take(v, 1, 100, 64, &t);
    ck_assert_int_eq(t.allowed, 0);
    /* the next window starts afresh */
    fleet_lease_take(v, 2, 100, 64, &t);
    ck_assert_int_eq(t.allowed, 1);
    ck_assert_uint_eq(t.ask, 7);
}
END_TEST

START_TEST(late_and_failed_answers)
{
    uint64_t v[2] = {0, 0};
    struct lease_take t;

    fleet_lease_take(v, 1, 100, 64, &t);
    fleet_lease_take(v, 2, 100, 64, &t); /* a new window before the answer */
    ck_assert_uint_eq(t.ask, 7);
    fleet_lease_apply(v, 1, 7, 1, 7, 100); /* the old window's answer: ignored */
    ck_assert_uint_eq(v[1] & 0xffffffffu, 0xffffffffu); /* still the debt of one */
    fleet_lease_apply(v, 2, 7, 0, 0, 100); /* the link failed: may be asked again */
    fleet_lease_take(v, 2, 100, 64, &t);
    ck_assert_int_eq(t.allowed, 1);
    ck_assert_uint_eq(t.ask, 8); /* a block and the debt of two */
}
END_TEST

/* Three nodes, one counter; each answer comes back `lag` requests (of
 * any node) after its question. */
static unsigned fleet_run(unsigned rate, unsigned requests, unsigned lag, unsigned max_block)
{
    struct pending {
        unsigned node, asked, at;
        long long total;
    } q[4096];
    uint64_t v[3][2];
    long long counter = 0;
    unsigned head = 0, tail = 0, allowed = 0;

    memset(v, 0, sizeof(v));
    for (unsigned i = 0; i < requests; i++) {
        unsigned n = (i * 7 + i / 3) % 3; /* not quite round robin */
        struct lease_take t;
        fleet_lease_take(v[n], 42, rate, max_block, &t);
        allowed += (unsigned)t.allowed;
        if (t.ask) {
            counter += t.ask; /* INCRBY answers at once; the answer travels */
            q[tail++ % 4096] = (struct pending){n, t.ask, i, counter};
        }
        while (head < tail && (i - q[head % 4096].at >= lag || i + 1 == requests)) {
            struct pending *p = &q[head++ % 4096];
            fleet_lease_apply(v[p->node], 42, p->asked, 1, p->total, rate);
        }
    }
    return allowed;
}

START_TEST(three_nodes_hold_the_budget)
{
    static const unsigned lags[] = {0, 1, 3, 10};

    for (unsigned i = 0; i < 4; i++) {
        unsigned a = fleet_run(1000, 3000, lags[i], 64);
        ck_assert_msg(a >= 990 && a <= 1010, "lag %u: %u allowed of a budget of 1000", lags[i], a);
        a = fleet_run(200, 600, lags[i], 64);
        ck_assert_msg(a >= 190 && a <= 210, "lag %u: %u allowed of a budget of 200", lags[i], a);
    }
    /* a budget the demand does not reach: everything goes */
    ck_assert_uint_eq(fleet_run(100000, 3000, 3, 64), 3000);
}
END_TEST

Suite *fleet_lease_suite(void)
{
    Suite *s = suite_create("fleet_lease");
    TCase *tc = tcase_create("lease");

    tcase_add_test(tc, block_shrinks_as_the_window_fills);
    tcase_add_test(tc, granted_by_the_total);
    tcase_add_test(tc, one_node_spends_its_block_and_asks_ahead);
    tcase_add_test(tc, full_fleet_refuses);
    tcase_add_test(tc, late_and_failed_answers);
    tcase_add_test(tc, three_nodes_hold_the_budget);
    suite_add_tcase(s, tc);
    return s;
}

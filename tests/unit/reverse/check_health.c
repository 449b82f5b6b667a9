/* check_health.c — a server's health verdict (active checks with rise and
 * fall, passive ejection, slow start), the retry budget, and what of them a
 * reload keeps (pool_state.c: generations loaded from configuration text). */
#include "budget.h"
#include "config.h"
#include "health.h"
#include "pool.h"
#include "suites.h"

#include <stdio.h>
#include <string.h>

#define T0 50000u /* a monotonic clock reading, ms */

static const struct health_conf conf = {
    .rise = 2,
    .fall = 3,
    .max_fails = 3,
    .fail_timeout_ms = 10000,
    .slow_start_ms = 0,
};

/* `n` active checks with result `ok`; returns how many changed the verdict. */
static int checks(struct health *h, const struct health_conf *c, int ok, unsigned n, uint64_t now)
{
    int changed = 0;

    for (unsigned i = 0; i < n; i++)
        changed += health_check_result(h, c, ok, now + i);
    return changed;
}

START_TEST(starts_up)
{
    struct health h;

    health_init(&h);
    ck_assert_int_eq(h.up, 1);
    ck_assert_int_eq(health_usable(&h, T0), 1);
    ck_assert_uint_eq(health_weight(&h, &conf, 5, T0), 5);
}
END_TEST

START_TEST(fall_then_rise)
{
    struct health h;

    health_init(&h);
    ck_assert_int_eq(checks(&h, &conf, 0, 2, T0), 0); /* fall - 1 bad: still up */
    ck_assert_int_eq(health_usable(&h, T0), 1);
    ck_assert_int_eq(health_check_result(&h, &conf, 0, T0 + 2), 1); /* the fall-th */
    ck_assert_int_eq(health_usable(&h, T0 + 2), 0);
    ck_assert_uint_eq(h.changed_at, T0 + 2);
    ck_assert_int_eq(checks(&h, &conf, 0, 5, T0 + 3), 0);            /* down stays down, quietly */
    ck_assert_int_eq(health_check_result(&h, &conf, 1, T0 + 10), 0); /* rise - 1 good */
    ck_assert_int_eq(health_usable(&h, T0 + 10), 0);
    ck_assert_int_eq(health_check_result(&h, &conf, 1, T0 + 11), 1); /* the rise-th */
    ck_assert_int_eq(health_usable(&h, T0 + 11), 1);
    ck_assert_uint_eq(h.back_since, T0 + 11);
    ck_assert_int_eq(checks(&h, &conf, 1, 5, T0 + 12), 0);
}
END_TEST

/* A check of the other kind in the middle of a run starts the run over. */
START_TEST(interrupted_runs_reset)
{
    struct health h;

    health_init(&h);
    ck_assert_int_eq(checks(&h, &conf, 0, 2, T0), 0);
    ck_assert_int_eq(checks(&h, &conf, 1, 1, T0), 0);
    ck_assert_int_eq(checks(&h, &conf, 0, 2, T0), 0);
    ck_assert_int_eq(h.up, 1); /* 2 + 2 bad, never 3 in a row */
    ck_assert_int_eq(checks(&h, &conf, 0, 1, T0), 1);
    ck_assert_int_eq(h.up, 0);
    ck_assert_int_eq(checks(&h, &conf, 1, 1, T0), 0);
    ck_assert_int_eq(checks(&h, &conf, 0, 1, T0), 0);
    ck_assert_int_eq(checks(&h, &conf, 1, 1, T0), 0);
    ck_assert_int_eq(h.up, 0); /* 1 + 1 good, never 2 in a row */
    ck_assert_int_eq(checks(&h, &conf, 1, 1, T0), 1);
    ck_assert_int_eq(h.up, 1);
}
END_TEST

START_TEST(passive_ejection)
{
    struct health h;

    health_init(&h);
    ck_assert_int_eq(health_request_result(&h, &conf, 0, T0), 0);
    ck_assert_int_eq(health_request_result(&h, &conf, 0, T0), 0);
    ck_assert_int_eq(health_request_result(&h, &conf, 1, T0), 0); /* a success resets the run */
    ck_assert_int_eq(health_request_result(&h, &conf, 0, T0), 0);
    ck_assert_int_eq(health_request_result(&h, &conf, 0, T0), 0);
    ck_assert_int_eq(health_usable(&h, T0), 1);
    ck_assert_int_eq(health_request_result(&h, &conf, 0, T0 + 1), 1); /* max_fails-th: out */
    ck_assert_int_eq(health_usable(&h, T0 + 1), 0);
    ck_assert_int_eq(health_usable(&h, T0 + 10000), 0);
    /* Requests in flight when it was ejected fail without prolonging it. */
    ck_assert_int_eq(health_request_result(&h, &conf, 0, T0 + 500), 0);
    ck_assert_int_eq(health_usable(&h, T0 + 10001), 1); /* fail_timeout later */
    /* The rest is over: the next failure ejects it again at once ... */
    ck_assert_int_eq(health_request_result(&h, &conf, 0, T0 + 10001), 1);
    ck_assert_int_eq(health_usable(&h, T0 + 10002), 0);
    ck_assert_int_eq(health_usable(&h, T0 + 20001), 1);
    /* ... and a success readmits it, with the run forgotten. */
    ck_assert_int_eq(health_request_result(&h, &conf, 1, T0 + 20001), 1);
    ck_assert_uint_eq(h.ejected_until, 0);
    ck_assert_uint_eq(h.back_since, T0 + 20001);
    ck_assert_int_eq(health_request_result(&h, &conf, 0, T0 + 20002), 0);
    ck_assert_int_eq(health_usable(&h, T0 + 20002), 1);
}
END_TEST

/* A server the checks saw go down and come back is not kept out by an
 * ejection from its dead time: the restarted server serves at once. */
START_TEST(rise_ends_ejection)
{
    struct health h;

    health_init(&h);
    for (int i = 0; i < 3; i++)
        health_request_result(&h, &conf, 0, T0);
    ck_assert_int_eq(health_usable(&h, T0 + 1), 0);         /* ejected for 10 s */
    ck_assert_int_eq(checks(&h, &conf, 0, 3, T0 + 100), 1);  /* down */
    ck_assert_int_eq(checks(&h, &conf, 1, 2, T0 + 2000), 1); /* up again */
    ck_assert_int_eq(health_usable(&h, T0 + 2002), 1);      /* long before fail_timeout */
    ck_assert_uint_eq(h.fail_run, 0);
}
END_TEST

START_TEST(no_passive_ejection_without_max_fails)
{
    struct health_conf c = conf;
    struct health h;

    c.max_fails = 0;
    health_init(&h);
    for (unsigned i = 0; i < 1000; i++)
        ck_assert_int_eq(health_request_result(&h, &c, 0, T0 + i), 0);
    ck_assert_int_eq(health_usable(&h, T0 + 1000), 1);
}
END_TEST

/* A server coming back takes 0% .. 100% of its weight over slow_start
 * (at least 1, so it is tried at all). */
START_TEST(slow_start_ramp)
{
    struct health_conf c = conf;
    struct health h;

    c.slow_start_ms = 30000;
    health_init(&h);
    ck_assert_uint_eq(health_weight(&h, &c, 10, T0), 10); /* never left: full weight */
    checks(&h, &c, 0, 3, T0);
    checks(&h, &c, 1, 2, T0 + 1000); /* up again at T0 + 1001 */
    ck_assert_uint_eq(h.back_since, T0 + 1001);
    ck_assert_uint_eq(health_weight(&h, &c, 10, T0 + 1001), 1);         /* 0% */
    ck_assert_uint_eq(health_weight(&h, &c, 10, T0 + 1001 + 3000), 1);  /* 10% */
    ck_assert_uint_eq(health_weight(&h, &c, 10, T0 + 1001 + 15000), 5); /* 50% */
    ck_assert_uint_eq(health_weight(&h, &c, 100, T0 + 1001 + 15000), 50);
    ck_assert_uint_eq(health_weight(&h, &c, 10, T0 + 1001 + 29999), 9);
    ck_assert_uint_eq(health_weight(&h, &c, 10, T0 + 1001 + 30000), 10); /* 100% */
    ck_assert_uint_eq(health_weight(&h, &c, 10, T0 + 1001 + 90000), 10);
    /* Readmission after a passive ejection ramps up the same way. */
    for (unsigned i = 0; i < 3; i++)
        health_request_result(&h, &c, 0, T0 + 100000);
    ck_assert_int_eq(health_request_result(&h, &c, 1, T0 + 110000), 1);
    ck_assert_uint_eq(health_weight(&h, &c, 10, T0 + 110000 + 15000), 5);
    c.slow_start_ms = 0; /* no slow start: full weight at once */
    ck_assert_uint_eq(health_weight(&h, &c, 10, T0 + 110000), 10);
}
END_TEST

/* Retries granted in a row until the budget refuses one. */
static unsigned retries_granted(struct retry_budget *b, uint64_t now)
{
    unsigned n = 0;

    while (n < 100000 && budget_retry(b, now))
        n++;
    return n;
}

START_TEST(budget_ratio)
{
    struct retry_budget b;

    budget_init(&b, 0.2, 0);
    ck_assert_int_eq(budget_retry(&b, T0), 0); /* no requests, no floor: none */
    for (unsigned i = 0; i < 100; i++)
        budget_request(&b, T0 + i * 10);
    ck_assert_uint_eq(retries_granted(&b, T0 + 1000), 20);
    ck_assert_int_eq(budget_retry(&b, T0 + 1500), 0);
    for (unsigned i = 0; i < 5; i++) /* 5 more requests earn one more retry */
        budget_request(&b, T0 + 2000);
    ck_assert_uint_eq(retries_granted(&b, T0 + 2000), 1);
}
END_TEST

START_TEST(budget_floor)
{
    struct retry_budget b;

    budget_init(&b, 0.2, 3); /* 3 a second: 30 over the 10 s window */
    ck_assert_uint_eq(retries_granted(&b, T0), 30);
    for (unsigned i = 0; i < 50; i++)
        budget_request(&b, T0);
    ck_assert_uint_eq(retries_granted(&b, T0), 10);
}
END_TEST

/* Seconds that left the 10 s window no longer count, either way. */
START_TEST(budget_window_slides)
{
    struct retry_budget b;

    budget_init(&b, 0.2, 0);
    for (unsigned i = 0; i < 100; i++)
        budget_request(&b, T0);                            /* second 50 */
    ck_assert_uint_eq(retries_granted(&b, T0 + 5000), 20); /* second 55 */
    for (unsigned i = 0; i < 50; i++)
        budget_request(&b, T0 + 7000); /* second 57 */
    ck_assert_uint_eq(retries_granted(&b, T0 + 9999), 10);
    /* Second 60: the 100 requests of second 50 are gone; 50 requests and
     * the 20 + 10 retries are left, already over 20% of 50. */
    ck_assert_int_eq(budget_retry(&b, T0 + 10000), 0);
    /* Second 65: the 20 retries of second 55 are gone too: 10 of 10 used. */
    ck_assert_int_eq(budget_retry(&b, T0 + 15000), 0);
    for (unsigned i = 0; i < 50; i++)
        budget_request(&b, T0 + 15000);
    ck_assert_uint_eq(retries_granted(&b, T0 + 15000), 10); /* 20% of 100, 10 used */
    /* Second 80: everything has left the window; the reused slots start afresh. */
    ck_assert_int_eq(budget_retry(&b, T0 + 30000), 0);
    for (unsigned i = 0; i < 10; i++)
        budget_request(&b, T0 + 30000);
    ck_assert_uint_eq(retries_granted(&b, T0 + 30000), 2);
}
END_TEST

/* ---- what a reload keeps ---- */

/* A generation's pools from `text` (a "pools = { ... };" section). */
static struct pool_set *generation(const char *text)
{
    static struct gh_config cfg;
    char err[CONFIG_ERRLEN] = "";
    config_t cf;
    struct pool_set *ps;

    config_init(&cf);
    ck_assert_msg(config_read_string(&cf, text), "%d: %s", config_error_line(&cf),
                  config_error_text(&cf));
    ps = pool_load(&cfg, &cf, err, sizeof(err));
    config_destroy(&cf);
    ck_assert_msg(ps != NULL, "%s", err);
    return ps;
}

#define CHECKED "health_check = { type = \"tcp\"; rise = 2; fall = 2; };"

/* A server keeps its state across generations as long as its pool's name
 * and its address stay; anything else is a new server. */
START_TEST(reload_shares_state)
{
    unsigned before = pool_state_count();
    struct pool_set *g1 = generation(
        "pools = { a = { servers = ( { address = \"10.0.0.1:80\"; }, { address = \"10.0.0.2:80\"; },"
        "                            { address = \"10.0.0.2:80\"; } ); };"
        "          b = { servers = ( { address = \"10.0.0.1:80\"; } ); }; };");
    struct pool_set *g2 = generation(
        "pools = { b = { servers = ( { address = \"10.0.0.1:80\"; weight = 5; max_conns = 2; } ); };"
        "          a = { servers = ( { address = \"10.0.0.2:80\"; }, { address = \"10.0.0.3:80\"; },"
        "                            { address = \"10.0.0.2:80\"; } ); }; };");
    struct pool *a1 = pool_find(g1, "a"), *b1 = pool_find(g1, "b");
    struct pool *a2 = pool_find(g2, "a"), *b2 = pool_find(g2, "b");

    ck_assert_ptr_eq(b2->servers[0].st, b1->servers[0].st);  /* settings may change */
    ck_assert_ptr_ne(b1->servers[0].st, a1->servers[0].st);  /* same address, other pool */
    ck_assert_ptr_eq(a2->servers[0].st, a1->servers[1].st);  /* order may change */
    ck_assert_ptr_eq(a2->servers[2].st, a1->servers[2].st);  /* the second of an address */
    ck_assert_ptr_ne(a1->servers[1].st, a1->servers[2].st);
    ck_assert_ptr_eq(a2->st, a1->st);
    ck_assert_ptr_ne(a2->st, b2->st);
    /* 10.0.0.3 is new: up, nothing counted */
    ck_assert_int_eq(a2->servers[1].st->h.up, 1);
    ck_assert_uint_eq(atomic_load(&a2->servers[1].st->requests), 0);
    ck_assert_uint_eq(pool_state_count(), before + 7); /* 2 pools, 5 servers */
    pool_free(g1);
    ck_assert_uint_eq(pool_state_count(), before + 6); /* 10.0.0.1 of a went */
    pool_free(g2);
    ck_assert_uint_eq(pool_state_count(), before);
}
END_TEST

/* Only the generation activated last is heard from its checker; a server it
 * does not check is no longer held down by older checks; a passive
 * ejection and the requests in flight stay whatever happens. */
START_TEST(reload_hands_over_checks)
{
    const char *checked = "pools = { a = { servers = ( { address = \"10.0.0.1:80\"; },"
                          "  { address = \"10.0.0.2:80\"; } ); max_fails = 1; " CHECKED " }; };";
    struct pool_set *g1 = generation(checked), *g2, *g3;
    struct pool *p1 = pool_find(g1, "a"), *p2, *p3;
    struct server_state *st = p1->servers[0].st, *ej = p1->servers[1].st;
    struct pick pk = {.now = T0, .prefer = 2};
    unsigned out;

    ck_assert_int_eq(pool_check_result(p1, 0, 0, T0), -1); /* not activated: not heard */
    pool_adopt(g1, T0);
    ck_assert_int_eq(pool_check_result(p1, 0, 0, T0), 0);
    ck_assert_int_eq(pool_check_result(p1, 0, 0, T0), 1); /* down */
    ck_assert_int_eq(pool_pick(p1, &pk, &out), PICK_OK); /* a request in flight to .2 */
    ck_assert_uint_eq(out, 1);
    ck_assert_int_eq(pool_done(p1, 1, 0, T0), 1); /* its failure ejects .2 */
    ck_assert_int_eq(pool_pick(p1, &pk, &out), PICK_DOWN);
    g2 = generation(checked);
    p2 = pool_find(g2, "a");
    ck_assert_int_eq(pool_pick(p2, &pk, &out), PICK_DOWN); /* loaded, it knows */
    pool_adopt(g2, T0 + 1);
    ck_assert_int_eq(st->h.up, 0);
    ck_assert_int_eq(pool_check_result(p1, 0, 1, T0 + 2), -1); /* the old checker */
    ck_assert_int_eq(pool_check_result(p1, 0, 1, T0 + 3), -1);
    ck_assert_int_eq(st->h.up, 0);
    ck_assert_int_eq(pool_check_result(p2, 0, 1, T0 + 4), 0);
    ck_assert_int_eq(pool_check_result(p2, 0, 1, T0 + 5), 1); /* the new one: up */
    ck_assert_int_eq(pool_check_result(p2, 0, 0, T0 + 6), 0);
    ck_assert_int_eq(pool_check_result(p2, 0, 0, T0 + 7), 1); /* and down again */
    pool_free(g1);
    /* a generation without checks: the checks' "down" no longer stands */
    g3 = generation("pools = { a = { servers = ( { address = \"10.0.0.1:80\"; },"
                    "  { address = \"10.0.0.2:80\"; } ); max_fails = 1; }; };");
    p3 = pool_find(g3, "a");
    ck_assert_int_eq(pool_pick(p3, &pk, &out), PICK_DOWN); /* not before it serves */
    pool_adopt(g3, T0 + 8);
    ck_assert_int_eq(pool_check_result(p2, 0, 0, T0 + 9), -1);
    ck_assert_int_eq(st->h.up, 1);
    ck_assert_int_eq(ej->h.ejected_until, T0 + 10000); /* ejected still */
    pk.now = T0 + 9;
    ck_assert_int_eq(pool_pick(p3, &pk, &out), PICK_OK);
    ck_assert_uint_eq(out, 0);
    ck_assert_uint_eq(atomic_load(&st->active), 1);
    pool_done(p3, out, 1, T0 + 9);
    ck_assert_uint_eq(atomic_load(&st->active), 0);
    ck_assert_uint_eq(atomic_load(&ej->requests), 1);
    ck_assert_uint_eq(atomic_load(&ej->failures), 1);
    pool_free(g2);
    pool_free(g3);
}
END_TEST

Suite *health_suite(void)
{
    Suite *s = suite_create("health");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, starts_up);
    tcase_add_test(tc, fall_then_rise);
    tcase_add_test(tc, interrupted_runs_reset);
    tcase_add_test(tc, passive_ejection);
    tcase_add_test(tc, rise_ends_ejection);
    tcase_add_test(tc, no_passive_ejection_without_max_fails);
    tcase_add_test(tc, slow_start_ramp);
    tcase_add_test(tc, budget_ratio);
    tcase_add_test(tc, budget_floor);
    tcase_add_test(tc, budget_window_slides);
    tcase_add_test(tc, reload_shares_state);
    tcase_add_test(tc, reload_hands_over_checks);
    suite_add_tcase(s, tc);
    return s;
}

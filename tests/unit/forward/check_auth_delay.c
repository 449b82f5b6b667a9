/* check_auth_delay.c — failed logins counted by address, by user name and
 * by the pair: what a good login takes back, what many addresses add up
 * to, that a flood of names cannot grow the tables or lose a count it
 * still holds, and exact counts with four threads at once. */
#include "auth_delay.h"
#include "suites.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static struct sockaddr_storage v4(const char *text)
{
    struct sockaddr_storage ss;
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

    memset(&ss, 0, sizeof(ss));
    sin->sin_family = AF_INET;
    ck_assert_int_eq(inet_pton(AF_INET, text, &sin->sin_addr), 1);
    return ss;
}

static struct sockaddr_storage v6(const char *text)
{
    struct sockaddr_storage ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

    memset(&ss, 0, sizeof(ss));
    sin6->sin6_family = AF_INET6;
    ck_assert_int_eq(inet_pton(AF_INET6, text, &sin6->sin6_addr), 1);
    return ss;
}

START_TEST(the_schedule)
{
    static const uint32_t want[] = {0, 0, 0, 0, 250, 500, 1000, 2000, 4000, 8000, 8000};

    for (uint32_t n = 0; n < sizeof(want) / sizeof(want[0]); n++)
        ck_assert_uint_eq(auth_delay_for(n), want[n]);
    ck_assert_uint_eq(auth_delay_for(UINT32_MAX), 8000);
}
END_TEST

START_TEST(alternating_good_logins_take_nothing_back)
{
    struct sockaddr_storage a = v4("10.0.0.1");
    struct auth_delay_counts c;
    uint32_t hold = 0;

    for (int i = 0; i < 5; i++) {
        auth_delay_succeeded(&a, "alice");
        hold = auth_delay_failed(&a, "mallory", &c);
    }
    ck_assert_uint_eq(c.address, 5);
    ck_assert_uint_eq(c.user, 5);
    ck_assert_uint_eq(hold, 500);
}
END_TEST

START_TEST(good_login_takes_back_only_its_pair)
{
    struct sockaddr_storage a = v4("10.0.0.2"), b = v4("10.0.0.3");
    struct auth_delay_counts c;

    for (int i = 0; i < 3; i++)
        auth_delay_failed(&a, "bob", NULL);
    auth_delay_failed(&a, "carol", NULL);
    auth_delay_failed(&b, "bob", NULL);
    auth_delay_succeeded(&a, "bob"); /* a's 3 for bob go; a's carol and b's bob stay */
    auth_delay_failed(&a, "carol", &c);
    ck_assert_uint_eq(c.address, 2);
    ck_assert_uint_eq(c.user, 2);
    auth_delay_failed(&b, "bob", &c);
    ck_assert_uint_eq(c.address, 2);
    ck_assert_uint_eq(c.user, 2);
    /* a good login for someone a never guessed at changes nothing */
    auth_delay_succeeded(&a, "dave");
    auth_delay_failed(&a, "carol", &c);
    ck_assert_uint_eq(c.address, 3);
}
END_TEST

START_TEST(one_name_from_many_addresses)
{
    char text[32];
    struct auth_delay_counts c;
    uint32_t hold = 0;

    for (int i = 1; i <= 6; i++) {
        snprintf(text, sizeof(text), "2001:db8::%x", i);
        struct sockaddr_storage a = v6(text);
        hold = auth_delay_failed(&a, "victor", &c);
        ck_assert_uint_eq(c.address, 1);
        ck_assert_uint_eq(c.user, (uint32_t)i);
    }
    ck_assert_uint_eq(hold, 1000);
}
END_TEST

/* An IPv4 client and the IPv6 address that spells it the same bytes
 * another way are counted apart; the mapped form is the same address. */
START_TEST(addresses_are_kept_apart)
{
    struct sockaddr_storage a = v4("10.1.2.3"), mapped = v6("::ffff:10.1.2.3"),
                            other = v6("a01:203::");
    struct auth_delay_counts c;

    auth_delay_failed(&a, "", &c);
    ck_assert_uint_eq(c.address, 1);
    ck_assert_uint_eq(c.user, 0); /* no name: only the address counts */
    auth_delay_failed(&mapped, "", &c);
    ck_assert_uint_eq(c.address, 2);
    auth_delay_failed(&other, "", &c);
    ck_assert_uint_eq(c.address, 1);
}
END_TEST

/* 200,000 made-up names from 200,000 addresses, one failure each: the
 * tables keep their size (static arrays), and the count of an account
 * under attack is never the one that makes room. */
START_TEST(a_flood_of_names_is_bounded)
{
    struct sockaddr_storage a = v4("10.2.0.1");
    struct auth_delay_counts c;
    char name[32];

    auth_delay_failed(&a, "target", NULL);
    auth_delay_failed(&a, "target", NULL);
    for (uint32_t i = 0; i < 200000; i++) {
        struct sockaddr_storage x = v4("10.3.0.0");
        ((struct sockaddr_in *)&x)->sin_addr.s_addr = htonl(0x0a030000u + i);
        snprintf(name, sizeof(name), "spray%u", i);
        auth_delay_failed(&x, name, NULL);
        if (i % 1000 == 0)
            auth_delay_failed(&a, "target", NULL); /* 200 more */
    }
    auth_delay_failed(&a, "target", &c);
    ck_assert_uint_eq(c.user, 203);
    ck_assert_uint_eq(c.address, 203);
    /* and a one-off name from the flood may be gone, but never miscounted */
    struct sockaddr_storage x = v4("10.3.0.5");
    auth_delay_failed(&x, "spray5", &c);
    ck_assert_uint_le(c.user, 2);
    ck_assert_uint_le(c.address, 2);
}
END_TEST

struct racer {
    int id;
};

static void *race(void *arg)
{
    const struct racer *r = arg;
    struct sockaddr_storage a = v4("10.4.0.0");

    for (int i = 0; i < 20000; i++) {
        ((struct sockaddr_in *)&a)->sin_addr.s_addr =
            htonl(0x0a040000u + (uint32_t)(r->id * 8 + i % 8));
        auth_delay_failed(&a, "shared", NULL);
        auth_delay_succeeded(&a, "someone-else");
    }
    return NULL;
}

START_TEST(four_threads_lose_no_count)
{
    pthread_t t[4];
    struct racer r[4];
    struct sockaddr_storage a = v4("10.4.0.0");
    struct auth_delay_counts c;

    for (int i = 0; i < 4; i++) {
        r[i].id = i;
        ck_assert_int_eq(pthread_create(&t[i], NULL, race, &r[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    auth_delay_failed(&a, "shared", &c);
    ck_assert_uint_eq(c.user, 80001);
    ck_assert_uint_eq(c.address, 2501); /* 20,000 / 8 from each address, and this one */
}
END_TEST

Suite *auth_delay_suite(void)
{
    Suite *s = suite_create("auth_delay");
    TCase *tc = tcase_create("auth_delay");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, the_schedule);
    tcase_add_test(tc, alternating_good_logins_take_nothing_back);
    tcase_add_test(tc, good_login_takes_back_only_its_pair);
    tcase_add_test(tc, one_name_from_many_addresses);
    tcase_add_test(tc, addresses_are_kept_apart);
    tcase_add_test(tc, a_flood_of_names_is_bounded);
    tcase_add_test(tc, four_threads_lose_no_count);
    suite_add_tcase(s, tc);
    return s;
}

/* check_login.c — the captive login's table of logins: an address is its
 * user until its time runs out, IPv4 and IPv6 alike, a new login replaces
 * the old one, and a full table makes room with the soonest to expire. */
#include "login.h"
#include "suites.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

static struct sockaddr_storage addr(const char *ip)
{
    struct sockaddr_storage ss;

    memset(&ss, 0, sizeof(ss));
    if (strchr(ip, ':')) {
        ss.ss_family = AF_INET6;
        inet_pton(AF_INET6, ip, &((struct sockaddr_in6 *)&ss)->sin6_addr);
    } else {
        ss.ss_family = AF_INET;
        inet_pton(AF_INET, ip, &((struct sockaddr_in *)&ss)->sin_addr);
    }
    return ss;
}

START_TEST(a_login_lasts_its_time)
{
    struct sockaddr_storage a = addr("10.0.0.7"), b = addr("10.0.0.8"), c = addr("fd00::7");
    char user[64];

    login_forget_all();
    ck_assert(!login_find(&a, 1000, user, sizeof(user)));
    login_record(&a, "alice", 1000, 60);
    login_record(&c, "carol", 1000, 60);
    ck_assert(login_find(&a, 1059, user, sizeof(user)));
    ck_assert_str_eq(user, "alice");
    ck_assert(!login_find(&a, 1060, user, sizeof(user))); /* its time is up */
    ck_assert(!login_find(&b, 1000, user, sizeof(user)));
    ck_assert(login_find(&c, 1000, user, sizeof(user)));
    ck_assert_str_eq(user, "carol");
    login_record(&a, "bob", 1010, 60); /* another login from the address */
    ck_assert(login_find(&a, 1069, user, sizeof(user)));
    ck_assert_str_eq(user, "bob");
}
END_TEST

START_TEST(a_full_table_makes_room)
{
    struct sockaddr_storage a;
    char ip[32], user[64];

    login_forget_all();
    for (int i = 0; i < 2 * LOGIN_MAX; i++) {
        snprintf(ip, sizeof(ip), "10.%d.%d.1", i / 256, i % 256);
        a = addr(ip);
        login_record(&a, "u", 1000, (uint32_t)(100 + i)); /* later ones last longer */
    }
    a = addr("10.31.255.1"); /* the last one */
    ck_assert(login_find(&a, 1000, user, sizeof(user)));
    a = addr("192.168.1.1");
    login_record(&a, "new", 1000, 10);
    ck_assert(login_find(&a, 1000, user, sizeof(user)));
    ck_assert_str_eq(user, "new");
    login_forget_all();
}
END_TEST

Suite *login_suite(void)
{
    Suite *s = suite_create("login");
    TCase *tc = tcase_create("login");

    tcase_add_test(tc, a_login_lasts_its_time);
    tcase_add_test(tc, a_full_table_makes_room);
    suite_add_tcase(s, tc);
    return s;
}

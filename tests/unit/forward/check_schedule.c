/* check_schedule.c — time windows at their boundaries, and which filter
 * rule a client gets by network, user, group and time. */
#include "auth.h"
#include "filter.h"
#include "schedule.h"
#include "suites.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A Monday..Sunday tm at hh:mm (wday 0 = Sunday). */
static struct tm at(int wday, int h, int m)
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    tm.tm_wday = wday;
    tm.tm_hour = h;
    tm.tm_min = m;
    return tm;
}

static int in(const struct window *w, int wday, int h, int m)
{
    struct tm t = at(wday, h, m);
    return window_contains(w, &t);
}

START_TEST(lessons_boundaries)
{
    struct window w;
    char err[256];

    ck_assert_int_eq(window_parse("mon-fri 08:00-16:00", &w, err, sizeof(err)), 0);
    ck_assert_int_eq(in(&w, 1, 7, 59), 0);
    ck_assert_int_eq(in(&w, 1, 8, 0), 1);
    ck_assert_int_eq(in(&w, 5, 15, 59), 1);
    ck_assert_int_eq(in(&w, 5, 16, 0), 0);
    ck_assert_int_eq(in(&w, 6, 10, 0), 0); /* Saturday */
    ck_assert_int_eq(in(&w, 0, 10, 0), 0); /* Sunday */
}
END_TEST

START_TEST(past_midnight_and_whole_days)
{
    struct window w;
    char err[256];

    ck_assert_int_eq(window_parse("fri 22:00-06:00", &w, err, sizeof(err)), 0);
    ck_assert_int_eq(in(&w, 5, 21, 59), 0);
    ck_assert_int_eq(in(&w, 5, 22, 0), 1);
    ck_assert_int_eq(in(&w, 6, 5, 59), 1); /* Saturday morning */
    ck_assert_int_eq(in(&w, 6, 6, 0), 0);
    ck_assert_int_eq(in(&w, 4, 23, 0), 0); /* Thursday night */
    ck_assert_int_eq(window_parse("sat,sun", &w, err, sizeof(err)), 0);
    ck_assert_int_eq(in(&w, 6, 0, 0), 1);
    ck_assert_int_eq(in(&w, 0, 23, 59), 1);
    ck_assert_int_eq(in(&w, 1, 0, 0), 0);
    ck_assert_int_eq(window_parse("12:00-24:00", &w, err, sizeof(err)), 0);
    ck_assert_int_eq(in(&w, 3, 23, 59), 1);
    ck_assert_int_eq(in(&w, 3, 11, 59), 0);
    ck_assert_int_eq(window_parse("fri-mon", &w, err, sizeof(err)), 0);
    ck_assert_int_eq(in(&w, 0, 12, 0), 1);
    ck_assert_int_eq(in(&w, 2, 12, 0), 0);
}
END_TEST

START_TEST(bad_windows)
{
    const char *bad[] = {"mon-fri 8:00-16:00", "mon-fry 08:00-16:00", "08:00-08:00", "25:00-26:00",
                         "mon 08:60-09:00", "mon 08:00", "mon;tue", "", "mon  08:00-09:00"};
    struct window w;
    char err[256];

    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(window_parse(bad[i], &w, err, sizeof(err)) < 0, "'%s' accepted", bad[i]);
        ck_assert_ptr_nonnull(strstr(err, "bad time window"));
    }
}
END_TEST

static struct sockaddr_storage ip(const char *a)
{
    struct sockaddr_storage ss;
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

    memset(&ss, 0, sizeof(ss));
    s4->sin_family = AF_INET;
    inet_pton(AF_INET, a, &s4->sin_addr);
    return ss;
}

/* Rules picked by network, user, group and time, first match wins. */
START_TEST(rule_selection)
{
    struct filter f;
    struct filter_rule r[4];
    char gpath[] = "/tmp/gh-groups-XXXXXX", err[256], *teachers[] = {"teachers"}, *eve[] = {"eve"};
    struct window lessons;
    struct sockaddr_storage lab = ip("10.9.0.5"), other = ip("192.168.1.9");
    struct tm mon10 = at(1, 10, 0), sat10 = at(6, 10, 0);
    struct auth_groups *g;
    int fd = mkstemp(gpath);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_gt(write(fd, "teachers: alice bob\n# c\nstaff: carol\n", 37), 0);
    close(fd);
    g = auth_load_groups(gpath, err, sizeof(err));
    ck_assert_ptr_nonnull(g);
    unlink(gpath);
    ck_assert_int_eq(window_parse("mon-fri 08:00-16:00", &lessons, err, sizeof(err)), 0);
    memset(r, 0, sizeof(r));
    r[0].users = eve, r[0].nusers = 1;                       /* eve, always */
    r[1].groups = teachers, r[1].ngroups = 1;                /* teachers, always */
    r[2].clients = acl_new();                                /* the lab in lessons */
    ck_assert_int_eq(acl_add(r[2].clients, "10.9.0.0/16", err, sizeof(err)), 0);
    r[2].when = &lessons, r[2].nwhen = 1;
    /* r[3]: everyone else, any time */
    f.r = r, f.n = 4;
    ck_assert_ptr_eq(filter_select(&f, &lab, "eve", g, &mon10), &r[0]);
    ck_assert_ptr_eq(filter_select(&f, &lab, "bob", g, &mon10), &r[1]);
    ck_assert_ptr_eq(filter_select(&f, &lab, "carol", g, &mon10), &r[2]);
    ck_assert_ptr_eq(filter_select(&f, &lab, NULL, g, &sat10), &r[3]);
    ck_assert_ptr_eq(filter_select(&f, &other, "carol", g, &mon10), &r[3]);
    ck_assert_int_eq(auth_in_group(g, "carol", "staff"), 1);
    ck_assert_int_eq(auth_in_group(g, "carol", "teachers"), 0);
    acl_free(r[2].clients);
    auth_groups_free(g);
}
END_TEST

START_TEST(extensions_and_types)
{
    struct filter_rule r;
    char *ext[] = {"exe", ".msi"}, *types[] = {"application/x-msdownload"};

    memset(&r, 0, sizeof(r));
    r.extensions = ext, r.nextensions = 2;
    r.types = types, r.ntypes = 1;
    ck_assert_int_eq(filter_refuses_extension(&r, "/a/setup.exe", 12), 1);
    ck_assert_int_eq(filter_refuses_extension(&r, "/a/SETUP.MSI?x=1", 16), 1);
    ck_assert_int_eq(filter_refuses_extension(&r, "/a/setup.exe.txt", 16), 0);
    ck_assert_int_eq(filter_refuses_extension(&r, "/a.exe/readme", 13), 0);
    ck_assert_int_eq(filter_refuses_extension(&r, "/x?f=a.exe", 10), 0);
    ck_assert_int_eq(filter_refuses_type(&r, "application/x-msdownload; charset=binary", 40), 1);
    ck_assert_int_eq(filter_refuses_type(&r, "application/x-msdownloads", 25), 0);
}
END_TEST

Suite *schedule_suite(void)
{
    Suite *s = suite_create("schedule");
    TCase *tc = tcase_create("windows");

    tcase_add_test(tc, lessons_boundaries);
    tcase_add_test(tc, past_midnight_and_whole_days);
    tcase_add_test(tc, bad_windows);
    tcase_add_test(tc, rule_selection);
    tcase_add_test(tc, extensions_and_types);
    suite_add_tcase(s, tc);
    return s;
}

/* check_util.c — the string builders of util.c used on per-request paths. */
#include "suites.h"
#include "util.h"

#include <stdint.h>

START_TEST(cat_appends_and_terminates)
{
    char b[32];
    size_t n = gh_cat(b, sizeof(b), 0, "[", 1);
    n = gh_cat_str(b, sizeof(b), n, "::1");
    n = gh_cat(b, sizeof(b), n, "]:", 2);
    n = gh_cat_u64(b, sizeof(b), n, 8080);
    ck_assert_uint_eq(n, 10);
    ck_assert_str_eq(b, "[::1]:8080");
    n = gh_cat(b, sizeof(b), 0, "x", 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_str_eq(b, "");
}
END_TEST

START_TEST(cat_truncates_at_capacity)
{
    char b[8];
    size_t n = gh_cat_str(b, sizeof(b), 0, "abcdef");
    n = gh_cat_str(b, sizeof(b), n, "ghij");
    ck_assert_uint_eq(n, 7);
    ck_assert_str_eq(b, "abcdefg");
    n = gh_cat_str(b, sizeof(b), n, "more"); /* full: nothing more, still terminated */
    ck_assert_uint_eq(n, 7);
    ck_assert_str_eq(b, "abcdefg");
    n = gh_cat_u64(b, sizeof(b), 4, 123456);
    ck_assert_uint_eq(n, 7);
    ck_assert_str_eq(b, "abcd123");
    ck_assert_uint_eq(gh_cat(b, 0, 0, "a", 1), 0); /* no room at all: untouched */
}
END_TEST

START_TEST(cat_u64_digits)
{
    char b[32];
    ck_assert_uint_eq(gh_cat_u64(b, sizeof(b), 0, 0), 1);
    ck_assert_str_eq(b, "0");
    ck_assert_uint_eq(gh_cat_u64(b, sizeof(b), 0, UINT64_MAX), 20);
    ck_assert_str_eq(b, "18446744073709551615");
}
END_TEST

Suite *util_suite(void)
{
    Suite *s = suite_create("util");
    TCase *tc = tcase_create("cat");

    tcase_add_test(tc, cat_appends_and_terminates);
    tcase_add_test(tc, cat_truncates_at_capacity);
    tcase_add_test(tc, cat_u64_digits);
    suite_add_tcase(s, tc);
    return s;
}

/* check_util.c — the string builders of util.c used on per-request paths. */
#include "suites.h"
#include "util.h"

#include <stdlib.h>

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

START_TEST(text_grows_past_its_first_block)
{
    struct text t = {0};
    char big[5000];

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    text_printf(&t, "[%s]", "a");
    for (int i = 0; i < 30; i++)
        text_printf(&t, "%s", big);
    ck_assert_uint_eq(t.len, 3 + 30 * 4999);
    ck_assert_uint_eq(strlen(t.p), t.len);
    ck_assert_int_eq(memcmp(t.p, "[a]xxx", 6), 0);
    ck_assert_uint_ge(t.cap, t.len + 1);
    free(t.p);
}
END_TEST

START_TEST(text_json_escapes_what_json_and_html_need)
{
    struct text t = {0};

    text_json_str(&t, "a\"b\\c\n<x>&\x7f\xc3\xa9");
    ck_assert_str_eq(t.p, "\"a\\\"b\\\\c\\u000a\\u003cx\\u003e\\u0026\\u007f\xc3\xa9\"");
    free(t.p);
}
END_TEST

Suite *util_suite(void)
{
    Suite *s = suite_create("util");
    TCase *tc = tcase_create("cat");

    tcase_add_test(tc, cat_appends_and_terminates);
    tcase_add_test(tc, cat_truncates_at_capacity);
    tcase_add_test(tc, cat_u64_digits);
    tcase_add_test(tc, text_grows_past_its_first_block);
    tcase_add_test(tc, text_json_escapes_what_json_and_html_need);
    suite_add_tcase(s, tc);
    return s;
}

/* check_lifecycle.c — start-up errors, reloads and shutdown of a running
 * gatehouse. */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

START_TEST(placeholder)
{
}
END_TEST

Suite *lifecycle_suite(void)
{
    Suite *s = suite_create("lifecycle");
    TCase *tc = tcase_create("lifecycle");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, placeholder);
    suite_add_tcase(s, tc);
    return s;
}

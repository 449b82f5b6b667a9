/* check_static.c — path normalisation of the static backend: what a request
 * path maps to under the root, and what is refused. */
#include "static.h"
#include "suites.h"

#include <string.h>

static const struct {
    const char *in;
    const char *out; /* NULL: refused */
} paths[] = {
    {"/", "/"},
    {"/a/b", "/a/b"},
    {"/./Packages", "/Packages"},
    {"/a/./b", "/a/b"},
    {"/a//b", "/a/b"},
    {"/a/../b", "/b"},
    {"/a/b/../../c", "/c"},
    {"/a/..", "/"},
    {"/dir/", "/dir/"},
    {"/a/./", "/a/"},
    {"/a?x=1", "/a"},
    {"/a/?x=/../..", "/a/"},
    {"/a%20b", "/a b"},
    {"/%7euser", "/~user"},
    {"/..", NULL},
    {"/../a", NULL},
    {"/a/../../b", NULL},
    {"/%2e%2e/etc/passwd", NULL},
    {"/a%2fb", NULL},
    {"/a%00", NULL},
    {"/a\\\\b", NULL},
    {"/a%5cb", NULL},
    {"/a%2", NULL},
    {"/a%zz", NULL},
    {"a/b", NULL},
    {"", NULL},
};

START_TEST(normalizes)
{
    char out[256];
    int rc = static_normalize_path(paths[_i].in, strlen(paths[_i].in), out, sizeof(out));

    if (!paths[_i].out)
        ck_assert_msg(rc < 0, "%s was accepted as %s", paths[_i].in, out);
    else {
        ck_assert_msg(rc == 0, "%s was refused", paths[_i].in);
        ck_assert_str_eq(out, paths[_i].out);
    }
}
END_TEST

START_TEST(mime_types)
{
    ck_assert_str_eq(static_mime_type("/x/index.html"), "text/html; charset=utf-8");
    ck_assert_str_eq(static_mime_type("/a.deb"), "application/vnd.debian.binary-package");
    ck_assert_str_eq(static_mime_type("/a.d/noext"), "application/octet-stream");
    ck_assert_str_eq(static_mime_type("/A.PNG"), "image/png");
}
END_TEST

Suite *static_suite(void)
{
    Suite *s = suite_create("static");
    TCase *tc = tcase_create("paths");

    tcase_add_loop_test(tc, normalizes, 0, (int)(sizeof(paths) / sizeof(paths[0])));
    tcase_add_test(tc, mime_types);
    suite_add_tcase(s, tc);
    return s;
}

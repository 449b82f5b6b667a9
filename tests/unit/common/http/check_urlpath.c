/* check_urlpath.c — the normal form of request targets: every spelling of
 * a path a server reads as the same resource gives the same bytes, the form
 * forwarded has the same segments as the form judged, and what no two
 * servers read alike is refused. */
#include "urlpath.h"
#include "suites.h"

#include <string.h>

static const struct {
    const char *in;
    const char *wire; /* the form forwarded; NULL: refused */
    const char *view; /* the form rules see */
} cases[] = {
    {"", "/", "/"},
    {"/", "/", "/"},
    {"?q=1", "/?q=1", "/?q=1"},
    {"/x", "/x", "/x"},
    {"//x", "/x", "/x"},
    {"///x//y//", "/x/y/", "/x/y/"},
    {"/./x", "/x", "/x"},
    {"/.", "/", "/"},
    {"/..", "/", "/"},
    {"/../../x", "/x", "/x"},
    {"/a/../x", "/x", "/x"},
    {"/a/b/../../x", "/x", "/x"},
    {"/a//..//x", "/x", "/x"},
    {"/a/.", "/a/", "/a/"},
    {"/a/./", "/a/", "/a/"},
    {"/a/b/..", "/a/", "/a/"},
    {"/a/b/../", "/a/", "/a/"},
    {"/a/..", "/", "/"},
    {"/a/...", "/a/...", "/a/..."},
    {"/a/..b/.c", "/a/..b/.c", "/a/..b/.c"},
    /* percent-encoding: unreserved decoded, the rest upper-cased */
    {"/%78", "/x", "/x"},
    {"/%7e%7E%2d%2E%5f%41%7a%30", "/~~-._Az0", "/~~-._Az0"},
    {"/%e9t%c3%A9", "/%E9t%C3%A9", "/%E9t%C3%A9"},
    {"/%2e/x", "/x", "/x"},
    {"/a/%2e%2e/x", "/x", "/x"},
    {"/a/.%2E/x", "/x", "/x"},
    {"/a/%2E./x", "/x", "/x"},
    {"/%2578", "/%2578", "/%2578"},
    {"/a%21b%3d%40", "/a%21b%3D%40", "/a!b=@"},
    {"/a!b=@", "/a!b=@", "/a!b=@"},
    {"/%7b%22%3c", "/%7B%22%3C", "/{\"<"},
    {"/a%20b", "/a%20b", "/a%20b"},
    {"/a%3bb%3Fc%23d%25", "/a%3Bb%3Fc%23d%25", "/a%3Bb%3Fc%23d%25"},
    /* encoded separators and backslashes */
    {"/a%2fb", "/a%2Fb", "/a/b"},
    {"/a%2F..%2Fx", "/x", "/x"},
    {"/a/..%2fx", "/x", "/x"},
    {"/a%2fb/../y", "/a/y", "/a/y"},
    {"/a%2F%2Fb", "/a%2Fb", "/a/b"},
    {"/%2fx", "/x", "/x"},
    {"/%2F%2Fx", "/x", "/x"},
    {"/a%2F", "/a%2F", "/a/"},
    {"/a%5cb", "/a%5Cb", "/a/b"},
    {"/a%5C..%5Cx", "/x", "/x"},
    {"/a\\..\\x", "/x", "/x"},
    {"/y\\z", "/y/z", "/y/z"},
    {"/\\x", "/x", "/x"},
    /* parameters: a dot segment with them is still one */
    {"/a/..;/x", "/x", "/x"},
    {"/a/..;v=1/x", "/x", "/x"},
    {"/a/.;/x", "/a/x", "/a/x"},
    {"/x;v=1", "/x;v=1", "/x;v=1"},
    {"/a;v=1/x", "/a;v=1/x", "/a;v=1/x"},
    {"/a/x;..", "/a/x;..", "/a/x;.."},
    /* the query: unreserved decoded, no dot segments, bare % kept */
    {"/y?a=%2f%41&b=../x", "/y?a=%2FA&b=../x", "/y?a=%2FA&b=../x"},
    {"/y?q=100%", "/y?q=100%", "/y?q=100%"},
    {"/y?q=%zz&r=%4", "/y?q=%zz&r=%4", "/y?q=%zz&r=%4"},
    {"/y?a/../b", "/y?a/../b", "/y?a/../b"},
    {"/a/../y?x=1?y", "/y?x=1?y", "/y?x=1?y"},
    /* refused */
    {"/x%00", NULL, NULL},
    {"/%00/../x", NULL, NULL},
    {"/y?a=%00", NULL, NULL},
    {"/%zz", NULL, NULL},
    {"/%", NULL, NULL},
    {"/%7", NULL, NULL},
    {"/a%2", NULL, NULL},
    {"/a%g1", NULL, NULL},
};

START_TEST(normal_forms)
{
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *in = cases[i].in, *why = NULL;
        char out[256], again[256];
        long n;

        for (unsigned flags = 0; flags <= URLPATH_VIEW; flags++) {
            const char *want = flags ? cases[i].view : cases[i].wire;
            n = urlpath_normalize(in, strlen(in), flags, out, sizeof(out), &why);
            if (!want) {
                ck_assert_msg(n == -1 && why, "'%s' (%u) should be refused, got '%s'", in, flags,
                              n >= 0 ? out : "");
                continue;
            }
            ck_assert_msg(n >= 0, "'%s' (%u) refused: %s", in, flags, why);
            ck_assert_msg(strcmp(out, want) == 0, "'%s' (%u): got '%s', want '%s'", in, flags, out,
                          want);
            ck_assert_int_eq(n, (long)strlen(want));
            ck_assert_int_le(n, (long)strlen(in) + 1);
            /* a normal form is its own normal form */
            ck_assert_int_eq(urlpath_normalize(out, (size_t)n, flags, again, sizeof(again), &why),
                             n);
            ck_assert_str_eq(again, out);
        }
    }
}
END_TEST

START_TEST(reasons_and_room)
{
    const char *why = NULL;
    char out[8];

    ck_assert_int_eq(urlpath_normalize("/x%00", 5, 0, out, sizeof(out), &why), -1);
    ck_assert_str_eq(why, "NUL (%00) in the request target");
    ck_assert_int_eq(urlpath_normalize("/%zz", 4, URLPATH_VIEW, out, sizeof(out), &why), -1);
    ck_assert_str_eq(why, "bad percent-encoding in the request path");
    /* a result that does not fit is refused, never cut */
    ck_assert_int_eq(urlpath_normalize("/abcdefgh", 9, 0, out, sizeof(out), &why), -1);
    ck_assert_str_eq(why, "request target too long");
    ck_assert_int_eq(urlpath_normalize("/abcdefg", 8, 0, out, 8, &why), -1);
    ck_assert_int_eq(urlpath_normalize("/abcdef", 7, 0, out, 8, &why), 7);
    ck_assert_str_eq(out, "/abcdef");
    /* dot segments that shrink the result are no overflow */
    ck_assert_int_eq(urlpath_normalize("/a/../b/../c", 12, 0, out, sizeof(out), &why), 2);
    ck_assert_str_eq(out, "/c");
}
END_TEST

START_TEST(without_parameters)
{
    const char *why;
    char out[64];

    ck_assert_int_eq(urlpath_normalize("/secret;v=1/file", 16, URLPATH_VIEW | URLPATH_NO_PARAMS,
                                       out, sizeof(out), &why),
                     12);
    ck_assert_str_eq(out, "/secret/file");
    ck_assert_int_ge(urlpath_normalize("/a/;x/b;y?q=;z", 14, URLPATH_VIEW | URLPATH_NO_PARAMS, out,
                                       sizeof(out), &why),
                     0);
    ck_assert_str_eq(out, "/a/b?q=;z");
    ck_assert_int_ge(
        urlpath_normalize("/a%3bb;c", 8, URLPATH_VIEW | URLPATH_NO_PARAMS, out, sizeof(out), &why),
        0);
    ck_assert_str_eq(out, "/a%3Bb");
}
END_TEST

START_TEST(extensions)
{
    static const struct {
        const char *path, *ext, *written; /* without its ;parameters, and as written */
    } e[] = {
        {"/setup.exe", "exe", "exe"},
        {"/a/setup.EXE", "EXE", "EXE"},
        {"/setup.exe;v=1", "exe", "exe;v=1"},
        {"/a;b.exe", "", "exe"},
        {"/setup.exe.", "exe", "exe"},
        {"/setup.exe..", "exe", "exe"},
        {"/setup.exe%20", "exe", "exe"},
        {"/setup.exe%20.%20", "exe", "exe"},
        {"/setup.exe?x=.msi", "exe", "exe"},
        {"/dl?x=.exe", "", ""},
        {"/setup.exe/", "", ""},
        {"/dir.exe/readme", "", ""},
        {"/readme", "", ""},
        {"/.exe", "exe", "exe"},
        {"/a.tar.gz", "gz", "gz"},
        {"/", "", ""},
        {"/setup.exe%3F", "exe%3F", "exe%3F"},
    };

    for (unsigned i = 0; i < sizeof(e) / sizeof(e[0]); i++) {
        for (unsigned flags = 0; flags <= URLPATH_NO_PARAMS; flags += URLPATH_NO_PARAMS) {
            const char *ext = NULL, *want = flags ? e[i].ext : e[i].written;
            size_t n = urlpath_extension(e[i].path, strlen(e[i].path), flags, &ext);
            ck_assert_msg(n == strlen(want) && (n == 0 || memcmp(ext, want, n) == 0),
                          "'%s' (%u): got '%.*s', want '%s'", e[i].path, flags, (int)n,
                          ext ? ext : "", want);
        }
    }
}
END_TEST

Suite *urlpath_suite(void)
{
    Suite *s = suite_create("urlpath");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, normal_forms);
    tcase_add_test(tc, reasons_and_room);
    tcase_add_test(tc, without_parameters);
    tcase_add_test(tc, extensions);
    suite_add_tcase(s, tc);
    return s;
}

/* check_anonymity.c — the forward anonymity module: the README prints
 * exactly the table of fields `standard` removes, and `strict` reads a
 * Referer's host the way a server does (user info, ports, IPv6 literals,
 * the spellings parsers disagree on). */
#include "anonymity.h"
#include "suites.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The backquoted names between the README's two markers, NULL-terminated
 * (malloc'd); the count in *n. */
static char **readme_fields(unsigned *n)
{
    FILE *f = fopen("README.md", "r");
    char line[4096], **out = calloc(256, sizeof(char *));
    int inside = 0;

    ck_assert_msg(f != NULL, "README.md not found (run from the source tree)");
    *n = 0;
    while (fgets(line, sizeof(line), f)) {
        if (strstr(line, "<!-- standard-fields:begin")) {
            inside = 1;
            continue;
        }
        if (strstr(line, "<!-- standard-fields:end"))
            break;
        for (char *p = line; inside && (p = strchr(p, '`'));) {
            char *e = strchr(p + 1, '`');
            ck_assert_ptr_nonnull(e);
            ck_assert_uint_lt(*n, 255);
            out[(*n)++] = strndup(p + 1, (size_t)(e - p - 1));
            p = e + 1;
        }
    }
    fclose(f);
    ck_assert_msg(inside, "README.md has no <!-- standard-fields:begin --> list");
    return out;
}

START_TEST(readme_lists_exactly_the_table)
{
    const char *const *t = anonymity_standard_fields();
    unsigned n, nt = 0;
    char **r = readme_fields(&n);

    for (; t[nt]; nt++) {
        unsigned i = 0;
        while (i < n && strcmp(r[i], t[nt]) != 0)
            i++;
        ck_assert_msg(i < n, "README.md does not list %s", t[nt]);
    }
    for (unsigned i = 0; i < n; i++) {
        unsigned k = 0;
        while (t[k] && strcmp(r[i], t[k]) != 0)
            k++;
        ck_assert_msg(t[k] != NULL, "README.md lists %s, which the table does not hold", r[i]);
        for (unsigned j = 0; j < i; j++)
            ck_assert_msg(strcmp(r[i], r[j]) != 0, "README.md lists %s twice", r[i]);
    }
    ck_assert_uint_eq(n, nt);
    ck_assert_uint_ge(nt, 30); /* the family, not a handful */
    for (unsigned i = 0; i < n; i++)
        free(r[i]);
    free(r);
}
END_TEST

static const struct {
    const char *referer, *host;
    int same;
} referers[] = {
    /* the same host, however it is spelled */
    {"http://www.example.org/page", "www.example.org", 1},
    {"https://www.example.org/", "www.example.org", 1},
    {"HTTP://WWW.Example.ORG./x?y#z", "www.example.org", 1},
    {"http://www.example.org", "www.example.org", 1},
    {"http://www.example.org:8080/x", "www.example.org", 1}, /* ports are not compared */
    {"http://www.example.org:/x", "www.example.org", 1},     /* an empty port is allowed */
    {"http://www.example.org?q=http://evil.example/", "www.example.org", 1},
    {"http://127.0.0.1:3128/", "127.0.0.1", 1},
    {"http://0x7f.1/", "127.0.0.1", 1}, /* the address a resolver reads */
    {"http://[::1]:8080/x", "::1", 1},
    {"http://[0:0::1]/", "[::1]", 1},
    /* user info: the host is after the '@', and such a Referer never goes */
    {"http://www.example.org:x@evil.example/", "www.example.org", 0},
    {"http://allowed:x@evil.example/", "allowed", 0},
    {"http://evil.example@www.example.org/", "www.example.org", 0},
    {"http://a@b@www.example.org/", "www.example.org", 0},
    /* read two ways by different parsers */
    {"http://www.example.org\\@evil.example/", "www.example.org", 0},
    {"http://evil.example\\.www.example.org/", "www.example.org", 0},
    {"http:/www.example.org/", "www.example.org", 0},
    {"http:www.example.org/", "www.example.org", 0},
    {"http:///www.example.org/", "www.example.org", 0},
    {"//www.example.org/x", "www.example.org", 0},
    {"/relative/path", "www.example.org", 0},
    {"www.example.org", "www.example.org", 0},
    {"ftp://www.example.org/", "www.example.org", 0},
    {"javascript://www.example.org/", "www.example.org", 0},
    {"http://www.example.org /x", "www.example.org", 0},
    {"http://www.example.org\t/", "www.example.org", 0},
    /* other hosts */
    {"http://evil.example/", "www.example.org", 0},
    {"http://www.example.org.evil.example/", "www.example.org", 0},
    {"http://evilwww.example.org/", "www.example.org", 0},
    {"http://example.org/", "www.example.org", 0},
    {"http://www.example.org../", "www.example.org", 0}, /* not a DNS name */
    {"http://www%2eexample.org/", "www.example.org", 0},
    {"http://[::2]/", "::1", 0},
    {"http://[::1/", "::1", 0},
    {"http://[127.0.0.1]/", "127.0.0.1", 0}, /* brackets hold IPv6 only */
    {"http://[::1]x/", "::1", 0},
    {"http://www.example.org:99999/", "www.example.org", 0},
    {"http://www.example.org:80:81/", "www.example.org", 0},
    {"http://www.example.org:8a/", "www.example.org", 0},
    {"http:///", "www.example.org", 0},
    {"http://", "www.example.org", 0},
    {"", "www.example.org", 0},
};

START_TEST(referer_read_as_a_server_does)
{
    const char *v = referers[_i].referer, *h = referers[_i].host;

    ck_assert_msg(anonymity_referer_same_host(v, strlen(v), h, strlen(h)) == referers[_i].same,
                  "Referer %s for host %s: expected %s", v, h,
                  referers[_i].same ? "same host" : "dropped");
}
END_TEST

Suite *anonymity_suite(void)
{
    Suite *s = suite_create("anonymity");
    TCase *tc = tcase_create("anonymity");

    tcase_add_test(tc, readme_lists_exactly_the_table);
    tcase_add_loop_test(tc, referer_read_as_a_server_does, 0,
                        (int)(sizeof(referers) / sizeof(referers[0])));
    suite_add_tcase(s, tc);
    return s;
}

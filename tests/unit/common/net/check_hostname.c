/* check_hostname.c — the normal form of host names: every spelling a
 * resolver treats as one host becomes one string, and what is not a name
 * is refused. */
#include "hostname.h"
#include "suites.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *in;
    const char *out; /* NULL: refused */
} cases[] = {
    {"blocked.example", "blocked.example"},
    {"Blocked.EXAMPLE", "blocked.example"},
    {"blocked.example.", "blocked.example"},
    {"blocked.example..", NULL},
    {".blocked.example", NULL},
    {"blocked..example", NULL},
    {"..", NULL},
    {".", NULL},
    {"", NULL},
    {"a_b.example", "a_b.example"},
    {"-a.example", "-a.example"},
    {"a~b.example", NULL},
    {"a b.example", NULL},
    {"a%62.example", NULL},
    {"localhost", "localhost"},
    {"127.0.0.1", "127.0.0.1"},
    {"0x7f.1", "127.0.0.1"},
    {"0x7f.0.0.1", "127.0.0.1"},
    {"2130706433", "127.0.0.1"},
    {"0177.0.0.1", "127.0.0.1"},
    {"127.0.0.1.", "127.0.0.1"},
    {"1.2.3.999", NULL},
    {"0.0.0.0", "0.0.0.0"},
    {"255.255.255.255", "255.255.255.255"},
    {"[10.20.30.40]", "10.20.30.40"},
    {"256.0.0.1", NULL},
    {"1.2.3.04", "1.2.3.4"},
    {"1.2.3.08", NULL},
    {"01.2.3.4", "1.2.3.4"},
    {"1.2.3.4567", NULL},
    {"1.2.3", "1.2.0.3"},
    {"1.2.3.", "1.2.0.3"},
    {"1..2.3", NULL},
    {"127.0.0.1 evil.example", NULL},
    {"127.0.0.1\tx", NULL},
    {"1.2.3.4.5", NULL},
    {"example.123", NULL},
    {"example1.com", "example1.com"},
    {"[::1]", "::1"},
    {"::1", "::1"},
    {"0:0:0:0:0:0:0:1", "::1"},
    {"2001:DB8::0:1", "2001:db8::1"},
    {"::ffff:127.0.0.1", "::ffff:127.0.0.1"},
    {"[fe80::1%eth0]", NULL},
    {"1:2:3", NULL},
};

START_TEST(normal_forms)
{
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[HOSTNAME_MAX];
        int n = hostname_normalize(cases[i].in, strlen(cases[i].in), out, sizeof(out));
        if (!cases[i].out) {
            ck_assert_msg(n == -1, "'%s' should be refused, got '%s'", cases[i].in, n >= 0 ? out : "");
            continue;
        }
        ck_assert_msg(n >= 0, "'%s' refused", cases[i].in);
        ck_assert_str_eq(out, cases[i].out);
        ck_assert_int_eq(n, (int)strlen(cases[i].out));
    }
}
END_TEST

/* Dotted quads: every address spelled as inet_ntop spells it is its own
 * normal form, the C library agreeing; the output's room is respected. */
START_TEST(dotted_quads)
{
    char in[32], want[INET_ADDRSTRLEN], out[HOSTNAME_MAX];
    struct in_addr a;
    uint32_t x = 12345u;

    for (int i = 0; i < 20000; i++) {
        x = x * 1103515245u + 12345u;
        a.s_addr = i < 256 ? htonl((uint32_t)i * 0x01010101u) : x;
        ck_assert_ptr_nonnull(inet_ntop(AF_INET, &a, want, sizeof(want)));
        snprintf(in, sizeof(in), "%s", want);
        ck_assert_int_eq(hostname_normalize(in, strlen(in), out, sizeof(out)), (int)strlen(want));
        ck_assert_str_eq(out, want);
    }
    ck_assert_int_eq(hostname_normalize("1.2.3.4", 7, out, 7), -1);
    ck_assert_int_eq(hostname_normalize("1.2.3.4", 7, out, 8), 7);
    ck_assert_str_eq(out, "1.2.3.4");
}
END_TEST

START_TEST(label_and_name_lengths)
{
    char name[300], out[HOSTNAME_MAX];

    memset(name, 'a', 63);
    memcpy(name + 63, ".example", 9);
    ck_assert_int_eq(hostname_normalize(name, strlen(name), out, sizeof(out)), 71);
    memset(name, 'a', 64);
    memcpy(name + 64, ".example", 9);
    ck_assert_int_eq(hostname_normalize(name, strlen(name), out, sizeof(out)), -1);
    /* 4 labels of 63 and the dots: 255 bytes, over 253 */
    for (int i = 0; i < 4; i++) {
        memset(name + i * 64, 'b', 63);
        name[i * 64 + 63] = '.';
    }
    name[255] = '\0';
    ck_assert_int_eq(hostname_normalize(name, 255, out, sizeof(out)), -1);
    /* 253 bytes is the longest name: 3 labels of 63, one of 61 */
    name[64 * 3 + 61] = '\0';
    ck_assert_int_eq(hostname_normalize(name, 253, out, sizeof(out)), 253);
    /* and a trailing dot after it is still the same name */
    name[253] = '.';
    ck_assert_int_eq(hostname_normalize(name, 254, out, sizeof(out)), 253);
    /* a buffer too small is a refusal, never an overflow */
    ck_assert_int_eq(hostname_normalize("abc.example", 11, out, 8), -1);
}
END_TEST

START_TEST(under_domains)
{
#define UNDER(h, d) hostname_under(h, strlen(h), d, strlen(d))
    ck_assert(UNDER("example.org", "example.org"));
    ck_assert(UNDER("a.example.org", "example.org"));
    ck_assert(UNDER("a.example.org", ".example.org"));
    ck_assert(UNDER("x.y.example.org", "example.org"));
    ck_assert(!UNDER("badexample.org", "example.org"));
    ck_assert(!UNDER("example.org", "a.example.org"));
    ck_assert(!UNDER("example.org", ""));
    ck_assert(UNDER("10.1.2.3", "10.1.2.3"));
    ck_assert(!UNDER("10.1.2.3", "2.3"));
    ck_assert(!UNDER("2001:db8::1", "db8::1"));
    ck_assert(UNDER("host1.example2", "example2"));
#undef UNDER
}
END_TEST

START_TEST(config_names)
{
    char *s = hostname_config(".Partner.Example.");
    ck_assert_str_eq(s, "partner.example");
    free(s);
    ck_assert_ptr_null(hostname_config("partner..example"));
    ck_assert_ptr_null(hostname_config(""));
    ck_assert_ptr_null(hostname_config(".."));
}
END_TEST

Suite *hostname_suite(void)
{
    Suite *s = suite_create("hostname");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, normal_forms);
    tcase_add_test(tc, dotted_quads);
    tcase_add_test(tc, label_and_name_lengths);
    tcase_add_test(tc, under_domains);
    tcase_add_test(tc, config_names);
    suite_add_tcase(s, tc);
    return s;
}

/* check_acl.c — tests of the CIDR address lists (acl.h).
 *
 * A table of (network, client address, expected match) covers both
 * families, the edges /0, /32 and /128, prefix lengths that end inside a
 * byte, bare addresses and IPv4-mapped IPv6 clients; each client is tried
 * just inside and just outside the prefix.  A second table holds networks
 * that must be refused, each with the message a user would read. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"

Suite *acl_suite(void);

/* The client address a listener would see, from its text.  Fails the test on
 * text that is not an address. */
static struct sockaddr_storage client(const char *text)
{
    struct sockaddr_storage ss;

    memset(&ss, 0, sizeof(ss));
    if (strchr(text, ':')) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(40000);
        ck_assert_msg(inet_pton(AF_INET6, text, &s6->sin6_addr) == 1, "bad test address %s", text);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(40000);
        ck_assert_msg(inet_pton(AF_INET, text, &s4->sin_addr) == 1, "bad test address %s", text);
    }
    return ss;
}

struct match_case {
    const char *net;
    const char *addr;
    int match;
};

static const struct match_case match_cases[] = {
    /* IPv4 on byte boundaries */
    {"10.0.0.0/8", "10.0.0.0", 1},
    {"10.0.0.0/8", "10.255.255.255", 1},
    {"10.0.0.0/8", "11.0.0.0", 0},
    {"10.0.0.0/8", "9.255.255.255", 0},
    {"192.168.0.0/16", "192.168.200.1", 1},
    {"192.168.0.0/16", "192.169.0.1", 0},
    {"198.51.100.0/24", "198.51.100.254", 1},
    {"198.51.100.0/24", "198.51.101.0", 0},
    /* /0 matches every address of its family, and only of its family */
    {"0.0.0.0/0", "0.0.0.0", 1},
    {"0.0.0.0/0", "255.255.255.255", 1},
    {"0.0.0.0/0", "2001:db8::1", 0},
    {"::/0", "2001:db8::1", 1},
    {"::/0", "::", 1},
    {"::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1},
    {"::/0", "203.0.113.9", 0},
    /* /32 and a bare IPv4 address are one host */
    {"192.0.2.7/32", "192.0.2.7", 1},
    {"192.0.2.7/32", "192.0.2.6", 0},
    {"192.0.2.7/32", "192.0.2.8", 0},
    {"192.0.2.7", "192.0.2.7", 1},
    {"192.0.2.7", "192.0.2.6", 0},
    {"192.0.2.7", "192.0.2.71", 0},
    {"127.0.0.1", "::1", 0},
    /* /128 and a bare IPv6 address are one host */
    {"2001:db8::1/128", "2001:db8::1", 1},
    {"2001:db8::1/128", "2001:db8::", 0},
    {"2001:db8::1/128", "2001:db8::2", 0},
    {"2001:db8::1/128", "3001:db8::1", 0},
    {"::1", "::1", 1},
    {"::1", "::", 0},
    {"::1", "127.0.0.1", 0},
    /* prefix lengths that end inside a byte */
    {"172.16.0.0/12", "172.16.0.0", 1},
    {"172.16.0.0/12", "172.31.255.255", 1},
    {"172.16.0.0/12", "172.32.0.0", 0},
    {"172.16.0.0/12", "172.15.255.255", 0},
    {"192.0.2.4/31", "192.0.2.5", 1},
    {"192.0.2.4/31", "192.0.2.6", 0},
    {"192.0.2.4/31", "192.0.2.3", 0},
    {"128.0.0.0/1", "200.1.1.1", 1},
    {"128.0.0.0/1", "127.255.255.255", 0},
    {"fc00::/7", "fc00::1", 1},
    {"fc00::/7", "fdff:ffff::1", 1},
    {"fc00::/7", "fe00::1", 0},
    {"fc00::/7", "fbff::1", 0},
    {"fe80::/10", "febf::1", 1},
    {"fe80::/10", "fec0::1", 0},
    {"2001:db8::/33", "2001:db8:7fff:ffff::1", 1},
    {"2001:db8::/33", "2001:db8:8000::", 0},
    {"2001:db8::/127", "2001:db8::1", 1},
    {"2001:db8::/127", "2001:db8::2", 0},
    /* host bits set in the network are ignored: the prefix is what counts */
    {"10.1.2.3/8", "10.200.0.1", 1},
    {"10.1.2.3/8", "11.1.2.3", 0},
    {"2001:db8::ffff/32", "2001:db8:1::", 1},
    /* an IPv4-mapped IPv6 client is matched as its IPv4 address */
    {"10.0.0.0/8", "::ffff:10.1.2.3", 1},
    {"10.0.0.0/8", "::ffff:11.1.2.3", 0},
    {"172.16.0.0/12", "::ffff:172.31.0.1", 1},
    {"172.16.0.0/12", "::ffff:172.32.0.1", 0},
    {"127.0.0.1", "::ffff:127.0.0.1", 1},
    {"0.0.0.0/0", "::ffff:1.2.3.4", 1},
    /* ...and not as IPv6: an IPv4-compatible (not mapped) address is not mapped */
    {"10.0.0.0/8", "::10.1.2.3", 0},
};

START_TEST(test_match_table)
{
    const struct match_case *c = &match_cases[_i];
    struct acl *a = acl_new();
    struct sockaddr_storage ss = client(c->addr);
    char err[256] = "";

    ck_assert_msg(acl_add(a, c->net, err, sizeof(err)) == 0, "%s refused: %s", c->net, err);
    ck_assert_uint_eq(acl_count(a), 1);
    ck_assert_msg(acl_match(a, &ss) == c->match, "%s against %s: got %d, want %d", c->addr, c->net,
                  !c->match, c->match);
    acl_free(a);
}
END_TEST

START_TEST(test_empty_matches_nothing)
{
    struct acl *a = acl_new();
    struct sockaddr_storage v4 = client("127.0.0.1"), v6 = client("::1");

    ck_assert_uint_eq(acl_count(a), 0);
    ck_assert_int_eq(acl_match(a, &v4), 0);
    ck_assert_int_eq(acl_match(a, &v6), 0);
    acl_free(a);
    acl_free(NULL);
}
END_TEST

/* Several prefixes of both families, more than the first allocation holds:
 * a client in any of them matches, one in none does not. */
START_TEST(test_many_prefixes)
{
    struct acl *a = acl_new();
    char net[64], err[256];
    struct sockaddr_storage ss;

    for (int i = 0; i < 20; i++) {
        snprintf(net, sizeof(net), "10.%d.0.0/16", i);
        ck_assert_int_eq(acl_add(a, net, err, sizeof(err)), 0);
        snprintf(net, sizeof(net), "2001:db8:%x::/48", i);
        ck_assert_int_eq(acl_add(a, net, err, sizeof(err)), 0);
    }
    ck_assert_uint_eq(acl_count(a), 40);
    ss = client("10.0.1.1");
    ck_assert_int_eq(acl_match(a, &ss), 1);
    ss = client("10.19.255.255");
    ck_assert_int_eq(acl_match(a, &ss), 1);
    ss = client("10.20.0.1");
    ck_assert_int_eq(acl_match(a, &ss), 0);
    ss = client("2001:db8:13::1");
    ck_assert_int_eq(acl_match(a, &ss), 1);
    ss = client("2001:db8:14::1");
    ck_assert_int_eq(acl_match(a, &ss), 0);
    ss = client("::ffff:10.7.0.1");
    ck_assert_int_eq(acl_match(a, &ss), 1);
    acl_free(a);
}
END_TEST

/* Inputs a user might write that are not networks. */
static const char *const bad_nets[] = {
    "",                /* empty */
    "10.0.0.0/33",     /* longer than an IPv4 address */
    "::/129",          /* longer than an IPv6 address */
    "10.0.0.0/abc",    /* not a number */
    "10.0.0.0/8x",     /* trailing garbage */
    "10.0.0.0/",       /* no length after the slash */
    "10.0.0.0/-1",     /* negative */
    "10.0.0.0/8/8",    /* two slashes */
    "/8",              /* no address */
    "10.0.0",          /* short address */
    "256.0.0.1",       /* octet out of range */
    "10.0.0.0 /8",     /* space before the slash */
    "localhost",       /* a name, not an address */
    "2001:db8::g/32",  /* not hex */
    "2001:db8:::1/64", /* three colons */
    "fe80::1%eth0",    /* a zone is not part of a network */
    "1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18.19.20.21.22.23.24/8", /* too long */
};

START_TEST(test_bad_input)
{
    const char *net = bad_nets[_i];
    struct acl *a = acl_new();
    char err[256] = "", want[200];

    ck_assert_msg(acl_add(a, net, err, sizeof(err)) == -1, "'%s' accepted", net);
    ck_assert_uint_eq(acl_count(a), 0);
    snprintf(want, sizeof(want), "bad network '%s'", net);
    ck_assert_msg(strstr(err, want) != NULL, "'%s': message \"%s\"", net, err);
    ck_assert_msg(strstr(err, "address/prefix-length") != NULL, "'%s': message \"%s\"", net, err);
    acl_free(a);
}
END_TEST

/* A refused entry leaves the list as it was. */
START_TEST(test_bad_input_keeps_list)
{
    struct acl *a = acl_new();
    struct sockaddr_storage ss = client("10.1.1.1");
    char err[256];

    ck_assert_int_eq(acl_add(a, "10.0.0.0/8", err, sizeof(err)), 0);
    ck_assert_int_eq(acl_add(a, "0.0.0.0/99", err, sizeof(err)), -1);
    ck_assert_uint_eq(acl_count(a), 1);
    ck_assert_int_eq(acl_match(a, &ss), 1);
    ss = client("1.1.1.1");
    ck_assert_int_eq(acl_match(a, &ss), 0);
    acl_free(a);
}
END_TEST

/* A short error buffer gets a terminated, truncated message. */
START_TEST(test_short_err_buffer)
{
    struct acl *a = acl_new();
    char err[12];

    memset(err, 'z', sizeof(err));
    ck_assert_int_eq(acl_add(a, "nonsense", err, sizeof(err)), -1);
    ck_assert_uint_eq(strlen(err), sizeof(err) - 1);
    ck_assert_str_eq(err, "bad network");
    acl_free(a);
}
END_TEST

/* BUG (acl.c, acl_add): the prefix length is read with strtoul, which skips
 * leading white space and takes a sign, so "10.0.0.0/ 8" and "10.0.0.0/+8"
 * are accepted as /8 and "10.0.0.0/-0" as /0 (every IPv4 address).  Expected:
 * refused like "10.0.0.0/abc".  Not added to the suite while it fails. */
START_TEST(test_length_must_be_digits)
{
    static const char *const nets[] = {"10.0.0.0/ 8", "10.0.0.0/+8", "10.0.0.0/-0"};
    char err[256];

    for (size_t i = 0; i < sizeof(nets) / sizeof(nets[0]); i++) {
        struct acl *a = acl_new();
        ck_assert_msg(acl_add(a, nets[i], err, sizeof(err)) == -1, "'%s' accepted", nets[i]);
        acl_free(a);
    }
}
END_TEST

Suite *acl_suite(void)
{
    Suite *s = suite_create("acl");
    TCase *tc = tcase_create("match");

    tcase_add_loop_test(tc, test_match_table, 0,
                        (int)(sizeof(match_cases) / sizeof(match_cases[0])));
    tcase_add_test(tc, test_empty_matches_nothing);
    tcase_add_test(tc, test_many_prefixes);
    suite_add_tcase(s, tc);

    tc = tcase_create("parse");
    tcase_add_loop_test(tc, test_bad_input, 0, (int)(sizeof(bad_nets) / sizeof(bad_nets[0])));
    tcase_add_test(tc, test_bad_input_keeps_list);
    tcase_add_test(tc, test_short_err_buffer);
    tcase_add_test(tc, test_length_must_be_digits);
    suite_add_tcase(s, tc);
    return s;
}

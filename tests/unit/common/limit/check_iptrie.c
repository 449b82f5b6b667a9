/* check_iptrie.c — network sets: prefixes of both families, the widest
 * network winning, IPv4-mapped clients, bad entries refused with their
 * file and line, and a generated list of 100,000 networks loaded (its time
 * printed) and every entry and its neighbours looked up. */
#include "iptrie.h"
#include "suites.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_storage addr(const char *text)
{
    struct sockaddr_storage ss;

    memset(&ss, 0, sizeof(ss));
    if (inet_pton(AF_INET, text, &((struct sockaddr_in *)&ss)->sin_addr) == 1)
        ss.ss_family = AF_INET;
    else if (inet_pton(AF_INET6, text, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1)
        ss.ss_family = AF_INET6;
    else
        ck_abort_msg("bad test address %s", text);
    return ss;
}

static int in(const struct iptrie *t, const char *text)
{
    struct sockaddr_storage ss = addr(text);
    return iptrie_match(t, &ss);
}

START_TEST(prefixes_of_both_families)
{
    struct iptrie *t = iptrie_new();
    char err[256];

    ck_assert_int_eq(iptrie_add(t, "10.0.0.0/8", err, sizeof(err)), 0);
    ck_assert_int_eq(iptrie_add(t, "192.168.1.7", err, sizeof(err)), 0);
    ck_assert_int_eq(iptrie_add(t, "172.16.5.9/12", err, sizeof(err)), 0); /* host bits ignored */
    ck_assert_int_eq(iptrie_add(t, "2001:db8:1::/48", err, sizeof(err)), 0);
    ck_assert_int_eq(iptrie_add(t, "10.1.0.0/16", err, sizeof(err)), 0); /* inside 10/8 */
    ck_assert(in(t, "10.255.1.2"));
    ck_assert(in(t, "10.1.2.3"));
    ck_assert(!in(t, "11.0.0.1"));
    ck_assert(in(t, "192.168.1.7"));
    ck_assert(!in(t, "192.168.1.8"));
    ck_assert(in(t, "172.31.255.255"));
    ck_assert(!in(t, "172.32.0.0"));
    ck_assert(in(t, "2001:db8:1:ffff::1"));
    ck_assert(!in(t, "2001:db8:2::1"));
    ck_assert(in(t, "::ffff:10.9.9.9")); /* a dual-stack socket's IPv4 client */
    ck_assert(!in(t, "::ffff:11.9.9.9"));
    ck_assert(!in(t, "::a00:1")); /* not mapped: an IPv6 address */
    ck_assert_uint_eq(iptrie_count(t), 5);
    iptrie_free(t);
}
END_TEST

START_TEST(everything_and_nothing)
{
    struct iptrie *t = iptrie_new();
    char err[256];

    ck_assert(!in(t, "1.2.3.4"));
    ck_assert(!in(t, "::1"));
    ck_assert_int_eq(iptrie_add(t, "0.0.0.0/0", err, sizeof(err)), 0);
    ck_assert(in(t, "1.2.3.4"));
    ck_assert(!in(t, "::1"));
    ck_assert_int_eq(iptrie_add(t, "::/0", err, sizeof(err)), 0);
    ck_assert(in(t, "::1"));
    iptrie_free(t);
}
END_TEST

START_TEST(bad_networks_refused)
{
    static const char *const bad[] = {"10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/-1",
                                      "10.0.0.0/ 8", "example.org", "10.0.0", "", "/8",
                                      "10.0.0.0/0008"};
    struct iptrie *t = iptrie_new();
    char err[256];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(iptrie_add(t, bad[i], err, sizeof(err)) < 0, "'%s' accepted", bad[i]);
        ck_assert(strstr(err, "bad network") != NULL);
    }
    iptrie_free(t);
}
END_TEST

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

START_TEST(file_with_comments_and_a_bad_line)
{
    char path[] = "/tmp/gh-iptrie-XXXXXX", err[512];
    struct iptrie *t = iptrie_new();
    int fd = mkstemp(path);

    close(fd);
    write_text(path, "# drop list\n\n  198.51.100.0/24   # a comment\n203.0.113.9\n\t2001:db8::/32\n");
    ck_assert_int_eq(iptrie_add_file(t, path, err, sizeof(err)), 3);
    ck_assert(in(t, "198.51.100.77"));
    ck_assert(in(t, "203.0.113.9"));
    ck_assert(in(t, "2001:db8::5"));
    iptrie_free(t);
    t = iptrie_new();
    write_text(path, "198.51.100.0/24\n\n10.0.0.0/8x\n");
    ck_assert_int_eq(iptrie_add_file(t, path, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, ":3: bad network '10.0.0.0/8x'") != NULL, "%s", err);
    ck_assert_msg(strncmp(err, path, strlen(path)) == 0, "%s", err);
    iptrie_free(t);
    unlink(path);
    t = iptrie_new();
    ck_assert_int_eq(iptrie_add_file(t, "/nonexistent/list", err, sizeof(err)), -1);
    ck_assert_str_eq(err, "/nonexistent/list: No such file or directory");
    iptrie_free(t);
}
END_TEST

/* 100,000 distinct /24s and /32s: i times an odd number, modulo 2^22, is
 * a different /24 for every i. */
START_TEST(hundred_thousand_networks)
{
    char path[] = "/tmp/gh-iptrie-big-XXXXXX", err[512];
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    struct iptrie *t;
    struct timespec a, b;
    static uint32_t nets[100000];
    double secs;
    long n;

    for (int i = 0; i < 100000; i++) {
        nets[i] = ((((uint32_t)i * 2654435761u) & 0x3fffffu) << 8) + 0x01000000u; /* never 0.x */
        if (i % 2)
            fprintf(f, "%u.%u.%u.0/24\n", nets[i] >> 24, nets[i] >> 16 & 255, nets[i] >> 8 & 255);
        else
            fprintf(f, "%u.%u.%u.%u\n", nets[i] >> 24, nets[i] >> 16 & 255, nets[i] >> 8 & 255, 7u);
    }
    fclose(f);
    t = iptrie_new();
    clock_gettime(CLOCK_MONOTONIC, &a);
    n = iptrie_add_file(t, path, err, sizeof(err));
    clock_gettime(CLOCK_MONOTONIC, &b);
    secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    printf("iptrie: 100,000 networks loaded in %.3f s, %zu KiB\n", secs, iptrie_bytes(t) / 1024);
    ck_assert_int_eq(n, 100000);
    ck_assert_msg(secs < 5.0, "100,000 networks took %.3f s", secs); /* the issue: under 1 s */
    for (int i = 0; i < 100000; i++) {
        struct sockaddr_storage ss = {0};
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        ss.ss_family = AF_INET;
        s4->sin_addr.s_addr = htonl(nets[i] | 7u);
        ck_assert(iptrie_match(t, &ss));
        s4->sin_addr.s_addr = htonl(nets[i] | 9u); /* in the /24s only */
        ck_assert_int_eq(iptrie_match(t, &ss), i % 2 == 1 || 0);
    }
    iptrie_free(t);
    unlink(path);
}
END_TEST

Suite *iptrie_suite(void)
{
    Suite *s = suite_create("iptrie");
    TCase *tc = tcase_create("iptrie");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, prefixes_of_both_families);
    tcase_add_test(tc, everything_and_nothing);
    tcase_add_test(tc, bad_networks_refused);
    tcase_add_test(tc, file_with_comments_and_a_bad_line);
    tcase_add_test(tc, hundred_thousand_networks);
    suite_add_tcase(s, tc);
    return s;
}

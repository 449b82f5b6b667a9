/* check_intercept.c — an intercepted connection's original destination:
 * read back from a real socket (no redirect: the socket's own address),
 * addresses compared across families, written as text, and our own
 * connection told from another's by the kernel (sock_diag). */
#include "intercept.h"
#include "suites.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct sockaddr_storage v4(const char *ip, unsigned port)
{
    struct sockaddr_storage ss;
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;

    memset(&ss, 0, sizeof(ss));
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, ip, &a->sin_addr);
    return ss;
}

static struct sockaddr_storage v6(const char *ip, unsigned port)
{
    struct sockaddr_storage ss;
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

    memset(&ss, 0, sizeof(ss));
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    inet_pton(AF_INET6, ip, &a->sin6_addr);
    return ss;
}

START_TEST(addresses_compare_across_families)
{
    struct sockaddr_storage a = v4("198.51.100.10", 80), b = v6("::ffff:198.51.100.10", 443),
                            c = v4("198.51.100.11", 80), d = v6("2001:db8::1", 80),
                            e = v6("2001:db8::1", 8080);
    char t[64];

    ck_assert(intercept_same_ip(&a, &b));
    ck_assert(intercept_same_ip(&b, &a));
    ck_assert(!intercept_same_ip(&a, &c));
    ck_assert(!intercept_same_ip(&a, &d));
    ck_assert(intercept_same_ip(&d, &e));
    ck_assert(!intercept_same(&d, &e));
    ck_assert(intercept_same(&a, &a));
    ck_assert(!intercept_same(&a, &b)); /* the ports differ */
    ck_assert_uint_eq(intercept_port(&e), 8080);
    intercept_ip_text(&b, t, sizeof(t));
    ck_assert_str_eq(t, "198.51.100.10");
    intercept_ip_text(&d, t, sizeof(t));
    ck_assert_str_eq(t, "2001:db8::1");
}
END_TEST

/* A connection nobody redirected: its original destination is where it
 * went, the listening address; and its client is this process's own
 * socket, which sock_diag tells (our user), while a made-up client is not. */
START_TEST(a_connection_without_redirect)
{
    struct sockaddr_storage l = v4("127.0.0.1", 0), orig, peer, other;
    socklen_t len = sizeof(l);
    int lfd = socket(AF_INET, SOCK_STREAM, 0), cfd = socket(AF_INET, SOCK_STREAM, 0), afd;

    ck_assert_int_eq(bind(lfd, (struct sockaddr *)&l, sizeof(struct sockaddr_in)), 0);
    ck_assert_int_eq(listen(lfd, 1), 0);
    ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&l, &len), 0);
    ck_assert_int_eq(connect(cfd, (struct sockaddr *)&l, sizeof(struct sockaddr_in)), 0);
    len = sizeof(peer);
    afd = accept(lfd, (struct sockaddr *)&peer, &len);
    ck_assert_int_ge(afd, 0);
    ck_assert_int_eq(intercept_original_dst(afd, &orig), 0);
    ck_assert(intercept_same(&orig, &l));
    ck_assert_int_eq(intercept_is_own(&peer, &orig), 1);
    other = v4("127.0.0.1", intercept_port(&peer) ^ 1);
    ck_assert_int_eq(intercept_is_own(&other, &orig), 0);
    close(afd);
    close(cfd);
    close(lfd);
}
END_TEST

Suite *intercept_suite(void)
{
    Suite *s = suite_create("intercept");
    TCase *tc = tcase_create("intercept");

    tcase_add_test(tc, addresses_compare_across_families);
    tcase_add_test(tc, a_connection_without_redirect);
    suite_add_tcase(s, tc);
    return s;
}

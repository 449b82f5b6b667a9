/* fuzz_proxyproto.c — libFuzzer target: the PROXY protocol parser.  Besides
 * memory safety, it checks the incremental contract (a prefix of a header
 * asks for more, an error in a prefix stays an error, a header found in a
 * prefix is the same header in the whole) and that what the parser accepts
 * survives a write and a second parse in both versions. */
#include "proxyproto.h"

#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

/* Same family, address and port. */
static int same(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return 0;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        return x->sin_port == y->sin_port && memcmp(&x->sin_addr, &y->sin_addr, 4) == 0;
    }
    if (a->ss_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
        return x->sin6_port == y->sin6_port && memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
    }
    return 0;
}

/* Parses data[0..cut) and holds the answer to the one for the whole. */
static void check_prefix(const char *buf, size_t cut, int rc, const struct sockaddr_storage *s,
                         const struct sockaddr_storage *d, int local)
{
    struct sockaddr_storage ps, pd;
    int plocal = -1, prc = proxyproto_parse(buf, cut, &ps, &pd, &plocal);

    if (prc < -1 || prc > (int)cut)
        abort();
    if (prc == -1 && rc != -1)
        abort(); /* an error in a prefix stays an error */
    if (prc > 0 && (prc != rc || plocal != local || (!local && (!same(&ps, s) || !same(&pd, d)))))
        abort(); /* a header found in a prefix is the header of the whole */
    if (rc > 0 && cut < (size_t)rc && prc != 0)
        abort(); /* a header's proper prefixes ask for more */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    const char *buf = (const char *)data;
    struct sockaddr_storage s, d, s2, d2;
    char out[PROXYPROTO_WRITE_MAX];
    int local = -1, local2, rc = proxyproto_parse(buf, len, &s, &d, &local);

    if (rc < -1 || rc > (int)len || rc > PROXYPROTO_MAX)
        abort();
    if (len > 0) {
        check_prefix(buf, len / 2, rc, &s, &d, local);
        check_prefix(buf, len - 1, rc, &s, &d, local);
        check_prefix(buf, data[0] % len, rc, &s, &d, local);
    }
    if (rc > 0) {
        check_prefix(buf, (size_t)rc - 1, rc, &s, &d, local);
        if (local != 0 && local != 1)
            abort();
    }
    if (rc <= 0 || local)
        return 0;
    if ((s.ss_family != AF_INET && s.ss_family != AF_INET6) || s.ss_family != d.ss_family)
        abort();
    for (int v = 1; v <= 2; v++) {
        size_t n = proxyproto_write(v, &s, &d, out, sizeof(out));
        if (n == 0 || proxyproto_parse(out, n, &s2, &d2, &local2) != (int)n || local2 != 0)
            abort();
        /* an IPv4-mapped pair comes back as IPv4: compare through a rewrite */
        if (!(same(&s, &s2) && same(&d, &d2))) {
            char again[PROXYPROTO_WRITE_MAX];
            size_t m = proxyproto_write(v, &s2, &d2, again, sizeof(again));
            if (m != n || memcmp(out, again, n) != 0)
                abort();
        }
    }
    return 0;
}

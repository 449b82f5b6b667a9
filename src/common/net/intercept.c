/* intercept.c — the original destination of a redirected connection (see
 * intercept.h).  The socket options are Linux netfilter's, whose headers
 * do not mix with glibc's: their values are written out here. */
#include "intercept.h"
#include "util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80 /* linux/netfilter_ipv4.h, at SOL_IP */
#endif
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80 /* linux/netfilter_ipv6/ip6_tables.h, at SOL_IPV6 */
#endif
#ifndef IP_TRANSPARENT
#define IP_TRANSPARENT 19
#endif
#ifndef IPV6_TRANSPARENT
#define IPV6_TRANSPARENT 75
#endif

int intercept_original_dst(int fd, struct sockaddr_storage *out)
{
    socklen_t len = sizeof(*out);

    memset(out, 0, sizeof(*out));
    if (getsockname(fd, (struct sockaddr *)out, &len) < 0)
        return -1;
    if (out->ss_family == AF_INET) {
        struct sockaddr_in o;
        len = sizeof(o);
        if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &o, &len) == 0 && o.sin_family == AF_INET)
            memcpy(out, &o, sizeof(o));
    } else if (out->ss_family == AF_INET6) {
        struct sockaddr_in6 o;
        len = sizeof(o);
        if (getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &o, &len) == 0 &&
            o.sin6_family == AF_INET6)
            memcpy(out, &o, sizeof(o));
    }
    return 0;
}

/* The IPv4 address inside a (an AF_INET one, or IPv4-mapped IPv6), or 0
 * with *v4 unset. */
static int as_v4(const struct sockaddr_storage *a, struct in_addr *v4)
{
    if (a->ss_family == AF_INET) {
        *v4 = ((const struct sockaddr_in *)a)->sin_addr;
        return 1;
    }
    if (a->ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)a)->sin6_addr)) {
        memcpy(v4, ((const struct sockaddr_in6 *)a)->sin6_addr.s6_addr + 12, 4);
        return 1;
    }
    return 0;
}

int intercept_same_ip(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    struct in_addr x, y;
    int ax = as_v4(a, &x), bx = as_v4(b, &y);

    if (ax || bx)
        return ax && bx && x.s_addr == y.s_addr;
    return a->ss_family == AF_INET6 && b->ss_family == AF_INET6 &&
           memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                  &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr)) == 0;
}

unsigned intercept_port(const struct sockaddr_storage *a)
{
    if (a->ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)a)->sin_port);
    if (a->ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)a)->sin6_port);
    return 0;
}

int intercept_same(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    return intercept_same_ip(a, b) && intercept_port(a) == intercept_port(b);
}

void intercept_ip_text(const struct sockaddr_storage *a, char *dst, size_t cap)
{
    struct in_addr v4;

    if (as_v4(a, &v4)) {
        if (!inet_ntop(AF_INET, &v4, dst, (socklen_t)cap))
            gh_fmt(dst, cap, "-");
    } else if (a->ss_family != AF_INET6 ||
               !inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)a)->sin6_addr, dst,
                          (socklen_t)cap)) {
        gh_fmt(dst, cap, "-");
    }
}

int intercept_allow_foreign(int fd, int family)
{
    int one = 1;

    if (family == AF_INET6)
        return setsockopt(fd, SOL_IPV6, IPV6_TRANSPARENT, &one, sizeof(one));
    return setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof(one));
}

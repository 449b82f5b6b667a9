/* intercept.c — the original destination of a redirected connection (see
 * intercept.h).  The socket options are Linux netfilter's, whose headers
 * do not mix with glibc's: their values are written out here. */
#include "intercept.h"
#include "util.h"

#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

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

/* Copies a's address and port into a sock_diag socket id (network order). */
static void diag_end(const struct sockaddr_storage *a, __be32 addr[4], __be16 *port)
{
    if (a->ss_family == AF_INET6) {
        memcpy(addr, &((const struct sockaddr_in6 *)a)->sin6_addr, 16);
        *port = ((const struct sockaddr_in6 *)a)->sin6_port;
    } else {
        addr[0] = ((const struct sockaddr_in *)a)->sin_addr.s_addr;
        *port = ((const struct sockaddr_in *)a)->sin_port;
    }
}

int intercept_is_own(const struct sockaddr_storage *peer, const struct sockaddr_storage *dst)
{
    struct {
        struct nlmsghdr nlh;
        struct inet_diag_req_v2 r;
    } req;
    union {
        struct nlmsghdr nlh;
        char raw[1024];
    } ans;
    struct timeval tv = {.tv_sec = 0, .tv_usec = 100000};
    const struct inet_diag_msg *m;
    int fd, own = 0;
    ssize_t n;

    if (peer->ss_family != dst->ss_family)
        return 0;
    memset(&req, 0, sizeof(req));
    req.nlh.nlmsg_len = sizeof(req);
    req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    req.nlh.nlmsg_flags = NLM_F_REQUEST; /* one socket, by its exact ends */
    req.r.sdiag_family = (__u8)peer->ss_family;
    req.r.sdiag_protocol = IPPROTO_TCP;
    req.r.idiag_states = ~0u;
    req.r.id.idiag_cookie[0] = req.r.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
    diag_end(peer, req.r.id.idiag_src, &req.r.id.idiag_sport);
    diag_end(dst, req.r.id.idiag_dst, &req.r.id.idiag_dport);
    fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd < 0)
        return 0;
    /* the kernel answers at once; the timeout only bounds the unexpected */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (send(fd, &req, sizeof(req), 0) == (ssize_t)sizeof(req) &&
        (n = recv(fd, &ans, sizeof(ans), 0)) >= (ssize_t)NLMSG_LENGTH(sizeof(*m)) &&
        ans.nlh.nlmsg_type == SOCK_DIAG_BY_FAMILY) {
        m = NLMSG_DATA(&ans.nlh);
        own = m->idiag_uid == (unsigned)geteuid();
    }
    close(fd);
    return own;
}

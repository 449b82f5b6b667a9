/* acl.c — CIDR prefix lists (see acl.h).  A list is small and scanned in
 * order; the big lists of the filtering issue use their own index. */
#include "acl.h"
#include "util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>

struct prefix {
    int family;          /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    unsigned bits;
};

struct acl {
    struct prefix *p;
    unsigned n, cap;
};

struct acl *acl_new(void)
{
    return xcalloc(1, sizeof(struct acl));
}

void acl_free(struct acl *a)
{
    if (!a)
        return;
    free(a->p);
    free(a);
}

unsigned acl_count(const struct acl *a)
{
    return a->n;
}

int acl_add(struct acl *a, const char *cidr, char *err, size_t errlen)
{
    char host[64];
    const char *slash = strchr(cidr, '/');
    size_t hl = slash ? (size_t)(slash - cidr) : strlen(cidr);
    struct prefix p = {0};
    unsigned max;
    char *end;

    if (hl >= sizeof(host))
        goto bad;
    memcpy(host, cidr, hl);
    host[hl] = '\0';
    if (inet_pton(AF_INET, host, p.addr) == 1) {
        p.family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, host, p.addr) == 1) {
        p.family = AF_INET6;
        max = 128;
    } else {
        goto bad;
    }
    p.bits = max;
    if (slash) {
        unsigned long b;
        for (const char *d = slash + 1; *d; d++)
            if (*d < '0' || *d > '9')
                goto bad; /* digits only: "/-0" must not mean "/0" */
        b = strtoul(slash + 1, &end, 10);
        if (*end || end == slash + 1 || b > max)
            goto bad;
        p.bits = (unsigned)b;
    }
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 8;
        a->p = xrealloc(a->p, a->cap * sizeof(*a->p));
    }
    a->p[a->n++] = p;
    return 0;
bad:
    gh_fmt(err, errlen, "bad network '%s' (want an address or address/prefix-length)", cidr);
    return -1;
}

static int prefix_eq(const unsigned char *a, const unsigned char *b, unsigned bits)
{
    unsigned bytes = bits / 8, rest = bits % 8;

    if (memcmp(a, b, bytes) != 0)
        return 0;
    if (rest == 0)
        return 1;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (a[bytes] & mask) == (b[bytes] & mask);
}

int acl_match(const struct acl *a, const struct sockaddr_storage *ss)
{
    const unsigned char *addr;
    int family = ss->ss_family;

    if (family == AF_INET) {
        addr = (const unsigned char *)&((const struct sockaddr_in *)ss)->sin_addr;
    } else {
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *)ss)->sin6_addr;
        addr = a6->s6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a6)) {
            family = AF_INET;
            addr += 12;
        }
    }
    for (unsigned i = 0; i < a->n; i++)
        if (a->p[i].family == family && prefix_eq(addr, a->p[i].addr, a->p[i].bits))
            return 1;
    return 0;
}

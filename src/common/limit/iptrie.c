/* iptrie.c — network sets as binary tries (see iptrie.h).  Owns the node
 * array; nodes are indices into it, so it can grow while it is built.  A
 * network is a path of its prefix's bits from its family's root to a node
 * marked as an end: a lookup walks the address's bits and stops at the
 * first end it meets (the address is in that network) or at a missing
 * branch (in none). */
#include "iptrie.h"
#include "log.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>

#define ROOT4 0u
#define ROOT6 1u

/* 8 bytes: child[0]'s top bit says a network ends here (everything below
 * is in the set); the rest are the children's indices, 0 for none (node 0
 * is a root, never a child). */
struct node {
    uint32_t child[2];
};
#define END 0x80000000u
#define INDEX(c) ((c) & ~END)

struct iptrie {
    struct node *n;
    uint32_t used, cap;
    size_t count;
};

struct iptrie *iptrie_new(void)
{
    struct iptrie *t = xcalloc(1, sizeof(*t));

    t->cap = 64;
    t->n = xcalloc(t->cap, sizeof(*t->n));
    t->used = 2; /* the IPv4 and IPv6 roots */
    return t;
}

void iptrie_free(struct iptrie *t)
{
    if (!t)
        return;
    free(t->n);
    free(t);
}

size_t iptrie_count(const struct iptrie *t)
{
    return t->count;
}

size_t iptrie_bytes(const struct iptrie *t)
{
    return sizeof(*t) + (size_t)t->cap * sizeof(*t->n);
}

static int bit(const unsigned char *a, unsigned i)
{
    return (a[i / 8] >> (7 - i % 8)) & 1;
}

static uint32_t new_node(struct iptrie *t)
{
    if (t->used == t->cap) {
        if (t->cap >= END / 2)
            log_fatal("a network list outgrew its trie (2^31 nodes)");
        t->cap *= 2;
        t->n = xrealloc(t->n, (size_t)t->cap * sizeof(*t->n));
        memset(t->n + t->used, 0, (size_t)(t->cap - t->used) * sizeof(*t->n));
    }
    return t->used++;
}

static void insert(struct iptrie *t, uint32_t root, const unsigned char *a, unsigned bits)
{
    uint32_t at = root;

    for (unsigned i = 0; i < bits; i++) {
        int b;
        if (t->n[at].child[0] & END)
            return; /* a wider network holds it already */
        b = bit(a, i);
        if (!INDEX(t->n[at].child[b])) {
            uint32_t c = new_node(t);
            t->n[at].child[b] |= c;
        }
        at = INDEX(t->n[at].child[b]);
    }
    t->n[at].child[0] |= END;
}

/* Parses "addr" or "addr/len" (len digits only) into a, *bits and *v6. */
static int parse(const char *cidr, unsigned char a[16], unsigned *bits, int *v6)
{
    char host[64];
    const char *slash = strchr(cidr, '/');
    size_t hl = slash ? (size_t)(slash - cidr) : strlen(cidr);
    unsigned max;

    if (hl == 0 || hl >= sizeof(host))
        return -1;
    memcpy(host, cidr, hl);
    host[hl] = '\0';
    memset(a, 0, 16);
    if (inet_pton(AF_INET, host, a) == 1)
        *v6 = 0, max = 32;
    else if (inet_pton(AF_INET6, host, a) == 1)
        *v6 = 1, max = 128;
    else
        return -1;
    *bits = max;
    if (slash) {
        const char *d = slash + 1;
        unsigned long b = 0;
        if (!*d || strlen(d) > 3)
            return -1;
        for (; *d; d++) {
            if (*d < '0' || *d > '9')
                return -1;
            b = b * 10 + (unsigned long)(*d - '0');
        }
        if (b > max)
            return -1;
        *bits = (unsigned)b;
    }
    return 0;
}

int iptrie_add(struct iptrie *t, const char *cidr, char *err, size_t errlen)
{
    unsigned char a[16];
    unsigned bits;
    int v6;

    if (parse(cidr, a, &bits, &v6) < 0) {
        gh_fmt(err, errlen, "bad network '%s' (want an address or address/prefix-length)", cidr);
        return -1;
    }
    insert(t, v6 ? ROOT6 : ROOT4, a, bits);
    t->count++;
    return 0;
}

/* The network on a line, trimmed, without its comment; "" for none. */
static char *trim(char *line)
{
    char *s = line, *e;

    line[strcspn(line, "#\r\n")] = '\0';
    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
        *--e = '\0';
    return s;
}

long iptrie_add_file(struct iptrie *t, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    char line[512], msg[160];
    long lineno = 0, added = 0;

    if (!f) {
        gh_fmt(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof(line), f)) {
        char *s = trim(line);
        lineno++;
        if (!*s)
            continue;
        if (iptrie_add(t, s, msg, sizeof(msg)) < 0) {
            gh_fmt(err, errlen, "%s:%ld: %s", path, lineno, msg);
            fclose(f);
            return -1;
        }
        added++;
    }
    if (ferror(f)) {
        gh_fmt(err, errlen, "%s: read error", path);
        fclose(f);
        return -1;
    }
    fclose(f);
    t->n = xrealloc(t->n, (size_t)t->used * sizeof(*t->n)); /* built: give the slack back */
    t->cap = t->used;
    return added;
}

int iptrie_match(const struct iptrie *t, const struct sockaddr_storage *ss)
{
    const unsigned char *a;
    uint32_t at;
    unsigned bits;

    if (ss->ss_family == AF_INET) {
        a = (const unsigned char *)&((const struct sockaddr_in *)ss)->sin_addr;
        at = ROOT4, bits = 32;
    } else if (ss->ss_family == AF_INET6) {
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *)ss)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a6))
            a = a6->s6_addr + 12, at = ROOT4, bits = 32;
        else
            a = a6->s6_addr, at = ROOT6, bits = 128;
    } else {
        return 0;
    }
    for (unsigned i = 0;; i++) {
        if (t->n[at].child[0] & END)
            return 1;
        if (i == bits || !(at = INDEX(t->n[at].child[bit(a, i)])))
            return 0;
    }
}

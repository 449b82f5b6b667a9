/* connlimit.c — per-client connection limits at accept (see connlimit.h).
 * Owns the table of open connections per client: a key table of its own
 * whose entries are pinned while connections are open (an eviction would
 * lose a count and let the client past its limit), and whose two words are
 * the open count and the new-connection bucket's arrival time. */
#include "connlimit.h"
#include "config.h"
#include "keytab.h"
#include "pstats.h"
#include "util.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>

static const char *const keys[] = {"concurrent", "rate", "burst", "ipv6_prefix", "ipv4_prefix",
                                   NULL};

static struct keytab *open_conns;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static size_t table_size = 262144;

static int pinned(const uint64_t v[2])
{
    return v[0] != 0;
}

static void make(void)
{
    open_conns = keytab_new(table_size, pinned);
}

int connlimit_load(const struct gh_config *c, const char *listener, const config_setting_t *ls,
                   struct conn_limits **out, char *err, size_t errlen)
{
    const config_setting_t *g = config_setting_get_member(ls, CONNLIMIT_KEY);
    long concurrent = 0, rate = 0, burst = 0, v6 = c->protection.ipv6_prefix,
         v4 = c->protection.ipv4_prefix;
    struct conn_limits *l;

    *out = NULL;
    if (!g)
        return 0;
    if (config_check_group(g, err, errlen,
                           "'%s' must be a group { concurrent = 20; rate = 10; }", CONNLIMIT_KEY) <
            0 ||
        config_check_keys(g, keys, NULL, err, errlen) < 0 ||
        config_get_int(g, "concurrent", 0, 1000000, &concurrent, err, errlen) < 0 ||
        config_get_int(g, "rate", 0, 1000000, &rate, err, errlen) < 0 ||
        config_get_int(g, "burst", 0, 1000000, &burst, err, errlen) < 0 ||
        config_get_int(g, "ipv6_prefix", 1, 128, &v6, err, errlen) < 0 ||
        config_get_int(g, "ipv4_prefix", 1, 32, &v4, err, errlen) < 0)
        return -1;
    if (!concurrent && !rate) {
        config_error(err, errlen, g, "'%s' limits nothing: give 'concurrent' or 'rate'",
                     CONNLIMIT_KEY);
        return -1;
    }
    l = *out = xcalloc(1, sizeof(*l));
    l->name = xstrdup(listener);
    l->concurrent = (uint32_t)concurrent;
    l->rate = (struct rate_rule){.rate = (uint32_t)rate,
                                 .burst = (uint32_t)(burst ? burst : rate ? rate : 1),
                                 .per_us = 1000000};
    l->v4_bits = (uint8_t)v4;
    l->v6_bits = (uint8_t)v6;
    l->st = pstats_get(PS_CONNECTIONS, listener);
    if (c->protection.max_keys / 4 > table_size)
        table_size = c->protection.max_keys / 4; /* before the first accept makes the table */
    return 0;
}

void connlimit_free(struct conn_limits *l)
{
    if (!l)
        return;
    free(l->name);
    free(l);
}

/* The peer cut to the limits' prefix, IPv4-mapped as IPv4. */
static size_t peer_key(const struct conn_limits *l, const struct sockaddr_storage *ss,
                       unsigned char a[17])
{
    const unsigned char *src;
    unsigned bits;

    memset(a, 0, 17);
    if (ss->ss_family == AF_INET6 &&
        !IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)ss)->sin6_addr)) {
        a[0] = 6, bits = l->v6_bits;
        src = ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;
    } else {
        a[0] = 4, bits = l->v4_bits;
        src = ss->ss_family == AF_INET
                  ? (const unsigned char *)&((const struct sockaddr_in *)ss)->sin_addr
                  : ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr + 12;
    }
    memcpy(a + 1, src, bits / 8);
    if (bits % 8)
        a[1 + bits / 8] = (unsigned char)(src[bits / 8] & (0xff << (8 - bits % 8)));
    return 17;
}

struct admission {
    const struct conn_limits *l;
    uint64_t now;
};

/* v[0]: connections open, v[1]: the new-connection bucket.  Returns 1
 * admitted, -1 over the concurrent limit, -2 over the rate. */
static long admit(uint64_t v[2], int fresh, void *arg)
{
    struct admission *a = arg;
    struct rate_verdict rv = {.allowed = 1};

    (void)fresh;
    if (a->l->concurrent && v[0] >= a->l->concurrent)
        return -1;
    if (a->l->rate.rate) {
        uint64_t bucket[2] = {v[1], 0};
        rate_check(&a->l->rate, bucket, a->now, &rv);
        if (!rv.allowed)
            return -2;
        v[1] = bucket[0];
    }
    v[0]++;
    return 1;
}

int connlimit_admit(const struct conn_limits *l, const struct sockaddr_storage *peer,
                    uint64_t *key)
{
    unsigned char a[17];
    struct admission ad = {l, rate_now_us()};
    long rc;

    pthread_once(&once, make);
    *key = keytab_hash(l->name, a, peer_key(l, peer, a));
    rc = keytab_with(open_conns, *key, admit, &ad, 1); /* a table full of open clients admits */
    if (rc == 1) {
        pstats_add(l->st, 0, 1);
        return 1;
    }
    pstats_add(l->st, rc == -1 ? 1 : 2, 1);
    return 0;
}

static long release(uint64_t v[2], int fresh, void *arg)
{
    (void)fresh;
    (void)arg;
    if (v[0])
        v[0]--;
    return 0;
}

void connlimit_release(uint64_t key)
{
    pthread_once(&once, make);
    keytab_peek(open_conns, key, release, NULL, 0);
}

/* bwlimit.c — bandwidth limits (see bwlimit.h).  Owns the `bandwidth`
 * group's reading and the buckets' arithmetic: each bucket is a
 * theoretical arrival time in nanoseconds (GCRA on bytes), one word of a
 * key-table entry per direction; the table is protect.c's. */
#include "bwlimit.h"
#include "config.h"
#include "keytab.h"
#include "protect.h"
#include "pstats.h"
#include "util.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <time.h>

#define NS 1000000000u

static const char *const keys[] = {"rate", "up_rate", "ceiling", "burst", "key", "groups", NULL};

static uint64_t cost(uint64_t n, uint64_t rate)
{
    return (uint64_t)((unsigned __int128)n * NS / rate);
}

uint64_t bw_available(uint64_t tat, uint64_t rate, uint64_t burst, uint64_t now, uint64_t want,
                      uint64_t *wait_ns)
{
    uint64_t tol = cost(burst, rate), floor_ = GH_MIN(want, GH_MAX(burst / 8, 1)), avail;

    *wait_ns = 0;
    if (tat <= now)
        avail = burst;
    else if (tat - now >= tol)
        avail = 0;
    else
        avail = (uint64_t)((unsigned __int128)(tol - (tat - now)) * rate / NS);
    if (avail >= floor_)
        return GH_MIN(avail, want);
    /* until floor_ bytes are there: tat - tol + cost(floor_) */
    *wait_ns = tat + cost(floor_, rate) - tol - now;
    return 0;
}

uint64_t bw_charge(uint64_t tat, uint64_t rate, uint64_t now, uint64_t n)
{
    return GH_MAX(tat, now) + cost(n, rate);
}

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

/* ---- configuration ---- */

static int load_key(struct bw_limit *l, const config_setting_t *g, char *err, size_t errlen)
{
    const char *key = "client";

    if (config_get_string(g, "key", &key, err, errlen) < 0 ||
        config_get_strings(g, "groups", CONFIG_NONEMPTY, &l->groups, &l->ngroups, err, errlen) < 0)
        return -1;
    if (strcmp(key, "client") == 0)
        l->key = BW_CLIENT;
    else if (strcmp(key, "user") == 0)
        l->key = BW_USER;
    else if (strcmp(key, "group") == 0)
        l->key = BW_GROUP;
    else {
        config_error(err, errlen, config_setting_get_member(g, "key"),
                     "'key' is \"client\", \"user\" or \"group\", not '%s'", key);
        return -1;
    }
    if ((l->key == BW_GROUP) != (l->groups != NULL)) {
        config_error(err, errlen, g, "key = \"group\" and 'groups' [ \"staff\", ... ] go together");
        return -1;
    }
    return 0;
}

int bwlimit_load(const struct gh_config *c, const char *name, const config_setting_t *g,
                 struct bw_limit **out, char *err, size_t errlen)
{
    long rate = 0, up = 0, ceiling = 0, burst = 0;
    struct bw_limit *l;
    char ns[96];

    *out = NULL;
    if (!g)
        return 0;
    l = *out = xcalloc(1, sizeof(*l));
    if (config_check_group(g, err, errlen,
                           "'bandwidth' must be a group { rate = 1000000; ceiling = 10000000; }") <
            0 ||
        config_check_keys(g, keys, NULL, err, errlen) < 0 ||
        config_get_int(g, "rate", 0, 1L << 40, &rate, err, errlen) < 0 ||
        config_get_int(g, "up_rate", 0, 1L << 40, &up, err, errlen) < 0 ||
        config_get_int(g, "ceiling", 0, 1L << 40, &ceiling, err, errlen) < 0 ||
        config_get_int(g, "burst", 0, 1L << 40, &burst, err, errlen) < 0 ||
        load_key(l, g, err, errlen) < 0)
        return -1;
    if (!rate && !ceiling) {
        config_error(err, errlen, g, "'bandwidth' limits nothing: give 'rate' (bytes a second "
                                     "for each client) or 'ceiling' (for all of them)");
        return -1;
    }
    if (up && !rate) {
        config_error(err, errlen, config_setting_get_member(g, "up_rate"),
                     "'up_rate' goes with 'rate'");
        return -1;
    }
    l->rate = (uint64_t)rate;
    l->up_rate = (uint64_t)(up ? up : rate);
    l->ceiling = (uint64_t)ceiling;
    /* a tenth of a second of the smallest rate, 16 KiB at least */
    l->burst = burst ? (uint64_t)burst
                     : GH_MAX(16384u, GH_MIN(rate ? (uint64_t)rate : UINT64_MAX,
                                             ceiling ? (uint64_t)ceiling : UINT64_MAX) / 10);
    gh_fmt(ns, sizeof(ns), "bandwidth:%s", name);
    l->name = xstrdup(ns);
    l->v4_bits = (uint8_t)c->protection.ipv4_prefix;
    l->v6_bits = (uint8_t)c->protection.ipv6_prefix;
    l->st = pstats_get(PS_BANDWIDTH, name);
    return 0;
}

void bwlimit_free(struct bw_limit *l)
{
    if (!l)
        return;
    free(l->name);
    config_strings_free(l->groups);
    free(l);
}

size_t bwlimit_client_key(const struct bw_limit *l, const struct sockaddr_storage *ss,
                          unsigned char *out)
{
    const unsigned char *src;
    unsigned bits;

    memset(out, 0, 17);
    if (ss->ss_family == AF_INET6 &&
        !IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)ss)->sin6_addr)) {
        out[0] = 6;
        src = ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;
        bits = l->v6_bits;
    } else {
        out[0] = 4;
        src = ss->ss_family == AF_INET
                  ? (const unsigned char *)&((const struct sockaddr_in *)ss)->sin_addr
                  : ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr + 12;
        bits = l->v4_bits;
    }
    memcpy(out + 1, src, bits / 8);
    if (bits % 8)
        out[1 + bits / 8] = (unsigned char)(src[bits / 8] & (0xff << (8 - bits % 8)));
    return 17;
}

/* ---- the meter ---- */

struct ask {
    int dir;
    uint64_t rate, burst, now, want, wait_ns, n;
};

static long ask_fn(uint64_t v[2], int fresh, void *arg)
{
    struct ask *a = arg;

    (void)fresh;
    return (long)bw_available(v[a->dir], a->rate, a->burst, a->now, a->want, &a->wait_ns);
}

static long charge_fn(uint64_t v[2], int fresh, void *arg)
{
    struct ask *a = arg;

    (void)fresh;
    v[a->dir] = bw_charge(v[a->dir], a->rate, a->now, a->n);
    return 0;
}

static uint64_t rate_of(const struct bw_limit *l, int dir)
{
    return dir == METER_UP ? l->up_rate : l->rate;
}

static int64_t grant(void *arg, int dir, uint64_t want, uint32_t *wait_ms, const char **why)
{
    const struct bw_note *n = arg;
    const struct bw_limit *l = n->l;
    struct ask a = {.dir = dir, .burst = l->burst, .now = now_ns(), .want = want};
    uint64_t g = want, wait = 0;

    (void)why;
    if (rate_of(l, dir)) {
        a.rate = rate_of(l, dir);
        g = (uint64_t)keytab_with(protect_table(), n->key, ask_fn, &a, (long)want);
        wait = a.wait_ns;
        a.want = g ? g : want;
    }
    if (l->ceiling && g) {
        a.rate = l->ceiling;
        g = (uint64_t)keytab_with(protect_table(), n->all, ask_fn, &a, (long)a.want);
        wait = a.wait_ns;
    }
    if (!g) {
        *wait_ms = (uint32_t)GH_MIN(1000u, GH_MAX(1u, (wait + 999999) / 1000000));
        pstats_add(l->st, 2, 1);
    }
    return (int64_t)g;
}

static void charge(void *arg, int dir, uint64_t bytes)
{
    const struct bw_note *n = arg;
    const struct bw_limit *l = n->l;
    struct ask a = {.dir = dir, .now = now_ns(), .n = bytes};

    if (rate_of(l, dir)) {
        a.rate = rate_of(l, dir);
        keytab_with(protect_table(), n->key, charge_fn, &a, 0);
    }
    if (l->ceiling) {
        a.rate = l->ceiling;
        keytab_with(protect_table(), n->all, charge_fn, &a, 0);
    }
    pstats_add(l->st, dir == METER_UP ? 1 : 0, bytes);
}

static const struct exchange_meter meter = {grant, charge};

void bwlimit_attach(struct exchange *ex, const struct bw_limit *l, struct bw_note *n,
                    const void *key, size_t len)
{
    n->l = l;
    n->key = keytab_hash(l->name, key, len);
    n->all = keytab_hash(l->name, "", 0);
    exchange_meter(ex, &meter, n);
}

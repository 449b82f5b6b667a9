/* shard.c — the cache sharded across the fleet (see shard.h): the
 * `cluster` section, rendezvous hashing of cache keys over the nodes, the
 * marked hop to the owner, and the owner skipped while it is down.  It
 * owns no socket: the hop is an exchange_forward_peer, the fallback the
 * route's own servers (choose.c).
 *
 * Rendezvous hashing rather than a ring: each node's weight for a key is
 * mix(hash(key) ^ hash(node name)) and the highest wins, so there are no
 * virtual nodes to tune, the load evens out with a handful of nodes, and
 * a node that leaves moves only its own keys (each to the node that came
 * second for it).  O(nodes) per request, which for a fleet of front doors
 * (a few to a few dozen) is cheaper than the ring's binary search. */
#include "shard.h"
#include "cache_key.h"
#include "choose.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define SHARD_MAX_NODES 64

struct shard_node {
    char *name;
    char *address;                  /* "ip:port" as written */
    char host[64];                  /* the ip, for exchange_forward */
    uint16_t port;
    struct sockaddr_storage ss;
    uint64_t seed;
    char label[96];                 /* "shard:NAME", the access log's upstream */
    _Atomic uint64_t down_until;    /* ms: skipped until then after a failure */
    uint32_t down_ms;               /* the cluster's down_time */
};

/* One configuration generation's cluster; the nodes' down marks are
 * shared by the workers (atomics). */
struct shard {
    struct shard_node *nodes;
    unsigned n;
    int self;                       /* index of this node */
    uint32_t down_ms;               /* how long a failed owner is skipped */
    uint64_t *seeds;                /* the nodes' seeds, for shard_pick */
    struct sockaddr_storage src;    /* this node's address, port 0: hops go from it */
    char mark[160];                 /* "Gatehouse-Shard-Hop: SELF" */
};

static const char *const cluster_keys[] = {"self", "nodes", "down_time", NULL};
static const char *const node_keys[] = {"name", "address", NULL};

uint64_t shard_key_hash(const char *key, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull;

    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)key[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

uint64_t shard_node_seed(const char *name)
{
    return shard_key_hash(name, strlen(name));
}

/* splitmix64's finaliser: every input bit moves every output bit. */
static uint64_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

int shard_pick(const uint64_t *seeds, unsigned n, uint64_t h, const uint8_t *skip)
{
    int best = -1;
    uint64_t top = 0;

    for (unsigned i = 0; i < n; i++) {
        uint64_t w = mix(h ^ seeds[i]);
        if (skip && skip[i])
            continue;
        if (best < 0 || w > top || (w == top && seeds[i] > seeds[best])) {
            best = (int)i;
            top = w;
        }
    }
    return best;
}

const char *shard_owner_name(const struct shard *s, const char *key, size_t len)
{
    return s->nodes[shard_pick(s->seeds, s->n, shard_key_hash(key, len), NULL)].name;
}

void shard_free(struct shard *s)
{
    if (!s)
        return;
    for (unsigned i = 0; i < s->n; i++) {
        free(s->nodes[i].name);
        free(s->nodes[i].address);
    }
    free(s->nodes);
    free(s->seeds);
    free(s);
}

/* One entry of `nodes`: "ip:port", or { name = "a"; address = "ip:port"; }. */
static int load_node(struct shard *s, const config_setting_t *e, char *err, size_t errlen)
{
    struct shard_node *nd = &s->nodes[s->n];
    const char *name = NULL, *address = NULL;
    socklen_t sl;

    if (config_setting_type(e) == CONFIG_TYPE_STRING) {
        name = address = config_setting_get_string(e);
    } else {
        if (config_check_group(e, err, errlen,
                               "each of 'cluster.nodes' is \"ip:port\" or a group "
                               "{ name = \"a\"; address = \"ip:port\"; }") < 0 ||
            config_check_keys(e, node_keys, NULL, err, errlen) < 0 ||
            config_get_string(e, "name", &name, err, errlen) < 0 ||
            config_get_string(e, "address", &address, err, errlen) < 0)
            return -1;
        if (!address) {
            config_error(err, errlen, e, "a node of 'cluster.nodes' needs 'address' (\"ip:port\")");
            return -1;
        }
        if (!name)
            name = address;
    }
    if (!*name || strpbrk(name, " \t\r\n,;\"")) {
        config_error(err, errlen, e, "cluster node name '%s': no spaces, commas or quotes", name);
        return -1;
    }
    if (config_parse_addr(address, &nd->ss, &sl) < 0 || strchr(address, '*')) {
        config_error(err, errlen, e,
                     "cluster node address '%s' is not ip:port (a numeric address, [v6]:port)",
                     address);
        return -1;
    }
    for (unsigned i = 0; i < s->n; i++) {
        if (strcmp(s->nodes[i].name, name) == 0 || strcmp(s->nodes[i].address, address) == 0) {
            config_error(err, errlen, e, "cluster node '%s' (%s) is listed twice", name, address);
            return -1;
        }
    }
    nd->name = xstrdup(name);
    nd->address = xstrdup(address);
    if (nd->ss.ss_family == AF_INET6) {
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&nd->ss)->sin6_addr, nd->host, sizeof(nd->host));
        nd->port = ntohs(((struct sockaddr_in6 *)&nd->ss)->sin6_port);
    } else {
        inet_ntop(AF_INET, &((struct sockaddr_in *)&nd->ss)->sin_addr, nd->host, sizeof(nd->host));
        nd->port = ntohs(((struct sockaddr_in *)&nd->ss)->sin_port);
    }
    nd->seed = shard_node_seed(name);
    gh_fmt(nd->label, sizeof(nd->label), "shard:%s", name);
    s->n++;
    return 0;
}

/* The self node: its address with port 0 is where hops come from. */
static int find_self(struct shard *s, const config_setting_t *g, const char *self, char *err,
                     size_t errlen)
{
    const config_setting_t *at = config_setting_get_member(g, "self");

    s->self = -1;
    for (unsigned i = 0; i < s->n; i++)
        if (strcmp(s->nodes[i].name, self) == 0 || strcmp(s->nodes[i].address, self) == 0)
            s->self = (int)i;
    if (s->self < 0) {
        config_error(err, errlen, at, "cluster 'self' = \"%s\" is none of 'nodes' (by name or address)",
                     self);
        return -1;
    }
    s->src = s->nodes[s->self].ss;
    if (s->src.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&s->src)->sin6_port = 0;
    else
        ((struct sockaddr_in *)&s->src)->sin_port = 0;
    gh_fmt(s->mark, sizeof(s->mark), SHARD_HOP_FIELD ": %s", s->nodes[s->self].name);
    return 0;
}

int shard_load(config_t *file, struct shard **out, char *err, size_t errlen)
{
    const config_setting_t *g = config_lookup(file, "cluster"), *list;
    struct shard *s;
    const char *self = NULL;

    *out = NULL;
    if (!g)
        return 0;
    if (config_check_group(g, err, errlen,
                           "'cluster' must be a group { self = \"a\"; nodes = ( ... ); }") < 0 ||
        config_check_keys(g, cluster_keys, NULL, err, errlen) < 0)
        return -1;
    s = xcalloc(1, sizeof(*s));
    s->down_ms = 10000;
    list = config_setting_get_member(g, "nodes");
    if (config_get_string(g, "self", &self, err, errlen) < 0 ||
        config_get_seconds(g, "down_time", 0.1, 3600, &s->down_ms, err, errlen) < 0)
        goto fail;
    if (!list || !config_setting_is_aggregate(list) || config_setting_length(list) < 1 ||
        config_setting_length(list) > SHARD_MAX_NODES) {
        config_error(err, errlen, list ? list : g,
                     "'cluster' needs 'nodes', a list of 1 to %d nodes ( \"ip:port\", ... )",
                     SHARD_MAX_NODES);
        goto fail;
    }
    if (!self) {
        config_error(err, errlen, g, "'cluster' needs 'self', the name or address of this node");
        goto fail;
    }
    s->nodes = xcalloc((size_t)config_setting_length(list), sizeof(*s->nodes));
    for (int i = 0; i < config_setting_length(list); i++)
        if (load_node(s, config_setting_get_elem(list, (unsigned)i), err, errlen) < 0)
            goto fail;
    if (find_self(s, g, self, err, errlen) < 0)
        goto fail;
    s->seeds = xcalloc(s->n, sizeof(*s->seeds));
    for (unsigned i = 0; i < s->n; i++) {
        s->seeds[i] = s->nodes[i].seed;
        s->nodes[i].down_ms = s->down_ms;
    }
    *out = s;
    return 0;
fail:
    shard_free(s);
    return -1;
}

/* Whether a is one of the nodes' addresses (the port is the client's). */
static int is_peer(const struct shard *s, const struct sockaddr_storage *a)
{
    for (unsigned i = 0; i < s->n; i++) {
        const struct sockaddr_storage *n = &s->nodes[i].ss;
        if (n->ss_family != a->ss_family)
            continue;
        if (a->ss_family == AF_INET6 ? memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                                              &((const struct sockaddr_in6 *)n)->sin6_addr, 16) == 0
                                     : ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
                                           ((const struct sockaddr_in *)n)->sin_addr.s_addr)
            return 1;
    }
    return 0;
}

static void count(const char *result)
{
    char l[96];

    metric_inc(metrics_counter("gatehouse_shard_requests_total",
                               "Cacheable requests by what the cache sharding did with them.",
                               metrics_labels(l, sizeof(l), "result", result, NULL)));
}

int shard_inbound(struct exchange *ex, const struct shard *s)
{
    char v[128];
    int marked = exchange_field(ex, "gatehouse-shard-hop", v, sizeof(v)) >= 0;

    if (!marked)
        return 0;
    exchange_remove_field(ex, SHARD_HOP_FIELD);
    if (s && is_peer(s, exchange_client(ex))) {
        count("from_peer");
        return 1;
    }
    count("mark_ignored"); /* a client's claim: it is treated as any request */
    return 0;
}

/* The absolute-form target the owner files the object under: the scheme
 * this node's client used, its Host, the target as sent. */
static size_t hop_target(struct exchange *ex, char *out, size_t cap)
{
    const struct http_head *r = exchange_request(ex);
    char host[512];
    int hl;

    if (r->form == HTTP_TARGET_ABSOLUTE)
        return gh_fmt(out, cap, "%.*s", (int)r->target.len, exchange_str(ex, r->target));
    if (r->form != HTTP_TARGET_ORIGIN || (hl = exchange_field(ex, "host", host, sizeof(host))) <= 0)
        return 0;
    return gh_fmt(out, cap, "%s://%s%.*s", exchange_is_tls(ex) ? "https" : "http", host,
                  (int)r->target.len, exchange_str(ex, r->target));
}

int shard_forward(struct exchange *ex, struct shard *s, const struct route *rt,
                  const struct pool_order *order, const struct sockaddr_storage *client)
{
    const struct http_head *r = exchange_request(ex);
    const char *m = exchange_str(ex, r->method);
    char key[CACHE_KEY_MAX], target[CACHE_KEY_MAX];
    long kl;
    size_t tl;
    int owner;
    struct shard_node *nd;

    if (!s || !rt->cache.enabled || !exchange_config(ex)->cache.memory_bytes ||
        !((r->method.len == 3 && memcmp(m, "GET", 3) == 0) ||
          (r->method.len == 4 && memcmp(m, "HEAD", 4) == 0)))
        return 0;
    kl = cache_key(r, exchange_base(ex), exchange_is_tls(ex), rt->cache.include_query, key, sizeof(key));
    if (kl <= 0)
        return 0;
    owner = shard_pick(s->seeds, s->n, shard_key_hash(key, (size_t)kl), NULL);
    if (owner == s->self) {
        count("owner");
        return 0;
    }
    nd = &s->nodes[owner];
    if (atomic_load_explicit(&nd->down_until, memory_order_relaxed) > gh_now_ms()) {
        count("owner_down");
        return 0; /* this node stands in for it: its own cache, the origin */
    }
    tl = hop_target(ex, target, sizeof(target));
    if (!tl || tl >= sizeof(target) - 1)
        return 0;
    choose_prepare(ex, rt, order, client);
    *choose_shard_slot(ex) = nd;
    exchange_forward_peer(ex, nd->host, strlen(nd->host), nd->port, nd->label, target, tl, s->mark,
                          &s->src);
    count("hop");
    return 1;
}

int shard_failed(struct exchange *ex, const char *why)
{
    void **slot = choose_shard_slot(ex);
    struct shard_node *nd = *slot;
    uint64_t now;

    if (!nd)
        return 0;
    *slot = NULL;
    now = gh_now_ms();
    if (atomic_exchange(&nd->down_until, now + nd->down_ms) <= now)
        log_warn("cache shard owner %s (%s) failed: %s; its objects come from the origin for %u ms",
                 nd->name, nd->address, why, nd->down_ms);
    count("fallback");
    return 1;
}

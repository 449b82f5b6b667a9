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
#include "srv.h"
#include "upstream.h"
#include "util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* The nodes as known at one time: the listed ones, or one SRV answer.
 * Immutable once published; kept until the generation ends, since a
 * request may hold one of its nodes (choose_shard_slot) meanwhile. */
struct shard_table {
    struct shard_node *nodes;
    uint64_t *seeds;                /* the nodes' seeds, for shard_pick */
    unsigned n;
    int self;                       /* index of this node, -1: none of them */
    struct shard_table *older;
};

/* One configuration generation's cluster; the nodes' down marks are
 * shared by the workers (atomics), and so is the table, swapped whole. */
struct shard {
    _Atomic(struct shard_table *) cur; /* NULL: no SRV answer yet (no sharding) */
    uint32_t down_ms;               /* how long a failed owner is skipped */
    struct sockaddr_storage src;    /* this node's address, port 0: hops go from it */
    struct sockaddr_storage self_ss;/* SRV: self as ip:port, to find it in the answers */
    char *self;                     /* as written */
    char mark[160];                 /* "Gatehouse-Shard-Hop: SELF" */
    /* found through DNS SRV (srv NULL: listed) */
    char *srv;
    uint32_t refresh_ms;
    const struct resolver_conf *dns;
    pthread_t thread;
    int running;
    atomic_int stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

static const char *const cluster_keys[] = {"self", "nodes", "srv", "refresh", "down_time", NULL};
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
    const struct shard_table *t = atomic_load(&((struct shard *)s)->cur);

    return t ? t->nodes[shard_pick(t->seeds, t->n, shard_key_hash(key, len), NULL)].name : NULL;
}

static void table_free(struct shard_table *t)
{
    while (t) {
        struct shard_table *older = t->older;
        for (unsigned i = 0; i < t->n; i++) {
            free(t->nodes[i].name);
            free(t->nodes[i].address);
        }
        free(t->nodes);
        free(t->seeds);
        free(t);
        t = older;
    }
}

void shard_free(struct shard *s)
{
    if (!s)
        return;
    if (s->running) {
        pthread_mutex_lock(&s->mu);
        atomic_store(&s->stop, 1);
        pthread_cond_signal(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->thread, NULL);
    }
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    table_free(atomic_load(&s->cur));
    free(s->self);
    free(s->srv);
    free(s);
}

/* Fills nd from a name and an address (ss's port is the node's). */
static void node_fill(struct shard_node *nd, const char *name, const char *address,
                      const struct sockaddr_storage *ss, uint32_t down_ms)
{
    nd->name = xstrdup(name);
    nd->address = xstrdup(address);
    nd->ss = *ss;
    if (ss->ss_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, nd->host, sizeof(nd->host));
        nd->port = ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
    } else {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, nd->host, sizeof(nd->host));
        nd->port = ntohs(((const struct sockaddr_in *)ss)->sin_port);
    }
    nd->seed = shard_node_seed(name);
    nd->down_ms = down_ms;
    gh_fmt(nd->label, sizeof(nd->label), "shard:%s", name);
}

/* Whether a and b are the same address (and, with port, the same port). */
static int same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b, int port)
{
    if (a->ss_family != b->ss_family)
        return 0;
    if (a->ss_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
        return memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0 && (!port || x->sin6_port == y->sin6_port);
    }
    const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
    return x->sin_addr.s_addr == y->sin_addr.s_addr && (!port || x->sin_port == y->sin_port);
}

/* The seeds of t's nodes. */
static void table_seeds(struct shard_table *t)
{
    t->seeds = xcalloc(t->n ? t->n : 1, sizeof(*t->seeds));
    for (unsigned i = 0; i < t->n; i++)
        t->seeds[i] = t->nodes[i].seed;
}

/* One entry of `nodes`: "ip:port", or { name = "a"; address = "ip:port"; }. */
static int load_node(struct shard *s, struct shard_table *t, const config_setting_t *e, char *err,
                     size_t errlen)
{
    const char *name = NULL, *address = NULL;
    struct sockaddr_storage ss;
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
    if (config_parse_addr(address, &ss, &sl) < 0 || strchr(address, '*')) {
        config_error(err, errlen, e,
                     "cluster node address '%s' is not ip:port (a numeric address, [v6]:port)",
                     address);
        return -1;
    }
    for (unsigned i = 0; i < t->n; i++) {
        if (strcmp(t->nodes[i].name, name) == 0 || same_addr(&t->nodes[i].ss, &ss, 1)) {
            config_error(err, errlen, e, "cluster node '%s' (%s) is listed twice", name, address);
            return -1;
        }
    }
    node_fill(&t->nodes[t->n++], name, address, &ss, s->down_ms);
    return 0;
}

/* Hops go from self's address, any port. */
static void set_src(struct shard *s, const struct sockaddr_storage *self)
{
    s->src = *self;
    if (s->src.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&s->src)->sin6_port = 0;
    else
        ((struct sockaddr_in *)&s->src)->sin_port = 0;
}

/* The listed nodes, self among them. */
static int load_listed(struct shard *s, const config_setting_t *g, const config_setting_t *list,
                       char *err, size_t errlen)
{
    struct shard_table *t = xcalloc(1, sizeof(*t));

    atomic_store(&s->cur, t);
    t->self = -1;
    if (!config_setting_is_aggregate(list) || config_setting_length(list) < 1 ||
        config_setting_length(list) > SHARD_MAX_NODES) {
        config_error(err, errlen, list,
                     "'cluster' needs 'nodes', a list of 1 to %d nodes ( \"ip:port\", ... )",
                     SHARD_MAX_NODES);
        return -1;
    }
    t->nodes = xcalloc((size_t)config_setting_length(list), sizeof(*t->nodes));
    for (int i = 0; i < config_setting_length(list); i++)
        if (load_node(s, t, config_setting_get_elem(list, (unsigned)i), err, errlen) < 0)
            return -1;
    table_seeds(t);
    for (unsigned i = 0; i < t->n; i++)
        if (strcmp(t->nodes[i].name, s->self) == 0 || strcmp(t->nodes[i].address, s->self) == 0)
            t->self = (int)i;
    if (t->self < 0) {
        config_error(err, errlen, config_setting_get_member(g, "self"),
                     "cluster 'self' = \"%s\" is none of 'nodes' (by name or address)", s->self);
        return -1;
    }
    set_src(s, &t->nodes[t->self].ss);
    gh_fmt(s->mark, sizeof(s->mark), SHARD_HOP_FIELD ": %s", t->nodes[t->self].name);
    return 0;
}

/* Nodes from DNS SRV: self must be this node's ip:port, as the answers'
 * addresses will say it. */
static int load_srv(struct shard *s, const config_setting_t *g, const char *srv, char *err,
                    size_t errlen)
{
    socklen_t sl;

    if (!*srv || strpbrk(srv, " \t\r\n")) {
        config_error(err, errlen, config_setting_get_member(g, "srv"),
                     "'srv' is a DNS name such as \"_gatehouse._tcp.example.org\"");
        return -1;
    }
    if (config_parse_addr(s->self, &s->self_ss, &sl) < 0 || strchr(s->self, '*')) {
        config_error(err, errlen, config_setting_get_member(g, "self"),
                     "with 'srv', 'self' is this node's ip:port as the SRV answers give it, not \"%s\"",
                     s->self);
        return -1;
    }
    s->srv = xstrdup(srv);
    set_src(s, &s->self_ss);
    gh_fmt(s->mark, sizeof(s->mark), SHARD_HOP_FIELD ": %s", s->self);
    return 0;
}

int shard_load(config_t *file, struct shard **out, char *err, size_t errlen)
{
    const config_setting_t *g = config_lookup(file, "cluster"), *list;
    struct shard *s;
    const char *self = NULL, *srv = NULL;

    *out = NULL;
    if (!g)
        return 0;
    if (config_check_group(g, err, errlen,
                           "'cluster' must be a group { self = \"a\"; nodes = ( ... ); }") < 0 ||
        config_check_keys(g, cluster_keys, NULL, err, errlen) < 0)
        return -1;
    s = xcalloc(1, sizeof(*s));
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->down_ms = 10000;
    s->refresh_ms = 30000;
    list = config_setting_get_member(g, "nodes");
    if (config_get_string(g, "self", &self, err, errlen) < 0 ||
        config_get_string(g, "srv", &srv, err, errlen) < 0 ||
        config_get_seconds(g, "refresh", 1, 86400, &s->refresh_ms, err, errlen) < 0 ||
        config_get_seconds(g, "down_time", 0.1, 3600, &s->down_ms, err, errlen) < 0)
        goto fail;
    if (!list == !srv) {
        config_error(err, errlen, list ? list : g,
                     "'cluster' needs 'nodes', a list of 1 to %d nodes ( \"ip:port\", ... ), or "
                     "'srv', a DNS SRV name, and not both", SHARD_MAX_NODES);
        goto fail;
    }
    if (!self) {
        config_error(err, errlen, g, "'cluster' needs 'self', the name or address of this node");
        goto fail;
    }
    s->self = xstrdup(self);
    if (list ? load_listed(s, g, list, err, errlen) < 0 : load_srv(s, g, srv, err, errlen) < 0)
        goto fail;
    *out = s;
    return 0;
fail:
    shard_free(s);
    return -1;
}

/* ---- nodes from DNS SRV ---- */

/* Whether the answer got[0..n) names the nodes t has, in the same order. */
static int same_nodes(const struct shard_table *t, const struct srv_node *got, unsigned n)
{
    if (!t || t->n != n)
        return 0;
    for (unsigned i = 0; i < n; i++)
        if (t->nodes[i].port != got[i].port || !same_addr(&t->nodes[i].ss, &got[i].addr, 1) ||
            strncmp(t->nodes[i].name, got[i].name, strlen(got[i].name)) != 0)
            return 0;
    return 1;
}

/* Publishes a table of the answer's nodes, named "target:port". */
static void adopt(struct shard *s, const struct srv_node *got, unsigned n)
{
    struct shard_table *t = xcalloc(1, sizeof(*t)), *old = atomic_load(&s->cur);
    char name[300], addr[80], list[1024];
    size_t ll = 0;

    t->nodes = xcalloc(n, sizeof(*t->nodes));
    t->self = -1;
    list[0] = '\0';
    for (unsigned i = 0; i < n; i++) {
        upstream_addr_text(&got[i].addr, addr, sizeof(addr));
        gh_fmt(name, sizeof(name), "%s:%u", got[i].name, got[i].port);
        node_fill(&t->nodes[t->n++], name, addr, &got[i].addr, s->down_ms);
        if (same_addr(&got[i].addr, &s->self_ss, 1))
            t->self = (int)i;
        ll += gh_fmt(list + ll, sizeof(list) - ll, "%s%s (%s)", i ? ", " : "", name, addr);
        ll = GH_MIN(ll, sizeof(list) - 1);
    }
    table_seeds(t);
    t->older = old;
    atomic_store(&s->cur, t);
    log_info("cluster: %u nodes from SRV %s: %s%s", n, s->srv, list,
             t->self < 0 ? "; this node is none of them: it owns no key" : "");
}

static void *srv_thread(void *arg)
{
    struct shard *s = arg;
    struct srv_node got[SHARD_MAX_NODES];
    char err[256];
    int failing = 0;

    pthread_mutex_lock(&s->mu);
    while (!atomic_load(&s->stop)) {
        int n;
        pthread_mutex_unlock(&s->mu);
        n = srv_resolve(s->dns, s->srv, got, SHARD_MAX_NODES, &s->stop, err, sizeof(err));
        if (n > 0 && !same_nodes(atomic_load(&s->cur), got, (unsigned)n))
            adopt(s, got, (unsigned)n);
        if (n > 0)
            failing = 0;
        else if (!atomic_load(&s->stop) && !failing++)
            log_warn("cluster: SRV %s: %s; keeping the nodes known so far", s->srv, err);
        pthread_mutex_lock(&s->mu);
        if (!atomic_load(&s->stop)) {
            struct timespec ts;
            uint32_t ms = n > 0 ? s->refresh_ms : GH_MIN(s->refresh_ms, 2000u); /* soon after a failure */
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += ms / 1000;
            ts.tv_nsec += (long)(ms % 1000) * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&s->cv, &s->mu, &ts);
        }
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

void shard_start(struct shard *s, const struct resolver_conf *dns)
{
    if (!s || !s->srv || s->running)
        return;
    s->dns = dns;
    if (pthread_create(&s->thread, NULL, srv_thread, s) != 0) {
        log_error("cluster: cannot start the SRV thread; no sharding");
        return;
    }
    s->running = 1;
}

/* Whether a is one of the nodes' addresses (the port is the client's). */
static int is_peer(const struct shard *s, const struct sockaddr_storage *a)
{
    const struct shard_table *t = atomic_load(&((struct shard *)s)->cur);

    for (unsigned i = 0; t && i < t->n; i++)
        if (same_addr(&t->nodes[i].ss, a, 0))
            return 1;
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
    struct shard_table *t;

    if (!s || !rt->cache.enabled || !exchange_config(ex)->cache.memory_bytes ||
        !((r->method.len == 3 && memcmp(m, "GET", 3) == 0) ||
          (r->method.len == 4 && memcmp(m, "HEAD", 4) == 0)))
        return 0;
    kl = cache_key(r, exchange_base(ex), exchange_is_tls(ex), rt->cache.include_query, key, sizeof(key));
    if (kl <= 0)
        return 0;
    if (!(t = atomic_load(&s->cur)))
        return 0; /* no SRV answer yet: each node on its own */
    owner = shard_pick(t->seeds, t->n, shard_key_hash(key, (size_t)kl), NULL);
    if (owner == t->self) {
        count("owner");
        return 0;
    }
    nd = &t->nodes[owner];
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

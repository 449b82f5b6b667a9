/* pool.c — parsing pools (see pool.h); picking a server is pool_pick.c's,
 * their run-time state pool_state.c's. */
#include "pool.h"
#include "tls.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

static const char *const pool_keys[] = {"servers",      "balance",      "hash_key",
                                        "sticky_cookie", "health_check", "max_fails",
                                        "fail_timeout",  "fail_on_5xx",  "slow_start",
                                        "retries",       "retry_budget", "queue",
                                        "proxy_protocol", "tls", "protocol", "h2_max_streams",
                                        "h2_connections", NULL};
static const char *const server_keys[] = {"address", "static", "weight", "max_conns", "backup",
                                          NULL};
static const char *const check_keys[] = {"type", "path", "host", "expect_status", "protocol",
                                         "interval", "timeout", "rise", "fall", NULL};
static const char *const budget_keys[] = {"ratio", "min_per_second", NULL};
static const char *const queue_keys[] = {"size", "timeout", NULL};

/* Splits "host:port" / "[v6]:port" into its parts; 0 or -1. */
static int split_hostport(const char *a, char **host, uint16_t *port)
{
    const char *colon, *hs = a;
    size_t hl;
    char *end;
    unsigned long p;

    if (a[0] == '[') {
        const char *rb = strchr(a, ']');
        if (!rb || rb[1] != ':')
            return -1;
        hs = a + 1;
        hl = (size_t)(rb - hs);
        colon = rb + 1;
    } else {
        colon = strrchr(a, ':');
        if (!colon)
            return -1;
        hl = (size_t)(colon - a);
    }
    errno = 0;
    p = strtoul(colon + 1, &end, 10);
    if (hl == 0 || *end || end == colon + 1 || p == 0 || p > 65535 || errno)
        return -1;
    *host = xstrndup(hs, hl);
    *port = (uint16_t)p;
    return 0;
}

/* The errno of stat(path), or 0 when it succeeds. */
static int errno_of_stat(const char *path)
{
    struct stat st;
    return stat(path, &st) < 0 ? errno : 0;
}

static int load_server(const struct gh_config *cfg, struct pool *p, struct server *sv,
                       config_setting_t *g, char *err, size_t errlen)
{
    const char *address = NULL, *root = NULL;
    long weight = 1, max_conns = 0;
    int backup = 0;
    struct stat st;
    char label[512];

    if (config_check_group(g, err, errlen,
                           "pool '%s': each server must be a group { address = ...; }",
                           p->name) < 0)
        return -1;
    if (config_check_keys(g, server_keys, NULL, err, errlen) < 0 ||
        config_get_string(g, "address", &address, err, errlen) < 0 ||
        config_get_string(g, "static", &root, err, errlen) < 0 ||
        config_get_int(g, "weight", 1, 1000, &weight, err, errlen) < 0 ||
        config_get_int(g, "max_conns", 0, 1000000, &max_conns, err, errlen) < 0 ||
        config_get_bool(g, "backup", &backup, err, errlen) < 0)
        return -1;
    if (!address == !root) {
        config_error(err, errlen, g, "pool '%s': a server needs exactly one of 'address' or 'static'",
                     p->name);
        return -1;
    }
    sv->weight = (unsigned)weight;
    sv->max_conns = (unsigned)max_conns;
    sv->backup = backup;
    if (address) {
        if (split_hostport(address, &sv->host, &sv->port) < 0) {
            config_error(err, errlen, config_setting_get_member(g, "address"),
                         "pool '%s': bad server address '%s' (want host:port)", p->name, address);
            return -1;
        }
        sv->label = xstrdup(address);
        return 0;
    }
    sv->root = config_path(cfg, root);
    if (stat(sv->root, &st) < 0 || !S_ISDIR(st.st_mode)) {
        int missing = errno_of_stat(sv->root);
        config_error(err, errlen, config_setting_get_member(g, "static"),
                     "pool '%s': static directory %s: %s", p->name, sv->root,
                     missing ? strerror(missing) : "not a directory");
        return -1;
    }
    gh_fmt(label, sizeof(label), "static:%s", root);
    sv->label = xstrdup(label);
    return 0;
}

/* health_check = { type = "http"; path = "/health"; expect_status = [200, 399];
 *                  interval = 2.0; timeout = 1.0; rise = 2; fall = 3; } */
static int load_check(struct pool *p, config_setting_t *g, char *err, size_t errlen)
{
    struct check_conf *c = &p->check;
    const char *type = "http", *path = "/", *host = NULL;
    long rise = 2, fall = 3;
    config_setting_t *ex;

    c->status_lo = 200;
    c->status_hi = 399;
    c->interval_ms = 2000;
    c->timeout_ms = 1000;
    if (!g)
        return 0;
    if (config_check_group(g, err, errlen, "pool '%s': 'health_check' must be a group { ... }",
                           p->name) < 0)
        return -1;
    if (config_check_keys(g, check_keys, NULL, err, errlen) < 0 ||
        config_get_string(g, "type", &type, err, errlen) < 0 ||
        config_get_string(g, "path", &path, err, errlen) < 0 ||
        config_get_string(g, "host", &host, err, errlen) < 0 ||
        config_get_seconds(g, "interval", 0.05, 3600, &c->interval_ms, err, errlen) < 0 ||
        config_get_seconds(g, "timeout", 0.01, 600, &c->timeout_ms, err, errlen) < 0 ||
        config_get_int(g, "rise", 1, 100, &rise, err, errlen) < 0 ||
        config_get_int(g, "fall", 1, 100, &fall, err, errlen) < 0)
        return -1;
    if (strcmp(type, "http") != 0 && strcmp(type, "tcp") != 0) {
        config_error(err, errlen, config_setting_get_member(g, "type"),
                     "pool '%s': health_check type '%s' (want \"http\" or \"tcp\")", p->name, type);
        return -1;
    }
    if (path[0] != '/' || strpbrk(path, " \r\n") || (host && strpbrk(host, " \r\n"))) {
        config_error(err, errlen, g, "pool '%s': health_check path must start with '/' and hold no spaces",
                     p->name);
        return -1;
    }
    ex = config_setting_get_member(g, "expect_status");
    if (ex) {
        int lo = config_setting_get_int_elem(ex, 0), hi = config_setting_get_int_elem(ex, 1);
        if (config_setting_length(ex) != 2 || lo < 100 || hi > 599 || lo > hi) {
            config_error(err, errlen, ex, "pool '%s': expect_status is [ lowest, highest ], e.g. [200, 399]",
                         p->name);
            return -1;
        }
        c->status_lo = lo;
        c->status_hi = hi;
    }
    c->enabled = 1;
    c->http = strcmp(type, "http") == 0;
    c->path = xstrdup(path);
    c->host = host ? xstrdup(host) : NULL;
    p->hc.rise = (unsigned)rise;
    p->hc.fall = (unsigned)fall;
    return 0;
}

/* hash_key = "client" | "uri" | "header:Name" | "cookie:name" */
static int load_hash_key(struct pool *p, config_setting_t *pg, char *err, size_t errlen)
{
    const char *k = "client";

    if (config_get_string(pg, "hash_key", &k, err, errlen) < 0)
        return -1;
    if (strcmp(k, "client") == 0)
        p->hash_key = HASH_CLIENT;
    else if (strcmp(k, "uri") == 0)
        p->hash_key = HASH_URI;
    else if (strncmp(k, "header:", 7) == 0 && k[7])
        p->hash_key = HASH_HEADER;
    else if (strncmp(k, "cookie:", 7) == 0 && k[7])
        p->hash_key = HASH_COOKIE;
    else {
        config_error(err, errlen, config_setting_get_member(pg, "hash_key"),
                     "pool '%s': hash_key '%s' (want \"client\", \"uri\", \"header:Name\" or \"cookie:name\")",
                     p->name, k);
        return -1;
    }
    if (p->hash_key == HASH_HEADER || p->hash_key == HASH_COOKIE)
        p->hash_name = xstrdup(k + 7);
    return 0;
}

/* Balancing, health, retries and queueing: everything but the servers. */
/* protocol: "http/1.1" (the default) or "h2", and HTTP/2's multiplexing. */
static int load_protocol(struct pool *p, config_setting_t *pg, char *err, size_t errlen)
{
    const char *proto = "http/1.1";
    long streams = 100, conns = 2;

    if (config_get_string(pg, "protocol", &proto, err, errlen) < 0 ||
        config_get_int(pg, "h2_max_streams", 1, 1000, &streams, err, errlen) < 0 ||
        config_get_int(pg, "h2_connections", 1, 64, &conns, err, errlen) < 0)
        return -1;
    if (strcmp(proto, "h2") != 0 && strcmp(proto, "http/1.1") != 0) {
        config_error(err, errlen, config_setting_get_member(pg, "protocol"),
                     "pool '%s': protocol '%s' (want \"http/1.1\" or \"h2\")", p->name, proto);
        return -1;
    }
    if (strcmp(proto, "h2") == 0 && p->send_proxy) {
        config_error(err, errlen, config_setting_get_member(pg, "proxy_protocol"),
                     "pool '%s': proxy_protocol cannot go with protocol \"h2\" (an HTTP/2 "
                     "connection carries many clients' requests)", p->name);
        return -1;
    }
    p->h2_streams = strcmp(proto, "h2") == 0 ? (unsigned)streams : 0;
    p->h2_conns = (unsigned)conns;
    /* the health check speaks the pool's protocol unless it says */
    config_setting_t *hc = config_setting_get_member(pg, "health_check");
    if (hc && config_setting_is_group(hc) &&
        config_get_string(hc, "protocol", &proto, err, errlen) < 0)
        return -1;
    if (strcmp(proto, "h2") != 0 && strcmp(proto, "http/1.1") != 0) {
        config_error(err, errlen, config_setting_get_member(hc, "protocol"),
                     "pool '%s': health_check protocol '%s' (want \"http/1.1\" or \"h2\")",
                     p->name, proto);
        return -1;
    }
    p->check.h2 = strcmp(proto, "h2") == 0;
    return 0;
}

static int load_policy(struct pool *p, config_setting_t *pg, char *err, size_t errlen)
{
    const char *bal = "round_robin", *sticky = NULL;
    long max_fails = 3, retries = 2, qsize = 100, min_retry = 5, pp = 0;
    double ratio = 0.2;
    uint32_t qtimeout = 5000;
    config_setting_t *b = config_setting_get_member(pg, "retry_budget"),
                     *q = config_setting_get_member(pg, "queue");

    p->hc.rise = 2;
    p->hc.fall = 3;
    p->hc.fail_timeout_ms = 10000;
    if (config_get_string(pg, "balance", &bal, err, errlen) < 0 ||
        config_get_string(pg, "sticky_cookie", &sticky, err, errlen) < 0 ||
        config_get_int(pg, "max_fails", 0, 1000, &max_fails, err, errlen) < 0 ||
        config_get_seconds(pg, "fail_timeout", 0.1, 86400, &p->hc.fail_timeout_ms, err, errlen) < 0 ||
        config_get_bool(pg, "fail_on_5xx", &p->eject_5xx, err, errlen) < 0 ||
        config_get_seconds(pg, "slow_start", 0, 3600, &p->hc.slow_start_ms, err, errlen) < 0 ||
        config_get_int(pg, "retries", 0, 16, &retries, err, errlen) < 0 ||
        config_get_int(pg, "proxy_protocol", 0, 2, &pp, err, errlen) < 0 ||
        load_hash_key(p, pg, err, errlen) < 0 ||
        load_check(p, config_setting_get_member(pg, "health_check"), err, errlen) < 0)
        return -1;
    p->bal = balancer_find(bal);
    if (!p->bal) {
        config_error(err, errlen, config_setting_get_member(pg, "balance"),
                     "pool '%s': balance '%s' (want round_robin, least_conn, p2c or hash)", p->name,
                     bal);
        return -1;
    }
    if (sticky && (!*sticky || strpbrk(sticky, " ;=,\t\r\n"))) {
        config_error(err, errlen, config_setting_get_member(pg, "sticky_cookie"),
                     "pool '%s': sticky_cookie must be a cookie name", p->name);
        return -1;
    }
    p->sticky = sticky ? xstrdup(sticky) : NULL;
    p->hc.max_fails = (unsigned)max_fails;
    p->send_proxy = (int)pp;
    p->retries = (unsigned)retries;
    if (b && (config_check_group(b, err, errlen,
                                 "pool '%s': retry_budget = { ratio = 0.2; min_per_second = 5; }",
                                 p->name) < 0 ||
              config_check_keys(b, budget_keys, NULL, err, errlen) < 0 ||
              config_get_int(b, "min_per_second", 0, 100000, &min_retry, err, errlen) < 0))
        return -1;
    if (b && config_setting_get_member(b, "ratio")) {
        config_setting_t *r = config_setting_get_member(b, "ratio");
        ratio = config_setting_type(r) == CONFIG_TYPE_FLOAT ? config_setting_get_float(r)
                                                            : (double)config_setting_get_int(r);
        if (ratio < 0 || ratio > 10) {
            config_error(err, errlen, r, "pool '%s': retry_budget ratio between 0 and 10", p->name);
            return -1;
        }
    }
    budget_init(&p->budget, ratio, (unsigned)min_retry);
    if (q &&
        (config_check_group(q, err, errlen, "pool '%s': queue = { size = 100; timeout = 5.0; }",
                            p->name) < 0 ||
         config_check_keys(q, queue_keys, NULL, err, errlen) < 0 ||
         config_get_int(q, "size", 0, 1000000, &qsize, err, errlen) < 0 ||
         config_get_seconds(q, "timeout", 0.001, 3600, &qtimeout, err, errlen) < 0))
        return -1;
    p->queue_size = (unsigned)qsize;
    p->queue_timeout_ms = qtimeout;
    return 0;
}

/* How many servers before server k of p have its address: the state of
 * the second "10.0.1.11:8080" of a pool is not the first one's. */
static unsigned same_label_before(const struct pool *p, unsigned k)
{
    unsigned n = 0;

    for (unsigned j = 0; j < k; j++)
        n += strcmp(p->servers[j].label, p->servers[k].label) == 0;
    return n;
}

struct pool_set *pool_load(const struct gh_config *cfg, config_t *file, char *err, size_t errlen)
{
    struct pool_set *ps = xcalloc(1, sizeof(*ps));
    config_setting_t *g = config_lookup(file, "pools");

    if (!g)
        return ps;
    if (config_check_group(g, err, errlen,
                           "'pools' must be a group { name = { servers = (...); }; }") < 0)
        goto fail;
    ps->n = (unsigned)config_setting_length(g);
    ps->p = xcalloc(ps->n ? ps->n : 1, sizeof(*ps->p));
    for (unsigned i = 0; i < ps->n; i++) {
        config_setting_t *pg = config_setting_get_elem(g, i), *servers;
        struct pool *p = &ps->p[i];
        p->name = xstrdup(config_setting_name(pg));
        if (config_check_group(pg, err, errlen, "pool '%s' must be a group { servers = (...); }",
                               p->name) < 0)
            goto fail;
        if (config_check_keys(pg, pool_keys, NULL, err, errlen) < 0)
            goto fail;
        servers = config_setting_get_member(pg, "servers");
        if (!servers || !config_setting_is_list(servers) || config_setting_length(servers) == 0) {
            config_error(err, errlen, servers ? servers : pg,
                         "pool '%s' needs 'servers', a non-empty list ( { address = \"host:port\"; } )",
                         p->name);
            goto fail;
        }
        p->nservers = (unsigned)config_setting_length(servers);
        if (p->nservers > POOL_MAX_SERVERS) {
            config_error(err, errlen, servers, "pool '%s' has more than %d servers", p->name,
                         POOL_MAX_SERVERS);
            goto fail;
        }
        p->servers = xcalloc(p->nservers, sizeof(*p->servers));
        p->st = pool_state_pool(p->name);
        for (unsigned k = 0; k < p->nservers; k++) {
            struct server *sv = &p->servers[k];
            if (load_server(cfg, p, sv, config_setting_get_elem(servers, k), err, errlen) < 0)
                goto fail;
            gh_fmt(sv->cookie, sizeof(sv->cookie), "%016llx",
                   (unsigned long long)balance_hash_bytes(sv->label, strlen(sv->label)));
            p->nprimary += !sv->backup;
            sv->st = pool_state_server(p->name, sv->label, same_label_before(p, k));
        }
        if (p->nprimary == 0) {
            config_error(err, errlen, servers, "pool '%s': every server is a backup", p->name);
            goto fail;
        }
        if (load_policy(p, pg, err, errlen) < 0 || load_protocol(p, pg, err, errlen) < 0)
            goto fail;
        if (p->nservers == 1)
            p->hc.max_fails = 0; /* ejecting the only server would turn errors into 503s */
        p->bal_state = p->bal->init ? p->bal->init(p) : NULL;
        config_setting_t *tls = config_setting_get_member(pg, "tls");
        if (tls && !(p->tls = tls_client_load(cfg, tls, err, errlen)))
            goto fail;
    }
    return ps;
fail:
    pool_free(ps);
    return NULL;
}

void pool_free(struct pool_set *ps)
{
    if (!ps)
        return;
    for (unsigned i = 0; i < ps->n; i++) {
        struct pool *p = &ps->p[i];
        if (p->bal && p->bal->free)
            p->bal->free(p->bal_state);
        tls_client_free(p->tls);
        free(p->check.path);
        free(p->check.host);
        free(p->hash_name);
        free(p->sticky);
        pool_state_pool_put(p->st);
        for (unsigned k = 0; k < ps->p[i].nservers; k++) {
            pool_state_server_put(ps->p[i].servers[k].st);
            free(ps->p[i].servers[k].host);
            free(ps->p[i].servers[k].root);
            free(ps->p[i].servers[k].label);
        }
        free(ps->p[i].servers);
        free(ps->p[i].name);
    }
    free(ps->p);
    free(ps);
}

struct pool *pool_find(const struct pool_set *ps, const char *name)
{
    for (unsigned i = 0; i < ps->n; i++)
        if (strcmp(ps->p[i].name, name) == 0)
            return &ps->p[i];
    return NULL;
}

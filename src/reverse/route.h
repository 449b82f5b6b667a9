/* route.h — reverse-mode routes: which pool serves a host and path. */
#ifndef GH_ROUTE_H
#define GH_ROUTE_H

#include "cache.h"
#include "compress.h"
#include "config.h"
#include "pool.h"
#include "protect.h"

/* Pools in the order they are tried: the next when one has no healthy server. */
struct pool_order {
    struct pool **p;
    unsigned n;
};

/* Clients located in a country or continent get their own pool order. */
struct geo_rule {
    int continent;   /* 1: code is a continent ("EU"), 0: a country ("DE") */
    char code[3];
    struct pool_order order;
};

struct route {
    char *host;         /* lower-case exact name, or "*" for any */
    char *path;         /* prefix, starts with '/' */
    size_t path_len;
    struct pool *pool;  /* the first of `order` */
    struct pool_order order;  /* pools tried in turn (failover) */
    struct geo_rule *geo;     /* client-location orders, checked in turn */
    unsigned ngeo;
    int rewrite_location;     /* Location naming the server gets the public name */
    long hsts;                /* Strict-Transport-Security max-age on TLS answers, 0: none */
    char **hide;        /* extra response fields to remove */
    unsigned nhide;
    /* header edits: names (and values) for the request and the response */
    char **req_set, **req_add, **req_remove, **resp_set, **resp_add;
    unsigned nreq_set, nreq_add, nreq_remove, nresp_set, nresp_add; /* pairs for set/add */
    char *redirect;     /* answer with a redirect to this prefix, NULL: none */
    int redirect_code;
    uint64_t max_body;  /* request body limit, 0: the global one */
    struct cache_rules cache; /* caching of this route's answers */
    int client_cert;    /* a verified client certificate is required (mTLS per route) */
    struct protect_refs protect; /* its rate_limits, deny_rules, bans */
    char *key;          /* "table:host/path": the `route` key of its limits */
    struct compress_conf compress; /* compression of this route's answers */
};

struct route_table {
    char *name;
    struct route *r;
    unsigned n;
};

struct route_set {
    struct route_table *t;
    unsigned n;
};

struct route_set *route_load(const struct gh_config *cfg, config_t *file, struct pool_set *pools,
                             char *err, size_t errlen);
void route_free(struct route_set *rs);
struct route_table *route_table_find(const struct route_set *rs, const char *name);

/* The route for host (no port; case ignored) and path: an exact host wins
 * over "*.suffix" (the longest suffix first), which wins over "*"; then the
 * longest path prefix.  NULL when none matches; *host_known says whether any
 * route names this host at all (421 when not, 404 when only the path
 * failed). */
const struct route *route_match(const struct route_table *t, const char *host, size_t hostlen,
                                const char *path, size_t pathlen, int *host_known);

#endif

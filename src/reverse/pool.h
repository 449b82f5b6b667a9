/* pool.h — reverse-mode pools: named groups of servers a route sends to.
 * A server is an upstream host:port or a built-in static directory. */
#ifndef GH_POOL_H
#define GH_POOL_H

#include "config.h"

#include <stdatomic.h>

struct server {
    char *host;      /* upstream host (name or IP literal), NULL for static */
    uint16_t port;
    char *root;      /* static directory (absolute), NULL for an upstream */
    char *label;     /* "10.0.1.11:8080" or "static:/path", for logs */
    unsigned weight;
};

struct pool {
    char *name;
    struct server *servers;
    unsigned nservers;
    atomic_uint rr;  /* round-robin cursor, shared by workers */
};

struct pool_set {
    struct pool *p;
    unsigned n;
};

struct pool_set *pool_load(const struct gh_config *cfg, config_t *file, char *err, size_t errlen);
void pool_free(struct pool_set *ps);
struct pool *pool_find(const struct pool_set *ps, const char *name);

/* The next server of the pool in (weighted) round-robin order. */
const struct server *pool_pick(struct pool *p);

#endif

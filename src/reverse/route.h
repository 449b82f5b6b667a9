/* route.h — reverse-mode routes: which pool serves a host and path. */
#ifndef GH_ROUTE_H
#define GH_ROUTE_H

#include "config.h"
#include "pool.h"

struct route {
    char *host;         /* lower-case exact name, or "*" for any */
    char *path;         /* prefix, starts with '/' */
    size_t path_len;
    struct pool *pool;
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

/* The route for host (lower-case, no port) and path: an exact host before
 * "*", then the longest path prefix.  NULL when none matches. */
const struct route *route_match(const struct route_table *t, const char *host, size_t hostlen,
                                const char *path, size_t pathlen);

#endif

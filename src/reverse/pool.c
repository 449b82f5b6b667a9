/* pool.c — parsing pools and picking a server (see pool.h).  Balancing
 * algorithms beyond round-robin arrive with the reverse-mode issue. */
#include "pool.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

static const char *const pool_keys[] = {"servers", NULL};
static const char *const server_keys[] = {"address", "static", "weight", NULL};

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
    long weight = 1;
    struct stat st;
    char label[512];

    if (!config_setting_is_group(g)) {
        config_error(err, errlen, g, "pool '%s': each server must be a group { address = ...; }",
                     p->name);
        return -1;
    }
    if (config_check_keys(g, server_keys, NULL, err, errlen) < 0 ||
        config_get_string(g, "address", &address, err, errlen) < 0 ||
        config_get_string(g, "static", &root, err, errlen) < 0 ||
        config_get_int(g, "weight", 1, 1000, &weight, err, errlen) < 0)
        return -1;
    if (!address == !root) {
        config_error(err, errlen, g, "pool '%s': a server needs exactly one of 'address' or 'static'",
                     p->name);
        return -1;
    }
    sv->weight = (unsigned)weight;
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

struct pool_set *pool_load(const struct gh_config *cfg, config_t *file, char *err, size_t errlen)
{
    struct pool_set *ps = xcalloc(1, sizeof(*ps));
    config_setting_t *g = config_lookup(file, "pools");

    if (!g)
        return ps;
    if (!config_setting_is_group(g)) {
        config_error(err, errlen, g, "'pools' must be a group { name = { servers = (...); }; }");
        goto fail;
    }
    ps->n = (unsigned)config_setting_length(g);
    ps->p = xcalloc(ps->n ? ps->n : 1, sizeof(*ps->p));
    for (unsigned i = 0; i < ps->n; i++) {
        config_setting_t *pg = config_setting_get_elem(g, i), *servers;
        struct pool *p = &ps->p[i];
        p->name = xstrdup(config_setting_name(pg));
        if (!config_setting_is_group(pg)) {
            config_error(err, errlen, pg, "pool '%s' must be a group { servers = (...); }", p->name);
            goto fail;
        }
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
        p->servers = xcalloc(p->nservers, sizeof(*p->servers));
        for (unsigned k = 0; k < p->nservers; k++)
            if (load_server(cfg, p, &p->servers[k], config_setting_get_elem(servers, k), err,
                            errlen) < 0)
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
        for (unsigned k = 0; k < ps->p[i].nservers; k++) {
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

const struct server *pool_pick(struct pool *p)
{
    unsigned total = 0, n;

    for (unsigned i = 0; i < p->nservers; i++)
        total += p->servers[i].weight;
    n = atomic_fetch_add_explicit(&p->rr, 1, memory_order_relaxed) % total;
    for (unsigned i = 0; i < p->nservers; i++) {
        if (n < p->servers[i].weight)
            return &p->servers[i];
        n -= p->servers[i].weight;
    }
    return &p->servers[0];
}

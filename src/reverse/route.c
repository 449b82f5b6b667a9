/* route.c — parsing route tables and matching a request (see route.h). */
#include "route.h"
#include "util.h"

#include <ctype.h>
#include <stdlib.h>
#include <strings.h>

static const char *const route_keys[] = {"host", "path", "pool", "hide_headers", NULL};

static int load_route(struct route *rt, config_setting_t *g, struct pool_set *pools,
                      const char *table, char *err, size_t errlen)
{
    const char *host = "*", *path = "/", *pool = NULL;

    if (!config_setting_is_group(g)) {
        config_error(err, errlen, g, "routes '%s': each route must be a group { ... }", table);
        return -1;
    }
    if (config_check_keys(g, route_keys, NULL, err, errlen) < 0 ||
        config_get_string(g, "host", &host, err, errlen) < 0 ||
        config_get_string(g, "path", &path, err, errlen) < 0 ||
        config_get_string(g, "pool", &pool, err, errlen) < 0)
        return -1;
    if (path[0] != '/') {
        config_error(err, errlen, config_setting_get_member(g, "path"),
                     "routes '%s': path '%s' must start with '/'", table, path);
        return -1;
    }
    if (!pool) {
        config_error(err, errlen, g, "routes '%s': a route needs a 'pool'", table);
        return -1;
    }
    rt->pool = pool_find(pools, pool);
    if (!rt->pool) {
        config_error(err, errlen, config_setting_get_member(g, "pool"),
                     "routes '%s': pool '%s' is not defined in 'pools'", table, pool);
        return -1;
    }
    rt->host = xstrdup(host);
    for (char *c = rt->host; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    rt->path = xstrdup(path);
    rt->path_len = strlen(path);
    if (rt->host[0] == '*' && rt->host[1] != '\0' && (rt->host[1] != '.' || !rt->host[2])) {
        config_error(err, errlen, config_setting_get_member(g, "host"),
                     "routes '%s': host '%s' (want a name, \"*.example.com\" or \"*\")", table, host);
        return -1;
    }
    config_setting_t *hide = config_setting_get_member(g, "hide_headers");
    if (hide) {
        if (!config_setting_is_array(hide) && !config_setting_is_list(hide)) {
            config_error(err, errlen, hide, "'hide_headers' must be a list of field names");
            return -1;
        }
        rt->nhide = (unsigned)config_setting_length(hide);
        rt->hide = xcalloc(rt->nhide + 1, sizeof(char *));
        for (unsigned i = 0; i < rt->nhide; i++) {
            const char *h = config_setting_get_string_elem(hide, (int)i);
            if (!h || !*h) {
                config_error(err, errlen, hide, "'hide_headers' entries are field names");
                return -1;
            }
            rt->hide[i] = xstrdup(h);
        }
    }
    return 0;
}

struct route_set *route_load(const struct gh_config *cfg, config_t *file, struct pool_set *pools,
                             char *err, size_t errlen)
{
    struct route_set *rs = xcalloc(1, sizeof(*rs));
    config_setting_t *g = config_lookup(file, "routes");

    GH_UNUSED(cfg);
    if (!g)
        return rs;
    if (!config_setting_is_group(g)) {
        config_error(err, errlen, g, "'routes' must be a group { name = ( { ... } ); }");
        goto fail;
    }
    rs->n = (unsigned)config_setting_length(g);
    rs->t = xcalloc(rs->n ? rs->n : 1, sizeof(*rs->t));
    for (unsigned i = 0; i < rs->n; i++) {
        config_setting_t *tg = config_setting_get_elem(g, i);
        struct route_table *t = &rs->t[i];
        t->name = xstrdup(config_setting_name(tg));
        if (!config_setting_is_list(tg)) {
            config_error(err, errlen, tg, "routes '%s' must be a list ( { host = ...; pool = ...; } )",
                         t->name);
            goto fail;
        }
        t->n = (unsigned)config_setting_length(tg);
        t->r = xcalloc(t->n ? t->n : 1, sizeof(*t->r));
        for (unsigned k = 0; k < t->n; k++)
            if (load_route(&t->r[k], config_setting_get_elem(tg, k), pools, t->name, err,
                           errlen) < 0)
                goto fail;
    }
    return rs;
fail:
    route_free(rs);
    return NULL;
}

void route_free(struct route_set *rs)
{
    if (!rs)
        return;
    for (unsigned i = 0; i < rs->n; i++) {
        for (unsigned k = 0; k < rs->t[i].n; k++) {
            free(rs->t[i].r[k].host);
            free(rs->t[i].r[k].path);
            for (unsigned h = 0; h < rs->t[i].r[k].nhide; h++)
                free(rs->t[i].r[k].hide[h]);
            free(rs->t[i].r[k].hide);
        }
        free(rs->t[i].r);
        free(rs->t[i].name);
    }
    free(rs->t);
    free(rs);
}

struct route_table *route_table_find(const struct route_set *rs, const char *name)
{
    for (unsigned i = 0; i < rs->n; i++)
        if (strcmp(rs->t[i].name, name) == 0)
            return &rs->t[i];
    return NULL;
}

/* How well a route's host matches: 0 not at all, 1 "*", 2 + suffix length
 * for "*.suffix", and above any wildcard for an exact name. */
static size_t host_score(const char *pattern, const char *host, size_t hostlen)
{
    size_t pl = strlen(pattern);

    if (strcmp(pattern, "*") == 0)
        return 1;
    if (pattern[0] == '*') { /* "*.example.com": names below, not the name itself */
        size_t sl = pl - 1;   /* ".example.com" */
        if (hostlen > sl && strncasecmp(host + hostlen - sl, pattern + 1, sl) == 0)
            return 2 + sl;
        return 0;
    }
    return pl == hostlen && strncasecmp(pattern, host, hostlen) == 0 ? 1000 : 0;
}

const struct route *route_match(const struct route_table *t, const char *host, size_t hostlen,
                                const char *path, size_t pathlen, int *host_known)
{
    const struct route *best = NULL;
    size_t best_score = 0;

    *host_known = 0;
    for (unsigned i = 0; i < t->n; i++) {
        const struct route *r = &t->r[i];
        size_t score = host_score(r->host, host, hostlen);
        if (!score)
            continue;
        *host_known = 1;
        if (r->path_len > pathlen || memcmp(r->path, path, r->path_len) != 0)
            continue;
        if (!best || score > best_score || (score == best_score && r->path_len > best->path_len)) {
            best = r;
            best_score = score;
        }
    }
    return best;
}

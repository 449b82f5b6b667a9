/* route.c — parsing route tables and matching a request (see route.h). */
#include "route.h"
#include "util.h"

#include <ctype.h>
#include <stdlib.h>
#include <strings.h>

static const char *const route_keys[] = {"host",
                                         "path",
                                         "pool",
                                         "hide_headers",
                                         "set_request_headers",
                                         "add_request_headers",
                                         "remove_request_headers",
                                         "set_response_headers",
                                         "add_response_headers",
                                         "remove_response_headers",
                                         "redirect",
                                         "redirect_code",
                                         "max_body_bytes",
                                         "pools",
                                         "geo",
                                         "rewrite_location",
                                         "hsts",
                                         "cache",
                                         "client_cert",
                                         PROTECT_KEYS,
                                         "compress",
                                         NULL};

/* Reads ( ( "Name", "value" ), ... ) into a flat name/value array. */
static int pairs(const config_setting_t *g, const char *key, char ***out, unsigned *n, char *err,
                 size_t errlen)
{
    config_setting_t *l = config_setting_get_member(g, key);

    *out = NULL;
    *n = 0;
    if (!l)
        return 0;
    if (!config_setting_is_list(l)) {
        config_error(err, errlen, l, "'%s' must be ( ( \"Field\", \"value\" ), ... )", key);
        return -1;
    }
    *out = xcalloc(2 * (size_t)config_setting_length(l) + 1, sizeof(char *));
    for (int i = 0; i < config_setting_length(l); i++) {
        config_setting_t *pr = config_setting_get_elem(l, (unsigned)i);
        const char *name = config_setting_get_string_elem(pr, 0);
        const char *value = config_setting_get_string_elem(pr, 1);
        if (!name || !value || config_setting_length(pr) != 2 || strpbrk(value, "\r\n")) {
            config_error(err, errlen, pr, "'%s' entries are ( \"Field\", \"value\" )", key);
            return -1;
        }
        (*out)[2 * i] = xstrdup(name);
        (*out)[2 * i + 1] = xstrdup(value);
        (*n)++;
    }
    return 0;
}

static void free_list(char **l, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        free(l[i]);
    free(l);
}

/* [ "eu", "us" ] into an order of defined pools. */
static int load_order(struct pool_order *o, config_setting_t *l, struct pool_set *pools,
                      const char *table, char *err, size_t errlen)
{
    if (!config_setting_is_array(l) || config_setting_length(l) == 0) {
        config_error(err, errlen, l, "routes '%s': a pool order is a list of pool names [ \"a\", \"b\" ]",
                     table);
        return -1;
    }
    o->n = (unsigned)config_setting_length(l);
    o->p = xcalloc(o->n, sizeof(*o->p));
    for (unsigned i = 0; i < o->n; i++) {
        const char *name = config_setting_get_string_elem(l, i);
        o->p[i] = name ? pool_find(pools, name) : NULL;
        if (!o->p[i]) {
            config_error(err, errlen, l, "routes '%s': pool '%s' is not defined in 'pools'", table,
                         name ? name : "?");
            return -1;
        }
    }
    return 0;
}

/* geo = ( ( "country:DE", [ "eu", "us" ] ), ( "continent:EU", [ ... ] ) ); */
static int load_geo(struct route *rt, config_setting_t *g, struct pool_set *pools,
                    const char *table, char *err, size_t errlen)
{
    config_setting_t *l = config_setting_get_member(g, "geo");

    if (!l)
        return 0;
    if (!config_setting_is_list(l)) {
        config_error(err, errlen, l, "routes '%s': geo = ( ( \"country:DE\", [ \"eu\", \"us\" ] ), ... )",
                     table);
        return -1;
    }
    rt->ngeo = (unsigned)config_setting_length(l);
    rt->geo = xcalloc(rt->ngeo ? rt->ngeo : 1, sizeof(*rt->geo));
    for (unsigned i = 0; i < rt->ngeo; i++) {
        config_setting_t *e = config_setting_get_elem(l, i);
        const char *where = config_setting_get_string_elem(e, 0);
        struct geo_rule *r = &rt->geo[i];
        const char *code = NULL;
        if (where && strncmp(where, "country:", 8) == 0)
            code = where + 8;
        else if (where && strncmp(where, "continent:", 10) == 0) {
            code = where + 10;
            r->continent = 1;
        }
        if (config_setting_length(e) != 2 || !code || strlen(code) != 2 ||
            !isalpha((unsigned char)code[0]) || !isalpha((unsigned char)code[1])) {
            config_error(err, errlen, e,
                         "routes '%s': geo entries are ( \"country:XX\" or \"continent:XX\", [ pools ] )",
                         table);
            return -1;
        }
        r->code[0] = (char)toupper((unsigned char)code[0]);
        r->code[1] = (char)toupper((unsigned char)code[1]);
        if (load_order(&r->order, config_setting_get_elem(e, 1), pools, table, err, errlen) < 0)
            return -1;
    }
    return 0;
}

static int load_route(const struct gh_config *cfg, struct route *rt, config_setting_t *g,
                      struct pool_set *pools, const char *table, char *err, size_t errlen)
{
    const char *host = "*", *path = "/", *pool = NULL;

    if (config_check_group(g, err, errlen, "routes '%s': each route must be a group { ... }",
                           table) < 0)
        return -1;
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
    config_setting_t *order = config_setting_get_member(g, "pools");
    if (!pool == !order && !config_setting_get_member(g, "redirect")) {
        config_error(err, errlen, g, "routes '%s': a route needs a 'pool' or 'pools' (not both)",
                     table);
        return -1;
    }
    if (pool) {
        rt->pool = pool_find(pools, pool);
        if (!rt->pool) {
            config_error(err, errlen, config_setting_get_member(g, "pool"),
                         "routes '%s': pool '%s' is not defined in 'pools'", table, pool);
            return -1;
        }
        rt->order.p = xcalloc(1, sizeof(*rt->order.p));
        rt->order.p[0] = rt->pool;
        rt->order.n = 1;
    } else if (order) {
        if (load_order(&rt->order, order, pools, table, err, errlen) < 0)
            return -1;
        rt->pool = rt->order.p[0];
    }
    if (load_geo(rt, g, pools, table, err, errlen) < 0 ||
        config_get_bool(g, "rewrite_location", &rt->rewrite_location, err, errlen) < 0 ||
        config_get_int(g, "hsts", 0, 100000000, &rt->hsts, err, errlen) < 0 ||
        cache_rules_load(&rt->cache, config_setting_get_member(g, "cache"), 1, NULL, err, errlen) <
            0 ||
        compress_conf_load(&rt->compress, config_setting_get_member(g, "compress"), err, errlen) < 0)
        return -1;
    if (rt->ngeo && !rt->pool) {
        config_error(err, errlen, g, "routes '%s': 'geo' needs a 'pool' or 'pools' as the fallback",
                     table);
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
    const char *redirect = NULL;
    long code = 302, max_body = 0;
    if (config_get_strings(g, "hide_headers", 0, &rt->hide, &rt->nhide, err, errlen) < 0 ||
        config_get_strings(g, "remove_request_headers", 0, &rt->req_remove, &rt->nreq_remove, err,
                           errlen) < 0 ||
        pairs(g, "set_request_headers", &rt->req_set, &rt->nreq_set, err, errlen) < 0 ||
        pairs(g, "add_request_headers", &rt->req_add, &rt->nreq_add, err, errlen) < 0 ||
        pairs(g, "set_response_headers", &rt->resp_set, &rt->nresp_set, err, errlen) < 0 ||
        pairs(g, "add_response_headers", &rt->resp_add, &rt->nresp_add, err, errlen) < 0 ||
        config_get_string(g, "redirect", &redirect, err, errlen) < 0 ||
        config_get_int(g, "redirect_code", 301, 308, &code, err, errlen) < 0 ||
        config_get_int(g, "max_body_bytes", 0, (long)(((unsigned long)-1) >> 1), &max_body, err,
                       errlen) < 0)
        return -1;
    /* remove_response_headers is hide_headers under its symmetric name */
    char **more;
    unsigned nmore;
    if (config_get_strings(g, "remove_response_headers", 0, &more, &nmore, err, errlen) < 0)
        return -1;
    if (nmore) {
        rt->hide = xrealloc(rt->hide, (rt->nhide + nmore + 1) * sizeof(char *));
        memcpy(rt->hide + rt->nhide, more, nmore * sizeof(char *));
        rt->nhide += nmore;
        rt->hide[rt->nhide] = NULL;
    }
    free(more);
    if (code != 301 && code != 302 && code != 303 && code != 307 && code != 308) {
        config_error(err, errlen, config_setting_get_member(g, "redirect_code"),
                     "'redirect_code' is 301, 302, 303, 307 or 308");
        return -1;
    }
    if (redirect) {
        if (strpbrk(redirect, "\r\n \t") || !*redirect) {
            config_error(err, errlen, config_setting_get_member(g, "redirect"),
                         "'redirect' must be a URL without spaces");
            return -1;
        }
        rt->redirect = xstrdup(redirect);
    }
    const char *cc = NULL;
    if (config_get_string(g, "client_cert", &cc, err, errlen) < 0)
        return -1;
    if (cc && strcmp(cc, "required") != 0 && strcmp(cc, "off") != 0) {
        config_error(err, errlen, config_setting_get_member(g, "client_cert"),
                     "'client_cert' must be \"required\" or \"off\"");
        return -1;
    }
    rt->client_cert = cc && strcmp(cc, "required") == 0;
    rt->redirect_code = (int)code;
    rt->max_body = (uint64_t)max_body;
    size_t kl = strlen(table) + strlen(rt->host) + rt->path_len + 2;
    rt->key = xmalloc(kl);
    gh_fmt(rt->key, kl, "%s:%s%s", table, rt->host, rt->path);
    return protect_refs_load(cfg, g, &rt->protect, err, errlen);
}

struct route_set *route_load(const struct gh_config *cfg, config_t *file, struct pool_set *pools,
                             char *err, size_t errlen)
{
    struct route_set *rs = xcalloc(1, sizeof(*rs));
    config_setting_t *g = config_lookup(file, "routes");

    if (!g)
        return rs;
    if (config_check_group(g, err, errlen, "'routes' must be a group { name = ( { ... } ); }") < 0)
        goto fail;
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
            if (load_route(cfg, &t->r[k], config_setting_get_elem(tg, k), pools, t->name, err,
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
            struct route *r = &rs->t[i].r[k];
            free_list(r->hide, r->nhide);
            free_list(r->req_remove, r->nreq_remove);
            free_list(r->req_set, 2 * r->nreq_set);
            free_list(r->req_add, 2 * r->nreq_add);
            free_list(r->resp_set, 2 * r->nresp_set);
            free_list(r->resp_add, 2 * r->nresp_add);
            free(r->redirect);
            free(r->key);
            protect_refs_free(&r->protect);
            cache_rules_free(&r->cache);
            compress_conf_free(&r->compress);
            free(r->order.p);
            for (unsigned g = 0; g < r->ngeo; g++)
                free(r->geo[g].order.p);
            free(r->geo);
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

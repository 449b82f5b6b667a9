/* reverse.c — the reverse front-end's decisions (see reverse.h): route the
 * request by host and path to a pool, pick a server, and name it to the
 * core, or answer from a static directory. */
#include "reverse.h"
#include "pool_metrics.h"
#include "cache.h"
#include "acl.h"
#include "checker.h"
#include "choose.h"
#include "exchange.h"
#include "geo.h"
#include "hostname.h"
#include "log.h"
#include "pool.h"
#include "protect.h"
#include "route.h"
#include "shard.h"
#include "status.h"
#include "util.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <strings.h>

/* A reverse listener's settings. */
struct reverse_listener {
    struct route_table *table;
    struct acl *trusted;          /* proxies whose X-Forwarded-For we extend */
    char *status_path;            /* the JSON status document's path, NULL: none */
    int redirect_https;           /* answer everything with a redirect to https */
    struct acl *status_allow;     /* who may read it */
    struct reverse_state *st;
    struct reverse_listener *next;
};

struct reverse_state {
    struct pool_set *pools;
    struct route_set *routes;
    struct reverse_listener *listeners; /* owned here, handed out as fe_conf */
    const struct geo *geo;              /* the generation's MaxMind database, NULL: none */
    const struct resolver_conf *dns;    /* for the health checker's names */
    struct checker *checker;            /* active health checks, once activated */
    struct shard *shard;                /* the cache sharded across the fleet, NULL: not */
};

/* Response fields that tell the world what runs behind the front door. */
static const char *const revealing[] = {"Server", "X-Powered-By", "X-AspNet-Version",
                                        "X-AspNetMvc-Version", "X-Runtime", "X-Generator", NULL};

static const char *const sections[] = {"pools", "routes", "cluster", NULL};
static const char *const listener_keys[] = {"routes", "trusted_proxies", "status_path",
                                            "status_allow", "redirect_https", NULL};
/* Who may read a status page when status_allow is not set: this machine. */
static const char *const loopback[] = {"127.0.0.0/8", "::1/128", NULL};

static void unload(void *state)
{
    struct reverse_state *st = state;

    while (st->listeners) {
        struct reverse_listener *l = st->listeners;
        st->listeners = l->next;
        acl_free(l->trusted);
        acl_free(l->status_allow);
        free(l->status_path);
        free(l);
    }
    checker_stop(st->checker);
    shard_free(st->shard);
    route_free(st->routes);
    pool_free(st->pools);
    free(st);
}

static void *load(const struct gh_config *cfg, config_t *file, char *err, size_t errlen)
{
    struct reverse_state *st = xcalloc(1, sizeof(*st));

    pool_metrics_init();
    st->dns = &cfg->dns;
    st->geo = cfg->geo; /* the `geo` section is the core's (geo_conf.c) */
    st->pools = pool_load(cfg, file, err, errlen);
    if (st->pools)
        st->routes = route_load(cfg, file, st->pools, err, errlen);
    if (!st->routes || shard_load(file, &st->shard, err, errlen) < 0)
        goto fail;
    for (unsigned i = 0; i < st->routes->n; i++)
        for (unsigned k = 0; k < st->routes->t[i].n; k++)
            if (st->routes->t[i].r[k].ngeo && !st->geo) {
                config_error(err, errlen, config_root_setting(file),
                             "routes '%s' use 'geo' but no geo = { database = ...; } is set",
                             st->routes->t[i].name);
                goto fail;
            }
    return st;
fail:
    unload(st);
    return NULL;
}

static void activate(void *state)
{
    struct reverse_state *st = state;

    /* this generation's checks judge the servers from now on; an older
     * generation's checker, running until it is freed, is no longer heard */
    pool_adopt(st->pools, gh_now_ms());
    if (!st->checker)
        st->checker = checker_start(st->pools, st->dns);
    shard_start(st->shard, st->dns);
}

static void *listener(const struct gh_config *cfg, void *state, config_setting_t *ls, char *err,
                      size_t errlen)
{
    struct reverse_state *st = state;
    const char *name = NULL;
    struct route_table *t;

    GH_UNUSED(cfg);
    if (config_get_string(ls, "routes", &name, err, errlen) < 0)
        return NULL;
    if (!name) {
        config_error(err, errlen, ls, "a reverse listener needs 'routes' (the name of a route table)");
        return NULL;
    }
    t = route_table_find(st->routes, name);
    if (!t) {
        config_error(err, errlen, config_setting_get_member(ls, "routes"),
                     "listener uses routes '%s', which is not defined in 'routes'", name);
        return NULL;
    }
    struct reverse_listener *rl = xcalloc(1, sizeof(*rl));
    const char *spath = NULL;
    rl->table = t;
    rl->st = st;
    rl->trusted = acl_new();
    rl->status_allow = acl_new();
    rl->next = st->listeners;
    st->listeners = rl;
    if (config_get_networks(ls, "trusted_proxies", rl->trusted, NULL, err, errlen) < 0 ||
        config_get_string(ls, "status_path", &spath, err, errlen) < 0 ||
        config_get_bool(ls, "redirect_https", &rl->redirect_https, err, errlen) < 0)
        return NULL;
    if (spath && (spath[0] != '/' || strpbrk(spath, " ?#\r\n"))) {
        config_error(err, errlen, config_setting_get_member(ls, "status_path"),
                     "'status_path' is a path such as \"/.gatehouse/status\"");
        return NULL;
    }
    rl->status_path = spath ? xstrdup(spath) : NULL;
    if (config_get_networks(ls, "status_allow", rl->status_allow, spath ? loopback : NULL, err,
                            errlen) < 0)
        return NULL;
    return rl;
}

const struct route_table *reverse_listener_routes(const void *fe_conf)
{
    return ((const struct reverse_listener *)fe_conf)->table;
}

/* X-Forwarded-For, -Proto, -Host and Forwarded, rebuilt: a client's own
 * claims are replaced, only a trusted proxy's are extended. */
static void forwarding_fields(struct exchange *ex, const struct reverse_listener *rl,
                              const char *host, size_t hostlen)
{
    const char *client = exchange_client_text(ex);
    char prior[1024], value[1400];
    int trusted = acl_match(rl->trusted, exchange_client(ex));
    const char *proto = exchange_is_tls(ex) ? "https" : "http";
    size_t n;
    int v6;

    n = 0;
    if (trusted && exchange_field(ex, "x-forwarded-for", prior, sizeof(prior)) > 0) {
        n = gh_cat_str(value, sizeof(value), n, prior);
        n = gh_cat(value, sizeof(value), n, ", ", 2);
    }
    n = gh_cat_str(value, sizeof(value), n, client);
    exchange_set_field(ex, "X-Forwarded-For", value, n);
    exchange_set_field(ex, "X-Forwarded-Proto", proto, strlen(proto));
    if (hostlen)
        exchange_set_field(ex, "X-Forwarded-Host", host, hostlen);
    n = 0;
    if (trusted && exchange_field(ex, "forwarded", prior, sizeof(prior)) > 0) {
        n = gh_cat_str(value, sizeof(value), n, prior);
        n = gh_cat(value, sizeof(value), n, ", ", 2);
    }
    v6 = strchr(client, ':') != NULL; /* an IPv6 address is quoted and bracketed */
    n = gh_cat_str(value, sizeof(value), n, v6 ? "for=\"[" : "for=");
    n = gh_cat_str(value, sizeof(value), n, client);
    n = gh_cat_str(value, sizeof(value), n, v6 ? "]\";proto=" : ";proto=");
    n = gh_cat_str(value, sizeof(value), n, proto);
    exchange_set_field(ex, "Forwarded", value, n);
}

/* Answers with the route's redirect: its URL followed by the request's
 * path and query ("https://www.example.org" + "/a?b"). */
static void redirect(struct exchange *ex, const struct route *rt)
{
    const struct http_head *r = exchange_request(ex);
    struct http_slice t = r->form == HTTP_TARGET_ABSOLUTE ? r->path : r->target;
    size_t rl = strlen(rt->redirect);
    char extra[10240];
    const char *path = t.len ? exchange_str(ex, t) : "/";
    size_t plen = t.len ? t.len : 1;

    if (rl && rt->redirect[rl - 1] == '/' && path[0] == '/')
        rl--; /* one slash between them */
    gh_fmt(extra, sizeof(extra), "Location: %.*s%.*s\r\n", (int)rl, rt->redirect, (int)plen, path);
    exchange_respond(ex, rt->redirect_code, "text/plain; charset=utf-8", extra, "moved\n", 6);
}

/* The route's header edits, and the response fields every site hides. */
static void route_edits(struct exchange *ex, const struct route *rt)
{
    for (const char *const *f = revealing; *f; f++)
        exchange_remove_response_field(ex, *f);
    for (unsigned k = 0; k < rt->nhide; k++)
        exchange_remove_response_field(ex, rt->hide[k]);
    for (unsigned k = 0; k < rt->nreq_remove; k++)
        exchange_remove_field(ex, rt->req_remove[k]);
    for (unsigned k = 0; k < rt->nreq_set; k++)
        exchange_set_field(ex, rt->req_set[2 * k], rt->req_set[2 * k + 1], strlen(rt->req_set[2 * k + 1]));
    for (unsigned k = 0; k < rt->nreq_add; k++)
        exchange_add_field(ex, rt->req_add[2 * k], rt->req_add[2 * k + 1], strlen(rt->req_add[2 * k + 1]));
    for (unsigned k = 0; k < rt->nresp_set; k++) {
        exchange_remove_response_field(ex, rt->resp_set[2 * k]);
        exchange_add_response_field(ex, rt->resp_set[2 * k], rt->resp_set[2 * k + 1],
                                    strlen(rt->resp_set[2 * k + 1]));
    }
    for (unsigned k = 0; k < rt->nresp_add; k++)
        exchange_add_response_field(ex, rt->resp_add[2 * k], rt->resp_add[2 * k + 1],
                                    strlen(rt->resp_add[2 * k + 1]));
    if (rt->hsts && exchange_is_tls(ex)) { /* RFC 6797: only over a secure transport */
        char v[64];
        size_t n = gh_fmt(v, sizeof(v), "max-age=%ld", rt->hsts);
        exchange_remove_response_field(ex, "Strict-Transport-Security");
        exchange_add_response_field(ex, "Strict-Transport-Security", v, n);
    }
}

/* The client's address: the peer's, or, when the peer is a trusted proxy,
 * the last address in X-Forwarded-For that is not one of ours. */
static void client_address(const struct exchange *ex, const struct reverse_listener *rl,
                           struct sockaddr_storage *out)
{
    char xff[1024];
    int n;

    *out = *exchange_client(ex);
    if (!acl_match(rl->trusted, out) || (n = exchange_field(ex, "x-forwarded-for", xff, sizeof(xff))) <= 0)
        return;
    while (n > 0) {
        char *comma = memrchr(xff, ',', (size_t)n), *a = comma ? comma + 1 : xff;
        struct sockaddr_storage ss;
        xff[n] = '\0';
        while (*a == ' ' || *a == '\t')
            a++;
        for (char *e = a + strlen(a); e > a && (e[-1] == ' ' || e[-1] == '\t');)
            *--e = '\0';
        memset(&ss, 0, sizeof(ss));
        if (inet_pton(AF_INET, a, &((struct sockaddr_in *)&ss)->sin_addr) == 1)
            ss.ss_family = AF_INET;
        else if (inet_pton(AF_INET6, a, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1)
            ss.ss_family = AF_INET6;
        else
            return; /* not an address: stop trusting the list here */
        *out = ss;
        if (!acl_match(rl->trusted, &ss))
            return;
        n = comma ? (int)(comma - xff) : 0;
    }
}

/* The pools to try, in order: the first geo rule naming the client's
 * country, else its continent, else the route's own order. */
static const struct pool_order *pool_order(const struct reverse_state *st, const struct route *rt,
                                           const struct sockaddr_storage *client)
{
    char country[3], continent[3];

    if (!rt->ngeo || !st->geo ||
        !geo_lookup(st->geo, (const struct sockaddr *)client, country, continent))
        return &rt->order;
    for (unsigned i = 0; i < rt->ngeo; i++)
        if (!rt->geo[i].continent && strcmp(rt->geo[i].code, country) == 0)
            return &rt->geo[i].order;
    for (unsigned i = 0; i < rt->ngeo; i++)
        if (rt->geo[i].continent && strcmp(rt->geo[i].code, continent) == 0)
            return &rt->geo[i].order;
    return &rt->order;
}

/* A Location naming the server ("http://10.0.0.5:8080/x") is rewritten to
 * the name the client used ("http://www.example.org/x"). */
static void rewrite_location(struct exchange *ex, const struct server *sv, const char *public_host)
{
    const struct http_head *h = exchange_response(ex);
    const char *base = exchange_response_base(ex);
    int i = http1_find(h, base, "location", 0);
    char value[2048];
    const char *v, *rest;
    size_t len, ll = strlen(sv->label), hl = strlen(sv->host ? sv->host : "");

    if (i < 0 || !*public_host || !sv->host)
        return;
    v = base + h->fields[i].value.off;
    len = h->fields[i].value.len;
    if (len > 7 && strncasecmp(v, "http://", 7) == 0)
        rest = v + 7;
    else if (len > 8 && strncasecmp(v, "https://", 8) == 0)
        rest = v + 8;
    else
        return;
    len -= (size_t)(rest - v);
    if (len >= ll && strncasecmp(rest, sv->label, ll) == 0 && (len == ll || rest[ll] == '/'))
        rest += ll, len -= ll;
    else if (sv->port == 80 && len >= hl && strncasecmp(rest, sv->host, hl) == 0 &&
             (len == hl || rest[hl] == '/'))
        rest += hl, len -= hl;
    else
        return;
    size_t n = gh_fmt(value, sizeof(value), "%s://%s%.*s", exchange_is_tls(ex) ? "https" : "http",
                      public_host, (int)len, rest);
    if (n >= sizeof(value) - 1)
        return;
    exchange_remove_response_field(ex, "Location");
    exchange_add_response_field(ex, "Location", value, n);
}

/* The plain listener of a TLS site: everything moves to https, same host
 * (without the port) and target. */
static void to_https(struct exchange *ex, const char *host, size_t hostlen, struct http_slice path)
{
    char extra[10240];

    if (!hostlen) {
        exchange_error(ex, 400, "a redirect to https needs a Host");
        return;
    }
    gh_fmt(extra, sizeof(extra), "Location: https://%.*s%.*s\r\n", (int)hostlen, host,
           path.len ? (int)path.len : 1, path.len ? exchange_str(ex, path) : "/");
    exchange_respond(ex, 301, "text/plain; charset=utf-8", extra, "moved to https\n", 15);
}

/* The status document, or a ban lifted by hand: DELETE with ?ban=KEY
 * (or ?ban=*), from status_allow only. */
static void status_request(struct exchange *ex, const struct reverse_listener *rl, const char *q,
                           size_t qlen)
{
    const struct http_head *r = exchange_request(ex);
    char body[64];
    long lifted;

    if (!acl_match(rl->status_allow, exchange_client(ex))) {
        exchange_error(ex, 403, "status page: client not in status_allow");
        return;
    }
    if (!gh_strcaseeq(exchange_str(ex, r->method), r->method.len, "DELETE")) {
        status_answer(ex, rl->st->pools);
        return;
    }
    if ((lifted = protect_lift_query(q, qlen)) < 0) {
        exchange_error(ex, 400, "DELETE on the status page lifts bans: ?ban=KEY or ?ban=*");
        return;
    }
    exchange_respond(ex, 200, "application/json", "Cache-Control: no-store\r\n", body,
                     gh_fmt(body, sizeof(body), "{\"lifted\":%ld}\n", lifted));
}

/* The view of the protections: the client past trusted proxies, the host
 * in normal form (into hbuf), the target as sent. */
static void protect_view_fill(struct protect_view *pv, struct exchange *ex,
                              const struct sockaddr_storage *client, const char *host,
                              size_t hostlen, struct http_slice path, char *hbuf)
{
    int n = hostlen ? hostname_normalize(host, hostlen, hbuf, HOSTNAME_MAX) : -1;

    protect_view_init(pv, ex, client);
    pv->host = n > 0 ? hbuf : "";
    pv->hostlen = n > 0 ? (size_t)n : 0;
    pv->target = path.len ? exchange_str(ex, path) : "/";
    pv->targetlen = path.len ? path.len : 1;
    pv->route = exchange_listener(ex)->name;
}

static void handle(struct exchange *ex)
{
    const struct reverse_listener *rl = exchange_listener(ex)->fe_conf;
    const struct protect_refs *lp = exchange_listener(ex)->protect;
    const struct route_table *t = rl->table;
    int host_known;
    const struct http_head *r = exchange_request(ex);
    struct http_slice path = r->target;
    const char *host = "";
    size_t hostlen = 0;
    const struct route *rt;
    struct sockaddr_storage client;
    struct protect_view pv;
    char hbuf[HOSTNAME_MAX];
    int i, hop = shard_inbound(ex, rl->st->shard); /* from a peer: applied there */

    if (r->form == HTTP_TARGET_ABSOLUTE) {
        /* the URL's authority overrides Host (RFC 9112 3.2.2): route and
         * forward by the same name, or a route could be bypassed */
        host = exchange_str(ex, r->host);
        hostlen = r->host.len;
        path = r->path;
        exchange_set_field(ex, "Host", exchange_str(ex, r->authority), r->authority.len);
        if (path.len)
            exchange_set_target(ex, exchange_str(ex, path), path.len);
        else
            exchange_set_target(ex, "/", 1);
    } else if (r->form != HTTP_TARGET_ORIGIN && r->form != HTTP_TARGET_ASTERISK) {
        exchange_error(ex, 400, "a site does not accept this request-target form");
        return;
    } else if ((i = http1_find(r, exchange_base(ex), "host", 0)) >= 0) {
        host = exchange_str(ex, r->fields[i].value);
        hostlen = r->fields[i].value.len;
        /* drop the port; keep an IPv6 literal's brackets out of the way */
        if (hostlen && host[0] == '[') {
            const char *rb = memchr(host, ']', hostlen);
            hostlen = rb ? (size_t)(rb - host) + 1 : hostlen;
        } else {
            const char *colon = memchr(host, ':', hostlen);
            if (colon)
                hostlen = (size_t)(colon - host);
        }
    }
    if (r->form == HTTP_TARGET_ASTERISK)
        path.len = 0; /* OPTIONS *: the server as a whole, routed as "/" */
    if (rl->redirect_https && !exchange_is_tls(ex) && !hop) { /* a hop: the first node did */
        to_https(ex, host, hostlen, path);
        return;
    }
    if (rl->status_path && path.len) {
        /* status_allow alone decides: a banned operator can still lift bans */
        const char *p = exchange_str(ex, path), *q = memchr(p, '?', path.len);
        size_t plen = q ? (size_t)(q - p) : path.len;
        if (plen == strlen(rl->status_path) && memcmp(p, rl->status_path, plen) == 0) {
            status_request(ex, rl, q ? q + 1 : "", q ? path.len - plen - 1 : 0);
            return;
        }
    }
    client_address(ex, rl, &client);
    protect_view_fill(&pv, ex, &client, host, hostlen, path, hbuf);
    if (!hop && !protect_refs_empty(lp) && !protect_check(&pv, lp))
        return; /* the listener's deny rules, bans and limits, before routing */
    rt = route_match(t, host, hostlen, path.len ? exchange_str(ex, path) : "/",
                     path.len ? path.len : 1, &host_known);
    if (!rt) {
        if (host_known)
            exchange_error(ex, 404, "no route for this path");
        else
            exchange_error(ex, 421, "this site is not served here");
        return;
    }
    pv.route = rt->key;
    if (!hop && !protect_refs_empty(&rt->protect) && !protect_check(&pv, &rt->protect))
        return;
    if (rt->client_cert && !exchange_client_verified(ex)) {
        /* the listener asks for a certificate (verify_client = "optional");
         * this route insists on one */
        exchange_error(ex, 403, "this route needs a verified client certificate");
        return;
    }
    if (rt->redirect) {
        redirect(ex, rt);
        return;
    }
    if (rt->max_body && !exchange_set_max_body(ex, rt->max_body))
        return;
    if (!hop) /* the first node made them, and makes the response's on the way back */
        route_edits(ex, rt);
    exchange_compress(ex, &rt->compress);
    /* before the cache decides: a background refresh is sent with them */
    if (!hop)
        forwarding_fields(ex, rl, host, hostlen);
    if (!hop && shard_forward(ex, rl->st->shard, rt, pool_order(rl->st, rt, &client), &client))
        return; /* to the node that owns the object */
    if (cache_request(ex, &rt->cache) != CACHE_FORWARD)
        return; /* answered from the cache, or queued behind another's fetch */
    choose_server(ex, rt, pool_order(rl->st, rt, &client), &client);
}

/* The response on its way back: a sticky session's cookie, and a redirect
 * that names the server rewritten to the public name. */
static void response(struct exchange *ex)
{
    const struct server *sv = choose_held(ex);
    const struct route *rt = choose_route(ex);

    if (!sv)
        return;
    choose_sticky_cookie(ex);
    if (rt && rt->rewrite_location)
        rewrite_location(ex, sv, choose_public_host(ex));
}

/* A hop to the owner failed: the route's own servers (the origin) instead;
 * otherwise another server of the pool, as its retries allow. */
static int upstream_failed(struct exchange *ex, int sent, const char *why)
{
    if (shard_failed(ex, why)) {
        choose_resume(ex);
        return choose_held(ex) != NULL;
    }
    return choose_upstream_failed(ex, sent, why);
}

/* A queued exchange: waiting on another request's cache fill (decided
 * again from the start), or on a free server. */
static void resume(struct exchange *ex)
{
    if (cache_waiting(ex)) {
        cache_wait_restart(ex);
        handle(ex);
        return;
    }
    choose_resume(ex);
}

const struct frontend reverse_frontend = {
    .name = "reverse",
    .sections = sections,
    .listener_keys = listener_keys,
    .http2 = 1, /* each stream is an exchange like any other */
    .load = load,
    .listener = listener,
    .free = unload,
    .handle = handle,
    .response = response,
    .upstream_failed = upstream_failed,
    .resume = resume,
    .finished = choose_finished,
    .activate = activate,
};

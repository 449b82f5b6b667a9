/* reverse.c — the reverse front-end's decisions (see reverse.h): route the
 * request by host and path to a pool, pick a server, and name it to the
 * core, or answer from a static directory. */
#include "reverse.h"
#include "acl.h"
#include "exchange.h"
#include "pool.h"
#include "route.h"
#include "static.h"
#include "util.h"

#include <stdlib.h>

/* A reverse listener's settings. */
struct reverse_listener {
    struct route_table *table;
    struct acl *trusted;          /* proxies whose X-Forwarded-For we extend */
    struct reverse_listener *next;
};

struct reverse_state {
    struct pool_set *pools;
    struct route_set *routes;
    struct reverse_listener *listeners; /* owned here, handed out as fe_conf */
};

/* Response fields that tell the world what runs behind the front door. */
static const char *const revealing[] = {"Server", "X-Powered-By", "X-AspNet-Version",
                                        "X-AspNetMvc-Version", "X-Runtime", "X-Generator", NULL};

static const char *const sections[] = {"pools", "routes", NULL};
static const char *const listener_keys[] = {"routes", "trusted_proxies", NULL};

static void unload(void *state)
{
    struct reverse_state *st = state;

    while (st->listeners) {
        struct reverse_listener *l = st->listeners;
        st->listeners = l->next;
        acl_free(l->trusted);
        free(l);
    }
    route_free(st->routes);
    pool_free(st->pools);
    free(st);
}

static void *load(const struct gh_config *cfg, config_t *file, char *err, size_t errlen)
{
    struct reverse_state *st = xcalloc(1, sizeof(*st));

    st->pools = pool_load(cfg, file, err, errlen);
    if (st->pools)
        st->routes = route_load(cfg, file, st->pools, err, errlen);
    if (!st->routes) {
        unload(st);
        return NULL;
    }
    return st;
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
    rl->table = t;
    rl->trusted = acl_new();
    rl->next = st->listeners;
    st->listeners = rl;
    config_setting_t *tp = config_setting_get_member(ls, "trusted_proxies");
    for (int i = 0; tp && i < config_setting_length(tp); i++) {
        const char *net = config_setting_get_string_elem(tp, i);
        char msg[256];
        if (!net || acl_add(rl->trusted, net, msg, sizeof(msg)) < 0) {
            config_error(err, errlen, tp, "%s", net ? msg : "'trusted_proxies' entries are networks");
            return NULL;
        }
    }
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
    size_t n;

    if (trusted && exchange_field(ex, "x-forwarded-for", prior, sizeof(prior)) > 0)
        n = gh_fmt(value, sizeof(value), "%s, %s", prior, client);
    else
        n = gh_fmt(value, sizeof(value), "%s", client);
    exchange_set_field(ex, "X-Forwarded-For", value, n);
    exchange_set_field(ex, "X-Forwarded-Proto", "http", 4);
    if (hostlen)
        exchange_set_field(ex, "X-Forwarded-Host", host, hostlen);
    n = gh_fmt(value, sizeof(value), "%s%sfor=%s%s%s;proto=http",
               trusted && exchange_field(ex, "forwarded", prior, sizeof(prior)) > 0 ? prior : "",
               trusted && exchange_field(ex, "forwarded", prior, sizeof(prior)) > 0 ? ", " : "",
               strchr(client, ':') ? "\"[" : "", client, strchr(client, ':') ? "]\"" : "");
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
}

static void handle(struct exchange *ex)
{
    const struct reverse_listener *rl = exchange_listener(ex)->fe_conf;
    const struct route_table *t = rl->table;
    int host_known;
    const struct http_head *r = exchange_request(ex);
    struct http_slice path = r->target;
    const char *host = "";
    size_t hostlen = 0;
    const struct route *rt;
    const struct server *sv;
    int i;

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
    rt = route_match(t, host, hostlen, path.len ? exchange_str(ex, path) : "/",
                     path.len ? path.len : 1, &host_known);
    if (!rt) {
        if (host_known)
            exchange_error(ex, 404, "no route for this path");
        else
            exchange_error(ex, 421, "this site is not served here");
        return;
    }
    if (rt->redirect) {
        redirect(ex, rt);
        return;
    }
    if (rt->max_body && !exchange_set_max_body(ex, rt->max_body))
        return;
    route_edits(ex, rt);
    sv = pool_pick(rt->pool);
    exchange_set_label(ex, sv->label);
    if (sv->root)
        static_serve(ex, sv->root);
    else {
        forwarding_fields(ex, rl, host, hostlen);
        exchange_forward(ex, sv->host, strlen(sv->host), sv->port, sv->label);
    }
}

const struct frontend reverse_frontend = {
    .name = "reverse",
    .sections = sections,
    .listener_keys = listener_keys,
    .load = load,
    .listener = listener,
    .free = unload,
    .handle = handle,
};

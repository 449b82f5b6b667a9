/* listeners.c — the `listeners` list of the configuration (see
 * listeners.h): each listener's name, mode, addresses, PROXY protocol,
 * TLS, HTTP/2, protections (read by protect_conf.c and connlimit.c) and
 * the metrics paths, the front-end's own keys handed to it, and the rule
 * of one address, one listener.  Binding the sockets is sockets.c's. */
#include "listeners.h"
#include "config.h"
#include "connlimit.h"
#include "protect.h"
#include "acl.h"
#include "tls.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static const char *const listener_keys[] = {
    "name",         "mode",           "listen",        "proxy_protocol", "tls",        "http2",
    "h2c",          "transparent",    "metrics_path",  "dashboard_path", "metrics_allow",
    CONNLIMIT_KEY,  PROTECT_KEYS,     NULL};

/* Who may read metrics_path and dashboard_path unless metrics_allow says. */
static const char *const ops_allow_default[] = {"127.0.0.0/8", "::1", NULL};

/* metrics_path, dashboard_path (each an absolute path, not the other's)
 * and metrics_allow. */
static int load_ops(struct listener_conf *l, config_setting_t *ls, char *err, size_t errlen)
{
    const char *mp = NULL, *dp = NULL;

    if (config_get_string(ls, "metrics_path", &mp, err, errlen) < 0 ||
        config_get_string(ls, "dashboard_path", &dp, err, errlen) < 0)
        return -1;
    if ((mp && mp[0] != '/') || (dp && dp[0] != '/')) {
        config_error(err, errlen, config_setting_get_member(ls, mp && mp[0] != '/' ? "metrics_path" : "dashboard_path"),
                     "listener '%s': a path must start with '/'", l->name);
        return -1;
    }
    if (mp && dp && strcmp(mp, dp) == 0) {
        config_error(err, errlen, config_setting_get_member(ls, "dashboard_path"),
                     "listener '%s': dashboard_path is metrics_path", l->name);
        return -1;
    }
    l->metrics_path = mp ? xstrdup(mp) : NULL;
    l->dashboard_path = dp ? xstrdup(dp) : NULL;
    l->ops_allow = acl_new();
    return config_get_networks(ls, "metrics_allow", l->ops_allow, ops_allow_default, err, errlen);
}

static const struct frontend *find_fe(const struct gh_config *c, const char *name)
{
    for (unsigned i = 0; i < c->nfes; i++)
        if (strcmp(c->fes[i]->name, name) == 0)
            return c->fes[i];
    return NULL;
}

static int load_listen(struct listener_conf *l, config_setting_t *s, char *err, size_t errlen)
{
    int n;

    if (!s)
        return -2;
    if (config_setting_type(s) == CONFIG_TYPE_STRING)
        n = 1;
    else if (config_setting_is_array(s) || config_setting_is_list(s))
        n = config_setting_length(s);
    else {
        config_error(err, errlen, s, "'listen' must be an address string or a list of them");
        return -1;
    }
    if (n < 1) {
        config_error(err, errlen, s, "'listen' is empty");
        return -1;
    }
    l->addrs = xcalloc((size_t)n, sizeof(*l->addrs));
    for (int i = 0; i < n; i++) {
        config_setting_t *e = n == 1 && config_setting_type(s) == CONFIG_TYPE_STRING
                                  ? s
                                  : config_setting_get_elem(s, (unsigned)i);
        const char *text = config_setting_get_string(e);
        struct listen_addr *a = &l->addrs[i];
        if (!text || strlen(text) >= sizeof(a->text) ||
            config_parse_addr(text, &a->ss, &a->len) < 0) {
            config_error(err, errlen, e,
                         "listener '%s': bad listen address '%s' (want \"ip:port\" or "
                         "\"[ipv6]:port\", port 1-65535)",
                         l->name, text ? text : "(not a string)");
            return -1;
        }
        strcpy(a->text, text);
        l->naddrs++;
    }
    return 0;
}

/* `transparent`: only for a mode that takes redirected connections, and
 * not with TLS or a PROXY header, which a redirected client never sends. */
static int load_transparent(struct listener_conf *l, config_setting_t *ls, char *err,
                            size_t errlen)
{
    config_setting_t *s = config_setting_get_member(ls, "transparent");

    if (config_get_bool(ls, "transparent", &l->transparent, err, errlen) < 0)
        return -1;
    if (!l->transparent)
        return 0;
    if (!l->fe->transparent)
        config_error(err, errlen, s, "listener '%s': 'transparent' is for forward listeners",
                     l->name);
    else if (l->tls || l->proxy_protocol)
        config_error(err, errlen, s,
                     "listener '%s': a transparent listener takes neither 'tls' nor "
                     "'proxy_protocol' (redirected clients send neither)",
                     l->name);
    else {
        for (unsigned i = 0; i < l->naddrs; i++)
            l->addrs[i].transparent = 1;
        return 0;
    }
    return -1;
}

/* `http2` (TLS: h2 offered by ALPN, on by default where the front-end
 * takes HTTP/2) and `h2c` (plain: HTTP/2 with prior knowledge, opt-in).
 * A forward listener stays HTTP/1.1: its clients' CONNECT tunnels are
 * HTTP/1.1's. */
static int load_h2(struct listener_conf *l, const config_setting_t *ls, char *err, size_t errlen)
{
    const config_setting_t *s2 = config_setting_get_member(ls, "http2");
    const config_setting_t *sc = config_setting_get_member(ls, "h2c");
    int tls = config_setting_get_member(ls, "tls") != NULL;

    l->http2 = tls && l->fe->http2;
    if (config_get_bool(ls, "http2", &l->http2, err, errlen) < 0 ||
        config_get_bool(ls, "h2c", &l->h2c, err, errlen) < 0)
        return -1;
    if ((l->http2 || l->h2c) && !l->fe->http2) {
        config_error(err, errlen, l->h2c ? sc : s2,
                     "listener '%s': HTTP/2 is for reverse listeners (a %s listener speaks "
                     "HTTP/1.1)",
                     l->name, l->fe->name);
        return -1;
    }
    if (l->h2c && tls) {
        config_error(err, errlen, sc,
                     "listener '%s': 'h2c' is for plain listeners; over TLS, HTTP/2 is agreed "
                     "by ALPN ('http2')",
                     l->name);
        return -1;
    }
    if (l->h2c && s2 && !l->http2) {
        config_error(err, errlen, s2, "listener '%s': 'h2c' needs 'http2'", l->name);
        return -1;
    }
    if (l->http2 && !tls && !l->h2c) {
        config_error(err, errlen, s2,
                     "listener '%s': plain HTTP/2 is 'h2c = true' (with prior knowledge); "
                     "'http2' is agreed by ALPN over TLS",
                     l->name);
        return -1;
    }
    l->http2 |= l->h2c;
    return 0;
}

static int load_listener(struct gh_config *c, struct listener_conf *l, config_setting_t *ls,
                         char *err, size_t errlen)
{
    const char *name = NULL, *mode = NULL;
    int rc;

    l->line = (int)config_setting_source_line(ls);
    l->file = xstrdup(config_setting_source_file(ls) ? config_setting_source_file(ls) : c->path);
    if (config_check_group(ls, err, errlen,
                           "each listener must be a group { name = ...; mode = ...; }") < 0)
        return -1;
    if (config_get_string(ls, "name", &name, err, errlen) < 0 ||
        config_get_string(ls, "mode", &mode, err, errlen) < 0)
        return -1;
    if (!name || !*name) {
        config_error(err, errlen, ls, "listener without a 'name'");
        return -1;
    }
    l->name = xstrdup(name);
    for (unsigned i = 0; i < (unsigned)(l - c->listeners); i++)
        if (strcmp(c->listeners[i].name, name) == 0) {
            config_error(err, errlen, ls, "listener name '%s' is used twice", name);
            return -1;
        }
    if (!mode) {
        config_error(err, errlen, ls, "listener '%s' has no 'mode' (forward or reverse)", name);
        return -1;
    }
    l->fe = find_fe(c, mode);
    if (!l->fe) {
        config_error(err, errlen, config_setting_get_member(ls, "mode"),
                     "listener '%s': unknown mode '%s' (forward or reverse)", name, mode);
        return -1;
    }
    if (config_check_keys(ls, listener_keys, l->fe->listener_keys, err, errlen) < 0 ||
        config_get_bool(ls, "proxy_protocol", &l->proxy_protocol, err, errlen) < 0)
        return -1;
    rc = load_listen(l, config_setting_get_member(ls, "listen"), err, errlen);
    if (rc == -2) {
        config_error(err, errlen, ls, "listener '%s' has no 'listen' address", name);
        return -1;
    }
    if (rc < 0)
        return -1;
    if (load_ops(l, ls, err, errlen) < 0 || load_h2(l, ls, err, errlen) < 0)
        return -1;
    config_setting_t *tls = config_setting_get_member(ls, "tls");
    if (tls && !(l->tls = tls_server_load(c, tls, l->http2, err, errlen)))
        return -1;
    l->protect = xcalloc(1, sizeof(*l->protect));
    if (load_transparent(l, ls, err, errlen) < 0 ||
        protect_refs_load(c, ls, l->protect, err, errlen) < 0 ||
        connlimit_load(c, l->name, ls, &l->conns, err, errlen) < 0)
        return -1;
    l->fe_conf = l->fe->listener(c, config_fe_state(c, l->fe), ls, err, errlen);
    return l->fe_conf ? 0 : -1;
}

/* Whether two listen addresses name the same socket ("*:80" is "0.0.0.0:80",
 * "[0:0::1]:80" is "[::1]:80"). */
static int same_addr(const struct listen_addr *x, const struct listen_addr *y)
{
    if (x->ss.ss_family != y->ss.ss_family)
        return 0;
    if (x->ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const void *)&x->ss, *b = (const void *)&y->ss;
        return a->sin6_port == b->sin6_port &&
               memcmp(&a->sin6_addr, &b->sin6_addr, sizeof(a->sin6_addr)) == 0;
    }
    const struct sockaddr_in *a = (const void *)&x->ss, *b = (const void *)&y->ss;
    return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
}

int listeners_load(struct gh_config *c, const config_setting_t *g, char *err, size_t errlen)
{
    int n;

    if (!g) {
        config_error(err, errlen, NULL, "%s: no 'listeners' defined", c->path);
        return -1;
    }
    if (!config_setting_is_list(g)) {
        config_error(err, errlen, g, "'listeners' must be a list ( { ... }, { ... } )");
        return -1;
    }
    n = config_setting_length(g);
    if (n == 0) {
        config_error(err, errlen, g, "'listeners' is empty");
        return -1;
    }
    c->listeners = xcalloc((size_t)n, sizeof(*c->listeners));
    for (int i = 0; i < n; i++) {
        c->nlisteners = (unsigned)i + 1;
        if (load_listener(c, &c->listeners[i], config_setting_get_elem(g, (unsigned)i), err,
                          errlen) < 0)
            return -1;
    }
    /* One address, one listener. */
    for (unsigned i = 0; i < c->nlisteners; i++)
        for (unsigned j = 0; j <= i; j++)
            for (unsigned a = 0; a < c->listeners[i].naddrs; a++)
                for (unsigned b = 0; b < c->listeners[j].naddrs; b++) {
                    if (i == j && b >= a)
                        break;
                    if (same_addr(&c->listeners[i].addrs[a], &c->listeners[j].addrs[b])) {
                        config_error(err, errlen, config_setting_get_elem(g, i),
                                     "address %s is used by listeners '%s' and '%s'",
                                     c->listeners[i].addrs[a].text, c->listeners[j].name,
                                     c->listeners[i].name);
                        return -1;
                    }
                }
    return 0;
}

void listeners_free(struct gh_config *c)
{
    for (unsigned i = 0; i < c->nlisteners; i++) {
        free(c->listeners[i].name);
        free(c->listeners[i].addrs);
        tls_server_free(c->listeners[i].tls);
        if (c->listeners[i].protect)
            protect_refs_free(c->listeners[i].protect);
        free(c->listeners[i].protect);
        connlimit_free(c->listeners[i].conns);
        free(c->listeners[i].file);
        free(c->listeners[i].metrics_path);
        free(c->listeners[i].dashboard_path);
        acl_free(c->listeners[i].ops_allow);
    }
    free(c->listeners);
    c->listeners = NULL;
    c->nlisteners = 0;
}

const struct listener_conf *config_listener(const struct gh_config *c, const char *name)
{
    for (unsigned i = 0; i < c->nlisteners; i++)
        if (strcmp(c->listeners[i].name, name) == 0)
            return &c->listeners[i];
    return NULL;
}

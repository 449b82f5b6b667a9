/* config.c — loads one configuration generation (see config.h).
 * Owns the core's settings and the listener list; each front-end parses its
 * own sections through the hooks it registered, this file only dispatches. */
#include "config.h"
#include "cache_store.h"
#include "tls.h"
#include "log.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static const char *const root_keys[] = {"workers", "user",      "log",      "http",
                                        "timeouts", "resolver", "listeners", "cache", NULL};
static const char *const resolver_keys[] = {"nameservers", "timeout", "attempts", "cache_max_ttl",
                                            "negative_ttl", NULL};
static const char *const log_keys[] = {"level", "error", "access", "format", NULL};
static const char *const http_keys[] = {"max_request_line", "max_header_bytes", "max_headers",
                                        "max_body_bytes",  "underscores_in_headers",
                                        "via",             "allow_trace",
                                        NULL};
static const char *const timeout_keys[] = {"client_header", "client_body", "keepalive",
                                           "send",          "upstream_connect",
                                           "upstream_read", "upstream_keepalive",
                                           "tunnel",        "drain",
                                           NULL};
static const char *const listener_keys[] = {"name", "mode", "listen", "proxy_protocol", "tls", NULL};

void config_error(char *err, size_t errlen, const config_setting_t *s, const char *fmt, ...)
{
    va_list ap;
    size_t n = 0;
    const char *file = s ? config_setting_source_file(s) : NULL;

    if (file)
        n = gh_fmt(err, errlen, "%s:%u: ", file, s ? config_setting_source_line(s) : 0);
    va_start(ap, fmt);
    vsnprintf(err + n, errlen - n, fmt, ap);
    va_end(ap);
}

static int in_list(const char *name, const char *const *list)
{
    for (; list && *list; list++)
        if (strcmp(name, *list) == 0)
            return 1;
    return 0;
}

int config_check_keys(const config_setting_t *group, const char *const *known,
                      const char *const *known2, char *err, size_t errlen)
{
    int n = config_setting_length(group);

    for (int i = 0; i < n; i++) {
        config_setting_t *m = config_setting_get_elem(group, (unsigned)i);
        const char *name = config_setting_name(m);
        if (name && !in_list(name, known) && !in_list(name, known2)) {
            config_error(err, errlen, m, "unknown setting '%s'", name);
            return -1;
        }
    }
    return 0;
}

int config_get_int(const config_setting_t *g, const char *key, long lo, long hi, long *out,
                   char *err, size_t errlen)
{
    config_setting_t *s = config_setting_get_member(g, key);
    long v;

    if (!s)
        return 0;
    if (config_setting_type(s) == CONFIG_TYPE_INT)
        v = config_setting_get_int(s);
    else if (config_setting_type(s) == CONFIG_TYPE_INT64)
        v = (long)config_setting_get_int64(s);
    else {
        config_error(err, errlen, s, "'%s' must be an integer", key);
        return -1;
    }
    if (v < lo || v > hi) {
        config_error(err, errlen, s, "'%s' must be between %ld and %ld, not %ld", key, lo, hi, v);
        return -1;
    }
    *out = v;
    return 0;
}

int config_get_bool(const config_setting_t *g, const char *key, int *out, char *err, size_t errlen)
{
    config_setting_t *s = config_setting_get_member(g, key);

    if (!s)
        return 0;
    if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
        config_error(err, errlen, s, "'%s' must be true or false", key);
        return -1;
    }
    *out = config_setting_get_bool(s);
    return 0;
}

int config_get_string(const config_setting_t *g, const char *key, const char **out, char *err,
                      size_t errlen)
{
    config_setting_t *s = config_setting_get_member(g, key);

    if (!s)
        return 0;
    if (config_setting_type(s) != CONFIG_TYPE_STRING) {
        config_error(err, errlen, s, "'%s' must be a string", key);
        return -1;
    }
    *out = config_setting_get_string(s);
    return 0;
}

int config_get_seconds(const config_setting_t *g, const char *key, double lo, double hi,
                       uint32_t *ms, char *err, size_t errlen)
{
    config_setting_t *s = config_setting_get_member(g, key);
    double v;

    if (!s)
        return 0;
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_INT: v = config_setting_get_int(s); break;
    case CONFIG_TYPE_INT64: v = (double)config_setting_get_int64(s); break;
    case CONFIG_TYPE_FLOAT: v = config_setting_get_float(s); break;
    default:
        config_error(err, errlen, s, "'%s' must be a number of seconds", key);
        return -1;
    }
    if (v < lo || v > hi) {
        config_error(err, errlen, s, "'%s' must be between %g and %g seconds", key, lo, hi);
        return -1;
    }
    *ms = (uint32_t)(v * 1000.0 + 0.5);
    return 0;
}

char *config_path(const struct gh_config *c, const char *p)
{
    char *out;
    size_t n;

    if (p[0] == '/' || !c->dir)
        return xstrdup(p);
    n = strlen(c->dir) + strlen(p) + 2;
    out = xmalloc(n);
    gh_fmt(out, n, "%s/%s", c->dir, p);
    return out;
}

int config_parse_addr(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[64];
    const char *colon, *hs = text;
    size_t hl;
    char *end;
    long port;

    memset(ss, 0, sizeof(*ss));
    if (text[0] == '[') {
        const char *rb = strchr(text, ']');
        if (!rb || rb[1] != ':')
            return -1;
        hs = text + 1;
        hl = (size_t)(rb - hs);
        colon = rb + 1;
    } else {
        colon = strrchr(text, ':');
        if (!colon)
            return -1;
        hl = (size_t)(colon - text);
    }
    if (hl >= sizeof(host))
        return -1;
    memcpy(host, hs, hl);
    host[hl] = '\0';
    for (const char *d = colon + 1; *d; d++)
        if (*d < '0' || *d > '9')
            return -1; /* digits only: no sign, no space */
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    if (errno || *end || end == colon + 1 || port < 1 || port > 65535)
        return -1;
    if (text[0] == '[') {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
            return -1;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*s6);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
        if (strcmp(host, "*") == 0 || host[0] == '\0')
            s4->sin_addr.s_addr = htonl(INADDR_ANY);
        else if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
            return -1;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        *len = sizeof(*s4);
    }
    return 0;
}

/* ---- the core's sections ---- */

static int load_log(struct gh_config *c, config_setting_t *g, char *err, size_t errlen)
{
    const char *level = NULL, *error = NULL, *access = NULL, *format = NULL;

    if (!g)
        return 0;
    if (!config_setting_is_group(g)) {
        config_error(err, errlen, g, "'log' must be a group { ... }");
        return -1;
    }
    if (config_check_keys(g, log_keys, NULL, err, errlen) < 0 ||
        config_get_string(g, "level", &level, err, errlen) < 0 ||
        config_get_string(g, "error", &error, err, errlen) < 0 ||
        config_get_string(g, "access", &access, err, errlen) < 0 ||
        config_get_string(g, "format", &format, err, errlen) < 0)
        return -1;
    if (level) {
        c->log_level = log_level_parse(level);
        if (c->log_level < 0) {
            config_error(err, errlen, config_setting_get_member(g, "level"),
                         "unknown log level '%s' (error, warn, info, debug)", level);
            return -1;
        }
    }
    if (format) {
        if (strcmp(format, "gatehouse") == 0)
            c->log_format = LOG_FORMAT_GATEHOUSE;
        else if (strcmp(format, "combined") == 0)
            c->log_format = LOG_FORMAT_COMBINED;
        else if (strcmp(format, "common") == 0)
            c->log_format = LOG_FORMAT_COMMON;
        else {
            config_error(err, errlen, config_setting_get_member(g, "format"),
                         "unknown access log format '%s' (gatehouse, combined, common)", format);
            return -1;
        }
    }
    if (error) {
        free(c->log_error);
        c->log_error = strcmp(error, "stderr") == 0 ? xstrdup(error) : config_path(c, error);
    }
    if (access) {
        free(c->log_access);
        c->log_access = (strcmp(access, "stdout") == 0 || strcmp(access, "stderr") == 0 ||
                         strcmp(access, "off") == 0)
                            ? xstrdup(access)
                            : config_path(c, access);
    }
    return 0;
}

static int load_http(struct gh_config *c, config_setting_t *g, char *err, size_t errlen)
{
    long line = c->limits.max_line, head = c->limits.max_head, fields = c->limits.max_fields;
    long body = (long)c->max_body;
    int us = c->limits.allow_underscore;
    const char *via = NULL;

    if (!g)
        return 0;
    if (!config_setting_is_group(g)) {
        config_error(err, errlen, g, "'http' must be a group { ... }");
        return -1;
    }
    if (config_check_keys(g, http_keys, NULL, err, errlen) < 0 ||
        config_get_int(g, "max_request_line", 256, 16384, &line, err, errlen) < 0 ||
        config_get_int(g, "max_header_bytes", 1024, 16384, &head, err, errlen) < 0 ||
        config_get_int(g, "max_headers", 8, HTTP1_MAX_HEADERS, &fields, err, errlen) < 0 ||
        config_get_int(g, "max_body_bytes", 0, (long)(((unsigned long)-1) >> 1), &body, err,
                       errlen) < 0 ||
        config_get_bool(g, "underscores_in_headers", &us, err, errlen) < 0 ||
        config_get_bool(g, "allow_trace", &c->allow_trace, err, errlen) < 0 ||
        config_get_string(g, "via", &via, err, errlen) < 0)
        return -1;
    c->limits.max_line = (uint32_t)line;
    c->limits.max_head = (uint32_t)head;
    c->limits.max_fields = (uint32_t)fields;
    c->limits.allow_underscore = us;
    c->max_body = (uint64_t)body;
    if (via) {
        for (const char *p = via; *p; p++)
            if (*p <= ' ' || *p >= 0x7f || *p == ',') {
                config_error(err, errlen, config_setting_get_member(g, "via"),
                             "'via' must be a single token without spaces or commas");
                return -1;
            }
        free(c->via_name);
        c->via_name = xstrdup(via);
    }
    return 0;
}

static int load_timeouts(struct gh_config *c, config_setting_t *g, char *err, size_t errlen)
{
    struct timeouts *t = &c->to;
    const double day = 86400.0;

    if (!g)
        return 0;
    if (!config_setting_is_group(g)) {
        config_error(err, errlen, g, "'timeouts' must be a group { ... }");
        return -1;
    }
    if (config_check_keys(g, timeout_keys, NULL, err, errlen) < 0 ||
        config_get_seconds(g, "client_header", 0.01, day, &t->client_header, err, errlen) < 0 ||
        config_get_seconds(g, "client_body", 0.01, day, &t->client_body, err, errlen) < 0 ||
        config_get_seconds(g, "keepalive", 0.0, day, &t->keepalive, err, errlen) < 0 ||
        config_get_seconds(g, "send", 0.01, day, &t->send, err, errlen) < 0 ||
        config_get_seconds(g, "upstream_connect", 0.01, day, &t->upstream_connect, err, errlen) <
            0 ||
        config_get_seconds(g, "upstream_read", 0.01, day, &t->upstream_read, err, errlen) < 0 ||
        config_get_seconds(g, "upstream_keepalive", 0.0, day, &t->upstream_keepalive, err,
                           errlen) < 0 ||
        config_get_seconds(g, "tunnel", 0.01, 7 * day, &t->tunnel, err, errlen) < 0 ||
        config_get_seconds(g, "drain", 0.0, day, &t->drain, err, errlen) < 0)
        return -1;
    return 0;
}

static int load_resolver(struct gh_config *c, config_setting_t *g, char *err, size_t errlen)
{
    struct resolver_conf *r = &c->dns;
    config_setting_t *ns;
    long attempts = r->attempts, max_ttl = r->cache_max_ttl, neg = r->negative_ttl;
    char csv[1024] = "";
    size_t n = 0;

    if (!g)
        return 0;
    if (!config_setting_is_group(g)) {
        config_error(err, errlen, g, "'resolver' must be a group { ... }");
        return -1;
    }
    if (config_check_keys(g, resolver_keys, NULL, err, errlen) < 0 ||
        config_get_seconds(g, "timeout", 0.1, 60, &r->timeout, err, errlen) < 0 ||
        config_get_int(g, "attempts", 1, 10, &attempts, err, errlen) < 0 ||
        config_get_int(g, "cache_max_ttl", 0, 86400, &max_ttl, err, errlen) < 0 ||
        config_get_int(g, "negative_ttl", 0, 3600, &neg, err, errlen) < 0)
        return -1;
    r->attempts = (uint32_t)attempts;
    r->cache_max_ttl = (uint32_t)max_ttl;
    r->negative_ttl = (uint32_t)neg;
    ns = config_setting_get_member(g, "nameservers");
    if (!ns)
        return 0;
    if (!config_setting_is_array(ns) && !config_setting_is_list(ns)) {
        config_error(err, errlen, ns, "'nameservers' must be a list [ \"10.0.0.53\", \"[::1]:53\" ]");
        return -1;
    }
    for (int i = 0; i < config_setting_length(ns); i++) {
        config_setting_t *e = config_setting_get_elem(ns, (unsigned)i);
        const char *a = config_setting_get_string(e);
        struct sockaddr_storage ss;
        socklen_t len;
        unsigned char bin[16];
        char with_port[80];
        if (!a || strlen(a) > 64) {
            config_error(err, errlen, e, "'nameservers' entries are addresses");
            return -1;
        }
        if (inet_pton(AF_INET, a, bin) == 1) /* a bare address means port 53 */
            gh_fmt(with_port, sizeof(with_port), "%s:53", a);
        else if (inet_pton(AF_INET6, a, bin) == 1)
            gh_fmt(with_port, sizeof(with_port), "[%s]:53", a);
        else
            gh_fmt(with_port, sizeof(with_port), "%s", a);
        if (config_parse_addr(with_port, &ss, &len) < 0) {
            config_error(err, errlen, e, "bad nameserver '%s' (an IP address, with :port if not 53)", a);
            return -1;
        }
        n += gh_fmt(csv + n, sizeof(csv) - n, "%s%s", n ? "," : "", with_port);
    }
    free(r->nameservers);
    r->nameservers = n ? xstrdup(csv) : NULL;
    return 0;
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

static int load_listener(struct gh_config *c, struct listener_conf *l, config_setting_t *ls,
                         char *err, size_t errlen)
{
    const char *name = NULL, *mode = NULL;
    int rc;

    l->line = (int)config_setting_source_line(ls);
    if (!config_setting_is_group(ls)) {
        config_error(err, errlen, ls, "each listener must be a group { name = ...; mode = ...; }");
        return -1;
    }
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
    config_setting_t *tls = config_setting_get_member(ls, "tls");
    if (tls && !(l->tls = tls_server_load(c, tls, err, errlen)))
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

static int load_listeners(struct gh_config *c, config_setting_t *g, char *err, size_t errlen)
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

static void set_defaults(struct gh_config *c)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    c->workers = cpus > 0 ? (unsigned)cpus : 1;
    c->log_level = LOG_INFO;
    c->log_error = xstrdup("stderr");
    c->log_access = xstrdup("stdout");
    c->log_format = LOG_FORMAT_GATEHOUSE;
    c->via_name = xstrdup("gatehouse");
    c->limits.max_line = 8192;
    c->limits.max_head = 16384;
    c->limits.max_fields = 100;
    c->limits.allow_underscore = 0;
    c->max_body = 0;
    c->to.client_header = 10000;
    c->to.client_body = 60000;
    c->to.keepalive = 75000;
    c->to.send = 60000;
    c->to.upstream_connect = 5000;
    c->to.upstream_read = 60000;
    c->to.upstream_keepalive = 30000;
    c->to.tunnel = 600000;
    c->dns.timeout = 2000;
    c->dns.attempts = 2;
    c->dns.cache_max_ttl = 3600;
    c->dns.negative_ttl = 5;
    c->to.drain = 10000;
}

static int load_root(struct gh_config *c, config_t *file, char *err, size_t errlen)
{
    config_setting_t *root = config_root_setting(file);
    const char *user = NULL;
    long workers = 0;
    unsigned i;

    /* The root may hold the core's keys and those of every front-end. */
    for (int k = 0; k < config_setting_length(root); k++) {
        config_setting_t *m = config_setting_get_elem(root, (unsigned)k);
        const char *name = config_setting_name(m);
        int known = in_list(name, root_keys);
        for (i = 0; i < c->nfes && !known; i++)
            known = in_list(name, c->fes[i]->sections);
        if (!known) {
            config_error(err, errlen, m, "unknown setting '%s'", name);
            return -1;
        }
    }
    if (config_get_int(root, "workers", 0, 256, &workers, err, errlen) < 0 ||
        config_get_string(root, "user", &user, err, errlen) < 0)
        return -1;
    if (workers > 0)
        c->workers = (unsigned)workers;
    if (user)
        c->user = xstrdup(user);
    if (load_log(c, config_setting_get_member(root, "log"), err, errlen) < 0 ||
        load_http(c, config_setting_get_member(root, "http"), err, errlen) < 0 ||
        load_timeouts(c, config_setting_get_member(root, "timeouts"), err, errlen) < 0 ||
        load_resolver(c, config_setting_get_member(root, "resolver"), err, errlen) < 0 ||
        cache_conf_load(&c->cache, config_setting_get_member(root, "cache"), err, errlen) < 0)
        return -1;
    c->fe_state = xcalloc(c->nfes, sizeof(void *));
    for (i = 0; i < c->nfes; i++) {
        c->fe_state[i] = c->fes[i]->load(c, file, err, errlen);
        if (!c->fe_state[i])
            return -1;
    }
    return load_listeners(c, config_setting_get_member(root, "listeners"), err, errlen);
}

struct gh_config *config_load(const char *path, const struct frontend *const *fes, unsigned nfes,
                              char *err, size_t errlen)
{
    struct gh_config *c = xcalloc(1, sizeof(*c));
    config_t file;
    char *copy;
    int ok;

    atomic_init(&c->refs, 1);
    c->path = xstrdup(path);
    copy = xstrdup(path);
    c->dir = xstrdup(dirname(copy));
    free(copy);
    c->fes = fes;
    c->nfes = nfes;
    set_defaults(c);

    config_init(&file);
    config_set_include_dir(&file, c->dir);
    if (!config_read_file(&file, path)) {
        if (config_error_type(&file) == CONFIG_ERR_FILE_IO)
            gh_fmt(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        else
            gh_fmt(err, errlen, "%s:%d: %s",
                   config_error_file(&file) ? config_error_file(&file) : path,
                   config_error_line(&file), config_error_text(&file));
        ok = 0;
    } else {
        ok = load_root(c, &file, err, errlen) == 0;
    }
    config_destroy(&file);
    if (!ok) {
        config_unref(c);
        return NULL;
    }
    return c;
}

struct gh_config *config_ref(struct gh_config *c)
{
    atomic_fetch_add(&c->refs, 1);
    return c;
}

void config_unref(struct gh_config *c)
{
    if (!c || atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    for (unsigned i = 0; i < c->nfes; i++)
        if (c->fe_state && c->fe_state[i])
            c->fes[i]->free(c->fe_state[i]);
    for (unsigned i = 0; i < c->nlisteners; i++) {
        free(c->listeners[i].name);
        free(c->listeners[i].addrs);
        tls_server_free(c->listeners[i].tls);
    }
    free(c->listeners);
    free(c->fe_state);
    free(c->path);
    free(c->dir);
    free(c->user);
    free(c->log_error);
    free(c->log_access);
    free(c->via_name);
    free(c->dns.nameservers);
    cache_conf_free(&c->cache);
    free(c);
}

void *config_fe_state(const struct gh_config *c, const struct frontend *fe)
{
    for (unsigned i = 0; i < c->nfes; i++)
        if (c->fes[i] == fe)
            return c->fe_state ? c->fe_state[i] : NULL;
    return NULL;
}

void config_activate(struct gh_config *c)
{
    cache_store_configure(&c->cache);
    for (unsigned i = 0; i < c->nfes; i++)
        if (c->fes[i]->activate && c->fe_state)
            c->fes[i]->activate(c->fe_state[i]);
}

const struct listener_conf *config_listener(const struct gh_config *c, const char *name)
{
    for (unsigned i = 0; i < c->nlisteners; i++)
        if (strcmp(c->listeners[i].name, name) == 0)
            return &c->listeners[i];
    return NULL;
}

/* listeners.h — the `listeners` list of a configuration generation: what
 * each listener is (name, mode, addresses, PROXY protocol, TLS, HTTP/2) and its
 * front-end's settings.  Parsed after the front-ends' sections, since a
 * listener names their policies or routes. */
#ifndef GH_LISTENERS_H
#define GH_LISTENERS_H

#include <libconfig.h>
#include <stddef.h>
#include <sys/socket.h>

struct conn_limits;
struct frontend;
struct gh_config;
struct protect_refs;
struct tls_server;

/* One address a listener binds. */
struct listen_addr {
    char text[64]; /* as written, e.g. "127.0.0.1:3128" or "[::1]:3128" */
    struct sockaddr_storage ss;
    socklen_t len;
    int transparent; /* its listener's: accept for foreign addresses (TPROXY) */
};

struct listener_conf {
    char *name;
    const struct frontend *fe; /* its mode */
    struct listen_addr *addrs;
    unsigned naddrs;
    void *fe_conf;          /* the front-end's per-listener settings */
    int proxy_protocol;     /* clients announce themselves with a PROXY header */
    int transparent;        /* takes connections a router redirected (intercept.h) */
    struct tls_server *tls; /* TLS settings, NULL: plain HTTP */
    struct protect_refs *protect; /* its rate_limits, deny_rules, bans (protect.h), both modes */
    struct conn_limits *conns;    /* connection_limits at accept (connlimit.h), NULL: none */
    char *metrics_path;     /* Prometheus metrics (ops.c), NULL: none */
    char *dashboard_path;   /* the live dashboard and its data, NULL: none */
    struct acl *ops_allow;  /* who may read those two (`metrics_allow`) */
    char *file; /* the file it is defined in (the main one or a drop-in) */
    int http2;              /* speaks HTTP/2: offered by ALPN over TLS, or with h2c */
    int h2c;                /* plain: a connection opening with the HTTP/2 preface speaks it */
    int line;
};

/* Parses the `listeners` list g (NULL: absent, an error) into
 * c->listeners, handing each listener's own keys to its front-end, whose
 * state must be loaded.  Returns 0, or -1 with "file:line: message" in err
 * (what was parsed stays for listeners_free). */
int listeners_load(struct gh_config *c, const config_setting_t *g, char *err, size_t errlen);

/* Frees c's listeners. */
void listeners_free(struct gh_config *c);

/* Finds a listener by name, or NULL. */
const struct listener_conf *config_listener(const struct gh_config *c, const char *name);

#endif

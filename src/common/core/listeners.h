/* listeners.h — the `listeners` list of a configuration generation: what
 * each listener is (name, mode, addresses, PROXY protocol, TLS, HTTP/2) and its
 * front-end's settings.  Parsed after the front-ends' sections, since a
 * listener names their policies or routes. */
#ifndef GH_LISTENERS_H
#define GH_LISTENERS_H

#include <libconfig.h>
#include <stddef.h>
#include <sys/socket.h>

struct frontend;
struct gh_config;
struct tls_server;

/* One address a listener binds. */
struct listen_addr {
    char text[64]; /* as written, e.g. "127.0.0.1:3128" or "[::1]:3128" */
    struct sockaddr_storage ss;
    socklen_t len;
};

struct listener_conf {
    char *name;
    const struct frontend *fe; /* its mode */
    struct listen_addr *addrs;
    unsigned naddrs;
    void *fe_conf;          /* the front-end's per-listener settings */
    int proxy_protocol;     /* clients announce themselves with a PROXY header */
    struct tls_server *tls; /* TLS settings, NULL: plain HTTP */
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

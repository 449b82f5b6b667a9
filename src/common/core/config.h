/* config.h — one configuration generation: loading, validation, references.
 *
 * A generation is immutable once loaded and shared by every worker through a
 * reference count; SIGHUP builds a new one beside it and workers move to it
 * for their next exchange.  This module parses the settings of the core
 * (workers, user, log, limits, timeouts, listeners) and dispatches the rest to
 * the front-ends, each of which parses its own sections. */
#ifndef GH_CONFIG_H
#define GH_CONFIG_H

#include "cache.h"
#include "http1.h"

#include <libconfig.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <sys/socket.h>

struct frontend;
struct exchange;
struct sni_hello;
struct tls_server;

#define CONFIG_ERRLEN 1024

/* One address a listener binds. */
struct listen_addr {
    char text[64]; /* as written, e.g. "127.0.0.1:3128" or "[::1]:3128" */
    struct sockaddr_storage ss;
    socklen_t len;
};

struct listener_conf {
    char *name;
    const struct frontend *fe;   /* its mode */
    struct listen_addr *addrs;
    unsigned naddrs;
    void *fe_conf;               /* the front-end's per-listener settings */
    int proxy_protocol;          /* clients announce themselves with a PROXY header */
    struct tls_server *tls;      /* TLS settings, NULL: plain HTTP */
    int line;
};

/* Timeouts, milliseconds. */
struct timeouts {
    uint32_t client_header;     /* first byte to end of a request head */
    uint32_t client_body;       /* idle time while reading a request body */
    uint32_t keepalive;         /* idle client connection between exchanges */
    uint32_t send;              /* a client or upstream not taking bytes */
    uint32_t upstream_connect;
    uint32_t upstream_read;     /* first byte of the response, and idle after */
    uint32_t upstream_keepalive;/* idle pooled upstream connection */
    uint32_t tunnel;            /* idle CONNECT or upgraded connection */
    uint32_t drain;             /* SIGTERM: in-flight exchanges may finish */
};

/* Name resolution (c-ares). */
struct resolver_conf {
    char *nameservers;      /* "1.2.3.4:53,[::1]:53" or NULL for /etc/resolv.conf */
    uint32_t timeout;       /* per attempt, ms */
    uint32_t attempts;
    uint32_t cache_max_ttl; /* seconds an answer may be reused at most */
    uint32_t negative_ttl;  /* seconds a failure is remembered */
};

struct gh_config {
    atomic_int refs;
    char *path;          /* the file loaded */
    char *dir;           /* its directory, for relative paths */
    unsigned workers;    /* resolved: >= 1 */
    char *user;          /* NULL: default choice (see main) */
    /* log */
    int log_level;
    char *log_error;     /* path, "stderr" */
    char *log_access;    /* path, "stdout", "stderr", "off" */
    int log_format;      /* LOG_FORMAT_* */
    char *via_name;      /* pseudonym in Via */
    struct http1_limits limits;
    uint64_t max_body;   /* request body bytes; 0 = unlimited */
    int allow_trace;     /* forward TRACE (off: 405) */
    struct timeouts to;
    struct resolver_conf dns;
    struct cache_conf cache;
    struct listener_conf *listeners;
    unsigned nlisteners;
    void **fe_state;     /* per front-end, indexed like the table given to load */
    const struct frontend *const *fes;
    unsigned nfes;
};

#define LOG_FORMAT_GATEHOUSE 0 /* combined + key=value fields */
#define LOG_FORMAT_COMBINED 1
#define LOG_FORMAT_COMMON 2

/* What a front-end is to the core: its name (the listener's mode), the
 * top-level sections and listener keys it owns, and its hooks. */
struct frontend {
    const char *name;
    const char *const *sections;      /* top-level keys it parses, NULL-terminated */
    const char *const *listener_keys; /* listener keys it parses, NULL-terminated */
    /* Parses its sections from the root; returns its state or NULL with a
     * "file:line: message" in err. */
    void *(*load)(const struct gh_config *cfg, config_t *file, char *err, size_t errlen);
    /* Parses a listener's own keys (policy, routes...); returns its per-listener
     * settings or NULL with err set.  May return a pointer into state. */
    void *(*listener)(const struct gh_config *cfg, void *state, config_setting_t *ls,
                      char *err, size_t errlen);
    void (*free)(void *state);
    /* Decides one exchange whose request head is parsed: answers it locally
     * or names an upstream (see exchange.h). */
    void (*handle)(struct exchange *ex);
    /* Optional: sees an upstream's response head before it is relayed and
     * may answer locally instead (exchange_respond and friends), which drops
     * the upstream response. */
    void (*response)(struct exchange *ex);
    /* Optional: judges a CONNECT tunnel by its first bytes, before any
     * byte is relayed either way: the client's TLS ClientHello as read (a
     * name or none, ECH), or why it could not be read (not TLS, the
     * server spoke first, malformed, too large, cut short, not in time:
     * sni.h).  Returns 0 to let the tunnel through, -1 to refuse it: the
     * core closes it, with a TLS alert when the client began TLS, and
     * logs the exchange's reason (exchange_error_reason). */
    int (*tunnel_hello)(struct exchange *ex, const struct sni_hello *hello);
    /* Optional: the upstream named by exchange_forward failed before
     * answering: the connect was refused or timed out, the name did not
     * resolve, or the connection closed before any response byte while no
     * byte of a request body had been sent.  `sent` says whether the request
     * head had gone out (so only an idempotent request may be repeated).
     * The front-end may name another upstream (exchange_forward) and return
     * 1; with 0 the core answers 502 or 504. */
    int (*upstream_failed)(struct exchange *ex, int sent, const char *why);
    /* Optional: a queued exchange (exchange_queue) may try again: decide, or
     * return without deciding to stay queued. */
    void (*resume)(struct exchange *ex);
    /* Optional: the exchange is over, whatever happened; called once, just
     * before its access-log line. */
    void (*finished)(struct exchange *ex);
    /* Optional: this generation's state now serves traffic (start background
     * work such as health checks).  Called in the main thread, once, after
     * privileges are dropped; `free` stops what it started. */
    void (*activate)(void *state);
};

/* Loads and validates a file.  Returns a generation with one reference, or
 * NULL with "file:line: message" in err. */
struct gh_config *config_load(const char *path, const struct frontend *const *fes, unsigned nfes,
                              char *err, size_t errlen);

struct gh_config *config_ref(struct gh_config *c);
void config_unref(struct gh_config *c);

/* The state a front-end built for this generation. */
void *config_fe_state(const struct gh_config *c, const struct frontend *fe);

/* The generation now serves traffic: runs the front-ends' activate hooks. */
void config_activate(struct gh_config *c);

/* Finds a listener by name, or NULL. */
const struct listener_conf *config_listener(const struct gh_config *c, const char *name);

/* ---- helpers for the sections' parsers (front-ends use them too) ---- */

/* Formats "file:line: message" for a setting. */
void config_error(char *err, size_t errlen, const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Checks that every member of a group has a name in `known` (NULL-terminated,
 * and up to two lists); returns 0 or -1 with err naming the unknown key. */
int config_check_keys(const config_setting_t *group, const char *const *known,
                      const char *const *known2, char *err, size_t errlen);

/* Typed getters: a missing key leaves *out at its default and returns 0; a
 * wrong type or out-of-range value returns -1 with err. */
int config_get_int(const config_setting_t *g, const char *key, long lo, long hi, long *out,
                   char *err, size_t errlen);
int config_get_bool(const config_setting_t *g, const char *key, int *out, char *err, size_t errlen);
int config_get_string(const config_setting_t *g, const char *key, const char **out, char *err,
                      size_t errlen);
/* Seconds as int or float, stored as milliseconds. */
int config_get_seconds(const config_setting_t *g, const char *key, double lo, double hi,
                       uint32_t *ms, char *err, size_t errlen);

/* Resolves a possibly relative path against the configuration's directory;
 * returns a malloc'd string. */
char *config_path(const struct gh_config *c, const char *p);

/* Parses "host:port", "[v6]:port" or "*:port" into an address (numeric hosts
 * only).  Returns 0 or -1. */
int config_parse_addr(const char *text, struct sockaddr_storage *ss, socklen_t *len);

#endif

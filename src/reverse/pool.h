/* pool.h — reverse-mode pools: named groups of servers a route sends to.
 * A server is an upstream host:port or a built-in static directory.
 *
 * The configuration parts are immutable; the run-time parts (connections in
 * use, health, counters, the queue) are shared by every worker and change
 * through atomics or the server's lock.  They live in pool_state.h's table,
 * not in the generation: a reload builds new pools, but a pool and server
 * it keeps (same pool name, same address) keep what was learned of them. */
#ifndef GH_POOL_H
#define GH_POOL_H

#include "balance.h"
#include "budget.h"
#include "config.h"
#include "health.h"
#include "pool_state.h"

struct tls_client;

struct server {
    /* configuration */
    char *host;      /* upstream host (name or IP literal), NULL for static */
    uint16_t port;
    char *root;      /* static directory (absolute), NULL for an upstream */
    char *label;     /* "10.0.1.11:8080" or "static:/path", for logs */
    char cookie[17]; /* its sticky-cookie value: hex of a hash of the label */
    unsigned weight;
    unsigned max_conns; /* 0: no limit */
    int backup;      /* used only when every primary server is down */
    struct server_state *st; /* run time: a reference into pool_state's table */
};

/* Active health checks of a pool (checker.c runs them). */
struct check_conf {
    int enabled;
    int http;                /* 1: an HTTP request; 0: a TCP connect */
    int h2;                  /* HTTP: over HTTP/2 (protocol, by default the pool's) */
    char *path;              /* HTTP: the request target, "/" by default */
    char *host;              /* HTTP: the Host field, the server's address by default */
    int status_lo, status_hi;/* HTTP: expected status range, 200-399 by default */
    uint32_t interval_ms, timeout_ms;
};

enum hash_key { HASH_CLIENT, HASH_URI, HASH_HEADER, HASH_COOKIE };

struct pool {
    char *name;
    struct server *servers;
    unsigned nservers;
    unsigned nprimary;                /* servers that are not backups */
    const struct balancer *bal;
    void *bal_state;
    enum hash_key hash_key;           /* what "hash" balancing hashes */
    char *hash_name;                  /* the header or cookie name */
    char *sticky;                     /* sticky-session cookie name, NULL: none */
    struct health_conf hc;
    struct check_conf check;
    int eject_5xx;                    /* a 5xx answer counts as a failed request */
    unsigned retries;                 /* other servers tried after a connect failure */
    struct retry_budget budget;
    int send_proxy;                   /* PROXY protocol version sent to servers, 0 none */
    struct tls_client *tls;           /* TLS to the servers, NULL: plain */
    unsigned h2_streams;              /* HTTP/2 to the servers: streams per connection; 0 HTTP/1.1 */
    unsigned h2_conns;                /* ... connections per server (per worker) */
    unsigned queue_size;              /* requests that may wait for a free server */
    uint32_t queue_timeout_ms;
    struct pool_state *st;            /* run time: the queue (pool_state.h) */
};

#define POOL_MAX_SERVERS 256

struct pool_set {
    struct pool *p;
    unsigned n;
};

struct pool_set *pool_load(const struct gh_config *cfg, config_t *file, char *err, size_t errlen);
void pool_free(struct pool_set *ps);
struct pool *pool_find(const struct pool_set *ps, const char *name);

/* This generation's pools now serve (called once, when it is activated,
 * before its health checks start): its checks, and no older generation's,
 * judge the servers from now on; a server that the checks had found down
 * and that this generation no longer checks is taken as up again (nothing
 * would ever bring it back).  Passive ejections and counts are kept. */
void pool_adopt(struct pool_set *ps, uint64_t now);

/* ---- for the balancers ---- */

/* Whether server i may take this request: in the tier asked for (primary or
 * backup), healthy, not skipped, and under its connection limit. */
int pool_usable(const struct pool *p, unsigned i, const struct pick *pk);
/* Server i's weight now (lowered during slow start). */
unsigned pool_weight(const struct pool *p, unsigned i, uint64_t now);

/* ---- for the front-end ---- */

enum pick_result { PICK_OK, PICK_FULL, PICK_DOWN };

/* Chooses a server: the primaries, or the backups when no primary is
 * healthy.  PICK_OK sets *out and counts the request as in flight (call
 * pool_done); PICK_FULL means healthy servers exist but all are at
 * max_conns (queue); PICK_DOWN means no healthy server is left. */
enum pick_result pool_pick(struct pool *p, struct pick *pk, unsigned *out);
/* The request to server i is over: ok 1 for an answer, 0 for a failure
 * (connect failed, or a 5xx when the pool counts them).  Returns 1 when
 * this ejected or readmitted the server (the caller logs it). */
int pool_done(struct pool *p, unsigned i, int ok, uint64_t now);
/* An active check's result for server i.  Returns 1 when the verdict
 * changed (the caller logs it), 0 when not, -1 when this generation's
 * checks do not count (pool_adopt: not activated, or a newer generation
 * checks the server now): the result is dropped. */
int pool_check_result(struct pool *p, unsigned i, int ok, uint64_t now);

/* The server whose sticky-cookie value is `value`, or -1. */
int pool_by_cookie(const struct pool *p, const char *value, size_t len);

#endif

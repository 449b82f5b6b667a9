/* connlimit.h — connection limits of a listener, per client address:
 * connections open at once, and new connections per second (a token
 * bucket).  Counted at accept, before a connection costs anything, in one
 * table every worker shares: a client over its limit is closed there and
 * never gets more of a worker's time.  Addresses are grouped as the rate
 * limits group them (IPv6 by /64 unless told otherwise). */
#ifndef GH_CONNLIMIT_H
#define GH_CONNLIMIT_H

#include "ratelimit.h"

#include <libconfig.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct gh_config;
struct pstats;

struct conn_limits {
    char *name;            /* the listener's: its namespace and counters */
    uint32_t concurrent;   /* open at once per client, 0: no limit */
    struct rate_rule rate; /* new connections; rate 0: no limit */
    uint8_t v4_bits, v6_bits;
    struct pstats *st;
};

/* The keys of a listener's `connection_limits` group. */
#define CONNLIMIT_KEY "connection_limits"

/* Reads listener ls's `connection_limits` group into *out (NULL when it has
 * none).  Returns 0, or -1 with "file:line: message". */
int connlimit_load(const struct gh_config *c, const char *listener, const config_setting_t *ls,
                   struct conn_limits **out, char *err, size_t errlen);
void connlimit_free(struct conn_limits *l);

/* A new connection from peer: returns 1 when admitted, with *key to give
 * back to connlimit_release when it closes, or 0 when refused (counted;
 * the caller closes it). */
int connlimit_admit(const struct conn_limits *l, const struct sockaddr_storage *peer,
                    uint64_t *key);

/* A connection admitted under key closed. */
void connlimit_release(uint64_t key);

#endif

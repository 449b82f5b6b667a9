/* resolver.h — asynchronous name resolution for one worker loop (c-ares).
 *
 * Lookups never block the loop: c-ares's sockets are watched by the loop and
 * its timeouts run on a loop timer.  /etc/hosts is honoured.  IP literals are
 * answered at once without a query, and so are names in the cache: answers
 * are kept for their DNS TTL (capped), failures for a short negative TTL.
 * The `resolver` section of the configuration is read by resolver_conf.c. */
#ifndef GH_RESOLVER_H
#define GH_RESOLVER_H

#include <stdint.h>
#include <sys/socket.h>

struct loop;
struct resolver;
struct resolve_req;

#define RESOLVE_MAX_ADDRS 8

/* Called once per lookup (unless cancelled) with up to RESOLVE_MAX_ADDRS
 * addresses (port filled in), or n = 0 and a static error text. */
typedef void (*resolve_cb)(void *arg, const struct sockaddr_storage *addrs, unsigned n,
                           const char *error);

/* Name resolution settings: the `resolver` section, the generation's `dns`. */
struct resolver_conf {
    char *nameservers; /* "1.2.3.4:53,[::1]:53" or NULL for /etc/resolv.conf */
    uint32_t timeout;  /* per attempt, ms */
    uint32_t attempts;
    uint32_t cache_max_ttl; /* seconds an answer may be reused at most */
    uint32_t negative_ttl;  /* seconds a failure is remembered */
};

struct config_section;

/* Its keys, ranges and defaults (resolver_conf.c). */
extern const struct config_section resolver_section;

/* Creates a resolver on a loop with the attempt timeout and count of conf;
 * NULL with a logged error if c-ares fails. */
struct resolver *resolver_new(struct loop *l, const struct resolver_conf *conf);

/* Applies a (re)loaded configuration: name servers and cache lifetimes.
 * The attempt timeout and count change only with a new resolver. */
void resolver_configure(struct resolver *r, const struct resolver_conf *conf);
/* Frees it; pending callbacks are not called. */
void resolver_free(struct resolver *r);

/* Starts a lookup of host (NUL-terminated) for port.  IP literals and cached
 * names call back before returning and give NULL.  Otherwise returns a handle that stays
 * valid until the callback runs or resolver_cancel() is called. */
struct resolve_req *resolver_lookup(struct resolver *r, const char *host, uint16_t port,
                                    resolve_cb cb, void *arg);

/* The callback of q will not be called. */
void resolver_cancel(struct resolve_req *q);

/* Parses an IPv4 or IPv6 literal (no brackets); returns 1 and fills ss. */
int resolver_literal(const char *host, uint16_t port, struct sockaddr_storage *ss);

#endif

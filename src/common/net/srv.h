/* srv.h — a DNS SRV lookup (RFC 2782) and its targets' addresses, with
 * c-ares, carried to the end before returning.  For a thread of its own
 * (a fleet's node list refreshed in the background, shard_srv.c), never a
 * worker's loop: it waits on the DNS for up to the resolver's timeout
 * times its attempts, twice. */
#ifndef GH_SRV_H
#define GH_SRV_H

#include "resolver.h"

#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>

/* One target of an SRV answer. */
struct srv_node {
    char name[256];               /* the target's name, without the final dot */
    uint16_t port;
    struct sockaddr_storage addr; /* its first address, the port filled in */
};

/* Looks up the SRV records of `name` with the name servers of conf
 * (nameservers NULL: /etc/resolv.conf), keeps those of the lowest priority
 * (the others are the standby that RFC 2782 keeps for when those fail:
 * a fleet's members are all equal), and resolves each target to its first
 * address (IPv4 or IPv6).  A target that does not resolve is left out.
 * Writes at most max nodes, sorted by name then port, and returns their
 * count; or returns -1 with err ("DNS timeout", "no SRV records"...).
 * `stop` (may be NULL), when it becomes non-zero, ends the wait early
 * (returns -1).  Thread-safe: each call has a channel of its own. */
int srv_resolve(const struct resolver_conf *conf, const char *name, struct srv_node *out,
                unsigned max, const atomic_int *stop, char *err, size_t errlen);

#endif

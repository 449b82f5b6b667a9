/* shard.h — the reverse cache sharded across a fleet of gatehouses (the
 * top-level `cluster` section): the nodes and which one is this one, the
 * owner of a cache key by rendezvous (highest random weight) hashing, the
 * hop to the owner marked with Gatehouse-Shard-Hop, and the owner skipped
 * for a while when it cannot be reached (the node then fetches from the
 * origin itself).  Collapsing concurrent misses is the cache's
 * (cache_xfer.c); the owner does it for the whole fleet. */
#ifndef GH_SHARD_H
#define GH_SHARD_H

#include "cache.h"
#include "exchange.h"
#include "resolver.h"
#include "route.h"

#include <libconfig.h>
#include <stdint.h>

/* The field that marks a request a peer sent to the owner. */
#define SHARD_HOP_FIELD "Gatehouse-Shard-Hop"

struct shard;

/* Parses the top-level `cluster` section of file into *out (NULL when the
 * section is absent: no sharding).  Returns 0, or -1 with err as
 * "file:line: message" (an unknown `self`, a node listed twice, an
 * address that is not ip:port, both or neither of `nodes` and `srv`...). */
int shard_load(config_t *file, struct shard **out, char *err, size_t errlen);

/* With `srv`: starts the thread that asks the DNS for the nodes (at once,
 * then every `refresh`, with the resolver settings dns, which must outlive
 * s) and publishes each new answer; until the first, nothing is sharded.
 * Listed nodes, or NULL s: nothing.  Main thread. */
void shard_start(struct shard *s, const struct resolver_conf *dns);

/* Stops the thread, if any, and frees s (NULL: nothing). */
void shard_free(struct shard *s);

/* The hash of a cache key the fleet agrees on (FNV-1a 64, no secret: every
 * node must compute the same value). */
uint64_t shard_key_hash(const char *key, size_t len);

/* The seed of a node: the hash of its name. */
uint64_t shard_node_seed(const char *name);

/* Rendezvous hashing: the index among seeds[0..n) with the highest weight
 * for the key hash h, skipping those with skip[i] set (skip may be NULL);
 * -1 when none is left.  Removing a node moves only the keys it owned. */
int shard_pick(const uint64_t *seeds, unsigned n, uint64_t h, const uint8_t *skip);

/* The name of the node that owns key[0..len) among all the nodes known
 * (whether up or not), NULL when none is known yet. */
const char *shard_owner_name(const struct shard *s, const char *key, size_t len);

/* What the reverse front-end asks, in its handle():
 * shard_inbound: whether the request is a hop a listed peer sent (then it
 * is not sent on again, and the protections and forwarding fields the
 * first node applied are not applied twice).  The mark is removed from the
 * request either way: it never reaches an origin. */
int shard_inbound(struct exchange *ex, const struct shard *s);

/* shard_forward: when the route caches, the request is a GET or HEAD and
 * its owner is another node that is not known to be down, forwards it
 * there (choose_prepare first notes the route's servers, for the fallback)
 * and returns 1; returns 0 when this node should go on itself. */
int shard_forward(struct exchange *ex, struct shard *s, const struct route *rt,
                  const struct pool_order *order, const struct sockaddr_storage *client);

/* frontend.upstream_failed's first step: when the exchange was a hop that
 * failed, marks the owner down (for `down_time`), counts it, and returns
 * 1: the caller then sends the request to the route's servers itself. */
int shard_failed(struct exchange *ex, const char *why);

#endif

/* choose.h — sending an exchange to a server of its route's pools: the
 * pool order (geo, failover), balancing, sticky sessions, queueing when
 * every server is at its limit, retrying another server after a failed
 * connect within the pool's retry budget, and reporting each outcome to the
 * server's health (passive checks). */
#ifndef GH_CHOOSE_H
#define GH_CHOOSE_H

#include "exchange.h"
#include "route.h"

/* Decides the exchange for route rt, trying the pools of `order` in turn:
 * forwards to (or serves from) a server, queues, or answers 503.  `client`
 * is the client's address (from trusted proxies), for hashing. */
void choose_server(struct exchange *ex, const struct route *rt, const struct pool_order *order,
                   const struct sockaddr_storage *client);

/* choose_server's first half: notes the route, the pool order and the
 * request's keys (the head is not kept for later) without picking; then
 * choose_resume picks, e.g. after a hop to a peer failed (shard.c). */
void choose_prepare(struct exchange *ex, const struct route *rt, const struct pool_order *order,
                    const struct sockaddr_storage *client);

/* A pointer's room in the exchange's notes for shard.c (NULL: no hop). */
void **choose_shard_slot(struct exchange *ex);

/* The server the exchange holds, or NULL (for the response hook). */
const struct server *choose_held(struct exchange *ex);

/* The route the exchange follows, or NULL. */
const struct route *choose_route(struct exchange *ex);

/* Adds the sticky-session cookie to the response when the pool has one and
 * the client did not already name the server it got. */
void choose_sticky_cookie(struct exchange *ex);

/* The public Host the request named (for Location rewriting), "" if none. */
const char *choose_public_host(struct exchange *ex);

/* Front-end hooks (config.h): retry, resume a queued exchange, account. */
int choose_upstream_failed(struct exchange *ex, int sent, const char *why);
void choose_resume(struct exchange *ex);
void choose_finished(struct exchange *ex);

#endif

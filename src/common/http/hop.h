/* hop.h — the request fields the core owns on the way upstream, in both
 * modes, whatever a front-end or a client says:
 *   - Gatehouse-Hop, the loop mark.  A request sent to a parent proxy
 *     carries a secret drawn when the process starts; a request that
 *     arrives carrying it has gone round a loop (a parent that leads back
 *     here, directly or through other proxies) and is answered 508.  Via
 *     would show the loop too, but anonymity removes Via.  The mark goes
 *     only to parent proxies, never to origins;
 *   - X-Original-URL and X-Rewrite-URL, which some origins (IIS URL Rewrite,
 *     Symfony, Laminas) serve in place of the request line's target, so a
 *     client could reach a path the filter or the route never saw.  A
 *     client's are never passed on.
 * Field names compare ignoring case, with '_' taken for '-', as CGI-style
 * servers read them. */
#ifndef GH_HOP_H
#define GH_HOP_H

#include "http1.h"

#include <stddef.h>

#define HOP_FIELD "Gatehouse-Hop"

/* The process's loop mark: 32 hex digits drawn at the first call (the
 * same for every worker and every configuration generation). */
const char *hop_token(void);

/* 1 when a client's field named name[0..len) is never copied upstream as
 * sent: the loop mark (which the core re-adds for parents) and the
 * rewrite fields above.  Called for every field of every request. */
int hop_dropped(const char *name, size_t len);

/* 1 when name[0..len) is the loop mark's field. */
int hop_is_mark(const char *name, size_t len);

/* 1 when one of h's Gatehouse-Hop fields (or one member of a
 * comma-separated list in one) is this process's mark: the request has
 * come back to us. */
int hop_looped(const struct http_head *h, const char *base);

#endif

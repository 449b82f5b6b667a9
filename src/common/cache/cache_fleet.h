/* cache_fleet.h — purges carried across a fleet (fleet.h): a key removed
 * from this node's store by a PURGE or by an unsafe method's invalidation
 * is published on the fleet's channel, and the other nodes remove it from
 * theirs.  Nothing when the process has no fleet or `share_purges` is off. */
#ifndef GH_CACHE_FLEET_H
#define GH_CACHE_FLEET_H

#include <stddef.h>

/* Tells the fleet that key[0..len) was removed here (prefix: every key
 * starting with it, as cache_store_remove_prefix).  On a worker thread. */
void cache_fleet_removed(const char *key, size_t len, int prefix);

/* Hears the fleet's purges (at each configuration load). */
void cache_fleet_subscribe(void);

#endif

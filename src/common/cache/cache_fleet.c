/* cache_fleet.c — purges carried across a fleet (see cache_fleet.h).
 * Owns the message: kind "purge", then 'K' (a key: cache_store_remove) or
 * 'P' (a prefix: cache_store_remove_prefix) and the key's bytes as they
 * are (the channel is binary safe).  The store is cache_store.c's. */
#include "cache_fleet.h"
#include "cache_store.h"
#include "fleet.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

void cache_fleet_removed(const char *key, size_t len, int prefix)
{
    const struct fleet_conf *fc = fleet_conf_here();
    char *m;

    if (!fc || !fc->share_purges || !len)
        return;
    m = xmalloc(len + 1);
    m[0] = prefix ? 'P' : 'K';
    memcpy(m + 1, key, len);
    fleet_publish("purge", m, len + 1);
    free(m);
}

static void on_purge(const char *msg, size_t len, uint64_t age_ms)
{
    (void)age_ms;
    if (len < 2)
        return;
    if (msg[0] == 'P')
        cache_store_remove_prefix(msg + 1, len - 1);
    else if (msg[0] == 'K')
        cache_store_remove(msg + 1, len - 1);
}

void cache_fleet_subscribe(void)
{
    fleet_subscribe("purge", on_purge);
}

/* balance.c — the balancers by name, and the hash every balancer shares.
 *
 * The algorithms themselves live in balance_rr.c, balance_conn.c and
 * balance_hash.c; this file only finds them and hashes bytes. */
#include "balance.h"
#include "util.h"

#include <string.h>

static const struct balancer *const balancers[] = {
    &balance_round_robin,
    &balance_least_conn,
    &balance_p2c,
    &balance_hash,
};

/* Names compare with '-' and '_' alike, so "least-conn" (as people write
 * it) finds "least_conn". */
static int same_name(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = *a == '-' ? '_' : *a, y = *b == '-' ? '_' : *b;
        if (x != y)
            return 0;
    }
    return *a == *b;
}

const struct balancer *balancer_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < GH_ARRAY_LEN(balancers); i++)
        if (same_name(name, balancers[i]->name))
            return balancers[i];
    return NULL;
}

/* FNV-1a over the bytes, then a murmur3-style finaliser: FNV alone leaves
 * the high bits of short, similar keys ("10.0.0.1:80#1", "...#2") close
 * together, and the ring's binary search looks at the high bits first.
 * The finaliser makes every input bit reach every output bit. */
uint64_t balance_hash_bytes(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ull;

    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    h ^= (uint64_t)len;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

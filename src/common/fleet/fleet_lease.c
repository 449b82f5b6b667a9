/* fleet_lease.c — the lease arithmetic of a shared rate limit (see
 * fleet_lease.h).  Pure functions on the caller's two words. */
#include "fleet_lease.h"

#define ASKING 1u
#define FULL 2u

uint32_t fleet_lease_block(uint32_t rate, uint32_t seen, uint32_t max_block)
{
    uint32_t left, b;

    if (seen >= rate)
        return 0;
    left = rate - seen;
    b = left / FLEET_LEASE_SHARE;
    if (b < 1)
        b = 1;
    if (b > max_block)
        b = max_block;
    return b;
}

uint32_t fleet_lease_granted(uint32_t asked, long long total, uint32_t rate)
{
    long long before = total - (long long)asked;

    if (total <= (long long)rate)
        return asked;
    if (before >= (long long)rate)
        return 0;
    return (uint32_t)((long long)rate - before);
}

static int32_t tokens_of(const uint64_t v[2])
{
    return (int32_t)(uint32_t)(v[1] & 0xffffffffu);
}

static uint32_t seen_of(const uint64_t v[2])
{
    return (uint32_t)(v[1] >> 32);
}

/* The debt a node may run up while its lease is on its way: a block not
 * cut to max_block (a sixteenth of what the fleet has left), so a busy
 * key far from its limit is not refused for a slow answer. */
static int64_t debt_cap(uint32_t rate, uint32_t seen)
{
    uint32_t b = fleet_lease_block(rate, seen, UINT32_MAX);
    return b > INT32_MAX / 2 ? INT32_MAX / 2 : (int64_t)(b ? b : 1);
}

static void put(uint64_t v[2], uint32_t seen, int32_t tokens)
{
    v[1] = (uint64_t)seen << 32 | (uint32_t)tokens;
}

void fleet_lease_take(uint64_t v[2], uint64_t window, uint32_t rate, uint32_t max_block,
                      struct lease_take *out)
{
    int32_t tokens;
    uint32_t seen, block;

    if (v[0] >> 2 != window) { /* a new window: what was held of the last is void */
        v[0] = window << 2;
        v[1] = 0;
    }
    tokens = tokens_of(v);
    seen = seen_of(v);
    block = fleet_lease_block(rate, seen, max_block);
    *out = (struct lease_take){0};
    if (tokens > 0) {
        tokens--;
        out->allowed = 1;
    } else if (!(v[0] & FULL) && -(int64_t)tokens < debt_cap(rate, seen)) {
        tokens--; /* a debt the next block pays */
        out->allowed = 1;
    }
    if (!(v[0] & (ASKING | FULL)) && block && tokens < (int32_t)(block + 1) / 2) {
        out->ask = block + (uint32_t)(tokens < 0 ? -tokens : 0);
        v[0] |= ASKING;
    }
    out->remaining = tokens > 0 ? (uint32_t)tokens : 0;
    put(v, seen, tokens);
}

void fleet_lease_apply(uint64_t v[2], uint64_t window, uint32_t asked, int ok, long long total,
                       uint32_t rate)
{
    int64_t tokens;
    uint32_t got;

    if (v[0] >> 2 != window)
        return;
    v[0] &= ~(uint64_t)ASKING;
    if (!ok)
        return;
    got = fleet_lease_granted(asked, total, rate);
    tokens = (int64_t)tokens_of(v) + got;
    if (total >= (long long)rate)
        v[0] |= FULL;
    put(v, total >= (long long)rate ? rate : (uint32_t)(total > 0 ? total : 0),
        (int32_t)(tokens > INT32_MAX ? INT32_MAX : tokens));
}

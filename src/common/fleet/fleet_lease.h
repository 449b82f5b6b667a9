/* fleet_lease.h — the arithmetic of a rate limit shared by a fleet: the
 * budget is `rate` requests per fixed window of `per`, the windows cut
 * from the wall clock (so every node names the same one), counted in one
 * Redis counter per window.  A node does not ask Redis for each request:
 * it LEASES a block of tokens (INCRBY block, which answers the fleet's
 * total) and spends them locally; the block is a sixteenth of what the
 * fleet has left, at most `max_block`, so it shrinks as the window fills
 * and the tokens a node holds unspent at its end stay few.  The next block
 * is asked for while half of the current one is left, so requests rarely
 * find none; a request that does (the answer is on its way) is let
 * through as a debt the next block pays, up to a sixteenth of what the
 * fleet has left (a block not cut to max_block): the fleet can overshoot
 * by what its nodes let through in one round trip, and a busy key far
 * from its limit is never refused for a slow answer.
 *
 * The state is a key table entry's two words (keytab.h), read and written
 * under its lock by the caller:
 *   v[0] = window << 2 | full << 1 | asking
 *   v[1] = fleet total seen (high 32 bits) | tokens held (low 32, signed:
 *          negative is the debt) */
#ifndef GH_FLEET_LEASE_H
#define GH_FLEET_LEASE_H

#include <stdint.h>

/* The divisor of what the fleet has left that makes a block. */
#define FLEET_LEASE_SHARE 16u

/* The block to lease when the fleet has used `seen` of `rate`: at least 1,
 * at most max_block; 0 when nothing is left. */
uint32_t fleet_lease_block(uint32_t rate, uint32_t seen, uint32_t max_block);

/* What a lease of `asked` brought, when Redis answered the fleet's new
 * total: all of it while the total stays within rate, the part below
 * rate when it crosses it, nothing past it. */
uint32_t fleet_lease_granted(uint32_t asked, long long total, uint32_t rate);

/* One request's verdict. */
struct lease_take {
    int allowed;
    uint32_t ask;      /* > 0: lease this many now (the state says asking) */
    uint32_t remaining; /* tokens this node holds after it, for RateLimit */
};

/* Counts one request in window `window` against the state v. */
void fleet_lease_take(uint64_t v[2], uint64_t window, uint32_t rate, uint32_t max_block,
                      struct lease_take *out);

/* The answer to a lease of `asked` made in `window`: Redis's new total
 * (ok 1), or none (ok 0: the link failed; the lease may be asked again).
 * An answer for a window that is over changes nothing. */
void fleet_lease_apply(uint64_t v[2], uint64_t window, uint32_t asked, int ok, long long total,
                       uint32_t rate);

#endif

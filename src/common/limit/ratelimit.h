/* ratelimit.h — the arithmetic of request rate limits on a key's two words
 * (keytab.h): a token bucket with a burst, kept as one theoretical arrival
 * time (GCRA, the cell rate algorithm, which is a token bucket counted in
 * time rather than tokens), or a sliding window estimated from the counts
 * of this window and the last one.  And the response fields that tell a
 * client where it stands (the IETF httpapi draft's RateLimit-Policy and
 * RateLimit).  Which requests count, and under which key, is the caller's. */
#ifndef GH_RATELIMIT_H
#define GH_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

/* One limit, as the configuration gives it. */
struct rate_rule {
    uint32_t rate;         /* requests per `per` */
    uint32_t burst;        /* token bucket: requests at once (>= 1) */
    uint64_t per_us;       /* the period, microseconds */
    uint64_t max_delay_us; /* token bucket: a request may wait this long for its
                            * turn (the delay action); 0: rejected at once */
    int sliding;           /* a sliding window of `rate` requests per `per` */
};

/* What one request gets. */
struct rate_verdict {
    int allowed;         /* 1: it may go (after delay_us), 0: refused */
    uint64_t delay_us;   /* allowed: wait this long first (the delay action) */
    uint64_t retry_us;   /* refused: when a request would be allowed */
    uint32_t remaining;  /* requests left at once after this one */
    uint64_t reset_us;   /* until the allowance is whole again (token bucket)
                          * or the window ends (sliding window) */
};

/* Counts one request at now_us (monotonic microseconds) against r in the
 * key's words v (zero for a key not seen before), and says what it gets. */
void rate_check(const struct rate_rule *r, uint64_t v[2], uint64_t now_us,
                struct rate_verdict *out);

/* Monotonic microseconds. */
uint64_t rate_now_us(void);

/* Appends to dst (holding `at` bytes of cap) the response fields for a
 * request that verdict v judged under limit `name`, each line ending in
 * CRLF, and returns the new length (truncating, always terminated):
 *   RateLimit-Policy: "name";q=<burst or rate>;w=<seconds>
 *   RateLimit: "name";r=<remaining>;t=<seconds>
 * and, when refused, Retry-After: <seconds> (at least 1; the same instant
 * as RateLimit's t, as the draft asks). */
size_t rate_fields(char *dst, size_t cap, size_t at, const char *name, const struct rate_rule *r,
                   const struct rate_verdict *v);

#endif

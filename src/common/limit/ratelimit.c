/* ratelimit.c — token bucket (GCRA) and sliding window arithmetic, and the
 * RateLimit fields (see ratelimit.h).  Owns no memory: the state is the
 * caller's two words, read and written under the caller's lock.
 *
 * The fields follow draft-ietf-httpapi-ratelimit-headers-11 (May 2026),
 * sections 3 and 4: RateLimit-Policy is a List of Items, each the policy's
 * name as a String with q (the quota) and w (its window, seconds);
 * RateLimit names the same policy with r (what remains) and t (seconds
 * until it is whole again).  A token bucket is written as q = its burst
 * and w = the time to refill it from empty, as the draft's examples of
 * buckets do; a sliding window as q = its requests and w = its length. */
#include "ratelimit.h"
#include "util.h"

#include <time.h>

uint64_t rate_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The emission interval: time between two requests at the steady rate. */
static uint64_t interval(const struct rate_rule *r)
{
    uint64_t t = r->per_us / (r->rate ? r->rate : 1);
    return t ? t : 1;
}

/* v[0] is the theoretical arrival time: when the bucket would be full
 * again if nothing more came.  A request moves it one interval on; the
 * bucket holds `burst` intervals of credit. */
static void bucket(const struct rate_rule *r, uint64_t v[2], uint64_t now, struct rate_verdict *o)
{
    uint64_t t = interval(r), tol = (uint64_t)r->burst * t;
    uint64_t tat = v[0] > now ? v[0] : now, next = tat + t, ahead = next - now;

    *o = (struct rate_verdict){0};
    if (ahead <= tol) {
        v[0] = next;
        o->allowed = 1;
        o->remaining = (uint32_t)((tol - ahead) / t);
        o->reset_us = ahead;
        return;
    }
    if (ahead - tol <= r->max_delay_us) { /* waits for its turn, which it takes now */
        v[0] = next;
        o->allowed = 1;
        o->delay_us = ahead - tol;
        o->reset_us = ahead;
        return;
    }
    o->retry_us = ahead - tol - r->max_delay_us;
    o->reset_us = tat - now;
}

/* v[0] is the start of the current window (a multiple of its length), v[1]
 * the last window's count (high half) and this one's (low half).  The
 * count over the sliding window is estimated as the last window's share
 * that still overlaps it plus this one's. */
static void window(const struct rate_rule *r, uint64_t v[2], uint64_t now, struct rate_verdict *o)
{
    uint64_t w = r->per_us ? r->per_us : 1, start = now - now % w, elapsed = now - start;
    uint64_t prev = v[1] >> 32, cur = v[1] & 0xffffffffu, est;

    if (v[0] != start) {
        prev = v[0] + w == start ? cur : 0;
        cur = 0;
        v[0] = start;
    }
    est = cur + (prev * (w - elapsed)) / w;
    *o = (struct rate_verdict){0};
    o->reset_us = start + w - now;
    if (est + 1 <= r->rate) {
        cur++;
        o->allowed = 1;
        o->remaining = (uint32_t)(r->rate - est - 1);
    } else if (cur + 1 > r->rate) {
        /* full on its own: into the next window, until this one's share fades enough */
        o->retry_us = start + w - now + (w * (cur + 1 - r->rate) + cur - 1) / (cur ? cur : 1);
    } else {
        /* the last window's share must fade below rate - 1 - cur */
        uint64_t need = w - ((r->rate - 1 - cur) * w) / (prev ? prev : 1);
        o->retry_us = need > elapsed ? need - elapsed : 1;
    }
    v[1] = prev << 32 | (cur & 0xffffffffu);
}

void rate_check(const struct rate_rule *r, uint64_t v[2], uint64_t now_us, struct rate_verdict *out)
{
    if (r->sliding)
        window(r, v, now_us, out);
    else
        bucket(r, v, now_us, out);
}

/* Whole seconds, rounded up: a client told 0 would come back at once. */
static uint64_t secs(uint64_t us)
{
    return (us + 999999u) / 1000000u;
}

size_t rate_fields(char *dst, size_t cap, size_t at, const char *name, const struct rate_rule *r,
                   const struct rate_verdict *v)
{
    uint64_t quota = r->sliding ? r->rate : r->burst;
    uint64_t win = r->sliding ? secs(r->per_us) : secs(interval(r) * r->burst);
    uint64_t t = v->allowed ? secs(v->reset_us) : secs(v->retry_us);

    if (!v->allowed && t == 0)
        t = 1;
    at = gh_cat_str(dst, cap, at, "RateLimit-Policy: \"");
    at = gh_cat_str(dst, cap, at, name);
    at = gh_cat_str(dst, cap, at, "\";q=");
    at = gh_cat_u64(dst, cap, at, quota);
    at = gh_cat_str(dst, cap, at, ";w=");
    at = gh_cat_u64(dst, cap, at, win ? win : 1);
    at = gh_cat_str(dst, cap, at, "\r\nRateLimit: \"");
    at = gh_cat_str(dst, cap, at, name);
    at = gh_cat_str(dst, cap, at, "\";r=");
    at = gh_cat_u64(dst, cap, at, v->allowed ? v->remaining : 0);
    at = gh_cat_str(dst, cap, at, ";t=");
    at = gh_cat_u64(dst, cap, at, t);
    at = gh_cat_str(dst, cap, at, "\r\n");
    if (!v->allowed) {
        at = gh_cat_str(dst, cap, at, "Retry-After: ");
        at = gh_cat_u64(dst, cap, at, t);
        at = gh_cat_str(dst, cap, at, "\r\n");
    }
    return at;
}

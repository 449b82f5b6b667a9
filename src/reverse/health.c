/* health.c — a server's health verdict (see health.h).
 *
 * Two independent judges: the active checks move `up` with rise/fall
 * hysteresis; real traffic ejects a server for fail_timeout after
 * max_fails failures in a row.  Either way, a server that comes back
 * ramps up over slow_start.  Pure functions of the struct and the clock:
 * locking and publishing the verdict are pool_pick.c's. */
#include "health.h"

#include <limits.h>
#include <string.h>

/* A run counter that stops at the top instead of wrapping to 0. */
static void run_inc(unsigned *run)
{
    if (*run < UINT_MAX)
        (*run)++;
}

/* back_since 0 means "never left", so a comeback at time 0 is stamped 1. */
static uint64_t stamp(uint64_t now)
{
    return now ? now : 1;
}

void health_init(struct health *h)
{
    memset(h, 0, sizeof(*h));
    h->up = 1;
}

int health_check_result(struct health *h, const struct health_conf *c, int ok, uint64_t now)
{
    if (ok) {
        h->bad_run = 0;
        run_inc(&h->good_run);
        if (!h->up && h->good_run >= (c->rise ? c->rise : 1)) {
            /* back up: the checks' word ends a passive ejection too, so a
             * restarted server need not wait out fail_timeout */
            h->up = 1;
            h->ejected_until = 0;
            h->fail_run = 0;
            h->back_since = stamp(now);
            h->changed_at = now;
            return 1;
        }
        return 0;
    }
    h->good_run = 0;
    run_inc(&h->bad_run);
    if (h->up && h->bad_run >= (c->fall ? c->fall : 1)) {
        h->up = 0;
        h->changed_at = now;
        return 1;
    }
    return 0;
}

int health_request_result(struct health *h, const struct health_conf *c, int ok, uint64_t now)
{
    if (ok) {
        h->fail_run = 0;
        if (!h->ejected_until)
            return 0;
        h->ejected_until = 0;
        h->back_since = stamp(now);
        h->changed_at = now;
        return 1;
    }
    run_inc(&h->fail_run);
    if (!c->max_fails || h->fail_run < c->max_fails)
        return 0;
    /* Failures of requests that were already in flight when the server was
     * ejected do not prolong the rest; the first failure after it (the
     * run is still >= max_fails) ejects the server anew. */
    if (h->ejected_until && now < h->ejected_until)
        return 0;
    h->ejected_until = now + c->fail_timeout_ms;
    if (!h->ejected_until)
        h->ejected_until = 1;
    h->changed_at = now;
    return 1;
}

void health_checks_ended(struct health *h, uint64_t now)
{
    h->good_run = 0;
    h->bad_run = 0;
    if (h->up)
        return;
    h->up = 1;
    h->back_since = stamp(now);
    h->changed_at = now;
}

int health_usable(const struct health *h, uint64_t now)
{
    return h->up && now >= h->ejected_until;
}

unsigned health_weight(const struct health *h, const struct health_conf *c, unsigned weight,
                       uint64_t now)
{
    uint64_t elapsed, w;

    if (!c->slow_start_ms || !h->back_since)
        return weight;
    elapsed = now > h->back_since ? now - h->back_since : 0;
    if (elapsed >= c->slow_start_ms)
        return weight;
    w = (uint64_t)weight * elapsed / c->slow_start_ms;
    return w ? (unsigned)w : 1;
}

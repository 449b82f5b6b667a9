/* budget.c — the retry budget (see budget.h), lock-free.
 *
 * The window is BUDGET_SLOTS one-second slots used round-robin: slot
 * sec % BUDGET_SLOTS counts second `sec`.  The first caller to see that a
 * slot still holds an older second claims it with a compare-exchange on
 * slot_sec and zeroes its counters.  A count another worker adds between
 * that claim and the zeroing is lost: the budget is approximate at slot
 * turnover by a request or two, never more.
 *
 * A retry is allowed while the retries in the window, this one included,
 * stay within ratio * requests + min_per_sec * window seconds.  It is
 * counted first and taken back when refused, so concurrent callers can
 * only under-use the budget, never overrun it. */
#include "budget.h"

#define WINDOW_SECS (BUDGET_WINDOW_MS / 1000u)

void budget_init(struct retry_budget *b, double ratio, unsigned min_per_sec)
{
    b->ratio = ratio;
    b->min_per_sec = min_per_sec;
    for (unsigned i = 0; i < BUDGET_SLOTS; i++) {
        atomic_init(&b->slot_sec[i], 0);
        atomic_init(&b->requests[i], 0);
        atomic_init(&b->retries[i], 0);
    }
}

/* The slot counting second `sec`, reset first when it held an older one.
 * A slot already holding a newer second (a worker whose clock read is a
 * little ahead) is used as it is. */
static unsigned slot_for(struct retry_budget *b, uint64_t sec)
{
    unsigned k = (unsigned)(sec % BUDGET_SLOTS);
    uint_least64_t seen = atomic_load(&b->slot_sec[k]);

    while (seen < sec) {
        if (atomic_compare_exchange_weak(&b->slot_sec[k], &seen, sec)) {
            atomic_store(&b->requests[k], 0);
            atomic_store(&b->retries[k], 0);
            break;
        }
    }
    return k;
}

/* Undoes a count, unless the slot was reset meanwhile (it then reads 0 and
 * must not wrap round). */
static void take_back(atomic_uint *count)
{
    unsigned v = atomic_load(count);

    while (v && !atomic_compare_exchange_weak(count, &v, v - 1))
        ;
}

void budget_request(struct retry_budget *b, uint64_t now)
{
    unsigned k = slot_for(b, now / 1000u);

    atomic_fetch_add_explicit(&b->requests[k], 1, memory_order_relaxed);
}

int budget_retry(struct retry_budget *b, uint64_t now)
{
    uint64_t sec = now / 1000u, requests = 0, retries = 0;
    unsigned k = slot_for(b, sec);
    double allowed;

    atomic_fetch_add(&b->retries[k], 1);
    for (unsigned i = 0; i < BUDGET_SLOTS; i++) {
        uint_least64_t s = atomic_load(&b->slot_sec[i]);
        if (s + WINDOW_SECS <= sec)
            continue; /* stale: counts a second that left the window */
        requests += atomic_load(&b->requests[i]);
        retries += atomic_load(&b->retries[i]);
    }
    allowed = b->ratio * (double)requests + (double)b->min_per_sec * WINDOW_SECS;
    if ((double)retries <= allowed + 1e-9)
        return 1;
    take_back(&b->retries[k]);
    return 0;
}

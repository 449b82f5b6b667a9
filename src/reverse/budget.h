/* budget.h — a retry budget: retries may add at most `ratio` of the
 * requests seen in the last window, plus a small floor per second, so that
 * when a pool is failing, retries cannot multiply its load.
 *
 * Shared by every worker (atomics), one per pool. */
#ifndef GH_BUDGET_H
#define GH_BUDGET_H

#include <stdatomic.h>
#include <stdint.h>

#define BUDGET_WINDOW_MS 10000u
#define BUDGET_SLOTS 10u /* the window in one-second slots */

struct retry_budget {
    double ratio;            /* retries allowed per request, e.g. 0.2 */
    unsigned min_per_sec;    /* retries always allowed per second, e.g. 3 */
    atomic_uint_least64_t slot_sec[BUDGET_SLOTS];   /* second each slot counts */
    atomic_uint requests[BUDGET_SLOTS];
    atomic_uint retries[BUDGET_SLOTS];
};

void budget_init(struct retry_budget *b, double ratio, unsigned min_per_sec);
/* Counts a request (a first attempt). */
void budget_request(struct retry_budget *b, uint64_t now);
/* Asks to retry: returns 1 and counts the retry when the budget allows it. */
int budget_retry(struct retry_budget *b, uint64_t now);

#endif

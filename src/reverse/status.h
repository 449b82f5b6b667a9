/* status.h — the reverse mode's JSON status: every pool with its servers,
 * their health, requests in flight and counters. */
#ifndef GH_STATUS_H
#define GH_STATUS_H

#include "exchange.h"
#include "pool.h"

/* Answers the exchange with the JSON document for the pools. */
void status_answer(struct exchange *ex, const struct pool_set *ps);

#endif

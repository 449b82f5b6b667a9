/* meter.h — the core's side of exchange_meter (exchange.h): a metered
 * exchange's reads are asked of its meter before they happen and charged
 * after, by the steps that move bodies (proxy.c) and tunnels (tunnel.c).
 * A direction out of allowance reads nothing more (what it holds still
 * goes out), and the exchange is woken by a timer of its own when the
 * meter says more will be granted: it never blocks the worker, and never
 * spins on an empty allowance. */
#ifndef GH_METER_H
#define GH_METER_H

#include <stdint.h>

struct exchange;

/* Asks the exchange's meter how much direction dir may read now, into
 * *allow (0: nothing now, and the meter's timer is armed for when it
 * will).  Returns GH_OK, or GH_ERROR with ex->fail set (the meter ends the
 * exchange: a quota ran out). */
int meter_grant(struct exchange *ex, int dir, uint64_t *allow);

/* After a move in direction dir that was granted `granted` and left
 * `left` unread: charges the difference, and, when the grant ran out,
 * arms the meter's timer for the next one. */
void meter_charge(struct exchange *ex, int dir, uint64_t granted, uint64_t left);

#endif

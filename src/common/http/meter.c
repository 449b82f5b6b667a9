/* meter.c — metering an exchange's reads (see meter.h).  Owns nothing but
 * the exchange's meter timer; what a grant is worth is the meter's
 * (forward mode's bandwidth.c), and the driver wakes the exchange. */
#include "meter.h"
#include "exchange_int.h"
#include "worker.h"

/* The most one grant lets a direction read: the meter is asked again
 * after it, so a bucket shared by many is handed out in fair slices. */
#define METER_CHUNK (256u * 1024u)

static void wake(struct timer *t)
{
    struct exchange *ex = (struct exchange *)((char *)t - offsetof(struct exchange, meter_timer));

    exchange_drive(ex);
}

/* Wakes the exchange in ms milliseconds (0: on the loop's next turn),
 * unless it is woken sooner already. */
static void wake_in(struct exchange *ex, uint32_t ms)
{
    struct loop *l = ex->conn->w->loop;
    uint64_t at = loop_now(l) + ms;

    if (loop_timer_armed(&ex->meter_timer) && ex->meter_timer.deadline <= at)
        return;
    ex->meter_timer.on_fire = wake;
    loop_timer_at(l, &ex->meter_timer, at);
}

int meter_grant(struct exchange *ex, int dir, uint64_t *allow)
{
    uint32_t wait = 0;
    const char *why = NULL;
    int64_t g = ex->meter->grant(ex->meter_arg, dir, METER_CHUNK, &wait, &why);

    *allow = 0;
    if (g < 0)
        return exchange_fail(ex, 0, why ? why : "cut off by its meter");
    if (g == 0)
        wake_in(ex, wait ? wait : 1);
    *allow = (uint64_t)g;
    return GH_OK;
}

void meter_charge(struct exchange *ex, int dir, uint64_t granted, uint64_t left)
{
    uint32_t wait = 0;
    const char *why = NULL;

    if (granted > left)
        ex->meter->charge(ex->meter_arg, dir, granted - left);
    if (!granted || left)
        return; /* nothing granted (the timer is armed), or the source ran dry first */
    /* all of it read: more may wait in the socket, and no edge will say so */
    if (ex->meter->grant(ex->meter_arg, dir, 1, &wait, &why) == 0)
        wake_in(ex, wait ? wait : 1);
    else
        wake_in(ex, 0);
}

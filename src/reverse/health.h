/* health.h — a server's health verdict: the state machine fed by active
 * checks and by passive observation of real traffic, and slow start.
 *
 * Pure logic on a struct and a clock; the caller serialises calls on one
 * server (pool.c holds the server's lock) and publishes the verdict. */
#ifndef GH_HEALTH_H
#define GH_HEALTH_H

#include <stdint.h>

struct health_conf {
    unsigned rise;            /* consecutive good checks to come back up (>= 1) */
    unsigned fall;            /* consecutive bad checks to go down (>= 1) */
    unsigned max_fails;       /* consecutive failed requests to eject; 0: no passive ejection */
    uint32_t fail_timeout_ms; /* how long an ejected server rests before it is tried again */
    uint32_t slow_start_ms;   /* a server that comes back ramps its weight up over this; 0: at once */
};

struct health {
    uint8_t up;               /* the active checks' verdict (1 without checks) */
    unsigned good_run;        /* consecutive good active checks */
    unsigned bad_run;         /* consecutive bad active checks */
    unsigned fail_run;        /* consecutive failed requests (passive) */
    uint64_t ejected_until;   /* passive ejection ends then (ms), 0: not ejected */
    uint64_t back_since;      /* came back (up or out of ejection) then, for slow start; 0: never left */
    uint64_t changed_at;      /* last verdict change (ms), for the status page */
};

/* A server starts up (it is taken on trust until a check says otherwise). */
void health_init(struct health *h);

/* An active check's result.  Returns 1 when the verdict changed. */
int health_check_result(struct health *h, const struct health_conf *c, int ok, uint64_t now);

/* A real request's outcome: ok 0 for a connect failure (or a 5xx where the
 * pool counts them), 1 for a good answer.  Returns 1 when the server was
 * ejected (or readmitted) by it. */
int health_request_result(struct health *h, const struct health_conf *c, int ok, uint64_t now);

/* The active checks stopped judging the server (a reload dropped them):
 * their verdict no longer stands, so a server they had found down is up
 * again (nothing would bring it back), their runs start over, and a
 * passive ejection is left as it is. */
void health_checks_ended(struct health *h, uint64_t now);

/* Whether requests may go to the server now: up, and not ejected (an
 * ejection whose time has passed lets requests through again; the next
 * failure ejects it anew, a success clears it). */
int health_usable(const struct health *h, uint64_t now);

/* The weight to balance with: `weight`, scaled down while the server is in
 * slow start (at least 1). */
unsigned health_weight(const struct health *h, const struct health_conf *c, unsigned weight,
                       uint64_t now);

#endif

/* loop.h — one epoll event loop per thread, with timers and deferred frees.
 *
 * Descriptors are registered once, edge-triggered, for both directions; a
 * handler reads or writes until GH_AGAIN and remembers readiness itself, so
 * the loop never re-arms interest.  Timers live in a binary min-heap keyed on
 * a millisecond deadline.  Work deferred with loop_defer() runs after the
 * current batch of events, which is how a handler may close the object whose
 * event is being handled (Redis's "close scheduled" pattern). */
#ifndef GH_LOOP_H
#define GH_LOOP_H

#include <stdint.h>

struct loop;

/* An I/O handle: embedded in whatever owns the descriptor. */
struct ioh {
    int fd;
    void (*on_event)(struct ioh *h, uint32_t events); /* EPOLLIN/OUT/ERR/HUP/RDHUP */
};

struct timer {
    uint64_t deadline;              /* monotonic ms */
    uint32_t slot;                  /* heap index + 1; 0 when not armed */
    void (*on_fire)(struct timer *t);
};

/* Creates a loop; aborts on failure (only at start-up). */
struct loop *loop_new(void);
/* Runs the deferred calls still pending, then frees the loop. */
void loop_free(struct loop *l);

/* Registers h->fd for EPOLLIN|EPOLLOUT|EPOLLRDHUP, edge-triggered.
 * Returns GH_OK or GH_ERROR (errno set). */
int loop_add(struct loop *l, struct ioh *h);
/* Registers h->fd for EPOLLIN only, level-triggered (listening sockets,
 * eventfds, signalfds). */
int loop_add_reader(struct loop *l, struct ioh *h);
/* Level-triggered interest in exactly `events` (EPOLLIN/EPOLLOUT), adding or
 * modifying the registration; `registered` tells which. For foreign
 * libraries' sockets (c-ares). */
int loop_watch(struct loop *l, struct ioh *h, uint32_t events, int registered);
/* Unregisters h->fd; pending events for it in the current batch are dropped. */
void loop_del(struct loop *l, struct ioh *h);

/* Arms (or re-arms) a timer `ms` milliseconds from now. */
void loop_timer_set(struct loop *l, struct timer *t, uint64_t ms);
/* Arms a timer at an absolute deadline. */
void loop_timer_at(struct loop *l, struct timer *t, uint64_t deadline);
void loop_timer_cancel(struct loop *l, struct timer *t);
static inline int loop_timer_armed(const struct timer *t) { return t->slot != 0; }

/* Calls fn(arg) once the current batch of events has been handled. */
void loop_defer(struct loop *l, void (*fn)(void *), void *arg);

/* Runs the deferred calls now (at a worker's exit). */
void loop_flush(struct loop *l);

/* The loop's cached clock (ms), refreshed once per iteration. */
uint64_t loop_now(const struct loop *l);

/* Runs until loop_stop(); returns GH_OK. */
int loop_run(struct loop *l);
/* Makes loop_run() return after the current iteration (same thread). */
void loop_stop(struct loop *l);

#endif

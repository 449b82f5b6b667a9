/* redis_loop.c — the hiredis adapter for loop.c (see redis_loop.h).  The
 * interest is level-triggered and exactly what hiredis last asked for
 * (loop_watch), as ae.c keeps it; an event that finds both directions ready
 * reads first, and stops if reading freed the context: the record is
 * freed after the loop's batch (loop_defer), so it can tell. */
#include "redis_loop.h"
#include "loop.h"
#include "util.h"

#include <stdlib.h>
#include <sys/epoll.h>

struct redis_ev {
    struct ioh io; /* first: the loop hands back &io */
    struct loop *loop;
    redisAsyncContext *ac;
    uint32_t events;   /* EPOLLIN / EPOLLOUT hiredis wants */
    int registered;    /* the descriptor is in the loop's epoll set */
};

static void watch(struct redis_ev *e, uint32_t events)
{
    if (events == e->events)
        return;
    e->events = events;
    if (!events) {
        if (e->registered)
            loop_del(e->loop, &e->io);
        e->registered = 0;
        return;
    }
    if (loop_watch(e->loop, &e->io, events, e->registered) == GH_OK)
        e->registered = 1;
}

static void add_read(void *p)
{
    struct redis_ev *e = p;
    watch(e, e->events | EPOLLIN);
}

static void del_read(void *p)
{
    struct redis_ev *e = p;
    watch(e, e->events & ~(uint32_t)EPOLLIN);
}

static void add_write(void *p)
{
    struct redis_ev *e = p;
    watch(e, e->events | EPOLLOUT);
}

static void del_write(void *p)
{
    struct redis_ev *e = p;
    watch(e, e->events & ~(uint32_t)EPOLLOUT);
}

static void cleanup(void *p)
{
    struct redis_ev *e = p;

    watch(e, 0);
    e->ac = NULL;
    loop_defer(e->loop, free, e);
}

/* Errors and hang-ups are handed to hiredis as readiness: its read or
 * write then fails and it reports the link lost. */
static void on_event(struct ioh *h, uint32_t ev)
{
    struct redis_ev *e = (struct redis_ev *)h;
    uint32_t want = e->events;

    if (e->ac && (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) && (want & EPOLLIN))
        redisAsyncHandleRead(e->ac);
    if (e->ac && (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)) && (e->events & EPOLLOUT))
        redisAsyncHandleWrite(e->ac);
}

int redis_loop_attach(struct loop *l, redisAsyncContext *ac)
{
    struct redis_ev *e;

    if (ac->ev.data)
        return -1;
    e = xcalloc(1, sizeof(*e));
    e->io.fd = ac->c.fd;
    e->io.on_event = on_event;
    e->loop = l;
    e->ac = ac;
    ac->ev.addRead = add_read;
    ac->ev.delRead = del_read;
    ac->ev.addWrite = add_write;
    ac->ev.delWrite = del_write;
    ac->ev.cleanup = cleanup;
    ac->ev.data = e;
    return 0;
}

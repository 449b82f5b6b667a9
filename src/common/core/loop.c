/* loop.c — epoll loop, timer heap and deferred calls (see loop.h).
 * Owns nothing but its own tables: handles and timers belong to callers. */
#include "loop.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#define LOOP_BATCH 256

struct deferred {
    void (*fn)(void *);
    void *arg;
};

struct loop {
    int epfd;
    int stopping;
    uint64_t now;
    /* timers: a binary min-heap of pointers */
    struct timer **heap;
    uint32_t nheap, capheap;
    /* deferred calls for after the batch */
    struct deferred *defer;
    uint32_t ndefer, capdefer;
    /* handles unregistered during the current batch: their events are stale */
    struct epoll_event events[LOOP_BATCH];
    int nevents;
};

struct loop *loop_new(void)
{
    struct loop *l = xcalloc(1, sizeof(*l));

    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epfd < 0)
        log_fatal("epoll_create1: %s", strerror(errno));
    l->now = gh_now_ms();
    return l;
}

void loop_free(struct loop *l)
{
    if (!l)
        return;
    loop_flush(l); /* frees scheduled after the last iteration */
    close(l->epfd);
    free(l->heap);
    free(l->defer);
    free(l);
}

static int add(struct loop *l, struct ioh *h, uint32_t ev)
{
    struct epoll_event e = {.events = ev, .data.ptr = h};
    return epoll_ctl(l->epfd, EPOLL_CTL_ADD, h->fd, &e) == 0 ? GH_OK : GH_ERROR;
}

int loop_add(struct loop *l, struct ioh *h)
{
    return add(l, h, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET);
}

int loop_add_reader(struct loop *l, struct ioh *h)
{
    return add(l, h, EPOLLIN);
}

int loop_watch(struct loop *l, struct ioh *h, uint32_t events, int registered)
{
    struct epoll_event e = {.events = events, .data.ptr = h};
    return epoll_ctl(l->epfd, registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, h->fd, &e) == 0
               ? GH_OK
               : GH_ERROR;
}

void loop_del(struct loop *l, struct ioh *h)
{
    int i;

    if (h->fd >= 0)
        epoll_ctl(l->epfd, EPOLL_CTL_DEL, h->fd, NULL);
    /* Forget events of this batch that still point at the handle. */
    for (i = 0; i < l->nevents; i++)
        if (l->events[i].data.ptr == h)
            l->events[i].data.ptr = NULL;
}

/* ---- timer heap ---- */

static void heap_swap(struct loop *l, uint32_t a, uint32_t b)
{
    struct timer *t = l->heap[a];
    l->heap[a] = l->heap[b];
    l->heap[b] = t;
    l->heap[a]->slot = a + 1;
    l->heap[b]->slot = b + 1;
}

static void heap_up(struct loop *l, uint32_t i)
{
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (l->heap[parent]->deadline <= l->heap[i]->deadline)
            break;
        heap_swap(l, i, parent);
        i = parent;
    }
}

static void heap_down(struct loop *l, uint32_t i)
{
    for (;;) {
        uint32_t left = 2 * i + 1, right = left + 1, least = i;
        if (left < l->nheap && l->heap[left]->deadline < l->heap[least]->deadline)
            least = left;
        if (right < l->nheap && l->heap[right]->deadline < l->heap[least]->deadline)
            least = right;
        if (least == i)
            break;
        heap_swap(l, i, least);
        i = least;
    }
}

void loop_timer_cancel(struct loop *l, struct timer *t)
{
    uint32_t i;

    if (!t->slot)
        return;
    i = t->slot - 1;
    t->slot = 0;
    l->nheap--;
    if (i == l->nheap)
        return;
    l->heap[i] = l->heap[l->nheap];
    l->heap[i]->slot = i + 1;
    heap_down(l, i);
    heap_up(l, i);
}

void loop_timer_at(struct loop *l, struct timer *t, uint64_t deadline)
{
    if (t->slot) {
        uint64_t old = t->deadline;
        t->deadline = deadline;
        if (deadline < old)
            heap_up(l, t->slot - 1);
        else
            heap_down(l, t->slot - 1);
        return;
    }
    if (l->nheap == l->capheap) {
        l->capheap = l->capheap ? l->capheap * 2 : 64;
        l->heap = xrealloc(l->heap, l->capheap * sizeof(*l->heap));
    }
    t->deadline = deadline;
    l->heap[l->nheap] = t;
    t->slot = ++l->nheap;
    heap_up(l, l->nheap - 1);
}

void loop_timer_set(struct loop *l, struct timer *t, uint64_t ms)
{
    loop_timer_at(l, t, l->now + ms);
}

static void run_timers(struct loop *l)
{
    while (l->nheap > 0 && l->heap[0]->deadline <= l->now) {
        struct timer *t = l->heap[0];
        loop_timer_cancel(l, t);
        t->on_fire(t);
    }
}

/* ---- deferred calls ---- */

void loop_defer(struct loop *l, void (*fn)(void *), void *arg)
{
    if (l->ndefer == l->capdefer) {
        l->capdefer = l->capdefer ? l->capdefer * 2 : 64;
        l->defer = xrealloc(l->defer, l->capdefer * sizeof(*l->defer));
    }
    l->defer[l->ndefer].fn = fn;
    l->defer[l->ndefer].arg = arg;
    l->ndefer++;
}

void loop_flush(struct loop *l)
{
    /* A deferred call may defer more; they run in this same pass. */
    for (uint32_t i = 0; i < l->ndefer; i++)
        l->defer[i].fn(l->defer[i].arg);
    l->ndefer = 0;
}

uint64_t loop_now(const struct loop *l)
{
    return l->now;
}

void loop_stop(struct loop *l)
{
    l->stopping = 1;
}

int loop_run(struct loop *l)
{
    while (!l->stopping) {
        int timeout = -1, i;

        if (l->nheap > 0) {
            uint64_t d = l->heap[0]->deadline;
            timeout = d <= l->now ? 0 : (int)GH_MIN(d - l->now, 60000u);
        }
        l->nevents = epoll_wait(l->epfd, l->events, LOOP_BATCH, timeout);
        if (l->nevents < 0) {
            if (errno != EINTR)
                log_error("epoll_wait: %s", strerror(errno));
            l->nevents = 0;
        }
        l->now = gh_now_ms();
        for (i = 0; i < l->nevents; i++) {
            struct ioh *h = l->events[i].data.ptr;
            if (h)
                h->on_event(h, l->events[i].events);
        }
        l->nevents = 0;
        loop_flush(l);
        run_timers(l);
        loop_flush(l);
    }
    return GH_OK;
}

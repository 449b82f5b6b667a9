/* worker.h — a worker thread: one event loop, its listening sockets, its
 * client connections, its upstream pool and resolver.
 *
 * A connection never leaves the worker that accepted it, so nothing a worker
 * owns needs a lock.  The main thread talks to a worker only through its
 * mailbox (a mutex-protected slot plus an eventfd). */
#ifndef GH_WORKER_H
#define GH_WORKER_H

#include "config.h"
#include "loop.h"
#include "stats.h"

#include <pthread.h>
#include <stdatomic.h>

struct conn;
struct exchange;
struct upstream_pool;
struct resolver;

/* One listening socket of this worker (its own SO_REUSEPORT descriptor). */
struct wlistener {
    struct ioh io;
    struct worker *w;
    char name[64];   /* the listener it belongs to in the current generation */
    char addr[64];
};

/* What the main thread hands a worker at start and at each reload. */
struct worker_update {
    struct gh_config *cfg; /* a reference for the worker to own */
    unsigned nsocks;
    struct {
        int fd;
        char name[64];
        char addr[64];
    } socks[64];
};

struct worker {
    unsigned id;
    pthread_t thread;
    struct loop *loop;
    struct gh_config *cfg;          /* current generation (a reference) */
    struct wlistener **ls;          /* each allocated alone: epoll holds pointers */
    unsigned nls;
    struct conn *conns;             /* all open client connections */
    struct exchange *qhead, *qtail; /* exchanges waiting for a free server, oldest first */
    int qwake;                      /* a wake-up of the queue is deferred already */
    struct upstream_pool *pool;
    struct resolver *resolver;
    int draining;                   /* stop accepting; close when idle */
    /* mailbox */
    struct ioh wake;                /* eventfd */
    pthread_mutex_t mx;
    struct worker_update *pending;  /* new generation and sockets, or NULL */
    int stop;                       /* 1: drain, 2: close everything now */
    atomic_int exited;
    struct worker_stats stats;
};

/* Creates a worker (not yet running). */
struct worker *worker_new(unsigned id);
/* Starts the thread with its first generation and sockets (takes `u`). */
int worker_start(struct worker *w, struct worker_update *u);
/* Hands a new generation and socket set to a running worker (takes `u`). */
void worker_update(struct worker *w, struct worker_update *u);
/* Asks the worker to stop: 1 = finish in-flight exchanges, 2 = now. */
void worker_stop(struct worker *w, int how);
/* Joins the thread and frees the worker. */
void worker_free(struct worker *w);

#endif

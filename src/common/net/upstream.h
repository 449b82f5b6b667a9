/* upstream.h — connections to upstream servers and the per-worker pool of
 * idle keep-alive ones.
 *
 * An upstream connection is either owned by one exchange (owner set) or idle
 * in its worker's pool, keyed by destination ("host:port").  An idle
 * connection that becomes readable (the server closed it or sent junk) or
 * outlives the keep-alive timeout is closed. */
#ifndef GH_UPSTREAM_H
#define GH_UPSTREAM_H

#include "buf.h"
#include "loop.h"

#include <sys/socket.h>

struct worker;
struct upstream_pool;

#define UPSTREAM_KEY_MAX 300

struct upconn {
    struct ioh io;
    struct worker *w;
    struct buf *in;              /* response bytes (taken on demand) */
    struct buf *out;             /* request head being written */
    uint8_t readable, writable, eof, connected, closed;
    uint32_t uses;               /* exchanges carried, this one included */
    char key[UPSTREAM_KEY_MAX];  /* destination */
    char addr_text[64];          /* the address connected to */
    /* while owned */
    void *owner;
    void (*on_event)(void *owner, struct upconn *u, uint32_t events);
    /* while idle */
    struct upconn *next, *prev;
    struct timer idle;
};

struct upstream_pool *upstream_pool_new(struct worker *w);
/* Closes every idle connection and frees the pool. */
void upstream_pool_free(struct upstream_pool *p);

/* Takes an idle connection to `key` out of the pool, or NULL. */
struct upconn *upstream_take(struct upstream_pool *p, const char *key);

/* Starts a non-blocking connect to ss for `key`.  Returns the connection
 * (connected flag clear until the first writable event) or NULL with errno. */
struct upconn *upstream_connect(struct worker *w, const struct sockaddr_storage *ss,
                                const char *key);

/* Wraps a connected socket (one end of a local pair standing for a
 * stream: h2_link.h) as an upstream connection for `key`, shown as
 * addr_text.  NULL with errno. */
struct upconn *upstream_adopt(struct worker *w, int fd, const char *key, const char *addr_text);
/* Makes owner/on_event receive the connection's events. */
void upstream_own(struct upconn *u, void *owner,
                  void (*on_event)(void *owner, struct upconn *u, uint32_t events));

/* Ends an exchange's use of u: back to the pool when `reuse` is set and the
 * connection is clean (no unread bytes), otherwise closed. */
void upstream_release(struct upstream_pool *p, struct upconn *u, int reuse, uint32_t idle_ms);

/* The same, bound first to the address src (its port is ignored; NULL:
 * the kernel's choice). */
struct upconn *upstream_connect_from(struct worker *w, const struct sockaddr_storage *ss,
                                     const char *key, const struct sockaddr_storage *src);

/* Checks a finished non-blocking connect: 0 connected, or an errno value. */
int upstream_connect_result(struct upconn *u);

/* Formats an address as "1.2.3.4:80" or "[::1]:80". */
void upstream_addr_text(const struct sockaddr_storage *ss, char *dst, size_t cap);

#endif

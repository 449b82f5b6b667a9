/* session.h — a client connection and the exchange it is carrying: the
 * core's private view (front-ends see only exchange.h).
 *
 * A session lives on one worker.  It is driven by one function, session_drive(),
 * from the events of its client socket, of its upstream connection, of DNS
 * and of its timer; every state below says what it waits for. */
#ifndef GH_SESSION_H
#define GH_SESSION_H

#include "buf.h"
#include "config.h"
#include "exchange_int.h"
#include "loop.h"

#include <netinet/in.h>

enum session_state {
    S_ACCEPT,    /* reading a PROXY header, or the TLS handshake */
    S_READ_HEAD, /* idle between exchanges or reading a request head */
    S_RESOLVE,   /* transient: waiting for DNS to name the upstream */
    S_CONNECT,   /* transient: waiting for the upstream connect to finish */
    S_PROXY,     /* request and response bodies streaming both ways */
    S_LOCAL,     /* writing an answer of our own (error page, static file) */
    S_QUEUED,    /* decided to wait for a free server (exchange_queue) */
    S_TUNNEL,    /* CONNECT or 101: bytes both ways until both sides end */
    S_LINGER,    /* answered; ending: TLS close_notify, then (with unread
                    input) a half-close and input discarded before closing, so
                    no RST destroys the answer */
    S_CLOSED,    /* closed; freed after this loop iteration */
};

struct session {
    struct ioh io;
    struct worker *w;
    struct session *prev, *next;        /* worker's list */
    char lname[64];                     /* listener name, followed across reloads */
    struct sockaddr_storage peer;
    char peer_text[INET6_ADDRSTRLEN];
    struct buf *in;                     /* bytes from the client */
    struct buf *out;                    /* heads and local answers to the client */
    uint8_t readable, writable, peer_eof; /* edge-triggered readiness, remembered */
    enum session_state state;
    struct timer timer;
    uint64_t head_start;                /* first byte of the current head */
    uint64_t last_io;                   /* last byte moved, for idle timeouts */
    uint32_t nexchanges;
    uint8_t await_proxy;                /* a PROXY header must come first */
    uint8_t tls;                        /* the client speaks TLS (handshake done when S_READ_HEAD) */
    uint8_t notify;                     /* S_LINGER: close_notify still to send */
    uint8_t discard;                    /* S_LINGER: unread input; half-close and read it away */
    uint32_t accept_ms;                 /* S_ACCEPT may last this long */
    uint8_t has_local;                  /* `local` was announced by a PROXY header */
    struct sockaddr_storage local;      /* the address the client connected to */
    struct session *qprev, *qnext;      /* the worker's queue, while S_QUEUED */
    /* The exchange under way: NULL only while the session waits, idle, for
     * a next request with nothing buffered (S_READ_HEAD), so an idle
     * keep-alive connection costs this struct and not an exchange's 13 KB.
     * Use session_ex(), which takes one when there is none. */
    struct exchange *ex;
};

/* Takes an accepted, non-blocking client socket on worker w. */
void session_new(struct worker *w, int fd, const struct sockaddr_storage *peer, const char *lname);

/* Closes the session now (logging the exchange, releasing its upstream);
 * the memory goes after this loop iteration. `why` may be NULL. */
void session_close(struct session *s, const char *why);

/* Writes s->out to the client.  Returns 1 when it is empty, 0 to wait for
 * the socket, -1 when the session was closed. */
int session_flush(struct session *s);

/* ---- between session.c, proxy.c and tunnel.c ---- */

/* Re-arms the session's timer for its state's deadline. */
void session_arm(struct session *s);
/* Ends a session whose client may still be sending, without losing what
 * was written to it to a reset: the upstream is let go, our sending side
 * is shut, and what the client sends is read and dropped until it closes
 * or a short time passes.  The exchange is logged at the close. */
void session_linger(struct session *s);

/* Turns the exchange into a local error answer (the decision to forward is
 * void); `detail` (may be NULL) is shown on the page.  The caller drives on. */
void session_answer_error(struct session *s, int status, const char *why, const char *detail);
/* The upstream failed before answering: lets the front-end name another
 * (frontend.upstream_failed) and connects to it.  Returns 1 when retrying,
 * 0 when the caller must answer the failure. */
int session_try_other(struct session *s, int sent, const char *why);
/* Connects the exchange's upstream: a pooled connection, or DNS then connect. */
void session_connect(struct session *s);
/* Ends the exchange: logs it, releases or pools the upstream, and waits for
 * the next request or closes. */
void session_finish(struct session *s);
/* Moves body b from src_fd to dst_fd (relay_pump), noting activity. */
int session_pump(struct session *s, struct body *b, struct buf **src, int src_fd,
                 uint8_t *src_readable, int *src_eof, int dst_fd, uint8_t *dst_writable,
                 uint64_t *counted_in);
/* Advances a session in S_PROXY (proxy.c). */
void proxy_drive(struct session *s);

/* Advances the session as far as it can without blocking. */
void session_drive(struct session *s);

/* Closes idle sessions now and the others after their exchange (drain);
 * with `now`, closes everything. */
void session_drain_all(struct worker *w, int now);

/* The session's exchange, taken now if it had none. */
static inline struct exchange *session_ex(struct session *s)
{
    if (!s->ex)
        s->ex = exchange_get(s);
    return s->ex;
}

#endif
